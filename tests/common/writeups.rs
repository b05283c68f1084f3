//! The writeups of the examples in `examples/`, for the writeup tests. Include it with
//! `#[path = "common/writeups.rs"] mod writeups;`.

#![allow(dead_code)]

use deriv::render::writeup::Detail;
use deriv::render::{writeup, WriteupFormat};
use deriv::report::derive_and_check;
use deriv::syntax::parse_file;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

pub const FORMATS: [(WriteupFormat, &str); 4] = [
    (WriteupFormat::Markdown, "md"),
    (WriteupFormat::Latex, "tex"),
    (WriteupFormat::Html, "html"),
    (WriteupFormat::Text, "txt"),
];

/// The `.deriv` files of `examples/`, sorted; there must be some.
pub fn examples() -> Vec<PathBuf> {
    let out = deriv_files("examples");
    assert!(out.len() >= 4, "expected the public examples in examples/");
    out
}

/// The `.deriv` files of `tests/matrix/`, written in matrix notation, sorted.
pub fn matrix_examples() -> Vec<PathBuf> {
    let out = deriv_files("tests/matrix");
    assert!(!out.is_empty(), "expected matrix examples in tests/matrix/");
    out
}

/// The `.deriv` files of a folder of the project, sorted.
pub fn deriv_files(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "deriv"))
        .collect();
    out.sort();
    out
}

/// A derivation file with one goal per line of `examples/scalar.txt` (`EXPR ; VAR ; RESULT`):
/// the elementary functions, and side conditions the kernel cannot discharge.
pub fn scalar_document() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scalar.txt");
    let cases =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut doc = String::from("title \"Scalar derivatives\"\n");
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split(';').map(str::trim).collect();
        doc.push_str(&format!("derive {} wrt {}\n", parts[0], parts[1]));
    }
    doc
}

/// The writeup of a `.deriv` source.
pub fn render_source(src: &str, format: WriteupFormat, detail: Detail) -> String {
    let doc = parse_file(src).unwrap_or_else(|e| panic!("{e}"));
    let report = derive_and_check(&doc).unwrap_or_else(|f| panic!("{f:?}"));
    writeup(&report, format, detail)
}

/// The writeup of an example file.
pub fn render(path: &Path, format: WriteupFormat, detail: Detail) -> String {
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    render_source(&src, format, detail)
}

/// The brief writeup of an example file, its vectors and matrices set in `vectors` style.
pub fn render_styled(
    path: &Path,
    format: WriteupFormat,
    vectors: deriv::render::matrix::Vectors,
) -> String {
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = parse_file(&src).unwrap_or_else(|e| panic!("{e}"));
    let report = derive_and_check(&doc).unwrap_or_else(|f| panic!("{f:?}"));
    deriv::render::writeup_with(&report, format, Detail::Brief, vectors)
}

/// The file name of an example, for messages.
pub fn name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Whether a test that needs an external tool must fail rather than skip without it.
pub fn required() -> bool {
    std::env::var_os("CI").is_some()
}

/// A fresh, empty scratch directory for one test, under Cargo's temporary directory for tests.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Whether `tool` runs here. Without it a test is skipped locally (with a note) and fails
/// when `CI` is set, saying what to install.
pub fn tool_available(tool: &str, install: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(!required(), "{tool} is missing (CI is set): install {install}");
        eprintln!("{tool} is missing: skipped (set CI to make this a failure)");
    }
    found
}

/// Compile `tex` as `writeup.tex` in `dir` with pdflatex: its log, or, when no PDF came
/// out, the end of what pdflatex printed.
pub fn pdflatex(tex: &str, dir: &Path) -> Result<String, String> {
    std::fs::write(dir.join("writeup.tex"), tex).map_err(|e| e.to_string())?;
    let out = Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "writeup.tex"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let pdf = dir.join("writeup.pdf");
    if out.status.success() && pdf.metadata().is_ok_and(|m| m.len() > 0) {
        // The log echoes the input in the font's encoding, not always UTF-8.
        let log = std::fs::read(dir.join("writeup.log")).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&log).into_owned())
    } else {
        let printed = String::from_utf8_lossy(&out.stdout);
        let tail: Vec<&str> = printed.lines().rev().take(30).collect();
        Err(tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
    }
}

/// Headless Chromium as the tests run it (no sandbox, GPU or network, no scrollbars), its
/// profile in `dir`, in a window of `size` (`"900,1000"`).
pub fn chromium(dir: &Path, size: &str) -> Command {
    let mut command = Command::new("chromium");
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size={size}"))
        .arg(format!("--user-data-dir={}", dir.join("profile").display()));
    command
}

/// Wait for `child` to exit, killing it after three minutes.
pub fn finish(mut child: Child) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => return Ok(status),
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("chromium took longer than three minutes".into());
            }
        }
    }
}
