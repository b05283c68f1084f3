//! Univariate polynomials over the rationals in one opaque base (`x`, `tanh(x)`), for
//! proposing reduced rational forms: square-free parts, rational roots, and common factors
//! of numerator and denominator cancelled (`(2*x + 2)/(x^2 + 2*x + 1)` → `2/(x + 1)`).
//!
//! Untrusted like the rest of the engine: a form proposed here reaches the proof only
//! through a `ring-normalize` step, which the kernel's ring normaliser checks.

use super::algebra::{to_expr, to_terms, Factor, Term};
use crate::expr::{Expr, Rat};
use crate::terms::RatExt;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// Highest degree handled; larger polynomials are left as they are.
pub const MAX_DEGREE: usize = 16;
/// Largest coefficient (after clearing denominators) whose divisors are tried as roots.
const MAX_ROOT_COEFF: u64 = 10_000;

/// Coefficients by degree, without trailing zeros (the zero polynomial is empty).
pub(super) type Poly = Vec<Rat>;

pub(super) fn trim(mut p: Poly) -> Poly {
    while p.last().is_some_and(Zero::is_zero) {
        p.pop();
    }
    p
}

pub(super) fn degree(p: &Poly) -> usize {
    p.len().saturating_sub(1)
}

pub(super) fn sub(a: &Poly, b: &Poly) -> Poly {
    let n = a.len().max(b.len());
    trim(
        (0..n)
            .map(|i| {
                a.get(i).cloned().unwrap_or_else(Rat::zero)
                    - b.get(i).cloned().unwrap_or_else(Rat::zero)
            })
            .collect(),
    )
}

