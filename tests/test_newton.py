"""Newton's method (fesolver.solvers.newton): line search with an indefinite tangent, the reuse of the full step."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fesolver.solvers import LinearSolverOptions
from fesolver.solvers.newton import NewtonOptions, solve_newton


class Softening:
    """Uncoupled springs with ``f_int_i(u) = u_i^3 - u_i`` (a snap-through spring: the stiffness
    ``3 u^2 - 1`` is negative for ``|u| < 0.577``) under ``f_ext = t * load``, one DOF held at 0."""

    def __init__(self, load):
        self.load = np.asarray(load, dtype=float)
        self.n_dofs = self.load.size + 1
        self.fixed_dofs = np.array([self.load.size])
        self.calls = {True: 0, False: 0}

    def fixed_values(self, t):
        return np.zeros(1)

    def external(self, t):
        return np.append(t * self.load, 0.0)

    def internal(self, u, want_tangent):
        self.calls[want_tangent] += 1
        f = u ** 3 - u
        K = sp.diags(3.0 * u ** 2 - 1.0, format="csr") if want_tangent else None
        return f, K, True


def test_indefinite_tangent_backtracks_on_the_residual():
    """Starting where the tangent is negative (u = 0), the Newton direction raises the energy (du . R < 0). An
    energy line search shrinks the step to nothing there (the fault that stalled the foot on an insert); the
    residual backtracking reaches the root of u^3 - u = 0.5 (u = 1.1915) in one load step."""
    system = Softening([0.5, 0.5])
    opts = NewtonOptions(initial_step=1.0, max_step=1.0, max_iterations=30, rtol_residual=1e-12)
    u, records = solve_newton(system, opts, LinearSolverOptions(method="scipy", symmetric=False))
    root = 1.1914878936940
    assert np.allclose(u[:2], root, atol=1e-10)
    assert len(records) == 1 and records[0].iterations < 30


@pytest.mark.parametrize("line_search", [True, False])
def test_accepted_full_step_is_evaluated_once(line_search):
    """With the line search, the full step's residual and tangent are those of the next iterate: every iteration
    evaluates the system once (with its tangent) and no residual-only evaluations are added when the full step
    is accepted. A stiffening spring (``u^3 + u``, positive tangent) accepts every full step."""

    class Stiffening(Softening):
        def internal(self, u, want_tangent):
            self.calls[want_tangent] += 1
            return u ** 3 + u, sp.diags(3.0 * u ** 2 + 1.0, format="csr") if want_tangent else None, True

    system = Stiffening([0.5, 0.2])
    opts = NewtonOptions(initial_step=1.0, max_step=1.0, rtol_residual=1e-12, line_search=line_search,
                         line_search_tol=0.99)
    u, records = solve_newton(system, opts, LinearSolverOptions(method="scipy"))
    assert np.allclose(u[:2] ** 3 + u[:2], [0.5, 0.2], atol=1e-12)
    its = records[0].iterations
    assert system.calls[True] == its + 1  # one evaluation per linear solve plus the converged state
    assert system.calls[False] == 0


def test_step_with_nothing_to_do_converges_at_round_off():
    """A load step in which nothing changes (the load held after t = 0.5) starts in equilibrium up to the
    round-off of the internal forces (here 1e-12 of the load): the energy ratio is then round-off over round-off
    and never falls, so the step must be accepted on the residual alone (the foot on a flat insole stalled so when
    the support plane sank away from a foot it no longer touched: residual 8e-12, energy ratio 1.01)."""

    class Noisy(Softening):
        def external(self, t):
            return np.append(min(t, 0.5) * self.load, 0.0)

        def internal(self, u, want_tangent):
            self.calls[want_tangent] += 1  # round-off that changes with every evaluation: Newton cannot remove it
            noise = 1e-12 * (-1.0) ** sum(self.calls.values()) * np.array([1.0, -1.0, 0.0])
            return u + noise, sp.identity(u.size, format="csr") if want_tangent else None, True

    system = Noisy([2.0, 1.0])
    opts = NewtonOptions(initial_step=0.25, max_step=0.25, growth=1.0, min_step=0.01)
    u, records = solve_newton(system, opts, LinearSolverOptions(method="scipy"))
    assert [round(r.t, 6) for r in records] == [0.25, 0.5, 0.75, 1.0]
    assert np.allclose(u[:2], [1.0, 0.5], atol=1e-10)


def test_failed_attempts_are_counted_on_the_step_that_follows():
    """An attempt that fails (here: the system reports an inverted element at its third evaluation, after two
    linear solves) is cut back; the step that then converges records the failed attempt, its linear solves and
    its time, so that the cost of step control shows in the solver statistics."""

    class InvertsOnce(Softening):
        def internal(self, u, want_tangent):
            self.calls[want_tangent] += 1
            ok = sum(self.calls.values()) != 3
            return u ** 3 + u, sp.diags(3.0 * u ** 2 + 1.0, format="csr") if want_tangent else None, ok

    system = InvertsOnce([1.0, 0.4])
    opts = NewtonOptions(initial_step=1.0, max_step=0.5, rtol_residual=1e-12, line_search=False)
    u, records = solve_newton(system, opts, LinearSolverOptions(method="scipy"))
    assert np.allclose(u[:2] ** 3 + u[:2], [1.0, 0.4], atol=1e-12)
    assert [round(r.t, 6) for r in records] == [0.5, 1.0]
    first, second = records
    assert (first.failed_attempts, first.failed_iterations) == (1, 2)
    assert first.failed_seconds > 0.0
    assert (second.failed_attempts, second.failed_iterations, second.failed_seconds) == (0, 0, 0.0)
