"""Quadrature rules on the reference cells.

Reference cells (the same as the element shape functions use):

* line ``[-1, 1]``
* triangle ``{x, y >= 0, x + y <= 1}`` (area 1/2)
* quadrilateral ``[-1, 1]^2``
* tetrahedron ``{x, y, z >= 0, x + y + z <= 1}`` (volume 1/6)
* hexahedron ``[-1, 1]^3``

Every rule returns ``(points, weights)`` with ``points`` of shape ``(nqp, dim)`` and weights summing to
the reference measure.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gauss_line", "gauss_quad", "gauss_hex", "tri_rule", "tet_rule"]


def gauss_line(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre rule with ``n`` points on ``[-1, 1]`` (exact to degree ``2n - 1``)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return x.reshape(-1, 1), w


def gauss_quad(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss-Legendre rule with ``n x n`` points on ``[-1, 1]^2``."""
    x, w = np.polynomial.legendre.leggauss(n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    W = np.outer(w, w)
    return np.column_stack([X.ravel(), Y.ravel()]), W.ravel()


def gauss_hex(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss-Legendre rule with ``n^3`` points on ``[-1, 1]^3``."""
    x, w = np.polynomial.legendre.leggauss(n)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    W = w[:, None, None] * w[None, :, None] * w[None, None, :]
    return np.column_stack([X.ravel(), Y.ravel(), Z.ravel()]), W.ravel()


def _collapsed(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Stroud conical product (Duffy collapse) of Gauss-Jacobi rules onto the simplex.

    Exact for polynomials of degree ``2n - 1``; all weights positive.
    """
    from scipy.special import roots_jacobi

    # 1D rules on [0, 1] with weight (1 - t)^alpha, alpha = dim - 1 - k for the k-th direction.
    rules = []
    for k in range(dim):
        alpha = dim - 1 - k
        t, w = roots_jacobi(n, alpha, 0.0)
        rules.append(((t + 1.0) / 2.0, w / 2.0 ** (alpha + 1)))
    grids = np.meshgrid(*[r[0] for r in rules], indexing="ij")
    wgrid = np.ones_like(grids[0])
    for k, r in enumerate(rules):
        shape = [1] * dim
        shape[k] = n
        wgrid = wgrid * r[1].reshape(shape)
    t = [g.ravel() for g in grids]
    pts = np.zeros((t[0].size, dim))
    scale = np.ones(t[0].size)
    for k in range(dim):
        pts[:, k] = t[k] * scale
        scale = scale * (1.0 - t[k])
    return pts, wgrid.ravel()


def tri_rule(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Triangle rule exact to ``degree`` (symmetric rules up to 2, collapsed Gauss beyond)."""
    if degree <= 1:
        return np.array([[1.0 / 3.0, 1.0 / 3.0]]), np.array([0.5])
    if degree == 2:
        a, b = 1.0 / 6.0, 2.0 / 3.0
        return np.array([[a, a], [b, a], [a, b]]), np.full(3, 1.0 / 6.0)
    return _collapsed((degree + 2) // 2, 2)


def tet_rule(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Tetrahedron rule exact to ``degree`` (symmetric rules up to 2, collapsed Gauss beyond)."""
    if degree <= 1:
        return np.array([[0.25, 0.25, 0.25]]), np.array([1.0 / 6.0])
    if degree == 2:
        a = 0.1381966011250105
        b = 0.5854101966249685
        pts = np.array([[a, a, a], [b, a, a], [a, b, a], [a, a, b]])
        return pts, np.full(4, 1.0 / 24.0)
    return _collapsed((degree + 2) // 2, 3)