pub(super) fn mul(a: &Poly, b: &Poly) -> Poly {
    if a.is_empty() || b.is_empty() {
        return vec![];
    }
    let mut out = vec![Rat::zero(); a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    trim(out)
}

/// Quotient and remainder; `b` is not zero.
pub(super) fn divmod(a: &Poly, b: &Poly) -> (Poly, Poly) {
    let mut r = a.clone();
    let Some(lead) = b.last() else {
        return (vec![], r);
    };
    if a.len() < b.len() {
        return (vec![], r);
    }
    let mut q = vec![Rat::zero(); a.len() - b.len() + 1];
    while r.len() >= b.len() && !r.is_empty() {
        let shift = r.len() - b.len();
        let c = r[r.len() - 1].clone() / lead;
        for (i, y) in b.iter().enumerate() {
            r[shift + i] -= &c * y;
        }
        q[shift] = c;
        r.pop();
        r = trim(r);
    }
    (trim(q), r)
}

pub(super) fn monic(p: &Poly) -> (Rat, Poly) {
    match p.last() {
        Some(lc) => (lc.clone(), p.iter().map(|c| c / lc).collect()),
        None => (Rat::one(), vec![]),
    }
}

pub(super) fn gcd(a: &Poly, b: &Poly) -> Poly {
    let (mut a, mut b) = (a.clone(), b.clone());
    while !b.is_empty() {
        let (_, r) = divmod(&a, &b);
        a = b;
        b = r;
    }
    monic(&a).1
}

fn derivative(p: &Poly) -> Poly {
    trim(
        p.iter().enumerate().skip(1).map(|(i, c)| c * Rat::from_integer(BigInt::from(i))).collect(),
    )
}

/// A monic polynomial as `Π q_i^i` with square-free `q_i` (Yun's algorithm).
fn square_free(f: &Poly) -> Vec<(Poly, i64)> {
    let df = derivative(f);
    let a = gcd(f, &df);
    let mut b = divmod(f, &a).0;
    let c = divmod(&df, &a).0;
    let mut d = sub(&c, &derivative(&b));
    let mut out = Vec::new();
    for i in 1..=MAX_DEGREE as i64 {
        if degree(&b) == 0 {
            break;
        }
        let a = gcd(&b, &d);
        if degree(&a) > 0 {
            out.push((a.clone(), i));
        }
        let c = divmod(&d, &a).0;
        b = divmod(&b, &a).0;
        d = sub(&c, &derivative(&b));
    }
    out
}

fn divisors(n: u64) -> Vec<u64> {
    (1..=n).take_while(|k| k * k <= n).fold(vec![], |mut v, k| {
        if n % k == 0 {
            v.push(k);
            if k * k != n {
                v.push(n / k);
            }
        }
        v
    })
}

/// The monic linear factors `t - r` of a square-free monic polynomial at its rational
/// roots, and what is left.
/// Whether `x` may be a root of the integer polynomial `ints` (lowest degree first): false
/// only when the value is clearly away from zero, beyond any rounding in its evaluation.
fn maybe_root(ints: &[BigInt], x: f64) -> bool {
    let (mut value, mut magnitude) = (0.0f64, 0.0f64);
    for c in ints.iter().rev() {
        let c = c.to_f64().unwrap_or(f64::INFINITY);
        value = value * x + c;
        magnitude = magnitude * x.abs() + c.abs();
    }
    !(value.is_finite() && magnitude.is_finite()) || value.abs() <= 1e-9 * magnitude.max(1.0)
}

fn linear_factors(p: &Poly) -> Vec<Poly> {
    let mut rest = p.clone();
    let mut out = Vec::new();
    if degree(p) < 2 {
        return vec![rest];
    }
    // Integer coefficients: the roots are ±(divisor of a0)/(divisor of an).
    let scale = Rat::from_integer(p.iter().fold(BigInt::one(), |l, c| l.lcm(&c.denom())));
    let ints: Vec<BigInt> = p.iter().map(|c| (c * &scale).to_big().to_integer()).collect();
    if ints[0].is_zero() {
        out.push(vec![Rat::zero(), Rat::one()]);
        let (q, _) = divmod(&rest, &vec![Rat::zero(), Rat::one()]);
        rest = q;
        return out.into_iter().chain(linear_factors(&rest)).collect();
    }
    let (Some(a0), Some(an)) = (
        ints[0].abs().to_u64().filter(|v| *v <= MAX_ROOT_COEFF),
        ints[ints.len() - 1].abs().to_u64().filter(|v| *v <= MAX_ROOT_COEFF),
    ) else {
        return vec![rest];
    };
    for num in divisors(a0) {
        for den in divisors(an) {
            for sign in [1i64, -1] {
                if degree(&rest) < 1 {
                    break;
                }
                // Most candidates are not roots: a float evaluation rules them out
                // cheaply; a possible root is then confirmed by exact division.
                if !maybe_root(&ints, sign as f64 * num as f64 / den as f64) {
                    continue;
                }
                let r = Rat::new(BigInt::from(num) * sign, BigInt::from(den));
                let lin = vec![-r.clone(), Rat::one()];
                let (q, rem) = divmod(&rest, &lin);
                if rem.is_empty() && degree(&rest) >= 1 {
                    out.push(lin);
                    rest = q;
                }
            }
        }
    }
    if degree(&rest) > 0 {
        out.push(rest);
    }
    out
}

/// The polynomial of a sum in one base: every term a rational times a positive power of
/// the same base (or a constant).
fn univariate(ts: &[Term]) -> Option<(Factor, Poly)> {
    let mut var: Option<Factor> = None;
    let mut p: Poly = vec![];
    for t in ts {
        let k = match t.factors.as_slice() {
            [] => 0,
            [f] if f.exp > 0 && f.exp as usize <= MAX_DEGREE => {
                match &var {
                    Some(v) if v.key != f.key => return None,
                    Some(_) => {}
                    None => var = Some(f.clone()),
                }
                f.exp as usize
            }
            _ => return None,
        };
        if p.len() <= k {
            p.resize(k + 1, Rat::zero());
        }
        p[k] += &t.coeff;
    }
    Some((var?, trim(p)))
}

/// A monic polynomial as a sum with integer coefficients, highest degree first, and the
/// factor `s` with `sum = s * p`.
pub(super) fn to_sum(p: &Poly, var: &Factor) -> (Expr, Rat) {
    let den = p.iter().fold(BigInt::one(), |l, c| l.lcm(&c.denom()));
    let den_rat = Rat::from_integer(den.clone());
    let num = p.iter().fold(BigInt::zero(), |g, c| g.gcd(&(c * &den_rat).to_big().to_integer()));
    let s = Rat::new(den, num);
    let terms: Vec<Term> = p
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, c)| !c.is_zero())
        .map(|(i, c)| Term {
            coeff: c * &s,
            factors: if i == 0 { vec![] } else { vec![Factor { exp: i as i64, ..var.clone() }] },
        })
        .collect();
    (to_expr(&terms), s)
}

