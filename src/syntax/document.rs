//! A parsed `.deriv` file: title, index declarations, definitions, hypotheses and goals.

use crate::expr::{Bound, Expr};

#[derive(Clone, Debug, Default)]
pub struct Document {
    pub title: Option<String>,
    pub indices: Vec<IndexDecl>,
    pub definitions: Vec<Definition>,
    pub assumptions: Vec<Assumption>,
    pub goals: Vec<Goal>,
}

/// `index i, j, k in 1..n`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDecl {
    pub names: Vec<String>,
    pub lo: Bound,
    pub hi: Bound,
}

/// `let a_i = exp(z_i) / sum_k(exp(z_k))`: `name` is `a_i`, a symbol or indexed symbol.
#[derive(Clone, Debug)]
pub struct Definition {
    pub name: Expr,
    pub body: Expr,
    pub line: usize,
}

/// `assume lhs = rhs`
#[derive(Clone, Debug)]
pub struct Assumption {
    pub lhs: Expr,
    pub rhs: Expr,
    pub line: usize,
}

/// `derive of wrt wrt`
#[derive(Clone, Debug)]
pub struct Goal {
    pub of: Expr,
    pub wrt: Expr,
    pub line: usize,
}

impl Document {
    /// The declared range of an index name, if it was declared.
    pub fn range_of(&self, index: &str) -> Option<(&Bound, &Bound)> {
        self.indices
            .iter()
            .find(|d| d.names.iter().any(|n| n == index))
            .map(|d| (&d.lo, &d.hi))
    }
}
