//! Deciding side conditions: those the kernel can settle are discharged or refused,
//! the rest become hypotheses of the result. Nothing is assumed silently.

use super::rules::Condition;
use super::Binder;
use crate::expr::{Bound, Context, Expr, Func, Index, Rat};
use num_traits::Zero;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the kernel concluded about a side condition.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Fails,
    /// Not decidable here: carried as a hypothesis.
    Unknown,
}

/// How deep the deciders look through definitions.
const MAX_UNFOLD: usize = 16;

/// An equivalent list of simpler conditions: a product is non-zero when each factor is,
/// a power or a negation when its base is, `abs(u)` when `u` is. Numbers drop out when
/// non-zero.
pub fn split(cond: Condition) -> Vec<Condition> {
    match cond {
        Condition::NonZero(Expr::Mul(fs)) => {
            fs.iter().flat_map(|f| split(Condition::NonZero(f.clone()))).collect()
        }
        Condition::NonZero(Expr::Div(a, b)) => [a, b]
            .into_iter()
            .flat_map(|t| split(Condition::NonZero(Arc::unwrap_or_clone(t))))
            .collect(),
        Condition::NonZero(Expr::Neg(x)) => split(Condition::NonZero(Arc::unwrap_or_clone(x))),
        Condition::NonZero(Expr::Pow(b, k)) if k.as_num().is_some_and(|r| r.is_positive()) => {
            split(Condition::NonZero(Arc::unwrap_or_clone(b)))
        }
        Condition::NonZero(Expr::Call(Func::Abs, u)) => {
            split(Condition::NonZero(Arc::unwrap_or_clone(u)))
        }
        Condition::NonZero(Expr::Num(r)) if !r.is_zero() => vec![],
        other => vec![other],
    }
}

/// Decide `cond`; `binders` are the sums enclosing the rewritten position.
pub fn decide(ctx: &Context, cond: &Condition, binders: &[Binder]) -> Verdict {
    match cond {
        Condition::IndexFree(Index::Name(k), e) => verdict(!e.free_indices().contains(k)),
        Condition::IndexFree(Index::Int(_), _) => Verdict::Holds,
        Condition::FreeOf(x, e) => match x {
            Expr::Sym(name) | Expr::Idx(name, _) => verdict(!depends_on(ctx, e, name, 0)),
            _ => Verdict::Fails,
        },
        Condition::Integer(e) => verdict(e.as_num().is_some_and(|r| r.is_integer())),
        Condition::Natural(e) => {
            verdict(e.as_num().is_some_and(|r| r.is_integer() && r.is_positive()))
        }
        Condition::InRange(j, lo, hi) => in_range(ctx, j, lo, hi, binders),
        Condition::OutOfRange(j, lo, hi) => out_of_range(ctx, j, lo, hi, binders),
        // `hi - lo + 1 >= 0`, that is `lo <= hi + 1`.
        Condition::RangeLength(lo, hi) => match hi.shifted(1).and_then(|h| le(ctx, lo, &h)) {
            Some(b) => verdict(b),
            None if non_empty(ctx, lo, hi) => Verdict::Holds,
            None => Verdict::Unknown,
        },
        Condition::Positive(e) => match sign(ctx, e, 0) {
            POS => Verdict::Holds,
            s if s & POS == 0 => Verdict::Fails,
            _ => Verdict::Unknown,
        },
        // Decided or refused, never carried: `u >= 0` may hold on no neighbourhood, so
        // under a derivative it would license `D(abs(x), x) = 1` at x = 0.
        Condition::NonNegative(e) => verdict(sign(ctx, e, 0) & NEG == 0),
        Condition::NonZero(e) => match sign(ctx, e, 0) {
            ZERO => Verdict::Fails,
            s if s & ZERO == 0 => Verdict::Holds,
            _ => Verdict::Unknown,
        },
        // A case split is about free indices; on an index bound by a sum it means nothing.
        Condition::IndexEq(a, b) | Condition::IndexNe(a, b)
            if [a, b].iter().any(|i| is_bound(i, binders)) =>
        {
            Verdict::Fails
        }
        // Equal indices, or two numbers, are decided, and so are indices whose ranges do
        // not meet; otherwise it depends on the values.
        Condition::IndexEq(a, b) | Condition::IndexNe(a, b) => match (a, b) {
            _ if a == b => verdict(matches!(cond, Condition::IndexEq(..))),
            (Index::Int(_), Index::Int(_)) => verdict(matches!(cond, Condition::IndexNe(..))),
            _ if index_range(ctx, b, binders).is_some_and(|(lo, hi)| {
                out_of_range(ctx, a, &lo, &hi, binders) == Verdict::Holds
            }) =>
            {
                verdict(matches!(cond, Condition::IndexNe(..)))
            }
            // Two indices whose ranges are one and the same single value are equal.
            _ if point(ctx, a, binders).is_some_and(|p| Some(p) == point(ctx, b, binders)) => {
                verdict(matches!(cond, Condition::IndexEq(..)))
            }
            _ => Verdict::Unknown,
        },
        Condition::ForAll(k, lo, hi, c) => {
            let mut inner = binders.to_vec();
            inner.push((k.clone(), lo.clone(), hi.clone()));
            match decide(ctx, c, &inner) {
                Verdict::Holds => Verdict::Holds,
                Verdict::Fails if non_empty(ctx, lo, hi) => Verdict::Fails,
                _ => Verdict::Unknown,
            }
        }
    }
}

