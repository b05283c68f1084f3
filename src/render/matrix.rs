//! Matrix expressions in the writeups: LaTeX (`2 (W x - y) x^{\top}`), Unicode text
//! (`2·(W·x - y)·xᵀ`) and MathML, with the brackets of the plain printer. Scalars and
//! function names come from each format's own term printer.

use super::latex::latex;
use super::mathml::{mathml, mo, row};
use super::unicode::unicode;
use crate::expr::{Expr, Sum};
use crate::matrix::print::{class, needs_parens, Class, Ctx};
use crate::matrix::{Elementwise, MFunc, M};
use std::sync::Arc;

/// The three notations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Latex,
    Unicode,
    MathMl,
}

/// Stands for a part printed separately, inside a term printed by a term printer.
const HOLE: &str = "\u{E000}";

pub fn matrix_latex(m: &M) -> String {
    write(m, Ctx::Top, Style::Latex)
}

pub fn matrix_unicode(m: &M) -> String {
    write(m, Ctx::Top, Style::Unicode)
}

pub fn matrix_mathml(m: &M) -> String {
    match m {
        M::Scalar(e) => mathml(e),
        _ => row(&write(m, Ctx::Top, Style::MathMl)),
    }
}

fn term(e: &Expr, style: Style) -> String {
    match style {
        Style::Latex => latex(e),
        Style::Unicode => unicode(e),
        Style::MathMl => mathml(e),
    }
}

/// `shell` (a term with the hole `HOLE` in it) printed, with `inner` in the hole.
fn fill(shell: &Expr, inner: &str, style: Style) -> String {
    let printed = term(shell, style);
    let hole = match style {
        Style::MathMl => format!("<mrow><mi>{HOLE}</mi></mrow>"),
        _ => HOLE.to_string(),
    };
    let hole = if printed.contains(&hole) { hole } else { format!("<mi>{HOLE}</mi>") };
    printed.replacen(&hole, inner, 1)
}

fn hole() -> Expr {
    Expr::Sym(HOLE.to_string())
}

fn op(s: &str, style: Style) -> String {
    match style {
        Style::MathMl => mo(s),
        _ => s.to_string(),
    }
}

fn parens(inner: &str, style: Style) -> String {
    match style {
        Style::MathMl => row(&format!("{}{}{}", mo("("), row(inner), mo(")"))),
        _ => format!("({inner})"),
    }
}

fn sup(base: &str, script: &str, style: Style) -> String {
    match style {
        // One letter needs no braces: `W^{\top}`.
        Style::Latex if base.chars().count() == 1 => format!("{base}^{{{script}}}"),
        Style::Latex => format!("{{{base}}}^{{{script}}}"),
        Style::Unicode => format!("{base}{script}"),
        Style::MathMl => format!("<msup>{}{}</msup>", row(base), row(script)),
    }
}

