//! Evaluation of terms at a point, exactly (rationals), in f64, and in dual numbers.
//!
//! One generic evaluator serves all three. Defined names evaluate their definition
//! with its indices instantiated (memoised per point), sums iterate their range,
//! and `D(f, x)` is evaluated by forward-mode dual numbers at the current point.
//! Recursion depth, sum lengths, total work and exact number sizes are bounded.

use super::dual::Dual;
use super::hyperdual::{HyperDual, THIRD_DERIVATIVE};
use super::number::{Mode, Number, Seeds};
use super::point::{Point, Variable};
use super::stack::guarded;
use crate::expr::{Bound, Context, Definition, Expr, Index, Rat, Sum, MAX_DEPTH};
use crate::terms::{node_key, visit_key, NodeMap};
use std::collections::HashMap;
use std::rc::Rc;

/// Deepest evaluation recursion, counting definitions entered.
pub const MAX_EVAL_DEPTH: usize = 2 * MAX_DEPTH;
/// Longest sum evaluated term by term.
pub const MAX_SUM_TERMS: i64 = 1 << 20;
/// Most subterm evaluations in one evaluation.
pub const MAX_WORK: u64 = 20_000_000;

/// Why a term has no value at a point.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// Outside a function's domain: the point is invalid, not the term.
    #[error("{0}")]
    Domain(String),
    #[error("division by zero")]
    DivisionByZero,
    #[error("{0} overflows")]
    Overflow(String),
    /// A variable, index or size the point does not bind.
    #[error("no value for {0}")]
    Unbound(String),
    /// The exact evaluator met something that is not rational.
    #[error("{0} is not rational")]
    NotRational(String),
    /// A computation past the evaluator's bounds.
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unsupported(String),
}

impl EvalError {
    /// Whether the error says "this point is outside the domain", so another point may do.
    pub fn is_invalid_point(&self) -> bool {
        matches!(self, EvalError::Domain(_) | EvalError::DivisionByZero | EvalError::Overflow(_))
    }
}

/// The value of `e` at `point`, in f64.
pub fn eval_f64(ctx: &Context, e: &Expr, point: &Point) -> Result<f64, EvalError> {
    guarded(ctx, &[e], || Evaluations::<f64>::new(ctx).at(point).eval(e))
}

/// The exact value of `e` at `point`; `NotRational` when a function or `D` appears.
pub fn eval_exact(ctx: &Context, e: &Expr, point: &Point) -> Result<Rat, EvalError> {
    guarded(ctx, &[e], || Evaluations::<Rat>::new(ctx).at(point).eval(e))
}

/// The value of `e` and its derivative with respect to `var` at `point`.
pub fn eval_dual(
    ctx: &Context,
    e: &Expr,
    point: &Point,
    var: &Variable,
) -> Result<Dual, EvalError> {
    guarded(ctx, &[e], || {
        let mut facts = TermFacts::default();
        let mut memory = PointMemory::default();
        Evaluator::<Dual>::new(ctx, point, Some(var), &mut facts, &mut memory).eval(e)
    })
}

/// Evaluations of terms at one point after another. What does not depend on the point
/// (the free indices of memoised terms) is worked out once for all points, and the
/// memory for values at a point is reused rather than allocated anew.
pub(crate) struct Evaluations<'a, T: Number> {
    ctx: &'a Context,
    facts: TermFacts<'a>,
    memory: PointMemory<'a, T>,
}

impl<'a, T: Number> Evaluations<'a, T> {
    pub fn new(ctx: &'a Context) -> Self {
        Evaluations { ctx, facts: TermFacts::default(), memory: PointMemory::default() }
    }

    /// Evaluations of terms that share parts, such as the terms of a chain (each step
    /// rebuilds only the path to what it rewrites): more values are remembered.
    pub fn sharing(ctx: &'a Context) -> Self {
        let mut evaluations = Evaluations::new(ctx);
        evaluations.memory.shared = true;
        evaluations
    }

    /// Evaluations at `point`; the values remembered at the previous point are forgotten.
    pub fn at<'w>(&'w mut self, point: &'w Point) -> AtPoint<'w, 'a, T> {
        self.memory.clear();
        AtPoint { ctx: self.ctx, point, facts: &mut self.facts, memory: &mut self.memory }
    }
}

/// Several terms evaluated at one point, sharing the values of defined names: a chain of
/// step terms mentions `a_i` in most of its terms, computed here once per index.
pub(crate) struct AtPoint<'w, 'a, T: Number> {
    ctx: &'a Context,
    point: &'w Point,
    facts: &'w mut TermFacts<'a>,
    memory: &'w mut PointMemory<'a, T>,
}

impl<'a, T: Number> AtPoint<'_, 'a, T> {
    /// The value of `e`; each term gets the work and depth bounds of a fresh evaluation.
    pub fn eval(&mut self, e: &'a Expr) -> Result<T, EvalError> {
        self.eval_with(e, &[])
    }

    /// The value of `e` with the free indices `indices` bound to values (they take
    /// precedence over the point's own values of those indices).
    pub fn eval_with(&mut self, e: &'a Expr, indices: &[(&'a str, i64)]) -> Result<T, EvalError> {
        self.memory.bound.clear();
        self.memory.bound.extend_from_slice(indices);
        Evaluator::new(self.ctx, self.point, None, self.facts, self.memory).eval(e)
    }
}

/// The concrete variable a (possibly indexed) variable term names at `point`.
pub fn resolve_variable(ctx: &Context, x: &Expr, point: &Point) -> Result<Variable, EvalError> {
    let mut facts = TermFacts::default();
    let mut memory = PointMemory::<f64>::default();
    let ev = Evaluator::new(ctx, point, None, &mut facts, &mut memory);
    let (name, ix) = ev.variable(x)?;
    Ok(Variable::component(name, ix.as_slice()))
}

/// Whether `e` (with the definitions it uses) is built from rational operations only,
/// so that the exact evaluator can evaluate it.
pub fn is_rational(ctx: &Context, e: &Expr) -> bool {
    are_rational(ctx, &[e])[0]
}

/// [`is_rational`] of each term, each compound node judged once (by [`node_key`]): the
/// terms of a chain share most of their nodes.
pub(crate) fn are_rational(ctx: &Context, terms: &[&Expr]) -> Vec<bool> {
    let mut known = NodeMap::default();
    terms.iter().map(|t| rational_in(ctx, t, &mut Vec::new(), &mut known, 0)).collect()
}