fn is_bound(i: &Index, binders: &[Binder]) -> bool {
    matches!(i, Index::Name(n) if binders.iter().any(|(b, _, _)| b == n))
}

/// `cond` quantified over every enclosing sum whose index it mentions (innermost first),
/// so that a condition on a bound index is stated for the sum's whole range.
pub fn quantify(cond: Condition, binders: &[Binder]) -> Condition {
    binders.iter().rev().fold(cond, |c, (k, lo, hi)| {
        if c.free_indices().contains(k) {
            Condition::ForAll(k.clone(), lo.clone(), hi.clone(), Box::new(c))
        } else {
            c
        }
    })
}

fn verdict(b: bool) -> Verdict {
    if b {
        Verdict::Holds
    } else {
        Verdict::Fails
    }
}

/// The term of a sign condition (through any quantifier).
pub fn term_of(c: &Condition) -> Option<&Expr> {
    match c {
        Condition::NonZero(e) | Condition::Positive(e) | Condition::NonNegative(e) => Some(e),
        Condition::ForAll(_, _, _, c) => term_of(c),
        _ => None,
    }
}

/// Whether a term of `c` may jump: it holds `step`, directly or through definitions, or a
/// definition it reaches holds a power [`bases_that_may_jump`] names. Only a condition on
/// continuous terms holds near a point where it holds.
pub fn may_jump(ctx: &Context, c: &Condition) -> bool {
    let Some(t) = term_of(c) else { return false };
    let steps = |e: &Expr| e.any(&mut |u| matches!(u, Expr::Call(Func::Step, _)));
    if steps(t) {
        return true;
    }
    // The definitions `t` reaches (asking of every definition whether `t` depends on it
    // made a long context cost its square per condition), with the sizes worked out once.
    let sizes = std::cell::OnceCell::new();
    let sizes = || sizes.get_or_init(|| super::validate::sizes(ctx));
    super::validate::reached_definitions(ctx, t)
        .into_iter()
        .any(|d| steps(&d.body) || jumping_bases(ctx, &d.body, sizes).is_none_or(|b| !b.is_empty()))
}

/// The bases `u` of the powers `u^v` in `e` whose exponent varies (it holds a variable, not
/// only numbers, indices and sizes) and whose base is not known positive: `u^v` is
/// continuous where `u > 0`, but `0^(x^2)` jumps at x = 0 (`0^0 = 1`). `None` when such a
/// base mentions an index a sum inside `e` binds, where `u > 0` would not be about it.
pub fn bases_that_may_jump(ctx: &Context, e: &Expr) -> Option<Vec<Expr>> {
    let sizes = std::cell::OnceCell::new();
    jumping_bases(ctx, e, || sizes.get_or_init(|| super::validate::sizes(ctx)))
}

