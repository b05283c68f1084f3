//! Exact rational numbers: small ones inline in machine integers, the rest as num-rational's
//! `BigRational`.
//!
//! Almost every number a derivation meets is small (`1`, `-1`, `2`, `1/2`), and a
//! `BigRational` allocates two vectors for each of them on every clone and every operation.
//! Here a value whose numerator and denominator fit in `i64` lives inline, arithmetic on two
//! such values runs in `i128`, and only a result that does not fit becomes a `BigRational`.
//!
//! The representation is canonical: a value is `Small` exactly when it fits, in lowest terms
//! with a positive denominator. So the derived equality and hashing are equality and hashing
//! of values.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// An exact rational number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Rat(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    /// `n/d` in lowest terms, `d > 0`, and `n != i64::MIN` so that negation cannot overflow.
    Small(i64, i64),
    /// A value that does not fit `Small`.
    Big(Box<BigRational>),
}

impl Rat {
    /// `n/d`; panics when `d` is zero, as `BigRational::new` does.
    pub fn new(n: BigInt, d: BigInt) -> Rat {
        Rat::from_big(BigRational::new(n, d))
    }

    /// The integer `n`.
    pub fn from_integer(n: BigInt) -> Rat {
        match n.to_i64() {
            Some(v) if v != i64::MIN => Rat(Repr::Small(v, 1)),
            _ => Rat(Repr::Big(Box::new(BigRational::from_integer(n)))),
        }
    }

    /// The integer `n`, without allocating.
    pub fn int(n: i64) -> Rat {
        if n == i64::MIN {
            return Rat::from_integer(BigInt::from(n));
        }
        Rat(Repr::Small(n, 1))
    }

    /// `n/d` from machine integers; panics when `d` is zero.
    pub fn small(n: i64, d: i64) -> Rat {
        assert!(d != 0, "denominator == 0");
        reduced(i128::from(n), i128::from(d))
    }

    /// The exact value of a finite float.
    pub fn from_float(f: f64) -> Option<Rat> {
        BigRational::from_float(f).map(Rat::from_big)
    }

    /// The canonical form of a `BigRational`.
    pub fn from_big(r: BigRational) -> Rat {
        match (r.numer().to_i64(), r.denom().to_i64()) {
            (Some(n), Some(d)) if n != i64::MIN => Rat(Repr::Small(n, d)),
            _ => Rat(Repr::Big(Box::new(r))),
        }
    }

