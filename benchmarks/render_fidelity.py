"""How close are generated kubric clips to the scene they show? The same scenes (same descriptions, poses, masks and
Cycles seed) rendered at each render setting and at a converged reference (many samples per pixel), measured
against the reference:

- input PSNR against the reference input: whole frame, effect region (where the reference's removal changes the
  frame outside the objects: shadows, reflections), objects, rest; % of pixels off by more than 6 levels;
- the target's effect-region PSNR against the converged remove-all render (the clean pair rule gives the target
  the input's noise there: `pairs.clean_target`);
- pair speckle: in the remove-all sample, isolated pixels where target and input differ by more than 6 levels
  (fewer than 30% of their 5x5 neighbours do): render noise the pair teaches as "change". Small true features
  (a shadow's corner, a thin contact shadow) count too: the converged reference's own pair is the floor;
- pair error: the share of pixels off the objects where the pair's difference (target - input) is more than 6
  levels off the converged pair's difference (lost faint effects as well as noise);
- true layers: the share of pixels where the scene's true RGBA layers recompose the input within 3 levels, and
  layer noise: the share of pixels the reference changes nowhere (neither object nor effect) where the layers
  are not transparent (alpha > 0.02): layers that recompose the input by carrying its noise score well on the
  first and badly on the second;
- seconds per scene (render only), and dB of effect-region PSNR per second;
- determinism: a second render of every scene with another thread count (as `--workers 2` runs), compared
  byte for byte: how many scenes came out the same.

    python benchmarks/render_fidelity.py [--scenes 4 --size 64 --frames 7 --seed 7000 --ref-samples 1024]
        [--settings default,spp64,denoise,...] [--json bench_out/render_fidelity.json] [--sheet docs/render_fidelity.png]

--sheet draws the middle frame of the first three scenes: the input at 16 spp without denoising, at the default
and at the reference, then the remove-all pair's difference (128 + 4 x (target - input)) for 16 spp with the
target's own pixels in the changed region (the rule before the shared-noise pairs), for the default, and for the
reference through the default's rule.

Settings are named in SETTINGS: KubricConfig overrides. The reference renders once per scene and is cached in
--cache (an .npz per scene), so settings can be added without paying for it again.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from unittest.mock import patch

import numpy as np
from scipy.ndimage import uniform_filter

from genomni.effects import RIM_PX, effect_region
from genomni.footage import dilate
from genomni.generators.captions import TemplateCaptioner
from genomni.generators.kubric import generate, truth_layers
from genomni.generators.kubric.blender import BlenderRenderer
from genomni.generators.kubric.config import KubricConfig
from genomni.generators.kubric.generate import add_truth_layers, build_samples, resolve_files, scene_plans
from genomni.generators.kubric.pairs import changed_region, clean_target
from genomni.generators.kubric.passes import render_full, render_targets
from genomni.generators.kubric.physics import simulate_motion
from genomni.generators.kubric.sampling import PlacementError, sample_scene
from genomni.generators.kubric.truth_layers import layer_plans
from genomni.layers import composite, from_rgba8

SETTINGS: dict[str, dict] = {
    "default": {},
    "no-denoise": {"denoise": False},
    "denoise": {"denoise": True},
    "spp32": {"samples": 32, "denoise": False},
    "spp64": {"samples": 64, "denoise": False},
    "spp128": {"samples": 128, "denoise": False},
    "denoise-spp32": {"denoise": True, "samples": 32},
    # the pair rule before shared noise: the target's own rendered pixels throughout the changed region
    "own-pixel-pairs": {"_own_pixels": True},
    "own-pixel-pairs-no-denoise": {"denoise": False, "_own_pixels": True},
    # Cycles settings no KubricConfig option sets, applied after the renderer's own setup: adaptive sampling
    "adaptive-64": {
        "denoise": False,
        "_cycles": {"use_adaptive_sampling": True, "samples": 64, "adaptive_min_samples": 16, "adaptive_threshold": 0.02},
    },
    "adaptive-128": {
        "denoise": False,
        "_cycles": {"use_adaptive_sampling": True, "samples": 128, "adaptive_min_samples": 16, "adaptive_threshold": 0.01},
    },
    # on a machine with a GPU: `--settings default,gpu` gives s/scene CPU vs GPU and the fidelity of each
    "gpu": {"render_device": "gpu"},
}
CPU_SETTINGS = [k for k, v in SETTINGS.items() if v.get("render_device") != "gpu"]


class TunedRenderer(BlenderRenderer):
    """The renderer with extra Cycles settings applied after its own (`_cycles` in a setting)."""

    def __init__(self, cfg: KubricConfig, threads: int = 0, cycles: dict | None = None):
        super().__init__(cfg, threads=threads)
        self.cycles = cycles or {}

    def _setup_render(self, scene, spec) -> None:
        super()._setup_render(scene, spec)
        for k, v in self.cycles.items():
            setattr(scene.cycles, k, v)


def _cfg(args: argparse.Namespace, **over) -> KubricConfig:
    over = {k: v for k, v in over.items() if not k.startswith("_")}
    cfg = KubricConfig(
        num_scenes=args.scenes, seed=args.seed, frames=args.frames, height=args.size, width=args.size, layers=True, max_objects=3
    )
    resolve_files(cfg)
    return dataclasses.replace(cfg, **over)


def _valid_spec(cfg: KubricConfig, index: int, renderer: BlenderRenderer):
    """The first attempt of scene `index` whose poses pass the generator's pose checks (nothing rendered)."""
    from genomni.generators.kubric.generate import _precheck

    for attempt in range(16):
        try:
            spec = sample_scene(cfg, index, attempt)
        except PlacementError:
            continue
        if spec.scenario != "standard":
            continue
        vertices = renderer.build(spec)
        motion = simulate_motion(spec, vertices)
        if _precheck(cfg, spec, renderer, motion, None) is None:
            return spec
    raise RuntimeError(f"scene {index}: no attempt passes the pose checks")


