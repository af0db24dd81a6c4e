"""Geometrically nonlinear trusses (line2): tangent, laws, slack cables, objectivity, a large-deflection cable.

References: Blankevoort & Huiskes (1991) J Biomech Eng 113:263 (toe-region ligament law); the taut cable under a
mid-span point load is the classic two-bar problem, equilibrium of the loaded node gives P = 2 N w / l exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from fesolver.assembly import SparsityPattern
from fesolver.elements.truss import (
    TrussMaterial,
    truss_energy,
    truss_parameters,
    truss_response,
)
from fesolver.errors import MeshError

EA = 6000.0  # N: E = 300 MPa, A = 20 mm^2 (plantar-fascia band)
MATS = {
    "linear": TrussMaterial("linear", E=300.0, area=20.0, prestrain=0.01),
    "tension_only": TrussMaterial("linear", E=300.0, area=20.0, prestrain=0.01, tension_only=True),
    "toe_linear": TrussMaterial("toe_linear", E=None, area=20.0, k=EA, toe_strain=0.03, prestrain=0.01),
}


def rotation(axis, angle) -> np.ndarray:
    """Rodrigues rotation matrix."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    W = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * W + (1 - np.cos(angle)) * W @ W


def law_force(mat: TrussMaterial, eps: float) -> float:
    """The axial force of ``mat`` at engineering strain ``eps``, written from the papers' formulas."""
    k, el = mat.axial_stiffness, mat.toe_strain
    if mat.law == "linear":
        return 0.0 if (mat.tension_only and eps <= 0) else k * eps
    if eps < 0:
        return 0.0
    return k * eps**2 / (4 * el) if eps <= 2 * el else k * (eps - el)


def elements_at_strain(strains, prestrain, seed=0):
    """Independent trusses with random reference geometry, moved rigidly (large rotation + translation) and
    stretched so that each has engineering strain ``strains[e]``. Returns points, conn, u."""
    rng = np.random.default_rng(seed)
    nel = len(strains)
    points = np.empty((2 * nel, 3))
    u = np.empty((2 * nel, 3))
    for e, eps in enumerate(strains):
        X0 = rng.uniform(-50, 50, 3)
        D = rng.normal(size=3)
        L0 = rng.uniform(10, 40)
        D *= L0 / np.linalg.norm(D)
        lam = (1 + eps) / (1 + prestrain)
        R = rotation(rng.normal(size=3), rng.uniform(0.3, 2.5))
        x0 = X0 + rng.uniform(-5, 5, 3)
        points[2 * e], points[2 * e + 1] = X0, X0 + D
        u[2 * e], u[2 * e + 1] = x0 - X0, x0 + lam * (R @ D) - (X0 + D)
    conn = np.arange(2 * nel).reshape(nel, 2)
    return points, conn, u


# ---------------------------------------------------------------------------------------------------------
# tangent = central finite difference of the internal force
# ---------------------------------------------------------------------------------------------------------

STATES = {  # engineering strains (including the pre-strain) at which the tangent is checked
    "linear": {"stretched": [0.05, 0.2, 0.002], "compressed": [-0.05, -0.2]},
    "tension_only": {"stretched": [0.05, 0.2, 0.002], "compressed": [-0.05, -0.2]},
    "toe_linear": {"toe": [0.005, 0.02, 0.055], "stretched": [0.07, 0.2], "compressed": [-0.05, -0.2]},
}
CASES = [(law, state) for law, d in STATES.items() for state in d]


