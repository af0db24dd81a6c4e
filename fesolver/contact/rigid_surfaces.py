r"""Contact of a deformable surface with rigid analytical surfaces (node to surface; frictionless, or
Coulomb friction on planes).

Every node of a facet set carries a tributary area ``A`` [mm^2], lumped from its facets on the reference
configuration (row-sum-free HRZ lumping: ``A_i = A_f int N_i^2 / sum_j int N_j^2``, positive for every facet
type). With ``g(x)`` the signed distance [mm] of the current node position ``x`` to the rigid surface
(positive outside, negative = penetration) and ``n = grad g`` the unit outward normal, the contact pressure
[MPa] is

.. math:: p = \max(0,\ \lambda - \varepsilon g)

with penalty ``eps`` [MPa/mm] and Lagrange multiplier ``lambda`` [MPa]. The node receives the force
``p A n``; its contribution to the internal force is ``-p A n`` and to the tangent

.. math:: K = \varepsilon A\, n \otimes n\ [p > 0] - p A\, \partial n / \partial x ,

``dn/dx`` being the Hessian of the distance (zero for a plane, ``(I - n n) / r`` for a sphere,
``(I - a a - n n) / r`` for a cylinder). The multipliers are updated by Uzawa's augmented-Lagrangian rule
``lambda <- max(0, lambda - eps g)`` after each converged Newton step (see :meth:`RigidSurface.augment`).

Augmentation is converged when ``max |d lambda| A <= tol * max(p A)`` or when the largest penetration is at
most ``gap_tol`` [mm]. The pressure is nominal (force per reference area). The default penalty is
``eps = PENALTY_FACTOR * E_max / h`` (``E_max``: largest small-strain Young's modulus of the deformable
regions that touch the contact surface, :func:`contact_modulus`; ``h``: square root of the mean tributary
area), i.e. a penetration of about a tenth of the local
strain times ``h`` before augmentation; the augmentation removes it, so the result does not depend on ``eps``.

Surfaces move rigidly by ``motion * curve(t)`` [mm] with the load factor ``t``, or, with ``body = NAME``,
follow the translation of a reference-point rigid body (:class:`~fesolver.rigid.RigidBody` without a region)
that a force can drive: the contact forces then act on that body too (see
:class:`~fesolver.rigid.RigidCoupledSystem`), so an indenter or a ground plane can be pushed by a given load
instead of a given displacement. Such a body translates only (its rotations are held; the moment the contact
exerts about its reference point is reported as the reaction). The deformable body lies on the side the
normal points to (outside a sphere, cylinder or ellipsoid).

**Friction** (planes only; Coulomb coefficient ``friction``): each contact node keeps the tangential traction
``t_n`` [MPa] and its position relative to the plane ``x_n`` at the last converged step. With ``P = I - n n``
the trial traction is ``t* = t_n - eps_T P (x - x_n)`` (stick regularised by the tangential penalty ``eps_T``
[MPa/mm], default ``eps``: an elastic slip ``|t| / eps_T``) and the return map gives ``t = t*`` when
``|t*| <= friction p`` (stick) and ``t = friction p t* / |t*|`` otherwise (slip). The node receives
``A (p n + t)``; the tangent adds ``A eps_T P`` at stick and ``A (friction eps s n^T + friction p eps_T /
|t*| (P - s s^T))`` at slip (``s = t* / |t*|``), which is unsymmetric (the linear solver then uses an
unsymmetric factorisation). The history moves when the next step starts (``commit``).

A node that lands during a step (off the plane at the last converged step: effective gap ``h_n = g_n -
lambda_n / eps > 0``, so ``p_n = 0``) carries no friction until that step has converged, and its stick point is
where it stands then. Counting instead the whole step's tangential motion as slip, as for a node that was in
contact, also counts the motion it made in the air: on a tilted plane that the sole meets node by node, the
landing nodes at the edge of the contact then took trial tractions 10-100 times their slip limit and turned
their slip directions from one Newton iteration to the next. Both rules are first order in the step size at the
contact's moving edge, where the pressure is small; the solution does not depend on the choice as the steps
shrink. Limits: no self-contact;
friction on curved rigid surfaces or on a body-driven plane is not implemented (mesh the surface as a rigid
body's region and use :class:`~fesolver.contact.SurfaceContact`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelError
from ..loads import RAMP, LoadCurve, Selection

__all__ = ["RigidSurface", "RigidPlane", "RigidSphere", "RigidCylinder", "RigidEllipsoid", "tributary_areas",
           "PENALTY_FACTOR", "contact_modulus"]

log = logging.getLogger(__name__)

#: default penalty: ``eps = PENALTY_FACTOR * E_max / h`` with ``E_max`` the largest small-strain Young's modulus
#: of the model's materials and ``h`` the square root of the mean tributary area of the contact nodes
PENALTY_FACTOR = 10.0


def contact_modulus(problem, nodes: np.ndarray) -> float:
    """Largest small-strain Young's modulus [MPa] of the deformable regions whose elements hold any of
    ``nodes`` (the contact surface's nodes): the material the penalty has to match. Rigid-body regions are
    skipped (their material is ignored by the solve), and so are stiff regions away from the surface (bones
    inside soft tissue), which would make the default penalty orders of magnitude too stiff. Falls back to
    every deformable region when no region touches ``nodes``."""
    rigid = {b.region for b in getattr(problem, "rigid_bodies", ()) if getattr(b, "region", None)}
    mesh = problem.mesh
    on = np.zeros(mesh.n_nodes, dtype=bool)
    on[np.asarray(nodes, dtype=np.int64)] = True

    def E_of(m):
        if getattr(m, "graded", False):  # a graded mixture: its stiffer end (E is monotone in the fraction)
            return max(E_of(c) for c in m.constituents)
        return float(m.small_strain_moduli()[0]) if hasattr(m, "small_strain_moduli") else float(m.E)

    near, every = 0.0, 0.0
    for region, m in problem.materials.items():
        if region in rigid:
            continue
        every = max(every, E_of(m))
        touches = any(on[mesh.solids[b].cells[idx]].any() for b, idx in mesh.cell_sets.get(region, {}).items())
        if touches:
            near = max(near, E_of(m))
    return near if near > 0.0 else every


def tributary_areas(points: np.ndarray, facets: list) -> tuple[np.ndarray, np.ndarray]:
    """``(nodes (m,), area (m,) mm^2)``: HRZ-lumped reference area of each node of the facets.

    ``facets`` is a list of ``(facet type, conn (nf, nfn))``.
    """
    nn = points.shape[0]
    acc = np.zeros(nn)
    for ftype, conn in facets:
        conn = np.asarray(conn, dtype=np.int64)
        xi, w = ftype.rule(None)
        N = ftype.shape(xi)  # (nq, nfn)
        dN = ftype.dshape(xi)  # (nq, nfn, 2)
        x = points[conn]  # (nf, nfn, 3)
        g0 = np.einsum("qa,fai->fqi", dN[:, :, 0], x)
        g1 = np.einsum("qa,fai->fqi", dN[:, :, 1], x)
        jac = np.linalg.norm(np.cross(g0, g1), axis=2) * w  # (nf, nq)
        area = jac.sum(axis=1)
        m2 = np.einsum("fq,qa->fa", jac, N * N)
        lumped = area[:, None] * m2 / m2.sum(axis=1, keepdims=True)
        np.add.at(acc, conn.ravel(), lumped.ravel())
    nodes = np.flatnonzero(acc > 0.0)
    return nodes, acc[nodes]


@dataclass(eq=False)
class RigidSurface:
    """Base class: a rigid surface in frictionless contact with the nodes of a facet set.

    Parameters
    ----------
    surface : str or Selection
        Facet set (by name) or box of boundary facets of the deformable body.
    name : str
    motion : (3,) float, mm
        Translation of the surface at ``curve(t) = 1``.
    curve : LoadCurve
    penalty : float, MPa/mm, optional
        ``eps``; default ``PENALTY_FACTOR * E_max / h`` (see :data:`PENALTY_FACTOR`).
    augment : bool
        Uzawa updates of the multipliers (off: pure penalty).
    tol : float
        Augmentation converged when ``max |d lambda| A <= tol * max(p A)``, or
    gap_tol : float, mm
        when the largest penetration is at most ``gap_tol``.
    body : str, optional
        Name of a reference-point rigid body (no region) whose translation the surface follows, in addition
        to ``motion``; the contact forces act on that body.
    friction : float
        Coulomb coefficient (0: frictionless; planes without ``body`` only).
    tangential_penalty : float, MPa/mm, optional
        ``eps_T`` of the stick regularisation; default ``eps``.
    """

    surface: object = None
    name: str = "contact"
    motion: tuple = (0.0, 0.0, 0.0)
    curve: LoadCurve = RAMP
    penalty: float | None = None
    augmentation: bool = True
    tol: float = 1e-3
    gap_tol: float = 1e-6
    body: str | None = None
    friction: float = 0.0
    tangential_penalty: float | None = None
    _ready: bool = field(default=False, init=False, repr=False)
    #: translation [mm] of the carrying rigid body, set by RigidCoupledSystem from its unknowns
    body_translation: np.ndarray = field(default_factory=lambda: np.zeros(3), init=False, repr=False)

    def __post_init__(self):
        if not (self.friction >= 0.0 and np.isfinite(self.friction)):
            raise ModelError(f"contact {self.name!r}: friction must be a finite number >= 0, got {self.friction!r}")
        if self.tangential_penalty is not None and not (self.tangential_penalty > 0.0):
            raise ModelError(f"contact {self.name!r}: tangential_penalty must be > 0 MPa/mm, "
                             f"got {self.tangential_penalty!r}")
        if self.friction > 0.0 and not isinstance(self, RigidPlane):
            raise ModelError(f"contact {self.name!r}: friction is implemented for rigid planes only, not for a "
                             f"{type(self).__name__} (mesh the surface and use a surface-to-surface contact)")
        if self.friction > 0.0 and self.body is not None:
            raise ModelError(f"contact {self.name!r}: friction on a plane driven by body {self.body!r} is not "
                             f"implemented (give the plane a 'motion' instead)")

    @property
    def symmetric_tangent(self) -> bool:
        """The tangent is symmetric (False with friction)."""
        return self.friction == 0.0

    # -- geometry (subclasses) ------------------------------------------------------------------
    def distance(self, x: np.ndarray):
        """``(g (m,), n (m, 3), H (m, 3, 3) = dn/dx)`` of points ``x (m, 3)`` relative to the surface at rest."""
        raise NotImplementedError

    def grad_distance(self, x: np.ndarray, n: np.ndarray) -> np.ndarray:
        """``dg/dx (m, 3)``; equal to ``n`` for an exact signed distance."""
        return n

    # -- setup ----------------------------------------------------------------------------------
    def setup(self, system) -> None:
        problem = system.problem
        mesh = problem.mesh
        sel = self.surface if isinstance(self.surface, Selection) else Selection(name=self.surface)
        self.nodes, self.area = tributary_areas(mesh.points, sel.facets(mesh))
        if self.nodes.size == 0:
            raise ModelError(f"contact {self.name!r}: {sel.describe()} has no facets")
        if self.penalty is None:
            h = float(np.sqrt(self.area.mean()))
            self.eps = PENALTY_FACTOR * contact_modulus(problem, self.nodes) / h
        else:
            self.eps = float(self.penalty)
        self.lam = np.zeros(self.nodes.size)
        self.eps_t = self.eps if self.tangential_penalty is None else float(self.tangential_penalty)
        # friction history: positions relative to the surface and tangential tractions at the last converged step
        self.x_n = mesh.points[self.nodes] - self.offset(0.0)
        self.t_n = np.zeros((self.nodes.size, 3))
        self.h_n = self._effective_gap(self.x_n)
        # CSR positions of the 3x3 diagonal blocks of the contact nodes: row 3A+i, column 3A+j
        pat = system.pattern
        indptr, indices = pat.row_starts, pat.indices
        pos = np.empty((self.nodes.size, 3, 3), dtype=np.int64)
        for k, a in enumerate(self.nodes):
            for i in range(3):
                r0, r1 = indptr[3 * a + i], indptr[3 * a + i + 1]
                j0 = r0 + int(np.searchsorted(indices[r0:r1], 3 * a))
                pos[k, i] = j0 + np.arange(3)
        self._pos = pos
        self._ready = True

    def offset(self, t: float) -> np.ndarray:
        """Translation of the surface [mm] at load factor ``t``: prescribed motion plus the body's translation."""
        return np.asarray(self.motion, dtype=float) * self.curve(t) + self.body_translation

    def state(self, system, u3: np.ndarray):
        """``(g, n, H, p)`` at the contact nodes for displacement ``u3 (nn, 3)`` at the system's load factor."""
        if not self._ready:
            self.setup(system)
        x = system.points[self.nodes] + u3[self.nodes] - self.offset(getattr(system, "t", 1.0))
        g, n, H = self.distance(x)
        p = np.maximum(0.0, self.lam - self.eps * g)
        return g, n, H, p

    # -- the hooks of FiniteStrainSystem ----------------------------------------------------------
    def nodal(self, system, u3: np.ndarray, want_tangent: bool):
        """``(fa (m, 3) N, Kn (m, 3, 3) N/mm or None)``: the contact force ``p A n`` on each contact node and its
        derivative with respect to the node's position (``-d fa / dx``, the node's tangent block). The surface
        receives ``-fa``; moving the surface by ``du`` changes ``fa`` by ``Kn du``."""
        g, n, H, p = self.state(system, u3)
        fa = (p * self.area)[:, None] * n
        if self.friction == 0.0 and not want_tangent:
            return fa, None
        x = system.points[self.nodes] + u3[self.nodes] - self.offset(getattr(system, "t", 1.0))
        if self.friction > 0.0:
            tr, dtr = self._friction(x, n, g, p, want_tangent)
            fa = fa + self.area[:, None] * tr
        if not want_tangent:
            return fa, None
        # nodes just touching (g = 0, lambda = 0) count as active in the tangent: a surface driven by a force
        # from first touch then has a stiffness along its motion
        active = (self.lam - self.eps * g >= 0.0).astype(float)
        dg = self.grad_distance(x, n)
        Kn = (self.eps * self.area * active)[:, None, None] * np.einsum("ki,kj->kij", n, dg)
        Kn -= (p * self.area)[:, None, None] * H
        if self.friction > 0.0:
            Kn -= self.area[:, None, None] * dtr
        return fa, Kn

    def _effective_gap(self, x: np.ndarray) -> np.ndarray:
        """``h = g - lambda / eps`` [mm] at relative positions ``x`` (``p = max(0, -eps h)``): > 0 off the plane."""
        return self.distance(x)[0] - self.lam / self.eps

    def _friction(self, x: np.ndarray, n: np.ndarray, g: np.ndarray, p: np.ndarray, want_tangent: bool):
        """Tangential traction ``t (m, 3)`` [MPa] of the Coulomb return map at relative positions ``x`` and its
        derivative ``dt/dx (m, 3, 3)`` (None without ``want_tangent``); planes only (``n`` constant). Nodes
        landing in this step (``h_n > 0``) carry none (module docstring)."""
        P = np.eye(3)[None] - np.einsum("ki,kj->kij", n, n)
        ttr = np.einsum("kij,kj->ki", P, self.t_n) - self.eps_t * np.einsum("kij,kj->ki", P, x - self.x_n)
        tn = np.linalg.norm(ttr, axis=1)
        lim = self.friction * p
        held = self.h_n <= 0.0  # in contact (or just touching) at the last converged step
        stick = (tn <= lim) & (p > 0.0) & held
        slip = (tn > lim) & (p > 0.0) & held
        s = ttr / np.where(tn > 0.0, tn, 1.0)[:, None]
        t = np.where(stick[:, None], ttr, np.where(slip[:, None], lim[:, None] * s, 0.0))
        if not want_tangent:
            return t, None
        touching = self.lam - self.eps * g >= 0.0
        active = touching & (p > 0.0)
        dt = np.zeros((x.shape[0], 3, 3))
        # a node just touching (p = 0) sticks in the tangent, as it counts as active in the normal direction
        stuck = stick | (touching & (p == 0.0) & held)
        dt[stuck] = -self.eps_t * P[stuck]
        if slip.any():
            ss = np.einsum("ki,kj->kij", s[slip], s[slip])
            c = (lim[slip] * self.eps_t / tn[slip])[:, None, None]
            dp = -self.eps * n[slip] * active[slip][:, None]  # dp/dx
            dt[slip] = self.friction * np.einsum("ki,kj->kij", s[slip], dp) - c * (P[slip] - ss)
        return t, dt

    def commit(self, system, u3: np.ndarray) -> None:
        """A step has converged at ``u3``: store the friction history (positions, tractions, effective gaps)."""
        if self.friction == 0.0 or not self._ready:
            return
        g, n, _, p = self.state(system, u3)
        x = system.points[self.nodes] + u3[self.nodes] - self.offset(getattr(system, "t", 1.0))
        self.t_n, _ = self._friction(x, n, g, p, False)
        self.x_n = x
        self.h_n = g - self.lam / self.eps

    def add(self, system, u3: np.ndarray, f: np.ndarray, data: np.ndarray | None) -> None:
        """Add the contact internal force ``-A (p n + t)`` (``t`` = 0 without friction) to ``f`` and, if ``data``
        is given, the tangent."""
        fa, Kn = self.nodal(system, u3, data is not None)
        np.subtract.at(f, (3 * self.nodes[:, None] + np.arange(3)).ravel(), fa.ravel())
        if data is not None:
            np.add.at(data, self._pos.ravel(), Kn.ravel())

    def augment(self, system, u3: np.ndarray) -> bool:
        """Uzawa update ``lambda <- max(0, lambda - eps g)``; True (and no update) when converged."""
        if not self.augmentation:
            return True
        g, _, _, p = self.state(system, u3)
        dlam = p - self.lam
        fmax = float(np.max(p * self.area)) if p.size else 0.0
        pen = float(np.max(-g, initial=0.0))
        if np.max(np.abs(dlam) * self.area, initial=0.0) <= self.tol * fmax or pen <= self.gap_tol:
            return True
        self.lam = p.copy()
        log.debug("contact %s: augmentation, max penetration %.3g mm", self.name, pen)
        return False

    def checkpoint_state(self, system) -> dict[str, np.ndarray]:
        """The contact's history (multipliers, friction tractions and positions) for a restart file."""
        if not self._ready:
            self.setup(system)
        return {"lam": self.lam, "t_n": self.t_n, "x_n": self.x_n}

    def restore_state(self, system, state: dict[str, np.ndarray]) -> None:
        """Set the history saved by :meth:`checkpoint_state`."""
        if not self._ready:
            self.setup(system)
        restore_arrays(self, self.name, state, {"lam": self.lam.shape, "t_n": self.t_n.shape, "x_n": self.x_n.shape})
        # a restart file is written at a converged step: its multipliers are the committed ones
        self.h_n = self._effective_gap(self.x_n)

    def report(self, system, u3: np.ndarray) -> dict:
        """Nodal pressure/gap and the contact summary (peak and mean pressure, area, force, centre of pressure)."""
        g, n, _, p = self.state(system, u3)
        fa = (p * self.area)[:, None] * n
        friction_force, sliding = np.zeros(3), 0
        if self.friction > 0.0:
            x = system.points[self.nodes] + u3[self.nodes] - self.offset(getattr(system, "t", 1.0))
            tr, _ = self._friction(x, n, g, p, False)
            friction_force = (self.area[:, None] * tr).sum(axis=0)
            sliding = int(np.sum((p > 0.0) & (np.linalg.norm(tr, axis=1) >= self.friction * p * (1.0 - 1e-12))))
        act = p > 0.0
        area = float(self.area[act].sum())
        force = fa.sum(axis=0)
        x = system.points[self.nodes] + u3[self.nodes]
        w = p * self.area
        cop = (w[:, None] * x).sum(axis=0) / w.sum() if w.sum() > 0 else np.full(3, np.nan)
        return {
            "nodes": self.nodes, "pressure": p, "gap": g,
            "summary": {
                "type": type(self).__name__,
                "peak_pressure_MPa": float(p.max(initial=0.0)),
                "mean_pressure_MPa": float(w.sum() / area) if area > 0 else 0.0,
                "contact_area_mm2": area,
                "normal_force_N": float(np.linalg.norm(force)),
                "force_N": force.tolist(),
                "centre_of_pressure_mm": cop.tolist(),
                "max_penetration_mm": float(np.max(-g, initial=0.0)),
                "active_nodes": int(act.sum()),
                "penalty_MPa_per_mm": self.eps,
                "friction": self.friction,
                "friction_force_N": friction_force.tolist(),
                "sliding_nodes": sliding,
            },
        }


def restore_arrays(obj, name: str, state: dict, shapes: dict[str, tuple], target=None) -> None:
    """Set the arrays ``state[key]`` as attributes of ``target`` (default ``obj``) after checking their shapes
    against ``shapes`` (a restart file written for another model is refused, naming the contact and the key)."""
    for key, shape in shapes.items():
        if key not in state:
            raise ModelError(f"contact {name!r}: the restart state has no {key!r}")
        a = np.asarray(state[key])
        if a.shape != tuple(shape):
            raise ModelError(f"contact {name!r}: the restart state's {key!r} has shape {a.shape}, this model's "
                             f"{tuple(shape)}")
        setattr(target if target is not None else obj, key, a.copy())


def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


@dataclass(eq=False)
class RigidPlane(RigidSurface):
    """Plane through ``point`` with unit ``normal`` pointing towards the deformable body."""

    point: tuple = (0.0, 0.0, 0.0)
    normal: tuple = (0.0, 0.0, 1.0)

    def distance(self, x):
        nrm = _unit(self.normal)
        g = (x - np.asarray(self.point, dtype=float)) @ nrm
        n = np.broadcast_to(nrm, x.shape).copy()
        return g, n, np.zeros((x.shape[0], 3, 3))


@dataclass(eq=False)
class RigidSphere(RigidSurface):
    """Sphere of ``radius`` [mm] about ``centre``; the body is outside."""

    centre: tuple = (0.0, 0.0, 0.0)
    radius: float = 1.0

    def distance(self, x):
        d = x - np.asarray(self.centre, dtype=float)
        r = np.linalg.norm(d, axis=1)
        n = d / r[:, None]
        H = (np.eye(3)[None] - np.einsum("ki,kj->kij", n, n)) / r[:, None, None]
        return r - self.radius, n, H


@dataclass(eq=False)
class RigidCylinder(RigidSurface):
    """Infinite circular cylinder of ``radius`` about the line through ``point`` along ``axis``; body outside."""

    point: tuple = (0.0, 0.0, 0.0)
    axis: tuple = (0.0, 0.0, 1.0)
    radius: float = 1.0

    def distance(self, x):
        a = _unit(self.axis)
        d = x - np.asarray(self.point, dtype=float)
        dp = d - np.outer(d @ a, a)
        r = np.linalg.norm(dp, axis=1)
        n = dp / r[:, None]
        H = (np.eye(3) - np.outer(a, a))[None] - np.einsum("ki,kj->kij", n, n)
        return r - self.radius, n, H / r[:, None, None]


@dataclass(eq=False)
class RigidEllipsoid(RigidSurface):
    """Axis-aligned ellipsoid about ``centre`` with ``semi_axes`` [mm]; body outside.

    The signed distance is the *scaled-gradient* first-order estimate ``g = (F - 1) / |grad F|`` with
    ``F = |D^-1 (x - c)|``, ``D = diag(semi_axes)`` (exact on the surface to first order, exact everywhere for
    a sphere), ``n = grad F / |grad F|``; ``dn/dx`` and ``dg/dx`` (not exactly ``n`` off the surface, so the
    tangent is slightly unsymmetric) are central differences.
    """

    centre: tuple = (0.0, 0.0, 0.0)
    semi_axes: tuple = (1.0, 1.0, 1.0)

    def _gn(self, x):
        s = np.asarray(self.semi_axes, dtype=float)
        d = x - np.asarray(self.centre, dtype=float)
        F = np.linalg.norm(d / s, axis=1)
        gradF = d / (s * s) / F[:, None]
        gn = np.linalg.norm(gradF, axis=1)
        return (F - 1.0) / gn, gradF / gn[:, None]

    def distance(self, x):
        g, n = self._gn(x)
        h = 1e-6 * float(np.max(self.semi_axes))
        H = np.empty((x.shape[0], 3, 3))
        for j in range(3):
            e = np.zeros(3)
            e[j] = h
            H[:, :, j] = (self._gn(x + e)[1] - self._gn(x - e)[1]) / (2 * h)
        return g, n, H

    def grad_distance(self, x, n):
        h = 1e-6 * float(np.max(self.semi_axes))
        out = np.empty_like(x)
        for j in range(3):
            e = np.zeros(3)
            e[j] = h
            out[:, j] = (self._gn(x + e)[0] - self._gn(x - e)[0]) / (2 * h)
        return out
