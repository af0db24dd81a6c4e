#!/usr/bin/env python
"""Benchmark: surface-to-surface contact (``SurfaceContact``) per Newton iteration, vs assembling the bodies.

Two thin slabs, one element thick (``stacked_blocks`` of ``tests/contact_models.py``): the lower one
``[0, L]^2 x [0, 1]`` with ``n x n`` elements (the master, facet set ``lower_top``), the upper one
``[0, L]^2 x [1, 2]`` with ``round(1.13 n)`` per side (the finer slave, ``upper_bottom``), so the two
interface meshes do not match. ``--kind quad4``: hex8 slabs, quad4 facets; ``--kind tri3``: the hexes split
into 6 tets each, tri3 facets. A size is the target facet count of *each* side (``n`` chosen so that the
geometric mean of the two counts comes closest: master ~ size/1.13, slave ~ 1.13 size). E = 100 MPa,
nu = 0.3 for both, default penalty; the upper slab is pushed 0.01 mm into the lower one (``u_z = -0.01`` on
all its nodes), so every integration point is in contact. Times, best undisturbed of ``--repeats`` (a phase
is not repeated once it has used ``--budget`` seconds):

* ``search``: what ``SurfaceContact`` does to find the contact (the slave integration points, the
  master's bucket grid ``ContactSearch.update`` and ``closest`` on all integration points), alone;
* ``forces``: ``c.add(system, u3, f, None)`` (search + mortar integrals + forces; one line-search evaluation);
* ``tangent``: ``c.add(system, u3, f, data)`` (forces + contact tangent; one Newton iteration), with and
  without the geometric term (``geometric_stiffness = False``);
* ``merge``: ``K_bulk + K_contact`` to CSR, which ``FiniteStrainSystem.internal`` does because the contact
  couples nodes outside the mesh's sparsity pattern;
* peers on the same mesh: fesolver's bulk tangent + residual (``FiniteStrainSystem.internal(u, True)`` with
  the contact removed; St Venant-Kirchhoff for ``LinearElastic``) and residual only, and scikit-fem's
  ``asm(linear_elasticity(lam, mu), basis)`` (small-strain: a lower bound on what a finite-strain tangent
  costs in scikit-fem; hex: 2x2x2 Gauss, tet: 1 point, as fesolver);
* the fitted exponent ``p`` of ``t ~ facets^p`` (1 = linear) of each phase;
* checks (exit code 1 if one fails): every integration point is in contact (the slabs overlap exactly and
  are pressed together), and the geometric term's largest entry is small next to the penalty term's
  (~0.015 here, as the pressure is small next to E).

Every size runs in its own child process (clean memory figures; numba's cache is loaded there first on a
tiny model). Memory: the peak resident memory *above the RSS at the start* of the phase (VmHWM, reset
through /proc/self/clear_refs), and the child's overall peak.

Usage::

    python benchmarks/contact_pair.py                          # quad4, 3k / 12k / 50k facets per side
    python benchmarks/contact_pair.py --kind tri3 --sizes 3000 12000
    python benchmarks/contact_pair.py --subdivision 1          # integration level 1 instead of auto
    python benchmarks/contact_pair.py --subdivision auto 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent / "tests"))  # contact_models, meshgen: test helpers
from _common import (  # noqa: E402
    CpuMonitor,
    all_disturbed,
    fmt_s,
    load_note,
    machine_info,
    machine_load,
    peak_rss_mib,
    pick_best,
    print_table,
    rss_mib,
    wait_idle,
)
from _common import (  # noqa: E402
    run_child as _run_child,
)

E, NU = 100.0, 0.3
RATIO = 1.13  # upper (slave) elements per lower (master) element along each edge
PUSH = 0.01  # mm, the upper slab pushed into the lower one
H = 1.0  # slab thickness, mm (one element)
KIND_ELEMENT = {"quad4": "hex8", "tri3": "tet4"}


# ----------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------


def divisions(size: int, kind: str) -> tuple[int, int]:
    """``(n_lower, n_upper)`` elements per edge so that each side has about ``size`` facets."""
    per_cell = 1 if kind == "quad4" else 2
    n = max(2, int(round(np.sqrt(size / per_cell / RATIO))))
    return n, max(2, int(round(RATIO * n)))


def build(size: int, kind: str, subdivision):
    """Mesh, problem, system, contact and the displacement ``u3`` of the pushed-in upper slab."""
    from contact_models import stacked_bcs, stacked_blocks

    from fesolver.contact import SurfaceContact
    from fesolver.materials import LinearElastic
    from fesolver.nonlinear import FiniteStrainSystem
    from fesolver.problem import Problem

    nl, nu = divisions(size, kind)
    L = float(nl)  # master elements of 1 mm
    mesh = stacked_blocks(nl=(nl, nl, 1), nu=(nu, nu, 1), L=L, H=H, kind=KIND_ELEMENT[kind])
    c = SurfaceContact(slave="upper_bottom", master="lower_top", name="pair", subdivision=subdivision)
    problem = Problem(mesh, {"lower": LinearElastic(E, NU), "upper": LinearElastic(E, NU)},
                      bcs=stacked_bcs(L=L, H=H), contacts=[c])
    system = FiniteStrainSystem(problem)  # calls c.setup(system)
    u3 = np.zeros((mesh.n_nodes, 3))
    upper = np.unique(mesh.solids[0].cells[mesh.cell_sets["upper"][0]])
    u3[upper, 2] = -PUSH
    return mesh, problem, system, c, u3


# ----------------------------------------------------------------------------------------------
# timing and memory helpers (child side)
# ----------------------------------------------------------------------------------------------

_PEAK = [0.0]  # the child's overall peak RSS, MiB, across the VmHWM resets


def _reset_peak() -> None:
    """Remember the current VmHWM, then reset it to the current RSS (Linux >= 4.0; else a no-op)."""
    _PEAK[0] = max(_PEAK[0], peak_rss_mib())
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # pragma: no cover
        pass


def timed(fn, repeats: int, budget: float):
    """Run ``fn`` up to ``repeats`` times (no new repeat once ``budget`` s are spent).

    Returns ``(figures, result)``: best undisturbed time, all times, other processes' CPUs per repeat,
    the minor page faults per repeat (fresh memory the kernel had to map: costly on some VMs), and the peak
    RSS above the RSS at the start of the first repeat (MiB).
    """
    times, others, faults = [], [], []
    out = None
    extra = None
    t_start = time.perf_counter()
    for k in range(max(1, repeats)):
        if k and time.perf_counter() - t_start > budget:
            break
        if k == 0:
            _reset_peak()
            base = rss_mib()
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        with CpuMonitor() as m:
            out = fn()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
        if k == 0:
            extra = peak_rss_mib() - base
        times.append(m.s)
        others.append(m.others)
    return {"best_s": pick_best(times, others), "times_s": times, "others": others, "minor_faults": faults,
            "disturbed": all_disturbed(others), "peak_extra_mib": extra}, out


def skfem_peer(mesh, repeats: int, budget: float) -> dict:
    """scikit-fem linear-elastic stiffness of the same mesh (same nodes, same elements)."""
    import skfem
    from skfem.models.elasticity import linear_elasticity

    from fesolver.materials import LinearElastic

    lam, mu = LinearElastic(E, NU).lame
    blk = mesh.solids[0]
    p = np.ascontiguousarray(mesh.points.T)
    res = {"skfem": skfem.__version__}
    t0 = time.perf_counter()
    if blk.etype.name == "hex8":
        # VTK hexahedron -> scikit-fem's local numbering (skfem.io.meshio.INV_HEX_MAPPING[:8])
        m = skfem.MeshHex(p, np.ascontiguousarray(blk.cells[:, [0, 4, 3, 1, 7, 5, 2, 6]].T))
        basis = skfem.Basis(m, skfem.ElementVector(skfem.ElementHex1()), intorder=3)  # 2x2x2 Gauss
    else:
        m = skfem.MeshTet(p, np.ascontiguousarray(blk.cells.T))
        basis = skfem.Basis(m, skfem.ElementVector(skfem.ElementTetP1()), intorder=1)
    res["basis_s"] = time.perf_counter() - t0
    fig, K = timed(lambda: skfem.asm(linear_elasticity(lam, mu), basis), repeats, budget)
    res["asm"] = fig
    res["nnz"] = int(K.nnz)
    return res


# ----------------------------------------------------------------------------------------------
# one size (child process)
# ----------------------------------------------------------------------------------------------


def warm_up(kind: str, subdivision) -> float:
    """First calls of every kernel on a tiny model: numba cache load (or compile)."""
    t0 = time.perf_counter()
    _, _, system, c, u3 = build(8 if kind == "quad4" else 12, kind, subdivision)
    f = np.zeros(system.n_dofs)
    c.add(system, u3, f, None)
    c.add(system, u3, f, system.pattern.zeros())
    system.internal(u3.ravel(), True)
    return time.perf_counter() - t0


def worker(size: int, kind: str, subdivision, repeats: int, budget: float, with_skfem: bool) -> None:
    import scipy.sparse as sp

    rss0 = rss_mib()
    res = {"size": size, "kind": kind, "subdivision_arg": "auto" if subdivision is None else subdivision}
    res["first_calls_s"] = warm_up(kind, subdivision)

    t0 = time.perf_counter()
    mesh, problem, system, c, u3 = build(size, kind, subdivision)
    res["build_s"] = time.perf_counter() - t0  # mesh + problem + FiniteStrainSystem (pattern, contact setup)
    t0 = time.perf_counter()
    c.setup(system)
    res["contact_setup_s"] = time.perf_counter() - t0
    ps = c.passes[0]
    nl, nu = divisions(size, kind)
    res.update(n_lower=nl, n_upper=nu, slave_facets=int(ps.sconn.shape[0]), master_facets=int(ps.mconn.shape[0]),
               subdivision=int(ps.subdivision), points_per_facet=int(ps.nq), integration_points=int(ps.w.size),
               slave_nodes=int(ps.nodes.size), elements=int(sum(b.cells.shape[0] for b in mesh.solids)),
               dofs=int(system.n_dofs), penalty=float(c.eps), radius_mm=float(c.radius))
    u = u3.ravel().copy()
    f = np.zeros(system.n_dofs)
    data = system.pattern.zeros()  # any non-None object asks for the tangent
    T = {}

    # -- the search alone, as _Pass.evaluate does it
    x = system.points + u3
    xs = x[ps.sconn]

    def points():
        return np.einsum("qb,fbi->fqi", ps.N, xs).reshape(-1, 3)

    T["points"], xq = timed(points, repeats, budget)
    T["update"], _ = timed(lambda: ps.search.update(x), repeats, budget)
    T["closest"], cp = timed(lambda: ps.search.closest(xq, c.radius), repeats, budget)
    T["search"] = {"best_s": T["points"]["best_s"] + T["update"]["best_s"] + T["closest"]["best_s"],
                   "disturbed": any(T[k]["disturbed"] for k in ("points", "update", "closest"))}

    # -- the contact hooks; the forces phase keeps the pass's last output (for the counts below)
    last = {}
    evaluate = ps.evaluate

    def keep(*a, **k):
        last["out"] = evaluate(*a, **k)
        return last["out"]

    ps.evaluate = keep
    T["forces"], _ = timed(lambda: c.add(system, u3, f, None), repeats, budget)
    del ps.evaluate  # back to the class's method
    c.geometric_stiffness = False
    T["tangent_nogeo"], Kn = timed(lambda: c.add(system, u3, f, data), repeats, budget)
    c.geometric_stiffness = True
    T["tangent"], Kc = timed(lambda: c.add(system, u3, f, data), repeats, budget)
    # check: the geometric term is a small correction here (pressure ~ 11 MPa << E); its largest entry
    # relative to the normal (penalty) tangent's
    res["contact_matrix"] = {"format": Kc.format, "nnz": int(Kc.nnz), "shape": list(Kc.shape),
                             "max_abs": float(abs(Kc).max()), "max_abs_nogeo": float(abs(Kn).max()),
                             "geo_over_normal": float(abs(Kc - Kn).max() / abs(Kn).max())}
    Kn = None

    # -- counts: valid points, (slave facet, master facet) pairs, active pairs and nodes
    o = last.pop("out")
    valid, p = o["valid"], o["p"]
    nfs, nq = ps.sconn.shape[0], ps.nq
    key = np.repeat(np.arange(nfs, dtype=np.int64), nq) * ps.mconn.shape[0] + cp.facet
    pq = ((ps.Phi[None] * p[ps.row[ps.sconn]][:, None, :]).sum(axis=2).ravel()) * valid
    res.update(valid_points=int(valid.sum()), pairs=int(np.unique(key[valid]).size),
               active_pairs=int(np.unique(key[valid & (pq > 0)]).size), active_nodes=int(o["active"].sum()),
               pressure_MPa=[float(p.min()), float(p.max())])
    o = valid = p = pq = key = cp = xq = None  # free memory

    # -- bulk (the mesh's own tangent and residual) and the merge with the contact tangent
    contacts, system.contacts = system.contacts, []
    T["bulk_tangent"], (_, Kb, ok) = timed(lambda: system.internal(u, True), repeats, budget)
    T["bulk_residual"], _ = timed(lambda: system.internal(u, False), repeats, budget)
    system.contacts = contacts
    res["bulk_ok"] = bool(ok)
    res["bulk_matrix_nnz"] = int(Kb.nnz)
    T["merge"], Kt = timed(lambda: sp.csr_matrix(Kb + Kc), repeats, budget)
    res["merged_nnz"] = int(Kt.nnz)
    Kb = Kt = Kc = None
    res["times"] = T
    res["peak_rss_fesolver_mib"] = max(_PEAK[0], peak_rss_mib())
    if with_skfem:
        _reset_peak()
        base = rss_mib()
        try:
            res["skfem"] = skfem_peer(mesh, repeats, budget)
            res["skfem"]["peak_extra_mib"] = peak_rss_mib() - base
        except ImportError:
            res["skfem"] = None
    res["rss_start_mib"] = rss0
    res["peak_rss_mib"] = max(_PEAK[0], peak_rss_mib())
    print(json.dumps(res))


def source_state() -> dict:
    """The fesolver source measured: git HEAD, uncommitted changes, and a digest of fesolver/contact/*.py."""
    import hashlib

    root = _HERE.parent
    out = {"contact_sources_sha1": hashlib.sha1(b"".join(p.read_bytes() for p in
                                                         sorted((root / "fesolver" / "contact").glob("*.py"))))
           .hexdigest()[:12]}
    try:
        git = ["git", "-C", str(root)]
        out["git_head"] = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                         check=True).stdout.strip()
        out["git_dirty"] = sorted(line[3:] for line in subprocess.run(
            git + ["status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
            check=True).stdout.splitlines())
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


def run_child(args_list, timeout=None) -> dict:
    return _run_child(__file__, args_list, timeout, others_key="process_others_cpus")


# ----------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------

# phase key -> label, for the exponent fits
PHASES = {"search": "search", "forces": "forces", "tangent_nogeo": "tangent w/o geometric",
          "tangent": "tangent", "geometric": "geometric term", "bulk_tangent": "bulk K + f (fesolver)",
          "skfem": "bulk K (scikit-fem)"}


def phase_time(r: dict, key: str):
    T = r["times"]
    if key == "geometric":
        return T["tangent"]["best_s"] - T["tangent_nogeo"]["best_s"]
    if key == "skfem":
        return r["skfem"]["asm"]["best_s"] if r.get("skfem") else None
    return T[key]["best_s"]


def exponents(rows) -> dict:
    out = {}
    if len(rows) < 2:
        return out
    n = np.array([r["slave_facets"] for r in rows], dtype=float)
    for key in PHASES:
        t = [phase_time(r, key) for r in rows]
        if any(v is None or not v > 0 for v in t):
            continue
        out[key] = float(np.polyfit(np.log(n), np.log(t), 1)[0])
    return out


def _t(fig) -> str:
    return fmt_s(fig["best_s"]) + (" *" if fig.get("disturbed") else "")


def _mib(v) -> str:
    return "-" if v is None else f"{v:,.0f}"


def report(runs: dict) -> bool:
    """Print the tables; False if a check failed."""
    passed = True
    for sub, rows in runs.items():
        ok = [r for r in rows if "error" not in r]
        for r in rows:
            if "error" in r:
                print(f"\nsize {r['size']}, subdivision {sub}: FAILED: {r['error']}")
        if not ok:
            continue
        r0 = ok[0]
        print(f"\n## {r0['kind']} facets, subdivision {sub} (level {r0['subdivision']}: {r0['points_per_facet']} "
              f"integration points per slave facet); first calls (numba cache load) {fmt_s(r0['first_calls_s'])}\n")
        table = []
        for r in ok:
            T = r["times"]
            geo = phase_time(r, "geometric")
            bad = r["integration_points"] - r["valid_points"]
            table.append([f"{r['slave_facets']:,} / {r['master_facets']:,}",
                          f"{r['integration_points']:,}" + (f" ({bad:,} lost)" if bad else ""),
                          _t(T["update"]), _t(T["closest"]), _t(T["search"]), _t(T["forces"]),
                          _t(T["tangent_nogeo"]), _t(T["tangent"]),
                          f"{100 * geo / T['tangent']['best_s']:.0f} %",
                          f"{T['tangent']['best_s'] / r['slave_facets'] * 1e6:.0f} us", _t(T["merge"])])
        print_table(table, ["slave / master facets", "int. points", "grid update", "closest", "search",
                            "forces", "tangent w/o geo", "tangent", "geo share", "tangent/facet",
                            "merge K+Kc"])
        print()
        table = []
        for r in ok:
            T = r["times"]
            tb, tr, tt = T["bulk_tangent"]["best_s"], T["bulk_residual"]["best_s"], T["tangent"]["best_s"]
            sk = r.get("skfem")
            ts = sk["asm"]["best_s"] if sk else None
            it = tb + tt + T["merge"]["best_s"]
            table.append([f"{r['slave_facets']:,}", f"{r['elements']:,} / {r['dofs']:,}", _t(T["bulk_tangent"]),
                          _t(T["bulk_residual"]), _t(sk["asm"]) if sk else "-",
                          f"{tt / tb:.1f}x", f"{T['forces']['best_s'] / tr:.1f}x",
                          f"{tt / ts:.2f}x" if ts else "-", f"{100 * (tt + T['merge']['best_s']) / it:.0f} %",
                          f"{r['pairs']:,} / {r['active_pairs']:,}", f"{r['contact_matrix']['nnz']:,}",
                          f"{r['contact_matrix']['geo_over_normal']:.3g}",
                          _mib(T["tangent"]["peak_extra_mib"]), _mib(r["peak_rss_mib"])])
        print_table(table, ["slave facets", "elements / DOFs", "bulk K+f", "bulk f", "skfem K",
                            "tangent / bulk K+f", "forces / bulk f", "tangent / skfem K", "contact share of iter",
                            "pairs / active", "nnz Kc", "max Kgeo / max Kn", "tangent peak +MiB",
                            "peak RSS MiB"])
        for r in ok:
            bad = r["integration_points"] - r["valid_points"]
            geo = r["contact_matrix"]["geo_over_normal"]
            why = []
            if bad:
                why.append(f"{bad:,} integration points out of contact although all are pressed in (pressure "
                           f"{r['pressure_MPa'][0]:.3g}-{r['pressure_MPa'][1]:.3g} MPa, uniform expected)")
            if geo > 0.1:
                why.append(f"largest geometric-term entry {geo:.3g}x the largest penalty entry (~0.015 expected)")
            if why:
                passed = False
                print(f"\n** CHECK FAILED at {r['slave_facets']:,} slave facets: " + "; ".join(why))
        ex = exponents(ok)
        if ex:
            print("\nfitted exponent t ~ facets^p: " + ", ".join(f"{PHASES[k]} {v:.2f}" for k, v in ex.items()))
    print("\n(* = every repeat disturbed by other processes; 'contact share of iter' = (tangent + merge) / "
          "(bulk K+f + tangent + merge); skfem K is the small-strain stiffness only; 'lost': integration points the\n"
          "contact dropped although every one is pressed in; max Kgeo / max Kn: largest entry of the geometric term\n"
          "over the largest of the penalty term, ~0.015 here)")
    return passed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["quad4", "tri3"], default="quad4")
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 12000, 50000], help="facets per side")
    ap.add_argument("--subdivision", nargs="+", default=["auto"],
                    help="integration level(s) of the slave facets: auto (SurfaceContact's default) or 0-4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget", type=float, default=10.0, help="seconds after which a phase is not repeated")
    ap.add_argument("--no-skfem", action="store_true", help="skip the scikit-fem peer")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per size (child process)")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="before each size, wait up to SECONDS for the CPUs to go idle (shared machines)")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    ap.add_argument("--_worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._worker:
        size, kind, sub, repeats, skf = args._worker
        worker(int(size), kind, None if sub == "auto" else int(sub), int(repeats), args.budget, skf == "1")
        return 0

    load = machine_load(0.5)
    print(load_note(load))
    info = machine_info()
    print(f"machine: {info['cpus']} CPUs, {info.get('ram_gib', '?')} GiB, Python {info['python']}, "
          f"numpy {info['numpy']}, scipy {info['scipy']}, numba {info['numba']} ({info['numba_threads']} threads), "
          f"scikit-fem {info['skfem']}")
    src = source_state()
    print(f"fesolver: git {src.get('git_head', '?')}" + (f" + uncommitted changes in {', '.join(src['git_dirty'])}"
                                                         if src.get("git_dirty") else "")
          + f"; fesolver/contact sources {src['contact_sources_sha1']}")
    res = {"kind": args.kind, "sizes": args.sizes, "repeats": args.repeats, "budget_s": args.budget,
           "machine": info, "load": load, "source": src, "runs": {}}
    t_all = time.perf_counter()
    for sub in args.subdivision:
        rows = []
        for size in args.sizes:
            waited = wait_idle(args.wait_idle)
            t0 = time.perf_counter()
            r = run_child(["--_worker", str(size), args.kind, sub, str(args.repeats),
                           "0" if args.no_skfem else "1", "--budget", str(args.budget)], args.timeout)
            r.setdefault("size", size)
            r["waited_s"] = waited
            msg = r.get("error") or (f"{r['slave_facets']:,} / {r['master_facets']:,} facets, "
                                     f"tangent {fmt_s(r['times']['tangent']['best_s'])}")
            print(f"  subdivision {sub}, size {size}: {msg}  [{time.perf_counter() - t0:.0f} s]", flush=True)
            rows.append(r)
        res["runs"][sub] = {"rows": rows, "exponents": exponents([r for r in rows if "error" not in r])}
    res["wall_s"] = time.perf_counter() - t_all
    if source_state()["contact_sources_sha1"] != src["contact_sources_sha1"]:
        res["source_changed_during_run"] = True
        print("** WARNING: fesolver/contact changed during the run; the sizes may have measured different code **")
    res["checks_passed"] = report({k: v["rows"] for k, v in res["runs"].items()})
    print(f"total wall time {res['wall_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
        print(f"wrote {args.json}")
    failed = any("error" in r for v in res["runs"].values() for r in v["rows"])
    return 0 if res["checks_passed"] and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
