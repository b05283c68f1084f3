//! Index derivations (`deriv run`): the JSON certificate and the Markdown writeup of every
//! file in `examples/` and `tests/index/` under snapshots, the hand-derived `# expected:`
//! results of `tests/index/`, certificates replayed by the kernel, and a proptest property
//! that compares every goal, instantiated at n = 2..6, with finite differences: for those
//! files at proptest-chosen seeds, and for a generated family of layers and losses.
//!
//! An expectation ending in `weak` is one deriv is known not to reach in textbook form (it
//! must still be the same function); the test insists it still falls short, so the marker
//! is dropped as soon as the engine improves.

#[path = "../src/seeded.rs"]
mod seeded;
#[path = "common/textbook.rs"]
mod textbook;

use deriv::certificate;
use deriv::expr::{Context, Expr, Func};
use deriv::kernel::ring::ring_equal;
use deriv::numeric::{check_derivative, check_equal, CheckOptions};
use deriv::render::writeup::Detail;
use deriv::render::{writeup, WriteupFormat};
use deriv::report::{certificate as to_certificate, check_numerically, derive_document, Report};
use deriv::syntax::{parse_expr_in, parse_file, Document, IndexScope};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use std::cell::Cell;
use std::path::Path;

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

/// What `deriv run FILE --format json` prints.
fn json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&to_certificate(report)).expect("serialises");
    s.push('\n');
    s
}

/// The kernel replays the certificate, through JSON text as `deriv check` reads it.
fn replay(name: &str, report: &Report) -> Result<(), String> {
    let cert = serde_json::from_str(&json(report)).map_err(|e| format!("{name}: {e}"))?;
    let proofs = certificate::check(&cert).map_err(|r| format!("{name}: rejected: {r}"))?;
    let steps = |n: usize| proofs.get(n).map(|p| p.steps().len());
    for (n, g) in report.goals.iter().enumerate() {
        if steps(n) != Some(g.proof.steps().len()) {
            return Err(format!("{name}: goal {} replays other steps", n + 1));
        }
    }
    Ok(())
}

/// Check every goal against finite differences (and dual numbers) at n = 2..6 with the
/// given seed.
fn check_goals(name: &str, report: &Report, seed: u64) -> Result<(), TestCaseError> {
    let opts = CheckOptions { seed, points: 2, ..CheckOptions::default() };
    for g in &report.goals {
        let checks = check_derivative(
            &report.context,
            &g.of,
            &g.wrt,
            &deriv::report::guarded_result(&g.proof),
            &opts,
        )
        .map_err(|e| {
            TestCaseError::fail(format!(
                "{name}: d {} / d {} = {}: {e}",
                g.of,
                g.wrt,
                g.proof.current()
            ))
        })?;
        // n_min..=n_max, moved up as a whole when a concrete index needs a larger n.
        let sizes = |c: &deriv::numeric::CheckSummary| {
            let first = c.n_values.first().copied().unwrap_or(0).max(opts.n_min);
            (first..=first + opts.n_max - opts.n_min).collect::<Vec<i64>>()
        };
        // A file without indices (a chain of scalar definitions) has no sizes to vary.
        let indexed = !report.context.indices.is_empty();
        let sized = |c: &deriv::numeric::CheckSummary| {
            if indexed {
                c.n_values == sizes(c)
            } else {
                c.n_values.is_empty()
            }
        };
        prop_assert!(checks.iter().all(|c| c.points > 0 && sized(c)), "{}: {:?}", name, checks);
    }
    Ok(())
}

/// A deterministic runner for `cases` proptest cases from `seed` (or `PROPTEST_RNG_SEED`).
fn runner(cases: u32, seed: u64) -> TestRunner {
    TestRunner::new(seeded::config_from(cases, seed))
}

/// One `# expected: derive OF wrt VAR -> RESULT [vector: V] [weak]` comment.
struct Expectation {
    goal: String,
    result: String,
    vector: Option<String>,
    weak: bool,
}

fn expectations(src: &str) -> Vec<Expectation> {
    src.lines()
        .filter_map(|l| l.strip_prefix("# expected:"))
        .map(|l| {
            let (goal, rest) = l.split_once("->").expect("`GOAL -> RESULT`");
            let rest = rest.trim();
            let (rest, weak) = match rest.strip_suffix("weak") {
                Some(r) => (r.trim(), true),
                None => (rest, false),
            };
            let (result, vector) = match rest.split_once("vector:") {
                Some((r, v)) => (r.trim(), Some(v.trim().to_string())),
                None => (rest, None),
            };
            Expectation {
                goal: goal.split_whitespace().collect::<Vec<_>>().join(" "),
                result: result.to_string(),
                vector,
                weak,
            }
        })
        .collect()
}

