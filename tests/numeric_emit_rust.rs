//! Emitted Rust compiles with rustc, runs, and agrees with hand-written computations:
//! the seed's softmax cross-entropy gradient and Jacobian against the reference kernels
//! (also at logits of ±1000), a scalar-output regression gradient and a matrix-input
//! Jacobian against direct loops, a three-index derivative whose parts are kept in tables,
//! and a sigmoid derivative far in its tail. The exponentials of the Jacobian and of the
//! gradient are counted: n, each computed once and read back where needed (a counting
//! `exp` is swapped in for the emitted one).

use deriv::numeric::{emit_rust, reference, RustGoal};
use deriv::syntax::{parse_expr, parse_file};
#[path = "common/rustc.rs"]
mod rustc;
use rustc::compile_and_run;

const SOFTMAX_CE: &str = "title \"The derivative of cross-entropy with softmax\"
index i, j, k in 1..n
let a_i = exp(z_i) / sum_k(exp(z_k))
let l = -sum_i(y_i * log(a_i))
assume sum_i(y_i) = 1
derive a_i wrt z_j
derive l wrt z_j
";
const REGRESSION: &str = "index i in 1..n
let l = sum_i((w*x_i + b - t_i)^2) / 2
derive l wrt w
derive l wrt b
";
const TANH_LAYER: &str = "index i, j, k in 1..n
let h_i = tanh(sum_k(W_{i,k} * x_k))
derive h_i wrt x_j
";
const SIGMOID: &str = "derive sigmoid(x) wrt x\n";
const THREE: &str = "index i, k, p, q in 1..n
let h_i = tanh(sum_k(W_{i,k} * x_k))
derive h_i wrt W_{p,q}
";
/// Not the derivative of `h_i`: any result will do to exercise tables over p and q at the
/// top level and over q inside the loop over i.
const THREE_RESULT: &str = "h_p*exp(W_{i,q})*x_q/(1 + h_q^2) + delta(i,p)*sigmoid(x_p)";

/// Calls every emitted function and prints the results, one value a line.
const MAIN: &str = r#"
use std::sync::atomic::{AtomicUsize, Ordering};

fn main() {
    let z = [1000.0, -1000.0, 3.5, 999.0, 0.0];
    let y = [0.1, 0.2, 0.3, 0.25, 0.15];
    let mut grad = [0.0; 5];
    softmax::d_l_d_z(5, &y, &z, &mut grad).unwrap();
    let mut jac = [0.0; 25];
    let mut work = [0.0; 5];
    assert_eq!(softmax::d_a_d_z_work_len(5), 5);
    assert!(softmax::d_a_d_z(5, &z, &mut work[..4], &mut jac).is_err());
    softmax::d_a_d_z(5, &z, &mut work, &mut jac).unwrap();
    let mut wrong = [0.0; 4];
    assert!(softmax::d_l_d_z(5, &y, &z, &mut wrong).is_err());
    let (x, t) = ([0.5, -1.0, 2.0], [1.0, 0.25, -0.5]);
    let dw = regression::d_l_d_w(3, 0.75, &t, -1.5, &x).unwrap();
    let db = regression::d_l_d_b(3, 0.75, &t, -1.5, &x).unwrap();
    let w = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
    let mut layer_jac = [0.0; 4];
    assert!(layer::d_h_d_x(2, &w, &x[..2], &mut layer_jac).is_err());
    layer::d_h_d_x(2, &w[..4], &x[..2], &mut layer_jac).unwrap();
    let ds = sigmoid::derivative_1(-800.0).unwrap();
    let w3 = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, -0.8, 0.9];
    let mut work3 = vec![0.0; three::d_h_d_W_work_len(3)];
    let mut out3 = [0.0; 27];
    three::d_h_d_W(3, &w3, &t, &mut work3, &mut out3).unwrap();
    // n = 300: count the Jacobian's exponentials.
    let big: Vec<f64> = (0..300).map(|k| (k as f64 * 0.37).sin() * 3.0).collect();
    let mut big_work = vec![0.0; softmax::d_a_d_z_work_len(300)];
    let mut big_jac = vec![0.0; 300 * 300];
    EXPS.store(0, Ordering::Relaxed);
    softmax::d_a_d_z(300, &big, &mut big_work, &mut big_jac).unwrap();
    let exps = EXPS.load(Ordering::Relaxed) as f64;
    // And the gradient's, at n = 300.
    let flat = vec![1.0 / 300.0; 300];
    let mut big_grad = vec![0.0; 300];
    EXPS.store(0, Ordering::Relaxed);
    softmax::d_l_d_z(300, &flat, &big, &mut big_grad).unwrap();
    let grad_exps = EXPS.load(Ordering::Relaxed) as f64;
    for v in grad.iter().chain(&jac).chain(&[dw, db]).chain(&layer_jac).chain(&[ds]).chain(&out3).chain(&[exps, grad_exps]) {
        println!("{v:e}");
    }
}

static EXPS: AtomicUsize = AtomicUsize::new(0);

/// `exp`, counted.
pub trait CountedExp {
    fn counted_exp(self) -> f64;
}

impl CountedExp for f64 {
    fn counted_exp(self) -> f64 {
        EXPS.fetch_add(1, Ordering::Relaxed);
        self.exp()
    }
}
"#;

