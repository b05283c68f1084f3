//! The rule table: every rule deriv may use, as data.
//!
//! Pattern language (parsed with the ordinary expression parser):
//! - a single upper-case letter (`U`, `V`, `C`, `X`) is a term metavariable; `X` and `Y`
//!   only match variables (a symbol or an indexed symbol);
//! - index names (`k`, `j`) are index metavariables;
//! - `sum_{k=A}^{B}(…)` binds `k`, with `A` and `B` range metavariables.
//!
//! Builtin rules are schemes over arity or over the context (definitions, hypotheses)
//! that the kernel applies itself; their `lhs`/`rhs` are documentation only.

use super::{Builtin, RuleSpec, Shape};

const fn rw(lhs: &'static str, rhs: &'static str, when: &'static [&'static str]) -> Shape {
    Shape::Rewrite { lhs, rhs, when }
}

const fn builtin(b: Builtin, lhs: &'static str, rhs: &'static str) -> Shape {
    Shape::Builtin {
        builtin: b,
        lhs,
        rhs,
    }
}

pub static RULES: &[RuleSpec] = &[
    // ---------------------------------------------------------------- decision procedures
    RuleSpec {
        name: "ring-normalize",
        shape: builtin(Builtin::Ring, "E", "E'  (equal as rational functions)"),
        caption: "simplify",
        latex: r"E = E' \text{ by commutative ring arithmetic}",
    },
    RuleSpec {
        name: "rename-bound-index",
        shape: builtin(Builtin::Rename, "sum_k(F)", "sum_m(F[k:=m])"),
        caption: "rename the summation index",
        latex: r"\sum_{k} F(k) = \sum_{m} F(m)",
    },
    // ---------------------------------------------------------------- differentiation
    RuleSpec {
        name: "derivative-of-variable",
        shape: builtin(
            Builtin::DerivativeOfVariable,
            "D(x_{i..}, x_{p..})",
            "delta(i,p)*…",
        ),
        caption: "the derivative of a variable",
        latex: r"\frac{\partial x_i}{\partial x_j} = \delta_{ij},\quad \frac{\partial W_{ik}}{\partial W_{pq}} = \delta_{ip}\delta_{kq},\quad \frac{\partial y}{\partial x} = 0",
    },
    RuleSpec {
        name: "derivative-of-constant",
        shape: rw("D(C, X)", "0", &["free-of(X, C)"]),
        caption: "the derivative of a constant is zero",
        latex: r"\frac{\partial c}{\partial x} = 0",
    },
    RuleSpec {
        name: "sum-rule",
        shape: builtin(
            Builtin::SumRule,
            "D(U1 + … + Um, X)",
            "D(U1, X) + … + D(Um, X)",
        ),
        caption: "the sum rule",
        latex: r"\frac{\partial}{\partial x}(u + v) = \frac{\partial u}{\partial x} + \frac{\partial v}{\partial x}",
    },
    RuleSpec {
        name: "product-rule",
        shape: builtin(
            Builtin::ProductRule,
            "D(U1*…*Um, X)",
            "D(U1, X)*U2*…*Um + … + U1*…*D(Um, X)",
        ),
        caption: "the product rule",
        latex: r"\frac{\partial}{\partial x}(uv) = \frac{\partial u}{\partial x}v + u\frac{\partial v}{\partial x}",
    },
    RuleSpec {
        name: "constant-factor",
        shape: rw("D(C*U, X)", "C*D(U, X)", &["free-of(X, C)"]),
        caption: "a constant factor comes out of the derivative",
        latex: r"\frac{\partial}{\partial x}(cu) = c\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "constant-factor-right",
        shape: rw("D(U*C, X)", "D(U, X)*C", &["free-of(X, C)"]),
        caption: "a constant factor comes out of the derivative",
        latex: r"\frac{\partial}{\partial x}(uc) = \frac{\partial u}{\partial x}c",
    },
    RuleSpec {
        name: "constant-divisor",
        shape: rw("D(U/C, X)", "D(U, X)/C", &["free-of(X, C)", "nonzero(C)"]),
        caption: "a constant divisor comes out of the derivative",
        latex: r"\frac{\partial}{\partial x}\frac{u}{c} = \frac{1}{c}\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "negation-rule",
        shape: rw("D(-U, X)", "-D(U, X)", &[]),
        caption: "the derivative of a negation",
        latex: r"\frac{\partial}{\partial x}(-u) = -\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "quotient-rule",
        shape: rw("D(U/V, X)", "(D(U, X)*V - U*D(V, X))/V^2", &["nonzero(V)"]),
        caption: "the quotient rule",
        latex: r"\frac{\partial}{\partial x}\frac{u}{v} = \frac{\frac{\partial u}{\partial x}v - u\frac{\partial v}{\partial x}}{v^2}",
    },
    RuleSpec {
        name: "power-rule",
        shape: rw("D(U^N, X)", "N*U^(N - 1)*D(U, X)", &["natural(N)"]),
        caption: "the power rule",
        latex: r"\frac{\partial}{\partial x}u^n = n u^{n-1}\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "power-rule-integer",
        shape: rw(
            "D(U^N, X)",
            "N*U^(N - 1)*D(U, X)",
            &["integer(N)", "nonzero(U)"],
        ),
        caption: "the power rule",
        latex: r"\frac{\partial}{\partial x}u^n = n u^{n-1}\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "power-rule-real",
        shape: rw(
            "D(U^C, X)",
            "C*U^(C - 1)*D(U, X)",
            &["free-of(X, C)", "positive(U)"],
        ),
        caption: "the power rule",
        latex: r"\frac{\partial}{\partial x}u^c = c u^{c-1}\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-exp",
        shape: rw("D(exp(U), X)", "exp(U)*D(U, X)", &[]),
        caption: "the derivative of the exponential",
        latex: r"\frac{\partial}{\partial x}e^{u} = e^{u}\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-log",
        shape: rw("D(log(U), X)", "D(U, X)/U", &["positive(U)"]),
        caption: "the derivative of the logarithm",
        latex: r"\frac{\partial}{\partial x}\log u = \frac{1}{u}\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-sqrt",
        shape: rw("D(sqrt(U), X)", "D(U, X)/(2*sqrt(U))", &["positive(U)"]),
        caption: "the derivative of the square root",
        latex: r"\frac{\partial}{\partial x}\sqrt{u} = \frac{1}{2\sqrt{u}}\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-sin",
        shape: rw("D(sin(U), X)", "cos(U)*D(U, X)", &[]),
        caption: "the derivative of the sine",
        latex: r"\frac{\partial}{\partial x}\sin u = \cos u\,\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-cos",
        shape: rw("D(cos(U), X)", "-sin(U)*D(U, X)", &[]),
        caption: "the derivative of the cosine",
        latex: r"\frac{\partial}{\partial x}\cos u = -\sin u\,\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-tan",
        shape: rw(
            "D(tan(U), X)",
            "(1 + tan(U)^2)*D(U, X)",
            &["nonzero(cos(U))"],
        ),
        caption: "the derivative of the tangent",
        latex: r"\frac{\partial}{\partial x}\tan u = (1 + \tan^2 u)\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-tanh",
        shape: rw("D(tanh(U), X)", "(1 - tanh(U)^2)*D(U, X)", &[]),
        caption: "the derivative of tanh",
        latex: r"\frac{\partial}{\partial x}\tanh u = (1 - \tanh^2 u)\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-sigmoid",
        shape: rw(
            "D(sigmoid(U), X)",
            "sigmoid(U)*(1 - sigmoid(U))*D(U, X)",
            &[],
        ),
        caption: "the derivative of the sigmoid",
        latex: r"\frac{\partial}{\partial x}\sigma(u) = \sigma(u)(1 - \sigma(u))\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "derivative-of-softplus",
        shape: rw("D(softplus(U), X)", "sigmoid(U)*D(U, X)", &[]),
        caption: "the derivative of softplus is the sigmoid",
        latex: r"\frac{\partial}{\partial x}\operatorname{softplus}(u) = \sigma(u)\frac{\partial u}{\partial x}",
    },
    RuleSpec {
        name: "power-as-exp",
        shape: rw("U^V", "exp(V*log(U))", &["positive(U)"]),
        caption: "write the power with the exponential",
        latex: r"u^{v} = e^{v\log u}",
    },
    RuleSpec {
        name: "derivative-into-sum",
        shape: rw(
            "D(sum_{k=A}^{B}(U), X)",
            "sum_{k=A}^{B}(D(U, X))",
            &["index-free(k, X)", "free-of(X, A)", "free-of(X, B)"],
        ),
        caption: "differentiate the sum term by term",
        latex: r"\frac{\partial}{\partial x}\sum_{k} u_k = \sum_{k}\frac{\partial u_k}{\partial x}",
    },
    // ---------------------------------------------------------------- algebra
    RuleSpec {
        name: "log-of-exp",
        shape: rw("log(exp(U))", "U", &[]),
        caption: "the logarithm undoes the exponential",
        latex: r"\log e^{u} = u",
    },
    RuleSpec {
        name: "exp-of-log",
        shape: rw("exp(log(U))", "U", &["positive(U)"]),
        caption: "the exponential undoes the logarithm",
        latex: r"e^{\log u} = u",
    },
    RuleSpec {
        name: "log-of-product",
        shape: rw(
            "log(U*V)",
            "log(U) + log(V)",
            &["positive(U)", "positive(V)"],
        ),
        caption: "the logarithm of a product",
        latex: r"\log(uv) = \log u + \log v",
    },
    RuleSpec {
        name: "log-of-quotient",
        shape: rw(
            "log(U/V)",
            "log(U) - log(V)",
            &["positive(U)", "positive(V)"],
        ),
        caption: "the logarithm of a quotient",
        latex: r"\log\frac{u}{v} = \log u - \log v",
    },
    RuleSpec {
        name: "log-of-power",
        shape: rw("log(U^C)", "C*log(U)", &["positive(U)"]),
        caption: "the logarithm of a power",
        latex: r"\log u^{c} = c\log u",
    },
    RuleSpec {
        name: "exp-of-sum",
        shape: rw("exp(U + V)", "exp(U)*exp(V)", &[]),
        caption: "the exponential of a sum",
        latex: r"e^{u+v} = e^{u}e^{v}",
    },
    RuleSpec {
        name: "exp-of-negation",
        shape: rw("exp(-U)", "1/exp(U)", &[]),
        caption: "the exponential of a negation",
        latex: r"e^{-u} = \frac{1}{e^{u}}",
    },
    RuleSpec {
        name: "exp-of-multiple",
        shape: rw("exp(N*U)", "exp(U)^N", &["integer(N)"]),
        caption: "the exponential of a multiple",
        latex: r"e^{nu} = \left(e^{u}\right)^{n}",
    },
    RuleSpec {
        name: "pythagorean-identity",
        shape: rw("sin(U)^2 + cos(U)^2", "1", &[]),
        caption: "sin² + cos² = 1",
        latex: r"\sin^2 u + \cos^2 u = 1",
    },
    RuleSpec {
        name: "tan-as-quotient",
        shape: rw("tan(U)", "sin(U)/cos(U)", &["nonzero(cos(U))"]),
        caption: "the tangent is sine over cosine",
        latex: r"\tan u = \frac{\sin u}{\cos u}",
    },
    RuleSpec {
        name: "sin-double-angle",
        shape: rw("sin(2*U)", "2*sin(U)*cos(U)", &[]),
        caption: "the double-angle formula for the sine",
        latex: r"\sin 2u = 2\sin u\cos u",
    },
    RuleSpec {
        name: "cos-double-angle",
        shape: rw("cos(2*U)", "cos(U)^2 - sin(U)^2", &[]),
        caption: "the double-angle formula for the cosine",
        latex: r"\cos 2u = \cos^2 u - \sin^2 u",
    },
    RuleSpec {
        name: "sin-of-negation",
        shape: rw("sin(-U)", "-sin(U)", &[]),
        caption: "the sine is odd",
        latex: r"\sin(-u) = -\sin u",
    },
    RuleSpec {
        name: "cos-of-negation",
        shape: rw("cos(-U)", "cos(U)", &[]),
        caption: "the cosine is even",
        latex: r"\cos(-u) = \cos u",
    },
    RuleSpec {
        name: "tan-of-negation",
        shape: rw("tan(-U)", "-tan(U)", &[]),
        caption: "the tangent is odd",
        latex: r"\tan(-u) = -\tan u",
    },
    RuleSpec {
        name: "tanh-of-negation",
        shape: rw("tanh(-U)", "-tanh(U)", &[]),
        caption: "tanh is odd",
        latex: r"\tanh(-u) = -\tanh u",
    },
    RuleSpec {
        name: "softplus-of-negation",
        shape: rw("softplus(-U)", "softplus(U) - U", &[]),
        caption: "softplus(−u) = softplus(u) − u",
        latex: r"\operatorname{softplus}(-u) = \operatorname{softplus}(u) - u",
    },
    // Values at 0 and 1: constants the input spells as calls.
    RuleSpec {
        name: "exp-of-zero",
        shape: rw("exp(0)", "1", &[]),
        caption: "e⁰ = 1",
        latex: r"e^{0} = 1",
    },
    RuleSpec {
        name: "log-of-one",
        shape: rw("log(1)", "0", &[]),
        caption: "log 1 = 0",
        latex: r"\log 1 = 0",
    },
    RuleSpec {
        name: "one-to-a-power",
        shape: rw("1^U", "1", &[]),
        caption: "a power of 1 is 1",
        latex: r"1^{u} = 1",
    },
    RuleSpec {
        name: "sin-of-zero",
        shape: rw("sin(0)", "0", &[]),
        caption: "sin 0 = 0",
        latex: r"\sin 0 = 0",
    },
    RuleSpec {
        name: "cos-of-zero",
        shape: rw("cos(0)", "1", &[]),
        caption: "cos 0 = 1",
        latex: r"\cos 0 = 1",
    },
    RuleSpec {
        name: "tan-of-zero",
        shape: rw("tan(0)", "0", &[]),
        caption: "tan 0 = 0",
        latex: r"\tan 0 = 0",
    },
    RuleSpec {
        name: "tanh-of-zero",
        shape: rw("tanh(0)", "0", &[]),
        caption: "tanh 0 = 0",
        latex: r"\tanh 0 = 0",
    },
    RuleSpec {
        name: "sigmoid-of-zero",
        shape: rw("sigmoid(0)", "1/2", &[]),
        caption: "σ(0) = 1/2",
        latex: r"\sigma(0) = \frac{1}{2}",
    },
    RuleSpec {
        name: "sigmoid-definition",
        shape: rw("sigmoid(U)", "1/(1 + exp(-U))", &[]),
        caption: "the definition of the sigmoid",
        latex: r"\sigma(u) = \frac{1}{1 + e^{-u}}",
    },
    RuleSpec {
        name: "sigmoid-complement",
        shape: rw("1 - sigmoid(U)", "sigmoid(-U)", &[]),
        caption: "1 − σ(u) = σ(−u)",
        latex: r"1 - \sigma(u) = \sigma(-u)",
    },
    RuleSpec {
        name: "softplus-definition",
        shape: rw("softplus(U)", "log(1 + exp(U))", &[]),
        caption: "the definition of softplus",
        latex: r"\operatorname{softplus}(u) = \log(1 + e^{u})",
    },
    RuleSpec {
        name: "tanh-definition",
        shape: rw("tanh(U)", "(exp(U) - exp(-U))/(exp(U) + exp(-U))", &[]),
        caption: "the definition of tanh",
        latex: r"\tanh u = \frac{e^{u} - e^{-u}}{e^{u} + e^{-u}}",
    },
    RuleSpec {
        name: "tanh-via-sigmoid",
        shape: rw("tanh(U)", "2*sigmoid(2*U) - 1", &[]),
        caption: "tanh through the sigmoid",
        latex: r"\tanh u = 2\sigma(2u) - 1",
    },
    RuleSpec {
        name: "sqrt-squared",
        shape: rw("sqrt(U)^2", "U", &["positive(U)"]),
        caption: "the square of a square root",
        latex: r"\left(\sqrt{u}\right)^2 = u",
    },
    RuleSpec {
        name: "sqrt-of-square",
        shape: rw("sqrt(U^2)", "U", &["positive(U)"]),
        caption: "the square root of a square",
        latex: r"\sqrt{u^2} = u \quad (u > 0)",
    },
    RuleSpec {
        name: "sqrt-of-square-times",
        shape: rw("sqrt(U^2*V)", "U*sqrt(V)", &["positive(U)", "positive(V)"]),
        caption: "take the square out of the square root",
        latex: r"\sqrt{u^2 v} = u\sqrt{v} \quad (u > 0)",
    },
    // ---------------------------------------------------------------- Kronecker deltas and sums
    RuleSpec {
        name: "delta-collapse",
        shape: builtin(
            Builtin::DeltaCollapse,
            "sum_{k=A}^{B}(F*delta(k,j))",
            "F[k:=j]",
        ),
        caption: "the sum of Kronecker deltas collapses",
        latex: r"\sum_{k} f(k)\,\delta_{kj} = f(j)",
    },
    RuleSpec {
        name: "delta-substitute",
        shape: builtin(
            Builtin::DeltaSubstitute,
            "delta(i,j)*F",
            "delta(i,j)*F[i:=j]",
        ),
        caption: "substitute through the Kronecker delta",
        latex: r"\delta_{ij} f(i) = \delta_{ij} f(j)",
    },
    RuleSpec {
        name: "delta-same-index",
        shape: rw("delta(k,k)", "1", &[]),
        caption: "δ_kk = 1",
        latex: r"\delta_{kk} = 1",
    },
    RuleSpec {
        name: "delta-distinct",
        shape: rw("delta(k,j)", "0", &["distinct(k, j)"]),
        caption: "δ_kj = 0 for k ≠ j",
        latex: r"\delta_{kj} = 0 \quad (k \neq j)",
    },
    RuleSpec {
        name: "index-case",
        shape: builtin(Builtin::IndexCase, "F", "F[j:=i]  (in the case i = j)"),
        caption: "the case i = j",
        latex: r"F(i, j) = F(i, i) \quad (i = j)",
    },
    RuleSpec {
        name: "delta-symmetric",
        shape: rw("delta(k,j)", "delta(j,k)", &[]),
        caption: "the Kronecker delta is symmetric",
        latex: r"\delta_{kj} = \delta_{jk}",
    },
    RuleSpec {
        name: "delta-squared",
        shape: rw("delta(k,j)^2", "delta(k,j)", &[]),
        caption: "δ² = δ",
        latex: r"\delta_{kj}^2 = \delta_{kj}",
    },
    RuleSpec {
        name: "sum-linearity",
        shape: builtin(
            Builtin::SumLinearity,
            "sum_k(U1 + … + Um)",
            "sum_k(U1) + … + sum_k(Um)",
        ),
        caption: "split the sum",
        latex: r"\sum_{k}(u_k + v_k) = \sum_{k} u_k + \sum_{k} v_k",
    },
    RuleSpec {
        name: "sum-of-negation",
        shape: rw("sum_{k=A}^{B}(-U)", "-sum_{k=A}^{B}(U)", &[]),
        caption: "take the sign out of the sum",
        latex: r"\sum_{k}(-u_k) = -\sum_{k} u_k",
    },
    RuleSpec {
        name: "pull-factor-out-of-sum",
        shape: rw(
            "sum_{k=A}^{B}(C*U)",
            "C*sum_{k=A}^{B}(U)",
            &["index-free(k, C)"],
        ),
        caption: "take the constant factor out of the sum",
        latex: r"\sum_{k} c\,u_k = c\sum_{k} u_k",
    },
    RuleSpec {
        name: "pull-divisor-out-of-sum",
        shape: rw(
            "sum_{k=A}^{B}(U/C)",
            "sum_{k=A}^{B}(U)/C",
            &["index-free(k, C)", "nonzero(C)"],
        ),
        caption: "take the constant divisor out of the sum",
        latex: r"\sum_{k} \frac{u_k}{c} = \frac{1}{c}\sum_{k} u_k",
    },
    RuleSpec {
        name: "sign-into-sum",
        shape: rw("-sum_{k=A}^{B}(U)", "sum_{k=A}^{B}(-U)", &[]),
        caption: "take the sign into the sum",
        latex: r"-\sum_{k} u_k = \sum_{k}(-u_k)",
    },
    RuleSpec {
        name: "factor-into-sum",
        shape: rw(
            "C*sum_{k=A}^{B}(U)",
            "sum_{k=A}^{B}(C*U)",
            &["index-free(k, C)"],
        ),
        caption: "take the constant factor into the sum",
        latex: r"c\sum_{k} u_k = \sum_{k} c\,u_k",
    },
    RuleSpec {
        name: "divisor-into-sum",
        shape: rw(
            "sum_{k=A}^{B}(U)/C",
            "sum_{k=A}^{B}(U/C)",
            &["index-free(k, C)", "nonzero(C)"],
        ),
        caption: "take the constant divisor into the sum",
        latex: r"\frac{1}{c}\sum_{k} u_k = \sum_{k} \frac{u_k}{c}",
    },
    RuleSpec {
        name: "combine-sums",
        shape: rw(
            "sum_{k=A}^{B}(U) + sum_{k=A}^{B}(V)",
            "sum_{k=A}^{B}(U + V)",
            &[],
        ),
        caption: "combine the sums",
        latex: r"\sum_{k} u_k + \sum_{k} v_k = \sum_{k}(u_k + v_k)",
    },
    RuleSpec {
        name: "sum-of-constant",
        shape: rw(
            "sum_{k=A}^{B}(C)",
            "(B - A + 1)*C",
            &["index-free(k, C)", "range-length(A, B)"],
        ),
        caption: "a sum of equal terms",
        latex: r"\sum_{k=a}^{b} c = (b - a + 1)\,c",
    },
    // ---------------------------------------------------------------- definitions and hypotheses
    RuleSpec {
        name: "unfold-definition",
        shape: builtin(Builtin::Unfold, "a_i", "body of a_i"),
        caption: "unfold the definition",
        latex: r"a_i = \text{its definition}",
    },
    RuleSpec {
        name: "fold-definition",
        shape: builtin(Builtin::Fold, "body of a_i", "a_i"),
        caption: "fold the definition",
        latex: r"\text{definition of } a_i = a_i",
    },
    RuleSpec {
        name: "use-hypothesis",
        shape: builtin(Builtin::Hypothesis, "lhs", "rhs"),
        caption: "use the hypothesis",
        latex: r"\text{lhs} = \text{rhs by hypothesis}",
    },
];
