"""A scene's surroundings drawn at random: the floor (palette or plain colour, texture, finish), the light (a sun
matched to the sky or to an HDRI map's own sun, extra lamps), the camera (distance, elevation, orbit) and walls.
Called by `sampling.sample_scene` with its generator, so a scene stays a pure function of its seed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .config import KubricConfig
from .spec import CameraSpec, FloorSpec, LightSpec


def jitter_color(rgb: tuple[float, float, float], rng: np.random.Generator, amount: float = 0.05) -> tuple[float, float, float]:
    r, g, b = (float(np.clip(c + rng.uniform(-amount, amount), 0.0, 1.0)) for c in rgb)
    return r, g, b


FLOOR_PALETTES = {
    "wood": [((0.45, 0.28, 0.14), (0.25, 0.14, 0.06)), ((0.65, 0.47, 0.30), (0.40, 0.26, 0.14))],
    "tiles": [((0.85, 0.85, 0.82), (0.30, 0.30, 0.30)), ((0.70, 0.35, 0.25), (0.85, 0.80, 0.70))],
    "concrete": [((0.55, 0.55, 0.53), (0.35, 0.35, 0.34))],
    "checker": [((0.85, 0.85, 0.85), (0.15, 0.15, 0.15)), ((0.80, 0.70, 0.50), (0.30, 0.35, 0.45))],
}


PLAIN_COLORS = {
    "gray": (0.5, 0.5, 0.5),
    "white": (0.82, 0.82, 0.8),
    "beige": (0.75, 0.68, 0.55),
    "green": (0.35, 0.5, 0.3),
    "blue": (0.35, 0.45, 0.6),
    "brown": (0.45, 0.33, 0.22),
}


def sample_floor(cfg: KubricConfig, rng: np.random.Generator) -> FloorSpec:
    kind = cfg.floors[int(rng.integers(len(cfg.floors)))]
    if kind == "plain":
        colors = [jitter_color(list(PLAIN_COLORS.values())[int(rng.integers(len(PLAIN_COLORS)))], rng)]
    else:
        pal = FLOOR_PALETTES[kind]
        colors = [jitter_color(c, rng, 0.04) for c in pal[int(rng.integers(len(pal)))]]
    glossy = bool(rng.random() < cfg.glossy_floor_prob)
    mirror = glossy and bool(rng.random() < 0.3)
    return FloorSpec(
        kind=kind,
        colors=colors,
        texture_scale=float(rng.uniform(0.5, 2.0)),
        roughness=float(rng.uniform(0.02, 0.12) if glossy else rng.uniform(0.5, 0.9)),
        metallic=0.8 if mirror else 0.0,
        glossy=glossy,
    )


SUN_ELEVATION = (12.0, 70.0)  # degrees: a lower sun throws shadows to the horizon, a higher one hides them
SUN_STRENGTH = (1.5, 3.0)  # the lamp under the sky; under a map this draw only varies the map's own ratio
SUN_STRENGTH_MID = sum(SUN_STRENGTH) / 2


def sample_light(cfg: KubricConfig, rng: np.random.Generator) -> LightSpec:
    """One sun lamp, and an HDRI world with probability --hdri-prob, else Cycles' Nishita sky; draws in a fixed
    order. Under a map the lamp is the map's sun (see `hdri.py`): its elevation (moved into 12-70 degrees), its
    colour and its strength relative to the clamped map's light; the map is turned so its light lies at the
    lamp's azimuth. Under the sky the lamp stands at a sampled elevation, which the sky's own sun follows, in that
    sun's colour (`sky_sun`: orange low, pale yellow high)."""
    use_hdri = bool(cfg.hdri_files) and bool(rng.random() < cfg.hdri_prob)
    extra = []
    for _ in range(int(rng.integers(0, cfg.max_extra_lights + 1))):
        ang = rng.uniform(0, 2 * math.pi)
        r = rng.uniform(2.0, 4.0)
        extra.append(
            {
                "position": (float(r * math.cos(ang)), float(r * math.sin(ang)), float(rng.uniform(2.5, 4.5))),
                "power": float(rng.uniform(150, 500)),
                "radius": float(rng.uniform(0.05, 0.3)),
            }
        )
    elevation, azimuth = float(rng.uniform(*SUN_ELEVATION)), float(rng.uniform(0, 360))
    sun_angle, sun_strength = float(rng.uniform(0.5, 5.0)), float(rng.uniform(*SUN_STRENGTH))
    ambient = float(rng.uniform(0.1, 0.3))  # the sky's strength, or the clamped map's mean radiance
    hdri = cfg.hdri_files[int(rng.integers(len(cfg.hdri_files)))] if cfg.hdri_files else ""
    if not use_hdri:
        from .sky_sun import sky_sun_color

        return LightSpec(
            sun_elevation=elevation,
            sun_azimuth=azimuth,
            sun_angle=sun_angle,
            sun_strength=sun_strength,
            sun_color=sky_sun_color(elevation),
            world="sky",
            world_strength=ambient,
            extra_lights=extra,
        )
    from .assets import resolve
    from .hdri import hdri_stats, rotation_for, sun_elevation_for, sun_strength_for

    stats = hdri_stats(str(resolve(hdri, cfg.assets_dir, cfg.hdri_dir)))
    from_map = sun_elevation_for(stats, SUN_ELEVATION)
    elevation = elevation if from_map is None else from_map
    return LightSpec(
        sun_elevation=elevation,
        sun_azimuth=azimuth,
        sun_angle=sun_angle,
        sun_strength=sun_strength_for(stats, ambient / stats.mean, elevation, jitter=sun_strength / SUN_STRENGTH_MID),
        sun_color=stats.sun_color,
        world="hdri",
        world_strength=ambient / stats.mean,
        hdri=hdri,
        hdri_rotation=rotation_for(stats, azimuth),
        hdri_clamp=stats.clamp,
        sun_from_hdri=from_map is not None,
        extra_lights=extra,
    )


