"""Ground-truth omnimatte layers: derived from constructed scenes whose layers are known, stored by
`generate kubric --layers`, exported by `data export --benchmark`, scored by `genomni eval --layers`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli

from genomni.eval.layers import other_background, scenes_with_layers, score_layer
from genomni.layers import composite, from_rgba8, read_rgba_folder, to_rgba8, truth_layer, write_rgba_folder
from genomni.shards import iter_samples


def _scene():
    """A textured background, a disk object, a grey shadow (black at 40%) and a red reflection."""
    rng = np.random.default_rng(0)
    t, h, w = 3, 40, 48
    bg = rng.integers(60, 200, (t, h, w, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    obj = np.broadcast_to(((yy - 12) ** 2 + (xx - 14) ** 2) < 36, (t, h, w)).copy()
    shadow = np.broadcast_to((((yy - 22) / 4.0) ** 2 + ((xx - 20) / 9.0) ** 2) < 1, (t, h, w)) & ~obj
    refl = np.broadcast_to((yy > 32) & (xx > 34), (t, h, w))
    alpha = np.where(obj, 1.0, np.where(shadow, 0.4, np.where(refl, 0.3, 0.0)))
    color = np.zeros((t, h, w, 3))
    color[obj] = (0.1, 0.8, 0.3)
    color[refl] = (1.0, 0.2, 0.2)
    solo = composite(bg, [(alpha, color)])
    return bg, solo, obj, shadow, refl, alpha


def test_truth_layer_recovers_a_known_shadow_and_recomposes_exactly():
    bg, solo, obj, shadow, refl, alpha = _scene()
    a, rgb = truth_layer(solo, bg, obj)
    assert (a[obj] == 1).all()
    assert np.abs(a[shadow] - 0.4).max() < 0.02 and rgb[shadow].max() < 0.05  # black at the opacity it darkens by
    assert np.abs(a[refl] - 0.3).max() < 0.02  # its red channel is saturated, so the least opaque layer is the true one
    assert (a[~(obj | shadow | refl)] == 0).all()
    assert np.abs(composite(bg, [from_rgba8(to_rgba8(a, rgb))]).astype(int) - solo.astype(int)).max() <= 1


def test_layer_scores_equal_an_independent_computation():
    bg, solo, obj, shadow, refl, alpha = _scene()
    truth = truth_layer(solo, bg, obj)
    perfect = score_layer(truth, truth, obj, bg)
    assert (perfect.alpha_iou, perfect.alpha_mae_object, perfect.alpha_mae_effect) == (1.0, 0.0, 0.0)
    assert perfect.recomposite_psnr == float("inf")
    half = (truth[0] * 0.5, truth[1])
    s = score_layer(half, truth, obj, bg)
    import cv2

    region = np.stack([cv2.dilate(m.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) > 0 for m in obj])
    effect = (truth[0] > 0.1) & ~region
    assert s.alpha_mae_effect == pytest.approx(float(np.abs(truth[0] * 0.5 - truth[0])[effect].mean()))
    assert s.alpha_mae_object == pytest.approx(float(np.abs(truth[0] * 0.5 - truth[0])[region].mean()))
    on_pred, on_true = truth[0] * 0.5 > 0.1, truth[0] > 0.1
    assert s.alpha_iou == pytest.approx((on_pred & on_true).sum() / (on_pred | on_true).sum())
    other = other_background(bg)
    mse = ((composite(other, [half]).astype(float) - composite(other, [truth]).astype(float)) / 255) ** 2
    assert s.recomposite_psnr == pytest.approx(10 * np.log10(1 / mse.mean()))


@pytest.fixture(scope="module")
def layered(tmp_path_factory):
    out = tmp_path_factory.mktemp("layers") / "ds"
    assert (
        run_cli(
            [
                "generate",
                "kubric",
                "--out",
                str(out),
                "--num-scenes",
                "2",
                "--frames",
                "5",
                "--resolution",
                "48",
                "--samples",
                "8",
                "--min-objects",
                "1",
                "--max-objects",
                "1",
                "--seed",
                "4",
                "--layers",
                "--no-progress",
            ]
        )
        == 0
    )
    return out


def test_kubric_true_layers_recompose_the_input(layered, tmp_path):
    for s in iter_samples(layered):
        if s.meta["kept_ids"]:
            assert "layers" not in s.extras
            continue
        rgba = s.extras["layers"]
        assert rgba.shape == (1, 5, 48, 48, 4) and s.meta["layer_ids"] == s.meta["object_ids"]
        a = rgba[0, ..., 3]
        obj = s.extras["instances"] == s.meta["layer_ids"][0]
        assert (a[obj] == 255).all()
        rec = composite(s.target, [from_rgba8(rgba[0])])
        support = a > 0
        assert np.abs(rec.astype(int) - s.input.astype(int)).max(-1)[support].max() <= 1  # exact where the layer is
        assert s.meta["qc"]["layers_recomposition_psnr"] > 40
    bench = tmp_path / "bench"
    assert run_cli(["data", "export", str(layered), "--out", str(bench), "--benchmark"]) == 0
    scenes = scenes_with_layers(bench)  # the scene folders (.genomni holds the writer's lock)
    scene = scenes[0]
    truth_a, truth_rgb = read_rgba_folder(scene / "layers" / "object01")
    # a "decomposition" that is the truth, and one whose alpha is halved
    for name, scale in (("exact", 1.0), ("half", 0.5)):
        for sc in scenes:
            d = tmp_path / name / sc.name
            a, rgb = read_rgba_folder(sc / "layers" / "object01")
            write_rgba_folder(d / "layers" / "object01", to_rgba8(a * scale, rgb))
            (d / "decomposition.json").write_text(json.dumps({"layers": {"object01": {"recon_psnr_before_transfer": 40.0}}}))
    args = [
        "eval",
        "--benchmark",
        f"k={bench}",
        "--layers",
        f"exact={tmp_path / 'exact'}",
        "--layers",
        f"half={tmp_path / 'half'}",
        "--out",
        str(tmp_path / "rep"),
    ]
    assert run_cli(args) == 0
    report = json.loads((tmp_path / "rep" / "layers.json").read_text())
    exact, half = report["summary"]["exact"]["k"], report["summary"]["half"]["k"]
    assert exact["scenes"] == 2 and exact["alpha_iou"] == 1.0 and exact["alpha_mae_object"] == 0.0
    assert exact["recomposite_psnr"] == float("inf")
    import cv2

    expected = []
    for sc in scenes:
        a, _ = read_rgba_folder(sc / "layers" / "object01")
        obj = np.stack([cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) > 127 for f in sorted((sc / "masks/object01").iterdir())])
        region = np.stack([cv2.dilate(m.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) > 0 for m in obj])
        expected.append(float((0.5 * a)[region].mean()))  # |a/2 - a| over the object region
    assert half["alpha_mae_object"] == pytest.approx(np.mean(expected), abs=1 / 255) and half["alpha_iou"] < 1.0
    assert exact["fit_psnr_before_transfer"] == 40.0
    shutil.rmtree(tmp_path / "half" / scene.name / "layers")
    assert run_cli(args) == 0  # one scene left for "half": the other is reported skipped with its reason
    report = json.loads((tmp_path / "rep" / "layers.json").read_text())
    assert report["summary"]["half"]["k"]["scenes"] == 1 and "no layer object01" in report["skipped"][0]["reason"]


def test_nested_layers_recompose_an_object_in_another_objects_shadow_exactly():
    """Object 2 stands in object 1's shadow and is darkened by it: a layer of object 2 alone over the background
    is its undarkened colour, which composited over object 1's layer covers that shadow; layers in compositing
    order, each over the scene with the objects before it, recompose the input within rounding."""
    from genomni.generators.kubric.passes import Passes
    from genomni.generators.kubric.truth_layers import layer_of, scene_layers

    bg, s1, obj1, shadow1, refl, alpha1 = _scene()
    t, h, w = obj1.shape
    yy, xx = np.mgrid[:h, :w]
    obj2 = np.broadcast_to((np.abs(yy - 23) < 3) & (np.abs(xx - 25) < 3), (t, h, w)).copy()
    shadow2 = np.broadcast_to((np.abs(yy - 27) < 2) & (np.abs(xx - 31) < 5), (t, h, w)) & ~obj2 & ~shadow1
    in_shadow = obj2 & shadow1
    assert in_shadow.sum() >= 20 * t and shadow2.any()
    green = np.zeros((t, h, w, 3))
    green[obj2] = (0.2, 0.9, 0.3)
    solo2 = composite(bg, [(np.where(obj2, 1.0, np.where(shadow2, 0.5, 0.0)), green)])
    color1 = np.zeros((t, h, w, 3))
    color1[obj1] = (0.1, 0.8, 0.3)
    color1[refl] = (1.0, 0.2, 0.2)
    full = composite(solo2, [(alpha1, color1)])  # object 1's shadow falls on object 2 too
    inst1 = obj1.astype(np.uint8)
    inst = np.where(obj1, 1, np.where(obj2, 2, 0)).astype(np.uint8)
    passes = Passes(full, inst, targets={"all": (bg, np.zeros_like(inst)), "obj1": (s1, inst1)})
    layers = scene_layers(bg, passes, [1, 2])
    assert layers.shape == (2, t, h, w, 4)
    rec = composite(bg, [from_rgba8(x) for x in layers])
    assert np.abs(rec.astype(int) - full.astype(int)).max() <= 1
    assert (layers[1, ..., 3][obj2] == 255).all()
    assert np.abs(layers[1, ..., :3][in_shadow].astype(int) - np.round(0.6 * 255 * green[in_shadow]).astype(int)).max() <= 1
    per_object = [layer_of(bg, s1, obj1), layer_of(bg, solo2, obj2)]
    old = composite(bg, [from_rgba8(x) for x in per_object])
    assert np.abs(old.astype(int) - full.astype(int)).max(-1)[in_shadow].min() > 10  # what they miss


def test_kubric_layers_of_three_objects_recompose_the_input(tmp_path):
    """Three objects: layers 2 and 3 come from the render with the objects before them (an extra `first2` pass),
    so the stack recomposes the full render where the layers are (up to render noise: 8 spp), exactly where the
    last layer is opaque."""
    out = tmp_path / "ds"
    assert (
        run_cli(
            [
                "generate",
                "kubric",
                "--out",
                str(out),
                "--num-scenes",
                "1",
                "--frames",
                "5",
                "--resolution",
                "48",
                "--samples",
                "8",
                "--min-objects",
                "3",
                "--max-objects",
                "3",
                "--seed",
                "2",
                "--layers",
                "--no-progress",
            ]
        )
        == 0
    )
    full = next(s for s in iter_samples(out) if not s.meta["kept_ids"])
    rgba = full.extras["layers"]
    ids = full.meta["layer_ids"]
    assert rgba.shape == (3, 5, 48, 48, 4) and ids == full.meta["object_ids"]
    last = full.extras["instances"] == ids[-1]
    assert (rgba[-1, ..., 3][last] == 255).all()
    rec = composite(full.target, [from_rgba8(x) for x in rgba])
    diff = np.abs(rec.astype(int) - full.input.astype(int)).max(-1)
    assert diff[last].max() <= 1
    support = (rgba[..., 3] > 0).any(0)
    assert (diff[support] <= 2).mean() > 0.99  # outside the layers only the render noise they leave out differs
    assert full.meta["qc"]["layers_recomposition_psnr"] > 40


def test_eval_decompose_makes_and_scores_the_layers_in_one_command(layered, tmp_path):
    """`eval --decompose NAME=MODEL` decomposes every benchmark scene (a tiny random Casper, loaded as users load
    theirs) into OUT/decompositions/NAME and scores it as --layers does; a second run resumes (nothing redone),
    and a scene that cannot be decomposed is reported skipped with its reason."""
    from genomni.eval.layers import score_scene
    from genomni.models.presets import build_preset

    model = build_preset("tiny", tmp_path / "tiny")
    bench = tmp_path / "bench"
    assert run_cli(["data", "export", str(layered), "--out", str(bench), "--benchmark"]) == 0
    args = [
        "eval",
        "--benchmark",
        f"k={bench}",
        "--decompose",
        f"tiny={model}",
        "--coarse-iters",
        "40",
        "--fine-iters",
        "2",
        "--out",
        str(tmp_path / "rep"),
    ]
    no_decompose = ["eval", "--benchmark", f"k={bench}", "--layers", f"x={tmp_path}", "--coarse-iters", "40", "--out", str(tmp_path / "x")]
    assert run_cli(no_decompose) == 1 and not (tmp_path / "x").exists()  # an omnimatte option without --decompose
    assert run_cli(args) == 0
    report = json.loads((tmp_path / "rep" / "layers.json").read_text())
    got = report["summary"]["tiny"]["k"]
    assert got["scenes"] == 2 and got["layers"] == 2 and not report["skipped"]
    root = tmp_path / "rep" / "decompositions" / "tiny"
    assert all(json.loads(f.read_text())["omnimatte"]["coarse_iters"] == 40 for f in root.glob("*/decomposition.json"))
    scores = [score_scene(sc, root / sc.name).layers[0] for sc in scenes_with_layers(bench)]
    assert got["alpha_iou"] == pytest.approx(np.mean([s.alpha_iou for s in scores]))
    assert got["alpha_mae_object"] == pytest.approx(np.mean([s.alpha_mae_object for s in scores]))
    layer_files = sorted(root.glob("*/layers/object01/*.png"))
    stamps = [f.stat().st_mtime_ns for f in layer_files]
    assert len(layer_files) == 10 and run_cli(args) == 0  # resumed: the layers are not written again
    assert [f.stat().st_mtime_ns for f in layer_files] == stamps
    broken = scenes_with_layers(bench)[0]
    shutil.rmtree(root / broken.name)
    for f in (broken / "masks" / "object01").iterdir():
        f.unlink()
    assert run_cli(args) == 0
    report = json.loads((tmp_path / "rep" / "layers.json").read_text())
    assert report["summary"]["tiny"]["k"]["scenes"] == 1
    assert report["skipped"][0]["scene"] == broken.name and report["skipped"][0]["reason"].startswith("not decomposed:")
