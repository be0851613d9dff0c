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

    rows, lines = [], []
    for crop in (True, False):
        cfg = KubricConfig(frames=args.frames, height=args.resolution, width=args.resolution, samples=args.samples,
                           min_objects=args.objects, max_objects=args.objects, seed=args.seed, effect_crop=crop)
        renderer = BlenderRenderer(cfg)
        for k in range(args.scenes):
            t0 = time.perf_counter()
            result = generate_scene(cfg, k, renderer)
            rows.append({"crop": crop, "scene": k, "seconds": time.perf_counter() - t0, "stats": result.stats,
                         "solos": [s.target for s in result.samples[1:]], "camera_moving": bool(
                             result.samples and result.samples[0].meta["scene"]["camera"]["azimuth_sweep"])})
    lines.append(f"Single process, {args.scenes} scenes x {args.objects} objects, {args.resolution} px, "
                 f"{args.frames} frames, {args.samples} spp (seed {args.seed}):\n")
    lines.append("| scene | camera | seconds (crop) | seconds (no crop) | ratio | full fps | background frames | "
                 "solo fps (crop) | solo fps (no crop) | crop: solo pixels off by > 2 levels |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for k in range(args.scenes):
        a = next(r for r in rows if r["crop"] and r["scene"] == k)
        b = next(r for r in rows if not r["crop"] and r["scene"] == k)
        fa, fb = a["stats"]["rendered_frames"], b["stats"]["rendered_frames"]
        sa, sb = a["stats"]["render_seconds"], b["stats"]["render_seconds"]
        off = [float((np.abs(x.astype(int) - y.astype(int)).max(-1) > 2).mean()) for x, y in zip(a["solos"], b["solos"])]
        lines.append(
            f"| {k} | {'orbit' if a['camera_moving'] else 'static'} | {a['seconds']:.1f} | {b['seconds']:.1f} | "
            f"{b['seconds'] / a['seconds']:.2f}x | {fa['full'] / sa['full']:.2f} | {fa['background']} | "
            f"{fa['solo'] / max(sa['solo'], 1e-9):.2f} | {fb['solo'] / max(sb['solo'], 1e-9):.2f} | "
            f"{100 * max(off, default=0):.2f}% |")
    crop_s = statistics.mean(r["seconds"] for r in rows if r["crop"])
    full_s = statistics.mean(r["seconds"] for r in rows if not r["crop"])
    lines.append(f"\nMean seconds per scene: {crop_s:.1f} with the solo crop (default), {full_s:.1f} without "
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
