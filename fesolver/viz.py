"""Pictures of results: off-screen PNGs, side-by-side comparisons, an interactive window, a standalone HTML
3D viewer and metric-versus-parameter curves (``fesolver render / compare / view / export-html``).

Reads what :func:`fesolver.simulate.run_scenario` writes into a result folder (``foot.vtu``, ``knee.vtu``,
``patellofemoral.vtu`` when the patellofemoral joint was solved, ``summary.json``); the numerics never import this
module. Views and models the folder lacks are skipped.

Views (one PNG each, :data:`VIEWS`)
-----------------------------------
``foot_von_mises``
    The foot cut along its long axis through the plantar fascia, seen from the medial side: von Mises stress
    [MPa] on the section and the outer surface (log colour scale: bone carries 10^4 times the stress of the fat
    pad), the fascia bands drawn whole on top, coloured by their fibre stress [MPa] (a second scalar bar).
``plantar_pressure``
    The plantar skin seen from below, contact pressure in kPa, the peak marked with its value.
``tibial_plateaus``
    The tibial cartilage (and menisci, when modelled) seen from above, contact pressure in MPa, the medial and
    lateral peaks marked.
``patellofemoral_pressure``
    Only when the folder holds ``patellofemoral.vtu`` (``knee.patellofemoral = true`` and a quadriceps force):
    the articular face of the trochlear cartilage, the patellofemoral contact's slave surface (the patella,
    its master, carries no contact fields), seen from the front with the patella removed, contact pressure in
    MPa, the lateral and medial facet peaks marked (the numbers of ``summary.json`` ``patellofemoral.metrics``).
``foot_deformed``, ``knee_deformed``
    The deformed shape coloured by the displacement magnitude [mm] over the undeformed outline, the
    displacement scale stated in the title.

Colour limits are each field's range over what is drawn (:func:`render` returns them), or shared ones:
:func:`shared_limits` takes the union over several results (``--clim-from``), so a batch reads on one scale.

Off-screen rendering
--------------------
With no display (Linux without ``DISPLAY``/``WAYLAND_DISPLAY``), VTK's X window cannot open. VTK's pip wheel
then falls back to EGL (Mesa's software renderer: Debian packages ``libegl1 libgl1-mesa-dri libegl-mesa0``);
:func:`offscreen` selects it up front (``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow``) to skip the failing X
attempt. Without EGL it uses OSMesa when ``libOSMesa`` is installed, else it raises :class:`RenderError` telling
to install the EGL packages or to run under ``xvfb-run -a``.

Region names
------------
The VTU files carry a material index per cell, not the region names. The views find the fascia as the cells
with a fibre stress (solid fascia) or the line cells with an axial stress (truss fascia), the plantar skin and
the tibial plateaus and the trochlear cartilage as the contact slave surfaces (points with a finite
``contact_gap``), and medial as ``y > 0`` (the model frames of :mod:`fesolver.models`; the patellofemoral model
is always a right knee's, its sulcus at ``y = 0``). When the summary lists ``regions`` for a model (names in
material-index order), those names are used instead for the fascia and the plateaus.
"""

from __future__ import annotations

import base64
import ctypes.util
import json
import logging
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError

__all__ = ["ResultFolder", "RenderError", "NoDisplayError", "RenderedView", "VIEWS", "VIEW_MODELS", "MODELS",
           "load_result", "offscreen", "has_display", "render", "shared_limits", "compare", "metric_deltas", "view",
           "export_html", "plot_metric_curves", "nice_scale"]

log = logging.getLogger(__name__)

#: the views :func:`render` draws, in order (each only when the result holds its model, :data:`VIEW_MODELS`)
VIEWS = ("foot_von_mises", "plantar_pressure", "tibial_plateaus", "patellofemoral_pressure", "foot_deformed",
         "knee_deformed")
#: the model (``MODEL.vtu``) each view draws
VIEW_MODELS = {"foot_von_mises": "foot", "plantar_pressure": "foot", "tibial_plateaus": "knee",
               "patellofemoral_pressure": "patellofemoral", "foot_deformed": "foot", "knee_deformed": "knee"}
#: the models a result folder can hold, in the order the HTML viewer lists them
MODELS = ("foot", "knee", "patellofemoral")

WINDOW = (1000, 700)
BACKGROUND = "white"
TEXT = "black"
#: the colour of the undeformed outline, of NaN values and of what carries no field
GREY = "#b8b8b8"
#: contact pressure: blue (none) to red (peak), the usual look of plantar-pressure maps
PRESSURE_CMAP = "turbo"


class RenderError(ModelError):
    """A picture cannot be made: no result to show, or no way to render (no display, no EGL/OSMesa)."""


class NoDisplayError(RenderError):
    """An interactive window was asked for on a machine with no display."""


