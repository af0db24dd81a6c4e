"""fesolver: finite-element stress in the plantar fascia and knee cartilage of the leg's kinetic chain.

Units everywhere: mm, N, MPa, s (mass in t, density in t/mm^3).

>>> import fesolver
>>> fesolver.__version__
'0.1.0'

The main entry points:

* :func:`fesolver.modelfile.load_model` -- read a TOML model file into a :class:`~fesolver.problem.Problem`;
* :meth:`fesolver.problem.Problem.solve` -- assemble, solve, recover stresses -> :class:`~fesolver.results.Result`;
* :func:`fesolver.mesh.read_mesh` -- read and check a mesh (any meshio format).
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
