//! Simplification toward the textbook form: tidy each rational region to its smallest
//! candidate form, and move sums (collapse deltas, take out constants, split, use hypotheses).

use super::algebra::{
    combine, expanded_within, factor, term_expr, to_expr, to_terms, Factor, Key, Term,
};
use super::differentiate::step_with;
use super::{Driver, EngineError};
use crate::expr::{Expr, Index, Rat, Sum};
use crate::kernel::Step;
use crate::rules::{Condition, RuleId};
use crate::terms::ExprExt;
use crate::terms::RatExt;
use num_traits::{One, Zero};

/// Rounds of tidy-and-move before giving up on reaching a fixpoint.
const MAX_ROUNDS: usize = 12;

pub fn simplify(d: &mut Driver) -> Result<(), EngineError> {
    for _ in 0..MAX_ROUNDS {
        super::identities::shorten(d)?;
        tidy(d, &[])?;
        let steps = d.proof.steps().len();
        move_sums(d)?;
        if uses_a_hypothesis(d) {
            // What the sum moves left (`2*s*1` after a collapse) goes before the hypothesis
            // is used, so the brief writeup shows the collapse as one line.
            tidy(d, &[])?;
            use_hypotheses(d)?;
        }
        if d.proof.steps().len() == steps && !super::identities::shorten(d)? {
            break;
        }
    }
    signs_into_sums(d)?;
    if super::identities::trials(d)? {
        super::identities::shorten(d)?;
        tidy(d, &[])?;
    }
    super::identities::through_exp(d)?;
    super::identities::hyperbolic_squares(d)?;
    super::recognise::recognise_functions(d)?;
    super::recognise::square_roots(d)
}

/// After a derivative rule at `path`: clear the trivialities it left (`·1`, `+ 0`,
/// `x^(2 - 1)`, `0 - u`) in the ring region that holds it (numeric exponents first, then
/// the region as one ring step), so that no line of a brief writeup shows them.
pub fn clear_trivia(d: &mut Driver, path: &[usize]) -> Result<(), EngineError> {
    let mut root = path.len();
    while root > 0 && d.at(&path[..root - 1]).is_some_and(is_ring_node) {
        root -= 1;
    }
    // Trivialities lie in the rule's result and in the nodes above it, up to the region's
    // root: everything else in the region was cleared after an earlier rule, so only that
    // path is looked at and rebuilt (a step costs the path, not the region).
    // Exponents first, each on its own: the ring normaliser takes `x^(2 - 1)` as an atom
    // until its exponent is the number 1.
    let numeric = |k: &Expr| k.as_num().is_none() && without_trivia(k).as_num().is_some();
    while let Some(at) =
        d.at(path).and_then(|r| find_path(r, &|t| matches!(t, Expr::Pow(_, k) if numeric(k))))
    {
        let mut exponent: Vec<usize> = path.iter().copied().chain(at).collect();
        exponent.push(1);
        let Some(k) = d.at(&exponent) else { break };
        let value = without_trivia(k);
        d.ring(&exponent, value)?;
    }
    let Some(region) = d.at(&path[..root]) else { return Ok(()) };
    if let Some((depth, cleared)) = cleared_along(region, &path[root..]) {
        // The ring step covers only the part that changed: the kernel's cost of a ring
        // step grows with its terms, and a region is often most of the term.
        let base = &path[..root + depth];
        let Some(old) = d.at(base) else { return Ok(()) };
        let narrow = narrowest_change(old, &cleared);
        let Some(new) = cleared.at(&narrow).cloned() else { return Ok(()) };
        let at: Vec<usize> = base.iter().chain(&narrow).copied().collect();
        d.ring(&at, new)?;
    }
    Ok(())
}

/// [`without_trivia`] of `e` when only the subterm at `path` and the nodes above it may
/// hold trivialities: the subterm is cleared, then each node above it on the way up, as
/// far as a node reacts to what changed. `None` when nothing changes; else how far along
/// `path` the change lies and the cleared subterm there, so that a long sum around one
/// changed term is not rebuilt (nor compared) at every step.
fn cleared_along(e: &Expr, path: &[usize]) -> Option<(usize, Expr)> {
    let Some((&first, rest)) = path.split_first() else {
        let cleared = without_trivia(e);
        return (cleared != *e).then_some((0, cleared));
    };
    if !is_ring_node(e) {
        return None;
    }
    let original = e.children().nth(first)?;
    let child = match cleared_along(original, rest) {
        // The child node itself is new: whether this node reacts depends on what it is.
        Some((0, child)) if reacts(e, &child) => child,
        Some((0, child)) => return Some((1, child)),
        // The change lies below the child, which keeps its kind.
        Some((depth, below)) if reacts(e, original) => {
            original.replace_at(&rest[..depth], below)?
        }
        Some((depth, below)) => return Some((depth + 1, below)),
        None if reacts(e, original) => original.clone(),
        None => return None,
    };
    let mut at = 0..;
    let cleared = cleared_node(
        &e.map_children(|c| if at.next() == Some(first) { &child } else { c }.clone()),
    );
    (cleared != *e).then_some((0, cleared))
}

/// Whether clearing `node` (see [`cleared_node`], and the folding of `Expr::neg` and
/// `Expr::div`) may change it on account of its child `child`: a node adds, folds, drops
/// or cancels only numbers, sums in sums, products in products and negations of
/// negations; past any other child it is clean already.
fn reacts(node: &Expr, child: &Expr) -> bool {
    matches!(
        (node, child),
        (_, Expr::Num(_))
            | (Expr::Add(_), Expr::Add(_))
            | (Expr::Mul(_), Expr::Mul(_))
            | (Expr::Neg(_), Expr::Neg(_))
    )
}

/// The path of the smallest subterm of `old` outside which `new` is the same: descend
/// while exactly one child differs and the nodes are otherwise alike. Never into the
/// variable of a derivative, which is not a subterm.
pub(super) fn narrowest_change(old: &Expr, new: &Expr) -> Vec<usize> {
    let mut path = Vec::new();
    let (mut a, mut b) = (old, new);
    loop {
        if std::mem::discriminant(a) != std::mem::discriminant(b)
            || a.children().count() != b.children().count()
        {
            return path;
        }
        let mut differing = a.children().zip(b.children()).enumerate().filter(|(_, (x, y))| x != y);
        let (Some((i, (x, y))), None) = (differing.next(), differing.next()) else {
            return path;
        };
        let mut at = 0..;
        let alike = a.map_children(|c| if at.next() == Some(i) { y } else { c }.clone()) == *b;
        if !alike || (matches!(a, Expr::D(..)) && i == 1) {
            return path;
        }
        path.push(i);
        (a, b) = (x, y);
    }
}

/// `e` with the trivialities of ring arithmetic cleared: terms 0 and factors 1 dropped, a
/// product with a factor 0 is 0, the numbers of a sum added (`2 - 1`, `g - 1 + 1`), powers and divisors 1,
/// `--x`, and sums in sums and products in products flattened (`(2·x)·y` is `2·x·y`).
/// Derivatives, sums and calls are left as they are (inside and out).
pub fn without_trivia(e: &Expr) -> Expr {
    match e {
        Expr::Add(_) | Expr::Mul(_) | Expr::Neg(_) | Expr::Pow(..) | Expr::Div(..) => {
            cleared_node(&e.map_children(without_trivia))
        }
        _ => e.clone(),
    }
}

