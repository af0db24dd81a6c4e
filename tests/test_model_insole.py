"""The parametric insole and user insert meshes (fesolver.models.insole).

Shapes are checked on the nodes of the built mesh: thickness (bottom at -t, flat top at 0: exact), posting tilt
(least-squares plane of the top nodes in the fully posted region: slope = tan(angle) to 1e-9, it is exact),
arch-support peak (3 %: the mesh samples the smooth bump), heel-cup rim (edge nodes at the full depth to 1e-9).
Meshes: valid at the three levels, volume = outline area x thickness (1e-9, flat insole), reproducible, the left
insole the mirror of the right. Solve: the coarse insole pressed 0.06 mm (1 %) by a rigid plane converges and
its force lies between the uniaxial-stress and the confined-compression bounds. Import: STL ellipsoid and box
tetrahedralised (volume within 1e-9 of the faceted surface's), a VTU volume mesh, an open surface refused.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fesolver.contact import RigidPlane
from fesolver.errors import MeshError, ModelError
from fesolver.loads import FixedDisplacement, Selection
from fesolver.materials import Hyperfoam
from fesolver.models import AnatomicalModel
from fesolver.models.insole import MESH_SIZES, build_insole, insole_from_mesh
from fesolver.models.library import insole_material
from fesolver.solvers.newton import NewtonOptions

L = 260.0


def top_nodes(m: AnatomicalModel) -> np.ndarray:
    return m.mesh.points[m.mesh.node_sets["insole_top"]]


def tet_volumes(m: AnatomicalModel) -> np.ndarray:
    b = m.mesh.solids[0]
    p = m.mesh.points[b.cells]
    return np.einsum("ei,ei->e", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p[:, 3] - p[:, 0]) / 6.0


def tri_areas(points, tris) -> np.ndarray:
    p = points[tris]
    return np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])  # area vectors x 2


# ----------------------------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------------------------


def _distance(p, poly):
    from fesolver.models.insole import _distance_to_polygon

    return _distance_to_polygon(p[:, :2], poly)


def test_brim_widens_the_outline_by_its_width():
    """The brim offsets the fitted outline outwards by its width all round (heel, sides, toe): the outline's
    bounding box grows by 2 x 15 mm and its area by about perimeter x 15 mm; the flat top stays at 0."""
    from fesolver.models.insole import _insole_outline

    fit, wide = build_insole(thickness=6.0, brim=0.0), build_insole(thickness=6.0, brim=15.0)
    lo0, hi0 = fit.mesh.bounding_box()
    lo1, hi1 = wide.mesh.bounding_box()
    np.testing.assert_allclose((lo0 - lo1)[:2], 15.0, rtol=0.02)
    np.testing.assert_allclose((hi1 - hi0)[:2], 15.0, rtol=0.02)
    poly = _insole_outline(L, 1.0)
    per = np.linalg.norm(np.roll(poly, -1, axis=0) - poly, axis=1).sum()
    v0, v1 = tet_volumes(fit).sum() / 6.0, tet_volumes(wide).sum() / 6.0
    assert v1 - v0 == pytest.approx(per * 15.0 + math.pi * 15.0**2, rel=0.03)
    np.testing.assert_allclose(top_nodes(wide)[:, 2], 0.0, atol=1e-12)
    # every point of the brim is 15 mm or less outside the fit; the wide outline's boundary is 15 mm from it
    q = wide.mesh.points[wide.mesh.node_sets["insole_top"]]
    bnd = q[_distance(q, _insole_outline(L, 1.0, brim=15.0)) < 1e-9]
    np.testing.assert_allclose(_distance(bnd, poly), 15.0, rtol=0.02)


def test_flat_insole_thickness_sets_and_volume():
    m = build_insole(thickness=6.0, brim=0.0)
    assert isinstance(m, AnatomicalModel) and m.name == "insole"
    m.require(cell_sets=["insole"], facet_sets=["insole_top", "insole_bottom"], node_sets=["insole_top"])
    pts = m.mesh.points
    np.testing.assert_allclose(pts[m.mesh.node_sets["insole_top"], 2], 0.0, atol=1e-12)
    np.testing.assert_allclose(pts[m.mesh.node_sets["insole_bottom"], 2], -6.0, atol=1e-12)
    assert pts[:, 2].min() == pytest.approx(-6.0) and pts[:, 2].max() == pytest.approx(0.0, abs=1e-12)
    (_, top), = m.mesh.facet_sets["insole_top"]
    (_, bottom), = m.mesh.facet_sets["insole_bottom"]
    at, ab = tri_areas(pts, top), tri_areas(pts, bottom)
    assert np.all(at[:, 2] > 0) and np.all(ab[:, 2] < 0)  # outward normals: top +z, bottom -z
    area = 0.5 * at[:, 2].sum()
    assert 0.5 * -ab[:, 2].sum() == pytest.approx(area, rel=1e-12)
    vol = tet_volumes(m)
    assert vol.min() > 0 and vol.sum() == pytest.approx(area * 6.0, rel=1e-9)
    # a foot-shaped outline fills about 3/4 of its bounding box; width about 0.395 L (0.38 L foot x 1.04), a
    # little longer than the foot at both ends
    span = pts.max(axis=0) - pts.min(axis=0)
    assert 0.65 < area / (span[0] * span[1]) < 0.85
    assert 0.36 * L < span[1] < 0.42 * L
    assert -0.03 * L < pts[:, 0].min() < 0.0 and L < pts[:, 0].max() < 1.03 * L


@pytest.mark.parametrize("region", ["rearfoot", "full"])
@pytest.mark.parametrize("deg", [6.0, -4.0])
def test_posting_tilt_measured_on_the_top_surface(deg, region):
    from fesolver.models.insole import _inside, _insole_outline

    m = build_insole(posting_deg=deg, posting_region=region)
    p = top_nodes(m)
    fit = _inside(p[:, :2], _insole_outline(L, 1.0)) | (_distance(p, _insole_outline(L, 1.0)) < 1e-9)
    sel = (p[:, 0] < (0.28 * L if region == "rearfoot" else L)) & fit
    A = np.column_stack([p[sel, 0], p[sel, 1], np.ones(sel.sum())])
    (ax, ay, _), *_ = np.linalg.lstsq(A, p[sel, 2], rcond=None)
    assert math.degrees(math.atan(ay)) == pytest.approx(deg, abs=1e-9)
    assert abs(ax) < 1e-9
    # the wedge adds material: its plane is at 0 on the low edge of the posted region's fitted outline
    ys = _insole_outline(L, 1.0)
    ys = ys[ys[:, 0] <= (0.45 * L if region == "rearfoot" else L), 1]
    (_, _, c), *_ = np.linalg.lstsq(A, p[sel, 2], rcond=None)
    assert c + math.tan(math.radians(deg)) * (ys.min() if deg > 0 else ys.max()) == pytest.approx(0.0, abs=1e-9)
    if region == "rearfoot":  # no posting in the forefoot
        np.testing.assert_allclose(p[p[:, 0] > 0.46 * L, 2], 0.0, atol=1e-12)
    medial_higher = p[sel][np.argmax(p[sel, 2]), 1] > 0
    assert medial_higher == (deg > 0)
    # the brim beyond the fitted outline: the wedge's plane beyond the high edge; beyond the low edge the top bends
    # smoothly down (height and slope continuous at the edge, exponential, never below half the thickness)
    brim = ~fit & (p[:, 0] < (0.28 * L if region == "rearfoot" else L)) & (p[:, 0] > 0.05 * L)
    low = brim & ((p[:, 1] <= ys.min()) if deg > 0 else (p[:, 1] >= ys.max()))
    high = brim & ~low
    assert low.sum() >= 3 and high.sum() >= 3
    t, dip = math.tan(math.radians(abs(deg))), 0.5 * 6.0
    d = (p[low, 1] - ys.min()) if deg > 0 else (ys.max() - p[low, 1])  # <= 0 beyond the low edge
    np.testing.assert_allclose(p[low, 2], -dip * (1.0 - np.exp(t * d / dip)), atol=1e-12)  # x < 0.3 L: full post
    assert np.all(p[low, 2] < 0.0) and np.all(p[low, 2] > -dip)
    np.testing.assert_allclose(p[high, 2], np.column_stack([p[high, 0], p[high, 1], np.ones(high.sum())])
                               @ np.linalg.lstsq(A, p[sel, 2], rcond=None)[0], atol=1e-9)
    np.testing.assert_allclose(m.mesh.points[m.mesh.node_sets["insole_bottom"], 2], -6.0)


@pytest.mark.parametrize("shape", ["cosine", "gaussian", "plateau"])
def test_arch_support_bump_height_and_place(shape):
    h = 12.0
    m = build_insole(arch_support_height=h, arch_support_shape=shape, mesh="medium")
    p = top_nodes(m)
    k = np.argmax(p[:, 2])
    assert p[k, 2] == pytest.approx(h, rel=0.03) and p[:, 2].max() <= h * (1 + 1e-12)
    assert 0.35 * L < p[k, 0] < 0.55 * L and p[k, 1] > 0  # medial midfoot
    lateral_half = p[:, 1] < np.median(p[:, 1]) - 5.0
    assert np.abs(p[lateral_half, 2]).max() < 1e-12
    assert np.abs(p[(p[:, 0] < 0.24 * L) | (p[:, 0] > 0.66 * L), 2]).max() < 1e-12
    assert m.landmarks["arch_support_peak"][2] == h


def test_heel_cup_rim():
    d = 10.0
    m = build_insole(heel_cup_depth=d)
    p = top_nodes(m)
    heel = p[:, 0] < 0.12 * L
    from fesolver.models.insole import BRIM, _distance_to_polygon, _inside, _insole_outline

    fit = _insole_outline(L, 1.0)
    dist = np.where(_inside(p[:, :2], fit), _distance(p, fit), 0.0)
    edge = heel & (dist < 1e-6)  # on the brim around the heel: the rim's full height
    assert edge.sum() >= 5 and (_distance_to_polygon(p[edge, :2], fit) > 0.5 * BRIM).any()
    np.testing.assert_allclose(p[edge, 2], d, rtol=1e-9)
    centre = heel & (dist > 0.08 * L)
    assert centre.any() and np.abs(p[centre, 2]).max() < 1e-12
    assert np.abs(p[p[:, 0] > 0.29 * L, 2]).max() < 1e-12  # the cup ends behind the midfoot
    # the rim rises monotonically towards the edge
    order = np.argsort(dist[heel])
    assert np.all(np.diff(p[heel][order, 2]) <= 1e-12)


def test_forefoot_extent_truncates():
    m = build_insole(forefoot_extent=0.75)
    assert m.mesh.points[:, 0].max() == pytest.approx(0.75 * L, abs=1e-9)
    full = build_insole()
    assert tet_volumes(m).sum() < tet_volumes(full).sum()


# ----------------------------------------------------------------------------------------------
# Meshes
# ----------------------------------------------------------------------------------------------


def test_three_mesh_levels_are_valid_and_refine():
    sizes = []
    for level in ("coarse", "medium", "fine"):
        m = build_insole(mesh=level, heel_cup_depth=6.0, arch_support_height=8.0, posting_deg=4.0)
        vol = tet_volumes(m)
        assert vol.min() > 0
        # element quality: no sliver (radius ratio proxy: volume / mean edge^3)
        b = m.mesh.solids[0].cells
        p = m.mesh.points[b]
        edges = [np.linalg.norm(p[:, i] - p[:, j], axis=1) for i, j in ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))]
        q = 6.0 * math.sqrt(2.0) * vol / np.mean(edges, axis=0) ** 3  # 1 for a regular tet
        assert q.min() > 0.02, level
        sizes.append((m.mesh.n_nodes, m.mesh.n_solid_elements))
        assert m.params["element_size_mm"] == MESH_SIZES[level][0]
    assert sizes[0][1] < sizes[1][1] < sizes[2][1]
    assert sizes[2][1] < 120_000  # "fine" stays usable on a laptop


def test_build_is_reproducible():
    a = build_insole(heel_cup_depth=5.0, arch_support_height=6.0, posting_deg=3.0)
    b = build_insole(heel_cup_depth=5.0, arch_support_height=6.0, posting_deg=3.0)
    assert np.array_equal(a.mesh.points, b.mesh.points)
    assert np.array_equal(a.mesh.solids[0].cells, b.mesh.solids[0].cells)
    assert a.params == b.params


def test_left_is_the_mirror_of_the_right():
    r = build_insole(posting_deg=5.0, arch_support_height=8.0)
    left = build_insole(posting_deg=5.0, arch_support_height=8.0, side="left")
    np.testing.assert_allclose(left.mesh.points, r.mesh.points * [1.0, -1.0, 1.0])
    assert tet_volumes(left).min() > 0
    (_, top), = left.mesh.facet_sets["insole_top"]
    assert np.all(tri_areas(left.mesh.points, top)[:, 2] > 0)
    assert left.landmarks["arch_support_peak"][1] < 0  # medial is -y for a left foot


def test_materials_by_name_or_object():
    assert isinstance(build_insole().materials["insole"], Hyperfoam)
    own = Hyperfoam(mu=(0.5,), alpha=(8.0,), nu=0.2, name="mine")
    assert build_insole(material=own).materials["insole"] is own
    assert build_insole(material="rigid_shell").materials["insole"].E == insole_material("rigid_shell").E
    with pytest.raises(ModelError, match="unknown insole material 'foo'"):
        build_insole(material="foo")


@pytest.mark.parametrize("kw, words", [
    (dict(posting_deg=20.0), "posting_deg must be between -15.0 and 15.0 deg, got 20.0"),
    (dict(thickness=0.0), "thickness must be between"),
    (dict(mesh="ultra"), "mesh must be one of"),
    (dict(posting_region="midfoot"), "posting_region must be one of"),
    (dict(arch_support_shape="square"), "arch_support_shape must be one of"),
    (dict(forefoot_extent=0.1), "forefoot_extent must be between"),
    (dict(side="both"), "side must be one of"),
    (dict(brim=-1.0), "brim must be between 0.0 and 30.0 mm, got -1.0"),
    (dict(midsole_thickness=1.0), "midsole_thickness must be between 2.0 and 50.0 mm, got 1.0"),
    (dict(midsole_thickness=10.0, midsole_material="steel"), "unknown insole material 'steel'"),
])
def test_bad_parameters_are_refused(kw, words):
    with pytest.raises(ModelError, match=words.replace("(", r"\(")):
        build_insole(**kw)


# ----------------------------------------------------------------------------------------------
# Solve: compress the coarse insole between rigid planes
# ----------------------------------------------------------------------------------------------


def test_coarse_insole_compression_between_rigid_planes_converges():
    m = build_insole(mesh="coarse", thickness=6.0, material="eva_medium")
    delta = 0.06  # mm, 1 % of the thickness: about 0.5 kN on the EVA insole
    ground = FixedDisplacement(Selection(name="insole_bottom"), {0: 0.0, 1: 0.0, 2: 0.0}, name="ground")
    plate = RigidPlane(surface="insole_top", name="plate", point=(0.0, 0.0, 0.0), normal=(0.0, 0.0, -1.0),
                       motion=(0.0, 0.0, -delta))
    res = m.problem(bcs=[ground], contacts=[plate], newton=NewtonOptions(initial_step=0.5, max_step=0.5)).solve()
    s = res.contact["plate"]["summary"]
    F = res.reactions["ground"][2]
    assert F > 0 and s["normal_force_N"] == pytest.approx(F, rel=1e-6)
    (_, top), = m.mesh.facet_sets["insole_top"]
    A = 0.5 * tri_areas(m.mesh.points, top)[:, 2].sum()
    E, nu = m.materials["insole"].small_strain_moduli()
    eps = delta / 6.0
    M = E * (1 - nu) / ((1 + nu) * (1 - 2 * nu))  # confined (oedometric) modulus
    assert 0.95 * E * eps * A < F < 1.05 * M * eps * A
    assert s["contact_area_mm2"] == pytest.approx(A, rel=1e-9)
    assert s["max_penetration_mm"] < 1e-4
    assert np.abs(res.displacement[m.mesh.node_sets["insole_top"], 2] + delta).max() < 1e-3


def test_midsole_is_a_bonded_flat_layer_under_the_insert():
    """A 20 mm midsole under a 6 mm insert: region ``midsole`` of the insert's outline between z = -26 and -6 mm,
    in ceil(20 / 9) = 3 layers (coarse), sharing its top nodes with the insert; the insert's own cells are those
    of the insert built without a midsole."""
    bare = build_insole(thickness=6.0, arch_support_height=8.0)
    m = build_insole(thickness=6.0, arch_support_height=8.0, midsole_thickness=20.0, midsole_material="eva_soft")
    m.require(cell_sets=["insole", "midsole"], facet_sets=["insole_top", "insole_bottom"])
    assert set(m.materials) == {"insole", "midsole"} and m.materials["midsole"].name == "midsole"
    assert m.params["midsole_layers"] == 3 and m.params["midsole_material"] == "midsole"
    pts = m.mesh.points
    np.testing.assert_allclose(pts[m.mesh.node_sets["insole_bottom"], 2], -26.0, atol=1e-12)
    vol = tet_volumes(m)
    (_, top), = bare.mesh.facet_sets["insole_bottom"]
    area = -0.5 * tri_areas(bare.mesh.points, top)[:, 2].sum()
    mid = m.mesh.cell_sets["midsole"][0]
    ins = m.mesh.cell_sets["insole"][0]
    assert vol.min() > 0 and mid.size + ins.size == vol.size
    assert vol[mid].sum() == pytest.approx(20.0 * area, rel=1e-9)
    assert vol[ins].sum() == pytest.approx(tet_volumes(bare).sum(), rel=1e-9)
    np.testing.assert_allclose(np.sort(pts[m.mesh.solids[0].cells[ins]].reshape(-1, 3), axis=0),
                               np.sort(bare.mesh.points[bare.mesh.solids[0].cells].reshape(-1, 3), axis=0))
    # bonded: the midsole's top nodes are nodes of insert cells
    mid_nodes = np.unique(m.mesh.solids[0].cells[mid])
    shared = np.intersect1d(mid_nodes, np.unique(m.mesh.solids[0].cells[ins]))
    assert np.allclose(pts[shared, 2], -6.0) and shared.size == len(bare.mesh.node_sets["insole_bottom"])


def test_insert_on_midsole_compresses_as_two_springs_in_series():
    """Insert (6 mm eva_medium) bonded on a midsole (20 mm eva_soft), pressed 1 % by a rigid plate: the force lies
    between the series stiffness from the Young's moduli (free lateral expansion) and from the confined moduli,
    ``delta / sum(t_i / (E_i A))`` (A the outline's area)."""
    m = build_insole(mesh="coarse", thickness=6.0, material="eva_medium", midsole_thickness=20.0,
                     midsole_material="eva_soft")
    delta = 0.26
    ground = FixedDisplacement(Selection(name="insole_bottom"), {0: 0.0, 1: 0.0, 2: 0.0}, name="ground")
    plate = RigidPlane(surface="insole_top", name="plate", point=(0.0, 0.0, 0.0), normal=(0.0, 0.0, -1.0),
                       motion=(0.0, 0.0, -delta))
    res = m.problem(bcs=[ground], contacts=[plate], newton=NewtonOptions(initial_step=0.5, max_step=0.5)).solve()
    F = res.reactions["ground"][2]
    (_, top), = m.mesh.facet_sets["insole_top"]
    A = 0.5 * tri_areas(m.mesh.points, top)[:, 2].sum()

    def series(which):
        c = 0.0
        for region, t in (("insole", 6.0), ("midsole", 20.0)):
            E, nu = m.materials[region].small_strain_moduli()
            M = E * (1 - nu) / ((1 + nu) * (1 - 2 * nu))
            c += t / ((E if which == "E" else M) * A)
        return delta / c

    assert 0.95 * series("E") < F < 1.05 * series("M")
    # the softer midsole takes most of the squeeze
    u = res.displacement
    z_mid = np.isclose(m.mesh.points[:, 2], -6.0)
    assert abs(u[z_mid, 2].mean()) > 0.5 * delta


# ----------------------------------------------------------------------------------------------
# User meshes: STL surfaces and volume meshes
# ----------------------------------------------------------------------------------------------


def icosphere(level: int) -> tuple[np.ndarray, np.ndarray]:
    t = (1.0 + 5**0.5) / 2.0
    v = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t),
         (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6),
         (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10),
         (8, 6, 7), (9, 8, 1)]
    pts = [np.array(p, dtype=float) / np.linalg.norm(p) for p in v]
    faces = list(f)
    for _ in range(level):
        cache: dict[tuple[int, int], int] = {}
        new = []
        for a, b, c in faces:
            m = []
            for i, j in ((a, b), (b, c), (c, a)):
                key = (min(i, j), max(i, j))
                if key not in cache:
                    p = pts[i] + pts[j]
                    pts.append(p / np.linalg.norm(p))
                    cache[key] = len(pts) - 1
                m.append(cache[key])
            ab, bc, ca = m
            new += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new
    return np.array(pts), np.array(faces, dtype=np.int64)


