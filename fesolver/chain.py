"""The kinetic chain: a scenario -> the loads on the foot and knee sub-models.

Every number used here is a :class:`Coefficient` in :data:`COEFFICIENTS` with its source and whether it was
read in that source (``status = "verified"``) or not (``"unverified"``: from memory / secondary, or a model
assumption). A scenario overrides any coefficient through ``[chain] name = value`` (range-checked by
:mod:`fesolver.scenario` against ``lo``/``hi``); explicit scenario values (``knee.*``, ``muscles.*``,
``antalgic.*`` overrides) win over coefficients. See ``docs/chain.md``.

Frames. Foot frame: x anterior, y medial, z up, for both sides, so the foot loads do not depend on the side;
the modelled foot's frame is right-handed for the right leg and mirrored for the left (``ChainLoads.mirror``
is +1 right, -1 left: multiply y by it to get a global x-forward / y-left / z-up frame).
Units: N, mm, deg, fractions.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

__all__ = ["Coefficient", "COEFFICIENTS", "FootLoads", "KneeLoads", "ChainLoads", "chain_loads", "stance_phase",
           "INSTANTS", "WALKING_INSTANTS"]

#: gait instants with their own coefficients
INSTANTS = ("standing", "single_leg_stance", "heel_strike", "loading_response", "midstance", "push_off")
#: the walking instants in stance order (``stance_phase`` interpolates between them)
WALKING_INSTANTS = ("heel_strike", "loading_response", "midstance", "push_off")


@dataclass(frozen=True)
class Coefficient:
    """One kinetic-chain coefficient.

    Attributes
    ----------
    value : float
        default value, in ``unit``.
    unit : str
    lo, hi : float
        range a scenario may set it to (``[chain]`` overrides are checked against it).
    source : str
        citation, or "model assumption" with the reasoning in ``doc``.
    status : str
        "verified" (number read in the source through a search) or "unverified".
    doc : str
    """

    value: float
    unit: str
    lo: float
    hi: float
    source: str
    status: str
    doc: str


_KUTZNER = ("Kutzner I et al. 2010, J Biomech 43:2164-2173 (instrumented knee implants, 5 subjects); abstract "
            "read at https://pl.scribd.com/document/296077511")
_KUTZNER_CURVE = ("value read off the typical double-hump walking curve of instrumented-implant studies "
                  "(Kutzner et al. 2010 Fig.; not re-read)")
_GRF = "typical normal-walking vertical GRF curve (e.g. Perry & Burnfield, Gait Analysis; Winter 2009), from memory"
_ASSUME = "model assumption"
_BC = ("Bertrand-Charette et al. 2021, Front Hum Neurosci 15:762450 (nociceptive electrical stimulation at heel "
       "contact, electrodes around the lateral malleolus; abstract read at https://frontiersin.org/journals/"
       "human-neuroscience/articles/10.3389/fnhum.2021.762450/full)")
_FISCHER = ("Fischer et al. 2018, J Anat 233:64-72 (in vitro, 8 specimens: calcaneal eversion -> talus/tibial "
            "rotation 0.68 +/- 0.15; abstract read at https://pmc.ncbi.nlm.nih.gov/articles/PMC5987802); Stacoff "
            "et al. 2000 Foot Ankle Int 21:232 (in vivo bone pins, running: coupling larger heel strike -> midstance)")
_HENRIKSEN = ("Henriksen et al. 2010, Arthritis Care Res (hypertonic saline in the infrapatellar fat pad reduced peak "
              "frontal- and sagittal-plane knee moments; abstract read at "
              "http://onlinelibrary.wiley.com/doi/10.1002/acr.20033/abstract)")
_EXTENSOR = ("knee extensor moment of normal walking (inverse dynamics, e.g. Winter 2009: about 0.5 N m/kg at the "
             "loading-response peak; from memory, not re-read) over the effective quadriceps moment arm (in vivo "
             "dynamic MRI, 40 subjects: 31.5-47.1 mm, largest near extension, 50 -> 10 deg; abstract of 'The effective "
             "quadriceps and patellar tendon moment arms relative to the tibiofemoral finite helical axis' read at "
             "https://pmc.ncbi.nlm.nih.gov/articles/PMC4662057): F_q / BW = M / (g x 0.045 m)")
_REILLY = ("Reilly & Martens 1972, Acta Orthop Scand 43:126-137 (level walking: highest patellofemoral joint reaction "
           "35 kg = 0.5 BW, always smaller than the quadriceps force at the low flexion of walking; text read at "
           "https://th4.ilovetranslation.com/LEgYr1egNb29QESyW-HC5B==d)")
_V, _U = "verified", "unverified"


def _c(value, unit, lo, hi, source, status, doc):
    return Coefficient(float(value), unit, float(lo), float(hi), source, status, doc)


COEFFICIENTS: dict[str, Coefficient] = {
    "gravity": _c(9.81, "N/kg", 9.7, 9.9, "standard gravity (rounded, as in the scenario schema)", _V,
                  "body weight BW = mass x gravity"),
    # --- tibiofemoral compressive force, x BW
    "knee_bw_standing": _c(1.07, "BW", 0.5, 2.0, _KUTZNER, _V, "two-legged stance, average peak 107 % BW"),
    "knee_bw_single_leg_stance": _c(2.59, "BW", 1.0, 4.0, _KUTZNER, _V, "one-legged stance, 259 % BW"),
    "knee_bw_heel_strike": _c(0.6, "BW", 0.1, 2.0, _KUTZNER_CURVE, _U, "force at initial contact, before the "
                              "first peak"),
    "knee_bw_loading_response": _c(2.61, "BW", 1.0, 4.0, _KUTZNER, _V, "level-walking average peak 261 % BW "
                                   "(verified); its placement at the first (loading-response) peak is from the "
                                   "curve shape"),
    "knee_bw_midstance": _c(1.8, "BW", 0.5, 3.5, _KUTZNER_CURVE, _U, "mid-stance valley between the peaks"),
    "knee_bw_push_off": _c(2.4, "BW", 1.0, 4.0, _KUTZNER_CURVE, _U, "second peak (terminal stance)"),
    # --- medial share
    "medial_share_standing": _c(0.6, "-", 0.3, 0.9, "commonly quoted 60-80 % medial (BACKGROUND.md); not re-read",
                                _U, "medial compartment share in quiet standing (low end of the range)"),
    "medial_share_walking": _c(0.7, "-", 0.3, 0.95, "commonly quoted 60-80 % medial in walking (BACKGROUND.md); "
                               "not re-read", _U, "medial share in walking and single-leg stance"),
    "medial_force_per_kam": _c(0.22 / 0.133, "-", 0.0, 3.0, "Erhart et al. (variable-stiffness shoe, one subject "
                               "with an instrumented knee: medial force -22 % for first-peak KAM -13.3 %, figures "
                               "from BACKGROUND.md, not found in a read source; the direction is stated at "
                               "http://www.stanford.edu/group/biomotion/oashoe.html)", _U,
                               "relative medial-force change per relative KAM change"),
    "kam_per_deg_varus": _c(0.05, "1/deg", 0.0, 0.2, _ASSUME, _U, "relative KAM change per degree of varus "
                            "(+) / valgus (-): a longer frontal-plane lever arm; order of magnitude only"),
    "kam_per_deg_posting": _c(0.012, "1/deg", 0.0, 0.05, "Arnold et al. 2016 meta-analysis: lateral wedges lower "
                              "the first-peak KAM (direction); the per-degree magnitude is a model assumption", _U,
                              "relative KAM change per degree of posting (+ medial raises, - lateral lowers)"),
    "kam_per_deg_eversion": _c(0.01, "1/deg", 0.0, 0.05, _ASSUME, _U, "relative KAM decrease per degree of "
                               "rearfoot eversion (CoP and GRF shift medially, shortening the KAM lever arm; "
                               "the same mechanism as a lateral wedge)"),
    # --- ground reaction force, x BW on the modelled foot
    "grf_bw_standing": _c(0.5, "BW", 0.3, 0.7, "static equilibrium, symmetric bipedal standing", _V,
                          "half the body weight per foot"),
    "grf_bw_single_leg_stance": _c(1.0, "BW", 0.8, 1.2, "static equilibrium", _V, "whole body weight"),
    "grf_bw_heel_strike": _c(0.6, "BW", 0.1, 1.5, _GRF, _U, "heel-strike impact transient"),
    "grf_bw_loading_response": _c(1.15, "BW", 0.8, 1.6, _GRF, _U, "first (loading-response) peak"),
    "grf_bw_midstance": _c(0.75, "BW", 0.4, 1.1, _GRF, _U, "mid-stance valley"),
    "grf_bw_push_off": _c(1.1, "BW", 0.8, 1.6, _GRF, _U, "second (push-off) peak"),
    "grf_speed_reference": _c(1.3, "m/s", 0.5, 2.5, _ASSUME, _U, "walking speed at which the grf_bw_* apply"),
    "grf_speed_sensitivity": _c(0.2, "1/(m/s)", 0.0, 1.0, "faster walking deepens the valley and raises the peaks "
                                "(qualitative, from memory); magnitude a model assumption", _U,
                                "peaks x (1 + k dv), valley x (1 - k dv), dv = speed - reference"),
    "shear_ap_heel_strike": _c(-0.1, "BW", -0.4, 0.4, _GRF, _U, "A-P shear, - = braking (posterior on the foot)"),
    "shear_ap_loading_response": _c(-0.18, "BW", -0.4, 0.4, _GRF, _U, "braking peak"),
    "shear_ap_midstance": _c(0.0, "BW", -0.4, 0.4, _GRF, _U, "A-P shear crosses zero"),
    "shear_ap_push_off": _c(0.2, "BW", -0.4, 0.4, _GRF, _U, "propulsive peak"),
    "shear_ml_fraction": _c(0.05, "-", -0.2, 0.2, _GRF, _U, "M-L shear as a fraction of the vertical force, "
                            "+ = medial on the foot (walking only)"),
    # --- Achilles tendon, fraction of the foot's vertical ground force
    "achilles_fraction_standing": _c(0.75, "-", 0.0, 3.0, "Cheung, Zhang, An 2006, Clin Biomech 21:194 (standing "
                                     "foot FE, 350 N per foot: Achilles 75 % of the foot's load best matched the "
                                     "measured CoP; abstract read at https://www.zhangqiaokeyan.com/journal-foreign-"
                                     "detail/070401396157.html)", _V, ""),
    "achilles_fraction_single_leg_stance": _c(0.75, "-", 0.0, 3.0, _ASSUME + " (same balance as standing)", _U,
                                              ""),
    "achilles_fraction_heel_strike": _c(0.0, "-", 0.0, 3.0, _ASSUME + " (triceps surae silent at initial contact)",
                                        _U, ""),
    "achilles_fraction_loading_response": _c(0.2, "-", 0.0, 3.0, _ASSUME, _U, "eccentric onset"),
    "achilles_fraction_midstance": _c(1.0, "-", 0.0, 3.0, _ASSUME, _U, "CoP ahead of the ankle"),
    "achilles_fraction_push_off": _c(2.3, "-", 0.0, 3.0, "peak Achilles force in walking ~2.5 BW (in vivo "
                                     "estimates, from memory) / push-off GRF 1.1 BW", _U, ""),
    "achilles_moment_arm_fraction": _c(0.19, "-", 0.1, 0.35, "Maganaris, Baltzopoulos, Sargeant 2000, Eur J Appl "
                                       "Physiol 83:363 (in vivo Achilles moment arm about the tibio-talar centre of "
                                       "rotation, 43-56 mm at rest, 22-27 % more in maximal contraction; Manal et "
                                       "al. 2013, Physiol Rep 1:e00139: 35-38 mm; abstracts read at "
                                       "https://pmc.ncbi.nlm.nih.gov/articles/PMC3871454): 50 mm over a 260 mm foot",
                                       _V, "Achilles moment arm about the ankle, fraction of foot length: turns a "
                                       "forward shift of the centre of pressure into the Achilles force that "
                                       "makes it"),
    "achilles_tilt_deg": _c(10.0, "deg", 0.0, 30.0, _ASSUME, _U, "Achilles line of pull leans posteriorly from "
                            "the foot's z axis"),
    # --- foot posture -> tibia
    "eversion_rotation_coupling": _c(0.68, "deg/deg", 0.3, 1.2, _FISCHER, _V,
                                     "tibial internal rotation per degree of rearfoot eversion"),
    "posting_eversion_per_deg": _c(1.62 / 5.0, "deg/deg", 0.0, 1.0,
                                   "Sinclair 2017, Foot Ankle Online J 10(4):1 (running 4 m/s: "
                                   "peak eversion -10.75 medial 5 deg / -12.37 none / -14.11 lateral 5 deg; abstract "
                                   "read at https://faoj.org/2017/12/31/effects-of-medial-and-lateral-orthoses-on-"
                                   "kinetics-and-tibiocalcaneal-kinematics-in-male-runners/); linearity in the angle "
                                   "and transfer to walking are assumptions", _V,
                                   "eversion reduction per degree of medial posting"),
    "cop_medial_mm_per_deg": _c(1.0, "mm/deg", 0.0, 5.0, _ASSUME, _U, "CoP medial shift per degree of eversion "
                                "(pronation loads the medial column)"),
    "cop_x_standing": _c(0.42, "-", 0.2, 0.7, _ASSUME + " (CoP just ahead of the ankle)", _U,
                         "CoP, fraction of foot length from the heel"),
    "cop_x_single_leg_stance": _c(0.42, "-", 0.2, 0.7, _ASSUME, _U, ""),
    "cop_x_heel_strike": _c(0.05, "-", 0.0, 0.3, _GRF, _U, ""),
    "cop_x_loading_response": _c(0.2, "-", 0.0, 0.5, _GRF, _U, ""),
    "cop_x_midstance": _c(0.45, "-", 0.2, 0.7, _GRF, _U, ""),
    "cop_x_push_off": _c(0.75, "-", 0.5, 0.95, _GRF, _U, ""),
    "pitch_standing": _c(0.0, "deg", -5.0, 5.0, "flat foot on flat ground", _V, "ground angle vs the sole"),
    "pitch_single_leg_stance": _c(0.0, "deg", -5.0, 5.0, "flat foot on flat ground", _V, ""),
    "pitch_heel_strike": _c(20.0, "deg", 0.0, 35.0, _GRF, _U, "+ = forefoot up (dorsiflexed contact)"),
    "pitch_loading_response": _c(5.0, "deg", 0.0, 20.0, _GRF, _U, ""),
    "pitch_midstance": _c(0.0, "deg", -5.0, 5.0, _GRF, _U, "foot flat"),
    "pitch_push_off": _c(-25.0, "deg", -45.0, 0.0, _GRF, _U, "- = heel raised"),
    "flexion_standing": _c(0.0, "deg", 0.0, 20.0, _ASSUME, _U, "knee flexion"),
    "flexion_single_leg_stance": _c(5.0, "deg", 0.0, 20.0, _ASSUME, _U, ""),
    "flexion_heel_strike": _c(5.0, "deg", 0.0, 20.0, _GRF, _U, ""),
    "flexion_loading_response": _c(18.0, "deg", 5.0, 30.0, _GRF, _U, "loading-response flexion peak"),
    "flexion_midstance": _c(8.0, "deg", 0.0, 20.0, _GRF, _U, ""),
    "flexion_push_off": _c(12.0, "deg", 0.0, 45.0, _GRF, _U, ""),
    # --- quadriceps (patellar-tendon) force, x BW: loads the patellofemoral model (fesolver.models.patellofemoral)
    "quadriceps_bw_standing": _c(0.0, "BW", 0.0, 0.5, _ASSUME + " (quiet standing: the knee nearly straight, the "
                                 "line of gravity in front of it, the quadriceps nearly silent)", _U,
                                 "no patellofemoral solve by default (below 1 N)"),
    "quadriceps_bw_single_leg_stance": _c(0.1, "BW", 0.0, 1.0, _ASSUME + " (knee 5 deg flexed, small extensor "
                                          "moment)", _U, ""),
    "quadriceps_bw_heel_strike": _c(0.3, "BW", 0.0, 1.5, _ASSUME + " (quadriceps active at initial contact, the "
                                    "extensor moment still small)", _U, ""),
    "quadriceps_bw_loading_response": _c(1.1, "BW", 0.3, 2.5, _EXTENSOR + "; 0.5 / (9.81 x 0.045) = 1.13 BW", _U,
                                         "extensor-moment peak; the model's joint reaction 2 F_q sin(flexion / 2) "
                                         "is then 0.34 BW at 18 deg, below the 0.5 BW walking peak of " + _REILLY),
    "quadriceps_bw_midstance": _c(0.3, "BW", 0.0, 1.5, _EXTENSOR + "; the moment falls towards zero as the knee "
                                  "extends in mid-stance (curve shape, from memory)", _U, ""),
    "quadriceps_bw_push_off": _c(0.2, "BW", 0.0, 1.5, _ASSUME + " (external extension moment in terminal stance; "
                                 "little quadriceps activity, from memory)", _U, ""),
    "quadriceps_per_deg_flexion": _c(0.05, "1/deg", 0.0, 0.2, _ASSUME + " (a more flexed knee puts the ground "
                                     "reaction further behind it: a larger extensor moment; 0.05/deg is about "
                                     "proportional at the loading-response 18 deg). With knee_pain_flexion_change_deg "
                                     "it gives the 'quadriceps avoidance' of knee pain; " + _HENRIKSEN
                                     + ": pain reduced the peak sagittal-plane knee moment (direction only)", _U,
                                     "relative quadriceps-force change per degree of knee flexion away from "
                                     "flexion[instant]"),
    # --- stance_phase positions (fraction of stance)
    "phase_loading_response": _c(0.15, "-", 0.05, 0.3, _GRF, _U, "first GRF peak"),
    "phase_midstance": _c(0.45, "-", 0.3, 0.6, _GRF, _U, "GRF valley"),
    "phase_push_off": _c(0.8, "-", 0.65, 0.95, _GRF, _U, "second GRF peak"),
    # --- antalgic: knee pain (painful leg / contralateral leg, per unit severity)
    "knee_pain_load_change": _c(-0.10, "-", -0.5, 0.0,
                                _HENRIKSEN + " - direction only; the 10 % magnitude is a model assumption",
                                _U,
                                "painful leg: change of ground and knee force"),
    "knee_pain_contralateral_load_change": _c(0.10, "-", 0.0, 0.5, _ASSUME + " (mirror of the painful side)", _U,
                                              ""),
    "knee_pain_stance_time_change": _c(-0.05, "-", -0.5, 0.0, _ASSUME, _U, "painful leg stance time"),
    "knee_pain_flexion_change_deg": _c(-5.0, "deg", -20.0, 0.0,
                                       _HENRIKSEN + " (read as a stiffer knee) - direction only; the 5 deg "
                                       "magnitude is a model assumption", _U, ""),
    "knee_pain_shank_external_deg": _c(3.0, "deg", 0.0, 15.0, _ASSUME + " (domain article: the shank rotates "
                                       "externally when knee flexion is avoided)", _U, ""),
    "knee_pain_heel_strike_change": _c(0.10, "-", 0.0, 0.5, _ASSUME + " (stiff-knee heel strike; domain article)",
                                       _U, "heel load factor change"),
    # --- antalgic: heel pain
    "heel_pain_heel_load_change": _c(-0.086, "-", -0.5, 0.0,
                                     _BC + "; peak heel-contact pressure -8.6 % painful side", _V, ""),
    "heel_pain_contralateral_heel_load_change": _c(0.119, "-", 0.0, 0.5, _BC + "; +11.9 % other side", _V, ""),
    "heel_pain_contact_time_change": _c(-0.121, "-", -0.5, 0.0,
                                        _BC + "; heel-contact duration -12.1 %", _V,
                                        "stance-time change, painful leg"),
    "heel_pain_contralateral_contact_time_change": _c(-0.048, "-", -0.5, 0.0, _BC + "; -4.8 % other side", _V, ""),
    "heel_pain_cop_forward": _c(0.05, "-", 0.0, 0.3, "Sullivan et al. 2015 Gait Posture 41:688 (heel-pain "
                                "patients offload the heel, earlier midfoot/forefoot contact; direction, abstract "
                                "read at https://researchprofiles.canberra.edu.au/en/publications/plantar-heel-pain-"
                                "and-foot-loading-during-normal-walking); magnitude a model assumption", _U,
                                "CoP shift forward, fraction of foot length"),
    "heel_pain_knee_load_change": _c(0.05, "-", 0.0, 0.5, _ASSUME + " (forefoot loading moves the GRF ahead of "
                                     "the knee; domain article)", _U, "painful leg: knee force change"),
}


def _coef(scn, name: str) -> float:
    return float(scn.chain.get(name, COEFFICIENTS[name].value)) if scn is not None else COEFFICIENTS[name].value


@dataclass(frozen=True)
class FootLoads:
    """Loads on the foot model (foot frame: x anterior, y medial, z up).

    body_weight_N, ground_force_N (vertical, N), ground_shear_N ((A-P, M-L), N), achilles_force_N (N),
    achilles_vector_N, ground_vector_N, talar_force_N ((3,) N, force of the tibia on the talar dome; the three
    vectors sum to zero), ground_tilt_deg (frontal plane, + = pronation), foot_pitch_deg (sagittal, + = forefoot
    up), centre_of_pressure ((x fraction of foot length from the heel, y mm, + medial)), heel_load_factor (-),
    stance_time_factor (-), tibial_rotation_deg (+ = internal; the same rotation as the knee's: the mortise turns
    the talar dome with the tibia).
    """

    body_weight_N: float
    ground_force_N: float
    ground_shear_N: tuple[float, float]
    achilles_force_N: float
    achilles_vector_N: tuple[float, float, float]
    ground_vector_N: tuple[float, float, float]
    talar_force_N: tuple[float, float, float]
    ground_tilt_deg: float
    foot_pitch_deg: float
    centre_of_pressure: tuple[float, float]
    heel_load_factor: float
    stance_time_factor: float
    #: the tibia's internal rotation [deg] (the knee's ``tibial_rotation_deg``), which turns the talar dome
    tibial_rotation_deg: float = 0.0


@dataclass(frozen=True)
class KneeLoads:
    """Loads on the knee model: forces in N, angles in degrees (tibial rotation + = internal);
    ``quadriceps_force_N`` loads the patellofemoral model."""

    compressive_force_N: float
    medial_share: float
    medial_force_N: float
    lateral_force_N: float
    flexion_deg: float
    varus_valgus_deg: float
    tibial_rotation_deg: float
    adduction_moment_change: float
    quadriceps_force_N: float = 0.0


_TRACE_KEYS = ("quantity", "value", "unit", "how", "sources")


@dataclass(frozen=True)
class ChainLoads:
    """The chain's output at one instant, with a ``trace`` of how each number was obtained."""

    instant: str
    phase: float
    side: str
    mirror: int
    foot: FootLoads
    knee: KneeLoads
    trace: tuple = field(default=())

    def to_dict(self) -> dict:
        """Plain dict for ``summary.json``."""
        return {"instant": self.instant, "phase": self.phase, "side": self.side, "mirror": self.mirror,
                "foot": asdict(self.foot), "knee": asdict(self.knee),
                "trace": [dict(zip(_TRACE_KEYS, t, strict=True)) for t in self.trace]}


