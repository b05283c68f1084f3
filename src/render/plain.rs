//! The plain printer: the expression syntax of LANGUAGE.md with the fewest parentheses
//! that still parse back to the same term.

use crate::expr::{Expr, Index, Rat};
use num_traits::Signed;

/// Print a term in the input syntax; `parse_expr(&print(e)) == e` for parser-shaped terms.
pub fn print(e: &Expr) -> String {
    let mut out = String::new();
    write(e, Ctx::Top, &mut out);
    out
}

/// Where a term is printed, which decides whether it needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Anywhere a whole expression may stand: top level, inside parentheses or a call.
    Top,
    /// A term of a sum after `+` or `-`.
    AddTerm,
    /// The first factor of a product.
    Leading,
    /// The numerator of a division.
    Numerator,
    /// A later factor of a product, or a denominator.
    Factor,
    /// The operand of a unary minus.
    Negated,
    /// The base of a power.
    Base,
    /// The exponent of a power.
    Exponent,
}

fn needs_parens(e: &Expr, ctx: Ctx) -> bool {
    let fractional = |r: &Rat| !r.is_integer();
    match e {
        Expr::Add(_) => ctx != Ctx::Top,
        Expr::Mul(_) => matches!(
            ctx,
            Ctx::Leading | Ctx::Factor | Ctx::Negated | Ctx::Base | Ctx::Exponent
        ),
        Expr::Div(_, _) => matches!(ctx, Ctx::Factor | Ctx::Negated | Ctx::Base | Ctx::Exponent),
        Expr::Neg(_) => matches!(ctx, Ctx::Base),
        Expr::Num(r) => match ctx {
            Ctx::Top | Ctx::AddTerm | Ctx::Leading | Ctx::Numerator => false,
            Ctx::Base => r.is_negative() || fractional(r),
            Ctx::Factor | Ctx::Exponent | Ctx::Negated => fractional(r),
        },
        Expr::Pow(_, _) => ctx == Ctx::Base,
        _ => false,
    }
}

fn write(e: &Expr, ctx: Ctx, out: &mut String) {
    if needs_parens(e, ctx) {
        out.push('(');
        write(e, Ctx::Top, out);
        out.push(')');
        return;
    }
    match e {
        Expr::Num(r) => write_rat(r, out),
        Expr::Sym(s) => out.push_str(s),
        Expr::Idx(name, ix) => write_indexed(name, ix, out),
        Expr::Add(terms) => {
            for (i, t) in terms.iter().enumerate() {
                if i == 0 {
                    write(t, Ctx::AddTerm, out);
                } else if let Some(positive) = t.unneg() {
                    out.push_str(" - ");
                    write(&positive, Ctx::AddTerm, out);
                } else {
                    out.push_str(" + ");
                    write(t, Ctx::AddTerm, out);
                }
            }
        }
        Expr::Mul(fs) => {
            for (i, f) in fs.iter().enumerate() {
                if i > 0 {
                    out.push('*');
                }
                write(f, if i == 0 { Ctx::Leading } else { Ctx::Factor }, out);
            }
        }
        Expr::Div(a, b) => {
            write(a, Ctx::Numerator, out);
            out.push('/');
            write(b, Ctx::Factor, out);
        }
        Expr::Neg(x) => {
            out.push('-');
            write(x, Ctx::Negated, out);
        }
        Expr::Pow(b, x) => {
            write(b, Ctx::Base, out);
            out.push('^');
            write(x, Ctx::Exponent, out);
        }
        Expr::Call(f, a) => {
            out.push_str(f.name());
            out.push('(');
            write(a, Ctx::Top, out);
            out.push(')');
        }
        Expr::Delta(a, b) => {
            out.push_str(&format!("delta({a},{b})"));
        }
        Expr::Sum(s) => {
            if s.explicit_bounds {
                out.push_str(&format!("sum_{{{}={}}}^{{{}}}(", s.index, s.lo, s.hi));
            } else {
                out.push_str(&format!("sum_{}(", s.index));
            }
            write(&s.body, Ctx::Top, out);
            out.push(')');
        }
        Expr::D(f, x) => {
            out.push_str("D(");
            write(f, Ctx::Top, out);
            out.push_str(", ");
            write(x, Ctx::Top, out);
            out.push(')');
        }
    }
}

fn write_rat(r: &Rat, out: &mut String) {
    if r.is_integer() {
        out.push_str(&r.numer().to_string());
    } else {
        out.push_str(&format!("{}/{}", r.numer(), r.denom()));
    }
}

/// `z_i`, `z_1`, `W_{i,j}`.
pub fn write_indexed(name: &str, ix: &[Index], out: &mut String) {
    out.push_str(name);
    out.push('_');
    if ix.len() == 1 {
        out.push_str(&ix[0].to_string());
    } else {
        let parts: Vec<String> = ix.iter().map(Index::to_string).collect();
        out.push_str(&format!("{{{}}}", parts.join(",")));
    }
}
