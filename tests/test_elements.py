"""Element types: shape functions, reference gradients, quadrature rules, faces and VTK node order."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

from fesolver.elements import (
    FACET_TYPES,
    HEX8,
    LINE2,
    LINE_TYPES,
    QUAD4,
    SOLID_TYPES,
    TET4,
    TET10,
    TRI3,
    TRI6,
    get_element,
)
from fesolver.elements.quadrature import gauss_hex, gauss_line, gauss_quad, tet_rule, tri_rule

ALL = [TET4, TET10, HEX8, TRI3, TRI6, QUAD4, LINE2]
SOLIDS = [TET4, TET10, HEX8]
QUADRATIC = [TET10, TRI6]
SIMPLEX = {"tet4", "tet10", "tri3", "tri6"}
ids = pytest.mark.parametrize("et", ALL, ids=lambda e: e.name)


# ------------------------------------------------------------------------------------------------
# reference cells
# ------------------------------------------------------------------------------------------------


def is_simplex(et) -> bool:
    return et.name in SIMPLEX


def random_ref_points(et, n=25, seed=0) -> np.ndarray:
    """Points strictly inside the reference cell of ``et``."""
    rng = np.random.default_rng(seed)
    if is_simplex(et):
        b = rng.dirichlet(np.ones(et.dim + 1), size=n)  # barycentric
        return b[:, 1:]
    return rng.uniform(-0.95, 0.95, size=(n, et.dim))


def ref_measure(et) -> float:
    return 1.0 / factorial(et.dim) if is_simplex(et) else 2.0**et.dim


def exact_monomial(et, powers) -> float:
    """Integral of prod x_i^p_i over the reference cell."""
    if is_simplex(et):
        # int_simplex x^a y^b z^c = a! b! c! / (a + b + c + dim)!
        return np.prod([factorial(p) for p in powers]) / factorial(sum(powers) + et.dim)
    return float(np.prod([0.0 if p % 2 else 2.0 / (p + 1) for p in powers]))


def monomials(dim, degree):
    for powers in itertools.product(range(degree + 1), repeat=dim):
        if sum(powers) <= degree:
            yield powers


def inside_ref_cell(et, pts, tol=1e-12) -> bool:
    if is_simplex(et):
        return bool(np.all(pts >= -tol) and np.all(pts.sum(axis=1) <= 1 + tol))
    return bool(np.all(np.abs(pts) <= 1 + tol))


# ------------------------------------------------------------------------------------------------
# shape functions
# ------------------------------------------------------------------------------------------------


@ids
def test_shapes_and_sizes(et):
    xi = random_ref_points(et)
    assert et.ref_nodes.shape == (et.n_nodes, et.dim)
    assert et.shape(xi).shape == (xi.shape[0], et.n_nodes)
    assert et.dshape(xi).shape == (xi.shape[0], et.n_nodes, et.dim)
    assert 0 < et.corner_nodes <= et.n_nodes
    # a single point given as a 1D array works too
    assert et.shape(xi[0]).shape == (1, et.n_nodes)


@ids
def test_partition_of_unity(et):
    xi = np.vstack([random_ref_points(et), et.ref_nodes])
    np.testing.assert_allclose(et.shape(xi).sum(axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(et.dshape(xi).sum(axis=1), 0.0, atol=1e-13)


@ids
def test_kronecker_delta_at_nodes(et):
    np.testing.assert_allclose(et.shape(et.ref_nodes), np.eye(et.n_nodes), atol=1e-14)


@ids
def test_gradients_match_central_differences(et):
    h = 1e-6
    xi = random_ref_points(et, n=10, seed=1)
    dN = et.dshape(xi)
    for d in range(et.dim):
        e = np.zeros(et.dim)
        e[d] = h
        fd = (et.shape(xi + e) - et.shape(xi - e)) / (2 * h)
        np.testing.assert_allclose(dN[:, :, d], fd, atol=1e-7, rtol=0)


@ids
def test_reproduces_linear_fields(et):
    rng = np.random.default_rng(2)
    xi = random_ref_points(et, seed=3)
    for _ in range(3):
        c, g = rng.normal(), rng.normal(size=et.dim)
        u_nodes = c + et.ref_nodes @ g
        np.testing.assert_allclose(et.shape(xi) @ u_nodes, c + xi @ g, atol=1e-13)
        np.testing.assert_allclose(np.einsum("pad,a->pd", et.dshape(xi), u_nodes), np.tile(g, (len(xi), 1)),
                                   atol=1e-13)


@ids
def test_linear_field_gradient_on_distorted_affine_element(et):
    """Isoparametric map x = A xi + b: the physical gradient of a linear field is exact."""
    rng = np.random.default_rng(4)
    A = np.eye(et.dim) + 0.3 * rng.normal(size=(et.dim, et.dim))
    assert np.linalg.det(A) > 0.1
    X = et.ref_nodes @ A.T + rng.normal(size=et.dim)
    g, c = rng.normal(size=et.dim), rng.normal()
    u = c + X @ g
    xi = random_ref_points(et, seed=5)
    dN = et.dshape(xi)
    J = np.einsum("ai,pad->pid", X, dN)  # dx_i / dxi_d
    np.testing.assert_allclose(J, np.broadcast_to(A, J.shape), atol=1e-12)
    grad_ref = np.einsum("pad,a->pd", dN, u)
    grad = np.linalg.solve(np.transpose(J, (0, 2, 1)), grad_ref[..., None])[..., 0]
    np.testing.assert_allclose(grad, np.tile(g, (len(xi), 1)), atol=1e-12)


@pytest.mark.parametrize("et", QUADRATIC, ids=lambda e: e.name)
def test_quadratic_elements_reproduce_quadratic_fields(et):
    rng = np.random.default_rng(6)
    xi = random_ref_points(et, seed=7)
    for _ in range(3):
        Q = rng.normal(size=(et.dim, et.dim))
        g, c = rng.normal(size=et.dim), rng.normal()

        def f(x, Q=Q, g=g, c=c):
            return np.einsum("pi,ij,pj->p", x, Q, x) + x @ g + c

        u = f(et.ref_nodes)
        np.testing.assert_allclose(et.shape(xi) @ u, f(xi), atol=1e-12)
        grad = np.einsum("pad,a->pd", et.dshape(xi), u)
        np.testing.assert_allclose(grad, xi @ (Q + Q.T) + g, atol=1e-12)


@pytest.mark.parametrize("et", [HEX8, QUAD4, LINE2], ids=lambda e: e.name)
def test_multilinear_elements_reproduce_multilinear_fields(et):
    """hex8 reproduces xyz, quad4 xy (the bilinear terms of the tensor-product space)."""
    xi = random_ref_points(et, seed=8)
    u = np.prod(et.ref_nodes, axis=1)
    np.testing.assert_allclose(et.shape(xi) @ u, np.prod(xi, axis=1), atol=1e-13)


# ------------------------------------------------------------------------------------------------
# quadrature
# ------------------------------------------------------------------------------------------------


def _check_rule(et, pts, w, degree):
    assert pts.shape == (w.size, et.dim)
    assert inside_ref_cell(et, pts), f"{et.name} degree {degree}: quadrature point outside the cell"
    assert np.all(w > 0), f"{et.name} degree {degree}: non-positive weight"
    np.testing.assert_allclose(w.sum(), ref_measure(et), rtol=1e-13)
    for powers in monomials(et.dim, degree):
        approx = np.sum(w * np.prod(pts ** np.array(powers), axis=1))
        exact = exact_monomial(et, powers)
        assert approx == pytest.approx(exact, rel=1e-11, abs=1e-14), (
            f"{et.name} rule of degree {degree} misses x^{powers}: {approx} != {exact}"
        )


@ids
@pytest.mark.parametrize("degree", range(0, 9))
def test_element_rules_are_exact_to_their_degree(et, degree):
    pts, w = et.rule(degree)
    _check_rule(et, pts, w, degree)


@ids
def test_default_rule_is_stiffness_degree(et):
    p0, w0 = et.rule()
    p1, w1 = et.rule(et.stiffness_degree)
    np.testing.assert_array_equal(p0, p1)
    np.testing.assert_array_equal(w0, w1)


@pytest.mark.parametrize("degree", [3, 4, 5, 6])
def test_collapsed_simplex_rules(degree):
    """The Stroud (collapsed Gauss-Jacobi) rules used beyond degree 2."""
    _check_rule(TRI3, *tri_rule(degree), degree)
    _check_rule(TET4, *tet_rule(degree), degree)
    # ((degree + 2) // 2)^dim points
    n = (degree + 2) // 2
    assert tri_rule(degree)[1].size == n**2
    assert tet_rule(degree)[1].size == n**3


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_gauss_tensor_rules(n):
    """n-point Gauss rules are exact to degree 2n - 1 in each variable."""
    _check_rule(LINE2, *gauss_line(n), 2 * n - 1)
    _check_rule(QUAD4, *gauss_quad(n), 2 * n - 1)
    _check_rule(HEX8, *gauss_hex(n), 2 * n - 1)
    # tensor rules integrate x^(2n-1) y^(2n-1) (total degree beyond 2n-1) exactly too
    pts, w = gauss_hex(n)
    p = 2 * n - 1
    assert np.sum(w * pts[:, 0] ** (p - 1) * pts[:, 1] ** (p - 1) * pts[:, 2] ** (p - 1)) == pytest.approx(
        (2.0 / p) ** 3
    )


@pytest.mark.parametrize("et", SOLIDS, ids=lambda e: e.name)
def test_stiffness_rule_integrates_gradient_products_exactly(et):
    """On an affine element the stiffness degree integrates dN_a . dN_b exactly (vs a high-order rule)."""
    def gram(pts, w):
        dN = et.dshape(pts)
        return np.einsum("q,qad,qbd->ab", w, dN, dN)

    np.testing.assert_allclose(gram(*et.rule()), gram(*et.rule(8)), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------------------------
# faces, node order
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("et", SOLIDS, ids=lambda e: e.name)
def test_face_lists_give_outward_normals(et):
    ft = get_element(et.face_type)
    X = et.ref_nodes
    centroid = X[: et.corner_nodes].mean(axis=0)
    covered = set()
    assert len(et.faces) == {4: 4, 8: 6}[et.corner_nodes]
    for face in et.faces:
        assert len(face) == ft.n_nodes
        covered.update(face)
        Xf = X[list(face)]
        fc = Xf[: ft.corner_nodes].mean(axis=0)
        # normal from the corner nodes (right-hand rule)
        if ft.corner_nodes == 3:
            n = np.cross(Xf[1] - Xf[0], Xf[2] - Xf[0])
        else:
            n = np.cross(Xf[2] - Xf[0], Xf[3] - Xf[1])
        assert np.dot(n, fc - centroid) > 0, f"{et.name} face {face}: normal points inwards"
        # the face is planar on the reference element and the normal is perpendicular to it
        np.testing.assert_allclose((Xf - fc) @ n, 0.0, atol=1e-14)
        # normal from the facet element's own parametrisation at its quadrature points (surface loads)
        fp, _ = ft.rule(2)
        dNf = ft.dshape(fp)
        t = np.einsum("ai,qad->qdi", Xf, dNf)
        nf = np.cross(t[:, 0], t[:, 1])
        assert np.all(nf @ (fc - centroid) > 0), f"{et.name} face {face}: facet-type normal points inwards"
        np.testing.assert_allclose(np.cross(nf, n), 0.0, atol=1e-13)
    assert covered == set(range(et.n_nodes)), "every node lies on a face"


@pytest.mark.parametrize("et", SOLIDS, ids=lambda e: e.name)
def test_face_nodes_are_consistent_with_facet_type(et):
    """Face node k sits where the facet type's node k maps to (so tri6 mid-nodes match face edges)."""
    ft = get_element(et.face_type)
    for face in et.faces:
        Xf = et.ref_nodes[list(face)]
        # map the facet's reference nodes through its *corner* (linear) interpolation
        lin = get_element("tri3" if ft.corner_nodes == 3 else "quad4")
        mapped = lin.shape(ft.ref_nodes) @ Xf[: ft.corner_nodes]
        np.testing.assert_allclose(mapped, Xf, atol=1e-14)


