"""Hex8 with incompatible modes (Wilson-Taylor QM6): element kernel, patch test, bending accuracy.

References: Taylor, Beresford & Wilson (1976) IJNME 10:1211 (the centre-Jacobian correction that makes the
patch test pass); MacNeal & Harder (1985) Finite Elem. Anal. Des. 1:3 (patch and straight-beam benchmarks).
"""

from __future__ import annotations

import numpy as np
import pytest

from fesolver.assembly import stiffness_matrices, strains_hex8_incompatible
from fesolver.elements import HEX8, TET4
from fesolver.loads import FixedDisplacement, Selection, SurfaceLoad
from fesolver.materials import LinearElastic
from fesolver.mesh import Mesh, SolidBlock
from fesolver.problem import Problem

SIGNS = np.array([[-1.0, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
                  [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]])  # VTK hex8 corners
G2 = 1.0 / np.sqrt(3.0)


# ---------------------------------------------------------------------------------------------------------
# plain NumPy reference (B matrices, Voigt D), written independently of fesolver's kernels
# ---------------------------------------------------------------------------------------------------------


def _dmat(lam, mu):
    D = np.zeros((6, 6))
    D[:3, :3] = lam
    D[:3, :3] += 2 * mu * np.eye(3)
    D[3:, 3:] = mu * np.eye(3)
    return D


def _bmat(grad):
    """Voigt strain (xx yy zz, engineering xy yz xz) from gradients (n, 3) of n vector-valued shape functions."""
    n = grad.shape[0]
    B = np.zeros((6, 3 * n))
    for a, (gx, gy, gz) in enumerate(grad):
        c = 3 * a
        B[0, c], B[1, c + 1], B[2, c + 2] = gx, gy, gz
        B[3, c], B[3, c + 1] = gy, gx
        B[4, c + 1], B[4, c + 2] = gz, gy
        B[5, c], B[5, c + 2] = gz, gx
    return B


def _ref_dshape(xi):
    f = 1.0 + SIGNS * xi
    return 0.125 * np.stack([SIGNS[:, 0] * f[:, 1] * f[:, 2],
                             SIGNS[:, 1] * f[:, 0] * f[:, 2],
                             SIGNS[:, 2] * f[:, 0] * f[:, 1]], axis=1)  # (8, 3)


def reference_blocks(X, lam, mu, taylor=True):
    """``Kuu (24, 24), Kua (24, 9), Kaa (9, 9)`` of one element with nodes ``X (8, 3)``."""
    D = _dmat(lam, mu)
    J0 = X.T @ _ref_dshape(np.zeros(3))
    Kuu, Kua, Kaa = np.zeros((24, 24)), np.zeros((24, 9)), np.zeros((9, 9))
    for xi in SIGNS * G2:
        J = X.T @ _ref_dshape(xi)
        B = _bmat(_ref_dshape(xi) @ np.linalg.inv(J))
        dP = np.diag(-2.0 * xi)  # dP_k / dxi_j
        if taylor:
            gP = np.linalg.det(J0) / np.linalg.det(J) * dP @ np.linalg.inv(J0)
        else:  # Wilson's original modes: the gradients of P_k, not patch-test proof
            gP = dP @ np.linalg.inv(J)
        G = _bmat(gP)
        dV = np.linalg.det(J)
        Kuu += B.T @ D @ B * dV
        Kua += B.T @ D @ G * dV
        Kaa += G.T @ D @ G * dV
    return Kuu, Kua, Kaa


def reference_stiffness(X, lam, mu, taylor=True):
    Kuu, Kua, Kaa = reference_blocks(X, lam, mu, taylor)
    return Kuu - Kua @ np.linalg.solve(Kaa, Kua.T)


DISTORTED = np.array([[0.0, 0.0, 0.0], [2.1, 0.2, -0.1], [2.4, 1.7, 0.1], [-0.2, 1.2, 0.2],
                      [0.1, -0.1, 1.3], [1.8, 0.1, 0.9], [2.2, 1.5, 1.6], [0.3, 1.4, 1.1]])
LAM, MU = 1150.0, 770.0


def test_kernel_matches_numpy_reference():
    """Condensed element matrix of a distorted hex against the NumPy reference: 1e-10 relative (max norm)."""
    Ke, detmin = stiffness_matrices(DISTORTED, HEX8, np.arange(8)[None], LAM, MU, formulation="incompatible")
    assert detmin[0] > 0
    ref = reference_stiffness(DISTORTED, LAM, MU)
    assert np.abs(Ke[0] - ref).max() <= 1e-10 * np.abs(ref).max()
    # and the formulation does change the matrix
    Kf, _ = stiffness_matrices(DISTORTED, HEX8, np.arange(8)[None], LAM, MU)
    assert np.abs(Kf[0] - ref).max() > 1e-3 * np.abs(ref).max()


def test_recovered_strain_matches_numpy_reference():
    """Enhanced strain B u + G alpha, alpha = -Kaa^-1 Kau u, at the nodes and the centre: 1e-10 relative."""
    rng = np.random.default_rng(3)
    u = rng.standard_normal((8, 3))
    xi_at = np.vstack([SIGNS, [[0.0, 0.0, 0.0], [0.3, -0.5, 0.7]]])
    got = strains_hex8_incompatible(DISTORTED, HEX8, np.arange(8)[None], xi_at, u, LAM, MU)[0]
    Kuu, Kua, Kaa = reference_blocks(DISTORTED, LAM, MU)
    alpha = -np.linalg.solve(Kaa, Kua.T @ u.ravel())
    J0 = DISTORTED.T @ _ref_dshape(np.zeros(3))
    for p, xi in enumerate(xi_at):
        J = DISTORTED.T @ _ref_dshape(xi)
        gP = np.linalg.det(J0) / np.linalg.det(J) * np.diag(-2.0 * xi) @ np.linalg.inv(J0)
        eps = _bmat(_ref_dshape(xi) @ np.linalg.inv(J)) @ u.ravel() + _bmat(gP) @ alpha
        eps[3:] *= 0.5  # tensor shear components
        assert np.abs(got[p] - eps).max() <= 1e-10 * np.abs(eps).max()


def test_symmetric_with_six_rigid_body_modes():
    """Ke symmetric (exactly) with six zero eigenvalues (|ev| < 1e-10 max ev) and the rest > 1e-4 max ev."""
    Ke, _ = stiffness_matrices(DISTORTED, HEX8, np.arange(8)[None], LAM, MU, formulation="incompatible")
    K = Ke[0]
    assert np.array_equal(K, K.T)
    ev = np.linalg.eigvalsh(K)
    assert np.all(np.abs(ev[:6]) < 1e-10 * ev[-1])
    assert ev[6] > 1e-4 * ev[-1]


def test_formulation_checked():
    """Only hex8 takes 'incompatible'; unknown names are rejected, by the assembly and by Problem."""
    tet = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="hex8 only"):
        stiffness_matrices(tet, TET4, np.arange(4)[None], 1.0, 1.0, formulation="incompatible")
    with pytest.raises(ValueError, match="allowed"):
        stiffness_matrices(DISTORTED, HEX8, np.arange(8)[None], 1.0, 1.0, formulation="reduced")
    mesh = Mesh(DISTORTED, [SolidBlock(HEX8, np.arange(8)[None])])
    with pytest.raises(ValueError, match="'incompatible', 'full'|'full', 'incompatible'"):
        Problem(mesh, {"all": LinearElastic(E=1.0, nu=0.3)}, hex8="reduced")
    assert Problem(mesh, {"all": LinearElastic(E=1.0, nu=0.3)}).hex8 == "incompatible"


