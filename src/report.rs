//! A checked document: every goal's kernel-checked proof and its numeric cross-checks.
//! This is what the renderers print; nothing in it bypassed the kernel.

use crate::engine::{self, EngineError};
use crate::expr::{Context, Expr};
use crate::kernel::{Lemma, Proof};
use crate::numeric;
use crate::syntax::Document;
use crate::terms::ExprExt;
use std::sync::Arc;

/// Numeric evidence about one derivation, as JSON for certificates and a sentence for writeups.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    pub json: serde_json::Value,
    /// "every step checked numerically (120 points, n = 2..6, …); …"
    pub summary: String,
}

/// One derived goal.
#[derive(Clone, Debug)]
pub struct Derived {
    pub of: Expr,
    pub wrt: Expr,
    pub proof: Proof,
    /// The cases `i = j` and `i ≠ j` of a Jacobian's result, each going on from `proof`.
    pub jacobian: Option<engine::cases::Jacobian>,
    /// The result in matrix form, where the proof ends at its expansion.
    pub matrix: Option<crate::matrix::M>,
    /// The shapes the matrix form was read with.
    pub matrix_shapes: crate::matrix::Shapes,
    /// The result before any steps toward the matrix form, and how many steps led to it.
    pub components: Expr,
    pub matrix_from: usize,
    /// What the goal says in matrix notation.
    pub form: crate::matrix::GoalForm,
    pub checks: Checks,
}

impl Derived {
    /// The goal as the Rust emitter takes it, computed from its matrix form when it has one
    /// and `from_form` is set, else from its components.
    pub fn rust_goal(&self, from_form: bool) -> numeric::RustGoal<'_> {
        numeric::RustGoal {
            of: &self.of,
            wrt: &self.wrt,
            result: self.proof.current(),
            matrix: self.matrix.as_ref().filter(|_| from_form).map(|m| (m, &self.matrix_shapes)),
        }
    }
}

/// Every goal of a document, derived and checked.
#[derive(Clone, Debug)]
pub struct Report {
    pub title: Option<String>,
    /// How the input writes its numbers, for the writeups (see `render::decimals`).
    pub numbers: Option<crate::syntax::NumberStyle>,
    pub context: Arc<Context>,
    pub goals: Vec<Derived>,
}

/// Why a goal could not be derived: which goal, and the engine's reason.
#[derive(Clone, Debug)]
pub struct GoalFailure {
    pub goal: usize,
    pub line: usize,
    pub error: EngineError,
}

/// Derive every goal of `doc` with the engine; each proof is kernel-checked by construction.
pub fn derive_document(doc: &Document) -> Result<Report, GoalFailure> {
    let context = Arc::new(doc.context.clone());
    let goals = each_goal(doc, &context, |_, _| ())?.into_iter().map(|(g, _)| g).collect();
    Ok(Report { title: doc.title.clone(), numbers: doc.numbers.clone(), context, goals })
}

/// Derive every goal and run `then` on it (on the goal's thread): the goals that no earlier
/// goal's result could serve in parallel, then the others in order, each with the results
/// of all the goals before it as lemmas. The outcome is the sequential one: the first
/// goal the engine cannot derive stops it.
fn each_goal<T: Send>(
    doc: &Document,
    context: &Arc<Context>,
    then: impl Fn(usize, &mut Derived) -> T + Sync,
) -> Result<Vec<(Derived, T)>, GoalFailure> {
    let independent: Vec<bool> = (0..doc.goals.len()).map(|i| !may_reuse(doc, i)).collect();
    let first = crate::parallel::in_parallel(doc.goals.len(), |i| {
        let derived = independent[i].then(|| derive_goal(context, doc, i, &[]));
        derived.map(|d| d.map(|mut d| (then(i, &mut d), d)))
    });
    let mut out: Vec<(Derived, T)> = Vec::new();
    // Goal n's lemma is number n, made once, when a dependent goal first needs it.
    let mut lemmas: Vec<Lemma> = Vec::new();
    for (i, done) in first.into_iter().enumerate() {
        let (t, d) = match done {
            Some(done) => done?,
            None => {
                lemmas.extend(out[lemmas.len()..].iter().map(|(g, _)| g.proof.lemma()));
                let mut d = derive_goal(context, doc, i, &lemmas)?;
                (then(i, &mut d), d)
            }
        };
        out.push((d, t));
    }
    Ok(out)
}

