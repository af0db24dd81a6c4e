"""Hertz contact of two elastic bodies: an elastic ball (gmsh tet10) pressed onto an elastic block (hex8).

Ball R = 10 mm, E = 200 MPa; block E = 100 MPa; nu = 0.3 both; the ball's top (z = R) is moved down 0.15 mm.
Quarter model (symmetry planes x = 0 and y = 0). Hertz for the measured force F:
``a = (3 F R / (4 E*))^(1/3)``, ``p0 = 3 F / (2 pi a^2)``, ``1/E* = (1 - nu1^2)/E1 + (1 - nu2^2)/E2``. The flat
block face is the slave (its structured quad4 nodes carry the pressure), the curved tet10 ball the master.
Contact radius from the contact area: ``a = sqrt(4 A_quarter / pi)``.
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

R, A_EST, E_BLOCK, E_BALL, NU = 10.0, 1.0, 100.0, 200.0, 0.3


def hertz_two_bodies(per_a, order=2, delta=0.15):
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
    F = 4 * s["normal_force_N"]
    a_h = (3 * F * R / (4 * Es)) ** (1 / 3)
    p0 = 3 * F / (2 * np.pi * a_h**2)
    a = np.sqrt(4 * s["contact_area_mm2"] / np.pi)
    print(f"two-body Hertz a/{per_a}: F = {F:.4g} N (top reaction {-4 * res.reactions['top'][2]:.4g}), "
          f"a = {a:.4g} ({a_h:.4g} mm, {a / a_h - 1:+.1%}), p_max = {s['peak_pressure_MPa']:.4g} "
          f"({p0:.4g} MPa, {s['peak_pressure_MPa'] / p0 - 1:+.1%}), Newton "
          f"{[(r.iterations, r.augmentations) for r in res.steps]}")
    return F, -4 * res.reactions["top"][2], a, a_h, s["peak_pressure_MPa"], p0


@pytest.mark.slow
def test_hertz_two_elastic_bodies_contact_radius():
    """a/6 mesh (h = 0.17 mm at a = 1.24 mm): contact radius within 5 % of Hertz (measured +0.7 %), force
    balance between the contact and the ball's support exact."""
    F, F_top, a, a_h, p, p0 = hertz_two_bodies(6)
    assert F == pytest.approx(F_top, rel=1e-4)
    assert a == pytest.approx(a_h, rel=0.05)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="peak pressure is 6.3 % below Hertz p0 at a/6 (and 5.5 % at a/4): the computed "
                   "profile is flatter than Hertz's (low at the centre, high near r = 0.8 a); not mesh-dependent "
                   "and not the augmentation tolerance (same with tol = 1e-4) -- under investigation (issue 4 note)")
def test_hertz_two_elastic_bodies_peak_pressure():
    F, F_top, a, a_h, p, p0 = hertz_two_bodies(6)
    assert p == pytest.approx(p0, rel=0.05)
