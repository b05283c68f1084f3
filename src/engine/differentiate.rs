//! Differentiation: rewrite each innermost `D(f, x)` with the rule its shape calls for.

use super::{Driver, EngineError};
use crate::expr::{Expr, Index};
use crate::kernel::{decide, Step, Verdict};
use crate::rules::{Binding, Condition, RuleId};
use crate::terms::ExprExt;
use std::collections::HashSet;
use std::sync::Arc;

/// A step with term metavariables bound.
pub fn step_with(rule: RuleId, path: &[usize], terms: &[(&str, &Expr)]) -> Step {
    let mut s = rule.step(path.to_vec());
    s.binding = Binding {
        terms: terms.iter().map(|(k, v)| (k.to_string(), (*v).clone())).collect(),
        ..Binding::default()
    };
    s
}

/// Path to the first `D(f, x)` (pre-order) whose `f` has no derivative inside. `free`
/// remembers shared parts known to hold no derivative, by address: a product's or sum's
/// list and a call's argument. Every term of a proof stays alive while it is built, so an
/// address met in one is never reused for another part (the search costs the changed
/// path, not the whole term, at each step).
fn innermost_derivative(e: &Expr, free: &mut HashSet<usize>) -> Option<Vec<usize>> {
    fn key(e: &Expr) -> Option<usize> {
        match e {
            Expr::Add(xs) | Expr::Mul(xs) => Some(xs.as_ptr() as usize),
            Expr::Call(_, a) => Some(Arc::as_ptr(a) as usize),
            _ => None,
        }
    }
    fn go(e: &Expr, path: &mut Vec<usize>, free: &mut HashSet<usize>) -> bool {
        let key = key(e);
        if key.is_some_and(|k| free.contains(&k)) {
            return false;
        }
        for (i, c) in e.children().enumerate() {
            path.push(i);
            if go(c, path, free) {
                return true;
            }
            path.pop();
        }
        let found = matches!(e, Expr::D(_, _));
        if let (Some(k), false) = (key, found) {
            free.insert(k);
        }
        found
    }
    let mut path = Vec::new();
    go(e, &mut path, free).then_some(path)
}

/// Apply derivative rules to the innermost layer: while a derivative lies inside another
/// (a second derivative), only until none does, so the inner one can be simplified before
/// the outer one differentiates it; otherwise until no `D` is left.
pub fn differentiate_layer(d: &mut Driver) -> Result<(), EngineError> {
    let nested = |e: &Expr| {
        e.any(&mut |t| matches!(t, Expr::D(f, _) if f.any(&mut |u| matches!(u, Expr::D(..)))))
    };
    let layered = nested(d.current());
    let mut free = HashSet::new();
    while let Some(path) = innermost_derivative(d.current(), &mut free) {
        if layered && !nested(d.current()) {
            break;
        }
        differentiate_at(d, &path)?;
    }
    Ok(())
}

fn free_of(d: &Driver, x: &Expr, e: &Expr) -> bool {
    decide(d.ctx(), &Condition::FreeOf(x.clone(), e.clone()), &[]) == Verdict::Holds
}

/// Apply the derivative rule the derivative at `path` calls for, then clear the
/// trivialities it leaves (`·1`, `+ 0`, `x^(2 - 1)`) around it.
fn differentiate_at(d: &mut Driver, path: &[usize]) -> Result<(), EngineError> {
    apply_derivative_rule(d, path)?;
    super::simplify::clear_trivia(d, path)
}

/// The most factors of one product the product rule differentiates: its result has the
/// square of that many.
pub const MAX_PRODUCT_RULE_FACTORS: usize = 500;

