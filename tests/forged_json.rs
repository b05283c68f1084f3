//! Forged JSON certificates, read from disk by `deriv check` exactly as a user would pass
//! them: each file in `tests/forged_json/` claims a false chain (or rests on a context the
//! `.deriv` rules refuse) and must be refused for the reason its `.expect` file names.
//! `tests/forged_json/README.md` lists them.
//!
//! An `.expect` file, one item per line (`#` starts a comment):
//!
//! ```text
//! hole: 3               which hole of issue 13 (or `extra`); for the README only
//! status: 1             the exit status `deriv check` must give
//! says: step 1:         text the message must contain (every `says` line)
//! either: involves `x`  text the message may contain (at least one `either` line)
//! refute: numeric       the goal and the stated result differ numerically
//! ```

#[path = "common/cli.rs"]
mod cli;

use deriv::certificate::{read_context, Certificate};
use deriv::expr::{Context, Expr};
use deriv::numeric::{check_equal, CheckError, CheckOptions};
use deriv::syntax::{parse_expr_in, parse_variable, IndexScope};
use std::path::{Path, PathBuf};

struct Expect {
    status: i32,
    says: Vec<String>,
    either: Vec<String>,
    refute: bool,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/forged_json")
}

/// The files of `dir` whose names end in `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

fn name(path: &Path) -> String {
    path.file_stem().unwrap_or_default().to_string_lossy().into_owned()
}

fn read_expect(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut e = Expect { status: -1, says: Vec::new(), either: Vec::new(), refute: false };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (key, value) = line.split_once(':').unwrap_or_else(|| panic!("{path:?}: `{line}`"));
        let value = value.trim().to_string();
        match key {
            "hole" => {}
            "status" => e.status = value.parse().expect("a number"),
            "says" => e.says.push(value),
            "either" => e.either.push(value),
            "refute" if value == "numeric" => e.refute = true,
            _ => panic!("{path:?}: unknown line `{line}`"),
        }
    }
    assert!(e.status >= 0, "{path:?}: no `status:` line");
    e
}

/// What is wrong with `deriv check`'s answer to one forgery, if anything.
fn fault(cert: &Path, expect: &Expect) -> Option<String> {
    let path = cert.to_str().expect("a UTF-8 path");
    let run = cli::run(&["check", path], None);
    let said = format!("exit {}: {}{}", run.status, run.stdout, run.stderr);
    if run.status != expect.status {
        return Some(format!("wanted exit {}, got {said}", expect.status));
    }
    // A refusal of the certificate itself, not of unreadable input.
    if expect.status == 1 && !run.stderr.starts_with("error: certificate rejected: ") {
        return Some(format!("not a certificate refusal: {said}"));
    }
    if let Some(want) = expect.says.iter().find(|w| !run.stderr.contains(w.as_str())) {
        return Some(format!("`{want}` not in {said}"));
    }
    if !expect.either.is_empty() && !expect.either.iter().any(|w| run.stderr.contains(w.as_str())) {
        return Some(format!("none of {:?} in {said}", expect.either));
    }
    None
}

#[test]
fn every_forged_certificate_is_refused_for_its_reason() {
    let certs = files(&dir(), "json");
    assert!(certs.len() >= 30, "the forgeries are all there: {}", certs.len());
    // Every forgery is tried, so one run lists every hole still open.
    let faults: Vec<String> = certs
        .iter()
        .filter_map(|c| {
            let expect = read_expect(&c.with_extension("expect"));
            fault(c, &expect).map(|f| format!("{}: {f}", name(c)))
        })
        .collect();
    assert!(
        faults.is_empty(),
        "{} of {} forgeries not refused as expected:\n{}",
        faults.len(),
        certs.len(),
        faults.join("\n")
    );
}

