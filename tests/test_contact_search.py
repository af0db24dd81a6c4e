"""Contact search (fesolver.contact.search): closest-point projection on tri3/tri6/quad4 facets, signed gaps
and normals on a sphere, and the bucket grid against an all-pairs brute force."""

from __future__ import annotations

import numpy as np
import pytest

from fesolver.contact.search import ContactSearch, ContactSearchError, project_to_facets
from fesolver.elements.facets import QUAD4, TRI3, TRI6

SHAPES = {"tri3": TRI3, "tri6": TRI6, "quad4": QUAD4}


# ----------------------------------------------------------------------------------------------
# meshes
# ----------------------------------------------------------------------------------------------


def sheet(n, kind, amp=0.3, lengths=(10.0, 10.0), rng=None, noise=0.0):
    """A wavy sheet ``z = amp sin(x) cos(0.7 y)`` over ``[0, Lx] x [0, Ly]``, ``n x n`` quads (split into two
    triangles each for tri3/tri6), normal +z. Returns ``points, conn``."""
    m = 2 * n + 1 if kind == "tri6" else n + 1  # tri6: the mid-nodes sit on the doubled grid
    x = np.linspace(0.0, lengths[0], m)
    y = np.linspace(0.0, lengths[1], m)
    X, Y = np.meshgrid(x, y, indexing="xy")
    Z = amp * np.sin(X) * np.cos(0.7 * Y)
    if noise and rng is not None:
        Z = Z + noise * rng.standard_normal(Z.shape)
    pts = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])

    def nid(i, j):
        return j * m + i

    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()
    if kind == "quad4":
        conn = np.column_stack([nid(i, j), nid(i + 1, j), nid(i + 1, j + 1), nid(i, j + 1)])
    elif kind == "tri3":
        t1 = np.column_stack([nid(i, j), nid(i + 1, j), nid(i + 1, j + 1)])
        t2 = np.column_stack([nid(i, j), nid(i + 1, j + 1), nid(i, j + 1)])
        conn = np.vstack([t1, t2])
    else:
        a, b = 2 * i, 2 * j
        t1 = np.column_stack([nid(a, b), nid(a + 2, b), nid(a + 2, b + 2),
                              nid(a + 1, b), nid(a + 2, b + 1), nid(a + 1, b + 1)])
        t2 = np.column_stack([nid(a, b), nid(a + 2, b + 2), nid(a, b + 2),
                              nid(a + 1, b + 1), nid(a + 1, b + 2), nid(a, b + 1)])
        conn = np.vstack([t1, t2])
    return pts, conn.astype(np.int64)


# proper rotations taking +z to each of the six cube-face normals
_FACE_ROT = [np.eye(3),
             np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]]),
             np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]),
             np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]]),
             np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),
             np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])]


def cubed_sphere(n, kind, R):
    """Sphere of radius ``R`` (mm): each cube face an ``n x n`` sheet, nodes projected radially; outward
    normals. Nodes are not merged across cube faces (the search does not need it)."""
    pts0, conn0 = sheet(n, kind, amp=0.0, lengths=(2.0, 2.0))
    pts0 = pts0 + np.array([-1.0, -1.0, 1.0])
    allp, allc = [], []
    off = 0
    for Q in _FACE_ROT:
        p = pts0 @ Q.T
        allp.append(R * p / np.linalg.norm(p, axis=1)[:, None])
        allc.append(conn0 + off)
        off += p.shape[0]
    return np.vstack(allp), np.vstack(allc)


def _N(kind, xi):
    """Shape functions of the facet type at ``xi (n, 2)``: ``(n, nen)``."""
    return SHAPES[kind].shape(np.atleast_2d(xi))


def curved_facet(kind, rng):
    """One facet of size ~1 mm with its nodes perturbed out of plane (0.15 mm) and in plane (0.05 mm)."""
    ref = {"tri3": np.array([[0.0, 0], [1, 0], [0, 1]]),
           "tri6": np.array([[0.0, 0], [1, 0], [0, 1], [0.5, 0], [0.5, 0.5], [0, 0.5]]),
           "quad4": np.array([[-1.0, -1], [1, -1], [1, 1], [-1, 1]]) * 0.5}[kind]
    X = np.column_stack([ref, np.zeros(len(ref))])
    X[:, :2] += 0.05 * rng.standard_normal((len(ref), 2))
    X[:, 2] += 0.15 * rng.standard_normal(len(ref))
    return X


