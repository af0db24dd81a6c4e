"""Kinetic chain: published figures by default, directions of each effect, overrides, equilibrium."""
from __future__ import annotations

import math

import numpy as np
import pytest

from fesolver.chain import COEFFICIENTS, chain_loads, stance_phase
from fesolver.scenario import parse_scenario


def scn(**sections):
    return parse_scenario(sections, "test.toml")


def test_standing_knee_is_1_07_bw_split_by_share():
    c = chain_loads(scn(gait={"instant": "standing"}))
    bw = 70 * 9.81
    assert c.knee.compressive_force_N == pytest.approx(1.07 * bw)
    assert c.knee.medial_force_N + c.knee.lateral_force_N == pytest.approx(c.knee.compressive_force_N)
    assert c.knee.medial_share == pytest.approx(COEFFICIENTS["medial_share_standing"].value)
    assert c.foot.ground_force_N == pytest.approx(0.5 * bw)


def test_single_leg_and_walking_peak():
    bw = 70 * 9.81
    assert chain_loads(scn(gait={"instant": "single_leg_stance"})).knee.compressive_force_N == pytest.approx(
        2.59 * bw)
    assert chain_loads(scn(gait={"instant": "loading_response"})).knee.compressive_force_N == pytest.approx(
        2.61 * bw)


def test_linear_in_mass():
    a = chain_loads(scn(subject={"body_mass_kg": 60.0}))
    b = chain_loads(scn(subject={"body_mass_kg": 120.0}))
    assert b.foot.ground_force_N == pytest.approx(2 * a.foot.ground_force_N)
    assert b.knee.compressive_force_N == pytest.approx(2 * a.knee.compressive_force_N)
    assert b.foot.achilles_force_N == pytest.approx(2 * a.foot.achilles_force_N)


def test_pronation_rotates_tibia_and_moves_cop_medially():
    n = chain_loads(scn())
    p = chain_loads(scn(foot={"eversion_deg": 8.0}))
    assert p.knee.tibial_rotation_deg - n.knee.tibial_rotation_deg == pytest.approx(0.68 * 8.0)
    assert p.foot.centre_of_pressure[1] > n.foot.centre_of_pressure[1]
    s = chain_loads(scn(foot={"eversion_deg": -8.0}))
    assert s.foot.centre_of_pressure[1] < n.foot.centre_of_pressure[1]


def test_wedges():
    n = chain_loads(scn())
    lat = chain_loads(scn(orthotic={"type": "insole", "posting_deg": -5.0}))
    assert lat.knee.medial_share < n.knee.medial_share
    assert lat.knee.adduction_moment_change < 0
    base = {"eversion_deg": 8.0}
    p = chain_loads(scn(foot=base))
    m = chain_loads(scn(foot=base, orthotic={"type": "insole", "posting_deg": 5.0}))
    assert m.knee.tibial_rotation_deg < p.knee.tibial_rotation_deg
    assert m.foot.ground_tilt_deg == pytest.approx(8.0 - 1.62)


def test_knee_pain_antalgic():
    n = chain_loads(scn())
    pain = chain_loads(scn(antalgic={"painful_joint": "knee"}))
    other = chain_loads(scn(antalgic={"painful_joint": "knee", "painful_side": "other"}))
    assert pain.knee.compressive_force_N < n.knee.compressive_force_N < other.knee.compressive_force_N
    assert pain.foot.ground_force_N < n.foot.ground_force_N < other.foot.ground_force_N
    assert pain.knee.flexion_deg < n.knee.flexion_deg
    assert pain.knee.tibial_rotation_deg < n.knee.tibial_rotation_deg  # external
    assert pain.foot.heel_load_factor > 1


def test_heel_pain():
    for sev in (0.5, 1.0, 2.0):
        c = chain_loads(scn(antalgic={"painful_joint": "heel", "severity": sev}))
        assert c.foot.heel_load_factor == pytest.approx(1 - 0.086 * sev)
    o = chain_loads(scn(antalgic={"painful_joint": "heel", "painful_side": "other"}))
    assert o.foot.heel_load_factor == pytest.approx(1.119)


def test_scenario_overrides_win():
    c = chain_loads(scn(knee={"compressive_force_N": 1000.0, "medial_share": 0.5, "flexion_deg": 30.0,
                              "tibial_rotation_deg": 4.0}, muscles={"achilles_force_N": 321.0},
                        antalgic={"painful_joint": "heel", "heel_load_change": 0.2}))
    assert (c.knee.compressive_force_N, c.knee.medial_force_N, c.knee.flexion_deg,
            c.knee.tibial_rotation_deg, c.foot.achilles_force_N) == (1000.0, 500.0, 30.0, 4.0, 321.0)
    assert c.foot.heel_load_factor == pytest.approx(1.2)
    f = chain_loads(scn(muscles={"achilles_fraction": 0.5}))
    assert f.foot.achilles_force_N == pytest.approx(0.5 * f.foot.ground_force_N)


def test_chain_table_overrides():
    c = chain_loads(scn(gait={"instant": "standing"}, chain={"knee_bw_standing": 1.5}))
    assert c.knee.compressive_force_N == pytest.approx(1.5 * 70 * 9.81)
    c = chain_loads(scn(foot={"eversion_deg": 10.0}, chain={"eversion_rotation_coupling": 0.5}))
    assert c.knee.tibial_rotation_deg == pytest.approx(5.0)


def test_coefficients_documented_and_in_range():
    for name, c in COEFFICIENTS.items():
        assert c.source and c.status in ("verified", "unverified"), name
        assert c.lo <= c.value <= c.hi, name


@pytest.mark.parametrize("instant", ["standing", "heel_strike", "loading_response", "midstance", "push_off"])
def test_foot_equilibrium(instant):
    c = chain_loads(scn(gait={"instant": instant}, foot={"eversion_deg": 6.0}))
    total = np.add(np.add(c.foot.ground_vector_N, c.foot.achilles_vector_N), c.foot.talar_force_N)
    assert np.allclose(total, 0.0, atol=1e-9)
    assert math.hypot(*c.foot.ground_vector_N) > 0


def test_left_side_mirror_and_trace():
    r = chain_loads(scn(foot={"eversion_deg": 5.0}))
    lft = chain_loads(scn(subject={"side": "left"}, foot={"eversion_deg": 5.0}))
    assert (r.mirror, lft.mirror) == (1, -1)
    assert lft.foot == r.foot and lft.knee == r.knee
    d = r.to_dict()
    assert {t["quantity"] for t in d["trace"]} >= {"ground_force_N", "compressive_force_N", "medial_share"}


def test_stance_phase_continuous():
    s = scn(gait={"instant": "stance_phase", "samples": 9})
    curve = stance_phase(s)
    assert len(curve) == 9
    fz = np.array([c.foot.ground_force_N for c in curve])
    fine = np.array([c.foot.ground_force_N for c in stance_phase(scn(gait={"instant": "stance_phase",
                                                                          "samples": 41}))])
    assert np.max(np.abs(np.diff(fine))) < 0.2 * fine.max()
    assert fz[0] < fz.max()
    with pytest.raises(ValueError):
        chain_loads(s)
