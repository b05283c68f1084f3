#!/usr/bin/env python3
"""Check `deriv diff` against SymPy over a corpus file of `EXPR ; VAR ; TEXTBOOK [; weak]` lines.

What the acceptance corpus (issue #4) checks, reproduced locally: for each line, run
`target/release/deriv diff EXPR --wrt VAR`, then
  (a) compare the result numerically with `sympy.diff` at random points of the domain,
  (b) compare its size with the textbook result, counting nodes as `Expr::size` does on
      the term the parser builds (tests/diff_snapshots.rs via tests/common/textbook.rs),
and also check the hand-written textbook result against SymPy. Prints a table; exits
non-zero on a numeric mismatch (of deriv's result or of a textbook result).

Usage: scripts/sympy_corpus.py [FILE ...] [--bin PATH] [--points N]
Default files: tests/diff/acceptance_like.txt. The Rust test suite does not use this.
"""

import argparse
import math
import random
import re
import subprocess
import sys
from fractions import Fraction

import sympy as sp

FUNCS = ["exp", "log", "sqrt", "sin", "cos", "tanh", "tan", "sigmoid", "softplus", "atan", "asin",
         "acos", "sinh", "cosh", "asinh", "abs", "relu", "step", "erf", "max", "min"]

# ---------------------------------------------------------------- deriv's term shape

TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z][A-Za-z0-9]*(?:_(?:\{[^}]*\}|[A-Za-z0-9]+))?)|(.))")


def tokens(src):
    out = []
    pos = 0
    src = src.strip()
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot tokenise {src!r} at {pos}")
        pos = m.end()
        num, ident, op = m.groups()
        if num is not None:
            out.append(("num", num))
        elif ident is not None:
            out.append(("ident", ident))
        elif op is not None and op.strip():
            out.append(("op", op))
    return out


class Parser:
    """A mirror of grammar/deriv.pest and the parser's term building (scalar part)."""

    def __init__(self, src):
        self.t = tokens(src)
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, kind=None, text=None):
        k, s = self.peek()
        if (kind and k != kind) or (text and s != text):
            raise ValueError(f"expected {text or kind}, got {s!r}")
        self.i += 1
        return s

    def is_op(self, s):
        return self.peek() == ("op", s)

    def parse(self):
        e = self.expr()
        if self.i != len(self.t):
            raise ValueError(f"trailing input at token {self.i}")
        return e

    # Terms are tuples: ("num", Fraction) | ("sym", name) | (op, children...).
    def expr(self):
        terms = [self.signed()]
        while self.is_op("+") or self.is_op("-"):
            op = self.take()
            t = self.term()
            terms.append(neg(t) if op == "-" else t)
        return terms[0] if len(terms) == 1 else ("add", *terms)

    def minuses(self):
        n = 0
        while self.is_op("-"):
            self.take()
            n += 1
        return n

    def signed(self):
        n = self.minuses()
        e = self.term()
        for _ in range(n):
            e = neg(e)
        return e

    def term(self):
        factors = [self.factor()]
        while self.is_op("*") or self.is_op("/"):
            op = self.take()
            rhs = self.factor()
            if op == "*":
                factors.append(rhs)
            else:
                lhs = mul(factors)
                factors = [div(lhs, rhs)]
        return mul(factors)

    def factor(self):
        n = self.minuses()
        e = self.power()
        for _ in range(n):
            e = neg(e)
        return e

    def power(self):
        base = self.atom()
        if self.is_op("^"):
            self.take()
            return ("pow", base, self.factor())
        return base

    def atom(self):
        k, s = self.peek()
        if k == "num":
            self.take()
            return ("num", Fraction(s))
        if k == "ident":
            self.take()
            if s in FUNCS and self.is_op("("):
                self.take("op", "(")
                arg = self.expr()
                self.take("op", ")")
                return ("call", s, arg)
            return ("sym", s)
        if self.is_op("("):
            self.take()
            e = self.expr()
            self.take("op", ")")
            return e
        raise ValueError(f"unexpected {s!r}")


def neg(e):
    return ("num", -e[1]) if e[0] == "num" else ("neg", e)


def mul(fs):
    return fs[0] if len(fs) == 1 else ("mul", *fs)


def div(a, b):
    if a[0] == "num" and b[0] == "num" and b[1] != 0:
        return ("num", a[1] / b[1])
    return ("div", a, b)


def size(e):
    """Nodes, as `Expr::size`: a call counts itself and its argument, a number is one."""
    if e[0] in ("num", "sym"):
        return 1
    if e[0] == "call":
        return 1 + size(e[2])
    return 1 + sum(size(c) for c in e[1:])


# ---------------------------------------------------------------- SymPy side

IDENT = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_(?:\{[^}]*\}|[A-Za-z0-9]+))?")


def sympy_name(ident):
    return re.sub(r"[{},]", "", ident)


