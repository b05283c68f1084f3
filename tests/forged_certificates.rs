//! Forged certificates: false chains written the way an adversary would, one per file in
//! `tests/forged/`. Each must be refused by `deriv check` with exit status 1, naming the
//! forged step (or the context item at fault), while every other step is one the kernel
//! accepts, so the refusal is for the right reason. Where the chain has steps, the test
//! also shows numerically that its two ends differ: the claim is false, not just odd.
//!
//! The file format, one item per line (`#` starts a comment):
//!
//! ```text
//! index: i, j in 1..n          a context line: index, let or assume (not validated here)
//! let: a = x^2
//! assume: x = 2
//! goal: D(x^2, x)
//! step: use-hypothesis ; at=0,0 ; uses=1 ; => D(2^2, x)
//! step: derivative-of-constant ; t:X=x ; t:C=2^2 ; => 0
//! reject: step 1               or `reject: context` / `reject: goal`, and then
//! says: hypothesis 1 involves  text the message must contain
//! ```
//!
//! A step's fields: `at=0,1` (the position), `t:M=TERM`, `i:M=INDEX`, `b:M=BOUND` (the
//! binding), `uses=…`, `rev`, `with=TERM` (the replacement), and `=> TERM` (the claimed
//! result).
//!
//! A forgery against lemmas starts from honest work instead of `index:`/`let:`/`assume:`
//! lines: `deriv: LINE` lines are a `.deriv` file, whose certificate (`deriv run --format
//! json`) gives the context and the derivations before the forged one, which may use
//! their results (`use-lemma`, `uses=1`). The forged derivation is then number k + 1.

#[path = "common/cli.rs"]
mod cli;

use deriv::certificate::{
    read_context, AssumptionJson, Certificate, ContextJson, DefinitionJson, DerivationJson,
    IndexJson, StepJson, SubstitutionJson, FORMAT,
};
use deriv::expr::{Context, Expr};
use deriv::kernel::{rewrite, Lemma, Proof, Rewritten, Step};
use deriv::numeric::{check_equal, CheckError, CheckOptions};
use deriv::rules::Binding;
use deriv::syntax::{parse_expr_in, parse_variable, IndexScope};
use std::path::Path;
use std::sync::Arc;

struct Forgery {
    name: String,
    context: ContextJson,
    goal: String,
    steps: Vec<ForgedStep>,
    reject: String,
    says: Vec<String>,
    /// Whether the test should show numerically that the chain's ends differ.
    refute: bool,
    /// A `.deriv` file whose derivations come first (their results are lemmas).
    source: String,
}

struct ForgedStep {
    json: StepJson,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix(key).map(str::trim)
}

fn read_forgery(path: &Path) -> Forgery {
    let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut f = Forgery {
        name: name.clone(),
        context: ContextJson::default(),
        goal: String::new(),
        steps: Vec::new(),
        reject: String::new(),
        says: Vec::new(),
        refute: false,
        source: String::new(),
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(rest) = field(line, "index:") {
            let (names, range) = rest.split_once(" in ").expect("index: NAMES in RANGE");
            f.context.indices.push(IndexJson {
                names: names.split(',').map(|n| n.trim().to_string()).collect(),
                range: range.trim().to_string(),
            });
        } else if let Some(rest) = field(line, "let:") {
            let (n, body) = rest.split_once(" = ").expect("let: NAME = BODY");
            f.context
                .definitions
                .push(DefinitionJson { name: n.trim().into(), body: body.trim().into() });
        } else if let Some(rest) = field(line, "assume:") {
            let (l, r) = rest.split_once(" = ").expect("assume: LHS = RHS");
            f.context
                .assumptions
                .push(AssumptionJson { lhs: l.trim().into(), rhs: r.trim().into() });
        } else if let Some(rest) = field(line, "deriv:") {
            f.source.push_str(rest);
            f.source.push('\n');
        } else if let Some(rest) = field(line, "goal:") {
            f.goal = rest.to_string();
        } else if let Some(rest) = field(line, "step:") {
            f.steps.push(read_step(rest, &name));
        } else if let Some(rest) = field(line, "reject:") {
            f.reject = rest.to_string();
        } else if let Some(rest) = field(line, "says:") {
            f.says.push(rest.to_string());
        } else if field(line, "refute:") == Some("numeric") {
            f.refute = true;
        } else {
            panic!("{name}: cannot read `{line}`");
        }
    }
    assert!(!f.reject.is_empty(), "{name}: no `reject:` line");
    f
}

