//! Identities beyond ring arithmetic: inverse functions cancel, sin² + cos² = 1, and a
//! last attempt to cancel through the exponential (σ, tanh written with `exp`).

use super::algebra::{combine, content, term_expr, to_expr, to_terms, Term};
use super::differentiate::step_with;
use super::simplify::tidy;
use super::{Driver, EngineError};
use crate::expr::{Context, Expr, Func, Rat};
use crate::kernel::ring::{canonical, ring_equal};
use crate::kernel::{decide, rewrite, Step, Verdict};
use crate::rules::{matching::match_pattern, Condition, RuleBody, RuleId};
use crate::terms::RatExt;
use crate::terms::{any_shared, ExprExt};
use std::sync::Arc;

/// Rules that only ever shorten a term, applied wherever they match.
const SHORTENING: &[RuleId] = &[
    RuleId::ExpOfLog,
    RuleId::LogOfExp,
    RuleId::SqrtSquared,
    RuleId::DeltaSameIndex,
    RuleId::DeltaSquared,
    RuleId::CosOfNegation,
    RuleId::AbsOfNegation,
    RuleId::AbsSquared,
    RuleId::AbsOfNonnegative,
    RuleId::ExpOfZero,
    RuleId::LogOfOne,
    RuleId::OneToAPower,
    RuleId::SinOfZero,
    RuleId::CosOfZero,
    RuleId::TanOfZero,
    RuleId::TanhOfZero,
    RuleId::SigmoidOfZero,
    RuleId::SinhOfZero,
    RuleId::CoshOfZero,
    RuleId::AtanOfZero,
    RuleId::AsinOfZero,
    RuleId::AsinhOfZero,
    RuleId::AcosOfOne,
    RuleId::SqrtOfZero,
    RuleId::ReluOfZero,
    RuleId::StepOfZero,
    RuleId::ErfOfZero,
    RuleId::SinOfPi,
    RuleId::CosOfPi,
    RuleId::SinOfHalfPi,
    RuleId::SinOfThirdPi,
    RuleId::CosOfThirdPi,
    RuleId::SinOfQuarterPi,
    RuleId::CosOfQuarterPi,
    RuleId::TanOfQuarterPi,
    RuleId::SinOfSixthPi,
    RuleId::CosOfSixthPi,
    RuleId::CosOfHalfPi,
    RuleId::SinOfMultipleOfPi,
    RuleId::CosOfMultipleOfPi,
];

fn lhs_of(rule: RuleId) -> Option<&'static Expr> {
    match rule.rule()? {
        RuleBody::Rewrite { lhs, .. } => Some(lhs),
        RuleBody::Builtin(_) => None,
    }
}

/// The first subterm (pre-order) for which `pick` gives a step.
fn first_match<T>(
    e: &Expr,
    path: &mut Vec<usize>,
    pick: &mut dyn FnMut(&Expr, &[usize]) -> Option<T>,
) -> Option<T> {
    first_match_below(e, path, &|_| true, pick)
}

