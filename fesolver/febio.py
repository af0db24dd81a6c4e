"""FEBio input files (``.feb``, ``febio_spec`` 4.0): read, solve with fesolver, report FEBio's ``solution_norm``.

:func:`read_febio` turns an FEBio model into a fesolver :class:`~fesolver.problem.Problem` (finite strain, Newton
over FEBio's time scaled to the load factor 0..1) plus what FEBio-specific pieces fesolver has no model-file key
for (extra rigid nodes, active fibre contraction); :meth:`FEBioModel.solve` runs it and returns the result with
:func:`solution_norm`, the value FEBio logs as its first data record when a file defines none.

Supported (everything else raises :class:`FEBioError` naming the feature and its line in the file):

========================  ===================================================================================
section                   supported
========================  ===================================================================================
Module                    ``solid``
Control                   ``STATIC``; ``time_steps`` x ``step_size`` is the end time; ``time_stepper``
                          ``dtmax`` caps fesolver's step; FEBio's solver settings (tolerances, BFGS) are
                          solver numerics and are not copied
Mesh                      ``Nodes``; ``Elements`` tet4, tet10, hex8 (solids), line2 (trusses); ``NodeSet``;
                          ``ElementSet``; ``Surface`` (tri3, quad4); ``SurfacePair``
MeshDomains               ``SolidDomain`` (default formulation: FEBio's three-field hex8 for uncoupled
                          materials = fesolver's mean dilatation, displacement-only otherwise; ``ut4-solid``
                          tet4 with ``iso_stab`` 0 = :class:`~fesolver.elements.ut4.UT4NodalIntegration`);
                          ``BeamDomain type="linear-truss"``
Material                  neo-Hookean, Mooney-Rivlin, Ogden, trans iso Mooney-Rivlin (with
                          ``active_contraction``), rigid body, linear truss (see ``docs/febio.md``)
Boundary                  zero displacement, prescribed displacement (absolute), rigid (nodes on a body)
Loads                     nodal_force, nodal_load; pressure only with ``<linear>1</linear>`` (dead load)
Rigid                     rigid_fixed, rigid_displacement / rigid_rotation, rigid_force (one curve per body)
Contact                   ``sliding-facet-on-facet``, ``sliding-elastic`` (penalty or augmented Lagrangian,
                          ``auto_penalty``, ``two_pass``) -> one single-pass
                          :class:`~fesolver.contact.SurfaceContact` per FEBio pass (:func:`_surface_contact`)
Constraints               ``rigid_wall`` (plane, penalty with a load curve, offset) -> a fixed
                          :class:`~fesolver.contact.RigidPlane` with FEBio's gap and nodal areas
LoadData                  loadcurve, LINEAR (or SMOOTH through two points, which is linear), extend CONSTANT
========================  ===================================================================================

The XML is parsed with :mod:`xml.parsers.expat` (no DTDs or entities: a file that declares any is refused),
recording each element's line for the error messages.
"""

from __future__ import annotations

import logging
import re
import time
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .contact import RigidPlane, SurfaceContact
from .elements import HEX8, LINE2, QUAD4, TET4, TET10, TRI3, TRI6
from .elements.truss import TrussMaterial
from .elements.ut4 import UT4NodalIntegration
from .errors import ModelError
from .loads import COMPONENTS, FixedDisplacement, LoadCurve, NodalForce, Selection, SurfaceLoad
from .materials import MooneyRivlin, NeoHookean, Ogden, TransIsoMooneyRivlin
from .materials.active_contraction import ActiveFibreContraction, active_fibre_residual_tangent
from .mesh import Mesh, SolidBlock
from .problem import Problem
from .rigid import RigidBody, RigidCoupledSystem
from .solvers.newton import NewtonOptions

__all__ = ["FEBioError", "FEBioModel", "FebGeometry", "read_febio", "read_geometry", "solution_norm", "auto_penalty",
           "FEBIO_MATERIALS", "FEB_ELEMENTS", "FEB_FACETS"]

log = logging.getLogger(__name__)

#: FEBio material type -> fesolver equivalent (documentation; the mapping is in :func:`_material`)
FEBIO_MATERIALS = {
    "neo-Hookean": "NeoHookean(E, nu) - same energy",
    "Mooney-Rivlin": "MooneyRivlin(c1, c2, k) - same energy, U = k/2 (ln J)^2",
    "Ogden": "Ogden(mu_p = c_p / 2, alpha_p = m_p, K = k) - same energy, up to 3 non-zero terms",
    "trans iso Mooney-Rivlin": "TransIsoMooneyRivlin(c1, c2, k, c3, c4, c5, lam_max, fibre) "
                               "+ ActiveFibreContraction",
    "rigid body": "RigidBody(region, reference = centre of mass)",
    "linear truss": "TrussMaterial('linear', E, area)",
}

_SOLIDS = {"tet4": TET4, "tet10": TET10, "hex8": HEX8}
_FACETS = {"tri3": TRI3, "quad4": QUAD4}
_UNCOUPLED = (MooneyRivlin, Ogden, TransIsoMooneyRivlin)
_RIGID_DOFS = {"Rx": 0, "Ry": 1, "Rz": 2, "Ru": 3, "Rv": 4, "Rw": 5}


class FEBioError(ModelError):
    """An FEBio file uses something fesolver cannot read or represent (the message names it and its line)."""


# ------------------------------------------------------------------------------------------------
# XML with line numbers
# ------------------------------------------------------------------------------------------------
class _Node:
    """A parsed XML element: ``tag``, ``attrib``, ``text``, ``children``, ``line``."""

    __slots__ = ("tag", "attrib", "text", "children", "line")

    def __init__(self, tag: str, attrib: dict, line: int):
        self.tag, self.attrib, self.line = tag, attrib, line
        self.text = ""
        self.children: list[_Node] = []

    def get(self, key: str, default=None):
        return self.attrib.get(key, default)

    def find(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]


def _parse_xml(path: Path, error: type[Exception] | None = None) -> _Node:
    """Parse ``path`` into :class:`_Node` s; refuses DTDs and entities (nothing is fetched or expanded).
    Errors are raised as ``error`` (default :class:`FEBioError`)."""
    error = error or FEBioError
    p = xml.parsers.expat.ParserCreate()
    stack: list[_Node] = []
    root: list[_Node] = []

    def start(tag, attrs):
        n = _Node(tag, attrs, p.CurrentLineNumber)
        if stack:
            stack[-1].children.append(n)
        else:
            root.append(n)
        stack.append(n)

    def end(tag):
        stack.pop()

    def chars(data):
        if stack and not stack[-1].children:
            stack[-1].text += data

    def refuse(*args):
        raise error(f"{path}:{p.CurrentLineNumber}: DTDs and entity declarations are not accepted")

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    try:
        with open(path, "rb") as fh:
            p.ParseFile(fh)
    except xml.parsers.expat.ExpatError as exc:
        raise error(f"{path}: not a readable XML file ({exc})") from None
    if not root:
        raise error(f"{path}: no XML element in the file")
    return root[0]


