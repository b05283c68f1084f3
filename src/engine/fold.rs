//! Definitions: unfold every defined name before differentiating, and fold the result
//! back into the user's names wherever that is shorter (`exp(z_i)/sum_k(exp(z_k))` → `a_i`).

use super::algebra::{factor, term_expr, to_expr, to_terms, Factor, Key, Term};
use super::differentiate::step_with;
use super::simplify::{candidates, find_path_within};
use super::{Driver, EngineError};
use crate::expr::{Context, Definition, Expr, Func, Index};
use crate::kernel::{rewrite, Step};
use crate::rules::RuleId;
use crate::terms::ExprExt;
use std::collections::BTreeSet;

/// Most index assignments tried when looking for an instance of a definition.
const MAX_ASSIGNMENTS: usize = 64;

/// The first defined name to unfold in `e`: not the variable of a derivative, and not
/// inside a derivative with respect to that name, which holds it as a variable.
fn defined_name_path(ctx: &Context, e: &Expr) -> Option<Vec<usize>> {
    defined_name_path_keeping(ctx, e, &[], &[])
}

/// [`defined_name_path`], keeping also each name `a` inside a derivative with respect to
/// `x` where `(a, x)` is in `kept`: an earlier goal found `∂a/∂x`, which is used instead.
/// `enclosing` are the variables of the derivatives `e` stands in.
fn defined_name_path_keeping(
    ctx: &Context,
    e: &Expr,
    kept: &[(String, String)],
    enclosing: &[String],
) -> Option<Vec<usize>> {
    fn go(
        ctx: &Context,
        e: &Expr,
        held: &mut Vec<String>,
        kept: &[(String, String)],
    ) -> Option<Vec<usize>> {
        if ctx.is_defined(e) && !held.contains(&name_of(e)) {
            return Some(vec![]);
        }
        if let Expr::D(f, x) = e {
            let depth = held.len();
            held.push(name_of(x));
            let known = kept.iter().filter(|(_, v)| *v == name_of(x)).map(|(a, _)| a.clone());
            held.extend(known);
            let p = go(ctx, f, held, kept);
            held.truncate(depth);
            return p.map(|p| [0].into_iter().chain(p).collect());
        }
        for (i, c) in e.children().enumerate() {
            if let Some(mut p) = go(ctx, c, held, kept) {
                p.insert(0, i);
                return Some(p);
            }
        }
        None
    }
    go(ctx, e, &mut enclosing.to_vec(), kept)
}

fn name_of(e: &Expr) -> String {
    e.variable_name().cloned().unwrap_or_default()
}

fn unfold_step(ctx: &Context, e: &Expr, path: Vec<usize>) -> Step {
    let mut step = RuleId::UnfoldDefinition.step(path);
    step.uses = e.at(&step.position).map(name_of);
    let _ = ctx;
    step
}

/// Unfold every defined name below `path`, in the proof.
pub fn unfold_all(d: &mut Driver, path: &[usize]) -> Result<(), EngineError> {
    unfold_all_keeping(d, path, &[])
}

/// [`unfold_all`], but the names `kept` keeps (see [`defined_name_path_keeping`]).
fn unfold_all_keeping(
    d: &mut Driver,
    path: &[usize],
    kept: &[(String, String)],
) -> Result<(), EngineError> {
    // The variables of the derivatives around `path` stay: `a_i = exp(u_i)/…` unfolded
    // inside `D(a_i, u_j)` keeps `u_i`.
    let enclosing =
        crate::kernel::locate(d.current(), path).map(|l| l.variables).unwrap_or_default();
    while let Some(rel) =
        d.at(path).and_then(|e| defined_name_path_keeping(d.ctx(), e, kept, &enclosing))
    {
        let full: Vec<usize> = path.iter().copied().chain(rel).collect();
        let step = unfold_step(d.ctx(), d.current(), full);
        d.apply(step)?;
    }
    Ok(())
}

/// Unfold every defined name inside a derivative: a name outside every derivative (an
/// earlier result's `a_i` beside `D(l, a_i)`) stays, as the textbook keeps it.
pub fn unfold_in_derivatives(d: &mut Driver) -> Result<(), EngineError> {
    // A name whose derivative an earlier goal found stays folded: differentiating it
    // takes that result (`differentiate.rs`).
    let kept = super::lemmas::differentiated_names(d);
    let outside = |e: &Expr| !matches!(e, Expr::D(..));
    loop {
        let ctx = d.ctx();
        let unfoldable =
            |e: &Expr| !outside(e) && defined_name_path_keeping(ctx, e, &kept, &[]).is_some();
        let Some(path) = find_path_within(d.current(), &unfoldable, &outside) else {
            return Ok(());
        };
        unfold_all_keeping(d, &path, &kept)?;
    }
}

