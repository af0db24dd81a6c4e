"""Linear solvers (fesolver.solvers.linear): PARDISO's reuse of the symbolic analysis, mixed precision."""

from __future__ import annotations

from dataclasses import replace

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


def _elastic_block(n=6):
    """The stiffness of a clamped linear-elastic hex8 block (``n`` elements a side, E = 1000 and 0.1 in two
    halves: a 1e4 stiffness contrast like bone and soft tissue) and its free DOFs."""
    from meshgen import box_hex

    from fesolver.elements import HEX8
    from fesolver.loads import FixedDisplacement, Selection
    from fesolver.materials import LinearElastic
    from fesolver.mesh import Mesh, SolidBlock
    from fesolver.problem import Problem

    pts, hexes = box_hex((n, n, n))
    soft = pts[hexes].mean(axis=1)[:, 2] > 0.5
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)], cell_sets={"hard": {0: np.flatnonzero(~soft)},
                                                            "soft": {0: np.flatnonzero(soft)}})
    prob = Problem(mesh, {"hard": LinearElastic(1000.0, 0.3), "soft": LinearElastic(0.1, 0.45)},
                   bcs=[FixedDisplacement(Selection(box=((-1, -1, 0), (2, 2, 0))), {0: 0.0, 1: 0.0, 2: 0.0})])
    K = prob.stiffness()
    fixed = np.flatnonzero(np.abs(pts[:, 2]) < 1e-12)
    dofs = np.setdiff1d(np.arange(3 * pts.shape[0]), (3 * fixed[:, None] + np.arange(3)).ravel())
    return sp.csr_matrix(K[dofs][:, dofs])


def _unsymmetric(K, scale=0.05, seed=8):
    """``K`` plus a skew-symmetric part on its own sparsity pattern (a frictional tangent's kind of asymmetry)."""
    S = K.copy()
    S.data = np.random.default_rng(seed).uniform(-1.0, 1.0, S.data.size) * np.abs(S.data)
    return sp.csr_matrix(K + scale * (S - S.T))


@pytest.mark.parametrize("kind", ["definite", "indefinite", "unsymmetric"])
def test_mixed_precision_reaches_the_tolerance(kind):
    """Single-precision factors + GMRES in double: the relative residual is below rtol (1e-10 here, far below
    what single precision alone gives) and the solution agrees with the double-precision one to 1e-8; for an
    indefinite matrix (the block's stiffness shifted below its smallest eigenvalues) and an unsymmetric one
    (single-precision LU, as for frictional contact tangents) too."""
    K = _elastic_block()
    definite = kind == "definite"
    if kind == "indefinite":
        K = sp.csr_matrix(K - 2e-3 * sp.eye(K.shape[0]))
    if kind == "unsymmetric":
        K = _unsymmetric(K)
        assert abs(K - K.T).max() > 1e-3 * abs(K).max()
    b = np.random.default_rng(4).standard_normal(K.shape[0])
    opts = LinearSolverOptions(method="pardiso", positive_definite=definite, rtol=1e-10,
                               symmetric=kind != "unsymmetric")
    x, info = solve_linear(K, b, replace(opts, precision="mixed"))
    assert info.method == "pardiso-mixed" and 0 < info.iterations <= L.MIXED_MAXITER
    assert info.relative_residual <= 1e-10
    xd, infod = solve_linear(K, b, replace(opts, precision="double"))
    assert infod.method == "pardiso"
    assert np.linalg.norm(x - xd) <= 1e-8 * np.linalg.norm(xd)


def test_mixed_precision_falls_back_to_double(monkeypatch):
    """GMRES allowed a single iteration cannot reach 1e-12: the solve factorises in double precision instead and
    is exact to round-off."""
    K = _elastic_block()
    b = np.random.default_rng(5).standard_normal(K.shape[0])
    monkeypatch.setattr(L, "MIXED_MAXITER", 1)
    monkeypatch.setattr(L, "MIXED_CYCLES", 1)
    x, info = solve_linear(K, b, LinearSolverOptions(method="pardiso", precision="mixed", rtol=1e-12))
    assert info.method == "pardiso"
    assert np.linalg.norm(K @ x - b) <= 1e-10 * np.linalg.norm(b)


def test_auto_precision_is_mixed_for_large_newton_tangents_only():
    big, small = L.MIXED_PRECISION_MIN, L.MIXED_PRECISION_MIN - 1
    tangent = LinearSolverOptions(positive_definite=False)
    assert L._precision(big, tangent) == "mixed"
    assert L._precision(small, tangent) == "double"
    assert L._precision(big, LinearSolverOptions()) == "double"  # positive definite: linear analyses
    assert L._precision(big, replace(tangent, symmetric=False)) == "mixed"  # frictional: unsymmetric LU
    assert L._precision(big, replace(tangent, precision="double")) == "double"
    with pytest.raises(ValueError, match="precision must be one of"):
        LinearSolverOptions(precision="half")