# --------------------------------------------------------------------------------------------------------------
# rendering backend
# --------------------------------------------------------------------------------------------------------------
def has_display() -> bool:
    """Whether an interactive window can open: on Linux a ``DISPLAY`` or ``WAYLAND_DISPLAY``; elsewhere yes."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def offscreen() -> str:
    """Prepare VTK for off-screen rendering and return the render window class it will use.

    With a display: VTK's default (X, Cocoa, Win32). Without: EGL when ``libEGL`` is installed, else OSMesa when
    ``libOSMesa`` is (VTK segfaults when OSMesa is selected and missing, hence the check), else
    :class:`RenderError`. An explicit ``VTK_DEFAULT_OPENGL_WINDOW`` is respected. Call before the first
    ``pyvista.Plotter``.
    """
    import pyvista as pv

    pv.OFF_SCREEN = True
    chosen = os.environ.get("VTK_DEFAULT_OPENGL_WINDOW")
    if chosen:
        return chosen
    if has_display():
        return "default"
    if ctypes.util.find_library("EGL"):
        chosen = "vtkEGLRenderWindow"
    elif ctypes.util.find_library("OSMesa"):
        chosen = "vtkOSOpenGLRenderWindow"
    else:
        raise RenderError("no display and no off-screen OpenGL library: install Mesa's EGL (Debian: apt-get install "
                          "libegl1 libgl1-mesa-dri libegl-mesa0) or run under a virtual display "
                          "(apt-get install xvfb xauth; xvfb-run -a fesolver render ...)")
    os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = chosen
    return chosen


# --------------------------------------------------------------------------------------------------------------
# result folders
# --------------------------------------------------------------------------------------------------------------
@dataclass
class ResultFolder:
    """A result folder of ``fesolver run``: its summary and, read on demand, its ``foot`` / ``knee`` /
    ``patellofemoral`` grids.

    Attributes
    ----------
    path : Path
    summary : dict
        ``summary.json``.
    """

    path: Path
    summary: dict
    _grids: dict = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        """The scenario's title (or the folder's name)."""
        return str(self.summary.get("scenario") or self.path.name)

    def has(self, model: str) -> bool:
        """Whether the folder holds ``model.vtu`` of this run (``"foot"``, ``"knee"`` or ``"patellofemoral"``).

        A file of a model the summary says was skipped (``summary[model]["status"] == "skipped"``, e.g. a
        ``patellofemoral.vtu`` left by an earlier run in the same folder before one with
        ``knee.patellofemoral = false``) does not count.
        """
        if ((self.summary.get(model) or {}).get("status")) == "skipped":
            return False
        return (self.path / f"{model}.vtu").is_file()

    def grid(self, model: str):
        """``model.vtu`` (``"foot"``, ``"knee"`` or ``"patellofemoral"``) as a ``pyvista.UnstructuredGrid``
        (points in mm)."""
        if model not in self._grids:
            import pyvista as pv

            f = self.path / f"{model}.vtu"
            if not f.is_file():
                raise RenderError(f"{self.path}: no {model}.vtu (the scenario did not solve the {model})")
            self._grids[model] = pv.read(f)
        return self._grids[model]

    def region_names(self, model: str) -> list[str] | None:
        """Region names in material-index order, when the summary lists them (``summary[model]["regions"]``)."""
        names = (self.summary.get(model) or {}).get("regions")
        return list(names) if isinstance(names, list) else None


def load_result(path) -> ResultFolder:
    """Open a result folder written by ``fesolver run`` (raises :class:`RenderError` naming what is missing)."""
    if isinstance(path, ResultFolder):
        return path
    p = Path(path)
    if not p.is_dir():
        raise RenderError(f"{p}: not a result folder (run `fesolver run SCENARIO.toml -o {p}` first)")
    s = p / "summary.json"
    summary = json.loads(s.read_text()) if s.is_file() else {}
    if not any((p / f"{m}.vtu").is_file() for m in MODELS):
        found = sorted(x.name for x in p.glob("*.vtu"))[:4]
        hint = f" (found {', '.join(found)}: stance-phase series are not drawn yet)" if found else ""
        if summary.get("status") not in (None, "ok"):
            hint += f"; the run's status is {summary['status']!r}: see {p / 'report.md'}"
        raise RenderError(f"{p}: no foot.vtu, knee.vtu or patellofemoral.vtu{hint}")
    return ResultFolder(p, summary)


# --------------------------------------------------------------------------------------------------------------
# scenes: what a view draws, independent of the renderer
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Layer:
    """One mesh of a view coloured by one field (``values`` per point or per cell of ``mesh``)."""

    mesh: object
    values: np.ndarray | None
    key: str  # colour-limit key, shared across results (e.g. "foot.von_mises")
    title: str  # scalar bar title with unit
    cmap: str = "viridis"
    log: bool = False
    opacity: float = 1.0
    style: str = "surface"
    color: str | None = None  # plain colour when values is None
    symmetric: bool = False  # a difference: limits +-max|v|
    #: the field's values the colour range spans when not just those drawn (a section shows part of the foot)
    range_values: np.ndarray | None = None

    def field_range(self) -> tuple[float, float] | None:
        """(min, max) over the finite values (positive ones on a log scale); ``None`` when there are none."""
        if self.values is None:
            return None
        v = np.asarray(self.values if self.range_values is None else self.range_values, dtype=float)
        v = v[np.isfinite(v)]
        if self.log:
            v = v[v > 0.0]
        if v.size == 0:
            return None
        if self.symmetric:
            m = float(np.abs(v).max())
            return (-m, m)
        return (float(v.min()), float(v.max()))


@dataclass
class Scene:
    """A view: layers, labelled points, camera direction (from the focal point towards the camera) and up."""

    name: str
    title: str
    layers: list[Layer]
    labels: list[tuple[np.ndarray, str]] = field(default_factory=list)
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)
    note: str = ""
    zoom: float = 1.0
    parallel: bool = False  # orthographic projection (maps seen from below / above)


@dataclass(frozen=True)
class RenderedView:
    """A picture written by :func:`render`: its file and the colour limits of each field drawn."""

    name: str
    file: Path
    clims: dict[str, tuple[float, float]]


def _with_point_ids(grid):
    """A shallow copy of ``grid`` with its point and cell numbers as data (``_pid``, ``_cid``): they survive
    extraction and surface filters."""
    g = grid.copy(deep=False)
    g.point_data["_pid"] = np.arange(grid.n_points)
    g.cell_data["_cid"] = np.arange(grid.n_cells)
    return g


def _solid_cells(grid) -> np.ndarray:
    """Indices of the volume cells (line cells of truss fascia or menisci horns excluded)."""
    import pyvista as pv

    ct = np.asarray(grid.celltypes)
    return np.flatnonzero(~np.isin(ct, [pv.CellType.LINE, pv.CellType.POLY_LINE, pv.CellType.VERTEX]))


def _names_mask(res: ResultFolder, model: str, grid, pred) -> np.ndarray | None:
    names = res.region_names(model)
    if names is None or "material" not in grid.cell_data:
        return None
    mat = np.asarray(grid.cell_data["material"])
    wanted = [i for i, n in enumerate(names) if pred(n)]
    return np.isin(mat, wanted)


def _fascia_cells(res: ResultFolder, grid) -> np.ndarray:
    m = _names_mask(res, "foot", grid, lambda n: n.startswith("fascia"))
    if m is None:
        m = np.zeros(grid.n_cells, dtype=bool)
        for key in ("fibre_stress", "axial_stress"):
            if key in grid.cell_data:
                m |= np.isfinite(np.asarray(grid.cell_data[key], dtype=float))
    return np.flatnonzero(m)


def _surface(ds):
    """Outer faces of ``ds`` as PolyData, point and cell data passed, points not merged (the result mesh keeps
    one copy of an interface node per region; merging would mix the regions' values)."""
    try:
        return ds.extract_surface(pass_pointid=False, pass_cellid=False, algorithm="dataset_surface")
    except TypeError:  # pyvista < 0.47 has no ``algorithm`` (and uses vtkDataSetSurfaceFilter)
        return ds.extract_surface(pass_pointid=False, pass_cellid=False)


def _slave_surface(grid):
    """Outer faces (triangulated) of the volume cells whose points all lie on a contact slave surface (finite
    ``contact_gap``): the plantar skin of the foot."""
    surf = _surface(grid.extract_cells(_solid_cells(grid))).triangulate()
    gap = np.asarray(surf.point_data["contact_gap"], dtype=float)
    ok = np.isfinite(gap)
    tri = surf.regular_faces
    keep = ok[tri].all(axis=1)
    return _surface(surf.extract_cells(np.flatnonzero(keep)))


def nice_scale(max_disp: float, size: float, target: float = 0.06) -> float:
    """Displacement scale factor for a deformed-shape picture: 1, 2, 5, 10, ... so that the largest
    displacement shows as about ``target`` of the model ``size`` (never below 1: large deformations show true).

    >>> nice_scale(14.0, 300.0), nice_scale(0.8, 100.0), nice_scale(0.0, 100.0)
    (1.0, 5.0, 1.0)
    """
    if not max_disp > 0.0:
        return 1.0
    raw = target * size / max_disp
    if raw <= 1.0:
        return 1.0
    k = 10.0 ** math.floor(math.log10(raw))
    return max(m * k for m in (1.0, 2.0, 5.0) if m * k <= raw * (1.0 + 1e-9))


def _diag(grid) -> float:
    b = np.asarray(grid.bounds, dtype=float).reshape(3, 2)
    return float(np.linalg.norm(b[:, 1] - b[:, 0]))


def _umax(grid) -> float:
    u = np.asarray(grid.point_data["displacement"], dtype=float)
    return float(np.linalg.norm(u, axis=1).max()) if u.size else 0.0


def _scene_foot_von_mises(res: ResultFolder, limits: dict) -> Scene:
    grid = _with_point_ids(res.grid("foot"))
    fascia = _fascia_cells(res, grid)
    solid = _solid_cells(grid)
    rest = np.setdiff1d(solid, fascia)
    body = grid.extract_cells(rest)
    # cut through the fascia's middle, keep the lateral part, look from the medial side
    y0 = float(grid.extract_cells(fascia).center[1]) if fascia.size else float(grid.center[1])
    m = _medial_sign(res)
    cut = body.clip(normal=(0.0, m, 0.0), origin=(0.0, y0, 0.0), invert=True)
    vm = np.asarray(cut.point_data["von_mises"], dtype=float)
    layers = [Layer(cut, vm, "foot.von_mises", "von Mises stress [MPa] (log)", cmap="viridis", log=True,
                    range_values=np.asarray(body.point_data["von_mises"], dtype=float))]
    note = f"section y = {y0:.0f} mm (medial part removed)"
    if fascia.size:
        fm = grid.extract_cells(fascia)
        key = "fibre_stress" if "fibre_stress" in fm.cell_data and np.isfinite(fm.cell_data["fibre_stress"]).any() \
            else "axial_stress"
        fs = np.asarray(fm.cell_data[key], dtype=float)
        layers.append(Layer(fm, fs, "foot.fascia_fibre_stress", "fascia fibre stress [MPa]", cmap="plasma"))
        pk = float(np.nanmax(fs))
        at = fm.cell_centers().points[int(np.nanargmax(fs))]
        labels = [(at, f"fascia peak {pk:.3g} MPa")]
    else:
        labels = []
    return Scene("foot_von_mises", f"{res.title}: foot, von Mises stress and plantar fascia", layers, labels,
                 direction=(0.1, m, -0.6), up=(0.0, 0.0, 1.0), note=note, zoom=1.25)


def _medial_sign(res: ResultFolder) -> float:
    """+1 when the foot's medial side is +y (a right foot, the builders' frame), -1 for a left foot."""
    side = ((res.summary.get("chain") or {}).get("side") or "right").lower()
    return 1.0 if side == "right" else -1.0


def _contact_name(res: ResultFolder) -> str:
    plantar = (((res.summary.get("foot") or {}).get("metrics") or {}).get("plantar") or {})
    return str(plantar.get("contact", "ground"))


def _pressure_key(surf) -> str:
    """The contact-pressure field of the summaries' peaks: force per tributary area (``contact_force_pressure``);
    results written before it existed carry only the nodal pressure."""
    return "contact_force_pressure" if "contact_force_pressure" in surf.point_data else "contact_pressure"


def _scene_plantar(res: ResultFolder, limits: dict) -> Scene:
    grid = res.grid("foot")
    skin = _slave_surface(grid)
    if skin.n_cells == 0:
        raise RenderError(f"{res.path}/foot.vtu: no plantar contact surface (no finite contact_gap)")
    p = 1e3 * np.asarray(skin.point_data[_pressure_key(skin)], dtype=float)  # MPa -> kPa
    i = int(np.argmax(p))
    layers = [Layer(skin, p, "foot.plantar_pressure_kPa", "plantar pressure [kPa]", cmap=PRESSURE_CMAP)]
    # the label sits a little below the sole so that it is in front seen from below
    at = skin.points[i] - np.array([0.0, 0.0, 2.0])
    return Scene("plantar_pressure", f"{res.title}: plantar pressure, seen from below", layers,
                 [(at, f"peak {p[i]:.4g} kPa")], direction=(0.0, 0.0, -1.0), up=(0.0, _medial_sign(res), 0.0),
                 zoom=1.35, parallel=True, note=f"toes left, medial up; contact with the {_contact_name(res)}")


def _plateau_cells(res: ResultFolder, grid) -> np.ndarray:
    m = _names_mask(res, "knee", grid, lambda n: n.startswith("tibial_cartilage") or n.startswith("meniscus"))
    if m is not None:
        return np.flatnonzero(m & np.isin(np.arange(grid.n_cells), _solid_cells(grid)))
    # regions carrying the contact slave surfaces (tibial cartilage; menisci when modelled)
    mat = np.asarray(grid.cell_data["material"])
    on_slave = np.isfinite(np.asarray(grid.point_data["contact_gap"], dtype=float))
    solid = _solid_cells(grid)
    keep = []
    for r in np.unique(mat[solid]):
        ids = solid[mat[solid] == r]
        if on_slave[np.asarray(grid.extract_cells(ids).point_data["_pid"])].any():
            keep.append(ids)
    return np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)


