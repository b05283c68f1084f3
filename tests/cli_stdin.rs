//! Standard input and output: `-` reads standard input for every command that takes an input,
//! and a reader that closes standard output early ends the run quietly.

use std::io::Write;
use std::process::{Command, Stdio};

fn deriv(args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deriv"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("writes");
    let out = child.wait_with_output().expect("finishes");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn dash_reads_standard_input() {
    let arg = |args: &[&str]| deriv(args, "").1;
    assert_eq!(
        deriv(&["latex", "-"], "exp(z_i)/sum_k(exp(z_k))\n").1,
        arg(&["latex", "exp(z_i)/sum_k(exp(z_k))"])
    );
    assert_eq!(
        deriv(&["diff", "-", "--wrt", "x"], "sigmoid(x)\n").1,
        arg(&["diff", "sigmoid(x)", "--wrt", "x"])
    );
    let seed = std::fs::read_to_string("examples/softmax_ce.deriv").expect("seed");
    assert_eq!(
        deriv(&["run", "-", "--format", "text"], &seed).1,
        arg(&["run", "examples/softmax_ce.deriv", "--format", "text"])
    );
    assert_eq!(deriv(&["fmt", "-"], &seed).1, arg(&["fmt", "examples/softmax_ce.deriv"]));
    let cert = arg(&["run", "examples/softmax_ce.deriv", "--format", "json"]);
    assert_eq!(deriv(&["check", "-"], &cert).0, 0);
    // Bad input on standard input is still a located diagnostic with exit status 2.
    assert_eq!(deriv(&["latex", "-"], "x + * y\n").0, 2);
}

/// `deriv run … | head -1`: the pipe closes before deriv writes; no panic, no error status.
#[test]
fn a_closed_output_pipe_ends_the_run_quietly() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/softmax_ce.deriv");
    for args in [vec!["run", seed], vec!["diff", "sigmoid(x)", "--wrt", "x", "--steps"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_deriv"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("finishes");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
