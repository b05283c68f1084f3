//! How a term reads when printed, as the two-dimensional printers (LaTeX, MathML, Unicode)
//! all see it: facts they share so that their brackets agree.

use crate::expr::Expr;
use num_traits::Signed;

/// Whether a term prints with a leading minus sign (the shapes [`Expr::unneg`] accepts,
/// and products and quotients that start with one).
pub fn reads_negative(e: &Expr) -> bool {
    match e {
        Expr::Num(r) => r.is_negative(),
        Expr::Neg(_) => true,
        Expr::Mul(fs) => fs.first().is_some_and(reads_negative),
        Expr::Div(a, _) => reads_negative(a),
        _ => false,
    }
}
