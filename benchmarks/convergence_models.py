"""Mesh convergence of the anatomical models (issue 5): the headline metrics of the foot and the knee under
their standard loads at the coarse, medium and fine mesh levels, and their change from medium to fine.

    python benchmarks/convergence_models.py                                  # all models, three levels
    python benchmarks/convergence_models.py --models knee --levels coarse medium
    python benchmarks/convergence_models.py --models knee_menisci --reuse    # add a model, keep the others
    python benchmarks/convergence_models.py --foot-size-factor fine=1.3      # a coarser "fine" foot
    python benchmarks/convergence_models.py --models foot --heel-pad-grading 20 --json graded.json
    python benchmarks/convergence_models.py --models foot --ground-friction 0.46 --json friction.json
    python benchmarks/convergence_models.py --models foot --foot-order 2 --levels coarse --json p2.json  # tet10
    python benchmarks/convergence_models.py --models foot --reuse --precision double   # the fine foot, double LU
    python benchmarks/convergence_models.py --models knee_menisci --meniscus-edge-relief 0.3 --json relief.json
    python benchmarks/convergence_models.py --models foot --heel-refinement 0.5 --json heel.json

Standard loads (the same as ``docs/validation.md`` and ``tests/test_validation.py``):

* **foot**: bipedal standing of a 70 kg subject from the kinetic chain (``scenarios/standing.toml``): half
  the body weight on the foot (343 N), the Achilles tendon pulling 75 % of it, the talar dome pushed down by
  the rest; frictionless rigid ground; solid fascia.
* **knee**: 1150 N axial on the femur at the knee centre, full extension, no menisci; the femur free to move
  along the tibial axis only (its varus-valgus rotation held, as a specimen potted in a testing machine), so
  the medial/lateral load share is an output of the contact.
* **knee_menisci**: the same load on the knee with its menisci (docs/validation.md section 4), in load steps of
  a quarter to a half, solved to a relative residual of 1e-5 and an energy ratio of 1e-8 at every level (the
  defaults stall at a residual floor of about 2e-6 on the medium mesh). The plateau peak is the larger of the
  cartilage-on-cartilage and the meniscus-on-tibia peaks (force per tributary area).

Each case (model, level) runs in its own child process (its own peak memory; a crash or ``--timeout`` loses
only that case) and the results are written to ``benchmarks/results/convergence_models.json`` after every
case, so a long fine-level run can be watched and a partial study is kept; ``--reuse`` takes the cases already
in that file instead of solving them again (to add a level, or resume after an interruption). A case that is
stopped mid-solve (``--timeout``, a kill, the end of a session) continues from its last converged load step when
the study is run again: each case writes a restart file after every step (``--checkpoint-dir``, by default
``~/.cache/fesolver/checkpoints``; renamed to ``*.final.npz`` when the case is done: the solved state, which
``Problem.solve(checkpoint=...)`` returns at once, to look at its fields later). ``solve_s`` is then this run's part,
``newton_s`` the Newton time of all steps from the start. The table lists
per level the DOFs, build and solve times, Newton steps and iterations and the metrics; the last rows give the
change coarse -> medium and medium -> fine in percent, flagged where it is 5 % or more.

There is no peer that solves these anatomical models, so the times are absolute; ``assembly.py`` and
``solvers.py`` compare the kernels with scikit-fem. The numba kernels are compiled (or loaded from numba's
cache) in every child; the first case's solve time includes that (about 1-3 s when cached).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info, machine_load, print_table, run_child  # noqa: E402

SCENARIO = HERE.parent / "scenarios" / "standing.toml"
KNEE_FORCE_N = 1150.0
LEVELS = ("coarse", "medium", "fine")

#: (key in the case's metrics, label, format) per model, for the table and the change rows
FOOT_COLUMNS = (
    ("peak_fibre_stress_MPa", "fascia peak fibre stress [MPa]", "{:.3g}"),
    ("p99_fibre_stress_MPa", "fascia fibre stress, 99th pct by volume [MPa]", "{:.3g}"),
    ("total_tension_N", "fascia tension [N]", "{:.1f}"),
    ("peak_pressure_kPa", "peak plantar p [kPa]", "{:.0f}"),
    ("peak_heel_pressure_kPa", "peak heel p [kPa]", "{:.0f}"),
    ("peak_forefoot_pressure_kPa", "peak forefoot p [kPa]", "{:.0f}"),
    ("peak_heel_sensor_pressure_kPa", "peak heel p, 1 cm^2 sensor [kPa]", "{:.0f}"),
    ("peak_forefoot_sensor_pressure_kPa", "peak forefoot p, 1 cm^2 sensor [kPa]", "{:.0f}"),
    ("contact_area_mm2", "contact area [mm^2]", "{:.0f}"),
    ("rear_half_force_share", "rear-half load share", "{:.3f}"),
)
KNEE_COLUMNS = (
    # peak pressure as the scenario summaries report it (normal contact force over a node's tributary area) and the
    # contact's nodal multipliers (results of earlier runs have only the latter: "-" in the new columns)
    ("medial_peak_force_area_MPa", "medial peak p [MPa]", "{:.2f}"),
    ("lateral_peak_force_area_MPa", "lateral peak p [MPa]", "{:.2f}"),
    ("medial_peak_MPa", "medial peak multiplier [MPa]", "{:.2f}"),
    ("lateral_peak_MPa", "lateral peak multiplier [MPa]", "{:.2f}"),
    ("medial_area_mm2", "medial area [mm^2]", "{:.0f}"),
    ("lateral_area_mm2", "lateral area [mm^2]", "{:.0f}"),
    ("total_area_mm2", "total area [mm^2]", "{:.0f}"),
    ("medial_share", "medial share", "{:.3f}"),
)
KNEE_MENISCI_COLUMNS = (
    ("medial_plateau_peak_MPa", "medial plateau peak p [MPa]", "{:.2f}"),
    ("lateral_plateau_peak_MPa", "lateral plateau peak p [MPa]", "{:.2f}"),
    ("medial_cartilage_peak_MPa", "medial cartilage-on-cartilage peak p [MPa]", "{:.2f}"),
    ("lateral_cartilage_peak_MPa", "lateral cartilage-on-cartilage peak p [MPa]", "{:.2f}"),
    ("menisci_force_N", "force through the menisci [N]", "{:.0f}"),
    ("tibial_area_mm2", "tibial contact area [mm^2]", "{:.0f}"),
    ("medial_share", "medial share", "{:.3f}"),
)
COLUMNS = {"foot": FOOT_COLUMNS, "knee": KNEE_COLUMNS, "knee_menisci": KNEE_MENISCI_COLUMNS}
#: the issue's criterion: change from medium to fine below this [%]
CRITERION_PCT = 5.0


# ----------------------------------------------------------------------------------------------
# the child side: one model at one level
# ----------------------------------------------------------------------------------------------


def plantar_detail(model, res) -> dict:
    """Where the plantar load goes and where the nodal peak pressure sits.

    ``*_force_share``: the fraction of the ground force carried by the nodes of the heel (x < 0.30 L), the rear
    half (x < 0.50 L) and the forefoot (x >= 0.55 L) of the sole (nodal force = pressure x tributary area, reference
    x from the heel). ``nodal_peak_xy_mm``: reference x, y of the node with the peak pressure;
    ``nodal_peak_edge_mm``: its distance to the nearest node on the border of the plantar skin (edges of
    ``plantar_skin`` used by one facet), to tell a peak on the sole's sharp outline from one under a bone.
    """
    import numpy as np

    from fesolver.contact.rigid_surfaces import tributary_areas
    from fesolver.loads import Selection
    from fesolver.simulate import HEEL_FRACTION, MIDFOOT_FRACTION

    mesh = model.mesh
    c = res.contact["ground"]
    facets = Selection(name="plantar_skin").facets(mesh)
    nodes, area = tributary_areas(mesh.points, facets)
    if not np.array_equal(nodes, np.asarray(c["nodes"])):
        raise RuntimeError("plantar_detail: the contact's nodes are not the plantar skin's")
    p = np.asarray(c["pressure"])
    xy = mesh.points[nodes, :2]
    xr = (xy[:, 0] - mesh.points[:, 0].min()) / np.ptp(mesh.points[:, 0])
    force = p * area
    corners = np.vstack([conn[:, :3] for _, conn in facets])
    edges = np.sort(np.vstack([corners[:, [0, 1]], corners[:, [1, 2]], corners[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(edges, axis=0, return_counts=True)
    border = np.unique(uniq[count == 1])
    k = int(np.argmax(p))
    d = float(np.linalg.norm(mesh.points[border, :2] - xy[k], axis=1).min()) if border.size else float("nan")
    return {"nodal_peak_xy_mm": xy[k].tolist(), "nodal_peak_edge_mm": d,
            "heel_force_share": float(force[xr < HEEL_FRACTION].sum() / force.sum()),
            "rear_half_force_share": float(force[xr < 0.5].sum() / force.sum()),
            "forefoot_force_share": float(force[xr >= MIDFOOT_FRACTION].sum() / force.sum())}


def _solve(prob, checkpoint):
    """Solve with the restart file ``checkpoint`` (None: without); ``(result, wall s, resumed)``."""
    resumed = checkpoint is not None and Path(checkpoint).is_file()
    t0 = time.perf_counter()
    res = prob.solve(checkpoint=checkpoint)
    return res, time.perf_counter() - t0, resumed


def _timing(res, solve_s: float, resumed: bool) -> dict:
    """Solve time of this process and the Newton time over all sessions (from the step records: with a restart
    the steps solved before it count too)."""
    return {"solve_s": solve_s, "resumed": resumed,
            "newton_s": float(sum(r.seconds + r.failed_seconds for r in res.steps))}


def foot_case(level: str, size_factor: float = 1.0, linear: str = "auto", checkpoint=None,
              heel_pad_grading: float = 0.0, ground_friction: float = 0.0, order: int | None = None,
              precision: str = "auto", predictor: bool = True, heel_refinement: float = 1.0) -> dict:
    """Build the standing foot at ``level`` (element sizes times ``size_factor``, the heel pad graded into the
    soft tissue over ``heel_pad_grading`` mm, build_foot's parameter; elements of ``order`` 1 (tet4) or 2 (tet10)
    instead of the level's; the tissue under the calcaneus meshed at ``heel_refinement`` times the bulk size) and
    solve it (on a ground with Coulomb friction ``ground_friction``, the scenario's
    ``foot.ground_friction``; PARDISO's factors in ``precision``, the scenario's ``solver.precision``; without
    Newton's linear predictor when ``predictor`` is False)."""
    from fesolver.chain import chain_loads
    from fesolver.models.cache import cached_build
    from fesolver.models.foot import build_foot
    from fesolver.scenario import load_scenario
    from fesolver.simulate import foot_metrics, foot_problem

    s = load_scenario(SCENARIO, overrides={"mesh.level": level, "solver.linear": linear, "solver.precision": precision,
                                           **({"foot.ground_friction": ground_friction} if ground_friction else {})})
    loads = chain_loads(s).foot
    sub = s.section("subject")
    t0 = time.perf_counter()
    # build_foot_models' arguments, plus the size factor
    foot = cached_build(build_foot, length=sub["foot_length_mm"],
                        arch_height=max(sub["arch_height_mm"] * (1.0 - s["foot.arch_flattening"]), 0.0),
                        heel_pad_thickness=sub["heel_pad_thickness_mm"], mesh=level, side=sub["side"],
                        fascia=s["mesh.fascia"], size_factor=float(size_factor),
                        **({"heel_pad_grading": float(heel_pad_grading)} if heel_pad_grading else {}),
                        **({"order": int(order)} if order else {}),
                        **({"heel_refinement": float(heel_refinement)} if heel_refinement != 1.0 else {}))
    build_s = time.perf_counter() - t0
    model, prob = foot_problem(s, loads, foot)
    if not predictor:
        prob.newton = replace(prob.newton, predictor=False)
    res, solve_s, resumed = _solve(prob, checkpoint)
    m = foot_metrics(model, res)
    p = m["plantar"]
    bw = loads.body_weight_N
    out = {"model": "foot", "level": level, "size_factor": size_factor,
           "heel_pad_grading_mm": float(foot.params["heel_pad"].get("grading_mm", 0.0)),
           "ground_friction": float(s["foot.ground_friction"]), "order_override": int(order) if order else None,
           "heel_refinement": float(foot.params.get("heel_refinement", 1.0)),
           "dofs": 3 * model.mesh.n_nodes,
           "nodes": model.mesh.n_nodes, "elements": model.mesh.n_solid_elements,
           "element": foot.params.get("element"), "build_s": build_s, **_timing(res, solve_s, resumed),
           "steps": len(res.steps), "iterations": int(sum(r.iterations for r in res.steps)),
           "load_factor": float(res.load_factor),
           "load": {"ground_force_N": loads.ground_force_N, "achilles_force_N": loads.achilles_force_N,
                    "body_weight_N": bw},
           "metrics": {"peak_fibre_stress_MPa": m["fascia"]["peak_fibre_stress_MPa"],
                       "p99_fibre_stress_MPa": m["fascia"]["p99_fibre_stress_MPa"],
                       "peak_fibre_stretch": m["fascia"].get("peak_fibre_stretch"),
                       "total_tension_N": m["fascia"]["total_tension_N"],
                       "total_tension_BW": m["fascia"]["total_tension_N"] / bw,
                       "ray_tension_N": m["fascia"]["ray_tension_N"],
                       "peak_pressure_kPa": p["peak_pressure_kPa"],
                       "peak_heel_pressure_kPa": p["peak_heel_pressure_kPa"],
                       "peak_midfoot_pressure_kPa": p["peak_midfoot_pressure_kPa"],
                       "peak_forefoot_pressure_kPa": p["peak_forefoot_pressure_kPa"],
                       "peak_sensor_pressure_kPa": p["peak_sensor_pressure_kPa"],
                       "peak_heel_sensor_pressure_kPa": p["peak_heel_sensor_pressure_kPa"],
                       "peak_forefoot_sensor_pressure_kPa": p["peak_forefoot_sensor_pressure_kPa"],
                       "contact_area_mm2": p["contact_area_mm2"], "ground_force_N": p["force_N"],
                       "centre_of_pressure_mm": list(p["centre_of_pressure_mm"]),
                       **plantar_detail(model, res)}}
    return out


def knee_case(level: str, linear: str = "auto", checkpoint=None, precision: str = "auto") -> dict:
    """The knee without menisci at ``level``, 1150 N axial in full extension (femur free in z only)."""
    from fesolver.models.knee import build_knee, knee_with_femur_load
    from fesolver.solvers import LinearSolverOptions
    from fesolver.solvers.newton import NewtonOptions

    t0 = time.perf_counter()
    knee = build_knee(menisci=False, mesh=level)
    build_s = time.perf_counter() - t0
    loaded = knee_with_femur_load(knee, force=(0.0, 0.0, -KNEE_FORCE_N))
    prob = loaded.problem(newton=NewtonOptions(initial_step=0.5, max_step=1.0),
                          solver=LinearSolverOptions(method=linear, precision=precision))
    res, solve_s, resumed = _solve(prob, checkpoint)
    c = {n: res.contact[f"tibiofemoral_{n}"]["summary"] for n in ("medial", "lateral")}
    fz = {n: -c[n]["force_N"][2] for n in c}
    return _knee_record("knee", level, loaded, build_s, res, solve_s, resumed, {
                        "medial_peak_force_area_MPa": c["medial"]["peak_force_pressure_MPa"],
                        "lateral_peak_force_area_MPa": c["lateral"]["peak_force_pressure_MPa"],
                        "medial_peak_MPa": c["medial"]["peak_pressure_MPa"],
                        "lateral_peak_MPa": c["lateral"]["peak_pressure_MPa"],
                        "medial_area_mm2": c["medial"]["contact_area_mm2"],
                        "lateral_area_mm2": c["lateral"]["contact_area_mm2"],
                        "total_area_mm2": c["medial"]["contact_area_mm2"] + c["lateral"]["contact_area_mm2"],
                        "medial_share": fz["medial"] / (fz["medial"] + fz["lateral"]),
                        "contact_force_N": fz["medial"] + fz["lateral"]})


def _knee_record(name, level, loaded, build_s, res, solve_s, resumed, metrics) -> dict:
    """The case record of a knee run (the knee is hex8 at every level and loaded by KNEE_FORCE_N)."""
    return {"model": name, "level": level, "dofs": 3 * loaded.mesh.n_nodes, "nodes": loaded.mesh.n_nodes,
            "elements": loaded.mesh.n_solid_elements, "element": "hex8", "build_s": build_s,
            **_timing(res, solve_s, resumed), "steps": len(res.steps),
            "iterations": int(sum(r.iterations for r in res.steps)),
            "load_factor": float(res.load_factor), "load": {"axial_force_N": KNEE_FORCE_N}, "metrics": metrics}


def knee_menisci_case(level: str, linear: str = "auto", checkpoint=None, precision: str = "auto",
                      edge_relief: float = 0.0) -> dict:
    """The knee with its menisci at ``level``, 1150 N axial in full extension (femur free in z only), their
    underside relieved towards the inner edge by ``edge_relief`` mm (build_knee's ``meniscus_edge_relief``). The
    plateau figures are the scenario summaries' (:func:`fesolver.simulate.knee_metrics`: cartilage-on-cartilage and
    meniscus-on-tibia contacts together)."""
    from fesolver.models.knee import build_knee, knee_with_femur_load
    from fesolver.simulate import knee_metrics, peak_contact_pressure
    from fesolver.solvers import LinearSolverOptions
    from fesolver.solvers.newton import NewtonOptions

    t0 = time.perf_counter()
    knee = build_knee(menisci=True, mesh=level, meniscus_edge_relief=float(edge_relief))
    build_s = time.perf_counter() - t0
    loaded = knee_with_femur_load(knee, force=(0.0, 0.0, -KNEE_FORCE_N))
    prob = loaded.problem(newton=NewtonOptions(initial_step=0.25, max_step=0.5, rtol_residual=1e-5,
                                               rtol_energy=1e-8),
                          solver=LinearSolverOptions(method=linear, precision=precision))
    res, solve_s, resumed = _solve(prob, checkpoint)
    km = knee_metrics(loaded, res)
    m: dict = {"medial_share": km["medial_share"]}
    for s in ("medial", "lateral"):
        m[f"{s}_plateau_peak_MPa"] = km[s]["peak_pressure_MPa"]
        m[f"{s}_tibial_area_mm2"] = km[s]["contact_area_mm2"]
        cart = res.contact[f"tibiofemoral_{s}"]["summary"]
        m[f"{s}_cartilage_peak_MPa"] = peak_contact_pressure(cart)
        m[f"{s}_cartilage_area_mm2"] = cart["contact_area_mm2"]
        m[f"{s}_meniscus_force_N"] = -res.contact[f"femur_meniscus_{s}"]["summary"]["force_N"][2]
    m["menisci_force_N"] = m["medial_meniscus_force_N"] + m["lateral_meniscus_force_N"]
    m["tibial_area_mm2"] = m["medial_tibial_area_mm2"] + m["lateral_tibial_area_mm2"]
    out = _knee_record("knee_menisci", level, loaded, build_s, res, solve_s, resumed, m)
    out["meniscus_edge_relief_mm"] = float(edge_relief)
    return out


#: the model variants the command line selects: per model (record key, argparse dest, worker option, checkpoint
#: tag, default); a case is reused (``--reuse``) only when its record has the command line's value of every one
VARIANTS: dict[str, tuple[tuple[str, str, str, str, object], ...]] = {
    "foot": (("heel_pad_grading_mm", "heel_pad_grading", "heel-pad-grading", "g", 0.0),
             ("ground_friction", "ground_friction", "ground-friction", "mu", 0.0),
             ("order_override", "foot_order", "foot-order", "p", None),
             ("heel_refinement", "heel_refinement", "heel-refinement", "h", 1.0)),
    "knee_menisci": (("meniscus_edge_relief_mm", "meniscus_edge_relief", "meniscus-edge-relief", "r", 0.0),),
    "knee": (),
}


def variant(model: str, args) -> list[tuple[str, str, str, object, object]]:
    """The command line's variant of ``model``: (record key, worker option, tag, value, default) per option."""
    return [(key, opt, tag, getattr(args, dest), default) for key, dest, opt, tag, default in VARIANTS[model]]


def same_variant(case: dict, model: str, args) -> bool:
    """Whether a saved case was solved with the command line's variant of its model (absent keys: the default)."""
    return all(case.get(key, default) == value for key, _, _, value, default in variant(model, args))


def worker(argv) -> None:
    """``--_worker MODEL LEVEL SIZE_FACTOR LINEAR [CHECKPOINT] [--heel-pad-grading=MM] [--ground-friction=MU]
    [--foot-order=N] [--heel-refinement=F] [--meniscus-edge-relief=MM] [--precision=P] [--no-predictor=1]``: run
    one case, print
    its JSON as the last line. With CHECKPOINT (a restart file) the solve continues from it when it exists; once
    the case is done it is renamed to ``*.final.npz``, the solved state."""
    opts = {a[2:].split("=", 1)[0]: a.split("=", 1)[1] for a in argv if a.startswith("--")}
    precision = opts.get("precision", "auto")
    argv = [a for a in argv if not a.startswith("--")]
    model, level, size_factor, linear = argv[0], argv[1], float(argv[2]), argv[3]
    checkpoint = Path(argv[4]) if len(argv) > 4 else None
    from _common import peak_rss_mib

    out = (foot_case(level, size_factor, linear, checkpoint, float(opts.get("heel-pad-grading", 0.0)),
                     float(opts.get("ground-friction", 0.0)), int(opts.get("foot-order", 0)) or None, precision,
                     "no-predictor" not in opts, float(opts.get("heel-refinement", 1.0)))
           if model == "foot"
           else knee_menisci_case(level, linear, checkpoint, precision, float(opts.get("meniscus-edge-relief", 0.0)))
           if model == "knee_menisci"
           else knee_case(level, linear, checkpoint, precision))
    out["precision"] = precision
    out["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(out))
    if checkpoint is not None and checkpoint.is_file():
        # the solved state, to look at its fields later (a finished restart file returns its result at once);
        # renamed so that the next run of the study solves the case afresh
        checkpoint.replace(checkpoint.with_suffix(".final.npz"))


# ----------------------------------------------------------------------------------------------
# the parent: run the cases, tabulate, compare
# ----------------------------------------------------------------------------------------------


def change_pct(a: float | None, b: float | None) -> float | None:
    """Relative change from ``a`` to ``b`` in percent (``None`` when either is missing or ``a`` is 0)."""
    if a is None or b is None or a == 0.0:
        return None
    return 100.0 * (b - a) / abs(a)


def table(model: str, cases: list[dict]) -> None:
    cols = COLUMNS[model]
    rows = []
    for c in cases:
        if "error" in c:
            rows.append([c["level"], c.get("size_factor", "-"), "-", "-", "-", "-", c["error"][:40]]
                        + ["-"] * (len(cols) - 1))
            continue
        m = c["metrics"]
        rows.append([c["level"], c.get("size_factor", "-"), f"{c['dofs']:,}", f"{c['build_s']:.1f}",
                     f"{c.get('newton_s', c['solve_s']) if c.get('resumed') else c['solve_s']:.0f}"
                     + (" (resumed)" if c.get("resumed") else ""), f"{c['steps']}/{c['iterations']}"]
                    + ["-" if m.get(k) is None else fmt.format(m[k]) for k, _, fmt in cols])
    ok = [c for c in cases if "error" not in c]
    for a, b in zip(ok, ok[1:], strict=False):
        row = [f"{a['level']} -> {b['level']} [%]", "", "", "", "", ""]
        for k, _, _ in cols:
            d = change_pct(a["metrics"].get(k), b["metrics"].get(k))
            row.append("-" if d is None else f"{d:+.1f}" + (" *" if abs(d) >= CRITERION_PCT else ""))
        rows.append(row)
    print_table(rows, ["level", "size x", "DOFs", "build s", "solve s", "steps/its"] + [lbl for _, lbl, _ in cols])


def changes(cases: list[dict]) -> dict:
    """``{"coarse->medium": {metric: %}, "medium->fine": {...}}`` between consecutive solved levels."""
    ok = [c for c in cases if "error" not in c]
    out = {}
    for a, b in zip(ok, ok[1:], strict=False):
        out[f"{a['level']}->{b['level']}"] = {k: change_pct(v, b["metrics"].get(k)) for k, v in a["metrics"].items()
                                              if isinstance(v, (int, float))}
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_worker":
        worker(argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=list(COLUMNS), choices=list(COLUMNS))
    ap.add_argument("--levels", nargs="+", default=list(LEVELS), choices=LEVELS)
    ap.add_argument("--foot-size-factor", nargs="*", default=[], metavar="LEVEL=F",
                    help="element-size factor of a foot level (build_foot's size_factor), e.g. fine=1.3")
    ap.add_argument("--heel-pad-grading", type=float, default=0.0, metavar="MM",
                    help="the foot's heel pad graded into the soft tissue over its last MM mm (build_foot's "
                         "heel_pad_grading; 0 = the model's default)")
    ap.add_argument("--ground-friction", type=float, default=0.0, metavar="MU",
                    help="Coulomb friction of the foot on the ground (the scenario's foot.ground_friction; "
                         "standing.toml has 0)")
    ap.add_argument("--foot-order", type=int, choices=(1, 2), default=None,
                    help="element order of every foot level (build_foot's order: 1 = tet4, 2 = tet10; default: "
                         "the level's, tet4 coarse, tet10 medium and fine)")
    ap.add_argument("--meniscus-edge-relief", type=float, default=0.0, metavar="MM",
                    help="the knee's menisci with their underside relieved towards the inner edge by MM mm "
                         "(build_knee's meniscus_edge_relief; 0 = the model's default, a square edge)")
    ap.add_argument("--heel-refinement", type=float, default=1.0, metavar="F",
                    help="the foot's tissue between the calcaneus and the sole meshed at F times the level's bulk "
                         "size (build_foot's heel_refinement, 0.25-1; 1 = the model's default, no refinement)")
    ap.add_argument("--linear", default="auto", help="linear solver (auto, pardiso, amg, scipy)")
    ap.add_argument("--precision", default="auto", choices=("auto", "double", "mixed"),
                    help="PARDISO's factors (the scenario's solver.precision): auto = single precision refined by "
                         "GMRES from 100k unknowns; double for a level where GMRES converges slowly")
    ap.add_argument("--no-predictor", action="store_true",
                    help="the foot's load steps start from the last converged state, not from the linear predictor "
                         "(the fine foot's predicted steps from load factor 0.25 failed after 25 iterations)")
    ap.add_argument("--timeout", type=float, default=6 * 3600.0, help="per case [s]")
    ap.add_argument("--json", default=str(HERE / "results" / "convergence_models.json"))
    ap.add_argument("--checkpoint-dir", default=str(Path.home() / ".cache" / "fesolver" / "checkpoints"),
                    help="restart files of the running cases (one per model, level and size factor): an "
                         "interrupted case continues from its last converged load step when run again; '' = none")
    ap.add_argument("--reuse", action="store_true",
                    help="take the cases already solved in the --json file (same model, level, size factor) "
                         "instead of solving them again")
    args = ap.parse_args(argv)
    factors = {k: float(v) for k, v in (s.split("=") for s in args.foot_size_factor)}
    out_path = Path(args.json)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done: dict = {}
    if args.reuse and out_path.is_file():
        for model, cases in json.loads(out_path.read_text()).get("cases", {}).items():
            for c in cases:
                if "error" not in c and model in VARIANTS and same_variant(c, model, args):
                    done[(model, c["level"], float(c.get("size_factor", 1.0)))] = c
    doc = {"description": "mesh convergence of the foot (standing, 70 kg, chain loads) and the knee (1150 N axial, "
                          "full extension, without and with menisci); see benchmarks/convergence_models.py",
           "machine": machine_info(), "load_at_start": machine_load(), "linear": args.linear,
           "criterion_pct": CRITERION_PCT, "cases": {m: [] for m in args.models}, "changes": {}}
    if args.reuse and out_path.is_file():  # keep the other models' study as it is
        old = json.loads(out_path.read_text())
        for model, cases in old.get("cases", {}).items():
            if model not in args.models:
                doc["cases"][model] = cases
                doc["changes"][model] = old.get("changes", {}).get(model, changes(cases))
    # level by level, so that both models' coarse and medium figures are in before the long fine solves
    for level in args.levels:
        for model in args.models:
            sf = factors.get(level, 1.0) if model == "foot" else 1.0
            print(f"{model} {level} (size factor {sf}) ...", flush=True)
            if (model, level, float(sf)) in done:
                res = done[(model, level, float(sf))]
                res["reused"] = True
            else:
                cmd = ["--_worker", model, level, str(sf), args.linear]
                chosen = [(opt, tag, value) for _, opt, tag, value, default in variant(model, args) if value != default]
                if args.checkpoint_dir:
                    tag = "".join(f"_{t}{v:g}" for _, t, v in chosen)
                    cmd.append(str(Path(args.checkpoint_dir) / f"convergence_{model}_{level}_x{sf:g}{tag}.npz"))
                cmd += [f"--{opt}={v:g}" for opt, _, v in chosen]
                if args.precision != "auto":
                    cmd.append(f"--precision={args.precision}")
                if args.no_predictor and model == "foot":
                    cmd.append("--no-predictor=1")
                res = run_child(__file__, cmd, timeout=args.timeout)
            res.setdefault("level", level)
            res.setdefault("size_factor", sf)
            doc["cases"][model].append(res)
            if "error" in res:
                print(f"  FAILED: {res['error']}", flush=True)
            else:
                print(f"  {res['dofs']:,} DOFs, build {res['build_s']:.1f} s, solve {res['solve_s']:.0f} s "
                      f"({res['steps']} steps, {res['iterations']} iterations), peak RSS "
                      f"{res['peak_rss_mib'] / 1024:.1f} GiB{' (reused)' if res.get('reused') else ''}; "
                      + json.dumps({k: round(v, 4) for k, v in res["metrics"].items()
                                    if isinstance(v, float)}), flush=True)
            doc["changes"][model] = changes(doc["cases"][model])
            tmp = out_path.with_name(out_path.name + ".tmp")  # a kill mid-write leaves the last file whole
            tmp.write_text(json.dumps(doc, indent=2))
            tmp.replace(out_path)
    for model in args.models:
        print(f"\n{model}:")
        table(model, doc["cases"][model])
    print(f"\n* = change of {CRITERION_PCT:.0f} % or more. Written {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
