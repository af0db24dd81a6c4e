"""Mesh input: gmsh/VTU/Abaqus sets, error messages, checks, boundary facets and selections."""

from __future__ import annotations

import re

import meshio
import numpy as np
import pytest

from fesolver.elements import HEX8, TET4, get_element
from fesolver.errors import MeshError
from fesolver.mesh import Mesh, MeshWarning, SolidBlock, check_mesh, from_meshio, read_mesh

gmsh = pytest.importorskip("gmsh")


# ------------------------------------------------------------------------------------------------
# mesh builders
# ------------------------------------------------------------------------------------------------


def gmsh_box(path, *, order=1, hexa=False, version=4.1, n_edge=4, size=0.5, tags=None):
    """Unit cube meshed with gmsh and written to ``path``.

    Physical groups: volume ``solid``, surfaces ``fixed`` (x = 0) and ``load`` (x = 1), points ``origin``
    (0, 0, 0) and ``far`` (1, 1, 1). ``tags`` overrides the physical tags (name -> tag; a name ``""`` makes
    an unnamed group). Returns the number of mesh nodes gmsh generated.
    """
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("box")
        gmsh.model.occ.addBox(0, 0, 0, 1, 1, 1)
        gmsh.model.occ.synchronize()
        (vol,) = [t for _, t in gmsh.model.getEntities(3)]
        face = {}
        for _, t in gmsh.model.getEntities(2):
            c = np.round(gmsh.model.occ.getCenterOfMass(2, t), 6)
            face[tuple(c)] = t
        point = {tuple(np.round(gmsh.model.getValue(0, t, []), 6)): t for _, t in gmsh.model.getEntities(0)}
        groups = [
            (3, [vol], "solid"),
            (2, [face[(0.0, 0.5, 0.5)]], "fixed"),
            (2, [face[(1.0, 0.5, 0.5)]], "load"),
            (0, [point[(0.0, 0.0, 0.0)]], "origin"),
            (0, [point[(1.0, 1.0, 1.0)]], "far"),
        ]
        for dim, ents, name in groups:
            if tags and name in tags:
                tag, new_name = tags[name]
                gmsh.model.addPhysicalGroup(dim, ents, tag=tag, name=new_name)
            else:
                gmsh.model.addPhysicalGroup(dim, ents, name=name)
        if hexa:
            for _, t in gmsh.model.getEntities(1):
                gmsh.model.mesh.setTransfiniteCurve(t, n_edge)
            for _, t in gmsh.model.getEntities(2):
                gmsh.model.mesh.setTransfiniteSurface(t)
                gmsh.model.mesh.setRecombine(2, t)
            gmsh.model.mesh.setTransfiniteVolume(vol)
        else:
            gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.model.mesh.generate(3)
        if order == 2:
            gmsh.model.mesh.setOrder(2)
        n_nodes = len(gmsh.model.mesh.getNodes()[0])
        gmsh.option.setNumber("Mesh.MshFileVersion", version)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()
    return n_nodes


