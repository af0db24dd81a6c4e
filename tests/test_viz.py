"""Pictures of results (fesolver.viz): every view renders off-screen, is not blank and maps exactly its field's
range; shared limits span several results; the compare table's deltas are the summaries' differences; the HTML
viewer renders the model in headless Chromium; metric curves; the CLI commands and their exit codes.

Fast tests use small synthetic result folders written with meshio (the array names of ``fesolver run``) and one
real coarse patellofemoral solve (a few seconds, written as ``fesolver run`` writes it); one slow test draws a
real ``run_scenario`` result. Folders without ``patellofemoral.vtu`` (older results, ``knee.patellofemoral =
false``) must draw exactly the views they drew before.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import meshio
import numpy as np
import pytest

from fesolver import viz
from fesolver.cli import main
from fesolver.simulate import headline

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------------------------------
# synthetic result folders
# ----------------------------------------------------------------------------------------------------------------
def _grid_cells(nx, ny, nz, lo, hi, tets: bool):
    """Points and cells of a box ``lo``-``hi`` with ``nx*ny*nz`` points: hexahedra, or each split into 6 tets."""
    xs = [np.linspace(lo[k], hi[k], n) for k, n in enumerate((nx, ny, nz))]
    X, Y, Z = np.meshgrid(*xs, indexing="ij")
    pts = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    idx = np.arange(nx * ny * nz).reshape(nx, ny, nz)
    hexes = []
    for i in range(nx - 1):
        for j in range(ny - 1):
            for k in range(nz - 1):
                hexes.append([idx[i, j, k], idx[i + 1, j, k], idx[i + 1, j + 1, k], idx[i, j + 1, k],
                              idx[i, j, k + 1], idx[i + 1, j, k + 1], idx[i + 1, j + 1, k + 1], idx[i, j + 1, k + 1]])
    hexes = np.array(hexes)
    if not tets:
        return pts, hexes
    # Kuhn split of each hex into 6 tets along the 0-6 diagonal
    split = [(0, 1, 2, 6), (0, 2, 3, 6), (0, 3, 7, 6), (0, 7, 4, 6), (0, 4, 5, 6), (0, 5, 1, 6)]
    return pts, np.vstack([hexes[:, list(t)] for t in split])


def _foot(factor: float) -> meshio.Mesh:
    pts, tets = _grid_cells(11, 6, 4, (0.0, -25.0, 0.0), (100.0, 25.0, 24.0), tets=True)
    x, y, z = pts.T
    c = pts[tets].mean(axis=1)
    fascia = (c[:, 2] < 8.0) & (np.abs(c[:, 1]) < 10.0)
    bottom = z == 0.0
    pd = {
        "displacement": factor * np.column_stack([0.01 * z, 0.0 * z, -0.05 * z - 0.02 * x]),
        "von_mises": factor * (1e-3 + 0.5 * (x / 100.0) ** 3 + 0.02 * z),
        "max_principal": factor * (0.1 * x / 100.0),
        "min_principal": -factor * (0.2 * z / 24.0),
        "contact_pressure": np.where(bottom, factor * 0.2 * np.exp(-(((x - 20.0) / 20.0) ** 2)), 0.0),
        "contact_gap": np.where(bottom, 0.0, np.nan),
        "node_id": np.arange(len(pts)),
    }
    fs = np.where(fascia, factor * (1.0 + 8.0 * (1.0 - c[:, 0] / 100.0)), np.nan)
    cd = {"material": [fascia.astype(np.int64)], "fibre_stress": [fs],
          "fibre_stretch": [np.where(fascia, 1.0 + 0.01 * fs, np.nan)],
          "von_mises": [pd["von_mises"][tets].mean(axis=1)]}
    return meshio.Mesh(pts, [("tetra", tets)], point_data=pd, cell_data=cd)


def _stack_blocks(blocks):
    """Hex grids ``(n, lo, hi, material, axis)`` stacked into one mesh: ``(points, hexes, material per cell,
    flag per point)``, the flag marking each block's face at ``hi[axis]`` (none when ``axis`` is None)."""
    pts, cells, mat, flag = [], [], [], []
    off = 0
    for n, lo, hi, m, axis in blocks:
        p, h = _grid_cells(*n, lo, hi, tets=False)
        pts.append(p)
        cells.append(h + off)
        mat.append(np.full(len(h), m))
        flag.append(np.isclose(p[:, axis], hi[axis]) if axis is not None else np.zeros(len(p), dtype=bool))
        off += len(p)
    return np.vstack(pts), np.vstack(cells), np.concatenate(mat), np.concatenate(flag)


