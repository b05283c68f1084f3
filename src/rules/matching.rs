//! First-order matching of rule patterns against terms (used by the engine, not trusted).

use super::{is_metavar, is_variable_metavar, Binding};
use crate::expr::{Bound, Expr, Index};
use crate::terms::ExprExt;

/// A binding under which `pattern` instantiates to `term`, if there is one.
pub fn match_pattern(pattern: &Expr, term: &Expr) -> Option<Binding> {
    let mut b = Binding::default();
    go(pattern, term, &mut b).then_some(b)
}

/// Extend `b` so that `pattern` instantiates to `term`.
pub fn match_into(pattern: &Expr, term: &Expr, b: &mut Binding) -> bool {
    go(pattern, term, b)
}

fn index(p: &Index, t: &Index, b: &mut Binding) -> bool {
    match p {
        Index::Name(n) => match b.indices.get(n) {
            Some(bound) => bound == t,
            None => {
                b.indices.insert(n.clone(), t.clone());
                true
            }
        },
        Index::Int(_) => p == t,
    }
}

fn bound(p: &Bound, t: &Bound, b: &mut Binding) -> bool {
    match p {
        Bound::Sym(s, 0) if is_metavar(s) => match b.bounds.get(s) {
            Some(v) => v == t,
            None => {
                b.bounds.insert(s.clone(), t.clone());
                true
            }
        },
        _ => p == t,
    }
}

fn go(p: &Expr, t: &Expr, b: &mut Binding) -> bool {
    match (p, t) {
        (Expr::Sym(s), _) if is_metavar(s) => {
            if is_variable_metavar(s) && !t.is_variable() {
                return false;
            }
            match b.terms.get(s) {
                Some(v) => v == t,
                None => {
                    b.terms.insert(s.clone(), t.clone());
                    true
                }
            }
        }
        (Expr::Num(x), Expr::Num(y)) => x == y,
        (Expr::Sym(x), Expr::Sym(y)) => x == y,
        (Expr::Idx(x, xi), Expr::Idx(y, yi)) => {
            x == y && xi.len() == yi.len() && xi.iter().zip(yi).all(|(p, t)| index(p, t, b))
        }
        (Expr::Delta(p1, p2), Expr::Delta(t1, t2)) => index(p1, t1, b) && index(p2, t2, b),
        (Expr::Add(ps), Expr::Add(ts)) | (Expr::Mul(ps), Expr::Mul(ts)) => {
            ps.len() == ts.len() && ps.iter().zip(ts.iter()).all(|(p, t)| go(p, t, b))
        }
        (Expr::Div(p1, p2), Expr::Div(t1, t2))
        | (Expr::Pow(p1, p2), Expr::Pow(t1, t2))
        | (Expr::D(p1, p2), Expr::D(t1, t2)) => go(p1, t1, b) && go(p2, t2, b),
        (Expr::Neg(p), Expr::Neg(t)) => go(p, t, b),
        // `-U` instantiates through `Expr::neg`, so `-2*x` is an instance with `U = 2*x`.
        (Expr::Neg(p), t) => t.unneg().is_some_and(|u| go(p, &u, b)),
        (Expr::Call(f, p), Expr::Call(g, t)) => f == g && go(p, t, b),
        (Expr::Sum(ps), Expr::Sum(ts)) => {
            index(&Index::Name(ps.index.clone()), &Index::Name(ts.index.clone()), b)
                && bound(&ps.lo, &ts.lo, b)
                && bound(&ps.hi, &ts.hi, b)
                && go(&ps.body, &ts.body, b)
        }
        _ => false,
    }
}
