"""Assembly of stiffness matrices and load vectors into a prebuilt CSR pattern.

The element loops are numba kernels (:mod:`fesolver.assembly._kernels`); this module checks inputs and
prepares the reference data (quadrature, shape-function gradients) they need.

>>> import numpy as np
>>> from fesolver.elements import TET4
>>> pts = np.array([[0., 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
>>> conn = np.array([[0, 1, 2, 3]])
>>> pat = SparsityPattern(4, [conn])
>>> K = assemble_stiffness(pat, pts, [(TET4, conn)], [np.array([1.0])], [np.array([1.0])])
>>> bool(abs(K - K.T).max() < 1e-14)
True
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..elements import ElementType
from ..materials._kernels import MIXTURE, MIXTURE_SLOTS, MOONEY_RIVLIN, OGDEN, POLYNOMIAL2, TRANS_ISO_MOONEY_RIVLIN
from . import _kernels as K
from .pattern import SparsityPattern, node_to_element

__all__ = [
    "SparsityPattern",
    "node_to_element",
    "FORMULATIONS",
    "stiffness_matrices",
    "assemble_stiffness",
    "strains_hex8_incompatible",
    "quadrature_points",
    "body_force_vector",
    "surface_load_vector",
    "element_dofs",
    "add_element_vectors",
    "finite_strain_response",
]


def _conn(conn) -> np.ndarray:
    return np.ascontiguousarray(conn, dtype=np.int64)


def _points(points) -> np.ndarray:
    p = np.ascontiguousarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"points must have shape (n, 3), got {p.shape}")
    return p


#: element formulations: ``full`` (isoparametric, full Gauss integration) or ``incompatible`` (hex8 only:
#: Wilson's incompatible modes with Taylor's correction, condensed per element; no shear locking in bending)
FORMULATIONS = ("full", "incompatible")


def _check_formulation(etype: ElementType, formulation: str) -> None:
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown element formulation {formulation!r}; allowed: {list(FORMULATIONS)}")
    if formulation == "incompatible" and etype.name != "hex8":
        raise ValueError(f"formulation 'incompatible' is for hex8 only, not {etype.name}; use 'full'")


def _hex8_reference(etype: ElementType):
    """Quadrature points, weights, gradients there and at the centre, for the incompatible-mode kernels."""
    xi, w = etype.rule()
    dN = np.ascontiguousarray(etype.dshape(xi))
    dN0 = np.ascontiguousarray(etype.dshape(np.zeros((1, 3)))[0])
    return np.ascontiguousarray(xi, dtype=np.float64), w, dN, dN0


def stiffness_matrices(points, etype: ElementType, conn, lam, mu, out=None, formulation: str = "full"):
    """Element stiffness matrices of a block of isotropic linear-elastic solids.

    Parameters
    ----------
    points : (nn, 3) float64, mm
    etype : ElementType
        A solid element type (tet4, tet10, hex8).
    conn : (nel, nen) int
    lam, mu : (nel,) float64, MPa
        Lamé constants per element.
    out : (nel, 3 nen, 3 nen) float64, optional
        Buffer reused between assemblies.
    formulation : {"full", "incompatible"}
        ``incompatible`` (hex8 only): incompatible modes, condensed (see
        :func:`~fesolver.assembly._kernels.stiffness_hex8_incompatible`).

    Returns
    -------
    Ke : (nel, 3 nen, 3 nen) float64, N/mm
    detmin : (nel,) float64
        Smallest Jacobian determinant at the quadrature points (<= 0: inverted element).
    """
    if etype.dim != 3:
        raise ValueError(f"stiffness needs a solid element, got {etype.name}")
    _check_formulation(etype, formulation)
    conn = _conn(conn)
    nel, nen = conn.shape
    if nen != etype.n_nodes:
        raise ValueError(f"{etype.name} needs {etype.n_nodes} nodes per element, conn has {nen}")
    xi, w = etype.rule()
    dN = np.ascontiguousarray(etype.dshape(xi))
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), (nel,)).copy()
    mu = np.broadcast_to(np.asarray(mu, dtype=np.float64), (nel,)).copy()
    if out is None:
        out = np.empty((nel, 3 * nen, 3 * nen))
    detmin = np.empty(nel)
    if formulation == "incompatible":
        xi, w, dN, dN0 = _hex8_reference(etype)
        K.stiffness_hex8_incompatible(_points(points), conn, dN, xi, w, dN0, lam, mu, out, detmin)
    else:
        K.stiffness_linear_isotropic(_points(points), conn, dN, w, lam, mu, out, detmin)
    return out, detmin


def strains_hex8_incompatible(points, etype: ElementType, conn, xi_at, u, lam, mu) -> np.ndarray:
    """Enhanced strains ``(nel, npt, 6)`` (XX YY ZZ XY YZ XZ, tensor shear) of incompatible-mode hex8
    elements at reference points ``xi_at (npt, 3)``, for nodal displacements ``u (nn, 3)`` [mm].

    The condensed internal parameters are recovered element by element (they depend on ``lam, mu``).
    """
    _check_formulation(etype, "incompatible")
    conn = _conn(conn)
    nel = conn.shape[0]
    xi_at = np.ascontiguousarray(np.atleast_2d(xi_at), dtype=np.float64)
    xi, w, dN, dN0 = _hex8_reference(etype)
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), (nel,)).copy()
    mu = np.broadcast_to(np.asarray(mu, dtype=np.float64), (nel,)).copy()
    u = np.ascontiguousarray(u, dtype=np.float64).reshape(-1, 3)
    out = np.empty((nel, xi_at.shape[0], 6))
    K.strains_hex8_incompatible_at_points(_points(points), conn, dN, xi, w, dN0,
                                          np.ascontiguousarray(etype.dshape(xi_at)), xi_at, u, lam, mu, out)
    return out


def _assemble_colored(pattern, k, points, etype, conn, lam, mu, colouring, data):
    conn = _conn(conn)
    nel = conn.shape[0]
    xi, w = etype.rule()
    dN = np.ascontiguousarray(etype.dshape(xi))
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), (nel,)).copy()
    mu = np.broadcast_to(np.asarray(mu, dtype=np.float64), (nel,)).copy()
    detmin = np.empty(nel)
    ptr, elems = colouring
    K.assemble_isotropic_colored(_points(points), conn, dN, w, lam, mu, ptr, elems, pattern.blocks[k].slot,
                                 pattern.row_starts, data, detmin)
    return detmin


def _check_detmin(k, etype, detmin):
    bad = np.flatnonzero(detmin <= 0.0)
    if bad.size:
        raise ValueError(
            f"block {k} ({etype.name}): non-positive Jacobian in elements {bad[:10].tolist()}"
            + (" ..." if bad.size > 10 else "")
        )


def assemble_stiffness(pattern: SparsityPattern, points, blocks, lam, mu, buffers=None,
                       formulations=None, data=None) -> sp.csr_matrix:
    """Global stiffness matrix [N/mm] on ``pattern``.

    ``blocks`` is a list of ``(ElementType, conn)`` in the order the pattern was built with; ``lam`` and
    ``mu`` are lists of per-element Lamé constants [MPa], one array per block. ``buffers`` (a list, one
    element-matrix array per block, or ``None``) is reused across calls when given. ``formulations`` (a
    list, one of :data:`FORMULATIONS` per block, or ``None`` for ``full`` everywhere) picks each block's
    element formulation. ``data`` (a float64 array of ``pattern.nnz``) is zeroed and refilled in place when
    given -- the returned matrix then shares it -- so that repeated assemblies allocate nothing.
    """
    if data is None:
        data = pattern.zeros()
    else:
        if data.shape != (pattern.nnz,) or data.dtype != np.float64:
            raise ValueError(f"data must be a float64 array of {pattern.nnz} entries, got {data.dtype} {data.shape}")
        data.fill(0.0)
    for k, (etype, conn) in enumerate(blocks):
        buf = None if buffers is None else buffers[k]
        form = "full" if formulations is None else formulations[k]
        colouring = pattern.colouring(k) if (buf is None and form == "full") else None
        if colouring is not None:
            # compute and scatter in one pass, colour by colour: no element-matrix buffer
            detmin = _assemble_colored(pattern, k, points, etype, conn, lam[k], mu[k], colouring, data)
            _check_detmin(k, etype, detmin)
            continue
        Ke, detmin = stiffness_matrices(points, etype, conn, lam[k], mu[k], out=buf, formulation=form)
        _check_detmin(k, etype, detmin)
        pattern.add_element_matrices(k, Ke, data)
    return pattern.matrix(data)


def quadrature_points(points, etype: ElementType, conn, degree: int | None = None):
    """Physical quadrature points and weights of a block.

    Returns ``x (nel, nq, 3)`` [mm] and ``wdet (nel, nq)`` (weight times Jacobian determinant, so that
    ``sum(f(x) * wdet)`` integrates ``f`` over the block; for facets the surface Jacobian).
    """
    p = _points(points)
    conn = _conn(conn)
    xi, w = etype.rule(degree)
    N = etype.shape(xi)
    dN = etype.dshape(xi)
    X = p[conn]  # (nel, nen, 3)
    x = np.einsum("qa,eai->eqi", N, X)
    G = np.einsum("qaj,eai->eqij", dN, X)  # dx/dxi
    if etype.dim == 3:
        det = np.linalg.det(G)
    elif etype.dim == 2:
        det = np.linalg.norm(np.cross(G[..., 0], G[..., 1]), axis=-1)
    else:
        det = np.linalg.norm(G[..., 0], axis=-1)
    return x, det * w


def element_dofs(conn) -> np.ndarray:
    """DOF numbers ``(nel, 3 nen)`` of the elements, ordered ``3 * node + component``."""
    conn = _conn(conn)
    return (3 * conn[:, :, None] + np.arange(3)).reshape(conn.shape[0], -1)


def add_element_vectors(fe: np.ndarray, conn, n_dofs: int) -> np.ndarray:
    """Sum element vectors ``fe (nel, 3 nen)`` into a global vector of length ``n_dofs``."""
    return np.bincount(element_dofs(conn).ravel(), weights=fe.ravel(), minlength=n_dofs)


def body_force_vector(points, etype: ElementType, conn, b, degree: int | None = None) -> np.ndarray:
    """Consistent nodal force vector (3 nn,) [N] of a body force ``b`` [N/mm^3].

    ``b`` is a constant ``(3,)`` vector or values ``(nel, nq, 3)`` at the points of ``etype.rule(degree)``
    (get them from :func:`quadrature_points`).
    """
    p = _points(points)
    conn = _conn(conn)
    xi, w = etype.rule(degree)
    N = np.ascontiguousarray(etype.shape(xi))
    dN = np.ascontiguousarray(etype.dshape(xi))
    b = np.ascontiguousarray(np.broadcast_to(np.asarray(b, dtype=np.float64), (conn.shape[0], w.size, 3)))
    fe = np.empty((conn.shape[0], 3 * etype.n_nodes))
    K.body_force_vectors(p, conn, N, dN, w, b, fe)
    return add_element_vectors(fe, conn, p.size)


def surface_load_vector(points, ftype: ElementType, conn, pressure=0.0, traction=(0.0, 0.0, 0.0),
                        degree: int | None = None) -> np.ndarray:
    """Consistent nodal force vector (3 nn,) [N] of a pressure and/or traction on facets.

    ``pressure`` [MPa] acts against the facet normal (right-hand rule on the node order; outward for the
    facets fesolver orients), scalar or ``(nf, nq)``; ``traction`` [MPa] is a force per area, ``(3,)`` or
    ``(nf, nq, 3)``.
    """
    if ftype.dim != 2:
        raise ValueError(f"surface loads need facets (tri3, tri6, quad4), got {ftype.name}")
    p = _points(points)
    conn = _conn(conn)
    xi, w = ftype.rule(degree)
    N = np.ascontiguousarray(ftype.shape(xi))
    dN = np.ascontiguousarray(ftype.dshape(xi))
    nf = conn.shape[0]
    pr = np.ascontiguousarray(np.broadcast_to(np.asarray(pressure, dtype=np.float64), (nf, w.size)))
    tr = np.ascontiguousarray(np.broadcast_to(np.asarray(traction, dtype=np.float64), (nf, w.size, 3)))
    fe = np.empty((nf, 3 * ftype.n_nodes))
    K.surface_load_vectors(p, conn, N, dN, w, pr, tr, fe)
    return add_element_vectors(fe, conn, p.size)


def finite_strain_response(points, etype: ElementType, conn, u, model, params, fibres=None,
                           want_tangent: bool = True, fe=None, Ke=None, formulation: str = "standard",
                           pressure=None):
    """Total-Lagrangian internal forces, tangents and energies of a block of solids.

    Parameters
    ----------
    points : (nn, 3) float64, mm (reference configuration)
    etype : ElementType (tet4, tet10, hex8; full integration)
    conn : (nel, nen) int
    u : (nn, 3) float64, mm
    model : int or (nel,) int
        Material id(s) of :mod:`fesolver.materials._kernels`.
    params : (npar,) or (nel, npar) float64
        Material parameters (MPa).
    fibres : (3,) or (nel, 3) float64, optional
        Unit fibre direction in the reference configuration (fibre models only).
    want_tangent : bool
    fe, Ke : optional output buffers ``(nel, 3 nen)`` and ``(nel, 3 nen, 3 nen)``.
    formulation : {"standard", "mean_dilatation"}
        ``standard``: displacement-only, full integration. ``mean_dilatation``: three-field Q1/P0 (hex8),
        P2/P0 (tet10) element of Simo, Taylor & Pister (1985) with the pressure constant per element
        (:func:`~fesolver.assembly._kernels_tl.residual_tangent_tl_mean_dilatation`); free of volumetric
        locking, for the uncoupled materials only (Mooney-Rivlin, polynomial, Ogden, trans-iso
        Mooney-Rivlin; model ids 2-5).
    pressure : (nel,) float64, optional
        ``mean_dilatation`` only: receives the element pressure ``p = U'(theta)`` [MPa].

    Returns
    -------
    fe : (nel, 3 nen) N; Ke : (nel, 3 nen, 3 nen) N/mm or None; energy : (nel,) N mm;
    jmin : (nel,) smallest det F at the quadrature points (<= 0: inverted; ``mean_dilatation``: also the
    element dilatation).

    Raises
    ------
    ValueError
        Unknown ``formulation``, or ``mean_dilatation`` with a coupled material (models 0, 1, 6).
    """
    from . import _kernels_tl as KT

    if formulation not in FINITE_STRAIN_FORMULATIONS:
        raise ValueError(f"unknown finite-strain formulation {formulation!r}; allowed: "
                         f"{list(FINITE_STRAIN_FORMULATIONS)}")
    conn = _conn(conn)
    nel, nen = conn.shape
    xi, w = etype.rule()
    dN = np.ascontiguousarray(etype.dshape(xi))
    params = np.ascontiguousarray(np.broadcast_to(np.atleast_1d(np.asarray(params, dtype=np.float64)),
                                                  (nel, np.atleast_1d(params).shape[-1])))
    if fibres is None:
        fibres = (1.0, 0.0, 0.0)
    fibres = np.ascontiguousarray(np.broadcast_to(np.asarray(fibres, dtype=np.float64), (nel, 3)))
    if fe is None:
        fe = np.empty((nel, 3 * nen))
    if Ke is None:
        Ke = np.empty((nel, 3 * nen, 3 * nen)) if want_tangent else np.empty((1, 1, 1))
    energy = np.empty(nel)
    jmin = np.empty(nel)
    u = np.ascontiguousarray(u, dtype=np.float64).reshape(-1, 3)
    models = np.ascontiguousarray(np.broadcast_to(np.asarray(model, dtype=np.int64), (nel,)))
    if formulation == "mean_dilatation":
        check_uncoupled(models, params)
        if pressure is None:
            pressure = np.empty(nel)
        theta = np.empty(nel)
        KT.residual_tangent_tl_mean_dilatation(_points(points), conn, dN, w, u, models, params, fibres,
                                               bool(want_tangent), fe, Ke, energy, jmin, pressure, theta)
    else:
        KT.residual_tangent_tl(_points(points), conn, dN, w, u, models, params, fibres, bool(want_tangent),
                               fe, Ke, energy, jmin)
    return fe, (Ke if want_tangent else None), energy, jmin


#: finite-strain element formulations of :func:`finite_strain_response`
FINITE_STRAIN_FORMULATIONS = ("standard", "mean_dilatation")

#: material model ids with an uncoupled energy W_iso(C~) + U(J), allowed with ``mean_dilatation``
UNCOUPLED_MODELS = (MOONEY_RIVLIN, POLYNOMIAL2, OGDEN, TRANS_ISO_MOONEY_RIVLIN)

_MODEL_NAMES = ("St Venant-Kirchhoff", "neo-Hookean", "Mooney-Rivlin", "polynomial2", "Ogden",
                "trans-iso Mooney-Rivlin", "fibre neo-Hookean", "hyperfoam", "mixture")


def is_uncoupled(material) -> bool:
    """True for a material whose energy splits into isochoric and volumetric parts: its model id is in
    :data:`UNCOUPLED_MODELS`, or it is a mixture (model 8) of two such materials."""
    mid = getattr(material, "model_id", None)
    if mid == MIXTURE:
        return all(is_uncoupled(c) for c in material.constituents)
    return mid in UNCOUPLED_MODELS


def coupled_material_message(what: str) -> str:
    """The advice given when a coupled material meets the mean-dilatation formulation."""
    return (f"{what} is a coupled material (its energy does not split into isochoric and volumetric parts), "
            f"so the 'mean_dilatation' formulation cannot be used with it; use the uncoupled Mooney-Rivlin "
            f"instead (MooneyRivlin(c1=mu/2, c2=0, k=bulk modulus) is the uncoupled neo-Hookean), or the "
            f"'standard' formulation")


def check_uncoupled(models, params=None) -> None:
    """Raise ``ValueError`` unless every model id in ``models`` is uncoupled (:data:`UNCOUPLED_MODELS`), or a
    mixture (model 8) of two uncoupled models (read from ``params (nel, npar)``)."""
    models = np.asarray(models)
    ok = np.isin(models, UNCOUPLED_MODELS)
    mix = np.flatnonzero(models == MIXTURE)
    if mix.size and params is not None:
        p = np.asarray(params)
        p = np.broadcast_to(p, (models.size, p.shape[-1]))[mix]
        ok[mix] = np.isin(p[:, 1], UNCOUPLED_MODELS) & np.isin(p[:, 2 + MIXTURE_SLOTS], UNCOUPLED_MODELS)
    bad = np.flatnonzero(~ok)
    if bad.size:
        m = int(models[bad[0]])
        name = _MODEL_NAMES[m] if 0 <= m < len(_MODEL_NAMES) else f"unknown model {m}"
        raise ValueError(coupled_material_message(f"element {int(bad[0])}: material model {m} ({name})"))


def mean_dilatation_pressure(points, etype: ElementType, conn, u, model, params):
    """Element pressure [MPa] and dilatation of a block of mean-dilatation elements.

    ``p = U'(theta)`` with ``theta = v_e / V_e`` (current over reference element volume); see
    :func:`finite_strain_response`. Returns ``(pressure (nel,), theta (nel,))``.
    """
    from . import _kernels_tl as KT

    conn = _conn(conn)
    nel = conn.shape[0]
    models = np.ascontiguousarray(np.broadcast_to(np.asarray(model, dtype=np.int64), (nel,)))
    xi, w = etype.rule()
    dN = np.ascontiguousarray(etype.dshape(xi))
    params = np.ascontiguousarray(np.broadcast_to(np.atleast_1d(np.asarray(params, dtype=np.float64)),
                                                  (nel, np.atleast_1d(params).shape[-1])))
    check_uncoupled(models, params)
    u = np.ascontiguousarray(u, dtype=np.float64).reshape(-1, 3)
    pressure = np.empty(nel)
    theta = np.empty(nel)
    KT.mean_dilatation_pressure(_points(points), conn, dN, w, u, models, params, pressure, theta)
    return pressure, theta


def isochoric_params(models, params) -> np.ndarray:
    """Copy of ``params (nel, npar)`` with the volumetric term of each uncoupled model switched off.

    With these parameters :func:`fesolver.materials._kernels.pk2_and_tangent` gives the isochoric stress and
    tangent (as :func:`fesolver.assembly._kernels_tl._isochoric_params` does inside the kernels): ``k = 0``
    (Mooney-Rivlin, trans-iso Mooney-Rivlin), ``K = 0`` (Ogden), ``D1 = inf, D2 = 0`` (polynomial).
    """
    from ..materials import _kernels as MK

    models = np.asarray(models)
    out = np.array(params, dtype=np.float64, copy=True)

    def switch_off(rows, mids, k0):
        out[rows[np.isin(mids, (MK.MOONEY_RIVLIN, MK.TRANS_ISO_MOONEY_RIVLIN))], k0 + 2] = 0.0
        out[rows[mids == MK.OGDEN], k0 + 7] = 0.0
        poly = rows[mids == MK.POLYNOMIAL2]
        out[poly, k0 + 5] = np.inf
        out[poly, k0 + 6] = 0.0

    single = np.flatnonzero(models != MK.MIXTURE)
    switch_off(single, models[single], 0)
    mix = np.flatnonzero(models == MK.MIXTURE)  # a mixture: both constituents' volumetric terms
    if mix.size:
        n = MK.MIXTURE_SLOTS
        switch_off(mix, out[mix, 1].astype(np.int64), 2)
        switch_off(mix, out[mix, 2 + n].astype(np.int64), 3 + n)
    return out
