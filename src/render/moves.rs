//! Names for algebra steps: what a ring step did, in a textbook's words ("expand",
//! "cancel $a_i$", "factor out $2x$"), read off the subterm before and after it.
//!
//! Presentation only: the kernel checked each step as an equality of rational functions,
//! whatever it is called here.

use crate::expr::{Expr, Rat};
use crate::kernel::CheckedStep;
use crate::terms::ExprExt;
use num_traits::{One, Zero};
use std::collections::BTreeMap;

/// The largest term a caption names (six nodes: `a_i`, `2x`), since a caption sits beside
/// its equation.
const NAMED: usize = 6;

/// A textbook's name for one algebra step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    /// Only `·1`, `+ 0`, `x^(2 − 1)` and the like are cleared.
    Tidy,
    /// The same factors (or terms) in the same order, bracketed differently.
    Regroup,
    /// The same factors (or terms) in another order.
    Reorder,
    Expand,
    /// Factor out the common factor (none named when it is only a sign or a number).
    FactorOut(Option<Expr>),
    /// Cancel a factor of both numerator and denominator.
    Cancel(Expr),
    /// Both at once: `(e·δ·S − e·Σ)/S²` as `e·(δ − Σ/S)/S` takes out `e` and cancels `S`.
    FactorOutAndCancel(Expr, Expr),
    CommonDenominator,
    CollectLikeTerms,
    /// A minus sign taken into a bracket, or out of one: `-a*(1 - s)` as `a*(s - 1)`.
    MoveSign,
    /// A Kronecker delta of two numbers written as its value: `δ_12` as 0.
    EvaluateDelta,
    /// None of the above: several of them at once, or a rearrangement with no name.
    Simplify,
}

impl Move {
    /// Tidying, regrouping or reordering: a move that changes no term's value or shape.
    pub fn is_minor(&self) -> bool {
        matches!(self, Move::Tidy | Move::Regroup | Move::Reorder)
    }

    /// The moves this one is made of, each with its own words: factoring out and cancelling
    /// are two.
    pub fn parts(&self) -> Vec<Move> {
        match self {
            // Two long terms are not named: "factor out and cancel the common factors".
            Move::FactorOutAndCancel(f, g) if f.size().max(g.size()) <= NAMED => {
                vec![Move::FactorOut(Some(f.clone())), Move::Cancel(g.clone())]
            }
            other => vec![other.clone()],
        }
    }

    /// The words of the caption, and the term it names, if any (at most [`NAMED`] nodes).
    pub fn words(&self) -> (&'static str, Option<&Expr>) {
        match self {
            Move::FactorOut(Some(e)) if e.size() > NAMED => ("factor out the common factor", None),
            Move::Cancel(e) if e.size() > NAMED => ("cancel the common factor", None),
            Move::Tidy => ("tidy up", None),
            Move::Regroup => ("regroup", None),
            Move::Reorder => ("reorder", None),
            Move::Expand => ("expand", None),
            Move::FactorOut(None) => ("factor", None),
            Move::FactorOut(Some(e)) => ("factor out ", Some(e)),
            Move::Cancel(e) => ("cancel ", Some(e)),
            Move::CommonDenominator => ("combine over a common denominator", None),
            Move::CollectLikeTerms => ("collect like terms", None),
            Move::MoveSign => ("move the sign into the bracket", None),
            Move::EvaluateDelta => ("evaluate the Kronecker delta", None),
            Move::Simplify => ("simplify", None),
            // Worded by its parts.
            Move::FactorOutAndCancel(..) => ("factor out and cancel the common factors", None),
        }
    }
}

/// What the ring step `s` did to the subterm at its position ("simplify" where the splice
/// reshaped the node there).
pub fn step_move(s: &CheckedStep) -> Move {
    let p = &s.step.position;
    s.before.at(p).zip(s.after.at(p)).map_or(Move::Simplify, |(b, a)| name_move(b, a))
}

