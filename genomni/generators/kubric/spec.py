"""Scene descriptions: everything the simulator, the renderer and the truth layers need to know about a scene
(assets, sizes, materials, motion, floor, walls, lights, world, camera) in plain JSON-able values, recorded in
each sample's meta. `sampling.sample_scene` draws them; nothing here is random."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Finish = Literal["matte", "glossy", "metallic"]
# rest: scenery placed on the floor, free to be pushed; slide: placed on the floor, moving at its start velocity;
# held: standing on the object listed just before it (a stack), its position's z ignored
MotionKind = Literal["drop", "throw", "static", "rest", "slide", "held"]
Pattern = Literal["plain", "checker", "stripes", "spots", "mottled", "image"]
Role = Literal["object", "scenery"]


@dataclass
class ObjectSpec:
    id: int  # 1-based instance id (the Object Index pass value)
    asset: dict[str, str]
    size: float  # longest bounding-box side after normalisation (m)
    color_name: str
    color: tuple[float, float, float]
    finish: Finish
    roughness: float
    motion: MotionKind
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]  # quaternion x, y, z, w (pybullet order)
    linear_velocity: tuple[float, float, float]
    angular_velocity: tuple[float, float, float]
    friction: float
    restitution: float
    pattern: Pattern = "plain"  # checker, stripes, spots, mottled: procedural, two colours; image: its own texture
    color2_name: str = ""
    color2: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pattern_scale: float = 1.0  # pattern repeats per object size
    area: float = 0.0  # the on-screen area (fraction of the frame) its size was chosen for
    role: Role = "object"  # object: in the instance map, removable; scenery: background things it may push
    mass: float = 1.0  # kg, for objects that move (static ones do not)


@dataclass
class FloorSpec:
    kind: str
    colors: list[tuple[float, float, float]]
    texture_scale: float
    roughness: float
    metallic: float
    glossy: bool


@dataclass
class LightSpec:
    sun_elevation: float  # degrees above the horizon
    sun_azimuth: float  # degrees
    sun_angle: float  # angular diameter (degrees): softness of shadows
    sun_strength: float
    world: Literal["sky", "hdri"]
    world_strength: float
    hdri: str = ""
    hdri_rotation: float = 0.0
    hdri_clamp: float = 0.0  # lighting rays see the map clamped at this radiance (0 = unclamped); see hdri.py
    sun_from_hdri: bool = False  # the sun lamp stands where the map's own sun is
    sun_color: tuple[float, float, float] = (1.0, 1.0, 1.0)  # linear RGB of the lamp (a map's sun colour)
    extra_lights: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CameraSpec:
    distance: float
    elevation: float  # degrees
    azimuth: float  # degrees at the first frame
    azimuth_sweep: float  # degrees turned over the clip (0 = static camera)
    focal_length: float  # mm on a 36 mm sensor
    target: tuple[float, float, float]

    @property
    def moving(self) -> bool:
        return self.azimuth_sweep != 0.0

    def position(self, t: float) -> tuple[float, float, float]:
        """Camera position at clip fraction t in [0, 1] (an orbit around the target)."""
        az = math.radians(self.azimuth + self.azimuth_sweep * t)
        el = math.radians(self.elevation)
        tx, ty, tz = self.target
        return (
            tx + self.distance * math.cos(el) * math.cos(az),
            ty + self.distance * math.cos(el) * math.sin(az),
            tz + self.distance * math.sin(el),
        )


@dataclass
class SceneSpec:
    run_seed: int
    index: int
    attempt: int
    frames: int
    fps: float
    height: int
    width: int
    objects: list[ObjectSpec]
    floor: FloorSpec
    walls: list[dict[str, Any]]
    light: LightSpec
    camera: CameraSpec
    scenario: str = "standard"
    removals: list[list[int]] = field(default_factory=list)  # similar: the ids removed by each extra sample

    @property
    def object_ids(self) -> list[int]:
        """Ids of the removable objects (in the instance map and the trimask), scenery left out."""
        return [o.id for o in self.objects if o.role == "object"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _camera_frame(camera: CameraSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(position, forward, right, up) of the camera at its first frame (it looks at its target, z up)."""
    pos = np.array(camera.position(0.0))
    forward = np.asarray(camera.target) - pos
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    return pos, forward, right, np.cross(right, forward)


def _half_extents(camera: CameraSpec, aspect: float) -> tuple[float, float]:
    """Half the image plane's width and height at unit depth (Blender's sensor fit: 36 mm across the longer side)."""
    half = 18.0 / camera.focal_length
    return (half, half / aspect) if aspect >= 1 else (half * aspect, half)


def floor_point(camera: CameraSpec, u: float, v: float, aspect: float = 1.0, height: float = 0.0) -> np.ndarray | None:
    """Where the camera's ray through image point (u, v) (0..1 from the left and the top, frame width/height =
    `aspect`) meets the plane z = `height` at its first frame, or None if it never does; Blender's sensor fit:
    36 mm across the longer side."""
    pos, forward, right, up = _camera_frame(camera)
    sx, sy = _half_extents(camera, aspect)
    d = forward + (2 * u - 1) * sx * right + (1 - 2 * v) * sy * up
    return None if d[2] >= -1e-6 or pos[2] <= height else pos + d * ((height - pos[2]) / d[2])


def camera_uv(camera: CameraSpec, point: np.ndarray, aspect: float = 1.0) -> tuple[float, float] | None:
    """Image point (0..1 from the left and the top) of a world point at the camera's first frame (the inverse of
    `floor_point`), or None behind the camera."""
    pos, forward, right, up = _camera_frame(camera)
    rel = np.asarray(point, float) - pos
    depth = float(rel @ forward)
    if depth <= 1e-6:
        return None
    sx, sy = _half_extents(camera, aspect)
    return (float(rel @ right) / depth / sx + 1) / 2, (1 - float(rel @ up) / depth / sy) / 2
