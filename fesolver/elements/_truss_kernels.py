r"""Compiled kernels of the geometrically nonlinear two-node truss (line2): axial force, internal forces,
consistent tangent and strain energy.

Conventions as in :mod:`fesolver.assembly._kernels`: ``points (nn, 3)`` reference coordinates [mm],
``u (nn, 3)`` displacements [mm], ``conn (nel, 2) int64``; element vectors ``(nel, 6)`` and matrices
``(nel, 6, 6)`` with DOF order ``3 * a + i`` (node ``a``, component ``i``). The public wrapper
:func:`fesolver.elements.truss.truss_response` checks shapes and dtypes; these functions trust them.

Kinematics and strain measure
-----------------------------
With reference length :math:`L_0 = |X_1 - X_0|`, current length :math:`l = |x_1 - x_0|`
(:math:`x = X + u`) and current unit direction :math:`n = (x_1 - x_0) / l`, the stretch is
:math:`\lambda = l / L_0`. The constitutive laws use the **engineering strain including the reference
(pre-)strain** :math:`\varepsilon_r`:

.. math::
    \varepsilon = \lambda\,(1 + \varepsilon_r) - 1, \qquad
    \frac{d\varepsilon}{dl} = \frac{1 + \varepsilon_r}{L_0},

i.e. the stress-free length is :math:`L_0 / (1 + \varepsilon_r)` (a pre-strained element carries a force at
:math:`u = 0`). The axial force is a function :math:`N = f(\varepsilon)` [N] of the law (``law[e]``):

* ``0`` linear elastic: :math:`f = E A \varepsilon` (tension and compression);
* ``1`` tension-only linear (cable): :math:`f = E A \varepsilon` for :math:`\varepsilon > 0`, else
  :math:`f = 0` with zero stiffness (slack);
* ``2`` toe region + linear (Blankevoort & Huiskes 1991, J Biomech Eng 113:263), tension only:

  .. math::
      f = \begin{cases} 0 & \varepsilon < 0 \\ k\,\varepsilon^2 / (4\varepsilon_l) & 0 \le \varepsilon \le
      2\varepsilon_l \\ k\,(\varepsilon - \varepsilon_l) & \varepsilon > 2\varepsilon_l \end{cases}

  continuous with a continuous slope :math:`k` at :math:`\varepsilon = 2\varepsilon_l`.

``params (nel, 3)``: ``[c, eps_l, eps_r]`` with ``c`` = Young's modulus E [MPa] for laws 0 and 1 (the
force uses ``E * area[e]``) and ``c`` = k [N] (stiffness per unit strain, area unused) for law 2;
``eps_l`` the toe-region limit strain (law 2 only); ``eps_r`` the reference pre-strain.

Residual and tangent
--------------------
The strain energy is :math:`\Pi = \int_0^l N\,dl = \frac{L_0}{1 + \varepsilon_r}\int_0^{\varepsilon}
f\,d\varepsilon`, so the internal force and its exact derivative are

.. math::
    f^e = N \begin{bmatrix} -n \\ n \end{bmatrix}, \qquad
    K^e = \begin{bmatrix} k & -k \\ -k & k \end{bmatrix}, \qquad
    k = \frac{dN}{dl}\, n \otimes n + \frac{N}{l}\,(I - n \otimes n), \qquad
    \frac{dN}{dl} = f'(\varepsilon)\,\frac{1 + \varepsilon_r}{L_0}

(material part plus geometric/initial-stress part). :math:`K^e` is symmetric and exact, so Newton converges
quadratically. A slack tension-only element has :math:`N = 0` and :math:`K^e = 0`: no artificial stiffness is
added here, the caller must keep the global system solvable. For a collapsed element (:math:`l = 0`) the
direction is taken from the reference configuration and the geometric part (undefined there) is dropped.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: law ids of the kernels
LINEAR = 0
TENSION_ONLY = 1
TOE_LINEAR = 2


@njit(cache=True, inline="always")
def _axial_force(law, c, area, eps_l, eps):
    """``(N [N], dN/deps [N])`` of law ``law`` at engineering strain ``eps``."""
    if law == 0:
        ea = c * area
        return ea * eps, ea
    if law == 1:
        if eps <= 0.0:
            return 0.0, 0.0
        ea = c * area
        return ea * eps, ea
    # law 2: Blankevoort-Huiskes toe region + linear, tension only
    if eps <= 0.0:
        return 0.0, 0.0
    if eps <= 2.0 * eps_l:
        return c * eps * eps / (4.0 * eps_l), c * eps / (2.0 * eps_l)
    return c * (eps - eps_l), c


@njit(cache=True, inline="always")
def _energy_density(law, c, area, eps_l, eps):
    """``int_0^eps f(e) de`` [N] of law ``law`` (energy per unit stress-free length)."""
    if law == 0:
        return 0.5 * c * area * eps * eps
    if eps <= 0.0:
        return 0.0
    if law == 1:
        return 0.5 * c * area * eps * eps
    if eps <= 2.0 * eps_l:
        return c * eps * eps * eps / (12.0 * eps_l)
    d = eps - eps_l
    return c * (0.5 * d * d + eps_l * eps_l / 6.0)


@njit(cache=True, parallel=True)
def truss_residual_tangent(points, conn, u, area, law, params, fe, Ke, force, stretch):
    r"""Internal forces, consistent tangent, axial force and stretch of a block of two-node trusses.

    See the module docstring for the maths (engineering strain with pre-strain, laws 0-2,
    :math:`f^e = N[-n, n]`, :math:`k = (dN/dl)\, n\otimes n + (N/l)(I - n\otimes n)`).

    Parameters
    ----------
    points : (nn, 3) float64, reference coordinates [mm]
    conn : (nel, 2) int64
    u : (nn, 3) float64, displacements [mm]
    area : (nel,) float64, reference cross-section area [mm^2] (laws 0 and 1)
    law : (nel,) int64, law id per element (0 linear, 1 tension-only linear, 2 toe + linear)
    params : (nel, 3) float64, ``[c, eps_l, eps_r]`` per element (module docstring)
    fe : (nel, 6) out, internal nodal forces [N]
    Ke : (nel, 6, 6) out, tangent stiffness [N/mm]
    force : (nel,) out, axial force N [N] (> 0 in tension)
    stretch : (nel,) out, l / L0 [-] (geometric stretch w.r.t. the mesh, without the pre-strain)
    """
    nel = conn.shape[0]
    for e in prange(nel):
        i0 = conn[e, 0]
        i1 = conn[e, 1]
        D0 = points[i1, 0] - points[i0, 0]
        D1 = points[i1, 1] - points[i0, 1]
        D2 = points[i1, 2] - points[i0, 2]
        L0 = np.sqrt(D0 * D0 + D1 * D1 + D2 * D2)
        d0 = D0 + u[i1, 0] - u[i0, 0]
        d1 = D1 + u[i1, 1] - u[i0, 1]
        d2 = D2 + u[i1, 2] - u[i0, 2]
        l = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        n = np.empty(3)
        if l > 0.0:
            n[0] = d0 / l
            n[1] = d1 / l
            n[2] = d2 / l
        else:
            n[0] = D0 / L0
            n[1] = D1 / L0
            n[2] = D2 / L0
        lam = l / L0
        s = 1.0 + params[e, 2]
        N, dN = _axial_force(law[e], params[e, 0], area[e], params[e, 1], lam * s - 1.0)
        kmat = dN * s / L0
        kgeo = N / l if l > 0.0 else 0.0
        force[e] = N
        stretch[e] = lam
        for i in range(3):
            fe[e, i] = -N * n[i]
            fe[e, 3 + i] = N * n[i]
            for j in range(3):
                k = (kmat - kgeo) * n[i] * n[j]
                if i == j:
                    k += kgeo
                Ke[e, i, j] = k
                Ke[e, 3 + i, 3 + j] = k
                Ke[e, i, 3 + j] = -k
                Ke[e, 3 + i, j] = -k


@njit(cache=True, parallel=True)
def truss_energy(points, conn, u, area, law, params, energy):
    r"""Strain energy of each truss, ``energy[e]`` [mJ = N mm]:
    :math:`\Pi = \frac{L_0}{1+\varepsilon_r}\int_0^\varepsilon f\,d\varepsilon`, whose gradient with respect to
    the nodal displacements is the ``fe`` of :func:`truss_residual_tangent` (arguments as there).
    """
    nel = conn.shape[0]
    for e in prange(nel):
        i0 = conn[e, 0]
        i1 = conn[e, 1]
        L0 = 0.0
        l2 = 0.0
        for i in range(3):
            D = points[i1, i] - points[i0, i]
            d = D + u[i1, i] - u[i0, i]
            L0 += D * D
            l2 += d * d
        L0 = np.sqrt(L0)
        s = 1.0 + params[e, 2]
        eps = np.sqrt(l2) / L0 * s - 1.0
        energy[e] = L0 / s * _energy_density(law[e], params[e, 0], area[e], params[e, 1], eps)
