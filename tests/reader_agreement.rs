//! The kernel's reader (`kernel::read`) and the user-facing parser agree: on random
//! parser-shaped terms as the plain printer writes them, on those texts randomly damaged
//! (both accept the same term or both refuse), on edge shapes one per line, on every term
//! of the examples' certificates; terms up to `MAX_DEPTH` deep read back exactly, deeper
//! ones and bad input are an error, never a panic.

#[path = "common/gen.rs"]
mod gen;
#[path = "common/stack.rs"]
mod stack;

#[path = "../src/seeded.rs"]
mod seeded;

use deriv::expr::{Bound, Expr, Func, IndexDecl, MAX_DEPTH};
use deriv::kernel::read::{read_bound_strict, read_index_strict, read_term, read_variable};
use deriv::render::plain::print;
use deriv::syntax::{parse_expr, parse_expr_in, parse_file, parse_variable, IndexScope};
use deriv::terms::ExprExt;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use stack::on_roomy_stack;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The generator's bare sums run over 1..n, as `parse_expr` takes them.
fn generator_decls() -> Vec<IndexDecl> {
    vec![IndexDecl {
        names: ["i", "j", "k", "m1"].map(String::from).to_vec(),
        lo: Bound::Int(1),
        hi: Bound::Sym("n".into(), 0),
    }]
}

proptest! {
    #![proptest_config(seeded::config(3000))]

    #[test]
    fn the_reader_reads_what_the_parser_reads(e in gen::expr()) {
        let text = print(&e);
        let read = read_term(&text, &generator_decls()).map_err(|m| TestCaseError::fail(format!("{text}: {m}")))?;
        prop_assert_eq!(&read, &e, "{}", text);
        let parsed = parse_expr(&text).map_err(|d| TestCaseError::fail(format!("{text}: {d}")))?;
        prop_assert_eq!(&read, &parsed, "{}", text);
    }
}

/// Pieces of the syntax that edits insert: each can turn a term into another or into
/// nonsense.
const PIECES: &[&str] = &[
    " ",
    "-",
    "+",
    "*",
    "/",
    "^",
    "(",
    ")",
    "{",
    "}",
    "_",
    ",",
    "=",
    ".",
    "0",
    "7",
    "k",
    "x",
    "exp",
    "sum_",
    "sum_{k=1}^{n}(",
    "D",
    "delta",
    "D(",
    "delta(",
    "1/",
    "--",
    "_{",
    "m1",
];

/// Damaged texts: if either side accepts, both accept, with the same term. Both are given
/// the generator's declarations, the parser as it reads certificates.
#[test]
fn damaged_texts_are_read_alike_or_refused_alike() {
    let edits = prop::collection::vec(
        (any::<prop::sample::Index>(), 0..3u8, prop::sample::select(PIECES)),
        1..4,
    );
    let (accepted, total) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(seeded::config(3000));
    let outcome = runner.run(&(gen::expr(), edits), |(e, edits)| {
        let mut text = print(&e);
        for (at, kind, piece) in edits {
            let at = at.index(text.len() + 1);
            if !text.is_char_boundary(at)
                || !text.is_char_boundary((at + piece.len()).min(text.len()))
            {
                continue;
            }
            match kind {
                0 => text.insert_str(at, piece),
                1 => drop(text.drain(at..(at + 1).min(text.len()))),
                _ => text.replace_range(at..(at + piece.len()).min(text.len()), piece),
            }
        }
        let decls = generator_decls();
        let read = read_term(&text, &decls);
        let parsed = parse_expr_in(&text, IndexScope::Certificate(&decls));
        total.fetch_add(1, Ordering::Relaxed);
        match (&read, &parsed) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a, b, "`{}`", text);
                accepted.fetch_add(1, Ordering::Relaxed);
            }
            (Err(_), Err(_)) => {}
            _ => prop_assert!(
                false,
                "`{}`: reader {:?}, parser {:?}",
                text,
                read,
                parsed.map_err(|d| d.to_string())
            ),
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let (accepted, total) = (accepted.into_inner(), total.into_inner());
    assert!(accepted * 10 >= total, "only {accepted} of {total} damaged texts were terms");
}

