//! Definitions: unfold every defined name before differentiating, and fold the result
//! back into the user's names wherever that is shorter (`exp(z_i)/sum_k(exp(z_k))` → `a_i`).

use super::algebra::{factor, to_expr, to_terms, Factor, Term};
use super::differentiate::step_with;
use super::simplify::candidates;
use super::{Driver, EngineError};
use crate::expr::{Context, Expr, Func, Index};
use crate::kernel::{rewrite, Step};
use num_traits::Signed;
use std::collections::BTreeSet;

/// Most index assignments tried when looking for an instance of a definition.
const MAX_ASSIGNMENTS: usize = 64;

fn defined_name_path(ctx: &Context, e: &Expr) -> Option<Vec<usize>> {
    if ctx.is_defined(e) {
        return Some(vec![]);
    }
    for (i, c) in e.children().into_iter().enumerate() {
        if let Some(mut p) = defined_name_path(ctx, c) {
            p.insert(0, i);
            return Some(p);
        }
    }
    None
}

fn name_of(e: &Expr) -> String {
    match e {
        Expr::Sym(s) | Expr::Idx(s, _) => s.clone(),
        _ => String::new(),
    }
}

fn unfold_step(ctx: &Context, e: &Expr, path: Vec<usize>) -> Step {
    let mut step = Step::new("unfold-definition", path);
    step.uses = e.at(&step.position).map(name_of);
    let _ = ctx;
    step
}

/// Unfold every defined name below `path`, in the proof.
pub fn unfold_all(d: &mut Driver, path: &[usize]) -> Result<(), EngineError> {
    while let Some(rel) = d.at(path).and_then(|e| defined_name_path(d.ctx(), e)) {
        let full: Vec<usize> = path.iter().copied().chain(rel).collect();
        let step = unfold_step(d.ctx(), d.current(), full);
        d.apply(step)?;
    }
    Ok(())
}

/// `e` with every defined name unfolded, as the kernel unfolds it.
pub fn unfold_all_expr(ctx: &Context, e: &Expr) -> Option<Expr> {
    let mut e = e.clone();
    for _ in 0..10_000 {
        let Some(path) = defined_name_path(ctx, &e) else {
            return Some(e);
        };
        let step = unfold_step(ctx, &e, path);
        e = rewrite(ctx, &e, &step).ok()?.0;
    }
    None
}

/// Every assignment of `values` to `arity` formal indices, up to a bound.
fn assignments(values: &[Index], arity: usize) -> Vec<Vec<Index>> {
    let mut out = vec![vec![]];
    for _ in 0..arity {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .take(MAX_ASSIGNMENTS)
            .collect();
    }
    out
}

fn index_values(e: &Expr) -> Vec<Index> {
    // Bound indices too: a definition may fold inside a sum (`p_i` in `sum_i(x_i*p_i)`).
    let mut vals: BTreeSet<Index> = e.all_index_names().into_iter().map(Index::Name).collect();
    e.any(&mut |t| {
        if let Expr::Idx(_, ix) = t {
            vals.extend(ix.iter().filter(|i| matches!(i, Index::Int(_))).cloned());
        }
        false
    });
    vals.into_iter().collect()
}

/// Instances of every definition over the given index values, with their full unfoldings.
fn instances(ctx: &Context, values: &[Index]) -> Vec<(Expr, Expr)> {
    let mut out = Vec::new();
    for def in &ctx.definitions {
        let names: Vec<Expr> = match &def.name {
            Expr::Sym(_) => vec![def.name.clone()],
            Expr::Idx(n, formal) => assignments(values, formal.len())
                .into_iter()
                .map(|ix| Expr::Idx(n.clone(), ix))
                .collect(),
            _ => vec![],
        };
        for name in names {
            if let Some(body) = unfold_all_expr(ctx, &name) {
                out.push((name, body));
            }
        }
    }
    out
}

/// Fold definitions into `e`: whole subterms, and monomial definitions inside products.
pub fn fold_expr(ctx: &Context, e: &Expr) -> Expr {
    let insts = instances(ctx, &index_values(e));
    if insts.is_empty() {
        return e.clone();
    }
    fold_with(&insts, e, 0)
}

