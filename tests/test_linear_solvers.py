"""Linear solvers (fesolver.solvers.linear): PARDISO's reuse of the symbolic analysis between solves."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fesolver.solvers import LinearSolverOptions, solve_linear
from fesolver.solvers import linear as L

pytestmark = pytest.mark.skipif("pardiso" not in L.available_methods(), reason="pypardiso not installed")


def _laplacian(n, shift=0.0, extra=None):
    """2D 5-point Laplacian on an n x n grid plus ``shift`` on the diagonal (and optional extra couplings)."""
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    A = sp.kronsum(T, T) + shift * sp.eye(n * n)
    if extra is not None:
        A = A + extra
    return sp.csr_matrix(A)


@pytest.mark.parametrize("symmetric", [True, False])
def test_pardiso_reuses_the_analysis_only_for_the_same_pattern(symmetric, monkeypatch):
    """Three tangents in a row: the second has the first's pattern (new values: phase 23, no new analysis), the
    third couples new DOFs (a new pattern: a full analysis). Each solution's relative residual < 1e-10; a
    reused analysis of the wrong pattern would fail the third."""
    rng = np.random.default_rng(0)
    n = 12
    opts = LinearSolverOptions(method="pardiso", symmetric=symmetric, positive_definite=False)
    calls = []
    real = L._pardiso_solve

    def spy(solver, A, b):
        calls.append(L._PARDISO_PATTERN.get(solver.mtype) == (A.shape[0], A.indptr.tobytes(), A.indices.tobytes()))
        return real(solver, A, b)

    monkeypatch.setattr(L, "_pardiso_solve", spy)
    L._PARDISO_PATTERN.clear()
    skew = sp.random(n * n, n * n, density=0.01, random_state=1) if not symmetric else None
    coupling = sp.coo_matrix(([0.5, 0.5], ([0, n * n - 1], [n * n - 1, 0])), shape=(n * n, n * n))
    mats = [_laplacian(n, 0.1, skew), _laplacian(n, 0.7, skew), _laplacian(n, 0.7, coupling if skew is None
                                                                            else skew + coupling)]
    for A in mats:
        b = rng.standard_normal(n * n)
        x, info = solve_linear(A, b, opts)
        assert info.method == "pardiso"
        assert np.linalg.norm(A @ x - b) <= 1e-10 * np.linalg.norm(b)
    assert calls == [False, True, False]


def test_auto_keeps_the_direct_solver_for_newton_tangents():
    """``auto`` past ``direct_limit``: a positive-definite matrix goes to the iterative path (SuperLU below 30k
    unknowns, AMG-CG above), a Newton tangent (``positive_definite=False``, here an indefinite shifted Laplacian
    that CG cannot solve) stays with PARDISO up to INDEFINITE_DIRECT_LIMIT and is solved to round-off."""
    n = 20
    A = _laplacian(n, shift=-0.5)  # eigenvalues of the 2D Laplacian span (0, 8): shifted, some are negative
    assert np.linalg.eigvalsh(A.toarray()).min() < 0.0
    b = np.random.default_rng(3).standard_normal(n * n)
    assert L._choose(n * n, LinearSolverOptions(direct_limit=100)) == "scipy"
    assert L._choose(200_000, LinearSolverOptions(direct_limit=100)) == "amg"
    assert L._choose(200_000, LinearSolverOptions(direct_limit=100, positive_definite=False)) == "pardiso"
    assert L._choose(L.INDEFINITE_DIRECT_LIMIT + 1, LinearSolverOptions(positive_definite=False)) == "amg"
    x, info = solve_linear(A, b, LinearSolverOptions(direct_limit=100, positive_definite=False))
    assert info.method == "pardiso"
    assert np.linalg.norm(A @ x - b) <= 1e-10 * np.linalg.norm(b)
