"""Reliability figures a user can reproduce: kill -9 at many points and resume (outputs byte-identical to an
uninterrupted run?), bad inputs (one line on stderr and a non-zero exit, never a traceback?), and corrupted
shards (found by `data validate`, a clean error or an explicit skip in every reader?).

    python benchmarks/reliability.py --out bench_out/reliability [--kills 6] [--corruptions 1000]

Prints Markdown tables and writes OUT/summary.json. Uses the CLI exactly as a user would (subprocesses).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from reliability_adversary import adversary

GENOMNI = [sys.executable, "-m", "genomni.cli"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([*GENOMNI, *args], capture_output=True, text=True)
    if check and r.returncode:
        raise SystemExit(f"genomni {' '.join(args)} failed:\n{r.stderr}")
    return r


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def killed(args: list[str], delay: float) -> bool:
    """Start a command and kill -9 its process group after `delay` seconds; whether it was still running."""
    p = subprocess.Popen([*GENOMNI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    alive = p.poll() is None
    if alive:
        os.killpg(p.pid, signal.SIGKILL)  # the whole group: render workers too
    p.wait()
    return alive


def killed_then_resumed(args: list[str], delay: float, resume: list[str]) -> str:
    """Kill a command after `delay` seconds, then run it again with `resume`: "" when the rerun finished, else its
    one-line refusal (a verb whose output must not exist says so when the kill came after it was complete)."""
    killed(args, delay)
    again = run(*args, *resume, check=False)
    return again.stderr.strip().splitlines()[-1] if again.returncode else ""


STAGES: list[str] = []  # --stages: the kill stages to run (words of their names); the others only make their data


def kill_stage(out: Path, name: str, ref: str, args: list[str], resume: list[str], files, kills: int, rng: random.Random) -> dict:
    """One stage: an uninterrupted reference run into OUT/ref, then `kills` runs killed at random moments and run
    again with `resume`; how many ended with `files(folder)` (a digest) equal to the reference's."""
    if STAGES and not any(word in name for word in STAGES):
        if not (out / ref).exists():
            run(*args, "--out", str(out / ref))
        return {"stage": name, "kills": 0, "identical": 0, "rerun_refused": []}
    shutil.rmtree(out / ref, ignore_errors=True)
    t0 = time.time()
    run(*args, "--out", str(out / ref))
    seconds = time.time() - t0
    want, ok, refused = files(out / ref), 0, []
    for k in range(kills):
        d = out / f"{ref}-kill{k}"
        shutil.rmtree(d, ignore_errors=True)
        said = killed_then_resumed([*args, "--out", str(d)], rng.uniform(min(0.5, seconds / 2), seconds), resume)
        if said:
            refused.append(said)
        ok += files(d) == want
    return {"stage": name, "kills": kills, "identical": ok, "rerun_refused": refused}


