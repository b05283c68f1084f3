//! The trusted base, named and measured: `src/kernel/` (rules, the reader, validation,
//! replay, certificate checking) and `src/expr/` (the term language it is written in).
//! Lines of code are counted without blank lines, comment lines and `#[cfg(test)]`
//! modules. ARCHITECTURE.md states the count exactly; the ceiling stops it growing.

use std::path::Path;

const TRUSTED: [&str; 2] = ["src/kernel", "src/expr"];

/// The most lines of code the trusted base may have. The aim is 2,500; the ceiling only
/// comes down, but for a checking duty the kernel takes on (lemmas, and a condition implied
/// through a definition: 2,934 to 3,049, since brought down to 2,929), or for a cost the
/// kernel alone can remove (2,968): a ring step cancels what both sides share before
/// normalising (11 lines: a step on one factor of a product of n had cost the whole
/// product), and a step's walks and its depth go into a shared part once (28 lines: the
/// `cos(sin^k(x))` factors of a nested derivative had cost their tree, d^2 nodes per step).
/// Since brought down to 2,959; raised to 3,056 in session 28 for seven holes four
/// adversarial reviews found: a defined name used with another number of indices (17
/// lines), definitions walked once per mention until the replay never finished (25 lines
/// of memo), an index or a variable brought in as a range bound by a step (22 lines), the
/// chain rule judging an instance by its declared range inside a narrower sum (2 lines),
/// a condition carried under a derivative on a term that jumps (19 lines), and `|u| = u`
/// for `u >= 0` (its condition, 8 lines). Raised to 3,170 in session 29 for ten more holes
/// two rounds of review found and two costs: a size at an index position (`delta(n, 0)`),
/// under a hypothesis over an index of its range (`delta(j, j) = 0`), or through a fixed
/// label, taken as at least 1 (24 lines); a hypothesis giving a range more than the
/// convention without being listed (8 lines); a sign condition read off the definition of
/// a name held as a variable (18 lines); a power `0^(x^2)` that jumps under a carried
/// condition (its base's `u > 0` carried too, or refused for a base under an inner sum;
/// 46 lines); a proof's steps and lemmas shared, so that trial derivations and long
/// documents stop copying them (12 lines), and a certificate of at most 5,000
/// derivations (6 lines); since brought down to 3,159 by the session's review (one name
/// reader, one refusal, one decision per condition). Raised to 3,219 in session 30: the rule
/// `delta-off-range` and its decide-or-refuse condition (31 lines), classes of carried index
/// equalities (`i = k`, `k = j`, `i != j`; 24 lines), a reversed rule that brings a
/// derivative in counted as differentiating, held definitions kept for dependencies, a
/// hypothesis keeping `n >= 1` only where nothing else touches `n` (in place of the
/// hypothesis route of `non_empty`), and each condition decided once per step; then to
/// 3,234 by a second round: derivative rules are not read backwards, an index equality
/// whose ranges do not meet is false (`index_range`), and a size's sign is worked out once
/// per name. Raised to 3,311 in session 31 by a third round: a size that only a goal's sum
/// runs to is neither defined nor constrained (17 lines), the classes of carried index
/// equalities are checked against their ranges and two single-value ranges are equal (22
/// lines), the context checked in linear time (one pass for fixed labels and earlier
/// names), `abs(u) != 0` split to `u != 0`. (A stated vector form is now refused where a
/// condition restricts an output index: `src/certificate.rs`, outside this count.) Raised
/// to 3,454 by a second round: a hypothesis may not reach a size's value through
/// definitions (`reaches_value`, 25 lines), classes of equal indices take the values their
/// members' ranges and carried ranges share and are searched for values meeting every
/// inequality (`assignable`; 105 lines in all), a declared range with no value is refused
/// (12 lines, since taken back), and the jump check follows the definitions a condition
/// reaches. Raised to
/// 3,569 by a third round: carried index conditions are checked in a module of their own
/// (`kernel/cases.rs`, tried at concrete sizes with a bounded search; it replaces the
/// second round's interval narrowing, 115 lines more in all), and a sign condition beside a
/// vector form is read through the definitions it names (`src/certificate.rs`, not counted);
/// brought down to 3,555 by the session's review (one walk of the definitions a term
/// reaches, `validate::reached_definitions`, serves the size check, the jump check and the
/// vector forms); 3,545 once the refusal of empty declared ranges was taken back. Raised
/// to 3,725 in session 32 by a fifth round: a sign condition on numbers, sizes and deltas
/// alone, and a range's length, join the index conditions in `kernel/cases.rs`, each way
/// its deltas can fall tried at every choice of sizes (about 150 lines, with a map of the
/// declared ranges in place of a scan); a goal's free index needs a range with a value (14
/// lines); a common denominator of more than 160 terms is too large (5 lines); the reader
/// takes a unary plus and `.5` as the parser now does (2 lines). Raised to 3,794 by a
/// sixth round: the goal's own indices and goal-only sizes join the case search, a
/// quantified settled condition is tried at each value of its index, a condition on a
/// delta beside a variable is refused, a settled power is bounded in bits, and the case
/// search's reading of conditions counts against a budget (67 lines). Raised to 3,825
/// by a seventh: a sum of a settled body over sizes is worked out at each choice of sizes,
/// and any other carried condition that reaches a delta (also through a definition) is
/// refused (27 lines; 3,821). Raised to 4,213 in session 33 to close the seventh round's
/// open hole: a carried sign condition on variables that reaches a size needs a point
/// where it holds, together with the hypotheses sharing its variables, at sizes the case
/// search tries (`kernel/witness.rs`, an exact and sign-wise evaluator, 300 lines; its
/// place in `cases.rs`, 60 lines), while one `bound_at` and one `power` replace three
/// copies each of the case search's range bounds and powers. Raised to 4,326 by an eighth
/// and a ninth round (the point meets the sign conditions and hypotheses sharing its
/// variables, found by union-find, and the index conditions; work charged by the size of
/// numbers; an index condition on a name that is neither an index nor a size refused; a
/// map of the definitions) and sixteen table rules (`cosh-squared`, `sinh-squared`, and
/// values of functions at 0, 1 and at pi/3, pi/4, pi/6).
const CEILING: usize = 4_325;

