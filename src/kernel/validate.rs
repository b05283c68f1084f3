//! What a context and a goal must satisfy before the kernel reasons in them: the rules the
//! `.deriv` parser enforces, restated here so `deriv check` enforces them by the same code.
//!
//! A symbol that bounds a range (`n` in `index i in 1..n` or in `sum_{k=1}^{n}`) is a size:
//! the kernel takes `1..n` as non-empty, so a size may not be defined, may not occur in a
//! hypothesis except as a range bound, and is never a variable of differentiation.

use crate::expr::{Bound, Context, Definition, Expr, Index};
use std::collections::{BTreeMap, BTreeSet};

/// Which part of a context is at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Indices,
    Definition(usize),
    Hypothesis(usize),
}

/// Every definition and hypothesis of `ctx`, in order; the first fault, with its item.
pub fn check_context(ctx: &Context) -> Result<(), (Item, String)> {
    check_declarations(ctx).map_err(|m| (Item::Indices, m))?;
    let sizes = sizes(ctx);
    // Worked out once: per definition, they would make a long context cost its square.
    let (labels, positions) = (ctx.fixed_labels(), positions(&ctx.definitions));
    // The names in a definition's body (`name`) or a hypothesis's side.
    let names = |name: Option<&Expr>, e: &Expr| {
        walk_names(ctx, &sizes, e, &mut Vec::new()).and_then(|()| check_labels(&labels, name, e))
    };
    for (at, def) in ctx.definitions.iter().enumerate() {
        check_definition_among(&ctx.definitions[..at], &positions, &sizes, def)
            .and_then(|()| declared(ctx, &def.name, "definition"))
            .and_then(|()| check_derivatives(ctx, &def.body))
            .and_then(|()| names(Some(&def.name), &def.body))
            .map_err(|m| (Item::Definition(at), m))?;
    }
    for (at, h) in ctx.assumptions.iter().enumerate() {
        check_hypothesis(ctx, &sizes, &h.lhs, &h.rhs)
            .and_then(|()| check_derivatives(ctx, &h.lhs))
            .and_then(|()| check_derivatives(ctx, &h.rhs))
            .and_then(|()| names(None, &h.lhs))
            .and_then(|()| names(None, &h.rhs))
            .map_err(|m| (Item::Hypothesis(at), m))?;
    }
    Ok(())
}

/// A fixed label stands for one value throughout: no definition takes it on its left
/// side, and no sum binds it in a goal, a hypothesis or a definition (`name`) where it is
/// free.
fn check_labels(
    labels: &BTreeMap<String, &Expr>,
    name: Option<&Expr>,
    e: &Expr,
) -> Result<(), String> {
    let (left, free) = (name.map(Expr::free_indices).unwrap_or_default(), e.free_indices());
    let binds = |k: &String| e.any(&mut |t| matches!(t, Expr::Sum(s) if s.index == *k));
    let bound = labels.keys().find(|k| (name.is_none() || free.contains(*k)) && binds(k));
    let (k, what) = match (labels.keys().find(|k| left.contains(*k)).cloned(), bound.cloned()) {
        (Some(k), _) => (k, "it cannot be an index on the left of a definition"),
        (_, Some(k)) => (k, "a sum cannot bind it in a goal, a hypothesis or a definition where it is free; name the summation index otherwise"),
        _ => return Ok(()),
    };
    let by = &labels[&k];
    Err(format!("index `{k}` is a fixed label (free in the definition of `{by}` but not on its left side), so {what}"))
}

/// Each index is declared once, over a range whose symbolic bounds are sizes, not indices.
fn check_declarations(ctx: &Context) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for name in ctx.indices.iter().flat_map(|d| &d.names) {
        if !seen.insert(name) {
            return Err(format!("index `{name}` is declared twice"));
        }
    }
    for bound in ctx.indices.iter().flat_map(|d| [&d.lo, &d.hi]) {
        if bound.size().is_some_and(|b| seen.contains(&b.to_string())) {
            return Err(format!("the range bound `{bound}` is an index, not a size"));
        }
    }
    Ok(())
}

