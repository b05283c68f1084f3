//! The elementary functions in f64, from the function table (`crate::functions`), with
//! domain checks that turn "log of a negative number" into an error instead of NaN.

use super::eval::EvalError;
use crate::expr::Func;
use crate::functions::{spec, Domain};

/// The function's value with IEEE semantics (NaN or infinity outside the domain).
pub fn apply_ieee(f: Func, x: f64) -> f64 {
    (spec(f).value)(x)
}

/// The error for an argument outside the function's domain, if `x` is one.
fn outside(f: Func, x: f64, differentiated: bool) -> Result<(), EvalError> {
    let name = f.name();
    let message = match (spec(f).domain, differentiated) {
        (Domain::Positive, _) if x <= 0.0 => format!("{name} of the non-positive number {x}"),
        (Domain::NonNegative, false) if x < 0.0 => format!("{name} of the negative number {x}"),
        (Domain::NonNegative, true) if x <= 0.0 => format!("{name} is not differentiable at {x}"),
        (Domain::UnitInterval, false) if !(-1.0..=1.0).contains(&x) => {
            format!("{name} of {x}, outside [-1, 1]")
        }
        (Domain::UnitInterval, true) if !(-1.0 < x && x < 1.0) => {
            format!("{name} is not differentiable at {x}, outside (-1, 1)")
        }
        (Domain::Kinked, true) if x == 0.0 => format!("{name} is not differentiable at 0"),
        _ => return Ok(()),
    };
    Err(EvalError::Domain(message))
}

/// The function's value, or an error outside its domain or on overflow.
pub fn apply(f: Func, x: f64) -> Result<f64, EvalError> {
    outside(f, x, false)?;
    // The double nearest π stands for π (the term `pi`, never a sampled value): sin(π) and
    // cos(π/2) are 0, not 1.2e-16 and 6.1e-17, which no tolerance relative to 0 accepts.
    let pi = std::f64::consts::PI;
    match f {
        Func::Sin if x.abs() == pi => return Ok(0.0),
        Func::Cos if x.abs() == pi / 2.0 => return Ok(0.0),
        _ => {}
    }
    finite(apply_ieee(f, x), f.name())
}

/// The derivative `f'(x)`, or an error where it does not exist.
pub fn derivative(f: Func, x: f64) -> Result<f64, EvalError> {
    outside(f, x, true)?;
    finite((spec(f).slope)(x), f.name())
}

/// The second derivative `f''(x)`, or an error where the derivative does not exist.
pub fn curvature(f: Func, x: f64) -> Result<f64, EvalError> {
    outside(f, x, true)?;
    finite((spec(f).curvature)(x), f.name())
}

/// `Ok(v)` when `v` is finite, else an overflow error naming what overflowed.
pub fn finite(v: f64, what: &str) -> Result<f64, EvalError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(EvalError::Overflow(what.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_instead_of_nan() {
        assert!(matches!(apply(Func::Log, 0.0), Err(EvalError::Domain(_))));
        assert!(matches!(apply(Func::Sqrt, -1.0), Err(EvalError::Domain(_))));
        assert!(matches!(apply(Func::Exp, 1000.0), Err(EvalError::Overflow(_))));
        assert_eq!(apply(Func::Sqrt, 0.0), Ok(0.0));
        assert!(derivative(Func::Sqrt, 0.0).is_err());
    }

    #[test]
    fn curvatures_match_central_differences_of_slopes() {
        let h = 1e-6;
        for f in Func::ALL {
            for x in [-1.3, -0.4, 0.3, 0.9, 1.7] {
                let Ok(c) = curvature(f, x) else { continue };
                let slope = spec(f).slope;
                let fd = (slope(x + h) - slope(x - h)) / (2.0 * h);
                assert!(
                    (fd - c).abs() <= 1e-6 * (1.0 + c.abs()),
                    "{} at {x}: {c} vs {fd}",
                    f.name()
                );
            }
        }
    }

    #[test]
    fn derivatives_match_central_differences() {
        let h = 1e-6;
        for f in Func::ALL {
            for x in [0.3, 0.9, 1.7] {
                if crate::functions::spec(f).domain == Domain::UnitInterval && x >= 1.0 {
                    assert!(derivative(f, x).is_err(), "{} at {x}", f.name());
                    continue;
                }
                let fd = (apply_ieee(f, x + h) - apply_ieee(f, x - h)) / (2.0 * h);
                let d = derivative(f, x).unwrap();
                assert!(
                    (fd - d).abs() <= 1e-6 * (1.0 + d.abs()),
                    "{} at {x}: {d} vs {fd}",
                    f.name()
                );
            }
        }
    }
}
