//! Whether the index conditions a chain carries to its end can hold together: a chain
//! under `i = j` and `i != j`, or under `1 != j` and `2 != j` for `j` in `1..2`, proves
//! nothing, so its certificate is refused.
//!
//! The conditions are about indices whose ranges may run to sizes. They are tried at
//! concrete sizes: every size from 1 to 8, and two sizes past every number the conditions
//! hold (beyond those, larger sizes change nothing they can tell apart). At each choice of
//! sizes every index has finitely many values, and a search looks for values meeting every
//! condition. Conditions met at no sizes tried, or too many to search, are refused: a
//! refusal here is always the safe answer.
//!
//! A sign condition on numbers, sizes and deltas alone (`delta(1,j) != 0`, `1 - n > 0`)
//! and a range's length are index conditions in disguise: at each choice of sizes, each
//! way its deltas can fall (equal or unequal indices) that meets it joins the search.

use super::rules::Condition;
use crate::expr::{Bound, Context, Expr, Index, Rat};
use num_traits::Zero;
use std::collections::{BTreeMap, BTreeSet};

/// Each declared index's range.
pub(super) type Ranges<'c> = BTreeMap<&'c str, (&'c Bound, &'c Bound)>;

/// The sizes tried below the numbers the conditions hold.
const SMALL_SIZES: i64 = 8;
/// The most choices of sizes tried, and the most values tried in all.
const MAX_SIZE_CHOICES: usize = 4_096;
const MAX_TRIES: usize = 200_000;
/// The most conditions read, over all the searches of one chain.
const MAX_WORK: usize = 20_000_000;
/// The most deltas in one sign condition, and the most ways the sign conditions can fall
/// together at one choice of sizes.
const MAX_DELTAS: usize = 6;
const MAX_WAYS: usize = 256;
/// The most values of a bound index a settled condition is tried at.
const MAX_INSTANCES: i64 = 32;
/// The largest number a settled term's power may make, in bits.
const MAX_BITS: u64 = 4096;

