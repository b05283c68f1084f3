//! The trusted kernel: the only code that can make a checked derivation.
//!
//! A [`Proof`] is a chain `e0 = e1 = … = en` under hypotheses. Its fields are private
//! and the only way to extend it is [`Proof::apply`], which replays one [`Step`]:
//! look the rule up by name, instantiate it with the step's binding, require the
//! instantiated left side to equal the subterm at the step's position (up to names
//! of bound indices), splice in the right side, and record every side condition that
//! it cannot decide as a hypothesis. The kernel depends on the term language (`expr`) only.

mod builtin;
pub mod certificate;
mod conditions;
pub mod read;
pub mod ring;
pub mod rules;
pub mod table;
pub mod validate;

use crate::expr::{Bound, Context, Expr, Index, Sum};
use rules::{is_metavar, is_variable_metavar, Binding, Condition, RuleBody};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

pub use conditions::{decide, Verdict};

/// One proposed rewrite, as the engine proposes it and a certificate records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The rule's name in the table.
    pub rule: String,
    /// Path of child numbers from the root to the rewritten subterm.
    pub position: Vec<usize>,
    /// Values for the rule's metavariables.
    pub binding: Binding,
    /// Apply the rule right to left.
    pub reversed: bool,
    /// The definition (`a`) or hypothesis (`1`, counting from one) a step uses.
    pub uses: Option<String>,
    /// The new subterm, for rules that check a claimed result (ring, rename, fold, delta-substitute).
    pub replacement: Option<Expr>,
}

impl Step {
    pub fn new(rule: &str, position: Vec<usize>) -> Step {
        Step {
            rule: rule.to_string(),
            position,
            binding: Binding::default(),
            reversed: false,
            uses: None,
            replacement: None,
        }
    }
}

