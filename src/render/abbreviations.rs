//! Abbreviations: a short name for a subterm that a derivation repeats ("write
//! S = Σ_k e^{z_k}"), so that its writeup reads the way a person writes it.
//!
//! Each abbreviation is a definition that the kernel's own validator accepts together with
//! the context (a fresh name, every free index on its left, no fixed label broken); the
//! lines a writeup prints are the kernel's terms with the name folded in, so unfolding the
//! definition gives back exactly what the kernel replayed. User-defined names are always
//! preferred: a subterm that holds an instance of a definition's body is never abbreviated.
//! A certificate states the document's abbreviations and `deriv check` recomputes them.

use crate::expr::{Context, Definition, Expr, Index};
use crate::kernel::Proof;
use crate::terms::AddressMap;
use std::collections::{BTreeSet, HashMap};

/// A subterm gets a name when a derivation shows it at least this many times…
const MIN_OCCURRENCES: usize = 3;
/// …and it has at least this many symbols ([`symbols`]): `sqrt(v + eps)` has four.
const MIN_SYMBOLS: usize = 4;
/// …in a derivation with a line at least this long (in symbols): short lines read best whole.
const LONG_LINE: usize = 24;
/// A derivation introduces at most this many names; more would be a glossary to learn.
const MAX_PER_DERIVATION: usize = 3;
/// The names, in the order they are given out; a name the document uses is skipped.
const NAMES: [&str; 8] = ["S", "T", "U", "W", "Q", "R", "P", "G"];

/// A document's abbreviations: the definitions, in the order they are introduced, and for
/// each derivation the ones it uses, in the order it folds them in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Abbreviations {
    pub definitions: Vec<Definition>,
    pub of_derivation: Vec<Vec<usize>>,
    /// The context's fixed labels, which a body keeps as they are.
    labels: BTreeSet<String>,
}

impl Abbreviations {
    /// `e` as derivation `n` shows it: each of its abbreviations folded in.
    pub fn fold_into(&self, n: usize, e: &Expr) -> Expr {
        let uses = self.of_derivation.get(n).map(Vec::as_slice).unwrap_or_default();
        uses.iter().fold(e.clone(), |e, &a| fold(&e, a, &self.definitions, &self.labels))
    }

    /// `e` with every abbreviation's name replaced by its body: a printed line unfolds to
    /// the kernel's term.
    pub fn unfold(&self, e: &Expr) -> Expr {
        unfold(e, &self.definitions)
    }

    /// The definitions derivation `n` uses, with those their bodies use, in the order
    /// they were introduced.
    pub fn of(&self, n: usize) -> Vec<&Definition> {
        let mut wanted = vec![false; self.definitions.len()];
        for &a in self.of_derivation.get(n).map(Vec::as_slice).unwrap_or_default() {
            wanted[a] = true;
        }
        // A body names only definitions before it, so one backward pass closes the set.
        for a in (0..self.definitions.len()).rev() {
            if wanted[a] {
                for (b, d) in self.definitions[..a].iter().enumerate() {
                    wanted[b] |= self.definitions[a].body.mentions_name(name_of(d));
                }
            }
        }
        self.definitions.iter().zip(wanted).filter(|(_, w)| *w).map(|(d, _)| d).collect()
    }
}

/// The abbreviations of a document's derivations: each derivation names up to three
/// subterms it repeats, and a subterm that an earlier derivation named keeps its name.
/// Instances that differ only in their free indices (`exp(z_i/T)`, `exp(z_k/T)`) are one
/// subterm, named with its indices (`U_i`, `U_k`).
pub fn choose(ctx: &Context, proofs: &[&Proof]) -> Abbreviations {
    let mut used = names_in_use(ctx, proofs);
    let labels: BTreeSet<String> = ctx.fixed_labels().into_keys().collect();
    let mut out = Abbreviations { labels: labels.clone(), ..Abbreviations::default() };
    for proof in proofs {
        let mut terms = chain(proof);
        let mut refused = Vec::new();
        let mut uses = Vec::new();
        let long = terms.iter().any(|t| symbols(t) >= LONG_LINE);
        while long && uses.len() < MAX_PER_DERIVATION {
            let Some(body) = best_candidate(ctx, &out.definitions, &labels, &terms, &refused)
            else {
                break;
            };
            let defs = &out.definitions;
            let key = canonical(&unfold(&body, defs), &labels).0;
            let known =
                defs.iter().position(|d| canonical(&unfold(&d.body, defs), &labels).0 == key);
            let at = match known {
                Some(at) => at,
                None => {
                    let Some(name) = NAMES.iter().find(|n| !used.contains(**n)) else { break };
                    let order = canonical(&body, &labels).1;
                    let name = named(name, &order);
                    let def = Definition { name, body: body.clone() };
                    if !accepted(ctx, &out.definitions, &def) {
                        refused.push(key);
                        continue;
                    }
                    used.insert(name_of(&def).to_string());
                    out.definitions.push(def);
                    out.definitions.len() - 1
                }
            };
            terms = terms.iter().map(|t| fold(t, at, &out.definitions, &labels)).collect();
            uses.push(at);
        }
        out.of_derivation.push(uses);
    }
    out
}

