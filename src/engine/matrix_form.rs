//! Results written back in matrix form: `2*x_j*(sum_k(W_{i,k}*x_k) - y_i)` as
//! `2*(W*x - y)*x'`. Untrusted, like every strategy: a proposed form is expanded with the
//! same desugarer the parser uses, and the kernel must prove the component result equal to
//! that expansion (the steps are appended to the proof), so the chain ends at the expansion
//! of the printed form. A form that cannot be proved is not printed.
//!
//! Reading a term at row index `r` and column index `c`: a name's entry is the name
//! (`W_{r,c}` is `W`, `W_{c,r}` is `W'`); a product splits into scalars, factors of the
//! row, of the column and of both (`u_r*v_c` is `u*v'`, `δ_rc*u_r` is `diag(u)`); a sum
//! over `k` of factors of `(r, k)`, of `k` and of `(k, c)` is a matrix product
//! (`sum_k(A_{r,k}*w_k*B_{k,c})` is `A*diag(w)*B`); sums, quotients, powers and functions
//! go entry by entry.

// `EngineError` carries the kernel's error, as everywhere in the engine.
#![allow(clippy::result_large_err)]

use super::{Driver, EngineError};
use crate::expr::{fresh_index, Bound, Context, Expr, Index};
use crate::kernel::ring::{canonical, ring_equal};
use crate::kernel::Proof;
use crate::matrix::{
    expansion, infer_shapes, output_indices, Elementwise, GoalForm, Kind, MFunc, Shapes, M,
};
use crate::rules::Condition;
use crate::terms::ExprExt;
use std::collections::BTreeSet;

/// Shapes for reading `terms` in context: those read off the index notation of the terms
/// (as `deriv check` reads them), then the declared ones over them.
pub fn shapes_for(ctx: &Context, terms: &[&Expr], declared: &Shapes) -> Shapes {
    let mut shapes = infer_shapes(terms, ctx);
    shapes.extend(declared.iter().map(|(k, v)| (k.clone(), v.clone())));
    shapes
}

/// Extend `proof` of `D(of, wrt)` to the expansion of a matrix form of its result, and
/// return that form: for a goal wanted in matrix form (`goal.whole`), through kernel steps;
/// otherwise only where the result already is the expansion of one.
pub fn attach(
    proof: &mut Proof,
    of: &Expr,
    wrt: &Expr,
    goal: &GoalForm,
    declared: &Shapes,
) -> Option<(M, Shapes)> {
    let out = output_indices(of, wrt, proof.context())?;
    // A result that holds only on part of an output index's range (`j in 2..n`, from a sum
    // over `2..n`) is no matrix: the entries outside it are something else. A range `1..m`
    // is a vector of its own length (`sum_{i=1}^{m}(x_i^2)` reads `x` in R^m).
    let narrowed = |c: &Condition| match c {
        Condition::InRange(i, lo, hi) if out.contains(i) => {
            *lo != Bound::Int(1) || !matches!(hi, Bound::Sym(_, 0))
        }
        _ => false,
    };
    if proof.hypotheses().iter().any(narrowed) {
        return None;
    }
    let result = proof.current().clone();
    let ctx = proof.context().clone();
    let shapes = shapes_for(&ctx, &[&result], declared);
    let names = |i: Option<&Index>| match i {
        Some(Index::Name(n)) => Some(n.clone()),
        _ => None,
    };
    let (r, c) = (names(out.first()), names(out.get(1)));
    let mut avoid = result.all_index_names();
    avoid.extend(of.all_index_names());
    avoid.extend(wrt.all_index_names());
    let mut candidates = vec![result.clone()];
    if goal.whole {
        if let Ok(expanded) = canonical(&result, 0) {
            if expanded != result {
                candidates.push(expanded);
            }
        }
    }
    // Scalars first, as a textbook writes a product; or, where only the result as it
    // stands is wanted, its factors in their order.
    let orders: &[bool] = if goal.whole { &[false] } else { &[true, false] };
    let readings = candidates.iter().flat_map(|cand| orders.iter().map(move |&o| (cand, o)));
    for (candidate, as_written) in readings {
        let reader = Reader { shapes: &shapes, ctx: &ctx, bound: Vec::new(), as_written };
        let Some(m) = reader.read(candidate, r.as_deref(), c.as_deref()).map(tidy) else {
            continue;
        };
        let Ok(target) = expansion(&m, &out, &shapes, &ctx, &avoid) else {
            continue;
        };
        let target = canonical_names(&target, &ctx);
        if target == result {
            return Some((m, shapes));
        }
        if !goal.whole {
            continue;
        }
        let mut d = Driver::from_proof(proof.clone());
        if prove(&mut d, &target).is_ok() && *d.current() == target {
            *proof = d.proof;
            return Some((m, shapes));
        }
    }
    None
}