/// Unfold every name defined as a Kronecker delta (the one-hot `y_i = delta(i,k)`): an
/// earlier result may hold one, and the delta is what lets a sum collapse. The last
/// pass folds what remains back.
pub fn unfold_deltas(d: &mut Driver) -> Result<(), EngineError> {
    let ctx = d.ctx().clone();
    let is_delta = |e: &Expr| {
        let def = e.variable_name().and_then(|n| ctx.definition(n));
        def.is_some_and(|def| matches!(def.body, Expr::Delta(..)))
    };
    // Outside derivatives: inside one, unfolding is the differentiation's business.
    let outside = |e: &Expr| !matches!(e, Expr::D(..));
    while let Some(path) = find_path_within(d.current(), &is_delta, &outside) {
        let step = unfold_step(&ctx, d.current(), path);
        d.apply(step)?;
    }
    Ok(())
}

/// Most names [`unfold_all_expr`] unfolds one by one before it gives up.
const UNFOLD_STEPS: usize = 10_000;

/// `e` with every defined name unfolded, as the kernel unfolds it.
pub fn unfold_all_expr(ctx: &Context, e: &Expr) -> Option<Expr> {
    let mut e = e.clone();
    for _ in 0..UNFOLD_STEPS {
        let Some(path) = defined_name_path(ctx, &e) else {
            return Some(e);
        };
        let step = unfold_step(ctx, &e, path);
        e = rewrite(ctx, &e, &step).ok()?.0;
    }
    None
}

/// [`unfold_all_expr`] of a name without indices defined as `body`, from the unfoldings
/// `known` of the names it holds, when they are all known names without indices and `body`
/// has no index, sum or derivative (so unfolding is plain substitution, as the kernel does
/// it): a chain of n definitions is unfolded in n substitutions, not n² kernel steps.
fn unfolded_from(
    ctx: &Context,
    body: &Expr,
    known: &std::collections::HashMap<String, Expr>,
) -> Option<Expr> {
    // Each node put back in parser shape, as the kernel's splice does (`-a` with `a := 3`
    // is the number `-3`).
    fn put(e: &Expr, known: &std::collections::HashMap<String, Expr>) -> Expr {
        match e {
            Expr::Sym(n) => known.get(n).cloned().unwrap_or_else(|| e.clone()),
            _ if e.children().next().is_none() => e.clone(),
            _ => e.map_children(|c| put(c, known)).reshape(),
        }
    }
    let plain = !body.any(&mut |t| match t {
        Expr::Sym(n) => ctx.is_defined(t) && !known.contains_key(n),
        _ => matches!(t, Expr::Idx(..) | Expr::Delta(..) | Expr::Sum(_) | Expr::D(..)),
    });
    // Unfolded, a term that shares its parts can be exponentially larger as a tree, which
    // the kernel's unfolding gives up on (and later walks would pay): those go its way.
    let unfolded = plain.then(|| put(body, known))?;
    let within = !crate::terms::more_nodes_than(&[&unfolded], UNFOLD_STEPS)
        && unfolded.depth() <= crate::expr::MAX_DEPTH;
    within.then_some(unfolded)
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

type Instances = std::rc::Rc<Vec<(Expr, Expr)>>;
type SharedFolds = std::rc::Rc<Folds>;
/// Instance lists by the definitions and index values they were made for.
type FoldsCache = Vec<((Vec<Definition>, Vec<Index>), SharedFolds)>;

thread_local! {
    /// Recent instance lists: every fold of a derivation's candidates needs the same ones.
    static INSTANCES: std::cell::RefCell<FoldsCache> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Instances of every definition over the given index values, with their unfoldings.
fn instances(ctx: &Context, values: &[Index]) -> SharedFolds {
    let hit = INSTANCES.with(|c| {
        c.borrow()
            .iter()
            .find(|((defs, vals), _)| *defs == ctx.definitions && vals == values)
            .map(|(_, i)| i.clone())
    });
    if let Some(i) = hit {
        return i;
    }
    let made = std::rc::Rc::new(Folds::new(std::rc::Rc::new(compute_instances(ctx, values))));
    INSTANCES.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 8 {
            c.remove(0);
        }
        c.push(((ctx.definitions.clone(), values.to_vec()), made.clone()));
    });
    made
}

