//! Equality, a canonical total order and hashing, all up to renaming of bound indices.
//!
//! Bound indices are compared by their binding depth (de Bruijn levels), so
//! `sum_k(x_k)` and `sum_m(x_m)` are equal, and a free index is compared by name.

use super::{Bound, Expr, Index};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// How an index reads under a stack of binders: bound at a level, or free by name.
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Resolved<'a> {
    Bound(usize),
    Free(&'a Index),
}

fn resolve<'a>(ix: &'a Index, binders: &[&str]) -> Resolved<'a> {
    if let Index::Name(n) = ix {
        if let Some(level) = binders.iter().rposition(|b| b == n) {
            return Resolved::Bound(level);
        }
    }
    Resolved::Free(ix)
}

fn rank(e: &Expr) -> u8 {
    match e {
        Expr::Num(_) => 0,
        Expr::Sym(_) => 1,
        Expr::Idx(_, _) => 2,
        Expr::Delta(_, _) => 3,
        Expr::Call(_, _) => 4,
        Expr::Pow(_, _) => 5,
        Expr::Mul(_) => 6,
        Expr::Div(_, _) => 7,
        Expr::Add(_) => 8,
        Expr::Neg(_) => 9,
        Expr::Sum(_) => 10,
        Expr::D(_, _) => 11,
    }
}

fn cmp_indices(a: &[Index], ab: &[&str], b: &[Index], bb: &[&str]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        a.iter()
            .zip(b)
            .map(|(x, y)| resolve(x, ab).cmp(&resolve(y, bb)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
}

fn cmp_lists<'a>(
    a: &'a [Expr],
    ab: &mut Vec<&'a str>,
    b: &'a [Expr],
    bb: &mut Vec<&'a str>,
) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        for (x, y) in a.iter().zip(b) {
            let o = cmp_in(x, ab, y, bb);
            if o.is_ne() {
                return o;
            }
        }
        Ordering::Equal
    })
}

fn cmp_in<'a>(a: &'a Expr, ab: &mut Vec<&'a str>, b: &'a Expr, bb: &mut Vec<&'a str>) -> Ordering {
    let by_rank = rank(a).cmp(&rank(b));
    if by_rank.is_ne() {
        return by_rank;
    }
    match (a, b) {
        (Expr::Num(x), Expr::Num(y)) => x.cmp(y),
        (Expr::Sym(x), Expr::Sym(y)) => x.cmp(y),
        (Expr::Idx(x, xi), Expr::Idx(y, yi)) => x.cmp(y).then_with(|| cmp_indices(xi, ab, yi, bb)),
        (Expr::Delta(x1, x2), Expr::Delta(y1, y2)) => {
            cmp_indices(&[x1.clone(), x2.clone()], ab, &[y1.clone(), y2.clone()], bb)
        }
        (Expr::Call(f, x), Expr::Call(g, y)) => f.cmp(g).then_with(|| cmp_in(x, ab, y, bb)),
        (Expr::Add(xs), Expr::Add(ys)) | (Expr::Mul(xs), Expr::Mul(ys)) => {
            cmp_lists(xs, ab, ys, bb)
        }
        (Expr::Pow(x1, x2), Expr::Pow(y1, y2))
        | (Expr::Div(x1, x2), Expr::Div(y1, y2))
        | (Expr::D(x1, x2), Expr::D(y1, y2)) => {
            cmp_in(x1, ab, y1, bb).then_with(|| cmp_in(x2, ab, y2, bb))
        }
        (Expr::Neg(x), Expr::Neg(y)) => cmp_in(x, ab, y, bb),
        (Expr::Sum(s), Expr::Sum(t)) => {
            let bounds = cmp_bound(&s.lo, &t.lo).then_with(|| cmp_bound(&s.hi, &t.hi));
            if bounds.is_ne() {
                return bounds;
            }
            ab.push(&s.index);
            bb.push(&t.index);
            let o = cmp_in(&s.body, ab, &t.body, bb);
            ab.pop();
            bb.pop();
            o
        }
        _ => Ordering::Equal,
    }
}

fn cmp_bound(a: &Bound, b: &Bound) -> Ordering {
    a.cmp(b)
}

fn hash_in<'a, H: Hasher>(e: &'a Expr, binders: &mut Vec<&'a str>, h: &mut H) {
    rank(e).hash(h);
    match e {
        Expr::Num(x) => x.hash(h),
        Expr::Sym(x) => x.hash(h),
        Expr::Idx(x, ix) => {
            x.hash(h);
            for i in ix {
                resolve(i, binders).hash(h);
            }
        }
        Expr::Delta(x, y) => {
            resolve(x, binders).hash(h);
            resolve(y, binders).hash(h);
        }
        Expr::Call(f, x) => {
            f.hash(h);
            hash_in(x, binders, h);
        }
        Expr::Add(xs) | Expr::Mul(xs) => {
            xs.len().hash(h);
            for x in xs.iter() {
                hash_in(x, binders, h);
            }
        }
        Expr::Pow(x, y) | Expr::Div(x, y) | Expr::D(x, y) => {
            hash_in(x, binders, h);
            hash_in(y, binders, h);
        }
        Expr::Neg(x) => hash_in(x, binders, h),
        Expr::Sum(s) => {
            s.lo.hash(h);
            s.hi.hash(h);
            binders.push(&s.index);
            hash_in(&s.body, binders, h);
            binders.pop();
        }
    }
}

impl Ord for Expr {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_in(self, &mut Vec::new(), other, &mut Vec::new())
    }
}

impl PartialOrd for Expr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Expr {}

impl Hash for Expr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_in(self, &mut Vec::new(), state)
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::parse_expr;

    #[test]
    fn sums_equal_up_to_bound_name() {
        let a = parse_expr("sum_k(exp(z_k)) + x").unwrap();
        let b = parse_expr("sum_m(exp(z_m)) + x").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn free_indices_are_not_renamed() {
        let a = parse_expr("sum_k(z_k * w_i)").unwrap();
        let b = parse_expr("sum_k(z_k * w_j)").unwrap();
        assert_ne!(a, b);
        // A bound index must not equal a free one of the same name outside.
        let c = parse_expr("sum_k(z_k) * z_k").unwrap();
        let d = parse_expr("sum_m(z_m) * z_k").unwrap();
        assert_eq!(c, d);
    }
}
