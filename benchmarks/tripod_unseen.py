"""Tripod targets where the floor is never seen clean, against the truth: static-camera kubric scenes (objects fall
and come to rest, so their shadows and bounce light lie on the same floor in every frame) whose true clean
background is the remove-all target. Each scene is written as a footage folder (input, one mask per object) and
run through `generate tripod` with every clip kept (`--max-uncovered 1`) under three rules:

- `--effect-reach 0`: the earlier rule; only the pixels under an object in every frame are filled (Telea);
- the default `--effect-reach 0.1`: also the pixels within a tenth of the frame of those (a resting object's
  shadow and contact light lie there in every frame);
- the same with `--fill`: those pixels taken from `genomni remove` of the clip with a trained Casper model.

Scored against the truth outside the objects' grown masks: the share of the true effect pixels (smoothed |input -
truth| above 6 levels) that the target still holds (smoothed |target - truth| above 6), the target's PSNR, and its
PSNR inside the filled pixels; and how many clips the default `--max-uncovered 0` keeps under each reach.

    python benchmarks/tripod_unseen.py --model MODEL_DIR [--scenes 16] [--out bench_out/tripod_unseen]

MODEL_DIR: a pixel Casper model trained at 64 px (benchmarks/casper_proof.py makes one).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from genomni.errors import GenomniError
from genomni.generators.run import RunOptions
from genomni.generators.tripod import TripodConfig, no_clean_view, run_tripod
from genomni.media import write_video
from genomni.metrics import psnr01
from genomni.shards import iter_samples

GENOMNI = [sys.executable, "-m", "genomni.cli"]


def smooth_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import cv2

    d = (a.astype(np.float32) - b.astype(np.float32)).mean(-1)
    return np.abs(np.stack([cv2.GaussianBlur(x, (0, 0), 1.5) for x in d]))


def footage_folders(kubric: Path, root: Path) -> dict[str, np.ndarray]:
    """One footage folder per static-camera remove-all sample; their true clean backgrounds by name."""
    truth = {}
    for s in iter_samples(kubric):
        if s.meta.get("kept_ids") or s.meta["scene"]["camera"]["azimuth_sweep"]:
            continue
        d = root / s.key
        write_video(d / "input.mkv", s.input)
        for i in s.meta["object_ids"]:
            write_video(d / "masks" / f"object{i:02d}.mkv", ((s.extras["instances"] == i) * 255).astype(np.uint8))
        (d / "caption.txt").write_text(s.caption + "\n")
        truth[s.key] = s.target
    return truth


def score(shards: Path, truth: dict[str, np.ndarray]) -> dict:
    """Against the truth; the PSNR of the pixels without a clean view under the default reach for every rule."""

    kept = held = 0
    psnr, psnr_fill = [], []
    for s in iter_samples(shards):
        name = s.meta["footage"]
        true = truth[name]
        holes = s.trimask == 0
        effect = (smooth_diff(s.input, true) > 6) & ~holes
        off = smooth_diff(s.target, true) > 6
        kept += effect.sum()
        held += (effect & off).sum()
        psnr.append(psnr01(s.target[~holes] / 255, true[~holes] / 255))
        never = holes.all(0)  # the grown masks in every frame: no frame uncovers them
        unseen = no_clean_view(never, 0.1) & ~never
        if unseen.any():
            psnr_fill.append(psnr01(s.target[:, unseen] / 255, true[:, unseen] / 255))
    return {"retained": held / max(1, kept), "effect_px": int(kept), "psnr": float(np.mean(psnr)), "psnr_fill": float(np.mean(psnr_fill))}


def sheet(out: Path, truth: dict[str, np.ndarray], rules: int, path: Path) -> None:
    """The last frame of four scenes, enlarged 3x: input | truth | the target under each rule."""
    import cv2

    targets = [{s.meta["footage"]: s for s in iter_samples(out / f"tripod-{k}")} for k in range(rules)]
    names = sorted(targets[0])[:4]
    rows = []
    for name in names:
        s0 = targets[0][name]
        cells = [s0.input[-1], truth[name][-1], *[t[name].target[-1] for t in targets]]
        rows.append(np.concatenate([np.pad(c, ((2, 2), (2, 2), (0, 0)), constant_values=255) for c in cells], 1))
    img = np.concatenate(rows, 0)
    img = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--scenes", type=int, default=16)
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--out", type=Path, default=Path("bench_out/tripod_unseen"))
    ap.add_argument("--sheet", type=Path, default=Path("docs/tripod_unseen.png"), help="contact sheet written here")
    args = ap.parse_args()
    out = args.out
    kubric = out / "kubric"
    if not kubric.exists():
        gen = ["generate", "kubric", "--out", str(kubric), "--num-scenes", str(args.scenes), "--frames", "24", "--resolution", "64"]
        gen += ["--samples", "16", "--max-objects", "3", "--seed", str(args.seed), "--camera-motion-prob", "0", "--no-progress"]
        subprocess.run([*GENOMNI, *gen], check=True)
    shutil.rmtree(out / "footage", ignore_errors=True)
    truth = footage_folders(kubric, out / "footage")
    folders = sorted(str(p) for p in (out / "footage").iterdir())
    fills = out / "fills"
    for f in folders:
        dest = fills / Path(f).name
        if not (dest / "background.mkv").exists():
            shutil.rmtree(dest, ignore_errors=True)
            rm = ["remove", str(Path(f) / "input.mkv"), "--masks-dir", str(Path(f) / "masks"), "--model", str(args.model)]
            subprocess.run([*GENOMNI, *rm, "--out", str(dest), "--format", "mkv", "--no-progress"], check=True, capture_output=True)
    rules = {
        "--effect-reach 0 (Telea under the objects only)": {"effect_reach": 0.0},
        "--effect-reach 0.1, Telea": {"effect_reach": 0.1},
        "--effect-reach 0.1, --fill (Casper removal)": {"effect_reach": 0.1, "fill": str(fills)},
    }
    rows = []
    for name, rule in rules.items():
        shards = out / f"tripod-{len(rows)}"
        shutil.rmtree(shards, ignore_errors=True)
        run_tripod(TripodConfig(inputs=folders, max_uncovered=1.0, **rule), RunOptions(shards, progress=False))
        default = out / f"tripod-default-{len(rows)}"
        shutil.rmtree(default, ignore_errors=True)
        reach = rule["effect_reach"]
        try:
            kept_clips = run_tripod(TripodConfig(inputs=folders, effect_reach=reach), RunOptions(default, progress=False)).samples
        except GenomniError:  # no clip passes: the run says so
            kept_clips = 0
        rows.append((name, score(shards, truth), kept_clips))
    n = len(folders)
    print(f"\n{n} static-camera kubric scenes (64 px, 24 frames, seed {args.seed}), every clip kept (--max-uncovered 1):\n")
    print(
        "| rule | true effect pixels kept in the target | target PSNR outside the objects | PSNR in the pixels without a "
        "clean view | clips kept at --max-uncovered 0 |"
    )
    print("|---|---|---|---|---|")
    for name, r, kept_clips in rows:
        kept = f"{100 * r['retained']:.1f}% of {r['effect_px']}"
        print(f"| {name} | {kept} | {r['psnr']:.2f} dB | {r['psnr_fill']:.2f} dB | {kept_clips} of {n} |")
    sheet(out, truth, len(rules), args.sheet)
    copy = [psnr01(s.input[s.trimask != 0] / 255, truth[s.meta["footage"]][s.trimask != 0] / 255) for s in iter_samples(out / "tripod-0")]
    print(f"\ncopy-input (the target is the input): {np.mean(copy):.2f} dB outside the objects")


if __name__ == "__main__":
    main()
