"""Hyperfoam (compressible Ogden-Hill foam, Abaqus ``*HYPERFOAM``): derivatives, closed forms derived here by
hand, small-strain limit, objectivity, validation, model files and a finite-strain solve of a foam cube.

Closed forms for ``F = diag(l1, l2, l3)``, ``J = l1 l2 l3`` (``tau_i = l_i dW/dl_i``, ``l_i dJ/dl_i = J``):

    sigma_i = 1/J sum_p 2 mu_p / alpha_p (l_i^alpha_p - J^(-alpha_p beta_p)),   beta_p = nu_p / (1 - 2 nu_p)

* uniaxial (one nu for all terms): every term's lateral stress vanishes at ``l2 = J^(-beta)``, i.e.
  ``l2 = l1^(-nu)`` exactly (nu = 0: no lateral expansion);
* hydrostatic ``l_i = J^(1/3)``: ``p = sum_p 2 mu_p / alpha_p (J^(alpha_p/3) - J^(-alpha_p beta_p)) / J``.

Tolerances (relative to the largest entry): tangent and stress vs central differences (step 1e-6) 1e-6;
closed forms 1e-10; small-strain tangent 1e-10; objectivity 1e-10; the cube solve 1e-6 (homogeneous, exact).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from material_checks import fd_stress, fd_tangent, relerr, voigt
from meshgen import box_hex, hex_to_tet, tet4_to_tet10

from fesolver.elements import HEX8, TET10
from fesolver.loads import FixedDisplacement, Selection
from fesolver.materials import MATERIAL_MODELS, Hyperfoam
from fesolver.materials.linear import stiffness_from_young_poisson
from fesolver.mesh import Mesh, SolidBlock
from fesolver.problem import Problem
from fesolver.solvers.newton import NewtonOptions

MATS = {
    "one_term_nu0": Hyperfoam(mu=(0.15,), alpha=(8.0,), nu=(0.0,)),
    "one_term_nu03": Hyperfoam(mu=(0.4,), alpha=(5.0,), nu=(0.3,)),
    "two_terms_common_nu": Hyperfoam(mu=(0.2, 0.05), alpha=(10.0, -2.0), nu=0.15),
    "three_terms_per_term_nu": Hyperfoam(mu=(0.3, -0.02, 0.05), alpha=(4.0, -3.0, 12.0), nu=(0.1, 0.25, 0.0)),
    "negative_nu": Hyperfoam(mu=(0.1,), alpha=(3.0,), nu=(-0.2,)),
}


def rotation(rng) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((3, 3)))
    Q = Q * np.sign(np.diag(R))
    if np.linalg.det(Q) < 0:
        Q[:, 0] *= -1.0
    return Q


def _states() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261128)
    Q = rotation(rng)
    st = {
        "identity": np.eye(3),
        "near_identity_1e-6": np.eye(3) + 1e-6 * rng.standard_normal((3, 3)),
        "double_eigenvalue": np.diag([1.2, 1.2, 0.7]) @ Q.T,
        "near_double_5e-6": np.diag([1.2, 1.2 * (1 + 2.5e-6), 0.7]) @ Q.T,
        "near_double_5e-5": np.diag([1.2, 1.2 * (1 + 2.5e-5), 0.7]) @ Q.T,
        "pure_dilatation": 1.1 * Q,
        "strong_compression": np.diag([0.45, 0.95, 1.0]) @ Q.T,  # foams are used at 50 % strain
        "volumetric_compression": 0.75 * Q,
    }
    for k in range(4):
        F = np.eye(3) + 0.3 * rng.standard_normal((3, 3))
        if np.linalg.det(F) < 0.3:
            F = np.eye(3) + 0.1 * rng.standard_normal((3, 3))
        st[f"random{k}"] = F
    return st


STATES = _states()








# ----------------------------------------------------------------------------------------------
# Derivative checks
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("name", list(MATS))
def test_tangent_is_derivative_of_stress(name, state):
    mat = MATS[name]
    C = STATES[state].T @ STATES[state]
    _, D, _ = mat.pk2(C)
    assert relerr(D, fd_tangent(mat, C)) < 1e-6
    assert np.abs(D - D.T).max() <= 1e-12 * np.abs(D).max()


# Near C = I the foam energy is the difference of two first-order terms (sum l^alpha - 3 and the J term), so
# W itself carries an absolute round-off of ~1e-16 mu and a central difference of it over 2e-6 cannot resolve a
# stress of ~1e-6 mu to 1e-6; the tangent check above covers those states.
@pytest.mark.parametrize("state", [s for s in STATES if "identity" not in s])
@pytest.mark.parametrize("name", list(MATS))
def test_stress_is_derivative_of_energy(name, state):
    mat = MATS[name]
    C = STATES[state].T @ STATES[state]
    S, _, _ = mat.pk2(C)
    assert relerr(voigt(S), fd_stress(mat, C)) < 1e-6


def hand_energy(mat: Hyperfoam, F: np.ndarray) -> float:
    lam = np.sqrt(np.linalg.eigvalsh(F.T @ F))
    J = float(np.prod(lam))
    W = 0.0
    for m, a, nu in zip(mat.mu, mat.alpha, mat.nu, strict=True):
        b = nu / (1 - 2 * nu)
        vol = -a * math.log(J) if b == 0.0 else (J ** (-a * b) - 1) / b
        W += 2 * m / a**2 * ((lam**a).sum() - 3 + vol)
    return W


@pytest.mark.parametrize("name", list(MATS))
def test_energy_is_the_abaqus_hyperfoam_energy(name):
    mat = MATS[name]
    for k in range(4):
        F = STATES[f"random{k}"]
        assert math.isclose(mat.pk2(F.T @ F)[2], hand_energy(mat, F), rel_tol=1e-11)


# ----------------------------------------------------------------------------------------------
# Closed forms
# ----------------------------------------------------------------------------------------------


def hand_cauchy(mat: Hyperfoam, lams) -> np.ndarray:
    """Principal Cauchy stresses of F = diag(lams) (module docstring)."""
    l = np.asarray(lams, dtype=float)
    J = float(np.prod(l))
    tau = sum(2 * m / a * (l**a - J ** (-a * (nu / (1 - 2 * nu))))
              for m, a, nu in zip(mat.mu, mat.alpha, mat.nu, strict=True))
    return tau / J


@pytest.mark.parametrize("lam", [0.5, 0.8, 1.2])
@pytest.mark.parametrize("name", ["one_term_nu0", "one_term_nu03", "two_terms_common_nu", "negative_nu"])
def test_uniaxial_lateral_stretch_is_lam_to_minus_nu(name, lam):
    """One nu for every term: F = diag(lam, lam^-nu, lam^-nu) is exactly uniaxial (nu = 0: l2 = 1)."""
    mat = MATS[name]
    nu = mat.nu[0]
    t = lam ** (-nu)
    sig = mat.stress(np.diag([lam, t, t]))
    ref = hand_cauchy(mat, [lam, t, t])
    J = lam * t * t
    s11 = sum(2 * m / a * (lam**a - J ** (-a * nu / (1 - 2 * nu))) for m, a in zip(mat.mu, mat.alpha, strict=True)) / J
    assert abs(ref[0] - s11) <= 1e-12 * abs(s11)
    assert abs(sig[0, 0] - s11) <= 1e-10 * abs(s11)
    assert abs(sig[1, 1]) <= 1e-10 * abs(s11) and abs(sig[2, 2]) <= 1e-10 * abs(s11)
    assert np.abs(sig - np.diag(np.diag(sig))).max() <= 1e-12 * abs(s11)
    if nu == 0.0:  # sigma_11 = 2 mu / alpha (lam^alpha - 1) / lam
        m, a = mat.mu[0], mat.alpha[0]
        assert math.isclose(sig[0, 0], 2 * m / a * (lam**a - 1) / lam, rel_tol=1e-10)
    assert (sig[0, 0] < 0) == (lam < 1)


@pytest.mark.parametrize("J", [0.4, 0.7, 1.3])
@pytest.mark.parametrize("name", list(MATS))
def test_hydrostatic(name, J):
    mat = MATS[name]
    l = J ** (1 / 3)
    sig = mat.stress(np.diag([l, l, l]))
    p = sum(2 * m / a * (J ** (a / 3) - J ** (-a * nu / (1 - 2 * nu))) for m, a, nu in
            zip(mat.mu, mat.alpha, mat.nu, strict=True)) / J
    np.testing.assert_allclose(sig, p * np.eye(3), rtol=0, atol=1e-10 * abs(p))
    assert (p < 0) == (J < 1)  # compression needs pressure
    np.testing.assert_allclose(np.diag(sig), hand_cauchy(mat, [l, l, l]), rtol=1e-12)


@pytest.mark.parametrize("name", list(MATS))
def test_general_principal_state(name):
    mat = MATS[name]
    lams = [0.6, 1.1, 0.9]
    np.testing.assert_allclose(np.diag(mat.stress(np.diag(lams))), hand_cauchy(mat, lams), rtol=1e-10,
                               atol=1e-14)


def test_nu0_foam_compresses_without_lateral_expansion_but_nu03_expands():
    """sigma_22 = 0 solved numerically: nu = 0 keeps l2 = 1, nu = 0.3 gives l2 = lam^-0.3 > 1."""
    from scipy.optimize import brentq

    for name, nu in (("one_term_nu0", 0.0), ("one_term_nu03", 0.3)):
        mat = MATS[name]
        t = brentq(lambda t, mat=mat: mat.stress(np.diag([0.5, t, t]))[1, 1], 0.5, 2.0, xtol=1e-15)
        assert math.isclose(t, 0.5 ** (-nu), rel_tol=1e-10)


# ----------------------------------------------------------------------------------------------
# Small strain, objectivity
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MATS))
def test_small_strain_limit(name):
    mat = MATS[name]
    S, D, W = mat.pk2(np.eye(3))
    E, nu = mat.small_strain_moduli()
    assert relerr(D, stiffness_from_young_poisson(E, nu)) < 1e-10
    assert np.abs(S).max() <= 1e-14 and abs(W) <= 1e-14
    mu0 = sum(mat.mu)
    K0 = sum(2 * m * (1 / 3 + v / (1 - 2 * v)) for m, v in zip(mat.mu, mat.nu, strict=True))
    assert math.isclose(E, 9 * K0 * mu0 / (3 * K0 + mu0), rel_tol=1e-12)
    if len(set(mat.nu)) == 1:  # E = 2 mu0 (1 + nu), nu0 = nu
        assert math.isclose(E, 2 * mu0 * (1 + mat.nu[0]), rel_tol=1e-12)
        assert math.isclose(nu, mat.nu[0], rel_tol=1e-12, abs_tol=1e-15)


def test_from_E_nu_and_from_beta():
    m = Hyperfoam.from_E_nu(E=2.6, nu=0.3, alpha=5.0)
    E, nu = m.small_strain_moduli()
    assert math.isclose(E, 2.6, rel_tol=1e-12) and math.isclose(nu, 0.3, rel_tol=1e-12)
    b = Hyperfoam.from_beta(mu=(0.1, 0.02), alpha=(6.0, -2.0), beta=(0.25, 0.0))
    assert b.beta == pytest.approx((0.25, 0.0), rel=1e-14)


@pytest.mark.parametrize("name", list(MATS))
def test_objectivity(name):
    mat = MATS[name]
    rng = np.random.default_rng(11)
    for k in range(4):
        F = STATES[f"random{k}"]
        R = rotation(rng)
        S, _, W = mat.pk2(F.T @ F)
        SR, _, WR = mat.pk2((R @ F).T @ (R @ F))
        assert np.abs(SR - S).max() <= 1e-10 * np.abs(S).max()
        assert abs(WR - W) <= 1e-10 * abs(W)
        sig = mat.stress(F)
        np.testing.assert_allclose(mat.stress(R @ F), R @ sig @ R.T, rtol=0, atol=1e-10 * np.abs(sig).max())


def test_kernel_parameter_packing():
    """One nu: 8 slots (the solver's per-element width); different nus: 10, term count negated."""
    assert MATS["two_terms_common_nu"].params.shape == (8,)
    p = MATS["three_terms_per_term_nu"].params
    assert p.shape == (10,) and p[0] == -3
    # zero padding of the 8-slot form does not change the response
    m = MATS["two_terms_common_nu"]
    C = STATES["random0"].T @ STATES["random0"]
    from fesolver.materials import _kernels

    S1, D1 = np.zeros((3, 3)), np.zeros((6, 6))
    S2, D2 = np.zeros((3, 3)), np.zeros((6, 6))
    W1 = _kernels.pk2_and_tangent(m.model_id, m.params, C, np.zeros(3), S1, D1)
    W2 = _kernels.pk2_and_tangent(m.model_id, np.concatenate([m.params, [0.0, 0.0]]), C, np.zeros(3), S2, D2)
    assert W1 == W2 and np.array_equal(S1, S2) and np.array_equal(D1, D2)


# ----------------------------------------------------------------------------------------------
# Validation and model files
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(mu=(0.1, -0.2), alpha=(2.0, 4.0)), r"sum\(mu\) must be > 0"),
        (dict(mu=(0.1,), alpha=(0.0,)), "alpha1 must be non-zero"),
        (dict(mu=(0.1,), alpha=(2.0, 3.0)), "alpha must have as many terms"),
        (dict(mu=(0.1,) * 4, alpha=(2.0,) * 4), "mu must have 1 to 3 terms"),
        (dict(mu=(0.1,), alpha=(2.0,), nu=(0.5,)), "nu1 must satisfy -1 < nu < 0.5"),
        (dict(mu=(0.1,), alpha=(2.0,), nu=(-1.0,)), "nu1 must satisfy"),
        (dict(mu=(0.1, 0.1), alpha=(2.0, 3.0), nu=(0.1, 0.2, 0.3)), "nu must be one value or as many"),
        (dict(mu=(float("nan"),), alpha=(2.0,)), "mu1 must be a finite"),
        (dict(mu=(0.1,), alpha=(2.0,), density=-1.0), "density"),
    ],
)
def test_invalid_parameters_raise(kw, match):
    with pytest.raises(ValueError, match=match):
        Hyperfoam(**kw, name="insole")


