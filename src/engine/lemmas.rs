//! Reuse of earlier results: a derivative that is an instance of an earlier goal's
//! derivative (at other free indices) is replaced by that goal's result in one step,
//! "by (1)", instead of being derived again.

use super::{Driver, EngineError};
use crate::expr::{Context, Expr, Index};
use crate::kernel::{depends_on, Lemma};
use crate::rules::RuleId;
use crate::terms::ExprExt;
use std::collections::{BTreeMap, BTreeSet};

/// Replace every derivative that is an instance of a lemma by the lemma's result,
/// outermost first; whether any was.
pub fn use_lemmas(d: &mut Driver) -> Result<bool, EngineError> {
    if d.proof.lemmas().is_empty() {
        return Ok(false);
    }
    let mut used = false;
    let mut pending = vec![Vec::new()];
    while let Some(path) = pending.pop() {
        let Some(sub) = d.at(&path) else { continue };
        if matches!(sub, Expr::D(..)) && use_one(d, &path)? {
            used = true;
            continue;
        }
        let children = d.at(&path).map_or(0, |e| e.children().count());
        pending.extend((0..children).rev().map(|i| [&path[..], &[i]].concat()));
    }
    Ok(used)
}

/// Derive each derivative that stands inside the term (a factor `D(l, a_i)` of the chain
/// rule) as a goal of its own, and replay that derivation's steps in place, so that the
/// factor is simplified before the product it stands in. A factor whose replay the kernel
/// refuses is left for the usual derivation of the whole term.
pub fn derive_factors(d: &mut Driver) -> Result<(), EngineError> {
    let mut tried: Vec<Vec<usize>> = Vec::new();
    loop {
        let next = find_path_where(d.current(), &|e| matches!(e, Expr::D(..)), &tried);
        let Some(path) = next.filter(|p| !p.is_empty()) else { return Ok(()) };
        tried.push(path.clone());
        derive_in_place(d, &path)?;
    }
}

