r"""Compiled kernels of the contact search: bucket grid, candidate query, closest-point projection.

Conventions: ``points (nn, 3) float64`` [mm]; ``conn (nf, nen) int64`` master facets in VTK node order;
``ftype`` is the facet type code: ``0`` tri3, ``1`` tri6, ``2`` quad4. Local coordinates ``(xi, eta)``
are those of :mod:`fesolver.elements.facets` (tri: ``N = (1 - xi - eta, xi, eta)`` for the corners;
quad4: ``[-1, 1]^2``). The public wrapper :class:`fesolver.contact.search.ContactSearch` checks shapes
and dtypes; these functions trust them.

The maths, once. For a slave point :math:`x_s` and a facet :math:`x(\xi)`, the closest point solves

.. math::
    \xi^* = \arg\min_{\xi \in \hat\Omega} f(\xi), \qquad f = \tfrac12 \lVert x(\xi) - x_s \rVert^2,

with :math:`\hat\Omega` the reference cell. tri3: exact (Voronoi regions of the triangle). tri6, quad4:
Newton on :math:`\nabla f = (r \cdot x_{,\alpha})`, :math:`\nabla^2 f = x_{,\alpha} \cdot x_{,\beta}
+ r \cdot x_{,\alpha\beta}` (:math:`r = x - x_s`; Gauss-Newton if that is not positive definite; backtracking
on :math:`f`), started from the best node or centre; if it does not converge inside the cell, the best of
a second Newton from the centre and the minimum over the boundary (1-D Newton along each edge from the best
of five points, ends included; closed form on the straight quad4 edges) is taken. A strongly warped facet and
a far point can still yield a local minimum; near the surface (contact) the minimum is unique. Outward normal
:math:`n = x_{,\xi} \times x_{,\eta} / \lVert\cdot\rVert` (right-hand rule on the node order), signed gap
:math:`g = (x_s - x_c) \cdot n` (negative = penetration).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

TRI3, TRI6, QUAD4 = 0, 1, 2

_NEWTON_MAXIT = 30
# Newton step tolerance in reference coordinates (so relative to the facet size). The distance is
# stationary at the closest point, so the gap error is of the order of the step squared; 1e-10 sits well
# above the round-off of the step (~ eps |x| / h: 2e-14 / h at |x| = 100 mm), which an absolute 1e-13 did
# not at coordinates of 1000 mm and more (issue 4: projections fell back to the edges).
_STEP_TOL = 1e-10
_INSIDE_TOL = 1e-10
_SEEN_SLOTS = 256  # power of two
_OUTSIDE_MARGIN = 0.05  # of the reference cell: Newton iterates beyond it are taken to head for the boundary

# ----------------------------------------------------------------------------------------------
# Facet geometry
# ----------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _shape(ftype, a, x, y):
    """Node ``a``'s shape function and its first and second derivatives at ``(x, y)``:
    ``(N, N_x, N_y, N_xx, N_xy, N_yy)``."""
    if ftype == QUAD4:
        sx = -1.0 if (a == 0 or a == 3) else 1.0
        sy = -1.0 if a < 2 else 1.0
        fx = 1.0 + sx * x
        fy = 1.0 + sy * y
        return 0.25 * fx * fy, 0.25 * sx * fy, 0.25 * sy * fx, 0.0, 0.25 * sx * sy, 0.0
    # triangles: L0 = 1 - x - y, L1 = x, L2 = y
    if ftype == TRI3:
        if a == 0:
            return 1.0 - x - y, -1.0, -1.0, 0.0, 0.0, 0.0
        if a == 1:
            return x, 1.0, 0.0, 0.0, 0.0, 0.0
        return y, 0.0, 1.0, 0.0, 0.0, 0.0
    # tri6
    if a == 0:
        L = 1.0 - x - y
        d = 4.0 * L - 1.0
        return L * (2.0 * L - 1.0), -d, -d, 4.0, 4.0, 4.0
    if a == 1:
        return x * (2.0 * x - 1.0), 4.0 * x - 1.0, 0.0, 4.0, 0.0, 0.0
    if a == 2:
        return y * (2.0 * y - 1.0), 0.0, 4.0 * y - 1.0, 0.0, 0.0, 4.0
    if a == 3:  # 4 L0 L1
        L = 1.0 - x - y
        return 4.0 * L * x, 4.0 * (L - x), -4.0 * x, -8.0, -4.0, 0.0
    if a == 4:  # 4 L1 L2
        return 4.0 * x * y, 4.0 * y, 4.0 * x, 0.0, 4.0, 0.0
    # a == 5: 4 L2 L0
    L = 1.0 - x - y
    return 4.0 * y * L, -4.0 * y, 4.0 * (L - y), 0.0, -4.0, -8.0


@njit(cache=True, inline="always")
def _eval_surface(ftype, points, conn_e, x, y, out):
    """``out (6, 3)``: rows ``x, x_xi, x_eta, x_xixi, x_xieta, x_etaeta`` at ``(x, y)``."""
    for r in range(6):
        for i in range(3):
            out[r, i] = 0.0
    for a in range(conn_e.shape[0]):
        n = conn_e[a]
        s0, s1, s2, s3, s4, s5 = _shape(ftype, a, x, y)
        for i in range(3):
            p = points[n, i]
            out[0, i] += s0 * p
            out[1, i] += s1 * p
            out[2, i] += s2 * p
            out[3, i] += s3 * p
            out[4, i] += s4 * p
            out[5, i] += s5 * p


@njit(cache=True, inline="always")
def _dist2_at(ftype, points, conn_e, xs, x, y, ev):
    _eval_surface(ftype, points, conn_e, x, y, ev)
    d = 0.0
    for i in range(3):
        r = ev[0, i] - xs[i]
        d += r * r
    return d


@njit(cache=True, inline="always")
def _clamp_ref(ftype, x, y):
    """Nearest point of the reference cell (box for quad4, Euclidean projection onto the simplex)."""
    if ftype == QUAD4:
        return min(1.0, max(-1.0, x)), min(1.0, max(-1.0, y))
    # simplex x >= 0, y >= 0, x + y <= 1
    if x >= 0.0 and y >= 0.0 and x + y <= 1.0:
        return x, y
    # candidates: each edge, clipped
    bx, by, bd = 0.0, 0.0, np.inf
    # edge y = 0
    cx = min(1.0, max(0.0, x))
    d = (cx - x) ** 2 + y * y
    if d < bd:
        bx, by, bd = cx, 0.0, d
    # edge x = 0
    cy = min(1.0, max(0.0, y))
    d = x * x + (cy - y) ** 2
    if d < bd:
        bx, by, bd = 0.0, cy, d
    # edge x + y = 1
    t = min(1.0, max(0.0, 0.5 * (x - y + 1.0)))
    d = (t - x) ** 2 + (1.0 - t - y) ** 2
    if d < bd:
        bx, by, bd = t, 1.0 - t, d
    return bx, by


@njit(cache=True, inline="always")
def _inside_ref(ftype, x, y, tol):
    if ftype == QUAD4:
        return abs(x) <= 1.0 + tol and abs(y) <= 1.0 + tol
    return x >= -tol and y >= -tol and x + y <= 1.0 + tol


@njit(cache=True)
def _project_tri3(points, conn_e, xs):
    """Exact closest point of the flat triangle (Ericson, Real-Time Collision Detection, 5.1.5).
    Returns ``(xi, eta)`` (barycentric weights of nodes 1 and 2)."""
    a0, a1, a2 = points[conn_e[0], 0], points[conn_e[0], 1], points[conn_e[0], 2]
    ab0, ab1, ab2 = points[conn_e[1], 0] - a0, points[conn_e[1], 1] - a1, points[conn_e[1], 2] - a2
    ac0, ac1, ac2 = points[conn_e[2], 0] - a0, points[conn_e[2], 1] - a1, points[conn_e[2], 2] - a2
    ap0, ap1, ap2 = xs[0] - a0, xs[1] - a1, xs[2] - a2
    d1 = ab0 * ap0 + ab1 * ap1 + ab2 * ap2
    d2 = ac0 * ap0 + ac1 * ap1 + ac2 * ap2
    if d1 <= 0.0 and d2 <= 0.0:
        return 0.0, 0.0
    bp0, bp1, bp2 = ap0 - ab0, ap1 - ab1, ap2 - ab2
    d3 = ab0 * bp0 + ab1 * bp1 + ab2 * bp2
    d4 = ac0 * bp0 + ac1 * bp1 + ac2 * bp2
    if d3 >= 0.0 and d4 <= d3:
        return 1.0, 0.0
    vc = d1 * d4 - d3 * d2
    if vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
        return d1 / (d1 - d3), 0.0
    cp0, cp1, cp2 = ap0 - ac0, ap1 - ac1, ap2 - ac2
    d5 = ab0 * cp0 + ab1 * cp1 + ab2 * cp2
    d6 = ac0 * cp0 + ac1 * cp1 + ac2 * cp2
    if d6 >= 0.0 and d5 <= d6:
        return 0.0, 1.0
    vb = d5 * d2 - d1 * d6
    if vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
        return 0.0, d2 / (d2 - d6)
    va = d3 * d6 - d5 * d4
    if va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
        w = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        return 1.0 - w, w
    denom = va + vb + vc
    if denom == 0.0:  # degenerate triangle: fall back to the nearest corner
        return _nearest_corner(TRI3, points, conn_e, xs)
    inv = 1.0 / denom
    return vb * inv, vc * inv


@njit(cache=True)
def _nearest_corner(ftype, points, conn_e, xs):
    """Local coordinates of the facet node nearest to ``xs`` (the robust fallback)."""
    best = np.inf
    ba = 0
    for a in range(conn_e.shape[0]):
        d = 0.0
        for i in range(3):
            r = points[conn_e[a], i] - xs[i]
            d += r * r
        if d < best:
            best = d
            ba = a
    return _node_ref(ftype, ba)


@njit(cache=True, inline="always")
def _node_ref(ftype, a):
    if ftype == QUAD4:
        return (-1.0 if (a == 0 or a == 3) else 1.0), (-1.0 if a < 2 else 1.0)
    if a == 0:
        return 0.0, 0.0
    if a == 1:
        return 1.0, 0.0
    if a == 2:
        return 0.0, 1.0
    if a == 3:
        return 0.5, 0.0
    if a == 4:
        return 0.5, 0.5
    return 0.0, 0.5


@njit(cache=True)
def _newton_interior(ftype, points, conn_e, xs, x, y, ev):
    """Damped Newton for the stationary point of ``f`` from ``(x, y)``; iterates are kept in the cell
    enlarged by a margin. Returns ``(x, y, converged)``."""
    f = _dist2_at(ftype, points, conn_e, xs, x, y, ev)
    lo = -1.5 if ftype == QUAD4 else -0.5
    hi = 1.5
    outside = 0
    for _ in range(_NEWTON_MAXIT):
        r0, r1, r2 = ev[0, 0] - xs[0], ev[0, 1] - xs[1], ev[0, 2] - xs[2]
        g0 = r0 * ev[1, 0] + r1 * ev[1, 1] + r2 * ev[1, 2]
        g1 = r0 * ev[2, 0] + r1 * ev[2, 1] + r2 * ev[2, 2]
        m00 = ev[1, 0] ** 2 + ev[1, 1] ** 2 + ev[1, 2] ** 2
        m01 = ev[1, 0] * ev[2, 0] + ev[1, 1] * ev[2, 1] + ev[1, 2] * ev[2, 2]
        m11 = ev[2, 0] ** 2 + ev[2, 1] ** 2 + ev[2, 2] ** 2
        h00 = m00 + r0 * ev[3, 0] + r1 * ev[3, 1] + r2 * ev[3, 2]
        h01 = m01 + r0 * ev[4, 0] + r1 * ev[4, 1] + r2 * ev[4, 2]
        h11 = m11 + r0 * ev[5, 0] + r1 * ev[5, 1] + r2 * ev[5, 2]
        det = h00 * h11 - h01 * h01
        if not (h00 > 0.0 and det > 1e-14 * (m00 * m11 + 1e-300)):
            h00, h01, h11 = m00, m01, m11  # Gauss-Newton: always a descent direction
            det = h00 * h11 - h01 * h01
            if det <= 0.0:
                return x, y, False
        dx = -(h11 * g0 - h01 * g1) / det
        dy = -(h00 * g1 - h01 * g0) / det
        if abs(dx) < _STEP_TOL and abs(dy) < _STEP_TOL:
            return x, y, True
        s = 1.0
        accepted = False
        for _ls in range(20):
            nx = min(hi, max(lo, x + s * dx))
            ny = min(hi, max(lo, y + s * dy))
            fn = _dist2_at(ftype, points, conn_e, xs, nx, ny, ev)
            if fn <= f:
                accepted = True
                break
            s *= 0.5
        if not accepted:
            # no decrease even for tiny steps: at a minimum to round-off
            _dist2_at(ftype, points, conn_e, xs, x, y, ev)
            return x, y, True
        step = max(abs(nx - x), abs(ny - y))
        x, y, f = nx, ny, fn
        if step < _STEP_TOL:
            return x, y, True
        # two iterates in a row clearly outside the cell: the minimum is on the boundary, stop early
        if not _inside_ref(ftype, x, y, _OUTSIDE_MARGIN):
            outside += 1
            if outside >= 2:
                return x, y, False
        else:
            outside = 0
    return x, y, False


@njit(cache=True)
def _edge_min(ftype, points, conn_e, xs, ax, ay, bx, by, ev):
    """Minimum of ``f`` along the reference edge ``(ax, ay) + t (bx, by)``, ``t in [0, 1]``.
    Returns ``(x, y, dist2)``."""
    # seed: best of five points along the edge, ends included
    bt, bf = 0.0, np.inf
    for k in range(5):
        t = 0.25 * k
        fk = _dist2_at(ftype, points, conn_e, xs, ax + t * bx, ay + t * by, ev)
        if fk < bf:
            bt, bf = t, fk
    t = bt
    f = _dist2_at(ftype, points, conn_e, xs, ax + t * bx, ay + t * by, ev)
    for _ in range(_NEWTON_MAXIT):
        d1 = 0.0
        gn = 0.0
        d2 = 0.0
        for i in range(3):
            c1 = ev[1, i] * bx + ev[2, i] * by
            c2 = ev[3, i] * bx * bx + 2.0 * ev[4, i] * bx * by + ev[5, i] * by * by
            r = ev[0, i] - xs[i]
            d1 += r * c1
            gn += c1 * c1
            d2 += r * c2
        h = gn + d2
        if not (h > 1e-14 * gn):
            h = gn
        if h <= 0.0:
            break
        dt = -d1 / h
        if abs(dt) < _STEP_TOL:
            break
        s = 1.0
        accepted = False
        for _ls in range(20):
            nt = min(1.0, max(0.0, t + s * dt))
            fn = _dist2_at(ftype, points, conn_e, xs, ax + nt * bx, ay + nt * by, ev)
            if fn <= f:
                accepted = True
                break
            s *= 0.5
        if not accepted:
            break
        step = abs(nt - t)
        t, f = nt, fn
        if step < _STEP_TOL:
            break
    return ax + t * bx, ay + t * by, f


@njit(cache=True)
def _project_curved(ftype, points, conn_e, xs, ev):
    """Closest point of a tri6 or quad4 facet: ``(xi, eta)``."""
    # seed: the best of the nodes and the centre
    bx, by, bf = 0.0, 0.0, np.inf
    for a in range(conn_e.shape[0]):
        x, y = _node_ref(ftype, a)
        fa = _dist2_at(ftype, points, conn_e, xs, x, y, ev)
        if fa < bf:
            bx, by, bf = x, y, fa
    cx = 0.0 if ftype == QUAD4 else 1.0 / 3.0
    fa = _dist2_at(ftype, points, conn_e, xs, cx, cx, ev)
    if fa < bf:
        bx, by, bf = cx, cx, fa
    x, y, ok = _newton_interior(ftype, points, conn_e, xs, bx, by, ev)
    if ok and _inside_ref(ftype, x, y, _INSIDE_TOL) and x == x and y == y:
        return _clamp_ref(ftype, x, y)
    rx, ry, rf = bx, by, bf
    if _inside_ref(ftype, x, y, _INSIDE_TOL) and x == x and y == y:
        # not converged (round-off), but inside: a candidate like any other
        x, y = _clamp_ref(ftype, x, y)
        fc = _dist2_at(ftype, points, conn_e, xs, x, y, ev)
        if fc < rf:
            rx, ry, rf = x, y, fc
    # a warped facet may hold an interior minimum the first start missed: try again from the centre
    if bx != cx or by != cx:
        x, y, ok = _newton_interior(ftype, points, conn_e, xs, cx, cx, ev)
        if ok and _inside_ref(ftype, x, y, _INSIDE_TOL) and x == x and y == y:
            x, y = _clamp_ref(ftype, x, y)
            fc = _dist2_at(ftype, points, conn_e, xs, x, y, ev)
            if fc < rf:
                rx, ry, rf = x, y, fc
    # and the constrained minimum on the boundary: best over the edges (their ends included)
    if ftype == QUAD4:
        # bilinear facet: straight edges, closed-form segment projection
        for k in range(4):
            a = conn_e[k]
            b = conn_e[(k + 1) % 4]
            ee = 0.0
            ep = 0.0
            for i in range(3):
                e_i = points[b, i] - points[a, i]
                ee += e_i * e_i
                ep += e_i * (xs[i] - points[a, i])
            t = min(1.0, max(0.0, ep / ee)) if ee > 0.0 else 0.0
            fe = 0.0
            for i in range(3):
                r = points[a, i] + t * (points[b, i] - points[a, i]) - xs[i]
                fe += r * r
            if fe < rf:
                ax_, ay_ = _node_ref(ftype, k)
                ex, ey = _node_ref(ftype, (k + 1) % 4)
                rx, ry, rf = ax_ + t * (ex - ax_), ay_ + t * (ey - ay_), fe
    else:
        for k in range(3):
            ax_, ay_ = _node_ref(ftype, k)
            ex, ey = _node_ref(ftype, (k + 1) % 3)
            ex_, ey_, fe = _edge_min(ftype, points, conn_e, xs, ax_, ay_, ex - ax_, ey - ay_, ev)
            if fe < rf:
                rx, ry, rf = ex_, ey_, fe
    if not (rf == rf):  # NaN geometry: nearest node
        return _nearest_corner(ftype, points, conn_e, xs)
    return rx, ry


@njit(cache=True)
def project_point(ftype, points, conn_e, xs, ev, res):
    """Closest point of facet ``conn_e`` to ``xs (3,)``; ``ev (6, 3)`` is scratch.

    Fills ``res (9,)`` with ``xi, eta, xc (3), n (3), gap`` and returns the distance ``|xs - xc|`` [mm].
    """
    if ftype == TRI3:
        x, y = _project_tri3(points, conn_e, xs)
    else:
        x, y = _project_curved(ftype, points, conn_e, xs, ev)
    _eval_surface(ftype, points, conn_e, x, y, ev)
    n0 = ev[1, 1] * ev[2, 2] - ev[1, 2] * ev[2, 1]
    n1 = ev[1, 2] * ev[2, 0] - ev[1, 0] * ev[2, 2]
    n2 = ev[1, 0] * ev[2, 1] - ev[1, 1] * ev[2, 0]
    nn = math.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
    if nn > 0.0:
        n0 /= nn
        n1 /= nn
        n2 /= nn
    res[0] = x
    res[1] = y
    d = 0.0
    g = 0.0
    for i in range(3):
        res[2 + i] = ev[0, i]
        r = xs[i] - ev[0, i]
        d += r * r
    res[5] = n0
    res[6] = n1
    res[7] = n2
    g = (xs[0] - ev[0, 0]) * n0 + (xs[1] - ev[0, 1]) * n1 + (xs[2] - ev[0, 2]) * n2
    res[8] = g
    return math.sqrt(d)


@njit(cache=True, parallel=True)
def project_points(ftype, points, conn, facet, slaves, out):
    """Project ``slaves[i]`` onto facet ``facet[i]``; ``out (n, 10)``: ``xi, eta, xc, n, gap, dist``."""
    for i in prange(slaves.shape[0]):
        ev = np.empty((6, 3))
        out[i, 9] = project_point(ftype, points, conn[facet[i]], slaves[i], ev, out[i, :9])


# ----------------------------------------------------------------------------------------------
# Bucket grid
# ----------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def facet_bboxes(ftype, points, conn, bbox):
    """``bbox (nf, 6)``: ``min xyz, max xyz`` of each facet [mm].

    tri6: the box of the corners and the Bézier control points ``2 m - (a + b) / 2`` of the edges, which
    contains the curved facet; tri3, quad4: the box of the nodes.
    """
    nf = conn.shape[0]
    for e in prange(nf):
        for i in range(3):
            lo = np.inf
            hi = -np.inf
            for a in range(conn.shape[1]):
                if ftype == TRI6 and a >= 3:
                    k = a - 3
                    p = 2.0 * points[conn[e, a], i] - 0.5 * (points[conn[e, k], i] + points[conn[e, (k + 1) % 3], i])
                else:
                    p = points[conn[e, a], i]
                lo = min(lo, p)
                hi = max(hi, p)
            bbox[e, i] = lo
            bbox[e, 3 + i] = hi


@njit(cache=True)
def build_grid(bbox, lo, h, dims):
    """Bucket the facets into the uniform grid of ``dims (3,)`` cells of size ``h`` [mm] from ``lo (3,)``.

    A facet goes into every cell its box overlaps. Returns ``(cell_start (ncell + 1,), cell_items)``
    (CSR: the facets of cell ``c`` are ``cell_items[cell_start[c]:cell_start[c + 1]]``); counting sort, O(n).
    """
    nf = bbox.shape[0]
    n0, n1, n2 = dims[0], dims[1], dims[2]
    ncell = n0 * n1 * n2
    rng = np.empty((nf, 6), dtype=np.int64)
    count = np.zeros(ncell + 1, dtype=np.int64)
    for e in range(nf):
        for i in range(3):
            a = int(math.floor((bbox[e, i] - lo[i]) / h))
            b = int(math.floor((bbox[e, 3 + i] - lo[i]) / h))
            rng[e, i] = min(max(a, 0), dims[i] - 1)
            rng[e, 3 + i] = min(max(b, 0), dims[i] - 1)
        for k in range(rng[e, 2], rng[e, 5] + 1):
            for j in range(rng[e, 1], rng[e, 4] + 1):
                for i in range(rng[e, 0], rng[e, 3] + 1):
                    count[(k * n1 + j) * n0 + i + 1] += 1
    for c in range(ncell):
        count[c + 1] += count[c]
    items = np.empty(count[ncell], dtype=np.int64)
    fill = count[:ncell].copy()
    for e in range(nf):
        for k in range(rng[e, 2], rng[e, 5] + 1):
            for j in range(rng[e, 1], rng[e, 4] + 1):
                for i in range(rng[e, 0], rng[e, 3] + 1):
                    c = (k * n1 + j) * n0 + i
                    items[fill[c]] = e
                    fill[c] += 1
    return count, items


@njit(cache=True, inline="always")
def _box_dist2(bbox, e, xs):
    d = 0.0
    for i in range(3):
        if xs[i] < bbox[e, i]:
            d += (bbox[e, i] - xs[i]) ** 2
        elif xs[i] > bbox[e, 3 + i]:
            d += (xs[i] - bbox[e, 3 + i]) ** 2
    return d


@njit(cache=True, inline="always")
def _visit_cell(c, cell_start, cell_items, ftype, points, conn, bbox, xs, ev, tmp, best_res, state, seen):
    """Try the facets of cell ``c``; ``state = [best distance, best facet]`` (ties: lower facet id).

    ``seen`` is a direct-mapped cache of the facets already tried for this point (a facet is bucketed in
    every cell its box overlaps); a collision only costs a repeated projection.
    """
    mask = seen.shape[0] - 1
    for p in range(cell_start[c], cell_start[c + 1]):
        e = cell_items[p]
        slot = e & mask
        if seen[slot] == e:
            continue
        seen[slot] = e
        bd = state[0]
        # box distance <= facet distance; the margin keeps round-off from pruning an exact tie
        if _box_dist2(bbox, e, xs) > bd * bd * (1.0 + 1e-12):
            continue
        d = project_point(ftype, points, conn[e], xs, ev, tmp)
        if d < bd or (d == bd and (state[1] < 0 or e < state[1])):
            state[0] = d
            state[1] = e
            for q in range(9):
                best_res[q] = tmp[q]


@njit(cache=True, inline="always")
def _unvisited_distance(xs, c, k, lo, h, dims):
    """Lower bound of the distance from ``xs`` to any cell outside the block of cells ``c - k .. c + k``: the
    nearest of the block's walls that have grid cells beyond them (infinite if the block covers the grid)."""
    b = np.inf
    for i in range(3):
        if c[i] - k >= 1:
            b = min(b, xs[i] - (lo[i] + (c[i] - k) * h))
        if c[i] + k + 1 <= dims[i] - 1:
            b = min(b, lo[i] + (c[i] + k + 1) * h - xs[i])
    return b


