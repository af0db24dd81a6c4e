"""User anatomy: a subject's own foot or knee mesh instead of the parametric one (issue 5).

:func:`load_user_model` turns a user's mesh into the same :class:`~fesolver.models.AnatomicalModel` the
parametric builders return: the same region and set names, the same materials (taken from
:func:`~fesolver.models.foot.foot_materials` and :func:`~fesolver.models.knee.build_knee`), and for the knee the
same rigid bodies and tibiofemoral contacts, so the kinetic chain and the scenario runner use it unchanged.

Sources
-------
* **One volume mesh**, any format :func:`fesolver.mesh.read_mesh` reads (gmsh ``.msh`` with physical names,
  Abaqus ``.inp`` with ``*ELSET``, ...); solids tet4, tet10 or hex8. A ``.vtu`` gives named sets if it was
  written by meshio from ``cell_sets`` (meshio stores them as one integer cell array whose name joins the set
  names with ``-``), else its integer ``region`` array gives sets ``region<value>`` to be mapped.
* **An FEBio file** ``.feb`` (``febio_spec`` 2.5, 3.0 or 4.0): only its geometry is read
  (:func:`read_feb`): ``Nodes``, ``Elements`` of type tet4, tet10 or hex8 (each block's ``name`` is a region),
  ``NodeSet`` and ``Surface`` (tri3, tri6, quad4). Materials, boundary conditions, ``ElementSet``,
  ``MeshDomains`` and the rest are ignored.
* **Closed surfaces, one per tissue**: ``{"calcaneus": "calc.stl", "soft_tissue": "skin.stl", ...}``. Each is
  tetrahedralised with gmsh keeping its triangles as the boundary (tet4). A surface made of several closed
  shells (e.g. the skin plus the bone surfaces it surrounds) is meshed as the solid between them: the
  cavities are emptied. Nodes of different tissues at the same position (to 1e-9 of the model size) are
  merged, so tissues whose surfaces share their interface triangles (e.g. exported from one multi-label
  segmentation) are bonded there. Anywhere else the interfaces do **not** conform: parts are neither tied nor
  in contact unless the user adds contacts, and a cartilage layer not sharing nodes with its bone floats
  free. A tissue found inside another tissue's surface (overlapping volumes) is refused.

Names
-----
``mapping`` renames sets of the file (region, facet, node and line sets alike): ``{"Calc": "calcaneus",
"Fascia": "fascia_ray1"}``; several file names may map to one model name (their sets are united); names not
mapped keep theirs. Every region (cell set) must then be a tissue of the model, and every solid element must
lie in exactly one region:

* foot (:data:`FOOT_REGIONS`): the bones of :data:`~fesolver.models.foot.BONES`, ``joints``, ``heel_pad``,
  ``soft_tissue``, ``fascia_ray1`` .. ``fascia_ray5`` or one ``fascia`` region; line sets ``fascia_band1`` ..
  ``fascia_band5`` (or one ``fascia``) are tension-only truss bands;
* knee (:data:`KNEE_REGIONS`): ``femur``, ``tibia`` (rigid bodies), ``femoral_cartilage_{medial,lateral}``,
  ``tibial_cartilage_{medial,lateral}``. Menisci are not supported for user meshes yet.

Required sets and what is derived
---------------------------------
Derived sets are listed in ``params["derived"]``; what can be neither found nor derived is reported at once,
every item, in one :class:`~fesolver.errors.ModelError` naming the file.

* Every region is also a node set (derived when absent).
* foot: regions ``calcaneus``, ``soft_tissue`` and a fascia region (solid or truss); facet set
  ``plantar_skin`` (derived: exterior faces of the non-bone regions with outward normal ``n_z < -0.5``); node
  sets ``talar_dome`` (derived: exterior ``talus`` faces with ``n_z > 0.5``) and ``achilles_insertion``
  (derived: exterior ``calcaneus`` faces with ``n_x < -0.5``). Fascia fibre direction per region: the vector
  given in ``fibres``, else the principal axis of the region's nodes (the eigenvector of the largest
  eigenvalue of their covariance, signed to point anteriorly, ``+x``), which is the band's long axis for a
  strip-like region. Landmarks ``talar_dome`` and ``achilles_insertion`` are the centroids of their node sets.
* knee: the six regions and facet sets ``{tibial,femoral}_cartilage_{medial,lateral}_surface`` (derived: the
  cartilage's exterior faces with ``n_z > 0.5`` on the tibia, ``n_z < -0.5`` on the femur). Rigid bodies
  ``femur`` and ``tibia`` with the supports of :func:`~fesolver.models.knee.build_knee`, reference points at the
  centroid of the region's nodes (``femur_reference`` overrides the femur's). Tibiofemoral contacts as
  ``build_knee``'s, with its penalty rescaled to the user mesh's element size ``h`` near the closest approach
  of the two surfaces (the median edge of the tibial facets around the tibial node nearest the femoral surface,
  rounded to two significant digits) and a search radius of at least ``2 h``. Landmarks ``femur_reference``,
  ``tibia_reference``, ``{medial,lateral}_compartment_centre`` (centroid of the tibial surface nodes);
  ``params["compartment_offset"]`` is half their ``y`` distance.

Coordinates are taken as they are, in the model frame of :mod:`fesolver.models` (mm; ``scale`` converts, e.g.
``scale=1000`` for metres). Nothing is moved: a knee whose surfaces start apart cannot be driven by a femur
force (a free body pushed before it touches is singular); ``params["closest_distance_mm"]`` (the smallest
distance from a tibial to a femoral surface node, per compartment) shows how far apart they start.

>>> sorted(KNEE_REGIONS)[:2]
['femoral_cartilage_lateral', 'femoral_cartilage_medial']
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..elements import get_element
from ..errors import MeshError, ModelError
from ..mesh import _REGION_KEYS, Mesh, SolidBlock, check_mesh, from_meshio, read_mesh, read_meshio
from . import AnatomicalModel
from .foot import BONES, FASCIA_AREA, FASCIA_RAYS, fascia_truss_material, foot_materials

__all__ = ["load_user_model", "read_user_mesh", "read_feb", "FOOT_REGIONS", "KNEE_REGIONS", "FOOT_LINE_SETS",
           "KINDS"]

log = logging.getLogger(__name__)

KINDS = ("foot", "knee")
_FOOT_SOFT = ("joints", "heel_pad", "soft_tissue")
_FOOT_FASCIA = (*FASCIA_RAYS, "fascia")
#: regions (cell sets) a user foot may have
FOOT_REGIONS = (*BONES, *_FOOT_SOFT, *_FOOT_FASCIA)
#: line sets a user foot may have (tension-only fascia bands)
FOOT_LINE_SETS = (*(f"fascia_band{k}" for k in range(1, 6)), "fascia")
_SIDES = ("medial", "lateral")
_CARTILAGE = tuple(f"{b}_cartilage_{s}" for b in ("femoral", "tibial") for s in _SIDES)
#: regions a user knee may have (and must have)
KNEE_REGIONS = ("femur", "tibia", *_CARTILAGE)
_KNEE_SURFACES = tuple(f"{c}_surface" for c in _CARTILAGE)


# ----------------------------------------------------------------------------------------------
# the public entry point
# ----------------------------------------------------------------------------------------------


def load_user_model(kind: str, source, mapping: Mapping[str, str] | None = None,
                    fibres: Mapping[str, object] | None = None, *, scale: float = 1.0,
                    femur_reference=None) -> AnatomicalModel:
    """A foot or knee model from a user's mesh (see the module docstring for formats, names and sets).

    Parameters
    ----------
    kind : {"foot", "knee"}
    source : str, Path or dict
        A volume mesh file (any meshio format, or FEBio ``.feb``), or a dict tissue name -> closed surface file
        (STL or any meshio surface format).
    mapping : dict, optional
        File set name -> model name (regions, facet, node and line sets); unmapped names are kept.
    fibres : dict, optional
        Foot fascia region (model name) -> fibre direction (3,) (normalised here); default the principal axis
        of the region's nodes.
    scale : float
        Factor from the file's length unit to mm (1 for mm, 1000 for m).
    femur_reference : (3,) float, mm, optional
        Knee: the femur's reference point (where its force and moment act); default the centroid of the femur's
        nodes.

    Returns
    -------
    AnatomicalModel
        ``name`` is ``kind``; ``params`` holds ``source``, ``mapping``, ``derived`` (sets made here) and per kind
        the fibre directions (foot) or the contact element sizes, ``compartment_offset`` and
        ``closest_distance_mm`` (knee).

    Raises
    ------
    MeshError
        A file is missing or unreadable, has unsupported elements, inverted elements, or (surfaces) is not
        closed or lies inside another tissue.
    ModelError
        Unknown regions (the message lists them and the allowed names), elements without a region or in two,
        a mapping name the file does not have, bad fibres, or missing regions / sets (every one listed, with the
        file name).

    Examples
    --------
    >>> knee = load_user_model("knee", "subject01_knee.msh", mapping={"Femur": "femur"})  # doctest: +SKIP
    """
    if kind not in KINDS:
        raise ModelError(f"load_user_model: kind must be one of {list(KINDS)}, got {kind!r}")
    if kind == "knee" and fibres:
        raise ModelError(f"load_user_model: the knee has no fibre-reinforced regions; fibres were given for "
                         f"{sorted(fibres)}")
    mesh, derived = read_user_mesh(source, mapping, scale=scale), []
    if kind == "foot":
        _check_regions(mesh, FOOT_REGIONS, kind, line_sets=FOOT_LINE_SETS)
    else:
        _check_regions(mesh, KNEE_REGIONS, kind)
    for name in mesh.cell_sets:
        if name != "all" and name not in mesh.node_sets:
            mesh.node_sets[name] = _region_nodes(mesh, name)
            derived.append(f"node set {name!r} (the region's nodes)")
    params = {"source": mesh.source, "kind": kind, "mapping": dict(mapping or {}), "scale": float(scale),
              "derived": derived, "mesh": mesh.summary()}
    if kind == "foot":
        model = _foot(mesh, fibres, params)
    else:
        model = _knee(mesh, femur_reference, params)
    log.info("user %s from %s: %s; derived %s", kind, mesh.source, mesh.summary(), derived or "nothing")
    return model


def read_user_mesh(source, mapping: Mapping[str, str] | None = None, scale: float = 1.0) -> Mesh:
    """The mesh of ``source`` (volume file, ``.feb`` or dict tissue -> surface file) with ``mapping`` applied and
    coordinates multiplied by ``scale`` (see :func:`load_user_model`)."""
    if not (isinstance(scale, int | float) and np.isfinite(scale) and scale > 0):
        raise ModelError(f"load_user_model: scale must be a positive number, got {scale!r}")
    if isinstance(source, Mapping):
        mesh = _mesh_from_surfaces(source)
    else:
        path = Path(source)
        reader = _READERS.get(path.suffix.lower(), read_mesh)
        try:
            mesh = reader(path)
        except MeshError as exc:
            if "no solid elements" in str(exc):
                raise MeshError(f"{exc}; a surface (e.g. STL) needs its tissue name: pass "
                                f"{{'soft_tissue': {str(path)!r}, ...}} with one closed surface per tissue") from None
            raise
    if scale != 1.0:
        mesh.points = mesh.points * float(scale)
        mesh._boundary = None
    if mapping:
        _rename(mesh, mapping)
    return mesh


# ----------------------------------------------------------------------------------------------
# FEBio geometry
# ----------------------------------------------------------------------------------------------

#: FEBio element type -> meshio type (the node orders of these are the same as VTK's)
_FEB_MESHIO = {"tet4": "tetra", "tet10": "tetra10", "hex8": "hexahedron", "line2": "line",
               "tri3": "triangle", "tri6": "triangle6", "quad4": "quad"}


def read_feb(path, check: bool = True) -> Mesh:
    """The geometry of an FEBio input file (``febio_spec`` 2.5 ``<Geometry>``, 3.0 / 4.0 ``<Mesh>``).

    Parsed by :func:`fesolver.febio.read_geometry`, the reader of ``fesolver solve`` (one parser for both):
    each ``<Elements>`` block (tet4, tet10, hex8 solids; line2 trusses) becomes a region (or line set) named by
    its ``name`` (else ``elset``, else ``mat<id>``, else ``part<k>``); ``<NodeSet>`` (``<node id>`` / ``<n id>``
    children or a comma list) node sets; ``<Surface>`` (tri3, tri6, quad4) facet sets. Node and element ids may be
    any integers. Everything else in the file (materials, loads, ...) is ignored.

    Raises
    ------
    MeshError
        Missing or malformed file, unsupported version or element type, unknown node ids; the message gives
        ``file:line``.
    """
    import meshio

    from ..febio import read_geometry

    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: mesh file not found")
    g = read_geometry(path, error=MeshError)
    cells, cell_sets = [], {}

    def add_block(tag: str, conn: np.ndarray, name: str) -> None:
        cells.append((_FEB_MESHIO[tag], conn))
        cell_sets.setdefault(name, {})[len(cells) - 1] = np.arange(conn.shape[0])

    for name, etype, conn, _ in g.blocks:
        add_block(etype, conn, name)
    for name, parts in g.surfaces.items():
        for tag, conn in parts:
            add_block(tag, conn, name)
    per_block = {n: [v.get(b, np.empty(0, dtype=np.int64)) for b in range(len(cells))] for n, v in cell_sets.items()}
    m = meshio.Mesh(g.points, cells, point_sets=g.node_sets, cell_sets=per_block)
    return from_meshio(m, source=str(path), check=check)


def _read_vtu(path: Path) -> Mesh:
    """A VTU file; named regions come from the integer cell array meshio writes for ``cell_sets`` (its name
    is the set names joined by ``-``, its values index them, -1: no set), else :func:`read_mesh`'s ``region``
    array (sets ``region<value>``)."""
    m = read_meshio(path)
    for key, data in list((m.cell_data or {}).items()):
        names = _joined_set_names(key, data)
        if names and not m.cell_sets:
            m.cell_sets = {n: [np.flatnonzero(np.asarray(d).ravel() == k) for d in data] for k, n in enumerate(names)}
            del m.cell_data[key]
    return from_meshio(m, source=str(path))


def _joined_set_names(key: str, data) -> list[str] | None:
    """The set names of a meshio ``cell_sets_to_data`` array, or None if ``key`` is not one."""
    if key in _REGION_KEYS or not all(np.asarray(d).dtype.kind in "iu" for d in data):
        return None
    values = np.concatenate([np.asarray(d).ravel() for d in data]) if data else np.empty(0)
    if values.size == 0 or values.min() < -1:
        return None
    for char in ("-", "_", "#", "+", "/"):  # meshio's join_strings tries these in this order
        names = key.split(char)
        if len(names) > 1 and all(names) and len(set(names)) == len(names) and values.max() < len(names):
            return names
    return None


#: file suffix -> reader where :func:`read_mesh` alone does not do (everything else goes to it)
_READERS: dict[str, Callable[[Path], Mesh]] = {".feb": read_feb, ".vtu": _read_vtu}


# ----------------------------------------------------------------------------------------------
# surfaces per tissue
# ----------------------------------------------------------------------------------------------


def _mesh_from_surfaces(surfaces: Mapping[str, object]) -> Mesh:
    """One tet4 mesh with a region per tissue from closed surface files (see the module docstring)."""
    from .insole import _tetrahedralise

    if not surfaces:
        raise ModelError("load_user_model: the dict of surfaces is empty; give tissue name -> surface file")
    points, tets, names, shells = [], [], [], {}
    offset = 0
    for tissue, p in surfaces.items():
        path = Path(p)
        P, T = _read_surface(path)
        m = _tetrahedralise(path, P, T)
        cells = _drop_cavities(m, P, T)
        points.append(m.points)
        tets.append(cells + offset)
        names.append(np.full(cells.shape[0], len(shells)))
        shells[str(tissue)] = (path, P[T])
        offset += m.n_nodes
    pts, conn = _merge_coincident(np.vstack(points), np.vstack(tets))
    label = np.concatenate(names)
    source = ", ".join(f"{t}={p}" for t, (p, _) in shells.items())
    mesh = Mesh(pts, [SolidBlock(get_element("tetra"), np.ascontiguousarray(conn))],
                cell_sets={t: {0: np.flatnonzero(label == k)} for k, t in enumerate(shells)},
                node_sets={t: np.unique(conn[label == k]) for k, t in enumerate(shells)}, source=source)
    _refuse_overlaps(mesh, shells, conn, label)
    check_mesh(mesh)
    return mesh


def _read_surface(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Points and triangles of a surface file (meshio)."""
    m = read_meshio(path)
    tris = [np.asarray(c.data, dtype=np.int64) for c in m.cells if c.type == "triangle"]
    if not tris:
        raise MeshError(f"{path}: no triangles; a tissue surface must be a closed triangulated surface "
                        f"(cell types {sorted({c.type for c in m.cells})})")
    return np.asarray(m.points, dtype=np.float64), np.vstack(tris)


