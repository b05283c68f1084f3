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
//! the identity code uses (`RuleId`), the name certificates use, the rule, and the caption
//! writeups print.

use super::conditions::{Signs, ANY, NEG, POS, ZERO};
use super::rules::{Builtin, RuleSpec, Shape};
use crate::expr::Func;

const fn rw(lhs: &'static str, rhs: &'static str, when: &'static [&'static str]) -> Shape {
    Shape::Rewrite { lhs, rhs, when }
}

const fn builtin(b: Builtin, lhs: &'static str, rhs: &'static str) -> Shape {
    Shape::Builtin { builtin: b, lhs, rhs }
}

/// One line per rule: `Id: "name", shape, "caption";` gives [`RULES`] and [`RuleId`], whose
/// variants index it, so code names a rule by a value the compiler checks.
macro_rules! rules {
    ($($id:ident: $name:literal, $shape:expr, $caption:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleId { $($id),* }
        pub static RULES: &[RuleSpec] =
            &[$(RuleSpec { id: RuleId::$id, name: $name, shape: $shape, caption: $caption }),*];
    };
}

rules! {
    // ---------------------------------------------------------------- decision procedures
    RingNormalize: "ring-normalize", builtin(Builtin::Ring, "E", "E' (equal as rational functions)"), "simplify";
    RenameBoundIndex: "rename-bound-index", builtin(Builtin::Rename, "sum_k(F)", "sum_m(F[k:=m])"), "rename the summation index";
    // ---------------------------------------------------------------- differentiation
    DerivativeOfVariable: "derivative-of-variable", builtin(Builtin::DerivativeOfVariable, "D(x_{i..}, x_{p..})", "delta(i,p)*…"), "the derivative of a variable";
    DerivativeOfConstant: "derivative-of-constant", rw("D(C, X)", "0", &["free-of(X, C)"]), "the derivative of a constant is zero";
    SumRule: "sum-rule", builtin(Builtin::SumRule, "D(U1 + … + Um, X)", "D(U1, X) + … + D(Um, X)"), "the sum rule";
    ProductRule: "product-rule", builtin(Builtin::ProductRule, "D(U1*…*Um, X)", "D(U1, X)*U2*…*Um + … + U1*…*D(Um, X)"), "the product rule";
    ConstantFactor: "constant-factor", rw("D(C*U, X)", "C*D(U, X)", &["free-of(X, C)"]), "a constant factor comes out of the derivative";
    ConstantFactorRight: "constant-factor-right", rw("D(U*C, X)", "D(U, X)*C", &["free-of(X, C)"]), "a constant factor comes out of the derivative";
    ConstantDivisor: "constant-divisor", rw("D(U/C, X)", "D(U, X)/C", &["free-of(X, C)", "nonzero(C)"]), "a constant divisor comes out of the derivative";
    NegationRule: "negation-rule", rw("D(-U, X)", "-D(U, X)", &[]), "the derivative of a negation";
    QuotientRule: "quotient-rule", rw("D(U/V, X)", "(D(U, X)*V - U*D(V, X))/V^2", &["nonzero(V)"]), "the quotient rule";
    PowerRule: "power-rule", rw("D(U^N, X)", "N*U^(N - 1)*D(U, X)", &["natural(N)"]), "the power rule";
    PowerRuleInteger: "power-rule-integer", rw("D(U^N, X)", "N*U^(N - 1)*D(U, X)", &["integer(N)", "nonzero(U)"]), "the power rule";
    PowerRuleReal: "power-rule-real", rw("D(U^C, X)", "C*U^(C - 1)*D(U, X)", &["free-of(X, C)", "positive(U)"]), "the power rule";
    DerivativeOfExp: "derivative-of-exp", rw("D(exp(U), X)", "exp(U)*D(U, X)", &[]), "the derivative of the exponential";
    DerivativeOfLog: "derivative-of-log", rw("D(log(U), X)", "D(U, X)/U", &["positive(U)"]), "the derivative of the logarithm";
    DerivativeOfSqrt: "derivative-of-sqrt", rw("D(sqrt(U), X)", "D(U, X)/(2*sqrt(U))", &["positive(U)"]), "the derivative of the square root";
    DerivativeOfSin: "derivative-of-sin", rw("D(sin(U), X)", "cos(U)*D(U, X)", &[]), "the derivative of the sine";
    DerivativeOfCos: "derivative-of-cos", rw("D(cos(U), X)", "-sin(U)*D(U, X)", &[]), "the derivative of the cosine";
    DerivativeOfTan: "derivative-of-tan", rw("D(tan(U), X)", "(1 + tan(U)^2)*D(U, X)", &["nonzero(cos(U))"]), "the derivative of the tangent";
    DerivativeOfTanh: "derivative-of-tanh", rw("D(tanh(U), X)", "(1 - tanh(U)^2)*D(U, X)", &[]), "the derivative of tanh";
    DerivativeOfSigmoid: "derivative-of-sigmoid", rw("D(sigmoid(U), X)", "sigmoid(U)*(1 - sigmoid(U))*D(U, X)", &[]), "the derivative of the sigmoid";
    DerivativeOfSoftplus: "derivative-of-softplus", rw("D(softplus(U), X)", "sigmoid(U)*D(U, X)", &[]), "the derivative of softplus is the sigmoid";
    DerivativeOfAtan: "derivative-of-atan", rw("D(atan(U), X)", "D(U, X)/(1 + U^2)", &[]), "the derivative of the arctangent";
    DerivativeOfAsin: "derivative-of-asin", rw("D(asin(U), X)", "D(U, X)/sqrt(1 - U^2)", &["positive(1 - U^2)"]), "the derivative of the arcsine";
    DerivativeOfAcos: "derivative-of-acos", rw("D(acos(U), X)", "-D(U, X)/sqrt(1 - U^2)", &["positive(1 - U^2)"]), "the derivative of the arccosine";
    DerivativeOfSinh: "derivative-of-sinh", rw("D(sinh(U), X)", "cosh(U)*D(U, X)", &[]), "the derivative of sinh";
    DerivativeOfCosh: "derivative-of-cosh", rw("D(cosh(U), X)", "sinh(U)*D(U, X)", &[]), "the derivative of cosh";
    DerivativeOfAsinh: "derivative-of-asinh", rw("D(asinh(U), X)", "D(U, X)/sqrt(1 + U^2)", &[]), "the derivative of asinh";
    DerivativeOfAbs: "derivative-of-abs", rw("D(abs(U), X)", "U/abs(U)*D(U, X)", &["nonzero(U)"]), "the derivative of the absolute value";
    DerivativeOfRelu: "derivative-of-relu", rw("D(relu(U), X)", "step(U)*D(U, X)", &["nonzero(U)"]), "the derivative of relu is the step function";
    DerivativeOfStep: "derivative-of-step", rw("D(step(U), X)", "0", &["nonzero(U)"]), "the step function is flat away from 0";
    DerivativeOfErf: "derivative-of-erf", rw("D(erf(U), X)", "2*exp(-U^2)/sqrt(acos(-1))*D(U, X)", &[]), "the derivative of the error function";
    PowerAsExp: "power-as-exp", rw("U^V", "exp(V*log(U))", &["positive(U)"]), "write the power with the exponential";
    ChainRule: "chain-rule", builtin(Builtin::Chain, "D(F, x)", "sum_m(D(F, a_m)*D(a_m, x)) (F reaches x through a alone)"), "the chain rule";
    DerivativeIntoSum: "derivative-into-sum", rw("D(sum_{k=A}^{B}(U), X)", "sum_{k=A}^{B}(D(U, X))", &["index-free(k, X)", "free-of(X, A)", "free-of(X, B)"]), "differentiate the sum term by term";
    // ---------------------------------------------------------------- algebra
    LogOfExp: "log-of-exp", rw("log(exp(U))", "U", &[]), "the logarithm undoes the exponential";
    ExpOfLog: "exp-of-log", rw("exp(log(U))", "U", &["positive(U)"]), "the exponential undoes the logarithm";
    LogOfProduct: "log-of-product", rw("log(U*V)", "log(U) + log(V)", &["positive(U)", "positive(V)"]), "the logarithm of a product";
    LogOfQuotient: "log-of-quotient", rw("log(U/V)", "log(U) - log(V)", &["positive(U)", "positive(V)"]), "the logarithm of a quotient";
    LogOfPower: "log-of-power", rw("log(U^C)", "C*log(U)", &["positive(U)"]), "the logarithm of a power";
    ExpOfSum: "exp-of-sum", rw("exp(U + V)", "exp(U)*exp(V)", &[]), "the exponential of a sum";
    ExpOfNegation: "exp-of-negation", rw("exp(-U)", "1/exp(U)", &[]), "the exponential of a negation";
    ExpOfMultiple: "exp-of-multiple", rw("exp(N*U)", "exp(U)^N", &["integer(N)"]), "the exponential of a multiple";
    PythagoreanIdentity: "pythagorean-identity", rw("sin(U)^2 + cos(U)^2", "1", &[]), "sin² + cos² = 1";
    TanAsQuotient: "tan-as-quotient", rw("tan(U)", "sin(U)/cos(U)", &["nonzero(cos(U))"]), "the tangent is sine over cosine";
    SinDoubleAngle: "sin-double-angle", rw("sin(2*U)", "2*sin(U)*cos(U)", &[]), "the double-angle formula for the sine";
    CosDoubleAngle: "cos-double-angle", rw("cos(2*U)", "cos(U)^2 - sin(U)^2", &[]), "the double-angle formula for the cosine";
    SinOfNegation: "sin-of-negation", rw("sin(-U)", "-sin(U)", &[]), "the sine is odd";
    CosOfNegation: "cos-of-negation", rw("cos(-U)", "cos(U)", &[]), "the cosine is even";
    TanOfNegation: "tan-of-negation", rw("tan(-U)", "-tan(U)", &[]), "the tangent is odd";
    AbsOfNegation: "abs-of-negation", rw("abs(-U)", "abs(U)", &[]), "|−u| = |u|";
    AbsOfNonnegative: "abs-of-nonnegative", rw("abs(U)", "U", &["nonnegative(U)"]), "|u| = u for u ≥ 0";
    AbsSquared: "abs-squared", rw("abs(U)^2", "U^2", &[]), "|u|² = u²";
    SignAsStep: "sign-as-step", rw("U/abs(U)", "2*step(U) - 1", &["nonzero(U)"]), "u/|u| = 2·step(u) − 1 for u ≠ 0";
    ErfOfNegation: "erf-of-negation", rw("erf(-U)", "-erf(U)", &[]), "erf is odd";
    TanhOfNegation: "tanh-of-negation", rw("tanh(-U)", "-tanh(U)", &[]), "tanh is odd";
    SoftplusOfNegation: "softplus-of-negation", rw("softplus(-U)", "softplus(U) - U", &[]), "softplus(−u) = softplus(u) − u";
    // Values at 0 and 1: constants the input spells as calls.
    ExpOfZero: "exp-of-zero", rw("exp(0)", "1", &[]), "e⁰ = 1";
    LogOfOne: "log-of-one", rw("log(1)", "0", &[]), "log 1 = 0";
    OneToAPower: "one-to-a-power", rw("1^U", "1", &[]), "a power of 1 is 1";
    SinOfZero: "sin-of-zero", rw("sin(0)", "0", &[]), "sin 0 = 0";
    CosOfZero: "cos-of-zero", rw("cos(0)", "1", &[]), "cos 0 = 1";
    TanOfZero: "tan-of-zero", rw("tan(0)", "0", &[]), "tan 0 = 0";
    TanhOfZero: "tanh-of-zero", rw("tanh(0)", "0", &[]), "tanh 0 = 0";
    ErfOfZero: "erf-of-zero", rw("erf(0)", "0", &[]), "erf 0 = 0";
    SigmoidOfZero: "sigmoid-of-zero", rw("sigmoid(0)", "1/2", &[]), "σ(0) = 1/2";
    SinhOfZero: "sinh-of-zero", rw("sinh(0)", "0", &[]), "sinh 0 = 0";
    CoshOfZero: "cosh-of-zero", rw("cosh(0)", "1", &[]), "cosh 0 = 1";
    AtanOfZero: "atan-of-zero", rw("atan(0)", "0", &[]), "atan 0 = 0";
    AsinOfZero: "asin-of-zero", rw("asin(0)", "0", &[]), "asin 0 = 0";
    AsinhOfZero: "asinh-of-zero", rw("asinh(0)", "0", &[]), "asinh 0 = 0";
    AcosOfOne: "acos-of-one", rw("acos(1)", "0", &[]), "acos 1 = 0";
    SqrtOfZero: "sqrt-of-zero", rw("sqrt(0)", "0", &[]), "√0 = 0";
    ReluOfZero: "relu-of-zero", rw("relu(0)", "0", &[]), "relu(0) = 0";
    StepOfZero: "step-of-zero", rw("step(0)", "0", &[]), "step(0) = 0, the convention";
    // π is the term acos(-1) (the input's `pi`): the sine and cosine at its multiples.
    SinOfPi: "sin-of-pi", rw("sin(acos(-1))", "0", &[]), "sin π = 0";
    CosOfPi: "cos-of-pi", rw("cos(acos(-1))", "-1", &[]), "cos π = −1";
    SinOfHalfPi: "sin-of-half-pi", rw("sin(acos(-1)/2)", "1", &[]), "sin(π/2) = 1";
    CosOfHalfPi: "cos-of-half-pi", rw("cos(acos(-1)/2)", "0", &[]), "cos(π/2) = 0";
    SinOfThirdPi: "sin-of-third-pi", rw("sin(acos(-1)/3)", "sqrt(3)/2", &[]), "sin(π/3) = √3/2";
    CosOfThirdPi: "cos-of-third-pi", rw("cos(acos(-1)/3)", "1/2", &[]), "cos(π/3) = 1/2";
    SinOfQuarterPi: "sin-of-quarter-pi", rw("sin(acos(-1)/4)", "sqrt(2)/2", &[]), "sin(π/4) = √2/2";
    CosOfQuarterPi: "cos-of-quarter-pi", rw("cos(acos(-1)/4)", "sqrt(2)/2", &[]), "cos(π/4) = √2/2";
    TanOfQuarterPi: "tan-of-quarter-pi", rw("tan(acos(-1)/4)", "1", &[]), "tan(π/4) = 1";
    SinOfSixthPi: "sin-of-sixth-pi", rw("sin(acos(-1)/6)", "1/2", &[]), "sin(π/6) = 1/2";
    CosOfSixthPi: "cos-of-sixth-pi", rw("cos(acos(-1)/6)", "sqrt(3)/2", &[]), "cos(π/6) = √3/2";
    SinOfMultipleOfPi: "sin-of-multiple-of-pi", rw("sin(N*acos(-1))", "0", &["integer(N)"]), "sin(kπ) = 0";
    CosOfMultipleOfPi: "cos-of-multiple-of-pi", rw("cos(N*acos(-1))", "(-1)^N", &["integer(N)"]), "cos(kπ) = (−1)ᵏ";
    SigmoidDefinition: "sigmoid-definition", rw("sigmoid(U)", "1/(1 + exp(-U))", &[]), "the definition of the sigmoid";
    SigmoidOfNegationDefinition: "sigmoid-of-negation-definition", rw("sigmoid(-U)", "1/(1 + exp(U))", &[]), "the definition of the sigmoid at −u";
    SigmoidComplement: "sigmoid-complement", rw("1 - sigmoid(U)", "sigmoid(-U)", &[]), "1 − σ(u) = σ(−u)";
    SoftplusDefinition: "softplus-definition", rw("softplus(U)", "log(1 + exp(U))", &[]), "the definition of softplus";
    TanhDefinition: "tanh-definition", rw("tanh(U)", "(exp(U) - exp(-U))/(exp(U) + exp(-U))", &[]), "the definition of tanh";
    TanhAsRatio: "tanh-as-ratio", rw("tanh(U)", "sinh(U)/cosh(U)", &[]), "tanh is sinh over cosh";
    CoshSquared: "cosh-squared", rw("cosh(U)^2", "1 + sinh(U)^2", &[]), "cosh² = 1 + sinh²";
    SinhSquared: "sinh-squared", rw("sinh(U)^2", "cosh(U)^2 - 1", &[]), "sinh² = cosh² − 1";
    TanhViaSigmoid: "tanh-via-sigmoid", rw("tanh(U)", "2*sigmoid(2*U) - 1", &[]), "tanh through the sigmoid";
    LawOfExponents: "law-of-exponents", rw("U^(A + 1)", "U^A*U", &["positive(U)"]), "the law of exponents";
    PowerOneHalf: "power-one-half", rw("U^(1/2)", "sqrt(U)", &["positive(U)"]), "a power of one half is the square root";
    SqrtSquared: "sqrt-squared", rw("sqrt(U)^2", "U", &["positive(U)"]), "the square of a square root";
    SqrtOfSquare: "sqrt-of-square", rw("sqrt(U^2)", "U", &["positive(U)"]), "the square root of a square";
    SqrtOfSquareTimes: "sqrt-of-square-times", rw("sqrt(U^2*V)", "U*sqrt(V)", &["positive(U)", "positive(V)"]), "take the square out of the square root";
    // ---------------------------------------------------------------- Kronecker deltas and sums
    DeltaCollapse: "delta-collapse", builtin(Builtin::DeltaCollapse, "sum_{k=A}^{B}(F*delta(k,j))", "F[k:=j]"), "the sum of Kronecker deltas collapses";
    DeltaOffRange: "delta-off-range", builtin(Builtin::DeltaOffRange, "sum_{k=A}^{B}(F*delta(k,j))", "0"), "the Kronecker delta is 0 over the whole range";
    DeltaSubstitute: "delta-substitute", builtin(Builtin::DeltaSubstitute, "delta(i,j)*F", "delta(i,j)*F[i:=j]"), "substitute through the Kronecker delta";
    DeltaSameIndex: "delta-same-index", rw("delta(k,k)", "1", &[]), "δ_kk = 1";
    DeltaDistinct: "delta-distinct", rw("delta(k,j)", "0", &["distinct(k, j)"]), "δ_kj = 0 for k ≠ j";
    IndexCase: "index-case", builtin(Builtin::IndexCase, "F", "F[j:=i] (in the case i = j)"), "the case i = j";
    DeltaSymmetric: "delta-symmetric", rw("delta(k,j)", "delta(j,k)", &[]), "the Kronecker delta is symmetric";
    DeltaSquared: "delta-squared", rw("delta(k,j)^2", "delta(k,j)", &[]), "δ² = δ";
    SumLinearity: "sum-linearity", builtin(Builtin::SumLinearity, "sum_k(U1 + … + Um)", "sum_k(U1) + … + sum_k(Um)"), "split the sum";
    SumOfNegation: "sum-of-negation", rw("sum_{k=A}^{B}(-U)", "-sum_{k=A}^{B}(U)", &[]), "take the sign out of the sum";
    PullFactorOutOfSum: "pull-factor-out-of-sum", rw("sum_{k=A}^{B}(C*U)", "C*sum_{k=A}^{B}(U)", &["index-free(k, C)"]), "take the constant factor out of the sum";
    PullDivisorOutOfSum: "pull-divisor-out-of-sum", rw("sum_{k=A}^{B}(U/C)", "sum_{k=A}^{B}(U)/C", &["index-free(k, C)", "nonzero(C)"]), "take the constant divisor out of the sum";
    SignIntoSum: "sign-into-sum", rw("-sum_{k=A}^{B}(U)", "sum_{k=A}^{B}(-U)", &[]), "take the sign into the sum";
    FactorIntoSum: "factor-into-sum", rw("C*sum_{k=A}^{B}(U)", "sum_{k=A}^{B}(C*U)", &["index-free(k, C)"]), "take the constant factor into the sum";
    DivisorIntoSum: "divisor-into-sum", rw("sum_{k=A}^{B}(U)/C", "sum_{k=A}^{B}(U/C)", &["index-free(k, C)", "nonzero(C)"]), "take the constant divisor into the sum";
    CombineSums: "combine-sums", rw("sum_{k=A}^{B}(U) + sum_{k=A}^{B}(V)", "sum_{k=A}^{B}(U + V)", &[]), "combine the sums";
    SumOfConstant: "sum-of-constant", rw("sum_{k=A}^{B}(C)", "(B - A + 1)*C", &["index-free(k, C)", "range-length(A, B)"]), "a sum of equal terms";
    // ---------------------------------------------------------------- definitions and hypotheses
    UnfoldDefinition: "unfold-definition", builtin(Builtin::Unfold, "a_i", "body of a_i"), "unfold the definition";
    FoldDefinition: "fold-definition", builtin(Builtin::Fold, "body of a_i", "a_i"), "fold the definition";
    UseHypothesis: "use-hypothesis", builtin(Builtin::Hypothesis, "lhs", "rhs"), "use the hypothesis";
    UseLemma: "use-lemma", builtin(Builtin::Lemma, "lhs of goal n", "rhs of goal n"), "use an earlier result";
}

/// What the condition checker knows of each function: the signs its value may have where
/// its argument is negative, zero and positive.
pub fn function_signs(f: Func) -> [Signs; 3] {
    match f {
        Func::Exp | Func::Sigmoid | Func::Softplus | Func::Cosh => [POS, POS, POS],
        Func::Sqrt => [ZERO | POS, ZERO, POS],
        Func::Tanh | Func::Sinh | Func::Erf => [NEG, ZERO, POS],
        Func::Atan | Func::Asin | Func::Asinh => [NEG, ZERO, POS],
        // acos falls from π to 0 on [-1, 1].
        Func::Acos => [POS, POS, ZERO | POS],
        Func::Abs => [POS, ZERO, POS],
        // relu(0) = step(0) = 0.
        Func::Relu | Func::Step => [ZERO, ZERO, POS],
        Func::Log | Func::Sin | Func::Cos | Func::Tan => [ANY, ANY, ANY],
    }
}
