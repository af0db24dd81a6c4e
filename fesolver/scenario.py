"""Scenario files: a gait case in TOML -> a validated :class:`Scenario` (issue 6).

A scenario states *what happens to whom*: the subject, the gait instant, the foot posture, an antalgic
(pain-avoiding) gait, an orthotic insert, the knee, muscle forces, and the mesh/solver/output options. The
kinetic chain (:mod:`fesolver.chain`) turns it into loads on the foot and knee models.

Every key, its type, unit, default and allowed range is declared once in :data:`SCHEMA`; loading checks the
file against it (unknown keys, wrong types, values out of range, unknown choices) and raises
:class:`~fesolver.errors.ScenarioError` naming the file, the key, the value and what is allowed, before
anything runs. ``fesolver scenario-keys`` prints the schema as a table (also in README).

A scenario may start from another: ``extends = "base.toml"`` (relative to the file) reads that file first and
then overrides it key by key (tables merge; values replace), so families of cases stay short. Chains of
``extends`` are followed (at most :data:`MAX_EXTENDS` deep); a cycle is an error. Scenario files are data:
nothing in them is executed.

Units: mm, N, MPa, s, kg, degrees (angles), m/s (walking speed).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ScenarioError, read_toml
from .modelfile import _Table

__all__ = ["Key", "SCHEMA", "Scenario", "load_scenario", "parse_scenario", "schema_table", "GAIT_INSTANTS",
           "MAX_EXTENDS", "flatten", "unflatten"]

#: deepest chain of ``extends``
MAX_EXTENDS = 8

#: gait instants a scenario can ask for; ``stance_phase`` is the whole stance as a load curve
GAIT_INSTANTS = ("standing", "single_leg_stance", "heel_strike", "loading_response", "midstance", "push_off",
                 "stance_phase")


class _ScenarioTable(_Table):
    error = ScenarioError


@dataclass(frozen=True)
class Key:
    """One scenario key: kind (``number``, ``integer``, ``string``, ``boolean``, ``path``, ``mapping``),
    default (``None``: optional, absent unless given), bounds (inclusive), choices, unit and meaning."""

    kind: str
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    unit: str = ""
    doc: str = ""


def _n(default, lo, hi, unit, doc):
    return Key("number", default, lo, hi, None, unit, doc)


#: section -> key -> :class:`Key`
SCHEMA: dict[str, dict[str, Key]] = {
    "subject": {
        "body_mass_kg": _n(70.0, 20.0, 250.0, "kg", "body mass; body weight BW = mass x 9.81 N/kg"),
        "side": Key("string", "right", choices=("right", "left"), doc="the leg that is modelled"),
        "foot_length_mm": _n(260.0, 180.0, 330.0, "mm", "heel to toe tip"),
        "arch_height_mm": _n(15.0, 3.0, 30.0, "mm", "medial arch: ~5 flat, ~15 normal, ~25 high-arched"),
        "heel_pad_thickness_mm": _n(18.0, 8.0, 30.0, "mm", "unloaded heel-pad thickness"),
        "foot_mesh": Key("path", doc="a user's foot volume mesh (any meshio format or an FEBio .feb) instead "
                                     "of the parametric foot (docs/models.md, User meshes)"),
        "foot_mesh_regions": Key("mapping", doc="region name in foot_mesh -> foot model region, e.g. "
                                                "{ Calc = \"calcaneus\" }"),
        "knee_mesh": Key("path", doc="a user's knee volume mesh instead of the parametric knee"),
        "knee_mesh_regions": Key("mapping", doc="region name in knee_mesh -> knee model region"),
    },
    "gait": {
        "instant": Key("string", "midstance", choices=GAIT_INSTANTS,
                       doc="standing = bipedal quiet standing; stance_phase = heel strike to push-off as a "
                           "load curve"),
        "walking_speed_m_s": _n(1.3, 0.3, 3.0, "m/s", "walking speed (scales the ground reaction peaks)"),
        "samples": Key("integer", 7, 3, 50, None, "", "stance_phase: instants solved along the stance"),
    },
    "foot": {
        "eversion_deg": _n(0.0, -20.0, 25.0, "deg", "rearfoot eversion; + = pronation, - = supination"),
        "arch_flattening": _n(0.0, 0.0, 0.9, "-", "fraction of the arch height lost under load (flexible "
                                                 "flat foot); 0 = the built arch"),
        "toe_out_deg": _n(7.0, -15.0, 35.0, "deg", "foot progression angle, + = toe out"),
        "ground_friction": _n(0.0, 0.0, 2.0, "-", "Coulomb coefficient of the bare sole on the ground; 0 = "
                              "frictionless (the validated default; plantar skin on insole materials: 0.46 +/- 0.15, "
                              "Zhang & Mak 1999; midstance.toml and the scenarios extending it, antalgic_knee.toml and "
                              "antalgic_heel.toml set 0.46, so that the chain's tibial rotation twists the planted "
                              "foot instead of spinning it). Slower: coarse "
                              "standing 52 s against 8 s"),
    },
    "antalgic": {
        "painful_joint": Key("string", "none", choices=("none", "knee", "heel"), doc="the painful joint"),
        "painful_side": Key("string", "same", choices=("same", "other"),
                            doc="same = the modelled leg is the painful one; other = the contralateral leg"),
        "severity": _n(1.0, 0.0, 2.0, "-", "scales the published changes (1 = as measured in the cited "
                                           "studies, 0 = none)"),
        "load_share_change": _n(None, -0.5, 0.5, "-", "override: change of the modelled leg's peak load, "
                                                      "fraction of normal"),
        "stance_time_change": _n(None, -0.5, 0.5, "-", "override: change of the modelled leg's stance time"),
        "knee_flexion_change_deg": _n(None, -30.0, 30.0, "deg", "override: change of knee flexion at the "
                                                                "instant (- = stiff knee)"),
        "shank_rotation_deg": _n(None, -20.0, 20.0, "deg", "override: added shank rotation, + = external"),
        "heel_load_change": _n(None, -0.5, 1.0, "-", "override: change of the heel-strike load"),
    },
    "orthotic": {
        "type": Key("string", "none", choices=("none", "insole", "mesh"),
                    doc="none = bare foot on the ground; insole = parametric insert; mesh = the user's insert"),
        "material": Key("string", "eva_medium", doc="insert material, a name of the insole material library"),
        "thickness_mm": _n(6.0, 1.0, 20.0, "mm", "insert thickness under the flat part"),
        "heel_cup_mm": _n(0.0, 0.0, 20.0, "mm", "heel-cup rim height"),
        "arch_support_mm": _n(0.0, 0.0, 25.0, "mm", "medial arch-support height"),
        "arch_support_shape": Key("string", "cosine", choices=("cosine", "gaussian", "plateau")),
        "posting_deg": _n(0.0, -15.0, 15.0, "deg", "wedge; + = medial (raises the medial side), - = lateral"),
        "posting_region": Key("string", "rearfoot", choices=("rearfoot", "full")),
        "forefoot_extent": _n(1.0, 0.5, 1.0, "-", "fraction of the foot length the insert covers"),
        "mesh": Key("path", doc="type = mesh: the user's insert (volume mesh or closed STL)"),
        "midsole": Key("string", "none", doc="footwear midsole under the insert (type = insole): none (rigid "
                                             "ground) or a library material"),
        "midsole_thickness_mm": _n(20.0, 2.0, 50.0, "mm", "midsole thickness"),
        "friction": _n(0.0, 0.0, 2.0, "-", "Coulomb coefficient of the skin on the insert, acting once the insert "
                       "carries the foot; 0 = frictionless like the bare-foot ground (measured skin on five materials "
                       "including Pelite: 0.46 +/- 0.15, Zhang & Mak 1999)"),
    },
    "knee": {
        "flexion_deg": _n(None, 0.0, 90.0, "deg", "override: knee flexion (default from the gait instant)"),
        "varus_valgus_deg": _n(0.0, -15.0, 15.0, "deg", "frontal-plane alignment, + = varus"),
        "compressive_force_N": _n(None, 0.0, 20000.0, "N", "override: tibiofemoral compressive force"),
        "medial_share": _n(None, 0.0, 1.0, "-", "override: medial compartment share of the knee load"),
        "tibial_rotation_deg": _n(None, -30.0, 30.0, "deg", "override: tibial rotation, + = internal"),
        "quadriceps_force_N": _n(None, 0.0, 10000.0, "N", "override: quadriceps (patellar-tendon) force on the "
                                                         "patellofemoral model"),
        "patellofemoral": Key("boolean", True, doc="solve the patellofemoral joint (patellar and trochlear "
                                                   "cartilage) with the knee"),
    },
    "muscles": {
        "achilles_force_N": _n(None, 0.0, 10000.0, "N", "override: Achilles tendon force"),
        "achilles_fraction": _n(None, 0.0, 3.0, "-", "override: Achilles force as a fraction of the foot's "
                                                     "ground load"),
    },
    "mesh": {
        "level": Key("string", "coarse", choices=("coarse", "medium", "fine")),
        "fascia": Key("string", "solid", choices=("solid", "truss"),
                      doc="plantar fascia as a fibre-reinforced solid sheet or tension-only truss bands"),
        "menisci": Key("boolean", True, doc="include the menisci in the knee"),
    },
    "solver": {
        "initial_step": _n(0.1, 1e-4, 1.0, "-", "first load-factor increment"),
        "max_step": _n(0.25, 1e-4, 1.0, "-", "largest load-factor increment"),
        "min_step": _n(1e-4, 1e-8, 0.5, "-", "give up below this increment"),
        "max_iterations": Key("integer", 25, 2, 200, None, "", "Newton iterations per step"),
        "tolerance": _n(1e-4, 1e-12, 1e-2, "-", "Newton converged at residual <= tolerance x load norm and energy "
                        "<= tolerance x the step's first"),
        "linear": Key("string", "auto", choices=("auto", "pardiso", "cholmod", "scipy", "amg")),
        "precision": Key("string", "auto", choices=("auto", "double", "mixed"),
                         doc="PARDISO factors of the Newton tangents: mixed = single-precision factors refined to "
                             "double by GMRES (half the memory; auto: from 100,000 unknowns, the medium and fine foot "
                             "meshes), double = double precision throughout"),
        "parallel": Key("boolean", False, doc="solve the knee (and patellofemoral joint) in a second process while "
                        "the foot solves (both asked for, two or more cores; measured on 2 cores: not faster, "
                        "README Performance)"),
    },
    "output": {
        "steps": Key("boolean", False, doc="write every converged load step to the .pvd series"),
        "models": Key("string", "both", choices=("both", "foot", "knee"),
                      doc="which sub-models to solve (knee: the tibiofemoral and, with knee.patellofemoral, the "
                          "patellofemoral joint)"),
    },
}

#: keys allowed at the top level (besides the sections)
TOP_KEYS = {"title": Key("string", doc="a name for the case (default: the file name)"),
            "description": Key("string", doc="free text"),
            "extends": Key("path", doc="a scenario this one starts from (relative path)")}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: ``values[section][key]`` with defaults filled in (optional keys absent unless
    given, i.e. ``None``), ``chain`` coefficient overrides, the merged raw data and where it came from.

    ``scenario["foot.eversion_deg"]`` reads a value by its dotted key.
    """

    path: Path
    title: str
    values: MappingProxyType
    chain: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    raw: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    sources: tuple[Path, ...] = ()

    def __getitem__(self, dotted: str):
        section, _, key = dotted.partition(".")
        if section not in self.values or key not in self.values[section]:
            raise KeyError(f"no scenario key {dotted!r}")
        return self.values[section][key]

    def section(self, name: str) -> MappingProxyType:
        return self.values[name]

    def expanded(self) -> dict:
        """The full scenario (every key, defaults included, ``extends`` resolved) as a plain dict -- what a
        batch saves next to each result and hashes."""
        out: dict[str, Any] = {"title": self.title}
        if self.raw.get("description"):
            out["description"] = self.raw["description"]
        for sec, keys in self.values.items():
            out[sec] = {k: (str(v) if isinstance(v, Path) else v) for k, v in keys.items() if v is not None}
        if self.chain:
            out["chain"] = dict(self.chain)
        return out


