"""Rigid bodies: a region (e.g. a bone) that moves with one reference point and six degrees of freedom.

Every node of a rigid region follows the reference point exactly:

.. math::
    \\mathbf u(\\mathbf X) = \\mathbf u_r + (\\mathbf R(\\boldsymbol\\theta) - \\mathbf I)(\\mathbf X - \\mathbf X_r),
    \\qquad \\mathbf R(\\boldsymbol\\theta) = \\exp(\\hat{\\boldsymbol\\theta})

with the total rotation vector :math:`\\boldsymbol\\theta` [rad] (Rodrigues' formula; finite rotations are exact,
valid for :math:`|\\theta| < 2\\pi`). The unknowns of the finite-strain system become
``q = [node displacements..., (u_r, theta) per body]``; node DOFs of rigid nodes stay in ``q`` as inert
placeholders held at zero. With :math:`\\mathbf A = \\partial\\mathbf u / \\partial\\mathbf q`
(:math:`\\partial(\\mathbf R\\mathbf d)/\\partial\\boldsymbol\\theta = -\\widehat{\\mathbf R\\mathbf d}\\,
\\mathbf J_l(\\boldsymbol\\theta)`, :math:`\\mathbf J_l` the left Jacobian of SO(3)), the reduced residual and
tangent are :math:`\\mathbf A^T\\mathbf r` and :math:`\\mathbf A^T\\mathbf K\\mathbf A + \\mathbf G`, where the
rotational block :math:`\\mathbf G = \\partial(\\mathbf A^T \\mathbf f)/\\partial\\boldsymbol\\theta` (at fixed
nodal forces, including an applied moment) is a 3x3 block per body evaluated by central differences of a
closed-form expression (no re-assembly).

An applied force [N] acts at the reference point; an applied moment [N mm] is a spatial (fixed-axis) moment,
whose work-conjugate in :math:`\\boldsymbol\\theta` is :math:`\\mathbf J_l^T \\mathbf M`. Reactions at the reference
point are reported as a force [N] and a spatial moment [N mm] about the current reference point.

A body without a region is a bare reference point: it carries rigid analytical contact surfaces
(:class:`~fesolver.contact.RigidSurface` with ``body = NAME``) that follow its translation, so that a force can
drive an indenter or a ground plane. Such a body translates only (its rotations are held at zero; the moment of
the contact forces about the reference point is its reaction). With ``f_k = p A n`` the contact force on
contact node ``k`` and ``K_k = -d f_k / d x_k`` its tangent block, the body receives ``-sum f_k``; as the gap
depends on ``x_k - u_r``, the coupling blocks are ``-K_k`` between node ``k`` and the body and ``sum K_k`` on
the body's translation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .errors import ModelError
from .loads import RAMP, LoadCurve

__all__ = ["RigidBody", "RigidCoupledSystem", "rotation_matrix", "left_jacobian", "skew", "RIGID_DOFS"]

#: names of the six reference-point DOFs
RIGID_DOFS = {"x": 0, "y": 1, "z": 2, "rx": 3, "ry": 4, "rz": 5}


def skew(v: np.ndarray) -> np.ndarray:
    """Skew matrices ``(..., 3, 3)`` with ``skew(a) @ b = a x b``."""
    v = np.asarray(v, dtype=np.float64)
    S = np.zeros(v.shape[:-1] + (3, 3))
    S[..., 0, 1], S[..., 0, 2] = -v[..., 2], v[..., 1]
    S[..., 1, 0], S[..., 1, 2] = v[..., 2], -v[..., 0]
    S[..., 2, 0], S[..., 2, 1] = -v[..., 1], v[..., 0]
    return S


def rotation_matrix(theta) -> np.ndarray:
    """Rodrigues: ``exp(skew(theta))`` for a rotation vector [rad]."""
    theta = np.asarray(theta, dtype=np.float64)
    t = float(np.linalg.norm(theta))
    W = skew(theta)
    if t < 1e-8:
        return np.eye(3) + W + 0.5 * W @ W
    return np.eye(3) + np.sin(t) / t * W + (1.0 - np.cos(t)) / t**2 * W @ W


def left_jacobian(theta) -> np.ndarray:
    """Left Jacobian of SO(3): ``d(R v) = skew(J_l dtheta) R v``."""
    theta = np.asarray(theta, dtype=np.float64)
    t = float(np.linalg.norm(theta))
    W = skew(theta)
    if t < 1e-6:
        return np.eye(3) + 0.5 * W + W @ W / 6.0
    return np.eye(3) + (1.0 - np.cos(t)) / t**2 * W + (t - np.sin(t)) / t**3 * W @ W


@dataclass(frozen=True)
class RigidBody:
    """A rigid region with a 6-DOF reference point.

    Parameters
    ----------
    region : str or None
        Cell set of the mesh whose elements are rigid (their material is ignored). ``None``: a bare reference
        point that carries rigid analytical contact surfaces (``body = NAME``); it translates only.
    reference : (3,) float, mm, optional
        Reference point; default the centroid of the region's nodes (required without a region).
    prescribed : dict
        DOF (0-2 translation [mm], 3-5 rotation-vector components [rad]) -> value at full load. Unlisted
        DOFs are free.
    force : (3,) N, moment : (3,) N mm
        Applied at the reference point (moment about fixed spatial axes), scaled by ``curve``.
    curve : LoadCurve
    name : str
    """

    region: str | None
    reference: tuple[float, float, float] | None = None
    prescribed: dict[int, float] = field(default_factory=dict)
    force: tuple[float, float, float] = (0.0, 0.0, 0.0)
    moment: tuple[float, float, float] = (0.0, 0.0, 0.0)
    curve: LoadCurve = RAMP
    name: str = "rigid"

    def __post_init__(self):
        bad = [k for k in self.prescribed if k not in range(6)]
        if bad:
            raise ValueError(f"rigid body {self.name!r}: prescribed DOFs must be 0..5 (x y z rx ry rz), got {bad}")
        if self.region is None:
            if self.reference is None:
                raise ValueError(f"rigid body {self.name!r} has no region: give its reference point")
            turned = {k: v for k, v in self.prescribed.items() if k >= 3 and v != 0.0}
            if turned or any(self.moment):
                raise ValueError(f"rigid body {self.name!r} has no region and translates only: it takes no "
                                 f"prescribed rotation or moment")


class RigidCoupledSystem:
    """Wraps a finite-strain system (see :mod:`fesolver.solvers.newton`) with rigid-body constraints."""

    def __init__(self, base, bodies: list[RigidBody], mesh):
        self.base = base
        self.bodies = bodies
        self.mesh = mesh
        nn = mesh.n_nodes
        self.nu = 3 * nn
        self.n_dofs = self.nu + 6 * len(bodies)
        owner = np.full(nn, -1, dtype=np.int64)
        self.nodes, self.arms, self.refs = [], [], []
        for b, body in enumerate(bodies):
            if body.region is None:
                nodes = np.zeros(0, dtype=np.int64)
            elif body.region not in mesh.cell_sets:
                raise ModelError(f"rigid body {body.name!r}: region {body.region!r} is not a cell set of "
                                 f"{mesh.source}; regions: {sorted(mesh.cell_sets)}")
            else:
                nodes = np.unique(np.concatenate([mesh.solids[k].cells[c].ravel()
                                                  for k, c in mesh.cell_sets[body.region].items() if c.size]))
            clash = nodes[owner[nodes] >= 0]
            if clash.size:
                raise ModelError(f"rigid bodies {bodies[owner[clash[0]]].name!r} and {body.name!r} share node "
                                 f"{int(clash[0])}; merge them into one rigid body")
            owner[nodes] = b
            ref = (np.asarray(body.reference, dtype=float) if body.reference is not None
                   else mesh.points[nodes].mean(axis=0))
            self.nodes.append(nodes)
            self.refs.append(ref)
            self.arms.append(mesh.points[nodes] - ref)
        self.owner = owner
        slaved = np.flatnonzero(owner >= 0)
        self.slaved_dofs = (3 * slaved[:, None] + np.arange(3)).ravel()
        bc_fixed = np.setdiff1d(base.fixed_dofs, self.slaved_dofs)
        clash = np.intersect1d(base.fixed_dofs, self.slaved_dofs)
        if clash.size and any(True for bc in base.problem.bcs):
            # nodal BCs on rigid nodes would fight the rigid motion
            node = int(clash[0] // 3)
            if node not in set(base.problem.pattern.isolated_nodes.tolist()):
                raise ModelError(f"node {node} belongs to rigid body {bodies[owner[node]].name!r} and also has a "
                                 f"boundary condition; constrain the rigid body's reference point instead")
        rdofs, self._rvals = [], []
        for b, body in enumerate(bodies):
            held = {k: 0.0 for k in (3, 4, 5)} if body.region is None else {}  # a bare point translates only
            for k, v in {**held, **body.prescribed}.items():
                rdofs.append(self.nu + 6 * b + k)
                self._rvals.append((self.nu + 6 * b + k, float(v), body.curve))
        # rigid analytical contact surfaces carried by bare reference-point bodies
        index = {body.name: b for b, body in enumerate(bodies)}
        self.carried = []
        for c in getattr(base, "contacts", []):
            name = getattr(c, "body", None)
            if name is None:
                continue
            if name not in index:
                raise ModelError(f"contact {c.name!r}: body {name!r} is not a rigid body; rigid bodies: "
                                 f"{sorted(index)}")
            if bodies[index[name]].region is not None:
                raise ModelError(f"contact {c.name!r}: body {name!r} has a region; an analytical surface can only "
                                 f"ride on a rigid body without a region (a bare reference point)")
            if any(c.motion):
                raise ModelError(f"contact {c.name!r}: give either 'motion' or 'body', not both (move the body)")
            self.carried.append((index[name], c))
        self.fixed_dofs = np.unique(np.concatenate([bc_fixed, self.slaved_dofs, np.array(rdofs, dtype=np.int64)]))
        self._f_ext_u = np.zeros(self.nu)
        self._t = 0.0

    # -- maps -----------------------------------------------------------------------------------
    def displacement(self, q: np.ndarray) -> np.ndarray:
        """Nodal displacements ``u (3 nn,)`` of the reduced unknowns ``q`` (also moves the carried surfaces)."""
        for b, c in self.carried:
            c.body_translation = np.array(q[self.nu + 6 * b: self.nu + 6 * b + 3], dtype=float)
        u = q[: self.nu].copy()
        for b in range(len(self.bodies)):
            ur = q[self.nu + 6 * b: self.nu + 6 * b + 3]
            R = rotation_matrix(q[self.nu + 6 * b + 3: self.nu + 6 * b + 6])
            ub = ur + self.arms[b] @ (R.T - np.eye(3))
            u[(3 * self.nodes[b][:, None] + np.arange(3)).ravel()] = ub.ravel()
        return u

    def _A(self, q: np.ndarray) -> sp.csr_matrix:
        """``A = du/dq`` (3 nn x n_q), sparse."""
        nn3 = self.nu
        free_nodes = np.setdiff1d(np.arange(nn3), self.slaved_dofs)
        rows = [free_nodes]
        cols = [free_nodes]
        vals = [np.ones(free_nodes.size)]
        for b in range(len(self.bodies)):
            theta = q[self.nu + 6 * b + 3: self.nu + 6 * b + 6]
            R = rotation_matrix(theta)
            Jl = left_jacobian(theta)
            rd = self.arms[b] @ R.T  # current arms
            dth = -skew(rd) @ Jl  # (n, 3, 3)
            nodes = self.nodes[b]
            dof = 3 * nodes[:, None] + np.arange(3)  # (n, 3)
            c0 = self.nu + 6 * b
            # translation: identity
            rows.append(dof.ravel())
            cols.append(np.repeat(c0 + np.arange(3)[None, :], nodes.size, axis=0).ravel())
            vals.append(np.ones(dof.size))
            # rotation
            rows.append(np.repeat(dof[:, :, None], 3, axis=2).ravel())
            cols.append(np.broadcast_to(c0 + 3 + np.arange(3), (nodes.size, 3, 3)).ravel())
            vals.append(dth.ravel())
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(nn3, self.n_dofs))

    def _moment_term(self, b: int, theta) -> np.ndarray:
        """Generalized force of the applied moment conjugate to theta: ``J_l^T M``."""
        body = self.bodies[b]
        return left_jacobian(theta).T @ (np.asarray(body.moment, dtype=float) * body.curve(self._t))

    def _g(self, b: int, theta, f_nodes) -> np.ndarray:
        """``(d(R d)/d theta)^T f = J_l^T sum(R d x f)`` over the body's nodes."""
        R = rotation_matrix(theta)
        rd = self.arms[b] @ R.T
        return left_jacobian(theta).T @ np.cross(rd, f_nodes).sum(axis=0)

    # -- the system protocol --------------------------------------------------------------------
    def fixed_values(self, t: float) -> np.ndarray:
        base_vals = dict(zip(self.base.fixed_dofs.tolist(), self.base.fixed_values(t).tolist(), strict=True))
        vals = {d: base_vals.get(d, 0.0) for d in self.fixed_dofs.tolist()}
        for d in self.slaved_dofs.tolist():
            vals[d] = 0.0
        for d, v, c in self._rvals:
            vals[d] = v * c(t)
        return np.array([vals[d] for d in self.fixed_dofs.tolist()])

    def external(self, t: float) -> np.ndarray:
        """Reduced external forces; also remembers ``t`` and the nodal loads for the tangent's G term."""
        self._t = t
        fu = self.base.external(t)
        self._f_ext_u = fu
        fq = np.zeros(self.n_dofs)
        fq[: self.nu] = fu
        fq[self.slaved_dofs] = 0.0
        for b, body in enumerate(self.bodies):
            fq[self.nu + 6 * b: self.nu + 6 * b + 3] = (fu.reshape(-1, 3)[self.nodes[b]].sum(axis=0)
                                                        + np.asarray(body.force, dtype=float) * body.curve(t))
        return fq

    def internal(self, q: np.ndarray, want_tangent: bool):
        u = self.displacement(q)
        f_u, K_u, ok = self.base.internal(u, want_tangent)
        A = self._A(q)
        fq = A.T @ f_u
        # external loads on rigid nodes enter through A^T f_ext; their rotational part depends on q, so it is
        # folded into the internal side here (fq - A^T f_ext_rotational) and the external() side carries only
        # the translational sum and the applied force.
        for b in range(len(self.bodies)):
            theta = q[self.nu + 6 * b + 3: self.nu + 6 * b + 6]
            f_ext_nodes = self._f_ext_u.reshape(-1, 3)[self.nodes[b]]
            c0 = self.nu + 6 * b + 3
            fq[c0: c0 + 3] -= self._g(b, theta, f_ext_nodes) + self._moment_term(b, theta)
        carried = [(b, c, *c.nodal(self.base, u.reshape(-1, 3), want_tangent)) for b, c in self.carried]
        for b, _, fa, _ in carried:  # the surface receives -sum(fa): +sum(fa) on the internal side
            fq[self.nu + 6 * b: self.nu + 6 * b + 3] += fa.sum(axis=0)
        if not want_tangent:
            return fq, None, ok
        Kq = A.T @ K_u @ A
        for b, c, _, Kn in carried:
            Kq = Kq + self._carried_tangent(b, c.nodes, Kn, A)
        h = 1e-7
        rows, cols, vals = [], [], []
        for b in range(len(self.bodies)):
            theta = q[self.nu + 6 * b + 3: self.nu + 6 * b + 6]
            f_nodes = (f_u - self._f_ext_u).reshape(-1, 3)[self.nodes[b]]
            G = np.zeros((3, 3))
            for k in range(3):
                e = np.zeros(3)
                e[k] = h
                G[:, k] = ((self._g(b, theta + e, f_nodes) - self._moment_term(b, theta + e))
                           - (self._g(b, theta - e, f_nodes) - self._moment_term(b, theta - e))) / (2 * h)
            # G is symmetric at equilibrium; its symmetric part keeps the symmetric solvers usable and
            # Newton's convergence quadratic near the solution
            G = 0.5 * (G + G.T)
            c0 = self.nu + 6 * b + 3
            idx = c0 + np.arange(3)
            rows.append(np.repeat(idx, 3))
            cols.append(np.tile(idx, 3))
            vals.append(G.ravel())
        if rows:
            Kq = Kq + sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                    shape=Kq.shape)
        return fq, sp.csr_matrix(Kq), ok

    def _carried_tangent(self, b: int, nodes: np.ndarray, Kn: np.ndarray, A) -> sp.csr_matrix:
        """Coupling of a carried surface's contact nodes with body ``b``'s translation (see the module doc)."""
        m = nodes.size
        c0 = self.nu + 6 * b
        dof = 3 * nodes[:, None] + np.arange(3)  # (m, 3)
        bod = np.broadcast_to(c0 + np.arange(3), (m, 3))
        # node rows, body columns: d(f_int node)/du_r = -K_k (in u-space rows, then A^T)
        r1 = np.repeat(dof[:, :, None], 3, axis=2).ravel()
        c1 = np.repeat(bod[:, None, :], 3, axis=1).ravel()
        D = sp.csr_matrix((-Kn.ravel(), (r1, c1)), shape=(self.nu, self.n_dofs))
        # body rows, node columns: d(sum f)/dx_k = -K_k (then times A); body-body: sum K_k
        r2 = np.repeat(bod[:, :, None], 3, axis=2).ravel()
        c2 = np.repeat(dof[:, None, :], 3, axis=1).ravel()
        B = sp.csr_matrix((-Kn.ravel(), (r2, c2)), shape=(self.n_dofs, self.nu))
        E = sp.csr_matrix((Kn.sum(axis=0).ravel(), (np.repeat(c0 + np.arange(3), 3), np.tile(c0 + np.arange(3), 3))),
                          shape=(self.n_dofs, self.n_dofs))
        return A.T @ D + B @ A + E

    def near_null(self, free):
        return None

    @property
    def symmetric(self) -> bool:
        return getattr(self.base, "symmetric", True)

    def commit(self, q: np.ndarray) -> None:
        """A step has converged: pass the node displacements to the wrapped system's history."""
        base_commit = getattr(self.base, "commit", None)
        if base_commit is not None:
            base_commit(self.displacement(q))

    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """The wrapped system's history (contacts), for a restart file."""
        get = getattr(self.base, "checkpoint_state", None)
        return {} if get is None else get()

    def restore_state(self, state: dict[str, np.ndarray]) -> None:
        set_ = getattr(self.base, "restore_state", None)
        if set_ is not None:
            set_(state)

    def augment(self, q: np.ndarray) -> bool:
        """Augmented-Lagrangian update of the contacts of the wrapped system (True: converged)."""
        base_augment = getattr(self.base, "augment", None)
        return True if base_augment is None else base_augment(self.displacement(q))

    def reactions(self, q: np.ndarray, t: float) -> dict[str, dict[str, list[float]]]:
        """Force [N] and spatial moment [N mm] (about the current reference point) each body's supports exert."""
        fq_int, _, _ = self.internal(q, False)
        fq_ext = self.external(t)
        r = fq_int - fq_ext
        out = {}
        for b, body in enumerate(self.bodies):
            c0 = self.nu + 6 * b
            theta = q[c0 + 3: c0 + 6]
            M = np.linalg.solve(left_jacobian(theta).T, r[c0 + 3: c0 + 6])
            out[body.name] = {"force_N": r[c0: c0 + 3].tolist(), "moment_Nmm": M.tolist(),
                              "translation_mm": q[c0: c0 + 3].tolist(), "rotation_rad": theta.tolist()}
        return out
