"""Proof that VOID's quadmask teaches a removal model what the removal changes beyond the object: the pixel preset
trained on interaction scenes (stack, push, deform) twice with the same recipe, once conditioned on trimasks and once
on quadmasks (`train run --mask quadmask`), then scored by `genomni eval` on held-out interaction scenes in the
object / effect / rest regions and the *affected* region (the quadmask's 63/127: what a removed box held up, what a
pusher knocked over).

    genomni generate kubric --out bench_out/ia --num-scenes 120 --resolution 64 --frames 9 --seed 0 \\
        --scenario stack=1,push=1,deform=0.5 --workers 2
    genomni generate kubric --out bench_out/ia-val --num-scenes 24 --resolution 64 --frames 9 --seed 3000 \\
        --scenario stack=1,push=1,deform=0.5 --workers 2
    python benchmarks/interaction_proof.py bench_out/ia bench_out/ia-val --out bench_out/interaction [--steps 1200]

The two runs train side by side on one core each (the same init, data, seed and steps; only --mask differs).
The untrained init told to read quadmasks is scored too: the pixel preset's correction starts at zero, so it is
the classical fill of the removed *and changed* pixels, what the quadmask model starts from (a trained model
ahead of it learned more than where to fill). Each step is skipped when its output exists, so a killed run
continues. Prints a Markdown table and writes OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from casper_proof import genomni, train_log

STEPS = (1, 4)  # sampling steps of the scored removals: the preset's recorded 1 (its best PSNR) and the ablations' 4


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("val")
    ap.add_argument("--out", default="bench_out/interaction")
    ap.add_argument("--steps", type=int, default=1200)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    init = out / "pixel-init"
    if not init.exists():
        genomni("train", "init", "--preset", "pixel", "--out", str(init))
    fill = out / "quadmask-init"
    if not fill.exists():
        shutil.copytree(init, fill)
        record = json.loads((fill / "casper.json").read_text())
        record["extra"]["mask"] = "quadmask"
        (fill / "casper.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    procs = []
    for mask in ("trimask", "quadmask"):
        run = out / mask
        if not (run / "model").exists():
            cmd = ["train", "run", "--model", str(init), "--data", args.data, "--out", str(run), "--steps", str(args.steps)]
            cmd += ["--mask", mask, "--workers", "0", "--no-progress", "--resume", "latest"]
            procs.append(genomni(*cmd, threads=1, wait=False))
    for p in procs:
        if p is not None and p.wait() != 0:
            raise SystemExit("a training run failed")
    bench = out / "bench"
    if not bench.exists():
        genomni("data", "export", args.val, "--out", str(bench), "--benchmark")
    methods = ["copy-input", "cv2-inpaint", f"casper[steps=1]:{fill}"]
    methods += [f"casper[steps={n}]:{out / m / 'model'}" for n in STEPS for m in ("trimask", "quadmask")]
    if not (out / "eval" / "results.json").exists():
        genomni(
            "eval",
            "--benchmark",
            f"interactions={bench}",
            *[x for m in methods for x in ("--method", m)],
            "--out",
            str(out / "eval"),
            "--no-lpips",
            "--no-progress",
        )
    results = json.loads((out / "eval" / "results.json").read_text())
    summary = {"train": {m: train_log(out / m) for m in ("trimask", "quadmask")}, "eval": results["summary"]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print("| method | PSNR (dB) | PSNR object | PSNR effect | PSNR rest | PSNR affected (scenes) |")
    print("|---|---|---|---|---|---|")
    for method, per in results["summary"].items():
        s = per["interactions"]
        name = method.replace(str(out) + "/", "").replace("/model", "")
        cells = [f"{s.get(k, float('nan')):.2f}" for k in ("psnr", "psnr_object", "psnr_effect", "psnr_rest")]
        print(f"| {name} | {' | '.join(cells)} | {s.get('psnr_affected', float('nan')):.2f} ({s.get('psnr_affected_scenes', 0)}) |")
    for m, log in summary["train"].items():
        print(f"{m}: {log['steps']} steps in {log['minutes']:.1f} min, final loss {log['final_loss']:.4f}")
    label = lambda m, n: f"casper:{m} ({n} steps)"  # noqa: E731  the method names eval writes
    pairs = [(f"quadmask - trimask, {n} step(s)", label(out / "quadmask/model", n), label(out / "trimask/model", n)) for n in STEPS]
    pairs.append(("quadmask (1 step) - its untrained fill", label(out / "quadmask/model", 1), label(fill, 1)))
    for name, a, b in pairs:
        print(f"{name}, affected PSNR per scene: {paired_affected(out / 'eval' / 'per_scene.csv', a, b)}")


def paired_affected(per_scene: Path, a: str, b: str) -> str:
    """The mean per-scene difference a - b of the affected-region PSNR, its standard error, and on how many scenes
    `a` was ahead (the figure that says whether the quadmask helps)."""
    import csv

    import numpy as np

    value = {(r["method"], r["scene"]): float(r["psnr_affected"]) for r in csv.DictReader(open(per_scene)) if r["psnr_affected"]}
    d = np.array([value[(a, s)] - value[(b, s)] for m, s in value if m == a and (b, s) in value])
    if len(d) < 2:
        return "fewer than 2 scenes scored by both"
    return f"{d.mean():+.2f} dB (standard error {d.std(ddof=1) / np.sqrt(len(d)):.2f}), ahead on {(d > 0).sum()} of {len(d)}"


if __name__ == "__main__":
    main()
