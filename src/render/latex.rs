//! The LaTeX printer: what a careful person writes by hand (`\frac`, `\sum_{k=1}^{n}`,
//! `\delta_{ij}`, `e^{z_i}`, `\frac{\partial l}{\partial z_j}`), valid under KaTeX in strict mode.
//!
//! The output follows the term's shape (a `Div` is a `\frac`, a nested product keeps its
//! brackets) so that every step of a writeup shows exactly what the kernel checked.

use super::shape::{exp_as_power, higher_partial, right_open, tall};
use super::texbreak::{BREAK_INSIDE, BREAK_PRODUCT, BREAK_SUM};
use crate::expr::{Bound, Expr, Func, Index};
use crate::terms::ExprExt;
use crate::terms::RatExt;
use num_traits::Signed;

/// LaTeX for a term (math mode, no surrounding `$`).
pub fn latex(e: &Expr) -> String {
    super::texbreak::strip(&latex_marked(e))
}

/// [`latex`] with the places a long display may break marked (see [`super::texbreak`]).
pub fn latex_marked(e: &Expr) -> String {
    let mut out = String::new();
    write(&super::display_form(e), Ctx::Top, &mut out);
    out
}

/// Where a term is printed, which decides whether it needs brackets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Self-delimited: top level, `\frac{…}{…}`, braces, brackets, function arguments.
    Top,
    /// A term of a sum, after its sign.
    AddTerm,
    /// A factor of a product, juxtaposed with its neighbours.
    Factor { last: bool },
    /// The operand of a unary minus.
    Negated,
    /// The summand of `\sum`, which runs to the end of the enclosing expression.
    Summand,
    /// The base of a power.
    Base,
}

fn needs_brackets(e: &Expr, ctx: Ctx) -> bool {
    let is_add = matches!(e, Expr::Add(_));
    match ctx {
        Ctx::Top => false,
        Ctx::AddTerm => is_add,
        // A nested product keeps its brackets: `(a b) c` is a different term from `a b c`,
        // and `(-x) y` from `-x y`, which is the negation of the product.
        Ctx::Factor { last } => {
            is_add || matches!(e, Expr::Mul(_)) || reads_negative(e) || (!last && right_open(e))
        }
        Ctx::Negated | Ctx::Summand => is_add || reads_negative(e),
        Ctx::Base => {
            !matches!(e, Expr::Sym(_) | Expr::Idx(_, _) | Expr::Delta(_, _))
                && !matches!(e, Expr::Num(r) if super::decimals::whole(r) && !r.is_negative())
                && !matches!(e, Expr::Call(f, _) if !matches!(f, Func::Exp | Func::Sqrt))
        }
    }
}

/// Whether a term prints with a leading minus sign (the terms [`Expr::unneg`] accepts).
/// Unlike [`super::shape::reads_negative`], a product or quotient that starts with a
/// negative factor does not: that factor keeps its brackets, `(-x) y`, since the term
/// differs from `-x y`, the negation of the product.
fn reads_negative(e: &Expr) -> bool {
    match e {
        Expr::Num(r) => r.is_negative(),
        Expr::Neg(_) => true,
        _ => false,
    }
}

fn bracket(e: &Expr, out: &mut String) {
    let (open, close) = if tall(e) { ("\\left(", "\\right)") } else { ("(", ")") };
    out.push_str(open);
    write(e, Ctx::Top, out);
    out.push_str(close);
}