/// In a term, every free index is declared or a size (`b_n`, the last component), and an
/// index name (declared, or bound by an enclosing sum) stands only as an index: not as a
/// symbol, not as a range bound.
fn walk_names(
    ctx: &Context,
    sizes: &BTreeSet<String>,
    e: &Expr,
    bound: &mut Vec<String>,
) -> Result<(), String> {
    let is_index = |n: &str| bound.iter().any(|b| b == n) || ctx.range_of(n).is_some();
    let stray = |i: &&Index| matches!(i, Index::Name(n) if !is_index(n) && !sizes.contains(n));
    if let Some(i) = e.indices().find(stray) {
        return Err(format!("index `{i}` is not declared"));
    }
    match e {
        Expr::Sym(n) if is_index(n) => {
            Err(format!("`{n}` is an index; it cannot stand as a variable or a number"))
        }
        Expr::Sum(s) => {
            for b in [&s.lo, &s.hi] {
                if b.size().is_some_and(|n| is_index(n) || n == s.index) {
                    return Err(format!("the range bound `{b}` is an index, not a size"));
                }
            }
            bound.push(s.index.clone());
            let out = walk_names(ctx, sizes, &s.body, bound);
            bound.pop();
            out
        }
        _ => e.children().try_for_each(|c| walk_names(ctx, sizes, c, bound)),
    }
}

/// The symbols that bound a range anywhere in the context.
pub fn sizes(ctx: &Context) -> BTreeSet<String> {
    let symbols = |lo: &Bound, hi: &Bound| [lo, hi].map(|b| b.size().map(str::to_string));
    let mut out: BTreeSet<String> =
        ctx.indices.iter().flat_map(|d| symbols(&d.lo, &d.hi)).flatten().collect();
    let terms = ctx.definitions.iter().map(|d| &d.body);
    for t in terms.chain(ctx.assumptions.iter().flat_map(|a| [&a.lhs, &a.rhs])) {
        t.any(&mut |e| {
            if let Expr::Sum(s) = e {
                out.extend(symbols(&s.lo, &s.hi).into_iter().flatten());
            }
            false
        });
    }
    out
}

/// Whether some sum in `e` runs to the size `name`.
pub fn runs_to(e: &Expr, name: &str) -> bool {
    e.any_once(
        &mut |t| matches!(t, Expr::Sum(s) if [&s.lo, &s.hi].iter().any(|b| b.size() == Some(name))),
    )
}

pub(super) fn name_of(e: &Expr) -> Option<&str> {
    match e {
        Expr::Sym(s) | Expr::Idx(s, _) => Some(s),
        _ => None,
    }
}

/// A definition names a new symbol with distinct index names and refers only to itself
/// through nothing (not directly, not through a definition before it). A declared index
/// free on its right but not on its left is a fixed label ([`check_labels`]).
pub fn check_definition(
    before: &[Definition],
    sizes: &BTreeSet<String>,
    def: &Definition,
) -> Result<(), String> {
    check_definition_among(before, &positions(before), sizes, def)
}

/// Where each name is first defined among `defs`.
fn positions(defs: &[Definition]) -> BTreeMap<&str, usize> {
    let mut at = BTreeMap::new();
    for (k, d) in defs.iter().enumerate() {
        if let Some(n) = name_of(&d.name) {
            at.entry(n).or_insert(k);
        }
    }
    at
}

