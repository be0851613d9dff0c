"""Scene descriptions and their sampling: a pure function of (run seed, scene index, attempt, config).

A SceneSpec says everything the simulator and renderer need (assets, sizes, materials, motion,
floor, walls, lights, world, camera) in plain JSON-able values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .assets import AssetRef, catalog
from .config import KubricConfig

# Named colours (sRGB) so captions can say what the renderer shows.
COLORS = {
    "red": (0.80, 0.10, 0.10), "orange": (0.90, 0.45, 0.10), "yellow": (0.90, 0.80, 0.15),
    "green": (0.20, 0.65, 0.20), "teal": (0.10, 0.55, 0.55), "blue": (0.15, 0.30, 0.85),
    "purple": (0.50, 0.20, 0.70), "pink": (0.90, 0.45, 0.65), "white": (0.90, 0.90, 0.90),
    "gray": (0.50, 0.50, 0.50), "black": (0.08, 0.08, 0.08), "brown": (0.45, 0.28, 0.15),
}
FINISHES = ("matte", "glossy", "metallic")
SCENE_RADIUS = 2.2  # objects start within this distance of the origin (metres)


@dataclass
class ObjectSpec:
    id: int  # 1-based instance id (the Object Index pass value)
    asset: dict[str, str]
    size: float  # longest bounding-box side after normalisation (m)
    color_name: str
    color: tuple[float, float, float]
    finish: str
    roughness: float
    motion: str
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]  # quaternion x, y, z, w (pybullet order)
    linear_velocity: tuple[float, float, float]
    angular_velocity: tuple[float, float, float]
    friction: float
    restitution: float


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
    world: str  # "sky" | "hdri"
    world_strength: float
    hdri: str = ""
    hdri_rotation: float = 0.0
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
        return (tx + self.distance * math.cos(el) * math.cos(az),
                ty + self.distance * math.cos(el) * math.sin(az),
                tz + self.distance * math.sin(el))


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _random_quat(rng: np.random.Generator) -> tuple[float, float, float, float]:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    return tuple(float(v) for v in q)


def _yaw_quat(yaw: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


def _jitter(rgb: tuple[float, float, float], rng: np.random.Generator, amount: float = 0.05) -> tuple[float, float, float]:
    return tuple(float(np.clip(c + rng.uniform(-amount, amount), 0.0, 1.0)) for c in rgb)


def _sample_objects(cfg: KubricConfig, rng: np.random.Generator) -> list[ObjectSpec]:
    assets = catalog(cfg.object_sources, cfg.asset_files)
    sources = sorted(assets)
    n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    objects: list[ObjectSpec] = []
    placed: list[tuple[np.ndarray, float]] = []
    for i in range(n):
        src = sources[int(rng.integers(len(sources)))]
        ref: AssetRef = assets[src][int(rng.integers(len(assets[src])))]
        size = float(rng.uniform(0.7, 1.5))
        motion = cfg.motions[int(rng.integers(len(cfg.motions)))]
        radius = size * 0.75
        for _ in range(100):  # rejection sampling for non-overlapping starts
            xy = rng.uniform(-SCENE_RADIUS, SCENE_RADIUS, size=2)
            z = {"static": radius, "drop": rng.uniform(1.2, 2.5), "throw": rng.uniform(0.6, 1.4)}[motion]
            z = max(z, radius + 0.05)  # a thrown object never starts inside the floor
            pos = np.array([xy[0], xy[1], z])
            if all(np.linalg.norm(pos - p) > radius + r for p, r in placed):
                break
        placed.append((pos, radius))
        if motion == "static":
            orient = _yaw_quat(float(rng.uniform(0, 2 * math.pi)))
            lin, ang = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
        elif motion == "drop":
            orient = _random_quat(rng)
            lin, ang = (0.0, 0.0, 0.0), tuple(float(v) for v in rng.normal(0, 1.0, 3))
        else:
            orient = _random_quat(rng)
            to_centre = -pos[:2] / (np.linalg.norm(pos[:2]) + 1e-6)
            speed = rng.uniform(1.0, 2.5)
            lin = (float(to_centre[0] * speed), float(to_centre[1] * speed), float(rng.uniform(0.5, 2.0)))
            ang = tuple(float(v) for v in rng.normal(0, 3.0, 3))
        name = list(COLORS)[int(rng.integers(len(COLORS)))]
        finish = FINISHES[int(rng.integers(len(FINISHES)))]
        rough = {"matte": rng.uniform(0.5, 1.0), "glossy": rng.uniform(0.05, 0.3), "metallic": rng.uniform(0.1, 0.45)}[finish]
        objects.append(ObjectSpec(
            id=i + 1, asset={"kind": ref.kind, "name": ref.name, "ref": ref.ref, "source": src},
            size=size, color_name=name, color=_jitter(COLORS[name], rng), finish=finish, roughness=float(rough),
            motion=motion, position=tuple(float(v) for v in pos), orientation=orient,
            linear_velocity=lin, angular_velocity=ang,
            friction=float(rng.uniform(0.3, 0.9)), restitution=float(rng.uniform(0.05, 0.5)),
        ))
    return objects


FLOOR_PALETTES = {
    "wood": [((0.45, 0.28, 0.14), (0.25, 0.14, 0.06)), ((0.65, 0.47, 0.30), (0.40, 0.26, 0.14))],
    "tiles": [((0.85, 0.85, 0.82), (0.30, 0.30, 0.30)), ((0.70, 0.35, 0.25), (0.85, 0.80, 0.70))],
    "concrete": [((0.55, 0.55, 0.53), (0.35, 0.35, 0.34))],
    "checker": [((0.85, 0.85, 0.85), (0.15, 0.15, 0.15)), ((0.80, 0.70, 0.50), (0.30, 0.35, 0.45))],
}
PLAIN_COLORS = {"gray": (0.5, 0.5, 0.5), "white": (0.82, 0.82, 0.8), "beige": (0.75, 0.68, 0.55),
                "green": (0.35, 0.5, 0.3), "blue": (0.35, 0.45, 0.6), "brown": (0.45, 0.33, 0.22)}


def _sample_floor(cfg: KubricConfig, rng: np.random.Generator) -> FloorSpec:
    kind = cfg.floors[int(rng.integers(len(cfg.floors)))]
    if kind == "plain":
        colors = [_jitter(list(PLAIN_COLORS.values())[int(rng.integers(len(PLAIN_COLORS)))], rng)]
    else:
        pal = FLOOR_PALETTES[kind]
        colors = [_jitter(c, rng, 0.04) for c in pal[int(rng.integers(len(pal)))]]
    glossy = bool(rng.random() < cfg.glossy_floor_prob)
    mirror = glossy and bool(rng.random() < 0.3)
    return FloorSpec(
        kind=kind, colors=colors, texture_scale=float(rng.uniform(0.5, 2.0)),
        roughness=float(rng.uniform(0.02, 0.12) if glossy else rng.uniform(0.5, 0.9)),
        metallic=0.8 if mirror else 0.0, glossy=glossy,
    )


def _sample_light(cfg: KubricConfig, rng: np.random.Generator) -> LightSpec:
    use_hdri = bool(cfg.hdri_files) and bool(rng.random() < 0.5)
    extra = []
    for _ in range(int(rng.integers(0, cfg.max_extra_lights + 1))):
        ang = rng.uniform(0, 2 * math.pi)
        r = rng.uniform(2.0, 4.0)
        extra.append({"position": (float(r * math.cos(ang)), float(r * math.sin(ang)), float(rng.uniform(2.5, 4.5))),
                      "power": float(rng.uniform(150, 500)), "radius": float(rng.uniform(0.05, 0.3))})
    return LightSpec(
        sun_elevation=float(rng.uniform(12, 70)), sun_azimuth=float(rng.uniform(0, 360)),
        sun_angle=float(rng.uniform(0.5, 5.0)), sun_strength=float(rng.uniform(1.5, 3.0)),
        world="hdri" if use_hdri else "sky", world_strength=float(rng.uniform(0.1, 0.3)),
        hdri="hdri:" + cfg.hdri_files[int(rng.integers(len(cfg.hdri_files)))] if use_hdri else "",
        hdri_rotation=float(rng.uniform(0, 360)), extra_lights=extra,
    )


def _sample_camera(cfg: KubricConfig, rng: np.random.Generator) -> CameraSpec:
    moving = bool(rng.random() < cfg.camera_motion_prob)
    return CameraSpec(
        distance=float(rng.uniform(6.5, 9.0)), elevation=float(rng.uniform(22, 45)),
        azimuth=float(rng.uniform(0, 360)),
        azimuth_sweep=float(rng.uniform(5, 20) * rng.choice([-1, 1])) if moving else 0.0,
        focal_length=float(rng.uniform(32, 42)), target=(0.0, 0.0, 0.3),
    )


def _sample_walls(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[dict[str, Any]]:
    if rng.random() >= cfg.walls_prob:
        return []
    # One wall behind the scene (opposite the camera), sometimes a second at a right angle.
    walls = []
    base = camera.azimuth + 180.0
    for k in range(int(rng.integers(1, 3))):
        az = math.radians(base + (90.0 if k else 0.0) * rng.choice([-1, 1]))
        d = float(rng.uniform(3.5, 5.0))
        walls.append({"position": (d * math.cos(az), d * math.sin(az), 0.0), "yaw_deg": math.degrees(az),
                      "color": _jitter((0.75, 0.73, 0.70), rng, 0.1)})
    return walls


def sample_scene(cfg: KubricConfig, index: int, attempt: int = 0) -> SceneSpec:
    """Sample scene `index` of a run; `attempt` > 0 resamples a scene that failed QC."""
    rng = np.random.default_rng([cfg.seed, index, attempt])
    objects = _sample_objects(cfg, rng)
    floor = _sample_floor(cfg, rng)
    light = _sample_light(cfg, rng)
    camera = _sample_camera(cfg, rng)
    walls = _sample_walls(cfg, rng, camera)
    return SceneSpec(
        run_seed=cfg.seed, index=index, attempt=attempt, frames=cfg.frames, fps=cfg.fps,
        height=cfg.height, width=cfg.width, objects=objects, floor=floor, walls=walls, light=light, camera=camera,
    )
