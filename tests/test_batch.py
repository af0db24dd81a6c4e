"""Batches and sweeps (:mod:`fesolver.batch`, issue 8).

One sweep runs real scenarios end to end (two cheap knee-only cases). The mechanics -- parallel runs, a real
Dask cluster of subprocesses, workers and clients killed mid-batch, resuming -- use :func:`fake_runner`, a
stand-in for :func:`fesolver.simulate.run_scenario` that writes the same files in milliseconds, with metrics that
are known functions of the scenario (so a wrong row, a mixed-up case or a lost result shows).
"""

from __future__ import annotations

import csv
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fesolver.batch import (
    STATUS,
    SweepError,
    cases_from_files,
    code_hash,
    load_sweep,
    run_batch,
    table_columns,
    to_toml,
)
from fesolver.errors import SolverError
from fesolver.scenario import load_scenario

pytest.importorskip("dask.distributed")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
HERE = Path(__file__).resolve().parent

#: the table columns whose values depend on timing or on where a case ran
TIMING = {"seconds"}


# --------------------------------------------------------------------------------------------------------------
# a cheap stand-in for run_scenario (importable on the Dask workers: they get tests/ on PYTHONPATH)
# --------------------------------------------------------------------------------------------------------------
def fake_runner(scenario, outdir, sleep: float = 0.0, raise_at=(), not_converged_at=(), kill_at=(),
                kill_once: str | None = None) -> dict:
    """Writes what run_scenario writes; the metrics are functions of ``foot.eversion_deg`` (``ev``) and the
    body mass. ``ev`` in ``raise_at``: raises SolverError; in ``not_converged_at``: reports not_converged; in
    ``kill_at``: kills its own process (every time, or the first time only when ``kill_once`` names a marker
    file)."""
    ev = float(scenario["foot.eversion_deg"])
    time.sleep(sleep)
    if ev in kill_at and (kill_once is None or not Path(kill_once).exists()):
        if kill_once:
            Path(kill_once).write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    if ev in raise_at:
        raise SolverError(f"singular stiffness at eversion {ev}")
    outdir = Path(outdir)
    status = "not_converged" if ev in not_converged_at else "ok"
    foot = {"status": status, "metrics": {"fascia": {"total_tension_N": 100.0 + ev * ev, "total_tension_BW": 0.1}}}
    if status != "ok":
        foot["message"] = f"Newton gave up at load factor 0.5 (eversion {ev})"
    summary = {"scenario": scenario.title, "status": status, "fesolver": "fake",
               "chain": {"foot": {"ground_force_N": 9.81 * scenario["subject.body_mass_kg"] + ev},
                         "knee": {"tibial_rotation_deg": 0.5 * ev}},
               "foot": foot}
    (outdir / "summary.json").write_text(json.dumps(summary))
    (outdir / "scenario.json").write_text(json.dumps(scenario.expanded()))
    (outdir / "report.md").write_text(f"# {scenario.title}\n")
    (outdir / "foot.vtu").write_bytes(os.urandom(2000))
    return summary


def write_sweep(path: Path, text: str) -> Path:
    path.write_text(f'base = "{(SCENARIOS / "midstance.toml").as_posix()}"\n' + text)
    return path


def read_csv(path: Path, drop=TIMING) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(f)]


def rows_by_id(out: Path) -> dict[str, dict]:
    return {r["case_id"]: r for r in read_csv(out / "results.csv")}


def case_folders(out: Path) -> list[Path]:
    return sorted((out / "cases").iterdir())


