//! Terms as lists of monomials over opaque bases, for proposing simplified forms.
//!
//! Untrusted: every form built here reaches the proof only through a `ring-normalize`
//! step that the kernel checks. The printing order here is what makes results read
//! like a textbook: coefficient first, then variables, then functions, then sums.

use crate::expr::{Expr, Rat, MAX_DEPTH};
use crate::kernel::ring;
use crate::terms::RatExt;
use crate::terms::{node_key, ExprExt};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Zero};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Largest integer power expanded; larger ones stay powers.
const MAX_EXPONENT: i64 = 64;
/// Most terms an expansion may produce.
const MAX_TERMS: usize = 2000;

#[derive(Clone, Debug)]
pub struct Factor {
    pub base: Expr,
    pub exp: i64,
    /// The base's ring-canonical form, so `1 - s` and `-s + 1` are one base.
    pub key: Key,
}

/// A factor's key with its hash: bases are compared with every factor of a product as it
/// grows, and unequal keys, nearly all of them, differ in the hash.
#[derive(Clone, Debug)]
pub struct Key {
    hash: u64,
    pub expr: Expr,
}

impl Key {
    pub fn of(expr: Expr) -> Key {
        let mut h = std::hash::DefaultHasher::new();
        expr.hash(&mut h);
        Key { hash: h.finish(), expr }
    }
}

impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        self.hash == o.hash && self.expr == o.expr
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// `coeff * Π base^exp`.
#[derive(Clone, Debug)]
pub struct Term {
    pub coeff: Rat,
    pub factors: Vec<Factor>,
}

#[derive(Debug)]
pub struct TooLarge;

thread_local! {
    /// Ring-canonical forms already computed: bases recur across candidates and rounds.
    static KEYS: std::cell::RefCell<std::collections::HashMap<Expr, Key>> = Default::default();
}

/// Most entries a cache of this module keeps before it starts afresh.
const KEYS_KEPT: usize = 4096;

fn key_of(e: &Expr) -> Key {
    if let Some(k) = KEYS.with(|m| m.borrow().get(e).cloned()) {
        return k;
    }
    let k = Key::of(ring::canonical(e, 0).unwrap_or_else(|_| e.clone()));
    KEYS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > KEYS_KEPT {
            m.clear();
        }
        m.insert(e.clone(), k.clone());
    });
    k
}

impl Term {
    fn constant(c: Rat) -> Term {
        Term { coeff: c, factors: vec![] }
    }

    pub fn base(e: Expr) -> Term {
        let key = key_of(&e);
        Term { coeff: Rat::one(), factors: vec![Factor { base: e, exp: 1, key }] }
    }

    pub fn mul(&self, o: &Term) -> Term {
        let mut out = self.clone();
        out.mul_by(o);
        out
    }

    /// `self *= o`, in place: a product of n factors is built without copying its first
    /// factors n times.
    fn mul_by(&mut self, o: &Term) {
        self.coeff = &self.coeff * &o.coeff;
        for f in &o.factors {
            match self.factors.iter_mut().find(|g| g.key == f.key) {
                Some(g) => g.exp = g.exp.saturating_add(f.exp),
                None => self.factors.push(f.clone()),
            }
        }
        self.factors.retain(|g| g.exp != 0);
    }

    pub fn pow(&self, k: i64) -> Result<Term, TooLarge> {
        if self.coeff.is_zero() && k < 0 {
            return Err(TooLarge);
        }
        let bits = self.coeff.bits();
        if bits > 1 && bits.saturating_mul(k.unsigned_abs()) > 2048 {
            return Err(TooLarge);
        }
        let coeff = if k >= 0 {
            num_traits::pow(self.coeff.clone(), k as usize)
        } else {
            num_traits::pow(self.coeff.recip(), k.unsigned_abs() as usize)
        };
        if coeff.bits() > 2048 {
            return Err(TooLarge);
        }
        let mut factors = Vec::with_capacity(self.factors.len());
        for f in &self.factors {
            let exp = f
                .exp
                .checked_mul(k)
                .filter(|e| e.unsigned_abs() <= u64::from(u32::MAX))
                .ok_or(TooLarge)?;
            if exp != 0 {
                factors.push(Factor { exp, ..f.clone() });
            }
        }
        Ok(Term { coeff, factors })
    }

