"""Parametric tibiofemoral (knee) model: rigid femur and tibia, cartilage layers, optional menisci.

Coordinates (mm) as in :mod:`fesolver.models`: a **right** knee, ``x`` anterior, ``y`` medial, ``z`` proximal;
the tibial plateau is near ``z = 0`` and the medial compartment at ``y > 0``.

Geometry (generic and simplified, not a subject):

* **Femoral condyles**: spheres whose radius is the articular (cartilage) surface radius
  ``condyle_radius_medial`` / ``condyle_radius_lateral``, centred ``compartment_offset`` either side of the
  midline. Each carries a cartilage shell of thickness ``cartilage_thickness`` over a cap (``-50°`` anterior to
  ``110°`` posterior in the sagittal plane, so that flexed poses stay on cartilage) bonded to a thin
  subchondral bone shell (region ``femur``, rigid). Single-radius condyles: the sagittal curvature does not
  change with flexion (real condyles have a larger distal "extension facet" radius than the posterior
  "flexion facet" radius, e.g. Iwaki, Pinskerova & Freeman 2000, J Bone Joint Surg Br 82:1189 -- values
  **unverified** here), so flexion moves the femur's cartilage cap and bone but not the contact curvature.
* **Tibial plateaus**: rectangular cartilage layers, medial concave (a sphere of radius
  ``tibial_concavity_radius``), lateral flat, on a thin bone layer (region ``tibia``, rigid).
* **Menisci** (``menisci=True``): C-shaped rings that fill the space between the femoral sphere and the tibial
  surface from an inner radius (where that space is ``meniscus_inner_height`` high) outwards by
  ``meniscus_width``; transversely isotropic with circumferential fibres. fesolver's fibre materials take one
  fibre direction per material, so each meniscus is split into ``meniscus_sectors`` angular sectors (regions
  ``meniscus_medial_s0`` ...), each with its sector's mid-angle circumferential direction (a per-element fibre
  field would be the better future feature). Horn attachments: linear truss springs from the horn end faces
  to tibial bone nodes (line sets ``meniscus_medial_horns`` ...).

Pose: flexion rotates the femur about the medial-lateral axis through the two condyle centres (positive:
flexion, the femoral shaft turns posteriorly); ``varus_valgus_deg`` then tilts it about the anterior-posterior
axis through the knee centre (positive: **varus**, the medial condyle goes down and the medial compartment is
loaded more; negative: valgus). The femur is then lowered until its first contact: the weighted gap of the
first tibial node is made slightly negative (``interference``, a few micrometres) so that the contact is
active from the first Newton iteration and the femur can be driven by a force (a free rigid body pushed by
a force before it touches is singular). The other compartment may start with a gap.

Mesh: structured hex8 (numpy), not gmsh tetrahedra: the cartilage layers are thin (2-3 mm) and a mapped grid
gives the through-thickness layers, conforming bone-cartilage interfaces (shared nodes), quad4 contact
surfaces, an exactly reproducible build and a tibial node right under the first contact point. The grid is
graded: ``h`` near the contact centres, growing by ``growth`` per element outwards.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np

from ..contact import SurfaceContact
from ..elements import HEX8, LINE2, QUAD4
from ..elements.truss import TrussMaterial
from ..errors import ModelError
from ..materials import LinearElastic, NeoHookean, TransIsoMooneyRivlin
from ..mesh import Mesh, SolidBlock, check_mesh
from ..rigid import RIGID_DOFS, RigidBody
from . import MESH_LEVELS, AnatomicalModel

__all__ = ["build_knee", "knee_with_femur_load", "KNEE_LEVELS", "KNEE_PARAMETER_RANGES", "cartilage_material",
           "meniscus_material"]

log = logging.getLogger(__name__)

#: mesh levels: contact element size h [mm] within ``fine`` [mm] of the contact centres, grading growth,
#: cartilage / meniscus element layers, meniscus elements across the width
KNEE_LEVELS = {
    "coarse": {"h": 2.0, "fine": 8.0, "growth": 1.5, "layers": 2, "m_layers": 2, "m_radial": 3},
    "medium": {"h": 1.0, "fine": 12.0, "growth": 1.2, "layers": 3, "m_layers": 3, "m_radial": 5},
    "fine": {"h": 0.6, "fine": 12.0, "growth": 1.12, "layers": 4, "m_layers": 4, "m_radial": 8},
}

#: parameter -> (low, high), inclusive
KNEE_PARAMETER_RANGES = {
    "condyle_radius_medial": (15.0, 60.0),
    "condyle_radius_lateral": (15.0, 60.0),
    "cartilage_thickness": (0.5, 6.0),
    "flexion_deg": (-10.0, 90.0),
    "varus_valgus_deg": (-10.0, 10.0),
    "compartment_offset": (12.0, 35.0),
    "tibial_concavity_radius": (40.0, 1000.0),
    "bone_thickness": (0.5, 10.0),
    "meniscus_width": (4.0, 16.0),
    "meniscus_inner_height": (0.3, 3.0),
    "meniscus_sectors": (2, 32),
    "meniscus_edge_relief": (0.0, 1.0),
    "horn_stiffness": (1.0, 1.0e5),
}

# cartilage: instantaneous single-phase response, docs/materials.md "Articular cartilage": E = 10 MPa, nu = 0.45
# (Computational Biomechanics of the Musculoskeletal System, ch. 7 -- verified text)
CARTILAGE_E, CARTILAGE_NU = 10.0, 0.45
# menisci: docs/materials.md "Menisci": E_circ = 140 MPa, E_rad = E_axial = 20 MPa, nu = 0.2 (common choice,
# verified secondary source) -> matrix mu = E_rad / (2 (1 + nu)), k = E_rad / (3 (1 - 2 nu)); fibres linear
# from stretch 1 with c5 = E_circ (no toe region: c3 = 0, lam_max = 1)
MENISCUS_E_CIRC, MENISCUS_E_RAD, MENISCUS_NU = 140.0, 20.0, 0.2
# horn attachments: total axial stiffness per horn [N/mm]; Haut Donahue et al. (2003) J Biomech studied the
# horn attachment stiffness with linear springs; the figure 2000 N/mm per horn is **unverified** (from memory)
HORN_STIFFNESS = 2000.0


def cartilage_material(name: str = "cartilage") -> NeoHookean:
    """Articular cartilage, neo-Hookean ``E = 10 MPa``, ``nu = 0.45`` (docs/materials.md, verified text)."""
    return NeoHookean(E=CARTILAGE_E, nu=CARTILAGE_NU, name=name)


def meniscus_material(fibre, name: str = "meniscus") -> TransIsoMooneyRivlin:
    """Meniscus: transversely isotropic Mooney-Rivlin with fibres along ``fibre`` (unit vector).

    Matrix from ``E_rad = 20 MPa``, ``nu = 0.2``; fibre modulus ``c5 = E_circ = 140 MPa`` from stretch 1
    (docs/materials.md, "Menisci"; the linear orthotropic values mapped to the finite-strain model as the
    docs suggest -- the along-fibre modulus is then about ``E_circ + E_rad``, an approximation).
    """
    mu = MENISCUS_E_RAD / (2.0 * (1.0 + MENISCUS_NU))
    k = MENISCUS_E_RAD / (3.0 * (1.0 - 2.0 * MENISCUS_NU))
    f = np.asarray(fibre, dtype=float)
    f = f / np.linalg.norm(f)
    return TransIsoMooneyRivlin(c1=mu / 2.0, c2=0.0, k=k, c3=0.0, c4=0.0, c5=MENISCUS_E_CIRC, lam_max=1.0,
                                fibre=tuple(float(v) for v in f), name=name)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _check_number(who: str, name: str, value, lo, hi) -> None:
    """Raise ``ValueError`` naming ``who`` and the parameter unless ``value`` is a finite number in [lo, hi]."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool) \
            or not math.isfinite(float(value)) or not (lo <= value <= hi):
        raise ValueError(f"{who}: {name} must be a number between {lo} and {hi}, got {value!r}")


