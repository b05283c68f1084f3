//! The plain printer of matrix expressions: the input syntax with the fewest parentheses
//! that parse back to the same expansion (`2*(W*x - y)*x'`).

use super::{Elementwise, M};
use crate::expr::{Context, Expr};
use crate::render::plain::{print as print_plain, print_in};

/// How tightly a node binds, loosest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Class {
    Add,
    Neg,
    /// `.*`, `./`: bracketed against `*` either way, for the reader.
    Hadamard,
    Mul,
    Pow,
    Postfix,
    Atom,
}

fn scalar_class(e: &Expr) -> Class {
    match e {
        Expr::Add(_) => Class::Add,
        Expr::Neg(_) => Class::Neg,
        Expr::Num(r) if r.is_negative() => Class::Neg,
        Expr::Num(r) if !r.is_integer() => Class::Mul,
        Expr::Mul(_) | Expr::Div(..) => Class::Mul,
        Expr::Pow(..) => Class::Pow,
        _ => Class::Atom,
    }
}

pub(crate) fn class(m: &M) -> Class {
    match m {
        M::Scalar(e) => scalar_class(e),
        M::Add(ts) if ts.len() > 1 => Class::Add,
        M::Add(_) => Class::Atom,
        M::Neg(_) => Class::Neg,
        M::Mul(..) | M::Div(..) => Class::Mul,
        M::Elementwise(Elementwise::Pow, ..) | M::Pow(..) => Class::Pow,
        M::Elementwise(..) => Class::Hadamard,
        M::Transpose(_) => Class::Postfix,
        M::Name(_) | M::Call(..) | M::Apply(..) | M::Sum { .. } | M::D(..) => Class::Atom,
    }
}

/// Where a node is printed (every printer of matrix expressions shares these).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    Top,
    /// A later term of a sum.
    Term,
    /// The left operand of `*`, `/`.
    Left,
    /// The right operand of those.
    Right,
    /// The left operand of `.*`, `./`.
    HadamardLeft,
    /// The right operand of those.
    HadamardRight,
    Base,
    Exponent,
    /// The operand of `'`.
    Postfix,
    /// The operand of a minus sign; `signed` where it starts an expression (and negates a
    /// whole product).
    Negated {
        signed: bool,
    },
}

pub(crate) fn needs_parens(c: Class, ctx: Ctx) -> bool {
    match ctx {
        Ctx::Top => false,
        Ctx::Term => c == Class::Add,
        Ctx::Left => c <= Class::Hadamard,
        Ctx::Right => c <= Class::Mul,
        Ctx::HadamardLeft => matches!(c, Class::Add | Class::Neg | Class::Mul),
        Ctx::HadamardRight => c <= Class::Mul,
        Ctx::Base => c <= Class::Pow,
        Ctx::Exponent => matches!(c, Class::Add | Class::Mul | Class::Hadamard),
        Ctx::Postfix => c < Class::Postfix,
        Ctx::Negated { signed } => {
            c == Class::Add || (matches!(c, Class::Mul | Class::Hadamard) && !signed)
        }
    }
}

/// The text of a matrix expression; sums in scalars are written with their bounds where
/// `ctx`'s declarations would not give them.
pub fn print(m: &M, ctx: Option<&Context>) -> String {
    let mut out = String::new();
    write(m, Ctx::Top, ctx, &mut out);
    out
}

fn write(m: &M, at: Ctx, cx: Option<&Context>, out: &mut String) {
    if needs_parens(class(m), at) {
        out.push('(');
        write(m, Ctx::Top, cx, out);
        out.push(')');
        return;
    }
    let signed = matches!(at, Ctx::Top | Ctx::Negated { signed: true });
    match m {
        M::Scalar(e) => out.push_str(&match cx {
            Some(c) => print_in(e, c),
            None => print_plain(e),
        }),
        M::Name(n) => out.push_str(n),
        M::Add(ts) => {
            for (k, t) in ts.iter().enumerate() {
                match (k, t) {
                    (0, _) => write(t, if signed { Ctx::Top } else { Ctx::Term }, cx, out),
                    (_, M::Neg(x)) => {
                        out.push_str(" - ");
                        write(x, Ctx::Term, cx, out);
                    }
                    _ => {
                        out.push_str(" + ");
                        write(t, Ctx::Term, cx, out);
                    }
                }
            }
        }
        M::Neg(x) => {
            out.push('-');
            write(x, Ctx::Negated { signed }, cx, out);
        }
        M::Mul(a, b) | M::Div(a, b) | M::Elementwise(Elementwise::Mul | Elementwise::Div, a, b) => {
            let op = match m {
                M::Mul(..) => "*",
                M::Div(..) => "/",
                M::Elementwise(op, ..) => op.symbol(),
                _ => "",
            };
            let hadamard = op.starts_with('.');
            let (left, right) = if hadamard {
                (Ctx::HadamardLeft, Ctx::HadamardRight)
            } else {
                (Ctx::Left, Ctx::Right)
            };
            write(a, left, cx, out);
            // `.*` reads best spaced; `*` and `/` as in the expression syntax.
            if hadamard {
                out.push_str(&format!(" {op} "));
            } else {
                out.push_str(op);
            }
            write(b, right, cx, out);
        }
        M::Pow(a, b) | M::Elementwise(Elementwise::Pow, a, b) => {
            write(a, Ctx::Base, cx, out);
            out.push_str(if matches!(m, M::Pow(..)) { "^" } else { ".^" });
            write(b, Ctx::Exponent, cx, out);
        }
        M::Transpose(a) => {
            write(a, Ctx::Postfix, cx, out);
            out.push('\'');
        }
        M::Call(f, a) => {
            out.push_str(f.name());
            out.push('(');
            write(a, Ctx::Top, cx, out);
            out.push(')');
        }
        M::Apply(f, args) => {
            out.push_str(f.name());
            out.push('(');
            for (k, a) in args.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                write(a, Ctx::Top, cx, out);
            }
            out.push(')');
        }
        M::Sum { index, lo, hi, explicit, body } => {
            if *explicit {
                out.push_str(&format!("sum_{{{index}={lo}}}^{{{hi}}}("));
            } else {
                out.push_str(&format!("sum_{index}("));
            }
            write(body, Ctx::Top, cx, out);
            out.push(')');
        }
        M::D(f, x) => {
            out.push_str("D(");
            write(f, Ctx::Top, cx, out);
            out.push_str(", ");
            out.push_str(&print_plain(x));
            out.push(')');
        }
    }
}
