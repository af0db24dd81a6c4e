"""User meshes (fesolver.models.user): volume files, FEBio geometry, closed surfaces per tissue, names, errors.

The round trips write the parametric knee to a file, load it back as a user's mesh and check that it is the same
model: regions, sets, materials, rigid bodies, contacts and the peak contact pressure under a 300 N femur load.
Each knee solve takes 4-12 s (the parametric one is shared by the module); the foot round trip builds the
coarse parametric foot (gmsh, 15-30 s) and is marked slow.
"""

from __future__ import annotations

import importlib.util
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from fesolver.errors import MeshError, ModelError
from fesolver.models.foot import foot_materials
from fesolver.models.knee import build_knee, knee_with_femur_load
from fesolver.models.user import KNEE_REGIONS, load_user_model, read_feb, read_user_mesh
from fesolver.solvers.newton import NewtonOptions

gmsh = pytest.importorskip("gmsh")
meshio = pytest.importorskip("meshio")

ROOT = Path(__file__).resolve().parent.parent
SURFACES = tuple(f"{b}_cartilage_{s}_surface" for b in ("tibial", "femoral") for s in ("medial", "lateral"))


# -- writers -----------------------------------------------------------------------------------------------
def _build_knee_script():
    spec = importlib.util.spec_from_file_location("build_knee_script", ROOT / "meshes" / "build_knee.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tagged(model, facets=True, regions=None):
    """meshio cells, per-block region tags and field data {name: [tag, dim]} of a one-block model."""
    m = model.mesh
    (block,) = m.solids
    names = [r for r in m.cell_sets if r != "all" and (regions is None or r in regions)]
    tag = np.zeros(block.cells.shape[0], dtype=np.int64)
    field = {}
    for t, r in enumerate(names, start=1):
        tag[m.cell_sets[r][0]] = t
        field[r] = np.array([t, 3])
    keep = tag > 0
    cells, data = [(block.etype.meshio_type, block.cells[keep])], [tag[keep]]
    if facets:
        for t, (name, parts) in enumerate(m.facet_sets.items(), start=1):
            (ft, conn), = parts
            cells.append((ft.meshio_type, conn))
            data.append(np.full(conn.shape[0], t, dtype=np.int64))
            field[name] = np.array([t, 2])
    return cells, data, field


def write_vtu(model, path, named=True, facets=True, regions=None, scale=1.0):
    """VTU. ``named``: the sets as meshio ``cell_sets`` (meshio stores them as one integer array whose name joins
    the set names); else an integer ``region`` array (volume tags 1.., facet tags 101..). Returns the volume
    tag -> region name."""
    cells, data, field = _tagged(model, facets, regions)
    used = np.unique(np.concatenate([c.ravel() for _, c in cells]))
    remap = np.full(model.mesh.n_nodes, -1)
    remap[used] = np.arange(used.size)
    cells = [(t, remap[c]) for t, c in cells]
    if named:
        # block 0: the solids; block k > 0: the k-th facet set
        sets = {name: [np.flatnonzero(d == tag) if (k == 0) == (dim == 3) else np.empty(0, dtype=np.int64)
                       for k, d in enumerate(data)] for name, (tag, dim) in field.items()}
        mesh = meshio.Mesh(scale * model.mesh.points[used], cells, cell_sets=sets)
    else:
        data = [d if k == 0 else d + 100 for k, d in enumerate(data)]
        mesh = meshio.Mesh(scale * model.mesh.points[used], cells, cell_data={"region": data})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # meshio: "VTU format cannot write cell_sets. Converting them ..."
        meshio.write(path, mesh)
    return {int(v[0]): k for k, v in field.items() if v[1] == 3}


def write_msh(model, path):
    """gmsh MSH 2.2 with every region and facet set a named physical group (as meshes/build_knee.py does)."""
    cells, data, field = _tagged(model)
    meshio.write(path, meshio.Mesh(model.mesh.points, cells, field_data=field,
                                   cell_data={"gmsh:physical": data, "gmsh:geometrical": data}),
                 file_format="gmsh22", binary=False)


def write_feb(model, path, version="4.0"):
    """The model's geometry as FEBio XML, node ids 2 i + 7 (not contiguous), one <Elements> per region."""
    m = model.mesh
    nid = 2 * np.arange(m.n_nodes) + 7
    geo = "Geometry" if version == "2.5" else "Mesh"
    out = [f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<febio_spec version="{version}">',
           "<Module type=\"solid\"/>", f"<{geo}>", '<Nodes name="Object1">']
    out += [f'<node id="{i}">{x:.17g},{y:.17g},{z:.17g}</node>' for i, (x, y, z) in zip(nid, m.points, strict=True)]
    out.append("</Nodes>")
    eid = 1
    for r in m.cell_sets:
        if r == "all":
            continue
        out.append(f'<Elements type="hex8" name="{r}">')
        for c in m.solids[0].cells[m.cell_sets[r][0]]:
            out.append(f'<elem id="{eid}">{",".join(str(v) for v in nid[c])}</elem>')
            eid += 1
        out.append("</Elements>")
    for name, parts in m.facet_sets.items():
        out.append(f'<Surface name="{name}">')
        out += [f'<quad4 id="{k + 1}">{",".join(str(v) for v in nid[c])}</quad4>' for k, c in enumerate(parts[0][1])]
        out.append("</Surface>")
    out += [f"</{geo}>", "</febio_spec>"]
    Path(path).write_text("\n".join(out))


def surfaces_of_volumes(make, size, paths):
    """One conforming gmsh surface mesh of the OCC volumes ``make(occ)`` (fragmented), each volume's boundary
    written to its STL in ``paths`` (largest volume first)."""
    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        occ = gmsh.model.occ
        vols = make(occ)
        occ.fragment(vols[:1], vols[1:]) if len(vols) > 1 else None
        occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.model.mesh.generate(2)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        idx = np.full(int(tags.max()) + 1, -1)
        idx[tags.astype(np.int64)] = np.arange(tags.size)
        pts = np.asarray(coords).reshape(-1, 3)
        volumes = sorted((t for _, t in gmsh.model.getEntities(3)), key=lambda t: -occ.getMass(3, t))
        assert len(volumes) == len(paths)
        for vol, path in zip(volumes, paths, strict=True):
            tri = []
            for _, s in gmsh.model.getBoundary([(3, vol)], oriented=False):
                _, _, en = gmsh.model.mesh.getElements(2, abs(s))
                tri.append(idx[np.asarray(en[0], dtype=np.int64)].reshape(-1, 3))
            meshio.write(path, meshio.Mesh(pts, [("triangle", np.vstack(tri))]), binary=True)
    finally:
        gmsh.finalize()


# -- comparisons ---------------------------------------------------------------------------------------------
def _rows(a):
    a = np.asarray(a)
    return a[np.lexsort(a.T[::-1])]


def region_cells(model, r):
    m = model.mesh
    return _rows(np.vstack([m.solids[b].cells[i] for b, i in m.cell_sets[r].items()]))


def facet_keys(model, name):
    return {tuple(sorted(c)) for _, conn in model.mesh.facet_sets[name] for c in conn.tolist()}


def assert_same_knee(user, knee):
    assert user.name == "knee"
    assert np.allclose(user.mesh.points, knee.mesh.points, rtol=0.0, atol=1e-12)
    assert sorted(r for r in user.mesh.cell_sets if r != "all") == sorted(KNEE_REGIONS)
    for r in KNEE_REGIONS:
        assert np.array_equal(region_cells(user, r), region_cells(knee, r)), r
        assert np.array_equal(user.mesh.node_sets[r], knee.mesh.node_sets[r]), r
        assert user.materials[r] == knee.materials[r], r
    for s in SURFACES:
        assert facet_keys(user, s) == facet_keys(knee, s), s
    assert [(b.name, b.region, b.prescribed) for b in user.rigid_bodies] == \
        [(b.name, b.region, b.prescribed) for b in knee.rigid_bodies]
    for cu, ck in zip(user.contacts, knee.contacts, strict=True):
        assert (cu.name, cu.slave, cu.master, cu.penalty, cu.search_radius, cu.subdivision) == \
            (ck.name, ck.slave, ck.master, ck.penalty, ck.search_radius, ck.subdivision)
    assert user.params["compartment_offset"] == pytest.approx(knee.params["compartment_offset"])


def peak_pressures(model, force=300.0):
    loaded = knee_with_femur_load(model, force=(0.0, 0.0, -force))
    t0 = time.perf_counter()
    res = loaded.problem(newton=NewtonOptions(initial_step=1.0, max_step=1.0)).solve()
    out = {n: c["summary"]["peak_pressure_MPa"] for n, c in res.contact.items()}
    total = sum(-c["summary"]["force_N"][2] for c in res.contact.values())
    print(f"\n{model.params.get('source', 'parametric knee')}: {force} N solved in {time.perf_counter() - t0:.1f} s, "
          f"peaks {out} MPa, contact force {total:.3f} N")
    return out


# -- fixtures ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def knee():
    return build_knee(menisci=False, mesh="coarse")


@pytest.fixture(scope="module")
def files(tmp_path_factory, knee):
    d = tmp_path_factory.mktemp("user_knee")
    assert _build_knee_script().main(["--mesh", "coarse", "--no-menisci", "-o", str(d / "knee.msh")]) == 0
    write_vtu(knee, d / "knee.vtu")
    tags = write_vtu(knee, d / "knee_volume.vtu", named=False, facets=False)
    (d / "knee_volume.json").write_text(json.dumps(tags))
    write_feb(knee, d / "knee.feb", "3.0")
    return d


@pytest.fixture(scope="module")
def parametric_peaks(knee):
    return peak_pressures(knee)


# -- knee round trips ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["knee.msh", pytest.param("knee.vtu", marks=pytest.mark.slow)])
def test_knee_round_trip_solves_like_the_parametric_knee(files, knee, parametric_peaks, name):
    """gmsh .msh written by meshes/build_knee.py (physical names); .vtu written by meshio from cell sets."""
    user = load_user_model("knee", files / name)
    assert_same_knee(user, knee)
    peaks = peak_pressures(user)
    for contact, p in parametric_peaks.items():
        assert peaks[contact] == pytest.approx(p, rel=1e-6), contact


@pytest.mark.parametrize("name", ["knee.msh", "knee.vtu", "knee.feb"])
def test_knee_round_trip_is_the_same_model(files, knee, name):
    """Same regions, sets, materials, rigid bodies and contact options (then the same solution: see above)."""
    user = load_user_model("knee", files / name)
    assert_same_knee(user, knee)
    assert user.params["derived"] == []
    assert user.landmarks["femur_reference"] == pytest.approx(knee.mesh.points[knee.mesh.node_sets["femur"]].mean(0))
    assert user.params["contact_element_size_mm"] == {c.name: 2.0 for c in knee.contacts}


def test_unnamed_tags_need_a_mapping_and_surfaces_are_derived(files, knee):
    path = files / "knee_volume.vtu"
    with pytest.raises(ModelError) as err:
        load_user_model("knee", path)
    msg = str(err.value)
    assert str(path) in msg and "'region1'" in msg and all(repr(r) in msg for r in KNEE_REGIONS)
    tags = json.loads((files / "knee_volume.json").read_text())
    mapping = {f"region{t}": name for t, name in tags.items()}
    user = load_user_model("knee", path, mapping=mapping)
    assert sorted(r for r in user.mesh.cell_sets if r != "all") == sorted(KNEE_REGIONS)
    assert "region1" not in user.mesh.node_sets and np.array_equal(user.mesh.node_sets["femur"],
                                                                 knee.mesh.node_sets["femur"])
    assert sum("surface" in d for d in user.params["derived"]) == 4
    for s in ("medial", "lateral"):
        tib, fem = f"tibial_cartilage_{s}_surface", f"femoral_cartilage_{s}_surface"
        assert facet_keys(user, tib) == facet_keys(knee, tib)
        # the femoral cap reaches from 50 deg anterior to 110 deg posterior: the derived set is its distal part
        derived, full = facet_keys(user, fem), facet_keys(knee, fem)
        assert derived < full and len(derived) > 0.4 * len(full)
        nodes = knee.mesh.node_sets[fem]
        first = nodes[np.argmin(np.linalg.norm(knee.mesh.points[nodes] - knee.landmarks[f"{s}_first_contact"], axis=1))]
        assert any(first in f for f in derived)


# -- FEBio -----------------------------------------------------------------------------------------------------
_CUBE = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1.0]])
_IDS = [11, 12, 14, 15, 20, 21, 22, 30, 40]  # apex last


