"""Which passes a scene's pairs need and how they are rendered: the full pass, then one target pass per
`TargetPlan` (which objects stay visible; resimulated or not), sharing one Cycles seed so that pixels no removed
object influences come out bit-identical. With a static camera the background is one frame, and so is a target
whose kept objects all rest; with `effect_crop` a target is rendered only inside the effect boxes that differ
from passes already rendered (`views.effect_box`). A resimulated target (VOID's pass B) also gets VOID's pass C:
the removed objects hidden, the original physics kept (`quadmask`)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from .blender import BlenderRenderer
from .physics import Motion
from .spec import SceneSpec
from .views import effect_box


@dataclass(frozen=True)
class TargetPlan:
    """One target pass: the scene with only the `kept` objects (ids) visible, plus the scenery (objects that are
    part of the background: pushed things, a cushion); `resimulated` targets use poses simulated without the
    removed objects (their effect includes motion, so the kept things move differently)."""

    tag: str
    kept: tuple[int, ...] = ()
    resimulated: bool = False


@dataclass
class Passes:
    """Rendered passes of one scene, as 8-bit sRGB videos and instance-id maps."""

    full: np.ndarray  # (T,H,W,3)
    instances: np.ndarray  # (T,H,W) object id per pixel, 0 = none (scenery is 0 too)
    targets: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # tag -> (rgb, instance ids)
    hidden: dict[str, np.ndarray] = field(default_factory=dict)  # resimulated tag -> pass C (removed hidden, same physics)
    cloth: np.ndarray | None = None  # the cloth's vertices as simulated with everything (pass A's)
    rendered_frames: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def background(self) -> np.ndarray:
        return self.targets["all"][0]

    @property
    def background_instances(self) -> np.ndarray:
        return self.targets["all"][1]


# px: a denoised box is rendered this much larger and cut back, so the denoiser sees what lies around it (Cycles
# denoises a border render alone; the box's edges then differed from the whole frame's denoise)
DENOISE_MARGIN_PX = 16


def render_pass(
    r,
    spec: SceneSpec,
    poses: np.ndarray,
    tmp: str,
    tag: str,
    once: bool = False,
    base: np.ndarray | None = None,
    box_of=None,
    base_idx: np.ndarray | None = None,
    cloth: np.ndarray | None = None,
):
    """Render a pass frame by frame (one frame if `once`); where `box_of(t)` gives a box, render
    only the box and take `base` (and `base_idx`, else no object) outside it. Returns rgb, instance ids,
    frames, pixels rendered."""
    frames = 1 if once else spec.frames
    shape = (frames, spec.height, spec.width)
    rgb = np.zeros((*shape, 3), np.uint8) if base is None else base[:frames].copy()
    idx = np.zeros(shape, np.uint8) if base_idx is None else base_idx[:frames].copy()
    pixels = 0
    for t in range(frames):
        r.place(spec, poses, t)
        r.deform(cloth, t)
        path = os.path.join(tmp, f"{tag}_{t:05d}.exr")
        box = box_of(t) if box_of is not None else None
        if box is None:
            rgb[t], idx[t] = r.render_frame(path)
            pixels += spec.height * spec.width
            continue
        r0, r1, c0, c1 = box
        if r1 > r0 and c1 > c0:
            m = DENOISE_MARGIN_PX if r.cfg.denoise else 0
            grown = (max(r0 - m, 0), min(r1 + m, spec.height), max(c0 - m, 0), min(c1 + m, spec.width))
            a, b = r.render_box(spec, grown, path)
            rgb[t, r0:r1, c0:c1], idx[t, r0:r1, c0:c1] = a[r0:r1, c0:c1], b[r0:r1, c0:c1]
            pixels += (grown[1] - grown[0]) * (grown[3] - grown[2])
    if once:
        rgb, idx = np.repeat(rgb, spec.frames, axis=0), np.repeat(idx, spec.frames, axis=0)
    return rgb, idx, frames, pixels


def kept_base(r: BlenderRenderer, spec: SceneSpec, poses: np.ndarray, passes: Passes, kept: set[int]):
    """(rgb, ids, box_of) for the target keeping the objects at indices `kept`, from passes already rendered.

    Each object changes pixels only inside its effect box, so the target is the full pass outside the removed
    objects' boxes, the background outside the kept objects' boxes, and needs rendering only where boxes of
    both overlap: `box_of(t)` is the box around those overlaps."""
    rgb, idx = passes.background.copy(), np.zeros_like(passes.instances)
    kept_ids = [spec.objects[i].id for i in kept]
    boxes_at: list[tuple[int, int, int, int] | None] = []
    for t in range(spec.frames):
        r.place(spec, poses, t)
        boxes = {i: effect_box(r, spec, poses, i, t) for i in r.removable}
        if any(b is None for b in boxes.values()):
            boxes_at.append(None)  # a box as big as the frame: render all of it
            continue
        keep_area, drop_area = (np.zeros((spec.height, spec.width), bool) for _ in range(2))
        for i, (r0, r1, c0, c1) in boxes.items():
            (keep_area if i in kept else drop_area)[r0:r1, c0:c1] = True
        only_kept = keep_area & ~drop_area
        rgb[t][only_kept] = passes.full[t][only_kept]
        idx[t][only_kept] = np.where(np.isin(passes.instances[t], kept_ids), passes.instances[t], 0)[only_kept]
        rows, cols = np.nonzero(keep_area & drop_area)
        boxes_at.append((int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1) if len(rows) else (0, 0, 0, 0))
    return rgb, idx, boxes_at.__getitem__


def union_box(r: BlenderRenderer, spec: SceneSpec, poses: np.ndarray, indices: set[int], t: int):
    """The box around the effect boxes of the objects at `indices` at frame t (None = whole frame)."""
    boxes = [effect_box(r, spec, poses, i, t) for i in sorted(indices)]
    if any(b is None for b in boxes):
        return None
    boxes = [b for b in boxes if b[1] > b[0] and b[3] > b[2]]
    if not boxes:
        return (0, 0, 0, 0)
    r0, r1 = min(b[0] for b in boxes), max(b[1] for b in boxes)
    c0, c1 = min(b[2] for b in boxes), max(b[3] for b in boxes)
    return None if (r1 - r0) * (c1 - c0) > 0.7 * spec.width * spec.height else (r0, r1, c0, c1)


def render_full(r: BlenderRenderer, spec: SceneSpec, poses: np.ndarray, cloth: np.ndarray | None = None) -> Passes:
    """Render the full pass (all objects; a cloth as simulated) and its instance ids; targets come from
    `render_targets`."""
    t0 = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="genomni-render-")
    try:
        r.show(set(range(len(r.objects))))
        full, inst, frames, _ = render_pass(r, spec, poses, tmp, "full", cloth=cloth)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Passes(full, inst, rendered_frames={"full": frames}, seconds={"full": time.perf_counter() - t0}, cloth=cloth)


def render_targets(
    r, spec: SceneSpec, poses: np.ndarray, passes: Passes, plans: list[TargetPlan], resimulated: Motion | None = None
) -> Passes:
    """Add a target pass per plan to a full pass (the plan tagged "all", keeping no object, first).

    With a static camera the background is one frame, and so is a target whose kept objects all rest.
    With `effect_crop`, a moving camera's background is rendered only inside the union of the objects'
    effect boxes (the full pass elsewhere), and a target keeping some objects only where kept and removed
    objects' boxes overlap (`_kept_base`). Outside the boxes only bounce-light noise differs
    (`benchmarks/generate_kubric.py` measures it against uncropped renders). A resimulated plan is rendered
    whole with the `resimulated` poses."""
    crop = r.effect_crop
    static_cam = not spec.camera.moving
    index_of = {o.id: i for i, o in enumerate(spec.objects)}
    counts, seconds = passes.rendered_frames, passes.seconds
    tmp = tempfile.mkdtemp(prefix="genomni-render-")
    try:
        for plan in plans:
            t0 = time.perf_counter()
            kept = {index_of[k] for k in plan.kept}
            r.show(kept)
            if plan.resimulated:
                out = render_pass(r, spec, resimulated.poses, tmp, plan.tag, cloth=resimulated.cloth)
                # pass C differs from the full pass only where the hidden objects did: inside their effect boxes
                union = (lambda t: union_box(r, spec, poses, set(r.removable) - kept, t)) if crop else None
                hidden = render_pass(r, spec, poses, tmp, plan.tag + "_hidden", base=passes.full, box_of=union, cloth=passes.cloth)
                passes.hidden[plan.tag] = hidden[0]
                counts["hidden"] = counts.get("hidden", 0) + hidden[2]
            elif len(kept) == len(r.removable):
                out = passes.full.copy(), passes.instances.copy(), 0, 0  # same visibility, same seed: the full pass
            elif not kept:
                union = (lambda t: union_box(r, spec, poses, set(r.removable), t)) if crop and not static_cam else None
                out = render_pass(r, spec, poses, tmp, plan.tag, once=static_cam, base=passes.full, box_of=union)
            else:
                once = static_cam and all(np.abs(poses[:, i] - poses[0, i]).max() < 1e-6 for i in kept)
                base, base_idx, box = passes.background, None, None
                if crop and once:  # one frame: render the kept objects' whole boxes
                    box = lambda t, kept=kept: union_box(r, spec, poses, kept, t)  # noqa: E731
                elif crop:
                    base, base_idx, box = kept_base(r, spec, poses, passes, kept)
                out = render_pass(r, spec, poses, tmp, plan.tag, once=once, base=base, box_of=box, base_idx=base_idx)
            passes.targets[plan.tag] = out[0], out[1]
            kind = "background" if not plan.kept else "kept"
            counts[kind] = counts.get(kind, 0) + out[2]
            counts[f"{kind}_pixels"] = counts.get(f"{kind}_pixels", 0) + out[3]
            seconds[kind] = seconds.get(kind, 0.0) + time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return passes


def render(
    r,
    spec: SceneSpec,
    poses: np.ndarray,
    plans: list[TargetPlan] | None = None,
    resimulated: Motion | None = None,
    cloth: np.ndarray | None = None,
) -> Passes:
    """Render the full pass and the target passes (default: the background and one per object keeping only it)."""
    plans = plans or standard_plans(spec)
    return render_targets(r, spec, poses, render_full(r, spec, poses, cloth), plans, resimulated)


def standard_plans(spec: SceneSpec, keep_identity: bool = False) -> list[TargetPlan]:
    """Remove all objects, and for each object keep only it: not with one object (keeping it alone is the input
    itself, a pair that teaches "change nothing") unless `keep_identity`."""
    ids = spec.object_ids
    solo = len(ids) > 1 or keep_identity
    return [TargetPlan("all")] + ([TargetPlan(f"obj{i}", (i,)) for i in ids] if solo else [])
