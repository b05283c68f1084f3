//! `run --format rust` for goals with a matrix form: the emitted function computes the form
//! with loops (each product once into `work_`), compiles with rustc (warnings are errors),
//! and agrees with the component function emitted from the same kernel-checked result,
//! for every goal with a form in `tests/matrix/` and `examples/`, at sizes m = 3, n = 4
//! (so a transposed index cannot go unnoticed). The least-squares gradients are also held
//! to central finite differences of the loss, written out by hand in the harness.

use deriv::expr::Bound;
use deriv::matrix::{shape_of, Kind, Shapes};
use deriv::numeric::{emit_rust_with, Forms};
use deriv::report::{derive_and_check, Report};
use deriv::syntax::parse_file;
use std::path::{Path, PathBuf};

#[path = "common/rustc.rs"]
mod rustc;
use rustc::compile_and_run;

fn files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["tests/matrix", "examples"] {
        let mut these: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .expect("a directory")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "deriv"))
            .collect();
        these.sort();
        out.extend(these);
    }
    out
}

fn report(path: &Path) -> Report {
    let src = std::fs::read_to_string(path).expect("readable");
    derive_and_check(&parse_file(&src).expect("parses")).expect("derives")
}

/// The value of a size in the harness.
fn size(name: &str) -> usize {
    match name {
        "m" => 3,
        "n" => 4,
        _ => 5,
    }
}

fn bound(b: &Bound) -> usize {
    match b {
        Bound::Int(v) => *v as usize,
        Bound::Sym(s, off) => (size(s) as i64 + off) as usize,
    }
}

/// The source of goal `g` of `report`, from its matrix form or (without) its components.
fn emitted(report: &Report, g: usize, from_form: bool) -> String {
    // The form wherever it can be computed so, even where the components make fewer passes.
    emit_rust_with(&report.context, &[report.goals[g].rust_goal(from_form)], Forms::Always)
        .expect("emits")
}

/// The parameters of the last public function of `source` that is not a `_work_len`.
fn signature(source: &str) -> (String, Vec<(String, String)>) {
    let line = source
        .lines()
        .rfind(|l| l.starts_with("pub fn ") && !l.contains("_work_len("))
        .expect("a function");
    let name = line["pub fn ".len()..line.find('(').expect("(")].to_string();
    let params = &line[line.find('(').expect("(") + 1..line.find(") ->").expect(") ->")];
    let params = params
        .split(", ")
        .map(|p| {
            let (n, t) = p.split_once(": ").expect("name: type");
            (n.to_string(), t.to_string())
        })
        .collect();
    (name, params)
}

/// A call of `module::name` with the harness's inputs, into `out` (`len` values).
fn call(module: &str, name: &str, params: &[(String, String)], len: usize, out: &str) -> String {
    let sizes: Vec<String> =
        params.iter().filter(|(_, t)| t == "usize").map(|(n, _)| n.clone()).collect();
    let args: Vec<String> = params
        .iter()
        .map(|(n, t)| match (n.as_str(), t.as_str()) {
            ("work_", _) => "&mut work".to_string(),
            ("out_", _) => format!("&mut {out}"),
            (_, "&[f64]") => format!("&{n}"),
            _ => n.clone(),
        })
        .collect();
    let mut s = String::new();
    if params.iter().any(|(n, _)| n == "work_") {
        s.push_str(&format!(
            "    let mut work = vec![0.0; {module}::{name}_work_len({})];\n",
            sizes.join(", ")
        ));
    }
    s.push_str(&format!("    let mut {out} = vec![0.0; {len}];\n"));
    s.push_str(&format!("    {module}::{name}({}).unwrap();\n", args.join(", ")));
    s
}

/// Inputs of a goal: sizes, scalars and arrays in (0.1, 1.1), from a fixed formula.
fn inputs(params: &[(String, String)], shapes: &Shapes) -> String {
    let mut s = String::new();
    for (k, (n, t)) in params.iter().enumerate() {
        let values = |len: usize| {
            format!("(0..{len}).map(|q| 0.6 + 0.5 * ((q as f64) * 0.73 + {k}.0).sin()).collect::<Vec<f64>>()")
        };
        match t.as_str() {
            "usize" => s.push_str(&format!("    let {n}: usize = {};\n", size(n))),
            "f64" => s.push_str(&format!("    let {n}: f64 = 0.6 + 0.5 * ({k}.0f64).sin();\n")),
            "&[f64]" => {
                let kind = shapes.get(n).unwrap_or_else(|| panic!("`{n}` has no shape"));
                let len: usize = match kind {
                    Kind::Vector(r) => bound(r),
                    Kind::Matrix(r, c) => bound(r) * bound(c),
                };
                s.push_str(&format!("    let {n}: Vec<f64> = {};\n", values(len)));
            }
            _ => {}
        }
    }
    s
}

