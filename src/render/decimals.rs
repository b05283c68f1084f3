//! Numbers as the user wrote them: in an input that writes decimals (`0.044715`), a number
//! whose decimal expansion ends prints as a decimal (`0.134145`, not `26829/200000`), while
//! exact arithmetic continues underneath. A value the input writes as a fraction of two
//! integers (`1/3`, `1/2`) stays a fraction, and an input without decimals prints every
//! number as before.
//!
//! The style is set for the printing of one input ([`with_style`]); the printers ask
//! [`decimal`] and [`whole`] for each number.

use crate::expr::{Expr, Rat};
use crate::syntax::NumberStyle;
use num_bigint::BigInt;
use num_traits::{Signed, Zero};
use std::borrow::Cow;
use std::cell::RefCell;

/// How many more digits after the point than the input's own a printed decimal may have
/// (the product of two of its decimals has the digits of both).
const EXTRA_PLACES: usize = 2;

thread_local! {
    static STYLE: RefCell<Option<NumberStyle>> = const { RefCell::new(None) };
}

/// Run `print` with numbers set in `style` (none: fractions, as always).
pub fn with_style<T>(style: Option<&NumberStyle>, print: impl FnOnce() -> T) -> T {
    let before = STYLE.with(|s| s.replace(style.cloned()));
    let out = print();
    STYLE.with(|s| *s.borrow_mut() = before);
    out
}

/// The decimal digits of `|r|` (`0.134145`), if the style in force sets `r` as a decimal.
pub fn decimal(r: &Rat) -> Option<String> {
    if r.is_integer() {
        return None;
    }
    STYLE.with(|s| {
        let style = s.borrow();
        let style = style.as_ref()?;
        let places = (style.places * 2).max(style.places + EXTRA_PLACES);
        if style.fractions.iter().any(|f| f == r || *f == -r) {
            return None;
        }
        decimal_digits(r, places)
    })
}

/// `e` with each quotient by a whole number whose reciprocal the style sets as a decimal
/// written as that decimal times the dividend (`x/5` as `0.2*x` where the input writes
/// `0.1*x^2`), so that a result's numbers all read the same way; as it is without the style.
pub fn quotients_as_decimals(e: &Expr) -> Cow<'_, Expr> {
    fn as_decimal(e: &Expr) -> Option<Rat> {
        match e {
            Expr::Div(_, k) => {
                let k = k.as_num().filter(|k| k.is_integer() && !k.is_zero())?;
                let r = Rat::int(1) / k.clone();
                decimal(&r).map(|_| r)
            }
            _ => None,
        }
    }
    fn rewrite(e: &Expr) -> Expr {
        match (e, as_decimal(e)) {
            (Expr::Div(u, _), Some(r)) => Expr::Mul(vec![Expr::Num(r), rewrite(u)].into()),
            _ => e.map_children(rewrite),
        }
    }
    if STYLE.with(|s| s.borrow().is_none()) || !e.any(&mut |t| as_decimal(t).is_some()) {
        return Cow::Borrowed(e);
    }
    Cow::Owned(rewrite(e))
}

/// Whether `r` prints with no fraction bar: an integer, or a decimal.
pub fn whole(r: &Rat) -> bool {
    r.is_integer() || decimal(r).is_some()
}

/// `|r|` in decimal with at most `places` digits after the point, if it ends by then.
fn decimal_digits(r: &Rat, places: usize) -> Option<String> {
    let big = r.to_big();
    let (numer, denom) = (big.numer().abs(), big.denom().clone());
    let ten = BigInt::from(10);
    let mut scaled = numer;
    for k in 1..=places {
        scaled *= &ten;
        if (&scaled % &denom).is_zero() {
            let digits = (scaled / &denom).to_string();
            let digits = format!("{digits:0>width$}", width = k + 1);
            let (int, frac) = digits.split_at(digits.len() - k);
            return Some(format!("{int}.{frac}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::numbers::scan;

    fn rat(n: i64, d: i64) -> Rat {
        Rat::new(BigInt::from(n), BigInt::from(d))
    }

    #[test]
    fn decimals_print_as_written_and_their_multiples_too() {
        let style = scan("0.5*x*(1 + tanh(0.7978845608*(x + 0.044715*x^3)))");
        assert_eq!(style.as_ref().map(|s| s.places), Some(10));
        with_style(style.as_ref(), || {
            assert_eq!(decimal(&rat(8943, 200000)).as_deref(), Some("0.044715"));
            assert_eq!(decimal(&(rat(8943, 200000) * rat(3, 1))).as_deref(), Some("0.134145"));
            assert_eq!(decimal(&rat(997355701, 1250000000)).as_deref(), Some("0.7978845608"));
            assert_eq!(decimal(&rat(-1, 2)).as_deref(), Some("0.5"));
            // A third never ends.
            assert_eq!(decimal(&rat(1, 3)), None);
            assert!(whole(&rat(1, 2)) && !whole(&rat(1, 3)));
        });
        assert_eq!(decimal(&rat(1, 2)), None, "the style ends with its printing");
    }

    #[test]
    fn fractions_as_written_stay_fractions() {
        let style = scan("0.25*x + 1/2*y");
        with_style(style.as_ref(), || {
            assert_eq!(decimal(&rat(1, 2)), None);
            assert_eq!(decimal(&rat(1, 4)).as_deref(), Some("0.25"));
            assert_eq!(decimal(&rat(3, 4)).as_deref(), Some("0.75"));
        });
    }

    #[test]
    fn leading_zeros_after_the_point_are_kept() {
        with_style(scan("0.001*x").as_ref(), || {
            assert_eq!(decimal(&rat(1, 1000)).as_deref(), Some("0.001"));
            assert_eq!(decimal(&rat(3, 1000)).as_deref(), Some("0.003"));
            assert_eq!(decimal(&rat(1001, 1000)).as_deref(), Some("1.001"));
        });
    }
}
