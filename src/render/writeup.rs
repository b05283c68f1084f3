//! The writeup model: what a derivation writeup says, built from a checked [`Report`],
//! before any format (Markdown, LaTeX, HTML, text) decides how it looks.
//!
//! Every term in it is one the kernel produced (a step's result, a result, a hypothesis
//! as declared) or an instance of one; captions are words and small formulas about them.

use super::caption::{caption, worked_out};
use super::grouping::{brief, group, kind_of, ungrouped};
use super::matrix::{Notation, Vectors};
use crate::engine::cases::Jacobian;
use crate::expr::{Bound, Expr, Index};
use crate::matrix::{Kind, M};
use crate::report::Report;
use crate::rules::Condition;
use crate::terms::ExprExt;
use std::ops::Range;

/// How much of the kernel's work a writeup shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Micro-steps grouped into the steps a person writes.
    Brief,
    /// Every kernel step on a line of its own.
    Full,
}

/// The title used when a document has none.
pub const DEFAULT_TITLE: &str = "Derivation";

/// A relation between two terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rel {
    Eq,
    Ne,
    Gt,
    Ge,
}

/// A formula that the formats typeset.
#[derive(Clone, Debug, PartialEq)]
pub enum Formula {
    Term(Expr),
    Rel(Expr, Rel, Expr),
    /// `i, j, k ∈ {lo, …, hi}`.
    Range(Vec<Expr>, Expr, Expr),
    /// The index lies outside `{lo, …, hi}`.
    OutsideRange(Expr, Expr, Expr),
    /// `∇_z l = value`: the gradient of a scalar with respect to the vector `z` (or matrix).
    Gradient {
        of: M,
        wrt: M,
        value: M,
        notation: Notation,
    },
    /// `∂a/∂z = value`: the Jacobian of the vector `a` by the vector `z`.
    Jacobian {
        of: M,
        wrt: M,
        value: M,
        notation: Notation,
    },
    /// A matrix expression alone.
    Matrix(M, Notation),
    /// `matrix = components`: matrix notation and its expansion.
    Components {
        matrix: M,
        components: Expr,
        notation: Notation,
    },
}

/// A piece of running text: words, or a formula set inline.
#[derive(Clone, Debug, PartialEq)]
pub enum Span {
    Text(String),
    Math(Formula),
}

/// A sentence or caption.
pub type Prose = Vec<Span>;

pub fn text(s: &str) -> Span {
    Span::Text(s.to_string())
}

pub fn math(e: Expr) -> Span {
    Span::Math(Formula::Term(e))
}

pub fn rel(a: Expr, r: Rel, b: Expr) -> Span {
    Span::Math(Formula::Rel(a, r, b))
}

/// The same prose with adjacent words joined into one span.
pub fn tidy(p: Prose) -> Prose {
    let mut out: Prose = Vec::new();
    for s in p {
        match (out.last_mut(), s) {
            (Some(Span::Text(a)), Span::Text(b)) => a.push_str(&b),
            (_, s) => out.push(s),
        }
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
pub fn join_and(items: Vec<Prose>) -> Prose {
    let n = items.len();
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(text(if i + 1 == n { " and " } else { ", " }));
        }
        out.extend(item);
    }
    out
}

/// One line of a chain: `= term`, captioned, standing for the kernel steps `steps`.
#[derive(Clone, Debug)]
pub struct Line {
    pub term: Expr,
    pub caption: Prose,
    pub steps: Range<usize>,
}

/// One derived goal.
#[derive(Clone, Debug)]
pub struct Goal {
    /// `D(of, wrt)`, where the chain starts.
    pub statement: Expr,
    /// "Write S = …": the abbreviations the lines use ([`super::abbreviations`]).
    pub abbreviations: Vec<Formula>,
    pub lines: Vec<Line>,
    /// For a derivative with respect to a defined name: that it is held as a variable.
    pub held: Option<Prose>,
    pub jacobian: Option<Jacobian>,
    /// The last term of the chain.
    pub result: Expr,
    pub vector: Option<Formula>,
    /// Whether that form is a matrix (else a vector).
    pub is_matrix: bool,
    /// "In components: …": what matrix notation in the goal stands for.
    pub components: Option<Prose>,
    /// Hypotheses used and side conditions left open, one sentence each.
    pub depends_on: Vec<Prose>,
    /// "every step replayed by the kernel (12 steps); …"
    pub checked: String,
}

