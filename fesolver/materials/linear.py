"""Isotropic linear elasticity (small strain)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LinearElastic", "stiffness_from_young_poisson"]


@dataclass(frozen=True)
class LinearElastic:
    """Isotropic linear-elastic material.

    Parameters
    ----------
    E : float
        Young's modulus [MPa], > 0.
    nu : float
        Poisson's ratio [-], -1 < nu < 0.5.
    density : float
        Mass density [t/mm^3] (1000 kg/m^3 = 1e-9 t/mm^3); used by gravity loads only.
    name : str
        Label used in error messages and outputs.
    """

    E: float
    nu: float
    density: float = 0.0
    name: str = "linear_elastic"

    def __post_init__(self):
        if not np.isfinite(self.E) or self.E <= 0.0:
            raise ValueError(f"material {self.name!r}: E must be a positive modulus in MPa, got {self.E}")
        if not (-1.0 < self.nu < 0.5):
            raise ValueError(f"material {self.name!r}: nu must satisfy -1 < nu < 0.5, got {self.nu}")
        if self.density < 0.0:
            raise ValueError(f"material {self.name!r}: density must be >= 0 (t/mm^3), got {self.density}")

    @property
    def lame(self) -> tuple[float, float]:
        """Lamé constants ``(lambda, mu)`` [MPa]."""
        lam = self.E * self.nu / ((1.0 + self.nu) * (1.0 - 2.0 * self.nu))
        mu = self.E / (2.0 * (1.0 + self.nu))
        return lam, mu

    def stress(self, strain: np.ndarray) -> np.ndarray:
        """Cauchy stress [MPa] from small strain, both ``(..., 6)`` in order XX YY ZZ XY YZ XZ (tensor shears)."""
        lam, mu = self.lame
        strain = np.asarray(strain, dtype=np.float64)
        s = 2.0 * mu * strain
        s[..., :3] += lam * strain[..., :3].sum(axis=-1, keepdims=True)
        return s


def stiffness_from_young_poisson(E: float, nu: float) -> np.ndarray:
    """6x6 elasticity matrix in Voigt order XX YY ZZ XY YZ XZ acting on engineering shear strains [MPa]."""
    lam, mu = LinearElastic(E, nu).lame
    D = np.zeros((6, 6))
    D[:3, :3] = lam
    D[np.arange(3), np.arange(3)] += 2.0 * mu
    D[np.arange(3, 6), np.arange(3, 6)] = mu
    return D