# --------------------------------------------------------------------------------------------------------------
# sweep files
# --------------------------------------------------------------------------------------------------------------
def test_sweep_expands_grid_times_zip(tmp_path):
    f = write_sweep(tmp_path / "s.toml", """
title = "t"
[set]
"output.models" = "foot"
[grid]
"foot.eversion_deg" = [-5, 0, 5]
orthotic.material = ["eva_soft", "poron"]
[zip]
"subject.body_mass_kg" = [60, 80]
"subject.foot_length_mm" = [250, 270]
""")
    sw = load_sweep(f)
    assert len(sw.cases) == 3 * 2 * 2
    assert sw.keys == ("foot.eversion_deg", "orthotic.material", "subject.body_mass_kg", "subject.foot_length_mm")
    c = sw.cases[-1]
    assert c.params == {"foot.eversion_deg": 5, "orthotic.material": "poron", "subject.body_mass_kg": 80,
                        "subject.foot_length_mm": 270}
    assert c.case_id == "eversion_deg=5_material=poron_body_mass_kg=80_foot_length_mm=270"
    e = c.expanded
    assert (e["foot"]["eversion_deg"], e["orthotic"]["material"], e["subject"]["body_mass_kg"],
            e["subject"]["foot_length_mm"], e["output"]["models"]) == (5.0, "poron", 80.0, 270.0, "foot")
    # zipped keys go together, never crossed
    assert {(c.params["subject.body_mass_kg"], c.params["subject.foot_length_mm"]) for c in sw.cases} == {
        (60, 250), (80, 270)}
    assert len({c.case_id for c in sw.cases}) == len({c.hash for c in sw.cases}) == 12
    # the expanded case written as TOML is a normal scenario that reads back to itself
    (tmp_path / "case.toml").write_text(to_toml(e))
    assert load_scenario(tmp_path / "case.toml").expanded() == e


def test_shipped_sweep_is_valid():
    sw = load_sweep(SCENARIOS / "sweeps" / "eversion.toml")
    assert [c.params["foot.eversion_deg"] for c in sw.cases] == [-10, -5, 0, 5, 10, 15]
    assert all(c.expanded["mesh"]["level"] == "coarse" for c in sw.cases)


@pytest.mark.parametrize("text, words", [
    ('[grid]\n"foot.eversion" = [1, 2]\n', ["s.toml", "foot.eversion", "eversion_deg"]),
    ('[grid]\n"feet.eversion_deg" = [1, 2]\n', ["s.toml", "feet.eversion_deg", "unknown scenario key"]),
    ('[grid]\n"foot.eversion_deg" = []\n', ["s.toml", "foot.eversion_deg", "empty"]),
    ('[grid]\n"foot.eversion_deg" = 5\n', ["s.toml", "foot.eversion_deg", "must be a list"]),
    ('[grid]\n"foot.eversion_deg" = [0, 40]\n', ["s.toml", "eversion_deg=40", "foot.eversion_deg", "40", "25"]),
    ('[set]\n"orthotic.type" = "insole"\n[grid]\n"orthotic.material" = ["eva_soft", "cardboard"]\n',
     ["s.toml", "material=cardboard", "cardboard", "available"]),
    ('[grid]\n"foot.eversion_deg" = [1, 1]\n', ["s.toml", "more than once"]),
    ('[zip]\n"foot.eversion_deg" = [1, 2]\n"subject.body_mass_kg" = [70]\n', ["s.toml", "same length"]),
    ('[set]\n"foot.eversion_deg" = 1\n[grid]\n"foot.eversion_deg" = [1, 2]\n', ["s.toml", "both"]),
    ('[set]\n"foot.eversion_deg" = 1\n', ["s.toml", "no [grid] or [zip]"]),
    ('grid = 3\n', ["s.toml", "grid must be a table"]),
    ('[sweep]\n"foot.eversion_deg" = [1, 2]\n', ["s.toml", "unknown top-level key 'sweep'"]),
    ('[grid]\n"chain.no_such" = [1, 2]\n', ["s.toml", "chain.no_such", "coefficient"]),
])
def test_bad_sweep_files_name_file_key_value(tmp_path, text, words):
    f = write_sweep(tmp_path / "s.toml", text)
    with pytest.raises(SweepError) as exc:
        load_sweep(f)
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_bad_sweep_base(tmp_path):
    (tmp_path / "s.toml").write_text('[grid]\n"foot.eversion_deg" = [1]\n')
    with pytest.raises(SweepError, match="base"):
        load_sweep(tmp_path / "s.toml")
    (tmp_path / "s.toml").write_text('base = "nope.toml"\n[grid]\n"foot.eversion_deg" = [1]\n')
    with pytest.raises(SweepError, match="nope.toml"):
        load_sweep(tmp_path / "s.toml")


