"""`genomni decompose`: Casper removals plus an omnimatte layer for every object, one folder per video.

    OUT/removals/        background/ and solo_<name>/ PNG folders (lossless; `genomni remove` output)
    OUT/background/      the clean background, PNG frames
    OUT/layers/<name>/   RGBA PNG frames of each object's layer (object + its effects)
    OUT/masks/<name>/    the object masks used
    OUT/previews/        background.mp4, <name>.mp4 (layer over a checkerboard), recomposition.mp4
    OUT/layer_figures/<name>.json  each layer's figures, omnimatte options and layer rule (what --resume checks)
    OUT/decomposition.json  objects, layer order, settings, per-layer figures, layer fit (before detail transfer),
                            recomposition PSNR

Every file is written under a temporary name and renamed; `resume` keeps finished removals and layers (after
checking they were made from the same video, masks, model and options) and writes the same files and figures
as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..constants import DEFAULT_FPS
from ..errors import GenomniError
from ..footage import Footage, other_objects
from ..layer_order import layer_order as order_layers
from ..layers import checkerboard, composite_rgba8, read_rgba8_folder, write_rgba_folder
from ..media import atomic_write_bytes, read_video, write_video
from ..metrics import psnr_uint8
from ..outdir import LOCK, locks
from ..progress import progress_bar
from .memory import check_layer_memory, held_memory_bytes, layer_memory_bytes, machine_memory_bytes
from .omnimatte import LAYER_RULE, Layer, OmnimatteConfig, optimize_layer, transfer_from_input
from .remove import RemoveConfig, output_name, prompt_for, remove

log = logging.getLogger(__name__)

DECOMPOSITION = "decomposition.json"


@dataclass
class Decomposition:
    """What a decomposition wrote (decomposition.json): objects, the layers bottom to top with how that order was
    decided (`layer_order.LayerOrder`: occlusion, given or names) and its evidence, video facts, the options of
    both stages, per-layer figures, the layer fit (the worst layer's reconstruction PSNR of its solo video: for
    optimized layers *before* detail transfer, what the optimization reached, as after the transfer the colour is
    exact wherever alpha > 0; for layers by the rule, the layer as made), the recomposition PSNR (all layers over
    the background against the input: a consistency check) and timings."""

    objects: list[str]
    layer_order: list[str]
    layer_order_source: str
    layer_order_evidence: dict[str, dict[str, float]]
    fps: float
    frames: int
    size: list[int]
    model: str
    remove: dict[str, Any]
    omnimatte: dict[str, Any]
    layers: dict[str, dict[str, Any]]
    layer_fit_psnr: float
    recomposition_psnr: float
    timings: dict[str, float]


def preview(rgba: np.ndarray) -> np.ndarray:
    """A (T,H,W,4) uint8 layer over a checkerboard, uint8 (T,H,W,3)."""
    t, h, w = rgba.shape[:3]
    return composite_rgba8(np.broadcast_to(checkerboard(h, w), (t, h, w, 3)), [rgba])


def _even(frames: np.ndarray) -> np.ndarray:
    """Pad to even sides for H.264 previews."""
    h, w = frames.shape[1:3]
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def layer_workers(layers: int, frames: int, height: int, width: int, cores_each: int = 2, objects: int = 1) -> int:
    """Workers for the layers: one per `cores_each` cores (an optimized layer's U-Net keeps two threads busy; a
    layer by the rule, one), no more than the layers, and no more than 80% of the machine's memory holds beside what
    decompose keeps for `objects` objects (`layer_memory_bytes` each: the optimization's estimate, an upper bound
    for the rule)."""
    free = 0.8 * machine_memory_bytes() - held_memory_bytes(objects, frames, height, width)
    by_memory = int(free // layer_memory_bytes(frames, height, width))
    return max(1, min(layers, (os.cpu_count() or 1) // cores_each, by_memory))


def _layer_job(
    solo: np.ndarray,
    bg: np.ndarray,
    mask: np.ndarray,
    others: np.ndarray,
    ocfg: OmnimatteConfig,
    threads: int | None,
    on_frames: Any = None,
) -> tuple[Layer, float]:
    """One layer in a worker, with its seconds: a spawned process sets its own torch thread count (`threads`); a
    thread (None) leaves the process's as it is, and can report the rule's frames (`on_frames`)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    t0 = time.time()
    return optimize_layer(solo, bg, mask, ocfg, others=others, on_frames=on_frames), time.time() - t0


