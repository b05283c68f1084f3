//! The ring normaliser: terms as quotients of polynomials over opaque atoms with exact
//! rational coefficients. Two terms are ring-equal when `n1*d2 == n2*d1`.
//!
//! Atoms are every subterm that is not `+ - * /`, a number, or an integer power; their
//! arguments are normalised recursively so that `exp(x + y)` and `exp(y + x)` are one atom.

use super::KernelError;
use crate::expr::{Expr, Index, Rat, MAX_DEPTH};
use num_traits::{One, Zero};

/// Largest integer exponent expanded by multiplication; a larger power of a polynomial of
/// several terms stays an atom.
const MAX_EXPONENT: u64 = 64;
/// Most terms a polynomial may have before normalisation gives up.
const MAX_TERMS: usize = 4000;
/// Largest coefficient, in bits.
const MAX_BITS: u64 = 4096;
/// Most terms of a common denominator: each further fraction of a sum costs a product of
/// everything so far (a sum of 400 reciprocals took 41 s to refuse).
const MAX_COMMON_DENOMINATOR: usize = 160;

/// A product of atoms with positive exponents, sorted by atom (every constructor keeps the order).
pub type Monomial = Vec<(Expr, u32)>;

/// A polynomial: its terms sorted by monomial, each monomial once, every coefficient non-zero,
/// so equal polynomials are equal vectors. (A sorted vector rather than a map: most
/// polynomials here have a handful of terms, and a map's nodes cost more than its searches save.)
/// Only this module builds one; the engine reads them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Poly(pub Vec<(Monomial, Rat)>);

/// A quotient of polynomials.
#[derive(Clone, Debug)]
pub struct Frac {
    pub num: Poly,
    pub den: Poly,
}

fn too_large() -> KernelError {
    KernelError::TooLarge("the term is too large for the ring normaliser".into())
}

/// The product of two monomials: their exponents added atom by atom. Each atom of the
/// shorter is found in the longer by binary search (atoms compare deeply, and a product of
/// n factors multiplies a monomial of up to n atoms by one atom n times).
fn mul_monomials(a: &Monomial, b: &Monomial) -> Result<Monomial, KernelError> {
    let (short, mut rest) = if a.len() <= b.len() { (a, &b[..]) } else { (b, &a[..]) };
    let mut out: Monomial = Vec::with_capacity(a.len() + b.len());
    for (atom, k) in short {
        let before = rest.partition_point(|(x, _)| x < atom);
        out.extend_from_slice(&rest[..before]);
        rest = &rest[before..];
        let same = rest.first().filter(|(x, _)| x == atom).map(|(_, e)| *e);
        out.push((atom.clone(), k.checked_add(same.unwrap_or(0)).ok_or_else(too_large)?));
        rest = &rest[usize::from(same.is_some())..];
    }
    out.extend_from_slice(rest);
    Ok(out)
}

impl Poly {
    /// The polynomial of a single term.
    fn monomial(m: Monomial, c: Rat) -> Poly {
        Poly(Some((m, c)).filter(|(_, c)| !c.is_zero()).into_iter().collect())
    }

    fn one() -> Poly {
        Poly::monomial(Vec::new(), Rat::one())
    }

    /// The sum of `terms`, given in any order and with repeated monomials.
    fn from_terms(mut terms: Vec<(Monomial, Rat)>) -> Result<Poly, KernelError> {
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Monomial, Rat)> = Vec::with_capacity(terms.len());
        for (m, c) in terms {
            match out.last_mut() {
                Some((last, sum)) if *last == m => *sum += c,
                _ => out.push((m, c)),
            }
        }
        out.retain(|(_, c)| !c.is_zero());
        // Too many terms or too large a coefficient: give up.
        if out.len() > MAX_TERMS || out.iter().any(|(_, c)| c.bits() > MAX_BITS) {
            return Err(too_large());
        }
        Ok(Poly(out))
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn is_one(&self) -> bool {
        matches!(self.0.as_slice(), [(m, c)] if m.is_empty() && c.is_one())
    }

