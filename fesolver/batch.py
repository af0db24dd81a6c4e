"""Batches and sweeps: many scenarios at once, locally or on a Dask cluster, resumable (issue 8).

A *case* is one normal scenario (:class:`~fesolver.scenario.Scenario`), expanded: every key, defaults filled in,
``extends`` resolved. A batch is a list of cases, made either from scenario files (:func:`cases_from_files`,
``fesolver batch``) or from a *sweep file* (:func:`load_sweep`, ``fesolver sweep``), which takes a base scenario
and varies any scenario keys over a grid (cartesian product) and/or zipped lists::

    base = "../midstance.toml"          # relative to the sweep file
    title = "eversion sweep"            # optional
    [set]                               # optional: fixed overrides of every case
    "output.models" = "foot"
    [grid]                              # every combination
    "foot.eversion_deg" = [-10, -5, 0, 5, 10, 15]
    "orthotic.material" = ["eva_soft", "eva_medium"]
    [zip]                               # optional: lists of equal length, taken together (one grid axis)
    "subject.body_mass_kg" = [60, 80]
    "subject.foot_length_mm" = [250, 270]

Every case of a sweep is validated against the scenario schema before anything runs; the errors of all cases
are reported at once as one :class:`SweepError` naming the file, the key, the value and what is allowed. Sweep
files are TOML data: nothing in them is executed.

:func:`run_batch` runs the cases on a Dask cluster: an existing one (``scheduler="tcp://HOST:PORT"``) or a
``LocalCluster`` of ``workers`` processes with ``threads`` numba/BLAS threads each, sized so that
``workers x threads`` is the number of cores. Local and cluster runs take the same path through the code, so
they give the same table. The workers do not write into ``outdir``: each solves its case in a temporary folder
of its own machine and returns the files' bytes with the summary; the *client* writes them. This works on a
cluster without a shared file system (a coarse case is 1-5 MB) and keeps every write of the batch in one
process, where it can be atomic:

* a case folder is written as ``cases/.tmp-<id>-*`` and renamed to ``cases/<id>`` when complete;
* ``results.csv`` and ``results.parquet`` are written to a temporary file and ``os.replace``-d, after every
  result, from the case folders' ``case.json`` records;

so a batch killed at any moment leaves only complete case folders and a table that lists complete cases.

Resuming: a case whose folder holds a ``case.json`` with the same scenario hash (SHA-256 of the expanded
scenario) and the same code hash (:func:`code_hash`: the fesolver version and the source of every module that
can change a result) is not run again; its row comes from ``case.json``. Failed and not-converged cases are kept
as they are (a rerun would fail the same way) unless ``rerun_failed``. A case that kills its worker process
(segfault, out of memory) is retried by Dask on another worker and recorded as failed once the scheduler gives
up on it (``distributed.scheduler.allowed-failures``, default 3).

Layout of ``outdir``::

    results.csv, results.parquet   one row per case (see :data:`STATUS`, :func:`table_columns`)
    batch.json                     the cases (id, parameters, scenario hash), the code hash, how it ran
    cases/<id>/                    foot.vtu, knee.vtu, patellofemoral.vtu, summary.json, report.md,
                                   scenario.json (as ``fesolver run`` writes), scenario.toml (the expanded
                                   case: ``fesolver run`` reads it),
                                   case.json (status, error, wall time, metrics, hashes, worker)
    plots/<param>/...png           metric vs swept parameter (sweeps with a numeric parameter)
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import hashlib
import io
import itertools
import json
import logging
import math
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FesolverError, ScenarioError, read_toml

__all__ = ["Case", "Sweep", "SweepError", "BatchReport", "STATUS", "load_sweep", "cases_from_files", "run_batch",
           "run_case", "code_hash", "scenario_hash", "table_columns", "local_parallelism", "to_toml",
           "MAX_CASES"]

log = logging.getLogger(__name__)

#: the status of a case in the table: solved; an exception (bad input, a solver error, the worker died);
#: Newton gave up (the last converged state is written)
STATUS = ("ok", "failed", "not_converged")

#: most cases one sweep may expand to (a typo such as a 1000-value list should not start a week of work)
MAX_CASES = 10000

#: modules that cannot change a result; edits to them keep the results of a batch valid
_NOT_RESULT_CODE = ("batch.py", "cli.py", "viz.py")

_SWEEP_KEYS = ("base", "title", "description", "set", "grid", "zip")


class SweepError(ScenarioError):
    """A sweep file is invalid: unknown key, empty list, unequal zipped lists, or a case fails validation."""


@dataclass(frozen=True)
class Case:
    """One scenario of a batch.

    Attributes
    ----------
    case_id : str
        The name of its result folder (``cases/<case_id>``) and its row's ``case_id``.
    params : dict
        What distinguishes it: the swept keys and values (``{"foot.eversion_deg": 5.0}``) or, for a batch of
        files, ``{"scenario": path}``.
    expanded : dict or None
        The expanded scenario (:meth:`~fesolver.scenario.Scenario.expanded`); ``None`` when it is invalid.
    source : str
        The scenario file it came from (names errors; locates relative files).
    error : str
        Why it is invalid (``expanded is None``), else ``""``.
    """

    case_id: str
    params: dict
    expanded: dict | None
    source: str
    error: str = ""

    @property
    def hash(self) -> str:
        """SHA-256 of the expanded scenario (of the error and source when invalid)."""
        if self.expanded is None:
            return hashlib.sha256(json.dumps([self.source, self.error]).encode()).hexdigest()
        return scenario_hash(self.expanded)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file: its cases (in grid order: the last grid key varies fastest, then the zip)."""

    path: Path
    title: str
    base: Path
    keys: tuple[str, ...]
    cases: tuple[Case, ...]


