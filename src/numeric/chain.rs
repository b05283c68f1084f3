//! Numeric checks of a chain of equal terms `e0 = e1 = … = en` (a derivation's steps) at
//! once. Each point is drawn once for the whole chain, each term is evaluated once per
//! point (step s's right side is step s + 1's left side) with the values of defined names
//! shared between terms, and every step still gets what a check of its own would give:
//! its own run of valid points per size n, in the same index patterns, exact where both of
//! its sides are rational, and its own attempt budget.

use super::check::{
    invalid_or_fail, judged_error, magnitude, rel_error, CheckError, CheckOptions, CheckSummary,
    Outcome, SizeWalk, ATTEMPTS_PER_POINT, REL_TOLERANCE,
};
use super::eval::{are_rational, AtPoint, EvalError, Evaluations};
use super::point::Point;
use super::sample::{Candidate, Sampler};
use super::stack::guarded;
use crate::expr::{Context, Expr, Rat};
use crate::numeric::eval_f64;
use crate::terms::RatExt;

/// A step of a chain that failed: `step` counts from zero (terms `step` and `step + 1`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("step {}: {error}", step + 1)]
pub struct ChainError {
    pub step: usize,
    pub error: CheckError,
}

/// Check every step `terms[s] = terms[s + 1]` under the context, as
/// [`check_equal`](super::check_equal) would check it alone; one summary per step.
pub fn check_chain(
    ctx: &Context,
    terms: &[&Expr],
    opts: &CheckOptions,
) -> Result<Vec<CheckSummary>, ChainError> {
    if terms.len() < 2 {
        return Ok(Vec::new());
    }
    let chain = || Ok::<_, EvalError>(chain_here(ctx, terms, opts));
    guarded(ctx, terms, chain).unwrap_or_else(|e| Err(ChainError { step: 0, error: e.into() }))
}

/// What one step has seen so far at the current size n and in all.
struct Tally {
    accepted: usize,
    attempts: usize,
    reason: String,
    points: usize,
    rejected: usize,
    max_rel: f64,
    exact: bool,
    /// The sizes at which the step was checked.
    n_values: Vec<i64>,
    /// Whether the current size had no valid point for the step (it gave way to another).
    passed_over: bool,
    /// The first size without a valid point, reported if no later size makes up for it.
    first_failure: Option<CheckError>,
}

/// One term's values at the current point, computed when a step first needs them.
#[derive(Default)]
struct Values {
    exact: Option<Result<Rat, EvalError>>,
    float: Option<Result<f64, EvalError>>,
}

/// Evaluations at one point, shared by the steps.
struct AtOnePoint<'w, 'a> {
    ctx: &'a Context,
    terms: &'a [&'a Expr],
    point: &'w Point,
    exact: AtPoint<'w, 'a, Rat>,
    float: AtPoint<'w, 'a, f64>,
    values: &'w mut [Values],
}

impl AtOnePoint<'_, '_> {
    fn exact(&mut self, t: usize) -> Result<Rat, EvalError> {
        let (Some(slot), Some(term)) = (self.values.get_mut(t), self.terms.get(t)) else {
            return Err(EvalError::Unsupported("no such term".into()));
        };
        slot.exact.get_or_insert_with(|| self.exact.eval(term)).clone()
    }

    fn float(&mut self, t: usize) -> Result<f64, EvalError> {
        let (Some(slot), Some(term)) = (self.values.get_mut(t), self.terms.get(t)) else {
            return Err(EvalError::Unsupported("no such term".into()));
        };
        slot.float.get_or_insert_with(|| self.float.eval(term)).clone()
    }

    /// The [`magnitude`] of term `t` here, or 0 where it has none.
    fn magnitude(&mut self, t: usize) -> Result<f64, CheckError> {
        let Some(term) = self.terms.get(t) else {
            return Ok(0.0);
        };
        // A fresh evaluation: the memoising evaluator keys terms by address.
        Ok(eval_f64(self.ctx, &magnitude(self.ctx, term), self.point).unwrap_or(0.0))
    }

