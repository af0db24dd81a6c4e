"""Results: strain and stress recovery, derived scalars, and the VTU/JSON outputs.

Conventions
-----------
* Symmetric tensors are stored as 6 components in VTK order ``XX YY ZZ XY YZ XZ``. Strain shear entries are
  tensor components (half the engineering shear strain). Stress in MPa, strain dimensionless.
* Cell values are volume averages over the element's quadrature points.
* Point values are evaluated at each element's nodes and averaged over the elements *of the same material
  region* only: stresses jump across material boundaries, and averaging across them would smear the jump.
  Where a model has several material regions, the output mesh therefore carries one copy of each interface
  node per region (point data ``node_id`` gives the input node number).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .assembly import _kernels as K
from .assembly import quadrature_points, strains_hex8_incompatible

if TYPE_CHECKING:
    from .problem import Problem
    from .solvers import LinearSolveInfo

__all__ = ["Result", "recover", "recover_with", "output_mesh", "von_mises", "principal_stresses", "atomic_write",
           "StepWriter", "UNITS"]

#: units of every output field
UNITS = {
    "displacement": "mm",
    "stress": "MPa",
    "strain": "1",
    "von_mises": "MPa",
    "max_principal": "MPa",
    "min_principal": "MPa",
    "reaction_force": "N",
    "load_resultant": "N",
    "axial_force": "N",
    "axial_stress": "MPa",
    "length": "mm",
}


def von_mises(s: np.ndarray) -> np.ndarray:
    """Von Mises equivalent stress of tensors ``(..., 6)`` (XX YY ZZ XY YZ XZ) [same unit]."""
    s = np.asarray(s)
    d = (s[..., 0] - s[..., 1]) ** 2 + (s[..., 1] - s[..., 2]) ** 2 + (s[..., 2] - s[..., 0]) ** 2
    return np.sqrt(0.5 * d + 3.0 * (s[..., 3] ** 2 + s[..., 4] ** 2 + s[..., 5] ** 2))


def _full(s: np.ndarray) -> np.ndarray:
    T = np.empty(s.shape[:-1] + (3, 3))
    T[..., 0, 0], T[..., 1, 1], T[..., 2, 2] = s[..., 0], s[..., 1], s[..., 2]
    T[..., 0, 1] = T[..., 1, 0] = s[..., 3]
    T[..., 1, 2] = T[..., 2, 1] = s[..., 4]
    T[..., 0, 2] = T[..., 2, 0] = s[..., 5]
    return T


def principal_stresses(s: np.ndarray) -> np.ndarray:
    """Principal values ``(..., 3)`` in ascending order of tensors ``(..., 6)``."""
    return np.linalg.eigvalsh(_full(np.asarray(s, dtype=np.float64)))


@dataclass
class Result:
    """The solution of a :class:`~fesolver.problem.Problem`.

    Attributes
    ----------
    displacement : (nn, 3) float64, mm
        At the input mesh's nodes.
    cell_strain, cell_stress : list of (nel, 6) float64
        Per solid block, volume-averaged (strain [-], stress [MPa]).
    out_points : (m, 3) float64, mm
        Output-mesh points (input nodes, interface nodes repeated once per material region).
    out_node : (m,) int64
        Input node number of each output point.
    out_cells : list of (nel, nen) int64
        Per solid block, connectivity into ``out_points``.
    point_strain, point_stress : (m, 6) float64
        Recovered at the output points, averaged within each material region.
    material_id : list of (nel,) int64
        Per solid block, index of the element's material (order of ``regions``).
    regions : list of str
        Material regions.
    reactions : dict
        Boundary condition name -> reaction force (3,) [N] summed over its constrained DOFs.
    load_resultants : dict
        Load name -> resultant applied force (3,) [N].
    """

    problem: Problem
    displacement: np.ndarray
    cell_strain: list[np.ndarray]
    cell_stress: list[np.ndarray]
    out_points: np.ndarray
    out_node: np.ndarray
    out_cells: list[np.ndarray]
    point_strain: np.ndarray
    point_stress: np.ndarray
    material_id: list[np.ndarray]
    regions: list[str]
    reactions: dict[str, np.ndarray]
    load_resultants: dict[str, np.ndarray]
    solver_info: LinearSolveInfo
    timings: dict[str, float] = field(default_factory=dict)
    n_free: int = 0
    #: load factor the result belongs to (finite-strain analysis; 1 = end of the load)
    load_factor: float = 1.0
    #: converged Newton steps (:class:`~fesolver.solvers.newton.StepRecord`), empty for a linear analysis
    steps: list = field(default_factory=list)
    #: per truss block, :class:`~fesolver.elements.truss.TrussResponse` (force [N], stress [MPa], stretch)
    trusses: list = field(default_factory=list)
    #: per rigid body: reference-point force [N], moment [N mm], translation [mm], rotation vector [rad]
    rigid: dict = field(default_factory=dict)
    #: per contact (:mod:`fesolver.contact`) name: ``nodes``, nodal ``pressure`` [MPa] and ``gap`` [mm], and
    #: ``summary`` (peak and mean pressure, contact area, normal force, centre of pressure); empty without contact
    contact: dict = field(default_factory=dict)
    #: per :class:`~fesolver.loads.PrescribedRotation` name: the moment [N mm] of its reactions about its centre
    #: (reference position)
    reaction_moments: dict = field(default_factory=dict)

    @property
    def mesh(self):
        return self.problem.mesh

    @property
    def point_displacement(self) -> np.ndarray:
        """Displacement at the output points (m, 3) [mm]."""
        return self.displacement[self.out_node]

    def nodal_stress(self) -> np.ndarray:
        """Stress (nn, 6) [MPa] at the input nodes; at region interfaces, the mean of the regions' values."""
        nn = self.mesh.n_nodes
        acc = np.zeros((nn, 6))
        cnt = np.bincount(self.out_node, minlength=nn).astype(float)
        for i in range(6):
            acc[:, i] = np.bincount(self.out_node, weights=self.point_stress[:, i], minlength=nn)
        return acc / np.maximum(cnt, 1.0)[:, None]

    # -- summaries ------------------------------------------------------------------------------
    def summary(self) -> dict:
        """JSON-ready summary: sizes, peaks (with locations), reactions, solver, timings, units."""
        mesh = self.mesh
        u = self.displacement
        umag = np.linalg.norm(u, axis=1)
        iu = int(np.argmax(umag))
        vm_p = von_mises(self.point_stress)
        pr_p = principal_stresses(self.point_stress)
        cell_s = np.vstack(self.cell_stress)
        vm_c = von_mises(cell_s)
        ip = int(np.argmax(vm_p))
        per_region = {}
        mid = np.concatenate(self.material_id)
        for r, name in enumerate(self.regions):
            sel = mid == r
            if sel.any():
                per_region[name] = {
                    "elements": int(sel.sum()),
                    "max_von_mises_cell": float(vm_c[sel].max()),
                }
        return {
            "title": self.problem.title,
            "units": UNITS,
            "mesh": {
                "source": mesh.source,
                "nodes": mesh.n_nodes,
                "elements": {b.etype.name: int(b.cells.shape[0]) for b in mesh.solids},
            },
            "dofs": 3 * mesh.n_nodes,
            "free_dofs": self.n_free,
            "solver": self.solver_info.as_dict(),
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "peaks": {
                "max_displacement": {"value": float(umag[iu]), "node": iu, "at": self.mesh.points[iu].tolist()},
                "max_von_mises": {
                    "value": float(vm_p[ip]),
                    "node": int(self.out_node[ip]),
                    "at": self.out_points[ip].tolist(),
                },
                "max_principal": float(pr_p[:, 2].max()),
                "min_principal": float(pr_p[:, 0].min()),
                "max_von_mises_cell": float(vm_c.max()),
            },
            "regions": per_region,
            "reactions_N": {k: v.tolist() for k, v in self.reactions.items()},
            **({"reaction_moments_Nmm": {k: v.tolist() for k, v in self.reaction_moments.items()}}
               if self.reaction_moments else {}),
            "load_resultants_N": {k: v.tolist() for k, v in self.load_resultants.items()},
            **self._nonlinear_summary(),
        }

    def _nonlinear_summary(self) -> dict:
        if not self.steps and not self.trusses:
            return {"analysis": "linear"}
        out = {
            "analysis": "finite_strain",
            "stress_measure": "Cauchy (true) stress",
            "strain_measure": "Green-Lagrange strain",
            "load_factor": self.load_factor,
            "newton_steps": [
                {"t": r.t, "iterations": r.iterations, "relative_residuals": r.residuals} for r in self.steps
            ],
        }
        if self.rigid:
            out["rigid_bodies"] = self.rigid
        if self.contact:
            out["contact"] = {name: c["summary"] for name, c in self.contact.items()}
            out["contact_augmentations"] = [int(getattr(r, "augmentations", 0)) for r in self.steps]
        if self.trusses:
            force = np.concatenate([t.force for t in self.trusses])
            stress = np.concatenate([t.stress for t in self.trusses])
            out["trusses"] = {
                "elements": int(force.size),
                "max_axial_force_N": float(force.max()),
                "max_axial_stress_MPa": float(stress.max()),
                "slack_elements": int(np.sum(force == 0.0)),
            }
        return out

    # -- files ----------------------------------------------------------------------------------
    def to_meshio(self):
        """The output mesh with point and cell data, as a ``meshio.Mesh``."""
        import meshio

        ps = self.point_stress
        pp = principal_stresses(ps)
        point_data = {
            "displacement": self.point_displacement,
            "stress": ps,
            "strain": self.point_strain,
            "von_mises": von_mises(ps),
            "max_principal": pp[:, 2],
            "min_principal": pp[:, 0],
            "node_id": self.out_node.astype(np.int64),
        }
        cells, cell_data = [], {k: [] for k in ("stress", "strain", "von_mises", "max_principal",
                                                 "min_principal", "material", "element_id")}
        offsets = self.mesh.solid_offsets
        for k, b in enumerate(self.mesh.solids):
            cells.append((b.etype.meshio_type, self.out_cells[k]))
            cs = self.cell_stress[k]
            cp = principal_stresses(cs)
            cell_data["stress"].append(cs)
            cell_data["strain"].append(self.cell_strain[k])
            cell_data["von_mises"].append(von_mises(cs))
            cell_data["max_principal"].append(cp[:, 2])
            cell_data["min_principal"].append(cp[:, 0])
            cell_data["material"].append(self.material_id[k])
            cell_data["element_id"].append(offsets[k] + np.arange(b.cells.shape[0], dtype=np.int64))
        fib = self.fibre_fields()
        if fib is not None:
            cell_data.update(fib)
        if self.contact:
            self._add_contact(point_data)
        points = self.out_points
        if self.trusses:
            points, point_data = self._add_trusses(cells, cell_data, point_data)
        return meshio.Mesh(points, cells, point_data=point_data, cell_data=cell_data)

    def fibre_fields(self) -> dict[str, list[np.ndarray]] | None:
        """Per solid block, for elements of fibre-reinforced materials (those with a ``fibre`` direction
        ``a0``), evaluated at the element centre: ``fibre_stretch`` ``|F a0|`` [-] and ``fibre_stress``
        ``n . sigma n`` [MPa], the Cauchy stress along the current fibre direction ``n = F a0 / |F a0|``
        (matrix and fibres together, with sigma the element's mean stress). NaN elsewhere; ``None`` when no
        material has fibres."""
        from .assembly import _kernels_tl as KT

        fibres = []
        for r in self.regions:
            f = getattr(self.problem.materials[r], "fibre", None)
            fibres.append(np.full(3, np.nan) if f is None else np.asarray(f, dtype=float))
        if all(np.isnan(f).all() for f in fibres):
            return None
        a_by_mat = np.array([f / np.linalg.norm(f) if not np.isnan(f).all() else f for f in fibres])
        u3 = np.ascontiguousarray(self.displacement, dtype=np.float64)
        out = {"fibre_stretch": [], "fibre_stress": []}
        for k, b in enumerate(self.mesh.solids):
            a0 = a_by_mat[self.material_id[k]]  # (nel, 3), NaN rows without fibres
            centre = np.full((1, 3), 0.25) if b.etype.name.startswith("tet") else np.zeros((1, 3))
            F = np.empty((b.cells.shape[0], 1, 3, 3))
            KT.deformation_at_points(self.mesh.points, np.ascontiguousarray(b.cells, dtype=np.int64),
                                     np.ascontiguousarray(b.etype.dshape(centre)), u3, F)
            fa = np.einsum("eij,ej->ei", F[:, 0], a0)
            lam = np.linalg.norm(fa, axis=1)
            n = fa / lam[:, None]
            sig = _full(self.cell_stress[k])
            out["fibre_stretch"].append(lam)
            out["fibre_stress"].append(np.einsum("ei,eij,ej->e", n, sig, n))
        return out

    def _add_contact(self, point_data) -> None:
        """``contact_pressure`` [MPa] (0 off the contact surfaces), ``contact_force_pressure`` [MPa] (normal
        contact force over the node's tributary area; the same as ``contact_pressure`` for rigid surfaces) and
        ``contact_gap`` [mm] (NaN off them).

        A node on several contact surfaces shows the largest pressures and the smallest gap.
        """
        nn = self.mesh.n_nodes
        p = np.zeros(nn)
        g = np.full(nn, np.inf)
        fp = np.zeros(nn)
        for c in self.contact.values():
            nodes = np.asarray(c["nodes"])
            p[nodes] = np.maximum(p[nodes], c["pressure"])
            fp[nodes] = np.maximum(fp[nodes], c.get("force_pressure", c["pressure"]))
            g[nodes] = np.minimum(g[nodes], c["gap"])
        g[~np.isfinite(g)] = np.nan
        point_data["contact_pressure"] = p[self.out_node]
        point_data["contact_force_pressure"] = fp[self.out_node]
        point_data["contact_gap"] = g[self.out_node]

    def _add_trusses(self, cells, cell_data, point_data):
        """Append the truss (line) blocks with axial force [N], stress [MPa] and stretch as cell data.

        Truss nodes get their own output points (appended); solid-only fields are NaN on lines and
        truss-only fields NaN on solids.
        """
        lines = [b.cells for b in self.mesh.lines]
        extra = np.unique(np.concatenate([c.ravel() for c in lines]))
        base = self.out_points.shape[0]
        remap = np.full(self.mesh.n_nodes, -1, dtype=np.int64)
        remap[extra] = base + np.arange(extra.size)
        points = np.vstack([self.out_points, self.mesh.points[extra]])
        pd = {}
        for key, val in point_data.items():
            if key == "displacement":
                pd[key] = np.vstack([val, self.displacement[extra]])
            elif key == "node_id":
                pd[key] = np.concatenate([val, extra])
            else:
                pad = np.full((extra.size,) + val.shape[1:], np.nan)
                pd[key] = np.concatenate([val, pad])
        n_solid_blocks = len(cells)
        for key in list(cell_data):
            for c in lines:
                shape = (c.shape[0],) + cell_data[key][0].shape[1:]
                fill = -1 if np.issubdtype(cell_data[key][0].dtype, np.integer) else np.nan
                cell_data[key].append(np.full(shape, fill, dtype=cell_data[key][0].dtype))
        for key in ("axial_force", "axial_stress", "stretch"):
            cell_data[key] = [np.full(cells[k][1].shape[0], np.nan) for k in range(n_solid_blocks)]
        for c, t in zip(lines, self.trusses, strict=True):
            cells.append(("line", remap[c]))
            cell_data["axial_force"].append(t.force)
            cell_data["axial_stress"].append(t.stress)
            cell_data["stretch"].append(t.stretch)
        return points, pd

    def write(self, outdir, status: str = "ok", message: str = "") -> dict[str, Path]:
        """Write ``result.vtu`` and ``summary.json`` into ``outdir`` (each written whole, then renamed).

        ``status`` ("ok" or "failed") and ``message`` go into the summary (a failed finite-strain run writes
        its last converged state with ``status = "failed"``).
        """
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        m = self.to_meshio()
        vtu = outdir / "result.vtu"
        summ = outdir / "summary.json"
        atomic_write(vtu, lambda p: m.write(p, file_format="vtu"))
        summary = {"status": status, **({"message": message} if message else {}), **self.summary()}
        text = json.dumps(summary, indent=2)
        atomic_write(summ, lambda p: Path(p).write_text(text))
        return {"vtu": vtu, "summary": summ}


