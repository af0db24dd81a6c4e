"""Mixtures of two hyperelastic materials (:class:`fesolver.materials.Mixture`, kernel model 8), uniform and graded.

What is checked, and the tolerance of each check:

* the kernel's stress, tangent and energy are the weighted sums of the constituents' (to 1e-14 relative) for
  pairs of uncoupled, coupled and spectral models at w = 0, 0.3 and 1;
* the tangent is the derivative of the stress and the stress that of the energy (central differences, 1e-6
  relative, as for every single model in ``test_materials_hyperelastic.py``);
* the mean-dilatation tet10 element (pressure constant per element) of a mixture of two uncoupled materials
  gives the weighted sum of the constituents' element forces and tangents (1e-12 relative): the volumetric
  energy is mixed like the rest;
* a graded mixture takes each element's fraction at its reference centroid: a bar whose modulus grades from
  E1 to E2 along its length (Poisson's ratio 0, so each slab is in uniaxial stress) stretches by exactly the
  sum of the elements' flexibilities at their centroid fractions (1e-6 relative, the finite-strain error of
  the 1e-6 strain), which converges to the continuous integral of 1 / E(x) (observed 2.2 %, 0.08 %, 0.001 %
  at 5, 10, 20 elements; asked: a rate above 1.8, the midpoint rule's 2, and 1 % at 20 elements);
* the small-strain moduli of a uniform mixture are the weighted bulk and shear moduli; invalid constituents and
  weights are refused; the graded mixture is refused by the linear analysis, ``pk2`` and UT4, and a mixture by
  the FEBio export (no equivalent that fesolver reads back).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from material_checks import fd_stress, fd_tangent, relerr, voigt
from meshgen import box_hex

from fesolver.assembly import finite_strain_response
from fesolver.elements import HEX8, TET10
from fesolver.errors import ModelError
from fesolver.loads import FixedDisplacement, NodalForce, Selection
from fesolver.materials import (
    Hyperfoam,
    LinearGrading,
    Mixture,
    MooneyRivlin,
    NeoHookean,
    Ogden,
    Polynomial2,
    TransIsoMooneyRivlin,
)
from fesolver.mesh import Mesh, SolidBlock
from fesolver.problem import Problem
from fesolver.solvers.newton import NewtonOptions

PAD = Ogden(mu=(0.001084,), alpha=(9.78,), K=0.0213, name="pad")  # the foot's heel pad
SOFT = Polynomial2(C10=0.08556, C01=-0.05841, C20=0.039, C11=-0.02319, C02=0.00851, D1=3.65273, name="soft")
PAIRS = {
    "ogden+polynomial": (PAD, SOFT),
    "mooney+neo": (MooneyRivlin(c1=0.3, c2=0.1, k=20.0), NeoHookean(E=2.0, nu=0.3)),
    "foam+mooney": (Hyperfoam(mu=(0.2,), alpha=(8.0,), nu=0.1), MooneyRivlin(c1=1.0, c2=0.0, k=5.0)),
}


def _C(seed=0):
    rng = np.random.default_rng(seed)
    F = np.eye(3) + 0.15 * rng.standard_normal((3, 3))
    if np.linalg.det(F) <= 0:
        F[:, 0] *= -1
    return F.T @ F


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("w", [0.0, 0.3, 1.0])
def test_mixture_is_the_weighted_sum(pair, w):
    a, b = PAIRS[pair]
    C = _C(1)
    S, D, W = Mixture(a, b, weight=w).pk2(C)
    Sa, Da, Wa = a.pk2(C)
    Sb, Db, Wb = b.pk2(C)
    assert relerr(S, (1 - w) * Sa + w * Sb) < 1e-14
    assert relerr(D, (1 - w) * Da + w * Db) < 1e-14
    assert W == pytest.approx((1 - w) * Wa + w * Wb, rel=1e-14)


@pytest.mark.parametrize("pair", PAIRS)
def test_mixture_tangent_and_stress_are_derivatives(pair):
    m = Mixture(*PAIRS[pair], weight=0.4)
    C = _C(2)
    S, D, _ = m.pk2(C)
    assert relerr(D, fd_tangent(m, C)) < 1e-6
    assert relerr(voigt(S), fd_stress(m, C)) < 1e-6


def test_mean_dilatation_element_mixes_the_volumetric_energy_too():
    """One distorted tet10, mean-dilatation: mixture forces and tangent = weighted sums of the constituents'."""
    rng = np.random.default_rng(3)
    X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    edges = [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]  # VTK tet10 midside order
    pts = np.vstack([X, [(X[i] + X[j]) / 2 for i, j in edges]])
    conn = np.arange(10)[None, :]
    u = 0.08 * rng.standard_normal((10, 3))
    w = 0.35
    out = {}
    for key, m in (("a", PAD), ("b", SOFT), ("mix", Mixture(PAD, SOFT, weight=w))):
        params = np.zeros(23)
        params[: m.params.size] = m.params
        fe, Ke, energy, _ = finite_strain_response(pts, TET10, conn, u, m.model_id, params,
                                                   formulation="mean_dilatation")
        out[key] = (fe.copy(), Ke.copy(), energy.copy())
    for k in range(3):
        expect = (1 - w) * out["a"][k] + w * out["b"][k]
        assert relerr(out["mix"][k], expect) < 1e-12, k


