"""Finite-strain hyperelastic materials (total Lagrangian).

Each material is a frozen dataclass holding its parameters [MPa]; :attr:`model_id` and :attr:`params` are what
the compiled kernel :func:`fesolver.materials._kernels.pk2_and_tangent` reads (the maths is in its docstring).
:meth:`pk2` and :meth:`stress` call the kernel from Python, for tests and post-processing.

Examples
--------
>>> import numpy as np
>>> from fesolver.materials.hyperelastic import NeoHookean
>>> mat = NeoHookean(E=1.0, nu=0.45)
>>> F = np.array([[1.0, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # simple shear, gamma = 0.1
>>> sigma = mat.stress(F)
>>> round(float(sigma[0, 1]), 6) == round(0.1 * mat.mu, 6)  # sigma_12 = mu * gamma
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import _kernels

__all__ = [
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
    "MODELS",
]


def _fail(mat, msg: str):
    raise ValueError(f"{type(mat).__name__} {mat.name!r}: {msg}")


def _finite(mat, **values):
    for k, v in values.items():
        if not np.isfinite(v):
            _fail(mat, f"{k} must be a finite number, got {v}")


def _check_E_nu(mat, E: float, nu: float):
    if E <= 0.0:
        _fail(mat, f"E must be > 0 MPa (Young's modulus), got {E}")
    if not (-1.0 < nu < 0.5):
        _fail(mat, f"nu must satisfy -1 < nu < 0.5 (Poisson's ratio; 0.5 is incompressible), got {nu}")


def _check_fibre(mat):
    _finite(mat, c3=mat.c3, c4=mat.c4, c5=mat.c5, lam_max=mat.lam_max)
    if mat.c3 < 0.0:
        _fail(mat, f"c3 must be >= 0 MPa (fibre toe-region stress scale), got {mat.c3}")
    if mat.c4 < 0.0:
        _fail(mat, f"c4 must be >= 0 (dimensionless fibre uncrimping rate), got {mat.c4}")
    if mat.c5 < 0.0:
        _fail(mat, f"c5 must be >= 0 MPa (modulus of straightened fibres), got {mat.c5}")
    if mat.lam_max < 1.0:
        _fail(mat, f"lam_max must be >= 1 (fibre stretch at which fibres are straight), got {mat.lam_max}")
    a = np.asarray(mat.fibre, dtype=np.float64)
    if a.shape != (3,) or not np.all(np.isfinite(a)) or np.linalg.norm(a) == 0.0:
        _fail(mat, f"fibre must be a non-zero 3-vector (reference fibre direction), got {mat.fibre}")
    object.__setattr__(mat, "fibre", tuple(float(x) for x in a / np.linalg.norm(a)))


def _check_ogden_terms(mat) -> None:
    """Normalise ``mat.mu``/``mat.alpha`` to float tuples and check them (Ogden and hyperfoam terms)."""
    mu = tuple(float(x) for x in np.atleast_1d(np.asarray(mat.mu, dtype=np.float64)))
    alpha = tuple(float(x) for x in np.atleast_1d(np.asarray(mat.alpha, dtype=np.float64)))
    object.__setattr__(mat, "mu", mu)
    object.__setattr__(mat, "alpha", alpha)
    if not 1 <= len(mu) <= 3:
        _fail(mat, f"mu must have 1 to 3 terms, got {len(mu)}")
    if len(alpha) != len(mu):
        _fail(mat, f"alpha must have as many terms as mu ({len(mu)}), got {len(alpha)}")
    _finite(mat, **{f"mu{p + 1}": v for p, v in enumerate(mu)})
    _finite(mat, **{f"alpha{p + 1}": v for p, v in enumerate(alpha)})
    for p, a in enumerate(alpha):
        if a == 0.0:
            _fail(mat, f"alpha{p + 1} must be non-zero, got {a}")
    if sum(mu) <= 0.0:
        _fail(
            mat,
            f"mu: sum(mu) must be > 0 MPa (shear modulus at the reference state; otherwise the material is not "
            f"positive definite), got {sum(mu)}",
        )


def _ogden_params(mat, size: int) -> np.ndarray:
    """Kernel parameter vector of length ``size`` starting ``n, mu1, alpha1, mu2, alpha2, mu3, alpha3``."""
    p = np.zeros(size)
    p[0] = len(mat.mu)
    for i, (m, a) in enumerate(zip(mat.mu, mat.alpha, strict=True)):
        p[1 + 2 * i] = m
        p[2 + 2 * i] = a
    return p


def _collect_terms(cls_name: str, name: str, keys: tuple[str, ...], terms: dict) -> dict[str, list]:
    """Scalar model-file keys ``mu1, alpha1, mu2, ...`` -> lists per key; term p needs all of ``keys`` or none.

    ``terms`` maps ``f"{key}{p}"`` (p = 1, 2, 3) to a value or None; term 1 is required, term 3 needs term 2.
    """
    out = {k: [] for k in keys}
    present = []
    for p in (1, 2, 3):
        vals = [terms.get(f"{k}{p}") for k in keys]
        given = [v is not None for v in vals]
        if any(given) and not all(given):
            raise ValueError(f"{cls_name} {name!r}: {' and '.join(f'{k}{p}' for k in keys)} must be given together")
        present.append(all(given))
        if all(given):
            for k, v in zip(keys, vals, strict=True):
                out[k].append(v)
    if not present[0]:
        raise ValueError(f"{cls_name} {name!r}: {', '.join(f'{k}1' for k in keys)} are required")
    if present[2] and not present[1]:
        raise ValueError(f"{cls_name} {name!r}: {keys[0]}3 given without {keys[0]}2")
    return out


def _E_nu_from_K_mu(K: float, mu: float) -> tuple[float, float]:
    return 9.0 * K * mu / (3.0 * K + mu), (3.0 * K - 2.0 * mu) / (2.0 * (3.0 * K + mu))


def _lame(E: float, nu: float) -> tuple[float, float]:
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


class _Hyperelastic:
    """Shared behaviour: kernel parameters, Python-level stress evaluation, density check."""

    model_id: ClassVar[int]
    fibre_reinforced: ClassVar[bool] = False
    _fields: ClassVar[tuple[str, ...]]

    @property
    def params(self) -> np.ndarray:
        """Parameter vector read by the kernel (float64, see :mod:`fesolver.materials._kernels`)."""
        return np.array([getattr(self, f) for f in self._fields], dtype=np.float64)

    def small_strain_moduli(self) -> tuple[float, float]:
        """``(E, nu)`` of the tangent at the reference state (fibres, if any, are slack there)."""
        raise NotImplementedError

    @property
    def lame(self) -> tuple[float, float]:
        """Lamé constants ``(lambda, mu)`` [MPa] of the tangent at the reference state."""
        return _lame(*self.small_strain_moduli())

    def _check_density(self):
        if not np.isfinite(self.density) or self.density < 0.0:
            _fail(self, f"density must be >= 0 t/mm^3, got {self.density}")

    def _fibre_dirs(self, a0, shape) -> np.ndarray:
        if a0 is None:
            a0 = self.fibre if self.fibre_reinforced else (0.0, 0.0, 0.0)
        a = np.asarray(a0, dtype=np.float64)
        if a.shape[-1:] != (3,):
            raise ValueError(f"a0 must have shape (3,) or (..., 3), got {a.shape}")
        if self.fibre_reinforced:
            n = np.linalg.norm(a, axis=-1, keepdims=True)
            if np.any(n == 0.0):
                raise ValueError("a0: fibre directions must be non-zero")
            a = a / n
        return np.ascontiguousarray(np.broadcast_to(a, shape + (3,)))

    def pk2(self, C, a0=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
        """Second Piola-Kirchhoff stress, material tangent and strain energy at ``C``.

        Parameters
        ----------
        C : (3, 3) or (..., 3, 3) array_like
            Right Cauchy-Green tensor(s), symmetric, ``det C > 0``.
        a0 : (3,) or (..., 3) array_like, optional
            Reference fibre direction(s), normalised here; default :attr:`fibre` (fibre models), ignored by
            isotropic models.

        Returns
        -------
        S : (..., 3, 3) ndarray
            Second Piola-Kirchhoff stress [MPa].
        D : (..., 6, 6) ndarray
            Tangent ``dS/dE`` [MPa], Voigt order 11 22 33 12 23 13, engineering shear strains.
        W : float or (...) ndarray
            Strain-energy density [MPa = mJ/mm^3].
        """
        C = np.asarray(C, dtype=np.float64)
        if C.shape[-2:] != (3, 3):
            raise ValueError(f"C must have shape (3, 3) or (..., 3, 3), got {C.shape}")
        batch = C.shape[:-2]
        Cf = np.ascontiguousarray(C.reshape(-1, 3, 3))
        a = self._fibre_dirs(a0, batch).reshape(-1, 3)
        n = Cf.shape[0]
        S = np.empty((n, 3, 3))
        D = np.empty((n, 6, 6))
        W = np.empty(n)
        _kernels.pk2_and_tangent_points(self.model_id, self.params, Cf, a, S, D, W)
        if np.any(np.isinf(W)):
            raise ValueError(f"{type(self).__name__} {self.name!r}: det C <= 0 (inverted material)")
        S = S.reshape(batch + (3, 3))
        D = D.reshape(batch + (6, 6))
        return S, D, (float(W[0]) if not batch else W.reshape(batch))

    def stress(self, F, a0=None) -> np.ndarray:
        """Cauchy stress [MPa] ``(..., 3, 3)`` for deformation gradient(s) ``F (..., 3, 3)`` with ``det F > 0``."""
        F = np.asarray(F, dtype=np.float64)
        if F.shape[-2:] != (3, 3):
            raise ValueError(f"F must have shape (3, 3) or (..., 3, 3), got {F.shape}")
        if np.any(np.linalg.det(F) <= 0.0):
            raise ValueError(f"{type(self).__name__} {self.name!r}: det F must be > 0")
        C = np.swapaxes(F, -1, -2) @ F
        S, _, _ = self.pk2(C, a0)
        Ff = np.ascontiguousarray(F.reshape(-1, 3, 3))
        sig = np.empty_like(Ff)
        _kernels.cauchy_from_pk2_points(Ff, np.ascontiguousarray(S.reshape(-1, 3, 3)), sig)
        return sig.reshape(F.shape)


@dataclass(frozen=True)
class StVenantKirchhoff(_Hyperelastic):
    """St Venant-Kirchhoff material (kernel model 0): linear S-E law, for checks and small strains only.

    Parameters
    ----------
    E : float
        Young's modulus [MPa], > 0.
    nu : float
        Poisson's ratio [-], -1 < nu < 0.5.
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.
    """

    E: float
    nu: float
    density: float = 0.0
    name: str = "st_venant_kirchhoff"

    model_id: ClassVar[int] = _kernels.ST_VENANT_KIRCHHOFF
    _fields: ClassVar[tuple[str, ...]] = ("E", "nu")

    def __post_init__(self):
        _finite(self, E=self.E, nu=self.nu)
        _check_E_nu(self, self.E, self.nu)
        self._check_density()

    def small_strain_moduli(self) -> tuple[float, float]:
        return float(self.E), float(self.nu)


@dataclass(frozen=True)
class NeoHookean(_Hyperelastic):
    """Compressible neo-Hookean material, FEBio "neo-Hookean" (kernel model 1).

    ``W = mu/2 (I1 - 3) - mu ln J + lam/2 (ln J)^2``; cartilage (instantaneous response), generic soft tissue.

    Parameters
    ----------
    E : float
        Young's modulus at the reference state [MPa], > 0.
    nu : float
        Poisson's ratio at the reference state [-], -1 < nu < 0.5.
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.

    Examples
    --------
    >>> m = NeoHookean.from_mu_kappa(mu=1.0, kappa=100.0)
    >>> round(m.mu, 12), round(m.nu, 6)  # nu = (3 kappa - 2 mu) / (2 (3 kappa + mu))
    (1.0, 0.495017)
    """

    E: float
    nu: float
    density: float = 0.0
    name: str = "neo_hookean"

    model_id: ClassVar[int] = _kernels.NEO_HOOKEAN
    _fields: ClassVar[tuple[str, ...]] = ("E", "nu")

    def __post_init__(self):
        _finite(self, E=self.E, nu=self.nu)
        _check_E_nu(self, self.E, self.nu)
        self._check_density()

    @classmethod
    def from_lame(cls, mu: float, lam: float, **kw) -> NeoHookean:
        """From the Lamé constants [MPa] (``mu > 0``, ``lam > -2 mu / 3``)."""
        return cls(E=mu * (3.0 * lam + 2.0 * mu) / (lam + mu), nu=lam / (2.0 * (lam + mu)), **kw)

    @classmethod
    def from_mu_kappa(cls, mu: float, kappa: float, **kw) -> NeoHookean:
        """From the shear and bulk moduli [MPa]."""
        E, nu = _E_nu_from_K_mu(kappa, mu)
        return cls(E=E, nu=nu, **kw)

    @property
    def mu(self) -> float:
        """Shear modulus [MPa]."""
        return self.E / (2.0 * (1.0 + self.nu))

    def small_strain_moduli(self) -> tuple[float, float]:
        return float(self.E), float(self.nu)


@dataclass(frozen=True)
class MooneyRivlin(_Hyperelastic):
    """Uncoupled Mooney-Rivlin material, FEBio "Mooney-Rivlin" (kernel model 2).

    ``W = c1 (I1~ - 3) + c2 (I2~ - 3) + k/2 (ln J)^2`` with isochoric invariants; shear modulus ``2 (c1 + c2)``.

    Parameters
    ----------
    c1, c2 : float
        Mooney-Rivlin coefficients [MPa], ``c1 + c2 > 0``.
    k : float
        Bulk modulus [MPa], > 0 (``k`` of 100-1000 x ``c1`` for nearly incompressible tissue).
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.
    """

    c1: float
    c2: float
    k: float
    density: float = 0.0
    name: str = "mooney_rivlin"

    model_id: ClassVar[int] = _kernels.MOONEY_RIVLIN
    _fields: ClassVar[tuple[str, ...]] = ("c1", "c2", "k")

    def __post_init__(self):
        _finite(self, c1=self.c1, c2=self.c2, k=self.k)
        if self.c1 + self.c2 <= 0.0:
            _fail(self, f"c1 + c2 must be > 0 MPa (shear modulus is 2 (c1 + c2)), got c1 + c2 = {self.c1 + self.c2}")
        if self.k <= 0.0:
            _fail(self, f"k must be > 0 MPa (bulk modulus), got {self.k}")
        self._check_density()

    def small_strain_moduli(self) -> tuple[float, float]:
        return _E_nu_from_K_mu(self.k, 2.0 * (self.c1 + self.c2))


@dataclass(frozen=True)
class Polynomial2(_Hyperelastic):
    """Uncoupled second-order polynomial, Abaqus ``*HYPERELASTIC, POLYNOMIAL, N=2`` (kernel model 3).

    ``W = sum_{1<=i+j<=2} Cij (I1~ - 3)^i (I2~ - 3)^j + (J - 1)^2 / D1 + (J - 1)^4 / D2``;
    shear modulus ``2 (C10 + C01)``, bulk modulus ``2 / D1``. Encapsulated plantar soft tissue.

    Parameters
    ----------
    C10, C01, C20, C11, C02 : float
        Polynomial coefficients [MPa]; ``C10 + C01 > 0``.
    D1 : float
        Compressibility [1/MPa], > 0 (``D1 = 0``, Abaqus's incompressible limit, needs a mixed formulation).
    D2 : float
        Second compressibility [1/MPa], >= 0; 0 omits the quartic volumetric term.
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.
    """

    C10: float
    C01: float
    C20: float
    C11: float
    C02: float
    D1: float
    D2: float = 0.0
    density: float = 0.0
    name: str = "polynomial2"

    model_id: ClassVar[int] = _kernels.POLYNOMIAL2
    _fields: ClassVar[tuple[str, ...]] = ("C10", "C01", "C20", "C11", "C02", "D1", "D2")

    def __post_init__(self):
        _finite(self, **{f: getattr(self, f) for f in self._fields})
        if self.C10 + self.C01 <= 0.0:
            _fail(
                self,
                f"C10 + C01 must be > 0 MPa (shear modulus is 2 (C10 + C01)), got C10 + C01 = {self.C10 + self.C01}",
            )
        if self.D1 <= 0.0:
            _fail(self, f"D1 must be > 0 1/MPa (bulk modulus is 2 / D1; D1 = 0 is incompressible), got {self.D1}")
        if self.D2 < 0.0:
            _fail(self, f"D2 must be >= 0 1/MPa (0 omits the term), got {self.D2}")
        self._check_density()

    def small_strain_moduli(self) -> tuple[float, float]:
        return _E_nu_from_K_mu(2.0 / self.D1, 2.0 * (self.C10 + self.C01))


@dataclass(frozen=True)
class Ogden(_Hyperelastic):
    """Uncoupled Ogden material with up to three terms (kernel model 4).

    ``W = sum_p 2 mu_p / alpha_p^2 (l1~^a_p + l2~^a_p + l3~^a_p - 3) + K/2 (ln J)^2`` (Abaqus normalisation of
    the deviatoric part, FEBio's volumetric term); shear modulus ``sum(mu)``. Heel pad, skin.

    Parameters
    ----------
    mu : tuple of float
        ``mu_p`` [MPa], 1 to 3 values; ``sum(mu) > 0``.
    alpha : tuple of float
        ``alpha_p`` [-], non-zero, as many as ``mu``.
    K : float
        Bulk modulus [MPa], > 0.
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.

    Notes
    -----
    Parameters published for Ogden's original form ``W = sum_p mu_p / alpha_p (l1^a_p + ...)`` (shear modulus
    ``sum(mu_p alpha_p) / 2``) convert with :meth:`from_classical`.
    """

    mu: tuple[float, ...]
    alpha: tuple[float, ...]
    K: float
    density: float = 0.0
    name: str = "ogden"

    model_id: ClassVar[int] = _kernels.OGDEN

    def __post_init__(self):
        _check_ogden_terms(self)
        _finite(self, K=self.K)
        if self.K <= 0.0:
            _fail(self, f"K must be > 0 MPa (bulk modulus), got {self.K}")
        self._check_density()

    @classmethod
    def from_terms(
        cls,
        mu1: float,
        alpha1: float,
        K: float,
        mu2: float | None = None,
        alpha2: float | None = None,
        mu3: float | None = None,
        alpha3: float | None = None,
        **kw,
    ) -> Ogden:
        """Build from scalar keys (model files): ``mu1, alpha1, K`` and optionally ``mu2, alpha2, mu3, alpha3``."""
        t = _collect_terms(
            "Ogden", kw.get("name", "ogden"), ("mu", "alpha"),
            dict(mu1=mu1, alpha1=alpha1, mu2=mu2, alpha2=alpha2, mu3=mu3, alpha3=alpha3),
        )  # fmt: skip
        return cls(mu=tuple(t["mu"]), alpha=tuple(t["alpha"]), K=K, **kw)

    @classmethod
    def from_classical(cls, mu, alpha, K: float, **kw) -> Ogden:
        """From Ogden's original form ``W = sum_p mu_p / alpha_p (l1~^a_p + l2~^a_p + l3~^a_p - 3)``.

        Converts ``mu_p -> mu_p alpha_p / 2`` (same energy).

        >>> Ogden.from_classical(mu=[0.5], alpha=[4.0], K=10.0).mu
        (1.0,)
        """
        mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
        alpha = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
        if mu.shape != alpha.shape:
            raise ValueError(f"Ogden {kw.get('name', 'ogden')!r}: mu and alpha must have the same number of terms")
        return cls(mu=tuple(mu * alpha / 2.0), alpha=tuple(alpha), K=K, **kw)

    @property
    def params(self) -> np.ndarray:
        p = _ogden_params(self, 8)
        p[7] = self.K
        return p

    def small_strain_moduli(self) -> tuple[float, float]:
        return _E_nu_from_K_mu(self.K, sum(self.mu))


@dataclass(frozen=True)
class TransIsoMooneyRivlin(_Hyperelastic):
    """Transversely isotropic Mooney-Rivlin, Weiss et al. (1996), FEBio "trans iso Mooney-Rivlin" (model 5).

    Uncoupled Mooney-Rivlin matrix plus tension-only fibres along ``a0`` acting on the isochoric fibre stretch
    ``lam~ = (J^-2/3 a0.C.a0)^1/2``: ``lam~ dW/dlam~ = c3 (exp(c4 (lam~ - 1)) - 1)`` for ``1 < lam~ < lam_max``,
    ``c5 lam~ + c6`` beyond (``c6`` from continuity), zero for ``lam~ <= 1``. Ligaments, plantar fascia,
    menisci.

    Parameters
    ----------
    c1, c2 : float
        Matrix Mooney-Rivlin coefficients [MPa], ``c1 + c2 > 0``.
    k : float
        Bulk modulus [MPa], > 0.
    c3 : float
        Fibre toe-region stress scale [MPa], >= 0.
    c4 : float
        Fibre uncrimping rate [-], >= 0.
    c5 : float
        Modulus of the straightened fibres [MPa], >= 0.
    lam_max : float
        Fibre stretch at which the fibres are straight [-], >= 1.
    fibre : tuple of 3 float
        Default reference fibre direction, used when :meth:`pk2` / :meth:`stress` get no ``a0`` (normalised).
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.
    """

    c1: float
    c2: float
    k: float
    c3: float
    c4: float
    c5: float
    lam_max: float
    fibre: tuple[float, float, float] = (1.0, 0.0, 0.0)
    density: float = 0.0
    name: str = "trans_iso_mooney_rivlin"

    model_id: ClassVar[int] = _kernels.TRANS_ISO_MOONEY_RIVLIN
    fibre_reinforced: ClassVar[bool] = True
    _fields: ClassVar[tuple[str, ...]] = ("c1", "c2", "k", "c3", "c4", "c5", "lam_max")

    def __post_init__(self):
        _finite(self, c1=self.c1, c2=self.c2, k=self.k)
        if self.c1 + self.c2 <= 0.0:
            _fail(self, f"c1 + c2 must be > 0 MPa (shear modulus is 2 (c1 + c2)), got c1 + c2 = {self.c1 + self.c2}")
        if self.k <= 0.0:
            _fail(self, f"k must be > 0 MPa (bulk modulus), got {self.k}")
        _check_fibre(self)
        self._check_density()

    def small_strain_moduli(self) -> tuple[float, float]:
        return _E_nu_from_K_mu(self.k, 2.0 * (self.c1 + self.c2))


@dataclass(frozen=True)
class FibreNeoHookean(_Hyperelastic):
    """Compressible neo-Hookean matrix plus Weiss tension-only fibres on the full fibre stretch (model 6).

    ``lam = (a0.C.a0)^1/2`` (not the isochoric stretch: the matrix is compressible). Simpler fascia model.

    Parameters
    ----------
    E, nu : float
        Matrix Young's modulus [MPa] (> 0) and Poisson's ratio (-1 < nu < 0.5).
    c3, c4, c5, lam_max : float
        Fibre law as in :class:`TransIsoMooneyRivlin`.
    fibre : tuple of 3 float
        Default reference fibre direction (normalised).
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.
    """

    E: float
    nu: float
    c3: float
    c4: float
    c5: float
    lam_max: float
    fibre: tuple[float, float, float] = (1.0, 0.0, 0.0)
    density: float = 0.0
    name: str = "fibre_neo_hookean"

    model_id: ClassVar[int] = _kernels.FIBRE_NEO_HOOKEAN
    fibre_reinforced: ClassVar[bool] = True
    _fields: ClassVar[tuple[str, ...]] = ("E", "nu", "c3", "c4", "c5", "lam_max")

    def __post_init__(self):
        _finite(self, E=self.E, nu=self.nu)
        _check_E_nu(self, self.E, self.nu)
        _check_fibre(self)
        self._check_density()

    def small_strain_moduli(self) -> tuple[float, float]:
        return float(self.E), float(self.nu)


@dataclass(frozen=True)
class Hyperfoam(_Hyperelastic):
    """Compressible Ogden-Hill foam, Abaqus ``*HYPERFOAM`` (Storåkers 1986) (kernel model 7).

    ``W = sum_p 2 mu_p / alpha_p^2 (l1^a_p + l2^a_p + l3^a_p - 3 + (J^(-a_p b_p) - 1) / b_p)`` on the *full*
    principal stretches, ``b_p = nu_p / (1 - 2 nu_p)``. Shear modulus ``mu0 = sum(mu)``, bulk modulus
    ``K0 = sum_p 2 mu_p (1/3 + b_p)``; with one ``nu`` for every term the small-strain Poisson's ratio is
    ``nu`` and ``E0 = 2 mu0 (1 + nu)``. Elastomeric foams: insoles (EVA, PU foam such as Poron, polyethylene
    foam such as Plastazote / Pelite), shoe midsoles.

    Parameters
    ----------
    mu : tuple of float
        ``mu_p`` [MPa], 1 to 3 values; ``sum(mu) > 0``.
    alpha : tuple of float
        ``alpha_p`` [-], non-zero, as many as ``mu``.
    nu : tuple of float or float
        ``nu_p`` [-], -1 < nu_p < 0.5, one per term (a scalar is used for every term; default 0, as Abaqus
        when no ``beta`` is given). ``nu = 0`` means no lateral expansion in uniaxial loading.
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.

    Notes
    -----
    Abaqus states ``beta_p`` instead of ``nu_p``; convert with :meth:`from_beta`. Foams with only a Young's
    modulus and Poisson's ratio known: :meth:`from_E_nu` (one term).

    Examples
    --------
    >>> m = Hyperfoam(mu=(0.2,), alpha=(8.0,), nu=(0.1,))
    >>> E, nu = m.small_strain_moduli()
    >>> round(E, 12), round(nu, 12)  # E = 2 mu (1 + nu)
    (0.44, 0.1)
    """

    mu: tuple[float, ...]
    alpha: tuple[float, ...]
    nu: tuple[float, ...] | float = 0.0
    density: float = 0.0
    name: str = "hyperfoam"

    model_id: ClassVar[int] = _kernels.HYPERFOAM

    def __post_init__(self):
        _check_ogden_terms(self)
        nu = np.atleast_1d(np.asarray(self.nu, dtype=np.float64))
        if nu.size == 1:
            nu = np.repeat(nu, len(self.mu))
        if nu.shape != (len(self.mu),):
            _fail(self, f"nu must be one value or as many values as mu ({len(self.mu)}), got {nu.size}")
        object.__setattr__(self, "nu", tuple(float(x) for x in nu))
        _finite(self, **{f"nu{p + 1}": v for p, v in enumerate(self.nu)})
        for p, v in enumerate(self.nu):
            if not (-1.0 < v < 0.5):
                _fail(self, f"nu{p + 1} must satisfy -1 < nu < 0.5 (Poisson's ratio of term {p + 1}), got {v}")
        if self.bulk_modulus <= 0.0:
            _fail(
                self,
                f"the bulk modulus sum_p 2 mu_p (1/3 + beta_p) must be > 0 MPa, got {self.bulk_modulus} "
                f"(mu = {self.mu}, beta = {self.beta})",
            )
        self._check_density()

    @classmethod
    def from_terms(
        cls,
        mu1: float,
        alpha1: float,
        nu1: float = 0.0,
        mu2: float | None = None,
        alpha2: float | None = None,
        nu2: float | None = None,
        mu3: float | None = None,
        alpha3: float | None = None,
        nu3: float | None = None,
        **kw,
    ) -> Hyperfoam:
        """Build from scalar keys (model files): ``mu1, alpha1`` and optionally ``nu1`` (default 0),
        ``mu2, alpha2, nu2, mu3, alpha3, nu3`` (a missing ``nu2``/``nu3`` takes ``nu1``)."""
        t = _collect_terms(
            "Hyperfoam", kw.get("name", "hyperfoam"), ("mu", "alpha"),
            dict(mu1=mu1, alpha1=alpha1, mu2=mu2, alpha2=alpha2, mu3=mu3, alpha3=alpha3),
        )  # fmt: skip
        n = len(t["mu"])
        for p, v in ((2, nu2), (3, nu3)):
            if v is not None and p > n:
                raise ValueError(f"Hyperfoam {kw.get('name', 'hyperfoam')!r}: nu{p} given without mu{p} and alpha{p}")
        nu = tuple(nu1 if v is None else v for v in (nu1, nu2, nu3)[:n])
        return cls(mu=tuple(t["mu"]), alpha=tuple(t["alpha"]), nu=nu, **kw)

    @classmethod
    def from_beta(cls, mu, alpha, beta, **kw) -> Hyperfoam:
        """From Abaqus's ``beta_p`` (> -1/3) instead of ``nu_p``: ``nu_p = beta_p / (1 + 2 beta_p)``.

        >>> Hyperfoam.from_beta(mu=[0.1], alpha=[5.0], beta=[0.25]).nu
        (0.16666666666666666,)
        """
        b = np.atleast_1d(np.asarray(beta, dtype=np.float64))
        if np.any(b <= -1.0 / 3.0):
            raise ValueError(f"Hyperfoam {kw.get('name', 'hyperfoam')!r}: beta must be > -1/3, got {tuple(b)}")
        return cls(mu=mu, alpha=alpha, nu=tuple(b / (1.0 + 2.0 * b)), **kw)

    @classmethod
    def from_E_nu(cls, E: float, nu: float, alpha: float, **kw) -> Hyperfoam:
        """One-term foam with small-strain Young's modulus ``E`` [MPa] and Poisson's ratio ``nu``.

        ``mu = E / (2 (1 + nu))``; ``alpha`` [-] sets the stiffening in compression (it does not change the
        small-strain moduli).

        >>> Hyperfoam.from_E_nu(E=2.6, nu=0.3, alpha=5.0).small_strain_moduli()[0]  # doctest: +ELLIPSIS
        2.6...
        """
        if not (np.isfinite(E) and E > 0.0):
            raise ValueError(f"Hyperfoam {kw.get('name', 'hyperfoam')!r}: E must be > 0 MPa, got {E}")
        if not (-1.0 < nu < 0.5):
            raise ValueError(f"Hyperfoam {kw.get('name', 'hyperfoam')!r}: nu must satisfy -1 < nu < 0.5, got {nu}")
        return cls(mu=(E / (2.0 * (1.0 + nu)),), alpha=(alpha,), nu=(nu,), **kw)

    @property
    def beta(self) -> tuple[float, ...]:
        """``beta_p = nu_p / (1 - 2 nu_p)`` [-] (Abaqus's compressibility parameters)."""
        return tuple(v / (1.0 - 2.0 * v) for v in self.nu)

    @property
    def shear_modulus(self) -> float:
        """Small-strain shear modulus ``sum(mu)`` [MPa]."""
        return float(sum(self.mu))

    @property
    def bulk_modulus(self) -> float:
        """Small-strain bulk modulus ``sum_p 2 mu_p (1/3 + beta_p)`` [MPa]."""
        return float(sum(2.0 * m * (1.0 / 3.0 + b) for m, b in zip(self.mu, self.beta, strict=True)))

    @property
    def params(self) -> np.ndarray:
        """Kernel parameters: 8 values with one ``beta`` when every term has the same ``nu``, else 10 (the
        term count negated to flag per-term ``beta``, see :mod:`fesolver.materials._kernels`)."""
        if len(set(self.nu)) == 1:
            p = _ogden_params(self, 8)
            p[7] = self.beta[0]
        else:
            p = _ogden_params(self, 10)
            p[0] = -len(self.mu)
            p[7 : 7 + len(self.mu)] = self.beta
        return p

    def small_strain_moduli(self) -> tuple[float, float]:
        return _E_nu_from_K_mu(self.bulk_modulus, self.shear_modulus)


@dataclass(frozen=True)
class LinearGrading:
    """A weight that rises smoothly from 0 to 1 along a direction: the grading of a :class:`Mixture`.

    With ``s = (X . axis - start) / (end - start)`` clipped to [0, 1] (``axis`` normalised, ``X`` a reference
    point [mm]) the weight is ``3 s^2 - 2 s^3``: 0 up to ``start``, 1 from ``end`` on, continuous with a
    continuous first derivative in between. ``end < start`` grades the other way along ``axis``.

    >>> g = LinearGrading(axis=(1.0, 0.0, 0.0), start=0.0, end=10.0)
    >>> [round(float(v), 3) for v in g(np.array([[-1.0, 0, 0], [5.0, 0, 0], [12.0, 0, 0]]))]
    [0.0, 0.5, 1.0]
    """

    axis: tuple[float, float, float]
    start: float
    end: float

    def __post_init__(self):
        a = np.asarray(self.axis, dtype=np.float64)
        if a.shape != (3,) or not np.all(np.isfinite(a)) or np.linalg.norm(a) == 0.0:
            raise ValueError(f"LinearGrading: axis must be a non-zero finite 3-vector, got {self.axis!r}")
        if not (np.isfinite(self.start) and np.isfinite(self.end)) or self.start == self.end:
            raise ValueError(f"LinearGrading: start and end must be finite and different mm, got {self.start}, "
                             f"{self.end}")

    def __call__(self, X) -> np.ndarray:
        """Weights (n,) at reference points ``X (n, 3)`` [mm]."""
        a = np.asarray(self.axis, dtype=np.float64)
        x = np.asarray(X, dtype=np.float64) @ (a / np.linalg.norm(a))
        s = np.clip((x - self.start) / (self.end - self.start), 0.0, 1.0)
        return s * s * (3.0 - 2.0 * s)


@dataclass(frozen=True)
class Mixture(_Hyperelastic):
    """Solid mixture of two hyperelastic materials sharing the deformation (kernel model 8).

    ``W = (1 - w) W_first + w W_second`` (FEBio's "solid mixture" adds its constituents' energies; here each is
    scaled by its volume fraction), so stress and tangent are the same weighted sums. With a
    :class:`LinearGrading` as ``weight`` the fraction varies from element to element (evaluated at each
    element's reference centroid by the finite-strain system): one tissue grades into another without a
    jump in stiffness at their interface.

    Parameters
    ----------
    first, second : hyperelastic material
        Isotropic (not fibre-reinforced) single materials; mixtures do not nest.
    weight : float or LinearGrading
        Fraction ``w`` of ``second`` in [0, 1], or its grading in space.
    density : float
        Mass density [t/mm^3].
    name : str
        Label used in error messages and outputs.

    >>> from fesolver.materials.hyperelastic import MooneyRivlin, Mixture
    >>> a, b = MooneyRivlin(c1=1.0, c2=0.0, k=100.0), MooneyRivlin(c1=3.0, c2=0.0, k=100.0)
    >>> round(Mixture(a, b, weight=0.25).lame[1], 6)  # shear modulus 0.75 * 2 + 0.25 * 6
    3.0
    """

    first: _Hyperelastic
    second: _Hyperelastic
    weight: float | LinearGrading = 0.5
    density: float = 0.0
    name: str = "mixture"

    model_id: ClassVar[int] = _kernels.MIXTURE

    def __post_init__(self):
        for role in ("first", "second"):
            c = getattr(self, role)
            if not isinstance(c, _Hyperelastic) or isinstance(c, Mixture):
                _fail(self, f"{role} must be a single hyperelastic material (mixtures do not nest), got "
                            f"{type(c).__name__}")
            if c.fibre_reinforced:
                _fail(self, f"{role} ({type(c).__name__} {c.name!r}) is fibre-reinforced; a mixture takes "
                            f"isotropic materials")
            if c.params.size > _kernels.MIXTURE_SLOTS:
                _fail(self, f"{role} has {c.params.size} parameters, more than {_kernels.MIXTURE_SLOTS}")
        if not isinstance(self.weight, LinearGrading):
            w = self.weight
            if isinstance(w, bool) or not isinstance(w, (int, float, np.floating)) or not 0.0 <= float(w) <= 1.0:
                _fail(self, f"weight must be a number in [0, 1] or a LinearGrading, got {w!r}")
        self._check_density()

    @property
    def constituents(self) -> tuple[_Hyperelastic, _Hyperelastic]:
        return self.first, self.second

    @property
    def graded(self) -> bool:
        """True when the weight varies in space (a :class:`LinearGrading`)."""
        return isinstance(self.weight, LinearGrading)

    def weights(self, X) -> np.ndarray:
        """Fraction of ``second`` (n,) at reference points ``X (n, 3)`` [mm]."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, 3)
        return self.weight(X) if self.graded else np.full(X.shape[0], float(self.weight))

    def at(self, w: float) -> Mixture:
        """The same mixture with the uniform fraction ``w`` of ``second``."""
        return Mixture(self.first, self.second, weight=float(w), density=self.density, name=self.name)

    @property
    def params(self) -> np.ndarray:
        """``(w, model_a, params_a[10], model_b, params_b[10])``; ``w`` is NaN when graded (the system fills it
        per element from :meth:`weights`)."""
        n = _kernels.MIXTURE_SLOTS
        p = np.zeros(3 + 2 * n)
        p[0] = np.nan if self.graded else float(self.weight)
        for k0, c in ((1, self.first), (2 + n, self.second)):
            p[k0] = c.model_id
            p[k0 + 1: k0 + 1 + c.params.size] = c.params
        return p

    def small_strain_moduli(self) -> tuple[float, float]:
        if self.graded:
            raise ValueError(f"Mixture {self.name!r}: graded, its small-strain moduli vary in space")
        w = float(self.weight)
        K = mu = 0.0
        for f, c in ((1.0 - w, self.first), (w, self.second)):
            E, nu = c.small_strain_moduli()
            K += f * E / (3.0 * (1.0 - 2.0 * nu))
            mu += f * E / (2.0 * (1.0 + nu))
        return _E_nu_from_K_mu(K, mu)

    def pk2(self, C, a0=None):
        if self.graded:
            raise ValueError(f"Mixture {self.name!r}: graded; evaluate it at one fraction with .at(w)")
        return super().pk2(C, a0)


#: model-file name -> (constructor, required keys, optional keys), like ``MATERIAL_MODELS``
MODELS = {
    "st_venant_kirchhoff": (StVenantKirchhoff, ("E", "nu"), ("density",)),
    "neo_hookean": (NeoHookean, ("E", "nu"), ("density",)),
    "mooney_rivlin": (MooneyRivlin, ("c1", "c2", "k"), ("density",)),
    "polynomial2": (Polynomial2, ("C10", "C01", "C20", "C11", "C02", "D1"), ("D2", "density")),
    "ogden": (Ogden.from_terms, ("mu1", "alpha1", "K"), ("mu2", "alpha2", "mu3", "alpha3", "density")),
    "trans_iso_mooney_rivlin": (
        TransIsoMooneyRivlin,
        ("c1", "c2", "k", "c3", "c4", "c5", "lam_max"),
        ("density",),
    ),
    "fibre_neo_hookean": (FibreNeoHookean, ("E", "nu", "c3", "c4", "c5", "lam_max"), ("density",)),
    "hyperfoam": (
        Hyperfoam.from_terms,
        ("mu1", "alpha1"),
        ("nu1", "mu2", "alpha2", "nu2", "mu3", "alpha3", "nu3", "density"),
    ),
}
