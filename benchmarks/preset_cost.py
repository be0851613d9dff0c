"""What the reference works' render settings cost here: `generate kubric --preset gen-omnimatte` (the paper's
256x256, 80 frames, 128 spp, denoised) and `--preset void` (VOID's 384x384, 60 frames, 32 spp, denoised) against
the defaults (128 px, 24 frames, 16 spp), each run through the CLI on the same seeds with `--workers 2`.

A preset's full clip length takes long on a 2-core machine, so each setting is rendered at `--frames` frames and
its seconds per frame scaled to the preset's length (rendering is per frame; the physics and scene set-up are a
small share, which this slightly overstates). Prints a Markdown table with core-hours for the paper's 569 Kubric
clips and VOID's ~1,900.

    python benchmarks/preset_cost.py [--scenes 2] [--frames 6]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genomni.generators.kubric.config import PRESETS

CORES = 2
CLIPS = {"gen-omnimatte": 569, "void": 1900}  # the paper's Kubric clips; VOID's Kubric pairs (its README)


def seconds_per_scene(preset: str, frames: int, scenes: int, out: Path) -> float:
    cmd = [sys.executable, "-m", "genomni.cli", "generate", "kubric", "--out", str(out), "--num-scenes", str(scenes)]
    cmd += ["--frames", str(frames), "--workers", str(CORES), "--seed", "7", "--no-progress"]
    if preset != "default":
        cmd += ["--preset", preset]
    t0 = time.time()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return (time.time() - t0) / scenes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=2)
    ap.add_argument("--frames", type=int, default=6)
    args = ap.parse_args()
    full = {"default": 24, **{k: v["frames"] for k, v in PRESETS.items()}}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in ("default", "gen-omnimatte", "void"):
            s = seconds_per_scene(preset, args.frames, args.scenes, Path(tmp) / preset)
            per_clip = s / args.frames * full[preset]
            rows.append((preset, s, per_clip))
    base = rows[0][2]
    print(f"{args.scenes} scenes per setting at {args.frames} frames, {CORES} workers on {CORES} cores; scaled to each clip length\n")
    print("| setting | s per scene at measured frames | s per full clip (est.) | vs default | core-hours per 1000 clips | reference set |")
    print("|---|---|---|---|---|---|")
    for preset, s, clip in rows:
        hours = clip * CORES * 1000 / 3600
        ref = f"{CLIPS[preset]} clips: {clip * CORES * CLIPS[preset] / 3600:.0f} core-hours" if preset in CLIPS else "-"
        print(f"| {preset} | {s:.1f} | {clip:.0f} | {clip / base:.1f}x | {hours:.0f} | {ref} |")


if __name__ == "__main__":
    main()
