//! Data-driven `deriv diff` tests: every `EXPR ; VAR ; TEXTBOOK` line of `tests/diff/*.txt`
//! is snapshotted (plain result and `--steps`), checked against finite differences,
//! reparsed, kept to the input's own functions, compared with its textbook form, and its
//! certificate replayed by `deriv check -`.
//!
//! A fourth field `weak` marks a line whose result is known not to be in textbook form
//! (larger, or using a function the input lacks); the test insists it still is not, so
//! the marker is dropped as soon as the engine improves.

#[path = "common/cli.rs"]
mod cli;
#[path = "common/textbook.rs"]
mod textbook;

use deriv::certificate::{self, Certificate};
use deriv::cli::{execute, Command, DiffFormat};
use deriv::expr::{Context, Expr};
use deriv::numeric::{check_derivative, check_equal, CheckOptions};
use deriv::syntax::parse_expr;
use std::path::Path;
use textbook::textbook_form;

/// One line of a case file.
struct Case {
    line: usize,
    expr: String,
    var: String,
    textbook: String,
    weak: bool,
}

fn cases(path: &Path) -> Vec<Case> {
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    src.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let parts: Vec<&str> = l.split(';').map(str::trim).collect();
            let (expr, var, textbook, weak) = match parts.as_slice() {
                [e, v, t] => (*e, *v, *t, false),
                [e, v, t, "weak"] => (*e, *v, *t, true),
                _ => panic!("{}:{}: want `EXPR ; VAR ; TEXTBOOK [; weak]`", path.display(), i + 1),
            };
            Case {
                line: i + 1,
                expr: expr.into(),
                var: var.into(),
                textbook: textbook.into(),
                weak,
            }
        })
        .collect()
}

/// What `deriv diff EXPR --wrt VAR [--steps] --format FORMAT` prints.
fn diff(case: &Case, format: DiffFormat, steps: bool) -> String {
    let command = Command::Diff {
        expr: Some(case.expr.clone()),
        wrt: vec![case.var.clone()],
        format,
        steps,
        batch: None,
        coq_prelude: deriv::cli::CoqPrelude::Require,
        coq_steps: false,
    };
    match execute(command) {
        Ok(out) => out,
        Err(f) => panic!("line {}: deriv diff {} failed: {}", case.line, case.expr, f.message()),
    }
}

fn term(src: &str, what: &str) -> Expr {
    parse_expr(src).unwrap_or_else(|d| panic!("{what} `{src}`: {d}"))
}

