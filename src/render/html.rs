//! The HTML writeup: one self-contained page (no scripts, fonts or styles from the network)
//! with the math as MathML and every piece of user text escaped.
//!
//! Long formulas wrap like text: a formula is cut where the printer marks a break (before
//! the sign of a term, between factors) into several inline `<math>` pieces with a line
//! break opportunity between them, so no page needs horizontal scrolling.

use super::layout::{lay_out, Block, Format};
use super::mathml::{mathml, mathml_marked, mo, row};
use super::matrix::matrix_mathml;
use super::texbreak::{is_mark, strip, BREAK_INSIDE, BREAK_PRODUCT, BREAK_SUM};
use super::writeup::{Formula, Line, Prose, Rel, Span, Writeup};
use crate::engine::cases::Matrix;
use crate::expr::Expr;

const STYLE: &str =
    "body { font-family: Georgia, 'DejaVu Serif', serif; color: #111; background: #fff; \
max-width: 60em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }\n\
math { font-family: 'Latin Modern Math', 'STIX Two Math', math; font-size: 1.15em; }\n\
.display { overflow-x: auto; overflow-y: hidden; margin: 0.8em 0; padding: 0.2em 0; }\n\
.flow { text-align: center; }\n\
table.chain { border-collapse: collapse; }\n\
table.chain td { padding: 0.35em 0.4em; vertical-align: middle; }\n\
table.chain td.lhs { text-align: right; }\n\
table.chain td.term { padding-left: 2.4em; text-indent: -2em; }\n\
table.chain td.why { color: #444; font-style: italic; padding-left: 1.5em; }\n\
.result { display: inline-block; border: 1px solid #333; padding: 0.3em 1em; margin: 0.8em 0; }\n\
.checked { color: #555; font-style: italic; }\n";

/// The HTML page of a writeup.
pub fn html(w: &Writeup) -> String {
    let mut page = Page(String::new());
    page.0.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.0.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.0.push_str(&format!(
        "<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escape(&w.title)
    ));
    lay_out(w, &mut page);
    page.0.push_str("</body>\n</html>\n");
    page.0
}

struct Page(String);

/// Text for HTML: the characters that could start markup or end an attribute, escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A formula as MathML content (one element).
pub fn formula(f: &Formula) -> String {
    strip(&formula_marked(f))
}

/// [`formula`] with the break marks of its terms.
fn formula_marked(f: &Formula) -> String {
    let mathml = mathml_marked;
    match f {
        Formula::Term(e) => mathml(e),
        Formula::Rel(a, r, b) => {
            let op = match r {
                Rel::Eq => "=",
                Rel::Ne => "\u{2260}",
                Rel::Gt => ">",
                Rel::Ge => "≥",
            };
            row(&format!("{}{}{}", mathml(a), mo(op), mathml(b)))
        }
        Formula::Range(names, lo, hi) => {
            let names: Vec<String> = names.iter().map(mathml).collect();
            let set = [mo("{"), mathml(lo), mo(","), mo("\u{2026}"), mo(","), mathml(hi), mo("}")]
                .concat();
            row(&format!("{}{}{set}", names.join(&mo(",")), mo("\u{2208}")))
        }
        Formula::OutsideRange(j, lo, hi) => {
            let set = [mo("{"), mathml(lo), mo(","), mo("\u{2026}"), mo(","), mathml(hi), mo("}")]
                .concat();
            row(&format!("{}{}{set}", mathml(j), mo("\u{2209}")))
        }
        Formula::Gradient { of, wrt, value, notation: n } => row(&format!(
            "<msub>{}{}</msub>{}{}{}",
            mo("\u{2207}"),
            matrix_mathml(wrt, n),
            matrix_mathml(of, n),
            mo("="),
            matrix_mathml(value, n)
        )),
        Formula::Jacobian { of, wrt, value, notation: n } => row(&format!(
            "<mfrac>{}{}</mfrac>{}{}",
            row(&format!("{}{}", mo("\u{2202}"), matrix_mathml(of, n))),
            row(&format!("{}{}", mo("\u{2202}"), matrix_mathml(wrt, n))),
            mo("="),
            matrix_mathml(value, n)
        )),
        Formula::Matrix(m, n) => matrix_mathml(m, n),
        Formula::Components { matrix, components, notation: n } => {
            row(&format!("{}{}{}", matrix_mathml(matrix, n), mo("="), mathml(components)))
        }
    }
}

fn inline(content: &str) -> String {
    format!("<math>{content}</math>")
}

/// Marked MathML as inline `<math>` pieces that wrap like words: cut at the break marks
/// of sums and products, and, in a piece still long, inside the brackets of its calls.
fn flow(marked: &str) -> String {
    let mut pieces = Vec::new();
    for piece in cut(marked, &[BREAK_SUM, BREAK_PRODUCT]) {
        if visible_length(&piece) > LONG_PIECE {
            pieces.extend(cut(&piece, &[BREAK_INSIDE]));
        } else {
            pieces.push(piece);
        }
    }
    let maths: Vec<String> =
        pieces.iter().map(|p| format!("<math displaystyle=\"true\">{}</math>", strip(p))).collect();
    maths.join("<wbr>")
}

