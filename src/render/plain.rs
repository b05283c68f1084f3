//! The plain printer: the expression syntax of docs/LANGUAGE.md with the fewest parentheses
//! that still parse back to the same term.

use crate::expr::{Context, Expr, Index, Rat};
use crate::terms::ExprExt;
use crate::terms::RatExt;

/// Terms display as this printer prints them (the kernel prints terms only in messages).
impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&print(self))
    }
}

/// `n`, or `n/d` with `d > 1`.
impl std::fmt::Display for Rat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_big())
    }
}

impl std::fmt::Debug for Rat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

/// Print a term in the input syntax; `parse_expr(&print(e)) == e` for parser-shaped terms.
pub fn print(e: &Expr) -> String {
    let mut out = String::new();
    write(&super::constants_as_names(e), Ctx::Top, &mut out, None);
    out
}

/// Print a term so that it parses back the same under `ctx`'s index declarations:
/// a sum whose range is not its index's declared range is written with its bounds.
pub fn print_in(e: &Expr, ctx: &Context) -> String {
    let mut out = String::new();
    write(&super::constants_as_names(e), Ctx::Top, &mut out, Some(ctx));
    out
}

/// Where a term is printed, which decides whether it needs parentheses.
///
/// The grammar reads minus signs two ways: at the start of an expression they negate the
/// whole product or quotient that follows (`-x*y` is `-(x*y)`), anywhere else only the
/// power that follows (`a + -x*y` is `a + (-x)*y`). `signed` marks the leftmost path of
/// a term that starts an expression, where the first reading applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Anywhere a whole expression may stand: top level, inside parentheses or a call.
    Top,
    /// A term of a sum: the first, or one after `+` or `-`.
    AddTerm { first: bool },
    /// The first factor of a product.
    Leading { signed: bool },
    /// The numerator of a division.
    Numerator { signed: bool },
    /// A later factor of a product, or a denominator.
    Factor,
    /// The operand of a unary minus.
    Negated { signed: bool },
    /// The base of a power.
    Base,
    /// The exponent of a power.
    Exponent,
}

impl Ctx {
    /// Whether a minus sign printed first here starts an expression (see [`Ctx`]).
    fn signed(self) -> bool {
        match self {
            Ctx::Top | Ctx::AddTerm { first: true } => true,
            Ctx::Leading { signed } | Ctx::Numerator { signed } | Ctx::Negated { signed } => signed,
            _ => false,
        }
    }
}

fn needs_parens(e: &Expr, ctx: Ctx) -> bool {
    let fractional = |r: &Rat| !super::decimals::whole(r);
    // Where only a power may follow a minus sign.
    let power_only = !ctx.signed();
    match e {
        Expr::Add(_) => ctx != Ctx::Top,
        Expr::Mul(_) => match ctx {
            Ctx::Leading { .. } | Ctx::Factor | Ctx::Base | Ctx::Exponent => true,
            Ctx::Negated { signed } => !signed,
            _ => false,
        },
        Expr::Div(_, _) => match ctx {
            Ctx::Factor | Ctx::Base | Ctx::Exponent => true,
            Ctx::Negated { signed } => !signed,
            _ => false,
        },
        Expr::Neg(x) => match ctx {
            Ctx::Base => true,
            // `-x*y` here would negate the whole term, not its first factor.
            Ctx::Leading { signed: true } | Ctx::Numerator { signed: true } => true,
            _ => power_only && matches!(**x, Expr::Mul(_) | Expr::Div(_, _)),
        },
        Expr::Num(r) => match ctx {
            Ctx::Base => r.is_negative() || fractional(r),
            Ctx::Leading { signed: true } | Ctx::Numerator { signed: true } => r.is_negative(),
            Ctx::Factor | Ctx::Exponent | Ctx::Negated { .. } => fractional(r),
            _ => false,
        },
        Expr::Pow(_, _) => ctx == Ctx::Base,
        // The parser reads a bare `x^T` as a mistaken transpose.
        Expr::Sym(s) => ctx == Ctx::Exponent && s == "T",
        _ => false,
    }
}

fn write(e: &Expr, ctx: Ctx, out: &mut String, decl: Option<&Context>) {
    if needs_parens(e, ctx) {
        out.push('(');
        write(e, Ctx::Top, out, decl);
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
                    write(t, Ctx::AddTerm { first: true }, out, decl);
                } else if let Some(positive) = t.unneg() {
                    out.push_str(" - ");
                    write(&positive, Ctx::AddTerm { first: false }, out, decl);
                } else {
                    out.push_str(" + ");
                    write(t, Ctx::AddTerm { first: false }, out, decl);
                }
            }
        }
        Expr::Mul(fs) => {
            for (i, f) in fs.iter().enumerate() {
                if i > 0 {
                    out.push('*');
                }
                let signed = ctx.signed();
                let f_ctx = if i == 0 { Ctx::Leading { signed } } else { Ctx::Factor };
                write(f, f_ctx, out, decl);
            }
        }
        Expr::Div(a, b) => {
            write(a, Ctx::Numerator { signed: ctx.signed() }, out, decl);
            out.push('/');
            write(b, Ctx::Factor, out, decl);
        }
        Expr::Neg(x) => {
            out.push('-');
            write(x, Ctx::Negated { signed: ctx.signed() }, out, decl);
        }
        Expr::Pow(b, x) => {
            write(b, Ctx::Base, out, decl);
            out.push('^');
            write(x, Ctx::Exponent, out, decl);
        }
        Expr::Call(f, a) => {
            out.push_str(f.name());
            out.push('(');
            write(a, Ctx::Top, out, decl);
            out.push(')');
        }
        Expr::Delta(a, b) => {
            out.push_str(&format!("delta({a},{b})"));
        }
        Expr::Sum(s) => {
            let declared = decl.map(|c| c.range_of(&s.index) == Some((&s.lo, &s.hi)));
            if declared == Some(false) || (decl.is_none() && s.explicit_bounds) {
                out.push_str(&format!("sum_{{{}={}}}^{{{}}}(", s.index, s.lo, s.hi));
            } else {
                out.push_str(&format!("sum_{}(", s.index));
            }
            write(&s.body, Ctx::Top, out, decl);
            out.push(')');
        }
        Expr::D(f, x) => {
            out.push_str("D(");
            write(f, Ctx::Top, out, decl);
            out.push_str(", ");
            write(x, Ctx::Top, out, decl);
            out.push(')');
        }
    }
}

/// A number: `3`, `0.25` where the input writes decimals, else `1/3`. Kept out of the
/// recursive printers' frames, which every level of a deep term pays for.
#[inline(never)]
pub(crate) fn write_rat(r: &Rat, out: &mut String) {
    if r.is_integer() {
        out.push_str(&r.numer().to_string());
    } else if let Some(digits) = super::decimals::decimal(r) {
        out.push_str(if r.is_negative() { "-" } else { "" });
        out.push_str(&digits);
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