    fn add(&self, other: &Poly) -> Result<Poly, KernelError> {
        Poly::from_terms(self.0.iter().chain(&other.0).cloned().collect())
    }

    fn scale(&self, c: &Rat) -> Poly {
        Poly(self.0.iter().map(|(m, k)| (m.clone(), k * c)).collect())
    }

    fn mul(&self, other: &Poly) -> Result<Poly, KernelError> {
        if self.0.len().saturating_mul(other.0.len()) > MAX_TERMS * 4 {
            return Err(too_large());
        }
        let mut terms = Vec::with_capacity(self.0.len() * other.0.len());
        for (m1, c1) in &self.0 {
            for (m2, c2) in &other.0 {
                terms.push((mul_monomials(m1, m2)?, c1 * c2));
            }
        }
        Poly::from_terms(terms)
    }

    /// `self^n`; `None` when `n` is past `MAX_EXPONENT` and this is not a single term.
    fn pow(&self, n: u64) -> Result<Option<Poly>, KernelError> {
        if n <= MAX_EXPONENT {
            let mut out = Poly::one();
            for _ in 0..n {
                out = out.mul(self)?;
            }
            return Ok(Some(out));
        }
        let [(m, c)] = self.0.as_slice() else {
            return Ok(None);
        };
        // A single term's power is computed on its exponents, so any `n` is cheap.
        let bits = c.bits();
        if bits > 1 && bits.saturating_mul(n) > MAX_BITS {
            return Err(too_large());
        }
        let mut mono = Vec::with_capacity(m.len());
        for (a, e) in m {
            mono.push((a.clone(), u32::try_from(u64::from(*e) * n).map_err(|_| too_large())?));
        }
        Ok(Some(Poly::monomial(mono, num_traits::pow(c.clone(), n as usize))))
    }
}

impl Frac {
    fn constant(c: Rat) -> Frac {
        Frac { num: Poly::monomial(Vec::new(), c), den: Poly::one() }
    }

    fn atom(a: Expr) -> Frac {
        Frac { num: Poly::monomial(vec![(a, 1)], Rat::one()), den: Poly::one() }
    }

    fn add(&self, o: &Frac) -> Result<Frac, KernelError> {
        if self.den == o.den {
            return Ok(Frac { num: self.num.add(&o.num)?, den: self.den.clone() });
        }
        let den = self.den.mul(&o.den)?;
        if den.0.len() > MAX_COMMON_DENOMINATOR {
            return Err(too_large());
        }
        Ok(Frac { num: self.num.mul(&o.den)?.add(&o.num.mul(&self.den)?)?, den })
    }

    fn mul(&self, o: &Frac) -> Result<Frac, KernelError> {
        // Most factors are polynomials: a denominator of 1 needs no multiplication.
        let den = if o.den.is_one() { self.den.clone() } else { self.den.mul(&o.den)? };
        Ok(Frac { num: self.num.mul(&o.num)?, den })
    }

    fn recip(self) -> Result<Frac, KernelError> {
        if self.num.is_zero() {
            return Err(KernelError::Undefined("division by zero".into()));
        }
        Ok(Frac { num: self.den, den: self.num })
    }

    /// Scale so the denominator's leading coefficient is 1, a cheap partial canonical form.
    fn monic(self) -> Frac {
        match self.den.0.last() {
            Some((_, lead)) if !lead.is_one() => {
                let inv = Rat::one() / lead;
                Frac { num: self.num.scale(&inv), den: self.den.scale(&inv) }
            }
            _ => self,
        }
    }
}

