//! The emitted Rust against tight hand-written loops at n = 10^6, measured in the same run:
//! the softmax cross-entropy gradient `a - y` (what `deriv run examples/softmax_ce.deriv
//! --format rust` prints) and the softmax Jacobian-vector product `a_i (v_i - Σ_k a_k v_k)`.
//! The emitted functions and the loops are compiled together with rustc -O into one timing
//! program and run alternately; it prints the best time of each and the ratio. Needs rustc
//! on the PATH (or `RUSTC`). Run with `cargo bench --bench tight_loops`.
//!
//! `DERIV_BASELINE=/path/to/an/older/deriv` also times what that binary emits for the same
//! files (`run FILE --format rust`), in the same program: before and after in one run.
//!
//! The Jacobian-vector product has no goal of its own in the language: it is the
//! directional derivative `d/dt a_i(z + t v)` at t = 0, stated with `u_k = z_k + t*v_k`.
//! That function is timed at t = 0 as the user gets it; the derived result, emitted over
//! the softmax of z itself (u = z at t = 0), is timed too, to separate the code generator
//! from the extra reads of `v` the stated form costs.

use deriv::numeric::{emit_rust, RustGoal};
use deriv::report::derive_and_check;
use deriv::syntax::parse_file;
use std::process::Command;

const JVP: &str = "index i, j, k in 1..n
let u_k = z_k + t*v_k
let a_i = exp(u_i) / sum_k(exp(u_k))
derive a_i wrt t
";

/// The softmax of z itself: the derived product `a_i*(v_i - sum_k(a_k*v_k))` at t = 0.
const SOFTMAX: &str = "index i, j, k in 1..n
let a_i = exp(z_i) / sum_k(exp(z_k))
";

/// The tight loops, as in `deriv::numeric::reference` (`softmax_cross_entropy_grad` and
/// `softmax_jvp`): the max, each exponential once into the output while summing, then
/// one scaling pass (after the dot product with v, for the JVP).
const TIGHT: &str = r#"
fn tight_grad(z: &[f64], y: &[f64], grad: &mut [f64]) {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for (g, &zi) in grad.iter_mut().zip(z) {
        *g = (zi - m).exp();
        total += *g;
    }
    let inv = 1.0 / total;
    for (g, &yi) in grad.iter_mut().zip(y) {
        *g = *g * inv - yi;
    }
}

fn tight_jvp(z: &[f64], v: &[f64], out: &mut [f64]) {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for (o, &zi) in out.iter_mut().zip(z) {
        *o = (zi - m).exp();
        total += *o;
    }
    let inv = 1.0 / total;
    let dot = out.iter().zip(v).map(|(&e, &vi)| e * vi).sum::<f64>() * inv;
    for (o, &vi) in out.iter_mut().zip(v) {
        *o = *o * inv * (vi - dot);
    }
}

/// Best of `reps` calls of each, alternating which runs first.
fn race(label: &str, reps: usize, tight: &mut dyn FnMut(), emitted: &mut dyn FnMut()) {
    let (mut best_t, mut best_e) = (f64::INFINITY, f64::INFINITY);
    for r in 0..reps {
        let mut time = |f: &mut dyn FnMut()| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        };
        if r % 2 == 0 {
            best_t = best_t.min(time(tight));
            best_e = best_e.min(time(emitted));
        } else {
            best_e = best_e.min(time(emitted));
            best_t = best_t.min(time(tight));
        }
    }
    println!("{label:<44} tight {:>7.3} ms   emitted {:>7.3} ms   ratio {:>5.2}", best_t * 1e3, best_e * 1e3, best_e / best_t);
}

fn agree(label: &str, got: &[f64], want: &[f64]) {
    // Entries are about 1/n = 1e-6: a difference of 1e-15 is a relative 1e-9.
    let worst = got.iter().zip(want).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-15, "{label}: differs from the tight loop by {worst}");
}
"#;

/// The parameters of `pub fn name(…)` in `source`.
fn params(source: &str, name: &str) -> Vec<(String, String)> {
    let head = format!("pub fn {name}(");
    let line = source.lines().find(|l| l.starts_with(&head)).unwrap_or_else(|| panic!("{name}"));
    let inside = &line[head.len()..line.find(") ->").expect(") ->")];
    inside
        .split(", ")
        .map(|p| {
            let (n, t) = p.split_once(": ").expect("name: type");
            (n.to_string(), t.to_string())
        })
        .collect()
}

/// The statements that call `module::name` into `out`, with scratch space if it takes
/// some; `arg` gives each input's argument.
fn call(source: &str, module: &str, name: &str, arg: &dyn Fn(&str) -> String) -> (String, String) {
    let ps = params(source, name);
    let args: Vec<String> = ps
        .iter()
        .map(|(n, t)| match (n.as_str(), t.as_str()) {
            (_, "usize") => "N".to_string(),
            ("work_", _) => format!("&mut {module}_work"),
            ("out_", _) => "&mut out".to_string(),
            (n, _) => arg(n),
        })
        .collect();
    let setup = if ps.iter().any(|(n, _)| n == "work_") {
        format!("let mut {module}_work = vec![0.0; {module}::{name}_work_len(N)];\n")
    } else {
        String::new()
    };
    (setup, format!("{module}::{name}({}).unwrap()", args.join(", ")))
}