/// `e` with its sums' indices renamed in one way: each takes the first index declared over
/// its range that is neither free nor taken by an enclosing sum, so that two terms built
/// differently name corresponding sums alike (ring arithmetic compares sums' summands by
/// their written index names).
pub fn canonical_names(e: &Expr, ctx: &Context) -> Expr {
    fn go(e: &Expr, ctx: &Context, avoid: &BTreeSet<String>) -> Expr {
        match e {
            Expr::Sum(s) => {
                let mut not = avoid.clone();
                not.extend(s.body.free_indices());
                not.remove(&s.index);
                let declared = ctx
                    .indices
                    .iter()
                    .filter(|d| d.lo == s.lo && d.hi == s.hi)
                    .flat_map(|d| d.names.iter())
                    .find(|n| !not.contains(*n))
                    .cloned();
                let name = match declared {
                    Some(n) => n,
                    None if !not.contains(&s.index) => s.index.clone(),
                    None => fresh_index(&s.index, &not),
                };
                let body = s.body.subst_index(&s.index, &Index::Name(name.clone()));
                let mut inner = avoid.clone();
                inner.insert(name.clone());
                let declared_here = ctx.range_of(&name) == Some((&s.lo, &s.hi));
                Expr::Sum(std::sync::Arc::new(crate::expr::Sum {
                    index: name,
                    explicit_bounds: s.explicit_bounds && !declared_here,
                    body: std::sync::Arc::new(go(&body, ctx, &inner)),
                    ..crate::expr::Sum::clone(s)
                }))
            }
            _ => e.map_children(|c| go(c, ctx, avoid)),
        }
    }
    go(e, ctx, &e.free_indices())
}

/// Rename the indices of the current term's sums as [`canonical_names`] does, one
/// `rename-bound-index` step for each outermost sum that changes.
fn rename_canonically(d: &mut Driver) -> Result<(), EngineError> {
    fn outermost(e: &Expr, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if matches!(e, Expr::Sum(_)) {
            out.push(path.clone());
            return;
        }
        for (i, c) in e.children().enumerate() {
            if !matches!(e, Expr::D(..)) || i == 0 {
                path.push(i);
                outermost(c, path, out);
                path.pop();
            }
        }
    }
    let mut paths = Vec::new();
    outermost(d.current(), &mut Vec::new(), &mut paths);
    let renamed = canonical_names(d.current(), d.ctx());
    for p in paths {
        let (Some(old), Some(new)) = (d.at(&p).cloned(), renamed.at(&p).cloned()) else {
            continue;
        };
        if crate::render::plain::print(&old) != crate::render::plain::print(&new) {
            let mut step = crate::kernel::Step::new("rename-bound-index", p);
            step.replacement = Some(new);
            d.apply(step)?;
        }
    }
    Ok(())
}

