"""The field's own folders as they are: gen-omnimatte sequence folders (input_video.mp4, H.264 mask_NN.mp4
with blurred edges, prompt.json), the public PNG training tuples, and the one mask rule."""

import json
import re

import cv2
import numpy as np
import pytest
from conftest import run_cli

from genomni import trimask as tm
from genomni.footage import read_footage
from genomni.footage_folders import open_footage
from genomni.media import read_video, write_video
from genomni.models.presets import build_preset
from genomni.shards import iter_samples

PROMPT = "a quiet street with a brick wall"


def _truth(t: int = 9, h: int = 48, w: int = 64):
    """A static textured background, a red square moving right and a green disk moving down: the video and the
    two true binary masks."""
    rng = np.random.default_rng(3)
    bg = cv2.GaussianBlur(rng.integers(40, 200, (h, w, 3)).astype(np.uint8), (0, 0), 2)
    video, masks = [], np.zeros((2, t, h, w), bool)
    for k in range(t):
        f = bg.copy()
        masks[0, k, 10:24, 4 + 3 * k : 18 + 3 * k] = True
        disk = np.zeros((h, w), np.uint8)
        cv2.circle(disk, (46, 8 + 3 * k), 7, 1, -1)
        masks[1, k] = disk > 0
        f[masks[0, k]] = (230, 40, 40)
        f[masks[1, k]] = (30, 210, 60)
        video.append(f)
    return np.stack(video), masks, bg


def _sequence(folder, clean: bool = False):
    """A gen-omnimatte sequence folder exactly as the public examples hold it."""
    video, masks, bg = _truth()
    folder.mkdir(parents=True)
    write_video(folder / "input_video.mp4", video, 16.0)
    for i, m in enumerate(masks):
        soft = np.stack([cv2.GaussianBlur(f.astype(np.float32) * 255, (0, 0), 1.2) for f in m]).round().astype(np.uint8)
        write_video(folder / f"mask_{i:02d}.mp4", np.repeat(soft[..., None], 3, -1), 16.0)  # H.264, blurred edges
    (folder / "prompt.json").write_text(json.dumps({"bg": PROMPT}, indent=4))
    if clean:
        write_video(folder / "bg", np.repeat(bg[None], len(video), 0))
    return video, masks


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_a_sequence_folder_reads_its_masks_and_prompt_and_the_midpoint_rule_fits_h264_masks(tmp_path):
    _, truth = _sequence(tmp_path / "seq")
    footage = open_footage(tmp_path / "seq")
    assert footage.names == ["mask_00", "mask_01"] and footage.prompt == PROMPT and footage.fps == 16.0
    ious = [_iou(m, t) for m, t in zip(footage.masks, truth)]
    assert min(ious) > 0.97, ious
    strict = open_footage(tmp_path / "seq", threshold=240)  # the public code's rule, before its dilation
    assert all(_iou(m, t) < i - 0.1 for m, t, i in zip(strict.masks, truth, ious))


