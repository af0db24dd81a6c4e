"""Sparse linear solvers for stiffness systems (symmetric; unsymmetric for frictional contact).

Methods
-------
``pardiso``
    MKL PARDISO through pypardiso (Cholesky on the upper triangle). Fastest direct solver measured here.
``cholmod``
    CHOLMOD through scikit-sparse, where installed.
``scipy``
    SuperLU (``scipy.sparse.linalg.spsolve``), always available; slow and memory-hungry past ~50k DOFs.
``amg``
    Conjugate gradients preconditioned by pyamg smoothed aggregation, with the six rigid-body modes as
    near-null space (3x3 node blocks). The method of choice for large meshes.
``auto``
    The best available direct solver up to ``direct_limit`` unknowns (positive-definite matrices) or
    :data:`INDEFINITE_DIRECT_LIMIT` (Newton tangents, which may be indefinite), ``amg`` above.

Precision (PARDISO): ``double`` factorises in double precision; ``mixed`` factorises in single precision (half
the memory, about half the factorisation time) and solves in double precision by GMRES preconditioned with the
single-precision factors, to ``rtol`` (at most :data:`MIXED_MAXITER` iterations, else it falls back to a
double-precision factorisation). ``auto`` (default) is ``mixed`` for Newton tangents of at least
:data:`MIXED_PRECISION_MIN` unknowns, symmetric (Bunch-Kaufman) or unsymmetric (frictional contact: LU), ``double``
otherwise. (The symmetric part's factors are no preconditioner for a frictional tangent: on the medium foot with
skin friction GMRES did not reach the tolerance in 60 iterations and fell back to a double-precision LU.)

Reusing factors (``reuse_rtol`` > 0, mixed precision only): Newton's tangents change little from one iteration to
the next, so before factorising a tangent the solver tries GMRES preconditioned by the factors it already holds (the
previous tangent of the same sparsity pattern) for at most :data:`REUSE_MAXITER` iterations; when that reaches the
relative residual ``reuse_rtol`` (Newton passes an Eisenstat-Walker forcing term, loose far from the solution and
tight near it) the factorisation is skipped. Otherwise the tangent is factorised and solved to ``rtol`` as above.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import SolverError

__all__ = [
    "LinearSolverOptions",
    "LinearSolveInfo",
    "available_methods",
    "rigid_body_modes",
    "solve_linear",
    "METHODS",
    "PRECISIONS",
]

log = logging.getLogger(__name__)

METHODS = ("auto", "pardiso", "cholmod", "scipy", "amg")
PRECISIONS = ("auto", "double", "mixed")


@dataclass(frozen=True)
class LinearSolverOptions:
    """Options of :func:`solve_linear`.

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    rtol : float
        Relative residual tolerance of the iterative solver (``||b - A x|| <= rtol ||b||``).
    maxiter : int
        Iteration limit of the iterative solver.
    direct_limit : int
        ``auto`` uses a direct solver up to this many unknowns.
    positive_definite : bool
        The matrix is known to be positive definite (Cholesky for PARDISO); ``False`` (Newton tangents,
        which can be indefinite) uses PARDISO's symmetric-indefinite factorisation.
    symmetric : bool
        ``False``: the matrix is unsymmetric (see above).
    precision : str
        One of :data:`PRECISIONS` (see above).
    """

    method: str = "auto"
    rtol: float = 1e-8
    maxiter: int = 2000
    direct_limit: int = 100_000
    positive_definite: bool = True
    #: ``False`` for an unsymmetric matrix (frictional contact tangents): PARDISO's unsymmetric LU
    #: (mtype 11), SuperLU, or AMG-preconditioned GMRES; CHOLMOD is replaced by SuperLU
    symmetric: bool = True
    precision: str = "auto"
    #: accept a solve preconditioned by the factors of an earlier matrix (no new factorisation) when GMRES reaches
    #: this relative residual in :data:`REUSE_MAXITER` iterations; 0 = always factorise (mixed precision only)
    reuse_rtol: float = 0.0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"linear solver method must be one of {METHODS}, got {self.method!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"linear solver precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not (0.0 < self.rtol < 1.0):
            raise ValueError(f"rtol must be in (0, 1), got {self.rtol}")
        if not (0.0 <= self.reuse_rtol < 1.0):
            raise ValueError(f"reuse_rtol must be in [0, 1), got {self.reuse_rtol}")
        if self.maxiter < 1:
            raise ValueError(f"maxiter must be >= 1, got {self.maxiter}")


@dataclass
class LinearSolveInfo:
    """What a solve did: method used, unknowns, iterations (0 for direct), relative residual, seconds, and whether
    factors held from an earlier matrix served instead of a new factorisation (``reused_factors``; mixed precision
    with ``LinearSolverOptions.reuse_rtol``, method ``"pardiso-mixed-reused"``)."""

    method: str
    n_unknowns: int
    iterations: int
    relative_residual: float
    seconds: float
    reused_factors: bool = False

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def available_methods() -> list[str]:
    """Methods usable on this machine, best direct solver first."""
    out = []
    if _has("pypardiso"):
        out.append("pardiso")
    if _has("sksparse"):
        out.append("cholmod")
    out.append("scipy")
    if _has("pyamg"):
        out.append("amg")
    return out


def rigid_body_modes(points: np.ndarray) -> np.ndarray:
    """The six rigid-body modes ``(3 nn, 6)`` (three translations, three rotations about the centroid)."""
    x = np.asarray(points, dtype=np.float64)
    x = x - x.mean(axis=0)
    n = x.shape[0]
    B = np.zeros((n, 3, 6))
    for i in range(3):
        B[:, i, i] = 1.0
    # rotations: omega x r
    B[:, 1, 3], B[:, 2, 3] = -x[:, 2], x[:, 1]  # about x
    B[:, 0, 4], B[:, 2, 4] = x[:, 2], -x[:, 0]  # about y
    B[:, 0, 5], B[:, 1, 5] = -x[:, 1], x[:, 0]  # about z
    return B.reshape(3 * n, 6)


_PARDISO: dict[int, object] = {}


def _pardiso(mtype: int):
    """One PARDISO handle per matrix type (creating one searches for the MKL library: ~0.3 s)."""
    if mtype not in _PARDISO:
        import pypardiso

        _PARDISO[mtype] = pypardiso.PyPardisoSolver(mtype=mtype)
    return _PARDISO[mtype]


_PARDISO_PATTERN: dict[int, tuple] = {}


def _pardiso_solve(solver, A, b):
    """Solve with PARDISO, reusing the symbolic analysis (ordering, fill-in) of the previous matrix of the same
    type when the sparsity pattern is the same (phase 23: numerical factorisation and solve only). Newton's
    tangents keep their pattern from iteration to iteration (unless contact couples new nodes), and the
    analysis is about half the cost of a factorisation of a 10k-DOF tangent. Any error frees everything, so
    the next call starts afresh."""
    mtype = solver.mtype
    key = (A.shape[0], A.indptr.tobytes(), A.indices.tobytes())
    same = _PARDISO_PATTERN.get(mtype) == key
    try:
        if not same:
            if mtype in _PARDISO_PATTERN:
                solver.free_memory(everything=True)
                del _PARDISO_PATTERN[mtype]
            return_x = solver.solve(A, b)  # phase 13: analysis, factorisation, solve
            _PARDISO_PATTERN[mtype] = key
            return return_x
        solver._check_A(A)
        b = solver._check_b(A, b)
        solver.set_phase(23)
        try:
            return solver._call_pardiso(A, b)
        finally:
            solver.set_phase(13)
    except Exception:
        _PARDISO_PATTERN.pop(mtype, None)
        solver.free_memory(everything=True)
        raise


#: ``precision = "auto"`` factorises Newton tangents (``positive_definite=False``) of at least this many
#: unknowns in single precision (see the module docstring). Measured on the medium foot's tangent (185k unknowns,
#: one thread, December 2026): factorisation 33.5 s in double, 16.1 s in single precision; the single-precision
#: solve alone left a relative residual of 1.8e-3, GMRES preconditioned by it reached 2e-7 in 19 iterations (5.1 s).
#: The medium knee (51k unknowns, factorisation about 1 s) was slower with it: 515 s against 306 s in double
#: precision (same 5 steps, results equal to 1e-9; one thread, machine shared), hence the threshold above it.
#: Unsymmetric (frictional) tangents since December 2026: the medium foot standing on skin friction 0.46 (192k
#: unknowns, two threads, quiet machine) took 24.4-24.6 s per Newton iteration with a double-precision LU (its first
#: two load steps, 48 iterations) and 16.7 s with the single-precision LU and GMRES (the next two, 50 iterations).
MIXED_PRECISION_MIN = 100_000
#: GMRES iterations of a mixed-precision solve before it falls back to a double-precision factorisation
MIXED_MAXITER = 60
#: ... in this many restart cycles
MIXED_CYCLES = 3

_SINGLE: dict[int, object] = {}
_SINGLE_PATTERN: dict[int, tuple] = {}


def _pardiso_single(mtype: int):
    """A PARDISO handle factorising in single precision (``iparm(28) = 1``): every parameter set explicitly
    (``iparm(1) = 1``) to MKL's defaults: nested-dissection ordering, no internal refinement (GMRES refines);
    symmetric matrices: pivot perturbation 1e-8, Bunch-Kaufman pivoting for the indefinite case; unsymmetric
    (``mtype`` 11): pivot perturbation 1e-13, scaling and weighted matching (MKL's defaults for that type)."""
    if mtype not in _SINGLE:
        import pypardiso

        solver = pypardiso.PyPardisoSolver(mtype=mtype)
        solver.iparm[:] = 0
        solver.iparm[0] = 1  # parameters given here, not MKL's defaults
        solver.iparm[1] = 2  # METIS nested dissection
        if mtype == 11:
            solver.iparm[9] = 13  # pivot perturbation 1e-13
            solver.iparm[10] = 1  # scaling ...
            solver.iparm[12] = 1  # ... and weighted matching
        else:
            solver.iparm[9] = 8  # pivot perturbation 1e-8
            solver.iparm[20] = 1  # Bunch-Kaufman pivoting (symmetric indefinite)
        solver.iparm[27] = 1  # single precision: the matrix and vectors are float32
        _SINGLE[mtype] = solver
    return _SINGLE[mtype]


#: GMRES iterations preconditioned by an earlier matrix's factors before the current matrix is factorised
#: (``reuse_rtol``)
REUSE_MAXITER = 15

_SINGLE_MATRIX: dict[int, sp.csr_matrix] = {}


def _single_preconditioner(solver, U32):
    """The single-precision factors held by ``solver`` (of the float32 upper triangle ``U32``) as a linear
    operator in double precision."""

    def precondition(r):
        return solver._call_pardiso(U32, np.asarray(r, dtype=np.float32).ravel()).astype(np.float64)

    return spla.LinearOperator(U32.shape, matvec=precondition, dtype=np.float64)


def _gmres(A, b, M, rtol, restart, cycles):
    """``(x, converged, iterations)``: GMRES on ``A x = b`` preconditioned by ``M``, restarted every ``restart``
    iterations, at most ``cycles`` cycles."""
    count = [0]

    def cb(_r):
        count[0] += 1

    x, code = spla.gmres(A, b, rtol=rtol, atol=0.0, restart=restart, maxiter=cycles, M=M, callback=cb,
                         callback_type="pr_norm")
    return x, code == 0, count[0]


def _mixed_solve(U: sp.csr_matrix, A: sp.csr_matrix, b: np.ndarray, mtype: int, rtol: float,
                 reuse_rtol: float = 0.0):
    """``(x, iterations, reused)`` of ``A x = b`` by GMRES preconditioned with single-precision PARDISO factors:
    first, when ``reuse_rtol`` > 0, those already held for a matrix of the same sparsity pattern (``reused`` =
    True when that reached ``reuse_rtol``); else the factors of ``U`` (the upper triangle of ``A``), to ``rtol``.
    ``x`` is None when GMRES did not reach ``rtol``."""
    solver = _pardiso_single(mtype)
    key = (U.shape[0], U.indptr.tobytes(), U.indices.tobytes())
    same = _SINGLE_PATTERN.get(mtype) == key
    iterations = 0
    try:
        if same and reuse_rtol > 0.0 and mtype in _SINGLE_MATRIX:
            solver.set_phase(33)
            x, ok, iterations = _gmres(A, b, _single_preconditioner(solver, _SINGLE_MATRIX[mtype]),
                                       max(reuse_rtol, rtol), REUSE_MAXITER, 1)
            if ok:
                return x, iterations, True
        U32 = sp.csr_matrix((U.data.astype(np.float32), U.indices, U.indptr), shape=U.shape)
        if not same and mtype in _SINGLE_PATTERN:
            solver.free_memory(everything=True)
            del _SINGLE_PATTERN[mtype]
        solver.set_phase(22 if same else 12)  # (analysis and) factorisation
        solver._call_pardiso(U32, np.zeros(U.shape[0], dtype=np.float32))
        _SINGLE_PATTERN[mtype] = key
        _SINGLE_MATRIX[mtype] = U32
        solver.set_phase(33)
        # restarted: GMRES judges convergence on its own estimate of the residual, which the single-precision
        # rounding of the preconditioner spoils near the tolerance; a restart starts again from the true one
        x, ok, its = _gmres(A, b, _single_preconditioner(solver, U32), rtol, max(1, MIXED_MAXITER // MIXED_CYCLES),
                            MIXED_CYCLES)
        iterations += its
    except Exception:
        _free_single(mtype)
        raise
    finally:
        solver.set_phase(13)
    return (x if ok else None), iterations, False


def _free_single(mtype: int) -> None:
    """Forget the single-precision factors of ``mtype`` (the next mixed solve factorises afresh)."""
    _SINGLE_PATTERN.pop(mtype, None)
    _SINGLE_MATRIX.pop(mtype, None)
    if mtype in _SINGLE:
        _SINGLE[mtype].free_memory(everything=True)


def _precision(n: int, opts: LinearSolverOptions) -> str:
    if opts.precision != "auto":
        return opts.precision
    return "mixed" if (not opts.positive_definite and n >= MIXED_PRECISION_MIN) else "double"


#: ``auto`` keeps a direct solver up to this many unknowns for matrices not known to be positive definite (Newton
#: tangents: ``positive_definite=False``). Conjugate gradients need a positive-definite matrix, and a tangent
#: with contact, nearly incompressible tissue and bone 10^6 times stiffer than fat defeats smoothed-aggregation
#: AMG: on the medium foot's first tangent (185k unknowns) AMG-CG ended 300 iterations (59 s) at a relative
#: residual of 1.3, while PARDISO factorised it in 11.4 s (1.4 GB of factors; the fine foot, 502k unknowns, peaked
#: at 9.3 GB of memory in all; factors grow as about n^(4/3)). ``direct_limit`` still governs positive-definite
#: solves.
INDEFINITE_DIRECT_LIMIT = 1_000_000


def _choose(n: int, opts: LinearSolverOptions) -> str:
    if not opts.symmetric and opts.method == "cholmod":
        return "scipy"
    if opts.method != "auto":
        if opts.method not in available_methods():
            raise SolverError(
                f"linear solver {opts.method!r} is not installed here; available: {available_methods()}"
            )
        return opts.method
    avail = available_methods()
    fast_direct = [m for m in avail if m in (("pardiso", "cholmod") if opts.symmetric else ("pardiso",))]
    limit = opts.direct_limit if opts.positive_definite else max(opts.direct_limit, INDEFINITE_DIRECT_LIMIT)
    if n <= limit and fast_direct:
        return fast_direct[0]
    if n <= 30_000 or "amg" not in avail:
        return "scipy"
    return "amg"


def solve_linear(A: sp.spmatrix, b: np.ndarray, options: LinearSolverOptions | None = None,
                 near_null: np.ndarray | None = None, block_size: int = 3):
    """Solve ``A x = b`` for a symmetric positive-definite ``A``.

    Parameters
    ----------
    A : (n, n) sparse
    b : (n,) float64
    options : LinearSolverOptions
    near_null : (n, k) float64, optional
        Near-null space for AMG (the rigid-body modes of the free DOFs); constants if omitted.
    block_size : int
        Unknowns per node, for AMG aggregation (3 when ``n`` is a multiple of 3 and DOFs are node-major).

    Returns
    -------
    x : (n,) float64
    info : LinearSolveInfo

    Raises
    ------
    SolverError
        Singular matrix, non-finite result, or the iterative solver did not reach ``rtol``.
    """
    opts = options or LinearSolverOptions()
    A = sp.csr_matrix(A)
    b = np.asarray(b, dtype=np.float64)
    n = A.shape[0]
    method = _choose(n, opts)
    t0 = time.perf_counter()
    iterations = 0
    reused = False
    if n == 0:
        return np.zeros(0), LinearSolveInfo(method, 0, 0, 0.0, 0.0)
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        return np.zeros(n), LinearSolveInfo(method, n, 0, 0.0, time.perf_counter() - t0)
    try:
        if method == "pardiso":
            mtype = (2 if opts.positive_definite else -2) if opts.symmetric else 11
            U = sp.triu(A, format="csr") if opts.symmetric else A.copy()
            U.sort_indices()
            x = None
            if _precision(n, opts) == "mixed":
                x, iterations, reused = _mixed_solve(U, A, b, mtype, opts.rtol, opts.reuse_rtol)
                if x is None:
                    log.info("mixed-precision solve: GMRES did not reach rtol %g in %d iterations; factorising in "
                             "double precision", opts.rtol, iterations)
                    _free_single(mtype)  # the double factors take its place
                else:
                    method = "pardiso-mixed-reused" if reused else "pardiso-mixed"
            if x is None:
                # real symmetric (positive definite 2 / indefinite -2) or unsymmetric (11)
                x = _pardiso_solve(_pardiso(mtype), U, b)
        elif method == "cholmod":
            from sksparse.cholmod import cholesky

            x = cholesky(sp.csc_matrix(A))(b)
        elif method == "scipy":
            x = spla.spsolve(sp.csc_matrix(A), b)
        else:  # amg
            import pyamg

            Ab = A.tobsr(blocksize=(block_size, block_size)) if n % block_size == 0 else A
            B = near_null if near_null is not None else np.ones((n, 1))
            # a direct coarse solve: the default dense pseudo-inverse of a ~1500-DOF coarse grid costs seconds
            ml = pyamg.smoothed_aggregation_solver(Ab, B=B, symmetry="symmetric" if opts.symmetric else "nonsymmetric",
                                                   max_coarse=500, coarse_solver="splu")
            M = ml.aspreconditioner(cycle="V")
            count = [0]

            def cb(_xk):
                count[0] += 1

            if opts.symmetric:
                x, code = spla.cg(A, b, rtol=opts.rtol, atol=0.0, maxiter=opts.maxiter, M=M, callback=cb)
            else:
                x, code = spla.gmres(A, b, rtol=opts.rtol, atol=0.0, restart=50, maxiter=opts.maxiter, M=M,
                                     callback=cb, callback_type="pr_norm")
            iterations = count[0]
            if code != 0:
                res = float(np.linalg.norm(b - A @ x)) / bnorm
                raise SolverError(
                    f"AMG-preconditioned CG did not reach rtol={opts.rtol:g} in {iterations} iterations "
                    f"(relative residual {res:.3g}); the system may be singular (check that boundary "
                    f"conditions remove all rigid-body motion) or ill-conditioned (try method = 'pardiso')"
                )
    except SolverError:
        raise
    except Exception as exc:
        raise SolverError(f"linear solver {method!r} failed: {type(exc).__name__}: {exc}") from exc
    x = np.asarray(x, dtype=np.float64).ravel()
    if not np.all(np.isfinite(x)):
        raise SolverError(
            f"linear solver {method!r} returned non-finite values: the stiffness matrix is singular; check "
            f"that boundary conditions remove all six rigid-body motions of every body"
        )
    res = float(np.linalg.norm(b - A @ x)) / bnorm
    if res > max(1e-6, 10 * opts.rtol) and method not in ("amg", "pardiso-mixed", "pardiso-mixed-reused"):
        raise SolverError(
            f"linear solver {method!r}: relative residual {res:.3g} after a direct solve; the stiffness "
            f"matrix is singular or nearly so (are all rigid-body motions constrained?)"
        )
    info = LinearSolveInfo(method, n, iterations, res, time.perf_counter() - t0,
                           reused_factors=reused)
    log.info("linear solve: %s, %d unknowns, %d iterations, residual %.2e, %.2f s",
             method, n, iterations, res, info.seconds)
    return x, info
