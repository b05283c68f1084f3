//! The kernel's own reader of the expression syntax, for rule patterns and certificate
//! terms: small enough to trust, so `deriv check` does not rest on the user-facing parser.
//!
//! It reads the language of `grammar/deriv.pest` (without comments) and builds the
//! parser's shapes through the smart constructors; `tests/reader_agreement.rs` holds it to
//! `syntax::parse_expr`. Input is bounded: a term deeper than [`MAX_DEPTH`] (as
//! `Expr::depth` counts, checked at every node as it is built, so a long chain `x/x/…/x`
//! stops there), brackets, calls and powers nested deeper than that, and numbers longer
//! than [`MAX_DIGITS`] are errors. Recursion is bounded but not shallow: read deep terms
//! on a roomy stack (a few MB unoptimised at [`MAX_DEPTH`]), as `deriv check` does.

use crate::expr::{Bound, Expr, Func, Index, IndexDecl, Rat, Sum, MAX_DEPTH};
use num_bigint::BigInt;
use std::fmt::Display;

const MAX_DIGITS: usize = 1000;

/// What a read gives, or why it failed.
type Res<T> = Result<T, String>;

/// A term and its depth (a leaf is 1).
type Read = Res<(Expr, usize)>;

/// Read a term; bare sums (`sum_k(…)`) range over the declared range of their index, and
/// any name may be an index (a certificate's summand may mention its bound index).
pub fn read_term(text: &str, decls: &[IndexDecl]) -> Res<Expr> {
    Reader::whole(text, decls, |r| Ok(r.expr()?.0))
}

/// Read a variable: `x`, `z_i`, `W_{i,j}`.
pub fn read_variable(text: &str) -> Res<Expr> {
    Reader::whole(text, &[], Reader::variable)
}

/// Read an index as the syntax writes one: a name (`i`) or a natural number (`3`).
pub fn read_index_strict(text: &str) -> Res<Index> {
    Reader::whole(text, &[], Reader::index)
}

/// Read a range bound as the syntax writes one: a name (`n`) or a natural number (`1`).
pub fn read_bound_strict(text: &str) -> Res<Bound> {
    Reader::whole(text, &[], Reader::bound)
}

struct Reader<'a> {
    /// The text still to read, of `len` bytes at first.
    s: &'a str,
    len: usize,
    decls: &'a [IndexDecl],
    /// Nested `power` calls: every cycle of the recursion passes through one, so this
    /// bounds the stack.
    frames: usize,
}

