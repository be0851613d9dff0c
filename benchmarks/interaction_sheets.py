"""Contact sheets of the interaction scenarios, as docs/interactions.md shows them: per scenario, scenes generated
by `genomni generate kubric --scenario NAME`, each row one frame: A (input, everything) | C (the removed objects
hidden, the same physics) | B (the target: the scene simulated without them) | quadmask (0 black, 63 dark grey,
127 grey, 255 white).

    python benchmarks/interaction_sheets.py --out bench_out/sheets --docs docs
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from casper_proof import genomni
from PIL import Image

SCENARIOS = ("stack", "push", "deform", "standard")


def sheet(shards: Path, rows_per_sample: int = 3) -> np.ndarray:
    """A | C | B | quadmask at evenly spaced frames of every remove-all sample in `shards`, 2-px white bars."""
    from genomni.shards import iter_samples

    rows = []
    for s in iter_samples(str(shards)):
        if s.meta.get("kept_ids"):
            continue
        hidden = s.extras.get("hidden", s.target)  # without an interaction C is B (the same physics)
        quad = np.repeat(s.extras["quadmask"][..., None], 3, -1)
        for t in np.linspace(1, len(s.input) - 1, rows_per_sample).astype(int):
            parts = [s.input[t], hidden[t], s.target[t], quad[t]]
            bar = np.full((s.input.shape[1], 2, 3), 255, np.uint8)
            rows.append(np.concatenate([x for p in parts for x in (p, bar)][:-1], axis=1))
            rows.append(np.full((2, rows[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(rows[:-1], axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench_out/sheets")
    ap.add_argument("--docs", default="docs")
    ap.add_argument("--scenes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    for name in SCENARIOS:
        shards = Path(args.out) / name
        if not (shards / "dataset.json").exists():
            genomni(
                "generate", "kubric", "--out", str(shards), "--num-scenes", str(args.scenes), "--seed", str(args.seed),
                "--resolution", "96", "--frames", "16", "--scenario", name, "--max-objects", "2", "--no-progress",
            )  # fmt: skip
        path = Path(args.docs) / f"interactions_{name}.png"
        Image.fromarray(sheet(shards)).save(path)
        print(path)


if __name__ == "__main__":
    main()
