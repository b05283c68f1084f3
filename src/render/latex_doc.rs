//! The LaTeX writeup: a complete document for pdflatex that needs amsmath only; chains in
//! `align*` with `\text{…}` captions, results in `\boxed{…}`.
//!
//! Whatever would run past the text width is broken into lines ([`super::texbreak`]): a
//! chain too wide for its caption column sets each caption under its step, and long
//! right-hand sides continue on indented lines.

use super::latex::{latex, latex_marked};
use super::layout::{lay_out, Block, Format};
use super::texbreak::{break_lines, width, TEXT_WIDTH};
use super::texmath::{block, chain_rows, formula, prose_in_math, prose_inline, text_escape};
use super::writeup::{Formula, Line, Prose, Span, Writeup};
use crate::expr::Expr;

/// The width of `=` with its spaces, and of the indent of a continued line.
const RELATION: f64 = 16.0;
const INDENT: f64 = 22.0;
/// Room kept free on every line, for what the estimate misses.
const SLACK: f64 = 12.0;
/// A left side wider than this gets lines of its own.
const WIDE_LEFT: f64 = 0.3 * TEXT_WIDTH;

const PREAMBLE: &str = "\\documentclass[11pt]{article}\n\
\\usepackage[T1]{fontenc}\n\
\\usepackage{amsmath}\n\
\\allowdisplaybreaks\n\
\\setlength{\\parindent}{0pt}\n\
\\setlength{\\parskip}{0.6em}\n\
\\begin{document}\n\n";

/// The LaTeX document of a writeup.
pub fn latex_document(w: &Writeup) -> String {
    let mut d = Document(String::from(PREAMBLE));
    lay_out(w, &mut d);
    d.0.push_str("\\end{document}\n");
    d.0
}

struct Document(String);

impl Document {
    fn display(&mut self, body: &str) {
        self.0.push_str(&format!("\\[\n{body}\n\\]\n\n"));
    }
}

impl Format for Document {
    fn title(&mut self, title: &str) {
        self.0.push_str(&format!("\\section*{{{}}}\n\n", text_escape(title)));
    }
    fn heading(&mut self, heading: &Prose) {
        self.0.push_str(&format!("\\subsection*{{{}}}\n\n", prose_inline(heading, text_escape)));
    }
    fn paragraph(&mut self, p: &Prose) {
        self.0.push_str(&format!("{}\n\n", prose_inline(p, text_escape)));
    }
    fn list(&mut self, items: &[Prose]) {
        self.0.push_str("\\begin{itemize}\n");
        for item in items {
            self.0.push_str(&format!("\\item {}\n", prose_inline(item, text_escape)));
        }
        self.0.push_str("\\end{itemize}\n\n");
    }
    fn formulas(&mut self, fs: &[Formula]) {
        let rows: Vec<String> = fs.iter().map(fitted_formula).collect();
        self.0.push_str(&format!(
            "\\begin{{gather*}}\n{}\n\\end{{gather*}}\n\n",
            rows.join(" \\\\\n")
        ));
    }
    fn display(&mut self, b: Block) {
        let one_line = block(&b);
        let body = match b {
            _ if width(&one_line) <= TEXT_WIDTH - SLACK => one_line,
            Block::Boxed(statement, result) => {
                format!(
                    "\\boxed{{{}}}",
                    aligned(&latex(statement), "=", &latex_marked(result), 8.0)
                )
            }
            Block::Matrix(m) => {
                let [name, partials, values] = super::texmath::matrix_parts(m);
                format!("\\begin{{aligned}}{name} &= {partials} \\\\ &= {values}\\end{{aligned}}")
            }
            Block::Formula(_) => one_line,
        };
        Document::display(self, &body);
    }
    fn chain(&mut self, statement: &Expr, lines: &[Line]) {
        let rows = if chain_fits(statement, lines) {
            chain_rows(statement, lines)
        } else {
            stacked_chain_rows(statement, lines)
        };
        self.0.push_str(&format!("\\begin{{align*}}\n{rows}\n\\end{{align*}}\n\n"));
    }
    fn note(&mut self, text: &str) {
        self.0.push_str(&format!("\\emph{{{}}}\n\n", text_escape(text)));
    }
}

/// Whether a chain fits the page with its captions in a column of their own.
fn chain_fits(statement: &Expr, lines: &[Line]) -> bool {
    let widest = |ws: Vec<f64>| ws.into_iter().fold(0.0, f64::max);
    let terms = widest(lines.iter().map(|l| width(&latex(&l.term))).collect());
    let captions = widest(lines.iter().map(|l| width(&prose_in_math(&l.caption))).collect());
    width(&latex(statement)) + RELATION + terms + INDENT + captions <= TEXT_WIDTH - SLACK
}

