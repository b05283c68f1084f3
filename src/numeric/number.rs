//! Checked arithmetic shared by the evaluators: exact rationals, f64 and dual numbers,
//! each reporting domain errors, overflow and oversized numbers as errors rather than
//! producing NaN, infinity or an endless computation.

use super::dual::Dual;
use super::eval::EvalError;
use super::funcs::{self, finite};
use super::point::Value;
use crate::expr::{Func, Rat};
use crate::terms::RatExt;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};

/// Largest exact number accepted, in bits of numerator plus denominator.
pub const MAX_BITS: u64 = 1 << 16;

/// Which evaluator a number type belongs to; decides how `D(f, x)` is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Exact,
    Float,
    Dual,
    HyperDual,
}

/// Which seeded variables a value stands for: the first (dual numbers' only one, and
/// hyper-dual numbers' ε₁) and the second (hyper-dual numbers' ε₂).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seeds {
    pub first: bool,
    pub second: bool,
}

impl Seeds {
    pub fn any(self) -> bool {
        self.first || self.second
    }
}

/// The operations the generic evaluator needs, each checked.
pub(crate) trait Number: Clone + Sized {
    const MODE: Mode;
    fn from_rat(r: &Rat) -> Result<Self, EvalError>;
    fn from_int(v: i64) -> Self;
    /// A point's value; `seeds` marks the variables a dual number differentiates by.
    fn from_value(v: &Value, seeds: Seeds) -> Self;
    /// A derivative `D(f, x)` met inside the evaluation, as a number of this type: its
    /// value and (used by dual numbers) its own derivative along the seeded variable.
    fn from_derivative(value: f64, derivative: f64) -> Result<Self, EvalError>;
    /// This value as the variables a dual number differentiates by: a defined name held as
    /// the variable of `D(f, a_i)`.
    fn held(&self, _seeds: Seeds) -> Self {
        self.clone()
    }
    fn add(&self, o: &Self) -> Result<Self, EvalError>;
    fn mul(&self, o: &Self) -> Result<Self, EvalError>;
    fn div(&self, o: &Self) -> Result<Self, EvalError>;
    fn neg(&self) -> Self;
    fn powi(&self, n: i64) -> Result<Self, EvalError>;
    fn pow(&self, e: &Self) -> Result<Self, EvalError>;
    fn apply(f: Func, x: &Self) -> Result<Self, EvalError>;
}

pub(crate) fn not_real(base: f64, exp: f64) -> EvalError {
    EvalError::Domain(format!("{base}^{exp} is not a real number"))
}

