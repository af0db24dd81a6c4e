"""Finite-strain runs from a model file: PVD step series, summaries, curves, trusses, and failure handling."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import meshio
import numpy as np
import pytest

from fesolver.cli import main
from fesolver.errors import ModelError
from fesolver.modelfile import load_model


def box_mesh(path, n=2, size=10.0, with_truss=False):
    """A cube of n^3 hex8 [mm] written as VTU; optionally a diagonal line (truss) across the top face."""
    x = np.linspace(0.0, size, n + 1)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    pts = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    idx = np.arange(pts.shape[0]).reshape(n + 1, n + 1, n + 1)
    i, j, k = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij"))
    hexes = np.column_stack([idx[i, j, k], idx[i + 1, j, k], idx[i + 1, j + 1, k], idx[i, j + 1, k],
                             idx[i, j, k + 1], idx[i + 1, j, k + 1], idx[i + 1, j + 1, k + 1], idx[i, j + 1, k + 1]])
    cells = [("hexahedron", hexes)]
    region = [np.ones(len(hexes), dtype=int)]
    if with_truss:
        cells.append(("line", np.array([[idx[0, 0, n], idx[n, n, n]]])))
        region.append(np.array([2]))
    meshio.write(path, meshio.Mesh(pts, cells, cell_data={"region": region}))


MODEL = """
title = "compressed tissue block"
[mesh]
file = "block.vtu"
[materials.pad]
model = "mooney_rivlin"
region = "region1"
c1 = 0.1
c2 = 0.0
k = 5.0
[curves.half]
points = [[0.0, 0.0], [0.5, 1.0], [1.0, 1.0]]
[[boundary]]
name = "bottom"
box = [[-1, -1, -1], [11, 11, 0]]
fix = ["x", "y", "z"]
[[boundary]]
name = "press"
box = [[-1, -1, 10], [11, 11, 11]]
displacement = { z = -3.0 }
curve = "half"
[solver]
analysis = "nonlinear"
[solver.newton]
initial_step = 0.25
"""


def test_finite_strain_run_writes_series(tmp_path):
    box_mesh(tmp_path / "block.vtu")
    (tmp_path / "m.toml").write_text(MODEL)
    out = tmp_path / "out"
    assert main(["solve", str(tmp_path / "m.toml"), "-o", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "ok" and s["analysis"] == "finite_strain" and s["load_factor"] == 1.0
    assert s["newton_steps"] and all(st["iterations"] <= 20 for st in s["newton_steps"])
    pvd = ET.parse(out / "result.pvd").getroot()
    sets = pvd.findall(".//DataSet")
    assert len(sets) == len(s["newton_steps"])
    times = [float(d.get("timestep")) for d in sets]
    assert times == sorted(times) and times[-1] == pytest.approx(1.0)
    for d in sets:
        assert (out / d.get("file")).is_file()
    # the curve reaches full value at t = 0.5: the step at t = 0.5 (if any) and the end have the same top z
    m = meshio.read(out / "result.vtu")
    assert m.point_data["displacement"][:, 2].min() == pytest.approx(-3.0)
    # compressive reaction on the pressed face, equal and opposite at the base
    assert s["reactions_N"]["press"][2] < 0
    assert s["reactions_N"]["press"][2] == pytest.approx(-s["reactions_N"]["bottom"][2], rel=1e-6)


def test_failed_run_keeps_last_converged_state(tmp_path):
    box_mesh(tmp_path / "block.vtu")
    # crushing to -120 % of the height must invert elements: Newton cuts back, then gives up
    text = MODEL.replace("z = -3.0", "z = -12.0").replace('curve = "half"', "").replace(
        "initial_step = 0.25", "initial_step = 0.5\nmin_step = 0.05\nmax_step = 0.5")
    (tmp_path / "m.toml").write_text(text)
    out = tmp_path / "out"
    code = main(["solve", str(tmp_path / "m.toml"), "-o", str(out), "-q"])
    assert code == 3
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "failed"
    assert "load factor" in s["message"] and "Worst element" in s["message"]
    assert 0.0 < s["load_factor"] < 1.0


def test_truss_in_model(tmp_path):
    box_mesh(tmp_path / "block.vtu", with_truss=True)
    text = MODEL + """
