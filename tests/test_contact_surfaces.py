"""Surface-to-surface contact (fesolver.contact.surface_pair): tangent, patch test, penalty, friction, rigid bodies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from contact_models import stacked_bcs, stacked_blocks

from fesolver.contact import SurfaceContact
from fesolver.contact.surface_pair import slave_rule
from fesolver.errors import ModelError
from fesolver.materials import LinearElastic, NeoHookean
from fesolver.nonlinear import FiniteStrainSystem
from fesolver.problem import Problem
from fesolver.rigid import RigidBody
from fesolver.solvers.newton import NewtonOptions

E, NU = 100.0, 0.3
ONE_STEP = NewtonOptions(initial_step=1.0, max_step=1.0)


def mats():
    return {"lower": LinearElastic(E, NU), "upper": LinearElastic(E, NU)}


# -- integration rule ------------------------------------------------------------------------------
@pytest.mark.parametrize("ftype", ["tri3", "tri6", "quad4"])
@pytest.mark.parametrize("level", [1, 2])
def test_slave_rule_partition_of_unity_and_exact_moments(ftype, level):
    """Weights sum to the reference area; Phi and N are partitions of unity; int Phi_a N_b is exact (degree 3)."""
    xi, w, N, Phi = slave_rule(ftype, level)
    area = 4.0 if ftype == "quad4" else 0.5
    assert w.sum() == pytest.approx(area, rel=1e-14)
    assert np.allclose(N.sum(axis=1), 1.0) and np.allclose(Phi.sum(axis=1), 1.0)
    assert np.all(Phi >= -1e-14)
    ref = np.einsum("q,qa,qb->ab", w, Phi, N)
    xi2, w2, N2, Phi2 = slave_rule(ftype, level + 2)
    assert np.allclose(ref, np.einsum("q,qa,qb->ab", w2, Phi2, N2), atol=1e-14)
    assert np.all(np.einsum("q,qa->a", w, Phi) > 0.0)  # every node (tri6 corners too) has a positive area


# -- tangent -------------------------------------------------------------------------------------
def _pressed_blocks(contact, kind="tet4", seed=1, push=0.05):
    """The stacked blocks (2x2x1 on 3x3x1) with ``contact`` and a random displacement (0.02 mm) whose upper block
    is pressed ``push`` [mm] into the lower one: ``(problem, u)``."""
    mesh = stacked_blocks((2, 2, 1), (3, 3, 1), kind=kind)
    prob = Problem(mesh, mats(), bcs=stacked_bcs(), contacts=[contact])
    rng = np.random.default_rng(seed)
    u = 0.02 * rng.standard_normal(3 * mesh.n_nodes)
    upper = np.unique(mesh.solids[0].cells[mesh.cell_sets["upper"][0]])
    u.reshape(-1, 3)[upper, 2] -= push
    return prob, u, rng


def _fd_check(prob, u, setup=None, cols=None, h=1e-6):
    sys_ = FiniteStrainSystem(prob)
    sys_.t = 1.0
    if setup is not None:
        setup(sys_)
    f0, K, _ = sys_.internal(u, True)
    K = K.toarray()
    c = prob.contacts[0]
    nodes = np.unique(np.concatenate([ps.sconn.ravel() for ps in c.passes] + [ps.mconn.ravel() for ps in c.passes]))
    cols = (3 * nodes[:, None] + np.arange(3)).ravel() if cols is None else cols
    err = 0.0
    for j in cols:
        up, um = u.copy(), u.copy()
        up[j] += h
        um[j] -= h
        fd = (sys_.internal(up, False)[0] - sys_.internal(um, False)[0]) / (2 * h)
        err = max(err, np.abs(fd - K[:, j]).max())
    return err / np.abs(K[:, cols]).max(), sys_


@pytest.mark.parametrize("kind", ["hex8", "tet4", "tet10"])
def test_frictionless_tangent_matches_central_difference(kind):
    """Penalty, multiplier and geometric parts with curved (perturbed) surfaces: rel. error < 5e-6.

    Measured 9e-7 (hex8), 8e-12 (tet4), 1.3e-6 (tet10) at h = 1e-5; the floor is the closest-point iteration's
    tolerance on warped quad4 / curved tri6 facets (the error grows as h shrinks). Without the geometric
    part the error is 0.75-1.3 %, so the check can tell.
    """
    c = SurfaceContact(slave="upper_bottom", master="lower_top", penalty=200.0, subdivision=1)
    prob, u, rng = _pressed_blocks(c, kind, seed=1)

    def setup(s):
        c.setup(s)
        ps = c.passes[0]
        ps.lam = np.where(rng.random(ps.nodes.size) < 0.5, 0.4, 0.0)

    err, sys_ = _fd_check(prob, u, setup, h=1e-5)
    out = c._eval(sys_, u.reshape(-1, 3), False)[0]
    assert out["active"].sum() >= 3
    assert err < 5e-6, err
    assert abs(sys_.internal(u, True)[1] - sys_.internal(u, True)[1].T).max() < 1e-9  # symmetric


@pytest.mark.parametrize("state", ["stick", "slip"])
def test_friction_tangent_matches_central_difference(state):
    """Coulomb friction: stick and slip branches, rel. error < 5e-5 (tangent plane of the committed step).

    Measured 1.4e-5 (stick) independent of h: the one term left out, the master's step increment times the
    change of the projection point (``dM/dxi dxi/dx . dx_master``), here with 1e-4 mm master noise. Without
    the friction geometric term the error is 0.7 %.
    """
    mesh = stacked_blocks((2, 2, 1), (3, 3, 1), kind="hex8")
    c = SurfaceContact(slave="upper_bottom", master="lower_top", penalty=200.0, friction=0.3, subdivision=1,
                       geometric_stiffness=True)
    prob = Problem(mesh, mats(), bcs=stacked_bcs(), contacts=[c])
    upper = np.unique(mesh.solids[0].cells[mesh.cell_sets["upper"][0]])
    u = np.zeros(3 * mesh.n_nodes)
    u.reshape(-1, 3)[upper, 2] -= 0.05
    rng = np.random.default_rng(2)
    slide = 1e-4 if state == "stick" else 0.02
    u.reshape(-1, 3)[upper, 0] += slide
    u.reshape(-1, 3)[upper, 1] += 0.5 * slide
    u += 1e-4 * rng.standard_normal(u.size)

    def setup(s):
        c.setup(s)
        c.passes[0].t_n[:, 0] = 0.5 * rng.random(c.passes[0].nodes.size)  # history in the tangent plane
        c.passes[0].n_n[:, 2] = 1.0  # committed normal
        c.passes[0].held_n[:] = True  # in contact at the last converged step ...
        c.passes[0].held_n[::4] = False  # ... but these land in this step: no friction yet

    err, sys_ = _fd_check(prob, u, setup, h=1e-5)
    out = c._eval(sys_, u.reshape(-1, 3), False)[0]
    n_slip = int(out["slip"].sum())
    assert (n_slip == 0) if state == "stick" else (n_slip > 0)
    assert err < 5e-5, err
    landing = ~c.passes[0].held_n
    assert np.all(out["traction"][landing] == 0.0) and np.all(out["p"][landing] > 0.0)
    assert np.all(np.linalg.norm(out["traction"][~landing], axis=1) > 0.0)
    assert not sys_.symmetric


# -- patch test and penalty independence ---------------------------------------------------------------
@pytest.mark.parametrize("kind,nl,nu", [
    ("hex8", (4, 4, 2), (7, 7, 2)),  # fine slave on coarse master
    ("hex8", (7, 7, 2), (4, 4, 2)),  # coarse slave on fine master
    ("hex8", (5, 5, 2), (3, 3, 2)),
    ("tet4", (3, 3, 2), (5, 5, 2)),
    ("tet10", (2, 2, 1), (3, 3, 1)),
])
def test_contact_patch_test_non_matching(kind, nl, nu):
    """Two stacked blocks, non-matching interface meshes, uniform compression: the contact pressure is
    uniform within 1 % (measured <= 0.14 %) and equals the applied stress; Newton converges quadratically."""
    mesh = stacked_blocks(nl, nu, kind=kind)
    c = SurfaceContact(slave="upper_bottom", master="lower_top", name="iface")
    prob = Problem(mesh, mats(), bcs=stacked_bcs(), contacts=[c], newton=ONE_STEP)
    res = prob.solve()
    p = res.contact["iface"]["pressure"]
    s = res.contact["iface"]["summary"]
    mean_top = -res.reactions["top"][2] / 100.0
    dev = (p.max() - p.min()) / p.mean()
    print(f"{kind} {nl}/{nu}: p = {p.mean():.6f} MPa, spread {dev:.2e}, top stress {mean_top:.6f}, "
          f"Newton {[(r.iterations, r.augmentations) for r in res.steps]}, residuals {res.steps[-1].residuals}")
    assert dev < 0.01
    assert p.mean() == pytest.approx(mean_top, rel=0.01)
    assert s["normal_force_N"] == pytest.approx(-res.reactions["top"][2], rel=1e-6)
    assert s["contact_area_mm2"] == pytest.approx(100.0, rel=1e-9)
    assert s["max_penetration_mm"] < 1e-4
    # quadratic convergence inside each augmentation cycle: some residual drops below 1e-6 of the first
    r = np.array(res.steps[-1].residuals)
    assert r.min() < 1e-10


# -- node-on-facet ("nodal") integration -----------------------------------------------------------------
@pytest.mark.parametrize("ftype", ["tri3", "tri6", "quad4"])
def test_nodal_rule_lumps_the_weight_functions(ftype):
    """``subdivision="nodal"``: one point per facet node, ``Phi`` the identity, the weights the integrals of the
    weight functions of the subdivided rule (the lumped nodal areas), so the weighted gap of a node is its own."""
    from fesolver.contact.surface_pair import slave_rule

    xi, w, N, Phi = slave_rule(ftype, "nodal")
    xi1, w1, N1, Phi1 = slave_rule(ftype, 1)
    assert np.array_equal(Phi, np.eye(Phi.shape[0]))
    assert np.allclose(N, np.eye(N.shape[0]), atol=1e-14)  # the points are the facet's nodes
    assert w == pytest.approx(w1 @ Phi1, rel=1e-12)


@pytest.mark.parametrize("kind", ["hex8", "tet4", "tet10"])
def test_nodal_tangent_matches_central_difference(kind):
    """The node-on-facet variant's tangent (penalty and geometric parts) against central differences."""
    c = SurfaceContact(slave="upper_bottom", master="lower_top", penalty=200.0, subdivision="nodal")
    prob, u, _ = _pressed_blocks(c, kind, seed=3)
    err, sys_ = _fd_check(prob, u, c.setup, h=1e-5)
    assert c._eval(sys_, u.reshape(-1, 3), False)[0]["active"].sum() >= 3
    assert err < 2e-5, err  # measured 7.9e-6 (hex8: warped quad4 closest points); 1 % without the geometric part


