//! Nested fractions cleared bracket by bracket, as a textbook clears a continued fraction:
//! each bracket such as `1 + 1/(1 + 1/(1 + x))` written over its own denominator
//! (`(2*x + 3)/(x + 2)`), one step each, and then the product of the cleared brackets
//! cancelled in one step.
//!
//! The candidates of [`super::simplify::candidates`] see such a product whole only when its
//! unreduced normal form is small, and the unreduced degree of a product of k brackets is k
//! times theirs: the derivative of a continued fraction nine deep was left as a product of
//! nine squared brackets. Here each bracket is reduced on its own, cancelling at every
//! node, and the kernel checks the last step with every cleared bracket's numerator and
//! denominator as an atom, so nothing of degree k is ever expanded.
//!
//! Untrusted: every form reaches the proof through a `ring-normalize` step.

use super::algebra::{to_terms, Factor};
use super::poly::{degree, divmod, gcd, monic, mul, sub, to_sum, trim, Poly, MAX_DEGREE};
use super::simplify::{best_of, holds_division, is_ring_node};
use super::Driver;
use crate::expr::{Expr, Rat};
use crate::terms::ExprExt;
use num_traits::{One, Zero};
use std::collections::HashMap;

/// Most bits in the numerator or denominator of a coefficient, before and after each
/// reduction: numbers stay bounded, and so does Euclid's coefficient growth on them.
const MAX_BITS: u64 = 512;

/// A rational function of one variable in lowest terms: numerator and denominator coprime,
/// the denominator monic. Zero is `0/1`.
#[derive(Clone)]
struct Quotient {
    num: Poly,
    den: Poly,
}

impl Quotient {
    fn constant(c: Rat) -> Quotient {
        Quotient { num: trim(vec![c]), den: vec![Rat::one()] }
    }

    /// `num/den` in lowest terms; `None` for a zero denominator or past the bounds.
    fn reduced(num: Poly, den: Poly) -> Option<Quotient> {
        // A product of two reduced quotients has up to twice their degree before it is
        // reduced again.
        let within = |p: &Poly, most: usize| {
            degree(p) <= most
                && p.iter().all(|c| {
                    let c = c.to_big();
                    c.numer().bits() <= MAX_BITS && c.denom().bits() <= MAX_BITS
                })
        };
        let bounded = |p: &Poly| within(p, MAX_DEGREE);
        if den.is_empty() || !within(&num, 2 * MAX_DEGREE) || !within(&den, 2 * MAX_DEGREE) {
            return None;
        }
        let g = gcd(&num, &den);
        let (num, den) = (divmod(&num, &g).0, divmod(&den, &g).0);
        let (lead, den) = monic(&den);
        let num: Poly = num.iter().map(|c| c / &lead).collect();
        (bounded(&num) && bounded(&den)).then_some(Quotient { num, den })
    }

    fn add(&self, o: &Quotient) -> Option<Quotient> {
        let minus = |p: &Poly| p.iter().map(|c| -c).collect::<Poly>();
        let num = sub(&mul(&self.num, &o.den), &minus(&mul(&o.num, &self.den)));
        Quotient::reduced(num, mul(&self.den, &o.den))
    }

    fn mul(&self, o: &Quotient) -> Option<Quotient> {
        Quotient::reduced(mul(&self.num, &o.num), mul(&self.den, &o.den))
    }

    fn recip(&self) -> Option<Quotient> {
        Quotient::reduced(self.den.clone(), self.num.clone())
    }
}

/// Terms read as reduced quotients in one variable, the first symbol or indexed name met;
/// a shared subterm is read once.
#[derive(Default)]
struct Reader {
    var: Option<Expr>,
    seen: HashMap<*const Expr, Option<Quotient>>,
}

impl Reader {
    fn read(&mut self, e: &Expr) -> Option<Quotient> {
        let at = e as *const Expr;
        if let Some(q) = self.seen.get(&at) {
            return q.clone();
        }
        let q = self.read_node(e);
        self.seen.insert(at, q.clone());
        q
    }

