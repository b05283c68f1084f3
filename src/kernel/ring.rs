//! The ring normaliser: terms as quotients of polynomials over opaque atoms with exact
//! rational coefficients. Two terms are ring-equal when `n1*d2 == n2*d1`.
//!
//! Atoms are every subterm that is not `+ - * /`, a number, or an integer power; their
//! arguments are normalised recursively so that `exp(x + y)` and `exp(y + x)` are one atom.

use super::KernelError;
use crate::expr::{Expr, Index, Rat, MAX_DEPTH};
use num_traits::{One, Zero};

/// Largest integer exponent expanded; larger powers stay atoms.
const MAX_EXPONENT: i64 = 64;
/// Most terms a polynomial may have before normalisation gives up.
const MAX_TERMS: usize = 4000;
/// Largest coefficient, in bits.
const MAX_BITS: u64 = 4096;

/// A product of atoms with positive exponents, sorted by atom (every constructor keeps the order).
pub type Monomial = Vec<(Expr, u32)>;

/// A polynomial: its terms sorted by monomial, each monomial once, every coefficient non-zero,
/// so equal polynomials are equal vectors. (A sorted vector rather than a map: most
/// polynomials here have a handful of terms, and a map's nodes cost more than its searches save.)
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Poly(Vec<(Monomial, Rat)>);

/// A quotient of polynomials.
#[derive(Clone, Debug)]
pub struct Frac {
    pub num: Poly,
    pub den: Poly,
}

fn too_large() -> KernelError {
    KernelError::TooLarge("the term is too large for the ring normaliser".into())
}

impl Poly {
    pub fn constant(c: Rat) -> Poly {
        Poly::monomial(Vec::new(), c)
    }

    fn atom(a: Expr) -> Poly {
        Poly(vec![(vec![(a, 1)], Rat::one())])
    }

    /// The polynomial of a single term.
    fn monomial(m: Monomial, c: Rat) -> Poly {
        if c.is_zero() {
            return Poly::default();
        }
        Poly(vec![(m, c)])
    }

    /// The sum of `terms`, given in any order and with repeated monomials.
    fn from_terms(mut terms: Vec<(Monomial, Rat)>) -> Poly {
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Monomial, Rat)> = Vec::with_capacity(terms.len());
        for (m, c) in terms {
            match out.last_mut() {
                Some((last, sum)) if *last == m => *sum += c,
                _ => out.push((m, c)),
            }
        }
        out.retain(|(_, c)| !c.is_zero());
        Poly(out)
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn is_one(&self) -> bool {
        matches!(self.0.as_slice(), [(m, c)] if m.is_empty() && c.is_one())
    }

    /// The constant value, if this polynomial is a constant.
    pub fn as_constant(&self) -> Option<Rat> {
        match self.0.as_slice() {
            [] => Some(Rat::zero()),
            [(m, c)] if m.is_empty() => Some(c.clone()),
            _ => None,
        }
    }

    /// The coefficient of the greatest monomial.
    fn leading_coefficient(&self) -> Option<&Rat> {
        self.0.last().map(|(_, c)| c)
    }

    fn add(&self, other: &Poly) -> Result<Poly, KernelError> {
        let sum = merge(&self.0, &other.0, |a, b| {
            let c = a + b;
            Ok((!c.is_zero()).then_some(c))
        })?;
        check_size(Poly(sum))
    }

    fn scale(&self, c: &Rat) -> Poly {
        if c.is_zero() {
            return Poly::default();
        }
        Poly(self.0.iter().map(|(m, k)| (m.clone(), k * c)).collect())
    }

    pub fn mul(&self, other: &Poly) -> Result<Poly, KernelError> {
        if self.0.len().saturating_mul(other.0.len()) > MAX_TERMS * 4 {
            return Err(too_large());
        }
        let mut terms = Vec::with_capacity(self.0.len() * other.0.len());
        for (m1, c1) in &self.0 {
            for (m2, c2) in &other.0 {
                terms.push((mul_monomials(m1, m2)?, c1 * c2));
            }
        }
        check_size(Poly::from_terms(terms))
    }

    fn pow(&self, k: u32) -> Result<Poly, KernelError> {
        if k == 1 {
            return Ok(self.clone());
        }
        let mut out = Poly::constant(Rat::one());
        for _ in 0..k {
            out = out.mul(self)?;
        }
        Ok(out)
    }
}

fn check_size(p: Poly) -> Result<Poly, KernelError> {
    if p.0.len() > MAX_TERMS || p.0.iter().any(|(_, c)| c.bits() > MAX_BITS) {
        return Err(too_large());
    }
    Ok(p)
}

fn mul_monomials(a: &Monomial, b: &Monomial) -> Result<Monomial, KernelError> {
    merge(a, b, |x, y| {
        Ok(Some(x.checked_add(*y).ok_or_else(too_large)?))
    })
}

