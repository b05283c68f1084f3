//! Independent work (a document's goals) spread over the machine's cores, results in order.

/// Stack for each worker: the engine, the checkers and the printers recurse once per nesting level.
const STACK_BYTES: usize = 1 << 30;

/// `f(0), …, f(count - 1)` in order, computed on up to as many threads as the machine has
/// cores. Callers pass independent work (one goal each), so this changes the time taken and
/// nothing else; if no thread can start, the calling thread does the work.
pub(crate) fn in_parallel<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    // One item needs no threads, and asking for the core count reads several files.
    if count <= 1 {
        return (0..count).map(f).collect();
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count);
    if workers <= 1 {
        return (0..count).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= count {
            break;
        }
        let value = f(i);
        if let Ok(mut r) = results.lock() {
            r[i] = Some(value);
        }
    };
    std::thread::scope(|scope| {
        // The caller only waits. A new thread tends to start on its parent's core, and
        // behind a parent that keeps computing it waited ~0.8 ms while another core idled.
        let started = (0..workers)
            .filter(|_| {
                std::thread::Builder::new()
                    .stack_size(STACK_BYTES)
                    .spawn_scoped(scope, work)
                    .is_ok()
            })
            .count();
        if started == 0 {
            work();
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    // Every slot is filled: a panicking worker makes `scope` re-raise before this point.
    // Recomputing an empty slot keeps the function total without an `unwrap`.
    results.into_iter().enumerate().map(|(i, r)| r.unwrap_or_else(|| f(i))).collect()
}
