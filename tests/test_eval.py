import csv
import json

import numpy as np
import pytest
from conftest import run_cli

from genomni.errors import GenomniError
from genomni.eval.benchmarks import Scene, Skipped, load_benchmark
from genomni.eval.methods import resolve, temporal_median
from genomni.media import write_video


def _scene(root, name, t=6, h=32, w=40, seed=0, layout="genomni", gt_frames=None):
    """A static textured background with a square sliding across it (the object to remove)."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(0, 255, (1, h, w, 3), dtype=np.uint8).repeat(t, 0)
    video, mask = bg.copy(), np.zeros((t, h, w), np.uint8)
    for k in range(t):
        mask[k, 8:14, 3 + 4 * k : 9 + 4 * k] = 255
    video[mask > 0] = (255, 0, 255)
    d = root / name
    if layout == "genomni":
        write_video(d / "input", video)
        write_video(d / "masks" / "square", mask)
        write_video(d / "background", bg[:gt_frames] if gt_frames else bg)
    else:
        write_video(d / "rgb", video)
        write_video(d / "mask" / "01", mask)
        write_video(d / "bg_gt", bg)
    return video, mask > 0, bg


def test_loaders_parse_both_layouts_and_report_bad_scenes(tmp_path):
    _scene(tmp_path, "a")
    _scene(tmp_path, "b", layout="omnimatte")
    _scene(tmp_path, "c", gt_frames=4)
    (tmp_path / "d").mkdir()
    scenes = load_benchmark(tmp_path)
    assert [type(s) for s in scenes] == [Scene, Scene, Skipped, Skipped]
    assert scenes[0].footage.names == ["square"] and scenes[1].footage.masks.shape == (1, 6, 32, 40)
    assert scenes[2].reason == "c: ground truth background is 4 frames of 40x32, the input 6 of 40x32"
    assert scenes[3].reason.startswith("d: no input video")
    with pytest.raises(GenomniError, match="c: ground truth"):
        load_benchmark(tmp_path, strict=True)


def test_temporal_median_recovers_an_uncovered_static_background(tmp_path):
    video, mask, bg = _scene(tmp_path, "a")
    scene = load_benchmark(tmp_path)[0]
    assert np.array_equal(temporal_median(scene), bg)


def test_eval_cli_scores_methods_reports_skips_and_resumes(tmp_path, capsys):
    bench = tmp_path / "bench"
    video, mask, bg = _scene(bench, "a")
    _scene(bench, "b", seed=1)
    _scene(bench, "c", gt_frames=4)
    preds = tmp_path / "preds"
    write_video(preds / "a" / "background", bg)  # a perfect external prediction for scene a
    write_video(preds / "b" / "background", bg[:5])  # wrong frame count for scene b
    out = tmp_path / "report"
    args = [
        "eval",
        "--benchmark",
        f"toy={bench}",
        "--method",
        "copy-input",
        "--method",
        "temporal-median",
        "--method",
        f"preds=predictions:{preds}",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert run_cli(args) == 0
    rows = {(r["method"], r["scene"]): r for r in csv.DictReader(open(out / "per_scene.csv"))}
    err = (video.astype(np.float64) - bg) / 255.0
    expected = 10 * np.log10(1 / np.mean(err**2))  # the MSE pooled over the scene's frames
    assert float(rows["copy-input", "a"]["psnr"]) == pytest.approx(expected, abs=1e-5)
    assert float(rows["temporal-median", "a"]["psnr"]) == 100.0 and float(rows["temporal-median", "a"]["lpips"]) == 0.0
    assert float(rows["preds", "a"]["ssim"]) == pytest.approx(1.0)
    assert rows["preds", "b"]["skipped"] == "b: prediction background has 5 frames, the ground truth 6"
    assert rows["copy-input", "c"]["skipped"].startswith("c: ground truth")
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["copy-input"]["toy"]["scenes"] == 2 and results["summary"]["copy-input"]["toy"]["skipped"] == 1
    report = (out / "report.md").read_text()
    assert "## Skipped scenes" in report
    assert "- preds / toy / b: prediction background has 5 frames, the ground truth 6" in report
    assert "| Generative Omnimatte | 32.69 | 0.030 | 44.07 | 0.010 |" in report
    assert (out / "scores.png").stat().st_size > 1000 and any((out / "worst").iterdir())
    cached = sorted(p.name for p in (out / "cache" / "copy-input" / "toy").iterdir())
    assert cached == ["a.json", "b.json"]
    (out / "per_scene.csv").unlink()
    assert run_cli(args) == 0  # from the cache
    again = {(r["method"], r["scene"]): r for r in csv.DictReader(open(out / "per_scene.csv"))}
    assert again == rows
    assert run_cli([*args[:-1], "--strict", "--no-progress"]) == 1
    assert "c: ground truth" in capsys.readouterr().err


def test_an_identical_frame_does_not_pull_a_scene_psnr_up(tmp_path):
    """Nine frames at 16.5 dB and one identical to the ground truth: the scene scores the pooled MSE
    (about 16.96 dB), not the per-frame mean (24.85 dB with identical frames capped at 100)."""
    from genomni.eval.run import scene_psnr

    bench, preds = tmp_path / "bench", tmp_path / "preds"
    rng = np.random.default_rng(3)
    gt = rng.integers(40, 216, (10, 16, 16, 3), dtype=np.uint8)
    mask = np.zeros((10, 16, 16), np.uint8)
    mask[:, 4:8, 4:8] = 255
    pred = gt.astype(np.float64)
    sigma = 255.0 * 10 ** (-16.5 / 20)  # an error of this RMS gives 16.5 dB
    signs = np.where(rng.random(gt.shape) < 0.5, -1.0, 1.0)
    pred[1:] = gt[1:] + signs[1:] * sigma
    pred = np.clip(pred, 0, 255).round().astype(np.uint8)
    write_video(bench / "s" / "input", pred)
    write_video(bench / "s" / "masks" / "m", mask)
    write_video(bench / "s" / "background", gt)
    write_video(preds / "s" / "background", pred)
    assert (
        run_cli(
            [
                "eval",
                "--benchmark",
                f"toy={bench}",
                "--method",
                f"p=predictions:{preds}",
                "--out",
                str(tmp_path / "r"),
                "--no-lpips",
                "--no-progress",
            ]
        )
        == 0
    )
    row = next(csv.DictReader(open(tmp_path / "r" / "per_scene.csv")))
    err = (pred.astype(np.float64) - gt) / 255.0
    pooled = 10 * np.log10(1 / np.mean(err**2))
    frames = [10 * np.log10(1 / np.mean(e**2)) for e in err[1:]]
    assert float(row["psnr"]) == pytest.approx(pooled, abs=1e-4) and abs(pooled - 16.96) < 0.3
    assert np.mean(frames + [100.0]) > pooled + 7  # what the per-frame mean would have said
    assert scene_psnr([100.0] * 4) == 100.0
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert "pooled over all frames" in results["protocol"]["psnr_scene"]
    assert "pooled over all frames" in (tmp_path / "r" / "report.md").read_text()


def _shadow_scene(root, t=5, h=32, w=48):
    """A known background, a square object and its known shadow (a darker band to its right)."""
    rng = np.random.default_rng(7)
    bg = np.clip(rng.integers(60, 200, (1, h, w, 3)), 0, 255).astype(np.uint8).repeat(t, 0)
    obj = np.zeros((t, h, w), bool)
    obj[:, 10:18, 8:16] = True
    shadow = np.zeros((t, h, w), bool)
    shadow[:, 12:20, 22:40] = True  # well away from the object: outside its 2-px growth
    video = bg.copy()
    video[shadow] = (video[shadow] * 0.5).astype(np.uint8)
    video[obj] = (250, 20, 20)
    write_video(root / "s" / "input", video)
    write_video(root / "s" / "masks" / "cube", obj.astype(np.uint8) * 255)
    write_video(root / "s" / "background", bg)
    return video, obj, shadow, bg


def test_region_psnr_equals_an_independent_computation(tmp_path):
    from genomni.eval.run import score_regions
    from genomni.metrics import region_masks

    video, obj, shadow, bg = _shadow_scene(tmp_path)
    scene = load_benchmark(tmp_path)[0]
    regions = region_masks(scene.footage.video, scene.background, scene.footage.masks.any(0))
    # The effect region is exactly the shadow (it changes by more than 6 levels, outside the grown object).
    assert np.array_equal(regions["effect"], shadow) and np.array_equal(regions["object"], obj)
    assert np.array_equal(regions["rest"], ~obj & ~shadow)
    # A prediction that inpaints the object perfectly but keeps the shadow, with noise of +-3 elsewhere.
    pred = bg.copy()
    pred[shadow] = video[shadow]
    noise = np.random.default_rng(1).integers(-3, 4, bg.shape)
    rest = ~obj & ~shadow
    pred[rest] = np.clip(bg.astype(int) + noise, 0, 255)[rest]

    def independent(mask):
        d = (pred.astype(np.float64) - bg) / 255.0
        return 10 * np.log10(1.0 / np.mean((d**2)[mask]))

    got = score_regions(pred, scene)
    assert got["psnr_object"] == 100.0  # identical: capped like frame PSNR
    assert got["psnr_effect"] == pytest.approx(independent(shadow), abs=1e-9)
    assert got["psnr_rest"] == pytest.approx(independent(rest), abs=1e-9)
    assert got["psnr_effect"] < 20 < got["psnr_rest"]


def test_eval_report_has_region_columns_and_only_effect_removal_wins_the_effect_region(tmp_path):
    video, obj, shadow, bg = _shadow_scene(tmp_path / "bench")
    out = tmp_path / "r"
    assert (
        run_cli(
            [
                "eval",
                "--benchmark",
                f"toy={tmp_path / 'bench'}",
                "--method",
                "copy-input",
                "--method",
                "cv2-inpaint",
                "--out",
                str(out),
                "--no-lpips",
                "--no-progress",
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    copy, cv2 = results["summary"]["copy-input"]["toy"], results["summary"]["cv2-inpaint"]["toy"]
    assert copy["psnr_effect"] == pytest.approx(cv2["psnr_effect"]) and copy["psnr_effect_scenes"] == 1
    assert cv2["psnr_object"] > copy["psnr_object"]
    assert "effect = outside the masks grown by 2 px" in results["protocol"]["regions"]
    rows = list(csv.DictReader(open(out / "per_scene.csv")))
    assert {"psnr_object", "psnr_effect", "psnr_rest"} <= set(rows[0])
    assert "| PSNR object | PSNR effect (scenes) | PSNR rest |" in (out / "report.md").read_text()


def test_two_prediction_folders_with_the_same_name_stay_two_rows_and_caches(tmp_path, capsys):
    video, mask, bg = _scene(tmp_path / "bench", "a")
    for run, frames in (("runA", bg), ("runB", video)):
        write_video(tmp_path / run / "out" / "a" / "background", frames)
    out = tmp_path / "r"
    args = [
        "eval",
        "--benchmark",
        f"toy={tmp_path / 'bench'}",
        "--method",
        f"predictions:{tmp_path / 'runA/out'}",
        "--method",
        f"predictions:{tmp_path / 'runB/out'}",
        "--out",
        str(out),
        "--no-lpips",
        "--no-progress",
    ]
    assert run_cli(args) == 0
    summary = json.loads((out / "results.json").read_text())["summary"]
    a, b = summary[f"predictions:{(tmp_path / 'runA/out').resolve()}"], summary[f"predictions:{(tmp_path / 'runB/out').resolve()}"]
    assert a["toy"]["psnr"] == 100.0 and b["toy"]["psnr"] < 40  # not merged, not read from each other's cache
    # Same name given twice: refused before any work.
    assert (
        run_cli(
            [
                *args[:3],
                "--method",
                f"x=predictions:{tmp_path / 'runA/out'}",
                "--method",
                f"x=predictions:{tmp_path / 'runB/out'}",
                "--out",
                str(tmp_path / "r2"),
                "--no-progress",
            ]
        )
        == 1
    )
    assert "two --method values have the same name 'x'" in capsys.readouterr().err
    # A cache made for another method under the same name is recomputed, never reused.
    named = [*args[:3], "--method", f"m=predictions:{tmp_path / 'runA/out'}", "--out", str(tmp_path / "r3"), "--no-lpips", "--no-progress"]
    assert run_cli(named) == 0
    named[4] = f"m=predictions:{tmp_path / 'runB/out'}"
    assert run_cli(named) == 0
    assert json.loads((tmp_path / "r3/results.json").read_text())["summary"]["m"]["toy"]["psnr"] < 40


def test_a_method_row_may_be_named_like_a_method_kind(tmp_path):
    (tmp_path / "out").mkdir()
    folder = f"predictions:{tmp_path / 'out'}"
    assert resolve(f"casper={folder}")[0] == "casper"  # a name that begins like a kind is still a name
    assert resolve(f"predictions-b={folder}")[0] == "predictions-b"
    assert resolve(folder)[0] == f"predictions:{(tmp_path / 'out').resolve()}"
    with pytest.raises(GenomniError, match="steps must be >= 1"):  # '=' inside the kind is not a NAME
        resolve("casper[steps=0]:model")


def test_eval_runs_without_the_training_extra_and_casper_says_what_to_install(tmp_path):
    """An install with genomni[eval] only (no diffusers, transformers, accelerate, peft): baselines score,
    a casper method is one line naming the extra."""
    import subprocess
    import sys
    import textwrap

    bench = tmp_path / "bench"
    _scene(bench, "a")
    script = tmp_path / "no_train_extra.py"
    script.write_text(
        textwrap.dedent("""
        import importlib.util, sys
        BLOCKED = ("diffusers", "transformers", "accelerate", "peft")
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, Block())
        find = importlib.util.find_spec
        importlib.util.find_spec = lambda name, package=None: None if name.split(".")[0] in BLOCKED else find(name, package)
        from genomni.cli import main
        main(sys.argv[1:])
    """)
    )
    base = [sys.executable, str(script), "eval", "--benchmark", f"toy={bench}", "--no-lpips", "--no-progress"]
    ok = subprocess.run([*base, "--method", "copy-input", "--out", str(tmp_path / "r")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "r" / "results.json").read_text())["summary"]["copy-input"]["toy"]["scenes"] == 1
    bad = subprocess.run([*base, "--method", f"casper:{tmp_path}", "--out", str(tmp_path / "c")], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.strip() == (
        f"error: --method casper:{tmp_path} runs a Casper model, which needs diffusers: pip install -c constraints.txt 'genomni[train]'"
    )


def test_omnimatterf_layout_and_scoring_at_a_stated_size(tmp_path):
    """OmnimatteRF's released layout (rgb_1x/, masks/mask/NN/, ground truth by --gt-name) loads as is, and
    --resize scores at the stated size with the ground truth area-averaged (checked independently with cv2)."""
    import cv2

    from genomni.eval.benchmarks import load_benchmark

    root = tmp_path / "movie"
    rng = np.random.default_rng(5)
    bg = rng.integers(0, 255, (1, 32, 48, 3), dtype=np.uint8).repeat(4, 0)
    video, mask = bg.copy(), np.zeros((4, 32, 48), np.uint8)
    mask[:, 10:17, 20:27] = 255
    video[mask > 0] = (0, 255, 0)
    write_video(root / "scene1" / "rgb_1x", video)
    write_video(root / "scene1" / "masks" / "mask" / "01", mask)
    write_video(root / "scene1" / "clean_bg", bg)
    (scene,) = load_benchmark(root, "auto", "clean_bg")
    assert scene.background.shape == (4, 32, 48, 3) and scene.footage.names == ["01"]
    (small,) = load_benchmark(root, "omnimatterf", "clean_bg", size=(16, 24))
    expected_gt = np.stack([cv2.resize(f, (24, 16), interpolation=cv2.INTER_AREA) for f in bg])
    assert np.array_equal(small.background, expected_gt) and small.original_size == (32, 48)
    m = small.footage.masks[0][0]
    assert m[5:8, 10:13].all() and m.sum() == 4 * 4  # rows 5..8, cols 10..13 touch the 7x7 object
    out = tmp_path / "r"
    write_video(tmp_path / "preds" / "scene1" / "background", bg)  # a perfect prediction at the original size
    assert (
        run_cli(
            [
                "eval",
                "--benchmark",
                f"movie={root}",
                "--gt-name",
                "clean_bg",
                "--resize",
                "24x16",
                "--method",
                f"p=predictions:{tmp_path / 'preds'}",
                "--method",
                "copy-input",
                "--out",
                str(out),
                "--no-lpips",
                "--no-progress",
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["p"]["movie"]["psnr"] == 100.0  # resized like the ground truth: identical
    err = (np.stack([cv2.resize(f, (24, 16), interpolation=cv2.INTER_AREA) for f in video]).astype(float) - expected_gt) / 255
    assert results["summary"]["copy-input"]["movie"]["psnr"] == pytest.approx(10 * np.log10(1 / np.mean(err**2)), abs=1e-4)
    assert results["protocol"]["resolution"].startswith("24x16 (--resize 24x16)")
    assert run_cli(["eval", "--benchmark", f"movie={root}", "--resize", "big", "--method", "copy-input", "--out", str(tmp_path / "x")]) == 1


def test_a_benchmark_with_no_scorable_scene_still_gets_its_report(tmp_path, capsys):
    (tmp_path / "bench" / "s1").mkdir(parents=True)
    out = tmp_path / "r"
    assert (
        run_cli(
            ["eval", "--benchmark", f"x={tmp_path / 'bench'}", "--method", "copy-input", "--out", str(out), "--no-lpips", "--no-progress"]
        )
        == 1
    )
    assert "- copy-input / x / s1: no input video (input.mkv, input.mp4 or input/)" in (out / "report.md").read_text()
    assert json.loads((out / "results.json").read_text())["summary"]["copy-input"]["x"]["scenes"] == 0
    err = capsys.readouterr().err
    assert not (out / "scores.png").exists() and err.count("\n") == 1
    assert err.startswith("error: no scene could be scored; ") and "report.md lists each with its reason" in err


def test_the_cache_never_reports_numbers_of_other_inputs(tmp_path):
    """Stale-cache cases a user meets: predictions replaced in place between runs into the same --out, another
    --mask-threshold (other masks, other regions), and a damaged cache entry: each scored afresh, like a new --out."""
    video, mask, bg = _scene(tmp_path / "bench", "a")
    preds = tmp_path / "preds"
    write_video(preds / "a" / "background", bg)
    out = tmp_path / "r"
    args = [
        "eval",
        "--benchmark",
        f"toy={tmp_path / 'bench'}",
        "--method",
        f"p=predictions:{preds}",
        "--method",
        "copy-input",
        "--out",
        str(out),
        "--no-lpips",
        "--no-progress",
    ]

    def summary(o=out):
        return json.loads((o / "results.json").read_text())["summary"]

    assert run_cli(args) == 0 and summary()["p"]["toy"]["psnr"] == 100.0
    write_video(preds / "a" / "background", np.zeros_like(bg))  # replaced by black frames
    assert run_cli(args) == 0 and summary()["p"]["toy"]["psnr"] < 15
    first = summary()["copy-input"]["toy"]["psnr_object"]
    write_video(tmp_path / "bench" / "a" / "masks" / "square", np.where(mask, 255, 0).astype(np.uint8)[:, :, ::-1])
    assert run_cli(args) == 0  # the masks rewritten mirrored: other masks, other regions
    assert summary()["copy-input"]["toy"]["psnr_object"] != first
    fresh = tmp_path / "fresh"
    assert run_cli([*args[:-4], "--out", str(fresh), "--no-lpips", "--no-progress"]) == 0
    assert summary() == summary(fresh)
    for entry in (out / "cache").rglob("*.json"):
        entry.write_text('{"key": ')  # a killed write
    assert run_cli(args) == 0 and summary() == summary(fresh)


def test_two_benchmarks_with_one_name_are_refused_not_merged(tmp_path, capsys):
    _scene(tmp_path / "b1", "a")
    _scene(tmp_path / "b2", "a", seed=1)
    assert (
        run_cli(
            [
                "eval",
                "--benchmark",
                f"toy={tmp_path / 'b1'}",
                "--benchmark",
                f"toy={tmp_path / 'b2'}",
                "--method",
                "copy-input",
                "--out",
                str(tmp_path / "r"),
                "--no-progress",
            ]
        )
        == 1
    )
    assert "--benchmark 'toy' is given twice" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_the_affected_region_scores_what_the_removal_changed_beyond_the_object(tmp_path):
    """A constructed interaction: a box (removed) holds a plate up; without the box the true background shows the
    plate fallen 8 rows lower from frame 2 on. quadmask.mkv marks the plate's old and new places 127. Inpainting
    the box's mask leaves the plate where it was: the affected region shows it, computed here independently."""
    from genomni import quadmask as qm
    from genomni.eval.run import score_regions

    t, h, w = 5, 32, 48
    rng = np.random.default_rng(3)
    floor = rng.integers(60, 200, (1, h, w, 3)).astype(np.uint8).repeat(t, 0)
    box = np.zeros((t, h, w), bool)
    box[:, 16:24, 10:20] = True
    plate_up, plate_down = np.zeros((t, h, w), bool), np.zeros((t, h, w), bool)
    plate_up[:, 12:16, 10:20] = True
    plate_down[2:, 20:24, 24:34] = True  # it fell beside the box
    plate_down[:2] = plate_up[:2]
    video = floor.copy()
    video[box], video[plate_up] = (200, 40, 40), (30, 220, 30)
    truth = floor.copy()
    truth[plate_down] = (30, 220, 30)
    changed = plate_up ^ plate_down
    quad = qm.compose(box, changed)
    root = tmp_path / "bench" / "s"
    write_video(root / "input", video)
    write_video(root / "masks" / "box", box.astype(np.uint8) * 255)
    write_video(root / "background", truth)
    write_video(root / "quadmask.mkv", quad)
    scene = load_benchmark(tmp_path / "bench")[0]
    assert np.array_equal(scene.affected, changed)
    inpainted = video.copy()
    inpainted[box] = floor[box]  # a perfect mask inpainting: the plate stays up
    d = ((inpainted.astype(np.float64) - truth) / 255.0) ** 2
    got = score_regions(inpainted, scene)
    assert got["psnr_affected"] == pytest.approx(10 * np.log10(1 / d[changed].mean()), abs=1e-9)
    assert got["psnr_affected"] < 15 and score_regions(truth, scene)["psnr_affected"] == 100.0
    bad = quad.copy()
    bad[0, 0, 0] = 100
    write_video(root / "quadmask.mkv", bad)
    with pytest.raises(GenomniError, match="values other than 0/63/127/255 \\(found 100\\)"):
        load_benchmark(tmp_path / "bench", strict=True)