def test_error_names_material():
    with pytest.raises(ValueError, match="Hyperfoam 'poron'.*nu1.*0.5"):
        Hyperfoam(mu=(0.1,), alpha=(5.0,), nu=0.5, name="poron")


def test_model_file_keys():
    ctor, required, optional = MATERIAL_MODELS["hyperfoam"]
    assert required == ("mu1", "alpha1")
    m = ctor(mu1=0.2, alpha1=8.0, nu1=0.1, mu2=0.05, alpha2=-2.0, name="eva")
    assert m.mu == (0.2, 0.05) and m.nu == (0.1, 0.1) and m.name == "eva"
    m = ctor(mu1=0.2, alpha1=8.0, name="eva")
    assert m.nu == (0.0,)
    with pytest.raises(ValueError, match="mu2 and alpha2"):
        ctor(mu1=0.2, alpha1=8.0, mu2=0.1)
    with pytest.raises(ValueError, match="nu2 given without"):
        ctor(mu1=0.2, alpha1=8.0, nu2=0.1)


def test_model_file_loads_hyperfoam(tmp_path):
    import meshio

    from fesolver.modelfile import load_model

    pts, hexes = box_hex(1, hi=(10.0, 10.0, 10.0))
    meshio.write(tmp_path / "cube.vtu", meshio.Mesh(pts, [("hexahedron", hexes)]))
    (tmp_path / "model.toml").write_text(
        '[mesh]\nfile = "cube.vtu"\n'
        '[materials.foam]\nmodel = "hyperfoam"\nregion = "all"\nmu1 = 0.2\nalpha1 = 8.0\nnu1 = 0.1\n'
        '[[boundary]]\nname = "base"\nbox = [[-1, -1, -1], [11, 11, 0.1]]\nfix = ["x", "y", "z"]\n'
    )
    prob = load_model(tmp_path / "model.toml")
    mat = prob.materials["all"]
    assert isinstance(mat, Hyperfoam) and mat.nu == (0.1,) and mat.name == "foam"


