//! Whether carried sign conditions on variables and sizes can hold together at given
//! sizes: a point where they do, found by evaluating them at a few values of their
//! variables, exactly where the arithmetic is rational and by sign where a function's
//! value is not.
//!
//! `(1 - m)*(1 + y^2) > 0` holds only where `m < 1`, sizes the chain's conventions leave
//! out (a sum over `1..m` has a term): a chain carrying it proves nothing. A point is a
//! proof that the conditions can hold; finding none refuses, the safe answer.

use super::cases::{bound_at, power, Ranges, Values};
use super::rules::Condition;
use crate::expr::{Assumption, Context, Definition, Expr, Func, Index, Rat};
use num_traits::Zero;
use std::collections::{BTreeMap, BTreeSet};

/// How many points are tried at each choice of sizes.
const TRIALS: u64 = 16;
/// The values a variable takes; each of the first three trials gives every variable one.
const VALUES: [(i64, i64); 10] =
    [(1, 1), (2, 1), (-1, 1), (1, 2), (3, 1), (-2, 1), (-1, 2), (1, 3), (-3, 1), (5, 2)];
/// The most terms of one sum or quantifier, and the largest number kept exactly, in bits.
const MAX_TERMS: i64 = 32;
const MAX_BITS: u64 = 4_096;

/// A value as far as it is known: exactly, by its sign alone (never zero), or only as
/// some real number.
#[derive(Clone)]
enum Val {
    Exact(Rat),
    Sign(bool),
    Real,
}

/// Where conditions are evaluated: the sizes `at` (every name of `sizes` a condition
/// reaches is among them), with a budget of terms read. A point must meet `hypotheses` too.
pub struct Point<'a> {
    pub definitions: &'a BTreeMap<&'a str, &'a Definition>,
    pub hypotheses: &'a [&'a Assumption],
    pub ranges: &'a Ranges<'a>,
    pub sizes: &'a BTreeSet<String>,
    pub at: &'a BTreeMap<&'a str, i64>,
    /// The index conditions the point's index values must meet, and values that do (the
    /// case search's), which every other trial takes.
    pub indices: &'a [&'a Condition],
    pub assigned: &'a Values<'a>,
    pub work: &'a mut usize,
}

/// The carried sign conditions among `others`, and the hypotheses, that share a variable
/// with `mixed`, directly or through one another: a point must meet them too (`z > 0`, or
/// `assume z = 1`, leaves `(1 - m)*z > 0` no point at `m >= 1`).
pub fn bearing<'c>(
    ctx: &'c Context,
    mixed: &[&'c Condition],
    others: &[&'c Condition],
) -> (Vec<&'c Condition>, Vec<&'c Assumption>) {
    // Names joined by union-find, each item's names read once.
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut parent: Vec<usize> = Vec::new();
    fn root(parent: &mut [usize], mut v: usize) -> usize {
        while parent[v] != v {
            parent[v] = parent[parent[v]];
            v = parent[v];
        }
        v
    }
    let mut join = |terms: &[&Expr]| -> Option<usize> {
        let mut first = None;
        for t in terms {
            let reached = super::validate::reached_definitions(ctx, t);
            for u in std::iter::once(*t).chain(reached.iter().map(|d| &d.body)) {
                u.any_once(&mut |v| {
                    if let Expr::Sym(n) | Expr::Idx(n, _) = v {
                        let next = parent.len();
                        let id = *ids.entry(n.clone()).or_insert(next);
                        if id == next {
                            parent.push(next);
                        }
                        let f = *first.get_or_insert(id);
                        let (a, b) = (root(&mut parent, f), root(&mut parent, id));
                        parent[a] = b;
                    }
                    false
                });
            }
        }
        first
    };
    fn term(c: &Condition) -> Vec<&Expr> {
        super::conditions::term_of(c).into_iter().collect()
    }
    let mixed_ids: Vec<Option<usize>> = mixed.iter().map(|c| join(&term(c))).collect();
    let other_ids: Vec<Option<usize>> = others.iter().map(|c| join(&term(c))).collect();
    let hypothesis_ids: Vec<Option<usize>> =
        ctx.assumptions.iter().map(|h| join(&[&h.lhs, &h.rhs])).collect();
    let roots: BTreeSet<usize> =
        mixed_ids.into_iter().flatten().map(|v| root(&mut parent, v)).collect();
    let mut bears = |v: &Option<usize>| v.is_some_and(|v| roots.contains(&root(&mut parent, v)));
    let conditions = other_ids.iter().zip(others).filter(|(v, _)| bears(v)).map(|(_, c)| *c);
    let conditions = conditions.collect();
    let hypotheses = hypothesis_ids.iter().zip(&ctx.assumptions).filter(|(v, _)| bears(v));
    (conditions, hypotheses.map(|(_, h)| h).collect())
}

/// Whether one point meets every one of `conditions` and the hypotheses; `None` when the
/// budget runs out.
pub fn met_somewhere(p: &mut Point, conditions: &[&Condition]) -> Option<bool> {
    'trials: for trial in 0..TRIALS {
        for c in p.indices {
            if !index_condition_met(p, c, trial) {
                continue 'trials;
            }
        }
        for c in conditions {
            if !holds(p, c, &mut Vec::new(), trial)? {
                continue 'trials;
            }
        }
        for h in p.hypotheses {
            if !meets(p, h, trial)? {
                continue 'trials;
            }
        }
        return Some(true);
    }
    Some(false)
}

