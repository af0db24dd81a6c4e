"""FEBio's ut4-solid (nodally integrated tetrahedron): exact tangent, no correction under uniform strain."""

from __future__ import annotations

import numpy as np
import pytest

from fesolver.elements.tet4 import TET4
from fesolver.elements.ut4 import UT4NodalIntegration, ut4_points
from fesolver.materials import MooneyRivlin, NeoHookean


def _bar(seed: int = 0):
    """A 2 x 1 x 1 bar of 12 tets (two cubes, six tets each), nodes perturbed."""
    rng = np.random.default_rng(seed)
    pts = np.array([[x, y, z] for z in (0, 1) for y in (0, 1) for x in (0, 1, 2)], float)

    def idx(i, j, k):
        return k * 6 + j * 3 + i

    cells = []
    for i in range(2):
        c = [idx(i, 0, 0), idx(i + 1, 0, 0), idx(i + 1, 1, 0), idx(i, 1, 0),
             idx(i, 0, 1), idx(i + 1, 0, 1), idx(i + 1, 1, 1), idx(i, 1, 1)]
        for t in ((0, 1, 2, 6), (0, 2, 3, 6), (0, 3, 7, 6), (0, 7, 4, 6), (0, 4, 5, 6), (0, 5, 1, 6)):
            cells.append([c[q] for q in t])
    return pts + 0.05 * rng.standard_normal(pts.shape), np.array(cells, dtype=np.int64)


class _System:
    def __init__(self, pts, cells):
        self.points, self.n_dofs = pts, pts.size
        self.blocks = [{"etype": TET4, "cells": cells}]


def _hook(material, alpha=0.05):
    pts, cells = _bar()
    h = UT4NodalIntegration(0, material, alpha=alpha)
    h.setup(_System(pts, cells))
    return h, pts, cells


def test_nodal_volumes_partition_the_mesh():
    pts, cells = _bar()
    ptr, nodes, G, V, patch = ut4_points(pts, cells)
    assert V[:patch.size].sum() == pytest.approx(V[patch.size:].sum(), rel=1e-14)
    # each node patch's gradients sum to zero (a rigid translation gives F = I)
    for p in range(patch.size):
        assert np.allclose(G[ptr[p]:ptr[p + 1]].sum(axis=0), 0.0, atol=1e-12)


def test_uniform_strain_needs_no_correction():
    """Under a uniform F every node's averaged F equals the elements' F: the UT4 correction vanishes."""
    h, pts, _ = _hook(NeoHookean(1.0, 0.3))
    F = np.array([[1.1, 0.05, 0.0], [0.02, 0.95, 0.01], [0.0, 0.03, 1.05]])
    f, _, ok = h.evaluate(pts @ F.T - pts, False)
    assert ok and np.abs(f).max() < 1e-13


@pytest.mark.parametrize("material", [NeoHookean(1.0, 0.49), MooneyRivlin(0.3, 0.1, 20.0)])
def test_tangent_is_the_central_difference(material):
    h, pts, _ = _hook(material, alpha=0.05)
    u = 0.05 * np.random.default_rng(1).standard_normal(pts.shape)
    f, K, _ = h.evaluate(u, True)
    K = K.toarray()
    step = 1e-6
    K_fd = np.empty_like(K)
    for j in range(u.size):
        up, um = u.ravel().copy(), u.ravel().copy()
        up[j] += step
        um[j] -= step
        K_fd[:, j] = (h.evaluate(up.reshape(-1, 3), False)[0] - h.evaluate(um.reshape(-1, 3), False)[0]) / (2 * step)
    assert np.abs(f).max() > 1e-3
    assert np.allclose(K, K_fd, atol=1e-7 * np.abs(K_fd).max())
    assert np.allclose(K, K.T, atol=1e-12 * np.abs(K).max())