#[test]
fn matrix_forms_emit_rust_that_agrees_with_the_components() {
    let mut modules = String::new();
    let mut main = String::from("#[allow(non_snake_case)]\nfn main() {\n");
    let mut goals = 0;
    for path in files() {
        let report = report(&path);
        let stem = path.file_stem().unwrap_or_default().to_string_lossy().replace('-', "_");
        for (g, d) in report.goals.iter().enumerate() {
            let Some(m) = &d.matrix else { continue };
            let form = emitted(&report, g, true);
            let components = emitted(&report, g, false);
            if !form.contains("Computed from the matrix form") {
                // A fixed label is an output index of the function, not of the form.
                assert!(!report.context.fixed_labels().is_empty(), "{stem} goal {}: {form}", g + 1);
                continue;
            }
            assert!(!components.contains("Computed from the matrix form"));
            assert!(!form.contains("Vec"), "{stem}: nothing allocates");
            assert_eq!(form, emitted(&report, g, true), "{stem}: deterministic");
            let shape = shape_of(m, &d.matrix_shapes).expect("a shape");
            let len = bound(&shape.rows) * bound(&shape.cols);
            let (name, params) = signature(&form);
            let (comp_name, comp_params) = signature(&components);
            assert_eq!(name, comp_name);
            let strip = |ps: &[(String, String)]| {
                ps.iter().filter(|(n, _)| n != "work_").cloned().collect::<Vec<_>>()
            };
            assert_eq!(strip(&params), strip(&comp_params), "{stem}: the same inputs");
            let (fm, cm) = (format!("{stem}_{g}_form"), format!("{stem}_{g}_components"));
            modules.push_str(&format!("mod {fm} {{\n{form}}}\nmod {cm} {{\n{components}}}\n"));
            main.push_str("    {\n");
            // Inputs seen only through definitions have their shapes read off those.
            let ctx = &report.context;
            let mut terms: Vec<&deriv::expr::Expr> =
                ctx.definitions.iter().map(|d| &d.body).collect();
            terms.push(&d.components);
            let mut shapes = deriv::matrix::infer_shapes(&terms, ctx);
            shapes.extend(d.matrix_shapes.iter().map(|(k, v)| (k.clone(), v.clone())));
            main.push_str(&inputs(&params, &shapes));
            main.push_str(&call(&fm, &name, &params, len, "got"));
            main.push_str(&call(&cm, &name, &comp_params, len, "want"));
            main.push_str("        for (a, b) in got.iter().zip(&want) { println!(\"{a:e}\"); println!(\"{b:e}\"); }\n    }\n");
            goals += 1;
        }
    }
    assert!(goals >= 15, "{goals} goals with matrix forms");
    main.push_str("}\n");
    let values = compile_and_run(&format!("{modules}{main}"));
    assert!(values.len() >= 2 * goals);
    for pair in values.chunks(2) {
        let (got, want) = (pair[0], pair[1]);
        assert!(
            got.is_finite() && (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "matrix form {got} vs components {want}"
        );
    }
}

/// The least-squares gradients from their forms, 2(Wx − y)xᵀ and 2Wᵀ(Wx − y), against
/// central differences of ‖Wx − y‖² computed by the harness.
#[test]
fn least_squares_forms_agree_with_finite_differences() {
    let report =
        report(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/matrix/least_squares.deriv"));
    let by_w = emitted(&report, 0, true);
    let by_x = emitted(&report, 1, true);
    assert!(by_w.contains("matrix form 2*(W*x - y)*x'"), "{by_w}");
    assert!(by_x.contains("matrix form 2*W'*(W*x - y)"), "{by_x}");
    let main = r#"
fn loss(m: usize, n: usize, w: &[f64], x: &[f64], y: &[f64]) -> f64 {
    (0..m).map(|i| {
        let r: f64 = (0..n).map(|p| w[i * n + p] * x[p]).sum::<f64>() - y[i];
        r * r
    }).sum()
}

fn main() {
    let (m, n) = (3usize, 4usize);
    let w: Vec<f64> = (0..m * n).map(|q| (q as f64 * 0.61).cos()).collect();
    let x: Vec<f64> = (0..n).map(|q| (q as f64 * 0.37 + 1.0).sin()).collect();
    let y: Vec<f64> = (0..m).map(|q| (q as f64 * 0.29 + 2.0).sin()).collect();
    let mut work = vec![0.0; by_w::d_l_d_W_work_len(m, n)];
    let mut gw = vec![0.0; m * n];
    by_w::d_l_d_W(m, n, &w, &x, &y, &mut work, &mut gw).unwrap();
    let mut work = vec![0.0; by_x::d_l_d_x_work_len(m, n)];
    let mut gx = vec![0.0; n];
    by_x::d_l_d_x(m, n, &w, &x, &y, &mut work, &mut gx).unwrap();
    let h = 1e-6;
    for q in 0..m * n {
        let (mut up, mut down) = (w.clone(), w.clone());
        up[q] += h;
        down[q] -= h;
        println!("{:e}", gw[q]);
        println!("{:e}", (loss(m, n, &up, &x, &y) - loss(m, n, &down, &x, &y)) / (2.0 * h));
    }
    for q in 0..n {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[q] += h;
        down[q] -= h;
        println!("{:e}", gx[q]);
        println!("{:e}", (loss(m, n, &w, &up, &y) - loss(m, n, &w, &down, &y)) / (2.0 * h));
    }
}
"#;
    let values = compile_and_run(&format!("mod by_w {{\n{by_w}}}\nmod by_x {{\n{by_x}}}\n{main}"));
    assert_eq!(values.len(), 2 * (12 + 4));
    for pair in values.chunks(2) {
        let (got, want) = (pair[0], pair[1]);
        assert!(
            (got - want).abs() <= 1e-7 * want.abs().max(1.0),
            "form {got} vs differences {want}"
        );
    }
}
