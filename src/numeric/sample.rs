//! Random sample points for a set of terms: a size for each range symbol, values for
//! free indices (equal and distinct combinations, since `delta(i,j)` cares), values on a
//! dyadic grid (exact as rationals and as floats), and the context's hypotheses made
//! true by construction (`sum_i(y_i) = c` puts y on the scaled simplex, `x = c` sets x)
//! or checked afterwards, so that points violating them are never used.

use super::eval::{
    bound_value, eval_exact, eval_f64, find_definition, is_rational, EvalError, MAX_EVAL_DEPTH,
};
use super::point::{Point, Value, Variable};
use super::rng::SplitMix64;
use crate::expr::{Assumption, Bound, Context, Expr, Index, Rat};
use crate::terms::RatExt;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{ToPrimitive, Zero};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// Most components bound for one indexed symbol, and index combinations checked per hypothesis.
const MAX_COMPONENTS: u128 = 100_000;
/// Values are drawn as k/GRID: exact in binary, small as rationals.
const GRID: i64 = 32;
/// Relative tolerance for a hypothesis checked in f64.
const HYPOTHESIS_TOLERANCE: f64 = 1e-9;

/// The range `1..n` that an undeclared index runs over (the `deriv diff` convention).
fn default_range() -> (Bound, Bound) {
    (Bound::Int(1), Bound::Sym("n".into(), 0))
}

/// The declared range of a free index.
pub(crate) fn index_range(ctx: &Context, name: &str) -> (Bound, Bound) {
    ctx.range_of(name).map(|(lo, hi)| (lo.clone(), hi.clone())).unwrap_or_else(default_range)
}

/// The ranges an index position of an indexed symbol is used with.
type RangeSet = BTreeSet<(Bound, Bound)>;
/// An indexed symbol to sample: its name and, per index position, the ranges used there.
type ArrayPlan = (String, Vec<Vec<(Bound, Bound)>>);

/// The variables, sizes and index ranges a set of terms mentions, definitions included.
#[derive(Default)]
struct Symbols {
    scalars: BTreeSet<String>,
    /// Indexed symbols by name and arity: for each index position, the ranges it is used with.
    arrays: BTreeMap<(String, usize), Vec<RangeSet>>,
    sizes: BTreeSet<String>,
    /// The least value a size may take: a concrete index (`a_3` for `a_i` over `1..n`) must
    /// lie in its range.
    least: BTreeMap<String, i64>,
    /// Definitions visited, each with the ranges its formal indices were used over.
    definitions_seen: BTreeSet<(usize, Vec<(String, Bound, Bound)>)>,
    /// Nodes visited outside every sum, by [`crate::terms::visit_key`] (the terms visited
    /// are borrowed throughout).
    visited: crate::terms::NodeMap<()>,
}