# ------------------------------------------------------------------------------------------------
# The model
# ------------------------------------------------------------------------------------------------
@dataclass
class FEBioModel:
    """An FEBio model as a fesolver problem.

    Attributes
    ----------
    problem : Problem
        Finite-strain problem; the load factor ``t`` in 0..1 is FEBio time / ``end_time``.
    path : Path
    end_time : float
        FEBio's end time, ``time_steps * step_size``.
    node_ids : (nn,) int64
        FEBio node id of each fesolver node.
    mean_dilatation_blocks : list of int
        Solid blocks run with the three-field (mean dilatation) formulation, as FEBio does for hex8 elements
        with uncoupled materials.
    rigid_nodes : dict
        Rigid-body name -> extra nodes (outside its elements) that FEBio's ``rigid`` boundary condition attaches.
    febio_steps : int
        FEBio's number of time steps (for comparisons).
    """

    problem: Problem
    path: Path
    end_time: float
    node_ids: np.ndarray
    mean_dilatation_blocks: list[int] = field(default_factory=list)
    rigid_nodes: dict[str, np.ndarray] = field(default_factory=dict)
    febio_steps: int = 0

    def solve(self, progress: bool = False):
        """Solve; returns ``(result, info)`` with ``info = {"solution_norm", "iterations", "steps", "seconds"}``."""
        from .nonlinear import FiniteStrainSystem, _result
        from .solvers.newton import ConvergenceError, solve_newton

        problem = self.problem
        t0 = time.perf_counter()
        system = FiniteStrainSystem(problem)
        for k in self.mean_dilatation_blocks:
            system.blocks[k]["formulation"] = "mean_dilatation"
        bodies = problem.rigid_bodies
        solved = _FEBioRigidSystem(system, bodies, problem.mesh, self.rigid_nodes) if bodies else system
        try:
            q, records = solve_newton(solved, problem.newton, problem.solver, progress=progress)
        except ConvergenceError as exc:
            exc.args = (f"{self.path}: {exc.args[0]}",)
            raise
        seconds = time.perf_counter() - t0
        u = solved.displacement(q) if bodies else q
        res = _result(system, u, 1.0, records, seconds, rigid=solved.reactions(q, 1.0) if bodies else None)
        info = {
            "solution_norm": solution_norm(solved, q),
            "iterations": int(sum(r.iterations for r in records)),
            "steps": len(records),
            "seconds": seconds,
        }
        return res, info


class _FEBioRigidSystem(RigidCoupledSystem):
    """Rigid bodies whose node lists also hold the nodes FEBio's ``rigid`` boundary condition attaches."""

    def __init__(self, base, bodies, mesh, extra_nodes: dict[str, np.ndarray]):
        super().__init__(base, bodies, mesh)
        if not extra_nodes:
            return
        for b, body in enumerate(bodies):
            extra = np.setdiff1d(np.asarray(extra_nodes.get(body.name, []), dtype=np.int64), self.nodes[b])
            if extra.size == 0:
                continue
            if np.any(self.owner[extra] >= 0):
                raise FEBioError(f"rigid body {body.name!r}: node {int(extra[self.owner[extra] >= 0][0])} is "
                                 f"already on another rigid body")
            self.owner[extra] = b
            self.nodes[b] = np.concatenate([self.nodes[b], extra])
            self.arms[b] = mesh.points[self.nodes[b]] - self.refs[b]
        slaved = np.flatnonzero(self.owner >= 0)
        self.slaved_dofs = (3 * slaved[:, None] + np.arange(3)).ravel()
        bc_fixed = np.setdiff1d(base.fixed_dofs, self.slaved_dofs)
        rdofs = np.array([d for d, _, _ in self._rvals], dtype=np.int64)
        self.fixed_dofs = np.unique(np.concatenate([bc_fixed, self.slaved_dofs, rdofs]))


def solution_norm(system, q: np.ndarray) -> float:
    """FEBio's ``solution_norm``: the Euclidean norm of the total solution of every equation DOF.

    FEBio's ``FELogSolutionNorm`` is ``l2_norm(solver->GetSolutionVector())``, the solid solver's accumulated
    solution over its equations: node displacements that are neither fixed nor prescribed nor on a rigid body,
    plus each rigid body's free translation [mm] and rotation [rad] DOFs. Here: ``q`` at the free DOFs of the
    (rigid-coupled) system, whose rigid unknowns are the same translation and rotation vector.
    """
    free = np.ones(system.n_dofs, dtype=bool)
    free[system.fixed_dofs] = False
    return float(np.linalg.norm(q[free]))


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------
class _Reader:
    """Helpers that raise ``error`` (default :class:`FEBioError`) with ``file:line``."""

    def __init__(self, path: Path, error: type[Exception] | None = None):
        self.path = path
        self.error = error or FEBioError

    def err(self, node: _Node | None, msg: str) -> Exception:
        where = f"{self.path}:{node.line}" if node is not None else str(self.path)
        return self.error(f"{where}: {msg}")

    def floats(self, node: _Node, n: int | None = None) -> np.ndarray:
        parts = [t for t in re.split(r"[,\s]+", node.text.strip()) if t]
        try:
            v = np.array([float(t) for t in parts])
        except ValueError:
            raise self.err(node, f"<{node.tag}> must hold numbers, got {node.text.strip()!r}") from None
        if n is not None and v.size != n:
            raise self.err(node, f"<{node.tag}> must hold {n} numbers, got {v.size}")
        return v

    def scalar(self, parent: _Node, tag: str, default: float | None = None) -> float:
        c = parent.find(tag)
        if c is None:
            if default is None:
                raise self.err(parent, f"<{parent.tag}> needs <{tag}>")
            return default
        return float(self.floats(c, 1)[0])

    def text(self, parent: _Node, tag: str, default: str | None = None) -> str:
        c = parent.find(tag)
        if c is None:
            if default is None:
                raise self.err(parent, f"<{parent.tag}> needs <{tag}>")
            return default
        return c.text.strip()

    def only(self, node: _Node, allowed: set[str], what: str) -> None:
        for c in node.children:
            if c.tag not in allowed:
                raise self.err(c, f"{what}: <{c.tag}> is not supported by fesolver (supported: {sorted(allowed)})")


#: element types of ``<Elements type=...>`` the geometry reader accepts (solids and two-node trusses)
FEB_ELEMENTS = {"tet4": TET4, "tet10": TET10, "hex8": HEX8, "line2": LINE2}
#: facet tags of ``<Surface>`` the geometry reader accepts
FEB_FACETS = {"tri3": TRI3, "tri6": TRI6, "quad4": QUAD4}


@dataclass
class FebGeometry:
    """The geometry section of an FEBio file (``<Geometry>`` of febio_spec 2.5, ``<Mesh>`` of 3.0 and 4.0).

    Attributes
    ----------
    points : (nn, 3) float, in the file's order of ``<node>`` s
    node_ids : (nn,) int, the FEBio id of each point
    blocks : list of (name, type, conn, node)
        One per ``<Elements>`` block: its name (``name``, else ``elset``, else ``mat<id>``, else ``part<k>``),
        FEBio type (a key of :data:`FEB_ELEMENTS`), connectivity as 0-based node indices, and the XML node (for
        messages).
    node_sets : dict name -> node indices
    surfaces : dict name -> list of (facet tag, conn)
    surface_nodes : dict name -> XML node
    """

    points: np.ndarray
    node_ids: np.ndarray
    blocks: list
    node_sets: dict
    surfaces: dict
    surface_nodes: dict


def _index_rows(r: _Reader, nodes: list[_Node], width: int, what: str) -> np.ndarray:
    """Rows of ``width`` integers from the comma / space separated texts of ``nodes`` (an error names ``what``,
    the entry and its line)."""
    rows = [[t for t in re.split(r"[,\s]+", (x.text or "").strip()) if t] for x in nodes]
    bad = next((i for i, row in enumerate(rows) if len(row) != width), None)
    if bad is not None:
        raise r.err(nodes[bad], f"{what}: entry {bad + 1} has {len(rows[bad])} values, expected {width}")
    try:
        return np.array(rows, dtype=np.int64).reshape(-1, width)
    except ValueError as exc:
        raise r.err(nodes[0], f"{what}: not an integer ({exc})") from None


#: febio_spec versions whose geometry :func:`read_geometry` reads (``fesolver solve`` reads whole models of 4.0)
GEOMETRY_VERSIONS = ("2.5", "3.0", "4.0")