def _read_toml(path: Path, referrer: str | None = None) -> dict:
    where = f" (extends of {referrer})" if referrer else ""
    return read_toml(path, ScenarioError, "scenario file", where)


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _resolve_extends(path: Path, data: dict, chain: tuple[Path, ...]) -> tuple[dict, tuple[Path, ...]]:
    """Merge ``data`` over what it extends, recursively; returns ``(merged, files from this one to the base)``."""
    ext = data.get("extends")
    if ext is None:
        return data, chain
    if not isinstance(ext, str):
        raise ScenarioError(f"{path}: extends must be a string (a path), got {ext!r}")
    parent = (path.parent / ext).resolve()
    if parent in chain:
        raise ScenarioError(f"{path}: extends = {ext!r} makes a cycle: "
                            f"{' -> '.join(str(p) for p in (*chain, parent))}")
    if len(chain) > MAX_EXTENDS:
        raise ScenarioError(f"{path}: more than {MAX_EXTENDS} levels of extends")
    pdata = _read_toml(parent, referrer=str(path))
    merged_parent, files = _resolve_extends(parent, pdata, (*chain, parent))
    merged = _merge(merged_parent, {k: v for k, v in data.items() if k != "extends"})
    return merged, files


def load_scenario(path, overrides: dict | None = None) -> Scenario:
    """Read and validate a scenario file; ``overrides`` (``{"foot.eversion_deg": 5.0, ...}``) replace keys
    after ``extends`` is resolved (used by sweeps)."""
    path = Path(path).resolve()
    data = _read_toml(path)
    merged, files = _resolve_extends(path, data, (path,))
    if overrides:
        merged = _merge(merged, unflatten(overrides))
    return parse_scenario(merged, path, sources=files)