/// What a ring step that turned `before` into `after` did.
pub fn name_move(before: &Expr, after: &Expr) -> Move {
    if crate::engine::simplify::without_trivia(before) == *after {
        // Only brackets went if the same leaves remain, in the same order.
        return if leaves(before) == leaves(after) { Move::Regroup } else { Move::Tidy };
    }
    let (pb, pa) = (Product::of(before), Product::of(after));
    let (tb, ta) = (terms(before), terms(after));
    if pb.negative == pa.negative && pb.factors == pa.factors {
        return Move::Regroup;
    }
    if tb.len() > 1 && keys(&tb) == keys(&ta) {
        return Move::Regroup;
    }
    if pb.negative == pa.negative && pb.merged() == pa.merged() {
        return Move::Reorder;
    }
    if tb.len() > 1 && sorted(keys(&tb)) == sorted(keys(&ta)) {
        return Move::Reorder;
    }
    // The same up to order and brackets at any depth: inside a sum's body, a call's
    // argument, a bracket of the product.
    let (cb, ca) = (canonical(before, false), canonical(after, false));
    if cb == ca {
        let (lb, la) = (leaves(before), leaves(after));
        // Only numbers changed (`2*x*2` as `4*x`, `a*(0 - b)` as `-a*b`): arithmetic.
        let symbols = |l: Vec<&Expr>| -> Vec<Expr> {
            l.into_iter().filter(|e| e.as_num().is_none()).cloned().collect()
        };
        return match () {
            _ if lb == la => Move::Regroup,
            _ if symbols(lb) == symbols(la) => Move::Tidy,
            _ => Move::Reorder,
        };
    }
    if canonical(before, true) == canonical(after, true) {
        return Move::MoveSign;
    }
    if has_concrete_delta(before) && canonical(&deltas_evaluated(before), false) == ca {
        return Move::EvaluateDelta;
    }
    // A bracket (or its power) over its own denominator: `(1 + 1/(1 + x))^2` as
    // `(x + 2)^2/(x + 1)^2`.
    let fractions_inside = |p: &Product| {
        let fraction = |f: &Expr| terms(f).iter().any(|(_, t)| t.has_denominator());
        p.factors.iter().any(|(f, _)| matches!(f, Expr::Add(_)) && fraction(f))
    };
    let one_bracket = matches!(pb.factors.as_slice(), [(Expr::Add(_), _)]);
    if one_bracket && fractions_inside(&pb) && pa.has_denominator() && !fractions_inside(&pa) {
        return Move::CommonDenominator;
    }
    if let Some(x) = pb.cancelled(&pa) {
        return Move::Cancel(x);
    }
    let (sums_b, sums_a) = (sum_factors(&tb), sum_factors(&ta));
    if sums_a < sums_b && ta.len() > tb.len() {
        return Move::Expand;
    }
    if ta.len() == 1 && tb.len() > 1 {
        if pa.factors.iter().any(|(_, k)| *k < 0) && tb.iter().any(|(_, p)| p.has_denominator()) {
            return Move::CommonDenominator;
        }
        if pa.factors.iter().any(|(f, k)| matches!(f, Expr::Add(_)) && *k > 0) {
            return Move::FactorOut(pa.common_factor());
        }
    }
    if ta.len() < tb.len() {
        return Move::CollectLikeTerms;
    }
    // Everything cancelling to a number is no one factor's doing.
    if after.as_num().is_some() {
        return Move::Simplify;
    }
    match (factored_out_of_sum(&pb, &pa), divided_through(&pb, &pa)) {
        (Some(f), Some(g)) => Move::FactorOutAndCancel(f, g),
        (Some(f), None) => Move::FactorOut(Some(f)),
        (None, Some(g)) => Move::Cancel(g),
        (None, None) => Move::Simplify,
    }
}

