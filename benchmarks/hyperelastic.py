#!/usr/bin/env python
"""Benchmark: one Newton iteration of a neo-Hookean tet10 model, fesolver vs scikit-fem.

Unit cube, ``n^3`` hexes split into 6 positively oriented tets each, with mid-edge nodes (tet10, VTK order),
``n`` chosen so that the ``3 (2n+1)^3`` DOFs come closest to ``--dofs`` (default 300000). Compressible
neo-Hookean, FEBio form ``W = mu/2 (I1 - 3) - mu ln J + lam/2 (ln J)^2`` (fesolver model 1), E = 1 MPa,
nu = 0.3; 4-point quadrature (degree 2) in both codes. Measured, in one run:

* numba compile: the first call of the finite-strain kernel and the scatter on a one-hex tet10 mesh in this
  process (usually a numba *cache load*) and, unless ``--skip-cold-compile``, in a child process with an
  empty ``NUMBA_CACHE_DIR`` (a true compile);
* at a random smooth displacement state (J > 0 everywhere): the element kernel (residual + tangent,
  ``finite_strain_response``), the scatter into the prebuilt CSR pattern (``add_element_matrices`` +
  ``add_element_vectors``), their sum (the tangent assembly), the residual-only assembly, and the path the
  Newton solver really takes (``FiniteStrainSystem.internal``, and ``K[free][:, free]``);
* scikit-fem (child process, own peak memory): the same energy written as ``BilinearForm`` / ``LinearForm``
  on ``ElementVector(ElementTetP2())``, ``intorder=2`` (the same 4-point rule), in the idiom of scikit-fem's
  hyperelasticity example ``docs/examples/ex36.py`` (the 4th-order tangent tensor built inside the form from
  ``skfem.helpers``), and a faster variant with the tensor computed once and passed in; the child then
  assembles the fesolver tangent and residual on the same mesh and state and compares them through the DOF
  permutation found from the DOF coordinates (max entry difference, ``x.K.y`` for random vectors, energy);
* the linear solve of one Newton iteration of the compression problem below (first iteration of the first
  load step: ``K[free][:, free] du = R``) with ``fesolver.solvers.solve_linear`` as the Newton solver calls it
  (``positive_definite=False``, ``block_size=1``), one child process per method: ``pardiso``, ``amg``, and
  ``amg`` with 3x3 node blocks (``block_size=3``, diagnostic);
* the whole Newton solve (``Problem.solve()``, child process) of the block compressed by 10 %: bottom face
  clamped, top face moved by -0.1 mm in z (x, y held), ``--newton-steps`` equal load steps (default 4),
  linear solver ``--newton-solver`` (default ``auto``), with a breakdown of where the time goes. It runs on
  a smaller mesh, ``--newton-dofs`` (default 75000 -> 73k DOFs; ~10 min on 2 cores): at 300k DOFs it takes
  hours (about 60 iterations of about 2 min each); ``--newton-dofs 300000`` runs it anyway.

If scikit-fem would need more than ``--skfem-time-limit`` s (default 600) or ``--skfem-mem-limit`` GiB
(default 16) at the full size (estimated from a small probe run), it is measured on a smaller mesh, the
ratios are taken against fesolver on that same mesh, and the full-size figures are extrapolated (linearly
in the number of elements) and labelled so.

Usage::

    python benchmarks/hyperelastic.py                         # ~300k DOFs
    python benchmarks/hyperelastic.py --dofs 20000            # quick check
    python benchmarks/hyperelastic.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent / "tests"))
from _common import (  # noqa: E402
    DISTURBED,
    CpuMonitor,
    Timer,
    all_disturbed,
    best_of,
    box_tet_mesh,
    cold_compile,
    compile_worker,
    fmt_s,
    load_note,
    machine_info,
    machine_load,
    numba_cache_stats,
    peak_rss_mib,
    print_table,
    rss_mib,
    wait_idle,
)
from _common import (  # noqa: E402
    run_child as _run_child,
)

E, NU = 1.0, 0.3  # MPa
MODEL = 1  # fesolver kernel id of the compressible neo-Hookean
COMPRESSION = 0.1  # mm, top face of the unit cube
GOAL = 10.0  # scikit-fem tangent assembly / fesolver tangent assembly
TOL_MATRIX = 1e-8
TOL_PRODUCT = 1e-10
SEED = 20240601


def lame():
    return E * NU / ((1 + NU) * (1 - 2 * NU)), E / (2 * (1 + NU))


def divisions_for_dofs(target: int) -> int:
    """Hexes per edge ``n`` whose tet10 mesh (``(2n+1)^3`` nodes) has the DOF count closest to ``target``."""
    return min(range(1, 400), key=lambda n: abs(3 * (2 * n + 1) ** 3 - target))


def tet10_box(n: int):
    """Unit cube, ``n^3`` hexes x 6 tets, with mid-edge nodes: ``points (nn, 3)``, ``conn (6 n^3, 10)``."""
    from meshgen import tet4_to_tet10

    p4, c4 = box_tet_mesh(n, n, n)
    return tet4_to_tet10(p4, c4)


def smooth_displacement(points: np.ndarray, amplitude: float = 0.02, seed: int = SEED) -> np.ndarray:
    """A random smooth displacement field ``(nn, 3)``: a few low-order sine modes with random coefficients."""
    rng = np.random.default_rng(seed)
    u = np.zeros_like(points)
    for _ in range(4):
        k = rng.integers(0, 3, size=3) + rng.random(3)
        phase = rng.random(3) * 2 * np.pi
        c = rng.standard_normal(3)
        arg = np.pi * (points @ k)
        for i in range(3):
            u[:, i] += amplitude * c[i] * np.sin(arg + phase[i])
    return u


def grid_keys(points: np.ndarray, n: int) -> np.ndarray:
    """Integer key of every point of the structured tet10 grid (coordinates are multiples of 1/(2n))."""
    m = 2 * n
    ijk = np.rint(points * m).astype(np.int64)
    assert np.allclose(ijk / m, points, atol=1e-9), "point off the grid"
    return ijk[:, 0] + (m + 1) * (ijk[:, 1] + (m + 1) * ijk[:, 2])


# ----------------------------------------------------------------------------------------------
# numba compile
# ----------------------------------------------------------------------------------------------


def _first_calls() -> float:
    """First pattern build, tangent + residual, scatter, on a one-hex tet10 mesh; returns seconds."""
    from fesolver.assembly import SparsityPattern, finite_strain_response
    from fesolver.elements import TET10

    p, c = tet10_box(1)
    u = smooth_displacement(p)
    t0 = time.perf_counter()
    pat = SparsityPattern(len(p), [c])
    fe, Ke, _, _ = finite_strain_response(p, TET10, c, u, MODEL, (E, NU), want_tangent=True)
    data = pat.zeros()
    pat.add_element_matrices(0, Ke, data)
    f = np.zeros(3 * len(p))
    pat.add_element_vectors(0, fe, f)
    pat.matrix(data)
    return time.perf_counter() - t0


def _cache_stats() -> dict:
    from fesolver.assembly import _kernels as K
    from fesolver.assembly import _kernels_tl as KT

    return numba_cache_stats([KT.residual_tangent_tl, K.gather_matrix, K.gather_vector, K._count_node_neighbors,
                              K._fill_node_neighbors, K._dof_csr_structure, K._element_slots])


# ----------------------------------------------------------------------------------------------
# the compression problem
# ----------------------------------------------------------------------------------------------


def compression_problem(points, conn, steps: int, solver: str = "auto"):
    from fesolver.elements import TET10
    from fesolver.loads import FixedDisplacement, Selection
    from fesolver.materials import NeoHookean
    from fesolver.mesh import Mesh, SolidBlock
    from fesolver.problem import Problem
    from fesolver.solvers import LinearSolverOptions
    from fesolver.solvers.newton import NewtonOptions

    mesh = Mesh(points, [SolidBlock(TET10, conn)])
    eps = 1e-9
    bottom = Selection(box=((-eps, -eps, -eps), (1 + eps, 1 + eps, eps)))
    top = Selection(box=((-eps, -eps, 1 - eps), (1 + eps, 1 + eps, 1 + eps)))
    bcs = [FixedDisplacement(bottom, {0: 0.0, 1: 0.0, 2: 0.0}, name="bottom"),
           FixedDisplacement(top, {0: 0.0, 1: 0.0, 2: -COMPRESSION}, name="top")]
    step = 1.0 / steps
    newton = NewtonOptions(initial_step=step, max_step=step, min_step=min(1e-4, step))
    return Problem(mesh, {"all": NeoHookean(E, NU)}, bcs=bcs, solver=LinearSolverOptions(method=solver),
                   analysis="nonlinear", newton=newton)


# ----------------------------------------------------------------------------------------------
# scikit-fem (child process)
# ----------------------------------------------------------------------------------------------


def _skfem_forms(lam: float, mu: float, nthreads: int = 0):
    """Tangent, residual and energy of ``W = mu/2 (I1-3) - mu ln J + lam/2 (ln J)^2`` as scikit-fem forms.

    ``tangent_example`` builds the 4th-order tangent ``A_ijkl = dP_ij / dF_kl`` inside the form, from
    ``skfem.helpers`` and ``einsum``, as scikit-fem's hyperelasticity example (docs/examples/ex36.py) does;
    ``tangent_pre`` reads the tensor computed once by ``tangent_tensor`` (passed as ``A=``).
    """
    from numpy import einsum, log, zeros_like
    from skfem import BilinearForm, Functional, LinearForm
    from skfem.helpers import det, grad, inv

    def kinematics(w):
        gu = grad(w["w"])
        F = zeros_like(gu)
        for i in range(3):
            F[i, i] += 1.0
        F += gu
        return F, det(F), inv(F)

    def tangent_tensor(w):
        F, J, Finv = kinematics(w)
        eye = zeros_like(F)
        for i in range(3):
            eye[i, i] += 1.0
        lnJ = log(J)
        return (mu * einsum("ik...,jl...->ijkl...", eye, eye)
                + lam * einsum("lk...,ji...->ijkl...", Finv, Finv)
                + (mu - lam * lnJ) * einsum("jk...,li...->ijkl...", Finv, Finv))

    def first_piola(w):
        F, J, Finv = kinematics(w)
        return mu * F + (lam * log(J) - mu) * einsum("ji...->ij...", Finv)

    def tangent_example(u, v, w):
        return einsum("ijkl...,ij...,kl...", tangent_tensor(w), grad(u), grad(v))

    def tangent_pre(u, v, w):
        return einsum("ijkl...,ij...,kl...", w["A"].value, grad(u), grad(v))

    def residual(v, w):
        return einsum("ij...,ij...", first_piola(w), grad(v))

    # nthreads = 0 (the default): no threads, as in the example
    tangent_example = BilinearForm(tangent_example, nthreads=nthreads)
    tangent_pre = BilinearForm(tangent_pre, nthreads=nthreads)
    residual = LinearForm(residual, nthreads=nthreads)

    @Functional
    def energy(w):
        F, J, _ = kinematics(w)
        lnJ = log(J)
        return 0.5 * mu * (einsum("ij...,ij...", F, F) - 3.0) - mu * lnJ + 0.5 * lam * lnJ**2

    return tangent_example, tangent_pre, residual, energy, tangent_tensor


def skfem_worker(n: int, repeats: int, probe: bool, nthreads: int = 0) -> None:
    """Child: scikit-fem assembly on the ``n``-mesh (timed, peak RSS), then fesolver on it and the comparison."""
    base_rss = rss_mib()
    import skfem

    points, conn = tet10_box(n)
    nn = len(points)
    u = smooth_displacement(points)
    lam, mu = lame()
    tangent_example, tangent_pre, residual, energy, tangent_tensor = _skfem_forms(lam, mu, nthreads)
    res = {"n": n, "tets": len(conn), "dofs": 3 * nn, "rss_start_mib": base_rss, "probe": probe,
           "nthreads": nthreads}

    with Timer() as t:
        nn4 = (n + 1) ** 3  # tet4_to_tet10 appends the mid-edge nodes after the corner nodes
        m = skfem.MeshTet(np.ascontiguousarray(points[:nn4].T), np.ascontiguousarray(conn[:, :4].T))
        basis = skfem.Basis(m, skfem.ElementVector(skfem.ElementTetP2()), intorder=2)
    res["basis_s"] = t.s
    # DOF permutation: scikit-fem DOF -> fesolver DOF (3 node + component), from the DOF coordinates
    key = grid_keys(points, n)
    node_of_key = np.full(key.max() + 1, -1, dtype=np.int64)
    node_of_key[key] = np.arange(nn)
    comp = np.empty(basis.N, dtype=np.int64)
    for c in range(3):
        comp[basis.nodal_dofs[c]] = c
        comp[basis.edge_dofs[c]] = c
    s2f = 3 * node_of_key[grid_keys(basis.doflocs.T, n)] + comp
    assert basis.N == 3 * nn and np.array_equal(np.sort(s2f), np.arange(3 * nn)), "DOF maps do not match"
    x = u.ravel()[s2f]

    reps = 1 if probe else repeats

    def timed(fn):
        best = None
        out = None
        for _ in range(reps):
            with CpuMonitor() as mon:
                out = fn()
            if best is None or mon.s < best[0]:
                best = (mon.s, mon.others)
        return best, out

    (res["interpolate_s"], _), _ = timed(lambda: basis.interpolate(x))
    (res["tangent_example_s"], res["tangent_example_others"]), Ks = timed(
        lambda: skfem.asm(tangent_example, basis, w=basis.interpolate(x)))
    res["peak_rss_after_example_mib"] = peak_rss_mib()
    del Ks

    def pre():
        wi = basis.interpolate(x)
        return skfem.asm(tangent_pre, basis, A=tangent_tensor({"w": wi}))

    (res["tangent_pre_s"], res["tangent_pre_others"]), Ks = timed(pre)
    (res["residual_s"], res["residual_others"]), fs = timed(lambda: skfem.asm(residual, basis,
                                                                            w=basis.interpolate(x)))
    res["peak_rss_mib"] = peak_rss_mib()
    if probe:
        print(json.dumps(res))
        return
    res["energy"] = float(energy.assemble(basis, w=basis.interpolate(x)))
    Ks = Ks.tocsr()
    Ks.sum_duplicates()
    basis = m = None  # free scikit-fem's memory before fesolver's

    # fesolver on the same mesh and state
    from fesolver.assembly import SparsityPattern, finite_strain_response
    from fesolver.elements import TET10

    pat = SparsityPattern(nn, [conn])
    fe_buf = np.empty((len(conn), 30))
    Ke_buf = np.empty((len(conn), 30, 30))
    data = pat.zeros()
    f = np.zeros(3 * nn)

    def fes_tangent():
        fe, Ke, en, jmin = finite_strain_response(points, TET10, conn, u, MODEL, (E, NU), fe=fe_buf, Ke=Ke_buf)
        data[:] = 0.0
        f[:] = 0.0
        pat.add_element_matrices(0, Ke, data)
        pat.add_element_vectors(0, fe, f)
        return pat.matrix(data), en, jmin

    fes_tangent()
    (res["fesolver_tangent_s"], res["fesolver_tangent_others"]), (Kf, en, jmin) = timed(fes_tangent)
    res["fesolver_energy"] = float(en.sum())
    res["jmin"] = float(jmin.min())

    # comparison in scikit-fem's DOF order
    Kp = Kf[s2f][:, s2f].tocsr()
    D = (Kp - Ks).tocsr()
    kmax = float(abs(Ks).max())
    res["tangent_rel_max_diff"] = float(abs(D).max() / kmax) if D.nnz else 0.0
    res["tangent_rel_fro_diff"] = float(np.sqrt((D.data**2).sum()) / np.sqrt((Ks.data**2).sum()))
    rng = np.random.default_rng(SEED + 1)
    worst = 0.0
    for _ in range(3):
        a = rng.standard_normal(3 * nn)
        b = rng.standard_normal(3 * nn)
        pf = float(a @ (Kf @ b))
        ps = float(a[s2f] @ (Ks @ b[s2f]))
        worst = max(worst, abs(pf - ps) / abs(ps))
    # a smooth pair too (random vectors mostly probe the diagonal-dominant part)
    a = smooth_displacement(points, 1.0, SEED + 2).ravel()
    b = smooth_displacement(points, 1.0, SEED + 3).ravel()
    pf, ps = float(a @ (Kf @ b)), float(a[s2f] @ (Ks @ b[s2f]))
    res["xKy_smooth_rel_diff"] = abs(pf - ps) / abs(ps)
    res["xKy_random_rel_diff"] = worst
    res["residual_rel_max_diff"] = float(np.abs(f[s2f] - fs).max() / np.abs(fs).max())
    res["energy_rel_diff"] = abs(res["fesolver_energy"] - res["energy"]) / abs(res["energy"])
    res["nnz_skfem"] = int(Ks.nnz)
    res["nnz_fesolver"] = int(Kf.nnz)
    print(json.dumps(res))


def run_child(args_list, timeout=None) -> dict:
    return _run_child(__file__, args_list, timeout, others_key="others_cpus")


# ----------------------------------------------------------------------------------------------
# linear solve of one Newton iteration (child process per method)
# ----------------------------------------------------------------------------------------------

_SOLVE_METHODS = {"pardiso": ("pardiso", 1), "amg": ("amg", 1), "amg-b3": ("amg", 3)}


def solve_worker(method: str, npz: str, xout: str) -> None:
    rss_start = rss_mib()
    from fesolver.solvers import LinearSolverOptions, solve_linear

    backend, bs = _SOLVE_METHODS[method]
    __import__({"pardiso": "pypardiso", "amg": "pyamg"}[backend])
    import scipy.sparse as sp

    d = np.load(npz)
    n = int(d["shape"][0])
    A = sp.csr_matrix((d["data"], d["indices"], d["indptr"]), shape=(n, n))
    b, B = d["b"], d["B"]
    res = {"method": method, "rss_loaded_mib": rss_mib(), "rss_start_mib": rss_start}
    t0 = time.perf_counter()
    # as the Newton solver calls it (fesolver.solvers.newton._step)
    x, info = solve_linear(A, b, LinearSolverOptions(method=backend, positive_definite=False), near_null=B,
                           block_size=bs)
    res.update(seconds=time.perf_counter() - t0, iterations=info.iterations, method_used=info.method,
               relative_residual=float(np.linalg.norm(b - A @ x) / np.linalg.norm(b)), peak_rss_mib=peak_rss_mib())
    np.save(xout, x)
    print(json.dumps(res))


# ----------------------------------------------------------------------------------------------
# whole Newton solve (child process)
# ----------------------------------------------------------------------------------------------


def newton_worker(n: int, steps: int, solver: str) -> None:
    """Child: ``Problem.solve()`` of the compression problem, with a breakdown of where the time goes."""
    import fesolver.nonlinear as NL
    import fesolver.solvers.newton as NW

    points, conn = tet10_box(n)
    t_start = time.perf_counter()
    problem = compression_problem(points, conn, steps, solver)
    acc = {"internal_tangent": [0, 0.0], "internal_residual": [0, 0.0], "solve_linear": [0, 0.0],
           "result_recovery": [0, 0.0]}
    attempts = []
    linear = []
    orig_internal = NL.FiniteStrainSystem.internal
    orig_solve = NW.solve_linear
    orig_result = NL._result
    orig_step = NW._step

    def internal(self, u, want_tangent, *a, **k):
        t0 = time.perf_counter()
        out = orig_internal(self, u, want_tangent, *a, **k)
        slot = acc["internal_tangent" if want_tangent else "internal_residual"]
        slot[0] += 1
        slot[1] += time.perf_counter() - t0
        return out

    def solve(*a, **k):
        t0 = time.perf_counter()
        x, info = orig_solve(*a, **k)
        dt = time.perf_counter() - t0
        acc["solve_linear"][0] += 1
        acc["solve_linear"][1] += dt
        linear.append({"method": info.method, "seconds": dt, "iterations": info.iterations})
        return x, info

    def result(*a, **k):
        t0 = time.perf_counter()
        out = orig_result(*a, **k)
        acc["result_recovery"][0] += 1
        acc["result_recovery"][1] += time.perf_counter() - t0
        return out

    def step(system, u_prev, t, dt, *a, **k):
        t0 = time.perf_counter()
        ok, rec, u, why = orig_step(system, u_prev, t, dt, *a, **k)
        guess = a[6] if len(a) > 6 else k.get("guess")  # the predictor of newer fesolver versions
        attempts.append({"t": t, "dt": dt, "ok": bool(ok), "iterations": len(rec.residuals),
                         "seconds": time.perf_counter() - t0, "why": why, "predictor": guess is not None})
        return ok, rec, u, why

    NL.FiniteStrainSystem.internal = internal
    NW.solve_linear = solve
    NL._result = result
    NW._step = step
    err = None
    r = None
    t0 = time.perf_counter()
    try:
        r = problem.solve()
    except Exception as exc:  # report, do not crash the benchmark
        err = f"{type(exc).__name__}: {exc}"
    total = time.perf_counter() - t0
    res = {"n": n, "tets": len(conn), "dofs": 3 * len(points), "steps_requested": steps, "solver": solver,
           "setup_s": t0 - t_start, "solve_s": total, "error": err,
           "breakdown": {k: {"calls": v[0], "seconds": v[1]} for k, v in acc.items()},
           "attempts": attempts, "linear": linear, "peak_rss_mib": peak_rss_mib()}
    if r is not None:
        res["steps"] = [{"t": s.t, "iterations": s.iterations, "linear_iterations": s.linear_iterations,
                         "seconds": s.seconds, "residuals": s.residuals} for s in r.steps]
        res["iterations"] = int(sum(s.iterations for s in r.steps))
        top = np.flatnonzero(points[:, 2] > 1 - 1e-9)
        res["top_uz_mean"] = float(r.displacement[top, 2].mean())
        res["reactions"] = {k: np.asarray(v).tolist() for k, v in r.reactions.items()}
    print(json.dumps(res))


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dofs", type=int, default=300_000, help="target number of DOFs (default 300000)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of each fesolver timing; best is kept")
    ap.add_argument("--skfem-repeats", type=int, default=1, help="repeats of each scikit-fem timing (default 1)")
    ap.add_argument("--no-skfem", action="store_true", help="skip scikit-fem (no ratios, no comparison)")
    ap.add_argument("--skfem-dofs", type=int, default=None,
                    help="run scikit-fem on a mesh of about this many DOFs (default: the full mesh unless the "
                         "time / memory limits say otherwise)")
    ap.add_argument("--skfem-time-limit", type=float, default=600.0,
                    help="estimated scikit-fem seconds above which a smaller mesh is used (default 600)")
    ap.add_argument("--skfem-mem-limit", type=float, default=16.0,
                    help="estimated scikit-fem GiB above which a smaller mesh is used (default 16)")
    ap.add_argument("--solve-methods", default="pardiso,amg,amg-b3",
                    help="linear solves of one Newton iteration, comma-separated subset of pardiso,amg,amg-b3 "
                         "('' for none)")
    ap.add_argument("--solve-timeout", type=float, default=3600.0, help="per-method time limit [s]")
    ap.add_argument("--newton-dofs", type=int, default=75_000,
                    help="DOFs of the whole Newton solve (default 75000; 0 skips it)")
    ap.add_argument("--newton-steps", type=int, default=4, help="load steps of the Newton solve (default 4)")
    ap.add_argument("--newton-solver", default="auto", help="linear solver of the Newton solve (default auto)")
    ap.add_argument("--newton-timeout", type=float, default=5400.0, help="time limit of the Newton solve [s]")
    ap.add_argument("--skip-cold-compile", action="store_true",
                    help="skip the compile with an empty numba cache (child process)")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="on a shared machine: before each timed phase wait up to SECONDS for the CPUs to be idle")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    ap.add_argument("--_compile-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--skfem-nthreads", type=int, default=0,
                    help="scikit-fem forms' nthreads (default 0: no threads, the forms' default)")
    ap.add_argument("--_skfem-worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--_solve-worker", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_newton-worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._compile_worker:
        compile_worker(_first_calls, _cache_stats)
        return 0
    if args._skfem_worker:
        n, reps, probe, nthreads = args._skfem_worker
        skfem_worker(int(n), int(reps), probe == "1", int(nthreads))
        return 0
    if args._solve_worker:
        solve_worker(*args._solve_worker)
        return 0
    if args._newton_worker:
        n, steps, solver = args._newton_worker
        newton_worker(int(n), int(steps), solver)
        return 0

    rss0 = rss_mib()
    import numba

    from fesolver.assembly import SparsityPattern, finite_strain_response
    from fesolver.elements import TET10
    from fesolver.nonlinear import FiniteStrainSystem

    load = machine_load()
    info = machine_info()
    out: dict = {"machine": info, "load_start": load,
                 "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                          if not k.startswith("_")}}
    n = divisions_for_dofs(args.dofs)
    R = args.repeats
    lam, mu = lame()
    print(f"# fesolver hyperelastic benchmark: unit cube, {n}^3 hexes x 6 tet10, compressible neo-Hookean "
          f"(FEBio form), E={E} MPa, nu={NU}, 4-point quadrature")
    print(f"# {info['cpus']} CPUs, {info.get('ram_gib', '?')} GiB, numba {info['numba']} "
          f"({numba.config.NUMBA_NUM_THREADS} threads), numpy {info['numpy']}, scipy {info['scipy']}, "
          f"scikit-fem {info['skfem']}, pypardiso {info['pypardiso']}, pyamg {info['pyamg']}")
    print(f"# {load_note(load)}", flush=True)

    # -- compile ---------------------------------------------------------------------------------
    warm = _first_calls()
    stats = _cache_stats()
    out["compile"] = {"in_process_first_call_s": warm, **stats}
    how = "cache load" if stats["cache_misses"] == 0 and stats["cache_hits"] > 0 else "compile"
    print(f"\nnumba first call (one-hex tet10 mesh, this process): {fmt_s(warm)}  [{how}: "
          f"{stats['cache_hits']} cache hits, {stats['cache_misses']} misses]", flush=True)
    if not args.skip_cold_compile:
        wait_idle(args.wait_idle)
        cc = cold_compile(__file__)
        out["compile"]["cold"] = cc
        if "error" in cc:
            print(f"numba cold compile: FAILED ({cc['error']})")
        else:
            print(f"numba cold compile (empty NUMBA_CACHE_DIR, child process): first calls "
                  f"{fmt_s(cc['first_calls_s'])} (+ import {fmt_s(cc['import_s'])}; {cc['cache_misses']} "
                  f"cache misses)", flush=True)

    # -- mesh and state --------------------------------------------------------------------------
    with Timer() as t:
        points, conn = tet10_box(n)
    nel, nn = len(conn), len(points)
    u = smooth_displacement(points)
    print(f"\nmesh: {nel:,} tet10, {nn:,} nodes, {3 * nn:,} DOFs (generated in {fmt_s(t.s)})", flush=True)
    out["mesh"] = {"n": n, "tets": nel, "nodes": nn, "dofs": 3 * nn, "generate_s": t.s}

    ph: dict = {}

    def phase(name, fn, repeats=R):
        waited = wait_idle(args.wait_idle)
        best, times, others, res = best_of(fn, repeats)
        ph[name] = {"best_s": best, "times_s": times, "others_cpus": others, "waited_s": waited,
                    "disturbed": all_disturbed(others)}
        return res

    pat = phase("pattern", lambda: SparsityPattern(nn, [conn]))
    fe_buf = np.empty((nel, 30))
    Ke_buf = np.empty((nel, 30, 30))
    data = pat.zeros()
    f = np.zeros(3 * nn)
    params = np.array([E, NU])

    def kernel():
        return finite_strain_response(points, TET10, conn, u, MODEL, params, fe=fe_buf, Ke=Ke_buf)

    def scatter():
        data[:] = 0.0
        f[:] = 0.0
        pat.add_element_matrices(0, Ke_buf, data)
        pat.add_element_vectors(0, fe_buf, f)

    def tangent():
        fe, Ke, en, jmin = finite_strain_response(points, TET10, conn, u, MODEL, params, fe=fe_buf, Ke=Ke_buf)
        data[:] = 0.0
        f[:] = 0.0
        pat.add_element_matrices(0, Ke, data)
        pat.add_element_vectors(0, fe, f)
        return pat.matrix(data), en, jmin

    def residual_kernel():
        return finite_strain_response(points, TET10, conn, u, MODEL, params, want_tangent=False, fe=fe_buf)

    def residual():
        fe, _, en, jmin = finite_strain_response(points, TET10, conn, u, MODEL, params, want_tangent=False,
                                                 fe=fe_buf)
        f[:] = 0.0
        pat.add_element_vectors(0, fe, f)
        return f

    # the very first call on this mesh (fresh memory), then the best of the repeats
    phase("tangent_single", tangent, 1)
    _, en, jmin = tangent()
    assert jmin.min() > 0.0, "the test displacement inverts elements"
    phase("kernel", kernel)
    phase("scatter", scatter)
    phase("tangent", tangent)
    phase("residual_kernel", residual_kernel)
    phase("residual", residual)
    nnz = pat.nnz
    print(f"CSR: {nnz:,} stored entries ({nnz / (3 * nn):.0f} per row), indices {pat.indices.dtype}; "
          f"element-matrix buffer {Ke_buf.nbytes / 2**20:,.0f} MiB; state: det F in [{jmin.min():.3f}, "
          f"{jmin.max():.3f}] (min per element)", flush=True)

    # -- the Newton solver's own path, on the compression problem ----------------------------------
    problem = compression_problem(points, conn, args.newton_steps)
    system = FiniteStrainSystem(problem)
    free = np.flatnonzero(~np.isin(np.arange(3 * nn), system.fixed_dofs))
    t1 = 1.0 / args.newton_steps
    while True:  # the first iteration of the first load step (shorter if that inverts elements)
        u0 = np.zeros(3 * nn)
        u0[system.fixed_dofs] = system.fixed_values(t1)
        _, _, ok = system.internal(u0, False)
        if ok or t1 < 1e-3:
            break
        t1 *= 0.5
    phase("internal_tangent", lambda: system.internal(u0, True))
    phase("internal_residual", lambda: system.internal(u0, False))
    f_int, Kn, _ = system.internal(u0, True)
    Kff = phase("condense", lambda: Kn[free][:, free])
    Rf = (system.external(t1) - f_int)[free]
    B = system.near_null(free)
    peak_fe = peak_rss_mib()
    out["fesolver"] = {"phases": ph, "nnz": nnz, "peak_rss_mib": peak_fe, "rss_start_mib": rss0,
                       "energy": float(en.sum()), "jmin": float(jmin.min()), "newton_first_t": t1}
    Kn = None
    Ke_buf = fe_buf = data = None

    # -- scikit-fem --------------------------------------------------------------------------------
    sk = None
    sk_note = ""
    if not args.no_skfem:
        n_sk = n
        if args.skfem_dofs:
            n_sk = divisions_for_dofs(args.skfem_dofs)
            sk_note = f"--skfem-dofs {args.skfem_dofs}"
        else:
            n_probe = min(n, max(2, divisions_for_dofs(15_000)))
            print(f"scikit-fem: probe run on {6 * n_probe**3:,} tets ...", flush=True)
            pr = run_child(["--_skfem-worker", str(n_probe), "1", "1", str(args.skfem_nthreads)], timeout=3600)
            out["skfem_probe"] = pr
            if "error" in pr:
                print(f"  probe FAILED: {pr['error']}")
            elif n_probe < n:
                scale = nel / pr["tets"]
                est_s = scale * (pr["basis_s"] + pr["interpolate_s"] + pr["tangent_example_s"]
                                 + pr["tangent_pre_s"] + pr["residual_s"])
                est_gib = scale * (pr["peak_rss_mib"] - pr["rss_start_mib"]) / 1024 + pr["rss_start_mib"] / 1024
                out["skfem_estimate_full"] = {"seconds": est_s, "gib": est_gib}
                print(f"  estimate at the full size: {fmt_s(est_s)}, {est_gib:.1f} GiB", flush=True)
                if est_s > args.skfem_time_limit or est_gib > args.skfem_mem_limit:
                    f_fit = min(args.skfem_time_limit / est_s, args.skfem_mem_limit / est_gib)
                    n_sk = max(n_probe, int((f_fit * nel / 6) ** (1 / 3)))
                    sk_note = (f"estimated {fmt_s(est_s)} / {est_gib:.1f} GiB at the full size > limits "
                               f"{args.skfem_time_limit:.0f} s / {args.skfem_mem_limit:.0f} GiB")
        waited = wait_idle(args.wait_idle)
        print(f"scikit-fem: assembling on {6 * n_sk**3:,} tets in a child process ..."
              + (f" (waited {waited:.0f} s for idle CPUs)" if waited >= 1 else ""), flush=True)
        sk = run_child(["--_skfem-worker", str(n_sk), str(args.skfem_repeats), "0", str(args.skfem_nthreads)],
                       timeout=4 * 3600)
        if "error" in sk:
            print(f"  scikit-fem FAILED: {sk['error']}\n{sk.get('stderr', '')}")
            sk = None
        else:
            sk["note"] = sk_note
            out["skfem"] = sk

    # -- linear solves of one Newton iteration -----------------------------------------------------
    solves = []
    methods = [m for m in args.solve_methods.split(",") if m]
    if methods:
        with tempfile.TemporaryDirectory(prefix="fesolver-bench-") as tmp:
            tmp = Path(tmp)
            npz = tmp / "system.npz"
            np.savez(npz, data=Kff.data, indices=Kff.indices, indptr=Kff.indptr, shape=np.array(Kff.shape),
                     b=Rf, B=B)
            for m in methods:
                if m not in _SOLVE_METHODS:
                    print(f"unknown solve method {m!r} skipped")
                    continue
                waited = wait_idle(args.wait_idle)
                print(f"linear solve of one Newton iteration: {m} ...", flush=True)
                r = run_child(["--_solve-worker", m, str(npz), str(tmp / f"x_{m}.npy")], timeout=args.solve_timeout)
                r.setdefault("method", m)
                if "error" not in r:
                    r["x"] = np.load(tmp / f"x_{m}.npy")
                else:
                    print(f"  {m}: FAILED: {r['error']}")
                solves.append(r)
    ref = next((r for r in solves if "x" in r and r["method"] == "pardiso"), None)
    for r in solves:
        if "x" in r:
            r["rel_diff_to_pardiso"] = (float(np.linalg.norm(r["x"] - ref["x"]) / np.linalg.norm(ref["x"]))
                                        if ref else None)
    out["linear_solves"] = [{k: v for k, v in r.items() if k != "x"} for r in solves]
    out["newton_system"] = {"free_dofs": int(Kff.shape[0]), "nnz": int(Kff.nnz), "t": t1}
    nfree, nnz_free = Kff.shape[0], Kff.nnz
    Kff = Rf = B = system = problem = None

    # -- whole Newton solve ------------------------------------------------------------------------
    nw = None
    nd = args.newton_dofs
    if nd:
        n_nw = divisions_for_dofs(nd)
        waited = wait_idle(args.wait_idle)
        print(f"Newton solve of the compression problem ({3 * (2 * n_nw + 1) ** 3:,} DOFs, {args.newton_steps} "
              f"load steps, solver {args.newton_solver}) in a child process ...", flush=True)
        nw = run_child(["--_newton-worker", str(n_nw), str(args.newton_steps), args.newton_solver],
                       timeout=args.newton_timeout)
        out["newton"] = nw

    # -- report ------------------------------------------------------------------------------------
    def tb(name):
        return ph[name]["best_s"]

    def other(name):
        o = ph[name]["others_cpus"]
        return f"{min(o):.2f}" + (" *" if ph[name]["disturbed"] else "")

    same_size = sk is not None and sk["n"] == n
    # scikit-fem's tangent assembly = interpolate the state + asm(tangent form)
    if sk:
        sk_tan = sk["interpolate_s"] + sk["tangent_example_s"]
        sk_pre = sk["interpolate_s"] + sk["tangent_pre_s"]
        sk_res = sk["interpolate_s"] + sk["residual_s"]
        fes_tan_same = tb("tangent") if same_size else sk["fesolver_tangent_s"]
        scale = 1.0 if same_size else nel / sk["tets"]

    def ratio(x_sk, x_fe):
        return f"{x_sk / x_fe:,.1f}x"

    rows = [
        ["numba first call, this process (tiny mesh)", fmt_s(warm), "-", "-"],
    ]
    cc = out["compile"].get("cold")
    if cc and "error" not in cc:
        rows.append(["numba cold compile (empty cache, child)", fmt_s(cc["first_calls_s"]), "-", "-"])
    rows += [
        ["pattern build (SparsityPattern, once per mesh)", fmt_s(tb("pattern")), "-", other("pattern")],
        ["element kernel: residual + tangent", fmt_s(tb("kernel")), "-", other("kernel")],
        ["scatter into prebuilt CSR (matrix + vector)", fmt_s(tb("scatter")), "-", other("scatter")],
        ["tangent assembly total (kernel + scatter + CSR)", fmt_s(tb("tangent")),
         ratio(sk_tan * scale, tb("tangent")) if sk else "-", other("tangent")],
        ["  the single first call on this mesh", fmt_s(tb("tangent_single")), "-", other("tangent_single")],
        ["residual-only kernel", fmt_s(tb("residual_kernel")), "-", other("residual_kernel")],
        ["residual-only assembly (kernel + scatter)", fmt_s(tb("residual")),
         ratio(sk_res * scale, tb("residual")) if sk else "-", other("residual")],
        ["Newton path: FiniteStrainSystem.internal(u, True)", fmt_s(tb("internal_tangent")), "-",
         other("internal_tangent")],
        ["Newton path: FiniteStrainSystem.internal(u, False)", fmt_s(tb("internal_residual")), "-",
         other("internal_residual")],
        ["Newton path: K[free][:, free]", fmt_s(tb("condense")), "-", other("condense")],
    ]
    print(f"\n## fesolver, {nel:,} tet10 / {3 * nn:,} DOFs (best of {R}; ratio = scikit-fem time / fesolver time"
          + ("" if same_size or not sk else ", scikit-fem extrapolated") + ")\n")
    print_table(rows, ["phase", "time", "scikit-fem / this", "other CPUs"])
    print(f"other CPUs = CPUs used by other processes during the best repeat (* = every repeat disturbed, > "
          f"{DISTURBED} CPUs: rerun on a quiet machine). Peak RSS of this process {peak_fe:,.0f} MiB.")

    goals = {}
    if sk:
        lab = "" if same_size else f" (measured on {sk['tets']:,} tets / {sk['dofs']:,} DOFs)"
        o_ex = sk["tangent_example_others"]
        rows = [
            ["Basis(MeshTet, ElementVector(ElementTetP2()), intorder=2)", fmt_s(sk["basis_s"]), "-"],
            ["basis.interpolate(state)", fmt_s(sk["interpolate_s"]), "-"],
            ["asm(tangent), ex36 idiom (tensor built in the form)", fmt_s(sk["tangent_example_s"]),
             f"{o_ex:.2f}" + (" *" if o_ex > DISTURBED else "")],
            ["asm(tangent), tensor precomputed once and passed in", fmt_s(sk["tangent_pre_s"]),
             f"{sk['tangent_pre_others']:.2f}"],
            ["asm(residual) (LinearForm)", fmt_s(sk["residual_s"]), f"{sk['residual_others']:.2f}"],
            ["fesolver tangent assembly, same mesh, same child", fmt_s(sk["fesolver_tangent_s"]),
             f"{sk['fesolver_tangent_others']:.2f}"],
        ]
        thr = ("single thread (the forms' default, nthreads=0)" if not sk["nthreads"]
               else f"forms with nthreads={sk['nthreads']}")
        print(f"\n## scikit-fem {info['skfem']}{lab}, {thr}\n")
        print_table(rows, ["phase", "time", "other CPUs"])
        print(f"peak RSS of the scikit-fem process {sk['peak_rss_mib']:,.0f} MiB (after the example-form "
              f"tangent {sk['peak_rss_after_example_mib']:,.0f} MiB); child wall time {fmt_s(sk['process_wall_s'])}")
        if not same_size:
            print(f"scikit-fem was run on a smaller mesh: {sk['note']}. Extrapolated to {nel:,} tets "
                  f"(x{scale:.2f}, linear in elements): tangent (ex36 idiom) {fmt_s(sk_tan * scale)}, "
                  f"tangent (precomputed) {fmt_s(sk_pre * scale)}, residual {fmt_s(sk_res * scale)} "
                  f"-- EXTRAPOLATED")
        ok = (sk["tangent_rel_max_diff"] < TOL_MATRIX and sk["xKy_random_rel_diff"] < TOL_PRODUCT
              and sk["xKy_smooth_rel_diff"] < TOL_PRODUCT and sk["residual_rel_max_diff"] < TOL_MATRIX
              and sk["energy_rel_diff"] < TOL_MATRIX)
        out["agree"] = bool(ok)
        print(f"agreement ({'YES' if ok else 'NO'}), fesolver vs scikit-fem after the DOF permutation: tangent "
              f"max|dK|/max|K| {sk['tangent_rel_max_diff']:.1e} (Frobenius {sk['tangent_rel_fro_diff']:.1e}); "
              f"x.K.y random {sk['xKy_random_rel_diff']:.1e}, smooth {sk['xKy_smooth_rel_diff']:.1e}; residual "
              f"max|df|/max|f| {sk['residual_rel_max_diff']:.1e}; energy {sk['energy_rel_diff']:.1e}; "
              f"nnz {sk['nnz_fesolver']:,} (fesolver) vs {sk['nnz_skfem']:,} (scikit-fem)")

        r_ex = sk_tan / fes_tan_same
        r_pre = sk_pre / fes_tan_same
        goals = {"ratio_example_form": r_ex, "ratio_precomputed": r_pre,
                 "ratio_residual": sk_res * scale / tb("residual"),
                 "pass_example_form": r_ex >= GOAL, "pass_precomputed": r_pre >= GOAL, "same_mesh": same_size}
        out["goals"] = goals
        where = "same mesh, same run" if same_size else f"on the scikit-fem mesh ({sk['tets']:,} tets), same run"
        print(f"\n## Goal: fesolver's hyperelastic tangent assembly >= {GOAL:.0f}x faster than scikit-fem ({where})\n")
        print_table([
            ["vs scikit-fem example form (ex36 idiom)", f"{fmt_s(sk_tan)} / {fmt_s(fes_tan_same)}", f"{r_ex:,.1f}x",
             "PASS" if r_ex >= GOAL else "MISS"],
            ["vs scikit-fem, tensor precomputed (stricter)", f"{fmt_s(sk_pre)} / {fmt_s(fes_tan_same)}",
             f"{r_pre:,.1f}x", "PASS" if r_pre >= GOAL else "MISS"],
        ], ["comparison", "scikit-fem / fesolver", "ratio", "result"], ["<", ">", ">", "<"])

    if solves:
        rows = []
        for r in solves:
            if "error" in r:
                rows.append([r["method"], "FAILED: " + r["error"][:60], "-", "-", "-", "-", "-"])
                continue
            d = r.get("rel_diff_to_pardiso")
            rows.append([r["method"] + (" (block_size=3)" if r["method"] == "amg-b3" else ""), fmt_s(r["seconds"]),
                         r["iterations"] or "-", f"{r['relative_residual']:.1e}",
                         "ref" if r is ref else (f"{d:.1e}" if d is not None else "-"),
                         f"{r['peak_rss_mib']:,.0f}",
                         f"{r['others_cpus']:.2f}" + (" *" if r["others_cpus"] > DISTURBED else "")])
        print(f"\n## Linear solve of one Newton iteration ({nfree:,} free DOFs, {nnz_free:,} stored entries; "
              f"first iteration of the step to t={t1:g})\n")
        print_table(rows, ["method", "time", "iterations", "rel. residual", "rel. diff to pardiso",
                           "peak RSS [MiB]", "other CPUs"])
        print("time = wall time of solve_linear as the Newton solver calls it (positive_definite=False; block_size=1"
              " unless stated), factorization / AMG setup included; AMG-CG rtol 1e-8.")
        okr = [r for r in solves if "error" not in r]
        if okr:
            best = min(okr, key=lambda r: r["seconds"])
            est = tb("internal_tangent") + tb("condense") + best["seconds"] + tb("internal_residual")
            out["newton_iteration_estimate_s"] = est
            print(f"one Newton iteration ~ internal(u, True) {fmt_s(tb('internal_tangent'))} + K[free][:, free] "
                  f"{fmt_s(tb('condense'))} + {best['method']} {fmt_s(best['seconds'])} + one line-search residual "
                  f"{fmt_s(tb('internal_residual'))} = {fmt_s(est)}")
            auto = "pardiso" if nfree <= 100_000 else "amg"  # LinearSolverOptions(method="auto") picks this
            r_auto = next((r for r in okr if r["method"] == auto), None)
            if r_auto is not None and r_auto is not best:
                est_auto = est - best["seconds"] + r_auto["seconds"]
                out["newton_iteration_estimate_auto_s"] = est_auto
                print(f"  with {auto} (what method 'auto' picks for {nfree:,} unknowns): {fmt_s(est_auto)}")

    if nw:
        print()
        if "error" in nw and "solve_s" not in nw:
            print(f"## Newton solve: FAILED ({nw['error']})")
        else:
            bd = nw["breakdown"]
            acc = sum(v["seconds"] for v in bd.values())
            fails = [a for a in nw["attempts"] if not a["ok"]]
            print(f"## Newton solve: compression by {COMPRESSION / 1.0:.0%} of the {nw['tets']:,}-tet10 block "
                  f"({nw['dofs']:,} DOFs), {nw['steps_requested']} load steps, linear solver {nw['solver']}\n")
            rows = [["Problem.solve() total", fmt_s(nw["solve_s"]), "-"]]
            for k, lab in (("internal_tangent", "internal forces + tangent (Newton iterations)"),
                           ("internal_residual", "internal forces only (line search, results)"),
                           ("solve_linear", "solve_linear"),
                           ("result_recovery", "result recovery (stress, strain)")):
                rows.append([f"  {lab}", fmt_s(bd[k]["seconds"]), bd[k]["calls"]])
            rows.append(["  rest (K[free][:, free], triu/BSR conversions, setup, ...)", fmt_s(nw["solve_s"] - acc),
                         "-"])
            print_table(rows, ["part", "time", "calls"])
            if nw.get("error"):
                print(f"FAILED: {nw['error']}")
            else:
                its = [s["iterations"] for s in nw["steps"]]
                lits = [s["linear_iterations"] for s in nw["steps"]]
                print(f"converged: {len(its)} steps, Newton iterations per step {its} (total {sum(its)}), "
                      f"linear (CG) iterations per step {lits}; mean top u_z {nw['top_uz_mean']:.4f} mm; "
                      f"reactions {', '.join(f'{k}: {np.round(v, 5).tolist()}' for k, v in nw['reactions'].items())}")
            if fails:
                print(f"step attempts that failed and were cut back: {len(fails)} -- "
                      + "; ".join(f"t={a['t']:.4g} (dt={a['dt']:.3g}): {a['why']}" for a in fails[:4]))
            lin = nw["linear"]
            if lin:
                print(f"linear solves: {len(lin)}, method {lin[0]['method']}, {fmt_s(min(x['seconds'] for x in lin))}"
                      f" - {fmt_s(max(x['seconds'] for x in lin))} each")
            print(f"peak RSS of the Newton process {nw['peak_rss_mib']:,.0f} MiB; other CPUs during the solve "
                  f"{nw['others_cpus']:.2f}" + (" (disturbed)" if nw["others_cpus"] > DISTURBED else ""))
            est_it = out.get("newton_iteration_estimate_auto_s", out.get("newton_iteration_estimate_s"))
            if nw["dofs"] != 3 * nn and est_it and lin:
                est_total = len(lin) * est_it
                out["newton_full_size_estimate_s"] = est_total
                print(f"EXTRAPOLATED, not measured: the same {len(lin)} Newton iterations (failed attempts included) "
                      f"at {3 * nn:,} DOFs, at ~{fmt_s(est_it)} per iteration (above), would take "
                      f"~{fmt_s(est_total)}; a lower bound, since the iteration count grows with refinement")

    out["load_end"] = machine_load(0.2)
    print(f"\n# at the end: {load_note(out['load_end'])}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float))
        print(f"figures written to {args.json}")
    bad = (sk is not None and not out.get("agree", True))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