fn compute_instances(ctx: &Context, values: &[Index]) -> Vec<(Expr, Expr)> {
    let mut out = Vec::new();
    let mut unfolded_names = std::collections::HashMap::new();
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
            let by_names = || unfolded_from(ctx, &def.body, &unfolded_names);
            let unfolded = match &name {
                Expr::Sym(n) => by_names().or_else(|| unfold_all_expr(ctx, &name)).inspect(|u| {
                    unfolded_names.insert(n.clone(), u.clone());
                }),
                _ => unfold_all_expr(ctx, &name),
            };
            if let Some(body) = unfolded {
                // `r = sqrt(s)` also names `s` as `r^2`: a sum of squares inside a norm.
                if let Expr::Call(Func::Sqrt, inner) = &body {
                    out.push((Expr::pow(name.clone(), Expr::int(2)), (**inner).clone()));
                }
                // The body with the names inside it folded, as folding bottom-up meets it.
                if let Ok((once, ..)) = rewrite(ctx, &name, &unfold_step(ctx, &name, vec![])) {
                    if let (Expr::Call(Func::Sqrt, inner), Expr::Call(Func::Sqrt, _)) =
                        (&once, &body)
                    {
                        if once != body {
                            out.push((Expr::pow(name.clone(), Expr::int(2)), (**inner).clone()));
                        }
                    }
                    if once != body {
                        out.push((name.clone(), once));
                    }
                }
                out.push((name, body));
            }
        }
    }
    out
}

/// Whether some definition's body is a sum or the square root of one: a sum a split or a
/// move exposes may then fold into its name, so sizes are compared folded.
pub fn folds_sums(ctx: &Context) -> bool {
    ctx.definitions.iter().any(|def| match &def.body {
        Expr::Sum(_) => true,
        Expr::Call(Func::Sqrt, inner) => matches!(**inner, Expr::Sum(_)) || ctx.is_defined(inner),
        _ => false,
    })
}

/// The size of `e` once definitions are folded into it, where a sum could fold.
pub fn folded_size(ctx: &Context, e: &Expr) -> usize {
    if folds_sums(ctx) {
        fold_variants(ctx, e).iter().map(Expr::size).fold(e.size(), usize::min)
    } else {
        e.size()
    }
}

fn symbol_names(e: &Expr) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    e.any(&mut |t| {
        if let Expr::Sym(s) | Expr::Idx(s, _) = t {
            out.insert(s.clone());
        }
        false
    });
    out
}

/// Whether two sums over one range have ring-equal summands, up to the bound name.
fn same_sum(a: &Expr, b: &Expr) -> bool {
    let (Expr::Sum(x), Expr::Sum(y)) = (a, b) else {
        return false;
    };
    if x.lo != y.lo || x.hi != y.hi {
        return false;
    }
    if x.index != y.index && y.body.free_indices().contains(&x.index) {
        return false;
    }
    // Ring arithmetic keeps the names a summand mentions: a cheap test first.
    if symbol_names(&x.body) != symbol_names(&y.body) {
        return false;
    }
    let yb = y.body.subst_index(&y.index, &Index::Name(x.index.clone()));
    crate::kernel::ring::ring_equal(&x.body, &yb).unwrap_or(false)
}

/// Instances with the monomial and multi-term views of their bodies, computed once.
pub struct Folds {
    insts: Instances,
    /// Bodies that are one monomial (`exp(z_i)/s`).
    monomials: Vec<(Expr, Term)>,
    /// Bodies of several terms (`sum_k(W_{p,k}*x_k) + b_p`).
    parts: Vec<(Expr, Vec<Term>)>,
    has_sums: bool,
}

impl Folds {
    fn new(insts: Instances) -> Folds {
        let mut monomials = Vec::new();
        let mut parts = Vec::new();
        for (name, body) in insts.iter() {
            match to_terms(body, false) {
                Ok(ts) if ts.len() == 1 && !ts[0].factors.is_empty() => {
                    monomials.push((name.clone(), ts[0].clone()))
                }
                Ok(ts) if ts.len() >= 2 => parts.push((name.clone(), ts)),
                _ => {}
            }
        }
        let has_sums = insts.iter().any(|(_, b)| matches!(b, Expr::Sum(_)));
        Folds { insts, monomials, parts, has_sums }
    }
}

/// Fold definitions into `e`: whole subterms, and monomial definitions inside products.
pub fn fold_expr(ctx: &Context, e: &Expr) -> Expr {
    let folds = instances(ctx, &index_values(e));
    if folds.insts.is_empty() {
        return e.clone();
    }
    fold_with(ctx, &folds, false, e, 0)
}