/// [`check_definition`], with `positions` of a list of definitions that `before` starts.
fn check_definition_among(
    before: &[Definition],
    positions: &BTreeMap<&str, usize>,
    sizes: &BTreeSet<String>,
    def: &Definition,
) -> Result<(), String> {
    let n = name_of(&def.name).ok_or("a definition names a symbol")?;
    let earlier = |name: &str| positions.get(name).copied().filter(|&k| k < before.len());
    if earlier(n).is_some() {
        return Err(format!("`{n}` is defined twice"));
    }
    if sizes.contains(n) {
        return Err(format!("`{n}` bounds an index range, so it is a size and cannot be defined"));
    }
    if def.body.mentions_name(n) {
        return Err(format!("the definition of `{n}` refers to itself"));
    }
    if let Some(via) = reaches(before, &earlier, &def.body, n) {
        return Err(format!("the definition of `{n}` refers to itself through `{via}`"));
    }
    if let Expr::Idx(_, ix) = &def.name {
        let mut formals = BTreeSet::new();
        for i in ix {
            let Index::Name(f) = i else {
                return Err("a definition's indices must be index names, not numbers".into());
            };
            if !formals.insert(f) {
                return Err(format!("index `{f}` appears twice on the left side"));
            }
        }
    }
    Ok(())
}

/// Every free index of `e`, a term of a `what`, is declared.
fn declared(ctx: &Context, e: &Expr, what: &str) -> Result<(), String> {
    match e.free_indices().into_iter().find(|i| ctx.range_of(i).is_none()) {
        Some(i) => Err(format!("index `{i}` of a {what} is not declared")),
        None => Ok(()),
    }
}

/// The earlier definition through which `body` mentions `name`, if any (a cycle).
fn reaches(
    before: &[Definition],
    earlier: &dyn Fn(&str) -> Option<usize>,
    body: &Expr,
    name: &str,
) -> Option<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<(&Expr, Option<&str>)> = vec![(body, None)];
    while let Some((term, via)) = stack.pop() {
        // The earlier definitions `term` names, in their order, found in one walk of it (a
        // walk per definition would make a chain of n definitions cost n^3).
        let mut named = BTreeSet::new();
        term.any(&mut |t| {
            let k = name_of(t).and_then(earlier);
            named.extend(k.and_then(|k| Some((k, name_of(&before[k].name)?))));
            false
        });
        for (k, dn) in named {
            if seen.insert(dn) {
                if before[k].body.mentions_name(name) {
                    return Some(via.unwrap_or(dn).to_string());
                }
                stack.push((&before[k].body, Some(via.unwrap_or(dn))));
            }
        }
    }
    None
}

/// Whether `e` holds the symbol `n` as a value, directly or through the definitions of the
/// names it holds (`let t = m`, `assume t = 5/2` sets the size `m`). A range bound is not
/// a value: `sum_k(y_k) = 1` says nothing of the size.
fn reaches_value(ctx: &Context, e: &Expr, n: &str) -> bool {
    let holds = |t: &Expr| t.any_once(&mut |u| matches!(u, Expr::Sym(s) if s == n));
    holds(e) || reached_definitions(ctx, e).iter().any(|d| holds(&d.body))
}

/// The definitions `e` reaches: those of the names it holds, then those their bodies hold,
/// each once.
pub fn reached_definitions<'a>(ctx: &'a Context, e: &Expr) -> Vec<&'a Definition> {
    fn named<'a>(ctx: &'a Context, t: &Expr, out: &mut Vec<&'a Definition>) {
        t.any_once(&mut |u| {
            if let Some(d) = name_of(u).and_then(|s| ctx.definition(s)) {
                if !out.iter().any(|o| std::ptr::eq(*o, d)) {
                    out.push(d);
                }
            }
            false
        });
    }
    let mut out = Vec::new();
    named(ctx, e, &mut out);
    let mut k = 0;
    while let Some(&d) = out.get(k) {
        named(ctx, &d.body, &mut out);
        k += 1;
    }
    out
}

/// A hypothesis relates terms without derivatives, over declared indices, and says
/// nothing about a size.
pub fn check_hypothesis(
    ctx: &Context,
    sizes: &BTreeSet<String>,
    lhs: &Expr,
    rhs: &Expr,
) -> Result<(), String> {
    for side in [lhs, rhs] {
        if side.any(&mut |t| matches!(t, Expr::D(_, _))) {
            return Err("a hypothesis cannot contain a derivative".into());
        }
        if let Some(n) = sizes.iter().find(|n| reaches_value(ctx, side, n)) {
            return Err(format!(
                "`{n}` bounds an index range, so a hypothesis cannot constrain it"
            ));
        }
        declared(ctx, side, "hypothesis")?;
    }
    Ok(())
}

