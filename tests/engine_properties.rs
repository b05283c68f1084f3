//! Properties of the engine over random expressions: it never panics, and the kernel
//! never refuses a step it proposes (a refusal is an engine bug, not a user error).

#[path = "../src/seeded.rs"]
mod seeded;

use deriv::engine::{derive, EngineError};
use deriv::expr::Expr;
use deriv::terms::ExprExt;
use proptest::prelude::*;

#[path = "common/scalar_gen.rs"]
mod scalar_gen;

use scalar_gen::expr;

/// Inputs that once failed (from the regression file of an earlier, unseeded run).
#[test]
fn past_failures_stay_fixed() {
    for src in ["x/0^x", "(x^2)^(4^3)"] {
        let e = deriv::syntax::parse_expr(src).expect("parses");
        if let Err(EngineError::Refused { step, at, reason }) =
            derive(Default::default(), &e, &Expr::sym("x"))
        {
            panic!("kernel refused {step} at {at}: {reason} (input {src})");
        }
    }
}

proptest! {
    #![proptest_config(seeded::config(1000))]

    #[test]
    fn the_kernel_accepts_every_proposed_step(e in expr()) {
        match derive(Default::default(), &e, &Expr::sym("x")) {
            Ok(proof) => {
                // The result has no derivative left and reparses to itself.
                prop_assert!(!proof.current().any(&mut |t| matches!(t, Expr::D(_, _))));
                let text = proof.current().to_string();
                prop_assert_eq!(&deriv::syntax::parse_expr(&text).expect("reparses"), proof.current());
            }
            Err(EngineError::Refused { step, at, reason }) => {
                prop_assert!(false, "kernel refused {} at {}: {} (input {})", step, at, reason, e);
            }
            Err(_) => {}
        }
    }
}
