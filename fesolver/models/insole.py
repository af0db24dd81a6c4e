"""The parametric insole (orthotic insert) and user-supplied insert meshes.

Coordinates (mm) as for the foot (:mod:`fesolver.models`): a **right** insole, ``x`` anterior (the foot's heel at
``x = 0``), ``y`` medial, ``z`` up; ``side = "left"`` mirrors ``y``.

Vertical placement (what :func:`build_insole` chooses):

* the **bottom** is flat at ``z = -thickness`` (it rests on the shoe / ground);
* the **top** is at ``z = 0`` wherever the insole is flat — where the bare foot's lowest plantar skin would touch
  the ground — and every shaping feature *adds material on top*: the heel-cup rim rises to ``heel_cup_depth``
  at the heel's edge, the arch support to ``arch_support_height`` under the medial midfoot, and posting tilts the
  top about an ``x``-parallel axis through the low edge of the posted region (the bottom stays flat), so a
  medial post of ``posting_deg`` raises the medial side by ``tan(posting_deg)`` per mm of width. A foot model
  standing at ``z >= 0`` therefore clears the flat parts of the insole and meets the raised features first;
  the scenario lowers the foot (or raises the insole) into contact.

Mesh: the outline (:func:`~fesolver.models.outline.plantar_outline` scaled by :data:`OUTLINE_SCALE` about its
centre — the fit, where the shaping features sit — with a flat brim of :data:`BRIM` mm around it, cut at
``forefoot_extent * foot_length``) is triangulated in 2D (Delaunay of boundary points and an
interior lattice), extruded in layers between the bottom and the shaped top, and each prism split into three
tetrahedra with the diagonal rule that makes neighbouring prisms conform (tet4; fesolver has no wedge element).
Region ``insole``; facet sets ``insole_top`` (outward normal +z-ish, the foot side) and ``insole_bottom`` (-z,
the shoe side), also as node sets.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
from scipy.spatial import Delaunay

from ..elements import TET4, TET10, TRI3, TRI6
from ..errors import MeshError, ModelError
from ..mesh import Mesh, SolidBlock, check_mesh, from_meshio
from . import MESH_LEVELS, AnatomicalModel
from .library import insole_material
from .outline import plantar_outline

__all__ = ["build_insole", "insole_from_mesh", "OUTLINE_SCALE", "MESH_SIZES", "ARCH_SHAPES"]

log = logging.getLogger(__name__)

#: the insole outline is the foot's plantar outline scaled by this factor about its centre: a little larger than the
#: foot, so that a heel-cup rim rises around the heel's border instead of under the foot's side skin
OUTLINE_SCALE = 1.04
#: width [mm] of the flat brim around the insert's fitted outline (see :func:`build_insole`, ``brim``)
BRIM = 15.0
#: beyond a posting wedge's low edge the top bends smoothly down by at most this fraction of the insert's thickness
#: (see :func:`_posting`): no crease under the skin that spreads over the edge
POSTING_DIP = 0.5
#: mesh level -> (in-plane element size [mm], layers through the thickness)
MESH_SIZES = {"coarse": (9.0, 2), "medium": (5.0, 3), "fine": (3.0, 4)}
#: arch support profiles along x (all peak at 1 in the middle of the support, see :func:`_arch_profile`)
ARCH_SHAPES = ("cosine", "gaussian", "plateau")

# fractions of the foot length
_HEEL_CUP_FULL, _HEEL_CUP_END = 0.15, 0.28  # heel cup at full depth up to here, fading to zero by the end
_HEEL_CUP_RIM = 0.08  # width of the rising rim, from the edge inwards
_ARCH_X0, _ARCH_X1 = 0.25, 0.65  # arch support extent (peak at the middle, 0.45 L: navicular region)
_REARFOOT_FULL, _REARFOOT_END = 0.30, 0.45  # rearfoot posting at full angle, fading to zero by the end


def build_insole(
    foot_length: float = 260.0,
    thickness: float = 6.0,
    heel_cup_depth: float = 0.0,
    arch_support_height: float = 0.0,
    arch_support_shape: str = "cosine",
    posting_deg: float = 0.0,
    posting_region: str = "rearfoot",
    forefoot_extent: float = 1.0,
    material="eva_medium",
    mesh: str = "coarse",
    side: str = "right",
    element: str = "tet4",
    midsole_thickness: float = 0.0,
    midsole_material="eva_firm",
    brim: float = BRIM,
) -> AnatomicalModel:
    """Build a parametric insole.

    Parameters
    ----------
    foot_length : float
        Foot length [mm] (heel to toe tip); the outline is the foot model's, scaled by :data:`OUTLINE_SCALE`.
    thickness : float
        Base thickness [mm] (flat parts), 1-30 mm.
    heel_cup_depth : float
        Height [mm] of the heel-cup rim above the flat top (0 = no cup), 0-25 mm. The rim rises quadratically
        over the outer ``0.08 foot_length`` of the heel, at full height up to ``x = 0.15 L`` and fading out by
        ``0.28 L``.
    arch_support_height : float
        Peak height [mm] of the medial arch support above the flat top (0 = none), 0-30 mm; it spans
        ``0.25-0.65 L`` along ``x`` (peak at ``0.45 L``) and rises from the insole's centreline to the
        medial edge.
    arch_support_shape : {"cosine", "gaussian", "plateau"}
        Profile along ``x``: raised cosine, Gaussian (sigma = extent / 6), or flat-topped (smooth ramps over
        the outer quarters).
    posting_deg : float
        Posting angle [deg], -15..15; positive = medial wedge (raises the medial side), negative = lateral
        wedge. The top tilts about an ``x``-parallel axis through the low edge of the posted region.
    posting_region : {"rearfoot", "full"}
        ``rearfoot``: full angle up to ``0.30 L``, fading to zero by ``0.45 L``; ``full``: the whole length.
    forefoot_extent : float
        Fraction of the foot length covered, 0.4-1 (e.g. 0.75: a three-quarter insole ending behind the toes).
    material : str or material object
        A name of :mod:`fesolver.models.library` (default ``"eva_medium"``) or any material.
    mesh : {"coarse", "medium", "fine"}
        In-plane size 9 / 5 / 3 mm, 2 / 3 / 4 element layers (:data:`MESH_SIZES`).
    side : {"right", "left"}
    element : {"tet4", "tet10"}
        ``tet10`` adds straight mid-edge nodes (facet sets become tri6).
    midsole_thickness : float
        Footwear midsole under the insert [mm] (0 = none: the insert rests on the ground), 0 or 2-50 mm: a flat
        slab of the insert's outline from ``z = -thickness - midsole_thickness`` to ``z = -thickness``, bonded
        to the insert (shared nodes), region ``midsole``, in layers no thicker than the in-plane element size.
        ``insole_bottom`` is then the midsole's bottom.
    midsole_material : str or material object
        The midsole's material (library name or material), default ``"eva_firm"``.
    brim : float
        Width [mm] of a brim around the fitted outline (the foot's outline x :data:`OUTLINE_SCALE`, where the
        shaping features sit), 0-30 mm: the insert's top continues flat beyond the fit (at the rim's height
        around a heel cup; the posting's and arch support's heights continue), except across the front cut of
        a shortened insert. The default :data:`BRIM` = 15 mm keeps the foot's skin on the insert: on the
        frictionless insert the heel pad's skin spreads up to about 13 mm beyond the unloaded foot's outline
        (backwards under the heel, 6-8 mm sideways under the lateral midfoot), and skin sliding over the
        insert's edge stalls Newton.

    Returns
    -------
    AnatomicalModel
        ``name = "insole"``, region ``insole`` (and ``midsole``), facet and node sets ``insole_top``,
        ``insole_bottom``;
        landmarks ``heel_centre`` (top of the heel seat), ``arch_support_peak``, ``forefoot_end``.

    Raises
    ------
    ModelError
        A parameter out of range (the message names it, its value and the range).

    Examples
    --------
    >>> m = build_insole(foot_length=250.0, thickness=5.0, heel_cup_depth=8.0)
    >>> round(float(m.mesh.points[:, 2].min()), 6), m.mesh.solids[0].etype.name
    (-5.0, 'tet4')
    """
    _check_range("foot_length", foot_length, 150.0, 350.0, "mm")
    _check_range("thickness", thickness, 1.0, 30.0, "mm")
    _check_range("heel_cup_depth", heel_cup_depth, 0.0, 25.0, "mm")
    _check_range("arch_support_height", arch_support_height, 0.0, 30.0, "mm")
    _check_range("posting_deg", posting_deg, -15.0, 15.0, "deg")
    _check_range("forefoot_extent", forefoot_extent, 0.4, 1.0, "")
    _check_choice("arch_support_shape", arch_support_shape, ARCH_SHAPES)
    _check_choice("posting_region", posting_region, ("rearfoot", "full"))
    _check_choice("mesh", mesh, MESH_LEVELS)
    _check_choice("side", side, ("right", "left"))
    _check_choice("element", element, ("tet4", "tet10"))
    _check_range("brim", brim, 0.0, 30.0, "mm")
    if midsole_thickness != 0.0:
        _check_range("midsole_thickness", midsole_thickness, 2.0, 50.0, "mm")
    mat = insole_material(material, label="insole") if isinstance(material, str) else material
    mats = {"insole": mat}
    if midsole_thickness > 0.0:
        mats["midsole"] = insole_material(midsole_material, label="midsole") if isinstance(midsole_material, str) \
            else midsole_material

    L = float(foot_length)
    h, layers = MESH_SIZES[mesh]
    poly = _insole_outline(L, forefoot_extent)
    outline = _insole_outline(L, forefoot_extent, brim=float(brim))
    p2, tri = _triangulate(outline, h)
    x, y = p2[:, 0], p2[:, 1]

    lat, med = _lateral_medial(poly, x)
    # distance inside the fitted outline (0 on and beyond it: the heel cup's rim stays at full height on the brim)
    dist = np.where(_inside(p2, poly), _distance_to_polygon(p2, poly), 0.0)
    top = np.zeros(len(p2))
    top += heel_cup_depth * _heel_cup(x / L, dist / L)
    top += arch_support_height * _arch_profile((x / L - _ARCH_X0) / (_ARCH_X1 - _ARCH_X0), arch_support_shape) \
        * _smoothstep((y - 0.5 * (lat + med)) / np.maximum(0.5 * (med - lat), 1e-9))
    post = _posting(p2, L, posting_deg, posting_region, poly, POSTING_DIP * float(thickness))
    top += post

    z_mid = -float(thickness)
    levels = [np.full(len(p2), z_mid), top]
    n_mid = 0
    if midsole_thickness > 0.0:
        n_mid = max(1, math.ceil(midsole_thickness / h - 1e-9))
        levels = [np.full(len(p2), z_mid - float(midsole_thickness)), *levels]
    points, tets, top_tri, bottom_tri, layer = _extrude(p2, tri, levels, [n_mid, layers] if n_mid else [layers])
    cell_sets = {"insole": {0: np.flatnonzero(layer >= n_mid)}}
    if n_mid:
        cell_sets["midsole"] = {0: np.flatnonzero(layer < n_mid)}
    if side == "left":
        points[:, 1] *= -1.0
        tets = tets[:, [0, 2, 1, 3]]
        top_tri = top_tri[:, [0, 2, 1]]
        bottom_tri = bottom_tri[:, [0, 2, 1]]

    etype, ftype = TET4, TRI3
    if element == "tet10":
        points, (tets, top_tri, bottom_tri) = _quadratic(points, tets, top_tri, bottom_tri)
        etype, ftype = TET10, TRI6
    m = Mesh(points, [SolidBlock(etype, tets)], cell_sets=cell_sets,
             facet_sets={"insole_top": [(ftype, top_tri)], "insole_bottom": [(ftype, bottom_tri)]},
             node_sets={"insole_top": np.unique(top_tri), "insole_bottom": np.unique(bottom_tri)},
             source=f"<insole {mesh}>")
    check_mesh(m)

    sgn = -1.0 if side == "left" else 1.0
    lat_h, med_h = _lateral_medial(poly, np.array([0.12 * L]))
    i_heel = int(np.argmin(np.hypot(x - 0.12 * L, y - 0.5 * (lat_h[0] + med_h[0]))))
    xa = 0.5 * (_ARCH_X0 + _ARCH_X1) * L
    _, med_a = _lateral_medial(poly, np.array([xa]))
    x_end = float(poly[:, 0].max())
    landmarks = {
        "heel_centre": np.array([x[i_heel], sgn * y[i_heel], top[i_heel]]),
        "arch_support_peak": np.array([xa, sgn * med_a[0], arch_support_height]),
        "forefoot_end": np.array([x_end, 0.0, 0.0]),
    }
    params = dict(foot_length=L, thickness=float(thickness), heel_cup_depth=float(heel_cup_depth),
                  arch_support_height=float(arch_support_height), arch_support_shape=arch_support_shape,
                  posting_deg=float(posting_deg), posting_region=posting_region,
                  forefoot_extent=float(forefoot_extent), material=getattr(mat, "name", str(material)),
                  mesh=mesh, side=side, element=element, element_size_mm=h, layers=layers,
                  midsole_thickness=float(midsole_thickness),
                  midsole_material=getattr(mats["midsole"], "name", str(midsole_material)) if n_mid else None,
                  midsole_layers=n_mid, brim_mm=float(brim))
    log.info("insole: %s", m.summary())
    return AnatomicalModel("insole", m, mats, landmarks=landmarks, params=params)


def insole_from_mesh(path, material="eva_medium", normal_tol: float = 0.5) -> AnatomicalModel:
    """An insert from a user's file: a volume mesh (any meshio format) or a closed STL surface.

    A surface (STL, or any file with only triangles) is tetrahedralised with gmsh, keeping its triangulation
    as the boundary. The sets are found from the outward normals of the boundary faces: ``insole_top`` = faces
    with ``n_z > normal_tol``, ``insole_bottom`` = ``n_z < -normal_tol``. Coordinates are taken as they are
    (mm, the convention of :mod:`fesolver.models.insole`).

    Parameters
    ----------
    path : str or Path
    material : str or material object
        Library name or material, region ``insole``.
    normal_tol : float
        Threshold on the ``z`` component of the unit outward normal, in (0, 1).

    Returns
    -------
    AnatomicalModel

    Raises
    ------
    MeshError
        Unreadable file, a surface that is not closed (edges not shared by exactly two triangles), no volume
        after meshing, or no top / bottom faces.
    """
    import meshio

    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: no such file")
    if not 0.0 < normal_tol < 1.0:
        raise ModelError(f"normal_tol must be in (0, 1), got {normal_tol}")
    try:
        mm = meshio.read(path)
    except Exception as exc:  # meshio raises many types
        raise MeshError(f"{path}: cannot read the insole mesh ({exc})") from exc
    solid_types = {"tetra", "tetra10", "hexahedron"}
    if any(cb.type in solid_types for cb in mm.cells):
        m = from_meshio(mm, source=str(path))
    else:
        tris = [cb.data for cb in mm.cells if cb.type == "triangle"]
        if not tris:
            raise MeshError(f"{path}: neither solid elements nor a triangulated surface; cell types "
                            f"{sorted({cb.type for cb in mm.cells})}")
        m = _tetrahedralise(path, np.asarray(mm.points, dtype=float), np.vstack(tris))
    mat = insole_material(material, label="insole") if isinstance(material, str) else material
    m.cell_sets["insole"] = {k: np.arange(b.cells.shape[0]) for k, b in enumerate(m.solids)}
    top, bottom = [], []
    for ftype, conn, _ in m.boundary_facets():
        p = m.points[conn[:, :3]]
        n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        nz = n[:, 2] / np.linalg.norm(n, axis=1)
        if (nz > normal_tol).any():
            top.append((ftype, conn[nz > normal_tol]))
        if (nz < -normal_tol).any():
            bottom.append((ftype, conn[nz < -normal_tol]))
    if not top or not bottom:
        raise MeshError(f"{path}: no boundary faces with outward normal z {'> ' if not top else '< -'}"
                        f"{normal_tol}; is z up (mm) as fesolver's foot convention expects?")
    m.facet_sets["insole_top"] = top
    m.facet_sets["insole_bottom"] = bottom
    m.node_sets["insole_top"] = np.unique(np.concatenate([c.ravel() for _, c in top]))
    m.node_sets["insole_bottom"] = np.unique(np.concatenate([c.ravel() for _, c in bottom]))
    lo, hi = m.bounding_box()
    params = dict(source=str(path), material=getattr(mat, "name", str(material)), normal_tol=normal_tol,
                  bounding_box_mm=[lo.tolist(), hi.tolist()])
    return AnatomicalModel("insole", m, {"insole": mat}, params=params)


# ----------------------------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------------------------


def _check_range(name, value, lo, hi, unit):
    if not (isinstance(value, int | float) and math.isfinite(value) and lo <= value <= hi):
        raise ModelError(f"build_insole: {name} must be between {lo} and {hi}{' ' + unit if unit else ''}, "
                         f"got {value!r}")


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ModelError(f"build_insole: {name} must be one of {list(allowed)}, got {value!r}")


def _insole_outline(L: float, extent: float, brim: float = 0.0) -> np.ndarray:
    """Counter-clockwise insole outline [mm]: the foot outline scaled about its centre, offset outwards by
    ``brim``, cut at ``extent L``."""
    pts = plantar_outline(L, n=160)
    c = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    pts = c + OUTLINE_SCALE * (pts - c)
    if brim > 0.0:
        pts = _offset(pts, brim)
    if extent < 1.0:
        pts = _clip_x(pts, extent * L)
    return pts


def _offset(poly: np.ndarray, d: float) -> np.ndarray:
    """The counter-clockwise polygon ``poly`` offset outwards by ``d`` [mm]: each vertex moves along the
    normalised mean of its two edges' outward normals (a smooth outline whose concave parts have radii of
    curvature well above ``d``, as the foot's)."""
    e = np.roll(poly, -1, axis=0) - poly
    nrm = np.column_stack([e[:, 1], -e[:, 0]]) / np.linalg.norm(e, axis=1)[:, None]
    v = nrm + np.roll(nrm, 1, axis=0)
    v /= np.linalg.norm(v, axis=1)[:, None]
    return poly + d * v


