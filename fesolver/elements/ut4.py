r"""FEBio's ``ut4-solid``: the nodally integrated, uniform-strain tetrahedron with element stabilisation.

FEBio's ``FEUT4Domain`` (after Gee, Dohrmann, Key and Wall, 2009) gives every node ``I`` of a tet4 domain the
reference volume ``V_I = sum_e V_e / 4`` over its elements and the volume-averaged deformation gradient

.. math:: F_I = \sum_{e \ni I} \frac{V_e}{4 V_I} F_e ,

evaluates the material at ``F_I`` and adds the standard element response scaled by ``alpha`` (``iso_stab = 0``):
the nodal forces are ``(1 - alpha) sum_e V_e/4 P(F_I) grad N^e`` and the element forces ``alpha`` times the usual
ones. For a hyperelastic material that is the gradient of

.. math:: \Pi = (1 - \alpha) \sum_I V_I\, W(F_I) + \alpha \sum_e V_e\, W(F_e),

which is what :class:`UT4NodalIntegration` assembles, with its exact tangent. It is a hook of
:class:`~fesolver.nonlinear.FiniteStrainSystem` (like the contacts): the tet4 block keeps its material (so its
stress output is the element stress, as in FEBio) and the hook adds ``(1 - alpha) (sum_I V_I W(F_I) - sum_e V_e
W(F_e))``. A node's patch couples every node of its elements, so the tangent is returned as a sparse matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..materials import _kernels as MK
from . import _ut4_kernels as UK
from .tet4 import TET4

__all__ = ["UT4NodalIntegration", "ut4_points"]


def ut4_points(points: np.ndarray, cells: np.ndarray):
    """Integration points of the UT4 correction: node patches, then elements.

    Returns
    -------
    ptr : (nI + ne + 1,) int64
        CSR offsets into ``nodes`` / ``G``.
    nodes : (nnz,) int64
    G : (nnz, 3) float64, 1/mm
        Patch gradients ``sum_{e ni I, a in e} V_e / (4 V_I) grad N_a^e`` (nodes), ``grad N_a^e`` (elements).
    V : (nI + ne,) float64, mm^3
        Nodal volumes ``V_I``, then element volumes ``V_e`` (reference).
    patch_nodes : (nI,) int64
        The mesh node of each node patch.
    """
    cells = np.ascontiguousarray(cells, dtype=np.int64)
    ne = cells.shape[0]
    X = points[cells]  # (ne, 4, 3)
    dN = TET4.dshape(np.zeros((1, 3)))[0]  # (4, 3), constant
    Jac = np.einsum("eai,aj->eij", X, dN)
    Ve = np.linalg.det(Jac) / 6.0
    grad = np.einsum("aj,eji->eai", dN, np.linalg.inv(Jac))  # (ne, 4, 3): grad N_a = dN/dxi J^-1
    patch_nodes, inv = np.unique(cells, return_inverse=True)
    inv = inv.reshape(cells.shape)
    nI = patch_nodes.size
    VI = np.bincount(inv.ravel(), weights=np.repeat(Ve / 4.0, 4), minlength=nI)
    # pairs (patch I, node a) of every element: 16 per element
    I = np.repeat(inv, 4, axis=1).ravel()  # (ne*16,) patch index, I-major
    a = np.tile(cells, (1, 4)).ravel()
    g = (np.tile(grad, (1, 4, 1)) * (np.repeat(Ve, 16) / 4.0 / VI[I]).reshape(ne, 16)[:, :, None]).reshape(-1, 3)
    key = I * points.shape[0] + a
    uk, kinv = np.unique(key, return_inverse=True)
    Gn = np.column_stack([np.bincount(kinv, weights=g[:, d], minlength=uk.size) for d in range(3)])
    rowsI = uk // points.shape[0]
    nodes_n = uk % points.shape[0]
    ptr_n = np.concatenate([[0], np.cumsum(np.bincount(rowsI, minlength=nI))])
    ptr = np.concatenate([ptr_n, ptr_n[-1] + 4 * np.arange(1, ne + 1)]).astype(np.int64)
    nodes = np.concatenate([nodes_n, cells.ravel()]).astype(np.int64)
    G = np.ascontiguousarray(np.vstack([Gn, grad.reshape(-1, 3)]))
    return ptr, nodes, G, np.concatenate([VI, Ve]), patch_nodes


class UT4NodalIntegration:
    """The UT4 correction of one tet4 block (``alpha`` = FEBio's element stabilisation, default 0.05).

    Parameters
    ----------
    block : int
        Solid block index (tet4).
    material : hyperelastic material
        The block's material (fesolver kernel model).
    alpha : float
        Share of the standard element response, 0 <= alpha <= 1.
    name : str
    """

    symmetric_tangent = True

    def __init__(self, block: int, material, alpha: float = 0.05, name: str = "ut4"):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"ut4: alpha must be in [0, 1], got {alpha}")
        if getattr(material, "graded", False):
            raise ValueError(f"ut4: material {material.name!r} is a graded mixture; UT4 takes one material per block")
        self.block, self.material, self.alpha, self.name = block, material, float(alpha), name

    def setup(self, system) -> None:
        blk = system.blocks[self.block]
        if blk["etype"] is not TET4:
            raise ValueError(f"ut4: block {self.block} is {blk['etype'].name}, the UT4 formulation needs tet4")
        self.ptr, self.nodes, self.G, self.V, self.patch_nodes = ut4_points(system.points, blk["cells"])
        nI = self.patch_nodes.size
        npnt = self.V.size
        self.w = np.full(npnt, 1.0 - self.alpha)
        self.w[nI:] = -(1.0 - self.alpha)  # the block's own elements already carry W(F_e) in full
        m = np.diff(self.ptr)
        self.nnz = int((9 * m * m).sum())
        fib = getattr(self.material, "fibre", (0.0, 0.0, 0.0)) if self.material.fibre_reinforced else (0, 0, 0)
        a0 = np.asarray(fib, dtype=float)
        if np.linalg.norm(a0) > 0:
            a0 = a0 / np.linalg.norm(a0)
        self.a0 = np.ascontiguousarray(np.broadcast_to(a0, (npnt, 3)))
        self.n_dofs = system.n_dofs

    def evaluate(self, u3: np.ndarray, want_tangent: bool):
        """``(f (3 nn,), K (CSR) or None, ok)`` of the correction at displacement ``u3 (nn, 3)``."""
        npnt = self.V.size
        F = np.empty((npnt, 3, 3))
        UK.deformation_gradients_points(self.ptr, self.nodes, self.G, np.ascontiguousarray(u3), F)
        C = np.ascontiguousarray(np.einsum("pki,pkj->pij", F, F))
        S = np.empty((npnt, 3, 3))
        D = np.empty((npnt, 6, 6))
        W = np.empty(npnt)
        MK.pk2_and_tangent_points(self.material.model_id, self.material.params, C, self.a0, S, D, W)
        ok = bool(np.all(np.isfinite(W)) and np.all(np.linalg.det(F) > 0.0))
        f = np.zeros(self.n_dofs)
        n = self.nnz if want_tangent else 0
        rows, cols, vals = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n)
        UK.residual_tangent_points(self.ptr, self.nodes, self.G, self.V, self.w, F, S, D, want_tangent, f,
                                   rows, cols, vals)
        K = sp.csr_matrix((vals, (rows, cols)), shape=(self.n_dofs, self.n_dofs)) if want_tangent else None
        return f, K, ok

    # -- hooks of FiniteStrainSystem ------------------------------------------------------------
    def add(self, system, u3, f, data):
        fc, K, _ = self.evaluate(u3, data is not None)
        f += fc
        return K

    def augment(self, system, u3) -> bool:
        return True

    def report(self, system, u3) -> dict:
        return {"alpha": self.alpha, "node_patches": int(self.patch_nodes.size)}
