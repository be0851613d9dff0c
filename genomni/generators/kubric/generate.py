"""One kubric scene -> Samples: sample a spec, simulate, render passes, build samples, apply QC.

Per scene, one sample per target pass (`scene_plans`): standard scenes give a "remove all" sample
(target = background; trimask: objects 0, rest 128) and one per object i (target = solo_i; trimask:
object i 255, other objects 0, rest 128); similar-object scenes give remove-all, remove-one and
remove-some samples; push, deform and stack scenes a remove-the-objects sample whose target is the scenery
(knocked-over things, a sheet the objects fell on, what a box held up) simulated without them (VOID's pass B),
with VOID's pass C (the objects hidden, the physics kept) as the `hidden` extra. Every sample has a `quadmask`.
Input is always the full render. A scene that fails QC, or draws a mesh file that cannot make an object
(`AssetError`), is resampled (attempt + 1): up to `max_attempts` rendered attempts,
and POSE_ATTEMPTS times as many attempts in all (those rejected from the simulated poses render
nothing), so scene k stays a pure function of (seed, k, config).
"""

from __future__ import annotations

import os
import time
from functools import partial
from typing import Any

import numpy as np

from ... import __version__
from ... import quadmask as qm
from ... import trimask as tm
from ...options import require
from ...sample import Sample
from ..captions import Captioner, TemplateCaptioner
from ..run import RunOptions, RunSummary, SceneResult, run_generator
from .assets import HDRI_SUFFIXES, AssetError, user_files, user_meshes
from .blender import BlenderRenderer
from .bpy_runtime import require_bpy, use_gpu
from .config import KubricConfig
from .hdri import bundled_hdris
from .pairs import clean_target
from .passes import Passes, TargetPlan, render_full, render_targets, standard_plans
from .physics import Motion, simulate_motion, unsettled_share
from .qc import sample_qc, visible_pixels
from .sampling import PlacementError, sample_scene
from .spec import SceneSpec
from .truth_layers import layer_plans, scene_layers
from .views import cloth_px, motion_px, out_of_frame, visible_estimate

SOURCE = "kubric"
INTERACTIONS = ("push", "deform", "stack")  # scenarios whose targets are simulated without the removed objects
REST_SHARE = 0.02  # the most scenery may move (share of its size) in a target simulated without the removed objects
POSE_ATTEMPTS = 4  # a scene rejected from its poses costs no render: it may be resampled this many times more often


def scene_plans(spec: SceneSpec, keep_identity: bool = False) -> list[TargetPlan]:
    """The target passes a scene's samples need: standard scenes remove all objects and keep each alone (with
    two or more: see `passes.standard_plans`); similar scenes also remove one instance and a subset
    (`spec.removals`); push, deform and stack scenes remove the objects, with the scenery (pushed things, the
    sheet, what the box held) simulated without them."""
    ids = spec.object_ids
    if spec.scenario in INTERACTIONS:
        return [TargetPlan("all", (), resimulated=True)]
    if spec.scenario == "similar":
        names = ("one", "some")
        return [TargetPlan("all")] + [TargetPlan(n, tuple(i for i in ids if i not in r)) for n, r in zip(names, spec.removals)]
    return standard_plans(spec, keep_identity)


def build_samples(
    cfg: KubricConfig,
    spec: SceneSpec,
    passes: Passes,
    plans: list[TargetPlan],
    blender_version: str,
    captioner: Captioner,
    render_device: str = "CPU",
) -> list[Sample]:
    """One sample per target pass: input the full render, target the pass (cleaned: `pairs.clean_target`), trimask
    removed objects 0, kept objects 255, the rest (scenery included) 128."""
    ids = spec.object_ids
    visible = visible_pixels(passes.instances, ids)
    samples = []
    for plan in plans:
        kept = list(plan.kept)
        removed = [i for i in ids if i not in kept]
        target, target_inst = passes.targets[plan.tag]
        trimask = tm.with_rims(tm.from_instances(passes.instances, remove=removed, keep=kept))
        extras = {"instances": passes.instances}
        own = passes.instances != target_inst  # what the target shows anew besides the removed objects
        if plan.tag in passes.hidden:  # VOID's pass C: the quadmask's "changed" is where it and the target differ
            extras["hidden"] = passes.hidden[plan.tag]
            extras["quadmask"] = qm.from_passes(trimask, passes.hidden[plan.tag], target)
            # re-simulated: what moved is the target's own, as rendered; held-up scenery is in no instance map, so
            # the quadmask's changed pixels say where
            own |= qm.affected(extras["quadmask"])
        else:  # the same physics with and without the removed objects: nothing else changes
            extras["quadmask"] = qm.from_trimask(trimask)
        clean, region = clean_target(passes.full, target, np.isin(passes.instances, removed), own)
        meta: dict[str, Any] = {
            "source": SOURCE,
            "generator": "genomni.generators.kubric",
            "generator_version": __version__,
            "renderer": "blender-cycles",
            "blender_version": blender_version,
            "run_seed": cfg.seed,
            "scene_index": spec.index,
            "scene_attempt": spec.attempt,
            "scenario": spec.scenario,
            "sample_kind": "all" if not kept else ("solo" if len(kept) == 1 and spec.scenario == "standard" else "some"),
            "fps": spec.fps,
            "frames": spec.frames,
            "height": spec.height,
            "width": spec.width,
            "spp": cfg.samples,
            "denoise": cfg.denoise,
            "render_device": render_device,
            "effect_crop": cfg.effect_crop,
            "object_ids": ids,
            "removed_ids": removed,
            "kept_ids": kept,
            "scene": spec.to_dict(),
        }
        qc = sample_qc(passes.full, target, clean, region, passes.instances, target_inst, removed)
        qc["visible_pixels"] = visible
        meta["qc"] = qc
        qc["affected_frac"] = round(float(qm.affected(extras["quadmask"]).mean()), 6)
        sample = Sample(
            key=f"{SOURCE}-s{spec.index:07d}-{plan.tag}",
            input=passes.full,
            target=clean,
            trimask=trimask,
            caption="",
            meta=meta,
            extras=extras,
        )
        samples.append(sample)
    if cfg.layers and spec.scenario == "standard":
        add_truth_layers(samples[0], passes, ids)
    for sample in samples:
        sample.caption = captioner.caption(sample.target, sample.meta)
        sample.validate()
    return samples


