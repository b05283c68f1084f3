//! The binary runs shallow input on its main thread and deep input on a thread with a roomy
//! stack. Input at the main-thread bound must fit a main stack of 3 MB, well below the
//! usual 8 MB; deep input must not need more than 256 KB of it.
#![cfg(unix)]

use std::process::Command;

/// Nesting bound (brackets, powers and statements) up to which the binary stays on its main
/// thread; mirrors `MAIN_STACK_NESTING` in `src/cli.rs`.
const MAIN_STACK_NESTING: usize = 32;

/// Run `deriv ARGS` with a small main-thread stack; the exit status, -1 for a crash.
fn deriv_on_small_stack(main_stack_kb: usize, args: &[&str]) -> (i32, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -s {main_stack_kb} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_deriv"))
        .args(args)
        .output()
        .expect("sh starts");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

/// `f(f(…f(x)))`, `depth` applications of the template, where `@` marks the argument.
fn nest(template: &str, depth: usize) -> String {
    (0..depth).fold("x".to_string(), |inner, _| template.replace('@', &inner))
}

/// A file whose definitions chain `count` deep, each `template` (`@` marks the previous one).
fn chained_definitions(template: &str, count: usize) -> String {
    let mut src = String::from("let a0 = x\n");
    for k in 1..count {
        let body = template.replace('@', &format!("a{}", k - 1));
        src.push_str(&format!("let a{k} = {body}\n"));
    }
    src.push_str(&format!("derive a{} wrt x\n", count - 1));
    src
}

/// Run `deriv run` on `src` with a small main stack.
fn run_file_on_small_stack(main_stack_kb: usize, name: &str, src: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("deriv-stack-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("input.deriv");
    std::fs::write(&file, src).expect("write the file");
    let result = deriv_on_small_stack(main_stack_kb, &["run", file.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Input at the bound runs on the main thread and ends normally: a result, or a reported
/// limit (exit status 1), never a crash. The shapes recurse in different stages: chain
/// rule, product rule, ring normaliser, powers, unfolded definitions.
#[test]
fn input_at_the_main_thread_bound_fits_a_small_main_stack() {
    // With the one-line `--wrt x`, each expression's bound is 32.
    let levels = MAIN_STACK_NESTING - 2;
    let expressions = [
        ("sin", nest("sin(@)", levels)),
        ("x*sin", nest("x*sin(@)", levels)),
        ("polynomial", nest("(@*x + 1)", levels)),
        ("power tower", vec!["x"; levels + 1].join("^")),
        ("quotient chain", vec!["x"; levels + 1].join("/")),
    ];
    for (shape, expr) in expressions {
        let (status, stderr) = deriv_on_small_stack(3072, &["diff", &expr, "--wrt", "x"]);
        assert!(status == 0 || status == 1, "{shape}: status {status}: {stderr}");
    }
    // 15 statements with a bracket each, and the goal: a bound of 31.
    let chain = chained_definitions("sigmoid(@)*x", 15);
    let (status, stderr) = run_file_on_small_stack(3072, "bound", &chain);
    assert!(status == 0 || status == 1, "chain: status {status}: {stderr}");
}

/// Deep input (nesting bound of 60 and more) overflows a 256 KB main stack unoptimised; it runs
/// on a roomy thread instead.
#[test]
fn deep_input_does_not_use_the_main_stack() {
    let (status, stderr) = deriv_on_small_stack(256, &["diff", &nest("sin(@)", 127), "--wrt", "x"]);
    assert_eq!(status, 0, "nested sin: {stderr}");
    // No brackets at all, but `x/x/…/x` nests to the left.
    let quotients = vec!["x"; 101].join("/");
    let (status, stderr) = deriv_on_small_stack(256, &["diff", &quotients, "--wrt", "x"]);
    assert_eq!(status, 0, "quotient chain: {stderr}");
    let minuses = "-".repeat(100) + "sin(x)*x";
    let (status, stderr) = deriv_on_small_stack(256, &["diff", &minuses, "--wrt", "x"]);
    assert_eq!(status, 0, "minus chain: {stderr}");
    // Lines may end at a bare `\r`, which the grammar accepts.
    let chain = format!("# comment\r{}", chained_definitions("sin(@)", 60).replace('\n', "\r"));
    let (status, stderr) = run_file_on_small_stack(256, "cr", &chain);
    assert_eq!(status, 0, "chain with \\r line ends: {stderr}");
    let chain = chained_definitions("sin(@)", 60);
    let (status, stderr) = run_file_on_small_stack(256, "deep", &chain);
    assert_eq!(status, 0, "chain: {stderr}");
}
