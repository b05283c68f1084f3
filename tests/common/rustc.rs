//! Compile a generated Rust program with rustc, run it, and read back the numbers it prints.

use std::path::PathBuf;
use std::process::Command;

/// A fresh directory under the system's temporary one, unique to this process and call
/// (a counter, not the clock: nothing in a test depends on the time).
fn scratch_dir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("deriv-rustc-{}-{n}", std::process::id()));
    // A directory left by an earlier process with the same id is stale.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// Compile `source` with rustc (warnings are errors), run it, and read one number a line.
pub fn compile_and_run(source: &str) -> Vec<f64> {
    let dir = scratch_dir();
    let (file, binary) = (dir.join("main.rs"), dir.join("main"));
    std::fs::write(&file, source).expect("the source is written");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let compiled = Command::new(rustc)
        .args(["--edition", "2021", "-O", "-D", "warnings", "-o"])
        .arg(&binary)
        .arg(&file)
        .output()
        .expect("rustc runs");
    let run = compiled
        .status
        .success()
        .then(|| Command::new(&binary).output().expect("the program runs"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        compiled.status.success(),
        "rustc failed:\n{}\n{source}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let run = run.expect("compiled");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| l.parse().expect("a number a line"))
        .collect()
}
