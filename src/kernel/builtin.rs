//! The rules the kernel applies itself: schemes over arity, over the context, and the
//! ring and renaming decision procedures.

use super::conditions::{decide, depends_on, quantify, Verdict};
use super::ring::ring_equal;
use super::rules::{Builtin, Condition};
use super::{Binder, KernelError, Lemma, Located, Step};
use crate::expr::{fresh_index, Bound, Context, Definition, Expr, Index, Seen, Sum};
use std::collections::BTreeSet;

type Outcome = Result<(Expr, Vec<Condition>), KernelError>;

fn no(msg: &str) -> KernelError {
    KernelError::NotApplicable(msg.to_string())
}

fn bad(msg: &str) -> KernelError {
    KernelError::Binding(msg.to_string())
}

/// Apply builtin `b` to the subterm `loc.sub`, with `lemmas` in scope.
pub fn apply(b: Builtin, ctx: &Context, lemmas: &[Lemma], loc: &Located, step: &Step) -> Outcome {
    use Builtin::*;
    let sub = loc.sub;
    let takes_replacement = matches!(b, Ring | Rename | Fold | DeltaSubstitute);
    if takes_replacement != step.replacement.is_some() {
        return Err(bad(if takes_replacement {
            "this rule needs the replacement term"
        } else {
            "this rule computes its result and takes no replacement"
        }));
    }
    if matches!(b, Unfold | Fold | Hypothesis | Chain | Lemma) != step.uses.is_some() {
        return Err(bad("`uses` names a definition, hypothesis or lemma, for those rules only"));
    }
    let takes_indices = matches!(b, Hypothesis | IndexCase | Lemma);
    let binding = &step.binding;
    if !binding.terms.is_empty()
        || !binding.bounds.is_empty()
        || (!takes_indices && !binding.indices.is_empty())
    {
        return Err(bad("this rule takes no metavariables"));
    }
    if step.reversed && b != Hypothesis {
        return Err(bad("only hypotheses are used right to left"));
    }
    let new = step.replacement.clone().unwrap_or_else(|| sub.clone());
    let uses = step.uses.as_deref().unwrap_or_default();
    match b {
        Ring => {
            if !ring_equal(sub, &new)? {
                let m = format!("`{sub}` and `{new}` are not equal by ring arithmetic");
                return Err(KernelError::ChainBroken(m));
            }
            let (mut ds, mut seen) = (Vec::new(), Seen::new());
            divisors(sub, &mut ds, &mut seen);
            divisors(&new, &mut ds, &mut seen);
            Ok((new, ds))
        }
        Rename if matches!(sub, Expr::Sum(_)) && new == *sub => Ok((new, vec![])),
        Rename => Err(no("renaming a bound index must give the same sum")),
        DerivativeOfVariable => derivative_of_variable(ctx, sub),
        SumRule | ProductRule => {
            let (Expr::D(f, x), Some(Expr::Add(fs) | Expr::Mul(fs))) = (sub, sub.children().next())
            else {
                return Err(no(
                    "the sum and product rules need the derivative of a sum or product",
                ));
            };
            let d = |t: &Expr| Expr::d(t.clone(), (**x).clone());
            // The product rule's `i`-th term: the product with its `i`-th factor differentiated.
            let term = |i| {
                fs.iter().enumerate().map(|(k, t)| if k == i { d(t) } else { t.clone() }).collect()
            };
            let terms = match (b, &**f) {
                (SumRule, Expr::Add(_)) => fs.iter().map(d).collect(),
                (ProductRule, Expr::Mul(_)) => (0..fs.len()).map(|i| Expr::Mul(term(i))).collect(),
                _ => return Err(no("the sum rule needs a sum, the product rule a product")),
            };
            Ok((Expr::Add(terms), vec![]))
        }
        SumLinearity => {
            let (Expr::Sum(s), Some(Expr::Add(ts))) = (sub, sub.children().next()) else {
                return Err(no("only a sum of a sum splits"));
            };
            let part = |t: &Expr| s.with_body(t.clone());
            Ok((Expr::Add(ts.iter().map(part).collect()), vec![]))
        }
        DeltaCollapse => delta_collapse(sub),
        DeltaOffRange => delta_off_range(sub),
        DeltaSubstitute => delta_substitute(sub, &new),
        Unfold | Fold => {
            let def =
                ctx.definition(uses).ok_or_else(|| no(&format!("`{uses}` is not defined")))?;
            // Held as an independent variable: `D(-log(a_k), a_i)` is not `D(-log(…z…), a_i)`.
            if loc.variables.iter().any(|x| x == uses) {
                return Err(no(&format!("`{uses}` is the variable of an enclosing derivative")));
            }
            captures(ctx, loc, &[&def.body])?;
            match b {
                Unfold => Ok((unfold(def, sub)?, vec![])),
                _ if unfold(def, &new)? == *sub => Ok((new, vec![])),
                _ => Err(no("the term is not the definition's body at these indices")),
            }
        }
        Hypothesis => hypothesis(ctx, loc, step, uses),
        Lemma => lemma(ctx, lemmas, loc, step, uses),
        IndexCase => index_case(sub, step),
        Chain => chain(ctx, loc, uses),
    }
}

