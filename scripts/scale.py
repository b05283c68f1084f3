#!/usr/bin/env python3
"""Growth of `deriv`'s cost with the size of its input (issue 18): six families of inputs
at three sizes, timed as whole processes, with the fitted growth exponent (the slope of
log time against log size, least squares) per family. Beside it, the growth exponents of
what the run must produce: what it prints (the result for `diff`, the writeup for `run`),
and the certificate (`--format json`: every
step, each written out in full, that the kernel replays), and the exponent of the time
against the certificate's size: the cost per unit of output.

Usage (from anywhere):
    scripts/scale.py [BIN ...]          # default: target/release/deriv
    scripts/scale.py OLD NEW            # both binaries in one run, interleaved
    scripts/scale.py --criterion        # fit the in-process times of `cargo bench --bench
                                        # derive -- families` (target/criterion/families)

Each time is the CPU time (user + system, all threads) of the best of REPEATS runs with the
output sent to /dev/null, less the best time of `deriv --version` (start-up), measured in
the same run: CPU time, unlike wall-clock time, hardly depends on what else runs. A run that fails or takes
longer than TIMEOUT seconds is reported as such and left out of the fit.
"""
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SIZES = [20, 40, 80]
REPEATS = 5
TIMEOUT = 60


def product(n):
    """x*(x+1)*…*(x+n): n + 1 linear factors."""
    return "x*" + "*".join(f"(x+{i})" for i in range(1, n + 1))


def nested(n):
    """sin(sin(…sin(x)…)), n deep."""
    return "sin(" * n + "x" + ")" * n


def sums(n):
    """sin(x) + sin(2*x) + … + sin(n*x)."""
    return " + ".join(f"sin({i}*x)" for i in range(1, n + 1))


def polynomial(n):
    """x + 2*x^2 + … + n*x^n."""
    return " + ".join(f"{i}*x^{i}" for i in range(1, n + 1))


def fraction(n):
    """1/(1 + 1/(1 + …1/(1 + x)…)), a continued fraction n deep."""
    return "1/(1 + " * n + "x" + ")" * n


def chain(n):
    """A .deriv file: h1 = tanh(x), h_k = tanh(h_(k-1)), derive h_n wrt x."""
    lets = ["let h1 = tanh(x)"] + [f"let h{k} = tanh(h{k - 1})" for k in range(2, n + 1)]
    return "\n".join(lets) + f"\nderive h{n} wrt x\n"


FAMILIES = {
    "product": product,
    "nested": nested,
    "sums": sums,
    "polynomial": polynomial,
    "fraction": fraction,
    "chain": chain,
}


def slope(points):
    """Least-squares slope of log t against log n."""
    pts = [(math.log(n), math.log(t)) for n, t in points if t and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def run_once(args):
    """The CPU time (user + system, every thread) of one run: unlike the wall-clock time,
    it does not depend on what else the machine is running."""
    try:
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as e:
        return None, str(e)
    start = time.monotonic()
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > TIMEOUT:
            child.kill()
            child.wait()
            return None, "timeout"
        time.sleep(0.0005)
    code = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, None if code == 0 else f"exit {code}"


def output_bytes(args):
    """The size in bytes of what a run prints (`None` if it fails or takes too long)."""
    try:
        run = subprocess.run(args, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    return len(run.stdout) if run.returncode == 0 else None


def slope_against(points, sizes):
    """Least-squares slope of log t against log of the sizes measured at each n."""
    return slope([(sizes[n], t) for n, t in points if sizes.get(n)])


def processes(bins):
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="deriv-scale-"))
    jobs = []
    for family, make in FAMILIES.items():
        for n in SIZES:
            if family == "chain":
                path = tmp / f"chain{n}.deriv"
                path.write_text(make(n))
                jobs.append((family, n, ["run", str(path)]))
            else:
                jobs.append((family, n, ["diff", make(n), "--wrt", "x"]))
    start_up = {b: min(run_once([b, "--version"])[0] for _ in range(20)) for b in bins}
    times = {}
    for family, n, args in jobs:
        for b in bins:
            best, error = None, None
            for _ in range(REPEATS):
                t, error = run_once([b] + args)
                if error:
                    break
                best = t if best is None else min(best, t)
                if best > 5:  # slow enough that one run says it
                    break
            times[(b, family, n)] = (None, error) if error else (max(best - start_up[b], 1e-6), None)
    print(f"start-up (deriv --version): " + ", ".join(f"{b}: {start_up[b] * 1e3:.1f} ms" for b in bins))
    header = "| family | " + " | ".join(f"n = {n}" for n in SIZES)
    header += " | exponent | printed | certificate | time per certificate byte |"
    fmt = lambda s: "—" if s is None else f"{s:.2f}"
    for b in bins:
        print(f"\n{b}\n\n{header}\n|---|" + "---|" * (len(SIZES) + 4))
        for family in FAMILIES:
            cells, points, result, certificate = [], [], {}, {}
            for (f, n, args) in jobs:
                if f == family:
                    result[n] = output_bytes([b] + args)
                    certificate[n] = output_bytes([b] + args + ["--format", "json"])
            for n in SIZES:
                t, error = times[(b, family, n)]
                cells.append(error if error else f"{t * 1e3:.1f} ms")
                if not error:
                    points.append((n, t))
            growth = [slope([(n, v) for n, v in sizes.items() if v]) for sizes in (result, certificate)]
            per_byte = slope_against(points, certificate)
            print(f"| {family} | " + " | ".join(cells) + f" | {fmt(slope(points))} | "
                  + " | ".join(fmt(g) for g in growth) + f" | {fmt(per_byte)} |")


def criterion():
    base = ROOT / "target" / "criterion" / "families"
    print("| family | " + " | ".join(f"n = {n}" for n in SIZES) + " | exponent |")
    print("|---|" + "---|" * (len(SIZES) + 1))
    for family in FAMILIES:
        points, cells = [], []
        for n in SIZES:
            est = base / family / str(n) / "new" / "estimates.json"
            if not est.exists():
                cells.append("—")
                continue
            t = json.loads(est.read_text())["median"]["point_estimate"] / 1e9
            points.append((n, t))
            cells.append(f"{t * 1e3:.2f} ms")
        s = slope(points)
        print(f"| {family} | " + " | ".join(cells) + f" | {'—' if s is None else f'{s:.2f}'} |")


if __name__ == "__main__":
    if sys.argv[1:] == ["--criterion"]:
        criterion()
    else:
        processes(sys.argv[1:] or [str(ROOT / "target" / "release" / "deriv")])
