//! Sum moves that serve folding: take index-free factors into a sum whose summand then
//! folds into a defined name (`sum_k(z_k*exp(z_k))/sum_m(exp(z_m))` → `sum_k(z_k*a_k)`),
//! and combine sums over one range where that is shorter.

use super::algebra::{term_expr, to_terms, Term};
use super::differentiate::step_with;
use super::fold::{fold_expr, folded_size, prove_folded};
use super::simplify::{bind_sum, tidy};
use super::{Driver, EngineError};
use crate::expr::{Context, Expr, Index};
use crate::rules::RuleId;
use crate::terms::ExprExt;
use num_traits::One;

/// Most moves of each kind per derivation.
const MAX_MOVES: usize = 16;

/// Paths of the products and quotients that hold a sum as a factor, outermost first.
fn products_with_sums(e: &Expr, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if let Expr::Mul(fs) = e {
        if fs.iter().any(|f| matches!(f, Expr::Sum(_))) {
            out.push(path.clone());
        }
    }
    if let Expr::Div(a, _) = e {
        if matches!(**a, Expr::Sum(_) | Expr::Mul(_)) {
            out.push(path.clone());
        }
    }
    for (i, c) in e.children().enumerate() {
        path.push(i);
        products_with_sums(c, path, out);
        path.pop();
    }
}

/// Take the other factors of a product into one of its sums wherever the summand then
/// folds into a definition and the result is shorter; whether anything changed.
pub fn absorb(d: &mut Driver) -> Result<bool, EngineError> {
    let mut changed = false;
    'again: for _ in 0..MAX_MOVES {
        let mut paths = Vec::new();
        products_with_sums(d.current(), &mut Vec::new(), &mut paths);
        for path in paths {
            let mut trial = d.clone();
            if absorb_at(&mut trial, &path).unwrap_or(false) {
                *d = trial;
                changed = true;
                continue 'again;
            }
        }
        break;
    }
    Ok(changed)
}

fn absorb_at(d: &mut Driver, path: &[usize]) -> Result<bool, EngineError> {
    let ctx = d.ctx().clone();
    let Some(e) = d.at(path).cloned() else {
        return Ok(false);
    };
    let Ok(terms) = to_terms(&e, false) else {
        return Ok(false);
    };
    let [t] = terms.as_slice() else {
        return Ok(false);
    };
    for (i, f) in t.factors.iter().enumerate() {
        let Expr::Sum(s) = &f.base else { continue };
        if f.exp != 1 {
            continue;
        }
        let mut rest = t.clone();
        rest.factors.remove(i);
        let negative = rest.coeff.is_negative();
        if negative {
            rest.coeff = -rest.coeff.clone();
        }
        if rest.factors.is_empty()
            || rest.factors.iter().any(|g| g.base.free_indices().contains(&s.index))
        {
            continue;
        }
        // A pure divisor goes in as one (`sum_k(u/c)`), anything else as a factor.
        let divisor = rest.coeff.is_one() && rest.factors.iter().all(|g| g.exp < 0);
        let (outside, inside) = if divisor {
            let den = Term {
                coeff: rest.coeff.clone(),
                factors: rest
                    .factors
                    .iter()
                    .map(|g| super::algebra::Factor { exp: -g.exp, ..g.clone() })
                    .collect(),
            };
            let den = term_expr(&den);
            (Expr::div(Expr::Sum(s.clone()), den.clone()), Expr::div((*s.body).clone(), den))
        } else {
            let c = term_expr(&rest);
            (
                Expr::Mul(vec![c.clone(), Expr::Sum(s.clone())].into()),
                Expr::Mul(vec![c, (*s.body).clone()].into()),
            )
        };
        let folded = fold_expr(&ctx, &inside);
        if folded == inside || !consumes(&ctx, &folded, &rest, &s.index) {
            continue;
        }
        let new = s.with_body(folded.clone());
        let new = if negative { Expr::neg(new) } else { new };
        if new.size() >= fold_expr(&ctx, &e).size() {
            continue;
        }
        // Prove it: shape the product, move the factors in, fold the summand.
        let shaped = if negative { Expr::neg(outside.clone()) } else { outside.clone() };
        d.ring(path, shaped)?;
        let at: Vec<usize> =
            if negative { path.iter().copied().chain([0]).collect() } else { path.to_vec() };
        let mut step = match &outside {
            Expr::Div(_, den) => {
                step_with(RuleId::DivisorIntoSum, &at, &[("U", &s.body), ("C", den)])
            }
            _ => {
                let Expr::Mul(parts) = &outside else {
                    return Ok(false);
                };
                step_with(RuleId::FactorIntoSum, &at, &[("C", &parts[0]), ("U", &s.body)])
            }
        };
        bind_sum(&mut step, s);
        d.apply(step)?;
        let body: Vec<usize> = at.iter().copied().chain([0]).collect();
        prove_folded(d, &body, &folded)?;
        return Ok(true);
    }
    Ok(false)
}