/// The chain rule through the definition of `a`: `D(F, x) = sum_m(D(F, a_m)*D(a_m, x))`
/// over `a`'s declared ranges (`D(F, a)*D(a, x)` for a scalar), where `D(F, a_m)` holds `a`
/// as an independent variable. That is the multivariate chain rule only if `F` reaches `x`
/// through `a` alone, and every `a_p` it reaches lies in the ranges summed over.
fn chain(ctx: &Context, loc: &Located, a: &str) -> Outcome {
    let (Expr::D(f, x), Some(def)) = (loc.sub, ctx.definition(a)) else {
        return Err(no(&format!("needs a derivative, and `{a}` a definition")));
    };
    let mut held = ctx.clone();
    held.definitions.retain(|d| d != def);
    match &**x {
        Expr::Sym(n) | Expr::Idx(n, _) if !ctx.is_defined(x) && !depends_on(&held, f, n, 0) => {}
        _ => return Err(no(&format!("`{f}` depends on `{x}` other than through `{a}`"))),
    }
    let ranges: Vec<_> = def.name.indices().filter_map(|i| ctx.range_of(&i.to_string())).collect();
    let mut conds = Vec::new();
    // Under the sums around the derivative: `a_p` in `sum_{p=1}^{3}` ranges over 1..3.
    let mut around = loc.binders.clone();
    in_ranges(ctx, f, a, &ranges, &mut around, &mut conds, &mut Vec::new(), true)?;
    let mut avoid = loc.sub.all_index_names();
    avoid.extend(ctx.fixed_labels().into_keys().chain(loc.binders.iter().map(|b| b.0.clone())));
    let mut fresh = Vec::new();
    for i in def.name.indices() {
        fresh.push(fresh_index(&i.to_string(), &avoid));
        avoid.extend(fresh.last().cloned());
    }
    let at = match def.name {
        Expr::Idx(..) => {
            Expr::Idx(a.into(), fresh.iter().map(|m| Index::Name(m.clone())).collect())
        }
        _ => def.name.clone(),
    };
    let term = Expr::mul(vec![Expr::d((**f).clone(), at.clone()), Expr::d(at, (**x).clone())]);
    let sums = fresh.into_iter().zip(ranges).rev();
    let sum = sums.fold(term, |body, (m, (lo, hi))| Sum::over(m, lo.clone(), hi.clone(), body));
    Ok((sum, conds))
}

