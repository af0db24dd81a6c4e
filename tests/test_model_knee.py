"""Parametric tibiofemoral model (fesolver.models.knee): geometry, sets, parameters, and coarse solves.

The solves push the rigid femur down by a force at ``femur_reference`` (all its other DOFs held) onto the
fixed tibia and print the contact figures. They assert equilibrium and signs only: the model's numbers are
compared with the literature in docs/models.md, not tuned to it.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from fesolver.mesh import check_mesh
from fesolver.models import AnatomicalModel
from fesolver.models.knee import KNEE_LEVELS, build_knee, knee_with_femur_load
from fesolver.solvers.newton import NewtonOptions

REGIONS = ("femur", "tibia", "femoral_cartilage_medial", "femoral_cartilage_lateral", "tibial_cartilage_medial",
           "tibial_cartilage_lateral")
SURFACES = ("tibial_cartilage_medial_surface", "tibial_cartilage_lateral_surface",
            "femoral_cartilage_medial_surface", "femoral_cartilage_lateral_surface")


@pytest.fixture(scope="module")
def knee() -> AnatomicalModel:
    return build_knee(menisci=False, mesh="coarse")


def _region_nodes(model, name):
    m = model.mesh
    return np.unique(m.solids[0].cells[m.cell_sets[name][0]])


def _centroid(model, name):
    """Volume centroid [mm] of a region (hex8 corner average weighted by the element volume)."""
    m = model.mesh
    X = m.points[m.solids[0].cells[m.cell_sets[name][0]]]
    c = X.mean(axis=1)
    v = np.abs(np.einsum("ij,ij->i", np.cross(X[:, 1] - X[:, 0], X[:, 3] - X[:, 0]), X[:, 4] - X[:, 0]))
    return (c * v[:, None]).sum(axis=0) / v.sum()


# -- geometry and sets ---------------------------------------------------------------------------------
def test_coarse_knee_regions_sets_landmarks(knee):
    m = knee.mesh
    check_mesh(m)
    knee.require(cell_sets=REGIONS, facet_sets=SURFACES, node_sets=("tibial_fixation",), what="knee")
    for name in ("femur_reference", "medial_compartment_centre", "lateral_compartment_centre",
                 "medial_condyle_centre", "lateral_condyle_centre"):
        assert knee.landmarks[name].shape == (3,)
    assert {b.name for b in knee.rigid_bodies} == {"femur", "tibia"}
    tibia = next(b for b in knee.rigid_bodies if b.name == "tibia")
    assert sorted(tibia.prescribed) == list(range(6))
    assert {c.name for c in knee.contacts} == {"tibiofemoral_medial", "tibiofemoral_lateral"}
    # every solid element has exactly one material
    owned = np.zeros(m.n_solid_elements, dtype=int)
    for region in knee.materials:
        owned[m.cell_sets[region][0]] += 1
    assert np.all(owned == 1)
    # bone and cartilage share their interface nodes (bonded)
    assert np.intersect1d(_region_nodes(knee, "tibia"), _region_nodes(knee, "tibial_cartilage_medial")).size > 0
    assert np.intersect1d(_region_nodes(knee, "femur"), _region_nodes(knee, "femoral_cartilage_lateral")).size > 0
    # contact surfaces: outward normals face each other (tibial up, femoral down at the contact centre)
    for s in ("medial", "lateral"):
        (ft, conn), = m.facet_sets[f"tibial_cartilage_{s}_surface"]
        X = m.points[conn]
        n = np.cross(X[:, 1] - X[:, 0], X[:, 3] - X[:, 0])
        assert np.all(n[:, 2] > 0)
    print(f"coarse knee: {m.summary()}, interference {knee.params['interference_mm']:.4f} mm")


@pytest.mark.parametrize("t,offset", [(2.0, 20.0), (3.0, 25.0)])
def test_cartilage_thickness_and_compartments_as_parametrised(t, offset):
    k = build_knee(cartilage_thickness=t, compartment_offset=offset, menisci=False)
    m = k.mesh
    for s, sign in (("medial", 1.0), ("lateral", -1.0)):
        assert k.landmarks[f"{s}_compartment_centre"][1] == pytest.approx(sign * offset)
        # femoral cartilage: between R - t and R from the condyle centre
        R = k.params[f"condyle_radius_{s}"]
        d = np.linalg.norm(m.points[_region_nodes(k, f"femoral_cartilage_{s}")] - k.landmarks[f"{s}_condyle_centre"],
                           axis=1)
        assert d.min() == pytest.approx(R - t, abs=1e-9) and d.max() == pytest.approx(R, abs=1e-9)
        # tibial cartilage: top surface minus bottom = t along z in every column
        nodes = _region_nodes(k, f"tibial_cartilage_{s}")
        P = m.points[nodes]
        keys = np.round(P[:, :2], 9)
        _, inv = np.unique(keys, axis=0, return_inverse=True)
        zmax = np.full(inv.max() + 1, -np.inf)
        zmin = np.full(inv.max() + 1, np.inf)
        np.maximum.at(zmax, inv.ravel(), P[:, 2])
        np.minimum.at(zmin, inv.ravel(), P[:, 2])
        assert np.allclose(zmax - zmin, t)
        assert abs(_centroid(k, f"tibial_cartilage_{s}")[1] - sign * offset) < 1.0


def test_flexion_rotates_the_femur_about_the_condyle_axis():
    # equal radii: the flexion axis through the condyle centres is then the y axis
    k0 = build_knee(30.0, 30.0, menisci=False, flexion_deg=0.0)
    k30 = build_knee(30.0, 30.0, menisci=False, flexion_deg=30.0)
    for s in ("medial", "lateral"):
        c0 = _centroid(k0, f"femoral_cartilage_{s}") - k0.landmarks[f"{s}_condyle_centre"]
        c30 = _centroid(k30, f"femoral_cartilage_{s}") - k30.landmarks[f"{s}_condyle_centre"]
        a0, a30 = np.arctan2(c0[0], -c0[2]), np.arctan2(c30[0], -c30[2])  # sagittal angle, anterior positive
        # flexion turns the femur's (posterior-biased) cartilage cap anteriorly-up under the fixed condyle axis
        assert np.degrees(a30 - a0) == pytest.approx(30.0, abs=1.0)
    # the condyle centres lie on the flexion axis: they do not move (up to the lowering to first contact)
    for s in ("medial", "lateral"):
        d = k30.landmarks[f"{s}_condyle_centre"] - k0.landmarks[f"{s}_condyle_centre"]
        assert abs(d[0]) < 1e-9 and abs(d[1]) < 1e-9


def test_varus_lowers_the_medial_condyle():
    k0 = build_knee(menisci=False)
    kv = build_knee(menisci=False, varus_valgus_deg=2.0)
    kg = build_knee(menisci=False, varus_valgus_deg=-2.0)

    def drop(k):
        return k.landmarks["medial_condyle_centre"][2] - k.landmarks["lateral_condyle_centre"][2]

    dy = k0.landmarks["medial_condyle_centre"][1] - k0.landmarks["lateral_condyle_centre"][1]
    a = np.radians(2.0)  # rotation about +x by -2 deg of the centre-to-centre vector (0, dy, drop)
    assert drop(kv) == pytest.approx(-dy * np.sin(a) + drop(k0) * np.cos(a), rel=1e-9)
    assert drop(kg) > drop(k0)
    assert kv.params["first_contact"] == "medial" and kg.params["first_contact"] == "lateral"
    assert kv.params["initial_gap_mm"]["lateral"] > 0.5


def test_build_is_reproducible_and_levels_grow():
    a, b = build_knee(menisci=True), build_knee(menisci=True)
    assert np.array_equal(a.mesh.points, b.mesh.points)
    assert np.array_equal(a.mesh.solids[0].cells, b.mesh.solids[0].cells)
    sizes = {}
    for level in KNEE_LEVELS:
        t0 = time.perf_counter()
        k = build_knee(menisci=True, mesh=level)
        sizes[level] = (k.mesh.n_nodes, k.mesh.n_solid_elements, time.perf_counter() - t0)
    print("knee mesh levels (nodes, hex8, build s):", sizes)
    assert sizes["coarse"][1] < sizes["medium"][1] < sizes["fine"][1]


def test_menisci_regions_sectors_and_horn_springs():
    k = build_knee(menisci=True, meniscus_sectors=6)
    m = k.mesh
    check_mesh(m)
    for s in ("medial", "lateral"):
        parts = [m.cell_sets[f"meniscus_{s}_s{i}"][0] for i in range(6)]
        assert np.array_equal(np.sort(np.concatenate(parts)), m.cell_sets[f"meniscus_{s}"][0])
        fibres = np.array([k.materials[f"meniscus_{s}_s{i}"].fibre for i in range(6)])
        assert np.allclose(np.linalg.norm(fibres, axis=1), 1.0) and np.allclose(fibres[:, 2], 0.0)
        # circumferential: each sector's fibre is perpendicular to the radius to its centroid
        c = k.landmarks[f"{s}_first_contact"][:2]
        for i in range(6):
            r = _centroid(k, f"meniscus_{s}_s{i}")[:2] - c
            assert abs(np.dot(r / np.linalg.norm(r), fibres[i, :2])) < 0.05
        # horn springs end on rigid tibial nodes
        lines = m.lines[0].cells[m.line_sets[f"meniscus_{s}_horns"][0]]
        assert np.all(np.isin(lines[:, 1], _region_nodes(k, "tibia")))
        assert np.all(np.isin(lines[:, 0], _region_nodes(k, f"meniscus_{s}")))
        assert f"meniscus_{s}_horns" in k.trusses
    assert len(k.contacts) == 6


def test_meniscus_edge_relief_lifts_the_underside_at_the_inner_edge():
    """``meniscus_edge_relief = d``: the underside's nodes rise by ``d (1 - s / (w / 3))^2`` above the plain
    meniscus's, ``s`` their radial distance from the inner edge, ``w`` the width; the upper surface stays."""
    d, w = 0.3, 9.0
    plain = build_knee(menisci=True, meniscus_width=w)
    relieved = build_knee(menisci=True, meniscus_width=w, meniscus_edge_relief=d)
    assert plain.mesh.n_nodes == relieved.mesh.n_nodes
    for s in ("medial", "lateral"):
        c = plain.landmarks[f"{s}_first_contact"][:2]
        for part, lifted in (("bottom", True), ("top", False)):
            conn = np.concatenate([c_ for _, c_ in plain.mesh.facet_sets[f"meniscus_{s}_{part}"]])
            nodes = np.unique(conn)
            dz = relieved.mesh.points[nodes, 2] - plain.mesh.points[nodes, 2]
            assert np.allclose(relieved.mesh.points[nodes, :2], plain.mesh.points[nodes, :2])
            if not lifted:
                assert np.allclose(dz, 0.0)
                continue
            r = np.linalg.norm(plain.mesh.points[nodes, :2] - c, axis=1)
            r_in = r.min()
            expected = d * np.clip(1.0 - (r - r_in) / (w / 3.0), 0.0, 1.0) ** 2
            # the ring is centred on the compartment's first contact point, so r - r_in is the distance from
            # the inner edge (to the grid's rounding)
            assert np.allclose(dz, expected, atol=1e-6), s
            assert dz.max() == pytest.approx(d) and (dz == 0.0).sum() > 0