/// [`bases_that_may_jump`], with the context's sizes given.
fn jumping_bases<'s>(
    ctx: &Context,
    e: &Expr,
    sizes: impl FnOnce() -> &'s BTreeSet<String>,
) -> Option<Vec<Expr>> {
    fn powers(e: &Expr, bound: &mut Vec<String>, out: &mut Vec<(Expr, Expr, bool)>) {
        match e {
            Expr::Sum(s) => {
                bound.push(s.index.clone());
                powers(&s.body, bound, out);
                bound.pop();
                return;
            }
            Expr::Pow(u, v) => {
                let inside = u.free_indices().iter().any(|k| bound.contains(k));
                out.push(((**u).clone(), (**v).clone(), inside));
            }
            _ => {}
        }
        e.children().for_each(|c| powers(c, bound, out));
    }
    let mut found = Vec::new();
    powers(e, &mut Vec::new(), &mut found);
    let none = BTreeSet::new();
    let sizes = if found.is_empty() { &none } else { sizes() };
    let varies = |v: &Expr| {
        v.any(&mut |t| match t {
            Expr::Sym(n) => !sizes.contains(n),
            Expr::Idx(..) | Expr::D(..) => true,
            _ => false,
        })
    };
    let mut out: Vec<Expr> = Vec::new();
    for (u, v, inside) in found {
        if varies(&v) && sign(ctx, &u, 0) != POS && !out.contains(&u) {
            if inside {
                return None;
            }
            out.push(u);
        }
    }
    Some(out)
}

/// Whether `e` mentions the variable name, directly or through definitions.
pub fn depends_on(ctx: &Context, e: &Expr, name: &str, depth: usize) -> bool {
    depends_through(ctx, e, name, depth, &mut BTreeMap::new())
}

/// [`depends_on`], each defined name's answer worked out once: a definition that mentions
/// the one before it several times would otherwise be walked that many times per level.
/// (Only a "yes" can come from the depth limit, and a "yes" is the safe answer.)
fn depends_through(
    ctx: &Context,
    e: &Expr,
    name: &str,
    depth: usize,
    known: &mut BTreeMap<String, bool>,
) -> bool {
    if depth > MAX_UNFOLD {
        return true;
    }
    let names = |i: &Index| matches!(i, Index::Name(n) if n == name);
    e.any(&mut |t| match t {
        // A range bound counts: a sum depends on the size it runs to; so does an index
        // position (`delta(n, 0)` holds a size `n`).
        Expr::Sum(s) => [&s.lo, &s.hi].iter().any(|b| b.size() == Some(name)),
        _ if t.indices().any(names) => true,
        Expr::Sym(s) | Expr::Idx(s, _) if s == name => true,
        Expr::Sym(s) | Expr::Idx(s, _) => once(known, s, |known| {
            ctx.definition(s).is_some_and(|d| depends_through(ctx, &d.body, name, depth + 1, known))
        }),
        _ => false,
    })
}

/// `known[name]`, worked out by `work` the first time it is asked for.
fn once<T: Copy>(
    known: &mut BTreeMap<String, T>,
    name: &str,
    work: impl FnOnce(&mut BTreeMap<String, T>) -> T,
) -> T {
    if let Some(&v) = known.get(name) {
        return v;
    }
    let v = work(known);
    *known.entry(name.to_string()).or_insert(v)
}

fn in_range(ctx: &Context, j: &Index, lo: &Bound, hi: &Bound, binders: &[Binder]) -> Verdict {
    let name = match j {
        Index::Int(v) => return within(ctx, lo, hi, &Bound::Int(*v), &Bound::Int(*v)),
        Index::Name(name) => name,
    };
    // An index bound by an enclosing sum ranges over that sum's range: the condition must
    // hold for all of it, and cannot become a hypothesis about a bound name.
    if let Some((_, l, h)) = binders.iter().rev().find(|(b, _, _)| b == name) {
        return verdict(within(ctx, lo, hi, l, h) == Verdict::Holds);
    }
    match ctx.range_of(name) {
        Some((l, h)) if within(ctx, lo, hi, l, h) == Verdict::Holds => Verdict::Holds,
        _ => Verdict::Unknown,
    }
}