/// Reduced forms of a single term whose sum factors are polynomials in one base: square-free
/// parts as powers, rational roots split off (and, pairwise, joined again), and the greatest
/// common divisors of numerator and denominator cancelled.
/// Sums in `known` keep their shape where they turn up as factors.
pub fn reduced_forms(t: &Term, known: &[Expr]) -> Vec<Term> {
    let mut coeff = t.coeff.clone();
    let mut others: Vec<Factor> = Vec::new();
    let mut polys: Vec<(Poly, i64)> = Vec::new();
    let mut var: Option<Factor> = None;
    // Sums as written, to keep their shape where they survive (`1 - σ(x)`, not `σ(x) - 1`).
    let mut originals: Vec<(Poly, Expr, Rat)> = Vec::new();
    for f in &t.factors {
        if matches!(f.base, Expr::Add(_)) {
            let uni = to_terms(&f.base, true)
                .ok()
                .and_then(|ts| univariate(&ts))
                .filter(|(v, _)| var.as_ref().is_none_or(|w| w.key == v.key));
            if let Some((v, p)) = uni {
                var = Some(v);
                let (lc, m) = monic(&p);
                let Ok(c) = (Term { coeff: lc.clone(), factors: vec![] }).pow(f.exp) else {
                    return vec![];
                };
                coeff *= c.coeff;
                originals.push((m.clone(), f.base.clone(), lc));
                polys.push((m, f.exp));
                continue;
            }
        }
        others.push(f.clone());
    }
    let Some(var) = var else { return vec![] };
    for k in known {
        let uni = to_terms(k, true).ok().and_then(|ts| univariate(&ts));
        if let Some((v, p)) = uni.filter(|(v, _)| v.key == var.key) {
            let _ = v;
            let (lc, m) = monic(&p);
            originals.push((m, k.clone(), lc));
        }
    }
    if polys.iter().all(|(p, _)| degree(p) < 2) {
        return vec![];
    }
    // A power of the base itself among the other factors joins the polynomials.
    others.retain(|f| {
        if f.key == var.key {
            let mut p = vec![Rat::zero(); 2];
            p[1] = Rat::one();
            polys.push((p, f.exp));
            false
        } else {
            true
        }
    });
    let mut square_free_parts: Vec<(Poly, i64)> = Vec::new();
    for (p, e) in &polys {
        // Powers of the base itself first: `t^3 + t` is `t*(t^2 + 1)`.
        let zeros = p.iter().take_while(|c| c.is_zero()).count();
        if zeros > 0 && degree(p) > 0 {
            square_free_parts.push((vec![Rat::zero(), Rat::one()], e * zeros as i64));
        }
        for (q, i) in square_free(&p[zeros..].to_vec()) {
            square_free_parts.push((q, e * i));
        }
    }
    let mut out = Vec::new();
    let split: Vec<(Poly, i64)> = square_free_parts
        .iter()
        .flat_map(|(q, e)| linear_factors(q).into_iter().map(move |l| (l, *e)))
        .collect();
    let mut forms = vec![cancelled(square_free_parts)];
    let split = cancelled(split);
    // Linear factors with one exponent joined in pairs: `(t - 1)*(t + 1)` as `t^2 - 1`.
    for i in 0..split.len() {
        for j in i + 1..split.len() {
            let ((a, ea), (b, eb)) = (&split[i], &split[j]);
            if ea == eb && degree(a) == 1 && degree(b) == 1 {
                let mut joined: Vec<(Poly, i64)> = split
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != i && *k != j)
                    .map(|(_, x)| x.clone())
                    .collect();
                joined.push((mul(a, b), *ea));
                forms.push(joined);
            }
        }
    }
    forms.push(split);
    for parts in forms {
        let mut c = coeff.clone();
        let mut factors = others.clone();
        let mut ok = true;
        for (p, e) in parts {
            if degree(&p) == 0 {
                continue;
            }
            let original = originals.iter().find(|(q, _, _)| *q == p);
            let (base, s) = match original {
                Some((_, base, lc)) => (base.clone(), lc.clone()),
                None if degree(&p) == 1 && p[0].is_zero() => (var.base.clone(), Rat::one()),
                None => to_sum(&p, &var),
            };
            // `p = sum / s`, so `p^e = sum^e * s^(-e)`.
            match (Term { coeff: s, factors: vec![] }).pow(-e) {
                Ok(k) => c *= k.coeff,
                Err(_) => ok = false,
            }
            let f = Term::base(base).factors.pop();
            match f {
                Some(f) => factors.push(Factor { exp: e, ..f }),
                None => ok = false,
            }
        }
        if ok {
            out.push(Term { coeff: c, factors });
        }
    }
    out
}