def _knee(factor: float, shift: float) -> meshio.Mesh:
    blocks = [  # (y range, z range, material, tibial top in contact)
        ((2.0, 40.0), (1.0, 4.0), 0, False), ((2.0, 40.0), (-2.5, 0.0), 1, True),
        ((-40.0, -2.0), (1.0, 4.0), 2, False), ((-40.0, -2.0), (-2.5, 0.0), 3, True),
    ]
    pts, cells, mat, top = _stack_blocks(
        [((7, 7, 3), (-20.0 + shift, y0, z0), (20.0 + shift, y1, z1), m, 2 if tib else None)
         for (y0, y1), (z0, z1), m, tib in blocks])
    x, y, z = pts.T
    centre = np.where(y > 0, 20.0, -20.0)
    peak = np.where(y > 0, 4.0, 5.0) * factor
    p = np.where(top, peak * np.exp(-((x - shift) ** 2 + (y - centre) ** 2) / 60.0), 0.0)
    pd = {"displacement": factor * np.column_stack([0 * z, 0 * z, -0.1 * (z + 2.5)]),
          "von_mises": factor * (0.1 + 0.05 * np.abs(y) / 40.0), "contact_pressure": p,
          "contact_gap": np.where(top, 0.0, np.nan), "node_id": np.arange(len(pts))}
    return meshio.Mesh(pts, [("hexahedron", cells)], point_data=pd, cell_data={"material": [mat]})


#: synthetic patellofemoral facet peaks [MPa] at factor 1: lateral at (y, z) = (-12, 0), medial at (8, 5)
PF_PEAKS = {"lateral": 3.0, "medial": 2.0}


def _patellofemoral(factor: float, shift: float) -> meshio.Mesh:
    """Regions in the order of the built model (femur, patella, trochlear_cartilage, patellar_cartilage), the
    contact fields on the trochlear cartilage's anterior face (x = 0, the slave surface; the sulcus at y = 0):
    a lateral (y < 0) and a medial (y > 0) pressure spot on grid nodes."""
    blocks = [  # (x range, y range, z range, material, slave face at x = x1)
        ((-6.0, -3.0), (-20.0, 16.0), (-15.0, 15.0), 0, False),
        ((3.2, 6.2), (-18.0, 14.0), (-10.0, 10.0), 1, False),
        ((-3.0, 0.0), (-20.0, 16.0), (-15.0, 15.0), 2, True),
        ((0.2, 3.2), (-18.0, 14.0), (-10.0, 10.0), 3, False),
    ]
    pts, cells, mat, face = _stack_blocks(
        [((3, 10, 7), (x0, y0, z0 + shift), (x1, y1, z1 + shift), m, 0 if slave else None)
         for (x0, x1), (y0, y1), (z0, z1), m, slave in blocks])
    x, y, z = pts.T
    spot = {"lateral": (-12.0, shift), "medial": (8.0, 5.0 + shift)}
    p = sum(factor * PF_PEAKS[s] * np.exp(-((y - cy) ** 2 + (z - cz) ** 2) / 30.0) for s, (cy, cz) in spot.items())
    p = np.where(face, p, 0.0)
    pd = {"displacement": factor * np.column_stack([-0.05 * (x + 6.0), 0 * z, 0 * z]),
          "von_mises": factor * (0.1 + 0.02 * np.abs(y) / 20.0), "contact_pressure": p,
          "contact_force_pressure": 0.9 * p, "contact_gap": np.where(face, 0.0, np.nan),
          "node_id": np.arange(len(pts))}
    return meshio.Mesh(pts, [("hexahedron", cells)], point_data=pd, cell_data={"material": [mat]})


def _pf_peaks(mesh: meshio.Mesh) -> dict:
    """Per facet, the largest contact pressure (force per tributary area, as the summaries) on the slave nodes (the
    sulcus y = 0 in both)."""
    p, y, on = (mesh.point_data["contact_force_pressure"], mesh.points[:, 1],
                np.isfinite(mesh.point_data["contact_gap"]))
    return {"lateral": float(p[on & (y <= 0)].max()), "medial": float(p[on & (y >= 0)].max())}


def _summary(title: str, f: float) -> dict:
    return {
        "scenario": title, "status": "ok", "units": {"stress": "MPa"},
        "chain": {"side": "right", "foot": {"ground_force_N": 343.35},
                  "knee": {"compressive_force_N": 734.8, "tibial_rotation_deg": 0.0 if f == 1.0 else 5.0}},
        "foot": {"status": "ok", "metrics": {
            "fascia": {"total_tension_N": 115.0 * f, "total_tension_BW": 0.168 * f, "peak_fibre_stress_MPa": 9.0 * f},
            "plantar": {"contact": "ground", "peak_pressure_kPa": 200.0 * f, "peak_heel_pressure_kPa": 200.0 * f,
                        "contact_area_mm2": 11000.0 / f},
            "heel_pad_peak_von_mises_MPa": 0.027 * f}},
        "knee": {"status": "ok", "metrics": {
            "medial": {"peak_pressure_MPa": 4.0 * f, "contact_area_mm2": 180.0, "force_N": 440.0},
            "lateral": {"peak_pressure_MPa": 5.0 * f, "contact_area_mm2": 116.0, "force_N": 294.0},
            "medial_share": 0.6 / f}},
    }


