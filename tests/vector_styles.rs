//! `deriv run --vectors bold|arrow|plain`: the matrix forms of every file of `tests/matrix/`
//! in each style, in LaTeX, Unicode and MathML, under one snapshot per file. Only names of
//! vectors and matrices are marked: an arrow never sits on a matrix, index notation and
//! scalars are never marked, and plain is the unmarked notation. The writeup tests check
//! the other styles' LaTeX with KaTeX and pdflatex; this one checks the command line too.

use deriv::render::matrix::Vectors;
use deriv::render::writeup::{build, Detail, Formula, Goal, Span};
use deriv::render::{html, texmath, text};
use deriv::report::derive_and_check;
use deriv::syntax::parse_file;
use std::process::Command;

const STYLES: [Vectors; 3] = [Vectors::Bold, Vectors::Arrow, Vectors::Plain];

/// The matrix formulas of a goal: its form, then those of its "In components" sentence.
fn formulas(g: &Goal) -> Vec<Formula> {
    let prose = g.components.iter().flatten().filter_map(|s| match s {
        Span::Math(f @ (Formula::Matrix(..) | Formula::Components { .. })) => Some(f.clone()),
        _ => None,
    });
    g.vector.iter().cloned().chain(prose).collect()
}

/// What marks a name in each notation.
const MARKS: [&str; 7] =
    ["\\mathbf", "\\boldsymbol", "\\vec", "\\overrightarrow", "\u{20d7}", "mathvariant", "<mover"];

#[test]
fn every_matrix_file_in_every_style() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("matrix/*.deriv", |path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let src = std::fs::read_to_string(path).expect("readable");
            let report = derive_and_check(&parse_file(&src).expect("parses")).expect("derives");
            let mut out = String::new();
            for vectors in STYLES {
                out.push_str(&format!("== {vectors:?}\n"));
                let w = build(&report, Detail::Brief, vectors);
                assert_eq!(
                    format!("{:?}", w.goals),
                    format!("{:?}", build(&report, Detail::Brief, vectors).goals),
                    "{name}: deterministic"
                );
                for (k, g) in w.goals.iter().enumerate() {
                    let fs = formulas(g);
                    assert!(!fs.is_empty(), "{name}: goal {} has no matrix formula", k + 1);
                    for f in fs {
                        let (tex, uni, ml) =
                            (texmath::formula(&f), text::formula(&f), html::formula(&f));
                        let marked = |s: &str| MARKS.iter().any(|m| s.contains(m));
                        match vectors {
                            Vectors::Plain => assert!(
                                !marked(&tex) && !marked(&uni) && !marked(&ml),
                                "{name}: plain is unmarked: {tex} | {uni}"
                            ),
                            Vectors::Bold => assert!(
                                marked(&tex) && marked(&ml) && uni != text::formula(&plain(&f)),
                                "{name}: {tex} | {uni}"
                            ),
                            // A formula of matrices alone has no arrow.
                            Vectors::Arrow => {}
                        }
                        if vectors == Vectors::Arrow {
                            // No arrow on a matrix: the files name their matrices with capitals.
                            for m in ["W", "A", "V", "B", "X"] {
                                assert!(!tex.contains(&format!("\\vec{{{m}")), "{name}: {tex}");
                            }
                        }
                        if let Formula::Components { components, .. } = &f {
                            // The components side is index notation, as the term printer sets it.
                            let printed = deriv::render::latex::latex(components);
                            assert!(tex.ends_with(&printed), "{name}: {tex}");
                        }
                        out.push_str(&format!(
                            "goal {}\n  latex:   {tex}\n  unicode: {uni}\n  mathml:  {ml}\n",
                            k + 1
                        ));
                    }
                }
            }
            insta::assert_snapshot!("vector_styles", out);
        });
    });
}

/// The same formula in plain style.
fn plain(f: &Formula) -> Formula {
    let mut f = f.clone();
    match &mut f {
        Formula::Gradient { notation, .. }
        | Formula::Jacobian { notation, .. }
        | Formula::Matrix(_, notation)
        | Formula::Components { notation, .. } => notation.vectors = Vectors::Plain,
        _ => {}
    }
    f
}

fn deriv(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deriv"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("deriv runs")
}

/// The option on the command line: bold by default, each style as the library sets it,
/// an unknown style refused as bad input, and the option in `deriv run --help`.
#[test]
fn the_command_line_option() {
    let file = "tests/matrix/linear_layer.deriv";
    let text = |args: &[&str]| {
        let out = deriv(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let default = text(&["run", file, "--format", "text"]);
    assert!(default.contains("∇_𝐖 l = (𝐚 - 𝐲)·𝐱ᵀ"), "{default}");
    assert_eq!(default, text(&["run", file, "--format", "text", "--vectors", "bold"]));
    let arrow = text(&["run", file, "--vectors", "arrow"]);
    assert!(arrow.contains("\\nabla_{W} l = (\\vec{a} - \\vec{y}) \\vec{x}^{\\top}"), "{arrow}");
    let plain = text(&["run", file, "--format", "html", "--vectors", "plain"]);
    assert!(!plain.contains("mathvariant") && !plain.contains("<mover"), "{plain}");
    // The certificate keeps the input syntax whatever the style.
    assert_eq!(
        text(&["run", file, "--format", "json", "--vectors", "arrow"]),
        text(&["run", file, "--format", "json"])
    );
    let bad = deriv(&["run", file, "--vectors", "hat"]);
    assert_eq!(bad.status.code(), Some(2));
    let help = String::from_utf8(deriv(&["run", "--help"]).stdout).expect("UTF-8");
    for word in ["--vectors", "bold", "arrow", "plain"] {
        assert!(help.contains(word), "{word}: {help}");
    }
}
