//! Proof certificates: the JSON of `deriv run --format json`, and its replay by the kernel.
//!
//! Writing is rendering a checked [`Proof`]; reading is untrusted parsing whose only
//! output is steps for [`Proof::replay`]. A certificate is accepted when the kernel
//! accepts every step, each stated term is the one the kernel computed, and the stated
//! hypotheses include every condition the kernel left open.

use crate::expr::{Assumption, Bound, Context, Definition, Expr, Index, IndexDecl};
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
    /// Numeric cross-checks; not part of what the kernel replays.
    #[serde(default)]
    pub checks: serde_json::Value,
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
    #[serde(default)]
    pub conditions: Vec<String>,
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
    use rules::Condition::*;
    match c {
        NonZero(e) => format!("{} != 0", print_in(e, ctx)),
        Positive(e) => format!("{} > 0", print_in(e, ctx)),
        other => other.to_string(),
    }
}

/// The vector form of a result, e.g. `a - y` for `a_j - y_j` with respect to `z_j`.
pub fn vector_form(result: &Expr, wrt: &Expr) -> Option<String> {
    vector_expr(result, wrt).map(|v| v.to_string())
}

/// The vector form as a term: every `x_j` of the result written as the vector `x`.
pub fn vector_expr(result: &Expr, wrt: &Expr) -> Option<Expr> {
    let Expr::Idx(_, wi) = wrt else { return None };
    let [Index::Name(j)] = wi.as_slice() else {
        return None;
    };
    if result.free_indices().into_iter().collect::<Vec<_>>() != vec![j.clone()] {
        return None;
    }
    let mut ok = true;
    result.any(&mut |e| {
        match e {
            Expr::Idx(_, ix) => ok &= ix.len() == 1 && ix[0] == Index::Name(j.clone()),
            Expr::Delta(_, _) | Expr::Sum(_) | Expr::D(_, _) => ok = false,
            _ => {}
        }
        false
    });
    if !ok {
        return None;
    }
    Some(strip_index(result))
}

fn strip_index(e: &Expr) -> Expr {
    match e {
        Expr::Idx(name, _) => Expr::Sym(name.clone()),
        _ => e.map_children(strip_index),
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

/// The certificate entry for one checked derivation of `D(of, wrt)`.
pub fn derivation_json(
    proof: &Proof,
    of: &Expr,
    wrt: &Expr,
    checks: serde_json::Value,
) -> DerivationJson {
    let ctx = proof.context();
    let p = |e: &Expr| print_in(e, ctx);
    let steps = proof
        .steps()
        .iter()
        .map(|s| {
            let st = s.step();
            let b = &st.binding;
            StepJson {
                rule: st.rule.clone(),
                caption: rules::spec(&st.rule)
                    .map(|r| r.caption.to_string())
                    .unwrap_or_default(),
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
                conditions: s
                    .conditions()
                    .iter()
                    .map(|c| condition_text(c, ctx))
                    .collect(),
                before: p(s.before()),
                after: p(s.after()),
                latex: crate::render::latex::latex(s.after()),
            }
        })
        .collect();
    DerivationJson {
        of: p(of),
        wrt: p(wrt),
        result: p(proof.current()),
        vector: vector_form(proof.current(), wrt),
        hypotheses: hypotheses(proof),
        steps,
        checks,
    }
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

/// Replay every derivation of a certificate with the kernel alone.
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
    let ctx = Arc::new(read_context(&cert.context).map_err(whole)?);
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
        let mut proof = Proof::start(ctx.clone(), Expr::d(of, wrt));
        for (i, s) in d.steps.iter().enumerate() {
            let at = Some(i + 1);
            let stated_before = parse_expr_in(&s.before, scope)
                .map_err(|e| fail(at, format!("cannot read `before`: {}", e.message)))?;
            if &stated_before != proof.current() {
                return Err(fail(
                    at,
                    format!(
                        "chain broken: the step starts from `{}`, but the previous term is `{}`",
                        s.before,
                        print_in(proof.current(), &ctx)
                    ),
                ));
            }
            let step = read_step(s, scope).map_err(|r| fail(at, r))?;
            proof.apply(step).map_err(|e| fail(at, e.to_string()))?;
            let stated_after = parse_expr_in(&s.after, scope)
                .map_err(|e| fail(at, format!("cannot read `after`: {}", e.message)))?;
            if &stated_after != proof.current() {
                return Err(fail(
                    at,
                    format!(
                        "chain broken: the rule gives `{}`, not `{}`",
                        print_in(proof.current(), &ctx),
                        s.after
                    ),
                ));
            }
        }
        let result = parse_expr_in(&d.result, scope)
            .map_err(|e| fail(None, format!("cannot read `result`: {}", e.message)))?;
        if &result != proof.current() {
            return Err(fail(
                None,
                format!(
                    "chain broken: the steps end at `{}`, not at the stated result `{}`",
                    print_in(proof.current(), &ctx),
                    d.result
                ),
            ));
        }
        for h in hypotheses(&proof) {
            if !d.hypotheses.contains(&h) {
                return Err(fail(None, format!("side condition unmet: the result depends on `{h}`, which the certificate does not state")));
            }
        }
        proofs.push(proof);
    }
    Ok(proofs)
}
