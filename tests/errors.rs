//! Bad input gets a diagnostic that names the line and column in the project's own words,
//! through the library and through the binary (exit status 2, the offending line with a caret
//! under the offending text). Nothing panics or overflows the stack, however large or deep
//! the input: the limits are exact and reported, and parsing never evaluates.
//!
//! Cases are data: `errors/expressions.txt` (one a line) and `errors/files/*.deriv` (the
//! expected error in a `# error: LINE:COLUMN MESSAGE` first line); the stress inputs too
//! large for a file are generated below.

#[path = "common/cli.rs"]
mod cli;

use deriv::expr::MAX_DEPTH;
use deriv::render::{latex::latex, plain::print};
use deriv::syntax::{parse_expr, parse_file, Diagnostic};
use std::path::Path;

/// One malformed input and the diagnostic it must get.
struct Case {
    name: String,
    input: String,
    /// A `.deriv` file rather than an expression.
    file: bool,
    line: usize,
    column: usize,
    message: String,
}

impl Case {
    fn new(name: &str, input: String, file: bool, expected: &str) -> Case {
        let (at, message) = expected.split_once(' ').unwrap_or((expected, ""));
        let (line, column) = at
            .split_once(':')
            .unwrap_or_else(|| panic!("{name}: expected LINE:COLUMN in {expected:?}"));
        Case {
            name: name.to_string(),
            input,
            file,
            line: line.parse().unwrap_or_else(|_| panic!("{name}: bad line in {expected:?}")),
            column: column.parse().unwrap_or_else(|_| panic!("{name}: bad column in {expected:?}")),
            message: message.to_string(),
        }
    }

    fn parse(&self) -> Result<(), Diagnostic> {
        if self.file {
            parse_file(&self.input).map(drop)
        } else {
            parse_expr(&self.input).map(drop)
        }
    }

    /// Why the diagnostic is not the expected one, if it is not.
    fn mismatch(&self, d: &Diagnostic) -> Option<String> {
        let ok =
            d.line == self.line && d.column == self.column && d.message.contains(&self.message);
        (!ok).then(|| {
            format!(
                "{}: expected {}:{} {:?}, got {}:{} {:?}",
                self.name, self.line, self.column, self.message, d.line, d.column, d.message
            )
        })
    }
}

fn expression_cases() -> Vec<Case> {
    include_str!("errors/expressions.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (expected, input) =
                l.split_once(" | ").unwrap_or_else(|| panic!("no ` | ` in {l:?}"));
            Case::new(input, input.to_string(), false, expected)
        })
        .collect()
}

fn file_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors/files");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/errors/files exists")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "the file cases went missing from {}", dir.display());
    paths
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let input = std::fs::read_to_string(p).expect("a readable case");
            let expected = input
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# error: "))
                .unwrap_or_else(|| {
                    panic!("{name}: the first line must be `# error: LINE:COLUMN MESSAGE`")
                })
                .to_string();
            Case::new(&name, input, true, &expected)
        })
        .collect()
}

/// Inputs far beyond every limit, as expressions and as the body of a `let`.
fn stress_cases() -> Vec<Case> {
    let parens = "(".repeat(10_000) + "x" + &")".repeat(10_000);
    let minuses = "-".repeat(100_000) + "x";
    let powers = "x^".repeat(100_000) + "x";
    let digits = "7".repeat(5_000);
    let wide = "x + ".repeat(300_000) + "x";
    let cases = [
        ("10,000 nested brackets", parens, "1:1201 brackets nest more than 1200 deep"),
        ("100,000 unary minuses", minuses, "1:1 more than 1200 minus signs in a row"),
        ("x^x^… 100,000 deep", powers, "1:2402 more than 1200 `^` operators in one line"),
        ("a 5,000-digit number", digits, "1:1 number has more than 1000 digits"),
        ("1.2 MB of input", wide, "1:1 input is larger than 1048576 bytes"),
    ];
    let mut out = Vec::new();
    for (name, input, expected) in cases {
        // In a file the same text sits after `let a = `, eight columns on, except where
        // the whole input is refused before parsing.
        let (at, message) = expected.split_once(' ').unwrap_or_default();
        let column: usize = at.trim_start_matches("1:").parse().unwrap_or_default();
        let file_column = if message.starts_with("input is larger") { 1 } else { column + 8 };
        let in_file = format!("1:{file_column} {message}");
        out.push(Case::new(
            &format!("{name} (file)"),
            format!("let a = {input}\n"),
            true,
            &in_file,
        ));
        out.push(Case::new(name, input, false, expected));
    }
    out
}

