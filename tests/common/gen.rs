//! Random terms in exactly the shapes the parser produces, for property tests.
//!
//! Every compound is built through the smart constructors (`Expr::neg`, `Expr::div`, …) or
//! in a shape the parser makes itself (`Add`/`Mul` of two or more, a parenthesised operand
//! kept nested), so `parse_expr(&print(&e)) == e` is a fair property. Include it with
//! `#[path = "common/gen.rs"] mod gen;`.

use deriv::expr::{Bound, Expr, Func, Index, Rat, Sum};
use deriv::terms::{ExprExt, RatExt};
use num_bigint::BigInt;
use proptest::prelude::*;

const SYMBOLS: &[&str] =
    &["x", "y", "t", "alpha", "sigma", "sigma2", "x1", "rate", "Delta", "expx"];
const ARRAYS: &[&str] = &["z", "a", "W", "y", "theta", "h1"];
const INDICES: &[&str] = &["i", "j", "k", "m1"];

fn index() -> impl Strategy<Value = Index> {
    prop_oneof![
        3 => prop::sample::select(INDICES).prop_map(|n| Index::Name(n.to_string())),
        1 => (0i64..20).prop_map(Index::Int),
    ]
}

fn number() -> impl Strategy<Value = Expr> {
    prop_oneof![
        4 => (0i64..20).prop_map(Expr::int),
        2 => (-30i64..30, 1i64..7).prop_map(|(n, d)| Expr::rat(n, d)),
        1 => "[1-9][0-9]{20,40}".prop_map(|s| Expr::Num(Rat::from_integer(s.parse::<BigInt>().unwrap_or_default()))),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        3 => number(),
        4 => prop::sample::select(SYMBOLS).prop_map(Expr::sym),
        3 => (prop::sample::select(ARRAYS), prop::collection::vec(index(), 1..3))
            .prop_map(|(n, ix)| Expr::Idx(n.to_string(), ix)),
        1 => (index(), index()).prop_map(|(a, b)| Expr::Delta(a, b)),
    ]
}

fn variable() -> impl Strategy<Value = Expr> {
    prop_oneof![
        prop::sample::select(SYMBOLS).prop_map(Expr::sym),
        (prop::sample::select(ARRAYS), prop::collection::vec(index(), 1..3))
            .prop_map(|(n, ix)| Expr::Idx(n.to_string(), ix)),
    ]
}

fn bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        (0i64..3).prop_map(Bound::Int),
        // A size, sometimes shifted (`n-1`, `m+2`).
        (prop::sample::select(&["n", "m", "N"][..]), -2i64..=2)
            .prop_map(|(s, k)| Bound::Sym(s.to_string(), k)),
    ]
}

/// A sum: written bounds, or a bare `sum_k`, which `parse_expr` reads as running over `1..n`.
fn sum(body: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
    (prop::sample::select(INDICES), any::<bool>(), bound(), bound(), body).prop_map(
        |(k, explicit, lo, hi, body)| {
            let (lo, hi) =
                if explicit { (lo, hi) } else { (Bound::Int(1), Bound::Sym("n".into(), 0)) };
            Sum::written(k.to_string(), lo, hi, explicit, body)
        },
    )
}

/// Parser-shaped terms of modest size.
pub fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(6, 64, 4, |inner| {
        let boxed = inner.clone().boxed();
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 2..4).prop_map(|ts| Expr::Add(ts.into())),
            3 => prop::collection::vec(inner.clone(), 2..4).prop_map(|fs| Expr::Mul(fs.into())),
            2 => (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::div(a, b)),
            3 => inner.clone().prop_map(Expr::neg),
            // Minus signs stack differently at the start of an expression and elsewhere.
            1 => inner.clone().prop_map(|x| Expr::neg(Expr::neg(x))),
            2 => (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::pow(a, b)),
            2 => (prop::sample::select(&Func::ALL[..]), inner.clone()).prop_map(|(f, a)| Expr::call(f, a)),
            1 => sum(boxed),
            1 => (inner, variable()).prop_map(|(f, x)| Expr::d(f, x)),
        ]
    })
}
