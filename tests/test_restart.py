"""Restart files of the Newton solve (:class:`fesolver.solvers.newton.Checkpoint`,
``solve_finite_strain(problem, checkpoint=path)``): a solve stopped after a step and resumed from its file takes the
same iterates as one that was never stopped (contact multipliers and friction history included), a finished file
returns its result, and a file of another model or a damaged file is refused with the file's name."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from contact_models import stacked_bcs, stacked_blocks
from meshgen import box_hex

import fesolver
from fesolver.contact import RigidPlane, SurfaceContact
from fesolver.elements import HEX8
from fesolver.errors import ModelError
from fesolver.loads import FixedDisplacement, LoadCurve, Selection
from fesolver.materials import LinearElastic, NeoHookean
from fesolver.mesh import Mesh, SolidBlock
from fesolver.nonlinear import solve_finite_strain
from fesolver.problem import Problem
from fesolver.rigid import RigidBody
from fesolver.solvers.newton import NewtonOptions

HI = (10.0, 10.0, 5.0)


class Stop(Exception):
    """Raised by ``on_step`` to interrupt a solve after a given step."""


def frictional_block(shift=0.4):
    """A block pressed 0.1 mm onto a Coulomb plane (mu 0.3, augmented Lagrangian) by its top, then its top moved
    sideways by ``shift`` [mm]: the later steps depend on the multipliers and the friction history."""
    pts, hexes = box_hex((3, 3, 2), hi=HI)
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)], cell_sets={"all": {0: np.arange(hexes.shape[0])}})
    top = Selection(box=((-1e-9, -1e-9, HI[2]), (HI[0] + 1e-9, HI[1] + 1e-9, HI[2])))
    bottom = Selection(box=((-1e-9, -1e-9, 0.0), (HI[0] + 1e-9, HI[1] + 1e-9, 1e-9)))
    press = LoadCurve(((0.0, 0.0), (0.5, 1.0), (1.0, 1.0)), name="press")
    slide = LoadCurve(((0.0, 0.0), (0.5, 0.0), (1.0, 1.0)), name="slide")
    bcs = [FixedDisplacement(top, {2: -0.1}, "press", curve=press),
           FixedDisplacement(top, {0: shift, 1: 0.0}, "shear", curve=slide)]
    plane = RigidPlane(surface=bottom, name="floor", point=(0.0, 0.0, 0.0), normal=(0.0, 0.0, 1.0), friction=0.3,
                       tol=1e-8, gap_tol=1e-9)
    return Problem(mesh, {"all": LinearElastic(100.0, 0.3)}, bcs=bcs, contacts=[plane],
                   newton=NewtonOptions(initial_step=0.125, max_step=0.125))


def stacked_pair():
    """Two neo-Hookean blocks pressed together (surface-to-surface, Coulomb 0.2 from t = 0.5) and sheared."""
    mesh = stacked_blocks((2, 2, 1), (3, 3, 1))
    mats = {"lower": NeoHookean(10.0, 0.3), "upper": NeoHookean(10.0, 0.3)}
    contact = SurfaceContact(slave="upper_bottom", master="lower_top", name="pair", friction=0.2,
                             friction_from=0.5)
    return Problem(mesh, mats, bcs=stacked_bcs(top=(None, None, -0.2)), contacts=[contact],
                   newton=NewtonOptions(initial_step=0.25, max_step=0.25))


def rigid_lever():
    """A soft block under a rigid 'bone' pushed down and twisted by a force and a moment at its reference point
    (the rigid body's six unknowns are part of the restart state)."""
    from test_rigid import base_fixed, stacked

    bone = RigidBody("bone", reference=(5.0, 5.0, 15.0), force=(0.0, 0.0, -2.0), moment=(0.5, 0.0, 0.0),
                     name="bone")
    return Problem(stacked(), {"soft": NeoHookean(E=1.0, nu=0.3), "bone": NeoHookean(E=1.0, nu=0.3)},
                   bcs=[base_fixed()], rigid_bodies=[bone])


def interrupted(problem_factory, path, after: int):
    """Solve with a restart file, stopping (as a killed process would) after ``after`` converged steps."""
    count = [0]

    def on_step(t, res):
        count[0] += 1
        if count[0] == after:
            raise Stop

    with pytest.raises(Stop):
        solve_finite_strain(problem_factory(), on_step=on_step, checkpoint=path)


@pytest.mark.parametrize("factory, after", [(frictional_block, 5), (stacked_pair, 2), (rigid_lever, 2)],
                         ids=["rigid-plane-friction", "surface-pair", "rigid-body"])
def test_a_resumed_solve_takes_the_same_iterates(tmp_path, factory, after):
    """Stopped after a step and resumed from the file: the same steps, iterations and displacements (to 1e-12 of
    the largest) as a solve never stopped; only the steps after the restart are solved again."""
    whole = solve_finite_strain(factory())
    path = tmp_path / "run.npz"
    interrupted(factory, path, after)
    assert path.is_file() and not list(tmp_path.glob("*.tmp"))
    solved_now = []
    resumed = solve_finite_strain(factory(), on_step=lambda t, r: solved_now.append(t), checkpoint=path)
    assert len(solved_now) == len(whole.steps) - after
    assert [r.t for r in resumed.steps] == pytest.approx([r.t for r in whole.steps], abs=1e-15)
    assert [r.iterations for r in resumed.steps] == [r.iterations for r in whole.steps]
    scale = np.abs(whole.displacement).max()
    assert np.abs(resumed.displacement - whole.displacement).max() <= 1e-12 * scale
    for name, r in whole.rigid.items():
        assert resumed.rigid[name]["rotation_rad"] == pytest.approx(r["rotation_rad"], rel=1e-10, abs=1e-14)
    for name, c in whole.contact.items():
        assert resumed.contact[name]["summary"]["normal_force_N"] == pytest.approx(
            c["summary"]["normal_force_N"], rel=1e-10)


def test_the_frictional_history_matters_to_the_test(tmp_path):
    """The comparison above can fail: resuming with the friction history and multipliers of the start (as a
    restart that forgot them would) ends elsewhere."""
    whole = solve_finite_strain(frictional_block())
    path = tmp_path / "run.npz"
    interrupted(frictional_block, path, 5)
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    for k in [k for k in data if k.startswith("state.")]:
        data[k] = np.zeros_like(data[k]) if not k.endswith("x_n") else data[k]
    with open(path, "wb") as fh:
        np.savez(fh, **data)
    forgot = solve_finite_strain(frictional_block(), checkpoint=path)
    scale = np.abs(whole.displacement).max()
    assert np.abs(forgot.displacement - whole.displacement).max() > 1e-6 * scale


def test_a_finished_file_returns_its_result(tmp_path):
    path = tmp_path / "run.npz"
    first = solve_finite_strain(frictional_block(), checkpoint=path)
    calls = []
    again = solve_finite_strain(frictional_block(), on_step=lambda t, r: calls.append(t), checkpoint=path)
    assert calls == []
    assert np.array_equal(again.displacement, first.displacement)
    assert len(again.steps) == len(first.steps)


def test_a_file_of_another_model_is_refused(tmp_path):
    path = tmp_path / "run.npz"
    interrupted(frictional_block, path, 2)
    with pytest.raises(ModelError, match=r"run\.npz: restart file of another model"):
        solve_finite_strain(frictional_block(shift=0.5), checkpoint=path)
    other = frictional_block()
    other.contacts = [dataclasses.replace(other.contacts[0], friction=0.4)]
    with pytest.raises(ModelError, match="restart file of another model"):
        solve_finite_strain(other, checkpoint=path)


def test_a_file_of_another_fesolver_version_is_refused(tmp_path, monkeypatch):
    """A restart file records the fesolver version that wrote it; another version refuses it (its elements or
    contacts may compute differently), naming both versions."""
    from fesolver.solvers import newton

    path = tmp_path / "run.npz"
    interrupted(frictional_block, path, 2)
    with np.load(path) as z:
        assert str(z["fesolver_version"]) == fesolver.__version__
    monkeypatch.setattr(newton, "_fesolver_version", lambda: "99.0")
    with pytest.raises(ModelError, match=rf"run\.npz: restart file written by fesolver {fesolver.__version__}, "
                                         r"this is fesolver 99\.0"):
        solve_finite_strain(frictional_block(), checkpoint=path)


def test_a_damaged_file_is_refused(tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ModelError, match=r"run\.npz: not a readable fesolver restart file"):
        solve_finite_strain(frictional_block(), checkpoint=path)


def test_a_scenario_part_resumes_with_its_step_series(tmp_path, monkeypatch):
    """``fesolver run --resume`` at the level of one sub-model (:func:`fesolver.simulate._solve`): stopped after
    four steps (their VTUs and the PVD written), resumed into the same folder: the PVD lists every step once, in
    order, the result is the uninterrupted one, and the restart file is gone at the end. Without ``resume`` an
    old restart file is ignored (deleted) and every step is solved."""
    from fesolver import simulate
    from fesolver.results import StepWriter

    class Model:
        mesh = frictional_block().mesh

    def metrics(model, res):
        return {"max_uz": float(res.displacement[:, 2].min())}

    whole = solve_finite_strain(frictional_block())
    write = StepWriter.__call__
    calls = [0]

    def stop_after_four(self, t, result):
        write(self, t, result)
        calls[0] += 1
        if calls[0] == 4:
            raise Stop

    monkeypatch.setattr(StepWriter, "__call__", stop_after_four)
    with pytest.raises(Stop):
        simulate._solve("block", Model, frictional_block(), tmp_path, True, False, metrics)
    assert (tmp_path / "restart" / "block.npz").is_file()
    monkeypatch.setattr(StepWriter, "__call__", write)
    out = simulate._solve("block", Model, frictional_block(), tmp_path, True, False, metrics, resume=True)
    assert out["status"] == "ok" and out["resumed"] and not (tmp_path / "restart").exists()
    assert out["metrics"]["max_uz"] == pytest.approx(float(whole.displacement[:, 2].min()), rel=1e-12)
    text = (tmp_path / "block.pvd").read_text()
    files = [f"block_steps/step_{i:04d}.vtu" for i in range(1, len(whole.steps) + 1)]
    assert [text.count(f) for f in files] == [1] * len(files)
    times = [float(x) for x in re.findall(r'timestep="([^"]+)"', text)]
    assert times == pytest.approx([r.t for r in whole.steps])
    # a fresh run (no resume) does not take an old restart file
    interrupted(frictional_block, tmp_path / "restart" / "block.npz", 3)
    out = simulate._solve("block", Model, frictional_block(), tmp_path, False, False, metrics)
    assert out["status"] == "ok" and "resumed" not in out and out["solver"]["steps"] == len(whole.steps)


def test_cli_run_interrupted_points_to_resume(tmp_path, monkeypatch, capsys):
    """Ctrl-C during ``fesolver run`` ends with exit code 130 and tells where the restart files are and that
    ``--resume`` continues (no traceback)."""
    from pathlib import Path

    from fesolver import cli, simulate

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(simulate, "run_scenario", interrupt)
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "standing.toml"
    code = cli.main(["run", str(scenario), "-o", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INTERRUPTED == 130
    assert "interrupted" in err and "--resume" in err and str(tmp_path / "out" / "restart") in err
    assert "Traceback" not in err
