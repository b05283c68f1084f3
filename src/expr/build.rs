//! Smart constructors that keep terms in the shape the parser produces.
//!
//! The parser and every strategy build terms through these, so that printing
//! a term and parsing it back gives the same term (the round-trip invariant).

use super::Expr;
use std::sync::Arc;

impl Expr {
    /// `-e` as the parser reads it: a number takes the sign, anything else is wrapped,
    /// so `-2*x` is `Neg(2*x)` and `-x/y` is `Neg(x/y)`.
    pub fn neg(e: Expr) -> Expr {
        match e {
            Expr::Num(c) => Expr::Num(-c),
            other => Expr::Neg(Arc::new(other)),
        }
    }

    /// This term in the parser's shape: numbers under a minus or a division are folded,
    /// and one-element sums and products stand alone. Only these local, value-preserving
    /// changes are made, so positions of the other subterms stay valid.
    pub fn reshape(self) -> Expr {
        match self {
            Expr::Neg(x) => Expr::neg(Arc::unwrap_or_clone(x)),
            Expr::Div(a, b) => Expr::div(Arc::unwrap_or_clone(a), Arc::unwrap_or_clone(b)),
            Expr::Add(ts) | Expr::Mul(ts) if ts.len() == 1 => ts[0].clone(),
            Expr::Add(ts) if ts.is_empty() => Expr::int(0),
            Expr::Mul(fs) if fs.is_empty() => Expr::int(1),
            other => other,
        }
    }

    /// A sum of terms; the empty sum is 0 and a single term stands alone.
    pub fn add(terms: Vec<Expr>) -> Expr {
        Expr::Add(terms.into()).reshape()
    }

    /// A product of factors; the empty product is 1 and a single factor stands alone.
    pub fn mul(factors: Vec<Expr>) -> Expr {
        Expr::Mul(factors.into()).reshape()
    }
}
