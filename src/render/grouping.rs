//! Brief detail: which consecutive kernel steps a person writes as one line of a derivation.
//!
//! Grouping is a pure function of the steps' kinds. It only chooses where lines break:
//! each line still shows the term the kernel produced after the line's last step.

use crate::expr::{Context, Expr};
use crate::kernel::CheckedStep;
use crate::rules::{id_of, RuleId};
use crate::terms::ExprExt;
use std::ops::Range;
use std::sync::Arc;

/// What a kernel step does, as far as grouping is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// `ring-normalize`: rearranging by ring arithmetic.
    Ring,
    /// A rule applied to a derivative `D(…)` that leaves derivatives of the parts.
    Differentiate,
    /// A derivative finished at a leaf: `∂x/∂x = 1`, `∂c/∂x = 0`, `∂z_k/∂z_j = δ_kj`.
    Leaf,
    /// A ring step that only clears trivialities (`·1`, `+ 0`, `x^(2 - 1)`): it joins the
    /// line before it, so no line shows them.
    Tidy,
    /// A sum of Kronecker deltas collapses.
    Collapse,
    Unfold,
    Fold,
    /// `rename-bound-index`: joins the line before it (an unfolded sum renamed away from a
    /// fixed label, a sum renamed before it is differentiated), else a line of its own.
    Rename,
    /// `use-lemma`: an earlier result; consecutive ones are one line.
    Lemma,
    /// The law of exponents (`b^(e + 1)` = `b^e·b`): the ring step before it, which writes
    /// the exponent as `e + 1` or brings `b^e` beside `b`, belongs to its line.
    Exponents,
    /// Anything else: one line of its own.
    Other,
}

/// The kind of a checked step, from its rule and the subterm it rewrites.
pub fn kind_of(step: &CheckedStep) -> StepKind {
    match id_of(&step.step) {
        Some(RuleId::RingNormalize) => {
            let p = &step.step.position;
            let cleared = step.before.at(p).map(crate::engine::simplify::without_trivia);
            match step.after.at(p) {
                Some(after) if cleared.as_ref() == Some(after) => StepKind::Tidy,
                _ => StepKind::Ring,
            }
        }
        Some(RuleId::DerivativeOfVariable | RuleId::DerivativeOfConstant) => StepKind::Leaf,
        Some(RuleId::DeltaCollapse) => StepKind::Collapse,
        Some(RuleId::UnfoldDefinition) => StepKind::Unfold,
        Some(RuleId::FoldDefinition) => StepKind::Fold,
        Some(RuleId::RenameBoundIndex) => StepKind::Rename,
        Some(RuleId::UseLemma) => StepKind::Lemma,
        Some(RuleId::LawOfExponents) => StepKind::Exponents,
        _ if matches!(step.before.at(&step.step.position), Some(crate::expr::Expr::D(_, _))) => {
            StepKind::Differentiate
        }
        _ => StepKind::Other,
    }
}

/// One printed line: the steps `steps`, of which the first `prefix` are ring steps that
/// only prepare the line's main step (a collapse or a fold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub steps: Range<usize>,
    pub prefix: usize,
}

/// Every step a line of its own (`--detail full`).
pub fn ungrouped(n: usize) -> Vec<Group> {
    (0..n).map(|i| Group { steps: i..i + 1, prefix: 0 }).collect()
}

