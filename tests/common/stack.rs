//! Work on a thread with a roomy stack: deep terms are read, compared, evaluated and dropped
//! recursively, deeper than an unoptimised build's test thread can hold. Only the pages
//! touched are committed.

/// `f`'s result, computed on a thread with a 256 MiB stack; a panic in `f` fails the test.
pub fn on_roomy_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .expect("a thread with a roomy stack")
        .join()
        .expect("the work on the roomy stack ends without a panic")
}
