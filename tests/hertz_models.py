"""Hertz contact models: an elastic quarter ball (gmsh tetrahedra) on an elastic quarter block (graded hex8)."""

from __future__ import annotations

import numpy as np
from meshgen import grid_hexes, hex_to_tet, tet4_to_tet10

from fesolver.elements import HEX8, TET4, TET10
from fesolver.mesh import Mesh, SolidBlock


def graded(h0, r_uniform, L, ratio):
    """Coordinates 0 .. L: spacing ``h0`` up to ``r_uniform``, then growing geometrically by ``ratio``."""
    x = list(np.arange(0.0, r_uniform + 1e-9, h0))
    h = h0
    while x[-1] < L:
        h *= ratio
        x.append(x[-1] + h)
    x = np.array(x)
    x[len(x) - 1] = L if x[-1] - L < 0.5 * h else x[-1]
    return x * (L / x[-1])


def quarter_block(h0, L, ratio, a):
    """Quarter block ``[0, L]^2 x [-L, 0]``: cubes of size ``h0`` for ``r < 1.5 a``, graded outside."""
    s = graded(h0, 1.5 * a, L, ratio)
    n = s.size - 1
    Z, Y, X = np.meshgrid(-s[::-1], s, s, indexing="ij")
    return np.column_stack([X.ravel(), Y.ravel(), Z.ravel()]), grid_hexes(n, n, n)


