//! Numeric checks of derivation steps and results: both sides of a step at random
//! valid points (exactly where both are rational), and a derivative against central
//! finite differences and dual numbers. Each check returns a serialisable summary of
//! what was compared, or an error that names the point where it failed.

use super::chain::check_chain;
use super::eval::{eval_dual, eval_f64, resolve_variable, EvalError};
use super::point::Point;
use super::recognise::references_at;
use super::sample::{Candidate, Sampler};
use super::stack::guarded;
use crate::expr::{Context, Expr};
use crate::terms::ExprExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Relative tolerance for f64 comparisons of two forms of the same value.
pub const REL_TOLERANCE: f64 = 1e-9;
/// Where two f64 forms cancel, the rounding allowed per unit of [`magnitude`]: 2^12 ulps,
/// room for thousands of operations each rounding at most the magnitude (first order),
/// yet far below a thousandth of any value that is more than rounding noise. (Allowing
/// `REL_TOLERANCE` per unit, 4e6 ulps, let `log(1 + 1e-8)` pass a wrong thousandth.)
pub const ROUNDING: f64 = 4096.0 * f64::EPSILON;
/// Central finite differences, as in PyTorch's gradcheck.
pub const FD_EPS: f64 = 1e-6;
pub const FD_ATOL: f64 = 1e-5;
pub const FD_RTOL: f64 = 1e-3;
/// How many candidate points may be drawn per point wanted before giving up.
pub(crate) const ATTEMPTS_PER_POINT: usize = 64;

/// How many points to check, and where to start the random stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOptions {
    pub seed: u64,
    /// Valid points per size n (or in all, for terms without sizes).
    pub points: usize,
    /// Sizes tried for range symbols such as `n`.
    pub n_min: i64,
    pub n_max: i64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { seed: 0x5EED_DE71_u64, points: 8, n_min: 2, n_max: 6 }
    }
}

/// What one check compared, for the JSON `checks` and the writeups' check lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    /// What the value was compared against: "the other side", "finite differences",
    /// "dual numbers", "reference kernel softmax-ce", …
    pub against: String,
    /// Valid points used.
    pub points: usize,
    /// Sizes n used (empty when the terms have none).
    pub n_values: Vec<i64>,
    /// Largest relative error seen: |a - b| / max(|a|, |b|), or over the [`magnitude`]
    /// of what they were computed from where they cancel; 0 for exact comparisons.
    pub max_rel_error: f64,
    /// Whether every point was compared exactly, in rationals.
    pub exact: bool,
    /// The acceptance rule: "exact", "rel 1e-9", "atol 1e-5 + rtol 1e-3".
    pub tolerance: String,
    /// Candidate points discarded (domain errors, hypotheses not holding).
    pub rejected: usize,
}

impl CheckSummary {
    /// One summary for several checks (e.g. every step of a derivation): points and
    /// rejections added, sizes merged, the largest error, exact only if all were.
    pub fn combine(against: &str, checks: &[CheckSummary]) -> CheckSummary {
        let mut n_values: Vec<i64> =
            checks.iter().flat_map(|c| c.n_values.iter().copied()).collect();
        n_values.sort_unstable();
        n_values.dedup();
        let mut tolerances: Vec<&str> = checks.iter().map(|c| c.tolerance.as_str()).collect();
        tolerances.sort_unstable();
        tolerances.dedup();
        CheckSummary {
            against: against.to_string(),
            points: checks.iter().map(|c| c.points).sum(),
            n_values,
            max_rel_error: checks.iter().map(|c| c.max_rel_error).fold(0.0, f64::max),
            exact: !checks.is_empty() && checks.iter().all(|c| c.exact),
            tolerance: tolerances.join("; "),
            rejected: checks.iter().map(|c| c.rejected).sum(),
        }
    }
}

/// Why a check failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CheckError {
    /// The compared values differ at a valid point.
    #[error("{what}: {lhs} ≠ {rhs} (relative error {rel_error:.3e}) at {point}")]
    Mismatch { what: String, lhs: String, rhs: String, rel_error: f64, point: String },
    /// No point could be found where everything is defined and the hypotheses hold.
    #[error("no valid sample point{} after {attempts} attempts; last reason: {reason}", n.map(|n| format!(" for n = {n}")).unwrap_or_default())]
    NoValidPoints { n: Option<i64>, attempts: usize, reason: String },
    /// The terms cannot be evaluated at all (an unbound name, an oversized computation…).
    #[error("cannot evaluate: {0}")]
    Eval(#[from] EvalError),
}

/// `|a - b| / max(1, |a|, |b|)`: relative for large values, absolute near zero.
pub fn rel_error(a: f64, b: f64) -> f64 {
    rel_error_at_scale(a, b, 1.0)
}

/// `|a - b| / max(scale, |a|, |b|)`, where `scale` is the size of what the values were
/// computed from ([`magnitude`]): the rounding of a cancellation is relative to that, not
/// to the (small) result.
pub fn rel_error_at_scale(a: f64, b: f64, scale: f64) -> f64 {
    let s = a.abs().max(b.abs()).max(scale);
    if s == 0.0 {
        return 0.0;
    }
    (a - b).abs() / s
}

/// The error of `a` against `b`, two f64 forms of the same value, to compare with
/// [`REL_TOLERANCE`]: relative to the values themselves, or, where that is too large
/// (cancellation), to the rounding their computation can carry, [`ROUNDING`] times the
/// larger [`magnitude`] (computed only then, as it costs an evaluation).
pub(crate) fn judged_error(
    a: f64,
    b: f64,
    magnitude: impl FnOnce() -> Result<f64, CheckError>,
) -> Result<f64, CheckError> {
    let err = rel_error_at_scale(a, b, 0.0);
    if err <= REL_TOLERANCE {
        return Ok(err);
    }
    Ok(rel_error_at_scale(a, b, magnitude()? * (ROUNDING / REL_TOLERANCE)))
}