/// Whether two terms are equal as rational functions over their atoms. They are compared
/// first with each sum in a product, a divisor or a power kept whole (its normal form an
/// atom), then, unless that shows them equal, expanded: a product of n sums need not
/// expand into 2^n terms (nor n linear factors into a polynomial of degree n) to equal
/// itself rearranged.
pub fn ring_equal(a: &Expr, b: &Expr) -> Result<bool, KernelError> {
    let equal = |expand| -> Result<bool, KernelError> {
        let (fa, fb) = (normalize(a, 0, expand)?, normalize(b, 0, expand)?);
        Ok(fa.num.mul(&fb.den)? == fb.num.mul(&fa.den)?)
    };
    // `a*C = b*C` and `a + C = b + C` when `a = b`: a step that rewrites one factor of a
    // long product costs that factor. Only `true` is taken from the shorter pair.
    let shorter = uncommon(a, b).is_some_and(|(a, b)| matches!(ring_equal(&a, &b), Ok(true)));
    Ok(shorter || matches!(equal(false), Ok(true)) || equal(true)?)
}

/// Two products (sums) without the factors (terms) they share, if they share any.
pub fn uncommon(a: &Expr, b: &Expr) -> Option<(Expr, Expr)> {
    let ((Expr::Mul(xs), Expr::Mul(ys)) | (Expr::Add(xs), Expr::Add(ys))) = (a, b) else {
        return None;
    };
    // The common ends first: a step that rewrites one factor leaves the others in place,
    // each equal to its counterpart at once by shared subterms, and unequal pairs of deep
    // factors are then compared only where the two lists part.
    let head = xs.iter().zip(ys.iter()).take_while(|(x, y)| x == y).count();
    let tail = xs[head..].iter().rev().zip(ys[head..].iter().rev()).take_while(|(x, y)| x == y);
    let tail = tail.count();
    let mut ys = ys[head..ys.len() - tail].to_vec();
    let mut unshared = |x: &&Expr| ys.iter().position(|y| y == *x).map(|i| ys.remove(i)).is_none();
    let xs: Vec<Expr> = xs[head..xs.len() - tail].iter().filter(&mut unshared).cloned().collect();
    let rebuild = |ts| if matches!(a, Expr::Mul(_)) { Expr::mul(ts) } else { Expr::add(ts) };
    (xs.len() < a.children().count()).then(|| (rebuild(xs), rebuild(ys)))
}

/// A term as a quotient of polynomials; `depth` is how deep it lies in the term normalised.
/// Unless `expand`, each sum that is a factor of a product, a quotient's numerator or
/// divisor, or a power's base is taken as an atom (in its canonical form).
pub fn normalize(e: &Expr, depth: usize, expand: bool) -> Result<Frac, KernelError> {
    if depth > MAX_DEPTH {
        return Err(too_large());
    }
    let d = depth + 1;
    Ok(match e {
        Expr::Num(c) => Frac::constant(c.clone()),
        // The polynomial terms are summed at once: added one by one, a sum of n terms
        // would be sorted n times.
        Expr::Add(ts) => {
            let fs = ts.iter().map(|t| normalize(t, d, expand)).collect::<Result<Vec<_>, _>>()?;
            let (whole, parts): (Vec<_>, Vec<_>) = fs.into_iter().partition(|f| f.den.is_one());
            let num = Poly::from_terms(whole.into_iter().flat_map(|f| f.num.0).collect())?;
            parts.iter().try_fold(Frac { num, den: Poly::one() }, |acc, f| acc.add(f))?
        }
        Expr::Mul(fs) => {
            fs.iter().try_fold(Frac::constant(Rat::one()), |a, f| a.mul(&factor(f, d, expand)?))?
        }
        // `a/b` is `a*(1/b)`: its numerator is a factor, so kept whole as in a product.
        Expr::Div(a, b) => factor(a, d, expand)?.mul(&factor(b, d, expand)?.recip()?)?,
        Expr::Neg(a) => {
            let f = normalize(a, d, expand)?;
            Frac { num: f.num.scale(&-Rat::one()), den: f.den }
        }
        Expr::Pow(b, k) => match integer_exponent(k) {
            Some(k) => {
                let base = factor(b, d, expand)?;
                let n = k.unsigned_abs();
                let (Some(num), Some(den)) = (base.num.pow(n)?, base.den.pow(n)?) else {
                    return Ok(Frac::atom(canonical_atom(e, d)?));
                };
                let p = Frac { num, den };
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
                    Frac::atom(canonical_atom(&positive, d)?).recip()?
                }
                _ => Frac::atom(canonical_atom(e, d)?),
            },
        },
        Expr::Delta(a, b) if a == b => Frac::constant(Rat::one()),
        Expr::Delta(Index::Int(_), Index::Int(_)) => Frac::constant(Rat::zero()),
        _ => Frac::atom(canonical_atom(e, d)?),
    }
    .monic())
}