# ---------------------------------------------------------------------------------------------------------
# patch test: MacNeal-Harder 7-element distorted patch
# ---------------------------------------------------------------------------------------------------------

PATCH_INNER = np.array([[0.249, 0.342, 0.192], [0.826, 0.288, 0.288], [0.850, 0.649, 0.263],
                        [0.273, 0.750, 0.230], [0.320, 0.186, 0.643], [0.677, 0.305, 0.683],
                        [0.788, 0.693, 0.644], [0.165, 0.745, 0.702]])


def patch_mesh():
    """Unit cube: corners 0-7 (VTK order), interior nodes 8-15 (node 8 + i near corner i); 7 hexes."""
    pts = np.vstack([0.5 * (SIGNS + 1.0), PATCH_INNER])
    cells = [list(range(8, 16))]
    for face in HEX8.faces:  # outward-ordered (a, b, c, d) -> bottom (a, d, c, b), top = interior copies
        a, b, c, d = face
        cells.append([a, d, c, b, a + 8, d + 8, c + 8, b + 8])
    return pts, np.array(cells, dtype=np.int64)


# a linear field u = u0 + A x (A unsymmetric: includes a rotation)
PATCH_A = 1e-3 * np.array([[1.0, 0.5, -0.3], [0.2, -0.7, 0.4], [0.6, 0.1, 0.9]])
PATCH_U0 = np.array([1e-4, -2e-4, 3e-4])