fn fold_with(insts: &[(Expr, Expr)], e: &Expr, depth: usize) -> Expr {
    if depth > crate::expr::MAX_DEPTH {
        return e.clone();
    }
    if let Some((name, _)) = insts.iter().find(|(_, body)| body == e) {
        return name.clone();
    }
    let e = e.map_children(|c| fold_with(insts, c, depth + 1));
    if !matches!(
        e,
        Expr::Mul(_) | Expr::Div(_, _) | Expr::Add(_) | Expr::Neg(_)
    ) {
        return e;
    }
    let Ok(mut terms) = to_terms(&e, false) else {
        return e;
    };
    // A definition whose body is a sum folds where its terms stand among a sum's terms:
    // `sum_k(W_{p,k}*x_k) + b_p - t_p` with `y_p = sum_k(W_{p,k}*x_k) + b_p` is `y_p - t_p`.
    if matches!(e, Expr::Add(_)) {
        for (name, body) in insts {
            let Ok(parts) = to_terms(body, false) else {
                continue;
            };
            if parts.len() < 2 || parts.len() >= terms.len() + 1 {
                continue;
            }
            if let Some(rest) = remove_terms(&terms, &parts) {
                terms = rest;
                terms.insert(0, Term::base(name.clone()));
            }
        }
    }
    let monomials: Vec<(Expr, Term)> = insts
        .iter()
        .filter_map(|(name, body)| match to_terms(body, false) {
            Ok(ts) if ts.len() == 1 && !ts[0].factors.is_empty() => {
                Some((name.clone(), ts[0].clone()))
            }
            _ => None,
        })
        .collect();
    if monomials.is_empty() {
        return to_expr(&terms);
    }
    let folded: Vec<Term> = terms
        .into_iter()
        .map(|t| fold_term(t, &monomials))
        .collect();
    to_expr(&folded)
}

/// `terms` without each of `parts` (same bases and coefficient), if all are there.
fn remove_terms(terms: &[Term], parts: &[Term]) -> Option<Vec<Term>> {
    let mut rest: Vec<Term> = terms.to_vec();
    for p in parts {
        let at = rest
            .iter()
            .position(|t| t.coeff == p.coeff && same_bases(t, p))?;
        rest.remove(at);
    }
    Some(rest)
}

fn same_bases(a: &Term, b: &Term) -> bool {
    a.factors.len() == b.factors.len()
        && a.factors
            .iter()
            .all(|f| b.factors.iter().any(|g| g.key == f.key && g.exp == f.exp))
}

/// Divide out monomial definitions while one divides the term.
fn fold_term(mut t: Term, monomials: &[(Expr, Term)]) -> Term {
    for _ in 0..32 {
        let hit = monomials.iter().find(|(_, m)| divides(m, &t));
        let Some((name, m)) = hit else { break };
        let mut out = Term {
            coeff: &t.coeff / &m.coeff,
            factors: t.factors.clone(),
        };
        for f in &m.factors {
            if let Some(g) = out.factors.iter_mut().find(|g| g.key == f.key) {
                g.exp -= f.exp;
            }
        }
        out.factors.retain(|g| g.exp != 0);
        out.factors.push(Factor {
            base: name.clone(),
            exp: 1,
            key: name.clone(),
        });
        t = out;
    }
    t
}

fn divides(m: &Term, t: &Term) -> bool {
    m.factors.iter().all(|f| {
        t.factors.iter().any(|g| {
            g.key == f.key && g.exp.signum() == f.exp.signum() && g.exp.abs() >= f.exp.abs()
        })
    })
}

/// The last pass: pick the smallest form with definitions folded, prove it, and write
/// `exp(v*log(u))` back as `u^v`.
pub fn finish(d: &mut Driver) -> Result<(), EngineError> {
    let e = d.current().clone();
    let ctx = d.ctx().clone();
    let mut cands: Vec<Expr> = Vec::new();
    if !ctx.definitions.is_empty() {
        for c in std::iter::once(e.clone()).chain(candidates(&e)) {
            let folded = fold_expr(&ctx, &c);
            if let Ok(terms) = to_terms(&folded, false) {
                if let Some(f) = factor(&terms) {
                    cands.push(f);
                }
            }
            cands.extend(candidates(&folded));
            cands.push(folded);
        }
    }
    cands.sort_by_key(Expr::size);
    for c in cands {
        if c.size() >= e.size() {
            break;
        }
        let mut trial = d.clone();
        if prove_folded(&mut trial, &c).is_ok() {
            *d = trial;
            break;
        }
    }
    unpower(d)?;
    rename_clashing_sums(d)
}

/// A sum whose bound index is also free outside it gets a fresh name, for the reader:
/// `(r*delta(i,j) - …)/sum_k(x_k^2)`, not `…/sum_i(x_i^2)` beside a free `i`.
fn rename_clashing_sums(d: &mut Driver) -> Result<(), EngineError> {
    let free = d.current().free_indices();
    for _ in 0..64 {
        let Some(path) = first_sum_binding(d.current(), &free, &mut Vec::new()) else {
            return Ok(());
        };
        let Some(Expr::Sum(s)) = d.at(&path).cloned() else {
            return Ok(());
        };
        let mut avoid = d.current().all_index_names();
        avoid.extend(free.iter().cloned());
        // Prefer a declared index of the same range, so the sum prints without bounds.
        let declared = d
            .ctx()
            .indices
            .iter()
            .filter(|decl| decl.lo == s.lo && decl.hi == s.hi)
            .flat_map(|decl| decl.names.iter())
            .find(|n| !avoid.contains(*n))
            .cloned();
        let fresh = declared.unwrap_or_else(|| {
            crate::expr::fresh_index(if s.index == "k" { "m" } else { "k" }, &avoid)
        });
        let renamed = crate::expr::Sum {
            body: std::sync::Arc::new(s.body.subst_index(&s.index, &Index::Name(fresh.clone()))),
            index: fresh,
            ..s
        };
        let mut step = Step::new("rename-bound-index", path);
        step.replacement = Some(Expr::Sum(renamed));
        d.apply(step)?;
    }
    Ok(())
}

