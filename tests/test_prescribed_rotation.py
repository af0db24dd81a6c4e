"""Prescribed rotations (:class:`fesolver.loads.PrescribedRotation`): a set of nodes turned rigidly about an axis.

What is checked, and the tolerance of each check:

* the prescribed displacement is Rodrigues' rotation about the axis through the centre, at the curve's fraction
  of the angle (90 deg about z: (1, 0, 0) -> (0, 1, 0) to 1e-12; 120 deg about (1, 1, 1) permutes the axes);
  the small-strain analysis takes the infinitesimal rotation (theta x d);
  invalid axes, angles and components are refused;
* finite strain: a bar twisted by 90 deg stands at the curve's fraction of the angle at every converged step
  (to 1e-12 mm: at load factor 0.5 by exactly 45 deg, which a ramp of the end displacement would not give),
  and the reaction moments of its two ends balance about the axis to 1e-8;
* torsion of a square bar (side a, length 10 a, hex8, linear elastic; one end held, the other turned by 0.01
  rad about the bar's axis): the reaction moment about the axis approaches Saint-Venant's
  ``T = beta G a^4 theta / L`` with ``beta = 0.1406`` (Timoshenko & Goodier, Theory of Elasticity, 3rd ed.,
  table of torsion constants for rectangular bars, b/a = 1) from above as the section is refined (4x4, 6x6,
  8x8: +5.6, +2.7, +1.7 %; the 8x8 within 3 %, the error falling by more than 2.5 from 4x4 to 8x8, about h^2;
  the flat-held end faces add a few tenths of a per cent), with no net shear on the turned face, and the
  finite-strain analysis gives the linear moment at this small angle to 0.1 % (same element: plain hex8);
* the components left out are free: a turn about z prescribed on x and y leaves a pushed face free to move
  along z (the talar dome of the foot).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from meshgen import box_hex

from fesolver.elements import HEX8
from fesolver.loads import FixedDisplacement, NodalForce, PrescribedRotation, Selection
from fesolver.materials import LinearElastic
from fesolver.materials.hyperelastic import NeoHookean
from fesolver.mesh import Mesh, SolidBlock
from fesolver.problem import Problem
from fesolver.solvers.newton import NewtonOptions

BETA_SQUARE = 0.1406  # Saint-Venant torsion constant of a square section, J = beta a^4


def test_rotation_is_rodrigues():
    pts = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    quarter = PrescribedRotation(Selection(name="n"), axis=(0.0, 0.0, 2.0), angle_deg=90.0, centre=(0.0, 0.0, 0.0))
    u = quarter.displacements(pts, 1.0)
    x = pts + np.column_stack([u[0], u[1], u[2]])
    np.testing.assert_allclose(x, [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], atol=1e-12)
    u_half = quarter.displacements(pts, 0.5)
    c = math.sqrt(0.5)
    np.testing.assert_allclose(pts[0] + [u_half[0][0], u_half[1][0], u_half[2][0]], [c, c, 0.0], atol=1e-12)
    third = PrescribedRotation(Selection(name="n"), axis=(1.0, 1.0, 1.0), angle_deg=120.0, centre=(0.0, 0.0, 0.0))
    u = third.displacements(pts, 1.0)
    np.testing.assert_allclose(pts + np.column_stack([u[0], u[1], u[2]]), pts[[1, 2, 0]], atol=1e-12)
    lin = quarter.displacements(pts, 0.5, linear=True)
    np.testing.assert_allclose([lin[0][0], lin[1][0], lin[2][0]], [0.0, math.pi / 4, 0.0], atol=1e-12)
    # centre None: the centroid, which a rotation does not move
    free = PrescribedRotation(Selection(name="n"), axis=(0.0, 0.0, 1.0), angle_deg=37.0, components=(0, 1))
    u = free.displacements(pts + 5.0, 1.0)
    assert set(u) == {0, 1}
    assert abs(u[0].mean()) < 1e-12 and abs(u[1].mean()) < 1e-12


@pytest.mark.parametrize("kw, match", [
    ({"axis": (0.0, 0.0, 0.0)}, "axis"),
    ({"axis": (1.0, 0.0)}, "axis"),
    ({"angle_deg": float("nan")}, "angle_deg"),
    ({"components": (0, 3)}, "components"),
    ({"components": (1, 1)}, "components"),
    ({"components": ()}, "components"),
])
def test_invalid_rotation_is_refused(kw, match):
    args = {"axis": (0.0, 0.0, 1.0), "angle_deg": 10.0, **kw}
    with pytest.raises(ValueError, match=match):
        PrescribedRotation(Selection(name="n"), name="turn", **args)


def _block(n=(4, 4, 3), hi=(2.0, 2.0, 1.5)):
    pts, hexes = box_hex(n, hi=hi)
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)])
    mesh.node_sets["bottom"] = np.flatnonzero(np.isclose(pts[:, 2], 0.0))
    mesh.node_sets["top"] = np.flatnonzero(np.isclose(pts[:, 2], hi[2]))
    return mesh


def test_finite_twist_follows_the_rotation_at_every_step():
    """A bar twisted by 90 deg at finite strain: the turned face stands at the curve's fraction of the angle at
    every converged step (45 deg at load factor 0.5, where a ramp of the end displacement would have shrunk it
    by cos 45), and the moments at the two ends balance about the axis."""
    a, L = 1.0, 3.0
    pts, hexes = box_hex((4, 4, 12), lo=(-a / 2, -a / 2, 0.0), hi=(a / 2, a / 2, L))
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)])
    mesh.node_sets["bottom"] = np.flatnonzero(np.isclose(pts[:, 2], 0.0))
    mesh.node_sets["top"] = np.flatnonzero(np.isclose(pts[:, 2], L))
    axis = (0.0, 0.0, 1.0)
    bcs = [PrescribedRotation(Selection(name="bottom"), axis=axis, angle_deg=0.0, centre=(0.0, 0.0, 0.0), name="held"),
           PrescribedRotation(Selection(name="top"), axis=axis, angle_deg=90.0, centre=(0.0, 0.0, L), name="turn")]
    prob = Problem(mesh, {"all": NeoHookean(E=10.0, nu=0.3)}, bcs=bcs, analysis="nonlinear",
                   newton=NewtonOptions(initial_step=0.125, max_step=0.125))
    top = mesh.node_sets["top"]
    seen = {}

    def check(t, res):
        b = math.radians(90.0 * t)
        R = np.array([[math.cos(b), -math.sin(b)], [math.sin(b), math.cos(b)]])
        d = mesh.points[top, :2]
        seen[round(t, 6)] = np.abs(res.displacement[top, :2] - (d @ R.T - d)).max()

    res = prob.solve(on_step=check)
    assert 0.5 in seen, sorted(seen)
    assert max(seen.values()) < 1e-12, seen
    assert np.abs(res.displacement[top, 2]).max() < 1e-12
    m_turn, m_held = res.reaction_moments["turn"][2], res.reaction_moments["held"][2]
    assert m_turn > 0.0
    assert m_turn + m_held == pytest.approx(0.0, abs=1e-8 * m_turn)


def _bar(analysis, n, hex8="incompatible"):
    a, L, theta = 1.0, 10.0, 0.01
    pts, hexes = box_hex((n, n, 40), lo=(-a / 2, -a / 2, 0.0), hi=(a / 2, a / 2, L))
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)])
    mesh.node_sets["bottom"] = np.flatnonzero(np.isclose(pts[:, 2], 0.0))
    mesh.node_sets["top"] = np.flatnonzero(np.isclose(pts[:, 2], L))
    E, nu = 1000.0, 0.3
    mat = LinearElastic(E=E, nu=nu) if analysis == "linear" else NeoHookean(E=E, nu=nu)
    bcs = [FixedDisplacement(Selection(name="bottom"), {0: 0.0, 1: 0.0, 2: 0.0}, name="held"),
           PrescribedRotation(Selection(name="top"), axis=(0.0, 0.0, 1.0), angle_deg=math.degrees(theta),
                              centre=(0.0, 0.0, L), name="turn")]
    res = Problem(mesh, {"all": mat}, bcs=bcs, analysis=analysis, hex8=hex8).solve()
    G = E / (2.0 * (1.0 + nu))
    return res, BETA_SQUARE * G * a**4 * theta / L


def test_torsion_of_a_square_bar():
    errors = {}
    for n in (4, 6, 8):
        res, T = _bar("linear", n)
        errors[n] = res.reaction_moments["turn"][2] / T - 1.0
        assert np.abs(res.reactions["turn"][:2]).max() < 1e-9 * T  # no net shear on the turned face
    print("\ntorsion moment against Saint-Venant: "
          + ", ".join(f"{n}x{n}: {100 * e:+.2f} %" for n, e in errors.items()))
    assert abs(errors[8]) < 0.03
    assert errors[4] > errors[6] > errors[8] > 0.0  # stiff from above, as displacement elements are
    assert errors[4] / errors[8] > 2.5  # about h^2 (measured 3.3)
    fin, _ = _bar("nonlinear", 4)
    lin, _ = _bar("linear", 4, hex8="full")  # the finite-strain hex8 is the plain trilinear one
    assert fin.reaction_moments["turn"][2] == pytest.approx(lin.reaction_moments["turn"][2], rel=1e-3)


def test_components_left_out_are_free():
    mesh = _block()
    turn = PrescribedRotation(Selection(name="top"), axis=(0.0, 0.0, 1.0), angle_deg=5.0, components=(0, 1),
                              name="turn")
    prob = Problem(mesh, {"all": NeoHookean(E=10.0, nu=0.3)}, analysis="nonlinear",
                   bcs=[FixedDisplacement(Selection(name="bottom"), {0: 0.0, 1: 0.0, 2: 0.0}, name="held"), turn],
                   loads=[NodalForce(Selection(name="top"), (0.0, 0.0, -2.0), name="push")])
    res = prob.solve()
    top = mesh.node_sets["top"]
    uz = res.displacement[top, 2]
    assert uz.max() < -1e-3  # pushed down: z is not held
    assert res.reactions["turn"][2] == 0.0
    # x, y exactly the turn about the face's centroid
    d = mesh.points[top] - mesh.points[top].mean(axis=0)
    a = math.radians(5.0)
    R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    np.testing.assert_allclose(res.displacement[top, :2], d[:, :2] @ R.T - d[:, :2], atol=1e-12)