/// Whether `e` is rational, a definition already entered (`seen`) counting as rational.
fn rational_in(
    ctx: &Context,
    e: &Expr,
    seen: &mut Vec<usize>,
    known: &mut NodeMap<bool>,
    depth: usize,
) -> bool {
    if depth > MAX_EVAL_DEPTH {
        return false;
    }
    let key = node_key(e);
    if let Some(&r) = key.as_ref().and_then(|k| known.get(k)) {
        return r;
    }
    let r = match e {
        Expr::Call(_, _) | Expr::D(_, _) => false,
        Expr::Sym(s) | Expr::Idx(s, _) => match find_definition(ctx, s) {
            Some((k, _)) if seen.contains(&k) => true,
            Some((k, def)) => {
                seen.push(k);
                rational_in(ctx, &def.body, seen, known, depth + 1)
            }
            None => true,
        },
        _ => e.children().all(|c| rational_in(ctx, c, seen, known, depth + 1)),
    };
    if let Some(k) = key {
        known.insert(k, r);
    }
    r
}

pub(crate) fn find_definition<'c>(ctx: &'c Context, name: &str) -> Option<(usize, &'c Definition)> {
    ctx.definitions
        .iter()
        .enumerate()
        .find(|(_, d)| matches!(&d.name, Expr::Sym(s) | Expr::Idx(s, _) if same_name(s, name)))
}

/// Whether two names are equal. Names are short: comparing their bytes in a loop is much
/// cheaper than the call to `memcmp` that `==` makes, and evaluation compares names often.
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// The value of a range bound at a point.
pub fn bound_value(b: &Bound, point: &Point) -> Result<i64, EvalError> {
    match b {
        Bound::Int(v) => Ok(*v),
        Bound::Sym(s, k) => point
            .range(s)
            .and_then(|n| n.checked_add(*k))
            .ok_or_else(|| EvalError::Unbound(format!("the size `{s}`"))),
    }
}

/// The free index names of `e` that `bound` does not bind, each once, in order of appearance.
fn free_names<'e>(e: &'e Expr, bound: &mut Vec<&'e str>, out: &mut Vec<&'e str>) {
    let mut note = |i: &'e Index, bound: &[&'e str]| {
        if let Index::Name(n) = i {
            if !bound.contains(&n.as_str()) && !out.contains(&n.as_str()) {
                out.push(n);
            }
        }
    };
    match e {
        Expr::Num(_) | Expr::Sym(_) => {}
        Expr::Idx(_, ix) => ix.iter().for_each(|i| note(i, bound)),
        Expr::Delta(a, b) => {
            note(a, bound);
            note(b, bound);
        }
        Expr::Add(xs) | Expr::Mul(xs) => xs.iter().for_each(|x| free_names(x, bound, out)),
        Expr::Div(a, b) | Expr::Pow(a, b) | Expr::D(a, b) => {
            free_names(a, bound, out);
            free_names(b, bound, out);
        }
        Expr::Neg(a) | Expr::Call(_, a) => free_names(a, bound, out),
        Expr::Sum(s) => {
            bound.push(&s.index);
            free_names(&s.body, bound, out);
            bound.pop();
        }
    }
}

/// [`free_names`] of `e`, each compound node's worked out once from its children's: a step
/// rebuilds the nodes above what it rewrote, whose children are mostly the last term's.
fn shared_free_names<'a>(e: &'a Expr, known: &mut NodeMap<Vec<&'a str>>) -> Vec<&'a str> {
    let key = node_key(e);
    if let Some(names) = key.as_ref().and_then(|k| known.get(k)) {
        return names.clone();
    }
    let mut out = Vec::new();
    match e {
        Expr::Num(_) | Expr::Sym(_) | Expr::Idx(..) | Expr::Delta(..) => {
            free_names(e, &mut Vec::new(), &mut out)
        }
        Expr::Sum(s) => {
            out = shared_free_names(&s.body, known);
            out.retain(|n| *n != s.index);
        }
        _ => {
            for c in e.children() {
                for n in shared_free_names(c, known) {
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
            }
        }
    }
    if let Some(k) = key {
        known.insert(k, out.clone());
    }
    out
}

/// FxHash (as in rustc): the memo keys are small integers, hashed far faster than by SipHash,
/// and nothing here is exposed to adversarial keys.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// The value of an index name: bound by a sum or definition (innermost first), else the point's.
fn index_value(bound: &[(&str, i64)], point: &Point, n: &str) -> Option<i64> {
    bound.iter().rev().find(|(b, _)| same_name(b, n)).map(|(_, v)| *v).or_else(|| point.index(n))
}

/// Most indices of one indexed symbol resolved without allocating.
const INLINE_INDICES: usize = 4;

/// A memoised term's place and the values of its free indices (unused slots are 0).
type MemoKey = (Place, [i64; INLINE_INDICES]);

/// Where a memoised term is: its [`visit_key`], the addresses of its parts (its own for a
/// `sum_k`). Steps share these where they leave a part alone, though they rebuild the
/// nodes that hold them.
type Place = (usize, usize);

/// A number, symbol or indexed symbol: as cheap to evaluate as to look up.
fn is_atom(e: &Expr) -> bool {
    matches!(e, Expr::Num(_) | Expr::Sym(_) | Expr::Idx(_, _))
}

/// A list of terms met in a chain, with its value and (in floating point) its terms' values.
struct RecentList<'a, T> {
    list: &'a [Expr],
    values: Vec<T>,
    value: T,
}

/// The positions at which two lists of one length differ. Terms count as the same when
/// they are one node (their children at the same addresses) or equal leaves: the test is
/// cheap, and a pair of equal terms taken as differing costs only time.
fn differing(old: &[Expr], new: &[Expr]) -> Rc<[usize]> {
    old.iter().zip(new).enumerate().filter(|(_, (a, b))| !same_node(a, b)).map(|(k, _)| k).collect()
}