fn read_step(text: &str, name: &str) -> ForgedStep {
    let (fields, after) = text.split_once("=>").unwrap_or_else(|| panic!("{name}: `=> AFTER`"));
    let mut parts = fields.split(';').map(str::trim).filter(|p| !p.is_empty());
    let rule = parts.next().expect("a rule").to_string();
    let mut json = StepJson {
        caption: deriv::rules::spec(&rule).map(|r| r.caption.to_string()).unwrap_or_default(),
        rule,
        position: Vec::new(),
        substitution: SubstitutionJson::default(),
        uses: None,
        reversed: false,
        replacement: None,
        conditions: Vec::new(),
        discharged: Vec::new(),
        before: String::new(),
        after: after.trim().to_string(),
        latex: String::new(),
    };
    for p in parts {
        let (key, value) = p.split_once('=').map_or((p, ""), |(k, v)| (k.trim(), v.trim()));
        let meta = |k: &str| k.split_once(':').map(|(_, m)| m.to_string());
        match key {
            "at" => {
                json.position = value
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse().expect("a position number"))
                    .collect()
            }
            "uses" => json.uses = Some(value.into()),
            "rev" => json.reversed = true,
            "with" => json.replacement = Some(value.into()),
            "cond" => json.conditions.push(value.into()),
            k if k.starts_with("t:") => {
                json.substitution.terms.insert(meta(k).unwrap(), value.into());
            }
            k if k.starts_with("i:") => {
                json.substitution.indices.insert(meta(k).unwrap(), value.into());
            }
            k if k.starts_with("b:") => {
                json.substitution.bounds.insert(meta(k).unwrap(), value.into());
            }
            other => panic!("{name}: unknown step field `{other}`"),
        }
    }
    ForgedStep { json }
}

/// The kernel's step for a stated one, as `deriv check` reads it.
fn kernel_step(s: &StepJson, scope: IndexScope) -> Step {
    let term = |t: &String| parse_expr_in(t, scope).expect("a term");
    let mut binding = Binding::default();
    for (k, v) in &s.substitution.terms {
        binding.terms.insert(k.clone(), term(v));
    }
    for (k, v) in &s.substitution.indices {
        let ix = v.parse().map(deriv::expr::Index::Int);
        binding.indices.insert(k.clone(), ix.unwrap_or(deriv::expr::Index::Name(v.clone())));
    }
    for (k, v) in &s.substitution.bounds {
        let b = deriv::kernel::read::read_bound_strict(v).expect("a range bound");
        binding.bounds.insert(k.clone(), b);
    }
    Step {
        rule: s.rule.clone(),
        position: s.position.clone(),
        binding,
        reversed: s.reversed,
        uses: s.uses.clone(),
        replacement: s.replacement.as_ref().map(term),
    }
}

/// The honest certificate of the forgery's `.deriv` source, and the lemmas it proves.
fn honest(f: &Forgery) -> Option<(ContextJson, Vec<DerivationJson>, Vec<Lemma>)> {
    if f.source.is_empty() {
        return None;
    }
    let run = cli::run(&["run", "--format", "json", "-"], Some(&f.source));
    assert_eq!(run.status, 0, "{}: the honest source derives: {}", f.name, run.stderr);
    let cert: Certificate = serde_json::from_str(&run.stdout).expect("a certificate");
    let replayed = deriv::kernel::certificate::check(&cert).expect("the honest part replays");
    let lemmas = replayed.iter().map(|r| r.proof.lemma()).collect();
    Some((cert.context, cert.derivations, lemmas))
}

/// What the kernel makes of `step` at `term`, with `lemmas` in scope: the result, the
/// conditions left open and those proved.
fn replay(ctx: &Context, lemmas: &[Lemma], term: &Expr, step: &Step) -> Result<Rewritten, String> {
    if lemmas.is_empty() {
        return rewrite(ctx, term, step).map_err(|e| e.to_string());
    }
    let mut proof = Proof::start_with(Arc::new(ctx.clone()), term.clone(), lemmas.to_vec())
        .map_err(|e| e.to_string())?;
    proof.apply(step.clone()).map_err(|e| e.to_string())?;
    let s = &proof.steps()[0];
    Ok((s.after.clone(), s.conditions.to_vec(), s.discharged.to_vec()))
}

