//! Captions: why a line of a derivation holds, in words and small formulas, from the
//! rule table and the terms the kernel checked ("by the quotient rule", "fold the
//! definition of $a_i$", "use $\sum_i y_i = 1$", "$\partial z_k/\partial z_j = \delta_{kj}$").

use super::grouping::{kind_of, StepKind};
use super::moves::{step_move, Move};
use super::writeup::{join_and, math, rel, text, tidy, Formula, Prose, Rel, Span};
use crate::expr::{Context, Expr};
use crate::kernel::{self, CheckedStep};
use crate::rules::{self, RuleBody, RuleId};
use crate::terms::ExprExt;
use std::sync::Arc;

/// The caption of a line made of `steps`, whose first `prefix` steps are preparatory ring steps.
pub fn caption(ctx: &Context, steps: &[Arc<CheckedStep>], prefix: usize) -> Prose {
    let Some(main) = steps.get(prefix..).filter(|m| !m.is_empty()) else {
        return algebra(steps);
    };
    let mut out = Vec::new();
    // Rearranging to bring a delta or a definition's body into place goes unsaid.
    if prefix > 0 && !moves(&steps[..prefix]).iter().all(Move::is_minor) {
        out.extend(algebra(&steps[..prefix]));
        out.push(text(", and "));
    }
    out.extend(match kind_of(&main[0]) {
        StepKind::Ring | StepKind::Tidy => algebra(main),
        StepKind::Unfold => definitions("unfold", ctx, main),
        StepKind::Fold => definitions("fold", ctx, main),
        StepKind::Collapse if main.len() > 1 => vec![text("the sums of Kronecker deltas collapse")],
        StepKind::Leaf => join_and(leaf_equations(ctx, main)),
        StepKind::Differentiate => differentiation(ctx, &main[0], &main[1..]),
        StepKind::Lemma => lemmas(main),
        StepKind::Collapse | StepKind::Rename | StepKind::Other | StepKind::Exponents => {
            step_caption(ctx, &main[0])
        }
    });
    tidy(out)
}