/// Whether two terms are one node: one [`node_key`], or equal leaves (a sum, which has no
/// key, is compared by neither).
fn same_node(a: &Expr, b: &Expr) -> bool {
    match (node_key(a), node_key(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => !matches!(a, Expr::Sum(_)) && a == b,
        _ => false,
    }
}

/// Concrete values of an indexed symbol's indices, inline (without allocating) when
/// there are at most [`INLINE_INDICES`] of them.
#[derive(Clone, Debug, Eq)]
enum IndexValues {
    /// How many, and the values (unused slots are 0).
    Inline(usize, [i64; INLINE_INDICES]),
    Wide(Vec<i64>),
}

impl IndexValues {
    fn as_slice(&self) -> &[i64] {
        match self {
            IndexValues::Inline(len, values) => &values[..*len],
            IndexValues::Wide(values) => values,
        }
    }
}

impl PartialEq for IndexValues {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl std::hash::Hash for IndexValues {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let values = self.as_slice();
        state.write_usize(values.len());
        for v in values {
            state.write_i64(*v);
        }
    }
}

/// Slots of a [`SlotCache`].
const SLOTS: usize = 256;

/// A direct-mapped cache: each key has one slot, chosen by the caller from a hash of the
/// key, and a newer key evicts an older one. The lookups it serves (a name's meaning, a
/// variable's value) are tiny and very frequent: a hash map's generic hashing and probing
/// costs more than recomputing them from the point.
struct SlotCache<K, V> {
    /// Empty until the first entry, then [`SLOTS`] long: many evaluators never use theirs.
    slots: Vec<Option<(K, V)>>,
}

impl<K: PartialEq, V> SlotCache<K, V> {
    fn new() -> Self {
        SlotCache { slots: Vec::new() }
    }

    fn get(&self, hash: u64, key: &K) -> Option<&V> {
        match self.slots.get(slot(hash)) {
            Some(Some((k, v))) if k == key => Some(v),
            _ => None,
        }
    }

    fn put(&mut self, hash: u64, key: K, value: V) {
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        self.slots[slot(hash)] = Some((key, value));
    }

    fn clear(&mut self) {
        self.slots.fill_with(|| None);
    }
}

/// The slot of a hash: its top bits, where the multiplicative mixing leaves the most entropy.
fn slot(hash: u64) -> usize {
    (hash >> (64 - SLOTS.trailing_zeros())) as usize
}

/// One round of FxHash's mixing.
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

/// What a name in a term stands for.
#[derive(Clone, Copy, PartialEq)]
enum Name {
    /// A defined name, by position in the context.
    Defined(usize),
    /// Anything else (a variable or a size), numbered so that equal names get one number.
    Other(usize),
}

/// What evaluation learns about terms that does not depend on the point, kept for all
/// the points at which the same terms are evaluated.
pub(crate) struct TermFacts<'a> {
    /// The free indices of each memoised term met, by place.
    free: FastMap<Place, Vec<&'a str>>,
    /// The free indices of compound nodes, by [`node_key`]: a term's are its children's.
    free_of_nodes: NodeMap<Vec<&'a str>>,
    /// What names stand for, by the address of their text in the terms.
    names: SlotCache<usize, Name>,
    /// The names numbered by [`Name::Other`], in order of numbering.
    others: Vec<&'a str>,
    /// Where a list differs from the list met before it (by the addresses of both), as
    /// [`differing`] finds: the same at every point, so compared once, not at each.
    list_changes: FastMap<(usize, usize), Rc<[usize]>>,
}

impl Default for TermFacts<'_> {
    fn default() -> Self {
        TermFacts {
            free: FastMap::default(),
            free_of_nodes: NodeMap::default(),
            names: SlotCache::new(),
            others: Vec::new(),
            list_changes: FastMap::default(),
        }
    }
}

impl<'a> TermFacts<'a> {
    /// What `name` (the text of a name in a term) stands for under `ctx`.
    fn name(&mut self, ctx: &Context, name: &'a str) -> Name {
        // Two live names at one address are the same text.
        let address = name.as_ptr() as usize;
        let hash = mix(0, address as u64);
        if let Some(known) = self.names.get(hash, &address) {
            return *known;
        }
        let meaning = match find_definition(ctx, name) {
            Some((k, _)) => Name::Defined(k),
            None => match self.others.iter().position(|n| same_name(n, name)) {
                Some(number) => Name::Other(number),
                None => {
                    self.others.push(name);
                    Name::Other(self.others.len() - 1)
                }
            },
        };
        self.names.put(hash, address, meaning);
        meaning
    }
}

/// A variable's number (see [`Name::Other`]) and up to [`INLINE_INDICES`] index values.
type VariableKey = (usize, usize, [i64; INLINE_INDICES]);

/// A variable that dual numbers differentiate by, and the dual evaluator's memory.
struct Seeded<'a> {
    var: Variable,
    memory: PointMemory<'a, Dual>,
}

/// What an evaluator remembers at one point. Cleared when the point changes, keeping
/// the capacity of its maps for the next point.
pub(crate) struct PointMemory<'a, T: Number> {
    /// Values of defined names (by position in the context) at concrete indices.
    definitions: FastMap<(usize, IndexValues), T>,
    /// Values of the point's variables met recently: most are met many times, and this
    /// is much faster to search than the point.
    variables: SlotCache<VariableKey, T>,
    /// Values of sums and derivatives `D(f, x)`, by address and the values of their free
    /// indices: `sum_k(exp(z_k))` inside `a_i` is summed once, not once per i, and a
    /// subterm shared by several steps' terms is evaluated once for all of them.
    memo: FastMap<MemoKey, T>,
    /// Dual-number memories for `D(f, x)`, one per variable (by name and indices).
    duals: FastMap<(&'a str, IndexValues), Seeded<'a>>,
    /// Indices bound by enclosing sums or by the definitions being evaluated, innermost
    /// last; kept here so that its capacity is reused.
    bound: Vec<(&'a str, i64)>,
    /// Whether the terms evaluated share parts (the terms of a chain): then the values of
    /// long sums and products are remembered too.
    shared: bool,
    /// The last sum and the last product of each length met where no index is bound: the
    /// next step's list of that kind and length usually differs from it in a term or two
    /// (see `Evaluator::shared_list`).
    recent_lists: FastMap<(usize, bool), RecentList<'a, T>>,
}

impl<T: Number> Default for PointMemory<'_, T> {
    fn default() -> Self {
        PointMemory {
            definitions: FastMap::default(),
            variables: SlotCache::new(),
            memo: FastMap::default(),
            duals: FastMap::default(),
            bound: Vec::new(),
            shared: false,
            recent_lists: FastMap::default(),
        }
    }
}

