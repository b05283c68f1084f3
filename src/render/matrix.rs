//! Matrix expressions in the writeups: LaTeX (`2 (\mathbf{W} \mathbf{x} - \mathbf{y})
//! \mathbf{x}^{\top}`), Unicode text (`2·(𝐖·𝐱 - 𝐲)·𝐱ᵀ`) and MathML, with the brackets of the
//! plain printer. Vectors and matrices are set as the user chooses ([`Vectors`]: bold, with
//! arrows, or plain); scalars and function names come from each format's own term printer.

use super::latex::latex;
use super::mathml::{mathml, mo, row};
use super::unicode::unicode;
use crate::expr::{Expr, Sum};
use crate::matrix::print::{class, needs_parens, Class, Ctx};
use crate::matrix::{Elementwise, MFunc, M};
use std::collections::BTreeSet;

/// How the names of vectors and matrices are set in matrix notation (`deriv run --vectors`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Vectors {
    /// Bold upright vectors and matrices, as in most machine-learning texts: `\mathbf{x}`,
    /// `\mathbf{W}` (`\boldsymbol{\theta}` for a Greek name), `𝐱`, `<mi mathvariant="bold">`.
    #[default]
    Bold,
    /// An arrow over a vector (`\vec{x}`, `x⃗`, `<mover>`); a matrix stays a plain letter.
    Arrow,
    /// Every name as a scalar's: `x`, `W`.
    Plain,
}

/// What a printer needs to set names: the style, and which names are matrices (an arrow
/// marks vectors only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notation {
    pub vectors: Vectors,
    pub matrices: BTreeSet<String>,
}