/// Steps from the current term to `target`: their sums' indices named alike, then ring
/// arithmetic; failing that, both brought to a normal form where every sum's summand has
/// no factor free of its index (`sum_k(2*u_k)` is `2*sum_k(u_k)`), compared by ring
/// arithmetic, and the steps that brought `target` there replayed backwards.
fn prove(d: &mut Driver, target: &Expr) -> Result<(), EngineError> {
    if d.current() == target {
        return Ok(());
    }
    rename_canonically(d)?;
    if ring_equal(d.current(), target).unwrap_or(false) {
        return d.ring(&[], target.clone());
    }
    let mut from_target = Driver::new(std::sync::Arc::new(d.ctx().clone()), target.clone())?;
    factor_out_of_sums(&mut from_target)?;
    factor_out_of_sums(d)?;
    let normal = from_target.current().clone();
    if !ring_equal(d.current(), &normal).unwrap_or(false) {
        return Err(EngineError::Unsupported("not equal by ring arithmetic".into()));
    }
    d.ring(&[], normal)?;
    for s in from_target.proof.steps().iter().rev() {
        let mut back = s.step.clone();
        match back.rule.as_str() {
            "ring-normalize" | "rename-bound-index" => {
                back.replacement = s.before.at(&back.position).cloned();
            }
            "pull-factor-out-of-sum" => back.reversed = true,
            "sum-linearity" => {
                let before = s.before.at(&back.position).cloned().unwrap_or_else(|| Expr::int(0));
                join_sums(d, &back.position, &before)?;
                continue;
            }
            _ => return Err(EngineError::Unsupported("a step cannot be reversed".into())),
        }
        d.apply(back)?;
    }
    Ok(())
}

/// Take every factor that does not involve a sum's index out of the sum, innermost sums
/// first.
fn factor_out_of_sums(d: &mut Driver) -> Result<(), EngineError> {
    fn sums(e: &Expr, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        for (i, c) in e.children().enumerate() {
            if !matches!(e, Expr::D(..)) || i == 0 {
                path.push(i);
                sums(c, path, out);
                path.pop();
            }
        }
        if matches!(e, Expr::Sum(_)) {
            out.push(path.clone());
        }
    }
    let mut paths = Vec::new();
    sums(d.current(), &mut Vec::new(), &mut paths);
    for path in paths {
        split_sum(d, &path)?;
    }
    Ok(())
}

/// The sum at `path` with its summand multiplied out and split into one sum per term,
/// each with its constant factors taken out.
fn split_sum(d: &mut Driver, path: &[usize]) -> Result<(), EngineError> {
    let Some(Expr::Sum(s)) = d.at(path).cloned() else { return Ok(()) };
    let body_path: Vec<usize> = path.iter().copied().chain([0]).collect();
    if let Ok(Expr::Add(terms)) = canonical(&s.body, 0) {
        d.ring(&body_path, Expr::Add(terms.clone()))?;
        d.apply(crate::kernel::Step::new("sum-linearity", path.to_vec()))?;
        for i in 0..terms.len() {
            let p: Vec<usize> = path.iter().copied().chain([i]).collect();
            factor_out(d, &p)?;
        }
        return Ok(());
    }
    factor_out(d, path)
}

/// Take the factors of the sum at `path` that do not involve its index out of it.
fn factor_out(d: &mut Driver, path: &[usize]) -> Result<(), EngineError> {
    let Some(Expr::Sum(s)) = d.at(path).cloned() else { return Ok(()) };
    // The factors as written: a sum of products stays one factor.
    let factors: Vec<Expr> = match &*s.body {
        Expr::Mul(fs) => fs.to_vec(),
        _ => return Ok(()),
    };
    let (c, u): (Vec<Expr>, Vec<Expr>) =
        factors.into_iter().partition(|f| !f.free_indices().contains(&s.index));
    if c.is_empty() || u.is_empty() {
        return Ok(());
    }
    let (ce, ue) = (Expr::mul(c), Expr::mul(u));
    let body_path: Vec<usize> = path.iter().copied().chain([0]).collect();
    d.ring(&body_path, Expr::Mul(vec![ce.clone(), ue.clone()].into()))?;
    let mut step = super::differentiate::step_with(
        crate::rules::RuleId::PullFactorOutOfSum,
        path,
        &[("C", &ce), ("U", &ue)],
    );
    super::simplify::bind_sum(&mut step, &s);
    d.apply(step)
}