/// `e` folded, and also folded with `r^2` preferred for a radicand `s` that another name
/// has too (`n2 = s`, `r = sqrt(n2)`): which reads shorter shows only afterwards.
fn fold_variants(ctx: &Context, e: &Expr) -> Vec<Expr> {
    let folds = instances(ctx, &index_values(e));
    if folds.insts.is_empty() {
        return vec![e.clone()];
    }
    let mut out = vec![fold_with(ctx, &folds, false, e, 0)];
    if folds.insts.iter().any(|(n, _)| matches!(n, Expr::Pow(_, _))) {
        let powers = fold_with(ctx, &folds, true, e, 0);
        if powers != out[0] {
            out.push(powers);
        }
    }
    out
}

fn fold_with(ctx: &Context, folds: &Folds, powers: bool, e: &Expr, depth: usize) -> Expr {
    if depth > crate::expr::MAX_DEPTH {
        return e.clone();
    }
    let insts = &folds.insts;
    let is_power = |n: &Expr| matches!(n, Expr::Pow(_, _));
    let first = powers.then(|| insts.iter().find(|(n, body)| is_power(n) && body == e)).flatten();
    if let Some((name, _)) = first.or_else(|| insts.iter().find(|(_, body)| body == e)) {
        return name.clone();
    }
    // A sum matches a sum-bodied definition up to the order of its factors and the names
    // already folded into it (`sum_k(a_k*v_k)` is `g` when `g = sum_i(v_i*a_i)`).
    if folds.has_sums && matches!(e, Expr::Sum(_)) {
        let unfolded = unfold_all_expr(ctx, e).unwrap_or_else(|| e.clone());
        if let Some((name, _)) =
            insts.iter().find(|(_, body)| *body == unfolded || same_sum(&unfolded, body))
        {
            return name.clone();
        }
    }
    let e = e.map_children(|c| fold_with(ctx, folds, powers, c, depth + 1));
    if !matches!(e, Expr::Mul(_) | Expr::Div(_, _) | Expr::Add(_) | Expr::Neg(_)) {
        return e;
    }
    let Ok(mut terms) = to_terms(&e, false) else {
        return e;
    };
    // A definition whose body is a sum folds where its terms stand among a sum's terms:
    // `sum_k(W_{p,k}*x_k) + b_p - t_p` with `y_p = sum_k(W_{p,k}*x_k) + b_p` is `y_p - t_p`.
    if matches!(e, Expr::Add(_)) {
        for (name, parts) in &folds.parts {
            if parts.len() > terms.len() {
                continue;
            }
            if let Some(rest) = remove_terms(&terms, parts) {
                terms = rest;
                terms.insert(0, Term::base(name.clone()));
            }
        }
    }
    if folds.monomials.is_empty() {
        return to_expr(&terms);
    }
    let folded: Vec<Term> = terms.into_iter().map(|t| fold_term(t, &folds.monomials)).collect();
    to_expr(&folded)
}

/// `terms` without each of `parts` (same bases and coefficient), if all are there.
fn remove_terms(terms: &[Term], parts: &[Term]) -> Option<Vec<Term>> {
    let mut rest: Vec<Term> = terms.to_vec();
    for p in parts {
        let at = rest.iter().position(|t| t.coeff == p.coeff && same_bases(t, p))?;
        rest.remove(at);
    }
    Some(rest)
}

fn same_bases(a: &Term, b: &Term) -> bool {
    a.factors.len() == b.factors.len()
        && a.factors.iter().all(|f| b.factors.iter().any(|g| g.key == f.key && g.exp == f.exp))
}

/// Divide out monomial definitions while one divides the term; then fold a definition
/// whose compound factors the term holds, making up the plain ones (`log(s)` is `t/T`
/// when `t = T*log(s)`), where that is shorter.
fn fold_term(mut t: Term, monomials: &[(Expr, Term)]) -> Term {
    for _ in 0..32 {
        let hit = monomials.iter().find(|(_, m)| divides(m, &t));
        let Some((name, m)) = hit else { break };
        t = divide_out(&t, name, m);
    }
    for (name, m) in monomials {
        let compound: Vec<&Factor> = m
            .factors
            .iter()
            .filter(|f| !matches!(f.base, Expr::Sym(_) | Expr::Idx(_, _)))
            .collect();
        let held = |f: &Factor| {
            t.factors.iter().any(|g| {
                g.key == f.key && g.exp.signum() == f.exp.signum() && g.exp.abs() >= f.exp.abs()
            })
        };
        if compound.is_empty() || !compound.into_iter().all(held) {
            continue;
        }
        let folded = divide_out(&t, name, m);
        if term_expr(&folded).size() < term_expr(&t).size() {
            t = folded;
        }
    }
    t
}

