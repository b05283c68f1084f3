//! The kernel's own reader of the expression syntax, for rule patterns and certificate
//! terms: small enough to trust, so `deriv check` does not rest on the user-facing parser.
//!
//! It reads what the plain printer writes and builds the parser's shapes (a test holds it
//! to agree with `syntax::parse_expr` on random terms). Input is bounded: nesting deeper
//! than [`MAX_DEPTH`] and numbers longer than [`MAX_DIGITS`] digits are errors.

use crate::expr::{Bound, Expr, Func, Index, IndexDecl, Rat, Sum, MAX_DEPTH};
use num_bigint::BigInt;
use std::sync::Arc;

const MAX_DIGITS: usize = 1000;

/// Read a term; bare sums (`sum_k(…)`) range over the declared range of their index.
pub fn read_term(text: &str, decls: &[IndexDecl]) -> Result<Expr, String> {
    let mut r = Reader { s: text.as_bytes(), at: 0, decls, depth: 0 };
    let e = r.expr()?;
    r.end()?;
    Ok(e)
}

/// Read a variable: `x`, `z_i`, `W_{i,j}`.
pub fn read_variable(text: &str) -> Result<Expr, String> {
    let mut r = Reader { s: text.as_bytes(), at: 0, decls: &[], depth: 0 };
    let v = r.variable()?;
    r.end()?;
    Ok(v)
}

/// An index (`i`, `3`) or a range bound (`n`, `1`), as certificates write them.
pub fn read_index(text: &str) -> Index {
    let t = text.trim();
    t.parse().map(Index::Int).unwrap_or_else(|_| Index::Name(t.to_string()))
}

pub fn read_bound(text: &str) -> Bound {
    let t = text.trim();
    t.parse().map(Bound::Int).unwrap_or_else(|_| Bound::Sym(t.to_string()))
}

struct Reader<'a> {
    s: &'a [u8],
    at: usize,
    decls: &'a [IndexDecl],
    depth: usize,
}

