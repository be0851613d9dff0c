"""VOID's quadmask convention and folder layout, checked against VOID's own files and readers: its released mask
decodes to its values exactly; what `data export --format void` writes reads back through VOID's dataset rule
(videox_fun/data/dataset_image_video.py, quadmask mode, on frames decoded to RGB as its mediapy reader does) as the
same four values; its Kubric generator's folders (the target named rgb_altered_physics.mp4) import; bad folders
are one line and write nothing."""

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import run_cli

from genomni import quadmask as qm
from genomni.errors import GenomniError
from genomni.media import encode_lossless_mp4, read_video
from genomni.shards import iter_samples

DATA = Path(__file__).parent / "data"


def void_quantize(mask: np.ndarray) -> np.ndarray:
    """VOID's dataset reading of a quadmask frame in quadmask mode (thresholds 31, 95, 191), written from that code."""
    out = np.where(mask <= 31, 0, mask)
    out = np.where((out > 31) & (out <= 95), 63, out)
    out = np.where((out > 95) & (out <= 191), 127, out)
    return np.where(out > 191, 255, out)


def rgb_frames(path: Path) -> np.ndarray:
    """Frames decoded to rgb24 by FFmpeg, as VOID's mediapy reader asks for them."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])


def test_values_and_conversions():
    removed = np.zeros((1, 2, 3), bool)
    removed[0, 0, :2] = True
    changed = np.zeros((1, 2, 3), bool)
    changed[0, :, 1] = True
    quad = qm.compose(removed, changed)
    assert quad.tolist() == [[[0, 63, 255], [255, 127, 255]]]
    assert qm.to_trimask(quad).tolist() == [[[0, 0, 128], [128, 128, 128]]]
    assert qm.affected(quad).tolist() == [[[False, True, False], [False, True, False]]]
    tri = np.array([[[0, 128, 255]]], np.uint8)
    assert qm.from_trimask(tri).tolist() == [[[0, 255, 255]]]
    with pytest.raises(GenomniError, match=r"^q: 2 pixels hold values other than 0/63/127/255 \(found 64, 128\)$"):
        qm.validate(np.array([[[0, 64, 128]]], np.uint8), "q")


def test_voids_released_quadmask_decodes_to_its_values_exactly():
    mask, fps = read_video(DATA / "void_bigben_quadmask.mp4", gray=True)
    assert mask.shape == (50, 360, 544) and fps == 12.0
    qm.validate(mask)
    assert set(np.unique(mask)) == {0, 127, 255}
    assert np.array_equal(void_quantize(rgb_frames(DATA / "void_bigben_quadmask.mp4")[..., 0]), mask)


def test_our_masks_read_back_exactly_through_voids_reader(tmp_path):
    quad = np.random.default_rng(0).choice(np.array(qm.VALUES, np.uint8), (4, 24, 40))
    path = tmp_path / "mask.mp4"
    path.write_bytes(encode_lossless_mp4(quad, 12.0))
    rgb = rgb_frames(path)
    assert np.array_equal(rgb[..., 0], quad) and np.array_equal(rgb[..., 2], quad)  # exact even before quantizing
    assert np.array_equal(void_quantize(rgb[..., 0]), quad)
    assert np.array_equal(read_video(path, gray=True)[0], quad)


def test_void_export_import_round_trip_and_annotations(kubric_dir, tmp_path):
    out = tmp_path / "void"
    assert run_cli(["data", "export", str(kubric_dir), "--out", str(out), "--format", "void"]) == 0
    samples = {s.key: s for s in iter_samples(kubric_dir)}
    entries = json.loads((out / "void_train_data.json").read_text())
    assert sorted(e["file_path"] for e in entries) == sorted(samples)
    assert all(e["type"] == "video_mask_tuple" and e["text"] == samples[e["file_path"]].caption for e in entries)
    folder = out / entries[0]["file_path"]
    meta = json.loads((folder / "metadata.json").read_text())
    assert set(meta["mask_values"]) == {"0", "63", "127", "255"} and meta["quadmask_from"] == "passes"
    assert run_cli(["data", "import", str(out), "--out", str(tmp_path / "again")]) == 0
    for s in iter_samples(tmp_path / "again"):
        o = samples[s.key]
        assert np.array_equal(s.input, o.input) and np.array_equal(s.target, o.target)
        assert np.array_equal(s.extras["quadmask"], o.extras["quadmask"])
        assert np.array_equal(s.trimask == 0, o.trimask == 0) and s.caption == o.caption


def _voids_kubric_folder(root: Path, quad: np.ndarray) -> Path:
    """A folder as VOID's Kubric generator writes it: rgb_full, rgb_removed_objects_invisible, rgb_altered_physics,
    mask (lossless) and metadata.json, no caption (VOID keeps captions in its annotation list)."""
    folder = root / "00000"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    video = rng.integers(0, 256, (*quad.shape, 3), dtype=np.uint8)
    for name in ("rgb_full.mp4", "rgb_removed_objects_invisible.mp4", "rgb_altered_physics.mp4"):
        (folder / name).write_bytes(encode_lossless_mp4(video, 12.0))
    (folder / "mask.mp4").write_bytes(encode_lossless_mp4(quad, 12.0))
    (folder / "metadata.json").write_text(json.dumps({"num_objects": 3, "num_removed": 1, "removed_indices": [0]}))
    return folder


def test_voids_kubric_folders_import_and_bad_ones_are_one_line(tmp_path, capsys):
    quad = qm.compose(np.zeros((3, 16, 16), bool), np.zeros((3, 16, 16), bool))
    quad[:, 2:6, 2:6], quad[:, 8:10, 8:12] = qm.REMOVE, qm.CHANGED
    root = tmp_path / "void"
    folder = _voids_kubric_folder(root, quad)
    captions = tmp_path / "void_train_data.json"
    captions.write_text(json.dumps([{"file_path": "training_data/00000", "text": "A cube rests.", "type": "video_mask_tuple"}]))
    assert run_cli(["data", "import", str(root), "--out", str(tmp_path / "ok"), "--captions", str(captions)]) == 0
    (s,) = list(iter_samples(tmp_path / "ok"))
    assert s.caption == "A cube rests."
    shutil.copy(captions, root / "void_train_data.json")  # the list beside the folders is read without --captions
    assert run_cli(["data", "import", str(root), "--out", str(tmp_path / "ok2")]) == 0
    assert (
        next(iter(iter_samples(tmp_path / "ok2"))).caption == "A cube rests."
        and np.array_equal(s.extras["quadmask"], quad)
        and "hidden" in s.extras
    )
    assert s.meta["format"] == "void" and s.meta["void_metadata"]["num_removed"] == 1
    capsys.readouterr()
    bad = quad.copy()
    bad[0, 0, 0] = 100
    (folder / "mask.mp4").write_bytes(encode_lossless_mp4(bad, 12.0))
    assert run_cli(["data", "import", str(root), "--out", str(tmp_path / "bad"), "--captions", str(captions)]) == 1
    err = capsys.readouterr().err
    assert "mask.mp4: 1 pixels hold values other than 0/63/127/255 (found 100)" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").glob("*.tar"))
    (folder / "mask.mp4").unlink()
    assert run_cli(["data", "import", str(root), "--out", str(tmp_path / "bad2"), "--captions", str(captions)]) == 1
    err = capsys.readouterr().err
    assert "a VOID folder needs" in err and "missing mask.mp4" in err and err.count("\n") == 1
    (root / "void_train_data.json").unlink()  # no caption either: the missing file is named first
    assert run_cli(["data", "import", str(root), "--out", str(tmp_path / "bad3")]) == 1
    assert "missing mask.mp4" in capsys.readouterr().err
    shutil.rmtree(root)


def test_inspect_rows_show_pass_c_and_the_quadmask_of_interaction_samples():
    from genomni.datasets.inspect import sample_row
    from genomni.sample import Sample

    rng = np.random.default_rng(2)
    video = rng.integers(0, 256, (2, 8, 10, 3), dtype=np.uint8)
    tri = np.full((2, 8, 10), 128, np.uint8)
    quad = np.full((2, 8, 10), 255, np.uint8)
    quad[:, 2:4, 2:4] = qm.CHANGED
    plain = Sample("a", video, video, tri, "", {})
    assert sample_row(plain, 1).shape == (8, 3 * 10 + 2 * 2, 3)
    interaction = Sample("b", video, video, tri, "", {}, {"hidden": video[::-1].copy(), "quadmask": quad}).validate()
    row = sample_row(interaction, 1)
    assert row.shape == (8, 5 * 10 + 4 * 2, 3)
    assert np.array_equal(row[:, 36:46], video[0]) and np.array_equal(row[:, 48:, 0], quad[1])
    bad = Sample("c", video, video, tri, "", {}, {"quadmask": np.full((2, 8, 10), 128, np.uint8)})
    with pytest.raises(GenomniError, match="c: quadmask: 160 pixels hold values other than 0/63/127/255 \\(found 128\\)"):
        bad.validate()


def test_void_folders_are_eval_scenes_with_an_affected_region(kubric_dir, tmp_path):
    from genomni.eval.benchmarks import Scene, load_benchmark
    from genomni.eval.run import score_regions

    out = tmp_path / "void"
    assert run_cli(["data", "export", str(kubric_dir), "--out", str(out), "--format", "void", "--benchmark"]) == 0
    scenes = load_benchmark(out)
    samples = {s.key: s for s in iter_samples(kubric_dir)}
    assert scenes and all(isinstance(s, Scene) for s in scenes)  # none skipped
    for scene in scenes:
        s = samples[scene.name]
        assert np.array_equal(scene.background, s.target) and np.array_equal(scene.footage.masks[0], s.trimask == 0)
        assert np.array_equal(scene.affected, qm.affected(s.extras["quadmask"]))
        assert score_regions(s.target, scene)["psnr_object"] == 100.0


def test_voids_inference_folders_are_footage_with_their_quadmask(tmp_path):
    """VOID's sample folders (input_video.mp4, trimask_quadmask.mp4 or quadmask_0.mp4, prompt.json): its released
    BigBen mask with a video of its size; the removed pixels are the one track, the quadmask goes with the footage."""
    from genomni.footage_folders import open_footage
    from genomni.media import write_video

    folder = tmp_path / "BigBen"
    folder.mkdir()
    shutil.copy(DATA / "void_bigben_quadmask.mp4", folder / "trimask_quadmask.mp4")
    quad, _ = read_video(folder / "trimask_quadmask.mp4", gray=True)
    write_video(folder / "input_video.mp4", np.zeros((*quad.shape, 3), np.uint8), 12.0)
    (folder / "prompt.json").write_text(json.dumps({"bg": "Big Ben against the sky."}))
    footage = open_footage(folder)
    assert footage.names == ["removed"] and footage.prompt == "Big Ben against the sky."
    assert np.array_equal(footage.masks[0], quad == 0) and np.array_equal(footage.quadmask, quad)
    short = tmp_path / "short"
    short.mkdir()
    (short / "quadmask_0.mp4").write_bytes(encode_lossless_mp4(quad[:3, :32, :32], 12.0))
    write_video(short / "input_video.mp4", np.zeros((4, 32, 32, 3), np.uint8), 12.0)
    with pytest.raises(GenomniError, match="quadmask_0.mp4: 3 frames of 32x32, input_video.mp4 has 4 of 32x32"):
        open_footage(short)