/// The rows of a chain too wide for a caption column: each step's term broken into lines
/// that fit, its caption on a line of its own under it. A wide left side stands on lines
/// of its own above the chain.
fn stacked_chain_rows(statement: &Expr, lines: &[Line]) -> String {
    let lhs = latex_marked(statement);
    let mut rows = Vec::new();
    // What the first step's row starts with: a narrow left side, which sets the column.
    let (mut lead, left) = if width(&lhs) > WIDE_LEFT {
        for (k, part) in break_lines(&lhs, TEXT_WIDTH - SLACK, TEXT_WIDTH - INDENT - SLACK)
            .into_iter()
            .enumerate()
        {
            rows.push(if k == 0 { format!("& {part}") } else { format!("& \\qquad {part}") });
        }
        (String::new(), 0.0)
    } else {
        (format!("{} ", super::texbreak::strip(&lhs)), width(&lhs))
    };
    let first = TEXT_WIDTH - SLACK - left - RELATION;
    for line in lines {
        let parts = break_lines(&latex_marked(&line.term), first, first - INDENT);
        for (k, part) in parts.into_iter().enumerate() {
            rows.push(if k == 0 {
                format!("{}&= {part}", std::mem::take(&mut lead))
            } else {
                format!("& \\qquad {part}")
            });
        }
        for part in caption_lines(&line.caption, TEXT_WIDTH - SLACK - left - 2.0 * INDENT) {
            rows.push(format!("& \\qquad {part}"));
        }
    }
    rows.join(" \\\\\n  ")
}

/// A caption in math mode, its words filling lines of at most `room` points (a formula in
/// it is not broken).
fn caption_lines(caption: &Prose, room: f64) -> Vec<String> {
    let mut lines = vec![String::new()];
    let (mut used, mut words) = (0.0, String::new());
    let flush = |words: &mut String, line: &mut String| {
        if !words.is_empty() {
            line.push_str(&format!("\\text{{{}}}", text_escape(words)));
            words.clear();
        }
    };
    for span in caption {
        let pieces: Vec<(bool, String)> = match span {
            Span::Text(t) => t.split_inclusive(' ').map(|w| (true, w.to_string())).collect(),
            Span::Math(f) => vec![(false, formula(f))],
        };
        for (is_word, piece) in pieces {
            let w = if is_word { width(&format!("\\text{{{piece}}}")) } else { width(&piece) };
            if used + w > room && used > 0.0 {
                let line = lines.last_mut().expect("a line");
                flush(&mut words, line);
                lines.push(String::new());
                used = 0.0;
            }
            used += w;
            if is_word {
                words.push_str(&piece);
            } else {
                let line = lines.last_mut().expect("a line");
                flush(&mut words, line);
                line.push_str(&piece);
            }
        }
    }
    let line = lines.last_mut().expect("a line");
    flush(&mut words, line);
    lines
}

/// `lhs rel rhs` as one line if it fits the page less `extra`, else an `aligned` block
/// whose right side continues on indented lines.
fn aligned(lhs: &str, rel: &str, rhs: &str, extra: f64) -> String {
    let one_line = format!("{lhs} {rel} {}", super::texbreak::strip(rhs));
    let room = TEXT_WIDTH - SLACK - extra;
    if width(&one_line) <= room {
        return one_line;
    }
    let first = room - width(lhs) - RELATION;
    aligned_lines(&format!("{lhs} &{rel}"), &break_lines(rhs, first, first - INDENT))
}

/// Lines in an `aligned` block: the first after `lead`, the others indented.
fn aligned_lines(lead: &str, lines: &[String]) -> String {
    let rows: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(k, p)| if k == 0 { format!("{lead} {p}") } else { format!("&\\qquad {p}") })
        .collect();
    format!("\\begin{{aligned}}{}\\end{{aligned}}", rows.join(" \\\\ "))
}

/// A definition or hypothesis, broken into lines if it is too wide.
fn fitted_formula(f: &Formula) -> String {
    let plain = formula(f);
    match f {
        Formula::Rel(a, r, b) if width(&plain) > TEXT_WIDTH - SLACK => {
            aligned(&latex(a), super::texmath::relation(*r), &latex_marked(b), 0.0)
        }
        Formula::Term(e) if width(&plain) > TEXT_WIDTH - SLACK => {
            let room = TEXT_WIDTH - SLACK;
            aligned_lines("&", &break_lines(&latex_marked(e), room, room - INDENT))
        }
        _ => plain,
    }
}
