"""Casper training throughput: samples/s and peak memory per preset, and data loading vs step time.

Each preset runs in its own subprocess (so peak RSS is its own): a few warm-up steps, then timed
optimizer steps on batches from the real loader; the loader alone is timed over the same number of
batches. The ratio loader-samples/s : train-samples/s says whether data loading is the bottleneck
(it is not while the ratio is > 1).

    python benchmarks/train_step.py DATA_DIR [--steps 20] [--batch-size 2] [--frames 9] [--resolution 64]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(args: argparse.Namespace) -> dict:
    import torch

    from genomni.datasets.loader import make_loader
    from genomni.models.presets import build_preset
    from genomni.training.trainer import TrainConfig, Trainer

    with tempfile.TemporaryDirectory() as tmp:
        model = build_preset(args.preset, Path(tmp) / "m")
        cfg = TrainConfig(
            model=str(model),
            data=[args.data],
            out=str(Path(tmp) / "run"),
            frames=args.frames,
            height=args.resolution,
            width=args.resolution,
            batch_size=args.batch_size,
            steps=args.steps + 3,
            workers=args.workers,
            warmup_steps=0,
            checkpoint_every=10**6,
        )
        trainer = Trainer(cfg)
        t0 = time.perf_counter()
        n = 0
        for _ in make_loader(trainer.dataset, args.batch_size, stop=args.steps, workers=args.workers):
            n += args.batch_size
        load_sps = n / (time.perf_counter() - t0)
        batches = list(make_loader(trainer.dataset, args.batch_size, stop=args.steps + 3, workers=0))
        from genomni.training.trainer import flow_matching_loss

        gen = torch.Generator().manual_seed(0)
        times = []
        for i, b in enumerate(batches):
            t = time.perf_counter()
            loss = flow_matching_loss(trainer.model, trainer.transformer, b, trainer.text(b["caption"]), gen)
            loss.backward()
            trainer.optimizer.step()
            trainer.optimizer.zero_grad()
            if i >= 3:
                times.append(time.perf_counter() - t)
        train_sps = args.batch_size * len(times) / sum(times)
        params = sum(p.numel() for p in trainer.model.transformer.parameters())
    return {
        "preset": args.preset,
        "params": params,
        "train_sps": train_sps,
        "load_sps": load_sps,
        "step_s": sum(times) / len(times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--preset", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.preset:
        print(json.dumps(measure(args)))
        return
    rows = []
    for preset in ("tiny", "small"):
        cmd = [
            sys.executable,
            __file__,
            args.data,
            "--preset",
            preset,
            "--steps",
            str(args.steps),
            "--batch-size",
            str(args.batch_size),
            "--frames",
            str(args.frames),
            "--resolution",
            str(args.resolution),
            "--workers",
            str(args.workers),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    base = rows[0]["train_sps"]
    print(
        f"Training steps on CPU, batch {args.batch_size} x {args.frames} frames x {args.resolution} px, "
        f"{args.steps} timed steps, loader with {args.workers} workers:\n"
    )
    print("| preset | transformer params | s/step | train samples/s | vs tiny | loader samples/s | loader / train | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['preset']} | {r['params'] / 1e6:.2f}M | {r['step_s']:.2f} | {r['train_sps']:.2f} | "
            f"{r['train_sps'] / base:.2f}x | {r['load_sps']:.1f} | {r['load_sps'] / r['train_sps']:.1f}x | {r['peak_rss_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()
