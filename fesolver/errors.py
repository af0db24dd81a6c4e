"""Named error classes. Every message says what was wrong, where, and what was expected."""

from __future__ import annotations

__all__ = ["FesolverError", "MeshError", "ModelError", "ScenarioError", "SolverError", "read_toml"]


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


def read_toml(path, error: type[FesolverError] = ModelError, what: str = "file", where: str = "") -> dict:
    """Read a TOML file (data only: nothing is executed), raising ``error`` naming the file for a missing file,
    invalid TOML or a file that is not UTF-8 text; ``what`` names the kind of file ("model file"), ``where``
    is appended to the not-found message (e.g. which file referred to it)."""
    import tomllib
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} not found{where}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a UTF-8 text file: {exc}") from exc