impl<T: Number> PointMemory<'_, T> {
    fn clear(&mut self) {
        self.definitions.clear();
        self.variables.clear();
        self.memo.clear();
        // The same variables tend to come back at the next point: keep their memories.
        for seeded in self.duals.values_mut() {
            seeded.memory.clear();
        }
        self.bound.clear();
        self.recent_lists.clear();
    }
}

struct Evaluator<'e, 'a, T: Number> {
    ctx: &'a Context,
    point: &'e Point,
    seed: Option<&'e Variable>,
    /// The variable of hyper-dual numbers' ε₂ (the outer one of a second derivative).
    second_seed: Option<&'e Variable>,
    facts: &'e mut TermFacts<'a>,
    memory: &'e mut PointMemory<'a, T>,
    /// Where the bindings visible here start in `memory.bound`: a definition's body sees
    /// only its own indices.
    scope: usize,
    work: u64,
    depth: usize,
}

impl<'e, 'a, T: Number> Evaluator<'e, 'a, T> {
    fn new(
        ctx: &'a Context,
        point: &'e Point,
        seed: Option<&'e Variable>,
        facts: &'e mut TermFacts<'a>,
        memory: &'e mut PointMemory<'a, T>,
    ) -> Self {
        Evaluator {
            ctx,
            point,
            seed,
            second_seed: None,
            facts,
            memory,
            scope: 0,
            work: 0,
            depth: 0,
        }
    }

    fn eval(&mut self, e: &'a Expr) -> Result<T, EvalError> {
        self.work += 1;
        if self.work > MAX_WORK {
            return Err(EvalError::TooLarge(format!(
                "evaluation needs more than {MAX_WORK} steps"
            )));
        }
        if self.depth >= MAX_EVAL_DEPTH {
            return Err(EvalError::TooLarge(format!(
                "evaluation nests more than {MAX_EVAL_DEPTH} levels"
            )));
        }
        self.depth += 1;
        let r = self.eval_node(e);
        self.depth -= 1;
        r
    }

    fn eval_node(&mut self, e: &'a Expr) -> Result<T, EvalError> {
        match e {
            Expr::Num(r) => T::from_rat(r),
            Expr::Sym(s) => self.symbol(s),
            Expr::Idx(name, ix) => {
                let values = self.index_values(ix)?;
                self.named(name, &values)
            }
            // A sum or product is kept per point by the address of its list, which the
            // terms of a chain share where a step left it alone (a step that changes one
            // term of a long sum rebuilds the sum's list, but not its terms' lists).
            Expr::Add(xs) if self.memory.shared => {
                self.memoised(e, |ev| ev.shared_list::<false>(xs))
            }
            Expr::Mul(xs) if self.memory.shared => {
                self.memoised(e, |ev| ev.shared_list::<true>(xs))
            }
            Expr::Add(xs) => self.sum_of(xs),
            Expr::Mul(xs) => self.product_of(xs),
            Expr::Div(a, b) => {
                let a = self.eval(a)?;
                a.div(&self.eval(b)?)
            }
            Expr::Neg(a) => Ok(self.eval(a)?.neg()),
            // Exact powers of the sample points are long, and the terms of a chain share them.
            Expr::Pow(b, x) if self.memory.shared => self.memoised(e, |ev| ev.power(b, x)),
            Expr::Pow(b, x) => self.power(b, x),
            Expr::Call(f, a) if self.memory.shared && !is_atom(a) => {
                self.memoised(e, |ev| T::apply(*f, &ev.eval(a)?))
            }
            Expr::Call(f, a) => T::apply(*f, &self.eval(a)?),
            Expr::Delta(a, b) => Ok(T::from_int(i64::from(self.index(a)? == self.index(b)?))),
            Expr::Sum(s) => self.memoised(e, |ev| ev.sum_terms(s)),
            Expr::D(f, x) => self.memoised(e, |ev| ev.derivative(f, x)),
        }
    }

    /// `b^x`, an integer exponent by `powi` (exact where the base is).
    fn power(&mut self, b: &'a Expr, x: &'a Expr) -> Result<T, EvalError> {
        let base = self.eval(b)?;
        if let Expr::Num(r) = x {
            if let Some(n) = r.as_i64() {
                return base.powi(n);
            }
        }
        base.pow(&self.eval(x)?)
    }

    fn index(&self, ix: &Index) -> Result<i64, EvalError> {
        match ix {
            Index::Int(v) => Ok(*v),
            Index::Name(n) => {
                self.index_named(n).ok_or_else(|| EvalError::Unbound(format!("the index `{n}`")))
            }
        }
    }

    fn index_named(&self, n: &str) -> Option<i64> {
        index_value(&self.memory.bound[self.scope..], self.point, n)
    }

    /// The concrete values of an indexed symbol's indices here.
    fn index_values(&self, ix: &[Index]) -> Result<IndexValues, EvalError> {
        if ix.len() <= INLINE_INDICES {
            let mut values = [0i64; INLINE_INDICES];
            for (v, i) in values.iter_mut().zip(ix) {
                *v = self.index(i)?;
            }
            return Ok(IndexValues::Inline(ix.len(), values));
        }
        let values = ix.iter().map(|i| self.index(i)).collect::<Result<_, _>>()?;
        Ok(IndexValues::Wide(values))
    }

    fn symbol(&mut self, s: &'a str) -> Result<T, EvalError> {
        let no_indices = IndexValues::Inline(0, [0; INLINE_INDICES]);
        let number = match self.facts.name(self.ctx, s) {
            Name::Defined(_) => return self.named(s, &no_indices),
            Name::Other(number) => number,
        };
        if let Some(size) = self.point.range(s) {
            return Ok(T::from_int(size));
        }
        self.lookup(s, number, &no_indices)
    }

