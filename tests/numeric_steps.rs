//! The per-step numeric checker catches a wrong step. The kernel never accepts one, so the
//! seed's real, kernel-checked steps are taken apart and one step's right side replaced by
//! a wrong term, bypassing the kernel; the checker must name that step and its rule, and the
//! command line must turn the failure into exit status 1 naming the step.

use deriv::expr::Expr;
use deriv::report::{check_steps, derive_document, CheckFailure, StepFailure};
use deriv::syntax::{parse_expr, parse_file};

const SEED: &str = include_str!("../examples/softmax_ce.deriv");

/// A step taken apart: before, after, rule.
type Step = (Expr, Expr, String);

/// The seed's kernel-checked steps, goal by goal.
fn seed_steps() -> (deriv::report::Report, Vec<Vec<Step>>) {
    let doc = parse_file(SEED).expect("the seed parses");
    let report = derive_document(&doc).expect("the seed derives");
    let steps = report
        .goals
        .iter()
        .map(|g| {
            g.proof
                .steps()
                .iter()
                .map(|s| (s.before.clone(), s.after.clone(), s.step.rule.clone()))
                .collect()
        })
        .collect();
    (report, steps)
}

fn check(
    report: &deriv::report::Report,
    steps: &[Step],
) -> Result<deriv::numeric::CheckSummary, StepFailure> {
    let borrowed: Vec<(&Expr, &Expr, &str)> =
        steps.iter().map(|(b, a, r)| (b, a, r.as_str())).collect();
    check_steps(&report.context, &borrowed)
}

fn term(s: &str) -> Expr {
    parse_expr(s).expect("the term parses")
}

#[test]
fn the_real_steps_pass_at_the_required_points() {
    let (report, goals) = seed_steps();
    for steps in &goals {
        let summary = check(&report, steps).expect("every real step holds");
        // 2 points for each n in 2..=6: at least 8 points per step.
        assert_eq!(summary.points, 10 * steps.len());
        assert_eq!(summary.n_values, vec![2, 3, 4, 5, 6]);
        assert!(summary.max_rel_error <= deriv::numeric::REL_TOLERANCE);
    }
}

#[test]
fn a_wrong_last_step_is_named_with_its_rule() {
    let (report, mut goals) = seed_steps();
    let steps = &mut goals[0];
    let last = steps.len() - 1;
    assert_eq!(steps[last].1, term("a_i*(delta(i,j) - a_j)"));
    steps[last].1 = term("a_i*(delta(i,j) + a_j)");
    let failure = check(&report, steps).expect_err("the wrong step is caught");
    assert_eq!(failure.step, last + 1);
    assert_eq!(failure.rule, steps[last].2);
    assert_eq!(failure.rule, "fold-definition");
    assert!(failure.error.contains("differ"), "{failure}");
    let shown = failure.to_string();
    assert!(shown.starts_with(&format!("step {} (fold-definition): ", last + 1)), "{shown}");
}

#[test]
fn a_wrong_middle_step_is_named_and_the_steps_after_it_still_count() {
    let (report, mut goals) = seed_steps();
    let steps = &mut goals[1];
    // The step that uses the hypothesis sum_i(y_i) = 1: claim it gives 2 instead.
    let k =
        steps.iter().position(|s| s.2 == "use-hypothesis").expect("the seed uses its hypothesis");
    let wrong = term("-(y_j - exp(z_j)/sum_k(exp(z_k))*2)");
    assert_ne!(steps[k].1, wrong);
    steps[k].1 = wrong;
    let failure = check(&report, steps).expect_err("the wrong step is caught");
    assert_eq!((failure.step, failure.rule.as_str()), (k + 1, "use-hypothesis"));
    // Only that step is wrong: the steps before it and after it pass on their own.
    let mut rest = steps.clone();
    rest.remove(k);
    assert!(check(&report, &rest).is_ok());
}

#[test]
fn a_numeric_failure_exits_with_status_1_naming_the_goal_step_and_rule() {
    let (report, mut goals) = seed_steps();
    let steps = &mut goals[0];
    let last = steps.len() - 1;
    steps[last].1 = term("a_i*(delta(i,j) + a_j)");
    let failure = check(&report, steps).expect_err("the wrong step is caught");
    // What `deriv run` does with a failure of the first goal, on the line that declares it.
    let line = SEED.lines().position(|l| l.starts_with("derive a_i")).map_or(0, |p| p + 1);
    let cli = deriv::cli::numeric_failure(
        "examples/softmax_ce.deriv",
        &CheckFailure::at_step(0, line, failure),
    );
    assert_eq!(cli.status(), 1);
    let want = format!(
        "error: examples/softmax_ce.deriv:{line}: numeric check failed: goal 1, step {} (fold-definition): ",
        last + 1
    );
    assert!(cli.message().starts_with(&want), "{}", cli.message());
}
