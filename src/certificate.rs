//! Proof certificates: writing the JSON of `deriv run --format json` from checked proofs,
//! and `deriv check`: the kernel's replay (`kernel::certificate`, trusted) followed by the
//! comparison of what only presentation states (captions, LaTeX, vector forms), here.

use crate::expr::{Context, Expr, Index};
pub use crate::kernel::certificate::{
    read_context, AssumptionJson, CaseJson, Certificate, ContextJson, DefinitionJson,
    DerivationJson, IndexJson, Rejection, StepJson, SubstitutionJson, FORMAT,
};
use crate::kernel::Proof;
use crate::render::plain::print_in;
use crate::rules;

/// How `deriv check` words a refusal (the kernel's `Rejection`, printed outside it).
impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = self.step.map(|s| format!(", step {s}")).unwrap_or_default();
        write!(f, "derivation {}{step}: {}", self.derivation + 1, self.reason)
    }
}

/// `deriv check`: the kernel replays every derivation; then every caption, LaTeX string and
/// vector form is recomputed from the replayed terms and compared with the stated one.
pub fn check(cert: &Certificate) -> Result<Vec<Proof>, Rejection> {
    let replayed = crate::kernel::certificate::check(cert)?;
    let mut proofs = Vec::new();
    for (n, (r, d)) in replayed.into_iter().zip(&cert.derivations).enumerate() {
        let fail = |step: Option<usize>, reason: String| Rejection { derivation: n, step, reason };
        let main = r.proof.steps().len();
        let shown = std::iter::once((&r.proof, &d.steps[..], 0))
            .chain(r.cases.iter().zip(&d.cases).map(|(p, c)| (p, &c.steps[..], main)));
        for (proof, steps, from) in shown {
            for (k, (checked, stated)) in proof.steps()[from..].iter().zip(steps).enumerate() {
                let pairs = [
                    ("caption", &stated.caption, caption(&stated.rule)),
                    ("latex", &stated.latex, crate::render::latex::latex(checked.after())),
                ];
                for (what, stated, computed) in pairs {
                    if *stated != computed {
                        return Err(fail(
                            Some(from + k + 1),
                            format!("the stated {what} `{stated}` is not `{computed}`"),
                        ));
                    }
                }
            }
        }
        let wrt = match r.proof.start_term() {
            Expr::D(_, x) => (**x).clone(),
            other => other.clone(),
        };
        let vector = vector_form(r.proof.current(), &wrt, r.proof.context());
        if d.vector != vector {
            return Err(fail(
                None,
                format!("the stated vector form {:?} is not the result's, {vector:?}", d.vector),
            ));
        }
        proofs.push(r.proof);
    }
    Ok(proofs)
}

/// The hypotheses of a checked derivation: the context hypotheses it used, then the
/// side conditions it could not discharge.
pub fn hypotheses(proof: &Proof) -> Vec<String> {
    let ctx = proof.context();
    let mut out: Vec<String> = proof
        .assumptions_used()
        .into_iter()
        .filter_map(|n| ctx.assumptions.get(n - 1))
        .map(|a| format!("{} = {}", print_in(&a.lhs, ctx), print_in(&a.rhs, ctx)))
        .collect();
    out.extend(proof.hypotheses().iter().map(|c| condition_text(c, ctx)));
    out
}

fn condition_text(c: &rules::Condition, ctx: &Context) -> String {
    c.text(&|e| print_in(e, ctx))
}

/// The vector form of a result, e.g. `a - y` for `a_j - y_j` with respect to `z_j`.
pub fn vector_form(result: &Expr, wrt: &Expr, ctx: &Context) -> Option<String> {
    vector_expr(result, wrt, ctx).map(|v| print_in(&v, ctx))
}