/// The moves of a run of ring steps, each once, in order.
fn moves(steps: &[Arc<CheckedStep>]) -> Vec<Move> {
    let mut out: Vec<Move> = Vec::new();
    for m in steps.iter().flat_map(|s| step_move(s).parts()) {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// The caption of a run of ring steps: its moves in order ("cancel $a_i$ and expand").
/// Tidying, regrouping and reordering are named only when they are all the run does, and
/// regrouping with reordering is rearranging.
fn algebra(steps: &[Arc<CheckedStep>]) -> Prose {
    let mut moves = moves(steps);
    if moves.iter().any(|m| !m.is_minor()) {
        moves.retain(|m| !m.is_minor());
    } else if moves.len() > 1 {
        moves.retain(|m| *m != Move::Tidy);
    }
    if moves.len() == 2 && moves.iter().all(|m| matches!(m, Move::Regroup | Move::Reorder)) {
        return vec![text("rearrange")];
    }
    let spans = moves.iter().map(|m| match m.words() {
        (words, Some(e)) => vec![text(words), math(e.clone())],
        (words, None) => vec![text(words)],
    });
    tidy(join_and(spans.collect()))
}

/// "by (1), $\partial a_i/\partial z_j = a_i(\delta_{ij} - a_j)$": each earlier result by its
/// goal's number, at the instance the step used.
fn lemmas(steps: &[Arc<CheckedStep>]) -> Prose {
    let uses = steps.iter().filter(|s| kind_of(s) == StepKind::Lemma).map(|s| {
        let p = &s.step.position;
        let n = s.step.uses.clone().unwrap_or_default();
        let mut out = vec![Span::Text(format!("({n})"))];
        if let (Some(from), Some(to)) = (s.before.at(p), s.after.at(p)) {
            out.extend([text(", "), rel(from.clone(), Rel::Eq, to.clone())]);
        }
        out
    });
    let mut out = vec![text("by ")];
    out.extend(join_and(uses.collect()));
    out
}

/// The caption of a line that works out the derivative at `p` inside a larger term in one
/// go (a factor `∂l/∂a_i` of the chain rule): "$\partial l/\partial a_i = -y_i/a_i$".
pub fn worked_out(steps: &[Arc<CheckedStep>], p: &[usize]) -> Option<Prose> {
    let (d, value) = (steps.first()?.before.at(p)?, steps.last()?.after.at(p)?);
    match d {
        Expr::D(f, x) if !f.is_variable() => Some(derivative_is(f, x, value)),
        _ => Some(vec![rel(d.clone(), Rel::Eq, value.clone())]),
    }
}

/// "the derivative of $f$ with respect to $x$ is $g$".
fn derivative_is(f: &Expr, x: &Expr, value: &Expr) -> Prose {
    vec![
        text("the derivative of "),
        math(f.clone()),
        text(" with respect to "),
        math(x.clone()),
        text(" is "),
        math(value.clone()),
    ]
}

/// "unfold the definition of $a_i$", "fold the definitions of $l$ and $a_i$".
fn definitions(verb: &str, ctx: &Context, steps: &[Arc<CheckedStep>]) -> Prose {
    let mut names: Vec<Expr> = Vec::new();
    for s in steps {
        let def = s.step.uses.as_deref().and_then(|u| ctx.definition(u));
        if let Some(d) = def {
            if !names.contains(&d.name) {
                names.push(d.name.clone());
            }
        }
    }
    let noun = if names.len() > 1 { "definitions" } else { "definition" };
    let mut out = vec![Span::Text(format!("{verb} the {noun} of "))];
    out.extend(join_and(names.into_iter().map(|n| vec![math(n)]).collect()));
    out
}

/// A differentiation step, and the leaf derivatives finished with it.
fn differentiation(ctx: &Context, head: &Arc<CheckedStep>, leaves: &[Arc<CheckedStep>]) -> Prose {
    let table = rule_caption(&head.step.rule);
    if let Some((f, x, value)) =
        derivative_worked_out(head, leaves).filter(|_| table.starts_with("the derivative of "))
    {
        return derivative_is(&f, &x, &value);
    }
    let mut out = step_caption(ctx, head);
    // Only leaf derivatives are named: a clearing of trivialities joined here has none.
    let equations = leaf_equations(ctx, leaves);
    if !equations.is_empty() {
        out.push(text(", with "));
        out.extend(join_and(equations));
    }
    out
}

/// `(f, x, g)` when the steps turn the derivative `D(f, x)` at the head's position into a
/// derivative-free `g`, and the last term shows `g` in its place.
fn derivative_worked_out(
    head: &Arc<CheckedStep>,
    rest: &[Arc<CheckedStep>],
) -> Option<(Expr, Expr, Expr)> {
    let p = &head.step.position;
    // A clearing of trivialities may take in more than the derivative; `in_place` below
    // still insists that nothing else changed.
    if !rest.iter().all(|s| s.step.position.starts_with(p) || kind_of(s) == StepKind::Tidy) {
        return None;
    }
    let last = rest.last().unwrap_or(head);
    let Some(Expr::D(f, x)) = head.before.at(p) else {
        return None;
    };
    let value = last.after.at(p)?.clone();
    let in_place = head.before.replace_at(p, value.clone()).as_ref() == Some(&last.after);
    let finished = !value.any(&mut |e| matches!(e, Expr::D(_, _)));
    (in_place && finished).then(|| ((**f).clone(), (**x).clone(), value))
}

/// `∂z_k/∂z_j = δ_kj`, one per distinct leaf derivative.
fn leaf_equations(ctx: &Context, leaves: &[Arc<CheckedStep>]) -> Vec<Prose> {
    let mut seen: Vec<Span> = Vec::new();
    for s in leaves.iter().filter(|s| kind_of(s) == StepKind::Leaf) {
        let eq = match (s.before.at(&s.step.position), rewritten(ctx, s)) {
            (Some(d), Some(v)) => rel(d.clone(), Rel::Eq, v),
            _ => Span::Text(rule_caption(&s.step.rule).to_string()),
        };
        if !seen.contains(&eq) {
            seen.push(eq);
        }
    }
    seen.into_iter().map(|s| vec![s]).collect()
}

/// The new subterm a step put at its position: read off the result where it stands
/// there unchanged, else computed by the kernel from the old subterm alone.
fn rewritten(ctx: &Context, s: &CheckedStep) -> Option<Expr> {
    let p = &s.step.position;
    if let Some(new) = s.after.at(p) {
        if s.before.replace_at(p, new.clone()).as_ref() == Some(&s.after) {
            return Some(new.clone());
        }
    }
    let mut here = s.step.clone();
    here.position = Vec::new();
    kernel::rewrite(ctx, s.before.at(p)?, &here).ok().map(|(e, ..)| e)
}

/// The caption of one step on its own.
pub fn step_caption(ctx: &Context, s: &Arc<CheckedStep>) -> Prose {
    let rule = &s.step.rule;
    let id = rules::id_of(&s.step);
    let uses = s.step.uses.as_deref();
    match kind_of(s) {
        StepKind::Unfold | StepKind::Fold => {
            return definitions(
                if id == Some(RuleId::FoldDefinition) { "fold" } else { "unfold" },
                ctx,
                std::slice::from_ref(s),
            )
        }
        StepKind::Leaf => return join_and(leaf_equations(ctx, std::slice::from_ref(s))),
        _ => {}
    }
    if id == Some(RuleId::UseLemma) {
        return lemmas(std::slice::from_ref(s));
    }
    if id == Some(RuleId::UseHypothesis) {
        let h = uses
            .and_then(|u| u.parse::<usize>().ok())
            .and_then(|n| ctx.assumptions.get(n.checked_sub(1)?));
        if let Some(h) = h {
            return vec![text("use "), rel(h.lhs.clone(), Rel::Eq, h.rhs.clone())];
        }
    }
    let table = rule_caption(rule);
    if !table.is_ascii() {
        // Captions such as "δ_kk = 1" are formulas: show the rule's instance instead.
        if let Some(f) = instance(s) {
            return vec![Span::Math(f)];
        }
    }
    if table.ends_with(" rule") {
        return vec![Span::Text(format!("by {table}"))];
    }
    vec![Span::Text(table.to_string())]
}

/// The table's caption of a rule.
pub fn rule_caption(rule: &str) -> &'static str {
    rules::spec(rule).map_or("", |r| r.caption)
}

/// The equation a pattern rule stated for this step: its sides instantiated by the binding.
fn instance(s: &CheckedStep) -> Option<Formula> {
    let RuleBody::Rewrite { lhs, rhs, .. } = rules::rule(&s.step.rule)? else {
        return None;
    };
    let (from, to) = if s.step.reversed { (rhs, lhs) } else { (lhs, rhs) };
    let b = &s.step.binding;
    Some(Formula::Rel(
        kernel::instantiate(from, b).ok()?.reshape_all(),
        Rel::Eq,
        kernel::instantiate(to, b).ok()?.reshape_all(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::{Shape, RULES};

    /// Every caption can be typeset by every format: plain ASCII words, or a pattern rule
    /// whose instance is shown instead.
    #[test]
    fn every_caption_is_words_or_has_an_instance() {
        for spec in RULES {
            let pattern = matches!(spec.shape, Shape::Rewrite { .. });
            assert!(
                spec.caption.is_ascii() || pattern,
                "rule {} needs an ASCII caption",
                spec.name
            );
        }
    }
}
