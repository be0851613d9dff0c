"""Environment maps (HDRIs): the ones Blender ships, where each map's sun is, and how to clamp it.

An HDRI with a sun in it lights a scene with that sun *and* with the sun lamp the generator adds, so
shadows come in pairs, and its tiny, very bright sun disc is sampled poorly (fireflies). So rays that
*light* the scene see the map clamped at `HdriStats.clamp` (a few times its mean: the sky and its
broad bright areas stay, the sun disc goes), camera rays see it unclamped (the backdrop), and the sun
lamp stands in for what the clamp took away: the map sun's elevation (kept within the range where a shadow
lands in view), its colour, and its power relative to the clamped sky (within a range where shadows stay
visible and lit objects unclipped), so a sunset map is lit by a low orange sun and a studio by its lamps;
the map is turned so that where its clamped light comes from on average lies at the lamp's azimuth, so the
soft shadow the clamped map throws falls the same way as the lamp's: one sun's shadows in every scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...errors import GenomniError

CLAMP_TIMES_MEAN = 4.0  # lighting rays see the map clamped at this many times its (clamped) mean luminance


@dataclass(frozen=True)
class HdriStats:
    """What the sampler needs to know about one environment map (directions in Blender's world frame at rotation 0)."""

    sun_elevation: float  # degrees above the horizon of the map's brightest direction
    sun_azimuth: float  # degrees, counter-clockwise from +x
    sun_share: float  # share of the map's power (solid-angle weighted luminance) above `clamp`
    clamp: float  # linear radiance lighting rays see the map clamped at
    mean: float  # mean luminance of the clamped map over the sphere
    light_azimuth: float  # degrees: where the clamped map's light comes from on average (its first moment)
    sun_color: tuple[float, float, float] = (1.0, 1.0, 1.0)  # linear RGB of the power above `clamp`, brightest channel 1
    sun_irradiance: float = 0.0  # of the power above `clamp` above the horizon, on a surface facing it
    sky_irradiance: float = 0.0  # of the clamped map above the horizon, on the floor (facing up)


def bundled_hdris() -> list[str]:
    """Portable references (`bpy:NAME.exr`) of the CC0 Poly Haven maps shipped inside the bpy wheel."""
    root = bundled_dir()
    return [f"bpy:{p.name}" for p in sorted(root.glob("*.exr"))] if root is not None else []


def bundled_dir() -> Path | None:
    """Blender's `datafiles/studiolights/world` folder, or None when bpy is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        hits = sorted(Path(base).glob("*/datafiles/studiolights/world"))
        if hits:
            return hits[0]
    return None


def read_map(path: Path) -> np.ndarray:
    """(H, W, 3) float32 linear radiance of an equirectangular .exr/.hdr map, read with bpy's OpenImageIO."""
    from .bpy_runtime import open_image_io

    oiio = open_image_io()
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise GenomniError(f"HDRI file {path} could not be read: {oiio.geterror().strip() or 'not an image'}")
    pixels = np.asarray(inp.read_image("float"), dtype=np.float32)
    inp.close()
    if pixels.ndim != 3 or pixels.shape[2] < 3 or pixels.shape[1] < 2 * pixels.shape[0] - 2:
        raise GenomniError(f"HDRI file {path} is not an equirectangular RGB map (2:1), got shape {pixels.shape}")
    return pixels[..., :3]


def direction_of(row: float, col: float, height: int, width: int) -> tuple[float, float]:
    """(elevation, azimuth) in degrees of the pixel centre (row, col) of an equirectangular map as Blender's
    environment texture maps it: the top row looks up, column u looks along azimuth 180 - 360 u degrees."""
    elevation = 90.0 - 180.0 * (row + 0.5) / height
    azimuth = (180.0 - 360.0 * (col + 0.5) / width) % 360.0
    return elevation, azimuth


@lru_cache(maxsize=64)
def hdri_stats(path: str) -> HdriStats:
    """Sun direction, clamp and mean of one map (cached per file; a pure function of its pixels)."""
    rgb = read_map(Path(path))
    if not np.isfinite(rgb).all():
        raise GenomniError(f"HDRI file {path} holds non-finite radiance")
    rgb = np.maximum(rgb, 0.0)  # lossy (DWA) compression leaves small negative values; Cycles adds no light there
    h, w = rgb.shape[:2]
    lum = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    weight = np.cos(np.radians(90.0 - 180.0 * (np.arange(h) + 0.5) / h))[:, None]  # solid angle per pixel
    total = float((lum * weight).sum())
    if total <= 0:
        raise GenomniError(f"HDRI file {path} is black")
    clamp = CLAMP_TIMES_MEAN * total / float(weight.sum() * w)
    for _ in range(20):  # the clamp is a fixed point: CLAMP_TIMES_MEAN times the mean of the clamped map
        mean = float((np.minimum(lum, clamp) * weight).sum() / (weight.sum() * w))
        clamp = CLAMP_TIMES_MEAN * mean
    sun = np.unravel_index(int(np.argmax(lum * (weight > 0))), lum.shape)
    elevation, azimuth = direction_of(sun[0], sun[1], h, w)
    above = float((np.maximum(lum - clamp, 0) * weight).sum()) / total
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    el, az = (np.radians(a) for a in direction_of(rows, cols, h, w))
    power = np.minimum(lum, clamp) * weight * (el > 0)  # the clamped sky above the floor
    moment = ((power * np.cos(el) * np.cos(az)).sum(), (power * np.cos(el) * np.sin(az)).sum())
    pixel = (2.0 * np.pi / w) * (np.pi / h)  # a pixel's solid angle per unit of `weight`
    excess = np.maximum(lum - clamp, 0.0) * weight * pixel * (el > 0)  # what the clamp takes away: the lamp gives it back
    color = (rgb * (excess / np.maximum(lum, 1e-12))[..., None]).reshape(-1, 3).sum(0)
    sky = float((power * np.sin(el)).sum()) * pixel  # the clamped sky's irradiance on the floor
    return HdriStats(
        sun_elevation=round(elevation, 3),
        sun_azimuth=round(azimuth, 3),
        sun_share=round(above, 4),
        clamp=float(clamp),
        mean=float(mean),
        light_azimuth=round(float(np.degrees(np.arctan2(moment[1], moment[0]))) % 360.0, 3),
        sun_color=_unit_color(color),
        sun_irradiance=float(excess.sum()),
        sky_irradiance=sky,
    )


def _unit_color(rgb: np.ndarray) -> tuple[float, float, float]:
    """An RGB scaled so its brightest channel is 1 (white where there is no light to take a colour from)."""
    top = float(rgb.max())
    if top <= 0:
        return 1.0, 1.0, 1.0
    r, g, b = (round(float(c) / top, 4) for c in rgb)
    return r, g, b


def world_azimuth(map_azimuth: float, rotation: float) -> float:
    """Azimuth in the scene of a map direction when the map is turned by `rotation` degrees about z."""
    return (map_azimuth - rotation) % 360.0  # the Mapping node turns the lookup direction by +rotation


SUN_SHARE_MIN = 0.02  # a map whose light above the clamp is less than this share has no sun to follow (overcast)
FLOOR_RATIO_RANGE = (1.0, 10.0)  # lamp over sky light on the floor: below, shadows fade into the sky; above, objects clip


def sun_elevation_for(stats: HdriStats, elevation_range: tuple[float, float]) -> float | None:
    """The lamp's elevation: the map sun's, moved into `elevation_range` (a sunrise sun at 8 degrees becomes a
    12-degree lamp: still low, its shadow still in view); None when the map has no sun to follow."""
    if stats.sun_share < SUN_SHARE_MIN:
        return None
    lo, hi = elevation_range
    return float(min(max(stats.sun_elevation, lo), hi))


def sun_strength_for(stats: HdriStats, world_strength: float, elevation: float, jitter: float) -> float:
    """The lamp's strength (Blender's sun: irradiance on a surface facing it) for a map rendered at `world_strength`
    with the lamp `elevation` degrees up: the floor gets from the lamp what it gets from the map's sun there, over
    what it gets from the clamped sky, varied by `jitter` and kept in `FLOOR_RATIO_RANGE` (a shadow at most half
    as bright as the lit floor, at least an eleventh)."""
    rise = math.sin(math.radians(elevation))
    floor_ratio = stats.sun_irradiance * rise / max(stats.sky_irradiance, 1e-12) * jitter
    lo, hi = FLOOR_RATIO_RANGE
    return float(min(max(floor_ratio, lo), hi) * world_strength * stats.sky_irradiance / rise)


def rotation_for(stats: HdriStats, lamp_azimuth: float) -> float:
    """The map rotation that puts where its clamped light comes from on average at the lamp's azimuth, so the soft
    shadow the clamped map still throws falls the same way as the lamp's, never a second way."""
    return (stats.light_azimuth - lamp_azimuth) % 360.0