/// A term whose value bounds the size of the intermediate values of `e`: `e` with every
/// sum and difference taken term by term in absolute value, and every other node as its
/// absolute value. Cancellation (`x - x`) leaves the value small but not the magnitude,
/// so rounding is judged against the magnitude; a small value computed without
/// cancellation (`x/exp(27)`, `sigmoid(-27)*x`) keeps a small magnitude and is held to
/// its own digits. There is no floor: a bound of 1 would let a wrong factor of a tiny
/// value pass.
pub fn magnitude(ctx: &Context, e: &Expr) -> Expr {
    Magnitudes { ctx, memo: HashMap::new(), kept: Vec::new(), opened: 0 }.of(e)
}

/// The builder of [`magnitude`] terms. A subterm met again (by address, as the terms
/// share them: the `cos(sin^k(x))` factors of a nested derivative) is given the very
/// term made for it the first time, so the magnitude stays as small as the term's DAG,
/// and evaluates as fast, rather than growing as its tree.
struct Magnitudes<'c> {
    ctx: &'c Context,
    memo: HashMap<*const Expr, Expr>,
    /// Definitions written out along the way, kept until the end: their nodes' addresses
    /// are keys in `memo`, and must not be reused by other terms meanwhile.
    kept: Vec<Arc<Expr>>,
    /// How many definitions are open around the term being built.
    opened: usize,
}

impl Magnitudes<'_> {
    fn of(&mut self, e: &Expr) -> Expr {
        if let Some(m) = self.memo.get(&(e as *const Expr)) {
            return m.clone();
        }
        let m = self.build(e);
        self.memo.insert(e, m.clone());
        m
    }

    fn build(&mut self, e: &Expr) -> Expr {
        match e {
            Expr::Num(r) => Expr::Num(if r.is_negative() { -r.clone() } else { r.clone() }),
            Expr::Add(ts) => Expr::Add(ts.iter().map(|t| self.of(t)).collect()),
            Expr::Mul(fs) => Expr::Mul(fs.iter().map(|f| self.of(f)).collect()),
            Expr::Neg(x) => self.of(x),
            // a/b carries a's rounding over |b| and b's relative rounding times |a/b|.
            Expr::Div(a, b) => {
                let over = Expr::Mul(vec![abs(e), self.of(b)].into());
                Expr::div(Expr::Add(vec![self.of(a), over].into()), abs(b))
            }
            Expr::Sum(s) => s.with_body(self.of(&s.body)),
            // Dual numbers round against the size of the derivative's own intermediate values.
            Expr::D(f, x) => Expr::Add(vec![abs(e), self.derivative(f, x, 0)].into()),
            // π is a constant, rounded once (acos is steep at -1, but -1 is exact).
            _ if crate::functions::is_pi(e) => abs(e),
            // A function of plain numbers (`acos(-1 + 0)`) rounds once too: its argument is
            // exact or off by one rounding, which no slope short of acos's at ±1 magnifies.
            Expr::Call(_, u) if is_plain_number(u) => abs(e),
            // f(u) carries u's rounding scaled by |f'(u)|: log(1 + δ) is about δ.
            Expr::Call(f, u) => {
                let carried = Expr::Mul(vec![abs(&slope(*f, u, e)), self.of(u)].into());
                Expr::Add(vec![abs(e), carried].into())
            }
            Expr::Pow(b, k) if k.as_num().is_some() => {
                let carried = Expr::Mul(vec![abs(&power_slope(b, k)), self.of(b)].into());
                Expr::Add(vec![abs(e), carried].into())
            }
            // A defined name rounds as its definition does (`log(1 - sigmoid(h))` loses
            // digits where σ(h) is near 1), so its definition is written out.
            Expr::Sym(_) | Expr::Idx(..) if self.opened < DEFINITION_DEPTH => {
                self.opened += 1;
                let m = self.through_definition(e, |m, body| m.of(body));
                self.opened -= 1;
                m.unwrap_or_else(|| abs(e))
            }
            _ => abs(e),
        }
    }
}

/// Whether `e` is arithmetic on numbers alone.
fn is_plain_number(e: &Expr) -> bool {
    !e.any(&mut |t| !matches!(t, Expr::Num(_) | Expr::Add(_) | Expr::Mul(_) | Expr::Neg(_)))
}

/// `|t|`, written in the language (it has no absolute value).
fn abs(t: &Expr) -> Expr {
    Expr::call(crate::expr::Func::Sqrt, Expr::pow(t.clone(), Expr::int(2)))
}

/// `f'(u)`, given `e = f(u)`, as the function table bounds it: the exact slope where a
/// function is flat where it is small (`sigmoid(-27)` is 2e-12, and so is its slope), so
/// that it does not lend its argument's size to it.
fn slope(f: crate::expr::Func, u: &Expr, e: &Expr) -> Expr {
    (crate::functions::spec(f).scale)(u, e)
}

/// The size of `f'(u)` as dual numbers compute it: `1 - tanh(u)^2` and `σ(1 - σ)` cancel
/// where the function is flat near 1 (the slope of `sigmoid(27)` is 2e-12 but carries
/// σ's rounding, 1e-16), so their terms count in absolute value; elsewhere the slope.
fn dual_slope(f: crate::expr::Func, u: &Expr, e: &Expr) -> Expr {
    use crate::expr::Func;
    let one_plus = |t: Expr| Expr::Add(vec![Expr::int(1), t].into());
    match f {
        Func::Tanh => one_plus(Expr::pow(e.clone(), Expr::int(2))),
        // σ > 0.
        Func::Sigmoid => Expr::Mul(vec![e.clone(), one_plus(e.clone())].into()),
        _ => abs(&slope(f, u, e)),
    }
}