def atomic_write(path, writer) -> None:
    """Call ``writer(tmp_path)`` on a temporary file in the same folder, then rename it to ``path``.

    A crash or error leaves any earlier ``path`` untouched and no partial file behind.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def output_mesh(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Output-point numbering: one copy of each node per material region that uses it.

    Returns ``new_id (n_regions, nn)`` (output point of node ``n`` in region ``r``, -1 if unused; a single
    row shared by all regions when there is one region) and ``out_node (m,)`` (input node of each output point).
    """
    mesh = problem.mesh
    n_reg = len(problem.materials)
    if n_reg == 1:
        return np.arange(mesh.n_nodes)[None, :], np.arange(mesh.n_nodes)
    used = np.zeros((n_reg, mesh.n_nodes), dtype=bool)
    for k, b in enumerate(mesh.solids):
        mid = problem.material_index[k]
        for r in range(n_reg):
            sel = mid == r
            if sel.any():
                used[r, b.cells[sel].ravel()] = True
    new_id = np.full((n_reg, mesh.n_nodes), -1, dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(used.sum(axis=1))])
    out_node = np.empty(start[-1], dtype=np.int64)
    for r in range(n_reg):
        nodes = np.flatnonzero(used[r])
        new_id[r, nodes] = start[r] + np.arange(nodes.size)
        out_node[start[r]:start[r + 1]] = nodes
    return new_id, out_node