def optimize_layers(
    footage: Footage, todo: list[int], out: Path, bg: np.ndarray, ocfg: OmnimatteConfig, workers: int, bar: Any
) -> Iterator[tuple[int, Layer, float]]:
    """Make the layers of objects `todo` (their solo videos under out/removals): one after another with a
    per-iteration (per-frame for the rule alone) progress bar, or in `workers` threads (layers by the rule: numpy,
    OpenCV and torch release the GIL, measured 1.59x with 2 threads on 2 cores, and no process start-up) or
    spawned processes (optimized layers, each with cores/workers torch threads), yielding (object index, layer,
    seconds) as each finishes. Each layer is seeded by its options alone, so the result does not depend on the
    order."""

    def solo_of(i: int) -> np.ndarray:
        return read_video(out / "removals" / output_name(f"solo_{i}", footage.names, "png"))[0]

    def frames_bar(i: int) -> Any:  # a rule layer's bar counts the frames of its least alpha
        task = bar.add_task(f"layer {footage.names[i]} (frames)", total=len(bg))
        return lambda k: bar.update(task, completed=k)

    if workers <= 1 or len(todo) <= 1:
        for i in todo:
            if ocfg.optimizes:
                task = bar.add_task(f"layer {footage.names[i]}", total=ocfg.coarse_iters + ocfg.fine_iters)
                on_iter, on_frames = (lambda k, task=task: bar.update(task, completed=k)), None
            else:
                on_iter, on_frames = None, frames_bar(i)
            t0 = time.time()
            layer = optimize_layer(solo_of(i), bg, footage.masks[i], ocfg, on_iter, other_objects(footage.masks, i), on_frames)
            yield i, layer, time.time() - t0
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

    if ocfg.optimizes:
        pool, threads, kind = (
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")),
            max(1, (os.cpu_count() or 1) // workers),
            "processes",
        )
    else:
        pool, threads, kind = ThreadPoolExecutor(workers), None, "threads"
    task = bar.add_task(f"layers ({workers} {kind})", total=len(todo))
    with pool:
        futures = {
            pool.submit(
                _layer_job,
                solo_of(i),
                bg,
                footage.masks[i],
                other_objects(footage.masks, i),
                ocfg,
                threads,
                None if ocfg.optimizes else frames_bar(i),
            ): i
            for i in todo
        }
        for fut in as_completed(futures):
            layer, seconds = fut.result()
            bar.advance(task)
            yield futures[fut], layer, seconds


@locks("out_dir")
def decompose(
    footage: Footage,
    model_dir: str,
    out_dir: str | Path,
    rcfg: RemoveConfig,
    ocfg: OmnimatteConfig,
    resume: bool = False,
    show_progress: bool = True,
    layer_order: str = "auto",
) -> "Decomposition":
    """Remove every object with Casper, then make one RGBA layer per object, stacked by `layer_order` (see
    `genomni.layer_order.layer_order`); returns the report."""

    out = Path(out_dir)
    if out.exists() and not resume and any(p.name != LOCK for p in out.iterdir()):
        raise GenomniError(f"{out} is not empty; pass --resume to continue it or choose a new --out")
    check_layer_memory(*footage.shape, objects=len(footage.names))  # before the removals: they take minutes
    stack = order_layers(footage.masks, footage.names, layer_order)
    log.info("layer order (bottom to top, %s): %s", stack.source, ", ".join(stack.order))
    out.mkdir(parents=True, exist_ok=True)
    fps = footage.fps or DEFAULT_FPS
    t0 = time.time()
    # omnimatte needs the removals exactly as sampled; the prompt used is recorded, whoever gave it
    rcfg = dataclasses.replace(rcfg, format="png", prompt=prompt_for(rcfg, footage))
    removal = remove(footage, model_dir, out / "removals", rcfg, resume=resume, show_progress=show_progress)
    timings = {"remove_s": time.time() - t0}
    progress = progress_bar(show_progress)
    with progress as bar:
        task = bar.add_task("background and masks", total=1 + len(footage.names))
        bg, _ = read_video(out / "removals" / output_name("background", footage.names, "png"))
        if not (out / "background").exists():
            write_video(out / "background", bg)
        bar.advance(task)
        for name, mask in zip(footage.names, footage.masks):  # the object masks, for `generate layers` and edits
            if not (out / "masks" / name).exists():
                write_video(out / "masks" / name, mask.astype(np.uint8) * 255)
            bar.advance(task)
    (out / "layers").mkdir(exist_ok=True)
    layers: dict[str, np.ndarray] = {}  # RGBA uint8: a float copy of a long clip's layer takes gigabytes
    figures: dict[str, Any] = {}
    todo = []
    for i, name in enumerate(footage.names):
        record = out / "layer_figures" / f"{name}.json"
        if resume and (out / "layers" / name).is_dir() and record.is_file():
            made = json.loads(record.read_text())
            if made.get("omnimatte") != json.loads(json.dumps(asdict(ocfg))):  # as JSON stores it
                raise GenomniError(
                    f"--resume: layer {name} in {out} was optimized with other omnimatte options; choose a new --out (nothing was changed)"
                )
            if made.get("layer_rule", 1) != LAYER_RULE:
                raise GenomniError(
                    f"--resume: layer {name} in {out} was made by an earlier genomni (layer rule "
                    f"{made.get('layer_rule', 1)}, now {LAYER_RULE}); choose a new --out (nothing was changed)"
                )
        else:
            todo.append(i)
    with progress as bar:
        workers = layer_workers(len(todo), *footage.shape, cores_each=2 if ocfg.optimizes else 1, objects=len(footage.names))
        log.info(
            "omnimatte: %d layer(s) to make (%s) with %d worker(s)",
            len(todo),
            f"{ocfg.coarse_iters} + {ocfg.fine_iters} iterations" if ocfg.optimizes else "the rule alone",
            workers,
        )
        for i, optimized, seconds in optimize_layers(footage, todo, out, bg, ocfg, workers, bar):
            name = footage.names[i]
            optimized = transfer_from_input(optimized, footage.video, footage.masks[i], other_objects(footage.masks, i))
            write_rgba_folder(out / "layers" / name, optimized.rgba8())
            stats = {k: v for k, v in optimized.stats.items() if k != "config"}
            atomic_write_bytes(
                out / "layer_figures" / f"{name}.json",
                (
                    json.dumps({"figures": stats, "omnimatte": asdict(ocfg), "layer_rule": LAYER_RULE}, indent=2, default=list) + "\n"
                ).encode(),
            )
            timings[f"layer_{name}_s"] = seconds
        task = bar.add_task("previews", total=len(footage.names) + 2)
        for i, name in enumerate(footage.names):
            folder, record = out / "layers" / name, out / "layer_figures" / f"{name}.json"
            stats = json.loads(record.read_text())["figures"]
            rgba = read_rgba8_folder(folder)  # the layer as written: a resumed run composites the same values
            if not (out / "previews" / f"{name}.mp4").exists():
                write_video(out / "previews" / f"{name}.mp4", _even(preview(rgba)), fps)
            layers[name] = rgba
            figures[name] = stats
            bar.advance(task)
        recomposed = composite_rgba8(bg, [layers[n] for n in stack.order])
        write_video(out / "previews" / "background.mp4", _even(bg), fps)
        bar.advance(task)
        write_video(out / "previews" / "recomposition.mp4", _even(recomposed), fps)
        bar.advance(task)
    report = Decomposition(
        **{
            "objects": footage.names,
            "layer_order": stack.order,
            "layer_order_source": stack.source,
            "layer_order_evidence": stack.evidence,
            "fps": fps,
            "frames": int(footage.shape[0]),
            "size": [int(footage.shape[1]), int(footage.shape[2])],
            "model": str(model_dir),
            "remove": {"config": asdict(rcfg), "plan": removal.plan},
            "omnimatte": asdict(ocfg),
            "layers": figures,
            "layer_fit_psnr": min(float(f["recon_psnr_before_transfer"]) for f in figures.values()),
            "recomposition_psnr": psnr_uint8(recomposed, footage.video),
            "timings": timings,
        }
    )
    atomic_write_bytes(out / DECOMPOSITION, (json.dumps(asdict(report), indent=2, default=list) + "\n").encode())
    return report