def to_sympy(src):
    names = {}
    for ident in set(IDENT.findall(src)):
        if ident not in FUNCS:
            names[ident] = sp.Symbol(sympy_name(ident), real=True)
    local = {sympy_name(k): v for k, v in names.items()}
    # The functions SymPy has under deriv's names, then the rest.
    same = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "atan", "asin", "acos", "sinh",
            "cosh", "asinh", "erf")
    local.update({f: getattr(sp, f) for f in same})
    local.update(
        sigmoid=lambda u: 1 / (1 + sp.exp(-u)),
        softplus=lambda u: sp.log(1 + sp.exp(u)),
        abs=sp.Abs,
        relu=lambda u: sp.Max(u, 0),
        step=sp.Heaviside,
        max=sp.Max,
        min=sp.Min,
    )
    text = src.replace("^", "**")
    text = IDENT.sub(lambda m: sympy_name(m.group(0)), text)
    # Exact numbers: `0.25` is 1/4, `3/2` is a rational, as in deriv.
    return sp.parse_expr(text, local_dict=local, evaluate=True, transformations="all")


def sample_points(symbols, rng, n):
    """Points in the domain: positive values keep log, sqrt and real powers defined."""
    for _ in range(n):
        yield {s: sp.Float(rng.uniform(0.3, 2.5), 30) for s in symbols}


def numerically_equal(a, b, symbols, rng, n):
    """Worst relative difference of `a` and `b` over `n` points (inf when one is undefined)."""
    worst = 0.0
    fa = sp.lambdify(symbols, a, "mpmath")
    fb = sp.lambdify(symbols, b, "mpmath")
    import mpmath

    mpmath.mp.dps = 30
    checked = 0
    for p in sample_points(symbols, rng, n * 3):
        args = [p[s] for s in symbols]
        try:
            va, vb = complex(fa(*args)), complex(fb(*args))
        except (ZeroDivisionError, ValueError, OverflowError):
            continue
        if not all(math.isfinite(v.real) and math.isfinite(v.imag) for v in (va, vb)):
            continue
        worst = max(worst, abs(va - vb) / max(1.0, abs(va), abs(vb)))
        checked += 1
        if checked == n:
            break
    return worst if checked else math.inf


def foreign_funcs(expr, result):
    """Functions the result uses that the input lacks, as tests/common/textbook.rs allows."""
    used = lambda src: {f for f in FUNCS if re.search(rf"\b{f}\(", src)}
    allowed = used(expr)
    for f, g in (("sin", "cos"), ("cos", "sin"), ("softplus", "sigmoid")):
        if f in allowed:
            allowed.add(g)
    # A power with a variable exponent may need a log.
    if re.search(r"\^\s*(?:\(|[A-Za-z])", expr):
        allowed.add("log")
    return sorted(used(result) - allowed)


def cases(path):
    with open(path) as f:
        for no, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split(";")]
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "weak"):
                raise SystemExit(f"{path}:{no}: want `EXPR ; VAR ; TEXTBOOK [; weak]`")
            yield no, parts[0], parts[1], parts[2], len(parts) == 4


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", default=["tests/diff/acceptance_like.txt"])
    ap.add_argument("--bin", default="target/release/deriv")
    ap.add_argument("--points", type=int, default=6)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    rows = []
    bad_numeric = 0
    for path in args.files:
        for no, expr, var, textbook, weak in cases(path):
            run = subprocess.run(
                [args.bin, "diff", expr, "--wrt", var], capture_output=True, text=True
            )
            got = run.stdout.strip()
            status = []
            if run.returncode != 0 or not got:
                status.append("DERIV-FAILED")
                rows.append((f"{path}:{no}", expr, var, got or run.stderr.strip(), "-", "-", weak, status))
                bad_numeric += 1
                continue
            f = to_sympy(expr)
            x = to_sympy(var)
            truth = sp.diff(f, x)
            mine = to_sympy(got)
            book = to_sympy(textbook)
            symbols = sorted(truth.free_symbols | mine.free_symbols | book.free_symbols | f.free_symbols, key=str)
            err = numerically_equal(truth, mine, symbols, rng, args.points)
            book_err = numerically_equal(truth, book, symbols, rng, args.points)
            if not err < 1e-9:
                status.append(f"NUMERIC({err:.1e})")
                bad_numeric += 1
            if not book_err < 1e-9:
                status.append(f"TEXTBOOK-WRONG({book_err:.1e})")
                bad_numeric += 1
            n_got, n_book = size(Parser(got).parse()), size(Parser(textbook).parse())
            if n_got > n_book:
                status.append("LARGER")
            foreign = foreign_funcs(expr, got)
            if foreign:
                status.append("FOREIGN(" + ",".join(foreign) + ")")
            rows.append((f"{path}:{no}", expr, var, got, n_got, n_book, weak, status))

    width = max((len(r[1]) for r in rows), default=10)
    width = min(width, 60)
    print(f"{'case':<8} {'expr':<{width}} {'wrt':<4} {'size':>4} {'book':>4}  status  result")
    textbook = larger = weak_count = 0
    for loc, expr, var, got, n_got, n_book, weak, status in rows:
        ok = not status
        textbook += ok
        larger += "LARGER" in status
        tag = "ok" if ok else " ".join(status)
        if weak:
            tag += " (weak)"
            weak_count += 1
        short = loc.rsplit(":", 1)[1]
        print(f"{short:<8} {expr[:width]:<{width}} {var:<4} {n_got!s:>4} {n_book!s:>4}  {tag}  {got}")
    print(
        f"\n{len(rows)} cases: {textbook} in textbook form, {larger} larger than textbook, "
        f"{bad_numeric} numeric problems, {weak_count} marked weak"
    )
    return 1 if bad_numeric else 0


if __name__ == "__main__":
    sys.exit(main())
