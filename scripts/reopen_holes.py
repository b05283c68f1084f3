#!/usr/bin/env python3
"""Mutation check of tests/kernel_differential.rs: take each closed kernel soundness hole's
fix out again, one at a time, and insist that the hole's targeted test then fails.

Usage (from anywhere; the sources are restored after each hole):
    scripts/reopen_holes.py            # every hole
    scripts/reopen_holes.py 2 6        # some holes
    scripts/reopen_holes.py --check    # only say which edits no longer apply
    scripts/reopen_holes.py --keep 3   # reopen hole 3 and leave it open (restore with git)

Each fix is undone by a small textual edit of the kernel. The kernel changes: before
anything runs, every edit is checked against the current text, and each one that no
longer applies is printed (then the script stops, since that edit needs updating).
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# hole -> [(file, text with the fix, text without it)]
EDITS = {
    # 1: an empty sum of negative terms counted as negative, so non-zero. (A sum's signs
    # include zero unless its range surely has a term.)
    "1": [("src/kernel/conditions.rs",
           "if non_empty(ctx, &s.lo, &s.hi) {\n                total\n",
           "if true || non_empty(ctx, &s.lo, &s.hi) {\n                total\n")],
    # 2: a hypothesis's free indices bound to values outside their declared range.
    "2": [("src/kernel/builtin.rs",
           "Ok((to, ranges))",
           "let _ = ranges; Ok((to, vec![]))")],
    # 3: a hypothesis that involves `x` used inside `D(..., x)`.
    "3": [("src/kernel/builtin.rs",
           "variables.iter().find(|x| [&h.lhs, &h.rhs]",
           "variables.iter().take(0).find(|x| [&h.lhs, &h.rhs]")],
    # 4: a step position inside the variable slot of a derivative.
    "4": [("src/kernel/mod.rs",
           "Expr::D(_, x) if i == 1 =>",
           "Expr::D(_, x) if i == 1 && false =>")],
    # 5: differentiation with respect to a size.
    "5": [("src/kernel/validate.rs",
           "if sizes.contains(n) || bounds.contains(n) {",
           "if false && (sizes.contains(n) || bounds.contains(n)) {"),
          ("src/kernel/table.rs",
           '&["index-free(k, X)", "free-of(X, A)", "free-of(X, B)"]',
           '&["index-free(k, X)"]')],
    # 6: an undecided condition on a bound index carried as one on a free index.
    "6": [("src/kernel/mod.rs",
           "let c = conditions::quantify(c, binders);",
           "")],
    # 7: self-referential definitions.
    "7": [("src/kernel/validate.rs",
           "if def.body.mentions_name(n) {",
           "if false && def.body.mentions_name(n) {"),
          ("src/kernel/validate.rs",
           "if let Some(via) = reaches(before, &def.body, n) {",
           "if let Some(via) = reaches(before, &def.body, n).filter(|_| false) {")],
    # 8: a size defined or constrained by a hypothesis, and `1..n` non-empty all the same.
    "8": [("src/kernel/validate.rs",
           "if sizes.contains(n) {\n        return Err(format!(\"`{n}` bounds an index range, so it is a size",
           "if false && sizes.contains(n) {\n        return Err(format!(\"`{n}` bounds an index range, so it is a size"),
          ("src/kernel/validate.rs",
           "if let Some(n) = sizes.iter().find(|n| side.mentions_name(n)) {",
           "if let Some(n) = sizes.iter().find(|n| side.mentions_name(n)).filter(|_| false) {"),
          # `1..n` counts as non-empty only for a size no definition or hypothesis touches.
          ("src/kernel/conditions.rs",
           "(*lo == Bound::Int(1) && untouched)",
           "(*lo == Bound::Int(1) && (untouched || true))")],
    # 9: a fixed label captured by a sum of its name (a definition or hypothesis that holds
    # at the label used inside `sum_k`, a new free label under `sum_k`), or renamed.
    "9": [("src/kernel/builtin.rs",
           "labels.contains_key(k) && loc.binders.iter().any(|(b, ..)| b == k);",
           "labels.contains_key(k) && loc.binders.iter().any(|(b, ..)| b == k) && false;"),
          ("src/kernel/builtin.rs",
           "!free.contains(*k) || labels.contains_key(*k)",
           "!free.contains(*k)"),
          ("src/kernel/mod.rs",
           "extra.find(|k| bound(k) ||",
           "extra.find(|k| false && bound(k) ||")],
    # 10: a defined name held as the variable of a derivative, unfolded or folded there, a
    # defined name differentiated as if independent, or a derivative brought inside.
    "10": [("src/kernel/builtin.rs",
            "if loc.variables.iter().any(|x| x == uses) {",
            "if false {"),
           ("src/kernel/builtin.rs",
            "_ if ctx.is_defined(v) => {",
            "_ if false => {"),
           ("src/kernel/mod.rs",
            "let held = ctx.definition(x).is_some() &&",
            "let held = false &&")],
}

# hole -> the tests that must each fail with it open (hole 8 has two)
TESTS = {h: [f"hole_{h}_"] for h in EDITS}
TESTS["8"] = ["hole_8_sizes_are_not_defined", "hole_8_sizes_are_not_assumed"]


def stale(holes):
    """The edits of `holes` whose fix text is not in the kernel exactly once."""
    out = []
    for hole in holes:
        for path, old, _ in EDITS[hole]:
            p = ROOT / path
            n = p.read_text().count(old) if p.exists() else 0
            if n != 1:
                out.append((hole, path, n, old))
    return out


def reopen(hole):
    """Apply hole's edits; return the original contents to restore."""
    saved = {}
    for path, old, new in EDITS[hole]:
        p = ROOT / path
        text = p.read_text()
        saved.setdefault(p, text)
        p.write_text(text.replace(old, new))
    return saved


def main(args):
    keep = "--keep" in args
    holes = [a for a in args if not a.startswith("--")] or list(EDITS)
    bad = stale(holes)
    for hole, path, n, old in bad:
        print(f"hole {hole}: edit no longer applies ({n} matches in {path}):\n    {old!r}")
    if bad or "--check" in args:
        print(f"{len(bad)} edits no longer apply" if bad else "every edit applies")
        sys.exit(1 if bad else 0)
    failures = []
    for hole in holes:
        saved = reopen(hole)
        if keep:
            print(f"hole {hole} reopened")
            continue
        try:
            for test in TESTS[hole]:
                run = subprocess.run(
                    ["cargo", "test", "--test", "kernel_differential", test],
                    cwd=ROOT, capture_output=True, text=True)
                out = run.stdout + run.stderr
                found = [l for l in out.splitlines() if "set DERIV_DIFF_SEED" in l]
                if run.returncode != 0 and found:
                    print(f"hole {hole}: {test} fails, as it must: {found[0]}", flush=True)
                else:
                    why = "passes" if run.returncode == 0 else "fails without a refutation"
                    print(f"hole {hole}: {test} does NOT find it ({why})", flush=True)
                    if run.returncode != 0:
                        print(out[-3000:])
                    failures.append(hole)
        finally:
            for p, text in saved.items():
                p.write_text(text)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