def small_strain_tensors(problem: Problem, u: np.ndarray):
    """Evaluator for :func:`recover_with`: small strain and linear-elastic stress at reference points.

    Incompatible-mode hex8 blocks use their enhanced strain (including the condensed internal modes).
    """
    mesh = problem.mesh
    mats = problem.linear_materials()
    formulations = problem.formulations()
    lam, mu = problem.lame_per_element() if "incompatible" in formulations else (None, None)

    def evaluate(k: int, xi: np.ndarray):
        b = mesh.solids[k]
        et = b.etype
        if formulations[k] == "incompatible":
            eps = strains_hex8_incompatible(mesh.points, et, b.cells, xi, u, lam[k], mu[k])
        else:
            eps = np.empty((b.cells.shape[0], xi.shape[0], 6))
            K.strains_at_points(mesh.points, b.cells, np.ascontiguousarray(et.dshape(xi)), u, eps)
        sig = np.empty_like(eps)
        mid = problem.material_index[k]
        for r, mat in enumerate(mats):
            sel = mid == r
            if sel.any():
                sig[sel] = mat.stress(eps[sel])
        return eps, sig

    return evaluate


def recover(problem: Problem, u: np.ndarray, reactions, resultants, info) -> Result:
    """Small-strain strains and stresses per element (quadrature average) and per node (region-wise)."""
    u = np.ascontiguousarray(u, dtype=np.float64)
    return recover_with(problem, u, small_strain_tensors(problem, u), reactions, resultants, info)


