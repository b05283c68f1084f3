//! Matrix-calculus identities, data-driven: every `NAME | STATEMENTS | EXPR | WRT | TEXTBOOK`
//! line of `tests/matrix/identities.txt` is derived from matrix notation and checked:
//! deriv's matrix form is the textbook's (exactly, as printed), the textbook answer evaluated
//! as matrices agrees with deriv's component result at random points, every step and the
//! result pass the numeric checks of `deriv run` (the matrix form among them), and the
//! certificate replays. The components, the form, its LaTeX and the number of kernel steps
//! of every line are under one snapshot.
//!
//! A trailing `| weak` marks a line whose form deriv is known not to print as the textbook
//! does (it must still agree numerically); the test insists it still differs, so the marker
//! goes as soon as the engine improves.

use deriv::certificate;
use deriv::matrix::{output_indices, print, Shapes};
use deriv::numeric::{check_matrix_form, CheckOptions};
use deriv::render::matrix::{matrix_latex, Notation};
use deriv::report::{certificate as to_certificate, derive_and_check};
use deriv::syntax::{parse_file, parse_matrix};
use std::path::Path;

struct Case {
    line: usize,
    name: String,
    source: String,
    textbook: String,
    weak: bool,
}

fn cases(path: &Path) -> Vec<Case> {
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    src.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let parts: Vec<&str> = l.split(" | ").map(str::trim).collect();
            let (name, statements, expr, wrt, textbook, weak) = match parts.as_slice() {
                [n, s, e, w, t] => (*n, *s, *e, *w, *t, false),
                [n, s, e, w, t, "weak"] => (*n, *s, *e, *w, *t, true),
                _ => panic!("line {}: want `NAME | STATEMENTS | EXPR | WRT | TEXTBOOK`", i + 1),
            };
            let mut source: String =
                statements.split(';').map(|s| format!("{}\n", s.trim())).collect();
            source.push_str(&format!("derive {expr} wrt {wrt}\n"));
            Case { line: i + 1, name: name.into(), source, textbook: textbook.into(), weak }
        })
        .collect()
}

/// Check one case; its snapshot text.
fn check(case: &Case) -> String {
    let at = format!("line {} ({})", case.line, case.name);
    let doc = parse_file(&case.source).unwrap_or_else(|d| panic!("{at}: {d}\n{}", case.source));
    // Derived, kernel-checked, and every step, the result and the matrix form checked
    // numerically, as `deriv run` does.
    let report = derive_and_check(&doc).unwrap_or_else(|e| panic!("{at}: {e:?}"));
    let g = &report.goals[0];
    let ctx = &report.context;
    let m = g
        .matrix
        .as_ref()
        .unwrap_or_else(|| panic!("{at}: no matrix form for {}", g.proof.current()));
    let form = print(m, Some(ctx));
    assert_eq!(
        form != case.textbook,
        case.weak,
        "{at}: the form is `{form}`, the textbook `{}`",
        case.textbook
    );

    // The textbook answer, evaluated as matrices, against deriv's components.
    let mut shapes: Shapes = g.matrix_shapes.clone();
    shapes.extend(doc.shapes.iter().map(|(k, v)| (k.clone(), v.clone())));
    let textbook = parse_matrix(&case.textbook, &ctx.indices, &shapes)
        .unwrap_or_else(|d| panic!("{at}: the textbook answer: {d}"));
    let out =
        output_indices(&g.of, &g.wrt, ctx).unwrap_or_else(|| panic!("{at}: no output indices"));
    let components = deriv::report::guarded_components(g);
    check_matrix_form(ctx, &textbook, &shapes, &components, &out, &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{at}: the textbook answer is not deriv's: {e}"));

    // The certificate replays, its stated form included.
    let cert = to_certificate(&report);
    certificate::check(&cert).unwrap_or_else(|r| panic!("{at}: certificate rejected: {r}"));
    let steps = g.proof.steps().len();
    format!(
        "{}\n  components: {}\n  form:       {form}\n  latex:      {}\n  steps:      {steps}\n",
        case.name,
        deriv::render::plain::print_in(&g.components, ctx),
        matrix_latex(m, &Notation::default())
    )
}

#[test]
fn matrix_calculus_identities() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/matrix/identities.txt");
    let cases = cases(&path);
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let text: String = cases.iter().map(check).collect::<Vec<_>>().join("\n");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("matrix_identities", text));
}

