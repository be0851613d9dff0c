"""Omnimatte optimization quality against time and against ground-truth layers, with an oracle Casper:
generated kubric scenes give the true solo and background videos, so only the layer optimization is
measured, and each object's true layer over the background (`generators.kubric.truth_layers.layer_of` of its solo
target over the background target: what the object alone does to the scene, which is what an optimizer given
that solo video can recover) says what the layer should be.

For each object of each scene: the solo target is the input, the background target the background, the
object's instance mask the mask, the other objects' masks its `others` (as `decompose` passes them). Reported
per iteration budget (`eval.layers.score_layer`): wall time per layer, reconstruction PSNR before detail
transfer (what the optimization itself reached), alpha IoU (alpha > 0.1), alpha MAE in the object and the
effect region, and the re-composite PSNR over another background against the true layer's.

    genomni generate kubric --out bench_out/om128 --num-scenes 2 --resolution 128 --frames 12 --seed 5 --layers
    python benchmarks/omnimatte.py bench_out/om128 [--budgets 0+0,100,400+25] [--objects 3]

A budget N is N coarse + N/4 full-size iterations; C+F gives both. 0+0 (the default of `decompose`) is no
optimization: the layer by its rule alone, the least alpha that explains the solo inside the coherent
difference, which is how the truth itself is derived from the same renders, so on oracle inputs it scores well
by construction; noisy or refilled inputs, and `genomni eval --decompose` with a trained Casper, are the fair tests.
`--input-noise S` adds independent Gaussian noise of S levels to the solo and the background the optimizer
sees (not to the truth): a removal model's outputs differ from each other by more than the renders' shared
noise, and a layer must not take that difference in. `--inpaint-others` refills the other objects' places in
the solo (`refill_others`), as a removal model's separate runs fill them differently.

`--peer DIR` also runs the public reimplementation's optimizer (a checkout of gen-omnimatte-public: its
`omnimatte/` package and `config/default_omnimatte.py`, used as they are) on the same layers at `--peer-steps`
(default: its own 6,000), scored the same way, in the same table (see `peer_layer`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
import types
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from genomni.eval.layers import score_layer
from genomni.footage import dilate
from genomni.generators.kubric.truth_layers import layer_of
from genomni.inference.omnimatte import OmnimatteConfig, optimize_layer
from genomni.layers import from_rgba8
from genomni.metrics import psnr_of_mse
from genomni.shards import iter_samples


def pairs(shard_dir: str, limit: int, noise: float = 0.0, inpaint_others: bool = False) -> list[tuple[np.ndarray, ...]]:
    """(solo, background, object mask, true layer RGBA, the other objects' masks) for the first `limit` objects
    (the masks from the full scene, as `decompose` has them); with `noise` > 0 the solo
    and background carry independent Gaussian noise of that many levels (seeded), the truth does not; with
    `inpaint_others` the solo's pixels where the other objects stood are refilled (`refill_others`)."""
    rng = np.random.default_rng(0)

    def noisy(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x + rng.normal(0.0, noise, x.shape)), 0, 255).astype(np.uint8) if noise else x

    samples = list(iter_samples(shard_dir))
    scenes = {s.meta["scene_index"]: s for s in samples if not s.meta["kept_ids"]}
    out = []
    for s in samples:
        if len(s.meta["kept_ids"]) != 1 or s.meta["scene_index"] not in scenes:
            continue
        full = scenes[s.meta["scene_index"]]
        oid = s.meta["kept_ids"][0]
        truth = layer_of(full.target, s.target, full.extras["instances"] == oid)
        inst = full.extras["instances"]
        solo = refill_others(s.target, inst, oid) if inpaint_others else s.target
        out.append((noisy(solo), noisy(full.target), s.extras["instances"] == oid, truth, (inst > 0) & (inst != oid)))
        if len(out) == limit:
            break
    return out


