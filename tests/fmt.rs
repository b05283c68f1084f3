//! `deriv fmt` of every example (and of every file in matrix notation, which it writes in
//! index notation) is a fixed point: its output parses to the same document,
//! and formatting that output again changes nothing.

#[path = "common/cli.rs"]
mod cli;

use deriv::syntax::{parse_file, Document};
use std::path::Path;

/// What a document means, leaving out where its statements stood.
fn meaning(doc: &Document) -> impl PartialEq + std::fmt::Debug + '_ {
    let goals: Vec<_> = doc.goals.iter().map(|g| (&g.of, &g.wrt)).collect();
    (&doc.title, &doc.context, goals)
}

#[test]
fn formatting_the_examples_keeps_their_meaning_and_is_idempotent() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "deriv"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 4, "the examples went missing from {}", dir.display());
    // Files in matrix notation format to their index notation, with the same meaning; the
    // index files hold `via` goals whose intermediates the parser adds goals for.
    for folder in ["tests/matrix", "tests/index"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
        let mut written: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|_| panic!("{folder}/ exists"))
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "deriv"))
            .collect();
        written.sort();
        examples.extend(written);
    }
    for path in examples {
        let name = path.display().to_string();
        let src = std::fs::read_to_string(&path).expect("a readable example");
        let original = parse_file(&src).unwrap_or_else(|d| panic!("{name}:\n{d}"));

        let once = cli::run(&["fmt", &name], None);
        assert_eq!(once.status, 0, "{name}: {}", once.stderr);
        let formatted = parse_file(&once.stdout)
            .unwrap_or_else(|d| panic!("{name} formatted:\n{}\n{d}", once.stdout));
        assert_eq!(meaning(&formatted), meaning(&original), "{name} formatted:\n{}", once.stdout);
        // A goal the file does not state (an intermediate's) is not written into it.
        let derives = |text: &str| text.lines().filter(|l| l.starts_with("derive ")).count();
        assert_eq!(derives(&once.stdout), derives(&src), "{name} formatted:\n{}", once.stdout);

        let twice = cli::run(&["fmt", "-"], Some(&once.stdout));
        assert_eq!(
            (twice.status, &twice.stdout),
            (0, &once.stdout),
            "{name}: formatting is not idempotent"
        );
    }
}