def read_geometry(path, error: type[Exception] | None = None) -> FebGeometry:
    """The geometry of the FEBio file ``path`` (``febio_spec`` 2.5 ``<Geometry>``, 3.0 / 4.0 ``<Mesh>``): nodes,
    element blocks, node sets and surfaces (:class:`FebGeometry`). Errors are raised as ``error`` (default
    :class:`FEBioError`) naming ``file:line``: a missing file, another version, no geometry section, and what
    the geometry parser refuses."""
    path = Path(path)
    error = error or FEBioError
    if not path.is_file():
        raise error(f"{path}: file not found")
    r = _Reader(path, error=error)
    root = _parse_xml(path, error=error)
    version = root.get("version")
    if root.tag != "febio_spec" or version not in GEOMETRY_VERSIONS:
        raise r.err(root, f"expected <febio_spec version=...> with version {' / '.join(GEOMETRY_VERSIONS)}, "
                          f"got <{root.tag} version={version!r}>")
    geo = root.find("Geometry") if version == "2.5" else root.find("Mesh")
    if geo is None:
        geo = root.find("Mesh") if version == "2.5" else root.find("Geometry")
    if geo is None:
        raise r.err(root, "no <Geometry> or <Mesh> section")
    return _parse_geometry(r, geo)


def _parse_geometry(r: _Reader, geo: _Node) -> FebGeometry:
    """Nodes, element blocks, node sets and surfaces of an FEBio geometry section (see :class:`FebGeometry`).

    Node ids may be any integers; element connectivities, node sets and surfaces are mapped to 0-based indices.
    Raises ``r.error`` naming ``file:line`` for an unsupported element or facet type, a row with the wrong number
    of nodes, duplicate or unknown node ids, or a geometry kept in another file."""
    if geo.get("from"):
        raise r.err(geo, f"the geometry is in another file ({geo.get('from')!r}); give that file instead")
    ids, coords = [], []
    for blk in geo.findall("Nodes"):
        for n in blk.findall("node"):
            try:
                ids.append(int(n.get("id")))
            except (TypeError, ValueError):
                raise r.err(n, f"<node> needs an integer id, got {n.get('id')!r}") from None
            coords.append(r.floats(n, 3))
    if not ids:
        raise r.err(geo, "no <Nodes> in the geometry")
    node_ids = np.array(ids, dtype=np.int64)
    order = np.argsort(node_ids, kind="stable")
    dup = np.diff(node_ids[order]) == 0
    if np.any(dup):
        raise r.err(geo, f"duplicate node ids {np.unique(node_ids[order][1:][dup])[:10].tolist()}")
    points = np.array(coords, dtype=np.float64).reshape(-1, 3)

    def index(nids, node: _Node, what: str) -> np.ndarray:
        nids = np.asarray(nids, dtype=np.int64)
        pos = np.minimum(np.searchsorted(node_ids, nids, sorter=order), node_ids.size - 1)
        found = node_ids[order[pos]] == nids
        if not np.all(found):
            raise r.err(node, f"{what} references unknown node ids {np.unique(nids[~found])[:10].tolist()}")
        return order[pos]

    blocks = []
    for k, blk in enumerate(geo.findall("Elements"), start=1):
        etype = blk.get("type", "")
        name = blk.get("name") or blk.get("elset") or (f"mat{blk.get('mat')}" if blk.get("mat") else f"part{k}")
        elems = blk.findall("elem")
        if etype not in FEB_ELEMENTS:
            raise r.err(blk, f"element type {etype or '?'!r} (block {name!r}) is not supported; "
                             f"fesolver reads {sorted(FEB_ELEMENTS)}")
        what = f"<Elements type={etype!r} name={name!r}>"
        conn = _index_rows(r, elems, FEB_ELEMENTS[etype].n_nodes, what)
        blocks.append((name, etype, index(conn, blk, what), blk))
    node_sets = {}
    for ns in geo.findall("NodeSet"):
        name = ns.get("name") or f"nodeset{len(node_sets) + 1}"
        kids = [c.get("id") for c in ns.children if c.tag in ("n", "node")]
        texts = kids if kids else [t for t in re.split(r"[,\s]+", ns.text or "") if t]
        try:
            nid = np.array([int(t) for t in texts], dtype=np.int64)
        except (TypeError, ValueError):
            raise r.err(ns, f"<NodeSet name={name!r}> must list integer node ids") from None
        node_sets[name] = index(nid, ns, f"<NodeSet name={name!r}>")
    surfaces, surface_nodes = {}, {}
    for s in geo.findall("Surface"):
        name = s.get("name") or f"surface{len(surfaces) + 1}"
        by_type: dict[str, list] = {}
        for f in s.children:
            if f.tag not in FEB_FACETS:
                raise r.err(f, f"surface {name!r}: facet type <{f.tag}> is not supported ({sorted(FEB_FACETS)})")
            by_type.setdefault(f.tag, []).append(f)
        what = f"<Surface name={name!r}>"
        surfaces[name] = [(t, index(_index_rows(r, v, FEB_FACETS[t].n_nodes, what), s, what))
                          for t, v in by_type.items()]
        surface_nodes[name] = s
    return FebGeometry(points, node_ids, blocks, node_sets, surfaces, surface_nodes)


