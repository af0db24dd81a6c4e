"""The parametric foot: a generic adult right (or left) foot meshed with gmsh from a few parameters.

Geometry (mm, the convention of :mod:`fesolver.models`: ``x`` anterior with the heel at ``x = 0``, ``y``
medial, ``z`` up, lowest plantar point on ``z = 0``):

* **Envelope** (soft tissue): the plan shape :func:`~fesolver.models.outline.plantar_outline` extruded up and
  cut by a dorsum profile ``z = h(x)`` (about 0.27 L at the heel and ankle, 0.07 L at the toe tip); the
  plantar surface is the plane ``z = 0`` with the medial midfoot lifted by an ellipsoidal arch cut whose
  height at the medial border is ``arch_height``.
* **Bones**, simple primitives, each its own region: ``calcaneus`` (ellipsoid pitched 15 degrees, anterior end
  up; its lowest point, the plantar tuberosity, ``heel_pad_thickness`` above the ground), ``talus``
  (ellipsoid whose top is cut by the dorsum: the exposed ``talar_dome`` is the tibial load site),
  ``midfoot`` (navicular, cuboid and cuneiforms lumped in one ellipsoid), ``metatarsal1`` .. ``metatarsal5``
  (an ellipsoidal shaft plus a spherical head), ``phalanges`` (one flat ellipsoid along the
  metatarsal-head line). The arch height raises the midfoot and the metatarsal bases. Neighbouring
  bones are overlapped by design and the later one is cut by the earlier one grown by ``joint_gap``, so
  every joint is a layer of uniform thickness.
* **Regions** of the soft tissue: ``joints`` (elements whose centroid lies within ``joint_gap + h/2`` of two
  different bones: cartilage/ligament stand-in, so the arch can flatten), ``heel_pad`` (a volume of its own
  in the geometry, so its boundary is the same surface at every mesh level: the heel's soft tissue behind a
  plane a quarter of the calcaneus's length in front of its centre that lies under the bone, within 0.92 of
  its plan shadow, or less than 0.9 ``heel_pad_thickness`` above the ground), ``soft_tissue`` (the rest).
* **Plantar fascia**: ``fascia="solid"``: five thin bands (``fascia_thickness``), regions ``fascia_ray1``
  .. ``fascia_ray5``, each a straight strip from the medial calcaneal tubercle to the plantar side of a
  metatarsal head, bonded to both bones (its top face overlaps them by 1 mm); each ray's material has the
  fibre direction origin -> insertion. ``fascia="truss"``: five straight chains of tension-only line2
  elements embedded in the soft-tissue mesh (line sets ``fascia_band1`` .. ``fascia_band5`` and
  ``fascia``), from a calcaneus node to a metatarsal-head node.

Named sets: node sets ``talar_dome``, ``achilles_insertion``, ``fascia_origin``, ``fascia_insertions``,
``fascia_insertion1..5`` and one per region (its nodes); facet sets ``plantar_skin`` (downward-facing
exterior soft-tissue faces, outward-ordered) and ``achilles_insertion`` (the exposed posterior calcaneus) and
``talar_dome``. Landmarks (mm): ``talar_dome``, ``achilles_insertion``, ``calcaneal_tubercle``,
``fascia_origin``, ``metatarsal_head1..5``, ``fascia_insertion1..5``.

Materials (see ``docs/materials.md`` and ``docs/models.md``): bones E = 7300 MPa, nu = 0.3 (Cheung et al.
2005) as an uncoupled neo-Hookean (Mooney-Rivlin with c2 = 0, same small-strain moduli), so that every
region is an uncoupled material and the tet10 mean-dilatation formulation can be used; joints E = 1 MPa,
nu = 0.4 (cartilage as commonly quoted from Cheung et al. 2005, unverified); heel pad Ogden N = 1
(Chokhandre et al. 2012); soft tissue second-order polynomial (Cheung et al. 2005, unverified); fascia
trans-iso Mooney-Rivlin with the MCL toe region (Gardiner & Weiss 2003, unverified) and c5 = 350 MPa (the
fascia's modulus, Cheung et al. 2005, unverified); truss bands linear tension-only E = 350 MPa.

>>> from fesolver.models.foot import FOOT_LEVELS
>>> sorted(FOOT_LEVELS)
['coarse', 'fine', 'medium']
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from ..elements import LINE2, TET4, TET10, TRI3, TRI6
from ..elements.truss import TrussMaterial
from ..errors import ModelError
from ..materials.hyperelastic import LinearGrading, Mixture, MooneyRivlin, Ogden, Polynomial2, TransIsoMooneyRivlin
from ..mesh import Mesh, SolidBlock, check_mesh
from . import MESH_LEVELS, AnatomicalModel
from .outline import plantar_outline, width_at

__all__ = ["build_foot", "fascia_tension", "foot_materials", "FOOT_LEVELS", "PARAMETER_RANGES", "BONES", "FASCIA_RAYS"]

log = logging.getLogger(__name__)

#: the heel pad (see ``_occ_heel_pad``): its side wall under the calcaneus is the bone's plan shadow scaled by
#: ``HEEL_PAD_SHADOW``; beside it the pad reaches ``HEEL_PAD_SLAB * heel_pad_thickness`` above the ground
HEEL_PAD_SHADOW = 0.92
HEEL_PAD_SLAB = 0.9

#: characteristic element sizes [mm] per mesh level: ``size`` in the bulk of the soft tissue, ``near`` on
#: the bones and the fascia (and within ``2 * size`` of them); ``order`` 1 = tet4, 2 = tet10
FOOT_LEVELS: dict[str, dict[str, float]] = {
    "coarse": {"size": 12.0, "near": 6.0, "order": 1},
    "medium": {"size": 8.0, "near": 4.0, "order": 2},
    "fine": {"size": 5.0, "near": 2.5, "order": 2},
}

#: allowed parameter ranges (inclusive) [mm, except heel_refinement: a fraction of the bulk element size];
#: arch_height is the lift of the medial midfoot plantar skin
PARAMETER_RANGES: dict[str, tuple[float, float]] = {
    "length": (200.0, 320.0),
    "arch_height": (0.0, 30.0),
    "heel_pad_thickness": (8.0, 30.0),
    "joint_gap": (1.0, 6.0),
    "fascia_thickness": (1.0, 5.0),
    "heel_pad_grading": (0.0, 40.0),
    "heel_refinement": (0.25, 1.0),
}

BONES = ("calcaneus", "talus", "midfoot", "metatarsal1", "metatarsal2", "metatarsal3", "metatarsal4",
         "metatarsal5", "phalanges")
FASCIA_RAYS = tuple(f"fascia_ray{k}" for k in range(1, 6))

#: total cross-section area of the plantar fascia [mm^2] for the truss bands (shared equally by five
#: bands): 58.6 mm^2 as commonly quoted for foot FE models (Cheung et al. 2004/2005 after Wright & Rennels
#: 1964; unverified), consistent with a 15-20 mm wide, 2-4 mm thick aponeurosis
FASCIA_AREA = 58.6

#: the fascia's "robust peak" fibre stress: the stress exceeded in this fraction of the fascia's volume (the
#: 99th percentile by volume, Speelman et al. 2008, Eur J Vasc Endovasc Surg 36:668, for wall stress). The largest
#: element value sits at the calcaneal attachment, a stress concentration at the junction with the bone that
#: refinement sharpens (+12 % coarse -> medium, +13 % medium -> fine, docs/validation.md "Mesh convergence");
#: the 99th percentile changes by about 1 % between the levels.
FASCIA_PEAK_QUANTILE = 0.99

_PITCH_CALCANEUS = math.radians(15.0)  # calcaneal pitch (anterior end up), a typical value


# ----------------------------------------------------------------------------------------------
# Materials
# ----------------------------------------------------------------------------------------------


def foot_materials(fibres: dict[str, np.ndarray] | None = None, fascia: str = "solid") -> dict:
    """Region -> material of the foot (MPa), see the module docstring for the sources.

    Parameters
    ----------
    fibres : dict, optional
        ``fascia_rayK`` -> unit fibre direction (3,) (solid fascia only).
    fascia : {"solid", "truss"}
    """

    def bone(name):
        return _uncoupled_elastic(7300.0, 0.3, name)

    mats = {b: bone(b) for b in BONES}
    mats["joints"] = _uncoupled_elastic(1.0, 0.4, "joints")
    # Chokhandre et al. (2012): mu = 0.001084 MPa, alpha = 9.78, nu_eff = 0.475 -> K = 0.0213 MPa
    mats["heel_pad"] = Ogden(mu=(0.001084,), alpha=(9.78,), K=0.0213, name="heel_pad")
    # Cheung et al. (2005) encapsulated soft tissue, second-order polynomial (coefficients unverified)
    mats["soft_tissue"] = Polynomial2(C10=0.08556, C01=-0.05841, C20=0.039, C11=-0.02319, C02=0.00851,
                                      D1=3.65273, name="soft_tissue")
    if fascia == "solid":
        for k, ray in enumerate(FASCIA_RAYS):
            a0 = (1.0, 0.0, 0.0) if fibres is None else tuple(float(v) for v in fibres[ray])
            # matrix and toe region: human MCL (Gardiner & Weiss 2003, unverified), k = 100 c1;
            # c5 = 350 MPa: the fascia's linear modulus (Cheung et al. 2005, unverified)
            mats[ray] = TransIsoMooneyRivlin(c1=1.44, c2=0.0, k=144.0, c3=0.57, c4=48.0, c5=350.0, lam_max=1.062,
                                             fibre=a0, name=f"fascia_ray{k + 1}")
    return mats


def fascia_truss_material(area: float = FASCIA_AREA / 5.0, name: str = "fascia") -> TrussMaterial:
    """One fascia band: linear tension-only, E = 350 MPa (Cheung et al. 2005, unverified), ``area`` mm^2."""
    return TrussMaterial("linear", E=350.0, area=area, tension_only=True, name=name)


def _uncoupled_elastic(E: float, nu: float, name: str) -> MooneyRivlin:
    """Uncoupled neo-Hookean with the small-strain moduli (E [MPa], nu)."""
    mu = E / (2.0 * (1.0 + nu))
    K = E / (3.0 * (1.0 - 2.0 * nu))
    return MooneyRivlin(c1=mu / 2.0, c2=0.0, k=K, name=name)


# ----------------------------------------------------------------------------------------------
# Layout: bone primitives and fascia paths from the parameters (pure NumPy, no gmsh)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ellipsoid:
    centre: np.ndarray  # (3,) mm
    semi: np.ndarray  # (3,) mm, along the columns of R
    R: np.ndarray  # (3, 3) local axes as columns

    def grown(self, d: float) -> _Ellipsoid:
        return _Ellipsoid(self.centre, self.semi + d, self.R)

    def inside(self, p: np.ndarray, grow: float = 0.0) -> np.ndarray:
        q = (np.atleast_2d(p) - self.centre) @ self.R / (self.semi + grow)
        return np.einsum("ij,ij->i", q, q) <= 1.0

    def lowest(self, toward: np.ndarray | None = None) -> np.ndarray:
        """The point of the surface with the lowest z; ``toward`` (local unit vector) tilts it."""
        r = self.R[2] * self.semi  # z-row of R diag(semi)
        u = -r / np.linalg.norm(r)
        if toward is not None:
            u = u + np.asarray(toward, dtype=float)
            u /= np.linalg.norm(u)
        return self.centre + self.R @ (self.semi * u)

    def extent(self, axis: int) -> float:
        """Half-extent along a global axis."""
        return float(np.linalg.norm(self.R[axis] * self.semi))


def _rot_y(angle: float) -> np.ndarray:
    """Local axes for a pitch ``angle`` (anterior end up)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def _axes_along(d: np.ndarray) -> np.ndarray:
    """Local axes with the first along ``d`` and the second horizontal."""
    e1 = d / np.linalg.norm(d)
    e2 = np.cross([0.0, 0.0, 1.0], e1)
    e2 /= np.linalg.norm(e2)
    return np.column_stack([e1, e2, np.cross(e1, e2)])