/// Check one line; returns its snapshot text and its certificate.
fn check_case(case: &Case) -> (String, Certificate) {
    let at = format!("line {}: {} ; {}", case.line, case.expr, case.var);
    let plain = diff(case, DiffFormat::Plain, false);
    let steps = diff(case, DiffFormat::Plain, true);
    let json = diff(case, DiffFormat::Json, false);

    // Plain is exactly one line, and `--steps` ends with it.
    assert_eq!(plain.lines().count(), 1, "{at}: {plain:?}");
    assert!(steps.ends_with(&plain), "{at}: --steps ends elsewhere");
    let printed = plain.trim_end();

    // The result reparses to itself.
    let input = term(&case.expr, "input");
    let var = term(&case.var, "variable");
    let result = term(printed, "result");
    // (Numbers print as the input writes them: decimals for an input with decimals.)
    let style = deriv::syntax::numbers::scan(&case.expr);
    let reprinted = deriv::render::decimals::with_style(style.as_ref(), || result.to_string());
    assert_eq!(reprinted, printed, "{at}: does not print back");

    // Against dual numbers and central finite differences of the input.
    let ctx = Context::default();
    let opts = CheckOptions::default();
    let checks = check_derivative(&ctx, &input, &var, &result, &opts)
        .unwrap_or_else(|e| panic!("{at}: `{printed}`: {e}"));
    assert!(checks.iter().all(|c| c.points >= opts.points), "{at}");

    // The textbook form is the same function (this checks the hand derivation too).
    let textbook = term(&case.textbook, "textbook");
    check_equal(&ctx, &result, &textbook, &opts)
        .unwrap_or_else(|e| panic!("{at}: `{printed}` is not the textbook `{textbook}`: {e}"));
    textbook_form(&[&input], &[], &textbook, &textbook)
        .unwrap_or_else(|e| panic!("{at}: the textbook form {e}"));
    match (textbook_form(&[&input], &[], &result, &textbook), case.weak) {
        (Ok(()), false) | (Err(_), true) => {}
        (Err(e), false) => panic!("{at}: `{printed}` is not in textbook form: {e}"),
        (Ok(()), true) => {
            panic!("{at}: `{printed}` is now in textbook form: drop the `weak` marker")
        }
    }

    // The certificate replays: same result, every printed step accepted by the kernel.
    let cert: Certificate =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{at}: bad JSON: {e}"));
    let proofs = certificate::check(&cert).unwrap_or_else(|r| panic!("{at}: rejected: {r}"));
    let [derivation] = cert.derivations.as_slice() else { panic!("{at}: one derivation expected") };
    // (The certificate keeps fractions where the result prints decimals: the same term.)
    assert_eq!(term(&derivation.result, "certificate result"), result, "{at}");
    let listed = steps.lines().count() - 1;
    assert_eq!(derivation.steps.len(), listed, "{at}: --steps lists other steps");
    assert_eq!(proofs[0].steps().len(), listed, "{at}");
    for (i, (s, line)) in derivation.steps.iter().zip(steps.lines()).enumerate() {
        let after = term(&s.after, "certificate step");
        let shown = deriv::render::decimals::with_style(style.as_ref(), || after.to_string());
        assert!(
            line.starts_with(&format!("{}. ", i + 1)) && line.ends_with(&shown),
            "{at}: step {} prints `{line}`, the certificate has `{}`",
            i + 1,
            s.after
        );
    }

    let mut snap = format!("{} ; {}\n= {printed}\n", case.expr, case.var);
    for l in steps.lines().take(listed) {
        snap.push_str(&format!("  {l}\n"));
    }
    (snap, cert)
}

#[test]
fn every_diff_case() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    let mut total = 0;
    settings.bind(|| {
        insta::glob!("diff/*.txt", |path| {
            let cases = cases(path);
            assert!(!cases.is_empty(), "{}: no cases", path.display());
            let mut snapshot = String::new();
            let mut all = Vec::new();
            for case in &cases {
                let (snap, cert) = check_case(case);
                snapshot.push_str(&snap);
                snapshot.push('\n');
                all.push(cert);
            }
            replay_with_the_binary(path, all);
            total += cases.len();
            insta::assert_snapshot!("diff", snapshot);
        });
    });
    assert!(total >= 60, "only {total} diff cases");
}

/// `deriv check -` on one certificate holding every derivation of a file (all scalar
/// derivations share the empty context).
fn replay_with_the_binary(path: &Path, certs: Vec<Certificate>) {
    let mut merged = certs[0].clone();
    assert!(certs.iter().all(|c| c.context.indices.is_empty()));
    merged.derivations = certs.into_iter().flat_map(|c| c.derivations).collect();
    // The merged derivations name their repeated subterms together, as one document's do.
    let replayed = deriv::kernel::certificate::check(&merged).expect("each part replays");
    let proofs: Vec<_> = replayed.iter().map(|r| &r.proof).collect();
    merged.abbreviations = deriv::certificate::abbreviations_json(proofs[0].context(), &proofs);
    let steps: usize = merged.derivations.iter().map(|d| d.steps.len()).sum();
    let json = serde_json::to_string(&merged).expect("serialises");
    let run = cli::run(&["check", "-"], Some(&json));
    assert_eq!(run.status, 0, "{}: {}", path.display(), run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "ok: {} derivations, {steps} steps replayed by the kernel\n",
            merged.derivations.len()
        ),
        "{}",
        path.display()
    );
}
