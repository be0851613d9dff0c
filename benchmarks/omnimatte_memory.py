"""Peak memory of one omnimatte layer optimization against clip size, and the fit that `decompose` uses to
refuse, before any work, a clip whose layer optimization would need more memory than the machine has.

    python benchmarks/omnimatte_memory.py [--sizes 16x128x192,48x128x192,16x192x320,32x192x320,16x256x448,48x256x448]

Each size runs in a fresh process (random solo/background/mask arrays, 2 coarse + 2 fine iterations at the
default options); the figure is the process's peak RSS above its RSS after the imports. Prints a Markdown
table and the least-squares fit bytes = A + B * frames * height * width + C * height * width (the
U-Net's activations on `frames_per_iter` full-size frames), compared with
`genomni.inference.omnimatte.layer_memory_bytes`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

CHILD = """
import json, resource, sys
import numpy as np, torch, diffusers  # noqa: F401
from genomni.inference.omnimatte import OmnimatteConfig, optimize_layer
t, h, w = map(int, sys.argv[1].split("x"))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rng = np.random.default_rng(0)
solo = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
bg = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
mask = np.zeros((t, h, w), bool); mask[:, h // 4:h // 2, w // 4:w // 2] = True
optimize_layer(solo, bg, mask, OmnimatteConfig(coarse_iters=2, fine_iters=2))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_above_imports": (peak - base) * 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16x128x192,48x128x192,16x192x320,32x192x320,16x256x448,48x256x448")
    args = ap.parse_args()
    from genomni.inference.omnimatte import layer_memory_bytes

    rows = []
    for size in args.sizes.split(","):
        out = subprocess.run([sys.executable, "-c", CHILD, size], capture_output=True, text=True, check=True)
        measured = json.loads(out.stdout.strip().splitlines()[-1])["peak_above_imports"]
        t, h, w = map(int, size.split("x"))
        rows.append((t, h, w, measured))
    x = np.array([[1.0, t * h * w, h * w] for t, h, w, _ in rows])
    y = np.array([m for *_, m in rows], float)
    (a, b, c), *_ = np.linalg.lstsq(x, y, rcond=None)
    print("| frames x H x W | measured peak (MB) | fit (MB) | layer_memory_bytes (MB) |")
    print("|---|---|---|---|")
    for t, h, w, m in rows:
        print(f"| {t}x{h}x{w} | {m / 1e6:.0f} | {(a + b * t * h * w + c * h * w) / 1e6:.0f} | {layer_memory_bytes(t, h, w) / 1e6:.0f} |")
    print(f"\nfit: {a / 1e6:.0f} MB + {b:.0f} bytes per frame-pixel + {c:.0f} bytes per pixel of one frame")


if __name__ == "__main__":
    main()