@pytest.mark.parametrize("kind,nl,nu", [("hex8", (5, 5, 2), (4, 4, 2))])
def test_nodal_contact_force_and_area(kind, nl, nu):
    """Node-on-facet contact of a smaller block (8 x 8 mm, inside the master's outline) pressed into a 10 x 10 mm
    block, non-matching meshes: Newton converges, the contact force equals the applied force and the area is the
    slave's. (Not a patch test: the punch's edges concentrate the pressure. A fine hex8 slave on a coarse master,
    and a tet4 pair (4, 4, 2) on (3, 3, 2), stall at a relative residual of about 2e-5: the variant is a fallback
    where the mortar rule's integration points switching master facets stall Newton, and FEBio's node-on-facet
    contact, not the default.)"""
    geo = {"shift": (1.0, 1.0), "Lu": 8.0}
    mesh = stacked_blocks(nl, nu, kind=kind, **geo)
    c = SurfaceContact(slave="upper_bottom", master="lower_top", name="iface", subdivision="nodal")
    res = Problem(mesh, mats(), bcs=stacked_bcs(**geo), contacts=[c], newton=ONE_STEP).solve()
    s = res.contact["iface"]["summary"]
    assert s["normal_force_N"] == pytest.approx(-res.reactions["top"][2], rel=1e-6)
    assert s["normal_force_N"] > 0.0
    assert s["contact_area_mm2"] == pytest.approx(64.0, rel=1e-9)


