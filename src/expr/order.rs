//! Equality, a canonical total order and hashing, all up to renaming of bound indices.
//!
//! Bound indices are compared by their binding depth (de Bruijn levels), so
//! `sum_k(x_k)` and `sum_m(x_m)` are equal, and a free index is compared by name.
//! All three read a node as a token (its kind and data), then its indices, then its subterms.

use super::{Bound, Expr, Func, Index, Rat};
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

/// What a node holds besides its indices and subterms, which are compared after it. The
/// variants are in the order of the kinds of term, so terms of different kinds compare
/// by kind.
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Token<'a> {
    Num(&'a Rat),
    Sym(&'a str),
    Idx(&'a str, usize),
    Delta,
    Call(Func),
    Pow,
    Mul(usize),
    Div,
    Add(usize),
    Neg,
    Sum(&'a Bound, &'a Bound),
    D,
}

fn token(e: &Expr) -> Token<'_> {
    match e {
        Expr::Num(x) => Token::Num(x),
        Expr::Sym(x) => Token::Sym(x),
        Expr::Idx(x, ix) => Token::Idx(x, ix.len()),
        Expr::Delta(_, _) => Token::Delta,
        Expr::Call(f, _) => Token::Call(*f),
        Expr::Pow(_, _) => Token::Pow,
        Expr::Mul(xs) => Token::Mul(xs.len()),
        Expr::Div(_, _) => Token::Div,
        Expr::Add(xs) => Token::Add(xs.len()),
        Expr::Neg(_) => Token::Neg,
        Expr::Sum(s) => Token::Sum(&s.lo, &s.hi),
        Expr::D(_, _) => Token::D,
    }
}

/// Compare `a` and `b` read in lockstep: a node's token, then its indices, then its
/// subterms. The common kinds are matched directly, one dispatch per pair of nodes.
fn cmp_in<'a>(a: &'a Expr, ab: &mut Vec<&'a str>, b: &'a Expr, bb: &mut Vec<&'a str>) -> Ordering {
    // A shared subterm under the same binders is equal to itself: terms share most subterms.
    if std::ptr::eq(a, b) && ab == bb {
        return Ordering::Equal;
    }
    match (a, b) {
        (Expr::Call(f, x), Expr::Call(g, y)) => f.cmp(g).then_with(|| cmp_in(x, ab, y, bb)),
        (Expr::Neg(x), Expr::Neg(y)) => cmp_in(x, ab, y, bb),
        (Expr::Pow(x, u), Expr::Pow(y, v))
        | (Expr::Div(x, u), Expr::Div(y, v))
        | (Expr::D(x, u), Expr::D(y, v)) => cmp_in(x, ab, y, bb).then_with(|| cmp_in(u, ab, v, bb)),
        (Expr::Add(xs), Expr::Add(ys)) | (Expr::Mul(xs), Expr::Mul(ys)) => {
            let mut pairs = xs.iter().zip(ys.iter()).map(|(x, y)| cmp_in(x, ab, y, bb));
            xs.len()
                .cmp(&ys.len())
                .then_with(|| pairs.find(|o| o.is_ne()).unwrap_or(Ordering::Equal))
        }
        (Expr::Sum(s), Expr::Sum(t)) => token(a).cmp(&token(b)).then_with(|| {
            ab.push(&s.index);
            bb.push(&t.index);
            let o = cmp_in(&s.body, ab, &t.body, bb);
            ab.pop();
            bb.pop();
            o
        }),
        (Expr::Idx(..), Expr::Idx(..)) | (Expr::Delta(..), Expr::Delta(..)) => {
            let mut pairs =
                a.indices().zip(b.indices()).map(|(x, y)| resolve(x, ab).cmp(&resolve(y, bb)));
            token(a)
                .cmp(&token(b))
                .then_with(|| pairs.find(|o| o.is_ne()).unwrap_or(Ordering::Equal))
        }
        // Numbers, symbols, and terms of different kinds: the tokens tell.
        _ => token(a).cmp(&token(b)),
    }
}

/// Hash the tokens `cmp_in` compares, so equal terms hash alike.
fn hash_in<'a, H: Hasher>(e: &'a Expr, binders: &mut Vec<&'a str>, h: &mut H) {
    token(e).hash(h);
    e.indices().for_each(|i| resolve(i, binders).hash(h));
    if let Expr::Sum(s) = e {
        binders.push(&s.index);
    }
    e.children().for_each(|c| hash_in(c, binders, h));
    if let Expr::Sum(_) = e {
        binders.pop();
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

    fn hash(e: &crate::expr::Expr) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(e)
    }

    #[test]
    fn shadowing_binders_and_deltas() {
        let p = |s: &str| parse_expr(s).unwrap();
        let pairs = [
            ("sum_k(sum_k(x_k))", "sum_m(sum_k(x_k))", true),
            ("sum_k(sum_k(x_k))", "sum_k(sum_m(x_k))", false),
            ("sum_k(delta(k,j)*x_k)", "sum_m(delta(m,j)*x_m)", true),
            ("sum_k(delta(k,j))", "sum_k(delta(j,k))", false),
            ("sum_{k=1}^{n}(x_k)", "sum_{k=2}^{n}(x_k)", false),
            ("W_{i,k}", "W_{i,k,1}", false),
            ("sum_k(x_k) + sum_m(y_m)", "sum_i(x_i) + sum_i(y_i)", true),
        ];
        for (a, b, same) in pairs {
            let (a, b) = (p(a), p(b));
            assert_eq!(a == b, same, "{a} vs {b}");
            assert_eq!(a.cmp(&b).reverse(), b.cmp(&a), "{a} vs {b}");
            if same {
                assert_eq!(hash(&a), hash(&b), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn kinds_come_in_a_fixed_order() {
        // Numbers, symbols, indexed symbols, deltas, calls, powers, products, quotients,
        // sums of terms, negations, sums over an index, derivatives; then data, then subterms.
        let order = [
            "-1",
            "2",
            "a",
            "b",
            "a_i",
            "b_1",
            "delta(i,j)",
            "exp(y)",
            "sin(x)",
            "x^2",
            "2*x",
            "x*y*z",
            "x/y",
            "x + y",
            "-x",
            "sum_k(x_k)",
            "D(y, x)",
        ];
        let terms: Vec<_> = order.iter().map(|s| parse_expr(s).unwrap()).collect();
        for w in terms.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
        }
    }
}