@dataclass
class BatchReport:
    """What :func:`run_batch` did: the table rows (in case order), counts and the files written."""

    outdir: Path
    rows: list[dict]
    ran: int = 0
    skipped: int = 0
    seconds: float = 0.0
    csv: Path | None = None
    parquet: Path | None = None
    plots: list[Path] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)


# --------------------------------------------------------------------------------------------------------------
# hashes
# --------------------------------------------------------------------------------------------------------------
def scenario_hash(expanded: dict) -> str:
    """SHA-256 (hex) of an expanded scenario, independent of key order."""
    return hashlib.sha256(json.dumps(expanded, sort_keys=True, default=str).encode()).hexdigest()


def code_hash() -> str:
    """SHA-256 (hex) of the fesolver version and the source of every fesolver module except those that cannot
    change a result (batch, cli, viz): results computed by other code are not reused. Read from the files at each
    call (a few milliseconds), so that a long-lived session sees edits."""
    from .models.cache import source_digest

    root = Path(__file__).resolve().parent
    files = ((p.relative_to(root).as_posix(), p) for p in sorted(root.rglob("*.py")))
    return source_digest((rel, p) for rel, p in files if rel not in _NOT_RESULT_CODE)


# --------------------------------------------------------------------------------------------------------------
# cases: from scenario files, from a sweep file
# --------------------------------------------------------------------------------------------------------------
def _slug(text: str, limit: int = 80) -> str:
    s = re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("._")
    if len(s) > limit:
        s = s[:limit] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return s or "case"