def test_nodal_is_a_valid_subdivision_and_others_are_refused():
    SurfaceContact(slave="a", master="b", subdivision="nodal")
    with pytest.raises(ValueError, match="nodal"):
        SurfaceContact(slave="a", master="b", subdivision="node")


def test_result_independent_of_penalty():
    """Penalty 6e2 (default) vs 1e4 MPa/mm: the mean pressure agrees to 1e-4 after Uzawa updates; pure penalty
    at the soft value penetrates."""
    mesh = stacked_blocks((4, 4, 2), (7, 7, 2))
    out = {}
    for eps in (None, 1e4):
        c = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", penalty=eps)
        res = Problem(mesh, mats(), bcs=stacked_bcs(), contacts=[c], newton=ONE_STEP).solve()
        out[eps] = res.contact["c"]["summary"]
    assert out[None]["mean_pressure_MPa"] == pytest.approx(out[1e4]["mean_pressure_MPa"], rel=1e-4)
    c = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", penalty=10.0, augmentation=False)
    pen = Problem(mesh, mats(), bcs=stacked_bcs(), contacts=[c], newton=ONE_STEP).solve().contact["c"]["summary"]
    assert pen["max_penetration_mm"] > 1e-3
    assert abs(pen["mean_pressure_MPa"] / out[None]["mean_pressure_MPa"] - 1.0) > 0.01


def test_symmetric_two_pass_pressure_on_both_surfaces():
    """Two-pass: both interface surfaces carry the pressure field; the force is still the applied one."""
    mesh = stacked_blocks((3, 3, 2), (4, 4, 2))
    c = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", symmetric=True)
    res = Problem(mesh, mats(), bcs=stacked_bcs(), contacts=[c], newton=ONE_STEP).solve()
    s = res.contact["c"]["summary"]
    assert s["passes"] == 2
    assert s["normal_force_N"] == pytest.approx(-res.reactions["top"][2], rel=1e-6)
    assert s["peak_pressure_MPa"] == pytest.approx(s["master_peak_pressure_MPa"], rel=0.05)


# -- friction ------------------------------------------------------------------------------------
def slide(mu, drag_mm=0.3, lower_rigid=True, steps=0.25, friction_from=0.0, drag_end=1.0):
    """A 6 x 6 x 5 mm block pressed 0.05 mm onto a 10 x 10 mm base (t <= 0.5), then dragged sideways by
    ``drag_mm`` with its top held (t > 0.5). The base is a fixed rigid body (a plane) or an elastic block
    clamped at its bottom. The drag ends at load factor ``drag_end`` (held after it). Returns the result, normal
    force N and tangential force T (top reactions)."""
    from fesolver.loads import FixedDisplacement, LoadCurve, Selection

    L, Lu, sh = 10.0, 6.0, (2.0, 2.0)
    mesh = stacked_blocks((5, 5, 2), (4, 4, 2), shift=sh, Lu=Lu)
    press = LoadCurve(((0.0, 0.0), (0.5, 1.0), (1.0, 1.0)))
    drag = LoadCurve(((0.0, 0.0), (0.5, 0.0), (drag_end, 1.0)) + (((1.0, 1.0),) if drag_end < 1.0 else ()))
    topbox = Selection(box=((sh[0] - 1, sh[1] - 1, 10.0), (sh[0] + Lu + 1, sh[1] + Lu + 1, 10.0)))
    bcs = [FixedDisplacement(topbox, {2: -0.05}, "press", curve=press),
           FixedDisplacement(topbox, {0: drag_mm, 1: 0.0}, "drag", curve=drag)]
    bodies = []
    if lower_rigid:
        bodies = [RigidBody("lower", prescribed={k: 0.0 for k in range(6)}, name="plane")]
    else:
        bcs.append(FixedDisplacement(Selection(box=((-1, -1, 0), (L + 1, L + 1, 0))), {0: 0.0, 1: 0.0, 2: 0.0}, "base"))
    c = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", friction=mu, friction_from=friction_from)
    prob = Problem(mesh, mats(), bcs=bcs, contacts=[c], rigid_bodies=bodies,
                   newton=NewtonOptions(initial_step=steps, max_step=steps))
    res = prob.solve()
    return res, -res.reactions["press"][2], abs(res.reactions["drag"][0])


