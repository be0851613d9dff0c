"""Real-footage generators' speed: samples/s of objectpaste and tripod at 256 px, 24 frames (CPU).

Footage is synthesized here (a textured static background, moving squares with drawn shadows,
their masks) and written as footage folders; each generator then runs through its library entry
point into fresh shards (FFV1 encoding included). Ratios are against the tripod run of the same
process.

    python benchmarks/generate_footage.py [--size 256] [--frames 24] [--clips 4] [--samples 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from genomni.generators.objectpaste import PasteConfig, run_objectpaste
from genomni.generators.run import RunOptions
from genomni.generators.tripod import TripodConfig, run_tripod
from genomni.media import write_video


def footage(folder: Path, size: int, frames: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    bg = np.repeat(rng.integers(40, 220, (1, size, size, 3), dtype=np.uint8), frames, 0)
    video, mask = bg.copy(), np.zeros((frames, size, size), np.uint8)
    s = size // 8
    for k in range(frames):
        x = size // 10 + k * (size // 2) // frames
        y = size // 3
        video[k, y + s // 2:y + s + s // 2, x + s // 3:x + s + s // 3] //= 2  # shadow
        mask[k, y:y + s, x:x + s] = 255
    video[mask > 0] = (230, 40, 40)
    write_video(folder / "input.mkv", video, 24.0)
    write_video(folder / "masks" / "square", mask)
    (folder / "caption.txt").write_text("A textured wall.\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--samples", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folders = []
        for i in range(args.clips):
            footage(tmp / f"clip{i}", args.size, args.frames, i)
            folders.append(str(tmp / f"clip{i}"))
        rows = []
        t0 = time.perf_counter()
        s = run_tripod(TripodConfig(folders), RunOptions(tmp / "tripod", progress=False))
        rows.append(("tripod", s.samples, time.perf_counter() - t0))
        t0 = time.perf_counter()
        s = run_objectpaste(PasteConfig(folders, folders, num_samples=args.samples, caption="A wall."),
                            RunOptions(tmp / "paste", progress=False))
        rows.append(("objectpaste", s.samples, time.perf_counter() - t0))
        t0 = time.perf_counter()
        s = run_objectpaste(PasteConfig(folders, folders, num_samples=args.samples, caption="A wall.", shadow_prob=1.0),
                            RunOptions(tmp / "paste-shadow", progress=False))
        rows.append(("objectpaste + shadow", s.samples, time.perf_counter() - t0))
    base = rows[0][1] / rows[0][2]
    print(f"{args.size} px, {args.frames} frames, 1 process, FFV1 shards, including source decoding:\n")
    print("| generator | samples | seconds | samples/s | vs tripod |")
    print("|---|---|---|---|---|")
    for name, n, sec in rows:
        print(f"| {name} | {n} | {sec:.1f} | {n / sec:.2f} | {n / sec / base:.2f}x |")


if __name__ == "__main__":
    main()
