"""Mesh of the cantilever example: a 100 x 10 x 10 mm steel bar, tet10, with named sets.

Run from this folder: ``python make_mesh.py`` (writes ``cantilever.msh``; the shipped file came from it).
Physical groups: volume ``beam``; surfaces ``fixed_end`` (x = 0), ``tip`` (x = 100), ``top`` (z = 10).
"""

import gmsh

L, W, H, SIZE = 100.0, 10.0, 10.0, 2.5  # mm

gmsh.initialize()
gmsh.option.setNumber("General.Terminal", 0)
gmsh.model.add("cantilever")
box = gmsh.model.occ.addBox(0, 0, 0, L, W, H)
gmsh.model.occ.synchronize()
gmsh.model.addPhysicalGroup(3, [box], name="beam")
for dim, tag in gmsh.model.getBoundary([(3, box)], oriented=False):
    x, y, z = gmsh.model.occ.getCenterOfMass(dim, tag)
    if abs(x) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name="fixed_end")
    elif abs(x - L) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name="tip")
    elif abs(z - H) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name="top")
gmsh.option.setNumber("Mesh.MeshSizeMax", SIZE)
gmsh.option.setNumber("Mesh.ElementOrder", 2)
gmsh.option.setNumber("Mesh.Algorithm3D", 10)  # HXT
gmsh.model.mesh.generate(3)
gmsh.write("cantilever.msh")
gmsh.finalize()