/// `e` as one quotient of polynomials in one variable, its inner fractions cleared, then
/// reduced and factored (`1/(x^2*(1 + 1/x)^2)` as `1/(x + 1)^2`): the form a textbook
/// reaches by writing each nested fraction over its own denominator first. For a term
/// whose normal form is small, as [`quotient_degrees`] bounds it (the caller's test), and
/// in a variable (in `exp(x)` or `σ(x)` it would leave the input's functions).
pub fn cleared_forms(e: &Expr, several_variables: bool) -> Vec<Expr> {
    let Ok(whole) = crate::kernel::ring::canonical(e, 0) else { return vec![] };
    let (num, den) = match &whole {
        Expr::Div(n, d) => (&**n, &**d),
        n => (n, &Expr::Num(Rat::one())),
    };
    let variable = |p: &Expr| match to_terms(p, true).ok().as_deref() {
        Some(ts) if ts.iter().all(|t| t.factors.is_empty()) => Some(None),
        Some(ts) => univariate(ts)
            .filter(|(v, _)| matches!(v.base, Expr::Sym(_) | Expr::Idx(..)))
            .map(|(v, _)| Some(v.key)),
        None => None,
    };
    // Or a polynomial in several plain variables: `1/(a*(1 + x^2/a^2))` is `a/(a^2 + x^2)`.
    let plain = |p: &Expr| {
        to_terms(p, true).is_ok_and(|ts| {
            ts.iter()
                .flat_map(|t| &t.factors)
                .all(|f| matches!(f.base, Expr::Sym(_) | Expr::Idx(..)))
        })
    };
    let several = match (variable(num), variable(den)) {
        (Some(Some(a)), Some(Some(b))) if a != b => several_variables && plain(num) && plain(den),
        (Some(_), Some(_)) => false,
        _ if several_variables && plain(num) && plain(den) => true,
        _ => return vec![],
    };
    match to_terms(&whole, false).as_deref() {
        // Several variables: the cleared quotient with each sum's common monomial taken out
        // and cancelled (`a^2/(a*x^2 + a^3)` is `a/(x^2 + a^2)`); the factoring below is one
        // variable's.
        Ok([t]) if several => {
            let mut cleared = Term { coeff: t.coeff.clone(), factors: vec![] };
            for f in &t.factors {
                let monomial_out = matches!(f.base, Expr::Add(_))
                    .then(|| {
                        to_terms(&f.base, true).ok().and_then(|ts| super::algebra::factor(&ts))
                    })
                    .flatten()
                    .and_then(|e| to_terms(&e, false).ok());
                let part = match monomial_out.as_deref() {
                    Some([u]) => u.pow(f.exp).ok(),
                    _ => None,
                };
                let whole = || Term { coeff: Rat::one(), factors: vec![f.clone()] };
                cleared = cleared.mul(&part.unwrap_or_else(whole));
            }
            vec![to_expr(&[cleared])]
        }
        Ok([t]) => reduced_forms(t, &[]).iter().map(|t| to_expr(std::slice::from_ref(t))).collect(),
        _ => vec![],
    }
}