@pytest.mark.parametrize("version", ["2.5", "3.0", "4.0"])
def test_feb_geometry(tmp_path, version):
    pts = np.vstack([_CUBE, [[0.5, 0.5, 2.0]]])
    nodes = "\n".join(f'<node id="{n}"> {x:.7e}, {y:.7e}, {z:.7e}</node>'
                      for n, (x, y, z) in zip(_IDS, pts, strict=True))
    i = _IDS
    bottom = [i[0], i[1], i[2], i[3]]
    if version == "2.5":
        nodeset = "".join(f'<node id="{n}"/>' for n in bottom)
    elif version == "3.0":
        nodeset = "".join(f'<n id="{n}"/>' for n in bottom)
    else:
        nodeset = ",".join(str(n) for n in bottom)
    geo = "Geometry" if version == "2.5" else "Mesh"
    text = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<febio_spec version="{version}">
  <Material><material id="1" name="m" type="neo-Hookean"><E>1</E><v>0.3</v></material></Material>
  <{geo}>
    <Nodes name="Object1">
{nodes}
    </Nodes>
    <Elements type="hex8" mat="1" name="Block"><elem id="1">{",".join(str(n) for n in i[:8])}</elem></Elements>
    <Elements type="tet4" mat="2"><elem id="2">{i[4]},{i[5]},{i[6]},{i[8]}</elem></Elements>
    <NodeSet name="bottom">{nodeset}</NodeSet>
    <Surface name="top">
      <quad4 id="1">{i[4]},{i[5]},{i[6]},{i[7]}</quad4>
      <tri3 id="2">{i[4]},{i[5]},{i[8]}</tri3>
    </Surface>
  </{geo}>
  <MeshDomains><SolidDomain name="Block" mat="m"/></MeshDomains>