    /// A symbol or indexed symbol at concrete indices: a definition or a point value.
    fn named(&mut self, name: &'a str, ix: &IndexValues) -> Result<T, EvalError> {
        let k = match self.facts.name(self.ctx, name) {
            Name::Defined(k) => k,
            Name::Other(number) => return self.lookup(name, number, ix),
        };
        let def = &self.ctx.definitions[k];
        let params: &'a [Index] = match &def.name {
            Expr::Idx(_, params) => params,
            _ => &[],
        };
        if params.iter().any(|p| matches!(p, Index::Int(_))) {
            return Err(EvalError::Unsupported(format!(
                "the definition of `{name}` has a number as an index"
            )));
        }
        let values = ix.as_slice();
        if params.len() != values.len() {
            return Err(EvalError::Unsupported(format!(
                "`{name}` is defined with {} indices but used with {}",
                params.len(),
                values.len()
            )));
        }
        // Held as the variable of `D(f, a_i)`: its value, seeded, or a value the point sets.
        let held = self.seeds(name, values);
        if let Some(v) = self.point.value(name, values) {
            return Ok(T::from_value(v, held));
        }
        let key = (k, ix.clone());
        if let Some(v) = self.memory.definitions.get(&key) {
            return Ok(if held.any() { v.held(held) } else { v.clone() });
        }
        // A definition's body sees only its own indices.
        let outer = std::mem::replace(&mut self.scope, self.memory.bound.len());
        for (p, v) in params.iter().zip(values) {
            if let Index::Name(n) = p {
                self.memory.bound.push((n, *v));
            }
        }
        let r = self.eval(&def.body);
        self.memory.bound.truncate(self.scope);
        self.scope = outer;
        let v = r?;
        self.memory.definitions.insert(key, v.clone());
        Ok(if held.any() { v.held(held) } else { v })
    }

    /// Which seeded variables the component `name[indices]` is.
    fn seeds(&self, name: &str, indices: &[i64]) -> Seeds {
        let is = |s: Option<&Variable>| s.is_some_and(|s| s.name == name && s.indices == indices);
        Seeds { first: is(self.seed), second: is(self.second_seed) }
    }

    /// The value of the variable `name` (numbered `number`) at the point.
    fn lookup(&mut self, name: &str, number: usize, ix: &IndexValues) -> Result<T, EvalError> {
        let key = match ix {
            IndexValues::Inline(len, values) => {
                let hash = values.iter().fold(mix(0, number as u64), |h, v| mix(h, *v as u64));
                let key = (number, *len, *values);
                if let Some(v) = self.memory.variables.get(hash, &key) {
                    return Ok(v.clone());
                }
                Some((hash, key))
            }
            IndexValues::Wide(_) => None,
        };
        let ix = ix.as_slice();
        let value = self
            .point
            .value(name, ix)
            .ok_or_else(|| EvalError::Unbound(Variable::component(name, ix).to_string()))?;
        let v = T::from_value(value, self.seeds(name, ix));
        if let Some((hash, key)) = key {
            self.memory.variables.put(hash, key, v.clone());
        }
        Ok(v)
    }

    /// The value of `e`, computed once per point for each value of its free indices and kept
    /// by its [`Place`].
    fn memoised(
        &mut self,
        e: &'a Expr,
        compute: impl FnOnce(&mut Self) -> Result<T, EvalError>,
    ) -> Result<T, EvalError> {
        let key = self.memo_key_at(visit_key(e), e);
        if let Some(v) = key.as_ref().and_then(|k| self.memory.memo.get(k)) {
            return Ok(v.clone());
        }
        let v = compute(self)?;
        if let Some(k) = key {
            self.memory.memo.insert(k, v.clone());
        }
        Ok(v)
    }

    /// The place that stands for `e` and the values of its free indices here, if they
    /// all have one.
    /// The value of a term at a point depends on nothing else (the seed is fixed).
    /// Terms with more than [`INLINE_INDICES`] free indices are not memoised: rare, and the
    /// key then needs no allocation.
    fn memo_key_at(&mut self, place: Place, e: &'a Expr) -> Option<MemoKey> {
        let facts = &mut *self.facts;
        let free = facts
            .free
            .entry(place)
            .or_insert_with(|| shared_free_names(e, &mut facts.free_of_nodes));
        if free.len() > INLINE_INDICES {
            return None;
        }
        let mut values = [0i64; INLINE_INDICES];
        let bound = &self.memory.bound[self.scope..];
        for (v, n) in values.iter_mut().zip(free.iter()) {
            *v = index_value(bound, self.point, n)?;
        }
        Some((place, values))
    }

    fn sum_of(&mut self, xs: &'a [Expr]) -> Result<T, EvalError> {
        let mut acc = T::from_int(0);
        for x in xs {
            acc = acc.add(&self.eval(x)?)?;
        }
        Ok(acc)
    }

    /// The sum (`PRODUCT` false) or product of a list in the terms of a chain, found from
    /// the last list of its kind and length where no index is bound (so that values depend
    /// on the point alone): a step that rewrites one term of a long sum costs that term,
    /// not the sum. The terms that are the same node as the last list's keep their values,
    /// and are added or multiplied afresh in order, so the value is the one [`Self::sum_of`]
    /// would give, to the bit; an exact sum (whose terms are long numbers) is instead
    /// corrected by the terms that differ, when at most a quarter do.
    fn shared_list<const PRODUCT: bool>(&mut self, xs: &'a [Expr]) -> Result<T, EvalError> {
        let fold = |ev: &mut Self| if PRODUCT { ev.product_of(xs) } else { ev.sum_of(xs) };
        // Exact products are not corrected (a factor may be 0): they are multiplied again.
        let exact_product = PRODUCT && T::MODE == Mode::Exact;
        if self.memory.bound.len() != self.scope || xs.len() < 8 || exact_product {
            return fold(self);
        }
        let key = (xs.len(), PRODUCT);
        let recent = self.memory.recent_lists.remove(&key);
        let changed = recent.as_ref().map(|old| {
            let at = (old.list.as_ptr() as usize, xs.as_ptr() as usize);
            self.facts.list_changes.entry(at).or_insert_with(|| differing(old.list, xs)).clone()
        });
        let value = match (T::MODE, recent, changed) {
            (Mode::Exact, Some(old), Some(changed)) if changed.len() <= xs.len() / 4 => {
                let mut acc = old.value;
                for &k in changed.iter() {
                    acc = acc.add(&self.eval(&old.list[k])?.neg())?.add(&self.eval(&xs[k])?)?;
                }
                acc
            }
            (Mode::Exact, ..) => fold(self)?,
            (_, old, changed) => {
                let values = match (old, changed) {
                    (Some(old), Some(changed)) => {
                        let mut values = old.values;
                        for &k in changed.iter() {
                            values[k] = self.eval(&xs[k])?;
                        }
                        values
                    }
                    _ => xs.iter().map(|x| self.eval(x)).collect::<Result<Vec<T>, _>>()?,
                };
                let mut acc = T::from_int(i64::from(PRODUCT));
                for v in &values {
                    acc = if PRODUCT { acc.mul(v)? } else { acc.add(v)? };
                }
                self.memory
                    .recent_lists
                    .insert(key, RecentList { list: xs, values, value: acc.clone() });
                return Ok(acc);
            }
        };
        let list = RecentList { list: xs, values: Vec::new(), value: value.clone() };
        self.memory.recent_lists.insert(key, list);
        Ok(value)
    }

    fn product_of(&mut self, xs: &'a [Expr]) -> Result<T, EvalError> {
        let mut acc = T::from_int(1);
        for x in xs {
            acc = acc.mul(&self.eval(x)?)?;
        }
        Ok(acc)
    }

    fn sum_terms(&mut self, s: &'a Sum) -> Result<T, EvalError> {
        let lo = bound_value(&s.lo, self.point)?;
        let hi = bound_value(&s.hi, self.point)?;
        if i128::from(hi) - i128::from(lo) >= i128::from(MAX_SUM_TERMS) {
            return Err(EvalError::TooLarge(format!("a sum with more than {MAX_SUM_TERMS} terms")));
        }
        let mut acc = T::from_int(0);
        for k in lo..=hi {
            self.memory.bound.push((s.index.as_str(), k));
            let r = self.eval(&s.body);
            self.memory.bound.pop();
            acc = acc.add(&r?)?;
        }
        Ok(acc)
    }

    /// The name of the variable that `x` names here and its indices, resolved in the
    /// current scope.
    fn variable(&self, x: &'a Expr) -> Result<(&'a str, IndexValues), EvalError> {
        let (name, ix) = match x {
            Expr::Sym(s) => (s, IndexValues::Inline(0, [0; INLINE_INDICES])),
            Expr::Idx(s, ix) => (s, self.index_values(ix)?),
            other => {
                return Err(EvalError::Unsupported(format!(
                    "cannot differentiate with respect to `{other}`"
                )))
            }
        };
        Ok((name, ix))
    }

    /// `D(f, x)` by dual numbers, in the current index scope.
    fn derivative(&mut self, f: &'a Expr, x: &'a Expr) -> Result<T, EvalError> {
        match T::MODE {
            Mode::Exact => return Err(EvalError::NotRational("a derivative D(…)".into())),
            Mode::Dual => return self.nested_derivative(f, x),
            Mode::HyperDual => return Err(EvalError::Unsupported(THIRD_DERIVATIVE.into())),
            Mode::Float => {}
        }
        let d = self.derivative_at(self.point, f, x)?;
        T::from_derivative(d, 0.0)
    }

    /// `D(f, x)` at `point` (this one, or a neighbour of it), in f64 by dual numbers, in
    /// the current index scope.
    fn derivative_at(&mut self, point: &Point, f: &'a Expr, x: &'a Expr) -> Result<f64, EvalError> {
        let (name, ix) = self.variable(x)?;
        let mut fresh = PointMemory::default();
        let here = std::ptr::eq(point, self.point);
        let PointMemory { duals, bound, .. } = &mut *self.memory;
        // Memories are for this point only; a neighbour gets a memory of its own.
        let var = Variable::component(name, ix.as_slice());
        let (var, memory) = if here {
            let Seeded { var, memory } = duals
                .entry((name, ix))
                .or_insert_with(|| Seeded { var, memory: PointMemory::default() });
            (&*var, memory)
        } else {
            (&var, &mut fresh)
        };
        memory.bound.clear();
        memory.bound.extend_from_slice(&bound[self.scope..]);
        let mut inner = Evaluator::new(self.ctx, point, Some(var), self.facts, memory);
        inner.work = self.work;
        inner.depth = self.depth + 1;
        let r = inner.eval(f);
        self.work = inner.work;
        Ok(r?.derivative)
    }

    /// A derivative `D(f, x)` inside the derivative along the seeded variable (a second
    /// derivative): its value and its derivative along the seeded variable, by hyper-dual
    /// numbers (ε₁ on `x`, ε₂ on the seed), or, where `f` holds a derivative itself (a
    /// third derivative), by [`Self::differenced_derivative`].
    fn nested_derivative(&mut self, f: &'a Expr, x: &'a Expr) -> Result<T, EvalError> {
        let seed = self.seed.ok_or_else(|| {
            EvalError::Unsupported("a derivative without a seeded variable".into())
        })?;
        let (name, ix) = self.variable(x)?;
        let var = Variable::component(name, ix.as_slice());
        let mut memory = PointMemory::<HyperDual>::default();
        memory.bound.extend_from_slice(&self.memory.bound[self.scope..]);
        let mut inner = Evaluator::new(self.ctx, self.point, Some(&var), self.facts, &mut memory);
        inner.second_seed = Some(seed);
        inner.work = self.work;
        inner.depth = self.depth + 1;
        let r = inner.eval(f);
        self.work = inner.work;
        match r {
            Ok(h) => T::from_derivative(h.first, h.mixed),
            Err(EvalError::Unsupported(why)) if why == THIRD_DERIVATIVE => {
                self.differenced_derivative(seed, f, x)
            }
            Err(e) => Err(e),
        }
    }

    /// `D(f, x)` and its derivative along `seed` by central differences of its dual-number
    /// values: the five-point formula at steps h and 2h, extrapolated (Richardson) to an
    /// error of order h^6.
    fn differenced_derivative(
        &mut self,
        seed: &Variable,
        f: &'a Expr,
        x: &'a Expr,
    ) -> Result<T, EvalError> {
        let at = self.point.get(seed).ok_or_else(|| EvalError::Unbound(seed.to_string()))?;
        let value = self.derivative_at(self.point, f, x)?;
        let h = NESTED_STEP * at.abs().max(1e-2);
        let mut g = [0.0; 6];
        for (slot, k) in g.iter_mut().zip([-4.0, -2.0, -1.0, 1.0, 2.0, 4.0]) {
            let mut neighbour = self.point.clone();
            neighbour.set(seed, at + k * h);
            *slot = self.derivative_at(&neighbour, f, x)?;
        }
        let [m4, m2, m1, p1, p2, p4] = g;
        let five_point = |m2: f64, m1: f64, p1: f64, p2: f64, h: f64| {
            (m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * h)
        };
        let (fine, coarse) = (five_point(m2, m1, p1, p2, h), five_point(m4, m2, p2, p4, 2.0 * h));
        // The two steps' disagreement is about 15 times the finer one's error: past
        // UNRELIABLE, a pole or fast turn is near, and the extrapolation cannot be trusted
        // to the checks' tolerance; the point is discarded, not the step failed.
        if (fine - coarse).abs() > UNRELIABLE * fine.abs().max(coarse.abs()) {
            return Err(EvalError::Domain(format!(
                "the derivative of D(…) along {seed} cannot be differenced to the checks' \
                 tolerance here"
            )));
        }
        T::from_derivative(value, (16.0 * fine - coarse) / 15.0)
    }
}

