//! Term helpers the trusted kernel does not use: constructors for tests and strategies,
//! positions, sizes and signs. They live outside `src/expr` so the trusted base holds
//! only what the kernel needs; import [`ExprExt`] to call them as `Expr::sym("x")`.

use crate::expr::{Expr, Index, Rat};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::ToPrimitive;

pub trait ExprExt: Sized {
    fn rat(n: i64, d: i64) -> Self;
    fn sym(name: &str) -> Self;
    fn idx(name: &str, indices: &[&str]) -> Self;
    /// `a - b` as the parser builds it.
    fn sub(a: Self, b: Self) -> Self;
    /// The inverse of [`Expr::neg`]: `Some(x)` when this term reads as `-x`.
    fn unneg(&self) -> Option<Self>;
    /// The subterm at a position (a path of child numbers), if there is one.
    fn at(&self, path: &[usize]) -> Option<&Self>;
    /// Replace the subterm at `path` by `with`; `None` if the path leads nowhere.
    fn replace_at(&self, path: &[usize], with: Self) -> Option<Self>;
    /// Number of nodes; the size measure that simplification minimises starts from this.
    fn size(&self) -> usize;
    /// Whether this term is the number 1.
    fn is_one(&self) -> bool;
    /// The name of a symbol or indexed symbol (`a` of `a_i`).
    fn variable_name(&self) -> Option<&String>;
}

impl ExprExt for Expr {
    fn rat(n: i64, d: i64) -> Expr {
        Expr::Num(Rat::small(n, d))
    }

    fn sym(name: &str) -> Expr {
        Expr::Sym(name.to_string())
    }

    fn idx(name: &str, indices: &[&str]) -> Expr {
        Expr::Idx(name.to_string(), indices.iter().map(|i| Index::Name(i.to_string())).collect())
    }

    fn variable_name(&self) -> Option<&String> {
        match self {
            Expr::Sym(n) | Expr::Idx(n, _) => Some(n),
            _ => None,
        }
    }

    fn is_one(&self) -> bool {
        matches!(self, Expr::Num(r) if *r == Rat::small(1, 1))
    }

    fn sub(a: Expr, b: Expr) -> Expr {
        Expr::Add(vec![a, Expr::neg(b)].into())
    }

    fn unneg(&self) -> Option<Expr> {
        match self {
            Expr::Num(c) if c.is_negative() => Some(Expr::Num(-c)),
            Expr::Neg(x) => Some((**x).clone()),
            _ => None,
        }
    }

    fn at(&self, path: &[usize]) -> Option<&Expr> {
        let mut e = self;
        for &i in path {
            e = e.children().nth(i)?;
        }
        Some(e)
    }

    fn replace_at(&self, path: &[usize], with: Expr) -> Option<Expr> {
        let Some((&first, rest)) = path.split_first() else {
            return Some(with);
        };
        let child = self.children().nth(first)?.replace_at(rest, with)?;
        let mut at = 0..;
        Some(self.map_children(|c| if at.next() == Some(first) { &child } else { c }.clone()))
    }

    fn size(&self) -> usize {
        1 + self.children().map(Expr::size).sum::<usize>()
    }
}

/// Number helpers the trusted kernel does not use; import [`RatExt`] to call them as
/// `Rat::small(1, 2)`.
pub trait RatExt: Sized {
    /// `n/d`; panics when `d` is zero.
    fn small(n: i64, d: i64) -> Self;
    fn from_integer(n: BigInt) -> Self;
    fn numer(&self) -> BigInt;
    /// Positive.
    fn denom(&self) -> BigInt;
    /// The larger of `self` and `-self`.
    fn abs(&self) -> Self;
    /// The nearest float.
    fn to_f64(&self) -> Option<f64>;
    /// `1/self`; panics on zero.
    fn recip(&self) -> Self;
}

impl RatExt for Rat {
    fn small(n: i64, d: i64) -> Rat {
        Rat::int(n) / Rat::int(d)
    }

    fn from_integer(n: BigInt) -> Rat {
        Rat::from_big(BigRational::from_integer(n))
    }

    fn numer(&self) -> BigInt {
        self.to_big().numer().clone()
    }

    fn denom(&self) -> BigInt {
        self.to_big().denom().clone()
    }

    fn abs(&self) -> Rat {
        std::cmp::max(self.clone(), -self)
    }

    fn to_f64(&self) -> Option<f64> {
        self.to_big().to_f64()
    }

    fn recip(&self) -> Rat {
        Rat::int(1) / self
    }
}

/// A fresh index name a reader takes for a new summation index: `m`, `p`, `q`, `r`, `l`
/// in turn, else `base` numbered.
pub fn reader_index(base: &str, avoid: &std::collections::BTreeSet<String>) -> String {
    ["m", "p", "q", "r", "l"]
        .iter()
        .map(|n| n.to_string())
        .find(|n| !avoid.contains(n))
        .unwrap_or_else(|| crate::expr::fresh_index(base, avoid))
}
/// How much an algebra step that turned `before` into `after` changed, an estimate of their
/// tree edit distance over the ring structure: the nodes of each that are not a subterm of
/// the other (a node with a changed child is changed), an atom counting as one. Moving or
/// rebracketing whole subterms costs a node or two; writing out new terms, or dropping old
/// ones, costs their size in ring operations and atoms.
pub fn edit_size(before: &Expr, after: &Expr) -> usize {
    fn subterms<'a>(e: &'a Expr, out: &mut std::collections::HashSet<&'a Expr>) {
        if out.insert(e) {
            e.children().for_each(|c| subterms(c, out));
        }
    }
    // An atom of the algebra (a variable, a call, a sum) is one node, whatever is inside it:
    // cancelling `exp(…)` is one move however long its argument.
    fn new_nodes(e: &Expr, old: &std::collections::HashSet<&Expr>) -> usize {
        let ring = matches!(e, Expr::Add(_) | Expr::Mul(_) | Expr::Div(..) | Expr::Neg(_))
            || matches!(e, Expr::Pow(_, k) if k.as_num().is_some());
        match old.contains(e) {
            true => 0,
            false if ring => 1 + e.children().map(|c| new_nodes(c, old)).sum::<usize>(),
            false => 1,
        }
    }
    let one_way = |from: &Expr, to: &Expr| {
        let mut old = std::collections::HashSet::new();
        subterms(from, &mut old);
        new_nodes(to, &old)
    };
    one_way(before, after) + one_way(after, before)
}
