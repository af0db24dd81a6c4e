"""Finite-strain (total-Lagrangian) analysis of a :class:`~fesolver.problem.Problem` with Newton's method.

The load factor ``t`` runs from 0 to 1; every boundary condition and load is scaled by its load curve
(:class:`~fesolver.loads.LoadCurve`, default a linear ramp). Loads are dead loads: their nodal forces are
computed once on the reference configuration (pressure does not follow the deforming surface).
Linear-elastic materials are treated as St Venant-Kirchhoff (exact for large rotations, small strains).
Outputs: Cauchy stress [MPa] and Green-Lagrange strain per element and per node, plus ``J = det F``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .assembly import _kernels_tl as KT
from .assembly import finite_strain_response
from .elements.truss import truss_parameters, truss_response
from .errors import ModelError
from .loads import reaction_moments
from .materials import LinearElastic
from .materials import _kernels as MK
from .materials.hyperelastic import StVenantKirchhoff
from .results import Result, recover_with
from .rigid import RigidCoupledSystem
from .solvers import LinearSolveInfo, rigid_body_modes
from .solvers.newton import Checkpoint, ConvergenceError, solve_newton

__all__ = ["FiniteStrainSystem", "solve_finite_strain"]

log = logging.getLogger(__name__)

_NPAR = 23  # parameter slots per element (the longest: a mixture of two models of up to 10 parameters each)


def kernel_material(m):
    """``(model id, params (_NPAR,), fibre (3,))`` of a material for the finite-strain kernels."""
    if isinstance(m, LinearElastic):
        m = StVenantKirchhoff(m.E, m.nu)
    p = np.zeros(_NPAR)
    p[: m.params.size] = m.params
    fibre = np.asarray(getattr(m, "fibre", (1.0, 0.0, 0.0)), dtype=np.float64)
    return int(m.model_id), p, fibre / np.linalg.norm(fibre)


class FiniteStrainSystem:
    """The Newton system of a problem: internal forces and tangent, loads and constraints at ``t``."""

    def __init__(self, problem):
        self.problem = problem
        mesh = problem.mesh
        self.points = mesh.points
        self.n_dofs = 3 * mesh.n_nodes
        pattern = problem.pattern
        self.pattern = pattern
        from .assembly import FINITE_STRAIN_FORMULATIONS, coupled_material_message, is_uncoupled

        per_mat = [kernel_material(m) for m in problem.materials.values()]
        self.formulation = getattr(problem, "finite_strain_formulation", "standard")
        if self.formulation not in FINITE_STRAIN_FORMULATIONS:
            raise ValueError(f"finite_strain_formulation must be one of {list(FINITE_STRAIN_FORMULATIONS)}, "
                             f"got {self.formulation!r}")
        if self.formulation == "mean_dilatation":
            for region, m in problem.materials.items():
                if not is_uncoupled(m if not isinstance(m, LinearElastic) else StVenantKirchhoff(m.E, m.nu)):
                    raise ValueError(coupled_material_message(
                        f"material {getattr(m, 'name', region)!r} ({type(m).__name__}, region {region!r})"))
        self.blocks = []
        for k, b in enumerate(mesh.solids):
            mid = problem.material_index[k]
            models = np.array([per_mat[i][0] for i in range(len(per_mat))], dtype=np.int64)[mid]
            params = np.stack([pm[1] for pm in per_mat])[mid]
            mats = list(problem.materials.values())
            for i, m in enumerate(mats):  # graded mixtures: the fraction at each element's reference centroid
                if getattr(m, "graded", False):
                    sel = np.flatnonzero(mid == i)
                    if sel.size:
                        corners = b.cells[sel][:, : b.etype.corner_nodes or b.etype.n_nodes]
                        params[sel, 0] = m.weights(mesh.points[corners].mean(axis=1))
            fibres = np.stack([pm[2] for pm in per_mat])[mid]
            nel, nen = b.cells.shape
            self.blocks.append({
                "etype": b.etype, "cells": b.cells, "models": np.ascontiguousarray(models),
                "params": np.ascontiguousarray(params), "fibres": np.ascontiguousarray(fibres),
                "fe": np.empty((nel, 3 * nen)), "Ke": np.empty((nel, 3 * nen, 3 * nen)),
                "formulation": self.formulation, "pressure": np.zeros(nel),
            })
        self.truss_blocks = []
        if problem.trusses:
            mats = list(problem.trusses.values())
            for j, b in enumerate(mesh.lines):
                tp = truss_parameters(mats, b.cells.shape[0], problem.truss_index[j])
                self.truss_blocks.append((len(mesh.solids) + j, b.cells, tp))
        # loads and constraints, each with its curve
        self.loads = problem.load_vectors()
        self.bc_parts = []  # (constrained DOFs, their boundary condition, its nodes' reference points, component)
        values = {}
        for bc in problem.bcs:
            nodes = bc.where.nodes(mesh)
            for comp in bc.components:
                d = 3 * nodes + comp
                self.bc_parts.append((d, bc, mesh.points[nodes], comp))
                for x in d:
                    values[int(x)] = True
        iso = pattern.isolated_nodes
        iso_dofs = (3 * iso[:, None] + np.arange(3)).ravel()
        fixed = set(values) | set(iso_dofs.tolist())
        self.fixed_dofs = np.array(sorted(fixed), dtype=np.int64)
        self._pos = {d: i for i, d in enumerate(self.fixed_dofs)}
        self.worst = None  # (block, element, det F) of the worst element of the last evaluation
        self.t = 0.0
        self.contacts = list(getattr(problem, "contacts", []))
        for c in self.contacts:  # tributary areas, penalty, CSR positions; multipliers reset to zero
            c.setup(self)

    def fixed_values(self, t: float) -> np.ndarray:
        out = np.zeros(self.fixed_dofs.size)
        idx = np.searchsorted(self.fixed_dofs, np.concatenate([d for d, _, _, _ in self.bc_parts])) \
            if self.bc_parts else np.empty(0, dtype=np.int64)
        per_bc = {}  # each condition's displacements once per call (a rotation gives all its components at once)
        for _, bc, X, _ in self.bc_parts:
            if id(bc) not in per_bc:
                per_bc[id(bc)] = bc.displacements(X, bc.curve(t))
        vals = np.concatenate([per_bc[id(bc)][comp] for _, bc, _, comp in self.bc_parts]) \
            if self.bc_parts else np.empty(0)
        out[idx] = vals
        return out

    def external(self, t: float) -> np.ndarray:
        self.t = t  # the load factor of the current step (moves the rigid contact surfaces)
        f = np.zeros(self.n_dofs)
        for ld, fl in self.loads:
            f += ld.curve(t) * fl
        return f

    def near_null(self, free: np.ndarray) -> np.ndarray:
        return rigid_body_modes(self.points)[free]

    def internal(self, u: np.ndarray, want_tangent: bool):
        """``(f_int (3 nn,), K (CSR) or None, ok)``; ``ok`` is False if an element inverted."""
        u3 = np.ascontiguousarray(u.reshape(-1, 3))
        f = np.zeros(self.n_dofs)
        data = self.pattern.zeros() if want_tangent else None
        ok = True
        worst = (None, None, np.inf)
        for k, blk in enumerate(self.blocks):
            fe, Ke, _, jmin = finite_strain_response(
                self.points, blk["etype"], blk["cells"], u3, blk["models"], blk["params"], blk["fibres"],
                want_tangent, fe=blk["fe"], Ke=blk["Ke"] if want_tangent else None,
                formulation=blk["formulation"], pressure=blk["pressure"])
            e = int(np.argmin(jmin))
            if jmin[e] < worst[2]:
                worst = (k, e, float(jmin[e]))
            if jmin[e] <= 0.0:
                ok = False
            self.pattern.add_element_vectors(k, fe, f)
            if want_tangent:
                self.pattern.add_element_matrices(k, Ke, data)
        for ib, cells, tp in self.truss_blocks:
            r = truss_response(self.points, cells, u3, tp)
            self.pattern.add_element_vectors(ib, r.fe, f)
            if want_tangent:
                self.pattern.add_element_matrices(ib, np.ascontiguousarray(r.Ke), data)
        extra = []
        for c in self.contacts:  # contact (fesolver.contact): forces into f, tangent into data or returned
            Kc = c.add(self, u3, f, data)
            if Kc is not None:
                extra.append(Kc)
        self.worst = worst
        if not want_tangent:
            return f, None, ok
        K = self.pattern.matrix(data)
        for Kc in extra:  # surface-to-surface contact couples nodes outside the mesh's sparsity pattern
            K = K + Kc
        return f, sp.csr_matrix(K), ok

    @property
    def symmetric(self) -> bool:
        """The tangent is symmetric (False with frictional contact)."""
        return all(getattr(c, "symmetric_tangent", True) for c in self.contacts)

    def commit(self, u: np.ndarray) -> None:
        """A step has converged at ``u``: contacts store their history (friction)."""
        u3 = np.ascontiguousarray(u.reshape(-1, 3))
        for c in self.contacts:
            if hasattr(c, "commit"):
                c.commit(self, u3)

    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """The history a restart file needs: each contact's multipliers and friction history, keyed
        ``"contact<i>.<array>"`` (``i``: the contact's place in the problem's list)."""
        out = {}
        for i, c in enumerate(self.contacts):
            if hasattr(c, "checkpoint_state"):
                out.update({f"contact{i}.{k}": v for k, v in c.checkpoint_state(self).items()})
        return out

    def restore_state(self, state: dict[str, np.ndarray]) -> None:
        """Set the history saved by :meth:`checkpoint_state`."""
        for i, c in enumerate(self.contacts):
            if hasattr(c, "restore_state"):
                pre = f"contact{i}."
                c.restore_state(self, {k[len(pre):]: v for k, v in state.items() if k.startswith(pre)})

    def augment(self, u: np.ndarray) -> bool:
        """Augmented-Lagrangian (Uzawa) update of every contact after a converged step; True = converged."""
        u3 = np.ascontiguousarray(u.reshape(-1, 3))
        done = [c.augment(self, u3) for c in self.contacts]
        return all(done)

    def truss_state(self, u: np.ndarray):
        """Per line block: ``(force [N], stress [MPa], stretch)``."""
        u3 = np.ascontiguousarray(u.reshape(-1, 3))
        return [truss_response(self.points, cells, u3, tp) for _, cells, tp in self.truss_blocks]


def finite_strain_tensors(system: FiniteStrainSystem, u: np.ndarray):
    """Evaluator for :func:`~fesolver.results.recover_with`: Green-Lagrange strain, Cauchy stress.

    For mean-dilatation blocks the Cauchy stress is the isochoric stress at the point plus the element
    pressure: ``sigma = F S_iso F^T / J + p I``.
    """
    from .assembly import isochoric_params, mean_dilatation_pressure

    u3 = np.ascontiguousarray(u.reshape(-1, 3))

    def evaluate(k: int, xi: np.ndarray):
        blk = system.blocks[k]
        et = blk["etype"]
        nel = blk["cells"].shape[0]
        npt = xi.shape[0]
        F = np.empty((nel, npt, 3, 3))
        KT.deformation_at_points(system.points, blk["cells"], np.ascontiguousarray(et.dshape(xi)), u3, F)
        C = np.einsum("epki,epkj->epij", F, F)
        E = 0.5 * (C - np.eye(3))
        S = np.empty_like(C)
        D = np.empty((nel, npt, 6, 6))
        W = np.empty((nel, npt))
        mean_dil = blk["formulation"] == "mean_dilatation"
        params = blk["params"]
        if mean_dil:
            p_el, _ = mean_dilatation_pressure(system.points, et, blk["cells"], u3, blk["models"], params)
            params = isochoric_params(blk["models"], params)
        for e in range(nel):
            a0 = np.ascontiguousarray(np.broadcast_to(blk["fibres"][e], (npt, 3)))
            MK.pk2_and_tangent_points(int(blk["models"][e]), params[e], np.ascontiguousarray(C[e]),
                                      a0, S[e], D[e], W[e])
        J = np.linalg.det(F)
        sig = np.einsum("epik,epkl,epjl->epij", F, S, F) / J[..., None, None]
        if mean_dil:
            sig += p_el[:, None, None, None] * np.eye(3)
        return _voigt(E), _voigt(sig)

    return evaluate


def _voigt(T: np.ndarray) -> np.ndarray:
    return np.stack([T[..., 0, 0], T[..., 1, 1], T[..., 2, 2], T[..., 0, 1], T[..., 1, 2], T[..., 0, 2]],
                    axis=-1)


def _result(system: FiniteStrainSystem, u: np.ndarray, t: float, records, seconds: float,
            rigid=None) -> Result:
    problem = system.problem
    system.t = t  # contact surfaces at this load factor
    f_int, _, _ = system.internal(u, False)
    f_ext = system.external(t)
    reaction_all = f_int - f_ext
    reactions = {}
    for bc in problem.bcs:
        nodes = bc.where.nodes(problem.mesh)
        r = np.zeros(3)
        for comp in bc.components:
            r[comp] = reaction_all[3 * nodes + comp].sum()
        reactions[bc.name] = r
    resultants = {ld.name: ld.curve(t) * fl.reshape(-1, 3).sum(axis=0) for ld, fl in system.loads}
    iters = sum(r.iterations for r in records)
    info = LinearSolveInfo(method=f"newton+{problem.solver.method}", n_unknowns=system.n_dofs - system.fixed_dofs.size,
                           iterations=iters, relative_residual=records[-1].residuals[-1] if records else 0.0,
                           seconds=seconds)
    res = recover_with(problem, u.reshape(-1, 3), finite_strain_tensors(system, u), reactions, resultants, info,
                       nodal="extrapolate")
    res.load_factor = t
    res.steps = records
    res.trusses = system.truss_state(u)
    res.rigid = rigid or {}
    res.reaction_moments = reaction_moments(problem.bcs, problem.mesh, u, reaction_all)
    res.timings = {
        "newton_total": seconds,
        "newton_steps": float(sum(r.seconds for r in records)),
    }
    res.n_free = int(info.n_unknowns)
    if system.contacts:
        u3 = np.ascontiguousarray(u.reshape(-1, 3))
        res.contact = {c.name: c.report(system, u3) for c in system.contacts}
    return res


def model_fingerprint(problem, system) -> str:
    """SHA-1 of what defines the solve of ``problem`` by ``system``: the mesh (points, cells), the materials,
    trusses, rigid bodies and contacts (their parameters), the constrained DOFs, and the external forces and
    prescribed values at load factors 0.25, 0.5, 0.75 and 1 (so a changed load or load curve shows). Solver
    options are left out: a restart may change them. The system's load factor is left at 0."""
    import hashlib
    import re
    import sys

    h = hashlib.sha1()
    mesh = problem.mesh
    h.update(np.ascontiguousarray(mesh.points, dtype=np.float64).tobytes())
    for blk in list(mesh.solids) + list(mesh.lines):
        h.update(blk.etype.name.encode())
        h.update(np.ascontiguousarray(blk.cells, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(system.fixed_dofs, dtype=np.int64).tobytes())
    for t in (0.25, 0.5, 0.75, 1.0):
        h.update(np.ascontiguousarray(system.external(t), dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(system.fixed_values(t), dtype=np.float64).tobytes())
    system.external(0.0)
    described = [sorted(problem.materials.items()), sorted(problem.trusses.items()),
                 list(getattr(problem, "rigid_bodies", [])), list(problem.contacts)]
    with np.printoptions(threshold=sys.maxsize):  # whole arrays (node lists of selections), not "..."
        text = repr(described)
    # object addresses ("at 0x7f...") differ between processes: not part of a model
    h.update(re.sub(r" at 0x[0-9a-f]+", "", text).encode())
    return h.hexdigest()


def solve_finite_strain(problem, progress: bool = False, on_step=None, checkpoint=None) -> Result:
    """Solve ``problem`` at finite strain; returns the :class:`~fesolver.results.Result` at ``t = 1``.

    ``checkpoint`` (a path): restart file (:class:`~fesolver.solvers.newton.Checkpoint`), written after every
    converged step; when it exists the solve continues from it. A file left by a finished solve makes the
    solve return its result without a new step (delete the file to solve again).

    Raises :class:`~fesolver.solvers.newton.ConvergenceError` (with ``.result``: the last converged state)
    when Newton cannot reach the end of the load.
    """
    if not problem.bcs and not getattr(problem, "rigid_bodies", []):
        raise ModelError("the model has no displacement boundary condition; at least the six rigid-body "
                         "motions must be constrained")
    t0 = time.perf_counter()
    system = FiniteStrainSystem(problem)
    bodies = getattr(problem, "rigid_bodies", [])
    solved = RigidCoupledSystem(system, bodies, problem.mesh) if bodies else system

    def result_at(q, t, records):
        if bodies:
            return _result(system, solved.displacement(q), t, records, time.perf_counter() - t0,
                           rigid=solved.reactions(q, t))
        return _result(system, q, t, records, time.perf_counter() - t0)

    callback = None
    if on_step is not None:
        def callback(t, q, rec):
            on_step(t, result_at(q, t, [rec]))
    try:
        cp = None if checkpoint is None else Checkpoint(Path(checkpoint), model_fingerprint(problem, solved))
        q, records = solve_newton(solved, problem.newton, problem.solver, on_step=callback, progress=progress,
                                  checkpoint=cp)
    except ConvergenceError as exc:
        k, e, j = system.worst if system.worst else (None, None, None)
        where = ""
        if k is not None:
            eid = int(problem.mesh.solid_offsets[k] + e)
            where = f" Worst element at the failed attempt: element {eid} (det F = {j:.3g})."
        exc.args = (exc.args[0] + where,)
        exc.result = result_at(exc.u, exc.t, exc.records) if exc.records else None
        raise
    return result_at(q, 1.0, records)
