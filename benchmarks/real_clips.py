"""Decompose real footage (the public gen-omnimatte examples) with a model and measure what a user would see: no
ghost of a removed object in the background, layers that hold only their object, peak memory within the pre-check,
time; and draw a contact sheet per clip (input | background | each layer over a checkerboard | each alpha).

    python benchmarks/real_clips.py MODEL_DIR FOOTAGE [FOOTAGE ...] [--sheets docs/real] [--margin 16]
    python benchmarks/real_clips.py demo_out/train/model examples/davis_camel examples/animator-draw

Figures per clip (one Markdown row each):
- ghost: high-pass energy (what a 5x5 box blur removes, grey levels squared) of the background inside the object
  masks, relative to the input's there. A background that still holds the object's fine detail keeps most of it
  (the old enlarge-and-add rule kept 86-93% on these clips); a removal holds none of the object's texture, so what
  remains is the model's own detail at its working size.
- alpha out: each layer's mean alpha, and the share of pixels with alpha > 0.1, outside its mask grown by `--margin`
  px (the worst layer): a layer should hold its object and its nearby effects only.
- peak RSS of the whole decompose (a fresh process) against `decompose_memory_bytes`, and its seconds.
- layer order and how it was decided.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

CHILD = """
import sys
from genomni.footage_folders import open_footage
from genomni.inference.config import OmnimatteConfig, RemoveConfig
from genomni.inference.decompose import decompose, layer_workers
from genomni.inference.memory import decompose_memory_bytes
footage = open_footage(sys.argv[2])
n = len(footage.names)
decompose(footage, sys.argv[1], sys.argv[3], RemoveConfig(), OmnimatteConfig(), show_progress=False)
peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM"))
workers = layer_workers(n, *footage.shape, cores_each=1, objects=n)  # as decompose chooses them for rule layers
print(peak, decompose_memory_bytes(n, *footage.shape, workers))
"""


def highpass_energy(frames: np.ndarray, where: np.ndarray) -> float:
    """Mean squared 5x5 high-pass of the grey frames inside `where` (T,H,W bool)."""
    total, count = 0.0, 0
    for f, m in zip(frames, where):
        g = f.astype(np.float32).mean(-1)
        hp = g - cv2.blur(g, (5, 5))
        total, count = total + float((hp[m] ** 2).sum()), count + int(m.sum())
    return total / max(count, 1)


def sheet(video: np.ndarray, bg: np.ndarray, layers: dict[str, np.ndarray], order: list[str], width: int = 256) -> np.ndarray:
    """Rows: first, middle and last frame; columns: input | background | each layer over a checkerboard | its alpha."""
    from genomni.layers import checkerboard, composite_rgba8

    t, h, w = video.shape[:3]
    height = round(h * width / w)
    board = np.broadcast_to(checkerboard(h, w, 16), (1, h, w, 3))
    rows = []
    for k in (0, t // 2, t - 1):
        cells = [video[k], bg[k]]
        for name in order:
            cells.append(composite_rgba8(np.ascontiguousarray(board), [layers[name][k : k + 1]])[0])
            cells.append(np.repeat(layers[name][k, ..., 3:], 3, -1))
        rows.append(np.concatenate([cv2.resize(c, (width, height), interpolation=cv2.INTER_AREA) for c in cells], 1))
    return np.concatenate(rows, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("footage", nargs="+")
    ap.add_argument("--sheets", default=None, help="Folder for one contact sheet (JPEG) per clip.")
    ap.add_argument("--margin", type=int, default=16, help="px the masks are grown by before alpha outside them is counted.")
    args = ap.parse_args()
    from genomni.footage import dilate
    from genomni.footage_folders import open_footage
    from genomni.layers import read_rgba8_folder
    from genomni.media import read_video

    print(
        f"| clip | objects | frames x H x W | background high-pass in masks / input's | worst layer: mean alpha / "
        f"share > 0.1 outside masks + {args.margin} px | layer order (how) | peak RSS / estimate (GB) | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for source in args.footage:
        footage = open_footage(source)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            t0 = time.time()
            peak, est = subprocess.run(
                [sys.executable, "-c", CHILD, args.model, source, str(out)], capture_output=True, text=True, check=True
            ).stdout.split()[-2:]
            seconds = time.time() - t0
            report = json.loads((out / "decomposition.json").read_text())
            bg = read_video(out / "background")[0]
            layers = {n: read_rgba8_folder(out / "layers" / n) for n in footage.names}
        masks = footage.masks.any(0)
        ghost = highpass_energy(bg, masks) / highpass_energy(footage.video, masks)
        worst = (0.0, 0.0)
        for i, name in enumerate(footage.names):
            far = ~dilate(footage.masks[i], args.margin)
            alpha = layers[name][..., 3][far] / 255.0
            worst = max(worst, (float(alpha.mean()), float((alpha > 0.1).mean())))
        name = Path(source).name
        print(
            f"| {name} | {len(footage.names)} | {'x'.join(map(str, footage.shape))} | {ghost:.3f} | "
            f"{worst[0]:.4f} / {worst[1]:.4f} | {', '.join(report['layer_order'])} ({report['layer_order_source']}) | "
            f"{int(peak) / 1e9:.2f} / {float(est) / 1e9:.2f} | {seconds:.0f} |",
            flush=True,
        )
        if args.sheets:
            Path(args.sheets).mkdir(parents=True, exist_ok=True)
            img = sheet(footage.video, bg, layers, report["layer_order"])
            cv2.imwrite(str(Path(args.sheets) / f"{name}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])


if __name__ == "__main__":
    main()
