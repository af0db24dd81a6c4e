"""Coulomb friction on a rigid plane (:class:`fesolver.contact.RigidPlane` with ``friction``): tangent against
central differences in stick and slip, the sliding limit ``|F_t| = mu |F_n|``, stick converging to a tied
surface as the tangential penalty grows, the history between steps, and the checks of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from contact_models import rigid_contact_tangent
from meshgen import box_hex

from fesolver.contact import RigidPlane, RigidSphere
from fesolver.elements import HEX8
from fesolver.errors import ModelError
from fesolver.loads import BodyForce, FixedDisplacement, LoadCurve, Selection
from fesolver.materials import LinearElastic
from fesolver.mesh import Mesh, SolidBlock
from fesolver.nonlinear import FiniteStrainSystem
from fesolver.problem import Problem
from fesolver.solvers.newton import NewtonOptions

E, NU = 100.0, 0.3
HI = (10.0, 10.0, 5.0)


def block(n=(4, 4, 2)):
    pts, hexes = box_hex(n, hi=HI)
    return Mesh(pts, [SolidBlock(HEX8, hexes)], cell_sets={"all": {0: np.arange(hexes.shape[0])}})


def bottom():
    return Selection(box=((-1e-9, -1e-9, 0.0), (HI[0] + 1e-9, HI[1] + 1e-9, 1e-9)))


def top():
    return Selection(box=((-1e-9, -1e-9, HI[2]), (HI[0] + 1e-9, HI[1] + 1e-9, HI[2])))


def test_friction_tangent_matches_central_difference():
    """dF/du of the normal + friction forces with sticking, sliding, landing and free nodes vs central FD: rel <
    1e-6."""
    mesh = block()
    plane = RigidPlane(surface=bottom(), point=(0.0, 0.0, 0.0), normal=(0.1, -0.2, 1.0), penalty=50.0,
                       friction=0.4, tangential_penalty=30.0)
    prob = Problem(mesh, {"all": LinearElastic(E, NU)}, contacts=[plane])
    sys_ = FiniteStrainSystem(prob)
    sys_.t = 1.0
    rng = np.random.default_rng(1)
    u = 0.05 * rng.standard_normal(sys_.n_dofs)
    u.reshape(-1, 3)[:, 2] -= 0.02  # push the bottom into the tilted plane
    g, n, _, p = plane.state(sys_, u.reshape(-1, 3))
    # history: committed positions a little away, tangential tractions in the plane
    x = mesh.points[plane.nodes] + u.reshape(-1, 3)[plane.nodes]
    plane.x_n = x + 0.01 * rng.standard_normal(x.shape)
    tn = rng.standard_normal(x.shape) * rng.uniform(0.0, 3.0, (x.shape[0], 1))
    plane.t_n = tn - np.sum(tn * n, axis=1)[:, None] * n
    # a fifth of the nodes were off the plane at the last converged step: landing, they carry no friction
    plane.h_n = np.where(rng.random(x.shape[0]) < 0.2, 0.05, -0.01)
    t, _ = plane._friction(x, n, g, p, False)
    d = x - plane.x_n
    ttr = plane.t_n - plane.eps_t * (d - np.sum(d * n, axis=1)[:, None] * n)
    lim = plane.friction * p
    held = plane.h_n < 0.0
    stick = (np.linalg.norm(ttr, axis=1) < lim) & (p > 0) & held
    slip = (np.linalg.norm(ttr, axis=1) > lim) & (p > 0) & held
    landing = (p > 0) & ~held
    assert stick.sum() >= 2 and slip.sum() >= 2 and (p == 0).sum() >= 2 and landing.sum() >= 2, (
        stick.sum(), slip.sum(), landing.sum())
    np.testing.assert_array_equal(t[landing], 0.0)
    np.testing.assert_allclose(t[stick], ttr[stick], rtol=1e-12)
    # away from the kinks (p = 0, |t*| = mu p), where the force is not differentiable
    assert np.min(np.abs(plane.eps * g)) > 1e-4
    assert np.min(np.abs(np.linalg.norm(ttr, axis=1) - lim)[p > 0]) > 1e-4
    np.testing.assert_allclose(np.linalg.norm(t[slip], axis=1), lim[slip], rtol=1e-12)

    Ka, Kfd = rigid_contact_tangent(sys_, plane, u, 1e-7)
    dofs = (3 * plane.nodes[:, None] + np.arange(3)).ravel()
    assert np.abs(Ka - Kfd).max() / np.abs(Ka).max() < 1e-6
    Kc = Ka[dofs]
    assert np.abs(Kc - Kc.T).max() > 1e-3 * np.abs(Kc).max()  # sliding makes it unsymmetric
    assert not plane.symmetric_tangent and not sys_.symmetric


def shear_problem(shift, friction, eps_t=None, steps=4):
    """Block pressed 0.1 mm onto a frictional plane by its top (t 0 -> 0.5), then the top moved by ``shift`` in x
    (t 0.5 -> 1)."""
    press = LoadCurve(((0.0, 0.0), (0.5, 1.0), (1.0, 1.0)), name="press")
    slide = LoadCurve(((0.0, 0.0), (0.5, 0.0), (1.0, 1.0)), name="slide")
    bcs = [FixedDisplacement(top(), {2: -0.1}, "press", curve=press),
           FixedDisplacement(top(), {0: shift, 1: 0.0}, "shear", curve=slide)]
    plane = RigidPlane(surface=bottom(), name="floor", point=(0.0, 0.0, 0.0), normal=(0.0, 0.0, 1.0),
                       friction=friction, tangential_penalty=eps_t, tol=1e-10, gap_tol=1e-8)
    return Problem(block(), {"all": LinearElastic(E, NU)}, bcs=bcs, contacts=[plane],
                   newton=NewtonOptions(initial_step=1.0 / steps, max_step=1.0 / steps))


def test_sliding_block_transmits_mu_times_the_normal_force():
    """Sheared well past the stick limit every contact node slides: |F_t| = mu F_n (rel 1e-4: the nodes slide
    along x and slightly apart in y with the block's Poisson spreading, so the vector sum is a little below the
    sum of the magnitudes), and the contact's sums equal the top's reactions to 1e-6."""
    mu = 0.3
    res = shear_problem(1.0, mu).solve()
    s = res.contact["floor"]["summary"]
    Ft = np.asarray(s["friction_force_N"])
    assert s["sliding_nodes"] == s["active_nodes"] == 25
    assert np.hypot(Ft[0], Ft[1]) == pytest.approx(mu * s["normal_force_N"], rel=1e-4)
    assert Ft[0] < 0 < s["normal_force_N"]  # the floor holds the block back
    R = res.reactions["press"] + res.reactions["shear"]
    assert R[0] == pytest.approx(-Ft[0], rel=1e-6)
    assert R[2] == pytest.approx(-s["normal_force_N"], rel=1e-6)


def test_sticking_block_converges_to_a_tied_bottom():
    """Below the limit (mu = 10) the bottom sticks: the shear reaction approaches that of a bottom held in x, y
    (and pressed by a stiff floor) as eps_T grows, error ~ 1/eps_T."""
    tied_bcs = [FixedDisplacement(bottom(), {0: 0.0, 1: 0.0}, "tied")]
    err = []
    ref = None
    for eps_t in (1e3, 1e4):
        prob = shear_problem(0.05, 10.0, eps_t)
        if ref is None:
            tied = shear_problem(0.05, 0.0)
            tied.bcs = list(tied.bcs) + tied_bcs
            ref = tied.solve().reactions["shear"][0]
        res = prob.solve()
        s = res.contact["floor"]["summary"]
        assert s["sliding_nodes"] == 0 and s["active_nodes"] == 25
        err.append(abs(res.reactions["shear"][0] - ref) / abs(ref))
    assert err[1] < 1e-3
    assert 5.0 < err[0] / err[1] < 15.0  # first order in 1 / eps_T


def test_history_sticks_after_sliding():
    """After sliding the friction history holds the slid position: moving the top back by 0.1 mm (of the 1 mm
    slide) turns the friction force through zero to a reversed force below mu F_n, with every node stuck."""
    press = LoadCurve(((0.0, 0.0), (0.3, 1.0), (1.0, 1.0)), name="press")
    slide = LoadCurve(((0.0, 0.0), (0.3, 0.0), (0.6, 1.0), (1.0, 0.9)), name="slide")
    bcs = [FixedDisplacement(top(), {2: -0.1}, "press", curve=press),
           FixedDisplacement(top(), {0: 1.0, 1: 0.0}, "shear", curve=slide)]
    plane = RigidPlane(surface=bottom(), name="floor", point=(0.0, 0.0, 0.0), normal=(0.0, 0.0, 1.0),
                       friction=0.3, tol=1e-10, gap_tol=1e-8)
    prob = Problem(block(), {"all": LinearElastic(E, NU)}, bcs=bcs, contacts=[plane],
                   newton=NewtonOptions(initial_step=0.1, max_step=0.1, growth=1.0))
    seen = []
    prob.solve(on_step=lambda t, r: seen.append((t, r.contact["floor"]["summary"])))
    by_t = {round(t, 6): s for t, s in seen}
    slid = by_t[0.6]
    assert slid["sliding_nodes"] == 25
    back = by_t[1.0]
    assert back["sliding_nodes"] == 0  # reversed: every node sticks
    assert back["friction_force_N"][0] > 0.0 > slid["friction_force_N"][0]  # the force changed sign
    assert abs(back["friction_force_N"][0]) < 0.3 * back["normal_force_N"]


def test_motion_in_the_air_is_not_slip():
    """A block carried 1 mm sideways while still 0.2 mm above a sticky plane (mu = 1), then lowered 0.1 mm into
    it: friction has nothing to hold, |F_t| < 1e-3 F_n, whether the whole path is one load step (the bottom
    lands in it and carries no friction until it converges) or ten (the sideways motion ends before the step in
    which the bottom lands). Counting a landing node's whole step as slip, as before December 2026, gave the one
    step |F_t| = mu F_n: every node sliding back over the 1 mm it had moved in the air."""
    side = LoadCurve(((0.0, 0.0), (0.5, 1.0), (1.0, 1.0)), name="side")
    down = LoadCurve(((0.0, 0.0), (1.0, 1.0)), name="down")
    forces = []
    for steps in (1, 10):
        bcs = [FixedDisplacement(top(), {0: 1.0, 1: 0.0}, "side", curve=side),
               FixedDisplacement(top(), {2: -0.3}, "down", curve=down)]
        plane = RigidPlane(surface=bottom(), name="floor", point=(0.0, 0.0, -0.2), normal=(0.0, 0.0, 1.0),
                           friction=1.0, tol=1e-10, gap_tol=1e-8)
        # the block's weight (0.05 N, constant) stretches it a little: a rigid motion alone leaves Newton's
        # relative residual without a scale
        weight = BodyForce((0.0, 0.0, -1e-4), curve=LoadCurve(((0.0, 1.0), (1.0, 1.0)), name="always"))
        prob = Problem(block(), {"all": LinearElastic(E, NU)}, bcs=bcs, loads=[weight], contacts=[plane],
                       newton=NewtonOptions(initial_step=1.0 / steps, max_step=1.0 / steps, growth=1.0))
        res = prob.solve()
        s = res.contact["floor"]["summary"]
        assert len(res.steps) == steps and s["active_nodes"] == 25
        assert s["normal_force_N"] > 0.0
        forces.append((np.asarray(s["friction_force_N"]), s["normal_force_N"]))
    for Ft, Fn in forces:
        assert np.hypot(Ft[0], Ft[1]) < 1e-3 * Fn, (Ft, Fn)
    # pressed in within its landing step, the one-step bottom spreads freely (Poisson); in ten steps it sticks from
    # the step after landing on and holds the block stiffer (211 against 228 N): the rule's first-order error
    assert forces[0][1] < forces[1][1]


def test_bad_friction_input():
    with pytest.raises(ModelError, match="friction must be a finite number >= 0"):
        RigidPlane(surface="s", friction=-0.1)
    with pytest.raises(ModelError, match="rigid planes only"):
        RigidSphere(surface="s", friction=0.2)
    with pytest.raises(ModelError, match="driven by body"):
        RigidPlane(surface="s", friction=0.2, body="plate")
    with pytest.raises(ModelError, match="tangential_penalty must be > 0"):
        RigidPlane(surface="s", friction=0.2, tangential_penalty=0.0)
    assert RigidPlane(surface="s").symmetric_tangent


def test_just_touching_node_sticks_in_the_tangent():
    """At first touch (g = 0, no multiplier: p = 0) a node counts as active in the normal direction and as
    sticking in the tangential ones: its tangent block is A (eps n n^T + eps_T P), so the first Newton step of a
    sole landing flat on a frictional floor does not let the skin slide freely (without the tangential part the
    foot's first steps on a mu = 0.6 floor did not converge at any load step)."""
    mesh = block()
    plane = RigidPlane(surface=bottom(), point=(0.0, 0.0, 0.0), normal=(0.0, 0.0, 1.0), penalty=50.0,
                       friction=0.6, tangential_penalty=20.0)
    prob = Problem(mesh, {"all": LinearElastic(E, NU)}, contacts=[plane])
    sys_ = FiniteStrainSystem(prob)
    fa, Kn = plane.nodal(sys_, np.zeros((mesh.n_nodes, 3)), True)
    assert np.all(fa == 0.0)
    expect = plane.area[:, None, None] * np.diag([20.0, 20.0, 50.0])[None]
    np.testing.assert_allclose(Kn, expect, rtol=1e-14)


def test_model_file_friction_errors_name_the_file_and_contact(tmp_path):
    """A model file asking for friction where it is not implemented gets the surface's error with the file and
    the contact named."""
    import meshio

    from fesolver.modelfile import parse_model

    pts, hexes = box_hex((1, 1, 1), hi=HI)
    meshio.write(tmp_path / "m.vtu", meshio.Mesh(pts, [("hexahedron", hexes)]))
    data = {"mesh": {"file": "m.vtu"},
            "materials": {"block": {"model": "linear_elastic", "region": "region1", "E": E, "nu": NU}},
            "contact": {"ball": {"type": "sphere", "box": [[-1, -1, 4.9], [11, 11, 5.1]], "centre": [5, 5, 20],
                                 "radius": 10.0, "friction": 0.3}}}
    with pytest.raises(ModelError, match=r"model.toml: contact\.ball: .*rigid planes only"):
        parse_model(data, tmp_path / "model.toml")