def _check(name: str, value, low=None, high=None) -> None:
    lo, hi = KNEE_PARAMETER_RANGES[name] if low is None else (low, high)
    _check_number("build_knee", name, value, lo, hi)


def _graded(lo: float, c: float, hi: float, h: float, fine: float, growth: float) -> np.ndarray:
    """1D node positions from ``lo`` to ``hi`` that contain ``c``: spacing ``h`` within ``fine`` of ``c``,
    growing by ``growth`` per element beyond (the last element absorbs the remainder)."""

    def side(length: float) -> np.ndarray:
        s, step, out = 0.0, h, [0.0]
        while s + step < length - 0.5 * step:
            s += step
            out.append(s)
            if s >= fine:
                step *= growth
        out.append(length)
        return np.array(out)

    if not (lo < c < hi):
        raise ModelError(f"knee mesh: grading centre {c:.3f} outside ({lo:.3f}, {hi:.3f})")
    right = c + side(hi - c)
    left = c - side(c - lo)[::-1]
    return np.concatenate([left[:-1], right])


def _hexes(shape: tuple[int, int, int], offset: int) -> np.ndarray:
    """Hex8 connectivity (VTK order) of a structured ``(ni, nj, nk)`` node grid numbered C-order."""
    ni, nj, nk = shape
    idx = np.arange(ni * nj * nk).reshape(ni, nj, nk) + offset
    a = idx[:-1, :-1, :-1]
    b = idx[1:, :-1, :-1]
    c = idx[1:, 1:, :-1]
    d = idx[:-1, 1:, :-1]
    e = idx[:-1, :-1, 1:]
    f = idx[1:, :-1, 1:]
    g = idx[1:, 1:, 1:]
    hh = idx[:-1, 1:, 1:]
    return np.stack([a, b, c, d, e, f, g, hh], axis=-1)  # (ni-1, nj-1, nk-1, 8)