/// Merge two lists sorted by key into one, each key once: a key in both lists gets
/// `both(a, b)`, and is left out when that is `None` (a coefficient that cancels).
fn merge<K: Ord + Clone, V: Clone>(
    a: &[(K, V)],
    b: &[(K, V)],
    mut both: impl FnMut(&V, &V) -> Result<Option<V>, KernelError>,
) -> Result<Vec<(K, V)>, KernelError> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if let Some(v) = both(&a[i].1, &b[j].1)? {
                    out.push((a[i].0.clone(), v));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    Ok(out)
}

impl Frac {
    fn poly(p: Poly) -> Frac {
        Frac {
            num: p,
            den: Poly::constant(Rat::one()),
        }
    }

    fn add(&self, o: &Frac) -> Result<Frac, KernelError> {
        if self.den == o.den {
            return Ok(Frac {
                num: self.num.add(&o.num)?,
                den: self.den.clone(),
            });
        }
        Ok(Frac {
            num: self.num.mul(&o.den)?.add(&o.num.mul(&self.den)?)?,
            den: self.den.mul(&o.den)?,
        })
    }

    fn mul(&self, o: &Frac) -> Result<Frac, KernelError> {
        if o.den.is_one() && self.den.is_one() {
            return Ok(Frac::poly(self.num.mul(&o.num)?));
        }
        Ok(Frac {
            num: self.num.mul(&o.num)?,
            den: self.den.mul(&o.den)?,
        })
    }

    /// `c` when the quotient is the constant `c` (the numerator is `c` times the denominator).
    pub fn constant_ratio(&self) -> Option<Rat> {
        let c = self.num.leading_coefficient()? / self.den.leading_coefficient()?;
        (self.den.scale(&c) == self.num).then_some(c)
    }

    fn checked(self) -> Result<Frac, KernelError> {
        if self.den.is_zero() {
            return Err(KernelError::Undefined("division by zero".into()));
        }
        Ok(self)
    }

    fn recip(&self) -> Result<Frac, KernelError> {
        if self.num.is_zero() {
            return Err(KernelError::Undefined("division by zero".into()));
        }
        Ok(Frac {
            num: self.den.clone(),
            den: self.num.clone(),
        })
    }

    /// Scale so the denominator's leading coefficient is 1, a cheap partial canonical form.
    fn monic(self) -> Frac {
        match self.den.leading_coefficient().cloned() {
            Some(lead) if !lead.is_one() => {
                let inv = lead.recip();
                Frac {
                    num: self.num.scale(&inv),
                    den: self.den.scale(&inv),
                }
            }
            _ => self,
        }
    }
}

/// Normalise a term to a quotient of polynomials.
pub fn normalize(e: &Expr) -> Result<Frac, KernelError> {
    norm(e, 0)
}

/// Whether two terms are equal as rational functions over their atoms.
pub fn ring_equal(a: &Expr, b: &Expr) -> Result<bool, KernelError> {
    let fa = normalize(a)?;
    let fb = normalize(b)?;
    Ok(fa.num.mul(&fb.den)? == fb.num.mul(&fa.den)?)
}

fn norm(e: &Expr, depth: usize) -> Result<Frac, KernelError> {
    if depth > MAX_DEPTH {
        return Err(too_large());
    }
    let d = depth + 1;
    Ok(match e {
        Expr::Num(c) => Frac::poly(Poly::constant(c.clone())),
        Expr::Add(ts) => {
            let mut acc = Frac::poly(Poly::default());
            for t in ts.iter() {
                acc = acc.add(&norm(t, d)?)?;
            }
            acc
        }
        Expr::Mul(fs) => {
            let mut acc = Frac::poly(Poly::constant(Rat::one()));
            for f in fs.iter() {
                acc = acc.mul(&norm(f, d)?)?;
            }
            acc
        }
        Expr::Div(a, b) => norm(a, d)?.mul(&norm(b, d)?.recip()?)?,
        Expr::Neg(a) => {
            let f = norm(a, d)?;
            Frac {
                num: f.num.scale(&-Rat::one()),
                den: f.den,
            }
        }
        Expr::Pow(b, k) => match integer_exponent(k) {
            Some(k) if k.unsigned_abs() > MAX_EXPONENT as u64 => {
                // A large power is expanded only when the base is a single monomial.
                let base = norm(b, d)?;
                match (monomial_power(&base.num, k)?, monomial_power(&base.den, k)?) {
                    (Some(num), Some(den)) if k > 0 => Frac { num, den },
                    (Some(num), Some(den)) => Frac { num: den, den: num }.checked()?,
                    _ => Frac::poly(Poly::atom(canonical_atom(e, d)?)),
                }
            }
            Some(k) => {
                let base = norm(b, d)?;
                let p = Frac {
                    num: base.num.pow(k.unsigned_abs() as u32)?,
                    den: base.den.pow(k.unsigned_abs() as u32)?,
                };
                if k < 0 {
                    p.recip()?
                } else {
                    p
                }
            }
            // `b^(-r)` is `1/b^r`, so both spellings meet in one atom.
            None => match k.as_num() {
                Some(r) if r.is_negative() => {
                    let positive = Expr::pow((**b).clone(), Expr::Num(-r.clone()));
                    Frac::poly(Poly::atom(canonical_atom(&positive, d)?)).recip()?
                }
                _ => Frac::poly(Poly::atom(canonical_atom(e, d)?)),
            },
        },
        Expr::Delta(Index::Int(a), Index::Int(b)) => {
            Frac::poly(Poly::constant(Rat::from_integer((a == b).into())))
        }
        Expr::Delta(a, b) if a == b => Frac::poly(Poly::constant(Rat::one())),
        _ => Frac::poly(Poly::atom(canonical_atom(e, d)?)),
    }
    .monic())
}