def make_result(folder: Path, title: str = "synthetic A", factor: float = 1.0, knee_shift: float = 0.0,
                patellofemoral: bool = True) -> Path:
    """A result folder like ``fesolver run`` writes: foot.vtu, knee.vtu, patellofemoral.vtu (unless
    ``patellofemoral`` is false: then the summary says the joint was skipped, as with ``knee.patellofemoral =
    false``), summary.json (small, synthetic)."""
    folder.mkdir(parents=True, exist_ok=True)
    _foot(factor).write(folder / "foot.vtu", file_format="vtu")
    _knee(factor, knee_shift).write(folder / "knee.vtu", file_format="vtu")
    summary = _summary(title, factor)
    if patellofemoral:
        pf = _patellofemoral(factor, knee_shift)
        pf.write(folder / "patellofemoral.vtu", file_format="vtu")
        peaks = _pf_peaks(pf)
        summary["patellofemoral"] = {
            "status": "ok", "load_factor": 1.0,
            "loading": {"quadriceps_force_N": 300.0 * factor, "chain_flexion_deg": 45.0, "flexion_deg": 45.0},
            "metrics": {s: {"peak_pressure_MPa": peaks[s], "contact_area_mm2": 80.0, "force_N": 100.0 * factor}
                        for s in ("lateral", "medial")} | {"lateral_share": 0.5, "joint_reaction_N": 200.0 * factor}}
    else:
        summary["patellofemoral"] = {"status": "skipped", "reason": "knee.patellofemoral = false"}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("results")
    return {"a": make_result(base / "a"),
            "b": make_result(base / "b", "synthetic B", factor=1.3),
            "c": make_result(base / "c", "synthetic C", factor=0.8, knee_shift=3.0)}


@pytest.fixture(scope="module")
def rendered(results, tmp_path_factory):
    return viz.render(results["a"], tmp_path_factory.mktemp("png"), size=(500, 350))


@pytest.fixture(scope="module")
def pf_real(tmp_path_factory):
    """The patellofemoral joint of the midstance scenario (coarse), solved and written as ``fesolver run`` does
    (``simulate._solve``: ``patellofemoral.vtu`` and the summary's ``patellofemoral`` part); no foot or knee."""
    from fesolver.chain import chain_loads
    from fesolver.scenario import load_scenario
    from fesolver.simulate import _jsonable, _solve, patellofemoral_metrics, patellofemoral_problem

    out = tmp_path_factory.mktemp("pf_real")
    sc = load_scenario(ROOT / "scenarios" / "midstance.toml", overrides={"mesh.level": "coarse"})
    model, prob, info = patellofemoral_problem(sc, chain_loads(sc).knee)
    assert model is not None, info
    part = _solve("patellofemoral", model, prob, out, False, False, patellofemoral_metrics)
    assert part["status"] == "ok"
    part["loading"] = info
    summary = {"scenario": sc.title, "status": "ok", "patellofemoral": part}
    (out / "summary.json").write_text(json.dumps(summary, default=_jsonable))
    return out


def assert_not_blank(image, box=None):
    """Some of the picture is drawn (not background) and it has many colours (a field, not a flat fill)."""
    from PIL import Image

    img = np.asarray(Image.open(image).convert("RGB")) if not isinstance(image, np.ndarray) else image
    if box is not None:
        h, w = img.shape[:2]
        img = img[int(box[1] * h):int(box[3] * h), int(box[0] * w):int(box[2] * w)]
    drawn = ~np.all(img > 245, axis=-1)
    assert drawn.mean() > 0.05, f"only {100 * drawn.mean():.1f} % of the picture is drawn"
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 40, f"only {len(colours)} colours"


def _range(v, positive=False):
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if positive:
        v = v[v > 0]
    return (v.min(), v.max())


def _expected_ranges(folder: Path) -> dict:
    """Each drawn field's range computed straight from the VTU files (what the colour bar must span)."""
    foot, knee = meshio.read(folder / "foot.vtu"), meshio.read(folder / "knee.vtu")
    fs = foot.cell_data["fibre_stress"][0]
    tets = foot.cells[0].data
    body_pts = np.unique(tets[~np.isfinite(fs)])
    gap = foot.point_data["contact_gap"]
    kmat = knee.cell_data["material"][0]
    kgap = knee.point_data["contact_gap"]
    hexes = knee.cells[0].data
    plateau_regions = np.unique(kmat[np.isfinite(kgap[hexes]).any(axis=1)])
    plateau_pts = np.unique(hexes[np.isin(kmat, plateau_regions)])
    out = {}
    if (folder / "patellofemoral.vtu").is_file():
        pf = meshio.read(folder / "patellofemoral.vtu")
        out["patellofemoral.contact_pressure"] = _range(
            pf.point_data["contact_force_pressure"][np.isfinite(pf.point_data["contact_gap"])])
    return out | {
        "foot.von_mises": _range(foot.point_data["von_mises"][body_pts], positive=True),
        "foot.fascia_fibre_stress": _range(fs),
        "foot.plantar_pressure_kPa": _range(1e3 * foot.point_data["contact_pressure"][np.isfinite(gap)]),
        "knee.contact_pressure": _range(knee.point_data["contact_pressure"][plateau_pts]),
        "foot.displacement": _range(np.linalg.norm(foot.point_data["displacement"], axis=1)),
        "knee.displacement": _range(np.linalg.norm(knee.point_data["displacement"], axis=1)),
    }