</febio_spec>
"""
    path = tmp_path / f"cube_{version}.feb"
    path.write_text(text)
    m = read_feb(path)
    assert np.allclose(m.points, pts)
    assert [b.etype.name for b in m.solids] == ["hex8", "tet4"]
    assert np.array_equal(m.solids[0].cells[0], np.arange(8)) and np.array_equal(m.solids[1].cells[0], [4, 5, 6, 8])
    assert set(m.cell_sets) == {"Block", "mat2", "all"}
    assert np.array_equal(m.node_sets["bottom"], [0, 1, 2, 3])
    assert sorted(ft.name for ft, _ in m.facet_sets["top"]) == ["quad4", "tri3"]


def test_feb_errors_name_the_problem(tmp_path):
    good = '<node id="1">0,0,0</node><node id="2">1,0,0</node><node id="3">0,1,0</node><node id="4">0,0,1</node>'
    cases = {
        "penta6": ('<Elements type="penta6" name="P"><elem id="1">1,2,3,4,1,2</elem></Elements>', "penta6"),
        "unknown node": ('<Elements type="tet4" name="P"><elem id="1">1,2,3,99</elem></Elements>', "99"),
        "short row": ('<Elements type="tet4" name="P"><elem id="1">1,2,3</elem></Elements>', "expected 4"),
    }
    for what, (elements, expect) in cases.items():
        path = tmp_path / f"{what.replace(' ', '_')}.feb"
        path.write_text(f'<febio_spec version="4.0"><Mesh><Nodes>{good}</Nodes>{elements}</Mesh></febio_spec>')
        with pytest.raises(MeshError, match=expect):
            read_feb(path)
    path = tmp_path / "old.feb"
    path.write_text('<febio_spec version="1.2"><Geometry/></febio_spec>')
    with pytest.raises(MeshError, match="2.5 / 3.0 / 4.0"):
        read_feb(path)


def test_feb_geometry_shares_the_solver_reader(tmp_path):
    """One parser for both FEBio readers: errors give file:line, line2 blocks become line sets, DTDs are refused."""
    good = '<node id="1">0,0,0</node><node id="2">1,0,0</node><node id="3">0,1,0</node><node id="4">0,0,1</node>'
    path = tmp_path / "lines.feb"
    path.write_text(f'<febio_spec version="3.0">\n<Mesh>\n<Nodes>{good}</Nodes>\n'
                    '<Elements type="tet4" name="P"><elem id="1">1,2,3,4</elem></Elements>\n'
                    '<Elements type="line2" name="fascia_band1"><elem id="2">1,4</elem></Elements>\n'
                    '</Mesh></febio_spec>')
    m = read_feb(path)
    assert set(m.line_sets) == {"fascia_band1"} and np.array_equal(m.lines[0].cells, [[0, 3]])
    path = tmp_path / "bad.feb"
    path.write_text(f'<febio_spec version="4.0">\n<Mesh>\n<Nodes>{good}</Nodes>\n'
                    '<Surface name="S">\n<tri3 id="1">1,2</tri3>\n</Surface>\n</Mesh></febio_spec>')
    with pytest.raises(MeshError, match=r"bad\.feb:5: <Surface name='S'>: entry 1 has 2 values, expected 3"):
        read_feb(path)
    path = tmp_path / "dtd.feb"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE febio_spec [<!ENTITY a "aaaa">]>\n'
                    f'<febio_spec version="4.0"><Mesh><Nodes>{good}</Nodes></Mesh></febio_spec>')
    with pytest.raises(MeshError, match="DTDs and entity declarations are not accepted"):
        read_feb(path)


# -- closed surfaces per tissue --------------------------------------------------------------------------------
def _tet_volume(mesh, region):
    c = np.vstack([mesh.solids[b].cells[i] for b, i in mesh.cell_sets[region].items()])
    p = mesh.points[c]
    return float(np.einsum("ei,ei->e", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p[:, 3] - p[:, 0]).sum() / 6)


def _enclosed_volume(path):
    """Volume enclosed by a closed surface file (divergence theorem; one consistently oriented shell)."""
    m = meshio.read(path)
    p = np.asarray(m.points, dtype=float)[m.cells[0].data]
    return abs(float(np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0))


def test_surfaces_per_tissue_are_tetrahedralised_into_regions(tmp_path):
    a, b = tmp_path / "a.stl", tmp_path / "b.stl"
    surfaces_of_volumes(lambda occ: [(3, occ.addSphere(0, 0, 0, 10))], 3.0, [a])
    surfaces_of_volumes(lambda occ: [(3, occ.addBox(15, -5, -5, 20, 10, 8))], 3.0, [b])
    mesh = read_user_mesh({"calcaneus": a, "talus": b})
    assert mesh.solids[0].etype.name == "tet4"
    for region, path in (("calcaneus", a), ("talus", b)):
        assert _tet_volume(mesh, region) == pytest.approx(_enclosed_volume(path), rel=1e-3)
    assert _tet_volume(mesh, "talus") == pytest.approx(1600.0, rel=1e-3)
    assert _tet_volume(mesh, "calcaneus") == pytest.approx(4.0 / 3.0 * np.pi * 1000.0, rel=0.05)  # faceted
    assert str(a) in mesh.source and str(b) in mesh.source


def test_surface_with_cavity_and_shared_interface_is_bonded(tmp_path):
    outer, inner = tmp_path / "outer.stl", tmp_path / "inner.stl"
    surfaces_of_volumes(lambda occ: [(3, occ.addBox(0, 0, 0, 10, 10, 10)), (3, occ.addBox(3, 3, 3, 4, 4, 4))],
                        2.0, [outer, inner])
    mesh = read_user_mesh({"Skin": outer, "Bone": inner}, mapping={"Skin": "soft_tissue", "Bone": "calcaneus"})
    assert _tet_volume(mesh, "soft_tissue") == pytest.approx(1000.0 - 64.0, rel=1e-3)
    assert _tet_volume(mesh, "calcaneus") == pytest.approx(64.0, rel=1e-3)
    # the interface nodes are shared: the bone has no exterior face, both regions share its surface nodes
    ((_, conn, owner),) = mesh.boundary_facets()
    assert not np.isin(owner[:, 1], mesh.cell_sets["calcaneus"][0]).any()
    assert np.intersect1d(mesh.node_sets["soft_tissue"], mesh.node_sets["calcaneus"]).size > 20


def test_overlapping_surfaces_are_refused(tmp_path):
    big, small = tmp_path / "big.stl", tmp_path / "small.stl"
    surfaces_of_volumes(lambda occ: [(3, occ.addBox(0, 0, 0, 10, 10, 10))], 3.0, [big])
    surfaces_of_volumes(lambda occ: [(3, occ.addSphere(5, 5, 5, 2))], 1.5, [small])
    with pytest.raises(MeshError, match="'calcaneus' lies .* inside the surface of 'soft_tissue'"):
        read_user_mesh({"soft_tissue": big, "calcaneus": small})


# -- a toy foot from surfaces: derived sets, fibres, materials, mapping ----------------------------------------
TILT = np.radians(10.0)


@pytest.fixture(scope="module")
def toy_foot(tmp_path_factory):
    """Soft-tissue slab, a calcaneus behind it, a talus on top, a tilted fascia strip below (separate shells)."""
    d = tmp_path_factory.mktemp("toy_foot")

    def strip(occ):
        t = occ.addBox(10, 10, -2, 80, 8, 2)
        occ.rotate([(3, t)], 10, 14, -1, 0, 0, 1, TILT)
        return [(3, t)]

    parts = {"Soft1": lambda occ: [(3, occ.addBox(0, 0, 0, 50, 40, 30))],
             "Soft2": lambda occ: [(3, occ.addBox(50, 0, 0, 50, 40, 20))],
             "Calc": lambda occ: [(3, occ.addBox(-20, 10, 5, 20, 20, 20))],
             "Talus": lambda occ: [(3, occ.addBox(15, 10, 30, 20, 20, 10))],
             "Fascia": strip}
    paths = {}
    for name, make in parts.items():
        paths[name] = d / f"{name}.stl"
        surfaces_of_volumes(make, 6.0, [paths[name]])
    return paths


TOY_MAPPING = {"Soft1": "soft_tissue", "Soft2": "soft_tissue", "Calc": "calcaneus", "Talus": "talus",
               "Fascia": "fascia"}


def test_toy_foot_from_surfaces_derives_sets_fibres_and_materials(toy_foot):
    foot = load_user_model("foot", toy_foot, mapping=TOY_MAPPING)
    m = foot.mesh
    assert sorted(r for r in m.cell_sets if r != "all") == ["calcaneus", "fascia", "soft_tissue", "talus"]
    derived = " ".join(foot.params["derived"])
    for name in ("plantar_skin", "talar_dome", "achilles_insertion"):
        assert repr(name) in derived
    # plantar skin: the undersides of the slab (z = 0) and the strip (z = -2); talar dome on top of the talus
    z = m.points[m.node_sets["plantar_skin"], 2]
    assert set(np.round(z, 6)) <= {0.0, -2.0}
    assert np.allclose(m.points[m.node_sets["talar_dome"], 2], 40.0)
    assert np.allclose(m.points[m.node_sets["achilles_insertion"], 0], -20.0)
    assert foot.landmarks["talar_dome"][2] == pytest.approx(40.0)
    ref = foot_materials()
    for r in ("calcaneus", "talus", "soft_tissue"):
        assert foot.materials[r] == ref[r]
    # fascia: the ray material with the strip's long axis (principal axis) as fibre
    f = np.array(foot.materials["fascia"].fibre)
    assert abs(f @ [np.cos(TILT), np.sin(TILT), 0.0]) == pytest.approx(1.0, abs=1e-3)
    assert foot.materials["fascia"].c5 == ref["fascia_ray1"].c5
    # two files mapped to one region are united
    assert m.cell_sets["soft_tissue"][0].size > 0 and foot.params["mapping"]["Soft2"] == "soft_tissue"
    given = load_user_model("foot", toy_foot, mapping=TOY_MAPPING, fibres={"fascia": (2.0, 0.0, 0.0)})
    assert given.materials["fascia"].fibre == (1.0, 0.0, 0.0) and given.params["fibre_source"]["fascia"] == "given"


def test_missing_sets_are_all_listed_with_the_file(toy_foot, files, knee):
    part = {k: v for k, v in toy_foot.items() if k in ("Soft1", "Calc")}
    with pytest.raises(ModelError) as err:
        load_user_model("foot", part, mapping={"Soft1": "soft_tissue", "Calc": "calcaneus"})
    msg = str(err.value)
    for item in ("region 'fascia'", "node set 'talar_dome'", str(part["Soft1"]), str(part["Calc"])):
        assert item in msg
    assert "achilles_insertion'" not in msg.split(" lacks ")[1].split("; it has")[0]  # derived, not missing
    # a knee without its lateral compartment: every missing region and surface, and the file
    path = files / "knee_medial_only.vtu"
    write_vtu(knee, path, facets=False, regions=("femur", "tibia", "femoral_cartilage_medial",
                                                 "tibial_cartilage_medial"))
    with pytest.raises(ModelError) as err:
        load_user_model("knee", path)
    msg = str(err.value)
    for item in ("region 'femoral_cartilage_lateral'", "region 'tibial_cartilage_lateral'",
                 "facet set 'femoral_cartilage_lateral_surface'", "facet set 'tibial_cartilage_lateral_surface'",
                 str(path)):
        assert item in msg


def test_unknown_regions_and_mapping_names_are_errors(files, toy_foot):
    with pytest.raises(ModelError) as err:
        load_user_model("knee", files / "knee.msh", mapping={"femur": "patella"})
    msg = str(err.value)
    assert "'patella'" in msg and all(repr(r) in msg for r in KNEE_REGIONS) and str(files / "knee.msh") in msg
    with pytest.raises(ModelError, match=r"unknown region\(s\) \['Calc'"):
        load_user_model("foot", toy_foot)
    with pytest.raises(ModelError, match=r"mapping names \['Femur'\] that the file does not have"):
        load_user_model("knee", files / "knee.msh", mapping={"Femur": "femur"})
    with pytest.raises(ModelError, match="not fascia regions"):
        load_user_model("foot", toy_foot, mapping=TOY_MAPPING, fibres={"talus": (1, 0, 0)})
    with pytest.raises(ModelError, match="kind must be one of"):
        load_user_model("hand", files / "knee.msh")


def test_scale_converts_metres(tmp_path, knee):
    path = tmp_path / "knee_m.vtu"
    write_vtu(knee, path, scale=1e-3)
    user = load_user_model("knee", path, scale=1000.0)
    assert np.allclose(user.mesh.points, knee.mesh.points, rtol=1e-12, atol=1e-12)
    assert [c.penalty for c in user.contacts] == [c.penalty for c in knee.contacts]


# -- foot round trip (slow: the parametric foot takes 20-30 s to build) --------------------------------------
@pytest.mark.slow
def test_foot_round_trip_gmsh(tmp_path):
    from fesolver.models.foot import FASCIA_RAYS, build_foot

    foot = build_foot(mesh="coarse")
    path = tmp_path / "foot.msh"
    write_msh(foot, path)
    user = load_user_model("foot", path)
    regions = sorted(r for r in foot.mesh.cell_sets if r != "all")
    assert sorted(r for r in user.mesh.cell_sets if r != "all") == regions
    for r in regions:
        assert np.array_equal(region_cells(user, r), region_cells(foot, r)), r
    assert facet_keys(user, "plantar_skin") == facet_keys(foot, "plantar_skin")
    for n in ("talar_dome", "achilles_insertion"):
        assert np.array_equal(user.mesh.node_sets[n], foot.mesh.node_sets[n])
    for r in regions:
        if r in FASCIA_RAYS:  # principal axis of the band against the parametric origin -> insertion direction
            cos = abs(np.dot(user.materials[r].fibre, foot.materials[r].fibre))
            assert np.degrees(np.arccos(min(cos, 1.0))) < 5.0, r
        else:
            assert user.materials[r] == foot.materials[r], r
