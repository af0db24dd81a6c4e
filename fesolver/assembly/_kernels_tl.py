"""Compiled kernels of the total-Lagrangian finite-strain solid: residual and consistent tangent.

Conventions as in :mod:`fesolver.assembly._kernels`. The material law is evaluated by
:func:`fesolver.materials._kernels.pk2_and_tangent` (second Piola-Kirchhoff stress and material tangent in
Voigt order 11 22 33 12 23 13, engineering shear).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..materials._kernels import pk2_and_tangent
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
            for a in range(nen):
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
            for b in range(nen):
                for m in range(6):
                    for j in range(3):
                        s = 0.0
                        for n in range(6):
                            s += D[m, n] * B[b, n, j]
                        DB[m, j] = s
                for a in range(nen):
                    geo = 0.0
                    for K in range(3):
                        geo += dNX[a, K] * (S[K, 0] * dNX[b, 0] + S[K, 1] * dNX[b, 1] + S[K, 2] * dNX[b, 2])
                    for i in range(3):
                        for j in range(3):
                            s = 0.0
                            for m in range(6):
                                s += B[a, m, i] * DB[m, j]
                            if i == j:
                                s += geo
                            Ke[e, 3 * a + i, 3 * b + j] += wd * s
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