def kill_points(out: Path, kills: int, rng: random.Random) -> list[dict]:
    """Per writer: an uninterrupted reference, then `kills` runs killed at random times and resumed. The references
    are the data the other parts use (OUT/data, OUT/train-ref, OUT/footage)."""
    gen = ["generate", "kubric", "--num-scenes", "6", "--frames", "3", "--resolution", "32", "--samples", "4"]
    gen += ["--scenes-per-shard", "2", "--no-progress"]
    shards = lambda d: digest([*d.glob("*.tar"), d / "manifest.jsonl"])  # noqa: E731
    rows = [kill_stage(out, "generate kubric (shards + manifest)", "data", gen, [], shards, kills, rng)]
    data, model = out / "data", out / "pixel"
    if not model.exists():
        run("train", "init", "--preset", "pixel", "--out", str(model))
    train = ["train", "run", "--model", str(model), "--data", str(data), "--steps", "12", "--checkpoint-every", "3"]
    train += ["--warmup-steps", "0", "--frames", "3", "--resolution", "32", "--workers", "0", "--no-progress"]
    weights = lambda d: digest(list((d / "model" / "transformer").glob("*.safetensors")))  # noqa: E731
    rows.append(kill_stage(out, "train run (exported weights)", "train-ref", train, ["--resume", "latest"], weights, kills, rng))

    export = ["data", "export", str(data), "--limit", "2", "--benchmark"]
    rows.append(kill_stage(out, "data export (footage folders)", "footage", export, [], lambda d: digest(_files(d)), kills, rng))
    clip = next(p for p in sorted((out / "footage").iterdir()) if p.is_dir() and not p.name.startswith("."))
    trained = str(out / "train-ref" / "model")
    rm = ["remove", str(clip / "input.mkv"), "--masks-dir", str(clip / "masks"), "--model", trained, "--format", "mkv", "--no-progress"]
    rows.append(kill_stage(out, "remove (outputs)", "remove-ref", rm, ["--resume"], lambda d: digest(list(d.glob("*.mkv"))), kills, rng))
    dec = ["decompose", str(clip), "--model", trained, "--steps", "2", "--coarse-iters", "20", "--fine-iters", "10", "--no-progress"]
    rows.append(
        kill_stage(out, "decompose (layers, previews)", "decompose-ref", dec, ["--resume"], lambda d: digest(_files(d)), kills, rng)
    )

    tuples = out / "tuples"
    if not tuples.exists():
        run("data", "export", str(data), "--out", str(tuples), "--format", "gen-omnimatte", "--limit", "3")
    imp = ["data", "import", str(tuples), "--no-progress"]
    rows.append(kill_stage(out, "data import (shards + manifest)", "import-ref", imp, [], shards, kills, rng))
    cmd = later_commands(out)
    rows.append(
        kill_stage(out, "generate objectpaste (shards + manifest)", "paste-ref", cmd["generate objectpaste"], [], shards, kills, rng)
    )
    files = lambda d: digest(_files(d))  # noqa: E731
    rows.append(kill_stage(out, "edit (re-composed PNG frames)", "edit-ref", cmd["edit"], ["--overwrite"], files, kills, rng))
    scores = lambda d: digest([d / "per_scene.csv", d / "per_frame.csv"])  # noqa: E731
    rows.append(kill_stage(out, "eval (per-scene and per-frame scores)", "eval-ref", cmd["eval"], [], scores, kills, rng))
    return rows + kill_points_more(out, kills, rng)


def later_commands(out: Path) -> dict[str, list[str]]:
    """The writers that read what the first ones made (OUT/data, OUT/train-ref, OUT/footage, OUT/decompose-ref,
    OUT/masks-ref), as the kill and full-disk parts both run them (without --out)."""
    clip = next(p for p in sorted((out / "footage").iterdir()) if p.is_dir() and not p.name.startswith("."))
    paste = ["generate", "objectpaste", "--objects", str(out / "data"), "--backgrounds", str(moving_clip(out))]
    paste += ["--num-samples", "6", "--frames", "3", "--caption", "A floor.", "--no-progress"]
    ev = ["eval", "--benchmark", f"k={out / 'footage'}", "--method", "copy-input", "--method", "cv2-inpaint", "--method"]
    ev += [f"casper[steps=2]:{out / 'train-ref' / 'model'}", "--no-lpips", "--no-progress"]
    tripod = ["generate", "tripod", str(out / "masks-ref"), "--frames", "4", "--stride", "2", "--caption", "A floor.", "--no-progress"]
    base, tuned = released_checkpoint(out)
    return {
        "generate objectpaste": paste,
        "edit": ["edit", str(out / "decompose-ref"), "--drop", clip_object(clip)],
        "eval": ev,
        "generate tripod": tripod,
        "generate layers": ["generate", "layers", str(out / "decompose-ref"), "--caption", "A floor.", "--no-progress"],
        "train import": ["train", "import", "--base", str(base), "--transformer", str(tuned)],
    }


def kill_points_more(out: Path, kills: int, rng: random.Random) -> list[dict]:
    """The writers made from the data above: masks, generate tripod and layers, train init, import and vae."""
    shards = lambda d: digest([*d.glob("*.tar"), d / "manifest.jsonl"])  # noqa: E731
    weights = lambda d: digest([*d.rglob("*.safetensors"), d / "casper.json"])  # noqa: E731
    masks = ["masks", str(moving_clip(out)), "--method", "motion", "--no-progress"]
    rows = [kill_stage(out, "masks (footage folder)", "masks-ref", masks, [], lambda d: digest(_files(d)), kills, rng)]
    cmd = later_commands(out)
    rows.append(kill_stage(out, "generate tripod (shards + manifest)", "tripod-ref", cmd["generate tripod"], [], shards, kills, rng))
    rows.append(kill_stage(out, "generate layers (shards + manifest)", "layers-ref", cmd["generate layers"], [], shards, kills, rng))
    rows.append(kill_stage(out, "train init (model dir)", "init-ref", ["train", "init", "--preset", "tiny"], [], weights, kills, rng))
    rows.append(kill_stage(out, "train import (model dir)", "trainimport-ref", cmd["train import"], [], weights, kills, rng))
    rows.append(kill_in_place(out, kills, rng))
    return rows


