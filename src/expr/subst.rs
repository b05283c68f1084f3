//! Free indices and capture-avoiding substitution.

use super::{Expr, Index, Seen, Sum};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A name based on `base` that is not in `avoid`: `k`, `k1`, `k2`, …
pub fn fresh_index(base: &str, avoid: &BTreeSet<String>) -> String {
    let stem = base.trim_end_matches(|c: char| c.is_ascii_digit());
    if !avoid.contains(stem) {
        return stem.to_string();
    }
    (1..)
        .map(|n| format!("{stem}{n}"))
        .find(|c| !avoid.contains(c))
        .unwrap_or_else(|| format!("{stem}_"))
}

impl Expr {
    /// The index names occurring free (not bound by a sum).
    pub fn free_indices(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        collect_free(self, &mut Vec::new(), &mut out, &mut Seen::new());
        out
    }

    /// Every index name occurring anywhere, bound or free.
    pub fn all_index_names(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.any(&mut |e| {
            if let Expr::Sum(s) = e {
                out.insert(s.index.clone());
            }
            out.extend(e.indices().filter_map(Index::name).cloned());
            false
        });
        out
    }

    /// Replace the free index `from` by `to`, renaming bound indices that would capture `to`.
    pub fn subst_index(&self, from: &str, to: &Index) -> Expr {
        let map = |ix: &Index| match ix {
            Index::Name(n) if n == from => to.clone(),
            other => other.clone(),
        };
        match self {
            Expr::Idx(name, ix) => Expr::Idx(name.clone(), ix.iter().map(map).collect()),
            Expr::Delta(a, b) => Expr::Delta(map(a), map(b)),
            Expr::Sum(s) => {
                if s.index == from {
                    return self.clone();
                }
                let captures = matches!(to, Index::Name(t) if *t == s.index);
                if captures && s.body.free_indices().contains(from) {
                    let renamed = rename_bound(s, &[from.to_string(), s.index.clone()]);
                    return renamed.subst_index(from, to);
                }
                s.with_body(s.body.subst_index(from, to))
            }
            _ => self.map_children(|c| c.subst_index(from, to)),
        }
    }

    /// Rebuild this node with each immediate subterm mapped by `f`.
    pub fn map_children(&self, mut f: impl FnMut(&Expr) -> Expr) -> Expr {
        let mapped = self.try_map_children(|c| Ok::<_, std::convert::Infallible>(f(c)));
        mapped.unwrap_or_else(|never| match never {})
    }

    /// Rebuild this node with each immediate subterm mapped by `f`, or the first failure.
    pub fn try_map_children<E>(
        &self,
        mut f: impl FnMut(&Expr) -> Result<Expr, E>,
    ) -> Result<Expr, E> {
        let mut one = |a: &Expr| f(a).map(Arc::new);
        Ok(match self {
            Expr::Num(_) | Expr::Sym(_) | Expr::Idx(_, _) | Expr::Delta(_, _) => self.clone(),
            Expr::Add(xs) => Expr::Add(xs.iter().map(&mut f).collect::<Result<_, E>>()?),
            Expr::Mul(xs) => Expr::Mul(xs.iter().map(&mut f).collect::<Result<_, E>>()?),
            Expr::Div(a, b) => Expr::Div(one(a)?, one(b)?),
            Expr::Pow(a, b) => Expr::Pow(one(a)?, one(b)?),
            Expr::D(a, b) => Expr::D(one(a)?, one(b)?),
            Expr::Neg(a) => Expr::Neg(one(a)?),
            Expr::Call(g, a) => Expr::Call(*g, one(a)?),
            Expr::Sum(s) => s.with_body(f(&s.body)?),
        })
    }
}

/// The sum with its bound index renamed to a name avoiding `avoid` and every name in the body.
fn rename_bound(s: &Sum, avoid: &[String]) -> Expr {
    let taken: BTreeSet<String> = avoid.iter().cloned().chain(s.body.all_index_names()).collect();
    let fresh = fresh_index(&s.index, &taken);
    let body = Arc::new(s.body.subst_index(&s.index, &Index::Name(fresh.clone())));
    Expr::Sum(Arc::new(Sum { index: fresh, body, ..s.clone() }))
}

/// A part is gone into once per `seen`, which is one binder scope: a sum's body has its own.
fn collect_free<'a>(
    e: &'a Expr,
    bound: &mut Vec<&'a str>,
    out: &mut BTreeSet<String>,
    seen: &mut Seen,
) {
    match e {
        Expr::Sum(s) => {
            bound.push(&s.index);
            collect_free(&s.body, bound, out, &mut Seen::new());
            bound.pop();
        }
        Expr::Idx(..) | Expr::Delta(..) => {
            let free = e.indices().filter_map(Index::name).filter(|n| !bound.contains(&n.as_str()));
            out.extend(free.cloned());
        }
        _ if !e.enter(seen) => {}
        _ => e.children().for_each(|c| collect_free(c, bound, out, seen)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_expr;

    #[test]
    fn substitution_renames_instead_of_capturing() {
        let e = parse_expr("sum_k(z_k * w_j)").unwrap();
        let out = e.subst_index("j", &Index::Name("k".into()));
        // The free j became k, and the bound k was renamed so it does not capture it.
        assert_eq!(out.free_indices().into_iter().collect::<Vec<_>>(), vec!["k"]);
        assert_eq!(out, parse_expr("sum_m(z_m * w_k)").unwrap());
    }

    #[test]
    fn a_part_shared_inside_and_outside_a_sum_is_walked_in_each_scope() {
        let sum = parse_expr("sum_k(exp(x_k))").unwrap();
        let Expr::Sum(s) = &sum else { panic!("a sum") };
        let (inside, outside) = (sum.clone(), (*s.body).clone());
        for e in
            [Expr::mul(vec![inside.clone(), outside.clone()]), Expr::mul(vec![outside, inside])]
        {
            assert!(e.free_indices().contains("k"), "{e}");
        }
    }

    #[test]
    fn shadowed_index_is_untouched() {
        let e = parse_expr("sum_k(z_k)").unwrap();
        assert_eq!(e.subst_index("k", &Index::Int(1)), e);
    }
}