def parse_scenario(data: dict, path, sources: tuple[Path, ...] = ()) -> Scenario:
    """Validate already-merged scenario ``data``; ``path`` locates relative files and names errors."""
    path = Path(path)
    file = str(path)
    top = _ScenarioTable(file, "", data)
    title = top.get("title", "string", default=path.stem)
    top.get("description", "string")
    values: dict[str, dict[str, Any]] = {}
    for sec, keys in SCHEMA.items():
        t = _ScenarioTable(file, sec, top.get(sec, "table", default={}))
        vals = {}
        for k, spec in keys.items():
            vals[k] = _value(t, k, spec, path)
        t.done()
        values[sec] = vals
    chain_over = _chain_overrides(_ScenarioTable(file, "chain", top.get("chain", "table", default={})))
    top.done()
    _cross_checks(file, values)
    return Scenario(path=path, title=title,
                    values=MappingProxyType({s: MappingProxyType(v) for s, v in values.items()}),
                    chain=MappingProxyType(chain_over), raw=MappingProxyType(copy.deepcopy(data)),
                    sources=sources or (path,))


def _value(t: _Table, k: str, spec: Key, path: Path):
    if spec.kind == "number":
        return t.number(k, default=spec.default, lo=spec.lo, hi=spec.hi)
    if spec.kind == "integer":
        v = t.get(k, "integer", default=spec.default)
        if v is not None and ((spec.lo is not None and v < spec.lo) or (spec.hi is not None and v > spec.hi)):
            t.fail(f"{t.key(k)} must be an integer from {int(spec.lo)} to {int(spec.hi)}, got {v}")
        return v
    if spec.kind == "string":
        if spec.choices:
            return t.choice(k, spec.choices, default=spec.default)
        return t.get(k, "string", default=spec.default)
    if spec.kind == "boolean":
        return t.get(k, "boolean", default=spec.default)
    if spec.kind == "path":
        v = t.get(k, "string")
        if v is None:
            return None
        p = (path.parent / v).resolve()
        if not p.is_file():
            t.fail(f"{t.key(k)} = {v!r}: no such file ({p})")
        return p
    if spec.kind == "mapping":
        v = t.get(k, "table")
        if v is None:
            return None
        bad = {a: b for a, b in v.items() if not isinstance(b, str)}
        if bad:
            t.fail(f"{t.key(k)} maps region names to region names (strings), got {bad}")
        return dict(v)
    raise AssertionError(spec.kind)