/// The integer an f64 holds, when it holds a moderate one.
pub(crate) fn as_integer(x: f64) -> Option<i64> {
    (x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
}

pub(crate) fn powi_f64(base: f64, n: i64) -> Result<f64, EvalError> {
    if base == 0.0 && n < 0 {
        return Err(EvalError::DivisionByZero);
    }
    let v = match i32::try_from(n) {
        Ok(k) => base.powi(k),
        Err(_) => base.powf(n as f64),
    };
    finite(v, "a power")
}

impl Number for f64 {
    const MODE: Mode = Mode::Float;

    fn from_rat(r: &Rat) -> Result<f64, EvalError> {
        finite(r.to_f64().unwrap_or(f64::INFINITY), "a number")
    }

    fn from_int(v: i64) -> f64 {
        v as f64
    }

    fn from_value(v: &Value, _seeds: Seeds) -> f64 {
        v.float
    }

    fn from_derivative(value: f64, _derivative: f64) -> Result<f64, EvalError> {
        Ok(value)
    }

    fn add(&self, o: &f64) -> Result<f64, EvalError> {
        finite(self + o, "a sum")
    }

    fn mul(&self, o: &f64) -> Result<f64, EvalError> {
        finite(self * o, "a product")
    }

    fn div(&self, o: &f64) -> Result<f64, EvalError> {
        if *o == 0.0 {
            return Err(EvalError::DivisionByZero);
        }
        finite(self / o, "a quotient")
    }

    fn neg(&self) -> f64 {
        -self
    }

    fn powi(&self, n: i64) -> Result<f64, EvalError> {
        powi_f64(*self, n)
    }

    fn pow(&self, e: &f64) -> Result<f64, EvalError> {
        if let Some(n) = as_integer(*e) {
            return powi_f64(*self, n);
        }
        if *self > 0.0 {
            finite(self.powf(*e), "a power")
        } else if *self == 0.0 && *e > 0.0 {
            Ok(0.0)
        } else {
            Err(not_real(*self, *e))
        }
    }

    fn apply(f: Func, x: &f64) -> Result<f64, EvalError> {
        funcs::apply(f, *x)
    }
}

impl Dual {
    fn checked(value: f64, derivative: f64, what: &str) -> Result<Dual, EvalError> {
        Ok(Dual { value: finite(value, what)?, derivative: finite(derivative, what)? })
    }
}

impl Number for Dual {
    const MODE: Mode = Mode::Dual;

    fn from_rat(r: &Rat) -> Result<Dual, EvalError> {
        Ok(Dual::constant(f64::from_rat(r)?))
    }

    fn from_int(v: i64) -> Dual {
        Dual::constant(v as f64)
    }

    fn from_value(v: &Value, seeds: Seeds) -> Dual {
        if seeds.first {
            Dual::variable(v.float)
        } else {
            Dual::constant(v.float)
        }
    }

    fn held(&self, seeds: Seeds) -> Dual {
        if seeds.first {
            Dual::variable(self.value)
        } else {
            *self
        }
    }

    fn from_derivative(value: f64, derivative: f64) -> Result<Dual, EvalError> {
        Dual::checked(value, derivative, "a derivative")
    }

    fn add(&self, o: &Dual) -> Result<Dual, EvalError> {
        Dual::checked(self.value + o.value, self.derivative + o.derivative, "a sum")
    }

    fn mul(&self, o: &Dual) -> Result<Dual, EvalError> {
        let d = self.derivative * o.value + self.value * o.derivative;
        Dual::checked(self.value * o.value, d, "a product")
    }

    fn div(&self, o: &Dual) -> Result<Dual, EvalError> {
        if o.value == 0.0 {
            return Err(EvalError::DivisionByZero);
        }
        let v = self.value / o.value;
        Dual::checked(v, (self.derivative - v * o.derivative) / o.value, "a quotient")
    }

    fn neg(&self) -> Dual {
        Dual { value: -self.value, derivative: -self.derivative }
    }

    fn powi(&self, n: i64) -> Result<Dual, EvalError> {
        let v = powi_f64(self.value, n)?;
        let d = if self.derivative == 0.0 || n == 0 {
            0.0
        } else {
            n as f64 * powi_f64(self.value, n.saturating_sub(1))? * self.derivative
        };
        Dual::checked(v, d, "a power")
    }

    fn pow(&self, e: &Dual) -> Result<Dual, EvalError> {
        if e.derivative == 0.0 {
            if let Some(n) = as_integer(e.value) {
                return self.powi(n);
            }
        }
        if self.value > 0.0 {
            let v = self.value.powf(e.value);
            let d = v * (e.derivative * self.value.ln() + e.value * self.derivative / self.value);
            Dual::checked(v, d, "a power")
        } else if self.value == 0.0 && e.derivative == 0.0 && e.value > 0.0 {
            let d = if self.derivative == 0.0 {
                0.0
            } else {
                e.value * 0f64.powf(e.value - 1.0) * self.derivative
            };
            Dual::checked(0.0, d, "a power")
        } else {
            Err(not_real(self.value, e.value))
        }
    }

    fn apply(f: Func, x: &Dual) -> Result<Dual, EvalError> {
        let v = funcs::apply(f, x.value)?;
        let d =
            if x.derivative == 0.0 { 0.0 } else { funcs::derivative(f, x.value)? * x.derivative };
        Dual::checked(v, d, f.name())
    }
}

/// Refuse exact numbers past [`MAX_BITS`], so no computation runs away.
fn bounded(r: Rat) -> Result<Rat, EvalError> {
    if total_bits(&r) > MAX_BITS {
        return Err(EvalError::TooLarge(format!("an exact number exceeds {MAX_BITS} bits")));
    }
    Ok(r)
}

/// `x + y`, or `x * y` when `times`. Two machine-sized numbers take `Rat`'s own path; larger
/// ones are reduced here by [`gcd`], since num-bigint's binary gcd takes a subtraction and a
/// shift per bit when one operand is much the smaller, as a long numerator over a power of two
/// (the dyadic sample points give those) is: that gcd was most of an exact check's time.
fn exact(x: &Rat, y: &Rat, times: bool) -> Rat {
    let (xb, yb) = (x.to_big(), y.to_big());
    if [&xb, &yb].iter().all(|r| r.numer().bits() < 63 && r.denom().bits() < 63) {
        return if times { x * y } else { x + y };
    }
    let (a, b, c, d) = (xb.numer(), xb.denom(), yb.numer(), yb.denom());
    let (n, m) = if times { (a * c, b * d) } else { (a * d + c * b, b * d) };
    let g = BigInt::from_biguint(num_bigint::Sign::Plus, gcd(n.magnitude(), m.magnitude()));
    // `m` is positive, so the quotient's sign is `n`'s; `g` divides both exactly.
    Rat::from_big(num_rational::BigRational::new_raw(n / &g, m / g))
}

/// The greatest common divisor of two naturals, not both zero: the common power of two
/// taken out first, then Euclid's remainders on the odd parts (one division ends it when one
/// odd part is 1).
fn gcd(a: &num_bigint::BigUint, b: &num_bigint::BigUint) -> num_bigint::BigUint {
    let (Some(ta), Some(tb)) = (a.trailing_zeros(), b.trailing_zeros()) else {
        return a | b;
    };
    let (mut a, mut b) = (a >> ta, b >> tb);
    while !b.is_zero() {
        let r = &a % &b;
        a = std::mem::replace(&mut b, r);
    }
    a << ta.min(tb)
}

/// Bits of the numerator plus bits of the denominator.
fn total_bits(r: &Rat) -> u64 {
    let r = r.to_big();
    r.numer().bits() + r.denom().bits()
}

fn not_rational(what: &str) -> EvalError {
    EvalError::NotRational(what.to_string())
}

impl Number for Rat {
    const MODE: Mode = Mode::Exact;

    fn from_rat(r: &Rat) -> Result<Rat, EvalError> {
        bounded(r.clone())
    }

    fn from_int(v: i64) -> Rat {
        Rat::from_integer(BigInt::from(v))
    }

    fn from_value(v: &Value, _seeds: Seeds) -> Rat {
        v.exact().clone()
    }

    fn from_derivative(_value: f64, _derivative: f64) -> Result<Rat, EvalError> {
        Err(not_rational("a derivative D(…)"))
    }

    fn add(&self, o: &Rat) -> Result<Rat, EvalError> {
        bounded(exact(self, o, false))
    }

    fn mul(&self, o: &Rat) -> Result<Rat, EvalError> {
        bounded(exact(self, o, true))
    }

    fn div(&self, o: &Rat) -> Result<Rat, EvalError> {
        if o.is_zero() {
            return Err(EvalError::DivisionByZero);
        }
        bounded(exact(self, &o.recip(), true))
    }

    fn neg(&self) -> Rat {
        // `Rat`'s own negation is `0 - x`, which reduces a long fraction again; negated, a
        // reduced fraction stays reduced.
        match self.to_big() {
            std::borrow::Cow::Borrowed(long) => Rat::from_big(-long.clone()),
            std::borrow::Cow::Owned(_) => -self.clone(),
        }
    }

    fn powi(&self, n: i64) -> Result<Rat, EvalError> {
        if self.is_zero() {
            return match n {
                0 => Ok(Rat::one()),
                n if n < 0 => Err(EvalError::DivisionByZero),
                _ => Ok(Rat::zero()),
            };
        }
        if self.abs().is_one() {
            return Ok(if n % 2 == 0 { Rat::one() } else { self.clone() });
        }
        let bits = total_bits(self);
        let wanted = u128::from(bits) * u128::from(n.unsigned_abs());
        match i32::try_from(n) {
            Ok(k) if wanted <= u128::from(MAX_BITS) => bounded(Rat::from_big(self.to_big().pow(k))),
            _ => Err(EvalError::TooLarge(format!(
                "an exact power with exponent {n} exceeds {MAX_BITS} bits"
            ))),
        }
    }

    fn pow(&self, e: &Rat) -> Result<Rat, EvalError> {
        if !e.is_integer() {
            return Err(not_rational("a power with a fractional exponent"));
        }
        match e.numer().to_i64() {
            Some(n) => self.powi(n),
            // Only 0, 1 and -1 have huge powers of a manageable size.
            None if self.is_zero() || self.abs().is_one() => {
                let n =
                    if e.numer().is_even() { 2 } else { 1 } * if e.is_negative() { -1 } else { 1 };
                self.powi(n)
            }
            None => Err(EvalError::TooLarge(format!("an exact power with exponent {e}"))),
        }
    }

    fn apply(f: Func, _x: &Rat) -> Result<Rat, EvalError> {
        Err(not_rational(f.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rat(n: i64, d: i64) -> Rat {
        Rat::new(BigInt::from(n), BigInt::from(d))
    }

    #[test]
    fn exact_powers_are_bounded() {
        let two = rat(2, 1);
        assert_eq!(two.powi(10), Ok(rat(1024, 1)));
        assert_eq!(two.powi(-2), Ok(rat(1, 4)));
        assert!(matches!(two.powi(100_000_000), Err(EvalError::TooLarge(_))));
        assert!(matches!(Number::pow(&two, &rat(100_000_000, 1)), Err(EvalError::TooLarge(_))));
        let huge = Rat::from_integer(BigInt::from(10).pow(40u32));
        assert_eq!(Number::pow(&rat(-1, 1), &huge), Ok(rat(1, 1)));
        assert!(matches!(Number::pow(&two, &huge), Err(EvalError::TooLarge(_))));
        assert_eq!(rat(0, 1).powi(-1), Err(EvalError::DivisionByZero));
        assert!(matches!(Number::pow(&two, &rat(1, 2)), Err(EvalError::NotRational(_))));
    }

    /// Numbers of every size the evaluator meets: machine-sized, and long numerators over
    /// powers of two (a dyadic point to a high power) or over odd numbers.
    fn number() -> impl proptest::strategy::Strategy<Value = Rat> {
        use proptest::prelude::*;
        let big = (any::<i64>(), 0u32..400).prop_map(|(n, k)| BigInt::from(n) << k);
        let den = prop_oneof![
            (0u32..400).prop_map(|k| BigInt::from(1) << k),
            (1i64..1_000_000_000).prop_map(BigInt::from),
        ];
        prop_oneof![
            (any::<i32>(), 1i32..100).prop_map(|(n, d)| rat(n.into(), d.into())),
            (big, den).prop_map(|(n, d)| Rat::new(n, d)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(crate::seeded::config(256))]

        /// The fast path's sums, products and quotients are `Rat`'s own, in canonical form.
        #[test]
        fn exact_arithmetic_agrees_with_rat(x in number(), y in number()) {
            let mut pairs = vec![(Number::add(&x, &y), &x + &y), (Number::mul(&x, &y), &x * &y)];
            if !y.is_zero() {
                pairs.push((Number::div(&x, &y), &x / &y));
            }
            for (fast, own) in pairs {
                let fast = fast.unwrap();
                // Lowest terms, positive denominator: as `Rat` keeps every value.
                let r = fast.to_big();
                proptest::prop_assert!(r.numer().gcd(r.denom()).is_one() && r.denom().sign() == num_bigint::Sign::Plus);
                proptest::prop_assert_eq!(fast, own);
            }
        }
    }

    #[test]
    fn float_and_dual_report_domain_errors() {
        assert!(matches!((-2.0f64).pow(&0.5), Err(EvalError::Domain(_))));
        assert_eq!((-2.0f64).pow(&3.0), Ok(-8.0));
        assert_eq!(1.0f64.div(&0.0), Err(EvalError::DivisionByZero));
        assert!(matches!(1e300f64.mul(&1e300), Err(EvalError::Overflow(_))));
        let x = Dual::variable(3.0);
        let y = x.powi(2).unwrap();
        assert_eq!((y.value, y.derivative), (9.0, 6.0));
        let z = Dual::constant(2.0).pow(&x).unwrap();
        assert!((z.derivative - 8.0 * 2f64.ln()).abs() < 1e-12);
        assert!(Dual::apply(Func::Log, &Dual::variable(-1.0)).is_err());
    }
}