def _fmt_value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _unique(ids: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i in ids:
        n = seen.get(i, 0)
        seen[i] = n + 1
        out.append(i if n == 0 else f"{i}-{n + 1}")
    return out


def cases_from_files(paths: Sequence, overrides: dict | None = None) -> list[Case]:
    """One case per scenario file (``overrides``, dotted keys, applied to each). An invalid file becomes a case
    with its error (recorded as failed by :func:`run_batch`, the others still run)."""
    from .scenario import load_scenario

    cases = []
    ids = _unique([_slug(Path(p).stem) for p in paths])
    for cid, p in zip(ids, paths, strict=True):
        try:
            sc = load_scenario(p, overrides=overrides)
            cases.append(Case(cid, {"scenario": str(p)}, sc.expanded(), str(Path(p).resolve())))
        except FesolverError as exc:
            cases.append(Case(cid, {"scenario": str(p)}, None, str(Path(p).resolve()), error=str(exc)))
    return cases


def _known_key(key: str) -> str | None:
    """``None`` when ``key`` is a scenario key a sweep may vary, else why not."""
    from .chain import COEFFICIENTS
    from .scenario import SCHEMA

    if key in ("title", "description"):
        return None
    section, _, name = key.partition(".")
    if section == "chain":
        if name in COEFFICIENTS:
            return None
        near = difflib.get_close_matches(name, list(COEFFICIENTS), n=3)
        return f"chain.{name!s} is not a kinetic-chain coefficient" + (f" (did you mean {near}?)" if near else "")
    if section not in SCHEMA or not name or "." in name:
        near = difflib.get_close_matches(key, [f"{s}.{k}" for s in SCHEMA for k in SCHEMA[s]], n=3)
        return (f"unknown scenario key {key!r}; keys are SECTION.NAME with SECTION one of {list(SCHEMA)}"
                + (f" (did you mean {near}?)" if near else ""))
    if name not in SCHEMA[section]:
        near = difflib.get_close_matches(name, list(SCHEMA[section]), n=3)
        return (f"unknown scenario key {key!r}; [{section}] has {list(SCHEMA[section])}"
                + (f" (did you mean {near}?)" if near else ""))
    return None


def _axis(file: str, table: str, key: str, values) -> list:
    if not isinstance(values, list):
        raise SweepError(f"{file}: [{table}] {key} must be a list of values, e.g. {key} = [1, 2, 3], "
                         f"got {values!r}")
    if not values:
        raise SweepError(f"{file}: [{table}] {key} = []: an empty list makes no cases; give at least one value")
    canon = [json.dumps(v, sort_keys=True) for v in values]
    dup = [v for v, c in zip(values, canon, strict=True) if canon.count(c) > 1]
    if dup:
        raise SweepError(f"{file}: [{table}] {key} lists {dup[0]!r} more than once")
    return values


def load_sweep(path, overrides: dict | None = None) -> Sweep:
    """Read a sweep file, expand it into cases and validate every case (nothing runs).

    Parameters
    ----------
    path : path
        The sweep file (TOML; format in the module docstring and docs/batch.md).
    overrides : dict, optional
        Dotted keys -> values applied to every case after the file's ``[set]`` (the CLI's ``--set``).

    Returns
    -------
    Sweep

    Raises
    ------
    SweepError
        Unknown or misplaced keys, empty or unequal lists, too many cases, or cases that fail validation
        (all of them listed, each with its key, value and what is allowed).
    """
    from .scenario import flatten, load_scenario

    path = Path(path)
    file = str(path)
    data = read_toml(path, SweepError, "sweep file")
    unknown = [k for k in data if k not in _SWEEP_KEYS]
    if unknown:
        raise SweepError(f"{file}: unknown top-level key {unknown[0]!r}; a sweep file has {list(_SWEEP_KEYS)} "
                         f"(scenario keys go under [set], [grid] or [zip])")
    base = data.get("base")
    if not isinstance(base, str):
        raise SweepError(f"{file}: base = \"SCENARIO.toml\" (the scenario every case starts from, relative to "
                         f"the sweep file) is required, got {base!r}")
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():
        raise SweepError(f"{file}: base = {base!r}: no such scenario file ({base_path})")
    tables = {}
    for t in ("set", "grid", "zip"):
        v = data.get(t, {})
        if not isinstance(v, dict):
            raise SweepError(f"{file}: {t} must be a table ([{t}] with KEY = VALUE lines), got {v!r}")
        tables[t] = flatten(v)
    fixed = {**tables["set"], **(overrides or {})}
    seen: dict[str, str] = {}
    for t in ("set", "grid", "zip"):
        for k in tables[t]:
            why = _known_key(k)
            if why:
                raise SweepError(f"{file}: [{t}] {k}: {why}")
            if k in seen:
                raise SweepError(f"{file}: {k} is in both [{seen[k]}] and [{t}]; give each key once")
            seen[k] = t
    # each axis: a list of its points, each point a tuple of (key, value) pairs
    axes = [[((k, v),) for v in _axis(file, "grid", k, vals)] for k, vals in tables["grid"].items()]
    if tables["zip"]:
        cols = {k: _axis(file, "zip", k, vals) for k, vals in tables["zip"].items()}
        n = {k: len(v) for k, v in cols.items()}
        if len(set(n.values())) > 1:
            raise SweepError(f"{file}: the [zip] lists must have the same length, got {n}")
        axes.append([tuple(zip(cols, row, strict=True)) for row in zip(*cols.values(), strict=True)])
    if not axes:
        raise SweepError(f"{file}: no [grid] or [zip] values: a sweep needs at least one list of values")
    n_cases = math.prod(len(a) for a in axes)
    if n_cases > MAX_CASES:
        raise SweepError(f"{file}: {n_cases} cases; at most {MAX_CASES} per sweep (split it)")
    keys = tuple(list(tables["grid"]) + list(tables["zip"]))
    # short names in case ids: the key's last part unless two keys share it
    last = [k.rpartition(".")[2] for k in keys]
    short = {k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last, strict=True)}
    title = data.get("title", path.stem)
    if not isinstance(title, str):
        raise SweepError(f"{file}: title must be a string, got {title!r}")
    cases, errors = [], []
    for combo in itertools.product(*axes):
        params: dict[str, Any] = dict(itertools.chain.from_iterable(combo))
        label = ", ".join(f"{short[k]}={_fmt_value(v)}" for k, v in params.items())
        cid = _slug("_".join(f"{short[k]}={_fmt_value(v)}" for k, v in params.items()))
        over = {**fixed, **params}
        if "title" not in params:
            over["title"] = f"{title}: {label}"
        try:
            sc = load_scenario(base_path, overrides=over)
        except ScenarioError as exc:
            errors.append(f"  case {label}: {exc}")
            continue
        cases.append(Case(cid, params, sc.expanded(), str(base_path)))
    if errors:
        raise SweepError(f"{file}: {len(errors)} of {n_cases} cases are invalid (base {base_path}):\n"
                         + "\n".join(errors))
    ids = _unique([c.case_id for c in cases])
    cases = [Case(i, c.params, c.expanded, c.source) for i, c in zip(ids, cases, strict=True)]
    return Sweep(path=path, title=title, base=base_path, keys=keys, cases=tuple(cases))