def released_checkpoint(out: Path) -> tuple[Path, Path]:
    """A miniature Wan2.1-Fun-InP base laid out as alibaba-pai publishes it, and a full fine-tune of its DiT."""
    import torch
    from safetensors.torch import load_file, save_file

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.original_layouts import write_fun_inp_folder

    base, tuned = out / "fun-base", out / "fun-casper.safetensors"
    if not base.exists():
        write_fun_inp_folder(base)
    if not tuned.exists():
        dit = load_file(base / "diffusion_pytorch_model.safetensors")
        save_file({k: v + torch.full_like(v, 0.5) for k, v in dit.items()}, tuned)
    return base, tuned


def kill_in_place(out: Path, kills: int, rng: random.Random) -> dict:
    """`train vae` rewrites its model dir in place: killed at random moments, the dir must hold the model as it was
    or as a finished fit, never a mixture; run again from the model as it was, it must equal an uninterrupted fit."""
    name = "train vae (model dir, in place)"
    if STAGES and not any(word in name for word in STAGES):
        return {"stage": name, "kills": 0, "identical": 0, "rerun_refused": []}
    start = out / "init-ref"
    fit = ["train", "vae", "--data", str(out / "data"), "--steps", "8", "--batch-size", "2", "--frames", "1"]
    fit += ["--resolution", "32", "--no-progress"]
    vae = lambda d: digest(list(d.rglob("*.safetensors"))) if (d / "casper.json").is_file() else "missing"  # noqa: E731
    ref = out / "vae-ref"
    shutil.rmtree(ref, ignore_errors=True)
    shutil.copytree(start, ref)
    t0 = time.time()
    run(*fit, "--model", str(ref))
    seconds, before = time.time() - t0, vae(start)
    ok, refused = 0, []
    for k in range(kills):
        d = out / f"vae-ref-kill{k}"
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(start, d)
        killed([*fit, "--model", str(d)], rng.uniform(min(0.5, seconds / 2), seconds))
        state = vae(d)
        if state == before:  # the kill came before the rewrite: the same command again
            again = run(*fit, "--model", str(d), check=False)
            if again.returncode:
                refused.append(again.stderr.strip().splitlines()[-1])
            state = vae(d)
        ok += state == vae(ref)
    return {"stage": name, "kills": kills, "identical": ok, "rerun_refused": refused}


def clip_object(clip: Path) -> str:
    """The name of a footage folder's first object (its first mask track)."""
    return sorted(p.name for p in (clip / "masks").iterdir())[0]


def _files(folder: Path) -> list[Path]:
    """What a writer made, for comparing runs: every file but the run records that hold times and commands."""
    skip = {"dataset.json", "train_log.jsonl", "remove.json", "decomposition.json"}  # times, command lines, paths
    return [
        p
        for p in folder.rglob("*")
        if p.is_file() and ".genomni" not in p.parts and p.name not in skip and p.parent.name != "layer_figures"  # seconds
    ]


def moving_clip(out: Path) -> Path:
    """A 12-frame static-camera clip with one square sliding over a textured floor (for `masks --method motion`)."""
    from genomni.media import write_video

    path = out / "moving.mkv"
    if not path.exists():
        rng = np.random.default_rng(0)
        floor = rng.integers(40, 215, (48, 64, 3), dtype=np.uint8)
        frames = np.repeat(floor[None], 12, 0)
        for k in range(12):
            frames[k, 16:30, 4 + 4 * k : 18 + 4 * k] = (220, 40, 40)
        write_video(path, frames, 12.0)
    return path


