//! Hyper-dual numbers `v + a·ε₁ + b·ε₂ + c·ε₁ε₂` (ε₁² = ε₂² = 0): a value, its
//! derivatives along two seeded variables, and the mixed second derivative, exactly (to
//! rounding) in one pass. They evaluate second derivatives `D(D(f, x), s)`, which
//! differencing can only approximate, and not at all across a nearby pole.

use super::eval::EvalError;
use super::funcs::{self, finite};
use super::number::{as_integer, not_real, powi_f64, Mode, Number, Seeds};
use super::point::Value;
use crate::expr::{Func, Rat};

/// A value with its first derivatives along ε₁ and ε₂ and its mixed derivative.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HyperDual {
    pub value: f64,
    pub first: f64,
    pub second: f64,
    pub mixed: f64,
}

impl HyperDual {
    fn constant(value: f64) -> HyperDual {
        HyperDual { value, first: 0.0, second: 0.0, mixed: 0.0 }
    }

    fn checked(self, what: &str) -> Result<HyperDual, EvalError> {
        Ok(HyperDual {
            value: finite(self.value, what)?,
            first: finite(self.first, what)?,
            second: finite(self.second, what)?,
            mixed: finite(self.mixed, what)?,
        })
    }

    /// `g(self)` for a function `g` with value `g0`, slope `g1` and curvature `g2` at
    /// `self.value`, each asked for only where a derivative needs it (they may not exist
    /// where nothing depends on the seeds: `sqrt` at 0). A zero part is never multiplied,
    /// so an infinite slope times a constant's zero derivative gives no NaN.
    fn chain(
        &self,
        g0: f64,
        g1: impl Fn() -> Result<f64, EvalError>,
        g2: impl Fn() -> Result<f64, EvalError>,
        what: &str,
    ) -> Result<HyperDual, EvalError> {
        let needs_slope = self.first != 0.0 || self.second != 0.0 || self.mixed != 0.0;
        let slope = if needs_slope { g1()? } else { 0.0 };
        let times_slope = |d: f64| if d == 0.0 { 0.0 } else { slope * d };
        let curvature_part = if self.first != 0.0 && self.second != 0.0 {
            g2()? * self.first * self.second
        } else {
            0.0
        };
        HyperDual {
            value: g0,
            first: times_slope(self.first),
            second: times_slope(self.second),
            mixed: times_slope(self.mixed) + curvature_part,
        }
        .checked(what)
    }
}

impl Number for HyperDual {
    const MODE: Mode = Mode::HyperDual;

    fn from_rat(r: &Rat) -> Result<HyperDual, EvalError> {
        Ok(HyperDual::constant(f64::from_rat(r)?))
    }

    fn from_int(v: i64) -> HyperDual {
        HyperDual::constant(v as f64)
    }

    fn from_value(v: &Value, seeds: Seeds) -> HyperDual {
        HyperDual::constant(v.float).held(seeds)
    }

    /// Held as a seeded variable: the value keeps what it depends on along the other seed
    /// (a defined name's definition), and moves by one along its own.
    fn held(&self, seeds: Seeds) -> HyperDual {
        let mut h = *self;
        if seeds.first {
            (h.first, h.mixed) = (1.0, 0.0);
        }
        if seeds.second {
            (h.second, h.mixed) = (1.0, 0.0);
        }
        h
    }

    fn from_derivative(_value: f64, _derivative: f64) -> Result<HyperDual, EvalError> {
        Err(EvalError::Unsupported(THIRD_DERIVATIVE.into()))
    }

    fn add(&self, o: &HyperDual) -> Result<HyperDual, EvalError> {
        HyperDual {
            value: self.value + o.value,
            first: self.first + o.first,
            second: self.second + o.second,
            mixed: self.mixed + o.mixed,
        }
        .checked("a sum")
    }

    fn mul(&self, o: &HyperDual) -> Result<HyperDual, EvalError> {
        HyperDual {
            value: self.value * o.value,
            first: self.first * o.value + self.value * o.first,
            second: self.second * o.value + self.value * o.second,
            mixed: self.mixed * o.value
                + self.first * o.second
                + self.second * o.first
                + self.value * o.mixed,
        }
        .checked("a product")
    }

    fn div(&self, o: &HyperDual) -> Result<HyperDual, EvalError> {
        if o.value == 0.0 {
            return Err(EvalError::DivisionByZero);
        }
        let r = 1.0 / o.value;
        let reciprocal = o.chain(r, || Ok(-r * r), || Ok(2.0 * r * r * r), "a quotient")?;
        self.mul(&reciprocal)
    }