# ----------------------------------------------------------------------------------------------
# projection onto one facet
# ----------------------------------------------------------------------------------------------


def test_flat_tri3_analytic():
    """Flat tri3 in z = 0, counter-clockwise: interior points project vertically (gap = z, normal +z),
    outside points clamp to the nearest edge point / vertex. Tolerance 1e-14 mm."""
    X = np.array([[0.0, 0, 0], [2, 0, 0], [0, 2, 0]])
    conn = np.array([[0, 1, 2]])
    xs = np.array([[0.5, 0.5, 0.3], [0.5, 0.5, -0.2],  # above / below the interior
                   [3.0, -1.0, 0.4],                     # beyond vertex 1
                   [1.0, -0.5, 0.1],                     # beyond edge 0-1
                   [2.0, 2.0, 0.0],                      # beyond the hypotenuse
                   [-1.0, -1.0, 0.0]])                   # beyond vertex 0
    expect = np.array([[0.5, 0.5, 0], [0.5, 0.5, 0], [2, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0]])
    cp = project_to_facets(X, conn, "tri3", np.zeros(len(xs), dtype=int), xs)
    np.testing.assert_allclose(cp.point, expect, atol=1e-14)
    np.testing.assert_allclose(cp.normal, np.tile([0.0, 0, 1], (len(xs), 1)), atol=1e-14)
    np.testing.assert_allclose(cp.gap, xs[:, 2], atol=1e-14)
    np.testing.assert_allclose(cp.xi, expect[:, :2] / 2.0, atol=1e-14)  # xi = x / 2, eta = y / 2 here


def test_flat_quad4_clamps_to_edges_and_vertices():
    """Flat unit quad4 (VTK order, normal +z): outside points clamp to edges/vertices. Tolerance 1e-12 mm."""
    X = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    xs = np.array([[0.3, 0.6, -0.25], [1.5, 0.4, 0.2], [2.0, 3.0, -1.0], [0.5, -0.1, 0.0]])
    expect = np.array([[0.3, 0.6, 0], [1, 0.4, 0], [1, 1, 0], [0.5, 0, 0]])
    cp = project_to_facets(X, np.array([[0, 1, 2, 3]]), "quad4", np.zeros(4, dtype=int), xs)
    np.testing.assert_allclose(cp.point, expect, atol=1e-12)
    np.testing.assert_allclose(cp.xi, 2.0 * expect[:, :2] - 1.0, atol=1e-12)
    np.testing.assert_allclose(cp.normal[:, 2], 1.0, atol=1e-12)
    np.testing.assert_allclose(cp.gap, xs[:, 2], atol=1e-12)