/// [`without_trivia`] at the root of `e`, whose children are cleared already.
fn cleared_node(e: &Expr) -> Expr {
    let num = |e: &Expr| e.as_num().cloned();
    match e {
        Expr::Add(ts) => {
            let ts = flattened(ts, |t| match t {
                Expr::Add(inner) => Some(inner),
                _ => None,
            });
            // The numbers of a sum added, where the first of them stood (`g - 1 + 1` is `g`,
            // `2 - 1` is `1`, and a sum of numbers to 0 is the empty sum, 0).
            let total = ts.iter().filter_map(num).fold(Rat::zero(), |a, b| a + b);
            let first = ts.iter().position(|t| num(t).is_some());
            let kept = ts.into_iter().enumerate().filter_map(|(i, t)| match num(&t) {
                None => Some(t),
                Some(_) if Some(i) == first && !total.is_zero() => Some(Expr::Num(total.clone())),
                Some(_) => None,
            });
            Expr::add(kept.collect())
        }
        Expr::Mul(fs) => {
            let fs = flattened(fs, |f| match f {
                Expr::Mul(inner) => Some(inner),
                _ => None,
            });
            if fs.iter().any(|f| num(f).is_some_and(|r| r.is_zero())) {
                return Expr::int(0);
            }
            Expr::mul(fs.into_iter().filter(|f| !num(f).is_some_and(|r| r.is_one())).collect())
        }
        Expr::Neg(x) => match &**x {
            Expr::Neg(y) => (**y).clone(),
            y => Expr::neg(y.clone()),
        },
        Expr::Pow(b, k) => match num(k) {
            Some(r) if r.is_one() => (**b).clone(),
            _ => Expr::pow((**b).clone(), (**k).clone()),
        },
        Expr::Div(a, b) => match num(b) {
            Some(r) if r.is_one() => (**a).clone(),
            _ => Expr::div((**a).clone(), (**b).clone()),
        },
        _ => e.clone(),
    }
}

/// The terms of a sum (or factors of a product), a part that is itself a sum (a product)
/// spliced in: `inner` gives its parts.
fn flattened(parts: &[Expr], inner: fn(&Expr) -> Option<&[Expr]>) -> Vec<Expr> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match inner(part) {
            Some(nested) => out.extend_from_slice(nested),
            None => out.push(part.clone()),
        }
    }
    out
}

/// Replace each Kronecker delta of two numbers by its value (`delta(3,1)` is 0,
/// `delta(2,2)` is 1); whether there was one.
pub fn evaluate_concrete_deltas(d: &mut Driver) -> Result<bool, EngineError> {
    let mut any = false;
    while let Some(path) =
        find_path(d.current(), &|t| matches!(t, Expr::Delta(Index::Int(_), Index::Int(_))))
    {
        let Some(Expr::Delta(a, b)) = d.at(&path) else { break };
        let value = Expr::int(i64::from(a == b));
        d.ring(&path, value)?;
        any = true;
    }
    Ok(any)
}

/// The path to the first subterm (pre-order) that `wanted` picks.
pub(super) fn find_path(e: &Expr, wanted: &dyn Fn(&Expr) -> bool) -> Option<Vec<usize>> {
    find_path_within(e, wanted, &|_| true)
}

/// [`find_path`], looking inside only the subterms `enter` lets in (a subterm it keeps
/// out may still be the one found).
pub(super) fn find_path_within(
    e: &Expr,
    wanted: &dyn Fn(&Expr) -> bool,
    enter: &dyn Fn(&Expr) -> bool,
) -> Option<Vec<usize>> {
    if wanted(e) {
        return Some(Vec::new());
    }
    if !enter(e) {
        return None;
    }
    e.children().enumerate().find_map(|(i, c)| {
        let mut p = find_path_within(c, wanted, enter)?;
        p.insert(0, i);
        Some(p)
    })
}

/// Whether `e` is built by ring operations at its root.
pub fn is_ring_node(e: &Expr) -> bool {
    match e {
        Expr::Num(_) | Expr::Add(_) | Expr::Mul(_) | Expr::Div(_, _) | Expr::Neg(_) => true,
        Expr::Pow(_, k) => k.as_num().is_some_and(|r| r.is_integer()),
        _ => false,
    }
}

/// The terms `e` divides by (`b` of `a/b`, `b` of `b^-2`), in order.
pub fn denominators(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Div(_, b) => out.push((**b).clone()),
        Expr::Pow(b, k) if k.as_num().is_some_and(|r| r.is_negative()) => out.push((**b).clone()),
        _ => {}
    }
    e.children().for_each(|c| denominators(c, out));
}

/// Tidy the subterm at `path`: atoms inside first, then the region as a whole.
pub fn tidy(d: &mut Driver, path: &[usize]) -> Result<(), EngineError> {
    let Some(e) = d.at(path).cloned() else {
        return Ok(());
    };
    if is_ring_node(&e) {
        let mut atoms = Vec::new();
        region_atoms(&e, &mut path.to_vec(), &mut atoms);
        for a in atoms {
            tidy(d, &a)?;
        }
        let Some(e) = d.at(path).cloned() else {
            return Ok(());
        };
        if let Some(best) = best_form(&e) {
            if best != e {
                d.ring(path, best)?;
            }
        }
        super::clearing::clear_brackets(d, path);
    } else {
        // A shared child with no algebra inside has nothing to tidy.
        let shared = argument_arcs(&e);
        for i in 0..e.children().count() {
            if shared.get(i).is_some_and(|a| d.ring_free(a)) {
                continue;
            }
            let mut p = path.to_vec();
            p.push(i);
            tidy(d, &p)?;
        }
    }
    Ok(())
}

/// The children of a call, a power, a derivative or a sum, each behind its `Arc`, in the
/// order of [`Expr::children`]; none for other nodes.
pub(super) fn argument_arcs(e: &Expr) -> Vec<&std::sync::Arc<Expr>> {
    match e {
        Expr::Call(_, a) => vec![a],
        Expr::Pow(a, b) | Expr::D(a, b) => vec![a, b],
        Expr::Sum(s) => vec![&s.body],
        _ => Vec::new(),
    }
}

/// Paths of the maximal non-ring subterms of the region rooted at `e`.
fn region_atoms(e: &Expr, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if !is_ring_node(e) {
        out.push(path.clone());
        return;
    }
    for (i, c) in e.children().enumerate() {
        path.push(i);
        region_atoms(c, path, out);
        path.pop();
    }
}

/// `c` when the quotient is the constant `c` (the numerator is `c` times the denominator).
pub(super) fn constant_ratio(f: &crate::kernel::ring::Frac) -> Option<Rat> {
    let c = &f.num.0.last()?.1 / &f.den.0.last()?.1;
    let scaled: Vec<_> = f.den.0.iter().map(|(m, k)| (m.clone(), k * &c)).collect();
    (scaled == f.num.0).then_some(c)
}

/// Whether `e` is a sum with a division inside (`1 + 1/(1 + x)`): a nested fraction.
pub(super) fn holds_division(e: &Expr) -> bool {
    matches!(e, Expr::Add(ts) if ts.iter().any(|t| t.any(&mut |u| matches!(u, Expr::Div(..)))))
}

/// Candidate forms of a region, smallest first; ties keep the earlier candidate.
pub fn candidates(e: &Expr) -> Vec<Expr> {
    let mut out = Vec::new();
    // Nested fractions that cancel (`1/(1 + 1/e) - e/(e + 1)`) are seen only by the full
    // rational normal form: worth computing when a sum holds a division. For a sum, or
    // where the normal form is small: the full form of a product of k nested fractions
    // has degree k times theirs.
    let small = e.any(&mut |t| holds_division(t))
        && super::poly::quotient_degrees(e, super::poly::MAX_DEGREE).is_some();
    let nested = holds_division(e) || small;
    if nested {
        if let Ok(f) = crate::kernel::ring::normalize(e, 0, true) {
            if f.num.is_zero() {
                out.push(Expr::int(0));
            } else if let Some(c) = constant_ratio(&f) {
                out.push(Expr::Num(c));
            }
        }
    }
    let Ok(structural) = to_terms(e, false) else {
        return out;
    };
    // An expansion past a few terms per node of `e` is no smaller candidate, nor is what
    // it factors to, but it costs 2^k for k sums in distinct atoms.
    let budget = (4 * e.size()).max(64);
    let b = to_expr(&structural);
    out.push(b.clone());
    if let [t] = structural.as_slice() {
        if let Some(c) = super::algebra::cancel(t) {
            out.push(to_expr(&[c]));
        }
        out.extend(denominator_multiplied_out(t));
        out.extend(factored_inside(t));
    }
    if let Some(f) = factor(&structural) {
        out.push(f);
    }
    out.extend(over_common_denominator(&structural, budget));
    if let Some(f) = out.last().and_then(sign_into_factor) {
        out.push(f);
    }
    if let Some(Ok(expanded)) = small_expansion(&structural).then(|| expanded_within(&b, budget)) {
        out.push(to_expr(&expanded));
        if let Some(f) = factor(&expanded) {
            out.extend(sign_into_factor(&f));
            out.push(f);
        }
        out.extend(over_common_denominator(&expanded, budget));
        out.extend(collected_on_calls(&expanded));
    }
    out.extend(reduced(&out));
    if small {
        // In several variables only where every form so far has a fraction inside a sum
        // (`1/(a*(1 + x^2/a^2))`): elsewhere the forms at hand read better.
        let all_compound = out.iter().all(|c| compound_fractions(c) > 0);
        out.extend(super::poly::cleared_forms(e, all_compound));
    }
    if let Some(inner) = smallest(out.clone()).and_then(|best| inner_sums_multiplied_out(&best)) {
        out.push(inner);
    }
    out
}