/// A factor, a divisor or a power's base: unless `expand`, a sum is kept whole (its
/// canonical form an atom), so `1/(1 + 1/(1 + x))^2` is not a quotient of expansions.
fn factor(e: &Expr, depth: usize, expand: bool) -> Result<Frac, KernelError> {
    Ok(match e {
        Expr::Add(_) if !expand => match canonical(e, depth)? {
            Expr::Num(c) => Frac::constant(c),
            c => Frac::atom(c),
        },
        _ => normalize(e, depth, expand)?,
    })
}

/// An integer exponent that fits the monomial exponents.
fn integer_exponent(k: &Expr) -> Option<i64> {
    k.as_num()?.as_i64().filter(|k| k.unsigned_abs() <= u64::from(u32::MAX / 4))
}

/// An atom with its arguments rewritten to canonical form.
fn canonical_atom(e: &Expr, depth: usize) -> Result<Expr, KernelError> {
    if let Expr::Delta(a, b) = e {
        let (a, b) = if b < a { (b, a) } else { (a, b) };
        return Ok(Expr::Delta(a.clone(), b.clone()));
    }
    match e {
        // The variable of `D(f, x)` is not a subterm: it stays as written.
        Expr::D(f, x) => Ok(Expr::d(canonical(f, depth)?, (**x).clone())),
        _ => e.try_map_children(|c| canonical(c, depth)),
    }
}

/// A canonical term for `e`: its normal form written back as a term.
pub fn canonical(e: &Expr, depth: usize) -> Result<Expr, KernelError> {
    // Without `+ - * / ^`, numbers or deltas the normal form is the term itself: the
    // common case, and much cheaper to see than to compute.
    let atomic = |t: &Expr| {
        matches!(t, Expr::Sym(_) | Expr::Idx(..) | Expr::Call(..) | Expr::Sum(_) | Expr::D(..))
    };
    if !e.any_once(&mut |t| !atomic(t)) {
        return Ok(e.clone());
    }
    let f = normalize(e, depth, true)?;
    let num = poly_to_expr(&f.num);
    if f.den.is_one() {
        Ok(num)
    } else {
        Ok(Expr::div(num, poly_to_expr(&f.den)))
    }
}

/// A polynomial written back as a term: a sum of products, each coefficient first.
fn poly_to_expr(p: &Poly) -> Expr {
    let term = |(m, c): &(Monomial, Rat)| {
        let coefficient = (!c.is_one() || m.is_empty()).then(|| Expr::Num(c.clone()));
        let powers = m.iter().map(|(a, k)| match k {
            1 => a.clone(),
            _ => Expr::pow(a.clone(), Expr::int(i64::from(*k))),
        });
        Expr::mul(coefficient.into_iter().chain(powers).collect())
    };
    Expr::add(p.0.iter().map(term).collect())
}

#[cfg(test)]
mod tests {
    use super::super::read::read_term;
    use super::*;

    fn equal(a: &str, b: &str) -> Result<bool, KernelError> {
        ring_equal(&read_term(a, &[]).unwrap(), &read_term(b, &[]).unwrap())
    }

