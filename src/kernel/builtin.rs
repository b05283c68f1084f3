//! The rules the kernel applies itself: schemes over arity, over the context, and the
//! ring and renaming decision procedures.

use super::conditions::depends_on;
use super::ring::{divisors, ring_equal};
use super::KernelError;
use crate::expr::{Context, Expr, Index, Sum};
use super::rules::{Builtin, Condition};
use std::sync::Arc;

type Outcome = Result<(Expr, Vec<Condition>), KernelError>;

fn no(msg: &str) -> KernelError {
    KernelError::NotApplicable(msg.to_string())
}

/// Apply builtin `b` to the subterm `sub`.
///
/// `variables` names the variables of the derivatives enclosing `sub`.
pub fn apply(
    b: Builtin,
    ctx: &Context,
    sub: &Expr,
    step: &super::Step,
    variables: &[String],
) -> Outcome {
    let takes_replacement = matches!(
        b,
        Builtin::Ring | Builtin::Rename | Builtin::Fold | Builtin::DeltaSubstitute
    );
    let takes_uses = matches!(b, Builtin::Unfold | Builtin::Fold | Builtin::Hypothesis);
    let takes_indices = matches!(b, Builtin::Hypothesis | Builtin::IndexCase);
    if takes_replacement != step.replacement.is_some() {
        return Err(KernelError::Binding(if takes_replacement {
            "this rule needs the replacement term".into()
        } else {
            "this rule computes its result and takes no replacement".into()
        }));
    }
    if takes_uses != step.uses.is_some() {
        return Err(KernelError::Binding(
            "`uses` names a definition or hypothesis, for those rules only".into(),
        ));
    }
    let b_ok = step.binding.terms.is_empty()
        && step.binding.bounds.is_empty()
        && (takes_indices || step.binding.indices.is_empty());
    if !b_ok {
        return Err(KernelError::Binding(
            "this rule takes no metavariables".into(),
        ));
    }
    if step.reversed && !matches!(b, Builtin::Hypothesis) {
        return Err(KernelError::Binding(
            "only hypotheses are used right to left".into(),
        ));
    }
    let replacement = step.replacement.as_ref();
    match b {
        Builtin::Ring => {
            let new = replacement.cloned().unwrap_or_else(|| sub.clone());
            if !ring_equal(sub, &new)? {
                return Err(KernelError::ChainBroken(format!(
                    "`{sub}` and `{new}` are not equal by ring arithmetic"
                )));
            }
            let mut ds = Vec::new();
            divisors(sub, &mut ds);
            divisors(&new, &mut ds);
            Ok((new, ds.into_iter().map(Condition::NonZero).collect()))
        }
        Builtin::Rename => {
            let new = replacement.cloned().unwrap_or_else(|| sub.clone());
            if !matches!(sub, Expr::Sum(_)) || &new != sub {
                return Err(no("renaming a bound index must give the same sum"));
            }
            Ok((new, vec![]))
        }
        Builtin::DerivativeOfVariable => derivative_of_variable(ctx, sub),
        Builtin::SumRule => match sub {
            Expr::D(f, x) => match &**f {
                Expr::Add(ts) => Ok((
                    Expr::Add(
                        ts.iter()
                            .map(|t| Expr::d(t.clone(), (**x).clone()))
                            .collect(),
                    ),
                    vec![],
                )),
                _ => Err(no("the sum rule needs the derivative of a sum")),
            },
            _ => Err(no("the sum rule needs a derivative")),
        },
        Builtin::ProductRule => match sub {
            Expr::D(f, x) => match &**f {
                Expr::Mul(fs) => {
                    let terms = (0..fs.len())
                        .map(|i| {
                            let mut g = fs.to_vec();
                            g[i] = Expr::d(fs[i].clone(), (**x).clone());
                            Expr::Mul(g.into())
                        })
                        .collect();
                    Ok((Expr::Add(terms), vec![]))
                }
                _ => Err(no("the product rule needs the derivative of a product")),
            },
            _ => Err(no("the product rule needs a derivative")),
        },
        Builtin::SumLinearity => match sub {
            Expr::Sum(s) => match &*s.body {
                Expr::Add(ts) => Ok((
                    Expr::Add(
                        ts.iter()
                            .map(|t| {
                                Expr::Sum(Sum {
                                    body: Arc::new(t.clone()),
                                    ..s.clone()
                                })
                            })
                            .collect(),
                    ),
                    vec![],
                )),
                _ => Err(no("only a sum of a sum splits")),
            },
            _ => Err(no("linearity needs a sum")),
        },
        Builtin::DeltaCollapse => delta_collapse(sub),
        Builtin::DeltaSubstitute => delta_substitute(sub, replacement),
        Builtin::Unfold => {
            let name = step.uses.as_deref().unwrap_or_default();
            Ok((unfold(ctx, sub, name)?, vec![]))
        }
        Builtin::Fold => {
            let name = step.uses.as_deref().unwrap_or_default();
            let folded = replacement.cloned().unwrap_or_else(|| sub.clone());
            if &unfold(ctx, &folded, name)? != sub {
                return Err(no("the term is not the definition's body at these indices"));
            }
            Ok((folded, vec![]))
        }
        Builtin::Hypothesis => hypothesis(ctx, sub, step, variables),
        Builtin::IndexCase => index_case(sub, step),
    }
}

