"""Kinetic chain: published figures by default, directions of each effect, overrides, equilibrium."""
from __future__ import annotations

import math

import numpy as np
import pytest

from fesolver.chain import COEFFICIENTS, INSTANTS, chain_loads, stance_phase
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
    assert a.knee.quadriceps_force_N > 0
    assert b.knee.quadriceps_force_N == pytest.approx(2 * a.knee.quadriceps_force_N)


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


def test_heel_pain_moves_the_centre_of_pressure_forward_through_the_achilles():
    """The forward CoP shift d of a painful heel is made by the plantarflexors: the Achilles force grows by
    Fz d / arm, so that the ankle moment grows by Fz d L; the other leg and an Achilles override are unchanged."""
    inst = {"instant": "loading_response"}
    base = chain_loads(scn(gait=inst))
    arm = COEFFICIENTS["achilles_moment_arm_fraction"].value
    for sev in (0.5, 1.0):
        c = chain_loads(scn(gait=inst, antalgic={"painful_joint": "heel", "severity": sev}))
        d = sev * COEFFICIENTS["heel_pain_cop_forward"].value
        fz = c.foot.ground_force_N
        assert c.foot.centre_of_pressure[0] == pytest.approx(base.foot.centre_of_pressure[0] + d)
        frac = COEFFICIENTS["achilles_fraction_loading_response"].value
        assert c.foot.achilles_force_N == pytest.approx(frac * fz + fz * d / arm)
        # the shift and the moment arm are both fractions of the foot length: the added force does not depend on it
        short = chain_loads(scn(gait=inst, subject={"foot_length_mm": 200.0},
                                antalgic={"painful_joint": "heel", "severity": sev}))
        assert short.foot.achilles_force_N == pytest.approx(c.foot.achilles_force_N)
        src = next(t["sources"] for t in c.to_dict()["trace"] if t["quantity"] == "achilles_force_N")
        assert "heel_pain_cop_forward:" in src and "achilles_moment_arm_fraction:" in src
    other = chain_loads(scn(gait=inst, antalgic={"painful_joint": "heel", "painful_side": "other"}))
    assert other.foot.achilles_force_N == pytest.approx(
        COEFFICIENTS["achilles_fraction_loading_response"].value * other.foot.ground_force_N)
    fixed = chain_loads(scn(gait=inst, antalgic={"painful_joint": "heel"}, muscles={"achilles_force_N": 150.0}))
    assert fixed.foot.achilles_force_N == 150.0


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


# -- quadriceps (patellar-tendon) force: loads the patellofemoral model -------------------------------------
QUAD = sorted(n for n in COEFFICIENTS if n.startswith("quadriceps_"))


def test_quadriceps_coefficients_cover_every_instant_in_range_and_cited():
    assert {f"quadriceps_bw_{i}" for i in INSTANTS} | {"quadriceps_per_deg_flexion"} == set(QUAD)
    for name in QUAD:
        c = COEFFICIENTS[name]
        assert c.lo <= c.value <= c.hi and c.lo >= 0.0, name
        # none of these numbers was read in a source: each says so (model assumption or from memory) and is
        # marked unverified
        assert c.status == "unverified", name
        assert "model assumption" in c.source or "from memory" in c.source, name
    # the loading-response value carries its derivation (extensor moment / moment arm) and the check it was
    # compared with (Reilly & Martens 1972, read)
    lr = COEFFICIENTS["quadriceps_bw_loading_response"]
    assert "PMC4662057" in lr.source and "Reilly & Martens 1972" in lr.doc
    assert lr.value == pytest.approx(0.5 / (9.81 * 0.045), rel=0.05)


def test_quadriceps_force_by_instant_and_body_weight():
    bw = 70 * 9.81
    q = {i: chain_loads(scn(gait={"instant": i})).knee.quadriceps_force_N for i in INSTANTS}
    for i in INSTANTS:
        assert q[i] == pytest.approx(COEFFICIENTS[f"quadriceps_bw_{i}"].value * bw), i
    # quiet standing: the knee is nearly straight and the line of gravity passes in front of it
    assert q["standing"] < 0.05 * bw
    assert q["loading_response"] > q["standing"]
    assert q["loading_response"] == max(q.values())


