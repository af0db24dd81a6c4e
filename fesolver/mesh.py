"""Meshes: reading any meshio format, named sets, checks, boundary facets.

A :class:`Mesh` holds the node coordinates [mm], the solid element blocks (tet4, tet10, hex8), facet blocks
(tri3, tri6, quad4, for loads and contact) and line blocks (line2, for trusses), and named sets:

* ``cell_sets``: name -> ``{solid block index: element indices}`` (regions, for materials);
* ``facet_sets``: name -> list of ``(ElementType, conn)`` facet connectivities (for surface loads);
* ``node_sets``: name -> node indices (for boundary conditions and point loads);
* ``line_sets``: name -> ``{line block index: element indices}``.

Where the sets come from: gmsh physical groups (volumes -> cell sets, surfaces -> facet sets, curves -> line
sets, points -> node sets; every physical group also gives a node set of the same name), Abaqus ``*NSET`` and
``*ELSET``, and for formats without sets (VTU) an integer cell-data array named ``region`` (or
``gmsh:physical``, ``CellEntityIds``, ``medit:ref``), each value becoming a set ``region<value>`` (unnamed gmsh
physical groups too). gmsh physical tags count per dimension (volume 1 and surface 1 are different groups). The
cell set ``all`` and node set ``all`` always exist.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .elements import FACET_TYPES, LINE_TYPES, SOLID_TYPES, ElementType, get_element
from .errors import MeshError

__all__ = ["Mesh", "SolidBlock", "read_mesh", "from_meshio", "check_mesh", "MeshWarning"]

log = logging.getLogger(__name__)

_REGION_KEYS = ("region", "gmsh:physical", "CellEntityIds", "medit:ref")
_IGNORED_TYPES = frozenset({"vertex"})


class MeshWarning(UserWarning):
    """A harmless mesh defect (unreferenced nodes, ...)."""


@dataclass(frozen=True)
class SolidBlock:
    """One block of solid elements of a single type. ``cells (nel, nen) int64`` in VTK node order."""

    etype: ElementType
    cells: np.ndarray


@dataclass
class Mesh:
    """A finite-element mesh with named sets. Coordinates in mm.

    Attributes
    ----------
    points : (nn, 3) float64, mm
    solids : list of SolidBlock
    facets : list of SolidBlock
        Facet blocks found in the file (their element type is a facet type).
    lines : list of SolidBlock
    cell_sets, facet_sets, node_sets, line_sets : dict
        See the module docstring.
    source : str
        The file the mesh came from (for messages).
    """

    points: np.ndarray
    solids: list[SolidBlock]
    facets: list[SolidBlock] = field(default_factory=list)
    lines: list[SolidBlock] = field(default_factory=list)
    cell_sets: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    facet_sets: dict[str, list[tuple[ElementType, np.ndarray]]] = field(default_factory=dict)
    node_sets: dict[str, np.ndarray] = field(default_factory=dict)
    line_sets: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    source: str = "<memory>"

    def __post_init__(self):
        self.points = np.ascontiguousarray(self.points, dtype=np.float64)
        if self.points.ndim != 2 or self.points.shape[1] not in (2, 3):
            raise MeshError(f"{self.source}: points must be an (n, 3) array, got shape {self.points.shape}")
        if self.points.shape[1] == 2:
            raise MeshError(f"{self.source}: a 2D mesh was given; fesolver needs 3D coordinates")
        self.cell_sets.setdefault(
            "all", {k: np.arange(b.cells.shape[0]) for k, b in enumerate(self.solids)}
        )
        self.node_sets.setdefault("all", np.arange(self.n_nodes))
        self._boundary = None

    # -- sizes ----------------------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return self.points.shape[0]

    @property
    def n_solid_elements(self) -> int:
        return sum(b.cells.shape[0] for b in self.solids)

    @property
    def solid_offsets(self) -> np.ndarray:
        """Global solid-element number of the first element of each block (element ids in messages)."""
        return np.concatenate([[0], np.cumsum([b.cells.shape[0] for b in self.solids])]).astype(np.int64)

    def bounding_box(self) -> tuple[np.ndarray, np.ndarray]:
        return self.points.min(axis=0), self.points.max(axis=0)

    # -- selections -----------------------------------------------------------------------------
    def nodes_in_box(self, lo, hi, tol: float | None = None) -> np.ndarray:
        """Indices of nodes with ``lo - tol <= x <= hi + tol`` componentwise (tol: 1e-6 of the model size)."""
        lo = np.asarray(lo, dtype=float)
        hi = np.asarray(hi, dtype=float)
        if tol is None:
            bmin, bmax = self.bounding_box()
            tol = 1e-6 * float(np.max(bmax - bmin))
        inside = np.all((self.points >= lo - tol) & (self.points <= hi + tol), axis=1)
        return np.flatnonzero(inside)

    def boundary_facets(self) -> list[tuple[ElementType, np.ndarray, np.ndarray]]:
        """Exterior faces of the solid mesh, outward-ordered.

        Returns a list of ``(facet type, conn (nf, nfn), owner (nf, 2))`` with ``owner`` holding
        ``(solid block, element index)`` of the element each face belongs to.
        """
        if self._boundary is None:
            self._boundary = _boundary_facets(self)
        return self._boundary

    def facets_in_box(self, lo, hi, tol: float | None = None) -> list[tuple[ElementType, np.ndarray]]:
        """Boundary facets whose nodes all lie in the box, outward-ordered."""
        inside = np.zeros(self.n_nodes, dtype=bool)
        inside[self.nodes_in_box(lo, hi, tol)] = True
        out = []
        for ftype, conn, _ in self.boundary_facets():
            sel = np.all(inside[conn], axis=1)
            if sel.any():
                out.append((ftype, conn[sel]))
        return out

    def orient_facets(self, ftype: ElementType, conn: np.ndarray, what: str = "facet set"):
        """Reorder facets to the outward orientation of the boundary face they lie on.

        Returns ``(conn_oriented, not_on_boundary)``: the second is the indices of facets that are not an
        exterior face of the solid mesh (they keep their order).
        """
        conn = np.asarray(conn, dtype=np.int64)
        nc = ftype.corner_nodes
        out = conn.copy()
        missing = np.ones(conn.shape[0], dtype=bool)
        for btype, bconn, _ in self.boundary_facets():
            if btype is not ftype:
                continue
            keys_b = np.sort(bconn[:, :nc], axis=1)
            keys_f = np.sort(conn[:, :nc], axis=1)
            idx_b, idx_f = _match_rows(keys_b, keys_f)
            out[idx_f] = bconn[idx_b]
            missing[idx_f] = False
        return out, np.flatnonzero(missing)

    def element_volumes(self, block: int = 0, points: np.ndarray | None = None) -> np.ndarray:
        """Volumes [mm^3] of the elements of solid block ``block`` (quadrature of ``det J``), in the reference
        configuration or at ``points`` (e.g. ``mesh.points + displacement`` for the deformed volumes)."""
        from .assembly import _kernels as K

        b = self.solids[block]
        xi, w = b.etype.rule()
        det = np.empty((b.cells.shape[0], xi.shape[0]))
        K.jacobian_determinants(self.points if points is None else np.ascontiguousarray(points, dtype=np.float64),
                                b.cells, np.ascontiguousarray(b.etype.dshape(xi)), det)
        return det @ w

    def summary(self) -> str:
        parts = [f"{b.cells.shape[0]} {b.etype.name}" for b in self.solids]
        return f"{self.n_nodes} nodes, " + ", ".join(parts)


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def read_mesh(path, check: bool = True) -> Mesh:
    """Read a mesh with meshio (gmsh ``.msh``, ``.vtu``, Abaqus ``.inp``, ...) and check it.

    Raises
    ------
    MeshError
        The file is missing or unreadable, has unsupported cell types, no solid elements, node indices out
        of range, or inverted/degenerate elements (ids named in the message).
    """
    path = Path(path)
    m = read_meshio(path)
    return from_meshio(m, source=str(path), check=check)


def read_meshio(path):
    """``meshio.read`` with a clear :class:`MeshError` for a missing or unreadable file. meshio prints its
    reader errors and then calls ``sys.exit(1)`` when no reader succeeds; the printout is captured and the
    exit turned into the error instead of ending the caller's process."""
    import meshio

    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: mesh file not found")
    out = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            warnings.simplefilter("ignore")
            return meshio.read(path)
    except (Exception, SystemExit) as exc:  # meshio raises many kinds (and SystemExit)
        printed = " ".join(out.getvalue().split())
        detail = printed if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        if printed and not isinstance(exc, SystemExit):
            detail += f"; {printed}"
        raise MeshError(f"{path}: cannot read mesh ({detail or 'unknown meshio error'})") from exc