fn emitted(file: &str, results: &[&str]) -> String {
    let doc = parse_file(file).expect("the file parses");
    let results: Vec<_> =
        results.iter().map(|r| parse_expr(r).expect("the result parses")).collect();
    let goals: Vec<RustGoal> = doc
        .goals
        .iter()
        .zip(&results)
        .map(|(g, r)| RustGoal { of: &g.of, wrt: &g.wrt, result: r, matrix: None })
        .collect();
    emit_rust(&doc.context, &goals).expect("the results compile to Rust")
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        got.is_finite() && (got - want).abs() <= 1e-14 * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

#[test]
fn emitted_kernels_compile_run_and_match_hand_written_computations() {
    // Textbook results, derived by hand; the emitted code is checked against the references below.
    let softmax = emitted(SOFTMAX_CE, &["a_i*(delta(i,j) - a_j)", "a_j - y_j"]);
    let regression =
        emitted(REGRESSION, &["sum_i((w*x_i + b - t_i)*x_i)", "sum_i(w*x_i + b - t_i)"]);
    let layer = emitted(TANH_LAYER, &["(1 - h_i^2)*W_{i,j}"]);
    let sigmoid = emitted(SIGMOID, &["sigmoid(x)*(1 - sigmoid(x))"]);
    let three = emitted(THREE, &[THREE_RESULT]);
    // The signatures follow the goals' shapes: filled slices for indexed variables,
    // a returned value for scalar ones; inputs in name order after the sizes.
    let jacobian = "pub fn d_a_d_z(n: usize, z: &[f64], work_: &mut [f64], out_: &mut [f64]) -> Result<(), &'static str>";
    assert!(softmax.contains(jacobian), "{softmax}");
    assert!(softmax.contains("pub fn d_l_d_z(n: usize, y: &[f64], z: &[f64], out_: &mut [f64])"));
    assert!(softmax.contains(".max(t_"), "the max shift is emitted: {softmax}");
    let scalar =
        "pub fn d_l_d_w(n: usize, b: f64, t: &[f64], w: f64, x: &[f64]) -> Result<f64, &'static str>";
    assert!(regression.contains(scalar), "{regression}");
    assert!(sigmoid.contains("fn stable_sigmoid(x: f64)"), "{sigmoid}");
    assert!(softmax.contains("pub fn d_a_d_z_work_len(n: usize) -> usize"));
    for src in [&softmax, &regression, &layer, &sigmoid, &three] {
        assert!(!src.contains("Vec"), "nothing allocates: {src}");
    }
    assert_eq!(
        softmax,
        emitted(SOFTMAX_CE, &["a_i*(delta(i,j) - a_j)", "a_j - y_j"]),
        "deterministic"
    );
    let counted = softmax.replace(".exp()", ".counted_exp()");
    assert_ne!(counted, softmax, "the softmax kernels call exp");
    let source = format!(
        "mod softmax {{\n{counted}use super::CountedExp;\n}}\nmod regression {{\n{regression}}}\nmod layer {{\n{layer}}}\nmod sigmoid {{\n{sigmoid}}}\nmod three {{\n{three}}}\n{MAIN}"
    );
    let values = compile_and_run(&source);
    assert_eq!(values.len(), 5 + 25 + 2 + 4 + 1 + 27 + 2);
    // Each exponential once, in the shifted sum: a_i for each row and a_j read it back
    // (n exponentials, not 3n as when each loop computed its own, nor n²).
    assert_eq!(values[64], 300.0, "exponentials for the 300x300 softmax Jacobian");
    assert_eq!(values[65], 300.0, "exponentials for the softmax-CE gradient at n = 300");

    let z = [1000.0, -1000.0, 3.5, 999.0, 0.0];
    let y = [0.1, 0.2, 0.3, 0.25, 0.15];
    let mut want = [0.0; 5];
    reference::softmax_cross_entropy_grad(&z, &y, &mut want);
    for (j, want) in want.iter().enumerate() {
        close(values[j], *want, "softmax-ce gradient");
    }
    for i in 0..5 {
        for j in 0..5 {
            close(values[5 + 5 * i + j], reference::softmax_jacobian(&z, i, j), "softmax Jacobian");
        }
    }
    let (x, t, w, b) = ([0.5, -1.0, 2.0], [1.0, 0.25, -0.5], -1.5, 0.75);
    let residual = |k: usize| w * x[k] + b - t[k];
    close(values[30], (0..3).map(|k| residual(k) * x[k]).sum(), "regression d/dw");
    close(values[31], (0..3).map(residual).sum(), "regression d/db");
    let weights = [[0.1, -0.2], [0.3, 0.4]];
    for i in 0..2 {
        let h = (weights[i][0] * x[0] + weights[i][1] * x[1]).tanh();
        for j in 0..2 {
            close(values[32 + 2 * i + j], (1.0 - h * h) * weights[i][j], "tanh layer Jacobian");
        }
    }
    // The three-index kernel against direct loops: W row-major 3x3, x = t.
    let w3 = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [0.7, -0.8, 0.9]];
    let h: Vec<f64> = (0..3).map(|r| (0..3).map(|k| w3[r][k] * t[k]).sum::<f64>().tanh()).collect();
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    for i in 0..3 {
        for p in 0..3 {
            for q in 0..3 {
                let delta = if i == p { 1.0 } else { 0.0 };
                let want =
                    h[p] * w3[i][q].exp() * t[q] / (1.0 + h[q] * h[q]) + delta * sigmoid(t[p]);
                close(values[37 + 9 * i + 3 * p + q], want, "three-index kernel");
            }
        }
    }
}
