"""Omnimatte optimization quality against time, with an oracle Casper: generated kubric scenes give
the true solo and background videos, so only the layer optimization is measured.

For each object of each scene: the solo render is the input, the background render the background,
the object's instance mask the mask. The true layer region is the object plus every pixel where the
solo and background differ by more than 6 levels (its shadow and reflection). Reported per
iteration budget: wall time, reconstruction PSNR before detail transfer (what the optimization
itself reached), after it, and alpha IoU (alpha > 0.1) against the true region.

    genomni generate kubric --out bench_out/om128 --num-scenes 2 --resolution 128 --frames 12 --seed 5
    genomni generate kubric --out bench_out/om256 --num-scenes 2 --resolution 256 --frames 12 --seed 5
    python benchmarks/omnimatte.py bench_out/om128 bench_out/om256 [--budgets 50,100,200,400]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from genomni.inference.omnimatte import OmnimatteConfig, optimize_layer
from genomni.shards import iter_samples


def pairs(shard_dir: str, limit: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(solo, background, object mask, true layer region) for the first `limit` objects."""
    samples = list(iter_samples(shard_dir))
    backgrounds = {s.meta["scene_index"]: s.target for s in samples if not s.meta["kept_ids"]}
    out = []
    for s in samples:
        if len(s.meta["kept_ids"]) != 1 or s.meta["scene_index"] not in backgrounds:
            continue
        bg = backgrounds[s.meta["scene_index"]]
        mask = s.extras["instances"] == s.meta["kept_ids"][0]
        effect = np.abs(s.target.astype(int) - bg.astype(int)).max(-1) > 6
        out.append((s.target, bg, mask, mask | effect))
        if len(out) == limit:
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--budgets", default="50,100,200,400")
    ap.add_argument("--objects", type=int, default=3)
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    print("| size | coarse + fine iterations | s/layer | recon PSNR before transfer (dB) | after transfer (dB) | alpha IoU |")
    print("|---|---|---|---|---|---|")
    for d in args.dirs:
        data = pairs(d, args.objects)
        size = f"{data[0][0].shape[2]}x{data[0][0].shape[1]}, {data[0][0].shape[0]} frames"
        for b in budgets:
            cfg = OmnimatteConfig(coarse_iters=b, fine_iters=b // 4)
            rows = []
            for solo, bg, mask, region in data:
                t0 = time.perf_counter()
                layer = optimize_layer(solo, bg, mask, cfg)
                found = layer.alpha > 0.1
                iou = (found & region).sum() / max(1, (found | region).sum())
                rows.append((time.perf_counter() - t0, layer.stats["recon_psnr_before_transfer"], layer.stats["recon_psnr"], iou))
            m = np.mean(rows, axis=0)
            print(f"| {size} | {b} + {b // 4} | {m[0]:.1f} | {m[1]:.2f} | {m[2]:.2f} | {m[3]:.3f} |")


if __name__ == "__main__":
    main()