/// Whether a result is in textbook form (see `common/textbook.rs`) with the textbook's
/// vector form, if any.
#[allow(clippy::too_many_arguments)]
fn textbook_form(
    ctx: &Context,
    goal: &Expr,
    goal_of: &Expr,
    goal_wrt: &Expr,
    result: &Expr,
    vector: Option<String>,
    want: &Expr,
    want_vector: Option<&str>,
) -> Result<(), String> {
    let mut terms = vec![goal];
    terms.extend(ctx.definitions.iter().flat_map(|d| [&d.name, &d.body]));
    let ranges: Vec<String> = ctx
        .indices
        .iter()
        .flat_map(|d| [&d.lo, &d.hi])
        .filter_map(|b| b.size().map(str::to_string))
        .collect();
    textbook::textbook_form(&terms, &ranges, result, want)?;
    // Two vector forms agree when their expansions are equal by ring arithmetic.
    let expand = |v: &str| -> Option<Expr> {
        let out = deriv::matrix::output_indices(goal_of, goal_wrt, ctx)?;
        let shapes = deriv::matrix::infer_shapes(&[result], ctx);
        let m = deriv::syntax::parse_matrix(v, &ctx.indices, &shapes).ok()?;
        deriv::matrix::expansion(&m, &out, &shapes, ctx, &result.all_index_names()).ok()
    };
    let same_vector = match (&vector, want_vector) {
        (None, None) => true,
        (Some(v), Some(w)) => matches!(
            (expand(v), expand(w)),
            (Some(v), Some(w)) if ring_equal(&v, &w).unwrap_or(false)
        ),
        _ => false,
    };
    if !same_vector {
        return Err(format!("vector form {vector:?}, not {want_vector:?}"));
    }
    Ok(())
}

fn check_expectations(name: &str, src: &str, doc: &Document, report: &Report) {
    let expected = expectations(src);
    assert_eq!(expected.len(), doc.goals.len(), "{name}: one per goal");
    let ctx = &report.context;
    let scope = IndexScope::Declared(&ctx.indices);
    for (want, g) in expected.iter().zip(&report.goals) {
        let at = format!("{name}: derive {} wrt {}", g.of, g.wrt);
        assert_eq!(want.goal, format!("derive {} wrt {}", g.of, g.wrt), "{name}");
        let result = g.proof.current();
        let w = parse_expr_in(&want.result, scope).unwrap_or_else(|d| panic!("{at}: {d}"));
        // The hand derivation and deriv's result are the same function.
        check_equal(ctx, result, &w, &CheckOptions::default())
            .unwrap_or_else(|e| panic!("{at}: `{result}` is not the textbook `{w}`: {e}"));
        let vector = g.matrix.as_ref().map(|m| deriv::matrix::print(m, Some(ctx)));
        let form =
            textbook_form(ctx, &g.of, &g.of, &g.wrt, result, vector, &w, want.vector.as_deref());
        match (form, want.weak) {
            (Ok(()), false) | (Err(_), true) => {}
            (Err(e), false) => panic!("{at}: `{result}` is not in textbook form: {e}"),
            (Ok(()), true) => panic!("{at}: `{result}` is now in textbook form: drop `weak`"),
        }
    }
}