[trusses.band]
region = "region2"
law = "linear"
E = 300.0
area = 1.0
tension_only = true
"""
    (tmp_path / "m.toml").write_text(text)
    prob = load_model(tmp_path / "m.toml")
    assert prob.nonlinear and "region2" in prob.trusses
    r = prob.solve()
    # compressing the block shortens nothing on the top diagonal much but any shortening makes it slack
    assert r.trusses[0].force.shape == (1,)
    m = r.to_meshio()
    assert "axial_force" in m.cell_data and any(c.type == "line" for c in m.cells)


@pytest.mark.parametrize("old,new,words", [
    ('points = [[0.0, 0.0], [0.5, 1.0], [1.0, 1.0]]', 'points = [[0.0, 0.0], [0.0, 1.0]]',
     ["curves.half", "increasing"]),
    ('curve = "half"', 'curve = "wave"', ["boundary[1].curve", "wave"]),
    ('c1 = 0.1', 'c1 = -0.1', ["materials.pad", "c1"]),
    ('analysis = "nonlinear"', 'analysis = "dynamic"', ["solver.analysis", "dynamic"]),
    ('initial_step = 0.25', 'initial_step = 0.25\nmax_iterations = 0', ["solver.newton.max_iterations", ">= 1"]),
    ('initial_step = 0.25', 'initial_step = 0.25\nwobble = 1', ["unknown key", "wobble"]),
])
def test_bad_nonlinear_keys(tmp_path, old, new, words):
    box_mesh(tmp_path / "block.vtu")
    assert old in MODEL
    (tmp_path / "m.toml").write_text(MODEL.replace(old, new))
    with pytest.raises(ModelError) as info:
        load_model(tmp_path / "m.toml")
    for w in words:
        assert w in str(info.value), str(info.value)


def test_rigid_body_in_model(tmp_path):
    """A rigid top layer pressed down by a force at its reference point; the base reacts."""
    box_mesh(tmp_path / "block.vtu", n=2)
    text = MODEL.split("[[boundary]]")[0] + """