def _medial_mask(res: ResultFolder, surf, grid) -> np.ndarray:
    """Points of ``surf`` (with ``_pid``) on the medial side: by region name when known, else ``y > 0``."""
    names = res.region_names("knee")
    if names is not None and "_cid" in surf.cell_data:
        mat = np.asarray(grid.cell_data["material"])
        med = np.array(["medial" in n for n in names])
        # a point is medial when the cell it came from is
        m = np.zeros(surf.n_points, dtype=bool)
        tri = surf.regular_faces
        cm = med[mat[np.asarray(surf.cell_data["_cid"])]]
        for k in range(tri.shape[1]):
            m[tri[cm, k]] = True
        return m
    return np.asarray(surf.points[:, 1]) > 0.0


def _scene_plateaus(res: ResultFolder, limits: dict) -> Scene:
    grid = _with_point_ids(res.grid("knee"))
    cells = _plateau_cells(res, grid)
    if cells.size == 0:
        raise RenderError(f"{res.path}/knee.vtu: no tibial plateau (no contact slave surface)")
    sub = grid.extract_cells(cells)
    surf = _surface(sub).triangulate()
    p = np.asarray(surf.point_data[_pressure_key(surf)], dtype=float)
    med = _medial_mask(res, surf, grid)
    labels = []
    for side, mask in (("medial", med), ("lateral", ~med)):
        if mask.any():
            ids = np.flatnonzero(mask)
            i = ids[int(np.argmax(p[ids]))]
            labels.append((surf.points[i] + np.array([0.0, 0.0, 1.0]), f"{side} peak {p[i]:.3g} MPa"))
    layers = [Layer(surf, p, "knee.contact_pressure", "contact pressure [MPa]", cmap=PRESSURE_CMAP)]
    return Scene("tibial_plateaus", f"{res.title}: tibial plateaus, seen from above", layers, labels,
                 direction=(0.0, 0.0, 1.0), up=(1.0, 0.0, 0.0), zoom=1.0, parallel=True,
                 note="anterior up, medial left")


def _scene_patellofemoral(res: ResultFolder, limits: dict) -> Scene:
    """The trochlear cartilage's articular face (the patellofemoral contacts' slave surface: the contact fields
    live on its nodes; the patellar cartilage is the master and carries none) seen from the front, the patella
    removed: contact pressure [MPa], the lateral (``y <= 0``) and medial (``y >= 0``) facet peaks labelled. The
    sulcus (``y = 0``) belongs to both facets' surfaces, as in the summary's per-facet peaks."""
    grid = res.grid("patellofemoral")
    if "contact_gap" not in grid.point_data:
        raise RenderError(f"{res.path}/patellofemoral.vtu: no contact fields (contact_gap)")
    face = _slave_surface(grid)
    if face.n_cells == 0:
        raise RenderError(f"{res.path}/patellofemoral.vtu: no trochlear contact surface (no finite contact_gap)")
    p = np.asarray(face.point_data[_pressure_key(face)], dtype=float)
    y = np.asarray(face.points[:, 1])
    labels = []
    for side, mask in (("lateral", y <= 0.0), ("medial", y >= 0.0)):
        if mask.any():
            ids = np.flatnonzero(mask)
            i = ids[int(np.argmax(p[ids]))]
            # a little in front of the face (+x, towards the camera)
            labels.append((face.points[i] + np.array([1.0, 0.0, 0.0]), f"{side} facet peak {p[i]:.3g} MPa"))
    layers = [Layer(face, p, "patellofemoral.contact_pressure", "patellofemoral contact pressure [MPa]",
                    cmap=PRESSURE_CMAP)]
    part = res.summary.get("patellofemoral") or {}
    loading = part.get("loading") or {}
    note = "trochlear cartilage, proximal up, lateral left, medial right; patella removed"
    if isinstance(loading.get("flexion_deg"), (int, float)) and isinstance(loading.get("quadriceps_force_N"),
                                                                           (int, float)):
        note += f"; flexion {loading['flexion_deg']:.3g} deg, quadriceps {loading['quadriceps_force_N']:.4g} N"
    if part.get("status") not in (None, "ok"):
        note += f"; status {part['status']} (load factor {part.get('load_factor', '?')})"
    return Scene("patellofemoral_pressure", f"{res.title}: patellofemoral contact pressure [MPa] on the trochlea",
                 layers, labels, direction=(1.0, 0.0, 0.0), up=(0.0, 0.0, 1.0), zoom=1.0, parallel=True, note=note)


def _scene_deformed(res: ResultFolder, model: str, limits: dict) -> Scene:
    grid = res.grid(model)
    solid = grid.extract_cells(_solid_cells(grid))
    s = limits.get(f"{model}.deformed_scale") or nice_scale(_umax(grid), _diag(grid))
    surf = _surface(solid)
    surf.point_data["_u"] = np.asarray(surf.point_data["displacement"], dtype=float)
    warped = surf.warp_by_vector("_u", factor=s)
    umag = np.linalg.norm(np.asarray(surf.point_data["_u"]), axis=1)
    layers = [Layer(surf, None, "", "", color=GREY, opacity=0.3, style="wireframe"),
              Layer(warped, umag, f"{model}.displacement", "displacement magnitude [mm]", cmap="viridis")]
    scale = "true scale (x1)" if s == 1.0 else f"displacements x{s:g}"
    direction = (0.15, _medial_sign(res), 0.25) if model == "foot" else (1.0, 0.6, 0.45)
    return Scene(f"{model}_deformed", f"{res.title}: {model}, deformed shape ({scale})", layers,
                 direction=direction, up=(0.0, 0.0, 1.0), note="grey: undeformed", zoom=1.15)