def quarter_ball(R, h_contact, a, order=2, h_far=None):
    """Quarter of the lower half of a ball of radius ``R`` centred at ``(0, 0, R)`` (touching z = 0 at the
    origin), x, y >= 0; gmsh tetrahedra of size ``h_contact`` within ``1.5 a`` of the origin, growing to
    ``h_far``. Returns ``(points, tets)``."""
    import gmsh

    h_far = h_far or R / 4
    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("ball")
        ball = gmsh.model.occ.addSphere(0, 0, R, R)
        box = gmsh.model.occ.addBox(0, 0, 0, R, R, R)
        gmsh.model.occ.intersect([(3, ball)], [(3, box)])
        gmsh.model.occ.synchronize()
        p = gmsh.model.occ.addPoint(0, 0, 0)
        gmsh.model.occ.synchronize()
        f = gmsh.model.mesh.field
        d = f.add("Distance")
        f.setNumbers(d, "PointsList", [p])
        t = f.add("Threshold")
        f.setNumber(t, "InField", d)
        f.setNumber(t, "SizeMin", h_contact)
        f.setNumber(t, "SizeMax", h_far)
        f.setNumber(t, "DistMin", 1.5 * a)
        f.setNumber(t, "DistMax", 1.5 * a + 6 * h_far)
        f.setAsBackgroundMesh(t)
        for key in ("Mesh.MeshSizeExtendFromBoundary", "Mesh.MeshSizeFromPoints", "Mesh.MeshSizeFromCurvature"):
            gmsh.option.setNumber(key, 0)
        gmsh.option.setNumber("Mesh.ElementOrder", order)
        gmsh.option.setNumber("Mesh.SecondOrderLinear", 0)
        gmsh.model.mesh.generate(3)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        pts = coords.reshape(-1, 3)
        etype = 11 if order == 2 else 4
        _, enodes = gmsh.model.mesh.getElementsByType(etype)
    finally:
        gmsh.finalize()
    idx = np.full(int(tags.max()) + 1, -1, dtype=np.int64)
    idx[tags.astype(np.int64)] = np.arange(tags.size)
    tets = idx[enodes.astype(np.int64)].reshape(-1, 10 if order == 2 else 4)
    if order == 2:  # gmsh tet10 order: ... 8 = edge 2-3, 9 = edge 1-3; VTK: 8 = edge 1-3, 9 = edge 2-3
        tets = tets[:, [0, 1, 2, 3, 4, 5, 6, 7, 9, 8]]
    used = np.unique(tets)
    remap = np.full(pts.shape[0], -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return pts[used], remap[tets]


def ball_on_block(R=10.0, a=1.0, per_a=4, L_a=12.0, ratio=1.4, order=2, block="hex8"):
    """Mesh with cell sets ``block`` and ``ball`` and facet sets ``block_top`` (z = 0, x, y <= 3 a, quad4) and
    ``ball_surface`` (the ball's spherical surface below z = R / 2)."""
    h = a / per_a
    pb, hexes = quarter_block(h, L_a * a, ratio, a)
    btype = HEX8
    if block == "tet10":  # each hex into six tets, then mid-edge nodes
        pb, hexes = tet4_to_tet10(pb, hex_to_tet(pb, hexes))
        btype = TET10
    ps, tets = quarter_ball(R, h, a, order=order)
    pts = np.vstack([pb, ps])
    tets = tets + pb.shape[0]
    solids = [SolidBlock(btype, hexes), SolidBlock(TET10 if order == 2 else TET4, tets)]
    mesh = Mesh(pts, solids, cell_sets={"block": {0: np.arange(hexes.shape[0])}, "ball": {1: np.arange(tets.shape[0])}})
    on_ball = np.zeros(pts.shape[0], dtype=bool)
    on_ball[pb.shape[0]:] = True
    r = np.linalg.norm(pts - [0.0, 0.0, R], axis=1)
    for ft, conn, _ in mesh.boundary_facets():
        top = np.all(np.abs(pts[conn][:, :, 2]) < 1e-9, axis=1) & ~on_ball[conn[:, 0]]
        top &= np.all(pts[conn][:, :, :2] <= 3.0 * a + 1e-9, axis=(1, 2))  # the contact lies within r < 1.3 a
        sph = np.all(np.abs(r[conn] - R) < 1e-6 * R, axis=1) & np.all(pts[conn][:, :, 2] < 0.5 * R, axis=1)
        sph &= on_ball[conn[:, 0]]
        if top.any():
            mesh.facet_sets["block_top"] = [(ft, conn[top])]
        if sph.any():
            mesh.facet_sets["ball_surface"] = [(ft, conn[sph])]
    return mesh


def two_balls(R_upper=10.0, R_lower=10.0, a=0.4, per_a=6):
    """Two quarter half-balls (gmsh tet10) touching at the origin: the upper one centred at ``(0, 0, R_upper)``
    (its flat face at ``z = R_upper``), the lower one the mirror image of a ball of radius ``R_lower``
    (centre ``(0, 0, -R_lower)``, flat face at ``z = -R_lower``). Cell sets ``upper``, ``lower``; facet sets
    ``upper_surface`` (spherical, below ``z = R_upper / 2``) and ``lower_surface`` (spherical, within
    ``r < 3 a`` of the axis: the slave)."""
    h = a / per_a
    pu, tu = quarter_ball(R_upper, h, a)
    pl, tl = quarter_ball(R_lower, h, a)
    pl = pl * [1.0, 1.0, -1.0]
    tl = tl[:, [0, 2, 1, 3, 6, 5, 4, 7, 9, 8]]  # mirroring turns the tets inside out: swap corners 1 and 2
    pts = np.vstack([pu, pl])
    tl = tl + pu.shape[0]
    mesh = Mesh(pts, [SolidBlock(TET10, tu), SolidBlock(TET10, tl)],
                cell_sets={"upper": {0: np.arange(tu.shape[0])}, "lower": {1: np.arange(tl.shape[0])}})
    lower = np.zeros(pts.shape[0], dtype=bool)
    lower[pu.shape[0]:] = True
    ru = np.linalg.norm(pts - [0.0, 0.0, R_upper], axis=1)
    rl = np.linalg.norm(pts - [0.0, 0.0, -R_lower], axis=1)
    for ft, conn, _ in mesh.boundary_facets():
        up = (np.all(np.abs(ru[conn] - R_upper) < 1e-6 * R_upper, axis=1)
              & np.all(pts[conn][:, :, 2] < 0.5 * R_upper, axis=1) & ~lower[conn[:, 0]])
        lo = (np.all(np.abs(rl[conn] - R_lower) < 1e-6 * R_lower, axis=1)
              & np.all(np.linalg.norm(pts[conn][:, :, :2], axis=2) <= 3.0 * a, axis=1) & lower[conn[:, 0]])
        if up.any():
            mesh.facet_sets["upper_surface"] = [(ft, conn[up])]
        if lo.any():
            mesh.facet_sets["lower_surface"] = [(ft, conn[lo])]
    return mesh