/// The terms a derivation shows, from where it starts, but for its result: the result is
/// printed whole, to be read on its own.
fn chain(proof: &Proof) -> Vec<Expr> {
    std::iter::once(proof.start_term().clone())
        .chain(proof.steps().iter().map(|s| s.after.clone()))
        .filter(|t| t != proof.current())
        .collect()
}

/// The subterm that saves the most symbols, among those shown often enough; ties go to
/// the one met first, so the choice is deterministic.
fn best_candidate(
    ctx: &Context,
    known: &[Definition],
    labels: &BTreeSet<String>,
    terms: &[Expr],
    refused: &[Expr],
) -> Option<Expr> {
    // Each candidate's canonical form, the occurrence met first, and how often it is met.
    let mut first: Vec<(Expr, Expr, usize)> = Vec::new();
    let mut slots: HashMap<Expr, usize> = HashMap::new();
    // A node shared by many occurrences (the terms of a chain share most of theirs) is
    // judged and put in canonical form once.
    let mut judged: AddressMap<Option<usize>> = AddressMap::default();
    for t in terms {
        t.any(&mut |e| {
            if !matches!(e, Expr::Sum(_) | Expr::Call(..)) {
                return false;
            }
            let slot = *judged.entry(e).or_insert_with(|| {
                is_candidate(e).then(|| {
                    let key = canonical(e, labels).0;
                    *slots.entry(key.clone()).or_insert_with(|| {
                        first.push((key, e.clone(), 0));
                        first.len() - 1
                    })
                })
            });
            if let Some(slot) = slot {
                first[slot].2 += 1;
            }
            false
        });
    }
    let saving = |(_, e, count): &(Expr, Expr, usize)| (symbols(e) - 1) * count;
    let mut best: Option<&(Expr, Expr, usize)> = None;
    for candidate in first.iter().filter(|(_, _, count)| *count >= MIN_OCCURRENCES) {
        let better = best.map_or(true, |b| saving(candidate) > saving(b));
        if better
            && !refused.contains(&candidate.0)
            && !holds_a_definition(ctx, &unfold(&candidate.1, known))
        {
            best = Some(candidate);
        }
    }
    best.map(|(_, e, _)| e.clone())
}

/// A sum over its index, or a function of a compound argument, of a few symbols, with no
/// derivative inside and no Kronecker delta (a sum with a delta is about to collapse, as is
/// a sum of a constant): the kinds of subterm a person names.
fn is_candidate(e: &Expr) -> bool {
    let kind = match e {
        Expr::Sum(s) => s.body.free_indices().contains(&s.index) && symbols(e) >= MIN_SYMBOLS + 1,
        Expr::Call(_, arg) => {
            !matches!(**arg, Expr::Num(_) | Expr::Sym(_) | Expr::Idx(..))
                && symbols(e) >= MIN_SYMBOLS
        }
        _ => false,
    };
    kind && !e.any(&mut |t| matches!(t, Expr::D(..) | Expr::Delta(..)))
}

/// The symbols a term prints with: a sum counts its `Σ` and both bounds, a minus sign
/// nothing.
fn symbols(e: &Expr) -> usize {
    let own = match e {
        Expr::Sum(_) => 3,
        Expr::Neg(_) => 0,
        _ => 1,
    };
    own + e.children().map(symbols).sum::<usize>()
}

/// Whether a user definition folds into `e`: then the user's name is the one to use.
fn holds_a_definition(ctx: &Context, e: &Expr) -> bool {
    crate::engine::fold::fold_expr(ctx, e) != *e
}

/// `e` with its free indices (but fixed labels) renamed `#0`, `#1`, … in the order they
/// first occur, and those indices: instances of one subterm share the first part.
fn canonical(e: &Expr, labels: &BTreeSet<String>) -> (Expr, Vec<String>) {
    let mut order = Vec::new();
    free_in_order(e, &mut Vec::new(), &mut order);
    order.retain(|k| !labels.contains(k));
    let mut key = e.clone();
    for (n, k) in order.iter().enumerate() {
        key = key.subst_index(k, &Index::Name(format!("#{n}")));
    }
    (key, order)
}

fn free_in_order(e: &Expr, bound: &mut Vec<String>, out: &mut Vec<String>) {
    for ix in e.indices() {
        if let Index::Name(k) = ix {
            if !bound.contains(k) && !out.contains(k) {
                out.push(k.clone());
            }
        }
    }
    if let Expr::Sum(s) = e {
        bound.push(s.index.clone());
        free_in_order(&s.body, bound, out);
        bound.pop();
    } else {
        e.children().for_each(|c| free_in_order(c, bound, out));
    }
}

/// `S`, or `S_j` for a body with the free indices `order` (a fixed label stays off the
/// left side, as it does in the user's definitions).
fn named(name: &str, order: &[String]) -> Expr {
    if order.is_empty() {
        Expr::Sym(name.to_string())
    } else {
        Expr::Idx(name.to_string(), order.iter().cloned().map(Index::Name).collect())
    }
}

