"""Scene sampling: a scene description (`spec.SceneSpec`) as a pure function of (run seed, scene index, attempt,
config): assets and their looks, non-overlapping starts in view, floor, light matched to the world, camera, walls,
and the scenario's arrangement (standard, similar, push, deform)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import GenomniError
from .assets import AssetRef, catalog
from .config import KubricConfig
from .spec import CameraSpec, ObjectSpec, SceneSpec, camera_uv, floor_point
from .surroundings import jitter_color, light_clear_of_walls, sample_camera, sample_floor, sample_light, sample_walls

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


PLACE_TRIES = 100  # candidate spots per object before the scene attempt is given up (and resampled)


class PlacementError(GenomniError):
    """No spot keeps an object apart from the others (and in view): the scene attempt is resampled, never started
    with objects inside each other (they burst apart in the simulation, in the target too) or out of the frame."""


def in_frame(camera: CameraSpec, point: np.ndarray, area: float, aspect: float) -> bool:
    """Whether a world point projects inside the first frame with room for an object of on-screen `area` around it:
    at least 0.6 sqrt(area) of the frame from each edge (a square of that area is sqrt(area) wide; the rest is room
    to tumble)."""
    room = 0.02 + 0.6 * math.sqrt(area)
    uv = camera_uv(camera, point, aspect)
    return uv is not None and room < uv[0] < 1 - room and room < uv[1] < 1 - room


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

    def _framed(self, pos: np.ndarray, radius: float, area: float) -> bool:
        """The start and where it lands (straight below, resting) both `in_frame`."""
        return all(in_frame(self.camera, point, area, self.aspect) for point in (pos, np.array([pos[0], pos[1], radius])))

    def place(self, rng: np.random.Generator, area: float, motion: str) -> tuple[np.ndarray, float]:
        for _ in range(PLACE_TRIES):
            lift = {"static": 0.0, "rest": 0.0, "drop": rng.uniform(1.2, 2.5), "throw": rng.uniform(0.6, 1.4)}[motion]
            xy = self._xy(rng, 0.0)
            size = object_size_for_area(area, float(np.linalg.norm(self.cam - np.array([*xy, 0.5]))), self.camera.focal_length)
            radius = size * 0.75
            pos = np.array([xy[0], xy[1], max(lift, radius + 0.05)])  # never starts inside the floor
            framed = not self.in_view or self._framed(pos, radius, area)
            if framed and all(np.linalg.norm(pos[:2] - p[:2]) > radius + r for p, r in self.placed):
                self.placed.append((pos, radius))
                return pos, size
        raise PlacementError(f"no free spot in view for object {len(self.placed) + 1} after {PLACE_TRIES} tries")


def _aim(pos: np.ndarray, toward: np.ndarray | None) -> np.ndarray:
    """The unit floor direction from `pos` to `toward` (the origin when None)."""
    aim = (np.zeros(2) if toward is None else toward[:2]) - pos[:2]
    return aim / (np.linalg.norm(aim) + 1e-6)


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
    elif motion == "slide":  # upright on the floor, moving along it toward `toward`
        orient = _yaw_quat(float(rng.uniform(0, 2 * math.pi)))
        aim, v = _aim(pos, toward), rng.uniform(*speed)
        lin, ang = (float(aim[0] * v), float(aim[1] * v), 0.0), (0.0, 0.0, 0.0)
    elif motion == "drop":
        orient = _random_quat(rng)
        lin, ang = (0.0, 0.0, 0.0), tuple(float(v) for v in rng.normal(0, 1.0, 3))
    else:
        orient = _random_quat(rng)
        aim, v = _aim(pos, toward), rng.uniform(*speed)
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
    """Pushes: 3-8 small things standing apart on a tight hexagonal cluster (scenery: part of the background,
    trimask 128; apart, so without the pusher they stay at rest) and one object 1.2-2x their size standing on
    the floor and sliding straight at the cluster's centre from a start short of the first thing in its way
    (its and their bounding discs apart) by what it covers in 2-20% of the clip (at most 0.4 m), launched so
    that it meets them at 2-3.5 m/s whatever its friction: it hits early in the clip; its start is in view (else another direction is
    tried, then the attempt is resampled: `PlacementError`). Knocking them over is its effect."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    centre = rng.uniform(-0.8, 0.8, size=2)
    look = _sample_look(assets, rng)
    cam = np.array(camera.position(0.0))

    def size_at(a: float, xy: np.ndarray) -> float:
        return object_size_for_area(a, float(np.linalg.norm(cam - np.array([*xy, 0.0]))), camera.focal_length)

    n = int(rng.integers(3, 9))
    small = _log_uniform(rng, 0.003, 0.015)
    area = small * float(rng.uniform(1.5, 4.0))  # the pusher: 1.2-2x their size
    speed = float(rng.uniform(2.0, 3.5))
    gap = min(0.4, speed * float(rng.uniform(0.02, 0.2)) * cfg.frames / cfg.fps)  # reached in the clip's first fifth
    turn, jitter = rng.uniform(0, 2 * math.pi), rng.uniform(-0.05, 0.05, size=(n, 2))
    spacing = 1.5 * size_at(small, centre) * 1.15
    for _ in range(3):  # sizes follow each spot's distance to the camera: space the cluster for its largest
        spots = _cluster(centre, n, spacing, turn, jitter)
        spacing = 1.5 * max(size_at(small, xy) for xy in spots) * 1.15
    spots = _cluster(centre, n, spacing, turn, jitter)
    sizes = [size_at(small, xy) for xy in spots]
    size = size_at(area, centre)
    for angle in rng.uniform(0, 2 * math.pi, size=12):
        way = np.array([math.cos(angle), math.sin(angle)])
        clear = _first_contact(centre, way, spots, [0.75 * s for s in sizes], 0.75 * size)  # bounding discs touch
        start = np.array([*(centre + (clear + gap) * way), 0.75 * size + 0.02])
        if in_frame(camera, start, area, cfg.width / cfg.height):
            break
    else:
        raise PlacementError("no direction from which the pusher starts in view")
    pusher = _make_object(1, look, rng, start, size, area, "slide", toward=np.array([*centre, 0.0]), speed=(speed, speed))
    # it meets them at `speed`: friction's loss over the longest way to a contact (half-size discs) is given back
    reach = clear + gap - _first_contact(centre, way, spots, [0.5 * s for s in sizes], 0.5 * size)
    launch = math.sqrt(speed**2 + 2 * SLIDE_DECELERATION * pusher.friction * reach)
    pusher.linear_velocity = (pusher.linear_velocity[0] * launch / speed, pusher.linear_velocity[1] * launch / speed, 0.0)
    standing = {src: [a for a in pool if a.name in STANDING] for src, pool in assets.items()}
    scenery_look = _sample_look({src: pool for src, pool in standing.items() if pool} or assets, rng)
    scenery = []
    for i, (xy, s) in enumerate(zip(spots, sizes)):
        pos = np.array([xy[0], xy[1], 0.75 * s + 0.05])
        scenery.append(_make_object(i + 2, scenery_look, rng, pos, s, small, "rest", role="scenery"))
    return [pusher, *scenery]


