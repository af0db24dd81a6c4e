"""The plantar outline of the parametric foot, shared by the foot and the insole builders.

Right foot, mm, ``x`` anterior (heel at 0, toe tip at ``L``), ``y`` medial. The control points are fractions
of the foot length ``L`` chosen to match average adult proportions: ball width (first to fifth metatarsal head)
about 0.38 L at 0.62-0.72 L, heel width about 0.25 L at 0.15 L (foot-length/width ratios of adult feet,
e.g. Hawes & Sovak (1994) Ergonomics 37:1213, "Quantitative morphology of the human foot in a North American
population": mean foot breadth/length about 0.38-0.40). They describe a generic foot, not a subject.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

__all__ = ["plantar_outline", "width_at"]

# (x / L, y / L) going round the outline counter-clockwise seen from above (+z): heel, lateral border
# forward, toes, medial border back
_CONTROL = np.array([
    [0.000, 0.005], [0.030, -0.085], [0.150, -0.122], [0.300, -0.150], [0.450, -0.172], [0.620, -0.205],
    [0.720, -0.195], [0.830, -0.160], [0.900, -0.110], [0.960, -0.030], [0.995, 0.060], [0.990, 0.110],
    [0.950, 0.150], [0.880, 0.165], [0.720, 0.172], [0.550, 0.140], [0.400, 0.128], [0.250, 0.128],
    [0.120, 0.125], [0.030, 0.095],
])


def plantar_outline(length: float, n: int = 96, side: str = "right") -> np.ndarray:
    """``(n, 2)`` points [mm] of the closed foot outline (not repeating the first point), counter-clockwise
    for a right foot; ``side = "left"`` mirrors ``y``."""
    if length <= 0:
        raise ValueError(f"foot length must be positive, got {length}")
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    c = np.vstack([_CONTROL, _CONTROL[:1]])
    d = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))]
    spline = CubicSpline(d, c, bc_type="periodic")
    pts = spline(np.linspace(0.0, d[-1], n, endpoint=False)) * length
    if side == "left":
        pts = pts[::-1] * [1.0, -1.0]
    return pts


def width_at(length: float, x: float | np.ndarray, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """``(y_lateral, y_medial)`` [mm] of the right foot's outline at ``x`` [mm] (0 < x < L)."""
    pts = plantar_outline(length, n)
    x = np.atleast_1d(np.asarray(x, dtype=float))
    lat, med = np.empty_like(x), np.empty_like(x)
    for k, xv in enumerate(x):
        a, b = pts, np.roll(pts, -1, axis=0)
        hit = (a[:, 0] - xv) * (b[:, 0] - xv) <= 0.0
        hit &= a[:, 0] != b[:, 0]
        t = (xv - a[hit, 0]) / (b[hit, 0] - a[hit, 0])
        ys = a[hit, 1] + t * (b[hit, 1] - a[hit, 1])
        if ys.size < 2:
            raise ValueError(f"x = {xv} mm is outside the foot (0 .. {length})")
        lat[k], med[k] = ys.min(), ys.max()
    return lat, med