/// `k*b^(k - 1)`, the slope of `b^k` for a number `k`.
fn power_slope(b: &Expr, k: &Expr) -> Expr {
    Expr::Mul(vec![k.clone(), Expr::pow(b.clone(), Expr::sub(k.clone(), Expr::int(1)))].into())
}

/// How deeply definitions are written out inside a derivative's magnitude.
const DEFINITION_DEPTH: usize = 16;

/// A term bounding the intermediate values of the dual-number derivative of `e` with
/// respect to `x` (first order: each rule of differentiation with its terms in absolute
/// value), so that `D(f, x)` is held to the digits its own computation can give. Defined
/// names are written out, since their derivatives cancel inside them (`sum_i(a_i)` of a
/// softmax is 1, its derivative 0 up to rounding); `depth` counts definitions opened.
impl Magnitudes<'_> {
    fn derivative(&mut self, e: &Expr, x: &Expr, depth: usize) -> Expr {
        match e {
            Expr::Num(_) | Expr::Delta(..) => Expr::int(0),
            _ if crate::functions::is_pi(e) => Expr::int(0),
            Expr::Add(ts) => Expr::Add(ts.iter().map(|t| self.derivative(t, x, depth)).collect()),
            Expr::Neg(t) => self.derivative(t, x, depth),
            // (fg)' = f'g + fg': each factor's derivative times the others' magnitudes.
            Expr::Mul(fs) => {
                let sizes: Vec<Expr> = fs.iter().map(|f| self.of(f)).collect();
                let terms = (0..fs.len()).map(|i| {
                    let mut term = vec![self.derivative(&fs[i], x, depth)];
                    term.extend(
                        sizes.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, m)| m.clone()),
                    );
                    Expr::Mul(term.into())
                });
                Expr::Add(terms.collect())
            }
            // (a/b)' = (a' - (a/b) b')/b.
            Expr::Div(a, b) => {
                let over = Expr::Mul(vec![abs(e), self.derivative(b, x, depth)].into());
                Expr::div(Expr::Add(vec![self.derivative(a, x, depth), over].into()), abs(b))
            }
            Expr::Sum(s) => s.with_body(self.derivative(&s.body, x, depth)),
            Expr::Call(f, u) => {
                Expr::Mul(vec![dual_slope(*f, u, e), self.derivative(u, x, depth)].into())
            }
            Expr::Pow(b, k) if k.as_num().is_some() => {
                Expr::Mul(vec![abs(&power_slope(b, k)), self.derivative(b, x, depth)].into())
            }
            // (b^k)' = b^k*(k'*log(b) + k*b'/b), as dual numbers compute it (b > 0): the
            // two terms cancel where b^k is constant (`x^(1/log(x))` is e).
            Expr::Pow(b, k) => {
                let log_b = abs(&Expr::call(crate::expr::Func::Log, abs(b)));
                let of_exponent = Expr::Mul(vec![self.derivative(k, x, depth), log_b].into());
                let of_base = Expr::div(
                    Expr::Mul(vec![self.of(k), self.derivative(b, x, depth)].into()),
                    abs(b),
                );
                Expr::Mul(vec![abs(e), Expr::Add(vec![of_exponent, of_base].into())].into())
            }
            // A defined name held as the variable (`D(f, a_i)`) is not written out.
            Expr::Sym(n) | Expr::Idx(n, _)
                if depth < DEFINITION_DEPTH
                    && !matches!(x, Expr::Sym(m) | Expr::Idx(m, _) if m == n) =>
            {
                self.through_definition(e, |m, body| m.derivative(body, x, depth + 1))
                    .unwrap_or_else(|| abs(&Expr::d(e.clone(), x.clone())))
            }
            // A derivative inside a second derivative (a third derivative) is differenced
            // along `x` with a step of about NESTED_STEP*|x| (`eval.rs`): its own rounding,
            // over the step. (Second derivatives, by hyper-dual numbers, need less.)
            Expr::D(..) => {
                let step = Expr::call(
                    crate::expr::Func::Sqrt,
                    Expr::add(vec![Expr::pow(x.clone(), Expr::int(2)), Expr::rat(1, 10_000)]),
                );
                let over_step = (1.0 / super::eval::NESTED_STEP).round() as i64;
                let over =
                    Expr::div(Expr::Mul(vec![Expr::int(over_step), self.of(e)].into()), step);
                Expr::Add(vec![abs(&Expr::d(e.clone(), x.clone())), over].into())
            }
            // Variables, general powers (and definitions nested too deeply): the derivative.
            _ => abs(&Expr::d(e.clone(), x.clone())),
        }
    }
}

impl Magnitudes<'_> {
    /// `build` of the definition of the name `e` written out, kept until the end (its nodes'
    /// addresses become keys of `memo`); `None` for an undefined name.
    fn through_definition(
        &mut self,
        e: &Expr,
        build: impl FnOnce(&mut Self, &Expr) -> Expr,
    ) -> Option<Expr> {
        let body = Arc::new(written_out(self.ctx, e)?);
        let m = build(self, &body);
        self.kept.push(body);
        Some(m)
    }
}