def read_febio(path) -> FEBioModel:
    """Read an FEBio input file (``febio_spec`` 4.0) into an :class:`FEBioModel`.

    Raises
    ------
    FEBioError
        A section, element type, material, boundary condition, load, contact or option fesolver cannot
        represent; the message names it and gives ``file:line``.
    """
    path = Path(path)
    if not path.is_file():
        raise FEBioError(f"{path}: FEBio file not found")
    r = _Reader(path)
    root = _parse_xml(path)
    version = root.get("version")
    if root.tag != "febio_spec" or version != "4.0":
        raise r.err(root, f"expected <febio_spec version=\"4.0\">, got <{root.tag} version={version!r}> "
                          f"(convert older files with FEBio Studio)")
    known = {"Module", "Control", "Globals", "Material", "Mesh", "MeshDomains", "Boundary", "Loads", "Rigid",
             "Contact", "Constraints", "LoadData", "Output"}
    r.only(root, known, "top-level section")
    mod = root.find("Module")
    if mod is not None and mod.get("type", "solid") != "solid":
        raise r.err(mod, f"module type {mod.get('type')!r} is not supported (only 'solid')")

    # -- control --------------------------------------------------------------------------------
    ctrl = root.find("Control")
    if ctrl is None:
        raise r.err(root, "no <Control> section")
    analysis = r.text(ctrl, "analysis", "STATIC").upper()
    if analysis != "STATIC":
        raise r.err(ctrl.find("analysis"), f"analysis {analysis!r} is not supported (only STATIC)")
    nsteps = int(r.scalar(ctrl, "time_steps"))
    dt = r.scalar(ctrl, "step_size")
    end_time = nsteps * dt
    if not end_time > 0:
        raise r.err(ctrl, f"time_steps x step_size must be > 0, got {end_time}")
    stepper = ctrl.find("time_stepper")
    dtmax = r.scalar(stepper, "dtmax", dt) if stepper is not None else dt
    first = min(dt / end_time, 1.0)
    newton = NewtonOptions(initial_step=first, max_step=max(first, min(dtmax / end_time, 1.0)),
                           min_step=min(1e-4, first))

    # -- load curves ----------------------------------------------------------------------------
    curves: dict[str, LoadCurve] = {}
    ld = root.find("LoadData")
    if ld is not None:
        for lc in ld.children:
            if lc.tag != "load_controller" or lc.get("type") != "loadcurve":
                raise r.err(lc, f"load controller <{lc.tag} type={lc.get('type')!r}> is not supported "
                                f"(only type=\"loadcurve\")")
            interp = r.text(lc, "interpolate", "LINEAR").upper()
            extend = r.text(lc, "extend", "CONSTANT").upper()
            pts_node = lc.find("points")
            if pts_node is None:
                raise r.err(lc, "load curve without <points>")
            pts = np.array([r.floats(p, 2) for p in pts_node.findall("pt")])
            if extend != "CONSTANT":
                raise r.err(lc, f"load curve extend {extend!r} is not supported (only CONSTANT)")
            if interp not in ("LINEAR", "SMOOTH") or (interp == "SMOOTH" and len(pts) > 2):
                raise r.err(lc, f"load curve interpolation {interp!r} is not supported (LINEAR, or SMOOTH through "
                                f"two points)")
            pts[:, 0] /= end_time
            curves[lc.get("id")] = LoadCurve(tuple(map(tuple, pts)), name=lc.get("name", f"lc{lc.get('id')}"))

    def curve(node: _Node) -> LoadCurve:
        lcid = node.get("lc")
        if lcid is None:
            return LoadCurve(((0.0, 1.0), (1.0, 1.0)), name="constant")
        if lcid not in curves:
            raise r.err(node, f"load curve {lcid} is not defined in <LoadData>")
        return curves[lcid]

    # -- mesh -----------------------------------------------------------------------------------
    mesh_node = root.find("Mesh")
    if mesh_node is None:
        raise r.err(root, "no <Mesh> section")
    geo = _parse_geometry(r, mesh_node)
    points, node_ids, node_sets = geo.points, geo.node_ids, geo.node_sets
    solids, lines = [], []
    block_of: dict[str, tuple[str, int]] = {}  # Elements name -> ("solid" | "line", block index)
    for name, etype, conn, _ in geo.blocks:
        if etype == "line2":
            lines.append(SolidBlock(LINE2, conn))
            block_of[name] = ("line", len(lines) - 1)
        else:
            solids.append(SolidBlock(_SOLIDS[etype], conn))
            block_of[name] = ("solid", len(solids) - 1)
    facet_sets = {}
    for name, parts in geo.surfaces.items():
        bad = [t for t, _ in parts if t not in _FACETS]
        if bad:
            raise r.err(geo.surface_nodes[name], f"surface {name!r}: {bad[0]} facets are not supported in FEBio "
                                                 f"models ({sorted(_FACETS)})")
        facet_sets[name] = [(_FACETS[t], conn) for t, conn in parts]
    pairs = {}
    for sp_ in mesh_node.findall("SurfacePair"):
        pairs[sp_.get("name")] = (r.text(sp_, "primary"), r.text(sp_, "secondary"), sp_)
    r.only(mesh_node, {"Nodes", "Elements", "NodeSet", "Surface", "SurfacePair", "ElementSet"}, "<Mesh>")

    cell_sets = {name: {k: np.arange(solids[k].cells.shape[0])} for name, (kind, k) in block_of.items()
                 if kind == "solid"}
    line_sets = {name: {k: np.arange(lines[k].cells.shape[0])} for name, (kind, k) in block_of.items()
                 if kind == "line"}
    mesh = Mesh(points, solids, lines=lines, cell_sets=cell_sets, facet_sets=facet_sets, node_sets=node_sets,
                line_sets=line_sets, source=str(path))

    # -- materials ------------------------------------------------------------------------------
    mats: dict[str, tuple[str, object, _Node]] = {}
    mat_sec = root.find("Material")
    for m in (mat_sec.children if mat_sec is not None else []):
        mats[m.get("name", m.get("id"))] = _material(r, m, curve)
        mats.setdefault(m.get("id"), mats[m.get("name", m.get("id"))])

    # -- domains --------------------------------------------------------------------------------
    materials, trusses, rigid_regions, active, ut4 = {}, {}, {}, [], []
    md_blocks: list[int] = []
    dom = root.find("MeshDomains")
    if dom is None:
        raise r.err(root, "no <MeshDomains> section")
    for d in dom.children:
        name, mname = d.get("name"), d.get("mat")
        if name not in block_of:
            raise r.err(d, f"domain {name!r} is not an <Elements> block of the mesh")
        if mname not in mats:
            raise r.err(d, f"domain {name!r}: material {mname!r} is not defined")
        kind, k = block_of[name]
        mkind, mat, mnode = mats[mname]
        if d.tag == "SolidDomain":
            if kind != "solid":
                raise r.err(d, f"SolidDomain {name!r} is a block of line elements")
            dtype = d.get("type")
            if dtype not in (None, "", "elastic-solid", "three-field-solid", "ut4-solid"):
                raise r.err(d, f"solid domain formulation {dtype!r} is not supported by fesolver (elastic-solid, "
                               f"three-field-solid, ut4-solid)")
            r.only(d, {"alpha", "iso_stab"} if dtype == "ut4-solid" else set(), f"SolidDomain {name!r}")
            if dtype == "ut4-solid":
                if solids[k].etype is not TET4 or mkind != "solid":
                    raise r.err(d, f"ut4-solid domain {name!r} needs tet4 elements and a deformable material")
                if r.scalar(d, "iso_stab", 0.0) != 0.0:
                    raise r.err(d.find("iso_stab"), f"ut4-solid domain {name!r}: iso_stab = 1 (deviatoric "
                                                    f"stabilisation) is not supported (only 0)")
                ut4.append((k, mat[0], r.scalar(d, "alpha", 0.05), name))
            if mkind == "rigid":
                rigid_regions[name] = (mname, mat)
                materials[name] = NeoHookean(1.0, 0.0)  # ignored: a rigid motion strains nothing
                continue
            if mkind != "solid":
                raise r.err(d, f"material {mname!r} ({mnode.get('type')}) cannot be used on solid elements")
            solid_mat, act = mat
            materials[name] = solid_mat
            if act is not None:
                active.append((k, solid_mat, act[0], act[1]))
            uncoupled = isinstance(solid_mat, _UNCOUPLED)
            if (dtype == "three-field-solid" or (dtype in (None, "") and uncoupled)) and \
                    solids[k].etype is HEX8 and uncoupled:
                md_blocks.append(k)
            elif dtype == "three-field-solid":
                raise r.err(d, "three-field-solid needs hex8 elements and an uncoupled material")
        elif d.tag == "BeamDomain":
            if kind != "line" or d.get("type") != "linear-truss" or mkind != "truss":
                raise r.err(d, f"beam domain {name!r} type {d.get('type')!r} is not supported (only "
                               f"'linear-truss' with a 'linear truss' material on line2 elements)")
            r.only(d, {"cross_sectional_area"}, f"BeamDomain {name!r}")
            area = r.scalar(d, "cross_sectional_area")
            trusses[name] = TrussMaterial("linear", E=mat, area=area, name=mname)
        else:
            raise r.err(d, f"domain <{d.tag}> is not supported (SolidDomain, BeamDomain)")
    missing = [n for n, (kind, _) in block_of.items() if n not in materials and n not in trusses]
    if missing:
        raise r.err(dom, f"element blocks {missing} have no domain")

    # -- rigid bodies -----------------------------------------------------------------------------
    bodies: dict[str, dict] = {}
    for region, (mname, _) in rigid_regions.items():
        k = block_of[region][1]
        bodies[mname] = {"region": region, "reference": tuple(_centre_of_mass(mesh, k)), "prescribed": {},
                         "force": np.zeros(3), "moment": np.zeros(3), "curve": None, "nodes": []}

    def body_of(node: _Node) -> dict:
        rb = r.text(node, "rb")
        if rb not in bodies:
            raise r.err(node, f"rigid body {rb!r} is not a material of type 'rigid body' used by a domain")
        return bodies[rb]

    def set_curve(b: dict, c: LoadCurve, node: _Node) -> None:
        if b["curve"] is not None and b["curve"] is not c and c.name != "constant":
            raise r.err(node, "a rigid body with two different load curves is not supported by fesolver")
        if c.name != "constant" or b["curve"] is None:
            b["curve"] = c

    # -- boundary conditions -------------------------------------------------------------------
    bcs = []
    bnd = root.find("Boundary")
    for bc in (bnd.children if bnd is not None else []):
        btype, name = bc.get("type"), bc.get("name", bc.tag)
        ns = bc.get("node_set")
        if ns is not None and ns not in node_sets:
            raise r.err(bc, f"node set {ns!r} is not defined")
        if btype == "zero displacement":
            r.only(bc, {"x_dof", "y_dof", "z_dof"}, f"bc {name!r}")
            vals = {i: 0.0 for i, c in enumerate("xyz") if r.scalar(bc, f"{c}_dof", 0.0) != 0.0}
            if vals:
                bcs.append(FixedDisplacement(Selection(name=ns), vals, name=name))
        elif btype == "prescribed displacement":
            r.only(bc, {"dof", "value", "relative"}, f"bc {name!r}")
            if r.scalar(bc, "relative", 0.0) != 0.0:
                raise r.err(bc, f"bc {name!r}: relative prescribed displacement is not supported")
            dof = r.text(bc, "dof")
            if dof not in COMPONENTS:
                raise r.err(bc, f"bc {name!r}: dof {dof!r} is not a displacement component (x, y, z)")
            vnode = bc.find("value")
            bcs.append(FixedDisplacement(Selection(name=ns), {COMPONENTS[dof]: float(r.floats(vnode, 1)[0])},
                                         name=name, curve=curve(vnode)))
        elif btype == "rigid":
            r.only(bc, {"rb"}, f"bc {name!r}")
            body_of(bc)["nodes"].append(node_sets[ns])
        else:
            raise r.err(bc, f"boundary condition type {btype!r} is not supported (zero displacement, prescribed "
                            f"displacement, rigid)")

    # -- loads ----------------------------------------------------------------------------------
    loads = []
    lsec = root.find("Loads")
    for lo in (lsec.children if lsec is not None else []):
        ltype, name = lo.get("type"), lo.get("name", lo.tag)
        if lo.tag == "nodal_load" and ltype in ("nodal_force", "nodal_load"):
            ns = lo.get("node_set")
            if ns not in node_sets:
                raise r.err(lo, f"node set {ns!r} is not defined")
            if r.scalar(lo, "relative", 0.0) != 0.0:
                raise r.err(lo, f"load {name!r}: relative nodal loads are not supported")
            r.only(lo, {"relative", "value", "dof", "scale", "shell_bottom"}, f"nodal load {name!r}")
            n = node_sets[ns].size
            if ltype == "nodal_force":
                vnode = lo.find("value")
                per_node = r.floats(vnode, 3)
            else:
                vnode = lo.find("scale")
                per_node = np.zeros(3)
                dof = r.text(lo, "dof")
                if dof not in COMPONENTS:
                    raise r.err(lo, f"load {name!r}: dof {dof!r} is not x, y or z")
                per_node[COMPONENTS[dof]] = r.floats(vnode, 1)[0]
            loads.append(NodalForce(Selection(name=ns), tuple(per_node * n), name=name, curve=curve(vnode)))
        elif lo.tag == "surface_load" and ltype == "pressure":
            surf = lo.get("surface")
            if surf not in facet_sets:
                raise r.err(lo, f"surface {surf!r} is not defined")
            if r.scalar(lo, "linear", 0.0) == 0.0:
                raise r.err(lo, f"load {name!r}: follower pressure (<linear>0</linear>, FEBio's default) is not "
                                f"supported; fesolver's pressure is a dead load (<linear>1</linear>)")
            r.only(lo, {"pressure", "linear", "symmetric_stiffness", "shell_bottom"}, f"pressure {name!r}")
            pnode = lo.find("pressure")
            loads.append(SurfaceLoad(Selection(name=surf), pressure=float(r.floats(pnode, 1)[0]), name=name,
                                     curve=curve(pnode)))
        else:
            raise r.err(lo, f"load <{lo.tag} type={ltype!r}> is not supported (nodal_force, nodal_load, pressure)")

    # -- rigid constraints and loads ------------------------------------------------------------
    rsec = root.find("Rigid")
    for rc in (rsec.children if rsec is not None else []):
        rtype, b = rc.get("type"), None
        if rc.tag == "rigid_bc" and rtype == "rigid_fixed":
            b = body_of(rc)
            for key, i in _RIGID_DOFS.items():
                if r.scalar(rc, f"{key}_dof", 0.0) != 0.0:
                    b["prescribed"][i] = 0.0
        elif rc.tag == "rigid_bc" and rtype in ("rigid_displacement", "rigid_rotation"):
            b = body_of(rc)
            dof = r.text(rc, "dof")
            if dof not in _RIGID_DOFS or r.scalar(rc, "relative", 0.0) != 0.0:
                raise r.err(rc, f"rigid bc {rc.get('name')!r}: dof {dof!r} / relative motion not supported")
            vnode = rc.find("value")
            b["prescribed"][_RIGID_DOFS[dof]] = float(r.floats(vnode, 1)[0])
            set_curve(b, curve(vnode), rc)
        elif rc.tag == "rigid_load" and rtype == "rigid_force":
            b = body_of(rc)
            dof = r.text(rc, "dof")
            if dof not in _RIGID_DOFS or r.text(rc, "load_type", "LOAD").upper() != "LOAD" or \
                    r.scalar(rc, "relative", 0.0) != 0.0:
                raise r.err(rc, f"rigid force {rc.get('name')!r}: only load_type LOAD, absolute, on Rx..Rw")
            vnode = rc.find("value")
            i = _RIGID_DOFS[dof]
            (b["force"] if i < 3 else b["moment"])[i % 3] += float(r.floats(vnode, 1)[0])
            set_curve(b, curve(vnode), rc)
        else:
            raise r.err(rc, f"rigid <{rc.tag} type={rtype!r}> is not supported (rigid_fixed, rigid_displacement, "
                            f"rigid_rotation, rigid_force)")
    rigid_bodies, rigid_nodes = [], {}
    for mname, b in bodies.items():
        rigid_bodies.append(RigidBody(b["region"], reference=b["reference"], prescribed=b["prescribed"],
                                      force=tuple(b["force"]), moment=tuple(b["moment"]),
                                      curve=b["curve"] or curves.get("1") or LoadCurve(((0, 0), (1, 1))),
                                      name=mname))
        if b["nodes"]:
            rigid_nodes[mname] = np.unique(np.concatenate(b["nodes"]))

    # -- contact and constraints -----------------------------------------------------------------
    contacts: list = []
    block_materials = {k: (None if name in rigid_regions else materials[name])
                       for name, (kind, k) in block_of.items() if kind == "solid"}
    csec = root.find("Contact")
    for c in (csec.children if csec is not None else []):
        contacts.extend(_surface_contact(r, c, mesh, block_materials, pairs))
    ksec = root.find("Constraints")
    for c in (ksec.children if ksec is not None else []):
        contacts.append(_rigid_wall(r, c, mesh, curve))

    actives = [_ActiveContraction(k, mat, act, crv) for k, mat, act, crv in active]
    contacts += actives
    contacts += [UT4NodalIntegration(k, mat, alpha, name=f"ut4_{name}") for k, mat, alpha, name in ut4]
    if actives:
        # an active stress is an internal load: with no external force the reactions (the residual's scale) can
        # vanish at equilibrium (a free fibre contracting), so convergence is judged by the energy norm alone, as
        # FEBio does with rtol = 0 (fesolver's energy tolerance, 1e-14 of the first iteration's, is the tighter)
        newton = NewtonOptions(initial_step=newton.initial_step, max_step=newton.max_step,
                               min_step=newton.min_step, rtol_residual=float("inf"))
    problem = Problem(mesh, materials, bcs=bcs, loads=loads, analysis="nonlinear", newton=newton,
                      trusses=trusses, rigid_bodies=rigid_bodies, contacts=contacts, hex8="full",
                      title=path.stem)
    return FEBioModel(problem, path, end_time, node_ids, md_blocks, rigid_nodes, nsteps)


