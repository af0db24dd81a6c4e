"""Rigid-surface contact (fesolver.contact): tangent, flat punch, augmented Lagrangian, Hertz."""

from __future__ import annotations

import numpy as np
import pytest
from contact_models import rigid_contact_tangent
from hertz_models import quarter_block
from meshgen import box_hex

from fesolver.contact import RigidCylinder, RigidEllipsoid, RigidPlane, RigidSphere, tributary_areas
from fesolver.elements import HEX8
from fesolver.loads import FixedDisplacement, Selection
from fesolver.materials import LinearElastic
from fesolver.mesh import Mesh, SolidBlock
from fesolver.nonlinear import FiniteStrainSystem
from fesolver.problem import Problem
from fesolver.solvers.newton import NewtonOptions

E, NU = 100.0, 0.3


def block(n=(4, 4, 2), hi=(10.0, 10.0, 5.0)):
    pts, hexes = box_hex(n, hi=hi)
    return Mesh(pts, [SolidBlock(HEX8, hexes)], cell_sets={"all": {0: np.arange(hexes.shape[0])}})


def top(hi):
    return Selection(box=((-1e-9, -1e-9, hi[2]), (hi[0], hi[1], hi[2])))


def slider_bcs(hi):
    """Bottom fixed in z; x fixed on the plane x = 0 edge node line, y on y = 0 (no rigid drift, free Poisson)."""
    return [
        FixedDisplacement(Selection(box=((-1, -1, 0), (hi[0] + 1, hi[1] + 1, 0))), {2: 0.0}, "bottom"),
        FixedDisplacement(Selection(box=((0, 0, 0), (0, 0, 0))), {0: 0.0, 1: 0.0}, "origin"),
        FixedDisplacement(Selection(box=((hi[0], 0, 0), (hi[0], 0, 0))), {1: 0.0}, "x_end"),
    ]


# -- tangent -------------------------------------------------------------------------------------
@pytest.mark.parametrize("surface", [
    RigidPlane(point=(0, 0, 5.05), normal=(0.1, -0.2, -1.0), motion=(0.0, 0.0, -0.3)),
    RigidSphere(centre=(5.0, 5.0, 13.9), radius=9.0, motion=(0.0, 0.0, -0.2)),
    RigidCylinder(point=(5.0, 5.0, 11.9), axis=(1.0, 0.3, 0.0), radius=7.0, motion=(0.0, 0.0, -0.2)),
    RigidEllipsoid(centre=(5.0, 5.0, 11.9), semi_axes=(9.0, 7.0, 7.0), motion=(0.0, 0.0, -0.2)),
], ids=["plane", "sphere", "cylinder", "ellipsoid"])
def test_contact_tangent_matches_central_difference(surface):
    """dF/du of the contact forces (penalty part, curvature part, nonzero multipliers) vs central FD: rel < 1e-6."""
    hi = (10.0, 10.0, 5.0)
    mesh = block(hi=hi)
    surface.surface = top(hi)
    surface.penalty = 50.0
    prob = Problem(mesh, {"all": LinearElastic(E, NU)}, bcs=slider_bcs(hi), contacts=[surface])
    sys_ = FiniteStrainSystem(prob)
    sys_.t = 1.0
    rng = np.random.default_rng(0)
    u = 0.05 * rng.standard_normal(sys_.n_dofs)
    g, _, _, p = surface.state(sys_, u.reshape(-1, 3))
    surface.lam = np.where(rng.random(g.size) < 0.5, 0.3, 0.0)  # some nodes pressed by the multiplier alone
    g, _, _, p = surface.state(sys_, u.reshape(-1, 3))
    active = p > 0
    assert 0 < active.sum() < g.size  # the test sees both contact and free nodes
    # keep away from the kink p = 0, where the force is not differentiable
    assert np.min(np.abs(surface.lam - surface.eps * g)) > 1e-3

    Ka, Kfd = rigid_contact_tangent(sys_, surface, u, 1e-6)
    err = np.abs(Ka - Kfd).max() / np.abs(Ka).max()
    tol = 1e-5 if isinstance(surface, RigidEllipsoid) else 1e-6  # ellipsoid: dn/dx, dg/dx are differences
    assert err < tol, err
    if not isinstance(surface, RigidPlane):  # the curvature term p A dn/dx matters here
        H = surface.distance(np.zeros((1, 3)) + mesh.points[surface.nodes[:1]])[2]
        assert np.abs(H).max() > 0


