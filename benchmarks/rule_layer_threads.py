"""Layers by the rule (the `decompose` default) one after another against the same layers in worker threads, as
`decompose` runs them (`inference.decompose.optimize_layers`: one thread per core), in one process so the ratio
is not the machine's noise; also checks the layers are identical.

    python benchmarks/rule_layer_threads.py [--size 40x384x640] [--layers 2] [--threads 2]

The clip is constructed: a smooth noisy background, a solo with a darker region (a shadow) and 3 levels of
independent noise, one object mask per layer.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from genomni.inference.config import OmnimatteConfig
from genomni.inference.omnimatte import optimize_layer


def clip(t: int, h: int, w: int, layers: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(solo, background, masks) of the constructed clip."""
    rng = np.random.default_rng(0)
    bg = np.clip(120 + rng.normal(0, 3, (t, h, w, 3)), 0, 255).astype(np.uint8)
    solo = bg.astype(np.float32)
    solo[:, h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] *= 0.5
    solo = np.clip(solo + rng.normal(0, 3, solo.shape), 0, 255).astype(np.uint8)
    masks = []
    for k in range(layers):
        m = np.zeros((t, h, w), bool)
        x = (k + 1) * w // (layers + 2)
        m[:, h // 4 : h // 3, x : x + w // 8] = True
        masks.append(m)
    return solo, bg, masks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="40x384x640", help="FRAMESxHEIGHTxWIDTH")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    t, h, w = map(int, args.size.split("x"))
    solo, bg, masks = clip(t, h, w, args.layers)
    cfg = OmnimatteConfig()
    t0 = time.perf_counter()
    serial = [optimize_layer(solo, bg, m, cfg) for m in masks]
    one_after_another = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        threaded = list(pool.map(lambda m: optimize_layer(solo, bg, m, cfg), masks))
    in_threads = time.perf_counter() - t0
    same = all(np.array_equal(a.alpha, b.alpha) and np.array_equal(a.rgb, b.rgb) for a, b in zip(serial, threaded))
    print(
        f"{args.layers} layers of {args.size}: one after another {one_after_another:.2f} s, in {args.threads} threads "
        f"{in_threads:.2f} s ({one_after_another / in_threads:.2f}x); identical layers: {same}"
    )


if __name__ == "__main__":
    main()
