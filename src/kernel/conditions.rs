//! Deciding side conditions: those the kernel can settle are discharged or refused,
//! the rest become hypotheses of the result. Nothing is assumed silently.

use crate::expr::{Bound, Context, Expr, Func, Index, Rat};
use super::rules::Condition;
use num_traits::Zero;
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
/// a power or a negation when its base is. Numbers drop out when non-zero.
pub fn split(cond: Condition) -> Vec<Condition> {
    match cond {
        Condition::NonZero(Expr::Mul(fs)) => fs
            .iter()
            .flat_map(|f| split(Condition::NonZero(f.clone())))
            .collect(),
        Condition::NonZero(Expr::Div(a, b)) => {
            let mut out = split(Condition::NonZero(Arc::unwrap_or_clone(a)));
            out.extend(split(Condition::NonZero(Arc::unwrap_or_clone(b))));
            out
        }
        Condition::NonZero(Expr::Neg(x)) => split(Condition::NonZero(Arc::unwrap_or_clone(x))),
        Condition::NonZero(Expr::Pow(b, k)) if k.as_num().is_some_and(|r| r.is_positive()) => {
            split(Condition::NonZero(Arc::unwrap_or_clone(b)))
        }
        Condition::NonZero(Expr::Num(r)) if !r.is_zero() => vec![],
        other => vec![other],
    }
}