/// A whole writeup.
#[derive(Clone, Debug)]
pub struct Writeup {
    pub title: String,
    pub indices: Vec<Formula>,
    pub definitions: Vec<Formula>,
    /// "$k$ is a fixed label: …", when the definitions fix labels.
    pub labels: Option<Prose>,
    pub hypotheses: Vec<Formula>,
    pub goals: Vec<Goal>,
    /// How the input writes its numbers: decimals print as decimals ([`super::decimals`]).
    pub numbers: Option<crate::syntax::NumberStyle>,
}

/// The writeup of a report.
pub fn build(report: &Report, detail: Detail, vectors: Vectors) -> Writeup {
    let sections = crate::parallel::in_parallel(report.goals.len(), |g| {
        section(&report.context, &report.goals[g], detail, vectors)
    });
    assemble(report, sections)
}

/// The writeup of a report whose goal sections are built already ([`section`], in goal order).
pub fn assemble(report: &Report, mut goals: Vec<Goal>) -> Writeup {
    let ctx = &report.context;
    let proofs: Vec<_> = report.goals.iter().map(|g| &g.proof).collect();
    let abbreviations = super::abbreviations::choose(ctx, &proofs);
    for (n, goal) in goals.iter_mut().enumerate() {
        abbreviate_goal(goal, n, &abbreviations);
    }
    Writeup {
        numbers: report.numbers.clone(),
        title: report.title.clone().unwrap_or_else(|| DEFAULT_TITLE.to_string()),
        indices: ctx
            .indices
            .iter()
            .map(|d| {
                Formula::Range(
                    d.names.iter().map(|n| Expr::sym(n)).collect(),
                    bound_expr(&d.lo),
                    bound_expr(&d.hi),
                )
            })
            .collect(),
        definitions: ctx
            .definitions
            .iter()
            .map(|d| Formula::Rel(d.name.clone(), Rel::Eq, d.body.clone()))
            .collect(),
        labels: labels_sentence(ctx),
        hypotheses: ctx
            .assumptions
            .iter()
            .map(|a| Formula::Rel(a.lhs.clone(), Rel::Eq, a.rhs.clone()))
            .collect(),
        goals,
    }
}

/// One goal's section. Its Jacobian and captions cost kernel work of their own, so a caller
/// that derives goals in parallel builds each section on the goal's own thread.
pub fn section(
    _context: &std::sync::Arc<crate::expr::Context>,
    g: &crate::report::Derived,
    detail: Detail,
    vectors: Vectors,
) -> Goal {
    let ctx = g.proof.context();
    let notation = notation(g, vectors);
    let steps = g.proof.steps();
    // The steps toward the matrix form are grouped, and captioned, on their own.
    let from = g.matrix_from.min(steps.len());
    let groups = match detail {
        Detail::Brief => {
            let kinds: Vec<_> = steps.iter().map(|s| kind_of(s)).collect();
            let mut gs = brief(ctx, &steps[..from]);
            gs.extend(group(&kinds[from..]).into_iter().map(|mut gr| {
                gr.steps = gr.steps.start + from..gr.steps.end + from;
                (gr, None)
            }));
            gs
        }
        Detail::Full => ungrouped(steps.len()).into_iter().map(|gr| (gr, None)).collect(),
    };
    let lines = groups
        .into_iter()
        .filter_map(|(gr, factor_at)| {
            let last = steps.get(gr.steps.end.checked_sub(1)?)?;
            let here = &steps[gr.steps.clone()];
            let caption = match &g.matrix {
                Some(m) if gr.steps.start >= from && detail == Detail::Brief => {
                    vec![
                        text("the entries of "),
                        Span::Math(Formula::Matrix(m.clone(), notation.clone())),
                    ]
                }
                _ => match factor_at.and_then(|p| worked_out(here, &p)) {
                    Some(line) => line,
                    None => caption(ctx, here, gr.prefix),
                },
            };
            Some(Line { term: last.after.clone(), caption, steps: gr.steps })
        })
        .collect();
    let result = g.proof.current().clone();
    let n = steps.len();
    let mut checked =
        format!("every step replayed by the kernel ({n} step{})", if n == 1 { "" } else { "s" });
    if !g.checks.summary.is_empty() {
        checked.push_str("; ");
        checked.push_str(&g.checks.summary);
    }
    Goal {
        statement: g.proof.start_term().clone(),
        abbreviations: Vec::new(),
        lines,
        held: ctx.is_defined(&g.wrt).then(|| {
            vec![
                text("This partial derivative treats "),
                math(g.wrt.clone()),
                text(" as an independent variable: the definition of "),
                math(g.wrt.clone()),
                text(" is not unfolded, and everything else is held fixed."),
            ]
        }),
        jacobian: g.jacobian.clone(),
        vector: g
            .matrix
            .as_ref()
            .and_then(|m| vector(&g.of, g.form.source.as_ref(), &g.wrt, m, &notation)),
        is_matrix: crate::matrix::output_indices(&g.of, &g.wrt, ctx).is_some_and(|o| o.len() == 2),
        components: components(g, &notation),
        depends_on: depends_on(&g.proof),
        result,
        checked,
    }
}

