"""`genomni eval --layers`: omnimatte layers scored against ground-truth layers.

A benchmark scene with true layers (`layers/<object>/` RGBA PNGs beside `input.*`, `masks/<object>/` and
`background.*`: `data export --benchmark` of `generate kubric --layers`) is compared with a decomposition
folder of the same name (`genomni decompose`: `layers/<object>/`, `decomposition.json`). Per layer:

- alpha MAE in the *object* region (the object's mask grown by 2 px, where the true alpha is the object's
  coverage) and in the *effect* region (outside it, where the true alpha > 0.1: its shadows and reflections);
- alpha IoU at alpha > 0.1, over the frame and in each region;
- re-composite PSNR: the layer over a *different* background (the true background mirrored left-right, so
  image statistics stay natural) against the true layer over it, the use omnimatte exists for; and all
  layers together;
- the decomposition's own fit before detail transfer (`recon_psnr_before_transfer` from decomposition.json).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ..errors import GenomniError
from ..layers import composite, read_rgba_folder
from ..media import atomic_write_bytes, read_video
from ..metrics import psnr_uint8

if TYPE_CHECKING:
    from ..inference.config import OmnimatteConfig

log = logging.getLogger(__name__)

ALPHA_ON = 0.1  # alpha above this counts as "in the layer" for IoU and for the effect region
OBJECT_GROW = 2  # px: the object region includes its antialiased rim


@dataclass
class LayerScore:
    """One layer's figures against its true layer (see the module docstring); nan where a region is empty."""

    scene: str
    layer: str
    alpha_mae_object: float
    alpha_mae_effect: float
    alpha_iou: float
    alpha_iou_object: float
    alpha_iou_effect: float
    effect_pixels: int
    recomposite_psnr: float
    fit_psnr_before_transfer: float


@dataclass
class SceneLayerScore:
    """All layers of a scene re-composited together over the other background, against the truth."""

    scene: str
    layers: list[LayerScore]
    recomposite_psnr_all: float


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else float("nan")


def _mae(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a - b)[where].mean()) if where.any() else float("nan")


def other_background(background: np.ndarray) -> np.ndarray:
    """The background a layer is re-composited over: the true one mirrored left-right (uint8 (T,H,W,3))."""
    return np.ascontiguousarray(background[:, :, ::-1])


def score_layer(
    pred: tuple[np.ndarray, np.ndarray],
    truth: tuple[np.ndarray, np.ndarray],
    obj: np.ndarray,
    background: np.ndarray,
    scene: str = "",
    layer: str = "",
    fit_psnr: float = math.nan,
) -> LayerScore:
    """Figures of one predicted layer (alpha (T,H,W), rgb (T,H,W,3) floats) against its true layer; `obj` the
    object's mask (T,H,W bool), `background` the true background (T,H,W,3 uint8)."""
    pa, ta = pred[0].astype(np.float64), truth[0].astype(np.float64)
    if pa.shape != ta.shape:
        raise GenomniError(f"{scene}/{layer}: layer of shape {pa.shape}, the true layer is {ta.shape}")
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * OBJECT_GROW + 1,) * 2)
    region = np.stack([cv2.dilate(m.astype(np.uint8), kernel) > 0 for m in obj])
    effect = (ta > ALPHA_ON) & ~region
    pon, ton = pa > ALPHA_ON, ta > ALPHA_ON
    other = other_background(background)
    return LayerScore(
        scene=scene,
        layer=layer,
        alpha_mae_object=_mae(pa, ta, region),
        alpha_mae_effect=_mae(pa, ta, effect),
        alpha_iou=_iou(pon, ton),
        alpha_iou_object=_iou(pon & region, ton & region),
        alpha_iou_effect=_iou(pon & ~region, ton & ~region),
        effect_pixels=int(effect.sum()),
        recomposite_psnr=psnr_uint8(composite(other, [pred]), composite(other, [truth])),
        fit_psnr_before_transfer=fit_psnr,
    )


def _video(folder: Path, stem: str) -> np.ndarray:
    for f in sorted(folder.glob(f"{stem}*")):
        if f.is_dir() or f.suffix in (".mkv", ".mp4", ".avi", ".mov"):
            return read_video(f)[0]
    raise GenomniError(f"{folder}: no {stem} video or frame folder")


def score_scene(truth_dir: Path, decomposition_dir: Path) -> SceneLayerScore:
    """Every true layer of a benchmark scene against the decomposition's layer of the same name."""
    true_root = truth_dir / "layers"
    names = sorted(p.name for p in true_root.iterdir() if p.is_dir()) if true_root.is_dir() else []
    if not names:
        raise GenomniError(
            f"{truth_dir}: no true layers (layers/<object>/); export with `generate kubric --layers` then `data export --benchmark`"
        )
    record = decomposition_dir / "decomposition.json"
    if not record.is_file():
        raise GenomniError(f"{decomposition_dir}: not a decomposition folder (no decomposition.json)")
    figures = json.loads(record.read_text()).get("layers", {})
    background = _video(truth_dir, "background")
    scores, preds, truths = [], [], []
    for name in names:
        pred_dir = decomposition_dir / "layers" / name
        if not pred_dir.is_dir():
            raise GenomniError(f"{decomposition_dir}: no layer {name} (the true layers are {', '.join(names)})")
        truth, pred = read_rgba_folder(true_root / name), read_rgba_folder(pred_dir)
        obj = read_video(truth_dir / "masks" / name, gray=True)[0] > 127
        fit = float(figures.get(name, {}).get("recon_psnr_before_transfer", math.nan))
        scores.append(score_layer(pred, truth, obj, background, truth_dir.name, name, fit))
        preds.append(pred)
        truths.append(truth)
    other = other_background(background)
    return SceneLayerScore(truth_dir.name, scores, psnr_uint8(composite(other, preds), composite(other, truths)))


