"""`genomni generate layers`: samples from RGBA layer decompositions (omnimatte outputs, `genomni
decompose` folders): input = every layer composited over the background; target = the same without
one layer (or without all of them), so the dropped layer's shadows and reflections, which live in
the layer, vanish from the target.

A decomposition folder holds `background/` (frames), `layers/<name>/` (RGBA PNG frames) and,
optionally, `masks/<name>/` (the objects' masks) and `decomposition.json` (`layer_order`, `fps`).
The trimask marks the dropped layers' objects 0, the kept layers' objects 255 and the rest 128;
without masks, an object is where its layer's alpha >= `object_alpha` (effects are usually fainter).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

from .. import __version__
from .. import trimask as tm
from ..constants import DEFAULT_FPS, EFFECT_LEVELS
from ..errors import GenomniError
from ..footage import binarize_mask
from ..footage_folders import read_caption_txt
from ..layers import composite, read_rgba_folder
from ..media import read_video
from ..options import option, require
from ..sample import Sample
from .captions import CaptionOptions
from .run import RunOptions, RunSummary, SceneResult, run_generator, skipping_bad

SOURCE = "layers"


@dataclass(kw_only=True)
class LayersConfig(CaptionOptions):
    """Decomposition folders, how to turn them into samples, and how to caption the targets."""

    inputs: list[str] = option([], "Decomposition folders: background/ + layers/<name>/ RGBA PNGs (+ masks/<name>/).", positional=True)
    drop_all: bool = option(True, "Also make the sample with every layer dropped.")
    object_alpha: float = option(0.9, "Without masks/: an object is where its layer's alpha is at least this.")

    def __post_init__(self) -> None:
        require(
            [
                (bool(self.inputs), "give one or more decomposition folders (background/ + layers/<name>/)"),
                (0 < self.object_alpha <= 1, "--object-alpha must be in (0, 1]"),
            ]
        )


def layers_job(cfg: LayersConfig, index: int) -> SceneResult:
    folder = Path(cfg.inputs[index])
    info = json.loads((folder / "decomposition.json").read_text()) if (folder / "decomposition.json").is_file() else {}
    if not (folder / "layers").is_dir() or not (folder / "background").exists():
        raise GenomniError(f"{folder}: not a decomposition folder (background/ and layers/<name>/ expected)")
    order = info.get("layer_order") or sorted(p.name for p in (folder / "layers").iterdir() if p.is_dir())
    bg, _ = read_video(folder / "background")
    layers = {name: read_rgba_folder(folder / "layers" / name) for name in order}
    objects = {}
    for name, (alpha, _) in layers.items():
        if alpha.shape != bg.shape[:3]:
            raise GenomniError(f"{folder}/layers/{name}: {alpha.shape} does not match the background {bg.shape[:3]}")
        if (folder / "masks" / name).exists():
            m, _ = read_video(folder / "masks" / name, gray=True)
            objects[name] = binarize_mask(m, str(folder / "masks" / name))
        else:
            objects[name] = alpha >= cfg.object_alpha
    own = read_caption_txt(folder)
    inp = composite(bg, [layers[n] for n in order])
    drops = [[n] for n in order] + ([list(order)] if cfg.drop_all and len(order) > 1 else [])
    targets = [composite(bg, [layers[n] for n in order if n not in drop]) for drop in drops]
    captions = cfg.captions(targets, own, str(folder))  # BLIP-2: every target of the folder in one batch
    samples = []
    for drop, target, caption in zip(drops, targets, captions):
        keep = [n for n in order if n not in drop]
        tri = np.full(bg.shape[:3], tm.BACKGROUND, np.uint8)
        for n in keep:
            tri[objects[n]] = tm.KEEP
        for n in drop:
            tri[objects[n]] = tm.REMOVE
        tag = "all" if len(drop) > 1 else f"l{order.index(drop[0]):02d}"  # names may hold any characters
        meta = {
            "source": SOURCE,
            "generator": f"genomni.layers {__version__}",
            "scene_index": index,
            "decomposition": folder.name,
            "fps": float(info.get("fps", DEFAULT_FPS)),
            "layers": list(order),
            "dropped": drop,
            "kept": keep,
            "removed_ids": [order.index(n) + 1 for n in drop],
            "kept_ids": [order.index(n) + 1 for n in keep],
            "qc": {"effect_frac": float(((np.abs(inp.astype(int) - target).max(-1) > EFFECT_LEVELS) & (tri == tm.BACKGROUND)).mean())},
        }
        samples.append(Sample(f"layers-s{index:07d}-{tag}", inp, target, tri, caption, meta).validate())
    return SceneResult(index, samples)


def run_layers(cfg: LayersConfig, opts: RunOptions, skip_bad: bool = False) -> RunSummary:
    """Generate layer-recombination samples into `opts.out_dir` (resumable); `skip_bad` drops bad folders."""
    cfg.check_captioner()
    job = partial(skipping_bad, partial(layers_job, cfg)) if skip_bad else partial(layers_job, cfg)
    return run_generator(SOURCE, {"config": asdict(cfg)}, len(cfg.inputs), job, opts, {"source": SOURCE, "config": asdict(cfg)})