def _quads_k(shape, offset: int, k: int) -> np.ndarray:
    """Quad4 facets of the grid surface ``k = const``."""
    ni, nj, nk = shape
    idx = np.arange(ni * nj * nk).reshape(ni, nj, nk)[:, :, k] + offset
    return np.stack([idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]], axis=-1).reshape(-1, 4)


def _rot(axis, angle: float) -> np.ndarray:
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


class _Builder:
    """Accumulates structured hex blocks, regions, facet sets and lines."""

    def __init__(self):
        self.points: list[np.ndarray] = []
        self.cells: list[np.ndarray] = []
        self.regions: dict[str, list[np.ndarray]] = {}
        self.facets: dict[str, list[np.ndarray]] = {}
        self.lines: dict[str, list[np.ndarray]] = {}
        self.n_nodes = 0
        self.n_cells = 0

    def add_grid(self, P: np.ndarray, layer_region) -> int:
        """Add a structured grid ``P (ni, nj, nk, 3)``; ``layer_region(k, i, j)`` names the region of the
        cells of layer ``k`` (arrays of cell indices ``i``, ``j``). Returns the node offset."""
        off = self.n_nodes
        shape = P.shape[:3]
        H = _hexes(shape, off)
        ni, nj, nk = H.shape[:3]
        ii, jj, kk = np.meshgrid(np.arange(ni), np.arange(nj), np.arange(nk), indexing="ij")
        names = np.empty(H.shape[:3], dtype=object)
        for k in range(nk):
            names[:, :, k] = layer_region(k, ii[:, :, k], jj[:, :, k])
        H = H.reshape(-1, 8)
        names = names.ravel()
        # orientation: make every Jacobian positive (the mapping may be left-handed)
        X = P.reshape(-1, 3)
        e1 = X[H[:, 1] - off] - X[H[:, 0] - off]
        e2 = X[H[:, 3] - off] - X[H[:, 0] - off]
        e3 = X[H[:, 4] - off] - X[H[:, 0] - off]
        if np.mean(np.einsum("ij,ij->i", np.cross(e1, e2), e3)) < 0:
            H = H[:, [0, 3, 2, 1, 4, 7, 6, 5]]
        for name in np.unique(names):
            self.regions.setdefault(name, []).append(self.n_cells + np.flatnonzero(names == name))
        self.cells.append(H)
        self.points.append(X)
        self.n_nodes += X.shape[0]
        self.n_cells += H.shape[0]
        return off

    def mesh(self) -> Mesh:
        points = np.vstack(self.points)
        cells = np.vstack(self.cells).astype(np.int64)
        cell_sets = {n: {0: np.sort(np.concatenate(v))} for n, v in self.regions.items()}
        m = Mesh(points, [SolidBlock(HEX8, np.ascontiguousarray(cells))], cell_sets=cell_sets, source="knee")
        for name, parts in self.facets.items():
            conn, missing = m.orient_facets(QUAD4, np.vstack(parts), name)
            if missing.size:
                raise ModelError(f"knee mesh: {missing.size} facets of {name!r} are not on the boundary")
            m.facet_sets[name] = [(QUAD4, conn)]
            m.node_sets[name] = np.unique(conn)
        for name, v in self.regions.items():
            m.node_sets.setdefault(name, np.unique(cells[np.concatenate(v)]))
        if self.lines:
            conn = np.vstack([np.vstack(v) for v in self.lines.values()]).astype(np.int64)
            m.lines = [SolidBlock(LINE2, conn)]
            start = 0
            for name, v in self.lines.items():
                n = sum(len(a) for a in v)
                m.line_sets[name] = {0: np.arange(start, start + n)}
                start += n
        return m


# ----------------------------------------------------------------------------------------------
# the builder
# ----------------------------------------------------------------------------------------------


