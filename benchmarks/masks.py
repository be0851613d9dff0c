"""Speed and memory of `genomni masks` at 640x384 on this CPU: SAM 2.1 tiny and large (their published Hiera
sizes, random weights set so the object is seen in every frame: the cost does not depend on what the weights
see, but a track that loses its object does less work) tracking one object from one click, and the
motion method on a constructed static-camera clip whose true masks are known (its IoU is printed too).

Each measurement runs in its own process, so its peak memory (ru_maxrss) is its own; the motion method's
frames per second are the baseline the SAM 2 ratios are given against.

    python benchmarks/masks.py            # the table
    python benchmarks/masks.py --frames 8 # SAM 2 frames tracked (the motion method always gets 48)
    python benchmarks/masks.py --frames 24 --window 4   # adds SAM 2.1 tiny tracked in windows of 4 frames
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import cv2
import numpy as np

HEIGHT, WIDTH = 384, 640

# The Hiera sizes of the released SAM 2.1 checkpoints (sam2.1_hiera_t.yaml and sam2.1_hiera_l.yaml in
# facebookresearch/sam2); transformers' Sam2 defaults are the tiny one.
HIERA = {
    "tiny": {},
    "large": {
        "hidden_size": 144,
        "embed_dim_per_stage": [144, 288, 576, 1152],
        "num_attention_heads_per_stage": [2, 4, 8, 16],
        "blocks_per_stage": [2, 6, 36, 4],
        "window_size_per_stage": [8, 4, 16, 8],
        "global_attention_blocks": [23, 33, 43],
    },
}


def clip(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(video, truth (3,T,H,W)): three textured objects with shadows crossing a textured floor, sensor noise."""
    rng = np.random.default_rng(seed)
    floor = cv2.GaussianBlur(rng.uniform(0, 255, (HEIGHT, WIDTH, 3)).astype(np.float32), (0, 0), 3.0)
    floor = np.clip((floor - floor.mean()) * 4 + 128, 15, 240)
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    video, truth = np.empty((frames, HEIGHT, WIDTH, 3), np.uint8), np.zeros((3, frames, HEIGHT, WIDTH), bool)
    paths = [((60, 90), (560, 120), 40), ((600, 300), (100, 260), 30), ((320, 40), (360, 330), 25)]
    colours = [(210, 50, 40), (40, 90, 220), (60, 200, 70)]
    for k in range(frames):
        f, s = floor.copy(), k / max(1, frames - 1)
        for i, ((x0, y0), (x1, y1), r) in enumerate(paths):
            x, y = x0 + s * (x1 - x0), y0 + s * (y1 - y0)
            f[((xx - x - r * 0.6) / (1.3 * r)) ** 2 + ((yy - y - r * 1.2) / (0.5 * r)) ** 2 < 1] *= 0.5
            inside = (xx - x) ** 2 + (yy - y) ** 2 < r * r
            f[inside] = np.array(colours[i]) + 25 * np.sin(xx[inside][:, None] / 4.0)
            truth[i, k] = inside
        video[k] = np.clip(f + rng.normal(0, 2.0, f.shape), 0, 255).round()
    return video, truth


def one_sam2(size: str, frames: int, window: int = 0) -> dict[str, float]:
    import torch
    from transformers import Sam2VideoConfig, Sam2VideoModel
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

    from genomni.masks import Prompt
    from genomni.sam_tracking import IMAGENET_MEAN, IMAGENET_STD, Tracker, track

    torch.manual_seed(0)
    model = Sam2VideoModel(
        Sam2VideoConfig(
            vision_config={
                "backbone_config": {"model_type": "sam2_hiera_det_model", **HIERA[size]},
                **({"backbone_channel_list": [1152, 576, 288, 144]} if size == "large" else {}),
            }
        )
    ).eval()
    with torch.no_grad():  # weights that see the object in every frame (random ones see it nowhere): the work of a
        decoder = model.mask_decoder  # real track, and windows that carry a mask on
        for head in [*decoder.output_hypernetworks_mlps, decoder.pred_obj_score_head]:
            head.proj_out.weight.zero_()
            head.proj_out.bias.fill_(1.0)
        decoder.upscale_conv2.weight.zero_()
        decoder.upscale_conv2.bias.fill_(10.0)
    video, _ = clip(frames)
    times: list[float] = []
    start = time.perf_counter()
    tracker = Tracker(model, Sam2VideoInferenceSession, IMAGENET_MEAN, IMAGENET_STD)
    prompt = Prompt("a", 0, points=((60.0, 90.0, True),))
    track(video, [prompt], tracker, on_frame=lambda: times.append(time.perf_counter()), window=window)
    per_frame = float(np.diff([start, *times])[1:].mean())  # the first frame pays for the session's setup
    return {
        "fps": 1 / per_frame,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def one_motion(frames: int) -> dict[str, float]:
    from genomni.motion_masks import MotionOptions, motion_masks

    video, truth = clip(frames)
    start = time.perf_counter()
    found = motion_masks(video, MotionOptions())
    seconds = time.perf_counter() - start
    ious = [max(((m & t).sum() / (m | t).sum() for m in found.masks), default=0.0) for t in truth]
    return {
        "fps": frames / seconds,
        "objects": len(found.names),
        "iou_min": float(min(ious)),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--window", type=int, default=0, help="also track with SAM 2.1 tiny in windows of this many frames")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        size, _, window = args.one.partition(":")
        result = one_motion(48) if size == "motion" else one_sam2(size, args.frames, int(window or 0))
        print(json.dumps(result))
        return
    rows = {}
    for what in ("motion", "tiny", "large", *([f"tiny:{args.window}"] if args.window else [])):
        cmd = [sys.executable, __file__, "--one", what, "--frames", str(args.frames)]
        rows[what] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    base = rows["motion"]["fps"]
    print(f"{WIDTH}x{HEIGHT}, SAM 2 over {args.frames} frames (the first left out), the motion method over 48\n")
    print("| method | frames/s | vs motion | peak RSS MB | notes |")
    print("|---|---|---|---|---|")
    m = rows["motion"]
    print(f"| motion | {m['fps']:.2f} | 1.00x | {m['peak_mb']:.0f} | {m['objects']:.0f} objects found of 3, IoU >= {m['iou_min']:.3f} |")
    for what in rows:
        if what == "motion":
            continue
        r, (size, _, window) = rows[what], what.partition(":")
        name = f"SAM 2.1 {size}" + (f", --window {window}" if window else "")
        print(f"| {name} | {r['fps']:.2f} | {r['fps'] / base:.3f}x | {r['peak_mb']:.0f} | {r['params_m']:.0f} M parameters |")


if __name__ == "__main__":
    main()