/// Relative step of the central differences that differentiate a nested derivative inside
/// a second derivative (third derivatives and up), as a share of the variable's value (a
/// singularity such as `1/x` at 0 is as far away as the value is from 0). The values
/// differenced are exact to rounding (hyper-dual numbers), so the step is small: at 5e-3,
/// `D(D(D(log(x - 3), x), x), x)` erred by 5e-7 and most third derivatives near a pole or
/// with a frequency of 10 failed; the rounding, of order 1e-16/h, stays below 1e-11.
/// `check.rs` allows for it in a derivative's magnitude.
pub(crate) const NESTED_STEP: f64 = 2.5e-4;

/// Largest relative disagreement of the two difference steps of a nested derivative at a
/// point that is kept (see `differenced_derivative`).
const UNRELIABLE: f64 = 1e-6;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_expr, parse_file};
    use crate::terms::RatExt;
    use num_bigint::BigInt;

    fn softmax_point(z: &[f64], y: &[f64]) -> Point {
        let mut p = Point::new();
        p.set_range("n", z.len() as i64);
        for (k, (&zk, &yk)) in z.iter().zip(y).enumerate() {
            p.set_component("z", &[k as i64 + 1], zk);
            p.set_component("y", &[k as i64 + 1], yk);
        }
        p
    }

    #[test]
    fn definitions_sums_and_deltas() {
        let doc = parse_file(crate::numeric::fixtures::SOFTMAX_CE).unwrap();
        let z = [0.5, -1.0, 2.0];
        let y = [0.2, 0.3, 0.5];
        let mut p = softmax_point(&z, &y);
        let s: f64 = z.iter().map(|v| v.exp()).sum();
        p.set_index("i", 3);
        p.set_index("j", 3);
        let a3 = eval_f64(&doc.context, &parse_expr("a_i").unwrap(), &p).unwrap();
        assert!((a3 - 2f64.exp() / s).abs() < 1e-15);
        let l = eval_f64(&doc.context, &parse_expr("l").unwrap(), &p).unwrap();
        let want: f64 = -(0..3).map(|k| y[k] * (z[k].exp() / s).ln()).sum::<f64>();
        assert!((l - want).abs() < 1e-14);
        assert_eq!(eval_f64(&doc.context, &parse_expr("delta(i,j)").unwrap(), &p), Ok(1.0));
        p.set_index("j", 1);
        assert_eq!(eval_f64(&doc.context, &parse_expr("delta(i,j)").unwrap(), &p), Ok(0.0));
    }

    #[test]
    fn d_terms_evaluate_by_dual_numbers() {
        let doc = parse_file(crate::numeric::fixtures::SOFTMAX_CE).unwrap();
        let z = [0.5, -1.0, 2.0];
        let y = [0.2, 0.3, 0.5];
        let mut p = softmax_point(&z, &y);
        let ctx = &doc.context;
        for (i, j) in [(1, 1), (1, 2), (3, 2)] {
            p.set_index("i", i);
            p.set_index("j", j);
            let d = eval_f64(ctx, &parse_expr("D(a_i, z_j)").unwrap(), &p).unwrap();
            let want = eval_f64(ctx, &parse_expr("a_i*(delta(i,j) - a_j)").unwrap(), &p).unwrap();
            assert!((d - want).abs() < 1e-14, "{d} vs {want}");
            let chain = eval_f64(ctx, &parse_expr("exp(z_i)*D(z_i, z_j)").unwrap(), &p).unwrap();
            let want = if i == j { z[i as usize - 1].exp() } else { 0.0 };
            assert_eq!(chain, want);
        }
        // The loss gradient is a_j - y_j because the y sum to one.
        p.set_index("j", 2);
        let d = eval_f64(ctx, &parse_expr("D(l, z_j)").unwrap(), &p).unwrap();
        let want = eval_f64(ctx, &parse_expr("a_j - y_j").unwrap(), &p).unwrap();
        assert!((d - want).abs() < 1e-14);
        // A D whose variable is bound by an enclosing sum.
        let total = eval_f64(ctx, &parse_expr("sum_k(D(a_i, z_k))").unwrap(), &p).unwrap();
        assert!(total.abs() < 1e-15);
        let nested = eval_f64(ctx, &parse_expr("D(D(a_i, z_j), z_k)").unwrap(), &p);
        assert!(matches!(nested, Err(EvalError::Unbound(_)) | Err(EvalError::Unsupported(_))));
        // A second derivative: the dual numbers' derivative, differenced along z_k.
        p.set_index("k", 1);
        let nested = eval_f64(ctx, &parse_expr("D(D(a_i, z_j), z_k)").unwrap(), &p).unwrap();
        let hand = "a_i*(delta(i,k) - a_k)*(delta(i,j) - a_j) - a_i*a_j*(delta(j,k) - a_k)";
        let want = eval_f64(ctx, &parse_expr(hand).unwrap(), &p).unwrap();
        assert!((nested - want).abs() < 1e-10 * want.abs().max(1.0), "{nested} vs {want}");
        // With respect to a defined name, held as a variable: d(-sum_i(y_i*log(a_i)))/da_j.
        let by_defined = eval_f64(ctx, &parse_expr("D(l, a_j)").unwrap(), &p).unwrap();
        let want = eval_f64(ctx, &parse_expr("-y_j/a_j").unwrap(), &p).unwrap();
        assert!((by_defined - want).abs() < 1e-14, "{by_defined} vs {want}");
    }

    #[test]
    fn exact_evaluation_of_rational_terms() {
        let ctx = Context::default();
        let mut p = Point::new();
        p.set_exact(&Variable::scalar("x"), Rat::new(BigInt::from(1), BigInt::from(3)));
        p.set_range("n", 4);
        let e = parse_expr("(x + 1)^2 / x - sum_{k=1}^{n}(x)").unwrap_or_else(|d| panic!("{d}"));
        let v = eval_exact(&ctx, &e, &p).unwrap();
        // (4/3)^2 * 3 - 4/3 = 16/3 - 4/3 = 4
        assert_eq!(v, Rat::from_integer(BigInt::from(4)));
        assert!(matches!(
            eval_exact(&ctx, &parse_expr("exp(x)").unwrap(), &p),
            Err(EvalError::NotRational(_))
        ));
        assert!(matches!(
            eval_exact(&ctx, &parse_expr("2^100000000").unwrap(), &p),
            Err(EvalError::TooLarge(_))
        ));
        assert!(matches!(
            eval_f64(&ctx, &parse_expr("2^100000000").unwrap(), &p),
            Err(EvalError::Overflow(_))
        ));
        assert_eq!(
            eval_exact(&ctx, &parse_expr("1/(x - x)").unwrap(), &p),
            Err(EvalError::DivisionByZero)
        );
        assert!(is_rational(&ctx, &parse_expr("x^2/(1+x)").unwrap()));
        assert!(!is_rational(&ctx, &parse_expr("x^2/(1+exp(x))").unwrap()));
    }

    #[test]
    fn free_names_are_the_free_indices() {
        for src in [
            "sum_k(exp(z_k))",
            "a_i*(delta(i,j) - a_j) + sum_k(W_{k,m}*delta(k,j))",
            "D(sum_i(y_i*log(a_i)), z_j)",
            "sum_i(sum_i(x_i) + x_i) + x_p^2",
        ] {
            let e = parse_expr(src).unwrap();
            let mut names = Vec::new();
            free_names(&e, &mut Vec::new(), &mut names);
            // Worked out node by node, in the same order, also where a node recurs.
            let twice = Expr::Add(vec![e.clone(), e.clone()].into());
            assert_eq!(shared_free_names(&twice, &mut NodeMap::default()), names, "{src}");
            names.sort_unstable();
            let want: Vec<String> = e.free_indices().into_iter().collect();
            assert_eq!(names, want, "{src}");
        }
    }

    #[test]
    fn runaway_evaluations_are_refused() {
        let ctx = Context::default();
        let p = Point::new();
        let long = parse_expr("sum_{k=1}^{1000000000}(1)").unwrap();
        assert!(matches!(eval_f64(&ctx, &long, &p), Err(EvalError::TooLarge(_))));
        let nested = parse_expr(
            "sum_{a=1}^{1000}(sum_{b=1}^{1000}(sum_{c=1}^{1000}(delta(a,c) + delta(b,c))))",
        )
        .unwrap();
        assert!(matches!(eval_f64(&ctx, &nested, &p), Err(EvalError::TooLarge(_))));
        // Inner sums that do not depend on the outer indices are summed once, not 10^6 times.
        let hoisted =
            parse_expr("sum_{a=1}^{1000}(sum_{b=1}^{1000}(sum_{c=1}^{1000}(1)))").unwrap();
        assert_eq!(eval_f64(&ctx, &hoisted, &p), Ok(1e9));
        let inner =
            parse_expr("sum_{a=1}^{3}(sum_{b=1}^{4}(delta(a,b) + sum_{c=1}^{2}(delta(c,b))))")
                .unwrap();
        assert_eq!(eval_f64(&ctx, &inner, &p), Ok(3.0 + 3.0 * 2.0));
        assert!(matches!(
            eval_f64(&ctx, &parse_expr("log(0)").unwrap(), &p),
            Err(EvalError::Domain(_))
        ));
        assert!(matches!(
            eval_f64(&ctx, &parse_expr("x").unwrap(), &p),
            Err(EvalError::Unbound(_))
        ));
    }
}

