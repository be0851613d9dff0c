"""Physics with pybullet: object meshes + scene spec -> per-frame poses (and a cloth's vertices).

Each object collides as the convex hull of its (normalised) mesh vertices; the floor is a plane,
walls are thin static boxes. Rigid scenes run at 240 Hz; scenes with a cloth (the deformation
scenario: a sheet held at its rim, like a trampoline) run pybullet's deformable world at 960 Hz
(a mass-spring cloth is unstable at 240 Hz), the cloth settled for half a second before the clip
starts. Sampled at the clip's fps.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass

import numpy as np
import pybullet as pb

from .spec import ObjectSpec, SceneSpec

SIM_HZ = 240
CLOTH_HZ = 960
CLOTH_GRID = 16  # vertices per side of the cloth's mass-spring grid
CLOTH_SETTLE_S = 0.5


@dataclass
class Motion:
    """What a simulation gives the renderer: rigid poses, and the cloth's vertices when the scene has one."""

    poses: np.ndarray  # (frames, objects, 7): position xyz then quaternion xyzw
    cloth: np.ndarray | None = None  # (frames, CLOTH_GRID**2, 3) world positions


def cloth_grid(size: float) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) centred at the origin, triangles (F, 3)) of a flat square sheet `size` metres wide."""
    axis = np.linspace(-size / 2, size / 2, CLOTH_GRID)
    xs, ys = np.meshgrid(axis, axis)
    verts = np.stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)], 1)
    faces = []
    for j in range(CLOTH_GRID - 1):
        for i in range(CLOTH_GRID - 1):
            a = j * CLOTH_GRID + i
            faces += [(a, a + 1, a + CLOTH_GRID + 1), (a, a + CLOTH_GRID + 1, a + CLOTH_GRID)]
    return verts, np.asarray(faces)


def frame_parts(sheet: ObjectSpec) -> list[tuple[tuple[float, float, float], tuple[float, float, float]]]:
    """The frame that holds a sheet up, as boxes (centre, half extents) in world coordinates: a leg from the floor
    to each corner and a bar under each edge, just below the rim the sheet is anchored at (a trampoline does not
    float). Rendered and collided alike: objects that bounce off the sheet hit them."""
    x, y, z = sheet.position
    half, r = sheet.size / 2, max(0.02, 0.015 * sheet.size)
    top = z - r - 0.01  # the bars' centre: their top just under the anchored rim
    legs = [((x + sx * half, y + sy * half, top / 2), (r, r, top / 2)) for sx in (-1, 1) for sy in (-1, 1)]
    bars = [((x + sx * half, y, top), (r, half + r, r)) for sx in (-1, 1)] + [((x, y + sy * half, top), (half + r, r, r)) for sy in (-1, 1)]
    return legs + bars


def _load_cloth(spec_obj, client: int) -> int:
    """A mass-spring sheet at the object's position, every rim vertex anchored in place."""
    verts, faces = cloth_grid(spec_obj.size)
    with tempfile.TemporaryDirectory() as tmp:  # pybullet loads soft bodies from files only
        path = os.path.join(tmp, "cloth.obj")
        with open(path, "w") as fh:
            fh.writelines(f"v {x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in verts)
            fh.writelines(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in faces)
        cloth = pb.loadSoftBody(
            path,
            basePosition=list(spec_obj.position),
            scale=1.0,
            mass=0.5,
            useNeoHookean=0,
            useBendingSprings=1,
            useMassSpring=1,
            springElasticStiffness=500,
            springDampingStiffness=4.0,
            springBendingStiffness=5,
            useSelfCollision=0,
            frictionCoeff=0.5,
            useFaceContact=1,
            collisionMargin=0.02,
            physicsClientId=client,
        )
    for k in range(CLOTH_GRID * CLOTH_GRID):
        j, i = divmod(k, CLOTH_GRID)
        if i in (0, CLOTH_GRID - 1) or j in (0, CLOTH_GRID - 1):
            pb.createSoftBodyAnchor(cloth, k, -1, -1, physicsClientId=client)
    return cloth


def _cloth_vertices(cloth: int, client: int) -> np.ndarray:
    return np.asarray(pb.getMeshData(cloth, -1, flags=pb.MESH_DATA_SIMULATION_MESH, physicsClientId=client)[1])


def start_position(obj: ObjectSpec, verts: np.ndarray, below: float = 0.0) -> list[float]:
    """Where an object starts: its spec position, with things that stand (static, resting, sliding on the floor;
    held: on top of the object below, whose highest point is `below`) lowered or raised so their lowest vertex rests
    on it."""
    pos = list(obj.position)
    if obj.motion in ("static", "rest", "slide", "held"):
        rot = np.array(pb.getMatrixFromQuaternion(obj.orientation)).reshape(3, 3)
        pos[2] = float(-(np.asarray(verts) @ rot.T)[:, 2].min()) + 1e-3 + (below if obj.motion == "held" else 0.0)
    return pos


def start_positions(spec: SceneSpec, vertices: list[np.ndarray]) -> list[list[float]]:
    """Every object's `start_position`; a held object stands on the top of the one listed before it."""
    out: list[list[float]] = []
    top = 0.0
    for obj, verts in zip(spec.objects, vertices):
        if obj.asset["kind"] == "cloth":  # its vertices are simulated, not placed
            out.append(list(obj.position))
            continue
        out.append(start_position(obj, verts, top))
        rot = np.array(pb.getMatrixFromQuaternion(obj.orientation)).reshape(3, 3)
        top = out[-1][2] + float((np.asarray(verts) @ rot.T)[:, 2].max())
    return out


def simulate(spec: SceneSpec, vertices: list[np.ndarray], without: frozenset[int] = frozenset()) -> np.ndarray:
    """The poses of `simulate_motion` (scenes without a cloth)."""
    return simulate_motion(spec, vertices, without).poses


def simulate_motion(spec: SceneSpec, vertices: list[np.ndarray], without: frozenset[int] = frozenset()) -> Motion:
    """Return poses (frames, objects, 7): position xyz then quaternion xyzw, one row per frame (a cloth's row stays
    at the origin: its vertices are world positions), and the cloth's vertices per frame.

    `vertices[i]` is object i's mesh in its local frame (centred, scaled to its spec size). Objects whose ids are
    in `without` are left out of the simulation (the world as it would be without them; their rows keep their
    start pose): the target of a scene where removing an object changes how the others move.
    """
    client = pb.connect(pb.DIRECT)
    cloth_spec = next((o for o in spec.objects if o.asset["kind"] == "cloth"), None)
    hz = CLOTH_HZ if cloth_spec is not None else SIM_HZ
    try:
        if cloth_spec is not None:
            pb.resetSimulation(pb.RESET_USE_DEFORMABLE_WORLD, physicsClientId=client)
        pb.setGravity(0, 0, -9.81, physicsClientId=client)
        pb.setTimeStep(1.0 / hz, physicsClientId=client)
        floor = pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=client)
        pb.createMultiBody(0, floor, physicsClientId=client)
        for wall in spec.walls:
            box = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[0.05, 8.0, 4.0], physicsClientId=client)
            x, y, _ = wall["position"]
            yaw = math.radians(wall["yaw_deg"])
            pb.createMultiBody(
                0, box, basePosition=[x, y, 4.0], baseOrientation=pb.getQuaternionFromEuler([0, 0, yaw]), physicsClientId=client
            )
        cloth = None
        if cloth_spec is not None:
            cloth = _load_cloth(cloth_spec, client)
            for centre, extents in frame_parts(cloth_spec):
                box = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=list(extents), physicsClientId=client)
                pb.createMultiBody(0, box, basePosition=list(centre), physicsClientId=client)
            for _ in range(int(CLOTH_SETTLE_S * hz)):  # the sheet sags under its weight before the clip starts
                pb.stepSimulation(physicsClientId=client)
        bodies = []
        for obj, verts, pos in zip(spec.objects, vertices, start_positions(spec, vertices)):
            if obj.id in without or obj.asset["kind"] == "cloth":
                bodies.append(None)
                continue
            shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=np.asarray(verts, dtype=float).tolist(), physicsClientId=client)
            # static objects stay put and others bounce off them; resting ones (scenery) can be knocked over
            mass = {"static": 0.0, "rest": 0.3}.get(obj.motion, obj.mass)
            body = pb.createMultiBody(mass, shape, basePosition=pos, baseOrientation=obj.orientation, physicsClientId=client)
            pb.changeDynamics(body, -1, lateralFriction=obj.friction, restitution=obj.restitution, physicsClientId=client)
            pb.resetBaseVelocity(body, obj.linear_velocity, obj.angular_velocity, physicsClientId=client)
            bodies.append(body)
        steps = max(1, round(hz / spec.fps))
        poses = np.zeros((spec.frames, len(bodies), 7), dtype=np.float64)
        for i, obj in enumerate(spec.objects):
            if obj.asset["kind"] == "cloth":
                poses[:, i, 6] = 1.0
            else:
                poses[:, i, :3], poses[:, i, 3:] = obj.position, obj.orientation
        track = np.zeros((spec.frames, CLOTH_GRID * CLOTH_GRID, 3)) if cloth is not None else None
        for t in range(spec.frames):
            if t:
                for _ in range(steps):
                    pb.stepSimulation(physicsClientId=client)
            for i, body in enumerate(bodies):
                if body is None:
                    continue
                p, q = pb.getBasePositionAndOrientation(body, physicsClientId=client)
                poses[t, i, :3], poses[t, i, 3:] = p, q
            if cloth is not None:
                track[t] = _cloth_vertices(cloth, client)
        return Motion(poses, track)
    finally:
        pb.disconnect(client)


