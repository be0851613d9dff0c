import cv2
import numpy as np
from conftest import run_cli

from genomni.media import write_video
from genomni.shards import iter_samples, read_card


def _object_clip(folder, t=6, h=48, w=64):
    """A gray clip with a red square moving right; its mask."""
    video = np.full((t, h, w, 3), 90, np.uint8)
    mask = np.zeros((t, h, w), np.uint8)
    for k in range(t):
        mask[k, 10:22, 5 + 3 * k : 17 + 3 * k] = 255
    video[mask > 0] = (200, 30, 30)
    video[:, 10:22, :, 1] += np.arange(w, dtype=np.uint8)[None, None, :] // 4 * (mask[:, 10:22] > 0)  # texture on the object
    write_video(folder / "input", video)
    write_video(folder / "masks" / "square", mask)
    return video, mask > 0


def _background(path, t=6, h=48, w=64, seed=3):
    rng = np.random.default_rng(seed)
    bg = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
    write_video(path, bg)
    return bg


def test_pasted_pixels_trimask_and_target_are_exact(tmp_path):
    """With a hard edge (no erosion, no feather) the paste copies the masked pixels exactly."""
    src, smask = _object_clip(tmp_path / "obj")
    bg = _background(tmp_path / "bg")
    out = tmp_path / "ds"
    args = [
        "generate",
        "objectpaste",
        "--objects",
        str(tmp_path / "obj"),
        "--backgrounds",
        str(tmp_path / "bg"),
        "--out",
        str(out),
        "--num-samples",
        "3",
        "--scale",
        "1,1",
        "--flip-prob",
        "0",
        "--frames",
        "4",
        "--edge-erode",
        "0",
        "--edge-feather",
        "0",
        "--caption",
        "Noise.",
        "--no-progress",
    ]
    assert run_cli(args) == 0
    samples = list(iter_samples(out))
    assert len(samples) == 3
    for s in samples:
        p = s.meta["paste"]
        oy, ox = p["offset"]
        t0, b0 = p["time_offset"], s.meta["background_start"]
        assert p["scale"] == 1.0 and not p["flip"] and s.meta["shadow"] is None
        assert np.array_equal(s.target, bg[b0 : b0 + 4])
        for t in range(4):
            ys, xs = np.nonzero(smask[t0 + t])
            assert np.array_equal(s.input[t][ys + oy, xs + ox], src[t0 + t][ys, xs])
            pasted = np.zeros(smask.shape[1:], bool)
            pasted[ys + oy, xs + ox] = True
            assert np.array_equal(s.trimask[t] == 0, pasted) and (s.trimask[t][~pasted] == 128).all()
            assert np.array_equal(s.input[t][~pasted], s.target[t][~pasted])
        assert s.meta["qc"]["mask_area_frac"] == (s.trimask == 0).mean()
    assert run_cli(args) == 0  # a rerun resumes (nothing to do) and keeps the data
    assert [s.key for s in iter_samples(out)] == [s.key for s in samples]


def test_synthetic_shadow_is_in_the_input_only_and_keep_prob_marks_the_rest(tmp_path):
    _object_clip(tmp_path / "obj")
    _background(tmp_path / "bg")
    base = [
        "generate",
        "objectpaste",
        "--objects",
        str(tmp_path / "obj"),
        "--backgrounds",
        str(tmp_path / "bg"),
        "--num-samples",
        "2",
        "--scale",
        "1,1",
        "--keep-prob",
        "1",
        "--caption",
        "Noise.",
        "--no-progress",
    ]
    assert run_cli([*base, "--out", str(tmp_path / "shadow"), "--shadow-prob", "1", "--shadow-direction", "60"]) == 0
    for s in iter_samples(tmp_path / "shadow"):
        outside = s.trimask != 0
        darker = (s.input.astype(int) < s.target.astype(int)).all(-1) & outside
        assert darker.mean() > 0.005 and (s.input.astype(int) <= s.target.astype(int))[outside].all()
        assert s.meta["shadow"]["region_frac"] > 0 and set(np.unique(s.trimask)) == {0, 128}  # a shadow: rest 128
    assert run_cli([*base, "--out", str(tmp_path / "keep")]) == 0
    assert all(set(np.unique(s.trimask)) == {0, 255} for s in iter_samples(tmp_path / "keep"))