def test_cli_bad_sweep_runs_nothing(tmp_path, capsys):
    from fesolver.cli import main

    f = write_sweep(tmp_path / "s.toml", '[grid]\n"foot.eversion_deg" = [0, 40]\n')
    assert main(["sweep", str(f), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "eversion_deg=40" in err and "25" in err
    assert not (tmp_path / "out").exists()


def test_cli_batch_records_bad_files(tmp_path, capsys):
    """`fesolver batch` with only invalid files: nothing to solve, each recorded as failed; exit 3."""
    from fesolver.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('[subject]\nbody_mass_kg = 900\n')
    out = tmp_path / "out"
    assert main(["batch", str(bad), str(tmp_path / "missing.toml"), "-o", str(out), "-q"]) == 3
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (last["cases"], last["failed"], last["ok"]) == (2, 2, 0)
    rows = rows_by_id(out)
    assert "subject.body_mass_kg" in rows["bad"]["error"] and "900" in rows["bad"]["error"]
    assert "not found" in rows["missing"]["error"]


def test_cli_dry_run_lists_cases(tmp_path, capsys):
    from fesolver.cli import main

    assert main(["sweep", str(SCENARIOS / "sweeps" / "eversion.toml"), "-o", str(tmp_path / "out"),
                 "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["case_id"] for c in out["cases"]][:2] == ["eversion_deg=-10", "eversion_deg=-5"]
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------------------------
# real scenarios, end to end (two cheap knee-only cases, in parallel on two local processes)
# --------------------------------------------------------------------------------------------------------------
REAL_SWEEP = """
[set]
"output.models" = "knee"
"solver.initial_step" = 0.5
"solver.max_step" = 1.0
"solver.tolerance" = 1e-3
[grid]
"knee.compressive_force_N" = [250.0, 400.0]
"""


def test_real_sweep_end_to_end(tmp_path):
    f = write_sweep(tmp_path / "real.toml", REAL_SWEEP)
    out = tmp_path / "out"
    rep = run_batch(load_sweep(f).cases, out, workers=2, threads=1, progress=False)
    assert (rep.ran, rep.skipped, rep.count("ok")) == (2, 0, 2), rep.rows
    rows = rows_by_id(out)
    assert set(rows) == {"compressive_force_N=250", "compressive_force_N=400"}
    for cid, r in rows.items():
        d = out / "cases" / cid
        for name in ("knee.vtu", "summary.json", "report.md", "scenario.json", "scenario.toml", "case.json"):
            assert (d / name).is_file(), name
        summary = json.loads((d / "summary.json").read_text())
        assert summary["status"] == "ok" and "foot" not in summary
        # the row is this case's summary: the swept force is the knee's, the plateaus carry it
        force = float(r["knee.compressive_force_N"])
        assert float(r["knee compressive force [N]"]) == force
        km = summary["knee"]["metrics"]
        assert km["medial"]["force_N"] + km["lateral"]["force_N"] == pytest.approx(force, rel=5e-3)
        assert float(r["medial tibial cartilage peak pressure [MPa]"]) == km["medial"]["peak_pressure_MPa"]
        assert r["status"] == "ok" and r["error"] == "" and r["plantar fascia tension [N]"] == ""
        assert load_scenario(d / "scenario.toml").expanded() == json.loads((d / "scenario.json").read_text())
    # more load, more pressure
    lo, hi = rows["compressive_force_N=250"], rows["compressive_force_N=400"]
    assert float(hi["medial tibial cartilage peak pressure [MPa]"]) > float(lo["medial tibial cartilage peak "
                                                                                "pressure [MPa]"])
    import pyarrow.parquet as pq

    t = pq.read_table(out / "results.parquet").to_pylist()
    assert [r["case_id"] for r in t] == list(rows) and t[1]["knee.compressive_force_N"] == 400.0
    assert any(p.name.startswith("medial_tibial") for p in rep.plots)
    # resumed: nothing runs again (no cluster is even started), the table is rewritten the same. (Cases whose
    # recorded code hash is no longer the source's -- someone edited fesolver while they ran -- do run again.)
    table = (out / "results.csv").read_text()
    (out / "results.csv").unlink()
    current = sum(json.loads((out / "cases" / c / "case.json").read_text())["code_hash"] == code_hash()
                  for c in rows)
    t0 = time.perf_counter()
    rep2 = run_batch(load_sweep(f).cases, out, workers=2, progress=False, plots=False)
    assert (rep2.ran, rep2.skipped) == (2 - current, current)
    if current == 2:
        assert time.perf_counter() - t0 < 5.0
        assert (out / "results.csv").read_text() == table


# --------------------------------------------------------------------------------------------------------------
# mechanics with the stand-in runner
# --------------------------------------------------------------------------------------------------------------
MECH_SWEEP = """
[set]
"subject.body_mass_kg" = 70.0
[grid]
"foot.eversion_deg" = [-10.0, -5.0, 0.0, 5.0, 10.0, 15.0]
"""


def expected_row(ev: float) -> dict:
    return {"foot.eversion_deg": repr(ev), "plantar fascia tension [N]": repr(100.0 + ev * ev),
            "ground force [N]": repr(9.81 * 70.0 + ev), "tibial rotation (+ internal) [deg]": repr(0.5 * ev)}


def check_mech_rows(out: Path, failed=(), not_converged=()):
    rows = rows_by_id(out)
    assert len(rows) == 6
    for r in rows.values():
        ev = float(r["foot.eversion_deg"])
        if ev in failed:
            assert r["status"] == "failed" and "SolverError: singular stiffness" in r["error"], r
            assert r["plantar fascia tension [N]"] == ""
        elif ev in not_converged:
            assert r["status"] == "not_converged" and "Newton gave up" in r["error"], r
        else:
            assert r["status"] == "ok" and r["error"] == "", r
        if ev not in failed:
            assert {k: r[k] for k in expected_row(ev)} == expected_row(ev)
        assert (out / "cases" / r["case_id"] / "case.json").is_file()
    return rows


def test_failures_are_isolated_and_resume_reruns_nothing_complete(tmp_path, monkeypatch):
    f = write_sweep(tmp_path / "s.toml", MECH_SWEEP)
    out = tmp_path / "out"
    runner = functools.partial(fake_runner, raise_at=(5.0,), not_converged_at=(10.0,))
    rep = run_batch(load_sweep(f).cases, out, workers=2, runner=runner, progress=False)
    assert (rep.ran, rep.count("ok"), rep.count("failed"), rep.count("not_converged")) == (6, 4, 1, 1)
    check_mech_rows(out, failed=(5.0,), not_converged=(10.0,))
    assert (out / "cases" / "eversion_deg=10" / "foot.vtu").is_file()  # not converged: its last state is kept
    assert len(rep.plots) >= 3
    stamp = {p.name: (p / "case.json").stat().st_mtime_ns for p in case_folders(out)}
    table = read_csv(out / "results.csv")

    # again: nothing runs, the table is the same
    rep = run_batch(load_sweep(f).cases, out, runner=runner, progress=False, plots=False)
    assert (rep.ran, rep.skipped) == (0, 6)
    assert {p.name: (p / "case.json").stat().st_mtime_ns for p in case_folders(out)} == stamp
    assert read_csv(out / "results.csv") == table

    # a killed batch's leftovers are cleared; a grid extended by one value runs that value only
    (out / "cases" / ".tmp-eversion_deg=0-x").mkdir()
    write_sweep(f, MECH_SWEEP.replace("15.0]", "15.0, 20.0]"))
    rep = run_batch(load_sweep(f).cases, out, runner=runner, progress=False, plots=False)
    assert (rep.ran, rep.skipped) == (1, 6) and rep.rows[-1]["case_id"] == "eversion_deg=20"
    assert not list((out / "cases").glob(".tmp-*"))

    # --rerun-failed: only the failed and the not-converged ones, now fixed
    rep = run_batch(load_sweep(f).cases, out, runner=fake_runner, rerun_failed=True, progress=False, plots=False)
    assert (rep.ran, rep.skipped, rep.count("ok")) == (2, 5, 7)
    assert {p.name: (p / "case.json").stat().st_mtime_ns for p in case_folders(out)
            if p.name in ("eversion_deg=0", "eversion_deg=-10")} == {k: stamp[k] for k in ("eversion_deg=0",
                                                                                        "eversion_deg=-10")}

    # other code (here: the client's code hash differs from the one the workers recorded): everything runs again
    import fesolver.batch as fb

    monkeypatch.setattr(fb, "code_hash", lambda: "0" * 64)
    rep = run_batch(load_sweep(f).cases, out, runner=fake_runner, progress=False, plots=False)
    assert (rep.ran, rep.skipped) == (7, 0)


def test_batch_of_files_records_a_bad_file_and_runs_the_rest(tmp_path):
    good = [SCENARIOS / "midstance.toml", SCENARIOS / "overpronation.toml"]
    bad = tmp_path / "overpronation.toml"  # same stem as a good one: the id is made unique
    bad.write_text(f'extends = "{(SCENARIOS / "midstance.toml").as_posix()}"\n[foot]\neversion_deg = 40.0\n')
    cases = cases_from_files([*good, bad])
    assert [c.case_id for c in cases] == ["midstance", "overpronation", "overpronation-2"]
    out = tmp_path / "out"
    rep = run_batch(cases, out, workers=1, runner=fake_runner, progress=False)
    rows = rows_by_id(out)
    assert [r["status"] for r in rows.values()] == ["ok", "ok", "failed"]
    err = rows["overpronation-2"]["error"]
    assert str(bad) in err and "foot.eversion_deg" in err and "40" in err
    assert rows["overpronation"]["plantar fascia tension [N]"] == repr(100.0 + 64.0)
    assert rows["midstance"]["scenario"] == str(good[0])
    assert rep.ran == 3 and table_columns(cases)[:3] == ["case_id", "scenario", "status"]


def test_a_case_that_kills_its_worker_is_recorded_as_failed(tmp_path):
    import dask

    f = write_sweep(tmp_path / "s.toml", MECH_SWEEP)
    out = tmp_path / "out"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        rep = run_batch(load_sweep(f).cases, out, workers=2, runner=functools.partial(fake_runner, kill_at=(0.0,)),
                        progress=False, plots=False)
    rows = rows_by_id(out)
    assert rows["eversion_deg=0"]["status"] == "failed"
    assert "worker process died" in rows["eversion_deg=0"]["error"]
    assert rep.count("ok") == 5 and all(r["status"] in STATUS for r in rows.values())


def test_client_killed_mid_batch_leaves_complete_folders_and_a_consistent_table(tmp_path):
    """SIGKILL the whole batch (client and its local workers) after its first results: only complete case
    folders, a table listing exactly them; a resumed batch runs only the rest."""
    f = write_sweep(tmp_path / "s.toml", MECH_SWEEP)
    out = tmp_path / "out"
    code = ("import functools, sys; sys.path.insert(0, sys.argv[1]); from test_batch import fake_runner; "
            "from fesolver.batch import load_sweep, run_batch; "
            "run_batch(load_sweep(sys.argv[2]).cases, sys.argv[3], workers=2, progress=False, plots=False, "
            "runner=functools.partial(fake_runner, sleep=1.0))")
    p = subprocess.Popen([sys.executable, "-c", code, str(HERE), str(f), str(out)], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list((out / "cases").glob("eversion*"))) < 2:
            time.sleep(0.05)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    done = [d for d in case_folders(out) if not d.name.startswith(".")]
    assert 2 <= len(done) < 6
    for d in done:
        assert {"case.json", "summary.json", "scenario.toml", "foot.vtu"} <= {x.name for x in d.iterdir()}
    assert set(rows_by_id(out)) <= {d.name for d in done}
    stamp = {d.name: (d / "case.json").stat().st_mtime_ns for d in done}
    rep = run_batch(load_sweep(f).cases, out, workers=2, runner=fake_runner, progress=False, plots=False)
    assert rep.skipped == len(done) and rep.ran == 6 - len(done)
    assert {d: (out / "cases" / d / "case.json").stat().st_mtime_ns for d in stamp} == stamp
    check_mech_rows(out)
    assert not [d for d in case_folders(out) if d.name.startswith(".")]


# --------------------------------------------------------------------------------------------------------------
# a real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1
# --------------------------------------------------------------------------------------------------------------
class DaskCluster:
    def __init__(self, tmp: Path, n_workers: int = 2, env: dict | None = None):
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
                    "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0", **(env or {})}
        sched_file = tmp / "scheduler.json"
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(sched_file)], tmp)
        deadline = time.monotonic() + 60
        while not sched_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(sched_file.read_text())["address"]
        for i in range(n_workers):
            self._start(f"w{i}", ["worker", self.address, "--nthreads", "1", "--nworkers", "1", "--name", f"w{i}",
                                  "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0"], tmp)
        from dask.distributed import Client

        with Client(self.address, timeout=60) as c:
            c.wait_for_workers(n_workers, timeout=90)

    def _start(self, name: str, args: list[str], tmp: Path) -> None:
        log = open(tmp / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen([str(Path(sys.executable).parent / "dask"), *args], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def pids(self, name: str) -> set[int]:
        """The process of ``name`` and its children (a `dask worker` runs its worker under a nanny)."""
        import psutil

        p = psutil.Process(self.procs[name].pid)
        return {p.pid, *(c.pid for c in p.children(recursive=True))}

    def kill(self, name: str) -> None:
        p = self.procs[name]
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()

    def close(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is None:
                self.kill(name)


@pytest.fixture
def dask_cluster(tmp_path):
    c = DaskCluster(tmp_path, env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2"})
    yield c
    c.close()


def test_dask_cluster_gives_the_local_table(tmp_path, dask_cluster):
    f = write_sweep(tmp_path / "s.toml", MECH_SWEEP)
    runner = functools.partial(fake_runner, sleep=0.2, raise_at=(5.0,), not_converged_at=(10.0,))
    local = run_batch(load_sweep(f).cases, tmp_path / "local", workers=2, runner=runner, progress=False,
                      plots=False)
    remote = run_batch(load_sweep(f).cases, tmp_path / "dask", scheduler=dask_cluster.address, runner=runner,
                       progress=False, plots=False)
    assert local.ran == remote.ran == 6
    table = read_csv(tmp_path / "local" / "results.csv")
    assert read_csv(tmp_path / "dask" / "results.csv") == table
    check_mech_rows(tmp_path / "dask", failed=(5.0,), not_converged=(10.0,))
    # the cases really ran on the cluster's workers, both of them
    workers = {json.loads((d / "case.json").read_text())["worker"] for d in case_folders(tmp_path / "dask")}
    pids = {int(w.rpartition(":")[2]) for w in workers}
    assert len(pids) == 2 and os.getpid() not in pids
    import pyarrow.parquet as pq

    pa_rows = pq.read_table(tmp_path / "dask" / "results.parquet").to_pylist()
    assert [r["case_id"] for r in pa_rows] == [r["case_id"] for r in table]
    assert [r["status"] for r in pa_rows] == [r["status"] for r in table]


def test_worker_killed_mid_batch(tmp_path, dask_cluster):
    """When the first result arrives, the *other* `dask worker` (busy with a case: both started at once) is
    killed: its cases move to the surviving worker; every case ends done, each with a complete folder."""
    f = write_sweep(tmp_path / "s.toml", MECH_SWEEP)
    killed = []

    def kill_one(row):
        if not killed:
            first = int(json.loads((out / "cases" / row["case_id"] / "case.json").read_text())["worker"]
                        .rpartition(":")[2])
            victim = "w1" if first in dask_cluster.pids("w0") else "w0"
            assert first in dask_cluster.pids("w0") | dask_cluster.pids("w1")
            killed.append((victim, dask_cluster.pids(victim)))
            dask_cluster.kill(victim)

    out = tmp_path / "out"
    t0 = time.perf_counter()
    rep = run_batch(load_sweep(f).cases, out, scheduler=dask_cluster.address,
                    runner=functools.partial(fake_runner, sleep=1.5), progress=False, plots=False,
                    on_result=kill_one)
    victim, dead = killed[0]
    assert dask_cluster.procs[victim].poll() is not None
    assert time.perf_counter() - t0 < 120
    # a case is given up only after allowed-failures (2) deaths of its workers: one death loses nothing
    assert rep.ran == 6 and rep.count("ok") == 6
    rows = check_mech_rows(out)
    for r in rows.values():
        d = out / "cases" / r["case_id"]
        assert {"case.json", "summary.json", "foot.vtu", "scenario.toml"} <= {x.name for x in d.iterdir()}
    # the survivor finished the rest, the killed one's case among them
    pids = [int(json.loads((out / "cases" / c / "case.json").read_text())["worker"].rpartition(":")[2])
            for c in rows]
    assert sum(p not in dead for p in pids) >= 4


@pytest.mark.slow
def test_real_sweep_on_a_dask_cluster_gives_the_local_table(tmp_path, dask_cluster):
    """The real scenarios of :func:`test_real_sweep_end_to_end` on the subprocess cluster and locally: the same
    table to the last digit (one numba thread per case both ways)."""
    f = write_sweep(tmp_path / "real.toml", REAL_SWEEP)
    local = run_batch(load_sweep(f).cases, tmp_path / "local", workers=2, threads=1, progress=False, plots=False)
    remote = run_batch(load_sweep(f).cases, tmp_path / "dask", scheduler=dask_cluster.address, threads=1,
                       progress=False, plots=False)
    assert local.count("ok") == remote.count("ok") == 2
    assert read_csv(tmp_path / "dask" / "results.csv") == read_csv(tmp_path / "local" / "results.csv")