impl<'a> Reader<'a> {
    /// Run `read` over the whole of `text`, blanks allowed around it (every read skips the
    /// blanks before it).
    fn whole<T>(text: &'a str, decls: &'a [IndexDecl], read: fn(&mut Self) -> Res<T>) -> Res<T> {
        let mut r = Reader { s: text, len: text.len(), decls, frames: 0 };
        let out = read(&mut r)?;
        r.peek().map_or(Ok(out), |_| r.fail("unexpected text"))
    }
    fn fail<T>(&self, what: impl Display) -> Res<T> {
        Err(format!("{what} at byte {}", self.len - self.s.len()))
    }
    fn ensure(&self, ok: bool, what: impl Display) -> Res<()> {
        ok.then_some(()).map_or_else(|| self.fail(what), Ok)
    }
    /// The next character after blanks.
    fn peek(&mut self) -> Option<char> {
        self.s = self.s.trim_start_matches([' ', '\t']);
        self.s.chars().next()
    }
    /// Take `c` if it comes next, with no blank before it.
    fn glue(&mut self, c: char) -> bool {
        self.s.strip_prefix(c).map(|rest| self.s = rest).is_some()
    }
    fn eat(&mut self, c: char) -> bool {
        self.peek() == Some(c) && self.glue(c)
    }
    fn expect(&mut self, c: char) -> Res<()> {
        let found = self.eat(c);
        self.ensure(found, format_args!("expected `{c}`"))
    }
    fn close(&mut self, braced: bool) -> Res<()> {
        braced.then(|| self.expect('}')).unwrap_or(Ok(()))
    }
    /// Whether a letter or digit follows with no blank between.
    fn glued(&self) -> bool {
        self.s.starts_with(|c: char| c.is_ascii_alphanumeric())
    }
    /// Letters and digits after blanks (and dots, in a number: checked by the caller).
    fn word(&mut self, dot: bool) -> &'a str {
        self.peek();
        let rest =
            self.s.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || dot && c == '.');
        let word = &self.s[..self.s.len() - rest.len()];
        self.s = rest;
        word
    }
    /// `e`, whose parts are at most `deepest` deep: a leaf if the smart constructor folded
    /// it to a number, else one deeper; refused past [`MAX_DEPTH`].
    fn node(&self, e: Expr, deepest: usize) -> Read {
        let depth = if matches!(e, Expr::Num(_)) { 1 } else { deepest + 1 };
        self.ensure(depth <= MAX_DEPTH, "term nests too deep")?;
        Ok((e, depth))
    }
    /// A sum or product of `items`; a lone item stands alone.
    fn list(&self, mut items: Vec<(Expr, usize)>, make: fn(Vec<Expr>) -> Expr) -> Read {
        if items.len() == 1 {
            return Ok(items.remove(0));
        }
        let (items, depths): (Vec<Expr>, Vec<usize>) = items.into_iter().unzip();
        self.node(make(items), depths.into_iter().max().unwrap_or(0))
    }
    /// `[-]* term ((+|-) term)*`.
    fn expr(&mut self) -> Read {
        let mut terms = vec![self.signed(Self::term)?];
        while let Some(op) = ['+', '-'].into_iter().find(|&c| self.eat(c)) {
            let t = self.term()?;
            terms.push(if op == '-' { self.node(Expr::neg(t.0), t.1)? } else { t });
        }
        self.list(terms, Expr::add)
    }
    /// Leading signs: each minus a negation of what follows, a plus nothing.
    fn signed(&mut self, read: fn(&mut Self) -> Read) -> Read {
        let minuses = std::iter::from_fn(|| ['-', '+'].into_iter().find(|&c| self.eat(c)))
            .filter(|&c| c == '-')
            .count();
        self.ensure(minuses <= MAX_DEPTH, "too many minus signs")?;
        let t = read(self)?;
        (0..minuses).try_fold(t, |t, _| self.node(Expr::neg(t.0), t.1))
    }
    /// `factor ((*|/) factor)*`, left to right: `a*b/c*d` is `((a*b)/c)*d`.
    fn term(&mut self) -> Read {
        let mut factors = vec![self.signed(Self::power)?];
        while let Some(op) = ['*', '/'].into_iter().find(|&c| self.eat(c)) {
            let mut rhs = self.signed(Self::power)?;
            if op == '/' {
                let lhs = self.list(std::mem::take(&mut factors), Expr::mul)?;
                rhs = self.node(Expr::div(lhs.0, rhs.0), lhs.1.max(rhs.1))?;
            }
            factors.push(rhs);
        }
        self.list(factors, Expr::mul)
    }
    /// `atom (^ factor)?`: right-associative, binding tighter than a leading minus. The
    /// frame bound allows one more than the depth: `x^(-1/3)` has a frame for the brackets
    /// of a number. An error ends the whole read, so `frames` is restored only on success.
    fn power(&mut self) -> Read {
        self.frames += 1;
        self.ensure(self.frames <= MAX_DEPTH + 1, "brackets, calls or powers nest too deep")?;
        let mut base = match self.peek() {
            Some('(') => self.group()?,
            Some('0'..='9' | '.') => self.number()?,
            Some(c) if c.is_ascii_alphabetic() => self.named()?,
            _ => return self.fail("expected an expression"),
        };
        if self.eat('^') {
            let exp = self.signed(Self::power)?;
            base = self.node(Expr::pow(base.0, exp.0), base.1.max(exp.1))?;
        }
        self.frames -= 1;
        Ok(base)
    }
    /// `(expr)`.
    fn group(&mut self) -> Read {
        self.expect('(')?;
        let e = self.expr()?;
        self.expect(')')?;
        Ok(e)
    }
    /// `digits`, `digits.digits` or `.digits`, exactly (`1.`, `1.2.3` and `2x` are refused).
    fn number(&mut self) -> Read {
        let text = self.word(true);
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        self.ensure(text.len() <= MAX_DIGITS && !text.ends_with('.'), "number too long or cut")?;
        let n: BigInt = format!("{int}{frac}").parse().or_else(|_| self.fail("bad number"))?;
        Ok((Expr::Num(Rat::new(n, num_traits::pow(BigInt::from(10), frac.len()))), 1))
    }
    /// An identifier: a letter, then letters or digits, and not a keyword.
    fn name(&mut self) -> Res<String> {
        let w = self.word(false);
        let keyword = matches!(w, "sum" | "delta" | "D" | "pi") || Func::from_name(w).is_some();
        let ok = !keyword && w.starts_with(|c: char| c.is_ascii_alphabetic());
        self.ensure(ok, format_args!("expected a name, not `{w}`"))?;
        Ok(w.to_string())
    }
    /// An index or a range bound: a natural number or a name (a keyword too, as in `x_exp`).
    fn int_or_name<T>(&mut self, int: fn(i64) -> T, name: fn(String) -> T) -> Res<T> {
        let w = self.word(false);
        match w.chars().next() {
            Some('0'..='9') => w.parse().map(int).or_else(|_| self.fail("bad number")),
            Some(_) => Ok(name(w.to_string())),
            None => self.fail("expected an index or a range bound"),
        }
    }
    fn index(&mut self) -> Res<Index> {
        self.int_or_name(Index::Int, Index::Name)
    }
    /// `3`, `n`, or `n+1` and `n-1` (no blanks inside; an offset of 0 is not written).
    fn bound(&mut self) -> Res<Bound> {
        let b = self.int_or_name(Bound::Int, |n| Bound::Sym(n, 0))?;
        let sign = match () {
            _ if !matches!(b, Bound::Sym(..)) => return Ok(b),
            _ if self.glue('+') => 1,
            _ if self.glue('-') => -1,
            _ => return Ok(b),
        };
        let w = if self.glued() { self.word(false) } else { "" };
        let k: i64 = w.parse().or_else(|_| self.fail("expected a whole offset after the size"))?;
        self.ensure(k != 0 && w.len() <= 9, "bad offset")?;
        Ok(b.shifted(sign * k).unwrap_or(b))
    }
    /// A call, a delta, a derivative, a sum or a variable (a keyword not followed by its
    /// bracket or `_` goes to `variable`, which refuses it).
    fn named(&mut self) -> Read {
        let start = self.s;
        let word = self.word(false);
        if let Some(f) = Func::from_name(word) {
            let (arg, d) = self.group()?;
            return self.node(Expr::call(f, arg), d);
        }
        let (e, d) = match word {
            // π, which printers write for `acos(-1)`.
            "pi" => return Ok((Expr::call(Func::Acos, Expr::int(-1)), 1)),
            "sum" if self.glue('_') => return self.sum(),
            "delta" if self.eat('(') => {
                let i = self.index()?;
                self.expect(',')?;
                (Expr::Delta(i, self.index()?), 0)
            }
            "D" if self.eat('(') => {
                let (f, d) = self.expr()?;
                self.expect(',')?;
                (Expr::d(f, self.variable()?), d)
            }
            _ => {
                self.s = start;
                return Ok((self.variable()?, 1));
            }
        };
        self.expect(')')?;
        self.node(e, d)
    }
    /// After `_`: whether `{` follows; if not, a letter or digit must, with no blank between.
    fn braced(&mut self) -> Res<bool> {
        let braced = self.glue('{');
        self.ensure(braced || self.glued(), "expected an index")?;
        Ok(braced)
    }
    /// `x`, `z_i` or `W_{i,j}`: no blank before `_` or after it.
    fn variable(&mut self) -> Res<Expr> {
        let name = self.name()?;
        if !self.glue('_') {
            return Ok(Expr::Sym(name));
        }
        let braced = self.braced()?;
        let mut ix = vec![self.index()?];
        while braced && self.eat(',') {
            ix.push(self.index()?);
        }
        self.close(braced)?;
        Ok(Expr::Idx(name, ix))
    }
    /// `sum_k(…)`, `sum_{k}(…)`, `sum_{k=A}^{B}(…)` or `sum_{k=A}^B(…)`, after the `_`.
    fn sum(&mut self) -> Read {
        let braced = self.braced()?;
        let index = self.name()?;
        let explicit_bounds = braced && self.eat('=');
        let lo = if explicit_bounds { Some(self.bound()?) } else { None };
        self.close(braced)?;
        let decls = self.decls;
        let (lo, hi) = match (lo, decls.iter().find(|d| d.names.contains(&index))) {
            (Some(lo), _) => {
                self.expect('^')?;
                let braced = self.eat('{');
                let hi = self.bound()?;
                self.close(braced)?;
                (lo, hi)
            }
            (None, Some(d)) => (d.lo.clone(), d.hi.clone()),
            (None, None) => return self.fail(format_args!("undeclared index `{index}`")),
        };
        let (body, d) = self.group()?;
        self.node(Sum::written(index, lo, hi, explicit_bounds, body), d)
    }
}