@pytest.mark.parametrize("mu", [0.2, 0.5])
def test_sliding_block_needs_mu_times_normal_force(mu):
    """Block on a rigid plane, pressed then dragged 0.3 mm: T = mu N within 1 % (measured < 0.1 %); every
    contact node slides; Newton iterations and augmentations per step are reported."""
    res, Fn, Ft = slide(mu)
    s = res.contact["c"]["summary"]
    print(f"mu={mu}: N={Fn:.5g} N, T={Ft:.5g} N, T/N={Ft / Fn:.5f}, sliding {s['sliding_nodes']}/"
          f"{s['active_nodes']}, Newton (iterations, augmentations) "
          f"{[(r.iterations, r.augmentations) for r in res.steps]}")
    assert Ft / Fn == pytest.approx(mu, rel=0.01)
    assert s["sliding_nodes"] == s["active_nodes"] > 0
    assert np.linalg.norm(s["friction_force_N"]) == pytest.approx(mu * s["normal_force_N"], rel=0.01)
    assert max(r.iterations for r in res.steps) <= 40


def test_sliding_on_elastic_base():
    """On an elastic base the surface tilts under the dragged block, so T/N departs from mu (measured
    0.4961 for mu = 0.5) but friction itself stays at mu p (|friction force| / N within 1 %)."""
    res, Fn, Ft = slide(0.5, lower_rigid=False)
    s = res.contact["c"]["summary"]
    assert np.linalg.norm(s["friction_force_N"]) == pytest.approx(0.5 * s["normal_force_N"], rel=0.01)
    assert Ft / Fn == pytest.approx(0.5, rel=0.02)


def test_friction_from_a_load_factor():
    """``friction_from``: frictionless up to that load factor, sticking from where the surfaces then are. The block is
    dragged 0.3 mm between load factors 0.5 and 0.75 and then held: with friction throughout it keeps T = mu N (it
    slid); with friction from 0.75 the drag was frictionless (no tangential force, no history) and the block then
    sticks where it stands, so T = 0 at the end. Dragged on to 1, friction from 0.75 ends sliding at T = mu N."""
    _, Fn, Ft = slide(0.5, drag_end=0.75)
    assert Ft == pytest.approx(0.5 * Fn, rel=0.01)
    res, Fn, Ft = slide(0.5, drag_end=0.75, friction_from=0.75)
    assert Ft < 1e-6 * Fn and res.contact["c"]["summary"]["sliding_nodes"] == 0
    res, Fn, Ft = slide(0.5, friction_from=0.75)
    assert Ft == pytest.approx(0.5 * Fn, rel=0.01)
    with pytest.raises(ValueError, match="friction_from"):
        SurfaceContact(slave="a", master="b", friction=0.5, friction_from=1.0)


def test_motion_in_the_air_is_not_slip():
    """A block carried 1 mm sideways while 0.2 mm above a rigid base (mu = 1), then lowered 0.1 mm into it:
    friction has nothing to hold, |F_t| < 1e-3 F_n, whether the whole path is one load step (the bottom lands in
    it and carries no friction until it converges) or ten (the sideways motion ends before the landing step).
    Counting a landing node's whole step as slip, as before December 2026, gave the one step |F_t| = 86.6 N for
    F_n = 87.0 N (mu F_n: the bottom dragged back over the 1 mm it had moved in the air, tipped onto 6 of its 25
    nodes). The rigid plane's rule is the same (tests/test_contact_rigid_friction.py)."""
    from fesolver.loads import BodyForce, FixedDisplacement, LoadCurve, Selection

    sh, Lu = (2.0, 2.0), 6.0
    side = LoadCurve(((0.0, 0.0), (0.5, 1.0), (1.0, 1.0)), name="side")
    down = LoadCurve(((0.0, 0.0), (1.0, 1.0)), name="down")
    topbox = Selection(box=((sh[0] - 1, sh[1] - 1, 10.1), (sh[0] + Lu + 1, sh[1] + Lu + 1, 10.3)))
    forces = []
    for steps in (1, 10):
        mesh = stacked_blocks((5, 5, 2), (4, 4, 2), shift=sh, Lu=Lu)
        upper = np.unique(mesh.solids[0].cells[mesh.cell_sets["upper"][0]])
        mesh.points[upper, 2] += 0.2
        bcs = [FixedDisplacement(topbox, {0: 1.0, 1: 0.0}, "side", curve=side),
               FixedDisplacement(topbox, {2: -0.3}, "down", curve=down)]
        bodies = [RigidBody("lower", prescribed={k: 0.0 for k in range(6)}, name="plane")]
        c = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", friction=1.0)
        # the block's weight stretches it a little: a rigid motion alone leaves Newton's residual without a scale
        weight = BodyForce((0.0, 0.0, -1e-4), curve=LoadCurve(((0.0, 1.0), (1.0, 1.0)), name="always"))
        prob = Problem(mesh, mats(), bcs=bcs, loads=[weight], contacts=[c], rigid_bodies=bodies,
                       newton=NewtonOptions(initial_step=1.0 / steps, max_step=1.0 / steps, growth=1.0))
        res = prob.solve()
        s = res.contact["c"]["summary"]
        assert len(res.steps) == steps and s["active_nodes"] == 25
        assert s["normal_force_N"] > 0.0
        forces.append((np.asarray(s["friction_force_N"]), s["normal_force_N"]))
    for Ft, Fn in forces:
        assert np.hypot(Ft[0], Ft[1]) < 1e-3 * Fn, (Ft, Fn)


