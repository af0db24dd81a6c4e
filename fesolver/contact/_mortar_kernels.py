r"""Compiled kernels of the surface-to-surface (mortar-type) contact of :mod:`fesolver.contact.surface_pair`.

Conventions: the slave surface has ``nfs`` facets with ``nq`` integration points each, numbered facet-major
(point ``g = f nq + q``); per point the search gave ``valid[g]``, the master facet ``mfacet[g]``, the local
coordinates ``xi_m[g]`` on it and the unit master normal ``normal[g]``; ``w[f, q]`` is the reference-area
weight, ``N[q, b]`` the slave shape functions and ``Phi[q, a]`` the multiplier (weight) functions. Facet type
codes are those of :mod:`fesolver.contact._search_kernels` (0 tri3, 1 tri6, 2 quad4).

A *pair* is a (slave facet, master facet) couple met by at least one valid point; the mortar integrals of
a pair are sums over its points.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._search_kernels import _shape, project_point


@njit(cache=True)
def build_pairs(nfs, nq, valid, mfacet, pidx):
    """Distinct (slave facet, master facet) pairs; fills ``pidx[g]`` (pair of point ``g`` or -1).

    Returns ``(pair_f, pair_m)``.
    """
    pf = np.empty(nfs * nq, dtype=np.int64)
    pm = np.empty(nfs * nq, dtype=np.int64)
    count = 0
    for f in range(nfs):
        start = count
        for q in range(nq):
            g = f * nq + q
            if not valid[g]:
                pidx[g] = -1
                continue
            m = mfacet[g]
            found = -1
            for k in range(start, count):
                if pm[k] == m:
                    found = k
                    break
            if found < 0:
                pf[count] = f
                pm[count] = m
                found = count
                count += 1
            pidx[g] = found
    return pf[:count].copy(), pm[:count].copy()


@njit(cache=True, parallel=True)
def slave_integrals(nq, valid, normal, w, N, Phi, out):
    """``out[f, a, b] = sum_q w Phi_a N_b [n_q (3), 1]`` over the valid points of slave facet ``f``."""
    nfs = out.shape[0]
    ns = N.shape[1]
    for f in prange(nfs):
        for a in range(ns):
            for b in range(ns):
                for i in range(4):
                    out[f, a, b, i] = 0.0
        for q in range(nq):
            g = f * nq + q
            if not valid[g]:
                continue
            for a in range(ns):
                wa = w[f, q] * Phi[q, a]
                if wa == 0.0:
                    continue
                for b in range(ns):
                    c = wa * N[q, b]
                    out[f, a, b, 0] += c * normal[g, 0]
                    out[f, a, b, 1] += c * normal[g, 1]
                    out[f, a, b, 2] += c * normal[g, 2]
                    out[f, a, b, 3] += c


@njit(cache=True, parallel=True)
def master_integrals(mtype, nq, pair_f, pidx, xi_m, normal, w, Phi, out):
    """``out[k, a, c] = sum_q w Phi_a N^m_c(xi_m) [n_q (3), 1]`` over the points of pair ``k``."""
    npairs = pair_f.shape[0]
    ns = Phi.shape[1]
    nm = out.shape[2]
    for k in prange(npairs):
        f = pair_f[k]
        for a in range(ns):
            for c in range(nm):
                for i in range(4):
                    out[k, a, c, i] = 0.0
        for q in range(nq):
            g = f * nq + q
            if pidx[g] != k:
                continue
            for c in range(nm):
                Nc = _shape(mtype, c, xi_m[g, 0], xi_m[g, 1])[0]
                for a in range(ns):
                    v = w[f, q] * Phi[q, a] * Nc
                    out[k, a, c, 0] += v * normal[g, 0]
                    out[k, a, c, 1] += v * normal[g, 1]
                    out[k, a, c, 2] += v * normal[g, 2]
                    out[k, a, c, 3] += v


@njit(cache=True)
def _gap_gradient(mtype, ns, nm, loc, conn_m_loc, Nq, ev, res, out, Nm, tol, sgn):
    """Gradient of the closest-point gap ``g = (x_q - x_m(xi)) . n`` w.r.t. the local node coordinates.

    ``loc (ns + nm, 3)``: slave facet nodes then master facet nodes; ``x_q = sum_b Nq[b] loc[b]``. Exact at
    an interior closest point: ``[Nq_b n ; -N^m_c(xi) n]`` (the ``dxi`` and ``dn`` terms vanish there); at a
    closest point on an edge (offset from the facet normal above ``tol`` [mm]) ``n`` is the unit distance
    vector (times ``sgn``, -1 behind the master), and the same expression is the gradient of the signed
    distance.
    """
    xq = np.zeros(3)
    for b in range(ns):
        for i in range(3):
            xq[i] += Nq[b] * loc[b, i]
    project_point(mtype, loc, conn_m_loc, xq, ev, res)
    # closest point on an edge of the facet (offset off the facet normal): the normal of the distance
    d0, d1, d2 = xq[0] - res[2], xq[1] - res[3], xq[2] - res[4]
    g = d0 * res[5] + d1 * res[6] + d2 * res[7]
    o0, o1, o2 = d0 - g * res[5], d1 - g * res[6], d2 - g * res[7]
    if o0 * o0 + o1 * o1 + o2 * o2 > tol * tol:
        dd = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        dd *= sgn  # behind the master (under a concave fold): the gap is minus the distance
        res[5], res[6], res[7] = d0 / dd, d1 / dd, d2 / dd
    for b in range(ns):
        for i in range(3):
            out[3 * b + i] = Nq[b] * res[5 + i]
    for c in range(nm):
        Nc = _shape(mtype, c, res[0], res[1])[0]
        Nm[c] = Nc
        for i in range(3):
            out[3 * (ns + c) + i] = -Nc * res[5 + i]


@njit(cache=True, parallel=True)
def geometric_blocks(mtype, nq, pairs, pair_f, pair_m, pidx, pq, tq, sgn, w, N, conn_s, conn_m, x, tol, out):
    """Geometric tangent of pair ``pairs[j]`` (local ``L x L``, ``L = 3 (ns + nm)``) into ``out[j]``.

    Normal part ``-sum_q w p_q d^2 g_q / dx^2``: the central difference of each point's exact gap gradient
    (:func:`_gap_gradient`), step ``1e-6`` of the pair's size, symmetrised. Friction part (``tq (ng, 3)``
    the tangential traction at the points): ``sum_q w tq_i dN^m_c(xi_q) / dx`` in the master rows, the
    convection of the master point under the slave point. ``sgn`` (per point): -1 where the point is behind
    an edge or corner of the master (the gap is minus the distance), else 1.
    """
    ns = conn_s.shape[1]
    nm = conn_m.shape[1]
    L = 3 * (ns + nm)
    for j in prange(pairs.shape[0]):
        k = pairs[j]
        f = pair_f[k]
        m = pair_m[k]
        loc = np.empty((ns + nm, 3))
        for b in range(ns):
            loc[b] = x[conn_s[f, b]]
        for c in range(nm):
            loc[ns + c] = x[conn_m[m, c]]
        size = 0.0
        for i in range(3):
            size = max(size, loc[:, i].max() - loc[:, i].min())
        h = 1e-6 * size
        conn_loc = np.arange(ns, ns + nm)
        ev = np.empty((6, 3))
        res = np.empty(9)
        gp = np.empty(L)
        gm = np.empty(L)
        Np = np.empty(nm)
        Nmm = np.empty(nm)
        H = np.zeros((L, L))
        Hf = np.zeros((L, L))
        Nq = np.empty(ns)
        for q in range(nq):
            g = f * nq + q
            if pidx[g] != k or pq[g] <= 0.0:
                continue
            for b in range(ns):
                Nq[b] = N[q, b]
            coef = -w[f, q] * pq[g] / (2.0 * h)
            cf = w[f, q] / (2.0 * h)
            fric = tq[g, 0] != 0.0 or tq[g, 1] != 0.0 or tq[g, 2] != 0.0
            for d in range(L):
                nd, i = d // 3, d % 3
                x0 = loc[nd, i]
                loc[nd, i] = x0 + h
                _gap_gradient(mtype, ns, nm, loc, conn_loc, Nq, ev, res, gp, Np, tol, sgn[g])
                loc[nd, i] = x0 - h
                _gap_gradient(mtype, ns, nm, loc, conn_loc, Nq, ev, res, gm, Nmm, tol, sgn[g])
                loc[nd, i] = x0
                for r in range(L):
                    H[r, d] += coef * (gp[r] - gm[r])
                if fric:
                    for c in range(nm):
                        dn = cf * (Np[c] - Nmm[c])
                        for kk in range(3):
                            Hf[3 * (ns + c) + kk, d] += tq[g, kk] * dn
        for r in range(L):
            for d in range(L):
                out[j, r, d] = 0.5 * (H[r, d] + H[d, r]) + Hf[r, d]