/// `t / m * name`.
fn divide_out(t: &Term, name: &Expr, m: &Term) -> Term {
    let mut out = Term { coeff: &t.coeff / &m.coeff, factors: t.factors.clone() };
    for f in &m.factors {
        match out.factors.iter_mut().find(|g| g.key == f.key) {
            Some(g) => g.exp -= f.exp,
            None => out.factors.push(Factor { exp: -f.exp, ..f.clone() }),
        }
    }
    out.factors.retain(|g| g.exp != 0);
    out.factors.push(Factor { base: name.clone(), exp: 1, key: Key::of(name.clone()) });
    out
}

fn divides(m: &Term, t: &Term) -> bool {
    m.factors.iter().all(|f| {
        t.factors.iter().any(|g| {
            g.key == f.key && g.exp.signum() == f.exp.signum() && g.exp.abs() >= f.exp.abs()
        })
    })
}

/// The last pass: take index-free factors into sums whose summand then folds, combine
/// sums over one range, pick the smallest form with definitions folded, prove it, and
/// write `exp(v*log(u))` back as `u^v`.
pub fn finish(d: &mut Driver) -> Result<(), EngineError> {
    let has_definitions = !d.ctx().definitions.is_empty();
    if has_definitions && super::sums::absorb(d)? {
        super::simplify::simplify(d)?;
    }
    super::sums::combine(d)?;
    if has_definitions {
        fold_best(d)?;
    }
    unpower(d)?;
    rename_clashing_sums(d)?;
    labels_last(d)
}

/// `delta(j, k)`, not `delta(k, j)`, for a fixed label `k`: the label reads as a constant,
/// as the second index.
fn labels_last(d: &mut Driver) -> Result<(), EngineError> {
    let labels = d.ctx().fixed_labels().into_keys().collect::<BTreeSet<_>>();
    let is_label = |i: &Index| matches!(i, Index::Name(n) if labels.contains(n));
    fn find(e: &Expr, wrong: &dyn Fn(&Index, &Index) -> bool) -> Option<Vec<usize>> {
        if matches!(e, Expr::Delta(a, b) if wrong(a, b)) {
            return Some(Vec::new());
        }
        e.children().enumerate().find_map(|(n, c)| {
            let mut p = find(c, wrong)?;
            p.insert(0, n);
            Some(p)
        })
    }
    let wrong = |a: &Index, b: &Index| is_label(a) && !is_label(b);
    while let Some(path) = find(d.current(), &wrong) {
        let Some(Expr::Delta(a, b)) = d.at(&path).cloned() else { break };
        let mut step = Step::new("delta-symmetric", path);
        step.binding.indices.insert("k".into(), a);
        step.binding.indices.insert("j".into(), b);
        d.apply(step)?;
    }
    Ok(())
}

/// `e` with the numerator `N` of each quotient definition `y = N/M` it holds written as
/// `y*M`, and then a radicand `S` of `M` outside its root as `sqrt(S)^2`, so the result can
/// cancel `M`: `(sqrt(v+eps)*A - xh_i*(x_j - mu))/(v + eps)` gives
/// `(sqrt(v+eps)*A - xh_i*xh_j*sqrt(v+eps))/sqrt(v+eps)^2`, which is `(A - xh_i*xh_j)/sqrt(v+eps)`.
fn quotient_variants(ctx: &Context, e: &Expr) -> Vec<Expr> {
    let folds = instances(ctx, &index_values(e));
    let mut out = Vec::new();
    // Each definition on its own, then all of them together.
    let mut all = e.clone();
    for (name, body) in folds.insts.iter() {
        let Expr::Div(num, den) = body else { continue };
        if !e.any(&mut |t| t == &**num) {
            continue;
        }
        let named = Expr::mul(vec![name.clone(), (**den).clone()]);
        let square_roots = |mut v: Expr| {
            den.any(&mut |t| {
                if let Expr::Call(Func::Sqrt, radicand) = t {
                    v = square_outside_root(&v, radicand, 0);
                }
                false
            });
            v
        };
        out.push(square_roots(replace_all(e, num, &named, 0)));
        all = square_roots(replace_all(&all, num, &named, 0));
    }
    if out.len() > 1 {
        out.push(all);
    }
    out
}

/// `e` with each `from` replaced by `to`.
fn replace_all(e: &Expr, from: &Expr, to: &Expr, depth: usize) -> Expr {
    if e == from {
        return to.clone();
    }
    if depth > crate::expr::MAX_DEPTH {
        return e.clone();
    }
    e.map_children(|c| replace_all(c, from, to, depth + 1))
}