def from_meshio(m, source: str = "<meshio>", check: bool = True) -> Mesh:
    """Build a :class:`Mesh` from a ``meshio.Mesh`` (sets as described in the module docstring)."""
    points = np.asarray(m.points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        if points.ndim == 2 and points.shape[1] == 2:
            raise MeshError(f"{source}: a 2D mesh was given; fesolver needs 3D coordinates")
        raise MeshError(f"{source}: points must be an (n, 3) array, got shape {points.shape}")
    nn = points.shape[0]
    solids, facets, lines = [], [], []
    where = []  # per meshio block: ("solid"|"facet"|"line"|"vertex", index)
    unsupported = []
    for cb in m.cells:
        data = np.asarray(cb.data, dtype=np.int64)
        if cb.type in SOLID_TYPES:
            where.append(("solid", len(solids)))
            solids.append(SolidBlock(get_element(cb.type), np.ascontiguousarray(data)))
        elif cb.type in FACET_TYPES:
            where.append(("facet", len(facets)))
            facets.append(SolidBlock(get_element(cb.type), np.ascontiguousarray(data)))
        elif cb.type in LINE_TYPES:
            where.append(("line", len(lines)))
            lines.append(SolidBlock(get_element(cb.type), np.ascontiguousarray(data)))
        elif cb.type in _IGNORED_TYPES:
            where.append(("vertex", -1))
        else:
            unsupported.append(f"{cb.type} ({len(cb.data)} cells)")
            where.append(("unsupported", -1))
        if data.size and (data.min() < 0 or data.max() >= nn):
            raise MeshError(
                f"{source}: {cb.type} cells reference node indices outside 0..{nn - 1} "
                f"(min {data.min()}, max {data.max()})"
            )
    if unsupported:
        raise MeshError(
            f"{source}: unsupported cell types {', '.join(unsupported)}; fesolver reads solids "
            f"tetra/tetra10/hexahedron, facets triangle/triangle6/quad and line (meshio names)"
        )
    if not solids:
        raise MeshError(f"{source}: no solid elements (tetra, tetra10 or hexahedron) in the mesh")

    cell_sets: dict[str, dict[int, np.ndarray]] = {}
    facet_sets: dict[str, list] = {}
    line_sets: dict[str, dict[int, np.ndarray]] = {}
    node_sets: dict[str, np.ndarray] = {}

    def add_set(name: str, per_block: list) -> None:
        # per_block[b]: element indices into meshio block b (None or empty: none of that block)
        nodes = []
        for b, idx in enumerate(per_block[: len(where)]):
            if idx is None:
                continue
            idx = np.asarray(idx, dtype=np.int64).ravel()
            if idx.size == 0:
                continue
            kind, k = where[b]
            block_cells = np.asarray(m.cells[b].data)
            if idx.min() < 0 or idx.max() >= block_cells.shape[0]:
                raise MeshError(
                    f"{source}: set {name!r} references {m.cells[b].type} cells outside "
                    f"0..{block_cells.shape[0] - 1} of block {b}"
                )
            nodes.append(block_cells[idx].ravel())
            if kind == "solid":
                old = cell_sets.setdefault(name, {}).get(k)
                cell_sets[name][k] = idx if old is None else np.union1d(old, idx)
            elif kind == "facet":
                facet_sets.setdefault(name, []).append((facets[k].etype, facets[k].cells[idx]))
            elif kind == "line":
                old = line_sets.setdefault(name, {}).get(k)
                line_sets[name][k] = idx if old is None else np.union1d(old, idx)
        if nodes:
            node_sets[name] = np.unique(np.concatenate(nodes).astype(np.int64))

    named = {k: v for k, v in (m.cell_sets or {}).items() if not k.startswith("gmsh:")}
    for name, per_block in named.items():
        add_set(name, list(per_block))
    # Region tags (gmsh physical tags, VTU "region", ...): every tag not already given as a named cell set
    # (gmsh 4.1 files give only the *named* physical groups as cell sets; MSH 2.2 and VTU files give none).
    # A tag is named through field_data {name: [tag, dim]}; gmsh tags are unique per dimension only.
    key = next((k for k in _REGION_KEYS if k in (m.cell_data or {})), None)
    if key is not None:
        names: dict[tuple, str] = {}
        for n, v in (m.field_data or {}).items():
            v = np.asarray(v).ravel()
            if v.size >= 2:
                names[(int(v[0]), int(v[1]))] = n
            elif v.size == 1:
                names[(int(v[0]), None)] = n
        kind_dim = {"solid": 3, "facet": 2, "line": 1, "vertex": 0}
        per_name: dict[str, list] = {}
        for b, arr in enumerate(m.cell_data[key][: len(where)]):
            vals = np.asarray(arr).ravel()
            if vals.size == 0 or not np.issubdtype(vals.dtype, np.number):
                continue
            dim = kind_dim.get(where[b][0])
            for val in np.unique(vals):
                tag = int(val)
                name = names.get((tag, dim)) or names.get((tag, None)) or f"region{tag}"
                if name in named:
                    continue
                per_name.setdefault(name, [None] * len(where))[b] = np.flatnonzero(vals == val)
        for name, per_block in per_name.items():
            add_set(name, per_block)
    for name, idx in (m.point_sets or {}).items():
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= nn):
            raise MeshError(f"{source}: node set {name!r} references nodes outside 0..{nn - 1}")
        node_sets[name] = np.unique(idx)

    mesh = Mesh(points, solids, facets, lines, cell_sets, facet_sets, node_sets, line_sets, source=source)
    if check:
        check_mesh(mesh)
    return mesh


