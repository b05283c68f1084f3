//! Properties of the engine over random expressions: it never panics, and the kernel
//! never refuses a step it proposes (a refusal is an engine bug, not a user error).

use deriv::engine::{derive, EngineError};
use deriv::expr::{Expr, Func};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(Expr::sym("x")),
        Just(Expr::sym("x")),
        Just(Expr::sym("y")),
        (-3i64..5).prop_map(Expr::int),
        (1i64..4, 2i64..5).prop_map(|(n, d)| Expr::rat(n, d)),
    ]
}

/// Random scalar expressions in parser shape.
pub fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Add),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Mul),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::div(a, b)),
            inner.clone().prop_map(Expr::neg),
            (inner.clone(), 1i64..4).prop_map(|(a, k)| Expr::pow(a, Expr::int(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::pow(a, b)),
            (inner, 0usize..9).prop_map(|(a, f)| Expr::call(Func::ALL[f], a)),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

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
