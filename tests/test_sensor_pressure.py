"""The plate-like plantar pressure (:func:`fesolver.simulate.sensor_pressure`) against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from fesolver.simulate import sensor_pressure


def _grid(n: int, length: float, quadratic: bool = False):
    """A square ``length`` x ``length`` [mm] in the plane z = 0 split into 2 n^2 triangles (tri3, or tri6 with
    mid-side nodes); returns ``(points, facets)``."""
    k = 2 * n + 1 if quadratic else n + 1
    s = np.linspace(0.0, length, k)
    X, Y = np.meshgrid(s, s, indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], axis=1)

    def node(i, j):
        return i * k + j

    tris = []
    d = 2 if quadratic else 1
    for i in range(0, k - 1, d):
        for j in range(0, k - 1, d):
            a, b, c, e = node(i, j), node(i + d, j), node(i + d, j + d), node(i, j + d)
            if quadratic:
                tris.append([a, b, c, node(i + 1, j), node(i + 2, j + 1), node(i + 1, j + 1)])
                tris.append([a, c, e, node(i + 1, j + 1), node(i + 1, j + 2), node(i, j + 1)])
            else:
                tris += [[a, b, c], [a, c, e]]
    return pts, [(None, np.array(tris))]


@pytest.mark.parametrize("quadratic", [False, True])
def test_uniform_pressure_reads_the_pressure(quadratic):
    """Uniform 0.2 MPa over a 60 mm square: every fully covered 1 cm^2 sensor reads 200 kPa (to 0.2 %: the
    samples' quadrature of the square's edges, which the cloud-in-cell deposit blurs by a quarter sensor)."""
    pts, facets = _grid(7, 60.0, quadratic)
    out = sensor_pressure(pts, np.zeros_like(pts), facets, np.full(len(pts), 0.2), (0, 0, 1))
    assert out["peak"] == pytest.approx(200.0, rel=2e-3)


def test_linear_pressure_reads_the_mean_over_the_best_square():
    """p = 0.01 x [MPa, x in mm] over a 60 mm square: the best 10 mm square lies against x = 60, its mean is
    p(55 mm) = 550 kPa; the squares slide in 2.5 mm steps and the samples are binned to them, so the
    reading may fall short by up to one step of the gradient (25 kPa)."""
    pts, facets = _grid(12, 60.0)
    out = sensor_pressure(pts, np.zeros_like(pts), facets, 0.01 * pts[:, 0], (0, 0, 1))
    assert 550.0 - 25.0 - 1e-9 <= out["peak"] <= 550.0 + 1e-9


def test_a_point_load_is_spread_over_the_sensor_and_regions_split_it():
    """One loaded node of a fine mesh: the sensor reads the node's force over 1 cm^2 whatever the mesh spacing
    (a nodal peak would read the pressure itself); deformation moves the load with the skin; a region that does
    not hold the node reads nothing."""
    for n in (30, 60):
        pts, facets = _grid(n, 60.0)
        h = 60.0 / n
        p = np.zeros(len(pts))
        centre = int(np.argmin(np.linalg.norm(pts - [30.0, 30.0, 0.0], axis=1)))
        p[centre] = 1.0  # MPa at one node: force = 1 MPa x the node's share of the hat function's integral
        force = 1.0 * h * h  # integral of a linear hat over its six triangles (2 n^2 triangles of area h^2 / 2)
        u = np.zeros_like(pts)
        u[:, 0] = 5.0  # a rigid slide does not change the reading
        left = pts[:, 0] < 20.0
        out = sensor_pressure(pts, u, facets, p, (0, 0, 1), regions={"left": left, "centre": ~left})
        assert out["peak"] == pytest.approx(1e3 * force / 100.0, rel=1e-9)
        assert out["centre"] == pytest.approx(out["peak"], rel=1e-12)
        assert out["left"] == 0.0


def test_tilted_plane_projects_on_its_own_axes():
    """The same uniform patch rotated by 8 deg about x, read in the plane normal to the rotated normal: 200 kPa
    (0.2 %, as above)."""
    pts, facets = _grid(7, 60.0)
    c, s = np.cos(np.radians(8.0)), np.sin(np.radians(8.0))
    R = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    out = sensor_pressure(pts @ R.T, np.zeros_like(pts), facets, np.full(len(pts), 0.2), R @ [0, 0, 1])
    assert out["peak"] == pytest.approx(200.0, rel=2e-3)


def test_no_contact_reads_zero():
    """A run that stopped before the sole touched (no contact force at all) reads 0, not NaN: the plate's plane
    is the ground's, given by its normal, not the contact force's direction (which is then undefined)."""
    pts, facets = _grid(4, 40.0)
    out = sensor_pressure(pts, np.zeros_like(pts), facets, np.zeros(len(pts)), (0.0, 0.1, 1.0),
                          regions={"heel": pts[:, 0] < 20.0})
    assert out == {"peak": 0.0, "heel": 0.0}
