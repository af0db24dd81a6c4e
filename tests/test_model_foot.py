"""The parametric foot (fesolver.models.foot): geometry, regions, sets, materials, one standing solve.

Builds take 15-30 s each on the coarse level (gmsh OCC booleans and meshing), so every foot is built once per
module and shared. The standing solves print their figures (run with ``-s`` to see them).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fesolver.contact import RigidPlane
from fesolver.errors import ModelError
from fesolver.loads import FixedDisplacement, NodalForce, Selection
from fesolver.materials.hyperelastic import TransIsoMooneyRivlin
from fesolver.mesh import check_mesh, read_mesh
from fesolver.models.foot import BONES, FASCIA_PEAK_QUANTILE, FASCIA_RAYS, build_foot, fascia_tension, volume_quantile
from fesolver.solvers.newton import NewtonOptions

pytest.importorskip("gmsh")

L = 260.0
ARCHES = {"flat": 5.0, "normal": 15.0, "high": 25.0}
_CACHE: dict = {}


def foot(arch: float = 15.0, fascia: str = "solid", side: str = "right"):
    key = (arch, fascia, side)
    if key not in _CACHE:
        _CACHE[key] = build_foot(length=L, arch_height=arch, mesh="coarse", fascia=fascia, side=side)
    return _CACHE[key]


def tet4_volumes(points, cells):
    x = points[cells[:, :4]]
    return np.einsum("ij,ij->i", np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), x[:, 3] - x[:, 0]) / 6.0


def region_volume(model, name):
    m = model.mesh
    return sum(tet4_volumes(m.points, m.solids[b].cells[idx]).sum() for b, idx in m.cell_sets[name].items())


def medial_midfoot_height(model):
    """Highest plantar-skin point [mm] in the medial midfoot (0.35 L < x < 0.5 L)."""
    m = model.mesh
    nodes = m.node_sets["plantar_skin"]
    p = m.points[nodes]
    sel = (p[:, 0] > 0.35 * L) & (p[:, 0] < 0.5 * L)
    return float(p[sel, 2].max())


@pytest.mark.parametrize("kind", list(ARCHES))
def test_build_coarse(kind):
    model = foot(ARCHES[kind])
    m = model.mesh
    check_mesh(m)
    regions = list(BONES) + ["joints", "heel_pad", "soft_tissue"] + list(FASCIA_RAYS)
    model.require(cell_sets=regions, facet_sets=["plantar_skin", "talar_dome", "achilles_insertion"],
                  node_sets=["talar_dome", "achilles_insertion", "fascia_origin", "fascia_insertions",
                             "plantar_skin"] + [f"fascia_insertion{k}" for k in range(1, 6)], what="foot")
    assert set(model.materials) == set(regions)
    for name in ["talar_dome", "achilles_insertion", "calcaneal_tubercle", "fascia_origin"] + \
            [f"metatarsal_head{k}" for k in range(1, 6)]:
        assert model.landmarks[name].shape == (3,)
    # every element in exactly one region
    count = np.zeros(m.n_solid_elements, dtype=int)
    for name in regions:
        count[m.cell_sets[name][0]] += 1
    assert np.all(count == 1)
    # coordinate convention: lowest plantar point on z = 0, heel at x ~ 0, toe tip at x ~ L
    lo, hi = m.bounding_box()
    assert abs(lo[2]) < 1e-9 and -5.0 < lo[0] < 1.0 and L - 5.0 < hi[0] < L + 1.0
    # volumes: every tet positive; whole foot 0.8-1.5 L (a sanity bound for an adult foot of 260 mm, not a
    # cited range: a 260 x 95 x 70 mm box is 1.7 L and the foot fills about two thirds of it)
    v = tet4_volumes(m.points, m.solids[0].cells)
    assert v.min() > 0.0
    total = v.sum() / 1e6
    bone = sum(region_volume(model, b) for b in BONES) / 1e6
    print(f"\n{kind} arch ({ARCHES[kind]} mm): {m.summary()}, built in {model.params['build_seconds']:.1f} s; "
          f"volume {total:.3f} L, bones {bone:.3f} L, heel pad {region_volume(model, 'heel_pad') / 1e3:.1f} mL, "
          f"joints {region_volume(model, 'joints') / 1e3:.1f} mL")
    assert 0.8 < total < 1.5
    assert 0.1 < bone / total < 0.45
    for name in regions:
        assert region_volume(model, name) > 0.0
    # the plantar skin is soft tissue only (no bone touches the ground) and faces down
    skin_nodes = m.node_sets["plantar_skin"]
    for b in BONES:
        assert np.intersect1d(skin_nodes, m.node_sets[b]).size == 0
    # the talar dome is the top of the talus, the Achilles insertion the back of the calcaneus
    assert np.all(np.isin(m.node_sets["talar_dome"], m.node_sets["talus"]))
    assert model.landmarks["talar_dome"][2] > 0.2 * L
    assert np.all(np.isin(m.node_sets["achilles_insertion"], m.node_sets["calcaneus"]))
    assert model.landmarks["achilles_insertion"][0] < 0.05 * L


def test_arch_height_lifts_medial_midfoot():
    h = {k: medial_midfoot_height(foot(a)) for k, a in ARCHES.items()}
    print(f"\nmedial midfoot plantar height [mm]: {h}")
    assert h["flat"] < h["normal"] < h["high"]
    for k, a in ARCHES.items():  # the skin at the medial border is lifted by about arch_height
        assert abs(h[k] - a) < 3.0
    z_mid = {k: foot(a).mesh.points[foot(a).mesh.node_sets["midfoot"], 2].min() for k, a in ARCHES.items()}
    assert z_mid["flat"] < z_mid["normal"] < z_mid["high"]


def test_fascia_fibre_directions():
    model = foot(15.0)
    o = model.landmarks["fascia_origin"]
    for k, ray in enumerate(FASCIA_RAYS, start=1):
        mat = model.materials[ray]
        assert isinstance(mat, TransIsoMooneyRivlin) and mat.c5 == 350.0
        a = np.asarray(mat.fibre)
        expect = model.landmarks[f"fascia_insertion{k}"] - o
        assert abs(np.linalg.norm(a) - 1.0) < 1e-12
        np.testing.assert_allclose(a, expect / np.linalg.norm(expect), atol=1e-12)
        assert a[0] > 0.9  # anterior
        # the ray's elements lie along its axis
        m = model.mesh
        c = m.points[m.solids[0].cells[m.cell_sets[ray][0], :4]].mean(axis=1)
        s = (c - o) @ a
        assert s.min() < 0.15 * L and s.max() > 0.85 * np.linalg.norm(expect)
    # the medial ray points medially, the lateral one laterally (right foot: y medial)
    assert model.materials["fascia_ray1"].fibre[1] > 0.0 > model.materials["fascia_ray5"].fibre[1]


def test_parameter_validation():
    cases = [({"length": -260.0}, "length", "-260.0"), ({"arch_height": 40.0}, "arch_height", "40.0"),
             ({"heel_pad_thickness": 2.0}, "heel_pad_thickness", "2.0"), ({"mesh": "huge"}, "mesh", "huge"),
             ({"fascia": "wire"}, "fascia", "wire"), ({"side": "up"}, "side", "up")]
    for kw, name, value in cases:
        with pytest.raises(ModelError) as e:
            build_foot(**kw)
        msg = str(e.value)
        assert name in msg and value in msg, msg
    with pytest.raises(ModelError, match=r"arch_height must be between 0.0 and 30.0 mm, got 40"):
        build_foot(arch_height=40.0)


def test_truss_fascia_and_reproducible():
    a = foot(15.0, "truss")
    t0 = time.perf_counter()
    b = build_foot(length=L, arch_height=15.0, mesh="coarse", fascia="truss")
    print(f"\ntruss foot: {a.mesh.summary()}, {a.mesh.lines[0].cells.shape[0]} line2; rebuilt in "
          f"{time.perf_counter() - t0:.1f} s")
    assert a.mesh.n_nodes == b.mesh.n_nodes and a.mesh.n_solid_elements == b.mesh.n_solid_elements
    np.testing.assert_array_equal(a.mesh.points, b.mesh.points)
    m = a.mesh
    assert not any(r in m.cell_sets for r in FASCIA_RAYS)
    lines = m.lines[0].cells
    for k in range(1, 6):
        c = lines[m.line_sets[f"fascia_band{k}"][0]]
        nodes, counts = np.unique(c, return_counts=True)
        ends = nodes[counts == 1]
        assert ends.size == 2 and np.all(counts <= 2)  # one open chain
        assert np.intersect1d(ends, m.node_sets["calcaneus"]).size == 1  # from the calcaneus ...
        assert np.intersect1d(ends, m.node_sets[f"metatarsal{k}"]).size == 1  # ... to its metatarsal head
        assert a.trusses[f"fascia_band{k}"].tension_only
    check_mesh(m)


def test_left_foot_is_the_mirror_image():
    r, left = foot(15.0, "truss"), foot(15.0, "truss", "left")
    np.testing.assert_allclose(left.mesh.points, r.mesh.points * [1.0, -1.0, 1.0])
    check_mesh(left.mesh)
    assert left.landmarks["metatarsal_head1"][1] < 0.0  # the first ray is medial: -y for a left foot


def test_build_script_writes_sets(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "meshes"))
    try:
        import build_foot as script
    finally:
        sys.path.pop(0)
    model = foot(15.0, "truss")
    info = script.write(model, tmp_path / "foot.msh")
    back = read_mesh(tmp_path / "foot.msh")
    assert back.n_nodes == model.mesh.n_nodes
    for name, s in model.mesh.cell_sets.items():
        assert sum(v.size for v in back.cell_sets[name].values()) == sum(v.size for v in s.values())
    for name, nodes in model.mesh.node_sets.items():
        np.testing.assert_array_equal(back.node_sets[name], np.sort(nodes))
    assert set(back.facet_sets) >= {"plantar_skin", "talar_dome", "achilles_insertion"}
    assert {f"fascia_band{k}" for k in range(1, 6)} <= set(back.line_sets)
    assert (tmp_path / "foot.json").is_file() and info["params"]["nodes"] == model.mesh.n_nodes
    with pytest.raises(SystemExit):
        script.main(["--level", "huge", "-o", str(tmp_path / "x.msh")])
    assert script.main(["--arch-height", "45", "-o", str(tmp_path / "x.msh")]) == 2


def standing(model, body_force=300.0):
    """The foot on a rigid ground plane, ``body_force`` N down on the talar dome; the dome held in x and y
    (the tibia's lateral support) so the only free motion left, vertical, is carried by the ground."""
    ground = RigidPlane(surface="plantar_skin", name="ground", point=(0.0, 0.0, 0.0), normal=(0.0, 0.0, 1.0),
                        penalty=1.0)  # MPa/mm, about 10 E_soft / h; removed by the augmentation
    dome = Selection(name="talar_dome")
    p = model.problem(bcs=[FixedDisplacement(dome, {0: 0.0, 1: 0.0}, name="tibia_xy")],
                      loads=[NodalForce(dome, (0.0, 0.0, -body_force), name="tibia")], contacts=[ground],
                      newton=NewtonOptions(initial_step=0.1, max_step=0.5, max_iterations=25))
    t0 = time.perf_counter()
    r = p.solve()
    seconds = time.perf_counter() - t0
    c = r.contact["ground"]["summary"]
    its = [s.iterations for s in r.steps]
    print(f"\n{model.mesh.summary()}: {body_force:.0f} N on the talar dome, solved in {seconds:.1f} s, "
          f"{len(its)} steps, {sum(its)} Newton iterations {its}; ground force {c['force_N'][2]:.3f} N, peak "
          f"pressure {1000 * c['peak_pressure_MPa']:.1f} kPa, mean {1000 * c['mean_pressure_MPa']:.1f} kPa, "
          f"contact area {c['contact_area_mm2'] / 100:.1f} cm^2 ({c['active_nodes']} nodes), centre of pressure "
          f"x = {c['centre_of_pressure_mm'][0]:.1f} mm")
    # equilibrium: the ground carries the applied load; contact pressure is compressive
    assert r.load_factor == 1.0
    assert abs(c["force_N"][2] - body_force) <= 1e-3 * body_force
    assert abs(c["force_N"][0]) < 1e-6 and abs(c["force_N"][1]) < 1e-6  # frictionless plane
    p_nodes = r.contact["ground"]["pressure"]
    assert np.all(p_nodes >= 0.0) and c["peak_pressure_MPa"] > 0.0
    return r


def test_standing_truss_fascia():
    """Coarse tet4 foot with truss fascia: fascia tension = the force of each band at its middle element."""
    model = foot(15.0, "truss")
    r = standing(model)
    force = r.trusses[0].force
    mid = []
    m = model.mesh
    for k in range(1, 6):
        idx = m.line_sets[f"fascia_band{k}"][0]
        c = m.lines[0].cells[idx]
        s = (m.points[c].mean(axis=1) - model.landmarks["fascia_origin"]) @ np.array([1.0, 0.0, 0.0])
        mid.append(float(force[idx[np.argsort(s)[idx.size // 2]]]))
    print(f"fascia band forces at mid-length [N]: {np.round(mid, 1).tolist()}, total {sum(mid):.1f} N "
          f"({100 * sum(mid) / 300:.0f} % of the load); band maxima {force.max():.1f} N")
    assert np.all(force >= 0.0)  # tension-only
    assert sum(mid) > 0.0  # the loaded arch stretches the fascia
    # the fascia's figures: the bands' mid-length forces, their peak stress and the 99th percentile of the band
    # stress by reference length (here from a sorted list of segments, each repeated in 1e-3 mm pieces)
    fas = fascia_tension(model, r)
    assert fas["ray_tension_N"] == pytest.approx(mid, rel=1e-12)
    idx = np.concatenate([m.line_sets[f"fascia_band{k}"][0] for k in range(1, 6)])
    c = m.lines[0].cells[idx]
    pieces = np.rint(1e3 * np.linalg.norm(m.points[c[:, 1]] - m.points[c[:, 0]], axis=1)).astype(int)
    stress = np.sort(np.repeat(r.trusses[0].stress[idx], pieces))
    assert fas["peak_fibre_stress_MPa"] == stress[-1]
    assert fas["p99_fibre_stress_MPa"] == pytest.approx(stress[int(np.ceil(0.99 * stress.size)) - 1], rel=1e-12)


@pytest.mark.slow
def test_standing_solid_fascia():
    """Coarse tet4 foot with the solid fascia. Fascia tension of a ray = its mean axial force
    ``(1 / l) * integral of a.sigma.a dV`` (volume integral of the fibre-direction Cauchy stress over the ray
    divided by its length: the cross-section force averaged along the ray)."""
    model = foot(15.0)
    r = standing(model)
    m = model.mesh
    vol = tet4_volumes(m.points, m.solids[0].cells)
    forces = []
    for k, ray in enumerate(FASCIA_RAYS, start=1):
        e = m.cell_sets[ray][0]
        a = np.asarray(model.materials[ray].fibre)
        s = r.cell_stress[0][e]
        sig = np.zeros((e.size, 3, 3))
        for i, (p, q) in enumerate(((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2))):
            sig[:, p, q] = sig[:, q, p] = s[:, i]
        saa = np.einsum("i,eij,j->e", a, sig, a)
        length = np.linalg.norm(model.landmarks[f"fascia_insertion{k}"] - model.landmarks["fascia_origin"])
        forces.append(float((saa * vol[e]).sum() / length))
    print(f"fascia ray mean axial forces [N]: {np.round(forces, 1).tolist()}, total {sum(forces):.1f} N")
    assert sum(forces) > 0.0


def test_volume_quantile():
    """The value exceeded in 1 - q of the volume: by hand for small sets; one small element carrying a large
    value moves the largest value but not the 99th percentile; equal volumes give numpy's inverted-cdf quantile."""
    assert volume_quantile([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 97.0], 0.99) == 4.0
    assert volume_quantile([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 97.0], 0.02) == 2.0
    assert volume_quantile([4.0, 3.0, 2.0, 1.0], [97.0, 1.0, 1.0, 1.0], 0.03) == 3.0  # order does not matter
    rng = np.random.default_rng(5)
    v = rng.normal(5.0, 1.0, 2000)
    vol = np.full(v.size, 0.5)
    p99 = volume_quantile(v, vol, FASCIA_PEAK_QUANTILE)
    assert p99 == np.sort(v)[int(np.ceil(0.99 * v.size)) - 1]
    # a concentration: 0.1 % of the volume at ten times the stress leaves the 99th percentile where it was
    v2, vol2 = np.append(v, 60.0), np.append(vol, 1e-3 * vol.sum())
    assert volume_quantile(v2, vol2, FASCIA_PEAK_QUANTILE) == pytest.approx(p99, abs=0.1)  # 0.1 sd
    assert v2.max() == 60.0


def in_heel_pad(model, p, margin=0.0):
    """Points ``p`` (n, 3) inside the heel pad as its docstring defines it, shrunk by ``margin`` mm (negative:
    grown). Derived here from the calcaneus ellipsoid by ray casting, not from the builder's OCC shapes."""
    from fesolver.models.foot import _layout

    pr = model.params
    calc = _layout(pr["length_mm"], pr["arch_height_mm"], pr["heel_pad_thickness_mm"])["bones"]["calcaneus"][0]
    hp = pr["heel_pad"]
    if pr["side"] == "left":
        p = p * [1.0, -1.0, 1.0]

    def hits(q, grow):  # the vertical line through q meets the ellipsoid grown by ``grow`` mm
        e = calc.grown(grow)
        q0 = (q - e.centre) @ e.R / e.semi
        dz = np.array([0.0, 0.0, 1.0]) @ e.R / e.semi
        b = 2.0 * q0 @ dz
        c = np.einsum("ij,ij->i", q0, q0) - 1.0
        return b * b - 4.0 * (dz @ dz) * c >= 0.0

    plan = calc.centre + (p - calc.centre) / hp["shadow_scale"]  # the scaled shadow, mapped to the shadow
    plan[:, 2] = p[:, 2]
    under = hits(plan, -margin / hp["shadow_scale"]) & (p[:, 2] <= calc.centre[2] - margin)
    low = p[:, 2] <= hp["slab_height_mm"] - margin
    outside_bone = ~calc.inside(p, grow=margin)
    return (p[:, 0] <= hp["front_x_mm"] - margin) & (under | low) & outside_bone


def check_heel_pad_conforms(model):
    """The heel pad's elements fill its geometric volume and nothing else: every corner node of a heel-pad
    element lies in the closed volume (to 1e-3 mm), no soft-tissue or joint element's centroid lies more than
    a sagitta inside it."""
    m = model.mesh
    cells = m.solids[0].cells[:, :4]
    pad = np.unique(cells[m.cell_sets["heel_pad"][0]])
    assert np.all(in_heel_pad(model, m.points[pad], margin=-1e-3))
    for name in ("soft_tissue", "joints"):
        centroid = m.points[cells[m.cell_sets[name][0]]].mean(axis=1)
        assert not np.any(in_heel_pad(model, centroid, margin=0.1 * model.params["size_mm"]))


@pytest.mark.parametrize("side", ["right", "left"])
def test_heel_pad_is_a_volume_of_the_geometry(side):
    """The heel pad is meshed as its own volume (its boundary does not move with the mesh)."""
    model = foot(15.0, side=side)
    check_heel_pad_conforms(model)
    front = model.params["heel_pad"]["front_x_mm"]
    skin = model.mesh.node_sets["plantar_skin"]
    pad_skin = np.intersect1d(skin, model.mesh.node_sets["heel_pad"])
    # the pad reaches the skin up to its front face, exactly
    assert abs(model.mesh.points[pad_skin, 0].max() - front) < 1e-6
    print(f"\nheel pad {region_volume(model, 'heel_pad') / 1e3:.1f} mL, front face x = {front:.1f} mm")


def test_graded_heel_pad_has_no_jump_at_its_front():
    """``heel_pad_grading``: the same mesh, the pad a mixture of its Ogden and the soft tissue whose soft fraction
    each element takes at its centroid, 0 behind the grading and rising to about 1 at the pad's front face
    (so the pad's stiffness meets the soft tissue's there without the jump of about 50)."""
    from fesolver.materials import Mixture
    from fesolver.nonlinear import FiniteStrainSystem

    g = 20.0
    model = build_foot(length=L, arch_height=15.0, mesh="coarse", heel_pad_grading=g)
    plain = foot(15.0)
    assert model.mesh.n_nodes == plain.mesh.n_nodes and model.params["heel_pad"]["grading_mm"] == g
    assert not isinstance(plain.materials["heel_pad"], Mixture)
    pad_mat = model.materials["heel_pad"]
    assert isinstance(pad_mat, Mixture) and pad_mat.first == plain.materials["heel_pad"]
    assert pad_mat.second == model.materials["soft_tissue"]
    system = FiniteStrainSystem(model.problem(finite_strain_formulation="mean_dilatation"))
    blk = system.blocks[0]
    sel = model.mesh.cell_sets["heel_pad"][0]
    xc = model.mesh.points[blk["cells"][sel, :4]].mean(axis=1)
    w = blk["params"][sel, 0]
    np.testing.assert_allclose(w, pad_mat.weights(xc), atol=1e-15)
    front = model.params["heel_pad"]["front_x_mm"]
    assert np.all(w[xc[:, 0] <= front - g] == 0.0)
    near_front = xc[:, 0] > front - 0.25 * model.params["size_mm"]
    assert near_front.any() and np.all(w[near_front] > 0.8), w[near_front]
    assert not np.isnan(blk["params"]).any()  # every graded element got its fraction
    with pytest.raises(ModelError, match="heel_pad_grading"):
        build_foot(length=L, mesh="coarse", heel_pad_grading=-1.0)


def _median_edge_in_box(model, lo, hi):
    """Median over the soft elements (soft tissue, heel pad) whose centroid lies in the box ``lo``-``hi`` of their
    mean edge length [mm], and their count."""
    m = model.mesh
    means = []
    for name in ("soft_tissue", "heel_pad"):
        for b, idx in m.cell_sets[name].items():
            x = m.points[m.solids[b].cells[idx][:, :4]]
            inside = np.all((x.mean(axis=1) > lo) & (x.mean(axis=1) < hi), axis=1)
            edges = [np.linalg.norm(x[inside, i] - x[inside, j], axis=1) for i in range(4) for j in range(i + 1, 4)]
            means.append(np.mean(edges, axis=0))
    means = np.concatenate(means)
    return float(np.median(means)), means.size


def test_heel_refinement_meshes_the_tissue_under_the_calcaneus_finer():
    """``heel_refinement``: the soft tissue between the calcaneus and the sole (the box over the bone's plan
    extent, from the sole to the bone's lowest point plus the near size) is meshed at that fraction of the bulk
    size; the rest of the foot keeps its elements (counted beyond the box's transition layer)."""
    f = 0.25
    model = build_foot(length=L, arch_height=15.0, mesh="coarse", heel_refinement=f)
    plain = foot(15.0)
    size = plain.params["size_mm"]
    box = model.params["heel_box_mm"]
    lo, hi = np.array(box["min"]), np.array(box["max"])
    assert box["size_mm"] == f * size and model.params["heel_refinement"] == f
    assert plain.params["heel_refinement"] == 1.0 and "heel_box_mm" not in plain.params
    # the box: the calcaneus's plan extent, from below the sole to its lowest point plus the near size
    calc = model.mesh.points[model.mesh.node_sets["calcaneus"]]
    assert lo[2] < 0.0 < hi[2]
    assert abs(hi[2] - (calc[:, 2].min() + model.params["size_near_mm"])) < 1.0
    assert lo[0] < calc[:, 0].min() + 1.0 and hi[0] > calc[:, 0].max() - 1.0
    fine, n_fine = _median_edge_in_box(model, lo, hi)
    coarse, n_coarse = _median_edge_in_box(plain, lo, hi)
    # gmsh's tets come out with mean edges 1.1-1.3 times the target size
    assert fine <= 1.5 * f * size and fine < 0.6 * coarse, (fine, coarse)
    assert n_fine > 5 * n_coarse
    # away from the heel (beyond the box and its one-bulk-size transition) the mesh is the plain one's
    far = hi[0] + 2.0 * size
    counts = [sum(int((model_.mesh.points[model_.mesh.solids[b].cells[idx][:, :4]].mean(axis=1)[:, 0] > far).sum())
                  for b, idx in model_.mesh.cell_sets["all"].items()) for model_ in (model, plain)]
    assert abs(counts[0] - counts[1]) <= 0.1 * counts[1], counts
    for bad in (0.2, 1.5, "half", float("nan")):
        with pytest.raises(ModelError, match="heel_refinement"):
            build_foot(length=L, mesh="coarse", heel_refinement=bad)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["medium", "fine"])
def test_finer_levels_mesh(level):
    """Medium and fine levels (tet10, straight mid-edge nodes) are valid and refine the coarse one; the heel
    pad is the same volume (to 1 %) as on the coarse level."""
    model = build_foot(length=L, mesh=level)
    check_mesh(model.mesh)
    assert model.mesh.solids[0].etype.name == "tet10"
    assert model.mesh.n_solid_elements > foot(15.0).mesh.n_solid_elements
    check_heel_pad_conforms(model)
    v, v0 = region_volume(model, "heel_pad"), region_volume(foot(15.0), "heel_pad")
    assert abs(v / v0 - 1.0) < 0.01, (v, v0)
    print(f"\n{level}: {model.mesh.summary()}, built in {model.params['build_seconds']:.1f} s")


class _Moved:
    """A stand-in result: only ``displacement`` (what :func:`bone_kinematics` reads)."""

    def __init__(self, u):
        self.displacement = u


def _rotate(points, nodes, axis, deg, about):
    """Displacement that turns ``nodes`` by ``deg`` about ``axis`` through ``about`` (others stay)."""
    from scipy.spatial.transform import Rotation

    u = np.zeros_like(points)
    R = Rotation.from_rotvec(np.radians(deg) * np.asarray(axis, dtype=float))
    u[nodes] = R.apply(points[nodes] - about) + about - points[nodes]
    return u


@pytest.mark.parametrize("side", ["right", "left"])
def test_bone_kinematics_of_known_motions(side):
    """:func:`bone_kinematics` on displacement fields of known rigid motions (exact to 1e-9): a rigid motion of
    the whole foot leaves every relative angle and the arch drop at 0 and gives the navicular drop along the ground
    normal; turning the calcaneus alone by 5 deg about the long axis everts it by 5 deg relative to the talus in
    the anatomical sign of either side (the lateral border up), and turning the metatarsals by 4 deg inverts the
    forefoot by 4 deg; the calcaneus turned about the medial-lateral axis with its anterior end up raises the
    pitch."""
    from fesolver.models.foot import bone_kinematics

    model = foot(15.0, "truss", side)
    m, X = model.mesh, model.mesh.points
    sgn = 1.0 if side == "right" else -1.0
    lateral_up = (-sgn, 0.0, 0.0)  # about +x, +y goes up: +y is medial on the right foot, lateral on the left
    allnodes = np.arange(X.shape[0])
    # a rigid motion of the whole foot: 3 deg about an oblique axis and a shift
    u = _rotate(X, allnodes, np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8]), 3.0, X.mean(axis=0))
    u += [1.0, -2.0, -4.0]
    k = bone_kinematics(model, _Moved(u), ground_normal=(0.0, 0.0, 1.0))
    for name in ("rearfoot_eversion_deg", "forefoot_inversion_deg", "medial_arch_drop_mm"):
        assert abs(k[name]) < 1e-9, (name, k[name])
    for b in BONES:
        np.testing.assert_allclose(k["bones"][b]["rotation_deg"], k["bones"]["talus"]["rotation_deg"], atol=1e-9)
    nav = m.node_sets["midfoot"]
    ym = sgn * X[nav, 1]
    nav = nav[ym >= ym.max() - 3.0]
    assert k["navicular_drop_mm"] == pytest.approx(-u[nav, 2].mean(), abs=1e-9)
    # the calcaneus everted by 5 deg, then the metatarsals inverted by 4 deg
    calc = m.node_sets["calcaneus"]
    u = _rotate(X, calc, lateral_up, 5.0, X[calc].mean(axis=0))
    k = bone_kinematics(model, _Moved(u))
    assert k["rearfoot_eversion_deg"] == pytest.approx(5.0, abs=1e-9)
    assert k["forefoot_inversion_deg"] == pytest.approx(5.0, abs=1e-9)  # the forefoot stayed: inverted against it
    meta = np.concatenate([m.node_sets[f"metatarsal{i}"] for i in range(1, 6)])
    u = _rotate(X, meta, [-v for v in lateral_up], 4.0, X[meta].mean(axis=0))
    k = bone_kinematics(model, _Moved(u))
    assert k["forefoot_inversion_deg"] == pytest.approx(4.0, abs=1e-9)
    assert k["rearfoot_eversion_deg"] == pytest.approx(0.0, abs=1e-9)
    # pitch: the calcaneus's anterior end up (about -y: x goes to +z)
    u = _rotate(X, calc, (0.0, -1.0, 0.0), 2.0, X[calc].mean(axis=0))
    assert bone_kinematics(model, _Moved(u))["calcaneal_pitch_change_deg"] == pytest.approx(2.0, abs=1e-9)