/// Bounds on the degrees of `e`'s numerator and denominator as one quotient of
/// polynomials over its atoms (each atom of degree 1), `None` past `limit`.
pub fn quotient_degrees(e: &Expr, limit: usize) -> Option<(usize, usize)> {
    let within = |(n, d): (usize, usize)| (n <= limit && d <= limit).then_some((n, d));
    match e {
        Expr::Num(_) => Some((0, 0)),
        Expr::Add(ts) => ts.iter().try_fold((0, 0), |(n, d), t| {
            let (tn, td) = quotient_degrees(t, limit)?;
            within(((n + td).max(tn + d), d + td))
        }),
        Expr::Mul(fs) => fs.iter().try_fold((0, 0), |(n, d), f| {
            let (fnum, fden) = quotient_degrees(f, limit)?;
            within((n + fnum, d + fden))
        }),
        Expr::Neg(a) => quotient_degrees(a, limit),
        Expr::Div(a, b) => {
            let ((an, ad), (bn, bd)) = (quotient_degrees(a, limit)?, quotient_degrees(b, limit)?);
            within((an + bd, ad + bn))
        }
        Expr::Pow(b, k) => match k.as_num().and_then(Rat::as_i64) {
            Some(k) => {
                let (bn, bd) = quotient_degrees(b, limit)?;
                let m = usize::try_from(k.unsigned_abs()).ok()?;
                let (n, d) = (bn.checked_mul(m)?, bd.checked_mul(m)?);
                within(if k < 0 { (d, n) } else { (n, d) })
            }
            None => Some((1, 0)),
        },
        _ => Some((1, 0)),
    }
}

/// Cancel common divisors of factors with exponents of opposite sign, and merge equal
/// factors; every factor is monic.
fn cancelled(mut parts: Vec<(Poly, i64)>) -> Vec<(Poly, i64)> {
    for _ in 0..64 {
        let mut found = None;
        'search: for i in 0..parts.len() {
            for j in 0..parts.len() {
                if parts[i].1 > 0 && parts[j].1 < 0 {
                    let g = gcd(&parts[i].0, &parts[j].0);
                    if degree(&g) > 0 {
                        found = Some((i, j, g));
                        break 'search;
                    }
                }
            }
        }
        let Some((i, j, g)) = found else { break };
        let (ei, ej) = (parts[i].1, parts[j].1);
        parts[i].0 = divmod(&parts[i].0, &g).0;
        parts[j].0 = divmod(&parts[j].0, &g).0;
        parts.push((g, ei + ej));
        parts = merged(parts);
    }
    merged(parts)
}

fn merged(parts: Vec<(Poly, i64)>) -> Vec<(Poly, i64)> {
    let mut out: Vec<(Poly, i64)> = Vec::new();
    for (p, e) in parts {
        if degree(&p) == 0 || e == 0 {
            continue;
        }
        match out.iter_mut().find(|(q, _)| *q == p) {
            Some((_, f)) => *f += e,
            None => out.push((p, e)),
        }
    }
    out.retain(|(_, e)| *e != 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(cs: &[i64]) -> Poly {
        cs.iter().map(|c| Rat::from_integer(BigInt::from(*c))).collect()
    }

    #[test]
    fn square_free_and_roots() {
        // (t + 1)^2 = t^2 + 2t + 1
        assert_eq!(square_free(&p(&[1, 2, 1])), vec![(p(&[1, 1]), 2)]);
        // 2t^3 - t^2 - 2t + 1 = (2t - 1)(t - 1)(t + 1), monic.
        let m = monic(&p(&[1, -2, -1, 2])).1;
        assert_eq!(linear_factors(&m).len(), 3);
        assert_eq!(gcd(&p(&[2, 2]), &p(&[1, 2, 1])), p(&[1, 1]));
    }
}