    /// Compare terms `s` and `s + 1`: exactly when both are rational (and small enough),
    /// else in f64 with relative tolerance [`REL_TOLERANCE`].
    fn compare(
        &mut self,
        s: usize,
        rational: bool,
        tally: &mut Tally,
    ) -> Result<Outcome, CheckError> {
        if rational && self.point.is_inexact() {
            tally.exact = false;
        } else if rational {
            match (self.exact(s), self.exact(s + 1)) {
                (Ok(a), Ok(b)) if a == b => return Ok(Outcome::Counted),
                (Ok(a), Ok(b)) => {
                    let f = |q: &Rat| q.to_f64().unwrap_or(f64::NAN);
                    return Err(CheckError::Mismatch {
                        what: "the two sides differ exactly".into(),
                        lhs: a.to_string(),
                        rhs: b.to_string(),
                        rel_error: rel_error(f(&a), f(&b)),
                        point: self.point.describe(),
                    });
                }
                (Err(e), _) | (_, Err(e)) if e.is_invalid_point() => {
                    return Ok(Outcome::Invalid(e.to_string()))
                }
                // Too large (or not rational after all) for exact arithmetic: fall back to f64.
                _ => tally.exact = false,
            }
        }
        let a = match invalid_or_fail(self.float(s))? {
            Ok(v) => v,
            Err(o) => return Ok(o),
        };
        let b = match invalid_or_fail(self.float(s + 1))? {
            Ok(v) => v,
            Err(o) => return Ok(o),
        };
        let err = judged_error(a, b, || Ok(self.magnitude(s)?.max(self.magnitude(s + 1)?)))?;
        if err > REL_TOLERANCE {
            return Err(CheckError::Mismatch {
                what: "the two sides differ".into(),
                lhs: a.to_string(),
                rhs: b.to_string(),
                rel_error: err,
                point: self.point.describe(),
            });
        }
        tally.max_rel = tally.max_rel.max(err);
        Ok(Outcome::Counted)
    }
}

fn chain_here(
    ctx: &Context,
    terms: &[&Expr],
    opts: &CheckOptions,
) -> Result<Vec<CheckSummary>, ChainError> {
    let steps = terms.len() - 1;
    let sampler = match Sampler::new(ctx, terms, opts.seed) {
        Ok(s) => s,
        // The chain as a whole cannot be sampled: check step by step to name the culprit.
        Err(_) if steps > 1 => return step_by_step(ctx, terms, opts),
        Err(e) => return Err(ChainError { step: 0, error: e.into() }),
    };
    let rational = are_rational(ctx, terms);
    let both_rational = |s: usize| rational[s] && rational[s + 1];
    let mut tallies: Vec<Tally> = (0..steps)
        .map(|s| Tally {
            accepted: 0,
            attempts: 0,
            reason: String::new(),
            points: 0,
            rejected: 0,
            max_rel: 0.0,
            exact: both_rational(s),
            n_values: Vec::new(),
            passed_over: false,
            first_failure: None,
        })
        .collect();
    let mut walk = SizeWalk::new(&sampler, opts);
    let wanted = opts.points.max(1);
    let mut exact = Evaluations::sharing(ctx);
    let mut float = Evaluations::sharing(ctx);
    let mut values: Vec<Values> = (0..terms.len()).map(|_| Values::default()).collect();
    while let Some(n) = walk.next_size() {
        for t in tallies.iter_mut() {
            t.accepted = 0;
            t.attempts = 0;
            t.reason = "none tried".into();
            t.passed_over = false;
        }
        // Whether a size was added for a step without a valid point at this one.
        let mut gave_way = false;
        let mut attempt = 0;
        // The steps behind all want a point in the pattern of their next point number p.
        while let Some(p) = tallies.iter().map(|t| t.accepted).filter(|&a| a < wanted).min() {
            let mut offered: Vec<usize> =
                (0..steps).filter(|&s| tallies[s].accepted == p).collect();
            for &s in &offered {
                let t = &mut tallies[s];
                if t.attempts >= wanted * ATTEMPTS_PER_POINT {
                    let failure = CheckError::NoValidPoints {
                        n,
                        attempts: t.attempts,
                        reason: t.reason.clone(),
                    };
                    if t.accepted == 0 && (gave_way || walk.give_way()) {
                        gave_way = true;
                        t.first_failure.get_or_insert(failure);
                        t.passed_over = true;
                        t.accepted = wanted;
                        continue;
                    }
                    let error = match t.first_failure.take() {
                        Some(first) if t.accepted == 0 => first,
                        _ => failure,
                    };
                    return Err(ChainError { step: s, error });
                }
                t.attempts += 1;
            }
            offered.retain(|&s| !tallies[s].passed_over);
            if offered.is_empty() {
                continue;
            }
            let first = offered.first().copied().unwrap_or(0);
            let at_first = |e: EvalError| ChainError { step: first, error: e.into() };
            let drawn = sampler.candidate(n, p, attempt).map_err(at_first)?;
            attempt += 1;
            let point = match &*drawn {
                Candidate::Valid(point) => point,
                other => {
                    let why = match other {
                        Candidate::Violates(why) => why.clone(),
                        _ => "an index range is empty".into(),
                    };
                    for &s in &offered {
                        tallies[s].rejected += 1;
                        tallies[s].reason = why.clone();
                    }
                    continue;
                }
            };
            values.fill_with(Values::default);
            let mut at = AtOnePoint {
                ctx,
                terms,
                point,
                exact: exact.at(point),
                float: float.at(point),
                values: &mut values,
            };
            for &s in &offered {
                let tally = &mut tallies[s];
                match at.compare(s, both_rational(s), tally) {
                    Ok(Outcome::Counted) => {
                        tally.accepted += 1;
                        tally.points += 1;
                    }
                    Ok(Outcome::Invalid(why)) => {
                        tally.rejected += 1;
                        tally.reason = why;
                    }
                    Err(error) => return Err(ChainError { step: s, error }),
                }
            }
        }
        for t in tallies.iter_mut().filter(|t| !t.passed_over) {
            t.n_values.extend(n);
        }
    }
    Ok(tallies
        .into_iter()
        .map(|t| CheckSummary {
            against: "the other side of the step".into(),
            points: t.points,
            n_values: t.n_values,
            max_rel_error: t.max_rel,
            exact: t.exact,
            tolerance: if t.exact { "exact".into() } else { format!("rel {REL_TOLERANCE:e}") },
            rejected: t.rejected,
        })
        .collect())
}