    fn read_node(&mut self, e: &Expr) -> Option<Quotient> {
        match e {
            Expr::Num(c) => Some(Quotient::constant(c.clone())),
            Expr::Sym(_) | Expr::Idx(..) => {
                if self.var.get_or_insert_with(|| e.clone()) != e {
                    return None;
                }
                Some(Quotient { num: vec![Rat::zero(), Rat::one()], den: vec![Rat::one()] })
            }
            Expr::Add(ts) => ts
                .iter()
                .try_fold(Quotient::constant(Rat::zero()), |acc, t| acc.add(&self.read(t)?)),
            Expr::Mul(fs) => {
                fs.iter().try_fold(Quotient::constant(Rat::one()), |acc, f| acc.mul(&self.read(f)?))
            }
            Expr::Div(a, b) => self.read(a)?.mul(&self.read(b)?.recip()?),
            Expr::Neg(a) => self.read(a)?.mul(&Quotient::constant(-Rat::one())),
            Expr::Pow(b, k) => {
                let k = k.as_num()?.as_i64()?;
                let n = k.unsigned_abs();
                if n > 64 {
                    return None;
                }
                let base = self.read(b)?;
                let power = (0..n).try_fold(Quotient::constant(Rat::one()), |p, _| p.mul(&base))?;
                if k < 0 {
                    power.recip()
                } else {
                    Some(power)
                }
            }
            _ => None,
        }
    }

    /// The variable as a factor, for writing polynomials back as sums.
    fn var_factor(&self) -> Option<Factor> {
        let mut terms = to_terms(self.var.as_ref()?, false).ok()?;
        let [t] = terms.as_mut_slice() else { return None };
        let [f] = t.factors.as_slice() else { return None };
        Some(f.clone())
    }
}

/// `p` as `c * P` with `P` a sum with coprime integer coefficients, highest degree first
/// and positive.
fn integer_sum(p: &Poly, var: &Factor) -> (Rat, Expr) {
    let (lead, m) = monic(p);
    let (sum, s) = to_sum(&m, var);
    (lead / s, sum)
}

