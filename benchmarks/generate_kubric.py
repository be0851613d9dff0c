"""Kubric generator speed and content: seconds per scene, frames/s per pass, effect-crop gain and error, the
cost and QC outcome of each scenario, the on-screen object areas, worker scaling.

Defaults follow the issue's reference scene: 128 px, 24 frames, 3 objects, 16 spp, the default lighting
(bundled HDRIs). Ratios are against baselines measured in the same run (these machines are shared and noisy):
- target passes cropped to the objects' effect boxes vs full-frame renders (`--no-effect-crop`);
- `--workers 2` vs `--workers 1` on the same scenes (whole CLI runs, in subprocesses).
The pair-noise figure is `benchmarks/kubric_pairs.py`'s.

    python benchmarks/generate_kubric.py [--scenes 3] [--scenario-scenes 4] [--frames 24] [--resolution 128]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def single_process(args) -> list[str]:
    from genomni.generators.kubric.blender import BlenderRenderer
    from genomni.generators.kubric.config import KubricConfig
    from genomni.generators.kubric.generate import generate_scene, resolve_files

    rows = {}
    for crop in (True, False):
        cfg = KubricConfig(
            frames=args.frames,
            height=args.resolution,
            width=args.resolution,
            samples=args.samples,
            min_objects=args.objects,
            max_objects=args.objects,
            seed=args.seed,
            effect_crop=crop,
        )
        resolve_files(cfg)
        renderer = BlenderRenderer(cfg)
        for k in range(args.scenes):
            t0 = time.perf_counter()
            result = generate_scene(cfg, k, renderer)
            rows[crop, k] = (time.perf_counter() - t0, result)
    px = args.resolution * args.resolution
    lines = [
        f"Single process, {args.scenes} scenes x {args.objects} objects, {args.resolution} px, "
        f"{args.frames} frames, {args.samples} spp (seed {args.seed}):\n",
        "| scene | camera | attempts | s/scene crop | s/scene no crop | speed-up | full pass s/frame | "
        "background: frames, % of pixels | kept-object passes: frames, % of pixels | "
        "target pixels off by > 2 levels (crop vs no crop) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k in range(args.scenes):
        (sa, a), (sb, b) = rows[True, k], rows[False, k]
        f, sec = a.stats["rendered_frames"], a.stats["render_seconds"]
        if not a.samples or not b.samples:
            lines.append(f"| {k} | dropped after {a.attempts} attempts ({a.dropped or b.dropped}) | | {sa:.1f} | {sb:.1f} | | | | | |")
            continue
        moving = a.samples[0].meta["scene"]["camera"]["azimuth_sweep"] != 0
        off = max(float((np.abs(x.target.astype(int) - y.target.astype(int)).max(-1) > 2).mean()) for x, y in zip(a.samples, b.samples))
        lines.append(
            f"| {k} | {'orbit' if moving else 'static'} | {a.attempts} | {sa:.1f} | {sb:.1f} | {sb / sa:.2f}x | "
            f"{sec['full'] / f['full']:.2f} | {f['background']}, {100 * f['background_pixels'] / (f['background'] * px):.0f}% | "
            f"{f.get('kept', 0)}, {100 * f.get('kept_pixels', 0) / max(1, f.get('kept', 0) * px):.0f}% | {100 * off:.2f}% |"
        )
        failures = a.stats.get("qc_failures") or []
        if failures:
            lines.append(f"|  | resampled: {'; '.join(failures)} | | | | | | | | |")
    crop_s = statistics.mean(rows[True, k][0] for k in range(args.scenes))
    full_s = statistics.mean(rows[False, k][0] for k in range(args.scenes))
    lines.append(
        f"\nMean seconds per scene: {crop_s:.1f} with the effect crop (default), {full_s:.1f} without "
        f"({full_s / crop_s:.2f}x). Peak RSS of this process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB."
    )
    return lines


PRE_RENDER = ("leaves the view", "nothing moves", "from the poses", "changes how nothing else moves")


def scenarios(args) -> list[str]:
    """Each scenario alone on the same seeds: seconds per scene including resamples, samples per scene, and the
    resamples QC decided from the poses (no render paid) vs after rendering; object areas of standard scenes."""
    from genomni.generators.kubric.blender import BlenderRenderer
    from genomni.generators.kubric.config import KubricConfig
    from genomni.generators.kubric.generate import generate_scene, resolve_files

    lines = [
        f"\nScenarios, {args.scenario_scenes} scenes each, {args.resolution} px, {args.frames} frames, "
        f"{args.samples} spp, up to {args.objects} objects in standard scenes (seed {args.seed + 1}):\n",
        "| scenario | s/scene (incl. resamples) | samples/scene | resamples decided from poses | "
        "resamples after rendering | dropped scenes |",
        "|---|---|---|---|---|---|",
    ]
    areas: list[float] = []
    for name in ("standard", "similar", "push", "deform"):
        cfg = KubricConfig(
            frames=args.frames,
            height=args.resolution,
            width=args.resolution,
            samples=args.samples,
            max_objects=args.objects,
            seed=args.seed + 1,
            scenarios=(name,),
            scenario_weights=(1.0,),
        )
        resolve_files(cfg)
        renderer = BlenderRenderer(cfg)
        seconds, samples, pre, post, dropped = [], 0, 0, 0, 0
        for k in range(args.scenario_scenes):
            t0 = time.perf_counter()
            result = generate_scene(cfg, k, renderer)
            seconds.append(time.perf_counter() - t0)
            reasons = result.stats.get("qc_failures") or (result.dropped or "").split("; ")
            reasons = [r for r in reasons if r]
            pre += sum(any(p in r for p in PRE_RENDER) for r in reasons)
            post += sum(not any(p in r for p in PRE_RENDER) for r in reasons)
            dropped += not result.samples
            samples += len(result.samples)
            if name == "standard" and result.samples:
                inst = result.samples[0].extras["instances"]
                areas += [float((inst == i).mean()) for i in result.samples[0].meta["object_ids"]]
        lines.append(f"| {name} | {statistics.mean(seconds):.1f} | {samples / args.scenario_scenes:.1f} | {pre} | {post} | {dropped} |")
    if areas:
        q = np.percentile(100 * np.array(areas), [5, 25, 50, 75, 95])
        lines.append(
            f"\nOn-screen object area in standard scenes (visible pixels, mean over frames, % of the frame; "
            f"{len(areas)} objects): p5 {q[0]:.2f}, p25 {q[1]:.2f}, median {q[2]:.2f}, p75 {q[3]:.2f}, "
            f"p95 {q[4]:.2f}."
        )
    return lines


def worker_scaling(args) -> list[str]:
    lines = [
        f"\nWhole CLI runs ({args.scaling_scenes} scenes, same settings), by `--workers`:\n",
        "| workers | seconds | scenes/s | speed-up | peak RSS per process |",
        "|---|---|---|---|---|",
    ]
    base = None
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            cmd = [
                sys.executable,
                "-m",
                "genomni.cli",
                "generate",
                "kubric",
                "--out",
                str(Path(tmp) / "o"),
                "--num-scenes",
                str(args.scaling_scenes),
                "--frames",
                str(args.frames),
                "--resolution",
                str(args.resolution),
                "--samples",
                str(args.samples),
                "--min-objects",
                str(args.objects),
                "--max-objects",
                str(args.objects),
                "--seed",
                str(args.seed),
                "--workers",
                str(workers),
                "--no-progress",
            ]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            dt = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        base = base or dt
        lines.append(f"| {workers} | {dt:.1f} | {args.scaling_scenes / dt:.3f} | {base / dt:.2f}x | {max(peak, before) / 1024:.0f} MB |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=3)
    ap.add_argument("--scaling-scenes", type=int, default=4)
    ap.add_argument("--scenario-scenes", type=int, default=4)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-scaling", action="store_true")
    args = ap.parse_args()
    lines = single_process(args) + scenarios(args)
    if not args.skip_scaling:
        lines += worker_scaling(args)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