[[boundary]]
name = "bottom"
box = [[-1, -1, -1], [11, 11, 0]]
fix = ["x", "y", "z"]
[rigid.plate]
region = "top"
reference = [5.0, 5.0, 10.0]
fix = ["x", "y", "rx", "ry", "rz"]
force = [0.0, 0.0, -0.5]
[solver]
analysis = "nonlinear"
"""
    # make a 'top' region: the upper layer of hexes, as a second region value in the VTU
    m = meshio.read(tmp_path / "block.vtu")
    zc = m.points[m.cells[0].data].mean(axis=1)[:, 2]
    m.cell_data["region"] = [np.where(zc > 5, 3, 1)]
    meshio.write(tmp_path / "block.vtu", m)
    text = text.replace('[materials.pad]', '[materials.plate]\nmodel = "neo_hookean"\nregion = "region3"\nE = 1.0\n'
                        'nu = 0.3\n[materials.pad]')
    text = text.replace('region = "top"', 'region = "region3"')
    (tmp_path / "m.toml").write_text(text)
    out = tmp_path / "out"
    assert main(["solve", str(tmp_path / "m.toml"), "-o", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["reactions_N"]["bottom"][2] == pytest.approx(0.5, rel=1e-6)
    assert s["rigid_bodies"]["plate"]["translation_mm"][2] < 0


def test_mean_dilatation_needs_uncoupled_material(tmp_path):
    box_mesh(tmp_path / "block.vtu")
    text = MODEL.replace('model = "mooney_rivlin"\nregion = "region1"\nc1 = 0.1\nc2 = 0.0\nk = 5.0',
                         'model = "neo_hookean"\nregion = "region1"\nE = 1.0\nnu = 0.45')
    text = text.replace('analysis = "nonlinear"', 'analysis = "nonlinear"\nformulation = "mean_dilatation"')
    (tmp_path / "m.toml").write_text(text)
    with pytest.raises(ModelError, match="Mooney-Rivlin"):
        load_model(tmp_path / "m.toml")
    ok = MODEL.replace('analysis = "nonlinear"', 'analysis = "nonlinear"\nformulation = "mean_dilatation"')
    (tmp_path / "ok.toml").write_text(ok)
    assert load_model(tmp_path / "ok.toml").finite_strain_formulation == "mean_dilatation"


CONTACT = """
[contact.floor]
type = "plane"
surface = "bottom_face"
point = [0.0, 0.0, 0.0]
normal = [0.0, 0.0, 1.0]
"""


def test_contact_in_model(tmp_path):
    """The block pushed down onto a rigid floor by its top face: the floor carries the load as contact."""
    box_mesh(tmp_path / "block.vtu")
    text = MODEL.replace('''[[boundary]]
name = "bottom"
box = [[-1, -1, -1], [11, 11, 0]]
fix = ["x", "y", "z"]''', '''[[boundary]]
name = "bottom"
box = [[-1, -1, -1], [11, 11, 0]]
fix = ["x", "y"]''').replace('curve = "half"\n', "").replace("z = -3.0", "z = -0.5")
    text += CONTACT.replace('surface = "bottom_face"', "box = [[-1, -1, -1], [11, 11, 0]]")
    (tmp_path / "m.toml").write_text(text)
    out = tmp_path / "out"
    assert main(["solve", str(tmp_path / "m.toml"), "-o", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    floor = s["contact"]["floor"]
    assert floor["normal_force_N"] == pytest.approx(-s["reactions_N"]["press"][2], rel=1e-3)
    m = meshio.read(out / "result.vtu")
    assert m.point_data["contact_pressure"].max() > 0


@pytest.mark.parametrize("old,new,words", [
    ('type = "plane"', 'type = "torus"', ["contact.floor.type", "torus"]),
    ('surface = "bottom_face"', 'surface = "sole"', ["contact.floor.surface", "sole"]),
    ('normal = [0.0, 0.0, 1.0]', 'normal = [0.0, 0.0, 0.0]', ["contact.floor.normal", "non-zero"]),
    ('normal = [0.0, 0.0, 1.0]', '', ["contact.floor.normal", "missing"]),
])
def test_bad_contact_keys(tmp_path, old, new, words):
    box_mesh(tmp_path / "block.vtu")
    (tmp_path / "m.toml").write_text(MODEL + CONTACT.replace(old, new))
    with pytest.raises(ModelError) as info:
        load_model(tmp_path / "m.toml")
    for w in words:
        assert w in str(info.value), str(info.value)


LID = """
[rigid.lid]                 # a bare reference point: no region
reference = [5.0, 5.0, 10.0]
fix = ["x", "y"]
force = [0.0, 0.0, -2.0]
[contact.lid]
type = "plane"
box = [[-1, -1, 10], [11, 11, 11]]
point = [0.0, 0.0, 10.0]
normal = [0.0, 0.0, -1.0]
body = "lid"
"""


def test_plane_driven_by_force_in_model(tmp_path):
    """A rigid plane carried by a reference-point body pushes the block down with 2 N: the contact carries
    2 N (1e-6), the base reacts 2 N, and the lid sinks."""
    box_mesh(tmp_path / "block.vtu")
    text = MODEL.split("[[boundary]]")[0] + """
[[boundary]]
name = "bottom"
box = [[-1, -1, -1], [11, 11, 0]]
fix = ["x", "y", "z"]
[solver]
analysis = "nonlinear"
""" + LID
    (tmp_path / "m.toml").write_text(text)
    out = tmp_path / "out"
    assert main(["solve", str(tmp_path / "m.toml"), "-o", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["contact"]["lid"]["normal_force_N"] == pytest.approx(2.0, rel=1e-6)
    assert s["reactions_N"]["bottom"][2] == pytest.approx(2.0, rel=1e-6)
    assert s["rigid_bodies"]["lid"]["translation_mm"][2] < 0


@pytest.mark.parametrize("old,new,words", [
    ('body = "lid"', 'body = "lid"\nmotion = [0.0, 0.0, -1.0]', ["contact.lid", "'motion' or 'body'"]),
    ('body = "lid"', 'body = "cap"', ["contact 'lid'", "'cap'", "not a rigid body"]),
    ('reference = [5.0, 5.0, 10.0]\n', '', ["rigid.lid", "'region'", "'reference'"]),
    ('force = [0.0, 0.0, -2.0]', 'force = [0.0, 0.0, -2.0]\nmoment = [1.0, 0.0, 0.0]',
     ["rigid.lid", "translates only"]),
])
def test_bad_carried_surface(tmp_path, old, new, words):
    box_mesh(tmp_path / "block.vtu")
    (tmp_path / "m.toml").write_text(MODEL + LID.replace(old, new))
    with pytest.raises(ModelError) as info:
        load_model(tmp_path / "m.toml").solve()
    for w in words:
        assert w in str(info.value), str(info.value)
