"""Two-body test models for surface-to-surface contact: stacked blocks (hex8, tet4, tet10)."""

from __future__ import annotations

import numpy as np
from meshgen import box_hex, hex_to_tet, tet4_to_tet10

from fesolver.elements import HEX8, TET4, TET10
from fesolver.loads import FixedDisplacement, Selection
from fesolver.mesh import Mesh, SolidBlock


def _body(n, lo, hi, kind):
    pts, hexes = box_hex(n, lo=lo, hi=hi)
    if kind == "hex8":
        return pts, hexes, HEX8
    tets = hex_to_tet(pts, hexes)
    if kind == "tet4":
        return pts, tets, TET4
    pts10, tets10 = tet4_to_tet10(pts, tets)
    return pts10, tets10, TET10


def stacked_blocks(nl=(4, 4, 2), nu=(7, 7, 2), L=10.0, H=5.0, kind="hex8", shift=(0.0, 0.0), Lu=None):
    """Lower block ``[0, L]^2 x [0, H]`` and upper block ``[s, s + Lu]^2 x [H, 2 H]`` with separate nodes.

    Cell sets ``lower``/``upper``; facet sets ``lower_top`` and ``upper_bottom`` (the interface faces).
    """
    Lu = L if Lu is None else Lu
    p1, c1, et = _body(nl, (0.0, 0.0, 0.0), (L, L, H), kind)
    p2, c2, _ = _body(nu, (shift[0], shift[1], H), (shift[0] + Lu, shift[1] + Lu, 2 * H), kind)
    pts = np.vstack([p1, p2])
    c2 = c2 + p1.shape[0]
    mesh = Mesh(pts, [SolidBlock(et, np.vstack([c1, c2]))],
                cell_sets={"lower": {0: np.arange(c1.shape[0])}, "upper": {0: c1.shape[0] + np.arange(c2.shape[0])}})
    up = np.zeros(pts.shape[0], dtype=bool)
    up[p1.shape[0]:] = True
    for ft, conn, _ in mesh.boundary_facets():
        at = np.all(np.abs(pts[conn][:, :, 2] - H) < 1e-9, axis=1)
        mesh.facet_sets["lower_top"] = [(ft, conn[at & ~up[conn[:, 0]]])]
        mesh.facet_sets["upper_bottom"] = [(ft, conn[at & up[conn[:, 0]]])]
    return mesh


def stacked_bcs(L=10.0, H=5.0, top=(None, None, -0.05), shift=(0.0, 0.0), Lu=None):
    """Bottom on rollers (z = 0) with the lateral rigid motions of the lower block held; the top face of the
    upper block moved by ``top`` (components that are None stay free); the upper block's lateral rigid
    motions held on its axis when its x and y are free."""
    Lu = L if Lu is None else Lu
    sx, sy = shift
    bcs = [FixedDisplacement(Selection(box=((-1, -1, 0), (L + 1, L + 1, 0))), {2: 0.0}, "bottom"),
           FixedDisplacement(Selection(box=((0, 0, 0), (0, 0, 0.5 * H))), {0: 0.0, 1: 0.0}, "axis"),
           FixedDisplacement(Selection(box=((L, 0, 0), (L, 0, 0.5 * H))), {1: 0.0}, "x_end")]
    fixed = {i: v for i, v in enumerate(top) if v is not None}
    bcs.append(FixedDisplacement(Selection(box=((sx - 1, sy - 1, 2 * H), (sx + Lu + 1, sy + Lu + 1, 2 * H))),
                                 fixed, "top"))
    if top[0] is None:
        bcs.append(FixedDisplacement(Selection(box=((sx, sy, H), (sx, sy, 2 * H))), {0: 0.0, 1: 0.0}, "up_axis"))
        bcs.append(FixedDisplacement(Selection(box=((sx + Lu, sy, H), (sx + Lu, sy, 2 * H))), {1: 0.0}, "up_x"))
    return bcs


def rigid_contact_tangent(system, surface, u, h):
    """``(K, Kfd)``: the columns of the contact nodes' DOFs of the tangent that ``surface`` (a rigid surface
    contact) assembles at ``u``, and their central differences (step ``h`` mm) of its internal force."""

    def force(v):
        f = np.zeros(system.n_dofs)
        surface.add(system, v.reshape(-1, 3), f, None)
        return f

    data = system.pattern.zeros()
    surface.add(system, u.reshape(-1, 3), np.zeros(system.n_dofs), data)
    dofs = (3 * surface.nodes[:, None] + np.arange(3)).ravel()
    K = system.pattern.matrix(data).toarray()[:, dofs]
    Kfd = np.zeros((system.n_dofs, dofs.size))
    for j, d in enumerate(dofs):
        e = np.zeros(system.n_dofs)
        e[d] = h
        Kfd[:, j] = (force(u + e) - force(u - e)) / (2 * h)
    return K, Kfd