def build_knee(condyle_radius_medial: float = 32.0, condyle_radius_lateral: float = 28.0,
               cartilage_thickness: float = 2.5, flexion_deg: float = 0.0, varus_valgus_deg: float = 0.0,
               menisci: bool = True, mesh: str = "coarse", *, compartment_offset: float = 22.0,
               tibial_concavity_radius: float = 80.0, bone_thickness: float = 2.0,
               meniscus_width: float = 9.0, meniscus_inner_height: float = 1.0, meniscus_sectors: int = 8,
               horn_stiffness: float = HORN_STIFFNESS, meniscus_edge_relief: float = 0.0) -> AnatomicalModel:
    """Build the parametric tibiofemoral model (right knee).

    Parameters
    ----------
    condyle_radius_medial, condyle_radius_lateral : float, mm
        Radii of the femoral articular surfaces (spheres), 15-60 mm. Defaults 32 / 28 mm: sagittal radii of
        the distal femoral condyles are commonly quoted at about 20-40 mm (the posterior "flexion facets"
        about 20 mm, the distal "extension facets" larger, the medial larger than the lateral; **unverified**,
        after Iwaki et al. 2000).
    cartilage_thickness : float, mm
        Thickness of every femoral and tibial cartilage layer, 0.5-6 mm (knee cartilage about 2-3 mm).
    flexion_deg : float, degrees
        Knee flexion, -10 to 90 (rotation of the femur about the axis through the condyle centres).
    varus_valgus_deg : float, degrees
        Frontal-plane tilt of the femur about the anterior-posterior axis through the knee centre, -10 to 10;
        positive = varus (medial condyle lowered: more medial load), negative = valgus.
    menisci : bool
        Include the medial and lateral menisci (sectors, horn springs and their contacts).
    mesh : {"coarse", "medium", "fine"}
        Element size at the contact centres 2.0 / 1.0 / 0.6 mm, 2 / 3 / 4 cartilage layers.
    compartment_offset : float, mm
        Distance of each compartment centre from the midline ``y = 0``, 12-35 mm (about 20-25 mm).
    tibial_concavity_radius : float, mm
        Radius of the concave medial plateau, 40-1000 mm, larger than 1.25 x the medial condyle radius
        (**unverified** generic value 80 mm).
    bone_thickness : float, mm
        Thickness of the rigid subchondral bone layers (they only carry the rigid bodies).
    meniscus_width, meniscus_inner_height : float, mm
        Radial width of each meniscus and the height of its inner (free) edge.
    meniscus_sectors : int
        Angular sectors per meniscus (one fibre direction each), 2-32.
    horn_stiffness : float, N/mm
        Total axial stiffness of the springs of each horn attachment (**unverified** default 2000 N/mm).
    meniscus_edge_relief : float, mm
        0-1, less than ``meniscus_inner_height``. With 0 each meniscus's underside follows the tibial surface to
        its inner edge, whose square corner presses on the tibial cartilage (a contact-pressure singularity: the
        plateau peak there grows with every mesh refinement, docs/validation.md "Mesh convergence"). A relief
        ``d > 0`` lifts the underside quadratically towards the free edge over the inner third of the width, by
        ``d`` at the edge (not measured; real menisci taper to a thin free edge).

    Returns
    -------
    AnatomicalModel
        Regions ``femur``, ``tibia`` (rigid bodies ``femur`` and ``tibia``), ``femoral_cartilage_medial``,
        ``femoral_cartilage_lateral``, ``tibial_cartilage_medial``, ``tibial_cartilage_lateral`` and with menisci
        ``meniscus_medial``/``meniscus_lateral`` (unions of ``meniscus_*_s<k>``); facet sets
        ``tibial_cartilage_{medial,lateral}_surface``, ``femoral_cartilage_{medial,lateral}_surface``,
        ``meniscus_{side}_{top,bottom}``; landmarks ``femur_reference`` (knee centre between the condyle
        centres), ``medial/lateral_condyle_centre``, ``medial/lateral_compartment_centre`` (tibial plateau
        centres, on the surface) and ``medial/lateral_first_contact``. The femur is a rigid body with all
        DOFs but ``z`` held and no load (use :func:`knee_with_femur_load`); the tibia is fixed in all DOFs.
    """
    params = dict(condyle_radius_medial=condyle_radius_medial, condyle_radius_lateral=condyle_radius_lateral,
                  cartilage_thickness=cartilage_thickness, flexion_deg=flexion_deg,
                  varus_valgus_deg=varus_valgus_deg, compartment_offset=compartment_offset,
                  tibial_concavity_radius=tibial_concavity_radius, bone_thickness=bone_thickness,
                  meniscus_width=meniscus_width, meniscus_inner_height=meniscus_inner_height,
                  meniscus_sectors=meniscus_sectors, horn_stiffness=horn_stiffness,
                  meniscus_edge_relief=meniscus_edge_relief)
    for k, v in params.items():
        _check(k, v)
    if meniscus_edge_relief >= meniscus_inner_height:
        raise ValueError(f"build_knee: meniscus_edge_relief must be less than meniscus_inner_height "
                         f"({meniscus_inner_height!r} mm), got {meniscus_edge_relief!r}")
    if not isinstance(meniscus_sectors, (int, np.integer)):
        raise ValueError(f"build_knee: meniscus_sectors must be an integer, got {meniscus_sectors!r}")
    if not isinstance(menisci, (bool, np.bool_)):
        raise ValueError(f"build_knee: menisci must be True or False, got {menisci!r}")
    if mesh not in MESH_LEVELS:
        raise ValueError(f"build_knee: mesh must be one of {list(MESH_LEVELS)}, got {mesh!r}")
    if tibial_concavity_radius < 1.25 * condyle_radius_medial:
        raise ValueError(f"build_knee: tibial_concavity_radius must be at least 1.25 x condyle_radius_medial "
                         f"= {1.25 * condyle_radius_medial:.4g} mm (the plateau must be shallower than the "
                         f"condyle), got {tibial_concavity_radius!r}")
    params.update(menisci=bool(menisci), mesh=mesh)
    lv = KNEE_LEVELS[mesh]
    h, growth, nlay = lv["h"], lv["growth"], lv["layers"]
    t = float(cartilage_thickness)
    c_off = float(compartment_offset)

    # plateau half-extents (AP, ML): generic, large enough for the menisci; they must not overlap at y = 0
    half_ap = {"medial": 24.0, "lateral": 22.0}
    half_ml = min(20.0, c_off - 1.0)
    R = {"medial": float(condyle_radius_medial), "lateral": float(condyle_radius_lateral)}
    Rt = {"medial": float(tibial_concavity_radius), "lateral": math.inf}
    sign = {"medial": 1.0, "lateral": -1.0}
    ctib = {s: np.array([0.0, sign[s] * c_off]) for s in R}

    def tib_surface(s, x, y):
        """Height of the tibial articular surface [mm]."""
        if math.isinf(Rt[s]):
            return np.zeros_like(np.asarray(x, dtype=float))
        r2 = (x - ctib[s][0]) ** 2 + (y - ctib[s][1]) ** 2
        return Rt[s] - np.sqrt(np.maximum(Rt[s] ** 2 - r2, 0.0))

    # femur pose (before lowering): condyle centres above the compartment centres, articular surfaces
    # touching z = 0
    C0 = {s: np.array([0.0, sign[s] * c_off, R[s]]) for s in R}
    axis_fl = C0["medial"] - C0["lateral"]  # +y-ish: medial-lateral axis through the centres
    Q_fl = _rot(axis_fl, -math.radians(flexion_deg))  # flexion: shaft turns posteriorly
    K0 = 0.5 * (C0["medial"] + C0["lateral"])
    Q_vv = _rot((1.0, 0.0, 0.0), -math.radians(varus_valgus_deg))  # varus: medial (+y) goes down
    Q = Q_vv @ Q_fl

    def pose(p, dz=0.0):
        p = np.asarray(p, dtype=float)
        q = (p - C0["lateral"]) @ Q_fl.T + C0["lateral"]
        q = (q - K0) @ Q_vv.T + K0
        return q + np.array([0.0, 0.0, dz])

    C1 = {s: pose(C0[s]) for s in R}

    # first-contact geometry per compartment: closest point and the gap as a function of lowering
    def contact_point(s, centre):
        if math.isinf(Rt[s]):
            return np.array([centre[0], centre[1], centre[2] - R[s]]), centre[2] - R[s]
        Ct = np.array([ctib[s][0], ctib[s][1], Rt[s]])
        d = centre - Ct
        n = d / np.linalg.norm(d)
        return Ct + Rt[s] * n, Rt[s] - np.linalg.norm(d) - R[s]

    # weighted gap of the tibial node under the first contact (bilinear hat of size h on a sphere of
    # relative radius R_eff, plus the chord sag of the femoral facets): lower the femur by that much more
    # so that the contact is active at the start (interference)
    def interference(s):
        Reff = 1.0 / (1.0 / R[s] - (0.0 if math.isinf(Rt[s]) else 1.0 / Rt[s]))
        return 1.25 * (h**2 / (6.0 * Reff) + h**2 / (8.0 * R[s])) + 1e-4

    gaps = {s: contact_point(s, C1[s])[1] for s in R}
    first = min(R, key=lambda s: gaps[s] - interference(s))
    dz = -(gaps[first] + interference(first))
    C = {s: C1[s] + [0, 0, dz] for s in R}
    K = pose(K0, dz)
    cp = {s: contact_point(s, C[s])[0] for s in R}

    B = _Builder()
    # --- tibial plateaus: i -> x, j -> y, k -> z (bone below cartilage)
    for s in ("medial", "lateral"):
        xc, yc = cp[s][0], cp[s][1]
        lo_x, hi_x = ctib[s][0] - half_ap[s], ctib[s][0] + half_ap[s]
        lo_y, hi_y = ctib[s][1] - half_ml, ctib[s][1] + half_ml
        if not (lo_x + 2 * h < xc < hi_x - 2 * h and lo_y + 2 * h < yc < hi_y - 2 * h):
            raise ModelError(f"build_knee: the {s} femoral condyle touches the tibia outside its plateau at "
                             f"({xc:.1f}, {yc:.1f}) mm; reduce varus_valgus_deg or change the radii")
        fine = lv["fine"]
        xs = _graded(lo_x, xc, hi_x, h, fine, growth)
        ys = _graded(lo_y, yc, hi_y, h, fine, growth)
        X, Y = np.meshgrid(xs, ys, indexing="ij")
        top = tib_surface(s, X, Y)
        zk = np.concatenate([[-t - bone_thickness], -t + t * np.arange(nlay + 1) / nlay])
        P = np.empty(X.shape + (zk.size, 3))
        P[..., 0] = X[..., None]
        P[..., 1] = Y[..., None]
        P[..., 2] = top[..., None] + zk
        off = B.add_grid(P, lambda k, i, j, s=s: np.full(i.shape, "tibia" if k == 0 else f"tibial_cartilage_{s}",
                                                         dtype=object))
        B.facets.setdefault(f"tibial_cartilage_{s}_surface", []).append(_quads_k(P.shape[:3], off, zk.size - 1))
        B.facets.setdefault(f"tibia_{s}_bottom", []).append(_quads_k(P.shape[:3], off, 0))
        if s == "medial":
            tib_grid = {}
        tib_grid[s] = (off, P.shape[:3], P)

    # --- femoral condyles: i -> sagittal angle phi (posterior positive), j -> frontal angle psi (medial
    # positive), k -> radius (bone inside, cartilage outside); material frame, then posed
    for s in ("medial", "lateral"):
        # material direction of the first contact point
        d_world = (cp[s] - C[s]) / np.linalg.norm(cp[s] - C[s])
        d_mat = Q.T @ d_world
        psi_c = math.asin(float(np.clip(d_mat[1], -1, 1)))
        phi_c = math.atan2(-d_mat[0], -d_mat[2])
        Rs = R[s]
        ml = min(half_ml, 0.9 * Rs)
        psi_max = math.asin(ml / Rs)
        dphi = h / Rs
        phis = _graded(math.radians(-50.0), phi_c, math.radians(110.0), dphi, lv["fine"] / Rs, growth)
        psis = _graded(-psi_max, psi_c, psi_max, dphi, lv["fine"] / Rs, growth)
        PH, PS = np.meshgrid(phis, psis, indexing="ij")
        D = np.stack([-np.cos(PS) * np.sin(PH), np.sin(PS), -np.cos(PS) * np.cos(PH)], axis=-1)
        rk = np.concatenate([[Rs - t - bone_thickness], Rs - t + t * np.arange(nlay + 1) / nlay])
        P = C0[s] + D[:, :, None, :] * rk[None, None, :, None]
        P = pose(P.reshape(-1, 3), dz).reshape(P.shape)
        off = B.add_grid(P, lambda k, i, j, s=s: np.full(i.shape, "femur" if k == 0 else f"femoral_cartilage_{s}",
                                                         dtype=object))
        B.facets.setdefault(f"femoral_cartilage_{s}_surface", []).append(_quads_k(P.shape[:3], off, rk.size - 1))

    horns = {}
    if menisci:
        _add_menisci(B, lv, R, C, cp, ctib, tib_surface, tib_grid, sign, half_ap, half_ml,
                     float(meniscus_width), float(meniscus_inner_height), int(meniscus_sectors), horns,
                     float(meniscus_edge_relief))

    m = B.mesh()
    if menisci:
        for s in ("medial", "lateral"):
            parts = [m.cell_sets[f"meniscus_{s}_s{k}"][0] for k in range(meniscus_sectors)]
            m.cell_sets[f"meniscus_{s}"] = {0: np.sort(np.concatenate(parts))}
            m.node_sets[f"meniscus_{s}"] = np.unique(m.solids[0].cells[m.cell_sets[f"meniscus_{s}"][0]])
    # the tibia is fixed as a rigid body; its bottom nodes are also a node set for users who make it elastic
    m.node_sets["tibial_fixation"] = np.union1d(m.node_sets["tibia_medial_bottom"], m.node_sets["tibia_lateral_bottom"])
    check_mesh(m)

    # --- materials, rigid bodies, trusses, contacts
    cart = cartilage_material()
    # the bones are rigid: their material is ignored, but the default contact penalty scales with the largest
    # modulus of all materials, so give them the cartilage's
    materials = {"femur": LinearElastic(CARTILAGE_E, 0.3, name="femur (rigid)"),
                 "tibia": LinearElastic(CARTILAGE_E, 0.3, name="tibia (rigid)")}
    for s in ("medial", "lateral"):
        materials[f"femoral_cartilage_{s}"] = replace(cart, name=f"femoral_cartilage_{s}")
        materials[f"tibial_cartilage_{s}"] = replace(cart, name=f"tibial_cartilage_{s}")
    penalty = 10.0 * CARTILAGE_E / h
    # the closest-point search dominates the cost: points farther than a few elements from the other surface
    # cannot come into contact within one Newton iteration, and one subdivision level suffices for the
    # (nearly) matching facet sizes at the contact centres
    contact_opts = dict(penalty=penalty, search_radius=max(2.0 * h, 2.5), subdivision=1)
    contacts = []
    for s in ("medial", "lateral"):
        contacts.append(SurfaceContact(slave=f"tibial_cartilage_{s}_surface",
                                       master=f"femoral_cartilage_{s}_surface", name=f"tibiofemoral_{s}",
                                       **contact_opts))
    trusses = {}
    if menisci:
        for s in ("medial", "lateral"):
            for k in range(meniscus_sectors):
                materials[f"meniscus_{s}_s{k}"] = meniscus_material(horns[s]["fibres"][k],
                                                                   name=f"meniscus_{s}_s{k}")
            # springs: one line set per meniscus; E A = k_spring * mean length
            L = horns[s]["lengths"]
            k_spring = horn_stiffness / (0.5 * L.size)  # two horns share the springs equally
            trusses[f"meniscus_{s}_horns"] = TrussMaterial("linear", E=None, area=1.0, k=k_spring * float(L.mean()),
                                                           name=f"meniscus_{s}_horns")
            contacts.append(SurfaceContact(slave=f"meniscus_{s}_top", master=f"femoral_cartilage_{s}_surface",
                                           name=f"femur_meniscus_{s}", **contact_opts))
            contacts.append(SurfaceContact(slave=f"meniscus_{s}_bottom", master=f"tibial_cartilage_{s}_surface",
                                           name=f"meniscus_tibia_{s}", **contact_opts))
    rigid = [RigidBody("tibia", reference=(0.0, 0.0, -t - bone_thickness),
                       prescribed={k: 0.0 for k in range(6)}, name="tibia"),
             RigidBody("femur", reference=tuple(float(v) for v in K),
                       prescribed={k: 0.0 for k in (0, 1, 3, 4, 5)}, name="femur")]
    landmarks = {
        "femur_reference": K,
        "medial_condyle_centre": C["medial"], "lateral_condyle_centre": C["lateral"],
        "medial_compartment_centre": np.array([*ctib["medial"], float(tib_surface("medial", *ctib["medial"]))]),
        "lateral_compartment_centre": np.array([*ctib["lateral"], float(tib_surface("lateral", *ctib["lateral"]))]),
        "medial_first_contact": cp["medial"], "lateral_first_contact": cp["lateral"],
    }
    params.update(interference_mm=interference(first), first_contact=first,
                  initial_gap_mm={s: float(contact_point(s, C[s])[1]) for s in R}, element_size_mm=h)
    return AnatomicalModel(name="knee", mesh=m, materials=materials, trusses=trusses, rigid_bodies=rigid,
                           contacts=contacts, landmarks=landmarks, params=params)


