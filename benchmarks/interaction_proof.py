"""Proof that VOID's quadmask teaches a removal model what the removal changes beyond the object: the pixel preset
trained on interaction scenes (stack, push, deform) twice with the same recipe, once conditioned on trimasks and once
on quadmasks (`train run --mask quadmask`), then scored by `genomni eval` on held-out interaction scenes in the
object / effect / rest regions and the *affected* region (the quadmask's 63/127: what a removed box held up, what a
pusher knocked over).

    genomni generate kubric --out bench_out/ia --num-scenes 120 --resolution 64 --frames 9 --seed 0 \\
        --scenario stack=1,push=1,deform=0.5 --workers 2
    genomni generate kubric --out bench_out/ia-val --num-scenes 16 --resolution 64 --frames 9 --seed 1000 \\
        --scenario stack=1,push=1,deform=0.5 --workers 2
    python benchmarks/interaction_proof.py bench_out/ia bench_out/ia-val --out bench_out/interaction [--steps 1200]

The two runs train side by side on one core each (the same init, data, seed and steps; only --mask differs).
Each step is skipped when its output exists, so a killed run continues. Prints a Markdown table and writes
OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
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
    methods = ["copy-input", "cv2-inpaint"] + [f"casper[steps={n}]:{out / m / 'model'}" for n in STEPS for m in ("trimask", "quadmask")]
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
    for n, paired in paired_affected(out / "eval" / "per_scene.csv").items():
        print(f"{n}: quadmask - trimask, affected PSNR per scene: {paired}")


def paired_affected(per_scene: Path) -> dict[str, str]:
    """Per sampling-step setting: the mean per-scene difference quadmask - trimask of the affected-region PSNR, its
    standard error, and on how many scenes the quadmask model was ahead (the figure that says whether it helps)."""
    import csv

    import numpy as np

    rows = [r for r in csv.DictReader(open(per_scene)) if r["method"].startswith("casper") and r["psnr_affected"]]
    setting = lambda r: r["method"].rsplit("/model", 1)[-1].strip() or "default steps"  # noqa: E731
    out = {}
    for kind in sorted({setting(r) for r in rows}):
        value = {(r["scene"], "/quadmask/" in r["method"]): float(r["psnr_affected"]) for r in rows if setting(r) == kind}
        d = np.array([value[(s, True)] - value[(s, False)] for s, q in value if q and (s, False) in value])
        if len(d) > 1:
            error = d.std(ddof=1) / np.sqrt(len(d))
            out[kind] = f"{d.mean():+.2f} dB (standard error {error:.2f}), ahead on {(d > 0).sum()} of {len(d)}"
    return out


if __name__ == "__main__":
    main()
