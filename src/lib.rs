//! deriv: a formally checked symbolic derivation engine.
//!
//! ```text
//! text ──syntax (pest, grammar/deriv.pest)──▶ Expr / Document      errors: line, column, caret
//!   Expr + goal ──engine (untrusted strategies)──▶ proposed steps
//!   steps ──kernel (trusted, small; rules from the rule table)──▶ checked Derivation
//!   Derivation ──numeric (independent)──▶ per-step and final cross-checks
//!   Derivation ──render──▶ plain | latex | markdown | html | json | text
//! ```
//!
//! The modules follow that pipeline: [`syntax`] → [`expr`] → `rules` → `kernel` →
//! `engine` → `numeric` → [`render`] → [`cli`]. See ARCHITECTURE.md.

pub mod certificate;
pub mod cli;
pub mod coq;
pub mod engine;
pub mod expr;
pub mod functions;
pub mod kernel;
pub mod matrix;
pub mod numeric;
mod parallel;
pub mod render;
pub mod report;
pub mod rules;
#[cfg(test)]
mod seeded;
pub mod syntax;
pub mod terms;