def test_sticking_block_transmits_less_than_mu_n():
    """A small sideways displacement with mu = 0.8 sticks: T < mu N, no node slides."""
    mesh = stacked_blocks((3, 3, 2), (3, 3, 2), shift=(2.0, 2.0), Lu=6.0)
    from fesolver.loads import FixedDisplacement, LoadCurve, Selection

    press = LoadCurve(((0.0, 0.0), (0.5, 1.0), (1.0, 1.0)))
    drag = LoadCurve(((0.0, 0.0), (0.5, 0.0), (1.0, 1.0)))
    topbox = Selection(box=((1, 1, 10.0), (9, 9, 10.0)))
    bcs = stacked_bcs(top=(None, None, None), shift=(2.0, 2.0), Lu=6.0)[:3]
    bcs += [FixedDisplacement(topbox, {2: -0.05}, "press", curve=press),
            FixedDisplacement(topbox, {0: 0.002, 1: 0.0}, "drag", curve=drag)]
    c = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", friction=0.8)
    res = Problem(mesh, mats(), bcs=bcs, contacts=[c], newton=NewtonOptions(initial_step=0.5, max_step=0.5)).solve()
    Fn, Ft = -res.reactions["press"][2], abs(res.reactions["drag"][0])
    assert 0.0 < Ft < 0.8 * Fn
    assert res.contact["c"]["summary"]["sliding_nodes"] == 0


# -- rigid bodies carrying a surface, force-driven ------------------------------------------------------
def test_rigid_body_surface_driven_by_force():
    """The upper block is a rigid body pushed down by 40 N at its reference point onto an elastic block:
    the contact transmits 40 N, uniformly (rigid flat punch on a block with a free top: uniform p = 0.4 MPa)."""
    mesh = stacked_blocks((4, 4, 2), (3, 3, 1))
    c = SurfaceContact(slave="lower_top", master="upper_bottom", name="c")
    body = RigidBody("upper", prescribed={0: 0.0, 1: 0.0, 3: 0.0, 4: 0.0, 5: 0.0},
                     force=(0.0, 0.0, -40.0), name="punch")
    prob = Problem(mesh, {"lower": NeoHookean(E, NU), "upper": LinearElastic(E, NU)},
                   bcs=stacked_bcs()[:3], contacts=[c], rigid_bodies=[body], newton=ONE_STEP)
    res = prob.solve()
    s = res.contact["c"]["summary"]
    p = res.contact["c"]["pressure"]
    assert s["normal_force_N"] == pytest.approx(40.0, rel=1e-6)
    assert p.max() == pytest.approx(0.4, rel=0.01) and p.min() == pytest.approx(0.4, rel=0.01)
    assert res.rigid["punch"]["translation_mm"][2] < 0.0


# -- bad input -----------------------------------------------------------------------------------
def test_bad_pairings_are_named():
    mesh = stacked_blocks((2, 2, 1), (2, 2, 1))
    with pytest.raises(ModelError, match="no facet set"):
        Problem(mesh, mats(), bcs=stacked_bcs(), contacts=[SurfaceContact(slave="nope", master="lower_top")]).solve()
    with pytest.raises(ModelError, match="share"):
        Problem(mesh, mats(), bcs=stacked_bcs(),
                contacts=[SurfaceContact(slave="lower_top", master="lower_top")]).solve()
    with pytest.raises(ValueError, match="friction"):
        SurfaceContact(slave="a", master="b", friction=-0.1)


# -- model files -----------------------------------------------------------------------------------
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "contact_blocks"
BASE_MODEL = """
[mesh]
file = "{mesh}"
[materials.base]
model = "neo_hookean"
region = "base"
E = 10.0
nu = 0.3
[materials.block]
model = "neo_hookean"
region = "block"
E = 10.0
nu = 0.3
[[boundary]]
name = "base"
nodes = "base_bottom"
fix = ["x", "y", "z"]
[[boundary]]
name = "press"
nodes = "block_top"
displacement = {{ x = 0.0, y = 0.0, z = -0.02 }}
[solver.newton]
initial_step = 0.5
max_step = 1.0
[contact.interface]
type = "surface"
{contact}
"""


def _model(tmp_path, contact: str) -> Path:
    p = tmp_path / "model.toml"
    p.write_text(BASE_MODEL.format(mesh=(EXAMPLE / "blocks.msh").as_posix(), contact=contact))
    return p


def test_surface_contact_in_model_file(tmp_path):
    from fesolver.modelfile import load_model

    prob = load_model(_model(tmp_path, 'slave = "block_bottom"\nmaster = "base_top"\nfriction = 0.2\n'
                                       'symmetric = true\nsubdivision = 1'))
    (c,) = prob.contacts
    assert isinstance(c, SurfaceContact)
    assert (c.friction, c.symmetric, c.subdivision, c.name) == (0.2, True, 1, "interface")
    assert c.slave.name == "block_bottom" and c.master.name == "base_top"
    prob = load_model(_model(tmp_path, 'slave = "block_bottom"\nmaster = "base_top"\nsubdivision = "nodal"\n'
                                       'initial_overlap = "ramp"'))
    assert (prob.contacts[0].subdivision, prob.contacts[0].initial_overlap) == ("nodal", "ramp")