def enclosed_volume(points, tris) -> float:
    p = points[tris]
    return abs(np.einsum("ei,ei->e", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0)


def test_stl_ellipsoid_round_trip(tmp_path):
    import meshio

    pts, tris = icosphere(3)
    pts = pts * [100.0, 40.0, 5.0] + [120.0, 0.0, -5.0]
    path = tmp_path / "insert.stl"
    meshio.write(path, meshio.Mesh(pts, [("triangle", tris)]), binary=True)
    m = insole_from_mesh(path, material="poron")
    m.require(cell_sets=["insole"], facet_sets=["insole_top", "insole_bottom"])
    assert tet_volumes(m).min() > 0
    assert tet_volumes(m).sum() == pytest.approx(enclosed_volume(pts, tris), rel=1e-6)
    top = m.mesh.points[m.mesh.node_sets["insole_top"]]
    bottom = m.mesh.points[m.mesh.node_sets["insole_bottom"]]
    assert top[:, 2].mean() > -5.0 > bottom[:, 2].mean()
    assert m.materials["insole"].name == "insole"


def test_stl_box_and_volume_mesh(tmp_path):
    import meshio

    corners = np.array([[0, 0, -6], [200, 0, -6], [200, 80, -6], [0, 80, -6],
                        [0, 0, 0], [200, 0, 0], [200, 80, 0], [0, 80, 0]], dtype=float)
    quads = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)]
    tris = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    path = tmp_path / "box.stl"
    meshio.write(path, meshio.Mesh(corners, [("triangle", tris)]), binary=True)
    m = insole_from_mesh(path)
    assert tet_volumes(m).sum() == pytest.approx(200 * 80 * 6, rel=1e-9)
    for name, z in (("insole_top", 0.0), ("insole_bottom", -6.0)):
        (_, f), = m.mesh.facet_sets[name]
        assert 0.5 * np.abs(tri_areas(m.mesh.points, f)[:, 2]).sum() == pytest.approx(200 * 80, rel=1e-9)
        np.testing.assert_allclose(m.mesh.points[np.unique(f), 2], z)
    # a volume mesh goes straight through meshio: the built insole as VTU
    built = build_insole()
    vtu = tmp_path / "insole.vtu"
    meshio.write(vtu, meshio.Mesh(built.mesh.points, [("tetra", built.mesh.solids[0].cells)]))
    back = insole_from_mesh(vtu)
    assert np.array_equal(np.sort(back.mesh.node_sets["insole_bottom"]),
                          np.sort(built.mesh.node_sets["insole_bottom"]))
    assert set(back.mesh.node_sets["insole_top"]) <= set(built.mesh.node_sets["insole_top"])


