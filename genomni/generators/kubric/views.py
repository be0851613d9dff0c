"""What the camera sees of a built scene at its simulated poses, measured before anything is rendered: how much of
each object leaves the frame, how much of each is visible, how far things move in the image, and each object's effect
box (the pixels it and its shadows and reflections can change), which lets target passes render only there."""

from __future__ import annotations

import math

import numpy as np

from .blender import BlenderRenderer
from .spec import SceneSpec


def out_of_frame(r: BlenderRenderer, spec: SceneSpec, poses: np.ndarray, which: list[int] | None = None) -> float:
    """The largest share of any object's projected area (the convex hull of its mesh) that lies outside the frame in
    any frame, checked before rendering; 1.0 when an object is behind the camera. `which`: the objects (indices)
    checked, by default the removable ones (scenery need not stay)."""
    import cv2

    frame = np.array([[0, 0], [spec.width, 0], [spec.width, spec.height], [0, spec.height]], np.float32)
    worst = 0.0
    for t in range(spec.frames):
        r.place(spec, poses, t)
        r.bpy.context.view_layer.update()
        for i in r.removable if which is None else which:
            px = r.project(spec, posed(poses, i, t, r.local_vertices[i]))
            if (px[:, 2] <= 0).any():
                return 1.0
            hull = cv2.convexHull(px[:, :2].astype(np.float32))
            area = cv2.contourArea(hull)
            inside, _ = cv2.intersectConvexConvex(hull, frame)
            worst = max(worst, 1.0 - inside / area if area > 0 else 1.0)
    return worst


def visible_estimate(r: BlenderRenderer, spec: SceneSpec, poses: np.ndarray) -> list[int]:
    """Each object's fewest visible pixels over the clip, estimated from the poses before anything is rendered:
    the convex hull of its projected mesh, minus the hulls of objects nearer the camera (painter's order).

    Hulls cover holes and concavities, so an object seen through another's hole counts as hidden and a mug counts
    its opening; scenes this estimate rejects are not rendered, the rendered count still decides the rest."""
    import cv2

    fewest = [spec.height * spec.width] * len(r.objects)
    for t in range(spec.frames):
        r.place(spec, poses, t)
        r.bpy.context.view_layer.update()
        hulls = []
        for i, verts in enumerate(r.local_vertices):
            if i == r.cloth:  # a sheet under the objects: not an occluder here
                hulls.append((float("inf"), None))
                continue
            px = r.project(spec, posed(poses, i, t, verts))
            if (px[:, 2] <= 0).any():
                hulls.append((float("inf"), None))
                continue
            hull = cv2.convexHull(np.round(px[:, :2] * 4).astype(np.int32))  # 2 bits of sub-pixel precision
            hulls.append((float(np.linalg.norm(np.asarray(r.camera.location) - poses[t, i, :3])), hull))
        covered = np.zeros((spec.height, spec.width), bool)
        for i in sorted(range(len(hulls)), key=lambda k: hulls[k][0]):
            mask = np.zeros((spec.height, spec.width), np.uint8)
            if hulls[i][1] is not None:
                cv2.fillConvexPoly(mask, hulls[i][1], 1, lineType=cv2.LINE_8, shift=2)
            own = mask.astype(bool)
            fewest[i] = min(fewest[i], int((own & ~covered).sum()))
            covered |= own
    return fewest


def posed(poses: np.ndarray, i: int, t: int, local: np.ndarray) -> np.ndarray:
    """(N, 3) points in object i's own frame placed where its pose at frame t puts them."""
    from mathutils import Quaternion

    x, y, z, w = poses[t, i, 3:]
    return local @ np.array(Quaternion((w, x, y, z)).to_matrix()).T + poses[t, i, :3]


def corners(r: BlenderRenderer, poses: np.ndarray, i: int, t: int) -> np.ndarray:
    """(8, 3) world positions of object i's bounding-box corners at frame t."""
    lo, hi = r.local_bounds[i]
    local = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
    return posed(poses, i, t, local)


