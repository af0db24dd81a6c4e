r"""Numba kernels of the nodally integrated (uniform-strain) tetrahedron, see :mod:`fesolver.elements.ut4`.

An *integration point* ``p`` is a node patch or an element: a list of nodes ``a`` (CSR ``ptr``, ``nodes``) with
reference gradient vectors ``G_pa`` [1/mm], a reference volume ``V_p`` [mm^3] and a weight ``w_p``. Its
deformation gradient is

.. math:: F_p = I + \sum_a u_a \otimes G_{pa},

and it contributes the energy ``w_p V_p W(C_p)``: internal forces ``f_a = w_p V_p F_p S_p G_pa`` and the
total-Lagrangian tangent

.. math:: K_{ab} = w_p V_p \left( B_a^T D B_b + (G_{pa} \cdot S_p G_{pb}) I \right),

``S`` the second Piola-Kirchhoff stress, ``D = dS/dE`` (Voigt 11 22 33 12 23 13, engineering shears) and
``B_a`` the nonlinear strain-displacement matrix of ``G_pa`` at ``F_p``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def deformation_gradients_points(ptr, nodes, G, u, F):
    """``F[p] = I + sum_a u[a] (x) G[m]`` over the nodes ``m`` of each integration point ``p``."""
    for p in range(ptr.size - 1):
        for i in range(3):
            for J in range(3):
                F[p, i, J] = 1.0 if i == J else 0.0
        for m in range(ptr[p], ptr[p + 1]):
            a = nodes[m]
            for i in range(3):
                for J in range(3):
                    F[p, i, J] += u[a, i] * G[m, J]


@njit(cache=True)
def _bmatrix(F, g, B):
    for i in range(3):
        B[0, i] = F[i, 0] * g[0]
        B[1, i] = F[i, 1] * g[1]
        B[2, i] = F[i, 2] * g[2]
        B[3, i] = F[i, 0] * g[1] + F[i, 1] * g[0]
        B[4, i] = F[i, 1] * g[2] + F[i, 2] * g[1]
        B[5, i] = F[i, 0] * g[2] + F[i, 2] * g[0]


@njit(cache=True)
def residual_tangent_points(ptr, nodes, G, V, w, F, S, D, want_tangent, f, rows, cols, vals):
    """Internal forces ``f (3 nn,)`` (added to) and, if ``want_tangent``, the COO triplets of the tangent.

    ``rows, cols, vals`` have ``sum_p 9 m_p^2`` entries (``m_p`` nodes of point ``p``), filled in point order.
    """
    B = np.empty((6, 3))
    Bb = np.empty((6, 3))
    DB = np.empty((6, 3))
    P = np.empty((3, 3))
    pos = 0
    for p in range(ptr.size - 1):
        s = w[p] * V[p]
        for i in range(3):
            for J in range(3):
                acc = 0.0
                for K in range(3):
                    acc += F[p, i, K] * S[p, K, J]
                P[i, J] = acc
        for m in range(ptr[p], ptr[p + 1]):
            a = nodes[m]
            for i in range(3):
                acc = 0.0
                for J in range(3):
                    acc += P[i, J] * G[m, J]
                f[3 * a + i] += s * acc
        if not want_tangent:
            continue
        for ma in range(ptr[p], ptr[p + 1]):
            _bmatrix(F[p], G[ma], B)
            for v in range(6):
                for k in range(3):
                    acc = 0.0
                    for q in range(6):
                        acc += D[p, v, q] * B[q, k]
                    DB[v, k] = acc
            for mb in range(ptr[p], ptr[p + 1]):
                _bmatrix(F[p], G[mb], Bb)
                geo = 0.0
                for I in range(3):
                    for J in range(3):
                        geo += G[ma, I] * S[p, I, J] * G[mb, J]
                for i in range(3):
                    for k in range(3):
                        acc = 0.0
                        for v in range(6):
                            acc += DB[v, i] * Bb[v, k]
                        if i == k:
                            acc += geo
                        rows[pos] = 3 * nodes[ma] + i
                        cols[pos] = 3 * nodes[mb] + k
                        vals[pos] = s * acc
                        pos += 1
