"""Hyperelastic materials: the tangent is the derivative of the stress, the stress the derivative of the energy;
homogeneous deformations match closed forms derived here by hand; small-strain limit; objectivity; validation.

Tolerances (relative to the largest entry of the quantity checked):

* tangent D vs central difference of S w.r.t. E (step 1e-6): 1e-6
* S vs central difference of W w.r.t. E (step 1e-6): 1e-6
* closed-form Cauchy stresses (uniaxial, equibiaxial, simple shear, fibre): 1e-8 (they are exact; the brief's
  requirement is 0.1 %)
* small-strain tangent vs isotropic elasticity matrix: 1e-8
* objectivity: 1e-10
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from material_checks import fd_stress, fd_tangent, relerr, voigt
from scipy.optimize import brentq

from fesolver.materials import _kernels
from fesolver.materials.hyperelastic import (
    MODELS,
    FibreNeoHookean,
    MooneyRivlin,
    NeoHookean,
    Ogden,
    Polynomial2,
    StVenantKirchhoff,
    TransIsoMooneyRivlin,
)
from fesolver.materials.linear import stiffness_from_young_poisson

A0 = np.array([1.0, 2.0, 0.5]) / np.linalg.norm([1.0, 2.0, 0.5])

MATS = {
    "st_venant_kirchhoff": StVenantKirchhoff(E=10.0, nu=0.3),
    "neo_hookean": NeoHookean(E=10.0, nu=0.45),
    "mooney_rivlin": MooneyRivlin(c1=0.5, c2=0.2, k=50.0),
    # C10..C02, D1 as used for encapsulated foot soft tissue (see docs/materials.md); D2 added to exercise the term
    "polynomial2": Polynomial2(C10=0.08556, C01=-0.05841, C20=0.039, C11=-0.02319, C02=0.00851, D1=3.65273, D2=2.0),
    "ogden_1term": Ogden(mu=(0.3,), alpha=(8.0,), K=30.0),
    "ogden_3term": Ogden(mu=(0.4, -0.05, 0.02), alpha=(2.5, -2.0, 8.0), K=20.0),
    "ogden_nearly_incompressible": Ogden(mu=(0.02,), alpha=(12.0,), K=20.0),
    "trans_iso_mooney_rivlin": TransIsoMooneyRivlin(
        c1=1.44, c2=0.0, k=144.0, c3=0.57, c4=48.0, c5=467.1, lam_max=1.062, fibre=tuple(A0)
    ),
    "fibre_neo_hookean": FibreNeoHookean(E=1.0, nu=0.3, c3=0.5, c4=40.0, c5=300.0, lam_max=1.05, fibre=tuple(A0)),
}
FIBRE = ["trans_iso_mooney_rivlin", "fibre_neo_hookean"]
ISOTROPIC = [n for n in MATS if n not in FIBRE]


def rotation(rng) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((3, 3)))
    Q = Q * np.sign(np.diag(R))
    if np.linalg.det(Q) < 0:
        Q[:, 0] *= -1.0
    return Q


def _states() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    Q = rotation(rng)
    st = {
        "identity": np.eye(3),
        "near_identity_1e-9": np.eye(3) + 1e-9 * rng.standard_normal((3, 3)),
        "near_identity_1e-6": np.eye(3) + 1e-6 * rng.standard_normal((3, 3)),
        # C with an exactly double eigenvalue, rotated off the axes
        "double_eigenvalue": np.diag([1.2, 1.2, 0.85]) @ Q.T,
        # eigenvalue gaps just below / above the Ogden coalescence tolerance (1e-5 relative)
        "near_double_5e-6": np.diag([1.2, 1.2 * (1 + 2.5e-6), 0.85]) @ Q.T,
        "near_double_5e-5": np.diag([1.2, 1.2 * (1 + 2.5e-5), 0.85]) @ Q.T,
        "pure_dilatation": 1.1 * Q,
    }
    k = 0
    while k < 5:
        F = np.eye(3) + 0.25 * rng.standard_normal((3, 3))
        if 0.6 < np.linalg.det(F) < 1.6:
            st[f"random{k}"] = F
            k += 1
    # fibre states: stretch lam_f along A0, lateral contraction, small shear, random rotation
    P = np.outer(A0, A0)
    for lam_f in (0.93, 1.015, 1.03, 1.09, 1.2):
        G = 0.004 * rng.standard_normal((3, 3))
        U = lam_f * P + 1.01 / math.sqrt(lam_f) * (np.eye(3) - P) + 0.5 * (G + G.T)
        st[f"fibre_{lam_f}"] = rotation(rng) @ U
    return st


STATES = _states()


def fibre_stretch(name: str, F: np.ndarray) -> float:
    """The stretch the fibre law sees: isochoric for the uncoupled model, full for the coupled one."""
    lam = float(np.linalg.norm(F @ A0))
    if name == "trans_iso_mooney_rivlin":
        lam *= np.linalg.det(F) ** (-1.0 / 3.0)
    return lam


def _cases():
    """(material, state) pairs; fibre models skip states whose fibre stretch is within 2e-3 of a kink
    (1 and lam_max), where the tangent jumps and a central difference has no meaning."""
    cases = []
    for m in MATS:
        for s, F in STATES.items():
            if m in FIBRE:
                lam = fibre_stretch(m, F)
                if min(abs(lam - 1.0), abs(lam - MATS[m].lam_max)) < 2e-3:
                    continue
            cases.append((m, s))
    return cases


CASES = _cases()












# ----------------------------------------------------------------------------------------------
# Derivative checks
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,state", CASES)
def test_tangent_is_derivative_of_stress(name, state):
    mat = MATS[name]
    F = STATES[state]
    C = F.T @ F
    _, D, _ = mat.pk2(C)
    assert relerr(D, fd_tangent(mat, C)) < 1e-6
    assert np.abs(D - D.T).max() <= 1e-12 * np.abs(D).max()


@pytest.mark.parametrize("name,state", [c for c in CASES if "identity" not in c[1]])
def test_stress_is_derivative_of_energy(name, state):
    mat = MATS[name]
    C = STATES[state].T @ STATES[state]
    S, _, _ = mat.pk2(C)
    assert relerr(voigt(S), fd_stress(mat, C)) < 1e-6


@pytest.mark.parametrize("name", FIBRE)
def test_fibre_states_cover_every_branch(name):
    """The tangent checks above include fibre states in compression, in the toe and in the linear region."""
    lam = [fibre_stretch(name, STATES[s]) for m, s in CASES if m == name]
    lm = MATS[name].lam_max
    assert any(v < 1 for v in lam) and any(1 < v < lm for v in lam) and any(v > lm for v in lam)


# ----------------------------------------------------------------------------------------------
# Closed forms, derived by hand for F = diag(l1, l2, l3), independently of the kernel
# ----------------------------------------------------------------------------------------------


def lame(E, nu):
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def weiss_T(lam, c3, c4, c5, lam_max):
    """Fibre stress function lam dW/dlam of Weiss et al. (1996)."""
    if lam <= 1.0:
        return 0.0
    if lam < lam_max:
        return c3 * (math.exp(c4 * (lam - 1.0)) - 1.0)
    c6 = c3 * (math.exp(c4 * (lam_max - 1.0)) - 1.0) - c5 * lam_max
    return c5 * lam + c6


def principal_cauchy(mat, lams, fibre_axis=None) -> np.ndarray:
    """Principal Cauchy stresses of F = diag(lams); fibre (if any) along the axis ``fibre_axis``."""
    l = np.asarray(lams, dtype=float)
    J = float(np.prod(l))
    if isinstance(mat, StVenantKirchhoff):
        lamL, mu = lame(mat.E, mat.nu)
        E = 0.5 * (l**2 - 1)
        return l**2 * (lamL * E.sum() + 2 * mu * E) / J
    if isinstance(mat, NeoHookean | FibreNeoHookean):
        lamL, mu = lame(mat.E, mat.nu)
        sig = (mu * (l**2 - 1) + lamL * math.log(J)) / J
        if fibre_axis is not None:
            sig[fibre_axis] += weiss_T(l[fibre_axis], mat.c3, mat.c4, mat.c5, mat.lam_max) / J
        return sig
    if isinstance(mat, Ogden):
        lt = J ** (-1 / 3) * l
        tau = sum(2 * m / a * (lt**a - (lt**a).mean()) for m, a in zip(mat.mu, mat.alpha, strict=True))
        return tau / J + mat.K * math.log(J) / J
    # uncoupled invariant models: tau~ = 2 [(W1 + I1~ W2) b~ - W2 b~^2], sigma = dev(tau~)/J + U'(J)
    bt = J ** (-2 / 3) * l**2
    I1 = bt.sum()
    I2 = bt[0] * bt[1] + bt[1] * bt[2] + bt[0] * bt[2]
    if isinstance(mat, Polynomial2):
        a, b = I1 - 3, I2 - 3
        W1 = mat.C10 + 2 * mat.C20 * a + mat.C11 * b
        W2 = mat.C01 + mat.C11 * a + 2 * mat.C02 * b
        dU = 2 * (J - 1) / mat.D1 + 4 * (J - 1) ** 3 / mat.D2
    else:
        W1, W2 = mat.c1, mat.c2
        dU = mat.k * math.log(J) / J
    tau = 2 * ((W1 + I1 * W2) * bt - W2 * bt**2)
    if fibre_axis is not None:  # tau_f = T(lam~) (n x n - I/3), lam~ = J^-1/3 lam_f
        T = weiss_T(J ** (-1 / 3) * l[fibre_axis], mat.c3, mat.c4, mat.c5, mat.lam_max)
        tau[fibre_axis] += T
    return (tau - tau.mean()) / J + dU


def kernel_cauchy(mat, lams, a0=None):
    return mat.stress(np.diag(lams), a0)


def solve_lateral(fun, lo=0.55, hi=1.7):
    assert fun(lo) * fun(hi) < 0
    return brentq(fun, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)


@pytest.mark.parametrize("lam", [0.85, 1.15, 1.4])
@pytest.mark.parametrize("name", ISOTROPIC)
def test_uniaxial_tension_compression(name, lam):
    """F = diag(lam, t, t) with t from sigma_22 = 0 (kernel); sigma_11 vs closed form at that t."""
    mat = MATS[name]
    t = solve_lateral(lambda t: kernel_cauchy(mat, [lam, t, t])[1, 1])
    sig = kernel_cauchy(mat, [lam, t, t])
    ref = principal_cauchy(mat, [lam, t, t])
    assert abs(sig[0, 0] - ref[0]) <= 1e-8 * abs(ref[0])
    assert abs(ref[1]) <= 1e-8 * abs(ref[0])  # the hand-derived lateral stress vanishes at the kernel's t too
    assert abs(sig[0, 1]) + abs(sig[1, 2]) + abs(sig[0, 2]) <= 1e-12 * abs(ref[0])


@pytest.mark.parametrize("lam", [0.9, 1.2])
@pytest.mark.parametrize("name", ISOTROPIC)
def test_equibiaxial(name, lam):
    """F = diag(lam, lam, t) with sigma_33 = 0: sigma_11 = sigma_22 vs closed form."""
    mat = MATS[name]
    t = solve_lateral(lambda t: kernel_cauchy(mat, [lam, lam, t])[2, 2], 0.4, 1.7)
    sig = kernel_cauchy(mat, [lam, lam, t])
    ref = principal_cauchy(mat, [lam, lam, t])
    assert abs(sig[0, 0] - ref[0]) <= 1e-8 * abs(ref[0])
    assert abs(sig[1, 1] - ref[0]) <= 1e-8 * abs(ref[0])
    assert abs(ref[2]) <= 1e-8 * abs(ref[0])


def shear_stress_closed_form(mat, g):
    """sigma_12 in simple shear F = I + g e1 x e2 (J = 1)."""
    if isinstance(mat, NeoHookean):
        return mat.mu * g
    if isinstance(mat, MooneyRivlin):
        return 2 * (mat.c1 + mat.c2) * g
    if isinstance(mat, Polynomial2):  # I1~ = I2~ = 3 + g^2; sigma_12 = 2 g (W1 + W2)
        a = g * g
        W1 = mat.C10 + 2 * mat.C20 * a + mat.C11 * a
        W2 = mat.C01 + mat.C11 * a + 2 * mat.C02 * a
        return 2 * g * (W1 + W2)
    if isinstance(mat, Ogden):  # principal stretches l, 1/l with g = l - 1/l; sigma_12 = (s1 - s2) / (l + 1/l)
        lp = g / 2 + math.sqrt(1 + g * g / 4)
        ds = sum(2 * m / a * (lp**a - lp ** (-a)) for m, a in zip(mat.mu, mat.alpha, strict=True))
        return ds / (lp + 1 / lp)
    if isinstance(mat, StVenantKirchhoff):  # sigma_12 = S12 + g S22
        lamL, mu = lame(mat.E, mat.nu)
        return mu * g + g**3 * (lamL / 2 + mu)
    raise AssertionError(mat)


@pytest.mark.parametrize("g", [0.1, 0.5])
@pytest.mark.parametrize("name", ISOTROPIC)
def test_simple_shear(name, g):
    mat = MATS[name]
    F = np.eye(3)
    F[0, 1] = g
    sig = mat.stress(F)
    ref = shear_stress_closed_form(mat, g)
    assert abs(sig[0, 1] - ref) <= 1e-8 * abs(ref)
    # universal relation of isotropic elasticity in simple shear: sigma_11 - sigma_22 = g sigma_12
    assert abs(sig[0, 0] - sig[1, 1] - g * sig[0, 1]) <= 1e-8 * abs(sig[0, 1])
    if isinstance(mat, NeoHookean):
        np.testing.assert_allclose(np.diag(sig), [mat.mu * g * g, 0.0, 0.0], atol=1e-12 * mat.mu)


def matrix_only(mat):
    if isinstance(mat, TransIsoMooneyRivlin):
        return MooneyRivlin(mat.c1, mat.c2, mat.k)
    return NeoHookean(mat.E, mat.nu)


@pytest.mark.parametrize("lam", [0.9, 1.02, 1.04, 1.1, 1.3])
@pytest.mark.parametrize("name", FIBRE)
def test_uniaxial_along_fibre(name, lam):
    """Stretch along the fibre (a0 = e1): toe, linear region and compression (matrix only)."""
    mat = MATS[name]
    e1 = np.array([1.0, 0.0, 0.0])
    t = solve_lateral(lambda t: kernel_cauchy(mat, [lam, t, t], e1)[1, 1])
    sig = kernel_cauchy(mat, [lam, t, t], e1)
    ref = principal_cauchy(mat, [lam, t, t], fibre_axis=0)
    assert abs(sig[0, 0] - ref[0]) <= 1e-8 * abs(ref[0])
    assert abs(ref[1]) <= 1e-8 * abs(ref[0])
    assert abs(sig[2, 2]) <= 1e-8 * abs(ref[0])
    if lam < 1.0:  # fibres slack: exactly the matrix
        np.testing.assert_allclose(sig, kernel_cauchy(matrix_only(mat), [lam, t, t]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("lam", [1.05, 1.3])
@pytest.mark.parametrize("name", FIBRE)
def test_uniaxial_across_fibre_is_matrix_only(name, lam):
    """Stretch along e1 with fibres along e2: they shorten, carry nothing; the response is the matrix's."""
    mat = MATS[name]
    e2 = np.array([0.0, 1.0, 0.0])
    t = solve_lateral(lambda t: kernel_cauchy(mat, [lam, t, t], e2)[1, 1])
    sig = kernel_cauchy(mat, [lam, t, t], e2)
    ref = principal_cauchy(matrix_only(mat), [lam, t, t])
    assert abs(sig[0, 0] - ref[0]) <= 1e-8 * abs(ref[0])
    assert abs(sig[2, 2]) <= 1e-8 * abs(ref[0])
    np.testing.assert_allclose(sig, kernel_cauchy(matrix_only(mat), [lam, t, t]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", FIBRE)
def test_fibres_stiffen_along_not_across(name):
    mat = MATS[name]
    F = np.diag([1.08, 1 / math.sqrt(1.08), 1 / math.sqrt(1.08)])
    along = mat.stress(F, [1.0, 0.0, 0.0])[0, 0]
    across = mat.stress(F, [0.0, 1.0, 0.0])[0, 0]
    assert along > 5 * across > 0


# ----------------------------------------------------------------------------------------------
# Reference state, objectivity, kernel edge cases
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MATS))
def test_small_strain_limit(name):
    mat = MATS[name]
    S, D, W = mat.pk2(np.eye(3))
    D0 = stiffness_from_young_poisson(*mat.small_strain_moduli())
    assert relerr(D, D0) < 1e-8
    assert np.abs(S).max() <= 1e-12 * np.abs(D0).max()
    assert abs(W) <= 1e-14 * np.abs(D0).max()


