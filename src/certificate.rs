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

/// `deriv check`: the kernel replays every derivation; then every caption and LaTeX string
/// is recomputed from the replayed terms and compared with the stated one, and a stated
/// vector or matrix form must expand to the replayed result.
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
                    ("latex", &stated.latex, crate::render::latex::latex(&checked.after)),
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
        if let Some(stated) = &d.vector {
            matrix_form_holds(stated, &r.proof).map_err(|why| {
                fail(None, format!("the stated vector form `{stated}` is not the result's: {why}"))
            })?;
        }
        proofs.push(r.proof);
    }
    abbreviations_hold(cert, &proofs).map_err(|reason| Rejection {
        derivation: 0,
        step: None,
        reason,
    })?;
    Ok(proofs)
}

/// The abbreviations a certificate states must be the ones its replayed derivations give
/// (which the kernel's validator accepted with the context), compared as terms.
fn abbreviations_hold(cert: &Certificate, proofs: &[Proof]) -> Result<(), String> {
    let Some(ctx) = proofs.first().map(Proof::context) else {
        return match cert.abbreviations.is_empty() {
            true => Ok(()),
            false => Err("abbreviations are stated for no derivation".into()),
        };
    };
    let computed = crate::render::abbreviations::choose(ctx, &proofs.iter().collect::<Vec<_>>());
    let read = |d: &DefinitionJson| -> Result<(Expr, Expr), String> {
        let name = crate::kernel::read::read_variable(&d.name)?;
        Ok((name, crate::kernel::read::read_term(&d.body, &ctx.indices)?))
    };
    let stated = cert.abbreviations.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    let given: Vec<_> =
        computed.definitions.iter().map(|d| (d.name.clone(), d.body.clone())).collect();
    if stated == given {
        return Ok(());
    }
    let json = abbreviations_json(ctx, &proofs.iter().collect::<Vec<_>>());
    let list = |ds: &[DefinitionJson]| {
        let each: Vec<_> = ds.iter().map(|d| format!("{} = {}", d.name, d.body)).collect();
        format!("[{}]", each.join(", "))
    };
    Err(format!(
        "the stated abbreviations {} are not the ones the derivations give, {}",
        list(&cert.abbreviations),
        list(&json)
    ))
}

/// The abbreviations the writeups of these derivations use, as a certificate states them.
pub fn abbreviations_json(ctx: &Context, proofs: &[&Proof]) -> Vec<DefinitionJson> {
    let chosen = crate::render::abbreviations::choose(ctx, proofs);
    let json = |d: &crate::expr::Definition| DefinitionJson {
        name: print_in(&d.name, ctx),
        body: print_in(&d.body, ctx),
    };
    chosen.definitions.iter().map(json).collect()
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

/// The longest stated vector or matrix form a certificate may hold.
pub const MAX_FORM_LENGTH: usize = 4_000;

/// Whether `stated`, read as a matrix expression, expands at the goal's indices to the
/// last term of `proof`: the stated vector or matrix form of a derivation is its result.
/// The shapes of its names are read off that term, so the check needs nothing from the
/// file the certificate came from.
pub fn matrix_form_holds(stated: &str, proof: &Proof) -> Result<(), String> {
    // Reading and expanding a form costs more than its length: a bound keeps a forged
    // 50 KB form from taking a minute. The engine's forms are a few dozen characters.
    if stated.len() > MAX_FORM_LENGTH {
        return Err(format!("it is longer than {MAX_FORM_LENGTH} characters"));
    }
    let Expr::D(of, wrt) = proof.start_term() else {
        return Err("the derivation is not of a derivative".into());
    };
    let out = crate::matrix::output_indices(of, wrt, proof.context())
        .ok_or("the result is not an entry of a vector or matrix")?;
    // A form states every entry: a result that holds only for some values of an output
    // index (`j in 2..n`, `i != j`, `1 - delta(1, j) != 0`) has none. A sign condition on
    // one output index alone, with no delta and no other index or number as an index
    // (`x_j != 0`), reads the same at every entry: the entry's own.
    let names: Vec<String> = out.iter().map(|i| i.to_string()).collect();
    // (Through the definitions the term names too: `1 - d_j` with `d_i = delta(i, 1)`.)
    let ctx = proof.context();
    let singles_out = |t: &Expr| {
        t.any(&mut |u| {
            matches!(u, Expr::Delta(..)) || u.indices().any(|i| matches!(i, Index::Int(_)))
        })
    };
    // (Not under a hypothesis: `c = x_1` makes `x_j - c != 0` say `j != 1`.)
    let no_hypotheses = proof.assumptions_used().is_empty();
    let entrywise = |c: &rules::Condition| {
        use rules::Condition as C;
        let (C::NonZero(t) | C::Positive(t) | C::NonNegative(t)) = c else { return false };
        // A fixed label in a body is one more index the condition reads.
        let plain = |d: &&crate::expr::Definition| {
            let own = d.name.free_indices();
            !singles_out(&d.body) && d.body.free_indices().iter().all(|k| own.contains(k))
        };
        no_hypotheses
            && !singles_out(t)
            && crate::kernel::validate::reached_definitions(ctx, t).iter().all(plain)
            && t.free_indices().len() == 1
    };
    let on_entries =
        |c: &&rules::Condition| c.free_indices().iter().any(|k| names.contains(k)) && !entrywise(c);
    let conditions = proof.hypotheses();
    if let Some(c) = conditions.iter().find(on_entries) {
        return Err(format!("the result holds only where `{c}`, not for every entry"));
    }
    let result = proof.current();
    let shapes = crate::matrix::infer_shapes(&[result], ctx);
    let m = crate::syntax::parse_matrix(stated, &ctx.indices, &shapes).map_err(|d| d.message)?;
    let mut avoid = result.all_index_names();
    avoid.extend(proof.start_term().all_index_names());
    // No new bound index may take a name the form writes (`y_k` with `k` a size).
    avoid.extend(
        stated
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(String::from),
    );
    let expanded = crate::matrix::expansion(&m, &out, &shapes, ctx, &avoid)?;
    if expanded == *result {
        Ok(())
    } else {
        Err(format!("it expands to `{}`", print_in(&expanded, ctx)))
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
    matrix: Option<&crate::matrix::M>,
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
        vector: matrix.map(|m| crate::matrix::print(m, Some(ctx))),
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
    let st = &s.step;
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
        conditions: s.conditions.iter().map(|c| condition_text(c, ctx)).collect(),
        discharged: s.discharged.iter().map(|c| condition_text(c, ctx)).collect(),
        before: p(&s.before),
        after: p(&s.after),
        latex: crate::render::latex::latex(&s.after),
    }
}

fn caption(rule: &str) -> String {
    rules::spec(rule).map(|r| r.caption.to_string()).unwrap_or_default()
}
