"""Named insole and footwear materials with their literature sources.

Each entry of :data:`INSOLE_MATERIALS` records the small-strain Young's modulus and Poisson's ratio it is built
from, the range of ``E`` reported for that class of material, where the numbers come from and whether they were
**verified** (read in the cited source through the project's search tool) or are **unverified** (from memory or
placeholders within the usual range: check before relying on them). The same table, with the same statuses, is
in ``docs/materials.md`` ("Insole and footwear materials").

Foams are one-term :class:`~fesolver.materials.hyperelastic.Hyperfoam` materials built with
:meth:`~fesolver.materials.hyperelastic.Hyperfoam.from_E_nu` when only ``E`` and ``nu`` are known: ``mu = E /
(2 (1 + nu))`` gives the small-strain limit exactly, whatever ``alpha``; ``alpha`` only shapes the large-strain
(densification) response and is **assumed**, flagged in each entry. Rigid shells are compressible neo-Hookean
solids (:class:`~fesolver.materials.hyperelastic.NeoHookean`), exact under large rotations.

Examples
--------
>>> from fesolver.models.library import insole_material, available
>>> "poron" in available()
True
>>> round(insole_material("poron").small_strain_moduli()[0], 6)  # E [MPa]
0.3
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError
from ..materials.hyperelastic import Hyperfoam, NeoHookean

__all__ = ["InsoleMaterialEntry", "INSOLE_MATERIALS", "insole_material", "available"]

#: kg/m^3 -> t/mm^3
_KG_M3 = 1e-12

CHEUNG_ZHANG_2005 = (
    "Cheung & Zhang (2005) Arch Phys Med Rehabil 86:353-358, 'A 3-dimensional finite element model of the human "
    "foot and ankle for insole design' (abstract: soft custom-molded insole E = 0.3 MPa, flat rigid insole "
    "E = 1000 MPa)"
)
PETRE_2006 = (
    "Petre, Erdemir & Cavanagh (2006) Comput Methods Biomech Biomed Engin 9(4):231-242, doi:10.1080/"
    "10255840600747620, 'Determination of elastomeric foam parameters for simulations of complex loading' "
    "(hyperfoam fits of insole foams incl. Poron and EVA 35 durometer from uniaxial, shear and volumetric tests)"
)
MILLS_EVA = (
    "Verdejo & Mills (2002) 'Performance of EVA foam in running shoes', The Engineering of Sport 4:580-587 "
    "(EVA midsole foams 150-250 kg/m^3)"
)


@dataclass(frozen=True)
class InsoleMaterialEntry:
    """One named insole/footwear material.

    Attributes
    ----------
    name : str
        Library key, e.g. ``"eva_medium"``.
    description : str
        What it is (trade names, typical use).
    model : {"hyperfoam", "neo_hookean"}
        Constitutive model built by :meth:`build`.
    E : float
        Small-strain Young's modulus [MPa] the material is built with.
    nu : float
        Small-strain Poisson's ratio [-].
    E_range : (float, float)
        Range of ``E`` [MPa] reported (or, for unverified entries, usually quoted) for this material class.
    alpha : float or None
        Hyperfoam exponent [-] (foams only).
    density : float
        Mass density [t/mm^3] (0 when no source gave one).
    source : str
        Citation(s).
    status : str
        ``"verified"``, ``"partly verified"`` or ``"unverified"``, with what exactly was (not) verified in
        :attr:`note`.
    note : str
        What was read where, and every assumed number.
    """

    name: str
    description: str
    model: str
    E: float
    nu: float
    E_range: tuple[float, float]
    source: str
    status: str
    note: str
    alpha: float | None = None
    density: float = 0.0

    def build(self, name: str | None = None):
        """The material object (label ``name``, default the library key)."""
        label = name or self.name
        if self.model == "hyperfoam":
            return Hyperfoam.from_E_nu(E=self.E, nu=self.nu, alpha=self.alpha, density=self.density, name=label)
        if self.model == "neo_hookean":
            return NeoHookean(E=self.E, nu=self.nu, density=self.density, name=label)
        raise ModelError(f"insole material {self.name!r}: unknown model {self.model!r}")


_FOAM_ALPHA_NOTE = (
    "alpha = {alpha} is assumed (it sets the stiffening at large compression only; the small-strain E and nu are "
    "exact); replace with a hyperfoam fit (e.g. Petre et al. 2006) for large-strain accuracy."
)

#: name -> :class:`InsoleMaterialEntry`
INSOLE_MATERIALS: dict[str, InsoleMaterialEntry] = {
    e.name: e
    for e in (
        InsoleMaterialEntry(
            name="poron",
            description="microcellular polyurethane foam (Poron cushioning), soft insole top cover / cushion",
            model="hyperfoam",
            E=0.3,
            nu=0.3,
            alpha=5.0,
            E_range=(0.3, 0.3),
            source=f"{CHEUNG_ZHANG_2005}; {PETRE_2006}",
            status="partly verified",
            note="E = 0.3 MPa verified (Cheung & Zhang 2005 abstract, their soft insole); that this soft insole is "
                 "Poron-like, and nu = 0.3, are unverified (memory/assumed). Petre et al. 2006 fitted hyperfoam "
                 "parameters to Poron (paper and material confirmed), but their mu/alpha/beta values could not be "
                 "read here. " + _FOAM_ALPHA_NOTE.format(alpha=5.0),
        ),
        InsoleMaterialEntry(
            name="eva_soft",
            description="ethylene-vinyl acetate foam, low density (~150 kg/m^3), soft (about Shore A 25-35)",
            model="hyperfoam",
            E=1.0,
            nu=0.3,
            alpha=5.0,
            density=150.0 * _KG_M3,
            E_range=(0.5, 2.0),
            source=f"{MILLS_EVA}; {PETRE_2006}",
            status="unverified",
            note="E, nu and the hardness band are unverified placeholders (memory: EVA insoles in foot FE models "
                 "are usually given E of order 1-5 MPa, softer to firmer); the density 150 kg/m^3 is the low end "
                 "of the verified 150-250 kg/m^3 (Verdejo & Mills). Petre et al. 2006 tested an EVA of 35 "
                 "durometer (verified via a SIMULIA community page) but its parameters were not read. "
                 + _FOAM_ALPHA_NOTE.format(alpha=5.0),
        ),
        InsoleMaterialEntry(
            name="eva_medium",
            description="ethylene-vinyl acetate foam, medium density (~200 kg/m^3), about Shore A 40-50",
            model="hyperfoam",
            E=2.0,
            nu=0.3,
            alpha=5.0,
            density=200.0 * _KG_M3,
            E_range=(1.0, 4.0),
            source=f"{MILLS_EVA}",
            status="unverified",
            note="E, nu and the hardness band unverified (placeholders, see eva_soft); density 200 kg/m^3 within "
                 "the verified 150-250 kg/m^3. " + _FOAM_ALPHA_NOTE.format(alpha=5.0),
        ),
        InsoleMaterialEntry(
            name="eva_firm",
            description="ethylene-vinyl acetate foam, high density (~250 kg/m^3), about Shore A 55-65, "
                        "orthosis posts and midsoles",
            model="hyperfoam",
            E=4.0,
            nu=0.3,
            alpha=5.0,
            density=250.0 * _KG_M3,
            E_range=(2.0, 8.0),
            source=f"{MILLS_EVA}",
            status="unverified",
            note="E, nu and the hardness band unverified (placeholders, see eva_soft); density 250 kg/m^3 = the "
                 "top of the verified 150-250 kg/m^3. " + _FOAM_ALPHA_NOTE.format(alpha=5.0),
        ),
        InsoleMaterialEntry(
            name="pe_foam",
            description="closed-cell polyethylene foam (Plastazote, Pelite), heat-mouldable diabetic insoles",
            model="hyperfoam",
            E=1.0,
            nu=0.3,
            alpha=5.0,
            E_range=(0.5, 2.0),
            source="Brodsky, Kourosh, Stills & Mooney (1988) Foot Ankle 9(3):111-116, 'Objective evaluation of "
                   f"insert material for diabetic and athletic footwear' (soft Plastazote, medium Pelite); "
                   f"{PETRE_2006}",
            status="unverified",
            note="The materials' use as insoles is verified (Brodsky et al. 1988 abstract); E and nu are "
                 "unverified placeholders of the same order as soft EVA (no modulus was read). Petre et al. 2006 "
                 "also fitted Plastazote (from memory, unverified). " + _FOAM_ALPHA_NOTE.format(alpha=5.0),
        ),
        InsoleMaterialEntry(
            name="cork_composite",
            description="cork-rubber / cork-EVA composite sheet (orthotic posting and shells)",
            model="hyperfoam",
            E=5.0,
            nu=0.1,
            alpha=5.0,
            E_range=(2.0, 10.0),
            source="none found through the search tool",
            status="unverified",
            note="No source found; E = 5 MPa and nu = 0.1 (cork's lateral expansion is small) are placeholders "
                 "from memory. " + _FOAM_ALPHA_NOTE.format(alpha=5.0),
        ),
        InsoleMaterialEntry(
            name="rigid_shell",
            description="rigid orthosis shell (polypropylene; a carbon-fibre shell is stiffer still)",
            model="neo_hookean",
            E=1000.0,
            nu=0.3,
            E_range=(1000.0, 1000.0),
            source=CHEUNG_ZHANG_2005,
            status="partly verified",
            note="E = 1000 MPa verified (Cheung & Zhang 2005 abstract, their rigid insole); nu = 0.3 assumed. "
                 "Bulk polypropylene is stiffer (about 1.1-1.8 GPa, memory, unverified) and carbon-fibre laminates "
                 "far stiffer; at 1000 MPa the shell is already ~10^3 times stiffer than the foams and the plantar "
                 "tissue, i.e. effectively rigid.",
        ),
    )
}


def available() -> list[str]:
    """Names of the library materials, sorted."""
    return sorted(INSOLE_MATERIALS)


def insole_material(name: str, label: str | None = None):
    """Build the library material ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`INSOLE_MATERIALS` (see :func:`available`).
    label : str, optional
        Material label used in messages and outputs (default ``name``).

    Returns
    -------
    Hyperfoam or NeoHookean

    Raises
    ------
    ModelError
        Unknown name; the message lists the available ones.
    """
    try:
        entry = INSOLE_MATERIALS[name]
    except (KeyError, TypeError):
        raise ModelError(f"unknown insole material {name!r}; available: {', '.join(available())}") from None
    return entry.build(label)