def test_distances():
    """Exact distances for plane, sphere, cylinder; the ellipsoid estimate is exact for a sphere, 1st order else."""
    x = np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 2.5]])
    g, n, _ = RigidPlane(point=(0, 0, 1), normal=(0, 0, 2)).distance(x)
    np.testing.assert_allclose(g, [11.0, 1.5])
    g, _, _ = RigidSphere(centre=(0, 0, 0), radius=2.0).distance(x)
    np.testing.assert_allclose(g, [11.0, 0.5])
    g, _, _ = RigidCylinder(point=(0, 0, 0), axis=(0, 0, 1), radius=2.0).distance(x[:1])
    np.testing.assert_allclose(g, [3.0])
    g, _, _ = RigidEllipsoid(centre=(0, 0, 0), semi_axes=(2.0, 2.0, 2.0)).distance(x)
    np.testing.assert_allclose(g, [11.0, 0.5])
    ell = RigidEllipsoid(centre=(0, 0, 0), semi_axes=(4.0, 2.0, 1.0))
    g, n, _ = ell.distance(np.array([[0.0, 0.0, 1.01], [4.02, 0.0, 0.0]]))
    np.testing.assert_allclose(g, [0.01, 0.02], rtol=0.02)
    np.testing.assert_allclose(n, [[0, 0, 1], [1, 0, 0]], atol=1e-12)


def test_tributary_areas_sum_to_surface_area():
    hi = (10.0, 10.0, 5.0)
    mesh = block(hi=hi)
    nodes, area = tributary_areas(mesh.points, top(hi).facets(mesh))
    assert nodes.size == 25
    assert area.sum() == pytest.approx(100.0, rel=1e-12)
    assert area.min() == pytest.approx(100.0 / 64.0, rel=1e-12)  # a corner: a quarter of one facet


def mesh_points(res):
    return res.mesh.points + res.displacement


# -- flat punch ------------------------------------------------------------------------------------
def punch(penalty=None, augmentation=True, delta=0.1, n=(4, 4, 2), max_augmentations=20):
    hi = (10.0, 10.0, 5.0)
    mesh = block(n, hi=hi)
    plane = RigidPlane(surface=top(hi), name="plate", point=(0, 0, 5.0), normal=(0, 0, -1.0),
                       motion=(0.0, 0.0, -delta), penalty=penalty, augmentation=augmentation,
                       tol=1e-12, gap_tol=1e-7)
    prob = Problem(mesh, {"all": LinearElastic(E, NU)}, bcs=slider_bcs(hi), contacts=[plane],
                   newton=NewtonOptions(initial_step=0.5, max_step=0.5, max_augmentations=max_augmentations))
    assert prob.nonlinear  # contact forces the finite-strain analysis
    return prob.solve()


def test_flat_plate_uniform_pressure_equals_force_over_area():
    """Uniform compression: every nodal pressure = bottom reaction / area within 1 %; no penetration."""
    res = punch()
    c = res.contact["plate"]
    s = c["summary"]
    Fz = res.reactions["bottom"][2]  # the bottom pushes up by what the plate pushes down
    assert Fz > 0
    assert s["contact_area_mm2"] == pytest.approx(100.0, rel=1e-12)
    assert s["normal_force_N"] == pytest.approx(Fz, rel=1e-8)
    np.testing.assert_allclose(c["pressure"], Fz / 100.0, rtol=0.01)
    assert s["mean_pressure_MPa"] == pytest.approx(Fz / 100.0, rel=0.01)
    assert s["max_penetration_mm"] < 1e-6
    x = mesh_points(res)[c["nodes"]]
    w = c["pressure"] * tributary_areas(res.mesh.points, top((10.0, 10.0, 5.0)).facets(res.mesh))[1]
    np.testing.assert_allclose(s["centre_of_pressure_mm"], (w[:, None] * x).sum(0) / w.sum(), rtol=1e-12)
    assert sum(r.augmentations for r in res.steps) > 0
    # St Venant-Kirchhoff in uniaxial stress (free lateral expansion): nominal P = lam E (lam^2 - 1) / 2
    lam = 1.0 - 0.1 / 5.0
    assert Fz / 100.0 == pytest.approx(-lam * E * (lam**2 - 1) / 2, rel=1e-6)


def test_flat_plate_independent_of_penalty_with_augmentation():
    """Penalty x100: force changes < 1 % with augmentation; without it the soft penalty visibly penetrates."""
    F = []
    for eps in (20.0, 2000.0):
        res = punch(penalty=eps)
        assert res.contact["plate"]["summary"]["max_penetration_mm"] < 1e-6
        F.append(res.contact["plate"]["summary"]["normal_force_N"])
    assert F[1] == pytest.approx(F[0], rel=0.01)
    soft = punch(penalty=20.0, augmentation=False)
    assert soft.contact["plate"]["summary"]["max_penetration_mm"] > 1e-3  # the augmentation did the work