/// Undo `sum-linearity` at `path`, whose sum was `before`: the sums joined two at a time
/// by `combine-sums`, then the summand written as it was.
fn join_sums(d: &mut Driver, path: &[usize], before: &Expr) -> Result<(), EngineError> {
    let (Some(Expr::Add(parts)), Expr::Sum(whole)) = (d.at(path).cloned(), before) else {
        return Err(EngineError::Unsupported("not a split sum".into()));
    };
    let nested = parts
        .iter()
        .cloned()
        .reduce(|a, b| Expr::Add(vec![a, b].into()))
        .ok_or_else(|| EngineError::Unsupported("an empty sum".into()))?;
    d.ring(path, nested)?;
    for depth in (0..parts.len() - 1).rev() {
        let at: Vec<usize> = path.iter().copied().chain(std::iter::repeat(0).take(depth)).collect();
        let Some(Expr::Add(pair)) = d.at(&at).cloned() else {
            return Err(EngineError::Unsupported("not a pair of sums".into()));
        };
        let (Expr::Sum(s1), Expr::Sum(s2)) = (&pair[0], &pair[1]) else {
            return Err(EngineError::Unsupported("not a pair of sums".into()));
        };
        let v = s2.body.subst_index(&s2.index, &Index::Name(s1.index.clone()));
        let mut step = super::differentiate::step_with(
            crate::rules::RuleId::CombineSums,
            &at,
            &[("U", &s1.body), ("V", &v)],
        );
        super::simplify::bind_sum(&mut step, s1);
        d.apply(step)?;
    }
    let body_path: Vec<usize> = path.iter().copied().chain([0]).collect();
    d.ring(&body_path, (*whole.body).clone())
}

/// A piece of a product, by the output indices it depends on.
enum Piece {
    Scalar(M),
    /// A column vector over the row index.
    Row(M),
    /// A column vector over the column index (it stands transposed in the product).
    Col(M),
    /// A matrix over both.
    Both(M),
    /// `δ_rc`.
    Delta,
}

/// Reads terms of index notation as matrix expressions.
struct Reader<'a> {
    shapes: &'a Shapes,
    ctx: &'a Context,
    /// Sums entered, innermost last: index and size.
    bound: Vec<(String, Bound)>,
    /// Keep a product's factors in their order where that reads (`h*(o - t)`).
    as_written: bool,
}

fn hadamard(ms: Vec<M>) -> Option<M> {
    ms.into_iter().reduce(|a, b| M::elementwise(Elementwise::Mul, a, b))
}

fn has(e: &Expr, i: Option<&str>) -> bool {
    i.is_some_and(|i| e.free_indices().contains(i))
}