    /// Same bases with the same exponents: the terms combine.
    fn like(&self, o: &Term) -> bool {
        self.factors.len() == o.factors.len()
            && self
                .factors
                .iter()
                .all(|f| o.factors.iter().any(|g| g.key == f.key && g.exp == f.exp))
    }
}

/// Add terms, combining like ones and keeping the order of first appearance.
pub fn combine(terms: Vec<Term>) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::new();
    if terms.len() <= FEW_TERMS {
        for t in terms {
            match out.iter_mut().find(|u| u.like(&t)) {
                Some(u) => u.coeff = &u.coeff + &t.coeff,
                None => out.push(t),
            }
        }
    } else {
        // Like terms have one signature: only those are compared (a sum of n products of
        // n factors would otherwise compare n^2 pairs, each in n^2 steps).
        let mut by_signature: HashMap<u64, Vec<usize>> = HashMap::new();
        for t in terms {
            let alike = by_signature.entry(signature(&t)).or_default();
            match alike.iter().copied().find(|&i| out[i].like(&t)) {
                Some(i) => out[i].coeff = &out[i].coeff + &t.coeff,
                None => {
                    alike.push(out.len());
                    out.push(t);
                }
            }
        }
    }
    out.retain(|t| !t.coeff.is_zero());
    out
}

/// Terms up to which [`combine`] compares every pair.
const FEW_TERMS: usize = 8;

/// A hash of a term's factors, whatever their order: like terms have the same one.
fn signature(t: &Term) -> u64 {
    let hash = |f: &Factor| {
        let mut h = std::hash::DefaultHasher::new();
        (f.key.hash, f.exp).hash(&mut h);
        h.finish()
    };
    t.factors.iter().map(hash).fold(0, u64::wrapping_add)
}

fn product(a: &[Term], b: &[Term], max_terms: usize) -> Result<Vec<Term>, TooLarge> {
    if a.len() * b.len() > max_terms {
        return Err(TooLarge);
    }
    Ok(combine(a.iter().flat_map(|x| b.iter().map(move |y| x.mul(y))).collect()))
}

fn small_integer(e: &Expr) -> Option<i64> {
    e.as_num()?.as_i64().filter(|k| k.unsigned_abs() <= u64::from(u32::MAX / 4))
}

/// A multi-term list as one base (a parenthesised sum), or the single term itself.
fn as_single(ts: Vec<Term>) -> Term {
    if ts.len() == 1 {
        ts.into_iter().next().unwrap_or_else(|| Term::constant(Rat::zero()))
    } else if ts.is_empty() {
        Term::constant(Rat::zero())
    } else {
        let terms = TermList(ts);
        if let Some(t) = SINGLES.with(|m| m.borrow().get(&terms).cloned()) {
            return t;
        }
        let t = Term::base(to_expr(&terms.0));
        SINGLES.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() > KEYS_KEPT {
                m.clear();
            }
            m.insert(terms, t.clone());
        });
        t
    }
}

/// Terms as the key of a sum they make: hashed by their factors' keys (each hashed once,
/// when its base was first met) rather than by the whole sum, and equal when their
/// coefficients and exponents are and their bases are the very same terms (shared, or
/// equal leaves: `==` on terms is up to the names of bound indices, which a sum built
/// from them would print), so the sum they make is the same term.
struct TermList(Vec<Term>);

/// Whether `a` and `b` are one term: the same node (by its children's addresses, which the
/// key of a cached list holds), or equal leaves.
fn identical(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Sum(s), Expr::Sum(t)) => Arc::ptr_eq(s, t),
        (Expr::Num(_) | Expr::Sym(_) | Expr::Idx(..) | Expr::Delta(..), _) => a == b,
        _ => node_key(a).is_some_and(|k| node_key(b) == Some(k)),
    }
}

