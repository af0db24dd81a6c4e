"""A linear-elastic problem: mesh + materials per region + boundary conditions + loads -> :class:`Result`.

>>> import numpy as np
>>> from fesolver.problem import Problem
>>> from fesolver.mesh import Mesh, SolidBlock
>>> from fesolver.elements import HEX8
>>> from fesolver.materials import LinearElastic
>>> from fesolver.loads import Selection, FixedDisplacement, NodalForce
>>> pts = np.array([[0., 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]])
>>> mesh = Mesh(pts, [SolidBlock(HEX8, np.arange(8)[None])])
>>> bottom = Selection(box=((-1, -1, 0), (2, 2, 0)))
>>> top = Selection(box=((-1, -1, 1), (2, 2, 1)))
>>> p = Problem(mesh, {"all": LinearElastic(E=100.0, nu=0.0)},
...             bcs=[FixedDisplacement(bottom, {0: 0.0, 1: 0.0, 2: 0.0})],
...             loads=[NodalForce(top, (0.0, 0.0, 10.0))])
>>> r = p.solve()
>>> round(float(r.displacement[6, 2]), 6)  # u = F L / (E A) = 10 / 100
0.1
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from .assembly import (
    FINITE_STRAIN_FORMULATIONS,
    FORMULATIONS,
    SparsityPattern,
    assemble_stiffness,
    body_force_vector,
    surface_load_vector,
)
from .errors import ModelError
from .loads import BodyForce, FixedDisplacement, Gravity, NodalForce, SurfaceLoad, reaction_moments
from .materials import LinearElastic
from .mesh import Mesh
from .results import Result, recover
from .solvers import LinearSolverOptions, rigid_body_modes, solve_linear
from .solvers.newton import NewtonOptions

__all__ = ["Problem", "ANALYSES", "FINITE_STRAIN_FORMULATIONS"]

#: analysis kinds of :class:`Problem`
ANALYSES = ("auto", "linear", "nonlinear")

log = logging.getLogger(__name__)


@dataclass
class Problem:
    """A solid-mechanics problem: linear elastic (small strain) or finite strain (Newton).

    Parameters
    ----------
    mesh : Mesh
    materials : dict
        Region (cell-set name) -> material (:class:`~fesolver.materials.LinearElastic` or a hyperelastic
        material of :mod:`fesolver.materials.hyperelastic`). Every solid element must get exactly one.
    bcs : list of FixedDisplacement or PrescribedRotation
    loads : list of NodalForce, SurfaceLoad, BodyForce or Gravity
    solver : LinearSolverOptions
    title : str
    hex8 : {"incompatible", "full"}
        Formulation of hex8 elements: ``incompatible`` (default; Wilson-Taylor incompatible modes, accurate
        in bending) or ``full`` (plain trilinear, full integration; locks in bending). Tets ignore it.
        The finite-strain analysis uses ``full``.
    analysis : {"auto", "linear", "nonlinear"}
        ``auto``: finite strain (Newton) when a material is hyperelastic or the model has trusses, small
        strain otherwise. ``linear`` with hyperelastic materials uses their small-strain moduli.
        ``nonlinear`` with linear-elastic materials treats them as St Venant-Kirchhoff (large rotations).
    newton : NewtonOptions
    trusses : dict
        Line-set name -> :class:`~fesolver.elements.truss.TrussMaterial` (finite-strain analysis only).
    rigid_bodies : list of RigidBody
        Regions moving rigidly with a 6-DOF reference point (finite-strain analysis; see :mod:`fesolver.rigid`).
        Their elements still need a material in ``materials`` (it is ignored: a rigid motion strains nothing).
    contacts : list of RigidSurface or SurfaceContact
        Rigid analytical surfaces in frictionless contact with facet sets, and surface-to-surface contact
        (frictionless or Coulomb) between two facet sets (finite-strain analysis; see :mod:`fesolver.contact`).
    finite_strain_formulation : {"standard", "mean_dilatation"}
        ``mean_dilatation`` (three-field, element-constant pressure; uncoupled materials only) does not lock
        for nearly incompressible tissue.
    """

    mesh: Mesh
    materials: dict[str, LinearElastic]
    bcs: list[FixedDisplacement] = field(default_factory=list)
    loads: list = field(default_factory=list)
    solver: LinearSolverOptions = field(default_factory=LinearSolverOptions)
    title: str = ""
    hex8: str = "incompatible"
    analysis: str = "auto"
    newton: NewtonOptions = field(default_factory=NewtonOptions)
    trusses: dict = field(default_factory=dict)
    finite_strain_formulation: str = "standard"
    rigid_bodies: list = field(default_factory=list)
    contacts: list = field(default_factory=list)

    def __post_init__(self):
        if self.finite_strain_formulation not in FINITE_STRAIN_FORMULATIONS:
            raise ValueError(f"finite_strain_formulation must be one of {list(FINITE_STRAIN_FORMULATIONS)}, "
                             f"got {self.finite_strain_formulation!r}")
        if self.hex8 not in FORMULATIONS:
            raise ValueError(f"hex8 formulation must be one of {list(FORMULATIONS)}, got {self.hex8!r}")
        if self.analysis not in ANALYSES:
            raise ValueError(f"analysis must be one of {list(ANALYSES)}, got {self.analysis!r}")
        self._pattern: SparsityPattern | None = None
        self.material_index = self._assign_materials()
        self.truss_index = self._assign_trusses()
        if self.trusses and self.analysis == "linear":
            raise ModelError("trusses need the finite-strain analysis (analysis 'auto' or 'nonlinear')")
        if self.rigid_bodies and self.analysis == "linear":
            raise ModelError("rigid bodies need the finite-strain analysis (analysis 'auto' or 'nonlinear')")
        if self.contacts and self.analysis == "linear":
            raise ModelError("contact needs the finite-strain analysis (analysis 'auto' or 'nonlinear')")
        if self.finite_strain_formulation == "mean_dilatation":
            from .assembly import coupled_material_message, is_uncoupled

            rigid_regions = {b.region for b in self.rigid_bodies}
            for region, m in self.materials.items():
                if region not in rigid_regions and not is_uncoupled(m):
                    raise ModelError(coupled_material_message(
                        f"material {getattr(m, 'name', region)!r} of region {region!r} ({type(m).__name__})"))
        for body in self.rigid_bodies:
            if body.region is not None and body.region not in self.mesh.cell_sets:
                raise ModelError(f"rigid body {body.name!r}: region {body.region!r} is not a cell set of "
                                 f"{self.mesh.source}; regions: {sorted(self.mesh.cell_sets)}")

    @property
    def nonlinear(self) -> bool:
        """True when the problem is solved at finite strain with Newton's method."""
        if self.analysis != "auto":
            return self.analysis == "nonlinear"
        hyperelastic = any(not isinstance(m, LinearElastic) for m in self.materials.values())
        return bool(self.trusses) or bool(self.rigid_bodies) or bool(self.contacts) or hyperelastic

    def linear_materials(self) -> list[LinearElastic]:
        """Each material as a linear-elastic one (hyperelastic ones by their small-strain moduli)."""
        out = []
        for name, m in self.materials.items():
            if isinstance(m, LinearElastic):
                out.append(m)
            else:
                if getattr(m, "graded", False):
                    raise ModelError(f"material {getattr(m, 'name', name)!r} of region {name!r} is a graded "
                                     f"mixture: the small-strain (linear) analysis takes one modulus per region; "
                                     f"use analysis 'nonlinear'")
                E, nu = m.small_strain_moduli()
                out.append(LinearElastic(E, nu, density=m.density, name=name))
        return out

    def _assign_trusses(self) -> list[np.ndarray]:
        """Per line block, the index (into ``self.trusses``) of each truss's material."""
        if not self.trusses:
            return [np.full(b.cells.shape[0], -1, dtype=np.int64) for b in self.mesh.lines]
        return _assign_regions(self.trusses, self.mesh.line_sets, self.mesh.lines, "truss", "line set",
                               np.zeros(len(self.mesh.lines) + 1, dtype=np.int64), self.mesh.source)

    # -- materials ------------------------------------------------------------------------------
    def _assign_materials(self) -> list[np.ndarray]:
        """Per solid block, the index (into ``self.materials``) of each element's material."""
        return _assign_regions(self.materials, self.mesh.cell_sets, self.mesh.solids, "material", "cell set",
                               self.mesh.solid_offsets, self.mesh.source)

    def lame_per_element(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        mats = self.linear_materials()
        lam = np.array([m.lame[0] for m in mats])
        mu = np.array([m.lame[1] for m in mats])
        return [lam[i] for i in self.material_index], [mu[i] for i in self.material_index]

    def formulations(self) -> list[str]:
        """Element formulation of each solid block (see :data:`fesolver.assembly.FORMULATIONS`)."""
        return [self.hex8 if b.etype.name == "hex8" else "full" for b in self.mesh.solids]

    # -- pieces ---------------------------------------------------------------------------------
    @property
    def pattern(self) -> SparsityPattern:
        if self._pattern is None:
            conns = [b.cells for b in self.mesh.solids]
            if self.trusses:
                conns += [b.cells for b in self.mesh.lines]
            self._pattern = SparsityPattern(self.mesh.n_nodes, conns)
        return self._pattern

    def stiffness(self):
        """Global stiffness matrix (CSR, N/mm) of all DOFs."""
        lam, mu = self.lame_per_element()
        blocks = [(b.etype, b.cells) for b in self.mesh.solids]
        return assemble_stiffness(self.pattern, self.mesh.points, blocks, lam, mu,
                                  formulations=self.formulations())

    def load_vector(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """External force vector (3 nn,) [N] at full load and the resultant force [N] of each load by name."""
        f = np.zeros(3 * self.mesh.n_nodes)
        resultants: dict[str, np.ndarray] = {}
        for ld, fl in self.load_vectors():
            resultants[ld.name] = fl.reshape(-1, 3).sum(axis=0)
            f += fl
        return f, resultants

    def load_vectors(self) -> list[tuple[object, np.ndarray]]:
        """Each load with its nodal force vector (3 nn,) [N] at full magnitude (reference configuration)."""
        mesh = self.mesh
        f = np.zeros(3 * mesh.n_nodes)
        out = []
        mats = self.materials.values()
        for ld in self.loads:
            if isinstance(ld, NodalForce):
                nodes = ld.where.nodes(mesh)
                fl = np.zeros_like(f)
                for i in range(3):
                    fl[3 * nodes + i] += ld.total[i] / nodes.size
            elif isinstance(ld, SurfaceLoad):
                fl = np.zeros_like(f)
                for ftype, conn in ld.where.facets(mesh):
                    fl += surface_load_vector(mesh.points, ftype, conn, ld.pressure, ld.traction)
            elif isinstance(ld, (BodyForce, Gravity)):
                fl = np.zeros_like(f)
                cells = ld.where.cells(mesh)
                for k, sel in cells.items():
                    if sel.size == 0:
                        continue
                    b = mesh.solids[k]
                    if isinstance(ld, BodyForce):
                        val = np.broadcast_to(np.asarray(ld.value, dtype=float), (sel.size, 3))
                    else:
                        rho = np.array([m.density for m in mats])[self.material_index[k][sel]]
                        val = rho[:, None] * np.asarray(ld.acceleration, dtype=float)[None, :]
                    degree = b.etype.stiffness_degree + 1  # exact for N times a constant on affine cells
                    xi, _ = b.etype.rule(degree)
                    bq = np.repeat(val[:, None, :], xi.shape[0], axis=1)
                    fl += body_force_vector(mesh.points, b.etype, b.cells[sel], bq, degree=degree)
            else:
                raise TypeError(f"unknown load type {type(ld).__name__}")
            out.append((ld, fl))
        return out

    def constraints(self) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Constrained DOFs, their prescribed values [mm], and the DOFs of each boundary condition.

        Nodes that belong to no solid element are held fixed (their rows would be empty).
        """
        mesh = self.mesh
        values = np.full(3 * mesh.n_nodes, np.nan)
        per_bc: dict[str, np.ndarray] = {}
        for bc in self.bcs:
            nodes = bc.where.nodes(mesh)
            dofs = []
            for comp, val in bc.displacements(mesh.points[nodes], 1.0, linear=True).items():
                d = 3 * nodes + comp
                prev = values[d]
                clash = np.flatnonzero(np.isfinite(prev) & (prev != val))
                if clash.size:
                    raise ModelError(
                        f"boundary condition {bc.name!r} prescribes {val[clash[0]]} on component {'xyz'[comp]} of "
                        f"node {int(nodes[clash[0]])}, which another condition already sets to {prev[clash[0]]}"
                    )
                values[d] = val
                dofs.append(d)
            per_bc[bc.name] = np.sort(np.concatenate(dofs)) if dofs else np.empty(0, dtype=np.int64)
        iso = self.pattern.isolated_nodes
        for i in range(3):
            values[3 * iso + i] = np.where(np.isnan(values[3 * iso + i]), 0.0, values[3 * iso + i])
        fixed = np.flatnonzero(np.isfinite(values))
        return fixed, values[fixed], per_bc

    # -- solve ----------------------------------------------------------------------------------
    def solve(self, progress: bool = False, on_step=None, checkpoint=None) -> Result:
        """Solve and recover strains and stresses.

        Small strain: one linear solve. Finite strain: Newton over the load curves (``progress`` shows a
        bar; ``on_step(t, result)`` is called with the result of every converged step; ``checkpoint``: a
        restart file, see :func:`~fesolver.nonlinear.solve_finite_strain`).
        """
        if self.nonlinear:
            from .nonlinear import solve_finite_strain

            return solve_finite_strain(self, progress=progress, on_step=on_step, checkpoint=checkpoint)
        if checkpoint is not None:
            raise ModelError("a restart file (checkpoint) needs the finite-strain analysis; this problem is linear")
        return self._solve_linear()

    def _solve_linear(self) -> Result:
        timings: dict[str, float] = {}
        t = time.perf_counter()
        _ = self.pattern
        timings["pattern"] = time.perf_counter() - t
        t = time.perf_counter()
        K = self.stiffness()
        timings["assembly"] = time.perf_counter() - t
        t = time.perf_counter()
        f, resultants = self.load_vector()
        fixed, fixed_values, per_bc = self.constraints()
        timings["loads"] = time.perf_counter() - t
        if fixed.size == 0:
            raise ModelError(
                "the model has no displacement boundary condition; at least the six rigid-body motions "
                "must be constrained"
            )
        n = K.shape[0]
        free_mask = np.ones(n, dtype=bool)
        free_mask[fixed] = False
        free = np.flatnonzero(free_mask)
        u = np.zeros(n)
        u[fixed] = fixed_values
        t = time.perf_counter()
        Kff = K[free][:, free]
        rhs = f[free] - K[free][:, fixed] @ fixed_values
        timings["condense"] = time.perf_counter() - t
        near_null = rigid_body_modes(self.mesh.points)[free]
        # AMG aggregates 3x3 node blocks when every node is either entirely free or entirely fixed
        per_node = np.bincount(fixed // 3, minlength=self.mesh.n_nodes)
        block = 3 if np.all((per_node == 0) | (per_node == 3)) else 1
        uf, info = solve_linear(Kff, rhs, self.solver, near_null=near_null, block_size=block)
        timings["solve"] = info.seconds
        u[free] = uf
        t = time.perf_counter()
        reaction_all = K @ u - f
        reactions = {}
        for name, dofs in per_bc.items():
            r = np.zeros(3)
            np.add.at(r, dofs % 3, reaction_all[dofs])
            reactions[name] = r
        result = recover(self, u.reshape(-1, 3), reactions, resultants, info)
        result.reaction_moments = reaction_moments(self.bcs, self.mesh, u, reaction_all)
        timings["recovery"] = time.perf_counter() - t
        result.timings = timings
        result.n_free = int(free.size)
        return result


def _assign_regions(by_region: dict, sets: dict, blocks: list, what: str, set_kind: str, offsets, source: str):
    """Per block, the index (into ``by_region``) of each element's entry; every element needs exactly one.

    Raises ModelError for an unknown region, overlapping regions, or elements left without an entry (ids
    counted with ``offsets`` per block).
    """
    idx = [np.full(b.cells.shape[0], -1, dtype=np.int64) for b in blocks]
    names = list(by_region)
    for m, region in enumerate(names):
        if region not in sets:
            raise ModelError(f"{what} region {region!r} is not a {set_kind} of {source}; {set_kind}s: {sorted(sets)}")
        for k, cells in sets[region].items():
            taken = cells[idx[k][cells] >= 0]
            if taken.size:
                raise ModelError(
                    f"regions {names[idx[k][taken[0]]]!r} and {region!r} overlap ({taken.size} elements, e.g. "
                    f"element {int(taken[0] + offsets[k])}); each element needs exactly one {what}"
                )
            idx[k][cells] = m
    missing = [(k, np.flatnonzero(i < 0)) for k, i in enumerate(idx)]
    n_missing = sum(m.size for _, m in missing)
    if n_missing:
        first = next(int(m[0] + offsets[k]) for k, m in missing if m.size)
        raise ModelError(
            f"{n_missing} elements have no {what} (e.g. element {first}); give a {what} to {set_kind}s covering "
            f"every element (the cell set 'all' covers every solid)"
        )
    return idx
