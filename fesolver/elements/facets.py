"""Surface facets (tri3, tri6, quad4) and the two-node line (line2), VTK node order.

Facets carry surface loads (pressure, traction) and, later, contact; lines carry trusses.
"""

from __future__ import annotations

import numpy as np

from .base import ElementType
from .quadrature import gauss_line, gauss_quad, tri_rule


def _tri3_shape(xi):
    x, y = xi[:, 0], xi[:, 1]
    return np.column_stack([1.0 - x - y, x, y])


def _tri3_dshape(xi):
    d = np.array([[-1.0, -1.0], [1.0, 0.0], [0.0, 1.0]])
    return np.broadcast_to(d, (xi.shape[0], 3, 2)).copy()


_TRI_EDGES = ((0, 1), (1, 2), (2, 0))
_DLT = np.array([[-1.0, -1.0], [1.0, 0.0], [0.0, 1.0]])


def _tri6_shape(xi):
    L = _tri3_shape(xi)
    N = np.empty((xi.shape[0], 6))
    N[:, :3] = L * (2.0 * L - 1.0)
    for k, (a, b) in enumerate(_TRI_EDGES):
        N[:, 3 + k] = 4.0 * L[:, a] * L[:, b]
    return N


def _tri6_dshape(xi):
    L = _tri3_shape(xi)
    dN = np.empty((xi.shape[0], 6, 2))
    for i in range(3):
        dN[:, i, :] = (4.0 * L[:, i] - 1.0)[:, None] * _DLT[i]
    for k, (a, b) in enumerate(_TRI_EDGES):
        dN[:, 3 + k, :] = 4.0 * (L[:, a, None] * _DLT[b] + L[:, b, None] * _DLT[a])
    return dN


_QN = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def _quad4_shape(xi):
    return 0.25 * np.prod(1.0 + xi[:, None, :] * _QN[None], axis=2)


def _quad4_dshape(xi):
    f = 1.0 + xi[:, None, :] * _QN[None]
    dN = np.empty_like(f)
    dN[..., 0] = 0.25 * _QN[:, 0] * f[..., 1]
    dN[..., 1] = 0.25 * _QN[:, 1] * f[..., 0]
    return dN


def _line2_shape(xi):
    x = xi[:, 0]
    return np.column_stack([0.5 * (1.0 - x), 0.5 * (1.0 + x)])


def _line2_dshape(xi):
    d = np.array([[-0.5], [0.5]])
    return np.broadcast_to(d, (xi.shape[0], 2, 1)).copy()


_tri_nodes = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])

TRI3 = ElementType("tri3", "triangle", 2, _tri_nodes, _tri3_shape, _tri3_dshape, tri_rule, 2, corner_nodes=3)
TRI6 = ElementType(
    "tri6",
    "triangle6",
    2,
    np.vstack([_tri_nodes, [(_tri_nodes[a] + _tri_nodes[b]) / 2 for a, b in _TRI_EDGES]]),
    _tri6_shape,
    _tri6_dshape,
    tri_rule,
    4,
    corner_nodes=3,
)
QUAD4 = ElementType(
    "quad4", "quad", 2, _QN.copy(), _quad4_shape, _quad4_dshape,
    lambda d: gauss_quad(max(1, (d + 2) // 2)), 3, corner_nodes=4,
)
LINE2 = ElementType(
    "line2", "line", 1, np.array([[-1.0], [1.0]]), _line2_shape, _line2_dshape,
    lambda d: gauss_line(max(1, (d + 2) // 2)), 1, corner_nodes=2,
)
