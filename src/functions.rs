//! The function table: everything the program knows of each elementary function, one entry
//! per function, outside the trusted base.
//!
//! A function's identity (its `Func` variant and name) is in `src/expr`; its sign facts,
//! which the kernel's condition checker reads, are in `src/kernel/table.rs` next to its
//! derivative rule. Everything else is here: the rule the engine differentiates a call
//! with, where the function is defined (which is also where its tests sample), its f64
//! value, derivative and second derivative (the dual numbers use them), its notation in
//! LaTeX, MathML and Unicode, and its Rust. `FUNCTIONS` has one entry per `Func`, in
//! order, so a function without an entry does not compile. Adding a function:
//! ARCHITECTURE.md.
//!
//! No function here has an exact value the exact evaluator could use: it evaluates only
//! terms without calls (`numeric::is_rational`), and these functions are irrational at
//! rational points other than a few constants, which the engine's identities handle.

use crate::expr::{Expr, Func};
use crate::rules::RuleId;
use std::sync::Arc;

/// One function's entry.
pub struct FuncSpec {
    pub func: Func,
    /// The rule that rewrites `D(f(U), X)`.
    pub derivative: RuleId,
    pub domain: Domain,
    /// The value in f64, with IEEE semantics outside the domain (NaN or infinity).
    pub value: fn(f64) -> f64,
    /// The derivative `f'(x)` in f64, inside the domain.
    pub slope: fn(f64) -> f64,
    /// The second derivative `f''(x)` in f64, inside the domain (hyper-dual numbers use it).
    pub curvature: fn(f64) -> f64,
    /// A bound on `|f'(u)|` as a term, given `u` and `e = f(u)`, for the numeric checker's
    /// sense of scale: the exact slope where the function is flat where it is small
    /// (`sigmoid(-27)` and its slope are both 2e-12), else any moderate bound.
    pub scale: fn(&Expr, &Expr) -> Expr,
    /// LaTeX, MathML (the content of `<mi>`) and Unicode names; `exp` and `sqrt` also have
    /// notations of their own (`e^{x}`, radicals), which the printers choose.
    pub latex: &'static str,
    pub mathml: &'static str,
    pub unicode: &'static str,
    pub rust: Rust,
}

/// Where a function is defined, as the evaluators check it. Tests sample arguments there:
/// a positive term for `Positive` and `NonNegative`, any term otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Every real number.
    Reals,
    /// Positive numbers.
    Positive,
    /// Numbers `x ≥ 0`, differentiable for `x > 0`.
    NonNegative,
    /// Every real number but isolated poles, where values are only huge, not errors;
    /// random terms that want moderate values leave such a function out.
    BetweenPoles,
    /// Numbers `-1 ≤ x ≤ 1`, differentiable for `-1 < x < 1` (`asin`, `acos`; π is `acos(-1)`).
    UnitInterval,
    /// Every real number, differentiable but at 0 (`abs`, `relu`: a kink; `step`: a jump).
    Kinked,
}

