"""Finite-difference checks shared by the material tests: Voigt packing, strain perturbations, FD stress and
tangent of a material's ``pk2(C) -> (S, D, W)``."""

from __future__ import annotations

import numpy as np

VI = (0, 1, 2, 0, 1, 0)
VJ = (0, 1, 2, 1, 2, 2)


def voigt(S: np.ndarray) -> np.ndarray:
    return S[..., VI, VJ]


def perturbations(h: float) -> np.ndarray:
    """dC = 2 dE for a step h in each engineering Voigt strain component."""
    dC = np.zeros((6, 3, 3))
    for p, (i, j) in enumerate(zip(VI, VJ, strict=True)):
        if i == j:
            dC[p, i, i] = 2.0 * h
        else:
            dC[p, i, j] = dC[p, j, i] = h
    return dC


def fd_tangent(mat, C, h=1e-6) -> np.ndarray:
    """Central difference of S (Voigt) with respect to the engineering Voigt strain: ``(6, 6)``."""
    dC = perturbations(h)
    Sp, _, _ = mat.pk2(C + dC)
    Sm, _, _ = mat.pk2(C - dC)
    return ((voigt(Sp) - voigt(Sm)) / (2.0 * h)).T


def fd_stress(mat, C, h=1e-6) -> np.ndarray:
    """Central difference of W with respect to the engineering Voigt strain: ``(6,)``."""
    dC = perturbations(h)
    _, _, Wp = mat.pk2(C + dC)
    _, _, Wm = mat.pk2(C - dC)
    return (Wp - Wm) / (2.0 * h)


def relerr(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())
