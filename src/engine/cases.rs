//! The cases of a Jacobian (`i = j` and `i ≠ j` of a result with `δ_ij`) and the corners
//! of its matrix, as a textbook shows them, each a proof the kernel checked.
//!
//! The cases and the corners are kernel proofs: each case goes on from the goal's proof by
//! a case rule that carries its hypothesis (`i = j` or `i ≠ j`), and each corner replays a
//! case's proof at the corner's indices.

use super::{simplify_current, Driver};
use crate::expr::{Bound, Context, Expr, Index};
use crate::kernel::Proof;
use crate::rules::{Condition, RuleId};
use crate::terms::ExprExt;
use std::sync::Arc;

/// One case of the split.
#[derive(Clone, Debug)]
pub struct Case {
    /// `D(a_i, z_i)` or `D(a_i, z_j)`.
    pub derivative: Expr,
    /// The Kronecker delta the case decides, and its value: `δ_ii = 1`, `δ_ij = 0`.
    pub delta: Expr,
    pub delta_value: Expr,
    /// The goal's proof gone on into the case: it carries the case's hypothesis.
    pub proof: Proof,
    /// Where the case's own steps start in `proof`.
    pub from: usize,
}

/// The Jacobian display of `∂a_i/∂z_j`.
#[derive(Clone, Debug)]
pub struct Jacobian {
    /// The two indices, as terms for printing.
    pub i: Expr,
    pub j: Expr,
    pub same: Case,
    pub distinct: Case,
    pub matrix: Option<Matrix>,
}

/// The corners of the matrix `∂a/∂z`, for rows and columns `lo` and `hi`.
#[derive(Clone, Debug)]
pub struct Matrix {
    /// `D(a, z)` with bare names: the matrix's name.
    pub name: Expr,
    /// `[[∂a_1/∂z_1, ∂a_1/∂z_n], [∂a_n/∂z_1, ∂a_n/∂z_n]]`.
    pub partials: [[Expr; 2]; 2],
    /// The same corners' values: the case proofs replayed at the corners.
    pub values: [[Expr; 2]; 2],
    /// What the corners need beyond the cases, such as `1 ≠ n`.
    pub assumes: Vec<Condition>,
}

/// The Jacobian display, when `of` and `wrt` each carry one distinct free index and the
/// result has the Kronecker delta of the two. `None` also when a case cannot be proved.
///
/// Each case goes on from the goal's own proof: the case `i = j` by the kernel rule
/// `index-case` (`j := i`, carrying the hypothesis `i = j`), the case `i ≠ j` by
/// `delta-distinct` (`δ_ij = 0`, carrying `i ≠ j`), then the engine's simplification.
pub fn jacobian(proof: &Proof, of: &Expr, wrt: &Expr) -> Option<Jacobian> {
    let result = proof.current();
    let (Expr::Idx(a, ai), Expr::Idx(z, zj)) = (of, wrt) else {
        return None;
    };
    let ([Index::Name(i)], [Index::Name(j)]) = (ai.as_slice(), zj.as_slice()) else {
        return None;
    };
    let free = result.free_indices();
    if i == j || free.iter().any(|k| k != i && k != j) || !has_delta(result, i, j) {
        return None;
    }
    let (ii, jj) = (Index::Name(i.clone()), Index::Name(j.clone()));
    let same = {
        let mut d = Driver::from_proof(proof.clone());
        let mut step = RuleId::IndexCase.step(vec![]);
        step.binding.indices.insert("i".into(), ii.clone());
        step.binding.indices.insert("j".into(), jj.clone());
        d.apply(step).ok()?;
        while let Some(path) = find_delta(d.current(), i, i) {
            let mut step = RuleId::DeltaSameIndex.step(path);
            step.binding.indices.insert("k".into(), ii.clone());
            d.apply(step).ok()?;
        }
        simplify_current(&mut d).ok()?;
        Case {
            derivative: Expr::d(
                Expr::Idx(a.clone(), vec![ii.clone()]),
                Expr::Idx(z.clone(), vec![ii.clone()]),
            ),
            delta: Expr::Delta(ii.clone(), ii.clone()),
            delta_value: Expr::int(1),
            from: proof.steps().len(),
            proof: d.proof,
        }
    };
    let distinct = {
        let mut d = Driver::from_proof(proof.clone());
        while let Some((path, k, l)) = find_delta(d.current(), i, j)
            .map(|p| (p, &ii, &jj))
            .or_else(|| find_delta(d.current(), j, i).map(|p| (p, &jj, &ii)))
        {
            let mut step = RuleId::DeltaDistinct.step(path);
            step.binding.indices.insert("k".into(), k.clone());
            step.binding.indices.insert("j".into(), l.clone());
            d.apply(step).ok()?;
        }
        simplify_current(&mut d).ok()?;
        Case {
            derivative: Expr::d(of.clone(), wrt.clone()),
            delta: Expr::Delta(ii.clone(), jj.clone()),
            delta_value: Expr::int(0),
            from: proof.steps().len(),
            proof: d.proof,
        }
    };
    // A fixed label is one value: its cases hold, but there is no matrix over it.
    let labels = proof.context().fixed_labels();
    let matrix = matrix(proof.context(), (a, i), (z, j), &same.proof, &distinct.proof)
        .filter(|_| !labels.contains_key(i) && !labels.contains_key(j));
    Some(Jacobian { i: Expr::sym(i), j: Expr::sym(j), same, distinct, matrix })
}

