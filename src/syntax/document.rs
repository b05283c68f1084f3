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
    /// The vectors and matrices: declared, or defined whole (`let h = tanh(W*x + b)`).
    pub shapes: crate::matrix::Shapes,
    /// What each goal says in matrix notation (in goal order; none for a document built
    /// without the parser).
    pub forms: Vec<crate::matrix::GoalForm>,
    /// How the input writes its numbers, if it writes decimals.
    pub numbers: Option<super::NumberStyle>,
}

/// `derive of wrt wrt [via a, …]`
#[derive(Clone, Debug)]
pub struct Goal {
    pub of: Expr,
    pub wrt: Expr,
    pub line: usize,
    /// The definitions to apply the chain rule through, outermost first.
    pub via: Vec<String>,
    /// The derivative of a `via` intermediate, which the parser put before the goal that
    /// names it; `deriv fmt` leaves it out, as the file does not state it.
    pub inserted: bool,
}
