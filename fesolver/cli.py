"""The ``fesolver`` command.

``fesolver solve MODEL.toml -o OUTDIR``
    Read, check and solve a model file; write ``OUTDIR/result.vtu`` and ``OUTDIR/summary.json``.
``fesolver run SCENARIO.toml -o OUTDIR [--set KEY=VALUE ...]``
    Run a scenario: the kinetic chain's loads on the foot, knee and patellofemoral models; write ``foot.vtu``,
    ``knee.vtu``, ``patellofemoral.vtu``, ``summary.json``, ``report.md`` and ``scenario.json`` (see
    :func:`fesolver.simulate.run_scenario`).
``fesolver scenario-keys``
    Print the scenario schema (every key, type, default, range, unit) as a Markdown table.
``fesolver batch SCENARIO... -o OUTDIR`` / ``fesolver sweep SWEEP.toml -o OUTDIR``
    Run many scenarios (files, or a base scenario over a grid of values) in parallel here or on a Dask cluster
    (``--scheduler``); one folder per case, ``results.csv``/``results.parquet``; resumable (docs/batch.md).

Exit codes: 0 success; 2 invalid input (model file, mesh, arguments); 3 the solver failed; 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

from . import __version__
from .errors import MeshError, ModelError, SolverError

__all__ = ["main"]

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_SOLVER = 0, 1, 2, 3
#: Ctrl-C (128 + SIGINT, as shells report it)
EXIT_INTERRUPTED = 130


class _Stage:
    """Prints ``what ... done (t s)`` lines to stderr: progress for the stages of a solve."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, what: str):
        stage = self

        class _Ctx:
            def __enter__(self_inner):
                self_inner.t = time.perf_counter()
                if not stage.quiet:
                    print(f"  {what} ...", end="", file=sys.stderr, flush=True)

            def __exit__(self_inner, exc_type, *_):
                if not stage.quiet:
                    dt = time.perf_counter() - self_inner.t
                    print(" done" if exc_type is None else " failed", f"({dt:.2f} s)", file=sys.stderr)
                return False

        return _Ctx()


def _solve(args) -> int:
    from .modelfile import load_model

    if Path(args.model).suffix.lower() == ".feb":
        return _solve_feb(args)
    stage = _Stage(args.quiet)
    model = Path(args.model)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ModelError(f"output {out} exists and is not a directory")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with stage(f"reading {model}"):
            problem = load_model(model)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.solver:
        from dataclasses import replace

        problem.solver = replace(problem.solver, method=args.solver)
    if not args.quiet:
        print(f"  mesh: {problem.mesh.summary()}, {3 * problem.mesh.n_nodes} DOFs", file=sys.stderr)
    if problem.nonlinear:
        from .results import StepWriter
        from .solvers.newton import ConvergenceError

        writer = StepWriter(out) if getattr(problem, "write_steps", True) else None
        if not args.quiet:
            print("  finite-strain analysis: Newton over the load factor 0 -> 1", file=sys.stderr)
        try:
            result = problem.solve(progress=not args.quiet, on_step=writer)
        except ConvergenceError as exc:
            last = getattr(exc, "result", None)
            if last is not None:
                files = last.write(out, status="failed", message=str(exc))
                print(f"  last converged state (load factor {exc.t:.4g}) written to {files['vtu']}",
                      file=sys.stderr)
            raise
    else:
        with stage("solving (pattern, assembly, linear solve, stress recovery)"):
            result = problem.solve()
    info = result.solver_info
    if not args.quiet:
        print(f"  linear solver: {info.method}, {info.n_unknowns} unknowns, {info.iterations} iterations, "
              f"relative residual {info.relative_residual:.1e}", file=sys.stderr)
    with stage(f"writing {out}/result.vtu and summary.json"):
        files = result.write(out)
    s = result.summary()
    pk = s["peaks"]
    print(json.dumps({
        "result": str(files["vtu"]),
        "summary": str(files["summary"]),
        "max_displacement_mm": round(pk["max_displacement"]["value"], 6),
        "max_von_mises_MPa": round(pk["max_von_mises"]["value"], 6),
    }))
    return EXIT_OK


def _solve_feb(args) -> int:
    """``fesolver solve MODEL.feb``: an FEBio input file (see :mod:`fesolver.febio`)."""
    from .febio import solve_febio_file

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ModelError(f"output {out} exists and is not a directory")
    info = solve_febio_file(args.model, out, progress=not args.quiet)
    print(json.dumps({k: info[k] for k in ("result", "summary", "solution_norm", "iterations", "steps")}))
    return EXIT_OK