/// `e` with each `s` outside a square root written `sqrt(s)^2`.
fn square_outside_root(e: &Expr, s: &Expr, depth: usize) -> Expr {
    if e == s {
        return Expr::pow(Expr::call(Func::Sqrt, s.clone()), Expr::int(2));
    }
    if depth > crate::expr::MAX_DEPTH || matches!(e, Expr::Call(Func::Sqrt, _)) {
        return e.clone();
    }
    e.map_children(|c| square_outside_root(c, s, depth + 1))
}

/// Forms of `e` with definitions folded: each candidate form folded, and the candidates
/// of that.
fn folded_candidates(ctx: &Context, e: &Expr) -> Vec<Expr> {
    let mut cands: Vec<Expr> = Vec::new();
    let quotients = quotient_variants(ctx, e).into_iter().flat_map(|q| candidates(&q));
    for c in std::iter::once(e.clone()).chain(candidates(e)).chain(quotients) {
        for folded in fold_variants(ctx, &c) {
            if let Ok(terms) = to_terms(&folded, false) {
                if let Some(f) = factor(&terms) {
                    cands.push(f);
                }
            }
            cands.extend(candidates(&folded));
            cands.push(folded);
        }
    }
    cands
}

/// Replace the current term by its smallest folded form the kernel accepts.
fn fold_best(d: &mut Driver) -> Result<(), EngineError> {
    let e = d.current().clone();
    let ctx = d.ctx().clone();
    let mut cands = folded_candidates(&ctx, &e);
    // Smallest first; of equal size, the one that names more definitions and so reads in
    // the goal's own indices (`a_j - y_j` for `a_j - delta(j,k)` with `y_i = delta(i,k)`,
    // but not `-y_j/a_k` for `-delta(j,k)/a_k`).
    let labels: BTreeSet<String> = ctx.fixed_labels().into_keys().collect();
    let names = |t: &Expr| {
        if !t.free_indices().is_disjoint(&labels) {
            return 0;
        }
        let mut n = 0usize;
        t.any(&mut |x| {
            n += usize::from(ctx.is_defined(x));
            false
        });
        n
    };
    let key = |t: &Expr| (t.size(), std::cmp::Reverse(names(t)));
    cands.sort_by_cached_key(key);
    cands.dedup();
    // A fold that divides by what may be zero (`f*(3/x + 2)` for `f = x^3*exp(2*x)`) adds a
    // condition the derivative does not have: shorter, but true on less of the domain.
    let conditions: BTreeSet<_> = d.proof.hypotheses().into_iter().collect();
    for c in cands {
        if key(&c) >= key(&e) {
            break;
        }
        let mut trial = d.clone();
        if prove_folded(&mut trial, &[], &c).is_ok()
            && trial.proof.hypotheses().iter().all(|h| conditions.contains(h))
        {
            *d = trial;
            break;
        }
    }
    Ok(())
}

/// A sum whose bound index is also free outside it gets a fresh name, for the reader:
/// `(r*delta(i,j) - …)/sum_k(x_k^2)`, not `…/sum_i(x_i^2)` beside a free `i`.
pub fn rename_clashing_sums(d: &mut Driver) -> Result<(), EngineError> {
    // A fixed label is free everywhere, even where the term does not mention it.
    let mut free = d.current().free_indices();
    free.extend(d.ctx().fixed_labels().into_keys());
    let ctx = d.ctx().clone();
    // A machine-made bound name (`i1`, from renaming apart) where a declared index of the
    // sum's range is unused: `sum_i1(d_i1)` reads `sum_i(d_i)`.
    let machine_made = |e: &Expr, s: &crate::expr::Sum| {
        let declared = |n: &String| ctx.indices.iter().any(|decl| decl.names.contains(n));
        let numbered = s.index.ends_with(|c: char| c.is_ascii_digit());
        let mut used = e.all_index_names();
        used.extend(free.iter().cloned());
        numbered
            && !declared(&s.index)
            && ctx
                .indices
                .iter()
                .filter(|decl| decl.lo == s.lo && decl.hi == s.hi)
                .any(|decl| decl.names.iter().any(|n| !used.contains(n)))
    };
    for _ in 0..64 {
        let current = d.current().clone();
        let clash = first_sum_binding(&current, &free, &mut Vec::new());
        let Some(path) = clash.or_else(|| {
            find_path_within(
                &current,
                &|t| matches!(t, Expr::Sum(s) if machine_made(&current, s)),
                &|_| true,
            )
        }) else {
            return Ok(());
        };
        let Some(Expr::Sum(s)) = d.at(&path).cloned() else {
            return Ok(());
        };
        let mut avoid = crate::terms::taken_names(d.ctx(), d.current());
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
            ..crate::expr::Sum::clone(&s)
        };
        let mut step = RuleId::RenameBoundIndex.step(path);
        step.replacement = Some(Expr::Sum(std::sync::Arc::new(renamed)));
        d.apply(step)?;
    }
    Ok(())
}