    /// The value as a `BigRational` (borrowed when it is one already).
    pub fn to_big(&self) -> Cow<'_, BigRational> {
        match &self.0 {
            Repr::Small(n, d) => {
                Cow::Owned(BigRational::new_raw(BigInt::from(*n), BigInt::from(*d)))
            }
            Repr::Big(b) => Cow::Borrowed(b),
        }
    }

    pub fn numer(&self) -> BigInt {
        match &self.0 {
            Repr::Small(n, _) => BigInt::from(*n),
            Repr::Big(b) => b.numer().clone(),
        }
    }

    pub fn denom(&self) -> BigInt {
        match &self.0 {
            Repr::Small(_, d) => BigInt::from(*d),
            Repr::Big(b) => b.denom().clone(),
        }
    }

    /// The value as a machine integer, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Small(n, 1) => Some(n),
            _ => None,
        }
    }

    /// Bits of the larger of numerator and denominator: the size bounds are stated in these.
    pub fn bits(&self) -> u64 {
        match &self.0 {
            Repr::Small(n, d) => {
                u64::from(64 - n.unsigned_abs().max(d.unsigned_abs()).leading_zeros())
            }
            Repr::Big(b) => b.numer().bits().max(b.denom().bits()),
        }
    }

    /// Bits of the numerator plus bits of the denominator.
    pub fn total_bits(&self) -> u64 {
        match &self.0 {
            Repr::Small(n, d) => {
                u64::from(64 - n.unsigned_abs().leading_zeros())
                    + u64::from(64 - d.unsigned_abs().leading_zeros())
            }
            Repr::Big(b) => b.numer().bits() + b.denom().bits(),
        }
    }

    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Small(_, d) => *d == 1,
            Repr::Big(b) => b.is_integer(),
        }
    }

    pub fn is_negative(&self) -> bool {
        match &self.0 {
            Repr::Small(n, _) => *n < 0,
            Repr::Big(b) => b.is_negative(),
        }
    }

    pub fn is_positive(&self) -> bool {
        match &self.0 {
            Repr::Small(n, _) => *n > 0,
            Repr::Big(b) => b.is_positive(),
        }
    }

    /// `-1`, `0` or `1`.
    pub fn signum(&self) -> Rat {
        if self.is_negative() {
            Rat::int(-1)
        } else if self.is_positive() {
            Rat::int(1)
        } else {
            Rat::int(0)
        }
    }

    pub fn abs(&self) -> Rat {
        if self.is_negative() {
            -self
        } else {
            self.clone()
        }
    }

    /// `1/self`; panics on zero, as `BigRational::recip` does.
    pub fn recip(&self) -> Rat {
        match &self.0 {
            Repr::Small(n, d) => {
                assert!(*n != 0, "denominator == 0");
                reduced(i128::from(*d), i128::from(*n))
            }
            Repr::Big(b) => Rat::from_big(b.recip()),
        }
    }

    /// The integer part, rounded towards zero.
    pub fn to_integer(&self) -> BigInt {
        match &self.0 {
            Repr::Small(n, d) => BigInt::from(n / d),
            Repr::Big(b) => b.to_integer(),
        }
    }

    /// `self` minus its integer part (rounded towards zero).
    pub fn fract(&self) -> Rat {
        match &self.0 {
            Repr::Small(n, d) => Rat(Repr::Small(n % d, *d)).canonical_zero(),
            Repr::Big(b) => Rat::from_big(b.fract()),
        }
    }

    /// `self^k`, by repeated squaring.
    pub fn pow(&self, k: i32) -> Rat {
        let mut base = if k < 0 { self.recip() } else { self.clone() };
        let mut out = Rat::int(1);
        let mut k = k.unsigned_abs();
        while k > 0 {
            if k & 1 == 1 {
                out = &out * &base;
            }
            k >>= 1;
            if k > 0 {
                base = &base * &base;
            }
        }
        out
    }

    /// `0/d` is written `0/1`.
    fn canonical_zero(self) -> Rat {
        match self.0 {
            Repr::Small(0, _) => Rat::int(0),
            other => Rat(other),
        }
    }
}

/// `n/d` (with `d != 0`) in canonical form.
fn reduced(n: i128, d: i128) -> Rat {
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    let g = gcd(n.unsigned_abs(), d.unsigned_abs());
    let (n, d) = if g > 1 {
        (n / g as i128, d / g as i128)
    } else {
        (n, d)
    };
    match (i64::try_from(n), i64::try_from(d)) {
        (Ok(n), Ok(d)) if n != i64::MIN => Rat(Repr::Small(n, d)),
        _ => Rat(Repr::Big(Box::new(BigRational::new_raw(
            BigInt::from(n),
            BigInt::from(d),
        )))),
    }
}

/// Binary gcd; `gcd(0, d) = d`.
fn gcd(mut a: u128, mut b: u128) -> u128 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

fn add(a: &Rat, b: &Rat) -> Rat {
    match (&a.0, &b.0) {
        (Repr::Small(n1, d1), Repr::Small(n2, d2)) => {
            let (n1, d1, n2, d2) = (
                i128::from(*n1),
                i128::from(*d1),
                i128::from(*n2),
                i128::from(*d2),
            );
            if d1 == d2 {
                return reduced(n1 + n2, d1);
            }
            reduced(n1 * d2 + n2 * d1, d1 * d2)
        }
        _ => add_big(a.to_big().as_ref(), b.to_big().as_ref()),
    }
}