/// Decide `cond`; `binders` are the sums enclosing the rewritten position.
pub fn decide(ctx: &Context, cond: &Condition, binders: &[(String, Bound, Bound)]) -> Verdict {
    match cond {
        Condition::IndexFree(Index::Name(k), e) => verdict(!e.free_indices().contains(k)),
        Condition::IndexFree(Index::Int(_), _) => Verdict::Holds,
        Condition::FreeOf(x, e) => match x {
            Expr::Sym(name) | Expr::Idx(name, _) => verdict(!depends_on(ctx, e, name, 0)),
            _ => Verdict::Fails,
        },
        Condition::Integer(e) => verdict(e.as_num().is_some_and(|r| r.is_integer())),
        Condition::Natural(e) => verdict(
            e.as_num()
                .is_some_and(|r| r.is_integer() && r.is_positive()),
        ),
        Condition::InRange(j, lo, hi) => in_range(ctx, j, lo, hi, binders),
        Condition::RangeLength(lo, hi) => match (lo, hi) {
            (Bound::Int(a), Bound::Int(b)) => verdict(*b >= a - 1),
            // A range `1..n` is non-empty by the language's convention.
            (Bound::Int(1), Bound::Sym(n)) if is_size(ctx, n) => Verdict::Holds,
            _ => Verdict::Unknown,
        },
        Condition::Positive(e) => match sign(ctx, e, 0) {
            Sign::Pos => Verdict::Holds,
            Sign::Neg | Sign::Zero => Verdict::Fails,
            Sign::NonNeg | Sign::Unknown => Verdict::Unknown,
        },
        Condition::NonZero(e) => match sign(ctx, e, 0) {
            Sign::Pos | Sign::Neg => Verdict::Holds,
            Sign::Zero => Verdict::Fails,
            Sign::NonNeg | Sign::Unknown => Verdict::Unknown,
        },
        // A case split is about free indices; on an index bound by a sum it means nothing.
        Condition::IndexEq(a, b) | Condition::IndexNe(a, b)
            if [a, b].iter().any(|i| is_bound(i, binders)) =>
        {
            Verdict::Fails
        }
        Condition::IndexEq(a, b) => match (a, b) {
            _ if a == b => Verdict::Holds,
            (Index::Int(_), Index::Int(_)) => Verdict::Fails,
            _ => Verdict::Unknown,
        },
        Condition::IndexNe(a, b) => match (a, b) {
            _ if a == b => Verdict::Fails,
            (Index::Int(_), Index::Int(_)) => Verdict::Holds,
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

fn is_bound(i: &Index, binders: &[(String, Bound, Bound)]) -> bool {
    matches!(i, Index::Name(n) if binders.iter().any(|(b, _, _)| b == n))
}

/// `cond` quantified over every enclosing sum whose index it mentions (innermost first),
/// so that a condition on a bound index is stated for the sum's whole range.
pub fn quantify(cond: Condition, binders: &[(String, Bound, Bound)]) -> Condition {
    binders.iter().rev().fold(cond, |c, (k, lo, hi)| {
        if condition_indices(&c).contains(k) {
            Condition::ForAll(k.clone(), lo.clone(), hi.clone(), Box::new(c))
        } else {
            c
        }
    })
}

/// The index names a condition mentions free.
pub fn condition_indices(c: &Condition) -> std::collections::BTreeSet<String> {
    let name = |i: &Index| match i {
        Index::Name(n) => Some(n.clone()),
        Index::Int(_) => None,
    };
    let mut out: std::collections::BTreeSet<String> =
        c.terms().iter().flat_map(|t| t.free_indices()).collect();
    match c {
        Condition::IndexFree(i, _) | Condition::InRange(i, _, _) => out.extend(name(i)),
        Condition::IndexEq(a, b) | Condition::IndexNe(a, b) => out.extend([a, b].into_iter().filter_map(name)),
        Condition::ForAll(k, _, _, inner) => {
            out = condition_indices(inner);
            out.remove(k);
        }
        _ => {}
    }
    out
}

fn verdict(b: bool) -> Verdict {
    if b {
        Verdict::Holds
    } else {
        Verdict::Fails
    }
}

/// Whether `e` mentions the variable name, directly or through definitions.
pub fn depends_on(ctx: &Context, e: &Expr, name: &str, depth: usize) -> bool {
    if depth > MAX_UNFOLD {
        return true;
    }
    e.any(&mut |t| match t {
        // A range bound counts: a sum depends on the size it runs to.
        Expr::Sum(s) => [&s.lo, &s.hi]
            .iter()
            .any(|b| matches!(b, Bound::Sym(n) if n == name)),
        Expr::Sym(s) | Expr::Idx(s, _) => {
            s == name
                || ctx
                    .definition(s)
                    .is_some_and(|d| depends_on(ctx, &d.body, name, depth + 1))
        }
        _ => false,
    })
}

fn in_range(
    ctx: &Context,
    j: &Index,
    lo: &Bound,
    hi: &Bound,
    binders: &[(String, Bound, Bound)],
) -> Verdict {
    match j {
        Index::Int(v) => match (lo, hi) {
            (Bound::Int(a), Bound::Int(b)) => verdict(a <= v && v <= b),
            (Bound::Int(a), Bound::Sym(_)) if v < a => Verdict::Fails,
            _ => Verdict::Unknown,
        },
        Index::Name(name) => {
            // An index bound by an enclosing sum ranges over that sum's range: the condition
            // must hold for all of it, and cannot become a hypothesis about a bound name.
            if let Some((_, l, h)) = binders.iter().rev().find(|(b, _, _)| b == name) {
                return verdict(includes(lo, hi, l, h) == Some(true));
            }
            match ctx.range_of(name) {
                Some((l, h)) if includes(lo, hi, l, h) == Some(true) => Verdict::Holds,
                _ => Verdict::Unknown,
            }
        }
    }
}

/// Whether `n` is a size the convention `n ≥ 1` may speak for: nothing defines it and no
/// hypothesis constrains it (a symbol defined as 0 would empty `1..n`).
fn is_size(ctx: &Context, n: &str) -> bool {
    ctx.definition(n).is_none()
        && !ctx
            .assumptions
            .iter()
            .any(|a| a.lhs.mentions_name(n) || a.rhs.mentions_name(n))
}

/// Whether a range surely has a term: `a..b` with `a <= b`, or `1..n` by the convention
/// that a declared size is at least one.
fn non_empty(ctx: &Context, lo: &Bound, hi: &Bound) -> bool {
    match (lo, hi) {
        (Bound::Int(a), Bound::Int(b)) => a <= b,
        (Bound::Int(1), Bound::Sym(n)) => is_size(ctx, n),
        _ => false,
    }
}

/// Whether `inner_lo..inner_hi` lies within `lo..hi`, when that can be decided.
fn includes(lo: &Bound, hi: &Bound, inner_lo: &Bound, inner_hi: &Bound) -> Option<bool> {
    let le = |a: &Bound, b: &Bound| match (a, b) {
        _ if a == b => Some(true),
        (Bound::Int(x), Bound::Int(y)) => Some(x <= y),
        _ => None,
    };
    match (le(lo, inner_lo), le(inner_hi, hi)) {
        (Some(true), Some(true)) => Some(true),
        (Some(false), _) | (_, Some(false)) => Some(false),
        _ => None,
    }
}

/// `c - σ(u)` or `c - tanh(u)^2` with a constant `c ≥ 1`.
fn is_one_minus_bounded(ts: &[Expr]) -> bool {
    let [Expr::Num(c), Expr::Neg(x)] = ts else {
        return false;
    };
    let tanh_squared = |b: &Expr, k: &Expr| {
        matches!(b, Expr::Call(Func::Tanh, _))
            && k.as_num()
                .is_some_and(|r| *r == Rat::from_integer(2.into()))
    };
    let bounded = match &**x {
        Expr::Call(Func::Sigmoid, _) => true,
        Expr::Pow(b, k) => tanh_squared(b, k),
        _ => false,
    };
    bounded && *c >= Rat::from_integer(1.into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sign {
    Pos,
    Neg,
    Zero,
    NonNeg,
    Unknown,
}

fn negate(s: Sign) -> Sign {
    match s {
        Sign::Pos => Sign::Neg,
        Sign::Neg => Sign::Pos,
        Sign::Zero => Sign::Zero,
        _ => Sign::Unknown,
    }
}

fn times(a: Sign, b: Sign) -> Sign {
    use Sign::*;
    match (a, b) {
        (Zero, _) | (_, Zero) => Zero,
        (Pos, x) | (x, Pos) => x,
        (Neg, Neg) => Pos,
        (Neg, NonNeg) | (NonNeg, Neg) => Unknown,
        (NonNeg, NonNeg) => NonNeg,
        _ => Unknown,
    }
}

fn plus(a: Sign, b: Sign) -> Sign {
    use Sign::*;
    match (a, b) {
        (Zero, x) | (x, Zero) => x,
        (Pos, Pos) | (Pos, NonNeg) | (NonNeg, Pos) => Pos,
        (NonNeg, NonNeg) => NonNeg,
        (Neg, Neg) => Neg,
        _ => Unknown,
    }
}

/// A sound, incomplete sign analysis. Declared index ranges are taken as non-empty.
fn sign(ctx: &Context, e: &Expr, depth: usize) -> Sign {
    if depth > MAX_UNFOLD * 8 {
        return Sign::Unknown;
    }
    let d = depth + 1;
    match e {
        Expr::Num(r) if r.is_zero() => Sign::Zero,
        Expr::Num(r) => {
            if r.is_positive() {
                Sign::Pos
            } else {
                Sign::Neg
            }
        }
        Expr::Call(Func::Exp | Func::Sigmoid | Func::Softplus, _) => Sign::Pos,
        Expr::Call(Func::Sqrt, a) => match sign(ctx, a, d) {
            Sign::Pos => Sign::Pos,
            Sign::Zero => Sign::Zero,
            _ => Sign::NonNeg,
        },
        Expr::Call(Func::Tanh, a) => sign(ctx, a, d),
        // 1 - σ(u) and 1 - tanh(u)² are positive: σ < 1 and tanh² < 1.
        Expr::Add(ts) if is_one_minus_bounded(ts) => Sign::Pos,
        Expr::Add(ts) => ts.iter().map(|t| sign(ctx, t, d)).fold(Sign::Zero, plus),
        Expr::Mul(fs) => fs.iter().map(|f| sign(ctx, f, d)).fold(Sign::Pos, times),
        Expr::Div(a, b) => match sign(ctx, b, d) {
            s @ (Sign::Pos | Sign::Neg) => times(sign(ctx, a, d), s),
            _ => Sign::Unknown,
        },
        Expr::Neg(a) => negate(sign(ctx, a, d)),
        Expr::Pow(b, k) => {
            let base = sign(ctx, b, d);
            match k.as_num() {
                Some(r) if r.is_integer() && (r.numer() % 2u32).is_zero() => match base {
                    Sign::Pos | Sign::Neg => Sign::Pos,
                    Sign::Zero if r.is_positive() => Sign::Zero,
                    _ if r.is_positive() => Sign::NonNeg,
                    _ => Sign::Unknown,
                },
                Some(r) if r.is_integer() => match base {
                    Sign::Zero if !r.is_positive() => Sign::Unknown,
                    s => s,
                },
                _ if base == Sign::Pos => Sign::Pos,
                _ => Sign::Unknown,
            }
        }
        Expr::Sum(s) => match sign(ctx, &s.body, d) {
            // Terms of one sign make a sum of that sign only over a non-empty range: an
            // empty sum is zero.
            Sign::Pos if non_empty(ctx, &s.lo, &s.hi) => Sign::Pos,
            Sign::Neg if non_empty(ctx, &s.lo, &s.hi) => Sign::Neg,
            Sign::Pos | Sign::NonNeg | Sign::Zero => Sign::NonNeg,
            Sign::Neg | Sign::Unknown => Sign::Unknown,
        },
        Expr::Delta(a, b) if a == b => Sign::Pos,
        Expr::Delta(_, _) => Sign::NonNeg,
        Expr::Sym(name) | Expr::Idx(name, _) => match ctx.definition(name) {
            Some(def) if depth < MAX_UNFOLD => sign(ctx, &def.body, d),
            _ => Sign::Unknown,
        },
        _ => Sign::Unknown,
    }
}