def test_augmentations_are_capped_and_counted():
    res = punch(penalty=20.0, max_augmentations=2)
    assert [r.augmentations for r in res.steps] == [2, 2]
    assert res.contact["plate"]["summary"]["max_penetration_mm"] > 1e-6  # stopped early: still penetrates
    assert res.summary()["contact_augmentations"] == [2, 2]


def test_contact_needs_finite_strain_analysis():
    from fesolver.errors import ModelError

    hi = (10.0, 10.0, 5.0)
    with pytest.raises(ModelError, match="finite-strain"):
        Problem(block(hi=hi), {"all": LinearElastic(E, NU)}, bcs=slider_bcs(hi), analysis="linear",
                contacts=[RigidPlane(surface=top(hi))])


def test_contact_fields_in_vtu_and_summary(tmp_path):
    import json

    import meshio

    res = punch()
    paths = res.write(tmp_path)
    vtu = meshio.read(paths["vtu"])
    assert vtu.point_data["contact_pressure"].max() == pytest.approx(res.contact["plate"]["pressure"].max())
    summ_file = json.loads((tmp_path / "summary.json").read_text())
    assert summ_file["contact"]["plate"]["contact_area_mm2"] == pytest.approx(100.0)
    m = res.to_meshio()
    assert m.point_data["contact_pressure"].max() > 0
    gap = m.point_data["contact_gap"]
    assert np.isnan(gap).sum() > 0 and np.nanmax(np.abs(gap)) < 1e-6
    summ = res.summary()
    for key in ("peak_pressure_MPa", "mean_pressure_MPa", "contact_area_mm2", "normal_force_N",
                "centre_of_pressure_mm"):
        assert key in summ["contact"]["plate"]


# -- Hertz -----------------------------------------------------------------------------------------
def hertz_block(h0, L, ratio, a=1.0):
    """Quarter block [0, L]^2 x [-L, 0]: uniform cubes of size h0 near the contact (r < 1.5 a), graded outside."""
    pts, hexes = quarter_block(h0, L, ratio, a)
    return Mesh(pts, [SolidBlock(HEX8, hexes)], cell_sets={"all": {0: np.arange(hexes.shape[0])}})


def hertz(per_a=5, L_a=20.0, ratio=1.4, R=10.0, delta=0.1):
    """Rigid sphere on a quarter block; mesh sizes relative to the Hertz radius a = sqrt(R delta)."""
    a_h = np.sqrt(R * delta)
    L = L_a * a_h
    mesh = hertz_block(a_h / per_a, L, ratio, a_h)
    sphere = RigidSphere(surface=Selection(box=((0, 0, 0), (L, L, 0))), name="ball", centre=(0, 0, R),
                         radius=R, motion=(0.0, 0.0, -delta), tol=1e-3, gap_tol=1e-4 * delta)
    bcs = [FixedDisplacement(Selection(box=((0, 0, -L), (L, L, -L))), {2: 0.0}, "bottom"),
           FixedDisplacement(Selection(box=((0, 0, -L), (0, L, 0))), {0: 0.0}, "sym_x"),
           FixedDisplacement(Selection(box=((0, 0, -L), (L, 0, 0))), {1: 0.0}, "sym_y")]
    prob = Problem(mesh, {"all": LinearElastic(E, NU)}, bcs=bcs, contacts=[sphere],
                   newton=NewtonOptions(initial_step=1.0, max_step=1.0))
    res = prob.solve()
    s = res.contact["ball"]["summary"]
    Es = E / (1 - NU**2)
    F_h = 4.0 / 3.0 * Es * np.sqrt(R) * delta**1.5
    p0_h = 3 * F_h / (2 * np.pi * a_h**2)
    c = res.contact["ball"]
    r = np.linalg.norm(mesh.points[c["nodes"], :2], axis=1)
    a = r[c["pressure"] > 0].max()
    return 4 * s["normal_force_N"], F_h, a, a_h, s["peak_pressure_MPa"], p0_h