@pytest.mark.parametrize("name", list(MATS))
def test_objectivity(name):
    mat = MATS[name]
    rng = np.random.default_rng(7)
    for k in range(3):
        F = STATES[f"random{k}"]
        R = rotation(rng)
        S, _, W = mat.pk2(F.T @ F)
        SR, _, WR = mat.pk2((R @ F).T @ (R @ F))
        assert np.abs(SR - S).max() <= 1e-10 * np.abs(S).max()
        assert abs(WR - W) <= 1e-10 * abs(W)
        sig = mat.stress(F)
        np.testing.assert_allclose(mat.stress(R @ F), R @ sig @ R.T, rtol=0, atol=1e-10 * np.abs(sig).max())


def test_kernel_flags_inverted_material():
    S = np.zeros((3, 3))
    D = np.zeros((6, 6))
    m = MATS["neo_hookean"]
    W = _kernels.pk2_and_tangent(m.model_id, m.params, np.diag([1.0, 1.0, -1.0]), np.zeros(3), S, D)
    assert W == np.inf and np.isnan(S).all() and np.isnan(D).all()
    with pytest.raises(ValueError, match="det F"):
        m.stress(np.diag([1.0, 1.0, -1.0]))


def test_batched_evaluation_matches_single():
    mat = MATS["ogden_3term"]
    Fs = np.stack([STATES[f"random{k}"] for k in range(4)]).reshape(2, 2, 3, 3)
    sig = mat.stress(Fs)
    assert sig.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(sig[1, 0], mat.stress(Fs[1, 0]), rtol=1e-14)


