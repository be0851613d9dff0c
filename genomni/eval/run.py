"""`genomni eval`: score methods on benchmarks and write CSVs, a JSON, a Markdown report, a bar chart
and strips of the worst frames.

Protocol (the Generative Omnimatte paper's, on OmnimatteRF's Movie and Kubric scenes): the
predicted clean background against the ground-truth background, every frame at the ground truth's
resolution, values in [0,1] for PSNR and SSIM and [-1,1] for LPIPS (AlexNet, v0.1); per-frame
scores are averaged per scene, and scenes are averaged per benchmark. PSNR of a frame that matches
exactly is infinite and is capped at 100 dB so means stay finite (the cap is reported).
Per-scene results are cached under OUT/cache/, so an interrupted run resumes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..constants import EFFECT_DILATE, EFFECT_LEVELS, PSNR_CAP
from ..errors import GenomniError
from ..media import atomic_write_bytes
from ..metrics import REGIONS, frame_metrics, load_lpips, region_masks, region_psnr
from ..outdir import locks
from ..tensors import pick_device
from .benchmarks import Scene, Skipped, load_benchmark, scoring_size
from .config import EvalConfig
from .methods import resolve

log = logging.getLogger(__name__)
METRICS = ("psnr", "ssim", "lpips")
REGION_COLUMNS = (*(f"psnr_{r}" for r in REGIONS), "psnr_affected")
PSNR_RULE = (
    f"a scene's PSNR is the PSNR of its MSE pooled over all frames (so a frame identical to the ground truth "
    f"adds zero error instead of an infinite or capped PSNR); only a scene identical in every frame scores the "
    f"cap, {PSNR_CAP:.0f} dB"
)


def _resolution_rule(resize: str | None) -> str:
    size = scoring_size(resize)
    if size is None:
        return "each scene's own size"
    return (
        f"{size[1]}x{size[0]} (--resize {resize}): input and ground truth resized by area averaging, masks so a pixel "
        f"is the object when any source pixel it covers is, before methods run"
    )


def scene_psnr(frame_psnr: list[float]) -> float:
    """PSNR of the MSE pooled over a scene's frames (all frames have the same size), from per-frame PSNRs."""
    mse = float(np.mean(np.power(10.0, -np.asarray(frame_psnr, dtype=np.float64) / 10.0)))
    return PSNR_CAP if mse <= 10.0 ** (-PSNR_CAP / 10.0) else float(-10.0 * np.log10(mse))


def _scene_value(frames: dict[str, list[float]], k: str) -> float:
    """A scene's value of metric k: pooled-MSE PSNR, or the frame mean of SSIM and LPIPS."""
    return scene_psnr(frames[k]) if k == "psnr" else float(np.mean(frames[k]))


REGION_PROTOCOL = (
    f"PSNR of the pooled MSE over each scene's clip in three disjoint regions: object = union of the "
    f"object masks; effect = outside the masks grown by {EFFECT_DILATE} px where the true background differs "
    f"from the input by more than {EFFECT_LEVELS} levels (0..255, any channel); rest = every other pixel. "
    f"Beside them, for scenes with a quadmask (VOID's convention), affected = its 63 and 127 pixels: where the "
    f"scene changed because the objects are gone (things they pushed or held). "
    f"Scenes without a region are left out of that region's mean."
)
# Published background PSNR (dB) / LPIPS: Generative Omnimatte (CVPR 2025) Table 1 and OmnimatteZero.
PUBLISHED = {
    "Generative Omnimatte": {"movie": (32.69, 0.030), "kubric": (44.07, 0.010)},
    "OmnimatteRF": {"movie": (33.86, 0.017), "kubric": (40.91, 0.028)},
    "OmnimatteZero (LTX / Wan)": {"movie": (35.11, 0.014), "kubric": (45.55, 0.006)},
    "ProPainter": {"movie": (27.44, 0.114), "kubric": (34.67, 0.056)},
}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def cache_path(out: Path, method: str, benchmark: str, scene: str) -> Path:
    """Where an eval output keeps one method's per-frame figures on one scene (and the studio reads them)."""
    return out / "cache" / _slug(method) / _slug(benchmark) / f"{_slug(scene)}.json"


def score_scene(pred: np.ndarray, scene: Scene, lpips_net: Any) -> dict[str, list[float]]:
    """Per-frame metrics of a prediction, PSNR capped."""
    if pred.shape != scene.background.shape:
        raise GenomniError(f"{scene.name}: prediction {pred.shape} and ground truth {scene.background.shape} differ")
    m = frame_metrics(pred, scene.background, lpips_net)
    m["psnr"] = np.minimum(m["psnr"], PSNR_CAP)
    return {k: [float(x) for x in v] for k, v in m.items()}


