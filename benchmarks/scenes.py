"""Are the scenes physically sound? For each scenario and clip length, on scenes the tests never use, measured from
the simulated poses before anything is rendered (pybullet, not genomni, is the judge of contact):

- placed: attempts whose objects could be placed apart and in view (the rest raise `PlacementError`);
- overlapping starts: placed attempts where pybullet reports two objects' hulls interpenetrating by more than
  1 cm at their start poses;
- accepted: attempts that pass every pose check (`generate._precheck`), and why the others failed;
- at rest: scenes whose target (simulated without the removed objects) moves its scenery less than 2% of its size.

    python benchmarks/scenes.py [--scenes 40 --seed 999 --frames 9,24] [--sheet docs/kubric_interactions.png]

With --sheet, one accepted scene per interaction scenario (push, deform, similar) is rendered at 128 px and drawn
as input and target at the first, middle and last frame.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

import cv2
import numpy as np

from genomni.generators.captions import TemplateCaptioner
from genomni.generators.kubric.blender import BlenderRenderer
from genomni.generators.kubric.config import KubricConfig
from genomni.generators.kubric.generate import _precheck, generate_scene, resolve_files, scene_plans
from genomni.generators.kubric.physics import simulate_motion, start_penetration, unsettled_share
from genomni.generators.kubric.sampling import PlacementError, sample_scene
from genomni.media import write_png

SCENARIOS = ("standard", "similar", "push", "deform")


def measure(scenario: str, frames: int, scenes: int, seed: int) -> dict:
    cfg = KubricConfig(seed=seed, frames=frames, height=128, width=128, scenarios=(scenario,))
    resolve_files(cfg)
    renderer = BlenderRenderer(cfg)
    reasons: collections.Counter = collections.Counter()
    overlapping = placed = at_rest = resimulated_n = 0
    for k in range(scenes):
        try:
            spec = sample_scene(cfg, k)
        except PlacementError:
            reasons["cannot place"] += 1
            continue
        placed += 1
        vertices = renderer.build(spec)
        overlapping += start_penetration(spec, vertices) > 0.01
        motion = simulate_motion(spec, vertices)
        plans = scene_plans(spec)
        without = simulate_motion(spec, vertices, without=frozenset(spec.object_ids)) if any(p.resimulated for p in plans) else None
        if without is not None:
            resimulated_n += 1
            at_rest += unsettled_share(spec, without) <= 0.02
        why = _precheck(cfg, spec, renderer, motion, without)
        reasons[re.sub(r"\(.*\)|[\d.]+%?", "", why or "accepted").strip()] += 1
    return {
        "scenario": scenario,
        "frames": frames,
        "placed": placed,
        "overlapping": overlapping,
        "accepted": reasons["accepted"],
        "at_rest": f"{at_rest}/{resimulated_n}" if resimulated_n else "-",
        "rejections": {k: v for k, v in reasons.items() if k != "accepted"},
        "scenes": scenes,
    }


def sheet(path: Path, seed: int) -> None:
    rows = []
    for scenario in ("push", "deform", "similar"):
        cfg = KubricConfig(seed=seed, frames=24, height=128, width=128, scenarios=(scenario,))
        resolve_files(cfg)
        renderer = BlenderRenderer(cfg)
        result = generate_scene(cfg, 0, renderer, TemplateCaptioner())
        s = result.samples[0]
        picks = [0, s.input.shape[0] // 2, s.input.shape[0] - 1]
        tiles = [s.input[t] for t in picks] + [s.target[t] for t in picks]
        row = np.concatenate(tiles, 1)[..., ::-1].copy()
        cv2.putText(row, f"{scenario}: input t={picks}, target", (4, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(row)
    write_png(path, np.concatenate(rows, 0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=40)
    ap.add_argument("--seed", type=int, default=999)
    ap.add_argument("--frames", default="9,24")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--sheet", default="")
    args = ap.parse_args()
    print("| scenario | frames | placed | overlapping starts | accepted | target at rest | rejections |")
    print("|---|---|---|---|---|---|---|")
    for scenario in args.scenarios.split(","):
        for frames in (int(f) for f in args.frames.split(",")):
            r = measure(scenario, frames, args.scenes, args.seed)
            why = ", ".join(f"{k} {v}" for k, v in sorted(r["rejections"].items(), key=lambda kv: -kv[1]))
            print(
                f"| {scenario} | {frames} | {r['placed']}/{r['scenes']} | {r['overlapping']} | {r['accepted']}/{r['scenes']} | "
                f"{r['at_rest']} | {why} |",
                flush=True,
            )
    if args.sheet:
        sheet(Path(args.sheet), args.seed)


if __name__ == "__main__":
    main()