/// The goal `D(of, wrt)`, or any term the kernel starts a chain from: every derivative in
/// it is with respect to an independent variable.
pub fn check_goal(ctx: &Context, goal: &Expr) -> Result<(), String> {
    check_context(ctx).map_err(|(item, m)| item.describe(&m))?;
    check_goal_term(ctx, goal)
}

/// A goal's own checks, once its context has passed [`check_context`].
pub fn check_goal_term(ctx: &Context, goal: &Expr) -> Result<(), String> {
    walk_names(ctx, &sizes(ctx), goal, &mut Vec::new())?;
    // A size only the goal's sums run to is a size all the same (`sum_{k=1}^{m}(1)` with
    // `let m = x` or `assume m = 5/2` would count terms that are not there).
    let mut own = BTreeSet::new();
    goal.any_once(&mut |t| {
        if let Expr::Sum(s) = t {
            own.extend([&s.lo, &s.hi].into_iter().filter_map(|b| b.size().map(str::to_string)));
        }
        false
    });
    for n in &own {
        if ctx.definition(n).is_some() {
            return Err(format!(
                "`{n}` bounds an index range, so it is a size and cannot be defined"
            ));
        }
        let sides = ctx.assumptions.iter().flat_map(|a| [&a.lhs, &a.rhs]);
        if sides.into_iter().any(|side| reaches_value(ctx, side, n)) {
            return Err(format!(
                "`{n}` bounds an index range, so a hypothesis cannot constrain it"
            ));
        }
    }
    // A claim about an index over a range with no value (`j in 2..1`, `j in n+1..n`) is
    // about no entry at all, and reads as a result: the goal's free indices and the fixed
    // labels it reaches need ranges that can hold a value.
    for j in goal_indices(ctx, goal) {
        let empty = match ctx.range_of(&j) {
            Some((Bound::Int(lo), Bound::Int(hi))) => lo > hi,
            Some((Bound::Sym(m, lo), Bound::Sym(n, hi))) => m == n && lo > hi,
            _ => false,
        };
        if empty {
            return Err(format!("index `{j}` ranges over no values, so the goal claims nothing"));
        }
    }
    check_labels(&ctx.fixed_labels(), None, goal)?;
    check_derivatives(ctx, goal)
}

/// The goal's free indices and the fixed labels of the definitions it reaches.
pub fn goal_indices(ctx: &Context, goal: &Expr) -> BTreeSet<String> {
    let labels = reached_definitions(ctx, goal).into_iter().flat_map(|d| {
        let own = d.name.free_indices();
        d.body.free_indices().into_iter().filter(move |k| !own.contains(k))
    });
    goal.free_indices().into_iter().chain(labels).collect()
}

impl Item {
    /// `m` said of this item.
    pub fn describe(self, m: &str) -> String {
        match self {
            Item::Indices => format!("index declarations: {m}"),
            Item::Definition(k) => format!("definition {}: {m}", k + 1),
            Item::Hypothesis(k) => format!("hypothesis {}: {m}", k + 1),
        }
    }
}

/// Every defined name in `e` has its definition's number of indices, and every `D(f, x)`
/// is with respect to a variable or a defined name (held as an independent variable, with
/// no other derivative in `f`), not a size, used with the same number of indices as
/// elsewhere, and no range in `f` runs to it.
///
/// Architecture Invariant: the kernel finds a name's definition by the name alone, so a
/// variable `a_1` beside `let a = …` would borrow the facts of `a` (its sign, what it
/// depends on); such a term is refused here, in the goal, the context and every step.
pub fn check_derivatives(ctx: &Context, e: &Expr) -> Result<(), String> {
    check_term(ctx, e, &[], None)
}

