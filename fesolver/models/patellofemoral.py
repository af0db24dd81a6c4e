"""Parametric patellofemoral model: rigid femoral trochlea and patella, each with its cartilage layer.

Coordinates (mm): the **patellofemoral frame** of a **right** knee at the given flexion: ``x`` anterior, along
the normal of the trochlea at the contact centre (the line of the joint reaction), ``y`` medial, ``z`` proximal
along the patella's long axis. The origin is the sulcus (deepest point of the groove) at the contact centre,
landmark ``trochlea_reference``. The femur-fixed frame (femoral shaft along its ``z``) is this frame turned by
half the flexion about ``y``: see *Pose* below.

Geometry (generic and simplified, not a subject):

* **Trochlea**: a pulley, i.e. a surface of revolution about the medial-lateral axis through
  ``(-trochlear_radius, y, 0)``. Its profile in every meridian plane is the groove
  ``r(y) = trochlear_radius + f(y)`` with ``f(y) = tan(a) (sqrt(y^2 + c^2) - c)``: a hyperbola whose asymptotes are
  the two facet lines, inclined ``a = lateral_facet_inclination_deg`` on the lateral side (``y < 0``) and
  ``180 - sulcus_angle_deg - a`` on the medial side, rounded at the sulcus by ``c = sulcus_rounding``. The
  articular cartilage (thickness ``trochlear_cartilage_thickness`` along the radius) spans ``-lateral_facet_width``
  to ``medial_facet_width`` across and a sagittal arc from 25 deg proximal to 75 deg distal of the femur's
  anterior-most point (femur frame), bonded to a rigid bone layer (region ``femur``).
* **Patella**: prismatic along ``z`` (flat in the sagittal plane, ``patella_length`` long). Its articular
  profile is the groove's plus a parabolic clearance per facet, ``x = f(y) + (y - y_c)^2 / (2 conformity_radius)``,
  zero at the middle of each facet (``y_c = -lateral_facet_width / 2`` and ``medial_facet_width / 2``, where the
  two touch); the two parabolas meet in the median ridge midway between the contact centres, which stands
  ``params["ridge_gap_mm"]`` off the groove. Cartilage thickness ``patellar_cartilage_thickness`` along ``x``,
  bonded to a rigid bone layer (region ``patella``). Each facet contact is thus convex on convex (elliptical,
  Hertz-like): relative sagittal radius about the local trochlear radius over the cosine of the facet
  inclination, relative transverse radius about ``conformity_radius``.

Pose: with the quadriceps along the femoral shaft and the patellar tendon along the tibial shaft, pulling with
equal tension over the patella (a frictionless pulley), the joint reaction bisects the two lines and its line
turns distally by half the flexion (see :func:`patella_with_quadriceps_load`). The model is built in the frame of
that line: the femur is turned by ``flexion_deg / 2`` about ``y`` so that the trochlear point under the joint
reaction lies at the origin, and the contact centre on the patella moves from the distal to the proximal part
of the patella as flexion grows (``u = 0.2 + 0.6 flexion / 90`` of its length from the distal end), the pattern
described by Goodfellow, Hungerford & Zindel (1976) J Bone Joint Surg Br 58:287 (qualitative; **unverified**
here). The patella is then moved posteriorly by a small interference (a few hundredths of a mm) so that both
facet contacts are active from the first Newton iteration (a free rigid body pushed by a force before it
touches is singular). Because the trochlea is a surface of revolution, flexion moves the contact over the
cartilage but does not change the contact geometry (real trochleae deepen distally).

Mesh: structured hex8 with the helpers of :mod:`fesolver.models.knee` (graded grids, shared bone-cartilage
nodes, quad4 contact surfaces, grid nodes at both facet contact centres, at the sulcus and at the ridge);
a mirror-symmetric mesh for symmetric parameters.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np

from ..contact import SurfaceContact
from ..errors import ModelError
from ..materials import LinearElastic
from ..mesh import check_mesh
from ..rigid import RIGID_DOFS, RigidBody
from . import MESH_LEVELS, AnatomicalModel
from .knee import CARTILAGE_E, KNEE_LEVELS, _Builder, _check_number, _graded, _quads_k, cartilage_material

__all__ = ["build_patellofemoral", "patella_with_quadriceps_load", "pf_reaction", "PF_LEVELS",
           "PF_PARAMETER_RANGES", "trochlear_profile", "trochlear_cartilage_volume"]

log = logging.getLogger(__name__)

#: mesh levels (the knee's): contact element size h [mm] within ``fine`` [mm] of the contact centres, grading
#: growth, cartilage element layers
PF_LEVELS = {k: {n: v[n] for n in ("h", "fine", "growth", "layers")} for k, v in KNEE_LEVELS.items()}

#: parameter -> (low, high), inclusive
PF_PARAMETER_RANGES = {
    "flexion_deg": (0.0, 90.0),
    "sulcus_angle_deg": (110.0, 170.0),
    "lateral_facet_inclination_deg": (5.0, 60.0),
    "lateral_facet_width": (8.0, 35.0),
    "medial_facet_width": (8.0, 35.0),
    "trochlear_radius": (12.0, 60.0),
    "trochlear_cartilage_thickness": (0.5, 6.0),
    "patellar_cartilage_thickness": (0.5, 7.0),
    "conformity_radius": (20.0, 500.0),
    "patella_length": (15.0, 50.0),
    "sulcus_rounding": (0.5, 8.0),
    "bone_thickness": (0.5, 10.0),
}

# sagittal extent of the trochlear cartilage in the femur frame, from its anterior-most point [deg]
TROCHLEA_PROXIMAL_DEG, TROCHLEA_DISTAL_DEG = 25.0, 75.0


def _check(name: str, value) -> None:
    _check_number("build_patellofemoral", name, value, *PF_PARAMETER_RANGES[name])


def trochlear_profile(y, inclination_lateral_deg: float, inclination_medial_deg: float, rounding: float):
    """Height of the trochlear groove above the sulcus, ``f(y)`` [mm], and its slope ``f'(y)``.

    ``f(y) = tan(a) (sqrt(y^2 + c^2) - c)`` with ``a`` the lateral inclination for ``y < 0`` (lateral) and the
    medial one for ``y >= 0``; ``c = rounding`` [mm] (the sulcus's radius of curvature is ``c / tan(a)``).
    """
    y = np.asarray(y, dtype=float)
    ta = np.where(y < 0.0, math.tan(math.radians(inclination_lateral_deg)),
                  math.tan(math.radians(inclination_medial_deg)))
    s = np.sqrt(y**2 + rounding**2)
    return ta * (s - rounding), ta * y / s


def trochlear_cartilage_volume(params: dict) -> float:
    """Exact volume [mm^3] of the trochlear cartilage layer of a model built with ``params``.

    The layer spans the sagittal angle ``Theta`` (radians) between the radii ``r(y) - t`` and ``r(y)``:
    ``V = Theta * integral over y of (t r(y) - t^2 / 2) dy`` with the closed form of ``integral f dy``.
    """
    t = float(params["trochlear_cartilage_thickness"])
    c = float(params["sulcus_rounding"])
    R = float(params["trochlear_radius"])
    a_l = math.radians(params["lateral_facet_inclination_deg"])
    a_m = math.radians(180.0 - params["sulcus_angle_deg"] - params["lateral_facet_inclination_deg"])
    W_l, W_m = float(params["lateral_facet_width"]), float(params["medial_facet_width"])

    def F(w):  # integral of (sqrt(y^2 + c^2) - c) dy from 0 to w
        return 0.5 * (w * math.sqrt(w * w + c * c) + c * c * math.asinh(w / c)) - c * w

    int_f = math.tan(a_l) * F(W_l) + math.tan(a_m) * F(W_m)
    theta = math.radians(TROCHLEA_PROXIMAL_DEG + TROCHLEA_DISTAL_DEG)
    return theta * (t * (R * (W_l + W_m) + int_f) - 0.5 * t * t * (W_l + W_m))


def pf_reaction(quadriceps_force_N: float, deviation_deg: float, tendon_ratio: float = 1.0,
                q_angle_deg: float = 0.0) -> np.ndarray:
    """Force [N] of the quadriceps and the patellar tendon on the patella, in the patellofemoral frame.

    The 2-D lever (pulley) relation: the quadriceps pulls along ``q``, the patellar tendon along ``t`` with the
    force ``tendon_ratio * F_q``; the two lines are symmetric about the frame's ``x`` axis and turn the extensor
    mechanism by ``deviation_deg`` over the patella (180 deg minus the angle between them):
    ``q = (-sin(d/2), 0, cos(d/2))``, ``t = (-sin(d/2), 0, -cos(d/2))``, so that with ``tendon_ratio = 1``
    the force presses the patella onto the trochlea with ``2 F_q sin(d/2)`` along ``-x``. ``q_angle_deg`` turns
    the quadriceps line laterally (towards ``-y``) about ``x`` by the Q angle (frontal plane).
    """
    d = math.radians(deviation_deg) / 2.0
    qa = math.radians(q_angle_deg)
    q = np.array([-math.sin(d), -math.cos(d) * math.sin(qa), math.cos(d) * math.cos(qa)])
    t = np.array([-math.sin(d), 0.0, -math.cos(d)])
    return float(quadriceps_force_N) * (q + float(tendon_ratio) * t)


# ----------------------------------------------------------------------------------------------
# the builder
# ----------------------------------------------------------------------------------------------


def build_patellofemoral(flexion_deg: float = 60.0, sulcus_angle_deg: float = 138.0,
                         trochlear_cartilage_thickness: float = 2.5, patellar_cartilage_thickness: float = 3.5,
                         mesh: str = "coarse", *, lateral_facet_inclination_deg: float = 23.0,
                         lateral_facet_width: float = 22.0, medial_facet_width: float = 17.0,
                         trochlear_radius: float = 22.0, conformity_radius: float = 40.0,
                         patella_length: float = 30.0, sulcus_rounding: float = 2.0,
                         bone_thickness: float = 2.0, augmentation: bool = False) -> AnatomicalModel:
    """Build the parametric patellofemoral model (right knee).

    Parameters
    ----------
    flexion_deg : float, degrees
        Knee flexion, 0-90: positions the patella in the groove (the femur turns by half of it in the model's
        frame; the contact centre moves proximally on the patella).
    sulcus_angle_deg : float, degrees
        Angle between the two facet lines of the groove, 110-170. Default 138 deg: the mean sulcus angle of
        normal knees on axial radiographs, Merchant et al. (1974) J Bone Joint Surg Am 56:1391 (138 +- 6 deg;
        **unverified**, from memory).
    trochlear_cartilage_thickness : float, mm
        Along the trochlear radius, 0.5-6 (default 2.5 mm, the knee's; generic).
    patellar_cartilage_thickness : float, mm
        Along ``x``, 0.5-7. Default 3.5 mm: patellar cartilage is the thickest in the body, about 3-4 mm mean
        and up to 5-6 mm at the ridge (Ateshian et al. 1991, J Biomech 24:761; Cohen et al. 1999, Osteoarthritis
        Cartilage 7:95; **unverified**, from memory).
    mesh : {"coarse", "medium", "fine"}
        Element size at the contact centres 2.0 / 1.0 / 0.6 mm, 2 / 3 / 4 cartilage layers (the knee's levels).
    lateral_facet_inclination_deg : float, degrees
        Inclination of the lateral facet line to the medial-lateral axis, 5-60; the medial facet's is
        ``180 - sulcus_angle_deg - lateral_facet_inclination_deg`` and must be 5-60 too. Default 23 deg (medial
        19 deg): the lateral facet steeper, a generic **unverified** choice.
    lateral_facet_width, medial_facet_width : float, mm
        Width of each facet from the sulcus, 8-35 (defaults 22 / 17 mm: the lateral facet larger; generic).
    trochlear_radius : float, mm
        Sagittal radius of the sulcus, 12-60 (default 22 mm; generic, **unverified**).
    conformity_radius : float, mm
        Radius of the patella's parabolic clearance over each trochlear facet (the relative transverse radius of
        the facet contact), 20-500; larger: more conforming (default 40 mm, generic, **unverified**).
    patella_length : float, mm
        Proximal-distal length of the patella's articular surface, 15-50 (default 30 mm, generic).
    sulcus_rounding : float, mm
        ``c`` of the groove profile, 0.5-8 (the sulcus's radius of curvature is ``c / tan(inclination)``).
    bone_thickness : float, mm
        Thickness of the rigid bone layers (they only carry the rigid bodies).
    augmentation : bool
        Uzawa (augmented-Lagrangian) updates of the contacts. Off by default, unlike the knee: with them,
        Newton stalls at a relative residual of about 1e-7 (tolerance 1e-8) in most coarse solves between 250 and
        1000 N; the pure penalty (the knee's ``10 E / h``) converges in about 10 iterations and leaves a
        penetration of ``p / penalty`` (0.07 mm at 3.6 MPa on the coarse mesh), reported as
        ``max_penetration_mm``.

    Returns
    -------
    AnatomicalModel
        Regions ``femur``, ``patella`` (rigid bodies of the same names), ``trochlear_cartilage``,
        ``patellar_cartilage``; facet sets ``trochlear_cartilage_surface`` (split at the sulcus into
        ``trochlear_cartilage_lateral_surface`` and ``trochlear_cartilage_medial_surface``) and
        ``patellar_cartilage_surface``; landmarks ``trochlea_reference`` (the sulcus under the contact centre, the
        origin), ``patella_reference`` (the patella's reference point: the back of its bone over the ridge, at the
        contact level), ``trochlear_axis_centre``, ``lateral_facet_contact``, ``medial_facet_contact``. The
        femur is fixed in all DOFs; the patella is free in ``x`` and ``y`` (its other DOFs held) and unloaded
        (use :func:`patella_with_quadriceps_load`). Contacts ``patellofemoral_lateral`` and
        ``patellofemoral_medial`` (slave: the trochlear facet, master: the patella).
    """
    params = dict(flexion_deg=flexion_deg, sulcus_angle_deg=sulcus_angle_deg,
                  trochlear_cartilage_thickness=trochlear_cartilage_thickness,
                  patellar_cartilage_thickness=patellar_cartilage_thickness,
                  lateral_facet_inclination_deg=lateral_facet_inclination_deg,
                  lateral_facet_width=lateral_facet_width, medial_facet_width=medial_facet_width,
                  trochlear_radius=trochlear_radius, conformity_radius=conformity_radius,
                  patella_length=patella_length, sulcus_rounding=sulcus_rounding, bone_thickness=bone_thickness)
    for k, v in params.items():
        _check(k, v)
    if not isinstance(augmentation, (bool, np.bool_)):
        raise ValueError(f"build_patellofemoral: augmentation must be True or False, got {augmentation!r}")
    if mesh not in MESH_LEVELS:
        raise ValueError(f"build_patellofemoral: mesh must be one of {list(MESH_LEVELS)}, got {mesh!r}")
    incl = {"lateral": float(lateral_facet_inclination_deg),
            "medial": 180.0 - float(sulcus_angle_deg) - float(lateral_facet_inclination_deg)}
    lo, hi = PF_PARAMETER_RANGES["lateral_facet_inclination_deg"]
    if not (lo <= incl["medial"] <= hi):
        raise ValueError(f"build_patellofemoral: the medial facet inclination 180 - sulcus_angle_deg - "
                         f"lateral_facet_inclination_deg must be between {lo} and {hi} deg, got {incl['medial']:.4g} "
                         f"(sulcus_angle_deg={sulcus_angle_deg!r}, lateral_facet_inclination_deg="
                         f"{lateral_facet_inclination_deg!r})")
    if trochlear_cartilage_thickness + bone_thickness >= 0.8 * trochlear_radius:
        raise ValueError(f"build_patellofemoral: trochlear_cartilage_thickness + bone_thickness must be below 0.8 x "
                         f"trochlear_radius = {0.8 * trochlear_radius:.4g} mm, got "
                         f"{trochlear_cartilage_thickness + bone_thickness!r}")
    params.update(mesh=mesh, augmentation=bool(augmentation))
    lv = PF_LEVELS[mesh]
    h, growth, nlay, fine = lv["h"], lv["growth"], lv["layers"], lv["fine"]
    t_tr, t_pa, tb = float(trochlear_cartilage_thickness), float(patellar_cartilage_thickness), float(bone_thickness)
    R, Rt, c = float(trochlear_radius), float(conformity_radius), float(sulcus_rounding)
    W = {"lateral": float(lateral_facet_width), "medial": float(medial_facet_width)}
    side = {"lateral": -1.0, "medial": 1.0}

    def prof(y):
        return trochlear_profile(y, incl["lateral"], incl["medial"], c)

    # --- patellar profile: the groove plus a parabolic clearance per facet, zero (touching) at the middle of
    # each facet, ``g = (y - y_c)^2 / (2 Rt)``; the two parabolas meet in the median ridge midway between the
    # contact centres
    yc = {s: side[s] * W[s] / 2.0 for s in W}
    y_r = 0.5 * (yc["lateral"] + yc["medial"])
    ridge_gap = (y_r - yc["lateral"]) ** 2 / (2.0 * Rt)
    if ridge_gap < 0.2:
        raise ModelError(f"build_patellofemoral: the patellar ridge stands {ridge_gap:.3f} mm off the groove "
                         f"(need 0.2 mm): make conformity_radius smaller or the facets wider")

    def patella_profile(y):
        y = np.asarray(y, dtype=float)
        g = np.where(y <= y_r, (y - yc["lateral"]) ** 2, (y - yc["medial"]) ** 2) / (2.0 * Rt)
        return prof(y)[0] + g

    # interference: the weighted gap of the trochlear node under each contact centre (bilinear hat of size h on
    # the relative curvature, plus the chord sag) must be negative at the start
    R_min = min(R, Rt)
    interference = 1.25 * (h**2 / (6.0 * R_min) + h**2 / (8.0 * R_min)) + 1e-4

    # --- the grids across (y): nodes at the facet edges, the contact centres, the sulcus / the ridge
    ys_tr = np.concatenate([_graded(-W["lateral"], yc["lateral"], 0.0, h, fine, growth)[:-1],
                            _graded(0.0, yc["medial"], W["medial"], h, fine, growth)])
    ys_pa = np.concatenate([_graded(-W["lateral"], yc["lateral"], y_r, h, fine, growth)[:-1],
                            _graded(y_r, yc["medial"], W["medial"], h, fine, growth)])
    j0 = int(np.flatnonzero(ys_tr == 0.0)[0])

    B = _Builder()
    # --- trochlea: i -> sagittal angle psi (proximal positive, 0 at the contact), j -> y, k -> radius (bone in)
    th_c = math.radians(flexion_deg) / 2.0
    psi_lo, psi_hi = th_c - math.radians(TROCHLEA_DISTAL_DEG), th_c + math.radians(TROCHLEA_PROXIMAL_DEG)
    psis = _graded(psi_lo, 0.0, psi_hi, h / R, fine / R, growth)
    PS, Y = np.meshgrid(psis, ys_tr, indexing="ij")
    r_art = R + prof(Y)[0]
    rk = np.concatenate([[-t_tr - tb], -t_tr + t_tr * np.arange(nlay + 1) / nlay])  # radial offsets
    r = r_art[..., None] + rk
    P = np.empty(PS.shape + (rk.size, 3))
    P[..., 0] = -R + r * np.cos(PS)[..., None]
    P[..., 1] = Y[..., None]
    P[..., 2] = r * np.sin(PS)[..., None]
    off = B.add_grid(P, lambda k, i, j: np.full(i.shape, "femur" if k == 0 else "trochlear_cartilage", dtype=object))
    quads = _quads_k(P.shape[:3], off, rk.size - 1).reshape(psis.size - 1, ys_tr.size - 1, 4)
    B.facets["trochlear_cartilage_lateral_surface"] = [quads[:, :j0].reshape(-1, 4)]
    B.facets["trochlear_cartilage_medial_surface"] = [quads[:, j0:].reshape(-1, 4)]
    B.facets["trochlear_cartilage_surface"] = [quads.reshape(-1, 4)]

    # --- patella: i -> z, j -> y, k -> x (bone at the back, k = 0), moved posteriorly by the interference
    u = 0.2 + 0.6 * float(flexion_deg) / 90.0
    L = float(patella_length)
    zs = _graded(-u * L, 0.0, (1.0 - u) * L, h, fine, growth)
    Z, Y = np.meshgrid(zs, ys_pa, indexing="ij")
    x_art = patella_profile(Y) - interference
    xk = np.concatenate([[t_pa + tb], t_pa - t_pa * np.arange(nlay + 1) / nlay])
    P = np.empty(Z.shape + (xk.size, 3))
    P[..., 0] = x_art[..., None] + xk
    P[..., 1] = Y[..., None]
    P[..., 2] = Z[..., None]
    off = B.add_grid(P, lambda k, i, j: np.full(i.shape, "patella" if k == 0 else "patellar_cartilage", dtype=object))
    B.facets["patellar_cartilage_surface"] = [_quads_k(P.shape[:3], off, xk.size - 1)]

    m = B.mesh()
    m.source = "patellofemoral"
    check_mesh(m)

    # --- materials, rigid bodies, contacts
    cart = cartilage_material()
    # the bones are rigid: their material is ignored, but the default contact penalty scales with the largest
    # modulus of all materials, so give them the cartilage's (as the knee does)
    materials = {"femur": LinearElastic(CARTILAGE_E, 0.3, name="femur (rigid)"),
                 "patella": LinearElastic(CARTILAGE_E, 0.3, name="patella (rigid)"),
                 "trochlear_cartilage": replace(cart, name="trochlear_cartilage"),
                 "patellar_cartilage": replace(cart, name="patellar_cartilage")}
    penalty = 10.0 * CARTILAGE_E / h  # the knee's rule
    contact_opts = dict(penalty=penalty, search_radius=max(2.0 * h, 2.5), subdivision=1,
                        augmentation=bool(augmentation))
    contacts = [SurfaceContact(slave=f"trochlear_cartilage_{s}_surface", master="patellar_cartilage_surface",
                               name=f"patellofemoral_{s}", **contact_opts) for s in ("lateral", "medial")]
    p_ref = np.array([float(patella_profile(y_r)) - interference + t_pa + tb, y_r, 0.0])
    rigid = [RigidBody("femur", reference=(0.0, 0.0, 0.0), prescribed={k: 0.0 for k in range(6)}, name="femur"),
             RigidBody("patella", reference=tuple(float(v) for v in p_ref),
                       prescribed={k: 0.0 for k in (2, 3, 4, 5)}, name="patella")]
    # the femoral shaft (femur frame +z) in the model's frame: turned by flexion / 2 about y
    shaft = np.array([math.sin(th_c), 0.0, math.cos(th_c)])
    landmarks = {
        "trochlea_reference": np.zeros(3),
        "patella_reference": p_ref,
        "trochlear_axis_centre": np.array([-R, 0.0, 0.0]),
        "lateral_facet_contact": np.array([float(prof(yc["lateral"])[0]), yc["lateral"], 0.0]),
        "medial_facet_contact": np.array([float(prof(yc["medial"])[0]), yc["medial"], 0.0]),
    }
    slope = {s: math.degrees(math.atan(abs(float(prof(yc[s])[1])))) for s in W}
    params.update(medial_facet_inclination_deg=incl["medial"], interference_mm=interference, ridge_gap_mm=ridge_gap,
                  ridge_y_mm=y_r, element_size_mm=h, patella_contact_fraction=u,
                  contact_inclination_deg=slope, femoral_shaft_direction=shaft.tolist())
    log.info("patellofemoral model: %s, ridge gap %.3f mm, interference %.4f mm", m.summary(), ridge_gap,
             interference)
    return AnatomicalModel(name="patellofemoral", mesh=m, materials=materials, rigid_bodies=rigid,
                           contacts=contacts, landmarks=landmarks, params=params)


def patella_with_quadriceps_load(model: AnatomicalModel, quadriceps_force_N: float,
                                 flexion_deg: float | None = None, *, deviation_deg: float | None = None,
                                 tendon_ratio: float = 1.0, q_angle_deg: float = 0.0, free=("x", "y"),
                                 curve=None) -> AnatomicalModel:
    """The patellofemoral model with the patella pulled by the quadriceps and the patellar tendon.

    The quadriceps force ``quadriceps_force_N`` [N] and the tendon force ``tendon_ratio`` times it act along
    the lines of :func:`pf_reaction`; their sum is applied at ``patella_reference``. ``deviation_deg`` (the angle
    by which the extensor mechanism turns over the patella) defaults to the flexion: the quadriceps along the
    femoral shaft and the tendon along the tibial shaft, so that with ``tendon_ratio = 1`` the patella is pressed
    onto the trochlea with ``2 F_q sin(flexion / 2)`` (``F_q`` at 60 deg, ``1.41 F_q`` at 90 deg, nothing at
    0 deg). ``free`` lists the patella's DOFs left free (of ``x y z rx ry rz``; default ``x`` and ``y``, so that
    it settles in the groove); the held ones take the rest of the force (e.g. the ``z`` part when
    ``tendon_ratio != 1``). ``flexion_deg``, if given, must be the model's. The model is not changed; its
    contacts are copied fresh, and ``params["pf_reaction_N"]`` holds the applied force.
    """
    fl = float(model.params["flexion_deg"])
    if flexion_deg is not None and abs(float(flexion_deg) - fl) > 1e-9:
        raise ValueError(f"patella_with_quadriceps_load: the model was built at flexion_deg={fl}, got "
                         f"flexion_deg={flexion_deg!r}; build the model at that flexion")
    checks = {"quadriceps_force_N": (quadriceps_force_N, 0.0, 1.0e5), "tendon_ratio": (tendon_ratio, 0.0, 3.0),
              "q_angle_deg": (q_angle_deg, -30.0, 30.0)}
    if deviation_deg is not None:
        checks["deviation_deg"] = (deviation_deg, 0.0, 180.0)
    for name, (v, lo, hi) in checks.items():
        if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool) \
                or not math.isfinite(float(v)) or not (lo <= v <= hi):
            raise ValueError(f"patella_with_quadriceps_load: {name} must be a number between {lo} and {hi}, "
                             f"got {v!r}")
    bad = [d for d in free if d not in RIGID_DOFS]
    if bad:
        raise ValueError(f"patella_with_quadriceps_load: free DOFs must be among {list(RIGID_DOFS)}, got {bad}")
    dev = fl if deviation_deg is None else float(deviation_deg)
    force = pf_reaction(quadriceps_force_N, dev, tendon_ratio, q_angle_deg)
    if "x" in free and force[0] >= 0.0:
        raise ValueError(f"patella_with_quadriceps_load: the load does not press the patella onto the trochlea "
                         f"(x force {force[0]:.4g} N at deviation {dev} deg); a free patella would lift off")
    bodies = []
    for b in model.rigid_bodies:
        if b.name == "patella":
            kw = dict(prescribed={RIGID_DOFS[d]: 0.0 for d in RIGID_DOFS if d not in free},
                      force=tuple(float(v) for v in force))
            if curve is not None:
                kw["curve"] = curve
            b = replace(b, **kw)
        bodies.append(b)
    params = {**model.params, "quadriceps_force_N": float(quadriceps_force_N), "deviation_deg": dev,
              "tendon_ratio": float(tendon_ratio), "q_angle_deg": float(q_angle_deg), "pf_reaction_N": force.tolist()}
    return replace(model, rigid_bodies=bodies, contacts=[replace(c) for c in model.contacts], params=params)
