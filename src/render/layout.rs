//! The order and wording of a writeup, shared by every format: each format supplies the
//! primitives (headings, paragraphs, display math, chains) in its own notation.

use super::writeup::{
    case_sentences, condition, depends_sentence, join_and, text, Formula, Goal, Line, Prose, Span,
    Writeup,
};
use crate::engine::cases::Matrix;
use crate::expr::Expr;

/// Display math a format must be able to set.
pub enum Block<'a> {
    Formula(&'a Formula),
    /// A result, boxed.
    Boxed(&'a Expr, &'a Expr),
    /// The Jacobian's corners.
    Matrix(&'a Matrix),
}

/// The primitives of one output format; calls arrive in document order.
pub trait Format {
    fn title(&mut self, title: &str);
    fn heading(&mut self, heading: &Prose);
    fn paragraph(&mut self, p: &Prose);
    fn list(&mut self, items: &[Prose]);
    /// Several short formulas shown together (definitions, hypotheses).
    fn formulas(&mut self, fs: &[Formula]);
    fn display(&mut self, b: Block);
    /// `statement = line₁ = line₂ …`, each line captioned.
    fn chain(&mut self, statement: &Expr, lines: &[Line]);
    /// What was checked: a quiet closing line.
    fn note(&mut self, text: &str);
}

/// Lay a writeup out in `f`.
pub fn lay_out(w: &Writeup, f: &mut impl Format) {
    f.title(&w.title);
    if !w.indices.is_empty() {
        let mut p = vec![text("Indices: ")];
        for (n, r) in w.indices.iter().enumerate() {
            if n > 0 {
                p.push(text("; "));
            }
            p.push(Span::Math(r.clone()));
        }
        p.push(text("."));
        f.paragraph(&p);
    }
    for (heading, items) in [("Definitions", &w.definitions), ("Hypotheses", &w.hypotheses)] {
        if !items.is_empty() {
            f.heading(&vec![text(heading)]);
            f.formulas(items);
        }
        if let Some(p) = w.labels.as_ref().filter(|_| heading == "Definitions") {
            f.paragraph(p);
        }
    }
    for (n, g) in w.goals.iter().enumerate() {
        goal(f, n + 1, g);
    }
}

fn goal(f: &mut impl Format, n: usize, g: &Goal) {
    f.heading(&vec![Span::Text(format!("{n}. ")), Span::Math(Formula::Term(g.statement.clone()))]);
    if let Some(p) = &g.held {
        f.paragraph(p);
    }
    if let Some(p) = &g.components {
        f.paragraph(p);
    }
    if !g.abbreviations.is_empty() {
        let mut p = vec![text("Write ")];
        p.extend(join_and(g.abbreviations.iter().map(|a| vec![Span::Math(a.clone())]).collect()));
        p.push(text("."));
        f.paragraph(&p);
    }
    // A derivation always has steps; an empty chain would only repeat the statement.
    if !g.lines.is_empty() {
        f.chain(&g.statement, &g.lines);
    }
    if let Some(j) = &g.jacobian {
        f.paragraph(&vec![text(
            "The two cases of the Kronecker delta, each simplified by the kernel:",
        )]);
        f.list(&case_sentences(j));
        if let Some(m) = &j.matrix {
            if m.assumes.is_empty() {
                f.paragraph(&vec![text("so the Jacobian is")]);
            } else {
                let mut p = vec![text("so, where ")];
                p.extend(join_and(m.assumes.iter().map(condition).collect()));
                p.push(text(", the Jacobian is"));
                f.paragraph(&p);
            }
            f.display(Block::Matrix(m));
        }
        f.paragraph(&vec![text("and in one formula:")]);
    } else {
        f.paragraph(&vec![text("Result:")]);
    }
    f.display(Block::Boxed(&g.statement, &g.result));
    if let Some(v) = &g.vector {
        f.paragraph(&vec![text(if g.is_matrix { "In matrix form:" } else { "In vector form:" })]);
        f.display(Block::Formula(v));
    }
    f.paragraph(&depends_sentence(&g.depends_on));
    f.note(&format!("Checked: {}.", g.checked));
}