def _material(r: _Reader, m: _Node, curve):
    """``(kind, fesolver material, node)``; kind ``solid`` (material, active or None), ``rigid``, ``truss`` (E)."""
    mtype, name = m.get("type"), m.get("name", m.get("id"))
    label = f"material {name!r} ({mtype})"
    pm = m.find("pressure_model")
    if pm is not None and pm.text.strip() != "default":
        raise r.err(pm, f"{label}: pressure_model {pm.text.strip()!r} is not supported (only default: "
                        f"U = k/2 (ln J)^2)")
    if mtype == "neo-Hookean":
        r.only(m, {"density", "E", "v"}, label)
        return "solid", (NeoHookean(r.scalar(m, "E"), r.scalar(m, "v"), name=name), None), m
    if mtype == "Mooney-Rivlin":
        r.only(m, {"density", "k", "pressure_model", "c1", "c2"}, label)
        return "solid", (MooneyRivlin(r.scalar(m, "c1"), r.scalar(m, "c2", 0.0), r.scalar(m, "k"), name=name),
                         None), m
    if mtype == "Ogden":
        keys = {f"{p}{i}" for p in "cm" for i in range(1, 7)}
        r.only(m, {"density", "k", "pressure_model"} | keys, label)
        terms = [(r.scalar(m, f"c{i}", 0.0), r.scalar(m, f"m{i}", 1.0)) for i in range(1, 7)]
        terms = [(c, a) for c, a in terms if c != 0.0]
        if not 1 <= len(terms) <= 3:
            raise r.err(m, f"{label}: fesolver's Ogden takes 1 to 3 non-zero terms, got {len(terms)}")
        # FEBio: W = sum c_p / m_p^2 (...); fesolver: W = sum 2 mu_p / alpha_p^2 (...)
        return "solid", (Ogden(tuple(0.5 * c for c, _ in terms), tuple(a for _, a in terms), r.scalar(m, "k"),
                               name=name), None), m
    if mtype == "trans iso Mooney-Rivlin":
        r.only(m, {"density", "k", "pressure_model", "c1", "c2", "c3", "c4", "c5", "lam_max", "fiber",
                   "active_contraction"}, label)
        fib = m.find("fiber")
        fibre = (1.0, 0.0, 0.0)
        if fib is not None:
            if fib.get("type") != "vector":
                raise r.err(fib, f"{label}: fiber type {fib.get('type')!r} is not supported (only vector)")
            fibre = tuple(r.floats(fib.find("vector"), 3))
        mat = TransIsoMooneyRivlin(r.scalar(m, "c1"), r.scalar(m, "c2", 0.0), r.scalar(m, "k"), r.scalar(m, "c3"),
                                   r.scalar(m, "c4"), r.scalar(m, "c5"), r.scalar(m, "lam_max"), fibre=fibre,
                                   name=name)
        act = None
        ac = m.find("active_contraction")
        if ac is not None:
            r.only(ac, {"ascl", "Tmax", "ca0", "camax", "beta", "l0", "refl"}, f"{label} active_contraction")
            asc = ac.find("ascl")
            act = (ActiveFibreContraction(Tmax=r.scalar(ac, "Tmax"), ca0=r.scalar(ac, "ca0"),
                                          camax=r.scalar(ac, "camax", 0.0), beta=r.scalar(ac, "beta"),
                                          l0=r.scalar(ac, "l0"), refl=r.scalar(ac, "refl"),
                                          ascl=r.scalar(ac, "ascl", 0.0)),
                   curve(asc) if asc is not None else None)
        return "solid", (mat, act), m
    if mtype == "rigid body":
        r.only(m, {"density", "E", "v", "center_of_mass"}, label)
        if m.find("center_of_mass") is not None:
            raise r.err(m.find("center_of_mass"), f"{label}: an explicit center_of_mass is not supported")
        return "rigid", None, m
    if mtype == "linear truss":
        r.only(m, {"density", "E"}, label)
        return "truss", r.scalar(m, "E"), m
    raise r.err(m, f"material type {mtype!r} ({name!r}) is not supported; fesolver maps "
                   f"{sorted(FEBIO_MATERIALS)}")


