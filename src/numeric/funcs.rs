//! The elementary functions in f64: stable forms of sigmoid and softplus, derivatives,
//! and domain checks that turn "log of a negative number" into an error instead of NaN.

use super::eval::EvalError;
use crate::expr::Func;

/// `1/(1+exp(-x))` without overflow for large |x|.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `log(1+exp(x))` without overflow for large x or loss of precision for very negative x.
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The function's value with IEEE semantics (NaN or infinity outside the domain).
pub fn apply_ieee(f: Func, x: f64) -> f64 {
    match f {
        Func::Exp => x.exp(),
        Func::Log => x.ln(),
        Func::Sqrt => x.sqrt(),
        Func::Sin => x.sin(),
        Func::Cos => x.cos(),
        Func::Tan => x.tan(),
        Func::Tanh => x.tanh(),
        Func::Sigmoid => sigmoid(x),
        Func::Softplus => softplus(x),
    }
}

/// The function's value, or an error outside its domain or on overflow.
pub fn apply(f: Func, x: f64) -> Result<f64, EvalError> {
    match f {
        Func::Log if x <= 0.0 => {
            Err(EvalError::Domain(format!("log of the non-positive number {x}")))
        }
        Func::Sqrt if x < 0.0 => Err(EvalError::Domain(format!("sqrt of the negative number {x}"))),
        _ => finite(apply_ieee(f, x), f.name()),
    }
}

/// The derivative `f'(x)`, or an error where it does not exist.
pub fn derivative(f: Func, x: f64) -> Result<f64, EvalError> {
    let d = match f {
        Func::Exp => x.exp(),
        Func::Log => {
            if x <= 0.0 {
                return Err(EvalError::Domain(format!("log of the non-positive number {x}")));
            }
            1.0 / x
        }
        Func::Sqrt => {
            if x <= 0.0 {
                return Err(EvalError::Domain(format!("sqrt is not differentiable at {x}")));
            }
            0.5 / x.sqrt()
        }
        Func::Sin => x.cos(),
        Func::Cos => -x.sin(),
        Func::Tan => {
            let t = x.tan();
            1.0 + t * t
        }
        Func::Tanh => {
            let t = x.tanh();
            1.0 - t * t
        }
        Func::Sigmoid => {
            let s = sigmoid(x);
            s * (1.0 - s)
        }
        Func::Softplus => sigmoid(x),
    };
    finite(d, f.name())
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
    fn stable_forms_do_not_overflow() {
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(0.3) - 1.0 / (1.0 + (-0.3f64).exp())).abs() < 1e-15);
        assert_eq!(softplus(1000.0), 1000.0);
        assert!(softplus(-1000.0) >= 0.0 && softplus(-1000.0) < 1e-300);
        assert!((softplus(0.7) - (1.0 + 0.7f64.exp()).ln()).abs() < 1e-15);
    }

    #[test]
    fn domain_errors_instead_of_nan() {
        assert!(matches!(apply(Func::Log, 0.0), Err(EvalError::Domain(_))));
        assert!(matches!(apply(Func::Sqrt, -1.0), Err(EvalError::Domain(_))));
        assert!(matches!(apply(Func::Exp, 1000.0), Err(EvalError::Overflow(_))));
        assert_eq!(apply(Func::Sqrt, 0.0), Ok(0.0));
        assert!(derivative(Func::Sqrt, 0.0).is_err());
    }

    #[test]
    fn derivatives_match_central_differences() {
        let h = 1e-6;
        for f in Func::ALL {
            for x in [0.3, 0.9, 1.7] {
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