def test_newton_with_mixed_precision_tangents_reaches_the_same_state(caplog):
    """A neo-Hookean block squeezed 20 % against a frictionless rigid plane (augmented Lagrangian), its Newton
    tangents solved in mixed precision (NEWTON_LINEAR_RTOL = 1e-6) and in double: the same load steps, and
    displacements equal to 1e-7 of the largest (Newton's tolerance 1e-8 on the residual)."""
    from meshgen import box_hex

    from fesolver.contact import RigidPlane
    from fesolver.elements import HEX8
    from fesolver.loads import FixedDisplacement, Selection
    from fesolver.materials import NeoHookean
    from fesolver.mesh import Mesh, SolidBlock
    from fesolver.problem import Problem

    pts, hexes = box_hex((4, 4, 4), hi=(10.0, 10.0, 10.0))
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)], cell_sets={"all": {0: np.arange(hexes.shape[0])}})
    top = Selection(box=((-1, -1, 10.0), (11, 11, 10.0)))
    bottom = Selection(box=((-1, -1, 0.0), (11, 11, 0.0)))

    def solve(precision):
        prob = Problem(mesh, {"all": NeoHookean(1.0, 0.45)},
                       bcs=[FixedDisplacement(top, {0: 0.0, 1: 0.0, 2: -2.0}, "press")],
                       contacts=[RigidPlane(surface=bottom, name="floor", point=(0, 0, 0), normal=(0, 0, 1))],
                       solver=LinearSolverOptions(method="pardiso", precision=precision))
        return prob.solve()

    with caplog.at_level("INFO", logger="fesolver.solvers.linear"):
        mixed = solve("mixed")
    assert "linear solve: pardiso-mixed" in caplog.text
    assert sum(r.reused_factors for r in mixed.steps) > 0  # some directions from an earlier tangent's factors
    double = solve("double")
    assert [r.t for r in mixed.steps] == pytest.approx([r.t for r in double.steps])
    scale = np.abs(double.displacement).max()
    assert np.abs(mixed.displacement - double.displacement).max() <= 1e-7 * scale


def test_mixed_precision_reuses_the_factors_of_a_nearby_matrix():
    """``reuse_rtol``: a matrix of the same sparsity pattern changed by 1 % is solved with the factors of the
    previous one (no factorisation) to ``reuse_rtol``; a matrix changed beyond what REUSE_MAXITER GMRES iterations
    can absorb is factorised and solved to ``rtol``; without ``reuse_rtol`` every matrix is factorised."""
    K = _elastic_block()
    b = np.random.default_rng(6).standard_normal(K.shape[0])
    opts = LinearSolverOptions(method="pardiso", positive_definite=False, precision="mixed", rtol=1e-10)
    _, info = solve_linear(K, b, replace(opts, reuse_rtol=1e-3))
    assert info.method == "pardiso-mixed" and not info.reused_factors  # nothing to reuse yet
    near = sp.csr_matrix(K * 1.01)
    x, info = solve_linear(near, b, replace(opts, reuse_rtol=1e-3))
    assert info.method == "pardiso-mixed-reused" and info.reused_factors and 0 < info.iterations <= L.REUSE_MAXITER
    assert 1e-12 < info.relative_residual <= 1e-3
    assert np.linalg.norm(near @ x - b) <= 1e-3 * np.linalg.norm(b)
    far = K.copy()
    far.data = far.data * np.random.default_rng(7).uniform(0.2, 5.0, far.data.size)
    far = sp.csr_matrix((far + far.T) / 2)  # the same pattern, other values
    x, info = solve_linear(far, b, replace(opts, reuse_rtol=1e-8))
    assert info.method == "pardiso-mixed" and not info.reused_factors and info.relative_residual <= 1e-10
    _, info = solve_linear(near, b, opts)
    assert info.method == "pardiso-mixed"
    with pytest.raises(ValueError, match="reuse_rtol"):
        LinearSolverOptions(reuse_rtol=1.0)
    # unsymmetric (frictional) tangents: the same reuse, with LU factors
    U = _unsymmetric(K)
    lu = replace(opts, symmetric=False, reuse_rtol=1e-3)
    _, info = solve_linear(U, b, replace(lu, reuse_rtol=0.0))  # factorised (whatever an earlier test left)
    assert info.method == "pardiso-mixed" and not info.reused_factors
    x, info = solve_linear(sp.csr_matrix(U * 1.01), b, lu)
    assert info.method == "pardiso-mixed-reused" and info.reused_factors
    assert np.linalg.norm(U * 1.01 @ x - b) <= 1e-3 * np.linalg.norm(b)


def test_newton_forcing_term_follows_the_residual_ratio(monkeypatch):
    """Eisenstat-Walker choice 2: eta = gamma (r_k / r_(k-1))^2, capped at NEWTON_FORCING_MAX, which is also
    the first iteration's; 0 switches factor reuse off."""
    from fesolver.solvers import newton as N

    assert N._forcing([1.0], True) == N.NEWTON_FORCING_MAX
    assert N._forcing([1.0, 0.9], False) == N.NEWTON_FORCING_MAX  # slow progress: the cap
    assert N._forcing([1e-2, 1e-4], False) == pytest.approx(N.NEWTON_FORCING_GAMMA * 1e-4)
    monkeypatch.setattr(N, "NEWTON_FORCING_MAX", 0.0)
    assert N._forcing([1e-2, 1e-4], False) == 0.0
