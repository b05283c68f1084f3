//! Benchmarks for the derivation pipeline: `deriv diff` over a scalar corpus (issue 4),
//! the seed file end to end (issue 5) and families of growing inputs (issue 18), each
//! against a baseline measured in the same run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use deriv::expr::Expr;
use deriv::syntax::{parse_expr, parse_file};
use std::hint::black_box;
use std::path::PathBuf;

/// The public scalar cases plus the kinds of expression the acceptance corpus names.
fn corpus() -> Vec<(Expr, Expr)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut lines: Vec<String> = std::fs::read_to_string(dir.join("examples/scalar.txt"))
        .expect("examples/scalar.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    lines.extend(
        [
            "-(t*log(sigmoid(x)) + (1 - t)*log(1 - sigmoid(x))) ; x",
            "(w*x + b - t)^2 ; w",
            "x^x ; x",
            "sin(x)^2 + cos(x)^2 ; x",
            "exp(x)*sin(x) ; x",
            "log(log(x)) ; x",
            "x*exp(-x^2/2) ; x",
            "softplus(2*x + 1) ; x",
        ]
        .map(String::from),
    );
    lines
        .iter()
        .map(|l| {
            let parts: Vec<&str> = l.split(';').map(str::trim).collect();
            (parse_expr(parts[0]).expect("expr"), parse_expr(parts[1]).expect("var"))
        })
        .collect()
}

fn bench_diff(c: &mut Criterion) {
    let corpus = corpus();
    let mut group = c.benchmark_group("diff");
    // Baseline: parsing alone, the floor any `deriv diff` pays.
    let texts: Vec<String> = corpus.iter().map(|(e, _)| e.to_string()).collect();
    group.bench_function("parse (baseline)", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(parse_expr(t).expect("parses"));
            }
        })
    });
    group.bench_function("derive+simplify+kernel", |b| {
        b.iter(|| {
            for (e, x) in &corpus {
                black_box(deriv::engine::derive(Default::default(), e, x).expect("derives"));
            }
        })
    });
    let mut nested = parse_expr("x").expect("x");
    for _ in 0..50 {
        nested = Expr::call(deriv::expr::Func::Sin, nested);
    }
    let x = parse_expr("x").expect("x");
    group.bench_with_input(BenchmarkId::new("nested sin", 50), &nested, |b, e| {
        b.iter(|| black_box(deriv::engine::derive(Default::default(), e, &x).expect("derives")))
    });
    group.finish();
}

fn bench_seed(c: &mut Criterion) {
    let src = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/softmax_ce.deriv"),
    )
    .expect("seed");
    let mut group = c.benchmark_group("seed");
    group.bench_function("parse (baseline)", |b| {
        b.iter(|| black_box(parse_file(&src).expect("parses")))
    });
    group.bench_function("derive+kernel+certificate", |b| {
        b.iter(|| {
            let doc = parse_file(&src).expect("parses");
            let report = deriv::report::derive_document(&doc).expect("derives");
            black_box(serde_json::to_string(&deriv::report::certificate(&report)).expect("json"))
        })
    });
    group.finish();
}

/// Whole `deriv` processes, as a user runs them: start-up, parse, derive, kernel, numeric
/// checks and rendering. `deriv --version` is the baseline: the cost of starting the binary.
fn bench_process(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seed = dir.join("examples/softmax_ce.deriv");
    let seed = seed.to_str().expect("a UTF-8 path");
    let runs: [(&str, Vec<&str>); 4] = [
        ("deriv --version (baseline)", vec!["--version"]),
        ("deriv diff sigmoid(x)", vec!["diff", "sigmoid(x)", "--wrt", "x"]),
        ("deriv run seed (markdown)", vec!["run", seed]),
        ("deriv run seed --format json", vec!["run", seed, "--format", "json"]),
    ];
    let mut group = c.benchmark_group("process");
    for (name, args) in &runs {
        group.bench_function(*name, |b| {
            // Output goes to /dev/null, as a shell user's redirect (and hyperfine) would send
            // it: reading it through pipes adds the harness's own work to every run.
            b.iter(|| {
                let status = std::process::Command::new(env!("CARGO_BIN_EXE_deriv"))
                    .args(args)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .expect("deriv runs");
                assert!(status.success(), "{name} failed");
                black_box(status)
            })
        });
    }
    group.finish();
}

/// The families of issue 18 at size `n`, as `scripts/scale.py` writes them: a scalar
/// expression (differentiated with respect to `x`) or, for `chain`, a `.deriv` file.
fn family(name: &str, n: usize) -> String {
    match name {
        "product" => {
            format!("x*{}", (1..=n).map(|i| format!("(x+{i})")).collect::<Vec<_>>().join("*"))
        }
        "nested" => format!("{}x{}", "sin(".repeat(n), ")".repeat(n)),
        "sums" => (1..=n).map(|i| format!("sin({i}*x)")).collect::<Vec<_>>().join(" + "),
        "polynomial" => (1..=n).map(|i| format!("{i}*x^{i}")).collect::<Vec<_>>().join(" + "),
        "fraction" => format!("{}x{}", "1/(1 + ".repeat(n), ")".repeat(n)),
        "chain" => {
            let lets = (2..=n).map(|k| format!("let h{k} = tanh(h{})\n", k - 1));
            format!("let h1 = tanh(x)\n{}derive h{n} wrt x\n", lets.collect::<String>())
        }
        _ => unreachable!("no family {name}"),
    }
}

/// Each family at three sizes, derived and checked by the kernel in-process (parsing
/// excluded); `scripts/scale.py --criterion` fits the growth exponent from the results.
/// Baseline: the derivative of `sin(x)`, the smallest input, measured in the same run.
fn bench_families(c: &mut Criterion) {
    let mut group = c.benchmark_group("families");
    group.sample_size(10).warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(2));
    let x = parse_expr("x").expect("x");
    let sin = parse_expr("sin(x)").expect("sin(x)");
    group.bench_function("sin(x) (baseline)", |b| {
        b.iter(|| black_box(deriv::engine::derive(Default::default(), &sin, &x).expect("derives")))
    });
    for name in ["product", "nested", "sums", "polynomial", "fraction", "chain"] {
        for n in [20, 40, 80] {
            let text = family(name, n);
            if name == "chain" {
                let doc = parse_file(&text).expect("parses");
                group.bench_with_input(BenchmarkId::new(name, n), &doc, |b, doc| {
                    b.iter(|| black_box(deriv::report::derive_document(doc).expect("derives")))
                });
            } else {
                let e = parse_expr(&text).expect("parses");
                group.bench_with_input(BenchmarkId::new(name, n), &e, |b, e| {
                    b.iter(|| {
                        black_box(
                            deriv::engine::derive(Default::default(), e, &x).expect("derives"),
                        )
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_diff, bench_seed, bench_process, bench_families);
criterion_main!(benches);