/// Why the kernel refused a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelError {
    UnknownRule(String),
    /// A metavariable the rule needs has no value, or the binding has one the rule lacks.
    Binding(String),
    NoSuchPosition(Vec<usize>),
    /// The instantiated left side is not the subterm at the position.
    Mismatch {
        expected: Expr,
        found: Expr,
    },
    /// A side condition is decidably false.
    ConditionFails(Condition),
    /// The rule does not apply here, with the reason.
    NotApplicable(String),
    /// The step's stated result is not what the rule gives.
    ChainBroken(String),
    TooLarge(String),
    Undefined(String),
    /// The context or the goal is not one the kernel reasons in.
    BadGoal(String),
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::UnknownRule(r) => write!(f, "unknown rule `{r}`"),
            KernelError::Binding(m) => write!(f, "bad substitution: {m}"),
            KernelError::NoSuchPosition(p) => write!(f, "no subterm at position {p:?}"),
            KernelError::Mismatch { expected, found } => {
                write!(f, "pattern does not match: the rule needs `{expected}` but the term has `{found}`")
            }
            KernelError::ConditionFails(c) => write!(f, "side condition unmet: {c} is false"),
            KernelError::NotApplicable(m) => write!(f, "rule does not apply: {m}"),
            KernelError::ChainBroken(m) => write!(f, "chain broken: {m}"),
            KernelError::TooLarge(m) => write!(f, "{m}"),
            KernelError::Undefined(m) => write!(f, "undefined: {m}"),
            KernelError::BadGoal(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for KernelError {}

/// A step the kernel accepted, with the whole term before and after it.
#[derive(Clone, Debug)]
pub struct CheckedStep {
    step: Step,
    before: Expr,
    after: Expr,
    conditions: Vec<Condition>,
    discharged: Vec<Condition>,
}

impl CheckedStep {
    pub fn step(&self) -> &Step {
        &self.step
    }
    pub fn before(&self) -> &Expr {
        &self.before
    }
    pub fn after(&self) -> &Expr {
        &self.after
    }
    /// The side conditions this step could not discharge.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    /// The side conditions the kernel proved for this step.
    pub fn discharged(&self) -> &[Condition] {
        &self.discharged
    }
}

/// A checked chain of equalities `start = … = current` in a context.
#[derive(Clone, Debug)]
pub struct Proof {
    context: Arc<Context>,
    start: Expr,
    current: Expr,
    steps: Vec<CheckedStep>,
}

impl Proof {
    /// The trivial chain `goal = goal`, once the context and the goal pass
    /// [`validate::check_goal`] (what the `.deriv` parser enforces).
    pub fn start(context: Arc<Context>, goal: Expr) -> Result<Proof, KernelError> {
        validate::check_goal(&context, &goal).map_err(KernelError::BadGoal)?;
        Ok(Proof {
            context,
            start: goal.clone(),
            current: goal,
            steps: Vec::new(),
        })
    }

    pub fn context(&self) -> &Context {
        &self.context
    }
    pub fn start_term(&self) -> &Expr {
        &self.start
    }
    pub fn current(&self) -> &Expr {
        &self.current
    }
    pub fn steps(&self) -> &[CheckedStep] {
        &self.steps
    }

    /// Every undischarged side condition, without repeats, in order; a non-zero condition
    /// implied by a positivity condition in the list is left out.
    pub fn hypotheses(&self) -> Vec<Condition> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for c in self.steps.iter().flat_map(|s| s.conditions.iter()) {
            if seen.insert(c.clone()) {
                out.push(c.clone());
            }
        }
        let positive: Vec<Expr> = out
            .iter()
            .filter_map(|c| match c {
                Condition::Positive(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        out.retain(|c| match c {
            Condition::NonZero(e) => !positive
                .iter()
                .any(|p| p == e || *e == Expr::call(crate::expr::Func::Sqrt, p.clone())),
            _ => true,
        });
        out
    }

    /// The context hypotheses (by number, from one) that some step used.
    pub fn assumptions_used(&self) -> Vec<usize> {
        let mut used: Vec<usize> = self
            .steps
            .iter()
            .filter(|s| s.step.rule == "use-hypothesis")
            .filter_map(|s| s.step.uses.as_deref()?.parse().ok())
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }

    /// Replay one step; on success the chain grows by one equality.
    pub fn apply(&mut self, step: Step) -> Result<(), KernelError> {
        let r = replay(&self.context, &self.current, &step)?;
        let before = std::mem::replace(&mut self.current, r.after.clone());
        self.steps.push(CheckedStep {
            step,
            before,
            after: r.after,
            conditions: r.open,
            discharged: r.discharged,
        });
        Ok(())
    }

    /// Replay steps in order, failing with the number (from zero) of the first bad one.
    pub fn replay(
        context: Arc<Context>,
        goal: Expr,
        steps: Vec<Step>,
    ) -> Result<Proof, (usize, KernelError)> {
        let mut proof = Proof::start(context, goal).map_err(|e| (0, e))?;
        for (i, s) in steps.into_iter().enumerate() {
            proof.apply(s).map_err(|e| (i, e))?;
        }
        Ok(proof)
    }
}

/// What `step` turns `term` into, and the side conditions left open. Pure: no proof changes.
pub fn rewrite(
    ctx: &Context,
    term: &Expr,
    step: &Step,
) -> Result<(Expr, Vec<Condition>), KernelError> {
    replay(ctx, term, step).map(|r| (r.after, r.open))
}

/// One replayed step: the new term and its side conditions, decided or carried.
struct Replayed {
    after: Expr,
    open: Vec<Condition>,
    discharged: Vec<Condition>,
}

fn replay(ctx: &Context, term: &Expr, step: &Step) -> Result<Replayed, KernelError> {
    let rule =
        rules::rule(&step.rule).ok_or_else(|| KernelError::UnknownRule(step.rule.clone()))?;
    let Located {
        sub,
        binders,
        variables,
    } = locate(term, &step.position)?;
    let (new, conditions) = match &rule.body {
        RuleBody::Rewrite {
            lhs,
            rhs,
            conditions,
        } => {
            check_binding_domain(&step.binding, lhs, rhs, conditions)?;
            if step.uses.is_some() || step.replacement.is_some() {
                return Err(KernelError::Binding(
                    "this rule takes no `uses` or `replacement`".into(),
                ));
            }
            let (from, to) = if step.reversed {
                (rhs, lhs)
            } else {
                (lhs, rhs)
            };
            let from = instantiate(from, &step.binding)?;
            if &from != sub {
                return Err(KernelError::Mismatch {
                    expected: from,
                    found: sub.clone(),
                });
            }
            let to = instantiate(to, &step.binding)?;
            let conds = conditions
                .iter()
                .map(|c| instantiate_condition(c, &step.binding))
                .collect::<Result<Vec<_>, _>>()?;
            (to, conds)
        }
        RuleBody::Builtin(b) => builtin::apply(*b, ctx, sub, step, &variables)?,
    };
    let new = new.reshape_all();
    // A new derivative must be one the goal could have had; and no range may come to run
    // to the variable of an enclosing derivative.
    validate::check_derivatives(ctx, &new).map_err(KernelError::NotApplicable)?;
    for x in &variables {
        if validate::runs_to(&new, x) {
            return Err(KernelError::NotApplicable(format!(
                "a range would run to `{x}`, the variable of an enclosing derivative"
            )));
        }
    }
    // A rewrite never introduces a free index: that would let an outer sum capture it.
    let before_free = sub.free_indices();
    if let Some(extra) = new.free_indices().difference(&before_free).next() {
        return Err(KernelError::NotApplicable(format!(
            "the result would introduce the free index `{extra}`"
        )));
    }
    let mut open = Vec::new();
    let mut discharged = Vec::new();
    for c in conditions.into_iter().flat_map(conditions::split) {
        match conditions::decide(ctx, &c, &binders) {
            Verdict::Holds => {
                if !discharged.contains(&c) {
                    discharged.push(c)
                }
            }
            Verdict::Fails => return Err(KernelError::ConditionFails(c)),
            Verdict::Unknown => {
                // Undecided about an index bound by a sum: it must hold over the whole range.
                let c = conditions::quantify(c, &binders);
                if !open.contains(&c) {
                    open.push(c)
                }
            }
        }
    }
    let after = splice(term, &step.position, new)
        .ok_or_else(|| KernelError::NoSuchPosition(step.position.clone()))?;
    if after.depth() > crate::expr::MAX_DEPTH {
        return Err(KernelError::TooLarge("the result nests too deeply".into()));
    }
    Ok(Replayed {
        after,
        open,
        discharged,
    })
}

/// `term` with the subterm at `path` replaced, each enclosing node put back in parser
/// shape (so `-x` with `x := 3` is the number `-3`).
fn splice(term: &Expr, path: &[usize], new: Expr) -> Option<Expr> {
    let Some((&first, rest)) = path.split_first() else {
        return Some(new);
    };
    let child = splice(term.children().get(first)?, rest, new)?;
    let mut out = term.clone();
    *out.child_mut(first)? = child;
    Some(out.reshape())
}

/// A subterm and what encloses it.
struct Located<'a> {
    sub: &'a Expr,
    /// The sums enclosing it, outermost first: index and range.
    binders: Vec<(String, Bound, Bound)>,
    /// The names of the variables of the derivatives enclosing it.
    variables: Vec<String>,
}

/// The subterm at `path`. The variable of a derivative is not a subterm: no path enters it.
fn locate<'a>(term: &'a Expr, path: &[usize]) -> Result<Located<'a>, KernelError> {
    let mut e = term;
    let mut binders = Vec::new();
    let mut variables = Vec::new();
    for &i in path {
        match e {
            Expr::Sum(s) => binders.push((s.index.clone(), s.lo.clone(), s.hi.clone())),
            Expr::D(_, x) if i == 1 => {
                return Err(KernelError::NotApplicable(format!(
                    "`{x}` is the variable of a derivative, not a subterm to rewrite"
                )))
            }
            Expr::D(_, x) => {
                if let Expr::Sym(n) | Expr::Idx(n, _) = &**x {
                    variables.push(n.clone());
                }
            }
            _ => {}
        }
        e = e
            .children()
            .get(i)
            .ok_or_else(|| KernelError::NoSuchPosition(path.to_vec()))?;
    }
    Ok(Located {
        sub: e,
        binders,
        variables,
    })
}