/// The first subterm (outermost first) satisfying `pred`, skipping the paths in `skip` and
/// what lies below them.
fn find_path_where(
    e: &Expr,
    pred: &dyn Fn(&Expr) -> bool,
    skip: &[Vec<usize>],
) -> Option<Vec<usize>> {
    fn go(
        e: &Expr,
        pred: &dyn Fn(&Expr) -> bool,
        skip: &[Vec<usize>],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        if skip.contains(path) {
            return None;
        }
        if pred(e) {
            return Some(path.clone());
        }
        for (i, c) in e.children().enumerate() {
            path.push(i);
            let found = go(c, pred, skip, path);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
        None
    }
    go(e, pred, skip, &mut Vec::new())
}

/// The defined names `a` that `D(of, wrt)` could go through by the chain rule to meet an
/// earlier result `D(a_…, wrt_…)`, in the lemmas' order, each once.
pub fn chain_candidates(ctx: &Context, of: &Expr, wrt: &Expr, lemmas: &[Lemma]) -> Vec<String> {
    let (Expr::Sym(x) | Expr::Idx(x, _)) = wrt else { return Vec::new() };
    let own = of.variable_name();
    let mut out: Vec<String> = Vec::new();
    for l in lemmas {
        let Expr::D(f, y) = l.lhs() else { continue };
        let (Some(a), Some(y)) = (f.variable_name(), y.variable_name()) else { continue };
        let fresh = !out.contains(a) && Some(a) != own && y == x;
        if fresh && ctx.definition(a).is_some() && depends_on(ctx, of, a, 0) {
            out.push(a.clone());
        }
    }
    let front = in_front(ctx, of, &out);
    out.retain(|a| front.contains(a));
    out
}

/// The defined names the body of `of` (unfolded when `of` is a name) mentions that reach
/// `wrt`'s variable, each once, in order: the names `via` could go through first.
pub fn through_names(ctx: &Context, of: &Expr, wrt: &Expr) -> Vec<String> {
    let Some(x) = wrt.variable_name() else { return Vec::new() };
    let own = of.variable_name().filter(|_| ctx.is_defined(of));
    let body = own.and_then(|n| ctx.definition(n)).map_or(of, |d| &d.body);
    let mut out: Vec<String> = Vec::new();
    body.any(&mut |t| {
        if let Some(name) = t.variable_name().filter(|_| ctx.is_defined(t)) {
            if !out.contains(name) && name != x && depends_on(ctx, t, x, 0) {
                out.push(name.clone());
            }
        }
        false
    });
    out
}

/// The names of `candidates` that `of` reaches without passing through another of them:
/// in `h_3 = tanh(h_2)`, `h_2 = tanh(h_1)`, `h_1` lies behind `h_2`. Going through a name
/// behind another would derive the one in front again by unfolding, where its own result
/// already holds the way to the variable: the longer way round, and one derivation per
/// name in a long chain of definitions.
fn in_front(ctx: &Context, of: &Expr, candidates: &[String]) -> BTreeSet<String> {
    let mut front = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut pending = vec![of];
    while let Some(e) = pending.pop() {
        e.any(&mut |t| {
            let Some(name) = t.variable_name().filter(|_| ctx.is_defined(t)) else { return false };
            if candidates.contains(name) {
                front.insert(name.clone());
            } else if seen.insert(name.clone()) {
                pending.extend(ctx.definition(name).map(|d| &d.body));
            }
            false
        });
    }
    front
}

/// `(a, x)` for each lemma `D(a_…, x_…)`: the names whose derivative with respect to a
/// variable an earlier goal found.
pub fn differentiated_names(d: &Driver) -> Vec<(String, String)> {
    let pairs = d.proof.lemmas().iter().filter_map(|l| match l.lhs() {
        Expr::D(f, x) if d.ctx().is_defined(f) => {
            Some((f.variable_name()?.clone(), x.variable_name()?.clone()))
        }
        _ => None,
    });
    let mut out: Vec<_> = pairs.collect();
    // A `via` intermediate stays folded in the derivative the goal takes.
    if let Expr::D(_, x) = d.proof.start_term() {
        if let Some(x) = x.variable_name() {
            out.extend(d.intermediates.iter().map(|a| (a.clone(), x.clone())));
        }
    }
    out
}

/// Derive the derivative of a defined name at `path` as a goal of its own (with the
/// lemmas at hand) and replay its steps in place; whether the kernel took them.
pub fn derive_in_place(d: &mut Driver, path: &[usize]) -> Result<bool, EngineError> {
    let Some(Expr::D(f, x)) = d.at(path).cloned() else { return Ok(false) };
    let ctx = std::sync::Arc::new(d.ctx().clone());
    let lemmas = d.proof.lemmas().to_vec();
    let Ok(factor) = super::derive_via(ctx, &f, &x, &[], &lemmas) else { return Ok(false) };
    let mut trial = d.clone();
    let replayed = factor.steps().iter().try_for_each(|s| {
        let mut step = s.step.clone();
        step.position = [path, &step.position[..]].concat();
        trial.apply(step)
    });
    if replayed.is_err() {
        return Ok(false);
    }
    *d = trial;
    super::simplify::clear_trivia(d, path)?;
    Ok(true)
}

/// Use the first lemma the derivative at `path` is an instance of, if the kernel agrees.
pub fn use_one(d: &mut Driver, path: &[usize]) -> Result<bool, EngineError> {
    let Some(sub) = d.at(path).cloned() else { return Ok(false) };
    let labels: BTreeSet<String> = d.ctx().fixed_labels().into_keys().collect();
    for n in 0..d.proof.lemmas().len() {
        let lemma = &d.proof.lemmas()[n];
        let free: BTreeSet<String> =
            lemma.lhs().free_indices().difference(&labels).cloned().collect();
        let mut map = BTreeMap::new();
        if !instance(lemma.lhs(), &sub, &free, &mut map) {
            continue;
        }
        let mut step = RuleId::UseLemma.step(path.to_vec());
        step.uses = Some((n + 1).to_string());
        step.binding.indices = map.into_iter().filter(|(k, v)| v.name() != Some(k)).collect();
        // The kernel may refuse (a lemma under hypotheses inside a derivative they
        // involve), which leaves the term as it was: then the derivative is derived here
        // as usual.
        if d.apply(step).is_ok() {
            // `D(l, a_i)*(a_i*(…))` reads `D(l, a_i)*a_i*(…)`.
            super::simplify::clear_trivia(d, path)?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `term` is `pattern` with its free indices in `free` renamed by `map` (which
/// this extends). Bound indices must agree by name: a miss only costs a derivation.
fn instance(
    pattern: &Expr,
    term: &Expr,
    free: &BTreeSet<String>,
    map: &mut BTreeMap<String, Index>,
) -> bool {
    let mut index = |p: &Index, t: &Index| match p {
        Index::Name(n) if free.contains(n) => map.entry(n.clone()).or_insert(t.clone()) == t,
        _ => p == t,
    };
    match (pattern, term) {
        (Expr::Idx(a, ps), Expr::Idx(b, ts)) => {
            a == b && ps.len() == ts.len() && ps.iter().zip(ts.iter()).all(|(p, t)| index(p, t))
        }
        (Expr::Delta(p1, p2), Expr::Delta(t1, t2)) => index(p1, t1) && index(p2, t2),
        (Expr::Idx(..) | Expr::Delta(..), _) => false,
        (Expr::Sum(p), Expr::Sum(t)) if free.contains(&p.index) || p.index != t.index => false,
        _ => {
            let blank = |e: &Expr| e.map_children(|_| Expr::int(0));
            blank(pattern) == blank(term)
                && pattern.children().count() == term.children().count()
                && pattern.children().zip(term.children()).all(|(p, t)| instance(p, t, free, map))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_expr, parse_file};

    /// `(goal, names with a result) → the names it may go through`.
    #[test]
    fn a_goal_goes_through_the_names_in_front_only() {
        let defs = "let a = tanh(x)\nlet b = a^2\nlet c = sin(b)\nlet l = c*a\nlet m = c + u\n";
        let ctx = parse_file(defs).unwrap().context;
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("c", &["a", "b"], &["b"]),
            // `a` stands in `l` itself as well as behind `c`.
            ("l", &["a", "b", "c"], &["a", "c"]),
            ("l", &["a", "b"], &["a", "b"]),
            ("m", &["a", "b", "c"], &["c"]),
            ("m", &["a"], &["a"]),
        ];
        for (of, with, want) in cases {
            let with: Vec<String> = with.iter().map(|s| s.to_string()).collect();
            let front = in_front(&ctx, &parse_expr(of).unwrap(), &with);
            assert_eq!(
                front.iter().map(String::as_str).collect::<Vec<_>>(),
                *want,
                "{of} with {with:?}"
            );
        }
    }

    /// `(pattern, term, free indices) → the renaming, or None`.
    #[test]
    fn instances_rename_free_indices_consistently() {
        let cases: &[(&str, &str, &[&str], Option<&str>)] = &[
            ("D(a_i, z_j)", "D(a_m, z_j)", &["i", "j"], Some("i→m")),
            ("D(a_i, z_j)", "D(a_m, z_m)", &["i", "j"], Some("i→m j→m")),
            ("D(a_i, z_i)", "D(a_m, z_j)", &["i"], None),
            ("D(l, z_j)", "D(l, z_1)", &["j"], Some("j→1")),
            ("D(l, z_j)", "D(h, z_j)", &["j"], None),
            ("D(a_i*b_k, z_j)", "D(a_i*b_k, z_j)", &["i", "j"], Some("")),
            ("D(a_i*b_k, z_j)", "D(a_i*b_m, z_j)", &["i", "j"], None),
        ];
        for (pattern, term, free, expected) in cases {
            let free: BTreeSet<String> = free.iter().map(|s| s.to_string()).collect();
            let mut map = BTreeMap::new();
            let (p, t) = (parse_expr(pattern).unwrap(), parse_expr(term).unwrap());
            let found = instance(&p, &t, &free, &mut map).then(|| {
                let moved = map.iter().filter(|(k, v)| v.name() != Some(*k));
                moved.map(|(k, v)| format!("{k}→{v}")).collect::<Vec<_>>().join(" ")
            });
            assert_eq!(found.as_deref(), *expected, "{pattern} against {term}");
        }
    }
}