/// The body of the definition of the name `e`, with its indices put for the definition's
/// own (all at once: `a_{j,i}` of `a_{i,j}` swaps them), or `None` for an undefined name.
fn written_out(ctx: &Context, e: &Expr) -> Option<Expr> {
    use crate::expr::Index;
    let (name, used): (&str, &[Index]) = match e {
        Expr::Sym(s) => (s, &[]),
        Expr::Idx(s, ix) => (s, ix),
        _ => return None,
    };
    let (_, def) = super::eval::find_definition(ctx, name)?;
    let params: &[Index] = match &def.name {
        Expr::Idx(_, ps) => ps,
        _ => &[],
    };
    if params.len() != used.len() {
        return None;
    }
    // First to names no term uses, then to the indices used.
    let placeholder = |k: usize| format!("#{k}");
    let mut body = def.body.clone();
    for (k, p) in params.iter().enumerate() {
        let Index::Name(p) = p else { return None };
        body = body.subst_index(p, &Index::Name(placeholder(k)));
    }
    for (k, u) in used.iter().enumerate() {
        body = body.subst_index(&placeholder(k), u);
    }
    Some(body)
}

/// Whether a point counted or was discarded (and why).
pub(crate) enum Outcome {
    Counted,
    Invalid(String),
}

/// The points visited by [`for_each_point`].
pub(crate) struct Coverage {
    pub points: usize,
    pub rejected: usize,
    pub n_values: Vec<i64>,
}

/// Turn an evaluation error into "discard this point" or a hard failure.
pub(crate) fn invalid_or_fail<T>(
    r: Result<T, EvalError>,
) -> Result<Result<T, Outcome>, CheckError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.is_invalid_point() => Ok(Err(Outcome::Invalid(e.to_string()))),
        Err(e) => Err(CheckError::Eval(e)),
    }
}

/// The sizes n to check at: `opts.n_min..=opts.n_max` when the terms have sizes, else none;
/// moved up, as many sizes, when a concrete index needs a larger n (`a_9` needs `n >= 9`).
pub(crate) fn sizes(sampler: &Sampler, opts: &CheckOptions) -> Vec<Option<i64>> {
    if sampler.is_indexed() {
        let lo = opts.n_min.clamp(1, MAX_CHECKED_SIZE);
        let hi = opts.n_max.clamp(lo, MAX_CHECKED_SIZE);
        let shift = (sampler.least_first_size() - lo).max(0);
        (lo + shift..=hi + shift).map(Some).collect()
    } else {
        vec![None]
    }
}

/// The largest size n planned, or added by [`SizeWalk::give_way`].
const MAX_CHECKED_SIZE: i64 = 64;

/// The sizes a check visits, in order: the planned [`sizes`], then one more past the last
/// for each size at which a check found no valid point at all, at most as many more as
/// were planned. A size may have none: under the condition `q in 1..n-1`, `q` declared over
/// `2..n` has no value at n = 2, and the check moves on to n = 7.
pub(crate) struct SizeWalk {
    sizes: Vec<Option<i64>>,
    visited: usize,
    extra_left: usize,
}

impl SizeWalk {
    pub(crate) fn new(sampler: &Sampler, opts: &CheckOptions) -> SizeWalk {
        let sizes = sizes(sampler, opts);
        let extra_left = sizes.len();
        SizeWalk { sizes, visited: 0, extra_left }
    }

    /// The next size to visit.
    pub(crate) fn next_size(&mut self) -> Option<Option<i64>> {
        let n = self.sizes.get(self.visited).copied()?;
        self.visited += 1;
        Some(n)
    }

    /// Add one more size for a size that had no valid point; `false` when there is no room
    /// (terms without sizes, the largest size, or as many added as planned).
    pub(crate) fn give_way(&mut self) -> bool {
        match self.sizes.last().copied().flatten() {
            Some(last) if self.extra_left > 0 && last < MAX_CHECKED_SIZE => {
                self.extra_left -= 1;
                self.sizes.push(Some(last + 1));
                true
            }
            _ => false,
        }
    }
}

/// Visit `opts.points` valid points for each size n (when the terms have sizes),
/// discarding points that break a hypothesis or that `visit` finds invalid. A size without
/// any valid point gives way to the next (see [`SizeWalk`]).
pub(crate) fn for_each_point(
    sampler: &Sampler,
    opts: &CheckOptions,
    mut visit: impl FnMut(&mut Point) -> Result<Outcome, CheckError>,
) -> Result<Coverage, CheckError> {
    let mut walk = SizeWalk::new(sampler, opts);
    let wanted = opts.points.max(1);
    let mut coverage = Coverage { points: 0, rejected: 0, n_values: Vec::new() };
    // The first size without a valid point, reported if no later size makes up for it.
    let mut first_failure = None;
    while let Some(n) = walk.next_size() {
        let mut accepted = 0;
        let mut attempt = 0;
        let mut reason = String::from("none tried");
        while accepted < wanted {
            if attempt >= wanted * ATTEMPTS_PER_POINT {
                let failure = CheckError::NoValidPoints { n, attempts: attempt, reason };
                if accepted == 0 && walk.give_way() {
                    first_failure.get_or_insert(failure);
                    break;
                }
                return Err(match first_failure {
                    Some(first) if accepted == 0 => first,
                    _ => failure,
                });
            }
            let drawn = sampler.candidate(n, accepted, attempt)?;
            attempt += 1;
            // A copy: `visit` may shift a variable (finite differences).
            let mut point = match &*drawn {
                Candidate::Valid(point) => point.clone(),
                Candidate::Empty => {
                    reason = "an index range is empty".into();
                    coverage.rejected += 1;
                    continue;
                }
                Candidate::Violates(why) => {
                    reason = why.clone();
                    coverage.rejected += 1;
                    continue;
                }
            };
            match visit(&mut point)? {
                Outcome::Counted => accepted += 1,
                Outcome::Invalid(why) => {
                    reason = why;
                    coverage.rejected += 1;
                }
            }
        }
        if accepted > 0 {
            coverage.points += accepted;
            coverage.n_values.extend(n);
        }
    }
    Ok(coverage)
}

