"""Hertz contact of two elastic bodies: an elastic ball (gmsh tet10) pressed onto an elastic block (hex8).

Ball R = 10 mm, E = 200 MPa; block E = 100 MPa; nu = 0.3 both; the ball's top (z = R) is moved down 0.05 mm
(a = 0.72 mm, a/R = 0.07, peak strain about 3 %). Quarter model (symmetry planes x = 0 and y = 0). Hertz for
the measured force F: ``a = (3 F R / (4 E*))^(1/3)``, ``p0 = 3 F / (2 pi a^2)``,
``1/E* = (1 - nu1^2)/E1 + (1 - nu2^2)/E2``. The flat block face is the slave (its structured quad4 nodes carry
the pressure), the curved tet10 ball the master. Contact radius from the contact area: ``a = sqrt(4 A_quarter / pi)``.

Hertz's theory is linear and needs a << R: pressed three times deeper (0.15 mm, a/R = 0.12, strains about
6-9 % in the finite-strain St Venant-Kirchhoff bodies) the peak pressure came out 5.5-6.3 % below p0 (a/4 and
a/6 meshes), 9.4 % with a nearly rigid ball, with a flatter profile; at 0.05 mm the same a/4 mesh gives
-1.1 %. That is the theory's limit, not the contact discretisation's.
"""

from __future__ import annotations

import numpy as np
import pytest
from hertz_models import ball_on_block

from fesolver.contact import SurfaceContact
from fesolver.loads import FixedDisplacement, Selection
from fesolver.materials import LinearElastic
from fesolver.problem import Problem
from fesolver.solvers.newton import NewtonOptions

R, A_EST, E_BLOCK, E_BALL, NU = 10.0, 0.72, 100.0, 200.0, 0.3


def hertz_two_bodies(per_a, order=2, delta=0.05):
    mesh = ball_on_block(R, A_EST, per_a=per_a, order=order)
    L = 12 * A_EST
    bcs = [FixedDisplacement(Selection(box=((0, 0, -L), (L, L, -L))), {2: 0.0}, "bottom"),
           FixedDisplacement(Selection(box=((0, 0, -L), (0, L, R))), {0: 0.0}, "sym_x"),
           FixedDisplacement(Selection(box=((0, 0, -L), (L, 0, R))), {1: 0.0}, "sym_y"),
           FixedDisplacement(Selection(box=((0, 0, R), (R, R, R))), {2: -delta}, "top")]
    c = SurfaceContact(slave="block_top", master="ball_surface", name="c")
    prob = Problem(mesh, {"block": LinearElastic(E_BLOCK, NU), "ball": LinearElastic(E_BALL, NU)}, bcs=bcs,
                   contacts=[c], newton=NewtonOptions(initial_step=0.5, max_step=0.5))
    res = prob.solve()
    s = res.contact["c"]["summary"]
    Es = 1.0 / ((1 - NU**2) / E_BLOCK + (1 - NU**2) / E_BALL)
    F = -4 * s["force_N"][2]  # normal_force_N is |force|: on a quarter model it includes in-plane components
    a_h = (3 * F * R / (4 * Es)) ** (1 / 3)
    p0 = 3 * F / (2 * np.pi * a_h**2)
    a = np.sqrt(4 * s["contact_area_mm2"] / np.pi)
    print(f"two-body Hertz a/{per_a}: F = {F:.4g} N (top reaction {-4 * res.reactions['top'][2]:.4g}), "
          f"a = {a:.4g} ({a_h:.4g} mm, {a / a_h - 1:+.1%}), p_max = {s['peak_pressure_MPa']:.4g} "
          f"({p0:.4g} MPa, {s['peak_pressure_MPa'] / p0 - 1:+.1%}), Newton "
          f"{[(r.iterations, r.augmentations) for r in res.steps]}")
    return F, -4 * res.reactions["top"][2], a, a_h, s["peak_pressure_MPa"], p0


@pytest.mark.slow
def test_hertz_two_elastic_bodies():
    """a/6 mesh: contact radius and peak pressure within 5 % of Hertz; the contact force equals the ball's
    support reaction (force balance between the two bodies)."""
    F, F_top, a, a_h, p, p0 = hertz_two_bodies(6)
    assert F == pytest.approx(F_top, rel=1e-4)
    assert a == pytest.approx(a_h, rel=0.05)
    assert p == pytest.approx(p0, rel=0.05)