fn write(e: &Expr, ctx: Ctx, out: &mut String) {
    if needs_brackets(e, ctx) {
        bracket(e, out);
        return;
    }
    match e {
        Expr::Num(r) => write_number(r, out),
        Expr::Sym(s) => out.push_str(&latex_name(s)),
        Expr::Idx(name, ix) => out.push_str(&latex_indexed(name, ix)),
        Expr::Add(terms) => {
            for (i, t) in terms.iter().enumerate() {
                match t.unneg() {
                    Some(positive) if i > 0 => {
                        out.push(BREAK_SUM);
                        out.push_str(" - ");
                        // `a - (-b)`, never `a - -b`.
                        if reads_negative(&positive) {
                            bracket(&positive, out);
                        } else {
                            write(&positive, Ctx::AddTerm, out);
                        }
                    }
                    _ => {
                        if i > 0 {
                            out.push(BREAK_SUM);
                            out.push_str(" + ");
                        }
                        write(t, Ctx::AddTerm, out);
                    }
                }
            }
        }
        Expr::Mul(fs) => write_product(fs, out),
        Expr::Div(a, b) => {
            out.push_str("\\frac{");
            write(a, Ctx::Top, out);
            out.push_str("}{");
            write(b, Ctx::Top, out);
            out.push('}');
        }
        Expr::Neg(x) => {
            out.push('-');
            write(x, Ctx::Negated, out);
        }
        Expr::Pow(b, x) => {
            write(b, Ctx::Base, out);
            out.push_str("^{");
            write(x, Ctx::Top, out);
            out.push('}');
        }
        Expr::Call(Func::Exp, a) if a.as_num().is_some_and(|r| *r == crate::expr::Rat::int(1)) => {
            out.push('e');
        }
        Expr::Call(Func::Exp, a) if exp_as_power(a) => {
            out.push_str("e^{");
            write(a, Ctx::Top, out);
            out.push('}');
        }
        Expr::Call(Func::Sqrt, a) => {
            out.push_str("\\sqrt{");
            write(a, Ctx::Top, out);
            out.push('}');
        }
        Expr::Call(Func::Abs, a) => {
            let (open, close) = if tall(a) { ("\\left|", "\\right|") } else { ("|", "|") };
            out.push_str(open);
            write(a, Ctx::Top, out);
            out.push_str(close);
        }
        Expr::Call(f, a) => {
            out.push_str(func_name(*f));
            let (open, close) = if tall(a) { ("\\left(", "\\right)") } else { ("(", ")") };
            out.push_str(open);
            out.push(BREAK_INSIDE);
            write(a, Ctx::Top, out);
            out.push_str(close);
        }
        Expr::Delta(a, b) => {
            out.push_str("\\delta_{");
            out.push_str(&index_list(&[a.clone(), b.clone()]));
            out.push('}');
        }
        Expr::Sum(s) => {
            out.push_str(&format!(
                "\\sum_{{{}={}}}^{{{}}} ",
                latex_name(&s.index),
                latex_bound(&s.lo),
                latex_bound(&s.hi)
            ));
            write(&s.body, Ctx::Summand, out);
        }
        Expr::D(..) if higher_partial(e).is_some() => {
            let Some((f, by)) = higher_partial(e) else { return };
            let order: usize = by.iter().map(|(_, k)| k).sum();
            out.push_str(&format!("\\frac{{\\partial^{{{order}}} "));
            write(f, Ctx::Top, out);
            out.push_str("}{");
            for (n, (x, k)) in by.into_iter().enumerate() {
                out.push_str(if n == 0 { "\\partial " } else { " \\partial " });
                write(x, Ctx::Top, out);
                if k > 1 {
                    out.push_str(&format!("^{{{k}}}"));
                }
            }
            out.push('}');
        }
        Expr::D(f, x) => {
            if f.is_variable() {
                out.push_str("\\frac{\\partial ");
                write(f, Ctx::Top, out);
                out.push_str("}{\\partial ");
                write(x, Ctx::Top, out);
                out.push('}');
            } else {
                out.push_str("\\frac{\\partial}{\\partial ");
                write(x, Ctx::Top, out);
                out.push_str("}\\left(");
                write(f, Ctx::Top, out);
                out.push_str("\\right)");
            }
        }
    }
}

/// A number: `3`, `0.25` where the input writes decimals, else `\frac{1}{3}`. Kept out of
/// [`write`], whose frame every level of a deep term pays for.
#[inline(never)]
fn write_number(r: &crate::expr::Rat, out: &mut String) {
    if r.is_negative() {
        out.push('-');
    }
    let (n, d) = (r.numer().abs(), r.denom());
    if r.is_integer() {
        out.push_str(&n.to_string());
    } else if let Some(digits) = super::decimals::decimal(r) {
        out.push_str(&digits);
    } else {
        out.push_str(&format!("\\frac{{{n}}}{{{d}}}"));
    }
}

