"""Validation against the literature (issue 5): the coarse foot and knee under standard loads, their figures pinned
inside published ranges. ``docs/validation.md`` gives the sources, what was read and the verdicts.

Each test computes its figure from a finite-element solve, so it fails if the model drifts out of the range.
Where the model disagrees with the literature the test is an ``xfail(strict=True)`` with the reason: the model is
not tuned to pass, and a strict xfail turns into a failure the day a model change makes it agree (then move the
test out of xfail and update docs/validation.md).

Solves are shared through module-scoped fixtures: one coarse foot build (from the model cache), three standing
solves with Achilles force 0, 0.5x and 1x the chain's (the fast tests, about 40 s on a quiet 2-core machine); the
late-stance, half-weight and insole foot solves and the 1150 N knee solve are ``slow``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fesolver.chain import chain_loads
from fesolver.scenario import load_scenario
from fesolver.simulate import build_foot_models, foot_metrics, foot_problem, ground_normal

pytest.importorskip("gmsh")

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

#: Erdemir et al. 2004 ("Dynamic loading of the plantar aponeurosis in walking", J Bone Joint Surg Am): peak
#: plantar aponeurosis tension in late stance, cadaver gait simulation of 7 feet, 96 +/- 36 % body weight
ERDEMIR_PEAK_BW = (0.96 - 0.36, 0.96 + 0.36)
#: Caravaggi et al. 2009 (J Exp Biol 212:2491): mean maximum tension 1.5 BW (inverse kinematics, 3 subjects)
CARAVAGGI_PEAK_BW = 1.5
#: Ohlendorf et al. 2020 (J Physiol Anthropol 39:39): quiet bipedal standing, 416 adults, Zebris plate: mean
#: maximum pressure rearfoot 9.51-9.60 N/cm^2, forefoot 8.23-8.59 N/cm^2 (kPa below)
OHLENDORF_REARFOOT_KPA = 95.5
OHLENDORF_FOREFOOT_KPA = 84.0
#: accepted deviation from a population mean without a published spread (a stated tolerance, not a source)
MEAN_TOLERANCE = 0.5
#: Goske et al. 2006 (J Biomech, doi:10.1016/j.jbiomech.2005.08.006): heel peak-pressure relief against
#: barefoot, flat insoles 24 %, full conforming up to 44 %
GOSKE_FLAT_RELIEF, GOSKE_CONFORMING_RELIEF = 0.24, 0.44
#: Fukubayashi & Kurosawa 1980 (Acta Orthop Scand 51:871): 1000 N, full extension, menisci removed
FUKUBAYASHI_LOAD_N, FUKUBAYASHI_PEAK_MPA, FUKUBAYASHI_AREA_MM2 = 1000.0, 6.0, 520.0
#: the same study with the menisci intact: 1150 mm^2, peak 3 MPa
FUKUBAYASHI_MENISCI_PEAK_MPA, FUKUBAYASHI_MENISCI_AREA_MM2 = 3.0, 1150.0
KNEE_LOAD_N = 1150.0
#: static navicular drop (Brody's test: sitting to relaxed bipedal standing) of healthy adults: study means from
#: 3.6 to 8.1 mm; 10-15 mm proposed as the upper limit of normal (Nielsen et al. 2009, J Foot Ankle Res 2:12,
#: background, citing five studies; read through the project's search)
NAVICULAR_DROP_MEANS_MM = (3.6, 8.1)
#: medial share of the tibiofemoral load, "~60-80 %" (Erhart et al., J Orthop Res, PMC2965044, introduction)
MEDIAL_SHARE = (0.60, 0.80)


# ----------------------------------------------------------------------------------------------
# shared solves
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standing():
    """Bipedal standing of the 70 kg base subject (coarse mesh, solid fascia, no insert)."""
    return load_scenario(SCENARIOS / "standing.toml")


@pytest.fixture(scope="module")
def foot_parts(standing):
    return build_foot_models(standing)


def foot_loads(fl, ground: float | None = None, achilles: float | None = None):
    """The chain's standing foot loads ``fl`` with another vertical ground force and/or Achilles force [N]; the
    talar force is what equilibrium leaves (ground + Achilles + talar = 0), the Achilles direction kept."""
    fz = fl.ground_force_N if ground is None else float(ground)
    fa = fl.achilles_force_N if achilles is None else float(achilles)
    unit = [v / fl.achilles_force_N for v in fl.achilles_vector_N]
    avec = tuple(fa * u for u in unit)
    gvec = (0.0, 0.0, fz)  # standing: no shear, flat ground
    talar = tuple(-(g + a) for g, a in zip(gvec, avec, strict=True))
    return replace(fl, ground_force_N=fz, ground_vector_N=gvec, achilles_force_N=fa, achilles_vector_N=avec,
                   talar_force_N=talar)


def solve_foot(scenario, parts, fl) -> dict:
    """Solve the foot under ``fl``; its headline metrics (checked for equilibrium first)."""
    model, prob = foot_problem(scenario, fl, *parts)
    res = prob.solve()
    assert res.load_factor == 1.0
    m = foot_metrics(model, res)
    # equilibrium along the foot's z axis: the frictionless ground carries what the talar dome and the Achilles
    # tendon push down (with a tilted ground, the chain's shear enters the talar force)
    f = m["plantar"]["force_N"]
    if isinstance(f, (int, float)):  # the magnitude: along the ground normal
        f = float(f) * ground_normal(fl.ground_tilt_deg, fl.foot_pitch_deg, scenario["subject.side"])
    down = -(fl.talar_force_N[2] + fl.achilles_vector_N[2])
    assert f[2] == pytest.approx(down, rel=2e-3)
    m["body_weight_N"] = fl.body_weight_N
    return m


@pytest.fixture(scope="module")
def achilles_series(standing, foot_parts):
    """Standing with the Achilles force 0, 0.5 and 1 times the chain's (75 % of the foot's 343 N), the ground
    force unchanged: ``{factor: metrics}``."""
    fl = chain_loads(standing).foot
    return {k: solve_foot(standing, foot_parts, foot_loads(fl, achilles=k * fl.achilles_force_N))
            for k in (0.0, 0.5, 1.0)}


def tension_bw(m: dict) -> float:
    return m["fascia"]["total_tension_N"] / m["body_weight_N"]


# ----------------------------------------------------------------------------------------------
# plantar fascia tension
# ----------------------------------------------------------------------------------------------


def test_standing_fascia_tension_below_late_stance_peak(achilles_series):
    """Standing fascia tension is positive and below the late-stance peak: Erdemir et al. 2004 (cadaver gait
    simulation, 7 feet) found the tension rising through stance to 96 +/- 36 % BW in late stance, so quiet
    standing (half the body weight per foot) must stay under the lower end, 60 % BW. No published standing
    tension in % BW was found (docs/validation.md)."""
    t = tension_bw(achilles_series[1.0])
    assert 0.0 < t < ERDEMIR_PEAK_BW[0], t


def test_standing_navicular_drop(achilles_series):
    """The navicular tuberosity (the midfoot's most medial nodes) falls by as much in bipedal standing (unloaded
    to the chain's standing loads) as healthy adults' navicular drop, 3.6-8.1 mm between studies (Nielsen et
    al. 2009). Most of it is the foot settling into its pads: the arch's own flattening (towards the line from
    the calcaneal tubercle to the first metatarsal head) is smaller, but not nil."""
    p = achilles_series[1.0]["posture"]
    lo, hi = NAVICULAR_DROP_MEANS_MM
    assert lo <= p["navicular_drop_mm"] <= hi, p["navicular_drop_mm"]
    assert 0.0 < p["medial_arch_drop_mm"] < p["navicular_drop_mm"], p


def test_achilles_load_raises_fascia_tension(achilles_series):
    """The fascia tension and peak fibre stress rise with the Achilles force at a constant ground load (Cheung,
    Zhang & An 2006, standing foot FE, Achilles 0-700 N at 350 N per foot: tension increases; Erdemir et al.
    2004: tension correlates with Achilles force, r = 0.76)."""
    t = [achilles_series[k]["fascia"]["total_tension_N"] for k in (0.0, 0.5, 1.0)]
    s = [achilles_series[k]["fascia"]["peak_fibre_stress_MPa"] for k in (0.0, 0.5, 1.0)]
    assert t[0] > 0.0 and t[0] < t[1] < t[2], t
    assert s[0] < s[1] < s[2], s


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="per newton the model's Achilles force tensions the fascia 0.74 times as much "
                   "as the weight (0.15 vs 0.21 N/N), not twice: the Achilles force adds one for one to the talar "
                   "force, which compresses the arch like weight; short Achilles lever arm on the ellipsoidal "
                   "calcaneus; no plantar ligaments (causes not established)")
def test_achilles_strains_fascia_more_than_body_weight(standing, foot_parts, achilles_series):
    """Per newton, the Achilles force tensions the fascia more than the weight on the foot: Cheung, Zhang & An
    2006 report a "two-times larger straining effect" of the Achilles load. The model's ratio of the slopes
    dT/dF_achilles (ground load fixed) over dT/dF_ground (no Achilles force) must be above 1."""
    fl = chain_loads(standing).foot
    half = solve_foot(standing, foot_parts, foot_loads(fl, ground=0.5 * fl.ground_force_N, achilles=0.0))
    t0, t1 = (achilles_series[k]["fascia"]["total_tension_N"] for k in (0.0, 1.0))
    slope_achilles = (t1 - t0) / fl.achilles_force_N
    slope_weight = (t0 - half["fascia"]["total_tension_N"]) / (0.5 * fl.ground_force_N)
    print(f"\nfascia tension slopes: Achilles {slope_achilles:.3f} N/N, weight {slope_weight:.3f} N/N, ratio "
          f"{slope_achilles / slope_weight:.2f}")
    assert slope_weight > 0.0
    assert slope_achilles / slope_weight > 1.0


@pytest.mark.slow
def test_late_stance_fascia_tension(standing, foot_parts):
    """Late-stance (push-off) fascia tension within the published peak range: 96 +/- 36 % BW (Erdemir et al. 2004,
    cadaver gait simulation) up to 1.5 BW (Caravaggi et al. 2009, inverse kinematics): 0.60-1.50 BW. The chain's
    push-off: ground 1.1 BW with the heel raised 25 deg, Achilles 2.3 times the ground force. (The total agrees;
    the split between rays does not: docs/validation.md.)"""
    s = load_scenario(SCENARIOS / "standing.toml", overrides={"gait.instant": "push_off"})
    m = solve_foot(s, foot_parts, chain_loads(s).foot)
    print(f"\npush-off fascia tension {m['fascia']['total_tension_N']:.0f} N = {tension_bw(m):.2f} BW, rays "
          f"{[round(t) for t in m['fascia']['ray_tension_N']]} N, peak fibre stretch "
          f"{m['fascia']['peak_fibre_stretch']:.3f}")
    assert ERDEMIR_PEAK_BW[0] <= tension_bw(m) <= CARAVAGGI_PEAK_BW


# ----------------------------------------------------------------------------------------------
# plantar pressure
# ----------------------------------------------------------------------------------------------


@pytest.mark.xfail(strict=True, reason="the coarse model's heel peak (about 180 kPa, a node under the calcaneus "
                   "6 mm in front of the heel pad) is twice the measured mean maximum, and it is not mesh-converged "
                   "(324 kPa on the medium mesh, 284 kPa with tet10 elements on the coarse one: the linear tets "
                   "under-read it, and a node's peak converges at neither order; docs/validation.md, 'Mesh "
                   "convergence'), against a plate's cell average; no skin layer")
def test_standing_peak_heel_pressure(achilles_series):
    """Peak rearfoot pressure in quiet standing within +/-50 % of the measured population mean maximum of
    95.5 kPa (Ohlendorf et al. 2020, 416 adults; the +/-50 % is our tolerance: the abstract gives no spread)."""
    p = achilles_series[1.0]["plantar"]["peak_heel_pressure_kPa"]
    lo, hi = (1 - MEAN_TOLERANCE) * OHLENDORF_REARFOOT_KPA, (1 + MEAN_TOLERANCE) * OHLENDORF_REARFOOT_KPA
    assert lo <= p <= hi, p


def test_standing_peak_heel_sensor_pressure(achilles_series):
    """The same published figure compared like with like: the model's contact force averaged over 1 cm^2 squares,
    as a plate's sensors average it (``peak_heel_sensor_pressure_kPa``), within +/-50 % of 95.5 kPa (Ohlendorf
    et al. 2020). The nodal peak above (about 200 kPa) is a single skin node's force over its tributary area; the
    sensor reading sums the neighbouring nodes' forces too (coarse: 108 kPa; docs/validation.md section 3 gives
    it per mesh level)."""
    p = achilles_series[1.0]["plantar"]["peak_heel_sensor_pressure_kPa"]
    lo, hi = (1 - MEAN_TOLERANCE) * OHLENDORF_REARFOOT_KPA, (1 + MEAN_TOLERANCE) * OHLENDORF_REARFOOT_KPA
    assert lo <= p <= hi, p


@pytest.mark.xfail(strict=True, reason="the model's forefoot is nearly unloaded in standing (peak about 15 kPa; "
                   "the rear half of the sole carries about 90 % of the load against 54-55 % measured): generic "
                   "geometry, no toe flexors, the ankle load not balanced to a measured centre of pressure")
def test_standing_peak_forefoot_pressure(achilles_series):
    """Peak forefoot pressure in quiet standing within +/-50 % of the measured mean maximum of 84 kPa (Ohlendorf
    et al. 2020; the +/-50 % is our tolerance)."""
    p = achilles_series[1.0]["plantar"]["peak_forefoot_pressure_kPa"]
    lo, hi = (1 - MEAN_TOLERANCE) * OHLENDORF_FOREFOOT_KPA, (1 + MEAN_TOLERANCE) * OHLENDORF_FOREFOOT_KPA
    assert lo <= p <= hi, p


@pytest.mark.slow
def test_soft_insole_relieves_heel_pressure(standing, achilles_series):
    """A flat, soft insole (6 mm, Poron-like, E = 0.3 MPa) lowers the peak heel pressure in standing by at least
    half the relief of flat insoles and at most the relief of fully conforming insoles reported by Goske et al.
    2006 (2-D heel FE validated against the same subject: flat 24 %, full conforming up to 44 %): 12-44 %.
    Coarse: 199 -> 161 kPa, 19 % (integration-point foot-insert contact; the node-on-facet rule gave 6 %, a strict
    xfail until December 2026: docs/validation.md section 3)."""
    s = load_scenario(SCENARIOS / "standing.toml", overrides={"orthotic.type": "insole",
                                                               "orthotic.material": "poron"})
    m = solve_foot(s, build_foot_models(s), chain_loads(s).foot)
    bare = achilles_series[1.0]["plantar"]["peak_heel_pressure_kPa"]
    relief = 1.0 - m["plantar"]["peak_heel_pressure_kPa"] / bare
    print(f"\nheel peak {bare:.0f} kPa barefoot -> {m['plantar']['peak_heel_pressure_kPa']:.0f} kPa on the insole "
          f"({100 * relief:.0f} % relief)")
    assert GOSKE_FLAT_RELIEF / 2 <= relief <= GOSKE_CONFORMING_RELIEF, relief


# ----------------------------------------------------------------------------------------------
# knee: 1150 N axial, full extension, no menisci
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def knee_1150():
    """The coarse knee without menisci, 1150 N axial on the femur at the knee centre, full extension, the femur
    free along the tibial axis only: ``{"medial"/"lateral": contact summary, "share": medial share}``."""
    from fesolver.models.knee import build_knee, knee_with_femur_load
    from fesolver.solvers.newton import NewtonOptions

    k = knee_with_femur_load(build_knee(menisci=False, mesh="coarse"), force=(0.0, 0.0, -KNEE_LOAD_N))
    res = k.problem(newton=NewtonOptions(initial_step=0.5, max_step=1.0)).solve()
    assert res.load_factor == 1.0
    out = {s: res.contact[f"tibiofemoral_{s}"]["summary"] for s in ("medial", "lateral")}
    fz = {s: -out[s]["force_N"][2] for s in out}
    assert fz["medial"] + fz["lateral"] == pytest.approx(KNEE_LOAD_N, rel=1e-3)
    out["share"] = fz["medial"] / (fz["medial"] + fz["lateral"])
    return out


#: the contact summaries' peak pressure compared with the sensor sheets: the largest normal contact force over a
#: node's tributary area, as in every scenario summary (fesolver.simulate.peak_contact_pressure); the mortar multipliers
#: (``peak_pressure_MPa``) overshoot at contact edges on coarse meshes (tests/test_contact_hertz.py)
PEAK = "peak_force_pressure_MPa"


def hertz_scaled(value: float, power: float) -> float:
    """A published figure at Fukubayashi's 1000 N scaled to 1150 N as in Hertz contact (area ~ F^(2/3), peak
    pressure ~ F^(1/3))."""
    return value * (KNEE_LOAD_N / FUKUBAYASHI_LOAD_N) ** power


@pytest.mark.slow
def test_knee_peak_contact_pressure_1150N(knee_1150):
    """Peak tibial cartilage contact pressure without menisci: 6 MPa at 1000 N in full extension (Fukubayashi &
    Kurosawa 1980, 7 cadaver knees, sensor sheets), 6.3 MPa scaled to 1150 N; +/-25 % (our tolerance: one mean,
    no spread in the abstract) -> 4.7-7.9 MPa, for both plateaus."""
    ref = hertz_scaled(FUKUBAYASHI_PEAK_MPA, 1.0 / 3.0)
    for side in ("medial", "lateral"):
        p = knee_1150[side][PEAK]
        assert 0.75 * ref <= p <= 1.25 * ref, (side, p, ref)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the idealised spheres on a flat/shallow plateau are less congruent than "
                   "real condyles: total contact area about 370 mm^2 against 520 mm^2 at 1000 N (600 at 1150 N)")
def test_knee_contact_area_1150N(knee_1150):
    """Total tibiofemoral contact area without menisci: 520 mm^2 at 1000 N (Fukubayashi & Kurosawa 1980), 571 mm^2
    scaled to 1150 N; +/-25 % (our tolerance) -> 428-714 mm^2."""
    ref = hertz_scaled(FUKUBAYASHI_AREA_MM2, 2.0 / 3.0)
    area = knee_1150["medial"]["contact_area_mm2"] + knee_1150["lateral"]["contact_area_mm2"]
    assert 0.75 * ref <= area <= 1.25 * ref, (area, ref)


@pytest.fixture(scope="module")
def knee_menisci_1150():
    """The coarse knee with menisci under the same 1150 N: ``{contact name: summary}``. Load steps of a quarter
    to a half of the load (a first step of half the load stalls at a relative residual of about 2e-6 against
    the tolerance of 1e-8, cutting back to about 0.33 of the load)."""
    from fesolver.models.knee import build_knee, knee_with_femur_load
    from fesolver.solvers.newton import NewtonOptions

    k = knee_with_femur_load(build_knee(menisci=True, mesh="coarse"), force=(0.0, 0.0, -KNEE_LOAD_N))
    res = k.problem(newton=NewtonOptions(initial_step=0.25, max_step=0.5)).solve()
    assert res.load_factor == 1.0
    out = {name: c["summary"] for name, c in res.contact.items()}
    femur = [n for n in out if n.startswith(("tibiofemoral", "femur_meniscus"))]
    assert sum(-out[n]["force_N"][2] for n in femur) == pytest.approx(KNEE_LOAD_N, rel=1e-3)
    return out


def _tibial_surface(out, key):
    """Per contact on the tibial plateau (cartilage under the femur, under the menisci): the values of ``key``."""
    return [out[f"{kind}_{s}"][key] for kind in ("tibiofemoral", "meniscus_tibia") for s in ("medial", "lateral")]


@pytest.mark.slow
def test_knee_with_menisci_contact_area_1150N(knee_menisci_1150):
    """Tibial contact area with the menisci: 1150 mm^2 at 1000 N (Fukubayashi & Kurosawa 1980), 1262 mm^2 scaled
    to 1150 N; +/-25 % (our tolerance). The model's area is that of the tibial cartilage under the femur plus
    under the menisci (measured 164 + 1137 = 1301 mm^2); the menisci are built resting on the plateau, so most of
    their footprint is in contact whatever the load."""
    ref = hertz_scaled(FUKUBAYASHI_MENISCI_AREA_MM2, 2.0 / 3.0)
    area = sum(_tibial_surface(knee_menisci_1150, "contact_area_mm2"))
    assert 0.75 * ref <= area <= 1.25 * ref, (area, ref)


@pytest.mark.slow
def test_menisci_lower_the_cartilage_contact_pressure_1150N(knee_1150, knee_menisci_1150):
    """The menisci take load off the cartilage-on-cartilage contact: its peak falls (Fukubayashi & Kurosawa 1980:
    6 MPa without, 3 MPa with the menisci). Measured 6.03 / 5.59 -> 2.21 / 1.87 MPa (medial / lateral)."""
    for side in ("medial", "lateral"):
        without = knee_1150[side][PEAK]
        with_ = knee_menisci_1150[f"tibiofemoral_{side}"][PEAK]
        assert with_ < 0.75 * without, (side, with_, without)


@pytest.mark.slow
def test_knee_with_menisci_peak_pressure_1150N(knee_menisci_1150):
    """Peak tibial contact pressure with the menisci: 3 MPa at 1000 N (Fukubayashi & Kurosawa 1980), 3.1 MPa
    scaled to 1150 N; +/-25 % (our tolerance). Measured 3.43 MPa under the medial meniscus's inner rim; the mortar
    multipliers put 6.0 MPa on that single node (docs/validation.md section 4). Coarse mesh only: the rim peak grows
    with refinement (medium 3.70 / 3.97 MPa, the lateral +28 %; the same section)."""
    ref = hertz_scaled(FUKUBAYASHI_MENISCI_PEAK_MPA, 1.0 / 3.0)
    peak = max(_tibial_surface(knee_menisci_1150, PEAK))
    assert 0.75 * ref <= peak <= 1.25 * ref, (peak, ref)


@pytest.mark.slow
def test_knee_medial_share_1150N(knee_1150):
    """The medial compartment carries 60-80 % of an axial load with the femur's varus-valgus rotation held: the
    "~60-80 % of the total transmitted load" during static and dynamic loading quoted by Erhart et al. (J Orthop
    Res, introduction, after four earlier studies). Here the share comes from the geometry alone (larger,
    concave medial plateau), not from an adduction moment."""
    assert MEDIAL_SHARE[0] <= knee_1150["share"] <= MEDIAL_SHARE[1], knee_1150["share"]

