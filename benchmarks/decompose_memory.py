"""Peak memory of a whole `genomni decompose` (removals, layers, previews, checks) against the estimate its pre-check
refuses by (`genomni.inference.omnimatte.decompose_memory_bytes`).

    python benchmarks/decompose_memory.py MODEL_DIR FOOTAGE [FOOTAGE ...]
    python benchmarks/decompose_memory.py demo_out/train/model examples/animator-draw examples/davis_camel

FOOTAGE is anything `decompose` takes as its one argument (a gen-omnimatte sequence folder, a genomni footage
folder). Each runs in a fresh process at the default options; the figure is that process's peak RSS (VmHWM), the
estimate is for its clip and the layer workers decompose chose, and the ratio says how much of the estimate was used (it must stay below 1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

CHILD = """
import sys
from genomni.footage_folders import open_footage
from genomni.inference.config import OmnimatteConfig, RemoveConfig
from genomni.inference.decompose import decompose, layer_workers
from genomni.inference.omnimatte import decompose_memory_bytes
footage = open_footage(sys.argv[2])
n = len(footage.names)
decompose(footage, sys.argv[1], sys.argv[3], RemoveConfig(), OmnimatteConfig(), show_progress=False)
peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM"))
workers = layer_workers(n, *footage.shape, cores_each=1, objects=n)  # as decompose chooses them for rule layers
print(n, *footage.shape, workers, peak, decompose_memory_bytes(n, *footage.shape, workers))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("footage", nargs="+")
    args = ap.parse_args()
    print("| footage | objects | frames x H x W | layer workers | peak RSS (GB) | estimate (GB) | peak / estimate | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for source in args.footage:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.time()
            out = subprocess.run([sys.executable, "-c", CHILD, args.model, source, f"{tmp}/out"], capture_output=True,
                                 text=True, check=True).stdout.split()
            n, t, h, w, workers, peak = (int(v) for v in out[:6])
            est = float(out[6])
            print(f"| {source} | {n} | {t}x{h}x{w} | {workers} | {peak / 1e9:.2f} | {est / 1e9:.2f} | {peak / est:.2f} | "
                  f"{time.time() - t0:.0f} |")


if __name__ == "__main__":
    main()