def score_regions(pred: np.ndarray, scene: Scene) -> dict[str, float | None]:
    """PSNR of the pooled MSE over the whole clip in the object, effect and rest regions (metrics.region_masks), and
    the affected region of scenes with a quadmask, capped like frame PSNR; None where the scene has no such pixels."""
    regions = region_masks(scene.footage.video, scene.background, scene.footage.masks.any(0))
    if scene.affected is not None:
        regions["affected"] = scene.affected
    out: dict[str, float | None] = {}
    for name, value in region_psnr(pred, scene.background, regions).items():
        out[f"psnr_{name}"] = None if np.isnan(value) else float(min(value, PSNR_CAP))
    return out


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _cache_key(provenance: dict[str, Any], cfg: EvalConfig, scene: Scene, pred: np.ndarray | None) -> dict[str, Any]:
    """Everything a cached score depends on: the method's identity (paths, weights hash, steps), the scene's content
    as scored (video, masks as binarized, ground truth: so --mask-threshold, --resize and replaced files count), the
    prediction's content where it is read rather than computed (`predictions:` folders), LPIPS on/off and its
    weights, the layout, the ground-truth folder name and the genomni version (a baseline's code may change)."""
    content = {
        "scene": _digest(scene.footage.video, scene.footage.masks, scene.background, *([] if scene.affected is None else [scene.affected])),
        "prediction": None if pred is None else _digest(pred),
    }
    return json.loads(
        json.dumps(
            {
                "method": provenance,
                **content,
                "lpips": cfg.lpips,
                "lpips_backbone": cfg.lpips_backbone,
                "layout": cfg.layout,
                "gt_name": cfg.gt_name,
                "resize": cfg.resize,
                "genomni": __version__,
            },
            default=str,
        )
    )