/// Whether an earlier goal's result could be used by goal `i`: the earlier goal
/// differentiates a name that goal `i` reaches.
fn may_reuse(doc: &Document, i: usize) -> bool {
    let target = &doc.goals[i].of;
    let earlier = doc.goals[..i].iter().filter_map(|g| g.of.variable_name());
    // A derivative inside the goal (a second derivative) may be an earlier goal itself.
    let mut earlier = earlier.peekable();
    earlier.peek().is_some() && target.any(&mut |t| matches!(t, Expr::D(..)))
        || earlier.any(|n| crate::kernel::depends_on(&doc.context, target, n, 0))
}

/// The longest matrix form, in characters of its plain text, offered for a goal that did
/// not ask for one: past a line it summarises nothing (the forms of the examples are at
/// most 39).
const SUMMARY_WIDTH: usize = 80;

/// Derive goal `i` of `doc`, with the results of the goals before it as `lemmas`.
fn derive_goal(
    context: &Arc<Context>,
    doc: &Document,
    i: usize,
    lemmas: &[Lemma],
) -> Result<Derived, GoalFailure> {
    let g = &doc.goals[i];
    let form = doc.forms.get(i).cloned().unwrap_or_default();
    // Routes compare by the lines of the brief writeup.
    let lines = |p: &Proof| crate::render::grouping::brief(p.context(), p.steps()).len();
    engine::derive_goal(context.clone(), &g.of, &g.wrt, &g.via, lemmas, &lines)
        .map(|mut proof| {
            let components = proof.current().clone();
            let matrix_from = proof.steps().len();
            // A form is kept only as `deriv check` will read it: its text parsed back with
            // shapes read off the result alone, expanding to the proof's last term.
            // Unasked for (a goal in index notation), a matrix form is a one-line summary
            // of the components, or none.
            let attached =
                engine::matrix_form::attach(&mut proof, &g.of, &g.wrt, &form, &doc.shapes).filter(
                    |(m, _)| {
                        let text = crate::matrix::print(m, Some(proof.context()));
                        (form.whole || text.chars().count() <= SUMMARY_WIDTH)
                            && crate::certificate::matrix_form_holds(&text, &proof).is_ok()
                    },
                );
            let (matrix, matrix_shapes) = match attached {
                Some((m, shapes)) => (Some(m), shapes),
                None => (None, Default::default()),
            };
            Derived {
                matrix_shapes,
                components,
                matrix_from,
                of: g.of.clone(),
                wrt: g.wrt.clone(),
                jacobian: engine::cases::jacobian(&proof, &g.of, &g.wrt),
                proof,
                matrix,
                form,
                checks: Checks::default(),
            }
        })
        .map_err(|error| GoalFailure { goal: i, line: g.line, error })
}

/// A numeric check that failed: which goal and step, and what differed.
#[derive(Clone, Debug)]
pub struct CheckFailure {
    pub goal: usize,
    pub line: usize,
    /// The step (from one), or `None` for the final result.
    pub step: Option<usize>,
    pub rule: String,
    pub error: String,
}

impl CheckFailure {
    /// A failed step of goal `goal` (from zero), declared on line `line`.
    pub fn at_step(goal: usize, line: usize, step: StepFailure) -> CheckFailure {
        CheckFailure { goal, line, step: Some(step.step), rule: step.rule, error: step.error }
    }
}

