"""The ``fesolver solve`` command: outputs, exit codes, and nothing half-written on errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest

from fesolver.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_solve_cantilever_example(tmp_path):
    out = tmp_path / "out"
    assert main(["solve", str(EXAMPLES / "cantilever" / "model.toml"), "-o", str(out), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    m = meshio.read(out / "result.vtu")
    for key in ("displacement", "stress", "von_mises", "max_principal"):
        assert key in m.point_data and key in m.cell_data or key == "displacement"
    assert m.point_data["stress"].shape[1] == 6
    # beam theory: P L^3/(3EI) + P L/(k G A) = 1.920 mm for 1 kN (self-weight adds ~1e-4 mm)
    tip = -m.point_data["displacement"][:, 2].min()
    assert abs(tip / 1.920 - 1) < 0.02, tip
    assert summary["units"]["stress"] == "MPa"
    # reaction balances the applied loads (1000 N tip + self weight)
    applied = sum(np.array(v) for v in summary["load_resultants_N"].values())
    assert np.allclose(np.array(summary["reactions_N"]["clamp"]), -applied, rtol=1e-6, atol=1e-6)
    assert not list(out.glob(".*")), "temporary files left behind"


def test_two_material_regions_are_not_averaged(tmp_path):
    out = tmp_path / "plug"
    assert main(["solve", str(EXAMPLES / "cartilage_plug" / "model.toml"), "-o", str(out), "-q"]) == 0
    m = meshio.read(out / "result.vtu")
    node = m.point_data["node_id"]
    assert node.size > np.unique(node).size, "interface nodes must be duplicated per region"
    # the duplicated copies of an interface node share the displacement ...
    dup = np.flatnonzero(np.bincount(node) == 2)[0]
    copies = np.flatnonzero(node == dup)
    assert np.allclose(m.point_data["displacement"][copies[0]], m.point_data["displacement"][copies[1]])
    # ... but not the in-plane stress, which jumps between cartilage and bone
    sxx = m.point_data["stress"][copies, 0]
    assert not np.isclose(sxx[0], sxx[1], rtol=1e-3)
    # vertical equilibrium: base reaction = pressure x area (1 MPa x pi 5^2)
    s = json.loads((out / "summary.json").read_text())
    assert np.isclose(s["reactions_N"]["base"][2], np.pi * 25.0, rtol=5e-3)


def test_bad_model_exit_2_and_nothing_written(tmp_path):
    shutil.copy(EXAMPLES / "cantilever" / "cantilever.msh", tmp_path)
    text = (EXAMPLES / "cantilever" / "model.toml").read_text().replace('nodes = "fixed_end"', 'nodes = "heel"')
    (tmp_path / "bad.toml").write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("previous")
    code = main(["solve", str(tmp_path / "bad.toml"), "-o", str(out), "-q"])
    assert code == 2
    assert (out / "summary.json").read_text() == "previous"
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_unconstrained_model_exit_3(tmp_path):
    shutil.copy(EXAMPLES / "cantilever" / "cantilever.msh", tmp_path)
    text = (EXAMPLES / "cantilever" / "model.toml").read_text().replace('fix = ["x", "y", "z"]', 'fix = ["z"]')
    (tmp_path / "free.toml").write_text(text)
    out = tmp_path / "out"
    code = main(["solve", str(tmp_path / "free.toml"), "-o", str(out), "-q", "--solver", "scipy"])
    assert code == 3
    assert not out.exists() or not any(out.iterdir())


def test_console_script_reports_error_on_stderr(tmp_path):
    r = subprocess.run([sys.executable, "-m", "fesolver.cli", "solve", str(tmp_path / "none.toml"), "-o",
                        str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 2
    assert "model file not found" in r.stderr


@pytest.mark.parametrize("argv", [[], ["solve"], ["solve", "x.toml"]])
def test_bad_arguments_exit_2(argv):
    assert main(argv) == 2


def test_heel_pad_example_finite_strain(tmp_path):
    """The shipped finite-strain example: Ogden heel pad under a rigid calcaneus, 50 N."""
    out = tmp_path / "heel"
    assert main(["solve", str(EXAMPLES / "heel_pad" / "model.toml"), "-o", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "ok" and s["analysis"] == "finite_strain"
    # the ground carries the 50 N pushed through the rigid calcaneus
    assert s["reactions_N"]["ground"][2] == pytest.approx(50.0, rel=1e-6)
    # the soft pad compresses by millimetres (not micrometres): finite strain matters
    dz = -s["rigid_bodies"]["calcaneus"]["translation_mm"][2]
    assert 2.0 < dz < 10.0
    assert (out / "result.pvd").is_file()
