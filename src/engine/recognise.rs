//! Named functions recognised from their definitions in a result: `exp(x)/(1 + exp(x))`
//! is σ(x), `(exp(x) - exp(-x))/(exp(x) + exp(-x))` and `sinh(x)/cosh(x)` are tanh(x).
//! This is how the derivative of `log(1 + exp(x))` comes out as the textbook σ(x).
//!
//! A subterm is compared with a definition's right side (as the kernel's rule gives it)
//! after both write every `exp(-w)` as `1/exp(w)`, so ring arithmetic decides whether the
//! subterm is a constant times the function; the kernel then replays the way there:
//! `exp-of-negation`, one ring step, `exp-of-negation` backwards, and the definition
//! backwards.

use super::differentiate::step_with;
use super::simplify::{constant_ratio, find_path};
use super::{Driver, EngineError};
use crate::expr::{Context, Expr, Func, Rat};
use crate::kernel::rewrite;
use crate::kernel::ring::normalize;
use crate::rules::{RuleBody, RuleId};
use crate::terms::{ExprExt, RatExt};
use num_traits::One;

/// The definitions a result may be recognised by (`f(U) = rhs`, `σ(-U) = rhs`), each
/// with a right side written with `exp`, `sinh` and `cosh` alone.
pub const RECOGNISED: &[RuleId] = &[
    RuleId::SigmoidDefinition,
    RuleId::SigmoidOfNegationDefinition,
    RuleId::TanhDefinition,
    RuleId::TanhAsRatio,
];

/// A subterm that is `times * func(u)`, with the definition's right side at `u` written
/// with `1/exp(w)` for `exp(-w)`; `times` is a number, or a quotient of products of atoms
/// free of exponentials (`-x*y` in the logistic loss's `-x*y*σ(-w*x*y)`).
struct Found {
    path: Vec<usize>,
    rule: RuleId,
    u: Expr,
    rhs: Expr,
    times: Expr,
}

/// Most subterms compared with a definition in one result; beyond it the search stops.
const MAX_COMPARISONS: usize = 2000;

/// Recognise named functions wherever a subterm is one written out; whether any was.
pub fn recognise_functions(d: &mut Driver) -> Result<bool, EngineError> {
    let mut changed = false;
    let mut comparisons = 0;
    for _ in 0..32 {
        let ctx = d.ctx().clone();
        let Some(found) = find(&ctx, d.current(), &mut comparisons) else {
            break;
        };
        let mut trial = d.clone();
        // Kept only when it shortens the term, like every identity tried on a result.
        if replay(&mut trial, &found).is_err() || trial.current().size() >= d.current().size() {
            break;
        }
        *d = trial;
        changed = true;
    }
    Ok(changed)
}

/// Square roots as a textbook writes them: every `u^(1/2)` as `sqrt(u)` where `u > 0`
/// is proved or already assumed, after everything else.
pub fn square_roots(d: &mut Driver) -> Result<(), EngineError> {
    let half = Expr::Num(Rat::small(1, 2));
    for _ in 0..64 {
        let ctx = d.ctx().clone();
        let current = d.current().clone();
        let at = first(&current, &[], &|t| matches!(t, Expr::Pow(_, k) if **k == half));
        let Some(at) = at else { break };
        let Some(Expr::Pow(u, _)) = d.at(&at) else { break };
        let step = step_with(RuleId::PowerOneHalf, &at, &[("U", u)]);
        // Only where the result already assumes `u > 0` (the power rule did) or the
        // kernel proves it: the notation is not worth a new hypothesis.
        let known = d.proof.hypotheses();
        match crate::kernel::rewrite(&ctx, &current, &step) {
            Ok((_, open, _)) if open.iter().all(|c| known.contains(c)) => d.apply(step)?,
            _ => break,
        }
    }
    Ok(())
}

/// `e` with every `exp(-w)` written `1/exp(w)` (`exp(--w)` stays: ring arithmetic
/// already reads it as `exp(w)`).
fn exp_normal(e: &Expr) -> Expr {
    match e {
        Expr::Call(Func::Exp, a) => match &**a {
            Expr::Neg(w) if !matches!(**w, Expr::Neg(_)) => {
                Expr::Div(Expr::int(1).into(), Expr::call(Func::Exp, exp_normal(w)).into())
            }
            _ => e.map_children(exp_normal),
        },
        _ => e.map_children(exp_normal),
    }
}

