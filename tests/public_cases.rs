//! Every public example (copied into `examples/`) comes out in textbook form: equal to the
//! published result by ring arithmetic, no larger, and accepted by the kernel on replay.

use deriv::certificate;
use deriv::kernel::ring::ring_equal;
use deriv::report::{certificate as to_certificate, derive_document};
use deriv::syntax::{parse_expr, parse_expr_in, parse_file, Document, IndexScope};
use deriv::terms::ExprExt;
use std::path::PathBuf;

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// `(goal text, expected result)` pairs from the `# expected:` comments of a case file.
fn expectations(src: &str) -> Vec<(String, String)> {
    src.lines()
        .filter_map(|l| l.strip_prefix("# expected:"))
        .filter_map(|l| {
            let (goal, rest) = l.split_once("->")?;
            // Drop a trailing `vector: …` or `(remark)` after two spaces.
            let result = rest.trim_start().split("vector:").next()?.split("  (").next()?.trim();
            Some((goal.trim().to_string(), result.trim().to_string()))
        })
        .collect()
}

fn check_document(name: &str, src: &str, doc: &Document) {
    let report = derive_document(doc)
        .unwrap_or_else(|f| panic!("{name}: goal {} failed: {}", f.goal + 1, f.error));
    let expected = expectations(src);
    assert_eq!(expected.len(), doc.goals.len(), "{name}: one expectation per goal");
    let scope = IndexScope::Declared(&doc.context.indices);
    for ((goal, want), derived) in expected.iter().zip(&report.goals) {
        let want = parse_expr_in(want, scope).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = derived.proof.current();
        assert!(
            ring_equal(got, &want).unwrap_or(false),
            "{name}: {goal}: got `{got}`, expected `{want}`"
        );
        assert!(
            got.size() <= want.size(),
            "{name}: {goal}: `{got}` is larger than the textbook `{want}`"
        );
    }
    let cert = to_certificate(&report);
    certificate::check(&cert).unwrap_or_else(|r| panic!("{name}: certificate rejected: {r}"));
}

#[test]
fn derivation_files_reach_their_textbook_results() {
    let mut seen = 0;
    for entry in std::fs::read_dir(cases_dir()).expect("examples/ exists") {
        let path = entry.expect("readable").path();
        if path.extension().and_then(|e| e.to_str()) != Some("deriv") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable");
        if expectations(&src).is_empty() {
            continue;
        }
        let doc = parse_file(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check_document(&path.display().to_string(), &src, &doc);
        seen += 1;
    }
    assert!(seen >= 4, "expected the public cases in examples/, found {seen}");
}

#[test]
fn scalar_examples_reach_their_textbook_results() {
    let src = std::fs::read_to_string(cases_dir().join("scalar.txt")).expect("examples/scalar.txt");
    let mut seen = 0;
    for line in src.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let parts: Vec<&str> = line.split(';').map(str::trim).collect();
        let [expr, var, want] = parts.as_slice() else { panic!("bad line {line}") };
        let e = parse_expr(expr).expect("expression");
        let x = parse_expr(var).expect("variable");
        let want = parse_expr(want).expect("textbook result");
        let proof = deriv::engine::derive(Default::default(), &e, &x)
            .unwrap_or_else(|err| panic!("{line}: {err}"));
        let got = proof.current();
        assert!(ring_equal(got, &want).unwrap_or(false), "{line}: got `{got}`");
        assert!(got.size() <= want.size(), "{line}: `{got}` is larger than `{want}`");
        // The plain output parses back to the same term.
        assert_eq!(&parse_expr(&got.to_string()).expect("reparse"), got, "{line}");
        seen += 1;
    }
    assert!(seen >= 9);
}
