"""Run a scenario: build the foot (with its insert) and the knee, apply the kinetic chain's loads, solve, and
write the fields and the headline numbers (``fesolver run``).

How each sub-model is loaded (all in the model frames of :mod:`fesolver.models`; mm, N, MPa):

**Foot.** The talar dome (the tibia's seat on the talus) is held in ``x`` and ``y``, turned about the leg's
axis (``z``) by the chain's tibial rotation (the mortise carries the talus with the tibia; a rigid turn of the
dome's nodes about their centroid, :class:`~fesolver.loads.PrescribedRotation`), and pushed down by the
vertical component of the chain's talar (ankle-joint) force; the Achilles tendon pulls the posterior calcaneus
with its force along the tendon direction. The ground is a rigid plane, frictionless unless
``foot.ground_friction`` is set (Coulomb, :data:`GROUND_TANGENTIAL_PENALTY`), tilted in the frontal
plane by the rearfoot eversion (the ground rises on the medial side of a pronated foot, seen from the foot)
and in the sagittal plane by the foot's pitch at that instant, placed so that it touches the lowest point of
the foot. The ground reaction is what equilibrium leaves: talar force plus Achilles force. A-P and M-L shear
are not applied (a frictionless ground cannot take them; the talar dome's ``x``/``y`` supports report the
horizontal balance as reactions). With an insert, the insole (issue 5) lies on the tilted ground: its bottom
is held (it does not slide in the shoe) and the foot touches its top through a surface-to-surface contact;
the foot is first raised until nothing overlaps.

**Knee.** The tibia is fixed; the rigid femur is pushed down by the chain's tibiofemoral compressive force at
the knee centre, free to translate along the tibial axis and to roll in the frontal plane; the medial share
is imposed through the frontal-plane moment ``M_x = -(2 s - 1) F d`` (``s`` the medial share, ``d`` the
compartment offset), which splits ``F`` as ``s : 1 - s`` between condyles ``d`` either side of the centre.
The share the contact actually carries is reported (the condyles are not point supports). Flexion and
varus/valgus alignment shape the built knee; the tibial rotation turns the femur about the tibial axis
relative to the fixed tibia.

**Patellofemoral joint** (with the knee, ``knee.patellofemoral``). The parametric patellofemoral model
(:mod:`fesolver.models.patellofemoral`: rigid trochlea fixed, rigid patella free in ``x`` and ``y``) is built at the
chain's knee flexion (clamped into the builder's 0-90 deg) and the scenario's mesh level, and the patella is pulled
by the chain's quadriceps force and an equal patellar-tendon force (the extensor lines turned by the flexion,
:func:`~fesolver.models.patellofemoral.patella_with_quadriceps_load`): the joint reaction ``2 F_q sin(flexion / 2)``
presses it onto the trochlea. Skipped (status ``skipped`` with the reason) below :data:`PF_MIN_FORCE_N` of
quadriceps force or joint reaction (quiet standing, a straight knee).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .contact import RigidPlane, SurfaceContact
from .loads import FixedDisplacement, LoadCurve, NodalForce, PrescribedRotation, Selection
from .results import UNITS, atomic_write
from .solvers.newton import ConvergenceError, NewtonOptions

__all__ = ["run_scenario", "build_foot_models", "build_knee_model", "foot_problem", "knee_problem", "foot_metrics",
           "knee_metrics", "peak_contact_pressure", "patellofemoral_problem", "patellofemoral_metrics", "headline",
           "report", "ground_normal"]

log = logging.getLogger(__name__)


def _newton(scenario) -> NewtonOptions:
    s = scenario.section("solver")
    return NewtonOptions(initial_step=s["initial_step"], max_step=s["max_step"], min_step=s["min_step"],
                         max_iterations=s["max_iterations"], rtol_residual=s["tolerance"],
                         rtol_energy=s["tolerance"])


def _solver(scenario):
    from .solvers import LinearSolverOptions

    return LinearSolverOptions(method=scenario["solver.linear"], precision=scenario["solver.precision"])


def ground_normal(tilt_deg: float, pitch_deg: float, side: str) -> np.ndarray:
    """Unit normal of the ground seen from the foot (model frame: x anterior, y medial for a right foot).

    ``tilt_deg`` > 0 (rearfoot eversion, pronation): the sole faces laterally, so the ground normal leans
    towards the lateral side (-y of a right foot). ``pitch_deg`` > 0 (dorsiflexion, heel strike): the toes are
    up, the normal leans anteriorly (+x) and the plane falls away under the forefoot."""
    t, p = math.radians(tilt_deg), math.radians(pitch_deg)
    lateral = -1.0 if side == "right" else 1.0
    n = np.array([math.sin(p), lateral * math.sin(t), math.cos(p) * math.cos(t)])
    return n / np.linalg.norm(n)


def _facet_nodes(mesh, name: str) -> np.ndarray:
    return np.unique(np.concatenate([c.ravel() for _, c in mesh.facet_sets[name]]))


def build_foot_models(scenario):
    """The scenario's foot and insert, unloaded: ``(foot, insole or None)`` (from the model cache when built
    before, :func:`fesolver.models.cache.cached_build`)."""
    from .models.cache import cached_build
    from .models.foot import build_foot

    s = scenario
    side = s["subject.side"]
    if s.section("subject").get("foot_mesh"):
        from .models.user import load_user_model

        sub = s.section("subject")
        foot = load_user_model("foot", sub["foot_mesh"], mapping=sub.get("foot_mesh_regions"))
    else:
        arch = s["subject.arch_height_mm"] * (1.0 - s["foot.arch_flattening"])
        foot = cached_build(build_foot, length=s["subject.foot_length_mm"], arch_height=max(arch, 0.0),
                            heel_pad_thickness=s["subject.heel_pad_thickness_mm"], mesh=s["mesh.level"], side=side,
                            fascia=s["mesh.fascia"])
    o = s.section("orthotic")
    insole = None
    if o["type"] == "insole":
        from .models.insole import build_insole

        insole = build_insole(foot_length=s["subject.foot_length_mm"], thickness=o["thickness_mm"],
                              heel_cup_depth=o["heel_cup_mm"], arch_support_height=o["arch_support_mm"],
                              arch_support_shape=o["arch_support_shape"], posting_deg=o["posting_deg"],
                              posting_region=o["posting_region"], forefoot_extent=o["forefoot_extent"],
                              material=o["material"], mesh=s["mesh.level"], side=side,
                              midsole_thickness=o["midsole_thickness_mm"] if o["midsole"] != "none" else 0.0,
                              midsole_material=o["midsole"] if o["midsole"] != "none" else "eva_firm")
    elif o["type"] == "mesh":
        from .models.insole import insole_from_mesh

        insole = insole_from_mesh(o["mesh"], material=o["material"])
    return foot, insole


def foot_problem(scenario, fl, foot, insole=None):
    """The foot (and insert) of ``scenario`` loaded by the chain's foot loads ``fl``: ``(model, Problem)``.
    ``foot`` and ``insole`` are not changed (the insert is placed on copies)."""
    s = scenario
    side = s["subject.side"]
    n = ground_normal(fl.ground_tilt_deg, fl.foot_pitch_deg, side)
    skin = _facet_nodes(foot.mesh, "plantar_skin")
    x0 = foot.mesh.points[skin[np.argmin(foot.mesh.points[skin] @ n)]].copy()
    dome = Selection(name="talar_dome")
    # the mortise holds the dome horizontally and turns it with the tibia about the leg's axis (z of the foot
    # frame): internal rotation moves the talar head medially, +y of a right foot, -y of a left one
    turn = float(fl.tibial_rotation_deg) * (1.0 if side == "right" else -1.0)
    bcs = [PrescribedRotation(dome, axis=(0.0, 0.0, 1.0), angle_deg=turn, components=(0, 1), name="tibia_xy")]
    loads = [NodalForce(dome, (0.0, 0.0, float(fl.talar_force_N[2])), name="tibia")]
    if fl.achilles_force_N > 0.0:
        loads.append(NodalForce(Selection(name="achilles_insertion"), tuple(float(v) for v in fl.achilles_vector_N),
                                name="achilles"))
    mu = float(s["foot.ground_friction"])
    if insole is None:
        model = foot
        contacts = [RigidPlane(surface="plantar_skin", name="ground", point=tuple(x0), normal=tuple(n),
                               gap_tol=GROUND_GAP_TOL, friction=mu,
                               tangential_penalty=GROUND_TANGENTIAL_PENALTY if mu > 0.0 else None)]
    else:
        from .models import merge_models

        foot, insole = copy.deepcopy(foot), copy.deepcopy(insole)
        _add_insole_skin(foot, insole, n)
        _add_insole_surface(insole)
        rise = _place_insole(insole, n, x0)
        model = merge_models(foot, insole, name="foot")
        # the insert rises from below into its place while the foot stands on a support plane at the insert's top
        # level, which then sinks away (see INSOLE_SEAT): the foot is always supported and the insert's relief
        # meets the skin as real contact with small penetrations (no overlap to resolve)
        lift_curve = LoadCurve(((0.0, 0.0), (INSOLE_SEAT, 0.0), (INSOLE_RISE, 1.0)), name="insert_rises")
        lift = rise + INSOLE_LIFT
        bcs.append(FixedDisplacement(Selection(name="insole_bottom"), {i: float(lift * n[i]) for i in range(3)},
                                     name="shoe", curve=lift_curve))
        f0 = INSOLE_PRELOAD
        load_curve = LoadCurve(((0.0, 0.0), (INSOLE_SEAT, f0), (INSOLE_SINK, f0), (1.0, 1.0)), name="seat_then_load")
        loads = [replace(ld, curve=load_curve) for ld in loads]
        # the tibia turns while the loads come on to the insert (phase 4), not while it is put in place: turned
        # with the loads (a tenth while seating), the medially posted foot stalled as the insert rose (load factor
        # 0.176, steps of 2e-4)
        turn_curve = LoadCurve(((0.0, 0.0), (INSOLE_SINK, 0.0), (1.0, 1.0)), name="tibia_turns_on_the_insert")
        bcs = [replace(bc, curve=turn_curve) if bc.name == "tibia_xy" else bc for bc in bcs]
        drop = float(np.ptp(insole.mesh.points @ n)) + INSOLE_SUPPORT_DROP
        support = RigidPlane(surface="plantar_skin", name="support", point=tuple(x0), normal=tuple(n),
                             gap_tol=GROUND_GAP_TOL,
                             motion=tuple(-drop * n),
                             curve=LoadCurve(((0.0, 0.0), (INSOLE_RISE, 0.0), (INSOLE_SINK, 1.0), (1.0, 1.0)),
                                             name="support_sinks"))
        contacts = [support, _insole_contact(model, float(s["orthotic.friction"]))]
    newton = _newton(s)
    if insole is None and mu > 0.0:  # see NewtonOptions.predictor and FRICTION_STEP_GROWTH
        newton = replace(newton, predictor=False, easy_iterations=max(newton.easy_iterations, FRICTION_STEP_GROWTH[0]),
                         growth=max(newton.growth, FRICTION_STEP_GROWTH[1]))
    if insole is None and (fl.ground_tilt_deg != 0.0 or fl.foot_pitch_deg != 0.0):
        first = FIRST_STEP_ON_THE_HEEL_EDGE if fl.foot_pitch_deg != 0.0 else FIRST_STEP_ON_A_POINT
        newton = replace(newton, initial_step=min(newton.initial_step, first), min_step=min(newton.min_step, first))
    prob = model.problem(bcs=bcs, loads=loads, contacts=contacts, newton=newton, solver=_solver(s),
                         title=f"{s.title}: foot")
    return model, prob


#: the foot's rigid ground (and an insert's temporary support plane) stops its augmented-Lagrangian (Uzawa) updates
#: when the largest penetration is at most this [mm]. With the contact's defaults (largest nodal multiplier change
#: 1e-3 of the largest nodal force, or penetration 1e-6 mm) the coarse foot needs 2-3 updates per load step, but
#: on the medium foot (tet10) nodes at the edge of the contact patch flip in and out: the largest multiplier change
#: stalls at 0.2-2 % with penetrations of 2e-6 to 3e-5 mm, and every load step ran into the cap of 20 updates
#: (73 Newton iterations of 11 s for the first two steps of standing). 1e-4 mm (0.1 micrometre) is far below any
#: deformation of interest; the pressure a penetration leaves out is at most eps x 1e-4 mm (1.2 kPa on the
#: coarse foot, eps = 11.7 MPa/mm; 3 kPa on the medium one, 29.7 MPa/mm) against heel peaks of 200-300 kPa.
GROUND_GAP_TOL = 1e-4


#: stick regularisation of Coulomb friction on the bare foot's ground (``foot.ground_friction``): tangential
#: penalty [MPa/mm], so a node sticks until it has slid mu p / GROUND_TANGENTIAL_PENALTY (0.7 mm at a 0.12 MPa heel
#: peak with mu 0.6). With the normal penalty (11.7 MPa/mm, coarse foot: elastic slip of 6 micrometres) or 1 MPa/mm
#: Newton stalls: 20-39 nodes turn their slip direction between iterations (docs/validation.md, "Pronation").
#: Measured (coarse standing, mu 0.6): 0.1 and 0.3 MPa/mm give fascia tension 105.7 / 105.5 N, heel peak 131 / 135
#: kPa (1 cm^2 sensor 110 / 112 kPa) -- within 3 % -- in 85 / 293 s (one thread, machine shared). Softer is
#: cheaper but moves the local peaks (coarse overpronation, mu 0.46, December 2026): 0.1 / 0.05 / 0.03 MPa/mm take
#: 187 + 25 failed / 149 / 132 + 25 failed Newton iterations (midstance 82 + 25 / 74 at 0.1 / 0.05, 102 + 75 at
#: 0.2), with the fascia tension within 0.1 % and the tibial torque within 1 %, but the heel's 1 cm^2 sensor peak
#: 186 / 181 / 175 kPa and its nodal peak 482 / 418 / 350 kPa, so the stick regularisation stays at 0.1. What makes
#: those steps slow: in their last iterations 10-35 sliding nodes turn their slip direction by more than 20 degrees
#: per iteration, with trial tractions 10-100 times the slip limit (the sole slides up to about a millimetre per
#: step as the tibia turns the foot), where the return map's tangent has only mu p eps_T / |t*| of stiffness across
#: the slip direction; the energy line search then cuts most steps to 0.2-0.5 of Newton's (without it, or accepting
#: any step that lowers the residual, midstance took 364 + 1282 failed or 127 + 75 failed iterations)
GROUND_TANGENTIAL_PENALTY = 0.1

#: step control of the bare foot on a frictional ground: (``easy_iterations``, ``growth``) of its Newton options. A
#: step there takes 10-25 iterations whatever its size (stick-slip changes of the sole's nodes), so with the default
#: (5, 1.5) the load steps hardly grew. Measured (coarse, foot alone, friction 0.46, one thread, December 2026):
#: overpronation 26 steps / 333 iterations -> 9 / 187, supination 36 / 427 -> 11 / 204; fascia tension within 0.1 %,
#: nodal heel peak within 1 % (friction makes the result depend a little on the load path)
FRICTION_STEP_GROWTH = (15, 2.0)


#: first load step [load factor] of a bare foot on tilted or pitched ground. On level ground the sole's lowest
#: nodes lie in the plane and land together; on a tilted plane the foot touches it at one node, and the first
#: force-controlled steps had Newton cut back from 0.1 four times (25 iterations each) before 0.00625 passed.
#: Measured (coarse, foot only, same results to 1e-6): overpronation 54.0 -> 24.0 s, supination 45.1 -> 21.6 s,
#: antalgic_heel 61.6 -> 51.3 s; level ground would lose 3.5-4.7 s with it (standing 8.4 -> 12.0 s), so it is not
#: applied there. The insert runs keep the scenario's step (their solves were verified with it).
FIRST_STEP_ON_A_POINT = 0.005

#: first load step of a bare foot on a pitched ground (``foot_pitch_deg`` != 0: heel strike and loading response).
#: The foot lands on the heel's posterior edge and rocks forward about it until the sole meets the plane, a larger
#: motion than a tilted plane's: from FIRST_STEP_ON_A_POINT Newton cut back three times (25 iterations each) to
#: 0.000625 on the antalgic scenarios (loading response, skin friction 0.46). Measured (coarse, foot only, one
#: thread, December 2026; the tension the same to 2e-8): antalgic_knee 119 + 75 failed -> 120 + 0
#: Newton iterations, antalgic_heel 192 + 100 failed -> 192 + 25 failed. A tilted-only foot is better off with the
#: larger first step (overpronation from 0.000625: 164 iterations against 113-134).
FIRST_STEP_ON_THE_HEEL_EDGE = 0.000625


#: the foot's skin facing the insert: the plantar skin and the lower sides of the foot, which a heel cup or an
#: arch support can reach (the facet set is added to the foot's copy by :func:`_add_insole_skin`)
INSOLE_SKIN = "insole_skin"
#: how far above the insert's highest feature the foot's side skin is included in that contact surface [mm]
INSOLE_SKIN_MARGIN = 10.0


#: the insert's surface facing the foot: its top and its side walls (all but the bottom), so that skin beside a
#: raised edge (a heel-cup rim) meets the wall instead of jumping onto the rim's top from below its edge
INSOLE_SURFACE = "insole_surface"


def _add_insole_surface(insole) -> None:
    """Add the facet set :data:`INSOLE_SURFACE` to ``insole``: its exterior facets not on ``insole_bottom``."""
    mesh = insole.mesh
    bottom = np.zeros(mesh.n_nodes, dtype=bool)
    bottom[_facet_nodes(mesh, "insole_bottom")] = True
    sets = []
    for ftype, conn, _ in mesh.boundary_facets():
        sel = ~np.all(bottom[conn], axis=1)
        if sel.any():
            sets.append((ftype, np.ascontiguousarray(conn[sel])))
    mesh.facet_sets[INSOLE_SURFACE] = sets


def _add_insole_skin(foot, insole, n: np.ndarray) -> None:
    """Add the facet set :data:`INSOLE_SKIN` to ``foot``: its exterior facets whose nodes all lie within the
    insert's relief (its top's rise above the flat top, ``z = 0`` as built) plus :data:`INSOLE_SKIN_MARGIN` of the
    foot's lowest point along the ground normal ``n``. The plantar skin alone ends a few millimetres up the
    sides of the sole, below a heel-cup rim or an arch support, which would then meet the foot where it has no
    contact surface."""
    mesh = foot.mesh
    h = mesh.points @ n
    band = max(float(insole.mesh.points[:, 2].max()), 0.0) + INSOLE_SKIN_MARGIN
    low = h - h.min() <= band
    sets = []
    for ftype, conn, _ in mesh.boundary_facets():
        sel = np.all(low[conn], axis=1)
        if sel.any():
            sets.append((ftype, np.ascontiguousarray(conn[sel])))
    mesh.facet_sets[INSOLE_SKIN] = sets


def _place_insole(insole, n: np.ndarray, x0: np.ndarray) -> float:
    """Tilt the insole (built flat, top at z = 0) onto the ground plane so that its flat top passes through
    the foot's lowest point ``x0`` with normal ``n`` (its place at the end of the analysis), then lower it along
    ``n`` until its whole top (raised features: arch support, heel cup, posting) is :data:`INSOLE_MARGIN` below
    the support plane through ``x0`` on which the foot settles in phase 1 (see :data:`INSOLE_SEAT`). Changes
    ``insole`` in place; returns how far it was lowered [mm] (it rises back in the analysis).

    The foot's skin lies on or above that plane, so the insert starts clear of the skin as well. Lowering it only
    below the *unloaded* skin was not enough: the settling foot's skin comes down to the plane, and on tilted
    ground a lateral wedge's high edge stood 1.6 mm above the plane, where the foot landed on it in phase 1 (no
    convergence)."""
    ez = np.array([0.0, 0.0, 1.0])
    v = np.cross(ez, n)
    c = float(ez @ n)
    R = np.eye(3)
    if np.linalg.norm(v) > 1e-12:
        V = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
        R = R + V + V @ V / (1.0 + c)
    pivot = np.array([x0[0], x0[1], 0.0])
    insole.mesh.points = (insole.mesh.points - pivot) @ R.T + x0
    Q = insole.mesh.points[_facet_nodes(insole.mesh, "insole_top")]
    rise = max(float(np.max((Q - x0) @ n)), 0.0) + INSOLE_MARGIN
    insole.mesh.points = insole.mesh.points - rise * n
    return rise


#: foot on an insert, in four phases of the load factor: (1) up to INSOLE_SEAT the foot's loads rise to
#: INSOLE_PRELOAD of their value, the foot standing on a rigid support plane at the insert's top level (as on bare
#: ground); (2) up to INSOLE_RISE the insert rises from below into its place and INSOLE_LIFT beyond, its relief
#: meeting the skin and its top lifting the foot off the support; (3) up
#: to INSOLE_SINK the support plane sinks INSOLE_SUPPORT_DROP below the insert's bottom, so the insert alone
#: carries the foot; (4) up to 1 the loads rise to their full value on the insert. The preload is small so that
#: the soft heel pad has not spread on the frictionless support plane (at full load its skin slides 12-15 mm
#: backwards, off the insert's outline, where the heel cup's rim then rises under it) before the heel cup holds it
INSOLE_SEAT, INSOLE_RISE, INSOLE_SINK = 0.1, 0.45, 0.55
#: fraction of the foot's loads while the insert is put in place
INSOLE_PRELOAD = 0.1
#: how far the support plane sinks below the insert's bottom [mm]
INSOLE_SUPPORT_DROP = 1.0
#: clearance of the lowered insert below the support plane (and so the skin) before it rises [mm]
INSOLE_MARGIN = 0.2
#: how far the insert rises past its place, lifting the foot off the support plane [mm]: the foot's load passes to
#: the insert while the insert's rise is prescribed (stable), not when the support sinks (a flat insert that had
#: just reached the skin, gap 0, then left the foot on nothing for a step: a singular tangent, no convergence)
INSOLE_LIFT = 0.5


#: foot-insole contact: penalty = this x the default ``10 E / h`` (penetration about a tenth of the default's),
#: no augmentation
INSOLE_PENALTY_FACTOR = 10.0
#: the contact's geometric stiffness (the pressure times the gap's second derivative, by central differences) in the
#: foot-insole tangent. Measured both ways (docs/models.md, "Foot on an insert", history item 9): without it the
#: lateral wedge's insert rose into place (load factor 0.45) in 325 s instead of 914 s (skin nodes resting on the
#: faceted insert's edges, where the term is large and indefinite, had stalled the Newton directions), but the
#: arch-support insert, which converges with it, then stalled at load factor 0.75: kept on
INSOLE_GEOMETRIC_STIFFNESS = True
#: the skin's contact points: "nodal" (one point per skin node) or 1 (integration points on each skin facet split
#: into 4, mortar-type weighted gaps). Measured (docs/models.md, "Foot on an insert", history items 10-11): with
#: "nodal" the 6 deg lateral wedge stops at load factor 0.85-0.89 (a skin node chattering on an edge of the faceted
#: insert); with 1 it solves to the end (coarse: 1568 s for the foot). The plantar pressures are reported as force
#: per tributary area (:func:`foot_metrics`), which agrees between the two rules (arch support, coarse: heel peak
#: 165 kPa nodal, 162 kPa with 1) where the rule's nodal multipliers did not (222 kPa: they overshoot at steep
#: pressure gradients on coarse meshes, as in tests/test_contact_hertz.py)
INSOLE_SUBDIVISION = 1


#: the stick regularisation of the foot-insole friction: tangential penalty = this x the contact's normal penalty.
#: With the normal one (stiff: 10 x the default) the 6 deg medial post chattered between stick and slip and stopped
#: at load factor 0.588; with 0.01 x it solves to the end (December 2026, docs/models.md "Foot on an insert",
#: history item 12). The elastic slip before sliding is mu p / eps_T, about 0.4 mm at 300 kPa on the coarse foot.
INSOLE_TANGENTIAL_FACTOR = 0.01


def _insole_contact(model, friction: float = 0.0):
    """Contact of the foot's lower skin (slave, INSOLE_SUBDIVISION points) with the insert's top and walls (master);
    Coulomb ``friction`` from load factor INSOLE_SINK on, when the insert alone carries the foot (while the insert
    is put in place the contact stays frictionless: those steps are not a physical loading history)."""
    from .contact.rigid_surfaces import PENALTY_FACTOR, contact_modulus

    nodes = np.union1d(_facet_nodes(model.mesh, INSOLE_SKIN), _facet_nodes(model.mesh, INSOLE_SURFACE))
    fs = [c for _, c in model.mesh.facet_sets[INSOLE_SKIN]]
    pts = model.mesh.points
    area = np.concatenate([0.5 * np.linalg.norm(np.cross(pts[c[:, 1]] - pts[c[:, 0]], pts[c[:, 2]] - pts[c[:, 0]]),
                                                axis=1) for c in fs])
    h = float(np.sqrt(area.mean()))
    prob = model.problem()
    eps = INSOLE_PENALTY_FACTOR * PENALTY_FACTOR * contact_modulus(prob, nodes) / h
    return SurfaceContact(slave=INSOLE_SKIN, master=INSOLE_SURFACE, name="insole", penalty=eps, augmentation=False,
                          subdivision=INSOLE_SUBDIVISION, geometric_stiffness=INSOLE_GEOMETRIC_STIFFNESS,
                          friction=friction, tangential_penalty=INSOLE_TANGENTIAL_FACTOR * eps,
                          friction_from=INSOLE_SINK)


def build_knee_model(scenario, kl):
    """The scenario's knee posed for the chain's knee loads ``kl`` (flexion, alignment), unloaded."""
    from .models.knee import build_knee

    s = scenario
    if s.section("subject").get("knee_mesh"):
        from .models.user import load_user_model

        return load_user_model("knee", s.section("subject")["knee_mesh"],
                               mapping=s.section("subject").get("knee_mesh_regions"))
    # the structured knee builds in about a second: not cached
    return build_knee(flexion_deg=float(kl.flexion_deg), varus_valgus_deg=float(kl.varus_valgus_deg),
                      menisci=bool(s["mesh.menisci"]), mesh=s["mesh.level"])


#: inexact Uzawa cycles of the knee (:attr:`~fesolver.solvers.newton.NewtonOptions.rtol_augment`): the cartilage
#: contacts' multipliers are updated once the relative residual is below this (the default 1e-5 spent 3-4 Newton
#: iterations per cycle, 4-5 cycles per load step); the multipliers still converge to the contacts' tolerances and
#: the last cycle to the step's. Measured (one thread, December 2026): coarse standing 51 -> 39 iterations,
#: antalgic_knee 63 -> 55 (peak pressures within 0.05 %, medial share within 2e-4); medium standing 41 iterations,
#: 205 s (306 s with 1e-5 in an earlier session; both with the machine shared). Not for the foot: the coarse bare
#: foot gained 3-10 iterations of about 35-113, but the medium standing foot then spent more than 40 iterations on
#: its step to load factor 0.825 (its whole solve takes 50 with 1e-5), and the arch-support insert needed 36 load
#: steps instead of 27
RTOL_AUGMENT = 1e-3


def knee_problem(scenario, kl, knee):
    """The knee ``knee`` under the chain's knee loads ``kl``: ``(model, Problem)``: the femur pushed along the
    tibial axis by the compressive force, the medial share imposed as a frontal-plane moment (the femur free
    to roll about ``x``), the tibial rotation prescribed as a femoral rotation about ``z`` relative to the
    fixed tibia."""
    from .models.knee import knee_with_femur_load

    s = scenario
    d = float(knee.params.get("compartment_offset", 22.0))
    F = float(kl.compressive_force_N)
    M = -(2.0 * kl.medial_share - 1.0) * F * d
    loaded = knee_with_femur_load(knee, force=(0.0, 0.0, -F), moment=(M, 0.0, 0.0), free=("z", "rx"))
    rz = -math.radians(float(kl.tibial_rotation_deg))  # tibia internal = femur external relative to it
    if rz != 0.0:
        bodies = [replace(b, prescribed={**b.prescribed, 5: rz}) if b.name == "femur" else b
                  for b in loaded.rigid_bodies]
        loaded = replace(loaded, rigid_bodies=bodies)
    prob = loaded.problem(newton=replace(_newton(s), rtol_augment=RTOL_AUGMENT), solver=_solver(s),
                          title=f"{s.title}: knee")
    return loaded, prob


#: plantar regions for the pressure metrics, as fractions of the foot length from the heel (the usual
#: masks of plantar-pressure analysis: heel 0-30 %, midfoot 30-55 %, forefoot and toes beyond)
HEEL_FRACTION, MIDFOOT_FRACTION = 0.30, 0.55


#: side of the square sensor [mm] of the plate-like plantar pressure (``*_sensor_pressure_kPa``): 1 cm^2, the order
#: of the cells of the pressure plates and insoles that measure plantar pressure (the plate of Ohlendorf et al.
#: 2020 (docs/validation.md section 3) has cells of this order; its exact sensor size was not verified here)
SENSOR_MM = 10.0

_TRI6_AS_TRI3 = np.array([[0, 3, 5], [3, 1, 4], [5, 4, 2], [3, 4, 5]])


def sensor_pressure(points: np.ndarray, u: np.ndarray, facets, pressure: np.ndarray, normal, regions=None,
                    size: float = SENSOR_MM) -> dict:
    """Plantar pressure as a pressure plate measures it: the largest mean pressure over any ``size`` x ``size``
    square [mm] of the plane normal to ``normal`` (the contact force over the square's area), in kPa.

    ``pressure`` (MPa, one value per node of ``points``) is interpolated linearly over the facets (tri3; a tri6
    as four tri3 on its corner and mid-side nodes) and integrated over each facet's reference area (nominal
    pressure, as the contact reports it) with a centroid rule on sub-triangles about ``size`` / 8 across; each
    sample sits at its deformed position projected on the plane and deposits its force on a grid of ``size`` / 4
    bins (bilinearly, cloud-in-cell: a sensor's edge is blurred by a quarter of its width; a uniform pressure reads
    within 0.2 %). The squares slide in those steps, so the peak does not depend on where a plate's grid happens
    to lie under the foot. It tends to the square-averaged pressure of the continuum as the mesh is refined, where
    a nodal peak tends to the pointwise maximum (standing heel, coarse -> medium: +17.5 % against the nodal +78 %,
    neither converged; docs/validation.md "Mesh convergence"). Skin outside ``facets`` (the sides of the foot in a
    heel cup) is not read.

    ``regions``: name -> boolean mask over the nodes; a sample belongs to a region when the nearest corner of its
    facet (by barycentric weight) does, and the region's peak counts only its own samples. Returns
    ``{"peak": kPa, name: kPa, ...}``.
    """
    X = np.asarray(points, dtype=float)
    x = X + np.asarray(u, dtype=float)
    pn = np.asarray(pressure, dtype=float)
    tris = []
    for etype, conn in facets:
        conn = np.asarray(conn, dtype=np.int64)
        if conn.shape[1] == 3:
            tris.append(conn)
        elif conn.shape[1] == 6:
            tris.append(conn[:, _TRI6_AS_TRI3].reshape(-1, 3))
        else:
            raise ValueError(f"sensor_pressure: facets of {conn.shape[1]} nodes ({etype}); tri3 or tri6 expected")
    if not tris:
        return {"peak": 0.0, **{k: 0.0 for k in (regions or {})}}
    T = np.concatenate(tris)
    edges = np.linalg.norm(X[T] - X[np.roll(T, 1, axis=1)], axis=2).max()
    m = int(np.clip(np.ceil(edges / (size / 8.0)), 1, 64))
    # sub-triangle centroids of an m x m split, in barycentric coordinates (upright and inverted ones)
    i, j = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    up = (i + j) <= m - 1
    dn = (i + j) <= m - 2
    a = np.concatenate([(i[up] + 1 / 3) / m, (i[dn] + 2 / 3) / m])
    b = np.concatenate([(j[up] + 1 / 3) / m, (j[dn] + 2 / 3) / m])
    L = np.stack([1.0 - a - b, a, b], axis=1)  # (q, 3), m^2 points of equal weight
    area = 0.5 * np.linalg.norm(np.cross(X[T[:, 1]] - X[T[:, 0]], X[T[:, 2]] - X[T[:, 0]]), axis=1)
    f = (np.einsum("qk,tk->tq", L, pn[T]) * (area / L.shape[0])[:, None]).ravel()  # N per sample
    pos = np.einsum("qk,tkd->tqd", L, x[T]).reshape(-1, 3)
    near = T[:, np.argmax(L, axis=1)].ravel()  # the facet corner nearest each sample
    n = np.asarray(normal, dtype=float)
    n = n / np.linalg.norm(n)
    e1 = np.array([1.0, 0.0, 0.0]) - n[0] * n
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    uv = np.stack([pos @ e1, pos @ e2], axis=1)
    step = size / 4.0
    lo = uv.min(axis=0) - size
    shape = np.ceil((uv.max(axis=0) + size - lo) / step).astype(int) + 1
    # cloud-in-cell: each sample's force goes to the four nearest bin centres, bilinearly (plain binning aliases
    # the samples' pattern against the bins by several per cent)
    g = (uv - lo) / step - 0.5
    i0 = np.floor(g).astype(int)
    fr = g - i0

    def peak(mask):
        grid = np.zeros(shape)
        fm, im, rm = f[mask], i0[mask], fr[mask]
        for di in (0, 1):
            wi = rm[:, 0] if di else 1.0 - rm[:, 0]
            for dj in (0, 1):
                wj = rm[:, 1] if dj else 1.0 - rm[:, 1]
                np.add.at(grid, (im[:, 0] + di, im[:, 1] + dj), fm * wi * wj)
        c = np.zeros((shape[0] + 1, shape[1] + 1))
        c[1:, 1:] = grid.cumsum(axis=0).cumsum(axis=1)
        w = 4  # squares of 4 x 4 steps = size x size
        win = c[w:, w:] - c[:-w, w:] - c[w:, :-w] + c[:-w, :-w]
        return 1e3 * float(win.max(initial=0.0)) / size ** 2

    out = {"peak": peak(np.ones(f.size, dtype=bool))}
    for name, mask in (regions or {}).items():
        out[name] = peak(np.asarray(mask, dtype=bool)[near])
    return out


def foot_metrics(model, res, ground_normal=(0.0, 0.0, 1.0), side: str | None = None) -> dict:
    """Headline foot numbers: plantar fascia tension [N], peak fibre stress and its 99th percentile by volume
    [MPa] (:func:`~fesolver.models.foot.fascia_tension`); plantar contact (with
    the ground or the insert): peak pressure, peak heel / midfoot / forefoot pressure [kPa], contact area
    [mm^2], force [N], centre of pressure [mm]; heel-pad peak von Mises [MPa]; ``tibial_torque_Nm``, the moment
    [N m] the tibia puts on the talar dome about the leg's axis (+ = turning the foot internally); the bones' posture
    (``posture``: :func:`~fesolver.models.foot.bone_kinematics`, the navicular drop along ``ground_normal``).
    ``side`` (the scenario's ``subject.side``) gives the torque's sign; default the model's ``params["side"]``
    (a user's mesh carries none: then right)."""
    from .models.foot import bone_kinematics, fascia_tension
    from .results import von_mises

    out: dict = {"fascia": fascia_tension(model, res), "posture": bone_kinematics(model, res, ground_normal)}
    name = "insole" if "insole" in res.contact else "ground"
    c = res.contact[name]
    sm = c["summary"]
    x = model.mesh.points[c["nodes"], 0]
    # heel / midfoot / forefoot by the foot's own length (the plantar skin's extent, not the insert's outline)
    xs = model.mesh.points[_facet_nodes(model.mesh, "plantar_skin"), 0]
    L = float(xs.max() - xs.min())
    xr = (x - xs.min()) / L
    # force per tributary area on both the ground (node-on-plane: the same thing as its nodal pressure) and the
    # insert (integration-point contact, whose nodal multipliers overshoot on coarse meshes): one definition,
    # comparable between the bare and the shod foot (docs/models.md "Plantar pressure")
    p = np.asarray(c.get("force_pressure", c["pressure"]))

    def peak(mask):
        return 1e3 * float(p[mask].max(initial=0.0))

    out["plantar"] = {"contact": name, "peak_pressure_kPa": peak(np.ones(p.size, dtype=bool)),
                      "peak_heel_pressure_kPa": peak(xr < HEEL_FRACTION),
                      "peak_midfoot_pressure_kPa": peak((xr >= HEEL_FRACTION) & (xr < MIDFOOT_FRACTION)),
                      "peak_forefoot_pressure_kPa": peak(xr >= MIDFOOT_FRACTION),
                      "mean_pressure_kPa": 1e3 * sm["mean_pressure_MPa"], "contact_area_mm2": sm["contact_area_mm2"],
                      "force_N": [float(v) for v in sm["force_N"]],
                      "centre_of_pressure_mm": sm["centre_of_pressure_mm"]}
    if sm.get("friction", 0.0) > 0.0:  # Coulomb friction on the ground: the shear it carries
        out["plantar"].update({"friction_force_N": [float(v) for v in sm["friction_force_N"]],
                               "sliding_nodes": int(sm["sliding_nodes"]), "contact_nodes": int(sm["active_nodes"])})
    # the same contact force, averaged over 1 cm^2 squares as a pressure plate's sensors do
    pnode = np.zeros(model.mesh.n_nodes)
    pnode[c["nodes"]] = p
    rx = (model.mesh.points[:, 0] - xs.min()) / L
    # the plate lies on the ground (the contact force's direction is undefined when a run stopped before touching)
    sens = sensor_pressure(model.mesh.points, res.displacement, model.mesh.facet_sets["plantar_skin"], pnode,
                           ground_normal, regions={"heel": rx < HEEL_FRACTION, "forefoot": rx >= MIDFOOT_FRACTION})
    out["plantar"].update({"sensor_mm": SENSOR_MM, "peak_sensor_pressure_kPa": sens["peak"],
                           "peak_heel_sensor_pressure_kPa": sens["heel"],
                           "peak_forefoot_sensor_pressure_kPa": sens["forefoot"]})
    if "tibia_xy" in res.reaction_moments:  # the moment the mortise puts on the talar dome about the leg's axis
        mz = 1e-3 * float(res.reaction_moments["tibia_xy"][2])
        out["tibial_torque_Nm"] = -mz if (side or model.params.get("side")) == "left" else mz
    if "heel_pad" in model.mesh.cell_sets:
        e = model.mesh.cell_sets["heel_pad"][0]
        out["heel_pad_peak_von_mises_MPa"] = float(von_mises(res.cell_stress[0][e]).max())
    return out


def peak_contact_pressure(summary: dict) -> float:
    """Peak contact pressure [MPa] of a contact summary: the largest normal contact force over a node's tributary
    area (``peak_force_pressure_MPa``; the nodal pressure where the contact has no such figure). The mortar
    multipliers (``peak_pressure_MPa`` of the contact) overshoot at a contact edge on coarse meshes: Hertz on a
    coarse curved slave, a/3-a/6 per element, multipliers +6.5 to +39 % of p0, force per area -3 to +1 %
    (tests/test_contact_hertz.py); knee at 1150 N, coarse -> medium, multipliers -2.2 / -7.7 %, force per area
    -0.2 / +0.2 % (docs/validation.md section 4)."""
    return float(summary.get("peak_force_pressure_MPa", summary["peak_pressure_MPa"]))


def knee_metrics(model, res) -> dict:
    """Headline knee numbers per tibial plateau (cartilage-cartilage plus meniscus-cartilage contact): peak
    contact pressure [MPa] (force per tributary area, :func:`peak_contact_pressure`; ``peak_multiplier_MPa`` the mortar
    multipliers' peak), contact area [mm^2], axial force [N]; the medial share of the tibial contact force."""
    out: dict = {}
    force = {}
    for side in ("medial", "lateral"):
        names = sorted(n for n in res.contact if n.endswith(side) and "tibi" in n)
        if not names:
            continue
        cs = [res.contact[n]["summary"] for n in names]
        force[side] = sum(abs(c["force_N"][2]) for c in cs)
        out[side] = {"peak_pressure_MPa": max(peak_contact_pressure(c) for c in cs),
                     "peak_multiplier_MPa": max(c["peak_pressure_MPa"] for c in cs),
                     "contact_area_mm2": sum(c["contact_area_mm2"] for c in cs), "force_N": force[side],
                     "contacts": names}
    total = sum(force.values())
    if total > 0.0:
        out["medial_share"] = force.get("medial", 0.0) / total
    return out


#: no patellofemoral solve below this quadriceps force or joint reaction [N]: quiet standing (the chain's quadriceps
#: force is 0) and a straight knee (the model's quadriceps and tendon lines are collinear at 0 deg and press nothing)
PF_MIN_FORCE_N = 1.0
#: load-factor step of the patellofemoral solve. Its contacts are active from the start (the patella is built with a
#: small interference) and pure penalty, so one step converges: coarse, 29-236 N of joint reaction, 6-8 Newton
#: iterations in 1.3-1.9 s, against 1.9-2.8 s in the scenario's 0.1 / 0.25 steps (same result to 1e-6). Newton
#: cuts the step back by itself when it must.
PF_LOAD_STEP = 1.0


def patellofemoral_problem(scenario, kl):
    """The patellofemoral joint under the chain's knee loads ``kl`` (quadriceps force, flexion): ``(model, Problem,
    info)``, or ``(None, None, info)`` with ``info["status"] = "skipped"`` and ``info["reason"]`` when
    ``knee.patellofemoral`` is false or the quadriceps force or the joint reaction is below :data:`PF_MIN_FORCE_N`.

    ``info``: ``quadriceps_force_N`` [N], ``chain_flexion_deg`` (the chain's) and ``flexion_deg`` (the model's: the
    chain's clamped into the builder's range) [deg], ``flexion_clamped``, ``reaction_N`` (the joint reaction applied
    to the patella, patellofemoral frame, N). The model is the parametric right knee's, at ``mesh.level``."""
    from .models.patellofemoral import (
        PF_PARAMETER_RANGES,
        build_patellofemoral,
        patella_with_quadriceps_load,
        pf_reaction,
    )

    s = scenario
    fq = float(kl.quadriceps_force_N)
    lo, hi = PF_PARAMETER_RANGES["flexion_deg"]
    chain_flex = float(kl.flexion_deg)
    flex = min(max(chain_flex, lo), hi)
    info: dict = {"quadriceps_force_N": fq, "chain_flexion_deg": chain_flex, "flexion_deg": flex,
                  "flexion_clamped": flex != chain_flex}
    reason = None
    if not s["knee.patellofemoral"]:
        reason = "knee.patellofemoral = false"
    elif fq < PF_MIN_FORCE_N:
        reason = (f"quadriceps force {fq:.3g} N is below {PF_MIN_FORCE_N:g} N (chain: quadriceps_bw at this instant, "
                  f"or knee.quadriceps_force_N)")
    else:
        r = pf_reaction(fq, flex)
        info["reaction_N"] = r.tolist()
        if -r[0] < PF_MIN_FORCE_N:
            reason = (f"joint reaction {-r[0]:.3g} N is below {PF_MIN_FORCE_N:g} N at {flex:g} deg of flexion: the "
                      f"model's quadriceps and patellar-tendon lines turn by the flexion, so a straight knee presses "
                      f"nothing")
    if reason is not None:
        info.update(status="skipped", reason=reason)
        return None, None, info
    model = patella_with_quadriceps_load(build_patellofemoral(flexion_deg=flex, mesh=s["mesh.level"]), fq)
    newton = replace(_newton(s), initial_step=PF_LOAD_STEP, max_step=PF_LOAD_STEP)
    prob = model.problem(newton=newton, solver=_solver(s), title=f"{s.title}: patellofemoral")
    return model, prob, info


def patellofemoral_metrics(model, res) -> dict:
    """Headline patellofemoral numbers per trochlear facet (``lateral``, ``medial``): peak contact pressure [MPa]
    (force per tributary area, :func:`peak_contact_pressure`; ``peak_multiplier_MPa`` the multipliers'), contact area
    [mm^2], normal contact force [N] (and its vector, on the trochlea, patellofemoral frame); the lateral share
    of the facets' normal forces; the joint reaction applied to the patella [N] (``joint_reaction_N``, its size;
    ``reaction_vector_N``) and the contact force the facets carry (``contact_force_N``, their sum)."""
    out: dict = {}
    force = {}
    total = np.zeros(3)
    for side in ("lateral", "medial"):
        c = res.contact.get(f"patellofemoral_{side}")
        if c is None:
            continue
        sm = c["summary"]
        f = np.asarray(sm["force_N"], dtype=float)
        total += f
        force[side] = float(np.linalg.norm(f))
        out[side] = {"peak_pressure_MPa": peak_contact_pressure(sm),
                     "peak_multiplier_MPa": float(sm["peak_pressure_MPa"]),
                     "contact_area_mm2": float(sm["contact_area_mm2"]), "force_N": force[side],
                     "force_vector_N": f.tolist()}
    if sum(force.values()) > 0.0:
        out["lateral_share"] = force.get("lateral", 0.0) / sum(force.values())
    applied = np.asarray(model.params["pf_reaction_N"], dtype=float)
    out["joint_reaction_N"] = float(np.linalg.norm(applied))
    out["reaction_vector_N"] = applied.tolist()
    out["contact_force_N"] = total.tolist()
    return out


#: folder of OUTDIR holding the restart files of a run's sub-models (``foot.npz``, ...) while they solve
RESTART_DIR = "restart"


def _solve(name: str, model, prob, outdir: Path, steps: bool, progress: bool, metrics_fn,
           resume: bool = False) -> dict:
    """Solve one sub-model; write ``NAME.vtu`` (the last converged state, also when Newton gave up) and, with
    ``steps``, ``NAME.pvd`` over ``NAME_steps/``; return its part of the summary.

    The solve writes its restart file ``OUTDIR/restart/NAME.npz`` after every converged load step and deletes it
    when it reaches the end of the load; ``resume`` continues from that file when a run was stopped (without it
    an old file is deleted first). A solve that gives up keeps its file (``restart_file`` in the summary)."""
    from .results import StepWriter

    t0 = time.perf_counter()
    ckpt = outdir / RESTART_DIR / f"{name}.npz"
    resumed = resume and ckpt.is_file()
    if not resumed:
        ckpt.unlink(missing_ok=True)
    writer = StepWriter(outdir, pvd=f"{name}.pvd", folder=f"{name}_steps", resume=resumed) if steps else None
    status, message, res = "ok", "", None
    try:
        res = prob.solve(progress=progress, on_step=writer, checkpoint=ckpt)
    except ConvergenceError as exc:
        status, message, res = "not_converged", str(exc), getattr(exc, "result", None)
    out = {"status": status, "seconds": round(time.perf_counter() - t0, 2),
           "dofs": 3 * model.mesh.n_nodes, "mesh": model.mesh.summary()}
    if resumed:
        out["resumed"] = True
    if status == "ok":
        ckpt.unlink(missing_ok=True)
        if ckpt.parent.is_dir() and not any(ckpt.parent.iterdir()):
            ckpt.parent.rmdir()
    elif ckpt.is_file():
        out["restart_file"] = str(ckpt)
    if message:
        out["message"] = message
    if res is not None:
        m = res.to_meshio()
        atomic_write(outdir / f"{name}.vtu", lambda p: m.write(p, file_format="vtu"))
        out["load_factor"] = float(res.load_factor)
        out["regions"] = list(res.regions)  # names of the VTU's `material` indices
        out["metrics"] = metrics_fn(model, res)
        its = [r.iterations for r in res.steps]
        out["solver"] = {"steps": len(its), "newton_iterations": int(sum(its)), "per_step": its,
                         "failed_attempts": int(sum(r.failed_attempts for r in res.steps)),
                         "failed_iterations": int(sum(r.failed_iterations for r in res.steps)),
                         "failed_seconds": round(float(sum(r.failed_seconds for r in res.steps)), 2),
                         "reused_factorisations": int(sum(r.reused_factors for r in res.steps))}
    return out


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _use_two_processes(scenario, parallel: bool | None) -> bool:
    """Solve the knee in a second process while this one solves the foot: both sub-models asked for, the
    scenario's ``solver.parallel`` (or ``parallel``) on, two or more cores, and not already inside a daemonic
    worker (a batch's: it runs one case per core and may not start processes)."""
    import multiprocessing

    if scenario["output.models"] != "both":
        return False
    if parallel is None:
        parallel = bool(scenario["solver.parallel"])
    return parallel and _cores() >= 2 and not multiprocessing.current_process().daemon


def _knee_parts(scenario, samples, outdir: Path, steps: bool, progress: bool, phase: bool,
                resume: bool = False) -> list[dict]:
    """The knee and patellofemoral parts of the summary for each sample (chain loads) of ``samples``; writes
    ``knee*.vtu`` and ``patellofemoral*.vtu`` into ``outdir``. Runs in the main process or in a second one."""
    parts = []
    for i, loads in enumerate(samples):
        tag = f"_{i:02d}" if phase else ""
        part: dict = {}
        knee = build_knee_model(scenario, loads.knee)
        model, prob = knee_problem(scenario, loads.knee, knee)
        part["knee"] = _solve(f"knee{tag}", model, prob, outdir, steps, progress, knee_metrics, resume)
        part["knee"]["model"] = {k: v for k, v in knee.params.items() if _plain(v)}
        pf, prob, info = patellofemoral_problem(scenario, loads.knee)
        if pf is None:
            part["patellofemoral"] = info
        else:
            part["patellofemoral"] = _solve(f"patellofemoral{tag}", pf, prob, outdir, steps, progress,
                                            patellofemoral_metrics, resume)
            part["patellofemoral"]["loading"] = info
            part["patellofemoral"]["model"] = {k: v for k, v in pf.params.items() if _plain(v)}
        parts.append(part)
    return parts


#: thread-count variables set for the knee's process (read when it imports numpy, numba, MKL)
_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _knee_threads() -> int:
    """Threads of the knee's process: half the cores (the foot keeps the rest)."""
    return max(1, _cores() // 2)


class _KneeProcess:
    """The knee and patellofemoral parts of a run, solved by ``python -m fesolver.simulate`` in a second process
    on half the cores (a fresh interpreter: nothing of the caller's script is re-run, no fork of a threaded
    process). The scenario goes over as its expanded form, the parts come back as JSON; an error of the
    process is raised again here with its class and message."""

    def __init__(self, scenario, outdir: Path, steps: bool, resume: bool = False):
        import subprocess
        import tempfile

        self.tmp = Path(tempfile.mkdtemp(prefix="fesolver-knee-"))
        job = {"expanded": scenario.expanded(), "source": str(scenario.path), "outdir": str(outdir),
               "steps": bool(steps), "resume": bool(resume)}
        (self.tmp / "job.json").write_text(json.dumps(job, default=_jsonable))
        env = {**os.environ, **{k: str(_knee_threads()) for k in _THREAD_VARS}}
        self.proc = subprocess.Popen([sys.executable, "-m", "fesolver.simulate", str(self.tmp / "job.json"),
                                      str(self.tmp / "parts.json")], env=env, stdout=subprocess.DEVNULL)

    def result(self) -> list[dict]:
        from . import errors

        code = self.proc.wait()
        out = self.tmp / "parts.json"
        data = json.loads(out.read_text()) if out.is_file() else None
        if data is None:
            raise RuntimeError(f"the knee's process (python -m fesolver.simulate) ended with exit code {code} "
                               f"and no result (its error output is above)")
        if "error" in data:
            cls = getattr(errors, data["error"]["type"], None)
            if not (isinstance(cls, type) and issubclass(cls, errors.FesolverError)):
                cls = RuntimeError
            raise cls(data["error"]["message"])
        return data["parts"]

    def close(self) -> None:
        import shutil

        if self.proc.poll() is None:  # interrupted: do not leave it running
            self.proc.terminate()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _knee_process_main(job_file: str, out_file: str) -> int:
    """Entry of the knee's process: solve the job of :class:`_KneeProcess`, write ``{"parts": ...}`` or
    ``{"error": {"type", "message"}}`` to ``out_file`` (a temporary file, then renamed)."""
    import traceback

    from .chain import chain_loads, stance_phase
    from .errors import FesolverError
    from .scenario import parse_scenario

    job = json.loads(Path(job_file).read_text())
    try:
        scenario = parse_scenario(job["expanded"], job["source"])
        phase = scenario["gait.instant"] == "stance_phase"
        samples = stance_phase(scenario) if phase else [chain_loads(scenario)]
        res: dict = {"parts": _knee_parts(scenario, samples, Path(job["outdir"]), job["steps"], False, phase,
                                          job.get("resume", False))}
        code = 0
    except FesolverError as exc:
        res, code = {"error": {"type": type(exc).__name__, "message": str(exc)}}, 1
    except Exception as exc:
        res = {"error": {"type": type(exc).__name__, "message": f"{exc}\n{traceback.format_exc()}"}}
        code = 1
    text = json.dumps(res, default=_jsonable)
    atomic_write(Path(out_file), lambda p: Path(p).write_text(text))
    return code


@contextlib.contextmanager
def _foot_threads(two: bool):
    """While the knee has a process of its own (``two``), the foot's numba kernels leave it a core; the thread
    count is restored on leaving."""
    if not two:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(before, _cores() - _knee_threads())))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def run_scenario(scenario, outdir, progress: bool = False, parallel: bool | None = None,
                 resume: bool = False) -> dict:
    """Solve ``scenario`` (a :class:`~fesolver.scenario.Scenario`) and write into ``outdir``: ``foot.vtu``,
    ``knee.vtu``, ``patellofemoral.vtu`` (with ``output.steps`` also ``foot.pvd`` / ``knee.pvd`` /
    ``patellofemoral.pvd`` series), ``scenario.json`` (the
    expanded scenario), ``summary.json`` (the chain's loads with their sources, the headline metrics of each
    sub-model, status, solver statistics and timings) and ``report.md``. Returns the summary.

    ``gait.instant = "stance_phase"`` solves ``gait.samples`` instants; the files then carry the sample
    number (``foot_03.vtu``), ``foot.pvd``/``knee.pvd`` run over the stance phase and ``stance.csv`` holds one
    row of headline numbers per sample.

    With both sub-models, two or more cores and ``parallel`` (default: the scenario's ``solver.parallel``,
    false) the knee and patellofemoral joint are solved in a second process, on half the cores, while this process
    solves the foot (the progress bar shows the foot's load steps); the results are those of a sequential run
    to round-off (another thread count sums in another order: measured 2e-8 relative on midstance's knee). On this
    2-core machine it was not faster (README, Performance): the solves already use both cores.

    Each sub-model's solve keeps a restart file in ``OUTDIR/restart/`` while it runs (see :func:`_solve`):
    ``resume`` continues an interrupted run of the same scenario into the same ``outdir`` from the last converged
    load step of each sub-model (a sub-model that had finished is solved again: its file is gone)."""
    from .chain import chain_loads, stance_phase

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    exp = json.dumps(scenario.expanded(), indent=2, default=_jsonable)
    atomic_write(outdir / "scenario.json", lambda p: Path(p).write_text(exp))
    phase = scenario["gait.instant"] == "stance_phase"
    samples = stance_phase(scenario) if phase else [chain_loads(scenario)]
    which = scenario["output.models"]
    steps = scenario["output.steps"] and not phase
    summary: dict = {"scenario": scenario.title, "source": str(scenario.path), "units": UNITS,
                     "fesolver": _version()}
    two = _use_two_processes(scenario, parallel)
    summary["processes"] = 2 if two else 1
    runs: list[dict] = [{"chain": loads.to_dict()} for loads in samples]
    knee_job = _KneeProcess(scenario, outdir, steps, resume) if two else None
    if two and progress:
        print("the knee (and patellofemoral joint) solves in a second process; the bar shows the foot",
              file=sys.stderr, flush=True)
    try:
        if which in ("both", "foot"):
            with _foot_threads(two):
                foot_parts = build_foot_models(scenario)
                for i, loads in enumerate(samples):
                    tag = f"_{i:02d}" if phase else ""
                    model, prob = foot_problem(scenario, loads.foot, *foot_parts)
                    normal = ground_normal(loads.foot.ground_tilt_deg, loads.foot.foot_pitch_deg,
                                           scenario["subject.side"])
                    part = _solve(f"foot{tag}", model, prob, outdir, steps, progress,
                                  functools.partial(foot_metrics, ground_normal=normal,
                                                    side=scenario["subject.side"]), resume)
                    part["model"] = _params(foot_parts)
                    _add_ratios(part, loads.foot.body_weight_N)
                    runs[i]["foot"] = part
        if knee_job is not None:
            if progress and knee_job.proc.poll() is None:
                print("the foot is done; waiting for the knee's process", file=sys.stderr, flush=True)
            knee = knee_job.result()
        elif which in ("both", "knee"):
            knee = _knee_parts(scenario, samples, outdir, steps, progress, phase, resume)
        else:
            knee = [{} for _ in samples]
    finally:
        if knee_job is not None:
            knee_job.close()
    for run, k in zip(runs, knee, strict=True):
        run.update(k)
    series: dict[str, list] = {name: [(loads.phase, f"{name}{f'_{i:02d}' if phase else ''}.vtu")
                                      for i, (loads, run) in enumerate(zip(samples, runs, strict=True))
                                      if name in run and "dofs" in run[name]]
                               for name in ("foot", "knee", "patellofemoral")}
    if phase:
        summary["stance"] = runs
        for name, entries in series.items():
            if entries:
                _write_pvd(outdir / f"{name}.pvd", entries, "timestep = stance phase (0 = heel strike)")
        _write_stance_csv(outdir / "stance.csv", runs)
    else:
        summary.update(runs[0])
    states = [r[k]["status"] for r in runs for k in PARTS if k in r and r[k]["status"] != "skipped"]
    summary["status"] = "ok" if all(s == "ok" for s in states) else next(s for s in states if s != "ok")
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    text = json.dumps(summary, indent=2, default=_jsonable)
    atomic_write(outdir / "summary.json", lambda p: Path(p).write_text(text))
    rep = report(summary)
    atomic_write(outdir / "report.md", lambda p: Path(p).write_text(rep))
    return summary


def _failed_attempts(sol: dict) -> str:
    n = sol.get("failed_attempts", 0)
    if not n:
        return ""
    return (f" (of which {n} cut-back attempt{'s' if n > 1 else ''}: {sol['failed_iterations']} iterations, "
            f"{sol['failed_seconds']:.1f} s)")


def _add_ratios(part: dict, bw: float) -> None:
    fas = part.get("metrics", {}).get("fascia")
    if fas is not None:
        fas["total_tension_BW"] = fas["total_tension_N"] / bw


def _plain(v) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


def _params(parts) -> dict:
    foot, insole = parts
    out = {k: v for k, v in foot.params.items() if _plain(v)}
    if insole is not None:
        out["insole"] = {k: v for k, v in insole.params.items() if _plain(v)}
    return out


def _version() -> str:
    from . import __version__

    return __version__


def _write_pvd(path: Path, entries, comment: str) -> None:
    rows = "\n".join(f'    <DataSet timestep="{t:.6g}" group="" part="0" file="{f}"/>' for t, f in entries)
    text = ('<?xml version="1.0"?>\n'
            f"<!-- fesolver scenario series; {comment}; units: mm, N, MPa -->\n"
            '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n'
            f"  <Collection>\n{rows}\n  </Collection>\n</VTKFile>\n")
    atomic_write(path, lambda p: Path(p).write_text(text))


#: the headline numbers, as (label, path in a run's summary, unit), for report.md and stance.csv
HEADLINE = (
    ("ground force", ("chain", "foot", "ground_force_N"), "N"),
    ("plantar fascia tension", ("foot", "metrics", "fascia", "total_tension_N"), "N"),
    ("plantar fascia tension / BW", ("foot", "metrics", "fascia", "total_tension_BW"), "-"),
    ("plantar fascia peak fibre stress", ("foot", "metrics", "fascia", "peak_fibre_stress_MPa"), "MPa"),
    ("plantar fascia fibre stress, 99th percentile by volume", ("foot", "metrics", "fascia", "p99_fibre_stress_MPa"),
     "MPa"),
    ("peak plantar pressure", ("foot", "metrics", "plantar", "peak_pressure_kPa"), "kPa"),
    ("peak heel pressure", ("foot", "metrics", "plantar", "peak_heel_pressure_kPa"), "kPa"),
    ("peak heel pressure, 1 cm^2 sensor", ("foot", "metrics", "plantar", "peak_heel_sensor_pressure_kPa"), "kPa"),
    ("peak forefoot pressure, 1 cm^2 sensor", ("foot", "metrics", "plantar", "peak_forefoot_sensor_pressure_kPa"),
     "kPa"),
    ("plantar contact area", ("foot", "metrics", "plantar", "contact_area_mm2"), "mm^2"),
    ("plantar centre of pressure x (foot frame)", ("foot", "metrics", "plantar", "centre_of_pressure_mm", 0), "mm"),
    ("heel-pad peak von Mises", ("foot", "metrics", "heel_pad_peak_von_mises_MPa"), "MPa"),
    ("navicular drop", ("foot", "metrics", "posture", "navicular_drop_mm"), "mm"),
    ("medial arch drop", ("foot", "metrics", "posture", "medial_arch_drop_mm"), "mm"),
    ("rearfoot eversion, calcaneus to talus", ("foot", "metrics", "posture", "rearfoot_eversion_deg"), "deg"),
    ("forefoot inversion, metatarsals to calcaneus", ("foot", "metrics", "posture", "forefoot_inversion_deg"), "deg"),
    ("tibial torque on the talar dome (+ internal)", ("foot", "metrics", "tibial_torque_Nm"), "N m"),
    ("knee compressive force", ("chain", "knee", "compressive_force_N"), "N"),
    ("medial tibial cartilage peak pressure", ("knee", "metrics", "medial", "peak_pressure_MPa"), "MPa"),
    ("lateral tibial cartilage peak pressure", ("knee", "metrics", "lateral", "peak_pressure_MPa"), "MPa"),
    ("medial contact area", ("knee", "metrics", "medial", "contact_area_mm2"), "mm^2"),
    ("lateral contact area", ("knee", "metrics", "lateral", "contact_area_mm2"), "mm^2"),
    ("medial share (contact)", ("knee", "metrics", "medial_share"), "-"),
    ("tibial rotation (+ internal)", ("chain", "knee", "tibial_rotation_deg"), "deg"),
    ("quadriceps force", ("chain", "knee", "quadriceps_force_N"), "N"),
    ("patellofemoral joint reaction", ("patellofemoral", "metrics", "joint_reaction_N"), "N"),
    ("lateral patellofemoral facet peak pressure", ("patellofemoral", "metrics", "lateral", "peak_pressure_MPa"),
     "MPa"),
    ("medial patellofemoral facet peak pressure", ("patellofemoral", "metrics", "medial", "peak_pressure_MPa"), "MPa"),
    ("lateral patellofemoral contact area", ("patellofemoral", "metrics", "lateral", "contact_area_mm2"), "mm^2"),
    ("medial patellofemoral contact area", ("patellofemoral", "metrics", "medial", "contact_area_mm2"), "mm^2"),
    ("patellofemoral lateral share (contact)", ("patellofemoral", "metrics", "lateral_share"), "-"),
)

#: the solved parts of a run, in report order
PARTS = ("foot", "knee", "patellofemoral")


def headline(run: dict) -> dict:
    """``{label [unit]: value}`` of :data:`HEADLINE` found in one run's summary (missing ones left out)."""
    out = {}
    for label, path, unit in HEADLINE:
        v = run
        for k in path:  # keys of dicts, or an index into a list (a vector's component)
            if isinstance(k, int):
                v = v[k] if isinstance(v, list) and k < len(v) else None
            else:
                v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            out[f"{label} [{unit}]"] = float(v)
    return out


def _write_stance_csv(path: Path, runs) -> None:
    import csv
    import io

    rows = [{"phase": r["chain"]["phase"], **headline(r)} for r in runs]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    atomic_write(path, lambda p: Path(p).write_text(buf.getvalue()))


def report(summary: dict) -> str:
    """The human-readable report (Markdown) of a run's summary."""
    lines = [f"# {summary['scenario']}", "", f"status: **{summary['status']}**, {summary['seconds']:.1f} s "
             f"(fesolver {summary['fesolver']}); units: mm, N, MPa (pressures also kPa)", ""]
    runs = summary.get("stance") or [summary]
    for r in runs:
        if "stance" in summary:
            lines += [f"## stance phase {r['chain']['phase']:.2f}", ""]
        c = r["chain"]
        lines.append(f"gait instant: {c['instant']}, side: {c['side']}; body weight "
                     f"{c['foot']['body_weight_N']:.0f} N")
        lines += ["", "| quantity | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4g} |" for k, v in headline(r).items()]
        for part in PARTS:
            if part in r:
                p = r[part]
                if p["status"] == "skipped":
                    lines.append(f"| {part} solve | skipped: {p['reason']} |")
                    continue
                sol = p.get("solver", {})
                lines.append(f"| {part} solve | {p['status']}, {sol.get('steps', 0)} load steps, "
                             f"{sol.get('newton_iterations', 0)} Newton iterations, {p['dofs']} DOFs, "
                             f"{p['seconds']:.1f} s{_failed_attempts(sol)} |")
                if p.get("message"):
                    lines.append(f"| {part} message | {p['message']} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"not JSON-serialisable: {type(v).__name__}")


if __name__ == "__main__":  # the knee's process of a run (see _KneeProcess)
    sys.exit(_knee_process_main(sys.argv[1], sys.argv[2]))