/// The factors of each term of `p`'s sum factors, up to sign and order, as keys.
fn sum_term_factors(p: &Product) -> Vec<Vec<BTreeMap<Expr, i64>>> {
    let key = |(f, k): &(Expr, i64)| (sign_free(f), *k);
    let sums = p.factors.iter().filter(|(f, k)| matches!(f, Expr::Add(_)) && *k > 0);
    sums.map(|(f, _)| {
        let merged = |(_, t): &(bool, Product)| {
            let mut m = BTreeMap::new();
            for (f, k) in t.factors.iter().map(key) {
                *m.entry(f).or_insert(0) += k;
            }
            m
        };
        terms(f).iter().map(merged).collect()
    })
    .collect()
}

/// A factor of every term of a sum in `before` that stands outside the sums in `after`, and
/// did not in `before`: what was factored out (`1/T` for a divisor of every term).
fn factored_out_of_sum(before: &Product, after: &Product) -> Option<Expr> {
    let same_side = |a: i64, b: i64| a.signum() == b.signum();
    let outside = |p: &Product, f: &Expr, k: i64| {
        p.factors.iter().any(|(g, j)| same_side(*j, k) && sign_free(g) == sign_free(f))
    };
    let sums = sum_term_factors(before);
    let in_every_term = |f: &Expr, k: i64| {
        let has = |t: &BTreeMap<Expr, i64>| t.get(&sign_free(f)).is_some_and(|j| same_side(*j, k));
        sums.iter().any(|ts| ts.iter().all(has))
    };
    let (f, k) = after.factors.iter().find(|(f, k)| {
        *k != 0
            && !matches!(f, Expr::Add(_))
            && f.as_num().is_none()
            && in_every_term(f, *k)
            && !outside(before, f, *k)
    })?;
    let power = if k.abs() == 1 { f.clone() } else { Expr::pow(f.clone(), Expr::int(k.abs())) };
    Some(if *k > 0 { power } else { Expr::div(Expr::int(1), power) })
}

/// A factor of `before`'s denominator that `after` divides by fewer times, and that a term
/// of a sum in `before`'s numerator has: each term divided through by it.
fn divided_through(before: &Product, after: &Product) -> Option<Expr> {
    let power = |p: &Product, f: &Expr| {
        p.factors
            .iter()
            .filter(|(g, k)| *k < 0 && sign_free(g) == sign_free(f))
            .map(|(_, k)| k)
            .sum::<i64>()
    };
    let sums = sum_term_factors(before);
    let in_a_term = |f: &Expr| sums.iter().flatten().any(|t| t.contains_key(&sign_free(f)));
    before
        .factors
        .iter()
        .find(|(g, k)| *k < 0 && power(after, g) > power(before, g) && in_a_term(g))
        .map(|(g, _)| g.clone())
}

/// `e` canonical, up to its sign: `1 - s` and `s - 1` are one key.
fn sign_free(e: &Expr) -> Expr {
    let c = canonical(e, true);
    c.unneg().unwrap_or(c)
}

/// A term as a product: its sign and its factors with integer exponents, in the order
/// written (`-a/b^2` is `-, [a^1, b^-2]`); numbers other than ±1 are factors too.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Product {
    negative: bool,
    factors: Vec<(Expr, i64)>,
}

/// An exponent a product's factor is taken apart by: a whole number, not 0, at most 64.
fn small_exponent(k: &Expr) -> Option<i64> {
    k.as_num().and_then(Rat::as_i64).filter(|k| *k != 0 && k.unsigned_abs() <= 64)
}

impl Product {
    fn of(e: &Expr) -> Product {
        let mut p = Product { negative: false, factors: Vec::new() };
        p.collect(e, 1);
        p
    }