@njit(cache=True, parallel=True)
def closest_in_grid(ftype, points, conn, bbox, lo, h, dims, cell_start, cell_items, slaves, radius, hint, facet,
                    res):
    """Closest master facet within ``radius`` [mm] of each slave point, by rings of grid cells.

    Cells are visited in rings of growing Chebyshev index distance ``k`` around the slave's cell; after
    ring ``k`` every unvisited facet is at least as far as the nearest wall of the visited block of cells that
    has grid cells beyond it (a facet's closest point lies in a cell it is bucketed in;
    :func:`_unvisited_distance`, at least ``k h``), so the search stops once the best distance is below that, or
    at ``k h > radius``. A point close to the surface and away from its cell's walls is done after one cell.
    ``hint (n,)`` is a first guess of each point's facet (-1: none; e.g. the last search's answer): it is
    projected first, so its distance bounds the search from the start and the boxes of farther facets prune
    them without a projection. The answer is the same with any hint (the same minimum, the same tie rule).
    ``facet (n,)`` receives the facet (-1: none) and ``res (n, 9)`` ``xi, eta, xc, n, gap``.
    """
    n0, n1, n2 = dims[0], dims[1], dims[2]
    nf = conn.shape[0]
    for s in prange(slaves.shape[0]):
        xs = slaves[s]
        ev = np.empty((6, 3))
        tmp = np.empty(9)
        state = np.empty(2)
        state[0] = radius
        state[1] = -1.0
        seen = np.full(_SEEN_SLOTS, -1, dtype=np.int64)
        for q in range(9):
            res[s, q] = np.nan
        e = hint[s]
        if 0 <= e < nf:
            d = project_point(ftype, points, conn[e], xs, ev, tmp)
            seen[e & (_SEEN_SLOTS - 1)] = e
            if d <= radius:
                state[0] = d
                state[1] = e
                for q in range(9):
                    res[s, q] = tmp[q]
        # the slave's cell, clipped to [-1, n]: the ring bound k h stays valid (see docstring)
        c = np.empty(3, dtype=np.int64)
        kmax = 0
        for i in range(3):
            v = (xs[i] - lo[i]) / h
            if not (v == v):
                v = -1.0
            v = min(max(v, -1.0), dims[i] + 0.5)
            ci = int(math.floor(v))
            c[i] = ci
            kmax = max(kmax, ci, dims[i] - 1 - ci)
        kr = int(math.ceil(min(radius / h, 4.0e9))) + 1
        kmax = min(kmax, kr)
        for k in range(kmax + 1):
            i0, i1 = max(c[0] - k, 0), min(c[0] + k, n0 - 1)
            j0, j1 = max(c[1] - k, 0), min(c[1] + k, n1 - 1)
            z0, z1 = max(c[2] - k, 0), min(c[2] + k, n2 - 1)
            for kk in range(z0, z1 + 1):
                dk = abs(kk - c[2])
                for j in range(j0, j1 + 1):
                    dj = abs(j - c[1])
                    if dk == k or dj == k:
                        for i in range(i0, i1 + 1):
                            _visit_cell((kk * n1 + j) * n0 + i, cell_start, cell_items, ftype, points, conn,
                                        bbox, xs, ev, tmp, res[s], state, seen)
                    else:
                        i = c[0] - k
                        if i >= 0:
                            _visit_cell((kk * n1 + j) * n0 + i, cell_start, cell_items, ftype, points, conn,
                                        bbox, xs, ev, tmp, res[s], state, seen)
                        i = c[0] + k
                        if k > 0 and i < n0:
                            _visit_cell((kk * n1 + j) * n0 + i, cell_start, cell_items, ftype, points, conn,
                                        bbox, xs, ev, tmp, res[s], state, seen)
            if state[1] >= 0 and state[0] < _unvisited_distance(xs, c, k, lo, h, dims):
                break
        facet[s] = int(state[1])


@njit(cache=True, parallel=True)
def closest_brute_force(ftype, points, conn, slaves, radius, facet, res):
    """All-pairs reference of :func:`closest_in_grid` (same projection, same tie rule): O(n_s n_f)."""
    for s in prange(slaves.shape[0]):
        xs = slaves[s]
        ev = np.empty((6, 3))
        tmp = np.empty(9)
        bd = radius
        be = -1
        for q in range(9):
            res[s, q] = np.nan
        for e in range(conn.shape[0]):
            d = project_point(ftype, points, conn[e], xs, ev, tmp)
            if d < bd or (d == bd and be < 0):
                bd = d
                be = e
                for q in range(9):
                    res[s, q] = tmp[q]
        facet[s] = be
