r"""Active fibre contraction (Guccione-McCulloch calcium law), FEBio's ``active_contraction`` of a fibre material.

FEBio adds to the Cauchy stress of a fibre material (e.g. "trans iso Mooney-Rivlin") the active fibre stress
(``FEActiveFiberContraction::FiberStress``):

.. math::
    \boldsymbol\sigma_a = T_a\,\mathbf a\otimes\mathbf a,\qquad
    \mathbf a = \mathbf F\mathbf a_0 / \lambda,\quad \lambda = |\mathbf F\mathbf a_0|,

    T_a = s(t)\,T_{max}\,\frac{e}{e + (Ca_{max}/Ca_0)^2},\qquad
    e = \exp(\beta\,\Delta l) - 1,\quad \Delta l = l_r\,\tilde\lambda - l_0 \;(T_a = 0 \text{ for } \Delta l < 0),

with the isochoric fibre stretch :math:`\tilde\lambda = J^{-1/3}\lambda`, the activation ``s(t) = ascl`` (a load
curve), and :math:`Ca_{max} = Ca_0` when ``camax`` is 0 (FEBio's backward-compatible default). The stress is not
projected (it has a trace) and is not divided by :math:`J`. As a second Piola-Kirchhoff stress
:math:`\mathbf S_a = J\,\mathbf F^{-1}\boldsymbol\sigma_a\mathbf F^{-T} = g(\mathbf C)\,\mathbf a_0\otimes\mathbf a_0`,
:math:`g = J T_a / I_4`, :math:`I_4 = \mathbf a_0\cdot\mathbf C\mathbf a_0`. It derives from no energy; its
consistent tangent (FEBio uses none) is not symmetric:

.. math::
    \frac{\partial g}{\partial\mathbf C} = \frac{J T_a}{2 I_4}\mathbf C^{-1}
        + \frac{J T_a'\tilde\lambda}{2 I_4}\Big(\frac{\mathbf A_0}{I_4} - \frac{\mathbf C^{-1}}{3}\Big)
        - \frac{J T_a}{I_4^2}\mathbf A_0,\qquad \mathbf A_0 = \mathbf a_0\otimes\mathbf a_0 .

:func:`active_fibre_residual_tangent` integrates it over solid elements (total Lagrangian, the element's own
quadrature); :class:`ActiveFibreContraction` holds the parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["ActiveFibreContraction", "active_fibre_residual_tangent", "active_fibre_stress"]


@dataclass(frozen=True)
class ActiveFibreContraction:
    """Parameters of FEBio's active fibre contraction (``<active_contraction>`` of a fibre material).

    Parameters
    ----------
    Tmax : float
        Peak isometric active stress [MPa].
    ca0 : float
        Peak intracellular calcium concentration [-], > 0.
    camax : float
        Maximum peak calcium concentration [-]; 0 means ``ca0`` (as in FEBio).
    beta : float
        Shape of the length-tension relation [1/um].
    l0 : float
        Sarcomere length at which no active tension develops [um].
    refl : float
        Unloaded sarcomere length [um].
    ascl : float
        Activation scale (multiplied by its load curve).
    """

    Tmax: float
    ca0: float
    camax: float
    beta: float
    l0: float
    refl: float
    ascl: float = 1.0

    def __post_init__(self):
        if not self.ca0 > 0.0:
            raise ValueError(f"active contraction: ca0 must be > 0, got {self.ca0}")
        if self.camax < 0.0:
            raise ValueError(f"active contraction: camax must be >= 0, got {self.camax}")

    @property
    def params(self) -> np.ndarray:
        """``(Tmax, (camax / ca0)^2, beta, l0, refl)`` for the kernels (``camax = 0`` taken as ``ca0``)."""
        camax = self.camax if self.camax > 0.0 else self.ca0
        return np.array([self.Tmax, (camax / self.ca0) ** 2, self.beta, self.l0, self.refl])


@njit(cache=True)
def _tension(lamd, params, scale):
    """Active tension ``T_a`` [MPa] and ``dT_a / d lam~`` at isochoric fibre stretch ``lamd``."""
    if scale <= 0.0:
        return 0.0, 0.0
    dl = params[4] * lamd - params[3]
    if dl < 0.0:
        return 0.0, 0.0
    ex = math.exp(params[2] * dl)
    e = ex - 1.0
    r2 = params[1]
    T = scale * params[0] * e / (e + r2)
    dT = scale * params[0] * r2 / ((e + r2) * (e + r2)) * params[2] * params[4] * ex
    return T, dT


@njit(cache=True)
def _inverse3(A, Ainv):
    det = (A[0, 0] * (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1]) - A[0, 1] * (A[1, 0] * A[2, 2] - A[1, 2] * A[2, 0])
           + A[0, 2] * (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]))
    Ainv[0, 0] = (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1]) / det
    Ainv[0, 1] = (A[0, 2] * A[2, 1] - A[0, 1] * A[2, 2]) / det
    Ainv[0, 2] = (A[0, 1] * A[1, 2] - A[0, 2] * A[1, 1]) / det
    Ainv[1, 0] = (A[1, 2] * A[2, 0] - A[1, 0] * A[2, 2]) / det
    Ainv[1, 1] = (A[0, 0] * A[2, 2] - A[0, 2] * A[2, 0]) / det
    Ainv[1, 2] = (A[0, 2] * A[1, 0] - A[0, 0] * A[1, 2]) / det
    Ainv[2, 0] = (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]) / det
    Ainv[2, 1] = (A[0, 1] * A[2, 0] - A[0, 0] * A[2, 1]) / det
    Ainv[2, 2] = (A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]) / det
    return det


@njit(cache=True)
def active_fibre_stress(C, a0, params, scale, G):
    """Active PK2 factor ``g`` (``S_a = g a0 a0``) at ``C (3, 3)``; fills ``G = dg/dC (3, 3)``."""
    Cinv = np.empty((3, 3))
    I3 = _inverse3(C, Cinv)
    J = math.sqrt(I3)
    I4 = 0.0
    for i in range(3):
        for j in range(3):
            I4 += a0[i] * C[i, j] * a0[j]
    lamd = J ** (-1.0 / 3.0) * math.sqrt(I4)
    T, dT = _tension(lamd, params, scale)
    g = J * T / I4
    for i in range(3):
        for j in range(3):
            A0 = a0[i] * a0[j]
            G[i, j] = (0.5 * g * Cinv[i, j] + 0.5 * J * dT * lamd / I4 * (A0 / I4 - Cinv[i, j] / 3.0)
                       - g / I4 * A0)
    return g


@njit(cache=True)
def active_fibre_residual_tangent(points, conn, dN_ref, wq, u, fibres, params, scale, want_tangent, fe, Ke):
    """Internal forces ``fe (nel, 3 nen)`` [N] and tangent ``Ke (nel, 3 nen, 3 nen)`` of the active fibre stress.

    ``points (nn, 3)``, ``conn (nel, nen)``, ``dN_ref (nq, nen, 3)`` reference shape derivatives at the ``nq``
    quadrature points with weights ``wq (nq,)``, ``u (nn, 3)`` displacements, ``fibres (nel, 3)`` unit
    reference fibre directions, ``params`` from :attr:`ActiveFibreContraction.params`, ``scale`` the activation.
    ``Ke`` is the exact derivative of ``fe`` (not symmetric).
    """
    nel, nen = conn.shape
    nq = wq.shape[0]
    G = np.empty((3, 3))
    Jac = np.empty((3, 3))
    Jinv = np.empty((3, 3))
    dNX = np.empty((nen, 3))
    F = np.empty((3, 3))
    C = np.empty((3, 3))
    Fa = np.empty(3)
    FGd = np.empty((nen, 3))
    for e in range(nel):
        for i in range(3 * nen):
            fe[e, i] = 0.0
            if want_tangent:
                for j in range(3 * nen):
                    Ke[e, i, j] = 0.0
        a0 = fibres[e]
        for q in range(nq):
            for i in range(3):
                for j in range(3):
                    s = 0.0
                    for a in range(nen):
                        s += points[conn[e, a], i] * dN_ref[q, a, j]
                    Jac[i, j] = s
            det0 = _inverse3(Jac, Jinv)
            for a in range(nen):
                for j in range(3):
                    s = 0.0
                    for i in range(3):
                        s += dN_ref[q, a, i] * Jinv[i, j]
                    dNX[a, j] = s
            for i in range(3):
                for j in range(3):
                    s = 1.0 if i == j else 0.0
                    for a in range(nen):
                        s += u[conn[e, a], i] * dNX[a, j]
                    F[i, j] = s
            for i in range(3):
                for j in range(3):
                    s = 0.0
                    for k in range(3):
                        s += F[k, i] * F[k, j]
                    C[i, j] = s
            g = active_fibre_stress(C, a0, params, scale, G)
            if g == 0.0 and not want_tangent:
                continue
            wd = wq[q] * det0
            for i in range(3):
                Fa[i] = F[i, 0] * a0[0] + F[i, 1] * a0[1] + F[i, 2] * a0[2]
            for a in range(nen):
                ad = a0[0] * dNX[a, 0] + a0[1] * dNX[a, 1] + a0[2] * dNX[a, 2]
                for i in range(3):
                    fe[e, 3 * a + i] += wd * g * Fa[i] * ad
            if not want_tangent:
                continue
            for b in range(nen):
                for j in range(3):
                    s = 0.0
                    for K in range(3):
                        for L in range(3):
                            s += F[j, K] * G[K, L] * dNX[b, L]
                    FGd[b, j] = s
            for a in range(nen):
                ad = a0[0] * dNX[a, 0] + a0[1] * dNX[a, 1] + a0[2] * dNX[a, 2]
                for b in range(nen):
                    bd = a0[0] * dNX[b, 0] + a0[1] * dNX[b, 1] + a0[2] * dNX[b, 2]
                    geo = wd * g * ad * bd
                    for i in range(3):
                        for j in range(3):
                            v = wd * 2.0 * Fa[i] * ad * FGd[b, j]
                            if i == j:
                                v += geo
                            Ke[e, 3 * a + i, 3 * b + j] += v
    return fe, Ke
