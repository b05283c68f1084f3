//! The LaTeX writeup: a complete document for pdflatex that needs amsmath only; chains in
//! `align*` with `\text{…}` captions, results in `\boxed{…}`.

use super::layout::{lay_out, Block, Format};
use super::texmath::{block, chain_rows, formula, prose_inline, text_escape};
use super::writeup::{Formula, Line, Prose, Writeup};
use crate::expr::Expr;

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
        let rows: Vec<String> = fs.iter().map(formula).collect();
        self.0.push_str(&format!(
            "\\begin{{gather*}}\n{}\n\\end{{gather*}}\n\n",
            rows.join(" \\\\\n")
        ));
    }
    fn display(&mut self, b: Block) {
        Document::display(self, &block(&b));
    }
    fn chain(&mut self, statement: &Expr, lines: &[Line]) {
        self.0.push_str(&format!(
            "\\begin{{align*}}\n{}\n\\end{{align*}}\n\n",
            chain_rows(statement, lines)
        ));
    }
    fn note(&mut self, text: &str) {
        self.0.push_str(&format!("\\emph{{{}}}\n\n", text_escape(text)));
    }
}
