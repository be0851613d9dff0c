"""Kubric generator speed: seconds per scene, frames/s per pass, effect-crop gain and error, worker scaling.

Defaults follow the issue's reference scene: 128 px, 24 frames, 3 objects, 16 spp. Ratios are
against baselines measured in the same run (these machines are shared and noisy):
- target passes cropped to the objects' effect boxes vs full-frame renders (`--no-effect-crop`);
- `--workers 2` vs `--workers 1` on the same scenes (whole CLI runs, in subprocesses).

    python benchmarks/generate_kubric.py [--scenes 3] [--frames 24] [--resolution 128] [--samples 16]
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
    from genomni.generators.kubric.generate import generate_scene

    rows = {}
    for crop in (True, False):
        cfg = KubricConfig(frames=args.frames, height=args.resolution, width=args.resolution, samples=args.samples,
                           min_objects=args.objects, max_objects=args.objects, seed=args.seed, effect_crop=crop)
        renderer = BlenderRenderer(cfg)
        for k in range(args.scenes):
            t0 = time.perf_counter()
            result = generate_scene(cfg, k, renderer)
            rows[crop, k] = (time.perf_counter() - t0, result)
    px = args.resolution * args.resolution
    lines = [f"Single process, {args.scenes} scenes x {args.objects} objects, {args.resolution} px, "
             f"{args.frames} frames, {args.samples} spp (seed {args.seed}):\n",
             "| scene | camera | attempts | s/scene crop | s/scene no crop | speed-up | full pass s/frame | "
             "background: frames, % of pixels | solo: frames, % of pixels | target pixels off by > 2 levels (crop vs no crop) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for k in range(args.scenes):
        (sa, a), (sb, b) = rows[True, k], rows[False, k]
        f, sec = a.stats["rendered_frames"], a.stats["render_seconds"]
        moving = a.samples[0].meta["scene"]["camera"]["azimuth_sweep"] != 0
        off = max(float((np.abs(x.target.astype(int) - y.target.astype(int)).max(-1) > 2).mean())
                  for x, y in zip(a.samples, b.samples))
        lines.append(
            f"| {k} | {'orbit' if moving else 'static'} | {a.attempts} | {sa:.1f} | {sb:.1f} | {sb / sa:.2f}x | "
            f"{sec['full'] / f['full']:.2f} | {f['background']}, {100 * f['background_pixels'] / (f['background'] * px):.0f}% | "
            f"{f['solo']}, {100 * f['solo_pixels'] / max(1, f['solo'] * px):.0f}% | {100 * off:.2f}% |")
    crop_s = statistics.mean(rows[True, k][0] for k in range(args.scenes))
    full_s = statistics.mean(rows[False, k][0] for k in range(args.scenes))
    lines.append(f"\nMean seconds per scene: {crop_s:.1f} with the effect crop (default), {full_s:.1f} without "
                 f"({full_s / crop_s:.2f}x). Peak RSS of this process: "
                 f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB.")
    return lines


def worker_scaling(args) -> list[str]:
    lines = [f"\nWhole CLI runs ({args.scaling_scenes} scenes, same settings), by `--workers`:\n",
             "| workers | seconds | scenes/s | speed-up | peak RSS per process |", "|---|---|---|---|---|"]
    base = None
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            cmd = [sys.executable, "-m", "genomni.cli", "generate", "kubric", "--out", str(Path(tmp) / "o"),
                   "--num-scenes", str(args.scaling_scenes), "--frames", str(args.frames),
                   "--resolution", str(args.resolution), "--samples", str(args.samples),
                   "--min-objects", str(args.objects), "--max-objects", str(args.objects),
                   "--seed", str(args.seed), "--workers", str(workers), "--no-progress"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            dt = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        base = base or dt
        lines.append(f"| {workers} | {dt:.1f} | {args.scaling_scenes / dt:.3f} | {base / dt:.2f}x | "
                     f"{max(peak, before) / 1024:.0f} MB |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=3)
    ap.add_argument("--scaling-scenes", type=int, default=4)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-scaling", action="store_true")
    args = ap.parse_args()
    lines = single_process(args)
    if not args.skip_scaling:
        lines += worker_scaling(args)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
