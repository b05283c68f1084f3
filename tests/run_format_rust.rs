//! `deriv run FILE --format rust` on every example: the output compiles with rustc together
//! with a small harness, runs, and agrees with the library: `eval_f64` of each kernel-checked
//! result at a few points, and the reference kernels for the seed, also at logits of ±1000
//! (finite, no NaN). A goal that cannot be emitted is exit status 1 naming the goal.

use deriv::expr::Expr;
use deriv::numeric::{eval_f64, reference, Point};
use deriv::syntax::parse_file;
use std::path::Path;
use std::process::{Command, Output, Stdio};

#[path = "common/rustc.rs"]
mod rustc;
use rustc::compile_and_run;

fn deriv(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deriv"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deriv runs");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(text.as_bytes()).expect("stdin is written");
    }
    child.wait_with_output().expect("deriv finishes")
}

/// The Rust source `deriv run --format rust` prints for an example.
fn rust_of(example: &str) -> String {
    let out = deriv(&["run", example, "--format", "rust"], None);
    assert!(out.status.success(), "{example}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The kernel-checked results of an example's goals, from the library.
fn results(example: &str) -> (deriv::expr::Context, Vec<Expr>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(example);
    let src = std::fs::read_to_string(path).expect("the example");
    let doc = parse_file(&src).expect("the example parses");
    let report = deriv::report::derive_document(&doc).expect("the example derives");
    let results = report.goals.iter().map(|g| g.proof.current().clone()).collect();
    ((*report.context).clone(), results)
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        got.is_finite() && (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

/// A point binding `n` and vectors (index from 1).
fn point(n: usize, vectors: &[(&str, &[f64])]) -> Point {
    let mut p = Point::new();
    p.set_range("n", n as i64);
    for (name, values) in vectors {
        for (k, v) in values.iter().enumerate() {
            p.set_component(name, &[k as i64 + 1], *v);
        }
    }
    p
}

const MODERATE_Z: [f64; 5] = [0.3, -1.2, 2.0, 0.5, -0.7];
const EXTREME_Z: [f64; 5] = [1000.0, -1000.0, 3.5, 999.0, 0.0];
const Y: [f64; 5] = [0.1, 0.2, 0.3, 0.25, 0.15];
const X: [f64; 3] = [0.5, -1.0, 2.0];
const T: [f64; 3] = [1.0, 0.25, -0.5];
const W: [f64; 9] = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, -0.8, 0.9];

/// Calls every emitted function at the points above, one value a line.
const MAIN: &str = r#"
fn main() {
    let y = [0.1, 0.2, 0.3, 0.25, 0.15];
    for z in [[0.3, -1.2, 2.0, 0.5, -0.7], [1000.0, -1000.0, 3.5, 999.0, 0.0]] {
        let mut work = vec![0.0; softmax::d_a_d_z_work_len(5)];
        let mut jac = [0.0; 25];
        softmax::d_a_d_z(5, &z, &mut work, &mut jac).unwrap();
        let mut grad = [0.0; 5];
        // From the components (fewer passes than the form a - y): the exponentials are
        // kept in the output while summing, then scaled.
        softmax::d_l_d_z(5, &y, &z, &mut grad).unwrap();
        for v in jac.iter().chain(&grad) {
            println!("{v:e}");
        }
    }
    let (x, t) = ([0.5, -1.0, 2.0], [1.0, 0.25, -0.5]);
    println!("{:e}", regression::d_l_d_w(3, 0.75, &t, -1.5, &x).unwrap());
    println!("{:e}", regression::d_l_d_b(3, 0.75, &t, -1.5, &x).unwrap());
    let mut zero = [1.0; 4];
    softmax_sum::d_s_d_z(4, &mut zero).unwrap();
    let w = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, -0.8, 0.9];
    let mut layer = [0.0; 9];
    tanh_layer::d_h_d_x(3, &w, &x, &mut layer).unwrap();
    for v in zero.iter().chain(&layer) {
        println!("{v:e}");
    }
    // The fixed label k is an output index too: one gradient per true class.
    let z = [0.3, -1.2, 2.0, 0.5, -0.7];
    let mut labelled = [0.0; 25];
    let mut work = vec![0.0; seed::d_l_d_z_work_len(5)];
    seed::d_l_d_z(5, &z, &mut work, &mut labelled).unwrap();
    let mut work = vec![0.0; seed::d_l_d_a_work_len(5)];
    let mut held = [0.0; 25];
    seed::d_l_d_a(5, &z, &mut work, &mut held).unwrap();
    let mut jac = [0.0; 25];
    let mut work = vec![0.0; seed::d_a_d_z_work_len(5)];
    seed::d_a_d_z(5, &z, &mut work, &mut jac).unwrap();
    assert!(jac.iter().all(|v| v.is_finite()));
    for v in labelled.iter().chain(&held) {
        println!("{v:e}");
    }
}
"#;

#[test]
fn every_example_emits_rust_that_compiles_runs_and_agrees_with_the_library() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".deriv"))
        .collect();
    examples.sort();
    let harnessed = [
        ("softmax_ce", "softmax"),
        ("linear_regression", "regression"),
        ("softmax_sum", "softmax_sum"),
        ("tanh_layer", "tanh_layer"),
        ("seed", "seed"),
    ];
    let mut modules = String::new();
    for name in &examples {
        let source = rust_of(&format!("examples/{name}"));
        assert!(!source.contains("Vec"), "{name}: nothing allocates");
        let stem = name.trim_end_matches(".deriv");
        let module = harnessed
            .iter()
            .find(|(file, _)| *file == stem)
            .map(|(_, module)| *module)
            .unwrap_or_else(|| panic!("add {name} to this test's harness"));
        modules.push_str(&format!("mod {module} {{\n{source}}}\n"));
    }
    // The signatures the harness relies on.
    for signature in [
        "pub fn d_a_d_z(n: usize, z: &[f64], work_: &mut [f64], out_: &mut [f64])",
        "pub fn d_l_d_z(n: usize, y: &[f64], z: &[f64], out_: &mut [f64])",
        "pub fn d_l_d_z(n: usize, z: &[f64], work_: &mut [f64], out_: &mut [f64])",
        "pub fn d_l_d_w(n: usize, b: f64, t: &[f64], w: f64, x: &[f64]) -> Result<f64",
        "pub fn d_s_d_z(n: usize, out_: &mut [f64])",
        "pub fn d_h_d_x(n: usize, W: &[f64], x: &[f64], out_: &mut [f64])",
        "pub fn d_l_d_a(n: usize, z: &[f64], work_: &mut [f64], out_: &mut [f64])",
    ] {
        assert!(modules.contains(signature), "{signature}\n{modules}");
    }
    let values = compile_and_run(&format!("{modules}{MAIN}"));
    assert_eq!(values.len(), 2 * (25 + 5) + 2 + 4 + 9 + 2 * 25);
    assert!(values.iter().all(|v| v.is_finite()), "{values:?}");

    // The seed at a moderate point: the library's results, evaluated.
    let (ctx, seed) = results("examples/softmax_ce.deriv");
    let mut p = point(5, &[("z", &MODERATE_Z), ("y", &Y)]);
    for i in 1..=5 {
        for j in 1..=5 {
            p.set_index("i", i);
            p.set_index("j", j);
            let want = eval_f64(&ctx, &seed[0], &p).expect("the Jacobian evaluates");
            close(values[(5 * (i - 1) + j - 1) as usize], want, "softmax Jacobian");
        }
    }
    for j in 1..=5 {
        p.set_index("j", j);
        let want = eval_f64(&ctx, &seed[1], &p).expect("the gradient evaluates");
        close(values[25 + j as usize - 1], want, "softmax-ce gradient");
    }
    // At logits of ±1000 the evaluator overflows; the reference kernels do not.
    let extreme = &values[30..60];
    let mut grad = [0.0; 5];
    reference::softmax_cross_entropy_grad(&EXTREME_Z, &Y, &mut grad);
    for i in 0..5 {
        for j in 0..5 {
            let want = reference::softmax_jacobian(&EXTREME_Z, i, j);
            close(extreme[5 * i + j], want, "softmax Jacobian at ±1000");
        }
        close(extreme[25 + i], grad[i], "softmax-ce gradient at ±1000");
    }

    let (ctx, regression) = results("examples/linear_regression.deriv");
    let mut p = point(3, &[("x", &X), ("t", &T)]);
    p.set_scalar("w", -1.5);
    p.set_scalar("b", 0.75);
    for (g, at) in [(0, 60), (1, 61)] {
        let want = eval_f64(&ctx, &regression[g], &p).expect("the result evaluates");
        close(values[at], want, "linear regression");
    }

    let (ctx, sum) = results("examples/softmax_sum.deriv");
    let mut p = point(4, &[("z", &MODERATE_Z[..4])]);
    for j in 1..=4 {
        p.set_index("j", j);
        let want = eval_f64(&ctx, &sum[0], &p).expect("the result evaluates");
        close(values[62 + j as usize - 1], want, "softmax sum");
    }

    let (ctx, layer) = results("examples/tanh_layer.deriv");
    let mut p = point(3, &[("x", &X)]);
    for i in 1..=3 {
        for k in 1..=3 {
            p.set_component("W", &[i, k], W[(3 * (i - 1) + k - 1) as usize]);
        }
    }
    for i in 1..=3 {
        for j in 1..=3 {
            p.set_index("i", i);
            p.set_index("j", j);
            let want = eval_f64(&ctx, &layer[0], &p).expect("the result evaluates");
            close(values[66 + (3 * (i - 1) + j - 1) as usize], want, "tanh layer");
        }
    }

    // Over (j, k) and (i, k): ∂l/∂z_j = a_j - y_j and ∂l/∂a_i = -δ_ik/a_k at each label k.
    let (ctx, seed) = results("examples/seed.deriv");
    let mut p = point(5, &[("z", &MODERATE_Z)]);
    for (g, at, index) in [(2, 75, "j"), (0, 100, "i")] {
        for j in 1..=5 {
            for k in 1..=5 {
                p.set_index(index, j);
                p.set_index("k", k);
                let want = eval_f64(&ctx, &seed[g], &p).expect("the result evaluates");
                close(values[at + (5 * (j - 1) + k - 1) as usize], want, "the seed at a label");
            }
        }
    }
}