fn mul(a: &Rat, b: &Rat) -> Rat {
    match (&a.0, &b.0) {
        (Repr::Small(n1, 1), Repr::Small(n2, 1)) => {
            let p = i128::from(*n1) * i128::from(*n2);
            match i64::try_from(p) {
                Ok(v) if v != i64::MIN => Rat(Repr::Small(v, 1)),
                _ => reduced(p, 1),
            }
        }
        (Repr::Small(n1, d1), Repr::Small(n2, d2)) => reduced(
            i128::from(*n1) * i128::from(*n2),
            i128::from(*d1) * i128::from(*d2),
        ),
        _ => mul_big(a.to_big().as_ref(), b.to_big().as_ref()),
    }
}

// num-rational reduces every result with a binary gcd, which takes a step per bit of the
// larger number even against 1: polynomial coefficients of a hundred bits made that most of
// the time of a derivation. These avoid reductions that are known to be trivial.

/// `gcd(n, d)` for `d > 0`, after one Euclidean step: `n` may be far larger than `d`.
fn gcd_with(n: &BigInt, d: &BigInt) -> BigInt {
    use num_integer::Integer;
    if d.is_one() {
        return BigInt::one();
    }
    d.gcd(&(n % d))
}

/// `a + b`, where an integer part adds without any gcd.
fn add_big(a: &BigRational, b: &BigRational) -> Rat {
    let (n1, d1, n2, d2) = (a.numer(), a.denom(), b.numer(), b.denom());
    if d1 == d2 {
        let n = n1 + n2;
        let g = gcd_with(&n, d1);
        return Rat::from_big(BigRational::new_raw(n / &g, d1 / &g));
    }
    // `k + n/d = (k*d + n)/d` is in lowest terms when `n/d` is.
    if d1.is_one() {
        return Rat::from_big(BigRational::new_raw(n1 * d2 + n2, d2.clone()));
    }
    if d2.is_one() {
        return Rat::from_big(BigRational::new_raw(n2 * d1 + n1, d1.clone()));
    }
    Rat::from_big(a + b)
}

/// `a * b`, cancelling each numerator against the other denominator: the product of two
/// values in lowest terms is then in lowest terms, with no gcd of the products.
fn mul_big(a: &BigRational, b: &BigRational) -> Rat {
    if a.is_zero() || b.is_zero() {
        return Rat::zero();
    }
    let (n1, d1, n2, d2) = (a.numer(), a.denom(), b.numer(), b.denom());
    let (g1, g2) = (gcd_with(n1, d2), gcd_with(n2, d1));
    let numer = (n1 / &g1) * (n2 / &g2);
    let denom = (d1 / &g2) * (d2 / &g1);
    Rat::from_big(BigRational::new_raw(numer, denom))
}

fn div(a: &Rat, b: &Rat) -> Rat {
    mul(a, &b.recip())
}

fn neg(a: &Rat) -> Rat {
    match &a.0 {
        // `n != i64::MIN`, so `-n` fits.
        Repr::Small(n, d) => Rat(Repr::Small(-n, *d)),
        Repr::Big(b) => Rat::from_big(-b.as_ref().clone()),
    }
}

macro_rules! binary_op {
    ($trait:ident, $method:ident, $f:ident) => {
        impl $trait<&Rat> for &Rat {
            type Output = Rat;
            fn $method(self, o: &Rat) -> Rat {
                $f(self, o)
            }
        }
        impl $trait<Rat> for &Rat {
            type Output = Rat;
            fn $method(self, o: Rat) -> Rat {
                $f(self, &o)
            }
        }
        impl $trait<&Rat> for Rat {
            type Output = Rat;
            fn $method(self, o: &Rat) -> Rat {
                $f(&self, o)
            }
        }
        impl $trait<Rat> for Rat {
            type Output = Rat;
            fn $method(self, o: Rat) -> Rat {
                $f(&self, &o)
            }
        }
    };
}

binary_op!(Add, add, add);
binary_op!(Mul, mul, mul);
binary_op!(Div, div, div);

fn sub(a: &Rat, b: &Rat) -> Rat {
    add(a, &neg(b))
}
binary_op!(Sub, sub, sub);