def test_kubric_shards_as_object_sources_and_mask_filters(kubric_dir, tmp_path):
    _background(tmp_path / "bg", t=5)
    out = tmp_path / "ds"
    assert (
        run_cli(
            [
                "generate",
                "objectpaste",
                "--objects",
                str(kubric_dir),
                "--backgrounds",
                str(tmp_path / "bg"),
                "--out",
                str(out),
                "--num-samples",
                "2",
                "--min-area",
                "0",
                "--caption",
                "Noise.",
                "--no-progress",
            ]
        )
        == 0
    )
    s = next(iter_samples(out))
    assert s.meta["object"].startswith(f"{kubric_dir.name}/kubric-s") and (s.trimask == 0).any()
    assert (
        run_cli(
            [
                "generate",
                "objectpaste",
                "--objects",
                str(kubric_dir),
                "--backgrounds",
                str(tmp_path / "bg"),
                "--out",
                str(tmp_path / "none"),
                "--num-samples",
                "1",
                "--min-area",
                "0.9",
                "--max-area",
                "1",
                "--caption",
                "Noise.",
                "--no-progress",
            ]
        )
        == 1
    )  # no sample written: exit 1, reasons in dataset.json
    reason = read_card(tmp_path / "none")["dropped_scenes"][0]["reason"]
    assert "mask area" in reason and "outside [0.9, 1.0]" in reason


def _antialiased_object(folder, t=4, h=48, w=64):
    """A uniform red square with antialiased edges on a uniform green source background; mask = coverage > 0.5."""
    red, green = np.array([230, 40, 40]), np.array([30, 200, 30])
    video, masks = [], []
    for k in range(t):
        cover = np.zeros((h, w), np.float32)
        cover[12:28, 8 + 2 * k : 24 + 2 * k] = 1
        cover = cv2.GaussianBlur(cover, (0, 0), 1.0)
        video.append((cover[..., None] * red + (1 - cover[..., None]) * green).round().astype(np.uint8))
        masks.append(((cover > 0.5) * 255).astype(np.uint8))
    write_video(folder / "input", np.stack(video))
    write_video(folder / "masks" / "square", np.stack(masks))
    return red, green


def _source_share(pixels, red, green, blue):
    """Per pixel, the weight of the source background in a least-squares mixture of object, source bg and new bg."""
    basis = np.stack([red, green, blue], 1).astype(float)  # 3x3: columns are the three colours
    a = np.vstack([basis, np.ones((1, 3))])
    b = np.hstack([pixels.astype(float), np.ones((len(pixels), 1))]).T
    weights = np.linalg.lstsq(a, b, rcond=None)[0]
    return weights[1]


def test_soft_matte_edges_leave_no_source_background_rim(tmp_path):
    red, green = _antialiased_object(tmp_path / "obj")
    blue = np.array([60, 60, 160])
    write_video(tmp_path / "bg", np.broadcast_to(blue.astype(np.uint8), (4, 48, 64, 3)).copy())
    base = [
        "generate",
        "objectpaste",
        "--objects",
        str(tmp_path / "obj"),
        "--backgrounds",
        str(tmp_path / "bg"),
        "--num-samples",
        "3",
        "--scale",
        "1,1",
        "--caption",
        "Blue.",
        "--no-progress",
    ]
    shares = {}
    for name, extra in (("hard", ["--edge-erode", "0", "--edge-feather", "0"]), ("soft", [])):
        assert run_cli([*base, *extra, "--out", str(tmp_path / name)]) == 0
        rim = []
        for s in iter_samples(tmp_path / name):
            changed = s.trimask == 0
            assert np.array_equal(s.input[~changed], s.target[~changed])  # nothing changes outside the trimask's 0
            rim.append(_source_share(s.input[changed], red, green, blue) > 0.1)
        shares[name] = float(np.concatenate(rim).mean())
    assert shares["hard"] > 0.15 and shares["soft"] < 0.01, shares


