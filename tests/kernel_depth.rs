//! The kernel's depth bound on a chain: a `Proof` measures only the subterm a step brings
//! in against the depth it knows of its term, so the bound must still hold wherever the
//! deep part of the term lies, and a term known to be too deep must still be let back
//! under the bound by a step that makes it shallower.

#[path = "common/stack.rs"]
mod stack;

use deriv::expr::{Context, Expr, Func, MAX_DEPTH};
use deriv::kernel::{KernelError, Proof, Step};
use deriv::terms::ExprExt;
use stack::on_roomy_stack;
use std::sync::Arc;

/// `sin(sin(…sin(leaf)…))`, `levels` calls deep.
fn sines(levels: usize, leaf: Expr) -> Expr {
    (0..levels).fold(leaf, |e, _| Expr::call(Func::Sin, e))
}

/// A ring step at `position` claiming `replacement`.
fn ring(position: Vec<usize>, replacement: Expr) -> Step {
    Step { replacement: Some(replacement), ..Step::new("ring-normalize", position) }
}

/// `x*1`, a level deeper than `x` when `x` is the deepest part.
fn times_one(x: Expr) -> Expr {
    Expr::Mul(vec![x, Expr::int(1)].into())
}

/// `(…((x*1)*1)…)*1`, `levels` products deep: ring-equal to `x`.
fn ones(levels: usize, x: Expr) -> Expr {
    (0..levels).fold(x, |e, _| times_one(e))
}

fn too_deep(r: Result<(), KernelError>) -> bool {
    matches!(r, Err(KernelError::TooLarge(m)) if m.contains("nests too deeply"))
}

#[test]
fn a_step_that_deepens_any_branch_past_the_bound_is_refused() {
    on_roomy_stack(|| {
        // Two branches: `a` exactly at the bound, `b` shallow. Deepening the shallow one a
        // little is fine; deepening either past the bound is not, whichever way it is reached.
        let deep = sines(MAX_DEPTH - 2, Expr::sym("a"));
        let goal = Expr::Add(vec![deep.clone(), Expr::sym("b")].into());
        assert_eq!(goal.depth(), MAX_DEPTH);
        let mut proof = Proof::start(Arc::new(Context::default()), goal).expect("starts");
        proof.apply(ring(vec![1], times_one(Expr::sym("b")))).expect("the shallow branch deepens");
        let at_a: Vec<usize> = std::iter::once(0).chain(vec![0; MAX_DEPTH - 2]).collect();
        assert!(too_deep(proof.apply(ring(at_a, times_one(Expr::sym("a"))))));
        let other = ring(vec![1], ones(MAX_DEPTH - 1, Expr::sym("b")));
        assert!(too_deep(proof.apply(other)), "the other branch, deepened");
        assert_eq!(proof.steps().len(), 1);
    });
}

#[test]
fn a_term_past_the_bound_comes_back_under_it_by_a_shallower_step() {
    on_roomy_stack(|| {
        // The goal is one level too deep at `a*1`; the first step (elsewhere) is refused, as
        // its result is too deep, while one that takes `a*1` back to `a` is accepted, and
        // after it the term is known to be exactly at the bound again.
        let goal =
            Expr::Add(vec![sines(MAX_DEPTH - 2, times_one(Expr::sym("a"))), Expr::sym("b")].into());
        assert_eq!(goal.depth(), MAX_DEPTH + 1);
        let mut proof = Proof::start(Arc::new(Context::default()), goal).expect("starts");
        assert!(too_deep(proof.apply(ring(vec![1], Expr::sym("b")))));
        let at_product: Vec<usize> = std::iter::once(0).chain(vec![0; MAX_DEPTH - 2]).collect();
        proof.apply(ring(at_product, Expr::sym("a"))).expect("the shallower step is accepted");
        assert_eq!(proof.current().depth(), MAX_DEPTH);
        assert!(too_deep(proof.apply(ring(vec![1], ones(MAX_DEPTH - 1, Expr::sym("b"))))));
        proof.apply(ring(vec![1], ones(2, Expr::sym("b")))).expect("a step within the bound");
    });
}
