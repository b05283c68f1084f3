//! The kernel's reader (`kernel::read`) and the user-facing parser agree: on random
//! parser-shaped terms as the plain printer writes them, on edge shapes one per line, on
//! every term of the examples' certificates; and bad or deep input is an error, never a
//! panic.

#[path = "common/gen.rs"]
mod gen;

#[path = "../src/seeded.rs"]
mod seeded;

use deriv::expr::IndexDecl;
use deriv::kernel::read::read_term;
use deriv::render::plain::print;
use deriv::syntax::{parse_expr, parse_expr_in, parse_file, IndexScope};
use proptest::prelude::*;

proptest! {
    #![proptest_config(seeded::config(3000))]

    #[test]
    fn the_reader_reads_what_the_parser_reads(e in gen::expr()) {
        let text = print(&e);
        // The generator's bare sums run over 1..n, as `parse_expr` takes them.
        let decls = [IndexDecl {
            names: ["i", "j", "k", "m1"].map(String::from).to_vec(),
            lo: deriv::expr::Bound::Int(1),
            hi: deriv::expr::Bound::Sym("n".into()),
        }];
        let read = read_term(&text, &decls).map_err(|m| TestCaseError::fail(format!("{text}: {m}")))?;
        prop_assert_eq!(&read, &e, "{}", text);
    }
}

/// Shapes where precedence, signs and numbers are easy to get wrong.
const EDGES: &[&str] = &[
    "-3",
    "-x^2",
    "2^-1",
    "a - -b",
    "--x",
    "0.044715",
    "1/3",
    "x/y/z",
    "a*b/c*d",
    "2^3^2",
    "-(x + 1)^2",
    "sum_{k=1}^{n}(x_k)",
    "sum_{k=2}^{1}(-1)",
    "sum_{k=1}^n(x_k*delta(k,j))",
    "delta(1,2)",
    "D(D(f, x), y)",
    "W_{i,j}*x_j",
    "exp(-x)/(1 + exp(-x))",
    "x^(1/2)",
    "sigmoid(x)*(1 - sigmoid(x))",
    "sum_{k=1}^{3}(sum_{m=1}^{n}(y_m*z_k))",
    "x_3 - 2.5",
    "((x))",
    "-(-(x))",
    "a^-b^c",
    "3*-x",
];

#[test]
fn edge_shapes_read_alike() {
    for text in EDGES {
        let parsed = parse_expr(text).unwrap_or_else(|d| panic!("{text}: {d}"));
        let read = read_term(text, &[]).unwrap_or_else(|m| panic!("{text}: {m}"));
        assert_eq!(read, parsed, "{text}");
    }
}

/// Every term a certificate of the examples and `tests/index` states, read both ways.
#[test]
fn certificate_terms_read_alike() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = 0;
    for dir in ["examples", "tests/index"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("the folder exists") {
            let path = entry.expect("an entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("deriv") {
                continue;
            }
            let src = std::fs::read_to_string(&path).expect("readable");
            let doc = parse_file(&src).expect("parses");
            let Ok(report) = deriv::report::derive_document(&doc) else {
                continue;
            };
            let cert = deriv::report::certificate(&report);
            let decls: Vec<IndexDecl> = doc.context.indices.clone();
            for d in &cert.derivations {
                let steps = d.steps.iter().chain(d.cases.iter().flat_map(|c| &c.steps));
                let terms = steps.flat_map(|s| {
                    [Some(&s.before), Some(&s.after), s.replacement.as_ref()]
                        .into_iter()
                        .flatten()
                        .chain(s.substitution.terms.values())
                });
                for t in terms.chain([&d.of, &d.result]) {
                    let parsed = parse_expr_in(t, IndexScope::Certificate(&decls))
                        .unwrap_or_else(|e| panic!("{path:?}: {t}: {e}"));
                    let read =
                        read_term(t, &decls).unwrap_or_else(|m| panic!("{path:?}: {t}: {m}"));
                    assert_eq!(read, parsed, "{path:?}: {t}");
                }
            }
            files += 1;
        }
    }
    assert!(files >= 20, "read the certificates of {files} files");
}

/// Deep input is read on a roomy stack, as `deriv check` reads certificates; the bound
/// on nesting keeps even that finite.
#[test]
fn bad_and_deep_input_is_an_error() {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(bad_and_deep)
        .expect("a thread")
        .join()
        .expect("no panic");
}

fn bad_and_deep() {
    let deep_sin = format!("{}x{}", "sin(".repeat(5000), ")".repeat(5000));
    let deep_paren = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
    let long_number = "9".repeat(5000);
    let minuses = format!("{}x", "-".repeat(100_000));
    for bad in [
        "",
        "x +",
        "(x",
        "x)",
        "sum_k(x)",
        "sum_{k=1}^{n}x",
        "delta(i)",
        "D(x)",
        "exp x",
        "2x",
        "x_",
        "x_{i,",
        "sum",
        "@",
        &deep_sin,
        &deep_paren,
        &long_number,
        &minuses,
    ] {
        assert!(read_term(bad, &[]).is_err(), "{:.40}", bad);
    }
}
