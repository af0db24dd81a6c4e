#!/usr/bin/env python
"""Benchmark: contact search (bucket grid + closest-point projection) between two wavy sheets.

Master: ``z = 0.5 sin(x) cos(0.7 y)`` over a square, ``n x n`` quads (tri3/tri6: split in two); slave: the
nodes of a second sheet with a different wave, offset by about half an element and sampled on a grid shifted
by a third of a cell, so every slave node is near the master surface. Sizes are master facets; the slave has
about as many nodes. Radius = 2 element sizes. Times, best undisturbed of ``--repeats``:

* first call (numba compile or cache load) of the grid build and the query, on a tiny problem;
* ``update`` (bounding boxes + O(n) bucket grid) and ``closest`` (query + projection) at each size;
* ``closest`` hinted: the slave moved by 0.02 element sizes and searched again with the first answer's facets
  as the hint (as Newton's next evaluation does), its result checked equal to an unhinted search;
* the fitted scaling exponent of ``update + closest`` against the facet count (1 = linear);
* all-pairs brute force (same projection kernel) at the smallest size, and its result checked equal;
* peer: ``scipy.spatial.cKDTree`` build + nearest-*centroid* query (a cruder search: no projection) at each size.

Usage::

    python benchmarks/contact.py                        # tri3, 3k / 12k / 50k facets
    python benchmarks/contact.py --kind quad4 --sizes 3000 12000 50000 200000
    python benchmarks/contact.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, fmt_s, load_note, machine_info, machine_load, print_table  # noqa: E402

from fesolver.contact.search import ContactSearch  # noqa: E402


def wavy_sheet(n: int, kind: str, L: float, z0: float = 0.0, wave=(1.0, 0.7), amp: float = 0.5, shift=0.0):
    """``n x n`` cells of ``[0, L]^2`` (tri3/tri6: two triangles each), ``z = z0 + amp sin(a x) cos(b y)``."""
    m = 2 * n + 1 if kind == "tri6" else n + 1
    u = np.linspace(0.0, L, m) + shift
    X, Y = np.meshgrid(u, u, indexing="xy")
    Z = z0 + amp * np.sin(wave[0] * X) * np.cos(wave[1] * Y)
    pts = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()

    def nid(a, b):
        return b * m + a

    if kind == "quad4":
        conn = np.column_stack([nid(i, j), nid(i + 1, j), nid(i + 1, j + 1), nid(i, j + 1)])
    elif kind == "tri3":
        conn = np.vstack([np.column_stack([nid(i, j), nid(i + 1, j), nid(i + 1, j + 1)]),
                          np.column_stack([nid(i, j), nid(i + 1, j + 1), nid(i, j + 1)])])
    else:
        a, b = 2 * i, 2 * j
        conn = np.vstack([
            np.column_stack([nid(a, b), nid(a + 2, b), nid(a + 2, b + 2), nid(a + 1, b), nid(a + 2, b + 1),
                             nid(a + 1, b + 1)]),
            np.column_stack([nid(a, b), nid(a + 2, b + 2), nid(a, b + 2), nid(a + 1, b + 1), nid(a + 1, b + 2),
                             nid(a, b + 1)])])
    return pts, np.ascontiguousarray(conn, dtype=np.int64)


def problem(n_facets: int, kind: str):
    per_cell = 1 if kind == "quad4" else 2
    n = max(2, int(round(np.sqrt(n_facets / per_cell))))
    h = 1.0  # element size, mm
    L = n * h
    master, conn = wavy_sheet(n, kind, L)
    # slave nodes: a second sheet ~h/2 above, another wave, grid shifted by h/3
    slave, _ = wavy_sheet(n, "quad4", L, z0=0.5 * h, wave=(0.9, 0.8), amp=0.45, shift=h / 3.0)
    return master, conn, slave, h


def run(kind: str, sizes, repeats: int, brute: bool) -> dict:
    # first calls (compile or cache load), on a tiny problem
    m, c, s, h = problem(50, kind)
    t0 = time.perf_counter()
    cs = ContactSearch(c, kind)
    cs.update(m)
    t_first_update = time.perf_counter() - t0
    t0 = time.perf_counter()
    cs.closest(s, 2 * h)
    t_first_query = time.perf_counter() - t0
    t0 = time.perf_counter()
    cs.closest_brute_force(s, 2 * h)
    t_first_brute = time.perf_counter() - t0

    try:
        from scipy.spatial import cKDTree
    except ImportError:  # pragma: no cover
        cKDTree = None

    rows = []
    for k, nf in enumerate(sizes):
        master, conn, slave, h = problem(nf, kind)
        cs = ContactSearch(conn, kind)
        t_upd, _, oth_u, _ = best_of(lambda: cs.update(master), repeats)  # noqa: B023
        t_q, _, oth_q, cp = best_of(lambda: cs.closest(slave, 2 * h), repeats)  # noqa: B023
        moved = slave + 0.02 * h * np.sin(np.arange(slave.size)).reshape(slave.shape)
        t_hq, _, _, cph = best_of(lambda: cs.closest(moved, 2 * h, hint=cp.facet), repeats)  # noqa: B023
        cold = cs.closest(moved, 2 * h)
        row = {"facets": int(conn.shape[0]), "slaves": int(slave.shape[0]), "update_s": t_upd, "closest_s": t_q,
               "closest_hinted_s": t_hq, "hinted_equal": bool(np.array_equal(cold.facet, cph.facet)),
               "total_s": t_upd + t_q, "found": int(cp.found.sum()), "cells": int(np.prod(cs.dims)),
               "cell_size_mm": cs.cell_size, "bucket_entries": int(cs.cell_items.size),
               "disturbed": bool(max(oth_u + oth_q) > 0.15)}
        if cKDTree is not None:
            cen = master[conn[:, : (4 if kind == "quad4" else 3)]].mean(axis=1)
            t_kd, _, _, _ = best_of(lambda: cKDTree(cen).query(slave, k=1, workers=-1), repeats)  # noqa: B023
            row["kdtree_centroid_s"] = t_kd
        if brute and k == 0:
            t_b, _, _, b = best_of(lambda: cs.closest_brute_force(slave, 2 * h), 1)  # noqa: B023
            row["brute_force_s"] = t_b
            row["brute_force_equal"] = bool(np.array_equal(b.facet, cp.facet)
                                            and np.allclose(b.gap[b.found], cp.gap[cp.found], rtol=0, atol=1e-12))
        rows.append(row)

    nfs = np.array([r["facets"] for r in rows], dtype=float)
    tot = np.array([r["total_s"] for r in rows])
    slope = float(np.polyfit(np.log(nfs), np.log(tot), 1)[0]) if len(rows) > 1 else float("nan")
    slope_q = (float(np.polyfit(np.log(nfs), np.log([r["closest_s"] for r in rows]), 1)[0])
               if len(rows) > 1 else float("nan"))
    slope_u = (float(np.polyfit(np.log(nfs), np.log([r["update_s"] for r in rows]), 1)[0])
               if len(rows) > 1 else float("nan"))
    return {"kind": kind, "first_update_s": t_first_update, "first_closest_s": t_first_query,
            "first_brute_force_s": t_first_brute, "rows": rows, "exponent_total": slope,
            "exponent_update": slope_u, "exponent_closest": slope_q}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["tri3", "tri6", "quad4"], default="tri3")
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 12000, 50000], help="master facet counts")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-brute", action="store_true", help="skip the all-pairs brute force")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    args = ap.parse_args(argv)

    load = machine_load(0.5)
    print(load_note(load))
    res = run(args.kind, args.sizes, args.repeats, not args.no_brute)
    res["machine"] = machine_info()
    res["load"] = load
    print(f"\ncontact search, {args.kind} master facets, radius = 2 element sizes; first calls (compile/cache load): "
          f"update {fmt_s(res['first_update_s'])}, closest {fmt_s(res['first_closest_s'])}, "
          f"brute force {fmt_s(res['first_brute_force_s'])}\n")
    table = []
    for r in res["rows"]:
        table.append([r["facets"], r["slaves"], fmt_s(r["update_s"]), fmt_s(r["closest_s"]), fmt_s(r["total_s"]),
                      fmt_s(r["closest_hinted_s"]) + ("" if r["hinted_equal"] else " (DIFFERENT)"),
                      f"{r['total_s'] / r['facets'] * 1e6:.2f} us", fmt_s(r.get("kdtree_centroid_s")),
                      fmt_s(r.get("brute_force_s")) + (" (equal)" if r.get("brute_force_equal") else
                                                       " (DIFFERENT)" if "brute_force_equal" in r else ""),
                      f"{r['found']}/{r['slaves']}" + (" *" if r["disturbed"] else "")])
    print_table(table, ["facets", "slaves", "update (grid)", "closest", "total", "closest hinted", "total/facet",
                        "peer: cKDTree centroids", "all-pairs brute force", "found"])
    print(f"\nfitted exponent t ~ n^p: total p = {res['exponent_total']:.2f}, update p = {res['exponent_update']:.2f}, "
          f"closest p = {res['exponent_closest']:.2f}   (* = disturbed by other processes)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