/// Whether an index condition holds at the point's index values (any other condition is
/// not the point's to meet).
fn index_condition_met(p: &Point, c: &Condition, trial: u64) -> bool {
    let at = |i: &Index| index(p, i, &[], trial);
    let within = |j: &Index, lo, hi| {
        let (j, lo, hi) = (at(j), bound_at(lo, p.at), bound_at(hi, p.at));
        j.zip(lo).zip(hi).map(|((j, lo), hi)| lo <= j && j <= hi)
    };
    match c {
        Condition::IndexEq(a, b) => at(a).is_some_and(|a| at(b) == Some(a)),
        Condition::IndexNe(a, b) => at(a).zip(at(b)).is_some_and(|(a, b)| a != b),
        Condition::InRange(j, lo, hi) => within(j, lo, hi) == Some(true),
        Condition::OutOfRange(j, lo, hi) => within(j, lo, hi) == Some(false),
        _ => true,
    }
}

/// Whether the hypothesis `h` surely holds at the point of `trial`, at every value of its
/// free indices.
fn meets(p: &mut Point, h: &Assumption, trial: u64) -> Option<bool> {
    let mut free = h.lhs.free_indices();
    free.extend(h.rhs.free_indices());
    let mut envs: Vec<Vec<(String, i64)>> = vec![vec![]];
    for k in free {
        let Some((lo, hi)) = p.ranges.get(k.as_str()) else { return Some(false) };
        let (lo, hi) = (bound_at(lo, p.at)?, bound_at(hi, p.at)?);
        if hi.checked_sub(lo)? >= MAX_TERMS {
            return Some(false);
        }
        envs = envs
            .iter()
            .flat_map(|env| (lo..=hi).map(|v| [env.clone(), vec![(k.clone(), v)]].concat()))
            .collect();
        if envs.len() > MAX_TERMS as usize * MAX_TERMS as usize {
            return Some(false);
        }
    }
    for mut env in envs {
        let (l, r) = (eval(p, &h.lhs, &mut env, trial, 0), eval(p, &h.rhs, &mut env, trial, 0));
        if *p.work == 0 {
            return None;
        }
        if !matches!((l, r), (Some(Val::Exact(a)), Some(Val::Exact(b))) if a == b) {
            return Some(false);
        }
    }
    Some(true)
}

/// Whether `c` surely holds at the point of `trial` (false where that is unknown), its
/// quantified indices at `env`.
fn holds(p: &mut Point, c: &Condition, env: &mut Vec<(String, i64)>, trial: u64) -> Option<bool> {
    if let Condition::ForAll(k, lo, hi, body) = c {
        let (lo, hi) = (bound_at(lo, p.at)?, bound_at(hi, p.at)?);
        if hi.checked_sub(lo)? >= MAX_TERMS {
            return Some(false);
        }
        for v in lo..=hi {
            env.push((k.clone(), v));
            let met = holds(p, body, env, trial);
            env.pop();
            if !met? {
                return Some(false);
            }
        }
        return Some(true);
    }
    let value = match c {
        Condition::NonZero(e) | Condition::Positive(e) | Condition::NonNegative(e) => {
            eval(p, e, env, trial, 0)
        }
        _ => return Some(false),
    };
    if *p.work == 0 {
        return None;
    }
    Some(match (c, value) {
        (Condition::Positive(_) | Condition::NonNegative(_), Some(Val::Sign(s))) => s,
        (Condition::NonZero(_), Some(Val::Sign(_))) => true,
        (Condition::Positive(_), Some(Val::Exact(q))) => q.is_positive(),
        (Condition::NonNegative(_), Some(Val::Exact(q))) => !q.is_negative(),
        (Condition::NonZero(_), Some(Val::Exact(q))) => !q.is_zero(),
        _ => false,
    })
}

