"""Newton-Raphson with load stepping, line search and automatic step control.

The solver drives a *system* from load factor ``t = 0`` to ``t = 1``:

* ``system.n_dofs``;
* ``system.fixed_dofs`` (int array) and ``system.fixed_values(t)`` -> prescribed displacements [mm];
* ``system.external(t)`` -> external force vector [N];
* ``system.internal(u, want_tangent)`` -> ``(f_int, K or None, ok)`` with ``ok`` False when an element
  inverted (det F <= 0) at ``u``;
* optionally ``system.near_null(free)`` -> AMG near-null space for the free DOFs;
* optionally ``system.symmetric`` (bool, default True): False switches the linear solver to an unsymmetric
  factorisation (frictional contact);
* optionally ``system.commit(u)``: called with the accepted state before the next step starts (history of
  frictional contact);
* optionally ``system.augment(u) -> bool``: called when a step has converged (augmented-Lagrangian contact);
  False means the multipliers were updated and the step keeps iterating from ``u`` (at most
  ``max_augmentations`` times per step, counted in :attr:`StepRecord.augmentations`), True that they are
  converged.

Each step starts from the last converged state with the new prescribed values; an iteration solves
``K_ff du = R_f`` with ``R = f_ext - f_int``, then a line search scales ``du`` so that the energy norm
``|du . R(u + s du)|`` drops. A step converges when both

* the residual norm ``||R_f|| <= rtol_residual * max(||f_ext||, ||reactions||)``, and
* the energy norm ``|du . R| <= rtol_energy * |du_1 . R_1|`` (first iteration of the step)

hold. Each step starts from the last converged state plus the previous increment scaled to the new step
(a linear predictor; without it when that fails). A step that diverges, stalls past ``max_iterations`` or
inverts an element is cut back (``dt *= cutback``) and retried from the last converged state; after
``easy_iterations`` or fewer iterations the next step grows (``dt *= growth``, at most ``max_step``).
Below ``min_step`` the solve stops with a :class:`ConvergenceError` that says which step, which norm, and
how far it got.

**Restart** (:class:`Checkpoint`): after every converged step the state is written to a restart file
(``.npz``, written to a temporary file and renamed, so an interrupted write leaves the previous file whole):
the displacements, the load factor, the next step size, the predictor's last increment, the step records and
``system.checkpoint_state()`` (the contacts' multipliers and friction history). A solve given an existing file
restores all of it (``system.restore_state``) and continues with the next step, taking the same iterates as a
solve that was never interrupted; a file whose model fingerprint differs, or one written by another fesolver version
(whose elements or contacts may compute differently), is refused. Optional hooks:

* ``system.checkpoint_state() -> dict[str, ndarray]`` and ``system.restore_state(dict)``.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import ModelError, SolverError
from .linear import LinearSolverOptions, solve_linear

__all__ = ["NewtonOptions", "StepRecord", "ConvergenceError", "Checkpoint", "solve_newton"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewtonOptions:
    """Options of :func:`solve_newton` (load factor runs from 0 to 1)."""

    initial_step: float = 0.1
    min_step: float = 1e-4
    max_step: float = 0.25
    max_iterations: int = 20
    easy_iterations: int = 5
    growth: float = 1.5
    cutback: float = 0.5
    rtol_residual: float = 1e-8
    rtol_energy: float = 1e-14
    line_search: bool = True
    line_search_tol: float = 0.8
    line_search_max: int = 8
    #: cap on the augmented-Lagrangian (Uzawa) updates per step of a system with ``augment`` (contact)
    max_augmentations: int = 20
    #: inexact Uzawa: while the contact multipliers are still changing, a cycle ends (and the multipliers are
    #: updated) once the relative residual is below this; the last cycle (multipliers converged) is then
    #: iterated to ``rtol_residual`` / ``rtol_energy``. 0 converges every cycle fully.
    rtol_augment: float = 1e-5
    #: start each step from the last increment scaled to the step (a linear predictor). Off for Coulomb friction
    #: on the foot's ground: extrapolating the sole's sliding put it past the stick-slip transition, and those
    #: attempts stalled (relative residual 3e-4 to 1e-3 after 25 iterations) where a start from the last state
    #: converged in 8-11 iterations (coarse standing foot, mu 0.6: 52 s instead of 85 s). On for the feet on
    #: inserts: without it the arch-support insert solved faster (coarse, one thread, machine shared: 330 s
    #: frictionless, 201 s with skin friction 0.46, same results) but the medially posted one, with skin
    #: friction from load factor 0.55, stopped at 0.598
    predictor: bool = True

    def __post_init__(self):
        if not (0.0 < self.min_step <= self.initial_step <= 1.0 and self.min_step <= self.max_step <= 1.0):
            raise ValueError(
                f"need 0 < min_step <= initial_step <= 1 and min_step <= max_step <= 1, got "
                f"{self.min_step}, {self.initial_step}, {self.max_step}"
            )
        if self.max_iterations < 1 or not (0.0 < self.cutback < 1.0) or self.growth < 1.0:
            raise ValueError("need max_iterations >= 1, 0 < cutback < 1 and growth >= 1")


@dataclass
class StepRecord:
    """One converged load step: load factor, iterations, residual and energy norms per iteration."""

    t: float
    dt: float
    iterations: int
    residuals: list[float] = field(default_factory=list)
    energies: list[float] = field(default_factory=list)
    linear_iterations: int = 0
    #: linear solves that skipped the factorisation (preconditioned by an earlier tangent's factors)
    reused_factors: int = 0
    seconds: float = 0.0
    #: augmented-Lagrangian (Uzawa) multiplier updates in this step (contact)
    augmentations: int = 0
    #: attempts at this step that failed and were cut back before it converged, with their Newton iterations
    #: (linear solves) and wall time [s]: the cost of step control, not counted in ``iterations``/``seconds``
    failed_attempts: int = 0
    failed_iterations: int = 0
    failed_seconds: float = 0.0


class ConvergenceError(SolverError):
    """Newton could not reach the end of the load. ``u`` and ``t`` hold the last converged state."""

    def __init__(self, message: str, u: np.ndarray, t: float, records: list[StepRecord]):
        super().__init__(message)
        self.u = u
        self.t = t
        self.records = records


#: inexact Newton: an iterative or mixed-precision solve of a tangent stops at a relative residual of
#: max(rtol, this); direct double-precision solves are exact to round-off. The error this leaves in a Newton
#: direction is at most this fraction of the current residual, so Newton still converges to the load steps'
#: tolerances (1e-4 to 1e-8 of the load) in the iterations an exact solve needs (coarse foot, mixed precision
#: forced: the same 5 steps and 36 iterations, metrics equal to 4 digits).
NEWTON_LINEAR_RTOL = 1e-6

#: Eisenstat-Walker forcing term (choice 2, Eisenstat & Walker 1996, SIAM J Sci Comput 17:16): a mixed-precision
#: solve may keep the previous tangent's factors (:attr:`~fesolver.solvers.linear.LinearSolverOptions.reuse_rtol`)
#: when GMRES preconditioned by them reaches ``eta_k = gamma (r_k / r_(k-1))^2`` (``r`` the relative residual
#: norms of the last two iterations; ``eta_max`` at a step's first iteration and as a cap). Far from the solution
#: a rough direction costs a few iterations more but saves the factorisation; near it (quadratic convergence)
#: ``eta_k`` is tiny and the tangent is factorised. ``NEWTON_FORCING_MAX = 0`` always factorises. Measured on the
#: coarse standing foot with mixed precision forced (December 2026): cap 0.01 -> 5 of 33 factorisations skipped,
#: 33 Newton iterations (36 without reuse); cap 0.1 -> 10 of 41 skipped, 41 iterations; medium standing foot,
#: cap 0.01: 10 of 49 skipped (docs/performance.md)
NEWTON_FORCING_MAX = 0.01
NEWTON_FORCING_GAMMA = 0.9


def _forcing(residuals: list[float], first: bool) -> float:
    """The forcing term ``eta_k`` for the next linear solve (see :data:`NEWTON_FORCING_MAX`)."""
    if NEWTON_FORCING_MAX <= 0.0:
        return 0.0
    if first or len(residuals) < 2 or residuals[-2] <= 0.0:
        return NEWTON_FORCING_MAX
    return min(NEWTON_FORCING_MAX, NEWTON_FORCING_GAMMA * (residuals[-1] / residuals[-2]) ** 2)


@dataclass(frozen=True)
class Checkpoint:
    """Restart file of a Newton solve (see the module's *Restart*).

    ``path``: the ``.npz`` file, written after every converged step and read at the start when it exists;
    ``fingerprint``: identifies the model (mesh, materials, loads, contacts); a file written with another
    fingerprint is refused with a :class:`~fesolver.errors.ModelError` naming it."""

    path: Path
    fingerprint: str = ""


#: layout of the restart file (raised when the stored fields change; 2: the fesolver version is stored)
CHECKPOINT_VERSION = 2


def _fesolver_version() -> str:
    from .. import __version__

    return __version__


def _write_checkpoint(cp: Checkpoint, system, u, t, dt, du_last, dt_last, records) -> None:
    arrays = {"version": np.array(CHECKPOINT_VERSION), "fesolver_version": np.array(_fesolver_version()),
              "fingerprint": np.array(cp.fingerprint), "u": u,
              "t": np.array(t), "dt": np.array(dt), "dt_last": np.array(dt_last if dt_last is not None else 0.0),
              "du_last": du_last if du_last is not None else np.zeros(0),
              "records": np.array(json.dumps([asdict(r) for r in records]))}
    state = system.checkpoint_state() if hasattr(system, "checkpoint_state") else {}
    arrays.update({f"state.{k}": np.asarray(v) for k, v in state.items()})
    path = Path(cp.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def _read_checkpoint(cp: Checkpoint, system, n: int):
    """``(u, t, dt, du_last, dt_last, records)`` from ``cp.path``, the system's state restored."""
    path = Path(cp.path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        version = int(data["version"])
        written_by = str(data["fesolver_version"]) if "fesolver_version" in data else "before 0.1.0"
        fingerprint = str(data["fingerprint"])
        u, t, dt = data["u"], float(data["t"]), float(data["dt"])
        du_last = data["du_last"] if data["du_last"].size else None
        dt_last = float(data["dt_last"]) if du_last is not None else None
        records = [StepRecord(**r) for r in json.loads(str(data["records"]))]
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path}: not a readable fesolver restart file ({type(exc).__name__}: {exc}); delete "
                         f"it to start the solve from the beginning") from exc
    if version != CHECKPOINT_VERSION:
        raise ModelError(f"{path}: restart file version {version}, this fesolver writes {CHECKPOINT_VERSION}; "
                         f"delete it to start the solve from the beginning")
    if written_by != _fesolver_version():
        raise ModelError(f"{path}: restart file written by fesolver {written_by}, this is fesolver "
                         f"{_fesolver_version()}: a solve continued across versions would mix two versions' "
                         f"elements and contacts; delete it to start the solve from the beginning")
    if fingerprint != cp.fingerprint or u.shape != (n,):
        raise ModelError(f"{path}: restart file of another model (fingerprint {fingerprint[:12]!r}, "
                         f"{u.size} unknowns; this model: {cp.fingerprint[:12]!r}, {n}); delete it or give "
                         f"another path")
    state = {k[len("state."):]: v for k, v in data.items() if k.startswith("state.")}
    if hasattr(system, "restore_state"):
        system.restore_state(state)
    return u, t, dt, du_last, dt_last, records