fn first_sum_binding(
    e: &Expr,
    names: &BTreeSet<String>,
    path: &mut Vec<usize>,
) -> Option<Vec<usize>> {
    if let Expr::Sum(s) = e {
        if names.contains(&s.index) {
            return Some(path.clone());
        }
    }
    for (i, c) in e.children().into_iter().enumerate() {
        path.push(i);
        let found = first_sum_binding(c, names, path);
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Reach `target` (which mentions defined names) from the current term.
fn prove_folded(d: &mut Driver, target: &Expr) -> Result<(), EngineError> {
    let ctx = d.ctx().clone();
    let unfolded = unfold_all_expr(&ctx, target)
        .ok_or_else(|| EngineError::Unsupported("cannot unfold".into()))?;
    d.ring(&[], unfolded)?;
    fold_into(d, target, &mut Vec::new())
}

/// Fold, innermost first, every defined name of `target` at its position.
fn fold_into(d: &mut Driver, target: &Expr, path: &mut Vec<usize>) -> Result<(), EngineError> {
    let ctx = d.ctx().clone();
    if ctx.is_defined(target) {
        // Fold the definitions inside this one's body first.
        let once = rewrite(&ctx, target, &unfold_step(&ctx, target, vec![]))
            .map_err(|reason| EngineError::Refused {
                step: "unfold-definition".into(),
                at: target.to_string(),
                reason,
            })?
            .0;
        fold_into(d, &once, path)?;
        let mut step = Step::new("fold-definition", path.clone());
        step.uses = Some(name_of(target));
        step.replacement = Some(target.clone());
        return d.apply(step);
    }
    for (i, c) in target.children().into_iter().enumerate() {
        path.push(i);
        fold_into(d, c, path)?;
        path.pop();
    }
    Ok(())
}

/// `exp(v*log(u))` → `u^v`, where the kernel accepts it; then tidy, if that is shorter
/// (`2*x^2/x` from `exp(2*log(x))` is `2*x`).
fn unpower(d: &mut Driver) -> Result<(), EngineError> {
    let before = d.proof.steps().len();
    write_powers(d)?;
    if d.proof.steps().len() > before {
        let mut trial = d.clone();
        // `x^-1/x` (from `exp(-log(x))`) reads better as `1/x^2` even at the same size.
        let reciprocal = d.current().any(&mut |e| {
            matches!(e, Expr::Pow(_, k) if k.as_num().is_some_and(|r| r.is_integer() && r.is_negative()))
        });
        if super::simplify::tidy(&mut trial, &[]).is_ok()
            && (trial.current().size() < d.current().size()
                || reciprocal && trial.current().size() == d.current().size())
        {
            *d = trial;
        }
    }
    Ok(())
}

fn write_powers(d: &mut Driver) -> Result<(), EngineError> {
    for _ in 0..64 {
        let hit = find_exp_log(d.current());
        let Some((path, u, v)) = hit else {
            return Ok(());
        };
        let target = Expr::call(
            Func::Exp,
            Expr::Mul(vec![v.clone(), Expr::call(Func::Log, u.clone())]),
        );
        let mut trial = d.clone();
        let ok = trial.ring(&path, target).is_ok() && {
            let mut step = step_with("power-as-exp", &path, &[("U", &u), ("V", &v)]);
            step.reversed = true;
            trial.apply(step).is_ok()
        };
        if !ok {
            return Ok(());
        }
        *d = trial;
    }
    Ok(())
}

/// An `exp(…)` whose argument is one term with a single `log(u)` factor, such as
/// `x*log(x)`, `-x*log(x)` or `log(x)/x`: `(path, u, the rest)`.
fn find_exp_log(e: &Expr) -> Option<(Vec<usize>, Expr, Expr)> {
    if let Expr::Call(Func::Exp, arg) = e {
        if let Ok(terms) = to_terms(arg, false) {
            if let [t] = terms.as_slice() {
                // A power of the log too: `exp(log(x)^2)` is `x^log(x)`.
                let logs: Vec<usize> = (0..t.factors.len())
                    .filter(|&i| {
                        t.factors[i].exp >= 1
                            && matches!(t.factors[i].base, Expr::Call(Func::Log, _))
                    })
                    .collect();
                if let [i] = logs.as_slice() {
                    if let Expr::Call(Func::Log, u) = &t.factors[*i].base {
                        let mut rest = t.clone();
                        rest.factors[*i].exp -= 1;
                        rest.factors.retain(|f| f.exp != 0);
                        return Some((vec![], (**u).clone(), super::algebra::term_expr(&rest)));
                    }
                }
            }
        }
    }
    for (i, c) in e.children().into_iter().enumerate() {
        if let Some((mut p, u, v)) = find_exp_log(c) {
            p.insert(0, i);
            return Some((p, u, v));
        }
    }
    None
}