@pytest.mark.parametrize("law,state", CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_tangent_matches_central_difference(law, state):
    """Tolerance: max |K - K_fd| <= 1e-6 max |K| (h = 1e-6 L0: truncation ~1e-12, round-off ~1e-10)."""
    mat = MATS[law]
    points, conn, u = elements_at_strain(STATES[law][state], mat.prestrain, seed=len(law) + len(state))
    r = truss_response(points, conn, u, mat)
    assert np.allclose(r.Ke, r.Ke.transpose(0, 2, 1), rtol=0, atol=1e-12 * np.abs(r.Ke).max(initial=1.0))
    slack = mat.tension_only and state == "compressed"
    for e, (a0, a1) in enumerate(conn):
        h = 1e-6 * np.linalg.norm(points[a1] - points[a0])
        K_fd = np.empty((6, 6))
        for col in range(6):
            node, comp = conn[e, col // 3], col % 3
            up, um = u.copy(), u.copy()
            up[node, comp] += h
            um[node, comp] -= h
            K_fd[:, col] = (truss_response(points, conn, up, mat).fe[e]
                            - truss_response(points, conn, um, mat).fe[e]) / (2 * h)
        if slack:  # both exactly zero
            assert np.all(K_fd == 0.0) and np.all(r.Ke[e] == 0.0) and np.all(r.fe[e] == 0.0)
        else:
            err = np.abs(r.Ke[e] - K_fd).max() / np.abs(r.Ke[e]).max()
            assert err < 1e-6, f"element {e}: relative tangent error {err:.2e}"


@pytest.mark.parametrize("law", list(MATS))
def test_internal_force_is_energy_gradient_and_law_values(law):
    """fe = dPi/du by central difference (rel. 1e-7); N equals the law's formula at the set strain (rel. 1e-12);
    fe annihilates rigid translations exactly (sum of the two nodal forces is zero)."""
    mat = MATS[law]
    strains = [-0.1, 0.004, 0.03, 0.059, 0.08, 0.3]
    points, conn, u = elements_at_strain(strains, mat.prestrain, seed=3)
    r = truss_response(points, conn, u, mat)
    expected = np.array([law_force(mat, s) for s in strains])
    np.testing.assert_allclose(r.force, expected, rtol=1e-12, atol=1e-12 * EA)
    np.testing.assert_allclose(r.stress, expected / mat.area, rtol=1e-12, atol=1e-12 * EA)
    np.testing.assert_allclose(truss_parameters(mat, len(strains)).strain(r.stretch), strains, atol=1e-13)
    np.testing.assert_allclose(r.fe[:, :3] + r.fe[:, 3:], 0.0, atol=1e-12 * EA)
    h = 1e-5
    g = np.empty_like(r.fe)
    for e in range(len(strains)):
        for col in range(6):
            up, um = u.copy(), u.copy()
            up[conn[e, col // 3], col % 3] += h
            um[conn[e, col // 3], col % 3] -= h
            g[e, col] = (truss_energy(points, conn, up, mat)[e] - truss_energy(points, conn, um, mat)[e]) / (2 * h)
    np.testing.assert_allclose(g, r.fe, rtol=0, atol=1e-7 * np.abs(r.fe).max())


# ---------------------------------------------------------------------------------------------------------
# slack cables
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("law", ["tension_only", "toe_linear"])
@pytest.mark.parametrize("stretch", [0.6, 0.95, 1.0, 1.005])
def test_slack_element_carries_exactly_zero_force(law, stretch):
    """Exact zeros: a tension-only element whose strain lambda (1 + eps_r) - 1 is <= 0 (here eps_r = -0.005, so
    even a slightly stretched element, lambda = 1.005, is still slack)."""
    mat = TrussMaterial(MATS[law].law, E=MATS[law].E, area=20.0, k=MATS[law].k, prestrain=-0.005,
                        tension_only=True)
    points = np.array([[0.0, 0, 0], [30.0, 10.0, -5.0]])
    u = np.array([[0.0, 0, 0], (stretch - 1) * (points[1] - points[0])])
    r = truss_response(points, [[0, 1]], u, mat)
    assert r.force[0] == 0.0 and r.stress[0] == 0.0
    assert np.all(r.fe == 0.0) and np.all(r.Ke == 0.0)
    assert truss_energy(points, [[0, 1]], u, mat)[0] == 0.0
    assert r.stretch[0] == pytest.approx(stretch, rel=1e-14)


# ---------------------------------------------------------------------------------------------------------
# objectivity
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("law", list(MATS))
@pytest.mark.parametrize("lam", [1.0, 1.08])
def test_large_rigid_rotation_is_objective(law, lam):
    """A pre-strained element (eps_r = 0.01; stretched by ``lam`` first) rotated by 90 degrees about an axis through
    node 0: the force and energy do not change (rel. 1e-12), fe rotates with it (fe' = R fe) and
    Ke' = Q Ke Q^T (abs. 1e-12 of the largest entry)."""
    mat = MATS[law]
    X = np.array([[5.0, -2.0, 1.0], [25.0, 3.0, -4.0]])
    u1 = np.array([[0.0, 0, 0], (lam - 1) * (X[1] - X[0])])
    R = rotation([0.3, -1.0, 0.5], np.pi / 2)
    x1 = X + u1
    u2 = (x1 - X[0]) @ R.T + X[0] - X  # x = X0 + R (x1 - X0)
    a = truss_response(X, [[0, 1]], u1, mat)
    b = truss_response(X, [[0, 1]], u2, mat)
    assert a.force[0] > 0 and a.force[0] == pytest.approx(law_force(mat, lam * 1.01 - 1), rel=1e-12)  # pre-stressed
    assert b.force[0] == pytest.approx(a.force[0], rel=1e-12)
    assert b.stretch[0] == pytest.approx(a.stretch[0], rel=1e-12)
    Ea, Eb = truss_energy(X, [[0, 1]], u1, mat)[0], truss_energy(X, [[0, 1]], u2, mat)[0]
    assert Ea > 0 and Eb == pytest.approx(Ea, rel=1e-12)
    scale = np.abs(a.fe).max()
    np.testing.assert_allclose(b.fe.reshape(2, 3), a.fe.reshape(2, 3) @ R.T, rtol=0, atol=1e-12 * scale)
    Q = np.kron(np.eye(2), R)
    np.testing.assert_allclose(b.Ke[0], Q @ a.Ke[0] @ Q.T, rtol=0, atol=1e-12 * np.abs(a.Ke).max())
    # the rotation really moved the element: its internal force changed direction
    assert np.abs(b.fe - a.fe).max() > 0.5 * scale


# ---------------------------------------------------------------------------------------------------------
# large deflection of a taut cable under a mid-span point load (Newton on the global system)
# ---------------------------------------------------------------------------------------------------------


def cable_exact_load(mat: TrussMaterial, L: float, w: float) -> tuple[float, float]:
    """Closed form: each half-span stays straight, length l = sqrt(L^2 + w^2), strain eps = l/L (1 + eps_r) - 1;
    vertical equilibrium of the loaded node: P = 2 N(eps) w / l. Returns (P, N)."""
    l = np.hypot(L, w)
    N = law_force(mat, l / L * (1 + mat.prestrain) - 1)
    return 2 * N * w / l, N


def newton_cable(mat, L, P, n_half=4, n_steps=4, tol=1e-12, max_iter=25):
    """Cable of 2 n_half trusses along x over [-L, L], ends fixed, load -P e_z at mid-span. Full Newton with the
    consistent tangent, assembled through SparsityPattern, load in ``n_steps`` equal increments.
    Returns (u (nn, 3), force (nel,), residual norms per increment)."""
    nn = 2 * n_half + 1
    points = np.zeros((nn, 3))
    points[:, 0] = np.linspace(-L, L, nn)
    conn = np.column_stack([np.arange(nn - 1), np.arange(1, nn)])
    pat = SparsityPattern(nn, [conn])
    params = truss_parameters(mat, conn.shape[0])  # packed once
    free = np.setdiff1d(np.arange(3 * nn), [0, 1, 2, 3 * nn - 3, 3 * nn - 2, 3 * nn - 1])
    mid = n_half
    u = np.zeros(3 * nn)
    history = []
    for step in range(1, n_steps + 1):
        f_ext = np.zeros(3 * nn)
        f_ext[3 * mid + 2] = -P * step / n_steps
        scale = max(np.abs(f_ext).max(), 1.0)
        res = []
        for _ in range(max_iter):
            r = truss_response(points, conn, u, params)
            f_int = np.zeros(3 * nn)
            pat.add_element_vectors(0, r.fe, f_int)
            R = (f_int - f_ext)[free]
            res.append(np.linalg.norm(R) / scale)
            if res[-1] < tol:
                break
            data = pat.zeros()
            pat.add_element_matrices(0, r.Ke, data)
            Kff = pat.matrix(data)[free][:, free].tocsc()
            u[free] -= spla.spsolve(Kff, R)
        else:
            raise AssertionError(f"no convergence in increment {step}: residuals {res}")
        history.append(res)
    return u.reshape(-1, 3), truss_response(points, conn, u, params).force, history


def convergence_orders(res, floor=1e-11):
    """q_k = log(r_{k+1}/r_k) / log(r_k/r_{k-1}) over the residuals above the round-off floor (2 = quadratic)."""
    r = np.array([x for x in res if x > floor])
    return np.log(r[2:] / r[1:-1]) / np.log(r[1:-1] / r[:-2])


@pytest.mark.parametrize("law,w_over_L", [("linear", 0.2), ("tension_only", 0.2), ("toe_linear", 0.1),
                                          ("toe_linear", 0.4)])
def test_taut_cable_point_load_matches_closed_form(law, w_over_L):
    """Sag w and cable force within 1e-8 relative of the closed form P = 2 N w / l; the loaded node does not move
    along the span or sideways (abs. 1e-9 L); every node of a half-span lies on the straight chord (abs. 1e-9 L);
    Newton converges quadratically (observed order >= 1.8) in the last load increment."""
    mat = MATS[law]
    L = 60.0  # mm, half-span
    w = w_over_L * L
    P, N = cable_exact_load(mat, L, w)
    u, force, history = newton_cable(mat, L, P)
    n_half = 4
    x = np.zeros((2 * n_half + 1, 3))
    x[:, 0] = np.linspace(-L, L, 2 * n_half + 1)
    x += u
    w_fe = -u[n_half, 2]
    assert w_fe == pytest.approx(w, rel=1e-8)
    np.testing.assert_allclose(force, N, rtol=1e-8)
    assert abs(u[n_half, 0]) < 1e-9 * L and np.abs(u[:, 1]).max() < 1e-9 * L
    # straight halves: z varies linearly with the current x from the support to the loaded node
    for sl in (slice(0, n_half + 1), slice(n_half, None)):
        xs, zs = x[sl, 0], x[sl, 2]
        z_chord = -w * (1 - np.abs(xs - x[n_half, 0]) / np.abs(xs - x[n_half, 0]).max())
        np.testing.assert_allclose(zs, z_chord, atol=1e-9 * L)
    q = convergence_orders(history[-1])
    assert q.size >= 1 and q[-1] >= 1.8, f"residuals {history[-1]}, orders {q}"


# ---------------------------------------------------------------------------------------------------------
# toe-region law
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("toe_strain", [0.02, 0.03, 0.05])
def test_toe_law_continuous_with_continuous_slope(toe_strain):
    """At eps = 2 eps_l: N = k eps_l (rel. 1e-12); at 2 eps_l +- d (d = 1e-10) the force differs from k eps_l by at
    most 1.01 k d (no jump) and the one-sided tangents dN/deps (from the kernel's material stiffness) agree within
    1e-8 k (no kink); at +-1e-6 the slopes follow the formulas (rel. 1e-10); at eps = 0+ force and slope vanish."""
    k, s = 4000.0, 1.02
    mat = TrussMaterial("toe_linear", E=None, area=10.0, k=k, toe_strain=toe_strain, prestrain=s - 1)
    L0 = 25.0
    eps = 2 * toe_strain + np.array([-1e-10, 0.0, 1e-10, -1e-6, 1e-6])
    points = np.tile([[0.0, 0, 0], [L0, 0, 0]], (eps.size, 1))
    conn = np.arange(2 * eps.size).reshape(-1, 2)
    u = np.zeros_like(points)
    u[1::2, 0] = L0 * ((1 + eps) / s - 1)
    r = truss_response(points, conn, u, mat)
    assert r.force[1] == pytest.approx(k * toe_strain, rel=1e-12)
    assert np.all(np.abs(r.force[[0, 2]] - k * toe_strain) <= 1.01 * k * 1e-10 + 1e-12 * k * toe_strain)
    slope = r.Ke[:, 3, 3] * L0 / s  # axial stiffness dN/dl along x, times dl/deps
    assert abs(slope[2] - slope[0]) <= 1e-8 * k
    assert slope[3] == pytest.approx(k * eps[3] / (2 * toe_strain), rel=1e-10)
    assert slope[4] == pytest.approx(k, rel=1e-10)
    # the secant slope across the transition equals k to first order
    assert (r.force[4] - r.force[3]) / 2e-6 == pytest.approx(k, rel=1e-5)
    # start of the toe: force and slope vanish at eps = 0 (no jump when the cable becomes taut)
    u0 = np.array([[0.0, 0, 0], [L0 * (1 / s - 1) + 1e-9, 0, 0]])
    r0 = truss_response(points[:2], [[0, 1]], u0, mat)
    assert 0 < r0.force[0] < 1e-12 * k and 0 < r0.Ke[0, 3, 3] * L0 / s < 1e-6 * k


# ---------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------

OK = dict(law="linear", E=300.0, area=20.0)
BAD = [
    (dict(law="quadratic"), r"law must be one of \['linear', 'toe_linear'\], got 'quadratic'"),
    (dict(E=-5.0), r"E must be a finite Young's modulus > 0 in MPa, got -5.0"),
    (dict(E=float("nan")), r"E must be .* got nan"),
    (dict(area=0.0), r"area must be a finite cross-section area > 0 in mm\^2, got 0.0"),
    (dict(area=-3.0), r"area .* got -3.0"),
    (dict(k=6000.0), r"exactly one of E .* and k .*got E=300.0, k=6000.0"),
    (dict(E=None), r"exactly one of E .*got E=None, k=None"),
    (dict(E=None, k=-1.0), r"k must be a finite axial stiffness > 0 in N, got -1.0"),
    (dict(toe_strain=0.0), r"toe_strain must satisfy 0.0 < toe_strain <= 0.25, got 0.0"),
    (dict(toe_strain=0.4), r"toe_strain must satisfy .* got 0.4"),
    (dict(prestrain=0.7), r"prestrain must satisfy -0.5 < prestrain < 0.5, got 0.7"),
    (dict(prestrain=-0.5), r"prestrain must satisfy .* got -0.5"),
    (dict(prestrain="x"), r"prestrain must satisfy .* got x"),
    (dict(tension_only="yes"), r"tension_only must be True, False or None, got 'yes'"),
    (dict(law="toe_linear", tension_only=False), r"law 'toe_linear' is tension-only; .* got False"),
]


@pytest.mark.parametrize("kw,msg", BAD, ids=[next(iter(k)) + "=" + str(next(iter(k.values()))) for k, _ in BAD])
def test_material_validation_names_parameter_value_and_range(kw, msg):
    with pytest.raises(ValueError, match=msg):
        TrussMaterial(**(OK | kw))


def test_material_defaults():
    assert TrussMaterial(**OK).tension_only is False and TrussMaterial(**OK).law_id == 0
    assert TrussMaterial(**OK, tension_only=True).law_id == 1
    toe = TrussMaterial("toe_linear", E=300.0, area=20.0)
    assert toe.tension_only is True and toe.law_id == 2 and toe.axial_stiffness == 6000.0


def test_response_input_errors():
    mat = MATS["linear"]
    pts = np.array([[0.0, 0, 0], [1.0, 0, 0], [1.0, 0, 0]])
    u = np.zeros_like(pts)
    with pytest.raises(MeshError, match=r"zero length, e.g. element 1 \(nodes 1 and 2\)"):
        truss_response(pts, [[0, 1], [1, 2]], u, mat)
    with pytest.raises(ValueError, match=r"shape \(nel, 2\)"):
        truss_response(pts, [[0, 1, 2]], u, mat)
    with pytest.raises(ValueError, match=r"outside \[0, 2\]"):
        truss_response(pts, [[0, 3]], u, mat)
    with pytest.raises(ValueError, match=r"u must have shape \(3, 3\)"):
        truss_response(pts, [[0, 1]], np.zeros((2, 3)), mat)
    with pytest.raises(ValueError, match=r"2 truss materials for 1 elements"):
        truss_response(pts, [[0, 1]], u, [mat, mat])
    with pytest.raises(ValueError, match=r"material_index must lie in \[0, 1\]"):
        truss_response(pts, [[0, 1]], u, [mat, mat], material_index=np.array([2]))


def test_mixed_materials_in_one_block():
    """Per-element laws in one call equal separate calls (exactly)."""
    points, conn, u = elements_at_strain([0.04, 0.1, -0.02], 0.01, seed=7)
    mats = list(MATS.values())
    r = truss_response(points, conn, u, mats, material_index=np.array([2, 0, 1]))
    for e, m in enumerate([2, 0, 1]):
        s = truss_response(points, conn[e:e + 1], u, mats[m])
        assert np.array_equal(r.fe[e], s.fe[0]) and np.array_equal(r.Ke[e], s.Ke[0])
