"""Convergence to a manufactured solution on the unit cube: L2 displacement error rates.

Exact field: every component a product of shifted sines, u_i = A_i prod_d sin(k x_d + phi_id) (smooth, not
a polynomial, no symmetry that could hide an error). Body force b = -div sigma(u) is evaluated at the
physical quadrature points and integrated with :func:`fesolver.assembly.body_force_vector`; the exact
displacement is prescribed at every boundary node; the system is assembled with the low-level API
(``SparsityPattern``, ``assemble_stiffness``) and solved with ``solve_linear``. The L2 error
||u_h - u|| / ||u|| uses a rule of degree 2p + 2 (p: the element order).

Expected rates: h^2 for tet4 and hex8, h^3 for tet10 (fitted slope within 0.2), errors strictly
decreasing. The ``slow`` study adds one refinement per element type.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from meshgen import box_hex, hex_to_tet, nodes_on_box_boundary, tet4_to_tet10

from fesolver.assembly import SparsityPattern, assemble_stiffness, body_force_vector, quadrature_points
from fesolver.elements import HEX8, TET4, TET10
from fesolver.materials import LinearElastic
from fesolver.solvers import LinearSolverOptions, solve_linear

MAT = LinearElastic(E=1.0, nu=0.3)
K_WAVE = 0.5 * np.pi  # a quarter wave per unit length: errors are in the asymptotic range from h = 1/4
#: (amplitude, phases per direction) of each displacement component
FIELD = [
    (1.0, (0.3, 1.1, 0.5)),
    (0.7, (1.4, 0.2, 0.9)),
    (-0.5, (0.8, 0.6, 1.7)),
]
SLOPE_TOL = 0.2


def exact_derivative(x: np.ndarray, orders) -> np.ndarray:
    """``d^{|n|} u / dx^n`` at points ``x (..., 3)`` for derivative orders ``n = (nx, ny, nz)``: (..., 3)."""
    out = np.empty(x.shape[:-1] + (3,))
    for i, (amp, phases) in enumerate(FIELD):
        v = amp * np.ones(x.shape[:-1])
        for d in range(3):
            n = orders[d]
            v = v * K_WAVE**n * np.sin(K_WAVE * x[..., d] + phases[d] + n * np.pi / 2)
        out[..., i] = v
    return out


def exact_u(x):
    return exact_derivative(x, (0, 0, 0))


def exact_body_force(x):
    """b = -(mu lap u + (lam + mu) grad div u)."""
    lam, mu = MAT.lame
    hess = {}
    for j in range(3):
        for k in range(j, 3):
            o = [0, 0, 0]
            o[j] += 1
            o[k] += 1
            hess[(j, k)] = hess[(k, j)] = exact_derivative(x, o)  # d2 u_i / dx_j dx_k, all i
    lap = sum(hess[(j, j)] for j in range(3))
    grad_div = np.stack([sum(hess[(i, j)][..., j] for j in range(3)) for i in range(3)], axis=-1)
    return -(mu * lap + (lam + mu) * grad_div)


def unit_cube(etype, n):
    points, hexes = box_hex(n)
    if etype is HEX8:
        return points, hexes
    tets = hex_to_tet(points, hexes)
    if etype is TET10:
        return tet4_to_tet10(points, tets)
    return points, tets


_HAS_FORMULATION = "formulations" in inspect.signature(assemble_stiffness).parameters


def solve_manufactured(etype, n, formulation=None):
    """Relative L2 displacement error on the unit cube with ``n^3`` cells (h = 1 / n)."""
    points, cells = unit_cube(etype, n)
    nn, nel = points.shape[0], cells.shape[0]
    p = 2 if etype is TET10 else 1
    lam, mu = MAT.lame
    pattern = SparsityPattern(nn, [cells])
    kw = {} if formulation is None else {"formulations": [formulation]}
    K = assemble_stiffness(pattern, points, [(etype, cells)], [np.full(nel, lam)], [np.full(nel, mu)], **kw)
    deg_f = 2 * p + 1  # body-force quadrature error well below the discretisation error
    xq, _ = quadrature_points(points, etype, cells, deg_f)
    f = body_force_vector(points, etype, cells, exact_body_force(xq), degree=deg_f)

    bnodes = nodes_on_box_boundary(points, (0, 0, 0), (1, 1, 1))
    fixed = (3 * bnodes[:, None] + np.arange(3)).ravel()
    u = np.zeros(3 * nn)
    u[fixed] = exact_u(points[bnodes]).ravel()
    free = np.setdiff1d(np.arange(3 * nn), fixed)
    K = K.tocsr()
    rhs = f[free] - K[free][:, fixed] @ u[fixed]
    u[free], _ = solve_linear(K[free][:, free], rhs, LinearSolverOptions(method="auto"))
    u = u.reshape(-1, 3)

    deg_e = 2 * p + 2
    xq, wdet = quadrature_points(points, etype, cells, deg_e)
    xi, _ = etype.rule(deg_e)
    uh = np.einsum("qa,eai->eqi", etype.shape(xi), u[cells])
    ue = exact_u(xq)
    return float(np.sqrt(np.sum(wdet * np.sum((uh - ue) ** 2, axis=-1)) / np.sum(wdet * np.sum(ue**2, axis=-1))))


def fitted_slope(ns, errs) -> float:
    """Least-squares slope of log(err) against log(h), h = 1 / n."""
    return float(np.polyfit(np.log(1.0 / np.asarray(ns, dtype=float)), np.log(errs), 1)[0])


def check_rate(label, etype, ns, expected, formulation=None):
    errs = [solve_manufactured(etype, n, formulation) for n in ns]
    slope = fitted_slope(ns, errs)
    detail = ", ".join(f"h=1/{n}: {e:.3e}" for n, e in zip(ns, errs, strict=True))
    assert all(b < a for a, b in zip(errs[:-1], errs[1:], strict=True)), f"{label}: errors do not decrease: {detail}"
    # fitted slope within 0.2 of the theoretical L2 rate
    assert abs(slope - expected) <= SLOPE_TOL, f"{label}: L2 slope {slope:.3f}, expected {expected} ({detail})"
    return slope, errs


_HEX8_FORMS = ["full", "incompatible"] if _HAS_FORMULATION else [None]
CASES = [
    pytest.param("tet4", TET4, (4, 8, 16), 2.0, None, id="tet4"),
    pytest.param("tet10", TET10, (2, 4, 8), 3.0, None, id="tet10"),
] + [pytest.param(f"hex8-{f or 'default'}", HEX8, (4, 8, 16), 2.0, f, id=f"hex8-{f or 'default'}")
     for f in _HEX8_FORMS]


@pytest.mark.parametrize("label, etype, ns, expected, formulation", CASES)
def test_l2_convergence_rate(label, etype, ns, expected, formulation):
    check_rate(label, etype, ns, expected, formulation)


SLOW_CASES = [
    pytest.param("tet4", TET4, (4, 8, 16, 32), 2.0, None, id="tet4"),
    pytest.param("tet10", TET10, (2, 4, 8, 16), 3.0, None, id="tet10"),
] + [pytest.param(f"hex8-{f or 'default'}", HEX8, (4, 8, 16, 32), 2.0, f, id=f"hex8-{f or 'default'}")
     for f in _HEX8_FORMS]


@pytest.mark.slow
@pytest.mark.parametrize("label, etype, ns, expected, formulation", SLOW_CASES)
def test_l2_convergence_rate_fine(label, etype, ns, expected, formulation):
    check_rate(label, etype, ns, expected, formulation)


def test_manufactured_body_force_is_consistent():
    """The hand-derived body force equals -div sigma by central differences (guards the test itself)."""
    rng = np.random.default_rng(3)
    x = rng.random((5, 3))
    lam, mu = MAT.lame
    h = 1e-4

    def sigma(y):
        g = np.stack([exact_derivative(y, tuple(int(d == j) for d in range(3))) for j in range(3)], axis=-1)
        eps = 0.5 * (g + np.swapaxes(g, -1, -2))  # g[..., i, j] = du_i / dx_j
        return lam * np.trace(eps, axis1=-2, axis2=-1)[..., None, None] * np.eye(3) + 2 * mu * eps

    div = np.zeros((5, 3))
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        div += (sigma(x + e)[..., :, j] - sigma(x - e)[..., :, j]) / (2 * h)
    b = exact_body_force(x)
    # central differences: O(h^2) ~ 1e-7 relative
    assert np.allclose(b, -div, rtol=1e-6, atol=1e-6 * np.abs(b).max()), (b, -div)

