"""fesolver export-feb: a model file written as FEBio input and read back solves to the same displacements."""

from __future__ import annotations

import json

import meshio
import numpy as np
import pytest

from fesolver.febio import FEBioError, read_febio
from fesolver.febio_export import export_feb, write_febio
from fesolver.modelfile import load_model
from fesolver.nonlinear import solve_finite_strain


def _bar_mesh(path, cell: str):
    xs, n = np.linspace(0.0, 2.0, 3), 3
    pts = np.array([[x, y, z] for z in (0.0, 1.0) for y in (0.0, 1.0) for x in xs])

    def idx(i, j, k):
        return k * n * 2 + j * n + i

    hexes = np.array([[idx(i, 0, 0), idx(i + 1, 0, 0), idx(i + 1, 1, 0), idx(i, 1, 0),
                       idx(i, 0, 1), idx(i + 1, 0, 1), idx(i + 1, 1, 1), idx(i, 1, 1)] for i in range(n - 1)])
    if cell == "hexahedron":
        meshio.write(path, meshio.Mesh(pts, [("hexahedron", hexes)]))
    else:
        tets = [[h[q] for q in t] for h in hexes
                for t in ((0, 1, 2, 6), (0, 2, 3, 6), (0, 3, 7, 6), (0, 7, 4, 6), (0, 4, 5, 6), (0, 5, 1, 6))]
        meshio.write(path, meshio.Mesh(pts, [("tetra", np.array(tets))]))


MODELS = {
    "hex8 neo-Hookean, force and pressure": ("hexahedron", """
[materials.rubber]
model = "neo_hookean"
region = "all"
E = 10.0
nu = 0.3
[[boundary]]
name = "clamp"
box = [[-0.1, -0.1, -0.1], [0.1, 1.1, 1.1]]
fix = ["x", "y", "z"]
[[load]]
name = "pull"
type = "force"
box = [[1.9, -0.1, -0.1], [2.1, 1.1, 1.1]]
value = [2.0, 0.0, -0.5]
[[load]]
name = "press"
type = "pressure"
box = [[-0.1, -0.1, 0.9], [2.1, 1.1, 1.1]]
value = 0.3
"""),
    "tet4 Mooney-Rivlin, prescribed displacement": ("tetra", """
[materials.tissue]
model = "mooney_rivlin"
region = "all"
c1 = 0.5
c2 = 0.1
k = 20.0
[[boundary]]
name = "clamp"
box = [[-0.1, -0.1, -0.1], [0.1, 1.1, 1.1]]
fix = ["x", "y", "z"]
[[boundary]]
name = "stretch"
box = [[1.9, -0.1, -0.1], [2.1, 1.1, 1.1]]
displacement = { x = 0.4, z = -0.1 }
"""),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_same_displacements(tmp_path, name):
    cell, body = MODELS[name]
    _bar_mesh(tmp_path / "bar.vtu", cell)
    (tmp_path / "bar.toml").write_text(f'title = "bar"\n[mesh]\nfile = "bar.vtu"\n{body}')
    problem = load_model(tmp_path / "bar.toml")
    direct = solve_finite_strain(problem).displacement
    feb = export_feb(tmp_path / "bar.toml", tmp_path / "bar.feb")
    back, _ = read_febio(feb).solve()
    assert np.abs(direct).max() > 0.05
    assert np.abs(back.displacement - direct).max() <= 1e-8 * np.abs(direct).max()


def test_linear_elastic_model_is_refused(tmp_path):
    _bar_mesh(tmp_path / "bar.vtu", "tetra")
    (tmp_path / "m.toml").write_text('[mesh]\nfile = "bar.vtu"\n[materials.steel]\nmodel = "linear_elastic"\n'
                                     'region = "all"\nE = 210000.0\nnu = 0.3\n')
    with pytest.raises(FEBioError, match="small-strain"):
        write_febio(load_model(tmp_path / "m.toml"), tmp_path / "m.feb")


def test_cli_export_feb(tmp_path, capsys):
    from fesolver.cli import main

    cell, body = MODELS["hex8 neo-Hookean, force and pressure"]
    _bar_mesh(tmp_path / "bar.vtu", cell)
    (tmp_path / "bar.toml").write_text(f'[mesh]\nfile = "bar.vtu"\n{body}')
    assert main(["export-feb", str(tmp_path / "bar.toml"), "-o", str(tmp_path / "out.feb")]) == 0
    assert json.loads(capsys.readouterr().out)["feb"] == str(tmp_path / "out.feb")
    assert read_febio(tmp_path / "out.feb").problem.mesh.n_nodes == 12
