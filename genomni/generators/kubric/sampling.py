"""Scene sampling: a scene description (`spec.SceneSpec`) as a pure function of (run seed, scene index, attempt,
config): assets and their looks, non-overlapping starts in view, floor, light matched to the world, camera, walls,
and the scenario's arrangement (standard, similar, push, deform)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .assets import AssetRef, catalog
from .config import KubricConfig
from .spec import CameraSpec, ObjectSpec, SceneSpec, camera_uv, floor_point
from .surroundings import jitter_color, sample_camera, sample_floor, sample_light, sample_walls

# Named colours (sRGB) so captions can say what the renderer shows.
COLORS = {
    "red": (0.80, 0.10, 0.10),
    "orange": (0.90, 0.45, 0.10),
    "yellow": (0.90, 0.80, 0.15),
    "green": (0.20, 0.65, 0.20),
    "teal": (0.10, 0.55, 0.55),
    "blue": (0.15, 0.30, 0.85),
    "purple": (0.50, 0.20, 0.70),
    "pink": (0.90, 0.45, 0.65),
    "white": (0.90, 0.90, 0.90),
    "gray": (0.50, 0.50, 0.50),
    "black": (0.08, 0.08, 0.08),
    "brown": (0.45, 0.28, 0.15),
}
FINISHES = ("matte", "glossy", "metallic")
SCENE_RADIUS = 2.2  # objects start within this distance of the origin (metres)


def _random_quat(rng: np.random.Generator) -> tuple[float, float, float, float]:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    return tuple(float(v) for v in q)


def _yaw_quat(yaw: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


PATTERNS = ("checker", "stripes", "spots", "mottled")
# Things that stand still on a flat base when left at rest (a sphere or a random blob would roll off by itself).
STANDING = ("cube", "cylinder", "cone", "domino", "jenga", "mug", "tray")
SHAPE_FACTOR = 0.6  # projected area / (projected longest side)^2 of a typical object (sphere 0.79, thin blob 0.3)


def object_size_for_area(area: float, distance: float, focal_length: float) -> float:
    """The longest side (m) that makes an object at `distance` cover `area` of a square frame on a 36 mm sensor."""
    return math.sqrt(area / SHAPE_FACTOR) * distance * 36.0 / focal_length


def _pick_asset(assets: dict[str, list[AssetRef]], rng: np.random.Generator) -> tuple[str, AssetRef]:
    """A source, then an asset; within pybullet_data the named meshes come up as often as the 1000 random shapes."""
    sources = sorted(assets)
    src = sources[int(rng.integers(len(sources)))]
    pool = assets[src]
    if src == "pybullet":
        named = [a for a in pool if not a.name.startswith("shape")]
        shapes = [a for a in pool if a.name.startswith("shape")]
        pool = named if named and (not shapes or rng.random() < 0.5) else shapes
    return src, pool[int(rng.integers(len(pool)))]


def _sample_pattern(ref: AssetRef, rng: np.random.Generator) -> tuple[str, float]:
    """(pattern, scale): a file's own texture for 80% of textured files; otherwise a two-colour procedural pattern
    for 70% of objects (its second colour: `_second_color`), plain for the rest."""
    if ref.textured and rng.random() < 0.8:
        return "image", 1.0
    if rng.random() < 0.3:
        return "plain", 1.0
    return PATTERNS[int(rng.integers(len(PATTERNS)))], float(rng.uniform(2.0, 6.0))


def _second_color(first: str, rng: np.random.Generator) -> str:
    """A second pattern colour other than the first."""
    others = [c for c in COLORS if c != first]
    return others[int(rng.integers(len(others)))]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


@dataclass
class _Look:
    """What an object looks like; instances of the similar-objects scenario share one."""

    src: str
    ref: AssetRef
    color_name: str
    finish: str
    roughness: float
    pattern: str
    color2_name: str
    pattern_scale: float


def _sample_look(assets: dict[str, list[AssetRef]], rng: np.random.Generator) -> _Look:
    src, ref = _pick_asset(assets, rng)
    name = list(COLORS)[int(rng.integers(len(COLORS)))]
    finish = FINISHES[int(rng.integers(len(FINISHES)))]
    rough = {"matte": rng.uniform(0.5, 1.0), "glossy": rng.uniform(0.05, 0.3), "metallic": rng.uniform(0.1, 0.45)}[finish]
    pattern, scale = _sample_pattern(ref, rng)
    name2 = _second_color(name, rng) if pattern in PATTERNS else ""
    return _Look(src, ref, name, finish, float(rough), pattern, name2, scale)


class _Placer:
    """Non-overlapping starts (rejection sampling on the floor) for objects of a given on-screen area: in a disc, or
    (`in_view`) under a random point of the middle 60% of the first frame, its start and its landing spot inside
    the frame, so objects spread over the picture rather than hide behind each other or fall out of it."""

    def __init__(
        self,
        camera: CameraSpec,
        centre: tuple[float, float] = (0.0, 0.0),
        radius: float = SCENE_RADIUS,
        in_view: bool = False,
        aspect: float = 1.0,
    ):
        self.camera, self.centre, self.radius, self.in_view, self.aspect = camera, np.asarray(centre), radius, in_view, aspect
        self.cam = np.array(camera.position(0.0))
        self.placed: list[tuple[np.ndarray, float]] = []

    def _xy(self, rng: np.random.Generator, height: float) -> np.ndarray:
        if self.in_view:  # under a point in the middle of the frame
            hit = floor_point(self.camera, *rng.uniform(0.2, 0.8, size=2), self.aspect, height)
            if hit is not None:
                return hit[:2]
        return self.centre + rng.uniform(-self.radius, self.radius, size=2)

    def _framed(self, pos: np.ndarray, radius: float) -> bool:
        """The start and where it lands (straight below, resting) both project well inside the frame."""
        for point in (pos, np.array([pos[0], pos[1], radius])):
            uv = camera_uv(self.camera, point, self.aspect)
            if uv is None or not (0.08 < uv[0] < 0.92 and 0.08 < uv[1] < 0.92):
                return False
        return True

    def place(self, rng: np.random.Generator, area: float, motion: str) -> tuple[np.ndarray, float]:
        for _ in range(100):
            lift = {"static": 0.0, "rest": 0.0, "drop": rng.uniform(1.2, 2.5), "throw": rng.uniform(0.6, 1.4)}[motion]
            xy = self._xy(rng, 0.0)
            size = object_size_for_area(area, float(np.linalg.norm(self.cam - np.array([*xy, 0.5]))), self.camera.focal_length)
            radius = size * 0.75
            pos = np.array([xy[0], xy[1], max(lift, radius + 0.05)])  # never starts inside the floor
            framed = not self.in_view or self._framed(pos, radius)
            if framed and all(np.linalg.norm(pos[:2] - p[:2]) > radius + r for p, r in self.placed):
                break
        self.placed.append((pos, radius))
        return pos, size


def _make_object(
    oid: int,
    look: _Look,
    rng: np.random.Generator,
    pos: np.ndarray,
    size: float,
    area: float,
    motion: str,
    role: str = "object",
    toward: np.ndarray | None = None,
    speed: tuple[float, float] = (1.0, 2.5),
) -> ObjectSpec:
    """An object spec at `pos` with the motion's start orientation and velocities (a throw aims at `toward`)."""
    if motion in ("static", "rest"):
        orient = _yaw_quat(float(rng.uniform(0, 2 * math.pi)))
        lin, ang = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    elif motion == "drop":
        orient = _random_quat(rng)
        lin, ang = (0.0, 0.0, 0.0), tuple(float(v) for v in rng.normal(0, 1.0, 3))
    else:
        orient = _random_quat(rng)
        aim = (np.zeros(2) if toward is None else toward[:2]) - pos[:2]
        aim = aim / (np.linalg.norm(aim) + 1e-6)
        v = rng.uniform(*speed)
        lin = (float(aim[0] * v), float(aim[1] * v), float(rng.uniform(0.5, 2.0)))
        ang = tuple(float(v) for v in rng.normal(0, 3.0, 3))
    return ObjectSpec(
        id=oid,
        asset={"kind": look.ref.kind, "name": look.ref.name, "ref": look.ref.ref, "source": look.src},
        size=float(size),
        color_name=look.color_name,
        color=jitter_color(COLORS[look.color_name], rng),
        finish=look.finish,
        roughness=look.roughness,
        motion=motion,
        position=tuple(float(v) for v in pos),
        orientation=orient,
        linear_velocity=lin,
        angular_velocity=ang,
        friction=float(rng.uniform(0.3, 0.9)),
        restitution=float(rng.uniform(0.05, 0.5)),
        pattern=look.pattern,
        color2_name=look.color2_name,
        color2=jitter_color(COLORS[look.color2_name], rng) if look.color2_name else (0.0, 0.0, 0.0),
        pattern_scale=look.pattern_scale,
        area=area,
        role=role,
    )