impl Reader<'_> {
    /// The size an index ranges over (`1..size`), bound by a sum or declared.
    fn size(&self, i: &Index) -> Option<Bound> {
        let Index::Name(n) = i else { return None };
        if let Some((_, s)) = self.bound.iter().rev().find(|(b, _)| b == n) {
            return Some(s.clone());
        }
        let (lo, hi) = self.ctx.range_of(n)?;
        (*lo == Bound::Int(1)).then(|| hi.clone())
    }

    /// `e` as a matrix expression whose expansion at row `r` and column `c` is `e`; `e` has
    /// no other free index, and depends on each given one.
    fn read(&self, e: &Expr, r: Option<&str>, c: Option<&str>) -> Option<M> {
        let free = e.free_indices();
        if free.iter().any(|f| Some(f.as_str()) != r && Some(f.as_str()) != c) {
            return None;
        }
        let (hr, hc) = (has(e, r), has(e, c));
        if !hr && !hc {
            return Some(self.scalar(e));
        }
        if hr != r.is_some() || hc != c.is_some() {
            return None;
        }
        self.structural(e, r, c)
    }

    /// A scalar: a sum that reads as an inner product or a norm is written so, and
    /// anything else stays index notation.
    fn scalar(&self, e: &Expr) -> M {
        if let Expr::Neg(x) = e {
            return M::neg(self.scalar(x));
        }
        let has_sum = e.any(&mut |t| matches!(t, Expr::Sum(_)));
        if has_sum {
            if let Some(m) = self.structural(e, None, None) {
                return m;
            }
        }
        M::Scalar(e.clone())
    }

    fn structural(&self, e: &Expr, r: Option<&str>, c: Option<&str>) -> Option<M> {
        match e {
            Expr::Add(ts) => {
                let mut out = Vec::new();
                for t in ts.iter() {
                    out.push(self.read(t, r, c)?);
                }
                Some(M::Add(out))
            }
            Expr::Neg(x) => Some(M::neg(self.read(x, r, c)?)),
            Expr::Mul(fs) => {
                let mut pieces = Vec::new();
                for f in fs.iter() {
                    pieces.push(self.piece(f, r, c)?);
                }
                self.assemble(pieces, r, c)
            }
            Expr::Div(a, b) => {
                if !has(b, r) && !has(b, c) {
                    Some(M::Div(Box::new(self.read(a, r, c)?), Box::new(self.scalar(b))))
                } else {
                    let (ma, mb) = (self.read(a, r, c)?, self.read(b, r, c)?);
                    Some(M::elementwise(Elementwise::Div, ma, mb))
                }
            }
            Expr::Pow(b, k) if !has(k, r) && !has(k, c) => {
                if r.is_none() && c.is_none() {
                    return Some(M::Pow(Box::new(self.scalar(b)), Box::new(self.scalar(k))));
                }
                Some(M::elementwise(Elementwise::Pow, self.read(b, r, c)?, self.scalar(k)))
            }
            Expr::Call(f, a) => Some(M::Call(*f, Box::new(self.read(a, r, c)?))),
            Expr::Idx(name, ix) => {
                let kind = self.shapes.get(name)?;
                let sizes = kind.sizes();
                let fits = |i: &Index, k: usize| self.size(i).as_ref() == sizes.get(k);
                let is = |i: &Index, n: Option<&str>| matches!((i, n), (Index::Name(a), Some(b)) if a == b);
                match (kind, ix.as_slice()) {
                    (Kind::Vector(_), [i]) if fits(i, 0) && is(i, r) && c.is_none() => {
                        Some(M::Name(name.clone()))
                    }
                    (Kind::Vector(_), [i]) if fits(i, 0) && is(i, c) && r.is_none() => {
                        Some(M::transpose(M::Name(name.clone())))
                    }
                    (Kind::Matrix(..), [i, j])
                        if fits(i, 0) && fits(j, 1) && is(i, r) && is(j, c) =>
                    {
                        Some(M::Name(name.clone()))
                    }
                    (Kind::Matrix(..), [i, j])
                        if fits(i, 0) && fits(j, 1) && is(i, c) && is(j, r) =>
                    {
                        Some(M::transpose(M::Name(name.clone())))
                    }
                    _ => None,
                }
            }
            Expr::Sum(s) => self.contraction(s, r, c),
            _ => None,
        }
    }

    /// One factor of a product, by the output indices it depends on.
    fn piece(&self, f: &Expr, r: Option<&str>, c: Option<&str>) -> Option<Piece> {
        if let Expr::Delta(a, b) = f {
            let pair = [a.to_string(), b.to_string()];
            if let (Some(r), Some(c)) = (r, c) {
                if pair == [r, c] || pair == [c, r] {
                    return Some(Piece::Delta);
                }
            }
        }
        Some(match (has(f, r), has(f, c)) {
            (false, false) => Piece::Scalar(self.read(f, None, None)?),
            (true, false) => Piece::Row(self.read(f, r, None)?),
            (false, true) => Piece::Col(self.read(f, c, None)?),
            (true, true) => Piece::Both(self.read(f, r, c)?),
        })
    }

    /// The product of pieces: scalars first, then `u*v'`, `diag(u)`, `diag(u)*A*diag(v)`;
    /// as written, scalars and vectors of the row in their order (`h*(o - t)`, `a .* b`).
    fn assemble(&self, pieces: Vec<Piece>, r: Option<&str>, c: Option<&str>) -> Option<M> {
        if self.as_written
            && c.is_none()
            && pieces.iter().all(|p| matches!(p, Piece::Scalar(_) | Piece::Row(_)))
        {
            let mut acc: Option<(M, bool)> = None;
            for p in pieces {
                let (m, vector) = match p {
                    Piece::Scalar(m) => (m, false),
                    Piece::Row(m) => (m, true),
                    _ => return None,
                };
                acc = Some(match acc {
                    None => (m, vector),
                    Some((a, true)) if vector => (M::elementwise(Elementwise::Mul, a, m), true),
                    Some((a, v)) => (M::mul(a, m), v || vector),
                });
            }
            return acc.map(|(m, _)| m);
        }
        let (mut s, mut rows, mut cols, mut both, mut delta) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), false);
        for p in pieces {
            match p {
                Piece::Scalar(m) => s.push(m),
                Piece::Row(m) => rows.push(m),
                Piece::Col(m) => cols.push(m),
                Piece::Both(m) => both.push(m),
                Piece::Delta if !delta => delta = true,
                Piece::Delta => return None,
            }
        }
        let has_r = !rows.is_empty() || !both.is_empty() || delta;
        let has_c = !cols.is_empty() || !both.is_empty() || delta;
        if has_r != r.is_some() || has_c != c.is_some() {
            return None;
        }
        let core = if delta {
            if !both.is_empty() {
                return None;
            }
            // `δ_rc` makes the column index the row index: both ranges are one.
            let (ri, ci) = (Index::Name(r?.into()), Index::Name(c?.into()));
            if self.size(&ri) != self.size(&ci) {
                return None;
            }
            rows.extend(cols);
            Some(M::Apply(MFunc::Diag, vec![hadamard(rows)?]))
        } else if !both.is_empty() {
            let mut core = hadamard(both)?;
            if let Some(u) = hadamard(rows) {
                core = M::mul(M::Apply(MFunc::Diag, vec![u]), core);
            }
            if let Some(v) = hadamard(cols) {
                core = M::mul(core, M::Apply(MFunc::Diag, vec![v]));
            }
            Some(core)
        } else {
            match (hadamard(rows), hadamard(cols)) {
                (Some(u), Some(v)) => Some(M::mul(u, M::transpose(v))),
                (Some(u), None) => Some(u),
                (None, Some(v)) => Some(M::transpose(v)),
                (None, None) => None,
            }
        };
        let scalars = M::product(s);
        match (scalars, core) {
            (Some(s), Some(core)) => Some(front(s, core)),
            (s, core) => s.or(core),
        }
    }

    /// `sum_k(…)` at `(r, c)`: a matrix product over `k`, or a scalar (`x'*y`, `norm2(x)`).
    fn contraction(&self, s: &crate::expr::Sum, r: Option<&str>, c: Option<&str>) -> Option<M> {
        if s.lo != Bound::Int(1) || Some(s.index.as_str()) == r || Some(s.index.as_str()) == c {
            return None;
        }
        // A sum of terms is the sum of the terms' sums; a negated summand, the negated sum.
        let part =
            |body: &Expr| crate::expr::Sum { body: std::sync::Arc::new(body.clone()), ..s.clone() };
        match &*s.body {
            Expr::Add(ts) => {
                let parts: Option<Vec<M>> =
                    ts.iter().map(|t| self.contraction(&part(t), r, c)).collect();
                return parts.map(M::Add);
            }
            Expr::Neg(t) => return self.contraction(&part(t), r, c).map(M::neg),
            _ => {}
        }
        let mut inner = Reader { bound: self.bound.clone(), ..*self };
        inner.bound.push((s.index.clone(), s.hi.clone()));
        let k = Some(s.index.as_str());
        let factors: Vec<&Expr> = match &*s.body {
            Expr::Mul(fs) => fs.iter().collect(),
            other => vec![other],
        };
        // Factors free of `k` come out of the sum, into the product around it.
        let (mut outside, mut w, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for f in factors {
            if !has(f, k) {
                outside.push(self.piece(f, r, c)?);
                continue;
            }
            match (has(f, r), has(f, c)) {
                (false, false) => w.push(f),
                (true, false) => a.push(inner.read(f, r, k)?),
                (false, true) => b.push(inner.read(f, k, c)?),
                (true, true) => return None,
            }
        }
        let vectors: Vec<M> = w.iter().map(|f| inner.read(f, k, None)).collect::<Option<_>>()?;
        let (a, b) = (hadamard(a), hadamard(b));
        let core = match (a, b) {
            (Some(a), Some(b)) => match hadamard(vectors) {
                Some(v) => Piece::Both(M::mul(M::mul(a, M::Apply(MFunc::Diag, vec![v])), b)),
                None => Piece::Both(M::mul(a, b)),
            },
            (Some(a), None) => Piece::Row(M::mul(a, hadamard(vectors)?)),
            (None, Some(b)) => Piece::Col(M::mul(M::transpose(b), hadamard(vectors)?)),
            (None, None) => Piece::Scalar(inner.inner_product(&w, vectors)?),
        };
        outside.push(core);
        self.assemble(outside, r, c)
    }

    /// `sum_k` of the entries of `vectors` (read from the factors `w`) multiplied together.
    fn inner_product(&self, w: &[&Expr], mut vectors: Vec<M>) -> Option<M> {
        match (w, vectors.len()) {
            ([Expr::Pow(base, two)], 1) if **two == Expr::int(2) => {
                let k = &self.bound.last()?.0;
                Some(M::Apply(MFunc::Norm2, vec![self.read(base, Some(k), None)?]))
            }
            (_, 1) => Some(M::Apply(MFunc::Sum, vectors)),
            (_, 2) if vectors[0] == vectors[1] => {
                Some(M::Apply(MFunc::Norm2, vec![vectors.swap_remove(0)]))
            }
            (_, n) if n >= 2 => {
                let first = vectors.remove(0);
                Some(M::mul(M::transpose(first), hadamard(vectors)?))
            }
            _ => None,
        }
    }
}