macro_rules! assign_op {
    ($trait:ident, $method:ident, $f:ident) => {
        impl std::ops::$trait<&Rat> for Rat {
            fn $method(&mut self, o: &Rat) {
                *self = $f(self, o);
            }
        }
        impl std::ops::$trait<Rat> for Rat {
            fn $method(&mut self, o: Rat) {
                *self = $f(self, &o);
            }
        }
    };
}

assign_op!(AddAssign, add_assign, add);
assign_op!(SubAssign, sub_assign, sub);
assign_op!(MulAssign, mul_assign, mul);
assign_op!(DivAssign, div_assign, div);

impl Neg for Rat {
    type Output = Rat;
    fn neg(self) -> Rat {
        neg(&self)
    }
}

impl Neg for &Rat {
    type Output = Rat;
    fn neg(self) -> Rat {
        neg(self)
    }
}

impl Ord for Rat {
    fn cmp(&self, o: &Rat) -> Ordering {
        match (&self.0, &o.0) {
            (Repr::Small(n1, d1), Repr::Small(n2, d2)) => {
                (i128::from(*n1) * i128::from(*d2)).cmp(&(i128::from(*n2) * i128::from(*d1)))
            }
            _ => self.to_big().cmp(&o.to_big()),
        }
    }
}

impl PartialOrd for Rat {
    fn partial_cmp(&self, o: &Rat) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Zero for Rat {
    fn zero() -> Rat {
        Rat::int(0)
    }
    fn is_zero(&self) -> bool {
        matches!(self.0, Repr::Small(0, _))
    }
}

impl One for Rat {
    fn one() -> Rat {
        Rat::int(1)
    }
    fn is_one(&self) -> bool {
        matches!(self.0, Repr::Small(1, 1))
    }
}

impl From<i64> for Rat {
    fn from(n: i64) -> Rat {
        Rat::int(n)
    }
}

impl ToPrimitive for Rat {
    /// The integer part (rounded towards zero), when it fits.
    fn to_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Small(n, d) => Some(n / d),
            Repr::Big(b) => b.to_integer().to_i64(),
        }
    }

    fn to_u64(&self) -> Option<u64> {
        match &self.0 {
            Repr::Small(n, d) => u64::try_from(n / d).ok(),
            Repr::Big(b) => b.to_integer().to_u64(),
        }
    }

    /// The nearest float, as `BigRational::to_f64` gives it.
    fn to_f64(&self) -> Option<f64> {
        const EXACT: u64 = 1 << 53;
        match &self.0 {
            // Both exact in f64, so one division rounds the exact quotient correctly.
            Repr::Small(n, d) if n.unsigned_abs() <= EXACT && d.unsigned_abs() <= EXACT => {
                Some(*n as f64 / *d as f64)
            }
            _ => self.to_big().to_f64(),
        }
    }
}

