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

__all__ = ["Result", "recover", "von_mises", "principal_stresses", "atomic_write", "UNITS"]

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
            "load_resultants_N": {k: v.tolist() for k, v in self.load_resultants.items()},
        }

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
        return meshio.Mesh(self.out_points, cells, point_data=point_data, cell_data=cell_data)

    def write(self, outdir) -> dict[str, Path]:
        """Write ``result.vtu`` and ``summary.json`` into ``outdir`` (each written whole, then renamed)."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        m = self.to_meshio()
        vtu = outdir / "result.vtu"
        summ = outdir / "summary.json"
        atomic_write(vtu, lambda p: m.write(p, file_format="vtu"))
        text = json.dumps(self.summary(), indent=2)
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


def recover(problem: Problem, u: np.ndarray, reactions, resultants, info) -> Result:
    """Strains and stresses per element (quadrature average) and per node (region-wise average).

    Incompatible-mode hex8 blocks use their enhanced strain (including the condensed internal modes).
    """
    mesh = problem.mesh
    u = np.ascontiguousarray(u, dtype=np.float64)
    mats = list(problem.materials.values())
    regions = list(problem.materials)
    n_reg = len(regions)
    # output points: one copy of each node per material region that uses it
    used = np.zeros((n_reg, mesh.n_nodes), dtype=bool)
    for k, b in enumerate(mesh.solids):
        mid = problem.material_index[k]
        for r in range(n_reg):
            sel = mid == r
            if sel.any():
                used[r, b.cells[sel].ravel()] = True
    if n_reg == 1:
        new_id = np.arange(mesh.n_nodes)[None, :]
        out_node = np.arange(mesh.n_nodes)
    else:
        new_id = np.full((n_reg, mesh.n_nodes), -1, dtype=np.int64)
        counts = used.sum(axis=1)
        start = np.concatenate([[0], np.cumsum(counts)])
        out_node = np.empty(start[-1], dtype=np.int64)
        for r in range(n_reg):
            nodes = np.flatnonzero(used[r])
            new_id[r, nodes] = start[r] + np.arange(nodes.size)
            out_node[start[r]:start[r + 1]] = nodes
    m = out_node.size
    acc_e = np.zeros((m, 6))
    acc_s = np.zeros((m, 6))
    cnt = np.zeros(m)
    cell_strain, cell_stress, out_cells = [], [], []
    formulations = problem.formulations()
    lam, mu = problem.lame_per_element() if "incompatible" in formulations else (None, None)
    for k, b in enumerate(mesh.solids):
        et = b.etype
        mid = problem.material_index[k]
        nel, nen = b.cells.shape
        # cell averages over the quadrature points
        xi, _w = et.rule()
        _, wdet = quadrature_points(mesh.points, et, b.cells)
        if formulations[k] == "incompatible":
            eq = strains_hex8_incompatible(mesh.points, et, b.cells, xi, u, lam[k], mu[k])
        else:
            eq = np.empty((nel, xi.shape[0], 6))
            K.strains_at_points(mesh.points, b.cells, np.ascontiguousarray(et.dshape(xi)), u, eq)
        ec = np.einsum("eqc,eq->ec", eq, wdet) / wdet.sum(axis=1)[:, None]
        # nodal values from each element, at its own nodes
        if formulations[k] == "incompatible":
            en = strains_hex8_incompatible(mesh.points, et, b.cells, et.ref_nodes, u, lam[k], mu[k])
        else:
            en = np.empty((nel, nen, 6))
            K.strains_at_points(mesh.points, b.cells, np.ascontiguousarray(et.dshape(et.ref_nodes)), u, en)
        sc = np.empty_like(ec)
        sn = np.empty_like(en)
        for r, mat in enumerate(mats):
            sel = mid == r
            if sel.any():
                sc[sel] = mat.stress(ec[sel])
                sn[sel] = mat.stress(en[sel])
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
        regions=regions,
        reactions=reactions,
        load_resultants=resultants,
        solver_info=info,
    )