def extrapolation_matrix(etype) -> np.ndarray:
    """``(nen, nq)`` matrix taking quadrature-point values of ``etype``'s stiffness rule to its nodes.

    The quadrature values are fitted (least squares) by the element's corner-level field -- linear on tets,
    trilinear on hexes -- which is then evaluated at every node; with fewer points than corners (tet4) the
    nodes get the element mean. Exact for fields the corner-level interpolation represents.
    """
    from .elements import HEX8, TET4

    xi, _ = etype.rule()
    corner = HEX8 if etype.name == "hex8" else TET4
    P = corner.shape(xi)  # (nq, nc)
    if xi.shape[0] < corner.n_nodes:
        return np.full((etype.n_nodes, xi.shape[0]), 1.0 / xi.shape[0])
    return corner.shape(etype.ref_nodes) @ np.linalg.pinv(P)


def recover_with(problem: Problem, u: np.ndarray, evaluate, reactions, resultants, info,
                 nodal: str = "evaluate") -> Result:
    """Cell averages and region-wise nodal averages of the tensors ``evaluate(block, xi)`` returns.

    ``evaluate(k, xi)`` gives ``(strain, stress)``, each ``(nel, npt, 6)``, for solid block ``k`` at the
    reference points ``xi``; cell values are averaged over the quadrature points with the reference volume
    weights. Point values are each element's values at its nodes -- evaluated there (``nodal =
    "evaluate"``, exact for small strain) or extrapolated from the quadrature points (``"extrapolate"``,
    robust for strongly stiffening materials at finite strain) -- averaged over the elements of a region.
    """
    mesh = problem.mesh
    new_id, out_node = output_mesh(problem)
    n_reg = len(problem.materials)
    m = out_node.size
    acc_e = np.zeros((m, 6))
    acc_s = np.zeros((m, 6))
    cnt = np.zeros(m)
    cell_strain, cell_stress, out_cells = [], [], []
    for k, b in enumerate(mesh.solids):
        et = b.etype
        mid = problem.material_index[k]
        xi, _w = et.rule()
        _, wdet = quadrature_points(mesh.points, et, b.cells)
        eq, sq = evaluate(k, xi)
        wsum = wdet.sum(axis=1)[:, None]
        ec = np.einsum("eqc,eq->ec", eq, wdet) / wsum
        sc = np.einsum("eqc,eq->ec", sq, wdet) / wsum
        if nodal == "extrapolate":
            X = extrapolation_matrix(et)
            en = np.einsum("aq,eqc->eac", X, eq)
            sn = np.einsum("aq,eqc->eac", X, sq)
        else:
            en, sn = evaluate(k, np.ascontiguousarray(et.ref_nodes, dtype=np.float64))
        oc = new_id[mid[:, None], b.cells] if n_reg > 1 else b.cells.copy()
        flat = oc.ravel()
        cnt += np.bincount(flat, minlength=m)
        for c in range(6):
            acc_e[:, c] += np.bincount(flat, weights=en[:, :, c].ravel(), minlength=m)
            acc_s[:, c] += np.bincount(flat, weights=sn[:, :, c].ravel(), minlength=m)
        cell_strain.append(ec)
        cell_stress.append(sc)
        out_cells.append(oc)
    cnt = np.maximum(cnt, 1.0)[:, None]
    return Result(
        problem=problem,
        displacement=u,
        cell_strain=cell_strain,
        cell_stress=cell_stress,
        out_points=mesh.points[out_node],
        out_node=out_node,
        out_cells=out_cells,
        point_strain=acc_e / cnt,
        point_stress=acc_s / cnt,
        material_id=[np.asarray(i) for i in problem.material_index],
        regions=list(problem.materials),
        reactions=reactions,
        load_resultants=resultants,
        solver_info=info,
    )