/// What an older `deriv` binary emits for a file.
fn baseline(binary: &str, file: &std::path::Path) -> String {
    let out = Command::new(binary)
        .arg("run")
        .arg(file)
        .args(["--format", "rust"])
        .output()
        .expect("the baseline runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn main() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("examples/softmax_ce.deriv");
    let seed = std::fs::read_to_string(&example).expect("the example");
    let report = derive_and_check(&parse_file(&seed).expect("parses")).expect("derives");
    let goals: Vec<RustGoal> = report.goals.iter().map(|g| g.rust_goal(true)).collect();
    let grad_source = emit_rust(&report.context, &goals).expect("emits");

    let jvp = derive_and_check(&parse_file(JVP).expect("parses")).expect("derives");
    let jvp_goal = jvp.goals[0].rust_goal(true);
    let jvp_source = emit_rust(&jvp.context, &[jvp_goal]).expect("emits");
    let at_zero_ctx = parse_file(SOFTMAX).expect("parses").context;
    let at_zero = RustGoal { matrix: None, ..jvp_goal };
    let at_zero_source = emit_rust(&at_zero_ctx, &[at_zero]).expect("emits");
    println!("The derived JVP: d({}) / d({}) = {}", jvp_goal.of, jvp_goal.wrt, jvp_goal.result);

    let dir = std::env::temp_dir().join(format!("deriv-bench-tight-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let jvp_file = dir.join("jvp.deriv");
    std::fs::write(&jvp_file, JVP).expect("written");

    // (label, module, source, function, which tight loop, the output it is compared with)
    let mut cases = vec![
        ("softmax-CE gradient a - y", "grad", grad_source, "d_l_d_z", "grad"),
        ("softmax JVP, d/dt a(z + t v) at t = 0", "jvp", jvp_source, "d_a_d_t", "jvp"),
        ("softmax JVP, the derived result at u = z", "jvp0", at_zero_source, "d_a_d_t", "jvp"),
    ];
    if let Ok(binary) = std::env::var("DERIV_BASELINE") {
        cases.push((
            "  baseline: softmax-CE gradient",
            "grad_base",
            baseline(&binary, &example),
            "d_l_d_z",
            "grad",
        ));
        cases.push((
            "  baseline: JVP at t = 0",
            "jvp_base",
            baseline(&binary, &jvp_file),
            "d_a_d_t",
            "jvp",
        ));
    }
    let mut program = String::from("use std::time::Instant;\n");
    program.push_str(TIGHT);
    let mut body = String::from(
        "fn main() {\n    const N: usize = 1_000_000;\n\
         let mut state: u64 = 0x2545_F491_4F6C_DD1D;\n\
         let mut next = move || { state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407); (state >> 11) as f64 / (1u64 << 53) as f64 };\n\
         let z: Vec<f64> = (0..N).map(|_| 10.0 * next() - 5.0).collect();\n\
         let w: Vec<f64> = (0..N).map(|_| next() + 0.01).collect();\n\
         let total: f64 = w.iter().sum();\n\
         let y: Vec<f64> = w.iter().map(|x| x / total).collect();\n\
         let v: Vec<f64> = (0..N).map(|_| 2.0 * next() - 1.0).collect();\n\
         let mut want = vec![0.0; N];\n    let mut out = vec![0.0; N];\n",
    );
    for (label, module, source, name, tight) in &cases {
        program.push_str(&format!("#[allow(dead_code)]\nmod {module} {{\n{source}}}\n"));
        let arg = |n: &str| match n {
            "t" => "0.0".to_string(),
            other => format!("&{other}"),
        };
        let (setup, call) = call(source, module, name, &arg);
        let tight_call = match *tight {
            "grad" => "tight_grad(&z, &y, &mut want)",
            _ => "tight_jvp(&z, &v, &mut want)",
        };
        body.push_str(&format!(
            "    {{\n    {setup}    {tight_call};\n    {call};\n    agree(\"{label}\", &out, &want);\n\
             race(\"{label}\", 30, &mut || {tight_call}, &mut || {call});\n    }}\n"
        ));
    }
    body.push_str("}\n");
    program.push_str(&body);
    let (file, binary) = (dir.join("main.rs"), dir.join("main"));
    std::fs::write(&file, &program).expect("written");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let compiled = Command::new(rustc)
        .args(["--edition", "2021", "-O", "-o"])
        .arg(&binary)
        .arg(&file)
        .output()
        .expect("rustc runs");
    assert!(compiled.status.success(), "{}", String::from_utf8_lossy(&compiled.stderr));
    let run = Command::new(&binary).output().expect("runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    println!("Emitted Rust against tight loops at n = 10^6 (best of 30 calls each, same run):");
    print!("{}", String::from_utf8_lossy(&run.stdout));
}