#[cfg(test)]
mod deep_terms {
    use super::*;
    use crate::expr::{Definition, Func};
    use crate::numeric::check::{check_derivative, check_equal, CheckOptions};
    use crate::numeric::compile::Kernel;
    use crate::terms::ExprExt;

    /// `f(f(…f(x)…))`, `depth` calls deep, alternating functions that stay in range.
    fn tower(depth: usize, leaf: Expr) -> Expr {
        (0..depth).fold(leaf, |e, k| {
            if k % 2 == 0 {
                Expr::call(Func::Sin, e)
            } else {
                Expr::Add(vec![e, Expr::rat(1, 2)].into())
            }
        })
    }

    #[test]
    fn the_deepest_terms_stay_within_the_default_test_stack() {
        // A defined name as deep as the parser allows, used at the bottom of an equally deep term.
        let mut ctx = Context::default();
        ctx.definitions
            .push(Definition { name: Expr::sym("f"), body: tower(MAX_DEPTH - 2, Expr::sym("x")) });
        let e = tower(MAX_DEPTH - 2, Expr::sym("f"));
        let opts = CheckOptions { points: 2, ..CheckOptions::default() };
        assert!(check_equal(&ctx, &e, &e, &opts).is_ok());
        assert!(check_derivative(
            &ctx,
            &e,
            &Expr::sym("x"),
            &Expr::d(e.clone(), Expr::sym("x")),
            &opts
        )
        .is_ok());
        assert!(Kernel::compile(&ctx, &e, &[]).is_ok());
        // Past the bound, an error rather than a stack overflow.
        let mut deeper = ctx.clone();
        deeper.definitions[0].body = tower(3 * MAX_DEPTH, Expr::sym("x"));
        let mut p = Point::new();
        p.set_scalar("x", 0.5);
        assert!(matches!(eval_f64(&deeper, &e, &p), Err(EvalError::TooLarge(_))));
        assert!(Kernel::compile(&deeper, &e, &[]).is_err());
    }
}
