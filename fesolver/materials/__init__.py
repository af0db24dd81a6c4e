"""Constitutive models. Parameters in MPa; densities in t/mm^3.

* :mod:`~fesolver.materials.linear`: isotropic linear elasticity (small strain);
* :mod:`~fesolver.materials.hyperelastic`: St Venant-Kirchhoff, neo-Hookean, Mooney-Rivlin, second-order
  polynomial, Ogden, compressible foam (hyperfoam) and fibre-reinforced (tension-only fibres) models for
  finite strain, and mixtures of two of them (uniform or graded in space); their stress and tangent are
  evaluated by the numba kernels in :mod:`~fesolver.materials._kernels`;
* :mod:`~fesolver.materials.active_contraction`: FEBio's active fibre contraction (an added fibre stress).
"""

from __future__ import annotations

from .active_contraction import ActiveFibreContraction
from .hyperelastic import (
    MODELS as _HYPERELASTIC_MODELS,
)
from .hyperelastic import (
    FibreNeoHookean,
    Hyperfoam,
    LinearGrading,
    Mixture,
    MooneyRivlin,
    NeoHookean,
    Ogden,
    Polynomial2,
    StVenantKirchhoff,
    TransIsoMooneyRivlin,
)
from .linear import LinearElastic, stiffness_from_young_poisson

__all__ = [
    "LinearElastic",
    "stiffness_from_young_poisson",
    "StVenantKirchhoff",
    "NeoHookean",
    "MooneyRivlin",
    "Polynomial2",
    "Ogden",
    "TransIsoMooneyRivlin",
    "FibreNeoHookean",
    "Hyperfoam",
    "Mixture",
    "LinearGrading",
    "MATERIAL_MODELS",
    "ActiveFibreContraction",
]

#: model-file name -> (class or factory, required keys, optional keys)
MATERIAL_MODELS = {
    "linear_elastic": (LinearElastic, ("E", "nu"), ("density",)),
    **_HYPERELASTIC_MODELS,
}
