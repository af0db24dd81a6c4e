"""Nearly incompressible solids: the mean-dilatation elements do not lock, the standard tet4 does.

* Cantilever, 40 x 2 x 2 mm (L/H = 20), clamped at x = 0, a small shear traction on the free end (tip
  deflection 0.3 % of L, so small-deflection theory applies), uncoupled neo-Hookean (Mooney-Rivlin with
  c2 = 0) with E = 1 MPa, nu = 0.499 (c1 = mu/2, k = E / (3 (1 - 2 nu))). Reference: Timoshenko beam,
  ``w = P L^3 / (3 E I) + P L / (kappa G A)`` with Cowper's shear coefficient for a rectangle,
  ``kappa = 10 (1 + nu) / (12 + 11 nu)``, ``G = E / (2 (1 + nu))``. Measured tip deflection / reference:

  ===========================  ==============================  =====================  =========
  element, formulation         mesh (hexahedra, tets = 6 x)    nodes                  ratio
  ===========================  ==============================  =====================  =========
  hex8, mean dilatation        120 x 3 x 3                     1936                   0.9997
  tet10, mean dilatation       30 x 3 x 3, split               2989                   1.0033
  tet4, standard               30 x 3 x 3, split               496                    0.029
  ===========================  ==============================  =====================  =========

  (Not asserted, same meshes: hex8 standard 0.680, tet10 standard 0.963; a mean-dilatation tet4 is the
  standard tet4, 0.029.)

  Asserted: mean dilatation within 2 % of the reference, tet4 below 50 % (volumetric locking). (For scale, a
  converged 3D solution, tet10 mean dilatation on 80 x 4 x 4, gives 0.998: the 3D clamp and the loaded end
  differ from beam theory by ~0.2 % at this slenderness.)
* Patch test: a homogeneous, nearly isochoric deformation with a bulk modulus 1000 x the shear modulus,
  prescribed on the boundary of a distorted unit-cube mesh, is reproduced exactly by the mean-dilatation
  hex8 and tet10 (interior displacements to 1e-9 mm, Cauchy stress to 1e-8 of its largest component).
"""

from __future__ import annotations

import numpy as np
import pytest
from meshgen import box_hex, hex_to_tet, nodes_on_box_boundary, tet4_to_tet10
from test_finite_strain import distorted_cube, make_problem

from fesolver.elements import HEX8, TET4, TET10
from fesolver.loads import FixedDisplacement, Selection, SurfaceLoad
from fesolver.materials.hyperelastic import MooneyRivlin
from fesolver.mesh import Mesh, SolidBlock
from fesolver.solvers.newton import NewtonOptions

E, NU = 1.0, 0.499
MU = E / (2.0 * (1.0 + NU))
BULK = E / (3.0 * (1.0 - 2.0 * NU))
L, H, B = 40.0, 2.0, 2.0
P = 2e-6 * E * B * H  # total tip load [N]


def timoshenko_tip() -> float:
    inertia = B * H**3 / 12.0
    kappa = 10.0 * (1.0 + NU) / (12.0 + 11.0 * NU)
    return P * L**3 / (3.0 * E * inertia) + P * L / (kappa * MU * B * H)


def cantilever_tip(etype_name: str, n, formulation: str) -> float:
    pts, hexes = box_hex(n, (0.0, 0.0, 0.0), (L, B, H))
    if etype_name == "hex8":
        mesh = Mesh(pts, [SolidBlock(HEX8, hexes)])
    else:
        tets = hex_to_tet(pts, hexes)
        if etype_name == "tet4":
            mesh = Mesh(pts, [SolidBlock(TET4, tets)])
        else:
            p10, t10 = tet4_to_tet10(pts, tets)
            mesh = Mesh(p10, [SolidBlock(TET10, t10)])
    mat = MooneyRivlin(c1=MU / 2.0, c2=0.0, k=BULK)
    root = Selection(box=((-1.0, -1.0, -1.0), (0.0, B + 1.0, H + 1.0)))
    end = Selection(box=((L, -1.0, -1.0), (L, B + 1.0, H + 1.0)))
    pr = make_problem(mesh, mat, [FixedDisplacement(root, {0: 0.0, 1: 0.0, 2: 0.0})],
                      [SurfaceLoad(end, traction=(0.0, 0.0, P / (B * H)))], formulation,
                      NewtonOptions(initial_step=1.0, max_step=1.0))
    res = pr.solve()
    return float(res.displacement[end.nodes(mesh), 2].mean())


@pytest.mark.parametrize("etype_name, n", [("hex8", (120, 3, 3)), ("tet10", (30, 3, 3))])
def test_mean_dilatation_cantilever_does_not_lock(etype_name, n):
    ratio = cantilever_tip(etype_name, n, "mean_dilatation") / timoshenko_tip()
    assert abs(ratio - 1.0) < 0.02, f"{etype_name} mean dilatation: tip / Timoshenko = {ratio:.4f}"


def test_standard_tet4_cantilever_locks():
    ratio = cantilever_tip("tet4", (30, 3, 3), "standard") / timoshenko_tip()
    assert ratio < 0.5, f"tet4 standard: tip / Timoshenko = {ratio:.4f} (expected volumetric locking)"


#: a general, nearly isochoric homogeneous deformation (det F = 1.0082)
F_PATCH = np.array([[1.08, 0.12, 0.03], [0.04, 0.95, 0.06], [-0.02, 0.05, 0.99]])


@pytest.mark.parametrize("etype_name, n", [("hex8", 3), ("tet10", 2)])
def test_mean_dilatation_patch_nearly_incompressible(etype_name, n):
    mesh = distorted_cube(etype_name, n, seed=11)
    mat = MooneyRivlin(c1=0.4, c2=0.1, k=1000.0)  # k = 1000 x shear modulus 2 (c1 + c2)
    pts = mesh.points
    boundary = nodes_on_box_boundary(pts, (0, 0, 0), (1, 1, 1))
    u_exact = pts @ (F_PATCH - np.eye(3)).T
    bcs = []
    for i in boundary:  # one condition per node: the prescribed field is not constant on a face
        mesh.node_sets[f"b{i}"] = np.array([i])
        bcs.append(FixedDisplacement(Selection(name=f"b{i}"), dict(enumerate(u_exact[i])), name=f"b{i}"))
    res = make_problem(mesh, mat, bcs, formulation="mean_dilatation",
                       newton=NewtonOptions(initial_step=0.5, max_step=1.0, rtol_residual=1e-12)).solve()
    interior = np.setdiff1d(np.arange(len(pts)), boundary)
    assert np.abs(res.displacement[interior] - u_exact[interior]).max() < 1e-9
    s = mat.stress(F_PATCH)
    ev = np.array([s[0, 0], s[1, 1], s[2, 2], s[0, 1], s[1, 2], s[0, 2]])
    err = np.abs(np.vstack(res.cell_stress) - ev).max() / np.abs(ev).max()
    assert err < 1e-8, f"cell stress off by {err:.2e} (relative)"
    # the pressure carries most of the stress: the check is not dominated by the isochoric part
    assert abs(np.trace(s)) / 3.0 > 3.0 * np.abs(s - np.trace(s) / 3.0 * np.eye(3)).max()