impl PartialEq for TermList {
    fn eq(&self, o: &TermList) -> bool {
        let same = |f: &Factor, g: &Factor| f.exp == g.exp && identical(&f.base, &g.base);
        let same_term = |t: &Term, u: &Term| {
            t.coeff == u.coeff
                && t.factors.len() == u.factors.len()
                && t.factors.iter().zip(&u.factors).all(|(f, g)| same(f, g))
        };
        self.0.len() == o.0.len() && self.0.iter().zip(&o.0).all(|(t, u)| same_term(t, u))
    }
}

impl Eq for TermList {}

impl Hash for TermList {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for t in &self.0 {
            t.coeff.hash(state);
            for f in &t.factors {
                (f.key.hash, f.exp).hash(state);
            }
        }
    }
}

thread_local! {
    /// [`as_single`] of term lists already met: a bracket inside a bracket (a continued
    /// fraction's) is made a base again at every bracket around it.
    static SINGLES: std::cell::RefCell<HashMap<TermList, Term>> = Default::default();
}

/// The monomials of `e`. With `expand`, products and positive powers of sums are
/// multiplied out; without, a sum inside a product stays one base.
pub fn to_terms(e: &Expr, expand: bool) -> Result<Vec<Term>, TooLarge> {
    terms_at(e, Shape { expand, max_terms: MAX_TERMS }, 0)
}

/// The monomials of `e` multiplied out, if no product on the way has more than
/// `max_terms` terms: a candidate form needs no more work than it could save.
pub fn expanded_within(e: &Expr, max_terms: usize) -> Result<Vec<Term>, TooLarge> {
    terms_at(e, Shape { expand: true, max_terms: max_terms.min(MAX_TERMS) }, 0)
}

/// How [`terms_at`] writes products of sums: multiplied out or not, and the most terms a
/// product may have.
#[derive(Clone, Copy)]
struct Shape {
    expand: bool,
    max_terms: usize,
}

fn terms_at(e: &Expr, shape: Shape, depth: usize) -> Result<Vec<Term>, TooLarge> {
    let expand = shape.expand;
    if depth > MAX_DEPTH {
        return Err(TooLarge);
    }
    let d = depth + 1;
    Ok(match e {
        Expr::Num(c) if c.is_zero() => vec![],
        Expr::Num(c) => vec![Term::constant(c.clone())],
        Expr::Add(ts) => {
            let mut all = Vec::new();
            for t in ts.iter() {
                for term in terms_at(t, shape, d)? {
                    // `c*(a + b)` standing alone in a sum is just `c*a + c*b`.
                    match term.factors.as_slice() {
                        [f] if f.exp == 1 && matches!(f.base, Expr::Add(_)) => {
                            let scale = Term::constant(term.coeff.clone());
                            all.extend(terms_at(&f.base, shape, d)?.iter().map(|u| u.mul(&scale)));
                        }
                        _ => all.push(term),
                    }
                }
            }
            combine(all)
        }
        Expr::Neg(x) => terms_at(x, shape, d)?
            .into_iter()
            .map(|mut t| {
                t.coeff = -t.coeff;
                t
            })
            .collect(),
        Expr::Mul(fs) => {
            let mut acc = vec![Term::constant(Rat::one())];
            for f in fs.iter() {
                let mut tf = terms_at(f, shape, d)?;
                if !expand && tf.len() > 1 {
                    tf = vec![as_single(tf)];
                }
                // One term times one term, as `product` would give it, without the copy.
                match (acc.as_mut_slice(), tf.as_slice()) {
                    ([a], [t]) => {
                        a.mul_by(t);
                        if a.coeff.is_zero() {
                            acc.clear();
                        }
                    }
                    _ => acc = product(&acc, &tf, shape.max_terms)?,
                }
            }
            if !expand && acc.len() > 1 {
                acc = vec![as_single(acc)];
            }
            acc
        }
        Expr::Div(a, b) => {
            let ta = terms_at(a, shape, d)?;
            let tb = terms_at(b, Shape { expand: false, ..shape }, d)?;
            let inv = as_single(tb).pow(-1)?;
            let ta = if expand || ta.len() <= 1 { ta } else { vec![as_single(ta)] };
            product(&ta, &[inv], shape.max_terms)?
        }
        Expr::Pow(b, k) => match small_integer(k) {
            Some(k) => {
                let tb = terms_at(b, shape, d)?;
                if tb.len() > 1 && k.abs() > MAX_EXPONENT {
                    vec![Term::base(e.clone())]
                } else if k > 0 && expand && tb.len() > 1 {
                    let mut acc = vec![Term::constant(Rat::one())];
                    for _ in 0..k {
                        acc = product(&acc, &tb, shape.max_terms)?;
                    }
                    acc
                } else if tb.is_empty() {
                    if k > 0 {
                        vec![]
                    } else if k == 0 {
                        vec![Term::constant(Rat::one())]
                    } else {
                        return Err(TooLarge);
                    }
                } else {
                    vec![as_single(tb).pow(k)?]
                }
            }
            // `b^(-1/2)` is `1/b^(1/2)`: the power goes to the denominator.
            None => match k.as_num() {
                Some(r) if r.is_negative() => {
                    vec![Term::base(Expr::pow((**b).clone(), Expr::Num(-r.clone()))).pow(-1)?]
                }
                _ => vec![Term::base(e.clone())],
            },
        },
        _ => vec![Term::base(e.clone())],
    })
}