/// Shapes where precedence, signs, numbers and spacing are easy to get wrong.
const EDGES: &[&str] = &[
    ".5*x",
    "+x - +y",
    "a*+b^+2",
    "-+-x",
    "-3",
    "-x^2",
    "2^-1",
    "a - -b",
    "--x",
    "---3",
    "0.044715",
    "1.50",
    "007",
    "1/3",
    "-1/3",
    "x/y/z",
    "a*b/c*d",
    "a/b*c/d",
    "2^3^2",
    "-(x + 1)^2",
    "(-3)^x",
    "x^(-1/3)",
    "x^-x^-2",
    "sum_{k=1}^{n}(x_k)",
    "sum_{k=2}^{1}(-1)",
    "sum_{k=1}^n(x_k*delta(k,j))",
    "sum_{k=1}^{3}(sum_{m=1}^{n}(y_m*z_k))",
    "sum_{k=1}^{n}(sum_{k=1}^{n}(x_k))",
    "delta(1,2)",
    "delta(i, 3)",
    "D(D(f, x), y)",
    "D(x_i, x_i)",
    "W_{i,j}*x_j",
    "x_007",
    "exp(-x)/(1 + exp(-x))",
    "x^(1/2)",
    "sigmoid(x)*(1 - sigmoid(x))",
    "x_3 - 2.5",
    "((x))",
    "-(-(x))",
    "a^-b^c",
    "3*-x",
    "sumx + expx + D1 + deltas",
    "x_exp",
    "sum_{k=1}^{n}(x_sum)",
    " x ",
    "exp (x)",
    "D ( f , x )",
    "delta( i , j )",
    "x_{ i , j }",
    "sum_{ k = 1 }^{ n }(x_k)",
    "sum_{k=1} ^ n (x_k)",
    "\tx\t*\ty",
];

#[test]
fn edge_shapes_read_alike() {
    for text in EDGES {
        let parsed = parse_expr(text).unwrap_or_else(|d| panic!("{text}: {d}"));
        let read = read_term(text, &[]).unwrap_or_else(|m| panic!("{text}: {m}"));
        assert_eq!(read, parsed, "{text}");
    }
}

/// Texts the parser refuses; the reader refuses them too.
const REFUSED: &[&str] = &[
    "",
    " ",
    "x +",
    "(x",
    "x)",
    "x y",
    "2x",
    "1.",
    ".",
    "+",
    "x*+",
    "1.2.3",
    "x\n",
    "sum_{k=1}^{n}x",
    "delta(i)",
    "delta(i, j + 1)",
    "D(x)",
    "D(f, 2)",
    "D(f, x + y)",
    "exp x",
    "exp",
    "exp_i",
    "x_",
    "x_{i,",
    "x_{}",
    "x_ i",
    "x _i",
    "sum",
    "sum_",
    "sum_ k(x)",
    "sum_ {k}(x)",
    "D_i",
    "delta_i",
    "sum_{1=1}^{n}(x)",
    "sum_{exp=1}^{n}(x)",
    "sum_{k=1}^{1n}(x)",
    "sum_{k=1}(x)",
    "sum_{k=1}^{99999999999999999999}(x)",
    "x_99999999999999999999",
    "x_1a",
    "D(f, exp)",
    "D(f, sum)",
    "@",
    "x^",
    "*x",
    "x**y",
    "é",
];

#[test]
fn what_the_parser_refuses_the_reader_refuses() {
    for text in REFUSED {
        assert!(parse_expr(text).is_err(), "the parser reads `{text}`");
        assert!(read_term(text, &[]).is_err(), "the reader reads `{text}`");
    }
    for text in ["exp", "sum", "D", "delta", "x_", "1x", "x + y", ""] {
        assert!(parse_variable(text, IndexScope::Any).is_err(), "{text}");
        assert!(read_variable(text).is_err(), "{text}");
    }
    for text in ["x", " z_i ", "W_{i,j}", "D1", "x_exp"] {
        assert_eq!(read_variable(text).ok(), parse_variable(text, IndexScope::Any).ok(), "{text}");
    }
    assert_eq!(read_index_strict(" 3 "), Ok(deriv::expr::Index::Int(3)));
    assert_eq!(read_bound_strict("n"), Ok(Bound::Sym("n".into(), 0)));
    for bad in ["-1", "1n", "", "k l", "99999999999999999999"] {
        assert!(read_index_strict(bad).is_err() && read_bound_strict(bad).is_err(), "{bad}");
    }
}

/// Every term a certificate of the examples and `tests/index` states, read both ways.
#[test]
fn certificate_terms_read_alike() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut files, mut terms_read) = (0, 0);
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
            let context = cert.context.definitions.iter().map(|d| &d.body);
            let context =
                context.chain(cert.context.assumptions.iter().flat_map(|a| [&a.lhs, &a.rhs]));
            let mut terms: Vec<&String> = context.collect();
            for d in &cert.derivations {
                let steps = d.steps.iter().chain(d.cases.iter().flat_map(|c| &c.steps));
                for s in steps {
                    terms.extend([&s.before, &s.after]);
                    terms.extend(&s.replacement);
                    terms.extend(s.substitution.terms.values());
                }
                terms.extend([&d.of, &d.result]);
                terms.extend(d.cases.iter().map(|c| &c.result));
                let wrt = parse_variable(&d.wrt, IndexScope::Certificate(&decls)).expect("parses");
                assert_eq!(read_variable(&d.wrt), Ok(wrt), "{path:?}: {}", d.wrt);
            }
            for d in &cert.context.definitions {
                let name =
                    parse_variable(&d.name, IndexScope::Certificate(&decls)).expect("parses");
                assert_eq!(read_variable(&d.name), Ok(name), "{path:?}: {}", d.name);
            }
            for t in terms {
                let parsed = parse_expr_in(t, IndexScope::Certificate(&decls))
                    .unwrap_or_else(|e| panic!("{path:?}: {t}: {e}"));
                let read = read_term(t, &decls).unwrap_or_else(|m| panic!("{path:?}: {t}: {m}"));
                assert_eq!(read, parsed, "{path:?}: {t}");
                terms_read += 1;
            }
            files += 1;
        }
    }
    assert!(files >= 20, "read the certificates of {files} files");
    assert!(terms_read >= 1000, "read {terms_read} terms");
}