/// Snapshots, certificates and numeric checks at proptest-chosen seeds of one file.
///
/// A line `# weak: numeric` marks a file whose numeric check in `deriv run` is known to
/// fail, and `# weak: replay` one whose certificate the kernel is known to reject; the
/// test snapshots what deriv prints and insists the failure is still there.
fn file(path: &Path) -> usize {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let weak = |what: &str| src.lines().any(|l| l.trim() == format!("# weak: {what}"));
    let doc = parse_file(&src).unwrap_or_else(|d| panic!("{name}: {d}"));
    let mut report = derive_document(&doc)
        .unwrap_or_else(|f| panic!("{name}: goal {} failed: {}", f.goal + 1, f.error));
    let lines: Vec<usize> = doc.goals.iter().map(|g| g.line).collect();
    let checked = check_numerically(&mut report, &lines);
    // What `deriv run FILE --format json` prints.
    let printed = match &checked {
        Ok(()) => json(&report),
        Err(f) => format!("error: {name}:{}: numeric check failed: {f}\n", f.line),
    };
    insta::assert_snapshot!("certificate_json", printed);
    assert_eq!(checked.is_err(), weak("numeric"), "{name}: {printed}");
    let replayed = replay(&name, &report);
    assert_eq!(replayed.is_err(), weak("replay"), "{name}: {replayed:?}");
    if checked.is_ok() {
        runner(3, 0x1D)
            .run(&any::<u64>(), |seed| check_goals(&name, &report, seed))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    no_noise_in_brief(&name, &writeup(&report, WriteupFormat::Text, Detail::Brief));
    if path.parent().is_some_and(|p| p.ends_with("index")) {
        if checked.is_ok() {
            insta::assert_snapshot!(
                "writeup_md",
                writeup(&report, WriteupFormat::Markdown, Detail::Brief)
            );
        }
        check_expectations(&name, &src, &doc, &report);
    }
    report.goals.len()
}

/// A brief writeup shows no trivialities of the kernel's arithmetic: `·1`, `+ 0`,
/// `x^(2 - 1)`, `0 - …`, `(1 + 0)`.
fn no_noise_in_brief(name: &str, text: &str) {
    let noise = ["·1)", "·1 ", "·1\n", "+ 0)", "+ 0 ", "(0 - ", "(1 + 0)", "= 0 - "];
    // `x^(2 - 1)`, an exponent left unreduced; `(σ(u) - 1)` is no noise.
    let unreduced = |line: &str| {
        line.match_indices("^(").any(|(at, _)| {
            let rest = &line[at + 2..];
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            digits > 0 && rest[digits..].starts_with(" - 1)")
        })
    };
    for line in text.lines().filter(|l| l.trim_start().starts_with('=')) {
        if let Some(n) = noise.iter().find(|n| format!("{line}\n").contains(*n)) {
            panic!("{name}: the brief writeup shows `{n}`: {line}");
        }
        assert!(!unreduced(line), "{name}: the brief writeup shows `^(k - 1)`: {line}");
    }
}

/// The Markdown of `examples/` is already under snapshot in `tests/writeup_snapshots.rs`.
#[test]
fn every_example_file() {
    let mut goals = 0;
    settings().bind(|| insta::glob!("../examples", "*.deriv", |p| goals += file(p)));
    assert!(goals >= 6, "{goals} goals in examples/");
}

#[test]
fn every_index_file() {
    let mut goals = 0;
    settings().bind(|| insta::glob!("index/*.deriv", |p| goals += file(p)));
    assert!(goals >= 30, "{goals} goals in tests/index/");
}

/// A generated derivation: a layer `h_i = act(z_i)` on `z_i = sum_k(W_{i,k}*x_k) [+ b_i]`,
/// optionally over a temperature, then a loss `l`, and goals for `h_i` and `l`.
#[derive(Clone, Debug)]
struct Net {
    bias: bool,
    temperature: bool,
    /// Whether `z_i` is a definition of its own or written inside `h_i`.
    named_z: bool,
    act: Option<Func>,
    loss: Loss,
    wrt: &'static str,
}

#[derive(Clone, Copy, Debug)]
enum Loss {
    Squared,
    SoftmaxCrossEntropy,
    LogSumExp,
    Norm,
    SquaredSum,
    Dot,
}

impl Net {
    fn source(&self) -> String {
        let mut s = String::from("index i, j, k, m, p, q in 1..n\n");
        let mut z = String::from("sum_k(W_{i,k}*x_k)");
        if self.bias {
            z.push_str(" + b_i");
        }
        if self.named_z {
            s.push_str(&format!("let z_i = {z}\n"));
            z = "z_i".into();
        }
        if self.temperature {
            z = format!("({z})/T");
        }
        let h = match self.act {
            Some(f) => format!("{}({z})", f.name()),
            None => z,
        };
        s.push_str(&format!("let h_i = {h}\n"));
        s.push_str(match self.loss {
            Loss::Squared => "let l = sum_i((h_i - t_i)^2)/2\n",
            Loss::SoftmaxCrossEntropy => {
                "let a_i = exp(h_i)/sum_m(exp(h_m))\nlet l = -sum_i(y_i*log(a_i))\nassume sum_i(y_i) = 1\n"
            }
            Loss::LogSumExp => "let l = log(sum_i(exp(h_i)))\n",
            Loss::Norm => "let l = sqrt(sum_i(h_i^2))\n",
            Loss::SquaredSum => "let l = sum_i(h_i)^2\n",
            Loss::Dot => "let l = (sum_i(v_i*h_i) - t)^2\n",
        });
        let x = self.wrt;
        s.push_str(&format!("derive h_i wrt {x}\nderive l wrt {x}\n"));
        s
    }
}

fn net() -> impl Strategy<Value = Net> {
    let act = prop_oneof![
        Just(None),
        Just(Some(Func::Sigmoid)),
        Just(Some(Func::Tanh)),
        Just(Some(Func::Softplus)),
    ];
    let loss = prop_oneof![
        Just(Loss::Squared),
        Just(Loss::SoftmaxCrossEntropy),
        Just(Loss::LogSumExp),
        Just(Loss::Norm),
        Just(Loss::SquaredSum),
        Just(Loss::Dot),
    ];
    (any::<[bool; 3]>(), act, loss, any::<prop::sample::Index>()).prop_map(
        |([bias, temperature, named_z], act, loss, pick)| {
            let mut wrt = vec!["x_j", "W_{p,q}"];
            if bias {
                wrt.push("b_j");
            }
            if temperature {
                wrt.push("T");
            }
            Net { bias, temperature, named_z, act, loss, wrt: wrt[pick.index(wrt.len())] }
        },
    )
}

#[test]
fn generated_index_derivations_match_finite_differences() {
    let goals = Cell::new(0);
    runner(24, 0x1DE5)
        .run(&(net(), any::<u64>()), |(net, seed)| {
            let src = net.source();
            let doc = parse_file(&src).map_err(|d| TestCaseError::fail(format!("{src}{d}")))?;
            // The engine and kernel only: `check_goals` is the numeric check here.
            let report = derive_document(&doc)
                .map_err(|e| TestCaseError::fail(format!("{src}{}", e.error)))?;
            replay(&src, &report).map_err(TestCaseError::fail)?;
            check_goals(&src, &report, seed)?;
            goals.set(goals.get() + report.goals.len());
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(goals.get() >= 48, "only {} generated goals", goals.get());
}
