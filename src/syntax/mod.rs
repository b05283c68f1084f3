//! Text to terms: the pest grammar in `grammar/deriv.pest`, wrapped so that every
//! failure is a [`Diagnostic`] in the project's own words and nothing panics or
//! overflows the stack.

mod diagnostic;
mod document;
mod matrix;
pub mod numbers;
mod parser;

pub use diagnostic::Diagnostic;
pub use document::{Document, Goal};
pub use matrix::parse_matrix;
pub use numbers::NumberStyle;
pub use parser::{parse_expr, parse_expr_in, parse_file, parse_variable, IndexScope};
