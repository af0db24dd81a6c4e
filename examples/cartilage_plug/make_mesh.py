"""Mesh of the cartilage-plug example: a cylinder of cartilage (2 mm) bonded on subchondral bone (8 mm).

Radius 5 mm. Run from this folder: ``python make_mesh.py`` (writes ``plug.msh``).
Physical groups: volumes ``cartilage`` and ``bone``; surfaces ``articular`` (top, z = 10), ``base`` (z = 0).
"""

import gmsh

R, T_BONE, T_CART, SIZE = 5.0, 8.0, 2.0, 0.9  # mm

gmsh.initialize()
gmsh.option.setNumber("General.Terminal", 0)
gmsh.model.add("plug")
bone = gmsh.model.occ.addCylinder(0, 0, 0, 0, 0, T_BONE, R)
cart = gmsh.model.occ.addCylinder(0, 0, T_BONE, 0, 0, T_CART, R)
gmsh.model.occ.fragment([(3, bone)], [(3, cart)])
gmsh.model.occ.synchronize()
vols = gmsh.model.getEntities(3)
for dim, tag in vols:
    z = gmsh.model.occ.getCenterOfMass(dim, tag)[2]
    gmsh.model.addPhysicalGroup(3, [tag], name="bone" if z < T_BONE else "cartilage")
for dim, tag in gmsh.model.getEntities(2):
    x, y, z = gmsh.model.occ.getCenterOfMass(dim, tag)
    if abs(z - (T_BONE + T_CART)) < 1e-9 and abs(x) < 1e-9 and abs(y) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name="articular")
    elif abs(z) < 1e-9 and abs(x) < 1e-9 and abs(y) < 1e-9:
        gmsh.model.addPhysicalGroup(2, [tag], name="base")
gmsh.option.setNumber("Mesh.MeshSizeMax", SIZE)
gmsh.option.setNumber("Mesh.ElementOrder", 2)
gmsh.option.setNumber("Mesh.Algorithm3D", 10)
gmsh.model.mesh.generate(3)
gmsh.write("plug.msh")
gmsh.finalize()
