//! The Coq export of goals with a context: index notation, definitions and hypotheses.
//!
//! Symbols become Coq variables (`z : nat -> R`, sizes `n : nat`), definitions become
//! Coq definitions over the symbols they reach, and `D(F, z_j)` becomes the derivative of
//! `t ↦ F(upd z j t)` at `t = z j`, for every `n ≥ 1` and every index in its range. The
//! derivative is proved from the certificate's derivative steps (as for scalars); the
//! algebra after them follows the certificate's chain, one step at a time, each by the
//! prelude's lemma for its rule at the step's place.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::print::{bound, ident, index, Names, Printer};
use super::{applied, gather, Prover, StepView, NOT_EXPORTABLE};
use crate::certificate::DerivationJson;
use crate::expr::{Bound, Context, Expr, Index};
use crate::kernel::rules::Condition;
use crate::kernel::Proof;
use std::sync::Arc;

/// What each name of a context stands for in Coq.
pub struct Signature {
    pub names: Names,
    /// Declared index names (and fixed labels): natural numbers.
    indices: BTreeSet<String>,
    /// Indexed symbols and how many indices they take.
    arity: BTreeMap<String, usize>,
    /// The definitions in an order where each comes after those it uses.
    order: Vec<String>,
}

impl Signature {
    /// Reads the names of a context and of every term its derivations reach.
    pub fn of(ctx: &Context, terms: &[&Expr]) -> Signature {
        let mut sig = Signature {
            names: Names::default(),
            indices: ctx.indices.iter().flat_map(|d| d.names.iter().cloned()).collect(),
            arity: BTreeMap::new(),
            order: Vec::new(),
        };
        for d in &ctx.indices {
            for b in [&d.lo, &d.hi] {
                sig.names.sizes.extend(b.size().map(str::to_string));
            }
        }
        let bodies = ctx.definitions.iter().map(|d| &d.body);
        let all: Vec<&Expr> = terms.iter().copied().chain(bodies).collect();
        for e in &all {
            e.any(&mut |e| {
                match e {
                    Expr::Sum(s) => {
                        for b in [&s.lo, &s.hi] {
                            sig.names.sizes.extend(b.size().map(str::to_string));
                        }
                    }
                    Expr::Idx(name, ix) => {
                        sig.arity.insert(name.clone(), ix.len());
                    }
                    _ => {}
                }
                false
            });
        }
        // Each definition's parameters: the base symbols (and fixed labels) it reaches.
        let defined = |name: &str| ctx.definition(name).is_some();
        let mut params: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        fn visit(
            ctx: &Context,
            name: &str,
            sig: &mut Signature,
            params: &mut BTreeMap<String, BTreeSet<String>>,
            on_path: &mut Vec<String>,
        ) {
            if params.contains_key(name) || on_path.iter().any(|n| n == name) {
                return;
            }
            let Some(d) = ctx.definition(name) else { return };
            on_path.push(name.to_string());
            let mut own = BTreeSet::new();
            let mut used = BTreeSet::new();
            symbols(
                &d.body,
                &mut own,
                &sig.names.sizes,
                &mut |n| ctx.definition(n).is_some(),
                &mut used,
            );
            for k in d.body.free_indices().difference(&d.name.free_indices()) {
                own.insert(k.clone());
            }
            for u in used {
                visit(ctx, &u, sig, params, on_path);
                own.extend(params.get(&u).cloned().unwrap_or_default());
            }
            on_path.pop();
            sig.order.push(name.to_string());
            params.insert(name.to_string(), own);
        }
        for d in &ctx.definitions {
            if let Expr::Sym(n) | Expr::Idx(n, _) = &d.name {
                visit(ctx, n, &mut sig, &mut params, &mut Vec::new());
            }
        }
        let _ = defined;
        sig.names.params = params.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect();
        sig
    }

    /// A name's Coq type.
    fn coq_type(&self, name: &str) -> String {
        if self.names.sizes.contains(name) || self.indices.contains(name) {
            return "nat".into();
        }
        match self.arity.get(name) {
            Some(&k) => format!("{}R", "nat -> ".repeat(k)),
            None => "R".into(),
        }
    }