/// The lines of `--detail brief`, in order, covering every step exactly once:
/// - consecutive ring steps form one "simplify" line;
/// - ring steps right before a collapse, a fold or the law of exponents belong to that line;
/// - consecutive unfolds, folds, collapses or lemmas form one line;
/// - leaf derivatives join the differentiation line before them (or each other);
/// - a clearing of trivialities or a renaming joins the line before it.
pub fn group(kinds: &[StepKind]) -> Vec<Group> {
    let n = kinds.len();
    let run_end = |from: usize, kind: StepKind| (from..n).find(|&i| kinds[i] != kind).unwrap_or(n);
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let start = i;
        // A run of algebra moves goes on over the tidying between them: one line.
        let rings_end = match kinds[i] {
            StepKind::Ring => {
                (i..n).find(|&k| !matches!(kinds[k], StepKind::Ring | StepKind::Tidy)).unwrap_or(n)
            }
            _ => i,
        };
        let absorbs = |k: Option<&StepKind>| {
            matches!(k, Some(StepKind::Collapse | StepKind::Fold | StepKind::Exponents))
        };
        if rings_end > start && !absorbs(kinds.get(rings_end)) {
            out.push(Group { steps: start..rings_end, prefix: 0 });
            i = rings_end;
            continue;
        }
        let head = rings_end;
        let leaves_end = |from: usize| {
            (from..n).find(|&i| !matches!(kinds[i], StepKind::Leaf | StepKind::Tidy)).unwrap_or(n)
        };
        let end = match kinds[head] {
            StepKind::Differentiate => leaves_end(head + 1),
            StepKind::Leaf | StepKind::Tidy => leaves_end(head),
            StepKind::Other | StepKind::Rename | StepKind::Exponents => head + 1,
            StepKind::Unfold => (head..n)
                .find(|&i| !matches!(kinds[i], StepKind::Unfold | StepKind::Rename))
                .unwrap_or(n),
            k => run_end(head, k),
        };
        // Clearing trivialities or renaming is never a line of its own after another.
        let end =
            (end..n).find(|&i| !matches!(kinds[i], StepKind::Tidy | StepKind::Rename)).unwrap_or(n);
        out.push(Group { steps: start..end, prefix: head - start });
        i = end;
    }
    out
}

/// Runs of steps that work out a derivative with respect to a defined name held as a
/// variable, inside a larger term (the factor `∂l/∂a_i` of a chain rule): from the first
/// step inside it to the step that leaves it free of derivatives, every step inside it.
/// A person writes such a run as one line, `∂l/∂a_i = -y_i/a_i`. Each run comes with the
/// derivative's position.
pub fn held_factor_runs(
    ctx: &Context,
    steps: &[Arc<CheckedStep>],
) -> Vec<(Range<usize>, Vec<usize>)> {
    let held_at = |s: &CheckedStep| -> Option<Vec<usize>> {
        let pos = &s.step.position;
        // A factor of a product, as the chain rule leaves it.
        let factor = |p: &[usize]| matches!(s.before.at(&p[..p.len() - 1]), Some(Expr::Mul(_)));
        let held = |p: &&[usize]| {
            matches!(s.before.at(p), Some(Expr::D(_, x)) if ctx.is_defined(x)) && factor(p)
        };
        (1..=pos.len()).map(|l| &pos[..l]).find(held).map(<[usize]>::to_vec)
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let Some(p) = held_at(&steps[i]) else {
            i += 1;
            continue;
        };
        let inside = |s: &CheckedStep| s.step.position.starts_with(&p);
        let end = (i..steps.len()).find(|&j| !inside(&steps[j])).unwrap_or(steps.len());
        let finished =
            steps[end - 1].after.at(&p).is_some_and(|v| !v.any(&mut |t| matches!(t, Expr::D(..))));
        if finished && end - i > 1 {
            out.push((i..end, p));
        }
        i = end;
    }
    out
}