def structured_cube(n=3, tets=False):
    """Unit cube as an n^3 grid of hex8 (VTK order) or 6 n^3 Kuhn tet4 (positively oriented)."""
    g = np.linspace(0.0, 1.0, n + 1)
    X, Y, Z = np.meshgrid(g, g, g, indexing="ij")
    points = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])

    def nid(i, j, k):
        return (i * (n + 1) + j) * (n + 1) + k

    hexes = []
    for i, j, k in np.ndindex(n, n, n):
        hexes.append([nid(i + a, j + b, k + c) for a, b, c in
                      [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]])
    hexes = np.array(hexes)
    if not tets:
        return points, hexes
    # Kuhn subdivision: walk from corner 0 to corner 6 along the axes in every order (conforming)
    steps = {0: (1, 0, 0), 1: (0, 1, 0), 2: (0, 0, 1)}
    local = {(0, 0, 0): 0, (1, 0, 0): 1, (1, 1, 0): 2, (0, 1, 0): 3, (0, 0, 1): 4, (1, 0, 1): 5, (1, 1, 1): 6,
             (0, 1, 1): 7}
    paths = []
    for perm in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]:
        v = np.zeros(3, dtype=int)
        path = [local[tuple(v)]]
        for ax in perm:
            v = v + steps[ax]
            path.append(local[tuple(v)])
        paths.append(path)
    tet = hexes[:, paths].reshape(-1, 4)
    vol = np.einsum("ij,ij->i", np.cross(points[tet[:, 1]] - points[tet[:, 0]],
                                         points[tet[:, 2]] - points[tet[:, 0]]),
                    points[tet[:, 3]] - points[tet[:, 0]])
    neg = vol < 0
    tet[neg] = tet[neg][:, [0, 2, 1, 3]]
    return points, tet


def facet_areas_normals(ftype, points, conn):
    """Areas (by quadrature) and unit normals at the centroid of facets."""
    pts, w = ftype.rule(4)
    X = points[conn]  # (nf, nfn, 3)
    t = np.einsum("fai,qad->fqdi", X, ftype.dshape(pts))
    n = np.cross(t[:, :, 0], t[:, :, 1])
    area = np.einsum("q,fq->f", w, np.linalg.norm(n, axis=2))
    c_ref = ftype.ref_nodes[: ftype.corner_nodes].mean(axis=0)
    tc = np.einsum("fai,ad->fdi", X, ftype.dshape(c_ref)[0])
    nc = np.cross(tc[:, 0], tc[:, 1])
    return area, nc / np.linalg.norm(nc, axis=1, keepdims=True)


def flip(ftype, conn):
    """Reverse the orientation of facets (corners and mid-nodes consistently)."""
    perm = {"tri3": [0, 2, 1], "tri6": [0, 2, 1, 5, 4, 3], "quad4": [0, 3, 2, 1]}[ftype.name]
    return conn[:, perm]


def write_vtu(path, points, cells, **kw):
    meshio.write(str(path), meshio.Mesh(points, cells, **kw))
    return path


# ------------------------------------------------------------------------------------------------
# gmsh
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gmsh_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("gmsh")
    out = {}
    for key, kw in {
        "tet4": {},
        "tet4-msh22": {"version": 2.2},
        "tet10": {"order": 2},
        "hex8": {"hexa": True, "n_edge": 4},
    }.items():
        path = d / f"{key}.msh"
        out[key] = (path, gmsh_box(path, **kw))
    return out


@pytest.mark.parametrize("key, solid, facet", [("tet4", "tet4", "tri3"), ("tet4-msh22", "tet4", "tri3"),
                                               ("tet10", "tet10", "tri6"), ("hex8", "hex8", "quad4")])
def test_gmsh_physical_groups(gmsh_files, key, solid, facet):
    path, n_nodes = gmsh_files[key]
    mesh = read_mesh(path)
    P = mesh.points
    assert mesh.n_nodes == n_nodes
    assert [b.etype.name for b in mesh.solids] == [solid]
    nel = mesh.n_solid_elements
    # physical volume -> cell set; "all" sets
    np.testing.assert_array_equal(mesh.cell_sets["solid"][0], np.arange(nel))
    np.testing.assert_array_equal(mesh.cell_sets["all"][0], np.arange(nel))
    np.testing.assert_array_equal(mesh.node_sets["all"], np.arange(n_nodes))
    np.testing.assert_array_equal(mesh.node_sets["solid"], np.arange(n_nodes))
    # physical surfaces -> facet sets + node sets of the same name
    for name, x in [("fixed", 0.0), ("load", 1.0)]:
        ((ftype, conn),) = mesh.facet_sets[name]
        assert ftype.name == facet
        np.testing.assert_allclose(P[conn, 0], x, atol=1e-12)
        on_face = np.flatnonzero(np.isclose(P[:, 0], x, atol=1e-12))
        np.testing.assert_array_equal(mesh.node_sets[name], on_face)
        area, _ = facet_areas_normals(ftype, P, conn)
        assert area.sum() == pytest.approx(1.0, rel=1e-12)
    # physical points -> node sets (each its own node)
    for name, x in [("origin", [0, 0, 0]), ("far", [1, 1, 1])]:
        (node,) = mesh.node_sets[name]
        np.testing.assert_allclose(P[node], x, atol=1e-12)
    assert name not in mesh.cell_sets and name not in mesh.facet_sets
    if key == "hex8":
        assert nel == 27 and n_nodes == 64
        assert len(mesh.facet_sets["fixed"][0][1]) == 9 and len(mesh.node_sets["fixed"]) == 16