@pytest.mark.parametrize("kwargs,message", [
    (dict(condyle_radius_medial=5.0), "condyle_radius_medial must be a number between 15.0 and 60.0, got 5.0"),
    (dict(cartilage_thickness=-1.0), "cartilage_thickness"),
    (dict(flexion_deg=120.0), "flexion_deg"),
    (dict(varus_valgus_deg=float("nan")), "varus_valgus_deg"),
    (dict(mesh="ultra"), "mesh must be one of"),
    (dict(menisci="yes"), "menisci must be True or False"),
    (dict(meniscus_sectors=2.5), "meniscus_sectors"),
    (dict(tibial_concavity_radius=40.0, condyle_radius_medial=40.0), "tibial_concavity_radius"),
    (dict(meniscus_edge_relief=-0.1), "meniscus_edge_relief must be a number between 0.0 and 1.0"),
    (dict(meniscus_edge_relief=0.5, meniscus_inner_height=0.4), "less than meniscus_inner_height"),
])
def test_parameter_errors_name_parameter_value_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        build_knee(**kwargs)


# -- solves ---------------------------------------------------------------------------------------------
def solve_knee(force: float, **build):
    """Push the femur down by ``force`` [N]; return (summary per compartment, result, seconds)."""
    k = knee_with_femur_load(build_knee(**{"menisci": False, **build}), force=(0.0, 0.0, -force))
    prob = k.problem(newton=NewtonOptions(initial_step=1.0 if force <= 400 else 0.5, max_step=1.0))
    t0 = time.perf_counter()
    res = prob.solve()
    seconds = time.perf_counter() - t0
    out = {}
    for name, c in res.contact.items():
        s = c["summary"]
        out[name] = s
    fz = {n: -s["force_N"][2] for n, s in out.items()}
    total = sum(fz[n] for n in fz if n.startswith("tibiofemoral") or n.startswith("femur_meniscus"))
    med = sum(v for n, v in fz.items() if n in ("tibiofemoral_medial", "femur_meniscus_medial"))
    print(f"\nknee {build or ''} F = {force} N: solve {seconds:.1f} s, Newton steps (t, iterations, augmentations) "
          f"{[(round(r.t, 3), r.iterations, r.augmentations) for r in res.steps]}; contact force {total:.4f} N, "
          f"medial share {med / total:.1%}")
    for name, s in out.items():
        print(f"  {name}: Fz {-s['force_N'][2]:.2f} N, peak {s['peak_pressure_MPa']:.3f} MPa, mean "
              f"{s['mean_pressure_MPa']:.3f} MPa, area {s['contact_area_mm2']:.1f} mm^2, max penetration "
              f"{s['max_penetration_mm']:.2e} mm")
    print(f"  femur translation {res.rigid['femur']['translation_mm']} mm")
    return out, total, med, res


