//! The trusted kernel: the only code that can make a checked derivation.
//!
//! A [`Proof`] is a chain `e0 = e1 = … = en` under hypotheses. Its fields are private
//! and the only way to extend it is [`Proof::apply`], which replays one [`Step`]:
//! look the rule up by name, instantiate it with the step's binding, require the
//! instantiated left side to equal the subterm at the step's position (up to names
//! of bound indices), splice in the right side, and record every side condition that
//! it cannot decide as a hypothesis. The kernel depends on the term language (`expr`) only.

mod builtin;
mod cases;
pub mod certificate;
mod conditions;
pub mod read;
pub mod ring;
pub mod rules;
pub mod table;
pub mod validate;
mod witness;

use crate::expr::{Bound, Context, Expr, Index, Sum};
use rules::{is_metavar, is_variable_metavar, Binding, Condition, RuleBody};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use conditions::{decide, depends_on, Verdict};

/// One proposed rewrite, as the engine proposes it and a certificate records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

/// Why the kernel refused a step (worded outside the kernel, in `crate::rules`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelError {
    UnknownRule(String),
    /// A metavariable the rule needs has no value, or the binding has one the rule lacks.
    Binding(String),
    NoSuchPosition(Vec<usize>),
    /// The instantiated left side (expected) is not the subterm at the position (found).
    Mismatch(Expr, Expr),
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

/// A sum enclosing a position: its index and range.
pub type Binder = (String, Bound, Bound);

/// A rewritten term, the side conditions left open and those discharged.
pub type Rewritten = (Expr, Vec<Condition>, Vec<Condition>);

/// A step the kernel accepted, with the whole term before and after it. Only a [`Proof`]
/// hands one out, by reference (its fields are public to read, not to forge: nothing outside
/// the kernel builds one, which `tests/trusted_base.rs` checks).
#[derive(Clone, Debug)]
pub struct CheckedStep {
    pub step: Step,
    pub before: Expr,
    pub after: Expr,
    /// The side conditions this step could not discharge.
    pub conditions: Vec<Condition>,
    /// The side conditions the kernel proved for this step.
    pub discharged: Vec<Condition>,
}

/// A checked chain of equalities `start = … = current` in a context, which may use the
/// lemmas it was started with.
#[derive(Clone, Debug)]
pub struct Proof {
    context: Arc<Context>,
    start: Expr,
    current: Expr,
    /// Shared, so a trial derivation that copies a proof copies one pointer per step.
    steps: Vec<Arc<CheckedStep>>,
    lemmas: Arc<[Lemma]>,
    /// At least the depth of `current`: a step then measures only what it brings in.
    depth: usize,
}

/// A proved equation `lhs = rhs` (an earlier goal's result), with the side conditions it
/// left open and the context hypotheses it used. Only [`Proof::lemma`] makes one, so a
/// lemma is always a replayed chain of the same context. Shared: every later goal's proof
/// holds the list of lemmas before it, a pointer each.
#[derive(Clone, Debug)]
pub struct Lemma(Arc<Proved>);

#[derive(Debug)]
pub struct Proved {
    context: Arc<Context>,
    lhs: Expr,
    rhs: Expr,
    conditions: Vec<Condition>,
    assumptions: Vec<usize>,
}

impl std::ops::Deref for Lemma {
    type Target = Proved;
    fn deref(&self) -> &Proved {
        &self.0
    }
}

impl Proved {
    pub fn lhs(&self) -> &Expr {
        &self.lhs
    }
    pub fn rhs(&self) -> &Expr {
        &self.rhs
    }
}

impl Proof {
    /// The trivial chain `goal = goal`, once the context and the goal pass
    /// [`validate::check_goal`] (what the `.deriv` parser enforces).
    pub fn start(context: Arc<Context>, goal: Expr) -> Result<Proof, KernelError> {
        Proof::start_with(context, goal, Vec::new())
    }

    /// [`Proof::start`], with `lemmas` (numbered from one) for steps of `use-lemma`; each
    /// must have been proved in this same context.
    pub fn start_with(
        context: Arc<Context>,
        goal: Expr,
        lemmas: Vec<Lemma>,
    ) -> Result<Proof, KernelError> {
        validate::check_goal(&context, &goal).map_err(KernelError::BadGoal)?;
        if lemmas.iter().any(|l| !Arc::ptr_eq(&l.context, &context) && l.context != context) {
            return Err(KernelError::BadGoal("a lemma was proved in another context".into()));
        }
        let (lemmas, depth) = (lemmas.into(), goal.depth());
        Ok(Proof { context, start: goal.clone(), current: goal, steps: Vec::new(), lemmas, depth })
    }