def _chain_overrides(t: _Table) -> dict[str, float]:
    """``[chain]``: coefficient name -> value, each checked against :data:`fesolver.chain.COEFFICIENTS`."""
    from .chain import COEFFICIENTS

    out = {}
    for k in list(t.data):
        if k not in COEFFICIENTS:
            t.fail(f"chain.{k} is not a kinetic-chain coefficient; known: {sorted(COEFFICIENTS)}")
        c = COEFFICIENTS[k]
        out[k] = t.number(k, lo=c.lo, hi=c.hi)
    t.done()
    return out


def _cross_checks(file: str, v: dict) -> None:
    o = v["orthotic"]
    if o["type"] == "mesh" and o["mesh"] is None:
        raise ScenarioError(f"{file}: orthotic.type = 'mesh' needs orthotic.mesh (the insert's mesh file)")
    if o["type"] != "mesh" and o["mesh"] is not None:
        raise ScenarioError(f"{file}: orthotic.mesh is given but orthotic.type = {o['type']!r}; "
                            f"set type = 'mesh' to use it")
    from .models.library import available

    names = available()
    if o["type"] != "none" and o["material"] not in names:
        raise ScenarioError(f"{file}: orthotic.material = {o['material']!r} is not in the insole material "
                            f"library; available: {names}")
    if o["midsole"] != "none" and o["midsole"] not in names:
        raise ScenarioError(f"{file}: orthotic.midsole = {o['midsole']!r} is not 'none' or a library material; "
                            f"available: {names}")
    if o["midsole"] != "none" and o["type"] != "insole":
        raise ScenarioError(f"{file}: orthotic.midsole = {o['midsole']!r} needs orthotic.type = 'insole' (the "
                            f"midsole is built under the parametric insert), got type = {o['type']!r}")
    a = v["antalgic"]
    if a["painful_joint"] == "none":
        given = [k for k in ("load_share_change", "stance_time_change", "knee_flexion_change_deg",
                             "shank_rotation_deg", "heel_load_change") if a[k] is not None]
        if given:
            raise ScenarioError(f"{file}: antalgic.{given[0]} is given but antalgic.painful_joint = 'none'; "
                                f"name the painful joint ('knee' or 'heel')")
    s = v["solver"]
    if not s["min_step"] <= s["initial_step"] <= s["max_step"]:
        raise ScenarioError(f"{file}: solver steps must satisfy min_step <= initial_step <= max_step, got "
                            f"{s['min_step']}, {s['initial_step']}, {s['max_step']}")


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """``{"foot": {"eversion_deg": 5}}`` -> ``{"foot.eversion_deg": 5}``."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def unflatten(d: dict[str, Any]) -> dict:
    """Inverse of :func:`flatten`."""
    out: dict = {}
    for k, v in d.items():
        parts = k.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return out


def schema_table() -> str:
    """The schema as a Markdown table (section.key, type, default, range/choices, unit, meaning)."""
    rows = ["| key | type | default | allowed | unit | meaning |", "|---|---|---|---|---|---|"]
    for k, spec in TOP_KEYS.items():
        rows.append(f"| `{k}` | {spec.kind} | | | | {spec.doc} |")
    for sec, keys in SCHEMA.items():
        for k, spec in keys.items():
            if spec.choices:
                allowed = " \\| ".join(f"`{c}`" for c in spec.choices)
            elif spec.lo is not None:
                allowed = f"{spec.lo:g} … {spec.hi:g}"
            else:
                allowed = ""
            default = "—" if spec.default is None else f"`{spec.default}`"
            rows.append(f"| `{sec}.{k}` | {spec.kind} | {default} | {allowed} | {spec.unit} | {spec.doc} |")
    return "\n".join(rows)