@pytest.mark.parametrize("hex8", ["incompatible", "full"])
def test_patch_test_distorted_7_elements(hex8):
    """Linear displacement on the 8 outer corners, E = 1e6, nu = 0.25: the exact constant stress is reproduced
    to 1e-8 relative (of max |sigma|) in every cell average and at every node, and the interior nodes get the
    linear field to 1e-10 relative. For 'incompatible' this checks Taylor's correction."""
    pts, cells = patch_mesh()
    mat = LinearElastic(E=1e6, nu=0.25)
    bcs = []
    for n in range(8):
        val = PATCH_U0 + PATCH_A @ pts[n]
        bcs.append(FixedDisplacement(Selection(box=(tuple(pts[n]), tuple(pts[n]))),
                                     {i: float(val[i]) for i in range(3)}, name=f"corner{n}"))
    r = Problem(Mesh(pts, [SolidBlock(HEX8, cells)]), {"all": mat}, bcs=bcs, hex8=hex8).solve()
    u_exact = PATCH_U0 + pts @ PATCH_A.T
    assert np.abs(r.displacement - u_exact).max() <= 1e-10 * np.abs(u_exact).max()
    H = PATCH_A
    eps = 0.5 * (H + H.T)
    eps6 = np.array([eps[0, 0], eps[1, 1], eps[2, 2], eps[0, 1], eps[1, 2], eps[0, 2]])
    sig6 = mat.stress(eps6[None])[0]
    scale = np.abs(sig6).max()
    assert np.abs(r.cell_stress[0] - sig6).max() <= 1e-8 * scale
    assert np.abs(r.point_stress - sig6).max() <= 1e-8 * scale
    assert np.abs(r.cell_strain[0] - eps6).max() <= 1e-8 * np.abs(eps6).max()


def test_patch_test_fails_without_taylor_correction():
    """Control: with Wilson's uncorrected modes (NumPy reference) the same patch is off by > 1e-3 in stress,
    so the patch test above does discriminate."""
    pts, cells = patch_mesh()
    lam, mu = LinearElastic(E=1e6, nu=0.25).lame
    n = 3 * pts.shape[0]
    K = np.zeros((n, n))
    for c in cells:
        dofs = (3 * c[:, None] + np.arange(3)).ravel()
        K[np.ix_(dofs, dofs)] += reference_stiffness(pts[c], lam, mu, taylor=False)
    u = (PATCH_U0 + pts @ PATCH_A.T).ravel()
    fixed = np.arange(24)
    free = np.arange(24, n)
    u_fe = u.copy()
    u_fe[free] = np.linalg.solve(K[np.ix_(free, free)], -K[np.ix_(free, fixed)] @ u[fixed])
    assert np.abs(u_fe - u).max() > 1e-3 * np.abs(u).max()


# ---------------------------------------------------------------------------------------------------------
# bending: cantilever against Timoshenko beam theory
# ---------------------------------------------------------------------------------------------------------

L, W, H, E, NU, P = 100.0, 10.0, 10.0, 1000.0, 0.3, 1.0