/// The right side of `rule` at `U := u`, exactly as the kernel gives it; none where either
/// side would hold a double negation (`exp(--x)` is no textbook form).
fn definition(ctx: &Context, rule: RuleId, u: &Expr) -> Option<Expr> {
    fn instance(pattern: &Expr, u: &Expr) -> Expr {
        match pattern {
            Expr::Sym(m) if m == "U" => u.clone(),
            _ => pattern.map_children(|c| instance(c, u)).reshape(),
        }
    }
    let double =
        |e: &Expr| e.any(&mut |t| matches!(t, Expr::Neg(a) if matches!(**a, Expr::Neg(_))));
    let RuleBody::Rewrite { lhs, .. } = rule.rule()? else { return None };
    let lhs = instance(lhs, u);
    let step = step_with(rule, &[], &[("U", u)]);
    let (rhs, ..) = rewrite(ctx, &lhs, &step).ok()?;
    (!double(&lhs) && !double(&rhs)).then_some(rhs)
}

/// The functions whose arguments may be a recognised function's argument.
fn is_candidate_call(f: Func) -> bool {
    matches!(f, Func::Exp | Func::Sinh | Func::Cosh)
}

/// The first subterm (pre-order) that is a constant times a recognised function of the
/// argument (or its negation) of an exponential, sinh or cosh in the term.
fn find(ctx: &Context, e: &Expr, comparisons: &mut usize) -> Option<Found> {
    let mut arguments: Vec<Expr> = Vec::new();
    e.any(&mut |t| {
        if let Expr::Call(f, a) = t {
            let u = match &**a {
                Expr::Neg(w) => (**w).clone(),
                a => a.clone(),
            };
            for v in [u.clone(), Expr::neg(u)] {
                if is_candidate_call(*f) && !arguments.contains(&v) {
                    arguments.push(v);
                }
            }
        }
        false
    });
    let mut definitions = Vec::new();
    for u in &arguments {
        for &rule in RECOGNISED {
            if let Some(rhs) = definition(ctx, rule, u) {
                definitions.push((rule, u.clone(), exp_normal(&rhs)));
            }
        }
    }
    search(e, &mut Vec::new(), &definitions, comparisons)
}

