//! `deriv run` writeups from the command line: every format and detail, byte-identical run
//! to run, `-o` files, Markdown by default, and the committed `docs/softmax_ce.md` current.

#[path = "common/writeups.rs"]
mod writeups;

use deriv::render::writeup::Detail;
use std::path::Path;
use std::process::Command;
use writeups::{examples, name, render, scratch, FORMATS};

fn deriv(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_deriv"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("deriv runs");
    assert!(
        out.status.success(),
        "deriv {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn output_is_byte_identical_run_to_run_and_matches_the_library() {
    for path in examples() {
        let file = path.to_string_lossy().into_owned();
        for (format, _) in FORMATS {
            let fmt = format!("{format:?}").to_lowercase();
            for (detail, d) in [(Detail::Brief, "brief"), (Detail::Full, "full")] {
                let args = ["run", &file, "--format", &fmt, "--detail", d];
                let first = deriv(&args);
                assert_eq!(first, deriv(&args), "{} {fmt} {d}: two runs differ", name(&path));
                let lib = render(&path, format, detail);
                assert_eq!(String::from_utf8_lossy(&first), lib, "{} {fmt} {d}", name(&path));
            }
        }
    }
}

#[test]
fn markdown_is_the_default_and_brief_the_default_detail() {
    let seed = "examples/softmax_ce.deriv";
    assert_eq!(
        deriv(&["run", seed]),
        deriv(&["run", seed, "--format", "markdown", "--detail", "brief"])
    );
    assert_ne!(deriv(&["run", seed]), deriv(&["run", seed, "--detail", "full"]));
}

#[test]
fn output_goes_to_the_file_named_by_o() {
    let dir = scratch("cli-output");
    let out = dir.join("seed.html");
    let printed = deriv(&[
        "run",
        "examples/softmax_ce.deriv",
        "--format",
        "html",
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(printed.is_empty(), "nothing on standard output with -o");
    let written = std::fs::read(&out).expect("the output file");
    assert_eq!(written, deriv(&["run", "examples/softmax_ce.deriv", "--format", "html"]));
}

/// The README shows `docs/softmax_ce.md` and `docs/seed.md`; regenerate them with
/// `cargo run -- run examples/NAME.deriv -o docs/NAME.md`.
#[test]
fn the_committed_seed_writeup_is_current() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    for name in ["softmax_ce", "seed"] {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/{name}.md"));
        let committed = std::fs::read(&docs).unwrap_or_else(|_| panic!("docs/{name}.md exists"));
        let example = format!("examples/{name}.deriv");
        assert!(
            committed == deriv(&["run", &example]),
            "docs/{name}.md is stale: run `cargo run -- run {example} -o docs/{name}.md`"
        );
        assert!(readme.contains(&format!("(docs/{name}.md)")), "the README links docs/{name}.md");
    }
}