fn write(m: &M, at: Ctx, style: Style) -> String {
    let c = class(m);
    if needs_parens(c, at) {
        return parens(&write(m, Ctx::Top, style), style);
    }
    let signed = matches!(at, Ctx::Top | Ctx::Negated { signed: true });
    let w = |m: &M, at: Ctx| write(m, at, style);
    match m {
        M::Scalar(e) => term(e, style),
        M::Name(n) if style == Style::MathMl => super::mathml::name(n),
        M::Name(n) => term(&Expr::Sym(n.clone()), style),
        M::Add(ts) => {
            let mut out = String::new();
            for (k, t) in ts.iter().enumerate() {
                match (k, t) {
                    (0, _) => out.push_str(&w(t, if signed { Ctx::Top } else { Ctx::Term })),
                    (_, M::Neg(x)) => {
                        out.push_str(&op(
                            if style == Style::MathMl { "\u{2212}" } else { " - " },
                            style,
                        ));
                        out.push_str(&w(x, Ctx::Term));
                    }
                    _ => {
                        out.push_str(&op(" + ", style));
                        out.push_str(&w(t, Ctx::Term));
                    }
                }
            }
            if style == Style::MathMl {
                out = out.replace(&mo(" + "), &mo("+"));
            }
            out
        }
        M::Neg(x) => {
            let minus = op(if style == Style::MathMl { "\u{2212}" } else { "-" }, style);
            format!("{minus}{}", w(x, Ctx::Negated { signed }))
        }
        M::Mul(a, b) => {
            let (l, r) = (w(a, Ctx::Left), w(b, Ctx::Right));
            let between = match style {
                Style::Latex if r.starts_with(|c: char| c.is_ascii_digit()) => {
                    " \\cdot ".to_string()
                }
                // As the term printer writes `2(x - m)`: no space before a bracket.
                Style::Latex if r.starts_with('(') => String::new(),
                Style::Latex => " ".to_string(),
                Style::Unicode => "·".to_string(),
                Style::MathMl => mo("\u{2062}"),
            };
            format!("{l}{between}{r}")
        }
        M::Div(a, b) => match style {
            Style::Latex => format!("\\frac{{{}}}{{{}}}", w(a, Ctx::Top), w(b, Ctx::Top)),
            Style::MathMl => {
                format!("<mfrac>{}{}</mfrac>", row(&w(a, Ctx::Top)), row(&w(b, Ctx::Top)))
            }
            Style::Unicode => format!("{}/{}", w(a, Ctx::Left), w(b, Ctx::Right)),
        },
        M::Elementwise(kind @ (Elementwise::Mul | Elementwise::Div), a, b) => {
            let symbol = match (kind, style) {
                (Elementwise::Mul, Style::Latex) => " \\odot ",
                (_, Style::Latex) => " \\oslash ",
                (Elementwise::Mul, _) => " ⊙ ",
                _ => " ⊘ ",
            };
            let symbol =
                if style == Style::MathMl { mo(symbol.trim()) } else { symbol.to_string() };
            format!("{}{symbol}{}", w(a, Ctx::HadamardLeft), w(b, Ctx::HadamardRight))
        }
        M::Pow(a, b) | M::Elementwise(Elementwise::Pow, a, b) => {
            let hadamard = !matches!(m, M::Pow(..));
            let base = w(a, Ctx::Base);
            let exponent = w(b, Ctx::Exponent);
            match style {
                Style::Latex => sup(
                    &base,
                    &format!("{}{exponent}", if hadamard { "\\circ " } else { "" }),
                    style,
                ),
                Style::Unicode => format!("{base}^{}{exponent}", if hadamard { "∘" } else { "" }),
                Style::MathMl => {
                    let script =
                        if hadamard { format!("{}{exponent}", mo("\u{2218}")) } else { exponent };
                    sup(&base, &script, style)
                }
            }
        }
        M::Transpose(a) => {
            let base = w(a, Ctx::Postfix);
            match style {
                Style::Latex => sup(&base, "\\top", style),
                Style::Unicode => format!("{base}ᵀ"),
                Style::MathMl => sup(&base, &mo("\u{22a4}"), style),
            }
        }
        M::Call(f, a) => fill(&Expr::call(*f, hole()), &w(a, Ctx::Top), style),
        M::Apply(MFunc::Norm2, args) => {
            let inner = args.iter().map(|a| w(a, Ctx::Top)).collect::<Vec<_>>().join("");
            match style {
                Style::Latex => format!("\\lVert {inner} \\rVert^{{2}}"),
                Style::Unicode => format!("‖{inner}‖²"),
                Style::MathMl => sup(
                    &format!("{}{inner}{}", mo("\u{2016}"), mo("\u{2016}")),
                    "<mn>2</mn>",
                    style,
                ),
            }
        }
        M::Apply(MFunc::Outer, args) if args.len() == 2 => {
            w(&M::mul(args[0].clone(), M::transpose(args[1].clone())), at)
        }
        M::Apply(f, args) => {
            let inner: Vec<String> = args.iter().map(|a| w(a, Ctx::Top)).collect();
            match style {
                Style::Latex => format!("\\operatorname{{{}}}({})", f.name(), inner.join(", ")),
                Style::Unicode => format!("{}({})", f.name(), inner.join(", ")),
                Style::MathMl => {
                    format!("<mi>{}</mi>{}{}{}", f.name(), mo("("), inner.join(&mo(",")), mo(")"))
                }
            }
        }
        M::Sum { index, lo, hi, explicit, body } => {
            let shell = Expr::Sum(Sum {
                index: index.clone(),
                lo: lo.clone(),
                hi: hi.clone(),
                explicit_bounds: *explicit,
                body: Arc::new(hole()),
            });
            let inner = if class(body) <= Class::Neg {
                parens(&w(body, Ctx::Top), style)
            } else {
                w(body, Ctx::Top)
            };
            fill(&shell, &inner, style)
        }
        M::D(f, x) => fill(&Expr::d(hole(), x.clone()), &parens(&w(f, Ctx::Top), style), style),
    }
}