fn search(
    e: &Expr,
    path: &mut Vec<usize>,
    definitions: &[(RuleId, Expr, Expr)],
    comparisons: &mut usize,
) -> Option<Found> {
    let ring_node = matches!(e, Expr::Div(..) | Expr::Mul(_) | Expr::Add(_));
    if ring_node && e.any(&mut |t| matches!(t, Expr::Call(f, _) if is_candidate_call(*f))) {
        let normal = exp_normal(e);
        for (rule, u, rhs) in definitions {
            *comparisons += 1;
            if *comparisons > MAX_COMPARISONS {
                return None;
            }
            let ratio = normalize(&Expr::div(normal.clone(), rhs.clone()), 0, true).ok();
            let times = ratio.as_ref().and_then(|f| match constant_ratio(f) {
                Some(c) => Some(Expr::Num(c)),
                None => monomial_ratio(f),
            });
            if let Some(times) = times {
                let (rule, u, rhs) = (*rule, u.clone(), rhs.clone());
                return Some(Found { path: path.clone(), rule, u, rhs, times });
            }
        }
    }
    for (i, c) in e.children().enumerate() {
        path.push(i);
        let found = search(c, path, definitions, comparisons);
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// `f`'s numerator over its denominator where that is one term, a number times powers of
/// atoms free of exponentials, sinh and cosh (a factor that held one would be part of the
/// function): `x*y*(E + 1)` over `E + 1` is `x*y`.
fn monomial_ratio(f: &crate::kernel::ring::Frac) -> Option<Expr> {
    use std::collections::BTreeMap;
    let ((n0, a), (d0, b)) = (f.num.0.last()?, f.den.0.last()?);
    if f.num.0.len() != f.den.0.len() {
        return None;
    }
    // The exponent of each atom in numerator over denominator.
    let mut ratio: BTreeMap<&Expr, i64> = BTreeMap::new();
    for (atom, k) in n0 {
        *ratio.entry(atom).or_default() += i64::from(*k);
    }
    for (atom, k) in d0 {
        *ratio.entry(atom).or_default() -= i64::from(*k);
    }
    ratio.retain(|_, k| *k != 0);
    let c = a / b;
    // Every term of the denominator times the ratio is a term of the numerator.
    fn as_map(m: &crate::kernel::ring::Monomial) -> BTreeMap<&Expr, i64> {
        m.iter().map(|(atom, k)| (atom, i64::from(*k))).collect()
    }
    let numerator: Vec<(BTreeMap<&Expr, i64>, &Rat)> =
        f.num.0.iter().map(|(m, k)| (as_map(m), k)).collect();
    for (m, k) in &f.den.0 {
        let mut wanted = as_map(m);
        for (atom, e) in &ratio {
            *wanted.entry(*atom).or_default() += e;
        }
        wanted.retain(|_, e| *e != 0);
        let k = k * &c;
        if !numerator.iter().any(|(nm, nk)| *nm == wanted && **nk == k) {
            return None;
        }
    }
    let exponential = |t: &Expr| matches!(t, Expr::Call(f, _) if is_candidate_call(*f));
    if ratio.keys().any(|atom| atom.any(&mut |t| exponential(t))) {
        return None;
    }
    let power = |atom: &Expr, k: i64| match k {
        1 => atom.clone(),
        k => Expr::pow(atom.clone(), Expr::int(k)),
    };
    let mut top = if c.is_one() { vec![] } else { vec![Expr::Num(c)] };
    top.extend(ratio.iter().filter(|(_, k)| **k > 0).map(|(atom, k)| power(atom, *k)));
    let below: Vec<Expr> =
        ratio.iter().filter(|(_, k)| **k < 0).map(|(atom, k)| power(atom, -k)).collect();
    let top = Expr::mul(top);
    Some(if below.is_empty() { top } else { Expr::div(top, Expr::mul(below)) })
}

/// The kernel steps from the subterm at `found.path` to `times*func(u)`.
fn replay(d: &mut Driver, found: &Found) -> Result<(), EngineError> {
    let Found { path, rule, u, rhs, times } = found;
    let path = path.as_slice();
    // `exp(-w)` as `1/exp(w)`, innermost first.
    for _ in 0..64 {
        let Some(at) = negated_exp(d.at(path).unwrap_or(&Expr::int(0)), path) else { break };
        let Some(Expr::Call(_, a)) = d.at(&at) else { break };
        let Expr::Neg(w) = &**a else { break };
        let w = (**w).clone();
        d.apply(step_with(RuleId::ExpOfNegation, &at, &[("U", &w)]))?;
    }
    let rhs = rhs.clone();
    // The definition's place: the whole subterm, or the factor after `times`.
    let path: Vec<usize> = if times.is_one() {
        d.ring(path, rhs)?;
        path.to_vec()
    } else {
        // One flat product: `-x*y*σ(…)`, not `-(x*y)*σ(…)`.
        let mut factors = match times {
            Expr::Mul(fs) => fs.to_vec(),
            t => vec![t.clone()],
        };
        factors.push(rhs.clone());
        d.ring(path, Expr::Mul(factors.into()))?;
        let shaped = rhs.shaped();
        let at = match d.at(path) {
            Some(Expr::Mul(fs)) => fs.iter().position(|f| *f == shaped || *f == rhs),
            _ => None,
        };
        let at =
            at.ok_or_else(|| EngineError::TooLarge("the definition is not a factor".into()))?;
        path.iter().copied().chain([at]).collect()
    };
    let path = path.as_slice();
    // And back: `1/exp(w)` as `exp(-w)` where the definition has it.
    for _ in 0..64 {
        let Some(at) = reciprocal_exp(d.at(path).unwrap_or(&Expr::int(0)), path) else { break };
        let Some(Expr::Div(_, b)) = d.at(&at) else { break };
        let Expr::Call(_, w) = &**b else { break };
        let w = (**w).clone();
        let mut step = step_with(RuleId::ExpOfNegation, &at, &[("U", &w)]);
        step.reversed = true;
        d.apply(step)?;
    }
    let mut step = step_with(*rule, path, &[("U", u)]);
    step.reversed = true;
    d.apply(step)
}

/// The path (from the root) of the first `exp(-w)` inside `e`, which sits at `at`.
fn negated_exp(e: &Expr, at: &[usize]) -> Option<Vec<usize>> {
    let negated = |a: &Expr| matches!(a, Expr::Neg(w) if !matches!(**w, Expr::Neg(_)));
    first(e, at, &|t| matches!(t, Expr::Call(Func::Exp, a) if negated(a)))
}

/// The path (from the root) of the first `1/exp(w)` inside `e`, which sits at `at`.
fn reciprocal_exp(e: &Expr, at: &[usize]) -> Option<Vec<usize>> {
    first(
        e,
        at,
        &|t| matches!(t, Expr::Div(a, b) if a.is_one() && matches!(**b, Expr::Call(Func::Exp, _))),
    )
}

/// The path from the root of the first subterm (pre-order) of `e`, which sits at `at`,
/// that `wanted` picks.
fn first(e: &Expr, at: &[usize], wanted: &dyn Fn(&Expr) -> bool) -> Option<Vec<usize>> {
    find_path(e, wanted).map(|p| at.iter().copied().chain(p).collect())
}