/// Every `a_p` that `e` reaches, directly or through the definitions it uses, has `p` in
/// `ranges`, and every definition on the way is used in its own ranges. Undecided, that is
/// carried for a free index of the goal (`top`); it must hold in a definition's body.
#[allow(clippy::too_many_arguments)]
fn in_ranges(
    ctx: &Context,
    e: &Expr,
    a: &str,
    ranges: &[(&Bound, &Bound)],
    binders: &mut Vec<Binder>,
    out: &mut Vec<Condition>,
    seen: &mut Vec<String>,
    top: bool,
) -> Result<(), KernelError> {
    let (n, def) = match e {
        Expr::Sum(s) => {
            binders.push((s.index.clone(), s.lo.clone(), s.hi.clone()));
            let r = in_ranges(ctx, &s.body, a, ranges, binders, out, seen, top);
            binders.pop();
            return r;
        }
        Expr::Sym(n) | Expr::Idx(n, _) => match ctx.definition(n) {
            Some(d) if n == a || depends_on(ctx, &d.body, a, 0) => (n, d),
            _ => return Ok(()),
        },
        _ => {
            let mut each = |c| in_ranges(ctx, c, a, ranges, binders, out, seen, top);
            return e.children().try_for_each(&mut each);
        }
    };
    let own: Vec<_> = def.name.indices().filter_map(|i| ctx.range_of(&i.to_string())).collect();
    let here = if n == a { ranges } else { &own };
    for (i, (lo, hi)) in e.indices().zip(here) {
        let c = Condition::InRange(i.clone(), (*lo).clone(), (*hi).clone());
        match decide(ctx, &c, binders) {
            Verdict::Holds => {}
            Verdict::Unknown if top => out.push(c),
            _ => return Err(no(&format!("`{e}` may lie outside the range summed over"))),
        }
    }
    if n == a || seen.contains(n) {
        return Ok(());
    }
    seen.push(n.clone());
    in_ranges(ctx, &def.body, a, ranges, &mut Vec::new(), out, seen, false)
}

fn derivative_of_variable(ctx: &Context, sub: &Expr) -> Outcome {
    let Expr::D(v, w) = sub else {
        return Err(no("needs a derivative"));
    };
    if !v.is_variable() || !w.is_variable() {
        return Err(no("needs the derivative of a variable with respect to a variable"));
    }
    let out = match (&**v, &**w) {
        (Expr::Sym(a), Expr::Sym(b)) if a == b => Expr::int(1),
        (Expr::Idx(a, ai), Expr::Idx(b, bi)) if a == b && ai.len() == bi.len() => {
            Expr::mul(ai.iter().zip(bi).map(|(i, j)| Expr::Delta(i.clone(), j.clone())).collect())
        }
        (Expr::Sym(a) | Expr::Idx(a, _), Expr::Sym(b) | Expr::Idx(b, _)) if a == b => {
            return Err(no("the same name is used with different numbers of indices"));
        }
        // A defined name is independent only as the variable itself (held as one).
        _ if ctx.is_defined(v) => {
            return Err(no("a defined name is not an independent variable; unfold it first"))
        }
        _ => Expr::int(0),
    };
    Ok((out, vec![]))
}

/// `sum_k(F * delta(k, j)) = F[k := j]`, the delta anywhere in the product, either way round.
fn delta_collapse(sub: &Expr) -> Outcome {
    let (s, mut factors, at, j) = delta_on_the_summation_index(sub)?;
    factors.remove(at);
    let collapsed = Expr::mul(factors).subst_index(&s.index, &j);
    Ok((collapsed, vec![Condition::InRange(j, s.lo.clone(), s.hi.clone())]))
}

/// `sum_{k=A}^{B}(F*delta(k,j)) = 0` when `j` lies outside `A..B`.
fn delta_off_range(sub: &Expr) -> Outcome {
    let (s, _, _, j) = delta_on_the_summation_index(sub)?;
    Ok((Expr::int(0), vec![Condition::OutOfRange(j, s.lo.clone(), s.hi.clone())]))
}