def test_mean_dilatation_refuses_a_mixture_with_a_coupled_constituent():
    m = Mixture(PAD, NeoHookean(E=1.0, nu=0.3), weight=0.5)
    pts, hexes = box_hex((1, 1, 1))
    with pytest.raises(ValueError, match="coupled"):
        finite_strain_response(pts, HEX8, hexes, np.zeros_like(pts), m.model_id, m.params,
                               formulation="mean_dilatation")


def _graded_bar(n, E1=1.0, E2=10.0, L=10.0, strain=1e-6):
    """Bar [0, L] x [0, 1]^2 of ``n`` hex8 along x, modulus graded from E1 (x <= 0.2 L) to E2 (x >= 0.8 L),
    nu = 0; returns (tip displacement, sum of element flexibilities, continuous integral) times F / A."""
    pts, hexes = box_hex((n, 1, 1), hi=(L, 1.0, 1.0))
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)])
    for name, axis, val in (("x0", 0, 0.0), ("y0", 1, 0.0), ("z0", 2, 0.0), ("tip", 0, L)):
        mesh.node_sets[name] = np.flatnonzero(np.isclose(pts[:, axis], val))
    grading = LinearGrading(axis=(1.0, 0.0, 0.0), start=0.2 * L, end=0.8 * L)
    mat = Mixture(NeoHookean(E=E1, nu=0.0), NeoHookean(E=E2, nu=0.0), weight=grading)
    F = strain * E1  # N on a 1 mm^2 section
    bcs = [FixedDisplacement(Selection(name="x0"), {0: 0.0}, name="x0"),
           FixedDisplacement(Selection(name="y0"), {1: 0.0}, name="y0"),
           FixedDisplacement(Selection(name="z0"), {2: 0.0}, name="z0")]
    res = Problem(mesh, {"all": mat}, bcs=bcs, loads=[NodalForce(Selection(name="tip"), (F, 0.0, 0.0))],
                  analysis="nonlinear", hex8="full", newton=NewtonOptions(initial_step=1.0)).solve()
    tip = float(res.displacement[mesh.node_sets["tip"], 0].mean())
    h = L / n
    xc = (np.arange(n) + 0.5) * h
    E = lambda x: (1 - grading(np.column_stack([x, 0 * x, 0 * x]))) * E1 + grading(  # noqa: E731
        np.column_stack([x, 0 * x, 0 * x])) * E2
    discrete = F * float(np.sum(h / E(xc)))
    xs, ws = np.polynomial.legendre.leggauss(40)
    cont = 0.0
    for lo, hi in ((0.0, 0.2 * L), (0.2 * L, 0.8 * L), (0.8 * L, L)):  # the grading is smooth piecewise
        x = 0.5 * (hi - lo) * xs + 0.5 * (hi + lo)
        cont += 0.5 * (hi - lo) * float(np.sum(ws / E(x)))
    return tip, discrete, F * cont


