"""`genomni masks --method motion` and the clean-up options, measured on constructed static-camera clips whose
true masks are known (textured background, two objects, one shadow, sensor noise, exposure flicker), and on a
panning clip that must be refused; the clean-up checked against brute-force computations."""

import cv2
import numpy as np
import pytest
from conftest import run_cli

from genomni.errors import GenomniError
from genomni.mask_cleanup import CleanupOptions, clean_masks, drop_specks, fill_holes, grow, smooth_time
from genomni.media import write_video
from genomni.motion_masks import MotionOptions, motion_masks


def static_clip(seed, t=24, h=96, w=128, pan=0.0, noise=2.0, flicker=0.0):
    """(video, truth (2,T,H,W), shadow (T,H,W)): a ball with a shadow on the floor below it crossing left to right, a box sliding
    along the bottom right to left, on a textured wall; camera noise; with `pan` px per frame the camera pans,
    with `flicker` each frame's exposure is off by up to that share."""
    rng = np.random.default_rng(seed)
    big = (h + 64, w + 64 + int(abs(pan) * t) + 2)
    tex = cv2.GaussianBlur(rng.uniform(0, 255, (*big, 3)).astype(np.float32), (0, 0), 2.0)
    tex = np.clip((tex - tex.mean()) * 3 + 130 + np.linspace(-30, 30, big[1])[None, :, None], 20, 235)
    yy, xx = np.mgrid[:h, :w]
    video, truth, shadow = np.empty((t, h, w, 3), np.float32), np.zeros((2, t, h, w), bool), np.zeros((t, h, w), bool)
    ball, box = rng.uniform(150, 230, 3) * [1, 0.3, 0.25], rng.uniform(150, 230, 3) * [0.2, 0.4, 1]
    y0, speed = rng.uniform(30, 45), rng.uniform(3.0, 3.8)
    for k in range(t):
        x0 = int(round(pan * k))
        f = tex[32 : 32 + h, 32 + x0 : 32 + x0 + w].copy()
        ax, ay = 15 + speed * k, y0 + 6 * np.sin(k / 4)
        shadow[k] = ((xx - ax - 7) / 14) ** 2 + ((yy - ay - 16) / 6) ** 2 < 1
        f[shadow[k]] *= 0.55  # the ball's shadow
        a = (xx - ax) ** 2 + (yy - ay) ** 2 < 11**2
        f[a] = ball + 20 * np.sin(xx[a][:, None] / 3.0)
        b = (np.abs(xx - (110 - 3.0 * k)) < 9) & (np.abs(yy - (80 - 0.8 * k)) < 8)
        f[b] = box + 15 * np.cos(yy[b][:, None] / 2.0)
        gain = 1 + flicker * rng.uniform(-1, 1)
        video[k] = f * gain + rng.normal(0, noise, f.shape)
        truth[0, k], truth[1, k] = a, b
    return np.clip(video, 0, 255).round().astype(np.uint8), truth, shadow & ~truth.any(0)


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("seed, flicker", [(11, 0.0), (12, 0.0), (13, 0.15)])
def test_moving_objects_are_found_without_their_shadow(seed, flicker):
    video, truth, shadow = static_clip(seed, flicker=flicker)
    found = motion_masks(video, MotionOptions())
    assert found.names == ["object1", "object2"]  # the ball is larger: named first
    for true, mask in zip(truth, found.masks):
        assert _iou(mask, true) >= 0.9
    assert found.masks.any(0)[shadow].mean() < 0.05  # the shadow is an effect, not the object


@pytest.mark.parametrize("seed", [17, 18])
def test_h264_footage_keeps_its_objects_at_their_half_level_edge(seed):
    """Real footage is H.264: the codec's error against the plate (unseen between its copied still blocks) must
    not read as motion, and its blurred 4:2:0 edges are cut at half contrast."""
    from genomni.media import decode_video, encode_video

    video, truth, shadow = static_clip(seed)
    decoded, _ = decode_video(encode_video(video, 24.0, codec="h264", crf=23))
    found = motion_masks(decoded, MotionOptions())
    assert len(found.names) == 2
    for true, mask in zip(truth, found.masks):
        assert _iou(mask, true) >= 0.85
    assert found.masks.any(0)[shadow].mean() < 0.1  # the ball's edge over its shadow is the codec's blur