def _free_mask(n: int, fixed: np.ndarray) -> np.ndarray:
    m = np.ones(n, dtype=bool)
    m[fixed] = False
    return m


#: relative residual [-] below which a state counts as in equilibrium whatever the energy ratio (round-off of the
#: assembled forces; the tighter of this and the residual tolerance applies)
ROUNDOFF = 1e-10


def solve_newton(system, options: NewtonOptions | None = None, linear: LinearSolverOptions | None = None,
                 u0: np.ndarray | None = None, on_step=None, progress: bool = False,
                 checkpoint: Checkpoint | None = None):
    """Solve ``f_int(u) = f_ext(t)`` for ``t`` from 0 to 1; returns ``(u, records)``.

    ``on_step(t, u, record)`` is called after every converged step (to write results per step).
    ``progress`` shows a progress bar over the load factor (tqdm, on stderr).
    ``checkpoint``: restart file, written after every converged step; when it exists the solve continues from
    it (``on_step`` is then called only for the steps solved now, ``records`` hold all steps).
    """
    from dataclasses import replace

    opts = options or NewtonOptions()
    lin = linear or LinearSolverOptions()
    lin = replace(lin, positive_definite=False, rtol=max(lin.rtol, NEWTON_LINEAR_RTOL))
    n = system.n_dofs
    fixed = np.asarray(system.fixed_dofs, dtype=np.int64)
    free = np.flatnonzero(_free_mask(n, fixed))
    u = np.zeros(n) if u0 is None else np.array(u0, dtype=np.float64)
    near_null = system.near_null(free) if hasattr(system, "near_null") else None
    # AMG aggregates 3x3 node blocks when the free DOFs come in whole nodes (3 n, 3 n + 1, 3 n + 2)
    block = 1
    if near_null is not None and free.size % 3 == 0:
        trip = free.reshape(-1, 3)
        if np.all(trip[:, 0] % 3 == 0) and np.all(trip - trip[:, :1] == np.arange(3)):
            block = 3
    records: list[StepRecord] = []
    t, dt = 0.0, opts.initial_step
    du_last, dt_last = None, None
    pending_commit = False
    if checkpoint is not None and Path(checkpoint.path).is_file():
        u, t, dt, du_last, dt_last, records = _read_checkpoint(checkpoint, system, n)
        system.external(t)  # the system's load factor (moving contact surfaces) as at the end of that step
        pending_commit = True  # the file holds the state before the step's history was committed
        log.info("restart from %s: load factor %.4g after %d steps", checkpoint.path, t, len(records))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=1.0, unit="load", bar_format="{l_bar}{bar}| t={n:.3f}/1 [{elapsed}<{remaining}]")
        bar.update(t)
    last_failure = ""
    failed = [0, 0, 0.0]  # attempts, iterations, seconds spent on failed attempts since the last accepted step
    try:
        while t < 1.0 - 1e-12:
            if pending_commit and hasattr(system, "commit"):
                # the history moves to the accepted state only when the next step starts, so that the
                # results of a step (reactions, contact report) are evaluated with the state it converged with
                system.commit(u)
                pending_commit = False
            dt = min(dt, 1.0 - t)
            if 1.0 - t - dt < 0.25 * dt:  # no sliver of a last step: stretch this one to the end (<= 1.25 dt)
                dt = 1.0 - t
            t_new = t + dt
            # predictor: continue the last converged increment (scaled to this step) on the free DOFs
            guess = None if du_last is None or not opts.predictor else du_last[free] * (dt / dt_last)
            ok, rec, u_new, why = _step(system, u, t_new, dt, free, fixed, near_null, opts, lin, guess, block)
            if not ok and guess is not None:
                _count_failure(failed, rec)
                ok, rec, u_new, why = _step(system, u, t_new, dt, free, fixed, near_null, opts, lin, None, block)
            if ok:
                rec.failed_attempts, rec.failed_iterations, rec.failed_seconds = failed
                failed = [0, 0, 0.0]
                du_last, dt_last = u_new - u, dt
                t = t_new
                u = u_new
                pending_commit = True
                records.append(rec)
                if bar is not None:
                    bar.update(dt)
                    bar.set_postfix(iters=rec.iterations)
                # with contact, each augmentation cycle re-converges: judge ease per cycle
                if rec.iterations <= opts.easy_iterations * (1 + rec.augmentations):
                    dt = min(dt * opts.growth, opts.max_step)
                if checkpoint is not None:  # before on_step: a failing callback leaves the step on file
                    _write_checkpoint(checkpoint, system, u, t, dt, du_last, dt_last, records)
                if on_step is not None:
                    on_step(t, u, rec)
                continue
            _count_failure(failed, rec)
            last_failure = why
            log.info("step to t=%.4g failed (%s); cutting back", t_new, why)
            dt *= opts.cutback
            if dt < opts.min_step:
                raise ConvergenceError(
                    f"Newton failed to converge: step from load factor t={t:.4g} could not advance even "
                    f"with the minimum step {opts.min_step:g}; last attempt: {why}. The last converged "
                    f"state (t={t:.4g}) is kept.",
                    u, t, records,
                )
    finally:
        if bar is not None:
            bar.close()
    del last_failure
    return u, records