#[test]
fn every_forgery_has_an_expectation_and_a_line_in_the_readme() {
    let d = dir();
    let certs: Vec<String> = files(&d, "json").iter().map(|p| name(p)).collect();
    let expects: Vec<String> = files(&d, "expect").iter().map(|p| name(p)).collect();
    assert_eq!(certs, expects, "each NAME.json has a NAME.expect and the other way round");
    let readme = std::fs::read_to_string(d.join("README.md")).expect("tests/forged_json/README.md");
    for n in &certs {
        assert!(readme.contains(&format!("`{n}`")), "README.md does not list `{n}`");
    }
    // Nothing else lies around that the walk would silently skip.
    for entry in std::fs::read_dir(&d).expect("the directory") {
        let p = entry.expect("an entry").path();
        let ok =
            p.extension().is_some_and(|x| x == "json" || x == "expect") || p.ends_with("README.md");
        assert!(ok, "{p:?}: not a forgery, an expectation or the README");
    }
}

/// The certificate's goal and stated result, read with the library (not the kernel).
fn ends(cert: &Certificate) -> (Context, Expr, Expr) {
    let ctx = read_context(&cert.context).expect("a readable context");
    let decls = ctx.indices.clone();
    let scope = IndexScope::Certificate(&decls);
    let d = &cert.derivations[0];
    let goal = Expr::d(
        parse_expr_in(&d.of, scope).expect("the goal's function"),
        parse_variable(&d.wrt, scope).expect("the goal's variable"),
    );
    let result = parse_expr_in(&d.result, scope).expect("the stated result");
    (ctx, goal, result)
}

#[test]
fn the_forged_claims_are_false() {
    let mut refuted = 0;
    for c in files(&dir(), "json") {
        if !read_expect(&c.with_extension("expect")).refute {
            continue;
        }
        let text = std::fs::read_to_string(&c).expect("the certificate");
        let cert: Certificate = serde_json::from_str(&text).expect("a certificate");
        let (ctx, goal, result) = ends(&cert);
        let mut outcome = check_equal(&ctx, &goal, &result, &CheckOptions::default());
        if let Err(CheckError::NoValidPoints { .. }) = outcome {
            // The sampler cannot meet a hypothesis such as x_i = 1 on part of a range; the
            // claim is false without it too (the `.expect` comment says why).
            let free = Context { assumptions: Vec::new(), ..ctx.clone() };
            outcome = check_equal(&free, &goal, &result, &CheckOptions::default());
        }
        assert!(
            matches!(outcome, Err(CheckError::Mismatch { .. })),
            "{}: the goal and the stated result agree: {outcome:?}",
            name(&c)
        );
        refuted += 1;
    }
    assert!(refuted >= 15, "only {refuted} claims refuted");
}

#[test]
fn diff_refuses_a_derivative_in_the_size_of_a_sum() {
    for expr in ["sum_{k=1}^{n}(y)", "sum_k(y)", "x*sum_{k=1}^{n}(x_k)"] {
        let run = cli::run(&["diff", expr, "--wrt", "n"], None);
        assert_eq!(run.status, 2, "{expr}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{expr}: printed {}", run.stdout);
        assert!(
            run.stderr.contains("cannot differentiate with respect to `n`")
                && run.stderr.contains("bounds an index range"),
            "{expr}: {}",
            run.stderr
        );
    }
}

/// Every derivation may use all those before it, so a certificate's memory grows with the
/// square of their number: 10,000 empty derivations once took 15 GB. At most 5,000 are
/// replayed; one more is refused, naming the first one past the limit.
#[test]
fn a_certificate_holds_at_most_5000_derivations() {
    let cert = |n: usize| {
        let one = r#"{"of": "x", "wrt": "x", "result": "D(x, x)", "vector": null, "hypotheses": [], "steps": []}"#;
        let all = vec![one; n].join(",");
        format!(
            r#"{{"format": "deriv-certificate-1", "context": {{"indices": [], "definitions": [], "assumptions": []}}, "derivations": [{all}]}}"#
        )
    };
    let most = cli::run(&["check", "-"], Some(&cert(5_000)));
    assert_eq!(most.status, 0, "{}", most.stderr);
    let over = cli::run(&["check", "-"], Some(&cert(5_001)));
    assert_eq!(over.status, 1, "{}", over.stderr);
    assert!(
        over.stderr.contains("derivation 5001: a certificate holds at most 5000"),
        "{}",
        over.stderr
    );
}