def _laugon(r: _Reader, c: _Node, label: str) -> bool:
    """FEBio's ``laugon``: False for ``PENALTY`` / 0, True for ``AUGLAG`` / 1; anything else is refused."""
    v = r.text(c, "laugon", "0").upper()
    if v in ("0", "PENALTY", "FALSE"):
        return False
    if v in ("1", "AUGLAG", "TRUE"):
        return True
    raise r.err(c.find("laugon"), f"{label}: laugon {v!r} is not supported (PENALTY or AUGLAG)")


def _reference_facet_areas(points: np.ndarray, ftype, conn: np.ndarray) -> np.ndarray:
    """Reference area [mm^2] of each facet (its own quadrature)."""
    xi, w = ftype.rule(None)
    dN = ftype.dshape(xi)
    X = points[conn]
    g0 = np.einsum("qa,fai->fqi", dN[:, :, 0], X)
    g1 = np.einsum("qa,fai->fqi", dN[:, :, 1], X)
    return (np.linalg.norm(np.cross(g0, g1), axis=2) * w).sum(axis=1)


def _element_volumes(mesh: Mesh, block: int) -> np.ndarray:
    """Reference volume [mm^3] of each element of a solid block."""
    b = mesh.solids[block]
    xi, w = b.etype.rule()
    dN = b.etype.dshape(xi)
    Jac = np.einsum("eai,qaj->eqij", mesh.points[b.cells], dN)
    return (np.linalg.det(Jac) * w[None, :]).sum(axis=1)