/// The brackets of the ring region `e` that are factors, divisors or powers' bases, with
/// the power each is raised to (the path is then the power's): not those inside another.
fn brackets(e: &Expr, path: &mut Vec<usize>, out: &mut Vec<(Vec<usize>, i64)>) {
    match e {
        Expr::Pow(b, k) if holds_division(b) => {
            if let Some(k) = k.as_num().and_then(|k| k.as_i64()).filter(|k| *k != 0) {
                out.push((path.clone(), k));
            }
        }
        _ if holds_division(e) => out.push((path.clone(), 1)),
        Expr::Mul(_) | Expr::Div(..) | Expr::Neg(_) | Expr::Pow(..) if is_ring_node(e) => {
            for (i, c) in e.children().enumerate() {
                path.push(i);
                brackets(c, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `(c * P/Q)^k` as `c^k * P^k/Q^k`, each sum a power's base (or a divisor) so that the
/// kernel's ring normaliser takes it as an atom: a sum that is a whole numerator would be
/// expanded instead.
fn cleared(c: &Rat, num: Expr, den: Expr, k: i64) -> Expr {
    let (c, num, den) = if k < 0 { (Rat::one() / c, den, num) } else { (c.clone(), num, den) };
    let n = k.unsigned_abs();
    let raised = |s: Expr| if n == 1 { s } else { Expr::pow(s, Expr::int(n as i64)) };
    let is_one = |s: &Expr| matches!(s, Expr::Num(r) if r.is_one());
    let fraction = match (is_one(&num), is_one(&den)) {
        (true, true) => Expr::int(1),
        (false, true) => raised(num),
        (true, false) => Expr::div(Expr::int(1), raised(den)),
        (false, false) => Expr::div(raised(num), raised(den)),
    };
    let coeff = num_traits::pow(c, n as usize);
    if coeff.is_one() {
        fraction
    } else {
        Expr::mul(vec![Expr::Num(coeff), fraction])
    }
}

/// Clear the brackets of the ring region at `path` and cancel, where its unreduced normal
/// form is too large for the candidates and the cancelled form is smaller than the region.
/// Whether it did; a step the kernel refuses leaves the proof as it was.
pub fn clear_brackets(d: &mut Driver, path: &[usize]) -> bool {
    let Some(e) = d.at(path).cloned() else { return false };
    let mut found = Vec::new();
    brackets(&e, &mut Vec::new(), &mut found);
    // One bracket, or a region whose whole normal form is small, is the candidates' to do.
    if found.len() < 2 || super::poly::quotient_degrees(&e, MAX_DEGREE).is_some() {
        return false;
    }
    let mut reader = Reader::default();
    // A region equal to zero is the candidates' to do (and has no sum to write).
    let Some(whole) = reader.read(&e).filter(|q| !q.num.is_empty()) else { return false };
    let Some(var) = reader.var_factor() else { return false };
    let (cn, num) = integer_sum(&whole.num, &var);
    let (cd, den) = integer_sum(&whole.den, &var);
    let one_fraction = Expr::mul(vec![Expr::Num(cn / cd), Expr::div(num, den)]);
    // Reduced and factored, as the candidates do for a small region.
    // Ties keep the earlier form: the candidates write sums highest degree first.
    let mut forms = super::simplify::candidates(&one_fraction);
    forms.extend(super::poly::cleared_forms(&one_fraction, false));
    let Some(target) = best_of(forms) else {
        return false;
    };
    if target.size() >= e.size() {
        return false;
    }
    let mut trial = d.clone();
    // Paths within `e`: the brackets do not overlap, so each is read from `e` (whose
    // nodes stay alive, so the reader's addresses stay theirs) as the trial finds it.
    for (within, k) in found {
        let base = if k == 1 { e.at(&within) } else { e.at(&within).and_then(|p| p.at(&[0])) };
        let Some(q) = base.and_then(|b| reader.read(b)).filter(|q| !q.num.is_empty()) else {
            return false;
        };
        let (qn, num) = integer_sum(&q.num, &var);
        let (qd, den) = integer_sum(&q.den, &var);
        let at: Vec<usize> = path.iter().chain(&within).copied().collect();
        if trial.ring_step(&at, cleared(&(qn / qd), num, den, k)).is_err() {
            return false;
        }
    }
    if trial.ring_step(path, target).is_err() {
        return false;
    }
    *d = trial;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_expr;

    fn read(src: &str) -> Option<(Poly, Poly)> {
        let q = Reader::default().read(&parse_expr(src).unwrap())?;
        Some((q.num, q.den))
    }

    fn poly(cs: &[i64]) -> Poly {
        cs.iter().map(|c| Rat::int(*c)).collect()
    }

    #[test]
    fn a_bracket_reads_in_lowest_terms() {
        // 1 + 1/(1 + 1/(1 + x)) = (2x + 3)/(x + 2), the denominator monic.
        assert_eq!(read("1 + 1/(1 + 1/(1 + x))"), Some((poly(&[3, 2]), poly(&[2, 1]))));
        // Common factors cancel at every node: (x^2 - 1)/(x - 1) is x + 1.
        assert_eq!(read("(x^2 - 1)/(x - 1)"), Some((poly(&[1, 1]), poly(&[1]))));
        // The constant goes to the numerator: (2x + 2)^-2 is (1/4)/(x^2 + 2x + 1).
        assert_eq!(read("(2*x + 2)^-2"), Some((vec![Rat::int(1) / Rat::int(4)], poly(&[1, 2, 1]))));
    }

    #[test]
    fn other_atoms_and_zero_divisors_are_not_read() {
        assert!(read("1 + 1/(x + y)").is_none());
        assert!(read("1 + 1/exp(x)").is_none());
        assert!(read("1/(x - x)").is_none());
        assert!(read("x^100").is_none());
    }
}