# ----------------------------------------------------------------------------------------------------------------
# render
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", viz.VIEWS)
def test_view_is_drawn_and_colours_span_its_field(name, rendered, results):
    v = rendered[name]
    assert v.file.is_file() and v.file.stat().st_size > 5000
    assert_not_blank(v.file)
    expected = _expected_ranges(results["a"])
    assert v.clims, "no field drawn"
    for key, clim in v.clims.items():
        assert clim == pytest.approx(expected[key], rel=1e-6, abs=1e-12), key


def test_views_mark_the_peaks(results):
    """The plantar peak label carries the peak in kPa; the plateau labels the medial and lateral peaks."""
    res = viz.load_result(results["a"])
    plantar = viz._scene(res, "plantar_pressure", {})
    (_, text), = plantar.labels
    peak = 1e3 * meshio.read(results["a"] / "foot.vtu").point_data["contact_pressure"].max()
    assert text == f"peak {peak:.4g} kPa"
    knee = viz._scene(res, "tibial_plateaus", {})
    k = meshio.read(results["a"] / "knee.vtu")
    p, y = k.point_data["contact_pressure"], k.points[:, 1]
    assert [t for _, t in knee.labels] == [f"medial peak {p[y > 0].max():.3g} MPa",
                                           f"lateral peak {p[y < 0].max():.3g} MPa"]
    deformed = viz._scene(res, "knee_deformed", {})
    assert "displacements x" in deformed.title or "true scale" in deformed.title


# ----------------------------------------------------------------------------------------------------------------
# the patellofemoral view
# ----------------------------------------------------------------------------------------------------------------
#: the views of a result without the patellofemoral joint, as drawn before the joint existed
OLD_VIEWS = ("foot_von_mises", "plantar_pressure", "tibial_plateaus", "foot_deformed", "knee_deformed")


def _facing(scene) -> float:
    """Area-weighted mean of the drawn face's outward normals along the camera direction (1: seen face-on)."""
    face = scene.layers[0].mesh.compute_cell_sizes(length=False, volume=False)
    n = np.asarray(face.cell_normals)
    a = np.asarray(face.cell_data["Area"])
    d = np.asarray(scene.direction, dtype=float)
    return float((a[:, None] * n).sum(axis=0) @ d / (a.sum() * np.linalg.norm(d)))


def test_patellofemoral_view_draws_the_trochlear_contact_face(results):
    """The drawn face is the contact's slave surface (the trochlear cartilage's anterior face, x = 0: 36 x
    30 mm), seen face-on from the front; the facet labels carry the summary's per-facet peaks."""
    res = viz.load_result(results["a"])
    scene = viz._scene(res, "patellofemoral_pressure", {})
    face = scene.layers[0].mesh
    assert np.allclose(face.points[:, 0], 0.0)
    assert face.area == pytest.approx(36.0 * 30.0)
    assert _facing(scene) == pytest.approx(1.0)
    m = json.loads((results["a"] / "summary.json").read_text())["patellofemoral"]["metrics"]
    assert [t for _, t in scene.labels] == [f"lateral facet peak {m['lateral']['peak_pressure_MPa']:.3g} MPa",
                                            f"medial facet peak {m['medial']['peak_pressure_MPa']:.3g} MPa"]
    (lat, _), (med, _) = scene.labels
    assert lat[1] == pytest.approx(-12.0) and med[1] == pytest.approx(8.0)
    assert "[MPa]" in scene.title and "[MPa]" in scene.layers[0].title
    assert "flexion 45 deg, quadriceps 300 N" in scene.note
    # a joint that did not converge is drawn (its last converged state) and says so
    res.summary = json.loads(json.dumps(res.summary)) | {
        "patellofemoral": res.summary["patellofemoral"] | {"status": "not_converged", "load_factor": 0.4}}
    assert "status not_converged (load factor 0.4)" in viz._scene(res, "patellofemoral_pressure", {}).note


def test_patellofemoral_view_of_a_real_solve(pf_real, tmp_path):
    """A folder with only ``patellofemoral.vtu`` opens; the view draws the trochlear face seen from the front,
    colour limits from 0 to the summary's peak pressure, facet labels with the summary's facet peaks; the HTML
    viewer packs the model with the summary's region names."""
    summary = json.loads((pf_real / "summary.json").read_text())
    m = summary["patellofemoral"]["metrics"]
    peak = max(m["lateral"]["peak_pressure_MPa"], m["medial"]["peak_pressure_MPa"])
    assert peak > 0.1
    done = viz.render(pf_real, tmp_path / "png", size=(600, 420))
    assert list(done) == ["patellofemoral_pressure"]
    v = done["patellofemoral_pressure"]
    assert v.file.is_file() and v.file.stat().st_size > 5000
    assert_not_blank(v.file)
    lo, hi = v.clims["patellofemoral.contact_pressure"]
    assert lo == 0.0  # the face reaches beyond the contact patches
    assert hi == pytest.approx(peak, rel=1e-6)
    scene = viz._scene(viz.load_result(pf_real), "patellofemoral_pressure", {})
    assert [t for _, t in scene.labels] == [f"lateral facet peak {m['lateral']['peak_pressure_MPa']:.3g} MPa",
                                            f"medial facet peak {m['medial']['peak_pressure_MPa']:.3g} MPa"]
    (lat, _), (med, _) = scene.labels
    assert lat[1] < 0.0 < med[1], "lateral is -y, medial +y (the model's right knee)"
    assert _facing(scene) > 0.6, "the camera must look at the articular face, not at its back"
    f = viz.export_html(pf_real, tmp_path / "v.html")
    (model,) = _payload(f.read_text())["models"]
    assert model["name"] == "patellofemoral"
    assert [r["name"] for r in model["regions"]] == summary["patellofemoral"]["regions"]
    cp = next(fl for fl in model["fields"] if fl["key"] == "contact_force_pressure")
    assert cp["max"] == pytest.approx(peak, rel=1e-6)
    mult = next(fl for fl in model["fields"] if fl["key"] == "contact_pressure")
    assert mult["max"] == pytest.approx(max(m[s]["peak_multiplier_MPa"] for s in ("lateral", "medial")), rel=1e-6)