    #[test]
    fn large_powers_of_one_term_are_computed_on_exponents() {
        assert!(equal("x^100*x", "x^101").unwrap());
        assert!(equal("(-x)^1000000001", "-(x^1000000001)").unwrap());
        assert!(equal("(x*y)^1000000", "x^1000000*y^1000000").unwrap());
        assert!(equal("(2*x)^-70", "1/(2^70*x^70)").unwrap());
        assert!(matches!(equal("(2*x)^5000", "x"), Err(KernelError::TooLarge(_))));
        let overflow = "x^1073741823*x^1073741823*x^1073741823*x^1073741823*x^4";
        assert!(matches!(equal(overflow, "x"), Err(KernelError::TooLarge(_))));
    }

    #[test]
    fn large_powers_of_longer_polynomials_stay_atoms() {
        assert!(equal("(x + 1)^100", "(1 + x)^100").unwrap());
        assert!(equal("(x + y)^2", "x^2 + 2*x*y + y^2").unwrap());
        assert!(matches!(equal("(x + y + z + w)^64", "x"), Err(KernelError::TooLarge(_))));
    }

    #[test]
    fn atoms_meet_whatever_the_spelling() {
        assert!(equal("b^(-1/2)*b^(1/2)", "1").unwrap());
        assert!(equal("exp(x + y)*delta(i,j)", "exp(y + x)*delta(j,i)").unwrap());
        assert!(equal("delta(1,2) + delta(i,i)", "1").unwrap());
        assert!(equal("D(x*y, x)", "D(y*x, x)").unwrap());
        assert!(equal("0^0", "1").unwrap());
        assert!(matches!(equal("x/0", "x"), Err(KernelError::Undefined(_))));
        assert!(matches!(equal("0^(-1)", "x"), Err(KernelError::Undefined(_))));
    }

    #[test]
    fn a_product_of_many_sums_equals_itself_rearranged_without_expanding() {
        // 2^16 terms expanded, past MAX_TERMS: compared with each sum kept whole.
        let factors: Vec<String> = (1..=16).map(|k| format!("(1 - t{k}^2)")).collect();
        let mut reversed = factors.clone();
        reversed.reverse();
        let nested = format!("{}*1", factors.join("*"));
        assert!(equal(&nested, &reversed.join("*")).unwrap());
        let changed = reversed.join("*").replacen("1 - t1^2", "1 - t1^3", 1);
        assert!(matches!(equal(&nested, &changed), Err(KernelError::TooLarge(_))));
    }

    /// `uncommon` is the multiset difference both ways, whatever the order and repeats:
    /// every pair of products of up to four factors over three letters, exhaustively.
    #[test]
    fn uncommon_drops_exactly_the_shared_factors() {
        let letters = |n: usize, len: usize| -> Vec<Expr> {
            (0..len)
                .map(|p| Expr::Sym(["a", "b", "c"][n / 3usize.pow(p as u32) % 3].into()))
                .collect()
        };
        let lists: Vec<Vec<Expr>> = (2..=4)
            .flat_map(|len| (0..3usize.pow(len as u32)).map(move |n| letters(n, len)))
            .collect();
        let less = |xs: &[Expr], ys: &[Expr]| {
            let mut rest = ys.to_vec();
            let mut out: Vec<Expr> = Vec::new();
            for x in xs {
                match rest.iter().position(|y| y == x) {
                    Some(i) => drop(rest.remove(i)),
                    None => out.push(x.clone()),
                }
            }
            out.sort();
            out
        };
        let sorted = |e: Expr| {
            let mut fs: Vec<Expr> = match e {
                Expr::Mul(fs) => fs.to_vec(),
                Expr::Num(_) => Vec::new(),
                atom => vec![atom],
            };
            fs.sort();
            fs
        };
        for xs in &lists {
            for ys in &lists {
                let (a, b) = (Expr::Mul(xs.clone().into()), Expr::Mul(ys.clone().into()));
                let (kept_a, kept_b) = (less(xs, ys), less(ys, xs));
                match uncommon(&a, &b) {
                    None => assert_eq!(kept_a.len(), xs.len(), "{a} and {b} share a factor"),
                    Some((u, v)) => {
                        assert!(kept_a.len() < xs.len(), "{a} and {b} share nothing");
                        assert_eq!((sorted(u), sorted(v)), (kept_a, kept_b), "{a} against {b}");
                    }
                }
            }
        }
        assert!(uncommon(&Expr::Sym("a".into()), &Expr::Sym("a".into())).is_none());
    }

