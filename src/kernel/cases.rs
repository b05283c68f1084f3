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

use super::rules::Condition;
use crate::expr::{Bound, Context, Index};
use std::collections::BTreeMap;

/// The sizes tried below the numbers the conditions hold.
const SMALL_SIZES: i64 = 8;
/// The most choices of sizes tried, and the most values tried in all.
const MAX_SIZE_CHOICES: usize = 4_096;
const MAX_TRIES: usize = 200_000;

/// Why the index conditions among `conditions` cannot hold together, if they cannot.
pub fn contradicted(ctx: &Context, conditions: &[Condition]) -> Option<String> {
    let relevant: Vec<&Condition> = conditions
        .iter()
        .filter(|c| {
            use Condition as C;
            matches!(c, C::IndexEq(..) | C::IndexNe(..) | C::InRange(..) | C::OutOfRange(..))
        })
        .collect();
    if relevant.is_empty() {
        return None;
    }
    // The sizes: symbols of the ranges involved, and sizes standing as indices (`x_n`).
    let mut sizes: Vec<&str> = Vec::new();
    let mut largest: i64 = 0;
    let mut bounds: Vec<&Bound> = Vec::new();
    for c in &relevant {
        for i in indices_of(c) {
            match i {
                Index::Int(v) => largest = largest.max(v.saturating_abs()),
                Index::Name(n) => match ctx.range_of(n) {
                    Some((lo, hi)) => bounds.extend([lo, hi]),
                    None if !sizes.contains(&n.as_str()) => sizes.push(n),
                    None => {}
                },
            }
        }
        if let Condition::InRange(_, lo, hi) | Condition::OutOfRange(_, lo, hi) = c {
            bounds.extend([lo, hi]);
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
    // Past every number, with room for each condition's index to take its own value.
    let far = largest.saturating_add(2 * relevant.len() as i64 + 2);
    // From 1: the kernel takes a size as at least 1 where nothing touches it, and where
    // something does, refusing conditions met only at 0 is the safe answer.
    let mut choices: Vec<i64> = (1..=SMALL_SIZES).collect();
    choices.extend([far, far.saturating_add(1)]);
    let count = choices.len().checked_pow(sizes.len() as u32).filter(|&k| k <= MAX_SIZE_CHOICES);
    let Some(count) = count else {
        return Some("the chain's index conditions involve too many sizes to check".into());
    };
    let mut tries = MAX_TRIES;
    for k in 0..count {
        let mut at = BTreeMap::new();
        let mut rest = k;
        for n in &sizes {
            at.insert(*n, choices[rest % choices.len()]);
            rest /= choices.len();
        }
        match satisfiable(ctx, &relevant, &at, &mut tries) {
            Some(true) => return None,
            Some(false) => {}
            None => return Some("the chain's index conditions are too many to check".into()),
        }
    }
    Some(
        "no values of the indices, for any sizes, meet the chain's index conditions together"
            .into(),
    )
}

fn indices_of(c: &Condition) -> Vec<&Index> {
    match c {
        Condition::IndexEq(a, b) | Condition::IndexNe(a, b) => vec![a, b],
        Condition::InRange(j, ..) | Condition::OutOfRange(j, ..) => vec![j],
        _ => vec![],
    }
}

/// Whether values of the indices meet `conditions` with the sizes `at`; `None` when the
/// tries run out.
fn satisfiable(
    ctx: &Context,
    conditions: &[&Condition],
    at: &BTreeMap<&str, i64>,
    tries: &mut usize,
) -> Option<bool> {
    let bound = |b: &Bound| match b {
        Bound::Int(v) => Some(*v),
        Bound::Sym(n, off) => at.get(n.as_str())?.checked_add(*off),
    };
    // Each declared index is a variable; a number or a size is a value.
    let mut vars: Vec<String> = Vec::new();
    let node = |i: &Index, vars: &mut Vec<String>| -> Result<usize, i64> {
        match i {
            Index::Int(v) => Err(*v),
            Index::Name(n) if ctx.range_of(n).is_none() => {
                Err(at.get(n.as_str()).copied().unwrap_or(0))
            }
            Index::Name(n) => Ok(vars.iter().position(|v| v == n).unwrap_or_else(|| {
                vars.push(n.clone());
                vars.len() - 1
            })),
        }
    };
    let mut nodes = Vec::new();
    for c in conditions {
        let ix: Vec<Result<usize, i64>> =
            indices_of(c).into_iter().map(|i| node(i, &mut vars)).collect();
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
        .map(|n| match ctx.range_of(n).map(|(lo, hi)| (bound(lo), bound(hi))) {
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
                (Err(x), Err(y)) if x != y => return Some(false),
                _ => {}
            }
        }
    }
    let mut excluded: Vec<Vec<(i64, i64)>> = vec![Vec::new(); vars.len()];
    let mut unequal: Vec<(usize, usize)> = Vec::new();
    for (c, ix) in conditions.iter().zip(&nodes) {
        match (c, ix.as_slice()) {
            (Condition::InRange(_, lo, hi), [Ok(v)]) => {
                let (Some(lo), Some(hi)) = (bound(lo), bound(hi)) else { return Some(false) };
                let r = find(&mut parent, *v);
                narrow(&mut range[r], lo, hi);
            }
            (Condition::InRange(_, lo, hi), [Err(x)]) => {
                if !(bound(lo)? <= *x && *x <= bound(hi)?) {
                    return Some(false);
                }
            }
            (Condition::OutOfRange(_, lo, hi), [j]) => {
                let (lo, hi) = (bound(lo)?, bound(hi)?);
                match j {
                    Ok(v) => excluded[find(&mut parent, *v)].push((lo, hi)),
                    Err(x) if lo <= *x && *x <= hi => return Some(false),
                    Err(_) => {}
                }
            }
            (Condition::IndexNe(..), [a, b]) => match (*a, *b) {
                (Ok(a), Ok(b)) => {
                    let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                    if ra == rb {
                        return Some(false);
                    }
                    unequal.push((ra, rb));
                }
                (Ok(v), Err(x)) | (Err(x), Ok(v)) => excluded[find(&mut parent, v)].push((x, x)),
                (Err(x), Err(y)) if x == y => return Some(false),
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
            return Some(false);
        }
    }
    Some(true)
}

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