/// The lines of `--detail brief` for `steps`: each held-factor run one line, the steps
/// between grouped by [`group`]; a run's line with the position of its derivative.
pub fn brief(ctx: &Context, steps: &[Arc<CheckedStep>]) -> Vec<(Group, Option<Vec<usize>>)> {
    let kinds: Vec<StepKind> = steps.iter().map(|s| kind_of(s)).collect();
    let mut out = Vec::new();
    let mut from = 0;
    let runs = held_factor_runs(ctx, steps);
    for run in runs.into_iter().map(Some).chain([None]) {
        let to = run.as_ref().map_or(steps.len(), |(r, _)| r.start);
        out.extend(group(&kinds[from..to]).into_iter().map(|mut g| {
            g.steps = g.steps.start + from..g.steps.end + from;
            (g, None)
        }));
        if let Some((r, p)) = run {
            from = r.end;
            out.push((Group { steps: r, prefix: 0 }, Some(p)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::StepKind::{self, *};
    use super::{group, ungrouped, Group};

    fn lines(kinds: &[StepKind]) -> Vec<(usize, usize, usize)> {
        group(kinds).into_iter().map(|g| (g.steps.start, g.steps.end, g.prefix)).collect()
    }

    #[test]
    fn clearing_trivialities_joins_the_line_before_it() {
        assert_eq!(
            lines(&[Differentiate, Tidy, Leaf, Tidy, Other, Tidy, Ring]),
            vec![(0, 4, 0), (4, 6, 0), (6, 7, 0)]
        );
    }

    #[test]
    fn consecutive_ring_steps_are_one_line() {
        assert_eq!(lines(&[Other, Ring, Ring, Ring, Other]), vec![(0, 1, 0), (1, 4, 0), (4, 5, 0)]);
    }

    #[test]
    fn ring_steps_before_a_collapse_or_fold_join_it() {
        assert_eq!(lines(&[Ring, Collapse, Ring, Ring, Fold, Fold]), vec![(0, 2, 1), (2, 6, 2)]);
        // After the main step they do not.
        assert_eq!(lines(&[Fold, Ring]), vec![(0, 1, 0), (1, 2, 0)]);
    }

    #[test]
    fn leaf_derivatives_join_the_differentiation_before_them() {
        assert_eq!(
            lines(&[Unfold, Differentiate, Leaf, Differentiate, Differentiate, Leaf, Leaf]),
            vec![(0, 1, 0), (1, 3, 0), (3, 4, 0), (4, 7, 0)]
        );
        // With no differentiation before them, leaves stand together.
        assert_eq!(lines(&[Leaf, Leaf, Ring]), vec![(0, 2, 0), (2, 3, 0)]);
    }

    #[test]
    fn earlier_results_used_together_are_one_line_and_a_renaming_joins_the_line_before() {
        assert_eq!(
            lines(&[Other, Lemma, Lemma, Tidy, Ring, Differentiate, Rename, Leaf]),
            vec![(0, 1, 0), (1, 4, 0), (4, 5, 0), (5, 7, 0), (7, 8, 0)]
        );
    }

    #[test]
    fn runs_of_unfolds_and_collapses_are_one_line_each() {
        assert_eq!(
            lines(&[Unfold, Unfold, Collapse, Collapse, Other, Other]),
            vec![(0, 2, 0), (2, 4, 0), (4, 5, 0), (5, 6, 0)]
        );
    }

    #[test]
    fn the_softmax_derivative_reads_as_a_person_writes_it() {
        // The kernel's steps for ∂a_i/∂z_j.
        let kinds = [
            Unfold,
            Differentiate,
            Differentiate,
            Leaf,
            Differentiate,
            Differentiate,
            Leaf,
            Ring,
            Collapse,
            Ring,
            Fold,
            Fold,
        ];
        assert_eq!(
            lines(&kinds),
            vec![(0, 1, 0), (1, 2, 0), (2, 4, 0), (4, 5, 0), (5, 7, 0), (7, 9, 1), (9, 12, 1)]
        );
    }

    /// Lines partition the steps in order, whatever the kinds.
    #[test]
    fn groups_cover_every_step_once_in_order() {
        let all = [Ring, Differentiate, Leaf, Collapse, Unfold, Fold, Other, Lemma, Rename];
        // Every sequence of length up to 5 over the kinds.
        for len in 0..=5u32 {
            for code in 0..(all.len() as u32).pow(len) {
                let kinds: Vec<StepKind> = (0..len)
                    .map(|p| all[(code / (all.len() as u32).pow(p)) as usize % all.len()])
                    .collect();
                let gs = group(&kinds);
                let mut next = 0;
                for g in &gs {
                    assert_eq!(g.steps.start, next, "{kinds:?}");
                    assert!(g.steps.end > g.steps.start, "{kinds:?}");
                    assert!(g.prefix < g.steps.len() || g.prefix == 0, "{kinds:?}");
                    assert!(kinds[g.steps.start..g.steps.start + g.prefix]
                        .iter()
                        .all(|k| *k == Ring));
                    next = g.steps.end;
                }
                assert_eq!(next, kinds.len(), "{kinds:?}");
            }
        }
    }

    #[test]
    fn full_detail_is_one_step_a_line() {
        assert_eq!(
            ungrouped(3),
            vec![
                Group { steps: 0..1, prefix: 0 },
                Group { steps: 1..2, prefix: 0 },
                Group { steps: 2..3, prefix: 0 }
            ]
        );
    }
}