def auto_penalty(mesh: Mesh, block_materials: dict, facets: list, what: str = "surface") -> np.ndarray:
    """FEBio's ``auto_penalty`` scale of each facet [MPa/mm]: ``E_n A / V`` (``FEContactInterface::AutoPenalty``).

    ``E_n = 1 / (n . C^-1 : (n x n) . n)`` is the normal stiffness of the facet's element material at ``F = I``
    (Young's modulus for an isotropic material; fesolver uses ``small_strain_moduli()[0]``, exact for the
    isotropic materials and the isotropic part of a fibre material, whose fibres are slack at ``F = I``),
    ``A`` the facet's reference area and ``V`` the reference volume of the solid element the facet is a face
    of. FEBio multiplies it by the contact's ``penalty``.

    Parameters
    ----------
    mesh : Mesh
    block_materials : dict
        Solid block index -> material (None for a rigid block, which FEBio gives no penalty: refused).
    facets : list of (facet type, (nf, nfn) int64)
    what : str
        Name of the surface, for the error message.

    Returns
    -------
    (nf,) float64, facets in the order of ``facets``.
    """
    import scipy.sparse as sp

    rows, offs = [], [0]
    for b in mesh.solids:
        offs.append(offs[-1] + b.cells.shape[0])
    nn = mesh.n_nodes
    cols = np.concatenate([b.cells.ravel() for b in mesh.solids])
    elem = np.concatenate([np.repeat(np.arange(offs[k], offs[k + 1]), b.cells.shape[1])
                           for k, b in enumerate(mesh.solids)])
    incidence = sp.csr_matrix((np.ones(cols.size), (cols, elem)), shape=(nn, offs[-1]))
    vols = {k: _element_volumes(mesh, k) for k in range(len(mesh.solids))}
    out = []
    for ftype, conn in facets:
        corners = conn[:, :ftype.corner_nodes]
        nf, nc = corners.shape
        rows = sp.csr_matrix((np.ones(corners.size), (np.repeat(np.arange(nf), nc), corners.ravel())),
                             shape=(nf, nn))
        hits = (rows @ incidence).tocoo()
        owner = np.full(nf, -1, dtype=np.int64)
        full = hits.data >= nc - 0.5
        owner[hits.row[full]] = hits.col[full]  # a boundary facet is a face of exactly one element
        if np.any(owner < 0):
            raise FEBioError(f"{what}: facet {int(np.flatnonzero(owner < 0)[0])} is not a face of a solid element "
                             f"(FEBio's auto_penalty needs its element)")
        block = np.searchsorted(offs, owner, side="right") - 1
        area = _reference_facet_areas(mesh.points, ftype, conn)
        eps = np.empty(nf)
        for k in np.unique(block):
            sel = block == k
            mat = block_materials.get(int(k))
            if mat is None:
                raise FEBioError(f"{what}: auto_penalty on a rigid body's facets (FEBio gives them no penalty)")
            E = float(mat.small_strain_moduli()[0])
            eps[sel] = E * area[sel] / vols[int(k)][owner[sel] - offs[k]]
        out.append(eps)
    return np.concatenate(out)


_SLIDING_KEYS = {"laugon", "tolerance", "gaptol", "penalty", "auto_penalty", "two_pass", "knmult", "search_tol",
                 "search_radius", "seg_up", "minaug", "maxaug", "node_reloc", "smooth_aug", "update_penalty"}
_SLIDING_EXTRA = {
    "sliding-facet-on-facet": {"dxtol", "fric_coeff", "fric_penalty"},
    "sliding-elastic": {"symmetric_stiffness", "tension", "fric_coeff", "flip_primary", "flip_secondary",
                        "shell_bottom_primary", "shell_bottom_secondary", "offset"},
}
#: options that change the physics and have no fesolver equivalent: accepted only when off (0)
_SLIDING_OFF = ("node_reloc", "smooth_aug", "update_penalty", "tension", "flip_primary", "flip_secondary",
                "shell_bottom_primary", "shell_bottom_secondary", "offset")


def _surface_contact(r: _Reader, c: _Node, mesh: Mesh, block_materials: dict, pairs: dict) -> list:
    """FEBio ``sliding-facet-on-facet`` / ``sliding-elastic`` -> one single-pass :class:`SurfaceContact` per pass.

    FEBio's passes each carry the full traction ``eps g`` at the slave's integration points (two-pass adds the
    second pass at full weight, with the second surface's own auto penalty), so each pass becomes its own
    fesolver contact with ``symmetric=False``, its penalty the mean of FEBio's per-facet penalties of its slave
    surface (FEBio's ``penalty`` times :func:`auto_penalty`). FEBio integrates at the slave facets' Gauss points
    with a pressure per point; fesolver's contact pressure is per slave node (mortar weighted gap). The import uses
    ``subdivision="nodal"`` (node-on-facet with lumped nodal areas): with ``subdivision=0`` (the facets' own Gauss
    points) Newton stalls on co07 where the stiff, coarse cylinder lands on the soft block (the weighted gaps
    jump as Gauss points cross master edges); with a uniform gap (co01) both give FEBio's forces exactly.
    """
    ctype, name = c.get("type"), c.get("name", c.tag)
    label = f"contact {name!r} ({ctype})"
    if c.tag != "contact" or ctype not in _SLIDING_EXTRA:
        raise r.err(c, f"contact <{c.tag} type={ctype!r}> is not supported (sliding-facet-on-facet, "
                       f"sliding-elastic; rigid_wall under <Constraints>)")
    r.only(c, _SLIDING_KEYS | _SLIDING_EXTRA[ctype], label)
    for key in _SLIDING_OFF:
        if c.find(key) is not None and r.scalar(c, key) != 0.0:
            raise r.err(c.find(key), f"{label}: {key} = {r.scalar(c, key):g} is not supported by fesolver "
                                     f"(only 0)")
    sp_name = c.get("surface_pair")
    if sp_name not in pairs:
        raise r.err(c, f"{label}: surface pair {sp_name!r} is not defined in <Mesh>")
    primary, secondary, spnode = pairs[sp_name]
    for surf in (primary, secondary):
        if surf not in mesh.facet_sets:
            raise r.err(spnode, f"surface pair {sp_name!r}: surface {surf!r} is not defined")
    augment = _laugon(r, c, label)
    penalty = r.scalar(c, "penalty", 1.0)
    auto = r.scalar(c, "auto_penalty", 0.0) != 0.0
    two_pass = r.scalar(c, "two_pass", 0.0) != 0.0
    tol = r.scalar(c, "tolerance", 0.01 if ctype == "sliding-facet-on-facet" else 0.1)
    gaptol = r.scalar(c, "gaptol", 0.0)
    # FEBio ignores friction in facet-on-facet contact ("not implemented yet"); sliding-elastic has Coulomb
    mu = r.scalar(c, "fric_coeff", 0.0) if ctype == "sliding-elastic" else 0.0
    passes = [(primary, secondary)] + ([(secondary, primary)] if two_pass else [])
    out = []
    for k, (slave, master) in enumerate(passes):
        if auto:
            eps_f = penalty * auto_penalty(mesh, block_materials, mesh.facet_sets[slave], f"{label}: {slave!r}")
            eps = float(eps_f.mean())
            log.info("%s: pass %d, FEBio auto penalty per facet %.4g..%.4g (mean %.4g) MPa/mm", label, k + 1,
                     eps_f.min(), eps_f.max(), eps)
        else:
            eps = penalty
        out.append(SurfaceContact(slave=slave, master=master, name=name if k == 0 else f"{name} (pass 2)",
                                  friction=mu, penalty=eps, augmentation=augment, tol=tol, gap_tol=gaptol,
                                  symmetric=False, subdivision="nodal"))
    return out


def _rigid_wall(r: _Reader, c: _Node, mesh: Mesh, curve) -> _FEBioRigidWall:
    """FEBio ``rigid_wall`` constraint -> :class:`_FEBioRigidWall` (a :class:`~fesolver.contact.RigidPlane`)."""
    ctype, name = c.get("type"), c.get("name", c.tag)
    label = f"constraint {name!r} ({ctype})"
    if c.tag != "constraint" or ctype != "rigid_wall":
        raise r.err(c, f"constraint <{c.tag} type={ctype!r}> is not supported (only rigid_wall)")
    r.only(c, {"laugon", "tolerance", "penalty", "offset", "plane"}, label)
    surf = c.get("surface")
    if surf not in mesh.facet_sets:
        raise r.err(c, f"{label}: surface {surf!r} is not defined")
    pnode = c.find("plane")
    if pnode is None:
        raise r.err(c, f"{label} needs <plane>a,b,c,d</plane>")
    a = r.floats(pnode, 4)
    if not np.linalg.norm(a[:3]) > 0:
        raise r.err(pnode, f"{label}: the plane normal (a, b, c) is zero")
    pen = c.find("penalty")
    return _FEBioRigidWall(surface=surf, name=name, plane=tuple(a), febio_penalty=r.scalar(c, "penalty", 0.0),
                           penalty_curve=curve(pen) if pen is not None else None,
                           wall_offset=r.scalar(c, "offset", 0.0), augmentation=_laugon(r, c, label),
                           tol=r.scalar(c, "tolerance", 0.0), gap_tol=0.0)