/// `e` with each sum below its top (and not inside a call or a symbolic power) written
/// multiplied out, or that factored, where either is smaller: `3*(2*x*(x - 1) - x^2 - 1)/(x - 1)^4`
/// → `3*(x^2 - 2*x - 1)/(x - 1)^4`. The candidates see only the top's terms; a factor's
/// own terms are seen here. `None` when nothing changes.
fn inner_sums_multiplied_out(e: &Expr) -> Option<Expr> {
    // A product of sums to multiply out among a sum's terms: `2*x*(x - 1)`, `-(x + 1)^2`.
    fn holds_product_of_sums(e: &Expr) -> bool {
        let is_sum_power = |f: &Expr| match f {
            Expr::Add(_) => true,
            Expr::Pow(b, k) => {
                matches!(**b, Expr::Add(_))
                    && k.as_num().is_some_and(|k| k.is_integer() && k.is_positive())
            }
            _ => false,
        };
        let Expr::Add(ts) = e else { return false };
        ts.iter().any(|t| {
            let t = if let Expr::Neg(u) = t { &**u } else { t };
            match t {
                Expr::Mul(fs) => fs.iter().any(is_sum_power),
                Expr::Pow(..) => is_sum_power(t),
                _ => false,
            }
        })
    }
    // `None` where nothing below changes, so an untouched region is walked, not rebuilt.
    fn go(e: &Expr, top: bool) -> Option<Expr> {
        if !is_ring_node(e) {
            return None;
        }
        let changed: Vec<Option<Expr>> = e.children().map(|c| go(c, false)).collect();
        let rebuilt = changed.iter().any(Option::is_some).then(|| {
            // A factor multiplied out into a product (`x^x*a` beside `a`) joins its parent's
            // factors, with which its own combine, as the product is read again: `x^x*a^2`.
            let spliced = matches!(e, Expr::Mul(_))
                && changed.iter().any(|c| matches!(c, Some(Expr::Mul(_))));
            let mut next = changed.into_iter();
            let node = e.map_children(|c| next.next().flatten().unwrap_or_else(|| c.clone()));
            match spliced.then(|| to_terms(&node, false)) {
                Some(Ok(ts)) if ts.len() == 1 => to_expr(&ts),
                _ => node,
            }
        });
        let node = rebuilt.as_ref().unwrap_or(e);
        if top || !holds_product_of_sums(node) {
            return rebuilt;
        }
        let multiplied = expanded_within(node, (4 * node.size()).max(16)).ok().and_then(|ts| {
            let mut forms = vec![to_expr(&ts)];
            forms.extend(factor(&ts));
            smallest(forms).filter(|f| f.size() < node.size())
        });
        multiplied.or(rebuilt)
    }
    go(e, true)
}

/// `t` with the common factor taken out of a sum it multiplies:
/// `α*(2*σ*log(σ)*(1 - σ)^2 - (1 - σ)^3)` as `α*(1 - σ)^2*(2*σ*log(σ) - (1 - σ))`.
fn factored_inside(t: &Term) -> Option<Expr> {
    for (k, f) in t.factors.iter().enumerate() {
        if f.exp != 1 || !matches!(f.base, Expr::Add(_)) {
            continue;
        }
        let Ok(terms) = to_terms(&f.base, false) else { continue };
        let Some(factored) = factor(&terms) else { continue };
        let Ok(mut inner) = to_terms(&factored, false) else { continue };
        let [inner] = inner.as_mut_slice() else { continue };
        let mut rest = Term { coeff: t.coeff.clone(), factors: t.factors.clone() };
        rest.factors.remove(k);
        return Some(to_expr(&[rest.mul(inner)]));
    }
    None
}

/// A sum with the terms that share a function call collected over it, one candidate per
/// call that two or more terms share, but not all (a factor of every term is [`factor`]'s):
/// `s - a*s*exp(u) + a*exp(u)` as `s + a*exp(u)*(1 - s)`. Calls only: a polynomial
/// collected over its variable is Horner's form, not a textbook's.
fn collected_on_calls(terms: &[Term]) -> Vec<Expr> {
    let power_in =
        |t: &Term, key: &Key| t.factors.iter().find(|f| f.key == *key && f.exp > 0).map(|f| f.exp);
    let mut calls: Vec<&Factor> = Vec::new();
    for f in terms.iter().flat_map(|t| &t.factors) {
        if f.exp > 0 && matches!(f.base, Expr::Call(..)) && !calls.iter().any(|c| c.key == f.key) {
            calls.push(f);
        }
    }
    let mut out = Vec::new();
    for call in calls.into_iter().take(MAX_COLLECTED_CALLS) {
        let count = terms.iter().filter(|t| power_in(t, &call.key).is_some()).count();
        if count < 2 || count == terms.len() {
            continue;
        }
        let Some(least) = terms.iter().filter_map(|t| power_in(t, &call.key)).min() else {
            continue;
        };
        let (mut inside, mut rest) = (Vec::new(), Vec::new());
        for t in terms {
            if power_in(t, &call.key).is_none() {
                rest.push(t.clone());
                continue;
            }
            let mut t = t.clone();
            t.factors.iter_mut().filter(|f| f.key == call.key).for_each(|f| f.exp -= least);
            t.factors.retain(|f| f.exp != 0);
            inside.push(t);
        }
        // The collected terms' own common factor comes out too: `a*exp(u)*(1 - s)`.
        let inner = factor(&inside).unwrap_or_else(|| to_expr(&inside));
        let mut collected = match to_terms(&inner, false) {
            Ok(ts) if ts.len() == 1 => ts[0].clone(),
            _ => Term::base(inner),
        };
        collected.factors.push(Factor {
            base: call.base.clone(),
            exp: least,
            key: call.key.clone(),
        });
        rest.push(collected);
        out.push(to_expr(&rest));
    }
    out
}

/// Most distinct calls [`collected_on_calls`] tries, each a candidate of its own.
const MAX_COLLECTED_CALLS: usize = 4;

/// Most sum factors (counted with their exponents) that one term may multiply out in the
/// expanded candidate. Past it the expansion is costly to compute and for the kernel to
/// check, and its coefficients grow with the factorials: the derivative of a product of 80
/// linear factors stays a sum of products.
const MAX_EXPANDED_SUM_FACTORS: i64 = 12;

/// Whether multiplying out each term of `terms` stays within [`MAX_EXPANDED_SUM_FACTORS`].
fn small_expansion(terms: &[Term]) -> bool {
    let sum_factors = |t: &Term| -> i64 {
        t.factors.iter().filter(|f| matches!(f.base, Expr::Add(_))).map(|f| f.exp.abs()).sum()
    };
    terms.iter().all(|t| sum_factors(t) <= MAX_EXPANDED_SUM_FACTORS)
}

