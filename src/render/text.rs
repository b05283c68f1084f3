//! The text writeup: plain Unicode for a terminal (`∂`, `Σ`, `δ`, `·`, `≠`), chains one
//! term a line with the caption under it, the result in a box.

use super::layout::{lay_out, Block, Format};
use super::matrix::matrix_unicode;
use super::unicode::unicode;
use super::writeup::{Formula, Line, Prose, Rel, Span, Writeup};
use crate::engine::cases::Matrix;
use crate::expr::Expr;

/// The text of a writeup.
pub fn text(w: &Writeup) -> String {
    let mut t = Text(String::new());
    lay_out(w, &mut t);
    // One newline at the end, whatever the last block left.
    format!("{}\n", t.0.trim_end())
}

struct Text(String);

const INDENT: &str = "    ";

/// A formula on one line.
pub fn formula(f: &Formula) -> String {
    match f {
        Formula::Term(e) => unicode(e),
        Formula::Rel(a, r, b) => {
            let op = match r {
                Rel::Eq => "=",
                Rel::Ne => "≠",
                Rel::Gt => ">",
                Rel::Ge => "≥",
            };
            format!("{} {op} {}", unicode(a), unicode(b))
        }
        Formula::Range(names, lo, hi) => {
            let names: Vec<String> = names.iter().map(unicode).collect();
            format!("{} ∈ {{{}, …, {}}}", names.join(", "), unicode(lo), unicode(hi))
        }
        Formula::OutsideRange(j, lo, hi) => {
            format!("{} ∉ {{{}, …, {}}}", unicode(j), unicode(lo), unicode(hi))
        }
        Formula::Gradient { of, wrt, value, notation: n } => format!(
            "∇_{} {} = {}",
            matrix_unicode(wrt, n),
            matrix_unicode(of, n),
            matrix_unicode(value, n)
        ),
        Formula::Jacobian { of, wrt, value, notation: n } => format!(
            "∂{}/∂{} = {}",
            matrix_unicode(of, n),
            matrix_unicode(wrt, n),
            matrix_unicode(value, n)
        ),
        Formula::Matrix(m, n) => matrix_unicode(m, n),
        Formula::Components { matrix, components, notation: n } => {
            format!("{} = {}", matrix_unicode(matrix, n), unicode(components))
        }
    }
}

fn prose(p: &Prose) -> String {
    p.iter()
        .map(|s| match s {
            Span::Text(t) => t.replace(['\n', '\r'], " "),
            Span::Math(f) => formula(f),
        })
        .collect()
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// The matrix's corners in a grid, its name on the middle row.
fn matrix(m: &Matrix) -> Vec<String> {
    let grid = |cells: &[[Expr; 2]; 2]| -> Vec<Vec<String>> {
        vec![
            vec![unicode(&cells[0][0]), "⋯".into(), unicode(&cells[0][1])],
            vec!["⋮".into(), "⋱".into(), "⋮".into()],
            vec![unicode(&cells[1][0]), "⋯".into(), unicode(&cells[1][1])],
        ]
    };
    let set = |g: Vec<Vec<String>>| -> Vec<String> {
        let widths: Vec<usize> =
            (0..3).map(|c| g.iter().map(|r| width(&r[c])).max().unwrap_or(0)).collect();
        let brackets = [("⎛", "⎞"), ("⎜", "⎟"), ("⎝", "⎠")];
        g.iter()
            .zip(brackets)
            .map(|(r, (open, close))| {
                let cells: Vec<String> =
                    r.iter().zip(&widths).map(|(c, w)| centre(c, *w)).collect();
                format!("{open} {} {close}", cells.join("  "))
            })
            .collect()
    };
    let name = unicode(&m.name);
    let (a, b) = (set(grid(&m.partials)), set(grid(&m.values)));
    (0..3)
        .map(|r| {
            let (lead, eq) =
                if r == 1 { (name.clone(), " = ") } else { (" ".repeat(width(&name)), "   ") };
            format!("{lead}{eq}{}{eq}{}", a[r], b[r])
        })
        .collect()
}

fn centre(s: &str, w: usize) -> String {
    let pad = w.saturating_sub(width(s));
    format!("{}{s}{}", " ".repeat(pad / 2), " ".repeat(pad - pad / 2))
}

impl Format for Text {
    fn title(&mut self, title: &str) {
        let title = title.replace(['\n', '\r'], " ");
        self.0.push_str(&format!("{title}\n{}\n\n", "=".repeat(width(&title))));
    }
    fn heading(&mut self, heading: &Prose) {
        let h = prose(heading);
        self.0.push_str(&format!("{h}\n{}\n\n", "-".repeat(width(&h))));
    }
    fn paragraph(&mut self, p: &Prose) {
        self.0.push_str(&format!("{}\n\n", prose(p)));
    }
    fn list(&mut self, items: &[Prose]) {
        for item in items {
            self.0.push_str(&format!("  - {}\n", prose(item)));
        }
        self.0.push('\n');
    }
    fn formulas(&mut self, fs: &[Formula]) {
        for f in fs {
            self.0.push_str(&format!("{INDENT}{}\n", formula(f)));
        }
        self.0.push('\n');
    }
    fn display(&mut self, b: Block) {
        match b {
            Block::Formula(f) => self.0.push_str(&format!("{INDENT}{}\n\n", formula(f))),
            Block::Boxed(s, r) => {
                let inner = formula(&Formula::Rel(s.clone(), Rel::Eq, r.clone()));
                let bar = "─".repeat(width(&inner) + 2);
                self.0.push_str(&format!(
                    "{INDENT}┌{bar}┐\n{INDENT}│ {inner} │\n{INDENT}└{bar}┘\n\n"
                ));
            }
            Block::Matrix(m) => {
                for line in matrix(m) {
                    self.0.push_str(&format!("{INDENT}{}\n", line.trim_end()));
                }
                self.0.push('\n');
            }
        }
    }
    fn chain(&mut self, statement: &Expr, lines: &[Line]) {
        self.0.push_str(&format!("{INDENT}{}\n", unicode(statement)));
        for line in lines {
            self.0.push_str(&format!("{INDENT}  = {}\n", unicode(&line.term)));
            self.0.push_str(&format!("{INDENT}      [{}]\n", prose(&line.caption)));
        }
        self.0.push('\n');
    }
    fn note(&mut self, text: &str) {
        self.0.push_str(&format!("{text}\n\n"));
    }
}