def sample_camera(cfg: KubricConfig, rng: np.random.Generator) -> CameraSpec:
    moving = bool(rng.random() < cfg.camera_motion_prob)
    return CameraSpec(
        distance=float(rng.uniform(6.5, 9.0)),
        elevation=float(rng.uniform(22, 45)),
        azimuth=float(rng.uniform(0, 360)),
        azimuth_sweep=float(rng.uniform(5, 20) * rng.choice([-1, 1])) if moving else 0.0,
        focal_length=float(rng.uniform(32, 42)),
        target=(0.0, 0.0, 0.3),
    )


def sample_walls(cfg: KubricConfig, rng: np.random.Generator, camera: CameraSpec) -> list[dict[str, Any]]:
    if rng.random() >= cfg.walls_prob:
        return []
    # One wall behind the scene (opposite the camera), sometimes a second at a right angle.
    walls = []
    base = camera.azimuth + 180.0
    for k in range(int(rng.integers(1, 3))):
        az = math.radians(base + (90.0 if k else 0.0) * rng.choice([-1, 1]))
        d = float(rng.uniform(3.5, 5.0))
        walls.append(
            {
                "position": (d * math.cos(az), d * math.sin(az), 0.0),
                "yaw_deg": math.degrees(az),
                "color": jitter_color((0.75, 0.73, 0.70), rng, 0.1),
            }
        )
    return walls


def light_clear_of_walls(cfg: KubricConfig, light: LightSpec, walls: list[dict[str, Any]]) -> LightSpec:
    """The lamp turned to the side away from every wall: a low sun behind a wall lays the wall's shadow over the
    whole scene (every object in shade, nothing to learn). Its azimuth is mapped into the arc no wall faces,
    keeping its place in that arc in proportion; the map turns with it."""
    if not walls:
        return light
    import dataclasses

    facing = [math.radians(w["yaw_deg"]) for w in walls]  # direction of each wall from the scene's centre
    clear = [a for a in range(360) if all(math.cos(math.radians(a) - f) <= 0 for f in facing)]
    if not clear or all(math.cos(math.radians(light.sun_azimuth) - f) <= 0 for f in facing):
        return light
    inside = set(clear)  # one arc (the walls' half-planes intersect in one): where it begins, going counter-clockwise
    start = next((a for a in clear if (a - 1) % 360 not in inside), clear[0])
    width = len(clear) - 1
    azimuth = (start + (light.sun_azimuth % 360) / 360 * width) % 360
    rotation = light.hdri_rotation
    if light.world == "hdri":
        from .assets import resolve
        from .hdri import hdri_stats, rotation_for

        rotation = rotation_for(hdri_stats(str(resolve(light.hdri, cfg.assets_dir, cfg.hdri_dir))), azimuth)
    return dataclasses.replace(light, sun_azimuth=float(azimuth), hdri_rotation=rotation)