def add_truth_layers(sample: Sample, passes: Passes, ids: list[int]) -> None:
    """Attach the scene's true layers (`truth_layers.scene_layers`) to the remove-all sample as the `layers` extra
    (N,T,H,W,4 uint8, in `meta.layer_ids` order, which is also their compositing order), with how well they
    recompose the input as `meta.qc.layers_recomposition_psnr`."""
    from ...layers import composite, from_rgba8
    from ...metrics import psnr_uint8

    rgba = scene_layers(sample.target, passes, ids)
    sample.extras["layers"] = rgba
    sample.meta["layer_ids"] = ids
    rec = composite(sample.target, [from_rgba8(x) for x in rgba])
    sample.meta["qc"]["layers_recomposition_psnr"] = round(float(psnr_uint8(rec, sample.input)), 3)


def _precheck(cfg: KubricConfig, spec: SceneSpec, renderer: BlenderRenderer, motion: Motion, resimulated: Motion | None) -> str | None:
    """Why a scene fails QC that the simulated poses already decide (nothing rendered yet), or None."""
    poses = motion.poses
    cut = out_of_frame(renderer, spec, poses)
    if cut > cfg.max_cut:
        return f"an object is {cut:.0%} out of frame (> --max-cut {cfg.max_cut:g})"
    if spec.scenario == "stack":  # what the box holds is what changes: it must be seen, in the input and as it falls
        held = [i for i, o in enumerate(spec.objects) if o.motion == "held"]
        cut = max(out_of_frame(renderer, spec, p, held) for p in (poses, resimulated.poses)) if resimulated is not None else 0.0
        if cut > cfg.max_cut:
            return f"what the box holds is {cut:.0%} out of frame (> --max-cut {cfg.max_cut:g})"
    if not spec.camera.moving and cfg.min_motion > 0:
        moved = motion_px(renderer, spec, poses)
        if resimulated is not None:  # a stack stands still until its support is gone: the target's motion counts
            moved = max(moved, motion_px(renderer, spec, resimulated.poses))
        if moved < cfg.min_motion:  # a still clip has nothing to teach about time
            return f"nothing moves ({moved:.2f} px < --min-motion {cfg.min_motion})"
    if resimulated is not None:
        # nothing acts on the scenery but the removed objects: where they push, it must stand still without them;
        # where they hold it up (a stack), it must stand still with them
        still, which = (motion, "with") if spec.scenario == "stack" else (resimulated, "without")
        unsettled = unsettled_share(spec, still)
        if unsettled > REST_SHARE:
            return f"the scene {which} the removed objects is not at rest (something moves {unsettled:.1%} of its size)"
        pushed = motion_px(renderer, spec, poses, against=resimulated.poses)
        if motion.cloth is not None:
            pushed = max(pushed, cloth_px(renderer, spec, motion.cloth, resimulated.cloth))
        if pushed < max(cfg.min_motion, 2.0):
            return f"the removed object changes how nothing else moves ({pushed:.2f} px)"
    seen = visible_estimate(renderer, spec, poses)
    fewest = min(seen[k] for k in renderer.removable)
    if fewest < cfg.object_pixel_floor:
        return f"an object would show about {fewest} pixels (< {cfg.object_pixel_floor}; from the poses)"
    return None


