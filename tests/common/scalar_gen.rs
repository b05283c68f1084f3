//! Random scalar expressions in `x` and `y`, in the shapes the parser produces, for the
//! engine's property tests. Include it with `#[path = "common/scalar_gen.rs"] mod scalar_gen;`.

use deriv::expr::{Expr, Func};
use deriv::terms::ExprExt;
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

/// Random scalar expressions in parser shape: sums, products, quotients, negations,
/// integer and general powers, and every elementary function.
pub fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|ts| Expr::Add(ts.into())),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|fs| Expr::Mul(fs.into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::div(a, b)),
            inner.clone().prop_map(Expr::neg),
            (inner.clone(), 1i64..4).prop_map(|(a, k)| Expr::pow(a, Expr::int(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::pow(a, b)),
            (inner, prop::sample::select(&Func::ALL[..])).prop_map(|(a, f)| Expr::call(f, a)),
        ]
    })
}