#[test]
fn a_goal_that_cannot_be_emitted_is_a_failed_check_naming_it() {
    // A vector W_i and a matrix W_{i,k} under one name: derivable, not compilable.
    let file =
        "index i, k in 1..n\nderive x^2 wrt x\nderive x*sum_i(W_i)*sum_i(sum_k(W_{i,k})) wrt x\n";
    let out = deriv(&["run", "-", "--format", "rust"], Some(file));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: <stdin>:3: goal 2 cannot be emitted as Rust: "), "{err}");
    assert!(err.contains("`W` is used with 1 and with 2 indices"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The same file's writeup is fine: only the Rust output needs compilable results.
    assert!(deriv(&["run", "-"], Some(file)).status.success());
}

#[test]
fn the_help_documents_the_rust_format() {
    let out = deriv(&["run", "--help"], None);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("rust:"), "{help}");
    assert!(help.contains("standalone Rust source file"), "{help}");
}

/// An index named `t`: its loop variable is not confused with the emitted temporaries
/// (`t_0`), so the function compiles and fills its output over it.
#[test]
fn an_index_named_t_compiles() {
    let file = "index s, t in 1..n\nderive 3*sum_s(A_{t,s}*x_s)*y wrt y\n";
    let out = deriv(&["run", "-", "--format", "rust"], Some(file));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let source = String::from_utf8(out.stdout).expect("UTF-8");
    let main = "#[allow(non_snake_case)]\nfn main() {\n    let A = [1.0, 2.0, 3.0, 4.0];\n    let x = [0.5, -1.0];\n    let mut out = [0.0; 2];\n    emitted::derivative_1(2, &A, &x, &mut out).unwrap();\n    for v in out {\n        println!(\"{v:e}\");\n    }\n}\n";
    let values = compile_and_run(&format!("mod emitted {{\n{source}}}\n{main}"));
    assert_eq!(values, vec![3.0 * (1.0 * 0.5 - 2.0), 3.0 * (3.0 * 0.5 - 4.0)]);
}