def _dorsum_profile(L: float) -> np.ndarray:
    """(x, z) control points [mm] of the dorsum height: 0.27 L at the heel, 0.28 L at the ankle, 0.07 L at
    the toe tip (generic adult proportions)."""
    xz = np.array([[-0.10, 0.270], [0.0, 0.272], [0.15, 0.278], [0.25, 0.280], [0.35, 0.262], [0.45, 0.225],
                   [0.55, 0.180], [0.65, 0.135], [0.75, 0.105], [0.85, 0.085], [0.95, 0.072], [1.10, 0.065]])
    return xz * L


def _layout(L: float, ah: float, hp: float) -> dict:
    """Bones (ellipsoids, spheres), fascia rays and landmarks of the right foot [mm]."""
    mid = lambda x: float(np.mean(width_at(L, x)))  # noqa: E731  (centre line of the outline)
    prof = _dorsum_profile(L)
    roof = lambda x: float(np.interp(x, prof[:, 0], prof[:, 1]))  # noqa: E731
    bones: dict[str, list] = {}

    # calcaneus: pitched ellipsoid, posterior end 0.012 L beyond the heel (exposed: Achilles insertion)
    R = _rot_y(_PITCH_CALCANEUS)
    semi = np.array([0.17, 0.062, 0.075]) * L
    tmp = _Ellipsoid(np.zeros(3), semi, R)
    cx = tmp.extent(0) - 0.012 * L
    cz = hp + tmp.extent(2)
    calc = _Ellipsoid(np.array([cx, mid(0.15 * L), cz]), semi, R)
    bones["calcaneus"] = [calc]

    # talus: on the calcaneus, top 0.012 L above the dorsum (the dorsum cut exposes the talar dome)
    xt = 0.26 * L
    semi_t = np.array([0.105, 0.07, 0.062]) * L
    talus = _Ellipsoid(np.array([xt, mid(xt) + 0.01 * L, roof(xt) - semi_t[2] + 0.012 * L]), semi_t, np.eye(3))
    bones["talus"] = [talus]

    # midfoot (navicular, cuboid, cuneiforms): raised by 0.5 * arch height
    xm = 0.45 * L
    semi_m = np.array([0.105, 0.105, 0.055]) * L
    midf = _Ellipsoid(np.array([xm, mid(xm) + 0.005 * L, 0.118 * L + 0.5 * ah]), semi_m, np.eye(3))
    bones["midfoot"] = [midf]

    # metatarsals: head (sphere) on the ball line, shaft (ellipsoid) back to a base raised with the arch
    head_x = np.array([0.715, 0.695, 0.675, 0.65, 0.625]) * L
    head_y = np.array([0.115, 0.055, 0.0, -0.055, -0.11]) * L
    r_head = np.array([0.030, 0.022, 0.021, 0.021, 0.022]) * L
    base_x = np.array([0.52, 0.52, 0.52, 0.52, 0.515]) * L
    base_dy = np.array([0.075, 0.035, 0.0, -0.04, -0.08]) * L
    base_lift = np.array([0.6, 0.5, 0.4, 0.3, 0.2]) * ah
    decl = np.radians([18.0, 16.0, 14.0, 12.0, 10.0])
    z_head_bottom = 0.035 * L
    heads, insert = [], []
    for k in range(5):
        H = np.array([head_x[k], head_y[k], z_head_bottom + r_head[k]])
        lx = H[0] - base_x[k]
        B = np.array([base_x[k], mid(base_x[k]) + base_dy[k], H[2] + math.tan(decl[k]) * lx + base_lift[k]])
        d = H - B
        shaft = _Ellipsoid(0.5 * (B + H), np.array([0.5 * np.linalg.norm(d), 0.6 * r_head[k], 0.6 * r_head[k]]),
                           _axes_along(d))
        head = _Ellipsoid(H, np.full(3, r_head[k]), np.eye(3))
        bones[f"metatarsal{k + 1}"] = [shaft, head]
        heads.append(H)
        insert.append(H - [0.0, 0.0, r_head[k]])
    heads = np.array(heads)

    # phalanges: one flat ellipsoid along the metatarsal-head line, its back overlapping the heads
    line = heads[0, :2] - heads[4, :2]
    dl = line / np.linalg.norm(line)
    n_ant = np.array([dl[1], -dl[0]])  # anterior normal of the head line
    semi_p = np.array([0.10 * L, 0.14 * L, 0.022 * L])
    cen2 = 0.5 * (heads[0, :2] + heads[4, :2]) + (semi_p[0] + 0.005 * L) * n_ant
    Rp = np.array([[n_ant[0], dl[0], 0.0], [n_ant[1], dl[1], 0.0], [0.0, 0.0, 1.0]])
    phal = _Ellipsoid(np.array([cen2[0], cen2[1], 0.05 * L]), semi_p, Rp)
    bones["phalanges"] = [phal]

    # fascia: rays from the medial calcaneal tubercle to the plantar point of each metatarsal head
    tubercle = calc.lowest()
    origin = calc.lowest(toward=np.array([0.0, 0.35, 0.0]))
    # the fan is planar: the insertions move vertically (by well under 1 mm) onto the least-squares plane
    # through the origin
    ins = np.array(insert)
    A = ins[:, :2] - origin[:2]
    coef, *_ = np.linalg.lstsq(A, ins[:, 2] - origin[2], rcond=None)
    ins[:, 2] = origin[2] + A @ coef
    insert = list(ins)
    rays = []
    for k in range(5):
        d = insert[k] - origin
        rays.append({"origin": origin, "insertion": insert[k], "direction": d / np.linalg.norm(d),
                     "length": float(np.linalg.norm(d))})

    # achilles insertion: posterior-superior calcaneus; talar dome: top of the talus under the dorsum
    post = calc.centre + calc.R @ (calc.semi * np.array([-1.0, 0.0, 0.0]))
    landmarks = {
        "calcaneal_tubercle": tubercle,
        "fascia_origin": origin,
        "achilles_insertion": post,
        "talar_dome": np.array([xt, talus.centre[1], roof(xt)]),
    }
    for k in range(5):
        landmarks[f"metatarsal_head{k + 1}"] = heads[k]
        landmarks[f"fascia_insertion{k + 1}"] = insert[k]
    return {"bones": bones, "rays": rays, "landmarks": landmarks, "roof": prof,
            "arch": {"centre": np.array([0.42 * L, width_at(L, 0.42 * L)[1][0] + 0.01 * L, 0.0]),
                     "semi": np.array([0.17 * L, 0.08 * L, ah])}}


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------