def corners_px(r: BlenderRenderer, spec: SceneSpec, poses: np.ndarray, i: int, t: int) -> np.ndarray:
    """(8, 2) pixel positions of object i's bounding-box corners at frame t (after `_place(spec, poses, t)`)."""
    return r.project(spec, corners(r, poses, i, t))[:, :2]


def motion_px(r: BlenderRenderer, spec: SceneSpec, poses: np.ndarray, against: np.ndarray | None = None) -> float:
    """The farthest any object's bounding-box corner moves in the image from the first frame, in pixels (an
    object turning in place moves its corners too); with `against` (poses simulated without the removed
    objects), the farthest a scenery object's corner lies from where it is in `against` at the same frame.
    Checked on the simulated poses, before rendering."""
    worst = 0.0
    first: dict[int, np.ndarray] = {}
    others = sorted(r.scenery) if against is not None else range(len(spec.objects))
    for t in range(spec.frames):
        r.place(spec, poses, t)
        r.bpy.context.view_layer.update()
        for i in others:
            px = corners_px(r, spec, poses, i, t)
            ref = corners_px(r, spec, against, i, t) if against is not None else first.setdefault(i, px)
            worst = max(worst, float(np.hypot(*(px - ref).T).max()))
    return worst


def cloth_px(r: BlenderRenderer, spec: SceneSpec, cloth: np.ndarray, against: np.ndarray) -> float:
    """The farthest a cloth vertex lies in the image from where it is in `against` (the cloth simulated without
    the removed objects) at the same frame, in pixels."""
    worst = 0.0
    for t in range(spec.frames):
        r.aim_camera(spec, t)
        r.bpy.context.view_layer.update()
        a, b = r.project(spec, cloth[t])[:, :2], r.project(spec, against[t])[:, :2]
        worst = max(worst, float(np.hypot(*(a - b).T).max()))
    return worst


def effect_box(r: BlenderRenderer, spec: SceneSpec, poses: np.ndarray, i: int, t: int) -> tuple[int, int, int, int] | None:
    """Pixel box (row0, row1, col0, col1) that holds object i and every effect it can have at frame t.

    The box covers the projections of the object's bounding box, its shadow on the floor along
    the sun and each point light (shadows on walls lie between the two), and its mirror image in
    the floor, plus a margin for contact shadows and bounce light. None means "the whole frame".
    Called after `_place(spec, poses, t)`.
    """
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    world = corners(r, poses, i, t)
    pts = [world, world * np.array([1.0, 1.0, -1.0])]
    li = spec.light
    el, az = math.radians(li.sun_elevation), math.radians(li.sun_azimuth)
    to_sun = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    pts.append(world - to_sun[None] * (np.maximum(world[:, 2], 0.0) / to_sun[2])[:, None])
    for extra in li.extra_lights:
        lp = np.asarray(extra["position"], dtype=float)
        if lp[2] <= world[:, 2].max() + 0.05:
            return None  # a light below the object's top throws shadows to the horizon
        pts.append(lp + (world - lp) * (lp[2] / (lp[2] - world[:, 2]))[:, None])
    scene = r.bpy.context.scene
    proj = np.array([tuple(world_to_camera_view(scene, r.camera, Vector(p))) for p in np.concatenate(pts)])
    if (proj[:, 2] <= 0).any():
        return None
    x0, x1 = proj[:, 0].min(), proj[:, 0].max()
    y0, y1 = proj[:, 1].min(), proj[:, 1].max()
    margin_x = 0.25 * (x1 - x0) + 6.0 / spec.width
    margin_y = 0.25 * (y1 - y0) + 6.0 / spec.height
    c0 = max(0, math.floor((x0 - margin_x) * spec.width))
    c1 = min(spec.width, math.ceil((x1 + margin_x) * spec.width))
    r0 = max(0, math.floor((1.0 - y1 - margin_y) * spec.height))
    r1 = min(spec.height, math.ceil((1.0 - y0 + margin_y) * spec.height))
    if c1 <= c0 or r1 <= r0:
        return (0, 0, 0, 0)  # entirely out of view: nothing to render
    if (c1 - c0) * (r1 - r0) > 0.7 * spec.width * spec.height:
        return None
    return (r0, r1, c0, c1)