@pytest.fixture(scope="module")
def neutral_300():
    return solve_knee(300.0)


def test_coarse_knee_300N_equilibrium(neutral_300):
    out, total, med, res = neutral_300
    assert total == pytest.approx(300.0, rel=1e-3)
    for s in ("medial", "lateral"):
        c = out[f"tibiofemoral_{s}"]
        assert -c["force_N"][2] > 0 and c["peak_pressure_MPa"] > 0 and c["contact_area_mm2"] > 0
        assert c["peak_pressure_MPa"] >= c["mean_pressure_MPa"]
        assert c["max_penetration_mm"] < 1e-2
    assert res.rigid["femur"]["translation_mm"][2] < 0.0


def test_varus_shifts_load_medially(neutral_300):
    _, total0, med0, _ = neutral_300
    _, total1, med1, _ = solve_knee(300.0, varus_valgus_deg=0.3)
    assert total1 == pytest.approx(300.0, rel=1e-3)
    assert med1 / total1 > med0 / total0


@pytest.mark.slow
def test_coarse_knee_1150N_full_extension():
    """The reference load of about 1150 N in full extension (docs/models.md compares the figures)."""
    out, total, med, _ = solve_knee(1150.0)
    assert total == pytest.approx(1150.0, rel=1e-3)
    assert all(out[f"tibiofemoral_{s}"]["peak_pressure_MPa"] > 0 for s in ("medial", "lateral"))


