//! `deriv --help` ends with a syntax summary whose statements are a working .deriv file,
//! and points to the reference in the repository.

use std::process::Command;

#[test]
fn help_ends_with_a_working_syntax_summary() {
    let out = Command::new(env!("CARGO_BIN_EXE_deriv")).arg("--help").output().expect("deriv runs");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = help.trim_end().lines().collect();
    let [.., header, a, b, c, d, pointer] = lines.as_slice() else {
        panic!("help too short: {help}");
    };
    assert!(header.starts_with("Syntax of a .deriv file"), "{header}");
    let reference = pointer.split_whitespace().find(|w| w.ends_with(".md")).expect("a pointer");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(reference);
    assert!(path.is_file(), "{} does not exist", path.display());
    // Each statement is the text before the run of spaces that starts its gloss.
    let file: String = [a, b, c, d]
        .iter()
        .map(|l| l.trim_start().split("   ").next().unwrap_or_default().to_string() + "\n")
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_deriv"))
        .args(["run", "--format", "text", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(file.as_bytes())?;
            child.wait_with_output()
        })
        .expect("deriv runs");
    assert!(out.status.success(), "the summary's statements do not run:\n{file}");
}