    /// The derivative of 1/(1 + 1/(1 + …)) `depth` deep as the quotient rule leaves it,
    /// and its denominators' squares.
    fn continued_fraction(depth: usize) -> (String, Vec<String>) {
        let mut brackets = vec!["1 + x".to_string()];
        for k in 1..depth {
            brackets.push(format!("1 + 1/({})", brackets[k - 1]));
        }
        let nested = brackets.iter().fold("1".to_string(), |e, a| format!("-(-({e})/({a})^2)"));
        (nested, brackets.iter().map(|a| format!("({a})^2")).collect())
    }

    #[test]
    fn a_continued_fraction_keeps_its_denominators_whole() {
        // Expanded, the denominator 60 deep would have degree about 60^2. A debug build
        // needs more than a test thread's stack for 60 levels; the program's have 1 GiB.
        let run = std::thread::Builder::new().stack_size(64 << 20).spawn(|| {
            let (nested, squares) = continued_fraction(60);
            assert!(equal(&nested, &format!("1/({})", squares.join("*"))).unwrap());
            let (nested, squares) = continued_fraction(8);
            let changed = squares.join("*").replacen("x)^2", "x)^3", 1);
            assert!(!equal(&nested, &format!("1/({changed})")).unwrap());
        });
        run.unwrap().join().unwrap();
    }

    #[test]
    fn shared_factors_and_terms_cancel_first_but_decide_no_inequality() {
        assert!(equal("x*(y + 1)*(z + 0)*(w + 2)", "(y + 1)*x*(w + 2)*z").unwrap());
        assert!(equal("a + exp(b) + (c - c)", "exp(b) + a").unwrap());
        assert!(!equal("x*(y + 1)*w", "x*(y + 2)*w").unwrap());
        assert!(!equal("a + exp(b) + c", "a + exp(b)").unwrap());
        // What is left after the shared factor 0 differs, yet both products are 0.
        assert!(equal("0*x*exp(y)", "0*exp(y)*z").unwrap());
    }

    #[test]
    fn a_quotients_numerator_is_kept_whole_like_a_factor() {
        // One side has the sum `s` as a factor, the other as the numerator: kept whole in
        // both, the powers cancel on exponents. Expanded, `u^63` is a polynomial and `u^128`
        // (past MAX_EXPONENT) an atom, which never meet.
        let (u, v) = ("(1 + 1/(x + 1))", "(1 + 1/(x + 2))");
        let s = format!("(64*{v}/(x + 1)^2 + 3*{u}/(x + 2)^2)");
        let factor = format!("{u}^63*{v}^2*{s}/({u}^128*{v}^6)");
        assert!(equal(&factor, &format!("{s}/({u}^65*{v}^4)")).unwrap());
        assert!(!equal(&factor, &format!("{s}/({u}^64*{v}^4)")).unwrap());
        assert!(equal("(x + y)/z - x/z", "y/z").unwrap());
    }

    #[test]
    fn deep_terms_are_refused_not_overflowed() {
        let mut e = read_term("x", &[]).unwrap();
        for _ in 0..2 * MAX_DEPTH {
            e = Expr::call(crate::expr::Func::Exp, Expr::Add(vec![e, Expr::int(1)].into()));
        }
        // A debug build needs about 40 MiB here; the program's threads have 1 GiB.
        let run =
            std::thread::Builder::new().stack_size(128 << 20).spawn(move || ring_equal(&e, &e));
        let result = run.unwrap().join().unwrap();
        assert!(matches!(result, Err(KernelError::TooLarge(_))));
    }
}
