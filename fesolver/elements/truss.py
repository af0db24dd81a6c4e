"""Geometrically nonlinear two-node trusses and cables (line2): plantar-fascia bands, ligaments.

A truss carries only an axial force :math:`N(\\varepsilon)` [N], a function of the engineering strain
:math:`\\varepsilon = \\lambda (1 + \\varepsilon_r) - 1` (stretch :math:`\\lambda = l / L_0`, reference pre-strain
:math:`\\varepsilon_r`); large displacements and rotations are exact (the maths is in
:mod:`fesolver.elements._truss_kernels`). Laws: ``linear`` (optionally tension-only: a cable) and
``toe_linear`` (Blankevoort & Huiskes 1991 ligament model, quadratic toe region then linear, tension-only).

>>> import numpy as np
>>> from fesolver.elements.truss import TrussMaterial, truss_response
>>> points = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]])         # mm
>>> u = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0]])              # 1 % stretch
>>> fascia = TrussMaterial("linear", E=300.0, area=20.0, tension_only=True)
>>> r = truss_response(points, np.array([[0, 1]]), u, fascia)
>>> round(float(r.force[0]), 9), round(float(r.stress[0]), 9)  # N = E A eps [N], N / A [MPa]
(60.0, 3.0)
>>> r.fe.shape, r.Ke.shape
((1, 6), (1, 6, 6))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import MeshError
from . import _truss_kernels as K

__all__ = ["TrussMaterial", "TrussParameters", "TrussResponse", "truss_parameters", "truss_response",
           "truss_energy", "TRUSS_LAWS"]

#: truss law names -> kernel law id when tension-only is (False, True); ``None``: combination not allowed
TRUSS_LAWS: dict[str, tuple[int | None, int]] = {
    "linear": (K.LINEAR, K.TENSION_ONLY),
    "toe_linear": (None, K.TOE_LINEAR),
}

#: allowed ranges (open at both ends unless stated)
TOE_STRAIN_RANGE = (0.0, 0.25)  # upper bound included
PRESTRAIN_RANGE = (-0.5, 0.5)


@dataclass(frozen=True)
class TrussMaterial:
    """Axial law of a truss or cable element.

    Parameters
    ----------
    law : {"linear", "toe_linear"}
        ``linear``: :math:`N = E A \\varepsilon` (with ``tension_only=True``: :math:`N = 0` when
        :math:`\\varepsilon \\le 0`, a cable). ``toe_linear``: Blankevoort & Huiskes (1991) ligament law,
        :math:`N = k \\varepsilon^2 / (4 \\varepsilon_l)` for :math:`0 \\le \\varepsilon \\le 2\\varepsilon_l`,
        :math:`k (\\varepsilon - \\varepsilon_l)` above, 0 in compression (always tension-only).
    E : float or None
        Young's modulus [MPa], > 0. Give either ``E`` or ``k``; with ``E`` the axial stiffness is ``E * area``.
    area : float
        Reference cross-section area [mm^2], > 0 (stress output is ``N / area``).
    k : float or None
        Axial stiffness per unit strain [N] (``E A``), > 0; alternative to ``E``.
    toe_strain : float
        Toe-region limit strain :math:`\\varepsilon_l` [-] of ``toe_linear``, 0 < toe_strain <= 0.25
        (linear region from :math:`2\\varepsilon_l`).
    prestrain : float
        Reference strain :math:`\\varepsilon_r` [-] in the mesh configuration, -0.5 < prestrain < 0.5: the
        stress-free length is :math:`L_0 / (1 + \\varepsilon_r)`, so a positive value pre-tensions the element.
    tension_only : bool or None
        ``linear`` only: carry no compression (slack cable). ``None``: False for ``linear``, True for
        ``toe_linear`` (which is tension-only by definition; False is an error).
    name : str
        Label used in error messages.

    Examples
    --------
    >>> acl = TrussMaterial("toe_linear", E=None, area=40.0, k=5000.0, prestrain=0.02)
    >>> acl.law_id, acl.axial_stiffness, acl.tension_only
    (2, 5000.0, True)
    """

    law: str
    E: float | None
    area: float
    k: float | None = None
    toe_strain: float = 0.03
    prestrain: float = 0.0
    tension_only: bool | None = None
    name: str = "truss"

    def __post_init__(self):
        who = f"TrussMaterial {self.name!r}"
        if self.law not in TRUSS_LAWS:
            raise ValueError(f"{who}: law must be one of {sorted(TRUSS_LAWS)}, got {self.law!r}")
        if not _finite_positive(self.area):
            raise ValueError(f"{who}: area must be a finite cross-section area > 0 in mm^2, got {self.area}")
        if (self.E is None) == (self.k is None):
            raise ValueError(
                f"{who}: give exactly one of E (Young's modulus, MPa) and k (axial stiffness E*A, N); got "
                f"E={self.E}, k={self.k}"
            )
        if self.E is not None and not _finite_positive(self.E):
            raise ValueError(f"{who}: E must be a finite Young's modulus > 0 in MPa, got {self.E}")
        if self.k is not None and not _finite_positive(self.k):
            raise ValueError(f"{who}: k must be a finite axial stiffness > 0 in N, got {self.k}")
        lo, hi = TOE_STRAIN_RANGE
        if not (_real(self.toe_strain) and lo < self.toe_strain <= hi):
            raise ValueError(f"{who}: toe_strain must satisfy {lo} < toe_strain <= {hi}, got {self.toe_strain}")
        lo, hi = PRESTRAIN_RANGE
        if not (_real(self.prestrain) and lo < self.prestrain < hi):
            raise ValueError(f"{who}: prestrain must satisfy {lo} < prestrain < {hi}, got {self.prestrain}")
        t = self.tension_only
        if t is None:
            t = TRUSS_LAWS[self.law][0] is None
            object.__setattr__(self, "tension_only", t)
        if not isinstance(t, (bool, np.bool_)):
            raise ValueError(f"{who}: tension_only must be True, False or None, got {t!r}")
        if TRUSS_LAWS[self.law][int(bool(t))] is None:
            raise ValueError(f"{who}: law {self.law!r} is tension-only; tension_only must be True or None, got {t}")

    @property
    def law_id(self) -> int:
        """Kernel law id (0 linear, 1 tension-only linear, 2 toe + linear)."""
        return TRUSS_LAWS[self.law][int(bool(self.tension_only))]

    @property
    def axial_stiffness(self) -> float:
        """Stiffness per unit strain ``E A`` or ``k`` [N] (slope of the linear region)."""
        return float(self.k) if self.k is not None else float(self.E) * float(self.area)

    def kernel_row(self) -> np.ndarray:
        """``[c, eps_l, eps_r]`` as the kernel expects: c = E [MPa] for laws 0 and 1, k [N] for law 2."""
        c = self.axial_stiffness / self.area if self.law_id != K.TOE_LINEAR else self.axial_stiffness
        return np.array([c, self.toe_strain, self.prestrain], dtype=np.float64)


def _real(x) -> bool:
    """True for a finite real number (not a bool)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


