//! Numeric evidence for derivations, independent of the engine and the kernel.
//!
//! - evaluators: exact rationals, f64 and forward-mode dual numbers (`eval`);
//! - random valid points that satisfy the context's hypotheses (`sample`);
//! - step checks and result checks against dual numbers and finite differences (`check`);
//! - hand-written, numerically stable reference kernels ([`reference`](mod@reference)) and the
//!   recognition of a goal as one of them (`recognise`);
//! - derived results compiled into fast, stable kernels (`compile`, `run`) or emitted
//!   as standalone Rust source (`emit_rust`).
//!
//! What `run` and `diff` call:
//! - each kernel-accepted step `before = after`: [`check_chain`] over a derivation's chain of
//!   terms (each step as [`check_equal`] would check it alone);
//! - each result `d of / d wrt = result`: [`check_derivative`] (dual numbers and finite
//!   differences) and [`cross_check_with_references`] (the matching reference kernels);
//! - a result's vector or matrix form: [`check_matrix_form`] (the form evaluated with
//!   loops over vectors and matrices, entry by entry against the components);
//! - the JSON `checks` and the check lines: the returned [`CheckSummary`]s, or
//!   [`CheckSummary::combine`] of the per-step ones;
//! - `run --format rust`: [`emit_rust`].

mod chain;
mod check;
mod compile;
mod dual;
mod emit_matrix;
mod emit_rust;
mod eval;
mod funcs;
mod hyperdual;
mod matrix;
mod number;
mod point;
#[cfg(test)]
mod random_terms;
mod recognise;
pub mod reference;
mod rng;
mod run;
mod sample;
mod stack;

pub use crate::functions::{sigmoid, softplus};
pub use chain::{check_chain, ChainError};
pub use check::{
    check_derivative, check_equal, check_result, rel_error, CheckError, CheckOptions, CheckSummary,
    ResultChecks, FD_ATOL, FD_EPS, FD_RTOL, REL_TOLERANCE, ROUNDING,
};
pub use compile::{Kernel, KernelError, KernelInput};
pub use dual::Dual;
pub use emit_rust::{emit_rust, emit_rust_with, goal_axes, EmitError, Forms, RustGoal};
pub use eval::{eval_dual, eval_exact, eval_f64, is_rational, resolve_variable, EvalError};
pub use matrix::check_matrix_form;
pub use point::{Point, Value, Variable};
pub use recognise::cross_check_with_references;
pub use run::Scratch;

/// Shared test fixtures.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::expr::{Context, Expr};
    use crate::syntax::{parse_expr, parse_file};

    /// The seed example (examples/softmax_ce.deriv).
    pub const SOFTMAX_CE: &str = "title \"The derivative of cross-entropy with softmax\"
index i, j, k in 1..n
let a_i = exp(z_i) / sum_k(exp(z_k))
let l = -sum_i(y_i * log(a_i))
assume sum_i(y_i) = 1
derive a_i wrt z_j
derive l wrt z_j
";

    /// The seed example's context.
    pub fn softmax_ce() -> Context {
        parse_file(SOFTMAX_CE).unwrap_or_else(|d| panic!("{d}")).context
    }

    /// A term in the expression syntax, any identifier usable as an index.
    pub fn term(s: &str) -> Expr {
        parse_expr(s).unwrap_or_else(|d| panic!("{d}"))
    }

    /// Owned index names.
    pub fn names(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }
}
