"""Contact: rigid analytical surfaces (node to surface) and surface-to-surface contact between bodies.

Add surfaces to ``Problem.contacts``; they force the finite-strain (Newton) analysis. See
:mod:`fesolver.contact.rigid_surfaces` for the formulation. :mod:`fesolver.contact.search` finds the closest
point on a facet surface for each slave point (bucket grid, linear cost); :class:`SurfaceContact`
(:mod:`fesolver.contact.surface_pair`) couples two facet sets (deformable or rigid-body surfaces) with
mortar-type weighted gaps, augmented Lagrangian and Coulomb friction.
"""

from .rigid_surfaces import (
    PENALTY_FACTOR,
    RigidCylinder,
    RigidEllipsoid,
    RigidPlane,
    RigidSphere,
    RigidSurface,
    tributary_areas,
)
from .search import ClosestPoints, ContactSearch
from .surface_pair import SurfaceContact

__all__ = ["RigidSurface", "RigidPlane", "RigidSphere", "RigidCylinder", "RigidEllipsoid", "tributary_areas",
           "PENALTY_FACTOR", "ContactSearch", "ClosestPoints", "SurfaceContact"]
