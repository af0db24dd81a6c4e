"""Quadratic tetrahedron (10 nodes, VTK order: corners 0-3, then mid-edges 01, 12, 02, 03, 13, 23)."""

from __future__ import annotations

import numpy as np

from .base import ElementType
from .quadrature import tet_rule

_EDGES = ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))
# d L_i / d (x, y, z) for barycentric L0 = 1 - x - y - z, L1 = x, L2 = y, L3 = z
_DL = np.array([[-1.0, -1.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _bary(xi: np.ndarray) -> np.ndarray:
    x, y, z = xi[:, 0], xi[:, 1], xi[:, 2]
    return np.column_stack([1.0 - x - y - z, x, y, z])


def _shape(xi: np.ndarray) -> np.ndarray:
    L = _bary(xi)
    N = np.empty((xi.shape[0], 10))
    N[:, :4] = L * (2.0 * L - 1.0)
    for k, (a, b) in enumerate(_EDGES):
        N[:, 4 + k] = 4.0 * L[:, a] * L[:, b]
    return N


def _dshape(xi: np.ndarray) -> np.ndarray:
    L = _bary(xi)
    dN = np.empty((xi.shape[0], 10, 3))
    for i in range(4):
        dN[:, i, :] = (4.0 * L[:, i] - 1.0)[:, None] * _DL[i]
    for k, (a, b) in enumerate(_EDGES):
        dN[:, 4 + k, :] = 4.0 * (L[:, a, None] * _DL[b] + L[:, b, None] * _DL[a])
    return dN


_corners = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
TET10 = ElementType(
    name="tet10",
    meshio_type="tetra10",
    dim=3,
    ref_nodes=np.vstack([_corners, [(_corners[a] + _corners[b]) / 2 for a, b in _EDGES]]),
    shape_fn=_shape,
    dshape_fn=_dshape,
    quadrature=tet_rule,
    stiffness_degree=2,
    faces=((0, 2, 1, 6, 5, 4), (0, 1, 3, 4, 8, 7), (1, 2, 3, 5, 9, 8), (0, 3, 2, 7, 9, 6)),
    face_type="tri6",
    corner_nodes=4,
)
