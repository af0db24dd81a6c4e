"""Write a fesolver problem as an FEBio input file (``febio_spec`` 4.0): ``fesolver export-feb MODEL.toml``.

:func:`write_febio` writes exactly the features :func:`fesolver.febio.read_febio` reads back, so that a model
exported and re-imported solves to the same displacements:

=======================  ==========================================================================================
fesolver                 FEBio
=======================  ==========================================================================================
finite-strain problem    ``Control``: STATIC, end time 1 = fesolver's load factor, ``step_size`` = first Newton step,
                         ``time_stepper/dtmax`` = largest step
tet4, tet10, hex8        one ``Elements`` block per (material region, element type); ``SolidDomain`` with
                         ``elastic-solid`` (standard) or ``three-field-solid`` (``mean_dilatation``, hex8 only)
materials                NeoHookean -> neo-Hookean, MooneyRivlin -> Mooney-Rivlin, Ogden -> Ogden
                         (``c_p = 2 mu_p``, ``m_p = alpha_p``), TransIsoMooneyRivlin -> trans iso Mooney-Rivlin
FixedDisplacement        ``zero displacement`` (value 0) or ``prescribed displacement`` (absolute, with its curve)
NodalForce               ``nodal_force`` of ``total / n`` on each of the ``n`` nodes
SurfaceLoad (pressure)   ``pressure`` with ``<linear>1</linear>`` (fesolver's pressure is a dead load)
LoadCurve                ``loadcurve`` LINEAR, extend CONSTANT
=======================  ==========================================================================================

Anything else (linear-elastic materials and the small-strain analysis, tractions, body forces, gravity, trusses,
rigid bodies, contact, tri6 surfaces) raises :class:`~fesolver.febio.FEBioError` naming it.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from .febio import FEBioError
from .loads import FixedDisplacement, NodalForce, SurfaceLoad
from .materials import MooneyRivlin, NeoHookean, Ogden, TransIsoMooneyRivlin

__all__ = ["write_febio", "export_feb"]

_ETYPES = {"tet4": "tet4", "tet10": "tet10", "hex8": "hex8"}
_FACETS = {"tri3": "tri3", "quad4": "quad4"}


def _num(x: float) -> str:
    return repr(float(x))


def _material_xml(mid: int, name: str, m) -> str:
    attrs = f'id="{mid}" name={quoteattr(name)}'
    if isinstance(m, NeoHookean):
        return f'<material {attrs} type="neo-Hookean"><E>{_num(m.E)}</E><v>{_num(m.nu)}</v></material>'
    if isinstance(m, TransIsoMooneyRivlin):
        body = "".join(f"<{k}>{_num(getattr(m, k))}</{k}>" for k in ("c1", "c2", "c3", "c4", "c5", "lam_max", "k"))
        fib = ",".join(_num(v) for v in m.fibre)
        return (f'<material {attrs} type="trans iso Mooney-Rivlin">{body}'
                f'<fiber type="vector"><vector>{fib}</vector></fiber></material>')
    if isinstance(m, MooneyRivlin):
        return (f'<material {attrs} type="Mooney-Rivlin"><c1>{_num(m.c1)}</c1><c2>{_num(m.c2)}</c2>'
                f"<k>{_num(m.k)}</k></material>")
    if isinstance(m, Ogden):
        terms = "".join(f"<c{i + 1}>{_num(2.0 * mu)}</c{i + 1}><m{i + 1}>{_num(a)}</m{i + 1}>"
                        for i, (mu, a) in enumerate(zip(m.mu, m.alpha, strict=True)) if mu != 0.0)
        return f'<material {attrs} type="Ogden">{terms}<k>{_num(m.K)}</k></material>'
    raise FEBioError(f"material {name!r} ({type(m).__name__}) has no FEBio equivalent that fesolver reads back "
                     f"(neo-Hookean, Mooney-Rivlin, Ogden, trans iso Mooney-Rivlin)")


def write_febio(problem, path) -> Path:
    """Write ``problem`` (a finite-strain :class:`~fesolver.problem.Problem`) to ``path`` as ``febio_spec`` 4.0.

    Parameters
    ----------
    problem : Problem
    path : str or Path
        The ``.feb`` file to write.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FEBioError
        The problem uses something :func:`fesolver.febio.read_febio` cannot read back (named in the message).
    """
    path = Path(path)
    mesh = problem.mesh
    what = problem.title or str(path)
    if not problem.nonlinear:
        raise FEBioError(f"{what}: the small-strain (linear) analysis has no FEBio equivalent here; FEBio models "
                         f"run at finite strain (use hyperelastic materials or analysis = 'nonlinear')")
    for feature, present in (("trusses", problem.trusses), ("rigid bodies", problem.rigid_bodies),
                             ("contact", problem.contacts)):
        if present:
            raise FEBioError(f"{what}: {feature} are not exported to FEBio yet")
    md = problem.finite_strain_formulation == "mean_dilatation"
    nl = problem.newton
    n_steps = max(1, int(math.ceil(1.0 / nl.initial_step - 1e-9)))
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>', '<febio_spec version="4.0">',
                      '\t<Module type="solid"/>', "\t<Control>", "\t\t<analysis>STATIC</analysis>",
                      f"\t\t<time_steps>{n_steps}</time_steps>", f"\t\t<step_size>{_num(1.0 / n_steps)}</step_size>",
                      '\t\t<time_stepper type="default">', f"\t\t\t<dtmax>{_num(max(nl.max_step, 1.0 / n_steps))}"
                      f"</dtmax>", "\t\t</time_stepper>", "\t</Control>", "\t<Material>"]
    mat_names = {}
    for i, (region, m) in enumerate(problem.materials.items()):
        label = getattr(m, "name", None) or region
        mat_names[region] = label if label not in mat_names.values() else region
        out.append("\t\t" + _material_xml(i + 1, mat_names[region], m))
    out += ["\t</Material>", "\t<Mesh>", '\t\t<Nodes name="all">']
    out += [f'\t\t\t<node id="{i + 1}">{_num(x)},{_num(y)},{_num(z)}</node>' for i, (x, y, z) in enumerate(mesh.points)]
    out.append("\t\t</Nodes>")
    domains = []
    eid = 1
    for region in problem.materials:
        parts = mesh.cell_sets.get(region)
        if parts is None:
            raise FEBioError(f"{what}: material region {region!r} is not a cell set")
        for k, idx in parts.items():
            b = mesh.solids[k]
            if b.etype.name not in _ETYPES:
                raise FEBioError(f"{what}: element type {b.etype.name} is not exported (tet4, tet10, hex8)")
            name = region if len(parts) == 1 else f"{region}_{b.etype.name}_{k}"
            out.append(f'\t\t<Elements type="{_ETYPES[b.etype.name]}" name={quoteattr(name)}>')
            for conn in b.cells[np.asarray(idx)]:
                out.append(f'\t\t\t<elem id="{eid}">{",".join(str(int(n) + 1) for n in conn)}</elem>')
                eid += 1
            out.append("\t\t</Elements>")
            if md and b.etype.name != "hex8":
                raise FEBioError(f"{what}: mean_dilatation on {b.etype.name} has no FEBio equivalent "
                                 f"(three-field-solid is hex8)")
            domains.append((name, mat_names[region], "three-field-solid" if md else "elastic-solid"))
    curves: dict[int, tuple[int, object]] = {}

    def lc(curve) -> int:
        if id(curve) not in curves:
            curves[id(curve)] = (len(curves) + 1, curve)
        return curves[id(curve)][0]

    sets, boundary, loads = [], [], []
    for j, bc in enumerate(problem.bcs):
        if not isinstance(bc, FixedDisplacement):
            raise FEBioError(f"{what}: boundary condition {type(bc).__name__} is not exported")
        ns = f"bc{j + 1}_{bc.name}"
        sets.append((ns, bc.where.nodes(mesh)))
        zero = [c for c, v in bc.values.items() if v == 0.0]
        if zero:
            dofs = "".join(f"<{c}_dof>{int(i in zero)}</{c}_dof>" for i, c in enumerate("xyz"))
            boundary.append(f'\t\t<bc name={quoteattr(bc.name)} node_set={quoteattr(ns)} type="zero displacement">'
                            f"{dofs}</bc>")
        for c, v in bc.values.items():
            if v != 0.0:
                comp = "xyz"[c]
                boundary.append(f'\t\t<bc name={quoteattr(bc.name + "_" + comp)} node_set={quoteattr(ns)} '
                                f'type="prescribed displacement"><dof>{comp}</dof>'
                                f'<value lc="{lc(bc.curve)}">{_num(v)}</value><relative>0</relative></bc>')
    surfaces = []
    for j, ld in enumerate(problem.loads):
        label = f"load{j + 1}_{ld.name}"
        if isinstance(ld, NodalForce):
            nodes = ld.where.nodes(mesh)
            sets.append((label, nodes))
            per = np.asarray(ld.total, dtype=float) / nodes.size
            loads.append(f'\t\t<nodal_load name={quoteattr(ld.name)} node_set={quoteattr(label)} type="nodal_force">'
                         f'<value lc="{lc(ld.curve)}">{",".join(_num(v) for v in per)}</value></nodal_load>')
        elif isinstance(ld, SurfaceLoad) and not any(ld.traction):
            facets = ld.where.facets(mesh)
            for ft, _ in facets:
                if ft.name not in _FACETS:
                    raise FEBioError(f"{what}: load {ld.name!r}: {ft.name} facets are not exported (tri3, quad4)")
            surfaces.append((label, facets))
            loads.append(f'\t\t<surface_load name={quoteattr(ld.name)} surface={quoteattr(label)} type="pressure">'
                         f'<pressure lc="{lc(ld.curve)}">{_num(ld.pressure)}</pressure><linear>1</linear>'
                         f"</surface_load>")
        else:
            raise FEBioError(f"{what}: load {ld.name!r} ({type(ld).__name__}"
                             f"{', traction' if isinstance(ld, SurfaceLoad) else ''}) is not exported "
                             f"(nodal forces and pressures)")
    for ns, nodes in sets:
        out.append(f"\t\t<NodeSet name={quoteattr(ns)}>{','.join(str(int(n) + 1) for n in nodes)}</NodeSet>")
    for sname, facets in surfaces:
        out.append(f"\t\t<Surface name={quoteattr(sname)}>")
        fid = 1
        for ft, conn in facets:
            for f in conn:
                out.append(f'\t\t\t<{ft.name} id="{fid}">{",".join(str(int(n) + 1) for n in f)}</{ft.name}>')
                fid += 1
        out.append("\t\t</Surface>")
    out += ["\t</Mesh>", "\t<MeshDomains>"]
    out += [f"\t\t<SolidDomain name={quoteattr(n)} mat={quoteattr(m)} type=\"{t}\"/>" for n, m, t in domains]
    out += ["\t</MeshDomains>", "\t<Boundary>", *boundary, "\t</Boundary>", "\t<Loads>", *loads, "\t</Loads>",
            "\t<LoadData>"]
    for cid, curve in curves.values():
        pts = "".join(f"<pt>{_num(t)},{_num(v)}</pt>" for t, v in curve.points)
        out.append(f'\t\t<load_controller id="{cid}" name={quoteattr(curve.name)} type="loadcurve">'
                   f"<interpolate>LINEAR</interpolate><extend>CONSTANT</extend><points>{pts}</points>"
                   f"</load_controller>")
    out += ["\t</LoadData>", "</febio_spec>", ""]
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def export_feb(model, out) -> Path:
    """Read a fesolver model file (TOML, see README 'Model files') and write it as FEBio ``out`` (``.feb``)."""
    from .modelfile import load_model

    return write_febio(load_model(model), out)
