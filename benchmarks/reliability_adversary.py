"""The adversary's cases of issue 31, one or more per class, each judged by what it must do rather than only by its
exit: a refusal must be one `error:` line with exit 1 or 2; an accepted input must give the answer an independent
computation gives (the same numbers as the plain encoding of the same scene, the frames in their numbered order);
what genomni did not write must be byte-identical afterwards; nothing may run past its time limit.

Run by `python benchmarks/reliability.py --only adversary` (after the kill part has made OUT/data, OUT/footage,
OUT/train-ref and OUT/decompose-ref).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

GENOMNI = [sys.executable, "-m", "genomni.cli"]


@dataclass
class Case:
    """One hostile command line. `expect` is "refuse" (one error line, exit 1/2) or "accept" (exit 0 and `check`
    returns None). `keep` are paths genomni did not write, which must not change."""

    name: str
    cls: str
    args: list[str]
    expect: str = "refuse"
    keep: list[Path] = field(default_factory=list)
    check: Callable[[subprocess.CompletedProcess], str | None] | None = None
    timeout: float = 120.0


def tree_digest(path: Path) -> str:
    """Names and bytes of every file under `path` (or of the file); "missing" when it is gone."""
    if not path.exists():
        return "missing"
    h = hashlib.sha256()
    for p in sorted([path] if path.is_file() else [q for q in path.rglob("*") if q.is_file()]):
        h.update(str(p.relative_to(path.parent)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def judge(case: Case) -> dict:
    """Run one case and name its outcome: ok, traceback, hang, data lost, silently accepted, wrong result, refused
    (an accepted input turned away) or not one line."""
    before = {p: tree_digest(p) for p in case.keep}
    try:
        r = subprocess.run([*GENOMNI, *case.args], capture_output=True, text=True, timeout=case.timeout)
    except subprocess.TimeoutExpired:
        return {"case": case.name, "class": case.cls, "outcome": "hang", "detail": f"over {case.timeout:.0f} s"}
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("pybullet build time")]
    lost = [str(p) for p in case.keep if tree_digest(p) != before[p]]
    detail = lines[-1][:120] if lines else ""
    if "Traceback" in r.stderr:
        outcome = "traceback"
    elif lost:
        outcome, detail = "data lost", f"changed: {', '.join(lost)}"
    elif case.expect == "refuse":
        one = r.returncode in (1, 2) and len(lines) == 1 and lines[0].startswith("error:")
        outcome = "ok" if one else ("silently accepted" if r.returncode == 0 else "not one line")
    elif r.returncode:
        outcome = "refused"
    else:
        problem = case.check(r) if case.check else None
        outcome, detail = ("wrong result", problem) if problem else ("ok", detail)
    return {"case": case.name, "class": case.cls, "outcome": outcome, "detail": detail}


def scene(root: Path, t: int = 12, h: int = 32, w: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured static background with a magenta square sliding over it: input, mask (bool), background."""
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 255, (1, h, w, 3), dtype=np.uint8).repeat(t, 0)
    mask = np.zeros((t, h, w), bool)
    for k in range(t):
        mask[k, 8:16, 2 + 3 * k : 10 + 3 * k] = True
    video = bg.copy()
    video[mask] = (255, 0, 255)
    return video, mask, bg