def own_pixels_target(inp: np.ndarray, target: np.ndarray, removed: np.ndarray, own: np.ndarray | None = None):
    """The pair rule before shared noise (an ablation): the target's rendered pixels throughout the changed region."""
    region = changed_region(inp, target, removed)
    return np.where(region[..., None], target, inp), region


def render_scene(
    cfg: KubricConfig, spec, threads: int = 0, cycles: dict | None = None, own_pixels: bool = False
) -> tuple[dict[str, np.ndarray], float]:
    """The remove-all sample's input, clean target, instance map and true layers for one spec, and render seconds."""
    renderer = TunedRenderer(cfg, threads=threads, cycles=cycles)
    vertices = renderer.build(spec)
    motion = simulate_motion(spec, vertices)
    plans = scene_plans(spec)
    t0 = time.perf_counter()
    passes = render_full(renderer, spec, motion.poses, motion.cloth)
    passes = render_targets(renderer, spec, motion.poses, passes, plans + layer_plans(spec), None)
    seconds = time.perf_counter() - t0
    rule = own_pixels_target if own_pixels else clean_target
    with patch.object(generate, "clean_target", rule), patch.object(truth_layers, "clean_target", rule):
        samples = build_samples(cfg, spec, passes, plans, renderer.version, TemplateCaptioner())
        add_truth_layers(samples[0], passes, spec.object_ids)
    s = samples[0]
    return {
        "input": s.input,
        "target": s.target,
        "raw_target": passes.background,
        "instances": passes.instances,
        "layers": s.extras["layers"],
    }, seconds


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if where is not None:
        if not where.any():
            return float("nan")
        d = d[where]
    mse = d.mean()
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def speckle_frac(inp: np.ndarray, target: np.ndarray) -> float:
    """Isolated pixels where target and input differ by more than 6 levels (fewer than 30% of their 5x5 neighbours
    do), as a share of all pixels."""
    big = (np.abs(target.astype(np.int16) - inp.astype(np.int16)).max(-1) > 6).astype(np.float32)
    share = np.stack([uniform_filter(f, size=5, mode="constant") for f in big])
    neighbours = (share * 25 - big) / 24
    return float(((big > 0) & (neighbours < 0.3)).mean())