def _cached(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The cache entry at `path` when it was made for exactly `key`; another method, model, protocol or content, and
    a damaged entry (genomni's own file: a killed write, a hand edit), are recomputed, never reused."""
    try:
        cached = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return cached if isinstance(cached, dict) and cached.get("key") == key and "regions" in cached else None


def _strip(scene: Scene, pred: np.ndarray, t: int) -> np.ndarray:
    """input | prediction | ground truth of frame t."""
    return np.concatenate([scene.footage.video[t], pred[t], scene.background[t]], axis=1)


def _score_or_cached(
    scene: Scene, fn: Any, prov: dict[str, Any], cfg: EvalConfig, cache: Path, lpips_net: Any, out: Path, stem: str
) -> dict[str, Any]:
    """One method's scores on one scene: from its cache entry when that was made for exactly these inputs, else
    computed (with the worst frame's strip) and cached."""
    read = fn(scene) if "dir" in prov else None  # a predictions: folder is read (cheap), so its content is in the key
    key = _cache_key(prov, cfg, scene, read)
    if (cached := _cached(cache, key)) is not None:
        return cached
    pred = read if read is not None else fn(scene)
    frames = score_scene(pred, scene, lpips_net)
    t_bad = int(np.argmin(frames["psnr"]))
    strip_path = out / "worst" / f"{stem}-{t_bad:05d}.png"
    _save_png(strip_path, _strip(scene, pred, t_bad))
    record = {
        "key": key,
        "frames": frames,
        "regions": score_regions(pred, scene),
        "worst_frame": t_bad,
        "worst_strip": str(strip_path.relative_to(out)),
    }
    atomic_write_bytes(cache, json.dumps(record).encode())
    return record


@dataclass
class EvalResult:
    """What `evaluate` wrote: the report folder, per-method per-benchmark means (`summary[method][benchmark]`)
    and the whole results.json document."""

    out: Path
    summary: dict[str, dict[str, dict[str, float]]]
    results: dict[str, Any] = field(default_factory=dict)


@locks("cfg.out")
def evaluate(cfg: EvalConfig, progress: bool = True) -> EvalResult:
    """Run every method on every benchmark scene (cached per scene) and write the report files."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    out = Path(cfg.out)
    lpips_net = load_lpips(cfg.lpips_backbone, pick_device(cfg.device)) if cfg.lpips else None
    methods = [resolve(m) for m in cfg.methods]
    names = [m[0] for m in methods]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise GenomniError(f"two --method values have the same name {repeated[0]!r}; name them with NAME=SPEC")
    size = scoring_size(cfg.resize)
    data = {
        name: load_benchmark(root, cfg.layout, cfg.gt_name, cfg.strict, size, cfg.mask_threshold) for name, root in cfg.benchmarks.items()
    }
    (out / "cache").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []  # one per (method, benchmark, scene)
    total = sum(len(v) for v in data.values()) * len(methods)
    t0 = time.time()
    with Progress(
        TextColumn("eval {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), disable=not progress
    ) as bar:
        task = bar.add_task("", total=total)
        for mname, fn, prov in methods:
            for bname, scenes in data.items():
                for scene in scenes:
                    bar.update(task, description=f"{mname} {bname}/{scene.name}")
                    row = {"method": mname, "benchmark": bname, "scene": scene.name}
                    cache = cache_path(out, mname, bname, scene.name)
                    if isinstance(scene, Skipped):
                        rows.append({**row, "skipped": scene.reason})
                    else:
                        try:
                            rows.append(
                                {
                                    **row,
                                    **_score_or_cached(
                                        scene, fn, prov, cfg, cache, lpips_net, out, f"{_slug(mname)}-{_slug(bname)}-{_slug(scene.name)}"
                                    ),
                                }
                            )
                        except GenomniError as exc:
                            if cfg.strict:
                                raise
                            rows.append({**row, "skipped": str(exc)})
                    bar.advance(task)
    results = write_report(cfg, rows, methods, time.time() - t0)
    return EvalResult(out, results["summary"], results)


def _save_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def _means(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Benchmark means: of per-scene frame means (METRICS) and of per-scene region PSNRs over the scenes that
    have that region (with how many did)."""
    scored = [r for r in rows if "frames" in r]
    out: dict[str, float] = {}
    for k in METRICS:
        per_scene = [_scene_value(r["frames"], k) for r in scored if k in r["frames"]]
        if per_scene:
            out[k] = float(np.mean(per_scene))
    for k in REGION_COLUMNS:
        per_scene = [r["regions"][k] for r in scored if r["regions"].get(k) is not None]
        if per_scene:
            out[k] = float(np.mean(per_scene))
            out[f"{k}_scenes"] = len(per_scene)
    return out


def write_report(cfg: EvalConfig, rows: list[dict[str, Any]], methods: list, seconds: float) -> dict[str, Any]:
    """per_frame.csv, per_scene.csv, results.json, report.md, scores.png."""
    out = Path(cfg.out)
    frame_lines = io.StringIO()
    fw = csv.writer(frame_lines)
    fw.writerow(["method", "benchmark", "scene", "frame", *METRICS])
    scene_lines = io.StringIO()
    sw = csv.writer(scene_lines)
    sw.writerow(["method", "benchmark", "scene", "frames", *METRICS, *REGION_COLUMNS, "skipped"])
    for r in rows:
        if "frames" in r:
            f = r["frames"]
            for t in range(len(f["psnr"])):
                fw.writerow([r["method"], r["benchmark"], r["scene"], t, *[f"{f[k][t]:.6f}" if k in f else "" for k in METRICS]])
            reg = r["regions"]
            sw.writerow(
                [
                    r["method"],
                    r["benchmark"],
                    r["scene"],
                    len(f["psnr"]),
                    *[f"{_scene_value(f, k):.6f}" if k in f else "" for k in METRICS],
                    *["" if reg.get(k) is None else f"{reg[k]:.6f}" for k in REGION_COLUMNS],
                    "",
                ]
            )
        else:
            sw.writerow([r["method"], r["benchmark"], r["scene"], 0, *[""] * (len(METRICS) + len(REGION_COLUMNS)), r["skipped"]])
    atomic_write_bytes(out / "per_frame.csv", frame_lines.getvalue().encode())
    atomic_write_bytes(out / "per_scene.csv", scene_lines.getvalue().encode())
    summary: dict[str, dict[str, Any]] = {}
    for mname, _, _ in methods:
        for bname in cfg.benchmarks:
            sel = [r for r in rows if r["method"] == mname and r["benchmark"] == bname]
            summary.setdefault(mname, {})[bname] = {
                **_means(sel),
                "scenes": sum("frames" in r for r in sel),
                "skipped": sum("skipped" in r for r in sel),
            }
    import torch

    results = {
        "genomni_version": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "protocol": {
            "psnr_range": "[0,1]",
            "psnr_cap_db": PSNR_CAP,
            "psnr_scene": PSNR_RULE,
            "ssim": "11x11 Gaussian, sigma 1.5, [0,1]",
            "lpips": "AlexNet v0.1, [-1,1]" if cfg.lpips else "off",
            "averaging": "frames -> scene -> benchmark",
            "regions": REGION_PROTOCOL,
            "layout": cfg.layout,
            "gt_name": cfg.gt_name,
            "resolution": _resolution_rule(cfg.resize),
        },
        "benchmarks": cfg.benchmarks,
        "methods": {m: prov for m, _, prov in methods},
        "summary": summary,
        "skipped": [{k: r[k] for k in ("method", "benchmark", "scene", "skipped")} for r in rows if "skipped" in r],
        "seconds": seconds,
        **cfg.meta,
    }
    atomic_write_bytes(out / "results.json", (json.dumps(results, indent=2) + "\n").encode())
    atomic_write_bytes(out / "report.md", markdown(results, rows).encode())
    _bar_chart(out / "scores.png", summary, list(cfg.benchmarks))
    return results


def _bar_chart(path: Path, summary: dict[str, dict[str, Any]], benchmarks: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in METRICS if any(m in summary[x][b] for x in summary for b in benchmarks)]
    if not metrics:  # no scene could be scored: the report lists why; there is nothing to draw
        log.warning("no scene was scored; %s not drawn (see report.md for the skipped scenes)", path.name)
        path.unlink(missing_ok=True)
        return
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), dpi=100, squeeze=False)
    names = list(summary)
    width = 0.8 / max(1, len(benchmarks))
    for ax, metric in zip(axes[0], metrics):
        for k, b in enumerate(benchmarks):
            vals = [summary[m][b].get(metric, np.nan) for m in names]
            ax.bar(np.arange(len(names)) + k * width, vals, width, label=b)
        ax.set_xticks(np.arange(len(names)) + width * (len(benchmarks) - 1) / 2)
        ax.set_xticklabels([n if len(n) <= 28 else "..." + n[-25:] for n in names], rotation=20, ha="right", fontsize=8)
        ax.set_title(metric.upper() + (" (lower is better)" if metric == "lpips" else ""))
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def markdown(results: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The report: means per method and benchmark, published numbers, per-scene table, skipped scenes."""
    lines = [
        "# genomni eval report",
        "",
        f"Protocol: background vs ground truth on [0,1]; {PSNR_RULE}; SSIM and LPIPS {results['protocol']['lpips']} "
        f"averaged over a scene's frames; scenes averaged per benchmark. Resolution: "
        f"{results['protocol']['resolution']}.",
        "",
        f"Regions: {results['protocol']['regions']}",
        "",
        "## Means",
        "",
        "| method | benchmark | scenes | skipped | PSNR (dB) | SSIM | LPIPS | PSNR object | PSNR effect (scenes) | PSNR rest "
        "| PSNR affected (scenes) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    fmt = lambda v, p: "-" if v is None else f"{v:.{p}f}"  # noqa: E731
    for m, per in results["summary"].items():
        for b, s in per.items():
            lines.append(
                f"| {m} | {b} | {s['scenes']} | {s['skipped']} | {fmt(s.get('psnr'), 2)} | "
                f"{fmt(s.get('ssim'), 4)} | {fmt(s.get('lpips'), 4)} | {fmt(s.get('psnr_object'), 2)} | "
                f"{fmt(s.get('psnr_effect'), 2)} ({s.get('psnr_effect_scenes', 0)}) | {fmt(s.get('psnr_rest'), 2)} | "
                f"{fmt(s.get('psnr_affected'), 2)} ({s.get('psnr_affected_scenes', 0)}) |"
            )
    lines += [
        "",
        "## Published (background PSNR / LPIPS on OmnimatteRF's Movie and Kubric scenes)",
        "",
        "| method | Movie PSNR | Movie LPIPS | Kubric PSNR | Kubric LPIPS |",
        "|---|---|---|---|---|",
    ]
    for m, p in PUBLISHED.items():
        lines.append(f"| {m} | {p['movie'][0]:.2f} | {p['movie'][1]:.3f} | {p['kubric'][0]:.2f} | {p['kubric'][1]:.3f} |")
    lines += [
        "",
        "These are comparable with ours only on the same scenes, frames and resolution.",
        "",
        "## Per scene",
        "",
        "| method | benchmark | scene | PSNR | SSIM | LPIPS | PSNR object | PSNR effect | PSNR rest | PSNR affected | worst frame |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "frames" in r:
            f = r["frames"]
            lines.append(
                f"| {r['method']} | {r['benchmark']} | {r['scene']} | {scene_psnr(f['psnr']):.2f} | "
                f"{np.mean(f['ssim']):.4f} | {fmt(np.mean(f['lpips']) if 'lpips' in f else None, 4)} | "
                + " | ".join(fmt(r["regions"].get(k), 2) for k in REGION_COLUMNS)
                + f" | [{r['worst_frame']}]({r['worst_strip']}) |"
            )
    skipped = [r for r in rows if "skipped" in r]
    lines += ["", "## Skipped scenes", ""]
    lines += [f"- {r['method']} / {r['benchmark']} / {r['skipped']}" for r in skipped] or ["None."]  # reasons start with the scene
    lines += ["", "![scores](scores.png)", ""]
    return "\n".join(lines)