/// Whether every value the index may take lies below `lo` or above `hi`: a number, an
/// index bound by an enclosing sum (over that sum's range) or a declared index (over its
/// range). Never carried: an index without a range, or ranges that may meet, fail.
fn out_of_range(ctx: &Context, j: &Index, lo: &Bound, hi: &Bound, binders: &[Binder]) -> Verdict {
    let Some((j_lo, j_hi)) = index_range(ctx, j, binders) else {
        return Verdict::Fails;
    };
    let below = j_hi.shifted(1).and_then(|above_j| le(ctx, &above_j, lo)) == Some(true);
    let above = hi.shifted(1).and_then(|above_hi| le(ctx, &above_hi, &j_lo)) == Some(true);
    verdict(below || above)
}

/// The values an index may take: a number itself, a bound index its sum's range, a
/// declared index its declared range.
fn index_range(ctx: &Context, j: &Index, binders: &[Binder]) -> Option<(Bound, Bound)> {
    match j {
        Index::Int(v) => Some((Bound::Int(*v), Bound::Int(*v))),
        Index::Name(name) => match binders.iter().rev().find(|(b, _, _)| b == name) {
            Some((_, l, h)) => Some((l.clone(), h.clone())),
            None => ctx.range_of(name).map(|(l, h)| (l.clone(), h.clone())),
        },
    }
}

/// The one value an index's range holds, where its two bounds are the same.
fn point(ctx: &Context, j: &Index, binders: &[Binder]) -> Option<Bound> {
    index_range(ctx, j, binders).and_then(|(lo, hi)| (lo == hi).then_some(lo))
}

/// Whether `a <= b` surely holds, surely fails, or cannot be told: two integers, or one
/// size with two offsets, compare; `a <= 1 + c <= n + c` for a size `n >= 1` ([`untouched`]).
fn le(ctx: &Context, a: &Bound, b: &Bound) -> Option<bool> {
    le_if(a, b, |n| untouched(ctx, n))
}

/// [`le`], with `at_least_one` saying which sizes are taken as `n >= 1`.
fn le_if(a: &Bound, b: &Bound, at_least_one: impl Fn(&str) -> bool) -> Option<bool> {
    match (a, b) {
        (Bound::Int(x), Bound::Int(y)) => Some(x <= y),
        (Bound::Sym(m, x), Bound::Sym(n, y)) if m == n => Some(x <= y),
        (Bound::Int(x), Bound::Sym(n, y))
            if y.checked_add(1).is_some_and(|top| *x <= top) && at_least_one(n) =>
        {
            Some(true)
        }
        _ => None,
    }
}

/// Whether `inner_lo..inner_hi` lies within `lo..hi`.
fn within(ctx: &Context, lo: &Bound, hi: &Bound, inner_lo: &Bound, inner_hi: &Bound) -> Verdict {
    match (le(ctx, lo, inner_lo), le(ctx, inner_hi, hi)) {
        (Some(true), Some(true)) => Verdict::Holds,
        (Some(false), _) | (_, Some(false)) => Verdict::Fails,
        _ => Verdict::Unknown,
    }
}

/// Whether a range surely has a term: `lo <= hi` ([`le`]).
fn non_empty(ctx: &Context, lo: &Bound, hi: &Bound) -> bool {
    le(ctx, lo, hi) == Some(true)
}

/// `e`, or the body of the plain symbol it names (through a chain of definitions).
fn unfold_symbol<'a>(ctx: &'a Context, mut e: &'a Expr) -> &'a Expr {
    for _ in 0..MAX_UNFOLD {
        match e {
            Expr::Sym(s) => match ctx.definition(s) {
                Some(d) => e = &d.body,
                None => break,
            },
            _ => break,
        }
    }
    e
}