impl fmt::Display for Rat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Small(n, 1) => write!(f, "{n}"),
            Repr::Small(n, d) => write!(f, "{n}/{d}"),
            Repr::Big(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Debug for Rat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Numerators and denominators around the edges of `i64`, and beyond.
    fn big_int() -> impl Strategy<Value = BigInt> {
        prop_oneof![
            (-20i64..20).prop_map(BigInt::from),
            any::<i64>().prop_map(BigInt::from),
            (any::<i64>(), 0u32..3)
                .prop_map(|(v, k)| BigInt::from(v) * BigInt::from(2).pow(62 * k)),
            Just(BigInt::from(i64::MIN)),
            Just(BigInt::from(i64::MAX)),
            Just(-BigInt::from(i64::MIN)),
        ]
    }

    /// Any fractions, integers, and fractions with small denominators (so that two of them
    /// often share one): each takes its own path through the arithmetic.
    fn big_rat() -> impl Strategy<Value = BigRational> {
        prop_oneof![
            (big_int(), big_int())
                .prop_filter("nonzero denominator", |(_, d)| !d.is_zero())
                .prop_map(|(n, d)| BigRational::new(n, d)),
            big_int().prop_map(BigRational::from_integer),
            (big_int(), 1i64..6).prop_map(|(n, d)| BigRational::new(n, BigInt::from(d))),
        ]
    }

    proptest! {
        #![proptest_config(crate::seeded::config(256))]
        /// Every operation agrees with `BigRational`, and results are canonical.
        #[test]
        fn agrees_with_big_rational(a in big_rat(), b in big_rat()) {
            let (x, y) = (Rat::from_big(a.clone()), Rat::from_big(b.clone()));
            let same = |r: Rat, want: BigRational| {
                prop_assert_eq!(r.to_big().into_owned(), want.clone());
                prop_assert_eq!(r, Rat::from_big(want));
                Ok(())
            };
            same(&x + &y, &a + &b)?;
            same(&x - &y, &a - &b)?;
            same(&x * &y, &a * &b)?;
            if !b.is_zero() {
                same(&x / &y, &a / &b)?;
                same(y.recip(), b.recip())?;
            }
            same(-&x, -a.clone())?;
            same(x.abs(), a.abs())?;
            same(x.fract(), a.fract())?;
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x.to_string(), a.to_string());
            prop_assert_eq!(x.to_f64(), a.to_f64());
            prop_assert_eq!(x.to_i64(), a.to_integer().to_i64());
            prop_assert_eq!(x.to_integer(), a.to_integer());
            prop_assert_eq!((x.numer(), x.denom()), (a.numer().clone(), a.denom().clone()));
            prop_assert_eq!(x.bits(), a.numer().bits().max(a.denom().bits()));
            prop_assert_eq!(x.total_bits(), a.numer().bits() + a.denom().bits());
            prop_assert_eq!(x.is_integer(), a.is_integer());
            prop_assert_eq!((x.is_negative(), x.is_positive()), (a.is_negative(), a.is_positive()));
        }

        /// Equal values hash equally, whatever route built them.
        #[test]
        fn equal_values_are_equal_terms(n in any::<i32>(), d in 1i32..1000, k in 1i64..1000) {
            use std::hash::{BuildHasher, RandomState};
            let a = Rat::small(i64::from(n), i64::from(d));
            let b = Rat::new(BigInt::from(i64::from(n) * k), BigInt::from(i64::from(d) * k));
            let s = RandomState::new();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(s.hash_one(&a), s.hash_one(&b));
        }
    }

    /// Inline values exact in f64 take one division; it must round as the big conversion does.
    #[test]
    fn the_fast_float_conversion_rounds_like_the_exact_one() {
        let big = 1i64 << 53;
        for (n, d) in [
            (1, 3),
            (-7, 32),
            (2, 3),
            (big, 3),
            (-big, 7),
            (big - 1, big),
            (1, big),
            (big + 1, 3),
            (i64::MIN, 1),
            (i64::MAX, 9),
        ] {
            let exact = BigRational::new(BigInt::from(n), BigInt::from(d));
            assert_eq!(Rat::small(n, d).to_f64(), exact.to_f64(), "{n}/{d}");
        }
    }

    #[test]
    fn overflow_moves_to_big_and_back() {
        let max = Rat::int(i64::MAX);
        let big = &max + &Rat::int(1);
        assert_eq!(big.to_string(), "9223372036854775808");
        assert_eq!(&big - &Rat::int(1), max);
        assert_eq!(Rat::int(i64::MIN).to_string(), "-9223372036854775808");
        assert_eq!(-Rat::int(i64::MIN), big);
        assert_eq!(Rat::small(6, -4).to_string(), "-3/2");
        assert_eq!(Rat::small(3, 7).pow(-2).to_string(), "49/9");
        assert_eq!(Rat::small(-2, 3).pow(5).to_string(), "-32/243");
        assert_eq!(
            Rat::int(2).pow(100).to_string(),
            "1267650600228229401496703205376"
        );
        assert_eq!(Rat::int(5).pow(0), Rat::int(1));
    }
}