def _keys(points: np.ndarray, scale: float) -> np.ndarray:
    """Integer keys equal for points within about 1e-9 ``scale`` of each other."""
    return np.round(points / (1e-9 * max(scale, 1e-12))).astype(np.int64)


def _drop_cavities(m: Mesh, P: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Tets of ``m`` without the filled cavities of a multi-shell surface ``(P, T)``.

    gmsh fills the inside of every shell. The surface's triangles are faces of the tet mesh; cut across them,
    the tets fall into pieces, and a piece is solid when it is reached from the outside of the mesh through an
    even number of shells."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    tets = m.solids[0].cells
    scale = float(np.ptp(m.points, axis=0).max())
    # surface triangles as node triples of m (gmsh keeps the surface nodes)
    km, kp = _keys(m.points, scale), _keys(P, scale)
    both, inv = np.unique(np.vstack([km, kp]), axis=0, return_inverse=True)
    inv = inv.ravel()
    node_of_key = np.full(both.shape[0], -1, dtype=np.int64)
    node_of_key[inv[: km.shape[0]]] = np.arange(km.shape[0])
    tri = node_of_key[inv[km.shape[0]:]][T]
    if np.any(tri < 0):  # gmsh moved surface nodes: keep everything (the overlap check still runs)
        log.info("%s: the surface nodes are not all nodes of the volume mesh; cavities are kept", m.source)
        return tets
    faces = np.sort(tets[:, [[1, 2, 3], [0, 3, 2], [0, 1, 3], [0, 2, 1]]], axis=2).reshape(-1, 3)
    owner = np.repeat(np.arange(tets.shape[0]), 4)
    # one id per distinct face over the tet faces and the surface triangles
    _, ids = np.unique(np.vstack([faces, np.sort(tri, axis=1)]), axis=0, return_inverse=True)
    ids = ids.ravel()
    fid = ids[: faces.shape[0]]
    shell = np.zeros(ids.max() + 1, dtype=bool)
    shell[ids[faces.shape[0]:]] = True
    counts = np.bincount(fid, minlength=shell.size)
    # interior faces: the two owners of each face id
    srt = np.argsort(fid, kind="stable")
    f_sorted, o_sorted = fid[srt], owner[srt]
    pair = np.flatnonzero(f_sorted[1:] == f_sorted[:-1])
    a, b, f = o_sorted[pair], o_sorted[pair + 1], f_sorted[pair]
    inner = ~shell[f]
    n = tets.shape[0]
    g = sp.coo_matrix((np.ones(int(inner.sum())), (a[inner], b[inner])), shape=(n, n))
    ncomp, comp = connected_components(g, directed=False)
    if ncomp == 1:
        return tets
    # depth of each piece: 0 if it has an exterior face, else one more than a neighbour across a shell
    depth = np.full(ncomp, -1)
    depth[np.unique(comp[owner[counts[fid] == 1]])] = 0
    ca, cb = comp[a[~inner]], comp[b[~inner]]
    for d in range(ncomp):
        frontier = depth == d
        if not frontier.any():
            break
        for x, y in ((ca, cb), (cb, ca)):
            nxt = y[frontier[x] & (depth[y] < 0)]
            depth[nxt] = d + 1
    return tets[depth[comp] % 2 == 0]


def _merge_coincident(points: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge nodes at the same position (to 1e-9 of the model size), keeping first-occurrence order, and drop
    nodes no cell uses."""
    used = np.unique(cells)
    keys = _keys(points[used], float(np.ptp(points, axis=0).max()))
    _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    new_of_used = rank[inv.ravel()]
    remap = np.full(points.shape[0], -1, dtype=np.int64)
    remap[used] = new_of_used
    return points[used[first[order]]], remap[cells]


def _refuse_overlaps(mesh: Mesh, shells: dict, conn: np.ndarray, label: np.ndarray) -> None:
    """MeshError when the tets of one tissue lie inside another tissue's closed surface."""
    names = list(shells)
    centroids = mesh.points[conn].mean(axis=1)
    for i, a in enumerate(names):
        tri_a = shells[a][1]
        lo, hi = tri_a.reshape(-1, 3).min(axis=0), tri_a.reshape(-1, 3).max(axis=0)
        for j, b in enumerate(names):
            if i == j:
                continue
            c = centroids[label == j]
            c = c[np.all((c >= lo) & (c <= hi), axis=1)]
            if c.size == 0:
                continue
            sample = c[np.linspace(0, c.shape[0] - 1, min(32, c.shape[0])).astype(int)]
            inside = _inside_surface(sample, tri_a)
            if inside.any():
                raise MeshError(f"{shells[b][0]}: tissue {b!r} lies (in part) inside the surface of {a!r} "
                                f"({shells[a][0]}): the volumes would overlap. Give {a!r} the surface of {b!r} as "
                                f"an inner shell (a cavity), or give one volume mesh with both regions")


def _inside_surface(q: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Points ``q (m, 3)`` inside the closed triangulated surface ``tri (n, 3, 3)`` (parity of the crossings of a
    ray, Moller-Trumbore)."""
    d = np.array([0.5773, 0.5774, 0.5775])  # a direction unlikely to run along an edge
    v0, e1, e2 = tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    h = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, h)
    ok = np.abs(det) > 1e-14 * np.max(np.abs(det))
    v0, e1, e2, h, det = v0[ok], e1[ok], e2[ok], h[ok], det[ok]
    inside = np.zeros(q.shape[0], dtype=bool)
    for k, p in enumerate(q):
        s = p - v0
        u = np.einsum("ij,ij->i", s, h) / det
        sq = np.cross(s, e1)
        v = (sq @ d) / det
        t = np.einsum("ij,ij->i", sq, e2) / det
        inside[k] = np.count_nonzero((u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)) % 2 == 1
    return inside


# ----------------------------------------------------------------------------------------------
# names
# ----------------------------------------------------------------------------------------------


def _rename(mesh: Mesh, mapping: Mapping[str, str]) -> None:
    """Apply ``mapping`` to every kind of set in place; sets mapped to one name are united."""
    bad = {k: v for k, v in mapping.items() if not (isinstance(k, str) and isinstance(v, str) and v)}
    if bad or "all" in mapping:
        raise ModelError(f"{mesh.source}: mapping must map set names to non-empty names (and not rename 'all'), "
                         f"got {bad or {'all': mapping['all']}}")
    have = set(mesh.cell_sets) | set(mesh.facet_sets) | set(mesh.node_sets) | set(mesh.line_sets)
    unused = sorted(set(mapping) - have)
    if unused:
        raise ModelError(f"{mesh.source}: mapping names {unused} that the file does not have; its regions are "
                         f"{_names(mesh.cell_sets)}, facet sets {_names(mesh.facet_sets)}, node sets "
                         f"{_names(mesh.node_sets)}")

    def per_block(a: dict, b: dict) -> dict:
        return {k: np.union1d(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}

    def renamed(sets: dict, unite) -> dict:
        out: dict = {}
        for name, v in sets.items():
            new = mapping.get(name, name)
            out[new] = unite(out[new], v) if new in out else v
        return out

    mesh.cell_sets = renamed(mesh.cell_sets, per_block)
    mesh.line_sets = renamed(mesh.line_sets, per_block)
    mesh.facet_sets = renamed(mesh.facet_sets, lambda a, b: list(a) + list(b))
    mesh.node_sets = renamed(mesh.node_sets, np.union1d)


def _names(sets) -> list[str]:
    return sorted(n for n in sets if n != "all")


def _check_regions(mesh: Mesh, allowed, kind: str, line_sets=()) -> None:
    """Every region a known tissue, every solid element in exactly one region."""
    unknown = [n for n in _names(mesh.cell_sets) if n not in allowed]
    unknown_lines = [n for n in _names(mesh.line_sets) if n not in line_sets]
    if unknown or unknown_lines:
        what = []
        if unknown:
            what.append(f"unknown region(s) {unknown}; a {kind} model's regions are {list(allowed)}")
        if unknown_lines:
            what.append(f"unknown line set(s) {unknown_lines}; allowed {list(line_sets)}")
        extra = " (menisci are not supported for user meshes yet)" if kind == "knee" else ""
        raise ModelError(f"{mesh.source}: " + "; ".join(what) + extra
                         + "; rename them with mapping={'name in the file': 'model name'}")
    count = [np.zeros(b.cells.shape[0], dtype=np.int64) for b in mesh.solids]
    for name in _names(mesh.cell_sets):
        for blk, idx in mesh.cell_sets[name].items():
            count[blk][idx] += 1
    count = np.concatenate(count)
    for test, says in ((count == 0, "belong to no region"), (count > 1, "belong to more than one region")):
        ids = np.flatnonzero(test)
        if ids.size:
            raise ModelError(f"{mesh.source}: {ids.size} solid element(s) {says} (ids {ids[:20].tolist()}"
                             f"{', ...' if ids.size > 20 else ''}; counted from 0 in file order); every element "
                             f"needs exactly one tissue region for its material")


# ----------------------------------------------------------------------------------------------
# foot
# ----------------------------------------------------------------------------------------------


def _foot(mesh: Mesh, fibres, params: dict) -> AnatomicalModel:
    derived = params["derived"]
    regions = _names(mesh.cell_sets)
    fascia = [r for r in regions if r in _FOOT_FASCIA]
    bands = [n for n in _names(mesh.line_sets) if n in FOOT_LINE_SETS]
    derive = {
        "plantar_skin": ([r for r in regions if r not in BONES], lambda n: n[:, 2] < -0.5,
                         "exterior faces of the non-bone regions with n_z < -0.5"),
        "talar_dome": (["talus"], lambda n: n[:, 2] > 0.5, "exterior talus faces with n_z > 0.5"),
        "achilles_insertion": (["calcaneus"], lambda n: n[:, 0] < -0.5, "exterior calcaneus faces with n_x < -0.5"),
    }
    for name, (owners, keep, how) in derive.items():
        if name in mesh.node_sets and (name != "plantar_skin" or name in mesh.facet_sets):
            continue
        owners = [r for r in owners if r in mesh.cell_sets]
        faces = _exterior_faces(mesh, owners, keep) if owners else []
        if faces:
            mesh.facet_sets.setdefault(name, faces)
            mesh.node_sets.setdefault(name, np.unique(np.concatenate([c.ravel() for _, c in faces])))
            derived.append(f"{'facet and node set' if name == 'plantar_skin' else 'node set'} {name!r} ({how})")
    required = ["calcaneus", "soft_tissue"] + ([] if fascia or bands else ["fascia"])
    _require(mesh, kind="foot", cell_sets=required, facet_sets=("plantar_skin",),
             node_sets=("talar_dome", "achilles_insertion"),
             hint="" if fascia or bands else "the fascia may be one region 'fascia', regions 'fascia_ray1'.."
                                             "'fascia_ray5', or truss line sets 'fascia_band1'..'fascia_band5'")
    mesh.facet_sets["plantar_skin"] = _oriented(mesh, "plantar_skin")

    fibres = dict(fibres or {})
    bad = sorted(set(fibres) - set(fascia))
    if bad:
        raise ModelError(f"{mesh.source}: fibres given for {bad}, which are not fascia regions of this mesh "
                         f"(its fascia regions: {fascia})")
    directions, how, spread = {}, {}, {}
    for r in fascia:
        if r in fibres:
            a = np.asarray(fibres[r], dtype=float).ravel()
            if a.shape != (3,) or not np.all(np.isfinite(a)) or np.linalg.norm(a) == 0.0:
                raise ModelError(f"fibres[{r!r}] must be a non-zero 3-vector, got {fibres[r]!r}")
            directions[r], how[r] = a / np.linalg.norm(a), "given"
        else:
            directions[r], spread[r] = _principal_axis(mesh.points[mesh.node_sets[r]])
            how[r] = "principal axis of the region's nodes"
            if spread[r] > 0.7:
                log.warning("%s: region %r is not elongated (second/first principal spread %.2f): its fibre "
                            "direction %s is poorly defined; give it in fibres", mesh.source, r, spread[r],
                            np.round(directions[r], 3).tolist())
    # the parametric foot's materials; fascia regions get their own fibre
    mats_all = foot_materials({ray: directions.get(ray, (1.0, 0.0, 0.0)) for ray in FASCIA_RAYS}, "solid")
    materials = {}
    for r in regions:
        if r == "fascia":
            materials[r] = replace(mats_all[FASCIA_RAYS[0]], fibre=tuple(float(v) for v in directions[r]), name=r)
        else:
            materials[r] = mats_all[r]
    trusses = {}
    per_band = [b for b in bands if b != "fascia"]
    for b in per_band or bands:
        trusses[b] = fascia_truss_material(name=b) if b != "fascia" else fascia_truss_material(FASCIA_AREA, "fascia")
    landmarks = {n: mesh.points[mesh.node_sets[n]].mean(axis=0) for n in ("talar_dome", "achilles_insertion")}
    params.update(fibre_directions={r: d.tolist() for r, d in directions.items()}, fibre_source=how,
                  fibre_spread=spread, fascia="truss" if bands and not fascia else "solid",
                  fascia_area_mm2=FASCIA_AREA if trusses else None)
    return AnatomicalModel("foot", mesh, materials, trusses=trusses, landmarks=landmarks, params=params)


def _principal_axis(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Unit principal axis of points ``x`` (signed towards +x, else +y, else +z) and the ratio of the second to
    the first singular value (near 1: no clear axis)."""
    _, s, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    a = vt[0]
    k = int(np.argmax(np.abs(a) > 1e-9))
    if a[k] < 0:
        a = -a
    return a, float(s[1] / s[0]) if s[0] > 0 else 1.0


# ----------------------------------------------------------------------------------------------
# knee
# ----------------------------------------------------------------------------------------------


def _knee(mesh: Mesh, femur_reference, params: dict) -> AnatomicalModel:
    from scipy.spatial import cKDTree

    from .knee import build_knee

    derived = params["derived"]
    for c in _CARTILAGE:
        name = f"{c}_surface"
        if name in mesh.facet_sets or c not in mesh.cell_sets:
            continue
        up = c.startswith("tibial")
        faces = _exterior_faces(mesh, [c], (lambda n: n[:, 2] > 0.5) if up else (lambda n: n[:, 2] < -0.5))
        if faces:
            mesh.facet_sets[name] = faces
            mesh.node_sets[name] = np.unique(np.concatenate([f.ravel() for _, f in faces]))
            derived.append(f"facet set {name!r} (exterior {c} faces with n_z {'> 0.5' if up else '< -0.5'})")
    _require(mesh, kind="knee", cell_sets=KNEE_REGIONS, facet_sets=_KNEE_SURFACES)
    for name in _KNEE_SURFACES:
        mesh.facet_sets[name] = _oriented(mesh, name)

    # the parametric knee is the one source of the materials, the rigid-body supports and the contact options
    tpl = build_knee(menisci=False, mesh="coarse")
    h_tpl = float(tpl.params["element_size_mm"])
    materials = {r: tpl.materials[r] for r in KNEE_REGIONS}
    refs = {r: mesh.points[mesh.node_sets[r]].mean(axis=0) for r in ("femur", "tibia")}
    if femur_reference is not None:
        ref = np.asarray(femur_reference, dtype=float).ravel()
        if ref.shape != (3,) or not np.all(np.isfinite(ref)):
            raise ModelError(f"femur_reference must be a point (3,) in mm, got {femur_reference!r}")
        refs["femur"] = ref
    bodies = [replace(b, reference=tuple(float(v) for v in refs[b.region])) for b in tpl.rigid_bodies]
    contacts, sizes, gaps = [], {}, {}
    for c in tpl.contacts:
        slave, master = _facet_list(mesh, c.slave), _facet_list(mesh, c.master)
        s_nodes = np.unique(np.concatenate([f.ravel() for _, f in slave]))
        m_nodes = np.unique(np.concatenate([f.ravel() for _, f in master]))
        dist, _ = cKDTree(mesh.points[m_nodes]).query(mesh.points[s_nodes])
        k = int(s_nodes[np.argmin(dist)])
        h = _edge_size_around(mesh.points, slave, k)
        sizes[c.name], gaps[c.name] = h, float(dist.min())
        contacts.append(replace(c, penalty=c.penalty * h_tpl / h, search_radius=max(c.search_radius, 2.0 * h)))
        if dist.min() > h:
            log.warning("%s: %s: the surfaces are %.2f mm apart; a femur driven by a force needs them touching "
                        "at the start", mesh.source, c.name, dist.min())
    centre = {s: mesh.points[mesh.node_sets[f"tibial_cartilage_{s}_surface"]].mean(axis=0) for s in _SIDES}
    if centre["medial"][1] <= centre["lateral"][1]:
        log.warning("%s: the medial compartment is not at larger y than the lateral one: is the mesh a right knee "
                    "in the model frame (x anterior, y medial, z proximal)?", mesh.source)
    landmarks = {"femur_reference": refs["femur"], "tibia_reference": refs["tibia"],
                 "medial_compartment_centre": centre["medial"], "lateral_compartment_centre": centre["lateral"]}
    params.update(contact_element_size_mm=sizes, closest_distance_mm=gaps,
                  compartment_offset=float(0.5 * abs(centre["medial"][1] - centre["lateral"][1])),
                  menisci=False)
    return AnatomicalModel("knee", mesh, materials, rigid_bodies=bodies, contacts=contacts, landmarks=landmarks,
                           params=params)


def _edge_size_around(points: np.ndarray, facets: list, node: int) -> float:
    """Median edge length [mm] of the facets around ``node``, rounded to two significant digits."""
    lengths = []
    for ftype, conn in facets:
        c = conn[np.any(conn == node, axis=1), : ftype.corner_nodes]
        if c.size:
            lengths.append(np.linalg.norm(points[c] - points[np.roll(c, -1, axis=1)], axis=2).ravel())
    h = float(np.median(np.concatenate(lengths)))
    return float(f"{h:.2g}")


# ----------------------------------------------------------------------------------------------
# sets
# ----------------------------------------------------------------------------------------------


def _require(mesh: Mesh, kind: str, cell_sets=(), facet_sets=(), node_sets=(), hint: str = "") -> None:
    probe = AnatomicalModel(kind, mesh, {})
    try:
        probe.require(cell_sets=cell_sets, facet_sets=facet_sets, node_sets=node_sets, what=f"user {kind} mesh")
    except ModelError as exc:
        raise ModelError(f"{exc}" + (f"; {hint}" if hint else "")
                         + "; see 'User meshes' in docs/models.md for what can be derived") from None


def _region_nodes(mesh: Mesh, name: str) -> np.ndarray:
    return np.unique(np.concatenate([mesh.solids[b].cells[idx].ravel() for b, idx in mesh.cell_sets[name].items()]))


def _facet_list(mesh: Mesh, name: str) -> list:
    return list(mesh.facet_sets[name])


def _exterior_faces(mesh: Mesh, regions, keep) -> list:
    """Outward-ordered boundary faces owned by ``regions`` whose unit outward normal passes ``keep``."""
    mask = [np.zeros(b.cells.shape[0], dtype=bool) for b in mesh.solids]
    for r in regions:
        for blk, idx in mesh.cell_sets[r].items():
            mask[blk][idx] = True
    out = []
    for ftype, conn, owner in mesh.boundary_facets():
        mine = np.zeros(conn.shape[0], dtype=bool)
        for blk in np.unique(owner[:, 0]):
            sel = owner[:, 0] == blk
            mine[sel] = mask[blk][owner[sel, 1]]
        x = mesh.points[conn[:, : ftype.corner_nodes]]
        n = np.cross(x[:, 1] - x[:, 0], x[:, -1] - x[:, 0])
        if ftype.corner_nodes == 4:  # quad: the normal of its diagonals
            n = np.cross(x[:, 2] - x[:, 0], x[:, 3] - x[:, 1])
        n /= np.linalg.norm(n, axis=1)[:, None]
        sel = mine & keep(n)
        if sel.any():
            out.append((ftype, np.ascontiguousarray(conn[sel])))
    return out


def _oriented(mesh: Mesh, name: str) -> list:
    """The facet set reordered to the outward orientation; ModelError if some facets are not exterior."""
    out, bad = [], 0
    for ftype, conn in mesh.facet_sets[name]:
        c, missing = mesh.orient_facets(ftype, conn, name)
        bad += missing.size
        out.append((ftype, c))
    if bad:
        raise ModelError(f"{mesh.source}: {bad} facet(s) of {name!r} are not on the mesh boundary; a contact or "
                         f"skin surface must consist of exterior faces of the solid elements")
    return out