/// One `# expected: derive OF wrt VAR -> RESULT vector: FORM` line.
fn expectations(src: &str) -> Vec<(String, String, String)> {
    src.lines()
        .filter_map(|l| l.strip_prefix("# expected:"))
        .map(|l| {
            let (goal, rest) = l.split_once("->").expect("`GOAL -> RESULT vector: FORM`");
            let (result, form) = rest.split_once("vector:").expect("a vector form");
            (goal.trim().to_string(), result.trim().to_string(), form.trim().to_string())
        })
        .collect()
}

/// The files of `tests/matrix/`, written in matrix notation: each goal's result and form as
/// expected, the certificate replayed through its JSON text, and the Markdown and text
/// writeups under snapshots (every format's math is checked by the writeup tests).
#[test]
fn matrix_notation_files() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("matrix/*.deriv", |path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let src = std::fs::read_to_string(path).expect("readable");
            let doc = parse_file(&src).unwrap_or_else(|d| panic!("{name}: {d}"));
            let report = derive_and_check(&doc).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let ctx = &report.context;
            let expected = expectations(&src);
            assert_eq!(expected.len(), report.goals.len(), "{name}: one expectation per goal");
            for ((goal, result, form), g) in expected.iter().zip(&report.goals) {
                assert_eq!(*goal, format!("derive {} wrt {}", g.of, g.wrt), "{name}");
                let got = deriv::render::plain::print_in(g.proof.current(), ctx);
                assert_eq!(*result, got, "{name}: {goal}");
                let m = g.matrix.as_ref().map(|m| print(m, Some(ctx)));
                assert_eq!(Some(form.as_str()), m.as_deref(), "{name}: {goal}");
            }
            let json = serde_json::to_string(&to_certificate(&report)).expect("serialises");
            let cert = serde_json::from_str(&json).expect("reads back");
            certificate::check(&cert).unwrap_or_else(|r| panic!("{name}: rejected: {r}"));
            use deriv::render::writeup::Detail;
            use deriv::render::{writeup, WriteupFormat};
            insta::assert_snapshot!(
                "matrix_md",
                writeup(&report, WriteupFormat::Markdown, Detail::Brief)
            );
            insta::assert_snapshot!(
                "matrix_txt",
                writeup(&report, WriteupFormat::Text, Detail::Brief)
            );
        });
    });
}

/// `deriv check` refuses a stated form that is not the result's, and the matrix evaluator
/// refuses a form that is not the components', whatever the kernel says.
#[test]
fn wrong_forms_are_refused() {
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/matrix/linear_layer.deriv"),
    )
    .expect("readable");
    let doc = parse_file(&src).expect("parses");
    let report = derive_and_check(&doc).expect("derives");
    let cert = to_certificate(&report);
    assert_eq!(cert.derivations[0].vector.as_deref(), Some("(a - y)*x'"));
    for forged in
        ["(a + y)*x'", "x*(a - y)'", "(a - y)*x' + W - W", "a - y", "W'*(a - y)", "(a - y)*"]
    {
        let mut bad = cert.clone();
        bad.derivations[0].vector = Some(forged.to_string());
        let r = certificate::check(&bad).expect_err(forged);
        assert!(r.reason.contains("vector form"), "{forged}: {r}");
    }
    // A stated form may be left out: it is a claim, not a part of the proof.
    let mut silent = cert.clone();
    silent.derivations[0].vector = None;
    certificate::check(&silent).expect("no form, no claim");

    let g = &report.goals[0];
    let ctx = &report.context;
    let out = output_indices(&g.of, &g.wrt, ctx).expect("an entry of W");
    for wrong in ["(a + y)*x'", "((a - y)*x') .* ((a - y)*x')", "outer(a - y, x) + outer(y, x)"] {
        let m = parse_matrix(wrong, &ctx.indices, &g.matrix_shapes).expect(wrong);
        let components = deriv::report::guarded_components(g);
        let r = check_matrix_form(
            ctx,
            &m,
            &g.matrix_shapes,
            &components,
            &out,
            &CheckOptions::default(),
        );
        assert!(matches!(r, Err(deriv::numeric::CheckError::Mismatch { .. })), "{wrong}: {r:?}");
    }
}