def pair_error(run: dict[str, np.ndarray], ref: dict[str, np.ndarray], objects: np.ndarray) -> float:
    """Share of pixels off `objects` where the pair's difference is more than 6 levels off the converged one's."""
    true = ref["raw_target"].astype(np.int16) - ref["input"].astype(np.int16)
    got = run["target"].astype(np.int16) - run["input"].astype(np.int16)
    return float((np.abs(got - true).max(-1) > 6)[~objects].mean())


def regions(ref: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    objects = dilate(ref["instances"] > 0, RIM_PX)
    effect = effect_region(ref["input"], ref["raw_target"], objects) & ~objects
    return {"objects": objects, "effect": effect, "rest": ~objects & ~effect}


def measure(run: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, float]:
    reg = regions(ref)

    def per_pixel(m: np.ndarray) -> np.ndarray:
        return m[..., None].repeat(3, -1)

    rec = composite(run["target"], [from_rgba8(x) for x in run["layers"]])
    alpha = run["layers"][..., 3].astype(np.float32) / 255
    within = (np.abs(rec.astype(np.int16) - run["input"].astype(np.int16)).max(-1) <= 3).mean()
    return {
        "psnr": psnr(run["input"], ref["input"]),
        "psnr_effect": psnr(run["input"], ref["input"], per_pixel(reg["effect"])),
        "psnr_objects": psnr(run["input"], ref["input"], per_pixel(reg["objects"])),
        "psnr_rest": psnr(run["input"], ref["input"], per_pixel(reg["rest"])),
        "target_psnr_effect": psnr(run["target"], ref["raw_target"], per_pixel(reg["effect"])),
        "off6": float((np.abs(run["input"].astype(np.int16) - ref["input"].astype(np.int16)).max(-1) > 6).mean()),
        "speckle": speckle_frac(run["input"], run["target"]),
        "pair_error": pair_error(run, ref, reg["objects"]),
        "layers_within3": float(within),
        "layer_noise": float((1 - np.prod(1 - alpha, 0) > 0.02)[reg["rest"]].mean()),
        "effect_pixels": int(reg["effect"].sum()),
    }


def _scene_key(spec) -> str:
    """What a reference render depends on besides the sizes: the scene description and the renderer's code (a cache
    keyed by seed and index alone served references of scenes the code no longer makes: the lighting changed)."""
    import hashlib

    import genomni.generators.kubric as kubric

    h = hashlib.sha256(repr(spec).encode())
    for f in sorted(Path(kubric.__file__).parent.glob("*.py")):
        if f.name not in POST_RENDER:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


POST_RENDER = ("pairs.py", "truth_layers.py", "qc.py")  # what the renders go through after Cycles: not cached
REF_KEYS = ("input", "raw_target", "instances")


def _reference(args: argparse.Namespace, index: int, spec) -> dict[str, np.ndarray]:
    path = Path(args.cache) / f"ref-{args.seed}-{index}-{args.size}-{args.frames}-{args.ref_samples}-{_scene_key(spec)}.npz"
    if path.exists():
        with np.load(path) as z:
            return dict(z)
    run, _ = render_scene(_cfg(args, samples=args.ref_samples, denoise=False), spec)  # converged, not denoised
    ref = {k: run[k] for k in REF_KEYS}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **ref)
    return ref


def _enlarged(img: np.ndarray, label: str, k: int = 3) -> np.ndarray:
    import cv2

    big = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
    cv2.putText(big, label, (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 0), 1, cv2.LINE_AA)
    return big


