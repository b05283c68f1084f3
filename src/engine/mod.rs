//! Strategies that propose steps: differentiate top-down, simplify toward the textbook
//! form, collapse Kronecker deltas, use hypotheses and fold definitions back.
//!
//! Nothing here is trusted. Every step goes through [`kernel::Proof::apply`]; a step the
//! kernel refuses is an engine bug reported as [`EngineError::Refused`].

pub mod algebra;
mod bridge;
pub mod cases;
mod clearing;
mod differentiate;
pub mod fold;
mod identities;
pub mod lemmas;
pub mod matrix_form;
mod poly;
pub mod recognise;
pub mod simplify;
mod sums;

use crate::expr::{Context, Expr};
use crate::kernel::{KernelError, Lemma, Proof, Step};
use crate::rules::RuleId;
use crate::terms::{more_ring_nodes_than, ExprExt};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// Why the engine could not finish a derivation.
#[derive(Debug, Clone)]
pub enum EngineError {
    /// The kernel refused a step the engine proposed.
    Refused {
        step: String,
        at: String,
        reason: KernelError,
    },
    /// The derivative does not exist as written: a side condition is false (`0^x`,
    /// `log(-1)`) or a term divides by zero.
    Undefined {
        step: String,
        at: String,
        reason: KernelError,
    },
    /// The input is outside what the engine handles.
    Unsupported(String),
    TooLarge(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Refused { step, at, reason } => {
                write!(f, "the kernel refused step `{step}` at `{at}`: {reason}")
            }
            EngineError::Undefined { step, at, reason } => {
                write!(f, "undefined: step `{step}` at `{at}` needs {reason}")
            }
            EngineError::Unsupported(m) => write!(f, "{m}"),
            EngineError::TooLarge(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// A proof under construction, with helpers to propose steps at positions.
#[derive(Clone)]
pub struct Driver {
    pub proof: Proof,
    /// Steps taken, as a budget against runaway strategies.
    budget: usize,
    /// Definitions a `via` clause keeps folded where the goal also reaches the variable
    /// directly (`xh_i` through `mu` and `v`): differentiating one derives it on its own.
    pub intermediates: Vec<String>,
    /// Brackets found already in their best form by [`Driver::inner_first`]: a bracket
    /// met again (the shared denominators of a continued fraction's derivative, in every
    /// factor) is not simplified again, nor are the brackets inside it.
    in_best_form: HashSet<algebra::Key>,
    /// Shared subterms with no algebra inside, which [`simplify::tidy`] leaves as they are,
    /// by address; each entry holds its subterm, so no address is reused while it is here.
    /// Tidying `cos(sin^k(x))` for every k then costs each `sin` once, not k times.
    ring_free: HashMap<*const Expr, Arc<Expr>>,
}

/// Most steps one derivation may take.
const STEP_BUDGET: usize = 20_000;

/// The most one algebra step should change, by [`crate::terms::edit_size`]: a textbook move
/// (expand a product, cancel a factor, collect terms) rewrites a few nodes around the terms
/// it moves. `tests/step_size.rs` holds every writeup to it.
pub const ONE_MOVE: usize = 16;

impl Driver {
    /// A driver for the goal, if the kernel accepts to start from it.
    pub fn new(ctx: Arc<Context>, goal: Expr) -> Result<Driver, EngineError> {
        Driver::with_lemmas(ctx, goal, Vec::new())
    }

    /// A driver whose proof may use `lemmas`, the results of earlier goals.
    pub fn with_lemmas(
        ctx: Arc<Context>,
        goal: Expr,
        lemmas: Vec<Lemma>,
    ) -> Result<Driver, EngineError> {
        let proof = Proof::start_with(ctx, goal, lemmas)
            .map_err(|e| EngineError::Unsupported(e.to_string()))?;
        Ok(Driver::from_proof(proof))
    }

    /// A driver that goes on from a checked proof.
    pub fn from_proof(proof: Proof) -> Driver {
        Driver {
            proof,
            budget: STEP_BUDGET,
            intermediates: Vec::new(),
            in_best_form: HashSet::new(),
            ring_free: HashMap::new(),
        }
    }

    /// Whether the shared subterm `e` holds no ring operation (numbers aside) at any depth,
    /// remembered for the rest of the derivation.
    pub fn ring_free(&mut self, e: &Arc<Expr>) -> bool {
        if self.ring_free.contains_key(&Arc::as_ptr(e)) {
            return true;
        }
        let free = match &**e {
            Expr::Num(_) | Expr::Sym(_) | Expr::Idx(..) | Expr::Delta(..) => true,
            _ if simplify::is_ring_node(e) => false,
            // A call, a power with a symbolic exponent, a derivative or a sum.
            _ => simplify::argument_arcs(e).iter().all(|a| self.ring_free(a)),
        };
        if free {
            self.ring_free.insert(Arc::as_ptr(e), e.clone());
        }
        free
    }

    pub fn ctx(&self) -> &Context {
        self.proof.context()
    }

    pub fn current(&self) -> &Expr {
        self.proof.current()
    }

    pub fn at(&self, path: &[usize]) -> Option<&Expr> {
        self.current().at(path)
    }

    /// Propose a step; the kernel decides.
    pub fn apply(&mut self, step: Step) -> Result<(), EngineError> {
        if self.budget == 0 {
            return Err(EngineError::TooLarge("the derivation needs too many steps".into()));
        }
        self.budget -= 1;
        // Terms the engine built go to the kernel in parser shape, sharing what already was.
        let mut step = step;
        step.replacement = step.replacement.map(|r| r.shaped());
        step.binding.terms.values_mut().for_each(|v| *v = v.shaped());
        let position = step.position.clone();
        let name = step.rule.clone();
        // A refused step leaves the term as it was, so the message can print it then.
        let refused = self.proof.apply(step).err();
        let Some(reason) = refused else {
            return Ok(());
        };
        let at = self.at(&position).map(|e| e.to_string()).unwrap_or_default();
        Err(match reason {
            KernelError::TooLarge(m) => EngineError::TooLarge(m),
            reason @ (KernelError::ConditionFails(_) | KernelError::Undefined(_)) => {
                EngineError::Undefined { step: name, at, reason }
            }
            reason => EngineError::Refused { step: name, at, reason },
        })
    }

    /// Replace the subterm at `path` by a ring-equal term (no step if it is unchanged).
    /// A change larger than [`ONE_MOVE`] is taken in smaller moves, as a textbook does:
    /// the brackets inside first, each to its own best form, then the rest.
    pub fn ring(&mut self, path: &[usize], new: Expr) -> Result<(), EngineError> {
        let Some(old) = self.at(path).cloned() else {
            return self.ring_step(path, new);
        };
        // No step changes more nodes than its two sides have, atoms counting one: small
        // ones need no measure.
        let large = more_ring_nodes_than(&[&old, &new], ONE_MOVE);
        // Products (sums) that share factors (terms) differ at most in their two tops and
        // the rest: measured so, dropping a factor 1 from a long product, or flattening
        // `cos(u)*D(u)` into one, needs no edit size.
        let near = || {
            let rest = crate::kernel::ring::uncommon(&old, &new);
            rest.is_some_and(|(o, n)| !more_ring_nodes_than(&[&o, &n], ONE_MOVE - 2))
        };
        if large && old != new && !near() && crate::terms::edit_size(&old, &new) > ONE_MOVE {
            self.inner_first(path)?;
            self.distribute_first(path, &new)?;
            self.midpoint_first(path, &new, 0)?;
            self.bridge(path, &new)?;
        }
        self.ring_step(path, new)
    }

    /// Toward `new` still too far from the term at `path`: first to the normal form of
    /// either side that best halves the way (the larger of its two moves smallest), itself
    /// reached the same way, a few halvings deep.
    fn midpoint_first(
        &mut self,
        path: &[usize],
        new: &Expr,
        depth: usize,
    ) -> Result<(), EngineError> {
        use crate::terms::edit_size;
        let Some(old) = self.at(path).cloned() else { return Ok(()) };
        let whole = edit_size(&old, new);
        // Everything cancelling to a number is one move, however large.
        if whole <= ONE_MOVE || matches!(new, Expr::Num(_)) {
            return Ok(());
        }
        let mids = simplify::candidates(&old).into_iter().chain(simplify::candidates(new));
        let worse = |m: &Expr| edit_size(&old, m).max(edit_size(m, new));
        let best = mids.filter(|m| *m != old && m != new).min_by_key(|m| (worse(m), m.size()));
        match best {
            Some(m) if worse(&m) < whole => {
                if depth < 3 {
                    self.midpoint_first(path, &m, depth + 1)?;
                }
                self.bridge(path, &m)?;
                self.try_ring_step(path, m)
            }
            _ => Ok(()),
        }
    }

    /// Toward an expansion `new` still too far from the product at `path`: multiply its
    /// one sum factor out first (`g·(A + B)` as `g·A + g·B`), then expand each term on its
    /// own into the terms of `new` it gives.
    fn distribute_first(&mut self, path: &[usize], new: &Expr) -> Result<(), EngineError> {
        let Some(Expr::Mul(fs)) = self.at(path).cloned() else {
            return Ok(());
        };
        let mut sums = fs.iter().enumerate().filter(|(_, f)| matches!(f, Expr::Add(_)));
        let (Some((at, Expr::Add(terms))), None) = (sums.next(), sums.next()) else {
            return Ok(());
        };
        if !matches!(new, Expr::Add(ts) if ts.len() > terms.len()) {
            return Ok(());
        }
        let times = |t: &Expr| {
            let mut factors = fs.to_vec();
            factors[at] = t.clone();
            Expr::mul(factors)
        };
        self.try_ring_step(path, Expr::add(terms.iter().map(times).collect()))?;
        // Each part becomes the run of `new`'s terms it is equal to, so that the last step
        // only drops the brackets between the runs.
        let Expr::Add(wanted) = new else { return Ok(()) };
        let mut from = 0;
        for i in 0..terms.len() {
            let p: Vec<usize> = path.iter().copied().chain([i]).collect();
            let Some(part) = self.at(&p).cloned() else { break };
            let run = (from + 1..=wanted.len()).find(|&end| {
                let run = Expr::add(wanted[from..end].to_vec());
                crate::kernel::ring::ring_equal(&part, &run).unwrap_or(false)
            });
            let Some(end) = run else { break };
            self.try_ring_step(&p, Expr::add(wanted[from..end].to_vec()))?;
            from = end;
        }
        Ok(())
    }

    /// An optional move on the way to a whole step: one the kernel refuses is left out (the
    /// whole step still comes), but running out of budget or size is not.
    fn try_ring_step(&mut self, path: &[usize], new: Expr) -> Result<(), EngineError> {
        match self.ring_step(path, new) {
            Err(EngineError::TooLarge(m)) => Err(EngineError::TooLarge(m)),
            _ => Ok(()),
        }
    }

    fn ring_step(&mut self, path: &[usize], new: Expr) -> Result<(), EngineError> {
        if self.at(path).is_some_and(|old| *old == new) {
            return Ok(());
        }
        let mut s = RuleId::RingNormalize.step(path.to_vec());
        s.replacement = Some(new);
        self.apply(s)
    }

    /// Each bracket of the ring region at `path` to its best form, innermost first, one
    /// step each. A bracket whose best form divides by something new is left to the whole
    /// step (it would add a side condition), and so is one the kernel refuses.
    fn inner_first(&mut self, path: &[usize]) -> Result<(), EngineError> {
        let Some(e) = self.at(path).cloned() else {
            return Ok(());
        };
        for (i, child) in e.children().enumerate() {
            if !simplify::is_ring_node(child) || child.children().next().is_none() {
                continue;
            }
            let key = algebra::Key::of(child.clone());
            if self.in_best_form.contains(&key) {
                continue;
            }
            let p: Vec<usize> = path.iter().copied().chain([i]).collect();
            self.inner_first(&p)?;
            let Some(now) = self.at(&p).cloned() else { continue };
            let Some(best) = simplify::best_form(&now).filter(|b| *b != now) else {
                self.in_best_form.insert(algebra::Key::of(now));
                continue;
            };
            let divisors = |e: &Expr| {
                let mut out = Vec::new();
                simplify::denominators(e, &mut out);
                out
            };
            let before = divisors(&now);
            if divisors(&best).iter().any(|d| !before.contains(d)) {
                continue;
            }
            self.try_ring_step(&p, best)?;
        }
        Ok(())
    }
}

/// Derive `D(of, wrt)` in `ctx`: differentiate, simplify, fold definitions back.
pub fn derive(ctx: Arc<Context>, of: &Expr, wrt: &Expr) -> Result<Proof, EngineError> {
    derive_via(ctx, of, wrt, &[], &[])
}

/// Derive goal `D(of, wrt)` with the results of earlier goals (`lemmas`, numbered from
/// one) at hand: through `via` when the goal names it; otherwise directly, or by the chain
/// rule through a name whose derivative an earlier goal found, whichever is shorter by
/// `length` (the caller's measure: the lines a writeup shows).
pub fn derive_goal(
    ctx: Arc<Context>,
    of: &Expr,
    wrt: &Expr,
    via: &[String],
    lemmas: &[Lemma],
    length: &dyn Fn(&Proof) -> usize,
) -> Result<Proof, EngineError> {
    let direct = derive_via(ctx.clone(), of, wrt, via, lemmas);
    if !via.is_empty() {
        return direct;
    }
    let key = |p: &Proof| (length(p), p.steps().len());
    let mut best = match direct {
        Ok(p) => p,
        // Unfolding everything can pass the algebra's bounds where going through one
        // name at a time stays small, as `via` would: take the shortest route that works.
        Err(e) => lemmas::through_names(&ctx, of, wrt)
            .into_iter()
            .filter_map(|name| derive_via(ctx.clone(), of, wrt, &[name], lemmas).ok())
            .min_by_key(|p| key(p))
            .ok_or(e)?,
    };
    for name in lemmas::chain_candidates(&ctx, of, wrt, lemmas) {
        if let Ok(p) = derive_via(ctx.clone(), of, wrt, std::slice::from_ref(&name), lemmas) {
            if key(&p) < key(&best) {
                best = p;
            }
        }
    }
    Ok(best)
}

/// Derive `D(of, wrt)` by the chain rule through the definitions `via` (outermost first):
/// each turns the derivative reaching the variable into a sum of products
/// `D(F, a_m)*D(a_m, x)`; then both factors are derived, or taken from `lemmas`, and the
/// sum collapsed.
pub fn derive_via(
    ctx: Arc<Context>,
    of: &Expr,
    wrt: &Expr,
    via: &[String],
    lemmas: &[Lemma],
) -> Result<Proof, EngineError> {
    if !wrt.is_variable() {
        return Err(EngineError::Unsupported(format!("`{wrt}` is not a variable")));
    }
    let goal = Expr::d(of.clone(), wrt.clone());
    let mut d = Driver::with_lemmas(ctx, goal, lemmas.to_vec())?;
    let mut at = Vec::new();
    for name in via {
        let mut s = Step::new("chain-rule", at.clone());
        s.uses = Some(name.clone());
        // The chain rule holds only where the derivative reaches the variable through
        // `name` alone; otherwise `name` (and every name after it) is an intermediate kept
        // folded, whose derivative the product and chain rules of the body reach.
        if !d.intermediates.is_empty() || d.apply(s).is_err() {
            d.intermediates.push(name.clone());
            continue;
        }
        // The factor `D(a_m, x)` of the new innermost summand goes on through the next name.
        while let Some(Expr::Sum(_)) = d.at(&at) {
            at.push(0);
        }
        at.push(1);
    }
    if via.len() > d.intermediates.len() {
        // The factors: earlier results where there are some, else each derived on its own.
        lemmas::use_lemmas(&mut d)?;
        lemmas::derive_factors(&mut d)?;
        fold::unfold_deltas(&mut d)?;
    }
    // A second derivative goes layer by layer: the inner derivative is simplified and
    // folded (∂l/∂z_i = a_i - y_i) before the outer one differentiates it.
    loop {
        lemmas::use_lemmas(&mut d)?;
        fold::unfold_in_derivatives(&mut d)?;
        if !d.ctx().fixed_labels().is_empty() {
            // A sum unfolded beside a fixed label of its name reads `sum_m(exp(z_m))`.
            fold::rename_clashing_sums(&mut d)?;
        }
        differentiate::differentiate_layer(&mut d)?;
        simplify::simplify(&mut d)?;
        fold::finish(&mut d)?;
        if !d.current().any(&mut |t| matches!(t, Expr::D(..))) {
            break;
        }
    }
    simplify::collapse_remaining(&mut d)?;
    // Concrete indices (`a_3` by `z_1`) leave deltas of numbers, valued once the result is
    // folded, as in a case of a Jacobian.
    if simplify::evaluate_concrete_deltas(&mut d)? {
        simplify_current(&mut d)?;
    }
    Ok(d.proof)
}

/// Simplify the driver's current term toward the textbook form and fold definitions back,
/// as at the end of a derivation; used to specialise results, e.g. to the case `i = j`.
pub fn simplify_current(d: &mut Driver) -> Result<(), EngineError> {
    simplify::simplify(d)?;
    fold::finish(d)
}