def _check_range(name: str, value) -> float:
    lo, hi = PARAMETER_RANGES[name]
    unit = " (a fraction of the bulk element size)" if name == "heel_refinement" else " mm"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"foot: {name} must be a number in [{lo}, {hi}]{unit}, got {value!r}") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ModelError(f"foot: {name} must be between {lo} and {hi}{unit}, got {value!r}")
    return v


# ----------------------------------------------------------------------------------------------
# The builder
# ----------------------------------------------------------------------------------------------


def build_foot(length: float = 260.0, arch_height: float = 15.0, heel_pad_thickness: float = 18.0,
               mesh: str = "coarse", side: str = "right", fascia: str = "solid", joint_gap: float = 3.0,
               fascia_thickness: float = 2.5, order: int | None = None, size_factor: float = 1.0,
               check: bool = True, heel_pad_grading: float = 0.0, heel_refinement: float = 1.0) -> AnatomicalModel:
    """Build the parametric foot (geometry, mesh, regions, sets, materials, landmarks).

    Parameters
    ----------
    length : float, mm
        Foot length, heel to toe tip, 200-320.
    arch_height : float, mm
        Lift of the plantar skin at the medial border of the midfoot, 0-30 (flat about 5, normal 15, high
        25); it also raises the midfoot (by half of it) and the metatarsal bases (0.6 .. 0.2 of it, first to
        fifth ray).
    heel_pad_thickness : float, mm
        Unloaded soft tissue under the calcaneal tuberosity, 8-30 (adult average about 18; unverified).
    mesh : {"coarse", "medium", "fine"}
        Mesh level, see :data:`FOOT_LEVELS`.
    side : {"right", "left"}
        A left foot is the mirror image ``y -> -y`` of the right one.
    fascia : {"solid", "truss"}
        Plantar fascia as five fibre-reinforced solid bands or five tension-only truss chains.
    joint_gap : float, mm
        Thickness of the soft layer between neighbouring bones, 1-6.
    fascia_thickness : float, mm
        Thickness of the solid fascia bands, 1-5.
    order : {1, 2}, optional
        Element order (tet4 or tet10); default from the level.
    size_factor : float
        Multiplies the level's element sizes (0.25-4; for convergence studies).
    check : bool
        Run :func:`fesolver.mesh.check_mesh` on the result.
    heel_pad_grading : float, mm
        0-40. With 0 the heel pad's material (Ogden) meets the soft tissue's (polynomial) at the pad's front face
        with a jump of about 50 in small-strain stiffness. A length ``g > 0`` grades the pad into the soft
        tissue over its last ``g`` mm: the pad is a :class:`~fesolver.materials.Mixture` of the two whose soft
        fraction rises smoothly from 0 at ``front - g`` to 1 at the front face (element by element, at the
        centroids), so no jump is left there.
    heel_refinement : float
        0.25-1. The element size in the soft tissue between the calcaneus and the sole, as a fraction of the
        level's bulk size: a box over the calcaneus's plan extent, from the sole up to the bone's lowest point
        (plus the near size), meshed at ``heel_refinement * size`` and growing to the bulk size over one bulk
        size around it (a gmsh ``Box`` field, combined with the bone-distance field by ``Min``). 1 = no
        refinement. Tried for the mesh convergence of the heel's pressure peak, which it does not settle
        (docs/validation.md "The tissue under the calcaneus meshed finer").

    Returns
    -------
    AnatomicalModel
        ``params`` holds the parameters, the element sizes, counts, the fibre directions and the build time.

    Raises
    ------
    ModelError
        A parameter out of range or of the wrong kind (the message names it, its value and the range).
    """
    t0 = time.perf_counter()
    L = _check_range("length", length)
    ah = _check_range("arch_height", arch_height)
    hp = _check_range("heel_pad_thickness", heel_pad_thickness)
    gap = _check_range("joint_gap", joint_gap)
    t_f = _check_range("fascia_thickness", fascia_thickness)
    grading = _check_range("heel_pad_grading", heel_pad_grading)
    if mesh not in FOOT_LEVELS:
        raise ModelError(f"foot: mesh must be one of {list(MESH_LEVELS)}, got {mesh!r}")
    if side not in ("right", "left"):
        raise ModelError(f"foot: side must be 'right' or 'left', got {side!r}")
    if fascia not in ("solid", "truss"):
        raise ModelError(f"foot: fascia must be 'solid' or 'truss', got {fascia!r}")
    level = FOOT_LEVELS[mesh]
    order = int(level["order"] if order is None else order)
    if order not in (1, 2):
        raise ModelError(f"foot: order must be 1 (tet4) or 2 (tet10), got {order!r}")
    if not (0.25 <= float(size_factor) <= 4.0):
        raise ModelError(f"foot: size_factor must be between 0.25 and 4, got {size_factor!r}")
    size, near = level["size"] * size_factor, level["near"] * size_factor
    heel_f = _check_range("heel_refinement", heel_refinement)

    lay = _layout(L, ah, hp)
    heel_box = _heel_box(lay, near) if heel_f < 1.0 else None
    geo = _mesh_with_gmsh(L, lay, gap, t_f, size, near, order, fascia, hp, heel_box, heel_f)
    t_mesh = time.perf_counter() - t0
    model = _assemble(L, lay, geo, gap, near, order, fascia)
    if grading > 0.0:
        model.materials["heel_pad"] = graded_heel_pad(model.materials, heel_pad_front(lay), grading)
    if side == "left":
        _mirror(model)
    if check:
        check_mesh(model.mesh)
    elapsed = time.perf_counter() - t0
    m = model.mesh
    model.params.update({
        "length_mm": L, "arch_height_mm": ah, "heel_pad_thickness_mm": hp, "mesh": mesh, "side": side,
        "fascia": fascia, "joint_gap_mm": gap, "fascia_thickness_mm": t_f, "order": order,
        "element": "tet10" if order == 2 else "tet4", "size_mm": size, "size_near_mm": near,
        "nodes": m.n_nodes, "elements": m.n_solid_elements, "mesh_seconds": round(t_mesh, 3),
        "build_seconds": round(elapsed, 3),
        "region_elements": {n: int(sum(v.size for v in s.values())) for n, s in m.cell_sets.items()},
        "heel_pad": {"front_x_mm": heel_pad_front(lay), "slab_height_mm": HEEL_PAD_SLAB * hp,
                     "shadow_scale": HEEL_PAD_SHADOW, "grading_mm": grading},
        "heel_refinement": heel_f,
        **({"heel_box_mm": {"min": heel_box[0].tolist(), "max": heel_box[1].tolist(),
                            "size_mm": heel_f * size}} if heel_box is not None else {}),
    })
    log.info("foot %s: %s in %.1f s", mesh, m.summary(), elapsed)
    return model