    fn collect(&mut self, e: &Expr, exponent: i64) {
        match e {
            Expr::Mul(fs) => fs.iter().for_each(|f| self.collect(f, exponent)),
            Expr::Neg(x) => {
                self.negative = !self.negative;
                self.collect(x, exponent)
            }
            Expr::Div(n, d) => {
                self.collect(n, exponent);
                self.collect(d, -exponent)
            }
            Expr::Pow(b, k) => match small_exponent(k) {
                Some(k) => self.collect(b, exponent * k),
                None => self.factors.push((e.clone(), exponent)),
            },
            Expr::Num(r) if r.is_negative() => {
                self.negative = !self.negative;
                self.collect(&Expr::Num(-r), exponent)
            }
            Expr::Num(r) if r.is_one() => {}
            _ => self.factors.push((e.clone(), exponent)),
        }
    }

    /// Exponents summed per factor, in the factors' order: the product up to rearranging.
    fn merged(&self) -> BTreeMap<&Expr, i64> {
        let mut out = BTreeMap::new();
        for (f, k) in &self.factors {
            *out.entry(f).or_insert(0) += k;
        }
        out.retain(|_, k| *k != 0);
        out
    }

    fn has_denominator(&self) -> bool {
        self.factors.iter().any(|(_, k)| *k < 0)
    }

    /// A factor in both numerator and denominator here (up to sign: `(s - 1)/(1 - s)`) that
    /// `after` has fewer of.
    fn cancelled(&self, after: &Product) -> Option<Expr> {
        let key = sign_free;
        let (num, den): (Vec<_>, Vec<_>) = self.factors.iter().partition(|(_, k)| *k > 0);
        let count =
            |p: &Product, f: &Expr| p.factors.iter().filter(|(g, _)| key(g) == key(f)).count();
        num.iter()
            .find(|(f, _)| {
                den.iter().any(|(g, _)| key(g) == key(f)) && count(after, f) < count(self, f)
            })
            .map(|(f, _)| f.clone())
    }

    /// The factors other than the sums, as one term: what was factored out of them.
    fn common_factor(&self) -> Option<Expr> {
        let rest: Vec<Expr> = self
            .factors
            .iter()
            .filter(|(f, k)| !matches!(f, Expr::Add(_)) && *k > 0 && f.as_num().is_none())
            .map(|(f, k)| if *k == 1 { f.clone() } else { Expr::pow(f.clone(), Expr::int(*k)) })
            .collect();
        (!rest.is_empty()).then(|| Expr::mul(rest))
    }
}

/// A term as a sum: its terms, each as a product, in the order written.
fn terms(e: &Expr) -> Vec<(bool, Product)> {
    fn walk(e: &Expr, negative: bool, out: &mut Vec<(bool, Product)>) {
        match e {
            Expr::Add(ts) => ts.iter().for_each(|t| walk(t, negative, out)),
            Expr::Neg(x) if matches!(**x, Expr::Add(_)) => walk(x, !negative, out),
            _ => out.push((negative, Product::of(e))),
        }
    }
    let mut out = Vec::new();
    walk(e, false, &mut out);
    out
}