def knee_with_femur_load(model: AnatomicalModel, force=(0.0, 0.0, -1150.0), moment=(0.0, 0.0, 0.0),
                         free=("z",), curve=None) -> AnatomicalModel:
    """The knee model with its femur pushed by ``force`` [N] and ``moment`` [N mm] at ``femur_reference``.

    ``free`` lists the femur's DOFs left free (of ``x y z rx ry rz``); the others are held at zero. With
    ``rx`` free, a moment about ``x`` shifts load between the compartments: for this right knee (``y``
    medial) a **negative** ``moment[0]`` presses the medial condyle down (a knee adduction / varus moment).
    The model itself is not changed; its contacts are copied fresh (a contact keeps solver state after a
    solve, so build or copy a model per solve).
    """
    bad = [d for d in free if d not in RIGID_DOFS]
    if bad:
        raise ValueError(f"knee_with_femur_load: free DOFs must be among {list(RIGID_DOFS)}, got {bad}")
    bodies = []
    for b in model.rigid_bodies:
        if b.name == "femur":
            kw = dict(prescribed={RIGID_DOFS[d]: 0.0 for d in RIGID_DOFS if d not in free},
                      force=tuple(float(v) for v in force), moment=tuple(float(v) for v in moment))
            if curve is not None:
                kw["curve"] = curve
            b = replace(b, **kw)
        bodies.append(b)
    return replace(model, rigid_bodies=bodies, contacts=[replace(c) for c in model.contacts])