/// An integer exponent that fits the monomial exponents.
fn integer_exponent(k: &Expr) -> Option<i64> {
    k.as_num()?
        .as_i64()
        .filter(|k| k.unsigned_abs() <= u64::from(u32::MAX / 4))
}

/// `p^k` when `p` is a single monomial, computed on exponents; `None` for longer polynomials.
fn monomial_power(p: &Poly, k: i64) -> Result<Option<Poly>, KernelError> {
    let [(m, c)] = p.0.as_slice() else {
        return Ok(None);
    };
    let n = k.unsigned_abs();
    let bits = c.bits();
    if bits > 1 && bits.saturating_mul(n) > MAX_BITS {
        return Err(too_large());
    }
    let coeff = if c.is_one() || (c.abs().is_one() && n % 2 == 0) {
        Rat::one()
    } else if c.abs().is_one() {
        c.clone()
    } else {
        num_traits::pow(c.clone(), n as usize)
    };
    let mut mono = Vec::with_capacity(m.len());
    for (a, e) in m {
        let e = u64::from(*e)
            .checked_mul(n)
            .and_then(|x| u32::try_from(x).ok())
            .ok_or_else(too_large)?;
        mono.push((a.clone(), e));
    }
    Ok(Some(Poly::monomial(mono, coeff)))
}

/// An atom with its arguments rewritten to canonical form.
fn canonical_atom(e: &Expr, depth: usize) -> Result<Expr, KernelError> {
    Ok(match e {
        Expr::Delta(a, b) if b < a => Expr::Delta(b.clone(), a.clone()),
        Expr::D(f, x) => Expr::d(canonical(f, depth)?, (**x).clone()),
        _ => {
            let mut failed = None;
            let out = e.map_children(|c| {
                canonical(c, depth).unwrap_or_else(|err| {
                    failed = Some(err);
                    c.clone()
                })
            });
            if let Some(err) = failed {
                return Err(err);
            }
            out
        }
    })
}

/// Whether normalising `e` could change it: it holds an arithmetic node somewhere.
fn has_arithmetic(e: &Expr) -> bool {
    e.any(&mut |t| {
        matches!(
            t,
            Expr::Add(_)
                | Expr::Mul(_)
                | Expr::Div(_, _)
                | Expr::Neg(_)
                | Expr::Pow(_, _)
                | Expr::Num(_)
                | Expr::Delta(_, _)
        )
    })
}

/// A canonical term for `e`: its normal form written back as a term.
pub fn canonical(e: &Expr, depth: usize) -> Result<Expr, KernelError> {
    if !has_arithmetic(e) {
        return Ok(e.clone());
    }
    let f = norm(e, depth)?;
    let num = poly_to_expr(&f.num);
    if f.den.as_constant().is_some_and(|c| c.is_one()) {
        Ok(num)
    } else {
        Ok(Expr::div(num, poly_to_expr(&f.den)))
    }
}

fn poly_to_expr(p: &Poly) -> Expr {
    let terms: Vec<Expr> =
        p.0.iter()
            .map(|(m, c)| {
                let mut fs: Vec<Expr> = Vec::new();
                if !c.is_one() || m.is_empty() {
                    fs.push(Expr::Num(c.clone()));
                }
                for (a, k) in m {
                    fs.push(if *k == 1 {
                        a.clone()
                    } else {
                        Expr::pow(a.clone(), Expr::int(i64::from(*k)))
                    });
                }
                Expr::mul(fs)
            })
            .collect();
    Expr::add(terms)
}

/// Denominators a term divides by (`b` in `a/b`, `b` in `b^-2`): each must be non-zero.
pub fn divisors(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Div(_, b) => out.push((**b).clone()),
        Expr::Pow(b, k) if k.as_num().is_some_and(|r| r.is_negative()) => out.push((**b).clone()),
        _ => {}
    }
    for c in e.children() {
        divisors(c, out);
    }
}