/// The corners of the matrix, when both indices run over one range of more than one value.
/// Each corner is a case's proof replayed with the corner's indices, so the kernel checks
/// it; a corner that needs more than the main result (`1 ≠ n`) says so in `assumes`.
fn matrix(
    ctx: &Context,
    (a, i): (&str, &str),
    (z, j): (&str, &str),
    same: &Proof,
    distinct: &Proof,
) -> Option<Matrix> {
    let range = ctx.range_of(i)?;
    if ctx.range_of(j)? != range {
        return None;
    }
    if let (Bound::Int(l), Bound::Int(h)) = range {
        if h <= l {
            return None;
        }
    }
    let ends = [bound_index(range.0)?, bound_index(range.1)?];
    let entry = |r: usize, c: usize| {
        Expr::d(
            Expr::Idx(a.into(), vec![ends[r].clone()]),
            Expr::Idx(z.into(), vec![ends[c].clone()]),
        )
    };
    let mut assumes: Vec<Condition> = Vec::new();
    let mut value = |r: usize, c: usize| -> Option<Expr> {
        let corner = if r == c {
            instantiate(same, &[(i, &ends[r]), (j, &ends[r])])?
        } else {
            instantiate(distinct, &[(i, &ends[r]), (j, &ends[c])])?
        };
        // Other hypotheses are instances of the case's own, which the writeup states.
        for h in corner.hypotheses() {
            let flipped = match &h {
                Condition::IndexNe(x, y) => Condition::IndexNe(y.clone(), x.clone()),
                other => other.clone(),
            };
            let case = matches!(h, Condition::IndexEq(..) | Condition::IndexNe(..));
            if case && !assumes.contains(&h) && !assumes.contains(&flipped) {
                assumes.push(h);
            }
        }
        Some(corner.current().clone())
    };
    let values = [[value(0, 0)?, value(0, 1)?], [value(1, 0)?, value(1, 1)?]];
    Some(Matrix {
        name: Expr::d(Expr::sym(a), Expr::sym(z)),
        partials: [[entry(0, 0), entry(0, 1)], [entry(1, 0), entry(1, 1)]],
        values,
        assumes,
    })
}

/// `proof` with free indices renamed (`i := 1`), replayed step by step by the kernel.
fn instantiate(proof: &Proof, pairs: &[(&str, &Index)]) -> Option<Proof> {
    let index = |x: &Index| match x {
        Index::Name(n) => pairs
            .iter()
            .find(|(from, _)| from == n)
            .map_or_else(|| x.clone(), |(_, to)| (*to).clone()),
        Index::Int(_) => x.clone(),
    };
    let mut out =
        Proof::start(Arc::new(proof.context().clone()), rename(proof.start_term(), pairs)).ok()?;
    for checked in proof.steps() {
        let mut step = checked.step.clone();
        for t in step.binding.terms.values_mut() {
            *t = rename(t, pairs);
        }
        for v in step.binding.indices.values_mut() {
            *v = index(v);
        }
        step.replacement = step.replacement.map(|r| rename(&r, pairs));
        out.apply(step).ok()?;
    }
    Some(out)
}

/// A range's end as an index, where it is one (`1` or `n`; `n-1` is not).
fn bound_index(b: &Bound) -> Option<Index> {
    match b {
        Bound::Int(k) => Some(Index::Int(*k)),
        Bound::Sym(s, 0) => Some(Index::Name(s.clone())),
        Bound::Sym(..) => None,
    }
}

/// Substitute several free indices at once (through fresh names, so `i→j, j→i` works).
fn rename(e: &Expr, pairs: &[(&str, &Index)]) -> Expr {
    let mut avoid = e.all_index_names();
    let mut out = e.clone();
    let mut temps = Vec::new();
    for (from, to) in pairs {
        let t = crate::expr::fresh_index(&format!("{from}0"), &avoid);
        avoid.insert(t.clone());
        out = out.subst_index(from, &Index::Name(t.clone()));
        temps.push((t, (*to).clone()));
    }
    for (t, to) in temps {
        out = out.subst_index(&t, &to);
    }
    out
}

/// Whether `δ_ij` or `δ_ji` occurs with both indices free.
fn has_delta(e: &Expr, i: &str, j: &str) -> bool {
    find_delta(e, i, j).is_some() || find_delta(e, j, i).is_some()
}

/// The position of a free `δ_kl`, outside sums that bind `k` or `l`.
fn find_delta(e: &Expr, k: &str, l: &str) -> Option<Vec<usize>> {
    let named = |x: &Index, n: &str| matches!(x, Index::Name(m) if m == n);
    match e {
        Expr::Delta(x, y) if named(x, k) && named(y, l) => return Some(Vec::new()),
        Expr::Sum(s) if s.index == k || s.index == l => return None,
        _ => {}
    }
    e.children().enumerate().find_map(|(n, c)| {
        let mut p = find_delta(c, k, l)?;
        p.insert(0, n);
        Some(p)
    })
}