/// `t` with the sums it divides by multiplied out into one polynomial: `2/((1 - x)*(1 + x))`
/// as `2/(1 - x^2)`; a candidate only where there are two or more such sums and the
/// product has no more terms than its widest factor.
fn denominator_multiplied_out(t: &Term) -> Option<Expr> {
    let is_sum_divisor = |f: &Factor| f.exp < 0 && matches!(f.base, Expr::Add(_));
    let divisors: Vec<Expr> = t
        .factors
        .iter()
        .filter(|f| is_sum_divisor(f))
        .map(|f| super::algebra::power(&f.base, -f.exp))
        .collect();
    if divisors.len() < 2 {
        return None;
    }
    let widest = divisors.iter().filter_map(|d| to_terms(d, true).ok()).map(|ts| ts.len()).max();
    let product = to_terms(&Expr::Mul(divisors.into()), true).ok()?;
    // Only where terms cancel (`(1 - x)*(1 + x)`): `(x + 1)*(x + 2)` stays a product.
    if product.len() > widest? {
        return None;
    }
    let product = to_expr(&product);
    let mut out = Term { coeff: t.coeff.clone(), factors: vec![] };
    out.factors.extend(t.factors.iter().filter(|f| !is_sum_divisor(f)).cloned());
    let mut divisor = Term::base(product);
    divisor.factors.iter_mut().for_each(|f| f.exp = -1);
    Some(to_expr(&[out.mul(&divisor)]))
}

/// The factor `(-terms)^exp`: a sum factor with the sign of each term changed.
fn negated_factor(terms: Vec<Term>, exp: i64) -> Factor {
    let negated: Vec<Term> = terms
        .into_iter()
        .map(|mut u| {
            u.coeff = -u.coeff;
            u
        })
        .collect();
    let base = to_expr(&negated);
    Factor { base: base.clone(), exp, key: Key::of(base) }
}

/// σ or tanh of something: the functions whose derivative identities have the shapes
/// `σ*(1 - σ)` and `1 - tanh^2`.
fn is_identity_atom(x: &Expr) -> bool {
    use crate::expr::Func;
    matches!(x, Expr::Call(Func::Sigmoid | Func::Tanh, _))
}

/// Whether a factor of the product `e` is a sum [`textbook_signs`] may change: one led by
/// a negative term (a sum led by a positive term where it has one is not all negative), or
/// one holding σ or tanh. A cheap look before the real one.
fn has_sign_candidate(e: &Expr) -> bool {
    let negative = |x: &Expr| match x {
        Expr::Neg(_) => true,
        Expr::Num(c) => c.is_negative(),
        Expr::Mul(fs) => fs.first().and_then(Expr::as_num).is_some_and(Rat::is_negative),
        _ => false,
    };
    match e {
        Expr::Neg(x) | Expr::Pow(x, _) => has_sign_candidate(x),
        Expr::Mul(fs) => fs.iter().any(has_sign_candidate),
        Expr::Div(a, b) => has_sign_candidate(a) || has_sign_candidate(b),
        Expr::Add(xs) => xs.first().is_some_and(negative) || e.any(&mut |x| is_identity_atom(x)),
        _ => false,
    }
}

/// Signs as a textbook writes them, at the same value:
/// - `(2*t - 1)*(t^2 - 1)` as `(1 - 2*t)*(1 - t^2)` when `t` is σ or tanh of something, the
///   shapes of their derivative identities `σ' = σ*(1 - σ)` and `tanh' = 1 - tanh^2`; signs
///   change in pairs or at even powers. A minus per factor is the price of that shape;
/// - `x^-x*(-log(x) - 1)` as `-x^-x*(log(x) + 1)`: a factor of negative terms only gives
///   its sign to the product.
fn textbook_signs(e: &Expr) -> Option<Expr> {
    let negated_quotient = matches!(e, Expr::Neg(x) if matches!(**x, Expr::Div(_, _)));
    if !matches!(e, Expr::Mul(_) | Expr::Div(_, _) | Expr::Neg(_))
        || !(has_sign_candidate(e) || negated_quotient)
    {
        return None;
    }
    let ts = to_terms(e, false).ok()?;
    let [t] = ts.as_slice() else { return None };
    let sum_terms = |f: &Factor| match &f.base {
        Expr::Add(_) => to_terms(&f.base, false).ok(),
        _ => None,
    };
    // `u + c`: positive terms `u` and one negative number `c`.
    let less_a_number = |terms: &[Term]| {
        terms.iter().filter(|u| u.factors.is_empty()).count() == 1
            && terms.iter().all(|u| u.coeff.is_negative() == u.factors.is_empty())
    };
    // ... with `u` in σ or tanh alone.
    let constant_last = |terms: &[Term]| {
        less_a_number(terms)
            && terms.iter().flat_map(|u| &u.factors).all(|g| is_identity_atom(&g.base))
    };
    let all_negative = |terms: &[Term]| terms.iter().all(|u| u.coeff.is_negative());
    let (mut even, mut odd, mut negative) = (Vec::new(), Vec::new(), Vec::new());
    for (i, f) in t.factors.iter().enumerate() {
        let Some(terms) = sum_terms(f) else { continue };
        if all_negative(&terms) {
            negative.push((i, terms));
        } else if constant_last(&terms) {
            if f.exp % 2 == 0 {
                even.push((i, terms))
            } else {
                odd.push((i, terms))
            }
        }
    }
    let pairs = odd.len() / 2 * 2;
    odd.truncate(pairs);
    let mut flipped = t.clone();
    // A factor of negative terms at an odd power gives its sign to the coefficient.
    for (i, _) in &negative {
        if t.factors[*i].exp % 2 != 0 {
            flipped.coeff = -flipped.coeff.clone();
        }
    }
    let mut changed = false;
    for (i, terms) in even.into_iter().chain(odd).chain(negative) {
        flipped.factors[i] = negated_factor(terms, t.factors[i].exp);
        changed = true;
    }
    // `-(x^2 - 1)/(x^2 + 1)^2` as `(1 - x^2)/(x^2 + 1)^2`: a negated quotient gives its
    // sign to a numerator of positive terms less a number.
    if !changed && negated_quotient && flipped.coeff.is_negative() {
        let numerator = t.factors.iter().enumerate().filter(|(_, f)| f.exp == 1);
        let sum = numerator
            .filter_map(|(i, f)| Some((i, sum_terms(f)?)))
            .find(|(_, ts)| less_a_number(ts));
        if let Some((i, terms)) = sum {
            flipped.coeff = -flipped.coeff.clone();
            flipped.factors[i] = negated_factor(terms, 1);
            changed = true;
        }
    }
    changed.then(|| term_expr(&flipped))
}

/// Whether a power with an integer exponent of at least `least` lies inside a sum (in one
/// walk: a search from each sum would cost the square of the depth in nested terms).
fn power_in_sum(e: &Expr, least: &Rat, in_sum: bool) -> bool {
    let power = |k: &Expr| k.as_num().is_some_and(|r| r.is_integer() && r >= least);
    if in_sum && matches!(e, Expr::Pow(_, k) if power(k)) {
        return true;
    }
    let in_sum = in_sum || matches!(e, Expr::Add(_));
    e.children().any(|c| power_in_sum(c, least, in_sum))
}