def full_disk(out: Path) -> list[dict]:
    """Per writer: run it on a tmpfs too small for its output (one `error:` line naming the full disk, exit 1,
    nothing under its final name half-written?), grow the tmpfs and run the same command again (does it finish,
    byte-identical to a run on a roomy disk?). Needs root to mount the tmpfs; otherwise skipped, saying so."""
    if os.geteuid() != 0:
        return [{"writer": "all", "skipped": "needs root to mount a tmpfs"}]
    data, disk = out / "data", out / "full-disk"
    clip = next(p for p in sorted((out / "footage").iterdir()) if p.is_dir() and not p.name.startswith("."))
    seqs = out / "tuples"
    if not seqs.exists():
        run("data", "export", str(data), "--out", str(seqs), "--format", "gen-omnimatte", "--limit", "2")
    writers = {
        "generate kubric": (
            ["generate", "kubric", "--num-scenes", "3", "--resolution", "48", "--frames", "5", "--samples", "4", "--no-progress"],
            300,
        ),
        "data import": (["data", "import", str(seqs), "--no-progress"], 24),
        "data export (footage)": (["data", "export", str(data), "--format", "footage"], 40),
        "data export (gen-omnimatte)": (["data", "export", str(data), "--format", "gen-omnimatte"], 40),
        "data export (hub)": (["data", "export", str(data), "--format", "hub", "--split", "train=0.5,val=0.5"], 40),
        "data export (void)": (["data", "export", str(data), "--format", "void"], None),
        "masks (motion)": (["masks", str(moving_clip(out)), "--method", "motion", "--no-progress"], 12),
        "train init": (["train", "init", "--preset", "pixel"], 600),
        "remove": (
            ["remove", str(clip / "input.mkv"), "--masks-dir", str(clip / "masks"), "--model", str(out / "train-ref" / "model")]
            + ["--format", "mkv", "--no-progress"],
            12,
        ),
        "decompose": (
            ["decompose", str(clip), "--model", str(out / "train-ref" / "model"), "--steps", "2", "--coarse-iters", "20"]
            + ["--fine-iters", "10", "--no-progress"],
            None,
        ),
        "train run": (
            ["train", "run", "--model", str(out / "pixel"), "--data", str(data), "--steps", "6", "--checkpoint-every", "3"]
            + ["--warmup-steps", "0", "--frames", "3", "--resolution", "32", "--workers", "0", "--no-progress"],
            None,
        ),
    }
    writers.update({name: (args, None) for name, args in later_commands(out).items()})
    resume = {"remove": ["--resume"], "decompose": ["--resume"], "train run": ["--resume", "latest"], "edit": ["--overwrite"]}
    made = {  # the rest: every file of its folder
        "train run": lambda d: list((d / "model" / "transformer").glob("*.safetensors")),
        "eval": lambda d: [d / "per_scene.csv", d / "per_frame.csv"],
        "train import": lambda d: [*d.rglob("*.safetensors"), d / "casper.json"],  # config.json files name their folder
    }
    rows = []
    disk.mkdir(exist_ok=True)
    for i, (name, (args, kb)) in enumerate(writers.items()):
        if STAGES and not any(word in name for word in STAGES):
            continue
        ref = out / f"disk-ref-{i}"
        shutil.rmtree(ref, ignore_errors=True)
        run(*args, "--out", str(ref))
        if kb is None:  # half of what the writer makes: it runs out of room midway
            kb = max(8, sum(f.stat().st_size for f in ref.rglob("*") if f.is_file()) // 2048)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kb}K", "tmpfs", str(disk)], check=True)
        try:
            target = disk / "o"
            first = run(*args, "--out", str(target), check=False)
            lines = [ln for ln in first.stderr.splitlines() if ln.strip() and not ln.startswith("pybullet build time")]
            one_line = first.returncode == 1 and len(lines) == 1 and "No space left on device" in lines[0]
            half = [p for p in target.rglob("*") if p.is_file() and p.name.endswith((".tmp", ".partial"))] if target.exists() else []
            subprocess.run(["mount", "-o", "remount,size=256M", str(disk)], check=True)
            again = run(*args, "--out", str(target), *resume.get(name, []), check=False)
            files = made.get(name, _files)
            same = again.returncode == 0 and digest(files(target)) == digest(files(ref))
            rows.append(
                {
                    "writer": name,
                    "one_line": one_line,
                    "message": lines[-1] if lines else f"exit {first.returncode}, nothing on stderr",
                    "partial_left": len(half),
                    "resumed_identical": same,
                }
            )
        finally:
            subprocess.run(["umount", str(disk)], check=True)
    if not STAGES or any(word in "train vae (in place)" for word in STAGES):
        rows.append(full_disk_in_place(out, disk))
    return rows


def full_disk_in_place(out: Path, disk: Path) -> dict:
    """`train vae` on a model dir whose disk has room for the model but not for its rewritten copy: one line, the
    model as it was; with room, the same command gives the uninterrupted fit (OUT/vae-ref from the kill part)."""
    start = out / "init-ref"
    size = sum(f.stat().st_size for f in start.rglob("*") if f.is_file())
    fit = ["train", "vae", "--data", str(out / "data"), "--steps", "8", "--batch-size", "2", "--frames", "1", "--resolution", "32"]
    fit += ["--no-progress"]
    weights = lambda d: digest(list(d.rglob("*.safetensors")))  # noqa: E731
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size * 3 // 2048}K", "tmpfs", str(disk)], check=True)
    try:
        model = disk / "model"
        shutil.copytree(start, model)
        first = run(*fit, "--model", str(model), check=False)
        lines = [ln for ln in first.stderr.splitlines() if ln.strip()]
        one_line = first.returncode == 1 and len(lines) == 1 and "No space left on device" in lines[0]
        kept = (model / "casper.json").is_file() and weights(model) == weights(start)
        left = [p.name for p in disk.iterdir() if p.name != "model"]
        subprocess.run(["mount", "-o", "remount,size=256M", str(disk)], check=True)
        again = run(*fit, "--model", str(model), check=False)
        same = kept and again.returncode == 0 and weights(model) == weights(out / "vae-ref")
        return {
            "writer": "train vae (in place)",
            "one_line": one_line and kept,
            "message": lines[-1] if lines else f"exit {first.returncode}, nothing on stderr",
            "partial_left": len(left),
            "resumed_identical": same,
        }
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def bad_inputs(out: Path) -> list[dict]:
    """Bad command lines: each must end with exit code 1 or 2 and exactly one line on stderr starting 'error:'."""
    data, model = out / "data", out / "train-ref" / "model"
    clip = next(p for p in sorted((out / "footage").iterdir()) if p.is_dir() and not p.name.startswith("."))
    b = out / "bad"
    shutil.rmtree(b, ignore_errors=True)
    b.mkdir()
    (b / "afile").write_text("x")
    (b / "bad.yaml").write_text("frames: many\n")
    (b / "garbage.yaml").write_text("frames: [\n")
    (b / "model").mkdir()
    (b / "model" / "casper.json").write_text("{")
    shutil.copytree(data, b / "garbage-manifest")
    with open(b / "garbage-manifest" / "manifest.jsonl", "a") as fh:
        fh.write("{not json\n")
    shutil.copytree(data, b / "bad-card")
    (b / "bad-card" / "dataset.json").write_text("[")
    from genomni.media import write_video

    write_video(b / "small_mask", np.full((2, 16, 16), 255, np.uint8))
    vid, masks = str(clip / "input.mkv"), str(clip / "masks")
    (b / "seq").mkdir()
    shutil.copy(vid, b / "seq" / "input_video.mkv")
    shutil.copytree(next(Path(masks).iterdir()), b / "seq" / "mask_00")
    (b / "seq" / "prompt.json").write_text("{not json")
    (b / "void" / "v0").mkdir(parents=True)  # a VOID folder without its mask.mp4
    write_video(b / "void" / "v0" / "rgb_full.mp4", np.zeros((2, 16, 16, 3), np.uint8))
    write_video(b / "void" / "v0" / "rgb_removed.mp4", np.zeros((2, 16, 16, 3), np.uint8))
    (b / "void" / "v0" / "metadata.json").write_text("{}")

    def remove_into(folder: Path, *extra: str) -> list[str]:
        """`genomni remove` of the clip with its masks and the reference model into `folder`, then `extra`."""
        return ["remove", vid, "--masks-dir", masks, "--model", str(model), "--out", str(folder), *extra]

    bad_quad = np.full((2, 16, 16), 255, np.uint8)
    bad_quad[0, 0, 0] = 100
    write_video(b / "bad_quadmask.mkv", bad_quad)
    cases = {
        "--out is a file (generate)": ["generate", "kubric", "--out", str(b / "afile"), "--num-scenes", "1"],
        "--out is a file (remove)": ["remove", vid, "--masks-dir", masks, "--model", str(model), "--out", str(b / "afile")],
        "--out is a file (train)": ["train", "run", "--model", str(model), "--data", str(data), "--out", str(b / "afile")],
        "--out is a file (eval)": ["eval", "--benchmark", f"x={out / 'footage'}", "--method", "copy-input", "--out", str(b / "afile")],
        "config value of the wrong type": ["generate", "kubric", "--out", str(b / "o1"), "--config", str(b / "bad.yaml")],
        "config file not YAML": ["generate", "kubric", "--out", str(b / "o2"), "--config", str(b / "garbage.yaml")],
        "bad casper.json": ["remove", vid, "--masks-dir", masks, "--model", str(b / "model"), "--out", str(b / "o3")],
        "not a model dir": ["remove", vid, "--masks-dir", masks, "--model", str(b), "--out", str(b / "o4")],
        "garbage manifest line (inspect)": ["data", "inspect", str(b / "garbage-manifest")],
        "garbage manifest line (train)": [
            "train",
            "run",
            "--model",
            str(model),
            "--data",
            str(b / "garbage-manifest"),
            "--out",
            str(b / "o5"),
            "--steps",
            "1",
        ],
        "dataset.json not JSON": ["data", "inspect", str(b / "bad-card")],
        "--device bogus (remove)": remove_into(b / "o6", "--device", "bogus"),
        "--device bogus (eval)": [
            "eval",
            "--benchmark",
            f"x={out / 'footage'}",
            "--method",
            "copy-input",
            "--out",
            str(b / "o7"),
            "--device",
            "bogus",
        ],
        "--lr -1": ["train", "run", "--model", str(model), "--data", str(data), "--out", str(b / "o8"), "--lr", "-1"],
        "--steps 0": ["remove", vid, "--masks-dir", masks, "--model", str(model), "--out", str(b / "o9"), "--steps", "0"],
        "--resolution 10x": ["generate", "kubric", "--out", str(b / "o10"), "--resolution", "10x"],
        "unknown --objects": ["generate", "kubric", "--out", str(b / "o11"), "--objects", "teapots"],
        "missing video": ["remove", str(b / "nope.mp4"), "--masks-dir", masks, "--model", str(model), "--out", str(b / "o12")],
        "mask of another size": ["remove", vid, "--mask", str(b / "small_mask"), "--model", str(model), "--out", str(b / "o13")],
        "unknown eval method": ["eval", "--benchmark", f"x={out / 'footage'}", "--method", "magic", "--out", str(b / "o14")],
        "benchmark without NAME=": ["eval", "--benchmark", str(out / "footage"), "--method", "copy-input", "--out", str(b / "o15")],
        "edit of a non-decomposition": ["edit", str(b), "--out", str(b / "e.mp4")],
        "export --format bogus": ["data", "export", str(data), "--out", str(b / "o16"), "--format", "bogus"],
        "train init unknown preset": ["train", "init", "--preset", "huge", "--out", str(b / "o17")],
        "train run into a finished run": [
            "train",
            "run",
            "--model",
            str(model),
            "--data",
            str(data),
            "--out",
            str(out / "train-ref"),
            "--steps",
            "12",
        ],
        "remove into a finished folder": remove_into(out / "remove-ref", "--format", "mkv"),
        "a colour video given as a mask": ["remove", vid, "--mask", vid, "--model", str(model), "--out", str(b / "o18")],
        "sequence folder with a broken prompt.json": ["decompose", str(b / "seq"), "--model", str(model), "--out", str(b / "o19")],
        "--mask-threshold 300": remove_into(b / "o20", "--mask-threshold", "300"),
        "URL without its fsspec backend": ["data", "validate", "s3://bucket/none"],
        "--executor bogus": ["generate", "kubric", "--out", str(b / "o21"), "--executor", "bogus"],
        "--scene-timeout without Ray": ["generate", "kubric", "--out", str(b / "o22"), "--scene-timeout", "5"],
        "export --limit -1": ["data", "export", str(data), "--out", str(b / "o23"), "--limit", "-1"],
        "--ema-decay 2": ["train", "run", "--model", str(model), "--data", str(data), "--out", str(b / "o28"), "--ema-decay", "2"],
        "--max-minutes -1": ["train", "run", "--model", str(model), "--data", str(data), "--out", str(b / "o29"), "--max-minutes", "-1"],
        "eval --resize 0x0": [
            "eval",
            "--benchmark",
            f"x={out / 'footage'}",
            "--method",
            "copy-input",
            "--out",
            str(b / "o30"),
            "--resize",
            "0x0",
        ],
        "--max-cut 2": ["generate", "kubric", "--out", str(b / "o24"), "--max-cut", "2"],
        "masks without --out or --edit": ["masks", vid, "--method", "motion"],
        "masks --smooth -1": ["masks", vid, "--method", "motion", "--out", str(b / "o31"), "--smooth", "-1"],
        "masks --edit of a folder that is no footage": ["masks", "--edit", str(b), "--method", "motion", "--point", "a:0:1,1"],
        "masks click outside the frame": ["masks", vid, "--method", "motion", "--point", "a:0:99999,1", "--out", str(b / "o32")],
        "masks SAM 2 without --model": ["masks", vid, "--point", "a:0:1,1", "--out", str(b / "o33")],
        "masks --model of another kind": ["masks", vid, "--model", str(model), "--point", "a:0:1,1", "--out", str(b / "o34")],
        "studio --port 70000": ["studio", str(data), "--port", "70000"],
        "studio of a plain file": ["studio", str(b / "afile")],
        "studio --model that is no model": ["studio", str(data), "--model", str(b)],
        "hub export into a folder with the user's files": ["data", "export", str(data), "--format", "hub", "--out", str(b)],
        "hub export --split not adding up to 1": [
            "data",
            "export",
            str(data),
            "--format",
            "hub",
            "--out",
            str(b / "o35"),
            "--split",
            "a=0.5,b=0.2",
        ],
        "hub export --license with spaces": ["data", "export", str(data), "--format", "hub", "--out", str(b / "o36"), "--license", "CC BY"],
        "push in a 3-frame clip": ["generate", "kubric", "--out", str(b / "o25"), "--scenario", "push", "--frames", "3"],
        "stack in a 3-frame clip": ["generate", "kubric", "--out", str(b / "o37"), "--scenario", "stack", "--frames", "3"],
        "VOID folder without mask.mp4": ["data", "import", str(b / "void"), "--out", str(b / "o38")],
        "--quadmask with values outside 0/63/127/255": remove_into(b / "o39", "--quadmask", str(b / "bad_quadmask.mkv")),
        "--quadmask for a trimask model": remove_into(b / "o40", "--quadmask", str(clip / "quadmask.mkv")),
        "--affected naming no track": remove_into(b / "o41", "--affected", "nope"),
        "--lora-rank -4 (trained in full)": ["train", "run", "--model", str(model), "--data", str(data), "--out", str(b / "o42")]
        + ["--lora-rank", "-4"],
        "--keep-checkpoints 0 (kept every one)": ["train", "run", "--model", str(model), "--data", str(data), "--out", str(b / "o43")]
        + ["--keep-checkpoints", "0"],
        "import --source '' (a shard named -000000.tar)": ["data", "import", str(out / "tuples"), "--out", str(b / "o44"), "--source", ""],
        "train import --from void with --lora": [
            "train",
            "import",
            "--from",
            "void",
            "--base",
            str(b),
            "--lora",
            vid,
            "--out",
            str(b / "o45"),
        ],
        "tripod --max-effect nan": ["generate", "tripod", str(clip), "--out", str(b / "o26"), "--max-effect", "nan"],
        "objectpaste --ground-from 1": [
            "generate",
            "objectpaste",
            "--objects",
            str(clip),
            "--backgrounds",
            vid,
            "--out",
            str(b / "o27"),
            "--ground-from",
            "1",
        ],
    }
    rows = []
    for what, args in cases.items():
        r = run(*args, check=False)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("pybullet build time")]
        ok = r.returncode in (1, 2) and len(lines) == 1 and lines[0].startswith("error:")
        rows.append({"input": what, "exit": r.returncode, "one_line": ok, "message": lines[-1] if lines else ""})
    return rows