def refill_others(solo: np.ndarray, instances: np.ndarray, oid: int, grow: int = 4) -> np.ndarray:
    """The solo video with the other objects' places (their masks in the full scene, grown by `grow` px, off this
    object) refilled by cv2's Telea inpainting: as a removal model's two runs (this solo, the background) each
    fill the removed objects' places their own way, the solo and background then differ there coherently, and
    none of it is this object's layer."""
    places = dilate((instances > 0) & (instances != oid), grow) & ~dilate(instances == oid, grow)
    out = solo.copy()
    for t in range(len(solo)):
        if places[t].any():
            out[t] = cv2.inpaint(solo[t], places[t].astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return out


def load_peer(repo: Path) -> tuple[Any, Any]:
    """gen-omnimatte-public's `OmnimatteOptimizer` class and `get_config` function, imported from a checkout.

    Its modules import SAM2, VideoX-Fun, mediapy, loguru and ml_collections at the top for segmentation, data
    loading, video writing, logging and config parsing; the optimizer itself uses none of them, so those names
    are stubbed here (hand-written: the alternative is installing SAM2 and VideoX-Fun, which pull torchvision)."""
    if not (repo / "omnimatte" / "optimization.py").is_file():
        raise SystemExit(f"{repo}: not a gen-omnimatte-public checkout (no omnimatte/optimization.py)")

    def unused(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("stubbed: not used by the optimizer")

    class ConfigDict(types.SimpleNamespace):
        def to_dict(self) -> dict:
            return {k: v.to_dict() if isinstance(v, ConfigDict) else v for k, v in vars(self).items()}

    stubs = {
        "sam2": {},
        "sam2.build_sam": {"build_sam2_video_predictor": unused},
        "videox_fun": {},
        "videox_fun.utils": {},
        "videox_fun.utils.utils": {"apply_colormap": unused, "get_video_mask_input": unused},
        "mediapy": {},
        "loguru": {"logger": types.SimpleNamespace(info=print, debug=print)},
        "ml_collections": {"ConfigDict": ConfigDict},
    }
    for name, attrs in stubs.items():
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
            vars(sys.modules[name]).update(attrs)
    package = types.ModuleType("omnimatte")  # its folder has no __init__.py, and this script's name would shadow it
    package.__path__ = [str(repo / "omnimatte")]
    sys.modules["omnimatte"] = package
    optimizer = importlib.import_module("omnimatte.optimization").OmnimatteOptimizer
    spec = importlib.util.spec_from_file_location("peer_default_omnimatte", repo / "config" / "default_omnimatte.py")
    config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config)
    return optimizer, config.get_config


def peer_layer(
    peer: tuple[Any, Any], solo: np.ndarray, bg: np.ndarray, mask: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """One layer by the public optimizer at its default configuration (`num_steps` = `steps`), as its
    `inference/reconstruct_omnimatte.py` runs it with a given solo and background video: the object mask eroded
    by a square of its 5 px at 672 px scaled to this size (1 px, i.e. none, at 128 px; SAM2 re-segmentation off:
    the masks are exact), its seed 43, then its detail transfer (the input's pixels where the layer's alpha
    > 0.98 or inside the mask). Returns (alpha, rgb, fit PSNR before transfer)."""
    optimizer_cls, get_config = peer
    cfg = get_config()
    cfg.omnimatte.log_dir = ""
    cfg.omnimatte.num_steps = steps
    cfg.system.device = "cpu"
    width = max(1, round(5 * max(solo.shape[1:3]) / 672))
    m = np.stack([cv2.erode(f.astype(np.uint8), np.ones((width, width), np.uint8)) for f in mask])
    torch.manual_seed(cfg.system.seed)
    np.random.seed(cfg.system.seed)
    xy = torch.from_numpy(solo).permute(0, 3, 1, 2).float() / 255.0
    y = torch.from_numpy(bg).permute(0, 3, 1, 2).float() / 255.0
    init = torch.from_numpy(m).float()[:, None]
    out = optimizer_cls(cfg, XY=xy, Y=y, init_mask=init, device="cpu").run()
    alpha = out["X_alpha"][:, 0].numpy().astype(np.float64)
    rgb = out["X_rgb"].permute(0, 2, 3, 1).numpy().astype(np.float64)
    fit = float(((rgb * alpha[..., None] + (1 - alpha[..., None]) * y.permute(0, 2, 3, 1).numpy() - solo / 255.0) ** 2).mean())
    transfer = ((alpha > 0.98) | (m > 0))[..., None]
    rgb = np.where(transfer, solo / 255.0, rgb)
    return alpha, rgb, psnr_of_mse(fit)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--budgets", default="0+0,400+25")
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--input-noise", type=float, default=0.0, help="levels of independent noise on the inputs")
    ap.add_argument("--inpaint-others", action="store_true", help="refill the other objects' places in the solo")
    ap.add_argument("--peer", type=Path, help="a gen-omnimatte-public checkout: also run its optimizer")
    ap.add_argument("--peer-steps", default="6000")
    args = ap.parse_args()
    budgets = [tuple(int(x) for x in b.split("+")) if "+" in b else (int(b), int(b) // 4) for b in args.budgets.split(",")]
    peer = load_peer(args.peer) if args.peer else None
    print(
        "| size | coarse + fine iterations | s/layer | s to 35 dB (coarse / full size) | fit PSNR before transfer | "
        "alpha IoU | alpha MAE object | alpha MAE effect | effect IoU | re-composite PSNR |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d in args.dirs:
        data = pairs(d, args.objects, args.input_noise, args.inpaint_others)
        size = f"{data[0][0].shape[2]}x{data[0][0].shape[1]}, {data[0][0].shape[0]} frames"
        for coarse, fine in budgets:
            cfg = OmnimatteConfig(coarse_iters=coarse, fine_iters=fine)
            rows, to35 = [], []
            for solo, bg, mask, truth, others in data:
                t0 = time.perf_counter()
                layer = optimize_layer(solo, bg, mask, cfg, others=others)
                seconds = time.perf_counter() - t0
                to35.append((layer.stats["coarse_s_to_35db"], layer.stats["full_size_s_to_35db"]))
                rows.append(_row(seconds, layer.stats["recon_psnr_before_transfer"], (layer.alpha, layer.rgb), truth, mask, bg))
            reach = " / ".join(_mean_reached([r[k] for r in to35]) for k in (0, 1)) if cfg.optimizes else "- (no fit)"
            _print(size, f"ours, {coarse} + {fine}", reach, rows)
        for steps in [int(x) for x in args.peer_steps.split(",")] if peer else []:
            rows = []
            for solo, bg, mask, truth, _ in data:
                t0 = time.perf_counter()
                alpha, rgb, fit = peer_layer(peer, solo, bg, mask, steps)
                rows.append(_row(time.perf_counter() - t0, fit, (alpha, rgb), truth, mask, bg))
            _print(size, f"gen-omnimatte-public, {steps} steps", "-", rows)


def _row(
    seconds: float, fit: float, layer: tuple[np.ndarray, np.ndarray], truth: np.ndarray, mask: np.ndarray, bg: np.ndarray
) -> tuple[float, ...]:
    """One layer's table figures: seconds, fit before transfer and the truth-based scores."""
    sc = score_layer(layer, from_rgba8(truth), mask, bg)
    return (seconds, fit, sc.alpha_iou, sc.alpha_mae_object, sc.alpha_mae_effect, sc.alpha_iou_effect, sc.recomposite_psnr)


def _print(size: str, method: str, reach: str, rows: list[tuple[float, ...]]) -> None:
    m = np.nanmean(np.array(rows, dtype=float), axis=0)
    print(
        f"| {size} | {method} | {m[0]:.1f} | {reach} | {m[1]:.2f} | {m[2]:.3f} | {m[3]:.3f} | {m[4]:.3f} | {m[5]:.3f} | {m[6]:.2f} |",
        flush=True,
    )


def _mean_reached(times: list[float | None]) -> str:
    """Mean seconds over the layers that reached 35 dB, and how many did."""
    hit = [t for t in times if t is not None]
    return f"{np.mean(hit):.1f} ({len(hit)}/{len(times)})" if hit else f"never (0/{len(times)})"


if __name__ == "__main__":
    main()