impl std::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.step {
            Some(s) => {
                write!(f, "goal {}, step {} ({}): {}", self.goal + 1, s, self.rule, self.error)
            }
            None => write!(f, "goal {}, the result: {}", self.goal + 1, self.error),
        }
    }
}

/// Options for the numeric checks of steps and results: at least 8 valid points in all,
/// and every n in 2..=6 for indexed terms (2 points per n).
fn check_options(terms: &[&Expr]) -> numeric::CheckOptions {
    let indexed = crate::terms::any_shared(terms, |e| {
        matches!(e, Expr::Idx(_, _) | Expr::Sum(_) | Expr::Delta(_, _))
    });
    let defaults = numeric::CheckOptions::default();
    let sizes = (defaults.n_max - defaults.n_min + 1) as usize;
    numeric::CheckOptions { points: if indexed { 8usize.div_ceil(sizes) } else { 8 }, ..defaults }
}

/// A step that failed its numeric check.
#[derive(Clone, Debug, PartialEq)]
pub struct StepFailure {
    /// The step, from one.
    pub step: usize,
    pub rule: String,
    pub error: String,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} ({}): {}", self.step, self.rule, self.error)
    }
}

/// Check steps `before = after` (each with its rule's name) numerically: each at ≥ 8 valid
/// points, at every n in 2..=6 when indexed, exactly where both sides are rational. Steps
/// that continue one another (one's `after` is the next one's `before`) are checked as one
/// chain, sharing sample points and evaluations; a step that does not continue the one
/// before starts a new chain. Returns the combined summary, or the first failing step.
pub fn check_steps(
    ctx: &Context,
    steps: &[(&Expr, &Expr, &str)],
) -> Result<numeric::CheckSummary, StepFailure> {
    let mut per_step = Vec::with_capacity(steps.len());
    let mut start = 0;
    while start < steps.len() {
        let mut end = start + 1;
        while end < steps.len() && steps[end].0 == steps[end - 1].1 {
            end += 1;
        }
        let chain = &steps[start..end];
        let terms: Vec<&Expr> =
            chain.iter().map(|s| s.0).chain(chain.last().map(|s| s.1)).collect();
        let summaries = numeric::check_chain(ctx, &terms, &check_options(&terms)).map_err(|e| {
            let step = start + e.step;
            StepFailure {
                step: step + 1,
                rule: steps.get(step).map_or("", |s| s.2).to_string(),
                error: e.error.to_string(),
            }
        })?;
        per_step.extend(summaries);
        start = end;
    }
    Ok(numeric::CheckSummary::combine("the other side of each step", &per_step))
}

/// Check every step of every goal numerically, and every result against dual numbers,
/// finite differences and the matching reference kernels; fill in `checks`.
pub fn check_numerically(report: &mut Report, lines: &[usize]) -> Result<(), CheckFailure> {
    let ctx = report.context.clone();
    let goals = &report.goals;
    let checks = crate::parallel::in_parallel(goals.len(), |g| {
        check_goal(&ctx, &goals[g], g, lines.get(g).copied().unwrap_or(0))
    });
    for (derived, checks) in report.goals.iter_mut().zip(checks) {
        derived.checks = checks?;
    }
    Ok(())
}