def test_vtk_node_order_tet():
    corners = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    np.testing.assert_array_equal(TET4.ref_nodes, corners)
    np.testing.assert_array_equal(TET10.ref_nodes[:4], corners)
    # VTK_QUADRATIC_TETRA mid-edge nodes: 01, 12, 20, 03, 13, 23
    for k, (a, b) in enumerate([(0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)]):
        np.testing.assert_allclose(TET10.ref_nodes[4 + k], (corners[a] + corners[b]) / 2)


def test_vtk_node_order_tri():
    corners = np.array([[0, 0], [1, 0], [0, 1]], dtype=float)
    np.testing.assert_array_equal(TRI3.ref_nodes, corners)
    np.testing.assert_array_equal(TRI6.ref_nodes[:3], corners)
    # VTK_QUADRATIC_TRIANGLE mid-edge nodes: 01, 12, 20
    for k, (a, b) in enumerate([(0, 1), (1, 2), (2, 0)]):
        np.testing.assert_allclose(TRI6.ref_nodes[3 + k], (corners[a] + corners[b]) / 2)


def test_vtk_node_order_hex_quad_line():
    # VTK_HEXAHEDRON: bottom face counter-clockwise seen from +z, then the top face above it
    np.testing.assert_array_equal(HEX8.ref_nodes[:4, 2], -1)
    np.testing.assert_array_equal(HEX8.ref_nodes[4:, 2], 1)
    np.testing.assert_array_equal(HEX8.ref_nodes[4:, :2], HEX8.ref_nodes[:4, :2])
    np.testing.assert_array_equal(QUAD4.ref_nodes, HEX8.ref_nodes[:4, :2])
    q = QUAD4.ref_nodes
    area2 = sum(q[i, 0] * q[(i + 1) % 4, 1] - q[(i + 1) % 4, 0] * q[i, 1] for i in range(4))
    assert area2 > 0  # counter-clockwise
    np.testing.assert_array_equal(LINE2.ref_nodes, [[-1.0], [1.0]])


@pytest.mark.parametrize("et", SOLIDS, ids=lambda e: e.name)
def test_reference_jacobian_positive(et):
    pts, _ = et.rule()
    xi = np.vstack([et.ref_nodes, pts])
    J = np.einsum("ai,pad->pid", et.ref_nodes, et.dshape(xi))
    np.testing.assert_allclose(J, np.broadcast_to(np.eye(3), J.shape), atol=1e-13)


def test_get_element_names():
    for et in ALL:
        assert get_element(et.name) is et
        assert get_element(et.meshio_type) is et
    assert {get_element(n).dim for n in SOLID_TYPES} == {3}
    assert {get_element(n).dim for n in FACET_TYPES} == {2}
    assert {get_element(n).dim for n in LINE_TYPES} == {1}
    for et in SOLIDS:
        assert get_element(et.face_type).meshio_type in FACET_TYPES
    with pytest.raises(KeyError, match="wedge"):
        get_element("wedge")