# ----------------------------------------------------------------------------------------------
# Finite-strain solve: a foam cube compressed to half its height between frictionless plates
# ----------------------------------------------------------------------------------------------


def face(axis: int, at: float, size: float) -> Selection:
    lo = [-1.0, -1.0, -1.0]
    hi = [size + 1.0] * 3
    lo[axis] = hi[axis] = at
    return Selection(box=(tuple(lo), tuple(hi)))


@pytest.mark.parametrize("etype", ["hex8", "tet10"])
@pytest.mark.parametrize("name", ["one_term_nu0", "one_term_nu03", "two_terms_common_nu"])
def test_foam_cube_uniaxial_compression_matches_closed_form(name, etype):
    """10 mm cube, top pushed down 5 mm (lam = 0.5), sliding supports: sigma_zz = closed form, the lateral
    stretch is lam^-nu (no lateral expansion for nu = 0) and the plate force is sigma_zz times the current area."""
    mat = MATS[name]
    L, lam = 10.0, 0.5
    pts, hexes = box_hex(2, hi=(L, L, L))
    if etype == "hex8":
        mesh = Mesh(pts, [SolidBlock(HEX8, hexes)])
    else:
        p10, t10 = tet4_to_tet10(pts, hex_to_tet(pts, hexes))
        mesh = Mesh(p10, [SolidBlock(TET10, t10)])
    bcs = [FixedDisplacement(face(0, 0.0, L), {0: 0.0}, name="x0"),
           FixedDisplacement(face(1, 0.0, L), {1: 0.0}, name="y0"),
           FixedDisplacement(face(2, 0.0, L), {2: 0.0}, name="bottom"),
           FixedDisplacement(face(2, L, L), {2: (lam - 1.0) * L}, name="top")]
    pr = Problem(mesh, {"all": mat}, bcs=bcs, analysis="nonlinear",
                 newton=NewtonOptions(initial_step=0.1, max_step=0.25, rtol_residual=1e-10))
    res = pr.solve()
    nu = mat.nu[0]
    t = lam ** (-nu)
    J = lam * t * t
    s33 = sum(2 * m / a * (lam**a - J ** (-a * nu / (1 - 2 * nu))) for m, a in zip(mat.mu, mat.alpha, strict=True)) / J
    cell = np.vstack(res.cell_stress)
    assert np.abs(cell[:, 2] - s33).max() <= 1e-6 * abs(s33)
    assert np.abs(cell[:, [0, 1, 3, 4, 5]]).max() <= 1e-6 * abs(s33)
    x = mesh.points + res.displacement
    np.testing.assert_allclose(x, mesh.points * np.array([t, t, lam]), rtol=0, atol=1e-6 * L)
    if nu == 0.0:
        assert np.abs(res.displacement[:, :2]).max() < 1e-8