/// Check every step of one derived goal, and its result, numerically.
fn check_goal(
    ctx: &Context,
    derived: &Derived,
    g: usize,
    line: usize,
) -> Result<Checks, CheckFailure> {
    let fail =
        |error: String| CheckFailure { goal: g, line, step: None, rule: String::new(), error };
    // Points where a hypothesis of the result fails prove nothing: the guards make
    // them invalid, so the sampler draws others.
    let guards = guards(&derived.proof.hypotheses());
    let at_step = |from: usize| {
        move |mut f: StepFailure| {
            f.step += from;
            CheckFailure::at_step(g, line, f)
        }
    };
    let view = |e: &Expr| guarded(e, &guards);
    let mut steps = check_viewed(ctx, derived.proof.steps(), view).map_err(at_step(0))?;
    // A case's own steps hold under its hypothesis: seen through it (`j := i`, or
    // `δ_ij := 0`), both sides of each step agree at every point.
    for case in derived.jacobian.iter().flat_map(|j| [&j.same, &j.distinct]) {
        let hypotheses = case.proof.hypotheses();
        let case_guards = self::guards(&hypotheses);
        let view = |e: &Expr| {
            let seen = hypotheses.iter().fold(e.clone(), |e, h| in_case(&e, h));
            guarded(&seen, &case_guards)
        };
        let own = &case.proof.steps()[case.from..];
        let summary = check_viewed(ctx, own, view).map_err(at_step(case.from))?;
        steps = numeric::CheckSummary::combine("the other side of each step", &[steps, summary]);
    }
    let result = &guarded(derived.proof.current(), &guards);
    let opts = check_options(&[&derived.of, &derived.wrt, result]);
    let numeric::ResultChecks { derivative: finals, references } =
        numeric::check_result(ctx, &derived.of, &derived.wrt, result, &opts)
            .map_err(|e| fail(e.to_string()))?;
    let mut json =
        serde_json::json!({ "steps": steps, "result": finals, "references": references });
    let mut summary = summary_line(&steps, &finals, &references);
    // The matrix form on its own: evaluated with loops over vectors and matrices, against
    // the components the engine derived.
    if let (Some(m), Some(out)) =
        (&derived.matrix, crate::matrix::output_indices(&derived.of, &derived.wrt, ctx))
    {
        let components = guarded(&derived.components, &guards);
        let form =
            numeric::check_matrix_form(ctx, m, &derived.matrix_shapes, &components, &out, &opts)
                .map_err(|e| fail(e.to_string()))?;
        let what = if out.len() == 2 { "matrix" } else { "vector" };
        summary.push_str(&format!(
            "; the {what} form, evaluated as such, against the components ({})",
            describe(&form)
        ));
        json["matrix"] = serde_json::to_value(&form).unwrap_or_default();
    }
    Ok(Checks { json, summary })
}

/// [`check_steps`] on checked steps, each side seen through `view` (guards, a case).
fn check_viewed(
    ctx: &Context,
    steps: &[std::sync::Arc<crate::kernel::CheckedStep>],
    view: impl Fn(&Expr) -> Expr,
) -> Result<numeric::CheckSummary, StepFailure> {
    let chain: Vec<(Expr, Expr, &str)> =
        steps.iter().map(|s| (view(&s.before), view(&s.after), s.step.rule.as_str())).collect();
    let steps: Vec<(&Expr, &Expr, &str)> = chain.iter().map(|(b, a, r)| (b, a, *r)).collect();
    check_steps(ctx, &steps)
}

/// `e` as it reads in a case: `j := i` when `i = j`, each free `δ_ij` zero when `i ≠ j`.
fn in_case(e: &Expr, case: &crate::rules::Condition) -> Expr {
    use crate::expr::Index;
    use crate::rules::Condition;
    match case {
        Condition::IndexEq(i, Index::Name(j)) => e.subst_index(j, i),
        Condition::IndexNe(i, j) => zero_delta(e, i, j),
        _ => e.clone(),
    }
}

fn zero_delta(e: &Expr, i: &crate::expr::Index, j: &crate::expr::Index) -> Expr {
    use crate::expr::Index;
    let bound_here = |s: &crate::expr::Sum| [i, j].contains(&&Index::Name(s.index.clone()));
    match e {
        Expr::Delta(x, y) if (x == i && y == j) || (x == j && y == i) => Expr::int(0),
        Expr::Sum(s) if bound_here(s) => e.clone(),
        _ => e.map_children(|c| zero_delta(c, i, j)),
    }
}