/// The sum `sub`, its summand's factors, and the position and other index of a factor
/// `delta(k, j)` on its index `k` (`j` not `k`).
fn delta_on_the_summation_index(
    sub: &Expr,
) -> Result<(&Sum, Vec<Expr>, usize, Index), KernelError> {
    let Expr::Sum(s) = sub else {
        return Err(no("needs a sum"));
    };
    let k = Index::Name(s.index.clone());
    let factors: Vec<Expr> = match &*s.body {
        Expr::Mul(fs) => fs.to_vec(),
        other => vec![other.clone()],
    };
    let other_end = |f: &Expr| match f {
        Expr::Delta(a, b) if *a == k && *b != k => Some(b.clone()),
        Expr::Delta(a, b) if *b == k && *a != k => Some(a.clone()),
        _ => None,
    };
    let (at, j) = factors
        .iter()
        .enumerate()
        .find_map(|(i, f)| other_end(f).map(|j| (i, j)))
        .ok_or_else(|| no("the summand has no Kronecker delta on the summation index"))?;
    Ok((s, factors, at, j))
}

/// `delta(i, j) * F = delta(i, j) * F[i := j]` for a delta factor of the product.
fn delta_substitute(sub: &Expr, new: &Expr) -> Outcome {
    let Expr::Mul(fs) = sub else {
        return Err(no("needs a product with a Kronecker delta"));
    };
    for (at, f) in fs.iter().enumerate() {
        let Expr::Delta(a, b) = f else { continue };
        for (from, to) in [(a, b), (b, a)] {
            let Index::Name(from) = from else { continue };
            let substituted = fs.iter().enumerate().map(|(i, g)| {
                if i == at {
                    g.clone()
                } else {
                    g.subst_index(from, to)
                }
            });
            let candidate = Expr::Mul(substituted.collect());
            if candidate == *new {
                return Ok((candidate, vec![]));
            }
        }
    }
    Err(no("the replacement is not a substitution through a delta factor"))
}

/// `terms` with the index names `from` replaced by `to` all at once (through fresh names,
/// so that `i := j, j := i` swaps), avoiding every name in `avoid`.
fn rename_indices(terms: &mut [Expr], pairs: &[(String, Index)], mut avoid: BTreeSet<String>) {
    for t in terms.iter() {
        avoid.extend(t.all_index_names());
    }
    let mut staged = Vec::new();
    for (from, to) in pairs {
        let temp = fresh_index(&format!("{from}0"), &avoid);
        avoid.insert(temp.clone());
        for t in terms.iter_mut() {
            *t = t.subst_index(from, &Index::Name(temp.clone()));
        }
        staged.push((temp, to));
    }
    for (temp, to) in staged {
        for t in terms.iter_mut() {
            *t = t.subst_index(&temp, to);
        }
    }
}

/// A definition or hypothesis holds at the fixed labels it mentions, not where a sum binds
/// one of them (it would capture it).
fn captures(ctx: &Context, loc: &Located, terms: &[&Expr]) -> Result<(), KernelError> {
    // The labels only when a sum binds a free index: most steps lie under no sum.
    let bound = |k: &String| loc.binders.iter().any(|(b, ..)| b == k) && ctx.is_label(k);
    match terms.iter().flat_map(|t| t.free_indices()).find(bound) {
        Some(k) => Err(no(&format!("it holds at the fixed label `{k}`, which a sum here binds"))),
        None => Ok(()),
    }
}

/// The body of `def` at the indices of `sub`.
fn unfold(def: &Definition, sub: &Expr) -> Result<Expr, KernelError> {
    match (&def.name, sub) {
        (Expr::Sym(a), Expr::Sym(b)) if a == b => Ok(def.body.clone()),
        (Expr::Idx(a, formal), Expr::Idx(b, actual)) if a == b && formal.len() == actual.len() => {
            // Validation makes a definition's indices names.
            let pairs: Vec<_> =
                formal.iter().zip(actual).map(|(f, a)| (f.to_string(), a.clone())).collect();
            let mut body = [def.body.clone()];
            rename_indices(&mut body, &pairs, sub.all_index_names());
            let [body] = body;
            Ok(body)
        }
        _ => Err(no(&format!("the term is not an instance of `{}`", def.name))),
    }
}

