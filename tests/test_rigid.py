"""Rigid bodies: exact finite rotations, reactions at the reference point, Newton convergence."""

from __future__ import annotations

import numpy as np
import pytest
from meshgen import box_hex

from fesolver.elements import HEX8
from fesolver.loads import FixedDisplacement, Selection
from fesolver.materials import NeoHookean
from fesolver.mesh import Mesh, SolidBlock
from fesolver.nonlinear import FiniteStrainSystem
from fesolver.problem import Problem
from fesolver.rigid import RigidBody, left_jacobian, rotation_matrix, skew


def stacked(n=2):
    """Two unit-height blocks 10 x 10 x 10 mm stacked in z: 'soft' (z 0..10) below 'bone' (z 10..20)."""
    pts, hexes = box_hex((n, n, 2 * n), hi=(10.0, 10.0, 20.0))
    zc = pts[hexes].mean(axis=1)[:, 2]
    mesh = Mesh(pts, [SolidBlock(HEX8, hexes)],
                cell_sets={"soft": {0: np.flatnonzero(zc < 10)}, "bone": {0: np.flatnonzero(zc > 10)}})
    return mesh


def base_fixed():
    return FixedDisplacement(Selection(box=((-1, -1, -1), (11, 11, 0))), {0: 0.0, 1: 0.0, 2: 0.0}, "base")


def test_rotation_helpers():
    theta = np.array([0.3, -1.2, 0.7])
    R = rotation_matrix(theta)
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-14) and np.isclose(np.linalg.det(R), 1.0)
    # d(R v)/dtheta = -skew(R v) J_l, checked by central differences
    v = np.array([1.0, 2.0, -0.5])
    h = 1e-6
    fd = np.column_stack([(rotation_matrix(theta + h * e) @ v - rotation_matrix(theta - h * e) @ v) / (2 * h)
                          for e in np.eye(3)])
    assert np.allclose(fd, -skew(R @ v) @ left_jacobian(theta), atol=1e-8)


def test_rigid_rotation_90_degrees_moves_nodes_exactly():
    mesh = stacked()
    ref = (5.0, 5.0, 15.0)
    bone = RigidBody("bone", reference=ref, prescribed={0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: np.pi / 2},
                     name="bone")
    p = Problem(mesh, {"soft": NeoHookean(E=1.0, nu=0.3), "bone": NeoHookean(E=1.0, nu=0.3)},
                bcs=[base_fixed()], rigid_bodies=[bone])
    r = p.solve()
    R = rotation_matrix([0.0, 0.0, np.pi / 2])
    nodes = np.unique(mesh.solids[0].cells[mesh.cell_sets["bone"][0]])
    d = mesh.points[nodes] - np.array(ref)
    assert np.allclose(r.displacement[nodes], d @ R.T - d, atol=1e-12)
    # the twisted soft block holds the bone: the torque at the base balances the bone's reaction moment
    rb = r.rigid["bone"]
    assert np.isclose(rb["rotation_rad"][2], np.pi / 2)
    assert abs(rb["moment_Nmm"][2]) > 1.0
    # Newton converged quadratically in the last step
    res = r.steps[-1].residuals
    assert res[-1] < 1e-8


def test_force_and_moment_on_rigid_body_give_reactions():
    mesh = stacked()
    F = np.array([0.0, 0.0, -2.0])  # N, presses the soft block
    M = np.array([0.5, 0.0, 0.0])  # N mm about x
    bone = RigidBody("bone", reference=(5.0, 5.0, 15.0), force=tuple(F), moment=tuple(M), name="bone")
    p = Problem(mesh, {"soft": NeoHookean(E=1.0, nu=0.3), "bone": NeoHookean(E=1.0, nu=0.3)},
                bcs=[base_fixed()], rigid_bodies=[bone])
    r = p.solve()
    # the base carries the applied force
    assert np.allclose(r.reactions["base"], -F, rtol=1e-6, atol=1e-8)
    # moment balance about the origin: base reaction moment = -(M + x_ref_current x F)
    u = r.displacement
    base_nodes = Selection(box=((-1, -1, -1), (11, 11, 0))).nodes(mesh)
    f_int, _, _ = FiniteStrainSystem(p).internal(u.ravel(), False)
    fb = f_int.reshape(-1, 3)[base_nodes]  # support reactions on the body (no external load at the base)
    x = mesh.points[base_nodes] + u[base_nodes]
    m_base = np.cross(x, fb).sum(axis=0)
    xr = np.array([5.0, 5.0, 15.0]) + np.array(r.rigid["bone"]["translation_mm"])
    assert np.allclose(m_base + M + np.cross(xr, F), 0.0, atol=1e-6)
    # the block rotated about x in the sense of the moment
    assert r.rigid["bone"]["rotation_rad"][0] > 0


def test_rigid_region_must_exist():
    mesh = stacked()
    with pytest.raises(Exception, match="femur"):
        Problem(mesh, {"all": NeoHookean(E=1.0, nu=0.3)}, bcs=[base_fixed()],
                rigid_bodies=[RigidBody("femur", name="femur")]).solve()