/// Why the index conditions among `conditions`, carried by a chain for `goal`, cannot hold
/// together with a value for each of the goal's own indices, if they cannot.
pub fn contradicted(ctx: &Context, goal: &Expr, conditions: &[Condition]) -> Option<String> {
    // Sizes only the goal's sums run to are sizes too (`1 - m > 0` for `sum_{k=1}^{m}`).
    let mut size_names = super::validate::sizes(ctx);
    goal.any(&mut |t| {
        if let Expr::Sum(s) = t {
            size_names.extend([&s.lo, &s.hi].iter().filter_map(|b| b.size().map(String::from)));
        }
        false
    });
    // Looked up once per index and condition at every choice of sizes: a map, not a scan.
    let ranges: Ranges = ctx
        .indices
        .iter()
        .flat_map(|d| d.names.iter().map(move |n| (n.as_str(), (&d.lo, &d.hi))))
        .collect();
    // The goal's indices take values in their ranges: a condition on a size may leave none.
    let own: Vec<Condition> = super::validate::goal_indices(ctx, goal)
        .into_iter()
        .filter_map(|j| {
            let (lo, hi) = ranges.get(j.as_str())?;
            Some(Condition::InRange(Index::Name(j), (*lo).clone(), (*hi).clone()))
        })
        .collect();
    let (mut relevant, mut settled): (Vec<&Condition>, _) = (own.iter().collect(), Vec::new());
    // Sign conditions on variables that reach a size: they must hold at some sizes too.
    let (mut mixed, mut plain): (Vec<&Condition>, Vec<&Condition>) = (Vec::new(), Vec::new());
    let mut mixed_terms: Vec<&Expr> = Vec::new();
    for c in conditions {
        use Condition as C;
        let body = match c {
            C::ForAll(_, _, _, body) => body,
            _ => c,
        };
        match (c, body) {
            (C::IndexEq(..) | C::IndexNe(..) | C::InRange(..) | C::OutOfRange(..), _) => {
                relevant.push(c)
            }
            (C::RangeLength(..), _) => settled.push(c),
            (_, C::NonZero(e) | C::Positive(e) | C::NonNegative(e)) => {
                if settles(e, &size_names, 0) {
                    settled.push(c)
                } else if pins(ctx, e) {
                    // A delta beside a variable (also through a definition) still pins
                    // indices, past any search.
                    return Some(format!("the side condition `{c}` on a delta cannot be settled"));
                } else {
                    let reached = super::validate::reached_definitions(ctx, e);
                    let terms: Vec<&Expr> =
                        std::iter::once(e).chain(reached.iter().map(|d| &d.body)).collect();
                    let quantified = matches!(c, C::ForAll(_, lo, hi, _)
                        if lo.size().is_some() || hi.size().is_some());
                    if quantified || terms.iter().any(|t| reaches_size(t, &size_names)) {
                        mixed.push(c);
                        mixed_terms.extend(terms);
                    } else {
                        plain.push(c);
                    }
                }
            }
            _ => {}
        }
    }
    if relevant.is_empty() && settled.is_empty() && mixed.is_empty() {
        return None;
    }
    // The sizes: symbols of the ranges involved, sizes standing as indices (`x_n`), and
    // sizes in the settled terms.
    let mut sizes: Vec<&str> = Vec::new();
    let mut largest: i64 = 0;
    let mut bounds: Vec<&Bound> = Vec::new();
    for c in relevant.iter().chain(&settled) {
        for i in indices_of(c) {
            match i {
                Index::Int(v) => largest = largest.max(v.saturating_abs()),
                Index::Name(n) => match ranges.get(n.as_str()) {
                    Some((lo, hi)) => bounds.extend([lo, hi]),
                    // A name that is neither (`1 = g` with `g` defined, or a variable) would
                    // be tried as a size, unlike what it is.
                    None if !size_names.contains(n) => {
                        return Some(format!(
                            "the condition `{c}` is on `{n}`, which is neither a declared index nor a size"
                        ))
                    }
                    None if !sizes.contains(&n.as_str()) => sizes.push(n),
                    None => {}
                },
            }
        }
        let body: &Condition = match c {
            Condition::ForAll(_, lo, hi, body) => {
                bounds.extend([lo, hi]);
                body
            }
            _ => c,
        };
        match body {
            Condition::InRange(_, lo, hi)
            | Condition::OutOfRange(_, lo, hi)
            | Condition::RangeLength(lo, hi) => bounds.extend([lo, hi]),
            Condition::NonZero(e) | Condition::Positive(e) | Condition::NonNegative(e) => {
                for t in leaves(e) {
                    match t {
                        Expr::Sum(s) => bounds.extend([&s.lo, &s.hi]),
                        Expr::Sym(n) if !sizes.contains(&n.as_str()) => sizes.push(n),
                        Expr::Num(r) => {
                            let whole = r.to_big().to_integer();
                            let v = i64::try_from(whole).unwrap_or(i64::MAX);
                            largest = largest.max(v.saturating_abs().saturating_add(1));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    for c in &mixed {
        if let Condition::ForAll(_, lo, hi, _) = c {
            bounds.extend([lo, hi]);
        }
    }
    for t in mixed_terms.iter().flat_map(|t| leaves(t)) {
        let named: Vec<&String> = match t {
            Expr::Sum(s) => {
                bounds.extend([&s.lo, &s.hi]);
                vec![]
            }
            Expr::Sym(n) => vec![n],
            Expr::Idx(_, ix) => {
                // A free index takes a value of its declared range, which may run to a size.
                let names: Vec<&String> = ix.iter().filter_map(Index::name).collect();
                bounds.extend(
                    names
                        .iter()
                        .filter_map(|n| ranges.get(n.as_str()))
                        .flat_map(|(lo, hi)| [*lo, *hi]),
                );
                names
            }
            Expr::Num(r) => {
                let whole = r.to_big().to_integer();
                let v = i64::try_from(whole).unwrap_or(i64::MAX);
                largest = largest.max(v.saturating_abs().saturating_add(1));
                vec![]
            }
            _ => vec![],
        };
        for n in named {
            if size_names.contains(n) && !sizes.contains(&n.as_str()) {
                sizes.push(n);
            }
        }
    }
    for b in bounds {
        match b {
            Bound::Int(v) => largest = largest.max(v.saturating_abs()),
            Bound::Sym(n, off) => {
                largest = largest.max(off.saturating_abs());
                if !sizes.contains(&n.as_str()) {
                    sizes.push(n);
                }
            }
        }
    }
    let conditions_count = relevant.len() + settled.len() + mixed.len();
    // Looked up at every name the witness meets: a map, not a scan.
    let definitions: BTreeMap<&str, &crate::expr::Definition> = ctx
        .definitions
        .iter()
        .filter_map(|d| super::validate::name_of(&d.name).map(|n| (n, d)))
        .collect();
    // With them, the sign conditions and hypotheses that share a variable with them.
    let (mut joined, hypotheses) = match mixed.is_empty() {
        true => (vec![], vec![]),
        false => super::witness::bearing(ctx, &mixed, &plain),
    };
    joined.extend(&mixed);
    // Past every number, with room for each condition's index to take its own value.
    let far = largest.saturating_add(2 * conditions_count as i64 + 2);
    // From 1: the kernel takes a size as at least 1 where nothing touches it, and where
    // something does, refusing conditions met only at 0 is the safe answer.
    let mut choices: Vec<i64> = (1..=SMALL_SIZES).collect();
    choices.extend([far, far.saturating_add(1)]);
    let count = choices.len().checked_pow(sizes.len() as u32).filter(|&k| k <= MAX_SIZE_CHOICES);
    let Some(count) = count else {
        return Some("the chain's index conditions involve too many sizes to check".into());
    };
    let too_many = || Some("the chain's index conditions are too many to check".into());
    let (mut tries, mut work) = (MAX_TRIES, MAX_WORK);
    for k in 0..count {
        let mut at = BTreeMap::new();
        let mut rest = k;
        for n in &sizes {
            at.insert(*n, choices[rest % choices.len()]);
            rest /= choices.len();
        }
        // Each settled condition's ways to hold here; all of them for one that always does.
        let mut ways: Vec<Vec<Vec<Condition>>> = Vec::new();
        for c in &settled {
            let Some(w) = ways_to_hold(c, &at) else { return too_many() };
            if !w.iter().any(Vec::is_empty) {
                ways.push(w);
            }
        }
        let Some(total) = ways.iter().try_fold(1usize, |n, w| n.checked_mul(w.len())) else {
            return too_many();
        };
        if total > MAX_WAYS {
            return too_many();
        }
        for mut pick in 0..total {
            let mut all = relevant.clone();
            for w in &ways {
                all.extend(&w[pick % w.len()]);
                pick /= w.len();
            }
            // Each search reads every condition first: that counts too.
            let Some(left) = work.checked_sub(all.len()) else { return too_many() };
            work = left;
            let values = match satisfiable(&ranges, &all, &at, &mut tries) {
                Some(Some(values)) => values,
                Some(None) => continue,
                None => return too_many(),
            };
            if joined.is_empty() {
                return None;
            }
            // The sign conditions on variables need a point where they hold, at these sizes
            // and at index values that meet the index conditions.
            let mut point = super::witness::Point {
                definitions: &definitions,
                hypotheses: &hypotheses,
                ranges: &ranges,
                sizes: &size_names,
                at: &at,
                indices: &all,
                assigned: &values,
                work: &mut work,
            };
            match super::witness::met_somewhere(&mut point, &joined) {
                Some(true) => return None,
                Some(false) => {}
                None => return too_many(),
            }
        }
    }
    if !joined.is_empty() {
        let listed: Vec<String> = joined.iter().map(|c| format!("`{c}`")).collect();
        return Some(format!(
            "no sizes, index values and values of the variables tried meet the chain's \
             conditions together (with {})",
            listed.join(", ")
        ));
    }
    Some(
        "no values of the indices, for any sizes, meet the chain's index conditions together"
            .into(),
    )
}

/// Whether `e` holds a size as a value, or runs a sum or an index to one.
fn reaches_size(e: &Expr, sizes: &BTreeSet<String>) -> bool {
    let named = |i: &Index| i.name().is_some_and(|n| sizes.contains(n));
    e.any(&mut |t| match t {
        Expr::Sym(n) => sizes.contains(n),
        Expr::Idx(_, ix) => ix.iter().any(named),
        Expr::Sum(s) => [&s.lo, &s.hi].iter().any(|b| b.size().is_some()),
        _ => false,
    })
}

/// Whether `e` holds a delta, or reaches one through a definition. (A size beside a
/// variable is not refused: the engine carries `sum_i(x_i^2)/n > 0`.)
fn pins(ctx: &Context, e: &Expr) -> bool {
    let delta = |t: &Expr| t.any(&mut |u| matches!(u, Expr::Delta(..)));
    delta(e) || super::validate::reached_definitions(ctx, e).iter().any(|d| delta(&d.body))
}

/// Whether `e` is made of numbers, sizes and deltas alone, with arithmetic, and sums of
/// such terms without deltas over ranges of numbers and sizes (`sum_{k=1}^{m}(1)`).
fn settles(e: &Expr, sizes: &BTreeSet<String>, depth: usize) -> bool {
    let on = |t: &Expr| depth < 64 && settles(t, sizes, depth + 1);
    let bound = |b: &Bound| b.size().is_none_or(|n| sizes.contains(n));
    match e {
        Expr::Num(_) | Expr::Delta(..) => true,
        Expr::Sym(n) => sizes.contains(n),
        Expr::Sum(s) => {
            bound(&s.lo)
                && bound(&s.hi)
                && !s.body.any(&mut |t| matches!(t, Expr::Delta(..)))
                && on(&s.body)
        }
        Expr::Add(ts) | Expr::Mul(ts) => ts.iter().all(on),
        Expr::Neg(a) => on(a),
        Expr::Div(a, b) | Expr::Pow(a, b) => on(a) && on(b),
        _ => false,
    }
}

/// The numbers, symbols, indexed symbols, deltas and sums of a term.
fn leaves(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(t) = stack.pop() {
        match t {
            Expr::Num(_) | Expr::Sym(_) | Expr::Idx(..) | Expr::Delta(..) => out.push(t),
            Expr::Sum(s) => {
                out.push(t);
                stack.push(&s.body);
            }
            _ => stack.extend(t.children()),
        }
    }
    out
}

/// The ways a settled condition holds at the sizes `at`: each a list of index equalities
/// and inequalities, one for each of its deltas; `None` when it has too many deltas.
fn ways_to_hold(c: &Condition, at: &BTreeMap<&str, i64>) -> Option<Vec<Vec<Condition>>> {
    let bound = |b: &Bound| bound_at(b, at);
    if let Condition::ForAll(k, lo, hi, body) = c {
        // Every instance at once: the ways of each, taken together.
        let (lo, hi) = (bound(lo)?, bound(hi)?);
        if hi.checked_sub(lo)? >= MAX_INSTANCES {
            return None;
        }
        let mut all: Vec<Vec<Condition>> = vec![vec![]];
        for v in lo..=hi {
            let at_v = |e: &Expr| e.subst_index(k, &Index::Int(v));
            let instance = match &**body {
                Condition::NonZero(e) => Condition::NonZero(at_v(e)),
                Condition::Positive(e) => Condition::Positive(at_v(e)),
                Condition::NonNegative(e) => Condition::NonNegative(at_v(e)),
                _ => return None,
            };
            let ways = ways_to_hold(&instance, at)?;
            all = all
                .iter()
                .flat_map(|a| ways.iter().map(move |w| [a.clone(), w.clone()].concat()))
                .collect();
            if all.len() > MAX_WAYS {
                return None;
            }
        }
        return Some(all);
    }
    let (e, holds): (&Expr, fn(&Rat) -> bool) = match c {
        Condition::RangeLength(lo, hi) => {
            let length = bound(hi).zip(bound(lo)).and_then(|(h, l)| h.checked_sub(l));
            return Some(if length.is_some_and(|d| d >= -1) { vec![vec![]] } else { vec![] });
        }
        Condition::NonZero(e) => (e, |v| !v.is_zero()),
        Condition::Positive(e) => (e, Rat::is_positive),
        Condition::NonNegative(e) => (e, |v| !v.is_negative()),
        _ => return Some(vec![vec![]]),
    };
    let mut deltas: Vec<(&Index, &Index)> = Vec::new();
    for t in leaves(e) {
        if let Expr::Delta(a, b) = t {
            let open = a != b && !matches!((a, b), (Index::Int(_), Index::Int(_)));
            if open && !deltas.contains(&(a, b)) {
                deltas.push((a, b));
            }
        }
    }
    if deltas.len() > MAX_DELTAS {
        return None;
    }
    let mut out = Vec::new();
    for mask in 0..1usize << deltas.len() {
        let equal = |a: &Index, b: &Index| match deltas.iter().position(|d| *d == (a, b)) {
            Some(k) => mask >> k & 1 == 1,
            None => a == b,
        };
        // Undefined (a zero divisor): a non-negative term holds wherever it is defined.
        let meets = match value(e, at, &equal, 0) {
            Some(v) => holds(&v),
            None => matches!(c, Condition::NonNegative(_)),
        };
        if meets {
            let literal = |(k, (a, b)): (usize, &(&Index, &Index))| match mask >> k & 1 {
                1 => Condition::IndexEq((*a).clone(), (*b).clone()),
                _ => Condition::IndexNe((*a).clone(), (*b).clone()),
            };
            out.push(deltas.iter().enumerate().map(literal).collect());
        }
    }
    Some(out)
}

/// The value of a settled term, its sizes at `at` and each delta 1 where `equal` says so.
fn value(
    e: &Expr,
    at: &BTreeMap<&str, i64>,
    equal: &dyn Fn(&Index, &Index) -> bool,
    depth: usize,
) -> Option<Rat> {
    let on = |t: &Expr| if depth < 64 { value(t, at, equal, depth + 1) } else { None };
    Some(match e {
        Expr::Num(r) => r.clone(),
        Expr::Sym(n) => Rat::int(*at.get(n.as_str())?),
        Expr::Delta(a, b) => Rat::int(i64::from(equal(a, b))),
        Expr::Add(ts) => ts.iter().try_fold(Rat::int(0), |acc, t| Some(acc + on(t)?))?,
        Expr::Mul(ts) => ts.iter().try_fold(Rat::int(1), |acc, t| Some(acc * on(t)?))?,
        Expr::Neg(a) => -on(a)?,
        // A sum of a settled body (no deltas, so no index in it) over its concrete range:
        // its number of terms times the body, worked out once.
        Expr::Sum(s) => {
            let (lo, hi) = (bound_at(&s.lo, at)?, bound_at(&s.hi, at)?);
            Rat::int(hi.checked_sub(lo)?.checked_add(1)?.max(0)) * on(&s.body)?
        }
        Expr::Div(a, b) => {
            Some(on(b)?).filter(|d| !d.is_zero()).map(|d| on(a).map(|n| n / d))??
        }
        Expr::Pow(b, k) => {
            // Small integer powers only: anything else is left undecided (undefined).
            let k = on(k)?.as_i64().filter(|k| k.abs() <= 64)?;
            power(&on(b)?, k)?
        }
        _ => return None,
    })
}

/// A range bound at the sizes `at`.
pub(super) fn bound_at(b: &Bound, at: &BTreeMap<&str, i64>) -> Option<i64> {
    match b {
        Bound::Int(v) => Some(*v),
        Bound::Sym(n, off) => at.get(n.as_str())?.checked_add(*off),
    }
}

/// `base^k`, or `None` where it is undefined or its bits would pass [`MAX_BITS`] (a bound on
/// the size, as the ring normaliser has: nested powers grow fast).
pub(super) fn power(base: &Rat, k: i64) -> Option<Rat> {
    if base.bits().saturating_mul(k.unsigned_abs()) > MAX_BITS || (k < 0 && base.is_zero()) {
        return None;
    }
    let p = (0..k.abs()).fold(Rat::int(1), |acc, _| acc * base);
    Some(if k < 0 { Rat::int(1) / p } else { p })
}

fn indices_of(c: &Condition) -> Vec<&Index> {
    match c {
        // The bound index takes each of its values in turn (see `ways_to_hold`).
        Condition::ForAll(k, _, _, body) => {
            indices_of(body).into_iter().filter(|i| i.name() != Some(k)).collect()
        }
        Condition::IndexEq(a, b) | Condition::IndexNe(a, b) => vec![a, b],
        Condition::InRange(j, ..) | Condition::OutOfRange(j, ..) => vec![j],
        Condition::NonZero(e) | Condition::Positive(e) | Condition::NonNegative(e) => leaves(e)
            .into_iter()
            .flat_map(|t| match t {
                Expr::Delta(a, b) => vec![a, b],
                _ => vec![],
            })
            .collect(),
        _ => vec![],
    }
}

/// Values of the indices that meet `conditions` with the sizes `at`, if any; `None` when
/// the tries run out.
fn satisfiable<'c>(
    ranges: &Ranges,
    conditions: &[&'c Condition],
    at: &BTreeMap<&str, i64>,
    tries: &mut usize,
) -> Option<Option<Values<'c>>> {
    let bound = |b: &Bound| bound_at(b, at);
    // Each declared index is a variable; a number or a size is a value.
    let mut vars: Vec<&'c String> = Vec::new();
    let mut numbered: BTreeMap<&'c String, usize> = BTreeMap::new();
    let mut nodes = Vec::new();
    for c in conditions {
        let mut ix: Vec<Result<usize, i64>> = Vec::new();
        for i in indices_of(c) {
            ix.push(match i {
                Index::Int(v) => Err(*v),
                Index::Name(n) if !ranges.contains_key(n.as_str()) => {
                    Err(at.get(n.as_str()).copied().unwrap_or(0))
                }
                Index::Name(n) => Ok(*numbered.entry(n).or_insert_with(|| {
                    vars.push(n);
                    vars.len() - 1
                })),
            });
        }
        nodes.push(ix);
    }
    // Classes of equal variables, each with its interval and its pinned value.
    let mut parent: Vec<usize> = (0..vars.len()).collect();
    fn find(parent: &mut [usize], mut v: usize) -> usize {
        while parent[v] != v {
            parent[v] = parent[parent[v]];
            v = parent[v];
        }
        v
    }
    let mut range: Vec<(i64, i64)> = vars
        .iter()
        .map(|n| match ranges.get(n.as_str()).map(|(lo, hi)| (bound(lo), bound(hi))) {
            Some((Some(lo), Some(hi))) => (lo, hi),
            _ => (1, 0),
        })
        .collect();
    let narrow = |r: &mut (i64, i64), lo: i64, hi: i64| *r = (r.0.max(lo), r.1.min(hi));
    for (c, ix) in conditions.iter().zip(&nodes) {
        if let (Condition::IndexEq(..), [a, b]) = (c, ix.as_slice()) {
            match (*a, *b) {
                (Ok(a), Ok(b)) => {
                    let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                    if ra != rb {
                        parent[ra] = rb;
                        let r = range[ra];
                        narrow(&mut range[rb], r.0, r.1);
                    }
                }
                (Ok(v), Err(x)) | (Err(x), Ok(v)) => {
                    let r = find(&mut parent, v);
                    narrow(&mut range[r], x, x);
                }
                (Err(x), Err(y)) if x != y => return Some(None),
                _ => {}
            }
        }
    }
    let mut excluded: Vec<Vec<(i64, i64)>> = vec![Vec::new(); vars.len()];
    let mut unequal: Vec<(usize, usize)> = Vec::new();
    for (c, ix) in conditions.iter().zip(&nodes) {
        match (c, ix.as_slice()) {
            (Condition::InRange(_, lo, hi), [Ok(v)]) => {
                let (Some(lo), Some(hi)) = (bound(lo), bound(hi)) else { return Some(None) };
                let r = find(&mut parent, *v);
                narrow(&mut range[r], lo, hi);
            }
            (Condition::InRange(_, lo, hi), [Err(x)]) => {
                if !(bound(lo)? <= *x && *x <= bound(hi)?) {
                    return Some(None);
                }
            }
            (Condition::OutOfRange(_, lo, hi), [j]) => {
                let (lo, hi) = (bound(lo)?, bound(hi)?);
                match j {
                    Ok(v) => excluded[find(&mut parent, *v)].push((lo, hi)),
                    Err(x) if lo <= *x && *x <= hi => return Some(None),
                    Err(_) => {}
                }
            }
            (Condition::IndexNe(..), [a, b]) => match (*a, *b) {
                (Ok(a), Ok(b)) => {
                    let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                    if ra == rb {
                        return Some(None);
                    }
                    unequal.push((ra, rb));
                }
                (Ok(v), Err(x)) | (Err(x), Ok(v)) => excluded[find(&mut parent, v)].push((x, x)),
                (Err(x), Err(y)) if x == y => return Some(None),
                _ => {}
            },
            _ => {}
        }
    }
    // Each group of classes tied by inequalities is searched on its own.
    let mut near: Vec<Vec<usize>> = vec![Vec::new(); vars.len()];
    for &(a, b) in &unequal {
        near[a].push(b);
        near[b].push(a);
    }
    let mut value: Vec<Option<i64>> = vec![None; vars.len()];
    for start in (0..vars.len()).filter(|&v| find(&mut parent, v) == v) {
        if value[start].is_some() {
            continue;
        }
        let mut group = vec![start];
        let mut k = 0;
        while let Some(&c) = group.get(k) {
            for &d in &near[c] {
                if !group.contains(&d) {
                    group.push(d);
                }
            }
            k += 1;
            if group.len() > MAX_GROUP {
                return None;
            }
        }
        let sides = Sides { range: &range, excluded: &excluded, near: &near };
        if !assign(&group, &sides, &mut value, tries)? {
            return Some(None);
        }
    }
    let named = vars.iter().enumerate().map(|(v, n)| (n.as_str(), value[find(&mut parent, v)]));
    Some(Some(named.filter_map(|(n, x)| Some((n, x?))).collect()))
}

/// Values of the indices, by name.
pub(super) type Values<'c> = BTreeMap<&'c str, i64>;

/// The most classes one search holds (its depth).
const MAX_GROUP: usize = 256;

/// What a class's value must meet: its range, its excluded intervals, and the classes it
/// must differ from.
struct Sides<'a> {
    range: &'a [(i64, i64)],
    excluded: &'a [Vec<(i64, i64)>],
    near: &'a [Vec<usize>],
}

/// Values for the classes of `group` not yet given one, each within its range, outside its
/// exclusions and apart from its neighbours: found (and kept in `value`), none, or `None`
/// when the tries run out.
fn assign(
    group: &[usize],
    sides: &Sides,
    value: &mut Vec<Option<i64>>,
    tries: &mut usize,
) -> Option<bool> {
    let Some(&c) = group.iter().find(|&&c| value[c].is_none()) else { return Some(true) };
    let (lo, hi) = sides.range[c];
    let mut v = lo;
    while v <= hi {
        *tries = tries.checked_sub(1)?;
        if let Some(&(_, b)) = sides.excluded[c].iter().find(|&&(a, b)| a <= v && v <= b) {
            v = b.checked_add(1)?;
            continue;
        }
        if !sides.near[c].iter().any(|&d| value[d] == Some(v)) {
            value[c] = Some(v);
            match assign(group, sides, value, tries) {
                Some(false) => value[c] = None,
                found => return found,
            }
        }
        v = v.checked_add(1)?;
    }
    Some(false)
}