def _clip_x(poly: np.ndarray, xmax: float) -> np.ndarray:
    """Sutherland-Hodgman clip of a polygon to the half-plane ``x <= xmax``."""
    out = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        ina, inb = a[0] <= xmax, b[0] <= xmax
        if ina:
            out.append(a)
        if ina != inb:
            t = (xmax - a[0]) / (b[0] - a[0])
            out.append(a + t * (b - a))
    return np.array(out)


def _resample(poly: np.ndarray, h: float) -> np.ndarray:
    """About ``perimeter / h`` points evenly spaced along the closed polygon (linear interpolation)."""
    closed = np.vstack([poly, poly[:1]])
    seg = np.diff(closed, axis=0)
    length = np.linalg.norm(seg, axis=1)
    s = np.r_[0.0, np.cumsum(length)]
    n = max(int(round(s[-1] / h)), 12)
    t = np.linspace(0.0, s[-1], n, endpoint=False)
    x = np.interp(t, s, closed[:, 0])
    y = np.interp(t, s, closed[:, 1])
    return np.column_stack([x, y])


def _inside(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test, vectorised over ``p (m, 2)``."""
    a = poly
    b = np.roll(poly, -1, axis=0)
    x, y = p[:, 0:1], p[:, 1:2]
    cross = (a[None, :, 1] > y) != (b[None, :, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = a[None, :, 0] + (y - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / (b[None, :, 1] - a[None, :, 1])
    return (np.sum(cross & (x < xi), axis=1) % 2) == 1


def _distance_to_polygon(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance [mm] of each point ``p (m, 2)`` to the polygon's boundary."""
    a = poly[None, :, :]
    d = np.roll(poly, -1, axis=0)[None, :, :] - a
    w = p[:, None, :] - a
    t = np.clip(np.sum(w * d, axis=2) / np.sum(d * d, axis=2), 0.0, 1.0)
    return np.min(np.linalg.norm(w - t[:, :, None] * d, axis=2), axis=1)


def _triangulate(poly: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Triangles (counter-clockwise) of the polygon: Delaunay of the resampled boundary and a triangular lattice
    of spacing ``h`` kept at least ``0.6 h`` from the boundary; triangles whose centroid is outside are dropped
    and the covered area is checked against the polygon's."""
    bnd = _resample(poly, h)
    lo, hi = bnd.min(axis=0), bnd.max(axis=0)
    dy = h * math.sqrt(3.0) / 2.0
    rows = []
    for k, yv in enumerate(np.arange(lo[1] + 0.5 * dy, hi[1], dy)):
        xs = np.arange(lo[0] + (0.5 * h if k % 2 else 0.0), hi[0], h)
        rows.append(np.column_stack([xs, np.full_like(xs, yv)]))
    grid = np.vstack(rows)
    keep = _inside(grid, bnd) & (_distance_to_polygon(grid, bnd) > 0.6 * h)
    pts = np.vstack([bnd, grid[keep]])
    tri = Delaunay(pts).simplices
    cen = pts[tri].mean(axis=1)
    tri = tri[_inside(cen, bnd)]
    a = pts[tri]
    area = 0.5 * ((a[:, 1, 0] - a[:, 0, 0]) * (a[:, 2, 1] - a[:, 0, 1])
                  - (a[:, 2, 0] - a[:, 0, 0]) * (a[:, 1, 1] - a[:, 0, 1]))
    tri[area < 0] = tri[area < 0][:, [0, 2, 1]]
    poly_area = 0.5 * abs(np.sum(bnd[:, 0] * np.roll(bnd[:, 1], -1) - np.roll(bnd[:, 0], -1) * bnd[:, 1]))
    if abs(np.abs(area).sum() - poly_area) > 1e-6 * poly_area or np.abs(area).min() < 1e-3 * h * h:
        raise MeshError(f"insole triangulation failed (area {np.abs(area).sum():.3f} vs outline {poly_area:.3f} "
                        f"mm^2, smallest triangle {np.abs(area).min():.3g} mm^2); try another mesh level")
    used = np.unique(tri)
    remap = np.full(len(pts), -1)
    remap[used] = np.arange(used.size)
    return pts[used], remap[tri]


def _lateral_medial(poly: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(y_lateral, y_medial)`` of the polygon at each ``x`` (clamped inside its x range)."""
    a, b = poly, np.roll(poly, -1, axis=0)
    xmin, xmax = poly[:, 0].min(), poly[:, 0].max()
    xq = np.clip(np.asarray(x, dtype=float), xmin + 1e-9, xmax - 1e-9)
    lat = np.full(xq.shape, np.inf)
    med = np.full(xq.shape, -np.inf)
    for i in range(len(poly)):
        x0, x1 = a[i, 0], b[i, 0]
        if x0 == x1:
            continue
        t = (xq - x0) / (x1 - x0)
        hit = (t >= 0.0) & (t <= 1.0)
        yv = a[i, 1] + t * (b[i, 1] - a[i, 1])
        lat = np.where(hit, np.minimum(lat, yv), lat)
        med = np.where(hit, np.maximum(med, yv), med)
    return lat, med


def _smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _heel_cup(xr: np.ndarray, dr: np.ndarray) -> np.ndarray:
    """Heel-cup rim in [0, 1] at relative position ``x/L`` and distance-to-edge ``d/L``."""
    along = 1.0 - _smoothstep((xr - _HEEL_CUP_FULL) / (_HEEL_CUP_END - _HEEL_CUP_FULL))
    rim = np.clip(1.0 - dr / _HEEL_CUP_RIM, 0.0, 1.0) ** 2
    return along * rim


def _arch_profile(s: np.ndarray, shape: str) -> np.ndarray:
    """Arch support along x in [0, 1]; ``s`` = 0..1 over its extent, peak 1 at ``s = 0.5``."""
    inside = (s >= 0.0) & (s <= 1.0)
    if shape == "cosine":
        v = 0.5 * (1.0 - np.cos(2.0 * np.pi * s))
    elif shape == "gaussian":
        v = np.exp(-0.5 * ((s - 0.5) * 6.0) ** 2)
    else:  # plateau
        v = np.minimum(_smoothstep(s / 0.25), _smoothstep((1.0 - s) / 0.25))
    return np.where(inside, v, 0.0)


def _posting(p2: np.ndarray, L: float, deg: float, region: str, poly: np.ndarray, dip: float) -> np.ndarray:
    """Extra height [mm] of the top from the posting wedge: the wedge's plane, ``tan(deg)`` times the distance
    from the low edge of the posted region of the fitted outline ``poly`` (bottom flat). Beyond the low edge (on
    the brim) the top bends smoothly down, ``-dip (1 - exp(tan(deg) d / dip))`` at the distance ``-d``: same height
    and slope at the edge, never lower than ``dip`` below it. A crease there (the top flat beyond the edge) put a
    kink of the posting angle 2 mm from the lowest skin node under the first metatarsal head, which spreads over
    the medial edge of a lateral wedge, and a node-on-facet contact normal jumps between the facets of a kink
    (the lateral wedge's stall was later found at another facet edge: docs/models.md, "Foot on an insert")."""
    if deg == 0.0:
        return np.zeros(len(p2))
    t = math.tan(math.radians(abs(deg)))
    if region == "full":
        w = np.ones(len(p2))
        ys = poly[:, 1]
    else:
        w = 1.0 - _smoothstep((p2[:, 0] / L - _REARFOOT_FULL) / (_REARFOOT_END - _REARFOOT_FULL))
        ys = poly[poly[:, 0] <= _REARFOOT_END * L, 1]
    # medial wedge: pivot on the lateral-most edge of the posted region, medial side up; lateral: the mirror
    d = p2[:, 1] - ys.min() if deg > 0 else ys.max() - p2[:, 1]
    h = np.where(d >= 0.0, t * d, -dip * (1.0 - np.exp(t * np.minimum(d, 0.0) / dip)))
    return w * h


def _extrude(p2, tri, levels, layers):
    """Prisms between successive ``levels`` (``z`` per 2D node, bottom first) in ``layers[i]`` layers between
    ``levels[i]`` and ``levels[i + 1]``, split into tet4: ``(points, tets, top, bottom, layer)`` (``layer``: the
    layer index of each tet, 0 at the bottom).

    Each prism (triangle with sorted node ids a < b < c) splits into (a, b, c, a'), (b, c, a', b'),
    (c, a', b', c'): every quadrilateral side gets the diagonal from the higher-id bottom node to the lower-id
    top node, which depends only on the edge, so neighbouring prisms share their diagonals.
    """
    n2 = len(p2)
    z = [levels[0]]
    for lo, hi, nl in zip(levels[:-1], levels[1:], layers, strict=True):
        z += [lo + s * (hi - lo) for s in np.linspace(0.0, 1.0, nl + 1)[1:]]
    nlay = len(z) - 1
    points = np.column_stack([np.tile(p2, (nlay + 1, 1)), np.concatenate(z)])
    srt = np.sort(tri, axis=1)
    tets, layer = [], []
    for k in range(nlay):
        a, b, c = (srt[:, i] + k * n2 for i in range(3))
        a1, b1, c1 = a + n2, b + n2, c + n2
        tets += [np.column_stack(t) for t in ((a, b, c, a1), (b, c, a1, b1), (c, a1, b1, c1))]
        layer.append(np.full(3 * len(tri), k))
    tets = np.vstack(tets).astype(np.int64)
    layer = np.concatenate(layer)
    p = points[tets]
    vol = np.einsum("ei,ei->e", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p[:, 3] - p[:, 0])
    tets[vol < 0] = tets[vol < 0][:, [0, 2, 1, 3]]
    top = (tri + nlay * n2).astype(np.int64)  # counter-clockwise from above: outward normal +z
    bottom = tri[:, [0, 2, 1]].astype(np.int64)
    return points, tets, top, bottom, layer


def _quadratic(points: np.ndarray, tets: np.ndarray, *tris: np.ndarray):
    """Tet10 (VTK order: corners, then mid-edges 01, 12, 02, 03, 13, 23) and tri6 (corners, then 01, 12, 20)
    connectivities with straight mid-edge nodes appended to ``points``."""
    n = len(points)
    tet_edges = np.array([(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)])
    e = np.sort(tets[:, tet_edges], axis=2).reshape(-1, 2)
    keys, inv = np.unique(e[:, 0] * n + e[:, 1], return_inverse=True)
    mid = 0.5 * (points[keys // n] + points[keys % n])
    t10 = np.hstack([tets, n + inv.reshape(-1, 6)])
    out = []
    for t in tris:
        fe = np.sort(t[:, [(0, 1), (1, 2), (2, 0)]], axis=2)
        out.append(np.hstack([t, n + np.searchsorted(keys, fe[..., 0] * n + fe[..., 1])]))
    return np.vstack([points, mid]), (t10.astype(np.int64), *(f.astype(np.int64) for f in out))


def _tetrahedralise(path: Path, points: np.ndarray, tris: np.ndarray) -> Mesh:
    """Tet4 volume mesh of a closed triangulated surface, its triangles kept as the boundary (gmsh)."""
    import gmsh

    # merge coincident points (STL repeats them per triangle) before checking closedness
    scale = max(float(np.ptp(points, axis=0).max()), 1e-12)
    key = np.round(points / (1e-9 * scale)).astype(np.int64)
    _, inv = np.unique(key, axis=0, return_inverse=True)
    tri = inv.ravel()[tris]
    tri = tri[(tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])]
    edges = np.sort(np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    if tri.size == 0 or np.any(counts != 2):
        bad = int(np.sum(counts != 2))
        raise MeshError(f"{path}: the surface is not closed ({bad} edge(s) not shared by exactly two triangles); "
                        f"an insole surface must be a closed, manifold shell to enclose a volume")
    started = not gmsh.isInitialized()
    if started:
        gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.add(f"insole_{id(path)}")
        gmsh.merge(str(path))
        surfaces = [t for _, t in gmsh.model.getEntities(2)]
        if not surfaces:
            raise MeshError(f"{path}: gmsh found no surface in the file")
        loop = gmsh.model.geo.addSurfaceLoop(surfaces)
        gmsh.model.geo.addVolume([loop])
        gmsh.model.geo.synchronize()
        try:
            gmsh.model.mesh.generate(3)
        except Exception as exc:
            raise MeshError(f"{path}: gmsh could not mesh the enclosed volume ({exc}); check that the surface "
                            f"is closed and does not intersect itself") from exc
        tags, coords, _ = gmsh.model.mesh.getNodes()
        etags, enodes = gmsh.model.mesh.getElementsByType(4)
        gmsh.model.remove()
    finally:
        if started:
            gmsh.finalize()
    if len(etags) == 0:
        raise MeshError(f"{path}: meshing the surface produced no tetrahedra (no enclosed volume)")
    coords = np.asarray(coords).reshape(-1, 3)
    idx = np.full(int(tags.max()) + 1, -1)
    idx[tags.astype(np.int64)] = np.arange(len(tags))
    tets = idx[np.asarray(enodes, dtype=np.int64).reshape(-1, 4)]
    used = np.unique(tets)
    remap = np.full(len(coords), -1)
    remap[used] = np.arange(used.size)
    tets = remap[tets]
    p = coords[used][tets]
    vol = np.einsum("ei,ei->e", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p[:, 3] - p[:, 0])
    tets[vol < 0] = tets[vol < 0][:, [0, 2, 1, 3]]
    m = Mesh(coords[used], [SolidBlock(TET4, tets)], source=str(path))
    check_mesh(m)
    return m