@pytest.mark.slow
def test_hertz_two_elastic_spheres():
    """Two elastic balls, R = 10 mm each (1/R = 1/R1 + 1/R2: R = 5 mm), E = 200 (upper) and 100 MPa (lower),
    nu = 0.3, pressed 0.03 mm together (a = 0.39 mm, a/R = 0.08), a/6 tet10 meshes on both, the lower
    ball's tri6 surface the slave: peak pressure and contact radius within 5 % of Hertz; force balance."""
    from hertz_models import two_balls

    R1 = R2 = 10.0
    delta = 0.03
    Rh = 1.0 / (1.0 / R1 + 1.0 / R2)
    a_est = np.sqrt(Rh * delta)
    mesh = two_balls(R1, R2, a=a_est, per_a=6)
    bcs = [FixedDisplacement(Selection(box=((0, 0, -R2), (R2, R2, -R2))), {2: 0.0}, "bottom"),
           FixedDisplacement(Selection(box=((0, 0, -R2), (0, R1, R1))), {0: 0.0}, "sym_x"),
           FixedDisplacement(Selection(box=((0, 0, -R2), (R1, 0, R1))), {1: 0.0}, "sym_y"),
           FixedDisplacement(Selection(box=((0, 0, R1), (R1, R1, R1))), {2: -delta}, "top")]
    c = SurfaceContact(slave="lower_surface", master="upper_surface", name="c")
    prob = Problem(mesh, {"upper": LinearElastic(E_BALL, NU), "lower": LinearElastic(E_BLOCK, NU)}, bcs=bcs,
                   contacts=[c], newton=NewtonOptions(initial_step=0.5, max_step=0.5))
    res = prob.solve()
    s = res.contact["c"]["summary"]
    Es = 1.0 / ((1 - NU**2) / E_BLOCK + (1 - NU**2) / E_BALL)
    F = abs(4 * s["force_N"][2])
    a_h = (3 * F * Rh / (4 * Es)) ** (1 / 3)
    p0 = 3 * F / (2 * np.pi * a_h**2)
    a = np.sqrt(4 * s["contact_area_mm2"] / np.pi)
    F_top = -4 * res.reactions["top"][2]
    print(f"two spheres: F = {F:.4g} N (top reaction {F_top:.4g}), a = {a:.4g} ({a_h:.4g} mm, {a / a_h - 1:+.1%}), "
          f"p_max = {s['peak_pressure_MPa']:.4g} ({p0:.4g} MPa, {s['peak_pressure_MPa'] / p0 - 1:+.1%}), Newton "
          f"{[(r.iterations, r.augmentations) for r in res.steps]}")
    assert F == pytest.approx(F_top, rel=1e-4)
    assert a == pytest.approx(a_h, rel=0.05)
    assert s["peak_pressure_MPa"] == pytest.approx(p0, rel=0.05)


@pytest.mark.parametrize("per_a", [3, 4])
def test_force_per_area_on_a_coarse_curved_slave(per_a):
    """The foot's case: a coarse, curved tri3 slave (a tet4 ball, a/3 and a/4 near the contact) pressed 0.05 mm
    onto the block (``subdivision = 1``). The nodal multipliers overshoot Hertz's p0 there (measured: +25 % and
    +39 %; +6.5 % at a/6), the normal nodal force over the node's tributary area does not (+0.5 % and +0.9 %;
    -3.1 % at a/6): the force per area is within 5 % of p0 and below the multipliers' peak; the contact force
    balances the ball's support."""
    mesh = ball_on_block(R, A_EST, per_a=per_a, order=1)
    L = 12 * A_EST
    bcs = [FixedDisplacement(Selection(box=((0, 0, -L), (L, L, -L))), {2: 0.0}, "bottom"),
           FixedDisplacement(Selection(box=((0, 0, -L), (0, L, R))), {0: 0.0}, "sym_x"),
           FixedDisplacement(Selection(box=((0, 0, -L), (L, 0, R))), {1: 0.0}, "sym_y"),
           FixedDisplacement(Selection(box=((0, 0, R), (R, R, R))), {2: -0.05}, "top")]
    c = SurfaceContact(slave="ball_surface", master="block_top", name="c", subdivision=1)
    prob = Problem(mesh, {"block": LinearElastic(E_BLOCK, NU), "ball": LinearElastic(E_BALL, NU)}, bcs=bcs,
                   contacts=[c], newton=NewtonOptions(initial_step=0.5, max_step=0.5))
    res = prob.solve()
    out = res.contact["c"]
    s = out["summary"]
    Es = 1.0 / ((1 - NU**2) / E_BLOCK + (1 - NU**2) / E_BALL)
    F = 4 * abs(s["force_N"][2])
    a_h = (3 * F * R / (4 * Es)) ** (1 / 3)
    p0 = 3 * F / (2 * np.pi * a_h**2)
    pf, pm = s["peak_force_pressure_MPa"], s["peak_pressure_MPa"]
    print(f"a/{per_a}: p0 {p0:.3f} MPa, force per area {pf:.3f} ({pf / p0 - 1:+.1%}), multipliers {pm:.3f} "
          f"({pm / p0 - 1:+.1%})")
    assert F == pytest.approx(-4 * res.reactions["top"][2], rel=1e-4)
    assert pf == pytest.approx(p0, rel=0.05)
    assert pf < pm
    # the per-node field: the peak is the summary's, and it sums back to the contact force
    assert np.max(out["force_pressure"]) == pytest.approx(pf, rel=1e-12)
    A = c.passes[0].A
    assert 4 * float(np.dot(out["force_pressure"], A)) == pytest.approx(F, rel=0.02)
