//! Smart constructors that keep terms in the shape the parser produces.
//!
//! The parser and every strategy build terms through these, so that printing
//! a term and parsing it back gives the same term (the round-trip invariant).

use super::{Expr, Rat};
use num_traits::Signed;

impl Expr {
    /// `-e`, with the sign pushed into a leading number or the first factor,
    /// exactly as the parser reads `-2*x` or `-x/y`.
    pub fn neg(e: Expr) -> Expr {
        match e {
            Expr::Num(c) => Expr::Num(-c),
            Expr::Mul(mut fs) if !fs.is_empty() => {
                let first = std::mem::replace(&mut fs[0], Expr::int(0));
                fs[0] = Expr::neg(first);
                Expr::Mul(fs)
            }
            Expr::Div(a, b) => Expr::Div(Box::new(Expr::neg(*a)), b),
            other => Expr::Neg(Box::new(other)),
        }
    }

    /// The inverse of [`Expr::neg`]: `Some(x)` when this term reads as `-x`.
    pub fn unneg(&self) -> Option<Expr> {
        match self {
            Expr::Num(c) if c.is_negative() => Some(Expr::Num(-c)),
            Expr::Neg(x) => Some((**x).clone()),
            Expr::Mul(fs) if !fs.is_empty() => {
                let first = fs[0].unneg()?;
                let mut out = fs.clone();
                out[0] = first;
                Some(Expr::Mul(out))
            }
            Expr::Div(a, b) => Some(Expr::Div(Box::new(a.unneg()?), b.clone())),
            _ => None,
        }
    }

    /// A sum of terms; the empty sum is 0 and a single term stands alone.
    pub fn add(mut terms: Vec<Expr>) -> Expr {
        match terms.len() {
            0 => Expr::int(0),
            1 => terms.pop().unwrap_or_else(|| Expr::int(0)),
            _ => Expr::Add(terms),
        }
    }

    /// A product of factors; the empty product is 1 and a single factor stands alone.
    pub fn mul(mut factors: Vec<Expr>) -> Expr {
        match factors.len() {
            0 => Expr::int(1),
            1 => factors.pop().unwrap_or_else(|| Expr::int(1)),
            _ => Expr::Mul(factors),
        }
    }

    /// `a - b` as the parser builds it.
    pub fn sub(a: Expr, b: Expr) -> Expr {
        Expr::Add(vec![a, Expr::neg(b)])
    }

    pub fn num(r: Rat) -> Expr {
        Expr::Num(r)
    }
}