def _sample_objects(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[ObjectSpec]:
    """Standard scenes: --min-objects..--max-objects objects whose on-screen area is log-uniform in --object-area
    (the size follows from each object's distance to the camera), placed without overlapping, each with its own
    look and motion."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    placer = _Placer(camera, in_view=True, aspect=cfg.width / cfg.height)
    objects = []
    for i in range(int(rng.integers(cfg.min_objects, cfg.max_objects + 1))):
        look = _sample_look(assets, rng)
        area = _log_uniform(rng, cfg.min_object_area, cfg.max_object_area)
        motion = cfg.motions[int(rng.integers(len(cfg.motions)))]
        pos, size = placer.place(rng, area, motion)
        objects.append(_make_object(i + 1, look, rng, pos, size, area, motion))
    return objects


def _sample_similar(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> tuple[list[ObjectSpec], list[list[int]]]:
    """Similar objects (the paper's 'many similar objects' failure case): 5-12 instances of one mesh and material,
    each covering a share of the frame small enough for all to fit, dropped or resting; one extra sample removes one
    instance, another a random subset of 2 to half of them, the rest kept."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    n = int(rng.integers(5, 13))
    look = _sample_look(assets, rng)
    hi = max(cfg.min_object_area, min(cfg.max_object_area, 0.25 / n))
    area = _log_uniform(rng, cfg.min_object_area * 0.5, hi) if hi > cfg.min_object_area * 0.5 else hi
    placer = _Placer(camera, in_view=True, aspect=cfg.width / cfg.height)
    motions = [m for m in cfg.motions if m != "throw"] or ["drop"]  # a crowd of throws scatters out of view
    objects = []
    for i in range(n):
        motion = motions[int(rng.integers(len(motions)))]
        pos, size = placer.place(rng, area, motion)
        objects.append(_make_object(i + 1, look, rng, pos, size, area, motion))
    ids = [o.id for o in objects]
    one = [int(rng.choice(ids))]
    some = sorted(int(i) for i in rng.choice(ids, size=int(rng.integers(2, n // 2 + 1)), replace=False))
    return objects, [one, some]


def _sample_push(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[ObjectSpec]:
    """Pushes: 3-8 small things resting together (scenery: part of the background, trimask 128) and one object
    sliding into them at 2-3.5 m/s, started so that it reaches them within the first 15-45% of the clip; knocking
    them over is its effect."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    centre = rng.uniform(-0.8, 0.8, size=2)
    look = _sample_look(assets, rng)
    area = _log_uniform(rng, max(cfg.min_object_area, 0.02), max(cfg.max_object_area, 0.02))
    angle = rng.uniform(0, 2 * math.pi)
    speed = float(rng.uniform(2.0, 3.5))
    reach = speed * rng.uniform(0.15, 0.45) * cfg.frames / cfg.fps  # metres covered before it reaches them
    start = np.array([*centre, 0.0])
    size = object_size_for_area(area, float(np.linalg.norm(np.array(camera.position(0.0)) - start)), camera.focal_length)
    distance = float(np.clip(reach + 0.75 * size + 0.4, 0.6 + 0.75 * size, 2.5 + 0.75 * size))
    start[:2] = centre + distance * np.array([math.cos(angle), math.sin(angle)])
    start[2] = 0.75 * size + 0.02
    pusher = _make_object(1, look, rng, start, size, area, "throw", toward=np.array([*centre, 0.0]), speed=(speed, speed))
    pusher.linear_velocity = (*pusher.linear_velocity[:2], 0.0)  # it slides or rolls along the floor
    pusher.angular_velocity = (0.0, 0.0, 0.0)
    n = int(rng.integers(3, 9))
    small = _log_uniform(rng, 0.003, 0.015)
    typical = object_size_for_area(small, float(np.linalg.norm(np.array(camera.position(0.0)) - start)), camera.focal_length)
    placer = _Placer(camera, centre=tuple(centre), radius=0.3 + 0.6 * math.sqrt(n) * typical)  # room for all to stand apart
    placer.placed.append((start, size * 0.75))
    standing = {src: [a for a in pool if a.name in STANDING] for src, pool in assets.items()}
    scenery_look = _sample_look({src: pool for src, pool in standing.items() if pool} or assets, rng)
    scenery = []
    for i in range(n):
        pos, s = placer.place(rng, small, "rest")
        scenery.append(_make_object(i + 2, scenery_look, rng, pos, s, small, "rest", role="scenery"))
    return [pusher, *scenery]


def _sample_deform(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[ObjectSpec]:
    """Deformation (the paper's 'physical deformation' failure case): a patterned sheet held at its rim 0.5-0.8 m
    above the floor (a trampoline; scenery, trimask 128) and 1-2 objects dropped onto it; the dent and the sheet's
    swing are their effect, the target the sheet simulated without them (`physics.py`)."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    centre = rng.uniform(-0.5, 0.5, size=2)
    side = float(rng.uniform(1.8, 2.6))
    height = float(rng.uniform(0.5, 0.8))
    cam = np.array(camera.position(0.0))
    objects = []
    for i in range(int(rng.integers(1, min(2, cfg.max_objects) + 1))):
        look = _sample_look(assets, rng)
        area = _log_uniform(rng, cfg.min_object_area, cfg.max_object_area)
        xy = centre + rng.uniform(-0.25 * side, 0.25 * side, size=2)
        pos = np.array([xy[0], xy[1], height + rng.uniform(0.8, 1.6) + 0.6 * i])
        size = min(object_size_for_area(area, float(np.linalg.norm(cam - pos)), camera.focal_length), 0.35 * side)
        objects.append(_make_object(i + 1, look, rng, pos, size, area, "drop"))
        objects[-1].mass = float(rng.uniform(2.0, 4.0))  # heavy enough to dent the sheet visibly
    first = list(COLORS)[int(rng.integers(len(COLORS)))]
    sheet = _Look(
        "cloth",
        AssetRef("cloth", "trampoline"),
        first,
        "matte",
        float(rng.uniform(0.6, 0.9)),
        PATTERNS[int(rng.integers(len(PATTERNS)))],
        _second_color(first, rng),
        float(rng.uniform(4.0, 8.0)),
    )
    cloth = _make_object(len(objects) + 1, sheet, rng, np.array([*centre, height]), side, 0.0, "rest", role="scenery")
    cloth.orientation = (0.0, 0.0, 0.0, 1.0)
    return [*objects, cloth]


def sample_scene(cfg: KubricConfig, index: int, attempt: int = 0) -> SceneSpec:
    """Sample scene `index` of a run; `attempt` > 0 resamples a scene that failed QC."""
    rng = np.random.default_rng([cfg.seed, index, attempt])
    camera = sample_camera(cfg, rng)
    scenario = cfg.scenarios[int(rng.choice(len(cfg.scenarios), p=np.asarray(cfg.scenario_weights) / sum(cfg.scenario_weights)))]
    removals: list[list[int]] = []
    if scenario == "similar":
        objects, removals = _sample_similar(cfg, rng, camera)
    elif scenario == "push":
        objects = _sample_push(cfg, rng, camera)
    elif scenario == "deform":
        objects = _sample_deform(cfg, rng, camera)
    else:
        objects = _sample_objects(cfg, rng, camera)
    floor = sample_floor(cfg, rng)
    light = sample_light(cfg, rng)
    walls = sample_walls(cfg, rng, camera)
    return SceneSpec(
        run_seed=cfg.seed,
        index=index,
        attempt=attempt,
        frames=cfg.frames,
        fps=cfg.fps,
        height=cfg.height,
        width=cfg.width,
        objects=objects,
        floor=floor,
        walls=walls,
        light=light,
        camera=camera,
        scenario=scenario,
        removals=removals,
    )