/// Goal `n`'s chain and captions with its abbreviations folded in, and those listed; the
/// statement and the result (boxed, or a line of the chain) stay whole, to be read on
/// their own.
fn abbreviate_goal(goal: &mut Goal, n: usize, abbreviations: &super::abbreviations::Abbreviations) {
    let fold = |e: &Expr| abbreviations.fold_into(n, e);
    for line in &mut goal.lines {
        if line.term != goal.result {
            line.term = fold(&line.term);
        }
        for span in &mut line.caption {
            match span {
                Span::Math(Formula::Term(e)) => *e = fold(e),
                Span::Math(Formula::Rel(a, _, b)) => (*a, *b) = (fold(a), fold(b)),
                _ => {}
            }
        }
    }
    // Only the names the lines show: brief mode may group away every line that uses one.
    let mut shown: Vec<&Expr> = goal.lines.iter().map(|l| &l.term).collect();
    for line in &goal.lines {
        for span in &line.caption {
            match span {
                Span::Math(Formula::Term(e)) => shown.push(e),
                Span::Math(Formula::Rel(a, _, b)) => shown.extend([a, b]),
                _ => {}
            }
        }
    }
    let mut listed: Vec<&crate::expr::Definition> = Vec::new();
    for d in abbreviations.of(n).into_iter().rev() {
        let Some(name) = d.name.variable_name() else { continue };
        let used = |e: &&Expr| e.mentions_name(name);
        if shown.iter().any(used) || listed.iter().any(|l| l.body.mentions_name(name)) {
            listed.push(d);
        }
    }
    goal.abbreviations = listed
        .into_iter()
        .rev()
        .map(|d| Formula::Rel(d.name.clone(), Rel::Eq, d.body.clone()))
        .collect();
}

/// "$k$ is a fixed label: one value of its range throughout (free in the definition of $l$)."
fn labels_sentence(ctx: &crate::expr::Context) -> Option<Prose> {
    let labels = ctx.fixed_labels();
    let names: Vec<Prose> = labels.keys().map(|k| vec![math(Expr::sym(k))]).collect();
    let by: Vec<Prose> = labels.values().map(|d| vec![math((*d).clone())]).collect();
    let (one, many) = (names.len() == 1, names.len() > 1);
    (one || many).then(|| {
        let mut p = join_and(names);
        p.push(text(if one { " is a fixed label" } else { " are fixed labels" }));
        p.push(text(
            ": one value of its range throughout, free on the right of the definition of ",
        ));
        p.extend(join_and(by));
        p.push(text(" but not on its left."));
        p
    })
}