fn derivative_of_variable(ctx: &Context, sub: &Expr) -> Outcome {
    let Expr::D(v, w) = sub else {
        return Err(no("needs a derivative"));
    };
    if !v.is_variable() || !w.is_variable() {
        return Err(no(
            "needs the derivative of a variable with respect to a variable",
        ));
    }
    if ctx.is_defined(v) || ctx.is_defined(w) {
        return Err(no(
            "a defined name is not an independent variable; unfold it first",
        ));
    }
    let out = match (&**v, &**w) {
        (Expr::Sym(a), Expr::Sym(b)) if a == b => Expr::int(1),
        (Expr::Idx(a, ai), Expr::Idx(b, bi)) if a == b => {
            if ai.len() != bi.len() {
                return Err(no(
                    "the same name is used with different numbers of indices",
                ));
            }
            Expr::mul(
                ai.iter()
                    .zip(bi)
                    .map(|(i, j)| Expr::Delta(i.clone(), j.clone()))
                    .collect(),
            )
        }
        (Expr::Sym(a), Expr::Idx(b, _)) | (Expr::Idx(a, _), Expr::Sym(b)) if a == b => {
            return Err(no("the same name is used with and without indices"));
        }
        _ => Expr::int(0),
    };
    Ok((out, vec![]))
}

/// `sum_k(F * delta(k, j)) = F[k := j]`, the delta anywhere in the product, either way round.
fn delta_collapse(sub: &Expr) -> Outcome {
    let Expr::Sum(s) = sub else {
        return Err(no("needs a sum"));
    };
    let k = Index::Name(s.index.clone());
    let factors: Vec<Expr> = match &*s.body {
        Expr::Mul(fs) => fs.to_vec(),
        other => vec![other.clone()],
    };
    let other_of = |f: &Expr| match f {
        Expr::Delta(a, b) if *a == k && *b != k => Some(b.clone()),
        Expr::Delta(a, b) if *b == k && *a != k => Some(a.clone()),
        _ => None,
    };
    let (pos, j) = factors
        .iter()
        .enumerate()
        .find_map(|(i, f)| other_of(f).map(|j| (i, j)))
        .ok_or_else(|| no("the summand has no Kronecker delta on the summation index"))?;
    let mut rest = factors;
    rest.remove(pos);
    let collapsed = Expr::mul(rest).subst_index(&s.index, &j);
    Ok((
        collapsed,
        vec![Condition::InRange(j, s.lo.clone(), s.hi.clone())],
    ))
}

/// `delta(i, j) * F = delta(i, j) * F[i := j]` for a delta factor of the product.
fn delta_substitute(sub: &Expr, replacement: Option<&Expr>) -> Outcome {
    let Expr::Mul(fs) = sub else {
        return Err(no("needs a product with a Kronecker delta"));
    };
    let new = replacement.ok_or_else(|| no("needs the replacement"))?;
    for (pos, f) in fs.iter().enumerate() {
        let Expr::Delta(a, b) = f else { continue };
        for (from, to) in [(a, b), (b, a)] {
            let Index::Name(from) = from else { continue };
            let candidate: Vec<Expr> = fs
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    if i == pos {
                        g.clone()
                    } else {
                        g.subst_index(from, to)
                    }
                })
                .collect();
            let candidate = Expr::Mul(candidate.into());
            if &candidate == new {
                return Ok((candidate, vec![]));
            }
        }
    }
    Err(no(
        "the replacement is not a substitution through a delta factor",
    ))
}