/// `c - σ(u)` or `c - tanh(u)^2` with a constant `c ≥ 1`.
fn is_one_minus_bounded(ts: &[Expr]) -> bool {
    let [Expr::Num(c), Expr::Neg(x)] = ts else {
        return false;
    };
    let tanh_squared = |b: &Expr, k: &Expr| {
        matches!(b, Expr::Call(Func::Tanh, _)) && k.as_num().is_some_and(|r| *r == Rat::int(2))
    };
    let bounded = match &**x {
        Expr::Call(Func::Sigmoid, _) => true,
        Expr::Pow(b, k) => tanh_squared(b, k),
        _ => false,
    };
    bounded && *c >= Rat::int(1)
}

/// The signs a value may have, as a set: negative, zero, positive.
pub type Signs = u8;
pub const NEG: Signs = 1;
pub const ZERO: Signs = 2;
pub const POS: Signs = 4;
pub const ANY: Signs = 7;

/// The signs `f(x, y)` may have for `x` of signs `a` and `y` of signs `b`, where `f` maps
/// one sign (-1, 0, 1) of each to the signs of its result.
fn combine(a: Signs, b: Signs, f: fn(i8, i8) -> Signs) -> Signs {
    let signs = |s: Signs| (-1..=1).filter(move |k| s & (1 << (k + 1)) != 0);
    signs(a).flat_map(|x| signs(b).map(move |y| f(x, y))).fold(0, |acc, s| acc | s)
}

fn of(k: i8) -> Signs {
    1 << (k.signum() + 1)
}

fn times(a: Signs, b: Signs) -> Signs {
    combine(a, b, |x, y| of(x * y))
}

/// A positive and a negative term may add up to anything.
fn plus(a: Signs, b: Signs) -> Signs {
    combine(a, b, |x, y| if x * y < 0 { ANY } else { of(x + y) })
}

fn negate(s: Signs) -> Signs {
    (s & ZERO) | ((s & NEG) << 2) | ((s & POS) >> 2)
}

/// A sound, incomplete sign analysis: the signs `e` may have where it is defined (each
/// divisor is a condition of its own).
fn sign(ctx: &Context, e: &Expr, depth: usize) -> Signs {
    sign_in(ctx, e, depth, &mut BTreeMap::new())
}

/// [`sign`], each defined name's signs worked out once (see [`depends_through`]; the
/// depth limit only ever widens an answer to `ANY`).
fn sign_in(ctx: &Context, e: &Expr, depth: usize, known: &mut BTreeMap<String, Signs>) -> Signs {
    if depth > MAX_UNFOLD * 8 {
        return ANY;
    }
    let d = depth + 1;
    match e {
        Expr::Num(r) => of(r.cmp(&Rat::zero()) as i8),
        // The table's facts for each sign the argument may have (when they agree, any one
        // sign will do).
        Expr::Call(f, a) => {
            let facts = super::table::function_signs(*f);
            let args =
                if facts.iter().all(|&s| s == facts[0]) { POS } else { sign_in(ctx, a, d, known) };
            (0..3).filter(|k| args & (1 << k) != 0).fold(0, |acc, k| acc | facts[k])
        }
        // 1 - σ(u) and 1 - tanh(u)² are positive: σ < 1 and tanh² < 1.
        Expr::Add(ts) if is_one_minus_bounded(ts) => POS,
        Expr::Add(ts) => {
            let signs = ts.iter().fold(ZERO, |acc, t| plus(acc, sign_in(ctx, t, d, known)));
            // Numbers that cancel hide a sign (`n - 1 + 1` is `n`); a polynomial's normal
            // form is the same function, so both analyses hold of it.
            if signs & (signs - 1) == 0
                || e.any(&mut |t| matches!(t, Expr::Div(..) | Expr::Pow(..)))
            {
                return signs;
            }
            match super::ring::canonical(e, d) {
                Ok(c) if c != *e => {
                    Some(signs & sign_in(ctx, &c, d, known)).filter(|&s| s != 0).unwrap_or(signs)
                }
                _ => signs,
            }
        }
        Expr::Mul(fs) => fs.iter().fold(POS, |acc, f| times(acc, sign_in(ctx, f, d, known))),
        Expr::Div(a, b) => match sign_in(ctx, b, d, known) {
            s if s & ZERO == 0 => times(sign_in(ctx, a, d, known), s),
            _ => ANY,
        },
        Expr::Neg(a) => negate(sign_in(ctx, a, d, known)),
        Expr::Pow(b, k) => {
            let base = sign_in(ctx, b, d, known);
            match k.as_num().filter(|r| r.is_integer()) {
                // A negative power of a base that may be zero is undefined there.
                Some(r) if !r.is_positive() && base & ZERO != 0 => ANY,
                Some(r) if (r / Rat::int(2)).is_integer() => times(base, base) & (ZERO | POS),
                Some(_) => base,
                None if base == POS => POS,
                None => ANY,
            }
        }
        // Terms of some signs add up to a sum of the signs their sums may have, and an
        // empty range gives zero.
        Expr::Sum(s) => {
            let terms = sign_in(ctx, &s.body, d, known);
            let empty = if non_empty(ctx, &s.lo, &s.hi) { 0 } else { ZERO };
            plus(terms, terms) | empty
        }
        Expr::Delta(a, b) if a == b => POS,
        Expr::Delta(_, _) => ZERO | POS,
        Expr::Sym(name) | Expr::Idx(name, _) => match ctx.definition(name) {
            Some(def) if depth < MAX_UNFOLD => once(known, name, |k| sign_in(ctx, &def.body, d, k)),
            // A size: `n >= 1` by the convention of `untouched` (worked out once per name:
            // a term may hold a size a thousand times).
            _ if matches!(e, Expr::Sym(_)) => once(known, name, |_| {
                let size = super::validate::sizes(ctx).contains(name) && untouched(ctx, name);
                if size {
                    POS
                } else {
                    ANY
                }
            }),
            _ => ANY,
        },
        _ => ANY,
    }
}

