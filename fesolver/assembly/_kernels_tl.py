"""Compiled kernels of the total-Lagrangian finite-strain solid: residual and consistent tangent.

Conventions as in :mod:`fesolver.assembly._kernels`. The material law is evaluated by
:func:`fesolver.materials._kernels.pk2_and_tangent` (second Piola-Kirchhoff stress and material tangent in
Voigt order 11 22 33 12 23 13, engineering shear).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..materials._kernels import (
    MIXTURE,
    MIXTURE_SLOTS,
    MOONEY_RIVLIN,
    OGDEN,
    POLYNOMIAL2,
    TRANS_ISO_MOONEY_RIVLIN,
    pk2_and_tangent,
)
from ._kernels import _jacobian_inverse, _physical_gradients


@njit(cache=True, inline="always")
def _deformation_gradient(conn_e, u, dNX, F):
    for i in range(3):
        for k in range(3):
            F[i, k] = 1.0 if i == k else 0.0
    for a in range(conn_e.shape[0]):
        n = conn_e[a]
        for i in range(3):
            ui = u[n, i]
            for k in range(3):
                F[i, k] += ui * dNX[a, k]


@njit(cache=True, inline="always")
def _det3(F):
    return (F[0, 0] * (F[1, 1] * F[2, 2] - F[1, 2] * F[2, 1])
            - F[0, 1] * (F[1, 0] * F[2, 2] - F[1, 2] * F[2, 0])
            + F[0, 2] * (F[1, 0] * F[2, 1] - F[1, 1] * F[2, 0]))


@njit(cache=True, inline="always")
def _strain_variation(F, dNX, B):
    """``B[a] (6 x 3)``: variation of the Green-Lagrange strain (Voigt, engineering shear) per node."""
    for a in range(dNX.shape[0]):
        g0 = dNX[a, 0]
        g1 = dNX[a, 1]
        g2 = dNX[a, 2]
        for i in range(3):
            B[a, 0, i] = F[i, 0] * g0
            B[a, 1, i] = F[i, 1] * g1
            B[a, 2, i] = F[i, 2] * g2
            B[a, 3, i] = F[i, 0] * g1 + F[i, 1] * g0
            B[a, 4, i] = F[i, 1] * g2 + F[i, 2] * g1
            B[a, 5, i] = F[i, 0] * g2 + F[i, 2] * g0


@njit(cache=True, inline="always")
def _add_material_geometric(B, D, S, dNX, wd, K, DB):
    """``K[ai, bj] += wd (B_a^T D B_b + delta_ij dN_a . S dN_b)`` at one quadrature point."""
    nen = dNX.shape[0]
    for b in range(nen):
        for m in range(6):
            for j in range(3):
                s = 0.0
                for n in range(6):
                    s += D[m, n] * B[b, n, j]
                DB[m, j] = s
        for a in range(nen):
            geo = 0.0
            for k in range(3):
                geo += dNX[a, k] * (S[k, 0] * dNX[b, 0] + S[k, 1] * dNX[b, 1] + S[k, 2] * dNX[b, 2])
            for i in range(3):
                for j in range(3):
                    s = 0.0
                    for m in range(6):
                        s += B[a, m, i] * DB[m, j]
                    if i == j:
                        s += geo
                    K[3 * a + i, 3 * b + j] += wd * s


@njit(cache=True, parallel=True)
def residual_tangent_tl(points, conn, dN_ref, wq, u, models, params, fibres, want_tangent,
                        fe, Ke, energy, jmin):
    r"""Internal forces, tangent stiffness and strain energy of a block of finite-strain solids.

    With reference gradients :math:`N_{a,K}`, :math:`F = I + \sum_a u_a \otimes \nabla_X N_a`,
    :math:`C = F^T F`, the material law giving :math:`S(C)` and :math:`\mathbb D = \partial S / \partial E`:

    .. math::
        f^e_{ai} = \int_{\Omega_0} F_{iK} S_{KL} N_{a,L}\, dV, \qquad
        K^e_{ai,bj} = \int_{\Omega_0} B_{a,\alpha i}\, \mathbb D_{\alpha\beta}\, B_{b,\beta j}
                      + \delta_{ij}\, N_{a,K} S_{KL} N_{b,L}\, dV

    with :math:`B_a` the 6x3 variation of the Green-Lagrange strain in Voigt form (engineering shear).

    Parameters
    ----------
    points : (nn, 3) reference coordinates [mm]
    conn : (nel, nen) int64
    dN_ref, wq : reference gradients at the quadrature points, weights
    u : (nn, 3) displacement [mm]
    models : (nel,) int64, material id per element (see :mod:`fesolver.materials._kernels`)
    params : (nel, npar) float64, material parameters per element
    fibres : (nel, 3) float64, unit fibre direction per element in the reference configuration
    want_tangent : bool
    fe : (nel, 3 nen) out, internal forces [N]
    Ke : (nel, 3 nen, 3 nen) out (untouched unless ``want_tangent``) [N/mm]
    energy : (nel,) out, strain energy [mJ = N mm]
    jmin : (nel,) out, smallest det F at the quadrature points (<= 0: element inverted)
    """
    nel, nen = conn.shape
    nq = wq.shape[0]
    for e in prange(nel):
        Jinv = np.empty((3, 3))
        dNX = np.empty((nen, 3))
        F = np.empty((3, 3))
        C = np.empty((3, 3))
        S = np.empty((3, 3))
        D = np.empty((6, 6))
        B = np.empty((nen, 6, 3))
        DB = np.empty((6, 3))
        a0 = fibres[e]
        pe = params[e]
        for k in range(3 * nen):
            fe[e, k] = 0.0
        if want_tangent:
            Ke[e, :, :] = 0.0
        energy[e] = 0.0
        jm = np.inf
        for q in range(nq):
            det0 = _jacobian_inverse(points, conn[e], dN_ref[q], Jinv)
            _physical_gradients(dN_ref[q], Jinv, dNX)
            _deformation_gradient(conn[e], u, dNX, F)
            J = _det3(F)
            if J < jm:
                jm = J
            if J <= 0.0:
                continue
            for i in range(3):
                for k in range(3):
                    C[i, k] = F[0, i] * F[0, k] + F[1, i] * F[1, k] + F[2, i] * F[2, k]
            W = pk2_and_tangent(models[e], pe, C, a0, S, D)
            wd = wq[q] * det0
            energy[e] += wd * W
            # internal force: P = F S, f_ai = P_iL N_a,L
            for a in range(nen):
                for i in range(3):
                    s = 0.0
                    for K in range(3):
                        PiK = F[i, 0] * S[0, K] + F[i, 1] * S[1, K] + F[i, 2] * S[2, K]
                        s += PiK * dNX[a, K]
                    fe[e, 3 * a + i] += wd * s
            if not want_tangent:
                continue
            _strain_variation(F, dNX, B)
            _add_material_geometric(B, D, S, dNX, wd, Ke[e], DB)
        jmin[e] = jm


@njit(cache=True, parallel=True)
def deformation_at_points(points, conn, dN_at, u, Fout):
    """Deformation gradients ``Fout (nel, npt, 3, 3)`` at reference points with gradients ``dN_at``."""
    nel, nen = conn.shape
    npt = dN_at.shape[0]
    for e in prange(nel):
        Jinv = np.empty((3, 3))
        dNX = np.empty((nen, 3))
        F = np.empty((3, 3))
        for p in range(npt):
            _jacobian_inverse(points, conn[e], dN_at[p], Jinv)
            _physical_gradients(dN_at[p], Jinv, dNX)
            _deformation_gradient(conn[e], u, dNX, F)
            Fout[e, p] = F


# ----------------------------------------------------------------------------------------------
# Mean-dilatation (three-field, Q1/P0 and P2/P0) formulation for uncoupled materials
# ----------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _isochoric_single(model, piso, k0):
    """Switch off the volumetric term of the single model whose parameters start at ``piso[k0]``."""
    if model == MOONEY_RIVLIN or model == TRANS_ISO_MOONEY_RIVLIN:
        piso[k0 + 2] = 0.0
    elif model == POLYNOMIAL2:
        piso[k0 + 5] = np.inf
        piso[k0 + 6] = 0.0
    elif model == OGDEN:
        piso[k0 + 7] = 0.0


@njit(cache=True, inline="always")
def _isochoric_params(model, pe, piso):
    """Copy ``pe`` to ``piso`` with the volumetric term of an uncoupled model switched off.

    With these parameters :func:`~fesolver.materials._kernels.pk2_and_tangent` returns exactly the isochoric
    energy, stress and tangent: its volumetric derivatives ``Wy[2]``, ``Wyy[2, 2]`` are proportional to
    ``k`` (Mooney-Rivlin, trans-iso Mooney-Rivlin), ``K`` (Ogden) or ``1 / D1``, ``1 / D2`` (polynomial,
    whose ``D2 = 0`` omits the quartic term). A mixture (model 8) switches off both constituents' terms.
    """
    for i in range(pe.shape[0]):
        piso[i] = pe[i]
    if model == MIXTURE:
        _isochoric_single(int(pe[1]), piso, 2)
        _isochoric_single(int(pe[2 + MIXTURE_SLOTS]), piso, 3 + MIXTURE_SLOTS)
    else:
        _isochoric_single(model, piso, 0)


@njit(cache=True, inline="always")
def _volumetric_single(model, pe, k0, theta):
    r""":math:`(U, U', U'')(\theta)` of the single uncoupled model whose parameters start at ``pe[k0]``."""
    if model == POLYNOMIAL2:
        D1 = pe[k0 + 5]
        D2 = pe[k0 + 6]
        d = theta - 1.0
        U = d * d / D1
        dU = 2.0 * d / D1
        ddU = 2.0 / D1
        if D2 > 0.0:
            U += d**4 / D2
            dU += 4.0 * d**3 / D2
            ddU += 12.0 * d * d / D2
        return U, dU, ddU
    k = pe[k0 + 7] if model == OGDEN else pe[k0 + 2]
    lt = math.log(theta)
    return 0.5 * k * lt * lt, k * lt / theta, k * (1.0 - lt) / (theta * theta)


@njit(cache=True, inline="always")
def _volumetric(model, pe, theta):
    r"""Volumetric energy of an uncoupled model and its first two derivatives, :math:`(U, U', U'')(\theta)`;
    a mixture's is the weighted sum of its constituents'."""
    if model == MIXTURE:
        w = pe[0]
        Ua, dUa, ddUa = _volumetric_single(int(pe[1]), pe, 2, theta)
        Ub, dUb, ddUb = _volumetric_single(int(pe[2 + MIXTURE_SLOTS]), pe, 3 + MIXTURE_SLOTS, theta)
        return ((1.0 - w) * Ua + w * Ub, (1.0 - w) * dUa + w * dUb, (1.0 - w) * ddUa + w * ddUb)
    return _volumetric_single(model, pe, 0, theta)


@njit(cache=True, inline="always")
def _cofactor(F, cof):
    """``cof = det(F) F^-T`` (the derivative of det F with respect to F)."""
    cof[0, 0] = F[1, 1] * F[2, 2] - F[1, 2] * F[2, 1]
    cof[0, 1] = F[1, 2] * F[2, 0] - F[1, 0] * F[2, 2]
    cof[0, 2] = F[1, 0] * F[2, 1] - F[1, 1] * F[2, 0]
    cof[1, 0] = F[0, 2] * F[2, 1] - F[0, 1] * F[2, 2]
    cof[1, 1] = F[0, 0] * F[2, 2] - F[0, 2] * F[2, 0]
    cof[1, 2] = F[0, 1] * F[2, 0] - F[0, 0] * F[2, 1]
    cof[2, 0] = F[0, 1] * F[1, 2] - F[0, 2] * F[1, 1]
    cof[2, 1] = F[0, 2] * F[1, 0] - F[0, 0] * F[1, 2]
    cof[2, 2] = F[0, 0] * F[1, 1] - F[0, 1] * F[1, 0]


@njit(cache=True, inline="always")
def _element_dilatation(points, conn_e, dN_ref, wq, u, Jinv, dNX, F):
    """``(V_e, v_e, min det F)``: reference and current volume of one element by its quadrature rule."""
    V = 0.0
    v = 0.0
    jm = np.inf
    for q in range(wq.shape[0]):
        det0 = _jacobian_inverse(points, conn_e, dN_ref[q], Jinv)
        _physical_gradients(dN_ref[q], Jinv, dNX)
        _deformation_gradient(conn_e, u, dNX, F)
        J = _det3(F)
        wd = wq[q] * det0
        V += wd
        v += wd * J
        if J < jm:
            jm = J
    return V, v, jm


@njit(cache=True, parallel=True)
def residual_tangent_tl_mean_dilatation(points, conn, dN_ref, wq, u, models, params, fibres, want_tangent,
                                        fe, Ke, energy, jmin, pressure, theta):
    r"""Internal forces, tangent and energy of a block of mean-dilatation (three-field) finite-strain solids.

    For an uncoupled material :math:`W(\mathbf C) = W_{iso}(\bar{\mathbf C}) + U(J)`,
    :math:`\bar{\mathbf C} = J^{-2/3}\mathbf C`, the Hu-Washizu functional of Simo, Taylor & Pister (1985,
    CMAME 51:177) with a dilatation :math:`\theta` and a pressure :math:`p` constant per element,

    .. math::
        \Pi_e(\mathbf u, \theta, p) = \int_{\Omega_e} W_{iso}(\bar{\mathbf C})\, dV + V_e\, U(\theta)
                                      + p\,(v_e - \theta V_e),

    is stationary in :math:`\theta` and :math:`p` for :math:`\theta = v_e / V_e` (current over reference
    element volume, :math:`v_e = \int_{\Omega_e} J\,dV`) and :math:`p = U'(\theta)`. Eliminating them leaves a
    displacement-only energy :math:`\Pi_e(\mathbf u) = \int W_{iso}\,dV + V_e\,U(v_e(\mathbf u)/V_e)`: Q1/P0
    for hex8, P2/P0 for tet10 (FEBio's treatment of uncoupled materials on hex8; for tet4 it equals the
    standard element). With :math:`\partial v_e/\partial u_{ai} = g_{ai}`,

    .. math::
        g_{ai} = \int_{\Omega_0} J\, \frac{\partial N_a}{\partial x_i}\, dV
               = \int_{\Omega_0} N_{a,K}\, \operatorname{cof}(\mathbf F)_{iK}\, dV,

        f^e_{ai} = \int_{\Omega_0} F_{iK} S^{iso}_{KL} N_{a,L}\, dV + p\, g_{ai},

        K^e_{ai,bj} = K^{iso}_{ai,bj} + p \int_{\Omega_0} J\,\bigl(\tfrac{\partial N_a}{\partial x_i}
                      \tfrac{\partial N_b}{\partial x_j} - \tfrac{\partial N_a}{\partial x_j}
                      \tfrac{\partial N_b}{\partial x_i}\bigr)\, dV
                      + \frac{U''(\theta)}{V_e}\, g_{ai}\, g_{bj},

        E_e = \int_{\Omega_0} W_{iso}\, dV + V_e\, U(\theta),

    where :math:`K^{iso}` is the tangent of :func:`residual_tangent_tl` for the isochoric stress
    :math:`\mathbf S^{iso}` and tangent (the material's parameters with its bulk term switched off,
    :func:`_isochoric_params`), and the middle term is :math:`p\,\partial^2 v_e/\partial u\,\partial u`
    (:math:`\partial^2 J/\partial F_{iK}\partial F_{jL} = J(F^{-1}_{Ki}F^{-1}_{Lj} - F^{-1}_{Kj}F^{-1}_{Li})`).
    All integrals use the element's quadrature rule, so :math:`\mathbf f^e = \partial E_e/\partial\mathbf u`
    and :math:`K^e = \partial\mathbf f^e/\partial\mathbf u` hold exactly for the discrete energy; :math:`K^e`
    is symmetric. Volumetric energies: :math:`U = \tfrac{k}{2}(\ln\theta)^2` (Mooney-Rivlin, trans-iso
    Mooney-Rivlin: ``k``; Ogden: ``K``), :math:`U = \sum_{i=1}^{2}(\theta - 1)^{2i}/D_i` (polynomial). The
    Cauchy stress is :math:`\boldsymbol\sigma = J^{-1}\mathbf F\mathbf S^{iso}\mathbf F^T + p\,\mathbf I`.

    Only the uncoupled models 2, 3, 4 and 5 are allowed; the wrapper
    :func:`fesolver.assembly.finite_strain_response` checks.

    Parameters
    ----------
    as :func:`residual_tangent_tl`, plus
    pressure : (nel,) out, element pressure :math:`p = U'(\theta)` [MPa] (NaN if :math:`\theta \le 0`)
    theta : (nel,) out, element dilatation :math:`\theta = v_e / V_e`

    ``jmin`` receives the smaller of the smallest det F at the quadrature points and :math:`\theta`.
    """
    nel, nen = conn.shape
    nq = wq.shape[0]
    npar = params.shape[1]
    for e in prange(nel):
        Jinv = np.empty((3, 3))
        dNX = np.empty((nen, 3))
        F = np.empty((3, 3))
        cof = np.empty((3, 3))
        C = np.empty((3, 3))
        S = np.empty((3, 3))
        D = np.empty((6, 6))
        B = np.empty((nen, 6, 3))
        DB = np.empty((6, 3))
        jg = np.empty((nen, 3))
        g = np.zeros((nen, 3))
        piso = np.empty(npar)
        a0 = fibres[e]
        model = models[e]
        _isochoric_params(model, params[e], piso)
        for k in range(3 * nen):
            fe[e, k] = 0.0
        if want_tangent:
            Ke[e, :, :] = 0.0
        V, v, jm = _element_dilatation(points, conn[e], dN_ref, wq, u, Jinv, dNX, F)
        th = v / V
        theta[e] = th
        jmin[e] = min(jm, th)
        if not (th > 0.0):
            pressure[e] = np.nan
            energy[e] = np.inf
            continue
        U, p, ddU = _volumetric(model, params[e], th)
        pressure[e] = p
        energy[e] = V * U
        for q in range(nq):
            det0 = _jacobian_inverse(points, conn[e], dN_ref[q], Jinv)
            _physical_gradients(dN_ref[q], Jinv, dNX)
            _deformation_gradient(conn[e], u, dNX, F)
            J = _det3(F)
            if J <= 0.0:
                continue
            _cofactor(F, cof)
            for i in range(3):
                for k in range(3):
                    C[i, k] = F[0, i] * F[0, k] + F[1, i] * F[1, k] + F[2, i] * F[2, k]
            W = pk2_and_tangent(model, piso, C, a0, S, D)
            wd = wq[q] * det0
            energy[e] += wd * W
            # J dN_a/dx_i = N_a,K cof_iK
            for a in range(nen):
                for i in range(3):
                    jg[a, i] = dNX[a, 0] * cof[i, 0] + dNX[a, 1] * cof[i, 1] + dNX[a, 2] * cof[i, 2]
                    g[a, i] += wd * jg[a, i]
            for a in range(nen):
                for i in range(3):
                    s = 0.0
                    for K in range(3):
                        PiK = F[i, 0] * S[0, K] + F[i, 1] * S[1, K] + F[i, 2] * S[2, K]
                        s += PiK * dNX[a, K]
                    fe[e, 3 * a + i] += wd * (s + p * jg[a, i])
            if not want_tangent:
                continue
            _strain_variation(F, dNX, B)
            pw = wd * p / J
            _add_material_geometric(B, D, S, dNX, wd, Ke[e], DB)
            for a in range(nen):
                for b in range(nen):
                    for i in range(3):
                        for j in range(3):
                            Ke[e, 3 * a + i, 3 * b + j] += pw * (jg[a, i] * jg[b, j] - jg[a, j] * jg[b, i])
        if want_tangent:
            c = ddU / V
            for a in range(nen):
                for i in range(3):
                    gi = c * g[a, i]
                    for b in range(nen):
                        for j in range(3):
                            Ke[e, 3 * a + i, 3 * b + j] += gi * g[b, j]


@njit(cache=True, parallel=True)
def mean_dilatation_pressure(points, conn, dN_ref, wq, u, models, params, pressure, theta):
    r"""Element dilatation :math:`\theta = v_e/V_e` and pressure :math:`p = U'(\theta)` [MPa] of a block of
    mean-dilatation elements (see :func:`residual_tangent_tl_mean_dilatation`); NaN pressure if
    :math:`\theta \le 0`."""
    nel, nen = conn.shape
    for e in prange(nel):
        Jinv = np.empty((3, 3))
        dNX = np.empty((nen, 3))
        F = np.empty((3, 3))
        V, v, _ = _element_dilatation(points, conn[e], dN_ref, wq, u, Jinv, dNX, F)
        th = v / V
        theta[e] = th
        if th > 0.0:
            _, p, _ = _volumetric(models[e], params[e], th)
            pressure[e] = p
        else:
            pressure[e] = np.nan