/// For each side condition, a term that has no value exactly where the condition fails
/// (see [`guard`]).
fn guards(conditions: &[crate::rules::Condition]) -> Vec<Expr> {
    conditions.iter().filter_map(guard).collect()
}

/// A term that has no value exactly where the condition fails: `1/e` for `e != 0`,
/// `log(e)` for `e > 0`, `sqrt(e)` for `e >= 0`, `1/Σ_r δ(r,j)` for `j in lo..hi`, `log(hi - lo + 2)` for a range
/// length, a sum of the inner guard for a condition over a range. `None` for conditions
/// a guard cannot express (index equalities are met by reading a case, not by a guard).
pub fn guard(c: &crate::rules::Condition) -> Option<Expr> {
    use crate::expr::{Bound, Func, Index, Sum};
    use crate::rules::Condition;
    let bound = |b: &Bound| b.term();
    let sum = |index: String, lo: &Bound, hi: &Bound, body: Expr| {
        Sum::written(index, lo.clone(), hi.clone(), true, body)
    };
    match c {
        Condition::NonZero(e) => Some(Expr::div(Expr::int(1), e.clone())),
        Condition::Positive(e) => Some(Expr::call(Func::Log, e.clone())),
        Condition::NonNegative(e) => Some(Expr::call(Func::Sqrt, e.clone())),
        Condition::InRange(j, lo, hi) => {
            let mut avoid = std::collections::BTreeSet::new();
            if let Index::Name(n) = j {
                avoid.insert(n.clone());
            }
            let r = crate::expr::fresh_index("r", &avoid);
            let hits = sum(r.clone(), lo, hi, Expr::Delta(Index::Name(r), j.clone()));
            Some(Expr::div(Expr::int(1), hits))
        }
        Condition::RangeLength(lo, hi) => Some(Expr::call(
            Func::Log,
            Expr::Add(vec![bound(hi), Expr::neg(bound(lo)), Expr::int(2)].into()),
        )),
        Condition::ForAll(k, lo, hi, inner) => Some(sum(k.clone(), lo, hi, guard(inner)?)),
        _ => None,
    }
}

/// The result of a proof as a term that has a value only where the proof's hypotheses hold,
/// for numeric comparisons.
pub fn guarded_result(proof: &Proof) -> Expr {
    guarded(proof.current(), &guards(&proof.hypotheses()))
}

/// A goal's component result (before any steps toward its matrix form) as a term that has
/// a value only where the proof's hypotheses hold.
pub fn guarded_components(g: &Derived) -> Expr {
    guarded(&g.components, &guards(&g.proof.hypotheses()))
}

/// `e + 0*g1 + 0*g2 + …`: the value of `e` wherever every guard has one.
fn guarded(e: &Expr, guards: &[Expr]) -> Expr {
    if guards.is_empty() {
        return e.clone();
    }
    let zeros = guards.iter().map(|g| Expr::Mul(vec![Expr::int(0), g.clone()].into()));
    Expr::Add(std::iter::once(e.clone()).chain(zeros).collect())
}

/// Sorted sizes as runs: `2..6`, or `2, 4..7` where a size had no valid point.
fn runs_of_sizes(sizes: &[i64]) -> String {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for &n in sizes {
        match runs.last_mut() {
            Some((_, hi)) if *hi + 1 == n => *hi = n,
            _ => runs.push((n, n)),
        }
    }
    let run = |&(lo, hi): &(i64, i64)| {
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}..{hi}")
        }
    };
    runs.iter().map(run).collect::<Vec<_>>().join(", ")
}

fn describe(s: &numeric::CheckSummary) -> String {
    let sizes = if s.n_values.is_empty() {
        String::new()
    } else {
        format!(", n = {}", runs_of_sizes(&s.n_values))
    };
    let error = if s.exact {
        "exactly".to_string()
    } else {
        format!("max relative error {:.1e}", s.max_rel_error)
    };
    format!("{} points{sizes}, {error}", s.points)
}