def test_masks_dir_on_a_sequence_folder_takes_only_the_masks_and_names_what_it_skipped(tmp_path, caplog, capsys):
    _sequence(tmp_path / "seq")
    seq = tmp_path / "seq"
    with caplog.at_level("WARNING"):
        footage = read_footage(seq / "input_video.mp4", masks_dir=seq)
    assert footage.names == ["mask_00", "mask_01"]
    # the share depends on the H.264 encoder's run (18-19% seen): x264 output varies from run to run here
    assert re.search(
        r"seq: skipped input_video.mp4 \(a colour video, not an object mask \(1\d% of its pixels are "
        r"coloured\)\); prompt.json \(not a video or frame folder\)",
        caplog.text,
    )
    assert (
        run_cli(
            ["remove", str(seq / "input_video.mp4"), "--mask", str(seq / "input_video.mp4"), "--model", "m", "--out", str(tmp_path / "o")]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "input_video.mp4: a colour video, not an object mask" in err


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_preset("tiny", tmp_path_factory.mktemp("m") / "tiny")


def test_decompose_runs_from_the_folder_and_its_prompt_reaches_the_model(tiny, tmp_path, monkeypatch):
    from genomni.models.casper import CasperModel

    _sequence(tmp_path / "seq")
    seen: list[list[str]] = []
    original = CasperModel.encode_text
    monkeypatch.setattr(CasperModel, "encode_text", lambda self, captions: seen.append(list(captions)) or original(self, captions))
    out = tmp_path / "dec"
    assert (
        run_cli(
            [
                "decompose",
                str(tmp_path / "seq"),
                "--model",
                str(tiny),
                "--steps",
                "1",
                "--max-side",
                "32",
                "--coarse-iters",
                "2",
                "--fine-iters",
                "1",
                "--no-progress",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rep = json.loads((out / "decomposition.json").read_text())
    assert rep["objects"] == ["mask_00", "mask_01"] and rep["remove"]["config"]["prompt"] == PROMPT
    assert [PROMPT] in seen and sorted(p.name for p in (out / "layers").iterdir()) == ["mask_00", "mask_01"]
    seen.clear()
    assert (
        run_cli(
            [
                "remove",
                str(tmp_path / "seq"),
                "--model",
                str(tiny),
                "--steps",
                "1",
                "--max-side",
                "32",
                "--prompt",
                "an empty road",
                "--no-progress",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    assert ["an empty road"] in seen and [PROMPT] not in seen
    assert json.loads((tmp_path / "r/remove.json").read_text())["config"]["prompt"] == "an empty road"


def test_a_side_beyond_the_model_fails_before_anything_is_written(tiny, tmp_path, capsys):
    """A 1,600 px wide clip (frame folders) at its own size is past the tiny preset's rotary embedding."""
    seq = tmp_path / "wide"
    video = np.full((5, 32, 1600, 3), 90, np.uint8)
    mask = np.zeros((5, 32, 1600), np.uint8)
    mask[:, 8:20, 100:140] = 255
    write_video(seq / "input_video", video)
    write_video(seq / "mask_00", mask)
    out = tmp_path / "r"
    assert run_cli(["remove", str(seq), "--model", str(tiny), "--max-side", "1600", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "use at most 512 px per side (--max-side)" in err
    assert not (out / "remove.json").exists()


def _tripod_samples(root):
    return {s.key: s for s in iter_samples(root)}


def test_import_makes_footage_folders_and_tripod_takes_the_sequence_folder_directly(tmp_path, capsys):
    video, truth = _sequence(tmp_path / "examples" / "street")
    foot = tmp_path / "footage"
    assert run_cli(["data", "import", str(tmp_path / "examples"), "--out", str(foot)]) == 0
    assert "1 footage folders" in capsys.readouterr().out
    made = foot / "street"
    assert (made / "input.mp4").read_bytes() == (tmp_path / "examples/street/input_video.mp4").read_bytes()
    assert sorted(p.name for p in (made / "masks").iterdir()) == ["mask_00", "mask_01"]
    assert (made / "caption.txt").read_text().strip() == PROMPT
    direct, imported = tmp_path / "t1", tmp_path / "t2"
    assert run_cli(["generate", "tripod", str(tmp_path / "examples/street"), "--out", str(direct), "--no-progress"]) == 0
    assert run_cli(["generate", "tripod", str(made), "--out", str(imported), "--no-progress"]) == 0
    (a,), (b,) = _tripod_samples(direct).values(), _tripod_samples(imported).values()
    assert a.caption == b.caption == PROMPT
    assert np.array_equal(a.input, b.input) and np.array_equal(a.target, b.target) and np.array_equal(a.trimask, b.trimask)
    removed = a.trimask == tm.REMOVE  # the objects, grown by tripod's --dilate 2
    assert not (truth.any(0) & ~removed).any() and removed.sum() > truth.any(0).sum()


def test_import_reads_the_public_png_tuples_and_sequence_folders_with_a_clean_background(tmp_path):
    video, truth, bg = _truth()
    root = tmp_path / "omnimatte+tripod"
    png = root / "boys-beach"
    tri = np.where(truth.any(0), 0, 127).astype(np.uint8)  # the public trimask: 255 keep, 0 remove, 127 background
    write_video(png / "input", video)
    write_video(png / "bg", np.repeat(bg[None], len(video), 0))
    write_video(png / "trimask", tri)
    _sequence(root / "street", clean=True)
    captions = tmp_path / "omnimatte+tripod.json"
    captions.write_text(json.dumps([{"path": "boys-beach", "short_prompt": '"a sandy beach"'}]))
    out = tmp_path / "ds"
    assert run_cli(["data", "import", str(root), "--out", str(out), "--captions", str(captions)]) == 0
    got = _tripod_samples(out)
    beach, street = got["boys-beach"], got["street"]
    assert beach.caption == "a sandy beach" and np.array_equal(beach.trimask, np.where(tri == 127, 128, tri))
    assert beach.meta["mask_pixels_snapped"] == int((tri == 127).sum()) and np.array_equal(beach.input, video)
    assert street.caption == PROMPT and np.array_equal(street.target[0], bg)
    removed = street.trimask == tm.REMOVE
    assert _iou(removed, truth.any(0)) > 0.97 and set(np.unique(street.trimask)) == {tm.REMOVE, tm.BACKGROUND}


def test_eval_scores_sequence_folders_with_a_clean_background(tmp_path):
    video, truth = _sequence(tmp_path / "bench" / "street", clean=True)
    out = tmp_path / "r"
    assert (
        run_cli(
            ["eval", "--benchmark", f"seq={tmp_path / 'bench'}", "--method", "copy-input", "--out", str(out), "--no-lpips", "--no-progress"]
        )
        == 0
    )
    summary = json.loads((out / "results.json").read_text())["summary"]["copy-input"]["seq"]
    assert summary["scenes"] == 1 and summary["skipped"] == 0 and summary["psnr"] < 40


def test_a_folder_without_masks_or_a_broken_prompt_is_one_line(tmp_path, capsys):
    _sequence(tmp_path / "seq")
    (tmp_path / "seq/prompt.json").write_text("{not json")
    assert run_cli(["remove", str(tmp_path / "seq"), "--model", "m", "--out", str(tmp_path / "o")]) == 1
    assert "prompt.json: not valid JSON" in capsys.readouterr().err
    for f in (tmp_path / "seq").glob("mask_*"):
        f.unlink()
    assert run_cli(["remove", str(tmp_path / "seq"), "--model", "m", "--out", str(tmp_path / "o")]) == 1
    assert "a gen-omnimatte sequence folder without mask_NN.mp4 files" in capsys.readouterr().err
    frames = tmp_path / "frames"
    write_video(frames, read_video(tmp_path / "seq/input_video.mp4")[0])
    assert run_cli(["remove", str(frames), "--model", "m", "--out", str(tmp_path / "o")]) == 1
    assert "give object masks (--mask, --masks-dir or --instances)" in capsys.readouterr().err


def test_a_sequence_folder_without_its_video_is_named_by_every_verb_and_nothing_is_left(tmp_path, capsys):
    """As two of the public examples ship (boat-shore, truck-water): masks and prompt.json, no input_video.mp4."""
    _sequence(tmp_path / "all/good")
    _sequence(tmp_path / "all/novideo")
    (tmp_path / "all/novideo/input_video.mp4").unlink()
    missing = "novideo: a gen-omnimatte sequence folder (mask_00.mp4, mask_01.mp4, prompt.json) without its video: supply input_video.mp4"
    for args in (
        ["remove", str(tmp_path / "all/novideo"), "--model", "m", "--out", str(tmp_path / "r")],
        ["decompose", str(tmp_path / "all/novideo"), "--model", "m", "--out", str(tmp_path / "d")],
        ["data", "import", str(tmp_path / "all"), "--out", str(tmp_path / "i")],
        ["generate", "tripod", str(tmp_path / "all/good"), str(tmp_path / "all/novideo"), "--out", str(tmp_path / "t")],
    ):
        capsys.readouterr()
        assert run_cli(args) == 1, args
        err = capsys.readouterr().err
        assert missing in err and err.count("\n") == 1, (args, err)
    (tmp_path / "empty").mkdir()
    assert run_cli(["generate", "tripod", str(tmp_path / "empty"), "--out", str(tmp_path / "t")]) == 1
    assert "empty: not a footage folder (no input video)" in capsys.readouterr().err
    assert not any((tmp_path / n).exists() for n in ("r", "d", "i", "t"))


def test_decompose_refuses_a_clip_whose_layers_exceed_the_machine_before_any_work(tiny, tmp_path, capsys, monkeypatch):
    from genomni.inference import memory

    _sequence(tmp_path / "seq")
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 100_000_000)
    out = tmp_path / "dec"
    assert run_cli(["decompose", str(tmp_path / "seq"), "--model", str(tiny), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "decomposing 2 object(s) over 9 frames at 64x48 needs about 0.2 GB, more than this machine's 0.1 GB" in err
    )
    assert not (out / "removals").exists()


def test_objectpaste_takes_objects_and_backgrounds_from_sequence_folders(tmp_path):
    _sequence(tmp_path / "street")
    _sequence(tmp_path / "plaza", clean=True)
    out = tmp_path / "paste"
    assert (
        run_cli(
            [
                "generate",
                "objectpaste",
                "--objects",
                str(tmp_path / "street"),
                "--backgrounds",
                str(tmp_path / "plaza"),
                "--num-samples",
                "3",
                "--min-area",
                "0",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    samples = list(iter_samples(out))
    assert samples and {s.meta["object"] for s in samples} <= {"street/mask_00", "street/mask_01"}
    assert all(s.caption == PROMPT and s.meta["background"] == "plaza" for s in samples)


def _kubric_render(folder, with_metadata: bool = True):
    """A folder as Kubric's write_image_dict leaves it: rgba_NNNNN.png, palette segmentation_NNNNN.png, metadata."""
    from PIL import Image

    video, truth, _ = _truth()
    folder.mkdir(parents=True)
    for k, f in enumerate(video):
        rgba = np.concatenate([f, np.full(f.shape[:2] + (1,), 255, np.uint8)], -1)
        cv2.imwrite(str(folder / f"rgba_{k:05d}.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
        seg = np.zeros(f.shape[:2], np.uint8)
        seg[truth[0, k]] = 1
        seg[truth[1, k]] = 2
        img = Image.fromarray(seg, mode="P")
        img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
        img.save(folder / f"segmentation_{k:05d}.png")
        np.zeros(1).tofile(folder / f"depth_{k:05d}.tiff")  # other passes beside them are ignored
    if with_metadata:
        (folder / "metadata.json").write_text(json.dumps({"instances": [{"asset_id": "cube"}, {"asset_id": "sphere"}]}))
    return video, truth


def test_kubric_render_folders_are_footage_for_decompose_tripod_and_import(tmp_path, capsys):
    video, truth = _kubric_render(tmp_path / "renders" / "scene0")
    footage = open_footage(tmp_path / "renders" / "scene0")
    assert footage.names == ["object01_cube", "object02_sphere"] and footage.prompt is None
    assert np.array_equal(footage.video, video) and np.array_equal(footage.masks, truth)
    assert run_cli(["data", "import", str(tmp_path / "renders"), "--out", str(tmp_path / "footage")]) == 0
    again = open_footage(tmp_path / "footage" / "scene0")
    assert np.array_equal(again.video, video) and np.array_equal(again.masks, truth)
    assert again.names == ["object01_cube", "object02_sphere"]
    out = tmp_path / "tripod"
    assert (
        run_cli(["generate", "tripod", str(tmp_path / "renders" / "scene0"), "--caption", "A wall.", "--out", str(out), "--no-progress"])
        == 0
    )
    (s,) = list(iter_samples(out))
    assert np.array_equal(s.input, video)
    capsys.readouterr()
    assert run_cli(["remove", str(tmp_path / "renders" / "scene0"), "--mask", "x.mp4", "--model", "m", "--out", str(tmp_path / "o")]) == 1
    assert "a Kubric render folder carries its masks" in capsys.readouterr().err


def test_a_caption_that_is_not_utf8_is_one_line(tmp_path, capsys):
    """A Latin-1 caption.txt (a user's editor) was a UnicodeDecodeError traceback in decompose, import and layers."""
    _sequence(tmp_path / "seq")
    assert run_cli(["data", "import", str(tmp_path / "seq"), "--out", str(tmp_path / "imp"), "--no-progress"]) == 0
    folder = tmp_path / "imp" / "seq"
    (folder / "caption.txt").write_bytes("une rue pavée".encode("latin-1"))
    assert run_cli(["remove", str(folder), "--model", "m", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "caption.txt: not UTF-8 text" in err and err.count("\n") == 1