/// [`first_match`] that looks inside a subterm only where `descend` says so (every
/// subterm is still offered to `pick`).
fn first_match_below<T>(
    e: &Expr,
    path: &mut Vec<usize>,
    descend: &dyn Fn(&Expr) -> bool,
    pick: &mut dyn FnMut(&Expr, &[usize]) -> Option<T>,
) -> Option<T> {
    if let Some(s) = pick(e, path) {
        return Some(s);
    }
    if !descend(e) {
        return None;
    }
    for (i, c) in e.children().enumerate() {
        path.push(i);
        let found = first_match_below(c, path, descend, pick);
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Whether `e` is the root of a shortening pattern, or a square root of a square number.
fn shortens(e: &Expr) -> bool {
    let num = |a: &Expr, v: i64| a.as_num().is_some_and(|r| *r == Rat::from_integer(v.into()));
    match e {
        Expr::Call(Func::Exp, a) => matches!(**a, Expr::Call(Func::Log, _)) || num(a, 0),
        Expr::Call(Func::Log, a) => matches!(**a, Expr::Call(Func::Exp, _)) || num(a, 1),
        Expr::Call(Func::Cos, a) => matches!(**a, Expr::Neg(_)) || num(a, 0) || near_pi(a),
        Expr::Call(Func::Sin | Func::Tan | Func::Tanh | Func::Sigmoid | Func::Erf, a) => {
            num(a, 0) || near_pi(a)
        }
        Expr::Call(
            Func::Sinh
            | Func::Cosh
            | Func::Atan
            | Func::Asin
            | Func::Asinh
            | Func::Relu
            | Func::Step,
            a,
        ) => num(a, 0),
        Expr::Call(Func::Acos, a) => num(a, 1),
        Expr::Call(Func::Sqrt, a) => {
            num(a, 0) || a.as_num().and_then(square_root).is_some() || matches!(**a, Expr::Pow(..))
        }
        // `abs(u)` for `u >= 0` as well: the sign analysis needs the context, so `shorten`
        // decides that one.
        Expr::Call(Func::Abs, _) => true,
        Expr::Pow(b, _) => {
            matches!(**b, Expr::Call(Func::Sqrt | Func::Abs, _) | Expr::Delta(..)) || num(b, 1)
        }
        Expr::Delta(a, b) => a == b,
        _ => false,
    }
}

/// Whether π is `a` or one of its operands, as in every rule at a multiple of π (`π`,
/// `π/2`, `k*π`): a deeper π, `sin(sin(π))`, is met when the walk reaches it, and looking
/// for it under every call would cost a nested term its size at each level.
fn near_pi(a: &Expr) -> bool {
    crate::functions::is_pi(a) || a.children().any(crate::functions::is_pi)
}

/// `s` with `s^2 = r`, for a positive rational square `r`.
fn square_root(r: &Rat) -> Option<Rat> {
    if !r.is_positive() {
        return None;
    }
    let (n, d) = (r.numer().sqrt(), r.denom().sqrt());
    (&n * &n == r.numer() && &d * &d == r.denom()).then(|| Rat::new(n, d))
}

/// The first shortening identity that applies to `e`, at `path` in `current`.
fn shortening_step(ctx: &Context, current: &Expr, e: &Expr, path: &[usize]) -> Option<Vec<Step>> {
    SHORTENING.iter().find_map(|&rule| {
        let b = match_pattern(lhs_of(rule)?, e)?;
        let mut s = rule.step(path.to_vec());
        s.binding = b;
        // A decidably false side condition (`exp(log(-1))`) leaves the term alone (the
        // kernel refuses `|u| = u` where the sign analysis does not show `u >= 0`).
        rewrite(ctx, current, &s).ok()?;
        Some(vec![s])
    })
}

/// Apply the shortening identities until none matches; whether anything changed.
pub fn shorten(d: &mut Driver) -> Result<bool, EngineError> {
    let mut changed = false;
    for _ in 0..256 {
        if !any_shared(&[d.current()], shortens) {
            break;
        }
        let ctx = d.ctx().clone();
        let current = d.current().clone();
        let step = first_match(&current, &mut Vec::new(), &mut |e, path| {
            if let Expr::Call(Func::Sqrt, a) = e {
                if let Expr::Pow(u, _) = &**a {
                    // `sqrt(u^2) = u` only where the sign analysis shows `u > 0`
                    // (`sqrt(cosh(x)^2)`): a carried condition would halve the domain.
                    let s = step_with(RuleId::SqrtOfSquare, path, &[("U", u)]);
                    let (_, open, _) = rewrite(&ctx, &current, &s).ok()?;
                    return open.is_empty().then(|| vec![s]);
                }
                // `sqrt(4)`: write the 4 as `2^2`, then take the root (`sqrt(0)` is a rule).
                let root = a.as_num().and_then(square_root).map(Expr::Num);
                let Some(root) = root else { return shortening_step(&ctx, &current, e, path) };
                return Some(vec![
                    ring_step(
                        path.iter().copied().chain([0]).collect(),
                        Expr::pow(root.clone(), Expr::int(2)),
                    ),
                    step_with(RuleId::SqrtOfSquare, path, &[("U", &root)]),
                ]);
            }
            shortening_step(&ctx, &current, e, path)
        });
        match step {
            Some(steps) => {
                for s in steps {
                    d.apply(s)?;
                }
                changed = true;
            }
            None => break,
        }
    }
    if pythagoras(d)? {
        changed = true;
    }
    Ok(changed)
}

fn ring_step(path: Vec<usize>, new: Expr) -> Step {
    let mut s = RuleId::RingNormalize.step(path);
    s.replacement = Some(new);
    s
}

/// `c*sin(u)^2 + c*cos(u)^2 + …` → `c + …`.
fn pythagoras(d: &mut Driver) -> Result<bool, EngineError> {
    let has = |f: Func, e: &Expr| any_shared(&[e], |t| matches!(t, Expr::Call(g, _) if *g == f));
    if !has(Func::Sin, d.current()) || !has(Func::Cos, d.current()) {
        return Ok(false);
    }
    let found = first_match(&d.current().clone(), &mut Vec::new(), &mut |e, path| {
        let Expr::Add(_) = e else { return None };
        let terms = to_terms(e, false).ok()?;
        let square_of = |t: &super::algebra::Term, f: Func| -> Option<Expr> {
            match t.factors.as_slice() {
                [g] if g.exp == 2 => match &g.base {
                    Expr::Call(h, u) if *h == f => Some((**u).clone()),
                    _ => None,
                },
                _ => None,
            }
        };
        for (i, s) in terms.iter().enumerate() {
            let Some(u) = square_of(s, Func::Sin) else {
                continue;
            };
            for (j, c) in terms.iter().enumerate() {
                if square_of(c, Func::Cos).as_ref() == Some(&u) && c.coeff == s.coeff {
                    let pair = Expr::Add(vec![term_expr(&one(s)), term_expr(&one(c))].into());
                    let scaled = s.coeff != num_traits::One::one();
                    let lead = if scaled {
                        Expr::Mul(vec![Expr::Num(s.coeff.clone()), pair].into())
                    } else {
                        pair
                    };
                    let rest: Vec<Expr> = terms
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| *k != i && *k != j)
                        .map(|(_, t)| term_expr(t))
                        .collect();
                    let mut at = path.to_vec();
                    let replacement = if rest.is_empty() {
                        lead
                    } else {
                        at.push(0);
                        Expr::Add(std::iter::once(lead).chain(rest).collect())
                    };
                    if scaled {
                        at.push(1);
                    }
                    let mut step = RuleId::RingNormalize.step(path.to_vec());
                    step.replacement = Some(replacement);
                    return Some((step, at, u));
                }
            }
        }
        None
    });
    let Some((ring, at, u)) = found else {
        return Ok(false);
    };
    d.apply(ring)?;
    let mut step = RuleId::PythagoreanIdentity.step(at);
    step.binding.terms.insert("U".into(), u);
    d.apply(step)?;
    Ok(true)
}

fn one(t: &super::algebra::Term) -> super::algebra::Term {
    super::algebra::Term { coeff: num_traits::One::one(), factors: t.factors.clone() }
}

/// Write σ, tanh and `exp(-u)` with `exp(u)` and keep the result if it is smaller:
/// this is how `σ(x) - 1/(1 + exp(-x))` is seen to be zero.
pub fn through_exp(d: &mut Driver) -> Result<(), EngineError> {
    // Worth a try only when two different exponential-family atoms could cancel
    // (`sigmoid(x)` beside `exp(-x)` or `sigmoid(-x)`); one alone never does.
    // Each shared node once: an unfolded chain `tanh(tanh(…))` is a tree of n² nodes.
    let mut atoms: Vec<&Expr> = Vec::new();
    crate::terms::walk_shared(&[d.current()], |e| {
        if matches!(e, Expr::Call(Func::Sigmoid | Func::Tanh | Func::Exp, _)) && !atoms.contains(&e)
        {
            atoms.push(e);
        }
        true
    });
    let family = atoms.iter().any(|a| matches!(a, Expr::Call(Func::Sigmoid | Func::Tanh, _)));
    if !family || atoms.len() < 2 {
        return Ok(());
    }
    // And only when two of them have arguments that are multiples of one term (`x` and
    // `-2*x`): written with `exp`, atoms of unrelated arguments stay unrelated, and the
    // trial can be costly (`tanh(h_3)`, `tanh(h_2)`, … in a long chain).
    let directions: Vec<Expr> = atoms
        .iter()
        .filter_map(|a| match a {
            Expr::Call(_, u) => direction(u),
            _ => None,
        })
        .collect();
    if !(0..directions.len()).any(|i| directions[i + 1..].contains(&directions[i])) {
        return Ok(());
    }
    let mut trial = d.clone();
    for _ in 0..256 {
        let step = first_match(&trial.current().clone(), &mut Vec::new(), &mut |e, path| {
            let (name, u) = match e {
                Expr::Call(Func::Sigmoid, u) => (RuleId::SigmoidDefinition, u),
                Expr::Call(Func::Tanh, u) => (RuleId::TanhDefinition, u),
                Expr::Call(Func::Exp, a) => match &**a {
                    Expr::Neg(u) => (RuleId::ExpOfNegation, u),
                    _ => return None,
                },
                _ => return None,
            };
            let mut s = name.step(path.to_vec());
            s.binding.terms.insert("U".into(), (**u).clone());
            Some(s)
        });
        match step {
            Some(s) => {
                if trial.apply(s).is_err() {
                    return Ok(());
                }
            }
            None => break,
        }
    }
    if exps_over_common_base(&mut trial).is_err() || tidy(&mut trial, &[]).is_err() {
        return Ok(());
    }
    if trial.current().size() < d.current().size() {
        *d = trial;
    }
    Ok(())
}

/// `cosh(u)^2` written `1 + sinh(u)^2`, or `sinh(u)^2` written `cosh(u)^2 - 1`, everywhere,
/// where `sinh(u)` and `cosh(u)` both stand and that, simplified, gives a smaller term:
/// `1 - cosh(x)^2/sinh(x)^2` is `-1/sinh(x)^2`, `cosh(x)/(1 + sinh(x)^2)` is `1/cosh(x)`.
pub fn hyperbolic_squares(d: &mut Driver) -> Result<(), EngineError> {
    let squared = |e: &Expr, f: Func| match e {
        Expr::Pow(b, k) if k.as_num().is_some_and(|k| *k == Rat::from_integer(2.into())) => {
            match &**b {
                Expr::Call(g, u) if *g == f => Some((**u).clone()),
                _ => None,
            }
        }
        _ => None,
    };
    let calls = |f: Func| {
        let mut found: Vec<Expr> = Vec::new();
        crate::terms::walk_shared(&[d.current()], |e| {
            if let Expr::Call(g, u) = e {
                if *g == f && !found.contains(u) {
                    found.push((**u).clone());
                }
            }
            true
        });
        found
    };
    let (sinh, cosh) = (calls(Func::Sinh), calls(Func::Cosh));
    if !sinh.iter().any(|u| cosh.contains(u)) {
        return Ok(());
    }
    let mut best: Option<Driver> = None;
    for (rule, f) in [(RuleId::CoshSquared, Func::Cosh), (RuleId::SinhSquared, Func::Sinh)] {
        let mut trial = d.clone();
        let mut rewritten = false;
        for _ in 0..64 {
            let step = first_match(&trial.current().clone(), &mut Vec::new(), &mut |e, path| {
                let u = squared(e, f).filter(|u| sinh.contains(u) && cosh.contains(u))?;
                Some(step_with(rule, path, &[("U", &u)]))
            });
            match step.map(|s| trial.apply(s)) {
                Some(Ok(())) => rewritten = true,
                Some(Err(_)) => return Ok(()),
                None => break,
            }
        }
        // Tidied, then shortened (`sqrt(cosh(u)^2)`), then tidied again.
        let settle = |t: &mut Driver| -> Result<(), EngineError> {
            tidy(t, &[])?;
            if shorten(t)? {
                tidy(t, &[])?;
            }
            Ok(())
        };
        if !rewritten || settle(&mut trial).is_err() {
            continue;
        }
        let size = |t: &Driver| t.current().size();
        if size(&trial) < best.as_ref().map_or(size(d), size) {
            best = Some(trial);
        }
    }
    if let Some(best) = best {
        *d = best;
    }
    Ok(())
}

/// A term up to a rational factor, the same for `x`, `-2*x` and `x/3`: the ring-canonical
/// form of its primitive part, of the two signs the lesser. `None` for a number.
fn direction(u: &Expr) -> Option<Expr> {
    let (_, _, key, negated_key) = as_multiple(u)?;
    Some(key.min(negated_key))
}

/// `a` as its content times a primitive part (`-2*x` is 2 times `-x`), with the
/// ring-canonical forms of the part and of its negation to compare parts by. `None` for a
/// number.
fn as_multiple(a: &Expr) -> Option<(Rat, Expr, Expr, Expr)> {
    let terms = to_terms(a, true).ok()?;
    if terms.iter().all(|t| t.factors.is_empty()) {
        return None;
    }
    let c = content(&terms);
    let part: Vec<Term> =
        terms.iter().map(|t| Term { coeff: &t.coeff / &c, factors: t.factors.clone() }).collect();
    let part = to_expr(&part);
    let key = canonical(&part, 0).ok()?;
    let negated_key = canonical(&Expr::neg(part.clone()), 0).ok()?;
    Some((c, part, key, negated_key))
}

/// Exponentials whose arguments are multiples of one term as powers of one exponential:
/// `exp(2*x)` → `exp(x)^2` beside `exp(x)`, so that ring arithmetic sees a single atom
/// (`tanh(x)` written with `exp(x)` cancels against `exp(-2*x)`).
fn exps_over_common_base(t: &mut Driver) -> Result<(), EngineError> {
    let powers = common_exp_powers(&arguments(t.current(), Func::Exp));
    if powers.is_empty() {
        return Ok(());
    }
    for _ in 0..64 {
        let found = first_match(&t.current().clone(), &mut Vec::new(), &mut |e, path| {
            let Expr::Call(Func::Exp, a) = e else {
                return None;
            };
            let p = powers.iter().find(|p| p.arg == **a)?;
            Some((path.to_vec(), p.base.clone(), p.multiple))
        });
        let Some((path, base, k)) = found else {
            return Ok(());
        };
        let times = |k: i64| match k {
            1 => base.clone(),
            _ => Expr::Mul(vec![Expr::int(k), base.clone()].into()),
        };
        let arg: Vec<usize> = path.iter().copied().chain([0]).collect();
        let mut at = path.clone();
        if k < 0 {
            // `exp(-k*v)` → `1/exp(k*v)` first, so the power stays positive.
            let positive = times(-k);
            t.ring(&arg, Expr::neg(positive.clone()))?;
            t.apply(step_with(RuleId::ExpOfNegation, &path, &[("U", &positive)]))?;
            at.push(1);
        } else {
            t.ring(&arg, times(k))?;
        }
        if k.abs() >= 2 {
            t.apply(step_with(
                RuleId::ExpOfMultiple,
                &at,
                &[("N", &Expr::int(k.abs())), ("U", &base)],
            ))?;
        }
    }
    Ok(())
}

/// An exponential's argument written as an integer multiple of a common base argument.
struct ExpPower {
    arg: Expr,
    base: Expr,
    multiple: i64,
}

/// Largest multiple written as a power of the common exponential.
const MAX_EXP_MULTIPLE: i64 = 16;

/// For arguments that are rational multiples of one term (`x`, `-2*x`, `x/2`), each one's
/// multiple of their greatest common part (`x/2`): arguments alone in their group, or
/// already the base, are left out.
fn common_exp_powers(args: &[Expr]) -> Vec<ExpPower> {
    let split: Vec<Option<(Rat, Expr, Expr, Expr)>> = args.iter().map(as_multiple).collect();
    let mut grouped = vec![false; args.len()];
    let mut out = Vec::new();
    for i in 0..args.len() {
        let Some((ci, vi, key, _)) = &split[i] else {
            continue;
        };
        if grouped[i] {
            continue;
        }
        let mut members = vec![(i, ci.clone())];
        for j in i + 1..args.len() {
            let Some((cj, _, key_j, negated_key_j)) = &split[j] else {
                continue;
            };
            if grouped[j] {
                continue;
            }
            if key == key_j {
                members.push((j, cj.clone()));
            } else if key == negated_key_j {
                members.push((j, -cj.clone()));
            } else {
                continue;
            }
            grouped[j] = true;
        }
        if members.len() < 2 {
            continue;
        }
        let coefficients: Vec<Term> =
            members.iter().map(|(_, c)| Term { coeff: c.clone(), factors: vec![] }).collect();
        let g = content(&coefficients);
        let multiples: Option<Vec<i64>> = members
            .iter()
            .map(|(_, c)| {
                let k = c / &g;
                let k: i64 = k.to_big().to_integer().try_into().ok()?;
                (k.abs() <= MAX_EXP_MULTIPLE).then_some(k)
            })
            .collect();
        let Some(multiples) = multiples else { continue };
        // The base as the input wrote it where one argument is the base itself.
        let base = match multiples.iter().position(|k| *k == 1) {
            Some(m) => args[members[m].0].clone(),
            None => {
                let terms = to_terms(vi, true).unwrap_or_default();
                let scaled: Vec<Term> = terms
                    .iter()
                    .map(|t| Term { coeff: &t.coeff * &g, factors: t.factors.clone() })
                    .collect();
                to_expr(&scaled)
            }
        };
        for ((m, _), k) in members.iter().zip(multiples) {
            if k != 1 {
                out.push(ExpPower { arg: args[*m].clone(), base: base.clone(), multiple: k });
            }
        }
    }
    out
}

/// The product of `first` and `rest` with `first` its first factor (`first` alone when
/// `rest` is empty), to stand at `path`; and the path of `first` in it.
fn led_by(first: Expr, rest: Vec<Expr>, path: &[usize]) -> (Expr, Vec<usize>) {
    if rest.is_empty() {
        return (first, path.to_vec());
    }
    let product = Expr::Mul(std::iter::once(first).chain(rest).collect());
    (product, path.iter().copied().chain([0]).collect())
}

/// Rewrite a copy of the proof with `rewrite`, tidy it, and keep it when it is smaller.
fn trial(
    d: &mut Driver,
    rewrite: impl FnOnce(&mut Driver) -> Result<(), EngineError>,
) -> Result<bool, EngineError> {
    let mut t = d.clone();
    if rewrite(&mut t).is_err() || tidy(&mut t, &[]).is_err() {
        return Ok(false);
    }
    if t.current().size() < d.current().size() {
        *d = t;
        return Ok(true);
    }
    Ok(false)
}

/// Apply the steps `pick` proposes, first match first, until it proposes none.
fn rewrite_all(
    d: &mut Driver,
    pick: &mut dyn FnMut(&Expr, &[usize]) -> Option<Step>,
) -> Result<(), EngineError> {
    for _ in 0..256 {
        match first_match(&d.current().clone(), &mut Vec::new(), pick) {
            Some(s) => d.apply(s)?,
            None => break,
        }
    }
    Ok(())
}

/// The arguments of every call to `f` in `e`, without repeats.
fn arguments(e: &Expr, f: Func) -> Vec<Expr> {
    let mut out: Vec<Expr> = Vec::new();
    e.any(&mut |t| {
        if let Expr::Call(g, a) = t {
            if *g == f && !out.contains(a) {
                out.push((**a).clone());
            }
        }
        false
    });
    out
}

/// Identities tried on the tidied result, each only where its functions occur and kept
/// only when it shortens the term: σ(−u) beside σ(u), odd functions of −u, tan and
/// double angles beside sin and cos, tanh beside σ(2u), and square roots of powers.
pub fn trials(d: &mut Driver) -> Result<bool, EngineError> {
    let mut changed = sigmoid_symmetry(d)?;
    changed |= odd_functions(d)?;
    changed |= trigonometry(d)?;
    changed |= tanh_via_sigmoid(d)?;
    changed |= roots(d)?;
    changed |= roots_over_common_denominator(d)?;
    changed |= exponentials(d)?;
    changed |= powers(d)?;
    changed |= squares_as_absolute_values(d)?;
    changed |= signs_as_steps(d)?;
    Ok(changed)
}

/// The sum of a defined name over its index, `sum_i(a_i)`, where unfolding the definition
/// and simplifying shortens the term: 1 for a definition normalised by its own sum
/// (`a_i = exp(z_i)/sum_k(exp(z_k))`, `p_i = w_i/sum_k(w_k)`). Tried one sum at a time,
/// from the left; `true` when one was replaced.
pub fn sums_of_definitions(d: &mut Driver) -> Result<bool, EngineError> {
    thread_local! {
        /// Set while a trial simplifies: its own sums are not tried again within it, which
        /// would nest one simplification per sum.
        static TRYING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if TRYING.with(|t| t.replace(true)) {
        return Ok(false);
    }
    let r = sums_of_definitions_here(d);
    TRYING.with(|t| t.set(false));
    r
}

fn sums_of_definitions_here(d: &mut Driver) -> Result<bool, EngineError> {
    let ctx = d.ctx().clone();
    let mut sums = Vec::new();
    first_match(&d.current().clone(), &mut Vec::new(), &mut |e, path| {
        if let Expr::Sum(s) = e {
            if ctx.is_defined(&s.body) && s.body.free_indices().contains(&s.index) {
                sums.push(path.to_vec());
            }
        }
        None::<()>
    });
    let mut changed = false;
    // From the right, so that a replacement leaves the paths to its left as they were.
    for path in sums.into_iter().rev() {
        changed |= trial(d, |t| {
            super::fold::unfold_all(t, &path)?;
            super::simplify::simplify(t)
        })?;
    }
    Ok(changed)
}

/// Whether `e` is `exp(u)` or a small positive power of it; its argument and the power.
fn exp_power(e: &Expr) -> Option<(&Expr, i64)> {
    match e {
        Expr::Call(Func::Exp, a) => Some((a, 1)),
        Expr::Pow(b, k) => match (&**b, k.as_num()) {
            (Expr::Call(Func::Exp, a), Some(k)) if k.is_integer() => {
                let k: i64 = k.to_big().to_integer().try_into().ok()?;
                (2..=8).contains(&k).then_some((a, k))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A product with two exponentials (counting powers) among its factors.
fn exp_product(e: &Expr) -> bool {
    match e {
        Expr::Mul(fs) => fs.iter().filter_map(exp_power).map(|(_, k)| k).sum::<i64>() >= 2,
        other => exp_power(other).is_some_and(|(_, k)| k >= 2),
    }
}

/// `exp(u + log(v))`: the exponential of a sum with a logarithm among its terms.
fn exp_of_log_sum(e: &Expr) -> bool {
    let log = |t: &Expr| match t {
        Expr::Call(Func::Log, _) => true,
        Expr::Neg(u) => matches!(**u, Expr::Call(Func::Log, _)),
        _ => false,
    };
    matches!(e, Expr::Call(Func::Exp, a) if matches!(&**a, Expr::Add(ts) if ts.iter().any(log)))
}

/// Exponentials split at logarithms and merged in products: `exp(x + log(x))` → `x*exp(x)`,
/// `exp(x)*exp(2*x)` → `exp(3*x)`, `exp(x)*exp(-x)` → `1`; kept when shorter.
fn exponentials(d: &mut Driver) -> Result<bool, EngineError> {
    if !d.current().any(&mut |e| exp_product(e) || exp_of_log_sum(e)) {
        return Ok(false);
    }
    trial(d, |t| {
        split_exps(t)?;
        shorten(t)?;
        merge_exps(t)?;
        tidy(t, &[])?;
        shorten(t)?;
        Ok(())
    })
}

/// `exp(u + log(v))` → `exp(u)*exp(log(v))`, and `exp(u - log(v))` → `exp(u)/exp(log(v))`.
fn split_exps(t: &mut Driver) -> Result<(), EngineError> {
    for _ in 0..64 {
        let found = first_match(&t.current().clone(), &mut Vec::new(), &mut |e, path| {
            if !exp_of_log_sum(e) {
                return None;
            }
            let Expr::Call(_, a) = e else { return None };
            let Expr::Add(ts) = &**a else { return None };
            let at = ts.iter().position(|u| match u {
                Expr::Call(Func::Log, _) => true,
                Expr::Neg(v) => matches!(**v, Expr::Call(Func::Log, _)),
                _ => false,
            })?;
            let mut rest = ts.to_vec();
            let log = rest.remove(at);
            Some((path.to_vec(), Expr::add(rest), log))
        });
        let Some((path, rest, log)) = found else {
            return Ok(());
        };
        let arg: Vec<usize> = path.iter().copied().chain([0]).collect();
        t.apply(ring_step(arg, Expr::Add(vec![rest.clone(), log.clone()].into())))?;
        t.apply(step_with(RuleId::ExpOfSum, &path, &[("U", &rest), ("V", &log)]))?;
        if let Expr::Neg(v) = &log {
            // `exp(-log(v))` is `1/exp(log(v))`.
            let at: Vec<usize> = path.iter().copied().chain([1]).collect();
            t.apply(step_with(RuleId::ExpOfNegation, &at, &[("U", v)]))?;
        }
    }
    Ok(())
}

/// Every product of exponentials as the exponential of a sum: the factors are gathered
/// into `((exp(a)*exp(b))*exp(c))*…`, which `exp-of-sum` read backwards folds pairwise.
fn merge_exps(t: &mut Driver) -> Result<(), EngineError> {
    for _ in 0..64 {
        let found = first_match(&t.current().clone(), &mut Vec::new(), &mut |e, path| {
            exp_product(e).then(|| (path.to_vec(), e.clone()))
        });
        let Some((path, e)) = found else {
            return Ok(());
        };
        let factors = match &e {
            Expr::Mul(fs) => fs.to_vec(),
            other => vec![other.clone()],
        };
        let (mut args, mut rest) = (Vec::new(), Vec::new());
        for f in factors {
            match exp_power(&f) {
                Some((a, k)) => args.extend(std::iter::repeat_n(a.clone(), k as usize)),
                None => rest.push(f),
            }
        }
        let exp = |a: &Expr| Expr::call(Func::Exp, a.clone());
        let mut chain = Expr::Mul(vec![exp(&args[0]), exp(&args[1])].into());
        for a in &args[2..] {
            chain = Expr::Mul(vec![chain, exp(a)].into());
        }
        let (whole, base) = led_by(chain, rest, &path);
        t.apply(ring_step(path.clone(), whole))?;
        // Innermost pair first: `exp(a)*exp(b)` → `exp(a + b)`, then outwards.
        let mut sum = args[0].clone();
        for (level, a) in args[1..].iter().enumerate().rev().map(|(i, _)| i).zip(&args[1..]) {
            let mut p = base.clone();
            p.extend(std::iter::repeat_n(0, level));
            let mut s = step_with(RuleId::ExpOfSum, &p, &[("U", &sum), ("V", a)]);
            s.reversed = true;
            t.apply(s)?;
            sum = Expr::Add(vec![sum, a.clone()].into());
        }
    }
    Ok(())
}

/// `σ(−u)` → `1 − σ(u)`, tidy, then what is left as `1 − σ(u)` back to `σ(−u)`: the
/// binary cross-entropy `−y log σ(z) − (1 − y) log σ(−z)` has derivative `σ(z) − y`, and
/// `σ(−x)*(σ(−x) − 1)` is `−σ(x)*σ(−x)`.
fn sigmoid_symmetry(d: &mut Driver) -> Result<bool, EngineError> {
    if !d
        .current()
        .any(&mut |e| matches!(e, Expr::Call(Func::Sigmoid, a) if matches!(**a, Expr::Neg(_))))
    {
        return Ok(false);
    }
    let negated: Vec<Expr> = arguments(d.current(), Func::Sigmoid)
        .iter()
        .filter(|a| matches!(a, Expr::Neg(_)))
        .filter_map(Expr::unneg)
        .collect();
    if negated.is_empty() {
        return Ok(false);
    }
    trial(d, |t| {
        rewrite_all(t, &mut |e, path| {
            let Expr::Call(Func::Sigmoid, a) = e else {
                return None;
            };
            let u = a.unneg().filter(|u| negated.contains(u))?;
            let mut s = step_with(RuleId::SigmoidComplement, path, &[("U", &u)]);
            s.reversed = true;
            Some(s)
        })?;
        tidy(t, &[])?;
        // Where `1 − σ(u)` is left, the input's `σ(−u)` is shorter.
        rewrite_all(t, &mut |e, path| {
            let Expr::Add(ts) = e else { return None };
            let [one, Expr::Neg(s)] = &ts[..] else {
                return None;
            };
            let Expr::Call(Func::Sigmoid, u) = &**s else {
                return None;
            };
            if one.as_num().is_none_or(|r| *r != Rat::from_integer(1.into()))
                || !negated.contains(u)
            {
                return None;
            }
            Some(step_with(RuleId::SigmoidComplement, path, &[("U", u)]))
        })
    })
}

/// `sin(−u)` → `−sin(u)`, and likewise tan and tanh, when that lets terms combine.
fn odd_functions(d: &mut Driver) -> Result<bool, EngineError> {
    let odd = |e: &Expr| match e {
        Expr::Call(f @ (Func::Sin | Func::Tan | Func::Tanh), a) => match &**a {
            Expr::Neg(u) => Some((*f, (**u).clone())),
            _ => None,
        },
        _ => None,
    };
    if !d.current().any(&mut |e| odd(e).is_some()) {
        return Ok(false);
    }
    trial(d, |t| {
        rewrite_all(t, &mut |e, path| {
            let (f, u) = odd(e)?;
            let name = match f {
                Func::Sin => RuleId::SinOfNegation,
                Func::Tan => RuleId::TanOfNegation,
                _ => RuleId::TanhOfNegation,
            };
            Some(step_with(name, path, &[("U", &u)]))
        })
    })
}

/// `tan(u)` → `sin(u)/cos(u)` and `sin(2u)`, `cos(2u)` by the double-angle formulas when
/// sin or cos of `u` occurs too; then, if that is not yet shorter, `sin(u)^2` → `1 − cos(u)^2`.
fn trigonometry(d: &mut Driver) -> Result<bool, EngineError> {
    let e = d.current();
    // A cheap look first: collecting arguments compares whole terms.
    let doubles = |t: &Expr| match t {
        Expr::Call(Func::Tan, _) => true,
        Expr::Call(Func::Sin | Func::Cos, a) => {
            matches!(&**a, Expr::Mul(fs) if fs.len() == 2 && fs[0] == Expr::int(2))
        }
        _ => false,
    };
    if !e.any(&mut |t| doubles(t)) {
        return Ok(false);
    }
    let (sin, cos, tan) =
        (arguments(e, Func::Sin), arguments(e, Func::Cos), arguments(e, Func::Tan));
    let plain = |u: &Expr| sin.contains(u) || cos.contains(u);
    let half = |a: &Expr| match a {
        Expr::Mul(fs) if fs.len() == 2 && fs[0] == Expr::int(2) => Some(fs[1].clone()),
        _ => None,
    };
    let tan: Vec<Expr> = tan.into_iter().filter(|u| plain(u)).collect();
    let doubled: Vec<Expr> = sin.iter().chain(&cos).filter_map(half).filter(|u| plain(u)).collect();
    if tan.is_empty() && doubled.is_empty() {
        return Ok(false);
    }
    let mut pick = |e: &Expr, path: &[usize]| {
        let (name, u) = match e {
            Expr::Call(Func::Tan, u) if tan.contains(u) => (RuleId::TanAsQuotient, (**u).clone()),
            Expr::Call(f @ (Func::Sin | Func::Cos), a) => {
                let u = half(a).filter(|u| doubled.contains(u))?;
                let name =
                    if *f == Func::Sin { RuleId::SinDoubleAngle } else { RuleId::CosDoubleAngle };
                (name, u)
            }
            _ => return None,
        };
        Some(step_with(name, path, &[("U", &u)]))
    };
    let mut once = d.clone();
    if rewrite_all(&mut once, &mut pick).is_err() {
        return Ok(false);
    }
    if trial(d, |t| {
        *t = once.clone();
        Ok(())
    })? {
        return Ok(true);
    }
    trial(d, |t| {
        *t = once;
        tidy(t, &[])?;
        sine_squares(t)
    })
}

/// Every `sin(u)^k` with `k ≥ 2` as `(1 − cos(u)^2)^(k/2)` times what is left.
fn sine_squares(d: &mut Driver) -> Result<(), EngineError> {
    for _ in 0..64 {
        let found = first_match(&d.current().clone(), &mut Vec::new(), &mut |e, path| {
            let Expr::Pow(b, k) = e else { return None };
            let Expr::Call(Func::Sin, u) = &**b else {
                return None;
            };
            let k = k.as_num()?;
            if !k.is_integer() || *k < Rat::from_integer(2.into()) {
                return None;
            }
            let k: i64 = k.to_big().to_integer().try_into().ok()?;
            Some((path.to_vec(), (**u).clone(), k))
        });
        let Some((path, u, k)) = found else {
            return Ok(());
        };
        let (s, c) = (Expr::call(Func::Sin, u.clone()), Expr::call(Func::Cos, u.clone()));
        let square = |e: &Expr| Expr::pow(e.clone(), Expr::int(2));
        let pair = Expr::Add(vec![square(&s), square(&c)].into());
        let inner = Expr::Add(vec![pair, Expr::neg(square(&c))].into());
        let mut factors = vec![if k / 2 == 1 { inner } else { Expr::pow(inner, Expr::int(k / 2)) }];
        if k % 2 == 1 {
            factors.push(s);
        }
        let whole = Expr::mul(factors);
        let mut at = path.clone();
        if k % 2 == 1 {
            at.push(0);
        }
        if k / 2 > 1 {
            at.push(0);
        }
        d.apply(ring_step(path, whole))?;
        at.push(0);
        d.apply(step_with(RuleId::PythagoreanIdentity, &at, &[("U", &u)]))?;
    }
    Ok(())
}

/// `tanh(u)` → `2σ(2u) − 1` when `σ(2u)` occurs too.
fn tanh_via_sigmoid(d: &mut Driver) -> Result<bool, EngineError> {
    let has = |f: Func, e: &Expr| e.any(&mut |t| matches!(t, Expr::Call(g, _) if *g == f));
    if !has(Func::Tanh, d.current()) || !has(Func::Sigmoid, d.current()) {
        return Ok(false);
    }
    let sig = arguments(d.current(), Func::Sigmoid);
    let tanh: Vec<Expr> = arguments(d.current(), Func::Tanh)
        .into_iter()
        .filter(|u| {
            let double = Expr::Mul(vec![Expr::int(2), u.clone()].into());
            sig.iter().any(|v| *v == double || ring_equal(v, &double).unwrap_or(false))
        })
        .collect();
    if tanh.is_empty() {
        return Ok(false);
    }
    trial(d, |t| {
        rewrite_all(t, &mut |e, path| match e {
            Expr::Call(Func::Tanh, u) if tanh.contains(u) => {
                Some(step_with(RuleId::TanhViaSigmoid, path, &[("U", u)]))
            }
            _ => None,
        })
    })
}

/// A square taken out of a square root: `sqrt(u^n)` → `u^m` or `u^m*sqrt(u)`, and
/// `sqrt(4*v)` → `2*sqrt(v)` (for positive `u`, `v`); then `u` → `sqrt(u)^2` where `u`
/// stands beside `sqrt(u)`, so that `3*x^2/(2*sqrt(x^3))` becomes `3/2*sqrt(x)`.
fn roots(d: &mut Driver) -> Result<bool, EngineError> {
    let ctx = d.ctx().clone();
    let positive = |e: &Expr| decide(&ctx, &Condition::Positive(e.clone()), &[]) == Verdict::Holds;
    let current = d.current();
    if !current.any(&mut |e| matches!(e, Expr::Call(Func::Sqrt, _))) {
        return Ok(false);
    }
    let beside = arguments(current, Func::Sqrt).into_iter().any(|u| {
        u.as_num().is_none() && (bare(current, &u).is_some() || negated_bare(current, &u).is_some())
    });
    if !beside && !current.any(&mut |e| square_out(e, &positive).is_some()) {
        return Ok(false);
    }
    trial(d, |t| {
        for _ in 0..16 {
            let found = first_match(&t.current().clone(), &mut Vec::new(), &mut |e, path| {
                square_out(e, &positive).map(|r| (path.to_vec(), r))
            });
            let Some((path, (root, rest))) = found else {
                break;
            };
            let square = Expr::pow(root.clone(), Expr::int(2));
            let arg: Vec<usize> = path.iter().copied().chain([0]).collect();
            match rest {
                None => {
                    t.apply(ring_step(arg, square))?;
                    t.apply(step_with(RuleId::SqrtOfSquare, &path, &[("U", &root)]))?;
                }
                Some(v) => {
                    t.apply(ring_step(arg, Expr::Mul(vec![square, v.clone()].into())))?;
                    t.apply(step_with(
                        RuleId::SqrtOfSquareTimes,
                        &path,
                        &[("U", &root), ("V", &v)],
                    ))?;
                }
            }
        }
        tidy(t, &[])?;
        squares_beside_roots(t)
    })
}

/// `u` → `sqrt(u)^2` wherever `u` stands beside `sqrt(u)`, outside function calls, and
/// a sum equal to `-u` → `-sqrt(u)^2`: `(tanh(x)^2 - 1)/sqrt(1 - tanh(x)^2)` cancels to
/// `-sqrt(1 - tanh(x)^2)` as `(1 - tanh(x)^2)/sqrt(…)` does to `sqrt(…)`.
fn squares_beside_roots(t: &mut Driver) -> Result<(), EngineError> {
    for u in arguments(t.current(), Func::Sqrt) {
        if u.as_num().is_some() {
            continue;
        }
        for _ in 0..16 {
            let Some(path) = negated_bare(t.current(), &u) else {
                break;
            };
            t.apply(ring_step(path.clone(), Expr::Neg(Arc::new(u.clone()))))?;
            let inner: Vec<usize> = path.into_iter().chain([0]).collect();
            let mut s = step_with(RuleId::SqrtSquared, &inner, &[("U", &u)]);
            s.reversed = true;
            t.apply(s)?;
        }
        for _ in 0..16 {
            let Some(path) = bare(t.current(), &u) else {
                break;
            };
            let mut s = step_with(RuleId::SqrtSquared, &path, &[("U", &u)]);
            s.reversed = true;
            t.apply(s)?;
        }
    }
    Ok(())
}

/// The even part of a power `u^k` written as `abs(u)^2` where `abs(u)` stands in the
/// term too, kept when shorter: `abs(x) + x^2/abs(x)` → `2*abs(x)`, `3*x^3/abs(x)` →
/// `3*x*abs(x)`, `1/abs(x) - abs(x)/x^2` → `0`. (Shortening reads `abs(u)^2` as `u^2`
/// first, so ring arithmetic alone never sees the two as one base.)
fn squares_as_absolute_values(d: &mut Driver) -> Result<bool, EngineError> {
    let current = d.current();
    let bases: Vec<Expr> = arguments(current, Func::Abs)
        .into_iter()
        .filter(|u| u.as_num().is_none() && even_part(current, u).is_some())
        .collect();
    if bases.is_empty() {
        return Ok(false);
    }
    trial(d, |t| {
        for u in &bases {
            for _ in 0..16 {
                let Some((path, k)) = even_part(t.current(), u) else { break };
                // `u^k` = `u^r*(u^2)^q` with `r` in {-1, 0, 1}; then `u^2` → `abs(u)^2`.
                let (q, r) = (k / 2, k % 2);
                let square = Expr::pow(u.clone(), Expr::int(2));
                let squares = match q {
                    1 => square,
                    _ => Expr::pow(square, Expr::int(q)),
                };
                let (new, mut at) = match r {
                    0 => (squares, path.clone()),
                    _ => {
                        let odd = match r {
                            1 => u.clone(),
                            _ => Expr::pow(u.clone(), Expr::int(r)),
                        };
                        (Expr::Mul(vec![odd, squares].into()), [path.clone(), vec![1]].concat())
                    }
                };
                if q != 1 {
                    at.push(0);
                }
                if t.at(&path) != Some(&new) {
                    t.apply(ring_step(path, new))?;
                }
                let mut s = step_with(RuleId::AbsSquared, &at, &[("U", u)]);
                s.reversed = true;
                t.apply(s)?;
            }
        }
        Ok(())
    })
}

/// `u/abs(u)` → `2*step(u) - 1` everywhere, kept when shorter: the derivative of
/// `max(x, 0)`, `(1 + x/abs(x))/2`, is `step(x)`; that of `abs(x)`, `x/abs(x)`, stays.
fn signs_as_steps(d: &mut Driver) -> Result<bool, EngineError> {
    let sign_of = |e: &Expr| match e {
        Expr::Div(u, a) if matches!(&**a, Expr::Call(Func::Abs, v) if v == u) => {
            Some((**u).clone())
        }
        _ => None,
    };
    if !d.current().any(&mut |e| sign_of(e).is_some()) {
        return Ok(false);
    }
    trial(d, |t| {
        rewrite_all(t, &mut |e, path| {
            sign_of(e).map(|u| step_with(RuleId::SignAsStep, path, &[("U", &u)]))
        })
    })
}

/// The path and exponent of a power `u^k` with `|k| ≥ 2` outside every function call.
fn even_part(e: &Expr, u: &Expr) -> Option<(Vec<usize>, i64)> {
    outside_calls(e, &mut Vec::new(), &mut |t, path| match t {
        Expr::Pow(b, k) if **b == *u => {
            let k = k.as_num()?.as_i64()?;
            (k.abs() >= 2 && k.abs() <= MAX_POWER_SHIFT).then(|| (path.to_vec(), k))
        }
        _ => None,
    })
}

/// A sum whose terms share a square root, over a common denominator with `sqrt(u)^2` → `u`
/// in the numerator: `1/sqrt(u) - x^2/sqrt(u)^3` → `(u - x^2)/sqrt(u)^3`, which cancels to
/// `1/sqrt(u)^3` for `u = x^2 + 1`; then `u` beside `sqrt(u)` as `sqrt(u)^2` if shorter.
fn roots_over_common_denominator(d: &mut Driver) -> Result<bool, EngineError> {
    // Where a definition is a root (`r = sqrt(s)`), roots are kept as `r^2`, not traded
    // for their radicands, unless terms combine: the definitions fold back afterwards.
    let named_roots =
        d.ctx().definitions.iter().any(|def| matches!(def.body, Expr::Call(Func::Sqrt, _)));
    let find = |e: &Expr| {
        first_match(e, &mut Vec::new(), &mut |e, path| {
            root_reducing_fraction(e, named_roots).map(|f| (path.to_vec(), f))
        })
    };
    if !d.current().any(&mut |e| matches!(e, Expr::Call(Func::Sqrt, _)))
        || find(d.current()).is_none()
    {
        return Ok(false);
    }
    trial(d, |t| {
        // Each round reduces the numerator it writes, so a handful of rounds suffices.
        for _ in 0..8 {
            let Some((path, fraction)) = find(t.current()) else {
                break;
            };
            t.ring(&path, fraction)?;
            reduce_root_powers(t, &path)?;
        }
        tidy(t, &[])?;
        trial(t, squares_beside_roots)?;
        Ok(())
    })
}

/// Most terms of a sum put over a common denominator to reduce square roots.
const MAX_ROOT_SUM_TERMS: usize = 6;

/// For a sum whose terms share a square root: the sum as one fraction, if its numerator
/// has a square root to the power two or more whose radicand then combines with the
/// other terms (`sqrt(u)^2 - x^2` over `sqrt(u)^3`, with `u = x^2 + 1`), or, unless roots
/// are `named`, in any case (`3*sqrt(x) + 1/sqrt(x)` as `(3*x + 1)/sqrt(x)`; the trial
/// keeps it only where it is smaller).
fn root_reducing_fraction(e: &Expr, named: bool) -> Option<Expr> {
    if !shares_a_root(e) {
        return None;
    }
    let terms = to_terms(e, false).ok()?;
    if !(2..=MAX_ROOT_SUM_TERMS).contains(&terms.len()) {
        return None;
    }
    let (lcd, num) = super::simplify::over_least_common_denominator(&terms);
    let num = to_terms(&to_expr(&num), true).ok()?;
    if num.len() < 2 {
        return None;
    }
    if named && !radicands_combine(&num)? {
        return None;
    }
    let whole = Term::base(to_expr(&num)).mul(&lcd.pow(-1).ok()?);
    Some(term_expr(&whole))
}

/// Whether writing each `sqrt(u)^k` (k ≥ 2) of `num` as `u^(k/2)*sqrt(u)^(k%2)` makes
/// terms combine once multiplied out. Where none do, the reduction only trades
/// `sqrt(u)^2` for `u` and may hide a defined name (`r^2` for `r = sqrt(…)`).
fn radicands_combine(num: &[Term]) -> Option<bool> {
    let mut reduced = Vec::new();
    let mut any_root_power = false;
    for t in num {
        let mut rest = t.clone();
        let mut radicand_powers = Vec::new();
        for f in &mut rest.factors {
            if let (Expr::Call(Func::Sqrt, u), 2..) = (&f.base, f.exp) {
                radicand_powers.push(match f.exp / 2 {
                    1 => (**u).clone(),
                    half => Expr::pow((**u).clone(), Expr::int(half)),
                });
                f.exp %= 2;
            }
        }
        if radicand_powers.is_empty() {
            reduced.push(t.clone());
            continue;
        }
        any_root_power = true;
        rest.factors.retain(|f| f.exp != 0);
        radicand_powers.push(term_expr(&rest));
        reduced.extend(to_terms(&Expr::mul(radicand_powers), true).ok()?);
    }
    let multiplied_out = reduced.len();
    Some(any_root_power && combine(reduced).len() < multiplied_out)
}

/// Whether `e` is a sum with the same square root (of a non-number) in two of its terms,
/// outside function calls.
fn shares_a_root(e: &Expr) -> bool {
    let Expr::Add(ts) = e else { return false };
    let mut seen: Vec<&Expr> = Vec::new();
    for t in ts.iter() {
        let mut mine = Vec::new();
        ring_level_roots(t, &mut mine);
        if mine.iter().any(|u| seen.contains(u)) {
            return true;
        }
        seen.extend(mine);
    }
    false
}

/// The arguments of the square roots in the ring region at `e`.
fn ring_level_roots<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::Call(Func::Sqrt, u) if u.as_num().is_none() => {
            if !out.contains(&&**u) {
                out.push(u);
            }
        }
        Expr::Add(_) | Expr::Mul(_) | Expr::Div(_, _) | Expr::Neg(_) | Expr::Pow(_, _) => {
            for c in e.children() {
                ring_level_roots(c, out);
            }
        }
        _ => {}
    }
}

/// Every `sqrt(u)^k` with `k ≥ 2` in a numerator below `at` as `u` times what is left, by
/// `sqrt-squared`: `sqrt(u)^3` → `sqrt(u)^2*sqrt(u)` → `u*sqrt(u)`.
fn reduce_root_powers(t: &mut Driver, at: &[usize]) -> Result<(), EngineError> {
    for _ in 0..64 {
        let Some(sub) = t.at(at) else {
            return Ok(());
        };
        let Some((path, u, k)) = numerator_root_power(sub, &mut at.to_vec(), false) else {
            return Ok(());
        };
        let root = Expr::call(Func::Sqrt, u.clone());
        let mut square = path.clone();
        if k > 2 {
            let rest = match k {
                3 => root.clone(),
                _ => Expr::pow(root.clone(), Expr::int(k - 2)),
            };
            let split = Expr::Mul(vec![Expr::pow(root, Expr::int(2)), rest].into());
            t.ring(&path, split)?;
            square.push(0);
        }
        t.apply(step_with(RuleId::SqrtSquared, &square, &[("U", &u)]))?;
    }
    Ok(())
}

/// Highest power of a square root reduced at once.
const MAX_ROOT_POWER: i64 = 64;

/// The first `sqrt(u)^k` with `k ≥ 2` of the ring region at `e` that is not under a
/// division bar: its path, `u` and `k`.
fn numerator_root_power(
    e: &Expr,
    path: &mut Vec<usize>,
    in_denominator: bool,
) -> Option<(Vec<usize>, Expr, i64)> {
    let power = |k: &Expr| -> Option<i64> {
        let k = k.as_num().filter(|k| k.is_integer())?;
        k.to_big().to_integer().try_into().ok()
    };
    let children: Vec<(usize, bool)> = match e {
        Expr::Pow(b, k) => {
            let k = power(k)?;
            if let Expr::Call(Func::Sqrt, u) = &**b {
                return ((2..=MAX_ROOT_POWER).contains(&k) && !in_denominator)
                    .then(|| (path.clone(), (**u).clone(), k));
            }
            if k < 1 {
                return None;
            }
            vec![(0, in_denominator)]
        }
        Expr::Add(ts) => (0..ts.len()).map(|i| (i, in_denominator)).collect(),
        Expr::Mul(fs) => (0..fs.len()).map(|i| (i, in_denominator)).collect(),
        Expr::Neg(_) => vec![(0, in_denominator)],
        Expr::Div(_, _) => vec![(0, in_denominator), (1, !in_denominator)],
        _ => return None,
    };
    let kids = e.children();
    for (i, below) in children {
        path.push(i);
        let found = numerator_root_power(kids.clone().nth(i)?, path, below);
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// For `sqrt(a)` with a square in `a`: the square's root and what is left under the root.
fn square_out(e: &Expr, positive: &dyn Fn(&Expr) -> bool) -> Option<(Expr, Option<Expr>)> {
    let Expr::Call(Func::Sqrt, a) = e else {
        return None;
    };
    match &**a {
        Expr::Pow(b, k) => {
            let k = k.as_num()?;
            let k: i64 = k.is_integer().then(|| k.to_big().to_integer().try_into().ok())??;
            // `sqrt(x^2)` is `|x|`: an odd power under an even root stays unless its base
            // is known positive (odd powers and `4*v` under the root are signed by the root).
            if !(2..=64).contains(&k) || (k % 4 == 2 && !positive(b)) {
                return None;
            }
            let root =
                if k / 2 == 1 { (**b).clone() } else { Expr::pow((**b).clone(), Expr::int(k / 2)) };
            Some((root, (k % 2 == 1).then(|| (**b).clone())))
        }
        Expr::Mul(fs) => {
            let c = fs.first()?.as_num()?;
            let root = square_root(c).filter(|r| *r != Rat::from_integer(1.into()))?;
            Some((Expr::Num(root), Some(Expr::mul(fs[1..].to_vec()))))
        }
        _ => None,
    }
}

/// The path of a sum equal to `-u` (by ring arithmetic, with as many terms as the sum
/// `u`) outside every function call.
fn negated_bare(e: &Expr, u: &Expr) -> Option<Vec<usize>> {
    let Expr::Add(us) = u else { return None };
    outside_calls(e, &mut Vec::new(), &mut |t, path| match t {
        Expr::Add(ts) if ts.len() == us.len() => {
            let sum = Expr::Add(vec![t.clone(), u.clone()].into());
            ring_equal(&sum, &Expr::int(0)).unwrap_or(false).then(|| path.to_vec())
        }
        _ => None,
    })
}

/// The path of an occurrence of `u` outside every function call.
fn bare(e: &Expr, u: &Expr) -> Option<Vec<usize>> {
    outside_calls(e, &mut Vec::new(), &mut |t, path| (t == u).then(|| path.to_vec()))
}

/// [`first_match`] that does not look inside calls, sums and derivatives (it still
/// offers them to `pick`).
fn outside_calls<T>(
    e: &Expr,
    path: &mut Vec<usize>,
    pick: &mut dyn FnMut(&Expr, &[usize]) -> Option<T>,
) -> Option<T> {
    let descend = |t: &Expr| !matches!(t, Expr::Call(..) | Expr::Sum(_) | Expr::D(..));
    first_match_below(e, path, &descend, pick)
}

/// The largest whole part of an exponent that [`powers`] moves between factors.
const MAX_POWER_SHIFT: i64 = 16;

/// A power with a symbolic exponent, read as `b^(s + c)`: its base, the exponent, the
/// rest `s` and the whole part `c` (`g - 1` is `g` and `-1`).
struct SymbolicPower {
    base: Expr,
    exponent: Expr,
    rest: Expr,
    whole: i64,
}

fn symbolic_power(e: &Expr) -> Option<SymbolicPower> {
    let Expr::Pow(b, k) = e else { return None };
    if k.as_num().is_some() {
        return None;
    }
    let (rest, whole) = match &**k {
        Expr::Add(ts) if ts.iter().filter(|t| t.as_num().is_some()).count() == 1 => {
            let c = ts.iter().find_map(|t| t.as_num())?;
            let whole = c.as_i64()?;
            (Expr::add(ts.iter().filter(|t| t.as_num().is_none()).cloned().collect()), whole)
        }
        other => (other.clone(), 0),
    };
    (whole.abs() <= MAX_POWER_SHIFT).then(|| SymbolicPower {
        base: (**b).clone(),
        exponent: (**k).clone(),
        rest,
        whole,
    })
}

/// Powers of one base whose exponents differ by whole numbers, gathered by the law of
/// exponents: `x*x^(g - 2)` → `x^(g - 1)`, and the focal loss's
/// `(1 - p)*(g*p*log(p)*(1 - p)^(g - 1) - (1 - p)^g)` → `(1 - p)^g*(g*p*log(p) - 1 + p)`.
/// Each power of the family is written as its lowest member times the base, as often as
/// needed, so that ring arithmetic sees the base; then the lowest member takes in the
/// factors of the base beside it. Kept when shorter.
fn powers(d: &mut Driver) -> Result<bool, EngineError> {
    let mut found: Vec<SymbolicPower> = Vec::new();
    d.current().any(&mut |e| {
        found.extend(symbolic_power(e));
        false
    });
    let mut changed = false;
    let mut tried: Vec<(&Expr, &Expr)> = Vec::new();
    for p in &found {
        if tried.contains(&(&p.base, &p.rest)) {
            continue;
        }
        tried.push((&p.base, &p.rest));
        let family = || found.iter().filter(|q| q.base == p.base && q.rest == p.rest);
        let Some(lowest) = family().min_by_key(|q| q.whole) else { continue };
        let mut bases = 0;
        d.current().any(&mut |e| {
            bases += usize::from(*e == p.base);
            false
        });
        // Worth a trial when the family has two members, or its base also stands alone.
        if family().count() < 2 && bases <= 1 {
            continue;
        }
        // Below the lowest member by the power of the base the term divides by, so that
        // `x^a/x` cancels to `x^(a - 1)`.
        let divided = divided_power(d.current(), &lowest.base);
        let Some(target) = family_member(lowest, lowest.whole - divided) else { continue };
        changed |= trial(d, |t| {
            split_powers(t, &target)?;
            tidy(t, &[])?;
            merge_powers(t, &target)?;
            tidy(t, &[])?;
            shorten(t)?;
            // A member left as a power (`(x^(g - 2))^2`) is not the textbook form.
            let nested = |e: &Expr| matches!(e, Expr::Pow(b, _) if in_family(b, &target).is_some());
            match t.current().any(&mut |e| nested(e)) {
                true => Err(EngineError::Unsupported("a power of a power".into())),
                false => Ok(()),
            }
        })?;
    }
    Ok(changed)
}

/// The member of the family of `p` whose exponent has the whole part `whole`.
fn family_member(p: &SymbolicPower, whole: i64) -> Option<SymbolicPower> {
    let exponent = Expr::add(vec![p.rest.clone(), Expr::int(whole)]);
    let exponent = super::simplify::without_trivia(&exponent);
    let q = symbolic_power(&Expr::pow(p.base.clone(), exponent))?;
    (q.rest == p.rest && q.whole == whole).then_some(q)
}

/// `k` when `f` is `base^k` for a machine integer `k` (`base` itself is `base^1`).
fn integer_power_of(f: &Expr, base: &Expr) -> Option<i64> {
    match f {
        _ if f == base => Some(1),
        Expr::Pow(b, k) if **b == *base => k.as_num()?.as_i64(),
        _ => None,
    }
}

/// The highest whole power of `base` that `e` divides by somewhere (`x` in `a/(x*y)`,
/// 2 in `x^-2`), at most [`MAX_POWER_SHIFT`].
fn divided_power(e: &Expr, base: &Expr) -> i64 {
    let power = |f: &Expr| integer_power_of(f, base).unwrap_or(0);
    let mut most = 0;
    e.any(&mut |t| {
        let here = match t {
            Expr::Div(_, den) => match &**den {
                Expr::Mul(fs) => fs.iter().map(power).max().unwrap_or(0),
                other => power(other),
            },
            Expr::Pow(b, _) if **b == *base => -power(t),
            _ => 0,
        };
        most = most.max(here);
        false
    });
    most.min(MAX_POWER_SHIFT)
}

/// Whether `e` is a power of the family of `lowest` (same base, same symbolic exponent).
fn in_family(e: &Expr, lowest: &SymbolicPower) -> Option<SymbolicPower> {
    symbolic_power(e).filter(|p| p.base == lowest.base && p.rest == lowest.rest)
}

/// `b^(e + 1)` → `b^e*b`, until every power of the family is its lowest member.
fn split_powers(t: &mut Driver, lowest: &SymbolicPower) -> Result<(), EngineError> {
    for _ in 0..256 {
        let found = first_match(&t.current().clone(), &mut Vec::new(), &mut |e, path| {
            let p = in_family(e, lowest).filter(|p| p.whole > lowest.whole)?;
            Some((path.to_vec(), p.exponent))
        });
        let Some((path, exponent)) = found else {
            return Ok(());
        };
        let less = super::simplify::without_trivia(&Expr::add(vec![exponent, Expr::int(-1)]));
        let at: Vec<usize> = path.iter().copied().chain([1]).collect();
        t.apply(ring_step(at, Expr::Add(vec![less.clone(), Expr::int(1)].into())))?;
        t.apply(step_with(RuleId::LawOfExponents, &path, &[("U", &lowest.base), ("A", &less)]))?;
    }
    Ok(())
}

/// `b^e*b` → `b^(e + 1)` wherever a product holds a power of the family beside its base
/// or a whole power of the base.
fn merge_powers(t: &mut Driver, lowest: &SymbolicPower) -> Result<(), EngineError> {
    let base = &lowest.base;
    let whole_power =
        |f: &Expr| integer_power_of(f, base).filter(|k| (1..=MAX_POWER_SHIFT).contains(k));
    for _ in 0..256 {
        let found = first_match(&t.current().clone(), &mut Vec::new(), &mut |e, path| {
            let Expr::Mul(fs) = e else { return None };
            let at = fs.iter().position(|f| in_family(f, lowest).is_some())?;
            let other = fs.iter().position(|f| whole_power(f).is_some())?;
            Some((path.to_vec(), fs.to_vec(), at, other, whole_power(&fs[other])?))
        });
        let Some((path, fs, at, other, n)) = found else {
            return Ok(());
        };
        let Expr::Pow(_, exponent) = &fs[at] else { return Ok(()) };
        let exponent = (**exponent).clone();
        let pair = Expr::Mul(vec![fs[at].clone(), base.clone()].into());
        let mut rest: Vec<Expr> = fs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at && *i != other)
            .map(|(_, f)| f.clone())
            .collect();
        match n {
            1 => {}
            2 => rest.push(base.clone()),
            _ => rest.push(Expr::pow(base.clone(), Expr::int(n - 1))),
        }
        let (whole, inner) = led_by(pair, rest, &path);
        t.apply(ring_step(path, whole))?;
        let mut s = step_with(RuleId::LawOfExponents, &inner, &[("U", base), ("A", &exponent)]);
        s.reversed = true;
        t.apply(s)?;
        // The new exponent's numbers added: a tidying step that joins the line.
        let at: Vec<usize> = inner.iter().copied().chain([1]).collect();
        let Some(sum) = t.at(&at).cloned() else { return Ok(()) };
        t.ring(&at, super::simplify::without_trivia(&sum))?;
    }
    Ok(())
}