/// Signs and unit factors as a reader writes them: `-1*x` as `-x`, `-2*x` as `-(2*x)`.
pub fn tidy(m: M) -> M {
    let t = |b: Box<M>| Box::new(tidy(*b));
    match m {
        // Terms with a sign after the others: `diag(a) - a*a'`.
        M::Add(ts) => {
            let (mut plus, minus): (Vec<M>, Vec<M>) =
                ts.into_iter().map(tidy).partition(|t| !matches!(t, M::Neg(_)));
            if plus.is_empty() {
                return M::Add(minus);
            }
            plus.extend(minus);
            M::Add(plus)
        }
        M::Neg(x) => match tidy(*x) {
            M::Neg(y) => *y,
            y => M::neg(y),
        },
        M::Mul(a, b) => {
            let (a, b) = (tidy(*a), tidy(*b));
            // A sign comes out to the front of the product.
            let (a, b, negated) = match (a, b) {
                (M::Neg(a), M::Neg(b)) => (*a, *b, false),
                (M::Neg(a), b) => (*a, b, true),
                (a, M::Neg(b)) => (a, *b, true),
                (a, b) => (a, b, false),
            };
            let product = match a {
                M::Scalar(e) if e.is_one() => b,
                M::Scalar(Expr::Num(c)) if c.is_negative() => {
                    let positive = Expr::Num(-c);
                    if positive.is_one() {
                        M::neg(b)
                    } else {
                        M::neg(M::mul(M::Scalar(positive), b))
                    }
                }
                M::Scalar(Expr::Neg(x)) => M::neg(M::mul(M::Scalar((*x).clone()), b)),
                // A scalar joins the front of a product: `2*A'*v`, not `2*(A'*v)`.
                a @ M::Scalar(_) => front(a, b),
                a => M::mul(a, b),
            };
            match (negated, product) {
                (false, p) => p,
                (true, M::Neg(p)) => *p,
                (true, p) => M::neg(p),
            }
        }
        M::Div(a, b) => M::Div(t(a), t(b)),
        M::Pow(a, b) => M::Pow(t(a), t(b)),
        M::Elementwise(op, a, b) => M::Elementwise(op, t(a), t(b)),
        M::Transpose(a) => M::Transpose(t(a)),
        M::Call(f, a) => M::Call(f, t(a)),
        M::Apply(f, args) => M::Apply(f, args.into_iter().map(tidy).collect()),
        M::Sum { index, lo, hi, explicit, body } => {
            M::Sum { index, lo, hi, explicit, body: t(body) }
        }
        M::D(f, x) => M::D(t(f), x),
        other => other,
    }
}

/// `s*m` with the scalar `s` at the front of the product `m`.
fn front(s: M, m: M) -> M {
    match m {
        M::Mul(a, b) => M::mul(front(s, *a), *b),
        m => M::mul(s, m),
    }
}
