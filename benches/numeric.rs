//! Benchmarks for the numeric module: the compiled softmax cross-entropy gradient kernel
//! at n = 10^6 against the tight hand-written reference loop (each exponential once),
//! measured in the same run, and the same for the softmax Jacobian-vector product; the
//! cost of one per-step numeric check; and, for `deriv run` of the seed, the numeric
//! checks against the derivation itself (engine and kernel), also in the same run.

use criterion::{criterion_group, criterion_main, Criterion};
use deriv::expr::Expr;
use deriv::numeric::{check_derivative, check_equal, reference, CheckOptions, Kernel};
use deriv::syntax::{parse_expr, parse_file, parse_variable, IndexScope};
use std::hint::black_box;

const SOFTMAX_CE: &str = "index i, j, k in 1..n
let a_i = exp(z_i) / sum_k(exp(z_k))
let l = -sum_i(y_i * log(a_i))
assume sum_i(y_i) = 1
";

/// Logits in [-5, 5) and a target on the simplex, from a fixed linear congruential stream.
fn inputs(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let z: Vec<f64> = (0..n).map(|_| 10.0 * next() - 5.0).collect();
    let w: Vec<f64> = (0..n).map(|_| next() + 0.01).collect();
    let total: f64 = w.iter().sum();
    (z, w.iter().map(|v| v / total).collect())
}

fn softmax_ce_gradient(c: &mut Criterion) {
    let n = 1_000_000;
    let ctx = parse_file(SOFTMAX_CE).expect("the seed parses").context;
    let gradient = parse_expr("a_j - y_j").expect("the gradient parses");
    let kernel =
        Kernel::compile(&ctx, &gradient, &["j".to_string()]).expect("the gradient compiles");
    let (z, y) = inputs(n);
    // The kernel's inputs are in name order: y, then z.
    let names: Vec<&str> = kernel.inputs().iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["y", "z"]);
    let data: [&[f64]; 2] = [&y, &z];
    let sizes = [n as i64];
    let mut scratch = kernel.scratch();
    let mut out = vec![0.0; n];
    let mut want = vec![0.0; n];
    reference::softmax_cross_entropy_grad(&z, &y, &mut want);
    kernel.eval(&sizes, &data, &mut out, &mut scratch).expect("the kernel runs");
    let worst = out.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-15, "compiled and reference gradients differ by {worst}");

    let mut group = c.benchmark_group("softmax_ce_gradient_n1e6");
    group.sample_size(30);
    group.bench_function("reference loop", |b| {
        b.iter(|| {
            reference::softmax_cross_entropy_grad(
                black_box(&z),
                black_box(&y),
                black_box(&mut want),
            )
        })
    });
    group.bench_function("compiled kernel", |b| {
        b.iter(|| {
            kernel.eval(black_box(&sizes), black_box(&data), black_box(&mut out), &mut scratch)
        })
    });
    group.finish();

    // The Jacobian-vector product a_i (v_i - Σ_k a_k v_k), against its tight loop.
    let jvp = parse_expr("a_i*(v_i - sum_k(a_k*v_k))").expect("the product parses");
    let kernel = Kernel::compile(&ctx, &jvp, &["i".to_string()]).expect("the product compiles");
    let v: Vec<f64> = y.iter().map(|x| x * n as f64 - 1.0).collect();
    let data: [&[f64]; 2] = [&v, &z];
    let mut scratch = kernel.scratch();
    reference::softmax_jvp(&z, &v, &mut want);
    kernel.eval(&sizes, &data, &mut out, &mut scratch).expect("the kernel runs");
    let worst = out.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-15, "compiled and reference products differ by {worst}");
    let mut group = c.benchmark_group("softmax_jvp_n1e6");
    group.sample_size(30);
    group.bench_function("reference loop", |b| {
        b.iter(|| reference::softmax_jvp(black_box(&z), black_box(&v), black_box(&mut want)))
    });
    group.bench_function("compiled kernel", |b| {
        b.iter(|| {
            kernel.eval(black_box(&sizes), black_box(&data), black_box(&mut out), &mut scratch)
        })
    });
    group.finish();
}

fn step_checks(c: &mut Criterion) {
    let ctx = parse_file(SOFTMAX_CE).expect("the seed parses").context;
    let lhs = parse_expr("D(a_i, z_j)").expect("parses");
    let rhs = parse_expr("a_i*(delta(i,j) - a_j)").expect("parses");
    let rational_lhs = parse_expr("(x + 1)^2*y").expect("parses");
    let rational_rhs = parse_expr("x^2*y + 2*x*y + y").expect("parses");
    let of = parse_expr("l").expect("parses");
    let wrt = parse_variable("z_j", IndexScope::Declared(&ctx.indices)).expect("parses");
    let result = parse_expr("a_j - y_j").expect("parses");
    let opts = CheckOptions::default();
    let mut group = c.benchmark_group("numeric_checks");
    group.sample_size(20);
    group.bench_function("check_equal softmax step (40 points, f64)", |b| {
        b.iter(|| {
            check_equal(&ctx, black_box(&lhs), black_box(&rhs), &opts).expect("the step holds")
        })
    });
    group.bench_function("check_equal rational step (8 points, exact)", |b| {
        b.iter(|| {
            check_equal(&ctx, black_box(&rational_lhs), black_box(&rational_rhs), &opts)
                .expect("the step holds")
        })
    });
    group.bench_function("check_derivative softmax-ce (40 points)", |b| {
        b.iter(|| {
            check_derivative(&ctx, black_box(&of), &wrt, black_box(&result), &opts)
                .expect("the result holds")
        })
    });
    group.finish();
}

/// `deriv run` of the seed, split: the derivation (engine + kernel) and the numeric checks.
fn seed_run(c: &mut Criterion) {
    let src = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/softmax_ce.deriv"),
    )
    .expect("the seed file");
    let doc = parse_file(&src).expect("the seed parses");
    let lines: Vec<usize> = doc.goals.iter().map(|g| g.line).collect();
    let report = deriv::report::derive_document(&doc).expect("the seed derives");
    let mut group = c.benchmark_group("seed_run");
    group.sample_size(20);
    group.bench_function("derive_document (engine + kernel)", |b| {
        b.iter(|| deriv::report::derive_document(black_box(&doc)).expect("the seed derives"))
    });
    let ctx = report.context.clone();
    let steps: Vec<Vec<(&Expr, &Expr, &str)>> = report
        .goals
        .iter()
        .map(|g| {
            g.proof.steps().iter().map(|s| (&s.before, &s.after, s.step.rule.as_str())).collect()
        })
        .collect();
    group.bench_function("check_steps (every step)", |b| {
        b.iter(|| {
            for goal in &steps {
                deriv::report::check_steps(&ctx, black_box(goal)).expect("the steps hold");
            }
        })
    });
    group.bench_function("check_numerically (every step and result)", |b| {
        b.iter_batched_ref(
            || report.clone(),
            |r| deriv::report::check_numerically(r, &lines).expect("the checks pass"),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, softmax_ce_gradient, step_checks, seed_run);
criterion_main!(benches);