def _scene(res: ResultFolder, name: str, limits: dict) -> Scene | None:
    """The scene of view ``name``, or ``None`` when the result lacks its model."""
    if name not in VIEW_MODELS:
        raise ValueError(f"unknown view {name!r}; views: {', '.join(VIEWS)}")
    model = VIEW_MODELS[name]
    if not res.has(model):
        return None
    if name == "foot_von_mises":
        return _scene_foot_von_mises(res, limits)
    if name == "plantar_pressure":
        return _scene_plantar(res, limits)
    if name == "tibial_plateaus":
        return _scene_plateaus(res, limits)
    if name == "patellofemoral_pressure":
        return _scene_patellofemoral(res, limits)
    if name in ("foot_deformed", "knee_deformed"):
        return _scene_deformed(res, model, limits)
    raise ValueError(f"unknown view {name!r}; views: {', '.join(VIEWS)}")


# --------------------------------------------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------------------------------------------
def _bar_args(title: str, k: int, n: int) -> dict:
    """Horizontal scalar bars along the bottom, side by side when a view has several."""
    w = 0.8 / n
    return dict(title=title, vertical=False, position_x=0.1 + k * (w + 0.02), position_y=0.03, width=w - 0.02,
                height=0.12, fmt="%.3g", n_labels=5, color=TEXT, title_font_size=16, label_font_size=13)


def _only_lines(mesh) -> bool:
    import pyvista as pv

    ct = np.asarray(getattr(mesh, "celltypes", []))
    return ct.size > 0 and bool(np.isin(ct, [pv.CellType.LINE, pv.CellType.POLY_LINE]).all())


def _draw(plotter, scene: Scene, limits: dict) -> dict[str, tuple[float, float]]:
    """Add ``scene`` to ``plotter``; return the colour limits used per layer key."""
    used = {}
    coloured = [ly for ly in scene.layers if ly.values is not None]
    for ly in scene.layers:
        if ly.values is None:
            plotter.add_mesh(ly.mesh, color=ly.color or GREY, opacity=ly.opacity, style=ly.style,
                             show_scalar_bar=False, lighting=True)
            continue
        clim = limits.get(ly.key) or ly.field_range()
        if clim is None:  # nothing finite (e.g. no contact): draw grey, say so in the bar title
            plotter.add_mesh(ly.mesh, color=GREY, opacity=ly.opacity, show_scalar_bar=False)
            continue
        lo, hi = clim
        if hi <= lo:
            hi = lo + (abs(lo) * 1e-6 or 1e-12)
        k = coloured.index(ly)
        lines = {"line_width": 5, "render_lines_as_tubes": True} if _only_lines(ly.mesh) else {}
        actor = plotter.add_mesh(ly.mesh, scalars=np.asarray(ly.values, dtype=float), clim=(lo, hi), cmap=ly.cmap,
                                 log_scale=ly.log, opacity=ly.opacity, style=ly.style, nan_color=GREY,
                                 scalar_bar_args=_bar_args(ly.title, k, len(coloured)), show_scalar_bar=True,
                                 copy_mesh=True, **lines)
        used[ly.key] = tuple(float(x) for x in actor.mapper.scalar_range)  # what VTK maps, read back
    if scene.labels:
        pts = np.array([p for p, _ in scene.labels], dtype=float)
        plotter.add_point_labels(pts, [t for _, t in scene.labels], point_size=14, point_color="red",
                                 font_size=16, text_color=TEXT, shape_color="white", shape_opacity=0.8,
                                 always_visible=True, render_points_as_spheres=True)
    w, h = plotter.window_size
    plotter.add_text(scene.title, position=(12, h - 34), font_size=12, color=TEXT)
    if scene.note:
        plotter.add_text(scene.note, position=(12, h - 58), font_size=9, color=TEXT)
    # camera: look at the bounds' centre from ``direction``
    bounds = np.array([ly.mesh.bounds for ly in scene.layers], dtype=float).reshape(-1, 3, 2)
    lo, hi = bounds[:, :, 0].min(axis=0), bounds[:, :, 1].max(axis=0)
    c = 0.5 * (lo + hi)
    d = np.asarray(scene.direction, dtype=float)
    d /= np.linalg.norm(d)
    plotter.camera_position = [tuple(c + 4.0 * np.linalg.norm(hi - lo) * d), tuple(c), scene.up]
    if scene.parallel:
        plotter.enable_parallel_projection()
    plotter.reset_camera()
    plotter.camera.zoom(scene.zoom)
    return used


def _plot_scene(scene: Scene, limits: dict, size=WINDOW, filename=None):
    """Render ``scene`` off-screen: ``(image (h, w, 3) uint8, clims)``; also written to ``filename``."""
    import pyvista as pv

    offscreen()
    pl = pv.Plotter(off_screen=True, window_size=list(size))
    try:
        pl.set_background(BACKGROUND)
        used = _draw(pl, scene, limits)
        img = pl.screenshot(str(filename) if filename else None, return_img=True)
    finally:
        pl.close()
    return np.asarray(img), used


def shared_limits(results, views=VIEWS) -> dict[str, tuple[float, float]]:
    """Colour limits (and deformed-shape scales) common to several results: the union of each field's range.

    Parameters
    ----------
    results : sequence of path or ResultFolder
    views : sequence of str
        Views of :data:`VIEWS` to consider.

    Returns
    -------
    dict
        ``"model.field" -> (lo, hi)`` in the unit of the scalar bar, ``"model.deformed_scale" -> float``.
    """
    out: dict = {}
    folders = [load_result(r) for r in results]
    for res in folders:
        for name in views:
            scene = _scene(res, name, {})
            if scene is None:
                continue
            for ly in scene.layers:
                r = ly.field_range()
                if r is None:
                    continue
                a, b = out.get(ly.key, r)
                out[ly.key] = (min(a, r[0]), max(b, r[1]))
    for model in ("foot", "knee"):
        have = [r for r in folders if r.has(model)]
        if have:
            g = [r.grid(model) for r in have]
            out[f"{model}.deformed_scale"] = nice_scale(max(_umax(x) for x in g), max(_diag(x) for x in g))
    return out


def render(result, outdir=None, limits: dict | None = None, views=VIEWS, size=WINDOW) -> dict[str, RenderedView]:
    """Draw the views of one result folder off-screen into PNGs.

    Parameters
    ----------
    result : path or ResultFolder
        A folder written by ``fesolver run``.
    outdir : path, optional
        Where to write ``VIEW.png`` (default: ``RESULT/images``; created if missing).
    limits : dict, optional
        Colour limits per field key and deformed scales, e.g. from :func:`shared_limits`; by default each
        field's own range.
    views : sequence of str
        Subset of :data:`VIEWS`; views whose model the result lacks are skipped.

    Returns
    -------
    dict
        View name -> :class:`RenderedView` (file, colour limits per field key).
    """
    res = load_result(result)
    outdir = Path(outdir) if outdir is not None else res.path / "images"
    outdir.mkdir(parents=True, exist_ok=True)
    limits = dict(limits or {})
    done = {}
    for name in views:
        scene = _scene(res, name, limits)
        if scene is None:
            continue
        f = outdir / f"{name}.png"
        _, used = _plot_scene(scene, limits, size, f)
        done[name] = RenderedView(name, f, used)
        log.info("%s: %s", f, used)
    return done