def test_open_surface_is_refused(tmp_path):
    import meshio

    pts, tris = icosphere(1)
    path = tmp_path / "open.stl"
    meshio.write(path, meshio.Mesh(pts, [("triangle", tris[1:])]), binary=True)
    with pytest.raises(MeshError, match="not closed"):
        insole_from_mesh(path)
    with pytest.raises(MeshError, match="no such file"):
        insole_from_mesh(tmp_path / "missing.stl")


def test_tet10_insole_matches_tet4_geometry():
    from fesolver.elements import TET10, TRI6

    a = build_insole(heel_cup_depth=6.0, arch_support_height=8.0, posting_deg=4.0)
    b = build_insole(heel_cup_depth=6.0, arch_support_height=8.0, posting_deg=4.0, element="tet10")
    blk = b.mesh.solids[0]
    assert blk.etype is TET10 and blk.cells.shape == (a.mesh.n_solid_elements, 10)
    np.testing.assert_array_equal(blk.cells[:, :4], a.mesh.solids[0].cells)
    # mid-edge nodes at the edge midpoints (VTK order 01, 12, 02, 03, 13, 23)
    p = b.mesh.points
    for k, (i, j) in enumerate(((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))):
        np.testing.assert_allclose(p[blk.cells[:, 4 + k]], 0.5 * (p[blk.cells[:, i]] + p[blk.cells[:, j]]))
    for name in ("insole_top", "insole_bottom"):
        (ft, f), = b.mesh.facet_sets[name]
        assert ft is TRI6 and f.shape[1] == 6
        np.testing.assert_allclose(p[f[:, 3]], 0.5 * (p[f[:, 0]] + p[f[:, 1]]))
        np.testing.assert_allclose(p[f[:, 5]], 0.5 * (p[f[:, 2]] + p[f[:, 0]]))
    assert b.mesh.n_nodes == a.mesh.n_nodes + len(np.unique(np.sort(
        a.mesh.solids[0].cells[:, [[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]]], axis=2).reshape(-1, 2), axis=0))