@pytest.mark.parametrize("contact,message", [
    ('slave = "nope"\nmaster = "base_top"', "contact.interface.slave: no facet set"),
    ('slave = "block_bottom"', "master"),
    ('slave = "block_bottom"\nmaster = "block_bottom"', "same surface"),
    ('slave = "block_bottom"\nmaster = "base_top"\nsubdivision = 7', "subdivision must be an integer 0..4"),
    ('slave = "block_bottom"\nmaster = "base_top"\nsubdivision = "node"', "subdivision .* or \"nodal\""),
    ('slave = "block_bottom"\nmaster = "base_top"\ninitial_overlap = "shrink"', "initial_overlap must be one of"),
    ('slave = "block_bottom"\nmaster = "base_top"\nfriction = -1', "friction"),
    ('slave = "block_bottom"\nmaster = "base_top"\nsmoothing = -0.1', "smoothing must be >= 0"),
    ('slave = "block_bottom"\nmaster = "base_top"\nsurface = "x"', "surface"),
    ('slave = "base"\nmaster = "base_top"', "contact.interface.slave"),
])
def test_bad_surface_contact_in_model_file(tmp_path, contact, message):
    from fesolver.modelfile import load_model

    with pytest.raises(ModelError, match=message) as err:
        load_model(_model(tmp_path, contact))
    assert "model.toml" in str(err.value)