/// [`check_derivatives`] for a step's new term under the sums `binders`, which also keeps
/// index names in their place there, as [`walk_names`] does for a goal: a ring step's
/// replacement `sum_{k=1}^{i}(…)` would otherwise take the index `i`, which may be 0, as a
/// size (a size is at least 1). And a step brings in no size: a new range runs to a size
/// of the context or one a range of the term `before` the step runs to, never to a
/// variable (`sum_{k=1}^{y}(1)` for `y` would make `y >= 1`).
pub fn check_term(
    ctx: &Context,
    e: &Expr,
    binders: &[super::Binder],
    before: Option<&Expr>,
) -> Result<(), String> {
    // The walk meets a sum before its body, so `bound` holds every sum around a node.
    let mut bound: BTreeSet<String> = binders.iter().map(|(b, ..)| b.clone()).collect();
    let is_index =
        |n: &str, bound: &BTreeSet<String>| ctx.range_of(n).is_some() || bound.contains(n);
    // One walk; the sizes are worked out at the first derivative, if there is one.
    let (mut known_sizes, mut fault) = (None, None);
    e.any_once(&mut |t| {
        if let Expr::Sum(s) = t {
            bound.insert(s.index.clone());
        }
        fault = match t {
            Expr::D(f, x) => {
                derivative_fault(ctx, known_sizes.get_or_insert_with(|| sizes(ctx)), f, x)
            }
            Expr::Sym(n) if is_index(n, &bound) => {
                Some(format!("`{n}` is an index; it cannot stand as a variable or a number"))
            }
            Expr::Sym(n) | Expr::Idx(n, _) => arity_fault(ctx, n, t),
            Expr::Sum(s) => [&s.lo, &s.hi].into_iter().find_map(|b| {
                let n = b.size()?;
                if is_index(n, &bound) {
                    return Some(format!("the range bound `{b}` is an index, not a size"));
                }
                let t = before?;
                let known = known_sizes.get_or_insert_with(|| sizes(ctx)).contains(n);
                (!known && !runs_to(t, n))
                    .then(|| format!("the range bound `{b}` is not a size here"))
            }),
            _ => None,
        };
        fault.is_some()
    });
    fault.map_or(Ok(()), Err)
}

/// `t`, a use of the name `n`, has fewer or more indices than `n`'s definition.
fn arity_fault(ctx: &Context, n: &str, t: &Expr) -> Option<String> {
    let defined = ctx.definition(n)?;
    let (used, wanted) = (t.indices().count(), defined.name.indices().count());
    let count = |k: usize| if k == 1 { "1 index".to_string() } else { format!("{k} indices") };
    (used != wanted).then(|| {
        let (used, wanted) = (count(used), count(wanted));
        format!("`{t}` has {used}, but `{n}` is defined with {wanted} (as `{}`)", defined.name)
    })
}

fn derivative_fault(ctx: &Context, sizes: &BTreeSet<String>, f: &Expr, x: &Expr) -> Option<String> {
    let Some(n) = name_of(x) else {
        return Some(format!(
            "cannot differentiate with respect to `{x}`: it is not a variable or a defined name"
        ));
    };
    // A defined name is held as an independent variable, which another derivative inside
    // would have to unfold.
    if ctx.definition(n).is_some() && f.any(&mut |t| matches!(t, Expr::D(..))) {
        return Some(format!(
            "a derivative with respect to the defined name `{n}` cannot contain another derivative"
        ));
    }
    if sizes.contains(n) || runs_to(f, n) {
        return Some(format!(
            "cannot differentiate with respect to `{n}`: it bounds an index range, and a sum \
             is not differentiable in the number of its terms"
        ));
    }
    let other_arity =
        |u: &Expr| name_of(u) == Some(n) && u.indices().count() != x.indices().count();
    let mut terms =
        std::iter::once(f).chain(ctx.definitions.iter().flat_map(|d| [&d.name, &d.body]));
    let clash = terms.any(|t| t.any(&mut |u| other_arity(u)));
    clash.then(|| match x {
        Expr::Sym(_) => format!(
            "`{n}` has indices elsewhere (as in `{n}_i`): differentiate with respect to a component, such as `{n}_j`"
        ),
        _ => format!("`{x}` has a different number of indices than `{n}` has elsewhere"),
    })
}
