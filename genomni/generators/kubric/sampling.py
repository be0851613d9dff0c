"""Scene sampling: a scene description (`spec.SceneSpec`) as a pure function of (run seed, scene index, attempt,
config): assets and their looks, non-overlapping starts in view, floor, light matched to the world, camera, walls,
and the scenario's arrangement (standard, similar here; push, deform, stack in `interactions`)."""

from __future__ import annotations

import numpy as np

from .assets import catalog
from .config import KubricConfig
from .interactions import sample_deform, sample_push, sample_stack
from .placement import PlacementError, Placer, log_uniform, make_object, sample_look
from .spec import CameraSpec, ObjectSpec, SceneSpec
from .surroundings import light_clear_of_walls, sample_camera, sample_floor, sample_light, sample_walls

__all__ = ["PlacementError", "sample_placed", "sample_scene"]


def _sample_objects(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[ObjectSpec]:
    """Standard scenes: --min-objects..--max-objects objects whose on-screen area is log-uniform in --object-area
    (the size follows from each object's distance to the camera), placed without overlapping, each with its own
    look and motion."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    placer = Placer(camera, in_view=True, aspect=cfg.width / cfg.height)
    objects = []
    for i in range(int(rng.integers(cfg.min_objects, cfg.max_objects + 1))):
        look = sample_look(assets, rng)
        area = log_uniform(rng, cfg.min_object_area, cfg.max_object_area)
        motion = cfg.motions[int(rng.integers(len(cfg.motions)))]
        pos, size = placer.place(rng, area, motion)
        objects.append(make_object(i + 1, look, rng, pos, size, area, motion))
    return objects


def _sample_similar(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> tuple[list[ObjectSpec], list[list[int]]]:
    """Similar objects (the paper's 'many similar objects' failure case): 5-12 instances of one mesh and material,
    each covering a share of the frame small enough for all to fit, dropped or resting; one extra sample removes one
    instance, another a random subset of 2 to half of them, the rest kept."""
    assets = catalog(cfg.object_sources, cfg.asset_files, cfg.assets_dir)
    n = int(rng.integers(5, 13))
    look = sample_look(assets, rng)
    hi = max(cfg.min_object_area, min(cfg.max_object_area, 0.25 / n))
    area = log_uniform(rng, cfg.min_object_area * 0.5, hi) if hi > cfg.min_object_area * 0.5 else hi
    placer = Placer(camera, in_view=True, aspect=cfg.width / cfg.height)
    motions = [m for m in cfg.motions if m != "throw"] or ["drop"]  # a crowd of throws scatters out of view
    objects = []
    for i in range(n):
        motion = motions[int(rng.integers(len(motions)))]
        pos, size = placer.place(rng, area, motion)
        objects.append(make_object(i + 1, look, rng, pos, size, area, motion))
    ids = [o.id for o in objects]
    one = [int(rng.choice(ids))]
    some = sorted(int(i) for i in rng.choice(ids, size=int(rng.integers(2, n // 2 + 1)), replace=False))
    return objects, [one, some]


def sample_placed(cfg: KubricConfig, index: int, attempt: int = 0, tries: int = 64) -> SceneSpec:
    """The first attempt from `attempt` on whose objects can be placed (`PlacementError` skips one), as the
    generator's own resampling would reach it; for looking at scenes without generating them."""
    for k in range(attempt, attempt + tries):
        try:
            return sample_scene(cfg, index, k)
        except PlacementError:
            continue
    raise PlacementError(f"scene {index}: no attempt in {tries} could place its objects")


def scenario_of(cfg: KubricConfig, index: int) -> str:
    """Scene `index`'s scenario, drawn by the --scenario weights from (seed, index) alone: a scene resampled after a
    failed attempt keeps it, so the weights are the mix a run makes (drawn per attempt, scenarios that fail more
    often, push and deform, were replaced by the others: 1:1:0.5 stack/push/deform gave 78:30:12 of 120)."""
    rng = np.random.default_rng([cfg.seed, index, 2**31])
    return cfg.scenarios[int(rng.choice(len(cfg.scenarios), p=np.asarray(cfg.scenario_weights) / sum(cfg.scenario_weights)))]


def sample_scene(cfg: KubricConfig, index: int, attempt: int = 0) -> SceneSpec:
    """Sample scene `index` of a run; `attempt` > 0 resamples a scene that failed QC. Raises `PlacementError` when
    the attempt's objects cannot all be placed apart and in view."""
    rng = np.random.default_rng([cfg.seed, index, attempt])
    camera = sample_camera(cfg, rng)
    # the attempt's own draw is still made, so runs of one scenario keep their scenes; the scenario is the scene's
    rng.choice(len(cfg.scenarios), p=np.asarray(cfg.scenario_weights) / sum(cfg.scenario_weights))
    scenario = scenario_of(cfg, index)
    removals: list[list[int]] = []
    if scenario == "similar":
        objects, removals = _sample_similar(cfg, rng, camera)
    elif scenario == "push":
        objects = sample_push(cfg, rng, camera)
    elif scenario == "deform":
        objects = sample_deform(cfg, rng, camera)
    elif scenario == "stack":
        objects = sample_stack(cfg, rng, camera)
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