/// How emitted Rust computes a call.
pub enum Rust {
    /// `x.name()`.
    Method(&'static str),
    /// `name(x)`, with the helper's source written once per file that uses it.
    Helper { name: &'static str, source: &'static str },
}

/// Every function's entry, in the order of `Func::ALL`.
pub static FUNCTIONS: [FuncSpec; Func::ALL.len()] = [
    FuncSpec {
        func: Func::Exp,
        derivative: RuleId::DerivativeOfExp,
        domain: Domain::Reals,
        value: f64::exp,
        slope: f64::exp,
        curvature: f64::exp,
        scale: |_, e| e.clone(),
        latex: "\\exp",
        mathml: "exp",
        unicode: "exp",
        rust: Rust::Method("exp"),
    },
    FuncSpec {
        func: Func::Log,
        derivative: RuleId::DerivativeOfLog,
        domain: Domain::Positive,
        value: f64::ln,
        slope: |x| 1.0 / x,
        curvature: |x| -1.0 / (x * x),
        scale: |u, _| Expr::div(Expr::int(1), u.clone()),
        latex: "\\log",
        mathml: "log",
        unicode: "log",
        rust: Rust::Method("ln"),
    },
    FuncSpec {
        func: Func::Sqrt,
        derivative: RuleId::DerivativeOfSqrt,
        domain: Domain::NonNegative,
        value: f64::sqrt,
        slope: |x| 0.5 / x.sqrt(),
        curvature: |x| -0.25 / (x * x.sqrt()),
        scale: |_, e| Expr::div(Expr::int(1), Expr::Mul(vec![Expr::int(2), e.clone()].into())),
        latex: "\\sqrt",
        mathml: "sqrt",
        unicode: "√",
        rust: Rust::Method("sqrt"),
    },
    FuncSpec {
        func: Func::Sin,
        derivative: RuleId::DerivativeOfSin,
        domain: Domain::Reals,
        value: f64::sin,
        slope: f64::cos,
        curvature: |x| -x.sin(),
        // |sin'| ≤ 1, and where sin(u) is small its slope is near 1 anyway.
        scale: |_, _| Expr::int(1),
        latex: "\\sin",
        mathml: "sin",
        unicode: "sin",
        rust: Rust::Method("sin"),
    },
    FuncSpec {
        func: Func::Cos,
        derivative: RuleId::DerivativeOfCos,
        domain: Domain::Reals,
        value: f64::cos,
        slope: |x| -x.sin(),
        curvature: |x| -x.cos(),
        scale: |_, _| Expr::int(1),
        latex: "\\cos",
        mathml: "cos",
        unicode: "cos",
        rust: Rust::Method("cos"),
    },
    FuncSpec {
        func: Func::Tan,
        derivative: RuleId::DerivativeOfTan,
        domain: Domain::BetweenPoles,
        value: f64::tan,
        slope: |x| 1.0 + x.tan() * x.tan(),
        curvature: |x| 2.0 * x.tan() * (1.0 + x.tan() * x.tan()),
        scale: |_, e| one_plus(square(e)),
        latex: "\\tan",
        mathml: "tan",
        unicode: "tan",
        rust: Rust::Method("tan"),
    },
    FuncSpec {
        func: Func::Tanh,
        derivative: RuleId::DerivativeOfTanh,
        domain: Domain::Reals,
        value: f64::tanh,
        slope: |x| 1.0 - x.tanh() * x.tanh(),
        curvature: |x| -2.0 * x.tanh() * (1.0 - x.tanh() * x.tanh()),
        scale: |_, e| one_minus(square(e)),
        latex: "\\tanh",
        mathml: "tanh",
        unicode: "tanh",
        rust: Rust::Method("tanh"),
    },
    FuncSpec {
        func: Func::Sigmoid,
        derivative: RuleId::DerivativeOfSigmoid,
        domain: Domain::Reals,
        value: sigmoid,
        slope: |x| sigmoid(x) * (1.0 - sigmoid(x)),
        curvature: |x| sigmoid(x) * (1.0 - sigmoid(x)) * (1.0 - 2.0 * sigmoid(x)),
        scale: |_, e| Expr::Mul(vec![e.clone(), one_minus(e.clone())].into()),
        latex: "\\sigma",
        mathml: "\u{3c3}",
        unicode: "σ",
        rust: Rust::Helper {
            name: "stable_sigmoid",
            source: "/// `1/(1+exp(-x))` without overflow.\nfn stable_sigmoid(x: f64) -> f64 {\n    if x >= 0.0 {\n        1.0 / (1.0 + (-x).exp())\n    } else {\n        let e = x.exp();\n        e / (1.0 + e)\n    }\n}\n",
        },
    },
    FuncSpec {
        func: Func::Softplus,
        derivative: RuleId::DerivativeOfSoftplus,
        domain: Domain::Reals,
        value: softplus,
        slope: sigmoid,
        curvature: |x| sigmoid(x) * (1.0 - sigmoid(x)),
        scale: |u, _| Expr::call(Func::Sigmoid, u.clone()),
        latex: "\\operatorname{softplus}",
        mathml: "softplus",
        unicode: "softplus",
        rust: Rust::Helper {
            name: "stable_softplus",
            source: "/// `log(1+exp(x))` without overflow.\nfn stable_softplus(x: f64) -> f64 {\n    x.max(0.0) + (-x.abs()).exp().ln_1p()\n}\n",
        },
    },
    FuncSpec {
        func: Func::Atan,
        derivative: RuleId::DerivativeOfAtan,
        domain: Domain::Reals,
        value: f64::atan,
        slope: |x| 1.0 / (1.0 + x * x),
        curvature: |x| -2.0 * x / ((1.0 + x * x) * (1.0 + x * x)),
        // |atan'| ≤ 1, and near 1 where atan(u) is small.
        scale: |_, _| Expr::int(1),
        latex: "\\arctan",
        mathml: "arctan",
        unicode: "arctan",
        rust: Rust::Method("atan"),
    },
    FuncSpec {
        func: Func::Asin,
        derivative: RuleId::DerivativeOfAsin,
        domain: Domain::UnitInterval,
        value: f64::asin,
        slope: |x| 1.0 / (1.0 - x * x).sqrt(),
        curvature: |x| x / (1.0 - x * x).powf(1.5),
        scale: |u, _| Expr::div(Expr::int(1), sqrt_one_minus_square(u)),
        latex: "\\arcsin",
        mathml: "arcsin",
        unicode: "arcsin",
        rust: Rust::Method("asin"),
    },
    FuncSpec {
        func: Func::Acos,
        derivative: RuleId::DerivativeOfAcos,
        domain: Domain::UnitInterval,
        value: f64::acos,
        slope: |x| -1.0 / (1.0 - x * x).sqrt(),
        curvature: |x| -x / (1.0 - x * x).powf(1.5),
        scale: |u, _| Expr::div(Expr::int(1), sqrt_one_minus_square(u)),
        latex: "\\arccos",
        mathml: "arccos",
        unicode: "arccos",
        rust: Rust::Method("acos"),
    },
    FuncSpec {
        func: Func::Sinh,
        derivative: RuleId::DerivativeOfSinh,
        domain: Domain::Reals,
        value: f64::sinh,
        slope: f64::cosh,
        curvature: f64::sinh,
        scale: |u, _| Expr::call(Func::Cosh, u.clone()),
        latex: "\\sinh",
        mathml: "sinh",
        unicode: "sinh",
        rust: Rust::Method("sinh"),
    },
    FuncSpec {
        func: Func::Cosh,
        derivative: RuleId::DerivativeOfCosh,
        domain: Domain::Reals,
        value: f64::cosh,
        slope: f64::sinh,
        curvature: f64::cosh,
        // |sinh| ≤ cosh.
        scale: |_, e| e.clone(),
        latex: "\\cosh",
        mathml: "cosh",
        unicode: "cosh",
        rust: Rust::Method("cosh"),
    },
    FuncSpec {
        func: Func::Asinh,
        derivative: RuleId::DerivativeOfAsinh,
        domain: Domain::Reals,
        value: f64::asinh,
        slope: |x| 1.0 / (1.0 + x * x).sqrt(),
        curvature: |x| -x / (1.0 + x * x).powf(1.5),
        scale: |_, _| Expr::int(1),
        latex: "\\operatorname{arsinh}",
        mathml: "arsinh",
        unicode: "arsinh",
        rust: Rust::Method("asinh"),
    },
    FuncSpec {
        func: Func::Abs,
        derivative: RuleId::DerivativeOfAbs,
        domain: Domain::Kinked,
        value: f64::abs,
        slope: |x| x.signum(),
        curvature: |_| 0.0,
        scale: |_, _| Expr::int(1),
        // The printers write |x|; these names are for captions that name the function.
        latex: "\\operatorname{abs}",
        mathml: "abs",
        unicode: "abs",
        rust: Rust::Method("abs"),
    },
    FuncSpec {
        func: Func::Relu,
        derivative: RuleId::DerivativeOfRelu,
        domain: Domain::Kinked,
        value: |x| x.max(0.0),
        slope: step,
        curvature: |_| 0.0,
        scale: |_, _| Expr::int(1),
        latex: "\\operatorname{relu}",
        mathml: "relu",
        unicode: "relu",
        rust: Rust::Helper {
            name: "relu",
            source: "/// `max(x, 0)`.\nfn relu(x: f64) -> f64 {\n    x.max(0.0)\n}\n",
        },
    },
    FuncSpec {
        func: Func::Step,
        derivative: RuleId::DerivativeOfStep,
        domain: Domain::Kinked,
        value: step,
        slope: |_| 0.0,
        curvature: |_| 0.0,
        scale: |_, _| Expr::int(1),
        latex: "\\operatorname{step}",
        mathml: "step",
        unicode: "step",
        rust: Rust::Helper {
            name: "step",
            source: "/// The Heaviside step: 1 for `x > 0`, else 0.\nfn step(x: f64) -> f64 {\n    if x > 0.0 {\n        1.0\n    } else {\n        0.0\n    }\n}\n",
        },
    },
    FuncSpec {
        func: Func::Erf,
        derivative: RuleId::DerivativeOfErf,
        domain: Domain::Reals,
        value: libm::erf,
        slope: |x| std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
        curvature: |x| -2.0 * x * std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
        // erf' ≤ 2/√π < 2.
        scale: |_, _| Expr::int(2),
        latex: "\\operatorname{erf}",
        mathml: "erf",
        unicode: "erf",
        rust: Rust::Helper { name: "erf", source: ERF_SOURCE },
    },
];

/// `erf` for emitted Rust, which has no library to call: a series of positive terms
/// below 3, the continued fraction of `erfc` above (both within a few ulps of libm).
const ERF_SOURCE: &str =
    "/// The error function: a series of positive terms for |x| < 3, the continued
/// fraction of erfc beyond.
fn erf(x: f64) -> f64 {
    let a = x.abs();
    let r = if a < 3.0 {
        // erf(a) = 2/sqrt(pi) exp(-a^2) sum_n (2a^2)^n a / (1*3*...*(2n+1))
        let (mut term, mut sum, mut n) = (a, a, 0.0);
        while term > 1e-17 * sum {
            n += 1.0;
            term *= 2.0 * a * a / (2.0 * n + 1.0);
            sum += term;
        }
        std::f64::consts::FRAC_2_SQRT_PI * (-a * a).exp() * sum
    } else {
        // erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))
        let mut f = a;
        for k in (1..60).rev() {
            f = a + 0.5 * k as f64 / f;
        }
        1.0 - std::f64::consts::FRAC_2_SQRT_PI * 0.5 * (-a * a).exp() / f
    };
    r.copysign(x)
}
";

/// π, as a term: `acos(-1)`. The input's `pi` reads as this, the printers write it `π`, and
/// the kernel knows its sign from `acos`'s facts, so π needs no trusted code of its own.
pub fn pi() -> Expr {
    Expr::call(Func::Acos, Expr::int(-1))
}

/// Whether `e` is π.
pub fn is_pi(e: &Expr) -> bool {
    matches!(e, Expr::Call(Func::Acos, a) if a.as_num().is_some_and(|r| *r == crate::expr::Rat::int(-1)))
}

/// The entry of `f`.
pub fn spec(f: Func) -> &'static FuncSpec {
    &FUNCTIONS[f as usize]
}