# ----------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------


def check_mesh(mesh: Mesh, degenerate_tol: float = 1e-10) -> None:
    """Raise :class:`MeshError` on inverted or degenerate solids; warn about unreferenced nodes.

    The Jacobian determinant is evaluated at the element corner nodes and quadrature points. With
    ``h`` the element's longest corner-to-corner distance, an element is *degenerate* if somewhere
    ``|det J| * ref_volume <= degenerate_tol * h^3`` (zero volume, e.g. coplanar nodes) and *inverted* if
    somewhere ``det J * ref_volume < -degenerate_tol * h^3`` (clearly negative; round-off around zero on a
    flat element is reported as degenerate, not inverted).
    """
    from .assembly import _kernels as K

    problems = []
    offsets = mesh.solid_offsets
    for k, block in enumerate(mesh.solids):
        et = block.etype
        xi = np.vstack([et.ref_nodes[: et.corner_nodes], et.rule()[0]])
        dN = np.ascontiguousarray(et.dshape(xi))
        det = np.empty((block.cells.shape[0], xi.shape[0]))
        K.jacobian_determinants(mesh.points, block.cells, dN, det)
        corners = mesh.points[block.cells[:, : et.corner_nodes]]
        h = np.zeros(block.cells.shape[0])
        for i in range(et.corner_nodes):
            for j in range(i + 1, et.corner_nodes):
                h = np.maximum(h, np.linalg.norm(corners[:, i] - corners[:, j], axis=1))
        ref_volume = float(np.sum(et.rule()[1]))
        thr = degenerate_tol * h**3 / ref_volume
        dmin = det.min(axis=1)
        bad_inv = dmin < -thr
        inverted = np.flatnonzero(bad_inv)
        degenerate = np.flatnonzero((np.abs(det).min(axis=1) <= thr) & ~bad_inv)
        if inverted.size:
            problems.append(
                f"{inverted.size} inverted {et.name} element(s) (negative Jacobian; node order reversed or "
                f"element folded): ids {_ids(inverted + offsets[k])}"
            )
        if degenerate.size:
            problems.append(
                f"{degenerate.size} degenerate {et.name} element(s) (zero volume): ids "
                f"{_ids(degenerate + offsets[k])}"
            )
    if problems:
        raise MeshError(
            f"{mesh.source}: " + "; ".join(problems) + " (ids count solid elements from 0 in file order)"
        )
    used = np.zeros(mesh.n_nodes, dtype=bool)
    for b in mesh.solids + mesh.lines:
        used[b.cells.ravel()] = True
    unused = np.flatnonzero(~used)
    if unused.size:
        warnings.warn(
            f"{mesh.source}: {unused.size} node(s) belong to no solid or line element and will be held "
            f"fixed: ids {_ids(unused)}",
            MeshWarning,
            stacklevel=2,
        )