# --------------------------------------------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------------------------------------------
def metric_deltas(a: dict, b: dict) -> list[dict]:
    """Rows ``{metric, a, b, delta, delta_pct}`` of the headline numbers (:func:`fesolver.simulate.headline`)
    of two run summaries; ``delta = b - a``, ``delta_pct`` relative to ``a`` (``None`` when ``a`` is 0)."""
    from .simulate import headline

    ha, hb = headline(a), headline(b)
    rows = []
    for k in dict.fromkeys([*ha, *hb]):
        va, vb = ha.get(k), hb.get(k)
        d = vb - va if va is not None and vb is not None else None
        pct = 100.0 * d / abs(va) if d is not None and va != 0.0 else None
        rows.append({"metric": k, "a": va, "b": vb, "delta": d, "delta_pct": pct})
    return rows


def _same_mesh(ga, gb) -> bool:
    if ga.n_points != gb.n_points or ga.n_cells != gb.n_cells:
        return False
    if not np.array_equal(np.asarray(ga.celltypes), np.asarray(gb.celltypes)):
        return False
    if not np.array_equal(np.asarray(ga.cell_connectivity), np.asarray(gb.cell_connectivity)):
        return False
    return bool(np.allclose(ga.points, gb.points, atol=1e-9 * max(_diag(ga), 1.0)))


def _difference_scene(sa: Scene, sb: Scene) -> tuple[Scene, dict] | None:
    """``(scene, colour limits)`` of B - A of the first coloured layer of two scenes drawn on the same mesh
    (relative to A for a log-scale field); ``None`` when the layers do not match point by point."""
    la = next((ly for ly in sa.layers if ly.values is not None), None)
    lb = next((ly for ly in sb.layers if ly.values is not None and ly.key == (la.key if la else None)), None)
    if la is None or lb is None or len(la.values) != len(lb.values):
        return None
    ma, mb = la.mesh, lb.mesh
    if ma.n_points != mb.n_points or ma.n_cells != mb.n_cells or not np.allclose(ma.points, mb.points):
        return None
    va, vb = np.asarray(la.values, dtype=float), np.asarray(lb.values, dtype=float)
    title = la.title.replace(" (log)", "")
    name = title.split(" [")[0]
    if la.log:
        # a field spanning decades (von Mises: bone and fat pad) shows its change relative to A; where A is
        # negligible (below 1e-6 of its peak) the change is undefined (grey)
        floor = 1e-6 * float(np.nanmax(np.abs(va))) if np.isfinite(va).any() else 0.0
        d = np.where(np.abs(va) > floor, 100.0 * (vb - va) / np.where(np.abs(va) > floor, np.abs(va), 1.0), np.nan)
        fin = np.abs(d[np.isfinite(d)])
        m = float(min(100.0, np.percentile(fin, 99))) if fin.size else 1.0
        layer = Layer(la.mesh, d, la.key + ".relative_difference", f"(B - A) / A: {name} [%]", cmap="coolwarm",
                      symmetric=True)
        limits = {layer.key: (-m, m)}
        note = f"same mesh, point by point; colours saturate at +-{m:.3g} % (99th percentile, at most 100 %)"
    else:
        d = vb - va
        layer = Layer(la.mesh, d, la.key + ".difference", f"B - A: {name}{title[len(name):]}", cmap="coolwarm",
                      symmetric=True)
        limits = {}
        note = "same mesh, point by point"
    others = [Layer(ly.mesh, None, "", "", color=GREY, opacity=0.25) for ly in sa.layers if ly.values is None]
    scene = Scene(sa.name + "_difference", "difference B - A", [*others, layer], direction=sa.direction, up=sa.up,
                  zoom=sa.zoom, parallel=sa.parallel, note=note)
    return scene, limits


def _header(img: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    im = Image.fromarray(img)
    h = 34
    out = Image.new("RGB", (im.width, im.height + h), "white")
    out.paste(im, (0, h))
    draw = ImageDraw.Draw(out)
    try:
        font = ImageFont.load_default(size=20)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    draw.text((12, 6), text, fill="black", font=font)
    return np.asarray(out)


def _table_png(rows: list[dict], title: str, path: Path, names=("A", "B")) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cells = [[r["metric"], _fmt(r["a"]), _fmt(r["b"]), _fmt(r["delta"], sign=True),
              _fmt(r["delta_pct"], sign=True, pct=True)] for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.25 * len(rows) + 0.5))
    ax.axis("off")
    ax.set_title(title, fontsize=11, loc="left")
    t = ax.table(cellText=cells, colLabels=["metric", names[0], names[1], "B - A", "(B - A) / A"], loc="upper left",
                 cellLoc="right", colLoc="right", colWidths=[0.46, 0.13, 0.13, 0.14, 0.14])
    t.auto_set_font_size(False)
    t.set_fontsize(9)
    for (i, j), c in t.get_celld().items():
        if j == 0:
            c.set_text_props(ha="left")
        if i == 0:
            c.set_text_props(weight="bold")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _fmt(v, sign: bool = False, pct: bool = False) -> str:
    if v is None:
        return "-"
    s = f"{v:+.4g}" if sign else f"{v:.4g}"
    return s + " %" if pct else s


def compare(a, b, outdir, views=VIEWS, size=(800, 600)) -> dict:
    """Draw the views of two results side by side on shared colour limits, with a difference map ``B - A``
    where the meshes match; write the table of headline-metric deltas as ``compare.md`` and ``metrics.png``.

    Returns ``{"views": {name: file}, "table": rows (see :func:`metric_deltas`), "markdown": path,
    "metrics_png": path}``.
    """
    ra, rb = load_result(a), load_result(b)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    limits = shared_limits([ra, rb], views)
    files = {}
    for name in views:
        sa, sb = _scene(ra, name, limits), _scene(rb, name, limits)
        if sa is None or sb is None:
            continue
        model = VIEW_MODELS[name]
        ia, _ = _plot_scene(sa, limits, size)
        ib, _ = _plot_scene(sb, limits, size)
        panels = [_header(ia, f"A: {ra.title} ({ra.path.name})"), _header(ib, f"B: {rb.title} ({rb.path.name})")]
        diff = _difference_scene(sa, sb) if _same_mesh(ra.grid(model), rb.grid(model)) else None
        if diff is not None:
            idf, _ = _plot_scene(*diff, size)
            panels.append(_header(idf, "B - A"))
        f = outdir / f"compare_{name}.png"
        from PIL import Image

        Image.fromarray(np.hstack(panels)).save(f, optimize=True)
        files[name] = f
    rows = metric_deltas(ra.summary, rb.summary)
    md = outdir / "compare.md"
    lines = [f"# Comparison: {ra.title} (A) vs {rb.title} (B)", "", f"A: `{ra.path}`  ", f"B: `{rb.path}`", "",
             "Headline metrics (fesolver.simulate.headline); B - A absolute and relative to A:", "",
             "| metric | A | B | B - A | (B - A) / A |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['metric']} | {_fmt(r['a'])} | {_fmt(r['b'])} | {_fmt(r['delta'], True)} | "
              f"{_fmt(r['delta_pct'], True, True)} |" for r in rows]
    lines += ["", "Pictures (shared colour limits; the difference map only where both meshes match):", ""]
    lines += [f"![{n}]({f.name})" for n, f in files.items()]
    md.write_text("\n".join(lines) + "\n")
    png = outdir / "metrics.png"
    _table_png(rows, f"A: {ra.title} ({ra.path.name})    B: {rb.title} ({rb.path.name})", png)
    return {"views": files, "table": rows, "markdown": md, "metrics_png": png}


# --------------------------------------------------------------------------------------------------------------
# interactive window
# --------------------------------------------------------------------------------------------------------------
def view(result, name: str = "foot_von_mises") -> None:  # pragma: no cover - needs a display
    """Open an interactive PyVista window on one view of a result (raises :class:`NoDisplayError` without a
    display)."""
    if not has_display():
        raise NoDisplayError("no display (DISPLAY/WAYLAND_DISPLAY unset): use `fesolver render RESULT` for PNGs "
                             "or `fesolver export-html RESULT` for a page any browser opens; or connect with "
                             "X forwarding (ssh -X)")
    import pyvista as pv

    res = load_result(result)
    scene = _scene(res, name, {})
    if scene is None:
        raise RenderError(f"{res.path}: view {name!r} needs a model this result lacks")
    pl = pv.Plotter(title=f"fesolver: {res.title}")
    pl.set_background(BACKGROUND)
    _draw(pl, scene, {})
    pl.show()