/// Each term's sign and factors, up to the order of the factors.
fn keys(ts: &[(bool, Product)]) -> Vec<(bool, BTreeMap<&Expr, i64>)> {
    ts.iter().map(|(neg, p)| (*neg != p.negative, p.merged())).collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// How many factors of the terms are themselves sums (what expanding removes).
fn sum_factors(ts: &[(bool, Product)]) -> usize {
    let sums = |p: &Product| p.factors.iter().filter(|(f, _)| matches!(f, Expr::Add(_))).count();
    ts.iter().map(|(_, p)| sums(p)).sum()
}

/// `e` up to the order of terms and factors and their brackets, at every depth: sums and
/// products flattened and sorted, a product's factors with their exponents merged, zero
/// terms and unit factors dropped, each delta's indices in order. With `signs`, each sum is
/// also taken up to its sign (its first term, by the order without signs, made positive),
/// the sign going to the product around it.
fn canonical(e: &Expr, signs: bool) -> Expr {
    match e {
        Expr::Add(_) | Expr::Neg(_) | Expr::Mul(_) | Expr::Div(..) => {}
        // As `Product::collect` reads it, so a power it keeps whole (`x^0`, `x^100`) is
        // not a product here: it would come back as its own only factor, without end.
        Expr::Pow(_, k) if small_exponent(k).is_some() => {}
        Expr::Delta(i, j) if j < i => return Expr::Delta(j.clone(), i.clone()),
        _ => return e.map_children(|c| canonical(c, signs)),
    }
    let mut terms: Vec<Expr> = terms(e)
        .into_iter()
        .map(|(negative, p)| product(negative != p.negative, &p.factors, signs))
        .filter(|t| !t.as_num().is_some_and(|r| r.is_zero()))
        .collect();
    let unsigned = |t: &Expr| t.unneg().unwrap_or_else(|| t.clone());
    terms.sort_by_cached_key(unsigned);
    let flip = signs && terms.len() > 1 && terms[0].unneg().is_some();
    if flip {
        terms = terms.iter().map(|t| t.unneg().unwrap_or_else(|| Expr::neg(t.clone()))).collect();
        terms.sort_by_cached_key(unsigned);
    }
    let sum = Expr::add(terms);
    if flip {
        Expr::neg(sum)
    } else {
        sum
    }
}

/// A product in canonical form: each factor canonical (a negated one giving its sign to the
/// product), exponents merged, sorted.
fn product(mut negative: bool, factors: &[(Expr, i64)], signs: bool) -> Expr {
    let mut merged: BTreeMap<(bool, Expr), i64> = BTreeMap::new();
    // Numbers of the numerator and of the denominator apart: `2*x/(2*y)` cancels 2.
    let (mut numerator, mut denominator) = (Rat::one(), Rat::one());
    for (f, k) in factors {
        let mut c = canonical(f, signs);
        if let Some(x) = c.unneg() {
            negative ^= k % 2 != 0;
            c = x;
        }
        match c.as_num() {
            Some(r) if !r.is_zero() && k.unsigned_abs() <= 64 => {
                let power = (0..k.unsigned_abs()).fold(Rat::one(), |acc, _| acc * r);
                if *k > 0 {
                    numerator *= power
                } else {
                    denominator *= power
                }
            }
            // Numerator and denominator apart: `x*y/x` is a cancellation, not a reordering.
            _ => *merged.entry((*k < 0, c)).or_insert(0) += k,
        }
    }
    let numbers = [(numerator, 1), (denominator, -1)].into_iter().filter(|(r, _)| !r.is_one());
    let mut out: Vec<Expr> = numbers.map(|(r, k)| Expr::pow(Expr::Num(r), Expr::int(k))).collect();
    let power = |(f, k): (Expr, i64)| if k == 1 { f } else { Expr::pow(f, Expr::int(k)) };
    out.extend(merged.into_iter().map(|((_, f), k)| power((f, k))));
    let p = Expr::mul(out);
    if negative {
        Expr::neg(p)
    } else {
        p
    }
}

fn has_concrete_delta(e: &Expr) -> bool {
    e.any(&mut |t| matches!(t, Expr::Delta(crate::expr::Index::Int(_), crate::expr::Index::Int(_))))
}

/// `e` with each delta of two numbers written as its value.
fn deltas_evaluated(e: &Expr) -> Expr {
    use crate::expr::Index::Int;
    match e {
        Expr::Delta(Int(a), Int(b)) => Expr::int(i64::from(a == b)),
        _ => e.map_children(deltas_evaluated),
    }
}

/// The numbers, variables and deltas of a term, in the order written.
fn leaves(e: &Expr) -> Vec<&Expr> {
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e.children().next() {
            None => out.push(e),
            Some(_) => e.children().for_each(|c| walk(c, out)),
        }
    }
    let mut out = Vec::new();
    walk(e, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_expr;

    fn named(before: &str, after: &str) -> Move {
        let p = |s: &str| parse_expr(s).expect("parses");
        name_move(&p(before), &p(after))
    }

    #[test]
    fn moves_have_their_textbook_names() {
        let e = |s: &str| parse_expr(s).expect("parses");
        assert_eq!(named("y*(d/a)", "y*d/a"), Move::Regroup);
        assert_eq!(named("y*d/a", "y/a*d"), Move::Reorder);
        assert_eq!(named("a*y - y*d", "-y*d + a*y"), Move::Reorder);
        assert_eq!(named("(-y/a)*a*(d - b)", "y*(b - d)"), Move::Cancel(e("a")));
        assert_eq!(named("y*(b - d)", "b*y - y*d"), Move::Expand);
        assert_eq!(named("x*y + x*z", "x*(y + z)"), Move::FactorOut(Some(e("x"))));
        assert_eq!(named("1/x + 1/y", "(x + y)/(x*y)"), Move::CommonDenominator);
        assert_eq!(named("(1 + 1/(1 + x))^2", "(x + 2)^2/(x + 1)^2"), Move::CommonDenominator);
        assert_eq!(named("x + 2*y + x", "2*x + 2*y"), Move::CollectLikeTerms);
        assert_eq!(named("2*x^(2 - 1)*1", "2*x"), Move::Tidy);
        assert_eq!(named("a*1 - y", "a - y"), Move::Tidy);
        assert_eq!(named("(e*d)*s", "e*d*s"), Move::Regroup);
        assert_eq!(named("sin(x)^2 + cos(x)", "cos(x) + sin(x)*sin(x)"), Move::Reorder);
        // At any depth: inside a sum's body, a bracket, a delta.
        assert_eq!(named("sum_i(v_i*w_i*(1 - h_i))", "sum_i(v_i*(1 - h_i)*w_i)"), Move::Reorder);
        assert_eq!(named("x*(a + b - t)", "x*((a + b) - t)"), Move::Regroup);
        assert_eq!(named("a - delta(k,j)", "a - delta(j,k)"), Move::Reorder);
        assert_eq!(named("a*(0 - b)", "-a*b"), Move::Tidy);
        assert_eq!(named("2*exp(x)/s*2", "4*exp(x)/s"), Move::Tidy);
        assert_eq!(named("-y*s*(1 - g)", "y*s*(g - 1)"), Move::MoveSign);
        assert_eq!(named("a*(1 - delta(1,2))", "a"), Move::EvaluateDelta);
        // Powers a product keeps whole: named, not taken apart without end.
        assert_eq!(named("x^(1 - 1)", "x^0"), Move::Tidy);
        assert_eq!(named("x^100*y", "y*x^100"), Move::Reorder);
        assert_eq!(named("g*s*(g - 1)/(1 - g)", "-g*s"), Move::Cancel(e("g - 1")));
        assert_eq!(named("(a + b*-1)/2/((a + b)/2)", "(a - b)/(a + b)"), Move::Cancel(e("2")));
        // The quotient rule's result: `e` out of the numerator, each term divided by `S`.
        assert_eq!(
            named("(e*d*S - e*u)/S^2", "e*(d - u/S)/S"),
            Move::FactorOutAndCancel(e("e"), e("S"))
        );
        assert_eq!(named("(d*r - x*u)/r^2", "(d - u*x/r)/r"), Move::Cancel(e("r")));
        assert_eq!(
            named("g*(d/T - u/T/S)/S", "g*(d - u/S)/(T*S)"),
            Move::FactorOut(Some(e("1/T")))
        );
        assert_eq!(named("(2*y - 2*x*u/w)/(2*r)", "(y - x*u/w)/r"), Move::Cancel(e("2")));
        // Different values are never one of these.
        assert_eq!(named("x*(a - b)", "x*(b - a)"), Move::Simplify);
        assert_ne!(named("a - delta(1,2)", "a - 1"), Move::EvaluateDelta);
    }
}