/// The first sum whose bound index is one of `names` or shadows an enclosing sum's
/// (`sum_i(h_i*(y_i - a_i*sum_i(y_i)))` reads better with `sum_k(y_k)` inside).
fn first_sum_binding(
    e: &Expr,
    names: &BTreeSet<String>,
    path: &mut Vec<usize>,
) -> Option<Vec<usize>> {
    fn go(
        e: &Expr,
        names: &BTreeSet<String>,
        bound: &mut Vec<String>,
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        if let Expr::Sum(s) = e {
            if names.contains(&s.index) || bound.contains(&s.index) {
                return Some(path.clone());
            }
            bound.push(s.index.clone());
        }
        let mut found = None;
        for (i, c) in e.children().enumerate() {
            path.push(i);
            found = go(c, names, bound, path);
            path.pop();
            if found.is_some() {
                break;
            }
        }
        if matches!(e, Expr::Sum(_)) {
            bound.pop();
        }
        found
    }
    go(e, names, &mut Vec::new(), path)
}

/// Reach `target` (which mentions defined names) from the subterm at `path`: bring it to
/// `target` with the names it lacks unfolded, by ring arithmetic (writing a sum `s` as
/// `sqrt(s)^2` where `r = sqrt(s)` folds), then fold those names.
pub fn prove_folded(d: &mut Driver, path: &[usize], target: &Expr) -> Result<(), EngineError> {
    let ctx = d.ctx().clone();
    let here =
        d.at(path).cloned().ok_or_else(|| EngineError::Unsupported("no such position".into()))?;
    let present = defined_instances(&ctx, &here);
    let partly = unfold_absent(&ctx, target, &present, 0)
        .ok_or_else(|| EngineError::Unsupported("cannot unfold".into()))?;
    let mut trial = d.clone();
    if trial.ring(path, partly.clone()).is_err() {
        trial = d.clone();
        let roots = radicands(&partly);
        if !square_norms(&mut trial, path, &roots)? || trial.ring(path, partly).is_err() {
            // Unfold the subterm as well and meet the target fully unfolded.
            trial = d.clone();
            unfold_all(&mut trial, path)?;
            let unfolded = unfold_all_expr(&ctx, target)
                .ok_or_else(|| EngineError::Unsupported("cannot unfold".into()))?;
            square_norms(&mut trial, path, &radicands(&unfolded))?;
            trial.ring(path, unfolded)?;
        }
    }
    fold_into(&mut trial, target, &mut path.to_vec())?;
    *d = trial;
    Ok(())
}

/// The instances of defined names in `e`.
fn defined_instances(ctx: &Context, e: &Expr) -> Vec<Expr> {
    let mut out = Vec::new();
    e.any(&mut |t| {
        if ctx.is_defined(t) && !out.contains(t) {
            out.push(t.clone());
        }
        false
    });
    out
}

/// `e` with every defined name not in `keep` unfolded, through the bodies.
fn unfold_absent(ctx: &Context, e: &Expr, keep: &[Expr], depth: usize) -> Option<Expr> {
    if depth > 64 {
        return None;
    }
    if ctx.is_defined(e) {
        if keep.contains(e) {
            return Some(e.clone());
        }
        let once = rewrite(ctx, e, &unfold_step(ctx, e, vec![])).ok()?.0;
        return unfold_absent(ctx, &once, keep, depth + 1);
    }
    let mut failed = false;
    let out = e.map_children(|c| {
        unfold_absent(ctx, c, keep, depth + 1).unwrap_or_else(|| {
            failed = true;
            c.clone()
        })
    });
    (!failed).then_some(out)
}

/// The radicands of the square roots in `e`.
fn radicands(e: &Expr) -> Vec<Expr> {
    let mut out = Vec::new();
    e.any(&mut |t| {
        if let Expr::Call(Func::Sqrt, inner) = t {
            out.push((**inner).clone());
        }
        false
    });
    out
}

/// Write each sum `s` below `path` that some `r = sqrt(s)` names, or that is one of the
/// target's `roots`, (outside the square root itself) as `sqrt(s)^2`; whether there was one.
fn square_norms(d: &mut Driver, path: &[usize], roots: &[Expr]) -> Result<bool, EngineError> {
    let ctx = d.ctx().clone();
    let Some(here) = d.at(path).cloned() else {
        return Ok(false);
    };
    let mut radicands: Vec<Expr> = instances(&ctx, &index_values(&here))
        .insts
        .iter()
        .filter_map(|(_, body)| match body {
            Expr::Call(Func::Sqrt, inner) => Some((**inner).clone()),
            _ => None,
        })
        .collect();
    radicands.extend(roots.iter().cloned());
    if radicands.is_empty() {
        return Ok(false);
    }
    let mut spots = Vec::new();
    radicand_paths(&here, &radicands, &mut path.to_vec(), &mut spots);
    for spot in &spots {
        let Some(u) = d.at(spot).cloned() else {
            continue;
        };
        let mut step = step_with(RuleId::SqrtSquared, spot, &[("U", &u)]);
        step.reversed = true;
        d.apply(step)?;
    }
    Ok(!spots.is_empty())
}