/// Candidates that are one term with polynomial factors, reduced: `(2*x + 2)/(x^2 + 2*x + 1)`
/// → `2/(x + 1)`, `4*(x^3 - 3*x^2 + 3*x - 1)` → `4*(x - 1)^3`.
fn reduced(cands: &[Expr]) -> Vec<Expr> {
    // Reduction pays where a polynomial may cancel against another or factor: a quotient
    // with sums above and a power-holding sum below (`(2*x + 2)/(x^2 + 2*x + 1)`), or a
    // sum of degree three or more (`4*x^3 - 12*x^2 + 12*x - 4`). Anything else is left
    // alone, because the search is costly.
    let sum_with_power =
        |e: &Expr, least: i64| power_in_sum(e, &Rat::from_integer(least.into()), false);
    let has_sum = |e: &Expr| e.any(&mut |t| matches!(t, Expr::Add(_)));
    let worth = |c: &Expr| {
        sum_with_power(c, 3)
            || c.any(&mut |t| matches!(t, Expr::Div(a, b) if has_sum(a) && sum_with_power(b, 2)))
    };
    if !cands.iter().any(|c| worth(c)) {
        return vec![];
    }
    let terms: Vec<Vec<Term>> = cands.iter().filter_map(|c| to_terms(c, false).ok()).collect();
    // A sum is a polynomial too (`1 - 2*t - t^2 + 2*t^3` → `(2*t - 1)*(t^2 - 1)`), worth
    // factoring only when no candidate is a product already: a factored `σ*(1 - σ)*(1 - 2*σ)`
    // keeps the shape of its factors.
    let products = terms.iter().any(|ts| ts.len() == 1);
    let known: Vec<Expr> = terms
        .iter()
        .filter(|ts| ts.len() == 1)
        .flat_map(|ts| &ts[0].factors)
        .filter(|f| matches!(f.base, Expr::Add(_)))
        .map(|f| f.base.clone())
        .collect();
    let mut out = Vec::new();
    for ts in &terms {
        let t = match ts.as_slice() {
            [t] => t.clone(),
            _ if products => continue,
            _ => Term::base(to_expr(ts)),
        };
        out.extend(super::poly::reduced_forms(&t, &known).iter().map(term_expr));
    }
    out
}

/// `-2*x*(y - s)` as `2*x*(s - y)`: a negative product takes its sign into a sum factor,
/// one that does not start with a number (`1 - σ(u)` keeps its textbook shape) if it can.
fn sign_into_factor(e: &Expr) -> Option<Expr> {
    let inner = e.unneg()?;
    let Ok(ts) = to_terms(&inner, false) else {
        return None;
    };
    let [t] = ts.as_slice() else { return None };
    let sums: Vec<usize> = (0..t.factors.len())
        .filter(|&i| t.factors[i].exp == 1 && matches!(t.factors[i].base, Expr::Add(_)))
        .collect();
    let leads_with_number =
        |i: &usize| matches!(&t.factors[*i].base, Expr::Add(xs) if xs[0].as_num().is_some());
    // Only a sum with a negative term: `2 + 1/x` would become `-2 - 1/x`.
    let mixed = |i: &&usize| matches!(&t.factors[**i].base, Expr::Add(xs) if xs.iter().any(|x| x.unneg().is_some()));
    let sums: Vec<usize> = sums.iter().filter(mixed).copied().collect();
    let pick = sums.iter().rev().find(|i| !leads_with_number(i)).or(sums.last())?;
    let terms = to_terms(&t.factors[*pick].base, false).ok()?;
    let mut flipped = t.clone();
    flipped.factors[*pick] = negated_factor(terms, 1);
    Some(term_expr(&flipped))
}

/// `a/b ± c/d` as one fraction `(a*d ± c*b)/(b*d)`, the numerator as it stands,
/// multiplied out (within `budget` terms), and factored: `(1 - t)/(1 - p) - t/p` →
/// `(p - t)/(p*(1 - p))`.
/// Most terms [`over_common_denominator`] brings over one denominator: the quotient rule
/// multiplied out down a chain of ten quotients leaves about 50 terms over distinct
/// denominators.
const MAX_COMMON_DENOMINATOR_TERMS: usize = 64;

fn over_common_denominator(terms: &[Term], budget: usize) -> Vec<Expr> {
    // Worth it for a few terms over scalar denominators; sums over an index (the softmax
    // family) do not cancel this way and would cost much of the derivation's time.
    let dens = || terms.iter().flat_map(|t| &t.factors).filter(|f| f.exp < 0);
    if !(2..=MAX_COMMON_DENOMINATOR_TERMS).contains(&terms.len())
        || dens().next().is_none()
        || dens().any(|f| f.base.any(&mut |e| matches!(e, Expr::Sum(_))))
    {
        return vec![];
    }
    let (lcd, num) = over_least_common_denominator(terms);
    let Ok(inverse) = lcd.pow(-1) else {
        return vec![];
    };
    let mut numerators = vec![num.clone()];
    if let Ok(expanded) = expanded_within(&to_expr(&num), budget) {
        numerators.push(expanded);
    }
    let mut out = Vec::new();
    for n in numerators {
        // Factored first: at equal size `-(x + 2)/x^3` reads better than `(-x - 2)/x^3`.
        let mut forms: Vec<Expr> = factor(&n).into_iter().collect();
        forms.push(to_expr(&n));
        for f in forms {
            let Ok(ts) = to_terms(&f, false) else {
                continue;
            };
            let [t] = ts.as_slice() else {
                // `-(x + 2)` over the denominator is `-(x + 2)/x^3`, the sign outside.
                let whole = match f.unneg() {
                    Some(inner) => {
                        let mut t = Term::base(inner).mul(&inverse);
                        t.coeff = -t.coeff;
                        t
                    }
                    None => Term::base(f).mul(&inverse),
                };
                out.extend(super::algebra::cancel(&whole).map(|c| to_expr(&[c])));
                out.push(term_expr(&whole));
                continue;
            };
            let whole = t.mul(&inverse);
            out.extend(super::algebra::cancel(&whole).map(|c| to_expr(&[c])));
            out.push(term_expr(&whole));
        }
    }
    out
}

/// The least common denominator of `terms` (each base at its deepest power) and the
/// numerator over it: `1/s - x^2/s^3` → `(s^3, s^2 - x^2)`.
pub(super) fn over_least_common_denominator(terms: &[Term]) -> (Term, Vec<Term>) {
    let mut den: Vec<Factor> = Vec::new();
    for f in terms.iter().flat_map(|t| &t.factors).filter(|f| f.exp < 0) {
        match den.iter_mut().find(|g| g.key == f.key) {
            Some(g) => g.exp = g.exp.max(-f.exp),
            None => den.push(Factor { exp: -f.exp, ..f.clone() }),
        }
    }
    let lcd = Term { coeff: One::one(), factors: den };
    let num = combine(terms.iter().map(|t| t.mul(&lcd)).collect());
    (lcd, num)
}

/// The smallest candidate form of a region, with its signs as a textbook writes them
/// (chosen after the size comparison, which would otherwise prefer `2*t - 1` to `1 - 2*t`).
pub fn best_form(e: &Expr) -> Option<Expr> {
    best_of(candidates(e))
}

/// The smallest of `cands`, its numerators and signs set as a textbook writes them.
pub fn best_of(cands: Vec<Expr>) -> Option<Expr> {
    let best = smallest(cands)?;
    let best = whole_numerators(&best).unwrap_or(best);
    Some(textbook_signs(&best).unwrap_or(best))
}

/// A quotient whose numerator is a sum with fractional coefficients, written with whole
/// ones and the common denominator moved below: `(3/2*x + 1)/sqrt(x + 1)` as
/// `(3*x + 2)/(2*sqrt(x + 1))`. Chosen after the size comparison, which counts the
/// fraction bar in `3/2` as no more than the `2*` below.
fn whole_numerators(e: &Expr) -> Option<Expr> {
    if !matches!(e, Expr::Div(..) | Expr::Neg(_)) {
        return None;
    }
    let ts = to_terms(e, false).ok()?;
    let [t] = ts.as_slice() else { return None };
    if !t.factors.iter().any(|f| f.exp < 0) {
        return None;
    }
    let mut whole = t.clone();
    let mut changed = false;
    for f in whole.factors.iter_mut().filter(|f| f.exp == 1) {
        let Expr::Add(_) = f.base else { continue };
        let Ok(terms) = to_terms(&f.base, false) else { continue };
        // A numerator with fractions of its own is a step on the way, not a result.
        if terms.iter().any(|u| u.factors.iter().any(|g| g.exp < 0)) {
            continue;
        }
        // The least common denominator of the coefficients.
        let l = Rat::from_integer(super::algebra::content(&terms).denom().clone());
        if l.is_one() {
            continue;
        }
        let scaled: Vec<Term> = terms
            .iter()
            .map(|u| Term { coeff: &u.coeff * &l, factors: u.factors.clone() })
            .collect();
        let base = to_expr(&scaled);
        *f = Factor { key: Key::of(base.clone()), base, exp: 1 };
        whole.coeff = &whole.coeff / &l;
        changed = true;
    }
    changed.then(|| term_expr(&whole))
}

