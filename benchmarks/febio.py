#!/usr/bin/env python
"""Benchmark: fesolver on FEBio's verification problems, beside FEBio's own solver statistics.

For each problem of ``../shared/febio-verify`` (or ``$FESOLVER_FEBIO_VERIFY``): the first run (numba compile or
cache load included) and the best of ``--repeats`` warm runs of read + solve, fesolver's Newton steps and
iterations, and its ``solution_norm`` against FEBio's gold ``data_value``; beside FEBio's time steps,
equilibrium iterations, right-hand-side evaluations and stiffness reformations from ``gold.json`` (FEBio's
wall time is not in the gold file). te03 (ut4-solid) and co07 (sliding-elastic contact) are the problems the
issue asks to time; co07 takes minutes, so ``--repeats 0`` times the first run only.

Usage::

    python benchmarks/febio.py                       # te03 co07 te01 ma01 fi01 ri01 bt01
    python benchmarks/febio.py --problems te01 ma01 --repeats 3
    python benchmarks/febio.py --repeats 0            # first runs only (co07 takes minutes)
    python benchmarks/febio.py --json benchmarks/results/febio.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info  # noqa: E402

from fesolver.febio import FEBioError, read_febio  # noqa: E402

VERIFY = Path(os.environ.get("FESOLVER_FEBIO_VERIFY", ROOT.parent / "shared" / "febio-verify"))
DEFAULT = ["te03", "co07", "te01", "ma01", "fi01", "co01", "co10", "ri01", "bt01"]


def run(name: str, repeats: int) -> dict:
    gold = json.loads((VERIFY / "gold.json").read_text())[name]
    febio = {k: gold[k] for k in ("time_steps", "equilibrium_iterations", "rhs_evaluations",
                                  "stiffness_reformations", "data_value")}
    out = {"problem": name, "febio": febio}
    try:
        t = time.perf_counter()
        model = read_febio(VERIFY / f"{name}.feb")
        _, info = model.solve()
        out["first_s"] = time.perf_counter() - t
    except FEBioError as exc:
        out["status"] = "cannot run"
        out["reason"] = str(exc).split(": ", 1)[-1]
        return out
    warm = []
    for _ in range(repeats):
        t = time.perf_counter()
        _, info = read_febio(VERIFY / f"{name}.feb").solve()
        warm.append(time.perf_counter() - t)
    out.update(status="ok", warm_s=min(warm) if warm else None, steps=info["steps"], iterations=info["iterations"],
               solution_norm=info["solution_norm"],
               rel_error=(info["solution_norm"] - febio["data_value"]) / febio["data_value"])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=DEFAULT)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    if not (VERIFY / "gold.json").is_file():
        print(f"FEBio verification problems not found in {VERIFY}", file=sys.stderr)
        return 1
    rows = [run(n, args.repeats) for n in args.problems]
    print(f"{'problem':8} {'first s':>8} {'warm s':>7} {'steps':>6} {'iters':>6} | {'FEBio steps':>11} "
          f"{'FEBio iters':>11} {'FEBio RHS':>9} {'FEBio refs':>10} | {'rel. error':>10}")
    for r in rows:
        f = r["febio"]
        tail = (f"{f['time_steps']:>11} {f['equilibrium_iterations']:>11} {f['rhs_evaluations']:>9} "
                f"{f['stiffness_reformations']:>10}")
        if r["status"] != "ok":
            print(f"{r['problem']:8} {'-':>8} {'-':>7} {'-':>6} {'-':>6} | {tail} | cannot run: {r['reason']}")
            continue
        warm = f"{r['warm_s']:7.2f}" if r["warm_s"] is not None else f"{'-':>7}"
        print(f"{r['problem']:8} {r['first_s']:8.2f} {warm} {r['steps']:>6} {r['iterations']:>6} | "
              f"{tail} | {r['rel_error']:10.2e}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine_info(), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
