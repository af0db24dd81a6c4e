"""Compiled kernels of the assembly: plain arrays in, plain arrays out.

Conventions: ``points (nn, 3) float64`` [mm]; ``conn (nel, nen) int64`` (VTK node order);
``dN_ref (nq, nen, 3)`` reference gradients at the quadrature points, ``wq (nq,)`` weights;
element matrices ``Ke (nel, 3 nen, 3 nen)`` with DOF order ``3 * a + i`` (node ``a``, component ``i``).
The public wrappers in :mod:`fesolver.assembly` check shapes and dtypes; these functions trust them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# ----------------------------------------------------------------------------------------------
# Geometry helpers (inlined by numba)
# ----------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _jacobian_inverse(points, conn_e, dNq, Jinv):
    """Fill ``Jinv`` (3x3) with the inverse of ``J = dx/dxi`` and return ``det J``."""
    j00 = j01 = j02 = j10 = j11 = j12 = j20 = j21 = j22 = 0.0
    for a in range(conn_e.shape[0]):
        n = conn_e[a]
        x0 = points[n, 0]
        x1 = points[n, 1]
        x2 = points[n, 2]
        d0 = dNq[a, 0]
        d1 = dNq[a, 1]
        d2 = dNq[a, 2]
        j00 += x0 * d0
        j01 += x0 * d1
        j02 += x0 * d2
        j10 += x1 * d0
        j11 += x1 * d1
        j12 += x1 * d2
        j20 += x2 * d0
        j21 += x2 * d1
        j22 += x2 * d2
    c00 = j11 * j22 - j12 * j21
    c01 = j12 * j20 - j10 * j22
    c02 = j10 * j21 - j11 * j20
    det = j00 * c00 + j01 * c01 + j02 * c02
    if det != 0.0:
        inv = 1.0 / det
        Jinv[0, 0] = c00 * inv
        Jinv[1, 0] = c01 * inv
        Jinv[2, 0] = c02 * inv
        Jinv[0, 1] = (j02 * j21 - j01 * j22) * inv
        Jinv[1, 1] = (j00 * j22 - j02 * j20) * inv
        Jinv[2, 1] = (j01 * j20 - j00 * j21) * inv
        Jinv[0, 2] = (j01 * j12 - j02 * j11) * inv
        Jinv[1, 2] = (j02 * j10 - j00 * j12) * inv
        Jinv[2, 2] = (j00 * j11 - j01 * j10) * inv
    return det


@njit(cache=True, inline="always")
def _physical_gradients(dNq, Jinv, dNx):
    """``dNx[a, k] = sum_j dNq[a, j] * Jinv[j, k]`` (gradients w.r.t. x)."""
    for a in range(dNq.shape[0]):
        for k in range(3):
            dNx[a, k] = dNq[a, 0] * Jinv[0, k] + dNq[a, 1] * Jinv[1, k] + dNq[a, 2] * Jinv[2, k]


# ----------------------------------------------------------------------------------------------
# Element kernels
# ----------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def stiffness_linear_isotropic(points, conn, dN_ref, wq, lam, mu, Ke, detmin):
    r"""Small-strain isotropic linear-elastic element stiffness matrices.

    .. math::
        K^e_{ai,bj} = \sum_q w_q \det J_q \left(\lambda\, N_{a,i} N_{b,j} + \mu\, N_{a,j} N_{b,i}
                     + \mu\, \delta_{ij}\, N_{a,k} N_{b,k}\right)

    which is :math:`\int B^T D B\,dV` with :math:`D` the isotropic elasticity matrix written without
    forming :math:`B`. ``lam, mu (nel,)`` are the Lamé constants [MPa]; ``Ke`` is overwritten;
    ``detmin (nel,)`` receives the smallest Jacobian determinant met (<= 0 flags a bad element).
    """
    nel, nen = conn.shape
    for e in prange(nel):
        Jinv = np.empty((3, 3))
        dNx = np.empty((nen, 3))
        detmin[e] = _element_stiffness_isotropic(points, conn[e], dN_ref, wq, lam[e], mu[e], Ke[e], Jinv, dNx)


@njit(cache=True, inline="always")
def _element_stiffness_isotropic(points, conn_e, dN_ref, wq, le, me, K, Jinv, dNx):
    """One element of :func:`stiffness_linear_isotropic` into ``K``; returns the smallest det J."""
    nen = conn_e.shape[0]
    K[:, :] = 0.0
    dm = np.inf
    for q in range(wq.shape[0]):
        det = _jacobian_inverse(points, conn_e, dN_ref[q], Jinv)
        if det < dm:
            dm = det
        if det <= 0.0:
            continue
        _physical_gradients(dN_ref[q], Jinv, dNx)
        _add_isotropic_upper(dNx, nen, le, me, wq[q] * det, K)
    _fill_lower_blocks(K, nen)
    return dm


@njit(cache=True, inline="always")
def _add_isotropic_upper(G, n, le, me, wd, K):
    """Upper block triangle ``b >= a`` of ``wd (lam G_a,i G_b,j + mu G_a,j G_b,i + mu delta_ij G_a.G_b)``."""
    for a in range(n):
        for b in range(a, n):
            dot = G[a, 0] * G[b, 0] + G[a, 1] * G[b, 1] + G[a, 2] * G[b, 2]
            for i in range(3):
                for j in range(3):
                    v = le * G[a, i] * G[b, j] + me * G[a, j] * G[b, i]
                    if i == j:
                        v += me * dot
                    K[3 * a + i, 3 * b + j] += wd * v


@njit(cache=True, inline="always")
def _fill_lower_blocks(K, n):
    """Copy the upper 3x3 block triangle of ``K`` (``n`` nodes) to the lower one."""
    for a in range(n):
        for b in range(a + 1, n):
            for i in range(3):
                for j in range(3):
                    K[3 * b + j, 3 * a + i] = K[3 * a + i, 3 * b + j]


@njit(cache=True)
def color_elements(conn, n_nodes):
    """Greedy colouring: elements of one colour share no node. Returns ``(colour (nel,), n_colours)``.

    Each node keeps a 256-bit mask of the colours of its elements; ``n_colours = -1`` if 256 are not enough.
    """
    nel, nen = conn.shape
    mask = np.zeros((n_nodes, 4), dtype=np.uint64)
    colour = np.empty(nel, dtype=np.int64)
    ncol = 0
    one = np.uint64(1)
    for e in range(nel):
        c = -1
        for w in range(4):
            m = np.uint64(0)
            for a in range(nen):
                m |= mask[conn[e, a], w]
            if m != np.uint64(0xFFFFFFFFFFFFFFFF):
                inv = ~m
                bit = 0
                while ((inv >> np.uint64(bit)) & one) == np.uint64(0):
                    bit += 1
                c = 64 * w + bit
                break
        if c < 0:
            return colour, -1
        colour[e] = c
        w = c // 64
        b = np.uint64(c % 64)
        for a in range(nen):
            mask[conn[e, a], w] |= one << b
        if c + 1 > ncol:
            ncol = c + 1
    return colour, ncol


@njit(cache=True, parallel=True)
def assemble_isotropic_colored(points, conn, dN_ref, wq, lam, mu, colour_ptr, colour_elems, slot, indptr,
                               data, detmin):
    """Compute and scatter isotropic element stiffnesses straight into CSR ``data`` (no element buffer).

    Elements are processed colour by colour (:func:`color_elements`); within a colour no two elements share
    a node, so threads write disjoint CSR entries. Each thread works on chunks with its own scratch.
    """
    nen = conn.shape[1]
    m = 3 * nen
    chunk = 256
    for c in range(colour_ptr.shape[0] - 1):
        start = colour_ptr[c]
        n = colour_ptr[c + 1] - start
        for ch in prange((n + chunk - 1) // chunk):
            K = np.empty((m, m))
            Jinv = np.empty((3, 3))
            dNx = np.empty((nen, 3))
            for idx in range(start + ch * chunk, min(start + (ch + 1) * chunk, start + n)):
                e = colour_elems[idx]
                detmin[e] = _element_stiffness_isotropic(points, conn[e], dN_ref, wq, lam[e], mu[e], K, Jinv,
                                                         dNx)
                for a in range(nen):
                    A = conn[e, a]
                    for b in range(nen):
                        k = slot[e, a, b]
                        for i in range(3):
                            base = indptr[3 * A + i] + 3 * k
                            for j in range(3):
                                data[base + j] += K[3 * a + i, 3 * b + j]


@njit(cache=True, parallel=True)
def jacobian_determinants(points, conn, dN_at, out):
    """``out[e, p] = det J`` of element ``e`` at the reference points whose gradients are ``dN_at[p]``."""
    nel = conn.shape[0]
    npt = dN_at.shape[0]
    for e in prange(nel):
        Jinv = np.empty((3, 3))
        for p in range(npt):
            out[e, p] = _jacobian_inverse(points, conn[e], dN_at[p], Jinv)


@njit(cache=True, parallel=True)
def body_force_vectors(points, conn, N, dN_ref, wq, b, fe):
    """Consistent nodal forces of a body force: ``fe[e, 3a+i] = sum_q w_q detJ N_a b[e, q, i]``.

    ``b (nel, nq, 3)`` [N/mm^3]; ``fe (nel, 3 nen)`` is overwritten.
    """
    nel, nen = conn.shape
    nq = wq.shape[0]
    for e in prange(nel):
        Jinv = np.empty((3, 3))
        for k in range(3 * nen):
            fe[e, k] = 0.0
        for q in range(nq):
            det = _jacobian_inverse(points, conn[e], dN_ref[q], Jinv)
            wd = wq[q] * det
            for a in range(nen):
                s = wd * N[q, a]
                for i in range(3):
                    fe[e, 3 * a + i] += s * b[e, q, i]


@njit(cache=True, parallel=True)
def surface_load_vectors(points, conn, N, dN_ref, wq, pressure, traction, fe):
    """Consistent nodal forces of surface loads on facets (tri3, tri6, quad4).

    With the area vector :math:`\\mathbf a = x_{,\\xi} \\times x_{,\\eta}` (outward for outward-ordered
    facets), ``fe[f, 3a+i] = sum_q w_q N_a (-p a_i + t_i |a|)``: ``pressure (nf, nq)`` [MPa] pushes
    against the facet normal, ``traction (nf, nq, 3)`` [MPa] is a force per current area.
    """
    nf, nen = conn.shape
    nq = wq.shape[0]
    for f in prange(nf):
        for k in range(3 * nen):
            fe[f, k] = 0.0
        for q in range(nq):
            g0 = np.zeros(3)
            g1 = np.zeros(3)
            for a in range(nen):
                n = conn[f, a]
                for i in range(3):
                    g0[i] += points[n, i] * dN_ref[q, a, 0]
                    g1[i] += points[n, i] * dN_ref[q, a, 1]
            av0 = g0[1] * g1[2] - g0[2] * g1[1]
            av1 = g0[2] * g1[0] - g0[0] * g1[2]
            av2 = g0[0] * g1[1] - g0[1] * g1[0]
            area = np.sqrt(av0 * av0 + av1 * av1 + av2 * av2)
            p = pressure[f, q]
            t0 = -p * av0 + traction[f, q, 0] * area
            t1 = -p * av1 + traction[f, q, 1] * area
            t2 = -p * av2 + traction[f, q, 2] * area
            for a in range(nen):
                s = wq[q] * N[q, a]
                fe[f, 3 * a] += s * t0
                fe[f, 3 * a + 1] += s * t1
                fe[f, 3 * a + 2] += s * t2


@njit(cache=True, parallel=True)
def facet_areas(points, conn, dN_ref, wq, out):
    """Area [mm^2] of each facet."""
    nf, nen = conn.shape
    for f in prange(nf):
        s = 0.0
        for q in range(wq.shape[0]):
            g0 = np.zeros(3)
            g1 = np.zeros(3)
            for a in range(nen):
                n = conn[f, a]
                for i in range(3):
                    g0[i] += points[n, i] * dN_ref[q, a, 0]
                    g1[i] += points[n, i] * dN_ref[q, a, 1]
            av0 = g0[1] * g1[2] - g0[2] * g1[1]
            av1 = g0[2] * g1[0] - g0[0] * g1[2]
            av2 = g0[0] * g1[1] - g0[1] * g1[0]
            s += wq[q] * np.sqrt(av0 * av0 + av1 * av1 + av2 * av2)
        out[f] = s


@njit(cache=True, parallel=True)
def strains_at_points(points, conn, dN_at, u, out):
    """Small-strain tensor at reference points: ``out[e, p] = (xx, yy, zz, xy, yz, xz)``.

    Shear entries are tensor components (half the engineering shear strains). ``u (nn, 3)`` [mm].
    """
    nel, nen = conn.shape
    npt = dN_at.shape[0]
    for e in prange(nel):
        Jinv = np.empty((3, 3))
        dNx = np.empty((nen, 3))
        for p in range(npt):
            _jacobian_inverse(points, conn[e], dN_at[p], Jinv)
            _physical_gradients(dN_at[p], Jinv, dNx)
            H = np.zeros((3, 3))
            for a in range(nen):
                n = conn[e, a]
                for i in range(3):
                    for k in range(3):
                        H[i, k] += u[n, i] * dNx[a, k]
            out[e, p, 0] = H[0, 0]
            out[e, p, 1] = H[1, 1]
            out[e, p, 2] = H[2, 2]
            out[e, p, 3] = 0.5 * (H[0, 1] + H[1, 0])
            out[e, p, 4] = 0.5 * (H[1, 2] + H[2, 1])
            out[e, p, 5] = 0.5 * (H[0, 2] + H[2, 0])


# ----------------------------------------------------------------------------------------------
# Hex8 with incompatible modes (Wilson-Taylor QM6, statically condensed)
# ----------------------------------------------------------------------------------------------


@njit(cache=True)
def _hex8_incompatible_matrix(points, conn_e, dN_ref, xi_ref, wq, dN0, le, me, Kf):
    """Fill ``Kf (33, 33)`` with the stiffness of the 24 nodal and 9 internal DOFs; return the smallest
    Jacobian determinant met (quadrature points and centre).

    Internal DOF ``24 + 3 k + i`` is component ``i`` of mode ``P_k = 1 - xi_k^2``; its gradient is
    ``(det J0 / det J) dP_k/dxi_j J0^-1[j, :]`` (Taylor's correction), so that the stiffness formula of
    :func:`stiffness_linear_isotropic` applies to all 11 "nodes" alike.
    """
    Jinv = np.empty((3, 3))
    J0inv = np.empty((3, 3))
    G = np.empty((11, 3))
    Kf[:, :] = 0.0
    det0 = _jacobian_inverse(points, conn_e, dN0, J0inv)
    dm = det0
    if det0 <= 0.0:
        return dm
    for q in range(wq.shape[0]):
        det = _jacobian_inverse(points, conn_e, dN_ref[q], Jinv)
        if det < dm:
            dm = det
        if det <= 0.0:
            continue
        _physical_gradients(dN_ref[q], Jinv, G)  # rows 0..7
        s = det0 / det
        for k in range(3):
            for m in range(3):
                G[8 + k, m] = -2.0 * xi_ref[q, k] * s * J0inv[k, m]
        _add_isotropic_upper(G, 11, le, me, wq[q] * det, Kf)
    _fill_lower_blocks(Kf, 11)
    return dm


@njit(cache=True, parallel=True)
def stiffness_hex8_incompatible(points, conn, dN_ref, xi_ref, wq, dN0, lam, mu, Ke, detmin):
    r"""Hex8 stiffness with Wilson's incompatible modes and Taylor's correction (QM6), condensed.

    The displacement is enriched by :math:`\sum_k P_k(\xi)\,\alpha_k`, :math:`P_k = 1 - \xi_k^2`
    (:math:`\alpha_k \in \mathbb R^3`, 9 internal DOFs). The modes' gradients use the Jacobian at the
    element centre, scaled so that they integrate to zero on any shape (which makes the patch test pass):

    .. math::
        G_{k,m}(\xi) = \frac{\det J_0}{\det J(\xi)}\, \frac{\partial P_k}{\partial \xi_k}\, (J_0^{-1})_{km},
        \qquad \int_{V_e} G_k \,dV = \det J_0\, J_0^{-T} \int_{\square} \nabla_\xi P_k \,d\xi = 0.

    With the blocks :math:`K_{uu}, K_{u\alpha}, K_{\alpha\alpha}` of :math:`\int [B\ G]^T D [B\ G]\,dV`
    (formula of :func:`stiffness_linear_isotropic`, 2x2x2 Gauss), the internal DOFs are condensed:
    :math:`K^e = K_{uu} - K_{u\alpha} K_{\alpha\alpha}^{-1} K_{\alpha u}` (Gaussian elimination of the last
    9 rows, no pivoting: :math:`K_{\alpha\alpha}` is positive definite). ``xi_ref (nq, 3)`` are the
    quadrature points, ``dN0 (8, 3)`` the reference gradients at the centre; other arguments as in
    :func:`stiffness_linear_isotropic` (``detmin`` also counts the centre).
    """
    nel = conn.shape[0]
    for e in prange(nel):
        Kf = np.empty((33, 33))
        dm = _hex8_incompatible_matrix(points, conn[e], dN_ref, xi_ref, wq, dN0, lam[e], mu[e], Kf)
        if dm > 0.0:
            for p in range(32, 23, -1):
                piv = Kf[p, p]
                for r in range(p):
                    f = Kf[r, p] / piv
                    if f != 0.0:  # upper triangle only: Kf[p, c] = Kf[c, p]
                        for c in range(r, p):
                            Kf[r, c] -= f * Kf[c, p]
        K = Ke[e]
        for r in range(24):
            for c in range(r, 24):
                K[r, c] = Kf[r, c]
                K[c, r] = Kf[r, c]
        detmin[e] = dm


@njit(cache=True, parallel=True)
def strains_hex8_incompatible_at_points(points, conn, dN_ref, xi_ref, wq, dN0, dN_at, xi_at, u, lam, mu,
                                        out):
    r"""Enhanced strains of :func:`stiffness_hex8_incompatible` at reference points ``xi_at (npt, 3)``.

    The internal parameters are recovered per element, :math:`\alpha = -K_{\alpha\alpha}^{-1} K_{\alpha u}
    u_e`, and ``out[e, p] = sym(B u_e + G alpha)`` as ``(xx, yy, zz, xy, yz, xz)`` (tensor shear
    components, as :func:`strains_at_points`). ``dN_at (npt, 8, 3)`` are the reference gradients at
    ``xi_at``; the other arguments as in :func:`stiffness_hex8_incompatible`.
    """
    nel = conn.shape[0]
    npt = dN_at.shape[0]
    for e in prange(nel):
        Kf = np.empty((33, 33))
        Jinv = np.empty((3, 3))
        J0inv = np.empty((3, 3))
        dNx = np.empty((8, 3))
        ue = np.empty(24)
        alpha = np.zeros(9)
        for a in range(8):
            for i in range(3):
                ue[3 * a + i] = u[conn[e, a], i]
        dm = _hex8_incompatible_matrix(points, conn[e], dN_ref, xi_ref, wq, dN0, lam[e], mu[e], Kf)
        det0 = _jacobian_inverse(points, conn[e], dN0, J0inv)
        if dm > 0.0:
            # Kaa alpha = -Kau ue, by Gaussian elimination (Kaa positive definite)
            A = np.empty((9, 9))
            rhs = np.zeros(9)
            for r in range(9):
                for c in range(9):
                    A[r, c] = Kf[24 + r, 24 + c]
                for c in range(24):
                    rhs[r] -= Kf[24 + r, c] * ue[c]
            for p in range(9):
                for r in range(p + 1, 9):
                    f = A[r, p] / A[p, p]
                    for c in range(p, 9):
                        A[r, c] -= f * A[p, c]
                    rhs[r] -= f * rhs[p]
            for p in range(8, -1, -1):
                s = rhs[p]
                for c in range(p + 1, 9):
                    s -= A[p, c] * alpha[c]
                alpha[p] = s / A[p, p]
        for p in range(npt):
            det = _jacobian_inverse(points, conn[e], dN_at[p], Jinv)
            _physical_gradients(dN_at[p], Jinv, dNx)
            H = np.zeros((3, 3))
            for a in range(8):
                n = conn[e, a]
                for i in range(3):
                    for k in range(3):
                        H[i, k] += u[n, i] * dNx[a, k]
            if det > 0.0 and dm > 0.0:
                s = det0 / det
                for k in range(3):
                    dP = -2.0 * xi_at[p, k] * s
                    for m in range(3):
                        g = dP * J0inv[k, m]
                        for i in range(3):
                            H[i, m] += alpha[3 * k + i] * g
            out[e, p, 0] = H[0, 0]
            out[e, p, 1] = H[1, 1]
            out[e, p, 2] = H[2, 2]
            out[e, p, 3] = 0.5 * (H[0, 1] + H[1, 0])
            out[e, p, 4] = 0.5 * (H[1, 2] + H[2, 1])
            out[e, p, 5] = 0.5 * (H[0, 2] + H[2, 0])


# ----------------------------------------------------------------------------------------------
# Sparsity pattern and scatter
# ----------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def _count_node_neighbors(n2e_ptr, n2e_elem, elem_ptr, elem_nodes, counts):
    nn = n2e_ptr.shape[0] - 1
    for A in prange(nn):
        total = 0
        for p in range(n2e_ptr[A], n2e_ptr[A + 1]):
            e = n2e_elem[p]
            total += elem_ptr[e + 1] - elem_ptr[e]
        buf = np.empty(total, dtype=np.int64)
        m = 0
        for p in range(n2e_ptr[A], n2e_ptr[A + 1]):
            e = n2e_elem[p]
            for k in range(elem_ptr[e], elem_ptr[e + 1]):
                buf[m] = elem_nodes[k]
                m += 1
        buf.sort()
        c = 0
        for k in range(total):
            if k == 0 or buf[k] != buf[k - 1]:
                c += 1
        counts[A] = c


@njit(cache=True, parallel=True)
def _fill_node_neighbors(n2e_ptr, n2e_elem, elem_ptr, elem_nodes, nbr_ptr, nbr):
    nn = n2e_ptr.shape[0] - 1
    for A in prange(nn):
        total = 0
        for p in range(n2e_ptr[A], n2e_ptr[A + 1]):
            e = n2e_elem[p]
            total += elem_ptr[e + 1] - elem_ptr[e]
        buf = np.empty(total, dtype=np.int64)
        m = 0
        for p in range(n2e_ptr[A], n2e_ptr[A + 1]):
            e = n2e_elem[p]
            for k in range(elem_ptr[e], elem_ptr[e + 1]):
                buf[m] = elem_nodes[k]
                m += 1
        buf.sort()
        c = nbr_ptr[A]
        for k in range(total):
            if k == 0 or buf[k] != buf[k - 1]:
                nbr[c] = buf[k]
                c += 1


@njit(cache=True, parallel=True)
def _dof_csr_structure(nbr_ptr, nbr, indptr, indices):
    """Expand the node graph into the 3-DOF-per-node CSR structure (columns sorted)."""
    nn = nbr_ptr.shape[0] - 1
    for A in prange(nn):
        s = nbr_ptr[A]
        d = nbr_ptr[A + 1] - s
        for i in range(3):
            start = 9 * s + 3 * i * d
            indptr[3 * A + i] = start
            for k in range(d):
                B = nbr[s + k]
                for j in range(3):
                    indices[start + 3 * k + j] = 3 * B + j
    indptr[3 * nn] = 9 * nbr_ptr[nn]


@njit(cache=True, parallel=True)
def _element_slots(conn, nbr_ptr, nbr, slot):
    """``slot[e, a, b]`` = position of node ``conn[e, b]`` in the neighbour list of ``conn[e, a]``."""
    nel, nen = conn.shape
    for e in prange(nel):
        for a in range(nen):
            A = conn[e, a]
            lo = nbr_ptr[A]
            hi = nbr_ptr[A + 1]
            row = nbr[lo:hi]
            for b in range(nen):
                slot[e, a, b] = np.searchsorted(row, conn[e, b])


@njit(cache=True, parallel=True)
def gather_matrix(n2e_ptr, n2e_elem, n2e_local, slot, indptr, Ke, data):
    """Add element matrices into CSR ``data`` (race-free: each thread owns the rows of its nodes)."""
    nn = n2e_ptr.shape[0] - 1
    nen = slot.shape[1]
    for A in prange(nn):
        r0 = indptr[3 * A]
        d = indptr[3 * A + 1] - r0  # the three rows of a node have the same length
        for p in range(n2e_ptr[A], n2e_ptr[A + 1]):
            e = n2e_elem[p]
            a = n2e_local[p]
            Kr0 = Ke[e, 3 * a]
            Kr1 = Ke[e, 3 * a + 1]
            Kr2 = Ke[e, 3 * a + 2]
            for b in range(nen):
                base = r0 + 3 * slot[e, a, b]
                c = 3 * b
                data[base] += Kr0[c]
                data[base + 1] += Kr0[c + 1]
                data[base + 2] += Kr0[c + 2]
                data[base + d] += Kr1[c]
                data[base + d + 1] += Kr1[c + 1]
                data[base + d + 2] += Kr1[c + 2]
                data[base + 2 * d] += Kr2[c]
                data[base + 2 * d + 1] += Kr2[c + 1]
                data[base + 2 * d + 2] += Kr2[c + 2]


@njit(cache=True, parallel=True)
def gather_vector(n2e_ptr, n2e_elem, n2e_local, fe, f):
    """Add element vectors ``fe (nel, 3 nen)`` into the global vector ``f (3 nn,)``."""
    nn = n2e_ptr.shape[0] - 1
    for A in prange(nn):
        for p in range(n2e_ptr[A], n2e_ptr[A + 1]):
            e = n2e_elem[p]
            a = n2e_local[p]
            for i in range(3):
                f[3 * A + i] += fe[e, 3 * a + i]
