"""Cases per minute of a coarse sweep run by ``fesolver.batch`` with 1 and with 2 local worker processes
(issue 8: expect close to 2x on two cores).

    python benchmarks/batch.py [--sweep scenarios/sweeps/eversion.toml] [--cases 4] [--models knee]
                               [--workers 1 2] [--json benchmarks/results/batch.json]

The first ``--cases`` cases of the sweep (coarse meshes; ``--models`` chooses the sub-models each case solves,
``knee`` by default to keep the run to a few minutes) are run once per worker count, each time into a fresh
folder (nothing is resumed), with one numba thread per process. One case is run first on its own to fill numba's
and the model caches; its time is reported apart (the "first, compiling" run). The peer of each figure is the
same batch with one worker: the speed-up is ``cases/min(N workers) / cases/min(1 worker)``. The load average
before and after each run, and the CPUs the batch (this process and its workers) and all other processes used
meanwhile (from ``getrusage`` and /proc/stat), are printed beside it: on a machine shared with other jobs, a
busy neighbour takes cores away and the speed-up falls below 2; ``cpus_used_by_batch`` shows how many cores
the batch actually got.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info  # noqa: E402


def _busy_cpu_s() -> float:
    """CPU seconds all processes of the machine spent busy so far (/proc/stat: user + nice + system + irq)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds of this process and its finished children (the local cluster's workers, once closed)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def run(cases, workers: int, outdir: Path) -> dict:
    from fesolver.batch import run_batch

    load0 = os.getloadavg()[0]
    busy0, own0 = _busy_cpu_s(), _own_cpu_s()
    t0 = time.perf_counter()
    rep = run_batch(cases, outdir, workers=workers, threads=1, progress=False, plots=False)
    wall = time.perf_counter() - t0
    own = _own_cpu_s() - own0
    other = max(0.0, _busy_cpu_s() - busy0 - own)
    return {"workers": workers, "cases": len(cases), "ok": rep.count("ok"), "wall_s": round(wall, 2),
            "cases_per_min": round(60.0 * len(cases) / wall, 3),
            "case_s": [r["seconds"] for r in rep.rows], "cpus_used_by_batch": round(own / wall, 2),
            "cpus_used_by_others": round(other / wall, 2), "cpu_s_per_case": round(own / len(cases), 1),
            "loadavg_before": round(load0, 2), "loadavg_after": round(os.getloadavg()[0], 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sweep", default=str(HERE.parent / "scenarios" / "sweeps" / "eversion.toml"))
    ap.add_argument("--cases", type=int, default=4, help="first N cases of the sweep (default 4)")
    ap.add_argument("--models", default="knee", choices=("knee", "foot", "both"))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", default=str(HERE / "results" / "batch.json"))
    args = ap.parse_args(argv)

    from fesolver.batch import load_sweep, run_batch

    sweep = load_sweep(args.sweep, overrides={"output.models": args.models, "mesh.level": "coarse"})
    cases = list(sweep.cases[: args.cases])
    print(f"sweep {args.sweep}: {len(cases)} of {len(sweep.cases)} cases, models = {args.models}, coarse", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_batch(cases[:1], Path(tmp) / "warm", workers=1, threads=1, progress=False, plots=False)
        first = round(time.perf_counter() - t0, 2)
        print(f"first (compiling / cache-filling) batch of 1 case: {first:.1f} s", flush=True)
        rows = []
        for w in args.workers:
            r = run(cases, w, Path(tmp) / f"w{w}")
            rows.append(r)
            print(f"{w} worker(s): {r['cases']} cases ({r['ok']} ok) in {r['wall_s']:.1f} s = "
                  f"{r['cases_per_min']:.2f} cases/min; CPUs used by the batch {r['cpus_used_by_batch']:.2f}, "
                  f"by other processes {r['cpus_used_by_others']:.2f}; {r['cpu_s_per_case']:.0f} CPU s per case; "
                  f"load average {r['loadavg_before']} -> {r['loadavg_after']}", flush=True)
    base = rows[0]["cases_per_min"]
    for r in rows:
        r["speedup_vs_1"] = round(r["cases_per_min"] / base, 3)
    print("\n| workers | cases/min | wall [s] | speed-up vs 1 worker | CPUs used by the batch | by others |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} | {r['cases_per_min']:.2f} | {r['wall_s']:.1f} | {r['speedup_vs_1']:.2f} | "
              f"{r['cpus_used_by_batch']:.2f} | {r['cpus_used_by_others']:.2f} |")
    out = {"sweep": args.sweep, "models": args.models, "cases": len(cases), "first_batch_s": first, "runs": rows,
           "machine": machine_info(), "date": time.strftime("%Y-%m-%d %H:%M")}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
