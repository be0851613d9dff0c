"""Rigid-body simulation with pybullet: object meshes + scene spec -> per-frame poses.

Each object collides as the convex hull of its (normalised) mesh vertices; the floor is a plane,
walls are thin static boxes. The simulation runs at 240 Hz and is sampled at the clip's fps.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as pb

from .scene import SceneSpec

SIM_HZ = 240


def simulate(spec: SceneSpec, vertices: list[np.ndarray], without: frozenset[int] = frozenset()) -> np.ndarray:
    """Return poses (frames, objects, 7): position xyz then quaternion xyzw, one row per frame.

    `vertices[i]` is object i's mesh in its local frame (centred, scaled to its spec size). Objects whose ids are
    in `without` are left out of the simulation (the world as it would be without them; their rows keep their
    start pose): the target of a scene where removing an object changes how the others move.
    """
    client = pb.connect(pb.DIRECT)
    try:
        pb.setGravity(0, 0, -9.81, physicsClientId=client)
        pb.setTimeStep(1.0 / SIM_HZ, physicsClientId=client)
        floor = pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=client)
        pb.createMultiBody(0, floor, physicsClientId=client)
        for wall in spec.walls:
            box = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[0.05, 8.0, 4.0], physicsClientId=client)
            x, y, _ = wall["position"]
            yaw = math.radians(wall["yaw_deg"])
            pb.createMultiBody(0, box, basePosition=[x, y, 4.0],
                               baseOrientation=pb.getQuaternionFromEuler([0, 0, yaw]), physicsClientId=client)
        bodies = []
        for obj, verts in zip(spec.objects, vertices):
            if obj.id in without:
                bodies.append(None)
                continue
            shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=np.asarray(verts, dtype=float).tolist(),
                                            physicsClientId=client)
            pos = list(obj.position)
            if obj.motion in ("static", "rest"):  # rest the lowest vertex on the floor
                rot = np.array(pb.getMatrixFromQuaternion(obj.orientation)).reshape(3, 3)
                pos[2] = float(-(np.asarray(verts) @ rot.T)[:, 2].min()) + 1e-3
            # static objects stay put and others bounce off them; resting ones (scenery) can be knocked over
            mass = {"static": 0.0, "rest": 0.3}.get(obj.motion, 1.0)
            body = pb.createMultiBody(mass, shape, basePosition=pos, baseOrientation=obj.orientation,
                                      physicsClientId=client)
            pb.changeDynamics(body, -1, lateralFriction=obj.friction, restitution=obj.restitution,
                              physicsClientId=client)
            pb.resetBaseVelocity(body, obj.linear_velocity, obj.angular_velocity, physicsClientId=client)
            bodies.append(body)
        steps = max(1, round(SIM_HZ / spec.fps))
        poses = np.zeros((spec.frames, len(bodies), 7), dtype=np.float64)
        for i, obj in enumerate(spec.objects):
            poses[:, i, :3], poses[:, i, 3:] = obj.position, obj.orientation
        for t in range(spec.frames):
            if t:
                for _ in range(steps):
                    pb.stepSimulation(physicsClientId=client)
            for i, body in enumerate(bodies):
                if body is None:
                    continue
                p, q = pb.getBasePositionAndOrientation(body, physicsClientId=client)
                poses[t, i, :3], poses[t, i, 3:] = p, q
        return poses
    finally:
        pb.disconnect(client)