# ----------------------------------------------------------------------------------------------
# Insole material library (fesolver.models.library)
# ----------------------------------------------------------------------------------------------


def test_library_every_entry_builds_and_matches_its_cited_range():
    from fesolver.models.library import INSOLE_MATERIALS, available, insole_material

    assert available() == sorted(INSOLE_MATERIALS)
    for name, entry in INSOLE_MATERIALS.items():
        mat = insole_material(name)
        assert mat.name == name
        E, nu = mat.small_strain_moduli()
        lo, hi = entry.E_range
        assert lo * (1 - 1e-12) <= E <= hi * (1 + 1e-12), name
        assert math.isclose(E, entry.E, rel_tol=1e-12) and math.isclose(nu, entry.nu, rel_tol=1e-12)
        assert entry.status in ("verified", "partly verified", "unverified") and entry.source and entry.note
        S, D, _ = mat.pk2(np.eye(3))
        assert np.abs(S).max() < 1e-12 * E and np.all(np.linalg.eigvalsh(D) > 0)
        if entry.model == "hyperfoam":
            assert isinstance(mat, Hyperfoam) and entry.alpha is not None
            # compression to half thickness needs compressive stress (the foam does not soften into instability)
            s = [mat.stress(np.diag([1.0, 1.0, lam]))[2, 2] for lam in (0.9, 0.7, 0.5)]
            assert s[0] < 0 and s[0] > s[1] > s[2]