/// The smallest candidate; among rational functions of plain variables, the one with the
/// fewest compound fractions ([`compound_fractions`]) first: `-(2*x + 1)/(x^2*(x + 1)^2)`,
/// not the shorter `-(2 + 1/x)/(x*(x + 1)^2)`. (Where sums or functions stand, a form with
/// an inner fraction is often one a defined name folds back into.)
pub fn smallest(cands: Vec<Expr>) -> Option<Expr> {
    let mut best: Option<(usize, usize, Expr)> = None;
    for c in cands {
        let plain = !c.any(&mut |t| matches!(t, Expr::Sum(_) | Expr::Call(..) | Expr::D(..)));
        let key = (if plain { compound_fractions(&c) } else { 0 }, c.size());
        if best.as_ref().is_none_or(|(f, s, _)| key < (*f, *s)) {
            best = Some((key.0, key.1, c));
        }
    }
    best.map(|(_, _, e)| e)
}

/// How many fractions stand in a sum inside a quotient's numerator or denominator (through
/// products, signs and whole powers; a function's argument is a term of its own): one in
/// `(2 + 1/x)/x^2` and in `1/(a*(1 + x^2/a^2))`, none in a textbook's form.
fn compound_fractions(e: &Expr) -> usize {
    fn walk(e: &Expr, in_quotient: bool, in_its_sum: bool) -> usize {
        match e {
            Expr::Div(a, b) => {
                usize::from(in_its_sum) + walk(a, true, false) + walk(b, true, false)
            }
            Expr::Add(ts) => ts.iter().map(|t| walk(t, in_quotient, in_quotient)).sum(),
            Expr::Mul(fs) => fs.iter().map(|f| walk(f, in_quotient, in_its_sum)).sum(),
            Expr::Neg(a) => walk(a, in_quotient, in_its_sum),
            Expr::Pow(b, k) if k.as_num().is_some_and(|r| r.is_integer()) => {
                walk(b, in_quotient, in_its_sum) + walk(k, false, false)
            }
            _ => e.children().map(|c| walk(c, false, false)).sum(),
        }
    }
    walk(e, false, false)
}

/// Paths of all sums, innermost first.
fn sum_paths(e: &Expr, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    for (i, c) in e.children().enumerate() {
        path.push(i);
        sum_paths(c, path, out);
        path.pop();
    }
    if matches!(e, Expr::Sum(_)) {
        out.push(path.clone());
    }
}

fn all_sums(e: &Expr) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    sum_paths(e, &mut Vec::new(), &mut out);
    out
}

/// Apply sum moves until none applies.
fn move_sums(d: &mut Driver) -> Result<(), EngineError> {
    move_sums_collapsing(d, false)
}

/// Deltas a result still has on summation indices (`Σ_i g_i(δ_ij − 1/n)`, split only if
/// the pieces were smaller): the sums split wherever that collapses one, and the result
/// simplified and folded again. Whether any collapsed.
pub fn collapse_remaining(d: &mut Driver) -> Result<bool, EngineError> {
    let before = deltas_in_sums(d.current(), &mut Vec::new());
    if before == 0 {
        return Ok(false);
    }
    let mut trial = d.clone();
    move_sums_collapsing(&mut trial, true)?;
    super::simplify_current(&mut trial)?;
    if deltas_in_sums(trial.current(), &mut Vec::new()) < before {
        *d = trial;
        return Ok(true);
    }
    Ok(false)
}

/// [`move_sums`]; with `collapse`, a split that leaves fewer deltas on summation indices
/// is kept even if larger.
fn move_sums_collapsing(d: &mut Driver, collapse: bool) -> Result<(), EngineError> {
    // The moves judge sizes differently (a split keeps what is smaller once tidied, taking
    // a constant out is always done), so they can go round: `2*sum_i(u_i)` split and
    // regrouped as `sum_i(2*u_i)`, the 2 taken out again. A term met before ends the
    // moves where it was first met (a proof's steps are shared, so keeping one is cheap).
    let mut met: Vec<Driver> = Vec::new();
    let mut went_round = false;
    'again: for _ in 0..256 {
        if let Some(first) = met.iter().find(|m| m.current() == d.current()) {
            *d = first.clone();
            went_round = true;
            break;
        }
        met.push(d.clone());
        for path in all_sums(d.current()) {
            if move_sum(d, &path, true, collapse)? {
                continue 'again;
            }
        }
        break;
    }
    // A sum going round must not keep another from collapsing (the squared error beside
    // `lambda*sum_i(sum_r(U_{i,r}^2))`): a move that leaves fewer deltas on summation
    // indices is still taken, so this ends.
    while went_round {
        went_round = false;
        let before = deltas_in_sums(d.current(), &mut Vec::new());
        for path in all_sums(d.current()) {
            let mut trial = d.clone();
            if move_sum(&mut trial, &path, true, collapse)?
                && deltas_in_sums(trial.current(), &mut Vec::new()) < before
            {
                *d = trial;
                went_round = true;
                break;
            }
        }
    }
    Ok(())
}

/// Bind a sum rule's index `k` and range `A..B` to those of `s`.
pub(super) fn bind_sum(step: &mut Step, s: &Sum) {
    step.binding.indices.insert("k".into(), Index::Name(s.index.clone()));
    step.binding.bounds.insert("A".into(), s.lo.clone());
    step.binding.bounds.insert("B".into(), s.hi.clone());
}

fn depends_on_index(e: &Expr, k: &str) -> bool {
    e.free_indices().contains(k)
}

/// One move on the sum at `path`; whether anything changed. With `outward`, a split is
/// judged after the enclosing sums have moved too (a split inside may let one outside
/// split and collapse).
fn move_sum(
    d: &mut Driver,
    path: &[usize],
    outward: bool,
    collapse: bool,
) -> Result<bool, EngineError> {
    let Some(Expr::Sum(s)) = d.at(path).cloned() else {
        return Ok(false);
    };
    let body_path: Vec<usize> = path.iter().copied().chain([0]).collect();
    let Ok(mut terms) = to_terms(&s.body, false) else {
        return Ok(false);
    };
    if terms.len() == 1 && !single_term_has_move(&s, &terms[0]) {
        // A product with a sum inside may split once multiplied out.
        match to_terms(&s.body, true) {
            Ok(expanded) if expanded.len() > 1 => terms = expanded,
            _ => return Ok(false),
        }
    }
    match terms.len() {
        0 => {
            // A sum of zeros.
            d.ring(&body_path, Expr::int(0))?;
            let mut step = step_with(RuleId::SumOfConstant, path, &[("C", &Expr::int(0))]);
            bind_sum(&mut step, &s);
            d.apply(step)?;
            Ok(true)
        }
        1 => single_term_move(d, path, &s, &terms[0]),
        _ => {
            // Splitting pays only if the pieces simplify: try it, keep it if smaller.
            let mut trial = d.clone();
            let pieces: Vec<Expr> = terms.iter().map(|t| arranged(t, &s.index)).collect();
            let n = pieces.len();
            trial.ring(&body_path, Expr::Add(pieces.into()))?;
            trial.apply(RuleId::SumLinearity.step(path.to_vec()))?;
            for i in 0..n {
                let mut p: Vec<usize> = path.iter().copied().chain([i]).collect();
                for _ in 0..8 {
                    // Follow the sum through a sign taken out of it.
                    if let Some(Expr::Neg(inner)) = trial.at(&p) {
                        if matches!(**inner, Expr::Sum(_)) {
                            p.push(0);
                        }
                    }
                    if !matches!(trial.at(&p), Some(Expr::Sum(_)))
                        || !move_sum(&mut trial, &p, false, collapse)?
                    {
                        break;
                    }
                }
            }
            if outward {
                for end in (0..path.len()).rev() {
                    let outer = &path[..end];
                    if matches!(trial.at(outer), Some(Expr::Sum(_))) {
                        move_sum(&mut trial, outer, false, collapse)?;
                    }
                }
            }
            use_hypotheses(&mut trial)?;
            tidy(&mut trial, &[])?;
            // A piece may be a sum that unfolding settles (`sum_i(a_i)` is 1 for a softmax).
            if !d.ctx().definitions.is_empty()
                && super::identities::sums_of_definitions(&mut trial)?
            {
                tidy(&mut trial, &[])?;
            }
            if outward {
                // The pieces may regroup into a sum that folds (`sum_i(a_i*W_{i,j}*(v_i - g))`).
                super::sums::combine(&mut trial)?;
            }
            let mut baseline = d.clone();
            tidy(&mut baseline, &[])?;
            // Compared folded: a piece may be a defined name's body (`sum_i(v_i*a_i)` is `g`).
            // With `collapse`, a delta left on a summation index is work undone: fewer of
            // them wins first.
            let ctx = d.ctx().clone();
            let deltas = |e: &Expr| if collapse { deltas_in_sums(e, &mut Vec::new()) } else { 0 };
            let size = |e: &Expr| (deltas(e), super::fold::folded_size(&ctx, e));
            if size(trial.current()) < size(baseline.current()) {
                *d = trial;
                Ok(true)
            } else {
                Ok(false)
            }
        }
    }
}

