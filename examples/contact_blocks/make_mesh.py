"""Mesh of the contact-blocks example: a 6 x 6 x 5 mm block resting on a 10 x 10 x 5 mm base, tet10, the two
meshed independently (non-matching, separate nodes on the interface).

Run from this folder: ``python make_mesh.py`` (writes ``blocks.msh``).
Physical groups: volumes ``base`` and ``block``; surfaces ``base_top`` (z = 5, the whole top of the base),
``block_bottom`` (z = 5), ``block_top`` (z = 10) and ``base_bottom`` (z = 0).
"""

import gmsh

L, LU, H = 10.0, 6.0, 5.0  # mm

gmsh.initialize()
gmsh.option.setNumber("General.Terminal", 0)
gmsh.model.add("blocks")
base = gmsh.model.occ.addBox(0, 0, 0, L, L, H)
block = gmsh.model.occ.addBox(2, 2, H, LU, LU, H)  # not fragmented: the interface nodes are not shared
gmsh.model.occ.synchronize()
gmsh.model.addPhysicalGroup(3, [base], name="base")
gmsh.model.addPhysicalGroup(3, [block], name="block")
for dim, tag in gmsh.model.getEntities(2):
    x, y, z = gmsh.model.occ.getCenterOfMass(dim, tag)
    owner = "base" if gmsh.model.getAdjacencies(dim, tag)[0][0] == base else "block"
    if abs(z - H) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name=f"{owner}_{'top' if owner == 'base' else 'bottom'}")
    elif abs(z) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name="base_bottom")
    elif abs(z - 2 * H) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name="block_top")
gmsh.model.mesh.setSize(gmsh.model.getBoundary([(3, base)], recursive=True), 2.5)
gmsh.model.mesh.setSize(gmsh.model.getBoundary([(3, block)], recursive=True), 1.6)
gmsh.option.setNumber("Mesh.ElementOrder", 2)
gmsh.model.mesh.generate(3)
gmsh.write("blocks.msh")
gmsh.finalize()
