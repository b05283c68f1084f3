//! Numbers print as the input writes them: decimals stay decimals in results and writeups
//! (GELU's `0.044715`, and `3*0.044715` as `0.134145`), fractions stay fractions, exact
//! arithmetic continues underneath, and the certificate keeps fractions.

use std::path::Path;
use std::process::Command;

fn deriv(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_deriv")).args(args).output().expect("deriv runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

const GELU: &str = "0.5*x*(1 + tanh(0.7978845608*(x + 0.044715*x^3)))";
/// 3 * 0.044715, the coefficient of `x^2` in the derivative of the cubic.
const TRIPLED: &str = "0.134145";
/// The same number as a fraction in lowest terms: 26829/200000.
const TRIPLED_AS_FRACTION: &str = "26829";

#[test]
fn diff_prints_the_decimals_and_they_read_back_as_the_exact_result() {
    let plain = deriv(&["diff", GELU, "--wrt", "x"]);
    assert!(plain.contains(TRIPLED) && plain.contains("0.7978845608"), "{plain}");
    assert!(!plain.contains(TRIPLED_AS_FRACTION), "{plain}");
    // The certificate keeps exact fractions; the decimals read back to the same term.
    let json = deriv(&["diff", GELU, "--wrt", "x", "--format", "json"]);
    let cert: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let exact = cert["derivations"][0]["result"].as_str().expect("a result");
    assert!(exact.contains(TRIPLED_AS_FRACTION), "{exact}");
    let read = |s: &str| deriv::syntax::parse_expr(s.trim()).expect("parses");
    assert_eq!(read(&plain), read(exact));
}

#[test]
fn every_writeup_shows_the_decimals() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("decimals");
    std::fs::create_dir_all(&dir).expect("scratch");
    let file = dir.join("gelu.deriv");
    std::fs::write(&file, format!("let g = {GELU}\nderive g wrt x\n")).expect("writable");
    for format in ["markdown", "latex", "html", "text"] {
        let page = deriv(&["run", file.to_str().expect("UTF-8 path"), "--format", format]);
        assert!(page.contains(TRIPLED), "{format}: {page}");
        assert!(!page.contains(TRIPLED_AS_FRACTION), "{format}: {page}");
    }
}

#[test]
fn fractions_stay_fractions() {
    // No decimal in the input: fractions throughout.
    assert_eq!(deriv(&["diff", "x^3/6 + x/4", "--wrt", "x"]).trim(), "x^2/2 + 1/4");
    // A value written as a fraction stays one beside decimals, as does one that never ends.
    let src = "1/3*x + 0.3*x^2 + 2/7*x";
    let plain = deriv(&["diff", src, "--wrt", "x"]);
    assert!(plain.contains("0.6*x") && !plain.contains("3/5"), "{plain}");
    assert!(plain.contains("13/21"), "1/3 + 2/7 never ends as a decimal: {plain}");
    let json = deriv(&["diff", src, "--wrt", "x", "--format", "json"]);
    let cert: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let exact = cert["derivations"][0]["result"].as_str().expect("a result");
    let read = |s: &str| deriv::syntax::parse_expr(s.trim()).expect("parses");
    assert_eq!(read(&plain), read(exact));
}
