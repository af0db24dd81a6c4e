"""Build the parametric foot at a mesh level and write the mesh and a JSON of its parameters and landmarks.

Examples (units mm)::

    python meshes/build_foot.py --level coarse -o meshes/foot_coarse.msh
    python meshes/build_foot.py --level medium --arch-height 25 --fascia truss -o meshes/foot_high_arch.msh
    python meshes/build_foot.py --level coarse -o meshes/foot_coarse.vtu      # for viewing

gmsh ``.msh`` keeps every named set as a physical group (regions -> volumes, ``plantar_skin``,
``achilles_insertion`` and ``talar_dome`` -> surfaces, fascia bands -> curves, the other node sets ->
points), so ``fesolver.mesh.read_mesh`` gives back the model's regions and sets. ``.vtu`` (and other formats)
get an integer cell array ``region`` per solid and line element; the JSON maps the names to the integers.
The JSON (same name, ``.json``) holds the parameters, element sizes, counts, fibre directions and
landmarks [mm].
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from fesolver.models.foot import FOOT_LEVELS, PARAMETER_RANGES, build_foot


def to_meshio(model):
    """``(meshio.Mesh, region ids)`` of a foot model: gmsh physical groups for every named set."""
    import meshio

    m = model.mesh
    cells, phys, geom, field_data, ids = [], [], [], {}, {}
    tag = 0
    for name, per_block in m.cell_sets.items():
        if name == "all":
            continue
        tag += 1
        ids[name] = tag
        for b, idx in per_block.items():
            cells.append((m.solids[b].etype.meshio_type, m.solids[b].cells[idx]))
            phys.append(np.full(idx.size, tag))
        field_data[name] = np.array([tag, 3])
    for k, (name, parts) in enumerate(m.facet_sets.items(), start=1):
        for ftype, conn in parts:
            cells.append((ftype.meshio_type, conn))
            phys.append(np.full(conn.shape[0], k))
        field_data[name] = np.array([k, 2])
    k = 0
    for name, per_block in m.line_sets.items():
        if name == "fascia":  # the union of the bands; a cell can carry one physical tag only
            continue
        k += 1
        ids[name] = 100 + k
        for b, idx in per_block.items():
            cells.append((m.lines[b].etype.meshio_type, m.lines[b].cells[idx]))
            phys.append(np.full(idx.size, k))
        field_data[name] = np.array([k, 1])
    derived = set(m.cell_sets) | set(m.facet_sets)
    k = 0
    for name, nodes in m.node_sets.items():
        if name in derived:
            continue
        k += 1
        cells.append(("vertex", nodes.reshape(-1, 1)))
        phys.append(np.full(nodes.size, k))
        field_data[name] = np.array([k, 0])
    geom = [p.copy() for p in phys]
    mm = meshio.Mesh(m.points, cells, cell_data={"gmsh:physical": phys, "gmsh:geometrical": geom},
                     field_data=field_data)
    return mm, ids


def write(model, path: Path) -> dict:
    """Write the mesh (format from the suffix) and ``path.with_suffix('.json')``; returns the JSON dict."""
    import meshio

    mm, ids = to_meshio(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".msh":
        meshio.write(path, mm, file_format="gmsh22", binary=False)
    else:  # solids and lines with an integer region array
        keep = [(i, c) for i, c in enumerate(mm.cells) if c.type in ("tetra", "tetra10", "line")]
        solid_names = [n for n in ids if ids[n] < 100]
        line_names = [n for n in ids if ids[n] >= 100]
        region = []
        for i, c in keep:
            tags = mm.cell_data["gmsh:physical"][i]
            if c.type == "line":
                region.append(np.array([ids[line_names[t - 1]] for t in tags]))
            else:
                region.append(np.array([ids[solid_names[t - 1]] for t in tags]))
        meshio.write(path, meshio.Mesh(mm.points, [(c.type, c.data) for _, c in keep],
                                       cell_data={"region": region}))
    info = {
        "units": {"length": "mm"},
        "params": _jsonable(model.params),
        "landmarks_mm": {k: np.asarray(v).tolist() for k, v in model.landmarks.items()},
        "region_ids": ids,
        "node_sets": {k: int(v.size) for k, v in model.mesh.node_sets.items()},
        "facet_sets": {k: int(sum(c.shape[0] for _, c in v)) for k, v in model.mesh.facet_sets.items()},
    }
    path.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", default="coarse", choices=sorted(FOOT_LEVELS), help="mesh level")
    ap.add_argument("-o", "--output", required=True, type=Path, help="mesh file (.msh keeps the named sets)")
    for name, (lo, hi) in PARAMETER_RANGES.items():
        ap.add_argument("--" + name.replace("_", "-"), type=float, default=None,
                        help=f"{name} [mm], {lo}-{hi}")
    ap.add_argument("--side", default="right", choices=["right", "left"])
    ap.add_argument("--fascia", default="solid", choices=["solid", "truss"])
    ap.add_argument("--order", type=int, default=None, choices=[1, 2], help="1 = tet4, 2 = tet10 (default: level)")
    args = ap.parse_args(argv)
    kw = {n: getattr(args, n) for n in PARAMETER_RANGES if getattr(args, n) is not None}
    from fesolver.errors import FesolverError

    try:
        model = build_foot(mesh=args.level, side=args.side, fascia=args.fascia, order=args.order, **kw)
    except FesolverError as exc:
        print(f"build_foot.py: {exc}", file=sys.stderr)
        return 2
    info = write(model, args.output)
    p = info["params"]
    print(f"{args.output}: {p['nodes']} nodes, {p['elements']} {p['element']} elements, "
          f"built in {p['build_seconds']:.1f} s; {args.output.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