    /// The chain as a lemma for later goals: `start = current`, under its hypotheses.
    pub fn lemma(&self) -> Lemma {
        Lemma(Arc::new(Proved {
            context: self.context.clone(),
            lhs: self.start.clone(),
            rhs: self.current.clone(),
            conditions: self.hypotheses(),
            assumptions: self.assumptions_used(),
        }))
    }

    /// The lemmas the chain may use.
    pub fn lemmas(&self) -> &[Lemma] {
        &self.lemmas
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
    pub fn steps(&self) -> &[Arc<CheckedStep>] {
        &self.steps
    }

    /// Every undischarged side condition, without repeats, in order; a non-zero condition
    /// implied by a positivity condition in the list is left out.
    pub fn hypotheses(&self) -> Vec<Condition> {
        // First occurrences by an ordered set: a linear search compared each condition
        // with every one before it, and unequal nested terms compare level by level.
        let mut seen = BTreeSet::new();
        let conditions = self.steps.iter().flat_map(|s| &s.conditions);
        let mut out: Vec<Condition> = conditions.filter(|c| seen.insert(*c)).cloned().collect();
        let all = out.clone();
        let sqrt = |p: &Expr| Expr::call(crate::expr::Func::Sqrt, p.clone());
        // `r != 0` for `r = sqrt(s)` follows from `s > 0` as `sqrt(s) != 0` does.
        let value = |e: &Expr| match e {
            Expr::Sym(n) => self.context.definition(n).map_or(e.clone(), |d| d.body.clone()),
            _ => e.clone(),
        };
        let implied = |e: &Expr| {
            let v = value(e);
            let of = |p: &Expr| [e, &v].iter().any(|e| **e == *p || **e == sqrt(p));
            all.iter().any(|p| matches!(p, Condition::Positive(p) if of(p)))
        };
        out.retain(|c| !matches!(c, Condition::NonZero(e) if implied(e)));
        out
    }

    /// The context hypotheses (by number, from one) that some step used, directly or
    /// through a lemma.
    pub fn assumptions_used(&self) -> Vec<usize> {
        let number = |s: &CheckedStep| s.step.uses.as_deref()?.parse::<usize>().ok();
        let mut used = BTreeSet::new();
        for s in &self.steps {
            match s.step.rule.as_str() {
                "use-hypothesis" => used.extend(number(s)),
                "use-lemma" => used.extend(
                    number(s)
                        .and_then(|n| self.lemmas.get(n.checked_sub(1)?))
                        .map_or(&[][..], |l| &l.assumptions[..]),
                ),
                _ => {}
            }
        }
        used.into_iter().collect()
    }

    /// Replay one step; on success the chain grows by one equality.
    pub fn apply(&mut self, step: Step) -> Result<(), KernelError> {
        let ((after, conditions, discharged), depth) =
            rewrite_with(&self.context, &self.lemmas, &self.current, self.depth, &step)?;
        self.depth = depth;
        let before = std::mem::replace(&mut self.current, after.clone());
        self.steps.push(Arc::new(CheckedStep { step, before, after, conditions, discharged }));
        Ok(())
    }
}

/// What `step` turns `term` into: the new term, the side conditions left open and those
/// discharged. Pure: no proof changes. No lemma is in scope.
pub fn rewrite(ctx: &Context, term: &Expr, step: &Step) -> Result<Rewritten, KernelError> {
    Ok(rewrite_with(ctx, &[], term, usize::MAX, step)?.0)
}

/// [`rewrite`] with `lemmas` in scope for `use-lemma`, for a term at most `depth` deep;
/// with a bound on the depth of the result.
fn rewrite_with(
    ctx: &Context,
    lemmas: &[Lemma],
    term: &Expr,
    depth: usize,
    step: &Step,
) -> Result<(Rewritten, usize), KernelError> {
    let rule =
        rules::rule(&step.rule).ok_or_else(|| KernelError::UnknownRule(step.rule.clone()))?;
    let loc = locate(term, &step.position)?;
    let (sub, binders, variables) = (loc.sub, &loc.binders, &loc.variables);
    let (new, conditions) = match rule {
        RuleBody::Rewrite { lhs, rhs, conditions } => {
            if step.uses.is_some() || step.replacement.is_some() {
                return Err(KernelError::Binding(
                    "this rule takes no `uses` or `replacement`".into(),
                ));
            }
            // Read backwards, a derivative rule would bring a derivative out of nothing
            // (`0` to `D(step(u), x)`), judged as if no derivative were there.
            if step.reversed && lhs.any_once(&mut |t| matches!(t, Expr::D(..))) {
                return Err(KernelError::NotApplicable(
                    "a rule about derivatives is not read backwards".into(),
                ));
            }
            let (from, to) = if step.reversed { (rhs, lhs) } else { (lhs, rhs) };
            let mut used = BTreeSet::new();
            let from = inst(from, &step.binding, &mut used)?;
            if &from != sub {
                return Err(KernelError::Mismatch(from, sub.clone()));
            }
            let to = inst(to, &step.binding, &mut used)?;
            let conds = conditions
                .iter()
                .map(|c| inst_condition(c, &step.binding, &mut used))
                .collect::<Result<Vec<_>, _>>()?;
            check_binding(&step.binding, &used)?;
            (to, conds)
        }
        RuleBody::Builtin(b) => builtin::apply(*b, ctx, lemmas, &loc, step)?,
    };
    // In parser shape: `inst` reshapes what it builds, and values come in shape, so only
    // the top needs it (no rebuilding: the result shares the values' subterms).
    let new = new.reshape();
    // A new derivative must be one the goal could have had, none may come inside a
    // derivative with respect to a defined name, and no range may come to run to the
    // variable of an enclosing derivative.
    validate::check_term(ctx, &new, binders, Some(term)).map_err(KernelError::NotApplicable)?;
    for x in variables {
        let held = ctx.definition(x).is_some() && new.any_once(&mut |t| matches!(t, Expr::D(..)));
        if held || validate::runs_to(&new, x) {
            return Err(KernelError::NotApplicable(format!(
                "`{x}` is the variable of an enclosing derivative: no range may run to it, nor, for a defined name, a derivative come inside it"
            )));
        }
    }
    // A rewrite never introduces a free index, which an outer sum could capture, but for a
    // fixed label (free everywhere) that no sum here binds.
    let (before, bound) = (sub.free_indices(), |k: &String| binders.iter().any(|(b, ..)| b == k));
    let mut extra = new.free_indices().into_iter().filter(|k| !before.contains(k));
    if let Some(extra) = extra.find(|k| bound(k) || !ctx.fixed_labels().contains_key(k)) {
        return Err(KernelError::NotApplicable(format!(
            "the result would introduce the free index `{extra}`"
        )));
    }
    // Each list without repeats, seen by an ordered set: nested conditions compare level
    // by level, and a step may divide by every bracket of a long product.
    let (mut open, mut discharged) = (Vec::new(), Vec::new());
    let (mut open_seen, mut discharged_seen) = (BTreeSet::new(), BTreeSet::new());
    // At or inside a derivative a carried condition must hold near the point, not only at
    // it: `u != 0` does for a continuous `u`, not for one that jumps over 0 (`step(x) - 1/2`).
    // A rule read backwards brings its derivative in (`0` to `D(step(u), x)`).
    let differentiating =
        matches!(sub, Expr::D(..)) || matches!(new, Expr::D(..)) || !variables.is_empty();
    // Inside a derivative with respect to a defined name (this one's too), a condition
    // read off the name's definition holds at the point only: enough for an open condition
    // on a continuous term, not for `u >= 0` (`a = y^2`) nor on a term that may jump.
    let own = match sub {
        Expr::D(_, x) => validate::name_of(x),
        _ => None,
    };
    let names: Vec<&str> = variables.iter().map(String::as_str).chain(own).collect();
    // The held names keep their definitions for what depends on what (a hypothesis that
    // reaches a size through one still touches it), but their values are opaque.
    let held = names.iter().any(|x| ctx.definition(x).is_some()).then(|| {
        let mut held = ctx.clone();
        for d in held.definitions.iter_mut() {
            if validate::name_of(&d.name).is_some_and(|n| names.contains(&n)) {
                d.body = Expr::Add(vec![d.body.clone(), Expr::Sym(OPAQUE.into())].into());
            }
        }
        held
    });
    let jumps = |c: &Condition| {
        KernelError::NotApplicable(format!(
            "inside a derivative, `{c}` must hold near the point, and its term may jump"
        ))
    };
    let mut work: Vec<Condition> = conditions.into_iter().flat_map(conditions::split).collect();
    work.reverse();
    // Each condition decided once: a step may divide by the same term hundreds of times.
    let mut decided = BTreeSet::new();
    while let Some(c) = work.pop() {
        if !decided.insert(c.clone()) {
            continue;
        }
        // Worked out at most once, and only where it matters.
        let may_jump = std::cell::OnceCell::new();
        let may_jump = || *may_jump.get_or_init(|| conditions::may_jump(ctx, &c));
        let judge = match (&c, &held) {
            (Condition::NonNegative(_), Some(held)) => held,
            (_, Some(held)) if may_jump() => held,
            _ => ctx,
        };
        let (list, seen, c) = match conditions::decide(judge, &c, binders) {
            Verdict::Holds => (&mut discharged, &mut discharged_seen, c),
            Verdict::Fails => return Err(KernelError::ConditionFails(c)),
            Verdict::Unknown if differentiating && may_jump() => return Err(jumps(&c)),
            // Undecided about an index bound by a sum: it must hold over the whole range.
            Verdict::Unknown => {
                // A power `u^v` in it is continuous near the point if `u > 0` there.
                if let Some(t) = conditions::term_of(&c).filter(|_| differentiating) {
                    let bases = conditions::bases_that_may_jump(ctx, t).ok_or_else(|| jumps(&c))?;
                    work.extend(bases.into_iter().map(Condition::Positive));
                }
                (&mut open, &mut open_seen, conditions::quantify(c, binders))
            }
        };
        if seen.insert(c.clone()) {
            list.push(c)
        }
    }
    // Outside the new subterm the result is no deeper than the term (splicing only folds).
    let deepest = depth.max(step.position.len() + new.depth());
    let after = splice(term, &step.position, new)
        .ok_or_else(|| KernelError::NoSuchPosition(step.position.clone()))?;
    let depth = if deepest <= crate::expr::MAX_DEPTH { deepest } else { after.depth() };
    if depth > crate::expr::MAX_DEPTH {
        return Err(KernelError::TooLarge("the result nests too deeply".into()));
    }
    Ok(((after, open, discharged), depth))
}

/// `term` with the subterm at `path` replaced, each enclosing node put back in parser
/// shape (so `-x` with `x := 3` is the number `-3`).
fn splice(term: &Expr, path: &[usize], new: Expr) -> Option<Expr> {
    let Some((&first, rest)) = path.split_first() else {
        return Some(new);
    };
    let child = splice(term.children().nth(first)?, rest, new)?;
    let mut at = 0..;
    let out = term.map_children(|c| if at.next() == Some(first) { &child } else { c }.clone());
    Some(out.reshape())
}

/// A symbol no input can name (`'` is not part of a name): added to the body of a held
/// definition, it leaves the body's value unknown to the deciders.
const OPAQUE: &str = "held'";

/// A subterm and what encloses it.
pub(crate) struct Located<'a> {
    sub: &'a Expr,
    /// The sums enclosing it, outermost first: index and range.
    binders: Vec<Binder>,
    /// The names of the variables of the derivatives enclosing it.
    pub(crate) variables: Vec<String>,
}

