//! The function table against what lies outside the program: every function is in the
//! language reference, and every function's emitted Rust compiles and computes the
//! library's value.

use deriv::expr::{Expr, Func};
use deriv::functions::{spec, FUNCTIONS};
use deriv::numeric::{emit_rust, RustGoal};
use deriv::terms::ExprExt;
#[path = "common/rustc.rs"]
mod rustc;

fn language_reference() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/LANGUAGE.md");
    std::fs::read_to_string(path).expect("docs/LANGUAGE.md")
}

/// Every function is in the reference's table of expressions (`name(e)`) and among its
/// reserved words, and none is still listed as not yet supported.
#[test]
fn every_function_is_in_the_language_reference() {
    let doc = language_reference();
    let calls = doc.lines().find(|l| l.starts_with("| call |")).expect("a row for calls");
    let reserved_at = doc.find("### Reserved words").expect("a section on reserved words");
    let reserved = doc[reserved_at..].split("\n\n").nth(1).expect("its paragraph");
    let unsupported_at = doc.find("## Not yet supported").expect("a section of what is not");
    let unsupported = &doc[unsupported_at..];
    for f in Func::ALL {
        let name = f.name();
        assert!(calls.contains(&format!("`{name}(e)`")), "`{name}(e)` is not in: {calls}");
        assert!(
            reserved.split(['`', ' ', '\n']).any(|w| w == name),
            "`{name}` is not among the reserved words: {reserved}"
        );
        assert!(!unsupported.contains(&format!("`{name}`")), "`{name}` is listed as unsupported");
    }
}

/// `--format rust` of each function compiles without warnings (a method `f64` has, or a
/// helper written out) and gives the function table's f64 value.
#[test]
fn every_function_emits_compiling_rust() {
    let x = Expr::sym("x");
    let names: Vec<Expr> = Func::ALL.iter().map(|f| Expr::sym(f.name())).collect();
    let calls: Vec<Expr> = Func::ALL.iter().map(|f| Expr::call(*f, x.clone())).collect();
    let goals: Vec<RustGoal> = names
        .iter()
        .zip(&calls)
        .map(|(of, result)| RustGoal { of, wrt: &x, result, matrix: None })
        .collect();
    let source = emit_rust(&Default::default(), &goals).expect("every call emits");
    let prints: String = Func::ALL
        .iter()
        .map(|f| format!("    println!(\"{{}}\", f::d_{}_d_x(0.5).unwrap());\n", f.name()))
        .collect();
    let program =
        format!("#[allow(dead_code)]\nmod f {{\n{source}}}\n\nfn main() {{\n{prints}}}\n");
    let values = rustc::compile_and_run(&program);
    assert_eq!(values.len(), FUNCTIONS.len());
    for (f, got) in Func::ALL.iter().zip(values) {
        let want = (spec(*f).value)(0.5);
        assert!((got - want).abs() <= 1e-15 * want.abs(), "{}: {got} vs {want}", f.name());
    }
}