    /// The definitions as Coq definitions, and the tactic that unfolds them.
    pub fn definitions(&self, ctx: &Context) -> String {
        let plain = Printer { names: Some(&self.names), updated: None };
        let mut out = String::new();
        for name in &self.order {
            let Some(d) = ctx.definition(name) else { continue };
            let mut binders: Vec<String> = self.names.params[name]
                .iter()
                .map(|p| format!("({} : {})", ident(p), self.coq_type(p)))
                .collect();
            if let Expr::Idx(_, ix) = &d.name {
                binders.extend(ix.iter().map(|i| format!("({} : nat)", index(i))));
            }
            out.push_str(&format!(
                "Definition {} {} : R :=\n  {}.\n",
                ident(name),
                binders.join(" "),
                plain.print(&d.body)
            ));
        }
        if !self.order.is_empty() {
            // Those that use others first, so that one pass unfolds everything.
            let names: Vec<String> = self.order.iter().rev().map(|n| ident(n)).collect();
            out.push_str(&format!("Ltac ddefs ::= unfold {}.\n", names.join(", ")));
        }
        out
    }
}

/// The base symbols of `e` (definitions replaced by their parameters elsewhere), with
/// the sizes its sums run to; defined names used go to `used`.
fn symbols(
    e: &Expr,
    out: &mut BTreeSet<String>,
    sizes: &BTreeSet<String>,
    defined: &mut dyn FnMut(&str) -> bool,
    used: &mut BTreeSet<String>,
) {
    let mut names = Vec::new();
    e.any(&mut |e| {
        match e {
            Expr::Sym(s) | Expr::Idx(s, _) => names.push(s.clone()),
            Expr::Sum(s) => {
                for b in [&s.lo, &s.hi] {
                    names.extend(b.size().map(str::to_string));
                }
            }
            _ => {}
        }
        false
    });
    for n in names {
        if defined(&n) {
            used.insert(n);
        } else {
            out.insert(n);
        }
    }
    let _ = sizes;
}

/// The range facts a goal's statement assumes for a free index: `(1 <= i <= n)%nat`.
fn range(lo: &Bound, hi: &Bound, k: &str) -> String {
    format!("({} <= {} <= {})%nat", bound(lo), ident(k), bound(hi))
}

/// A side condition in Coq, or `None` for one Coq cannot state as a proposition here.
fn condition(c: &Condition, p: &Printer) -> Option<String> {
    Some(match c {
        Condition::NonZero(e) => format!("{} <> 0", p.print(e)),
        Condition::Positive(e) => format!("0 < {}", p.print(e)),
        Condition::NonNegative(e) => format!("0 <= {}", p.print(e)),
        Condition::InRange(Index::Name(k), lo, hi) => range(lo, hi, k),
        Condition::InRange(i, lo, hi) => {
            format!("({} <= {} <= {})%nat", bound(lo), index(i), bound(hi))
        }
        Condition::IndexNe(a, b) => format!("{} <> {}", index(a), index(b)),
        Condition::IndexEq(a, b) => format!("{} = {}", index(a), index(b)),
        Condition::ForAll(k, lo, hi, c) => {
            format!("forall {k}, {} -> {}", range(lo, hi, k), condition(c, p)?, k = ident(k))
        }
        _ => return None,
    })
}

/// A derivation as the export reads it: the kernel's replay, or the certificate's text.
pub struct Chain {
    pub ctx: Arc<Context>,
    /// `D(of, wrt)`.
    pub start: Expr,
    pub result: Expr,
    pub steps: Vec<StepView>,
    /// The context's hypotheses the steps use, numbered from one.
    pub assumptions_used: Vec<usize>,
    /// The side conditions the result depends on.
    pub conditions: Vec<Premise>,
}