/// The subterm at `path`. The variable of a derivative is not a subterm: no path enters it.
pub(crate) fn locate<'a>(term: &'a Expr, path: &[usize]) -> Result<Located<'a>, KernelError> {
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
        e = e.children().nth(i).ok_or_else(|| KernelError::NoSuchPosition(path.to_vec()))?;
    }
    Ok(Located { sub: e, binders, variables })
}

/// The metavariables a rule used, as `t:X`, `i:k` or `b:A` (term, index, range).
type Used = BTreeSet<String>;

/// The binding gives values to exactly the metavariables the rule used, and `X`, `Y` only
/// match variables.
fn check_binding(b: &Binding, used: &Used) -> Result<(), KernelError> {
    let terms = b.terms.keys().map(|n| format!("t:{n}"));
    let indices = b.indices.keys().map(|n| format!("i:{n}"));
    let mut keys = terms.chain(indices).chain(b.bounds.keys().map(|n| format!("b:{n}")));
    if let Some(extra) = keys.find(|k| !used.contains(k)) {
        let extra = &extra[2..];
        return Err(KernelError::Binding(format!("`{extra}` is not a metavariable of this rule")));
    }
    let mut terms = b.terms.iter();
    if let Some((name, value)) = terms.find(|(n, v)| is_variable_metavar(n) && !v.is_variable()) {
        return Err(KernelError::Binding(format!("`{name}` must be a variable, not `{value}`")));
    }
    Ok(())
}