def unsettled_share(spec: SceneSpec, motion: Motion) -> float:
    """How far the scenery moves from where it starts, as the largest share of its own size: a rigid thing's shift
    plus the arc its half-size turns through, a cloth's farthest vertex. 0 for a scene at rest."""
    worst = 0.0
    for i, obj in enumerate(spec.objects):
        if obj.role != "scenery":
            continue
        if obj.asset["kind"] == "cloth":
            if motion.cloth is not None:
                worst = max(worst, float(np.linalg.norm(motion.cloth - motion.cloth[:1], axis=-1).max()) / obj.size)
            continue
        shift = np.linalg.norm(motion.poses[:, i, :3] - motion.poses[:1, i, :3], axis=-1)
        turn = 2 * np.arccos(np.clip(np.abs(motion.poses[:, i, 3:] @ motion.poses[0, i, 3:]), 0.0, 1.0))
        worst = max(worst, float((shift + turn * obj.size / 2).max()) / obj.size)
    return worst


def start_penetration(spec: SceneSpec, vertices: list[np.ndarray]) -> float:
    """The deepest interpenetration (m) of any two objects at their start poses as pybullet's own closest-points
    query reports it for their convex hulls (each placed where the spec starts it, nothing simulated), 0 when none
    touch: objects started inside each other burst apart, in the target too."""
    client = pb.connect(pb.DIRECT)
    try:
        bodies = []
        for obj, verts, pos in zip(spec.objects, vertices, start_positions(spec, vertices)):
            if obj.asset["kind"] == "cloth":
                continue
            shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=np.asarray(verts, float).tolist(), physicsClientId=client)
            bodies.append(pb.createMultiBody(1.0, shape, basePosition=pos, baseOrientation=obj.orientation, physicsClientId=client))
        deepest = 0.0
        for a in range(len(bodies)):
            for b in range(a + 1, len(bodies)):
                for point in pb.getClosestPoints(bodies[a], bodies[b], 0.0, physicsClientId=client):
                    deepest = max(deepest, -point[8])
        return deepest
    finally:
        pb.disconnect(client)
