"""Linear tetrahedron (4 nodes, VTK order)."""

from __future__ import annotations

import numpy as np

from .base import ElementType
from .quadrature import tet_rule


def _shape(xi: np.ndarray) -> np.ndarray:
    x, y, z = xi[:, 0], xi[:, 1], xi[:, 2]
    return np.column_stack([1.0 - x - y - z, x, y, z])


def _dshape(xi: np.ndarray) -> np.ndarray:
    d = np.array([[-1.0, -1.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return np.broadcast_to(d, (xi.shape[0], 4, 3)).copy()


TET4 = ElementType(
    name="tet4",
    meshio_type="tetra",
    dim=3,
    ref_nodes=np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]),
    shape_fn=_shape,
    dshape_fn=_dshape,
    quadrature=tet_rule,
    stiffness_degree=1,
    faces=((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)),
    face_type="tri3",
    corner_nodes=4,
)