def test_hertz_sphere_on_half_space():
    """Rigid sphere R = 100 mm pressed by delta = 0.1 mm (a = 3.16 mm, a/R = 0.03) into a 20 a block, a/5 mesh.

    Force within 5 % of F = 4/3 E* sqrt(R) delta^1.5 (got +2.6 %: the finite block with a fixed bottom is
    stiffer than the half-space); peak pressure within 5 % of p0 = 3 F / (2 pi a^2) (got -2.2 %); contact
    radius (outermost pressed node) within one element of a.
    """
    F, F_h, a, a_h, p, p0 = hertz(5, R=100.0)
    print(f"Hertz a/5: F={F:.4g} ({F_h:.4g}), a={a:.3g} ({a_h:.3g}), p_max={p:.3g} ({p0:.3g})")
    assert F == pytest.approx(F_h, rel=0.05)
    assert p == pytest.approx(p0, rel=0.05)
    assert abs(a - a_h) <= a_h / 5


@pytest.mark.slow
def test_hertz_sphere_refined():
    """a/8 mesh, 30 a block: the force error shrinks as the block grows."""
    F, F_h, a, a_h, p, p0 = hertz(8, L_a=30.0, R=100.0)
    print(f"Hertz a/8: F={F:.4g} ({F_h:.4g}), a={a:.3g} ({a_h:.3g}), p_max={p:.3g} ({p0:.3g})")
    assert F == pytest.approx(F_h, rel=0.05)
    assert p == pytest.approx(p0, rel=0.05)
    assert abs(a - a_h) <= a_h / 8


# -- rigid surfaces driven by a force (a bare reference-point rigid body) ----------------------------
def test_carried_surface_tangent_matches_central_difference():
    """Reduced tangent of a plane and a sphere riding on bare reference-point bodies (node-node, node-body and
    body-body blocks, one body driven by a force) vs central differences of the reduced residual: rel < 1e-6."""
    from fesolver.rigid import RigidBody, RigidCoupledSystem

    hi = (10.0, 10.0, 5.0)
    mesh = block(hi=hi)
    plane = RigidPlane(surface=top(hi), point=(0, 0, 5.05), normal=(0.1, -0.2, -1.0), penalty=50.0, body="lid")
    ball = RigidSphere(surface=Selection(box=((-1, -1, -1e-9), (11, 11, 1e-9))), centre=(5.0, 5.0, -8.95),
                       radius=9.0, penalty=40.0, body="ball")
    bodies = [RigidBody(None, reference=(5.0, 5.0, 6.0), force=(1.0, 2.0, -30.0), name="lid"),
              RigidBody(None, reference=(5.0, 5.0, -9.0), prescribed={0: 0.0, 1: 0.0}, name="ball")]
    bcs = [FixedDisplacement(Selection(box=((0, 0, 0), (0, 0, hi[2]))), {0: 0.0, 1: 0.0}, "axis")]
    prob = Problem(mesh, {"all": LinearElastic(E, NU)}, bcs=bcs, contacts=[plane, ball], rigid_bodies=bodies)
    base = FiniteStrainSystem(prob)
    rs = RigidCoupledSystem(base, bodies, mesh)
    rs.external(1.0)
    base.t = 1.0
    rng = np.random.default_rng(2)
    q = 0.03 * rng.standard_normal(rs.n_dofs)
    q[rs.nu + 2] = -0.2  # the lid pressed 0.2 mm down, the ball 0.1 mm up
    q[rs.nu + 8] = 0.1
    q[rs.nu + 3: rs.nu + 6] = 0.0
    q[rs.nu + 9: rs.nu + 12] = 0.0
    f0, K, _ = rs.internal(q, True)
    assert np.count_nonzero(rs.internal(q, False)[0][rs.nu:]) >= 4  # both bodies feel contact forces
    free = np.setdiff1d(np.arange(rs.n_dofs), rs.fixed_dofs)
    h = 1e-6
    cols = np.concatenate([rng.choice(free[free < rs.nu], 25, replace=False), [rs.nu + 2, rs.nu + 6, rs.nu + 8]])
    for j in cols:
        e = np.zeros(rs.n_dofs)
        e[j] = h
        fd = (rs.internal(q + e, False)[0] - rs.internal(q - e, False)[0]) / (2 * h)
        col = K[:, j].toarray().ravel()
        assert np.linalg.norm(col[free] - fd[free]) <= 1e-6 * max(np.linalg.norm(fd[free]), 1e-9), j