/// Whether a fold in the summand used some of the factors taken in (folded themselves):
/// otherwise they would only come out again.
fn consumes(ctx: &Context, folded: &Expr, taken: &Term, k: &str) -> bool {
    let Ok(terms) = to_terms(folded, false) else {
        return false;
    };
    let [t] = terms.as_slice() else {
        return true;
    };
    !taken.factors.iter().all(|f| {
        let base = Term::base(fold_expr(ctx, &f.base));
        t.factors.iter().any(|g| {
            base.factors.iter().all(|b| b.key == g.key)
                && g.exp == f.exp
                && !g.base.free_indices().contains(k)
        })
    })
}

/// The sums a term of an addition could become by taking its other factors in: one per
/// sum factor whose other factors are free of its index (`-c*sum_k(u_k)` → `sum_k(-c*u_k)`).
/// Each is `(the term as a monomial, the factor's position)`.
fn sum_choices(e: &Expr) -> Vec<(Term, usize)> {
    if !matches!(e, Expr::Sum(_) | Expr::Neg(_) | Expr::Mul(_)) {
        return vec![];
    }
    let Ok(terms) = to_terms(e, false) else {
        return vec![];
    };
    let [t] = terms.as_slice() else {
        return vec![];
    };
    (0..t.factors.len())
        .filter(|&i| {
            let f = &t.factors[i];
            let Expr::Sum(s) = &f.base else {
                return false;
            };
            f.exp == 1
                && t.factors
                    .iter()
                    .enumerate()
                    .all(|(j, g)| j == i || !g.base.free_indices().contains(&s.index))
        })
        .map(|i| (t.clone(), i))
        .collect()
}

/// Paths of the additions with two sums among their terms.
fn additions(e: &Expr, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if let Expr::Add(ts) = e {
        if ts.iter().filter(|t| !sum_choices(t).is_empty()).count() >= 2 {
            out.push(path.clone());
        }
    }
    for (i, c) in e.children().enumerate() {
        path.push(i);
        additions(c, path, out);
        path.pop();
    }
}

fn range_of(t: &Term, i: usize) -> Option<(&crate::expr::Bound, &crate::expr::Bound)> {
    match &t.factors[i].base {
        Expr::Sum(s) => Some((&s.lo, &s.hi)),
        _ => None,
    }
}