/// Check that `lhs = rhs` under the context: exactly at rational points when both sides
/// are rational, else in f64 with relative tolerance [`REL_TOLERANCE`].
pub fn check_equal(
    ctx: &Context,
    lhs: &Expr,
    rhs: &Expr,
    opts: &CheckOptions,
) -> Result<CheckSummary, CheckError> {
    let mut summaries = check_chain(ctx, &[lhs, rhs], opts).map_err(|e| e.error)?;
    summaries.pop().ok_or_else(|| EvalError::Unsupported("nothing was compared".into()).into())
}

/// Check that `result` is the derivative of `of` with respect to `wrt` (a symbol, or an
/// indexed symbol such as `z_j` whose indices are instantiated at each point): against
/// dual numbers (tolerance [`REL_TOLERANCE`]) and against central finite differences
/// (gradcheck tolerances). Returns one summary for each.
pub fn check_derivative(
    ctx: &Context,
    of: &Expr,
    wrt: &Expr,
    result: &Expr,
    opts: &CheckOptions,
) -> Result<Vec<CheckSummary>, CheckError> {
    guarded(ctx, &[of, wrt, result], || {
        let sampler = Sampler::new(ctx, &[of, wrt, result], opts.seed)?;
        derivative_at(ctx, of, wrt, result, opts, &sampler)
    })
}

/// What [`check_result`] found: the result against dual numbers and finite differences
/// ([`check_derivative`]), and against every matching reference kernel
/// ([`cross_check_with_references`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ResultChecks {
    pub derivative: Vec<CheckSummary>,
    pub references: Vec<CheckSummary>,
}

/// [`check_derivative`] and [`cross_check_with_references`] together, at the same points
/// as each would use alone, each point drawn once for both.
pub fn check_result(
    ctx: &Context,
    of: &Expr,
    wrt: &Expr,
    result: &Expr,
    opts: &CheckOptions,
) -> Result<ResultChecks, CheckError> {
    guarded(ctx, &[of, wrt, result], || {
        let sampler = Sampler::new(ctx, &[of, wrt, result], opts.seed)?;
        Ok(ResultChecks {
            derivative: derivative_at(ctx, of, wrt, result, opts, &sampler)?,
            references: references_at(ctx, of, wrt, result, opts, &sampler)?,
        })
    })
}

/// [`check_derivative`] at the points of `sampler` (made for `[of, wrt, result]`).
fn derivative_at(
    ctx: &Context,
    of: &Expr,
    wrt: &Expr,
    result: &Expr,
    opts: &CheckOptions,
    sampler: &Sampler,
) -> Result<Vec<CheckSummary>, CheckError> {
    if !wrt.is_variable() {
        return Err(EvalError::Unsupported(format!(
            "cannot differentiate with respect to `{wrt}`"
        ))
        .into());
    }
    let (mut max_dual, mut max_fd) = (0.0f64, 0.0f64);
    let magnitudes = (magnitude(ctx, result), magnitude(ctx, &Expr::d(of.clone(), wrt.clone())));
    // f's values carry the rounding of what cancelled in them (`cosh(20*x)^2 - sinh(20*x)^2`
    // is 1, computed from values near 1e12), which differencing divides by the step.
    let value_magnitude = magnitude(ctx, of);
    let coverage = for_each_point(sampler, opts, |point| {
        let var = resolve_variable(ctx, wrt, point)?;
        // A defined name held as the variable: the point sets its value, so that finite
        // differences can shift it alone.
        if ctx.is_defined(wrt) {
            match invalid_or_fail(eval_f64(ctx, wrt, point))? {
                Ok(v) => point.set(&var, v),
                Err(o) => return Ok(o),
            }
        }
        let claimed = match invalid_or_fail(eval_f64(ctx, result, point))? {
            Ok(v) => v,
            Err(o) => return Ok(o),
        };
        let dual = match invalid_or_fail(eval_dual(ctx, of, point, &var))? {
            Ok(d) => d.derivative,
            Err(o) => return Ok(o),
        };
        let x = point.get(&var).unwrap_or(0.0);
        let original = point.value(&var.name, &var.indices).cloned();
        let value_scale = eval_f64(ctx, &value_magnitude, point).unwrap_or(0.0);
        let mut at = |h: f64| {
            point.set(&var, x + h);
            eval_f64(ctx, of, point)
        };
        let differences = central_differences(&mut at, claimed, value_scale)?;
        if let Some(v) = original {
            point.set_value(&var, v);
        }
        let (fd, fd_agrees) = match differences {
            Ok(d) => d,
            Err(o) => return Ok(o),
        };
        // As in `check_equal`: no floor that would hide a small derivative.
        let scale = |m: &Expr| eval_f64(ctx, m, point).unwrap_or(0.0);
        let err =
            judged_error(claimed, dual, || Ok(scale(&magnitudes.0).max(scale(&magnitudes.1))))?;
        if err > REL_TOLERANCE {
            return Err(mismatch(
                "the result differs from the dual-number derivative",
                claimed,
                dual,
                err,
                point,
            ));
        }
        if !fd_agrees {
            let e = rel_error(claimed, fd);
            return Err(mismatch(
                "the result differs from central finite differences",
                claimed,
                fd,
                e,
                point,
            ));
        }
        max_dual = max_dual.max(err);
        max_fd = max_fd.max(rel_error(claimed, fd));
        Ok(Outcome::Counted)
    })?;
    let summary = |against: &str, max_rel_error: f64, tolerance: String| CheckSummary {
        against: against.into(),
        points: coverage.points,
        n_values: coverage.n_values.clone(),
        max_rel_error,
        exact: false,
        tolerance,
        rejected: coverage.rejected,
    };
    Ok(vec![
        summary("dual numbers", max_dual, format!("rel {REL_TOLERANCE:e}")),
        summary(
            "finite differences",
            max_fd,
            format!("eps {FD_EPS:e}, atol {FD_ATOL:e} + rtol {FD_RTOL:e}"),
        ),
    ])
}

