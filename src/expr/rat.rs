//! Exact rational numbers: inline in machine integers when they fit, otherwise num-rational's
//! `BigRational`.
//!
//! Almost every number a derivation meets is small (`1`, `-1`, `2`, `1/2`), and on those a
//! `BigRational` allocates and runs several binary gcds per operation (derivations took half
//! as long again). Arithmetic on two inline values runs in `i128`, where it cannot overflow,
//! and a result that does not fit in `i64` becomes a `BigRational`.
//!
//! The form is canonical: inline exactly when numerator and denominator fit in `i64`, and
//! always in lowest terms with a positive denominator (as `BigRational` keeps its values), so
//! the derived equality and hashing are those of values.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, ToPrimitive, Zero};
use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};
use Repr::{Big, Small};

/// An exact rational number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Rat(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Small(i64, i64),
    Big(Box<BigRational>),
}

impl Rat {
    /// `n/d` in canonical form; panics when `d` is zero.
    fn reduced(n: i128, d: i128) -> Rat {
        assert!(d != 0, "denominator == 0");
        let g = n.gcd(&d) * d.signum();
        match (i64::try_from(n / g), i64::try_from(d / g)) {
            (Ok(n), Ok(d)) => Rat(Small(n, d)),
            _ => Rat::from_big(BigRational::new_raw((n / g).into(), (d / g).into())),
        }
    }

    /// The canonical form of a `BigRational` (which is in lowest terms).
    pub fn from_big(r: BigRational) -> Rat {
        match (r.numer().to_i64(), r.denom().to_i64()) {
            (Some(n), Some(d)) => Rat(Small(n, d)),
            _ => Rat(Big(Box::new(r))),
        }
    }

    /// The value as a `BigRational`, for what this type does not offer.
    pub fn to_big(&self) -> Cow<'_, BigRational> {
        match &self.0 {
            Small(n, d) => Cow::Owned(BigRational::new_raw((*n).into(), (*d).into())),
            Big(r) => Cow::Borrowed(r),
        }
    }

    /// `n/d`; panics when `d` is zero.
    pub fn new(n: BigInt, d: BigInt) -> Rat {
        Rat::from_big(BigRational::new(n, d))
    }

    pub fn int(n: i64) -> Rat {
        Rat(Small(n, 1))
    }

    /// The value as a machine integer, when it is an integer that fits (a `Big` one never does).
    pub fn as_i64(&self) -> Option<i64> {
        let Small(n, 1) = self.0 else { return None };
        Some(n)
    }

    /// Bits of the larger of numerator and denominator: the size bounds are stated in these.
    pub fn bits(&self) -> u64 {
        let r = self.to_big();
        r.numer().bits().max(r.denom().bits())
    }

    pub fn is_integer(&self) -> bool {
        self.to_big().is_integer()
    }

    pub fn is_negative(&self) -> bool {
        *self < Rat::zero()
    }

    pub fn is_positive(&self) -> bool {
        *self > Rat::zero()
    }
}

// `a + b`, `a += b` and so on for owned and borrowed operands: in `i128` when both are inline
// (each product is below 2^126 in size, so a sum of two cannot overflow), else in `BigRational`.
macro_rules! binary_ops {
    ($($op:ident $f:ident $assign:ident $f_assign:ident $small:expr),*) => {$(
        impl<R: Borrow<Rat>> $op<R> for &Rat {
            type Output = Rat;
            fn $f(self, o: R) -> Rat {
                match (&self.0, &o.borrow().0) {
                    (Small(a, b), Small(c, d)) => {
                        let (a, b, c, d) = (*a as i128, *b as i128, *c as i128, *d as i128);
                        let (n, d) = $small(a, b, c, d);
                        Rat::reduced(n, d)
                    }
                    _ => Rat::from_big(self.to_big().as_ref().$f(o.borrow().to_big().as_ref())),
                }
            }
        }
        impl<R: Borrow<Rat>> $op<R> for Rat {
            type Output = Rat;
            fn $f(self, o: R) -> Rat {
                (&self).$f(o)
            }
        }
        impl<R: Borrow<Rat>> $assign<R> for Rat {
            fn $f_assign(&mut self, o: R) {
                *self = (&*self).$f(o)
            }
        }
    )*};
}

