//! Replaying a certificate: the JSON that `deriv run --format json` writes, read with the
//! kernel's own reader and replayed step by step. Every claim the kernel can compute is
//! compared as terms: each step's result and side conditions (carried and proved), each
//! derivation's result and hypotheses, each case of a Jacobian. Presentation (captions,
//! LaTeX, the vector form) is compared outside the kernel, in `crate::certificate`.

use super::read::{read_bound_strict, read_index_strict, read_term, read_variable};
use super::rules::{Binding, Condition};
use super::validate::check_context;
use super::{Proof, Step};
use crate::expr::{Assumption, Context, Definition, Expr, IndexDecl};
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
    /// The writeups' names for repeated subterms: never used by a step, so compared with
    /// what the derivations give outside the kernel, in `crate::certificate`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abbreviations: Vec<DefinitionJson>,
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

/// Why a certificate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Which derivation (from zero), and which step (from one) if a step is at fault.
    pub derivation: usize,
    pub step: Option<usize>,
    pub reason: String,
}

/// Rebuild the context a certificate states (not yet validated: see [`check`]).
pub fn read_context(c: &ContextJson) -> Result<Context, String> {
    let mut ctx = Context::default();
    for ix in &c.indices {
        let (lo, hi) = ix.range.split_once("..").unwrap_or_default();
        let (Ok(lo), Ok(hi)) = (read_bound_strict(lo), read_bound_strict(hi)) else {
            return Err(format!("bad range `{}`", ix.range));
        };
        ctx.indices.push(IndexDecl { names: ix.names.clone(), lo, hi });
    }
    let decls = ctx.indices.clone();
    let term = |t: &str, what: &str| read_term(t, &decls).map_err(|e| format!("{what} `{t}`: {e}"));
    for d in &c.definitions {
        let name = read_variable(&d.name).map_err(|e| format!("definition `{}`: {e}", d.name))?;
        let body = term(&d.body, "definition")?;
        ctx.definitions.push(Definition { name, body });
    }
    for a in &c.assumptions {
        let (lhs, rhs) = (term(&a.lhs, "hypothesis")?, term(&a.rhs, "hypothesis")?);
        ctx.assumptions.push(Assumption { lhs, rhs });
    }
    Ok(ctx)
}