/// The functions defined on `domain`, in table order.
pub fn on(domain: Domain) -> Vec<Func> {
    FUNCTIONS.iter().filter(|s| s.domain == domain).map(|s| s.func).collect()
}

/// The Heaviside step: 1 for `x > 0`, else 0 (also at 0, where `relu`'s slope is undefined).
pub fn step(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else {
        0.0
    }
}

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

fn square(t: &Expr) -> Expr {
    Expr::pow(t.clone(), Expr::int(2))
}

fn sqrt_one_minus_square(u: &Expr) -> Expr {
    Expr::call(Func::Sqrt, one_minus(square(u)))
}

fn one_plus(t: Expr) -> Expr {
    Expr::Add(vec![Expr::int(1), t].into())
}

fn one_minus(t: Expr) -> Expr {
    Expr::Add(vec![Expr::int(1), Expr::Neg(Arc::new(t))].into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleBody;

    /// The table is in `Func::ALL`'s order, so `spec` finds each function's own entry.
    #[test]
    fn entries_are_in_order() {
        for (f, s) in Func::ALL.iter().zip(&FUNCTIONS) {
            assert_eq!(*f, s.func);
        }
    }

    /// Each entry's rule differentiates a call of that very function.
    #[test]
    fn derivative_rules_differentiate_their_function() {
        for s in &FUNCTIONS {
            let Some(RuleBody::Rewrite { lhs: Expr::D(call, _), .. }) = s.derivative.rule() else {
                panic!("{}: {} is not a derivative rule", s.func.name(), s.derivative.name());
            };
            assert!(matches!(&**call, Expr::Call(f, _) if *f == s.func), "{}", s.func.name());
        }
    }

    #[test]
    fn stable_forms_do_not_overflow() {
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(0.3) - 1.0 / (1.0 + (-0.3f64).exp())).abs() < 1e-15);
        assert_eq!(softplus(1000.0), 1000.0);
        assert!(softplus(-1000.0) >= 0.0 && softplus(-1000.0) < 1e-300);
        assert!((softplus(0.7) - (1.0 + 0.7f64.exp()).ln()).abs() < 1e-15);
    }

    /// Each slope is the derivative of its value, inside the domain.
    #[test]
    fn slopes_match_central_differences() {
        let h = 1e-6;
        for s in &FUNCTIONS {
            for x in [0.3f64, 0.9, 1.7, -0.4, -1.3] {
                if x <= 0.0 && matches!(s.domain, Domain::Positive | Domain::NonNegative)
                    || x.abs() >= 1.0 && s.domain == Domain::UnitInterval
                {
                    continue;
                }
                let fd = ((s.value)(x + h) - (s.value)(x - h)) / (2.0 * h);
                let d = (s.slope)(x);
                assert!(
                    (fd - d).abs() <= 1e-6 * (1.0 + d.abs()),
                    "{} at {x}: {d} vs {fd}",
                    s.func.name()
                );
            }
        }
    }
}