def generate_scene(cfg: KubricConfig, index: int, renderer: BlenderRenderer, captioner: Captioner | None = None) -> SceneResult:
    """Render scene `index` of the run, resampling on QC failure; see the module docstring."""
    captioner = captioner or TemplateCaptioner()
    reasons: list[str] = []
    stats: dict[str, Any] = {"rendered_frames": {}, "render_seconds": {}}
    start = time.perf_counter()
    rendered, attempt = 0, -1
    while rendered < cfg.max_attempts and attempt + 1 < cfg.max_attempts * POSE_ATTEMPTS:
        attempt += 1
        try:
            spec = sample_scene(cfg, index, attempt)
        except PlacementError as exc:
            reasons.append(f"attempt {attempt}: {exc}")
            continue
        try:
            vertices = renderer.build(spec)
        except AssetError as exc:
            reasons.append(f"attempt {attempt}: {exc}")
            continue
        motion = simulate_motion(spec, vertices)
        poses = motion.poses
        plans = scene_plans(spec, cfg.keep_identity_samples)
        extra = layer_plans(spec) if cfg.layers and spec.scenario == "standard" else []
        removed = frozenset(spec.object_ids)
        resimulated = simulate_motion(spec, vertices, without=removed) if any(p.resimulated for p in plans) else None
        why = _precheck(cfg, spec, renderer, motion, resimulated)
        if why is not None:
            reasons.append(f"attempt {attempt}: {why}")
            continue
        rendered += 1
        passes = render_full(renderer, spec, poses, motion.cloth)
        visible = visible_pixels(passes.instances, spec.object_ids)
        if min(visible) >= cfg.object_pixel_floor:  # check before paying for the target passes
            passes = render_targets(renderer, spec, poses, passes, plans + extra, resimulated)
        for k, v in passes.rendered_frames.items():
            stats["rendered_frames"][k] = stats["rendered_frames"].get(k, 0) + v
        for k, v in passes.seconds.items():
            stats["render_seconds"][k] = round(stats["render_seconds"].get(k, 0.0) + v, 3)
        if min(visible) < cfg.object_pixel_floor:
            reasons.append(f"attempt {attempt}: an object shows only {min(visible)} pixels (< {cfg.object_pixel_floor})")
            continue
        samples = build_samples(cfg, spec, passes, plans, renderer.version, captioner, renderer.device)
        worst = max(s.meta["qc"]["drift_frac"] for s in samples)
        residual = sum(s.meta["qc"]["residual_object_pixels"] for s in samples)
        if worst > cfg.max_drift:
            reasons.append(f"attempt {attempt}: background drift {worst:.3f} > {cfg.max_drift}")
            continue
        if residual:
            reasons.append(f"attempt {attempt}: {residual} removed-object pixels left in targets")
            continue
        stats["seconds"] = round(time.perf_counter() - start, 3)
        stats["qc_failures"] = reasons
        return SceneResult(index, samples, attempt + 1, None, stats)
    stats["seconds"] = round(time.perf_counter() - start, 3)
    return SceneResult(index, [], attempt + 1, "; ".join(reasons), stats)


_WORKER: dict[str, Any] = {}


def worker_generate(cfg: KubricConfig, index: int, threads: int) -> SceneResult:
    """Process-pool entry point: one renderer per worker process, reused across scenes."""
    renderer = _WORKER.get("renderer")
    if renderer is None or renderer.cfg != cfg:
        renderer = _WORKER["renderer"] = BlenderRenderer(cfg, threads=threads)
    return generate_scene(cfg, index, renderer)


def resolve_files(cfg: KubricConfig):
    """Fill in the config's file lists (user meshes, bundled and user HDRIs as portable refs: part of the run's
    identity) and return bpy; one-line errors for missing or unreadable folders and for HDRI lighting without maps."""
    cfg.asset_files = user_meshes(cfg.assets_dir)
    user_hdris = ["hdri:" + f for f in user_files(cfg.hdri_dir, HDRI_SUFFIXES, "--hdri-dir")]
    if cfg.assets_dir and "assets" not in cfg.object_sources:
        cfg.object_sources = (*cfg.object_sources, "assets")
    bpy = require_bpy()
    if cfg.render_device == "gpu":
        use_gpu(bpy)  # no GPU: one line before any work
    cfg.hdri_files = (bundled_hdris() if cfg.bundled_hdris else []) + user_hdris
    require(
        [
            (
                bool(cfg.hdri_files) or cfg.hdri_prob == 0,
                "no HDRI to light the scenes with: give --hdri-dir, keep --bundled-hdris, or set --hdri-prob 0",
            )
        ]
    )
    return bpy


def run_kubric(cfg: KubricConfig, opts: RunOptions) -> RunSummary:
    """Generate a kubric dataset into `opts.out_dir` (resumable; see `generators.run`)."""
    bpy = resolve_files(cfg)
    identity = {"config": cfg.to_dict(), "blender_version": bpy.app.version_string}
    for key in ("assets_dir", "hdri_dir"):  # folders may move; their file lists are the identity
        identity["config"].pop(key)
    if opts.executor == "ray":  # Cycles threads = the CPUs each task holds
        threads = max(1, int(opts.task_cpus))
    else:
        threads = max(1, (os.cpu_count() or 1) // opts.workers) if opts.workers > 1 else 0
    job = partial(worker_generate, cfg, threads=threads)
    card = {"source": SOURCE, "config": cfg.to_dict(), "renderer": f"blender-cycles {bpy.app.version_string}"}
    return run_generator(SOURCE, identity, cfg.num_scenes, job, opts, card)
