"""Element types: shape functions, reference gradients, faces and quadrature rules.

Node ordering follows VTK/meshio everywhere, so meshes read with meshio need no permutation.

>>> from fesolver.elements import get_element
>>> get_element("tetra10").n_nodes
10
"""

from __future__ import annotations

from .base import ElementType
from .facets import LINE2, QUAD4, TRI3, TRI6
from .hex8 import HEX8
from .tet4 import TET4
from .tet10 import TET10

__all__ = ["ElementType", "TET4", "TET10", "HEX8", "TRI3", "TRI6", "QUAD4", "LINE2",
           "get_element", "SOLID_TYPES", "FACET_TYPES", "LINE_TYPES"]

_ALL = (TET4, TET10, HEX8, TRI3, TRI6, QUAD4, LINE2)
_BY_NAME = {e.name: e for e in _ALL} | {e.meshio_type: e for e in _ALL}

#: meshio cell-type names of the solid, facet and line elements fesolver supports
SOLID_TYPES = frozenset({"tetra", "tetra10", "hexahedron"})
FACET_TYPES = frozenset({"triangle", "triangle6", "quad"})
LINE_TYPES = frozenset({"line"})


def get_element(name: str) -> ElementType:
    """The element type named ``name`` (fesolver name such as ``tet10`` or meshio name such as ``tetra10``)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"unsupported element type {name!r}; supported: {sorted(set(_BY_NAME))}"
        ) from None