# --------------------------------------------------------------------------------------------------------------
# the worker side
# --------------------------------------------------------------------------------------------------------------
def _default_runner(scenario, outdir) -> dict:
    from .simulate import run_scenario

    # one process per case: a batch already keeps every core busy with cases
    return run_scenario(scenario, outdir, parallel=False)


def _headline(summary: dict) -> dict:
    """Headline metrics of a summary; of a stance-phase run, each metric's maximum over the samples."""
    from .simulate import headline

    if "stance" in summary:
        out: dict = {}
        for r in summary["stance"]:
            for k, v in headline(r).items():
                out[k] = max(v, out.get(k, -math.inf))
        return out
    return headline(summary)


def _messages(summary: dict) -> str:
    runs = summary.get("stance") or [summary]
    msgs = [f"{k}: {r[k]['message']}" for r in runs for k in ("foot", "knee", "patellofemoral")
            if isinstance(r.get(k), dict) and r[k].get("message")]
    return "; ".join(dict.fromkeys(msgs))


def run_case(payload: dict, runner: Callable | None = None) -> dict:
    """Solve one case in a temporary folder and return its record and files (runs on a worker).

    Parameters
    ----------
    payload : dict
        ``case_id``, ``expanded`` (the expanded scenario), ``source`` (its file), ``threads`` (numba threads
        for this case, or ``None`` to keep the worker's).
    runner : callable, optional
        ``runner(scenario, outdir) -> summary``; default :func:`fesolver.simulate.run_scenario`.

    Returns
    -------
    dict
        ``status`` (one of :data:`STATUS`), ``error``, ``seconds`` (wall time), ``metrics`` (headline),
        ``files`` (relative path -> bytes of everything the runner wrote), ``code_hash``, ``worker``.
        Exceptions of the runner are caught: the case is ``failed`` with the exception's message.
    """
    from .scenario import parse_scenario

    threads = payload.get("threads")
    if threads:
        with contextlib.suppress(Exception):  # numba missing its threading layer: keep its default
            import numba

            numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    runner = runner or _default_runner
    t0 = time.perf_counter()
    status, error, metrics = "failed", "", {}
    tmp = Path(tempfile.mkdtemp(prefix=f"fesolver-case-{payload['case_id'][:40]}-"))
    try:
        try:
            scenario = parse_scenario(payload["expanded"], payload["source"])
            summary = runner(scenario, tmp)
            st = summary.get("status", "ok")
            status = st if st in STATUS else "failed"
            metrics = _headline(summary)
            if status != "ok":
                error = _messages(summary) or f"status {st!r}"
        except Exception as exc:  # any failure of one case is recorded; the batch goes on
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            log.warning("case %s failed: %s", payload["case_id"], error)
        files = {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(tmp.rglob("*")) if p.is_file()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"case_id": payload["case_id"], "status": status, "error": error,
            "seconds": round(time.perf_counter() - t0, 3), "metrics": metrics, "files": files,
            "code_hash": code_hash(), "worker": f"{socket.gethostname()}:{os.getpid()}"}