/// The value of metavariable `name` of `kind` (`t`erm, `i`ndex, `b`ound) in `map`, noted
/// as used.
fn value<T: Clone>(
    kind: char,
    map: &BTreeMap<String, T>,
    name: &str,
    used: &mut Used,
) -> Option<T> {
    let v = map.get(name).cloned()?;
    used.insert(format!("{kind}:{name}"));
    Some(v)
}

fn inst_index(i: &Index, b: &Binding, used: &mut Used) -> Result<Index, KernelError> {
    match i {
        Index::Name(n) => value('i', &b.indices, n, used)
            .ok_or_else(|| KernelError::Binding(format!("index `{n}` is unbound"))),
        Index::Int(_) => Ok(i.clone()),
    }
}

fn inst_bound(x: &Bound, b: &Binding, used: &mut Used) -> Result<Bound, KernelError> {
    match x {
        // Rule patterns have no offsets; a certificate's `n+1` is not a metavariable.
        Bound::Sym(s, 0) if is_metavar(s) => value('b', &b.bounds, s, used)
            .ok_or_else(|| KernelError::Binding(format!("range `{s}` is unbound"))),
        _ => Ok(x.clone()),
    }
}

/// Replace a pattern's metavariables by their values. Values are inserted as they are:
/// a summand metavariable is meant to mention the sum's bound index.
pub fn instantiate(p: &Expr, b: &Binding) -> Result<Expr, KernelError> {
    inst(p, b, &mut BTreeSet::new())
}