/// The metavariables of a rule must be exactly those the binding gives values to.
fn check_binding_domain(
    b: &Binding,
    lhs: &Expr,
    rhs: &Expr,
    conds: &[Condition],
) -> Result<(), KernelError> {
    let mut terms = BTreeSet::new();
    let mut indices = BTreeSet::new();
    let mut bounds = BTreeSet::new();
    let mut all: Vec<&Expr> = vec![lhs, rhs];
    for c in conds {
        all.extend(c.terms());
        match c {
            Condition::IndexFree(Index::Name(k), _) => {
                indices.insert(k.clone());
            }
            Condition::RangeLength(lo, hi) => {
                for bd in [lo, hi] {
                    if let Bound::Sym(s) = bd {
                        bounds.insert(s.clone());
                    }
                }
            }
            Condition::IndexEq(i, j) | Condition::IndexNe(i, j) => {
                for k in [i, j] {
                    if let Index::Name(k) = k {
                        indices.insert(k.clone());
                    }
                }
            }
            Condition::InRange(j, lo, hi) => {
                if let Index::Name(j) = j {
                    indices.insert(j.clone());
                }
                for bd in [lo, hi] {
                    if let Bound::Sym(s) = bd {
                        bounds.insert(s.clone());
                    }
                }
            }
            _ => {}
        }
    }
    for e in all {
        metavars(e, &mut terms, &mut indices, &mut bounds);
    }
    // A range metavariable may also stand in a term, as in `(B - A + 1)*C`.
    terms.retain(|t| !bounds.contains(t));
    let same =
        |want: &BTreeSet<String>, got: Vec<&String>, kind: &str| -> Result<(), KernelError> {
            let got: BTreeSet<String> = got.into_iter().cloned().collect();
            if let Some(m) = want.difference(&got).next() {
                return Err(KernelError::Binding(format!(
                    "{kind} metavariable `{m}` is unbound"
                )));
            }
            if let Some(m) = got.difference(want).next() {
                return Err(KernelError::Binding(format!(
                    "`{m}` is not a {kind} metavariable of this rule"
                )));
            }
            Ok(())
        };
    same(&terms, b.terms.keys().collect(), "term")?;
    same(&indices, b.indices.keys().collect(), "index")?;
    same(&bounds, b.bounds.keys().collect(), "range")?;
    for (name, value) in &b.terms {
        if is_variable_metavar(name) && !value.is_variable() {
            return Err(KernelError::Binding(format!(
                "`{name}` must be a variable, not `{value}`"
            )));
        }
    }
    Ok(())
}

