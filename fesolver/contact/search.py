"""Contact search: the closest master facet of each slave point, through a uniform bucket grid.

For deformable-to-deformable node-to-surface contact: the master surface is a set of tri3, tri6 or quad4
facets (VTK node order, outward normal by the right-hand rule on the node order); each slave point gets its
closest point on the master surface within a search radius, the local coordinates there, the unit normal
and the signed gap. The maths is in :mod:`fesolver.contact._search_kernels`.

Examples
--------
>>> import numpy as np
>>> pts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
>>> cs = ContactSearch(np.array([[0, 1, 2]]), "tri3")
>>> cs.update(pts)
>>> cp = cs.closest(np.array([[0.25, 0.25, -0.1], [5.0, 5.0, 5.0]]), radius=1.0)
>>> cp.facet.tolist(), round(float(cp.gap[0]), 12)
([0, -1], -0.1)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..errors import FesolverError
from . import _search_kernels as K

__all__ = ["ContactSearch", "ClosestPoints", "ContactSearchError", "FACET_TYPES", "project_to_facets"]

log = logging.getLogger(__name__)

#: facet type name -> (kernel code, nodes per facet)
FACET_TYPES = {"tri3": (K.TRI3, 3), "tri6": (K.TRI6, 6), "quad4": (K.QUAD4, 4)}

# the grid never has more cells than this many per facet (closed surfaces would otherwise fill a volume)
_MAX_CELLS_PER_FACET = 8


class ContactSearchError(FesolverError):
    """The contact search was given arrays of the wrong shape or type, or was used before ``update``."""


@dataclass(frozen=True)
class ClosestPoints:
    """Closest points of ``n`` slave points on the master surface.

    Attributes
    ----------
    facet : (n,) int64
        Master facet (row of ``master_conn``) holding the closest point; ``-1`` if none lies within the
        search radius (the other fields are then NaN).
    xi : (n, 2) float64
        Local coordinates ``(xi, eta)`` of the closest point on that facet (reference cell of
        :mod:`fesolver.elements.facets`).
    point : (n, 3) float64, mm
        The closest point ``x_c``.
    normal : (n, 3) float64
        Outward unit normal of the facet at ``x_c`` (right-hand rule on the facet's node order).
    gap : (n,) float64, mm
        Signed gap ``(x_s - x_c) . n``; negative = penetration.
    """

    facet: np.ndarray
    xi: np.ndarray
    point: np.ndarray
    normal: np.ndarray
    gap: np.ndarray

    @property
    def found(self) -> np.ndarray:
        """(n,) bool: a facet was found within the radius."""
        return self.facet >= 0


def _facet_type(master_type) -> str:
    name = getattr(master_type, "name", master_type)
    if not isinstance(name, str) or name not in FACET_TYPES:
        raise ContactSearchError(f"master_type must be one of {sorted(FACET_TYPES)}, got {master_type!r}")
    return name


def _points(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ContactSearchError(f"{what} must have shape (n, 3), got {a.shape}")
    if not np.issubdtype(a.dtype, np.floating) and not np.issubdtype(a.dtype, np.integer):
        raise ContactSearchError(f"{what} must be a real array, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


class ContactSearch:
    """Closest-point search on a master surface of tri3, tri6 or quad4 facets.

    Parameters
    ----------
    master_conn : (nf, nen) int array
        Master facets, node indices into the point array given to :meth:`update` (VTK node order;
        ``nen`` = 3, 6 or 4).
    master_type : {"tri3", "tri6", "quad4"} or an ElementType with that ``name``
    cell_size : float, mm, optional
        Edge of the grid cells. Default: the mean of the facets' largest bounding-box edge, recomputed at
        every :meth:`update`. Raised if the grid would have more than 8 cells per facet.

    Notes
    -----
    :meth:`update` (O(nf)) re-buckets the facets at their current coordinates; call it whenever the
    master surface has moved. :meth:`closest` then costs O(1) facet projections per slave point for a
    radius of the order of the cell size.
    """

    def __init__(self, master_conn, master_type, cell_size: float | None = None):
        self.type = _facet_type(master_type)
        self._code, nen = FACET_TYPES[self.type]
        conn = np.asarray(master_conn)
        if conn.ndim != 2 or conn.shape[1] != nen:
            raise ContactSearchError(f"master_conn of {self.type} facets must have shape (nf, {nen}), "
                                     f"got {conn.shape}")
        if conn.shape[0] == 0:
            raise ContactSearchError("master_conn has no facets")
        if not np.issubdtype(conn.dtype, np.integer):
            raise ContactSearchError(f"master_conn must be an integer array, got dtype {conn.dtype}")
        if conn.min() < 0:
            raise ContactSearchError("master_conn has negative node indices")
        self.conn = np.ascontiguousarray(conn, dtype=np.int64)
        if cell_size is not None and not (np.isfinite(cell_size) and cell_size > 0):
            raise ContactSearchError(f"cell_size must be a positive number of mm, got {cell_size!r}")
        self._cell_size_arg = None if cell_size is None else float(cell_size)
        self.points: np.ndarray | None = None
        self.cell_size: float | None = None

    @property
    def n_facets(self) -> int:
        return self.conn.shape[0]

    def update(self, master_points) -> None:
        """Rebuild the bucket grid from the current master coordinates.

        Parameters
        ----------
        master_points : (nn, 3) float64, mm
            Current coordinates of the nodes ``master_conn`` refers to.
        """
        pts = _points(master_points, "master_points")
        if self.conn.max() >= pts.shape[0]:
            raise ContactSearchError(f"master_conn refers to node {int(self.conn.max())} but master_points has "
                                     f"only {pts.shape[0]} rows")
        if not np.all(np.isfinite(pts[self.conn])):
            raise ContactSearchError("master_points of the master facets are not all finite")
        nf = self.n_facets
        bbox = np.empty((nf, 6))
        K.facet_bboxes(self._code, pts, self.conn, bbox)
        lo = bbox[:, :3].min(axis=0)
        hi = bbox[:, 3:].max(axis=0)
        h = self._cell_size_arg
        if h is None:
            h = float(np.mean(np.max(bbox[:, 3:] - bbox[:, :3], axis=1)))
        ext = np.maximum(hi - lo, 0.0)
        h = max(h, 1e-9 * float(ext.max()), 1e-300)
        dims = np.maximum(np.ceil(ext / h).astype(np.int64), 1)
        cap = _MAX_CELLS_PER_FACET * nf + 64
        if float(np.prod(dims.astype(float))) > cap:
            h *= (float(np.prod(dims.astype(float))) / cap) ** (1.0 / 3.0)
            dims = np.maximum(np.ceil(ext / h).astype(np.int64), 1)
            while float(np.prod(dims.astype(float))) > cap:
                h *= 1.05
                dims = np.maximum(np.ceil(ext / h).astype(np.int64), 1)
        # a facet on the upper face falls into the last cell, not one past it
        dims = np.where(lo + dims * h <= hi, dims + 1, dims)
        self.cell_start, self.cell_items = K.build_grid(bbox, lo, h, dims)
        self.points, self.bbox, self.lo, self.dims, self.cell_size = pts, bbox, lo, dims, h
        log.debug("contact grid: %d facets, cell %.4g mm, %s cells, %d entries", nf, h, dims.tolist(),
                  self.cell_items.size)

    def closest(self, slave_points, radius: float, hint=None) -> ClosestPoints:
        """Closest master point of each slave point within ``radius``.

        Parameters
        ----------
        slave_points : (n, 3) float64, mm
            Current coordinates of the slave points.
        radius : float, mm
            Search radius: facets farther than this (Euclidean distance to their closest point) are ignored.
            Keep it of the order of the cell size; the cost grows with ``(radius / cell_size)^3`` for points
            with nothing nearby.
        hint : (n,) int array, optional
            A first guess of each point's facet (-1 or out of range: none), typically the previous search's
            ``facet`` for the same points: a good guess bounds the search from the start and saves most
            projections. It only changes the cost, never the answer.

        Returns
        -------
        ClosestPoints
            Ties (a point equally far from several facets, e.g. nearest to a shared edge) go to the lowest
            facet id.
        """
        if self.points is None:
            raise ContactSearchError("call update(master_points) before closest()")
        xs = _points(slave_points, "slave_points")
        radius = float(radius)
        if not radius >= 0.0:
            raise ContactSearchError(f"radius must be >= 0 mm, got {radius}")
        n = xs.shape[0]
        if hint is None:
            hint = np.full(n, -1, dtype=np.int64)
        else:
            hint = np.ascontiguousarray(hint, dtype=np.int64)
            if hint.shape != (n,):
                raise ContactSearchError(f"hint must have shape ({n},) like the slave points, got {hint.shape}")
        facet = np.empty(n, dtype=np.int64)
        res = np.empty((n, 9))
        K.closest_in_grid(self._code, self.points, self.conn, self.bbox, self.lo, self.cell_size, self.dims,
                          self.cell_start, self.cell_items, xs, radius, hint, facet, res)
        return _pack(facet, res)

    def closest_brute_force(self, slave_points, radius: float = np.inf) -> ClosestPoints:
        """Same as :meth:`closest` by trying every facet (O(n nf)): the reference for tests and benchmarks."""
        if self.points is None:
            raise ContactSearchError("call update(master_points) before closest_brute_force()")
        xs = _points(slave_points, "slave_points")
        n = xs.shape[0]
        facet = np.empty(n, dtype=np.int64)
        res = np.empty((n, 9))
        K.closest_brute_force(self._code, self.points, self.conn, xs, float(radius), facet, res)
        return _pack(facet, res)


def project_to_facets(points, conn, facet_type, facet, slave_points) -> ClosestPoints:
    """Closest point of ``slave_points[i]`` on the given facet ``conn[facet[i]]`` (no search).

    Parameters
    ----------
    points : (nn, 3) float64, mm
    conn : (nf, nen) int array
    facet_type : {"tri3", "tri6", "quad4"}
    facet : (n,) int array
    slave_points : (n, 3) float64, mm
    """
    name = _facet_type(facet_type)
    code, nen = FACET_TYPES[name]
    pts = _points(points, "points")
    conn = np.ascontiguousarray(conn, dtype=np.int64)
    if conn.ndim != 2 or conn.shape[1] != nen:
        raise ContactSearchError(f"conn of {name} facets must have shape (nf, {nen}), got {conn.shape}")
    xs = _points(slave_points, "slave_points")
    facet = np.ascontiguousarray(facet, dtype=np.int64)
    if facet.shape != (xs.shape[0],):
        raise ContactSearchError(f"facet must have shape ({xs.shape[0]},), got {facet.shape}")
    out = np.empty((xs.shape[0], 10))
    K.project_points(code, pts, conn, facet, xs, out)
    return _pack(facet.copy(), out[:, :9])


def _pack(facet, res) -> ClosestPoints:
    return ClosestPoints(facet=facet, xi=res[:, 0:2].copy(), point=res[:, 2:5].copy(), normal=res[:, 5:8].copy(),
                         gap=res[:, 8].copy())