impl Symbols {
    fn visit(
        &mut self,
        ctx: &Context,
        e: &Expr,
        scope: &mut Vec<(String, Bound, Bound)>,
        depth: usize,
    ) -> Result<(), EvalError> {
        if depth > MAX_EVAL_DEPTH {
            return Err(EvalError::TooLarge(format!(
                "terms nest more than {MAX_EVAL_DEPTH} levels"
            )));
        }
        // Outside every sum what a node adds depends on the node alone, and the terms of a
        // chain share most of theirs: each is visited once.
        if scope.is_empty() && self.visited.insert(crate::terms::visit_key(e), ()).is_some() {
            return Ok(());
        }
        match e {
            Expr::Sym(s) | Expr::Idx(s, _) if find_definition(ctx, s).is_some() => {
                if let Some((k, def)) = find_definition(ctx, s) {
                    // `a_3` for `a_i`: the formal's range must reach 3. `b_j` for `b_q`,
                    // with j over a wider range than q: the body is sampled over j's range
                    // (a step may evaluate `b_1` for q in 2..n).
                    let mut formals = Vec::new();
                    if let (Expr::Idx(_, actual), Expr::Idx(_, formal)) = (e, &def.name) {
                        for (a, f) in actual.iter().zip(formal) {
                            match (a, f) {
                                (Index::Int(v), Index::Name(f)) => {
                                    self.require(&index_range(ctx, f), *v)
                                }
                                (Index::Name(a), Index::Name(f)) => {
                                    let range = match scope.iter().rev().find(|(b, ..)| b == a) {
                                        Some((_, lo, hi)) => (lo.clone(), hi.clone()),
                                        None => index_range(ctx, a),
                                    };
                                    if range != index_range(ctx, f) {
                                        formals.push((f.clone(), range.0, range.1));
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    if self.definitions_seen.insert((k, formals.clone())) {
                        self.visit(ctx, &def.body, &mut formals, depth + 1)?;
                    }
                }
            }
            Expr::Sym(s) => {
                if !self.scalars.contains(s) {
                    self.scalars.insert(s.clone());
                }
            }
            Expr::Idx(name, ix) => {
                let ranges: Vec<(Bound, Bound)> = ix
                    .iter()
                    .map(|i| match i {
                        Index::Int(v) => (Bound::Int(*v), Bound::Int(*v)),
                        Index::Name(n) => match scope.iter().rev().find(|(b, _, _)| b == n) {
                            Some((_, lo, hi)) => (lo.clone(), hi.clone()),
                            None => index_range(ctx, n),
                        },
                    })
                    .collect();
                for range in &ranges {
                    self.note_sizes(range);
                }
                let slots = self
                    .arrays
                    .entry((name.clone(), ix.len()))
                    .or_insert_with(|| vec![BTreeSet::new(); ix.len()]);
                for (slot, range) in slots.iter_mut().zip(ranges) {
                    slot.insert(range);
                }
            }
            Expr::Sum(s) => {
                let range = (s.lo.clone(), s.hi.clone());
                self.note_sizes(&range);
                scope.push((s.index.clone(), range.0, range.1));
                let r = self.visit(ctx, &s.body, scope, depth + 1);
                scope.pop();
                r?;
            }
            _ => {
                for c in e.children() {
                    self.visit(ctx, c, scope, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    fn note_sizes(&mut self, (lo, hi): &(Bound, Bound)) {
        for b in [lo, hi] {
            if let Some(s) = b.size() {
                if !self.sizes.contains(s) {
                    self.sizes.insert(s.to_string());
                }
            }
        }
    }

    /// The scalar variables: symbols that are not sizes.
    fn scalar_variables(&self) -> Vec<String> {
        self.scalars.difference(&self.sizes).cloned().collect()
    }

    /// The size that bounds `range` must be at least `v`, when `v` is meant to lie in it.
    fn require(&mut self, (lo, hi): &(Bound, Bound), v: i64) {
        // `v <= n + c` wants `n >= v - c`.
        if let (Bound::Int(lo), Bound::Sym(s, c)) = (lo, hi) {
            if let (true, Some(v)) = (*lo <= v, v.checked_sub(*c)) {
                let least = self.least.entry(s.clone()).or_insert(v);
                *least = (*least).max(v);
            }
        }
    }

    /// Each position of an indexed variable used both with a concrete index and over a
    /// range `lo..n` needs `n` to reach that index.
    fn require_concrete_indices(&mut self) {
        let mut needs = Vec::new();
        for slots in self.arrays.values() {
            for slot in slots {
                let concrete = slot.iter().filter_map(|r| match r {
                    (Bound::Int(a), Bound::Int(b)) if a == b => Some(*a),
                    _ => None,
                });
                if let Some(v) = concrete.max() {
                    needs.extend(slot.iter().map(|r| (r.clone(), v)));
                }
            }
        }
        for (range, v) in needs {
            self.require(&range, v);
        }
    }

    /// All variables by name and number of indices (sizes excluded): a scalar `y` and
    /// a vector `y_i` are different variables.
    fn variables(&self) -> BTreeSet<(String, usize)> {
        let mut out: BTreeSet<(String, usize)> =
            self.scalar_variables().into_iter().map(|s| (s, 0)).collect();
        out.extend(self.arrays.keys().cloned());
        out
    }
}

/// The undefined variables a term mentions, through its definitions: the scalars and the
/// names of the one-index vectors, each sorted.
pub(crate) fn variables_of(
    ctx: &Context,
    e: &Expr,
) -> Result<(Vec<String>, Vec<String>), EvalError> {
    let mut symbols = Symbols::default();
    symbols.visit(ctx, e, &mut Vec::new(), 0)?;
    let scalars = symbols.scalar_variables();
    let vectors =
        symbols.arrays.keys().filter(|(_, arity)| *arity == 1).map(|(n, _)| n.clone()).collect();
    Ok((scalars, vectors))
}

/// A hypothesis the sampler can make true by choosing values.
#[derive(Clone, Debug)]
enum Construction {
    /// `sum_k(v_k) = total`, k over `lo..=hi`.
    SumTo { var: String, lo: Bound, hi: Bound, total: Expr },
    /// `x = value`.
    Equals { var: String, value: Expr },
    /// `x_i = value` for every `i` of `lo..=hi` (the value may mention `i`).
    EqualsAt { var: String, index: String, lo: Bound, hi: Bound, value: Expr },
    /// Any other hypothesis without free indices: solved for one of its variables
    /// (`q` in `p + q = 1`, `y_1` in `y_1 = 1`, a factor on `w` in `sum_i(w_i^2) = 1`).
    Solve { unknown: Unknown, hypothesis: Assumption },
}

impl Construction {
    /// The name whose values the construction sets.
    fn target(&self) -> &str {
        match self {
            Construction::SumTo { var, .. }
            | Construction::Equals { var, .. }
            | Construction::EqualsAt { var, .. } => var,
            Construction::Solve { unknown: Unknown::Variable(v), .. } => &v.name,
            Construction::Solve { unknown: Unknown::Scaled(name), .. } => name,
        }
    }
}

/// What a hypothesis is solved for.
#[derive(Clone, Debug)]
enum Unknown {
    /// One scalar, or one component at concrete indices.
    Variable(Variable),
    /// Every component of an indexed variable, times one factor.
    Scaled(String),
}

/// The values of indices that are all numbers.
fn concrete(ix: &[Index]) -> Option<Vec<i64>> {
    ix.iter().map(|i| if let Index::Int(v) = i { Some(*v) } else { None }).collect()
}

/// The variable to solve `h` for: the last scalar it names, else the last component at
/// concrete indices, else the last indexed variable; never a defined name, a size, or a
/// name in `taken` (set by another construction, which solving would undo). `None` when
/// `h` has free indices: it then stands for many equations.
fn unknown_of(
    ctx: &Context,
    h: &Assumption,
    sizes: &BTreeSet<String>,
    taken: &BTreeSet<String>,
) -> Option<Unknown> {
    if !h.lhs.free_indices().is_empty() || !h.rhs.free_indices().is_empty() {
        return None;
    }
    let (mut scalar, mut component, mut scaled) = (None, None, None);
    crate::terms::walk_shared(&[&h.lhs, &h.rhs], |e| {
        match e {
            Expr::Sym(x) | Expr::Idx(x, _)
                if taken.contains(x) || sizes.contains(x) || find_definition(ctx, x).is_some() => {}
            Expr::Sym(x) => scalar = Some(Unknown::Variable(Variable::scalar(x))),
            Expr::Idx(x, ix) => match concrete(ix) {
                Some(ix) => component = Some(Unknown::Variable(Variable::component(x, &ix))),
                None => scaled = Some(Unknown::Scaled(x.clone())),
            },
            _ => {}
        }
        true
    });
    scalar.or(component).or(scaled)
}

fn construction(ctx: &Context, h: &Assumption) -> Option<Construction> {
    for (lhs, rhs) in [(&h.lhs, &h.rhs), (&h.rhs, &h.lhs)] {
        match lhs {
            Expr::Sum(s) => {
                if let Expr::Idx(v, ix) = &*s.body {
                    let own = matches!(ix.as_slice(), [Index::Name(k)] if *k == s.index);
                    if own && find_definition(ctx, v).is_none() && !rhs.mentions_name(v) {
                        return Some(Construction::SumTo {
                            var: v.clone(),
                            lo: s.lo.clone(),
                            hi: s.hi.clone(),
                            total: rhs.clone(),
                        });
                    }
                }
            }
            Expr::Sym(x) if find_definition(ctx, x).is_none() && !rhs.mentions_name(x) => {
                return Some(Construction::Equals { var: x.clone(), value: rhs.clone() });
            }
            Expr::Idx(x, ix) if find_definition(ctx, x).is_none() && !rhs.mentions_name(x) => {
                if let [Index::Name(i)] = ix.as_slice() {
                    let (lo, hi) = index_range(ctx, i);
                    return Some(Construction::EqualsAt {
                        var: x.clone(),
                        index: i.clone(),
                        lo,
                        hi,
                        value: rhs.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    None
}

/// A drawn point, checked against the relevant hypotheses.
#[derive(Clone, Debug)]
pub(crate) enum Candidate {
    /// No point exists for this n (an index range is empty).
    Empty,
    /// The point breaks a hypothesis, for this reason.
    Violates(String),
    Valid(Point),
}

/// Which point: size n, point number p, attempt.
type DrawKey = (Option<i64>, usize, usize);

/// Draws points for a fixed set of terms under a context.
pub(crate) struct Sampler<'a> {
    ctx: &'a Context,
    seed: u64,
    free: Vec<(String, Bound, Bound)>,
    sizes: Vec<String>,
    /// The least value of each size (see `Symbols::least`).
    least: BTreeMap<String, i64>,
    scalars: Vec<String>,
    arrays: Vec<ArrayPlan>,
    constructions: Vec<Construction>,
    hypotheses: Vec<Assumption>,
    /// Values are drawn from [-2s, 2s] (or [s/8, 2s]) for this scale s = num/den: see
    /// [`Sampler::widened`].
    scale: (i64, i64),
    /// Candidates drawn so far: checks that visit the same points (one per reference
    /// kernel) draw and test each point once, and share it rather than copy it.
    drawn: RefCell<HashMap<DrawKey, Rc<Candidate>>>,
}

impl<'a> Sampler<'a> {
    pub fn new(ctx: &'a Context, terms: &[&Expr], seed: u64) -> Result<Sampler<'a>, EvalError> {
        let mut symbols = Symbols::default();
        let mut free = BTreeSet::new();
        for t in terms {
            symbols.visit(ctx, t, &mut Vec::new(), 0)?;
        }
        // Outside every sum an index is free; a sum's own free indices are its body's less
        // its index.
        crate::terms::walk_shared(terms, |e| match e {
            Expr::Sum(_) => {
                free.extend(e.free_indices());
                false
            }
            _ => {
                free.extend(e.indices().filter_map(Index::name).cloned());
                true
            }
        });
        // A fixed label takes one value in its range, like a free index of the terms.
        free.extend(ctx.fixed_labels().into_keys());
        // A hypothesis matters when it shares a variable with the terms or a hypothesis that matters.
        let mut hypotheses: Vec<Assumption> = Vec::new();
        let mut pending: Vec<&Assumption> = ctx.assumptions.iter().collect();
        loop {
            let known = symbols.variables();
            let before = pending.len();
            let mut rest = Vec::new();
            for h in pending {
                let mut own = Symbols::default();
                own.visit(ctx, &h.lhs, &mut Vec::new(), 0)?;
                own.visit(ctx, &h.rhs, &mut Vec::new(), 0)?;
                if own.variables().iter().any(|v| known.contains(v)) {
                    for i in h.lhs.free_indices().into_iter().chain(h.rhs.free_indices()) {
                        symbols.note_sizes(&index_range(ctx, &i));
                    }
                    symbols.visit(ctx, &h.lhs, &mut Vec::new(), 0)?;
                    symbols.visit(ctx, &h.rhs, &mut Vec::new(), 0)?;
                    hypotheses.push(h.clone());
                } else {
                    rest.push(h);
                }
            }
            pending = rest;
            if pending.len() == before || pending.is_empty() {
                break;
            }
        }
        // A symbol that bounds a declared range is a size wherever it stands, even in a
        // term with no sum over that range (`n = sqrt(n^2)` holds because n >= 1).
        for d in &ctx.indices {
            let bounds = [&d.lo, &d.hi];
            if bounds.iter().any(|b| b.size().is_some_and(|n| symbols.scalars.contains(n))) {
                symbols.note_sizes(&(d.lo.clone(), d.hi.clone()));
            }
        }
        let free: Vec<(String, Bound, Bound)> = free
            .into_iter()
            .map(|i| {
                let (lo, hi) = index_range(ctx, &i);
                symbols.note_sizes(&(lo.clone(), hi.clone()));
                (i, lo, hi)
            })
            .collect();
        symbols.require_concrete_indices();
        let scalars = symbols.scalar_variables();
        let arrays = symbols
            .arrays
            .iter()
            .map(|((name, _), positions)| {
                (name.clone(), positions.iter().map(|s| s.iter().cloned().collect()).collect())
            })
            .collect();
        let mut constructions: Vec<Construction> =
            hypotheses.iter().filter_map(|h| construction(ctx, h)).collect();
        // The rest are solved after those, each for a variable no other construction sets.
        let mut taken: BTreeSet<String> =
            constructions.iter().map(|c| c.target().to_string()).collect();
        for h in hypotheses.iter().filter(|h| construction(ctx, h).is_none()) {
            if let Some(unknown) = unknown_of(ctx, h, &symbols.sizes, &taken) {
                let solve = Construction::Solve { unknown, hypothesis: h.clone() };
                taken.insert(solve.target().to_string());
                constructions.push(solve);
            }
        }
        let sampler = Sampler {
            ctx,
            seed,
            free,
            sizes: symbols.sizes.into_iter().collect(),
            least: symbols.least,
            scalars,
            arrays,
            constructions,
            hypotheses,
            scale: (1, 1),
            drawn: RefCell::new(HashMap::new()),
        };
        sampler.widened(terms)
    }

    /// This sampler at the first scale (1, then wider: 4, 16, 64, 256, 1024, 4096, then
    /// narrower: 1/8, 1/64, 1/512) at which an eighth of the drawn points define every
    /// term: `log(x - 5)` or `sqrt(-2*x - 7)` has no point in [-2, 2], `asin(100*x)` none
    /// on its grid, and `sqrt(y - 2)` only `y = 2`. Scale 1 wherever it meets that, so
    /// those points are as before; else the scale with the most such points, 1 if none has
    /// any (a term that cannot be evaluated at all).
    fn widened(mut self, terms: &[&Expr]) -> Result<Sampler<'a>, EvalError> {
        const PROBES: usize = 32;
        // A chain's ends stand for it: every step between them is checked at the same
        // points, and evaluating each of n steps from scratch would cost n times more.
        let ends: Vec<&Expr> = match terms {
            [first, .., last] => vec![*first, *last],
            _ => terms.to_vec(),
        };
        let scales = [
            (1, 1),
            (4, 1),
            (16, 1),
            (64, 1),
            (256, 1),
            (1024, 1),
            (4096, 1),
            (1, 8),
            (1, 64),
            (1, 512),
        ];
        let mut best = ((1, 1), 0);
        for scale in scales {
            self.scale = scale;
            let mut defined = 0;
            for probe in 0..PROBES {
                // Labels past any attempt a check makes, so no check's point is drawn here.
                let Some(point) = self.draw(None, usize::MAX, probe)? else { continue };
                if self.violated_hypothesis(&point)?.is_some() {
                    continue;
                }
                let finite = |t: &&Expr| eval_f64(self.ctx, t, &point).is_ok_and(f64::is_finite);
                defined += usize::from(ends.iter().all(finite));
                if defined >= PROBES / 8 {
                    return Ok(self);
                }
            }
            if defined > best.1 {
                best = (scale, defined);
            }
        }
        self.scale = best.0;
        Ok(self)
    }

    /// The least value the first size may take (it is the one checked for several n).
    pub fn least_first_size(&self) -> i64 {
        self.sizes.first().and_then(|s| self.least.get(s)).copied().unwrap_or(1)
    }

    /// Whether the terms involve sizes, so that they are checked for several n.
    pub fn is_indexed(&self) -> bool {
        !self.sizes.is_empty()
    }

    #[cfg(test)]
    pub fn hypotheses(&self) -> &[Assumption] {
        &self.hypotheses
    }

    /// [`Sampler::draw`], checked against the hypotheses; remembered.
    pub fn candidate(
        &self,
        n: Option<i64>,
        p: usize,
        attempt: usize,
    ) -> Result<Rc<Candidate>, EvalError> {
        let key = (n, p, attempt);
        if let Some(c) = self.drawn.borrow().get(&key) {
            return Ok(Rc::clone(c));
        }
        let c = Rc::new(match self.draw(n, p, attempt)? {
            None => Candidate::Empty,
            Some(point) => match self.violated_hypothesis(&point)? {
                Some(why) => Candidate::Violates(why),
                None => Candidate::Valid(point),
            },
        });
        self.drawn.borrow_mut().insert(key, Rc::clone(&c));
        Ok(c)
    }

    /// A candidate point: number `p` for size `n`, try `attempt`. Odd attempts draw only
    /// positive values, so terms that need positive arguments (logs) still find points.
    /// `Ok(None)` when no point exists for this n (an empty index range).
    pub fn draw(
        &self,
        n: Option<i64>,
        p: usize,
        attempt: usize,
    ) -> Result<Option<Point>, EvalError> {
        let labels = [n.unwrap_or(0) as u64, p as u64, attempt as u64];
        let mut rng = SplitMix64::for_stream(self.seed, &labels);
        let positive = attempt % 2 == 1;
        let mut point = Point::new();
        for (k, s) in self.sizes.iter().enumerate() {
            let least = self.least.get(s).copied().unwrap_or(1);
            let size = match (k, n) {
                (0, Some(n)) => n.max(least),
                _ => rng.int_in(least.max(2), least.max(6)),
            };
            point.set_range(s, size);
        }
        if !self.draw_indices(&mut point, &mut rng, p)? {
            return Ok(None);
        }
        for s in &self.scalars {
            point.set_component_value(
                s,
                &[],
                Value::from_exact(draw_value(&mut rng, positive, self.scale)),
            );
        }
        for (name, positions) in &self.arrays {
            let mut extents = Vec::with_capacity(positions.len());
            for ranges in positions {
                let mut lo = i64::MAX;
                let mut hi = i64::MIN;
                for (l, h) in ranges {
                    lo = lo.min(bound_value(l, &point)?);
                    hi = hi.max(bound_value(h, &point)?);
                }
                extents.push((lo, hi));
            }
            for ix in tuples(&extents)? {
                let value = Value::from_exact(draw_value(&mut rng, positive, self.scale));
                point.set_component_value(name, &ix, value);
            }
        }
        for c in &self.constructions {
            self.construct(c, &mut point, &mut rng)?;
        }
        Ok(Some(point))
    }

    /// Free indices: all equal on every third point, all distinct (where the ranges allow)
    /// on the next, independent on the third. `false` when a range is empty.
    fn draw_indices(
        &self,
        point: &mut Point,
        rng: &mut SplitMix64,
        p: usize,
    ) -> Result<bool, EvalError> {
        let mut ranges = Vec::with_capacity(self.free.len());
        for (name, lo, hi) in &self.free {
            let (lo, hi) = (bound_value(lo, point)?, bound_value(hi, point)?);
            if lo > hi {
                return Ok(false);
            }
            ranges.push((name, lo, hi));
        }
        let common = (ranges.iter().map(|r| r.1).max(), ranges.iter().map(|r| r.2).min());
        let start = rng.int_in(0, 1 << 20);
        for (t, (name, lo, hi)) in ranges.iter().enumerate() {
            let value = match (p % 3, common) {
                // The same draw for every index, so they come out equal.
                (0, (Some(clo), Some(chi))) if clo <= chi => clo + start % (chi - clo + 1),
                (1, _) => lo + (start + t as i64) % (hi - lo + 1),
                _ => rng.int_in(*lo, *hi),
            };
            point.set_index(name, value);
        }
        Ok(true)
    }

    fn construct(
        &self,
        c: &Construction,
        point: &mut Point,
        rng: &mut SplitMix64,
    ) -> Result<(), EvalError> {
        match c {
            Construction::SumTo { var, lo, hi, total } => {
                let (lo, hi) = (bound_value(lo, point)?, bound_value(hi, point)?);
                if lo > hi || i128::from(hi) - i128::from(lo) >= MAX_COMPONENTS as i128 {
                    return Ok(());
                }
                let weights: Vec<i64> = (lo..=hi).map(|_| rng.int_in(1, GRID)).collect();
                let count = weights.len() as i64;
                let sum: i64 = weights.iter().sum();
                match self.value_of(total, point)? {
                    Some(Some(t)) => {
                        let small = (t.numer().to_i64(), t.denom().to_i64());
                        let (c, s) = (i128::from(count), i128::from(sum));
                        for (k, w) in (lo..=hi).zip(&weights) {
                            // Positive weights scaled to the total: y on the simplex when it is 1.
                            let w = i128::from(*w);
                            let fast = match small {
                                _ if t.is_zero() => small_ratio(w * c - s, c),
                                (Some(tn), Some(td)) => {
                                    small_ratio(i128::from(tn) * w, i128::from(td) * s)
                                }
                                _ => None,
                            };
                            let v = fast.unwrap_or_else(|| {
                                let int = |v: i128| Rat::from_integer(BigInt::from(v));
                                if t.is_zero() {
                                    int(w) - int(s) / int(c)
                                } else {
                                    &t * int(w) / int(s)
                                }
                            });
                            point.set_component_value(var, &[k], Value::from_exact(v));
                        }
                    }
                    Some(None) => {
                        point.mark_inexact();
                        if let Ok(t) = eval_f64(self.ctx, total, point) {
                            let (count, sum) = (count as f64, sum as f64);
                            for (k, w) in (lo..=hi).zip(&weights) {
                                let w = *w as f64;
                                let v = if t == 0.0 { w - sum / count } else { t * w / sum };
                                point.set(&Variable::component(var, &[k]), v);
                            }
                        }
                    }
                    None => {}
                }
            }
            Construction::Equals { var, value } => match self.value_of(value, point)? {
                Some(Some(q)) => point.set_exact(&Variable::scalar(var), q),
                Some(None) => {
                    point.mark_inexact();
                    if let Ok(v) = eval_f64(self.ctx, value, point) {
                        point.set(&Variable::scalar(var), v);
                    }
                }
                None => {}
            },
            Construction::EqualsAt { var, index, lo, hi, value } => {
                let (mut lo, mut hi) = (bound_value(lo, point)?, bound_value(hi, point)?);
                // At a fixed label, the hypothesis holds at the label's one value only.
                if let Some(k) =
                    point.index(index).filter(|_| self.ctx.fixed_labels().contains_key(index))
                {
                    (lo, hi) = (k, k);
                }
                if lo > hi || i128::from(hi) - i128::from(lo) >= MAX_COMPONENTS as i128 {
                    return Ok(());
                }
                for k in lo..=hi {
                    let at = value.subst_index(index, &Index::Int(k));
                    match self.value_of(&at, point)? {
                        Some(Some(q)) => point.set_component_value(var, &[k], Value::from_exact(q)),
                        Some(None) => {
                            point.mark_inexact();
                            if let Ok(v) = eval_f64(self.ctx, &at, point) {
                                point.set(&Variable::component(var, &[k]), v);
                            }
                        }
                        None => {}
                    }
                }
            }
            Construction::Solve { unknown, hypothesis } => {
                self.solve(unknown, hypothesis, point)?
            }
        }
        Ok(())
    }

    /// Sets `unknown` so that `h` holds at `point`: exactly where `h` is rational and linear
    /// in it (`p + q = 1`, `a*b = 1`), else by Newton's method in f64, which marks the point
    /// inexact. When neither finds a solution the point is left as drawn, and the
    /// hypothesis check turns it away.
    fn solve(&self, unknown: &Unknown, h: &Assumption, point: &mut Point) -> Result<(), EvalError> {
        if self.holds(h, point)? {
            return Ok(());
        }
        let drawn = point.clone();
        let base = match unknown {
            Unknown::Variable(_) => Vec::new(),
            Unknown::Scaled(name) => point.components(name),
        };
        // The unknown's value, or the drawn values' factor: exact (`Ok`) or a float.
        let place = |point: &mut Point, t: Result<Rat, f64>| match unknown {
            Unknown::Variable(v) => {
                point.set_value(v, t.map_or_else(Value::from_float, Value::from_exact))
            }
            Unknown::Scaled(name) => {
                for (ix, v) in &base {
                    let scaled = match &t {
                        Ok(t) => Value::from_exact(t * v.exact()),
                        Err(t) => Value::from_float(t * v.float),
                    };
                    point.set_component_value(name, ix, scaled);
                }
            }
        };
        if !point.is_inexact() && is_rational(self.ctx, &h.lhs) && is_rational(self.ctx, &h.rhs) {
            // Four values of a linear residual lie on one line; its zero is then exact.
            let mut residuals = Vec::new();
            for t in 1..=4 {
                place(point, Ok(Rat::int(t)));
                match (eval_exact(self.ctx, &h.lhs, point), eval_exact(self.ctx, &h.rhs, point)) {
                    (Ok(a), Ok(b)) => residuals.push(a - b),
                    _ => break,
                }
            }
            if let [r1, r2, r3, r4] = residuals.as_slice() {
                let slope = r2 - r1;
                if !slope.is_zero() && &(r3 - r2) == &slope && &(r4 - r3) == &slope {
                    place(point, Ok(Rat::int(1) - r1 / &slope));
                    if self.holds(h, point).unwrap_or(false) {
                        return Ok(());
                    }
                }
            }
        }
        let residual = |point: &mut Point, t: f64| {
            place(point, Err(t));
            let a = eval_f64(self.ctx, &h.lhs, point).ok()?;
            let b = eval_f64(self.ctx, &h.rhs, point).ok()?;
            let r = a - b;
            r.is_finite().then_some((r, a.abs().max(b.abs()).max(1.0)))
        };
        let first = match unknown {
            Unknown::Variable(v) => drawn.get(v).unwrap_or(1.0),
            Unknown::Scaled(_) => 1.0,
        };
        for start in [first, 1.0, -1.0, 0.5, 2.0] {
            if let Some(t) = newton(|t| residual(point, t), start) {
                residual(point, t);
                point.mark_inexact();
                return Ok(());
            }
        }
        *point = drawn;
        Ok(())
    }

    /// A term's value for a construction: `Some(Some(q))` exactly, `Some(None)` when only a
    /// float is available, `None` when it has no value at this point.
    fn value_of(&self, e: &Expr, point: &Point) -> Result<Option<Option<Rat>>, EvalError> {
        match eval_exact(self.ctx, e, point) {
            Ok(q) => Ok(Some(Some(q))),
            Err(EvalError::NotRational(_)) | Err(EvalError::TooLarge(_)) => Ok(Some(None)),
            Err(e) if e.is_invalid_point() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `None` when every relevant hypothesis holds at the point, else the first that fails.
    pub fn violated_hypothesis(&self, point: &Point) -> Result<Option<String>, EvalError> {
        for h in &self.hypotheses {
            // A fixed label keeps the point's value: the hypothesis holds at that label.
            let labels = self.ctx.fixed_labels();
            let free: BTreeSet<String> = h
                .lhs
                .free_indices()
                .into_iter()
                .chain(h.rhs.free_indices())
                .filter(|i| !labels.contains_key(i))
                .collect();
            let mut extents = Vec::new();
            for i in &free {
                let (lo, hi) = index_range(self.ctx, i);
                extents.push((bound_value(&lo, point)?, bound_value(&hi, point)?));
            }
            // Copied only when the hypothesis has free indices to bind.
            let mut q = Cow::Borrowed(point);
            for values in tuples(&extents)? {
                for (i, v) in free.iter().zip(&values) {
                    q.to_mut().set_index(i, *v);
                }
                match self.holds(h, &q) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Ok(Some(format!(
                            "the hypothesis {} = {} does not hold",
                            h.lhs, h.rhs
                        )))
                    }
                    Err(e) if e.is_invalid_point() => {
                        return Ok(Some(format!("the hypothesis {} = {}: {e}", h.lhs, h.rhs)))
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(None)
    }

    fn holds(&self, h: &Assumption, point: &Point) -> Result<bool, EvalError> {
        if !point.is_inexact() && is_rational(self.ctx, &h.lhs) && is_rational(self.ctx, &h.rhs) {
            match (eval_exact(self.ctx, &h.lhs, point), eval_exact(self.ctx, &h.rhs, point)) {
                (Ok(a), Ok(b)) => return Ok(a == b),
                (Err(e), _) | (_, Err(e)) if !matches!(e, EvalError::TooLarge(_)) => return Err(e),
                _ => {}
            }
        }
        let a = eval_f64(self.ctx, &h.lhs, point)?;
        let b = eval_f64(self.ctx, &h.rhs, point)?;
        Ok((a - b).abs() <= HYPOTHESIS_TOLERANCE * a.abs().max(b.abs()).max(1.0))
    }
}

/// A zero of `residual` (which gives the residual and its scale) near `start`, by damped
/// Newton steps with a central-difference slope; `None` when none is found quickly.
fn newton(mut residual: impl FnMut(f64) -> Option<(f64, f64)>, start: f64) -> Option<f64> {
    const STEPS: usize = 40;
    let mut t = start;
    let (mut r, mut scale) = residual(t)?;
    for _ in 0..STEPS {
        if r.abs() <= 1e-13 * scale {
            return Some(t);
        }
        let h = 1e-7 * t.abs().max(1.0);
        let slope = (residual(t + h)?.0 - residual(t - h)?.0) / (2.0 * h);
        if !slope.is_finite() || slope == 0.0 {
            return None;
        }
        let step = r / slope;
        let mut damping = 1.0;
        loop {
            match residual(t - damping * step) {
                Some((next, s)) if next.abs() < r.abs() => {
                    (t, r, scale) = (t - damping * step, next, s);
                    break;
                }
                _ if damping < 1e-3 => return None,
                _ => damping /= 2.0,
            }
        }
    }
    None
}

/// A value on the grid: in [-2, 2], or in [1/8, 2] when only positive values are wanted;
/// times `num/den`.
fn draw_value(rng: &mut SplitMix64, positive: bool, (num, den): (i64, i64)) -> Rat {
    let k = if positive { rng.int_in(GRID / 8, 2 * GRID) } else { rng.int_in(-2 * GRID, 2 * GRID) };
    let (k, d) = (i128::from(k) * i128::from(num), i128::from(GRID) * i128::from(den));
    small_ratio(k, d).unwrap_or_else(|| Rat::new(BigInt::from(k), BigInt::from(d)))
}

/// `n/d` in lowest terms, reduced in machine integers (BigInt's gcd is slow on small
/// numbers and sampling makes many); `None` when `d` is 0 or the result does not fit i64.
fn small_ratio(n: i128, d: i128) -> Option<Rat> {
    if d == 0 {
        return None;
    }
    let g = n.gcd(&d) * d.signum();
    let (n, d) = (i64::try_from(n / g).ok()?, i64::try_from(d / g).ok()?);
    Some(Rat::small(n, d))
}

/// Every index tuple in the product of the ranges, in lexicographic order.
fn tuples(extents: &[(i64, i64)]) -> Result<Vec<Vec<i64>>, EvalError> {
    let mut count: u128 = 1;
    for (lo, hi) in extents {
        let len = (i128::from(*hi) - i128::from(*lo) + 1).max(0) as u128;
        count = count.saturating_mul(len);
    }
    if count > MAX_COMPONENTS {
        return Err(EvalError::TooLarge(format!(
            "more than {MAX_COMPONENTS} index combinations to sample"
        )));
    }
    let mut out = Vec::with_capacity(count as usize);
    if count == 0 {
        return Ok(out);
    }
    let mut current: Vec<i64> = extents.iter().map(|(lo, _)| *lo).collect();
    loop {
        out.push(current.clone());
        let mut pos = extents.len();
        loop {
            if pos == 0 {
                return Ok(out);
            }
            pos -= 1;
            if current[pos] < extents[pos].1 {
                current[pos] += 1;
                break;
            }
            current[pos] = extents[pos].0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_expr, parse_file};

    #[test]
    fn simplex_targets_and_equal_and_distinct_indices() {
        let doc = parse_file("index i, j, k in 1..n\nlet a_i = exp(z_i)/sum_k(exp(z_k))\nlet l = -sum_i(y_i*log(a_i))\nassume sum_i(y_i) = 1\n").unwrap();
        let of = parse_expr("l").unwrap();
        let result = parse_expr("a_j - y_j + a_i").unwrap();
        let s = Sampler::new(&doc.context, &[&of, &result], 42).unwrap();
        assert!(s.is_indexed());
        assert_eq!(s.hypotheses().len(), 1);
        let mut saw_equal = false;
        let mut saw_distinct = false;
        for p in 0..6 {
            let point = s.draw(Some(4), p, 0).unwrap().unwrap();
            let y = point.vector("y", 1, 4).unwrap();
            assert!(y.iter().all(|v| *v > 0.0));
            assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(point.vector("z", 1, 4).is_some());
            assert_eq!(s.violated_hypothesis(&point), Ok(None));
            let (i, j) = (point.index("i").unwrap(), point.index("j").unwrap());
            assert!((1..=4).contains(&i) && (1..=4).contains(&j));
            saw_equal |= i == j;
            saw_distinct |= i != j;
        }
        assert!(saw_equal && saw_distinct);
        // The same request gives the same point.
        assert_eq!(s.draw(Some(3), 1, 2).unwrap(), s.draw(Some(3), 1, 2).unwrap());
        // A point whose y does not sum to one is caught.
        let mut bad = s.draw(Some(3), 0, 0).unwrap().unwrap();
        bad.set_component("y", &[1], 5.0);
        assert!(s.violated_hypothesis(&bad).unwrap().is_some());
    }

    #[test]
    fn irrelevant_hypotheses_are_ignored_and_scalar_ones_constructed() {
        // The vector t_k is not the scalar t, so its hypothesis does not matter here.
        let doc = parse_file("assume sum_{k=1}^{3}(t_k^2) = 1\nassume x = 2*t\n").unwrap();
        let e = parse_expr("x*t").unwrap();
        let s = Sampler::new(&doc.context, &[&e], 1).unwrap();
        assert!(!s.is_indexed());
        assert_eq!(s.hypotheses().len(), 1);
        let point = s.draw(None, 0, 0).unwrap().unwrap();
        assert_eq!(
            point.get(&Variable::scalar("x")),
            point.get(&Variable::scalar("t")).map(|t| 2.0 * t)
        );
    }

    #[test]
    fn other_hypotheses_are_solved_for_one_of_their_variables() {
        // (hypothesis, term, whether the point stays exact)
        let cases = [
            ("assume p + q = 1", "p*q", true),
            ("assume a*b = 1", "a + b", true),
            ("assume y_1 = 1", "y_1*x", true),
            ("assume 1/c = d + 2", "c*d", true),
            ("assume sum_{i=1}^{4}(w_i^2) = 1", "w_2", false),
            ("assume exp(u) + u = 3", "u", false),
        ];
        for (hypothesis, term, exact) in cases {
            let doc = parse_file(&format!("{hypothesis}\n")).unwrap();
            let e = parse_expr(term).unwrap();
            let s = Sampler::new(&doc.context, &[&e], 7).unwrap();
            for p in 0..8 {
                let point = s.draw(None, p, p % 2).unwrap().unwrap();
                assert_eq!(s.violated_hypothesis(&point), Ok(None), "{hypothesis} at {p}");
                assert_eq!(point.is_inexact(), !exact, "{hypothesis}");
            }
        }
    }

    #[test]
    fn small_ratios_are_the_reduced_rationals() {
        for (n, d) in [(6, 4), (-6, 4), (6, -4), (0, -5), (7, 32), (-64, 32), (1 << 40, 3)] {
            let want = Rat::new(BigInt::from(n), BigInt::from(d));
            assert_eq!(small_ratio(n, d), Some(want.clone()), "{n}/{d}");
            assert_eq!(small_ratio(n, d).map(|q| q.denom().clone()), Some(want.denom().clone()));
        }
        assert_eq!(small_ratio(1, 0), None);
        assert_eq!(small_ratio(i128::MAX, 1), None);
    }

    #[test]
    fn positive_attempts_draw_positive_values() {
        let ctx = Context::default();
        let e = parse_expr("log(x) + log(w_{i,k})").unwrap();
        let s = Sampler::new(&ctx, &[&e], 9).unwrap();
        let point = s.draw(Some(3), 0, 1).unwrap().unwrap();
        assert!(point.get(&Variable::scalar("x")).unwrap() > 0.0);
        for ix in tuples(&[(1, 3), (1, 3)]).unwrap() {
            assert!(point.get(&Variable::component("w", &ix)).unwrap() > 0.0);
        }
        assert_eq!(
            tuples(&[(1, 2), (5, 6)]).unwrap(),
            vec![vec![1, 5], vec![1, 6], vec![2, 5], vec![2, 6]]
        );
        assert!(tuples(&[(1, 1000), (1, 1000)]).is_err());
    }
}