class StepWriter:
    """Writes each converged load step as ``FOLDER/step_NNNN.vtu`` and keeps ``PVD`` (a ParaView time series
    over the load factor; default ``steps/`` and ``result.pvd``) up to date; every file is written whole, then
    renamed. ``resume``: continue the series an earlier (interrupted) solve wrote, from its PVD's entries whose
    files exist."""

    def __init__(self, outdir, pvd: str = "result.pvd", folder: str = "steps", resume: bool = False):
        import re

        self.outdir = Path(outdir)
        self.pvd, self.folder = pvd, folder
        self.entries: list[tuple[float, str]] = []
        old = self.outdir / pvd
        if resume and old.is_file():
            for t, f in re.findall(r'timestep="([^"]+)"[^>]*file="([^"]+)"', old.read_text()):
                if (self.outdir / f).is_file():
                    self.entries.append((float(t), f))

    def __call__(self, t: float, result: Result) -> None:
        steps = self.outdir / self.folder
        steps.mkdir(parents=True, exist_ok=True)
        name = f"{self.folder}/step_{len(self.entries) + 1:04d}.vtu"
        m = result.to_meshio()
        atomic_write(self.outdir / name, lambda p: m.write(p, file_format="vtu"))
        self.entries.append((t, name))
        self.write_pvd()

    def write_pvd(self) -> None:
        rows = "\n".join(f'    <DataSet timestep="{t:.10g}" group="" part="0" file="{f}"/>' for t, f in self.entries)
        text = (
            '<?xml version="1.0"?>\n'
            "<!-- fesolver result series; timestep = load factor (0..1); units: mm, N, MPa -->\n"
            '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n'
            f"  <Collection>\n{rows}\n  </Collection>\n</VTKFile>\n"
        )
        atomic_write(self.outdir / self.pvd, lambda p: Path(p).write_text(text))
