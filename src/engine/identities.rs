//! Identities beyond ring arithmetic: inverse functions cancel, sin² + cos² = 1, and a
//! last attempt to cancel through the exponential (σ, tanh written with `exp`).

use super::algebra::{term_expr, to_terms};
use super::simplify::tidy;
use super::{Driver, EngineError};
use crate::expr::{Expr, Func};
use crate::kernel::{decide, Step, Verdict};
use crate::rules::{self, matching::match_pattern, Condition, RuleBody};

/// Rules that only ever shorten a term, applied wherever they match.
const SHORTENING: &[&str] = &[
    "exp-of-log",
    "log-of-exp",
    "sqrt-squared",
    "delta-same-index",
];

fn lhs_of(name: &str) -> Option<&'static Expr> {
    match &rules::rule(name)?.body {
        RuleBody::Rewrite { lhs, .. } => Some(lhs),
        RuleBody::Builtin(_) => None,
    }
}

/// The first subterm (pre-order) for which `pick` gives a step.
fn first_match<T>(
    e: &Expr,
    path: &mut Vec<usize>,
    pick: &mut dyn FnMut(&Expr, &[usize]) -> Option<T>,
) -> Option<T> {
    if let Some(s) = pick(e, path) {
        return Some(s);
    }
    for (i, c) in e.children().into_iter().enumerate() {
        path.push(i);
        let found = first_match(c, path, pick);
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Apply the shortening identities until none matches; whether anything changed.
pub fn shorten(d: &mut Driver) -> Result<bool, EngineError> {
    let mut changed = false;
    // The patterns are inverse pairs and a squared root: look only when one can be there.
    let inverse_pair = |e: &Expr| match e {
        Expr::Call(Func::Exp, a) => matches!(**a, Expr::Call(Func::Log, _)),
        Expr::Call(Func::Log, a) => matches!(**a, Expr::Call(Func::Exp, _)),
        Expr::Pow(b, _) => matches!(**b, Expr::Call(Func::Sqrt, _)),
        Expr::Delta(a, b) => a == b,
        _ => false,
    };
    for _ in 0..256 {
        if !d.current().any(&mut |e| inverse_pair(e)) {
            break;
        }
        let ctx = d.ctx().clone();
        let step = first_match(&d.current().clone(), &mut Vec::new(), &mut |e, path| {
            SHORTENING.iter().find_map(|name| {
                let b = match_pattern(lhs_of(name)?, e)?;
                if let Some(u) = b.terms.get("U") {
                    let positive = decide(&ctx, &Condition::Positive(u.clone()), &[]);
                    if *name != "log-of-exp" && positive == Verdict::Fails {
                        return None;
                    }
                }
                let mut s = Step::new(name, path.to_vec());
                s.binding = b;
                Some(s)
            })
        });
        match step {
            Some(s) => {
                d.apply(s)?;
                changed = true;
            }
            None => break,
        }
    }
    if pythagoras(d)? {
        changed = true;
    }
    Ok(changed)
}

/// `c*sin(u)^2 + c*cos(u)^2 + …` → `c + …`.
fn pythagoras(d: &mut Driver) -> Result<bool, EngineError> {
    let has = |f: Func, e: &Expr| {
        e.clone()
            .any(&mut |t| matches!(t, Expr::Call(g, _) if *g == f))
    };
    if !has(Func::Sin, d.current()) || !has(Func::Cos, d.current()) {
        return Ok(false);
    }
    let found = first_match(&d.current().clone(), &mut Vec::new(), &mut |e, path| {
        let Expr::Add(_) = e else { return None };
        let terms = to_terms(e, false).ok()?;
        let square_of = |t: &super::algebra::Term, f: Func| -> Option<Expr> {
            match t.factors.as_slice() {
                [g] if g.exp == 2 => match &g.base {
                    Expr::Call(h, u) if *h == f => Some((**u).clone()),
                    _ => None,
                },
                _ => None,
            }
        };
        for (i, s) in terms.iter().enumerate() {
            let Some(u) = square_of(s, Func::Sin) else {
                continue;
            };
            for (j, c) in terms.iter().enumerate() {
                if square_of(c, Func::Cos).as_ref() == Some(&u) && c.coeff == s.coeff {
                    let pair = Expr::Add(vec![term_expr(&one(s)), term_expr(&one(c))]);
                    let scaled = s.coeff != num_traits::One::one();
                    let lead = if scaled {
                        Expr::Mul(vec![Expr::Num(s.coeff.clone()), pair])
                    } else {
                        pair
                    };
                    let rest: Vec<Expr> = terms
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| *k != i && *k != j)
                        .map(|(_, t)| term_expr(t))
                        .collect();
                    let mut at = path.to_vec();
                    let replacement = if rest.is_empty() {
                        lead
                    } else {
                        at.push(0);
                        Expr::Add(std::iter::once(lead).chain(rest).collect())
                    };
                    if scaled {
                        at.push(1);
                    }
                    let mut step = Step::new("ring-normalize", path.to_vec());
                    step.replacement = Some(replacement);
                    return Some((step, at, u));
                }
            }
        }
        None
    });
    let Some((ring, at, u)) = found else {
        return Ok(false);
    };
    d.apply(ring)?;
    let mut step = Step::new("pythagorean-identity", at);
    step.binding.terms.insert("U".into(), u);
    d.apply(step)?;
    Ok(true)
}

fn one(t: &super::algebra::Term) -> super::algebra::Term {
    super::algebra::Term {
        coeff: num_traits::One::one(),
        factors: t.factors.clone(),
    }
}

/// Write σ, tanh and `exp(-u)` with `exp(u)` and keep the result if it is smaller:
/// this is how `σ(x) - 1/(1 + exp(-x))` is seen to be zero.
pub fn through_exp(d: &mut Driver) -> Result<(), EngineError> {
    // Worth a try only when two different exponential-family atoms could cancel
    // (`sigmoid(x)` beside `exp(-x)` or `sigmoid(-x)`); one alone never does.
    let mut atoms: Vec<Expr> = Vec::new();
    d.current().any(&mut |e| {
        if matches!(e, Expr::Call(Func::Sigmoid | Func::Tanh | Func::Exp, _)) && !atoms.contains(e)
        {
            atoms.push(e.clone());
        }
        false
    });
    let family = atoms
        .iter()
        .any(|a| matches!(a, Expr::Call(Func::Sigmoid | Func::Tanh, _)));
    if !family || atoms.len() < 2 {
        return Ok(());
    }
    let mut trial = d.clone();
    for _ in 0..256 {
        let step = first_match(&trial.current().clone(), &mut Vec::new(), &mut |e, path| {
            let (name, u) = match e {
                Expr::Call(Func::Sigmoid, u) => ("sigmoid-definition", u),
                Expr::Call(Func::Tanh, u) => ("tanh-definition", u),
                Expr::Call(Func::Exp, a) => match &**a {
                    Expr::Neg(u) => ("exp-of-negation", u),
                    _ => return None,
                },
                _ => return None,
            };
            let mut s = Step::new(name, path.to_vec());
            s.binding.terms.insert("U".into(), (**u).clone());
            Some(s)
        });
        match step {
            Some(s) => {
                if trial.apply(s).is_err() {
                    return Ok(());
                }
            }
            None => break,
        }
    }
    if tidy(&mut trial, &[]).is_err() {
        return Ok(());
    }
    if trial.current().size() < d.current().size() {
        *d = trial;
    }
    Ok(())
}