def test_results_without_the_patellofemoral_joint_draw_the_old_views(results, tmp_path, capsys):
    """``knee.patellofemoral = false`` (summary: skipped), a summary from before the joint existed and a stale
    ``patellofemoral.vtu`` of an earlier run next to a summary saying skipped: the old views, the old HTML
    models, no error."""
    d = make_result(tmp_path / "no_pf", patellofemoral=False)
    no_part = make_result(tmp_path / "old", patellofemoral=False)
    s = json.loads((no_part / "summary.json").read_text())
    del s["patellofemoral"]
    (no_part / "summary.json").write_text(json.dumps(s))
    stale = make_result(tmp_path / "stale", patellofemoral=False)
    shutil.copy(results["a"] / "patellofemoral.vtu", stale / "patellofemoral.vtu")
    for k, folder in enumerate((d, no_part, stale)):
        out = tmp_path / f"png{k}"
        done = viz.render(folder, out, size=(400, 300))
        assert tuple(done) == OLD_VIEWS, folder.name
        assert sorted(p.name for p in out.iterdir()) == sorted(f"{v}.png" for v in OLD_VIEWS)
        html = viz.export_html(folder, tmp_path / f"v{k}.html")
        assert [m["name"] for m in _payload(html.read_text())["models"]] == ["foot", "knee"]
    assert main(["render", str(d), "-o", str(tmp_path / "cli")]) == 0
    assert tuple(json.loads(capsys.readouterr().out)) == OLD_VIEWS
    # compared with a result that has the joint: no patellofemoral picture, the others as before
    out = viz.compare(results["a"], d, tmp_path / "cmp", views=["tibial_plateaus", "patellofemoral_pressure"],
                      size=(300, 200))
    assert list(out["views"]) == ["tibial_plateaus"]


def test_region_names_from_the_summary_are_used(results, tmp_path):
    """With ``summary[model]["regions"]`` (names in material order) the plateau and its sides come from the
    names: here the 'medial' regions are put at y < 0, so the medial peak is the one at y < 0."""
    d = tmp_path / "named"
    shutil.copytree(results["a"], d)
    s = json.loads((d / "summary.json").read_text())
    s["knee"]["regions"] = ["femoral_cartilage_lateral", "tibial_cartilage_lateral", "femoral_cartilage_medial",
                            "tibial_cartilage_medial"]
    s["foot"]["regions"] = ["soft_tissue", "fascia_ray1"]
    (d / "summary.json").write_text(json.dumps(s))
    res = viz.load_result(d)
    k = meshio.read(d / "knee.vtu")
    p, y = k.point_data["contact_pressure"], k.points[:, 1]
    scene = viz._scene(res, "tibial_plateaus", {})
    assert [t for _, t in scene.labels] == [f"medial peak {p[y < 0].max():.3g} MPa",
                                            f"lateral peak {p[y > 0].max():.3g} MPa"]
    fs = meshio.read(d / "foot.vtu").cell_data["fibre_stress"][0]
    assert viz._fascia_cells(res, res.grid("foot")).tolist() == np.flatnonzero(np.isfinite(fs)).tolist()


def test_truss_fascia_is_drawn_from_its_axial_stress(tmp_path):
    """``mesh.fascia = "truss"``: the fascia is line cells with ``axial_stress``; the view colours them by it."""
    d = make_result(tmp_path / "truss")
    m = meshio.read(d / "foot.vtu")
    tets = m.cells[0].data
    bottom = np.flatnonzero(m.points[:, 2] == 0.0)[:6]
    lines = np.column_stack([bottom[:-1], bottom[1:]])
    n_t, n_l = len(tets), len(lines)
    nan_t, nan_l = np.full(n_t, np.nan), np.full(n_l, np.nan)
    cd = {"material": [m.cell_data["material"][0] * 0, np.full(n_l, -1)],
          "fibre_stress": [nan_t, nan_l], "fibre_stretch": [nan_t, nan_l],
          "von_mises": [m.cell_data["von_mises"][0], nan_l],
          "axial_stress": [nan_t, np.linspace(1.0, 12.0, n_l)], "axial_force": [nan_t, np.linspace(10, 120, n_l)]}
    meshio.Mesh(m.points, [("tetra", tets), ("line", lines)], point_data=m.point_data, cell_data=cd).write(
        d / "foot.vtu", file_format="vtu")
    done = viz.render(d, tmp_path / "png", views=["foot_von_mises", "plantar_pressure"], size=(400, 300))
    assert done["foot_von_mises"].clims["foot.fascia_fibre_stress"] == pytest.approx((1.0, 12.0))
    assert_not_blank(done["plantar_pressure"].file)


