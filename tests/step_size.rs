//! Every algebra step of every derivation in `examples/`, `tests/index/` and `tests/matrix/`
//! is human-sized: none changes more than `LIMIT` nodes of the subterm it rewrites
//! (`terms::edit_size`), so a step that jumps over several ideas at once fails here,
//! naming itself. Other rules' results are fixed by their instances and are not measured.

use deriv::render::moves::name_move;
use deriv::report::derive_and_check;
use deriv::rules::{id_of, RuleId};
use deriv::syntax::parse_file;
use deriv::terms::edit_size;
use deriv::terms::ExprExt;
use std::path::Path;

/// The most nodes one algebra step may change: a move rewrites a few nodes around the terms
/// it moves, while writing out a whole new form at once is well past it.
const LIMIT: usize = deriv::engine::ONE_MOVE;

/// Steps known to be past the limit, by file and goal, with how many: none since the engine
/// bridges a step no textbook move spans by a chain of smaller ones (`engine/bridge.rs`).
/// The list may only shrink: a goal with fewer outliers than listed fails too, so that it
/// is taken off.
const KNOWN: [(&str, usize, usize); 0] = [];

fn files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["examples", "tests/index", "tests/matrix"] {
        for e in std::fs::read_dir(root.join(dir)).expect("the folder exists") {
            let p = e.expect("an entry").path();
            if p.extension().is_some_and(|x| x == "deriv") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() > 30, "expected the example and test derivations");
    out
}

#[test]
fn no_step_changes_more_than_one_idea() {
    let mut found: std::collections::BTreeMap<(String, usize), Vec<String>> = Default::default();
    let mut sizes = Vec::new();
    for path in files() {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&path).expect("readable");
        let doc = parse_file(&src).expect("the file parses");
        let report = derive_and_check(&doc).expect("the file derives");
        for (g, goal) in report.goals.iter().enumerate() {
            // A case goes on from the goal's steps: each step is measured once.
            let cases = goal.jacobian.iter().flat_map(|j| [&j.same.proof, &j.distinct.proof]);
            let shared = |k: usize| if k == 0 { 0 } else { goal.proof.steps().len() };
            for (k, proof) in std::iter::once(&goal.proof).chain(cases).enumerate() {
                for (n, s) in proof.steps().iter().enumerate().skip(shared(k)) {
                    // The splice may reshape the node above (`-(1)` is the number `-1`).
                    let p = &s.step.position;
                    let depth = (0..=p.len()).rev().find(|&l| s.after.at(&p[..l]).is_some());
                    let p = &p[..depth.expect("the root is in every term")];
                    let (Some(before), Some(after)) = (s.before.at(p), s.after.at(p)) else {
                        panic!("a step's position is in the term before it");
                    };
                    if id_of(&s.step) != Some(RuleId::RingNormalize) {
                        continue;
                    }
                    let size = edit_size(before, after);
                    sizes.push(size);
                    if size > LIMIT {
                        let what = format!("{:?}", name_move(before, after));
                        found.entry((file.clone(), g + 1)).or_default().push(format!(
                            "{file} goal {} step {} ({what}): {size} nodes changed, `{before}` to `{after}`",
                            g + 1,
                            n + 1,
                        ));
                    }
                }
            }
        }
    }
    sizes.sort_unstable();
    let at = |q: f64| sizes[((sizes.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{} algebra steps; nodes changed per step: median {}, 90% {}, 99% {}, most {}",
        sizes.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        sizes.last().unwrap()
    );
    let known = |file: &str, goal: usize| {
        KNOWN.iter().find(|k| k.0 == file && k.1 == goal).map_or(0, |k| k.2)
    };
    let mut outliers = Vec::new();
    for ((file, goal), steps) in &found {
        if steps.len() > known(file, *goal) {
            outliers.extend(steps.iter().cloned());
        }
    }
    for (file, goal, n) in KNOWN {
        let now = found.get(&(file.to_string(), goal)).map_or(0, Vec::len);
        if now < n {
            outliers.push(format!(
                "{file} goal {goal}: {now} steps past the limit, not {n}: update KNOWN"
            ));
        }
    }
    assert!(outliers.is_empty(), "steps past {LIMIT} nodes changed:\n{}", outliers.join("\n"));
}

#[test]
fn the_measure_counts_changed_nodes_both_ways() {
    let p = |s: &str| deriv::syntax::parse_expr(s).expect("parses");
    // Reordering a product rebuilds its node only.
    assert_eq!(edit_size(&p("x*y*z"), &p("z*y*x")), 2);
    // Expanding writes a sum of two products (4 nodes) and drops the product, its sum and
    // the `-d` in it (3).
    assert_eq!(edit_size(&p("y*(a - d)"), &p("a*y - y*d")), 4 + 3);
    assert_eq!(edit_size(&p("x"), &p("x")), 0);
}