# --------------------------------------------------------------------------------------------------------------
# standalone HTML viewer
# --------------------------------------------------------------------------------------------------------------
#: fields offered by the HTML viewer: (array, label, unit, cell data?)
HTML_FIELDS = (
    ("von_mises", "von Mises stress", "MPa", False),
    ("max_principal", "max principal stress", "MPa", False),
    ("min_principal", "min principal stress", "MPa", False),
    # the summaries' contact pressure (normal contact force over the node's tributary area) and the contact's
    # nodal pressure (mortar multipliers, which overshoot at contact edges on coarse meshes)
    ("contact_force_pressure", "contact pressure (force / tributary area)", "MPa", False),
    ("contact_pressure", "contact pressure (nodal multiplier)", "MPa", False),
    ("displacement", "displacement magnitude", "mm", False),
    ("fibre_stress", "fibre stress", "MPa", True),
    ("fibre_stretch", "fibre stretch", "-", True),
)


def _b64(a: np.ndarray, dtype) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _html_model(res: ResultFolder, model: str) -> dict:
    """Surfaces of each material region of ``model`` with per-vertex fields, packed for the page."""
    grid = res.grid(model)
    solid = _solid_cells(grid)
    g = _with_point_ids(grid).extract_cells(solid)
    for key, _, _, cell in HTML_FIELDS:
        if cell and key in g.cell_data:
            v = np.asarray(g.cell_data[key], dtype=float)
            if np.isfinite(v).any():
                # regions do not share points in the result mesh, so this averages within a region
                g.point_data[key] = np.asarray(g.cell_data_to_point_data().point_data[key])
    mat = np.asarray(g.cell_data["material"]) if "material" in g.cell_data else np.zeros(g.n_cells, dtype=int)
    names = res.region_names(model)
    tris, regions = [], []
    for r in np.unique(mat):
        s = _surface(g.extract_cells(np.flatnonzero(mat == r)))
        s = s.triangulate()
        if s.n_cells == 0:
            continue
        pid = np.asarray(s.point_data["_pid"])
        tri = pid[s.regular_faces]
        if names and r < len(names):
            label = names[r]
        else:  # no names in the result: say what can be seen about the region
            sub = np.flatnonzero(mat == r)
            tags = [t for t, k in (("fibres", "fibre_stress"),) if k in g.cell_data
                    and np.isfinite(np.asarray(g.cell_data[k])[sub]).any()]
            if "contact_gap" in g.point_data and np.isfinite(np.asarray(g.point_data["contact_gap"])[
                    np.unique(pid)]).any():
                tags.append("contact surface")
            label = f"region {r}" + (f" ({', '.join(tags)})" if tags else "")
        regions.append({"name": label, "start": sum(len(t) for t in tris), "count": len(tri)})
        tris.append(tri)
    tri = np.vstack(tris)
    used, inv = np.unique(tri, return_inverse=True)
    tri = inv.reshape(-1, 3)
    pts = np.asarray(grid.points, dtype=float)[used]
    u = np.asarray(grid.point_data["displacement"], dtype=float)[used]
    fields = []
    for key, label, unit, cell in HTML_FIELDS:
        if key == "displacement":
            v = np.linalg.norm(u, axis=1)
        elif key in g.point_data and (not cell or key in grid.cell_data):
            full = np.full(grid.n_points, np.nan)
            full[np.asarray(g.point_data["_pid"])] = np.asarray(g.point_data[key], dtype=float)
            v = full[used]
        else:
            continue
        fin = v[np.isfinite(v)]
        if fin.size == 0 or (key.startswith("contact_") and fin.max() <= 0.0):
            continue
        pos = fin[fin > 0.0]
        fields.append({"key": key, "label": label, "unit": unit, "min": float(fin.min()), "max": float(fin.max()),
                       "minPositive": float(pos.min()) if pos.size else None,
                       # von Mises spans bone to fat pad (10^4 and more): start on a log scale
                       "log": key == "von_mises" and pos.size > 0,
                       "data": _b64(np.where(np.isfinite(v), v, np.nan), np.float32)})
    centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    scale = nice_scale(float(np.linalg.norm(u, axis=1).max()), _diag(grid))
    # initial view: the foot from the medial side, the knee from antero-medial above, the patellofemoral joint
    # from antero-lateral above (the patella in front of the trochlea, the joint line seen from the side)
    direction = {"foot": np.array([0.15, 1.0, 0.25]),
                 "patellofemoral": np.array([0.8, -1.0, 0.45])}.get(model, np.array([1.0, 0.6, 0.45]))
    return {"name": model, "nPoints": int(len(pts)), "nTriangles": int(len(tri)),
            "points": _b64(pts - centre, np.float32), "displacement": _b64(u, np.float32),
            "triangles": _b64(tri, np.uint32), "regions": regions, "fields": fields,
            "radius": float(0.5 * np.linalg.norm(pts.max(axis=0) - pts.min(axis=0))),
            "view": _camera_rows(direction, np.array([0.0, 0.0, 1.0])), "deformedScale": scale}


def _camera_rows(direction: np.ndarray, up: np.ndarray) -> list[float]:
    """Rows (right, up, towards the viewer) of the rotation from model to screen, flattened."""
    back = direction / np.linalg.norm(direction)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    upv = np.cross(back, right)
    return [float(x) for x in np.concatenate([right, upv, back])]


def _colormap(name: str, n: int = 256) -> list[int]:
    import matplotlib

    cm = matplotlib.colormaps[name].resampled(n)
    return [int(round(255 * c)) for rgba in cm(np.linspace(0.0, 1.0, n)) for c in rgba[:3]]


def export_html(result, out=None) -> Path:
    """Write a standalone HTML 3D viewer of a result: one file, no server, no network, no JavaScript library
    (a small WebGL viewer written for fesolver, with a 2D-canvas fallback where WebGL is unavailable).

    The page shows the foot, the knee and, when solved, the patellofemoral joint (a model menu; those the folder
    holds), each region's surface coloured by a chosen field (von Mises, principal stresses, contact pressure,
    displacement, fibre stress and stretch), with a colour bar, region visibility toggles (hide the soft tissue
    to see the bones and fascia, the patella to see the trochlea's contact pressure) and the deformed shape at
    an adjustable scale. Drag to rotate, wheel to zoom, shift-drag (or right-drag) to pan.

    Returns the file written (default ``RESULT/viewer.html``).
    """
    res = load_result(result)
    out = Path(out) if out is not None else res.path / "viewer.html"
    models = [_html_model(res, m) for m in MODELS if res.has(m)]
    payload = {"title": res.title, "models": models, "cmap": _colormap("viridis")}
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    title = res.title.replace("&", "&amp;").replace("<", "&lt;")
    html = _HTML.replace("%TITLE%", title).replace("%DATA%", data)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