/// A side condition: as the kernel decided it, or as a certificate states it.
pub enum Premise {
    Kernel(Condition),
    Stated(Expr, &'static str, Expr),
}

impl Chain {
    pub fn replayed(proof: &Proof) -> Chain {
        let steps = proof
            .steps()
            .iter()
            .map(|s| StepView {
                rule: s.step.rule.clone(),
                uses: s.step.uses.clone(),
                position: s.step.position.clone(),
                subst: s.step.binding.terms.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                before: s.before.clone(),
                after: s.after.clone(),
                conditional: !s.conditions.is_empty() || !s.discharged.is_empty(),
            })
            .collect();
        Chain {
            ctx: Arc::new(proof.context().clone()),
            start: proof.start_term().clone(),
            result: proof.current().clone(),
            steps,
            assumptions_used: proof.assumptions_used(),
            conditions: proof.hypotheses().into_iter().map(Premise::Kernel).collect(),
        }
    }

    /// The chain a certificate states, read with the kernel's reader but not replayed.
    pub fn stated(ctx: &Arc<Context>, d: &DerivationJson) -> Result<Chain, String> {
        use crate::kernel::read::{read_term, read_variable};
        let term = |t: &str| read_term(t, &ctx.indices).map_err(|e| format!("`{t}`: {e}"));
        let start = Expr::d(term(&d.of)?, read_variable(&d.wrt).map_err(|e| e.to_string())?);
        let mut steps = Vec::new();
        for s in &d.steps {
            let mut subst = HashMap::new();
            for (k, v) in &s.substitution.terms {
                subst.insert(k.clone(), term(v)?);
            }
            steps.push(StepView {
                rule: s.rule.clone(),
                uses: s.uses.clone(),
                position: s.position.clone(),
                subst,
                before: term(&s.before)?,
                after: term(&s.after)?,
                conditional: !s.conditions.is_empty() || !s.discharged.is_empty(),
            });
        }
        let mut assumptions_used: Vec<usize> = steps
            .iter()
            .filter(|s| s.rule == "use-hypothesis")
            .filter_map(|s| s.uses.as_deref()?.parse().ok())
            .collect();
        assumptions_used.sort_unstable();
        assumptions_used.dedup();
        let stated_assumptions: Vec<String> = assumptions_used
            .iter()
            .filter_map(|n| ctx.assumptions.get(n - 1))
            .map(|a| {
                format!(
                    "{} = {}",
                    crate::render::plain::print(&a.lhs),
                    crate::render::plain::print(&a.rhs)
                )
            })
            .collect();
        let mut conditions = Vec::new();
        for h in d.hypotheses.iter().filter(|h| !stated_assumptions.contains(h)) {
            let (l, op, r) = [
                (" != ", "<>"),
                (" >= ", ">="),
                (" <= ", "<="),
                (" > ", ">"),
                (" < ", "<"),
                (" = ", "="),
            ]
            .iter()
            .find_map(|(op, coq)| h.split_once(op).map(|(l, r)| (l, *coq, r)))
            .ok_or_else(|| format!("cannot state the condition `{h}`"))?;
            conditions.push(Premise::Stated(term(l)?, op, term(r)?));
        }
        Ok(Chain {
            ctx: ctx.clone(),
            start,
            result: term(&d.result)?,
            steps,
            assumptions_used,
            conditions,
        })
    }
}

impl Chain {
    /// The chain with every definition that reaches `held` unfolded (so that `held`, a
    /// defined name differentiated as a variable, is the only way the terms depend on it).
    fn unfolded_toward(&self, held: &str) -> Chain {
        let ctx = &*self.ctx;
        let f = |e: &Expr| unfold_toward(ctx, e, held, 0);
        Chain {
            ctx: self.ctx.clone(),
            start: f(&self.start),
            result: f(&self.result),
            steps: self
                .steps
                .iter()
                .map(|s| StepView {
                    rule: s.rule.clone(),
                    uses: s.uses.clone(),
                    position: s.position.clone(),
                    subst: s.subst.iter().map(|(k, v)| (k.clone(), f(v))).collect(),
                    before: f(&s.before),
                    after: f(&s.after),
                    conditional: s.conditional,
                })
                .collect(),
            assumptions_used: self.assumptions_used.clone(),
            conditions: self
                .conditions
                .iter()
                .map(|c| match c {
                    Premise::Kernel(Condition::NonZero(e)) => {
                        Premise::Kernel(Condition::NonZero(f(e)))
                    }
                    Premise::Kernel(Condition::Positive(e)) => {
                        Premise::Kernel(Condition::Positive(f(e)))
                    }
                    Premise::Kernel(c) => Premise::Kernel(c.clone()),
                    Premise::Stated(l, op, r) => Premise::Stated(f(l), op, f(r)),
                })
                .collect(),
        }
    }
}

/// `e` with every use of a definition that reaches `held` replaced by its body.
fn unfold_toward(ctx: &Context, e: &Expr, held: &str, depth: usize) -> Expr {
    match e {
        Expr::Sym(d) | Expr::Idx(d, _)
            if d != held && depth <= ctx.definitions.len() && reaches(ctx, d, held, 0) =>
        {
            let Some(def) = ctx.definition(d) else { return e.clone() };
            let mut body = def.body.clone();
            if let (Expr::Idx(_, formal), Expr::Idx(_, actual)) = (&def.name, e) {
                for (f, a) in formal.iter().zip(actual) {
                    if let Index::Name(f) = f {
                        body = body.subst_index(f, a);
                    }
                }
            }
            unfold_toward(ctx, &body, held, depth + 1)
        }
        _ => e.map_children(|c| unfold_toward(ctx, c, held, depth)),
    }
}

/// Whether the definition of `d` mentions `held`, directly or through other definitions.
fn reaches(ctx: &Context, d: &str, held: &str, depth: usize) -> bool {
    let Some(def) = ctx.definition(d) else { return false };
    depth <= ctx.definitions.len()
        && (def.body.mentions_name(held)
            || ctx.definitions.iter().any(|o| {
                matches!(&o.name, Expr::Sym(n) | Expr::Idx(n, _)
                    if n != d && def.body.mentions_name(n) && reaches(ctx, n, held, depth + 1))
            }))
}

/// The tactic that proves one algebra step where it happens (see `dcong` in the prelude).
fn step_tactic(
    rule: &str,
    hypothesis: Option<&str>,
    deltas: &str,
    collapsed_at: Option<String>,
) -> String {
    let local = match rule {
        "fold-definition" | "unfold-definition" => "ddef".into(),
        "rename-bound-index" => "dsame".into(),
        "delta-collapse" => match collapsed_at {
            Some(j) => format!("dcollapse ({j})"),
            None => "dring".into(),
        },
        "delta-off-range" => "doutside".into(),
        "delta-symmetric" => "rewrite delta_sym; dring".into(),
        "delta-same-index" => "rewrite delta_same; dring".into(),
        "delta-squared" => "rewrite delta_sq; dring".into(),
        "sum-linearity"
        | "combine-sums"
        | "sum-of-negation"
        | "sign-into-sum"
        | "pull-factor-out-of-sum"
        | "factor-into-sum" => "dlinear".into(),
        "divisor-into-sum" => "first [ rewrite sum_div | rewrite <- sum_div ]; dring".into(),
        "sum-of-constant" => "dconst".into(),
        "sqrt-squared" => "rewrite pow2_sqrt by (apply Rlt_le; dpos); dring".into(),
        "use-hypothesis" => match hypothesis {
            Some(h) => format!("first [ rewrite {h} by lia | rewrite <- {h} by lia ]; dring"),
            None => "dring".into(),
        },
        _ => format!("{deltas}; dring"),
    };
    format!("first [ {local} | dring ]")
}

/// One goal with a context as a theorem, or why it cannot be exported.
pub fn derivation(
    sig: &Signature,
    chain: &Chain,
    name: &str,
    audit: bool,
) -> Result<String, String> {
    // Held as a variable, a defined name stays; the definitions that reach it are unfolded.
    let expanded;
    let chain = match &chain.start {
        Expr::D(_, x) if chain.ctx.is_defined(x) => {
            let (Expr::Sym(a) | Expr::Idx(a, _)) = &**x else { unreachable!("a defined name") };
            expanded = chain.unfolded_toward(a);
            &expanded
        }
        _ => chain,
    };
    let ctx = &*chain.ctx;
    let Expr::D(of, x) = &chain.start else {
        return Err("the goal is not a derivative".into());
    };
    if super::has_derivative(of) {
        return Err(NOT_EXPORTABLE[1].1.into());
    }
    let plain = Printer { names: Some(&sig.names), updated: None };
    let (updated, point): (Option<(String, String)>, String) = match &**x {
        Expr::Sym(v) if !ctx.is_defined(x) => (None, ident(v)),
        Expr::Idx(z, ix) if !ctx.is_defined(x) && ix.len() <= 2 => {
            let at: Vec<String> = ix.iter().map(index).collect();
            (Some((z.clone(), at.join(" "))), plain.print(x))
        }
        // A defined name held as a variable: the entry of its value `(a n z)` is updated.
        Expr::Idx(a, ix) if ix.len() <= 2 => {
            let at: Vec<String> = ix.iter().map(index).collect();
            (Some((a.clone(), at.join(" "))), plain.print(x))
        }
        _ => return Err("derivatives with respect to a defined scalar are not exported yet".into()),
    };
    if chain.steps.iter().any(|s| s.rule == "chain-rule") {
        return Err("the chain rule through a definition has no prelude lemma yet".into());
    }
    let views = &chain.steps;
    // Indices fixed before the derivatives are proved: the variable's and the fixed
    // labels. The goal's other free indices are quantified in each derivative proved.
    let mut early: BTreeSet<String> = ctx.fixed_labels().into_keys().collect();
    if let Expr::Idx(_, ix) = &**x {
        early.extend(ix.iter().filter_map(|i| i.name().cloned()));
    }
    let late_range = |i: &str| {
        (!early.contains(i)).then(|| ctx.range_of(i)).flatten().map(|(l, h)| (l.clone(), h.clone()))
    };
    let nodes = gather(views, &late_range)?;
    let upd = updated.as_ref().map(|(z, j)| (z.as_str(), j.as_str()));
    let mut prover = Prover::new(x, &nodes, plain, upd);
    let (root, _, root_scope) = prover.prove(of)?;
    let result = &chain.result;

    // The statement: variables, ranges, hypotheses, the derivative.
    let mut names = BTreeSet::new();
    let reached = |e: &Expr, names: &mut BTreeSet<String>| {
        let mut used = BTreeSet::new();
        symbols(e, names, &sig.names.sizes, &mut |n| ctx.definition(n).is_some(), &mut used);
        for u in used {
            names.extend(sig.names.params.get(&u).cloned().unwrap_or_default());
        }
        names.extend(e.free_indices());
    };
    reached(of, &mut names);
    reached(x, &mut names);
    reached(result, &mut names);
    // Each premise, with the free indices it mentions.
    let mut premises: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut hypothesis_numbers = Vec::new();
    for &n in &chain.assumptions_used {
        let a = ctx.assumptions.get(n - 1).ok_or("a hypothesis the context does not have")?;
        let own: BTreeSet<String> =
            a.lhs.free_indices().union(&a.rhs.free_indices()).cloned().collect();
        let mut quantified = String::new();
        for k in &own {
            let (lo, hi) = ctx.range_of(k).ok_or("an index with no range")?;
            quantified.push_str(&format!("forall {}, {} -> ", ident(k), range(lo, hi, k)));
        }
        let mut local = BTreeSet::new();
        reached(&a.lhs, &mut local);
        reached(&a.rhs, &mut local);
        names.extend(local.difference(&own).cloned());
        hypothesis_numbers.push(n.to_string());
        let text = format!("{quantified}{} = {}", plain.print(&a.lhs), plain.print(&a.rhs));
        premises.push((text, BTreeSet::new()));
    }
    for premise in &chain.conditions {
        let (mut local, mut bound_here) = (BTreeSet::new(), Vec::new());
        let text = match premise {
            Premise::Kernel(c) => {
                c_terms(c, &mut bound_here, &mut |e| reached(e, &mut local));
                if let Condition::InRange(Index::Name(k), ..) = c {
                    local.insert(k.clone());
                }
                condition(c, &plain).ok_or("a side condition Coq cannot state here")?
            }
            Premise::Stated(l, op, r) => {
                reached(l, &mut local);
                reached(r, &mut local);
                format!("{} {op} {}", plain.print(l), plain.print(r))
            }
        };
        for k in bound_here {
            local.remove(&k);
        }
        let free: BTreeSet<String> =
            local.iter().filter(|k| sig.indices.contains(*k)).cloned().collect();
        names.extend(local);
        premises.push((text, free));
    }
    // The sizes of the free indices' declared ranges.
    for k in names.clone() {
        if let Some((lo, hi)) = ctx.range_of(&k).filter(|_| sig.indices.contains(&k)) {
            names.extend([lo, hi].iter().filter_map(|b| b.size()).map(str::to_string));
        }
    }
    // Binders: sizes, then variables grouped by type, then the fixed indices; the other
    // indices in a second `forall`, after the premises that do not mention them.
    let mut groups: BTreeMap<(u8, String), Vec<String>> = BTreeMap::new();
    let (mut sizes, mut early_ranges, mut late) = (Vec::new(), Vec::new(), Vec::new());
    for n in &names {
        let ty = sig.coq_type(n);
        let rank = if sig.names.sizes.contains(n) {
            sizes.push(format!("(1 <= {})%nat", ident(n)));
            0
        } else if sig.indices.contains(n) {
            let (lo, hi) = ctx.range_of(n).ok_or("an index with no range")?;
            if !early.contains(n) {
                late.push((ident(n), range(lo, hi, n)));
                continue;
            }
            early_ranges.push((ident(n), range(lo, hi, n)));
            3
        } else if ty == "R" {
            1
        } else {
            2
        };
        groups.entry((rank, ty)).or_default().push(ident(n));
    }
    let group_text = |groups: &BTreeMap<(u8, String), Vec<String>>| -> Vec<String> {
        groups.iter().map(|((_, ty), vs)| format!("({} : {ty})", vs.join(" "))).collect()
    };
    let late_names: BTreeSet<String> = late.iter().map(|(k, _)| k.clone()).collect();
    let is_late = |free: &BTreeSet<String>| free.iter().any(|k| late_names.contains(&ident(k)));
    let mut out = format!("Theorem {name} : forall {},\n", group_text(&groups).join(" "));
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for (k, s) in sizes.iter().enumerate() {
        out.push_str(&format!("  {s} ->\n"));
        first.push(format!("Hn{}", k + 1));
    }
    for (k, r) in &early_ranges {
        out.push_str(&format!("  {r} ->\n"));
        first.push(format!("Hr_{k}"));
    }
    let mut hypothesis_names = HashMap::new();
    let mut premise_count = 0;
    let mut premise = |text: &str, out: &mut String, names: &mut Vec<String>, k: usize| {
        premise_count += 1;
        out.push_str(&format!("  {text} ->\n"));
        names.push(format!("Hp{premise_count}"));
        if let Some(n) = hypothesis_numbers.get(k) {
            hypothesis_names.insert(n.clone(), format!("Hp{premise_count}"));
        }
    };
    for (k, (text, free)) in premises.iter().enumerate() {
        if !is_late(free) {
            premise(text, &mut out, &mut first, k);
        }
    }
    if !late.is_empty() {
        let vs: Vec<String> = late.iter().map(|(k, _)| k.clone()).collect();
        out.push_str(&format!("  forall {} : nat,\n", vs.join(" ")));
        for (k, r) in &late {
            out.push_str(&format!("  {r} ->\n"));
            second.push(format!("Hr_{k}"));
        }
    }
    for (k, (text, free)) in premises.iter().enumerate() {
        if is_late(free) {
            premise(text, &mut out, &mut second, k);
        }
    }
    let binder = match &updated {
        Some(_) => "t".to_string(),
        None => point.clone(),
    };
    let body = Printer { updated: upd, ..plain }.print(of);
    // The binders and premises, shared by the theorem and (in audit mode) its step lemmas.
    let statement = out[format!("Theorem {name} : ").len()..].to_string();
    out.push_str(&format!(
        "  is_derive (fun {binder} => {body}) ({point}) ({}).\nProof.\n",
        plain.print(result)
    ));
    let vars: Vec<String> = groups.values().flatten().cloned().collect();
    let all_intros: Vec<String> = vars
        .iter()
        .chain(&first)
        .chain(late.iter().map(|(k, _)| k))
        .chain(&second)
        .cloned()
        .collect();
    let mut lemmas = String::new();
    out.push_str(&format!("  intros {} {}.\n", vars.join(" "), first.join(" ")));
    for l in &prover.lines {
        out.push_str(&format!("  {l}\n"));
    }
    if !late.is_empty() {
        let vs: Vec<String> = late.iter().map(|(k, _)| k.clone()).collect();
        out.push_str(&format!("  intros {} {}.\n", vs.join(" "), second.join(" ")));
    }
    out.push_str(&format!("  refine (D_eqv _ _ _ _ {} _).\n", applied(&root, &root_scope)));
    // The algebra, step by step from the derivative's value to the result.
    let mut previous_term = prover.fill(&Expr::d(of.as_ref().clone(), x.as_ref().clone()))?;
    let mut previous = plain.print(&previous_term);
    for (number, s) in chain.steps.iter().enumerate() {
        let next_term = prover.fill(&s.after)?;
        let next = plain.print(&next_term);
        if next == previous {
            continue;
        }
        let h = s.uses.as_ref().and_then(|u| hypothesis_names.get(u));
        let prep = delta_forms(&[&previous_term, &next_term]);
        let at = collapse_index(&s.before, &s.position);
        let tac = step_tactic(&s.rule, h.map(String::as_str), &prep, at);
        out.push_str(&format!("  (* {} *)\n  transitivity ({next}).\n", s.rule));
        if audit {
            // Step `number` of the certificate as a lemma of its own, named after it.
            let lemma = format!("{name}_step{}", number + 1);
            lemmas.push_str(&format!(
                "(* step {} of the certificate: {} *)\nLemma {lemma} : {statement}  {previous} = {next}.\nProof.\n  intros {}.\n  dcong ltac:({tac}).\nQed.\n\n",
                number + 1,
                s.rule,
                all_intros.join(" ")
            ));
            out.push_str(&format!("  {{ eapply {lemma}; eassumption. }}\n"));
        } else {
            out.push_str(&format!("  {{ dcong ltac:({tac}). }}\n"));
        }
        previous = next;
        previous_term = next_term;
    }
    out.push_str("  reflexivity.\nQed.\n");
    Ok(lemmas + &out)
}

/// Where a delta-collapse step's sum collapses: the other index of its delta.
fn collapse_index(before: &Expr, position: &[usize]) -> Option<String> {
    use crate::terms::ExprExt;
    let Some(Expr::Sum(s)) = before.at(position) else { return None };
    let mut other = None;
    s.body.any(&mut |e| {
        if let Expr::Delta(a, b) = e {
            let k = Index::Name(s.index.clone());
            if *a == k && *b != k {
                other = Some(index(b));
            } else if *b == k && *a != k {
                other = Some(index(a));
            }
        }
        other.is_some()
    });
    other
}

/// Rewrites that bring the Kronecker deltas of a ring step to one form, since `ring`
/// sees `delta i j` and `delta j i` as different atoms: the symmetric pairs in one order,
/// `delta k k` as 1 and deltas of two different numbers as 0.
fn delta_forms(terms: &[&Expr]) -> String {
    let mut pairs = BTreeSet::new();
    for t in terms {
        t.any(&mut |e| {
            if let Expr::Delta(a, b) = e {
                pairs.insert((a.clone(), b.clone()));
            }
            false
        });
    }
    let mut out = vec!["rewrite ?delta_same".to_string()];
    for (a, b) in pairs {
        match (&a, &b) {
            (Index::Int(p), Index::Int(q)) if p != q => {
                out.push(format!("rewrite ?(delta_ne {} {}) by lia", index(&a), index(&b)))
            }
            _ if index(&a) > index(&b) => {
                out.push(format!("rewrite ?(delta_sym {} {})", index(&a), index(&b)))
            }
            _ => {}
        }
    }
    out.join("; ")
}

/// Every term a condition speaks of, and the indices it quantifies.
fn c_terms(c: &Condition, bound_here: &mut Vec<String>, f: &mut dyn FnMut(&Expr)) {
    match c {
        Condition::NonZero(e) | Condition::Positive(e) | Condition::NonNegative(e) => f(e),
        Condition::ForAll(k, _, _, c) => {
            bound_here.push(k.clone());
            c_terms(c, bound_here, f)
        }
        _ => {}
    }
}