def test_a_panning_camera_is_refused_with_its_motion():
    video, _, _ = static_clip(14, pan=1.0)
    with pytest.raises(GenomniError, match=r"needs a static camera: this one moves \d+\.\d+ px > --max-shift 1"):
        motion_masks(video, MotionOptions())


def test_clicks_pick_and_name_tracks_and_edit_adds_one(tmp_path, capsys):
    from genomni.footage_folders import open_footage

    video, truth, _ = static_clip(15)
    write_video(tmp_path / "clip.mkv", video, 24.0)
    ys, xs = np.nonzero(truth[1, 4])
    box_click = f"{xs.mean():.0f},{ys.mean():.0f}"
    out = tmp_path / "fp"
    args = ["masks", str(tmp_path / "clip.mkv"), "--method", "motion", "--no-progress"]
    assert run_cli([*args, "--point", f"box:4:{box_click}", "--out", str(out)]) == 0
    footage = open_footage(out)
    assert footage.names == ["box"] and _iou(footage.masks[0], truth[1]) >= 0.9
    ys, xs = np.nonzero(truth[0, 10])
    edit = ["masks", "--edit", str(out), "--method", "motion", "--no-progress", "--point", f"ball:10:{xs.mean():.0f},{ys.mean():.0f}"]
    assert run_cli([*edit, "--grow", "1"]) == 0
    footage = open_footage(out)
    assert footage.names == ["ball", "box"] and np.array_equal(
        footage.masks[0], grow_track(motion_masks(video, MotionOptions()).masks[0], 1)
    )
    assert run_cli([*args, "--point", "box:4:2,2", "--out", str(tmp_path / "none")]) == 1
    assert "nothing moves there on frame 4" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def grow_track(track, pixels):
    return np.stack([grow(m, pixels) for m in track])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "motion", "--model", "x"], "--method motion uses no model"),
        (["--point", "a:0:1,1"], "--method sam2 needs --model"),
        (["--method", "motion", "--box", "a:0:1,1,5,5"], "positive --point clicks that pick and name"),
        (["--method", "motion", "--grow", "300"], "--grow"),
        (["--method", "motion", "--min-object", "2"], "--min-object"),
    ],
)
def test_motion_options_that_cannot_work_are_one_line(tmp_path, capsys, extra, message):
    video, _, _ = static_clip(16, t=6)
    write_video(tmp_path / "clip.mkv", video, 24.0)
    assert run_cli(["masks", str(tmp_path / "clip.mkv"), *extra, "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "o").exists()


def test_fill_holes_fills_what_the_mask_encloses_only():
    ring = np.zeros((40, 40), np.uint8)
    cv2.circle(ring, (20, 20), 12, 1, thickness=3)
    disc = np.zeros((40, 40), np.uint8)
    cv2.circle(disc, (20, 20), 13, 1, thickness=-1)
    assert np.array_equal(fill_holes(ring > 0), (disc > 0) | (ring > 0))
    cup = np.zeros((40, 40), bool)
    cup[10:30, 10:13] = cup[10:30, 27:30] = cup[27:30, 10:30] = True  # open to the top: nothing enclosed
    assert np.array_equal(fill_holes(cup), cup)


def test_specks_grow_and_smoothing_match_brute_force():
    m = np.zeros((30, 30), bool)
    m[2:4, 2:4] = True  # 4 px
    m[10:16, 10:16] = True  # 36 px
    assert np.array_equal(drop_specks(m, 5), np.pad(np.ones((6, 6), bool), ((10, 14), (10, 14))))
    grown = grow(m, 2)
    distance = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 5)
    assert grown[distance <= 1.5].all() and not grown[distance > 2.9].any()
    assert np.array_equal(grow(grown, -2)[10:16, 10:16], m[10:16, 10:16])
    rng = np.random.default_rng(0)
    track = rng.random((9, 6, 6)) < 0.5
    radius = 2
    brute = np.stack(
        [track[max(0, k - radius) : k + radius + 1].sum(0) * 2 > len(track[max(0, k - radius) : k + radius + 1]) for k in range(9)]
    )
    assert np.array_equal(smooth_time(track, radius), brute)
    opts = CleanupOptions(smooth=1, fill_holes=True, min_area=5, grow=1)
    out = clean_masks(track[None], opts)
    assert out.shape == (1, 9, 6, 6) and out.dtype == bool
    assert np.array_equal(clean_masks(track[None], CleanupOptions()), track[None])  # the defaults change nothing