_HTML = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>%TITLE% - fesolver viewer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 html, body { margin: 0; height: 100%; font: 14px sans-serif; background: #fff; color: #111; overflow: hidden; }
 #bar { position: absolute; top: 0; left: 0; right: 0; padding: 6px 10px; background: rgba(255,255,255,.9);
        border-bottom: 1px solid #ddd; z-index: 2; }
 #bar label { margin-right: 12px; }
 #regions { position: absolute; top: 70px; left: 10px; max-height: 60%; overflow: auto; background:
            rgba(255,255,255,.85); padding: 4px 8px; border: 1px solid #ddd; font-size: 12px; z-index: 2; }
 #legend { position: absolute; right: 16px; bottom: 16px; background: rgba(255,255,255,.9); padding: 6px 8px;
           border: 1px solid #ddd; z-index: 2; }
 #help { position: absolute; left: 10px; bottom: 10px; font-size: 12px; color: #555; z-index: 2; }
 #msg { color: #b00; }
 canvas#view { position: absolute; top: 0; left: 0; width: 100%; height: 100%; touch-action: none; }
</style></head>
<body>
<div id="bar"><b>%TITLE%</b> &nbsp;
 <label>model <select id="model"></select></label>
 <label>field <select id="field"></select></label>
 <label><input type="checkbox" id="log"> log scale</label>
 <label><input type="checkbox" id="deformed"> deformed x<input id="scale" type="number" min="0" step="any"
   style="width:5em"></label>
 <button id="reset">reset view</button> <span id="msg"></span></div>
<div id="regions"></div>
<canvas id="view"></canvas>
<div id="legend"><div id="ltitle"></div><canvas id="lbar" width="260" height="16"></canvas>
 <div style="display:flex;justify-content:space-between;font-size:12px"><span id="lmin"></span><span id="lmid">
 </span><span id="lmax"></span></div></div>
<div id="help">drag: rotate &middot; wheel: zoom &middot; shift-drag / right-drag: pan &middot; units: mm, N, MPa
 &middot; <span id="mode"></span></div>
<script id="data" type="application/json">%DATA%</script>
<script>
"use strict";
(function () {
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
window.onerror = function (m) { $("msg").textContent = "error: " + m; document.body.dataset.error = String(m); };
function decode(s, T) {
  const bin = atob(s), b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return new T(b.buffer);
}
for (const m of D.models) {
  m.P = decode(m.points, Float32Array); m.U = decode(m.displacement, Float32Array);
  m.T = decode(m.triangles, Uint32Array);
  for (const f of m.fields) f.V = decode(f.data, Float32Array);
  m.hidden = new Set(); m.field = 0; m.scale = m.deformedScale;
}
const canvas = $("view");
let gl = null;
if (!/renderer=2d/.test(location.search)) {
  try { gl = canvas.getContext("webgl", {antialias: true, preserveDrawingBuffer: true}); } catch (e) { gl = null; }
  if (gl && !gl.getExtension("OES_element_index_uint")) gl = null;
}
const ctx = gl ? null : canvas.getContext("2d");
$("mode").textContent = gl ? "WebGL" : "2D canvas (no WebGL)";
let model = D.models[0];
let R = null, zoom = 1, pan = [0, 0];
function resetView() { R = model.view.slice(); zoom = 1; pan = [0, 0]; }
function mul(A, B) {  // 3x3 row-major
  const C = new Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++)
    C[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
  return C;
}
function rot(axis, a) {
  const c = Math.cos(a), s = Math.sin(a);
  return axis === 0 ? [1, 0, 0, 0, c, -s, 0, s, c] : [c, 0, s, 0, 1, 0, -s, 0, c];
}
// geometry for the current model / deformation / field
let X = null, N = null, C = null, idx = null, nIdx = 0;
function geometry() {
  const m = model, n = m.nPoints, s = $("deformed").checked ? m.scale : 0;
  X = new Float32Array(3 * n);
  for (let i = 0; i < 3 * n; i++) X[i] = m.P[i] + s * m.U[i];
  N = new Float32Array(3 * n);
  const T = m.T;
  for (let t = 0; t < T.length; t += 3) {
    const a = 3 * T[t], b = 3 * T[t + 1], c = 3 * T[t + 2];
    const ux = X[b] - X[a], uy = X[b + 1] - X[a + 1], uz = X[b + 2] - X[a + 2];
    const vx = X[c] - X[a], vy = X[c + 1] - X[a + 1], vz = X[c + 2] - X[a + 2];
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const p of [a, b, c]) { N[p] += nx; N[p + 1] += ny; N[p + 2] += nz; }
  }
  const parts = [];
  for (const r of m.regions) if (!m.hidden.has(r.name)) parts.push(T.subarray(3 * r.start, 3 * (r.start + r.count)));
  nIdx = parts.reduce((a, p) => a + p.length, 0);
  idx = new Uint32Array(nIdx);
  let o = 0;
  for (const p of parts) { idx.set(p, o); o += p.length; }
  upload();
}
function colours() {
  const m = model, f = m.fields[m.field], n = m.nPoints;
  C = new Float32Array(3 * n);
  const lg = f.log && f.minPositive > 0, tr = (v) => lg ? Math.log10(Math.max(v, f.minPositive)) : v;
  const lo = tr(lg ? f.minPositive : f.min), span = (tr(f.max) - lo) || 1;
  for (let i = 0; i < n; i++) {
    const v = f.V[i];
    if (!isFinite(v)) { C[3 * i] = C[3 * i + 1] = C[3 * i + 2] = 0.72; continue; }
    const k = Math.max(0, Math.min(255, Math.round(255 * (tr(v) - lo) / span)));
    C[3 * i] = D.cmap[3 * k] / 255; C[3 * i + 1] = D.cmap[3 * k + 1] / 255; C[3 * i + 2] = D.cmap[3 * k + 2] / 255;
  }
  legend(f);
  upload();
}
function legend(f) {
  const lg = f.log && f.minPositive > 0;
  $("ltitle").textContent = f.label + " [" + f.unit + "]" + (lg ? " (log scale)" : "");
  $("log").checked = lg; $("log").disabled = !(f.minPositive > 0);
  const c = $("lbar").getContext("2d");
  for (let x = 0; x < 260; x++) {
    const k = Math.round(255 * x / 259);
    c.fillStyle = "rgb(" + D.cmap[3 * k] + "," + D.cmap[3 * k + 1] + "," + D.cmap[3 * k + 2] + ")";
    c.fillRect(x, 0, 1, 16);
  }
  const g = (v) => Number(v.toPrecision(3)).toString();
  const lo = lg ? f.minPositive : f.min;
  $("lmin").textContent = g(lo); $("lmax").textContent = g(f.max);
  $("lmid").textContent = g(lg ? Math.sqrt(lo * f.max) : 0.5 * (lo + f.max));
}
// --- WebGL
let prog = null, buf = {};
if (gl) {
  const vs = "attribute vec3 p; attribute vec3 n; attribute vec3 c; uniform mat3 R; uniform vec2 s; uniform vec2 o;" +
    "uniform float r; varying vec3 vc; varying float vl; void main() { vec3 q = R * p;" +
    " gl_Position = vec4(q.x * s.x + o.x, q.y * s.y + o.y, -q.z / (2.0 * r), 1.0);" +
    " vec3 m = normalize(R * n + vec3(1e-12)); vl = 0.35 + 0.65 * abs(m.z); vc = c; }";
  const fs = "precision mediump float; varying vec3 vc; varying float vl;" +
    " void main() { gl_FragColor = vec4(vc * vl, 1.0); }";
  const sh = (t, src) => { const x = gl.createShader(t); gl.shaderSource(x, src); gl.compileShader(x);
    if (!gl.getShaderParameter(x, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(x)); return x; };
  prog = gl.createProgram();
  gl.attachShader(prog, sh(gl.VERTEX_SHADER, vs)); gl.attachShader(prog, sh(gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(prog); gl.useProgram(prog);
  for (const k of ["p", "n", "c"]) buf[k] = gl.createBuffer();
  buf.i = gl.createBuffer();
  gl.enable(gl.DEPTH_TEST);
}
function upload() {
  if (!gl || !X || !C) return;
  const put = (k, a) => { gl.bindBuffer(gl.ARRAY_BUFFER, buf[k]); gl.bufferData(gl.ARRAY_BUFFER, a, gl.STATIC_DRAW);
    const l = gl.getAttribLocation(prog, k); gl.enableVertexAttribArray(l);
    gl.vertexAttribPointer(l, 3, gl.FLOAT, false, 0, 0); };
  put("p", X); put("n", N); put("c", C);
  gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, buf.i); gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, idx, gl.STATIC_DRAW);
}
function size() {
  const w = canvas.clientWidth, h = canvas.clientHeight, d = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * d) || canvas.height !== Math.round(h * d)) {
    canvas.width = Math.round(w * d); canvas.height = Math.round(h * d);
  }
}
function draw() {
  size();
  const w = canvas.width, h = canvas.height, a = w / h, r = model.radius;
  const sx = zoom * 0.9 / (r * Math.max(a, 1)) , sy = sx * a;  // isotropic, fits the model's sphere
  if (gl) {
    gl.viewport(0, 0, w, h); gl.clearColor(1, 1, 1, 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    const Rt = [R[0], R[3], R[6], R[1], R[4], R[7], R[2], R[5], R[8]];  // column-major for GLSL
    gl.uniformMatrix3fv(gl.getUniformLocation(prog, "R"), false, new Float32Array(Rt));
    gl.uniform2f(gl.getUniformLocation(prog, "s"), sx, sy);
    gl.uniform2f(gl.getUniformLocation(prog, "o"), pan[0], pan[1]);
    gl.uniform1f(gl.getUniformLocation(prog, "r"), 1.5 * r);
    gl.drawElements(gl.TRIANGLES, nIdx, gl.UNSIGNED_INT, 0);
  } else {
    draw2d(w, h, sx, sy);
  }
  document.body.dataset.rendered = (gl ? "webgl" : "2d") + ":" + nIdx / 3;
}
function draw2d(w, h, sx, sy) {
  const n = model.nPoints, Q = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const x = X[3 * i], y = X[3 * i + 1], z = X[3 * i + 2];
    Q[3 * i] = (R[0] * x + R[1] * y + R[2] * z) * sx + pan[0];
    Q[3 * i + 1] = (R[3] * x + R[4] * y + R[5] * z) * sy + pan[1];
    Q[3 * i + 2] = R[6] * x + R[7] * y + R[8] * z;
  }
  const nt = nIdx / 3, depth = new Float32Array(nt), order = new Uint32Array(nt);
  for (let t = 0; t < nt; t++) {
    depth[t] = Q[3 * idx[3 * t] + 2] + Q[3 * idx[3 * t + 1] + 2] + Q[3 * idx[3 * t + 2] + 2]; order[t] = t;
  }
  order.sort((p, q) => depth[p] - depth[q]);  // far to near
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
  const px = (v) => (v + 1) * 0.5 * w, py = (v) => (1 - v) * 0.5 * h;
  for (let k = 0; k < nt; k++) {
    const t = order[k], a = idx[3 * t], b = idx[3 * t + 1], c = idx[3 * t + 2];
    const ex = X[3 * b] - X[3 * a], ey = X[3 * b + 1] - X[3 * a + 1], ez = X[3 * b + 2] - X[3 * a + 2];
    const fx = X[3 * c] - X[3 * a], fy = X[3 * c + 1] - X[3 * a + 1], fz = X[3 * c + 2] - X[3 * a + 2];
    const nx = ey * fz - ez * fy, ny = ez * fx - ex * fz, nz = ex * fy - ey * fx;
    const nl = Math.hypot(nx, ny, nz) || 1, l = 0.35 + 0.65 * Math.abs((R[6] * nx + R[7] * ny + R[8] * nz) / nl);
    let cr = 0, cg = 0, cb = 0;
    for (const p of [a, b, c]) { cr += C[3 * p]; cg += C[3 * p + 1]; cb += C[3 * p + 2]; }
    const k8 = 85 * l;  // mean of three vertex colours in 0..1, to 0..255, shaded
    ctx.fillStyle = "rgb(" + Math.round(k8 * cr) + "," + Math.round(k8 * cg) + "," + Math.round(k8 * cb) + ")";
    ctx.strokeStyle = ctx.fillStyle;
    ctx.beginPath(); ctx.moveTo(px(Q[3 * a]), py(Q[3 * a + 1])); ctx.lineTo(px(Q[3 * b]), py(Q[3 * b + 1]));
    ctx.lineTo(px(Q[3 * c]), py(Q[3 * c + 1])); ctx.closePath(); ctx.fill(); ctx.stroke();
  }
}
let pending = false;
function redraw() { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } }
// --- controls
function fillModel() {
  const fsel = $("field"); fsel.innerHTML = "";
  model.fields.forEach((f, i) => { const o = document.createElement("option"); o.value = i;
    o.textContent = f.label + " [" + f.unit + "]"; fsel.appendChild(o); });
  fsel.value = model.field; $("scale").value = model.scale;
  const box = $("regions"); box.innerHTML = "<b>regions</b><br>";
  for (const r of model.regions) {
    const l = document.createElement("label"), c = document.createElement("input");
    c.type = "checkbox"; c.checked = !model.hidden.has(r.name);
    c.onchange = () => { if (c.checked) model.hidden.delete(r.name); else model.hidden.add(r.name);
      geometry(); redraw(); };
    l.appendChild(c); l.appendChild(document.createTextNode(" " + r.name)); box.appendChild(l);
    box.appendChild(document.createElement("br"));
  }
  resetView(); geometry(); colours(); redraw();
}
D.models.forEach((m, i) => { const o = document.createElement("option"); o.value = i; o.textContent = m.name;
  $("model").appendChild(o); });