def test_ogden_from_classical_is_the_same_energy():
    mu, alpha = [0.3, -0.1], [6.0, -2.0]
    mat = Ogden.from_classical(mu=mu, alpha=alpha, K=10.0)
    F = STATES["random0"]
    J = np.linalg.det(F)
    lt = J ** (-1 / 3) * np.sqrt(np.linalg.eigvalsh(F.T @ F))
    W = sum(m / a * ((lt**a).sum() - 3) for m, a in zip(mu, alpha, strict=True)) + 5.0 * math.log(J) ** 2
    assert math.isclose(mat.pk2(F.T @ F)[2], W, rel_tol=1e-12)


def test_models_table_builds_every_model():
    values = {
        "E": 1.0, "nu": 0.3, "c1": 0.5, "c2": 0.1, "k": 10.0, "C10": 0.1, "C01": 0.0, "C20": 0.0, "C11": 0.0,
        "C02": 0.0, "D1": 1.0, "D2": 0.0, "mu1": 0.1, "alpha1": 2.0, "mu2": 0.05, "alpha2": -2.0, "K": 10.0,
        "c3": 0.5, "c4": 40.0, "c5": 300.0, "lam_max": 1.05, "density": 1e-9,
    }  # fmt: skip
    for model, (ctor, required, optional) in MODELS.items():
        kw = {k: values[k] for k in (*required, *optional) if k in values}
        mat = ctor(**kw, name=model)
        assert mat.name == model and mat.params.dtype == np.float64
        assert mat.params.shape == (_kernels.N_PARAMS[mat.model_id],)


