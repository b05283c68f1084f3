//! Sum moves that serve folding: take index-free factors into a sum whose summand then
//! folds into a defined name (`sum_k(z_k*exp(z_k))/sum_m(exp(z_m))` → `sum_k(z_k*a_k)`),
//! and combine sums over one range where that is shorter.

use super::algebra::{term_expr, to_terms, Term};
use super::differentiate::step_with;
use super::fold::{fold_expr, folded_size, prove_folded};
use super::simplify::tidy;
use super::{Driver, EngineError};
use crate::expr::{Context, Expr, Index, Sum};
use crate::kernel::Step;
use num_traits::{One, Signed};

/// Most moves of each kind per derivation.
const MAX_MOVES: usize = 16;

fn bind_sum(step: &mut Step, s: &Sum) {
    step.binding
        .indices
        .insert("k".into(), Index::Name(s.index.clone()));
    step.binding.bounds.insert("A".into(), s.lo.clone());
    step.binding.bounds.insert("B".into(), s.hi.clone());
}

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
    for (i, c) in e.children().into_iter().enumerate() {
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
            || rest
                .factors
                .iter()
                .any(|g| g.base.free_indices().contains(&s.index))
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
                    .map(|g| super::algebra::Factor {
                        exp: -g.exp,
                        ..g.clone()
                    })
                    .collect(),
            };
            let den = term_expr(&den);
            (
                Expr::div(Expr::Sum(s.clone()), den.clone()),
                Expr::div((*s.body).clone(), den),
            )
        } else {
            let c = term_expr(&rest);
            (
                Expr::Mul(vec![c.clone(), Expr::Sum(s.clone())]),
                Expr::Mul(vec![c, (*s.body).clone()]),
            )
        };
        let folded = fold_expr(&ctx, &inside);
        if folded == inside || !consumes(&ctx, &folded, &rest, &s.index) {
            continue;
        }
        let new = Expr::Sum(Sum {
            body: std::sync::Arc::new(folded.clone()),
            ..s.clone()
        });
        let new = if negative { Expr::neg(new) } else { new };
        if new.size() >= fold_expr(&ctx, &e).size() {
            continue;
        }
        // Prove it: shape the product, move the factors in, fold the summand.
        let shaped = if negative {
            Expr::neg(outside.clone())
        } else {
            outside.clone()
        };
        d.ring(path, shaped)?;
        let at: Vec<usize> = if negative {
            path.iter().copied().chain([0]).collect()
        } else {
            path.to_vec()
        };
        let mut step = match &outside {
            Expr::Div(_, den) => step_with("divisor-into-sum", &at, &[("U", &s.body), ("C", den)]),
            _ => {
                let Expr::Mul(parts) = &outside else {
                    return Ok(false);
                };
                step_with("factor-into-sum", &at, &[("C", &parts[0]), ("U", &s.body)])
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

/// A sum, or a negated one, as `(sign, sum)`.
fn as_sum(e: &Expr) -> Option<(bool, &Sum)> {
    match e {
        Expr::Sum(s) => Some((false, s)),
        Expr::Neg(x) => match &**x {
            Expr::Sum(s) => Some((true, s)),
            _ => None,
        },
        _ => None,
    }
}

/// Paths of the additions with two sums over one range among their terms.
fn additions(e: &Expr, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if let Expr::Add(ts) = e {
        if ts.iter().filter(|t| as_sum(t).is_some()).count() >= 2 {
            out.push(path.clone());
        }
    }
    for (i, c) in e.children().into_iter().enumerate() {
        path.push(i);
        additions(c, path, out);
        path.pop();
    }
}

/// Combine two sums over one range into one (`sum_k(u_k) - sum_i(v_i)` →
/// `sum_k(u_k - v_k)`) where the result, tidied and folded, is shorter.
pub fn combine(d: &mut Driver) -> Result<(), EngineError> {
    'again: for _ in 0..MAX_MOVES {
        let mut paths = Vec::new();
        additions(d.current(), &mut Vec::new(), &mut paths);
        for path in paths {
            let Some(Expr::Add(ts)) = d.at(&path).cloned() else {
                continue;
            };
            for a in 0..ts.len() {
                for b in a + 1..ts.len() {
                    let mut trial = d.clone();
                    if combine_at(&mut trial, &path, &ts, a, b).unwrap_or(false) {
                        let ctx = d.ctx().clone();
                        if folded_size(&ctx, trial.current()) < folded_size(&ctx, d.current()) {
                            *d = trial;
                            continue 'again;
                        }
                    }
                }
            }
        }
        break;
    }
    Ok(())
}

fn combine_at(
    d: &mut Driver,
    path: &[usize],
    ts: &[Expr],
    a: usize,
    b: usize,
) -> Result<bool, EngineError> {
    let (Some((na, sa)), Some((nb, sb))) = (as_sum(&ts[a]), as_sum(&ts[b])) else {
        return Ok(false);
    };
    if sa.lo != sb.lo || sa.hi != sb.hi {
        return Ok(false);
    }
    if sa.index != sb.index && sb.body.free_indices().contains(&sa.index) {
        return Ok(false);
    }
    // The pair first, on its own, the rest after it.
    let at: Vec<usize> = if ts.len() == 2 {
        if a != 0 {
            return Ok(false);
        }
        path.to_vec()
    } else {
        let mut terms = vec![Expr::Add(vec![ts[a].clone(), ts[b].clone()])];
        terms.extend(
            ts.iter()
                .enumerate()
                .filter(|(i, _)| *i != a && *i != b)
                .map(|(_, t)| t.clone()),
        );
        d.ring(path, Expr::Add(terms))?;
        path.iter().copied().chain([0]).collect()
    };
    // Signs go into the sums.
    for (pos, neg, s) in [(0, na, sa), (1, nb, sb)] {
        if neg {
            let p: Vec<usize> = at.iter().copied().chain([pos]).collect();
            let mut step = step_with("sum-of-negation", &p, &[("U", &s.body)]);
            step.reversed = true;
            bind_sum(&mut step, s);
            d.apply(step)?;
        }
    }
    let Some(Expr::Add(pair)) = d.at(&at).cloned() else {
        return Ok(false);
    };
    let (Some((_, s1)), Some((_, s2))) = (as_sum(&pair[0]), as_sum(&pair[1])) else {
        return Ok(false);
    };
    let v = s2
        .body
        .subst_index(&s2.index, &Index::Name(s1.index.clone()));
    let mut step = step_with("combine-sums", &at, &[("U", &s1.body), ("V", &v)]);
    bind_sum(&mut step, s1);
    d.apply(step)?;
    tidy(d, &at)?;
    Ok(true)
}
