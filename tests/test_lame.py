"""Lamé thick cylinder under internal pressure, plane strain, against the closed-form solution.

a = 10 mm, b = 20 mm, E = 210000 MPa, nu = 0.3, p = 100 MPa. A quarter of a 2 mm slice: symmetry u_x = 0 on
x = 0 and u_y = 0 on y = 0, plane strain u_z = 0 on both faces z = 0 and z = 2. gmsh builds a curved tet10
mesh (mid-edge nodes on the cylinders; 0.5 mm next to the bore, 1.5 mm at the outside, ~3800 elements),
written to .msh and read back with :func:`fesolver.mesh.read_mesh` (the physical surface ``inner`` becomes a
facet set carrying the pressure).

Closed form, with A = p a^2 / (b^2 - a^2) and B = p a^2 b^2 / (b^2 - a^2):
    sigma_r = A - B / r^2,  sigma_theta = A + B / r^2,  sigma_z = 2 nu A (plane strain),
    u_r = (1 + nu) / E * ((1 - 2 nu) A r + B / r).
"""

from __future__ import annotations

import numpy as np
import pytest

from fesolver.loads import FixedDisplacement, Selection, SurfaceLoad
from fesolver.materials import LinearElastic
from fesolver.mesh import read_mesh
from fesolver.problem import Problem

gmsh = pytest.importorskip("gmsh")

A_IN, B_OUT = 10.0, 20.0
E, NU, P = 210000.0, 0.3, 100.0
T = 2.0  # slice thickness [mm]
TOL = 0.01  # every checked value within 1 % of the closed form


def lame_exact():
    A = P * A_IN**2 / (B_OUT**2 - A_IN**2)
    B = P * A_IN**2 * B_OUT**2 / (B_OUT**2 - A_IN**2)

    def u_r(r):
        return (1.0 + NU) / E * ((1.0 - 2.0 * NU) * A * r + B / r)

    def hoop(r):
        return A + B / r**2

    return u_r, hoop, 2.0 * NU * A


def write_quarter_cylinder(path, size_out=1.5, size_in=0.5):
    """Quarter of a thick-walled cylinder slice as a curved tet10 gmsh mesh; physical groups solid, inner."""
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("lame")
        occ = gmsh.model.occ
        outer = occ.addCylinder(0, 0, 0, 0, 0, T, B_OUT, angle=np.pi / 2)
        inner = occ.addCylinder(0, 0, 0, 0, 0, T, A_IN, angle=np.pi / 2)
        vols, _ = occ.cut([(3, outer)], [(3, inner)])
        occ.synchronize()
        eps = 1e-6 * B_OUT
        bore = gmsh.model.getEntitiesInBoundingBox(-eps, -eps, -eps, A_IN + eps, A_IN + eps, T + eps, 2)
        assert len(bore) == 1, f"expected one bore surface, got {bore}"
        gmsh.model.addPhysicalGroup(3, [v for _, v in vols], name="solid")
        gmsh.model.addPhysicalGroup(2, [s for _, s in bore], name="inner")
        # graded size: size_in at the bore, growing to size_out at the outer surface
        fld = gmsh.model.mesh.field
        dist = fld.add("Distance")
        fld.setNumbers(dist, "SurfacesList", [s for _, s in bore])
        thr = fld.add("Threshold")
        fld.setNumber(thr, "InField", dist)
        fld.setNumber(thr, "SizeMin", size_in)
        fld.setNumber(thr, "SizeMax", size_out)
        fld.setNumber(thr, "DistMin", 0.0)
        fld.setNumber(thr, "DistMax", B_OUT - A_IN)
        fld.setAsBackgroundMesh(thr)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size_out)
        gmsh.model.mesh.generate(3)
        gmsh.model.mesh.setOrder(2)  # mid-edge nodes placed on the curved geometry
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


def test_lame_cylinder(tmp_path):
    path = tmp_path / "lame.msh"
    write_quarter_cylinder(path)
    mesh = read_mesh(path)
    assert [b.etype.name for b in mesh.solids] == ["tet10"]
    x = mesh.points
    r = np.hypot(x[:, 0], x[:, 1])
    # the bore's facets (tri6) have all their nodes, mid-edge ones included, on r = a (curved mesh)
    bore_nodes = np.unique(np.concatenate([c.ravel() for _, c in mesh.facet_sets["inner"]]))
    off = np.abs(r[bore_nodes] - A_IN).max()
    assert off <= 1e-6 * A_IN, f"bore nodes off the cylinder r = a by up to {off:.2e} mm"

    big = 2.0 * B_OUT
    bcs = [
        FixedDisplacement(Selection(box=((-big, -big, 0.0), (big, big, 0.0))), {2: 0.0}, name="z0"),
        FixedDisplacement(Selection(box=((-big, -big, T), (big, big, T))), {2: 0.0}, name="zT"),
        FixedDisplacement(Selection(box=((0.0, -big, -big), (0.0, big, big))), {0: 0.0}, name="sym_x"),
        FixedDisplacement(Selection(box=((-big, 0.0, -big), (big, 0.0, big))), {1: 0.0}, name="sym_y"),
    ]
    problem = Problem(mesh, {"all": LinearElastic(E, NU)}, bcs=bcs,
                      loads=[SurfaceLoad(Selection(name="inner"), pressure=P, name="p")])
    res = problem.solve()

    u_r_exact, hoop_exact, sz_exact = lame_exact()
    c, s = x[:, 0] / r, x[:, 1] / r
    u = res.displacement
    u_r = u[:, 0] * c + u[:, 1] * s
    st = res.nodal_stress()
    hoop = st[:, 0] * s**2 - 2.0 * st[:, 3] * s * c + st[:, 1] * c**2
    at_a = np.flatnonzero(np.abs(r - A_IN) <= 1e-6 * B_OUT)
    at_b = np.flatnonzero(np.abs(r - B_OUT) <= 1e-6 * B_OUT)
    assert at_a.size > 20 and at_b.size > 20

    # checked at every node of the bore / outer surface (symmetry planes and slice faces included)
    err_u = np.abs(u_r[at_a] / u_r_exact(A_IN) - 1.0).max()
    assert err_u <= TOL, f"u_r(a): worst node {err_u:.2%} off the Lamé value {u_r_exact(A_IN):.6e} mm"
    err_ha = np.abs(hoop[at_a] / hoop_exact(A_IN) - 1.0).max()
    assert err_ha <= TOL, f"hoop stress at r = a: worst node {err_ha:.2%} off {hoop_exact(A_IN):.3f} MPa"
    err_hb = np.abs(hoop[at_b] / hoop_exact(B_OUT) - 1.0).max()
    assert err_hb <= TOL, f"hoop stress at r = b: worst node {err_hb:.2%} off {hoop_exact(B_OUT):.3f} MPa"
    # plane strain: sigma_z = 2 nu A everywhere (element averages)
    err_z = np.abs(res.cell_stress[0][:, 2] / sz_exact - 1.0).max()
    assert err_z <= TOL, f"sigma_z: worst element {err_z:.2%} off the plane-strain value {sz_exact:.3f} MPa"
    # the pressure resultant on the quarter bore: p a T along (1, 1) (1e-6 relative)
    fp = res.load_resultants["p"]
    assert np.allclose(fp, [P * A_IN * T, P * A_IN * T, 0.0], rtol=1e-6, atol=1e-6 * P * A_IN * T), fp
