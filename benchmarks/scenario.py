"""Wall time of `fesolver run` on a shipped scenario, per mesh level and sub-model (issue 6's speed goal:
coarse under 20 s once numba's cache and the model cache are warm, medium under 2 minutes, both sub-models).

    python benchmarks/scenario.py [--scenario scenarios/midstance.toml] [--levels coarse medium] [--repeat 1]
                                  [--processes 1 2]

Each level is run once to warm the caches (foot build, numba) unless ``--cold``, then timed ``--repeat``
times in each mode of ``--processes``: 1 = sequential (``solver.parallel = false``), 2 = the knee in a second
process while the foot solves (the default of a run on two or more cores); the ratio of the two wall times is
printed. Prints a table (DOFs, load steps, Newton iterations, seconds per sub-model, total) and writes
``benchmarks/results/scenario.json``. There is no peer that runs the same anatomical scenario, so the figures
are absolute; the assembly and solver benchmarks compare the kernels with scikit-fem.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info  # noqa: E402


def run_once(path: Path, level: str, processes: int = 2) -> dict:
    from fesolver.scenario import load_scenario
    from fesolver.simulate import run_scenario

    s = load_scenario(path, overrides={"mesh.level": level, "solver.parallel": processes == 2})
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        summary = run_scenario(s, d)
        wall = time.perf_counter() - t0
    row = {"level": level, "processes": summary.get("processes", 1), "status": summary["status"],
           "wall_s": round(wall, 2)}
    for part in ("foot", "knee", "patellofemoral"):
        p = summary.get(part, {})
        row[part] = {"dofs": p.get("dofs"), "seconds": p.get("seconds"), "status": p.get("status"),
                     **{k: p.get("solver", {}).get(k) for k in ("steps", "newton_iterations")}}
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(HERE.parent / "scenarios" / "midstance.toml"))
    ap.add_argument("--levels", nargs="+", default=["coarse", "medium"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cold", action="store_true", help="do not warm the caches first")
    ap.add_argument("--processes", nargs="+", type=int, choices=(1, 2), default=[1, 2],
                    help="1: sequential; 2: the knee in a second process (default: both, with their ratio)")
    args = ap.parse_args(argv)
    rows = []
    for level in args.levels:
        if not args.cold:
            print(f"warming {level} ...", flush=True)
            run_once(Path(args.scenario), level)
        walls: dict[int, list] = {}
        for _ in range(args.repeat):
            for n in args.processes:
                r = run_once(Path(args.scenario), level, n)
                rows.append(r)
                walls.setdefault(r["processes"], []).append(r["wall_s"])
                pf = r["patellofemoral"]
                print(f"{level:7s} {r['processes']} proc {r['status']:14s} total {r['wall_s']:7.1f} s | foot "
                      f"{r['foot']['dofs']} DOFs {r['foot']['steps']} steps {r['foot']['newton_iterations']} its "
                      f"{r['foot']['seconds']} s | knee {r['knee']['dofs']} DOFs {r['knee']['steps']} steps "
                      f"{r['knee']['newton_iterations']} its {r['knee']['seconds']} s | patellofemoral "
                      f"{pf['seconds'] if pf['seconds'] is not None else pf['status']} s", flush=True)
        if 1 in walls and 2 in walls:
            print(f"{level:7s} sequential / two processes: {min(walls[1]) / min(walls[2]):.2f}x (best of "
                  f"{args.repeat})", flush=True)
    out = HERE / "results" / "scenario.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"scenario": args.scenario, "machine": machine_info(), "runs": rows}, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