impl Reader<'_> {
    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.at))
    }
    fn blank(&mut self) {
        while matches!(self.s.get(self.at), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.blank();
        self.s.get(self.at).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.at += usize::from(hit);
        hit
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            self.fail(&format!("expected `{}`", c as char))
        }
    }
    fn end(&mut self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("unexpected text"),
        }
    }
    /// One more level of nesting, refused past the bound every term obeys.
    fn deeper<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T, String>) -> Result<T, String> {
        if self.depth >= MAX_DEPTH {
            return self.fail("nesting too deep");
        }
        self.depth += 1;
        let out = read(self);
        self.depth -= 1;
        out
    }
    /// `[-]* term ((+|-) term)*`.
    fn expr(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.signed(Self::term)?];
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.at += 1;
            let t = self.term()?;
            terms.push(if op == b'-' { Expr::neg(t) } else { t });
        }
        Ok(Expr::add(terms))
    }
    /// Leading minus signs, each a negation of what follows.
    fn signed(&mut self, read: fn(&mut Self) -> Result<Expr, String>) -> Result<Expr, String> {
        let mut minuses = 0;
        while self.eat(b'-') {
            minuses += 1;
        }
        if minuses > MAX_DEPTH {
            return self.fail("too many minus signs");
        }
        let mut e = read(self)?;
        for _ in 0..minuses {
            e = Expr::neg(e);
        }
        Ok(e)
    }
    /// `factor ((*|/) factor)*`, left to right: `a*b/c*d` is `((a*b)/c)*d`.
    fn term(&mut self) -> Result<Expr, String> {
        let mut factors = vec![self.factor()?];
        while let Some(op @ (b'*' | b'/')) = self.peek() {
            self.at += 1;
            let rhs = self.factor()?;
            if op == b'*' {
                factors.push(rhs);
            } else {
                let lhs = Expr::mul(std::mem::take(&mut factors));
                factors.push(Expr::div(lhs, rhs));
            }
        }
        Ok(Expr::mul(factors))
    }
    fn factor(&mut self) -> Result<Expr, String> {
        self.signed(Self::power)
    }
    /// `atom (^ factor)?`: right-associative, binding tighter than a leading minus.
    fn power(&mut self) -> Result<Expr, String> {
        self.deeper(|r| {
            let base = r.atom()?;
            if r.eat(b'^') {
                Ok(Expr::pow(base, r.factor()?))
            } else {
                Ok(base)
            }
        })
    }
    fn atom(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(b'(') => {
                self.at += 1;
                let e = self.expr()?;
                self.expect(b')')?;
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.named(),
            _ => self.fail("expected an expression"),
        }
    }
    fn number(&mut self) -> Result<Expr, String> {
        let digits = |r: &mut Self| {
            let from = r.at;
            while r.s.get(r.at).is_some_and(u8::is_ascii_digit) {
                r.at += 1;
            }
            String::from_utf8_lossy(&r.s[from..r.at]).into_owned()
        };
        let int = digits(self);
        let frac = if self.s.get(self.at) == Some(&b'.') {
            self.at += 1;
            digits(self)
        } else {
            String::new()
        };
        if int.len() + frac.len() > MAX_DIGITS {
            return self.fail("number too long");
        }
        let n: BigInt = format!("{int}{frac}").parse().map_err(|_| "malformed number")?;
        Ok(Expr::Num(Rat::new(n, num_traits::pow(BigInt::from(10), frac.len()))))
    }
    /// A word: letters then letters or digits, with no blank before it is read.
    fn word(&mut self) -> String {
        let from = self.at;
        while self.s.get(self.at).is_some_and(u8::is_ascii_alphanumeric) {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.s[from..self.at]).into_owned()
    }
    /// A call, a delta, a derivative, a sum or a variable.
    fn named(&mut self) -> Result<Expr, String> {
        let start = self.at;
        let word = self.word();
        let called = |r: &mut Self| r.peek() == Some(b'(');
        if let Some(f) = Func::from_name(&word) {
            self.expect(b'(')?;
            let arg = self.deeper(Self::expr)?;
            self.expect(b')')?;
            return Ok(Expr::call(f, arg));
        }
        match word.as_str() {
            "delta" if called(self) => {
                self.expect(b'(')?;
                let i = self.index()?;
                self.expect(b',')?;
                let j = self.index()?;
                self.expect(b')')?;
                Ok(Expr::Delta(i, j))
            }
            "D" if called(self) => {
                self.expect(b'(')?;
                let f = self.deeper(Self::expr)?;
                self.expect(b',')?;
                let x = self.variable()?;
                self.expect(b')')?;
                Ok(Expr::d(f, x))
            }
            "sum" if self.s.get(self.at) == Some(&b'_') => self.sum(),
            "delta" | "D" | "sum" => self.fail(&format!("`{word}` is reserved")),
            _ => {
                self.at = start;
                self.variable()
            }
        }
    }
    fn variable(&mut self) -> Result<Expr, String> {
        self.blank();
        if !self.s.get(self.at).is_some_and(u8::is_ascii_alphabetic) {
            return self.fail("expected a name");
        }
        let name = self.word();
        if self.s.get(self.at) != Some(&b'_') {
            return Ok(Expr::Sym(name));
        }
        self.at += 1;
        let mut ix = Vec::new();
        if self.eat(b'{') {
            loop {
                ix.push(self.index()?);
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b'}')?;
        } else {
            ix.push(self.index()?);
        }
        Ok(Expr::Idx(name, ix))
    }
    fn index(&mut self) -> Result<Index, String> {
        self.blank();
        let w = self.word();
        match w.bytes().next() {
            Some(c) if c.is_ascii_digit() => w.parse().map(Index::Int).map_err(|_| format!("bad index `{w}`")),
            Some(_) => Ok(Index::Name(w)),
            None => self.fail("expected an index"),
        }
    }
    fn bound(&mut self) -> Result<Bound, String> {
        let w = self.word();
        if w.is_empty() {
            return self.fail("expected a range bound");
        }
        Ok(read_bound(&w))
    }
    /// `sum_k(…)`, `sum_{k}(…)`, `sum_{k=A}^{B}(…)` or `sum_{k=A}^B(…)`.
    fn sum(&mut self) -> Result<Expr, String> {
        self.at += 1; // the `_`
        let braced = self.eat(b'{');
        let index = self.word();
        let bounds = if braced && self.eat(b'=') {
            let lo = self.bound()?;
            self.expect(b'}')?;
            self.expect(b'^')?;
            let hi = if self.eat(b'{') {
                let hi = self.bound()?;
                self.expect(b'}')?;
                hi
            } else {
                self.bound()?
            };
            Some((lo, hi))
        } else {
            if braced {
                self.expect(b'}')?;
            }
            None
        };
        let explicit_bounds = bounds.is_some();
        let (lo, hi) = match bounds {
            Some(b) => b,
            None => match self.decls.iter().find(|d| d.names.contains(&index)) {
                Some(d) => (d.lo.clone(), d.hi.clone()),
                None => return self.fail(&format!("undeclared index `{index}`")),
            },
        };
        if index.is_empty() {
            return self.fail("expected a summation index");
        }
        self.expect(b'(')?;
        let body = self.deeper(Self::expr)?;
        self.expect(b')')?;
        Ok(Expr::Sum(Sum { index, lo, hi, explicit_bounds, body: Arc::new(body) }))
    }
}