/// The central difference of `f` at step [`FD_EPS`] and whether `claimed` agrees with it,
/// or, failing that, the first finer estimate it agrees with: where `f` turns fast
/// (`sin(100000*x)`), the step's truncation error, about (ωh)²/6, is past the tolerance,
/// so the steps h/2, h/16, h/32, h/256, h/512 and the Richardson extrapolation of each
/// pair (`(4*D(h/2) - D(h))/3`, error O(h⁴)) are tried before the check fails. Finer steps
/// carry more rounding, which the tolerance allows for. An invalid shifted point at the
/// first step discards the point; at a finer step, it ends the refinement.
fn central_differences(
    f: &mut impl FnMut(f64) -> Result<f64, EvalError>,
    claimed: f64,
    value_scale: f64,
) -> Result<Result<(f64, bool), Outcome>, CheckError> {
    // Rounding in f(x ± h) is amplified by 1/h: with |f| (or the `value_scale` of what
    // cancelled in it) near 1e22 the difference quotient carries an absolute error near
    // 1e22 * 1e-16 / 1e-6, which no derivative error could explain, so it is added to the
    // tolerance.
    let mut difference = |h: f64| -> Result<Result<(f64, f64), Outcome>, CheckError> {
        let (plus, minus) = match (invalid_or_fail(f(h))?, invalid_or_fail(f(-h))?) {
            (Ok(p), Ok(m)) => (p, m),
            (Err(o), _) | (_, Err(o)) => return Ok(Err(o)),
        };
        let size = plus.abs().max(minus.abs()).max(value_scale);
        Ok(Ok(((plus - minus) / (2.0 * h), 8.0 * f64::EPSILON * size / h)))
    };
    let agrees = |estimate: f64, roundoff: f64| {
        (claimed - estimate).abs() <= FD_ATOL + FD_RTOL * estimate.abs() + roundoff
    };
    let (fd, roundoff) = match difference(FD_EPS)? {
        Ok(d) => d,
        Err(o) => return Ok(Err(o)),
    };
    if agrees(fd, roundoff) {
        return Ok(Ok((fd, true)));
    }
    for h in [FD_EPS, FD_EPS / 16.0, FD_EPS / 256.0] {
        let (coarse, coarse_roundoff) = if h == FD_EPS {
            (fd, roundoff)
        } else {
            let Ok(d) = difference(h)? else { break };
            d
        };
        let Ok((fine, fine_roundoff)) = difference(h / 2.0)? else { break };
        let extrapolated = (4.0 * fine - coarse) / 3.0;
        if agrees(extrapolated, (4.0 * fine_roundoff + coarse_roundoff) / 3.0) {
            return Ok(Ok((extrapolated, true)));
        }
        if agrees(fine, fine_roundoff) {
            return Ok(Ok((fine, true)));
        }
    }
    Ok(Ok((fd, false)))
}