def _finite_positive(x) -> bool:
    return _real(x) and x > 0.0


@dataclass(frozen=True)
class TrussParameters:
    """Per-element kernel arrays of a truss block (build once per model with :func:`truss_parameters`).

    Attributes
    ----------
    law : (nel,) int64
        Kernel law id per element.
    params : (nel, 3) float64
        ``[c, eps_l, eps_r]`` per element (see :mod:`fesolver.elements._truss_kernels`).
    area : (nel,) float64
        Reference cross-section area [mm^2].
    """

    law: np.ndarray
    params: np.ndarray
    area: np.ndarray

    @property
    def n_elements(self) -> int:
        return int(self.law.shape[0])

    def strain(self, stretch: np.ndarray) -> np.ndarray:
        """Engineering strain :math:`\\lambda (1 + \\varepsilon_r) - 1` [-] from the stretch ``l / L0``."""
        return np.asarray(stretch) * (1.0 + self.params[:, 2]) - 1.0


Materials = TrussMaterial | Sequence[TrussMaterial] | TrussParameters


def truss_parameters(materials: Materials, n_elements: int, material_index=None) -> TrussParameters:
    """Pack the materials of a truss block into kernel arrays.

    Parameters
    ----------
    materials : TrussMaterial, sequence of TrussMaterial, or TrussParameters
        One material for all elements; or a list indexed by ``material_index``; or, without
        ``material_index``, one material per element. A ``TrussParameters`` is checked and returned.
    n_elements : int
        Number of elements of the block.
    material_index : (nel,) int array, optional
        Index into ``materials`` of each element's material.
    """
    if isinstance(materials, TrussParameters):
        if materials.n_elements != n_elements:
            raise ValueError(f"truss parameters are for {materials.n_elements} elements, the block has {n_elements}")
        return materials
    if isinstance(materials, TrussMaterial):
        materials = [materials]
        if material_index is None:
            material_index = np.zeros(n_elements, dtype=np.int64)
    mats = list(materials)
    if not mats or not all(isinstance(m, TrussMaterial) for m in mats):
        raise TypeError("materials must be a TrussMaterial or a non-empty sequence of TrussMaterial")
    if material_index is None:
        if len(mats) != n_elements:
            raise ValueError(
                f"{len(mats)} truss materials for {n_elements} elements: give one per element or a material_index"
            )
        material_index = np.arange(n_elements)
    idx = np.asarray(material_index)
    if idx.shape != (n_elements,) or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"material_index must be an integer array of shape ({n_elements},), got {idx.shape} "
                         f"{idx.dtype}")
    if n_elements and (idx.min() < 0 or idx.max() >= len(mats)):
        raise ValueError(f"material_index must lie in [0, {len(mats) - 1}], got [{idx.min()}, {idx.max()}]")
    law = np.array([m.law_id for m in mats], dtype=np.int64)[idx]
    params = np.array([m.kernel_row() for m in mats], dtype=np.float64).reshape(len(mats), 3)[idx]
    area = np.array([m.area for m in mats], dtype=np.float64)[idx]
    return TrussParameters(np.ascontiguousarray(law), np.ascontiguousarray(params), np.ascontiguousarray(area))


