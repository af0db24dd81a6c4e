r"""Contact between two deformable surfaces (or a deformable and a rigid-body surface): mortar-type weighted gaps.

A *slave* facet set is pressed against a *master* facet set (tri3, tri6 or quad4 facets; one type per side).
The slave facets carry integration points (each facet split ``subdivision`` times into 4 sub-cells with a
degree-4 triangle or 2x2 Gauss rule); every point ``x_q`` finds its closest point on the master surface
(:class:`~fesolver.contact.search.ContactSearch`, a bucket grid) and the signed gap
``g_q = (x_q - x_m) . n_q`` with the master's outward normal ``n_q``. Each slave node ``a`` gets the
**weighted gap** and pressure [MPa]

.. math::
    \tilde g_a = \frac{1}{A_a} \int \Phi_a\, g \, dA, \qquad A_a = \int \Phi_a \, dA, \qquad
    p_a = \max(0,\ \lambda_a - \varepsilon \tilde g_a),

with reference-area integrals over the points that see the master (the overlap; a point whose closest
point lies on a facet edge, e.g. above a convex ridge of the master, takes the distance as its gap and
counts when it is outside the master), ``Phi_a`` the slave shape
functions (tri3, quad4) or piecewise-linear hats on the four sub-triangles (tri6, whose corner functions
integrate to zero). The contact energy ``sum_a A_a / (2 eps) p_a^2`` gives the forces ``-p_q n_q`` on the
slave and ``+p_q n_q`` on the master at every point (``p_q = sum_a Phi_a p_a``): a uniform pressure is
transmitted as exactly consistent nodal forces on the slave side and, to quadrature accuracy, on the master
side, so the contact patch test passes with non-matching meshes. The constraints are one per slave node,
so nothing locks. The multipliers follow Uzawa's rule ``lambda <- p`` after each converged step until
``||d lambda A||_2 <= tol ||p A||_2`` or the largest weighted penetration is at most ``gap_tol`` [mm].

**Friction** (Coulomb, coefficient ``friction``): the weighted slip increment of node ``a`` since the last
converged step, ``s_a = tau_a . (sum_b D_ab dx_b - sum_c M_ac dx_c) / A_a`` (``D``, ``M`` the mortar
integrals of ``Phi_a`` with the slave and master shape functions, ``tau_a`` the tangent plane of the nodal
normal at the last converged step), gives the trial traction ``t = t_n - eps_T s`` and the return map
``|t| <= friction p``. Stick is
penalty-regularised (elastic slip ``|t| / eps_T``); sliding transmits exactly ``friction p``. The tangent is
then unsymmetric (the linear solver switches to an unsymmetric factorisation). A slave node that was off the
master at the last converged step (no pressure and a positive effective gap) carries no friction until the step
that brings it into contact has converged, as on the rigid plane (:mod:`fesolver.contact.rigid_surfaces`): its
step's tangential motion in the air is not slip.

**Tangent**: ``eps/A_a (A grad g_a)(A grad g_a)^T`` for the active nodes (exact), plus the geometric part
``-sum_q w p_q d^2 g_q`` (central differences of the exact per-point gap gradient) and the friction part
(exact: the tangent plane is that of the last converged step; a node that has just come into contact
uses its current normal, whose rotation is left out of the tangent for that one step).

``symmetric = true`` runs the formulation both ways (each side slave once) with half weights (two-pass),
so that neither surface penetrates the other and both carry a pressure field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..elements.facets import QUAD4, TRI3, TRI6
from ..elements.quadrature import gauss_quad, tri_rule
from ..errors import ModelError
from ..loads import Selection
from . import _mortar_kernels as MK
from .rigid_surfaces import PENALTY_FACTOR, contact_modulus, restore_arrays
from .search import FACET_TYPES, ContactSearch

__all__ = ["SurfaceContact", "slave_rule"]

log = logging.getLogger(__name__)

_FACET = {"tri3": TRI3, "tri6": TRI6, "quad4": QUAD4}
# tri6 sub-triangles (VTK: mid-nodes 3 = 0-1, 4 = 1-2, 5 = 2-0) for the multiplier hats
_TRI6_SUB = ((0, 3, 5), (3, 1, 4), (5, 4, 2), (3, 4, 5))


def _split_tri(v):
    m01, m12, m20 = (v[0] + v[1]) / 2, (v[1] + v[2]) / 2, (v[2] + v[0]) / 2
    return [np.array(t) for t in ((v[0], m01, m20), (m01, v[1], m12), (m20, m12, v[2]), (m01, m12, m20))]


def slave_rule(ftype: str, subdivision: int = 1):
    """Integration points of a slave facet: ``(xi (nq, 2), w (nq,), N (nq, ns), Phi (nq, ns))``.

    The facet's reference cell is split ``subdivision`` times into four; each sub-cell gets a degree-4
    triangle rule or 2x2 Gauss. ``Phi`` are the weight functions (see the module docstring).
    """
    et = _FACET[ftype]
    if subdivision == "nodal":
        return _nodal_rule(ftype)
    xs, ws, phis = [], [], []
    if ftype == "quad4":
        cells = [(np.array([-1.0, -1.0]), 2.0)]
        for _ in range(subdivision):
            cells = [(lo + np.array([i, j]) * s / 2, s / 2) for lo, s in cells for i in (0, 1) for j in (0, 1)]
        gx, gw = gauss_quad(2)
        for lo, s in cells:
            xs.append(lo + (gx + 1.0) * s / 2)
            ws.append(gw * (s / 2) ** 2)
        xi = np.vstack(xs)
        N = et.shape(xi)
        return xi, np.concatenate(ws), N, N.copy()
    tx, tw = tri_rule(4)
    ref = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    if ftype == "tri3":
        tris = [(ref, None)]
        levels = subdivision
    else:  # tri6: the first split defines the hats
        nodes6 = np.vstack([ref, (ref[0] + ref[1]) / 2, (ref[1] + ref[2]) / 2, (ref[2] + ref[0]) / 2])
        tris = [(nodes6[list(s)], k) for k, s in enumerate(_TRI6_SUB)]
        levels = max(subdivision, 1) - 1
    for _ in range(levels):
        tris = [(t, k) for v, k in tris for t in _split_tri(v)]
    for v, k in tris:
        J = np.column_stack([v[1] - v[0], v[2] - v[0]])
        p = v[0] + tx @ J.T
        xs.append(p)
        ws.append(tw * abs(np.linalg.det(J)))
        phi = np.zeros((p.shape[0], et.n_nodes))
        if ftype == "tri3":
            phi[:] = TRI3.shape(p)
        else:
            sub = _TRI6_SUB[k]
            Js = np.column_stack([nodes6[sub[1]] - nodes6[sub[0]], nodes6[sub[2]] - nodes6[sub[0]]])
            lam = np.linalg.solve(Js, (p - nodes6[sub[0]]).T).T  # barycentric (l1, l2) in the sub-triangle
            phi[:, sub[0]] = 1.0 - lam.sum(axis=1)
            phi[:, sub[1]] = lam[:, 0]
            phi[:, sub[2]] = lam[:, 1]
        phis.append(phi)
    xi = np.vstack(xs)
    return xi, np.concatenate(ws), et.shape(xi), np.vstack(phis)


def _nodal_rule(ftype: str):
    """Node-on-facet integration: one point at every node of the facet, weighted by the integral of its weight
    function ``Phi`` (the lumped nodal area; for tri6 the hats of the four sub-triangles, so the corners get 1/24
    and the mid-nodes 3/24 of the reference triangle's doubled area). With ``Phi_a(x_b) = delta_ab`` the weighted
    gap of a node is its own gap to the master: node-to-surface contact with lumped areas, whose gap is continuous
    in the coordinates (no integration point changes side of a master edge inside a slave facet)."""
    et = _FACET[ftype]
    if ftype == "quad4":
        xi = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
        w = np.full(4, 1.0)
    elif ftype == "tri3":
        xi = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        w = np.full(3, 1.0 / 6.0)
    else:  # tri6 (VTK order: corners, then mid-nodes 0-1, 1-2, 2-0)
        xi = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]])
        w = np.array([1.0, 1.0, 1.0, 3.0, 3.0, 3.0]) / 24.0
    N = et.shape(xi)
    return xi, w, N, np.eye(et.n_nodes)


def _single_type(sel, mesh, what: str):
    facets = sel.facets(mesh)
    if len(facets) != 1:
        raise ModelError(f"{what} {sel.describe()} mixes facet types {[ft.name for ft, _ in facets]}; "
                         f"a contact surface must be all tri3, all tri6 or all quad4")
    ft, conn = facets[0]
    if ft.name not in FACET_TYPES:
        raise ModelError(f"{what} {sel.describe()} has {ft.name} facets; contact surfaces need tri3, tri6 or quad4")
    return ft.name, np.ascontiguousarray(conn, dtype=np.int64)


class _Pass:
    """One slave -> master pass: integration points, mortar integrals, multipliers, friction history."""

    def __init__(self, points, stype, sconn, mtype, mconn, subdivision, weight):
        self.stype, self.sconn, self.mtype, self.mconn = stype, sconn, mtype, mconn
        self.scode, self.mcode = FACET_TYPES[stype][0], FACET_TYPES[mtype][0]
        self.weight = weight
        mX = points[mconn]
        self.h_master = float(np.mean(np.max(mX.max(axis=1) - mX.min(axis=1), axis=1)))
        if subdivision is None:  # integration cells at most a quarter of the master facets
            ratio = _mean_size(points, sconn) / self.h_master
            subdivision = int(np.clip(np.ceil(np.log2(max(4.0 * ratio, 1.0))), 1, 4))
        self.subdivision = subdivision
        self.nodal = subdivision == "nodal"
        xi, wq, N, Phi = slave_rule(stype, subdivision)
        et = _FACET[stype]
        self.N, self.Phi = np.ascontiguousarray(N), np.ascontiguousarray(Phi)
        self.dN = et.dshape(xi)  # (nq, ns, 2)
        self.nq = xi.shape[0]
        X = points[sconn]  # (nfs, ns, 3)
        t0 = np.einsum("qb,fbi->fqi", self.dN[:, :, 0], X)
        t1 = np.einsum("qb,fbi->fqi", self.dN[:, :, 1], X)
        self.w = np.ascontiguousarray(np.linalg.norm(np.cross(t0, t1), axis=2) * wq)  # (nfs, nq)
        self.nodes = np.unique(sconn)  # slave nodes (rows)
        self.row = np.full(points.shape[0], -1, dtype=np.int64)
        self.row[self.nodes] = np.arange(self.nodes.size)
        self.A = np.bincount(self.row[sconn].ravel(), weights=np.einsum("fq,qa->fa", self.w, Phi).ravel(),
                             minlength=self.nodes.size)
        self.search = ContactSearch(mconn, mtype)
        self._last_facet = None  # each integration point's facet at the last evaluate (a hint for the search)
        self._topology()  # master facets' neighbours across their edges (signed distance at edges)
        self.tol_edge = 1e-7 * self.h_master  # mm: a closest point this far off the facet normal is on an edge
        self.lam = np.zeros(self.nodes.size)
        self.t_n = np.zeros((self.nodes.size, 3))
        self.n_n = np.zeros((self.nodes.size, 3))
        self.slip_n = np.zeros(self.nodes.size, dtype=bool)  # sliding at the last converged step
        self.held_n = np.zeros(self.nodes.size, dtype=bool)  # in contact at the last converged step

    def _topology(self):
        """Corner connectivity, each facet's neighbour across each edge (-1: a boundary edge)."""
        k = 4 if self.mtype == "quad4" else 3
        corners = np.ascontiguousarray(self.mconn[:, :k])
        nf = corners.shape[0]
        e = np.sort(np.stack([corners, np.roll(corners, -1, axis=1)], axis=2).reshape(-1, 2), axis=1)
        nn = int(self.mconn.max()) + 1
        key = e[:, 0] * nn + e[:, 1]
        order = np.argsort(key, kind="stable")
        ks = key[order]
        nbr = np.full(nf * k, -1, dtype=np.int64)
        same = np.flatnonzero(ks[1:] == ks[:-1])  # pairs of facet-edges sharing an edge (a manifold surface)
        nbr[order[same]] = order[same + 1] // k
        nbr[order[same + 1]] = order[same] // k
        self._corners, self._nbr, self._k = corners, nbr.reshape(nf, k), k

    def _edge_side(self, x, facet, xi, d):
        """For closest points ``(facet, xi)`` on facet edges or corners with distance vectors ``d`` (slave
        point minus closest point): ``(behind, past_end)``: the point is behind the master (``d`` against the
        edge's or corner's pseudo-normal), and behind a boundary edge or corner (past the surface's end)."""
        C, k = self._corners, self._k
        X = x[C]  # (nf, k, 3) current corners
        if k == 3:
            fn = np.cross(X[:, 1] - X[:, 0], X[:, 2] - X[:, 0])
        else:
            fn = np.cross(X[:, 2] - X[:, 0], X[:, 3] - X[:, 1])
        fn /= np.linalg.norm(fn, axis=1)[:, None]
        tol = 1e-6
        if k == 3:
            lam = np.column_stack([1.0 - xi[:, 0] - xi[:, 1], xi[:, 0], xi[:, 1]])
            on = lam > tol  # corners with a non-zero coordinate: an edge's two ends, or one corner
        else:  # quad4 corners (-1,-1), (1,-1), (1,1), (-1,1)
            sx = np.array([-1.0, 1.0, 1.0, -1.0])
            sy = np.array([-1.0, -1.0, 1.0, 1.0])
            on = (np.abs(xi[:, [0]] - sx) < 2.0 - tol) & (np.abs(xi[:, [1]] - sy) < 2.0 - tol)
        n_on = on.sum(axis=1)
        pn = fn[facet].copy()
        end = np.zeros(facet.size, dtype=bool)
        two = np.flatnonzero(n_on == 2)
        if two.size:  # an edge: local edge j joins corners j and j + 1
            o2 = on[two]
            j = np.where(o2[:, 0] & o2[:, -1], k - 1, np.argmax(o2, axis=1))
            nb = self._nbr[facet[two], j]
            end[two] = nb < 0
            pn[two] += np.where((nb >= 0)[:, None], fn[np.maximum(nb, 0)], 0.0)
        one = np.flatnonzero(n_on == 1)
        if one.size:  # a corner: the angle-weighted normal of the facets around it
            node = C[facet[one], np.argmax(on[one], axis=1)]
            # corner angles of every facet
            a = np.roll(X, -1, axis=1) - X
            b = np.roll(X, 1, axis=1) - X
            cosang = np.einsum("fki,fki->fk", a, b) / (np.linalg.norm(a, axis=2) * np.linalg.norm(b, axis=2))
            ang = np.arccos(np.clip(cosang, -1.0, 1.0))
            acc = np.zeros((int(C.max()) + 1, 3))
            np.add.at(acc, C.ravel(), (ang[:, :, None] * fn[:, None, :]).reshape(-1, 3))
            pn[one] = acc[node]
            bnd = np.zeros(acc.shape[0], dtype=bool)
            bnd[C[np.nonzero(self._nbr < 0)]] = True
            bnd[np.roll(C, -1, axis=1)[np.nonzero(self._nbr < 0)]] = True
            end[one] = bnd[node]
        behind = np.einsum("gi,gi->g", d, pn) <= 0.0
        return behind, behind & end

    # ------------------------------------------------------------------------------------------
    def evaluate(self, x, x_n, eps, eps_t, mu, radius, want_tangent, geometric, shift=None, check_facing=True,
                 smoothing=0.0):
        """Pressure, friction, forces (and tangent) of this pass at the current coordinates ``x``; ``shift``
        (per slave node, mm, optional) is subtracted from the weighted gaps (a ramped initial overlap);
        ``check_facing=False`` keeps points whose slave normal does not face the master (the initial overlaps);
        ``smoothing`` [mm]: the half-width of the pressure law's quadratic onset (:func:`pressure_law`)."""
        nfs, nq, ns = self.sconn.shape[0], self.nq, self.sconn.shape[1]
        nn = x.shape[0]
        xs = x[self.sconn]
        xq = np.einsum("qb,fbi->fqi", self.N, xs).reshape(-1, 3)
        self.search.update(x)
        # the last evaluation's facets seed the search (Newton moves the points little between evaluations):
        # the same answer, about a quarter to a third less search time (docs/performance.md, "Scenario runs")
        cp = self.search.closest(xq, radius, hint=self._last_facet)
        self._last_facet = cp.facet
        t0 = np.einsum("qb,fbi->fqi", self.dN[:, :, 0], xs).reshape(-1, 3)
        t1 = np.einsum("qb,fbi->fqi", self.dN[:, :, 1], xs).reshape(-1, 3)
        ns_q = np.cross(t0, t1)
        found = cp.found
        d = np.where(found[:, None], xq - cp.point, 0.0)
        off = d - np.nan_to_num(cp.gap)[:, None] * np.nan_to_num(cp.normal)
        edge = found & (np.linalg.norm(off, axis=1) > self.tol_edge)
        # closest point on a facet edge or corner: the gap is the signed distance, the normal the distance
        # vector's direction (pointing out of the master). The side is that of the edge's or corner's
        # pseudo-normal (the sum of the two facets' normals at an edge, the angle-weighted sum at a corner:
        # Baerentzen & Aanaes 2005), so a point beside a convex ridge (an insole's rim) is outside and a point
        # under a concave fold (where an arch support rises from the flat top) is behind, in contact with a
        # negative gap (the signed distance is continuous where the closest point moves from a facet onto the
        # fold). Behind the master's *boundary* edge the point is past the surface's end: out of contact.
        dist = np.linalg.norm(d, axis=1)
        behind = np.zeros(found.size, dtype=bool)
        past_end = np.zeros(found.size, dtype=bool)
        if edge.any():
            b_side, b_end = self._edge_side(x, cp.facet[edge], cp.xi[edge], d[edge])
            behind[edge], past_end[edge] = b_side, b_end
        sign = np.where(behind, -1.0, 1.0)
        cp_normal = np.where(edge[:, None], (sign / np.where(dist > 0, dist, 1.0))[:, None] * d,
                             np.nan_to_num(cp.normal))
        cp_gap = np.where(edge, sign * dist, np.nan_to_num(cp.gap))
        rows_q = self.row[self.sconn]  # (nfs, ns)
        if self.nodal:  # one point per node and facet: the node's (area-weighted) normal decides for all of them,
            # so that a node is in or out of contact as a whole (its weighted gap is its own gap, not a fraction)
            rq = rows_q.ravel()
            nrm_s = np.column_stack([np.bincount(rq, weights=ns_q[:, i], minlength=self.nodes.size)
                                     for i in range(3)])
            ns_q = nrm_s[rq]
        facing = np.einsum("gi,gi->g", cp_normal, ns_q) < 0.0 if check_facing else np.ones(found.size, dtype=bool)
        valid = found & facing & ~past_end
        sgn = np.ascontiguousarray(sign)
        normal = np.ascontiguousarray(np.where(valid[:, None], cp_normal, 0.0))
        gap = np.where(valid, cp_gap, 0.0)
        xi_m = np.ascontiguousarray(np.where(valid[:, None], cp.xi, 0.0))
        mfacet = np.where(valid, cp.facet, -1)
        # weighted gaps
        wphi = (self.w[:, :, None] * self.Phi[None])  # (nfs, nq, ns)
        wphi_valid = wphi * valid.reshape(nfs, nq)[:, :, None]
        rows_qa = np.repeat(rows_q[:, None, :], nq, axis=1).ravel()  # slave row of each (point, node) pair
        G = np.bincount(rows_qa, weights=(wphi_valid * gap.reshape(nfs, nq)[:, :, None]).ravel(),
                        minlength=self.nodes.size)
        cover = np.bincount(rows_qa, weights=wphi_valid.ravel(), minlength=self.nodes.size)
        has = cover > 1e-12 * self.A
        gt = np.where(has, G / self.A, np.inf)
        if shift is not None:
            gt = np.where(has, gt - shift, np.inf)
        trial = self.lam - eps * np.where(has, gt, 0.0)
        p, slope = pressure_law(trial, eps * smoothing)
        p = np.where(has, p, 0.0)
        if smoothing > 0.0:
            slope = np.where(has, slope, 0.0)
            active = slope > 0.0
        else:  # nodes just touching (g = 0, lambda = 0) count as active in the tangent
            active = has & (trial >= 0.0) & ((p > 0.0) | (gt <= 0.0))
            slope = active.astype(float)
        # mortar integrals
        pidx = np.empty(nfs * nq, dtype=np.int64)
        pair_f, pair_m = MK.build_pairs(nfs, nq, valid, mfacet, pidx)
        Dv = np.empty((nfs, ns, ns, 4))
        MK.slave_integrals(nq, valid, normal, self.w, self.N, self.Phi, Dv)
        nm = self.mconn.shape[1]
        Mv = np.empty((pair_f.size, ns, nm, 4))
        MK.master_integrals(self.mcode, nq, pair_f, pidx, xi_m, normal, self.w, self.Phi, Mv)
        # entries: row (slave row), node, values [n (3), scalar]
        r_D = np.broadcast_to(rows_q[:, :, None], (nfs, ns, ns)).ravel()
        c_D = np.broadcast_to(self.sconn[:, None, :], (nfs, ns, ns)).ravel()
        r_M = np.broadcast_to(rows_q[pair_f][:, :, None], (pair_f.size, ns, nm)).ravel()
        c_M = np.broadcast_to(self.mconn[pair_m][:, None, :], (pair_f.size, ns, nm)).ravel()
        rows = np.concatenate([r_D, r_M])
        cols = np.concatenate([c_D, c_M])
        vals = np.concatenate([Dv.reshape(-1, 4), -Mv.reshape(-1, 4)])
        nr = self.nodes.size
        # normal forces: f_int -= weight * GN^T p, GN[a, 3 j + i] = vals[:, i]
        pr = p[rows]
        f = np.zeros(3 * nn)
        for i in range(3):
            f -= self.weight * np.bincount(3 * cols + i, weights=vals[:, i] * pr, minlength=3 * nn)
        nodal_n = np.zeros((nr, 3))
        for i in range(3):
            nodal_n[:, i] = np.bincount(r_D, weights=Dv[..., i].ravel(), minlength=nr)
        nrm = np.linalg.norm(nodal_n, axis=1)
        nodal_n = np.where(nrm[:, None] > 0, nodal_n / np.where(nrm > 0, nrm, 1.0)[:, None], 0.0)
        out = {"p": p, "gap": gt, "has": has, "active": active, "normal": nodal_n, "valid": valid,
               "traction": np.zeros((nr, 3)), "slip": np.zeros(nr, dtype=bool)}
        B = None
        if mu > 0.0:
            B = sp.csr_matrix((vals[:, 3], (rows, cols)), shape=(nr, nn))
            dx = x - x_n
            Bdx = B @ dx  # (nr, 3)
            # the tangent plane of the last converged step (the current one for nodes new to contact): slip is
            # measured in a plane that does not move with the iterate, so the tangent needs no dtau/dx
            n_plane = np.where(np.linalg.norm(self.n_n, axis=1)[:, None] > 0, self.n_n, nodal_n)
            tau = _tangent_basis(n_plane)  # (nr, 2, 3)
            s = np.einsum("aki,ai->ak", tau, Bdx) / self.A[:, None]
            ttr = np.einsum("aki,ai->ak", tau, self.t_n) - eps_t * s
            tn = np.linalg.norm(ttr, axis=1)
            slip = tn > mu * p
            scale = np.where(slip, mu * p / np.where(tn > 0, tn, 1.0), 1.0)
            # nodes that land in this step (off the master at its start) carry no friction until it converges
            rubs = has & (p > 0) & self.held_n
            tt = np.where(rubs[:, None], ttr * scale[:, None], 0.0)
            T = np.einsum("ak,aki->ai", tt, tau)
            f -= self.weight * (B.T @ T).ravel()
            out.update(traction=T, slip=slip & rubs, tau=tau, ttr=ttr, tnorm=tn, tt=tt)
        out["touching"] = has & (trial >= 0.0)
        out["f"] = f
        if not want_tangent:
            return out
        # --- tangent
        GN = sp.csr_matrix((vals[:, :3].ravel(), (np.repeat(rows, 3), (3 * cols[:, None] + np.arange(3)).ravel())),
                           shape=(nr, 3 * nn))
        wa = eps * slope / self.A
        K = GN.T @ sp.diags(wa) @ GN
        if geometric:
            pq = (self.Phi[None] * p[rows_q][:, None, :]).sum(axis=2).ravel() * valid
            tq = np.einsum("qa,fai->fqi", self.Phi, out["traction"][rows_q]).reshape(-1, 3) * valid[:, None]
            pmax = np.zeros(pair_f.size)
            np.maximum.at(pmax, pidx[valid], pq[valid])
            act_pairs = np.flatnonzero(pmax > 0.0)
            if act_pairs.size:
                L = 3 * (ns + nm)
                H = np.empty((act_pairs.size, L, L))
                MK.geometric_blocks(self.mcode, nq, act_pairs, pair_f, pair_m, pidx, pq, tq, sgn, self.w, self.N,
                                    self.sconn, self.mconn, x, self.tol_edge, H)
                lnodes = np.hstack([self.sconn[pair_f[act_pairs]], self.mconn[pair_m[act_pairs]]])
                ldofs = (3 * lnodes[:, :, None] + np.arange(3)).reshape(act_pairs.size, L)
                K = K + sp.csr_matrix((H.ravel(), (np.repeat(ldofs, L, axis=1).ravel(),
                                                   np.tile(ldofs, (1, L)).ravel())), shape=(3 * nn, 3 * nn))
        if mu > 0.0:
            tau, ttr, tn, slip = out["tau"], out["ttr"], out["tnorm"], out["slip"]
            # GT[2 a + k, 3 j + i] = tau[a, k, i] B[a, j]
            Bc = B.tocoo()
            GT = sp.csr_matrix(
                ((tau[Bc.row][:, :, :] * Bc.data[:, None, None]).ravel(),
                 (np.repeat(2 * Bc.row[:, None] + np.arange(2), 3, axis=1).ravel(),
                  np.tile(3 * Bc.col[:, None] + np.arange(3), (1, 2)).ravel())), shape=(2 * nr, 3 * nn))
            pos = has & (p > 0.0) & self.held_n
            stick = pos & ~slip
            that = ttr / np.where(tn > 0, tn, 1.0)[:, None]
            W2 = np.zeros((nr, 2, 2))
            W2[stick] = (eps_t / self.A[stick])[:, None, None] * np.eye(2)
            c2 = np.where(slip, mu * p * eps_t / (np.where(tn > 0, tn, 1.0) * self.A), 0.0)
            W2[slip] = c2[slip, None, None] * (np.eye(2) - np.einsum("ak,al->akl", that[slip], that[slip]))
            W2m = sp.block_diag(list(W2), format="csr") if nr else sp.csr_matrix((0, 0))
            c1 = np.where(slip & active, mu * eps * slope / self.A, 0.0)
            W1 = sp.csr_matrix(((c1[:, None] * that).ravel(), (np.arange(2 * nr), np.repeat(np.arange(nr), 2))),
                               shape=(2 * nr, nr))
            K = K + GT.T @ (W2m @ GT + W1 @ GN)
        out["K"] = self.weight * K
        return out


def pressure_law(trial, delta):
    """Contact pressure ``p`` [MPa] and its slope ``dp/dtrial`` from the trial pressure ``trial = lambda - eps g``.

    ``delta = 0``: ``p = max(0, trial)`` (the penalty/augmented-Lagrangian law; the slope is a step).
    ``delta > 0`` (``eps`` times the smoothing width [mm]): the kink is replaced by a quadratic over
    ``|trial| < delta``, ``p = (trial + delta)^2 / (4 delta)``, which joins ``0`` and ``trial`` with matching
    values and slopes (C1; the idea of Abaqus's "softened" pressure-overclosure relationships). A node
    coming into contact then gets its stiffness gradually, so Newton's iterates do not chatter between contact
    states; the price is a pressure ``delta / 4`` at zero gap and a transmitted pressure up to a gap of
    ``delta / eps``.
    """
    if delta <= 0.0:
        return np.maximum(0.0, trial), (trial >= 0.0).astype(float)
    p = np.where(trial >= delta, trial, np.where(trial > -delta, (trial + delta) ** 2 / (4.0 * delta), 0.0))
    slope = np.clip((trial + delta) / (2.0 * delta), 0.0, 1.0)
    return p, slope


def _tangent_basis(n):
    """Orthonormal tangent vectors ``(m, 2, 3)`` of unit normals ``n (m, 3)`` (zero rows stay zero)."""
    e = np.zeros_like(n)
    k = np.argmin(np.abs(n), axis=1)
    e[np.arange(n.shape[0]), k] = 1.0
    t1 = e - np.einsum("ai,ai->a", e, n)[:, None] * n
    t1n = np.linalg.norm(t1, axis=1)
    t1 = t1 / np.where(t1n > 0, t1n, 1.0)[:, None]
    t2 = np.cross(n, t1)
    return np.stack([t1, t2], axis=1)


#: the per-pass arrays that carry history from step to step (saved in restart files)
_PASS_STATE = ("lam", "t_n", "n_n", "slip_n", "held_n")


@dataclass(eq=False)
class SurfaceContact:
    """Contact of a slave facet set with a master facet set (two deformable or rigid-body surfaces).

    Parameters
    ----------
    slave, master : str or Selection
        Facet sets (by name) or boxes of boundary facets; the master's outward normal must face the slave.
        Put the finer (or softer) surface as slave; ``symmetric`` makes the choice irrelevant.
    name : str
    friction : float
        Coulomb coefficient (0: frictionless).
    penalty : float, MPa/mm, optional
        ``eps``; default ``PENALTY_FACTOR * E_max / h`` (``E_max`` of the regions touching either surface,
        :func:`~fesolver.contact.rigid_surfaces.contact_modulus`; ``h`` the square root of the mean nodal area).
    tangential_penalty : float, MPa/mm, optional
        ``eps_T`` of the stick regularisation; default ``eps``.
    friction_from : float
        Load factor from which friction acts (default 0: throughout): in the load steps that start at or after
        it. Before, the pair is frictionless and keeps no friction history, so the first frictional step starts
        sticking from where the surfaces then stand (zero tangential traction). For an analysis whose early
        steps only put bodies in place.
    augmentation : bool
        Uzawa updates of the normal multipliers (off: pure penalty).
    tol, gap_tol : float
        Augmentation converged when ``||d lambda A||_2 <= tol ||p A||_2`` (the change of the nodal contact
        forces, relative; default 1e-2) or the largest weighted penetration is at most ``gap_tol`` [mm].
        The L2 norm lets oscillating pressure modes, which the mortar constraints converge slowly and
        which carry no net force, settle without holding up the step.
    symmetric : bool
        Two-pass: both surfaces are slave once, each with half weight.
    search_radius : float, mm, optional
        Points farther than this from the master are out of contact; default twice the larger mean facet
        size of the two surfaces.
    subdivision : int or "nodal", optional
        Slave facets split this many times into four for integration (1-4). ``"nodal"``: node-on-facet contact,
        one integration point per slave node with its lumped area (:func:`_nodal_rule`): it does not pass the
        contact patch test on non-matching meshes, but its gaps are continuous in the coordinates, which helps
        Newton where a nearly flat surface lands on another. Default: the smallest level
        that makes the integration cells at most a quarter of the mean master facet size (at least 1).
        The element-based integration is inexact where master facet edges cross a cell; the contact patch
        test error falls from 3.7 % (level 1) to 0.9 % (2) and 0.04 % (3) on a coarse-on-fine pair.
    geometric_stiffness : bool
        Include ``-sum p d^2 g`` in the tangent (off: cheaper, Newton converges linearly when pressures are
        high relative to the moduli).
    initial_overlap : {"enforce", "ramp"}
        What to do where the surfaces overlap in the reference configuration (negative weighted gaps ``g0``).
        ``"enforce"``: push them apart at once (the default). ``"ramp"``: resolve the overlap gradually over the
        step, the contact seeing ``g - (1 - t) g0`` at load factor ``t`` (Abaqus's shrink-fit interference):
        overlapping nodes just touch at ``t = 0`` and the full non-penetration constraint holds at ``t = 1``.
        The offset does not depend on the displacements, so the tangent is unchanged. For a body placed on a
        contoured support (a foot on an arch-support insert) that would otherwise rest on one point of it.
    smoothing : float, mm
        Half-width of a quadratic onset of the pressure law (:func:`pressure_law`; 0, the default: the plain
        ``max(0, lambda - eps g)``). With ``c > 0`` pressure starts at a gap of ``c`` (plus ``lambda / eps``) and
        joins the linear law at a penetration of ``c``, with a continuous slope; the contact area counts the
        nodes that carry pressure, so it includes those within ``c`` of touching. Use a small fraction of the
        mesh size where many nodes meet a curved surface at once and Newton chatters between contact states.
    """

    slave: object = None
    master: object = None
    name: str = "contact"
    friction: float = 0.0
    penalty: float | None = None
    tangential_penalty: float | None = None
    friction_from: float = 0.0
    augmentation: bool = True
    tol: float = 1e-2
    gap_tol: float = 1e-6
    symmetric: bool = False
    search_radius: float | None = None
    subdivision: int | None = None
    geometric_stiffness: bool = True
    initial_overlap: str = "enforce"
    smoothing: float = 0.0
    _ready: bool = field(default=False, init=False, repr=False)
    _t_n: float = field(default=0.0, init=False, repr=False)  # load factor of the committed state

    def __post_init__(self):
        if not (self.friction >= 0.0):
            raise ValueError(f"contact {self.name!r}: friction must be >= 0, got {self.friction}")
        if not (0.0 <= self.friction_from < 1.0):
            raise ValueError(f"contact {self.name!r}: friction_from must be a load factor in [0, 1), got "
                             f"{self.friction_from!r}")
        if self.subdivision is not None and self.subdivision != "nodal" and not (
                isinstance(self.subdivision, int) and 0 <= self.subdivision <= 4):
            raise ValueError(f"contact {self.name!r}: subdivision must be 0..4 or 'nodal', got {self.subdivision!r}")
        if self.initial_overlap not in ("enforce", "ramp"):
            raise ValueError(f"contact {self.name!r}: initial_overlap must be 'enforce' or 'ramp', "
                             f"got {self.initial_overlap!r}")
        if not (isinstance(self.smoothing, (int, float)) and 0.0 <= self.smoothing < np.inf):
            raise ValueError(f"contact {self.name!r}: smoothing must be a finite gap >= 0 [mm], got {self.smoothing!r}")

    @property
    def symmetric_tangent(self) -> bool:
        """Symmetric in the frictionless steps (read at the start of each step)."""
        return self._mu() == 0.0

    def setup(self, system) -> None:
        problem = system.problem
        mesh = problem.mesh
        sels = [s if isinstance(s, Selection) else Selection(name=s) for s in (self.slave, self.master)]
        (stype, sconn), (mtype, mconn) = (_single_type(s, mesh, f"contact {self.name!r}: {w} surface")
                                          for s, w in zip(sels, ("slave", "master"), strict=True))
        if self.subdivision == 0 and "tri6" in ((stype, mtype) if self.symmetric else (stype,)):
            raise ModelError(f"contact {self.name!r}: tri6 surfaces need subdivision >= 1")
        common = np.intersect1d(sconn, mconn)
        if common.size:
            raise ModelError(f"contact {self.name!r}: the slave and master surfaces share {common.size} nodes "
                             f"(e.g. node {int(common[0])}); contact needs two separate surfaces")
        pts = mesh.points
        w = 0.5 if self.symmetric else 1.0
        self.passes = [_Pass(pts, stype, sconn, mtype, mconn, self.subdivision, w)]
        if self.symmetric:
            self.passes.append(_Pass(pts, mtype, mconn, stype, sconn, self.subdivision, w))
        h = float(np.sqrt(np.concatenate([ps.A for ps in self.passes]).mean()))
        if self.penalty is None:
            self.eps = PENALTY_FACTOR * contact_modulus(problem, np.union1d(sconn, mconn)) / h
        else:
            self.eps = float(self.penalty)
        self.eps_t = self.eps if self.tangential_penalty is None else float(self.tangential_penalty)
        sizes = [ps.h_master for ps in self.passes] + [_mean_size(pts, sconn)]
        self.radius = 2.0 * max(sizes) if self.search_radius is None else float(self.search_radius)
        self.x_n = pts.copy()  # committed coordinates (friction history)
        self._t_n = 0.0
        self.g0 = [None] * len(self.passes)
        if self.initial_overlap == "ramp":  # the reference configuration's overlaps (negative weighted gaps)
            for k, ps in enumerate(self.passes):
                # every slave node near the master counts, facing it or not: a node whose normal turns to face the
                # master later must not land at its full overlap at once
                o = ps.evaluate(pts, pts, self.eps, self.eps_t, 0.0, self.radius, False, False, check_facing=False)
                self.g0[k] = np.where(o["has"] & (o["gap"] < 0.0), o["gap"], 0.0)
        self._ready = True

    def _mu(self) -> float:
        """The Coulomb coefficient of the current step: 0 while the last converged state (the step's start) is
        before ``friction_from``."""
        return self.friction if self._t_n >= self.friction_from else 0.0

    def _eval(self, system, u3, want_tangent):
        if not self._ready:
            self.setup(system)
        x = system.points + u3
        ramp = 1.0 - min(max(float(getattr(system, "t", 1.0)), 0.0), 1.0)
        return [ps.evaluate(x, self.x_n, self.eps, self.eps_t, self._mu(), self.radius, want_tangent,
                            self.geometric_stiffness, None if g0 is None else ramp * g0, smoothing=self.smoothing)
                for ps, g0 in zip(self.passes, self.g0, strict=True)]

    # -- hooks of FiniteStrainSystem ------------------------------------------------------------
    def add(self, system, u3, f, data):
        """Add the contact internal forces to ``f``; return the tangent (sparse) when ``data`` is given."""
        outs = self._eval(system, u3, data is not None)
        K = None
        for o in outs:
            f += o["f"]
            if data is not None:
                K = o["K"] if K is None else K + o["K"]
        return K

    def augment(self, system, u3) -> bool:
        if not self.augmentation:
            return True
        outs = self._eval(system, u3, False)
        done = True
        for ps, o in zip(self.passes, outs, strict=True):
            p = o["p"]
            fnorm = float(np.linalg.norm(p * ps.A))
            dl = float(np.linalg.norm((p - ps.lam) * ps.A))
            pen = float(np.max(-o["gap"][o["has"]], initial=0.0))
            if not (dl <= self.tol * fnorm or pen <= self.gap_tol):
                done = False
        if done:
            return True
        for ps, o in zip(self.passes, outs, strict=True):
            ps.lam = o["p"].copy()
        return False

    def checkpoint_state(self, system) -> dict[str, np.ndarray]:
        """The pair's history (per pass: multipliers, friction tractions, normals, slip flags; the committed
        coordinates and load factor) for a restart file."""
        if not self._ready:
            self.setup(system)
        out = {"x_n": self.x_n, "t_n_load": np.array(self._t_n)}
        for k, ps in enumerate(self.passes):
            out.update({f"pass{k}.{a}": getattr(ps, a) for a in _PASS_STATE})
        return out

    def restore_state(self, system, state: dict[str, np.ndarray]) -> None:
        """Set the history saved by :meth:`checkpoint_state`."""
        if not self._ready:
            self.setup(system)
        restore_arrays(self, self.name, state, {"x_n": self.x_n.shape})
        if "t_n_load" not in state:
            raise ModelError(f"contact {self.name!r}: the restart state has no 't_n_load'")
        self._t_n = float(state["t_n_load"])
        for k, ps in enumerate(self.passes):
            sub = {a: state[f"pass{k}.{a}"] for a in _PASS_STATE if f"pass{k}.{a}" in state}
            if "held_n" not in sub and "lam" in sub:  # a file written before held_n: in contact = pressed
                sub["held_n"] = np.asarray(sub["lam"]) > 0.0
            restore_arrays(self, self.name, sub, {a: getattr(ps, a).shape for a in _PASS_STATE}, target=ps)

    def commit(self, system, u3) -> None:
        """Store the converged state as the friction history (tractions, coordinates, the nodes in contact) and its
        load factor (which starts friction at ``friction_from``)."""
        if self.friction > 0.0:
            outs = self._eval(system, u3, False)
            for ps, o in zip(self.passes, outs, strict=True):
                if self._mu() > 0.0:
                    ps.t_n = o["traction"].copy()
                    ps.slip_n = o["slip"].copy()
                    ps.n_n = np.where((o["p"] > 0.0)[:, None], o["normal"], 0.0)
                ps.held_n = (o["p"] > 0.0) | o["touching"]
        self.x_n = system.points + u3
        self._t_n = float(getattr(system, "t", 1.0))

    def report(self, system, u3) -> dict:
        """Nodal pressure/gap of the slave surface(s) and the summary of the pair."""
        outs = self._eval(system, u3, False)
        x = system.points + u3
        o0, ps0 = outs[0], self.passes[0]
        p, A = o0["p"], ps0.A
        act = p > 0.0
        area = float(A[act].sum())
        w = p * A
        # force on the slave body from the master (sum of the passes' slave-side forces)
        force = np.zeros(3)
        friction_force = np.zeros(3)
        for ps, o, sign in zip(self.passes, outs, (1.0, -1.0), strict=False):
            fn = -o["f"].reshape(-1, 3)
            force += sign * fn[ps.nodes].sum(axis=0)  # pass 2's slave is the master: opposite sign
            if self._mu() > 0:
                friction_force += sign * ps.weight * o["traction"].T @ ps.A
        cop = (w[:, None] * x[ps0.nodes]).sum(axis=0) / w.sum() if w.sum() > 0 else np.full(3, np.nan)
        nodes = np.concatenate([ps.nodes for ps in self.passes])
        pres = np.concatenate([o["p"] for o in outs])
        gap = np.concatenate([o["gap"] for o in outs])
        # force per tributary area: each slave node's normal contact force over A_a (the lumped pressure). The
        # multipliers p_a are nodal values of a pressure field whose A_a-weighted averages carry the load, and on
        # coarse meshes they overshoot at steep pressure gradients (Hertz with a tri3 slave, a/3 and a/4:
        # p_a +25 % and +39 % above p0, force per area +0.5 % and +0.9 %; tests/test_contact_hertz.py)
        fc = -sum(o["f"] for o in outs).reshape(-1, 3)  # contact forces on every node (all passes)
        fpres = np.concatenate([np.maximum(0.0, np.einsum("ni,ni->n", fc[ps.nodes], o["normal"]))
                                / np.where(ps.A > 0, ps.A, 1.0) for ps, o in zip(self.passes, outs, strict=True)])
        summary = {
            "type": "SurfaceContact",
            "peak_pressure_MPa": float(p.max(initial=0.0)),
            "peak_force_pressure_MPa": float(fpres[:ps0.nodes.size].max(initial=0.0)),
            "mean_pressure_MPa": float(w.sum() / area) if area > 0 else 0.0,
            "contact_area_mm2": area,
            "normal_force_N": float(np.dot(force, _mean_normal(o0, A))) if area > 0 else 0.0,
            "force_N": force.tolist(),
            "friction_force_N": friction_force.tolist(),
            "centre_of_pressure_mm": cop.tolist(),
            "max_penetration_mm": float(np.max(-o0["gap"][o0["has"]], initial=0.0)),
            "active_nodes": int(act.sum()),
            "sliding_nodes": int(o0["slip"].sum()),
            "penalty_MPa_per_mm": self.eps,
            "passes": len(self.passes),
            "subdivision": ps0.subdivision,
            "integration_points": int(ps0.w.size),
        }
        if self.symmetric:
            summary["master_peak_pressure_MPa"] = float(outs[1]["p"].max(initial=0.0))
        return {"nodes": nodes, "pressure": pres, "force_pressure": fpres, "gap": gap, "summary": summary}


def _mean_normal(o, A):
    n = (o["normal"] * (o["p"] * A)[:, None]).sum(axis=0)
    nn = np.linalg.norm(n)
    return n / nn if nn > 0 else n


def _mean_size(points, conn):
    X = points[conn]
    return float(np.mean(np.max(X.max(axis=1) - X.min(axis=1), axis=1)))