fn all_cases() -> Vec<Case> {
    let mut cases = expression_cases();
    cases.extend(file_cases());
    cases.extend(stress_cases());
    cases
}

#[test]
fn every_malformed_input_gets_its_diagnostic() {
    let cases = all_cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| match c.parse() {
            Ok(()) => Some(format!("{}: parsed, but should fail", c.name)),
            Err(d) => c.mismatch(&d),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The binary exits with status 2 and prints the message, the location and a caret under
/// the very character the column names.
#[test]
fn the_binary_shows_each_error_with_a_caret_and_exits_2() {
    let mut failures = Vec::new();
    for case in all_cases() {
        let run = if case.file {
            cli::run(&["fmt", "-"], Some(&case.input))
        } else if case.input.len() > 100_000 {
            // Too long for a command line; its file variant reaches the binary through stdin.
            continue;
        } else {
            cli::run(&["latex", &case.input], None)
        };
        let origin = if case.file { "<stdin>" } else { "<expr>" };
        let location = format!("--> {origin}:{}:{}", case.line, case.column);
        let problem = if run.status != 2 {
            Some(format!("exit status {}", run.status))
        } else if !run.stderr.starts_with("error: ") || !run.stderr.contains(&case.message) {
            Some("message missing".into())
        } else if !run.stderr.contains(&location) {
            Some(format!("{location} missing"))
        } else {
            caret_problem(&case, &run.stderr)
        };
        if let Some(p) = problem {
            failures.push(format!("{}: {p}\n{}", case.name, run.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether the caret in `stderr` stands under the character at the case's line and column
/// (long lines are shown as a window around it, after a one-character `…`).
fn caret_problem(case: &Case, stderr: &str) -> Option<String> {
    let prefix = format!("{} | ", case.line);
    let lines: Vec<&str> = stderr.lines().collect();
    let Some(at) = lines.iter().position(|l| l.starts_with(&prefix)) else {
        return Some("the offending line is not shown".into());
    };
    let shown: Vec<char> = lines[at][prefix.len()..].chars().collect();
    let caret_line = lines.get(at + 1).copied().unwrap_or("");
    let caret = caret_line.chars().count().saturating_sub(prefix.len() + 1);
    if !caret_line.ends_with('^') || caret_line.chars().count() <= prefix.len() {
        return Some(format!("no caret under {:?}", lines[at]));
    }
    let source_line = case.input.split('\n').nth(case.line - 1).unwrap_or("");
    let wanted = source_line.chars().nth(case.column - 1);
    let under = shown.get(caret).copied();
    (under != wanted).then(|| format!("the caret stands under {under:?}, not {wanted:?}"))
}

/// The limits are exact: the largest accepted input parses, one more is refused.
#[test]
fn limits_are_exact() {
    let nest = |n: usize| "(".repeat(n) + "x" + &")".repeat(n);
    let minus = |n: usize| "-".repeat(n) + "x";
    let tower = |n: usize| "x^".repeat(n) + "x";
    let number = |n: usize| "9".repeat(n);
    let cases: [(&str, String, String); 4] = [
        ("brackets", nest(MAX_DEPTH), nest(MAX_DEPTH + 1)),
        ("minus signs", minus(MAX_DEPTH - 1), minus(MAX_DEPTH)),
        ("nesting", tower(MAX_DEPTH - 1), tower(MAX_DEPTH)),
        ("digits", number(1000), number(1001)),
    ];
    for (what, largest, too_large) in cases {
        if let Err(d) = parse_expr(&largest) {
            panic!("the largest accepted {what} fail: {d}");
        }
        assert!(parse_expr(&too_large).is_err(), "one more {what} than the limit parses");
    }
    assert_eq!(parse_expr(&tower(MAX_DEPTH - 1)).map(|e| e.depth()), Ok(MAX_DEPTH));
}

/// Machine-generated input nests deeply: brackets as deep as terms may be are
/// differentiated by the binary (parsed on a roomy stack, whatever stack the caller has), in
/// a file too; 5,000 are refused with exit status 2, the line, the column and a caret.
#[test]
fn deeply_bracketed_input_is_differentiated_and_deeper_is_refused() {
    let nest = |n: usize| "(".repeat(n) + "x^2 + 1" + &")".repeat(n);
    let run = cli::run(&["diff", &nest(MAX_DEPTH - 1), "--wrt", "x"], None);
    assert_eq!((run.status, run.stdout.as_str()), (0, "2*x\n"), "{}", run.stderr);
    let file = format!("let a = {}\nderive a wrt x\n", nest(MAX_DEPTH - 1));
    let run = cli::run(&["run", "-"], Some(&file));
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("&= 2 x"), "{}", run.stdout);
    let run = cli::run(&["diff", &nest(5000), "--wrt", "x"], None);
    assert_eq!(run.status, 2, "{}", run.stderr);
    let (column, message) =
        (format!("1:{}", MAX_DEPTH + 1), format!("brackets nest more than {MAX_DEPTH} deep"));
    assert!(run.stderr.contains(&column) && run.stderr.contains(&message), "{}", run.stderr);
    // Where the caret stands in the window shown is checked with the stress cases.
    assert!(run.stderr.lines().any(|l| l.trim_end().ends_with('^')), "{}", run.stderr);
}

/// Parsing never evaluates: a huge power is a term like any other.
#[test]
fn huge_powers_parse_without_evaluation() {
    let e = parse_expr("2^100000000").expect("parses");
    assert_eq!(print(&e), "2^100000000");
    assert_eq!(latex(&e), "2^{100000000}");
    let run = cli::run(&["latex", "2^100000000"], None);
    assert_eq!((run.status, run.stdout.as_str()), (0, "2^{100000000}\n"));
}

/// The deepest terms the parser accepts print, compare, clone and drop on a small stack:
/// 4 MiB, half a main thread's, enough for an unoptimised build.
#[test]
fn deepest_terms_are_safe_on_a_small_stack() {
    let deepest = [
        "x^".repeat(MAX_DEPTH - 1) + "x",
        "-(".repeat(128) + "x" + &")".repeat(128),
        "sum_k(".repeat(127) + "x_k" + &")".repeat(127),
    ];
    for src in deepest {
        let e = parse_expr(&src).expect("within the limits");
        let worker = std::thread::Builder::new().stack_size(4 << 20).spawn(move || {
            let copy = e.clone();
            let text = print(&e);
            let tex = latex(&e);
            (copy == e, text.len(), tex.len())
        });
        let (equal, text, tex) = worker.expect("a thread").join().expect("no overflow, no panic");
        assert!(equal && text > 0 && tex > 0);
    }
}

/// Standard input works for files, and errors there are located in it.
#[test]
fn stdin_is_read_with_dash() {
    let run = cli::run(&["fmt", "-"], Some("let a = x^2\nderive a wrt x\n"));
    assert_eq!((run.status, run.stdout.as_str()), (0, "let a = x^2\nderive a wrt x\n"));
}

/// A document's length is bounded by its number of derivations, not by how many powers it
/// writes in all: 5,000 goals with a `^` each parse, one more is refused at its line.
#[test]
fn a_document_holds_at_most_5000_derivations() {
    let goals = |n: usize| "index i in 1..n\n".to_string() + &"derive x^2 wrt x\n".repeat(n);
    let most = cli::run(&["fmt", "-"], Some(&goals(5_000)));
    assert_eq!(most.status, 0, "{}", most.stderr);
    let over = cli::run(&["fmt", "-"], Some(&goals(5_001)));
    assert_eq!(over.status, 2, "{}", over.stderr);
    assert!(over.stderr.contains("at most 5000 derivations"), "{}", over.stderr);
    assert!(over.stderr.contains("--> <stdin>:5002:1"), "{}", over.stderr);
}

/// The product rule writes n factors n times: a product of 3,000 factors took 5 GB before
/// it was bounded. Past 500 factors the goal fails at once (exit 1), naming the bound.
#[test]
fn a_product_of_more_than_500_factors_fails_at_once() {
    let product = |n: usize| vec!["x"; n].join("*");
    let over = cli::run(&["diff", &product(3_000), "--wrt", "x"], None);
    assert_eq!(over.status, 1, "{}", over.stderr);
    assert!(over.stderr.contains("the product rule on 3000 factors"), "{}", over.stderr);
    let within = cli::run(&["diff", &product(40), "--wrt", "x"], None);
    assert_eq!((within.status, within.stdout.trim()), (0, "40*x^39"), "{}", within.stderr);
}
