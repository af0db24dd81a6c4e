"""CSR sparsity pattern built once per mesh, with the element-to-CSR scatter map.

The pattern is node-based: every node carries three DOFs (``3 * node + component``) and the 3x3 blocks of
two nodes that share an element are stored. For each element block it keeps

* the node-to-element incidence (``n2e_ptr``, ``n2e_elem``, ``n2e_local``), so that assembly can run in
  parallel over nodes, each thread owning the rows of its nodes (no atomics, deterministic sums);
* ``slot[e, a, b]``: the position of node ``conn[e, b]`` among the sorted neighbours of ``conn[e, a]``, so the
  CSR entry of DOF pair ``(3A + i, 3B + j)`` is ``indptr[3A + i] + 3 * slot + j`` -- no search at assembly time.

Re-assembly only zeroes and refills ``data``; ``indptr`` and ``indices`` are shared by every matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _kernels as K

__all__ = ["SparsityPattern", "node_to_element"]


@dataclass(frozen=True)
class _BlockMap:
    n2e_ptr: np.ndarray
    n2e_elem: np.ndarray
    n2e_local: np.ndarray
    slot: np.ndarray


def node_to_element(conn: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node-to-element incidence of one block as CSR: ``(ptr (nn+1,), elem, local)`` (int64)."""
    flat = conn.ravel()
    order = np.argsort(flat, kind="stable")
    counts = np.bincount(flat, minlength=n_nodes)
    ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    nen = conn.shape[1]
    return ptr, (order // nen).astype(np.int64), (order % nen).astype(np.int64)


class SparsityPattern:
    """The CSR structure of a 3-DOF-per-node operator on a set of element blocks.

    Parameters
    ----------
    n_nodes : int
        Number of mesh nodes (DOFs are ``3 * n_nodes``).
    conns : list of (nel, nen) int arrays
        Connectivity of each element block (solids, trusses, ...).

    Examples
    --------
    >>> import numpy as np
    >>> pat = SparsityPattern(4, [np.array([[0, 1, 2, 3]])])
    >>> pat.nnz
    144
    """

    def __init__(self, n_nodes: int, conns: list[np.ndarray]):
        self.n_nodes = int(n_nodes)
        conns = [np.ascontiguousarray(c, dtype=np.int64) for c in conns]
        # ragged element -> nodes over all blocks, for the node graph
        sizes = np.concatenate([np.full(c.shape[0], c.shape[1], dtype=np.int64) for c in conns])
        elem_ptr = np.zeros(sizes.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=elem_ptr[1:])
        elem_nodes = np.concatenate([c.ravel() for c in conns])
        order = np.argsort(elem_nodes, kind="stable")
        counts = np.bincount(elem_nodes, minlength=self.n_nodes)
        g_ptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(counts, out=g_ptr[1:])
        g_elem = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)[order]

        nbr_count = np.zeros(self.n_nodes, dtype=np.int64)
        K._count_node_neighbors(g_ptr, g_elem, elem_ptr, elem_nodes, nbr_count)
        nbr_ptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(nbr_count, out=nbr_ptr[1:])
        nbr = np.empty(nbr_ptr[-1], dtype=np.int64)
        K._fill_node_neighbors(g_ptr, g_elem, elem_ptr, elem_nodes, nbr_ptr, nbr)

        nnz = 9 * int(nbr_ptr[-1])
        itype = np.int32 if nnz < np.iinfo(np.int32).max else np.int64
        indptr = np.empty(3 * self.n_nodes + 1, dtype=np.int64)
        indices = np.empty(nnz, dtype=np.int64)
        K._dof_csr_structure(nbr_ptr, nbr, indptr, indices)
        self.indptr = indptr.astype(itype)
        self.indices = indices.astype(itype)
        # matrices share these arrays: read-only, so an in-place structural change of a matrix (e.g.
        # eliminate_zeros) fails loudly instead of corrupting every later assembly
        self.indptr.setflags(write=False)
        self.indices.setflags(write=False)
        indptr.setflags(write=False)
        self._indptr64 = indptr

        self.blocks: list[_BlockMap] = []
        for c in conns:
            if len(conns) == 1:  # the global incidence is this block's: reuse the sort
                ptr, elem, local = g_ptr, g_elem, (order % c.shape[1]).astype(np.int64)
            else:
                ptr, elem, local = node_to_element(c, self.n_nodes)
            slot = np.empty((c.shape[0], c.shape[1], c.shape[1]), dtype=np.int32)
            K._element_slots(c, nbr_ptr, nbr, slot)
            self.blocks.append(_BlockMap(ptr, elem, local, slot))
        #: nodes that belong to no element block (their DOFs have empty rows)
        self.isolated_nodes = np.flatnonzero(counts == 0)
        self._conns = conns
        self._colours: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}

    def colouring(self, block: int):
        """``(colour_ptr, elements)`` of block ``block``: elements grouped by colour so that no two of one
        colour share a node (computed once), or ``None`` if the greedy colouring needs over 256 colours."""
        if block not in self._colours:
            conn = self._conns[block]
            colour, ncol = K.color_elements(conn, self.n_nodes)
            if ncol < 0:
                self._colours[block] = None
            else:
                order = np.argsort(colour, kind="stable")
                ptr = np.zeros(ncol + 1, dtype=np.int64)
                np.cumsum(np.bincount(colour, minlength=ncol), out=ptr[1:])
                self._colours[block] = (ptr, order.astype(np.int64))
        return self._colours[block]

    @property
    def row_starts(self) -> np.ndarray:
        """``indptr`` as int64 (read-only), for kernels that scatter into ``data``."""
        return self._indptr64

    @property
    def n_dofs(self) -> int:
        return 3 * self.n_nodes

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def zeros(self) -> np.ndarray:
        """A fresh zeroed ``data`` array for this pattern."""
        return np.zeros(self.nnz, dtype=np.float64)

    def add_element_matrices(self, block: int, Ke: np.ndarray, data: np.ndarray) -> None:
        """Add ``Ke (nel, 3 nen, 3 nen)`` of element block ``block`` into ``data`` (in place)."""
        b = self.blocks[block]
        if Ke.shape[0] != b.slot.shape[0] or Ke.shape[1] != 3 * b.slot.shape[1]:
            raise ValueError(f"element matrices of shape {Ke.shape} do not match block {block}")
        K.gather_matrix(b.n2e_ptr, b.n2e_elem, b.n2e_local, b.slot, self._indptr64, Ke, data)

    def add_element_vectors(self, block: int, fe: np.ndarray, f: np.ndarray) -> None:
        """Add ``fe (nel, 3 nen)`` of element block ``block`` into ``f (3 nn,)`` (in place)."""
        b = self.blocks[block]
        K.gather_vector(b.n2e_ptr, b.n2e_elem, b.n2e_local, np.ascontiguousarray(fe), f)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """Wrap ``data`` as a CSR matrix sharing this pattern's ``indptr`` and ``indices`` (no copy)."""
        n = self.n_dofs
        A = sp.csr_matrix((data, self.indices, self.indptr), shape=(n, n), copy=False)
        A.has_sorted_indices = True
        return A