fn apply_derivative_rule(d: &mut Driver, path: &[usize]) -> Result<(), EngineError> {
    let Some(Expr::D(f, x)) = d.at(path).cloned() else {
        return Err(EngineError::Unsupported("expected a derivative".into()));
    };
    let (f, x) = (Arc::unwrap_or_clone(f), Arc::unwrap_or_clone(x));
    let inner: Vec<usize> = path.iter().copied().chain([0]).collect();
    if d.ctx().is_defined(&f) && f.variable_name() != x.variable_name() {
        // A name kept folded for an earlier result: that result, else its definition.
        if super::lemmas::use_one(d, path)? {
            return Ok(());
        }
        let intermediate = f.variable_name().is_some_and(|n| d.intermediates.contains(n));
        if intermediate && super::lemmas::derive_in_place(d, path)? {
            return Ok(());
        }
        return super::fold::unfold_all(d, &inner);
    }
    if f.is_variable() {
        return d.apply(RuleId::DerivativeOfVariable.step(path.to_vec()));
    }
    if free_of(d, &x, &f) {
        return d.apply(step_with(RuleId::DerivativeOfConstant, path, &[("C", &f), ("X", &x)]));
    }
    match &f {
        Expr::Add(_) => d.apply(RuleId::SumRule.step(path.to_vec())),
        Expr::Neg(u) => d.apply(step_with(RuleId::NegationRule, path, &[("U", u), ("X", &x)])),
        Expr::Mul(fs) => {
            let (consts, vars): (Vec<&Expr>, Vec<&Expr>) =
                fs.iter().partition(|g| free_of(d, &x, g));
            match (consts.len(), fs.len()) {
                // The product rule writes n factors n times; past this the derivative (and
                // the memory to reach it) is beyond any writeup.
                (0, n) if n > MAX_PRODUCT_RULE_FACTORS => Err(EngineError::TooLarge(format!(
                    "the product rule on {n} factors would write {} factors (at most {MAX_PRODUCT_RULE_FACTORS} factors are differentiated at once)",
                    n * n
                ))),
                (0, _) => d.apply(RuleId::ProductRule.step(path.to_vec())),
                (1, 2) if free_of(d, &x, &fs[0]) => d.apply(step_with(
                    RuleId::ConstantFactor,
                    path,
                    &[("C", &fs[0]), ("U", &fs[1]), ("X", &x)],
                )),
                (1, 2) => d.apply(step_with(
                    RuleId::ConstantFactorRight,
                    path,
                    &[("U", &fs[0]), ("C", &fs[1]), ("X", &x)],
                )),
                _ => {
                    // Group the constant factors in front, then take them out.
                    let c = Expr::mul(consts.into_iter().cloned().collect());
                    let u = Expr::mul(vars.into_iter().cloned().collect());
                    d.ring(&inner, Expr::Mul(vec![c.clone(), u.clone()].into()))?;
                    d.apply(step_with(
                        RuleId::ConstantFactor,
                        path,
                        &[("C", &c), ("U", &u), ("X", &x)],
                    ))
                }
            }
        }
        Expr::Div(u, v) => {
            if free_of(d, &x, v) {
                d.apply(step_with(RuleId::ConstantDivisor, path, &[("U", u), ("C", v), ("X", &x)]))
            } else {
                d.apply(step_with(RuleId::QuotientRule, path, &[("U", u), ("V", v), ("X", &x)]))
            }
        }
        Expr::Pow(u, k) => match k.as_num() {
            Some(r) if r.is_integer() && r.is_positive() => {
                d.apply(step_with(RuleId::PowerRule, path, &[("U", u), ("N", k), ("X", &x)]))
            }
            Some(r) if r.is_integer() => {
                d.apply(step_with(RuleId::PowerRuleInteger, path, &[("U", u), ("N", k), ("X", &x)]))
            }
            _ if free_of(d, &x, k) => {
                d.apply(step_with(RuleId::PowerRuleReal, path, &[("U", u), ("C", k), ("X", &x)]))
            }
            _ => d.apply(step_with(RuleId::PowerAsExp, &inner, &[("U", u), ("V", k)])),
        },
        Expr::Call(func, u) => {
            let rule = crate::functions::spec(*func).derivative;
            let applied = d.apply(step_with(rule, path, &[("U", u), ("X", &x)]));
            if applied.is_ok() {
                return applied;
            }
            // An argument constant only once simplified (`abs(x - x)`), where the rule's
            // condition fails: simplified, the call is a constant.
            let argument: Vec<usize> = inner.iter().copied().chain([0]).collect();
            let simplified = super::algebra::to_terms(u, true).map(|t| super::algebra::to_expr(&t));
            match simplified {
                Ok(c) if c != **u && free_of(d, &x, &c) => {
                    d.ring(&argument, c)?;
                    apply_derivative_rule(d, path)
                }
                _ => applied,
            }
        }
        Expr::Sum(s) => {
            let mut s = s.clone();
            if x.free_indices().contains(&s.index) {
                // The variable mentions the bound index's name: rename the bound index first.
                let mut avoid = crate::terms::taken_names(d.ctx(), &f);
                avoid.extend(x.free_indices());
                let fresh = crate::terms::reader_index(&s.index, &avoid);
                let renamed = Arc::new(crate::expr::Sum {
                    body: Arc::new(s.body.subst_index(&s.index, &Index::Name(fresh.clone()))),
                    index: fresh,
                    ..crate::expr::Sum::clone(&s)
                });
                let mut step = RuleId::RenameBoundIndex.step(inner.clone());
                step.replacement = Some(Expr::Sum(renamed.clone()));
                d.apply(step)?;
                s = renamed;
            }
            let mut step = step_with(RuleId::DerivativeIntoSum, path, &[("U", &s.body), ("X", &x)]);
            step.binding.indices.insert("k".into(), Index::Name(s.index.clone()));
            step.binding.bounds.insert("A".into(), s.lo.clone());
            step.binding.bounds.insert("B".into(), s.hi.clone());
            d.apply(step)
        }
        other => Err(EngineError::Unsupported(format!("cannot differentiate `{other}`"))),
    }
}
