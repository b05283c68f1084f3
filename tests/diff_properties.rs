//! Scalar derivatives against numbers: for random expressions the derived result matches a
//! central finite difference of the input (and every step's move is named), and deep compositions differentiate with a
//! result of quadratic size on an ordinary test thread.

#[path = "common/scalar_gen.rs"]
mod scalar_gen;
#[path = "../src/seeded.rs"]
mod seeded;

use deriv::engine::{derive, EngineError};
use deriv::expr::{Context, Expr, Func};
use deriv::kernel::Proof;
use deriv::numeric::{check_derivative, eval_f64, CheckOptions, Point};
use deriv::render::moves::name_move;
use deriv::rules::Condition;
use deriv::terms::ExprExt;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use std::cell::Cell;

/// Random expressions tried, and the fewest finite-difference comparisons that must count.
const CASES: u32 = 300;
const MIN_COUNTED: usize = 600;

/// Points where a function has a value near `at` and its central difference can be trusted.
enum Sample {
    Counted,
    Skipped,
}

fn eval(e: &Expr, x: f64, y: f64) -> Option<f64> {
    let mut p = Point::new();
    p.set_scalar("x", x);
    p.set_scalar("y", y);
    eval_f64(&Context::default(), e, &p).ok().filter(|v| v.is_finite())
}

/// Whether the side conditions the proof carries hold at the point (else the point is
/// outside the domain the result claims).
fn conditions_hold(proof: &Proof, x: f64, y: f64) -> bool {
    proof.hypotheses().iter().all(|c| match c {
        Condition::NonZero(e) => eval(e, x, y).is_some_and(|v| v != 0.0),
        Condition::Positive(e) => eval(e, x, y).is_some_and(|v| v > 0.0),
        Condition::NonNegative(e) => eval(e, x, y).is_some_and(|v| v >= 0.0),
        _ => true,
    })
}

/// Compare the result with a central difference of `f` in `x` at `(x, y)`. A point counts
/// only where `f` and the result have values and the difference is reliable: two step
/// sizes agree and rounding is small, so a singularity nearby cannot pass or fail it.
fn compare(f: &Expr, proof: &Proof, x: f64, y: f64) -> Result<Sample, TestCaseError> {
    let Some(claimed) = eval(proof.current(), x, y) else {
        return Ok(Sample::Skipped);
    };
    if !conditions_hold(proof, x, y) {
        return Ok(Sample::Skipped);
    }
    let h = 1e-5 * x.abs().max(1.0);
    let diff = |h: f64| -> Option<(f64, f64)> {
        let (p, m) = (eval(f, x + h, y)?, eval(f, x - h, y)?);
        Some(((p - m) / (2.0 * h), p.abs().max(m.abs())))
    };
    let (Some((fd, big1)), Some((fd2, big2))) = (diff(h), diff(2.0 * h)) else {
        return Ok(Sample::Skipped);
    };
    let rounding = 1e-15 * big1.max(big2) / h;
    let truncation = (fd - fd2).abs();
    if rounding + truncation > 1e-4 * fd.abs().max(1.0) {
        return Ok(Sample::Skipped);
    }
    // gradcheck's tolerances, as numeric::check_derivative uses.
    prop_assert!(
        (claimed - fd).abs() <= 1e-5 + 1e-3 * fd.abs(),
        "d/dx {} = {} is {} at x = {}, y = {}; finite differences give {}",
        f,
        proof.current(),
        claimed,
        x,
        y,
        fd
    );
    Ok(Sample::Counted)
}

#[test]
fn derivatives_match_central_differences() {
    let mut runner = TestRunner::new(seeded::config_from(CASES, 0xD1FF));
    let points = prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 4);
    let (derived, counted, skipped) = (Cell::new(0), Cell::new(0), Cell::new(0));
    let bump = |c: &Cell<usize>| c.set(c.get() + 1);
    runner
        .run(&(scalar_gen::expr(), points), |(f, points)| {
            let proof = match derive(Default::default(), &f, &Expr::sym("x")) {
                Ok(p) => p,
                Err(EngineError::Refused { step, at, reason }) => {
                    return Err(TestCaseError::fail(format!(
                        "the kernel refused {step} at {at}: {reason} (input {f})"
                    )))
                }
                // Undefined derivatives (`0^x`) and oversized ones have nothing to compare.
                Err(_) => return Ok(()),
            };
            bump(&derived);
            // Every step gets its caption's move name (a renderer's walk, bounded too).
            for s in proof.steps() {
                name_move(&s.before, &s.after);
            }
            for (x, y) in points {
                match compare(&f, &proof, x, y)? {
                    Sample::Counted => bump(&counted),
                    Sample::Skipped => bump(&skipped),
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        counted.get() >= MIN_COUNTED,
        "only {} points counted ({} skipped) over {} derived expressions",
        counted.get(),
        skipped.get(),
        derived.get()
    );
}

/// `f1(f2(…(x)))` with `depth` calls, cycling through `funcs` from the outside in.
fn nest(funcs: &[Func], depth: usize) -> Expr {
    (0..depth).rev().fold(Expr::sym("x"), |inner, d| Expr::call(funcs[d % funcs.len()], inner))
}

/// The derivative's size at depths 10, 20, 40 and 50 grows at most quadratically, and the
/// result at depth 50 is numerically right.
fn nested_grows_gently(funcs: &[Func]) {
    let x = Expr::sym("x");
    let size = |depth: usize| {
        let f = nest(funcs, depth);
        let proof =
            derive(Default::default(), &f, &x).unwrap_or_else(|e| panic!("depth {depth}: {e}"));
        (f, proof.current().clone())
    };
    let (_, base) = size(10);
    for depth in [20, 40, 50] {
        let (f, result) = size(depth);
        let ratio = (depth * depth / 100) as f64;
        assert!(
            result.size() as f64 <= base.size() as f64 * ratio,
            "depth {depth}: size {} against {} at depth 10",
            result.size(),
            base.size()
        );
        if depth == 50 {
            check_derivative(&Context::default(), &f, &x, &result, &CheckOptions::default())
                .unwrap_or_else(|e| panic!("depth 50: {e}"));
        }
    }
}

#[test]
fn nested_sines_differentiate_without_blowing_up() {
    nested_grows_gently(&[Func::Sin]);
}

#[test]
fn nested_exp_sin_log_differentiate_without_blowing_up() {
    nested_grows_gently(&[Func::Exp, Func::Sin, Func::Log]);
}
