//! What a derivation may rely on besides the rules: index ranges, definitions, hypotheses.
//!
//! The kernel reads it to unfold and fold definitions, use hypotheses and discharge
//! range conditions; the numeric checks read it to instantiate and sample.

use super::{Bound, Expr};
use std::collections::BTreeMap;

/// `index i, j, k in 1..n`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDecl {
    pub names: Vec<String>,
    pub lo: Bound,
    pub hi: Bound,
}

/// `let a_i = exp(z_i) / sum_k(exp(z_k))`: `name` is `a_i`, a symbol or indexed symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub name: Expr,
    pub body: Expr,
}

/// `assume lhs = rhs`, used as the rewrite `lhs → rhs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assumption {
    pub lhs: Expr,
    pub rhs: Expr,
}

/// Index declarations, definitions and hypotheses in force for a derivation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub indices: Vec<IndexDecl>,
    pub definitions: Vec<Definition>,
    pub assumptions: Vec<Assumption>,
}

impl Context {
    /// The declared range of an index name.
    pub fn range_of(&self, index: &str) -> Option<(&Bound, &Bound)> {
        self.indices.iter().find(|d| d.names.iter().any(|n| n == index)).map(|d| (&d.lo, &d.hi))
    }

    /// The definition of the symbol called `name`, if there is one.
    pub fn definition(&self, name: &str) -> Option<&Definition> {
        self.definitions
            .iter()
            .find(|d| matches!(&d.name, Expr::Sym(s) | Expr::Idx(s, _) if s == name))
    }

    /// The fixed labels: declared indices free in a definition's body but not on its left
    /// side (the true class `k` in `let l = -log(a_k)`), one value for the whole context,
    /// each with the first definition that fixes it.
    pub fn fixed_labels(&self) -> BTreeMap<String, &Expr> {
        let mut out = BTreeMap::new();
        for d in &self.definitions {
            for k in d.body.free_indices().difference(&d.name.free_indices()) {
                if self.range_of(k).is_some() {
                    out.entry(k.clone()).or_insert(&d.name);
                }
            }
        }
        out
    }

    /// Whether the index `k` is a fixed label.
    pub fn is_label(&self, k: &str) -> bool {
        self.fixed_labels().contains_key(k)
    }

    /// Whether `e` names a defined symbol (so it is not an independent variable).
    pub fn is_defined(&self, e: &Expr) -> bool {
        matches!(e, Expr::Sym(s) | Expr::Idx(s, _) if self.definition(s).is_some())
    }
}
