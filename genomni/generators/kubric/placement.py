"""What a kubric scene's objects look like and where they start: named colours, finishes and patterns, sizes for an
on-screen area, non-overlapping starts in view (`Placer`), and an object's spec from its look and motion. Shared by
the scene families (`sampling`: standard, similar; `interactions`: push, deform, stack)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import GenomniError
from .assets import AssetRef
from .spec import CameraSpec, ObjectSpec, camera_uv, floor_point
from .surroundings import jitter_color

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


def random_quat(rng: np.random.Generator) -> tuple[float, float, float, float]:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    return tuple(float(v) for v in q)


def yaw_quat(yaw: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


PATTERNS = ("checker", "stripes", "spots", "mottled")
# Things that stand still on a flat base when left at rest (a sphere or a random blob would roll off by itself).
STANDING = ("cube", "cylinder", "cone", "domino", "jenga", "mug", "tray")
SHAPE_FACTOR = 0.6  # projected area / (projected longest side)^2 of a typical object (sphere 0.79, thin blob 0.3)


def object_size_for_area(area: float, distance: float, focal_length: float) -> float:
    """The longest side (m) that makes an object at `distance` cover `area` of a square frame on a 36 mm sensor."""
    return math.sqrt(area / SHAPE_FACTOR) * distance * 36.0 / focal_length


def pick_asset(assets: dict[str, list[AssetRef]], rng: np.random.Generator) -> tuple[str, AssetRef]:
    """A source, then an asset; within pybullet_data the named meshes come up as often as the 1000 random shapes."""
    sources = sorted(assets)
    src = sources[int(rng.integers(len(sources)))]
    pool = assets[src]
    if src == "pybullet":
        named = [a for a in pool if not a.name.startswith("shape")]
        shapes = [a for a in pool if a.name.startswith("shape")]
        pool = named if named and (not shapes or rng.random() < 0.5) else shapes
    return src, pool[int(rng.integers(len(pool)))]


def sample_pattern(ref: AssetRef, rng: np.random.Generator) -> tuple[str, float]:
    """(pattern, scale): a file's own texture for 80% of textured files; otherwise a two-colour procedural pattern
    for 70% of objects (its second colour: `second_color`), plain for the rest."""
    if ref.textured and rng.random() < 0.8:
        return "image", 1.0
    if rng.random() < 0.3:
        return "plain", 1.0
    return PATTERNS[int(rng.integers(len(PATTERNS)))], float(rng.uniform(2.0, 6.0))


def second_color(first: str, rng: np.random.Generator) -> str:
    """A second pattern colour other than the first."""
    others = [c for c in COLORS if c != first]
    return others[int(rng.integers(len(others)))]


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


@dataclass
class Look:
    """What an object looks like; instances of the similar-objects scenario share one."""

    src: str
    ref: AssetRef
    color_name: str
    finish: str
    roughness: float
    pattern: str
    color2_name: str
    pattern_scale: float


def sample_look(assets: dict[str, list[AssetRef]], rng: np.random.Generator) -> Look:
    src, ref = pick_asset(assets, rng)
    name = list(COLORS)[int(rng.integers(len(COLORS)))]
    finish = FINISHES[int(rng.integers(len(FINISHES)))]
    rough = {"matte": rng.uniform(0.5, 1.0), "glossy": rng.uniform(0.05, 0.3), "metallic": rng.uniform(0.1, 0.45)}[finish]
    pattern, scale = sample_pattern(ref, rng)
    name2 = second_color(name, rng) if pattern in PATTERNS else ""
    return Look(src, ref, name, finish, float(rough), pattern, name2, scale)


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


class Placer:
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


def floor_aim(pos: np.ndarray, toward: np.ndarray | None) -> np.ndarray:
    """The unit floor direction from `pos` to `toward` (the origin when None)."""
    aim = (np.zeros(2) if toward is None else toward[:2]) - pos[:2]
    return aim / (np.linalg.norm(aim) + 1e-6)


def make_object(
    oid: int,
    look: Look,
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
    if motion in ("static", "rest", "held"):
        orient = yaw_quat(float(rng.uniform(0, 2 * math.pi)))
        lin, ang = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    elif motion == "slide":  # upright on the floor, moving along it toward `toward`
        orient = yaw_quat(float(rng.uniform(0, 2 * math.pi)))
        aim, v = floor_aim(pos, toward), rng.uniform(*speed)
        lin, ang = (float(aim[0] * v), float(aim[1] * v), 0.0), (0.0, 0.0, 0.0)
    elif motion == "drop":
        orient = random_quat(rng)
        lin, ang = (0.0, 0.0, 0.0), tuple(float(v) for v in rng.normal(0, 1.0, 3))
    else:
        orient = random_quat(rng)
        aim, v = floor_aim(pos, toward), rng.uniform(*speed)
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
