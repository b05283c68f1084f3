//! The rule table: every rule deriv may use, as data, one line each.
//!
//! Pattern language (read by the kernel's own reader, `read.rs`):
//! - a single upper-case letter (`U`, `V`, `C`, `X`) is a term metavariable; `X` and `Y`
//!   only match variables (a symbol or an indexed symbol);
//! - index names (`k`, `j`) are index metavariables;
//! - `sum_{k=A}^{B}(…)` binds `k`, with `A` and `B` range metavariables.
//!
//! Builtin rules are schemes over arity or over the context (definitions, hypotheses)
//! that the kernel applies itself; their `lhs`/`rhs` are documentation only. Each entry:
//! the name certificates use, the rule, and the caption writeups print.

use super::rules::{Builtin, RuleSpec, Shape};

const fn rw(lhs: &'static str, rhs: &'static str, when: &'static [&'static str]) -> Shape {
    Shape::Rewrite { lhs, rhs, when }
}

const fn builtin(b: Builtin, lhs: &'static str, rhs: &'static str) -> Shape {
    Shape::Builtin { builtin: b, lhs, rhs }
}

const fn rule(name: &'static str, shape: Shape, caption: &'static str) -> RuleSpec {
    RuleSpec { name, shape, caption }
}

#[rustfmt::skip]
pub static RULES: &[RuleSpec] = &[
    // ---------------------------------------------------------------- decision procedures
    rule("ring-normalize", builtin(Builtin::Ring, "E", "E' (equal as rational functions)"), "simplify"),
    rule("rename-bound-index", builtin(Builtin::Rename, "sum_k(F)", "sum_m(F[k:=m])"), "rename the summation index"),
    // ---------------------------------------------------------------- differentiation
    rule("derivative-of-variable", builtin(Builtin::DerivativeOfVariable, "D(x_{i..}, x_{p..})", "delta(i,p)*…"), "the derivative of a variable"),
    rule("derivative-of-constant", rw("D(C, X)", "0", &["free-of(X, C)"]), "the derivative of a constant is zero"),
    rule("sum-rule", builtin(Builtin::SumRule, "D(U1 + … + Um, X)", "D(U1, X) + … + D(Um, X)"), "the sum rule"),
    rule("product-rule", builtin(Builtin::ProductRule, "D(U1*…*Um, X)", "D(U1, X)*U2*…*Um + … + U1*…*D(Um, X)"), "the product rule"),
    rule("constant-factor", rw("D(C*U, X)", "C*D(U, X)", &["free-of(X, C)"]), "a constant factor comes out of the derivative"),
    rule("constant-factor-right", rw("D(U*C, X)", "D(U, X)*C", &["free-of(X, C)"]), "a constant factor comes out of the derivative"),
    rule("constant-divisor", rw("D(U/C, X)", "D(U, X)/C", &["free-of(X, C)", "nonzero(C)"]), "a constant divisor comes out of the derivative"),
    rule("negation-rule", rw("D(-U, X)", "-D(U, X)", &[]), "the derivative of a negation"),
    rule("quotient-rule", rw("D(U/V, X)", "(D(U, X)*V - U*D(V, X))/V^2", &["nonzero(V)"]), "the quotient rule"),
    rule("power-rule", rw("D(U^N, X)", "N*U^(N - 1)*D(U, X)", &["natural(N)"]), "the power rule"),
    rule("power-rule-integer", rw("D(U^N, X)", "N*U^(N - 1)*D(U, X)", &["integer(N)", "nonzero(U)"]), "the power rule"),
    rule("power-rule-real", rw("D(U^C, X)", "C*U^(C - 1)*D(U, X)", &["free-of(X, C)", "positive(U)"]), "the power rule"),
    rule("derivative-of-exp", rw("D(exp(U), X)", "exp(U)*D(U, X)", &[]), "the derivative of the exponential"),
    rule("derivative-of-log", rw("D(log(U), X)", "D(U, X)/U", &["positive(U)"]), "the derivative of the logarithm"),
    rule("derivative-of-sqrt", rw("D(sqrt(U), X)", "D(U, X)/(2*sqrt(U))", &["positive(U)"]), "the derivative of the square root"),
    rule("derivative-of-sin", rw("D(sin(U), X)", "cos(U)*D(U, X)", &[]), "the derivative of the sine"),
    rule("derivative-of-cos", rw("D(cos(U), X)", "-sin(U)*D(U, X)", &[]), "the derivative of the cosine"),
    rule("derivative-of-tan", rw("D(tan(U), X)", "(1 + tan(U)^2)*D(U, X)", &["nonzero(cos(U))"]), "the derivative of the tangent"),
    rule("derivative-of-tanh", rw("D(tanh(U), X)", "(1 - tanh(U)^2)*D(U, X)", &[]), "the derivative of tanh"),
    rule("derivative-of-sigmoid", rw("D(sigmoid(U), X)", "sigmoid(U)*(1 - sigmoid(U))*D(U, X)", &[]), "the derivative of the sigmoid"),
    rule("derivative-of-softplus", rw("D(softplus(U), X)", "sigmoid(U)*D(U, X)", &[]), "the derivative of softplus is the sigmoid"),
    rule("power-as-exp", rw("U^V", "exp(V*log(U))", &["positive(U)"]), "write the power with the exponential"),
    rule("chain-rule", builtin(Builtin::Chain, "D(F, x)", "sum_m(D(F, a_m)*D(a_m, x)) (F reaches x through a alone)"), "the chain rule"),
    rule("derivative-into-sum", rw("D(sum_{k=A}^{B}(U), X)", "sum_{k=A}^{B}(D(U, X))", &["index-free(k, X)", "free-of(X, A)", "free-of(X, B)"]), "differentiate the sum term by term"),
    // ---------------------------------------------------------------- algebra
    rule("log-of-exp", rw("log(exp(U))", "U", &[]), "the logarithm undoes the exponential"),
    rule("exp-of-log", rw("exp(log(U))", "U", &["positive(U)"]), "the exponential undoes the logarithm"),
    rule("log-of-product", rw("log(U*V)", "log(U) + log(V)", &["positive(U)", "positive(V)"]), "the logarithm of a product"),
    rule("log-of-quotient", rw("log(U/V)", "log(U) - log(V)", &["positive(U)", "positive(V)"]), "the logarithm of a quotient"),
    rule("log-of-power", rw("log(U^C)", "C*log(U)", &["positive(U)"]), "the logarithm of a power"),
    rule("exp-of-sum", rw("exp(U + V)", "exp(U)*exp(V)", &[]), "the exponential of a sum"),
    rule("exp-of-negation", rw("exp(-U)", "1/exp(U)", &[]), "the exponential of a negation"),
    rule("exp-of-multiple", rw("exp(N*U)", "exp(U)^N", &["integer(N)"]), "the exponential of a multiple"),
    rule("pythagorean-identity", rw("sin(U)^2 + cos(U)^2", "1", &[]), "sin² + cos² = 1"),
    rule("tan-as-quotient", rw("tan(U)", "sin(U)/cos(U)", &["nonzero(cos(U))"]), "the tangent is sine over cosine"),
    rule("sin-double-angle", rw("sin(2*U)", "2*sin(U)*cos(U)", &[]), "the double-angle formula for the sine"),
    rule("cos-double-angle", rw("cos(2*U)", "cos(U)^2 - sin(U)^2", &[]), "the double-angle formula for the cosine"),
    rule("sin-of-negation", rw("sin(-U)", "-sin(U)", &[]), "the sine is odd"),
    rule("cos-of-negation", rw("cos(-U)", "cos(U)", &[]), "the cosine is even"),
    rule("tan-of-negation", rw("tan(-U)", "-tan(U)", &[]), "the tangent is odd"),
    rule("tanh-of-negation", rw("tanh(-U)", "-tanh(U)", &[]), "tanh is odd"),
    rule("softplus-of-negation", rw("softplus(-U)", "softplus(U) - U", &[]), "softplus(−u) = softplus(u) − u"),
    // Values at 0 and 1: constants the input spells as calls.
    rule("exp-of-zero", rw("exp(0)", "1", &[]), "e⁰ = 1"),
    rule("log-of-one", rw("log(1)", "0", &[]), "log 1 = 0"),
    rule("one-to-a-power", rw("1^U", "1", &[]), "a power of 1 is 1"),
    rule("sin-of-zero", rw("sin(0)", "0", &[]), "sin 0 = 0"),
    rule("cos-of-zero", rw("cos(0)", "1", &[]), "cos 0 = 1"),
    rule("tan-of-zero", rw("tan(0)", "0", &[]), "tan 0 = 0"),
    rule("tanh-of-zero", rw("tanh(0)", "0", &[]), "tanh 0 = 0"),
    rule("sigmoid-of-zero", rw("sigmoid(0)", "1/2", &[]), "σ(0) = 1/2"),
    rule("sigmoid-definition", rw("sigmoid(U)", "1/(1 + exp(-U))", &[]), "the definition of the sigmoid"),
    rule("sigmoid-complement", rw("1 - sigmoid(U)", "sigmoid(-U)", &[]), "1 − σ(u) = σ(−u)"),
    rule("softplus-definition", rw("softplus(U)", "log(1 + exp(U))", &[]), "the definition of softplus"),
    rule("tanh-definition", rw("tanh(U)", "(exp(U) - exp(-U))/(exp(U) + exp(-U))", &[]), "the definition of tanh"),
    rule("tanh-via-sigmoid", rw("tanh(U)", "2*sigmoid(2*U) - 1", &[]), "tanh through the sigmoid"),
    rule("sqrt-squared", rw("sqrt(U)^2", "U", &["positive(U)"]), "the square of a square root"),
    rule("sqrt-of-square", rw("sqrt(U^2)", "U", &["positive(U)"]), "the square root of a square"),
    rule("sqrt-of-square-times", rw("sqrt(U^2*V)", "U*sqrt(V)", &["positive(U)", "positive(V)"]), "take the square out of the square root"),
    // ---------------------------------------------------------------- Kronecker deltas and sums
    rule("delta-collapse", builtin(Builtin::DeltaCollapse, "sum_{k=A}^{B}(F*delta(k,j))", "F[k:=j]"), "the sum of Kronecker deltas collapses"),
    rule("delta-substitute", builtin(Builtin::DeltaSubstitute, "delta(i,j)*F", "delta(i,j)*F[i:=j]"), "substitute through the Kronecker delta"),
    rule("delta-same-index", rw("delta(k,k)", "1", &[]), "δ_kk = 1"),
    rule("delta-distinct", rw("delta(k,j)", "0", &["distinct(k, j)"]), "δ_kj = 0 for k ≠ j"),
    rule("index-case", builtin(Builtin::IndexCase, "F", "F[j:=i] (in the case i = j)"), "the case i = j"),
    rule("delta-symmetric", rw("delta(k,j)", "delta(j,k)", &[]), "the Kronecker delta is symmetric"),
    rule("delta-squared", rw("delta(k,j)^2", "delta(k,j)", &[]), "δ² = δ"),
    rule("sum-linearity", builtin(Builtin::SumLinearity, "sum_k(U1 + … + Um)", "sum_k(U1) + … + sum_k(Um)"), "split the sum"),
    rule("sum-of-negation", rw("sum_{k=A}^{B}(-U)", "-sum_{k=A}^{B}(U)", &[]), "take the sign out of the sum"),
    rule("pull-factor-out-of-sum", rw("sum_{k=A}^{B}(C*U)", "C*sum_{k=A}^{B}(U)", &["index-free(k, C)"]), "take the constant factor out of the sum"),
    rule("pull-divisor-out-of-sum", rw("sum_{k=A}^{B}(U/C)", "sum_{k=A}^{B}(U)/C", &["index-free(k, C)", "nonzero(C)"]), "take the constant divisor out of the sum"),
    rule("sign-into-sum", rw("-sum_{k=A}^{B}(U)", "sum_{k=A}^{B}(-U)", &[]), "take the sign into the sum"),
    rule("factor-into-sum", rw("C*sum_{k=A}^{B}(U)", "sum_{k=A}^{B}(C*U)", &["index-free(k, C)"]), "take the constant factor into the sum"),
    rule("divisor-into-sum", rw("sum_{k=A}^{B}(U)/C", "sum_{k=A}^{B}(U/C)", &["index-free(k, C)", "nonzero(C)"]), "take the constant divisor into the sum"),
    rule("combine-sums", rw("sum_{k=A}^{B}(U) + sum_{k=A}^{B}(V)", "sum_{k=A}^{B}(U + V)", &[]), "combine the sums"),
    rule("sum-of-constant", rw("sum_{k=A}^{B}(C)", "(B - A + 1)*C", &["index-free(k, C)", "range-length(A, B)"]), "a sum of equal terms"),
    // ---------------------------------------------------------------- definitions and hypotheses
    rule("unfold-definition", builtin(Builtin::Unfold, "a_i", "body of a_i"), "unfold the definition"),
    rule("fold-definition", builtin(Builtin::Fold, "body of a_i", "a_i"), "fold the definition"),
    rule("use-hypothesis", builtin(Builtin::Hypothesis, "lhs", "rhs"), "use the hypothesis"),
];
