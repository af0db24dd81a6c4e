"""Write the parametric knee mesh (fesolver.models.knee.build_knee) to a file, with its parameters.

Usage::

    python meshes/build_knee.py --mesh coarse -o out/knee_coarse.msh [--no-menisci] [--flexion 30] ...

Writes ``OUT`` (gmsh MSH 2.2 through meshio: each region, facet set and line set is a named physical group,
so ``fesolver.mesh.read_mesh`` gives back the same names; a ``.vtu`` suffix writes VTU with an integer
``region`` cell array instead, named in the JSON) and ``OUT`` with suffix ``.json``: the build parameters,
landmarks [mm], the region / set names with their tags, the region unions (``meniscus_medial`` = its sectors;
a physical group holds each cell once, so unions are not in the mesh file), materials, contacts, rigid bodies
and truss sets. Units: mm.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mesh", default="coarse", choices=("coarse", "medium", "fine"))
    ap.add_argument("-o", "--out", default=None, help="output mesh (.msh or .vtu); default meshes/knee_LEVEL.msh")
    ap.add_argument("--condyle-radius-medial", type=float, default=32.0, help="mm")
    ap.add_argument("--condyle-radius-lateral", type=float, default=28.0, help="mm")
    ap.add_argument("--cartilage-thickness", type=float, default=2.5, help="mm")
    ap.add_argument("--flexion", type=float, default=0.0, help="degrees")
    ap.add_argument("--varus-valgus", type=float, default=0.0, help="degrees, positive = varus")
    ap.add_argument("--no-menisci", action="store_true")
    args = ap.parse_args(argv)

    import meshio

    from fesolver.models.knee import build_knee

    t0 = time.perf_counter()
    try:
        model = build_knee(condyle_radius_medial=args.condyle_radius_medial,
                           condyle_radius_lateral=args.condyle_radius_lateral,
                           cartilage_thickness=args.cartilage_thickness, flexion_deg=args.flexion,
                           varus_valgus_deg=args.varus_valgus, menisci=not args.no_menisci, mesh=args.mesh)
    except ValueError as exc:
        print(f"build_knee.py: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    m = model.mesh
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / f"knee_{args.mesh}.msh"
    out.parent.mkdir(parents=True, exist_ok=True)

    unions = {n: [r for r in m.cell_sets if r.startswith(n + "_s")] for n in m.cell_sets
              if n.startswith("meniscus_") and not n.rsplit("_", 1)[-1].startswith("s")}
    leaves = [n for n in m.cell_sets if n != "all" and n not in unions]
    hexes = m.solids[0].cells
    region = np.zeros(hexes.shape[0], dtype=np.int64)
    field_data, tags = {}, {}
    for tag, name in enumerate(leaves, start=1):
        region[m.cell_sets[name][0]] = tag
        field_data[name] = np.array([tag, 3])
        tags[name] = [tag, 3]
    if np.any(region == 0):
        raise RuntimeError("build_knee.py: some cells belong to no region")
    cells = [("hexahedron", hexes)]
    data = [region]
    for tag, (name, parts) in enumerate(m.facet_sets.items(), start=1):
        (_, conn), = parts
        cells.append(("quad", conn))
        data.append(np.full(conn.shape[0], tag, dtype=np.int64))
        field_data[name] = np.array([tag, 2])
        tags[name] = [tag, 2]
    for tag, (name, idx) in enumerate(m.line_sets.items(), start=1):
        conn = m.lines[0].cells[idx[0]]
        cells.append(("line", conn))
        data.append(np.full(conn.shape[0], tag, dtype=np.int64))
        field_data[name] = np.array([tag, 1])
        tags[name] = [tag, 1]
    if out.suffix == ".vtu":
        mm = meshio.Mesh(m.points, cells, cell_data={"region": data})
        meshio.write(out, mm)
    else:
        mm = meshio.Mesh(m.points, cells, cell_data={"gmsh:physical": data, "gmsh:geometrical": data},
                         field_data=field_data)
        meshio.write(out, mm, file_format="gmsh22", binary=False)

    def plain(v):
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    info = {
        "units": {"length": "mm", "force": "N", "stress": "MPa"},
        "coordinates": "right knee: x anterior, y medial, z proximal; tibial plateau near z = 0",
        "params": plain(model.params),
        "landmarks_mm": plain(model.landmarks),
        "mesh": {"file": out.name, "nodes": int(m.n_nodes), "hex8": int(m.n_solid_elements),
                 "lines": int(sum(b.cells.shape[0] for b in m.lines)), "build_seconds": round(seconds, 3)},
        "physical_groups": tags,
        "region_unions": unions,
        "materials": {k: type(v).__name__ + repr(getattr(v, "__dict__", "")) for k, v in model.materials.items()},
        "trusses": {k: {"law": v.law, "k_N": v.k, "area_mm2": v.area} for k, v in model.trusses.items()},
        "rigid_bodies": {b.name: {"region": b.region, "reference_mm": list(b.reference),
                                  "held_dofs": sorted(b.prescribed)} for b in model.rigid_bodies},
        "contacts": {c.name: {"slave": c.slave, "master": c.master, "penalty_MPa_per_mm": c.penalty}
                     for c in model.contacts},
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=2, default=str))
    print(f"{out}: {m.summary()} ({seconds:.2f} s); {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