fn metavars(
    e: &Expr,
    terms: &mut BTreeSet<String>,
    indices: &mut BTreeSet<String>,
    bounds: &mut BTreeSet<String>,
) {
    let note_index = |i: &Index, indices: &mut BTreeSet<String>| {
        if let Index::Name(n) = i {
            indices.insert(n.clone());
        }
    };
    match e {
        Expr::Sym(s) if is_metavar(s) => {
            terms.insert(s.clone());
        }
        Expr::Idx(_, ix) => ix.iter().for_each(|i| note_index(i, indices)),
        Expr::Delta(a, b) => {
            note_index(a, indices);
            note_index(b, indices);
        }
        Expr::Sum(s) => {
            indices.insert(s.index.clone());
            for bd in [&s.lo, &s.hi] {
                if let Bound::Sym(b) = bd {
                    bounds.insert(b.clone());
                }
            }
        }
        _ => {}
    }
    for c in e.children() {
        metavars(c, terms, indices, bounds);
    }
}

fn inst_index(i: &Index, b: &Binding) -> Result<Index, KernelError> {
    match i {
        Index::Name(n) => b
            .indices
            .get(n)
            .cloned()
            .ok_or_else(|| KernelError::Binding(format!("index `{n}` is unbound"))),
        Index::Int(_) => Ok(i.clone()),
    }
}

