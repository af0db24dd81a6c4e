"""Boundary conditions and loads, on sets picked by name or by an axis-aligned box.

All quantities in mm, N, MPa. Selections never evaluate user expressions: a set is a name that exists in the
mesh, or a box ``lo <= x <= hi`` (componentwise, with a tolerance of 1e-6 of the model size).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .elements import ElementType
from .errors import ModelError
from .mesh import Mesh

__all__ = [
    "LoadCurve",
    "RAMP",
    "Selection",
    "FixedDisplacement",
    "PrescribedRotation",
    "reaction_moments",
    "NodalForce",
    "SurfaceLoad",
    "BodyForce",
    "Gravity",
    "COMPONENTS",
]

COMPONENTS = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class LoadCurve:
    """A piecewise-linear load curve: ``points = ((t0, v0), (t1, v1), ...)`` with increasing times.

    A boundary condition or load scaled by a curve applies ``value * curve(t)`` at pseudo-time ``t``; the
    analysis runs from ``t = 0`` to ``t = 1``. Outside the given times the curve is held constant.

    >>> LoadCurve(((0.0, 0.0), (0.5, 1.0), (1.0, 0.5)))(0.75)
    0.75
    """

    points: tuple[tuple[float, float], ...]
    name: str = "curve"

    def __post_init__(self):
        p = np.asarray(self.points, dtype=float)
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 1:
            raise ValueError(f"load curve {self.name!r}: points must be [[t, value], ...], got {self.points}")
        if not np.all(np.isfinite(p)) or np.any(np.diff(p[:, 0]) <= 0):
            raise ValueError(f"load curve {self.name!r}: times must be finite and strictly increasing")

    def __call__(self, t: float) -> float:
        p = np.asarray(self.points, dtype=float)
        return float(np.interp(t, p[:, 0], p[:, 1]))


#: the default load curve: linear ramp from 0 at t = 0 to 1 at t = 1
RAMP = LoadCurve(((0.0, 0.0), (1.0, 1.0)), name="ramp")


@dataclass(frozen=True)
class Selection:
    """A set by ``name`` or an axis-aligned ``box = (lo, hi)`` [mm]. Exactly one must be given."""

    name: str | None = None
    box: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None

    def __post_init__(self):
        if (self.name is None) == (self.box is None):
            raise ValueError("a selection needs exactly one of a set name or a box")
        if self.box is not None:
            lo, hi = (np.asarray(v, dtype=float) for v in self.box)
            if lo.shape != (3,) or hi.shape != (3,) or np.any(lo > hi):
                raise ValueError(
                    f"box must be ([xmin, ymin, zmin], [xmax, ymax, zmax]) with min <= max, got {self.box}"
                )

    def describe(self) -> str:
        return f"set {self.name!r}" if self.name is not None else f"box {list(map(list, self.box))}"

    def nodes(self, mesh: Mesh) -> np.ndarray:
        """Node indices of the selection; a facet or cell set gives the nodes of its facets or cells."""
        if self.box is not None:
            idx = mesh.nodes_in_box(*self.box)
        elif self.name in mesh.node_sets:
            idx = mesh.node_sets[self.name]
        else:
            raise ModelError(
                f"no node set named {self.name!r} in {mesh.source}; available: {sorted(mesh.node_sets)}"
            )
        if idx.size == 0:
            raise ModelError(f"{self.describe()} selects no nodes in {mesh.source}")
        return np.asarray(idx, dtype=np.int64)

    def facets(self, mesh: Mesh) -> list[tuple[ElementType, np.ndarray]]:
        """Outward-oriented boundary facets of the selection (a facet set by name or a box)."""
        if self.box is not None:
            out = mesh.facets_in_box(*self.box)
            if not out:
                raise ModelError(f"{self.describe()} contains no boundary facet of the mesh {mesh.source}")
            return out
        if self.name not in mesh.facet_sets:
            raise ModelError(
                f"no facet set (surface) named {self.name!r} in {mesh.source}; available surfaces: "
                f"{sorted(mesh.facet_sets)}"
            )
        out = []
        for ftype, conn in mesh.facet_sets[self.name]:
            oriented, missing = mesh.orient_facets(ftype, conn)
            if missing.size:
                raise ModelError(
                    f"facet set {self.name!r}: {missing.size} facet(s) are not on the boundary of the solid "
                    f"mesh (e.g. facet {int(missing[0])} with nodes {conn[missing[0]].tolist()}); surface "
                    f"loads act on exterior faces only"
                )
            out.append((ftype, oriented))
        return out

    def cells(self, mesh: Mesh) -> dict[int, np.ndarray]:
        """Solid elements of a cell set (by name), or whose nodes all lie in the box."""
        if self.box is not None:
            inside = np.zeros(mesh.n_nodes, dtype=bool)
            inside[mesh.nodes_in_box(*self.box)] = True
            return {k: np.flatnonzero(np.all(inside[b.cells], axis=1)) for k, b in enumerate(mesh.solids)}
        if self.name not in mesh.cell_sets:
            raise ModelError(
                f"no cell set (region) named {self.name!r} in {mesh.source}; available regions: "
                f"{sorted(mesh.cell_sets)}"
            )
        return mesh.cell_sets[self.name]


@dataclass(frozen=True)
class FixedDisplacement:
    """Prescribed displacement [mm] of the selected nodes: ``values`` maps component (0, 1, 2) -> value."""

    where: Selection
    values: dict[int, float]
    name: str = "bc"
    curve: LoadCurve = RAMP

    @property
    def components(self) -> tuple[int, ...]:
        return tuple(self.values)

    def displacements(self, points: np.ndarray, factor: float, linear: bool = False) -> dict[int, np.ndarray]:
        """Component -> prescribed displacement [mm] of the selected nodes (reference ``points`` (n, 3)) at
        ``factor`` times the values (``linear`` is ignored)."""
        return {c: np.full(len(points), float(v) * factor) for c, v in self.values.items()}


@dataclass(frozen=True)
class PrescribedRotation:
    """The selected nodes turned rigidly by ``angle_deg`` [deg] (right-handed) about the axis through ``centre``
    [mm] along ``axis``: the displacement ``u = (R(curve(t) angle) - I) (X - centre)`` is prescribed on the
    ``components`` listed (all three by default; e.g. ``(0, 1)`` about ``z`` leaves ``z`` free, since a turn about
    ``z`` does not move a point along it). ``centre = None``: the centroid of the selected nodes. In the
    finite-strain analysis the rotation is exact at every load factor (Rodrigues), not a ramp of its end
    displacement; the small-strain analysis takes the infinitesimal rotation ``theta x (X - centre)``. The
    reaction moment about ``centre`` [N mm] is reported with the reaction force (``Result.reaction_moments``).

    >>> PrescribedRotation(Selection(name="top"), axis=(0, 0, 1), angle_deg=90.0).displacements(
    ...     np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]), 1.0)[0].round(12).tolist()
    [-1.0, 1.0]
    """

    where: Selection
    axis: tuple[float, float, float]
    angle_deg: float
    centre: tuple[float, float, float] | None = None
    components: tuple[int, ...] = (0, 1, 2)
    name: str = "rotation"
    curve: LoadCurve = RAMP

    def __post_init__(self):
        a = np.asarray(self.axis, dtype=float)
        if a.shape != (3,) or not np.all(np.isfinite(a)) or np.linalg.norm(a) == 0.0:
            raise ValueError(f"rotation {self.name!r}: axis must be a non-zero 3-vector, got {self.axis}")
        if not np.isfinite(self.angle_deg):
            raise ValueError(f"rotation {self.name!r}: angle_deg must be finite, got {self.angle_deg}")
        if not self.components or any(c not in (0, 1, 2) for c in self.components) or \
                len(set(self.components)) != len(self.components):
            raise ValueError(f"rotation {self.name!r}: components must be distinct values of 0, 1, 2, got "
                             f"{self.components}")

    def pivot(self, points: np.ndarray) -> np.ndarray:
        """The centre of rotation [mm] for the selected nodes' reference ``points`` (n, 3)."""
        return np.mean(points, axis=0) if self.centre is None else np.asarray(self.centre, dtype=float)

    def displacements(self, points: np.ndarray, factor: float, linear: bool = False) -> dict[int, np.ndarray]:
        """Component -> prescribed displacement [mm] of the nodes at reference ``points`` (n, 3), turned by
        ``factor`` times the angle; ``linear``: the infinitesimal rotation ``theta x (X - centre)`` (for the
        small-strain analysis, in which the finite rotation's second-order shortening would strain the body)."""
        from .rigid import rotation_matrix  # rigid imports this module

        a = np.asarray(self.axis, dtype=float)
        theta = a / np.linalg.norm(a) * np.radians(self.angle_deg) * factor
        d = points - self.pivot(points)
        u = np.cross(theta, d) if linear else d @ rotation_matrix(theta).T - d
        return {c: u[:, c] for c in self.components}

    def moment(self, points: np.ndarray, u: np.ndarray, reaction: np.ndarray) -> np.ndarray:
        """Moment (3,) [N mm] of the reaction forces (n, 3) [N] on its prescribed components at the nodes
        (reference ``points``, displacements ``u``, each (n, 3)) about the centre's reference position."""
        r = np.zeros_like(reaction)
        r[:, list(self.components)] = reaction[:, list(self.components)]
        return np.cross(points + u - self.pivot(points), r).sum(axis=0)