/// Each step checked as a chain of its own.
fn step_by_step(
    ctx: &Context,
    terms: &[&Expr],
    opts: &CheckOptions,
) -> Result<Vec<CheckSummary>, ChainError> {
    let mut out = Vec::with_capacity(terms.len().saturating_sub(1));
    for (s, pair) in terms.windows(2).enumerate() {
        let summary =
            chain_here(ctx, pair, opts).map_err(|e| ChainError { step: s, error: e.error })?;
        out.extend(summary);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::fixtures::{softmax_ce, term};

    #[test]
    fn each_step_is_checked_as_on_its_own_and_the_wrong_one_is_named() {
        let ctx = Context::default();
        let opts = CheckOptions::default();
        let terms = [
            term("(x + 1)^2"),
            term("x^2 + 2*x + 1"),
            term("exp(log(x^2 + 1)) + 2*x"),
            term("x^2 + 2*x + 1"),
        ];
        let refs: Vec<&Expr> = terms.iter().collect();
        let steps = check_chain(&ctx, &refs, &opts).unwrap();
        let exact: Vec<bool> = steps.iter().map(|s| s.exact).collect();
        assert_eq!(exact, [true, false, false]);
        assert!(steps.iter().all(|s| s.points == 8));
        let mut wrong = terms.clone();
        wrong[3] = term("x^2 + 2*x + 2");
        let refs: Vec<&Expr> = wrong.iter().collect();
        let err = check_chain(&ctx, &refs, &opts).unwrap_err();
        assert_eq!(err.step, 2);
        assert!(matches!(err.error, CheckError::Mismatch { .. }));
        assert!(err.to_string().starts_with("step 3: "), "{err}");
        // The same step alone fails the same way.
        assert!(super::super::check_equal(&ctx, &wrong[2], &wrong[3], &opts).is_err());
    }

    /// Values kept by the addresses of a node's parts never stand for another node over
    /// the same parts: a step from `sin(u)` to `cos(u)`, `u^2` to `u^3` (the same `u`),
    /// `D(f, x)` to `f^x` (the same `f` and `x`), or a sum to the product of the same list
    /// of terms is still seen to be wrong.
    #[test]
    fn values_kept_by_address_are_not_mistaken_for_another_node() {
        use crate::expr::Func;
        use std::sync::Arc;
        let ctx = Context::default();
        let opts = CheckOptions { points: 2, ..CheckOptions::default() };
        let u = Arc::new(term("x^2 + 3*x + 1"));
        let (two, three) = (Arc::new(Expr::int(2)), Arc::new(Expr::int(3)));
        let (f, x) = (Arc::new(term("x^3 + x")), Arc::new(term("x")));
        let terms: Arc<[Expr]> = vec![term("x^2"), term("x + 1"), term("3")].into();
        let wrong_steps = [
            (Expr::Call(Func::Sin, u.clone()), Expr::Call(Func::Cos, u.clone())),
            (Expr::Pow(u.clone(), two.clone()), Expr::Pow(u.clone(), three.clone())),
            (Expr::D(f.clone(), x.clone()), Expr::Pow(f.clone(), x.clone())),
            (Expr::Add(terms.clone()), Expr::Mul(terms.clone())),
        ];
        for (before, after) in wrong_steps {
            let refs = [&before, &after];
            assert!(check_chain(&ctx, &refs, &opts).is_err(), "{before} = {after} passed");
        }
    }

    /// A long sum or product whose value is found from the last list of its length (only the
    /// terms that changed are evaluated) is still checked term by term: a step that
    /// rewrites one term rightly passes, and the next step, rewriting another term wrongly,
    /// is named; in exact arithmetic (polynomials) and in floating point (`sin`) alike.
    #[test]
    fn a_long_list_found_from_the_last_one_still_sees_a_wrong_term() {
        use std::sync::Arc;
        let ctx = Context::default();
        let opts = CheckOptions { points: 2, ..CheckOptions::default() };
        for shape in ["x^{k} + {k}", "sin({k}*x) + {k}"] {
            let first: Vec<Expr> =
                (1..=12).map(|k| term(&shape.replace("{k}", &k.to_string()))).collect();
            let mut right = first.clone();
            right[3] = term(&shape.replace("{k}", "4").replace("+ 4", "+ 2 + 2"));
            let mut wrong = right.clone();
            wrong[8] = term(&shape.replace("{k}", "9").replace("+ 9", "+ 10"));
            for product in [false, true] {
                let list = |l: &Vec<Expr>| {
                    let l: Arc<[Expr]> = l.clone().into();
                    if product {
                        Expr::Mul(l)
                    } else {
                        Expr::Add(l)
                    }
                };
                let terms = [list(&first), list(&right), list(&wrong)];
                let refs: Vec<&Expr> = terms.iter().collect();
                assert!(
                    check_chain(&ctx, &refs[..2], &opts).is_ok(),
                    "{shape}: a right step failed"
                );
                let err = check_chain(&ctx, &refs, &opts).expect_err("a wrong step passed");
                assert_eq!(err.step, 1, "{shape}: {err}");
            }
        }
    }

    #[test]
    fn a_step_without_valid_points_is_named() {
        let ctx = softmax_ce();
        let opts = CheckOptions { points: 2, ..CheckOptions::default() };
        let terms = [term("a_j"), term("a_j + 0*log(-1 - z_j^2)"), term("a_j")];
        let refs: Vec<&Expr> = terms.iter().collect();
        let err = check_chain(&ctx, &refs, &opts).unwrap_err();
        assert_eq!(err.step, 0);
        assert!(matches!(err.error, CheckError::NoValidPoints { n: Some(2), .. }), "{err}");
        assert_eq!(check_chain(&ctx, &refs[..1], &opts), Ok(Vec::new()));
    }

    #[test]
    fn a_size_without_valid_points_gives_way_to_the_next() {
        let ctx = softmax_ce();
        let opts = CheckOptions { points: 2, ..CheckOptions::default() };
        // `log(n - 2)` has no value at n = 2 only.
        let terms = [term("a_j"), term("a_j + 0*log(n - 2)"), term("a_j")];
        let refs: Vec<&Expr> = terms.iter().collect();
        let checks = check_chain(&ctx, &refs, &opts).unwrap_or_else(|e| panic!("{e}"));
        for check in &checks {
            assert_eq!(check.n_values, vec![3, 4, 5, 6, 7]);
            assert_eq!(check.points, 10);
        }
        // A wrong step is still caught at the sizes that have points.
        let terms = [term("a_j"), term("a_j + 0*log(n - 2)"), term("2*a_j")];
        let refs: Vec<&Expr> = terms.iter().collect();
        let err = check_chain(&ctx, &refs, &opts).unwrap_err();
        assert_eq!(err.step, 1);
        assert!(matches!(err.error, CheckError::Mismatch { .. }), "{err}");
    }
}