def fascia_tension(model: AnatomicalModel, result) -> dict:
    """Tension [N] and peak fibre stress [MPa] of the plantar fascia of a solved foot.

    Solid fascia: the tension of ray ``k`` is its mean axial force ``(1 / l) * integral of n.sigma.n dv`` over
    the deformed ray (``n`` the current fibre direction, ``l`` the current origin-insertion distance): the
    cross-section force averaged along the ray. Truss fascia: the axial force of each band at its middle
    element. Returns ``{"ray_tension_N": [5], "total_tension_N", "peak_fibre_stress_MPa",
    "p99_fibre_stress_MPa", "peak_fibre_stretch"}``: the largest element value of the fibre stress, and the
    fibre stress exceeded in 1 % of the fascia's volume (:data:`FASCIA_PEAK_QUANTILE`, all rays together; for the
    truss the peak and the percentile by reference length of the band stress); the peak stretch for the solid
    fascia only.
    """
    m = model.mesh
    u = result.displacement
    x = m.points + u

    def where(name):
        return x[m.node_sets[name]].mean(axis=0)

    origin = where("fascia_origin")
    out: dict = {}
    if any(r in model.materials for r in FASCIA_RAYS):
        fib = result.fibre_fields()
        vol = m.element_volumes(0, x)
        stress, stretch = fib["fibre_stress"][0], fib["fibre_stretch"][0]
        rays = [m.cell_sets[ray][0] for ray in FASCIA_RAYS]
        tension = [float((stress[e] * vol[e]).sum() / np.linalg.norm(where(f"fascia_insertion{k}") - origin))
                   for k, e in enumerate(rays, start=1)]
        e = np.concatenate(rays)
        out.update(ray_tension_N=tension, peak_fibre_stress_MPa=float(stress[e].max()),
                   peak_fibre_stretch=max(1.0, float(stretch[e].max())),
                   p99_fibre_stress_MPa=volume_quantile(stress[e], vol[e], FASCIA_PEAK_QUANTILE))
    else:
        force, stress = result.trusses[0].force, result.trusses[0].stress
        bands = [m.line_sets[f"fascia_band{k}"][0] for k in range(1, 6)]
        tension = []
        for idx in bands:
            mid = x[m.lines[0].cells[idx]].mean(axis=1)
            s = np.linalg.norm(mid - origin, axis=1)
            tension.append(float(force[idx[np.argsort(s)[idx.size // 2]]]))
        idx = np.concatenate(bands)
        cells = m.lines[0].cells[idx]
        ref_length = np.linalg.norm(m.points[cells[:, 1]] - m.points[cells[:, 0]], axis=1)  # equal band areas
        out.update(ray_tension_N=tension, peak_fibre_stress_MPa=float(stress[idx].max()),
                   p99_fibre_stress_MPa=volume_quantile(stress[idx], ref_length, FASCIA_PEAK_QUANTILE))
    out["total_tension_N"] = float(sum(out["ray_tension_N"]))
    return out


def volume_quantile(values: np.ndarray, volumes: np.ndarray, q: float) -> float:
    """The value exceeded in the fraction ``1 - q`` of the total volume: the ``q`` quantile of ``values`` (one per
    element) weighted by the elements' ``volumes`` (the inverse of the volume-weighted distribution function;
    an element's value, not interpolated)."""
    return float(np.quantile(np.asarray(values, dtype=float), q, weights=np.asarray(volumes, dtype=float),
                             method="inverted_cdf"))


#: how far from the midfoot's most medial node the nodes averaged as the navicular tuberosity lie [mm]
NAVICULAR_BAND_MM = 3.0


def _rigid_fit(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(R, t)``: the rotation and translation that map the points ``X`` closest to ``Y`` (least squares;
    Kabsch's SVD), ``t`` the centroid's displacement."""
    cx, cy = X.mean(axis=0), Y.mean(axis=0)
    U, _, Vt = np.linalg.svd((X - cx).T @ (Y - cy))
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    return Vt.T @ np.diag([1.0, 1.0, d]) @ U.T, cy - cx


def bone_kinematics(model: AnatomicalModel, result, ground_normal=(0.0, 0.0, 1.0)) -> dict:
    """Posture of a solved foot: the motion of each bone region from the unloaded foot, fitted as a rigid body
    (least squares over the region's nodes), and the clinical measures of pronation derived from it.

    Model frame: ``x`` anterior, ``y`` medial for the right foot (lateral for the mirrored left), ``z`` up.
    Returns ``{"bones": {region: {"rotation_deg": [rx, ry, rz], "translation_mm": [3]}}`` (rotation vector about
    the model axes, right-handed; translation of the region's centroid) and, in anatomical signs for either side:

    * ``rearfoot_eversion_deg``: the calcaneus relative to the talus (the leg's seat) about the long axis,
      + = eversion (the subtalar joint's share of a pronation);
    * ``forefoot_inversion_deg``: metatarsals 1-5 together relative to the calcaneus about the long axis,
      + = inversion (the forefoot twisting against the rearfoot, as it does to stay flat on the ground when
      the rearfoot everts);
    * ``calcaneal_pitch_change_deg``: + = the calcaneus's anterior end raised;
    * ``navicular_drop_mm``: the fall of the navicular tuberosity (the mean of the midfoot nodes within
      :data:`NAVICULAR_BAND_MM` of its most medial node) along ``ground_normal``: the navicular drop test,
      unloaded to loaded;
    * ``medial_arch_drop_mm``: the fall of the same point towards the line from the calcaneal tubercle to the
      first metatarsal head (the nodes nearest those landmarks): the arch's own flattening, free of the heel
      and forefoot pads' compression that lowers the whole foot.

    Bones missing from ``model`` (a user's mesh) are left out, and the measures that need them are ``None``; the
    medial side is the first metatarsal head's (``+y`` without those landmarks).
    """
    from scipy.spatial.transform import Rotation

    m = model.mesh
    u = result.displacement
    X = m.points
    lm = model.landmarks
    # +1 where +y is medial (the right foot): the first metatarsal head lies on the medial side
    sgn = (1.0 if lm["metatarsal_head1"][1] >= lm["metatarsal_head5"][1] else -1.0) if (
        {"metatarsal_head1", "metatarsal_head5"} <= lm.keys()) else 1.0
    n = np.asarray(ground_normal, dtype=float)
    n = n / np.linalg.norm(n)
    fits = {}
    for b in BONES:
        if b in m.node_sets and m.node_sets[b].size >= 3:
            idx = m.node_sets[b]
            fits[b] = _rigid_fit(X[idx], X[idx] + u[idx])
    out: dict = {"frame": "x anterior, y medial (right foot; lateral for the left), z up; degrees, mm",
                 "bones": {}}
    for b, (R, t) in fits.items():
        out["bones"][b] = {"rotation_deg": [float(v) for v in Rotation.from_matrix(R).as_rotvec(degrees=True)],
                           "translation_mm": [float(v) for v in t]}

    def relative(b, a):  # rotation vector [deg] of bone b relative to bone a, in the model frame
        return Rotation.from_matrix(fits[b][0] @ fits[a][0].T).as_rotvec(degrees=True)

    meta = [f"metatarsal{k}" for k in range(1, 6)]
    out["rearfoot_eversion_deg"] = (float(-sgn * relative("calcaneus", "talus")[0])
                                    if {"calcaneus", "talus"} <= fits.keys() else None)
    if "calcaneus" in fits and all(k in m.node_sets for k in meta):
        idx = np.concatenate([m.node_sets[k] for k in meta])
        R, _ = _rigid_fit(X[idx], X[idx] + u[idx])
        out["forefoot_inversion_deg"] = float(sgn * Rotation.from_matrix(R @ fits["calcaneus"][0].T)
                                              .as_rotvec(degrees=True)[0])
    else:
        out["forefoot_inversion_deg"] = None
    out["calcaneal_pitch_change_deg"] = (float(-out["bones"]["calcaneus"]["rotation_deg"][1])
                                         if "calcaneus" in fits else None)
    out["navicular_drop_mm"] = out["medial_arch_drop_mm"] = None
    if "midfoot" in m.node_sets:
        mid = m.node_sets["midfoot"]
        ym = sgn * X[mid, 1]
        nav = mid[ym >= ym.max() - NAVICULAR_BAND_MM]
        out["navicular_drop_mm"] = float(-(u[nav] @ n).mean())
        if {"calcaneal_tubercle", "metatarsal_head1"} <= lm.keys() and {"calcaneus", "metatarsal1"} <= fits.keys():
            def nearest(region, point):
                idx = m.node_sets[region]
                return idx[np.argmin(np.linalg.norm(X[idx] - point, axis=1))]

            a, b = nearest("calcaneus", lm["calcaneal_tubercle"]), nearest("metatarsal1", lm["metatarsal_head1"])

            def sag(P):
                c = P[nav].mean(axis=0)
                d = (P[b] - P[a]) / np.linalg.norm(P[b] - P[a])
                r = c - P[a]
                return float(np.linalg.norm(r - (r @ d) * d))

            out["medial_arch_drop_mm"] = sag(X) - sag(X + u)
    return out


def _heel_box(lay: dict, near: float) -> tuple[np.ndarray, np.ndarray]:
    """The box ``heel_refinement`` meshes finer [mm]: the calcaneus's plan extent (the axis-aligned bounds of its
    ellipsoid in x and y), from 1 mm below the sole (z = 0) up to the bone's lowest point plus ``near``."""
    calc = lay["bones"]["calcaneus"][0]
    ext = np.array([calc.extent(0), calc.extent(1)])
    lo = np.array([*(calc.centre[:2] - ext), -1.0])
    hi = np.array([*(calc.centre[:2] + ext), float(calc.lowest()[2]) + near])
    return lo, hi


def _mesh_with_gmsh(L, lay, gap, t_f, size, near, order, fascia, hp, heel_box=None, heel_f=1.0):
    """Build the OCC geometry, mesh it, return nodes, tets per entity class and truss lines."""
    import gmsh

    gmsh.initialize(readConfigFiles=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.add("foot")
        occ = gmsh.model.occ

        # envelope: outline prism cut by the dorsum profile and the arch
        pts = plantar_outline(L, 64)
        # start the closed spline (its seam) on the lateral border at mid-length, away from the bones
        lateral = np.flatnonzero(pts[:, 1] < 0.0)
        start = lateral[np.argmin(np.abs(pts[lateral, 0] - 0.45 * L))]
        pts = np.roll(pts, -start, axis=0)
        ptags = [occ.addPoint(x, y, 0.0) for x, y in pts]
        c = occ.addSpline(ptags + [ptags[0]])
        base = occ.addPlaneSurface([occ.addCurveLoop([c])])
        prism = occ.extrude([(2, base)], 0.0, 0.0, 0.4 * L)
        prism_vol = [dt for dt in prism if dt[0] == 3]
        prof = lay["roof"]
        W = 0.5 * L
        top = [occ.addPoint(x, -W, z) for x, z in prof[::-1]]
        b0 = occ.addPoint(prof[0, 0], -W, -0.1 * L)
        b1 = occ.addPoint(prof[-1, 0], -W, -0.1 * L)
        roof_c = occ.addSpline(top)
        loop = occ.addCurveLoop([occ.addLine(b0, b1), occ.addLine(b1, top[0]), roof_c, occ.addLine(top[-1], b0)])
        side_s = occ.addPlaneSurface([loop])
        slab = [dt for dt in occ.extrude([(2, side_s)], 0.0, 2 * W, 0.0) if dt[0] == 3]
        env, _ = occ.intersect(prism_vol, slab)
        a = lay["arch"]
        if a["semi"][2] > 0.0:
            cut = _occ_ellipsoid(occ, a["centre"], a["semi"], np.eye(3))
            env, _ = occ.cut(env, [(3, cut)])
        env_tag = env[0][1]

        # bones, in order; each later bone cut by the earlier ones grown by the joint gap
        bone_tags = {}
        done: list[tuple[str, list]] = []
        for name in BONES:
            parts = lay["bones"][name]
            tags = [(3, _occ_ellipsoid(occ, p.centre, p.semi, p.R)) for p in parts]
            if len(tags) > 1:
                tags, _ = occ.fuse(tags[:1], tags[1:])
            for _prev, prev_parts in done:
                if not _near_any(parts, prev_parts, gap):
                    continue
                tools = [(3, _occ_ellipsoid(occ, p.centre, p.semi + gap, p.R)) for p in prev_parts]
                tags, _ = occ.cut(tags, tools)
            env_copy = occ.copy([(3, env_tag)])
            tags, _ = occ.intersect(tags, env_copy)
            bone_tags[name] = tags
            done.append((name, parts))

        # fascia
        fascia_tags, line_tags = [], []
        rays = lay["rays"]
        if fascia == "solid":
            # the rays share the origin and the insertions lie at one height, so the fan is planar: one face,
            # the outline of the union of five straight strips in the plane of the rays' top lines (1 mm inside
            # the bones), thickened downwards (fusing overlapping strips or boxes leaves coplanar duplicates)
            nrm = np.cross(rays[-1]["direction"], rays[0]["direction"])
            nrm /= np.linalg.norm(nrm) * np.sign(nrm[2])
            outline = _fan_outline(rays, nrm, 0.12 * L / 5.0 + 1.5, 4.0)
            pt = [occ.addPoint(*q) for q in outline]
            ln = [occ.addLine(pt[i], pt[(i + 1) % len(pt)]) for i in range(len(pt))]
            fan = [(2, occ.addPlaneSurface([occ.addCurveLoop(ln)]))]
            fas = [dt for dt in occ.extrude(fan, *(-t_f * nrm)) if dt[0] == 3]
            all_bones = [dt for v in bone_tags.values() for dt in v]
            fas, _ = occ.cut(fas, occ.copy(all_bones))
            fas, _ = occ.intersect(fas, occ.copy([(3, env_tag)]))
            fascia_tags = fas
        else:
            calc = lay["bones"]["calcaneus"][0]
            for k, r in enumerate(rays):
                # each band starts at its own point of the calcaneal tubercle (spread medially, ~2 mm apart) with
                # a short vertical segment crossing the bone surface steeply (a shallow crossing would run inside
                # the bone for centimetres; five lines meeting in one point make degenerate tets); the pieces
                # inside the bones are dropped below, so each chain runs from the calcaneus to its metatarsal head
                p = calc.lowest(toward=np.array([0.0, 0.15 * (4 - k), 0.0]))
                q = [occ.addPoint(*(p + [0.0, 0.0, 2.0])), occ.addPoint(*(p - [0.0, 0.0, 0.5])),
                     occ.addPoint(*(r["insertion"] + [0.0, 0.0, 1.5]))]
                line_tags.append((1, occ.addLine(q[0], q[1])))
                line_tags.append((1, occ.addLine(q[1], q[2])))

        # heel pad: its own volume, so that its boundary (a material jump of about 50 in small-strain stiffness)
        # is the same surface at every mesh level
        pad_tags = _occ_heel_pad(occ, lay, hp, L, bone_tags["calcaneus"], env_tag)

        objects = [(3, env_tag)]
        tools = [dt for v in bone_tags.values() for dt in v] + list(fascia_tags) + pad_tags + line_tags
        _, fmap = occ.fragment(objects, tools)
        occ.synchronize()

        # classify the fragments: bones and fascia from the fragment map, the rest soft tissue
        n_obj = len(objects)
        cls = {}
        k = n_obj
        for name in BONES:
            for _ in bone_tags[name]:
                for dt in fmap[k]:
                    if dt[0] == 3:
                        cls[dt[1]] = name
                k += 1
        for _ in fascia_tags:
            for dt in fmap[k]:
                if dt[0] == 3:
                    cls.setdefault(dt[1], "fascia")
            k += 1
        for _ in pad_tags:
            for dt in fmap[k]:
                if dt[0] == 3:
                    cls.setdefault(dt[1], "heel_pad")
            k += 1
        curves = []
        for j, _ in enumerate(line_tags):
            for dt in fmap[k]:
                if dt[0] == 1:
                    curves.append((j // 2, dt[1]))  # two input lines per band
            k += 1
        for _, tag in gmsh.model.getEntities(3):
            cls.setdefault(tag, "soft")
        # keep only curve pieces outside the bones (their end points lie on the bone surfaces)
        keep = []
        for j, tag in curves:
            cm = np.array(occ.getCenterOfMass(1, tag))
            inside = any(p.inside(cm[None])[0] for parts in lay["bones"].values() for p in parts)
            if not inside:
                keep.append((j, tag))

        # mesh sizes: fine near the bones and the fascia, coarse in the bulk
        fld = gmsh.model.mesh.field
        near_surf = []
        for vol, name in cls.items():
            if name not in ("soft", "heel_pad"):
                near_surf += [t for d, t in gmsh.model.getBoundary([(3, vol)], oriented=False) if d == 2]
        d = fld.add("Distance")
        fld.setNumbers(d, "SurfacesList", sorted(set(near_surf)))
        fld.setNumber(d, "Sampling", 20)
        th = fld.add("Threshold")
        fld.setNumber(th, "InField", d)
        fld.setNumber(th, "SizeMin", near)
        fld.setNumber(th, "SizeMax", size)
        fld.setNumber(th, "DistMin", 0.5 * near)
        fld.setNumber(th, "DistMax", 2.0 * size)
        background = th
        if heel_box is not None:
            box = fld.add("Box")
            for k, ax in enumerate("XYZ"):
                fld.setNumber(box, f"{ax}Min", float(heel_box[0][k]))
                fld.setNumber(box, f"{ax}Max", float(heel_box[1][k]))
            fld.setNumber(box, "VIn", heel_f * size)
            fld.setNumber(box, "VOut", size)
            fld.setNumber(box, "Thickness", size)
            background = fld.add("Min")
            fld.setNumbers(background, "FieldsList", [th, box])
        fld.setAsBackgroundMesh(background)
        for key in ("Mesh.MeshSizeExtendFromBoundary", "Mesh.MeshSizeFromPoints", "Mesh.MeshSizeFromCurvature"):
            gmsh.option.setNumber(key, 0)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.option.setNumber("Mesh.MeshSizeMin", min(near, t_f, gap) * 0.5)
        gmsh.option.setNumber("Mesh.Algorithm", 6)
        gmsh.option.setNumber("Mesh.Algorithm3D", 1)
        gmsh.option.setNumber("Mesh.Optimize", 1)
        gmsh.option.setNumber("Mesh.RandomSeed", 1)
        gmsh.model.mesh.generate(3)
        if order == 2:
            # straight mid-edge nodes: snapping them to the curved bone surfaces inverts tets in the thin joint
            # and fascia layers
            gmsh.option.setNumber("Mesh.SecondOrderLinear", 1)
            gmsh.model.mesh.setOrder(2)
        ntags, coords, _ = gmsh.model.mesh.getNodes()
        etype = 11 if order == 2 else 4
        tets, labels = [], []
        for _, vol in gmsh.model.getEntities(3):
            types, _, enodes = gmsh.model.mesh.getElements(3, vol)
            for t, en in zip(types, enodes, strict=True):
                if t != etype:
                    raise ModelError(f"foot: gmsh made element type {t} in volume {vol}; expected {etype}")
                conn = np.asarray(en, dtype=np.int64).reshape(-1, 10 if order == 2 else 4)
                tets.append(conn)
                labels += [cls[vol]] * conn.shape[0]
        lines = []
        for j, tag in keep:
            types, _, enodes = gmsh.model.mesh.getElements(1, tag)
            for _t, en in zip(types, enodes, strict=True):
                conn = np.asarray(en, dtype=np.int64).reshape(-1, 3 if order == 2 else 2)
                if order == 2:  # line3 (end, end, middle) -> two line2
                    conn = np.vstack([conn[:, [0, 2]], conn[:, [2, 1]]])
                lines.append((j, conn))
    finally:
        gmsh.finalize()
    return {"tags": np.asarray(ntags, dtype=np.int64), "coords": np.asarray(coords).reshape(-1, 3),
            "tets": np.vstack(tets), "labels": np.array(labels), "lines": lines}


def _fan_outline(rays, nrm, width, overshoot) -> np.ndarray:
    """Corners (m, 3) [mm] of the union of the fascia strips, counter-clockwise seen along ``nrm``.

    Strip k runs from 1 mm behind the origin to ``overshoot`` mm past its insertion, ``width`` mm wide, in
    the plane through the rays' top lines (the rays 1 mm up). Neighbouring strips are joined where their
    facing edges cross (or at their front corners if they never part).
    """
    lift = np.array([0.0, 0.0, 1.0])
    o = rays[0]["origin"] + lift
    hw = 0.5 * width
    d = [r["direction"] for r in rays]
    side = [np.cross(nrm, dk) for dk in d]  # left (medial for the right foot) normal of each strip
    ends = [r["length"] + overshoot for r in rays]
    pts = [o - d[4] - hw * side[4]]  # back corner of ray 5, lateral side
    for k in range(4, -1, -1):  # ray 5 (lateral) to ray 1 (medial)
        pts.append(o + ends[k] * d[k] - hw * side[k])
        pts.append(o + ends[k] * d[k] + hw * side[k])
        if k == 0:
            break
        # left edge of ray k meets the right edge of ray k-1: o + hw side_k + s d_k = o - hw side_j + t d_j
        j = k - 1
        A = np.column_stack([d[k], -d[j]])
        rhs = -hw * side[j] - hw * side[k]
        (s_k, s_j), *_ = np.linalg.lstsq(A, rhs, rcond=None)
        if 0.0 < s_k < ends[k] and 0.0 < s_j < ends[j]:
            pts.append(o + hw * side[k] + s_k * d[k])
    pts.append(o - d[0] + hw * side[0])  # back corner of ray 1, medial side
    return np.array(pts)


def _occ_ellipsoid(occ, centre, semi, R) -> int:
    tag = occ.addSphere(0.0, 0.0, 0.0, 1.0)
    # OCC's sphere has its poles on the local z axis and its seam in the half-plane x > 0, y = 0; turn them
    # (poles to the local y axis, seam to the top) so that no pole or seam lies under a bone, where the
    # fascia and the joints meet it (an embedded edge on a seam cannot be meshed)
    P = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    M = np.column_stack([(np.asarray(R) * np.asarray(semi)[None, :]) @ P, centre])
    occ.affineTransform([(3, tag)], list(M.ravel()))
    return tag


def graded_heel_pad(materials: dict, front_x: float, length: float):
    """The heel pad graded into the soft tissue over its last ``length`` mm before ``front_x`` (x, mm): a
    :class:`~fesolver.materials.Mixture` of ``materials["heel_pad"]`` and ``materials["soft_tissue"]`` whose
    soft fraction rises smoothly from 0 at ``front_x - length`` to 1 at ``front_x``."""
    grading = LinearGrading(axis=(1.0, 0.0, 0.0), start=front_x - length, end=front_x)
    return Mixture(materials["heel_pad"], materials["soft_tissue"], weight=grading, name="heel_pad")


def heel_pad_front(lay: dict) -> float:
    """x [mm] of the heel pad's front face: the calcaneus's centre plus half its first semi-axis."""
    calc = lay["bones"]["calcaneus"][0]
    return float(calc.centre[0] + 0.5 * calc.semi[0])


def _occ_heel_pad(occ, lay, hp, L, calc_tags, env_tag) -> list:
    """The heel pad as OCC volumes: the soft tissue in the heel (``x <= heel_end``) that lies under the calcaneus
    or within ``HEEL_PAD_SLAB * hp`` of the ground (the element-by-element rule it replaces: centroids under the
    bone or below ``hp``; that boundary moved with the mesh).

    "Under the calcaneus" is the vertical cylinder over the bone's plan shadow (an ellipse) shrunk to
    :data:`HEEL_PAD_SHADOW` of it, from below the ground up to the bone's centre height: a cylinder through
    the shadow's own rim would touch the bone tangentially (a degenerate intersection); at 0.92 its wall meets
    the bone's lower surface at about 23 degrees. The slab stays below the plantar tuberosity (at ``hp``) for
    the same reason. ``heel_end`` is the calcaneus's centre plus half its semi-axis forwards.
    """
    calc = lay["bones"]["calcaneus"][0]
    # plan shadow of the ellipsoid: the xy block of R diag(semi^2) R^T is its shape matrix's inverse
    S = (calc.R * calc.semi[None, :] ** 2) @ calc.R.T
    w, V = np.linalg.eigh(S[:2, :2])
    major = V[:, 1]
    heel_end = heel_pad_front(lay)
    z0, zc = -0.1 * L, float(calc.centre[2])
    disk = occ.addDisk(calc.centre[0], calc.centre[1], z0, *(HEEL_PAD_SHADOW * np.sqrt(w[::-1])),
                       xAxis=[major[0], major[1], 0.0])
    cyl = [dt for dt in occ.extrude([(2, disk)], 0.0, 0.0, zc - z0) if dt[0] == 3]
    slab = [(3, occ.addBox(-0.2 * L, -L, z0, heel_end + 0.2 * L, 2 * L, HEEL_PAD_SLAB * hp - z0))]
    heel = [(3, occ.addBox(-0.2 * L, -L, z0, heel_end + 0.2 * L, 2 * L, zc + 0.1 * L - z0))]
    cyl, _ = occ.intersect(cyl, heel)
    pad, _ = occ.fuse(cyl, slab)
    pad, _ = occ.cut(pad, occ.copy(calc_tags))
    pad, _ = occ.intersect(pad, occ.copy([(3, env_tag)]))
    if not pad:
        raise ModelError("foot: the heel pad's geometry is empty (parameters out of proportion?)")
    return [dt for dt in pad if dt[0] == 3]


def _near_any(parts, prev_parts, gap) -> bool:
    """Bounding spheres of two bones' primitives closer than ``gap`` (then the cut is needed)."""
    for p in parts:
        for q in prev_parts:
            if np.linalg.norm(p.centre - q.centre) < p.semi.max() + q.semi.max() + gap:
                return True
    return False


def _assemble(L, lay, geo, gap, near, order, fascia) -> AnatomicalModel:
    """Mesh, regions, sets and materials from the gmsh output."""
    tags, coords = geo["tags"], geo["coords"]
    idx = np.full(int(tags.max()) + 1, -1, dtype=np.int64)
    idx[tags] = np.arange(tags.size)
    tets = idx[geo["tets"]]
    if order == 2:  # gmsh tet10: 8 = edge 2-3, 9 = edge 1-3; VTK: 8 = edge 1-3, 9 = edge 2-3
        tets = tets[:, [0, 1, 2, 3, 4, 5, 6, 7, 9, 8]]
    line_parts = [(j, idx[c]) for j, c in geo["lines"]]
    used = np.unique(np.concatenate([tets.ravel()] + [c.ravel() for _, c in line_parts]))
    remap = np.full(coords.shape[0], -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    pts = coords[used]
    tets = remap[tets]
    line_parts = [(j, remap[c]) for j, c in line_parts]
    labels = geo["labels"].astype(object)
    centroid = pts[tets[:, :4]].mean(axis=1)

    # soft-tissue regions: joints near two bones, heel pad under the calcaneus
    bone_nodes = {b: np.unique(tets[labels == b]) for b in BONES}
    soft = np.flatnonzero(labels == "soft")
    from scipy.spatial import cKDTree

    reach = gap + 0.5 * near
    close = np.zeros((soft.size, len(BONES)), dtype=bool)
    for j, b in enumerate(BONES):
        if bone_nodes[b].size:
            dist, _ = cKDTree(pts[bone_nodes[b]]).query(centroid[soft], distance_upper_bound=reach)
            close[:, j] = np.isfinite(dist)
    labels[soft[close.sum(axis=1) >= 2]] = "joints"
    labels[labels == "soft"] = "soft_tissue"

    # fascia rays: nearest ray axis
    rays = lay["rays"]
    fas = np.flatnonzero(labels == "fascia")
    if fas.size:
        dist = np.stack([_segment_distance(centroid[fas], r["origin"], r["insertion"]) for r in rays], axis=1)
        which = np.argmin(dist, axis=1)
        for k in range(5):
            labels[fas[which == k]] = FASCIA_RAYS[k]

    etype = TET10 if order == 2 else TET4
    names = list(BONES) + ["joints", "heel_pad", "soft_tissue"] + (list(FASCIA_RAYS) if fascia == "solid" else [])
    cell_sets = {}
    for n in names:
        sel = np.flatnonzero(labels == n)
        if sel.size == 0:
            raise ModelError(f"foot: region {n!r} got no elements (mesh too coarse for the geometry?); "
                             f"try a finer mesh level or other parameters")
        cell_sets[n] = {0: sel}
    lines, line_sets = [], {}
    if line_parts:
        conn = np.vstack([c for _, c in line_parts])
        band = np.concatenate([np.full(c.shape[0], j) for j, c in line_parts])
        lines = [SolidBlock(LINE2, np.ascontiguousarray(conn))]
        for k in range(5):
            line_sets[f"fascia_band{k + 1}"] = {0: np.flatnonzero(band == k)}
        line_sets["fascia"] = {0: np.arange(conn.shape[0])}
    mesh = Mesh(pts, [SolidBlock(etype, np.ascontiguousarray(tets))], lines=lines, cell_sets=cell_sets,
                line_sets=line_sets, source="foot")
    for n, s in cell_sets.items():
        mesh.node_sets[n] = np.unique(tets[s[0]])

    # facet sets from the outward-ordered boundary faces
    ftype, fconn, owner = mesh.boundary_facets()[0]
    fx = pts[fconn[:, :3]]
    nrm = np.cross(fx[:, 1] - fx[:, 0], fx[:, 2] - fx[:, 0])
    nrm /= np.linalg.norm(nrm, axis=1)[:, None]
    fc = fx.mean(axis=1)
    olab = labels[owner[:, 1]]
    is_bone = np.isin(olab, BONES)
    plantar = (nrm[:, 2] < -0.25) & (fc[:, 2] < lay["arch"]["semi"][2] + 0.05 * L) & ~is_bone
    mesh.facet_sets["plantar_skin"] = [(ftype, fconn[plantar])]
    dome = (olab == "talus") & (nrm[:, 2] > 0.5)
    ach = (olab == "calcaneus") & (nrm[:, 0] < -0.5)
    landmarks = {k: np.asarray(v, dtype=float) for k, v in lay["landmarks"].items()}
    for name, sel, fallback in (("talar_dome", dome, "talus"), ("achilles_insertion", ach, "calcaneus")):
        if sel.any():
            mesh.facet_sets[name] = [(ftype, fconn[sel])]
            nodes = np.unique(fconn[sel])
        else:  # not exposed: the bone's nodes nearest the landmark
            bn = bone_nodes[fallback]
            nodes = bn[np.linalg.norm(pts[bn] - landmarks[name], axis=1) <= 0.04 * L]
        if nodes.size == 0:
            raise ModelError(f"foot: node set {name!r} is empty")
        mesh.node_sets[name] = nodes
        landmarks[name] = pts[nodes].mean(axis=0)
    mesh.node_sets["plantar_skin"] = np.unique(fconn[plantar])

    # fascia origin and insertions: solid rays: the ray's nodes within max(6, 1.5 h) mm of its ends; truss
    # bands: the two end nodes of each chain (on the calcaneus and on the metatarsal head)
    rad = max(6.0, 1.5 * near)
    origin_nodes, ins = [], []
    for k, r in enumerate(rays):
        if fascia == "solid":
            # near the origin the rays overlap (each element went to the nearest ray axis): all fascia nodes
            nk = np.unique(tets[cell_sets[FASCIA_RAYS[k]][0]])
            allf = np.unique(np.concatenate([tets[cell_sets[ray][0]].ravel() for ray in FASCIA_RAYS]))
            o_sel = allf[np.linalg.norm(pts[allf] - r["origin"], axis=1) <= rad]
            i_sel = nk[np.linalg.norm(pts[nk] - r["insertion"], axis=1) <= rad]
        else:
            c = lines[0].cells[line_sets[f"fascia_band{k + 1}"][0]]
            nodes, counts = np.unique(c, return_counts=True)
            ends = nodes[counts == 1]
            if ends.size != 2:
                raise ModelError(f"foot: fascia band {k + 1} is not one chain of line elements ({ends.size} ends)")
            dist = np.linalg.norm(pts[ends] - r["origin"], axis=1)
            o_sel, i_sel = ends[[np.argmin(dist)]], ends[[np.argmax(dist)]]
        if o_sel.size == 0 or i_sel.size == 0:
            raise ModelError(f"foot: fascia ray {k + 1} has no node near its origin or insertion")
        origin_nodes.append(o_sel)
        ins.append(i_sel)
        mesh.node_sets[f"fascia_insertion{k + 1}"] = i_sel
    mesh.node_sets["fascia_origin"] = np.unique(np.concatenate(origin_nodes))
    mesh.node_sets["fascia_insertions"] = np.unique(np.concatenate(ins))

    fibres = {FASCIA_RAYS[k]: r["direction"] for k, r in enumerate(rays)}
    mats = foot_materials(fibres if fascia == "solid" else None, fascia)
    trusses = {}
    if fascia == "truss":
        for k in range(5):
            trusses[f"fascia_band{k + 1}"] = fascia_truss_material(name=f"fascia_band{k + 1}")
    params = {"fibre_directions": {k: v.tolist() for k, v in fibres.items()},
              "fascia_area_mm2": FASCIA_AREA if fascia == "truss" else None}
    return AnatomicalModel("foot", mesh, mats, trusses=trusses, landmarks=landmarks, params=params)


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    s = np.clip((p - a) @ d / (d @ d), 0.0, 1.0)
    return np.linalg.norm(p - (a + s[:, None] * d), axis=1)


def _mirror(model: AnatomicalModel) -> None:
    """Right foot -> left foot: ``y -> -y`` with the element node order flipped to keep positive volumes."""
    m = model.mesh
    m.points[:, 1] *= -1.0
    perm = {TET4.name: [0, 2, 1, 3], TET10.name: [0, 2, 1, 3, 6, 5, 4, 7, 9, 8], TRI3.name: [0, 2, 1],
            TRI6.name: [0, 2, 1, 5, 4, 3]}
    m.solids = [SolidBlock(b.etype, np.ascontiguousarray(b.cells[:, perm[b.etype.name]])) for b in m.solids]
    m.facet_sets = {n: [(ft, np.ascontiguousarray(c[:, perm[ft.name]])) for ft, c in v]
                    for n, v in m.facet_sets.items()}
    m._boundary = None
    for k in model.landmarks:
        model.landmarks[k] = model.landmarks[k] * [1.0, -1.0, 1.0]
    mats = {}
    for n, mat in model.materials.items():
        if getattr(mat, "fibre_reinforced", False):
            f = np.asarray(mat.fibre) * [1.0, -1.0, 1.0]
            from dataclasses import replace

            mat = replace(mat, fibre=tuple(float(v) for v in f))
        mats[n] = mat
    model.materials = mats
    fd = model.params.get("fibre_directions") or {}
    model.params["fibre_directions"] = {k: [v[0], -v[1], v[2]] for k, v in fd.items()}
