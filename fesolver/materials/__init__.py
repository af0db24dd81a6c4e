"""Constitutive models. Parameters in MPa; densities in t/mm^3."""

from __future__ import annotations

from .linear import LinearElastic, stiffness_from_young_poisson

__all__ = ["LinearElastic", "stiffness_from_young_poisson", "MATERIAL_MODELS"]

#: model-file name -> (class, required keys, optional keys)
MATERIAL_MODELS = {
    "linear_elastic": (LinearElastic, ("E", "nu"), ("density",)),
}
