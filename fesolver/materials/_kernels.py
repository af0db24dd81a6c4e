r"""Compiled finite-strain (total-Lagrangian) constitutive kernels: plain arrays in, plain arrays out.

Conventions
-----------
``C (3, 3) float64``
    right Cauchy-Green tensor :math:`\mathbf C = \mathbf F^T \mathbf F` (symmetric), with
    :math:`I_1 = \operatorname{tr}\mathbf C`, :math:`I_2 = \tfrac12(I_1^2 - \operatorname{tr}\mathbf C^2)`,
    :math:`I_3 = \det\mathbf C = J^2`, :math:`I_4 = \mathbf a_0\cdot\mathbf C\,\mathbf a_0`.
``a0 (3,) float64``
    unit fibre direction in the reference configuration (read by the fibre models 5 and 6 only).
``S (3, 3)``
    second Piola-Kirchhoff stress :math:`\mathbf S = 2\,\partial W/\partial\mathbf C` [MPa] (overwritten).
``D (6, 6)``
    material tangent :math:`\mathbb C = 4\,\partial^2 W/\partial\mathbf C\,\partial\mathbf C`
    [MPa] in Voigt order (11, 22, 33, 12, 23, 13) acting on *engineering* shear strains,
    ``dS_voigt = D @ [dE11, dE22, dE33, 2 dE12, 2 dE23, 2 dE13]``, so that ``D[I, J]`` is simply
    :math:`\mathbb C_{ijkl}` with :math:`I \leftrightarrow (ij)`, :math:`J \leftrightarrow (kl)`;
    symmetric (overwritten).
``params (n,) float64``
    the model's parameters (table below), moduli in MPa.

Isotropic and fibre models are written once, in invariants. With
:math:`W = W(I_1, I_2, I_3, I_4)`, :math:`W_a = \partial W/\partial I_a`,
:math:`\mathbf G_a = \partial I_a/\partial\mathbf C`:

.. math::
    \mathbf G_1 = \mathbf I,\quad \mathbf G_2 = I_1\mathbf I - \mathbf C,\quad
    \mathbf G_3 = I_3\mathbf C^{-1},\quad \mathbf G_4 = \mathbf a_0\otimes\mathbf a_0,

    \mathbf S = 2\sum_a W_a\,\mathbf G_a,\qquad
    \mathbb C = 4\sum_{a,b} W_{ab}\,\mathbf G_a\otimes\mathbf G_b
              + 4 W_2\,(\mathbf I\otimes\mathbf I - \mathbb I)
              + 4 W_3\, I_3\,(\mathbf C^{-1}\otimes\mathbf C^{-1} - \mathbf C^{-1}\odot\mathbf C^{-1})

with :math:`\mathbb I_{ijkl} = \tfrac12(\delta_{ik}\delta_{jl} + \delta_{il}\delta_{jk})` and
:math:`(\mathbf A\odot\mathbf A)_{ijkl} = \tfrac12(A_{ik}A_{jl} + A_{il}A_{jk})`. Each model states its
energy in the variables :math:`y = (\tilde I_1, \tilde I_2, J, \tilde I_4)` (uncoupled, isochoric
:math:`\tilde I_1 = J^{-2/3} I_1`, :math:`\tilde I_2 = J^{-4/3} I_2`, :math:`\tilde I_4 = J^{-2/3} I_4`) or
:math:`(I_1, I_2, J, I_4)` (coupled); :func:`_chain` converts its first and second derivatives to
:math:`W_a, W_{ab}` by the chain rule. The Ogden and hyperfoam models add a principal-stretch (spectral) term,
:func:`_ogden_spectral` (isochoric stretches for Ogden, full stretches for hyperfoam).

========  ==========================  ===================================================
model id  name                        params
========  ==========================  ===================================================
0         St Venant-Kirchhoff         E, nu
1         neo-Hookean (compressible)  E, nu
2         Mooney-Rivlin (uncoupled)   c1, c2, k
3         polynomial N=2 (uncoupled)  C10, C01, C20, C11, C02, D1, D2
4         Ogden (uncoupled)           n_terms, mu1, alpha1, mu2, alpha2, mu3, alpha3, K
5         trans-iso Mooney-Rivlin     c1, c2, k, c3, c4, c5, lam_max
6         fibre + neo-Hookean         E, nu, c3, c4, c5, lam_max
7         hyperfoam (Ogden-Hill)      n_terms, mu1, alpha1, mu2, alpha2, mu3, alpha3, beta
                                      (one beta for every term), or -n_terms, ..., beta1,
                                      beta2, beta3 (10 values, per-term beta)
8         mixture of two models       w, model_a, params_a (10 slots), model_b, params_b
                                      (10 slots): W = (1 - w) W_a + w W_b, 0 <= w <= 1
========  ==========================  ===================================================

Hyperfoam packs its parameters into the 8 slots of the longest model when every term has the same
Poisson's ratio (the usual case, Abaqus ``POISSON``); a negative term count flags per-term ``beta``
in slots 7-9 (robust to zero padding).

The public wrappers in :mod:`fesolver.materials.hyperelastic` validate the parameters; these functions
trust them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

ST_VENANT_KIRCHHOFF = 0
NEO_HOOKEAN = 1
MOONEY_RIVLIN = 2
POLYNOMIAL2 = 3
OGDEN = 4
TRANS_ISO_MOONEY_RIVLIN = 5
FIBRE_NEO_HOOKEAN = 6
HYPERFOAM = 7
MIXTURE = 8

#: length of ``params`` per model id (hyperfoam: 10 when its terms have different Poisson's ratios)
N_PARAMS = (2, 2, 3, 7, 8, 7, 6, 8, 23)

#: mixture (model 8): parameter slots of each constituent (the longest single model, hyperfoam with per-term beta)
MIXTURE_SLOTS = 10

#: Ogden and hyperfoam: two eigenvalues of C closer than this (relative) use the coalescence limit of the spectral
#: tangent
OGDEN_COALESCENCE_TOL = 1e-5

# Voigt index pairs (11, 22, 33, 12, 23, 13)
_VI = np.array([0, 1, 2, 0, 1, 0])
_VJ = np.array([0, 1, 2, 1, 2, 2])

# 24-point Gauss-Legendre rule on [0, 1] for the fibre toe-region energy
_glx, _glw = np.polynomial.legendre.leggauss(24)
_GL_X = 0.5 * (_glx + 1.0)
_GL_W = 0.5 * _glw
del _glx, _glw


# ----------------------------------------------------------------------------------------------
# Helpers (inlined by numba)
# ----------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _lame(E, nu):
    """Lamé constants ``(lambda, mu)`` [MPa] from Young's modulus and Poisson's ratio."""
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


@njit(cache=True, inline="always")
def _inverse3(A, Ainv):
    """Fill ``Ainv`` with the inverse of the 3x3 matrix ``A`` and return ``det A`` (``Ainv`` untouched if 0)."""
    c00 = A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1]
    c01 = A[1, 2] * A[2, 0] - A[1, 0] * A[2, 2]
    c02 = A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]
    det = A[0, 0] * c00 + A[0, 1] * c01 + A[0, 2] * c02
    if det != 0.0:
        inv = 1.0 / det
        Ainv[0, 0] = c00 * inv
        Ainv[1, 0] = c01 * inv
        Ainv[2, 0] = c02 * inv
        Ainv[0, 1] = (A[0, 2] * A[2, 1] - A[0, 1] * A[2, 2]) * inv
        Ainv[1, 1] = (A[0, 0] * A[2, 2] - A[0, 2] * A[2, 0]) * inv
        Ainv[2, 1] = (A[0, 1] * A[2, 0] - A[0, 0] * A[2, 1]) * inv
        Ainv[0, 2] = (A[0, 1] * A[1, 2] - A[0, 2] * A[1, 1]) * inv
        Ainv[1, 2] = (A[0, 2] * A[1, 0] - A[0, 0] * A[1, 2]) * inv
        Ainv[2, 2] = (A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]) * inv
    return det


@njit(cache=True)
def _chain(I1, I2, I3, I4, Wy, Wyy, iso12, iso4, Wx, Wxx):
    r"""Derivatives w.r.t. :math:`x = (I_1, I_2, I_3, I_4)` from those w.r.t. the model's variables :math:`y`.

    :math:`y_3 = J = I_3^{1/2}` always; :math:`y_{1,2} = (\tilde I_1, \tilde I_2) = (I_1 I_3^{-1/3}, I_2 I_3^{-2/3})`
    if ``iso12`` else :math:`(I_1, I_2)`; :math:`y_4 = \tilde I_4 = I_4 I_3^{-1/3}` if ``iso4`` else :math:`I_4`.

    .. math::
        W_{x_i} = \sum_k W_{y_k} A_{ki},\qquad
        W_{x_i x_j} = \sum_{k,l} A_{ki} W_{y_k y_l} A_{lj} + \sum_k W_{y_k}\,\partial^2 y_k/\partial x_i\partial x_j,
        \qquad A_{ki} = \partial y_k/\partial x_i.
    """
    A = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            Wxx[i, j] = 0.0
    r = I3 ** (-1.0 / 3.0)
    sJ = math.sqrt(I3)
    A[2, 2] = 0.5 / sJ
    Wxx[2, 2] += Wy[2] * (-0.25 / (I3 * sJ))
    if iso12:
        A[0, 0] = r
        A[0, 2] = -I1 * r / (3.0 * I3)
        A[1, 1] = r * r
        A[1, 2] = -2.0 * I2 * r * r / (3.0 * I3)
        h = -Wy[0] * r / (3.0 * I3)
        Wxx[0, 2] += h
        Wxx[2, 0] += h
        h = -2.0 * Wy[1] * r * r / (3.0 * I3)
        Wxx[1, 2] += h
        Wxx[2, 1] += h
        Wxx[2, 2] += (4.0 / 9.0 * Wy[0] * I1 * r + 10.0 / 9.0 * Wy[1] * I2 * r * r) / (I3 * I3)
    else:
        A[0, 0] = 1.0
        A[1, 1] = 1.0
    if iso4:
        A[3, 3] = r
        A[3, 2] = -I4 * r / (3.0 * I3)
        h = -Wy[3] * r / (3.0 * I3)
        Wxx[3, 2] += h
        Wxx[2, 3] += h
        Wxx[2, 2] += 4.0 / 9.0 * Wy[3] * I4 * r / (I3 * I3)
    else:
        A[3, 3] = 1.0
    for i in range(4):
        s = 0.0
        for k in range(4):
            s += Wy[k] * A[k, i]
        Wx[i] = s
    for i in range(4):
        for j in range(4):
            s = 0.0
            for k in range(4):
                if A[k, i] == 0.0:
                    continue
                for m in range(4):
                    s += A[k, i] * Wyy[k, m] * A[m, j]
            Wxx[i, j] += s


@njit(cache=True)
def _invariant_stress_tangent(C, Cinv, I1, I3, a0, Wx, Wxx, S, D):
    """Add the invariant-form stress and tangent (module docstring) for ``Wx (4,)``, ``Wxx (4, 4)`` to ``S, D``."""
    g = np.empty((4, 6))
    for p in range(6):
        i = _VI[p]
        j = _VJ[p]
        dij = 1.0 if i == j else 0.0
        g[0, p] = dij
        g[1, p] = I1 * dij - C[i, j]
        g[2, p] = I3 * Cinv[i, j]
        g[3, p] = a0[i] * a0[j]
    for i in range(3):
        for j in range(3):
            dij = 1.0 if i == j else 0.0
            S[i, j] += 2.0 * (
                Wx[0] * dij + Wx[1] * (I1 * dij - C[i, j]) + Wx[2] * I3 * Cinv[i, j] + Wx[3] * a0[i] * a0[j]
            )
    for p in range(6):
        i = _VI[p]
        j = _VJ[p]
        for q in range(p, 6):
            k = _VI[q]
            m = _VJ[q]
            v = 0.0
            for a in range(4):
                ga = g[a, p]
                if ga == 0.0:
                    continue
                for b in range(4):
                    v += Wxx[a, b] * ga * g[b, q]
            dij = 1.0 if i == j else 0.0
            dkm = 1.0 if k == m else 0.0
            dik = 1.0 if i == k else 0.0
            djm = 1.0 if j == m else 0.0
            dim = 1.0 if i == m else 0.0
            djk = 1.0 if j == k else 0.0
            h2 = dij * dkm - 0.5 * (dik * djm + dim * djk)
            h3 = I3 * (Cinv[i, j] * Cinv[k, m] - 0.5 * (Cinv[i, k] * Cinv[j, m] + Cinv[i, m] * Cinv[j, k]))
            v = 4.0 * (v + Wx[1] * h2 + Wx[2] * h3)
            D[p, q] += v
            if q != p:
                D[q, p] += v


@njit(cache=True)
def _fibre(lam, c3, c4, c5, lam_max):
    r"""Weiss et al. (1996) fibre law: energy, :math:`T = \lambda\,\partial W/\partial\lambda` and :math:`dT/d\lambda`.

    .. math::
        T(\lambda) = \begin{cases}
            0 & \lambda \le 1 \quad\text{(fibres do not bear compression)}\\
            c_3\,(e^{c_4(\lambda - 1)} - 1) & 1 < \lambda < \lambda_{max} \quad\text{(toe region)}\\
            c_5\,\lambda + c_6 & \lambda \ge \lambda_{max} \quad\text{(straightened fibres)}
        \end{cases}

    with :math:`c_6 = c_3(e^{c_4(\lambda_{max}-1)} - 1) - c_5\lambda_{max}` (continuous :math:`T`; the slope jumps
    at :math:`\lambda_{max}` unless :math:`c_5 = c_3 c_4 e^{c_4(\lambda_{max}-1)}`, as in FEBio), and
    :math:`W(\lambda) = \int_1^\lambda T(s)/s\,ds` (toe part by 24-point Gauss-Legendre, exact to round-off for
    :math:`c_4(\lambda_{max}-1) \lesssim 20`).
    """
    if lam <= 1.0:
        return 0.0, 0.0, 0.0
    lt = min(lam, lam_max)
    L = lt - 1.0
    Wf = 0.0
    for q in range(_GL_X.shape[0]):
        s = 1.0 + L * _GL_X[q]
        Wf += _GL_W[q] * math.expm1(c4 * L * _GL_X[q]) / s
    Wf *= c3 * L
    if lam < lam_max:
        T = c3 * math.expm1(c4 * (lam - 1.0))
        dT = c3 * c4 * math.exp(c4 * (lam - 1.0))
    else:
        c6 = c3 * math.expm1(c4 * (lam_max - 1.0)) - c5 * lam_max
        T = c5 * lam + c6
        dT = c5
        Wf += c5 * (lam - lam_max) + c6 * math.log(lam / lam_max)
    return Wf, T, dT


@njit(cache=True, inline="always")
def _add_fibre(y4, c3, c4, c5, lam_max, Wy, Wyy):
    r"""Add the fibre term as a function of :math:`y_4 = \lambda^2`; return its energy.

    :math:`W_{y_4} = T/(2\lambda^2)`, :math:`W_{y_4 y_4} = (\lambda T' - 2T)/(4\lambda^4)`.
    """
    lam = math.sqrt(y4)
    if lam <= 1.0:
        return 0.0
    Wf, T, dT = _fibre(lam, c3, c4, c5, lam_max)
    Wy[3] += T / (2.0 * y4)
    Wyy[3, 3] += (lam * dT - 2.0 * T) / (4.0 * y4 * y4)
    return Wf


@njit(cache=True)
def _ogden_spectral(n, params, C, I3, isochoric, S, D):
    r"""Add the Ogden principal-stretch term by spectral decomposition of C; return its energy.

    ``params`` holds ``(n), mu1, alpha1, mu2, alpha2, mu3, alpha3`` first (models 4 and 7); ``n`` terms. With the
    eigenpairs :math:`(C_a, \mathbf N_a)` of :math:`\mathbf C` (:math:`C_a = \lambda_a^2`), per term p
    :math:`\beta_a = (C_a\,r)^{\alpha/2}` and :math:`B = \sum_a\beta_a`, where :math:`r = J^{-2/3}` and
    :math:`\iota = 1` for the **isochoric** stretches :math:`\tilde\lambda_a` (Ogden, model 4), :math:`r = 1` and
    :math:`\iota = 0` for the **full** stretches :math:`\lambda_a` (hyperfoam, model 7):

    .. math::
        W = \sum_p \frac{2\mu_p}{\alpha_p^2}(B - 3),\qquad
        W_a \equiv \frac{\partial W}{\partial C_a} = \sum_p \frac{\mu_p}{\alpha_p}\,
              \frac{\beta_a - \iota B/3}{C_a},

        W_{ab} = \sum_p \frac{\mu_p}{2}\,\frac{\beta_a\delta_{ab} - \iota(\beta_a + \beta_b)/3 + \iota B/9}
                 {C_a C_b} - \delta_{ab}\,\frac{\mu_p}{\alpha_p}\,\frac{\beta_a - \iota B/3}{C_a^2},

        \mathbf S = \sum_a 2W_a\,\mathbf N_a\otimes\mathbf N_a,\qquad
        \mathbb C = \sum_{a,b} 4W_{ab}\,\mathbf M_a\otimes\mathbf M_b
                    + \sum_{a<b} 4 g_{ab}\,\mathbf M_{ab}\otimes\mathbf M_{ab}

    with :math:`\mathbf M_a = \mathbf N_a\otimes\mathbf N_a`,
    :math:`\mathbf M_{ab} = \tfrac12(\mathbf N_a\otimes\mathbf N_b + \mathbf N_b\otimes\mathbf N_a)` and
    :math:`g_{ab} = 2(W_a - W_b)/(C_a - C_b)` (Holzapfel 2000, *Nonlinear Solid Mechanics*, ch. 6;
    Simo & Taylor 1991, CMAME 85:273). For equal or
    near-equal eigenvalues, :math:`|C_a - C_b| \le 10^{-5}\max(C_a, C_b)`, the divided difference is replaced by
    its L'Hôpital limit, symmetrised so its error is :math:`O(|C_a - C_b|^2)`:
    :math:`g_{ab} = W_{aa} + W_{bb} - 2W_{ab}`. It is exact at :math:`\mathbf C = \mathbf I`, where it gives the
    shear modulus :math:`\sum_p\mu_p` (together with the volumetric term for hyperfoam); no eigenvalue
    perturbation is used.
    """
    Cc = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            Cc[i, j] = 0.5 * (C[i, j] + C[j, i])
    ev, N = np.linalg.eigh(Cc)
    if isochoric:
        r = I3 ** (-1.0 / 3.0)
        io = 1.0
    else:
        r = 1.0
        io = 0.0
    Wa = np.zeros(3)
    Wab = np.zeros((3, 3))
    beta = np.empty(3)
    W = 0.0
    for p in range(n):
        mu = params[1 + 2 * p]
        al = params[2 + 2 * p]
        B = 0.0
        Bm3 = 0.0  # B - 3 without cancellation (near C = I the energy is O(strain^2))
        for a in range(3):
            em = math.expm1(0.5 * al * math.log(ev[a] * r))
            beta[a] = em + 1.0
            B += beta[a]
            Bm3 += em
        W += 2.0 * mu / (al * al) * Bm3
        for a in range(3):
            Wa[a] += mu / al * (beta[a] - io * B / 3.0) / ev[a]
            for b in range(3):
                v = io * (-(beta[a] + beta[b]) / 3.0 + B / 9.0)
                if a == b:
                    v += beta[a]
                v *= 0.5 * mu / (ev[a] * ev[b])
                if a == b:
                    v -= mu / al * (beta[a] - io * B / 3.0) / (ev[a] * ev[a])
                Wab[a, b] += v
    M = np.empty((3, 6))
    for a in range(3):
        for p in range(6):
            M[a, p] = N[_VI[p], a] * N[_VJ[p], a]
    for i in range(3):
        for j in range(3):
            s = 0.0
            for a in range(3):
                s += 2.0 * Wa[a] * N[i, a] * N[j, a]
            S[i, j] += s
    Mab = np.empty(6)
    for p in range(6):
        for q in range(6):
            s = 0.0
            for a in range(3):
                for b in range(3):
                    s += Wab[a, b] * M[a, p] * M[b, q]
            D[p, q] += 4.0 * s
    for a in range(3):
        for b in range(a + 1, 3):
            d = ev[a] - ev[b]
            if abs(d) <= OGDEN_COALESCENCE_TOL * max(ev[a], ev[b]):
                g = Wab[a, a] + Wab[b, b] - 2.0 * Wab[a, b]
            else:
                g = 2.0 * (Wa[a] - Wa[b]) / d
            for p in range(6):
                i = _VI[p]
                j = _VJ[p]
                Mab[p] = 0.5 * (N[i, a] * N[j, b] + N[i, b] * N[j, a])
            for p in range(6):
                for q in range(6):
                    D[p, q] += 4.0 * g * Mab[p] * Mab[q]
    return W


@njit(cache=True)
def _st_venant_kirchhoff(params, C, S, D):
    r"""St Venant-Kirchhoff: :math:`W = \tfrac{\lambda}{2}(\operatorname{tr}\mathbf E)^2 + \mu\,\mathbf E:\mathbf E`,
    :math:`\mathbf S = \lambda\operatorname{tr}\mathbf E\,\mathbf I + 2\mu\mathbf E`,
    :math:`\mathbb C = \lambda\,\mathbf I\otimes\mathbf I + 2\mu\,\mathbb I` (constant),
    :math:`\mathbf E = (\mathbf C - \mathbf I)/2`.
    """
    lam, mu = _lame(params[0], params[1])
    tr = 0.5 * (C[0, 0] + C[1, 1] + C[2, 2] - 3.0)
    EE = 0.0
    for i in range(3):
        for j in range(3):
            e = 0.5 * (C[i, j] - (1.0 if i == j else 0.0))
            EE += e * e
            S[i, j] = 2.0 * mu * e + (lam * tr if i == j else 0.0)
    for p in range(3):
        for q in range(3):
            D[p, q] = lam
        D[p, p] += 2.0 * mu
        D[p + 3, p + 3] = mu
    return 0.5 * lam * tr * tr + mu * EE


# ----------------------------------------------------------------------------------------------
# Public kernels
# ----------------------------------------------------------------------------------------------


@njit(cache=True)
def pk2_and_tangent(model, params, C, a0, S, D):
    r"""Second Piola-Kirchhoff stress ``S`` (3x3), material tangent ``D`` (6x6) and energy of any model, the
    mixture (model 8) included; the single models are :func:`_pk2_and_tangent_single` (formulas there).

    **8 mixture** ``(w, model_a, params_a[10], model_b, params_b[10])``, a solid mixture of two single models
    sharing the deformation (as FEBio's "solid mixture", whose constituents' energies add):
    :math:`W = (1 - w)\,W_a + w\,W_b`, so :math:`\mathbf S` and :math:`\mathbb C` are the same weighted sums;
    a weight that varies from element to element grades one material into the other. Both constituents see
    the same fibre direction ``a0``.
    """
    if model != MIXTURE:
        return _pk2_and_tangent_single(model, params, C, a0, S, D)
    n = MIXTURE_SLOTS
    w = params[0]
    Sb = np.empty((3, 3))
    Db = np.empty((6, 6))
    Wa = _pk2_and_tangent_single(int(params[1]), params[2:2 + n], C, a0, S, D)
    Wb = _pk2_and_tangent_single(int(params[2 + n]), params[3 + n:3 + 2 * n], C, a0, Sb, Db)
    for i in range(3):
        for j in range(3):
            S[i, j] = (1.0 - w) * S[i, j] + w * Sb[i, j]
    for p in range(6):
        for q in range(6):
            D[p, q] = (1.0 - w) * D[p, q] + w * Db[p, q]
    if math.isinf(Wa) or math.isinf(Wb):
        return np.inf
    return (1.0 - w) * Wa + w * Wb


@njit(cache=True)
def _pk2_and_tangent_single(model, params, C, a0, S, D):
    r"""Second Piola-Kirchhoff stress ``S`` (3x3) and material tangent ``D`` (6x6, Voigt, engineering shears) [MPa].

    Returns the strain-energy density :math:`W` [MPa = mJ/mm^3]. ``S`` and ``D`` are overwritten. If
    :math:`\det\mathbf C \le 0` (models 1-6) ``S`` and ``D`` are filled with NaN and ``+inf`` is returned; an
    unknown ``model`` gives NaN everywhere. Energies (all moduli in MPa, :math:`\ln` natural):

    **0 St Venant-Kirchhoff** ``(E, nu)``:
    :math:`W = \tfrac{\lambda}{2}(\operatorname{tr}\mathbf E)^2 + \mu\,\mathbf E:\mathbf E`
    (Holzapfel 2000, sec. 6.5); loses stability in strong compression, for checks only.

    **1 neo-Hookean** ``(E, nu)``, FEBio "neo-Hookean" (FEBio Theory Manual, "Neo-Hookean Hyperelasticity"):
    :math:`W = \tfrac{\mu}{2}(I_1 - 3) - \mu\ln J + \tfrac{\lambda}{2}(\ln J)^2`,
    :math:`\lambda = E\nu/((1+\nu)(1-2\nu))`, :math:`\mu = E/(2(1+\nu))`.

    **2 Mooney-Rivlin** ``(c1, c2, k)``, FEBio "Mooney-Rivlin" (uncoupled):
    :math:`W = c_1(\tilde I_1 - 3) + c_2(\tilde I_2 - 3) + \tfrac{k}{2}(\ln J)^2`; shear modulus
    :math:`2(c_1 + c_2)`, bulk modulus :math:`k`.

    **3 polynomial, N = 2** ``(C10, C01, C20, C11, C02, D1, D2)``, Abaqus ``*HYPERELASTIC, POLYNOMIAL, N=2``
    (Abaqus Theory Manual, "Hyperelastic material behavior"; used for the encapsulated foot soft tissue by
    Cheung et al. 2005):
    :math:`W = \sum_{1\le i+j\le 2} C_{ij}(\tilde I_1 - 3)^i(\tilde I_2 - 3)^j + \sum_{i=1}^{2}\frac{1}{D_i}(J-1)^{2i}`;
    a term with :math:`D_2 = 0` is omitted. Shear modulus :math:`2(C_{10} + C_{01})`, bulk :math:`2/D_1`.

    **4 Ogden** ``(n, mu1, alpha1, mu2, alpha2, mu3, alpha3, K)``, Abaqus/FEBio uncoupled form with the
    FEBio volumetric term: :math:`W = \sum_{p=1}^{n}\frac{2\mu_p}{\alpha_p^2}
    (\tilde\lambda_1^{\alpha_p} + \tilde\lambda_2^{\alpha_p} + \tilde\lambda_3^{\alpha_p} - 3) + \tfrac{K}{2}(\ln J)^2`,
    :math:`\tilde\lambda_a = J^{-1/3}\lambda_a`; shear modulus :math:`\sum_p\mu_p`, bulk :math:`K`. Unused terms
    are ignored (``n`` = 1..3). Spectral tangent: :func:`_ogden_spectral` (isochoric stretches).

    **5 transversely isotropic Mooney-Rivlin** ``(c1, c2, k, c3, c4, c5, lam_max)``, Weiss, Maker & Govindjee
    (1996) CMAME 135:107, FEBio "trans iso Mooney-Rivlin": model 2 plus the fibre term :func:`_fibre` of the
    *isochoric* fibre stretch :math:`\tilde\lambda = (J^{-2/3}\,\mathbf a_0\cdot\mathbf C\mathbf a_0)^{1/2}`, as
    FEBio does for uncoupled materials.

    **6 fibre-reinforced neo-Hookean** ``(E, nu, c3, c4, c5, lam_max)``: model 1 plus the same fibre term of
    the *full* fibre stretch :math:`\lambda = (\mathbf a_0\cdot\mathbf C\mathbf a_0)^{1/2}` (as FEBio's coupled
    "coupled trans-iso Mooney-Rivlin"): with a compressible matrix the fibres must also resist volumetric
    stretch, which the isochoric stretch would hide.

    **7 hyperfoam** ``(n, mu1, alpha1, mu2, alpha2, mu3, alpha3, beta)`` or
    ``(-n, mu1, alpha1, mu2, alpha2, mu3, alpha3, beta1, beta2, beta3)``, Abaqus
    ``*HYPERFOAM`` (Ogden 1972; Hill 1978; Storåkers 1986, J Mech Phys Solids 34:125), compressible foams:

    .. math::
        W = \sum_{p=1}^{n}\frac{2\mu_p}{\alpha_p^2}\Big(\lambda_1^{\alpha_p} + \lambda_2^{\alpha_p}
            + \lambda_3^{\alpha_p} - 3 + \frac{J^{-\alpha_p\beta_p} - 1}{\beta_p}\Big),\qquad
        \beta_p = \frac{\nu_p}{1 - 2\nu_p}

    on the **full** principal stretches (spectral part :func:`_ogden_spectral`), the :math:`J` term through
    the invariant machinery: :math:`U_p' = -\tfrac{2\mu_p}{\alpha_p} J^{-\alpha_p\beta_p - 1}`,
    :math:`U_p'' = \tfrac{2\mu_p}{\alpha_p}(\alpha_p\beta_p + 1) J^{-\alpha_p\beta_p - 2}`; for
    :math:`\beta_p = 0` the energy's limit :math:`-\alpha_p\ln J` is used. Shear modulus :math:`\sum_p\mu_p`,
    bulk modulus :math:`\sum_p 2\mu_p(1/3 + \beta_p)`; with one :math:`\nu` for all terms the
    small-strain Poisson's ratio is :math:`\nu` and every principal stress depends on its own stretch and
    :math:`J` only (:math:`\nu = 0`: no lateral strain in uniaxial loading).

    In both fibre models the fibres carry no stress and add no stiffness for :math:`\lambda \le 1`, so at
    :math:`\mathbf C = \mathbf I` the tangent is the matrix's.
    """
    for i in range(3):
        for j in range(3):
            S[i, j] = 0.0
    for p in range(6):
        for q in range(6):
            D[p, q] = 0.0
    if model == ST_VENANT_KIRCHHOFF:
        return _st_venant_kirchhoff(params, C, S, D)

    Cinv = np.empty((3, 3))
    I3 = _inverse3(C, Cinv)
    if not (I3 > 0.0) or model < 0 or model > 7:
        S[:, :] = np.nan
        D[:, :] = np.nan
        return np.inf if I3 <= 0.0 else np.nan
    I1 = C[0, 0] + C[1, 1] + C[2, 2]
    trC2 = 0.0
    for i in range(3):
        for j in range(3):
            trC2 += C[i, j] * C[j, i]
    I2 = 0.5 * (I1 * I1 - trC2)
    I4 = 0.0
    for i in range(3):
        for j in range(3):
            I4 += a0[i] * C[i, j] * a0[j]
    J = math.sqrt(I3)
    lnJ = math.log(J)
    r = I3 ** (-1.0 / 3.0)

    Wy = np.zeros(4)
    Wyy = np.zeros((4, 4))
    iso12 = True
    iso4 = True
    W = 0.0
    if model == NEO_HOOKEAN or model == FIBRE_NEO_HOOKEAN:
        lam, mu = _lame(params[0], params[1])
        W = 0.5 * mu * (I1 - 3.0) - mu * lnJ + 0.5 * lam * lnJ * lnJ
        Wy[0] = 0.5 * mu
        Wy[2] = (lam * lnJ - mu) / J
        Wyy[2, 2] = (mu + lam * (1.0 - lnJ)) / I3
        iso12 = False
        if model == FIBRE_NEO_HOOKEAN:
            iso4 = False
            W += _add_fibre(I4, params[2], params[3], params[4], params[5], Wy, Wyy)
    elif model == MOONEY_RIVLIN or model == TRANS_ISO_MOONEY_RIVLIN:
        c1 = params[0]
        c2 = params[1]
        k = params[2]
        W = c1 * (I1 * r - 3.0) + c2 * (I2 * r * r - 3.0) + 0.5 * k * lnJ * lnJ
        Wy[0] = c1
        Wy[1] = c2
        Wy[2] = k * lnJ / J
        Wyy[2, 2] = k * (1.0 - lnJ) / I3
        if model == TRANS_ISO_MOONEY_RIVLIN:
            W += _add_fibre(I4 * r, params[3], params[4], params[5], params[6], Wy, Wyy)
    elif model == POLYNOMIAL2:
        a = I1 * r - 3.0
        b = I2 * r * r - 3.0
        C10 = params[0]
        C01 = params[1]
        C20 = params[2]
        C11 = params[3]
        C02 = params[4]
        D1 = params[5]
        D2 = params[6]
        W = C10 * a + C01 * b + C20 * a * a + C11 * a * b + C02 * b * b
        Wy[0] = C10 + 2.0 * C20 * a + C11 * b
        Wy[1] = C01 + C11 * a + 2.0 * C02 * b
        Wyy[0, 0] = 2.0 * C20
        Wyy[0, 1] = C11
        Wyy[1, 0] = C11
        Wyy[1, 1] = 2.0 * C02
        jm = J - 1.0
        W += jm * jm / D1
        Wy[2] = 2.0 * jm / D1
        Wyy[2, 2] = 2.0 / D1
        if D2 > 0.0:
            W += jm**4 / D2
            Wy[2] += 4.0 * jm**3 / D2
            Wyy[2, 2] += 12.0 * jm * jm / D2
    elif model == HYPERFOAM:  # J term here, full-stretch part spectral
        iso12 = False
        per_term = params[0] < 0.0
        for p in range(int(abs(params[0]))):
            mu = params[1 + 2 * p]
            al = params[2 + 2 * p]
            be = params[7 + p] if per_term else params[7]
            c = 2.0 * mu / al
            if be == 0.0:
                W += -c * lnJ
            else:
                W += c / al * math.expm1(-al * be * lnJ) / be
            Jm = math.exp(-(al * be + 1.0) * lnJ)
            Wy[2] += -c * Jm
            Wyy[2, 2] += c * (al * be + 1.0) * Jm / J
    else:  # OGDEN: volumetric part here, isochoric part spectral
        K = params[7]
        W = 0.5 * K * lnJ * lnJ
        Wy[2] = K * lnJ / J
        Wyy[2, 2] = K * (1.0 - lnJ) / I3

    Wx = np.empty(4)
    Wxx = np.empty((4, 4))
    _chain(I1, I2, I3, I4, Wy, Wyy, iso12, iso4, Wx, Wxx)
    _invariant_stress_tangent(C, Cinv, I1, I3, a0, Wx, Wxx, S, D)
    if model == OGDEN:
        W += _ogden_spectral(int(params[0]), params, C, I3, True, S, D)
    elif model == HYPERFOAM:
        W += _ogden_spectral(int(abs(params[0])), params, C, I3, False, S, D)
    return W


@njit(cache=True)
def pk2_and_tangent_points(model, params, C, a0, S, D, W):
    """:func:`pk2_and_tangent` at ``n`` points: ``C (n, 3, 3)``, ``a0 (n, 3)``; fills ``S (n, 3, 3)``,
    ``D (n, 6, 6)``, ``W (n,)``."""
    for q in range(C.shape[0]):
        W[q] = pk2_and_tangent(model, params, C[q], a0[q], S[q], D[q])


@njit(cache=True)
def cauchy_from_pk2(F, S):
    r"""Cauchy stress :math:`\boldsymbol\sigma = J^{-1}\mathbf F\mathbf S\mathbf F^T` (3x3, new array) [MPa]."""
    J = (
        F[0, 0] * (F[1, 1] * F[2, 2] - F[1, 2] * F[2, 1])
        - F[0, 1] * (F[1, 0] * F[2, 2] - F[1, 2] * F[2, 0])
        + F[0, 2] * (F[1, 0] * F[2, 1] - F[1, 1] * F[2, 0])
    )
    FS = np.zeros((3, 3))
    for i in range(3):
        for k in range(3):
            for m in range(3):
                FS[i, m] += F[i, k] * S[k, m]
    sig = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            s = 0.0
            for m in range(3):
                s += FS[i, m] * F[j, m]
            sig[i, j] = s / J
    return sig


@njit(cache=True)
def cauchy_from_pk2_points(F, S, sigma):
    """:func:`cauchy_from_pk2` at ``n`` points: ``F, S (n, 3, 3)`` -> ``sigma (n, 3, 3)``."""
    for q in range(F.shape[0]):
        sigma[q] = cauchy_from_pk2(F[q], S[q])
