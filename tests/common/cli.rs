//! Running the `deriv` binary from tests: `run(&["latex", "x"], None)`.
//! Include it with `#[path = "common/cli.rs"] mod cli;`.

use std::io::Write;
use std::process::{Command, Stdio};

/// What a run of the binary printed, and its exit status.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `deriv ARGS`, feeding `stdin` to it when given.
pub fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deriv"))
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the deriv binary starts");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("deriv reads its input");
    }
    let out = child.wait_with_output().expect("deriv finishes");
    Run {
        // A signal (a crash) has no code: report it as -1, which no test expects.
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
