//! LaTeX for the writeup's formulas, captions, chains and matrices, shared by the
//! Markdown writeup (read by MathJax and KaTeX) and the LaTeX document (read by pdflatex).
//! Terms themselves come from [`crate::render::latex::latex`].

use super::latex::latex;
use super::layout::Block;
use super::matrix::matrix_latex;
use super::writeup::{Formula, Line, Prose, Rel, Span};
use crate::engine::cases::Matrix;
use crate::expr::Expr;

/// A formula in math mode.
pub fn formula(f: &Formula) -> String {
    match f {
        Formula::Term(e) => latex(e),
        Formula::Rel(a, r, b) => format!("{} {} {}", latex(a), relation(*r), latex(b)),
        Formula::Range(names, lo, hi) => {
            let names: Vec<String> = names.iter().map(latex).collect();
            format!("{} \\in \\{{{}, \\dots, {}\\}}", names.join(", "), latex(lo), latex(hi))
        }
        Formula::OutsideRange(j, lo, hi) => {
            format!("{} \\notin \\{{{}, \\dots, {}\\}}", latex(j), latex(lo), latex(hi))
        }
        Formula::Gradient { of, wrt, value, notation: n } => format!(
            "\\nabla_{{{}}} {} = {}",
            matrix_latex(wrt, n),
            gradient_of(of, n),
            matrix_latex(value, n)
        ),
        Formula::Jacobian { of, wrt, value, notation: n } => format!(
            "\\frac{{\\partial {}}}{{\\partial {}}} = {}",
            matrix_latex(of, n),
            matrix_latex(wrt, n),
            matrix_latex(value, n)
        ),
        Formula::Matrix(m, n) => matrix_latex(m, n),
        Formula::Components { matrix, components, notation: n } => {
            format!("{} = {}", matrix_latex(matrix, n), latex(components))
        }
    }
}

/// What a gradient is of: a name as it stands, anything longer in brackets
/// (`\nabla_W \left(\lVert W x - y \rVert^{2}\right)`).
fn gradient_of(of: &crate::matrix::M, n: &super::matrix::Notation) -> String {
    let printed = matrix_latex(of, n);
    match of {
        crate::matrix::M::Scalar(e) => latex(e),
        crate::matrix::M::Name(_) => printed,
        _ => format!("\\left({printed}\\right)"),
    }
}

pub fn relation(r: Rel) -> &'static str {
    match r {
        Rel::Eq => "=",
        Rel::Ne => "\\neq",
        Rel::Gt => ">",
        Rel::Ge => r"\geq",
    }
}

/// Prose inside math mode, as a chain's caption: words in `\text{…}`, formulas as they are.
pub fn prose_in_math(p: &Prose) -> String {
    let mut out = String::new();
    for s in p {
        match s {
            Span::Text(t) => out.push_str(&format!("\\text{{{}}}", text_escape(t))),
            Span::Math(f) => out.push_str(&formula(f)),
        }
    }
    out
}

/// Prose in running text: words through `escape`, formulas between `$`.
pub fn prose_inline(p: &Prose, escape: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    for s in p {
        match s {
            Span::Text(t) => out.push_str(&escape(t)),
            Span::Math(f) => out.push_str(&format!("${}$", formula(f))),
        }
    }
    out
}

/// The rows of an equational chain for `aligned` or `align*`: `lhs &= t1 && \text{why} \\ …`.
pub fn chain_rows(statement: &Expr, lines: &[Line]) -> String {
    let rows: Vec<String> = lines
        .iter()
        .map(|line| format!("&= {} && {}", latex(&line.term), prose_in_math(&line.caption)))
        .collect();
    format!("{} {}", latex(statement), rows.join(" \\\\\n  "))
}

/// `∂a/∂z = (∂a_1/∂z_1 ⋯ ; ⋮ ⋱ ⋮ ; …) = (values)`.
pub fn matrix(m: &Matrix) -> String {
    matrix_parts(m).join(" = ")
}

/// The name of a Jacobian, its corners' partials and their values.
pub fn matrix_parts(m: &Matrix) -> [String; 3] {
    let pm = |cells: &[[Expr; 2]; 2]| {
        format!(
            "\\begin{{pmatrix}} {} & \\cdots & {} \\\\ \\vdots & \\ddots & \\vdots \\\\ {} & \\cdots & {} \\end{{pmatrix}}",
            latex(&cells[0][0]),
            latex(&cells[0][1]),
            latex(&cells[1][0]),
            latex(&cells[1][1])
        )
    };
    [latex(&m.name), pm(&m.partials), pm(&m.values)]
}

/// The body of a display block.
pub fn block(b: &Block) -> String {
    match b {
        Block::Formula(f) => formula(f),
        Block::Boxed(statement, result) => {
            format!("\\boxed{{{} = {}}}", latex(statement), latex(result))
        }
        Block::Matrix(m) => matrix(m),
    }
}

/// Words for LaTeX text mode (and `\text{…}`): the special characters escaped, and what
/// pdflatex cannot typeset from plain UTF-8 written out.
pub fn text_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '{' | '}' | '$' | '&' | '#' | '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '^' => out.push_str("\\textasciicircum{}"),
            '~' => out.push_str("\\textasciitilde{}"),
            '<' => out.push_str("\\textless{}"),
            '>' => out.push_str("\\textgreater{}"),
            '|' => out.push_str("\\textbar{}"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            // Latin-1 letters and typographic punctuation: UTF-8 input with T1 fonts.
            '\u{c0}'..='\u{ff}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{201c}'
            | '\u{201d}' => out.push(c),
            c if c.is_whitespace() => out.push(' '),
            // Neither KaTeX's text mode nor pdflatex without extra packages knows every
            // character: name it rather than fail to compile.
            c => out.push_str(&format!("[U+{:04X}]", c as u32)),
        }
    }
    out
}