/// `F = F[j := i]` in the case `i = j`, a condition the result carries.
fn index_case(sub: &Expr, step: &Step) -> Outcome {
    let ix = &step.binding.indices;
    let (Some(i), Some(j), 2) = (ix.get("i"), ix.get("j"), ix.len()) else {
        return Err(bad("the case split takes the indices `i` and `j`, and nothing else"));
    };
    let case = Condition::IndexEq(i.clone(), j.clone());
    match j {
        Index::Name(j) => Ok((sub.subst_index(j, i), vec![case])),
        // A number has no occurrences to replace (an instance of the split at a corner).
        Index::Int(_) => Ok((sub.clone(), vec![case])),
    }
}

/// The number (from one) in `uses`.
fn numbered<'a, T>(list: &'a [T], uses: &str, what: &str) -> Result<(usize, &'a T), KernelError> {
    let n: usize = uses.parse().map_err(|_| no(&format!("`uses` must be a {what} number")))?;
    let item = n.checked_sub(1).and_then(|i| list.get(i));
    Ok((n, item.ok_or_else(|| no(&format!("there is no {what} {n}")))?))
}

/// The first variable of an enclosing derivative that `terms` involve.
fn involved<'a>(ctx: &Context, loc: &'a Located, terms: &[&Expr]) -> Option<&'a String> {
    loc.variables.iter().find(|x| terms.iter().any(|t| depends_on(ctx, t, x, 0)))
}

/// Rewrite with hypothesis number `uses` (from one), left to right or reversed.
/// An equation that holds on a constraint set says nothing about a derivative across it:
/// under `D(…, x)` a hypothesis may be used only if it does not involve `x`.
fn hypothesis(ctx: &Context, loc: &Located, step: &Step, uses: &str) -> Outcome {
    let (n, h) = numbered(&ctx.assumptions, uses, "hypothesis")?;
    if let Some(x) = involved(ctx, loc, &[&h.lhs, &h.rhs]) {
        return Err(no(&format!(
            "hypothesis {n} involves `{x}`, so it cannot be used inside a derivative with respect to `{x}`"
        )));
    }
    let sides = if step.reversed { [&h.rhs, &h.lhs] } else { [&h.lhs, &h.rhs] };
    instance(ctx, loc, step, &format!("hypothesis {n}"), sides)
}

/// Rewrite with lemma number `uses` (an earlier goal's result, from one), left to right,
/// carrying the conditions it left open and the hypotheses it used. Like those
/// hypotheses, and like a condition that it holds at integers only, it says nothing about
/// a derivative with respect to a variable they involve. Its conditions come along
/// unrenamed, so a lemma with conditions on an index is used at that same index.
fn lemma(ctx: &Context, lemmas: &[Lemma], loc: &Located, step: &Step, uses: &str) -> Outcome {
    let (n, l) = numbered(lemmas, uses, "lemma")?;
    // It was proved with every definition unfoldable, not with one held fixed.
    if let Some(a) = loc.variables.iter().find(|x| ctx.definition(x).is_some()) {
        return Err(no(&format!(
            "lemma {n} is not used inside a derivative with respect to the defined name `{a}`"
        )));
    }
    let hypotheses = l.assumptions.iter().filter_map(|&h| ctx.assumptions.get(h.checked_sub(1)?));
    let mut constraints: Vec<&Expr> = hypotheses.flat_map(|h| [&h.lhs, &h.rhs]).collect();
    fn discrete(c: &Condition) -> Option<&Expr> {
        match c {
            Condition::Integer(e) | Condition::Natural(e) => Some(e),
            Condition::ForAll(_, _, _, c) => discrete(c),
            _ => None,
        }
    }
    constraints.extend(l.conditions.iter().filter_map(discrete));
    if let Some(x) = involved(ctx, loc, &constraints) {
        return Err(no(&format!(
            "lemma {n} holds under hypotheses or conditions that involve `{x}`, so it cannot be used inside a derivative with respect to `{x}`"
        )));
    }
    let renamed = |c: &Condition| {
        let free = c.free_indices();
        step.binding.indices.iter().any(|(k, v)| free.contains(k) && v.name() != Some(k))
    };
    if l.conditions.iter().any(renamed) {
        return Err(no(&format!("lemma {n} has conditions on an index this step renames")));
    }
    let bound = |k: &String| loc.binders.iter().any(|(b, ..)| b == k) && ctx.is_label(k);
    if l.conditions.iter().flat_map(Condition::free_indices).any(|k| bound(&k)) {
        return Err(no("its conditions hold at a fixed label that a sum here binds"));
    }
    let (to, mut conditions) = instance(ctx, loc, step, &format!("lemma {n}"), [&l.lhs, &l.rhs])?;
    conditions.extend(l.conditions.iter().cloned());
    Ok((to, conditions))
}