/// The body of the definition called `name` at the indices of `sub`.
fn unfold(ctx: &Context, sub: &Expr, name: &str) -> Result<Expr, KernelError> {
    let def = ctx
        .definition(name)
        .ok_or_else(|| no(&format!("`{name}` is not defined")))?;
    match (&def.name, sub) {
        (Expr::Sym(a), Expr::Sym(b)) if a == b => Ok(def.body.clone()),
        (Expr::Idx(a, formal), Expr::Idx(b, actual)) if a == b && formal.len() == actual.len() => {
            // Simultaneous substitution: formals go to fresh names first so `i→j, j→i` works.
            let mut body = def.body.clone();
            let mut avoid = body.all_index_names();
            avoid.extend(sub.all_index_names());
            let mut temps = Vec::new();
            for f in formal {
                let Index::Name(f) = f else {
                    return Err(no("a definition's indices are names"));
                };
                let t = crate::expr::fresh_index(&format!("{f}0"), &avoid);
                avoid.insert(t.clone());
                body = body.subst_index(f, &Index::Name(t.clone()));
                temps.push(t);
            }
            for (t, a) in temps.iter().zip(actual) {
                body = body.subst_index(t, a);
            }
            Ok(body)
        }
        _ => Err(no(&format!(
            "the term is not an instance of `{}`",
            def.name
        ))),
    }
}

/// `F = F[j := i]` in the case `i = j`, a condition the result carries.
fn index_case(sub: &Expr, step: &super::Step) -> Outcome {
    let ix = &step.binding.indices;
    let (Some(i), Some(j), 2) = (ix.get("i"), ix.get("j"), ix.len()) else {
        return Err(KernelError::Binding(
            "the case split takes the indices `i` and `j`, and nothing else".into(),
        ));
    };
    let case = Condition::IndexEq(i.clone(), j.clone());
    match j {
        Index::Name(j) => Ok((sub.subst_index(j, i), vec![case])),
        // A number has no occurrences to replace (an instance of the split at a corner).
        Index::Int(_) => Ok((sub.clone(), vec![case])),
    }
}

/// Rewrite with hypothesis number `uses` (from one), left to right or reversed; the
/// binding's indices rename the hypothesis's free indices, each within its declared range.
/// An equation that holds on a constraint set says nothing about a derivative across it:
/// under `D(…, x)` a hypothesis may be used only if it does not involve `x`.
fn hypothesis(ctx: &Context, sub: &Expr, step: &super::Step, variables: &[String]) -> Outcome {
    let n: usize = step
        .uses
        .as_deref()
        .and_then(|u| u.parse().ok())
        .ok_or_else(|| no("`uses` must be a hypothesis number"))?;
    let h = n
        .checked_sub(1)
        .and_then(|i| ctx.assumptions.get(i))
        .ok_or_else(|| no(&format!("there is no hypothesis {n}")))?;
    let (mut from, mut to) = if step.reversed {
        (h.rhs.clone(), h.lhs.clone())
    } else {
        (h.lhs.clone(), h.rhs.clone())
    };
    let free = h
        .lhs
        .free_indices()
        .union(&h.rhs.free_indices())
        .cloned()
        .collect::<Vec<_>>();
    for x in variables {
        if [&h.lhs, &h.rhs].iter().any(|t| depends_on(ctx, t, x, 0)) {
            return Err(no(&format!(
                "hypothesis {n} involves `{x}`, so it cannot be used inside a derivative with respect to `{x}`"
            )));
        }
    }
    if let Some(name) = step.binding.indices.keys().find(|k| !free.contains(k)) {
        return Err(KernelError::Binding(format!(
            "`{name}` is not a free index of hypothesis {n}"
        )));
    }
    // Simultaneous renaming, through fresh names, so that `i := j, j := i` swaps.
    let mut avoid = sub.all_index_names();
    avoid.extend(h.lhs.all_index_names());
    avoid.extend(h.rhs.all_index_names());
    let mut staged = Vec::new();
    let mut ranges = Vec::new();
    for name in &free {
        let value = step
            .binding
            .indices
            .get(name)
            .cloned()
            .unwrap_or_else(|| Index::Name(name.clone()));
        let (lo, hi) = ctx
            .range_of(name)
            .ok_or_else(|| no(&format!("index `{name}` of hypothesis {n} is not declared")))?;
        ranges.push(Condition::InRange(value.clone(), lo.clone(), hi.clone()));
        let temp = crate::expr::fresh_index(&format!("{name}0"), &avoid);
        avoid.insert(temp.clone());
        from = from.subst_index(name, &Index::Name(temp.clone()));
        to = to.subst_index(name, &Index::Name(temp.clone()));
        staged.push((temp, value));
    }
    for (temp, value) in &staged {
        from = from.subst_index(temp, value);
        to = to.subst_index(temp, value);
    }
    if &from != sub {
        return Err(KernelError::Mismatch {
            expected: from,
            found: sub.clone(),
        });
    }
    Ok((to, ranges))
}
