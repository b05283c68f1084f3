//! The LaTeX writeup of every example is a complete document that pdflatex compiles.
//! Without pdflatex the test is skipped locally, and fails when `CI` is set.

#[path = "common/writeups.rs"]
mod writeups;

use deriv::render::writeup::Detail;
use deriv::render::WriteupFormat;
use std::path::Path;
use writeups::{
    examples, matrix_examples, name, pdflatex, render, render_source, render_styled,
    scalar_document, scratch, tool_available,
};

fn pdflatex_available() -> bool {
    tool_available("pdflatex", "texlive-latex-base and texlive-latex-recommended")
}

/// Compile `tex` in a fresh directory; `Err` carries the end of pdflatex's output.
fn compile(tex: &str, dir: &Path) -> Result<(), String> {
    pdflatex(tex, dir).map(drop)
}

#[test]
fn every_latex_writeup_compiles() {
    if !pdflatex_available() {
        return;
    }
    for path in examples().into_iter().chain(matrix_examples()) {
        for detail in [Detail::Brief, Detail::Full] {
            let dir = scratch(&format!("pdflatex-{}-{detail:?}", name(&path)));
            let tex = render(&path, WriteupFormat::Latex, detail);
            if let Err(log) = compile(&tex, &dir) {
                panic!("{} ({detail:?}): pdflatex failed:\n{log}", name(&path));
            }
        }
    }
}

#[test]
fn scalar_derivatives_with_side_conditions_compile() {
    if !pdflatex_available() {
        return;
    }
    let dir = scratch("pdflatex-scalar");
    let tex = render_source(&scalar_document(), WriteupFormat::Latex, Detail::Full);
    if let Err(log) = compile(&tex, &dir) {
        panic!("pdflatex failed:\n{log}");
    }
}

#[test]
fn a_title_full_of_special_characters_compiles() {
    if !pdflatex_available() {
        return;
    }
    let dir = scratch("pdflatex-special-title");
    let src =
        "title \"50% of $x & {y}_#1 ^~ \\\\ <b> caf\u{e9} \u{2013} \u{3b1}\u{4e2d}\"\nderive x^2 wrt x\n";
    let tex = render_source(src, WriteupFormat::Latex, Detail::Full);
    if let Err(log) = compile(&tex, &dir) {
        panic!("pdflatex failed:\n{log}\n\n{tex}");
    }
}

/// The check can fail: a broken document is refused.
#[test]
fn a_broken_document_does_not_compile() {
    if !pdflatex_available() {
        return;
    }
    let dir = scratch("pdflatex-broken");
    let tex = "\\documentclass{article}\n\\begin{document}\n$\\frac{1}{$\n\\end{document}\n";
    assert!(compile(tex, &dir).is_err());
}

/// The other styles of `--vectors` compile too (`\vec`, `\overrightarrow`, plain letters).
#[test]
fn every_vector_style_compiles() {
    use deriv::render::matrix::Vectors;
    if !pdflatex_available() {
        return;
    }
    for path in matrix_examples() {
        for vectors in [Vectors::Arrow, Vectors::Plain] {
            let dir = scratch(&format!("pdflatex-{}-{vectors:?}", name(&path)));
            let tex = render_styled(&path, WriteupFormat::Latex, vectors);
            if let Err(log) = compile(&tex, &dir) {
                panic!("{} ({vectors:?}): pdflatex failed:\n{log}", name(&path));
            }
        }
    }
}