def test_gmsh_tet10_mid_edge_nodes_in_vtk_order(gmsh_files):
    mesh = read_mesh(gmsh_files["tet10"][0])
    X = mesh.points[mesh.solids[0].cells]
    for k, (a, b) in enumerate([(0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)]):
        np.testing.assert_allclose(X[:, 4 + k], (X[:, a] + X[:, b]) / 2, atol=1e-12)
    ((ftype, conn),) = mesh.facet_sets["load"]
    Xf = mesh.points[conn]
    for k, (a, b) in enumerate([(0, 1), (1, 2), (2, 0)]):
        np.testing.assert_allclose(Xf[:, 3 + k], (Xf[:, a] + Xf[:, b]) / 2, atol=1e-12)


@pytest.mark.parametrize("key", ["tet4", "tet10", "hex8"])
def test_gmsh_surface_sets_orient_outward(gmsh_files, key):
    mesh = read_mesh(gmsh_files[key][0])
    for name, normal in [("fixed", [-1, 0, 0]), ("load", [1, 0, 0])]:
        ((ftype, conn),) = mesh.facet_sets[name]
        oriented, missing = mesh.orient_facets(ftype, conn)
        assert missing.size == 0
        _, n = facet_areas_normals(ftype, mesh.points, oriented)
        np.testing.assert_allclose(n, np.tile(normal, (len(n), 1)), atol=1e-12)


