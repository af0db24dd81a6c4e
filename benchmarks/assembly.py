#!/usr/bin/env python
"""Benchmark: tet4 linear-elastic stiffness assembly, fesolver vs scikit-fem.

Unit cube, structured hexes split into 6 tets each (E = 1 MPa, nu = 0.3). Times, in one run:

* numba compile: the first call of every assembly kernel on a tiny mesh, in this process (with numba's
  ``cache=True`` this is usually a cache *load*; numba's cache hits/misses are printed) and, unless
  ``--skip-cold-compile``, in a child process with an empty ``NUMBA_CACHE_DIR`` (a true compile);
* pattern build (``SparsityPattern``), with a breakdown of its phases;
* first assembly = pattern build + ``assemble_stiffness`` (the public one-shot path);
* re-assembly with the pattern and the element-matrix buffer reused
  (``stiffness_matrices(out=buf)`` + ``pattern.add_element_matrices`` + ``pattern.matrix``);
* the element kernel alone and the CSR gather alone;
The fesolver phases run interleaved in ``--repeats`` rounds and the best undisturbed time is kept.

* scikit-fem ``asm(linear_elasticity(lam, mu), basis)`` in a child process (so its peak RSS is its own),
  which also assembles the fesolver matrix afterwards and checks that the two agree.

Usage::

    python benchmarks/assembly.py                   # ~150k tets
    python benchmarks/assembly.py --size 1000000    # ~1M tets (scikit-fem: ~2 min, ~6 GiB)
    python benchmarks/assembly.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    DISTURBED,
    CpuMonitor,
    Timer,
    all_disturbed,
    box_tet_mesh,
    cold_compile,
    compile_worker,
    cube_divisions_for_tets,
    fmt_s,
    load_note,
    machine_info,
    machine_load,
    numba_cache_stats,
    peak_rss_mib,
    pick_best,
    print_table,
    rss_mib,
    ru_maxrss_mib,
    wait_idle,
)

E, NU = 1.0, 0.3
GOAL_FIRST = 50.0
GOAL_REASSEMBLY = 200.0
TOL = 1e-10


def lame():
    from fesolver.materials import LinearElastic

    return LinearElastic(E, NU).lame


def mesh(n: int):
    return box_tet_mesh(n, n, n)


# ----------------------------------------------------------------------------------------------
# compile
# ----------------------------------------------------------------------------------------------

_KERNELS = ("stiffness_linear_isotropic", "_count_node_neighbors", "_fill_node_neighbors",
            "_dof_csr_structure", "_element_slots", "gather_matrix")


def _first_calls() -> float:
    """First pattern build + assembly on a 2x2x2-hex mesh; returns seconds."""
    from fesolver.assembly import SparsityPattern, assemble_stiffness
    from fesolver.elements import TET4

    p, c = mesh(2)
    lam, mu = lame()
    t0 = time.perf_counter()
    pat = SparsityPattern(len(p), [c])
    assemble_stiffness(pat, p, [(TET4, c)], [np.full(len(c), lam)], [np.full(len(c), mu)])
    return time.perf_counter() - t0


def _cache_stats() -> dict:
    from fesolver.assembly import _kernels as K

    return numba_cache_stats([getattr(K, name) for name in _KERNELS])


# ----------------------------------------------------------------------------------------------
# pattern phases (diagnostic: mirrors fesolver.assembly.pattern.SparsityPattern.__init__)
# ----------------------------------------------------------------------------------------------


def pattern_breakdown(n_nodes: int, conn: np.ndarray) -> dict:
    from fesolver.assembly import _kernels as K
    from fesolver.assembly.pattern import node_to_element

    t = {}
    t0 = time.perf_counter()
    conn = np.ascontiguousarray(conn, dtype=np.int64)
    sizes = np.full(conn.shape[0], conn.shape[1], dtype=np.int64)
    elem_ptr = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=elem_ptr[1:])
    elem_nodes = conn.ravel()
    order = np.argsort(elem_nodes, kind="stable")
    counts = np.bincount(elem_nodes, minlength=n_nodes)
    g_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=g_ptr[1:])
    g_elem = (np.searchsorted(elem_ptr, order, side="right") - 1).astype(np.int64)
    t1 = time.perf_counter()
    t["node->element graph (argsort, searchsorted)"] = t1 - t0
    nbr_count = np.zeros(n_nodes, dtype=np.int64)
    K._count_node_neighbors(g_ptr, g_elem, elem_ptr, elem_nodes, nbr_count)
    t2 = time.perf_counter()
    t["_count_node_neighbors"] = t2 - t1
    nbr_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(nbr_count, out=nbr_ptr[1:])
    nbr = np.empty(nbr_ptr[-1], dtype=np.int64)
    K._fill_node_neighbors(g_ptr, g_elem, elem_ptr, elem_nodes, nbr_ptr, nbr)
    t3 = time.perf_counter()
    t["_fill_node_neighbors"] = t3 - t2
    nnz = 9 * int(nbr_ptr[-1])
    indptr = np.empty(3 * n_nodes + 1, dtype=np.int64)
    indices = np.empty(nnz, dtype=np.int64)
    K._dof_csr_structure(nbr_ptr, nbr, indptr, indices)
    t4 = time.perf_counter()
    t["_dof_csr_structure (int64)"] = t4 - t3
    indptr.astype(np.int32)
    indices.astype(np.int32)
    t5 = time.perf_counter()
    t["int64 -> int32 copies"] = t5 - t4
    node_to_element(conn, n_nodes)
    t6 = time.perf_counter()
    t["node_to_element (argsort again)"] = t6 - t5
    slot = np.empty((conn.shape[0], conn.shape[1], conn.shape[1]), dtype=np.int32)
    K._element_slots(conn, nbr_ptr, nbr, slot)
    t["_element_slots"] = time.perf_counter() - t6
    return t


# ----------------------------------------------------------------------------------------------
# scikit-fem (child process)
# ----------------------------------------------------------------------------------------------


def skfem_worker(n: int) -> None:
    """Child: scikit-fem assembly (timed, peak RSS recorded), then the fesolver matrix and the comparison."""
    base_rss = rss_mib()
    import skfem
    from skfem.models.elasticity import linear_elasticity

    points, conn = mesh(n)
    lam, mu = lame()
    res = {"rss_start_mib": base_rss}
    with Timer() as t:
        m = skfem.MeshTet(np.ascontiguousarray(points.T), np.ascontiguousarray(conn.T))
    res["mesh_s"] = t.s
    with Timer() as t:
        basis = skfem.Basis(m, skfem.ElementVector(skfem.ElementTetP1()))
    res["basis_s"] = t.s
    assert np.array_equal(basis.nodal_dofs[:, :2], np.array([[0, 3], [1, 4], [2, 5]])), "DOF order differs"
    with Timer() as t:
        Ks = skfem.asm(linear_elasticity(lam, mu), basis)
    res["asm_s"] = t.s
    res["peak_rss_mib"] = peak_rss_mib()
    res["ru_maxrss_mib"] = ru_maxrss_mib()  # inflated by the parent's peak (see _common.ru_maxrss_mib)
    del basis, m

    from fesolver.assembly import SparsityPattern, assemble_stiffness
    from fesolver.elements import TET4

    pat = SparsityPattern(len(points), [conn])
    # copy: eliminate_zeros() would otherwise rewrite the pattern's shared indptr/indices in place
    Kf = assemble_stiffness(pat, points, [(TET4, conn)], [np.full(len(conn), lam)],
                            [np.full(len(conn), mu)]).copy()
    res["nnz_fesolver_stored"] = int(Kf.nnz)
    res["nnz_skfem_stored"] = int(Ks.nnz)
    Kf.eliminate_zeros()
    Ks = Ks.tocsr()
    Ks.eliminate_zeros()
    res["nnz_fesolver"] = int(Kf.nnz)
    res["nnz_skfem"] = int(Ks.nnz)
    D = (Kf - Ks).tocsr()
    res["rel_max_diff"] = float(abs(D).max() / abs(Ks).max()) if D.nnz else 0.0
    res["same_structure"] = bool(Kf.nnz == Ks.nnz)
    print(json.dumps(res))


def run_skfem(n: int) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--_skfem-worker", str(n)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"scikit-fem worker failed (code {out.returncode}):\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_wall_s"] = time.perf_counter() - t0
    return res


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=150_000, help="target number of tets (default 150000)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="rounds of the fesolver timings (phases interleaved); the best is kept (default 5)")
    ap.add_argument("--no-skfem", action="store_true", help="skip scikit-fem (no ratios, no comparison)")
    ap.add_argument("--skip-cold-compile", action="store_true",
                    help="skip the compile with an empty numba cache (child process)")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="on a shared machine: before each timed phase wait up to SECONDS for the CPUs to be idle")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    ap.add_argument("--_compile-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_skfem-worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._compile_worker:
        compile_worker(_first_calls, _cache_stats)
        return 0
    if args._skfem_worker is not None:
        skfem_worker(args._skfem_worker)
        return 0

    rss0 = rss_mib()
    import numba

    from fesolver.assembly import SparsityPattern, assemble_stiffness, stiffness_matrices
    from fesolver.elements import TET4

    load = machine_load()
    info = machine_info()
    out: dict = {"machine": info, "load_start": load, "args": {"size": args.size, "repeats": args.repeats}}
    n = cube_divisions_for_tets(args.size)
    R = args.repeats
    print(f"# fesolver assembly benchmark: unit cube, {n}^3 hexes x 6 tets, E={E}, nu={NU}")
    print(f"# {info['cpus']} CPUs, numba {info['numba']} ({numba.config.NUMBA_NUM_THREADS} threads), "
          f"numpy {info['numpy']}, scipy {info['scipy']}, scikit-fem {info['skfem']}")
    print(f"# {load_note(load)}")

    # -- compile -------------------------------------------------------------------------------
    warm = _first_calls()
    stats = _cache_stats()
    out["compile"] = {"in_process_first_call_s": warm, **stats}
    how = "cache load" if stats["cache_misses"] == 0 and stats["cache_hits"] > 0 else "compile"
    print(f"\nnumba first call (tiny mesh, this process): {fmt_s(warm)}  [{how}: "
          f"{stats['cache_hits']} cache hits, {stats['cache_misses']} misses]")
    if not args.skip_cold_compile:
        wait_idle(args.wait_idle)
        cc = cold_compile(__file__)
        out["compile"]["cold"] = cc
        if "error" in cc:
            raise RuntimeError(f"cold-compile child failed: {cc['error']}")
        print(f"numba cold compile (empty NUMBA_CACHE_DIR, child process): first calls {fmt_s(cc['first_calls_s'])}"
              f" (+ import {fmt_s(cc['import_s'])}; {cc['cache_misses']} cache misses)")

    # -- mesh ----------------------------------------------------------------------------------
    with Timer() as t:
        points, conn = mesh(n)
    nel, nn = len(conn), len(points)
    lam_s, mu_s = lame()
    lam = np.full(nel, lam_s)
    mu = np.full(nel, mu_s)
    blocks = [(TET4, conn)]
    print(f"\nmesh: {nel:,} tets, {nn:,} nodes, {3 * nn:,} DOFs (generated in {fmt_s(t.s)})")
    out["mesh"] = {"n": n, "tets": nel, "nodes": nn, "dofs": 3 * nn, "generate_s": t.s}

    # -- timed phases --------------------------------------------------------------------------
    ph: dict = {}

    def rounds(named, repeats=R):
        """Time the phases ``named = [(name, fn), ...]`` interleaved: ``repeats`` rounds, each running every
        phase once (so that a burst of load on a shared machine hits them alike); keeps the best undisturbed
        time of each. Returns the last result of each phase."""
        for name, _ in named:
            ph[name] = {"times_s": [], "others_cpus": [], "waited_s": 0.0}
        res = {}
        for _ in range(repeats):
            ph[named[0][0]]["waited_s"] += wait_idle(args.wait_idle)
            for name, fn in named:
                with CpuMonitor() as m:
                    res[name] = fn()
                ph[name]["times_s"].append(m.s)
                ph[name]["others_cpus"].append(m.others)
        for name, _ in named:
            p = ph[name]
            p["best_s"] = pick_best(p["times_s"], p["others_cpus"])
            p["disturbed"] = all_disturbed(p["others_cpus"])
        return res

    def first_assembly():
        pat = SparsityPattern(nn, [conn])
        return pat, assemble_stiffness(pat, points, blocks, [lam], [mu])

    # the very first call on the big mesh (fresh memory), then the best of the repeats
    pat, K = rounds([("first_single", first_assembly)], 1)["first_single"]
    nnz = pat.nnz
    del K, pat
    pat = rounds([("first", lambda: first_assembly()[0]), ("pattern", lambda: SparsityPattern(nn, [conn]))])[
        "pattern"]
    try:
        wait_idle(args.wait_idle)
        breakdown = min((pattern_breakdown(nn, conn) for _ in range(max(1, min(R, 3)))),
                        key=lambda d: sum(d.values()))
    except Exception as exc:  # the package internals moved on
        breakdown = {f"unavailable ({type(exc).__name__}: {exc})": float("nan")}

    # re-assembly with the pattern and the element-matrix buffer reused
    buf = np.empty((nel, 12, 12))
    data = pat.zeros()

    def kernel():
        stiffness_matrices(points, TET4, conn, lam, mu, out=buf)

    def gather():
        data[:] = 0.0
        pat.add_element_matrices(0, buf, data)

    def reassemble():
        Ke, detmin = stiffness_matrices(points, TET4, conn, lam, mu, out=buf)
        data[:] = 0.0
        pat.add_element_matrices(0, Ke, data)
        return pat.matrix(data)

    kernel()
    rounds([
        ("kernel", kernel),
        ("gather", gather),
        ("reassembly", reassemble),
        ("assemble_stiffness_reuse", lambda: assemble_stiffness(pat, points, blocks, [lam], [mu], buffers=[buf])),
        ("assemble_stiffness_colored", lambda: assemble_stiffness(pat, points, blocks, [lam], [mu], data=data)),
    ])
    peak_fe = peak_rss_mib()
    ru_fe = ru_maxrss_mib()
    print(f"CSR: {nnz:,} stored entries, indices {pat.indices.dtype}; "
          f"element-matrix buffer {buf.nbytes / 2**20:,.0f} MiB")
    buf = data = pat = None  # free memory before scikit-fem

    out["fesolver"] = {"phases": ph, "pattern_breakdown_s": breakdown, "nnz": nnz, "rss_start_mib": rss0,
                       "peak_rss_mib": peak_fe, "ru_maxrss_mib": ru_fe}

    # -- scikit-fem ----------------------------------------------------------------------------
    sk = None
    if not args.no_skfem:
        waited = wait_idle(args.wait_idle)
        print("scikit-fem: assembling in a child process ..." + (f" (waited {waited:.0f} s for idle CPUs)"
              if waited >= 1 else ""), flush=True)
        with CpuMonitor() as mon:
            sk = run_skfem(n)
        sk["others_cpus"] = mon.others
        sk["waited_s"] = waited
        out["skfem"] = sk

    # -- report --------------------------------------------------------------------------------
    def t(name):
        return ph[name]["best_s"]

    def ratio(x):
        return f"{sk['asm_s'] / x:,.0f}x" if sk else "-"

    def other(name):
        o = ph[name]["others_cpus"]
        return f"{min(o):.2f}" + (" *" if ph[name]["disturbed"] else "")

    rows = [
        ["pattern build (SparsityPattern)", fmt_s(t("pattern")), "-", other("pattern")],
        ["first assembly (pattern + assemble_stiffness)", fmt_s(t("first")), ratio(t("first")), other("first")],
        ["  the single first call on this mesh (see note)", fmt_s(t("first_single")), ratio(t("first_single")),
         other("first_single")],
        ["re-assembly (pattern + buffer reused)", fmt_s(t("reassembly")), ratio(t("reassembly")),
         other("reassembly")],
        ["  element kernel (stiffness_matrices, out=buf)", fmt_s(t("kernel")), "-", other("kernel")],
        ["  zero + gather into CSR (add_element_matrices)", fmt_s(t("gather")), "-", other("gather")],
        ["assemble_stiffness(pat, buffers=[buf])", fmt_s(t("assemble_stiffness_reuse")),
         ratio(t("assemble_stiffness_reuse")), other("assemble_stiffness_reuse")],
        ["assemble_stiffness(pat, data=data) (colored, no buffer)", fmt_s(t("assemble_stiffness_colored")),
         ratio(t("assemble_stiffness_colored")), other("assemble_stiffness_colored")],
    ]
    if sk:
        o = f"{sk['others_cpus']:.2f}" + (" *" if sk["others_cpus"] > DISTURBED else "")
        rows += [
            ["scikit-fem Basis(...)", fmt_s(sk["basis_s"]), "-", o],
            ["scikit-fem asm(linear_elasticity)", fmt_s(sk["asm_s"]), "1x", o],
        ]
    print(f"\n## Assembly, {nel:,} tets / {3 * nn:,} DOFs (best of {R} interleaved rounds)\n")
    print_table(rows, ["phase", "time", "scikit-fem asm / this", "other CPUs"])
    print(f"other CPUs = CPUs used by other processes during the best repeat set (min over repeats; * = every "
          f"repeat disturbed, > {DISTURBED} CPUs: rerun on a quiet machine)")

    print("note: the single first call also pays the first touch of fresh memory, which is very slow on some VMs "
          "(memory returned to the host); later calls reuse memory the process already touched.")
    print("\npattern build breakdown (diagnostic copy of SparsityPattern.__init__):")
    for k, v in breakdown.items():
        print(f"  {k:45s} {fmt_s(v)}")

    print(f"\npeak RSS: fesolver process {peak_fe:,.0f} MiB (start {rss0:,.0f} MiB)", end="")
    if sk:
        print(f"; scikit-fem process {sk['peak_rss_mib']:,.0f} MiB (start {sk['rss_start_mib']:,.0f} MiB)"
              f" (VmHWM)")
        ok = sk["same_structure"] and sk["rel_max_diff"] < TOL
        print(f"matrices agree: {'YES' if ok else 'NO'} -- relative max difference {sk['rel_max_diff']:.2e}, "
              f"nnz after eliminate_zeros {sk['nnz_fesolver']:,} (fesolver) vs {sk['nnz_skfem']:,} (scikit-fem); "
              f"stored {sk['nnz_fesolver_stored']:,} vs {sk['nnz_skfem_stored']:,}")
        out["agree"] = bool(ok)
        r_first = sk["asm_s"] / t("first")
        r_first_single = sk["asm_s"] / t("first_single")
        r_re = sk["asm_s"] / t("reassembly")
        goals = {
            "first_assembly_ratio": r_first, "first_assembly_ratio_single_call": r_first_single,
            "reassembly_ratio": r_re,
            "first_pass": r_first >= GOAL_FIRST, "reassembly_pass": r_re >= GOAL_REASSEMBLY,
        }
        out["goals"] = goals
        print("\n## Goals (scikit-fem asm time / fesolver time)\n")
        print_table([
            [f"first assembly >= {GOAL_FIRST:.0f}x", f"{r_first:,.0f}x (single first call {r_first_single:,.0f}x)",
             "PASS" if r_first >= GOAL_FIRST else "MISS"],
            [f"re-assembly >= {GOAL_REASSEMBLY:.0f}x", f"{r_re:,.0f}x", "PASS" if r_re >= GOAL_REASSEMBLY else "MISS"],
        ], ["goal", "measured", "result"], ["<", ">", "<"])
    else:
        print()

    out["load_end"] = machine_load(0.2)
    print(f"# at the end: {load_note(out['load_end'])}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
        print(f"\nfigures written to {args.json}")
    return 0 if (sk is None or out.get("agree", True)) else 1


if __name__ == "__main__":
    sys.exit(main())
