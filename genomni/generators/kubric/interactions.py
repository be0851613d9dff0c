"""Scene families where removing an object changes how other things move (VOID's interactions): push (an object
knocks resting things over), deform (objects dropped on a sheet held at its rim), stack (an object holds others
up; without it they fall). Their targets are the scenery simulated without the removed objects (VOID's pass B)."""

from __future__ import annotations

import math

import numpy as np

from .assets import AssetRef, catalog
from .config import KubricConfig
from .placement import (
    COLORS,
    PATTERNS,
    STANDING,
    Look,
    PlacementError,
    Placer,
    in_frame,
    log_uniform,
    make_object,
    object_size_for_area,
    sample_look,
    second_color,
)
from .spec import CameraSpec, ObjectSpec


def sample_push(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[ObjectSpec]:
    """Pushes: 3-8 small things standing apart on a tight hexagonal cluster (scenery: part of the background,
    trimask 128; apart, so without the pusher they stay at rest) and one object 1.2-2x their size standing on
    the floor and sliding straight at the cluster's centre from a start short of the first thing in its way
    (its and their bounding discs apart) by what it covers in 2-20% of the clip (at most 0.4 m), launched so
    that it meets them at 2-3.5 m/s whatever its friction: it hits early in the clip; its start is in view (else another direction is
    tried, then the attempt is resampled: `PlacementError`). Knocking them over is its effect."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    centre = rng.uniform(-0.8, 0.8, size=2)
    look = sample_look(assets, rng)
    cam = np.array(camera.position(0.0))

    def size_at(a: float, xy: np.ndarray) -> float:
        return object_size_for_area(a, float(np.linalg.norm(cam - np.array([*xy, 0.0]))), camera.focal_length)

    n = int(rng.integers(3, 9))
    small = log_uniform(rng, 0.003, 0.015)
    area = small * float(rng.uniform(1.5, 4.0))  # the pusher: 1.2-2x their size
    speed = float(rng.uniform(2.0, 3.5))
    gap = min(0.4, speed * float(rng.uniform(0.02, 0.2)) * cfg.frames / cfg.fps)  # reached in the clip's first fifth
    turn, jitter = rng.uniform(0, 2 * math.pi), rng.uniform(-0.05, 0.05, size=(n, 2))
    spacing = 1.5 * size_at(small, centre) * 1.15
    for _ in range(3):  # sizes follow each spot's distance to the camera: space the cluster for its largest
        spots = cluster(centre, n, spacing, turn, jitter)
        spacing = 1.5 * max(size_at(small, xy) for xy in spots) * 1.15
    spots = cluster(centre, n, spacing, turn, jitter)
    sizes = [size_at(small, xy) for xy in spots]
    size = size_at(area, centre)
    for angle in rng.uniform(0, 2 * math.pi, size=12):
        way = np.array([math.cos(angle), math.sin(angle)])
        clear = first_contact(centre, way, spots, [0.75 * s for s in sizes], 0.75 * size)  # bounding discs touch
        start = np.array([*(centre + (clear + gap) * way), 0.75 * size + 0.02])
        if in_frame(camera, start, area, cfg.width / cfg.height):
            break
    else:
        raise PlacementError("no direction from which the pusher starts in view")
    pusher = make_object(1, look, rng, start, size, area, "slide", toward=np.array([*centre, 0.0]), speed=(speed, speed))
    # it meets them at `speed`: friction's loss over the longest way to a contact (half-size discs) is given back
    reach = clear + gap - first_contact(centre, way, spots, [0.5 * s for s in sizes], 0.5 * size)
    launch = math.sqrt(speed**2 + 2 * SLIDE_DECELERATION * pusher.friction * reach)
    pusher.linear_velocity = (pusher.linear_velocity[0] * launch / speed, pusher.linear_velocity[1] * launch / speed, 0.0)
    standing = {src: [a for a in pool if a.name in STANDING] for src, pool in assets.items()}
    scenery_look = sample_look({src: pool for src, pool in standing.items() if pool} or assets, rng)
    scenery = []
    for i, (xy, s) in enumerate(zip(spots, sizes)):
        pos = np.array([xy[0], xy[1], 0.75 * s + 0.05])
        scenery.append(make_object(i + 2, scenery_look, rng, pos, s, small, "rest", role="scenery"))
    return [pusher, *scenery]


SLIDE_DECELERATION = 1.15 * 0.5 * 9.81  # m/s^2 per unit of an object's friction: pybullet multiplies it by the floor's 0.5


def first_contact(centre: np.ndarray, way: np.ndarray, spots: list[np.ndarray], radii: list[float], radius: float) -> float:
    """How far from `centre` along `way` (a unit floor vector) an object of `radius` coming in along -`way` first
    touches one of the discs (`spots`, `radii`): where its path passes closer than the sum of the radii."""
    first = 0.0
    for xy, r in zip(spots, radii):
        along = float((xy - centre) @ way)
        across = float(np.linalg.norm(xy - centre - along * way))
        if across < radius + r:
            first = max(first, along + math.sqrt((radius + r) ** 2 - across**2))
    return first


def cluster(centre: np.ndarray, n: int, spacing: float, turn: float, jitter: np.ndarray) -> list[np.ndarray]:
    """n floor spots packed around `centre` on a hexagonal grid of `spacing`, turned by `turn` radians, each moved
    by its `jitter` row (fractions of the spacing, at most 0.05): as close as things can stand without touching,
    so what is aimed at the centre hits them."""
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    k = int(math.ceil(math.sqrt(n))) + 1
    grid = [np.array([a + 0.5 * b, b * math.sqrt(3) / 2]) for a in range(-k, k + 1) for b in range(-k, k + 1)]
    grid.sort(key=lambda p: (float(np.linalg.norm(p)), float(math.atan2(p[1], p[0]))))
    return [centre + spacing * (rot @ p + d) for p, d in zip(grid[:n], jitter)]


def sample_deform(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[ObjectSpec]:
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
        look = sample_look(assets, rng)
        area = log_uniform(rng, cfg.min_object_area, cfg.max_object_area)
        xy = centre + rng.uniform(-0.25 * side, 0.25 * side, size=2)
        fall = rng.uniform(0.5, 1.0) * drop
        size = min(object_size_for_area(area, float(np.linalg.norm(cam - np.array([*xy, height]))), camera.focal_length), 0.35 * side)
        z = height + 0.75 * size + 0.02 + fall  # its bounding sphere clear of the sheet, then the fall
        if objects:  # the second above the first, clear of it: never started inside it
            z = max(z, objects[-1].position[2] + 0.75 * (objects[-1].size + size) + 0.02)
        pos = np.array([xy[0], xy[1], z])
        objects.append(make_object(i + 1, look, rng, pos, size, area, "drop"))
        objects[-1].mass = float(rng.uniform(2.0, 4.0))  # heavy enough to dent the sheet visibly
    first = list(COLORS)[int(rng.integers(len(COLORS)))]
    sheet = Look(
        "cloth",
        AssetRef("cloth", "trampoline"),
        first,
        "matte",
        float(rng.uniform(0.6, 0.9)),
        PATTERNS[int(rng.integers(len(PATTERNS)))],
        second_color(first, rng),
        float(rng.uniform(4.0, 8.0)),
    )
    cloth = make_object(len(objects) + 1, sheet, rng, np.array([*centre, height]), side, 0.0, "rest", role="scenery")
    cloth.orientation = (0.0, 0.0, 0.0, 1.0)
    return [*objects, cloth]


STACKABLE = ("cube", "cylinder", "mug")  # flat-bottomed things that stand on each other (a tray stands on its edge)


def sample_stack(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[ObjectSpec]:
    """A stack (VOID's "an object holding others up"): a box standing on the floor (the removed object) and 1-2
    standing things on it, each 0.5-0.85x the size of the one below and centred on it within a tenth of that size
    (scenery, trimask 128: `held` in the spec, so the simulation stands each on the top of the one before); and,
    in half of the scenes, a bystander resting on the floor apart from the stack. With the box the stack stands
    still; without it what it held falls to the floor: that fall is its effect. The box's start is in view
    (`Placer`); a stack that cannot be placed raises `PlacementError`."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    placer = Placer(camera, in_view=True, aspect=cfg.width / cfg.height)
    box_look = sample_look({"primitives": [AssetRef("primitive", "cube")]}, rng)
    area = log_uniform(rng, max(cfg.min_object_area, 0.02), max(cfg.max_object_area, 0.02))
    pos, size = placer.place(rng, area, "static")
    objects = [make_object(1, box_look, rng, pos, size, area, "static")]
    flat = {src: [a for a in pool if a.name in STACKABLE] for src, pool in assets.items()}
    pool = {src: p for src, p in flat.items() if p} or {"primitives": [AssetRef("primitive", "cube")]}
    below, below_size = pos, size
    for k in range(int(rng.integers(1, 3))):
        held_size = below_size * float(rng.uniform(0.5, 0.85))
        xy = below[:2] + rng.uniform(-0.1, 0.1, size=2) * below_size
        held = np.array([xy[0], xy[1], 0.0])  # z: `physics.start_positions` stands it on the one below
        objects.append(
            make_object(k + 2, sample_look(pool, rng), rng, held, held_size, area * (held_size / size) ** 2, "held", role="scenery")
        )
        objects[-1].mass = float(rng.uniform(0.3, 1.0))
        below, below_size = held, held_size
    placer.placed[-1] = (pos, 0.75 * size * 2.0)  # the fall spreads what was held around the box
    if rng.random() < 0.5:
        small = area * float(rng.uniform(0.3, 0.8))
        spot, s = placer.place(rng, small, "rest")
        objects.append(make_object(len(objects) + 1, sample_look(pool, rng), rng, spot, s, small, "rest", role="scenery"))
    return objects