def test_shared_limits_span_all_results(results, tmp_path):
    lim = viz.shared_limits([results["a"], results["b"]])
    ea, eb = _expected_ranges(results["a"]), _expected_ranges(results["b"])
    for key in ea:
        assert lim[key] == pytest.approx((min(ea[key][0], eb[key][0]), max(ea[key][1], eb[key][1]))), key
    done = viz.render(results["a"], tmp_path, limits=lim, views=["plantar_pressure", "tibial_plateaus"],
                      size=(400, 300))
    assert done["plantar_pressure"].clims["foot.plantar_pressure_kPa"] == pytest.approx(
        lim["foot.plantar_pressure_kPa"])
    assert done["tibial_plateaus"].clims["knee.contact_pressure"] == pytest.approx(lim["knee.contact_pressure"])


def test_nice_scale():
    assert viz.nice_scale(14.0, 300.0) == 1.0
    assert viz.nice_scale(0.81, 100.0) == 5.0
    assert viz.nice_scale(0.01, 100.0) == 500.0
    assert viz.nice_scale(0.0, 100.0) == 1.0


def test_offscreen_picks_egl_without_display(monkeypatch):
    import ctypes.util

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "VTK_DEFAULT_OPENGL_WINDOW"):
        monkeypatch.delenv(var, raising=False)
    if ctypes.util.find_library("EGL"):
        assert viz.offscreen() == "vtkEGLRenderWindow"
    monkeypatch.delenv("VTK_DEFAULT_OPENGL_WINDOW", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(viz.RenderError, match="xvfb-run"):
        viz.offscreen()


def test_missing_result_is_an_input_error(tmp_path, capsys):
    with pytest.raises(viz.RenderError, match="not a result folder"):
        viz.load_result(tmp_path / "nope")
    assert main(["render", str(tmp_path), "-o", str(tmp_path / "png")]) == 2
    assert "no foot.vtu, knee.vtu or patellofemoral.vtu" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------
# compare
# ----------------------------------------------------------------------------------------------------------------
def test_compare_table_deltas_are_the_summaries_differences(results, tmp_path):
    out = viz.compare(results["a"], results["b"], tmp_path, views=["plantar_pressure"], size=(400, 300))
    ha = headline(json.loads((results["a"] / "summary.json").read_text()))
    hb = headline(json.loads((results["b"] / "summary.json").read_text()))
    rows = {r["metric"]: r for r in out["table"]}
    assert set(rows) == set(ha) | set(hb)
    for k, r in rows.items():
        assert r["a"] == ha[k] and r["b"] == hb[k]
        assert r["delta"] == pytest.approx(hb[k] - ha[k])
        if ha[k] != 0.0:
            assert r["delta_pct"] == pytest.approx(100.0 * (hb[k] - ha[k]) / abs(ha[k]))
        else:
            assert r["delta_pct"] is None
    # compare.md holds the same numbers (4 significant digits)
    md = out["markdown"].read_text()
    for k, r in rows.items():
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {k} |"))
        cols = [c.strip() for c in line.strip("|").split("|")]
        assert float(cols[3]) == pytest.approx(r["delta"], rel=2e-3, abs=1e-12)
        if r["delta_pct"] is not None:
            assert float(cols[4].rstrip(" %")) == pytest.approx(r["delta_pct"], rel=2e-3, abs=1e-9)
    assert_not_blank(out["metrics_png"])


def test_compare_diffs_the_patellofemoral_view_on_shared_limits(results, tmp_path):
    """Both results have the joint: A and B on limits spanning both, B - A where the meshes match (a, b), none
    where they differ (a, c: the joint shifted)."""
    from PIL import Image

    lim = viz.shared_limits([results["a"], results["b"]], ["patellofemoral_pressure"])
    ea, eb = _expected_ranges(results["a"]), _expected_ranges(results["b"])
    key = "patellofemoral.contact_pressure"
    assert lim[key] == pytest.approx((min(ea[key][0], eb[key][0]), max(ea[key][1], eb[key][1])))
    assert lim[key][1] == pytest.approx(1.3 * 0.9 * max(PF_PEAKS.values()), rel=1e-5)  # force per area: 0.9 p
    done = viz.render(results["a"], tmp_path / "png", limits=lim, views=["patellofemoral_pressure"], size=(400, 300))
    assert done["patellofemoral_pressure"].clims[key] == pytest.approx(lim[key])
    out = viz.compare(results["a"], results["b"], tmp_path / "ab", views=["patellofemoral_pressure"], size=(400, 300))
    assert Image.open(out["views"]["patellofemoral_pressure"]).width == 3 * 400
    assert_not_blank(out["views"]["patellofemoral_pressure"])
    res_a, res_b = viz.load_result(results["a"]), viz.load_result(results["b"])
    scene, _ = viz._difference_scene(viz._scene(res_a, "patellofemoral_pressure", {}),
                                     viz._scene(res_b, "patellofemoral_pressure", {}))
    pa = meshio.read(results["a"] / "patellofemoral.vtu").point_data["contact_force_pressure"]
    pb = meshio.read(results["b"] / "patellofemoral.vtu").point_data["contact_force_pressure"]
    m = np.abs(pb - pa).max()
    assert scene.layers[-1].field_range() == pytest.approx((-m, m))
    out = viz.compare(results["a"], results["c"], tmp_path / "ac", views=["patellofemoral_pressure"], size=(400, 300))
    assert Image.open(out["views"]["patellofemoral_pressure"]).width == 2 * 400


def test_compare_shows_a_difference_map_only_where_meshes_match(results, tmp_path):
    from PIL import Image

    out = viz.compare(results["a"], results["c"], tmp_path, views=["plantar_pressure", "tibial_plateaus"],
                      size=(400, 300))
    foot = Image.open(out["views"]["plantar_pressure"])
    knee = Image.open(out["views"]["tibial_plateaus"])
    assert foot.width == 3 * 400, "same foot mesh: A, B and B - A"
    assert knee.width == 2 * 400, "knee meshes differ: A and B only"
    assert_not_blank(out["views"]["plantar_pressure"])
    # the difference panel spans +-max|B - A| of the plantar pressure
    a = meshio.read(results["a"] / "foot.vtu").point_data["contact_pressure"]
    c = meshio.read(results["c"] / "foot.vtu").point_data["contact_pressure"]
    res_a, res_c = viz.load_result(results["a"]), viz.load_result(results["c"])
    scene, _ = viz._difference_scene(viz._scene(res_a, "plantar_pressure", {}),
                                     viz._scene(res_c, "plantar_pressure", {}))
    m = 1e3 * np.abs(c - a).max()
    assert scene.layers[-1].field_range() == pytest.approx((-m, m))


# ----------------------------------------------------------------------------------------------------------------
# HTML viewer
# ----------------------------------------------------------------------------------------------------------------
def _payload(html: str) -> dict:
    m = re.search(r'<script id="data" type="application/json">(.*?)</script>', html, flags=re.S)
    return json.loads(m.group(1))


def test_export_html_is_standalone(results, tmp_path):
    f = viz.export_html(results["a"], tmp_path / "v.html")
    html = f.read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html), "the page must load nothing from elsewhere"
    assert "http://" not in html and "https://" not in html
    data = _payload(html)
    foot = data["models"][0]
    keys = [fl["key"] for fl in foot["fields"]]
    assert keys[0] == "von_mises" and "contact_pressure" in keys and "fibre_stress" in keys
    assert foot["nTriangles"] == sum(r["count"] for r in foot["regions"]) > 0
    vm = next(fl for fl in foot["fields"] if fl["key"] == "von_mises")
    assert vm["max"] == pytest.approx(meshio.read(results["a"] / "foot.vtu").point_data["von_mises"].max(), rel=1e-6)
    assert [m["name"] for m in data["models"]] == ["foot", "knee", "patellofemoral"]
    pf = data["models"][2]
    assert pf["nTriangles"] == sum(r["count"] for r in pf["regions"]) > 0 and len(pf["regions"]) == 4
    cp = next(fl for fl in pf["fields"] if fl["key"] == "contact_force_pressure")
    m = json.loads((results["a"] / "summary.json").read_text())["patellofemoral"]["metrics"]
    assert cp["max"] == pytest.approx(max(m[s]["peak_pressure_MPa"] for s in ("lateral", "medial")), rel=1e-6)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = _chromium()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's chromium when CI=true; "
                                             "locally: apt-get install chromium)")