# --------------------------------------------------------------------------------------------------------------
# the client side: case folders, table
# --------------------------------------------------------------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(data: dict) -> str:
    """An expanded scenario (top-level values, then one table per section) as TOML text that
    :func:`fesolver.scenario.load_scenario` reads back to the same scenario."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for sec, vals in data.items():
        if isinstance(vals, dict):
            lines += ["", f"[{sec}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in vals.items()]
    return "\n".join(lines) + "\n"


def _metric_columns() -> list[str]:
    from .simulate import HEADLINE

    return [f"{label} [{unit}]" for label, _, unit in HEADLINE]


def table_columns(cases: Iterable[Case]) -> list[str]:
    """Columns of ``results.csv``: ``case_id``, the cases' parameters, ``status``, ``error``, ``seconds`` (wall
    time of the case on its worker), then every headline metric ``label [unit]``
    (:data:`fesolver.simulate.HEADLINE`; empty where a case has no value)."""
    params = list(dict.fromkeys(k for c in cases for k in c.params))
    return ["case_id", *params, "status", "error", "seconds", *_metric_columns()]


def _row(record: dict) -> dict:
    return {"case_id": record["case_id"], **record["params"], "status": record["status"], "error": record["error"],
            "seconds": record["seconds"], **record.get("metrics", {})}


def _write_case(cases_dir: Path, case: Case, record: dict, files: dict[str, bytes]) -> None:
    """Write a case folder atomically: into ``.tmp-<id>-*``, then renamed to ``<id>`` (replacing an old one)."""
    tmp = cases_dir / f".tmp-{case.case_id}-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir()  # (not mkdtemp: its mode 0700 would hide the results from the user's group)
    try:
        for rel, data in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        if case.expanded is not None:
            (tmp / "scenario.toml").write_text(to_toml(case.expanded), encoding="utf-8")
        (tmp / "case.json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        final = cases_dir / case.case_id
        old = None
        if final.exists():
            old = cases_dir / f".old-{case.case_id}-{os.getpid()}-{time.monotonic_ns()}"
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _read_record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "case.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _cell(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return repr(v) if isinstance(v, float) else v


def _write_table(outdir: Path, columns: list[str], rows: list[dict]) -> tuple[Path, Path]:
    from .results import atomic_write

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(r.get(k)) for k in columns})
    csv_path, pq_path = outdir / "results.csv", outdir / "results.parquet"
    atomic_write(csv_path, lambda p: Path(p).write_text(buf.getvalue(), encoding="utf-8"))
    import pyarrow as pa
    import pyarrow.parquet as pq

    metrics = set(_metric_columns()) | {"seconds"}
    arrays = {}
    for c in columns:
        vals = [r.get(c) for r in rows]
        if c in metrics:
            arrays[c] = pa.array([None if v is None else float(v) for v in vals], type=pa.float64())
            continue
        try:
            arrays[c] = pa.array(vals)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in one parameter: as text
            arrays[c] = pa.array([None if v is None else str(v) for v in vals], type=pa.string())
    table = pa.table(arrays)
    atomic_write(pq_path, lambda p: pq.write_table(table, p))
    return csv_path, pq_path


def _plots(outdir: Path, cases: Sequence[Case], rows: list[dict]) -> list[Path]:
    """Metric-vs-parameter curves (:func:`fesolver.viz.plot_metric_curves`) for each numeric swept parameter,
    one set per combination of the other parameters; ok cases only."""
    ok = [r for r in rows if r["status"] == "ok"]
    keys = list(dict.fromkeys(k for c in cases for k in c.params if k != "scenario"))
    files: list[Path] = []
    if not ok or not keys:
        return files
    from . import viz

    metrics = _metric_columns()
    for k in keys:
        if not all(isinstance(r.get(k), int | float) and not isinstance(r.get(k), bool) for r in ok):
            continue
        others = [o for o in keys if o != k]
        groups: dict[tuple, list] = {}
        for r in ok:
            groups.setdefault(tuple(r.get(o) for o in others), []).append(r)
        for g, members in groups.items():
            if len(members) < 2:
                continue
            sub = _slug("_".join(f"{o.rpartition('.')[2]}={_fmt_value(v)}" for o, v in zip(others, g, strict=True)))
            where = outdir / "plots" / _slug(k) / (sub if others else "")
            title = ", ".join(f"{o}={_fmt_value(v)}" for o, v in zip(others, g, strict=True)) or None
            data = [{k: r[k], **{m: r[m] for m in metrics if r.get(m) is not None}} for r in members]
            files += viz.plot_metric_curves(data, k, where, title=title)
    return files


# --------------------------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------------------------
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def local_parallelism(workers: int | None = None, threads: int | None = None) -> tuple[int, int]:
    """``(worker processes, numba threads per process)`` for this machine: by default one process per core and
    one thread each (cases are independent: processes scale better than threads); with only one of them given,
    the other so that ``workers x threads`` is the number of cores."""
    cores = _cores()
    if workers is None and threads is None:
        return cores, 1
    if workers is None:
        return max(1, cores // threads), threads
    if threads is None:
        return workers, max(1, cores // workers)
    return workers, threads


def _local_cluster(workers: int, threads: int):
    from dask.distributed import LocalCluster

    env = {k: str(threads) for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                     "OPENBLAS_NUM_THREADS")}
    # one task per process at a time; no memory limit (a fine-mesh case may need a few GB, and the nanny's limits
    # would pause or restart a worker on a machine shared with other work); on the loopback only; no dashboard,
    # and the scheduler's HTTP endpoint on a free port (not 8787, which another cluster may hold)
    # worker-saturation 1.0: a worker holds only the case it runs (dask's default 1.1 queues a second one on a
    # one-thread worker, and a worker that dies counts against both, so an innocent case could be given up)
    import dask

    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                            host="127.0.0.1", dashboard_address=None,
                            scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"}, env=env)


def run_batch(cases: Sequence[Case], outdir, *, scheduler: str | None = None, workers: int | None = None,
              threads: int | None = None, rerun_failed: bool = False, runner: Callable | None = None,
              progress: bool = True, plots: bool = True, on_result: Callable[[dict], None] | None = None,
              meta: dict | None = None) -> BatchReport:
    """Run ``cases`` on a Dask cluster and write their folders and the table into ``outdir``.

    Parameters
    ----------
    cases : sequence of Case
        From :func:`load_sweep` or :func:`cases_from_files` (ids must be unique).
    outdir : path
        Created if missing; layout in the module docstring. Cases already there with the same scenario and code
        hash are not run again.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``); default: a ``LocalCluster`` here.
    workers, threads : int, optional
        Local cluster only: worker processes and numba threads per process (:func:`local_parallelism`).
        On an existing cluster ``threads`` (if given) sets numba's threads per case.
    rerun_failed : bool
        Run again the cases recorded as failed or not converged.
    runner : callable, optional
        ``runner(scenario, outdir) -> summary`` (default :func:`fesolver.simulate.run_scenario`); must be
        importable on the workers.
    progress : bool
        A tqdm progress bar with the ETA on stderr.
    plots : bool
        Draw metric-vs-parameter curves at the end (failures to draw are logged, not raised).
    on_result : callable, optional
        Called with each new row after its folder and the table are written.
    meta : dict, optional
        Extra entries for ``batch.json`` (e.g. the sweep file).

    Returns
    -------
    BatchReport
    """
    from . import __version__
    from .results import atomic_write

    t_start = time.perf_counter()
    outdir = Path(outdir)
    cases_dir = outdir / "cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    ids = [c.case_id for c in cases]
    if len(set(ids)) != len(ids):
        raise ValueError(f"case ids must be unique, got duplicates {sorted({i for i in ids if ids.count(i) > 1})}")
    for stale in itertools.chain(cases_dir.glob(".tmp-*"), cases_dir.glob(".old-*")):  # left by a killed batch
        shutil.rmtree(stale, ignore_errors=True)
    here = code_hash()
    columns = table_columns(cases)
    rows: dict[str, dict] = {}
    todo: list[Case] = []
    for c in cases:
        rec = _read_record(cases_dir / c.case_id)
        if (rec and rec.get("scenario_hash") == c.hash and rec.get("code_hash") == here
                and rec.get("status") in STATUS and not (rerun_failed and rec["status"] != "ok")):
            rows[c.case_id] = _row(rec)
        else:
            todo.append(c)
    skipped = len(rows)
    report = BatchReport(outdir=outdir, rows=[], skipped=skipped)

    def record(c: Case, status: str, error: str, seconds: float | None, metrics: dict, code: str, worker: str) -> dict:
        return {"case_id": c.case_id, "params": c.params, "status": status, "error": error, "seconds": seconds,
                "metrics": metrics, "scenario_hash": c.hash, "code_hash": code, "fesolver": __version__,
                "worker": worker, "source": c.source, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}

    def table():
        report.rows = [rows[i] for i in ids if i in rows]
        report.csv, report.parquet = _write_table(outdir, columns, report.rows)

    def finish(c: Case, rec: dict, files: dict) -> None:
        _write_case(cases_dir, c, rec, files)
        rows[c.case_id] = _row(rec)
        report.ran += 1
        table()
        if on_result is not None:
            on_result(rows[c.case_id])

    batch_meta = {"fesolver": __version__, "code_hash": here, "scheduler": scheduler or "local", **(meta or {}),
                  "cases": [{"case_id": c.case_id, "params": c.params, "scenario_hash": c.hash} for c in cases]}
    text = json.dumps(batch_meta, indent=2, default=str)
    atomic_write(outdir / "batch.json", lambda p: Path(p).write_text(text, encoding="utf-8"))
    table()
    invalid = [c for c in todo if c.expanded is None]
    runnable = [c for c in todo if c.expanded is not None]
    for c in invalid:  # bad input: recorded without running
        finish(c, record(c, "failed", c.error, 0.0, {}, here, "client"), {})
    if runnable:
        _run_dask(runnable, scheduler, workers, threads, runner, progress, here, record, finish)
    report.seconds = round(time.perf_counter() - t_start, 2)
    table()
    if plots:
        try:
            report.plots = _plots(outdir, cases, report.rows)
        except Exception as exc:  # a picture must not lose a batch
            log.warning("metric plots not drawn: %s", exc)
    return report


def _run_dask(cases: list[Case], scheduler, workers, threads, runner, progress, here, record, finish) -> None:
    """Submit every case, write each result as it arrives (in the order they finish)."""
    # distributed logs every connection at INFO; shown only when fesolver's own INFO logging is on (``-v``)
    dlog = logging.getLogger("distributed")
    dlevel = dlog.level
    if not log.isEnabledFor(logging.INFO):
        dlog.setLevel(logging.WARNING)
    try:
        _run_on_cluster(cases, scheduler, workers, threads, runner, progress, here, record, finish)
    finally:
        dlog.setLevel(dlevel)


def _run_on_cluster(cases: list[Case], scheduler, workers, threads, runner, progress, here, record, finish) -> None:
    """Start or connect to the cluster, submit, collect (``finish`` writes each result), shut down."""
    from dask.distributed import Client, as_completed
    from tqdm import tqdm

    cluster = None
    if scheduler:
        client = Client(scheduler, set_as_default=False)
    else:
        workers, threads = local_parallelism(workers, threads)
        workers = min(workers, len(cases))
        cluster = _local_cluster(workers, threads)
        client = Client(cluster, set_as_default=False)
    log.info("batch: %d cases on %s", len(cases), scheduler or f"{workers} local processes x {threads} threads")
    by_key = {}
    futures = []
    try:
        for c in cases:
            payload = {"case_id": c.case_id, "expanded": c.expanded, "source": c.source, "threads": threads}
            f = client.submit(run_case, payload, runner, pure=False, key=f"case-{c.case_id}-{time.time_ns()}")
            by_key[f.key] = c
            futures.append(f)
        failed = 0
        with tqdm(total=len(cases), unit="case", desc="cases", disable=not progress, dynamic_ncols=True) as bar:
            for f in as_completed(futures, loop=client.loop):
                c = by_key[f.key]
                try:
                    res = f.result()
                except Exception as exc:  # the worker died (KilledWorker), the task was lost or cancelled
                    msg = f"{type(exc).__name__}: {exc}"
                    if "KilledWorker" in type(exc).__name__:
                        msg = f"the worker process died while running this case ({msg})"
                    status = "failed"
                    finish(c, record(c, status, msg, None, {}, here, "?"), {})
                else:
                    files = res.pop("files")
                    if res["code_hash"] != here:
                        log.warning("case %s ran on %s with other fesolver code (%s, here %s)", c.case_id,
                                    res["worker"], res["code_hash"][:12], here[:12])
                    status = res["status"]
                    finish(c, record(c, status, res["error"], res["seconds"], res["metrics"],
                                     res["code_hash"], res["worker"]), files)
                failed += status != "ok"
                bar.set_postfix(failed=failed, refresh=False)
                bar.update(1)
                f.release()
    finally:
        # interrupted: drop what is left; then shut down quietly (closing a cluster makes distributed log the
        # connections it drops, as errors with tracebacks, though nothing is lost)
        client.cancel([f for f in futures if not f.done()])
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            client.close()
            if cluster is not None:
                cluster.close()
        finally:
            quiet.setLevel(level)
