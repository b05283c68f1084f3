//! Shapes read off index notation: a name used as `x_k` with `k` over `1..n` is a vector in
//! R^n, and `W_{i,k}` a matrix, wherever every use agrees. So results of index-notation
//! files (the seed's `a_j - y_j`) have a vector form too, and `deriv check` can read a
//! certificate's stated form without the declarations of the file it came from.

use super::{Kind, Shapes};
use crate::expr::{Bound, Context, Expr, Index};
use std::collections::{BTreeMap, BTreeSet};

/// The shapes of the indexed names of `terms`, where every use of a name agrees (indices
/// over ranges `1..n`, declared or bound by a sum, the same number each time, and never
/// written without indices).
pub fn infer_shapes(terms: &[&Expr], ctx: &Context) -> Shapes {
    let mut seen: BTreeMap<String, Kind> = BTreeMap::new();
    let mut bad: BTreeSet<String> = BTreeSet::new();
    for t in terms {
        visit(t, ctx, &mut Vec::new(), &mut seen, &mut bad);
    }
    seen.into_iter().filter(|(n, _)| !bad.contains(n)).collect()
}

fn visit(
    e: &Expr,
    ctx: &Context,
    bound: &mut Vec<(String, Bound, Bound)>,
    seen: &mut BTreeMap<String, Kind>,
    bad: &mut BTreeSet<String>,
) {
    match e {
        Expr::Sym(n) => {
            bad.insert(n.clone());
        }
        Expr::Idx(n, ix) => {
            let size = |i: &Index| -> Option<Bound> {
                let Index::Name(name) = i else { return None };
                let (lo, hi) = match bound.iter().rev().find(|(b, _, _)| b == name) {
                    Some((_, lo, hi)) => (lo.clone(), hi.clone()),
                    None => {
                        let (lo, hi) = ctx.range_of(name)?;
                        (lo.clone(), hi.clone())
                    }
                };
                (lo == Bound::Int(1)).then_some(hi)
            };
            let sizes: Option<Vec<Bound>> = ix.iter().map(size).collect();
            let kind = match sizes.as_deref() {
                Some([n]) => Some(Kind::Vector(n.clone())),
                Some([m, k]) => Some(Kind::Matrix(m.clone(), k.clone())),
                Some(_) => {
                    bad.insert(n.clone());
                    None
                }
                // A concrete index or an odd range says nothing about the shape.
                None => None,
            };
            if let Some(kind) = kind {
                match seen.get(n) {
                    Some(k) if *k != kind => {
                        bad.insert(n.clone());
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(n.clone(), kind);
                    }
                }
            }
        }
        Expr::Sum(s) => {
            bound.push((s.index.clone(), s.lo.clone(), s.hi.clone()));
            visit(&s.body, ctx, bound, seen, bad);
            bound.pop();
        }
        _ => {
            for c in e.children() {
                visit(c, ctx, bound, seen, bad);
            }
        }
    }
}

/// The row and column indices of the result of `D(of, wrt)`: the free index of `of`
/// (a vector's entry), then those of `wrt`, each once; `None` when that is not one or two
/// index names (a scalar derivative, a tensor, a concrete entry, or one at a fixed label
/// of `ctx`, which is one value throughout: `z_k` for `l = -log(a_k)`), or an index not
/// declared over a range from one (a vector's entries are numbered from one, so `z_j` over
/// `0..n-1` is no entry of `z`, and a size such as `n` is one entry, not all).
pub fn output_indices(of: &Expr, wrt: &Expr, ctx: &Context) -> Option<Vec<Index>> {
    let free = of.free_indices();
    if free.len() > 1 {
        return None;
    }
    let mut out: Vec<Index> = free.into_iter().map(Index::Name).collect();
    let Expr::Idx(_, ix) = wrt else { return None };
    for i in ix {
        if !matches!(i, Index::Name(_)) {
            return None;
        }
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    let fixed = ctx.fixed_labels();
    if out.iter().any(|i| fixed.contains_key(&i.to_string())) {
        return None;
    }
    let from_one = |i: &Index| matches!(ctx.range_of(&i.to_string()), Some((Bound::Int(1), _)));
    if !out.iter().all(from_one) {
        return None;
    }
    (1..=2).contains(&out.len()).then_some(out)
}