def box_mesh(nx, ny, nz, length=L, width=W, height=H):
    x = np.linspace(0, length, nx + 1)
    y = np.linspace(0, width, ny + 1)
    z = np.linspace(0, height, nz + 1)
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
    pts = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    nid = np.arange(pts.shape[0]).reshape(nx + 1, ny + 1, nz + 1)
    i, j, k = (a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"))
    cells = np.column_stack([nid[i, j, k], nid[i + 1, j, k], nid[i + 1, j + 1, k], nid[i, j + 1, k],
                             nid[i, j, k + 1], nid[i + 1, j, k + 1], nid[i + 1, j + 1, k + 1],
                             nid[i, j + 1, k + 1]])
    return pts, cells


def tip_deflection(pts, cells, hex8, clamp="beam", length=L, width=W, height=H, young=E, load_dir=2):
    """Cantilever along x with a shear traction of resultant P on x = ``length`` (in ``load_dir``); returns the
    mean tip displacement in ``load_dir`` and the result.

    ``clamp="beam"``: u_x = 0 on the root face, u_y = 0 on its vertical centre line and u_z = 0 on its
    horizontal centre line: no root rotation or axial motion, lateral contraction free (the clamp of beam
    theory). ``clamp="full"``: all components fixed on the root face (also restrains the Poisson contraction
    there, which stiffens the 3D beam by about 0.7% for these proportions).
    """
    mesh = Mesh(pts, [SolidBlock(HEX8, cells)])
    root = Selection(box=((0.0, 0.0, 0.0), (0.0, width, height)))
    if clamp == "full":
        bcs = [FixedDisplacement(root, {0: 0.0, 1: 0.0, 2: 0.0})]
    else:
        bcs = [FixedDisplacement(root, {0: 0.0}, name="root_x"),
               FixedDisplacement(Selection(box=((0.0, width / 2, 0.0), (0.0, width / 2, height))), {1: 0.0},
                                 name="root_y"),
               FixedDisplacement(Selection(box=((0.0, 0.0, height / 2), (0.0, width, height / 2))), {2: 0.0},
                                 name="root_z")]
    tip = Selection(box=((length, 0.0, 0.0), (length, width, height)))
    t = np.zeros(3)
    t[load_dir] = P / (width * height)
    prob = Problem(mesh, {"all": LinearElastic(E=young, nu=NU)}, bcs=bcs,
                   loads=[SurfaceLoad(tip, traction=tuple(t))], hex8=hex8)
    r = prob.solve()
    return float(r.displacement[tip.nodes(mesh), load_dir].mean()), r


def timoshenko(length=L):
    """Tip deflection P L^3 / (3 E I) + P L / (k G A), k = 5/6 [mm] (0.40312 mm here)."""
    I = W * H**3 / 12.0
    G = E / (2 * (1 + NU))
    return P * length**3 / (3 * E * I) + P * length / (5.0 / 6.0 * G * W * H)


def test_cantilever_incompatible_within_one_percent():
    """Mesh 20x2x2 (cubic 5 mm elements), beam clamp: incompatible within 1% of Timoshenko (it gives 0.9985);
    full integration on the same mesh more than 3% too stiff (0.880: shear locking, the reason for the
    default). Mid-span bending stress within 2% of M z / I, cell averages and nodal values."""
    pts, cells = box_mesh(20, 2, 2)
    ref = timoshenko()
    inc, r = tip_deflection(pts, cells, "incompatible")
    full, _ = tip_deflection(pts, cells, "full")
    assert abs(inc / ref - 1.0) < 0.01, inc / ref
    assert full / ref < 0.97, full / ref
    # sigma_xx = M z / I with M = -P (L - x) (hogging under a +z tip load), z from the neutral axis
    c = pts[cells].mean(axis=1)
    sel = np.isclose(c[:, 0], 0.5 * L + 2.5) | np.isclose(c[:, 0], 0.5 * L - 2.5)
    sxx = -P * (L - c[sel, 0]) * (c[sel, 2] - 0.5 * H) / (W * H**3 / 12.0)
    assert np.allclose(r.cell_stress[0][sel, 0], sxx, rtol=0.02)
    nodes = np.flatnonzero(np.isclose(pts[:, 0], 0.5 * L) & ~np.isclose(pts[:, 2], 0.5 * H))
    sxx = -P * (L - pts[nodes, 0]) * (pts[nodes, 2] - 0.5 * H) / (W * H**3 / 12.0)
    assert np.allclose(r.point_stress[nodes, 0], sxx, rtol=0.02)


def test_cantilever_fully_clamped_40x4x4():
    """Mesh 40x4x4, root face fully fixed: incompatible 0.990 of Timoshenko (within 1.5%: the root restraint
    itself accounts for ~0.7%, the converged 3D value being ~0.993), full integration 0.957 (below 0.97)."""
    pts, cells = box_mesh(40, 4, 4)
    ref = timoshenko()
    inc, _ = tip_deflection(pts, cells, "incompatible", clamp="full")
    full, _ = tip_deflection(pts, cells, "full", clamp="full")
    assert abs(inc / ref - 1.0) < 0.015, inc / ref
    assert full / ref < 0.97, full / ref


# ---------------------------------------------------------------------------------------------------------
# distorted elements: trapezoidal shapes
# ---------------------------------------------------------------------------------------------------------


def trapezoidal(pts, nx, dx, height, offset):
    """Move the inner cross-sections x = i dx by +-``offset`` (z - height/2) / (height/2), alternately."""
    sec = np.rint(pts[:, 0] / dx).astype(int)
    inner = (sec > 0) & (sec < nx)
    out = pts.copy()
    out[inner, 0] += (np.where(sec % 2 == 0, 1.0, -1.0) * (pts[:, 2] - height / 2) / (height / 2) * offset)[inner]
    return out


def test_trapezoidal_cantilever_improves_on_full_integration():
    """The 20x2x2 beam-clamped cantilever with inner cross-sections tilted alternately by +-17 degrees
    (top/bottom moved +-1.5 mm: trapezoids with parallel edges 2 and 8 mm, or 5 and 8/2 mm): incompatible
    0.954 of Timoshenko (within 6%), full 0.841; the incompatible error is under half the full one."""
    pts, cells = box_mesh(20, 2, 2)
    ref = timoshenko()
    pts = trapezoidal(pts, 20, 5.0, H, 1.5)
    inc, _ = tip_deflection(pts, cells, "incompatible")
    full, _ = tip_deflection(pts, cells, "full")
    assert abs(inc / ref - 1) < 0.06, inc / ref
    assert abs(inc / ref - 1) < 0.5 * abs(full / ref - 1), (inc / ref, full / ref)


def test_macneal_harder_straight_beam():
    """MacNeal & Harder's straight beam (L = 6, h = 0.2, w = 0.1, E = 1e7, nu = 0.3, 6x1x1 elements, full clamp,
    in-plane tip shear P = 1, reference 0.1081). Regular elements: incompatible 0.978 (within 3%), full 0.093.
    Trapezoids with 45-degree sides: incompatible 0.047, full 0.026 -- still better than full integration,
    but like every 8-node hex that passes the patch test (MacNeal's theorem) it locks in trapezoidal shapes;
    asserted: incompatible > 1.5 x full."""
    lb, wb, hb, eb, ref = 6.0, 0.1, 0.2, 1e7, 0.1081
    pts, cells = box_mesh(6, 1, 1, lb, wb, hb)
    kw = dict(clamp="full", length=lb, width=wb, height=hb, young=eb)
    inc, _ = tip_deflection(pts, cells, "incompatible", **kw)
    full, _ = tip_deflection(pts, cells, "full", **kw)
    assert abs(inc / ref - 1) < 0.03, inc / ref
    assert full / ref < 0.2, full / ref
    trap = trapezoidal(pts, 6, 1.0, hb, hb / 2)
    inc_t, _ = tip_deflection(trap, cells, "incompatible", **kw)
    full_t, _ = tip_deflection(trap, cells, "full", **kw)
    assert inc_t > 1.5 * full_t, (inc_t / ref, full_t / ref)