    fn neg(&self) -> HyperDual {
        HyperDual {
            value: -self.value,
            first: -self.first,
            second: -self.second,
            mixed: -self.mixed,
        }
    }

    fn powi(&self, n: i64) -> Result<HyperDual, EvalError> {
        let v = self.value;
        let power = |k: i64, times: i64| -> Result<f64, EvalError> {
            Ok(if times == 0 { 0.0 } else { times as f64 * powi_f64(v, k)? })
        };
        self.chain(
            powi_f64(v, n)?,
            || power(n.saturating_sub(1), n),
            || power(n.saturating_sub(2), n.saturating_mul(n.saturating_sub(1))),
            "a power",
        )
    }

    fn pow(&self, e: &HyperDual) -> Result<HyperDual, EvalError> {
        let constant_exponent = e.first == 0.0 && e.second == 0.0 && e.mixed == 0.0;
        if constant_exponent {
            if let Some(n) = as_integer(e.value) {
                return self.powi(n);
            }
        }
        let (v, k) = (self.value, e.value);
        if v > 0.0 {
            // b^k = exp(k*log(b)).
            let log = self.chain(v.ln(), || Ok(1.0 / v), || Ok(-1.0 / (v * v)), "a power")?;
            let exponent = e.mul(&log)?;
            let p = v.powf(k);
            exponent.chain(p, || Ok(p), || Ok(p), "a power")
        } else if v == 0.0 && constant_exponent && k > 0.0 {
            let slope = || Ok(k * 0f64.powf(k - 1.0));
            self.chain(0.0, slope, || Ok(k * (k - 1.0) * 0f64.powf(k - 2.0)), "a power")
        } else {
            Err(not_real(v, k))
        }
    }

    fn apply(f: Func, x: &HyperDual) -> Result<HyperDual, EvalError> {
        let v = x.value;
        x.chain(
            funcs::apply(f, v)?,
            || funcs::derivative(f, v),
            || funcs::curvature(f, v),
            f.name(),
        )
    }
}

/// Why a derivative inside a second derivative is not evaluated by hyper-dual numbers:
/// the evaluator then differences the second derivative instead.
pub const THIRD_DERIVATIVE: &str = "a third derivative";

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(v: f64) -> HyperDual {
        HyperDual { value: v, first: 1.0, second: 1.0, mixed: 0.0 }
    }

    /// The mixed part of `g(x + ε₁ + ε₂)` is `g''(x)`: checked against closed forms.
    #[test]
    fn second_derivatives_of_powers_quotients_and_functions() {
        let x = 0.7;
        let cases: [(&str, HyperDual, f64); 5] = [
            ("x^5", seeded(x).powi(5).unwrap(), 20.0 * x.powi(3)),
            ("1/x", HyperDual::constant(1.0).div(&seeded(x)).unwrap(), 2.0 / x.powi(3)),
            (
                "x^x",
                seeded(x).pow(&seeded(x)).unwrap(),
                x.powf(x) * ((x.ln() + 1.0).powi(2) + 1.0 / x),
            ),
            ("tan(x)", HyperDual::apply(Func::Tan, &seeded(x)).unwrap(), {
                let t = x.tan();
                2.0 * t * (1.0 + t * t)
            }),
            (
                "x*sin(x)",
                seeded(x).mul(&HyperDual::apply(Func::Sin, &seeded(x)).unwrap()).unwrap(),
                { 2.0 * x.cos() - x * x.sin() },
            ),
        ];
        for (what, got, want) in cases {
            assert!(
                (got.mixed - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{what}: {got:?}, want {want}"
            );
        }
    }

    /// Mixed partials: ∂²(x*y)/∂x∂y = 1, and a constant (a zero slope times an infinite
    /// curvature) stays a constant.
    #[test]
    fn mixed_partials_and_constants() {
        let x = HyperDual { value: 2.0, first: 1.0, second: 0.0, mixed: 0.0 };
        let y = HyperDual { value: 3.0, first: 0.0, second: 1.0, mixed: 0.0 };
        assert_eq!(x.mul(&y).unwrap().mixed, 1.0);
        let zero = HyperDual::constant(0.0);
        assert_eq!(HyperDual::apply(Func::Sqrt, &zero).unwrap(), zero);
        assert!(HyperDual::apply(Func::Sqrt, &seeded(0.0)).is_err());
    }
}
