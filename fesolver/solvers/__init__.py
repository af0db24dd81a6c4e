"""Linear (and, later, nonlinear) solvers."""

from __future__ import annotations

from .linear import (
    METHODS,
    PRECISIONS,
    LinearSolveInfo,
    LinearSolverOptions,
    available_methods,
    rigid_body_modes,
    solve_linear,
)

__all__ = ["METHODS", "PRECISIONS", "LinearSolveInfo", "LinearSolverOptions", "available_methods", "rigid_body_modes",
           "solve_linear"]