/// Whether the language's convention takes the size `n` as `n >= 1`: when it is not an
/// index (which may start at 0), and no definition and no hypothesis touches it (a hypothesis could say `n = 0`, directly, through a
/// definition or as `sum_k(1) = 0`, or hold for every index of a range to `n` while
/// holding for none, as `delta(j, j) = 0` does).
fn untouched(ctx: &Context, n: &str) -> bool {
    if ctx.definition(n).is_some() || ctx.range_of(n).is_some() {
        return false;
    }
    if ctx.assumptions.is_empty() {
        return true;
    }
    let over_n = |k: &String| {
        ctx.range_of(k).is_some_and(|(lo, hi)| [lo, hi].iter().any(|b| b.size() == Some(n)))
    };
    // A fixed label of a definition the hypothesis reaches counts as its own free index.
    let labelled: Vec<&str> = ctx
        .definitions
        .iter()
        .filter(|d| d.body.free_indices().difference(&d.name.free_indices()).any(over_n))
        .filter_map(|d| super::validate::name_of(&d.name))
        .collect();
    let touches = |t: &Expr| {
        depends_on(ctx, t, n, 0)
            || t.free_indices().iter().any(over_n)
            || labelled.iter().any(|name| depends_on(ctx, t, name, 0))
    };
    // `sum_{k=a}^{n+b}(…) = c` with `c != 0` and `a - b >= 1` holds only where its range
    // has a term, so only for n >= 1: it leaves the convention standing (softmax's
    // `sum_i(y_i) = 1`). Not with a free index or a fixed label: over an empty range of
    // its own it would hold vacuously.
    let only_for_n_at_least_one = |sum: &Expr, value: &Expr| {
        let sum = unfold_symbol(ctx, sum);
        value.as_num().is_some_and(|c| !c.is_zero())
            && matches!(sum, Expr::Sum(s) if matches!((&s.lo, &s.hi),
                (Bound::Int(a), Bound::Sym(m, b)) if m == n && a.checked_sub(*b).is_some_and(|d| d >= 1)))
            && sum.free_indices().is_empty()
            && !labelled.iter().any(|name| depends_on(ctx, sum, name, 0))
    };
    !ctx.assumptions.iter().any(|a| {
        let keeps =
            only_for_n_at_least_one(&a.lhs, &a.rhs) || only_for_n_at_least_one(&a.rhs, &a.lhs);
        !keeps && [&a.lhs, &a.rhs].into_iter().any(touches)
    })
}
