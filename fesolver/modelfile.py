"""Model files: a generic linear-elastic problem described in TOML.

The format (all lengths mm, forces N, stresses and moduli MPa, density t/mm^3)::

    title = "Steel cantilever"            # optional

    [mesh]
    file = "cantilever.msh"               # any meshio format; path relative to this file

    [materials.steel]                     # one table per material; the name is a label
    model = "linear_elastic"
    region = "beam"                       # a cell set of the mesh ("all" = every solid element)
    E = 210000.0                          # Young's modulus [MPa]
    nu = 0.3                              # Poisson's ratio
    density = 7.85e-9                     # [t/mm^3], optional, for gravity

    [[boundary]]                          # any number of these
    name = "clamp"                        # optional label (reactions are reported under it)
    nodes = "fixed_end"                   # a node set (every named set also gives one), or
    # box = [[-1, -1, -1], [0.1, 11, 11]] # an axis-aligned box [[xmin, ymin, zmin], [xmax, ymax, zmax]]
    fix = ["x", "y", "z"]                 # components held at zero, and/or
    # displacement = { z = -0.5 }         # prescribed components [mm]; or, instead of both, a rigid turn:
    # rotation = { axis = [0, 0, 1], angle_deg = 10.0, centre = [0, 0, 100], components = ["x", "y"] }
    #                                     # (centre: default the nodes' centroid; components: default all;
    #                                     #  exact at every load factor in finite strain)

    [[load]]
    type = "force"                        # total force [N] shared equally by the nodes
    nodes = "tip"                         # or box = ...
    value = [0.0, 0.0, -100.0]

    [[load]]
    type = "pressure"                     # [MPa], positive pushes into the body
    surface = "top"                       # a facet set (physical surface), or box = ... (boundary faces)
    value = 0.5

    [[load]]
    type = "traction"                     # force per area [MPa] on a surface
    surface = "end"
    value = [0.0, 0.0, -1.0]

    [[load]]
    type = "gravity"                      # acceleration [mm/s^2] times each material's density
    value = [0.0, 0.0, -9810.0]
    # region = "all"                      # cell set or box; body_force takes value in N/mm^3

    [solver]
    linear = "auto"                       # auto | pardiso | cholmod | scipy | amg
    rtol = 1e-8                           # iterative solver tolerance
    maxiter = 2000
    direct_limit = 100000                 # auto: direct solver up to this many unknowns
    precision = "auto"                    # PARDISO factors: auto | double | mixed (single + GMRES)
    hex8 = "incompatible"                 # hex8 formulation: incompatible | full

Every mistake -- an unknown key, a wrong type, a value out of range, a missing file, a set that does not
exist -- raises :class:`~fesolver.errors.ModelError` naming the file, the key and what was expected.
Model files are data: nothing in them is executed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .contact import RigidCylinder, RigidEllipsoid, RigidPlane, RigidSphere, SurfaceContact
from .elements.truss import TrussMaterial
from .errors import MeshError, ModelError, read_toml
from .loads import (
    COMPONENTS,
    RAMP,
    BodyForce,
    FixedDisplacement,
    Gravity,
    LoadCurve,
    NodalForce,
    PrescribedRotation,
    Selection,
    SurfaceLoad,
)
from .materials import MATERIAL_MODELS, LinearGrading, Mixture
from .mesh import read_mesh
from .problem import ANALYSES, FINITE_STRAIN_FORMULATIONS
from .rigid import RIGID_DOFS, RigidBody
from .solvers import METHODS, PRECISIONS, LinearSolverOptions
from .solvers.newton import NewtonOptions

__all__ = ["load_model", "parse_model", "parse_material"]

_LOAD_TYPES = ("force", "pressure", "traction", "body_force", "gravity")
#: contact surface type -> (class, geometry keys and their kinds)
_CONTACT_SURFACES = {
    "plane": (RigidPlane, {"point": "vector", "normal": "vector"}),
    "sphere": (RigidSphere, {"centre": "vector", "radius": "length"}),
    "cylinder": (RigidCylinder, {"point": "vector", "axis": "vector", "radius": "length"}),
    "ellipsoid": (RigidEllipsoid, {"centre": "vector", "semi_axes": "vector"}),
}


class _Table:
    """Typed access to one TOML table; :meth:`done` reports keys that were never asked for."""

    error = ModelError  # the class raised by fail()

    def __init__(self, file: str, where: str, data: Any):
        self.file = file
        self.where = where
        if not isinstance(data, dict):
            self.fail(f"{where} must be a table, got {_tname(data)}")
        self.data = data
        self.used: set[str] = set()

    def fail(self, msg: str):
        raise self.error(f"{self.file}: {msg}")

    def key(self, k: str) -> str:
        return f"{self.where}.{k}" if self.where else k

    def get(self, k: str, kind: str, required: bool = False, default: Any = None):
        self.used.add(k)
        if k not in self.data:
            if required:
                self.fail(f"{self.key(k)} is missing (expected {kind})")
            return default
        return _check_type(self, k, self.data[k], kind)

    def number(self, k: str, required=False, default=None, lo=None, hi=None, lo_open=False, hi_open=False):
        v = self.get(k, "number", required, default)
        if v is None:
            return None
        bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (
            hi is not None and (v >= hi if hi_open else v > hi)
        )
        if bad:
            lb = "" if lo is None else f"{'>' if lo_open else '>='} {lo}"
            hb = "" if hi is None else f"{'<' if hi_open else '<='} {hi}"
            self.fail(f"{self.key(k)} must be {' and '.join(s for s in (lb, hb) if s)}, got {v}")
        return v

    def choice(self, k: str, choices, required=False, default=None):
        v = self.get(k, "string", required, default)
        if v is not None and v not in choices:
            self.fail(f"{self.key(k)} must be one of {list(choices)}, got {v!r}")
        return v

    def done(self):
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            self.fail(
                f"unknown key(s) {unknown} in {self.where or 'the top level'}; allowed: {sorted(self.used)}"
            )


def _tname(v) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(v), type(v).__name__)


def _check_type(t: _Table, k: str, v, kind: str):
    if kind == "number":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            t.fail(f"{t.key(k)} must be a finite number, got {_tname(v)} {v!r}")
        return float(v)
    if kind == "integer":
        if isinstance(v, bool) or not isinstance(v, int):
            t.fail(f"{t.key(k)} must be an integer, got {_tname(v)} {v!r}")
        return v
    if kind == "string":
        if not isinstance(v, str):
            t.fail(f"{t.key(k)} must be a string, got {_tname(v)} {v!r}")
        return v
    if kind == "vector":
        if (not isinstance(v, list) or len(v) != 3
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x)
                       for x in v)):
            t.fail(f"{t.key(k)} must be an array of 3 numbers [x, y, z], got {v!r}")
        return tuple(float(x) for x in v)
    if kind == "box":
        if not (isinstance(v, list) and len(v) == 2):
            t.fail(f"{t.key(k)} must be [[xmin, ymin, zmin], [xmax, ymax, zmax]], got {v!r}")
        lo = _check_type(t, k, v[0], "vector")
        hi = _check_type(t, k, v[1], "vector")
        if any(a > b for a, b in zip(lo, hi, strict=True)):
            t.fail(f"{t.key(k)} must have min <= max in every component, got {v!r}")
        return (lo, hi)
    if kind == "components":
        if not isinstance(v, list) or not v or any(c not in COMPONENTS for c in v) or len(set(v)) != len(v):
            t.fail(f"{t.key(k)} must be a list of distinct components from ['x', 'y', 'z'], got {v!r}")
        return list(v)
    if kind == "boolean":
        if not isinstance(v, bool):
            t.fail(f"{t.key(k)} must be true or false, got {_tname(v)} {v!r}")
        return v
    if kind == "table":
        if not isinstance(v, dict):
            t.fail(f"{t.key(k)} must be a table, got {_tname(v)}")
        return v
    if kind == "array":
        if not isinstance(v, list):
            t.fail(f"{t.key(k)} must be an array of tables, got {_tname(v)}")
        return v
    raise AssertionError(kind)


def _selection(t: _Table, name_key: str, default_all: bool = False) -> Selection:
    name = t.get(name_key, "string")
    box = t.get("box", "box")
    if name is not None and box is not None:
        t.fail(f"{t.where} gives both {name_key!r} and 'box'; give one")
    if name is None and box is None:
        if default_all:
            return Selection(name="all")
        t.fail(f"{t.where} needs {name_key!r} (a set name) or 'box' ([[xmin, ymin, zmin], [xmax, ymax, zmax]])")
    return Selection(name=name) if name is not None else Selection(box=box)


def _resolve(file: str, where: str, key: str, fn, sel: Selection) -> None:
    try:
        fn()
    except ModelError as exc:
        k = f"{where}.{key}" if sel.name is not None else f"{where}.box"
        raise ModelError(f"{file}: {k}: {exc}") from exc


def _surface_contact(ct: _Table, cname: str):
    """``[contact.NAME]`` with ``type = "surface"``: two facet sets (slave, master) and the options."""
    sel = {}
    for key in ("slave", "master"):
        name = ct.get(key, "string", required=True)
        sel[key] = Selection(name=name)
    kw = {
        "friction": ct.number("friction", default=0.0, lo=0.0),
        "penalty": ct.number("penalty", lo=0.0, lo_open=True),
        "tangential_penalty": ct.number("tangential_penalty", lo=0.0, lo_open=True),
        "augmentation": ct.get("augmentation", "boolean", default=True),
        "tol": ct.number("tol", default=1e-2, lo=0.0, lo_open=True),
        "gap_tol": ct.number("gap_tol", default=1e-6, lo=0.0, lo_open=True),
        "symmetric": ct.get("symmetric", "boolean", default=False),
        "search_radius": ct.number("search_radius", lo=0.0, lo_open=True),
        "geometric_stiffness": ct.get("geometric_stiffness", "boolean", default=True),
        "initial_overlap": ct.choice("initial_overlap", ("enforce", "ramp"), default="enforce"),
        "smoothing": ct.number("smoothing", default=0.0, lo=0.0),
    }
    sub = ct.data.get("subdivision")
    ct.used.add("subdivision")
    if sub is not None and sub != "nodal" and (isinstance(sub, bool) or not isinstance(sub, int) or not 0 <= sub <= 4):
        ct.fail(f"contact.{cname}.subdivision must be an integer 0..4 or \"nodal\", got {sub!r}")
    kw["subdivision"] = sub
    ct.done()
    if sel["slave"].name == sel["master"].name:
        ct.fail(f"contact.{cname}: slave and master are the same surface {sel['slave'].name!r}")
    return SurfaceContact(slave=sel["slave"], master=sel["master"], name=cname, **kw)


def load_model(path):
    """Read a model file and its mesh -> :class:`~fesolver.problem.Problem` (validated, not solved)."""
    path = Path(path)
    return parse_model(read_toml(path, ModelError, "model file"), path)


def parse_material(data: dict, name: str, file: str = "<model>"):
    """One ``[materials.NAME]`` table (its ``region`` key, if any, is ignored) -> the material; mistakes raise
    :class:`~fesolver.errors.ModelError` as in :func:`load_model`."""
    mt = _Table(file, f"materials.{name}", data)
    model = mt.choice("model", sorted(MATERIAL_MODELS) + ["mixture"], default="linear_elastic")
    mt.get("region", "string")
    return _mixture(file, name, mt) if model == "mixture" else _single_material(name, mt, model)


def _single_material(mname: str, mt: _Table, model: str):
    """A material of one model (``MATERIAL_MODELS``) from its table ``mt`` (checked and closed here)."""
    cls, required, optional = MATERIAL_MODELS[model]
    params = {}
    for k in required:
        params[k] = mt.number(k, required=True)
    for k in optional:
        v = mt.number(k)
        if v is not None:
            params[k] = v
    if getattr(cls, "fibre_reinforced", False):
        fibre = mt.get("fibre", "vector")
        if fibre is not None:
            if sum(x * x for x in fibre) == 0.0:
                mt.fail(f"{mt.key('fibre')} must be a non-zero direction, got {list(fibre)}")
            params["fibre"] = fibre
    mt.done()
    if model == "linear_elastic":
        if params["E"] <= 0:
            mt.fail(f"{mt.key('E')} must be > 0 (Young's modulus in MPa), got {params['E']}")
        if not (-1.0 < params["nu"] < 0.5):
            mt.fail(f"{mt.key('nu')} must satisfy -1 < nu < 0.5, got {params['nu']}")
        if params.get("density", 0.0) < 0:
            mt.fail(f"{mt.key('density')} must be >= 0 (t/mm^3), got {params['density']}")
    try:
        return cls(**params, name=mname)
    except (ValueError, TypeError) as exc:
        mt.fail(f"[{mt.where}] (model {model!r}): {exc}")


def _mixture(file: str, mname: str, mt: _Table):
    """``model = "mixture"``: ``first`` and ``second`` (tables of single hyperelastic models) and ``weight`` (the
    fraction of ``second``, 0-1, default 0.5) or ``grading = {axis, start, end}`` (:class:`LinearGrading`)."""
    parts = []
    for role in ("first", "second"):
        raw = mt.get(role, "table", required=True)
        st = _Table(file, f"{mt.where}.{role}", raw)
        model = st.choice("model", sorted(m for m in MATERIAL_MODELS if m != "linear_elastic"), required=True)
        parts.append(_single_material(f"{mname}.{role}", st, model))
    grading_raw = mt.get("grading", "table")
    weight = mt.number("weight", lo=0.0, hi=1.0)
    density = mt.number("density", default=0.0, lo=0.0)
    if grading_raw is not None:
        if weight is not None:
            mt.fail(f"[{mt.where}]: give 'weight' or 'grading', not both")
        gt = _Table(file, f"{mt.where}.grading", grading_raw)
        axis = gt.get("axis", "vector", required=True)
        start = gt.number("start", required=True)
        end = gt.number("end", required=True)
        gt.done()
        try:
            weight = LinearGrading(axis=tuple(axis), start=start, end=end)
        except ValueError as exc:
            gt.fail(f"[{gt.where}]: {exc}")
    mt.done()
    try:
        return Mixture(parts[0], parts[1], weight=0.5 if weight is None else weight, density=density, name=mname)
    except (ValueError, TypeError) as exc:
        mt.fail(f"[{mt.where}] (model 'mixture'): {exc}")


def parse_model(data: dict, path):
    """Build a Problem from already-parsed TOML ``data``; ``path`` locates relative files and names errors."""
    from .problem import Problem

    path = Path(path)
    file = str(path)
    top = _Table(file, "", data)
    title = top.get("title", "string", default=path.stem)

    mesh_t = _Table(file, "mesh", top.get("mesh", "table", required=True))
    mesh_file = mesh_t.get("file", "string", required=True)
    mesh_t.done()
    mesh_path = (path.parent / mesh_file).resolve()
    if not mesh_path.is_file():
        raise ModelError(f"{file}: mesh.file = {mesh_file!r}: no such file ({mesh_path})")

    # validate everything that does not need the mesh before reading it
    mats_raw = top.get("materials", "table", required=True)
    if not mats_raw:
        top.fail("[materials] must define at least one material")
    materials = {}
    for mname, mraw in mats_raw.items():
        mt = _Table(file, f"materials.{mname}", mraw)
        region = mt.get("region", "string", required=True)
        if region in materials:
            mt.fail(f"{mt.key('region')}: region {region!r} already has a material")
        materials[region] = parse_material(mraw, mname, file)

    curves = {"ramp": RAMP}

    for cname, craw in top.get("curves", "table", default={}).items():
        ct = _Table(file, f"curves.{cname}", craw)
        pts = ct.get("points", "array", required=True)
        ct.done()
        if (not pts or any(not isinstance(pt, list) or len(pt) != 2 or any(
                isinstance(x, bool) or not isinstance(x, (int, float)) for x in pt) for pt in pts)):
            ct.fail(f"curves.{cname}.points must be [[t, value], ...] with numbers, got {pts!r}")
        try:
            curves[cname] = LoadCurve(tuple((float(a), float(b)) for a, b in pts), name=cname)
        except ValueError as exc:
            ct.fail(f"curves.{cname}.points: {exc}")

    def curve_of(t: _Table):
        name = t.get("curve", "string", default="ramp")
        if name not in curves:
            t.fail(f"{t.key('curve')} = {name!r} is not a defined curve; defined: {sorted(curves)}")
        return curves[name]

    trusses = {}
    for tname, traw in top.get("trusses", "table", default={}).items():
        tt = _Table(file, f"trusses.{tname}", traw)
        region = tt.get("region", "string", required=True)
        law = tt.choice("law", ("linear", "toe_linear"), default="linear")
        kwargs = {"law": law, "E": tt.number("E"), "area": tt.number("area", required=True),
                  "k": tt.number("k"), "toe_strain": tt.number("toe_strain", default=0.03),
                  "prestrain": tt.number("prestrain", default=0.0)}
        tension = tt.get("tension_only", "boolean")
        if tension is not None:
            kwargs["tension_only"] = tension
        tt.done()
        try:
            trusses[region] = TrussMaterial(**kwargs, name=tname)
        except (ValueError, TypeError) as exc:
            tt.fail(f"[trusses.{tname}]: {exc}")

    rigid_bodies = []
    for rname, rraw in top.get("rigid", "table", default={}).items():
        rt = _Table(file, f"rigid.{rname}", rraw)
        region = rt.get("region", "string")
        reference = rt.get("reference", "vector")
        if region is None and reference is None:
            rt.fail(f"rigid.{rname} needs a 'region' (a cell set), or a 'reference' point for a body without "
                    f"a region (one that carries analytical contact surfaces, 'body = \"{rname}\"')")
        fix = rt.get("fix", "array", default=[])
        if any(c not in RIGID_DOFS for c in fix) or len(set(fix)) != len(fix):
            rt.fail(f"rigid.{rname}.fix must list distinct DOFs from {list(RIGID_DOFS)}, got {fix!r}")
        prescribed = {RIGID_DOFS[c]: 0.0 for c in fix}
        dt = _Table(file, f"rigid.{rname}.displacement", rt.get("displacement", "table", default={}))
        for c, k in RIGID_DOFS.items():
            v = dt.number(c)
            if v is not None:
                if k in prescribed:
                    rt.fail(f"rigid.{rname}: DOF {c!r} is both in 'fix' and in 'displacement'")
                prescribed[k] = v
        dt.done()
        force = rt.get("force", "vector", default=(0.0, 0.0, 0.0))
        moment = rt.get("moment", "vector", default=(0.0, 0.0, 0.0))
        curve = curve_of(rt)
        rt.done()
        try:
            rigid_bodies.append(RigidBody(region, reference, prescribed, force, moment, curve, name=rname))
        except ValueError as exc:
            rt.fail(f"[rigid.{rname}]: {exc}")

    contacts = []
    for cname, craw in top.get("contact", "table", default={}).items():
        ct = _Table(file, f"contact.{cname}", craw)
        kind = ct.choice("type", sorted(_CONTACT_SURFACES) + ["surface"], required=True)
        if kind == "surface":
            contacts.append(_surface_contact(ct, cname))
            continue
        cls, geometry = _CONTACT_SURFACES[kind]
        where = _selection(ct, "surface")
        kw = {}
        for key, kk in geometry.items():
            if kk == "length":
                kw[key] = ct.number(key, required=True, lo=0.0, lo_open=True)
            else:
                kw[key] = ct.get(key, kk, required=True)
        for key in ("normal", "axis"):
            if key in kw and sum(x * x for x in kw[key]) == 0.0:
                ct.fail(f"contact.{cname}.{key} must be a non-zero vector")
        if "semi_axes" in kw and min(kw["semi_axes"]) <= 0.0:
            ct.fail(f"contact.{cname}.semi_axes must be positive, got {list(kw['semi_axes'])}")
        kw["motion"] = ct.get("motion", "vector", default=(0.0, 0.0, 0.0))
        kw["body"] = ct.get("body", "string")
        if kw["body"] is not None and any(kw["motion"]):
            ct.fail(f"contact.{cname}: give either 'motion' or 'body' (then move or load the body), not both")
        kw["penalty"] = ct.number("penalty", lo=0.0, lo_open=True)
        kw["augmentation"] = ct.get("augmentation", "boolean", default=True)
        kw["gap_tol"] = ct.number("gap_tol", default=1e-6, lo=0.0, lo_open=True)
        kw["friction"] = ct.number("friction", default=0.0, lo=0.0)
        kw["tangential_penalty"] = ct.number("tangential_penalty", lo=0.0, lo_open=True)
        kw["curve"] = curve_of(ct)
        ct.done()
        try:  # the surface checks what it supports (friction on planes without a body only)
            contacts.append(cls(surface=where, name=cname, **kw))
        except ModelError as exc:
            ct.fail(f"contact.{cname}: {exc}")

    bcs = []
    for i, braw in enumerate(top.get("boundary", "array", default=[])):
        bt = _Table(file, f"boundary[{i}]", braw)
        name = bt.get("name", "string", default=f"boundary{i}")
        where = _selection(bt, "nodes")
        rot_raw = bt.get("rotation", "table")
        if rot_raw is not None:
            if "fix" in braw or "displacement" in braw:
                bt.fail(f"boundary[{i}]: give either 'rotation' or 'fix'/'displacement', not both")
            rt = _Table(file, f"boundary[{i}].rotation", rot_raw)
            axis = rt.get("axis", "vector", required=True)
            angle = rt.number("angle_deg", required=True)
            centre = rt.get("centre", "vector")
            comps = rt.get("components", "components", default=["x", "y", "z"])
            rt.done()
            curve = curve_of(bt)
            bt.done()
            try:
                bcs.append(PrescribedRotation(where, axis=tuple(axis), angle_deg=angle,
                                              centre=None if centre is None else tuple(centre),
                                              components=tuple(COMPONENTS[c] for c in comps), name=name,
                                              curve=curve))
            except ValueError as exc:
                bt.fail(f"boundary[{i}].rotation: {exc}")
            continue
        fix = bt.get("fix", "components", default=[])
        disp_raw = bt.get("displacement", "table", default={})
        values = {COMPONENTS[c]: 0.0 for c in fix}
        dt = _Table(file, f"boundary[{i}].displacement", disp_raw)
        for c in ("x", "y", "z"):
            v = dt.number(c)
            if v is not None:
                if COMPONENTS[c] in values:
                    bt.fail(f"boundary[{i}]: component {c!r} is both in 'fix' and in 'displacement'")
                values[COMPONENTS[c]] = v
        dt.done()
        if not values:
            bt.fail(f"boundary[{i}] constrains nothing: give 'fix' and/or 'displacement'")
        curve = curve_of(bt)
        bt.done()
        bcs.append(FixedDisplacement(where, values, name, curve=curve))

    loads = []
    for i, lraw in enumerate(top.get("load", "array", default=[])):
        lt = _Table(file, f"load[{i}]", lraw)
        kind = lt.choice("type", _LOAD_TYPES, required=True)
        name = lt.get("name", "string", default=f"load{i}")
        curve = curve_of(lt)
        if kind == "force":
            loads.append(NodalForce(_selection(lt, "nodes"), lt.get("value", "vector", required=True), name,
                                    curve=curve))
        elif kind == "pressure":
            loads.append(SurfaceLoad(_selection(lt, "surface"), pressure=lt.number("value", required=True),
                                     name=name, curve=curve))
        elif kind == "traction":
            loads.append(SurfaceLoad(_selection(lt, "surface"), traction=lt.get("value", "vector", required=True),
                                     name=name, curve=curve))
        elif kind == "body_force":
            loads.append(BodyForce(lt.get("value", "vector", required=True), _selection(lt, "region", True), name,
                                   curve=curve))
        else:
            loads.append(Gravity(lt.get("value", "vector", required=True), _selection(lt, "region", True), name,
                                 curve=curve))
        lt.done()

    st = _Table(file, "solver", top.get("solver", "table", default={}))
    solver = LinearSolverOptions(
        method=st.choice("linear", METHODS, default="auto"),
        rtol=st.number("rtol", default=1e-8, lo=0.0, hi=1.0, lo_open=True, hi_open=True),
        maxiter=st.get("maxiter", "integer", default=2000),
        direct_limit=st.get("direct_limit", "integer", default=100_000),
        precision=st.choice("precision", PRECISIONS, default="auto"),
    )
    if solver.maxiter < 1:
        st.fail("solver.maxiter must be >= 1")
    hex8 = st.choice("hex8", ("incompatible", "full"), default="incompatible")
    analysis = st.choice("analysis", ANALYSES, default="auto")
    formulation = st.choice("formulation", FINITE_STRAIN_FORMULATIONS, default="standard")
    nt = _Table(file, "solver.newton", st.get("newton", "table", default={}))
    newton_kw = {}
    for key in ("initial_step", "min_step", "max_step", "rtol_residual", "rtol_energy", "growth", "cutback"):
        v = nt.number(key, lo=0.0, lo_open=True)
        if v is not None:
            newton_kw[key] = v
    for key in ("max_iterations", "easy_iterations"):
        v = nt.get(key, "integer")
        if v is not None:
            if v < 1:
                nt.fail(f"{nt.key(key)} must be >= 1, got {v}")
            newton_kw[key] = v
    ls = nt.get("line_search", "boolean")
    if ls is not None:
        newton_kw["line_search"] = ls
    nt.done()
    try:
        newton = NewtonOptions(**newton_kw)
    except ValueError as exc:
        nt.fail(f"[solver.newton]: {exc}")
    st.done()
    ot = _Table(file, "output", top.get("output", "table", default={}))
    write_steps = ot.get("steps", "boolean", default=True)
    ot.done()
    top.done()

    try:
        mesh = read_mesh(mesh_path)
    except MeshError as exc:
        raise ModelError(f"{file}: mesh.file = {mesh_file!r}: {exc}") from exc

    names = [b.name for b in bcs] + [ld.name for ld in loads]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ModelError(f"{file}: boundary/load names must be unique, repeated: {dup}")

    # resolve every selection now, so a wrong set name fails before anything is solved or written
    for i, bc in enumerate(bcs):
        _resolve(file, f"boundary[{i}]", "nodes", lambda bc=bc: bc.where.nodes(mesh), bc.where)
    for i, ld in enumerate(loads):
        if isinstance(ld, NodalForce):
            _resolve(file, f"load[{i}]", "nodes", lambda ld=ld: ld.where.nodes(mesh), ld.where)
        elif isinstance(ld, SurfaceLoad):
            _resolve(file, f"load[{i}]", "surface", lambda ld=ld: ld.where.facets(mesh), ld.where)
        else:
            _resolve(file, f"load[{i}]", "region", lambda ld=ld: ld.where.cells(mesh), ld.where)
        if isinstance(ld, Gravity) and all(m.density == 0 for m in materials.values()):
            raise ModelError(f"{file}: load[{i}] is gravity but no material defines a density (t/mm^3)")
    for c in contacts:
        if isinstance(c, SurfaceContact):
            for key in ("slave", "master"):
                sel = getattr(c, key)
                _resolve(file, f"contact.{c.name}", key, lambda sel=sel: sel.facets(mesh), sel)
        else:
            _resolve(file, f"contact.{c.name}", "surface", lambda c=c: c.surface.facets(mesh), c.surface)
    try:
        problem = Problem(mesh, materials, bcs=bcs, loads=loads, solver=solver, title=title, hex8=hex8,
                          analysis=analysis, newton=newton, trusses=trusses,
                          finite_strain_formulation=formulation, rigid_bodies=rigid_bodies,
                          contacts=contacts)
    except (ModelError, ValueError) as exc:
        raise ModelError(f"{file}: {exc}") from exc
    problem.source = file
    problem.write_steps = write_steps
    return problem