/// Rewrite `sub` with the equation `from = to` of `what`: the binding's indices rename its
/// free indices (never a fixed label), each within its declared range, which the result
/// carries as conditions.
fn instance(
    ctx: &Context,
    loc: &Located,
    step: &Step,
    what: &str,
    [from, to]: [&Expr; 2],
) -> Outcome {
    let sub = loc.sub;
    let free: BTreeSet<String> = from.free_indices().union(&to.free_indices()).cloned().collect();
    // A fixed label is that one value: never renamed, never captured.
    let mut keys = step.binding.indices.keys();
    if let Some(k) = keys.find(|k| !free.contains(*k) || ctx.is_label(k)) {
        return Err(bad(&format!("`{k}` is not a free index of {what} to rename")));
    }
    captures(ctx, loc, &[from, to])?;
    let mut pairs = Vec::new();
    let mut ranges = Vec::new();
    for name in &free {
        let value = step.binding.indices.get(name).cloned().unwrap_or(Index::Name(name.clone()));
        let (lo, hi) = ctx
            .range_of(name)
            .ok_or_else(|| no(&format!("index `{name}` of {what} is not declared")))?;
        ranges.push(Condition::InRange(value.clone(), lo.clone(), hi.clone()));
        pairs.push((name.clone(), value));
    }
    let mut sides = [from.clone(), to.clone()];
    rename_indices(&mut sides, &pairs, sub.all_index_names());
    let [from, to] = sides;
    if from != *sub {
        return Err(KernelError::Mismatch(from, sub.clone()));
    }
    Ok((to, ranges))
}

/// Denominators a term divides by (`b` in `a/b`, `b` in `b^-2`): each must be non-zero,
/// inside a sum for every value of its index, since the ring normaliser reaches into sums.
fn divisors(e: &Expr, out: &mut Vec<Condition>, seen: &mut Seen) {
    match e {
        Expr::Div(_, b) => out.push(Condition::NonZero((**b).clone())),
        Expr::Pow(b, k) if k.as_num().is_some_and(|r| r.is_negative()) => {
            out.push(Condition::NonZero((**b).clone()))
        }
        _ => {}
    }
    let Expr::Sum(s) = e else {
        if e.enter(seen) {
            e.children().for_each(|c| divisors(c, out, seen));
        }
        return;
    };
    // A sum's body is its own scope: what it divides by holds over the sum's range.
    let mut inner = Vec::new();
    divisors(&s.body, &mut inner, &mut Seen::new());
    let binder = [(s.index.clone(), s.lo.clone(), s.hi.clone())];
    out.extend(inner.into_iter().map(|c| quantify(c, &binder)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_expr;

    #[test]
    fn a_divisor_shared_inside_and_outside_a_sum_is_stated_for_each_scope() {
        let sum = parse_expr("sum_k(exp(1/x_k))").unwrap();
        let Expr::Sum(s) = &sum else { panic!("a sum") };
        let (inside, outside) = (sum.clone(), (*s.body).clone());
        for e in
            [Expr::mul(vec![inside.clone(), outside.clone()]), Expr::mul(vec![outside, inside])]
        {
            let mut out = Vec::new();
            divisors(&e, &mut out, &mut Seen::new());
            let text: Vec<String> = out.iter().map(|c| format!("{c:?}")).collect();
            assert_eq!(out.len(), 2, "{e}: {text:?}");
            assert!(out.iter().any(|c| matches!(c, Condition::ForAll(..))), "{e}: {text:?}");
        }
    }
}