/// How a factor sorts within a product: π and variables, then functions, then sums
/// (`2*pi*x`, as a textbook writes a constant first).
fn kind(e: &Expr) -> u8 {
    match e {
        _ if crate::functions::is_pi(e) => 0,
        Expr::Sym(_) | Expr::Idx(_, _) => 0,
        Expr::Pow(b, _) => kind(b),
        Expr::Delta(_, _) => 2,
        Expr::Sum(_) => 3,
        Expr::Add(_) => 4,
        _ => 1,
    }
}

/// Variables sort by name within their kind (`a*x^2`, not `x^2*a`); other factors keep
/// their order of appearance.
fn variable_name(e: &Expr) -> String {
    match e {
        Expr::Sym(s) | Expr::Idx(s, _) => s.clone(),
        Expr::Pow(b, _) => variable_name(b),
        _ => String::new(),
    }
}

pub(super) fn power(base: &Expr, exp: i64) -> Expr {
    if exp == 1 {
        base.clone()
    } else {
        Expr::pow(base.clone(), Expr::int(exp))
    }
}

fn int_expr(n: &BigInt) -> Expr {
    Expr::Num(Rat::from_integer(n.clone()))
}

/// One term as an expression: `-2*x*exp(x)/(1 + x^2)^2`.
pub fn term_expr(t: &Term) -> Expr {
    let negative = t.coeff.is_negative();
    let c = t.coeff.abs();
    let mut factors: Vec<&Factor> = t.factors.iter().collect();
    factors.sort_by_key(|f| (kind(&f.base), variable_name(&f.base)));
    let mut num: Vec<Expr> =
        factors.iter().filter(|f| f.exp > 0).map(|f| power(&f.base, f.exp)).collect();
    let mut den: Vec<Expr> =
        factors.iter().filter(|f| f.exp < 0).map(|f| power(&f.base, -f.exp)).collect();
    if !c.is_integer() && !c.numer().is_one() && !num.is_empty() {
        // `3/2*x^(1/2)` is two nodes shorter than `3*x^(1/2)/2`.
        num.insert(0, Expr::Num(c));
    } else {
        if !c.numer().is_one() || num.is_empty() {
            num.insert(0, int_expr(&c.numer()));
        }
        if !c.denom().is_one() {
            den.insert(0, int_expr(&c.denom()));
        }
    }
    let body = if den.is_empty() {
        Expr::mul(num)
    } else {
        Expr::Div(Arc::new(Expr::mul(num)), Arc::new(Expr::mul(den)))
    };
    if negative {
        Expr::neg(body)
    } else {
        body
    }
}