# ----------------------------------------------------------------------------------------------
# menisci
# ----------------------------------------------------------------------------------------------


def _add_menisci(B, lv, R, C, cp, ctib, tib_surface, tib_grid, sign, half_ap, half_ml, width, h_in, nsec, horns,
                 relief=0.0):
    """Add the two menisci (structured hex8 C-rings) and their horn springs to the builder."""
    h = lv["h"]
    for s in ("medial", "lateral"):
        c = cp[s][:2]
        Rs, Cs = R[s], C[s]

        def top(x, y, Cs=Cs, Rs=Rs):  # lower surface of the femoral articular sphere
            r2 = (x - Cs[0]) ** 2 + (y - Cs[1]) ** 2
            return Cs[2] - np.sqrt(np.maximum(Rs**2 - r2, 0.0))

        # opening of the C towards the intercondylar notch (y -> 0): medial wider than lateral
        opening = math.radians(100.0 if s == "medial" else 60.0)
        th_notch = -math.pi / 2 if s == "medial" else math.pi / 2
        th0 = th_notch + opening / 2
        th1 = th_notch + 2 * math.pi - opening / 2
        # inner radius: where the space between femur and tibia is h_in high (smallest over the ring)
        thetas_probe = np.linspace(th0, th1, 64)
        r_in = None
        for r in np.linspace(2.0, 25.0, 461):
            x = c[0] + r * np.cos(thetas_probe)
            y = c[1] + r * np.sin(thetas_probe)
            if np.min(top(x, y) - tib_surface(s, x, y)) >= h_in:
                r_in = r
                break
        if r_in is None:
            raise ModelError(f"build_knee: no room for the {s} meniscus (inner height {h_in} mm)")
        r_out = r_in + width
        x_ext = c[0] + r_out * np.cos(thetas_probe)
        y_ext = c[1] + r_out * np.sin(thetas_probe)
        if (np.abs(x_ext - ctib[s][0]).max() > half_ap[s] - 0.5 or np.abs(y_ext - ctib[s][1]).max() > half_ml - 0.5
                or r_out > 0.95 * Rs):
            raise ModelError(f"build_knee: the {s} meniscus (radius {r_in:.1f}-{r_out:.1f} mm) does not fit on "
                             f"its plateau; reduce meniscus_width or the condyle radius")
        n_th = max(nsec, int(math.ceil((th1 - th0) * (r_in + r_out) / 2 / (1.5 * h) / nsec)) * nsec)
        ths = np.linspace(th0, th1, n_th + 1)
        rs = np.linspace(r_in, r_out, lv["m_radial"] + 1)
        nz = lv["m_layers"]
        TH, RR = np.meshgrid(ths, rs, indexing="ij")
        X = c[0] + RR * np.cos(TH)
        Y = c[1] + RR * np.sin(TH)
        zb, zt = tib_surface(s, X, Y), top(X, Y)
        # edge relief: the underside rises towards the free inner edge (quadratically over the inner third of
        # the width), so that the edge is not a square corner pressed onto the tibial cartilage
        zb = zb + relief * np.clip(1.0 - (RR - r_in) / (width / 3.0), 0.0, 1.0) ** 2
        w = np.arange(nz + 1) / nz
        P = np.empty(X.shape + (nz + 1, 3))
        P[..., 0] = X[..., None]
        P[..., 1] = Y[..., None]
        P[..., 2] = zb[..., None] + (zt - zb)[..., None] * w
        per = n_th // nsec
        off = B.add_grid(P, lambda k, i, j, s=s, per=per: np.array([f"meniscus_{s}_s{min(v // per, nsec - 1)}"
                                                           for v in i.ravel()], dtype=object).reshape(i.shape))
        shape = P.shape[:3]
        B.facets.setdefault(f"meniscus_{s}_top", []).append(_quads_k(shape, off, nz))
        B.facets.setdefault(f"meniscus_{s}_bottom", []).append(_quads_k(shape, off, 0))
        mids = th0 + (np.arange(nsec) + 0.5) * (th1 - th0) / nsec
        fibres = [np.array([-math.sin(a), math.cos(a), 0.0]) for a in mids]
        # horn springs: every node of each horn end face to the tibial bone-top node nearest to a point 6 mm
        # beyond the horn along the ring's tangent, at the bone surface
        toff, tshape, TP = tib_grid[s]
        bone_top = TP[:, :, 1, :].reshape(-1, 3)
        bone_idx = (np.arange(np.prod(tshape)).reshape(tshape)[:, :, 1] + toff).ravel()
        idx = np.arange(np.prod(shape)).reshape(shape) + off
        lines, lengths = [], []
        for end, th, tdir in ((0, th0, -1.0), (-1, th1, 1.0)):
            face = idx[end].ravel()
            tang = tdir * np.array([-math.sin(th), math.cos(th), 0.0])
            for a in face:
                pa = P.reshape(-1, 3)[a - off]
                target = pa + 6.0 * tang
                target[2] = tib_surface(s, target[0], target[1]) - 2.0
                j = int(np.argmin(np.linalg.norm(bone_top - target, axis=1)))
                lines.append((a, bone_idx[j]))
                lengths.append(float(np.linalg.norm(bone_top[j] - pa)))
        B.lines.setdefault(f"meniscus_{s}_horns", []).append(np.array(lines, dtype=np.int64))
        horns[s] = {"fibres": fibres, "lengths": np.array(lengths), "r_in": r_in, "r_out": r_out}
