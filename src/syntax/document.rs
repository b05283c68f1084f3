//! A parsed `.deriv` file: its title, its context (indices, definitions, hypotheses) and goals.

use crate::expr::{Context, Expr};

#[derive(Clone, Debug, Default)]
pub struct Document {
    pub title: Option<String>,
    pub context: Context,
    pub goals: Vec<Goal>,
    /// Source line of each definition and hypothesis, for diagnostics.
    pub definition_lines: Vec<usize>,
    pub assumption_lines: Vec<usize>,
}

/// `derive of wrt wrt [via a, …]`
#[derive(Clone, Debug)]
pub struct Goal {
    pub of: Expr,
    pub wrt: Expr,
    pub line: usize,
    /// The definitions to apply the chain rule through, outermost first.
    pub via: Vec<String>,
}