fn radicand_paths(e: &Expr, radicands: &[Expr], path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if let Expr::Call(Func::Sqrt, _) = e {
        return;
    }
    if radicands.contains(e) {
        out.push(path.clone());
        return;
    }
    for (i, c) in e.children().enumerate() {
        path.push(i);
        radicand_paths(c, radicands, path, out);
        path.pop();
    }
}

/// Fold, innermost first, every defined name of `target` at its position.
fn fold_into(d: &mut Driver, target: &Expr, path: &mut Vec<usize>) -> Result<(), EngineError> {
    let ctx = d.ctx().clone();
    if d.at(path) == Some(target) {
        return Ok(());
    }
    if ctx.is_defined(target) {
        // Fold the definitions inside this one's body first.
        let once = rewrite(&ctx, target, &unfold_step(&ctx, target, vec![]))
            .map_err(|reason| EngineError::Refused {
                step: RuleId::UnfoldDefinition.name().into(),
                at: target.to_string(),
                reason,
            })?
            .0;
        fold_into(d, &once, path)?;
        let mut step = RuleId::FoldDefinition.step(path.clone());
        step.uses = Some(name_of(target));
        step.replacement = Some(target.clone());
        return d.apply(step);
    }
    for (i, c) in target.children().enumerate() {
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
            Expr::Mul(vec![v.clone(), Expr::call(Func::Log, u.clone())].into()),
        );
        let mut trial = d.clone();
        let ok = trial.ring(&path, target).is_ok() && {
            let mut step = step_with(RuleId::PowerAsExp, &path, &[("U", &u), ("V", &v)]);
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
    for (i, c) in e.children().enumerate() {
        if let Some((mut p, u, v)) = find_exp_log(c) {
            p.insert(0, i);
            return Some((p, u, v));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unfolding by substitution gives the kernel's unfolding, numbers put in shape as the
    /// kernel puts them (`-a` with `a := -2` is `2`), and leaves a definition whose unfolded
    /// tree passes the kernel's bound (a doubling chain, a graph of k nodes) to the kernel.
    #[test]
    fn unfolding_by_substitution_is_the_kernels() {
        let files = [
            "let a = -2\nlet b = -a\nlet c = b/4 + a\nlet d = tanh(c)*c\n",
            "let a = 3\nlet b = a/2\nlet c = -(b*a)\nlet d = c\n",
            "let h1 = tanh(x)\nlet h2 = tanh(h1)\nlet h3 = tanh(h2) - h1\n",
        ];
        for text in files {
            let doc = crate::syntax::parse_file(text).expect("parses");
            let ctx = &doc.context;
            let mut known = std::collections::HashMap::new();
            for def in &ctx.definitions {
                let Expr::Sym(n) = &def.name else { unreachable!("names without indices") };
                let kernel = unfold_all_expr(ctx, &def.name).expect("the kernel unfolds it");
                let substituted = unfolded_from(ctx, &def.body, &known).expect("plain");
                assert_eq!(format!("{substituted:?}"), format!("{kernel:?}"), "{n} in {text}");
                known.insert(n.clone(), substituted);
            }
        }
        let mut text = "let a0 = x\n".to_string();
        for i in 1..=16 {
            text += &format!("let a{i} = sin(a{}) + a{}\n", i - 1, i - 1);
        }
        let doc = crate::syntax::parse_file(&text).expect("parses");
        let mut known = std::collections::HashMap::new();
        for def in &doc.context.definitions {
            let Expr::Sym(n) = &def.name else { unreachable!("names without indices") };
            if let Some(u) = unfolded_from(&doc.context, &def.body, &known) {
                known.insert(n.clone(), u);
            }
        }
        // `a_i` has 3*2^i - 2 nodes as a tree: a11 has 6,142, a12 12,286.
        let substituted: BTreeSet<&str> = known.keys().map(String::as_str).collect();
        let expected: BTreeSet<String> = (0..=11).map(|i| format!("a{i}")).collect();
        assert_eq!(substituted, expected.iter().map(String::as_str).collect());
    }
}