def reaction_moments(bcs, mesh: Mesh, u: np.ndarray, reaction: np.ndarray) -> dict[str, np.ndarray]:
    """Name -> :meth:`PrescribedRotation.moment` of every rotation in ``bcs``, for the displacements ``u`` and
    the nodal reactions ``reaction`` (each ``(3 n_nodes,)``)."""
    u3, r3 = u.reshape(-1, 3), reaction.reshape(-1, 3)
    out = {}
    for bc in bcs:
        if isinstance(bc, PrescribedRotation):
            nodes = bc.where.nodes(mesh)
            out[bc.name] = bc.moment(mesh.points[nodes], u3[nodes], r3[nodes])
    return out


@dataclass(frozen=True)
class NodalForce:
    """A total force [N] spread in equal parts over the selected nodes."""

    where: Selection
    total: tuple[float, float, float]
    name: str = "force"
    curve: LoadCurve = RAMP


@dataclass(frozen=True)
class SurfaceLoad:
    """Pressure [MPa] (positive pushes into the body) and/or traction [MPa] (force per area) on facets."""

    where: Selection
    pressure: float = 0.0
    traction: tuple[float, float, float] = (0.0, 0.0, 0.0)
    name: str = "surface"
    curve: LoadCurve = RAMP


@dataclass(frozen=True)
class BodyForce:
    """A body force density [N/mm^3] on the selected solid elements (all by default)."""

    value: tuple[float, float, float]
    where: Selection = field(default_factory=lambda: Selection(name="all"))
    name: str = "body_force"
    curve: LoadCurve = RAMP


@dataclass(frozen=True)
class Gravity:
    """Gravity: acceleration [mm/s^2] (e.g. ``(0, 0, -9810)``) times each material's density [t/mm^3]."""

    acceleration: tuple[float, float, float]
    where: Selection = field(default_factory=lambda: Selection(name="all"))
    name: str = "gravity"
    curve: LoadCurve = RAMP
