"""How clean are generated kubric pairs? Render the same scenes at the default samples per pixel, with and
without OpenImageDenoise, and at many samples as a reference, then measure against the reference's effects:

- noise figure (the issue's goal: < 0.05% of pixels farther than 4 px from the objects and their true effects
  differ between input and target by more than 6 levels, none by more than 16); the true effects are the
  reference pair's pixels that differ by more than 6 levels or coherently (the same detector, on a render
  with 8x the samples);
- effect kept: the share of strong true effect pixels (the reference's removed shadows and reflections,
  more than 6 levels) that the sample's target does change (by more than 3 levels);
- seconds per scene (`dataset.json`).

    python benchmarks/kubric_pairs.py --out bench_out/pairs [--scenes 8 --resolution 64 --frames 9 --ref-samples 128]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from genomni.effects import effect_region
from genomni.footage import dilate
from genomni.shards import iter_samples


def generate(out: Path, args: argparse.Namespace, samples: int, denoise: bool) -> None:
    if (out / "dataset.json").exists():
        return
    cmd = [
        sys.executable,
        "-m",
        "genomni.cli",
        "generate",
        "kubric",
        "--out",
        str(out),
        "--num-scenes",
        str(args.scenes),
        "--resolution",
        str(args.resolution),
        "--frames",
        str(args.frames),
        "--samples",
        str(samples),
        "--seed",
        str(args.seed),
        "--denoise" if denoise else "--no-denoise",
        "--no-progress",
    ]
    subprocess.run(cmd, check=True)


def measure(run: Path, ref: Path) -> dict:
    reference = {s.key: s for s in iter_samples(ref)}
    far_big, far_n, worst, kept, effect_n = 0, 0, 0, 0, 0
    for s in iter_samples(run):
        r = reference.get(s.key)
        if r is None or r.meta["scene_attempt"] != s.meta["scene_attempt"]:
            continue  # QC resampled the scene differently: not the same scene
        removed = s.trimask == 0
        # the reference's effects: what differs by more than 6 levels (strong), or coherently (`effects.effect_region`)
        strong = (np.abs(r.input.astype(int) - r.target).max(-1) > 6) & ~removed
        truth = strong | effect_region(r.input, r.target, removed)
        diff = np.abs(s.input.astype(int) - s.target).max(-1)
        far = ~dilate(removed | truth, 4)
        far_big += int((diff[far] > 6).sum())
        far_n += int(far.sum())
        worst = max(worst, int(diff[far].max()) if far.any() else 0)
        kept += int((diff[strong] > 3).sum())
        effect_n += int(strong.sum())
    card = json.loads((run / "dataset.json").read_text())
    return {
        "noise_frac": far_big / max(1, far_n),
        "noise_max": worst,
        "effect_kept": kept / max(1, effect_n),
        "seconds_per_scene": card.get("mean_seconds_per_scene"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench_out/pairs"))
    ap.add_argument("--scenes", type=int, default=8)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--ref-samples", type=int, default=128)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    runs = {f"{args.samples} spp, denoised": (args.samples, True), f"{args.samples} spp, not denoised": (args.samples, False)}
    ref = args.out / "reference"
    generate(ref, args, args.ref_samples, True)
    rows = {}
    for name, (spp, den) in runs.items():
        d = args.out / name.replace(" ", "").replace(",", "-")
        generate(d, args, spp, den)
        rows[name] = measure(d, ref)
    (args.out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(
        f"| pairs ({args.scenes} scenes, {args.resolution} px, {args.frames} frames; truth: {args.ref_samples} spp denoised) "
        "| far pixels > 6 levels | largest far difference | true effect kept | s per scene |\n|---|---|---|---|---|"
    )
    for name, r in rows.items():
        print(f"| {name} | {100 * r['noise_frac']:.3f}% | {r['noise_max']} | {100 * r['effect_kept']:.1f}% | {r['seconds_per_scene']} |")


if __name__ == "__main__":
    main()