def test_quadriceps_force_traced_and_overridden():
    c = chain_loads(scn(gait={"instant": "loading_response"}))
    tr = {t[0]: t for t in c.trace}
    assert tr["quadriceps_force_N"][1] == pytest.approx(c.knee.quadriceps_force_N)
    assert "quadriceps_bw_loading_response" in tr["quadriceps_force_N"][4]
    assert c.to_dict()["knee"]["quadriceps_force_N"] == pytest.approx(c.knee.quadriceps_force_N)
    o = chain_loads(scn(gait={"instant": "loading_response"}, knee={"quadriceps_force_N": 321.0}))
    assert o.knee.quadriceps_force_N == 321.0
    assert "knee.quadriceps_force_N" in {t[0]: t for t in o.trace}["quadriceps_force_N"][3]
    k = chain_loads(scn(gait={"instant": "loading_response"}, chain={"quadriceps_bw_loading_response": 2.0}))
    assert k.knee.quadriceps_force_N == pytest.approx(2.0 * 70 * 9.81)


def test_quadriceps_force_follows_the_knee_flexion():
    """More flexion than the instant's: the ground reaction passes further behind the knee, a larger extensor
    moment (quadriceps_per_deg_flexion)."""
    base = chain_loads(scn(gait={"instant": "loading_response"}))
    more = chain_loads(scn(gait={"instant": "loading_response"}, knee={"flexion_deg": 28.0}))
    k = COEFFICIENTS["quadriceps_per_deg_flexion"].value
    assert more.knee.quadriceps_force_N == pytest.approx(base.knee.quadriceps_force_N * (1 + k * 10.0))
    flat = chain_loads(scn(gait={"instant": "loading_response"}, knee={"flexion_deg": 28.0},
                           chain={"quadriceps_per_deg_flexion": 0.0}))
    assert flat.knee.quadriceps_force_N == pytest.approx(base.knee.quadriceps_force_N)


def test_knee_pain_lowers_the_quadriceps_force_through_the_stiff_knee():
    """Quadriceps avoidance: the painful leg's smaller load and its stiffer knee (knee_pain_flexion_change_deg)
    both lower the quadriceps force; the contralateral leg's larger load raises it."""
    lr = {"instant": "loading_response"}
    n = chain_loads(scn(gait=lr))
    pain = chain_loads(scn(gait=lr, antalgic={"painful_joint": "knee"}))
    load_only = chain_loads(scn(gait=lr, antalgic={"painful_joint": "knee", "knee_flexion_change_deg": 0.0}))
    other = chain_loads(scn(gait=lr, antalgic={"painful_joint": "knee", "painful_side": "other"}))
    ch = COEFFICIENTS["knee_pain_load_change"].value
    assert load_only.knee.quadriceps_force_N == pytest.approx(n.knee.quadriceps_force_N * (1 + ch))
    assert pain.knee.flexion_deg < n.knee.flexion_deg
    assert pain.knee.quadriceps_force_N < load_only.knee.quadriceps_force_N < n.knee.quadriceps_force_N
    assert other.knee.quadriceps_force_N > n.knee.quadriceps_force_N
    # a straight enough knee: never negative
    straight = chain_loads(scn(gait=lr, antalgic={"painful_joint": "knee", "knee_flexion_change_deg": -30.0}))
    assert straight.knee.quadriceps_force_N >= 0.0


def test_quadriceps_force_in_a_stance_phase():
    curve = stance_phase(scn(gait={"instant": "stance_phase", "samples": 21}))
    q = np.array([c.knee.quadriceps_force_N for c in curve])
    bw = 70 * 9.81
    assert q[0] == pytest.approx(COEFFICIENTS["quadriceps_bw_heel_strike"].value * bw)
    assert np.all(q >= 0.0) and q.max() > q[0] and q.max() > q[-1]