fn read_step(s: &StepJson, decls: &[IndexDecl]) -> Result<Step, String> {
    let term = |t: &str| read_term(t, decls).map_err(|e| format!("cannot read `{t}`: {e}"));
    let mut binding = Binding::default();
    for (k, v) in &s.substitution.terms {
        binding.terms.insert(k.clone(), term(v)?);
    }
    for (k, v) in &s.substitution.indices {
        binding.indices.insert(k.clone(), read_index_strict(v)?);
    }
    for (k, v) in &s.substitution.bounds {
        binding.bounds.insert(k.clone(), read_bound_strict(v)?);
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

/// The most derivations one certificate (or one `.deriv` file) may hold: each proof holds
/// the lemmas before it, so memory grows as their square (5,000: about 100 MB).
pub const MAX_DERIVATIONS: usize = 5_000;

/// A replayed derivation: the proof of `D(of, wrt) = result`, and its cases.
pub struct Replayed {
    pub proof: Proof,
    pub cases: Vec<Proof>,
}

/// Replay every derivation of a certificate with the kernel alone, comparing every claim
/// it makes about the chain with what the kernel computed. `checks` is a record of the
/// numeric evidence, not a claim; captions and LaTeX are presentation.
pub fn check(cert: &Certificate) -> Result<Vec<Replayed>, Rejection> {
    let whole = |reason: String| Rejection { derivation: 0, step: None, reason };
    if cert.derivations.len() > MAX_DERIVATIONS {
        let reason = format!("a certificate holds at most {MAX_DERIVATIONS} derivations");
        return Err(Rejection { derivation: MAX_DERIVATIONS, step: None, reason });
    }
    if cert.format != FORMAT {
        return Err(whole(format!(
            "unknown certificate format `{}` (expected `{FORMAT}`)",
            cert.format
        )));
    }
    let ctx = read_context(&cert.context).map_err(whole)?;
    check_context(&ctx).map_err(|(item, m)| whole(item.describe(&m)))?;
    let ctx = Arc::new(ctx);
    let decls = &ctx.indices;
    let mut out = Vec::new();
    // Each derivation may use the results of those before it, and only those.
    let mut lemmas = Vec::new();
    for (n, d) in cert.derivations.iter().enumerate() {
        let fail = |step: Option<usize>, reason: String| Rejection { derivation: n, step, reason };
        let of =
            read_term(&d.of, decls).map_err(|e| fail(None, format!("cannot read `of`: {e}")))?;
        let wrt =
            read_variable(&d.wrt).map_err(|e| fail(None, format!("cannot read `wrt`: {e}")))?;
        let mut proof = Proof::start_with(ctx.clone(), Expr::d(of, wrt), lemmas.clone())
            .map_err(|e| fail(None, format!("the goal is refused: {e}")))?;
        replay_steps(&mut proof, &d.steps, 0).map_err(|(at, r)| fail(Some(at), r))?;
        check_end(&proof, &d.result, &d.hypotheses).map_err(|r| fail(None, r))?;
        let mut cases = Vec::new();
        for (k, case) in d.cases.iter().enumerate() {
            let in_case = |r: String| format!("case {} ({}): {r}", k + 1, case.case);
            let mut case_proof = proof.clone();
            replay_steps(&mut case_proof, &case.steps, proof.steps().len())
                .map_err(|(at, r)| fail(Some(at), in_case(r)))?;
            check_end(&case_proof, &case.result, &case.hypotheses)
                .map_err(|r| fail(None, in_case(r)))?;
            let states_case = case_proof.hypotheses().iter().any(|h| {
                matches!(h, Condition::IndexEq(..) | Condition::IndexNe(..))
                    && states(&case.case, h, decls)
            });
            let unstated = in_case("the case is not a hypothesis of its steps".into());
            states_case.then_some(()).ok_or_else(|| fail(None, unstated))?;
            cases.push(case_proof);
        }
        lemmas.push(proof.lemma());
        out.push(Replayed { proof, cases });
    }
    Ok(out)
}

/// Replay `steps` onto `proof`, comparing each stated term and condition with the kernel's;
/// a failure names the step, counting from one after the first `from`.
fn replay_steps(proof: &mut Proof, steps: &[StepJson], from: usize) -> Result<(), (usize, String)> {
    let decls = proof.context().indices.clone();
    for (i, s) in steps.iter().enumerate() {
        let at = from + i + 1;
        let fail = |r: String| (at, r);
        let read = |what: &str, t: &str| {
            read_term(t, &decls).map_err(|e| fail(format!("cannot read `{what}`: {e}")))
        };
        if &read("before", &s.before)? != proof.current() {
            return Err(fail(format!(
                "chain broken: the step starts from `{}`, but the previous term is `{}`",
                s.before,
                proof.current()
            )));
        }
        proof.apply(read_step(s, &decls).map_err(fail)?).map_err(|e| fail(e.to_string()))?;
        if &read("after", &s.after)? != proof.current() {
            return Err(fail(format!(
                "chain broken: the rule gives `{}`, not `{}`",
                proof.current(),
                s.after
            )));
        }
        let checked = &proof.steps()[proof.steps().len() - 1];
        for (what, stated, computed) in [
            ("conditions", &s.conditions, &checked.conditions),
            ("discharged", &s.discharged, &checked.discharged),
        ] {
            same_conditions(stated, computed, &decls)
                .map_err(|r| fail(format!("the stated {what}: {r}")))?;
        }
    }
    Ok(())
}

/// The stated conditions are the computed ones, in order, compared as terms.
fn same_conditions(
    stated: &[String],
    computed: &[Condition],
    decls: &[IndexDecl],
) -> Result<(), String> {
    if stated.len() != computed.len() {
        return Err(format!("{} stated where the kernel has {}", stated.len(), computed.len()));
    }
    for (text, c) in stated.iter().zip(computed) {
        if !states(text, c, decls) {
            return Err(format!("`{text}` is not the kernel's `{c}`"));
        }
    }
    Ok(())
}

/// Whether `text` states the kernel's condition `c`: the text must be `c` printed, each
/// term in it read back (with the kernel's reader) to `c`'s term. The literal parts of the
/// printed form (` != 0`, ` in 1..n`, ` for k in …`) hold no term syntax, so they split the
/// text unambiguously.
fn states(text: &str, c: &Condition, decls: &[IndexDecl]) -> bool {
    const HOLE: &str = "\u{1}";
    let terms = std::cell::RefCell::new(Vec::new());
    let template = c.text(&|e| {
        terms.borrow_mut().push(e.clone());
        HOLE.to_string()
    });
    let mut pieces = template.split(HOLE);
    let Some(mut rest) = pieces.next().and_then(|first| text.trim().strip_prefix(first)) else {
        return false;
    };
    for (term, literal) in terms.into_inner().iter().zip(pieces) {
        let end = if literal.is_empty() { Some(rest.len()) } else { rest.find(literal) };
        match end.map(|end| (read_term(&rest[..end], decls), end)) {
            Some((Ok(read), end)) if read == *term => rest = &rest[end + literal.len()..],
            _ => return false,
        }
    }
    rest.is_empty()
}

/// The stated result and hypotheses are exactly those of the replayed chain: the context
/// hypotheses it used, then the conditions it left open, in order.
fn check_end(proof: &Proof, result: &str, stated: &[String]) -> Result<(), String> {
    let ctx = proof.context();
    let result_term =
        read_term(result, &ctx.indices).map_err(|e| format!("cannot read `result`: {e}"))?;
    if &result_term != proof.current() {
        return Err(format!(
            "chain broken: the steps end at `{}`, not at the stated result `{result}`",
            proof.current()
        ));
    }
    let used = proof.assumptions_used();
    let conditions = proof.hypotheses();
    // A chain under `i = j` and `i != j` at once (or `i = k`, `k = j`, `i != j`, or
    // `i = 1`, `i = 2`) proves nothing about either case.
    if let Some(why) = super::cases::contradicted(ctx, proof.start_term(), &conditions) {
        return Err(format!("side condition unmet: {why}"));
    }
    if stated.len() != used.len() + conditions.len() {
        return Err(format!(
            "side condition unmet: the result depends on {} hypotheses and conditions, but the certificate states {}",
            used.len() + conditions.len(),
            stated.len()
        ));
    }
    for (text, n) in stated.iter().zip(&used) {
        let h = &ctx.assumptions[n - 1];
        let (lhs, rhs) =
            text.split_once(" = ").ok_or_else(|| format!("`{text}` is not hypothesis {n}"))?;
        let read = |t: &str| read_term(t.trim(), &ctx.indices).ok();
        if read(lhs).as_ref() != Some(&h.lhs) || read(rhs).as_ref() != Some(&h.rhs) {
            return Err(format!("`{text}` is not hypothesis {n}, which the chain used"));
        }
    }
    same_conditions(&stated[used.len()..], &conditions, &ctx.indices)
        .map_err(|r| format!("side condition unmet: {r}"))
}
