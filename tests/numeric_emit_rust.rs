//! The emitted Rust for the seed example compiles with rustc, runs, and agrees with the
//! hand-written reference kernels, also at logits of ±1000.

use deriv::numeric::{emit_rust, reference, RustGoal};
use deriv::syntax::{parse_expr, parse_file};
use std::path::PathBuf;
use std::process::Command;

const SOFTMAX_CE: &str = "title \"The derivative of cross-entropy with softmax\"
index i, j, k in 1..n
let a_i = exp(z_i) / sum_k(exp(z_k))
let l = -sum_i(y_i * log(a_i))
assume sum_i(y_i) = 1
derive a_i wrt z_j
derive l wrt z_j
";

/// Calls both emitted functions and prints the gradient, then the Jacobian, one value a line.
const MAIN: &str = r#"
fn main() {
    let z = [1000.0, -1000.0, 3.5, 999.0, 0.0];
    let y = [0.1, 0.2, 0.3, 0.25, 0.15];
    let n = z.len();
    let mut grad = [0.0; 5];
    d_l_d_z(n, &y, &z, &mut grad).unwrap();
    let mut jac = [0.0; 25];
    d_a_d_z(n, &z, &mut jac).unwrap();
    let mut wrong = [0.0; 4];
    assert!(d_l_d_z(n, &y, &z, &mut wrong).is_err());
    for v in grad.iter().chain(jac.iter()) {
        println!("{v:e}");
    }
}
"#;

fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("deriv-emit-rust-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

#[test]
fn emitted_softmax_ce_gradient_compiles_runs_and_matches_the_reference() {
    let doc = parse_file(SOFTMAX_CE).expect("the seed parses");
    // Textbook results, derived by hand; the emitted code is checked against the reference below.
    let results = [
        parse_expr("a_i*(delta(i,j) - a_j)").expect("parses"),
        parse_expr("a_j - y_j").expect("parses"),
    ];
    let goals: Vec<RustGoal> = doc
        .goals
        .iter()
        .zip(&results)
        .map(|(g, r)| RustGoal {
            of: &g.of,
            wrt: &g.wrt,
            result: r,
        })
        .collect();
    let source = emit_rust(&doc.context, &goals).expect("the results compile to Rust");

    let dir = scratch_dir();
    let file = dir.join("kernels.rs");
    let binary = dir.join("kernels");
    std::fs::write(&file, format!("{source}{MAIN}")).expect("the source is written");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let compiled = Command::new(rustc)
        .args(["--edition", "2021", "-O", "-D", "warnings", "-o"])
        .arg(&binary)
        .arg(&file)
        .output()
        .expect("rustc runs");
    assert!(
        compiled.status.success(),
        "rustc failed:\n{}\n{source}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let run = Command::new(&binary).output().expect("the kernel runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let values: Vec<f64> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| l.parse().expect("a number per line"))
        .collect();
    assert_eq!(values.len(), 5 + 25);

    let z = [1000.0, -1000.0, 3.5, 999.0, 0.0];
    let y = [0.1, 0.2, 0.3, 0.25, 0.15];
    let mut want = [0.0; 5];
    reference::softmax_cross_entropy_grad(&z, &y, &mut want);
    for (got, want) in values.iter().zip(&want) {
        assert!(
            got.is_finite() && (got - want).abs() < 1e-15,
            "{got} vs {want}"
        );
    }
    for i in 0..5 {
        for j in 0..5 {
            let (got, want) = (values[5 + 5 * i + j], reference::softmax_jacobian(&z, i, j));
            assert!(
                got.is_finite() && (got - want).abs() < 1e-15,
                "({i},{j}): {got} vs {want}"
            );
        }
    }
}