pub(crate) fn mismatch(what: &str, a: f64, b: f64, rel_error: f64, point: &Point) -> CheckError {
    CheckError::Mismatch {
        what: what.into(),
        lhs: a.to_string(),
        rhs: b.to_string(),
        rel_error,
        point: point.describe(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_expr, parse_file, parse_variable, IndexScope};

    /// Small values keep their digits; rounding in a cancellation is judged against the
    /// size of what cancelled. Each pair: lhs, rhs, whether they must agree.
    #[test]
    fn tolerance_is_relative_at_every_scale_and_forgives_cancellation() {
        let cases = [
            ("x/exp(27)", "1001/1000*x/exp(27)", false),
            ("x/exp(60)", "(1 + 1/10^6)*x/exp(60)", false),
            ("exp(-40)*sin(x)", "exp(-40)*sin(x)*(1 + 1/10^5)", false),
            // Small because a function is flat there, not because of a small factor.
            ("sigmoid((-3)^3)*x", "sigmoid((-3)^3)*x*1001/1000", false),
            ("softplus(-30)*x", "softplus(-30)*x*(1 + 1/10^6)", false),
            // Rounding in 1 + t is 1e-16, not 1e-9: a wrong thousandth of log(1 + t) shows.
            ("log(1 + (x/10^4)^2)", "1001/1000*log(1 + (x/10^4)^2)", false),
            // Derivatives by dual numbers: held to their own digits too.
            ("D(x/exp(27), x)", "1001/1000*D(x/exp(27), x)", false),
            ("D(sigmoid(x - 30), x)", "(1 + 1/10^6)*D(sigmoid(x - 30), x)", false),
            // Flat near 1: the dual slope 1 - σ (or 1 - tanh²) carries σ's rounding.
            ("D(sigmoid(x + 30), x)", "D(1/(1 + exp(-x - 30)), x)", true),
            ("D(tanh(x + 15), x)", "D(2*sigmoid(2*x + 30) - 1, x)", true),
            ("D(sin(x)^2 + cos(x)^2, x)", "0", true),
            ("D(cos(x)^2 + sin(x)^2, x)*D(x^3, x)", "D(sin(x)^2 + cos(x)^2, x)*3*x^2", true),
            ("D(exp(x)*exp(-x), x)", "0", true),
            ("sin(x)^2 + cos(x)^2 - 1", "0", true),
            ("exp(x)*exp(-x) - 1", "0", true),
            // A general power whose two terms cancel: x^(1/log(x)) is e.
            ("D(x^(1/log(x)), x)", "0", true),
            ("D(x^(1/log(x)), x)", "1/10^6", false),
            ("D(x^x, x)", "(1 + 1/10^6)*D(x^x, x)", false),
            ("tanh(x) - (exp(x) - exp(-x))/(exp(x) + exp(-x))", "0", true),
        ];
        let opts = CheckOptions::default();
        for (lhs, rhs, agree) in cases {
            let (l, r) = (parse_expr(lhs).unwrap(), parse_expr(rhs).unwrap());
            let got = check_equal(&Context::default(), &l, &r, &opts);
            match (agree, &got) {
                (true, Ok(_)) | (false, Err(CheckError::Mismatch { .. })) => {}
                _ => panic!("{lhs} = {rhs}: {got:?}"),
            }
        }
    }

    /// A fast-turning function passes with its true slope by a finer step, and a slope off
    /// by a hundredth fails at every step. Each: frequency, factor on the true slope.
    #[test]
    fn finite_differences_refine_their_step_only_to_agree_with_the_truth() {
        let x = 0.40625;
        for (w, factor, agree) in [
            (1.0, 1.0, true),
            (1.0, 1.01, false),
            (1e5, 1.0, true),
            (1e6, 1.0, true),
            (1e5, 1.01, false),
            (1e6, 0.99, false),
            (1e5, 1.002, false),
        ] {
            let mut f = |h: f64| Ok(f64::sin(w * (x + h)));
            let claimed = factor * w * f64::cos(w * x);
            let Ok(Ok((_, agrees))) = central_differences(&mut f, claimed, 1.0) else {
                panic!("sin({w}*x) could not be differenced")
            };
            assert_eq!(agrees, agree, "sin({w}*x), slope times {factor}");
        }
    }

    fn e(s: &str) -> Expr {
        parse_expr(s).unwrap_or_else(|d| panic!("{d}"))
    }

    /// Defined names are written out in a derivative's magnitude: the derivative of a
    /// softmax's sum cancels to 0 and is accepted, a small defined value keeps its digits.
    #[test]
    fn derivatives_of_defined_names_are_judged_by_their_definitions() {
        let src = "index i, j, k in 1..n\nlet a_i = exp(z_i) / sum_k(exp(z_k))\nlet s = sum_i(a_i)\nlet t = x/exp(27)\n";
        let ctx = &parse_file(src).unwrap().context;
        let zj = parse_variable("z_j", IndexScope::Declared(&ctx.indices)).unwrap();
        let opts = CheckOptions::default();
        let zero = check_derivative(ctx, &e("s"), &zj, &e("0"), &opts);
        assert!(zero.is_ok(), "{zero:?}");
        let zero = check_equal(ctx, &e("D(s, z_j)"), &e("0"), &opts);
        assert!(zero.is_ok(), "{zero:?}");
        let swapped = check_equal(ctx, &e("D(a_j, z_i)"), &e("a_j*(delta(i,j) - a_i)"), &opts);
        assert!(swapped.is_ok(), "{swapped:?}");
        let tiny = check_equal(ctx, &e("D(t, x)"), &e("1001/1000*D(t, x)"), &opts);
        assert!(matches!(tiny, Err(CheckError::Mismatch { .. })), "{tiny:?}");
    }

    #[test]
    fn catches_a_wrong_softmax_step_and_accepts_the_right_one() {
        let doc = parse_file(crate::numeric::fixtures::SOFTMAX_CE).unwrap();
        let ctx = &doc.context;
        let opts = CheckOptions::default();
        let right =
            check_equal(ctx, &e("D(a_i, z_j)"), &e("a_i*(delta(i,j) - a_j)"), &opts).unwrap();
        assert_eq!(right.n_values, vec![2, 3, 4, 5, 6]);
        assert_eq!(right.points, 40);
        assert!(!right.exact);
        assert!(right.max_rel_error <= REL_TOLERANCE);
        let wrong =
            check_equal(ctx, &e("a_i*(delta(i,j) - a_j)"), &e("a_i*(delta(i,j) + a_j)"), &opts);
        match wrong {
            Err(CheckError::Mismatch { point, .. }) => assert!(point.contains("z_1 = "), "{point}"),
            other => panic!("expected a mismatch, got {other:?}"),
        }
        // Using the hypothesis is fine because y is sampled on the simplex.
        let hyp = check_equal(ctx, &e("sum_i(y_i)*a_j - y_j"), &e("a_j - y_j"), &opts).unwrap();
        assert_eq!(hyp.points, 40);
        // Without the hypothesis the same step is caught.
        let mut bare = ctx.clone();
        bare.assumptions.clear();
        assert!(matches!(
            check_equal(&bare, &e("sum_i(y_i)*a_j - y_j"), &e("a_j - y_j"), &opts),
            Err(CheckError::Mismatch { .. })
        ));
    }

    #[test]
    fn summaries_combine() {
        let ctx = parse_file(crate::numeric::fixtures::SOFTMAX_CE).unwrap().context;
        let opts = CheckOptions::default();
        let float =
            check_equal(&ctx, &e("D(a_i, z_j)"), &e("a_i*(delta(i,j) - a_j)"), &opts).unwrap();
        let exact = check_equal(&ctx, &e("(x + 1)^2"), &e("x^2 + 2*x + 1"), &opts).unwrap();
        let all = CheckSummary::combine("the steps", &[float.clone(), exact.clone()]);
        assert_eq!(all.points, 48);
        assert_eq!(all.n_values, vec![2, 3, 4, 5, 6]);
        assert!(!all.exact);
        assert_eq!(all.max_rel_error, float.max_rel_error);
        assert_eq!(all.tolerance, "exact; rel 1e-9");
        assert!(CheckSummary::combine("the steps", &[exact.clone(), exact]).exact);
        assert!(!CheckSummary::combine("nothing", &[]).exact);
    }

    #[test]
    fn an_equal_index_bug_is_caught() {
        // Right whenever i ≠ j, wrong when i = j: only points with equal indices expose it.
        let ctx = parse_file("index i, j in 1..n\n").unwrap().context;
        let r = check_equal(&ctx, &e("D(z_i^2, z_j)"), &e("0*z_i"), &CheckOptions::default());
        assert!(matches!(r, Err(CheckError::Mismatch { .. })), "{r:?}");
        let ok = check_equal(
            &ctx,
            &e("D(z_i^2, z_j)"),
            &e("2*z_i*delta(i,j)"),
            &CheckOptions::default(),
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn rational_steps_are_checked_exactly() {
        let ctx = Context::default();
        let opts = CheckOptions::default();
        let ok = check_equal(&ctx, &e("(x + 1)^2"), &e("x^2 + 2*x + 1"), &opts).unwrap();
        assert!(ok.exact);
        assert_eq!(ok.tolerance, "exact");
        assert_eq!(ok.points, 8);
        assert!(ok.n_values.is_empty());
        // Off by 2^-60: invisible in f64 relative terms, caught exactly.
        let tiny = check_equal(&ctx, &e("x + 1/1152921504606846976"), &e("x"), &opts);
        assert!(matches!(tiny, Err(CheckError::Mismatch { .. })), "{tiny:?}");
        // A removable singularity: x = 0 is discarded, never counted as a pass.
        let r = check_equal(&ctx, &e("x^2/x"), &e("x"), &opts).unwrap();
        assert_eq!(r.points, 8);
    }

    #[test]
    fn impossible_domains_give_a_clear_error() {
        let ctx = Context::default();
        let r = check_equal(&ctx, &e("log(-1 - x^2)"), &e("x"), &CheckOptions::default());
        match r {
            Err(CheckError::NoValidPoints { attempts, reason, .. }) => {
                assert_eq!(attempts, 8 * ATTEMPTS_PER_POINT);
                assert!(reason.contains("log"), "{reason}");
            }
            other => panic!("expected no valid points, got {other:?}"),
        }
        let unbound = check_equal(&ctx, &e("D(x, z_q)"), &e("0"), &CheckOptions::default());
        assert!(unbound.is_ok(), "{unbound:?}");
    }

    #[test]
    fn softmax_ce_gradient_against_dual_numbers_and_finite_differences() {
        let doc = parse_file(crate::numeric::fixtures::SOFTMAX_CE).unwrap();
        let ctx = &doc.context;
        let scope = IndexScope::Declared(&ctx.indices);
        let zj = parse_variable("z_j", scope).unwrap();
        let opts = CheckOptions::default();
        let checks = check_derivative(ctx, &e("l"), &zj, &e("a_j - y_j"), &opts).unwrap();
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].against, "dual numbers");
        assert_eq!(checks[1].against, "finite differences");
        assert!(checks.iter().all(|c| c.points == 40 && c.n_values == vec![2, 3, 4, 5, 6]));
        let jac = check_derivative(ctx, &e("a_i"), &zj, &e("a_i*(delta(i,j) - a_j)"), &opts);
        assert!(jac.is_ok(), "{jac:?}");
        let wrong = check_derivative(ctx, &e("a_i"), &zj, &e("a_i*(1 - a_j)"), &opts);
        assert!(matches!(wrong, Err(CheckError::Mismatch { .. })), "{wrong:?}");
        let json = serde_json::to_string(&checks[1]).unwrap();
        assert!(json.contains("\"against\":\"finite differences\""), "{json}");
        let back: CheckSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (back.points, &back.n_values, &back.tolerance),
            (40, &checks[1].n_values, &checks[1].tolerance)
        );
        assert!(
            (back.max_rel_error - checks[1].max_rel_error).abs() <= 1e-12 * checks[1].max_rel_error
        );
    }

    #[test]
    fn scalar_derivatives_from_the_public_cases() {
        let ctx = Context::default();
        let opts = CheckOptions::default();
        let cases = [
            ("sigmoid(x)", "sigmoid(x)*(1 - sigmoid(x))"),
            ("tanh(x)", "1 - tanh(x)^2"),
            ("softplus(x)", "sigmoid(x)"),
            ("log(1 + x^4)", "4*x^3/(1 + x^4)"),
            ("sqrt(1 - x^2)", "-x/sqrt(1 - x^2)"),
            ("x^2*sin(x)", "x*(2*sin(x) + x*cos(x))"),
        ];
        for (f, d) in cases {
            let r = check_derivative(&ctx, &e(f), &e("x"), &e(d), &opts);
            assert!(r.is_ok(), "{f}: {r:?}");
        }
        let wrong = check_derivative(&ctx, &e("tanh(x)"), &e("x"), &e("1 + tanh(x)^2"), &opts);
        assert!(wrong.is_err());
        // A derivative off by a thousandth is wrong however small it is (finite
        // differences, with their absolute tolerance, cannot see it; dual numbers can).
        let tiny = check_derivative(&ctx, &e("x/exp(27)"), &e("x"), &e("1001/1000/exp(27)"), &opts);
        assert!(matches!(tiny, Err(CheckError::Mismatch { .. })), "{tiny:?}");
        let right = check_derivative(&ctx, &e("x/exp(27)"), &e("x"), &e("1/exp(27)"), &opts);
        assert!(right.is_ok(), "{right:?}");
    }
}