def test_grounded_shadows_start_at_the_base_lie_flat_and_share_a_direction_per_clip(tmp_path):
    from genomni.generators.objectpaste import ground_effect, soft_alpha

    mask = np.zeros((1, 64, 80), bool)
    mask[0, 10:40, 30:42] = True  # an upright object 30 px tall standing on row 39
    alpha = soft_alpha(mask, 1, 1.0)
    for direction in (30, 90, 150, 200, 330):
        opacity, colour, p = ground_effect(alpha, np.zeros((1, 64, 80, 3), np.uint8), "shadow", direction, np.random.default_rng(direction))
        ys, xs = np.nonzero(opacity[0] > 0.05)
        assert colour is None and len(ys), direction
        assert ys.min() >= 39 - 0.6 * 1.2 * 30 - 3 * p["blur"] and ys.max() <= 39 + 0.6 * 1.2 * 30 + 3 * p["blur"]
        assert ys.max() - ys.min() < 30  # flat on the ground: never the object's full height
        touching = (np.abs(ys - 39) <= 2) & (xs >= 29) & (xs <= 42)
        assert touching.any() or ys.max() < 39, direction  # from the contact line (behind the object: hidden by it)
    _object_clip(tmp_path / "obj")
    _background(tmp_path / "bg1")
    _background(tmp_path / "bg2", seed=5)
    out = tmp_path / "ds"
    assert (
        run_cli(
            [
                "generate",
                "objectpaste",
                "--objects",
                str(tmp_path / "obj"),
                "--backgrounds",
                str(tmp_path / "bg1"),
                "--backgrounds",
                str(tmp_path / "bg2"),
                "--num-samples",
                "8",
                "--shadow-prob",
                "1",
                "--caption",
                "N.",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    by_clip: dict = {}
    for s in iter_samples(out):
        by_clip.setdefault(s.meta["background"], set()).add(s.meta["shadow"]["direction"])
    assert len(by_clip) == 2 and all(len(d) == 1 for d in by_clip.values()) and len(set.union(*by_clip.values())) == 2


def test_a_reflection_mirrors_the_object_below_its_contact_line(tmp_path):
    from genomni.generators.objectpaste import ground_effect, soft_alpha

    mask = np.zeros((1, 64, 80), bool)
    mask[0, 10:30, 30:42] = True
    pixels = np.zeros((1, 64, 80, 3), np.uint8)
    pixels[0, 10:20] = (255, 0, 0)  # top half red
    pixels[0, 20:30] = (0, 0, 255)  # bottom half blue
    opacity, colour, p = ground_effect(soft_alpha(mask, 0, 0), pixels, "reflection", 0.0, np.random.default_rng(1))
    assert p["kind"] == "reflection" and (opacity[0, :30, 30:42] == 0).all() and (opacity[0, :24] == 0).all()
    assert (opacity[0, 31:49, 31:41] > 0.1).all()
    assert (colour[0, 31:39, 31:41, 2] > 200).all() and (colour[0, 41:49, 31:41, 0] > 200).all()  # blue first, then red


def test_an_object_cut_by_its_source_frame_keeps_the_cut_at_the_same_edge(tmp_path):
    """A square entering from the bottom of its clip (its mask touches the bottom row) is pasted with that cut
    against the background's bottom edge, never mid-frame with a straight cut; one cut by opposite edges is not
    pasted at all."""
    t, h, w = 6, 48, 64
    video = np.full((t, h, w, 3), 90, np.uint8)
    mask = np.zeros((t, h, w), np.uint8)
    mask[:, 30:, 20:34] = 255  # cut by the bottom edge in every frame
    for k in range(t):
        mask[k, 30:, 20 + 2 * k : 34 + 2 * k] = 255
    video[mask > 0] = (200, 30, 30)
    write_video(tmp_path / "obj" / "input", video)
    write_video(tmp_path / "obj" / "masks" / "hand", mask)
    _background(tmp_path / "bg", h=72, w=96)
    out = tmp_path / "ds"
    args = ["generate", "objectpaste", "--objects", str(tmp_path / "obj"), "--backgrounds", str(tmp_path / "bg"), "--out", str(out)]
    args += ["--num-samples", "4", "--scale", "0.8,1.2", "--frames", "4", "--caption", "Noise.", "--no-progress"]
    assert run_cli(args) == 0
    samples = list(iter_samples(out))
    assert len(samples) == 4
    for s in samples:
        removed = s.trimask == 0
        assert s.meta["paste"]["cut_edges"] == ["bottom"]
        assert all(removed[k, -1].any() for k in range(4))  # the cut lies on the background's bottom row
        rows = np.nonzero(removed.any((0, 2)))[0]
        assert rows.max() == 71
    column = np.zeros((t, h, w), np.uint8)
    column[:, :, 28:36] = 255  # top to bottom: no edge of another frame can hold both cuts
    write_video(tmp_path / "obj2" / "input", video)
    write_video(tmp_path / "obj2" / "masks" / "pole", column)
    args2 = ["generate", "objectpaste", "--objects", str(tmp_path / "obj2"), "--backgrounds", str(tmp_path / "bg")]
    args2 += ["--out", str(tmp_path / "ds2"), "--num-samples", "1", "--frames", "4", "--caption", "Noise.", "--no-progress"]
    assert run_cli(args2) == 1
    dropped = read_card(tmp_path / "ds2")["dropped_scenes"]
    assert "cut by opposite edges of its source frame" in dropped[0]["reason"]


def test_data_inspect_summarises_objectpaste_qc(tmp_path):
    """The QC table listed only kubric's figures: objectpaste shards showed an empty one."""
    from genomni.datasets.inspect import summarize

    _object_clip(tmp_path / "obj")
    _background(tmp_path / "bg")
    out = tmp_path / "ds"
    args = ["generate", "objectpaste", "--objects", str(tmp_path / "obj"), "--backgrounds", str(tmp_path / "bg"), "--out", str(out)]
    assert run_cli([*args, "--num-samples", "3", "--frames", "4", "--caption", "Noise.", "--no-progress"]) == 0
    areas = [s.meta["qc"]["mask_area_frac"] for s in iter_samples(out)]
    assert summarize(out).qc["mask_area_frac"] == {"mean": float(np.mean(areas)), "min": min(areas), "max": max(areas)}


def test_pasted_objects_stand_on_the_ground_part_of_the_background(tmp_path):
    """Objects floated in the sky: each pasted object's lowest row now lands below --ground-from of the frame."""
    _object_clip(tmp_path / "obj")
    _background(tmp_path / "bg", h=96, w=128)
    out = tmp_path / "ds"
    args = ["generate", "objectpaste", "--objects", str(tmp_path / "obj"), "--backgrounds", str(tmp_path / "bg"), "--out", str(out)]
    assert run_cli([*args, "--num-samples", "8", "--frames", "4", "--caption", "Noise.", "--no-progress"]) == 0
    for s in iter_samples(out):
        rows = np.nonzero((s.trimask == 0).any((0, 2)))[0]
        assert rows.max() >= 0.55 * 96


def test_a_pasted_shadow_darkens_blue_less_than_red_by_its_recorded_tint(tmp_path):
    """Sunlit shadows are filled by the blue sky (measured on the public examples' real shadows in
    benchmarks/real_shadows.py): on a flat gray floor, each channel's darkening, 1 - input/target, is strength x tint
    of that channel times the same opacity, so the channels' darkenings keep the recorded tint's proportions."""
    _object_clip(tmp_path / "obj")
    write_video(tmp_path / "bg", np.full((6, 48, 64, 3), 200, np.uint8))
    args = ["generate", "objectpaste", "--objects", str(tmp_path / "obj"), "--backgrounds", str(tmp_path / "bg")]
    args += ["--num-samples", "6", "--scale", "1,1", "--shadow-prob", "1", "--caption", "A floor.", "--no-progress"]
    assert run_cli([*args, "--out", str(tmp_path / "ds")]) == 0
    shadows = [s for s in iter_samples(tmp_path / "ds") if s.meta["shadow"] is not None]  # some are cast behind the object
    assert len(shadows) >= 3
    for s in shadows:
        tint = np.array(s.meta["shadow"]["tint"])
        dark = 1 - s.input.astype(float) / s.target.astype(float)  # per channel, 0 where nothing was cast
        red = np.where(s.trimask != 0, dark[..., 0], 0)
        core = red >= 0.6 * red.max()  # the shadow's darkest part: rounding to 8 bits matters least there
        assert red.max() > 0.08 and core.sum() >= 5 and tint[0] == 1 and 0.65 <= tint[2] <= tint[1] <= 1
        share = (dark[core] / dark[core][:, :1]).mean(0)
        assert np.abs(share - tint).max() < 0.03, (share, tint)
    none = [s for s in iter_samples(tmp_path / "ds") if s.meta["shadow"] is None]
    assert all(np.array_equal(s.input[s.trimask != 0], s.target[s.trimask != 0]) for s in none)  # nothing drawn
