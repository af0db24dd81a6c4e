"""Trilinear hexahedron (8 nodes, VTK order: bottom face 0-3 counter-clockwise, then top face 4-7)."""

from __future__ import annotations

import numpy as np

from .base import ElementType
from .quadrature import gauss_hex

_NODES = np.array(
    [[-1.0, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1], [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]]
)


def _shape(xi: np.ndarray) -> np.ndarray:
    return 0.125 * np.prod(1.0 + xi[:, None, :] * _NODES[None, :, :], axis=2)


def _dshape(xi: np.ndarray) -> np.ndarray:
    f = 1.0 + xi[:, None, :] * _NODES[None, :, :]  # (nqp, 8, 3)
    dN = np.empty_like(f)
    dN[..., 0] = 0.125 * _NODES[:, 0] * f[..., 1] * f[..., 2]
    dN[..., 1] = 0.125 * _NODES[:, 1] * f[..., 0] * f[..., 2]
    dN[..., 2] = 0.125 * _NODES[:, 2] * f[..., 0] * f[..., 1]
    return dN


def _rule(degree: int):
    return gauss_hex(max(1, (degree + 2) // 2))


HEX8 = ElementType(
    name="hex8",
    meshio_type="hexahedron",
    dim=3,
    ref_nodes=_NODES.copy(),
    shape_fn=_shape,
    dshape_fn=_dshape,
    quadrature=_rule,
    stiffness_degree=3,  # 2x2x2 Gauss (full integration)
    faces=((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)),
    face_type="quad4",
    corner_nodes=8,
)
