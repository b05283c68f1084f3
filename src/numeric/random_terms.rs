//! Property tests over randomly generated terms: exact and f64 evaluation agree, dual
//! numbers agree with central finite differences, and `check_equal` accepts a term against
//! a rearranged copy of itself but rejects it against a slightly perturbed copy.

use super::check::{check_equal, CheckError, CheckOptions};
use super::eval::{eval_dual, eval_exact, eval_f64, EvalError};
use super::point::{Point, Variable};
use crate::expr::{Context, Expr, Func, Rat};
use crate::functions::{on, Domain};
use crate::terms::ExprExt;
use crate::terms::RatExt;
use num_bigint::BigInt;
use proptest::prelude::*;
use std::sync::Arc;

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(Expr::sym("x")),
        Just(Expr::sym("y")),
        (-3i64..=3).prop_map(Expr::int),
        Just(Expr::rat(1, 2)),
    ]
}

/// Terms built from + - * / and integer powers only.
fn rational_term() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Add(vec![a, b].into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Mul(vec![a, b].into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Div(Arc::new(a), Arc::new(b))),
            inner.clone().prop_map(|a| Expr::Neg(Arc::new(a))),
            (inner, -2i64..=3).prop_map(|(a, n)| Expr::pow(a, Expr::int(n))),
        ]
    })
}

/// Terms with smooth functions as well (log and sqrt only of `1 + t^2`, no tan).
fn smooth_term() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        let one_plus_square =
            |a: Expr| Expr::Add(vec![Expr::int(1), Expr::pow(a, Expr::int(2))].into());
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Add(vec![a, b].into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Mul(vec![a, b].into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Div(Arc::new(a), Arc::new(b))),
            (inner.clone(), -2i64..=3).prop_map(|(a, n)| Expr::pow(a, Expr::int(n))),
            // Every function of the table on its domain: on all reals directly, on positive
            // numbers of `1 + t^2`; those with poles are left out.
            (inner.clone(), prop::sample::select(on(Domain::Reals)))
                .prop_map(|(a, f)| Expr::call(f, a)),
            (inner, prop::sample::select([on(Domain::Positive), on(Domain::NonNegative)].concat()))
                .prop_map(move |(a, f)| Expr::call(f, one_plus_square(a))),
        ]
    })
}

fn point(x: i64, y: i64) -> Point {
    let mut p = Point::new();
    p.set_exact(&Variable::scalar("x"), Rat::new(BigInt::from(x), BigInt::from(32)));
    p.set_exact(&Variable::scalar("y"), Rat::new(BigInt::from(y), BigInt::from(32)));
    p
}

/// The smallest |denominator| or |base of a negative power| in the term, in f64:
/// near-singular points make f64 and finite differences inaccurate, so they are skipped.
fn nearest_singularity(e: &Expr, p: &Point) -> f64 {
    let own = match e {
        Expr::Div(_, b) => eval_f64(&Context::default(), b, p).map_or(0.0, f64::abs),
        Expr::Pow(b, n) if n.as_num().is_some_and(|r| r.to_f64().unwrap_or(0.0) < 0.0) => {
            eval_f64(&Context::default(), b, p).map_or(0.0, f64::abs)
        }
        _ => f64::INFINITY,
    };
    e.children().map(|c| nearest_singularity(c, p)).fold(own, f64::min)
}

/// The same term with the operands of every sum and product in reverse order.
fn reversed(e: &Expr) -> Expr {
    match e {
        Expr::Add(xs) => Expr::Add(xs.iter().rev().map(reversed).collect()),
        Expr::Mul(xs) => Expr::Mul(xs.iter().rev().map(reversed).collect()),
        other => other.map_children(reversed),
    }
}

proptest! {
    #![proptest_config(crate::seeded::config(256))]

    #[test]
    fn exact_and_f64_evaluation_agree(e in rational_term(), x in -64i64..=64, y in -64i64..=64) {
        let ctx = Context::default();
        let p = point(x, y);
        prop_assume!(nearest_singularity(&e, &p) >= 1.0 / 16.0);
        match (eval_exact(&ctx, &e, &p), eval_f64(&ctx, &e, &p)) {
            (Ok(q), Ok(v)) => {
                let q = q.to_f64().unwrap_or(f64::NAN);
                prop_assert!((q - v).abs() <= 1e-6 * q.abs().max(v.abs()).max(1.0), "{e}: exact {q}, f64 {v}");
            }
            (Err(EvalError::TooLarge(_)), _) | (_, Err(EvalError::Overflow(_))) => {}
            (a, b) => prop_assert!(false, "{e}: exact {a:?}, f64 {b:?}"),
        }
    }

    #[test]
    fn dual_numbers_agree_with_finite_differences(e in smooth_term(), x in -48i64..=48, y in -48i64..=48) {
        let ctx = Context::default();
        let p = point(x, y);
        prop_assume!(nearest_singularity(&e, &p) >= 0.25);
        let var = Variable::scalar("x");
        let Ok(d) = eval_dual(&ctx, &e, &p, &var) else { return Ok(()) };
        prop_assume!(d.value.abs() < 1e6 && d.derivative.abs() < 1e6);
        let h = 1e-6;
        let at = |dx: f64| {
            let mut q = p.clone();
            q.set(&var, x as f64 / 32.0 + dx);
            eval_f64(&ctx, &e, &q)
        };
        let (Ok(plus), Ok(minus)) = (at(h), at(-h)) else { return Ok(()) };
        let fd = (plus - minus) / (2.0 * h);
        prop_assert!((d.derivative - fd).abs() <= 1e-5 + 1e-3 * fd.abs(), "{e}: dual {}, fd {fd}", d.derivative);
        prop_assert!((d.value - eval_f64(&ctx, &e, &p).unwrap_or(f64::NAN)).abs() <= 1e-12 * d.value.abs().max(1.0));
    }

    #[test]
    fn check_equal_accepts_rearrangements_and_rejects_perturbations(e in smooth_term()) {
        let ctx = Context::default();
        let opts = CheckOptions { points: 4, ..CheckOptions::default() };
        match check_equal(&ctx, &e, &reversed(&e), &opts) {
            Ok(_) | Err(CheckError::NoValidPoints { .. }) => {}
            Err(other) => prop_assert!(false, "{e}: {other}"),
        }
        // A thousandth is far above the tolerance at every scale: errors are measured
        // against the values themselves (or, where they cancel, the size of what they
        // were computed from), never against a floor that would dwarf a tiny value, so
        // the same holds of `e` shrunk by exp(27) (5e11).
        let tiny = Expr::div(e.clone(), Expr::call(Func::Exp, Expr::int(27)));
        for e in [e, tiny] {
            let perturbed = Expr::Mul(vec![e.clone(), Expr::rat(1001, 1000)].into());
            match check_equal(&ctx, &e, &perturbed, &opts) {
                Err(CheckError::Mismatch { .. }) | Err(CheckError::NoValidPoints { .. }) => {}
                Ok(s) if s.max_rel_error == 0.0 => {} // e is 0 wherever it was evaluated
                other => prop_assert!(false, "{e} * 1001/1000 accepted: {other:?}"),
            }
        }
    }
}