def test_contact_blocks_example_runs_from_the_cli(tmp_path):
    """The example pressed only (a short run): exit 0, contact fields and summary written."""
    import json

    import meshio

    from fesolver.cli import main

    model = _model(tmp_path, 'slave = "block_bottom"\nmaster = "base_top"\nfriction = 0.3')
    out = tmp_path / "out"
    assert main(["solve", str(model), "-o", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    c = s["contact"]["interface"]
    assert c["force_N"][2] == pytest.approx(-s["reactions_N"]["press"][2], rel=1e-6)
    assert c["normal_force_N"] == pytest.approx(-s["reactions_N"]["press"][2], rel=1e-3)
    assert max(st["iterations"] for st in s["newton_steps"]) <= 40
    assert c["contact_area_mm2"] == pytest.approx(36.0, rel=0.02)
    m = meshio.read(out / "result.vtu")
    assert np.nanmax(m.point_data["contact_pressure"]) == pytest.approx(c["peak_pressure_MPa"])


@pytest.mark.slow
def test_contact_blocks_example_press_and_slide(tmp_path):
    """The shipped example (press, then slide 0.2 mm with mu = 0.3): friction force = mu N at the end."""
    import json

    from fesolver.cli import main

    out = tmp_path / "out"
    assert main(["solve", str(EXAMPLE / "model.toml"), "-o", str(out), "-q"]) == 0
    c = json.loads((out / "summary.json").read_text())["contact"]["interface"]
    assert np.linalg.norm(c["friction_force_N"]) == pytest.approx(0.3 * c["normal_force_N"], rel=0.01)
    assert c["sliding_nodes"] == c["active_nodes"]


# -- closest points on master edges ------------------------------------------------------------------
def _valley(slave_z=-0.05):
    """A V-shaped master (two quad4 facets folding along ``x = 0``, ``z = |x| / 2``, outward normal up: a
    concave fold seen from the slave's side) and a downward-facing slave tri3 whose first node sits at
    ``(0, 0, slave_z)``. Returns points, slave connectivity, master connectivity."""
    from fesolver.contact.surface_pair import _Pass

    m = np.array([[x, y, abs(x) / 2] for y in (-1.0, 1.0) for x in (-1.0, 0.0, 1.0)])
    mconn = np.array([[0, 1, 4, 3], [1, 2, 5, 4]])
    s = np.array([[0.0, 0.0, slave_z], [-0.6, 0.5, 0.32], [0.6, 0.5, 0.32]])
    pts = np.vstack([m, s])
    sconn = np.array([[6, 7, 8]])  # normal down, facing the master
    return pts, sconn, mconn, lambda pts_: _Pass(pts_, "tri3", sconn, "quad4", mconn, "nodal", 1.0)


def _signed_distance_valley(p):
    """Signed distance of ``p`` to the V surface (its section: the segments (-1, 0.5)-(0, 0)-(1, 0.5) in the
    x-z plane; negative below)."""
    q = np.array([p[0], p[2]])
    dist = np.inf
    for a, b in (((-1.0, 0.5), (0.0, 0.0)), ((0.0, 0.0), (1.0, 0.5))):
        a, b = np.array(a), np.array(b)
        t = np.clip((q - a) @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
        dist = min(dist, float(np.linalg.norm(q - a - t * (b - a))))
    return -dist if p[2] < abs(p[0]) / 2 else dist


@pytest.mark.parametrize("x,z", [(0.0, -0.05), (0.015, -0.05), (-0.03, -0.05), (-0.2, -0.15), (0.0, 0.05)])
def test_point_under_a_concave_fold_is_in_contact_with_the_signed_distance(x, z):
    """A slave node behind the master whose closest point is the fold line between two master facets (an
    arch support rising from an insole's flat top) is in contact, its gap the signed distance (continuous
    where the closest point moves from a facet onto the fold); before, it was taken as past the master's end
    and dropped out of contact, and Newton cycled on the node going in and out (December 2026)."""
    pts, _, _, make = _valley()
    pts[6] = (x, 0.0, z)
    ps = make(pts)
    o = ps.evaluate(pts, pts, 100.0, 100.0, 0.0, 5.0, False, True)
    r = ps.row[6]
    assert o["has"][r]
    assert o["gap"][r] == pytest.approx(_signed_distance_valley(pts[6]), abs=1e-9)


def test_point_behind_a_boundary_edge_is_out_of_contact():
    """Behind the master's boundary edge (past the surface's end) a slave node has no contact."""
    pts, _, _, make = _valley()
    pts[6] = (1.3, 0.0, 0.3)  # beyond x = 1 (the master's end), below the right facet's plane
    ps = make(pts)
    o = ps.evaluate(pts, pts, 100.0, 100.0, 0.0, 5.0, False, True)
    assert not o["has"][ps.row[6]]


@pytest.mark.parametrize("x", [0.0, 0.01])
def test_tangent_under_a_concave_fold_matches_central_difference(x):
    """Penalty and geometric tangent of a node in contact with the fold line (closest point on the edge)."""
    pts, _, _, make = _valley()
    pts[6] = (x, 0.1, -0.05)
    ps = make(pts)
    o = ps.evaluate(pts, pts, 100.0, 100.0, 0.0, 5.0, True, True)
    assert o["active"][ps.row[6]]
    K = o["K"].toarray()
    h = 1e-6
    fd = np.empty_like(K)
    for j in range(pts.size):
        dp = np.zeros(pts.size)
        dp[j] = h
        fp = ps.evaluate(pts + dp.reshape(-1, 3), pts, 100.0, 100.0, 0.0, 5.0, False, True)["f"]
        fm = ps.evaluate(pts - dp.reshape(-1, 3), pts, 100.0, 100.0, 0.0, 5.0, False, True)["f"]
        fd[:, j] = (fp - fm) / (2 * h)
    err = np.abs(fd - K).max() / np.abs(K).max()
    assert err < 1e-5, err


# -- ramped initial overlap ------------------------------------------------------------------------------
def _clamped_top_bcs(z_top, dz, L=10.0):
    from fesolver.loads import FixedDisplacement, Selection

    return [FixedDisplacement(Selection(box=((-1, -1, 0), (L + 1, L + 1, 0))), {2: 0.0}, "bottom"),
            FixedDisplacement(Selection(box=((0, 0, 0), (0, 0, 2.5))), {0: 0.0, 1: 0.0}, "axis"),
            FixedDisplacement(Selection(box=((L, 0, 0), (L, 0, 2.5))), {1: 0.0}, "x_end"),
            FixedDisplacement(Selection(box=((-1, -1, z_top), (L + 1, L + 1, z_top))), {0: 0.0, 1: 0.0, 2: dz},
                              "top")]


@pytest.mark.parametrize("subdivision", ["nodal", None])
def test_ramped_overlap_ends_where_a_pressed_contact_ends(subdivision):
    """``initial_overlap="ramp"``: an upper block built 0.05 mm into the lower one, its top held, ends (t = 1) in
    the state of the same block built touching and pushed down 0.05 mm (the overlap resolved gradually over the
    step instead of at once): same contact force (rel. 1e-6) and same displacements of the lower block.
    Mortar and node-on-facet rules."""
    d = 0.05
    geo = {"shift": (1.0, 1.0), "Lu": 8.0}  # inside the master's outline (node-on-facet: see above)
    mesh_a = stacked_blocks((3, 3, 2), (4, 4, 2), **geo)
    mesh_b = stacked_blocks((3, 3, 2), (4, 4, 2), **geo)
    n_lower = int(np.unique(mesh_b.solids[0].cells[mesh_b.cell_sets["lower"][0]]).size)
    mesh_b.points[n_lower:, 2] -= d
    opts = NewtonOptions(initial_step=0.25, max_step=0.25)
    ca = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", subdivision=subdivision)
    cb = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", subdivision=subdivision,
                        initial_overlap="ramp")
    ra = Problem(mesh_a, mats(), bcs=_clamped_top_bcs(10.0, -d), contacts=[ca], newton=opts).solve()
    rb = Problem(mesh_b, mats(), bcs=_clamped_top_bcs(10.0 - d, 0.0), contacts=[cb], newton=opts).solve()
    fa = ra.contact["c"]["summary"]["normal_force_N"]
    fb = rb.contact["c"]["summary"]["normal_force_N"]
    assert fa > 10.0
    assert fb == pytest.approx(fa, rel=1e-6)
    assert np.allclose(rb.displacement[:n_lower], ra.displacement[:n_lower], atol=1e-7 * d / 0.05 + 1e-9)
    assert cb.g0[0].min() == pytest.approx(-d, rel=1e-9)


def test_ramped_overlap_is_zero_force_at_the_start():
    """At load factor 0 the overlapped nodes of a ramped contact touch without force; at 1/2 half the overlap."""
    d = 0.05
    mesh = stacked_blocks((3, 3, 2), (3, 3, 2))
    n_lower = int(np.unique(mesh.solids[0].cells[mesh.cell_sets["lower"][0]]).size)
    mesh.points[n_lower:, 2] -= d
    c = SurfaceContact(slave="upper_bottom", master="lower_top", name="c", subdivision="nodal",
                       initial_overlap="ramp", penalty=100.0)
    prob = Problem(mesh, mats(), bcs=_clamped_top_bcs(10.0 - d, 0.0), contacts=[c])
    sys_ = FiniteStrainSystem(prob)
    u3 = np.zeros((mesh.n_nodes, 3))
    for t, gap in ((0.0, 0.0), (0.5, -d / 2), (1.0, -d)):
        sys_.t = t
        o = c._eval(sys_, u3, False)[0]
        assert np.allclose(o["gap"], gap, atol=1e-12)
        assert np.allclose(o["p"], -100.0 * gap, atol=1e-9)
        assert o["active"].all()


def test_initial_overlap_must_be_known():
    with pytest.raises(ValueError, match="initial_overlap"):
        SurfaceContact(slave="a", master="b", initial_overlap="shrink")


# -- smoothed pressure law ------------------------------------------------------------------------
def test_pressure_law_is_c1_and_its_slope_is_the_derivative():
    """``pressure_law``: plain ``max(0, trial)`` without smoothing; with ``delta`` a quadratic over |trial| < delta
    that joins 0 and ``trial`` with equal values and slopes (C1), and whose slope is the derivative (central
    differences, 1e-9)."""
    from fesolver.contact.surface_pair import pressure_law

    t = np.linspace(-3.0, 3.0, 601)
    p0, s0 = pressure_law(t, 0.0)
    assert np.array_equal(p0, np.maximum(0.0, t)) and np.array_equal(s0, (t >= 0).astype(float))
    d = 1.0
    p, s = pressure_law(t, d)
    out = np.abs(t) >= d
    assert np.array_equal(p[out], np.maximum(0.0, t[out]))
    assert p[np.argmin(np.abs(t))] == pytest.approx(d / 4, rel=1e-12)  # pressure d/4 at zero trial
    for edge in (-d, d):  # value and slope continuous at the band's ends
        lo, hi = pressure_law(np.array([edge - 1e-9, edge + 1e-9]), d)
        assert abs(lo[1] - lo[0]) < 1e-8 and abs(hi[1] - hi[0]) < 1e-8
    h = 1e-6
    fd = (pressure_law(t + h, d)[0] - pressure_law(t - h, d)[0]) / (2 * h)
    assert np.allclose(fd, s, atol=1e-6)  # h / 8 at the band's lower end
    assert np.all(p >= p0) and np.all(np.diff(p) >= 0.0)  # smoothing only adds pressure near the kink


@pytest.mark.parametrize("subdivision", ["nodal", 1])
def test_smoothed_contact_tangent_matches_central_difference(subdivision):
    """With ``smoothing`` the tangent's penalty part carries the law's slope: central differences agree
    (rel. < 2e-5) with nodes on both sides of the band and inside it. Without the slope (the step of the
    unsmoothed law) the error is O(1), so the check can tell."""
    c = SurfaceContact(slave="upper_bottom", master="lower_top", penalty=200.0, subdivision=subdivision,
                       smoothing=0.03)
    prob, u, _ = _pressed_blocks(c, "tet4", seed=5, push=0.02)
    err, sys_ = _fd_check(prob, u, c.setup, h=1e-6)
    o = c._eval(sys_, u.reshape(-1, 3), False)[0]
    band = o["has"] & (np.abs(o["gap"]) < 0.03)
    assert band.sum() >= 2 and (o["has"] & (o["gap"] < -0.03)).sum() + (o["has"] & (o["gap"] > 0.03)).sum() >= 2
    assert err < 2e-5, err


def test_smoothed_contact_carries_the_load_and_tends_to_the_plain_law():
    """A block pressed onto another (node-on-facet, pure penalty): with smoothing the contact force still equals
    the applied reaction, the contact area is the slave's 64 mm^2, and the force
    tends to the plain law's as the smoothing shrinks: measured 9.2 % off at 0.01 mm (the pressure at zero gap,
    eps c / 4 = 1.6 MPa, exceeds the contact pressure of 0.6 MPa, so the surfaces stop short of touching under a
    0.05 mm push) and 7.7e-5 at 0.001 mm."""
    geo = {"shift": (1.0, 1.0), "Lu": 8.0}
    mesh = stacked_blocks((5, 5, 2), (4, 4, 2), **geo)
    out = {}
    for c0 in (0.0, 0.01, 0.001):
        c = SurfaceContact(slave="upper_bottom", master="lower_top", name="iface", subdivision="nodal",
                           augmentation=False, smoothing=c0)
        res = Problem(mesh, mats(), bcs=stacked_bcs(**geo), contacts=[c], newton=ONE_STEP).solve()
        s = res.contact["iface"]["summary"]
        assert s["normal_force_N"] == pytest.approx(-res.reactions["top"][2], rel=1e-6)
        assert s["contact_area_mm2"] == pytest.approx(64.0, rel=1e-9)
        out[c0] = s["normal_force_N"]
    e1, e2 = (abs(out[c0] / out[0.0] - 1.0) for c0 in (0.01, 0.001))
    assert 0.0 < e2 < 1e-3 and e2 < e1 / 100, (e1, e2)


def test_smoothing_must_be_a_non_negative_gap():
    with pytest.raises(ValueError, match="smoothing"):
        SurfaceContact(slave="a", master="b", smoothing=-0.1)
    with pytest.raises(ValueError, match="smoothing"):
        SurfaceContact(slave="a", master="b", smoothing=float("nan"))
