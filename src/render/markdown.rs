//! The Markdown writeup: `$$ … $$` display blocks and `$…$` inline math that render under
//! MathJax and KaTeX, chains as `\begin{aligned}` with `\text{…}` captions.

use super::layout::{lay_out, Block, Format};
use super::texmath::{block, chain_rows, formula, prose_inline};
use super::writeup::{Formula, Line, Prose, Writeup};
use crate::expr::Expr;

/// The Markdown text of a writeup.
pub fn markdown(w: &Writeup) -> String {
    let mut m = Markdown(String::new());
    lay_out(w, &mut m);
    // One newline at the end, whatever the last block left.
    format!("{}\n", m.0.trim_end())
}

struct Markdown(String);

impl Markdown {
    fn display(&mut self, body: &str) {
        self.0.push_str(&format!("$$\n{body}\n$$\n\n"));
    }
}

impl Format for Markdown {
    fn title(&mut self, title: &str) {
        self.0.push_str(&format!("# {}\n\n", escape(title)));
    }
    fn heading(&mut self, heading: &Prose) {
        self.0.push_str(&format!("## {}\n\n", prose_inline(heading, escape)));
    }
    fn paragraph(&mut self, p: &Prose) {
        self.0.push_str(&format!("{}\n\n", prose_inline(p, escape)));
    }
    fn list(&mut self, items: &[Prose]) {
        for item in items {
            self.0.push_str(&format!("- {}\n", prose_inline(item, escape)));
        }
        self.0.push('\n');
    }
    fn formulas(&mut self, fs: &[Formula]) {
        for f in fs {
            self.display(&formula(f));
        }
    }
    fn display(&mut self, b: Block) {
        Markdown::display(self, &block(&b));
    }
    fn chain(&mut self, statement: &Expr, lines: &[Line]) {
        Markdown::display(
            self,
            &format!("\\begin{{aligned}}\n{}\n\\end{{aligned}}", chain_rows(statement, lines)),
        );
    }
    fn note(&mut self, text: &str) {
        self.0.push_str(&format!("*{}*\n\n", escape(text)));
    }
}

/// Words for Markdown: punctuation that Markdown or a math renderer would read is escaped,
/// and HTML's `<`, `>` and `&` are written as entities so no user text becomes markup.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '$' | '|' | '{' | '}' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