/// A shape's name and its tower of `n` levels of wrapping around a leaf.
type Tower = (&'static str, fn(usize) -> Expr);

fn towers() -> Vec<Tower> {
    fn x() -> Expr {
        Expr::sym("x")
    }
    fn tower(n: usize, leaf: Expr, wrap: impl Fn(Expr) -> Expr) -> Expr {
        (0..n).fold(leaf, |e, _| wrap(e))
    }
    vec![
        ("calls", |n| tower(n, x(), |e| Expr::call(Func::Sin, e))),
        ("powers to the right", |n| tower(n, x(), |e| Expr::pow(x(), e))),
        ("powers to the left", |n| tower(n, x(), |e| Expr::pow(e, x()))),
        ("exponents -1/3", |n| tower(n, Expr::rat(-1, 3), |e| Expr::pow(x(), e))),
        ("bases -3", |n| tower(n, Expr::int(-3), |e| Expr::pow(e, x()))),
        ("divisions to the left", |n| tower(n, x(), |e| Expr::div(e, x()))),
        ("divisions to the right", |n| tower(n, x(), |e| Expr::div(x(), e))),
        ("negations", |n| tower(n, x(), Expr::neg)),
        ("differences", |n| tower(n, x(), |e| Expr::Add(vec![x(), Expr::neg(e)].into()))),
        ("products", |n| tower(n, x(), |e| Expr::Mul(vec![x(), e].into()))),
        ("sums", |n| {
            tower(n, Expr::idx("x", &["k"]), |e| {
                deriv::expr::Sum::written(
                    "k".into(),
                    Bound::Int(1),
                    Bound::Sym("n".into(), 0),
                    true,
                    e,
                )
            })
        }),
        ("derivatives", |n| tower(n, x(), |e| Expr::d(e, x()))),
    ]
}

/// The kernel accepts terms up to `MAX_DEPTH` deep, so the reader must read every one of
/// them back, and refuses one level more.
#[test]
fn terms_up_to_the_depth_bound_read_back() {
    on_roomy_stack(|| {
        for (shape, tower) in towers() {
            let mut n = 0;
            while tower(n + 1).depth() <= MAX_DEPTH {
                n += 1;
            }
            let (deepest, deeper) = (tower(n), tower(n + 1));
            assert!(deepest.depth() >= MAX_DEPTH - 1, "{shape}");
            assert_eq!(read_term(&print(&deepest), &[]).as_ref(), Ok(&deepest), "{shape}");
            assert!(read_term(&print(&deeper), &[]).is_err(), "{shape}");
        }
    });
}

/// A goal the parser accepts, 120 calls around a tower of 250 powers: its certificate was
/// refused (`cannot read \`of\``) while the reader counted two levels a call.
#[test]
fn a_deep_goal_reads_as_the_parser_reads_it() {
    on_roomy_stack(|| {
        let text = format!("{}x{}{}", "sin(".repeat(120), "^y".repeat(250), ")".repeat(120));
        let parsed = parse_expr(&text).expect("the parser reads it");
        assert_eq!(read_term(&text, &[]), Ok(parsed));
    });
}

#[test]
fn bad_and_deep_input_is_an_error() {
    on_roomy_stack(bad_and_deep);
}

fn bad_and_deep() {
    let deep_sin = format!("{}x{}", "sin(".repeat(5000), ")".repeat(5000));
    let deep_paren = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
    let long_number = "9".repeat(1001);
    let long_decimal = format!("0.{}", "9".repeat(999));
    let minuses = format!("{}x", "-".repeat(100_000));
    let minuses_on_a_number = format!("{}3", "-".repeat(MAX_DEPTH + 1));
    let divisions = format!("x{}", "/x".repeat(100_000));
    let powers = format!("x{}", "^x".repeat(100_000));
    let alternating = format!("x{}", "*x/x".repeat(100_000));
    // Each bracket's chain nests its first factor deeper: 300 levels of 300 divisions.
    let nested_chains =
        format!("{}x{}", "(".repeat(300), format!("{})", "/x".repeat(300)).repeat(300));
    for bad in [
        &deep_sin,
        &deep_paren,
        &long_number,
        &long_decimal,
        &minuses,
        &minuses_on_a_number,
        &divisions,
        &powers,
        &alternating,
        &nested_chains,
    ] {
        assert!(read_term(bad, &[]).is_err(), "{:.40}", bad);
    }
    assert!(read_term(&"9".repeat(1000), &[]).is_ok());
    // Long flat chains are not deep.
    assert!(read_term(&format!("x{}", "+x*x".repeat(100_000)), &[]).is_ok());
}