def _centre_of_mass(mesh: Mesh, block: int) -> np.ndarray:
    """Volume-weighted centroid of a solid block (FEBio's rigid-body reference point, uniform density)."""
    b = mesh.solids[block]
    xi, w = b.etype.rule()
    N = b.etype.shape(xi)  # (nq, nen)
    dN = b.etype.dshape(xi)  # (nq, nen, 3)
    X = mesh.points[b.cells]  # (nel, nen, 3)
    Jac = np.einsum("eai,qaj->eqij", X, dN)
    dv = np.linalg.det(Jac) * w[None, :]
    xq = np.einsum("qa,eai->eqi", N, X)
    return (xq * dv[..., None]).sum(axis=(0, 1)) / dv.sum()


class _ActiveContraction:
    """FEBio's active fibre contraction on one solid block, as an extra internal force of the finite-strain system.

    Plugs into :class:`~fesolver.nonlinear.FiniteStrainSystem` through its ``contacts`` hooks (``setup``,
    ``add``, ``augment``, ``report``); the tangent is not symmetric.
    """

    symmetric_tangent = False

    def __init__(self, block: int, material, act: ActiveFibreContraction, crv: LoadCurve | None):
        self.block, self.act, self.crv = block, act, crv
        self.name = f"active_contraction_{getattr(material, 'name', block)}"
        self.fibre = np.asarray(material.fibre, dtype=float) / np.linalg.norm(material.fibre)

    def setup(self, system) -> None:
        blk = system.blocks[self.block]
        et = blk["etype"]
        xi, self.w = et.rule()
        self.dN = np.ascontiguousarray(et.dshape(xi))
        nel, nen = blk["cells"].shape
        self.fibres = np.ascontiguousarray(np.broadcast_to(self.fibre, (nel, 3)))
        self.fe = np.zeros((nel, 3 * nen))
        self.Ke = np.zeros((nel, 3 * nen, 3 * nen))

    def scale(self, t: float) -> float:
        return self.act.ascl * (self.crv(t) if self.crv is not None else 1.0)

    def add(self, system, u3: np.ndarray, f: np.ndarray, data: np.ndarray | None):
        blk = system.blocks[self.block]
        active_fibre_residual_tangent(system.points, blk["cells"], self.dN, self.w, u3, self.fibres,
                                      self.act.params, self.scale(system.t), data is not None, self.fe, self.Ke)
        system.pattern.add_element_vectors(self.block, self.fe, f)
        if data is not None:
            system.pattern.add_element_matrices(self.block, self.Ke, data)
        return None

    def augment(self, system, u3: np.ndarray) -> bool:
        return True

    def report(self, system, u3: np.ndarray) -> dict:
        return {"activation": self.scale(system.t)}


@dataclass(eq=False)
class _FEBioRigidWall(RigidPlane):
    """FEBio's ``rigid_wall`` (``FERigidWallInterface``): node-on-plane penalty contact, as a fixed rigid plane.

    FEBio's plane ``a x + b y + c z = d`` (``plane = a, b, c, d``) with ``a = (a, b, c)`` not normalised: a node at
    ``x`` is projected to ``q = x - (a.x - d) a`` and its gap is ``g_F = -(a/|a|).(x - q) + offset
    = -(a.x - d)|a| + offset`` (positive = penetration); the node gets the force ``max(0, eps g_F) A_n a/|a|``
    with ``A_n = |J| w`` of the facet Gauss point that belongs to the node (summed over its facets; ``A/4`` on a
    parallelogram). fesolver's plane has the unit normal ``n = a/|a|`` and the signed distance ``g``: the same
    force needs ``eps = eps_F |a|^2`` and the plane point ``a (d + offset/|a|) / |a|^2``. ``eps_F`` follows its
    load curve (``<penalty lc="...">``).
    """

    plane: tuple = (0.0, 0.0, 1.0, 0.0)
    febio_penalty: float = 0.0
    penalty_curve: LoadCurve | None = None
    wall_offset: float = 0.0

    def __post_init__(self):
        a = np.asarray(self.plane[:3], dtype=float)
        na2 = float(a @ a)
        self.normal = tuple(a / np.sqrt(na2))
        self.point = tuple(a * (self.plane[3] + self.wall_offset / np.sqrt(na2)) / na2)
        self._scale = na2

    def setup(self, system) -> None:
        self.penalty = self.febio_penalty * self._scale  # at curve = 1; state() applies the curve
        super().setup(system)
        mesh = system.problem.mesh
        acc = np.zeros(mesh.n_nodes)
        for ftype, conn in Selection(name=self.surface).facets(mesh):
            acc += np.bincount(conn.ravel(), weights=_febio_nodal_areas(mesh.points, ftype, conn).ravel(),
                               minlength=mesh.n_nodes)
        self.area = acc[self.nodes]

    def state(self, system, u3: np.ndarray):
        if not self._ready:
            self.setup(system)
        c = self.penalty_curve(getattr(system, "t", 1.0)) if self.penalty_curve is not None else 1.0
        self.eps = self.febio_penalty * self._scale * c
        return super().state(system, u3)


def _febio_nodal_areas(points: np.ndarray, ftype, conn: np.ndarray) -> np.ndarray:
    """``(nf, nfn)`` FEBio's node-integration weights of facets: ``|J| w`` at the Gauss point of each node (quad4:
    the 2x2 Gauss point nearest the node, weight 1; tri3: a third of the area)."""
    if ftype is TRI3:
        return np.repeat(_reference_facet_areas(points, ftype, conn)[:, None] / 3.0, 3, axis=1)
    if ftype is not QUAD4:
        raise FEBioError(f"rigid_wall: facet type {ftype.name} is not supported (tri3, quad4)")
    xi = ftype.ref_nodes / np.sqrt(3.0)
    dN = ftype.dshape(xi)  # (4 points, 4 nodes, 2)
    X = points[conn]
    g0 = np.einsum("qa,fai->fqi", dN[:, :, 0], X)
    g1 = np.einsum("qa,fai->fqi", dN[:, :, 1], X)
    return np.linalg.norm(np.cross(g0, g1), axis=2)


def solve_febio_file(path, outdir, progress: bool = False) -> dict:
    """Read and solve an FEBio file; write ``OUTDIR/result.vtu`` and ``OUTDIR/summary.json``.

    The summary is fesolver's usual one plus ``febio``: ``solution_norm`` (computed as FEBio does, see
    :func:`solution_norm`), fesolver's Newton ``iterations`` and ``steps``, FEBio's ``febio_time_steps`` and
    ``end_time``. Returns that ``febio`` block with the paths of the files written.
    """
    import json

    from .results import atomic_write

    model = read_febio(path)
    res, info = model.solve(progress=progress)
    block = {**info, "febio_time_steps": model.febio_steps, "end_time": model.end_time}
    if not model.problem.mesh.solids:
        # fesolver's result writer needs solid elements; a truss-only model gets its summary only
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        umag = np.linalg.norm(res.displacement, axis=1)
        summary = {"status": "ok", "message": "no solid elements: result.vtu is not written",
                   "max_displacement_mm": float(umag.max()), "febio": block}
        path_s = out / "summary.json"
        atomic_write(path_s, lambda p: Path(p).write_text(json.dumps(summary, indent=2)))
        return {**block, "result": None, "summary": str(path_s)}
    files = res.write(outdir)
    summary = json.loads(Path(files["summary"]).read_text())
    summary["febio"] = block
    text = json.dumps(summary, indent=2)
    atomic_write(files["summary"], lambda p: Path(p).write_text(text))
    return {**block, "result": str(files["vtu"]), "summary": str(files["summary"])}
