//! What "textbook form" means for a derivative, shared by the diff and index tests: no
//! larger than the textbook's, and written with the input's own functions and names.
//! Include it with `#[path = "common/textbook.rs"] mod textbook;`.

use deriv::expr::{Expr, Func};
use deriv::functions::spec;
use deriv::rules::RuleBody;
use deriv::terms::ExprExt;
use std::collections::BTreeSet;

/// The functions and the names of symbols some terms mention.
#[derive(Default)]
pub struct Vocabulary {
    pub funcs: BTreeSet<Func>,
    pub names: BTreeSet<String>,
}

impl Vocabulary {
    pub fn add(&mut self, e: &Expr) {
        e.any(&mut |t| {
            match t {
                Expr::Call(f, _) => {
                    self.funcs.insert(*f);
                }
                Expr::Sym(s) | Expr::Idx(s, _) => {
                    self.names.insert(s.clone());
                }
                _ => {}
            }
            false
        });
    }

    pub fn of(e: &Expr) -> Vocabulary {
        let mut v = Vocabulary::default();
        v.add(e);
        v
    }

    /// The functions a derivative of these terms may need: their own, those recognised
    /// from definitions written in them, those of their derivative rules' right sides (the
    /// cosine for the sine, the sigmoid for softplus), and the log of a power with a
    /// variable exponent.
    fn allowed_funcs(&self, terms: &[&Expr]) -> BTreeSet<Func> {
        let derivative_funcs = |fs: &BTreeSet<Func>| {
            let mut out = fs.clone();
            for f in fs {
                if let Some(RuleBody::Rewrite { rhs, .. }) = spec(*f).derivative.rule() {
                    out.extend(Vocabulary::of(rhs).funcs);
                }
            }
            out
        };
        let mut out = derivative_funcs(&self.funcs);
        // A function the engine recognises from a definition written in those functions
        // (σ from `exp`, tanh from `sinh/cosh`) may appear, and so may its derivative's.
        for rule in deriv::engine::recognise::RECOGNISED {
            if let Some(RuleBody::Rewrite { lhs, rhs, .. }) = rule.rule() {
                if Vocabulary::of(rhs).funcs.is_subset(&out) {
                    out.extend(Vocabulary::of(lhs).funcs);
                }
            }
        }
        let mut out = derivative_funcs(&out);
        let variable_power =
            |t: &Expr| matches!(t, Expr::Pow(_, e) if !matches!(**e, Expr::Num(_)));
        if terms.iter().any(|t| t.any(&mut |s| variable_power(s))) {
            out.insert(Func::Log);
        }
        // `u^(1/2)` is written `sqrt(u)` in a result.
        let half_power =
            |t: &Expr| matches!(t, Expr::Pow(_, e) if e.as_num().is_some_and(|r| !r.is_integer()));
        if terms.iter().any(|t| t.any(&mut |s| half_power(s))) {
            out.insert(Func::Sqrt);
        }
        // The sign `u/abs(u)` is `2*step(u) - 1` (rule `sign-as-step`): `max(x, 0)` gives `step(x)`.
        if out.contains(&Func::Abs) {
            out.insert(Func::Step);
        }
        out
    }
}

/// Whether `result` is in textbook form for the input `terms` (a goal and the definitions
/// it may use): written with their functions and names only (plus `extra` names such as
/// range symbols), without `delta(j,j)`, and no larger than `textbook`.
pub fn textbook_form(
    terms: &[&Expr],
    extra: &[String],
    result: &Expr,
    textbook: &Expr,
) -> Result<(), String> {
    let mut input = Vocabulary::default();
    for t in terms {
        input.add(t);
    }
    input.names.extend(extra.iter().cloned());
    let got = Vocabulary::of(result);
    let allowed = input.allowed_funcs(terms);
    let foreign: Vec<&str> = got.funcs.difference(&allowed).map(|f| f.name()).collect();
    if !foreign.is_empty() {
        return Err(format!("uses {foreign:?}, which the input lacks"));
    }
    if let Some(n) = got.names.difference(&input.names).next() {
        return Err(format!("mentions `{n}`, which the input lacks"));
    }
    if result.any(&mut |t| matches!(t, Expr::Delta(a, b) if a == b)) {
        return Err("keeps a Kronecker delta of an index with itself, which is 1".into());
    }
    if result.size() > textbook.size() {
        return Err(format!(
            "size {} is larger than the textbook's {}",
            result.size(),
            textbook.size()
        ));
    }
    Ok(())
}
