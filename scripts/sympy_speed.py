#!/usr/bin/env python3
"""Time `deriv diff --batch` against SymPy `diff` + `simplify`, in one run, over the same cases.

The cases are the project's public scalar corpus: every `EXPR ; VAR ; TEXTBOOK` line of
`tests/diff/*.txt` (indexed cases and cases with `D(...)` inside are left out: SymPy would
need another reading of them). deriv runs once, as one `deriv diff --batch -` process, and
its wall time counts start-up, parsing, derivation, kernel replay and the numeric checks of
every step. SymPy runs in this (warm) Python process: `sympy.simplify(sympy.diff(e, x))` per
case, the SymPy parse done beforehand and not timed. Each side runs `--repeat` times; the
best time of each is compared. Prints both times and their ratio.

Usage: scripts/sympy_speed.py [--bin target/release/deriv] [--repeat 3]
Build first: cargo build --release. Needs `pip install sympy`.
"""

import argparse
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sympy as sp  # noqa: E402

from sympy_corpus import cases, sympy_name, to_sympy  # noqa: E402


def corpus(root):
    out = []
    for path in sorted(glob.glob(os.path.join(root, "tests", "diff", "*.txt"))):
        for _no, expr, var, _textbook, _weak in cases(path):
            if "_" in expr or "_" in var or "D(" in expr or "delta" in expr:
                continue
            out.append((expr, var))
    return out


def time_deriv(binary, batch_text):
    start = time.perf_counter()
    run = subprocess.run(
        [binary, "diff", "--batch", "-"], input=batch_text, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    return elapsed, run


def time_sympy(parsed):
    start = time.perf_counter()
    for e, x in parsed:
        sp.simplify(sp.diff(e, x))
    return time.perf_counter() - start


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(root, "target", "release", "deriv"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    cases_ = corpus(root)
    batch_text = "".join(f"{e} ; {v}\n" for e, v in cases_)
    parsed = []
    for e, v in cases_:
        parsed.append((to_sympy(e), sp.Symbol(sympy_name(v), real=True)))

    deriv_best = sympy_best = float("inf")
    for _ in range(args.repeat):
        elapsed, run = time_deriv(args.bin, batch_text)
        if run.returncode != 0:
            sys.exit(f"deriv failed (status {run.returncode}):\n{run.stderr}")
        lines = run.stdout.splitlines()
        if len(lines) != len(cases_):
            sys.exit(f"deriv printed {len(lines)} lines for {len(cases_)} cases")
        deriv_best = min(deriv_best, elapsed)
        sympy_best = min(sympy_best, time_sympy(parsed))

    print(f"cases: {len(cases_)} (tests/diff/*.txt, scalar)")
    print(f"deriv diff --batch (one process, every step kernel- and numerically checked): "
          f"{deriv_best * 1e3:.1f} ms")
    print(f"SymPy diff + simplify (one warm process): {sympy_best * 1e3:.1f} ms")
    print(f"ratio: SymPy / deriv = {sympy_best / deriv_best:.1f}x")


if __name__ == "__main__":
    main()