def test_library_unknown_name_lists_the_available_ones():
    from fesolver.errors import ModelError
    from fesolver.models.library import insole_material

    with pytest.raises(ModelError, match="unknown insole material 'evaa'.*eva_medium.*poron"):
        insole_material("evaa")


def test_library_foams_are_softer_than_the_shell_and_eva_stiffens_with_density():
    from fesolver.models.library import insole_material

    E = {n: insole_material(n).small_strain_moduli()[0] for n in ("eva_soft", "eva_medium", "eva_firm", "rigid_shell",
                                                                 "poron")}
    assert E["poron"] < E["eva_soft"] < E["eva_medium"] < E["eva_firm"] < E["rigid_shell"]


def test_foam_with_a_poisson_ratio_per_term_solves_confined_compression():
    """Ten kernel parameters (a Poisson ratio per term): a hex8 cube in confined compression to lam = 0.6
    (lateral faces held) has the material's own Cauchy stress at F = diag(1, 1, 0.6) in every element (1e-6)."""
    mat = MATS["three_terms_per_term_nu"]
    L, lam = 10.0, 0.6
    pts, hexes = box_hex(2, hi=(L, L, L))
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)])
    bcs = [FixedDisplacement(face(0, 0.0, L), {0: 0.0}, name="x0"),
           FixedDisplacement(face(0, L, L), {0: 0.0}, name="x1"),
           FixedDisplacement(face(1, 0.0, L), {1: 0.0}, name="y0"),
           FixedDisplacement(face(1, L, L), {1: 0.0}, name="y1"),
           FixedDisplacement(face(2, 0.0, L), {2: 0.0}, name="bottom"),
           FixedDisplacement(face(2, L, L), {2: (lam - 1.0) * L}, name="top")]
    res = Problem(mesh, {"all": mat}, bcs=bcs, analysis="nonlinear",
                  newton=NewtonOptions(initial_step=0.1, max_step=0.25, rtol_residual=1e-10)).solve()
    sig = mat.stress(np.diag([1.0, 1.0, lam]))
    expect = np.array([sig[0, 0], sig[1, 1], sig[2, 2], sig[0, 1], sig[1, 2], sig[0, 2]])
    cell = np.vstack(res.cell_stress)
    assert np.abs(cell - expect).max() <= 1e-6 * np.abs(expect).max()
