"""Peak memory of one omnimatte layer optimization against clip size, and the fit that `decompose` uses to
refuse, before any work, a clip whose layer optimization would need more memory than the machine has.

    python benchmarks/omnimatte_memory.py [--sizes 16x128x192,48x128x192,16x192x320,32x192x320,16x256x448,48x256x448]
    python benchmarks/omnimatte_memory.py --sizes 85x384x640 --iters default   # a real clip's layer: time too

Each size runs in a fresh process (random solo/background/mask arrays, `--iters` coarse + full-size iterations,
default 2+2, or `default` for the default budget, at the default options); the figures are the process's peak
RSS above its RSS after the imports and the layer's wall time. Prints a Markdown
table and the least-squares fit bytes = A + B * frames * height * width + C * height * width (the
U-Net's activations on `frames_per_iter` full-size frames), compared with
`genomni.inference.memory.layer_memory_bytes`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

CHILD = """
import json, resource, sys, time
import numpy as np, torch, diffusers  # noqa: F401
from genomni.inference.omnimatte import OmnimatteConfig, optimize_layer
t, h, w = map(int, sys.argv[1].split("x"))
iters = dict(zip(("coarse_iters", "fine_iters"), map(int, sys.argv[2].split("+")))) if sys.argv[2] != "default" else {}
cfg = OmnimatteConfig(**iters)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rng = np.random.default_rng(0)
solo = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
bg = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
mask = np.zeros((t, h, w), bool); mask[:, h // 4:h // 2, w // 4:w // 2] = True
t0 = time.perf_counter()
optimize_layer(solo, bg, mask, cfg)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_above_imports": (peak - base) * 1024, "seconds": seconds}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16x128x192,48x128x192,16x192x320,32x192x320,16x256x448,48x256x448")
    ap.add_argument("--iters", default="2+2", help="coarse+full-size iterations, or 'default'")
    args = ap.parse_args()
    from genomni.inference.memory import layer_memory_bytes

    rows = []
    for size in args.sizes.split(","):
        out = subprocess.run([sys.executable, "-c", CHILD, size, args.iters], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        t, h, w = map(int, size.split("x"))
        rows.append((t, h, w, result["peak_above_imports"], result["seconds"]))
    print(f"iterations: {args.iters}")
    print("| frames x H x W | measured peak (MB) | layer_memory_bytes (MB) | seconds |")
    print("|---|---|---|---|")
    for t, h, w, m, sec in rows:
        print(f"| {t}x{h}x{w} | {m / 1e6:.0f} | {layer_memory_bytes(t, h, w) / 1e6:.0f} | {sec:.1f} |")
    if len(rows) >= 3:
        x = np.array([[1.0, t * h * w, h * w] for t, h, w, *_ in rows])
        y = np.array([r[3] for r in rows], float)
        (a, b, c), *_ = np.linalg.lstsq(x, y, rcond=None)
        print(f"\nfit: {a / 1e6:.0f} MB + {b:.0f} bytes per frame-pixel + {c:.0f} bytes per pixel of one frame")


if __name__ == "__main__":
    main()