def _run(args) -> int:
    from .scenario import load_scenario
    from .simulate import run_scenario

    scenario = load_scenario(args.scenario, overrides=_overrides(args))
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ModelError(f"output {out} exists and is not a directory")
    if not args.quiet:
        print(f"  scenario {scenario.title!r} ({args.scenario}) -> {out}", file=sys.stderr)
    summary = run_scenario(scenario, out, progress=not args.quiet, resume=args.resume)
    if not args.quiet:
        print((out / "report.md").read_text(), file=sys.stderr)
    print(json.dumps({"status": summary["status"], "summary": str(out / "summary.json"),
                      "report": str(out / "report.md"), "seconds": summary["seconds"]}))
    return EXIT_OK if summary["status"] == "ok" else EXIT_SOLVER


def _toml_value(text: str):
    """A ``--set`` value as TOML reads it (numbers, booleans, quoted strings, lists); bare words are strings."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _scenario_keys(args) -> int:
    from .scenario import schema_table

    print(schema_table())
    return EXIT_OK


def _render(args) -> int:
    from . import viz

    limits = viz.shared_limits([args.result, *args.clim_from]) if args.clim_from else None
    done = viz.render(args.result, args.output, limits=limits, views=args.views or viz.VIEWS)
    print(json.dumps({name: {"file": str(v.file), "clims": v.clims} for name, v in done.items()}))
    return EXIT_OK


def _compare(args) -> int:
    from . import viz

    out = viz.compare(args.a, args.b, args.output, views=args.views or viz.VIEWS)
    print(json.dumps({"compare_md": str(out["markdown"]), "metrics_png": str(out["metrics_png"]),
                      "views": {k: str(v) for k, v in out["views"].items()}}))
    return EXIT_OK


def _view(args) -> int:
    from . import viz

    viz.view(args.result, args.view)
    return EXIT_OK


def _export_html(args) -> int:
    from . import viz

    print(json.dumps({"html": str(viz.export_html(args.result, args.output))}))
    return EXIT_OK


def _export_feb(args) -> int:
    """``fesolver export-feb MODEL.toml -o model.feb``: the model as an FEBio input file (febio_spec 4.0)."""
    from .febio_export import export_feb

    out = export_feb(args.model, args.output)
    print(json.dumps({"feb": str(out)}))
    return EXIT_OK


def _overrides(args) -> dict:
    """The ``--set KEY=VALUE`` options as ``{key: TOML value}``."""
    overrides = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ModelError(f"--set {item!r}: expected KEY=VALUE, e.g. foot.eversion_deg=8")
        overrides[key.strip()] = _toml_value(value.strip())
    return overrides


def _batch_run(args, cases, meta: dict) -> int:
    from .batch import run_batch

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ModelError(f"output {out} exists and is not a directory")
    if args.dry_run:
        print(json.dumps({"cases": [{"case_id": c.case_id, "params": c.params, "error": c.error}
                                    for c in cases]}, default=str))
        return EXIT_OK
    try:
        rep = run_batch(cases, out, scheduler=args.scheduler, workers=args.workers, threads=args.threads,
                        rerun_failed=args.rerun_failed, progress=not args.quiet, plots=not args.no_plots, meta=meta)
    except KeyboardInterrupt:
        done = sum(1 for d in (out / "cases").glob("*") if (d / "case.json").is_file())
        print(f"\ninterrupted: {done} case folders complete in {out}; the same command resumes", file=sys.stderr)
        return 130
    counts = {s: rep.count(s) for s in ("ok", "failed", "not_converged")}
    if not args.quiet:
        for r in rep.rows:
            if r["status"] != "ok":
                print(f"  {r['case_id']}: {r['status']}: {r['error']}", file=sys.stderr)
    print(json.dumps({"cases": len(rep.rows), "ran": rep.ran, "skipped": rep.skipped, **counts,
                      "table": str(rep.csv), "parquet": str(rep.parquet), "seconds": rep.seconds}))
    return EXIT_OK if counts["ok"] == len(rep.rows) else EXIT_SOLVER


def _batch(args) -> int:
    from .batch import cases_from_files

    cases = cases_from_files(args.scenarios, overrides=_overrides(args))
    return _batch_run(args, cases, {"command": "batch", "scenarios": [str(p) for p in args.scenarios]})


def _sweep(args) -> int:
    from .batch import load_sweep

    sweep = load_sweep(args.sweep, overrides=_overrides(args))
    if not args.quiet and not args.dry_run:
        print(f"  sweep {sweep.title!r} ({args.sweep}): {len(sweep.cases)} cases over {', '.join(sweep.keys)}",
              file=sys.stderr)
    meta = {"command": "sweep", "sweep": str(Path(args.sweep).resolve()), "base": str(sweep.base),
            "title": sweep.title, "keys": list(sweep.keys)}
    return _batch_run(args, list(sweep.cases), meta)


def _batch_options(b) -> None:
    b.add_argument("-o", "--output", required=True, help="output folder (created if missing; reused to resume)")
    b.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a scenario key in every case, e.g. --set mesh.level=coarse (repeatable)")
    b.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this existing Dask scheduler (default: local worker processes)")
    b.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    b.add_argument("--threads", type=int, help="numba threads per case (default: cores / workers)")
    b.add_argument("--rerun-failed", action="store_true", help="run again the cases recorded as failed")
    b.add_argument("--no-plots", action="store_true", help="do not draw metric-vs-parameter curves")
    b.add_argument("--dry-run", action="store_true", help="validate and list the cases (JSON); run nothing")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages on stderr")
    b.add_argument("-v", "--verbose", action="store_true", help="log details")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fesolver",
        description="Finite-element stress in the plantar fascia and knee cartilage (units: mm, N, MPa, s).",
    )
    p.add_argument("--version", action="version", version=f"fesolver {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a model file (TOML) and write result.vtu + summary.json")
    s.add_argument("model", help="model file (.toml; see README 'Model files') or FEBio input (.feb)")
    s.add_argument("-o", "--output", required=True, help="output directory (created if missing)")
    from .solvers import METHODS

    s.add_argument("--solver", choices=METHODS, help="override [solver].linear of the model file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
    s.add_argument("-v", "--verbose", action="store_true", help="log details (solver, timings)")
    s.set_defaults(func=_solve)
    r = sub.add_parser("run", help="run a scenario (foot + knee under the kinetic chain's loads)")
    r.add_argument("scenario", help="scenario file (.toml); see README 'Scenario files'")
    r.add_argument("-o", "--output", required=True, help="output directory (created if missing)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set foot.eversion_deg=8 (repeatable)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
    r.add_argument("-v", "--verbose", action="store_true", help="log details (solver, timings)")
    r.add_argument("--resume", action="store_true",
                   help="continue an interrupted run into the same OUTPUT from its restart files (OUTPUT/restart/: "
                        "the last converged load step of each sub-model)")
    r.set_defaults(func=_run)
    k = sub.add_parser("scenario-keys", help="print the scenario schema as a Markdown table")
    k.set_defaults(func=_scenario_keys)
    from .viz import VIEWS

    v = sub.add_parser("render", help="draw a result's views off-screen as PNGs (no display needed)")
    v.add_argument("result", help="result folder of `fesolver run`")
    v.add_argument("-o", "--output", help="folder for the PNGs (default RESULT/images)")
    v.add_argument("--clim-from", nargs="+", default=[], metavar="OTHER",
                   help="other result folders: colour limits span all of them (one scale for a batch)")
    v.add_argument("--views", nargs="+", choices=VIEWS, help="views to draw (default: all)")
    v.set_defaults(func=_render)
    c = sub.add_parser("compare", help="two results side by side, difference maps, table of metric deltas")
    c.add_argument("a", help="result folder A (reference)")
    c.add_argument("b", help="result folder B")
    c.add_argument("-o", "--output", default="compare", help="output folder (default ./compare)")
    c.add_argument("--views", nargs="+", choices=VIEWS, help="views to draw (default: all)")
    c.set_defaults(func=_compare)
    w = sub.add_parser("view", help="interactive 3D window on a result (needs a display)")
    w.add_argument("result", help="result folder of `fesolver run`")
    w.add_argument("--view", default="foot_von_mises", choices=VIEWS, help="which view (default foot_von_mises)")
    w.set_defaults(func=_view)
    h = sub.add_parser("export-html", help="write a standalone HTML 3D viewer of a result (opens offline)")
    h.add_argument("result", help="result folder of `fesolver run`")
    h.add_argument("-o", "--output", help="HTML file (default RESULT/viewer.html)")
    h.set_defaults(func=_export_html)
    x = sub.add_parser("export-feb", help="write a model file (TOML) as an FEBio input file (febio_spec 4.0)")
    x.add_argument("model", help="model file (.toml; see README 'Model files')")
    x.add_argument("-o", "--output", required=True, help="the .feb file to write")
    x.set_defaults(func=_export_feb)
    b = sub.add_parser("batch", help="run many scenario files, in parallel or on a Dask cluster (resumable)")
    b.add_argument("scenarios", nargs="+", help="scenario files (.toml)")
    _batch_options(b)
    b.set_defaults(func=_batch)
    sw = sub.add_parser("sweep", help="run a base scenario over a grid of key values (see docs/batch.md)")
    sw.add_argument("sweep", help="sweep file (.toml): base, [set], [grid], [zip]")
    _batch_options(sw)
    sw.set_defaults(func=_sweep)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(name)s: %(message)s")
    try:
        return args.func(args)
    except (ModelError, MeshError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SolverError as exc:
        print(f"\nsolver error: {exc}", file=sys.stderr)
        return EXIT_SOLVER
    except KeyboardInterrupt:
        hint = ""
        if getattr(args, "func", None) is _run:
            hint = (f"; the last converged load step of the sub-model that was solving is in "
                    f"{Path(args.output) / 'restart'}: the same command with --resume continues from it")
        print(f"\ninterrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
