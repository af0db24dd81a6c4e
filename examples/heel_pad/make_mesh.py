"""Mesh of the heel-pad example: a cylindrical heel pad (radius 20 mm, 12 mm thick) under a 10 mm
calcaneus slab, tet10.

Run from this folder: ``python make_mesh.py`` (writes ``heel.msh``).
Physical groups: volumes ``pad`` and ``calcaneus``; surface ``ground`` (z = 0, the plantar skin).
"""

import gmsh

R, T_PAD, T_BONE, SIZE = 20.0, 12.0, 10.0, 4.0  # mm

gmsh.initialize()
gmsh.option.setNumber("General.Terminal", 0)
gmsh.model.add("heel")
pad = gmsh.model.occ.addCylinder(0, 0, 0, 0, 0, T_PAD, R)
bone = gmsh.model.occ.addCylinder(0, 0, T_PAD, 0, 0, T_BONE, R)
gmsh.model.occ.fragment([(3, pad)], [(3, bone)])
gmsh.model.occ.synchronize()
for dim, tag in gmsh.model.getEntities(3):
    z = gmsh.model.occ.getCenterOfMass(dim, tag)[2]
    gmsh.model.addPhysicalGroup(3, [tag], name="pad" if z < T_PAD else "calcaneus")
for dim, tag in gmsh.model.getEntities(2):
    x, y, z = gmsh.model.occ.getCenterOfMass(dim, tag)
    if abs(z) < 1e-9 and abs(x) < 1e-9 and abs(y) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name="ground")
gmsh.option.setNumber("Mesh.MeshSizeMax", SIZE)
gmsh.option.setNumber("Mesh.ElementOrder", 2)
gmsh.option.setNumber("Mesh.Algorithm3D", 10)
gmsh.model.mesh.generate(3)
gmsh.write("heel.msh")
gmsh.finalize()