fn trusted_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = TRUSTED
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("the folder exists"))
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

/// Lines of code: not blank, not only a comment, not inside a `#[cfg(test)]` module
/// (which, by the project's layout, closes its file).
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with("//")
        })
        .count()
}

fn trusted_lines() -> usize {
    trusted_files().iter().map(|p| code_lines(&std::fs::read_to_string(p).expect("readable"))).sum()
}

#[test]
fn the_trusted_base_is_measured_and_stays_under_its_ceiling() {
    let lines = trusted_lines();
    assert!(lines <= CEILING, "the trusted base has {lines} lines of code, past {CEILING}");
    let architecture =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .expect("ARCHITECTURE.md");
    let stated = format!("{} lines of code", group(lines));
    assert!(
        architecture.contains(&stated),
        "ARCHITECTURE.md must state the trusted base as `{stated}`"
    );
}

/// `3648` as `3,648`.
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The kernel uses nothing of the program but the term language (its test modules, which
/// close their files and are not trusted, may use the parser).
#[test]
fn the_kernel_imports_only_the_term_language() {
    for path in trusted_files().iter().filter(|p| p.to_string_lossy().contains("kernel")) {
        let text = std::fs::read_to_string(path).expect("readable");
        let code = text.lines().take_while(|l| l.trim() != "#[cfg(test)]");
        for (n, line) in code.enumerate().filter(|(_, l)| !l.trim().starts_with("//")) {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                let path_here = &rest[at + "crate::".len()..];
                assert!(path_here.starts_with("expr"), "{path:?}:{}: `{}`", n + 1, line.trim());
                rest = path_here;
            }
        }
    }
}

/// Only the kernel builds a `Proof` or a `CheckedStep`: their fields are private, and no
/// code outside `src/kernel/` names them in a struct literal.
#[test]
fn only_the_kernel_makes_proofs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                if !path.ends_with("kernel") {
                    stack.push(path);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for literal in ["Proof {", "CheckedStep {"] {
                assert!(!text.contains(literal), "{path:?} builds a `{literal} … }}`");
            }
        }
    }
}
