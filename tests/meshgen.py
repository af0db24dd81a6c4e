"""Small structured-mesh generators shared by the verification tests.

Everything here is a pure function on NumPy arrays: ``points (nn, 3) float64`` and connectivities
``(nel, nen) int64`` in VTK node order (hex8: bottom face 0-3 counter-clockwise seen from above, then the top
face 4-7; tet10: corners, then mid-edges 01, 12, 02, 03, 13, 23).
"""

from __future__ import annotations

import numpy as np

#: Faces of a VTK hexahedron, each listed counter-clockwise seen from outside (outward right-hand normal).
HEX_FACES = np.array([(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)])
#: Reference coordinates of the VTK hexahedron nodes on ``[-1, 1]^3``.
HEX_REF = np.array(
    [[-1.0, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1], [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]]
)
#: Edges of a tetrahedron in the order of the VTK tet10 mid-edge nodes.
TET_EDGES = np.array([(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)])


def box_hex(n, lo=(0.0, 0.0, 0.0), hi=(1.0, 1.0, 1.0)):
    """A box ``[lo, hi]`` divided into ``nx * ny * nz`` equal hexahedra.

    Parameters
    ----------
    n : (nx, ny, nz) ints, or one int for all three directions
    lo, hi : corners of the box

    Returns
    -------
    points : ((nx+1)(ny+1)(nz+1), 3); node ``(i, j, k)`` has index ``i + (nx+1) * (j + (ny+1) * k)``
    hexes : (nx ny nz, 8), positively oriented
    """
    nx, ny, nz = (n, n, n) if np.isscalar(n) else n
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    axes = [np.linspace(lo[d], hi[d], m + 1) for d, m in enumerate((nx, ny, nz))]
    Z, Y, X = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    points = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    return points, grid_hexes(nx, ny, nz)


def grid_hexes(nx: int, ny: int, nz: int) -> np.ndarray:
    """Hexahedra of an ``nx * ny * nz`` logical grid whose node ``(i, j, k)`` is ``i + (nx+1)(j + (ny+1)k)``."""
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    i, j, k = i.ravel(), j.ravel(), k.ravel()

    def nid(di, dj, dk):
        return (i + di) + (nx + 1) * ((j + dj) + (ny + 1) * (k + dk))

    corners = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]
    return np.column_stack([nid(*c) for c in corners]).astype(np.int64)


def tet_volumes(points, tets) -> np.ndarray:
    """Signed volumes of the straight-sided tetrahedra ``tets[:, :4]`` (positive for VTK orientation)."""
    p = np.asarray(points)[np.asarray(tets)[:, :4]]
    return np.einsum("ei,ei->e", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p[:, 3] - p[:, 0]) / 6.0


def hex_to_tet(points, hexes) -> np.ndarray:
    """Split every hexahedron into 6 tetrahedra, conforming across shared faces, positively oriented.

    The split is the *pulling* triangulation ordered by global node number: each quadrilateral face is cut
    by the diagonal through its lowest-numbered node, and the hexahedron is the cone from its
    lowest-numbered node over the (two-triangle) faces that do not contain it. Two hexahedra sharing a face
    therefore cut it the same way, whatever their shapes and local orientations. On a structured grid
    (:func:`box_hex`) this is the Kuhn split around the diagonal 0-6 of every cell.

    Raises ``ValueError`` if a resulting tetrahedron has non-positive volume (a too distorted hexahedron).
    """
    hexes = np.asarray(hexes, dtype=np.int64)
    nh = hexes.shape[0]
    apex_local = np.argmin(hexes, axis=1)
    apex = hexes[np.arange(nh), apex_local]
    tets = []
    for face in HEX_FACES:
        q = hexes[:, face]  # (nh, 4), outward-oriented
        use = ~np.any(face[None, :] == apex_local[:, None], axis=1)
        if not use.any():
            continue
        q = q[use]
        m = np.argmin(q, axis=1)
        r = (m[:, None] + np.arange(4)[None, :]) % 4
        q = np.take_along_axis(q, r, axis=1)  # rolled so the lowest node comes first
        a = apex[use]
        # the face triangles (q0, q1, q2) and (q0, q2, q3) have outward normals, i.e. away from the apex:
        # reversing them makes the normal point to the apex, the VTK positive orientation
        tets.append(np.column_stack([q[:, 0], q[:, 2], q[:, 1], a]))
        tets.append(np.column_stack([q[:, 0], q[:, 3], q[:, 2], a]))
    tets = np.vstack(tets)
    vol = tet_volumes(points, tets)
    if np.any(vol <= 0.0):
        raise ValueError(f"hex_to_tet: {int(np.sum(vol <= 0))} tetrahedra with non-positive volume")
    return tets


def tet4_to_tet10(points, tets, project=None):
    """Add a node at the middle of every edge: tet4 -> tet10 (VTK mid-edge order 01, 12, 02, 03, 13, 23).

    Parameters
    ----------
    points : (nn, 3)
    tets : (nt, 4)
    project : callable, optional
        ``project(xyz (m, 3)) -> (m, 3)`` moves the new mid-edge nodes (e.g. onto a curved boundary);
        by default they stay at the edge midpoints (straight edges).

    Returns
    -------
    points10 : (nn + n_edges, 3); the first ``nn`` rows are ``points``
    tets10 : (nt, 10)
    """
    points = np.asarray(points, dtype=float)
    tets = np.asarray(tets, dtype=np.int64)
    e = np.sort(tets[:, TET_EDGES], axis=2).reshape(-1, 2)  # (nt*6, 2)
    edges, inv = np.unique(e, axis=0, return_inverse=True)
    mid = 0.5 * (points[edges[:, 0]] + points[edges[:, 1]])
    if project is not None:
        mid = np.asarray(project(mid), dtype=float)
    nn = points.shape[0]
    tets10 = np.hstack([tets, nn + inv.reshape(-1, 6)])
    return np.vstack([points, mid]), tets10


def extend_to_midnodes(tets10, nodes) -> np.ndarray:
    """A corner-node set of a tet10 mesh plus the mid-edge nodes of the edges with both ends in it.

    Use it to carry node sets (faces, lines) defined on the tet4 mesh over to :func:`tet4_to_tet10`'s mesh.
    """
    tets10 = np.asarray(tets10, dtype=np.int64)
    nodes = np.asarray(nodes, dtype=np.int64)
    inside = np.zeros(int(tets10.max()) + 1, dtype=bool)
    inside[nodes] = True
    ends = tets10[:, TET_EDGES]  # (nt, 6, 2)
    mids = tets10[:, 4:]
    both = inside[ends[..., 0]] & inside[ends[..., 1]]
    return np.union1d(nodes, mids[both])


def nodes_on_box_boundary(points, lo, hi, rtol: float = 1e-9) -> np.ndarray:
    """Indices of the nodes lying on a face of the axis-aligned box ``[lo, hi]``."""
    p = np.asarray(points)
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    tol = rtol * float(np.max(hi - lo))
    on = np.any((np.abs(p - lo) <= tol) | (np.abs(p - hi) <= tol), axis=1)
    return np.flatnonzero(on)
