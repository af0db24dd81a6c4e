"""The element-type description shared by all elements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ElementType:
    """Metadata and shape functions of one Lagrange element on its reference cell.

    Attributes
    ----------
    name : str
        fesolver's name (``tet4``, ``tet10``, ``hex8``, ``tri3``, ``tri6``, ``quad4``, ``line2``).
    meshio_type : str
        The meshio/VTK cell-type name (``tetra``, ``tetra10``, ``hexahedron``, ...). Node order is VTK's.
    dim : int
        Dimension of the reference cell (3 for solids, 2 for facets, 1 for lines).
    ref_nodes : (nen, dim) float64
        Reference coordinates of the nodes.
    faces : tuple of tuples
        Local node lists of the element's faces, ordered so that the right-hand normal points out of the
        element (solids only).
    face_type : str or None
        fesolver name of the faces' element type.
    quadrature : Callable[[int], tuple]
        ``quadrature(degree) -> (points, weights)`` on the reference cell.
    stiffness_degree : int
        Quadrature degree used for the stiffness matrix (full integration of an affine element).
    """

    name: str
    meshio_type: str
    dim: int
    ref_nodes: np.ndarray
    shape_fn: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    dshape_fn: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    quadrature: Callable[[int], tuple[np.ndarray, np.ndarray]] = field(repr=False)
    stiffness_degree: int
    faces: tuple[tuple[int, ...], ...] = ()
    face_type: str | None = None
    corner_nodes: int = 0

    @property
    def n_nodes(self) -> int:
        return self.ref_nodes.shape[0]

    def __reduce__(self):
        # element types are singletons compared by identity: pickling and deep copies (e.g. of a cached
        # model) must give back the registered instance, not a new one
        from . import get_element

        return get_element, (self.name,)

    def shape(self, xi: np.ndarray) -> np.ndarray:
        """Shape functions at reference points ``xi (nqp, dim)`` -> ``(nqp, nen)``."""
        return self.shape_fn(np.atleast_2d(np.asarray(xi, dtype=np.float64)))

    def dshape(self, xi: np.ndarray) -> np.ndarray:
        """Reference gradients at ``xi (nqp, dim)`` -> ``(nqp, nen, dim)``."""
        return self.dshape_fn(np.atleast_2d(np.asarray(xi, dtype=np.float64)))

    def rule(self, degree: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature points and weights; default degree is :attr:`stiffness_degree`."""
        return self.quadrature(self.stiffness_degree if degree is None else degree)
