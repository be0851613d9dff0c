"""Real-footage generators: speed, how much of the objects' effects the tripod plate keeps, and the paste rim.

1. Speed: samples/s of objectpaste and tripod at 256 px, 24 frames (CPU). Footage is synthesized here (a
   textured static background, moving squares with drawn shadows, their masks) and written as footage
   folders; each generator runs through its library entry point into fresh shards (FFV1 encoding
   included). Ratios are against the tripod run of the same process.
2. Effect retention of the tripod plate on kubric scenes with a static camera, where the true clean
   background is known (the remove-all target): coherent effect pixels (the smoothed |input - truth| above
   6 levels, outside the dilated masks) whose floor is visible in some frame, and the share of them the
   plate still holds (smoothed |plate - truth| above 6); also the effect pixels no frame shows clean
   (persistent: no temporal plate can remove them) and the plate's error elsewhere. Baseline: the plain
   temporal median over uncovered frames. Scenes: `--kubric DIR`, else 16 rendered here (needs bpy).
3. Paste rim: a red object with antialiased edges on a green source background pasted onto blue; the share
   of changed pixels holding more than 10% of the source green, hard edge vs the default soft matte.

    python benchmarks/generate_footage.py [--size 256] [--frames 24] [--clips 4] [--samples 8] [--kubric DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from genomni.baselines import clean_plate
from genomni.footage import dilate
from genomni.generators.objectpaste import PasteConfig, run_objectpaste, soft_alpha
from genomni.generators.run import RunOptions
from genomni.generators.tripod import TripodConfig, run_tripod
from genomni.media import write_video
from genomni.metrics import psnr01
from genomni.shards import iter_samples


def footage(folder: Path, size: int, frames: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    bg = np.repeat(rng.integers(40, 220, (1, size, size, 3), dtype=np.uint8), frames, 0)
    video, mask = bg.copy(), np.zeros((frames, size, size), np.uint8)
    s = size // 8
    for k in range(frames):
        x = size // 10 + k * (size // 2) // frames
        y = size // 3
        video[k, y + s // 2 : y + s + s // 2, x + s // 3 : x + s + s // 3] //= 2  # shadow
        mask[k, y : y + s, x : x + s] = 255
    video[mask > 0] = (230, 40, 40)
    write_video(folder / "input.mkv", video, 24.0)
    write_video(folder / "masks" / "square", mask)
    (folder / "caption.txt").write_text("A textured wall.\n")


def _smooth_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a.astype(np.float32) - b.astype(np.float32)).mean(-1)
    return np.abs(np.stack([cv2.GaussianBlur(x, (0, 0), 1.5) for x in d]))


def _plain_median(video: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plate = np.nanmedian(np.where(holes[..., None], np.nan, video.astype(np.float32)), axis=0)
    return np.nan_to_num(plate).round().astype(np.uint8), ~(~holes).any(0)


def effect_retention(root: Path) -> list[str]:
    totals = {name: [0, 0, 0, [], []] for name in ("plain temporal median", "genomni plate")}
    copy_psnr: list[float] = []
    scenes = 0
    for s in iter_samples(root):
        if s.meta.get("kept_ids") or s.meta["scene"]["camera"]["azimuth_sweep"]:
            continue  # one remove-all sample per static-camera scene
        scenes += 1
        masks = np.stack([s.extras["instances"] == i for i in s.meta["object_ids"]]).any(0)
        holes = dilate(masks, 2)
        dif = _smooth_diff(s.input, s.target)
        effect = (dif > 6) & ~holes
        seen = effect & ((dif <= 3) & ~holes).any(0)[None]
        copy_psnr.append(psnr01(s.input[~holes] / 255, s.target[~holes] / 255))
        for name, fn in (("plain temporal median", _plain_median), ("genomni plate", clean_plate)):
            plate, never = fn(s.input, holes)
            off = _smooth_diff(np.broadcast_to(plate, s.target.shape), s.target) > 6
            t = totals[name]
            t[0] += seen.sum()
            t[1] += (seen & off).sum()
            t[2] += effect.sum()
            t[3].append(off[~effect & ~holes & ~never[None]].mean())
            t[4].append(psnr01(np.broadcast_to(plate, s.target.shape)[~holes] / 255, s.target[~holes] / 255))
    lines = [
        f"\nTripod plate on {scenes} static-camera kubric scenes ({root}):\n",
        "| plate | effect pixels seen clean once: kept in the plate | effect pixels never seen clean | "
        "plate off by > 6 elsewhere | PSNR outside the masks (scenes better / worse than copy-input) |",
        "|---|---|---|---|---|",
    ]
    for name, (seen_n, kept, eff, rest, psnr) in totals.items():
        better = sum(a > b + 0.01 for a, b in zip(psnr, copy_psnr))
        worse = sum(a < b - 0.01 for a, b in zip(psnr, copy_psnr))
        lines.append(
            f"| {name} | {100 * kept / max(1, seen_n):.1f}% of {seen_n} | {100 * (eff - seen_n) / max(1, eff):.0f}% of "
            f"{eff} | {100 * np.mean(rest):.2f}% | {np.mean(psnr):.2f} dB ({better} / {worse}) |"
        )
    lines.append(f"| copy-input (the target is the input) | - | - | - | {np.mean(copy_psnr):.2f} dB |")
    return lines


def rim_share() -> list[str]:
    h, w = 48, 64
    red, green, blue = np.array([230, 40, 40.0]), np.array([30, 200, 30.0]), np.array([60, 60, 160.0])
    cover = np.zeros((1, h, w), np.float32)
    cover[0, 12:28, 8:24] = 1
    cover[0] = cv2.GaussianBlur(cover[0], (0, 0), 1.0)
    source = cover[..., None] * red + (1 - cover[..., None]) * green
    mask = cover > 0.5
    basis = np.vstack([np.stack([red, green, blue], 1), np.ones((1, 3))])
    lines = [
        "\nPaste rim (a red object with antialiased edges on green, pasted on blue):\n",
        "| edge | changed pixels with > 10% source green |",
        "|---|---|",
    ]
    for name, (erode, feather) in (("hard (--edge-erode 0 --edge-feather 0)", (0, 0.0)), ("soft matte (default)", (1, 1.0))):
        a = soft_alpha(mask, erode, feather)[..., None]
        out = a * source + (1 - a) * blue
        px = out[a[..., 0] > 0]
        weights = np.linalg.lstsq(basis, np.hstack([px, np.ones((len(px), 1))]).T, rcond=None)[0]
        lines.append(f"| {name} | {100 * (weights[1] > 0.1).mean():.1f}% |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--kubric", type=Path, default=None, help="kubric shard dir (static camera scenes are used)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folders = []
        for i in range(args.clips):
            footage(tmp / f"clip{i}", args.size, args.frames, i)
            folders.append(str(tmp / f"clip{i}"))
        rows = []
        t0 = time.perf_counter()
        s = run_tripod(TripodConfig(inputs=folders), RunOptions(tmp / "tripod", progress=False))
        rows.append(("tripod", s.samples, time.perf_counter() - t0))
        t0 = time.perf_counter()
        s = run_objectpaste(
            PasteConfig(objects=folders, backgrounds=folders, num_samples=args.samples, caption="A wall."),
            RunOptions(tmp / "paste", progress=False),
        )
        rows.append(("objectpaste", s.samples, time.perf_counter() - t0))
        t0 = time.perf_counter()
        s = run_objectpaste(
            PasteConfig(objects=folders, backgrounds=folders, num_samples=args.samples, caption="A wall.", shadow_prob=1.0),
            RunOptions(tmp / "paste-shadow", progress=False),
        )
        rows.append(("objectpaste + shadow", s.samples, time.perf_counter() - t0))
        kubric = args.kubric
        if kubric is None:
            kubric = tmp / "kubric"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "genomni.cli",
                    "generate",
                    "kubric",
                    "--out",
                    str(kubric),
                    "--num-scenes",
                    "16",
                    "--frames",
                    "24",
                    "--resolution",
                    "64",
                    "--samples",
                    "16",
                    "--max-objects",
                    "3",
                    "--seed",
                    "500",
                    "--camera-motion-prob",
                    "0",
                    "--no-progress",
                ],
                check=True,
                capture_output=True,
            )
        retention = effect_retention(kubric)
    base = rows[0][1] / rows[0][2]
    print(f"{args.size} px, {args.frames} frames, 1 process, FFV1 shards, including source decoding:\n")
    print("| generator | samples | seconds | samples/s | vs tripod |")
    print("|---|---|---|---|---|")
    for name, n, sec in rows:
        print(f"| {name} | {n} | {sec:.1f} | {n / sec:.2f} | {n / sec / base:.2f}x |")
    print("\n".join(retention + rim_share()))


if __name__ == "__main__":
    main()