/// How many Kronecker deltas mention the index of a sum around them (`bound`: the indices
/// of the sums enclosing `e`).
fn deltas_in_sums<'a>(e: &'a Expr, bound: &mut Vec<&'a str>) -> usize {
    match e {
        Expr::Delta(a, b) => {
            let on = |i: &Index| i.name().is_some_and(|n| bound.contains(&n.as_str()));
            usize::from(on(a) || on(b))
        }
        Expr::Sum(s) => {
            bound.push(&s.index);
            let n = deltas_in_sums(&s.body, bound);
            bound.pop();
            n
        }
        _ => e.children().map(|c| deltas_in_sums(c, bound)).sum(),
    }
}

/// A term as `C*U`, index-free factors first, so constants can be taken out.
fn arranged(t: &Term, k: &str) -> Expr {
    if t.coeff.is_negative() {
        // `-(c*u)`: the sign leaves the sum first, then the constant.
        let mut positive = t.clone();
        positive.coeff = -positive.coeff.clone();
        return Expr::neg(arranged(&positive, k));
    }
    let (c, u) = split_term(t, k);
    match (c.coeff.is_one() && c.factors.is_empty(), u.factors.is_empty()) {
        (true, _) | (_, true) => term_expr(t),
        _ => Expr::Mul(vec![term_expr(&c), term_expr(&u)].into()),
    }
}

/// Split a term into its index-free part (with the coefficient) and the rest.
fn split_term(t: &Term, k: &str) -> (Term, Term) {
    let (dep, free): (Vec<_>, Vec<_>) =
        t.factors.iter().cloned().partition(|f| depends_on_index(&f.base, k));
    (
        Term { coeff: t.coeff.clone(), factors: free },
        Term { coeff: num_traits::One::one(), factors: dep },
    )
}

/// Whether `f` is a Kronecker delta on the summation index `k` and one other index.
fn is_delta_on(f: &Factor, k: &Index) -> bool {
    f.exp == 1 && matches!(&f.base, Expr::Delta(a, b) if (a == k) != (b == k))
}

/// `t` with a delta on `k` drawn out of a factor that has it in every summand
/// (`u*(δ_kj - δ_kj*v)` as `u*(1 - v)*δ_kj`), if it has such a factor and no delta
/// factor of its own.
fn delta_drawn_out(t: &Term, k: &Index) -> Option<Term> {
    if t.factors.iter().any(|f| is_delta_on(f, k)) {
        return None;
    }
    t.factors.iter().enumerate().find_map(|(at, f)| {
        if f.exp != 1 || !matches!(f.base, Expr::Add(_)) {
            return None;
        }
        let summands = to_terms(&f.base, false).ok()?;
        let first = summands.first()?;
        let delta = first.factors.iter().find(|g| {
            is_delta_on(g, k) && summands.iter().all(|s| s.factors.iter().any(|h| h.key == g.key))
        })?;
        let rest: Vec<Expr> = summands
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.factors.retain(|h| h.key != delta.key);
                term_expr(&s)
            })
            .collect();
        let mut out = t.clone();
        out.factors.remove(at);
        Some(out.mul(&Term::base(Expr::add(rest))).mul(&Term::base(delta.base.clone())))
    })
}

/// Whether [`single_term_move`] would change the sum.
fn single_term_has_move(s: &Sum, t: &Term) -> bool {
    let k = Index::Name(s.index.clone());
    if delta_drawn_out(t, &k).is_some() {
        return true;
    }
    let has_delta = t.factors.iter().any(|f| is_delta_on(f, &k));
    let (c, u) = split_term(t, &s.index);
    has_delta || u.factors.is_empty() || !(c.coeff.is_one() && c.factors.is_empty())
}

fn single_term_move(
    d: &mut Driver,
    path: &[usize],
    s: &Sum,
    t: &Term,
) -> Result<bool, EngineError> {
    let body_path: Vec<usize> = path.iter().copied().chain([0]).collect();
    let k = Index::Name(s.index.clone());
    // `u*(δ_kj - δ_kj*v)` is `u*(1 - v)*δ_kj`: a delta in every summand of a factor counts.
    let drawn_out = delta_drawn_out(t, &k);
    let t = drawn_out.as_ref().unwrap_or(t);
    // A Kronecker delta on the summation index collapses the sum.
    let delta = t.factors.iter().position(|f| is_delta_on(f, &k));
    if let Some(pos) = delta {
        let mut rest = t.clone();
        let delta = rest.factors.remove(pos).base;
        // The delta's other index outside the sum's range (x_1 in sum_{k=2}^{n}) makes the
        // sum 0. (Decided here without the enclosing sums; the kernel decides with them.)
        let off_range = match &delta {
            Expr::Delta(a, b) => {
                let j = if *a == k { b } else { a };
                let outside = Condition::OutOfRange(j.clone(), s.lo.clone(), s.hi.clone());
                crate::kernel::decide(d.ctx(), &outside, &[]) == crate::kernel::Verdict::Holds
            }
            _ => false,
        };
        let body = if rest.coeff.is_one() && rest.factors.is_empty() {
            delta
        } else {
            Expr::Mul(vec![term_expr(&rest), delta].into())
        };
        d.ring(&body_path, body)?;
        let (first, second) = if off_range {
            (RuleId::DeltaOffRange, RuleId::DeltaCollapse)
        } else {
            (RuleId::DeltaCollapse, RuleId::DeltaOffRange)
        };
        // A refused step leaves the term as it was.
        if let Err(refused) = d.apply(first.step(path.to_vec())) {
            if d.apply(second.step(path.to_vec())).is_err() {
                return Err(refused);
            }
        }
        return Ok(true);
    }
    let (c, u) = split_term(t, &s.index);
    if u.factors.is_empty() {
        let body = term_expr(t);
        d.ring(&body_path, body.clone())?;
        let mut step = step_with(RuleId::SumOfConstant, path, &[("C", &body)]);
        bind_sum(&mut step, s);
        d.apply(step)?;
        // `(n - 1 + 1)·1` is not a line to show.
        clear_trivia(d, path)?;
        return Ok(true);
    }
    if c.coeff.is_one() && c.factors.is_empty() {
        return Ok(false);
    }
    if t.coeff.is_negative() {
        let mut positive = t.clone();
        positive.coeff = -positive.coeff.clone();
        let inner = arranged(&positive, &s.index);
        d.ring(&body_path, Expr::neg(inner.clone()))?;
        let mut step = step_with(RuleId::SumOfNegation, path, &[("U", &inner)]);
        bind_sum(&mut step, s);
        d.apply(step)?;
        return Ok(true);
    }
    let (ce, ue) = (term_expr(&c), term_expr(&u));
    d.ring(&body_path, Expr::Mul(vec![ce.clone(), ue.clone()].into()))?;
    // Bind the factors as the kernel left them: it may have written `1/2` as a number.
    let (ce, ue) = match d.at(&body_path) {
        Some(Expr::Mul(fs)) if fs.len() == 2 => (fs[0].clone(), fs[1].clone()),
        _ => (ce, ue),
    };
    let mut step = step_with(RuleId::PullFactorOutOfSum, path, &[("C", &ce), ("U", &ue)]);
    bind_sum(&mut step, s);
    d.apply(step)?;
    Ok(true)
}