impl Notation {
    /// How the name `n` is marked.
    fn mark(&self, n: &str) -> Mark {
        match self.vectors {
            Vectors::Bold => Mark::Bold,
            Vectors::Arrow if !self.matrices.contains(n) => Mark::Arrow,
            _ => Mark::None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Bold,
    Arrow,
    None,
}

/// The three notations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Latex,
    Unicode,
    MathMl,
}

/// Stands for a part printed separately, inside a term printed by a term printer.
const HOLE: &str = "\u{E000}";

pub fn matrix_latex(m: &M, n: &Notation) -> String {
    Printer { style: Style::Latex, notation: n }.write(m, Ctx::Top)
}

pub fn matrix_unicode(m: &M, n: &Notation) -> String {
    Printer { style: Style::Unicode, notation: n }.write(m, Ctx::Top)
}

pub fn matrix_mathml(m: &M, n: &Notation) -> String {
    match m {
        M::Scalar(e) => mathml(e),
        _ => row(&Printer { style: Style::MathMl, notation: n }.write(m, Ctx::Top)),
    }
}

/// The name of a vector or matrix, its letters marked and a trailing number left as the
/// term printers set it (`\mathbf{W}_2`, `𝐖2`).
fn name(n: &str, style: Style, notation: &Notation) -> String {
    let mark = notation.mark(n);
    let letters = n.trim_end_matches(|c: char| c.is_ascii_digit());
    let plain = |s: &str| match style {
        Style::Latex => super::latex::latex_name(s),
        Style::Unicode => super::unicode::name(s),
        Style::MathMl => super::mathml::name(s),
    };
    if mark == Mark::None || letters.is_empty() {
        return plain(n);
    }
    let (base, whole) = (plain(letters), plain(n));
    let marked = match (style, mark) {
        (Style::Latex, Mark::Bold) if base.starts_with('\\') && !base.starts_with("\\mathrm") => {
            format!("\\boldsymbol{{{base}}}")
        }
        (Style::Latex, Mark::Bold) => {
            format!("\\mathbf{{{}}}", base.trim_start_matches("\\mathrm{").trim_end_matches('}'))
        }
        (Style::Latex, _)
            if letters.chars().count() == 1
                || base.starts_with('\\') && !base.starts_with("\\mathrm") =>
        {
            format!("\\vec{{{base}}}")
        }
        (Style::Latex, _) => format!("\\overrightarrow{{{base}}}"),
        // The Unicode printer writes `theta2` as it stands: mark the whole name.
        (Style::Unicode, Mark::Bold) => return whole.chars().map(bold).collect(),
        (Style::Unicode, _) if !whole.starts_with(&base) => return format!("{whole}\u{20d7}"),
        (Style::Unicode, _) => format!("{base}\u{20d7}"),
        (Style::MathMl, Mark::Bold) => {
            let variant = if base.chars().any(is_greek) { "bold-italic" } else { "bold" };
            base.replacen("<mi>", &format!("<mi mathvariant=\"{variant}\">"), 1)
        }
        (Style::MathMl, _) => format!("<mover accent=\"true\">{base}<mo>\u{2192}</mo></mover>"),
    };
    // The number, as the term printer subscripts it after the letters.
    match whole.strip_prefix(&base) {
        Some(rest) => format!("{marked}{rest}"),
        None if style == Style::MathMl => whole.replacen(&base, &marked, 1),
        None => marked,
    }
}

fn is_greek(c: char) -> bool {
    matches!(c, '\u{391}'..='\u{3a9}' | '\u{3b1}'..='\u{3c9}' | 'ϵ' | 'ϑ' | 'ϰ' | 'ϕ' | 'ϱ' | 'ϖ')
}

/// A letter in Unicode's mathematical bold: Latin upright (`𝐖`), Greek italic (`𝜽`), as
/// `\mathbf` and `\boldsymbol` set them; anything else unchanged.
fn bold(c: char) -> char {
    let shifted = |from: char, to: u32| char::from_u32(to + (c as u32 - from as u32)).unwrap_or(c);
    match c {
        'A'..='Z' => shifted('A', 0x1d400),
        'a'..='z' => shifted('a', 0x1d41a),
        '\u{391}'..='\u{3a9}' => shifted('\u{391}', 0x1d71c),
        '\u{3b1}'..='\u{3c9}' => shifted('\u{3b1}', 0x1d736),
        'ϵ' => '\u{1d750}',
        'ϑ' => '\u{1d751}',
        'ϰ' => '\u{1d752}',
        'ϕ' => '\u{1d753}',
        'ϱ' => '\u{1d754}',
        'ϖ' => '\u{1d755}',
        _ => c,
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

/// Whether LaTeX takes `base` as one atom before a script: a letter, or one command with
/// one argument (`\mathbf{W}`, `\vec{x}`).
fn latex_atom(base: &str) -> bool {
    if base.chars().count() == 1 {
        return true;
    }
    let Some(rest) = base.strip_prefix('\\') else { return false };
    let Some(open) = rest.find('{') else { return false };
    let mut depth = 0;
    for (k, c) in rest[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return open + k + 1 == rest.len()
                && rest[..open].chars().all(|c| c.is_ascii_alphabetic());
        }
    }
    false
}

fn sup(base: &str, script: &str, style: Style) -> String {
    match style {
        // One letter needs no braces: `W^{\top}`, `\mathbf{W}^{\top}`.
        Style::Latex if latex_atom(base) => format!("{base}^{{{script}}}"),
        Style::Latex => format!("{{{base}}}^{{{script}}}"),
        Style::Unicode => format!("{base}{script}"),
        Style::MathMl => format!("<msup>{}{}</msup>", row(base), row(script)),
    }
}

/// A matrix expression in one notation.
struct Printer<'a> {
    style: Style,
    notation: &'a Notation,
}

impl Printer<'_> {
    fn write(&self, m: &M, at: Ctx) -> String {
        let style = self.style;
        let c = class(m);
        if needs_parens(c, at) {
            return parens(&self.write(m, Ctx::Top), style);
        }
        let signed = matches!(at, Ctx::Top | Ctx::Negated { signed: true });
        let w = |m: &M, at: Ctx| self.write(m, at);
        match m {
            M::Scalar(e) => term(e, style),
            M::Name(n) => name(n, style, self.notation),
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
                    Style::Unicode => {
                        format!("{base}^{}{exponent}", if hadamard { "∘" } else { "" })
                    }
                    Style::MathMl => {
                        let script = if hadamard {
                            format!("{}{exponent}", mo("\u{2218}"))
                        } else {
                            exponent
                        };
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
                        format!(
                            "<mi>{}</mi>{}{}{}",
                            f.name(),
                            mo("("),
                            inner.join(&mo(",")),
                            mo(")")
                        )
                    }
                }
            }
            M::Sum { index, lo, hi, explicit, body } => {
                let shell = Sum::written(index.clone(), lo.clone(), hi.clone(), *explicit, hole());
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
}