def _count_failure(failed: list, rec: StepRecord) -> None:
    failed[0] += 1
    failed[1] += len(rec.energies)  # the attempt's linear solves
    failed[2] += rec.seconds


def _step(system, u_prev, t, dt, free, fixed, near_null, opts, lin, guess=None, block=1):
    """One load step from ``u_prev`` to load factor ``t``: ``(ok, record, u, why)``; the record's ``seconds``
    is the attempt's wall time, converged or not."""
    t0 = time.perf_counter()
    ok, rec, u, why = _iterate(system, u_prev, t, dt, free, fixed, near_null, opts, lin, guess, block)
    rec.seconds = time.perf_counter() - t0
    return ok, rec, u, why


def _iterate(system, u_prev, t, dt, free, fixed, near_null, opts, lin, guess=None, block=1):
    u = u_prev.copy()
    if guess is not None:
        u[free] += guess
    u[fixed] = system.fixed_values(t)
    f_ext = system.external(t)
    rec = StepRecord(t=t, dt=dt, iterations=0)
    e_ref = None
    augment = getattr(system, "augment", None)
    it = 0  # iterations of the step
    k = 0  # iterations since the step started or the multipliers were last updated
    r0 = 0  # index in rec.residuals of the first residual of the current cycle
    final = False  # the multipliers have converged: iterate to the tight tolerance, no more updates
    cache = None  # (u, internal(u, True)) of the line search's full step: the next iterate when it is accepted
    while True:
        if k >= opts.max_iterations:
            return False, rec, u, (
                f"no convergence in {opts.max_iterations} iterations: relative residual {rec.residuals[-1]:.3g} "
                f"(tolerance {opts.rtol_residual:g}), energy ratio {rec.energies[-1] / e_ref:.3g} "
                f"(tolerance {opts.rtol_energy:g})"
            )
        it += 1
        k += 1
        if cache is not None and np.array_equal(cache[0], u):  # the line search's full step, tangent included
            f_int, K, ok = cache[1]
        else:
            f_int, K, ok = system.internal(u, True)
        cache = None
        if not ok:
            return False, rec, u, f"an element inverted (det F <= 0) at iteration {it}"
        R = f_ext - f_int
        Rf = R[free]
        ref = max(np.linalg.norm(f_ext[free]), np.linalg.norm(f_int[fixed]) if fixed.size else 0.0, 1e-30)
        rnorm = float(np.linalg.norm(Rf))
        rec.residuals.append(rnorm / ref)
        converged = (k > 1 and rnorm <= opts.rtol_residual * ref and rec.energies[-1] <= opts.rtol_energy * e_ref)
        # already in equilibrium to round-off (a step in which nothing changes, e.g. a rigid surface moving away
        # from a body it no longer touches): the energy ratio is then round-off over round-off and never falls
        converged = converged or rnorm <= min(ROUNDOFF, opts.rtol_residual) * ref
        # inexact Uzawa: update the multipliers as soon as the cycle is roughly in equilibrium
        cycle_done = augment is not None and not final and k > 1 and rnorm <= opts.rtol_augment * ref
        if converged or cycle_done:
            if augment is None or final or augment(u):
                if converged:
                    break
                final = True  # multipliers converged at a rough equilibrium: iterate on without updates
            elif rec.augmentations >= opts.max_augmentations:
                log.warning("step to t=%.4g: contact multipliers not converged after %d augmentations; "
                            "accepting the step", t, rec.augmentations)
                if converged:
                    break
                final = True
            else:
                rec.augmentations += 1
                # the energy reference stays the step's first iteration: after a small multiplier update the
                # first energy of the new cycle can be so small that round-off never gets below 1e-14 of it
                k, r0 = 0, len(rec.residuals)
                continue
        if not np.isfinite(rnorm):
            return False, rec, u, f"the residual is not finite at iteration {it}"
        Kff = K[free][:, free]
        lin_it = lin if getattr(system, "symmetric", True) else replace(lin, symmetric=False)
        lin_it = replace(lin_it, reuse_rtol=_forcing(rec.residuals, k == 1))
        try:
            duf, info = solve_linear(Kff, Rf, lin_it, near_null=near_null, block_size=block)
        except SolverError as exc:
            return False, rec, u, f"linear solve failed at iteration {it}: {exc}"
        rec.linear_iterations += info.iterations
        rec.reused_factors += info.reused_factors
        g0 = float(duf @ Rf)  # > 0 when the tangent is positive definite along du (an energy descent direction)
        e0 = abs(g0)
        if e_ref is None:
            e_ref = max(e0, 1e-300)
        s = 1.0
        if opts.line_search:
            keep = []
            s = _line_search(system, u, free, duf, f_ext, g0, opts, keep, rnorm)
            cache = keep[0] if keep and s == 1.0 else None
        u = u.copy()
        u[free] += s * duf
        rec.energies.append(abs(s * e0))
        if k >= 3 and rec.residuals[-1] > 1e3 * rec.residuals[r0]:
            return False, rec, u, (f"residual norm grew from {rec.residuals[r0]:.3g} to {rec.residuals[-1]:.3g}"
                                   f" (relative) by iteration {it}")
    rec.iterations = it - 1 - rec.augmentations  # linear solves
    return True, rec, u, ""