@pytest.mark.parametrize("version", [2.2, 4.1])
def test_gmsh_physical_tags_per_dimension_and_unnamed_groups(tmp_path, version):
    """gmsh tags are unique per dimension only: volume 1 and surface 1 are different groups. Unnamed groups
    become ``region<tag>``."""
    path = tmp_path / "tags.msh"
    gmsh_box(path, version=version, tags={"solid": (1, "solid"), "fixed": (1, "fixed"), "load": (7, "")})
    mesh = read_mesh(path)
    assert set(mesh.cell_sets) == {"solid", "all"}
    assert set(mesh.facet_sets) == {"fixed", "region7"}
    np.testing.assert_allclose(mesh.points[mesh.node_sets["fixed"], 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(mesh.points[mesh.node_sets["region7"], 0], 1.0, atol=1e-12)
    assert len(mesh.node_sets["solid"]) == mesh.n_nodes
    np.testing.assert_allclose(mesh.points[mesh.node_sets["far"]], [[1, 1, 1]], atol=1e-12)


# ------------------------------------------------------------------------------------------------
# VTU and Abaqus
# ------------------------------------------------------------------------------------------------


def test_vtu_region_cell_data(tmp_path):
    points, hexes = structured_cube(n=2)
    cz = points[hexes].mean(axis=1)[:, 2]
    region = np.where(cz < 0.5, 1, 2)
    top = np.flatnonzero(np.isclose(points[:, 2], 1.0))
    quads = np.array([[h[4], h[5], h[6], h[7]] for h in hexes[region == 2]])
    quads = quads[np.all(np.isin(quads, top), axis=1)]
    path = write_vtu(tmp_path / "m.vtu", points, [("hexahedron", hexes), ("quad", quads)],
                     cell_data={"region": [region, np.full(len(quads), 3)]})
    mesh = read_mesh(path)
    assert mesh.n_nodes == 27 and mesh.n_solid_elements == 8
    np.testing.assert_array_equal(mesh.cell_sets["region1"][0], np.flatnonzero(region == 1))
    np.testing.assert_array_equal(mesh.cell_sets["region2"][0], np.flatnonzero(region == 2))
    np.testing.assert_array_equal(mesh.cell_sets["all"][0], np.arange(8))
    np.testing.assert_array_equal(mesh.node_sets["region1"], np.flatnonzero(points[:, 2] <= 0.5))
    np.testing.assert_array_equal(mesh.node_sets["region2"], np.flatnonzero(points[:, 2] >= 0.5))
    ((ftype, conn),) = mesh.facet_sets["region3"]
    assert ftype.name == "quad4" and conn.shape == (4, 4)
    np.testing.assert_array_equal(mesh.node_sets["region3"], top)
    assert "region3" not in mesh.cell_sets


def test_abaqus_nset_elset(tmp_path):
    nodes = [(101, 0, 0, 0), (102, 1, 0, 0), (103, 1, 1, 0), (104, 0, 1, 0), (105, 0, 0, 1), (106, 1, 0, 1),
             (107, 1, 1, 1), (108, 0, 1, 1), (109, 0, 0, 2), (110, 1, 0, 2), (111, 1, 1, 2), (112, 0, 1, 2)]
    text = "*HEADING\nhand-written test mesh\n*NODE\n"
    text += "".join(f"{i}, {x:.1f}, {y:.1f}, {z:.1f}\n" for i, x, y, z in nodes)
    text += (
        "*ELEMENT, TYPE=C3D8\n"
        "11, 101, 102, 103, 104, 105, 106, 107, 108\n"
        "12, 105, 106, 107, 108, 109, 110, 111, 112\n"
        "*NSET, NSET=BOTTOM\n101, 102, 103, 104\n"
        "*NSET, NSET=TOP, GENERATE\n109, 112, 1\n"
        "*ELSET, ELSET=LOWER\n11\n"
        "*ELSET, ELSET=UPPER\n12\n"
        "*ELSET, ELSET=BOTH\n11, 12\n"
    )
    path = tmp_path / "two_hex.inp"
    path.write_text(text)
    mesh = read_mesh(path)
    assert mesh.n_nodes == 12 and [b.etype.name for b in mesh.solids] == ["hex8"]
    np.testing.assert_array_equal(mesh.node_sets["BOTTOM"], [0, 1, 2, 3])
    np.testing.assert_array_equal(mesh.node_sets["TOP"], [8, 9, 10, 11])
    np.testing.assert_allclose(mesh.points[mesh.node_sets["TOP"], 2], 2.0)
    np.testing.assert_array_equal(mesh.cell_sets["LOWER"][0], [0])
    np.testing.assert_array_equal(mesh.cell_sets["UPPER"][0], [1])
    np.testing.assert_array_equal(mesh.cell_sets["BOTH"][0], [0, 1])
    np.testing.assert_array_equal(mesh.node_sets["UPPER"], np.arange(4, 12))
    np.testing.assert_array_equal(mesh.node_sets["all"], np.arange(12))


# ------------------------------------------------------------------------------------------------
# errors and warnings
# ------------------------------------------------------------------------------------------------

UNIT_TET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)


def three_tets():
    """Three valid tets (ids 0, 1, 2) sharing the unit tet's node 0."""
    pts = np.vstack([UNIT_TET, UNIT_TET[1:] + [2, 0, 0], UNIT_TET[1:] + [0, 2, 0]])
    pts[4:7] -= [1, 0, 0]
    pts[7:10] -= [0, 1, 0]
    cells = np.array([[0, 1, 2, 3], [0, 4, 5, 6], [0, 7, 8, 9]])
    return pts, cells


def test_valid_reference_meshes_pass(tmp_path):
    pts, cells = three_tets()
    mesh = read_mesh(write_vtu(tmp_path / "ok.vtu", pts, [("tetra", cells)]))
    assert mesh.n_solid_elements == 3


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "missing.msh"
    with pytest.raises(MeshError, match="not found") as ei:
        read_mesh(path)
    assert str(path) in str(ei.value)


@pytest.mark.parametrize("name, content", [
    ("garbage.vtu", b"this is not XML"),
    ("garbage.msh", b"\x00\x01\x02 binary junk"),
    ("empty.msh", b""),
    ("truncated.msh", b"$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\n1 2"),
    ("mesh.unknownformat", b"1 2 3"),
])
def test_unreadable_file_raises_mesherror(tmp_path, capsys, name, content):
    """meshio prints and calls sys.exit(1) when no reader succeeds: read_mesh must raise MeshError."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MeshError, match="cannot read mesh") as ei:
        read_mesh(path)
    assert str(path) in str(ei.value)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


@pytest.mark.parametrize("ctype, pts", [
    ("wedge", np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1]], dtype=float)),
    ("pyramid", np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]])),
])
def test_unsupported_cell_type(tmp_path, ctype, pts):
    cells = [("tetra", [[0, 1, 2, 3]]), (ctype, [list(range(len(pts)))])]
    path = write_vtu(tmp_path / f"{ctype}.vtu", pts, cells)
    with pytest.raises(MeshError, match=rf"unsupported cell type.*\b{ctype}\b"):
        read_mesh(path)


def test_no_solid_elements(tmp_path):
    path = write_vtu(tmp_path / "tri.vtu", UNIT_TET, [("triangle", [[0, 1, 2], [0, 1, 3]])])
    with pytest.raises(MeshError, match="no solid elements"):
        read_mesh(path)


def test_node_index_out_of_range(tmp_path):
    path = write_vtu(tmp_path / "oor.vtu", UNIT_TET, [("tetra", [[0, 1, 2, 9]])])
    with pytest.raises(MeshError, match=r"outside 0\.\.3.*max 9"):
        read_mesh(path)


def test_inverted_element_names_its_id(tmp_path):
    pts, cells = three_tets()
    cells[2] = cells[2][[0, 2, 1, 3]]  # two nodes swapped
    path = write_vtu(tmp_path / "inv.vtu", pts, [("tetra", cells)])
    with pytest.raises(MeshError, match="inverted") as ei:
        read_mesh(path)
    assert re.search(r"ids 2\b", str(ei.value)), str(ei.value)
    assert "degenerate" not in str(ei.value)


def test_inverted_ids_count_across_blocks():
    pts, cells = structured_cube(n=1)
    tpts, tcells = three_tets()
    points = np.vstack([tpts, pts + [5, 0, 0]])
    hexes = cells + len(tpts)
    bad = hexes[:, [4, 5, 6, 7, 0, 1, 2, 3]]  # top and bottom exchanged: inside out
    mesh = Mesh(points, [SolidBlock(TET4, tcells), SolidBlock(HEX8, np.vstack([hexes, bad]))])
    with pytest.raises(MeshError, match=r"1 inverted hex8 element\(s\).*ids 4\b"):
        check_mesh(mesh)


def test_degenerate_element_names_its_id(tmp_path):
    pts, cells = three_tets()
    flat = np.array([[0, 0, 5], [1, 0, 5], [0, 1, 5], [1, 1, 5]], dtype=float)  # four coplanar nodes
    pts = np.vstack([pts, flat])
    cells = np.vstack([cells[:1], [[10, 11, 12, 13]], cells[1:]])
    path = write_vtu(tmp_path / "flat.vtu", pts, [("tetra", cells)])
    with pytest.raises(MeshError, match="degenerate") as ei:
        read_mesh(path)
    assert re.search(r"ids 1\b", str(ei.value)), str(ei.value)
    assert "inverted" not in str(ei.value)


def test_coplanar_tets_are_degenerate_not_inverted():
    """Round-off makes det J of a flat tet slightly negative half of the time; that is still degenerate."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = rng.normal(size=3)
        n /= np.linalg.norm(n)
        a = np.cross(n, [1.0, 0.0, 0.0])
        a /= np.linalg.norm(a)
        b = np.cross(n, a)
        uv = rng.random((4, 2))
        pts = uv[:, :1] * a + uv[:, 1:] * b + 0.3 * n
        mesh = Mesh(pts, [SolidBlock(TET4, np.array([[0, 1, 2, 3]]))])
        with pytest.raises(MeshError, match=r"degenerate tet4.*ids 0\b") as ei:
            check_mesh(mesh)
        assert "inverted" not in str(ei.value)


def test_small_but_valid_elements_pass():
    """The degeneracy test is scale-free: a tiny well-shaped element is fine."""
    mesh = Mesh(UNIT_TET * 1e-4, [SolidBlock(TET4, np.array([[0, 1, 2, 3]]))])
    check_mesh(mesh)
    pts, cells = structured_cube(n=1)
    check_mesh(Mesh(pts * 1e3, [SolidBlock(HEX8, cells)]))


def test_2d_points(tmp_path):
    with pytest.raises(MeshError, match="2D"):
        from_meshio(meshio.Mesh(UNIT_TET[:, :2], [("tetra", [[0, 1, 2, 3]])]))
    with pytest.raises(MeshError, match="2D"):
        Mesh(UNIT_TET[:, :2], [SolidBlock(TET4, np.array([[0, 1, 2, 3]]))])
    path = tmp_path / "flat.inp"
    path.write_text("*NODE\n1, 0., 0.\n2, 1., 0.\n3, 0., 1.\n4, 1., 1.\n"
                    "*ELEMENT, TYPE=C3D4\n1, 1, 2, 3, 4\n")
    with pytest.raises(MeshError, match="2D") as ei:
        read_mesh(path)
    assert str(path) in str(ei.value)


def test_unreferenced_node_warns(tmp_path):
    pts = np.vstack([UNIT_TET, [[5.0, 5.0, 5.0]], UNIT_TET + 1.0])
    cells = [[0, 1, 2, 3], [5, 6, 7, 8]]
    path = write_vtu(tmp_path / "loose.vtu", pts, [("tetra", cells)])
    with pytest.warns(MeshWarning, match=r"1 node\(s\).*ids 4\b"):
        mesh = read_mesh(path)
    assert mesh.n_nodes == 9


# ------------------------------------------------------------------------------------------------
# boundary facets and selections
# ------------------------------------------------------------------------------------------------


@pytest.fixture(params=["hex8", "tet4", "tet10-gmsh"])
def cube(request, gmsh_files):
    if request.param == "tet10-gmsh":
        return read_mesh(gmsh_files["tet10"][0])
    pts, cells = structured_cube(n=3, tets=request.param == "tet4")
    return Mesh(pts, [SolidBlock(get_element(request.param), cells)])


def test_boundary_facets_area_and_outward_normals(cube):
    (ftype, conn, owner), = cube.boundary_facets()
    assert ftype.name == get_element(cube.solids[0].etype.face_type).name
    area, n = facet_areas_normals(ftype, cube.points, conn)
    assert area.sum() == pytest.approx(6.0, rel=1e-12)
    fc = cube.points[conn[:, : ftype.corner_nodes]].mean(axis=1)
    # outward w.r.t. the owner element's centroid and the cube's centre; axis-aligned unit normals
    cells = cube.solids[0].cells
    assert np.all(owner[:, 0] == 0)
    ec = cube.points[cells[owner[:, 1]]].mean(axis=1)
    assert np.all(np.einsum("fi,fi->f", n, fc - ec) > 0)
    assert np.all(np.einsum("fi,fi->f", n, fc - 0.5) > 0)
    np.testing.assert_allclose(np.abs(n).max(axis=1), 1.0, atol=1e-12)
    # every facet lies on a face of the cube, and its nodes belong to its owner
    on_face = np.isclose(cube.points[conn], 0.0, atol=1e-12) | np.isclose(cube.points[conn], 1.0, atol=1e-12)
    assert np.all(np.any(np.all(on_face, axis=1), axis=1))
    for f, (_, e) in zip(conn, owner, strict=True):
        assert set(f) <= set(cells[e])
    if cube.solids[0].etype.name == "hex8":
        assert conn.shape == (6 * 9, 4)
    if cube.solids[0].etype.name == "tet4":
        assert conn.shape == (6 * 9 * 2, 3)


def test_orient_facets(cube):
    (ftype, conn, owner), = cube.boundary_facets()
    rng = np.random.default_rng(1)
    pick = rng.choice(len(conn), size=10, replace=False)
    given = conn[pick].copy()
    given[::2] = flip(ftype, given[::2])  # reversed
    # an interior face: a face of an element that is not a boundary face
    et = cube.solids[0].etype
    boundary_keys = {tuple(sorted(f[: ftype.corner_nodes])) for f in conn}
    interior = next(
        c[list(face)] for c in cube.solids[0].cells for face in et.faces
        if tuple(sorted(c[list(face)][: ftype.corner_nodes])) not in boundary_keys
    )
    given = np.vstack([given[:5], interior[None], given[5:]])
    oriented, missing = cube.orient_facets(ftype, given)
    np.testing.assert_array_equal(missing, [5])
    np.testing.assert_array_equal(oriented[5], interior)
    np.testing.assert_array_equal(np.delete(oriented, 5, axis=0), conn[pick])
    # a facet type the mesh has no boundary of: nothing is on the boundary
    other = get_element("quad4" if ftype.name != "quad4" else "tri3")
    _, missing = cube.orient_facets(other, np.zeros((2, other.n_nodes), dtype=int))
    np.testing.assert_array_equal(missing, [0, 1])


def test_nodes_and_facets_in_box(cube):
    P = cube.points
    nodes = cube.nodes_in_box([1, 0, 0], [1, 1, 1])
    np.testing.assert_array_equal(nodes, np.flatnonzero(np.isclose(P[:, 0], 1.0, atol=1e-12)))
    big = cube.nodes_in_box([-1, -1, -1], [2, 2, 2])
    np.testing.assert_array_equal(big, np.arange(cube.n_nodes))
    assert cube.nodes_in_box([2, 2, 2], [3, 3, 3]).size == 0
    # tolerance: a box just short of the face still catches it with the default 1e-6 relative tol
    np.testing.assert_array_equal(cube.nodes_in_box([1 + 5e-7, 0, 0], [2, 1, 1]), nodes)
    assert cube.nodes_in_box([1 + 5e-7, 0, 0], [2, 1, 1], tol=0.0).size == 0

    ((ftype, conn),) = cube.facets_in_box([1, 0, 0], [1, 1, 1])
    area, n = facet_areas_normals(ftype, P, conn)
    assert area.sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(n, np.tile([1.0, 0, 0], (len(n), 1)), atol=1e-12)
    np.testing.assert_array_equal(np.unique(conn), nodes)
    # facets of the interior are never selected; an empty box selects nothing
    assert cube.facets_in_box([0.4, 0.4, 0.4], [0.6, 0.6, 0.6]) == []
    # a box around the whole cube selects the whole boundary
    (_, allconn), = cube.facets_in_box([-1, -1, -1], [2, 2, 2])
    assert len(allconn) == len(cube.boundary_facets()[0][1])