/// Which of `VALUES` a variable, at its index values, takes at the point of `trial`.
fn pick(name: &str, ix: &[i64], trial: u64) -> usize {
    if trial < 3 {
        return trial as usize;
    }
    // FNV-1a: fixed, so a certificate is judged the same way every time.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let ix = ix.iter().flat_map(|v| v.to_le_bytes());
    for b in name.bytes().chain(ix).chain(trial.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h % VALUES.len() as u64) as usize
}

/// The value of an index: bound by a sum or a quantifier, a size, or a free index at a
/// value of its declared range picked by the trial.
fn index(p: &Point, i: &Index, env: &[(String, i64)], trial: u64) -> Option<i64> {
    let n = match i {
        Index::Int(v) => return Some(*v),
        Index::Name(n) => n,
    };
    if let Some((_, v)) = env.iter().rev().find(|(k, _)| k == n) {
        return Some(*v);
    }
    if let Some(v) = p.at.get(n.as_str()) {
        return Some(*v);
    }
    if let Some(v) = p.assigned.get(n.as_str()).filter(|_| trial % 2 == 0) {
        return Some(*v);
    }
    let (lo, hi) = p.ranges.get(n.as_str())?;
    let (lo, hi) = (bound_at(lo, p.at)?, bound_at(hi, p.at)?);
    let length = hi.checked_sub(lo)?.checked_add(1).filter(|&l| l > 0)?;
    lo.checked_add(pick(n, &[], trial) as i64 % length)
}

/// The value of `e` at the point of `trial`, its bound indices at `env`; `None` where it
/// may be undefined or is too large to work out.
fn eval(
    p: &mut Point,
    e: &Expr,
    env: &mut Vec<(String, i64)>,
    trial: u64,
    depth: usize,
) -> Option<Val> {
    charge(p, 1)?;
    if depth > 64 {
        return None;
    }
    // A large number costs as its arithmetic does: the square of its size in words.
    let v = node(p, e, env, trial, depth)?;
    if let Val::Exact(q) = &v {
        charge(p, (q.bits() as usize / 64).pow(2))?;
    }
    Some(v)
}