def write_pngs(folder: Path, frames: np.ndarray, names: Callable[[int], str], depth: np.dtype = np.uint8) -> None:
    """Frames as PNG files named names(k) (RGB given as RGB; gray, RGBA and 16-bit as they are)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, f in enumerate(frames):
        img = f[..., [2, 1, 0, 3][: f.shape[-1]]] if f.ndim == 3 else f
        cv2.imwrite(str(folder / names(k)), img.astype(depth))


def benchmark_variants(b: Path) -> Path:
    """One scene written four ways that must score alike (plain videos; masks as RGBA cutouts with the object only
    in alpha; masks as 16-bit 0/1 labels; the input as frames named frame1..frame12, which text order would read
    frame1, frame10, frame11, frame12, frame2...) and a fifth whose caption is not UTF-8 (skipped, named)."""
    from genomni.media import write_video

    video, mask, bg = scene(b)
    root = b / "variants"
    for name in ("plain", "rgba", "label16", "unpadded", "latin1"):
        d = root / name
        write_video(d / "background", bg)
        if name == "unpadded":
            write_pngs(d / "input", video, lambda k: f"frame{k + 1}.png")
        else:
            write_video(d / "input", video)
        m = (mask * 255).astype(np.uint8)
        if name == "rgba":
            cut = np.concatenate([np.full((*mask.shape, 3), 255, np.uint8), m[..., None]], -1)
            write_pngs(d / "masks" / "square", cut, lambda k: f"{k:05d}.png")
        elif name == "label16":
            write_pngs(d / "masks" / "square", mask.astype(np.uint16), lambda k: f"{k:05d}.png", np.uint16)
        else:
            write_video(d / "masks" / "square", m)
        (d / "caption.txt").write_bytes("A caf\u00e9 floor.".encode("latin-1") if name == "latin1" else b"A floor.")
    return root


def scores(path: Path) -> dict[str, list[str]]:
    """per_scene.csv as {scene: numbers} of one method."""
    rows = list(csv.DictReader(open(path / "per_scene.csv")))
    cols = ("psnr", "ssim", "psnr_object", "psnr_effect", "psnr_rest")
    return {r["scene"]: [r[c] for c in cols] for r in rows}


def variants_agree(out: Path) -> Callable[[subprocess.CompletedProcess], str | None]:
    def check(_: subprocess.CompletedProcess) -> str | None:
        got = scores(out)
        wrong = [name for name, numbers in got.items() if numbers != got.get("plain") and name != "latin1"]
        skipped = next(r["skipped"] for r in csv.DictReader(open(out / "per_scene.csv")) if r["scene"] == "latin1")
        if wrong or len(got) != 5:
            return f"scored unlike the plain encoding: {', '.join(wrong)}"
        return None if "not UTF-8" in skipped else f"the Latin-1 caption's scene was not skipped as such: {skipped!r}"

    return check


def cases(out: Path) -> list[Case]:
    """The cases, their inputs built under OUT/adversary."""
    from genomni.media import read_video, write_video

    b = out / "adversary"
    shutil.rmtree(b, ignore_errors=True)
    b.mkdir()
    data, model, decomp = out / "data", out / "train-ref" / "model", out / "decompose-ref"
    clip = next(p for p in sorted((out / "footage").iterdir()) if p.is_dir() and not p.name.startswith("."))
    vid, masks = str(clip / "input.mkv"), str(clip / "masks")
    layer = json.loads((decomp / "decomposition.json").read_text())["layer_order"][0]

    def remove_into(folder: str, *extra: str) -> list[str]:
        return ["remove", vid, "--masks-dir", masks, "--model", str(model), "--out", str(b / folder), *extra]

    def train_into(folder: str, *extra: str) -> list[str]:
        run = ["train", "run", "--model", str(out / "pixel"), "--data", str(data), "--out", str(b / folder), "--steps", "2"]
        return [*run, "--frames", "3", "--resolution", "32", "--workers", "0", "--no-progress", *extra]

    # class 1: outputs that would destroy what genomni did not write
    own = b / "decomp-copy"
    shutil.copytree(decomp, own)
    user = b / "users-folder"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    foot = b / "footage-copy"
    shutil.copytree(clip, foot)
    key = json.loads((data / "manifest.jsonl").read_text().splitlines()[0])["key"]
    export_to = b / "export-into"
    (export_to / key).mkdir(parents=True)
    (export_to / key / "notes.txt").write_text("mine")
    out_cases = [
        Case("edit DECOMP --out DECOMP", "1 data loss", ["edit", str(own), "--drop", layer, "--out", str(own)], keep=[own]),
        Case(
            "edit --out a folder of the user's files", "1 data loss", ["edit", str(own), "--drop", layer, "--out", str(user)], keep=[user]
        ),
        Case(
            "edit --out the footage's input.mkv",
            "1 data loss",
            ["edit", str(own), "--drop", layer, "--out", str(foot / "input.mkv")],
            keep=[foot],
        ),
        Case(
            "edit --out the footage's input.mkv with --overwrite",
            "1 data loss",
            ["edit", str(own), "--drop", layer, "--out", str(foot / "input.mkv"), "--overwrite"],
            keep=[foot],
        ),
        Case("edit --out .", "1 data loss", ["edit", str(own), "--drop", layer, "--out", "."], keep=[Path(".").resolve()]),
        Case(
            "data export into a folder whose <key>/ holds the user's file",
            "1 data loss",
            ["data", "export", str(data), "--out", str(export_to), "--format", "footage"],
            keep=[export_to / key / "notes.txt"],
        ),
    ]
    # class 2: numbers that cannot mean anything
    n = "2 numbers"
    out_cases += [
        Case("remove --guidance nan", n, remove_into("g1", "--guidance", "nan")),
        Case("remove --guidance inf", n, remove_into("g2", "--guidance", "inf")),
        Case("remove --seed 2**70", n, remove_into("g3", "--seed", str(2**70))),
        Case("remove --seed -1", n, remove_into("g4", "--seed", "-1")),
        Case("train run --lr inf", n, train_into("t1", "--lr", "inf")),
        Case("train run --caption-dropout nan", n, train_into("t2", "--caption-dropout", "nan")),
        Case("train run --seed 2**70", n, train_into("t3", "--seed", str(2**70))),
        Case("generate kubric --seed -1", n, ["generate", "kubric", "--out", str(b / "k1"), "--seed", "-1"]),
        Case("edit --retime x:nan", n, ["edit", str(own), "--retime", f"{layer}:nan", "--out", str(b / "e1.mkv")]),
        Case("edit --move x:inf", n, ["edit", str(own), "--move", f"{layer}:inf", "--out", str(b / "e2.mkv")]),
        Case("edit --move x:0:0:0 (scale 0)", n, ["edit", str(own), "--move", f"{layer}:0:0:0", "--out", str(b / "e3.mkv")]),
        Case(
            "objectpaste --shadow-direction inf",
            n,
            ["generate", "objectpaste", "--objects", str(data), "--backgrounds", vid, "--out", str(b / "p1"), "--shadow-direction", "inf"],
        ),
        Case(
            "eval --resize -5x10",
            n,
            ["eval", "--benchmark", f"k={out / 'footage'}", "--method", "copy-input", "--out", str(b / "v1"), "--resize", "-5x10"],
        ),
    ]
    # class 3: NaN
    nan_model = b / "nan-model"
    shutil.copytree(model, nan_model)
    import torch
    from safetensors.torch import load_file, save_file

    for f in (nan_model / "transformer").glob("*.safetensors"):
        save_file({k: torch.full_like(v, float("nan")) for k, v in load_file(f).items()}, f)
    out_cases += [
        Case(
            "remove with a model whose weights are NaN",
            "3 NaN",
            ["remove", vid, "--masks-dir", masks, "--model", str(nan_model), "--out", str(b / "nan-out")],
        ),
        Case("train run with a diverging --lr 1e30", "3 NaN", train_into("t4", "--lr", "1e30", "--steps", "6")),
    ]
    # class 4: eval's cache
    bench = benchmark_variants(b)
    preds = b / "preds"
    for d in bench.iterdir():
        shutil.copytree(d / "background", preds / d.name / "background")
    ev_out = b / "eval-cache"
    ev = ["eval", "--benchmark", f"v={bench}", "--method", f"p=predictions:{preds}", "--out", str(ev_out), "--no-lpips", "--no-progress"]
    first = subprocess.run([*GENOMNI, *ev], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    for d in preds.iterdir():
        write_video(d / "background", np.zeros_like(read_video(d / "background")[0]))

    def recomputed(_: subprocess.CompletedProcess) -> str | None:
        psnr = float(next(csv.DictReader(open(ev_out / "per_scene.csv")))["psnr"])
        return None if psnr < 20 else f"predictions replaced by black frames still score {psnr:.2f} dB (the cached number)"

    thr = b / "eval-threshold"
    thr_args = ["eval", "--benchmark", f"k={out / 'footage'}", "--method", "cv2-inpaint", "--no-lpips", "--no-progress"]
    subprocess.run([*GENOMNI, *thr_args, "--out", str(thr), "--mask-threshold", "10"], capture_output=True)
    subprocess.run([*GENOMNI, *thr_args, "--out", str(b / "eval-fresh"), "--mask-threshold", "245"], capture_output=True)

    def like_fresh(_: subprocess.CompletedProcess) -> str | None:
        return None if scores(thr) == scores(b / "eval-fresh") else "another --mask-threshold into the same --out gave the old numbers"

    out_cases += [
        Case("eval: predictions replaced in place, same --out", "4 eval cache", ev, "accept", check=recomputed),
        Case(
            "eval: --mask-threshold 10 then 245 into one --out",
            "4 eval cache",
            [*thr_args, "--out", str(thr), "--mask-threshold", "245"],
            "accept",
            check=like_fresh,
        ),
        Case(
            "eval: two --benchmark with one NAME",
            "4 eval cache",
            ["eval", "--benchmark", f"v={bench}", "--benchmark", f"v={out / 'footage'}", "--method", "copy-input", "--out", str(b / "v2")],
        ),
    ]
    # class 5: inputs that could be read as something else
    var_out = b / "eval-variants"
    both = b / "two-inputs"
    shutil.copytree(clip, both)
    shutil.copy(clip / "input.mkv", both / "input.mp4")
    colour = b / "colour-frames"
    write_pngs(colour, read_video(clip / "input.mkv")[0], lambda k: f"{k:05d}.png")
    stray = b / "stray-masks"
    shutil.copytree(clip / "masks", stray)
    track = next(stray.iterdir())
    frames = read_video(track, gray=True)[0] if track.is_file() else None
    if frames is not None:
        track.unlink()
        write_pngs(stray / track.stem, frames, lambda k: f"{k:05d}.png")
        track = stray / track.stem
    cv2.imwrite(str(track / "preview.png"), np.zeros((8, 8), np.uint8))
    (b / "dup.yaml").write_text("steps: 2\nsteps: 3\n")
    dup = b / "dup-manifest"
    shutil.copytree(data, dup)
    lines = (dup / "manifest.jsonl").read_text().splitlines()
    (dup / "manifest.jsonl").write_text("\n".join([*lines, lines[0]]) + "\n")
    empty = b / "empty-manifest"
    shutil.copytree(data, empty)
    (empty / "manifest.jsonl").write_text("")
    out_cases += [
        Case(
            "one scene as plain, RGBA-alpha, 16-bit label, unpadded frame names, Latin-1 caption",
            "5 read as something else",
            ["eval", "--benchmark", f"v={bench}", "--method", "cv2-inpaint", "--out", str(var_out), "--no-lpips", "--no-progress"],
            "accept",
            check=variants_agree(var_out),
        ),
        Case(
            "a footage folder with input.mkv and input.mp4",
            "5 read as something else",
            ["decompose", str(both), "--model", str(model), "--out", str(b / "d1")],
        ),
        Case(
            "a folder of colour frames as --mask",
            "5 read as something else",
            ["remove", vid, "--mask", str(colour), "--model", str(model), "--out", str(b / "r1")],
        ),
        Case(
            "a stray preview.png in a mask folder",
            "5 read as something else",
            ["remove", vid, "--masks-dir", str(stray), "--model", str(model), "--out", str(b / "r2")],
        ),
        Case("YAML with a duplicated key", "5 read as something else", train_into("t5", "--config", str(b / "dup.yaml"))),
        Case("data inspect: a manifest line given twice", "5 read as something else", ["data", "inspect", str(dup)]),
        Case("data inspect: an empty manifest", "5 read as something else", ["data", "inspect", str(empty)]),
    ]
    # class 6: files and fields that used to end in tracebacks
    bad = {"spatial_scale": 0, "train_clip": "nine", "inference_steps": 0}
    for k, v in bad.items():
        m = b / f"model-{k}"
        shutil.copytree(model, m)
        cfg = json.loads((m / "casper.json").read_text())
        (cfg if k in cfg else cfg["extra"])[k] = v
        (m / "casper.json").write_text(json.dumps(cfg))
    (b / "latin1.yaml").write_bytes("prompt: caf\u00e9\n".encode("latin-1"))
    for name, text in (("list-decomp", "[]"),):
        d = b / name
        shutil.copytree(decomp, d)
        (d / "decomposition.json").write_text(text)
    no_order = b / "no-layer-order"
    shutil.copytree(decomp, no_order)
    meta = json.loads((no_order / "decomposition.json").read_text())
    meta.pop("layer_order", None)
    (no_order / "decomposition.json").write_text(json.dumps(meta))
    (b / "alias.yaml").write_text("method: &a [*a]\n")
    out_cases += [
        Case(
            f"casper.json {k}: {v!r}",
            "6 tracebacks",
            ["remove", vid, "--masks-dir", masks, "--model", str(b / f"model-{k}"), "--out", str(b / f"c-{k}")],
        )
        for k, v in bad.items()
    ]
    out_cases += [
        Case("a Latin-1 config file", "6 tracebacks", remove_into("r3", "--config", str(b / "latin1.yaml"))),
        Case(
            "decomposition.json that is a JSON list",
            "6 tracebacks",
            ["edit", str(b / "list-decomp"), "--drop", layer, "--out", str(b / "e4.mkv")],
        ),
        Case(
            "decomposition.json without layer_order", "6 tracebacks", ["edit", str(no_order), "--drop", layer, "--out", str(b / "e5.mkv")]
        ),
        Case(
            "data inspect --preview without an image suffix", "6 tracebacks", ["data", "inspect", str(data), "--preview", str(b / "sheet")]
        ),
        Case("train run --lr-schedule bogus", "6 tracebacks", train_into("t6", "--lr-schedule", "bogus")),
        Case("train run --mix kubric=nan", "6 tracebacks", train_into("t7", "--mix", "kubric=nan")),
        Case(
            "eval --method given as a recursive YAML alias",
            "6 tracebacks",
            ["eval", "--benchmark", f"k={out / 'footage'}", "--config", str(b / "alias.yaml"), "--out", str(b / "v3")],
        ),
        Case(
            "eval --device cuda:99",
            "6 tracebacks",
            ["eval", "--benchmark", f"k={out / 'footage'}", "--method", "copy-input", "--out", str(b / "v4"), "--device", "cuda:99"],
        ),
    ]
    # class 7: hangs
    zero = b / "zero-shard"
    shutil.copytree(data, zero)
    shard = sorted(zero.glob("*.tar"))[0]
    shard.unlink()
    shard.symlink_to("/dev/zero")
    fifo = b / "fifo-shard"
    shutil.copytree(data, fifo)
    shard = sorted(fifo.glob("*.tar"))[0]
    shard.unlink()
    os.mkfifo(shard)
    out_cases += [
        Case("data validate: a shard that is a symlink to /dev/zero", "7 hangs", ["data", "validate", str(zero)], timeout=60),
        Case("data validate: a shard that is a FIFO", "7 hangs", ["data", "validate", str(fifo)], timeout=60),
        Case(
            "generate kubric --num-scenes 10**9",
            "7 hangs",
            ["generate", "kubric", "--out", str(b / "k2"), "--num-scenes", str(10**9)],
            timeout=60,
        ),
        Case(
            "objectpaste --num-samples 10**9",
            "7 hangs",
            ["generate", "objectpaste", "--objects", str(data), "--backgrounds", vid, "--out", str(b / "p2"), "--num-samples", str(10**9)],
            timeout=60,
        ),
    ]
    # class 8: failing late
    odd = b / "odd.mkv"
    write_video(odd, np.full((3, 47, 63, 3), 128, np.uint8))
    write_video(b / "odd-mask.mkv", np.pad(np.full((3, 8, 8), 255, np.uint8), ((0, 0), (10, 29), (10, 45))))
    odd_out = b / "r4"

    out_cases += [
        Case(
            "remove on a 63x47 clip as mp4 (H.264 wants even sides)",
            "8 fail late",
            ["remove", str(odd), "--mask", str(b / "odd-mask.mkv"), "--model", str(model), "--out", str(odd_out), "--format", "mp4"],
        ),
        Case(
            "generate kubric --frames 100000",
            "8 fail late",
            ["generate", "kubric", "--out", str(b / "k3"), "--frames", "100000", "--num-scenes", "1"],
            timeout=300,
        ),
    ]
    return out_cases


def ctrl_c(out: Path) -> dict:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) during a render: exit 130 and one line."""
    p = subprocess.Popen(
        [*GENOMNI, "generate", "kubric", "--out", str(out / "adversary" / "ctrl-c"), "--num-scenes", "4", "--no-progress"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(8)
    os.killpg(p.pid, signal.SIGINT)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        return {"case": "Ctrl-C during a render", "class": "1 data loss", "outcome": "hang", "detail": "went on after Ctrl-C"}
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("pybullet build time")]
    ok = p.returncode == 130 and len(lines) == 1 and lines[0].startswith("error:")
    return {
        "case": "Ctrl-C during a render",
        "class": "1 data loss",
        "outcome": "ok" if ok else ("traceback" if "Traceback" in err else "not one line"),
        "detail": f"exit {p.returncode}: {lines[-1][:100] if lines else ''}",
    }


def adversary(out: Path) -> list[dict]:
    rows = [judge(c) for c in cases(out)]
    rows.append(ctrl_c(out))
    return rows
