"""What the reference works' render settings cost here: `generate kubric --preset gen-omnimatte` (the paper's
256x256, 80 frames, 128 spp, denoised) and `--preset void` (VOID's 384x384, 60 frames, 32 spp, denoised) against
the defaults (128 px, 24 frames, 16 spp), each through the CLI on the same seed.

One scene per run with `--workers 2`: one worker renders it with one Cycles thread, so its seconds are core-seconds
(the other core stays free for other work). A full clip takes long on a 2-core machine, so each setting is rendered
at two frame counts and its cost taken as set-up + per frame x frames (rendering is per frame), extrapolated to the
preset's length. Prints a Markdown table with core-hours for 1000 clips, the paper's 569 Kubric clips and VOID's
~1,900 (its Kubric pairs are interaction scenes, whose third pass is cropped to the removed objects' effect boxes:
not counted here).

    python benchmarks/preset_cost.py [--frames 2,6]
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

CLIPS = {"gen-omnimatte": 569, "void": 1900}  # the paper's Kubric clips; VOID's Kubric pairs (its README)


def core_seconds(preset: str, frames: int, out: Path) -> float:
    cmd = [sys.executable, "-m", "genomni.cli", "generate", "kubric", "--out", str(out), "--num-scenes", "1"]
    cmd += ["--frames", str(frames), "--workers", "2", "--seed", "7", "--no-progress"]
    if preset != "default":
        cmd += ["--preset", preset]
    t0 = time.time()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return time.time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", default="2,6", help="the two frame counts rendered")
    args = ap.parse_args()
    a, b = (int(x) for x in args.frames.split(","))
    full = {"default": 24, **{k: v["frames"] for k, v in PRESETS.items()}}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in ("default", "gen-omnimatte", "void"):
            ta, tb = (core_seconds(preset, n, Path(tmp) / f"{preset}-{n}") for n in (a, b))
            per_frame = (tb - ta) / (b - a)
            rows.append((preset, ta, tb, per_frame, ta - per_frame * a + per_frame * full[preset]))
    base = rows[0][4]
    print(f"one scene per run, one Cycles thread: core-seconds; {a} and {b} frames rendered, extrapolated to each clip length\n")
    print(
        f"| setting | core-s at {a} frames | at {b} | per frame | per full clip (est.) | vs default | core-h per 1000 clips | reference |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for preset, ta, tb, per_frame, clip in rows:
        ref = f"{CLIPS[preset]} clips: {clip * CLIPS[preset] / 3600:.0f} core-hours" if preset in CLIPS else "-"
        print(f"| {preset} | {ta:.1f} | {tb:.1f} | {per_frame:.1f} | {clip:.0f} | {clip / base:.1f}x | {clip * 1000 / 3600:.0f} | {ref} |")


if __name__ == "__main__":
    main()