fn inst(p: &Expr, b: &Binding, used: &mut Used) -> Result<Expr, KernelError> {
    Ok(match p {
        // A range metavariable may also stand in a term, as in `(B - A + 1)*C`: then it is
        // the range's value, never a term of its own.
        Expr::Sym(s) if is_metavar(s) => match value('b', &b.bounds, s, used) {
            Some(bound) => bound.term(),
            None => value('t', &b.terms, s, used)
                .ok_or_else(|| KernelError::Binding(format!("`{s}` is unbound")))?,
        },
        Expr::Idx(name, ix) => Expr::Idx(
            name.clone(),
            ix.iter().map(|i| inst_index(i, b, used)).collect::<Result<_, _>>()?,
        ),
        Expr::Delta(x, y) => Expr::Delta(inst_index(x, b, used)?, inst_index(y, b, used)?),
        Expr::Sum(s) => {
            let Index::Name(index) = inst_index(&Index::Name(s.index.clone()), b, used)? else {
                return Err(KernelError::Binding("a summation index must be a name".into()));
            };
            let (lo, hi) = (inst_bound(&s.lo, b, used)?, inst_bound(&s.hi, b, used)?);
            Sum::over(index, lo, hi, inst(&s.body, b, used)?)
        }
        Expr::Neg(x) => Expr::neg(inst(x, b, used)?),
        _ => p.try_map_children(|c| inst(c, b, used))?.reshape(),
    })
}

fn inst_condition(c: &Condition, b: &Binding, used: &mut Used) -> Result<Condition, KernelError> {
    use Condition as C;
    Ok(match c {
        C::NonZero(e) => C::NonZero(inst(e, b, used)?),
        C::Positive(e) => C::Positive(inst(e, b, used)?),
        C::NonNegative(e) => C::NonNegative(inst(e, b, used)?),
        C::Integer(e) => C::Integer(inst(e, b, used)?),
        C::Natural(e) => C::Natural(inst(e, b, used)?),
        C::IndexFree(k, e) => C::IndexFree(inst_index(k, b, used)?, inst(e, b, used)?),
        C::FreeOf(x, e) => C::FreeOf(inst(x, b, used)?, inst(e, b, used)?),
        C::RangeLength(lo, hi) => {
            C::RangeLength(inst_bound(lo, b, used)?, inst_bound(hi, b, used)?)
        }
        C::IndexNe(i, j) => C::IndexNe(inst_index(i, b, used)?, inst_index(j, b, used)?),
        // What the builtins state (a range, a case, a quantified condition), the table does not.
        C::InRange(..) | C::OutOfRange(..) | C::IndexEq(..) | C::ForAll(..) => {
            return Err(KernelError::Binding("the table states no such condition".into()))
        }
    })
}