def test_graded_bar_takes_the_centroid_fraction_and_converges():
    errors = {}
    for n in (5, 10, 20):
        tip, discrete, cont = _graded_bar(n)
        assert tip == pytest.approx(discrete, rel=1e-5), n  # each element at its centroid's fraction
        errors[n] = abs(discrete / cont - 1.0)
    rate = math.log(errors[5] / errors[20], 4.0)
    print(f"\ngraded bar, error of the stretch against the continuous grading: {errors}, rate {rate:.2f}")
    assert errors[20] < 0.01
    assert rate > 1.8, errors


def test_uniform_mixture_moduli_and_invalid_input():
    a, b = MooneyRivlin(c1=0.5, c2=0.0, k=10.0), MooneyRivlin(c1=1.5, c2=0.0, k=30.0)
    E, nu = Mixture(a, b, weight=0.25).small_strain_moduli()
    K, mu = E / (3 * (1 - 2 * nu)), E / (2 * (1 + nu))
    assert K == pytest.approx(0.75 * 10.0 + 0.25 * 30.0, rel=1e-12)
    assert mu == pytest.approx(0.75 * 1.0 + 0.25 * 3.0, rel=1e-12)
    fibre = TransIsoMooneyRivlin(c1=1.0, c2=0.0, k=10.0, c3=0.1, c4=10.0, c5=100.0, lam_max=1.05)
    for kw, match in (({"weight": 1.5}, "weight"), ({"weight": float("nan")}, "weight"), ({"weight": "half"}, "weight"),
                      ({"second": fibre}, "fibre"), ({"second": Mixture(a, b)}, "nest"),
                      ({"second": 3.0}, "single hyperelastic")):
        args = {"first": a, "second": b, "weight": 0.5, **kw}
        with pytest.raises(ValueError, match=match):
            Mixture(**args)
    for kw, match in (({"axis": (0.0, 0.0, 0.0)}, "axis"), ({"end": 0.0}, "different")):
        args = {"axis": (1.0, 0.0, 0.0), "start": 0.0, "end": 1.0, **kw}
        with pytest.raises(ValueError, match=match):
            LinearGrading(**args)


def test_graded_mixture_is_refused_where_it_cannot_vary(tmp_path):
    graded = Mixture(PAD, SOFT, weight=LinearGrading(axis=(1.0, 0.0, 0.0), start=0.0, end=1.0), name="pad_graded")
    pts, hexes = box_hex((1, 1, 1))
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)])
    mesh.node_sets["x0"] = np.flatnonzero(np.isclose(pts[:, 0], 0.0))
    bcs = [FixedDisplacement(Selection(name="x0"), {0: 0.0, 1: 0.0, 2: 0.0}, name="x0")]
    with pytest.raises(ModelError, match="graded"):
        Problem(mesh, {"all": graded}, bcs=bcs, analysis="linear").solve()
    with pytest.raises(ValueError, match="graded"):
        graded.pk2(np.eye(3))
    from fesolver.elements.ut4 import UT4NodalIntegration
    with pytest.raises(ValueError, match="graded"):
        UT4NodalIntegration(0, graded)
    assert graded.at(0.5).pk2(np.eye(3))[2] == pytest.approx(0.0, abs=1e-15)
    from fesolver.febio import FEBioError
    from fesolver.febio_export import write_febio
    with pytest.raises(FEBioError, match="mixture|Mixture"):
        write_febio(Problem(mesh, {"all": graded}, bcs=bcs, analysis="nonlinear"), tmp_path / "m.feb")
