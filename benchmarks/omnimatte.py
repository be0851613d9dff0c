"""Omnimatte optimization quality against time and against ground-truth layers, with an oracle Casper:
generated kubric scenes give the true solo and background videos, so only the layer optimization is
measured, and their true layers (`generate kubric --layers`, or derived the same way from the samples'
targets: `generators.kubric.generate.truth_layers`) say what each layer should be.

For each object of each scene: the solo target is the input, the background target the background, the
object's instance mask the mask. Reported per iteration budget (`eval.layers.score_layer`): wall time per
layer, reconstruction PSNR before detail transfer (what the optimization itself reached), alpha IoU
(alpha > 0.1), alpha MAE in the object and the effect region, and the re-composite PSNR over another
background against the true layer's.

    genomni generate kubric --out bench_out/om128 --num-scenes 2 --resolution 128 --frames 12 --seed 5 --layers
    python benchmarks/omnimatte.py bench_out/om128 [--budgets 100,400] [--objects 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from genomni.eval.layers import score_layer
from genomni.generators.kubric.generate import truth_layers
from genomni.inference.omnimatte import OmnimatteConfig, optimize_layer
from genomni.layers import from_rgba8
from genomni.shards import iter_samples


def pairs(shard_dir: str, limit: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(solo, background, object mask, true layer RGBA) for the first `limit` objects."""
    samples = list(iter_samples(shard_dir))
    scenes = {s.meta["scene_index"]: s for s in samples if not s.meta["kept_ids"]}
    out = []
    for s in samples:
        if len(s.meta["kept_ids"]) != 1 or s.meta["scene_index"] not in scenes:
            continue
        full = scenes[s.meta["scene_index"]]
        oid = s.meta["kept_ids"][0]
        if "layers" in full.extras:
            truth = full.extras["layers"][full.meta["layer_ids"].index(oid)]
        else:
            truth = truth_layers(full.target, [s.target], full.extras["instances"], [oid])[0]
        out.append((s.target, full.target, s.extras["instances"] == oid, truth))
        if len(out) == limit:
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--budgets", default="100,400")
    ap.add_argument("--objects", type=int, default=3)
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    print("| size | coarse + fine iterations | s/layer | s to 35 dB (coarse / full size) | fit PSNR before transfer | "
          "alpha IoU | alpha MAE object | alpha MAE effect | effect IoU | re-composite PSNR |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d in args.dirs:
        data = pairs(d, args.objects)
        size = f"{data[0][0].shape[2]}x{data[0][0].shape[1]}, {data[0][0].shape[0]} frames"
        for b in budgets:
            cfg = OmnimatteConfig(coarse_iters=b, fine_iters=b // 4)
            rows, to35 = [], []
            for solo, bg, mask, truth in data:
                t0 = time.perf_counter()
                layer = optimize_layer(solo, bg, mask, cfg)
                seconds = time.perf_counter() - t0
                to35.append((layer.stats["coarse_s_to_35db"], layer.stats["full_size_s_to_35db"]))
                sc = score_layer((layer.alpha, layer.rgb), from_rgba8(truth), mask, bg)
                rows.append((seconds, layer.stats["recon_psnr_before_transfer"], sc.alpha_iou, sc.alpha_mae_object,
                             sc.alpha_mae_effect, sc.alpha_iou_effect, sc.recomposite_psnr))
            m = np.nanmean(np.array(rows, dtype=float), axis=0)
            reach = " / ".join(_mean_reached([r[k] for r in to35]) for k in (0, 1))
            print(f"| {size} | {b} + {b // 4} | {m[0]:.1f} | {reach} | {m[1]:.2f} | {m[2]:.3f} | {m[3]:.3f} | {m[4]:.3f} | "
                  f"{m[5]:.3f} | {m[6]:.2f} |", flush=True)


def _mean_reached(times: list[float | None]) -> str:
    """Mean seconds over the layers that reached 35 dB, and how many did."""
    hit = [t for t in times if t is not None]
    return f"{np.mean(hit):.1f} ({len(hit)}/{len(times)})" if hit else f"never (0/{len(times)})"


if __name__ == "__main__":
    main()