/// Characters of a piece that show, past which it is cut inside calls too.
const LONG_PIECE: usize = 40;

fn visible_length(mathml: &str) -> usize {
    let mut in_tag = false;
    mathml
        .chars()
        .filter(|&c| {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                _ => return !in_tag && !is_mark(c) && c != '\u{2061}' && c != '\u{2062}',
            }
            false
        })
        .count()
}

/// `marked` cut at each of `marks` that stands among nothing but `mrow`s (every open `mrow`
/// closed before the cut and reopened after it); the other marks are kept.
fn cut(marked: &str, marks: &[char]) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut open: Vec<&str> = Vec::new();
    let mut rest = marked;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').map_or(rest.len(), |k| k + 1);
            let tag = &rest[..end];
            let name = tag.trim_start_matches("</").trim_start_matches('<');
            let name = name.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
            if tag.starts_with("</") {
                open.pop();
            } else if !tag.ends_with("/>") {
                open.push(name);
            }
            piece.push_str(tag);
            rest = &rest[end..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if marks.contains(&c) && open.iter().all(|t| *t == "mrow") && !piece.is_empty() {
            piece.push_str(&"</mrow>".repeat(open.len()));
            pieces.push(std::mem::take(&mut piece));
            piece.push_str(&"<mrow>".repeat(open.len()));
        } else {
            piece.push(c);
        }
    }
    pieces.push(piece);
    pieces
}

/// Prose as HTML: words escaped, formulas as inline MathML.
fn prose(p: &Prose) -> String {
    p.iter()
        .map(|s| match s {
            Span::Text(t) => escape(t),
            Span::Math(f) => inline(&formula(f)),
        })
        .collect()
}

fn matrix(m: &Matrix) -> String {
    let table = |cells: &[[Expr; 2]; 2]| {
        let cell = |c: String| format!("<mtd>{c}</mtd>");
        let tr = |cs: [String; 3]| format!("<mtr>{}</mtr>", cs.map(cell).concat());
        let rows = [
            tr([mathml(&cells[0][0]), mo("\u{22ef}"), mathml(&cells[0][1])]),
            tr([mo("\u{22ee}"), mo("\u{22f1}"), mo("\u{22ee}")]),
            tr([mathml(&cells[1][0]), mo("\u{22ef}"), mathml(&cells[1][1])]),
        ];
        row(&format!("{}<mtable>{}</mtable>{}", mo("("), rows.concat(), mo(")")))
    };
    row(&format!(
        "{}{}{}{BREAK_SUM}{}{}",
        mathml(&m.name),
        mo("="),
        table(&m.partials),
        mo("="),
        table(&m.values)
    ))
}

impl Format for Page {
    fn title(&mut self, title: &str) {
        self.0.push_str(&format!("<h1>{}</h1>\n", escape(title)));
    }
    fn heading(&mut self, heading: &Prose) {
        self.0.push_str(&format!("<h2>{}</h2>\n", prose(heading)));
    }
    fn paragraph(&mut self, p: &Prose) {
        self.0.push_str(&format!("<p>{}</p>\n", prose(p)));
    }
    fn list(&mut self, items: &[Prose]) {
        self.0.push_str("<ul>\n");
        for item in items {
            self.0.push_str(&format!("<li>{}</li>\n", prose(item)));
        }
        self.0.push_str("</ul>\n");
    }
    fn formulas(&mut self, fs: &[Formula]) {
        for f in fs {
            self.display(Block::Formula(f));
        }
    }
    fn display(&mut self, b: Block) {
        let (class, content) = match b {
            Block::Formula(f) => ("display flow", formula_marked(f)),
            Block::Boxed(s, r) => {
                ("result", formula_marked(&Formula::Rel(s.clone(), Rel::Eq, r.clone())))
            }
            Block::Matrix(m) => ("display flow", matrix(m)),
        };
        self.0.push_str(&format!("<div class=\"{class}\">{}</div>\n", flow(&content)));
    }
    fn chain(&mut self, statement: &Expr, lines: &[Line]) {
        let cell = |e: &Expr, eq: bool| {
            let lead = if eq { mo("=") } else { String::new() };
            flow(&row(&format!("{lead}{}", mathml_marked(e))))
        };
        self.0.push_str("<div class=\"display\"><table class=\"chain\">\n");
        for (n, line) in lines.iter().enumerate() {
            let lhs = if n == 0 { cell(statement, false) } else { String::new() };
            self.0.push_str(&format!(
                "<tr><td class=\"lhs\">{lhs}</td><td class=\"term\">{}</td><td class=\"why\">{}</td></tr>\n",
                cell(&line.term, true),
                prose(&line.caption)
            ));
        }
        self.0.push_str("</table></div>\n");
    }
    fn note(&mut self, text: &str) {
        self.0.push_str(&format!("<p class=\"checked\">{}</p>\n", escape(text)));
    }
}
