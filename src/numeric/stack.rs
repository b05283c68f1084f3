//! Deep terms on a roomy stack: evaluators, samplers and the compiler recurse once per
//! nesting level (definitions included), which may exceed a small thread stack in debug
//! builds. Work on deep terms moves to a thread with a large stack; shallow work, and
//! work nested in guarded work, runs in place.

use super::eval::EvalError;
use crate::expr::{Context, Expr};
use crate::terms::{node_key, NodeMap};
use std::cell::Cell;

/// Stack for deep work; only touched pages are committed.
const STACK_BYTES: usize = 1 << 30;
/// Total nesting (deepest term plus all definition bodies) that any thread stack handles.
const SHALLOW: usize = 64;

thread_local! {
    /// Set while guarded work runs on this thread, so nested guarded calls run in place.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as running guarded work until dropped.
struct Mark(bool);

impl Mark {
    fn set() -> Mark {
        Mark(GUARDED.with(|g| g.replace(true)))
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        GUARDED.with(|g| g.set(self.0));
    }
}

/// Whether the terms or hypotheses, with the definitions they may enter, nest deeper than [`SHALLOW`].
fn is_deep(ctx: &Context, terms: &[&Expr]) -> bool {
    let definitions: usize = ctx.definitions.iter().map(|d| d.body.depth()).sum();
    let Some(room) = SHALLOW.checked_sub(definitions) else { return true };
    let hypotheses = ctx.assumptions.iter().flat_map(|a| [&a.lhs, &a.rhs]);
    let mut heights = NodeMap::default();
    terms.iter().copied().chain(hypotheses).any(|e| height(e, room, &mut heights).is_none())
}

/// The depth of `e` (a leaf is 1), or `None` past `room`. Each compound node is measured
/// once, by [`node_key`]: the terms of a chain share most of theirs, and a step rebuilds
/// the lists around what it rewrote.
fn height(e: &Expr, room: usize, heights: &mut NodeMap<usize>) -> Option<usize> {
    if room == 0 {
        return None;
    }
    let key = node_key(e);
    if let Some(&h) = key.as_ref().and_then(|k| heights.get(k)) {
        return (h <= room).then_some(h);
    }
    let mut h = 1;
    for c in e.children() {
        h = h.max(1 + height(c, room - 1, heights)?);
    }
    if let Some(k) = key {
        heights.insert(k, h);
    }
    Some(h)
}

/// Run `f`, on a large-stack thread when the terms are deep. Errors if no such thread can start.
pub(crate) fn guarded<R: Send, E: Send + From<EvalError>>(
    ctx: &Context,
    terms: &[&Expr],
    f: impl FnOnce() -> Result<R, E> + Send,
) -> Result<R, E> {
    if GUARDED.with(Cell::get) {
        return f();
    }
    if !is_deep(ctx, terms) {
        let _mark = Mark::set();
        return f();
    }
    let failed =
        || E::from(EvalError::TooLarge("no thread with a large stack for a deep term".into()));
    std::thread::scope(|scope| {
        let worker =
            std::thread::Builder::new().stack_size(STACK_BYTES).spawn_scoped(scope, || {
                let _mark = Mark::set();
                f()
            });
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|_| Err(failed())),
            Err(_) => Err(failed()),
        }
    })
}