/// Combine two sums over one range into one (`sum_k(u_k) - c*sum_i(v_i)` →
/// `sum_k(u_k - c*v_k)`) where the result, tidied and folded, is shorter.
pub fn combine(d: &mut Driver) -> Result<(), EngineError> {
    let ctx = d.ctx().clone();
    'again: for _ in 0..MAX_MOVES {
        let mut paths = Vec::new();
        additions(d.current(), &mut Vec::new(), &mut paths);
        let before = folded_size(&ctx, d.current());
        for path in paths {
            let Some(Expr::Add(ts)) = d.at(&path).cloned() else {
                continue;
            };
            let choices: Vec<Vec<(Term, usize)>> = ts.iter().map(sum_choices).collect();
            for a in 0..ts.len() {
                for b in a + 1..ts.len() {
                    for ca in &choices[a] {
                        for cb in &choices[b] {
                            if range_of(&ca.0, ca.1) != range_of(&cb.0, cb.1) {
                                continue;
                            }
                            let mut trial = d.clone();
                            let ok = combine_at(&mut trial, &path, &ts, (a, ca), (b, cb));
                            if ok.unwrap_or(false) && folded_size(&ctx, trial.current()) < before {
                                *d = trial;
                                continue 'again;
                            }
                        }
                    }
                }
            }
        }
        break;
    }
    Ok(())
}

/// Bring the term at `p` (the monomial `t`) to a plain sum, its sum factor `i` taking in
/// the other factors and the sign.
fn to_plain_sum(d: &mut Driver, p: &[usize], t: &Term, i: usize) -> Result<(), EngineError> {
    let Expr::Sum(s) = &t.factors[i].base else {
        return Ok(());
    };
    let mut rest = t.clone();
    rest.factors.remove(i);
    let negative = rest.coeff.is_negative();
    if negative {
        rest.coeff = -rest.coeff.clone();
    }
    let plain = rest.coeff.is_one() && rest.factors.is_empty();
    let sum = Expr::Sum(s.clone());
    let shaped =
        if plain { sum.clone() } else { Expr::Mul(vec![term_expr(&rest), sum.clone()].into()) };
    d.ring(p, if negative { Expr::neg(shaped) } else { shaped })?;
    let inner: Vec<usize> =
        if negative { p.iter().copied().chain([0]).collect() } else { p.to_vec() };
    if !plain {
        let c = term_expr(&rest);
        let mut step = step_with(RuleId::FactorIntoSum, &inner, &[("C", &c), ("U", &s.body)]);
        bind_sum(&mut step, s);
        d.apply(step)?;
    }
    if negative {
        let Some(Expr::Neg(x)) = d.at(p).cloned() else {
            return Ok(());
        };
        let Expr::Sum(s) = &*x else {
            return Ok(());
        };
        let mut step = step_with(RuleId::SignIntoSum, p, &[("U", &s.body)]);
        bind_sum(&mut step, s);
        d.apply(step)?;
    }
    Ok(())
}

fn combine_at(
    d: &mut Driver,
    path: &[usize],
    ts: &[Expr],
    (a, ca): (usize, &(Term, usize)),
    (b, cb): (usize, &(Term, usize)),
) -> Result<bool, EngineError> {
    // The pair first, on its own, the rest after it.
    let at: Vec<usize> = if ts.len() == 2 {
        path.to_vec()
    } else {
        let mut terms = vec![Expr::Add(vec![ts[a].clone(), ts[b].clone()].into())];
        terms.extend(
            ts.iter().enumerate().filter(|(i, _)| *i != a && *i != b).map(|(_, t)| t.clone()),
        );
        d.ring(path, Expr::Add(terms.into()))?;
        path.iter().copied().chain([0]).collect()
    };
    for (pos, (t, i)) in [(0, ca), (1, cb)] {
        let p: Vec<usize> = at.iter().copied().chain([pos]).collect();
        to_plain_sum(d, &p, t, *i)?;
    }
    let Some(Expr::Add(pair)) = d.at(&at).cloned() else {
        return Ok(false);
    };
    let (Expr::Sum(s1), Expr::Sum(s2)) = (&pair[0], &pair[1]) else {
        return Ok(false);
    };
    if s1.index != s2.index && s2.body.free_indices().contains(&s1.index) {
        return Ok(false);
    }
    let v = s2.body.subst_index(&s2.index, &Index::Name(s1.index.clone()));
    let mut step = step_with(RuleId::CombineSums, &at, &[("U", &s1.body), ("V", &v)]);
    bind_sum(&mut step, s1);
    d.apply(step)?;
    tidy(d, &at)?;
    Ok(true)
}
