"""Proof that genomni's data teaches Casper to remove objects *and their effects*, on this CPU: train the
pixel-space preset for a fixed time, evaluate it with `genomni eval` against the baselines on held-out
scenes (whole frame and the object / effect / rest regions), and run the paper's ablations at the
same step budget.

    genomni generate kubric --out bench_out/p64 --num-scenes 220 --resolution 64 --frames 9 --samples 16 --seed 0
    genomni generate kubric --out bench_out/p64-val --num-scenes 16 --resolution 64 --frames 9 --samples 16 --seed 1000
    python benchmarks/casper_proof.py bench_out/p64 bench_out/p64-val --out bench_out/proof [--train-minutes 29]

What it runs (each step is skipped when its output exists, so a killed run continues):
1. `genomni train init --preset pixel` and `genomni train run --model ... --data TRAIN --val VAL --max-minutes M`
   (no other options: the preset's recorded recipe);
2. `genomni data export VAL --benchmark` and `genomni eval` with copy-input, cv2-inpaint, temporal-median
   and the model at 1, 4 and 20 sampling steps; `genomni remove` timed on one held-out clip;
3. ablations, three runs of the same recipe shortened to `--ablation-steps` (default 1200), side by side
   on one core each: the reference (trimask, kubric data); (a) `--binary-mask` (kept objects shown as
   background), scored against the reference by PSNR inside the *kept* objects of the held-out
   multi-object solo samples; (b) objectpaste composites without shadows (the same kubric objects and
   backgrounds, no effects to learn), scored against the reference on the effect region by `genomni eval`.
Prints Markdown tables and writes OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

STEPS = (1, 4, 20)


def genomni(*args: str, threads: int | None = None, wait: bool = True) -> subprocess.Popen | None:
    """Run a genomni CLI command (as a user would); `wait=False` returns the running process."""
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-m", "genomni.cli", *args]
    print("$ genomni " + " ".join(args), flush=True)
    proc = subprocess.Popen(cmd, env=env)
    if not wait:
        return proc
    if proc.wait() != 0:
        sys.exit(f"failed: genomni {' '.join(args)}")
    return None


def train_log(run: Path) -> dict:
    """Steps, minutes and mean samples/s of a finished run."""
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    losses = [r for r in log if "loss" in r]
    return {
        "steps": losses[-1]["step"],
        "minutes": losses[-1]["elapsed_s"] / 60.0,
        "samples_per_s": float(np.mean([r["samples_per_s"] for r in losses])),
        "final_loss": losses[-1]["loss"],
    }


def kept_region_psnr(model_dir: Path, val: Path, steps: int) -> dict:
    """Mean PSNR inside the kept objects (trimask 255) of held-out solo samples, and on the whole frame."""

    import torch

    from genomni.datasets.clips import ClipConfig
    from genomni.datasets.loader import fixed_clip
    from genomni.metrics import psnr_uint8
    from genomni.pipelines.casper import CasperPipeline
    from genomni.shards import iter_samples
    from genomni.training.validate import to_uint8, trimask_uint8

    pipe = CasperPipeline.from_pretrained(model_dir)
    pipe.set_progress_bar_config(disable=True)
    frames, h, w = pipe.casper.config.extra["train_clip"]
    kept, whole = [], []
    for k, s in enumerate(iter_samples(str(val))):
        if not (s.trimask == 255).any():
            continue
        c = fixed_clip(s, ClipConfig(frames, h, w))
        out = pipe(
            c["input"][None], c["trimask"][None], c["caption"], num_inference_steps=steps, generator=torch.Generator().manual_seed(k)
        ).frames
        pred, tgt, tri = to_uint8(out[0]), to_uint8(c["target"]), trimask_uint8(c["trimask"])
        kept.append(psnr_uint8(pred, tgt, tri == 255))
        whole.append(psnr_uint8(pred, tgt))
    return {"samples": len(kept), "psnr_kept": float(np.mean(kept)), "psnr": float(np.mean(whole))}


def remove_seconds_per_frame(model_dir: Path, footage: Path, out: Path) -> float:
    """Wall seconds per frame of `genomni remove` (all N+1 outputs, default settings), model load excluded."""
    masks = sorted((footage / "masks").iterdir())
    genomni(
        "remove",
        str(footage / "input.mkv"),
        "--masks-dir",
        str(footage / "masks"),
        "--model",
        str(model_dir),
        "--out",
        str(out),
        "--no-progress",
    )
    report = json.loads((out / "remove.json").read_text())
    seconds = sum(v for k, v in report["timings"].items() if k != "load_s")
    frames = report["plan"]["frames"]
    return seconds / (frames * (len(masks) + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("val")
    ap.add_argument("--out", default="bench_out/proof")
    ap.add_argument("--train-minutes", type=float, default=29.0)
    ap.add_argument("--no-ablations", action="store_true")
    ap.add_argument("--ablation-steps", type=int, default=1200)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    init, run = out / "pixel-init", out / "run"
    if not init.exists():
        genomni("train", "init", "--preset", "pixel", "--out", str(init))
    if not (run / "model").exists():
        genomni(
            "train",
            "run",
            "--model",
            str(init),
            "--data",
            args.data,
            "--val",
            args.val,
            "--out",
            str(run),
            "--max-minutes",
            str(args.train_minutes),
            "--resume",
            "latest",
        )
    main_log = train_log(run)
    bench = out / "bench"
    if not bench.exists():
        genomni("data", "export", args.val, "--out", str(bench), "--benchmark")
    methods = ["copy-input", "cv2-inpaint", "temporal-median"] + [f"casper[steps={n}]:{run / 'model'}" for n in STEPS]
    if not (out / "eval" / "results.json").exists():
        genomni(
            "eval",
            "--benchmark",
            f"kubric64={bench}",
            *[x for m in methods for x in ("--method", m)],
            "--out",
            str(out / "eval"),
            "--no-progress",
        )
    results = json.loads((out / "eval" / "results.json").read_text())
    scene = sorted(p for p in bench.iterdir() if p.is_dir() and not p.name.startswith("."))[0]
    t0 = time.time()
    spf = remove_seconds_per_frame(run / "model", scene, out / "remove-timing")
    summary = {"train": main_log, "eval": results["summary"], "remove_s_per_frame": spf, "remove_wall_s": time.time() - t0}

    if not args.no_ablations:
        steps = str(args.ablation_steps)
        paste = out / "paste-noshadow"
        if not paste.exists():
            genomni(
                "generate",
                "objectpaste",
                "--objects",
                args.data,
                "--backgrounds",
                args.data,
                "--out",
                str(paste),
                "--num-samples",
                "620",
                "--frames",
                "9",
                "--shadow-prob",
                "0",
                "--no-progress",
            )
        runs = {"trimask": ("--data", args.data), "binary": ("--data", args.data, "--binary-mask"), "no-effects": ("--data", str(paste))}
        procs = []
        for name, extra in runs.items():
            if not (out / f"ablation-{name}" / "model").exists():
                procs.append(
                    genomni(
                        "train",
                        "run",
                        "--model",
                        str(init),
                        *extra,
                        "--out",
                        str(out / f"ablation-{name}"),
                        "--steps",
                        steps,
                        "--resume",
                        "latest",
                        "--no-progress",
                        threads=1,
                        wait=False,
                    )
                )
        if any(p.wait() != 0 for p in procs):
            sys.exit("an ablation run failed")
        kept = {name: kept_region_psnr(out / f"ablation-{name}" / "model", Path(args.val), 4) for name in ("trimask", "binary")}
        if not (out / "eval-ablation" / "results.json").exists():
            genomni(
                "eval",
                "--benchmark",
                f"kubric64={bench}",
                "--method",
                f"casper[steps=4]:{out / 'ablation-trimask' / 'model'}",
                "--method",
                f"casper[steps=4]:{out / 'ablation-no-effects' / 'model'}",
                "--out",
                str(out / "eval-ablation"),
                "--no-progress",
            )
        ab_eval = json.loads((out / "eval-ablation" / "results.json").read_text())
        summary["ablations"] = {
            "steps": args.ablation_steps,
            "kept": kept,
            "eval": {m: next(iter(v.values())) for m, v in ab_eval["summary"].items()},
            "models": {m: p.get("model") for m, p in ab_eval["methods"].items()},
            "train": {name: train_log(out / f"ablation-{name}") for name in runs},
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print_tables(summary)


def print_tables(summary: dict) -> None:
    t = summary["train"]
    print(
        f"\nTraining: {t['steps']} steps in {t['minutes']:.1f} min, {t['samples_per_s']:.1f} samples/s, "
        f"final loss {t['final_loss']:.5f}; genomni remove: {summary['remove_s_per_frame']:.3f} s per frame and output\n"
    )
    print("| method | PSNR (dB) | SSIM | LPIPS | PSNR object | PSNR effect (scenes) | PSNR rest |")
    print("|---|---|---|---|---|---|---|")
    for method, per in summary["eval"].items():
        s = next(iter(per.values()))
        print(
            f"| {method} | {s['psnr']:.2f} | {s['ssim']:.4f} | {s.get('lpips', float('nan')):.4f} | "
            f"{s['psnr_object']:.2f} | {s['psnr_effect']:.2f} ({s['psnr_effect_scenes']}) | {s['psnr_rest']:.2f} |"
        )
    ab = summary.get("ablations")
    if ab:
        by_model = {Path(ab["models"][m]).parent.name: e for m, e in ab["eval"].items()}
        print(f"\nAblations, {ab['steps']} steps each (4 sampling steps):\n")
        print(
            "| run | training data | mask | PSNR in kept objects (solo samples) | PSNR whole frame (solo) "
            "| PSNR effect (remove-all) | PSNR whole frame (remove-all) |"
        )
        print("|---|---|---|---|---|---|---|")
        rows = [
            ("ablation-trimask", "kubric", "trimask"),
            ("ablation-binary", "kubric", "binary"),
            ("ablation-no-effects", "objectpaste, no shadows", "trimask"),
        ]
        for run, data, mask in rows:
            k = ab["kept"].get(run.split("-", 1)[1])
            e = by_model.get(run)
            kept = f"{k['psnr_kept']:.2f} | {k['psnr']:.2f}" if k else "- | -"
            eff = f"{e['psnr_effect']:.2f} | {e['psnr']:.2f}" if e else "- | -"
            print(f"| {run} | {data} | {mask} | {kept} | {eff} |")


if __name__ == "__main__":
    main()
