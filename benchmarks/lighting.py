"""Is each bundled environment map lit by its own sun? One scene (same objects, floor and camera) under each of the
eight maps bpy ships, rendered by the generator's own path, and measured against the map itself (Poly Haven's
pixels, not genomni's numbers):

- lamp colour: the light an object's shadow takes from a near-white floor (linear background minus input in the
  shadow's core, divided by the floor's albedo), its brightest channel 1, against the colour of the map's light
  above the clamp (`HdriStats.sun_color`);
- lamp over sky on the floor: lit over shadowed floor in the shadow's core, minus 1, against what the spec sets
  (the map's own ratio at the lamp's elevation, jittered, kept in 1-10: `hdri.sun_strength_for`). The core is
  where the floor darkens by at least 80% of the shadow's 95th-percentile darkening, so penumbrae and contact
  shading do not count;
- the lamp's elevation against the map sun's, and the caption the template writes for the scene.

    python benchmarks/lighting.py [--size 128 --samples 64 --seed 11] [--sheet docs/lighting.png]

Writes the contact sheet (each map's frame, its label and caption) and prints the table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import textwrap
from pathlib import Path

import cv2
import numpy as np

from genomni.effects import effect_region
from genomni.footage import dilate
from genomni.generators.captions import TemplateCaptioner
from genomni.generators.kubric.assets import resolve
from genomni.generators.kubric.blender import BlenderRenderer
from genomni.generators.kubric.bpy_runtime import srgb_to_linear
from genomni.generators.kubric.config import KubricConfig
from genomni.generators.kubric.generate import resolve_files, scene_plans
from genomni.generators.kubric.hdri import hdri_stats
from genomni.generators.kubric.passes import render_full, render_targets
from genomni.generators.kubric.physics import simulate_motion
from genomni.generators.kubric.sampling import sample_placed
from genomni.media import write_png

FLOOR = (0.8, 0.8, 0.8)  # sRGB of the plain floor every map lights


def _linear(srgb8: np.ndarray) -> np.ndarray:
    x = srgb8.astype(np.float64) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def render_under(cfg: KubricConfig, hdri: str, index: int) -> dict:
    """The scene `index` sampled with `hdri` as the only map (so every map gets the same objects), on a plain
    near-white floor without walls or extra lamps, rendered with and without its objects (frame 0)."""
    cfg = dataclasses.replace(cfg, hdri_files=[hdri], hdri_prob=1.0)
    spec = sample_placed(cfg, index)
    spec.floor.kind, spec.floor.colors, spec.floor.glossy, spec.floor.metallic, spec.floor.roughness = "plain", [FLOOR], False, 0.0, 0.8
    spec.walls, spec.light.extra_lights = [], []
    renderer = BlenderRenderer(cfg)
    motion = simulate_motion(spec, renderer.build(spec))
    passes = render_full(renderer, spec, motion.poses, motion.cloth)
    plan = scene_plans(spec)[0]  # remove every object
    passes = render_targets(renderer, spec, motion.poses, passes, [plan], None)
    return {"spec": spec, "input": passes.full[0], "background": passes.background[0], "instances": passes.instances[0]}


def measure(run: dict) -> dict:
    spec = run["spec"]
    li = spec.light
    stats = hdri_stats(str(resolve(li.hdri)))
    objects = dilate(run["instances"][None] > 0, 4)[0]
    shadow = effect_region(run["input"][None], run["background"][None], objects[None])[0] & ~objects
    lit, dark = _linear(run["background"]), _linear(run["input"])
    lum = np.array([0.2126, 0.7152, 0.0722])
    darkening = (lit - dark) @ lum
    if shadow.any():
        shadow &= darkening >= 0.8 * np.percentile(darkening[shadow], 95)
    albedo = np.array([srgb_to_linear(c) for c in FLOOR])
    row = {
        "map": li.hdri.removeprefix("bpy:").removesuffix(".exr"),
        "map_sun_el": stats.sun_elevation,
        "lamp_el": li.sun_elevation,
        "map_color": stats.sun_color,
        "shadow_px": int(shadow.sum()),
    }
    rise = np.sin(np.radians(li.sun_elevation))
    row["expected_ratio"] = li.sun_strength * rise / (li.world_strength * stats.sky_irradiance)
    if shadow.sum() >= 20:
        taken = (lit[shadow] - dark[shadow]).sum(0) / albedo
        row["measured_color"] = tuple(float(c) for c in taken / taken.max())
        row["measured_ratio"] = float(np.median((lit[shadow] @ lum) / np.maximum(dark[shadow] @ lum, 1e-6)) - 1.0)
    row["caption"] = TemplateCaptioner().caption(run["input"][None], {"scene": spec.to_dict(), "kept_ids": spec.object_ids})
    return row


def sheet(runs: list[dict], rows: list[dict], path: Path) -> None:
    tiles = []
    for run, row in zip(runs, rows):
        frame = cv2.resize(run["input"][..., ::-1], (256, 256), interpolation=cv2.INTER_NEAREST)
        band = np.full((86, 256, 3), 255, np.uint8)
        lines = [f"{row['map']}: lamp {row['lamp_el']:.0f} deg (map sun {row['map_sun_el']:.0f})"]
        lines += textwrap.wrap(row["caption"], 40)[:4]
        for k, text in enumerate(lines):
            cv2.putText(band, text, (4, 16 + 17 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.concatenate([frame, band], 0))
    grid = np.concatenate([np.concatenate(tiles[i : i + 4], 1) for i in range(0, len(tiles), 4)], 0)
    write_png(path, grid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--scene", type=int, default=0)
    ap.add_argument("--sheet", default="docs/lighting.png")
    args = ap.parse_args()
    cfg = KubricConfig(seed=args.seed, frames=2, height=args.size, width=args.size, samples=args.samples, min_objects=2, max_objects=3)
    resolve_files(cfg)
    runs = [render_under(cfg, hdri, args.scene) for hdri in cfg.hdri_files]
    rows = [measure(r) for r in runs]
    sheet(runs, rows, Path(args.sheet))
    print("| map | map sun el. | lamp el. | map sun colour | colour in the shadow | lamp/sky set | lamp/sky measured | caption |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        mc = r.get("measured_color")
        print(
            f"| {r['map']} | {r['map_sun_el']:.1f} | {r['lamp_el']:.1f} | {', '.join(f'{c:.2f}' for c in r['map_color'])} | "
            f"{', '.join(f'{c:.2f}' for c in mc) if mc else 'no shadow'} | {r['expected_ratio']:.2f} | "
            f"{r.get('measured_ratio', float('nan')):.2f} | {r['caption']} |"
        )


if __name__ == "__main__":
    main()
