//! `run --format rust` from the matrix form against the component form, at m = n = 200,
//! measured in the same run: both functions are emitted by the library for the same
//! kernel-checked results, compiled together with rustc -O into one timing program, and run
//! alternately. Prints each goal's time per call and the ratio. Needs rustc on the PATH
//! (or `RUSTC`). Run with `cargo bench --bench emitted`.

use deriv::numeric::{emit_rust_with, Forms};
use deriv::report::{derive_and_check, Report};
use deriv::syntax::parse_file;
use std::process::Command;

/// The goals timed: ∇_W and ∇_x of ‖Wx − y‖², ∇_x of xᵀAx, and ∇_W of softmax
/// cross-entropy after a linear layer, with the function each becomes and its call.
const SOURCE: &str = "vector x in R^n
vector y, b in R^m
matrix W in R^{m x n}
matrix A in R^{n x n}
let l = norm2(W*x - y)
let p = softmax(W*x + b)
let c = -y'*log(p)
derive l wrt W
derive l wrt x
derive x'*A*x wrt x
derive c wrt W
";

/// For each goal: its label, the function's name and the arguments after the sizes.
const CALLS: [(&str, &str, &str, &str); 4] = [
    ("dl/dW = 2(Wx - y)x'", "d_l_d_W", "&w, &x, &y", "M * N"),
    ("dl/dx = 2W'(Wx - y)", "d_l_d_x", "&w, &x, &y", "N"),
    ("d(x'Ax)/dx = (A + A')x", "derivative_1", "&a, &x", "N"),
    ("dc/dW = (p - y)x' (softmax-CE)", "d_c_d_W", "&w, &b, &x, &y", "M * N"),
];

fn emitted(report: &Report, g: usize, from_form: bool) -> String {
    // The form wherever it can be computed so, even where the components make fewer passes.
    emit_rust_with(&report.context, &[report.goals[g].rust_goal(from_form)], Forms::Always)
        .expect("emits")
}

/// The call of `module::name`, with its scratch space when it takes one.
fn call(source: &str, module: &str, name: &str, args: &str, sizes: &str) -> String {
    let work = source.contains(&format!("fn {name}_work_len("));
    if work {
        format!("{module}::{name}({sizes}, {args}, &mut {module}_work, &mut out).unwrap()")
    } else {
        format!("{module}::{name}({sizes}, {args}, &mut out).unwrap()")
    }
}

fn main() {
    let report = derive_and_check(&parse_file(SOURCE).expect("parses")).expect("derives");
    let mut program = String::from("use std::time::Instant;\n");
    let mut body = String::from(
        "#[allow(non_snake_case)]\nfn main() {\n    const M: usize = 200;\n    const N: usize = 200;\n\
         let v = |len: usize, k: f64| (0..len).map(|q| 0.5 * ((q as f64) * 0.37 + k).sin()).collect::<Vec<f64>>();\n\
         let (w, a, x, y, b) = (v(M * N, 1.0), v(N * N, 2.0), v(N, 3.0), v(M, 4.0), v(M, 5.0));\n",
    );
    for (g, (label, name, args, len)) in CALLS.iter().enumerate() {
        assert!(report.goals[g].matrix.is_some(), "{label}: no matrix form");
        let (form, comp) = (emitted(&report, g, true), emitted(&report, g, false));
        assert!(form.contains("Computed from the matrix form"), "{label}: {form}");
        let (fm, cm) = (format!("form{g}"), format!("comp{g}"));
        program.push_str(&format!("mod {fm} {{\n{form}}}\nmod {cm} {{\n{comp}}}\n"));
        // The sizes in the functions' order: as their signatures list them.
        let sizes =
            if form.contains(&format!("fn {name}(m: usize, n: usize")) { "M, N" } else { "N" };
        let work_len = |src: &str, module: &str| {
            if src.contains(&format!("fn {name}_work_len(")) {
                format!("let mut {module}_work = vec![0.0; {module}::{name}_work_len({sizes})];\n")
            } else {
                String::new()
            }
        };
        body.push_str(&format!(
            "    {{\n    {}    {}    let mut out = vec![0.0f64; {len}];\n\
             {call_f};\n    let want = out.clone();\n    {call_c};\n\
             let worst = out.iter().zip(&want).map(|(p, q)| (p - q).abs() / q.abs().max(1.0)).fold(0.0, f64::max);\n\
             assert!(worst < 1e-10, \"{label}: the forms differ by {{worst}}\");\n\
             let reps = 10;\n    let (mut tf, mut tc) = (f64::INFINITY, f64::INFINITY);\n\
             for _ in 0..reps {{\n        let t = Instant::now();\n        {call_f};\n        tf = tf.min(t.elapsed().as_secs_f64());\n\
             let t = Instant::now();\n        {call_c};\n        tc = tc.min(t.elapsed().as_secs_f64());\n        std::hint::black_box(&out);\n    }}\n\
             println!(\"{label:<34} matrix form {{:>10.3}} ms   components {{:>10.3}} ms   ratio {{:>8.1}}\", tf * 1e3, tc * 1e3, tc / tf);\n    }}\n",
            work_len(&form, &fm),
            work_len(&comp, &cm),
            call_f = call(&form, &fm, name, args, sizes),
            call_c = call(&comp, &cm, name, args, sizes),
        ));
    }
    body.push_str("}\n");
    program.push_str(&body);
    let dir = std::env::temp_dir().join(format!("deriv-bench-emitted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
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
    println!("Emitted Rust at m = n = 200 (best of 10 calls each, same run):");
    print!("{}", String::from_utf8_lossy(&run.stdout));
}