def _line_search(system, u, free, duf, f_ext, g0, opts, keep=None, rnorm=None) -> float:
    """Step length ``s`` along the Newton direction ``du``.

    With ``g0 = du . R(u) > 0`` (the tangent positive definite along ``du``: ``du`` descends the energy) ``s``
    makes ``|du . R(u + s du)| <= line_search_tol * g0`` (secant, bounded). With ``g0 <= 0`` (an indefinite
    tangent: contact geometric terms, buckling, material softening) the energy criterion would shrink ``s`` to
    nothing, since ``du . R`` is already negative at ``s = 0+``; the step is then backtracked on the residual
    norm instead (halving until ``|R(u + s du)| <= (1 - 1e-4 s) rnorm``, which the exact Newton direction
    always allows for small ``s``; the best of the trials if none does).

    The full step is evaluated with its tangent, appended to ``keep`` as ``(u + du, (f_int, K, ok))``: when
    the step is accepted (nearly always) it is the next Newton iterate's residual and tangent, so each
    iteration costs one evaluation instead of two."""
    def evaluate(s, tangent=False):
        v = u.copy()
        v[free] += s * duf
        out = system.internal(v, tangent)
        if tangent and keep is not None:
            keep.append((v, out))
        f_int, _, ok = out
        return None if not ok else (f_ext - f_int)[free]

    def g(s, tangent=False):
        R = evaluate(s, tangent)
        return None if R is None else float(duf @ R)

    if g0 <= 0.0 and rnorm is not None:
        best_r, best_s = np.inf, None
        s = 1.0
        for k in range(opts.line_search_max + 1):
            R = evaluate(s, tangent=k == 0 and keep is not None)
            if R is not None:
                r = float(np.linalg.norm(R))
                if r <= (1.0 - 1e-4 * s) * rnorm:
                    return s
                if r < best_r:
                    best_r, best_s = r, s
            s *= 0.5
        return best_s if best_s is not None else s
    g1 = g(1.0, tangent=keep is not None)
    if g1 is not None and abs(g1) <= opts.line_search_tol * abs(g0):
        return 1.0
    s_lo, g_lo = 0.0, g0
    s = 1.0
    for _ in range(opts.line_search_max):
        if g1 is None:  # inverted element: shorten
            s *= 0.5
            g1 = g(s)
            continue
        if abs(g1) <= opts.line_search_tol * abs(g0):
            return s
        denom = g_lo - g1
        s_new = s_lo + (s - s_lo) * g_lo / denom if denom != 0.0 else 0.5 * s
        s_new = min(max(s_new, 0.1 * s), 2.0 * s if g1 > 0 else s)
        if g1 * g_lo < 0:
            s_hi = s
            s = min(max(s_new, s_lo + 0.1 * (s_hi - s_lo)), s_hi - 0.1 * (s_hi - s_lo))
        else:
            s_lo, g_lo = s, g1
            s = s_new if s_new > s else 1.5 * s
        g1 = g(s)
    return s if g1 is not None else 0.5
