//! A checked document: every goal's kernel-checked proof and its numeric cross-checks.
//! This is what the renderers print; nothing in it bypassed the kernel.

use crate::engine::{self, EngineError};
use crate::expr::{Context, Expr};
use crate::kernel::Proof;
use crate::syntax::Document;
use std::sync::Arc;

/// Numeric evidence about one derivation, as JSON for certificates and a sentence for writeups.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    pub json: serde_json::Value,
    /// "checked numerically at 40 points, …"
    pub summary: String,
}

/// One derived goal.
#[derive(Clone, Debug)]
pub struct Derived {
    pub of: Expr,
    pub wrt: Expr,
    pub proof: Proof,
    pub checks: Checks,
}

/// Every goal of a document, derived and checked.
#[derive(Clone, Debug)]
pub struct Report {
    pub title: Option<String>,
    pub context: Arc<Context>,
    pub goals: Vec<Derived>,
}

/// Why a goal could not be derived: which goal, and the engine's reason.
#[derive(Clone, Debug)]
pub struct GoalFailure {
    pub goal: usize,
    pub line: usize,
    pub error: EngineError,
}

/// Derive every goal of `doc` with the engine; each proof is kernel-checked by construction.
pub fn derive_document(doc: &Document) -> Result<Report, GoalFailure> {
    let context = Arc::new(doc.context.clone());
    let goals = doc
        .goals
        .iter()
        .enumerate()
        .map(|(i, g)| {
            engine::derive(context.clone(), &g.of, &g.wrt)
                .map(|proof| Derived {
                    of: g.of.clone(),
                    wrt: g.wrt.clone(),
                    proof,
                    checks: Checks::default(),
                })
                .map_err(|error| GoalFailure {
                    goal: i,
                    line: g.line,
                    error,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Report {
        title: doc.title.clone(),
        context,
        goals,
    })
}

/// The certificate of a report.
pub fn certificate(report: &Report) -> crate::certificate::Certificate {
    crate::certificate::Certificate {
        format: crate::certificate::FORMAT.to_string(),
        title: report.title.clone(),
        context: crate::certificate::context_json(&report.context),
        derivations: report
            .goals
            .iter()
            .map(|g| {
                crate::certificate::derivation_json(&g.proof, &g.of, &g.wrt, g.checks.json.clone())
            })
            .collect(),
    }
}
