"""Pasted shadows against real ones: how dark a shadow's core is, and how much bluer than the lit ground.

Real: three clips of the public reimplementation's `examples/` with sunlit shadows on sand (davis_kite-walk,
davis_camel, boys-beach), their middle frame, in a box drawn around one visible shadow by looking at the frame
(BOXES; 640x384 pixels). genomni: `generate objectpaste --shadow-prob 1` of the same clips' objects onto a sand-like
floor, each sample's middle frame in its recorded shadow box. One rule measures both: outside the objects' masks
(grown 3 px) the box's luminance is split by Otsu; the shadow's core is the dark class eroded by 3x3, the lit ground
the bright class eroded by 5x5; per channel, median(core) / median(lit).

    python benchmarks/real_shadows.py --examples /tmp/ex [--samples 24] [--sheet docs/pasted_shadows.png]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from genomni.footage import dilate
from genomni.media import read_video, write_video
from genomni.shards import iter_samples

BOXES = {"davis_kite-walk": (400, 268, 560, 300), "davis_camel": (180, 300, 460, 360), "boys-beach": (255, 238, 335, 262)}


def core_ratio(frame: np.ndarray, objects: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Per-channel and luminance median(shadow core) / median(lit ground) of one (H,W,3) box, objects left out."""
    f = frame.astype(np.float32)
    lum = f.mean(-1)
    free = ~dilate(objects[None], 3)[0]
    if free.sum() < 50:
        return None
    t, _ = cv2.threshold(lum[free].astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    core = cv2.erode(((lum < t) & free).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    lit = cv2.erode(((lum >= t) & free).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if core.sum() < 5 or lit.sum() < 20:
        return None
    ratio = np.median(f[core], 0) / np.median(f[lit], 0)
    return ratio, float(np.median(lum[core]) / np.median(lum[lit]))


def real(examples: Path) -> dict[str, tuple[np.ndarray, float]]:
    out = {}
    for name, (x0, y0, x1, y1) in BOXES.items():
        video, _ = read_video(examples / name / "input_video.mp4")
        masks = np.stack([read_video(p, gray=True)[0] > 127 for p in sorted((examples / name).glob("mask_*.mp4"))]).any(0)
        mid = len(video) // 2
        got = core_ratio(video[mid, y0:y1, x0:x1], masks[mid, y0:y1, x0:x1])
        if got is not None:
            out[name] = got
    return out


def pasted(examples: Path, samples: int, work: Path, sheet: Path | None = None) -> list[tuple[np.ndarray, float]]:
    rng = np.random.default_rng(0)
    floor = cv2.GaussianBlur(rng.normal(0, 12, (384, 640, 3)).astype(np.float32), (0, 0), 1.0) + (205, 185, 150)
    write_video(work / "floor.mkv", np.repeat(np.clip(floor, 0, 255).astype(np.uint8)[None], 12, 0))
    objects = [a for n in BOXES for a in ("--objects", str(examples / n))]
    args = [sys.executable, "-m", "genomni.cli", "generate", "objectpaste", *objects, "--backgrounds"]
    args += [str(work / "floor.mkv"), "--num-samples", str(samples), "--frames", "12", "--shadow-prob", "1", "--caption", "Sand."]
    subprocess.run([*args, "--out", str(work / "ds"), "--no-progress"], check=True, capture_output=True)
    found, frames = [], []
    for s in iter_samples(work / "ds"):
        if s.meta["shadow"] is None:
            continue
        y0, y1, x0, x1 = s.meta["shadow"]["region_box"]
        mid = len(s.input) // 2
        got = core_ratio(s.input[mid, y0:y1, x0:x1], (s.trimask[mid] == 0)[y0:y1, x0:x1])
        if got is not None:
            found.append(got)
            frames.append(s.input[mid])
    if sheet is not None and len(frames) >= 4:  # four pasted shadows, half size, two by two
        small = [cv2.resize(f, (320, 192), interpolation=cv2.INTER_AREA) for f in frames[:4]]
        grid = np.concatenate([np.concatenate(small[:2], 1), np.concatenate(small[2:], 1)], 0)
        cv2.imwrite(str(sheet), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=Path, required=True, help="gen-omnimatte-public's examples/ folder")
    ap.add_argument("--samples", type=int, default=24)
    ap.add_argument("--sheet", type=Path, default=Path("docs/pasted_shadows.png"), help="four pasted shadows drawn here")
    args = ap.parse_args()
    print("| shadow | core / lit, luminance | R | G | B | blue darkening / red darkening |\n|---|---|---|---|---|---|")
    for name, (ratio, lum) in real(args.examples).items():
        share = (1 - ratio[2]) / (1 - ratio[0])
        print(f"| real: {name} | {lum:.2f} | {ratio[0]:.2f} | {ratio[1]:.2f} | {ratio[2]:.2f} | {share:.2f} |")
    with tempfile.TemporaryDirectory() as tmp:
        found = pasted(args.examples, args.samples, Path(tmp), args.sheet)
    lums = np.array([lum for _, lum in found])
    shares = np.array([(1 - r[2]) / (1 - r[0]) for r, _ in found])
    q = lambda a: f"{np.percentile(a, 10):.2f} / {np.median(a):.2f} / {np.percentile(a, 90):.2f}"  # noqa: E731
    ratios = np.stack([r for r, _ in found])
    print(
        f"| genomni objectpaste, {len(found)} shadows (10th / 50th / 90th percentile) | {q(lums)} | {q(ratios[:, 0])} | "
        f"{q(ratios[:, 1])} | {q(ratios[:, 2])} | {q(shares)} |"
    )


if __name__ == "__main__":
    main()