class TrussResponse(NamedTuple):
    """Output of :func:`truss_response` (unpacks as ``fe, Ke, force, stretch, stress``)."""

    #: (nel, 6) internal nodal forces [N], DOF order 3 a + i
    fe: np.ndarray
    #: (nel, 6, 6) consistent tangent [N/mm] (symmetric)
    Ke: np.ndarray
    #: (nel,) axial force N [N], > 0 in tension
    force: np.ndarray
    #: (nel,) stretch l / L0 [-] relative to the mesh (without the pre-strain)
    stretch: np.ndarray
    #: (nel,) nominal stress N / A [MPa] (reference area)
    stress: np.ndarray


def _inputs(points, conn, u):
    p = np.ascontiguousarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"points must have shape (n, 3) [mm], got {p.shape}")
    c = np.asarray(conn)
    if c.ndim != 2 or c.shape[1] != 2 or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"truss connectivity must be an integer array of shape (nel, 2), got {c.shape} {c.dtype}")
    c = np.ascontiguousarray(c, dtype=np.int64)
    if c.size and (c.min() < 0 or c.max() >= p.shape[0]):
        raise ValueError(f"truss connectivity refers to nodes outside [0, {p.shape[0] - 1}]")
    uu = np.ascontiguousarray(u, dtype=np.float64)
    if uu.shape == (3 * p.shape[0],):
        uu = uu.reshape(-1, 3)
    if uu.shape != p.shape:
        raise ValueError(f"u must have shape {p.shape} or ({3 * p.shape[0]},) [mm], got {uu.shape}")
    L0 = np.linalg.norm(p[c[:, 1]] - p[c[:, 0]], axis=1)
    bad = np.flatnonzero(~(L0 > 0.0))
    if bad.size:
        e = int(bad[0])
        raise MeshError(f"{bad.size} truss element(s) have zero length, e.g. element {e} (nodes {c[e, 0]} and "
                        f"{c[e, 1]}); remove them or merge their nodes")
    return p, c, uu


def truss_response(points: np.ndarray, conn: np.ndarray, u: np.ndarray, materials: Materials,
                   material_index: np.ndarray | None = None) -> TrussResponse:
    """Internal forces, consistent tangent, axial force, stretch and stress of a block of trusses.

    Parameters
    ----------
    points : (nn, 3) float64
        Reference nodal coordinates [mm].
    conn : (nel, 2) int
        Node numbers of each truss.
    u : (nn, 3) or (3 nn,) float64
        Nodal displacements [mm].
    materials : TrussMaterial, sequence of TrussMaterial, or TrussParameters
        See :func:`truss_parameters` (pack once with it when calling this in a Newton loop).
    material_index : (nel,) int array, optional
        Index into ``materials`` of each element's material.

    Returns
    -------
    TrussResponse
        ``fe (nel, 6)`` [N], ``Ke (nel, 6, 6)`` [N/mm], ``force (nel,)`` [N], ``stretch (nel,)`` [-],
        ``stress (nel,)`` [MPa]. Add ``fe`` and ``Ke`` to the global system with
        :meth:`fesolver.assembly.SparsityPattern.add_element_vectors` / ``add_element_matrices`` of the truss
        block. Slack tension-only elements contribute exactly zero (the caller keeps the system solvable).
    """
    p, c, uu = _inputs(points, conn, u)
    tp = truss_parameters(materials, c.shape[0], material_index)
    nel = c.shape[0]
    fe = np.empty((nel, 6))
    Ke = np.empty((nel, 6, 6))
    force = np.empty(nel)
    stretch = np.empty(nel)
    if nel:
        K.truss_residual_tangent(p, c, uu, tp.area, tp.law, tp.params, fe, Ke, force, stretch)
    return TrussResponse(fe, Ke, force, stretch, force / tp.area)


def truss_energy(points: np.ndarray, conn: np.ndarray, u: np.ndarray, materials: Materials,
                 material_index: np.ndarray | None = None) -> np.ndarray:
    """Strain energy of each truss (nel,) [mJ = N mm]; its gradient w.r.t. ``u`` is ``truss_response(...).fe``.

    Arguments as in :func:`truss_response`.
    """
    p, c, uu = _inputs(points, conn, u)
    tp = truss_parameters(materials, c.shape[0], material_index)
    out = np.empty(c.shape[0])
    if c.shape[0]:
        K.truss_energy(p, c, uu, tp.area, tp.law, tp.params, out)
    return out