/// The matrix form of a result: `∇_z l = a - y` for a scalar, `∂a/∂z = …` for a vector
/// by a vector, else the bare form (a diagonal, `a_j` by `z_j`). The differentiated
/// expression is shown as written: `∇_W ‖Wx − y‖²`. A second derivative (`wrt x, x`) has
/// the bare form: `∂f/∂x` would name the first derivative.
fn vector(
    of: &Expr,
    source: Option<&M>,
    wrt: &Expr,
    value: &M,
    notation: &Notation,
) -> Option<Formula> {
    let Expr::Idx(z, wi) = wrt else { return None };
    let wrt = M::Name(z.clone());
    let free = of.free_indices();
    let value = value.clone();
    let notation = notation.clone();
    Some(if matches!(of, Expr::D(..)) {
        Formula::Matrix(value, notation)
    } else if free.is_empty() {
        let of = source.cloned().unwrap_or_else(|| M::Scalar(of.clone()));
        Formula::Gradient { of, wrt, value, notation }
    } else if !wi.iter().any(|i| free.contains(&i.to_string())) {
        let of = match (source, of) {
            (Some(m), _) => m.clone(),
            (None, Expr::Idx(a, _)) => M::Name(a.clone()),
            _ => return Some(Formula::Matrix(value, notation)),
        };
        Formula::Jacobian { of, wrt, value, notation }
    } else {
        Formula::Matrix(value, notation)
    })
}

/// How a goal's vectors and matrices are set: in `vectors` style, knowing which names are
/// matrices from the shapes its matrix form was read with and from its index notation.
fn notation(g: &crate::report::Derived, vectors: Vectors) -> Notation {
    let ctx = g.proof.context();
    let mut shapes = crate::matrix::infer_shapes(&[&g.of, &g.wrt, &g.components], ctx);
    shapes.extend(g.matrix_shapes.iter().map(|(k, v)| (k.clone(), v.clone())));
    let matrices =
        shapes.into_iter().filter(|(_, k)| matches!(k, Kind::Matrix(..))).map(|(n, _)| n).collect();
    Notation { vectors, matrices }
}

/// "In components: ‖Wx − y‖² = Σ_i (…)², with respect to each entry W_ij of W.", for a
/// goal written in matrix notation.
fn components(g: &crate::report::Derived, notation: &Notation) -> Option<Prose> {
    // A second derivative `D(f, x_r)` by `x_s`: what is written in matrix notation is `f`,
    // and the variables are `x_r` then `x_s`.
    let mut of = &g.of;
    let mut wrts = vec![&g.wrt];
    while let Expr::D(f, x) = of {
        of = f;
        wrts.insert(0, x);
    }
    let mut p = vec![text("In components: ")];
    match &g.form.source {
        // A vector: each of its entries.
        Some(m) if !of.free_indices().is_empty() => p.extend([
            text("each entry of "),
            Span::Math(Formula::Matrix(m.clone(), notation.clone())),
            text(" is "),
            math(of.clone()),
        ]),
        Some(m) => p.push(Span::Math(Formula::Components {
            matrix: m.clone(),
            components: of.clone(),
            notation: notation.clone(),
        })),
        None => {}
    }
    if g.form.whole {
        for (k, wrt) in wrts.into_iter().filter(|w| matches!(w, Expr::Idx(..))).enumerate() {
            let Expr::Idx(name, _) = wrt else { continue };
            if p.len() > 1 {
                p.push(text(if k == 0 { ", " } else { " and " }));
            }
            p.extend([
                text("with respect to each entry "),
                math(wrt.clone()),
                text(" of "),
                Span::Math(Formula::Matrix(M::Name(name.clone()), notation.clone())),
            ]);
        }
    }
    p.push(text("."));
    (p.len() > 2).then_some(tidy(p))
}

/// What a result depends on: the hypotheses it used, then the side conditions left open.
fn depends_on(proof: &crate::kernel::Proof) -> Vec<Prose> {
    let ctx = proof.context();
    let used =
        proof.assumptions_used().into_iter().filter_map(|n| ctx.assumptions.get(n.checked_sub(1)?));
    let mut out: Vec<Prose> = used
        .map(|a| vec![text("the hypothesis "), rel(a.lhs.clone(), Rel::Eq, a.rhs.clone())])
        .collect();
    // Stated with the user's names: `m > 0`, not the unfolded `(Σ_i x_i)/n > 0`.
    let mut stated: Vec<Condition> = Vec::new();
    for c in proof.hypotheses().iter().map(|c| with_names(ctx, c)) {
        if !stated.contains(&c) {
            stated.push(c);
        }
    }
    out.extend(stated.iter().map(condition));
    out
}

