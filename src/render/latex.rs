//! The LaTeX printer (placeholder until the real one lands).

use crate::expr::Expr;

/// LaTeX for a term.
pub fn latex(e: &Expr) -> String {
    crate::render::plain::print(e)
}