fn node(
    p: &mut Point,
    e: &Expr,
    env: &mut Vec<(String, i64)>,
    trial: u64,
    depth: usize,
) -> Option<Val> {
    let on =
        |p: &mut Point, t: &Expr, env: &mut Vec<(String, i64)>| eval(p, t, env, trial, depth + 1);
    match e {
        Expr::Num(r) => Some(Val::Exact(r.clone())),
        Expr::Sym(n) | Expr::Idx(n, _) => {
            let ix: Vec<i64> = match e {
                Expr::Idx(_, ix) => {
                    ix.iter().map(|i| index(p, i, env, trial)).collect::<Option<_>>()?
                }
                _ => Vec::new(),
            };
            if let Some(d) = p.definitions.get(n.as_str()).copied() {
                // The body at these index values; its labels keep the values picked above.
                let formal: Vec<String> = match &d.name {
                    Expr::Idx(_, f) if f.len() == ix.len() => {
                        f.iter().map(|i| i.to_string()).collect()
                    }
                    Expr::Sym(_) if ix.is_empty() => Vec::new(),
                    _ => return None,
                };
                return on(p, &d.body.clone(), &mut formal.into_iter().zip(ix).collect());
            }
            if p.sizes.contains(n) {
                // A size not among those tried is not a variable either.
                return Some(Val::Exact(Rat::int(*p.at.get(n.as_str())?)));
            }
            let (num, den) = VALUES[pick(n, &ix, trial)];
            Some(Val::Exact(Rat::int(num) / Rat::int(den)))
        }
        Expr::Add(ts) => add(ts.iter().map(|t| on(p, t, env)).collect::<Option<_>>()?),
        Expr::Mul(ts) => {
            let mut acc = Val::Exact(Rat::int(1));
            for t in ts.iter() {
                acc = times(acc, on(p, t, env)?)?;
            }
            Some(acc)
        }
        Expr::Neg(a) => times(Val::Exact(Rat::int(-1)), on(p, a, env)?),
        Expr::Div(a, b) => {
            let inverse = match on(p, b, env)? {
                Val::Exact(q) if !q.is_zero() => Val::Exact(Rat::int(1) / q),
                Val::Sign(s) => Val::Sign(s),
                _ => return None,
            };
            times(on(p, a, env)?, inverse)
        }
        Expr::Pow(b, k) => {
            let (b, k) = (on(p, b, env)?, on(p, k, env)?);
            let whole = match &k {
                Val::Exact(q) => q.as_i64().filter(|k| k.abs() <= 64),
                _ => None,
            };
            match (b, whole) {
                (Val::Exact(q), Some(k)) => {
                    // Each of its multiplications costs at most what the result does.
                    let k_abs = k.unsigned_abs() as usize;
                    let words = (q.bits() as usize).saturating_mul(k_abs) / 64 + 1;
                    charge(p, k_abs.saturating_mul(words.pow(2)))?;
                    exact(power(&q, k)?)
                }
                (Val::Sign(s), Some(k)) => Some(Val::Sign(s || k % 2 == 0)),
                (Val::Real, Some(k)) if k > 0 => Some(Val::Real),
                // Any other power: of a positive base, or of zero to a positive power.
                (Val::Exact(q), None) if q.is_positive() => Some(Val::Sign(true)),
                (Val::Sign(true), None) => Some(Val::Sign(true)),
                (Val::Exact(q), None) if q.is_zero() => match k {
                    Val::Exact(k) if k.is_positive() => Some(Val::Exact(q)),
                    _ => None,
                },
                _ => None,
            }
        }
        Expr::Call(f, a) => call(*f, on(p, a, env)?),
        Expr::Sum(s) => {
            let (lo, hi) = (bound_at(&s.lo, p.at)?, bound_at(&s.hi, p.at)?);
            if hi.checked_sub(lo)? >= MAX_TERMS {
                return None;
            }
            let mut terms = Vec::new();
            for v in lo..=hi {
                env.push((s.index.clone(), v));
                let t = on(p, &s.body, env);
                env.pop();
                terms.push(t?);
            }
            add(terms)
        }
        Expr::Delta(a, b) => {
            let (a, b) = (index(p, a, env, trial)?, index(p, b, env, trial)?);
            Some(Val::Exact(Rat::int(i64::from(a == b))))
        }
        Expr::D(..) => None,
    }
}

/// `units` off the budget; once it runs out, it stays out (the search then refuses).
fn charge(p: &mut Point, units: usize) -> Option<()> {
    let left = p.work.checked_sub(units);
    *p.work = left.unwrap_or(0);
    left.map(|_| ())
}

fn exact(q: Rat) -> Option<Val> {
    Some(Val::Exact(q)).filter(|v| matches!(v, Val::Exact(q) if q.bits() <= MAX_BITS))
}

/// A sum: exact if every term is, else by sign where every term leans the same way.
fn add(vals: Vec<Val>) -> Option<Val> {
    let leans = |s: bool| {
        vals.iter().all(|v| match v {
            Val::Exact(q) => q.is_zero() || q.is_positive() == s,
            Val::Sign(t) => *t == s,
            Val::Real => false,
        })
    };
    if leans(true) != leans(false) && vals.iter().any(|v| matches!(v, Val::Sign(_))) {
        return Some(Val::Sign(leans(true)));
    }
    let mut sum = Rat::int(0);
    for v in vals {
        match v {
            Val::Exact(q) => sum = sum + q,
            _ => return Some(Val::Real),
        }
    }
    exact(sum)
}

fn times(a: Val, b: Val) -> Option<Val> {
    Some(match (a, b) {
        (Val::Exact(p), Val::Exact(q)) => return exact(p * q),
        (Val::Exact(z), _) | (_, Val::Exact(z)) if z.is_zero() => Val::Exact(z),
        (Val::Real, _) | (_, Val::Real) => Val::Real,
        (Val::Exact(q), Val::Sign(s)) | (Val::Sign(s), Val::Exact(q)) => {
            Val::Sign(s == q.is_positive())
        }
        (Val::Sign(s), Val::Sign(t)) => Val::Sign(s == t),
    })
}