/// `c` with the context's definitions folded back into its terms, for display: only
/// where unfolding gives the term back (`r^2 > 0` for `r = sqrt(u)` would say less than
/// `u > 0`, since `sqrt(u)^2` is `u` only for `u >= 0`).
fn with_names(ctx: &crate::expr::Context, c: &Condition) -> Condition {
    use crate::engine::fold::{fold_expr, unfold_all_expr};
    let fold = |e: &Expr| {
        let folded = fold_expr(ctx, e);
        let same = unfold_all_expr(ctx, &folded).is_some_and(|back| back == *e);
        if same {
            folded
        } else {
            e.clone()
        }
    };
    match c {
        Condition::NonZero(e) => Condition::NonZero(fold(e)),
        Condition::Positive(e) => Condition::Positive(fold(e)),
        Condition::NonNegative(e) => Condition::NonNegative(fold(e)),
        Condition::ForAll(k, lo, hi, inner) => {
            Condition::ForAll(k.clone(), lo.clone(), hi.clone(), Box::new(with_names(ctx, inner)))
        }
        other => other.clone(),
    }
}

/// A side condition as a sentence fragment.
pub fn condition(c: &Condition) -> Prose {
    let index = |i: &Index| Expr::sym(&i.to_string());
    match c {
        Condition::NonZero(e) => vec![rel(e.clone(), Rel::Ne, Expr::int(0))],
        Condition::Positive(e) => vec![rel(e.clone(), Rel::Gt, Expr::int(0))],
        Condition::NonNegative(e) => vec![rel(e.clone(), Rel::Ge, Expr::int(0))],
        Condition::Integer(e) => vec![math(e.clone()), text(" is an integer")],
        Condition::Natural(e) => vec![math(e.clone()), text(" is a positive integer")],
        Condition::IndexFree(k, e) => {
            vec![math(e.clone()), text(" does not depend on "), math(index(k))]
        }
        Condition::FreeOf(x, e) => {
            vec![math(e.clone()), text(" does not depend on "), math(x.clone())]
        }
        Condition::InRange(j, lo, hi) => {
            vec![Span::Math(Formula::Range(vec![index(j)], bound_expr(lo), bound_expr(hi)))]
        }
        Condition::OutOfRange(j, lo, hi) => {
            vec![Span::Math(Formula::OutsideRange(index(j), bound_expr(lo), bound_expr(hi)))]
        }
        Condition::RangeLength(lo, hi) => {
            vec![rel(bound_expr(hi), Rel::Ge, Expr::sub(bound_expr(lo), Expr::int(1)))]
        }
        Condition::IndexEq(i, j) => vec![rel(index(i), Rel::Eq, index(j))],
        Condition::IndexNe(i, j) => vec![rel(index(i), Rel::Ne, index(j))],
        Condition::ForAll(k, lo, hi, inner) => {
            let mut out = condition(inner);
            out.push(text(" for all "));
            out.push(Span::Math(Formula::Range(
                vec![Expr::sym(k)],
                bound_expr(lo),
                bound_expr(hi),
            )));
            out
        }
    }
}

/// A summation bound as a term, for printing.
pub fn bound_expr(b: &Bound) -> Expr {
    b.term()
}

/// "$i = j$: $\delta_{ii} = 1$, so $\partial a_i/\partial z_i = a_i(1 - a_i)$", and the case $i \neq j$.
pub fn case_sentences(j: &Jacobian) -> Vec<Prose> {
    [(Rel::Eq, &j.same), (Rel::Ne, &j.distinct)]
        .into_iter()
        .map(|(r, case)| {
            vec![
                rel(j.i.clone(), r, j.j.clone()),
                text(": "),
                rel(case.delta.clone(), Rel::Eq, case.delta_value.clone()),
                text(", so "),
                rel(case.derivative.clone(), Rel::Eq, case.proof.current().clone()),
            ]
        })
        .collect()
}

/// "The result depends on the hypothesis $\sum_i y_i = 1$." or that it depends on nothing.
pub fn depends_sentence(items: &[Prose]) -> Prose {
    if items.is_empty() {
        return vec![text("The result depends on no hypotheses or side conditions.")];
    }
    let mut out = vec![text("The result depends on ")];
    out.extend(join_and(items.to_vec()));
    out.push(text("."));
    out
}
