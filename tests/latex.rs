//! The LaTeX printer: snapshots of a folder of sample expressions (`tests/latex/*.txt`, one
//! expression a line, snapshots in the top-level `snapshots/`), every one of them accepted by
//! KaTeX in strict mode, as is the LaTeX of random terms and of `deriv latex`.

#[path = "common/cli.rs"]
mod cli;
#[path = "common/gen.rs"]
mod gen;
#[path = "common/katex.rs"]
mod katex;

#[path = "../src/seeded.rs"]
mod seeded;

use deriv::render::latex::latex;
use deriv::syntax::parse_expr;
use proptest::prelude::*;

#[test]
fn samples() {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::glob!("latex/*.txt", |path| {
            let src = std::fs::read_to_string(path).expect("a readable sample file");
            let mut shown = String::new();
            for line in src.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                let e = parse_expr(line).unwrap_or_else(|d| panic!("{}: {line}\n{d}", path.display()));
                let tex = latex(&e);
                katex::assert_katex_strict(&tex);
                shown.push_str(&format!("{line}\n    {tex}\n"));
            }
            insta::assert_snapshot!(shown);
        });
    });
}

proptest! {
    #![proptest_config(seeded::config(300))]

    /// Whatever the term, KaTeX accepts its LaTeX: no double superscripts, balanced braces,
    /// no unknown commands.
    #[test]
    fn katex_accepts_the_latex_of_any_term(e in gen::expr()) {
        let tex = latex(&e);
        prop_assert!(katex::katex_strict(&tex).is_ok(), "{} -> {}: {:?}", e, tex, katex::katex_strict(&tex));
    }
}

#[test]
fn the_latex_command_prints_clean_latex() {
    let run = cli::run(&["latex", "exp(z_i)/sum_k(exp(z_k))"], None);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "\\frac{e^{z_i}}{\\sum_{k=1}^{n} e^{z_k}}\n");
    katex::assert_katex_strict(run.stdout.trim_end());
}

/// The strict check is a real check: it refuses what KaTeX merely warns about by default.
#[test]
fn the_strict_check_refuses_bad_and_non_strict_latex() {
    katex::assert_katex_strict("x^{2}");
    assert!(katex::katex_strict("x^{2").is_err(), "unbalanced braces");
    assert!(katex::katex_strict("x^2^3").is_err(), "double superscript");
    assert!(katex::katex_strict("\\notacommand").is_err(), "unknown command");
    // Accepted by KaTeX's default ("warn") strictness, refused by strict mode.
    assert!(katex::katex_strict("é").is_err(), "Unicode text in math mode");
}
