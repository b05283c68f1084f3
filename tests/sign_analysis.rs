//! The kernel's sign analysis against numbers: wherever it proves `positive(e)` or
//! `nonzero(e)` (or refutes them), the value of `e` at random points agrees. Terms are
//! scalar, with sums over small fixed ranges (some empty) and Kronecker deltas.

#[path = "../src/seeded.rs"]
mod seeded;

use deriv::expr::{Bound, Context, Expr, Func, Index, Sum};
use deriv::kernel::rules::Condition;
use deriv::kernel::{decide, Verdict};
use deriv::numeric::{eval_f64, Point};
use deriv::terms::ExprExt;
use proptest::prelude::*;
use std::sync::Arc;

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (-3i64..=3).prop_map(Expr::int),
        Just(Expr::rat(1, 2)),
        prop::sample::select(vec!["x", "y"]).prop_map(|s| Expr::Sym(s.into())),
        Just(Expr::idx("w", &["k"])),
        (1i64..=2, 1i64..=2).prop_map(|(a, b)| Expr::Delta(Index::Int(a), Index::Int(b))),
    ]
}

fn term() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|ts| Expr::Add(ts.into())),
            prop::collection::vec(inner.clone(), 2..3).prop_map(|fs| Expr::Mul(fs.into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::div(a, b)),
            inner.clone().prop_map(Expr::neg),
            (inner.clone(), -3i64..=3).prop_map(|(a, k)| Expr::pow(a, Expr::int(k))),
            (inner.clone(), Just(Expr::rat(1, 2))).prop_map(|(a, k)| Expr::pow(a, k)),
            (prop::sample::select(&Func::ALL[..]), inner.clone())
                .prop_map(|(f, a)| Expr::call(f, a)),
            // Sums over k in lo..hi, hi = lo - 1 (empty) up to lo + 1.
            (inner, 1i64..=2, -1i64..=1).prop_map(|(body, lo, len)| Expr::Sum(
                std::sync::Arc::new(Sum {
                    index: "k".into(),
                    lo: Bound::Int(lo),
                    hi: Bound::Int(lo + len),
                    explicit_bounds: true,
                    body: Arc::new(body),
                })
            )),
        ]
    })
}

/// Where the kernel decides a condition, the value agrees at every point it is defined.
fn agrees(ctx: &Context, e: &Expr, points: &[Point]) -> Result<(), TestCaseError> {
    for (cond, holds) in [
        (Condition::Positive(e.clone()), (|v: f64| v > 0.0) as fn(f64) -> bool),
        (Condition::NonZero(e.clone()), |v: f64| v != 0.0),
        (Condition::NonNegative(e.clone()), |v: f64| v >= 0.0),
    ] {
        let verdict = decide(ctx, &cond, &[]);
        // `u >= 0` is refused where it is not shown, so only its `Holds` is a claim.
        let shown_only = matches!(cond, Condition::NonNegative(_));
        if verdict == Verdict::Unknown || shown_only && verdict == Verdict::Fails {
            continue;
        }
        for p in points {
            let Ok(v) = eval_f64(ctx, e, p) else { continue };
            // Rounding may put a tiny positive value at 0 (exp(-800)); those say nothing.
            if !v.is_finite() || v.abs() < 1e-200 {
                continue;
            }
            prop_assert_eq!(verdict == Verdict::Holds, holds(v), "{} at {:?}: {}", cond, p, v);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(seeded::config(3000))]
    #[test]
    fn sign_verdicts_agree_with_values(
        e in term(),
        xs in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0, -2.0f64..2.0, -2.0f64..2.0), 4),
    ) {
        let ctx = Context::default();
        let points: Vec<Point> = xs
            .iter()
            .map(|(x, y, w1, w2)| {
                let mut p = Point::new();
                p.set_scalar("x", *x);
                p.set_scalar("y", *y);
                p.set_component("w", &[1], *w1);
                p.set_component("w", &[2], *w2);
                p.set_component("w", &[3], -*w1);
                p
            })
            .collect();
        agrees(&ctx, &e, &points)?;
    }
}