fn inst_bound(x: &Bound, b: &Binding) -> Result<Bound, KernelError> {
    match x {
        Bound::Sym(s) => b
            .bounds
            .get(s)
            .cloned()
            .ok_or_else(|| KernelError::Binding(format!("range `{s}` is unbound"))),
        Bound::Int(_) => Ok(x.clone()),
    }
}

/// Replace a pattern's metavariables by their values. Values are inserted as they are:
/// a summand metavariable is meant to mention the sum's bound index.
pub fn instantiate(p: &Expr, b: &Binding) -> Result<Expr, KernelError> {
    Ok(match p {
        Expr::Sym(s) if is_metavar(s) => match (b.terms.get(s), b.bounds.get(s)) {
            (Some(t), _) => t.clone(),
            (None, Some(Bound::Int(i))) => Expr::int(*i),
            (None, Some(Bound::Sym(n))) => Expr::Sym(n.clone()),
            (None, None) => return Err(KernelError::Binding(format!("`{s}` is unbound"))),
        },
        Expr::Idx(name, ix) => Expr::Idx(
            name.clone(),
            ix.iter()
                .map(|i| inst_index(i, b))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Delta(x, y) => Expr::Delta(inst_index(x, b)?, inst_index(y, b)?),
        Expr::Sum(s) => {
            let Index::Name(index) = inst_index(&Index::Name(s.index.clone()), b)? else {
                return Err(KernelError::Binding(
                    "a summation index must be a name".into(),
                ));
            };
            let (lo, hi) = (inst_bound(&s.lo, b)?, inst_bound(&s.hi, b)?);
            // Printers show the bounds of any range but the usual `1..n`.
            let explicit_bounds = !(lo == Bound::Int(1) && matches!(hi, Bound::Sym(_)));
            Expr::Sum(Sum {
                index,
                lo,
                hi,
                explicit_bounds,
                body: Arc::new(instantiate(&s.body, b)?),
            })
        }
        Expr::Neg(x) => Expr::neg(instantiate(x, b)?),
        _ => {
            let mut err = None;
            let out = p.map_children(|c| {
                instantiate(c, b).unwrap_or_else(|e| {
                    err = Some(e);
                    c.clone()
                })
            });
            if let Some(e) = err {
                return Err(e);
            }
            out
        }
    })
}

fn instantiate_condition(c: &Condition, b: &Binding) -> Result<Condition, KernelError> {
    Ok(match c {
        Condition::NonZero(e) => Condition::NonZero(instantiate(e, b)?),
        Condition::Positive(e) => Condition::Positive(instantiate(e, b)?),
        Condition::Integer(e) => Condition::Integer(instantiate(e, b)?),
        Condition::Natural(e) => Condition::Natural(instantiate(e, b)?),
        Condition::IndexFree(k, e) => Condition::IndexFree(inst_index(k, b)?, instantiate(e, b)?),
        Condition::FreeOf(x, e) => Condition::FreeOf(instantiate(x, b)?, instantiate(e, b)?),
        Condition::InRange(j, lo, hi) => {
            Condition::InRange(inst_index(j, b)?, inst_bound(lo, b)?, inst_bound(hi, b)?)
        }
        Condition::RangeLength(lo, hi) => {
            Condition::RangeLength(inst_bound(lo, b)?, inst_bound(hi, b)?)
        }
        Condition::IndexEq(i, j) => Condition::IndexEq(inst_index(i, b)?, inst_index(j, b)?),
        Condition::IndexNe(i, j) => Condition::IndexNe(inst_index(i, b)?, inst_index(j, b)?),
        Condition::ForAll(..) => {
            return Err(KernelError::Binding("rules state no quantified conditions".into()))
        }
    })
}