// `a/b op c/d`.
binary_ops!(
    Add add AddAssign add_assign |a, b, c, d| (a * d + c * b, b * d),
    Sub sub SubAssign sub_assign |a, b, c, d| (a * d - c * b, b * d),
    Mul mul MulAssign mul_assign |a, b, c, d| (a * c, b * d),
    Div div DivAssign div_assign |a, b, c, d| (a * d, b * c)
);

impl Neg for &Rat {
    type Output = Rat;
    fn neg(self) -> Rat {
        Rat::zero() - self
    }
}

impl Neg for Rat {
    type Output = Rat;
    fn neg(self) -> Rat {
        -&self
    }
}

impl Ord for Rat {
    fn cmp(&self, o: &Rat) -> Ordering {
        match (&self.0, &o.0) {
            (Small(a, b), Small(c, d)) => (*a as i128 * *d as i128).cmp(&(*c as i128 * *b as i128)),
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
        matches!(self.0, Small(0, _))
    }
}

impl One for Rat {
    fn one() -> Rat {
        Rat::int(1)
    }
    fn is_one(&self) -> bool {
        matches!(self.0, Small(1, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terms::RatExt;
    use num_integer::Integer;
    use num_traits::Signed;
    use proptest::prelude::*;
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

    /// Integers around the edges of `i64`, and beyond.
    fn big_int() -> impl Strategy<Value = BigInt> {
        prop_oneof![
            (-20i64..20).prop_map(BigInt::from),
            any::<i64>().prop_map(BigInt::from),
            (any::<i64>(), 0u32..3).prop_map(|(v, k)| BigInt::from(v) << (62 * k)),
            Just(BigInt::from(i64::MIN)),
            Just(-BigInt::from(i64::MIN)),
        ]
    }

    /// A numerator and a nonzero denominator, not reduced.
    fn fraction() -> impl Strategy<Value = (BigInt, BigInt)> {
        prop_oneof![
            (big_int(), big_int()).prop_filter("nonzero denominator", |(_, d)| !d.is_zero()),
            (big_int(), 1i64..6).prop_map(|(n, d)| (n, BigInt::from(d))),
        ]
    }

    /// Lowest terms with a positive denominator, inline exactly when both parts fit in
    /// `i64`: what the derived equality and hashing rely on.
    fn is_canonical(r: &Rat) -> bool {
        let (n, d) = (r.numer(), r.denom());
        let fits = n.to_i64().is_some() && d.to_i64().is_some();
        d.is_positive() && n.gcd(&d).is_one() && fits == matches!(r.0, Small(..))
    }

    /// Fixed hash keys: the same hashes on every run.
    fn hash(r: &Rat) -> u64 {
        BuildHasherDefault::<DefaultHasher>::default().hash_one(r)
    }

    proptest! {
        #![proptest_config(crate::seeded::config(256))]
        /// Each operation, on owned and borrowed operands, is the textbook formula on
        /// numerators and denominators, and its result is canonical.
        #[test]
        fn arithmetic_is_exact_and_canonical((n1, d1) in fraction(), (n2, d2) in fraction()) {
            let (x, y) = (Rat::new(n1.clone(), d1.clone()), Rat::new(n2.clone(), d2.clone()));
            let same = |r: Rat, n: BigInt, d: BigInt| {
                prop_assert!(is_canonical(&r), "{} not canonical", r);
                // `r == n/d`, compared without dividing.
                prop_assert_eq!(r.numer() * &d, n * r.denom());
                Ok(())
            };
            same(&x + &y, &n1 * &d2 + &n2 * &d1, &d1 * &d2)?;
            same(x.clone() - y.clone(), &n1 * &d2 - &n2 * &d1, &d1 * &d2)?;
            same(x.clone() * &y, &n1 * &n2, &d1 * &d2)?;
            let mut acc = x.clone();
            acc += &y;
            acc -= y.clone();
            acc *= &y;
            same(acc, &n1 * &n2, &d1 * &d2)?;
            if !n2.is_zero() {
                same(&x / y.clone(), &n1 * &d2, &d1 * &n2)?;
                same(y.recip(), d2.clone(), n2.clone())?;
            }
            same(-&x, -&n1, d1.clone())?;
            same(x.abs(), n1.abs(), d1.abs())?;
            prop_assert_eq!(x.cmp(&y), (&n1 * &d2 * d1.signum() * d2.signum()).cmp(&(&n2 * &d1 * d1.signum() * d2.signum())));
            prop_assert_eq!(x.is_integer(), (&n1 % &d1).is_zero());
            prop_assert_eq!(x.as_i64(), if x.is_integer() { (&n1 / &d1).to_i64() } else { None });
            prop_assert_eq!(x.is_negative(), n1.is_negative() != d1.is_negative() && !n1.is_zero());
            prop_assert_eq!(x.is_positive(), !x.is_negative() && !n1.is_zero());
        }

        /// Equal values are equal and hash equally, whatever route built them.
        #[test]
        fn equal_values_are_equal_terms((n, d) in fraction(), k in big_int()) {
            prop_assume!(!k.is_zero());
            let a = Rat::new(n.clone(), d.clone());
            let b = Rat::new(&n * &k, &d * &k);
            let c = Rat::from_integer(n.clone()) / Rat::from_integer(d.clone());
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&a, &c);
            prop_assert_eq!(hash(&a), hash(&b));
            prop_assert_eq!(hash(&a), hash(&c));
        }

        /// `bits` bounds numerator and denominator, and is reached by one of them.
        #[test]
        fn bits_bound_the_parts((n, d) in fraction()) {
            let r = Rat::new(n, d);
            let (n, d, b) = (r.numer().abs(), r.denom().clone(), r.bits());
            prop_assert!(n < BigInt::one() << b && d < BigInt::one() << b);
            prop_assert!(b == 0 || n.max(d) >= BigInt::one() << (b - 1));
        }
    }

    /// Numerator and denominator exact in f64 make one division correctly rounded.
    #[test]
    fn float_conversion_rounds_correctly() {
        let big = 1i64 << 53;
        for (n, d) in [(1, 3), (-7, 32), (2, 3), (big, 3), (-big, 7), (big - 1, big), (1, big)] {
            assert_eq!(Rat::small(n, d).to_f64(), Some(n as f64 / d as f64), "{n}/{d}");
        }
        assert_eq!(
            BigRational::from_float(0.1).map(|r| Rat::from_big(r).to_f64()),
            Some(Some(0.1))
        );
        assert_eq!(BigRational::from_float(f64::NAN).map(Rat::from_big), None);
    }

    #[test]
    fn display_and_edges_of_i64() {
        let max = Rat::int(i64::MAX);
        let big = &max + Rat::one();
        assert_eq!(big.to_string(), "9223372036854775808");
        assert_eq!((&big - Rat::one(), big.as_i64()), (max.clone(), None));
        assert_eq!(-Rat::int(i64::MIN), big);
        assert_eq!(format!("{:?}", Rat::small(6, -4)), "-3/2");
        assert_eq!(Rat::small(3, 7).recip().to_string(), "7/3");
        assert_eq!(Rat::small(0, -5), Rat::zero());
        let (min, third) = (Rat::int(i64::MIN), Rat::small(1, 3));
        assert_eq!((&min / Rat::int(-1), &big * Rat::int(-1)), (big.clone(), min.clone()));
        assert_eq!((&min * &min).to_string(), "85070591730234615865843651857942052864");
        assert_eq!(&third - (&third + Rat::small(1, i64::MAX)), -Rat::small(1, i64::MAX));
        assert_eq!(Rat::small(i64::MAX, 2) + Rat::small(i64::MAX, 2), max);
    }

    #[test]
    #[should_panic]
    fn zero_denominator_panics() {
        Rat::small(1, 0);
    }

    #[test]
    #[should_panic]
    fn division_by_zero_panics() {
        let _ = Rat::one() / Rat::zero();
    }

    #[test]
    #[should_panic]
    fn reciprocal_of_zero_panics() {
        Rat::zero().recip();
    }
}
