//! Proof certificates: the JSON of `deriv run --format json`, and its replay by the kernel.
//!
//! Writing is rendering a checked [`Proof`]; reading is untrusted parsing whose only
//! output is steps for [`Proof::replay`]. A certificate is accepted when the kernel
//! accepts every step, each stated term is the one the kernel computed, and the stated
//! hypotheses include every condition the kernel left open.

use crate::expr::{Assumption, Bound, Context, Definition, Expr, Index, IndexDecl};
use crate::kernel::validate::Item;
use crate::kernel::{Proof, Step};
use crate::render::plain::print_in;
use crate::rules::{self, Binding};
use crate::syntax::{parse_expr_in, parse_variable, IndexScope};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Identifies the format, so a reader can refuse what it does not know.
pub const FORMAT: &str = "deriv-certificate-1";

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Certificate {
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub context: ContextJson,
    pub derivations: Vec<DerivationJson>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct ContextJson {
    pub indices: Vec<IndexJson>,
    pub definitions: Vec<DefinitionJson>,
    pub assumptions: Vec<AssumptionJson>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct IndexJson {
    pub names: Vec<String>,
    /// `1..n`
    pub range: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct DefinitionJson {
    pub name: String,
    pub body: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct AssumptionJson {
    pub lhs: String,
    pub rhs: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct DerivationJson {
    pub of: String,
    pub wrt: String,
    pub result: String,
    pub vector: Option<String>,
    /// Hypotheses used and side conditions left open, in the expression syntax.
    pub hypotheses: Vec<String>,
    pub steps: Vec<StepJson>,
    /// The cases of a Jacobian (`i = j`, `i != j`), each going on from the result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<CaseJson>,
    /// Numeric cross-checks: a record of what was run, not a claim `deriv check` verifies.
    #[serde(default)]
    pub checks: serde_json::Value,
}

/// One case of a Jacobian: steps that go on from the derivation's result under the case's
/// hypothesis, which `hypotheses` lists with the rest.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct CaseJson {
    pub case: String,
    pub steps: Vec<StepJson>,
    pub result: String,
    pub hypotheses: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct StepJson {
    pub rule: String,
    #[serde(default)]
    pub caption: String,
    pub position: Vec<usize>,
    #[serde(default)]
    pub substitution: SubstitutionJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reversed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// Side conditions the kernel could not decide: carried as hypotheses of the result.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Side conditions the kernel proved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discharged: Vec<String>,
    pub before: String,
    pub after: String,
    #[serde(default)]
    pub latex: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct SubstitutionJson {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub terms: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indices: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bounds: BTreeMap<String, String>,
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
            .map(|d| IndexJson {
                names: d.names.clone(),
                range: format!("{}..{}", d.lo, d.hi),
            })
            .collect(),
        definitions: ctx
            .definitions
            .iter()
            .map(|d| DefinitionJson {
                name: print_in(&d.name, ctx),
                body: print_in(&d.body, ctx),
            })
            .collect(),
        assumptions: ctx
            .assumptions
            .iter()
            .map(|a| AssumptionJson {
                lhs: print_in(&a.lhs, ctx),
                rhs: print_in(&a.rhs, ctx),
            })
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
                    .find(|h| matches!(h, rules::Condition::IndexEq(..) | rules::Condition::IndexNe(..)))
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
            indices: b
                .indices
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            bounds: b
                .bounds
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
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
    rules::spec(rule)
        .map(|r| r.caption.to_string())
        .unwrap_or_default()
}

/// Why a certificate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Which derivation (from zero), and which step (from one) if a step is at fault.
    pub derivation: usize,
    pub step: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.step {
            Some(s) => write!(
                f,
                "derivation {}, step {}: {}",
                self.derivation + 1,
                s,
                self.reason
            ),
            None => write!(f, "derivation {}: {}", self.derivation + 1, self.reason),
        }
    }
}

fn parse_bound(s: &str) -> Bound {
    s.trim()
        .parse::<i64>()
        .map(Bound::Int)
        .unwrap_or_else(|_| Bound::Sym(s.trim().to_string()))
}

fn parse_index(s: &str) -> Index {
    s.trim()
        .parse::<i64>()
        .map(Index::Int)
        .unwrap_or_else(|_| Index::Name(s.trim().to_string()))
}

/// Rebuild the context a certificate states.
pub fn read_context(c: &ContextJson) -> Result<Context, String> {
    let mut ctx = Context::default();
    for ix in &c.indices {
        let (lo, hi) = ix
            .range
            .split_once("..")
            .ok_or_else(|| format!("bad range `{}`", ix.range))?;
        ctx.indices.push(IndexDecl {
            names: ix.names.clone(),
            lo: parse_bound(lo),
            hi: parse_bound(hi),
        });
    }
    let decls = ctx.indices.clone();
    let scope = IndexScope::Declared(&decls);
    for d in &c.definitions {
        let name = parse_variable(&d.name, scope)
            .map_err(|e| format!("definition `{}`: {}", d.name, e.message))?;
        let body = parse_expr_in(&d.body, scope)
            .map_err(|e| format!("definition `{}`: {}", d.name, e.message))?;
        ctx.definitions.push(Definition { name, body });
    }
    for a in &c.assumptions {
        let lhs = parse_expr_in(&a.lhs, scope)
            .map_err(|e| format!("hypothesis `{}`: {}", a.lhs, e.message))?;
        let rhs = parse_expr_in(&a.rhs, scope)
            .map_err(|e| format!("hypothesis `{}`: {}", a.rhs, e.message))?;
        ctx.assumptions.push(Assumption { lhs, rhs });
    }
    Ok(ctx)
}

fn read_step(s: &StepJson, scope: IndexScope) -> Result<Step, String> {
    let term =
        |t: &str| parse_expr_in(t, scope).map_err(|e| format!("cannot read `{t}`: {}", e.message));
    let mut binding = Binding::default();
    for (k, v) in &s.substitution.terms {
        binding.terms.insert(k.clone(), term(v)?);
    }
    for (k, v) in &s.substitution.indices {
        binding.indices.insert(k.clone(), parse_index(v));
    }
    for (k, v) in &s.substitution.bounds {
        binding.bounds.insert(k.clone(), parse_bound(v));
    }
    Ok(Step {
        rule: s.rule.clone(),
        position: s.position.clone(),
        binding,
        reversed: s.reversed,
        uses: s.uses.clone(),
        replacement: s.replacement.as_deref().map(term).transpose()?,
    })
}

/// Replay every derivation of a certificate with the kernel alone, and compare every
/// claim it makes (terms, captions, LaTeX, side conditions, hypotheses, vector forms, cases)
/// with what the kernel computed. Only `checks` is a record, not a claim.
pub fn check(cert: &Certificate) -> Result<Vec<Proof>, Rejection> {
    let whole = |reason: String| Rejection {
        derivation: 0,
        step: None,
        reason,
    };
    if cert.format != FORMAT {
        return Err(whole(format!(
            "unknown certificate format `{}` (expected `{FORMAT}`)",
            cert.format
        )));
    }
    let ctx = read_context(&cert.context).map_err(whole)?;
    crate::kernel::validate::check_context(&ctx).map_err(|(item, m)| {
        whole(match item {
            Item::Definition(k) => format!("definition {}: {m}", k + 1),
            Item::Hypothesis(k) => format!("hypothesis {}: {m}", k + 1),
        })
    })?;
    let ctx = Arc::new(ctx);
    let decls = ctx.indices.clone();
    let scope = IndexScope::Certificate(&decls);
    let mut proofs = Vec::new();
    for (n, d) in cert.derivations.iter().enumerate() {
        let fail = |step: Option<usize>, reason: String| Rejection {
            derivation: n,
            step,
            reason,
        };
        let of = parse_expr_in(&d.of, scope)
            .map_err(|e| fail(None, format!("cannot read `of`: {}", e.message)))?;
        let wrt = parse_variable(&d.wrt, scope)
            .map_err(|e| fail(None, format!("cannot read `wrt`: {}", e.message)))?;
        let mut proof = Proof::start(ctx.clone(), Expr::d(of, wrt.clone()))
            .map_err(|e| fail(None, format!("the goal is refused: {e}")))?;
        replay_steps(&mut proof, &d.steps, scope, 0).map_err(|(at, r)| fail(Some(at), r))?;
        check_end(&proof, &d.result, &d.hypotheses, scope).map_err(|r| fail(None, r))?;
        let vector = vector_form(proof.current(), &wrt, &ctx);
        if d.vector != vector {
            return Err(fail(
                None,
                format!(
                    "the stated vector form {:?} is not the result's, {:?}",
                    d.vector, vector
                ),
            ));
        }
        for (k, case) in d.cases.iter().enumerate() {
            let mut case_proof = proof.clone();
            let from = proof.steps().len();
            let in_case = |r: String| format!("case {} ({}): {r}", k + 1, case.case);
            replay_steps(&mut case_proof, &case.steps, scope, from)
                .map_err(|(at, r)| fail(Some(at), in_case(r)))?;
            check_end(&case_proof, &case.result, &case.hypotheses, scope)
                .map_err(|r| fail(None, in_case(r)))?;
            let states_case = case_proof.hypotheses().iter().any(|h| {
                matches!(h, rules::Condition::IndexEq(..) | rules::Condition::IndexNe(..))
                    && read_condition_like(&case.case, h, scope).as_ref() == Some(h)
            });
            if !states_case {
                return Err(fail(None, in_case("the case is not a hypothesis of its steps".into())));
            }
        }
        proofs.push(proof);
    }
    Ok(proofs)
}

/// Replay `steps` onto `proof`, comparing each stated claim with the kernel's; a failure
/// names the step, counting from one and from `offset`.
fn replay_steps(
    proof: &mut Proof,
    steps: &[StepJson],
    scope: IndexScope,
    offset: usize,
) -> Result<(), (usize, String)> {
    for (i, s) in steps.iter().enumerate() {
        let at = offset + i + 1;
        let fail = |r: String| (at, r);
        let ctx = proof.context().clone();
        let read = |what: &str, t: &str| {
            parse_expr_in(t, scope).map_err(|e| fail(format!("cannot read `{what}`: {}", e.message)))
        };
        if &read("before", &s.before)? != proof.current() {
            return Err(fail(format!(
                "chain broken: the step starts from `{}`, but the previous term is `{}`",
                s.before,
                print_in(proof.current(), &ctx)
            )));
        }
        let step = read_step(s, scope).map_err(fail)?;
        proof.apply(step).map_err(|e| fail(e.to_string()))?;
        if &read("after", &s.after)? != proof.current() {
            return Err(fail(format!(
                "chain broken: the rule gives `{}`, not `{}`",
                print_in(proof.current(), &ctx),
                s.after
            )));
        }
        let checked = &proof.steps()[proof.steps().len() - 1];
        let shown = [
            ("caption", &s.caption, caption(&s.rule)),
            ("latex", &s.latex, crate::render::latex::latex(proof.current())),
        ];
        for (what, stated, computed) in shown {
            if *stated != computed {
                return Err(fail(format!(
                    "the stated {what} `{stated}` is not `{computed}`"
                )));
            }
        }
        let kinds = [
            ("conditions", &s.conditions, checked.conditions()),
            ("discharged", &s.discharged, checked.discharged()),
        ];
        for (what, stated, computed) in kinds {
            same_conditions(stated, computed, scope)
                .map_err(|r| fail(format!("the stated {what}: {r}")))?;
        }
    }
    Ok(())
}

/// The stated conditions are the computed ones, in order, compared as terms.
fn same_conditions(
    stated: &[String],
    computed: &[rules::Condition],
    scope: IndexScope,
) -> Result<(), String> {
    if stated.len() != computed.len() {
        return Err(format!(
            "{} stated where the kernel has {}",
            stated.len(),
            computed.len()
        ));
    }
    for (text, c) in stated.iter().zip(computed) {
        if read_condition_like(text, c, scope).as_ref() != Some(c) {
            return Err(format!("`{text}` is not the kernel's `{c}`"));
        }
    }
    Ok(())
}

/// Read `text` as a condition of the same kind as `like` (the kernel's): the kind is known,
/// so the texts need no grammar of their own.
fn read_condition_like(
    text: &str,
    like: &rules::Condition,
    scope: IndexScope,
) -> Option<rules::Condition> {
    use rules::Condition as C;
    let term = |t: &str| parse_expr_in(t.trim(), scope).ok();
    let variable = |t: &str| parse_variable(t.trim(), scope).ok();
    let index = |t: &str| Some(parse_index(t));
    let range = |t: &str| {
        let (lo, hi) = t.trim().split_once("..")?;
        Some((parse_bound(lo), parse_bound(hi)))
    };
    Some(match like {
        C::NonZero(_) => C::NonZero(term(text.strip_suffix(" != 0")?)?),
        C::Positive(_) => C::Positive(term(text.strip_suffix(" > 0")?)?),
        C::Integer(_) => C::Integer(term(text.strip_suffix(" is an integer")?)?),
        C::Natural(_) => C::Natural(term(text.strip_suffix(" is a positive integer")?)?),
        C::IndexFree(..) => {
            let (e, k) = text.rsplit_once(" is free of the index ")?;
            C::IndexFree(index(k)?, term(e)?)
        }
        C::FreeOf(..) => {
            let (e, x) = text.rsplit_once(" does not depend on ")?;
            C::FreeOf(variable(x)?, term(e)?)
        }
        C::InRange(..) => {
            let (j, r) = text.split_once(" in ")?;
            let (lo, hi) = range(r)?;
            C::InRange(index(j)?, lo, hi)
        }
        C::RangeLength(..) => {
            let (hi, lo) = text.split_once(" >= ")?;
            C::RangeLength(parse_bound(lo.strip_suffix(" - 1")?), parse_bound(hi))
        }
        C::IndexEq(..) => {
            let (i, j) = text.split_once(" = ")?;
            C::IndexEq(index(i)?, index(j)?)
        }
        C::IndexNe(..) => {
            let (i, j) = text.split_once(" != ")?;
            C::IndexNe(index(i)?, index(j)?)
        }
        C::ForAll(_, _, _, inner) => {
            let (c, quantifier) = text.rsplit_once(" for ")?;
            let (k, r) = quantifier.split_once(" in ")?;
            let (lo, hi) = range(r)?;
            C::ForAll(k.trim().to_string(), lo, hi, Box::new(read_condition_like(c, inner, scope)?))
        }
    })
}

/// The stated result and hypotheses are exactly those of the replayed chain.
fn check_end(
    proof: &Proof,
    result: &str,
    stated: &[String],
    scope: IndexScope,
) -> Result<(), String> {
    let ctx = proof.context();
    let result_term = parse_expr_in(result, scope)
        .map_err(|e| format!("cannot read `result`: {}", e.message))?;
    if &result_term != proof.current() {
        return Err(format!(
            "chain broken: the steps end at `{}`, not at the stated result `{result}`",
            print_in(proof.current(), ctx),
        ));
    }
    // The context hypotheses the chain used, then the conditions it left open, in order.
    let used = proof.assumptions_used();
    let conditions = proof.hypotheses();
    if stated.len() != used.len() + conditions.len() {
        return Err(format!(
            "side condition unmet: the result depends on {}, but the certificate states {}",
            hypotheses(proof).join("; "),
            stated.join("; ")
        ));
    }
    for (text, n) in stated.iter().zip(&used) {
        let h = &ctx.assumptions[n - 1];
        let (lhs, rhs) = text
            .split_once(" = ")
            .ok_or_else(|| format!("`{text}` is not hypothesis {n}"))?;
        let read = |t: &str| parse_expr_in(t.trim(), scope).ok();
        if read(lhs).as_ref() != Some(&h.lhs) || read(rhs).as_ref() != Some(&h.rhs) {
            return Err(format!("`{text}` is not hypothesis {n}, which the chain used"));
        }
    }
    same_conditions(&stated[used.len()..], &conditions, scope)
        .map_err(|r| format!("side condition unmet: {r}"))
}
