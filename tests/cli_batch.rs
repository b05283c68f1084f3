//! Batch mode: `deriv diff --batch FILE` prints one line per `EXPR ; VAR` line, in order, the
//! same result `deriv diff` prints for it alone, with a failure reported in its line's place;
//! `deriv run` over several files prints each file's output in order.

#[path = "common/cli.rs"]
mod cli;

use cli::run;

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

/// The `EXPR ; VAR` lines of a batch file, with their line numbers.
fn cases(text: &str) -> Vec<(usize, String, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim().starts_with('#'))
        .map(|(n, l)| {
            let fields: Vec<&str> = l.split(';').map(str::trim).collect();
            let var = if fields.len() == 2 { fields[1] } else { "" };
            (n + 1, fields[0].to_string(), var.to_string())
        })
        .collect()
}

#[test]
fn every_batch_file_matches_one_diff_per_line() {
    insta::glob!("batch/*.txt", |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).expect("readable");
        // Relative to the package (the tests' working directory), so the snapshot is the
        // same in every clone.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = path.strip_prefix(root).unwrap_or(path).to_str().expect("a UTF-8 path");
        let batch = run(&["diff", "--batch", file], None);
        let lines: Vec<&str> = batch.stdout.lines().collect();
        let cases = cases(&text);
        assert_eq!(lines.len(), cases.len(), "one output line per input line");
        let mut worst = 0;
        for ((n, expr, var), line) in cases.iter().zip(&lines) {
            let alone = run(&["diff", expr, "--wrt", var], None);
            if alone.status == 0 {
                assert_eq!(format!("{line}\n"), alone.stdout, "line {n}");
            } else {
                assert!(line.starts_with(&format!("error: {file}:{n}: ")), "line {n}: {line}");
                assert!(batch.stderr.contains(&format!("{file}:{n}: ")), "line {n}");
            }
            worst = worst.max(if var.is_empty() { 2 } else { alone.status });
        }
        assert_eq!(batch.status, worst, "the worst status of the lines");
        // The same run again prints the same bytes.
        assert_eq!(run(&["diff", "--batch", file], None).stdout, batch.stdout);
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        settings().bind(|| {
            insta::assert_snapshot!(format!("batch@{name}"), batch.stdout);
        });
    });
}

#[test]
fn batch_reads_standard_input_and_writes_json_lines() {
    let input = "sigmoid(x) ; x\nx^3 ; x\n";
    let out = run(&["diff", "--batch", "-", "--format", "json"], Some(input));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object a line");
        assert!(v["derivations"][0]["result"].is_string());
    }
}

#[test]
fn run_takes_several_files_and_a_failing_one_stops_no_other() {
    let (a, b) = ("examples/softmax_ce.deriv", "tests/index/logsumexp.deriv");
    let one = |f: &str| run(&["run", f, "--format", "text"], None).stdout;
    let both = run(&["run", a, b, "--format", "text"], None);
    assert_eq!(both.status, 0);
    assert_eq!(both.stdout, one(a) + &one(b));
    let with_missing = run(&["run", a, "no/such/file.deriv", b, "--format", "text"], None);
    assert_eq!(with_missing.status, 2);
    assert_eq!(with_missing.stdout, one(a) + &one(b));
    assert!(with_missing.stderr.contains("no/such/file.deriv"));
    let to_file = run(&["run", a, b, "-o", "out.md"], None);
    assert_eq!(to_file.status, 2, "-o takes one input file");
}