def _per_instant(scn, prefix: str, instant: str, phase: float | None) -> tuple[float, list[str]]:
    """``prefix_<instant>``, or for a stance phase position the linear interpolation between walking instants."""
    if phase is None:
        n = f"{prefix}_{instant}"
        return _coef(scn, n), [n]
    xs = [0.0] + [_coef(scn, f"phase_{i}") for i in WALKING_INSTANTS[1:]] + [1.0]
    names = [f"{prefix}_{i}" for i in WALKING_INSTANTS]
    ys = [_coef(scn, n) for n in names]
    ys.append(ys[-1])  # hold the push-off value to the end of the sampled range
    for k in range(len(xs) - 1):
        if phase <= xs[k + 1] or k == len(xs) - 2:
            t = 0.0 if xs[k + 1] == xs[k] else min(max((phase - xs[k]) / (xs[k + 1] - xs[k]), 0.0), 1.0)
            return ys[k] + t * (ys[k + 1] - ys[k]), names
    raise AssertionError("unreachable")


def _src(names) -> str:
    return "; ".join(f"{n}: {COEFFICIENTS[n].source} [{COEFFICIENTS[n].status}]" for n in dict.fromkeys(names))


def chain_loads(scenario, instant: str | None = None, *, phase: float | None = None) -> ChainLoads:
    """Loads on the foot and knee models for ``scenario`` at a gait instant.

    Parameters
    ----------
    scenario : fesolver.scenario.Scenario
    instant : str, optional
        one of :data:`INSTANTS`; default ``gait.instant`` (for ``stance_phase`` use :func:`stance_phase`).
    phase : float, optional
        position in the stance (0 = heel strike, 1 = toe-off) for stance-phase sampling; the per-instant
        coefficients are interpolated linearly between the walking instants.

    Returns
    -------
    ChainLoads
    """
    v = scenario.values
    if phase is not None:
        instant = "stance_phase"
    else:
        instant = instant or v["gait"]["instant"]
        if instant == "stance_phase":
            raise ValueError("gait.instant = 'stance_phase': use stance_phase(scenario)")
        if instant not in INSTANTS:
            raise ValueError(f"unknown gait instant {instant!r}; known: {INSTANTS}")
    walking = phase is not None or instant in WALKING_INSTANTS
    trace: list[tuple] = []

    def note(q, val, unit, how, names):
        trace.append((q, float(val) if not isinstance(val, tuple) else val, unit, how, _src(names)))

    def pi(prefix):
        return _per_instant(scenario, prefix, instant, phase)

    g = _coef(scenario, "gravity")
    bw = v["subject"]["body_mass_kg"] * g
    note("body_weight_N", bw, "N", "subject.body_mass_kg x gravity", ["gravity"])

    # --- antalgic changes of the modelled leg
    a = v["antalgic"]
    sev = a["severity"]
    painful = a["painful_joint"]
    same = a["painful_side"] == "same"
    load_ch = stance_ch = flex_ch = shank_ext = heel_ch = knee_extra = cop_fwd = 0.0
    anames: list[str] = []
    if painful == "knee":
        ln = "knee_pain_load_change" if same else "knee_pain_contralateral_load_change"
        load_ch = sev * _coef(scenario, ln)
        anames.append(ln)
        if same:
            stance_ch = sev * _coef(scenario, "knee_pain_stance_time_change")
            flex_ch = sev * _coef(scenario, "knee_pain_flexion_change_deg")
            shank_ext = sev * _coef(scenario, "knee_pain_shank_external_deg")
            heel_ch = sev * _coef(scenario, "knee_pain_heel_strike_change")
            anames += ["knee_pain_stance_time_change", "knee_pain_flexion_change_deg",
                       "knee_pain_shank_external_deg", "knee_pain_heel_strike_change"]
    elif painful == "heel":
        hn = "heel_pain_heel_load_change" if same else "heel_pain_contralateral_heel_load_change"
        tn = "heel_pain_contact_time_change" if same else "heel_pain_contralateral_contact_time_change"
        heel_ch, stance_ch = sev * _coef(scenario, hn), sev * _coef(scenario, tn)
        anames += [hn, tn]
        if same:
            knee_extra = sev * _coef(scenario, "heel_pain_knee_load_change")
            cop_fwd = sev * _coef(scenario, "heel_pain_cop_forward")
            anames += ["heel_pain_knee_load_change", "heel_pain_cop_forward"]
    over = {"load_share_change": "load_ch", "stance_time_change": "stance_ch",
            "knee_flexion_change_deg": "flex_ch", "shank_rotation_deg": "shank_ext", "heel_load_change": "heel_ch"}
    vals = {"load_ch": load_ch, "stance_ch": stance_ch, "flex_ch": flex_ch, "shank_ext": shank_ext,
            "heel_ch": heel_ch}
    for key, var in over.items():
        if a[key] is not None:
            vals[var] = a[key]
            note(f"antalgic.{key}", a[key], "-", "scenario override", [])
    load_ch, stance_ch, flex_ch, shank_ext, heel_ch = (vals[k] for k in
                                                       ("load_ch", "stance_ch", "flex_ch", "shank_ext", "heel_ch"))
    if painful != "none":
        note("antalgic", (load_ch, stance_ch, flex_ch, shank_ext, heel_ch), "(-,-,deg,deg,-)",
             f"painful_joint={painful}, side={a['painful_side']}: severity {sev} x coefficients", anames)
    heel_factor = 1.0 + heel_ch
    stance_factor = 1.0 + stance_ch

    # --- ground reaction force
    grf_bw, gn = pi("grf_bw")
    heel_w = 0.0
    if walking:
        dv = v["gait"]["walking_speed_m_s"] - _coef(scenario, "grf_speed_reference")
        k = _coef(scenario, "grf_speed_sensitivity")
        valley = 1.0 - k * dv
        peak = 1.0 + k * dv
        if phase is None:
            sf = valley if instant == "midstance" else peak
        else:  # blend: valley factor at mid-stance, peak factor at the walking peaks
            mid = _coef(scenario, "phase_midstance")
            lr, po = _coef(scenario, "phase_loading_response"), _coef(scenario, "phase_push_off")
            w = 1.0 - min(abs(phase - mid) / max(mid - lr, po - mid), 1.0)
            sf = w * valley + (1 - w) * peak
        grf_bw *= max(sf, 0.0)
        gn += ["grf_speed_reference", "grf_speed_sensitivity"]
        lr = _coef(scenario, "phase_loading_response")
        heel_w = 1.0 if (phase is None and instant == "heel_strike") else (
            max(0.0, 1.0 - phase / lr) if phase is not None else 0.0)
    fz = bw * grf_bw * (1.0 + load_ch) * (1.0 + heel_w * (heel_factor - 1.0))
    note("ground_force_N", fz, "N", "BW x grf_bw[instant] x speed factor x (1 + load change) x heel factor at "
         "heel strike", gn + anames)

    if walking:
        sap, sn = pi("shear_ap")
        shear = (bw * sap * (1.0 + load_ch), fz * _coef(scenario, "shear_ml_fraction"))
        sn = sn + ["shear_ml_fraction"]
    else:
        shear, sn = (0.0, 0.0), []
    note("ground_shear_N", shear, "N", "(BW x shear_ap[instant], vertical x shear_ml_fraction); 0 when standing",
         sn)

    # --- foot posture
    f = v["foot"]
    o = v["orthotic"]
    post = o["posting_deg"] if o["type"] != "none" else 0.0
    ev = f["eversion_deg"] - _coef(scenario, "posting_eversion_per_deg") * post
    note("ground_tilt_deg", ev, "deg", "foot.eversion_deg - posting_eversion_per_deg x orthotic.posting_deg",
         ["posting_eversion_per_deg"])
    pitch, pn = pi("pitch")
    note("foot_pitch_deg", pitch, "deg", "pitch[instant]", pn)
    cx, cn = pi("cop_x")
    cx = min(max(cx + cop_fwd, 0.0), 1.0)
    cy = _coef(scenario, "cop_medial_mm_per_deg") * ev
    note("centre_of_pressure", (cx, cy), "(-, mm)", "(cop_x[instant] + heel-pain forward shift, "
         "cop_medial_mm_per_deg x ground_tilt_deg)", cn + ["cop_medial_mm_per_deg"])

    # --- Achilles
    m = v["muscles"]
    if m["achilles_force_N"] is not None:
        fa, an, how = m["achilles_force_N"], [], "muscles.achilles_force_N (scenario)"
    elif m["achilles_fraction"] is not None:
        fa, an, how = m["achilles_fraction"] * fz, [], "muscles.achilles_fraction (scenario) x ground force"
    else:
        frac, an = pi("achilles_fraction")
        fa, how = frac * fz, "achilles_fraction[instant] x ground force"
        if cop_fwd != 0.0:
            # moving the centre of pressure forward by cop_fwd x L adds the ankle moment fz cop_fwd L, which the
            # triceps surae supplies through the Achilles moment arm (fraction of L): the foot's solve then puts
            # its ground reaction further forward (the centre of pressure is not prescribed in the solve)
            arm = _coef(scenario, "achilles_moment_arm_fraction")
            fa += fz * cop_fwd / arm
            how += " + ground force x heel-pain forward shift / achilles_moment_arm_fraction"
            an = an + ["heel_pain_cop_forward", "achilles_moment_arm_fraction"]
    note("achilles_force_N", fa, "N", how, an)

    # vectors in the foot frame: the ground frame is rotated by pitch about y and by tilt about x
    def to_foot(vec):
        x, y, z = vec
        p, t = math.radians(pitch), math.radians(ev)
        x, z = x * math.cos(p) + z * math.sin(p), -x * math.sin(p) + z * math.cos(p)
        y, z = y * math.cos(t) + z * math.sin(t), -y * math.sin(t) + z * math.cos(t)
        return (x, y, z)

    gvec = to_foot((shear[0], shear[1], fz))
    tilt = math.radians(_coef(scenario, "achilles_tilt_deg"))
    avec = (-fa * math.sin(tilt), 0.0, fa * math.cos(tilt))
    tvec = tuple(-(gvec[i] + avec[i]) for i in range(3))
    note("talar_force_N", tvec, "N", "-(ground vector + Achilles vector), foot frame; Achilles leans back by "
         "achilles_tilt_deg", ["achilles_tilt_deg"])
    foot = FootLoads(bw, fz, shear, fa, avec, gvec, tvec, ev, pitch, (cx, cy), heel_factor, stance_factor)

    # --- knee
    kv = v["knee"]
    kbw, kn = pi("knee_bw")
    if kv["compressive_force_N"] is not None:
        fk, how, kn = kv["compressive_force_N"], "knee.compressive_force_N (scenario)", []
    else:
        fk = bw * kbw * (1.0 + load_ch) * (1.0 + knee_extra)
        how = "BW x knee_bw[instant] x (1 + load change) x (1 + heel-pain knee change)"
        kn = kn + anames
    note("compressive_force_N", fk, "N", how, kn)
    vv = kv["varus_valgus_deg"]
    dkam = (_coef(scenario, "kam_per_deg_varus") * vv + _coef(scenario, "kam_per_deg_posting") * post
            - _coef(scenario, "kam_per_deg_eversion") * ev)
    note("adduction_moment_change", dkam, "-", "kam_per_deg_varus x varus + kam_per_deg_posting x posting - "
         "kam_per_deg_eversion x ground_tilt", ["kam_per_deg_varus", "kam_per_deg_posting", "kam_per_deg_eversion"])
    if kv["medial_share"] is not None:
        ms, how, mn = kv["medial_share"], "knee.medial_share (scenario)", []
    else:
        base_n = "medial_share_standing" if instant == "standing" else "medial_share_walking"
        base = _coef(scenario, base_n)
        ms = min(max(base * (1.0 + _coef(scenario, "medial_force_per_kam") * dkam), 0.0), 1.0)
        how, mn = f"{base_n} x (1 + medial_force_per_kam x KAM change), clipped to [0, 1]", [base_n,
                                                                                             "medial_force_per_kam"]
    note("medial_share", ms, "-", how, mn)
    fl, fln = pi("flexion")
    if kv["flexion_deg"] is not None:
        flex, how, fn = kv["flexion_deg"], "knee.flexion_deg (scenario)", []
    else:
        flex, how, fn = max(fl + flex_ch, 0.0), "flexion[instant] + antalgic flexion change, >= 0", fln
    note("flexion_deg", flex, "deg", how, fn)
    if kv["quadriceps_force_N"] is not None:
        fq, how, qn = kv["quadriceps_force_N"], "knee.quadriceps_force_N (scenario)", []
    else:
        qbw, qn = pi("quadriceps_bw")
        fq = bw * qbw * (1.0 + load_ch) * max(1.0 + _coef(scenario, "quadriceps_per_deg_flexion") * (flex - fl), 0.0)
        how = ("BW x quadriceps_bw[instant] x (1 + load change) x (1 + quadriceps_per_deg_flexion x (flexion - "
               "flexion[instant])), >= 0")
        qn = qn + ["quadriceps_per_deg_flexion"] + fln + anames
    note("quadriceps_force_N", fq, "N", how, qn)
    if kv["tibial_rotation_deg"] is not None:
        rot, how, rn = kv["tibial_rotation_deg"], "knee.tibial_rotation_deg (scenario)", []
    else:
        rot = _coef(scenario, "eversion_rotation_coupling") * ev - shank_ext
        how, rn = "eversion_rotation_coupling x ground_tilt - antalgic shank external rotation", [
            "eversion_rotation_coupling"]
    note("tibial_rotation_deg", rot, "deg", how, rn)
    foot = replace(foot, tibial_rotation_deg=rot)
    knee = KneeLoads(fk, ms, fk * ms, fk * (1.0 - ms), flex, vv, rot, dkam, fq)
    side = v["subject"]["side"]
    return ChainLoads(instant, -1.0 if phase is None else float(phase), side, 1 if side == "right" else -1,
                      foot, knee, tuple(trace))


def stance_phase(scenario) -> list[ChainLoads]:
    """``gait.samples`` instants from heel strike (phase 0) to push-off (``phase_push_off``), the per-instant
    coefficients interpolated linearly; a list of :class:`ChainLoads` with ``instant = "stance_phase"``."""
    n = scenario.values["gait"]["samples"]
    end = _coef(scenario, "phase_push_off")
    return [chain_loads(scenario, phase=end * i / (n - 1)) for i in range(n)]