/// The vector form as a term: every `x_j` of the result written as the vector `x`. Only
/// where that reading is unambiguous: writing `j` back onto each vector name gives the
/// result again, and no vector name is also a scalar of the result or the context.
pub fn vector_expr(result: &Expr, wrt: &Expr, ctx: &Context) -> Option<Expr> {
    let Expr::Idx(_, wi) = wrt else { return None };
    let [Index::Name(j)] = wi.as_slice() else {
        return None;
    };
    // With respect to one fixed component (`z_k` for a fixed label `k`): no vector.
    if ctx.fixed_labels().contains_key(j) {
        return None;
    }
    if result.free_indices().into_iter().collect::<Vec<_>>() != vec![j.clone()] {
        return None;
    }
    let mut ok = true;
    let mut vectors = std::collections::BTreeSet::new();
    result.any(&mut |e| {
        match e {
            Expr::Idx(name, ix) => {
                ok &= ix.len() == 1 && ix[0] == Index::Name(j.clone());
                vectors.insert(name.clone());
            }
            Expr::Delta(_, _) | Expr::Sum(_) | Expr::D(_, _) => ok = false,
            _ => {}
        }
        false
    });
    let scalar = |name: &String| {
        let used_bare = |t: &Expr| t.any(&mut |u| matches!(u, Expr::Sym(s) if s == name));
        used_bare(result)
            || ctx.definitions.iter().any(|d| used_bare(&d.name) || used_bare(&d.body))
            || ctx.assumptions.iter().any(|a| used_bare(&a.lhs) || used_bare(&a.rhs))
    };
    if !ok || vectors.iter().any(scalar) {
        return None;
    }
    let vector = strip_index(result);
    (reindex(&vector, &vectors, j) == *result).then_some(vector)
}

fn strip_index(e: &Expr) -> Expr {
    match e {
        Expr::Idx(name, _) => Expr::Sym(name.clone()),
        _ => e.map_children(strip_index),
    }
}

/// The inverse of [`strip_index`] on the vector names.
fn reindex(e: &Expr, vectors: &std::collections::BTreeSet<String>, j: &str) -> Expr {
    match e {
        Expr::Sym(name) if vectors.contains(name) => {
            Expr::Idx(name.clone(), vec![Index::Name(j.to_string())])
        }
        _ => e.map_children(|c| reindex(c, vectors, j)),
    }
}

pub fn context_json(ctx: &Context) -> ContextJson {
    ContextJson {
        indices: ctx
            .indices
            .iter()
            .map(|d| IndexJson { names: d.names.clone(), range: format!("{}..{}", d.lo, d.hi) })
            .collect(),
        definitions: ctx
            .definitions
            .iter()
            .map(|d| DefinitionJson { name: print_in(&d.name, ctx), body: print_in(&d.body, ctx) })
            .collect(),
        assumptions: ctx
            .assumptions
            .iter()
            .map(|a| AssumptionJson { lhs: print_in(&a.lhs, ctx), rhs: print_in(&a.rhs, ctx) })
            .collect(),
    }
}

/// The certificate entry for one checked derivation of `D(of, wrt)`, with its cases.
pub fn derivation_json(
    proof: &Proof,
    of: &Expr,
    wrt: &Expr,
    cases: &[&Proof],
    checks: serde_json::Value,
) -> DerivationJson {
    let ctx = proof.context();
    let p = |e: &Expr| print_in(e, ctx);
    let main = proof.steps().len();
    DerivationJson {
        of: p(of),
        wrt: p(wrt),
        result: p(proof.current()),
        vector: vector_form(proof.current(), wrt, ctx),
        hypotheses: hypotheses(proof),
        steps: proof.steps().iter().map(|s| step_json(s, ctx)).collect(),
        cases: cases
            .iter()
            .map(|c| CaseJson {
                case: c
                    .hypotheses()
                    .iter()
                    .find(|h| {
                        matches!(h, rules::Condition::IndexEq(..) | rules::Condition::IndexNe(..))
                    })
                    .map(|h| condition_text(h, ctx))
                    .unwrap_or_default(),
                steps: c.steps()[main..].iter().map(|s| step_json(s, ctx)).collect(),
                result: p(c.current()),
                hypotheses: hypotheses(c),
            })
            .collect(),
        checks,
    }
}

fn step_json(s: &crate::kernel::CheckedStep, ctx: &Context) -> StepJson {
    let p = |e: &Expr| print_in(e, ctx);
    let st = s.step();
    let b = &st.binding;
    StepJson {
        rule: st.rule.clone(),
        caption: caption(&st.rule),
        position: st.position.clone(),
        substitution: SubstitutionJson {
            terms: b.terms.iter().map(|(k, v)| (k.clone(), p(v))).collect(),
            indices: b.indices.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            bounds: b.bounds.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        },
        uses: st.uses.clone(),
        reversed: st.reversed,
        replacement: st.replacement.as_ref().map(p),
        conditions: s.conditions().iter().map(|c| condition_text(c, ctx)).collect(),
        discharged: s.discharged().iter().map(|c| condition_text(c, ctx)).collect(),
        before: p(s.before()),
        after: p(s.after()),
        latex: crate::render::latex::latex(s.after()),
    }
}

fn caption(rule: &str) -> String {
    rules::spec(rule).map(|r| r.caption.to_string()).unwrap_or_default()
}
