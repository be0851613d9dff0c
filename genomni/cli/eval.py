"""`genomni eval`."""

from __future__ import annotations

import dataclasses

from rich.table import Table

from ..errors import GenomniError
from ..eval.config import EvalConfig
from ..inference.config import OmnimatteConfig
from .app import app, console, invocation, quiet_hf
from .options import config_options


@app.command(
    "eval",
    epilog=(
        "Examples:\n\n"
        "  genomni eval --benchmark kubric=bench/kubric --method copy-input --method cv2-inpaint --method temporal-median"
        " --out reports/base\n\n"
        "  genomni eval --benchmark movie=data/movie --benchmark kubric=data/kubric --layout omnimatte --gt-name bg_gt \\\n"
        "      --method casper:runs/casper/model --method theirs=predictions:propainter_out/ --out reports/casper\n\n"
        "  genomni eval --benchmark kubric=bench/kubric-layers --layers ours=out/decomposed --out reports/layers\n\n"
        "  genomni eval --benchmark kubric=bench/kubric-layers --decompose ours=runs/casper/model --coarse-iters 400 --fine-iters 25 --out reports/layers"
    ),
)
@config_options(EvalConfig, OmnimatteConfig)
def eval_cmd(cfg: EvalConfig, ocfg: OmnimatteConfig, progress: bool = True) -> None:
    """Score methods' clean backgrounds on benchmarks (PSNR, SSIM, LPIPS; CSV, JSON, Markdown report, chart) and
    decompositions' layers against true layers (--layers, or --decompose to make them first, with the omnimatte
    options given: alpha MAE/IoU, re-composite PSNR; layers.json, layers.md)."""
    from pathlib import Path

    from ..eval.layers import decompose_scenes, evaluate_layers
    from ..eval.run import evaluate

    if ocfg != OmnimatteConfig() and not cfg.decompose:
        raise GenomniError("the omnimatte options (--coarse-iters, --fine-iters, --coarse-side) apply to --decompose only")
    quiet_hf()
    if cfg.layers or cfg.decompose:
        roots, failed = dict(cfg.layers), {}
        for name, model in cfg.decompose.items():
            roots[name] = str(Path(cfg.out) / "decompositions" / name)
            failed[name] = decompose_scenes(cfg.benchmarks, model, Path(roots[name]), ocfg, cfg.mask_threshold, cfg.strict, progress)
        summary = evaluate_layers(cfg.benchmarks, roots, Path(cfg.out), failed)
        table = Table("method", "benchmark", "scenes", "layers", "alpha IoU", "MAE object", "MAE effect", "re-composite PSNR")
        for m, per in summary.items():
            for b, st in per.items():
                table.add_row(
                    m,
                    b,
                    str(st["scenes"]),
                    str(st["layers"]),
                    f"{st['alpha_iou']:.3f}",
                    f"{st['alpha_mae_object']:.3f}",
                    f"{st['alpha_mae_effect']:.3f}",
                    f"{st['recomposite_psnr']:.2f}",
                )
        console.print(table)
        if not any(st["scenes"] for per in summary.values() for st in per.values()):
            raise GenomniError(f"no scene with true layers could be scored; {Path(cfg.out) / 'layers.md'} lists each with its reason")
        console.print(f"layer report: {Path(cfg.out) / 'layers.md'}")
        if not cfg.methods:
            return
    result = evaluate(dataclasses.replace(cfg, meta={"command": " ".join(invocation)}), progress)
    table = Table("method", "benchmark", "scenes", "skipped", "PSNR", "SSIM", "LPIPS")
    for m, per in result.summary.items():
        for b, st in per.items():
            table.add_row(
                m, b, str(st["scenes"]), str(st["skipped"]), *[f"{st[k]:.4g}" if k in st else "-" for k in ("psnr", "ssim", "lpips")]
            )
    console.print(table)
    if not any(st["scenes"] for per in result.summary.values() for st in per.values()):
        raise GenomniError(f"no scene could be scored; {result.out / 'report.md'} lists each with its reason")
    console.print(f"report: {result.out / 'report.md'}")
