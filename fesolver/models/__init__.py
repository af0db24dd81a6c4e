"""Anatomical models: parametric foot, insole and knee builders (issue 5).

Every builder returns an :class:`AnatomicalModel`: a mesh with named regions and sets, a material per region
(from :mod:`fesolver.models.library`, values cited in ``docs/materials.md``), rigid bodies, trusses and
contacts, plus named landmark points. The kinetic chain (:mod:`fesolver.chain`) adds boundary conditions and
loads and turns it into a :class:`~fesolver.problem.Problem` with :meth:`AnatomicalModel.problem`.

Coordinates (mm) of the foot and insole: a **right** foot, ``x`` anterior (heel at ``x = 0``, toe tip at
``x = foot_length``), ``y`` medial, ``z`` up; the bare foot's lowest plantar point touches ``z = 0``. A left
foot is the mirror image ``y -> -y`` (the builders take ``side``). The knee: ``x`` anterior, ``y`` medial,
``z`` proximal (along the tibia), the tibial plateau near ``z = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..mesh import Mesh

__all__ = ["AnatomicalModel", "MESH_LEVELS", "merge_models"]

#: mesh levels every builder accepts: coarse (tests, seconds), medium (daily use), fine (convergence)
MESH_LEVELS = ("coarse", "medium", "fine")


@dataclass
class AnatomicalModel:
    """A built anatomical model, ready for loads.

    Attributes
    ----------
    name : str
        ``"foot"``, ``"knee"``, ``"insole"``, ...
    mesh : Mesh
        Regions as cell sets, surfaces as facet sets, points of interest as node sets (mm).
    materials : dict
        Region -> material (every solid element gets exactly one).
    trusses : dict
        Line set -> :class:`~fesolver.elements.truss.TrussMaterial`.
    rigid_bodies : list of RigidBody
    contacts : list
        Contacts inside the model (e.g. cartilage on cartilage); the ground and insole contacts are added by
        the scenario.
    landmarks : dict
        Name -> (3,) point [mm] (e.g. ``"talar_dome"``, ``"femur_reference"``).
    params : dict
        The parameters the model was built from (written to the result's summary).
    """

    name: str
    mesh: Mesh
    materials: dict
    trusses: dict = field(default_factory=dict)
    rigid_bodies: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    landmarks: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def problem(self, bcs=(), loads=(), contacts=(), rigid_bodies=(), **options):
        """A :class:`~fesolver.problem.Problem` of this model with extra boundary conditions, loads, contacts
        and rigid bodies; ``options`` go to ``Problem`` (``newton``, ``solver``, ``title``, ...)."""
        from ..problem import Problem

        return Problem(self.mesh, dict(self.materials), bcs=list(bcs), loads=list(loads), trusses=dict(self.trusses),
                       rigid_bodies=list(self.rigid_bodies) + list(rigid_bodies),
                       contacts=list(self.contacts) + list(contacts), analysis="nonlinear", **options)

    def require(self, cell_sets=(), facet_sets=(), node_sets=(), what: str = "model") -> None:
        """Raise :class:`~fesolver.errors.ModelError` listing every missing region or set."""
        from ..errors import ModelError

        m = self.mesh
        missing = ([f"region {n!r}" for n in cell_sets if n not in m.cell_sets]
                   + [f"facet set {n!r}" for n in facet_sets if n not in m.facet_sets]
                   + [f"node set {n!r}" for n in node_sets if n not in m.node_sets])
        if missing:
            raise ModelError(f"{what} ({m.source}) lacks {', '.join(missing)}; it has regions "
                             f"{sorted(m.cell_sets)}, facet sets {sorted(m.facet_sets)}, node sets "
                             f"{sorted(m.node_sets)}")


def merge_models(a: AnatomicalModel, b: AnatomicalModel, name: str | None = None) -> AnatomicalModel:
    """One model holding both ``a`` and ``b`` (e.g. the foot and its insole): nodes, element blocks and sets of
    ``b`` are appended to ``a``'s (not connected: they interact only through contacts). Region, set, material,
    landmark and rigid-body names must not clash (``all`` is rebuilt); raises ModelError naming a clash."""
    from ..errors import ModelError

    ma, mb = a.mesh, b.mesh
    off = ma.n_nodes
    nsa, nla = len(ma.solids), len(ma.lines)

    def clash(what, da, db):
        both = sorted((set(da) & set(db)) - {"all"})
        if both:
            raise ModelError(f"cannot merge {a.name!r} and {b.name!r}: both have {what} {both}")

    clash("regions", ma.cell_sets, mb.cell_sets)
    clash("facet sets", ma.facet_sets, mb.facet_sets)
    clash("node sets", ma.node_sets, mb.node_sets)
    clash("line sets", ma.line_sets, mb.line_sets)
    clash("materials", a.materials, b.materials)
    clash("landmarks", a.landmarks, b.landmarks)
    clash("rigid bodies", [r.name for r in a.rigid_bodies], [r.name for r in b.rigid_bodies])
    from ..mesh import SolidBlock

    mesh = Mesh(
        np.vstack([ma.points, mb.points]),
        list(ma.solids) + [SolidBlock(s.etype, s.cells + off) for s in mb.solids],
        facets=list(ma.facets) + [SolidBlock(s.etype, s.cells + off) for s in mb.facets],
        lines=list(ma.lines) + [SolidBlock(s.etype, s.cells + off) for s in mb.lines],
        cell_sets={**{k: v for k, v in ma.cell_sets.items() if k != "all"},
                   **{k: {blk + nsa: idx for blk, idx in v.items()} for k, v in mb.cell_sets.items() if k != "all"}},
        facet_sets={**ma.facet_sets, **{k: [(ft, c + off) for ft, c in v] for k, v in mb.facet_sets.items()}},
        node_sets={**{k: v for k, v in ma.node_sets.items() if k != "all"},
                   **{k: v + off for k, v in mb.node_sets.items() if k != "all"}},
        line_sets={**ma.line_sets, **{k: {blk + nla: idx for blk, idx in v.items()} for k, v in mb.line_sets.items()}},
        source=f"{ma.source} + {mb.source}",
    )
    return AnatomicalModel(name=name or f"{a.name}+{b.name}", mesh=mesh, materials={**a.materials, **b.materials},
                           trusses={**a.trusses, **b.trusses}, rigid_bodies=[*a.rigid_bodies, *b.rigid_bodies],
                           contacts=[*a.contacts, *b.contacts], landmarks={**a.landmarks, **b.landmarks},
                           params={a.name: a.params, b.name: b.params})