/// The certificate the forgery states: the honest steps' conditions as the kernel computes
/// them (so only the forged step is at fault), the forged step claiming none.
fn certificate(f: &mut Forgery) -> (Certificate, Option<(Context, Expr, Expr)>) {
    let (mut derivations, mut lemmas) = (Vec::new(), Vec::new());
    if let Some((context, before, proved)) = honest(f) {
        (f.context, derivations, lemmas) = (context, before, proved);
    }
    let ctx = read_context(&f.context).unwrap_or_else(|e| panic!("{}: {e}", f.name));
    let decls = ctx.indices.clone();
    let scope = IndexScope::Certificate(&decls);
    let (of, wrt) = {
        let inner = f.goal.strip_prefix("D(").and_then(|g| g.strip_suffix(')'));
        let inner = inner.unwrap_or_else(|| panic!("{}: the goal is D(f, x)", f.name));
        let (of, wrt) = inner.rsplit_once(',').expect("D(f, x)");
        (of.trim().to_string(), wrt.trim().to_string())
    };
    let goal = Expr::d(
        parse_expr_in(&of, scope).expect("the goal's function"),
        parse_variable(&wrt, scope).expect("the goal's variable"),
    );
    let bad: Option<usize> =
        f.reject.strip_prefix("step ").map(|n| n.trim().parse().expect("a step number"));
    // A refused context or goal comes before any step: the steps need not replay.
    let lenient = bad.is_none();
    let mut before = deriv::render::plain::print_in(&goal, &ctx);
    let mut current = goal.clone();
    for (at, s) in f.steps.iter_mut().enumerate() {
        s.json.before = before.clone();
        let step = kernel_step(&s.json, scope);
        let claimed = parse_expr_in(&s.json.after, scope).expect("the claimed result");
        match replay(&ctx, &lemmas, &current, &step) {
            _ if lenient => {}
            Ok((after, open, _)) if Some(at + 1) != bad => {
                assert_eq!(after, claimed, "{}: step {} is honest", f.name, at + 1);
                s.json.conditions = open.iter().map(ToString::to_string).collect();
                // The conditions it proved, from a replay of the step alone.
                let alone =
                    Proof::start_with(Arc::new(ctx.clone()), current.clone(), lemmas.clone()).ok();
                if let Some(mut proof) = alone {
                    if proof.apply(step.clone()).is_ok() {
                        let proved = &proof.steps()[0].discharged;
                        s.json.discharged = proved.iter().map(ToString::to_string).collect();
                    }
                }
            }
            // Accepted only with a condition the forgery hides: the checker refuses that.
            Ok((after, open, _))
                if after == claimed
                    && open.iter().map(ToString::to_string).ne(s
                        .json
                        .conditions
                        .iter()
                        .cloned()) => {}
            Ok(_) => panic!("{}: the kernel accepts the forged step {}", f.name, at + 1),
            Err(e) if Some(at + 1) != bad => {
                panic!("{}: the kernel refuses the honest step {}: {e}", f.name, at + 1)
            }
            Err(_) => {}
        }
        s.json.latex = deriv::render::latex::latex(&claimed);
        before = s.json.after.clone();
        current = claimed;
    }
    let result = before;
    derivations.push(DerivationJson {
        of,
        wrt,
        result,
        vector: None,
        hypotheses: Vec::new(),
        steps: f.steps.iter().map(|s| s.json.clone()).collect(),
        cases: Vec::new(),
        checks: serde_json::Value::Null,
    });
    let cert = Certificate {
        format: FORMAT.to_string(),
        title: None,
        context: f.context.clone(),
        derivations,
        abbreviations: Vec::new(),
    };
    let ends = (!f.steps.is_empty()).then(|| (ctx, goal, current));
    (cert, ends)
}

#[test]
fn every_forged_certificate_is_refused_naming_its_fault() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/forged");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/forged exists")
        .map(|e| e.expect("an entry").path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 12, "the forgeries are all there");
    for path in paths {
        assert_eq!(
            path.extension().and_then(|e| e.to_str()),
            Some("txt"),
            "{path:?}: forgeries are .txt files"
        );
        let mut f = read_forgery(&path);
        let (cert, ends) = certificate(&mut f);
        let json = serde_json::to_string_pretty(&cert).expect("serialises");
        let run = cli::run(&["check", "-"], Some(&json));
        assert_eq!(run.status, 1, "{}: {}{}", f.name, run.stdout, run.stderr);
        let n = cert.derivations.len();
        let at = match f.reject.as_str() {
            "context" | "goal" => format!("derivation {n}:"),
            step => format!("derivation {n}, {step}:"),
        };
        for want in std::iter::once(&at).chain(&f.says) {
            assert!(
                run.stderr.contains(want.as_str()),
                "{}: `{want}` not in {}",
                f.name,
                run.stderr
            );
        }
        // The forged chain claims an equality that is false.
        if let (true, Some((ctx, goal, end))) = (f.refute, ends) {
            let mut outcome = check_equal(&ctx, &goal, &end, &CheckOptions::default());
            if let Err(CheckError::NoValidPoints { .. }) = outcome {
                // The sampler cannot meet every hypothesis (x_i = 1 on part of a range):
                // the comment in the file says why the claim is false under them too.
                let free = Context { assumptions: Vec::new(), ..ctx.clone() };
                outcome = check_equal(&free, &goal, &end, &CheckOptions::default());
            }
            assert!(
                matches!(outcome, Err(CheckError::Mismatch { .. })),
                "{}: the ends agree: {outcome:?}",
                f.name
            );
        }
    }
}