$("model").onchange = (e) => { model = D.models[+e.target.value]; fillModel(); };
$("field").onchange = (e) => { model.field = +e.target.value; colours(); redraw(); };
$("deformed").onchange = () => { geometry(); redraw(); };
$("log").onchange = (e) => { model.fields[model.field].log = e.target.checked; colours(); redraw(); };
$("scale").onchange = (e) => { model.scale = +e.target.value || 0; geometry(); redraw(); };
$("reset").onclick = () => { resetView(); redraw(); };
let drag = null;
canvas.addEventListener("contextmenu", (e) => e.preventDefault());
canvas.addEventListener("pointerdown", (e) => { drag = {x: e.clientX, y: e.clientY, pan: e.shiftKey || e.button === 2};
  canvas.setPointerCapture(e.pointerId); });
canvas.addEventListener("pointerup", () => { drag = null; });
canvas.addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y; drag.x = e.clientX; drag.y = e.clientY;
  if (drag.pan) { pan[0] += 2 * dx / canvas.clientWidth; pan[1] -= 2 * dy / canvas.clientHeight; }
  else { R = mul(rot(1, dx * 0.01), mul(rot(0, dy * 0.01), R)); }
  redraw();
});
canvas.addEventListener("wheel", (e) => { e.preventDefault(); zoom *= Math.exp(-e.deltaY * 0.0015); redraw(); },
  {passive: false});
window.addEventListener("resize", redraw);
fillModel();
draw();
})();
</script>
</body></html>
"""


# --------------------------------------------------------------------------------------------------------------
# batch curves (issue 8)
# --------------------------------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text.lower())
    return "_".join(p for p in out.split("_") if p)


def plot_metric_curves(table_rows, param: str, outdir, title: str | None = None) -> list[Path]:
    """One PNG per metric: the metric against the swept parameter (matplotlib).

    Parameters
    ----------
    table_rows : sequence of dict
        One row per run: ``param`` -> value, and ``"label [unit]"`` -> value for each metric (e.g.
        ``{param: x, **fesolver.simulate.headline(run)}``); non-numeric and missing values are skipped.
    param : str
        The swept parameter's key in the rows (e.g. ``"foot.eversion_deg"``); the x axis.
    outdir : path
        Created if missing; files ``<metric slug>.png``.

    Returns
    -------
    list of Path
        The files written, in the order of the metrics' first appearance.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = [r for r in table_rows if _number(r.get(param)) is not None]
    if not rows:
        raise ValueError(f"no row has a numeric {param!r}")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    metrics = [k for k in dict.fromkeys(k for r in rows for k in r) if k != param]
    files = []
    for m in metrics:
        pts = sorted((_number(r[param]), _number(r.get(m))) for r in rows if _number(r.get(m)) is not None)
        if not pts:
            continue
        x, y = zip(*pts, strict=True)
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        ax.plot(x, y, "o-", color="tab:blue")
        ax.set_xlabel(param)
        ax.set_ylabel(m)
        ax.set_title(title or f"{m} vs {param}", fontsize=10)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        f = outdir / f"{_slug(m)}.png"
        fig.savefig(f, dpi=100)
        plt.close(fig)
        files.append(f)
    return files


def _number(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