@pytest.mark.parametrize("renderer", ["default", "2d"])
def test_html_viewer_renders_in_headless_chromium(renderer, results, tmp_path):
    f = viz.export_html(results["a"], tmp_path / "viewer.html")
    url = f.resolve().as_uri() + ("?renderer=2d" if renderer == "2d" else "")
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
              "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--window-size=900,650",
              "--virtual-time-budget=5000"]
    png = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={png}", url], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([*common, "--dump-dom", url], check=True, capture_output=True, timeout=120, text=True).stdout
    assert "data-error" not in dom, dom[:2000]
    m = re.search(r'data-rendered="(webgl|2d):(\d+)"', dom)
    assert m, "the viewer did not draw"
    n = _payload(f.read_text())["models"][0]["nTriangles"]
    assert int(m.group(2)) == n
    if renderer == "2d":
        assert m.group(1) == "2d"
    # the model sits in the middle of the page, away from the menus and the colour bar
    assert_not_blank(png, box=(0.3, 0.25, 0.75, 0.8))


# ----------------------------------------------------------------------------------------------------------------
# batch curves
# ----------------------------------------------------------------------------------------------------------------
def test_plot_metric_curves_one_png_per_metric(tmp_path):
    rows = [{"foot.eversion_deg": x, "peak plantar pressure [kPa]": 200.0 + 5.0 * x,
             "medial share (contact) [-]": 0.6 - 0.01 * x, "status": "ok"} for x in (0.0, 4.0, 8.0, 2.0)]
    rows.append({"foot.eversion_deg": 6.0, "peak plantar pressure [kPa]": None})
    files = viz.plot_metric_curves(rows, "foot.eversion_deg", tmp_path)
    assert [p.name for p in files] == ["peak_plantar_pressure_kpa.png", "medial_share_contact.png"]
    for p in files:
        assert_not_blank(p)
    with pytest.raises(ValueError, match="no row has a numeric"):
        viz.plot_metric_curves([{"x": "a"}], "x", tmp_path)


