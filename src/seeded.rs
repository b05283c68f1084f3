//! The proptest configuration of every property test: a fixed seed (`PROPTEST_RNG_SEED`
//! overrides it) and no regression files, so every run is the same run. Unit tests use it
//! as `crate::seeded`; integration tests include this file with
//! `#[path = "../src/seeded.rs"] mod seeded;`.

use proptest::test_runner::{Config, RngSeed};

/// The seed every property test starts from, unless `PROPTEST_RNG_SEED` says otherwise.
pub const SEED: u64 = 0xDE21_7A7E;

/// `cases` cases from the fixed seed; a failure's output names the seed in force.
pub fn config(cases: u32) -> Config {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    eprintln!("proptest seed {seed} (set PROPTEST_RNG_SEED to change it)");
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}