def _mean(values: list[float]) -> float:
    """Mean over scored values (nan: an empty region, left out); PSNR of identical videos is inf, and a mean of
    only those is inf (a mean with finite values would be inf too, so those count alone)."""
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        return float(np.mean(finite))
    return math.inf if any(v == math.inf for v in values) else math.nan


def scenes_with_layers(bench_root: str | Path) -> list[Path]:
    """A benchmark's scene folders that hold true layers (layers/<object>/), sorted by name."""
    return sorted(p for p in Path(bench_root).iterdir() if (p / "layers").is_dir() and not p.name.startswith("."))


def decompose_scenes(
    benchmarks: dict[str, str],
    model_dir: str,
    root: Path,
    ocfg: "OmnimatteConfig",
    threshold: int,
    strict: bool = False,
    show_progress: bool = True,
) -> dict[str, str]:
    """`genomni decompose` (default removal options, omnimatte options `ocfg`) of every scene with true layers into
    root/<scene>, resuming what an earlier run finished; returns {scene: why it failed} (with `strict` the first
    failure raises)."""
    from ..footage_folders import open_footage
    from ..inference.config import RemoveConfig
    from ..inference.decompose import decompose

    scenes = [(bench, scene) for bench, bench_root in benchmarks.items() for scene in scenes_with_layers(bench_root)]
    names = [scene.name for _, scene in scenes]
    if len(set(names)) < len(names):
        raise GenomniError(
            f"--decompose: benchmarks share scene names ({', '.join(sorted({n for n in names if names.count(n) > 1}))}); "
            f"decompose them in separate runs"
        )
    failed = {}
    for k, (bench, scene) in enumerate(scenes, 1):
        log.info("decompose %d/%d: %s/%s", k, len(scenes), bench, scene.name)
        try:
            decompose(
                open_footage(scene, threshold=threshold),
                model_dir,
                root / scene.name,
                RemoveConfig(),
                ocfg,
                resume=True,
                show_progress=show_progress,
            )
        except GenomniError as exc:
            if strict:
                raise
            log.warning("%s/%s: not decomposed: %s", bench, scene.name, exc)
            failed[scene.name] = f"not decomposed: {exc}"
    return failed


def evaluate_layers(
    benchmarks: dict[str, str], decompositions: dict[str, str], out: Path, failed: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """Score each method's decomposition folders (METHOD -> root holding one folder per scene) on each benchmark's
    scenes that have true layers; writes `layers.json` and `layers.md` under `out` and returns the summary.
    `failed` (METHOD -> {scene: reason}) names scenes a method could not decompose: skipped with that reason."""
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    summary: dict[str, dict[str, Any]] = {}
    for method, root in decompositions.items():
        for bench, bench_root in benchmarks.items():
            scenes = scenes_with_layers(bench_root)
            per: list[SceneLayerScore] = []
            for scene in scenes:
                reason = (failed or {}).get(method, {}).get(scene.name)
                if reason:
                    skipped.append({"method": method, "benchmark": bench, "scene": scene.name, "reason": reason})
                    continue
                try:
                    per.append(score_scene(scene, Path(root) / scene.name))
                except GenomniError as exc:
                    skipped.append({"method": method, "benchmark": bench, "scene": scene.name, "reason": str(exc)})
            layers = [s for sc in per for s in sc.layers]
            for sc in per:
                rows += [{"method": method, "benchmark": bench, **asdict(s)} for s in sc.layers]
            summary.setdefault(method, {})[bench] = {
                "scenes": len(per),
                "layers": len(layers),
                "skipped": len(scenes) - len(per),
                **{
                    k: _mean([getattr(s, k) for s in layers])
                    for k in (
                        "alpha_iou",
                        "alpha_mae_object",
                        "alpha_mae_effect",
                        "alpha_iou_effect",
                        "recomposite_psnr",
                        "fit_psnr_before_transfer",
                    )
                },
                "recomposite_psnr_all": _mean([sc.recomposite_psnr_all for sc in per]),
            }
    report = {"summary": summary, "layers": rows, "skipped": skipped, "alpha_on": ALPHA_ON, "object_grow_px": OBJECT_GROW}
    atomic_write_bytes(out / "layers.json", (json.dumps(report, indent=2, allow_nan=True) + "\n").encode())
    lines = [
        "# Omnimatte layers against ground truth",
        "",
        "| method | benchmark | scenes | layers | alpha IoU | alpha MAE object | alpha MAE effect | effect IoU | "
        "re-composite PSNR | all layers | fit PSNR (before transfer) |",
        "|---" * 11 + "|",
    ]
    for method, per_bench in summary.items():
        for bench, s in per_bench.items():
            lines.append(
                f"| {method} | {bench} | {s['scenes']} | {s['layers']} | {s['alpha_iou']:.3f} | {s['alpha_mae_object']:.3f} | "
                f"{s['alpha_mae_effect']:.3f} | {s['alpha_iou_effect']:.3f} | {s['recomposite_psnr']:.2f} | "
                f"{s['recomposite_psnr_all']:.2f} | {s['fit_psnr_before_transfer']:.2f} |"
            )
    if skipped:
        lines += ["", "Skipped:", ""] + [f"- {s['method']} / {s['benchmark']} / {s['scene']}: {s['reason']}" for s in skipped]
    atomic_write_bytes(out / "layers.md", ("\n".join(lines) + "\n").encode())
    return summary