/// Rewrite with every closed hypothesis wherever its left side occurs.
/// Whether some hypothesis of the context could be used on the current term.
fn uses_a_hypothesis(d: &Driver) -> bool {
    d.ctx().assumptions.iter().any(|h| find(d.current(), &h.lhs).is_some())
}

pub fn use_hypotheses(d: &mut Driver) -> Result<(), EngineError> {
    let ctx = d.ctx().clone();
    let hyps: Vec<(usize, Expr, Expr)> = ctx
        .assumptions
        .iter()
        .enumerate()
        .filter(|(_, h)| h.lhs.free_indices().is_empty() && h.rhs.free_indices().is_empty())
        .map(|(i, h)| (i + 1, h.lhs.clone(), h.rhs.clone()))
        .collect();
    for (n, lhs, rhs) in hyps {
        // Not inside a derivative with respect to a variable the hypothesis involves (in a
        // second derivative, `y = 2` is used after differentiating in y, not before).
        let involves = |v: &Expr| {
            v.variable_name().is_some_and(|x| {
                [&lhs, &rhs].iter().any(|t| crate::kernel::depends_on(&ctx, t, x, 0))
            })
        };
        let enter = |t: &Expr| !matches!(t, Expr::D(_, v) if involves(v));
        for _ in 0..64 {
            let Some(path) = find_path_within(d.current(), &|t| *t == lhs, &enter) else {
                break;
            };
            let mut step = RuleId::UseHypothesis.step(path.clone());
            step.uses = Some(n.to_string());
            d.apply(step)?;
            clear_trivia(d, &path)?;
        }
    }
    Ok(())
}

/// The path of the first subterm equal to `target`.
pub fn find(e: &Expr, target: &Expr) -> Option<Vec<usize>> {
    find_path(e, &|t| t == target)
}

/// `-sum_i(x_i*(t_i - p_i))` → `sum_i(x_i*(p_i - t_i))` where that is shorter.
fn signs_into_sums(d: &mut Driver) -> Result<(), EngineError> {
    'again: for _ in 0..64 {
        let negated: Vec<Vec<usize>> = all_sums(d.current())
            .into_iter()
            .filter_map(|mut p| {
                p.pop()?;
                Some(p)
            })
            .filter(|p| matches!(d.at(p), Some(Expr::Neg(_))))
            .collect();
        for path in negated {
            let Some(Expr::Neg(inner)) = d.at(&path).cloned() else {
                continue;
            };
            let Expr::Sum(s) = &*inner else { continue };
            let mut trial = d.clone();
            let negated_body = Expr::neg((*s.body).clone());
            let mut step = step_with(RuleId::SumOfNegation, &path, &[("U", &s.body)]);
            step.reversed = true;
            bind_sum(&mut step, s);
            if trial.apply(step).is_err() {
                continue;
            }
            let body_path: Vec<usize> = path.iter().copied().chain([0]).collect();
            let _ = negated_body;
            tidy(&mut trial, &body_path)?;
            if trial.current().size() < d.current().size() {
                *d = trial;
                continue 'again;
            }
        }
        break;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::render::plain::print;
    use crate::syntax::parse_expr;
    use crate::terms::ExprExt;

    /// `input => output` after [`super::textbook_signs`]; `-` when it leaves the term alone.
    const SIGNS: &[(&str, &str)] = &[
        ("(2*tanh(x) - 1)*(tanh(x)^2 - 1)", "(1 - 2*tanh(x))*(1 - tanh(x)^2)"),
        ("x*(sigmoid(x) - 1)^2", "x*(1 - sigmoid(x))^2"),
        ("x^2*(-log(x) - 1)", "-x^2*(log(x) + 1)"),
        ("-x*(-a - b)", "x*(a + b)"),
        // A negated quotient's sign goes into its numerator: `1 - x^2`, not `-(x^2 - 1)`.
        ("-(x^2 - 1)/(x^2 + 1)^2", "(1 - x^2)/(x^2 + 1)^2"),
        ("-(x - 1)*(x - 2)", "-"),
        // One sign change alone would add a minus in front.
        ("x*(tanh(x) - 1)", "-"),
        // Polynomials in a variable keep the constant last: `(x - 1)*(x - 2)`.
        ("(x - 1)*(x - 2)", "-"),
        ("(x*tanh(x) - 1)*(tanh(x) - 1)", "-"),
    ];

    #[test]
    fn trivialities_are_cleared_and_nothing_else() {
        let t = |src: &str| print(&super::without_trivia(&parse_expr(src).unwrap()));
        assert_eq!(t("2*x^(2 - 1)*1"), "2*x");
        assert_eq!(t("(1 + 0)*y + 0"), "y");
        assert_eq!(t("0 - x*D(y, x)"), "-x*D(y, x)");
        assert_eq!(t("(2*x)*sin(x*1)"), "2*x*sin(x*1)");
        assert_eq!(t("x*0 + y/1"), "y");
        assert_eq!(t("(x + 1)*(x - 1)"), "(x + 1)*(x - 1)");
    }

    /// A region clean but for the subterm at a path, and that path.
    const CLEARED_ALONG: &[(&str, &[usize])] = &[
        ("a + b + 4*1 + c", &[2, 1]),
        ("a - 4*1", &[1, 0, 1]),
        ("a - 4*1", &[1, 0]),
        ("x*(y*z) + w", &[0, 1]),
        ("a + (b + 0)", &[1]),
        ("a + (b + 0)", &[1, 1]),
        ("a*(2/2)", &[1]),
        ("a*(b + c*(d + e))", &[1, 1, 1]),
        ("a + sin(x*1)", &[1, 0]),
        ("-(-(x + y))", &[0]),
        ("-(-(x + y))", &[0, 0, 1]),
        ("a + b*(c + d)", &[1, 1]),
    ];

    #[test]
    fn clearing_along_a_path_clears_the_whole_region() {
        for (src, path) in CLEARED_ALONG {
            let region = parse_expr(src).unwrap();
            assert!(region.at(path).is_some(), "{src}: no subterm at {path:?}");
            let cleared = match super::cleared_along(&region, path) {
                Some((depth, new)) => region.replace_at(&path[..depth], new).unwrap(),
                None => region.clone(),
            };
            let whole = super::without_trivia(&region);
            // Compared as terms: `-(4)` and `-4` print alike.
            assert!(cleared == whole, "{src} at {path:?}: {cleared:?} is not {whole:?}");
        }
    }

    #[test]
    fn signs_as_a_textbook_writes_them() {
        for (input, want) in SIGNS {
            let e = parse_expr(input).expect("test input parses");
            let changed = super::textbook_signs(&e);
            let got = changed.as_ref().map_or("-".to_string(), print);
            assert_eq!(&got, want, "{input}");
            if let Some(f) = changed {
                let same = crate::kernel::ring::ring_equal(&e, &f);
                assert!(matches!(same, Ok(true)), "{input}: same value");
            }
        }
    }
}
