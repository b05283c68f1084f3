//! A chain of small algebra moves between two ring-equal terms that no single textbook move
//! joins: a search over the forms one move away (a bracket put over a common denominator, a
//! factor taken out of a numerator), each step at most [`ONE_MOVE`] nodes.
//!
//! The halving in `Driver::ring` looks for one midpoint among the normal forms of the two
//! ends. Some steps need a form that is no end's normal form: on the way from
//! `(S(δ - 1/n) - XY/(nS))/S²` to `(nδ - 1 - XY/S²)/(nS)` a textbook writes
//! `(S(nδ - 1)/n - XY/(nS))/S²` first, a bracket of the whole rewritten.

use super::simplify::{candidates, is_ring_node};
use super::{Driver, EngineError, ONE_MOVE};
use crate::expr::Expr;
use crate::terms::{edit_size, more_nodes_than, ExprExt};
use std::collections::HashSet;

/// Terms larger than this (both ends together) are not searched: the search costs a few
/// normal forms per subterm per term it visits.
const MAX_SIZE: usize = 80;

/// Terms whose neighbours the search computes, at most.
const MAX_VISITS: usize = 24;

/// The forms one move away from `e`: its own normal forms, and `e` with one proper
/// subterm of its ring region replaced by one of that subterm's normal forms.
fn neighbours(e: &Expr) -> Vec<Expr> {
    let mut out = candidates(e);
    let mut paths = Vec::new();
    ring_subterms(e, &mut Vec::new(), &mut paths);
    for p in paths.iter().filter(|p| !p.is_empty()) {
        let Some(sub) = e.at(p) else { continue };
        for c in candidates(sub).into_iter().filter(|c| c != sub) {
            out.extend(e.replace_at(p, c));
        }
    }
    out.into_iter().map(|t| t.reshape_all()).filter(|t| t != e).collect()
}

/// The paths of the compound subterms of `e`'s ring region, `e` itself first.
fn ring_subterms(e: &Expr, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if !is_ring_node(e) || e.children().next().is_none() {
        return;
    }
    out.push(at.clone());
    for (i, c) in e.children().enumerate() {
        at.push(i);
        ring_subterms(c, at, out);
        at.pop();
    }
}

/// The terms strictly between `from` and `to`, in order, each within [`ONE_MOVE`] of the
/// one before and the last within it of `to`; `None` if the search finds no such chain.
/// Best first: the term nearest `to` is visited next.
pub fn chain(from: &Expr, to: &Expr) -> Option<Vec<Expr>> {
    if more_nodes_than(&[from, to], MAX_SIZE) {
        return None;
    }
    // Each visited term with the index of the one it was reached from.
    let mut visited: Vec<(Expr, Option<usize>)> = Vec::new();
    let mut seen: HashSet<Expr> = HashSet::from([from.clone()]);
    let mut frontier: Vec<(usize, Expr, Option<usize>)> =
        vec![(edit_size(from, to), from.clone(), None)];
    while visited.len() < MAX_VISITS {
        // The nearest to `to`, the earliest found among equals: deterministic.
        let at = (0..frontier.len()).min_by_key(|&i| frontier[i].0)?;
        let (distance, term, parent) = frontier.remove(at);
        visited.push((term.clone(), parent));
        if distance <= ONE_MOVE {
            let mut out = Vec::new();
            let mut k = Some(visited.len() - 1);
            while let Some(i) = k {
                out.push(visited[i].0.clone());
                k = visited[i].1;
            }
            out.pop(); // `from` itself
            out.reverse();
            return Some(out);
        }
        let me = visited.len() - 1;
        for n in neighbours(&term) {
            if edit_size(&term, &n) <= ONE_MOVE && seen.insert(n.clone()) {
                frontier.push((edit_size(&n, to), n, Some(me)));
            }
        }
    }
    None
}

impl Driver {
    /// Toward `new` still more than one move from the term at `path`: through the chain
    /// [`chain`] finds, when every step of it is accepted and it leaves the result's
    /// hypotheses as the single step would (a form dividing by something new would add one).
    pub(super) fn bridge(&mut self, path: &[usize], new: &Expr) -> Result<(), EngineError> {
        let Some(old) = self.at(path).cloned() else { return Ok(()) };
        if edit_size(&old, new) <= ONE_MOVE || matches!(new, Expr::Num(_)) {
            return Ok(());
        }
        let Some(mids) = chain(&old, new) else { return Ok(()) };
        let mut direct = self.clone();
        let mut bridged = self.clone();
        for m in mids {
            if bridged.ring_step(path, m).is_err() {
                return Ok(());
            }
        }
        if direct.ring_step(path, new.clone()).is_err()
            || bridged.ring_step(path, new.clone()).is_err()
        {
            return Ok(());
        }
        if bridged.proof.hypotheses() == direct.proof.hypotheses() {
            // Everything but the last step: the caller takes that one.
            let last = bridged.proof.steps().len() - 1;
            let steps: Vec<_> = bridged.proof.steps()[self.proof.steps().len()..last].to_vec();
            for s in steps {
                self.apply(s.step.clone())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::ring::ring_equal;
    use crate::syntax::parse_expr;

    #[test]
    fn a_nested_fraction_is_reached_in_moves_of_one_idea() {
        let p = |s: &str| parse_expr(s).expect("parses");
        let from = p("(s*(delta(i,j) - 1/n) + (a - m)*(m - b)/(n*s))/s^2");
        let to = p("(n*delta(i,j) - 1 - (a - m)*(b - m)/s^2)/(n*s)");
        assert!(edit_size(&from, &to) > ONE_MOVE, "one move would do");
        let mids = chain(&from, &to).expect("a chain of moves");
        assert!(!mids.is_empty());
        let all: Vec<Expr> = std::iter::once(from).chain(mids).chain([to]).collect();
        for w in all.windows(2) {
            assert!(edit_size(&w[0], &w[1]) <= ONE_MOVE, "`{}` to `{}`", w[0], w[1]);
            assert_eq!(ring_equal(&w[0], &w[1]), Ok(true), "`{}` to `{}`", w[0], w[1]);
        }
    }

    #[test]
    fn large_terms_are_not_searched() {
        let sum = |k: usize| (0..k).map(|i| format!("x{i}")).collect::<Vec<_>>().join(" + ");
        let from = parse_expr(&format!("({})^2", sum(30))).expect("parses");
        let to = parse_expr(&format!("({})*({})", sum(30), sum(30))).expect("parses");
        assert_eq!(chain(&from, &to), None);
    }
}
