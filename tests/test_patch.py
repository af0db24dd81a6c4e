"""Patch tests and single-element checks of the solid elements (tet4, tet10, hex8).

MacNeal & Harder (1985), "A proposed standard set of problems to test finite element accuracy", Finite
Elements in Analysis and Design 1, 3-20: the solid patch test is a unit cube made of seven distorted
hexahedra (one inner hexahedron with the eight published interior nodes, and one hexahedron joining each face
of the cube to the facing inner face), E = 1e6, nu = 0.25, with the linear displacement field

    u = 1e-3 (2x + y + z) / 2,  v = 1e-3 (x + 2y + z) / 2,  w = 1e-3 (x + y + 2z) / 2

prescribed on the boundary. The exact solution is that field everywhere, with the constant stress
sigma_xx = sigma_yy = sigma_zz = 2000, tau_xy = tau_yz = tau_zx = 400. Any consistent element must reproduce
it to round-off. The patch is run on the unit cube and on the same patch scaled to 0.24 x 0.12 x 0.12 (the
size of MacNeal-Harder's membrane patch), which makes the elements anisotropic as well as distorted.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from meshgen import HEX_FACES, hex_to_tet, nodes_on_box_boundary, tet4_to_tet10

from fesolver.assembly import quadrature_points, stiffness_matrices
from fesolver.elements import HEX8, TET4, TET10
from fesolver.loads import FixedDisplacement, Selection
from fesolver.materials import LinearElastic
from fesolver.materials.linear import stiffness_from_young_poisson
from fesolver.mesh import Mesh, SolidBlock
from fesolver.problem import Problem
from fesolver.solvers import rigid_body_modes

E, NU = 1.0e6, 0.25
#: published interior nodes of the solid patch (unit cube); node i lies near cube corner i (VTK order)
INNER = np.array(
    [
        [0.249, 0.342, 0.192],
        [0.826, 0.288, 0.288],
        [0.850, 0.649, 0.263],
        [0.273, 0.750, 0.230],
        [0.320, 0.186, 0.643],
        [0.677, 0.305, 0.683],
        [0.788, 0.693, 0.644],
        [0.165, 0.745, 0.702],
    ]
)
CUBE = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]])
SIZES = {"unit": (1.0, 1.0, 1.0), "0.24x0.12x0.12": (0.24, 0.12, 0.12)}

# exact solution: displacement gradient H (u = H x), strain, stress
H_EXACT = 1e-3 * np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]) / 2.0
SIGMA_EXACT = np.array([2000.0, 2000.0, 2000.0, 400.0, 400.0, 400.0])  # XX YY ZZ XY YZ XZ

# hex8 formulation switch of Problem (``full`` / ``incompatible`` modes), if this version has one: the patch
# test must pass for every formulation (incompatible modes pass it on distorted elements only with Taylor's
# correction).
_FIELDS = {f.name for f in dataclasses.fields(Problem)}
HEX8_KW = next((k for k in ("hex8", "hex8_formulation") if k in _FIELDS), None)
HEX8_FORMS = [None] if HEX8_KW is None else ["full", "incompatible"]
_STIFFNESS_HAS_FORMULATION = "formulation" in inspect.signature(stiffness_matrices).parameters


def macneal_harder_patch(size=(1.0, 1.0, 1.0)):
    """The 7-hexahedron MacNeal-Harder solid patch: points (16, 3) (corners 0-7, inner 8-15), hexes (7, 8)."""
    points = np.vstack([CUBE, INNER]) * np.asarray(size)
    hexes = [np.arange(8, 16)]
    for f in HEX_FACES:  # outward face of the cube on top, the facing inner face at the bottom
        hexes.append(np.concatenate([f + 8, f]))
    return points, np.array(hexes, dtype=np.int64)


def patch_mesh(etype, size):
    points, hexes = macneal_harder_patch(size)
    if etype is HEX8:
        cells = hexes
    else:
        cells = hex_to_tet(points, hexes)
        if etype is TET10:
            points, cells = tet4_to_tet10(points, cells)
    return points, cells


def patch_problem(etype, size, **kw):
    points, cells = patch_mesh(etype, size)
    boundary = nodes_on_box_boundary(points, (0, 0, 0), size)
    node_sets = {f"n{i}": np.array([i]) for i in boundary}
    mesh = Mesh(points, [SolidBlock(etype, cells)], node_sets=node_sets)
    u_exact = points @ H_EXACT.T
    bcs = [
        FixedDisplacement(Selection(name=f"n{i}"), {c: float(u_exact[i, c]) for c in range(3)}, name=f"n{i}")
        for i in boundary
    ]
    return Problem(mesh, {"all": LinearElastic(E, NU)}, bcs=bcs, **kw), boundary, u_exact


CASES = [
    pytest.param(et, form, size, id=f"{et.name}{'-' + form if form else ''}-{size}")
    for et, forms in ((HEX8, HEX8_FORMS), (TET4, [None]), (TET10, [None]))
    for form in forms
    for size in SIZES
]


@pytest.mark.parametrize("etype, form, size", CASES)
def test_macneal_harder_patch(etype, form, size):
    kw = {} if form is None else {HEX8_KW: form}
    problem, boundary, u_exact = patch_problem(etype, SIZES[size], **kw)
    mesh = problem.mesh
    if etype is not TET10:
        # the patch has only the 8 cube corners on its boundary (for tet10 also the outer mid-edge nodes)
        assert boundary.size == 8, f"expected the 8 cube corners on the boundary, found {boundary.size} nodes"
    interior = np.setdiff1d(np.arange(mesh.n_nodes), boundary)
    assert interior.size > 0
    # every element is positively oriented (the patch is valid, not a folded mesh)
    _, wdet = quadrature_points(mesh.points, etype, mesh.solids[0].cells)
    assert np.all(wdet > 0), "patch mesh has a non-positive Jacobian"

    r = problem.solve()

    # tolerance: 1e-8 relative to the largest exact displacement / stress (round-off level is ~1e-12)
    tol = 1e-8
    u = r.displacement
    du = np.abs(u[interior] - u_exact[interior]).max() / np.abs(u_exact).max()
    assert du <= tol, f"{etype.name} patch ({size}): interior displacement relative error {du:.3e} > {tol:g}"
    smax = np.abs(SIGMA_EXACT).max()
    ds_cell = np.abs(r.cell_stress[0] - SIGMA_EXACT).max() / smax
    assert ds_cell <= tol, f"{etype.name} patch ({size}): cell stress relative error {ds_cell:.3e} > {tol:g}"
    ds_point = np.abs(r.point_stress - SIGMA_EXACT).max() / smax
    assert ds_point <= tol, f"{etype.name} patch ({size}): point stress relative error {ds_point:.3e} > {tol:g}"
    ds_nodal = np.abs(r.nodal_stress() - SIGMA_EXACT).max() / smax
    assert ds_nodal <= tol, f"{etype.name} patch ({size}): nodal stress relative error {ds_nodal:.3e} > {tol:g}"


# ----------------------------------------------------------------------------------------------
# Single elements: symmetry, rigid-body modes, and the kernel against a plain B^T D B
# ----------------------------------------------------------------------------------------------


def distorted_element(etype):
    """One distorted element of each type (tet10 with slightly curved edges, so that J varies)."""
    rng = np.random.default_rng(7)
    if etype is HEX8:
        return INNER[[0, 1, 2, 3, 4, 5, 6, 7]] * np.array([2.0, 1.0, 1.5])
    corners = np.array([[0.0, 0, 0], [1.2, 0.1, 0.0], [0.3, 0.9, 0.1], [0.2, 0.3, 1.1]])
    if etype is TET4:
        return corners
    mids = np.array([(corners[a] + corners[b]) / 2 for a, b in ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))])
    return np.vstack([corners, mids + 0.03 * rng.standard_normal(mids.shape)])


def reference_stiffness(points, etype, lam, mu):
    """K = sum_q w_q det J_q B_q^T D B_q, written the textbook way (engineering shear, Voigt XX YY ZZ XY YZ XZ)."""
    E_ = mu * (3 * lam + 2 * mu) / (lam + mu)
    nu_ = lam / (2 * (lam + mu))
    D = stiffness_from_young_poisson(E_, nu_)
    xi, w = etype.rule()
    nen = etype.n_nodes
    K = np.zeros((3 * nen, 3 * nen))
    for q in range(w.size):
        dN = etype.dshape(xi[q : q + 1])[0]  # (nen, 3) d/dxi
        J = points.T @ dN  # dx/dxi
        dNx = dN @ np.linalg.inv(J)
        B = np.zeros((6, 3 * nen))
        for a in range(nen):
            gx, gy, gz = dNx[a]
            B[0, 3 * a] = gx
            B[1, 3 * a + 1] = gy
            B[2, 3 * a + 2] = gz
            B[3, 3 * a], B[3, 3 * a + 1] = gy, gx
            B[4, 3 * a + 1], B[4, 3 * a + 2] = gz, gy
            B[5, 3 * a], B[5, 3 * a + 2] = gz, gx
        K += w[q] * np.linalg.det(J) * B.T @ D @ B
    return K


SINGLE = [pytest.param(TET4, None, id="tet4"), pytest.param(TET10, None, id="tet10")]
SINGLE += [pytest.param(HEX8, None, id="hex8")] if not _STIFFNESS_HAS_FORMULATION else [
    pytest.param(HEX8, "full", id="hex8-full"),
    pytest.param(HEX8, "incompatible", id="hex8-incompatible"),
]


@pytest.mark.parametrize("etype, form", SINGLE)
def test_single_element_stiffness(etype, form):
    pts = distorted_element(etype)
    conn = np.arange(etype.n_nodes)[None]
    lam, mu = LinearElastic(E, NU).lame
    kw = {} if form is None else {"formulation": form}
    Ke, detmin = stiffness_matrices(pts, etype, conn, np.array([lam]), np.array([mu]), **kw)
    K = Ke[0]
    assert detmin[0] > 0
    kmax = np.abs(K).max()
    # symmetric to round-off (1e-13 relative)
    asym = np.abs(K - K.T).max() / kmax
    assert asym <= 1e-13, f"{etype.name}: stiffness not symmetric, max |K - K^T| / max |K| = {asym:.2e}"
    # rigid-body modes are in the null space (1e-10 relative)
    R = rigid_body_modes(pts)
    rb = np.linalg.norm(K @ R) / (np.linalg.norm(K) * np.linalg.norm(R))
    assert rb <= 1e-10, f"{etype.name}: rigid-body modes produce forces, |K R| / (|K| |R|) = {rb:.2e}"
    # exactly six zero eigenvalues (< 1e-10 lambda_max) and a clear gap to the 7th (> 1e-5 lambda_max):
    # no spurious zero-energy (hourglass) mode
    ev = np.linalg.eigvalsh(K)
    lmax = ev.max()
    n_zero = int(np.sum(np.abs(ev) < 1e-10 * lmax))
    assert n_zero == 6, f"{etype.name}: {n_zero} zero eigenvalues (expected 6); smallest: {ev[:8] / lmax}"
    assert ev[6] > 1e-5 * lmax, f"{etype.name}: 7th eigenvalue {ev[6] / lmax:.2e} lambda_max is nearly zero"
    assert ev.min() > -1e-10 * lmax, f"{etype.name}: negative eigenvalue {ev.min() / lmax:.2e} lambda_max"
    if form == "incompatible":
        return  # condensed incompatible modes: no plain B^T D B to compare with
    # the numba kernel equals the plain NumPy B^T D B (1e-12 relative)
    Kref = reference_stiffness(pts, etype, lam, mu)
    diff = np.abs(K - Kref).max() / np.abs(Kref).max()
    assert diff <= 1e-12, f"{etype.name}: numba kernel differs from NumPy B^T D B by {diff:.2e} (relative)"


def test_kernel_matches_reference_on_many_elements():
    """The parallel kernel, run on a whole block, gives each element's B^T D B (no cross-talk between threads)."""
    pts, hexes = macneal_harder_patch()
    tets = hex_to_tet(pts, hexes)
    p10, t10 = tet4_to_tet10(pts, tets)
    lam_e = np.linspace(1.0e5, 5.0e5, t10.shape[0])
    mu_e = np.linspace(3.0e5, 1.0e5, t10.shape[0])
    for etype, p, conn in ((HEX8, pts, hexes), (TET4, pts, tets), (TET10, p10, t10)):
        Ke, _ = stiffness_matrices(p, etype, conn, lam_e[: conn.shape[0]], mu_e[: conn.shape[0]])
        for e in range(conn.shape[0]):
            Kref = reference_stiffness(p[conn[e]], etype, lam_e[e], mu_e[e])
            diff = np.abs(Ke[e] - Kref).max() / np.abs(Kref).max()
            assert diff <= 1e-12, f"{etype.name} element {e}: kernel differs from B^T D B by {diff:.2e}"