/// A polynomial in one atom in the order of its powers, as a textbook writes it: a sum
/// already in order (either way) stays as it is; otherwise highest power first. Led by a
/// negative term and ending in a positive one, it is read backwards: `1 - x - x^2`, not
/// `x - x^2 + 1` as moving the positive term to the front would give.
fn arrange_by_degree<'a>(ts: &mut [&'a Term]) {
    // Most sums have one or two terms: nothing to order, and `to_expr` is on every path.
    if ts.len() <= 2 {
        return;
    }
    let atom = ts.iter().copied().find_map(|t: &'a Term| t.factors.first()).map(|f| &f.key);
    let degree = |t: &Term| match t.factors.as_slice() {
        [] => Some(0),
        [f] if Some(&f.key) == atom => Some(f.exp),
        _ => None,
    };
    let Some(degrees) = ts.iter().map(|t| degree(t)).collect::<Option<Vec<i64>>>() else {
        return;
    };
    let ascending = degrees.windows(2).all(|w| w[0] <= w[1]);
    let descending = degrees.windows(2).all(|w| w[0] >= w[1]);
    if !ascending && !descending {
        ts.sort_by_key(|t| std::cmp::Reverse(degree(t)));
    }
    let negative = |t: &&Term| t.coeff.is_negative();
    if ts.first().is_some_and(negative) && ts.last().is_some_and(|t| !negative(t)) {
        ts.reverse();
    }
}

/// A sum of terms, led by a positive term where there is one (`x - t`, not `-t + x`).
pub fn to_expr(terms: &[Term]) -> Expr {
    let mut ts: Vec<&Term> = terms.iter().collect();
    arrange_by_degree(&mut ts);
    if let Some(p) = ts.iter().position(|t| t.coeff.is_positive()) {
        let lead = ts.remove(p);
        ts.insert(0, lead);
    }
    // A sum held whole as a term of coefficient 1 (what is left of `c*(a + b)` when `c`
    // is taken out) is spliced in: `u + (a + b)` reads as the sum it is.
    let mut out = Vec::with_capacity(ts.len());
    for t in ts {
        let whole_sum = match (t.factors.as_slice(), t.coeff.is_one()) {
            ([f], true) if f.exp == 1 => match &f.base {
                Expr::Add(inner) => Some(inner),
                _ => None,
            },
            _ => None,
        };
        match whole_sum {
            Some(inner) => out.extend(inner.iter().cloned()),
            None => out.push(term_expr(t)),
        }
    }
    Expr::add(out)
}

/// The positive rational that divides every coefficient to leave coprime integers:
/// 2 for `2*x + 4`, 1/6 for `x/2 - y/3`.
pub fn content(terms: &[Term]) -> Rat {
    let num_gcd = terms.iter().fold(BigInt::zero(), |g, t| g.gcd(&t.coeff.numer()));
    let den_lcm = terms.iter().fold(BigInt::one(), |l, t| l.lcm(&t.coeff.denom()));
    Rat::new(num_gcd, den_lcm)
}

/// Take out the common monomial and content: `2*x*y + 4*x` → `2*x*(y + 2)`.
pub fn factor(terms: &[Term]) -> Option<Expr> {
    if terms.len() < 2 {
        return None;
    }
    let first = &terms[0];
    let mut common: Vec<Factor> = Vec::new();
    for f in &first.factors {
        let mut exp = f.exp;
        for t in &terms[1..] {
            match t.factors.iter().find(|g| g.key == f.key) {
                Some(g) if g.exp.signum() == f.exp.signum() => {
                    exp = if exp > 0 { exp.min(g.exp) } else { exp.max(g.exp) };
                }
                _ => {
                    exp = 0;
                    break;
                }
            }
        }
        if exp != 0 {
            common.push(Factor { exp, ..f.clone() });
        }
    }
    let mut content = content(terms);
    if terms.iter().all(|t| t.coeff.is_negative()) {
        content = -content;
    }
    if common.is_empty() && content.is_one() {
        return None;
    }
    let g = Term { coeff: content, factors: common };
    let inv = g.pow(-1).ok()?;
    let rest: Vec<Term> = terms.iter().map(|t| t.mul(&inv)).collect();
    let mut inner = to_expr(&rest);
    // `3*(x - 1) + (2*x + 1)` inside is better as `5*x - 2`.
    if let Ok(expanded) = to_terms(&inner, true) {
        let candidate = to_expr(&expanded);
        if candidate.size() <= inner.size() && expanded.len() > 1 && candidate != inner {
            inner = candidate;
        }
    }
    // Put the sum among the numerator factors of the common term.
    let mut with_sum = g.clone();
    with_sum.factors.push(Factor { base: inner.clone(), exp: 1, key: Key::of(inner) });
    Some(term_expr(&with_sum))
}

/// Total degree, then bases in canonical order: a monomial order for division.
fn monomial_key(t: &Term) -> (i64, Vec<(Expr, i64)>) {
    let mut m: Vec<(Expr, i64)> = t.factors.iter().map(|f| (f.key.expr.clone(), f.exp)).collect();
    m.sort();
    (t.factors.iter().map(|f| f.exp).sum(), m)
}

fn leading(ts: &[Term]) -> Option<&Term> {
    ts.iter().max_by(|a, b| monomial_key(a).cmp(&monomial_key(b)))
}

/// `num / den` when the division of polynomials is exact; `None` otherwise.
pub fn divide(num: &[Term], den: &[Term]) -> Option<Vec<Term>> {
    let polynomial = |ts: &[Term]| ts.iter().all(|t| t.factors.iter().all(|f| f.exp > 0));
    if !polynomial(num) || !polynomial(den) || den.is_empty() {
        return None;
    }
    let lead = leading(den)?.clone();
    let mut rest: Vec<Term> = num.to_vec();
    let mut quotient = Vec::new();
    for _ in 0..500 {
        let Some(top) = leading(&rest).cloned() else {
            return Some(combine(quotient));
        };
        let divides = lead
            .factors
            .iter()
            .all(|f| top.factors.iter().any(|g| g.key == f.key && g.exp >= f.exp));
        if !divides {
            return None;
        }
        let q = top.mul(&lead.pow(-1).ok()?);
        let mut minus = q.clone();
        minus.coeff = -minus.coeff.clone();
        let mut next = rest.clone();
        next.extend(den.iter().map(|d| d.mul(&minus)));
        rest = combine(next);
        quotient.push(q);
    }
    None
}

/// Cancel polynomial factors of a single term: `(x^2 - 2*x + 1)/(x - 1)^2` → `1`.
pub fn cancel(t: &Term) -> Option<Term> {
    let sums: Vec<&Factor> = t.factors.iter().filter(|f| matches!(f.base, Expr::Add(_))).collect();
    let (ups, downs): (Vec<&Factor>, Vec<&Factor>) = sums.into_iter().partition(|f| f.exp > 0);
    if ups.is_empty() || downs.is_empty() {
        return None;
    }
    let mut numerator = vec![Term::constant(Rat::one())];
    for f in &ups {
        let ft = to_terms(&f.base, true).ok()?;
        for _ in 0..f.exp {
            numerator = product(&numerator, &ft, MAX_TERMS).ok()?;
        }
    }
    let mut changed = false;
    let mut kept_downs = Vec::new();
    for f in &downs {
        let ft = to_terms(&f.base, true).ok()?;
        let mut e = -f.exp;
        while e > 0 {
            match divide(&numerator, &ft) {
                Some(q) => {
                    numerator = q;
                    e -= 1;
                    changed = true;
                }
                None => break,
            }
        }
        if e > 0 {
            kept_downs.push(Factor { exp: -e, ..(*f).clone() });
        }
    }
    if !changed {
        return None;
    }
    let mut out = Term {
        coeff: t.coeff.clone(),
        factors: t.factors.iter().filter(|f| !matches!(f.base, Expr::Add(_))).cloned().collect(),
    };
    out.factors.extend(kept_downs);
    Some(out.mul(&as_single(numerator)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_expr;

    /// A bracket made from terms is looked up by its terms; `1 + sum_k(a_k)` and
    /// `1 + sum_i(a_i)` are equal terms, but each must come back with its own index name.
    #[test]
    fn a_bracket_made_again_keeps_its_bound_index_names() {
        for name in ["k", "i", "k", "i"] {
            let e = parse_expr(&format!("(1 + sum_{name}(a_{name}))*x")).expect("parses");
            let made = to_expr(&to_terms(&e, false).expect("terms")).to_string();
            assert!(made.contains(&format!("sum_{name}(a_{name})")), "{made} for {name}");
        }
    }
}