/// Factors side by side, with `\cdot` only where juxtaposition would misread.
fn write_product(fs: &[Expr], out: &mut String) {
    let n = fs.len();
    let parts: Vec<String> = fs
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut s = String::new();
            write(f, Ctx::Factor { last: i + 1 == n }, &mut s);
            s
        })
        .collect();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(BREAK_PRODUCT);
            let prev = &parts[i - 1];
            let upright = |s: &str| s.starts_with("\\mathrm");
            let bracketed = part.starts_with('(') || part.starts_with("\\left(");
            // `2 \cdot 3`, `x \cdot 2^{n}`, `2 \cdot \frac{1}{3}` (not a mixed number),
            // `\mathrm{lr} \cdot x`, and `\sigma \cdot (x + 1)`, which would read as the sigmoid.
            let dot = part.starts_with(|c: char| c.is_ascii_digit())
                || matches!(fs[i], Expr::Num(_))
                || upright(prev)
                || upright(part)
                || (bracketed && prev == func_name(Func::Sigmoid));
            if dot {
                out.push_str(" \\cdot ");
            } else if !bracketed {
                out.push(' ');
            }
        }
        out.push_str(part);
    }
}

fn func_name(f: Func) -> &'static str {
    crate::functions::spec(f).latex
}

/// Greek letter names KaTeX knows; `delta` is reserved for the Kronecker delta.
const GREEK: [&str; 39] = [
    "alpha",
    "beta",
    "gamma",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "varpi",
    "rho",
    "varrho",
    "sigma",
    "varsigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
];

fn greek(name: &str) -> Option<String> {
    GREEK.contains(&name).then(|| format!("\\{name}"))
}

/// A name with no subscript of its own: a letter, a Greek letter, or an upright word.
fn plain_name(name: &str) -> String {
    // One character first: most names are, and no Greek letter is.
    if name.chars().count() == 1 {
        name.to_string()
    } else if let Some(g) = greek(name) {
        g
    } else {
        format!("\\mathrm{{{name}}}")
    }
}

/// `x`, `\alpha`, `x_1`, `\sigma_2`, `x_{12}`, `\mathrm{rate}`: a symbol's or index's name.
pub fn latex_name(name: &str) -> String {
    let letters = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &name[letters.len()..];
    if letters.is_empty() || digits.is_empty() {
        plain_name(name)
    } else {
        format!("{}_{}", plain_name(letters), script(digits))
    }
}

/// A subscript or superscript: one character bare, anything longer in braces.
fn script(s: &str) -> String {
    if s.chars().count() == 1 {
        s.to_string()
    } else {
        format!("{{{s}}}")
    }
}

/// An index: its name as for [`latex_name`], or the integer.
pub fn latex_index(i: &Index) -> String {
    match i {
        Index::Name(n) => latex_name(n),
        Index::Int(k) => k.to_string(),
    }
}

/// A summation bound.
pub fn latex_bound(b: &Bound) -> String {
    match b {
        Bound::Int(k) => k.to_string(),
        Bound::Sym(s, 0) => latex_name(s),
        Bound::Sym(s, k) => format!("{}{k:+}", latex_name(s)),
    }
}

/// `ij` when every index is one character, else `i,k_1`.
fn index_list(ix: &[Index]) -> String {
    let long = ix.iter().any(|i| match i {
        Index::Name(n) => n.chars().count() > 1,
        Index::Int(k) => !(0..=9).contains(k),
    });
    let parts: Vec<String> = ix.iter().map(latex_index).collect();
    parts.join(if long { "," } else { "" })
}

/// `z_i`, `z_{12}`, `W_{ij}`, `W_{i,k_1}`; a name that already ends in digits stays upright
/// (`\mathrm{x1}_i`) rather than taking two subscripts.
pub fn latex_indexed(name: &str, ix: &[Index]) -> String {
    format!("{}_{}", plain_name(name), script(&index_list(ix)))
}
