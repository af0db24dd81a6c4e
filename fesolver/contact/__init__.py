"""Contact: frictionless node-to-surface contact with rigid analytical surfaces (augmented Lagrangian).

Add surfaces to ``Problem.contacts``; they force the finite-strain (Newton) analysis. See
:mod:`fesolver.contact.rigid_surfaces` for the formulation. :mod:`fesolver.contact.search` finds the closest
point on a facet surface for each slave point (bucket grid, linear cost), for contact between deformable
bodies.
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

__all__ = ["RigidSurface", "RigidPlane", "RigidSphere", "RigidCylinder", "RigidEllipsoid", "tributary_areas",
           "PENALTY_FACTOR", "ContactSearch", "ClosestPoints"]