@pytest.mark.slow
def test_coarse_knee_with_menisci_300N():
    out, total, med, _ = solve_knee(300.0, menisci=True)
    assert total == pytest.approx(300.0, rel=1e-3)
    assert -out["femur_meniscus_medial"]["force_N"][2] > 0 and -out["femur_meniscus_lateral"]["force_N"][2] > 0


def test_mesh_script_round_trip(tmp_path):
    """meshes/build_knee.py writes a gmsh file whose physical groups read back as the model's sets."""
    import importlib.util
    import json
    from pathlib import Path

    from fesolver.mesh import read_mesh

    path = Path(__file__).resolve().parent.parent / "meshes" / "build_knee.py"
    spec = importlib.util.spec_from_file_location("build_knee_script", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "knee.msh"
    assert mod.main(["--mesh", "coarse", "-o", str(out)]) == 0
    m = read_mesh(out)
    k = build_knee()
    assert np.allclose(m.points, k.mesh.points)
    for name in ("femur", "tibia", "tibial_cartilage_medial", "meniscus_lateral_s3"):
        assert np.array_equal(np.sort(m.cell_sets[name][0]), k.mesh.cell_sets[name][0])
    assert set(k.mesh.facet_sets) <= set(m.facet_sets) and set(k.mesh.line_sets) <= set(m.line_sets)
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["region_unions"]["meniscus_medial"] and info["params"]["mesh"] == "coarse"
    assert mod.main(["--cartilage-thickness", "-1", "-o", str(out)]) == 2
