"""Model files: the shipped examples load and solve; every kind of mistake gives a clear ModelError."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from fesolver.errors import ModelError
from fesolver.loads import NodalForce, SurfaceLoad
from fesolver.modelfile import load_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

BASE = """
title = "t"
[mesh]
file = "cantilever.msh"
[materials.steel]
region = "beam"
E = 210000.0
nu = 0.3
[[boundary]]
name = "clamp"
nodes = "fixed_end"
fix = ["x", "y", "z"]
[[load]]
name = "tip"
type = "traction"
surface = "tip"
value = [0.0, 0.0, -10.0]
"""


@pytest.fixture()
def workdir(tmp_path):
    shutil.copy(EXAMPLES / "cantilever" / "cantilever.msh", tmp_path / "cantilever.msh")
    return tmp_path


def write(workdir, text, name="model.toml"):
    p = workdir / name
    p.write_text(text)
    return p


def test_base_model_loads(workdir):
    prob = load_model(write(workdir, BASE))
    assert prob.title == "t"
    assert list(prob.materials) == ["beam"]
    assert isinstance(prob.loads[0], SurfaceLoad)
    assert prob.bcs[0].values == {0: 0.0, 1: 0.0, 2: 0.0}


def test_box_selection_equals_named_set(workdir):
    named = load_model(write(workdir, BASE))
    boxed = load_model(write(workdir, BASE.replace('nodes = "fixed_end"', "box = [[0, 0, 0], [0, 10, 10]]"), "b.toml"))
    a = named.bcs[0].where.nodes(named.mesh)
    b = boxed.bcs[0].where.nodes(boxed.mesh)
    assert np.array_equal(np.sort(a), np.sort(b))


def test_force_load_is_shared_equally(workdir):
    text = BASE.replace('type = "traction"\nsurface = "tip"', 'type = "force"\nnodes = "tip"')
    prob = load_model(write(workdir, text))
    assert isinstance(prob.loads[0], NodalForce)
    f, res = prob.load_vector()
    assert np.allclose(res["tip"], [0.0, 0.0, -10.0])
    assert np.isclose(f.sum(), -10.0)


# each case: (replace this, with this, words the message must contain)
BAD = [
    ('E = 210000.0', 'E = -5.0', ["materials.steel.E", "> 0", "-5.0"]),
    ('nu = 0.3', 'nu = 0.5', ["materials.steel.nu", "0.5"]),
    ('nu = 0.3', 'nu = "0.3"', ["materials.steel.nu", "number", "string"]),
    ('E = 210000.0', 'E = 210000.0\nyoung = 3.0', ["unknown key", "young", "materials.steel"]),
    ('title = "t"', 'title = "t"\ncolour = "red"', ["unknown key", "colour"]),
    ('file = "cantilever.msh"', 'file = "nope.msh"', ["mesh.file", "nope.msh", "no such file"]),
    ('region = "beam"', 'region = "femur"', ["region", "femur", "beam"]),
    ('nodes = "fixed_end"', 'nodes = "heel"', ["boundary[0].nodes", "heel", "fixed_end"]),
    ('surface = "tip"', 'surface = "sole"', ["load[0].surface", "sole"]),
    ('surface = "tip"', 'surface = "beam"', ["load[0].surface", "beam"]),
    ('fix = ["x", "y", "z"]', 'fix = ["x", "w"]', ["boundary[0].fix", "'w'"]),
    ('fix = ["x", "y", "z"]', '', ["boundary[0]", "constrains nothing"]),
    ('type = "traction"', 'type = "torque"', ["load[0].type", "torque", "pressure"]),
    ('value = [0.0, 0.0, -10.0]', 'value = [0.0, -10.0]', ["load[0].value", "3 numbers"]),
    ('nodes = "fixed_end"', 'nodes = "fixed_end"\nbox = [[0, 0, 0], [1, 1, 1]]', ["both", "box"]),
    ('nodes = "fixed_end"', 'box = [[1, 0, 0], [0, 10, 10]]', ["boundary[0].box", "min <= max"]),
    ('nodes = "fixed_end"', 'box = [[500, 500, 500], [600, 600, 600]]', ["boundary[0].box", "selects no nodes"]),
    ('[mesh]\nfile = "cantilever.msh"', '', ["mesh", "missing"]),
    ('title = "t"', 'title = "t"\n[solver]\nlinear = "magic"', ["solver.linear", "magic", "pardiso"]),
    ('title = "t"', 'title = "t"\n[solver]\nrtol = 2.0', ["solver.rtol", "2.0"]),
    ('[[load]]\nname = "tip"', '[[load]]\nname = "clamp"', ["unique", "clamp"]),
    ('surface = "tip"\nvalue = [0.0, 0.0, -10.0]', 'surface = "tip"\nvalue = [0.0, 0.0, -10.0]\n'
     '[[load]]\ntype = "gravity"\nvalue = [0.0, 0.0, -9810.0]', ["gravity", "density"]),
]


def check_bad(workdir, base, old, new, words):
    """``base`` with ``old`` replaced by ``new`` fails to load with a message naming the file and ``words``."""
    assert old in base, old
    path = write(workdir, base.replace(old, new, 1))
    with pytest.raises(ModelError) as info:
        load_model(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    for w in words:
        assert w in msg, f"{w!r} not in: {msg}"


@pytest.mark.parametrize("old,new,words", BAD, ids=[f"{i}-{b[2][0]}" for i, b in enumerate(BAD)])
def test_bad_model_gives_clear_error(workdir, old, new, words):
    check_bad(workdir, BASE, old, new, words)


def test_not_toml(workdir):
    path = write(workdir, "this is = = not toml")
    with pytest.raises(ModelError, match="not valid TOML"):
        load_model(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        load_model(tmp_path / "absent.toml")


def test_overlapping_regions(workdir):
    text = BASE + '[materials.more]\nregion = "all"\nE = 1.0\nnu = 0.2\n'
    with pytest.raises(ModelError, match="overlap"):
        load_model(write(workdir, text))


def test_examples_are_valid():
    for model in sorted(EXAMPLES.glob("*/model.toml")):
        load_model(model)


def test_elements_without_material(workdir):
    """A material only on a region that does not cover the mesh leaves elements without one."""
    import meshio

    m = meshio.read(workdir / "cantilever.msh")
    n = len(m.cells_dict["tetra10"])
    region = np.where(np.arange(n) < n // 2, 1, 2)
    part = meshio.Mesh(m.points, [("tetra10", m.cells_dict["tetra10"])], cell_data={"region": [region]})
    meshio.write(workdir / "part.vtu", part)
    text = BASE.replace('file = "cantilever.msh"', 'file = "part.vtu"').replace('region = "beam"', 'region = "region1"')
    text = text.replace('nodes = "fixed_end"', "box = [[0, 0, 0], [0, 10, 10]]")
    text = text.replace('surface = "tip"', "box = [[100, 0, 0], [100, 10, 10]]")
    with pytest.raises(ModelError, match="have no material"):
        load_model(write(workdir, text))


TWIST = BASE.replace('[[load]]\nname = "tip"\ntype = "traction"\nsurface = "tip"\nvalue = [0.0, 0.0, -10.0]\n', """
[[boundary]]
name = "twist"
nodes = "tip"
rotation = { axis = [1.0, 0.0, 0.0], angle_deg = 0.5, components = ["y", "z"] }
""")


def test_rotation_boundary(workdir):
    """``rotation = {axis, angle_deg, centre, components}`` is a PrescribedRotation (centre: the nodes' centroid by
    default); the twisted cantilever (linear analysis) resists with a moment about its axis proportional to the
    angle."""
    from fesolver.loads import PrescribedRotation

    prob = load_model(write(workdir, TWIST))
    bc = prob.bcs[1]
    assert isinstance(bc, PrescribedRotation) and bc.name == "twist"
    assert bc.axis == (1.0, 0.0, 0.0) and bc.angle_deg == 0.5 and bc.components == (1, 2) and bc.centre is None
    m_twist = prob.solve().reaction_moments["twist"][0]
    assert m_twist > 0.0
    double = load_model(write(workdir, TWIST.replace("angle_deg = 0.5", "angle_deg = 1.0"), "d.toml"))
    assert double.solve().reaction_moments["twist"][0] == pytest.approx(2.0 * m_twist, rel=1e-5)  # linear
    with_centre = load_model(write(workdir, TWIST.replace('angle_deg = 0.5,', 'angle_deg = 0.5, centre = [0, 5, 5],'),
                                   "c.toml"))
    assert with_centre.bcs[1].centre == (0.0, 5.0, 5.0)


MIXTURE = BASE.replace('[materials.steel]\nregion = "beam"\nE = 210000.0\nnu = 0.3\n', """[materials.graded]
model = "mixture"
region = "beam"
first = { model = "neo_hookean", E = 1.0, nu = 0.3 }
second = { model = "mooney_rivlin", c1 = 1.0, c2 = 0.0, k = 20.0 }
weight = 0.25
""")


def test_mixture_material(workdir):
    """``model = "mixture"``: two single models as tables, ``weight`` (default 0.5) or ``grading``."""
    from fesolver.materials import LinearGrading, Mixture, MooneyRivlin, NeoHookean

    m = load_model(write(workdir, MIXTURE)).materials["beam"]
    assert isinstance(m, Mixture) and m.weight == 0.25 and m.name == "graded"
    assert m.first == NeoHookean(E=1.0, nu=0.3, name="graded.first")
    assert m.second == MooneyRivlin(c1=1.0, c2=0.0, k=20.0, name="graded.second")
    g = load_model(write(workdir, MIXTURE.replace("weight = 0.25", "grading = { axis = [1, 0, 0], start = 0.0, "
                                                                    "end = 50.0 }"), "g.toml")).materials["beam"]
    assert g.weight == LinearGrading(axis=(1.0, 0.0, 0.0), start=0.0, end=50.0)
    assert load_model(write(workdir, MIXTURE.replace("weight = 0.25\n", ""), "d.toml")).materials["beam"].weight == 0.5


BAD_EXTRA = [
    (TWIST, 'components = ["y", "z"] }', 'components = ["y", "z"] }\nfix = ["x"]', ["boundary[1]", "not both"]),
    (TWIST, 'axis = [1.0, 0.0, 0.0]', 'axis = [0.0, 0.0, 0.0]', ["boundary[1].rotation", "axis"]),
    (TWIST, 'components = ["y", "z"]', 'components = ["y", "q"]', ["boundary[1].rotation.components", "'q'"]),
    (TWIST, 'angle_deg = 0.5, ', '', ["boundary[1].rotation.angle_deg", "missing"]),
    (MIXTURE, "weight = 0.25", "weight = 1.5", ["materials.graded.weight", "1.5"]),
    (MIXTURE, "weight = 0.25", "weight = 0.25\ngrading = { axis = [1, 0, 0], start = 0.0, end = 1.0 }",
     ["materials.graded", "not both"]),
    (MIXTURE, "weight = 0.25", "grading = { axis = [1, 0, 0], start = 1.0, end = 1.0 }",
     ["materials.graded.grading", "different"]),
    (MIXTURE, 'first = { model = "neo_hookean", E = 1.0, nu = 0.3 }\n', "", ["materials.graded.first", "missing"]),
    (MIXTURE, 'model = "neo_hookean", E = 1.0', 'model = "linear_elastic", E = 1.0',
     ["materials.graded.first.model", "linear_elastic"]),
    (MIXTURE, 'nu = 0.3 }', 'nu = 0.3, G = 1.0 }', ["unknown key", "G", "materials.graded.first"]),
    (MIXTURE, 'model = "mooney_rivlin"', 'model = "trans_iso_mooney_rivlin"', ["materials.graded.second", "c3"]),
]


@pytest.mark.parametrize("base,old,new,words", BAD_EXTRA, ids=[f"{i}-{b[3][0]}" for i, b in enumerate(BAD_EXTRA)])
def test_bad_rotation_or_mixture_gives_clear_error(workdir, base, old, new, words):
    check_bad(workdir, base, old, new, words)
