//! The Jacobian of a vector with respect to a vector, as a textbook shows it: the cases
//! `i = j` and `i ≠ j` of a result with `δ_ij`, and the matrix with `⋯`, `⋮` and `⋱`.
//!
//! The case forms are proved by the kernel: from the result with `j := i`, the rule
//! `delta-same-index` and the engine's simplification; from the result with `δ_ij := 0`
//! (the meaning of `i ≠ j`), the engine's simplification.

use crate::engine::{simplify_current, Driver};
use crate::expr::{Bound, Context, Expr, Index};
use crate::kernel::{Proof, Step};
use std::sync::Arc;

/// One case of the split.
#[derive(Clone, Debug)]
pub struct Case {
    /// `D(a_i, z_i)` or `D(a_i, z_j)`.
    pub derivative: Expr,
    /// The Kronecker delta the case decides, and its value: `δ_ii = 1`, `δ_ij = 0`.
    pub delta: Expr,
    pub delta_value: Expr,
    /// The kernel's chain from the specialised result to its simplest form.
    pub proof: Proof,
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
    /// The same corners' values, instances of the case forms.
    pub values: [[Expr; 2]; 2],
}

/// The Jacobian display, when `of` and `wrt` each carry one distinct free index and the
/// result has the Kronecker delta of the two. `None` also when a case cannot be proved.
pub fn jacobian(ctx: &Arc<Context>, of: &Expr, wrt: &Expr, result: &Expr) -> Option<Jacobian> {
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
    let ii = Index::Name(i.clone());
    let same = {
        let start = result.subst_index(j, &ii);
        let mut d = Driver::new(ctx.clone(), start);
        while let Some(path) = find_same_delta(d.current(), i) {
            let mut step = Step::new("delta-same-index", path);
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
            proof: d.proof,
        }
    };
    let distinct = {
        let mut d = Driver::new(ctx.clone(), zero_delta(result, i, j));
        simplify_current(&mut d).ok()?;
        Case {
            derivative: Expr::d(of.clone(), wrt.clone()),
            delta: Expr::Delta(ii.clone(), Index::Name(j.clone())),
            delta_value: Expr::int(0),
            proof: d.proof,
        }
    };
    let matrix = matrix(
        ctx,
        (a, i),
        (z, j),
        same.proof.current(),
        distinct.proof.current(),
    );
    Some(Jacobian {
        i: Expr::sym(i),
        j: Expr::sym(j),
        same,
        distinct,
        matrix,
    })
}

/// The corners of the matrix, when both indices have declared ranges of more than one value.
fn matrix(
    ctx: &Context,
    (a, i): (&str, &str),
    (z, j): (&str, &str),
    same: &Expr,
    distinct: &Expr,
) -> Option<Matrix> {
    let ends = |k: &str| -> Option<[Index; 2]> {
        let (lo, hi) = ctx.range_of(k)?;
        if let (Bound::Int(l), Bound::Int(h)) = (lo, hi) {
            if h <= l {
                return None;
            }
        }
        Some([bound_index(lo), bound_index(hi)])
    };
    let (rows, cols) = (ends(i)?, ends(j)?);
    let entry = |r: usize, c: usize| {
        Expr::d(
            Expr::Idx(a.into(), vec![rows[r].clone()]),
            Expr::Idx(z.into(), vec![cols[c].clone()]),
        )
    };
    let value = |r: usize, c: usize| {
        if rows[r] == cols[c] {
            rename(same, &[(i, &rows[r])])
        } else {
            rename(distinct, &[(i, &rows[r]), (j, &cols[c])])
        }
    };
    Some(Matrix {
        name: Expr::d(Expr::sym(a), Expr::sym(z)),
        partials: [[entry(0, 0), entry(0, 1)], [entry(1, 0), entry(1, 1)]],
        values: [[value(0, 0), value(0, 1)], [value(1, 0), value(1, 1)]],
    })
}

fn bound_index(b: &Bound) -> Index {
    match b {
        Bound::Int(k) => Index::Int(*k),
        Bound::Sym(s) => Index::Name(s.clone()),
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
    zero_delta(e, i, j) != *e
}

/// `e` with every free `δ_ij` and `δ_ji` replaced by 0: the case `i ≠ j`.
fn zero_delta(e: &Expr, i: &str, j: &str) -> Expr {
    let named = |x: &Index, n: &str| matches!(x, Index::Name(m) if m == n);
    match e {
        Expr::Delta(x, y) if (named(x, i) && named(y, j)) || (named(x, j) && named(y, i)) => {
            Expr::int(0)
        }
        Expr::Sum(s) if s.index == i || s.index == j => e.clone(),
        _ => e.map_children(|c| zero_delta(c, i, j)),
    }
}

/// The position of a `δ_ii`.
fn find_same_delta(e: &Expr, i: &str) -> Option<Vec<usize>> {
    if matches!(e, Expr::Delta(Index::Name(x), Index::Name(y)) if x == i && y == i) {
        return Some(Vec::new());
    }
    if matches!(e, Expr::Sum(s) if s.index == i) {
        return None;
    }
    e.children().into_iter().enumerate().find_map(|(n, c)| {
        let mut p = find_same_delta(c, i)?;
        p.insert(0, n);
        Some(p)
    })
}