@pytest.mark.parametrize("kind", ["tri3", "tri6", "quad4"])
def test_projection_matches_dense_sampling(kind):
    """Random points near a warped facet (inside and beyond its edges): the projected distance is never
    larger than the best of densely sampled facet points (+1e-12 mm) and at most 2e-5 mm smaller
    (sampling resolution); the closest point is on the surface x(xi); gap = (x_s - x_c).n."""
    rng = np.random.default_rng(1)
    for _ in range(8):
        X = curved_facet(kind, rng)
        conn = np.arange(len(X))[None, :]
        lo, hi = X.min(0) - 0.4, X.max(0) + 0.4
        xs = lo + (hi - lo) * rng.random((10, 3))
        cp = project_to_facets(X, conn, kind, np.zeros(len(xs), dtype=int), xs)
        dist = np.linalg.norm(xs - cp.point, axis=1)
        np.testing.assert_allclose(_N(kind, cp.xi) @ X, cp.point, atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(cp.normal, axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(cp.gap, np.einsum("ij,ij->i", xs - cp.point, cp.normal), atol=1e-12)
        for s in range(len(xs)):
            dmin = dense_min_distance(X, kind, xs[s])
            assert dist[s] <= dmin + 1e-12, (kind, s, dist[s], dmin)
            assert dmin - dist[s] <= 2e-5, (kind, s, dist[s], dmin)


@pytest.mark.parametrize("kind", ["tri3", "tri6", "quad4"])
@pytest.mark.parametrize("offset, h", [(0.0, 1.0), (1000.0, 1.0), (5000.0, 0.2)])
def test_projection_far_from_origin(kind, offset, h):
    """Flat facets of size ``h`` translated by ``offset`` mm along every axis, points 0.01 h above known
    interior points: the local coordinates come back to 1e-9 (relative to the cell) and the gap to 1e-9 h.
    Before the Newton step tolerance became relative to the reference cell, quad4 and tri6 projections at
    1000 mm fell back to an edge (xi off by 0.25-0.57)."""
    rng = np.random.default_rng(3)
    pts, conn = sheet(20, kind, amp=0.0, lengths=(20 * h, 20 * h))
    pts = pts + offset
    f = rng.integers(0, conn.shape[0], 500)
    xi = 0.2 + 0.6 * rng.random((500, 2))
    xi = 2.0 * xi - 1.0 if kind == "quad4" else 0.5 * xi
    xs = np.einsum("pa,pai->pi", _N(kind, xi), pts[conn[f]]) + [0.0, 0.0, 0.01 * h]
    cp = project_to_facets(pts, conn, kind, f, xs)
    np.testing.assert_allclose(cp.xi, xi, atol=1e-9)
    np.testing.assert_allclose(cp.gap, 0.01 * h, atol=1e-9 * h)


def dense_min_distance(X, kind, x, m=400):
    """Brute force: the smallest distance from ``x`` to ``m x m`` sampled points of the facet, then again to
    ``m x m`` points in a window of +-2 samples around the best one (resolution ~1e-5 of the cell)."""
    a, b = (-1.0, 1.0) if kind == "quad4" else (0.0, 1.0)
    lo = np.array([a, a])
    hi = np.array([b, b])
    best = None
    for _ in range(2):
        u = np.linspace(lo[0], hi[0], m)
        v = np.linspace(lo[1], hi[1], m)
        U, V = np.meshgrid(u, v)
        xi = np.column_stack([U.ravel(), V.ravel()])
        if kind != "quad4":
            xi = xi[xi.sum(1) <= 1.0 + 1e-12]
        d = np.linalg.norm(_N(kind, xi) @ X - x, axis=1)
        k = np.argmin(d)
        best = d[k] if best is None else min(best, d[k])
        step = 2.0 * (hi - lo) / (m - 1)
        lo, hi = np.maximum(xi[k] - step, a), np.minimum(xi[k] + step, b)
    return best


def test_tri3_normal_right_hand_rule():
    """Reversing the node order flips the normal and the sign of the gap (exactly)."""
    X = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    xs = np.array([[0.2, 0.2, 0.5]])
    a = project_to_facets(X, np.array([[0, 1, 2]]), "tri3", [0], xs)
    b = project_to_facets(X, np.array([[0, 2, 1]]), "tri3", [0], xs)
    assert a.gap[0] == 0.5 and b.gap[0] == -0.5
    np.testing.assert_array_equal(a.normal, -b.normal)


# ----------------------------------------------------------------------------------------------
# curved surface: sphere
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, n, tol_gap, tol_normal", [("tri6", 16, 1e-3, 8e-3), ("quad4", 32, 1.5e-2, 5e-2)])
def test_sphere_gap_and_normal(kind, n, tol_gap, tol_normal):
    """Cubed sphere R = 10 mm; random points at |x| = R +- 0.5 mm. The signed gap equals |x| - R (analytic)
    to the discretisation error: tri6 (h ~ 1 mm, measured 6.2e-4) 1e-3 mm, quad4 (h ~ 0.5 mm, measured 9.6e-3)
    1.5e-2 mm; the normal equals x/|x| to 8e-3 (tri6, measured 5.1e-3) and 5e-2 (quad4, measured 3.8e-2).
    Positive outside, negative inside, for every point."""
    R = 10.0
    pts, conn = cubed_sphere(n, kind, R)
    cs = ContactSearch(conn, kind)
    cs.update(pts)
    rng = np.random.default_rng(7)
    d = rng.standard_normal((400, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    r = R + rng.choice([-1.0, 1.0], 400) * rng.uniform(0.05, 0.5, 400)
    xs = d * r[:, None]
    cp = cs.closest(xs, radius=1.0)
    assert np.all(cp.found)
    np.testing.assert_array_equal(np.sign(cp.gap), np.sign(r - R))
    err_g = np.abs(cp.gap - (r - R)).max()
    err_n = np.linalg.norm(cp.normal - d, axis=1).max()
    assert err_g < tol_gap, err_g
    assert err_n < tol_normal, err_n


@pytest.mark.parametrize("kind, slope", [("tri6", 2.5), ("quad4", 1.7)])
def test_sphere_gap_converges_with_refinement(kind, slope):
    """Cubed sphere: the largest gap error falls at least like h^slope between n = 8 and n = 16 (theory:
    h^3 for tri6, h^2 for quad4; measured 3.0 and 1.9)."""
    R = 10.0
    rng = np.random.default_rng(3)
    d = rng.standard_normal((300, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    r = R + rng.uniform(-0.3, 0.3, 300)
    errs = []
    for n in (8, 16):
        pts, conn = cubed_sphere(n, kind, R)
        cs = ContactSearch(conn, kind)
        cs.update(pts)
        cp = cs.closest(d * r[:, None], radius=2.0)
        errs.append(np.abs(cp.gap - (r - R)).max())
    assert np.log2(errs[0] / errs[1]) > slope, errs


# ----------------------------------------------------------------------------------------------
# grid search against all pairs
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, n", [("tri3", 40), ("tri6", 25), ("quad4", 50)])
def test_grid_equals_brute_force(kind, n):
    """A noisy wavy sheet (3200, 1250, 2500 facets) and 3000 random points around it: the grid search gives
    the same facet as all pairs for every point (same tie rule: lowest id) and gaps equal to 1e-12 mm, with a
    finite radius (some points find nothing) and with an unbounded one."""
    rng = np.random.default_rng(11)
    pts, conn = sheet(n, kind, amp=0.5, rng=rng, noise=0.05)
    cs = ContactSearch(conn, kind)
    cs.update(pts)
    lo, hi = pts.min(0) - 1.0, pts.max(0) + 1.0
    xs = lo + (hi - lo) * rng.random((3000, 3))
    for radius in (0.4, np.inf):
        g = cs.closest(xs, radius)
        b = cs.closest_brute_force(xs, radius)
        np.testing.assert_array_equal(g.facet, b.facet)
        f = g.found
        np.testing.assert_allclose(g.gap[f], b.gap[f], rtol=0, atol=1e-12)
        np.testing.assert_allclose(g.point[f], b.point[f], rtol=0, atol=1e-12)
        if np.isfinite(radius):
            assert 0 < f.sum() < len(xs)
            assert np.all(np.isnan(g.gap[~f]))
            assert np.all(np.linalg.norm(xs[f] - g.point[f], axis=1) <= radius)
        else:
            assert f.all()


@pytest.mark.parametrize("cell_size", [0.15, 3.0])
def test_grid_cell_size_does_not_change_result(cell_size):
    """A given cell size (much finer or coarser than the facets) changes the cost, not the result: same
    facets as all pairs, gaps to 1e-12 mm (tri3 sheet, 3200 facets, radius 0.6 mm)."""
    rng = np.random.default_rng(5)
    pts, conn = sheet(40, "tri3", amp=0.5, rng=rng, noise=0.05)
    cs = ContactSearch(conn, "tri3", cell_size=cell_size)
    cs.update(pts)
    xs = pts.min(0) - 1.0 + (pts.max(0) - pts.min(0) + 2.0) * rng.random((2000, 3))
    g, b = cs.closest(xs, 0.6), cs.closest_brute_force(xs, 0.6)
    np.testing.assert_array_equal(g.facet, b.facet)
    np.testing.assert_allclose(g.gap[g.found], b.gap[b.found], rtol=0, atol=1e-12)


def test_grid_equals_brute_force_closed_surface():
    """Closed quad4 sphere (R = 10 mm, 1536 facets; the grid is capped at 8 cells per facet): points
    everywhere in and around it, unbounded radius, including the centre: same facets as all pairs."""
    pts, conn = cubed_sphere(16, "quad4", 10.0)
    cs = ContactSearch(conn, "quad4")
    cs.update(pts)
    assert np.prod(cs.dims) <= 8 * len(conn) + 64
    rng = np.random.default_rng(2)
    xs = np.vstack([rng.uniform(-13.0, 13.0, (1500, 3)), [[0.0, 0.0, 0.0]]])
    g, b = cs.closest(xs, np.inf), cs.closest_brute_force(xs, np.inf)
    np.testing.assert_array_equal(g.facet, b.facet)
    np.testing.assert_allclose(g.gap, b.gap, rtol=0, atol=1e-12)
    assert np.all(g.gap[np.linalg.norm(xs, axis=1) < 9.0] < 0.0)


@pytest.mark.parametrize("ftype", ["tri3", "tri6", "quad4"])
def test_hint_does_not_change_the_result(ftype):
    """A hint (a first guess of each point's facet) changes the cost, not the answer: with the right facets,
    random facets, facets out of range (-1, nf) and facets beyond the radius as hints, the same facets as all
    pairs and gaps to 1e-12 mm (curved sheet, points up to 1 mm off it, radius 0.6 mm). A hint of the wrong
    shape is an error naming the expected shape."""
    rng = np.random.default_rng(11)
    pts, conn = sheet(12, ftype, amp=0.5, rng=rng, noise=0.05)
    cs = ContactSearch(conn, ftype)
    cs.update(pts)
    xs = pts.min(0) - 1.0 + (pts.max(0) - pts.min(0) + 2.0) * rng.random((1500, 3))
    b = cs.closest_brute_force(xs, 0.6)
    nf = len(conn)
    hints = {"right": b.facet, "random": rng.integers(0, nf, xs.shape[0]),
             "out of range": rng.choice([-1, nf, nf + 7], xs.shape[0]),
             "far": np.argmax(np.linalg.norm(pts[conn].mean(1)[None, :, :] - xs[:, None, :], axis=2), axis=1)}
    for what, hint in hints.items():
        g = cs.closest(xs, 0.6, hint=hint)
        np.testing.assert_array_equal(g.facet, b.facet, err_msg=what)
        np.testing.assert_allclose(g.gap[g.found], b.gap[b.found], rtol=0, atol=1e-12, err_msg=what)
    with pytest.raises(ContactSearchError, match=r"hint must have shape \(1500,\)"):
        cs.closest(xs, 0.6, hint=np.zeros(3, dtype=int))


def test_moving_master_update():
    """After the master sheet translates by (0.3, -0.2, 1.0) mm and update() is called, gaps shift by -1 mm
    (flat sheet, interior points). Tolerance 1e-12 mm."""
    pts, conn = sheet(10, "quad4", amp=0.0)
    cs = ContactSearch(conn, "quad4")
    cs.update(pts)
    xs = np.array([[3.3, 4.1, 0.7], [5.5, 5.5, -0.2]])
    g0 = cs.closest(xs, 2.0).gap
    cs.update(pts + [0.3, -0.2, 1.0])
    g1 = cs.closest(xs, 2.0).gap
    np.testing.assert_allclose(g1, g0 - 1.0, atol=1e-12)


def test_input_errors():
    pts, conn = sheet(2, "tri3")
    with pytest.raises(ContactSearchError, match="master_type"):
        ContactSearch(conn, "hex8")
    with pytest.raises(ContactSearchError, match=r"\(nf, 4\)"):
        ContactSearch(conn, "quad4")
    cs = ContactSearch(conn, TRI3)  # an ElementType is accepted
    with pytest.raises(ContactSearchError, match="update"):
        cs.closest(pts, 1.0)
    with pytest.raises(ContactSearchError, match=r"shape \(n, 3\)"):
        cs.update(pts[:, :2])
    with pytest.raises(ContactSearchError, match="only"):
        cs.update(pts[:3])
    cs.update(pts)
    with pytest.raises(ContactSearchError, match="radius"):
        cs.closest(pts, -1.0)