# ----------------------------------------------------------------------------------------------
# Parameter validation
# ----------------------------------------------------------------------------------------------

TI = dict(c1=1.0, c2=0.0, k=100.0, c3=0.5, c4=40.0, c5=300.0, lam_max=1.05)
FN = dict(E=1.0, nu=0.3, c3=0.5, c4=40.0, c5=300.0, lam_max=1.05)
PO = dict(C10=0.1, C01=0.0, C20=0.0, C11=0.0, C02=0.0, D1=1.0)


@pytest.mark.parametrize(
    "cls,kw,match",
    [
        (StVenantKirchhoff, dict(E=0.0, nu=0.3), "E must be > 0"),
        (NeoHookean, dict(E=-1.0, nu=0.3), "E must be > 0"),
        (NeoHookean, dict(E=1.0, nu=0.5), "nu must satisfy -1 < nu < 0.5"),
        (NeoHookean, dict(E=1.0, nu=-1.0), "nu must satisfy"),
        (NeoHookean, dict(E=float("nan"), nu=0.3), "E must be a finite"),
        (NeoHookean, dict(E=1.0, nu=0.3, density=-1.0), "density"),
        (MooneyRivlin, dict(c1=0.1, c2=-0.1, k=10.0), r"c1 \+ c2 must be > 0"),
        (MooneyRivlin, dict(c1=0.1, c2=0.0, k=0.0), "k must be > 0"),
        (Polynomial2, {**PO, "C01": -0.2}, r"C10 \+ C01 must be > 0"),
        (Polynomial2, {**PO, "D1": 0.0}, "D1 must be > 0"),
        (Polynomial2, {**PO, "D2": -1.0}, "D2 must be >= 0"),
        (Ogden, dict(mu=(0.1, -0.2), alpha=(2.0, 4.0), K=1.0), r"mu: sum\(mu\) must be > 0"),
        (Ogden, dict(mu=(0.1, 0.2), alpha=(2.0, 0.0), K=1.0), "alpha2 must be non-zero"),
        (Ogden, dict(mu=(0.1,), alpha=(2.0, 3.0), K=1.0), "alpha must have as many terms"),
        (Ogden, dict(mu=(0.1,) * 4, alpha=(2.0,) * 4, K=1.0), "mu must have 1 to 3 terms"),
        (Ogden, dict(mu=(0.1,), alpha=(2.0,), K=-1.0), "K must be > 0"),
        (TransIsoMooneyRivlin, {**TI, "c2": -1.0}, r"c1 \+ c2"),
        (TransIsoMooneyRivlin, {**TI, "k": 0.0}, "k must be > 0"),
        (TransIsoMooneyRivlin, {**TI, "c3": -0.1}, "c3 must be >= 0"),
        (TransIsoMooneyRivlin, {**TI, "c4": -1.0}, "c4 must be >= 0"),
        (TransIsoMooneyRivlin, {**TI, "c5": -1.0}, "c5 must be >= 0"),
        (TransIsoMooneyRivlin, {**TI, "lam_max": 0.99}, "lam_max must be >= 1"),
        (TransIsoMooneyRivlin, {**TI, "fibre": (0.0, 0.0, 0.0)}, "fibre must be a non-zero"),
        (FibreNeoHookean, {**FN, "nu": 0.5}, "nu must satisfy"),
        (FibreNeoHookean, {**FN, "lam_max": 0.9}, "lam_max must be >= 1"),
    ],
)
def test_invalid_parameters_raise(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)


def test_error_names_material_value_and_range():
    with pytest.raises(ValueError) as e:
        NeoHookean(E=1.0, nu=0.5, name="heel_pad")
    msg = str(e.value)
    assert "NeoHookean 'heel_pad'" in msg and "0.5" in msg and "-1 < nu < 0.5" in msg


def test_ogden_from_terms_requires_pairs():
    with pytest.raises(ValueError, match="mu2 and alpha2"):
        Ogden.from_terms(mu1=0.1, alpha1=2.0, K=1.0, mu2=0.1)