def _ids(idx: np.ndarray, limit: int = 20) -> str:
    idx = np.asarray(idx)
    s = ", ".join(str(int(i)) for i in idx[:limit])
    return s + (f", ... ({idx.size} in all)" if idx.size > limit else "")


# ----------------------------------------------------------------------------------------------
# Boundary
# ----------------------------------------------------------------------------------------------


def _match_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(ia, ib)`` with ``a[ia] == b[ib]`` row-wise (rows of ``a`` unique)."""
    if a.size == 0 or b.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    both = np.vstack([a, b])
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = inv.ravel()
    ia_of_key = np.full(inv.max() + 1, -1, dtype=np.int64)
    ia_of_key[inv[: a.shape[0]]] = np.arange(a.shape[0])
    cand = ia_of_key[inv[a.shape[0]:]]
    ib = np.flatnonzero(cand >= 0)
    return cand[ib], ib


def _boundary_facets(mesh: Mesh):
    """Faces that belong to exactly one solid element (identity: the sorted corner nodes)."""
    by_type: dict[str, list] = {}
    for k, block in enumerate(mesh.solids):
        et = block.etype
        for f in et.faces:
            conn = block.cells[:, list(f)]
            owner = np.column_stack([np.full(conn.shape[0], k), np.arange(conn.shape[0])])
            by_type.setdefault(et.face_type, []).append((conn, owner))
    out = []
    for name, parts in by_type.items():
        ft = get_element(name)
        conn = np.vstack([p[0] for p in parts])
        owner = np.vstack([p[1] for p in parts])
        keys = np.sort(conn[:, : ft.corner_nodes], axis=1)
        _, inv, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        once = counts[inv.ravel()] == 1
        out.append((ft, np.ascontiguousarray(conn[once]), owner[once]))
    return out