def fuzz(out: Path, n: int, rng: random.Random) -> dict:
    """Corrupt one shard `n` times (byte flips by member kind, header flips, truncations, appended garbage)."""
    import tarfile

    from genomni.datasets.index import ShardIndex
    from genomni.datasets.validate import validate_dir
    from genomni.errors import GenomniError
    from genomni.shards import iter_samples

    src = out / "data"
    shard = sorted(src.glob("*.tar"))[0]
    data = shard.read_bytes()
    regions: dict[str, list[tuple[int, int]]] = {"header": []}
    with tarfile.open(shard) as tar:
        for info in tar:
            regions["header"].append((info.offset, info.offset_data))
            regions.setdefault(info.name.split(".", 1)[1], []).append((info.offset_data, info.offset_data + info.size))
    originals = {s.key: s for s in iter_samples(src)}
    work = out / "fuzz"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work)
    outcome = {
        "corruptions": n,
        "reported_valid": 0,
        "uncaught_exceptions": 0,
        "silent_drops": 0,
        "damaged_sample_returned": 0,
        "kinds": {},
    }
    for _ in range(n):
        kind = rng.choice(["flip", "flip", "flip", "truncate", "append"])
        buf = bytearray(data)
        if kind == "flip":
            where = rng.choice(sorted(regions))
            lo, hi = rng.choice(regions[where])
            buf[rng.randrange(lo, hi)] ^= rng.randrange(1, 256)
            kind = f"flip {where}"
        elif kind == "truncate":
            buf = buf[: rng.randrange(0, len(buf))]
        else:
            buf += bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 2000)))
        outcome["kinds"][kind] = outcome["kinds"].get(kind, 0) + 1
        (work / shard.name).write_bytes(bytes(buf))
        try:
            if not validate_dir(work).bad:
                outcome["reported_valid"] += 1
            for read in (lambda: list(iter_samples(work)), lambda: [ShardIndex([work]).read(i) for i in range(len(originals))]):
                try:
                    got = read()
                except GenomniError:
                    continue
                if len(got) < len(originals):
                    outcome["silent_drops"] += 1
                for s in got:
                    o = originals[s.key]
                    if not (
                        np.array_equal(s.input, o.input)
                        and np.array_equal(s.target, o.target)
                        and np.array_equal(s.trimask, o.trimask)
                        and s.caption == o.caption
                        and s.meta == o.meta
                    ):
                        outcome["damaged_sample_returned"] += 1
        except Exception:  # noqa: BLE001 - counting exactly what must never happen
            outcome["uncaught_exceptions"] += 1
    return outcome


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench_out/reliability"))
    ap.add_argument("--kills", type=int, default=6)
    ap.add_argument("--corruptions", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="kills,bad,adversary,fuzz,disk", help="parts to run (the kills make the data the others use)")
    ap.add_argument("--stages", default="", help="comma-separated words: kill only the stages whose names hold one")
    args = ap.parse_args()
    STAGES.extend(w for w in args.stages.split(",") if w)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    parts = set(args.only.split(","))
    kills = kill_points(args.out, args.kills, rng) if "kills" in parts else []
    bad = bad_inputs(args.out) if "bad" in parts else []
    adv = adversary(args.out) if "adversary" in parts else []
    fz = fuzz(args.out, args.corruptions, rng) if "fuzz" in parts else {}
    disk = full_disk(args.out) if "disk" in parts else []
    (args.out / "summary.json").write_text(
        json.dumps({"kills": kills, "bad_inputs": bad, "adversary": adv, "fuzz": fz, "full_disk": disk}, indent=2) + "\n"
    )
    print("| stage | kill -9 points | resumed byte-identical | rerun refused (output complete) |\n|---|---|---|---|")
    for r in kills:
        print(f"| {r['stage']} | {r['kills']} | {r['identical']} | {'; '.join(r['rerun_refused'])[:90]} |")
    print(f"\n{sum(r['one_line'] for r in bad)} of {len(bad)} bad inputs answered with one line and exit 1/2:\n")
    print("| bad input | exit | one line | message |\n|---|---|---|---|")
    for r in bad:
        print(f"| {r['input']} | {r['exit']} | {'yes' if r['one_line'] else '**no**'} | {r['message'][:110]} |")
    if adv:
        tally = {k: sum(r["outcome"] == k for r in adv) for k in sorted({r["outcome"] for r in adv})}
        print(f"\nadversary: {len(adv)} cases; " + ", ".join(f"{k} {v}" for k, v in tally.items()) + "\n")
        print("| class | case | outcome | detail |\n|---|---|---|---|")
        for r in adv:
            said = r["outcome"] if r["outcome"] == "ok" else f"**{r['outcome']}**"
            print(f"| {r['class']} | {r['case']} | {said} | {r['detail'][:100]} |")
    if fz:
        print(
            f"\nfuzz: {fz['corruptions']} corruptions ({', '.join(f'{k} {v}' for k, v in sorted(fz['kinds'].items()))}): "
            f"reported valid {fz['reported_valid']}, uncaught exceptions {fz['uncaught_exceptions']}, silent drops "
            f"{fz['silent_drops']}, damaged samples returned {fz['damaged_sample_returned']}"
        )
    print("\n| writer on a full disk | one line | partial files left | rerun with room identical |\n|---|---|---|---|")
    for r in disk:
        if "skipped" in r:
            print(f"| {r['writer']} | skipped: {r['skipped']} | | |")
            continue
        said = "yes" if r["one_line"] else "**no**: " + r["message"][:80]
        print(f"| {r['writer']} | {said} | {r['partial_left']} | {r['resumed_identical']} |")


if __name__ == "__main__":
    main()