/// A function's value, or its sign where that alone is known; `None` off its domain or
/// where that is unknown (a point not found refuses, so the table may stay short).
fn call(f: Func, a: Val) -> Option<Val> {
    let zero = matches!(&a, Val::Exact(q) if q.is_zero());
    let sign = match &a {
        Val::Exact(q) if !q.is_zero() => Some(q.is_positive()),
        Val::Sign(s) => Some(*s),
        _ => None,
    };
    // Within 3 of zero (less than pi), sin has the sign of its argument.
    let near = matches!(&a, Val::Exact(q) if *q < Rat::int(3) && *q > Rat::int(-3));
    let number = |n: i64, d: i64| Some(Val::Exact(Rat::int(n) / Rat::int(d)));
    match f {
        Func::Exp | Func::Cosh if zero => number(1, 1),
        Func::Sigmoid if zero => number(1, 2),
        Func::Exp | Func::Cosh | Func::Softplus | Func::Sigmoid => Some(Val::Sign(true)),
        // Odd, increasing, and zero only at zero.
        Func::Tanh | Func::Atan | Func::Sinh | Func::Asinh | Func::Erf | Func::Sin if zero => {
            number(0, 1)
        }
        Func::Tanh | Func::Atan | Func::Sinh | Func::Asinh | Func::Erf => {
            Some(sign.map_or(Val::Real, Val::Sign))
        }
        Func::Sin if near => sign.map(Val::Sign),
        Func::Sin | Func::Cos => Some(Val::Real),
        Func::Abs => match a {
            Val::Exact(q) => Some(Val::Exact(if q.is_negative() { -q } else { q })),
            Val::Sign(_) => Some(Val::Sign(true)),
            Val::Real => Some(Val::Real),
        },
        Func::Log => match a {
            Val::Exact(q) if q == Rat::int(1) => number(0, 1),
            Val::Exact(q) if q.is_positive() => Some(Val::Sign(q > Rat::int(1))),
            Val::Sign(true) => Some(Val::Real),
            _ => None,
        },
        Func::Sqrt if zero => number(0, 1),
        Func::Sqrt => Some(Val::Sign(true)).filter(|_| sign == Some(true)),
        Func::Tan | Func::Asin | Func::Acos | Func::Relu | Func::Step => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::cases::contradicted;
    use super::super::read::read_term;
    use super::super::rules::Condition;
    use crate::expr::{Assumption, Bound, Context, Definition, Expr, Index, IndexDecl};

    /// Each line: a carried condition, and whether it holds anywhere at sizes `m >= 1`
    /// (worked out by hand), with `q` in `1..m`, `g = 1 - m` and `h = m - 1`.
    const LINES: &[(&str, bool)] = &[
        ("(1 - m)*(1 + y^2) > 0", false),
        ("(m - 1)*y > 0", true),
        ("(1 - m)*y > 0", true),
        ("sum_q(y_q^2)/m > 0", true),
        ("-sum_q(1 + y_q^2) >= 0", false),
        ("sum_{q=2}^{m}(exp(z_q)) != 0", true),
        ("(m - 100)*exp(z) > 0", true),
        ("(1 - m)*exp(z) > 0", false),
        ("(1 - m)*sin(z) > 0", true),
        ("(1 - m)*(2 + cosh(z)) > 0", false),
        ("(m - 1)*sigmoid(z) + sqrt(m - 1) != 0", true),
        ("g*(1 + y^2) > 0", false),
        ("h*(1 + y^2) > 0", true),
        ("log(m)*y != 0", true),
        ("-log(m)*(1 + y^2) > 0", false),
        ("(1 - m)/(m - 1) + y^2 > 0", true),
    ];

    fn context() -> Context {
        let indices = vec![
            IndexDecl { names: vec!["q".into()], lo: Bound::Int(1), hi: Bound::Sym("m".into(), 0) },
            IndexDecl {
                names: vec!["i".into(), "j".into()],
                lo: Bound::Int(1),
                hi: Bound::Sym("n".into(), 0),
            },
        ];
        let define = |name: &str, body: &str| Definition {
            name: Expr::Sym(name.into()),
            body: read_term(body, &indices).expect("reads"),
        };
        let definitions = vec![define("g", "1 - m"), define("h", "m - 1")];
        Context { indices: indices.clone(), definitions, ..Context::default() }
    }

    fn refused(ctx: &Context, c: Condition) -> bool {
        refused_together(ctx, vec![c])
    }

    fn refused_together(ctx: &Context, cs: Vec<Condition>) -> bool {
        contradicted(ctx, &Expr::Sym("y".into()), &cs).is_some()
    }

    #[test]
    fn a_point_meets_the_conditions_that_share_its_variables_and_its_index_conditions() {
        let ctx = context();
        let positive = |t: &str| Condition::Positive(read_term(t, &ctx.indices).expect("reads"));
        let (i, j) = (Index::Name("i".into()), Index::Name("j".into()));
        // Each holds somewhere; together, only at m < 1.
        assert!(!refused(&ctx, positive("(1 - m)*z")));
        assert!(refused_together(&ctx, vec![positive("(1 - m)*z"), positive("z")]));
        // A condition on other variables does not bear on it.
        assert!(!refused_together(&ctx, vec![positive("(1 - m)*z"), positive("w")]));
        // `i = j` leaves `x_i - x_j + 1 - m > 0` only `1 - m > 0`; `i != j` leaves it a point.
        let mixed = || positive("x_i - x_j + 1 - m");
        assert!(!refused(&ctx, mixed()));
        assert!(refused_together(&ctx, vec![mixed(), Condition::IndexEq(i.clone(), j.clone())]));
        assert!(refused_together(&ctx, vec![mixed(), positive("delta(i,j)")]));
        assert!(!refused_together(&ctx, vec![mixed(), Condition::IndexNe(i, j)]));
    }

    #[test]
    fn a_sign_condition_reaching_a_size_is_kept_only_where_a_point_meets_it() {
        let ctx = context();
        for &(text, holds) in LINES {
            let read = |t: &str| read_term(t, &ctx.indices).expect("reads");
            let c = if let Some(t) = text.strip_suffix(" >= 0") {
                Condition::NonNegative(read(t))
            } else if let Some(t) = text.strip_suffix(" > 0") {
                Condition::Positive(read(t))
            } else {
                Condition::NonZero(read(text.strip_suffix(" != 0").expect("a sign condition")))
            };
            assert_eq!(refused(&ctx, c), !holds, "{text}");
        }
    }

    #[test]
    fn a_quantified_condition_over_a_size_needs_every_instance_to_hold() {
        let ctx = context();
        let over_q = |text: &str, sign: fn(Expr) -> Condition| {
            let e = read_term(text, &ctx.indices).expect("reads");
            let (lo, hi) = (Bound::Int(1), Bound::Sym("m".into(), 0));
            Condition::ForAll("q".into(), lo, hi, Box::new(sign(e)))
        };
        assert!(!refused(&ctx, over_q("x_q - y_q", Condition::NonZero)));
        assert!(!refused(&ctx, over_q("(1 - m)*exp(x_q)", Condition::NonZero)));
        assert!(refused(&ctx, over_q("(1 - m)*exp(x_q)", Condition::Positive)));
        assert!(refused(&ctx, over_q("-1 - x_q^2", Condition::NonNegative)));
    }

    #[test]
    fn a_point_meets_the_hypotheses_that_share_its_variables() {
        let mut ctx = context();
        let condition = || Condition::Positive(read_term("(1 - m)*z", &ctx.indices).unwrap());
        assert!(!refused(&ctx, condition()));
        let assume = |lhs: &str, rhs: &str| Assumption {
            lhs: read_term(lhs, &[]).expect("reads"),
            rhs: read_term(rhs, &[]).expect("reads"),
        };
        // Through another hypothesis: z = w, w = 1 leaves z only 1.
        ctx.assumptions = vec![assume("z", "w"), assume("w", "1"), assume("u", "2")];
        let c = Condition::Positive(read_term("(1 - m)*z", &ctx.indices).unwrap());
        assert!(refused(&ctx, c));
        ctx.assumptions = vec![assume("z", "-1"), assume("u", "u + 1")];
        let c = Condition::Positive(read_term("(1 - m)*z", &ctx.indices).unwrap());
        assert!(!refused(&ctx, c));
    }
}
