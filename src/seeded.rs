//! The proptest configuration of every property test: a fixed seed (`PROPTEST_RNG_SEED`
//! overrides it) and no regression files, so every run is the same run. Unit tests use it
//! as `crate::seeded`; integration tests include this file with
//! `#[path = "../src/seeded.rs"] mod seeded;`.

use proptest::test_runner::{Config, RngSeed};

/// The seed every property test starts from, unless `PROPTEST_RNG_SEED` says otherwise.
#[allow(dead_code)]
pub const SEED: u64 = 0xDE21_7A7E;

/// `cases` cases from the fixed seed; a failure's output names the seed in force.
#[allow(dead_code)]
pub fn config(cases: u32) -> Config {
    config_from(cases, SEED)
}

/// `cases` cases from a test's own fixed seed (`PROPTEST_RNG_SEED` still overrides it),
/// for a test whose cases were chosen from that seed.
#[allow(dead_code)]
pub fn config_from(cases: u32, default_seed: u64) -> Config {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_seed);
    eprintln!("proptest seed {seed} (set PROPTEST_RNG_SEED to change it)");
    Config { cases, rng_seed: RngSeed::Fixed(seed), failure_persistence: None, ..Config::default() }
}