fn name_of(d: &Definition) -> &str {
    match &d.name {
        Expr::Sym(n) | Expr::Idx(n, _) => n,
        _ => "",
    }
}

/// Whether the kernel's validator accepts `def` after the context and `chosen`.
fn accepted(ctx: &Context, chosen: &[Definition], def: &Definition) -> bool {
    let mut extended = ctx.clone();
    extended.definitions.extend(chosen.iter().cloned());
    extended.definitions.push(def.clone());
    crate::kernel::validate::check_context(&extended).is_ok()
}

/// Every name the document or its derivations use, which an abbreviation must not take.
fn names_in_use(ctx: &Context, proofs: &[&Proof]) -> BTreeSet<String> {
    let mut used: BTreeSet<String> =
        ctx.indices.iter().flat_map(|d| d.names.iter().cloned()).collect();
    for d in &ctx.indices {
        used.extend([&d.lo, &d.hi].into_iter().filter_map(|b| b.size().map(str::to_string)));
    }
    let mut note = |e: &Expr| {
        e.any(&mut |t| {
            if let Expr::Sym(n) | Expr::Idx(n, _) = t {
                used.insert(n.clone());
            }
            false
        });
    };
    for d in &ctx.definitions {
        note(&d.name);
        note(&d.body);
    }
    for a in &ctx.assumptions {
        note(&a.lhs);
        note(&a.rhs);
    }
    for p in proofs {
        chain(p).iter().chain([p.current()]).for_each(&mut note);
    }
    used
}

/// `e` with each instance of abbreviation `at`'s body written as its name. Bodies and
/// instances are compared with every abbreviation unfolded, so an instance matches
/// whichever names were folded into it, or into the body, before.
fn fold(e: &Expr, at: usize, defs: &[Definition], labels: &BTreeSet<String>) -> Expr {
    let key = canonical(&unfold(&defs[at].body, defs), labels).0;
    fold_key(e, &key, name_of(&defs[at]), defs, labels)
}

fn fold_key(
    e: &Expr,
    key: &Expr,
    name: &str,
    defs: &[Definition],
    labels: &BTreeSet<String>,
) -> Expr {
    if std::mem::discriminant(e) == std::mem::discriminant(key) {
        let (here, order) = canonical(&unfold(e, defs), labels);
        if here == *key {
            return named(name, &order);
        }
    }
    e.map_children(|c| fold_key(c, key, name, defs, labels))
}

/// `e` with each abbreviation's name replaced by its body.
fn unfold(e: &Expr, defs: &[Definition]) -> Expr {
    let instance = |name: &str, ix: &[Index]| {
        let d = defs.iter().find(|d| name_of(d) == name)?;
        let Expr::Idx(_, params) = &d.name else { return Some(d.body.clone()) };
        let mut body = d.body.clone();
        for (p, i) in params.iter().zip(ix) {
            body = body.subst_index(&p.to_string(), i);
        }
        Some(body)
    };
    let here = match e {
        Expr::Sym(n) => instance(n, &[]),
        Expr::Idx(n, ix) => instance(n, ix),
        _ => None,
    };
    here.map(|b| unfold(&b, defs)).unwrap_or_else(|| e.map_children(|c| unfold(c, defs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_file;

    fn abbreviations_of(src: &str) -> Vec<String> {
        let doc = parse_file(src).expect("parses");
        let report = crate::report::derive_document(&doc).expect("derives");
        let proofs: Vec<&Proof> = report.goals.iter().map(|g| &g.proof).collect();
        choose(&report.context, &proofs)
            .definitions
            .iter()
            .map(|d| format!("{} = {}", d.name, d.body))
            .collect()
    }

    #[test]
    fn the_softmax_denominator_gets_a_name() {
        let names = abbreviations_of(
            "index i, j, k in 1..n\nlet a_i = exp(z_i) / sum_k(exp(z_k))\nderive a_i wrt z_j\n",
        );
        assert_eq!(names, ["S = sum_k(exp(z_k))"]);
    }

    #[test]
    fn a_name_the_document_uses_is_not_given_out() {
        let names = abbreviations_of(
            "index i, j, k in 1..n\nlet a_i = exp(z_i) / sum_k(exp(z_k)) + S\nderive a_i wrt z_j\n",
        );
        assert_eq!(names, ["T = sum_k(exp(z_k))"]);
    }

    #[test]
    fn a_user_definition_is_preferred() {
        let names = abbreviations_of(
            "index i, j, k in 1..n\nlet s = sum_k(exp(z_k))\nlet a_i = exp(z_i) / s\nderive a_i wrt z_j\n",
        );
        assert!(names.iter().all(|n| !n.contains("sum_k(exp(z_k))")), "{names:?}");
    }

    #[test]
    fn a_short_derivation_names_nothing() {
        assert!(abbreviations_of("derive sin(x)^2 wrt x\n").is_empty());
    }
}