/// The sentence for the writeups' check line.
fn summary_line(
    steps: &numeric::CheckSummary,
    finals: &[numeric::CheckSummary],
    refs: &[numeric::CheckSummary],
) -> String {
    let mut out = format!("every step checked numerically ({})", describe(steps));
    for f in finals.iter().chain(refs) {
        out.push_str(&format!("; the result against {} ({})", f.against, describe(f)));
    }
    out
}

/// Why a document could not be derived and checked.
#[derive(Clone, Debug)]
pub enum ReportError {
    /// The engine could not derive a goal.
    Goal(GoalFailure),
    /// A step or result failed its numeric check.
    Check(CheckFailure),
}

/// The whole pipeline after parsing: derive every goal (kernel-checked), then check every
/// step and result numerically.
///
/// Each goal is derived and checked on its own thread where there are cores to spare. The
/// outcome is the sequential one: the first goal the engine cannot derive, else the
/// first goal whose check fails, else the report.
pub fn derive_and_check(doc: &Document) -> Result<Report, ReportError> {
    derive_check_and(doc, |_, _| ()).map(|(report, _)| report)
}

/// [`derive_and_check`], and `then` run on each goal's own thread once that goal is derived
/// and checked (the writeup's section, say), its results in goal order.
pub fn derive_check_and<T: Send>(
    doc: &Document,
    then: impl Fn(&Arc<Context>, &Derived) -> T + Sync,
) -> Result<(Report, Vec<T>), ReportError> {
    let context = Arc::new(doc.context.clone());
    let outcomes = each_goal(doc, &context, |i, derived| {
        check_goal(&context, derived, i, doc.goals[i].line).map(|checks| {
            derived.checks = checks;
            then(&context, derived)
        })
    })
    .map_err(ReportError::Goal)?;
    let (goals, extras) = outcomes
        .into_iter()
        .map(|(derived, checked)| Ok((derived, checked?)))
        .collect::<Result<(Vec<_>, Vec<_>), _>>()
        .map_err(ReportError::Check)?;
    let report = Report { title: doc.title.clone(), numbers: doc.numbers.clone(), context, goals };
    Ok((report, extras))
}

/// The certificate of a report.
pub fn certificate(report: &Report) -> crate::certificate::Certificate {
    let derivations = report.goals.iter().map(derivation).collect();
    certificate_of(report, derivations)
}

/// One goal's part of the certificate; a caller that derives goals in parallel builds it on
/// the goal's own thread.
pub fn derivation(g: &Derived) -> crate::certificate::DerivationJson {
    let cases: Vec<&Proof> =
        g.jacobian.iter().flat_map(|j| [&j.same.proof, &j.distinct.proof]).collect();
    crate::certificate::derivation_json(
        &g.proof,
        &g.of,
        &g.wrt,
        g.matrix.as_ref(),
        &cases,
        g.checks.json.clone(),
    )
}

/// The certificate of a report whose goals' parts are built already ([`derivation`], in order).
pub fn certificate_of(
    report: &Report,
    derivations: Vec<crate::certificate::DerivationJson>,
) -> crate::certificate::Certificate {
    crate::certificate::Certificate {
        format: crate::certificate::FORMAT.to_string(),
        title: report.title.clone(),
        context: crate::certificate::context_json(&report.context),
        derivations,
        abbreviations: crate::certificate::abbreviations_json(
            &report.context,
            &report.goals.iter().map(|g| &g.proof).collect::<Vec<_>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_print_as_runs() {
        for (sizes, printed) in [
            (&[2, 3, 4, 5, 6][..], "2..6"),
            (&[4], "4"),
            (&[2, 4, 5, 6, 7], "2, 4..7"),
            (&[2, 5], "2, 5"),
        ] {
            assert_eq!(super::runs_of_sizes(sizes), printed);
        }
    }
}