# ----------------------------------------------------------------------------------------------------------------
# CLI and layering
# ----------------------------------------------------------------------------------------------------------------
def test_cli_render_compare_export_and_view_without_display(results, tmp_path, capsys, monkeypatch):
    assert main(["render", str(results["a"]), "-o", str(tmp_path / "png"), "--views", "tibial_plateaus",
                 "--clim-from", str(results["b"])]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tibial_plateaus"]["clims"]["knee.contact_pressure"][1] == pytest.approx(5.0 * 1.3, rel=0.05)
    assert (tmp_path / "png" / "tibial_plateaus.png").is_file()
    assert main(["compare", str(results["a"]), str(results["b"]), "-o", str(tmp_path / "cmp"), "--views",
                 "knee_deformed"]) == 0
    assert (tmp_path / "cmp" / "compare.md").is_file() and (tmp_path / "cmp" / "compare_knee_deformed.png").is_file()
    capsys.readouterr()
    assert main(["export-html", str(results["a"]), "-o", str(tmp_path / "v.html")]) == 0
    assert json.loads(capsys.readouterr().out)["html"].endswith("v.html")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["view", str(results["a"])]) == 2
    assert "no display" in capsys.readouterr().err


def test_numerics_never_import_viz():
    """Only the front ends draw: viz itself, the CLI and the batch runner (its metric curves, imported lazily)."""
    pattern = re.compile(r"^\s*(from\s+(\.+|fesolver\.?)\s*(viz\b|import\s+viz\b)|import\s+fesolver\.viz\b)", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "fesolver").rglob("*.py")
                 if p.name not in ("viz.py", "cli.py", "batch.py") and pattern.search(p.read_text())]
    assert not offenders


# ----------------------------------------------------------------------------------------------------------------
# a real result
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_render_a_real_standing_result(tmp_path):
    """The shipped standing scenario (coarse meshes, ~2 min): every view draws, colour ranges equal the fields'
    ranges in the written VTU files, the HTML viewer packs both models."""
    from fesolver.scenario import load_scenario
    from fesolver.simulate import run_scenario

    out = tmp_path / "standing"
    summary = run_scenario(load_scenario(ROOT / "scenarios" / "standing.toml",
                                         overrides={"mesh.level": "coarse"}), out)
    assert summary["status"] == "ok"
    done = viz.render(out, tmp_path / "png", size=(600, 420))
    pf = (out / "patellofemoral.vtu").is_file()  # standing: no quadriceps force, the joint is skipped
    assert pf == (summary["patellofemoral"]["status"] != "skipped")
    assert set(done) == set(viz.VIEWS) - (set() if pf else {"patellofemoral_pressure"})
    foot, knee = meshio.read(out / "foot.vtu"), meshio.read(out / "knee.vtu")
    for v in done.values():
        assert_not_blank(v.file)
    fs = foot.cell_data["fibre_stress"][0]
    assert done["foot_von_mises"].clims["foot.fascia_fibre_stress"] == pytest.approx(_range(fs))
    gap = foot.point_data["contact_gap"]
    assert done["plantar_pressure"].clims["foot.plantar_pressure_kPa"] == pytest.approx(
        _range(1e3 * foot.point_data["contact_pressure"][np.isfinite(gap)]))
    assert done["plantar_pressure"].clims["foot.plantar_pressure_kPa"][1] == pytest.approx(
        summary["foot"]["metrics"]["plantar"]["peak_pressure_kPa"])
    top = max(summary["knee"]["metrics"][s]["peak_pressure_MPa"] for s in ("medial", "lateral"))
    assert done["tibial_plateaus"].clims["knee.contact_pressure"][1] == pytest.approx(top)
    assert done["knee_deformed"].clims["knee.displacement"] == pytest.approx(
        _range(np.linalg.norm(knee.point_data["displacement"], axis=1)))
    if pf:
        m = summary["patellofemoral"]["metrics"]
        assert done["patellofemoral_pressure"].clims["patellofemoral.contact_pressure"][1] == pytest.approx(
            max(m[s]["peak_pressure_MPa"] for s in ("lateral", "medial")))
    html = viz.export_html(out)
    assert [m["name"] for m in _payload(html.read_text())["models"]] == ["foot", "knee"] + (["patellofemoral"] if pf
                                                                                          else [])