def test_sphere_driven_by_force_matches_displacement_driven():
    """The Hertz sphere of test_hertz_sphere_on_half_space pushed by the force that the prescribed 0.1 mm
    needed, through a bare reference-point body: it sinks 0.1 mm and the force, peak pressure and contact area
    agree, all to 1e-3 (the augmentation tolerance is 1e-4); no support reaction on the body's free DOF."""
    from fesolver.rigid import RigidBody

    R, delta = 100.0, 0.1
    a_h = np.sqrt(R * delta)
    L = 20.0 * a_h
    results = []
    for driven in ("displacement", "force"):
        mesh = hertz_block(a_h / 5, L, 1.4, a_h)
        top_sel = Selection(box=((0, 0, 0), (L, L, 0)))
        bcs = [FixedDisplacement(Selection(box=((0, 0, -L), (L, L, -L))), {2: 0.0}, "bottom"),
               FixedDisplacement(Selection(box=((0, 0, -L), (0, L, 0))), {0: 0.0}, "sym_x"),
               FixedDisplacement(Selection(box=((0, 0, -L), (L, 0, 0))), {1: 0.0}, "sym_y")]
        if driven == "displacement":
            s = RigidSphere(surface=top_sel, name="ball", centre=(0, 0, R), radius=R, motion=(0.0, 0.0, -delta),
                            tol=1e-6, gap_tol=1e-9)
            bodies = []
        else:
            F = results[0][0]
            s = RigidSphere(surface=top_sel, name="ball", centre=(0, 0, R), radius=R, body="indenter",
                            tol=1e-4, gap_tol=1e-7)
            bodies = [RigidBody(None, reference=(0.0, 0.0, R), prescribed={0: 0.0, 1: 0.0},
                                force=(0.0, 0.0, -F), name="indenter")]
        prob = Problem(mesh, {"all": LinearElastic(E, NU)}, bcs=bcs, contacts=[s], rigid_bodies=bodies,
                       newton=NewtonOptions(initial_step=0.5, max_step=0.5))
        res = prob.solve()
        summ = res.contact["ball"]["summary"]
        print(driven, summ["normal_force_N"], summ["peak_pressure_MPa"], [(r.iterations, r.augmentations)
                                                                         for r in res.steps])
        results.append((summ["normal_force_N"], summ["peak_pressure_MPa"], summ["contact_area_mm2"], res))
    (F0, p0, A0, _), (F1, p1, A1, res1) = results
    rig = res1.rigid["indenter"]
    assert rig["translation_mm"][2] == pytest.approx(-delta, rel=1e-3)
    assert p1 == pytest.approx(p0, rel=1e-3)
    assert A1 == pytest.approx(A0, rel=1e-3)
    assert F1 == pytest.approx(F0, rel=1e-3)
    assert abs(rig["force_N"][2]) <= 1e-6 * F0  # the applied force alone holds the body: no support reaction


def test_hertz_force_indentation_curve():
    """The rigid sphere (R = 100 mm) pressed in four load steps to 0.1 mm on the a/5 block: the force at each
    step within 3 % of Hertz's F = 4/3 E* sqrt(R) delta^1.5; Newton iterations per step reported."""
    R, delta = 100.0, 0.1
    a_h = np.sqrt(R * delta)
    L = 20.0 * a_h
    mesh = hertz_block(a_h / 5, L, 1.4, a_h)
    sphere = RigidSphere(surface=Selection(box=((0, 0, 0), (L, L, 0))), name="ball", centre=(0, 0, R), radius=R,
                         motion=(0.0, 0.0, -delta), tol=1e-3, gap_tol=1e-4 * delta)
    bcs = [FixedDisplacement(Selection(box=((0, 0, -L), (L, L, -L))), {2: 0.0}, "bottom"),
           FixedDisplacement(Selection(box=((0, 0, -L), (0, L, 0))), {0: 0.0}, "sym_x"),
           FixedDisplacement(Selection(box=((0, 0, -L), (L, 0, 0))), {1: 0.0}, "sym_y")]
    prob = Problem(mesh, {"all": LinearElastic(E, NU)}, bcs=bcs, contacts=[sphere],
                   newton=NewtonOptions(initial_step=0.25, max_step=0.25, growth=1.0))
    curve = []
    prob.solve(on_step=lambda t, res: curve.append((t, 4 * res.contact["ball"]["summary"]["normal_force_N"],
                                                    res.steps[-1].iterations, res.steps[-1].augmentations)))
    Es = E / (1 - NU**2)
    assert [round(t, 6) for t, *_ in curve] == [0.25, 0.5, 0.75, 1.0]
    for t, F, its, augs in curve:
        F_h = 4.0 / 3.0 * Es * np.sqrt(R) * (t * delta) ** 1.5
        print(f"delta = {t * delta:.3f} mm: F = {F:.4g} N, Hertz {F_h:.4g} N ({F / F_h - 1:+.2%}), "
              f"{its} Newton iterations, {augs} augmentations")
        assert F == pytest.approx(F_h, rel=0.03)
