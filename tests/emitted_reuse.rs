//! Emitted Rust computes each exponential of a softmax once: `deriv run --format rust` of
//! the softmax cross-entropy example keeps the exponentials of the shifted sum in the
//! output and scales them (one `.exp()` in the gradient's function, no scratch space), and
//! the softmax Jacobian-vector product, stated as the directional derivative
//! `d/dt a_i(z + t v)`, reads them back from its output in its dot product and its output
//! pass. Both agree
//! with the tight reference loops at several sizes and at logits of ±1000.

use deriv::numeric::reference;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/rustc.rs"]
mod rustc;
use rustc::compile_and_run;

/// The Jacobian-vector product `Σ_j ∂a_i/∂z_j v_j`: the language has no goal for it, so it
/// is the derivative along `v` at t = 0.
const JVP: &str = "index i, j, k in 1..n
let u_k = z_k + t*v_k
let a_i = exp(u_i) / sum_k(exp(u_k))
derive a_i wrt t
";

fn rust_of(file: &str, stdin: Option<&str>) -> String {
    let out = cli::run(&["run", file, "--format", "rust"], stdin);
    assert_eq!(out.status, 0, "{}", out.stderr);
    out.stdout
}

/// The text of `pub fn name(…) { … }` in `source`.
fn function<'s>(source: &'s str, name: &str) -> &'s str {
    let start = source.find(&format!("pub fn {name}(")).unwrap_or_else(|| panic!("{name}"));
    let end = source[start..].find("\n}\n").expect("the function ends") + start;
    &source[start..end]
}

#[test]
fn each_exponential_is_computed_once() {
    let softmax = rust_of("examples/softmax_ce.deriv", None);
    let grad = function(&softmax, "d_l_d_z");
    assert_eq!(grad.matches(".exp()").count(), 1, "{grad}");
    // Kept in the output while summing, so no scratch space.
    assert!(grad.starts_with("pub fn d_l_d_z(n: usize, y: &[f64], z: &[f64], out_: &mut [f64])"));
    assert!(grad.contains("out_[(k_ix"), "the exponentials are stored in the output: {grad}");
    let jacobian = function(&softmax, "d_a_d_z");
    assert_eq!(jacobian.matches(".exp()").count(), 1, "{jacobian}");
    let jvp = rust_of("-", Some(JVP));
    let jvp = function(&jvp, "d_a_d_t");
    assert_eq!(jvp.matches(".exp()").count(), 1, "{jvp}");
    // The division by the sum is one reciprocal, multiplied in the loops.
    for f in [grad, jacobian, jvp] {
        assert_eq!(f.matches(" / ").count(), 1, "{f}");
    }
}

/// Logits, a target on the simplex and a direction, the same in the harness and here.
fn inputs(n: usize, extreme: bool) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let z = (0..n)
        .map(|k| {
            let k = k as f64;
            if extreme {
                1000.0 * (k * 1.7).cos().signum() - k
            } else {
                3.0 * (0.37 * k + n as f64).sin()
            }
        })
        .collect();
    let w: Vec<f64> = (0..n).map(|k| 1.5 + (0.23 * k as f64).sin()).collect();
    let total: f64 = w.iter().sum();
    let y = w.iter().map(|x| x / total).collect();
    let v = (0..n).map(|k| (0.11 * k as f64).cos()).collect();
    (z, y, v)
}

const INPUTS: &str = r#"
fn inputs(n: usize, extreme: bool) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let z = (0..n)
        .map(|k| {
            let k = k as f64;
            if extreme {
                1000.0 * (k * 1.7).cos().signum() - k
            } else {
                3.0 * (0.37 * k + n as f64).sin()
            }
        })
        .collect();
    let w: Vec<f64> = (0..n).map(|k| 1.5 + (0.23 * k as f64).sin()).collect();
    let total: f64 = w.iter().sum();
    let y = w.iter().map(|x| x / total).collect();
    let v = (0..n).map(|k| (0.11 * k as f64).cos()).collect();
    (z, y, v)
}

fn main() {
    for (n, extreme) in CASES {
        let (z, y, v) = inputs(n, extreme);
        let mut out = vec![0.0; n];
        softmax::d_l_d_z(n, &y, &z, &mut out).unwrap();
        for x in &out {
            println!("{x:e}");
        }
        jvp::d_a_d_t(n, 0.0, &v, &z, &mut out).unwrap();
        for x in &out {
            println!("{x:e}");
        }
    }
}
"#;

const CASES: [(usize, bool); 5] = [(1, false), (2, false), (7, false), (1000, false), (6, true)];

#[test]
fn the_gradient_and_the_jvp_agree_with_the_tight_loops() {
    let softmax = rust_of("examples/softmax_ce.deriv", None);
    let jvp = rust_of("-", Some(JVP));
    let signature = "pub fn d_a_d_t(n: usize, t: f64, v: &[f64], z: &[f64], out_: &mut [f64])";
    assert!(jvp.contains(signature), "{jvp}");
    let cases = format!("const CASES: [(usize, bool); 5] = {CASES:?};\n");
    let program = format!(
        "#[allow(dead_code)]\nmod softmax {{\n{softmax}}}\nmod jvp {{\n{jvp}}}\n{cases}{INPUTS}"
    );
    let values = compile_and_run(&program);
    let mut at = 0;
    for (n, extreme) in CASES {
        let (z, y, v) = inputs(n, extreme);
        let (mut grad, mut product) = (vec![0.0; n], vec![0.0; n]);
        reference::softmax_cross_entropy_grad(&z, &y, &mut grad);
        reference::softmax_jvp(&z, &v, &mut product);
        for (what, want) in [("gradient", &grad), ("JVP", &product)] {
            for (k, w) in want.iter().enumerate() {
                let got = values[at + k];
                assert!(
                    got.is_finite() && (got - w).abs() <= 1e-14 * w.abs().max(1.0),
                    "{what} at n = {n} (extreme: {extreme}), entry {k}: {got} vs {w}"
                );
            }
            at += n;
        }
    }
    assert_eq!(at, values.len());
}