SLIDE_DECELERATION = 1.15 * 0.5 * 9.81  # m/s^2 per unit of an object's friction: pybullet multiplies it by the floor's 0.5


def _first_contact(centre: np.ndarray, way: np.ndarray, spots: list[np.ndarray], radii: list[float], radius: float) -> float:
    """How far from `centre` along `way` (a unit floor vector) an object of `radius` coming in along -`way` first
    touches one of the discs (`spots`, `radii`): where its path passes closer than the sum of the radii."""
    first = 0.0
    for xy, r in zip(spots, radii):
        along = float((xy - centre) @ way)
        across = float(np.linalg.norm(xy - centre - along * way))
        if across < radius + r:
            first = max(first, along + math.sqrt((radius + r) ** 2 - across**2))
    return first


def _cluster(centre: np.ndarray, n: int, spacing: float, turn: float, jitter: np.ndarray) -> list[np.ndarray]:
    """n floor spots packed around `centre` on a hexagonal grid of `spacing`, turned by `turn` radians, each moved
    by its `jitter` row (fractions of the spacing, at most 0.05): as close as things can stand without touching,
    so what is aimed at the centre hits them."""
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    k = int(math.ceil(math.sqrt(n))) + 1
    grid = [np.array([a + 0.5 * b, b * math.sqrt(3) / 2]) for a in range(-k, k + 1) for b in range(-k, k + 1)]
    grid.sort(key=lambda p: (float(np.linalg.norm(p)), float(math.atan2(p[1], p[0]))))
    return [centre + spacing * (rot @ p + d) for p, d in zip(grid[:n], jitter)]


def _sample_deform(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[ObjectSpec]:
    """Deformation (the paper's 'physical deformation' failure case): a patterned sheet held at its rim 0.5-0.8 m
    above the floor (a trampoline; scenery, trimask 128) and 1-2 objects dropped onto it; the dent and the sheet's
    swing are their effect, the target the sheet simulated without them (`physics.py`)."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    centre = rng.uniform(-0.5, 0.5, size=2)
    side = float(rng.uniform(1.8, 2.6))
    height = float(rng.uniform(0.5, 0.8))
    cam = np.array(camera.position(0.0))
    # the longest fall that lands within the first third of the clip (at most 1.6 m): a short clip still shows the dent
    drop = min(1.6, 0.5 * 9.81 * (cfg.frames / cfg.fps / 3) ** 2)
    objects = []
    for i in range(int(rng.integers(1, min(2, cfg.max_objects) + 1))):
        look = _sample_look(assets, rng)
        area = _log_uniform(rng, cfg.min_object_area, cfg.max_object_area)
        xy = centre + rng.uniform(-0.25 * side, 0.25 * side, size=2)
        fall = rng.uniform(0.5, 1.0) * drop
        size = min(object_size_for_area(area, float(np.linalg.norm(cam - np.array([*xy, height]))), camera.focal_length), 0.35 * side)
        z = height + 0.75 * size + 0.02 + fall  # its bounding sphere clear of the sheet, then the fall
        if objects:  # the second above the first, clear of it: never started inside it
            z = max(z, objects[-1].position[2] + 0.75 * (objects[-1].size + size) + 0.02)
        pos = np.array([xy[0], xy[1], z])
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


def sample_placed(cfg: KubricConfig, index: int, attempt: int = 0, tries: int = 64) -> SceneSpec:
    """The first attempt from `attempt` on whose objects can be placed (`PlacementError` skips one), as the
    generator's own resampling would reach it; for looking at scenes without generating them."""
    for k in range(attempt, attempt + tries):
        try:
            return sample_scene(cfg, index, k)
        except PlacementError:
            continue
    raise PlacementError(f"scene {index}: no attempt in {tries} could place its objects")


def sample_scene(cfg: KubricConfig, index: int, attempt: int = 0) -> SceneSpec:
    """Sample scene `index` of a run; `attempt` > 0 resamples a scene that failed QC. Raises `PlacementError` when
    the attempt's objects cannot all be placed apart and in view."""
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
    light = light_clear_of_walls(cfg, light, walls)
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
