"""Named error classes. Every message says what was wrong, where, and what was expected."""

from __future__ import annotations

__all__ = ["FesolverError", "MeshError", "ModelError", "ScenarioError", "SolverError"]


class FesolverError(Exception):
    """Base class of all errors fesolver raises on purpose."""


class MeshError(FesolverError):
    """A mesh file cannot be used: unreadable, unsupported cells, inverted or degenerate elements."""


class ModelError(FesolverError):
    """A model file (TOML) is invalid: unknown key, wrong type, missing file, unknown set, bad value."""


class ScenarioError(ModelError):
    """A scenario file (TOML) is invalid: unknown key, wrong type, value out of range, broken ``extends``."""


class SolverError(FesolverError):
    """A linear or nonlinear solve failed (singular system, no convergence)."""