def contact_sheet(args: argparse.Namespace, specs: list, refs: list, path: str) -> None:
    """The --sheet picture (module docstring): what the pair rule and denoising change, against the reference."""
    import cv2

    def diff(inp: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.clip(128 + 4 * (target.astype(np.int16) - inp.astype(np.int16)), 0, 255).astype(np.uint8)

    rows = []
    for spec, ref in list(zip(specs, refs))[:3]:
        raw, _ = render_scene(_cfg(args, denoise=False), spec)
        new, _ = render_scene(_cfg(args), spec)
        t = len(ref["input"]) // 2
        before = own_pixels_target(raw["input"], raw["raw_target"], raw["instances"] > 0)[0]
        ref_target = clean_target(ref["input"], ref["raw_target"], ref["instances"] > 0)[0]
        cells = [
            _enlarged(raw["input"][t], "16 spp"),
            _enlarged(new["input"][t], "default"),
            _enlarged(ref["input"][t], f"{args.ref_samples} spp"),
            _enlarged(diff(raw["input"], before)[t], "pair, own px"),
            _enlarged(diff(new["input"], new["target"])[t], "pair, default"),
            _enlarged(diff(ref["input"], ref_target)[t], "pair, reference"),
        ]
        rows.append(np.concatenate([np.pad(c, ((2, 2), (2, 2), (0, 0))) for c in cells], 1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=4)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--frames", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--ref-samples", type=int, default=1024)
    ap.add_argument("--settings", default=",".join(CPU_SETTINGS))
    ap.add_argument("--cache", default="bench_out/render_fidelity")
    ap.add_argument("--json", default="")
    ap.add_argument("--sheet", default="")
    args = ap.parse_args()
    base = _cfg(args)
    probe = BlenderRenderer(base)
    specs = [_valid_spec(base, i, probe) for i in range(args.scenes)]
    refs = [_reference(args, i, s) for i, s in enumerate(specs)]
    if args.sheet:
        contact_sheet(args, specs, refs, args.sheet)
    rows = {}
    for name in args.settings.split(","):
        cfg, cycles, own = _cfg(args, **SETTINGS[name]), SETTINGS[name].get("_cycles"), SETTINGS[name].get("_own_pixels", False)
        per, seconds, same = [], 0.0, 0
        for spec, ref in zip(specs, refs):
            run, s = render_scene(cfg, spec, cycles=cycles, own_pixels=own)
            per.append(measure(run, ref))
            seconds += s
            again, _ = render_scene(cfg, spec, threads=1, cycles=cycles, own_pixels=own)
            same += all(np.array_equal(again[k], run[k]) for k in ("input", "target", "layers"))
        row = {k: float(np.nanmean([p[k] for p in per])) for k in per[0]}
        row.update({"s_per_scene": seconds / len(specs), "same_across_runs": f"{same} of {len(specs)}"})
        row["effect_db_per_s"] = row["psnr_effect"] / row["s_per_scene"]
        rows[name] = row
        print(name, json.dumps(row), flush=True)
    floor = []
    for ref in refs:  # the converged pair through the same rule: what the pair figures cannot go below
        target = clean_target(ref["input"], ref["raw_target"], ref["instances"] > 0)[0]
        floor.append(
            (speckle_frac(ref["input"], target), pair_error({"input": ref["input"], "target": target}, ref, regions(ref)["objects"]))
        )
    rows["reference"] = {"speckle": float(np.mean([f[0] for f in floor])), "pair_error": float(np.mean([f[1] for f in floor]))}
    print()
    cols = "input PSNR | effect | objects | rest | > 6 levels | target effect | pair speckle | pair error | layers within 3 | layer noise"
    print(f"| setting | s/scene | {cols} | same across runs |\n" + "|---" * 13 + "|")
    for name, r in rows.items():
        if name == "reference":
            cells = ["-"] * 7 + [f"{100 * r['speckle']:.3f}%", f"{100 * r['pair_error']:.2f}%", "-", "-", "-"]
        else:
            cells = [f"{r['s_per_scene']:.1f}", *(f"{r[k]:.1f}" for k in ("psnr", "psnr_effect", "psnr_objects", "psnr_rest"))]
            cells += [
                f"{100 * r['off6']:.2f}%",
                f"{r['target_psnr_effect']:.1f}",
                f"{100 * r['speckle']:.3f}%",
                f"{100 * r['pair_error']:.2f}%",
            ]
            cells += [f"{100 * r['layers_within3']:.2f}%", f"{100 * r['layer_noise']:.2f}%", r["same_across_runs"]]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
