import json

import cv2
import numpy as np
import pytest
from conftest import run_cli

from genomni.generators.tripod import camera_shift
from genomni.media import write_video
from genomni.shards import iter_samples, read_card


def _footage(folder, t=8, h=64, w=80, pan=0, seed=0):
    """A textured static background, a square moving right with a darkened shadow below-right of it."""
    rng = np.random.default_rng(seed)
    big = rng.integers(40, 220, (h, w + pan * t, 3), dtype=np.uint8)
    video, masks, bgs = [], [], []
    for k in range(t):
        bg = big[:, pan * k : pan * k + w].copy()
        f = bg.copy()
        m = np.zeros((h, w), np.uint8)
        x = 4 + 4 * k
        f[20:28, x + 3 : x + 11] = (f[20:28, x + 3 : x + 11] * 0.5).astype(np.uint8)  # the shadow (not in the mask)
        m[12:20, x : x + 8] = 255
        f[m > 0] = (230, 40, 40)
        video.append(f)
        masks.append(m)
        bgs.append(bg)
    write_video(folder / "input", np.stack(video))
    write_video(folder / "masks" / "square", np.stack(masks))
    (folder / "caption.txt").write_text("A textured wall.\n")
    return np.stack(video), np.stack(masks) > 0, bgs[0]


def test_tripod_plate_is_the_uncovered_background_and_shadows_stay_in_the_input(tmp_path):
    video, masks, bg = _footage(tmp_path / "clip")
    out = tmp_path / "ds"
    assert run_cli(["generate", "tripod", str(tmp_path / "clip"), "--out", str(out), "--frames", "4", "--no-progress"]) == 0
    samples = list(iter_samples(out))
    assert [s.key for s in samples] == ["tripod-s0000000-c000", "tripod-s0000000-c001"]
    s = samples[0]
    assert (s.target == bg[None]).all()  # every pixel is uncovered in some frame: the plate is exact
    assert set(np.unique(s.trimask)) == {0, 128}
    assert (s.trimask[masks[:4]] == 0).all()
    shadow = np.zeros(masks.shape[1:], bool)
    shadow[20:28, 7:15] = True  # frame 0's shadow, outside the dilated mask
    assert (s.input[0][shadow].astype(int) < s.target[0][shadow].astype(int)).all()
    assert s.meta["qc"]["camera_shift_px"] < 1.0 and s.meta["qc"]["effect_frac"] > 0
    assert s.caption == "A textured wall."
    assert read_card(out)["per_source"] == {"tripod": 2}


def test_a_panning_clip_is_dropped_with_its_measured_shift(tmp_path):
    video, _, _ = _footage(tmp_path / "pan", pan=3)
    assert camera_shift(video) > 10
    out = tmp_path / "ds"
    assert run_cli(["generate", "tripod", str(tmp_path / "pan"), "--out", str(out), "--no-progress"]) == 1  # nothing written: exit 1
    card = read_card(out)
    assert card["samples"] == 0
    reason = card["dropped_scenes"][0]["reason"]
    assert reason.startswith("camera moves: ") and reason.endswith("px > --max-shift 1.0")


def test_never_uncovered_pixels_drop_the_clip(tmp_path):
    folder = tmp_path / "still"
    video, masks, _ = _footage(folder, t=3)
    write_video(folder / "masks" / "square", np.repeat(masks[:1], 3, axis=0).astype(np.uint8) * 255)
    out = tmp_path / "ds"
    assert run_cli(["generate", "tripod", str(folder), "--out", str(out), "--no-progress"]) == 1  # nothing written: exit 1
    assert "pixels have no clean view" in read_card(out)["dropped_scenes"][0]["reason"]
    assert json.loads((out / "dataset.json").read_text())["samples"] == 0


def test_bad_folders_stop_the_run_or_are_skipped_with_their_reason(tmp_path, capsys):
    _footage(tmp_path / "good")
    (tmp_path / "broken").mkdir()
    args = ["generate", "tripod", str(tmp_path / "good"), str(tmp_path / "broken"), "--no-progress"]
    assert run_cli([*args, "--out", str(tmp_path / "a")]) == 1
    assert "broken: not a footage folder" in capsys.readouterr().err
    assert run_cli([*args, "--out", str(tmp_path / "b"), "--skip-bad"]) == 0
    card = read_card(tmp_path / "b")
    assert card["samples"] == 1 and card["dropped_scenes"][0]["reason"].startswith("bad input: ")
    assert "broken: not a footage folder" in card["dropped_scenes"][0]["reason"]


def _textured_clip(pan: float, shadow: bool, t: int = 12, h: int = 120, w: int = 160):
    """A textured background panned `pan` px per frame (sub-pixel), a square moving right, and optionally a
    large moving shadow outside its mask (30% of the frame) that darkens the static background."""
    import cv2

    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.integers(0, 255, (h + 80, w + 80, 3)).astype(np.uint8), (0, 0), 1.5)
    frames, masks = [], []
    for k in range(t):
        f = cv2.warpAffine(big, np.float32([[1, 0, -40 - pan * k], [0, 1, -40]]), (w, h), flags=cv2.INTER_LINEAR)
        m = np.zeros((h, w), bool)
        m[50:70, 20 + 8 * k : 40 + 8 * k] = True
        f[m] = (250, 40, 40)
        if shadow:
            sh = np.zeros((h, w), bool)
            sh[60:120, max(0, 8 * k - 20) : 80 + 8 * k] = True
            sh &= ~m
            f[sh] = (f[sh] * 0.5).astype(np.uint8)
        frames.append(f)
        masks.append(m)
    return np.stack(frames), np.stack(masks)


@pytest.mark.parametrize("pan, shadow", [(0.0, False), (0.0, True), (0.5, False), (0.5, True), (0.25, True)])
def test_camera_motion_is_measured_on_the_background_whatever_the_shadows_do(pan, shadow):
    """Known pans (sub-pixel per frame) are measured to 0.2 px over the clip, with or without a large moving
    shadow; a static camera reads ~0 even with it."""
    video, masks = _textured_clip(pan, shadow)
    true = pan * (len(video) - 1)
    assert abs(camera_shift(video, masks) - true) < 0.2 + 0.03 * true
    assert (camera_shift(video, masks) > 1.0) == (true > 1.0)  # the default --max-shift decides right


def test_the_plate_leaves_out_a_slow_shadow_seen_past_even_once():
    """A slow object (1 px per frame) whose shadow covers most pixels of its path in most frames: the plate keeps
    under 5% of the shadow pixels whose floor is seen at least once (a plain median keeps most), and is exact
    elsewhere (the true background is known)."""
    from genomni.baselines import clean_plate
    from genomni.footage import dilate

    rng = np.random.default_rng(0)
    bg = rng.integers(40, 220, (64, 96, 3), dtype=np.uint8)
    video, masks, shadows = [], [], []
    for k in range(12):
        f, m, sh = bg.copy(), np.zeros((64, 96), bool), np.zeros((64, 96), bool)
        m[12:22, 10 + k : 20 + k] = True
        sh[22:30, 13 + k : 23 + k] = True
        f[sh] = (f[sh] * 0.5).astype(np.uint8)
        f[m] = (230, 40, 40)
        video.append(f)
        masks.append(m)
        shadows.append(sh & ~m)
    video, holes, shadow = np.stack(video), np.stack([dilate(m, 2) for m in masks]), np.stack(shadows).any(0)
    plate, never = clean_plate(video, holes)
    wrong = np.abs(plate.astype(int) - bg).max(-1) > 6
    plain = np.median(np.where(holes[..., None], np.nan, video.astype(float)), axis=0)
    plain_wrong = np.abs(np.nan_to_num(plain) - bg).max(-1) > 6
    seen = (~np.stack(shadows) & ~holes).any(0)  # the floor there is visible in some frame
    assert plain_wrong[shadow & seen].mean() > 0.3 and wrong[shadow & seen].mean() < 0.05
    assert not wrong[~shadow & ~never].any()


def test_never_uncovered_pixels_are_inpainted_not_black_and_sample_plates_follow_lasting_changes(tmp_path):
    """A resting object (never uncovered) with --max-uncovered 1: its pixels are filled from around them. A mark
    drawn on the wall at frame 6 that stays: with --plate sample, the first sample's target is the wall before it
    and the second's the wall with it; the clip plate gives both the same."""
    rng = np.random.default_rng(1)
    wall = cv2.GaussianBlur(rng.integers(90, 160, (48, 64, 3)).astype(np.uint8), (0, 0), 1.5)
    video, masks = [], []
    for k in range(12):
        f = wall.copy()
        if k >= 6:
            f[30:36, 40:56] = (20, 20, 200)  # the lasting mark
        m = np.zeros((48, 64), bool)
        m[6:14, 4 + 2 * k : 12 + 2 * k] = True
        m[36:44, 4:10] = True  # a resting object: never uncovered
        f[m] = (240, 240, 40)
        video.append(f)
        masks.append(m)
    folder = tmp_path / "clip"
    write_video(folder / "input.mkv", np.stack(video))
    write_video(folder / "masks" / "objects", np.stack(masks).astype(np.uint8) * 255)
    (folder / "caption.txt").write_text("A wall.\n")
    base = ["generate", "tripod", str(folder), "--frames", "6", "--max-uncovered", "1", "--dilate", "1", "--no-progress"]
    assert run_cli([*base, "--out", str(tmp_path / "clip_plate")]) == 0
    assert run_cli([*base, "--plate", "sample", "--out", str(tmp_path / "sample_plate")]) == 0
    first, second = list(iter_samples(tmp_path / "sample_plate"))
    resting = np.zeros((48, 64), bool)
    resting[36:44, 4:10] = True
    for s in (first, second):
        assert (s.target[:, resting].astype(int).max(-1) > 60).all()  # filled, not black
        assert np.abs(s.target[0][resting].astype(int) - wall[resting]).mean() < 25
    mark = (slice(30, 36), slice(40, 56))
    assert np.abs(first.target[0][mark].astype(int) - wall[mark]).max() <= 6
    assert (second.target[0][mark] == (20, 20, 200)).all()
    a, b = list(iter_samples(tmp_path / "clip_plate"))
    assert np.array_equal(a.target, b.target)


def _zoom_clip(rate: float, t: int = 12, h: int = 120, w: int = 160):
    """The textured background zoomed about its centre by `rate` per frame (a slow push-in), no objects."""
    rng = np.random.default_rng(2)
    big = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3)).astype(np.uint8), (0, 0), 1.5)
    frames = [
        cv2.warpAffine(
            big, cv2.getRotationMatrix2D((w / 2, h / 2), 0, (1 + rate) ** k), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        for k in range(t)
    ]
    return np.stack(frames)


@pytest.mark.parametrize("pan", [0.5, 1.0, 3.0])
def test_pans_of_half_a_pixel_per_frame_or_more_and_a_slow_zoom_are_refused(pan):
    video, masks = _textured_clip(pan, shadow=True)
    assert camera_shift(video, masks) > 1.0
    zoom = _zoom_clip(0.002)  # 0.2% per frame: 2.2% over the clip, about 1.8 px at the corners
    assert camera_shift(zoom) > 1.0 and camera_shift(_zoom_clip(0.0)) < 0.2


def test_stabilize_aligns_a_panning_clip_to_its_first_frame_and_crops(tmp_path):
    """A 1 px/frame pan with a moving object and shadow: dropped by default; with --stabilize, the samples are the
    clip aligned to frame 0 and cropped to what every frame shows, and the plate is the true background there."""
    video, masks = _textured_clip(1.0, shadow=True)
    folder = tmp_path / "pan"
    write_video(folder / "input.mkv", video)
    write_video(folder / "masks" / "square", masks.astype(np.uint8) * 255)
    (folder / "caption.txt").write_text("Noise.\n")
    assert run_cli(["generate", "tripod", str(folder), "--out", str(tmp_path / "a"), "--no-progress"]) == 1  # nothing written: exit 1
    assert read_card(tmp_path / "a")["samples"] == 0
    assert run_cli(["generate", "tripod", str(folder), "--stabilize", "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    (s,) = list(iter_samples(tmp_path / "b"))
    info = s.meta["stabilized"]
    y0, y1, x0, x1 = info["crop"]
    assert info["camera_shift_px"] > 10 and info["residual_shift_px"] < 1.0
    assert s.input.shape[1:3] == (y1 - y0, x1 - x0) and (x1 - x0) <= 160 - 11 and (x1 - x0) % 2 == 0
    truth = video[0][y0:y1, x0:x1].astype(int)  # frame 0 is the reference: its background is the truth
    clean = ~masks.any(0)[y0:y1, x0:x1]
    sh = np.zeros(masks.shape[1:], bool)
    sh[60:120] = True  # rows the moving shadow ever darkens
    far = clean & ~sh[y0:y1, x0:x1]
    assert np.abs(s.target[0].astype(int) - truth)[far].mean() < 3


def test_camera_motion_augmentation_moves_input_target_and_trimask_together(tmp_path):
    from genomni.generators.tripod import apply_camera, camera_move

    _footage(tmp_path / "clip", t=8)
    base = ["generate", "tripod", str(tmp_path / "clip"), "--no-progress"]
    assert run_cli([*base, "--out", str(tmp_path / "still")]) == 0
    assert run_cli([*base, "--camera-motion-prob", "1", "--seed", "4", "--out", str(tmp_path / "moving")]) == 0
    (still,) = list(iter_samples(tmp_path / "still"))
    (moving,) = list(iter_samples(tmp_path / "moving"))
    move = moving.meta["camera_move"]
    assert still.meta["camera_move"] is None and move["start"] != move["end"]
    assert np.array_equal(moving.input, apply_camera(move, still.input))
    assert np.array_equal(moving.target, apply_camera(move, still.target))
    assert np.array_equal(moving.trimask, apply_camera(move, still.trimask, nearest=True))
    assert set(np.unique(moving.trimask)) <= {0, 128}
    assert not np.array_equal(moving.target[0], moving.target[-1])  # the camera moves: the plate does too
    again = camera_move(np.random.default_rng(0), 8, 64, 80)
    assert again == camera_move(np.random.default_rng(0), 8, 64, 80) and 0.6 <= again["end"][0] <= 0.95


def test_a_background_without_texture_is_not_measured_as_a_camera_move(tmp_path):
    """A smooth wall (mean gradient 0.4 levels/px) gives trackers nothing: the clip is dropped as unmeasurable,
    not with an invented 8 px pan."""
    rng = np.random.default_rng(1)
    wall = cv2.GaussianBlur(rng.integers(90, 160, (48, 64, 3)).astype(np.uint8), (0, 0), 3)
    video, masks = [], []
    for k in range(8):
        f, m = wall.copy(), np.zeros((48, 64), bool)
        m[6:14, 4 + 3 * k : 12 + 3 * k] = True
        f[m] = (240, 240, 40)
        video.append(f)
        masks.append(m)
    assert camera_shift(np.stack(video), np.stack(masks)) == float("inf")
    folder = tmp_path / "flat"
    write_video(folder / "input.mkv", np.stack(video))
    write_video(folder / "masks" / "o", np.stack(masks).astype(np.uint8) * 255)
    (folder / "caption.txt").write_text("A wall.\n")
    assert run_cli(["generate", "tripod", str(folder), "--out", str(tmp_path / "o"), "--no-progress"]) == 1  # nothing written: exit 1
    assert read_card(tmp_path / "o")["dropped_scenes"][0]["reason"].startswith("camera motion cannot be measured")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_fixed_camera_with_jitter_and_flicker_reads_its_jitter_not_a_drift(seed):
    """A constructed old-film clip: a textured background shifted by a random +-1.5 px each frame (no drift), with
    +-10% flicker and grain. The true largest shift from the first frame is known; chained frame-to-frame
    estimates summed their errors into 5-10 px (the real animator-draw clip read 8.8 px), measuring each frame
    against the first with brightness matched reads the truth within 0.3 px."""
    rng = np.random.default_rng(seed)
    h, w, frames = 144, 256, 48
    base = cv2.GaussianBlur(rng.integers(0, 255, (2 * h, 2 * w, 3)).astype(np.float32), (0, 0), 3)
    base = cv2.normalize(base, None, 0, 255, cv2.NORM_MINMAX)
    video, offsets = [], rng.uniform(-1.5, 1.5, (frames, 2))
    for dx, dy in offsets:
        frame = cv2.warpAffine(base, np.float32([[1, 0, dx - w / 2], [0, 1, dy - h / 2]]), (w, h), flags=cv2.INTER_LINEAR)
        frame = frame * rng.uniform(0.9, 1.1) + rng.normal(0, 6, frame.shape)
        video.append(np.clip(frame, 0, 255).astype(np.uint8))
    truth = float(np.hypot(*(offsets - offsets[0]).T).max())
    assert abs(camera_shift(np.stack(video)) - truth) < 0.3


def test_a_sample_whose_target_differs_from_its_input_on_much_of_the_frame_is_dropped(tmp_path):
    """The light changes (every pixel 40 levels brighter from frame 6 of 8): one plate cannot match both lights, so
    targets differ from their inputs on much of the frame. Such samples are dropped with their figure (here all:
    the run writes nothing and says why); a forced run let them through with no QC flag."""
    video, _, _ = _footage(tmp_path / "clip")
    video = video.astype(np.int16)
    video[6:] += 40
    write_video(tmp_path / "clip" / "input", np.clip(video, 0, 255).astype(np.uint8))
    args = ["generate", "tripod", str(tmp_path / "clip"), "--frames", "4", "--no-progress"]
    assert run_cli([*args, "--out", str(tmp_path / "ds")]) == 1
    reason = read_card(tmp_path / "ds")["dropped_scenes"][0]["reason"]
    assert "sample 1 (frames 4-7): target differs from input on" in reason and "> --max-effect 0.3" in reason
    assert run_cli([*args, "--max-effect", "1", "--out", str(tmp_path / "all")]) == 0
    effects = [s.meta["qc"]["effect_frac"] for s in iter_samples(tmp_path / "all")]
    assert len(effects) == 2 and min(effects) > 0.3


def test_the_plate_made_in_bands_of_rows_is_the_plate_made_whole(monkeypatch):
    """Memory: the plate is made in bands of rows (a 200-frame 640x384 clip peaked at 5.3 GB whole, 1.4 GB in
    bands); each band reads a halo as far as the rounds' blurs reach, so even one-row bands give the same plate."""
    import genomni.baselines as baselines

    rng = np.random.default_rng(1)
    t, h, w = 12, 70, 90
    video = rng.integers(40, 220, (1, h, w, 3)).repeat(t, 0).astype(np.int16)
    holes = np.zeros((t, h, w), bool)
    for k in range(t):
        holes[k, 10 + 3 * k : 25 + 3 * k, 20:40] = True
        video[k, 25 + 3 * k : 40 + 3 * k, 30:55] //= 2  # the square's shadow below it
    video = np.clip(video + rng.normal(0, 3, video.shape), 0, 255).astype(np.uint8)
    whole, never = baselines.clean_plate(video, holes)
    monkeypatch.setattr(baselines, "STRIP_BYTES", 1)
    banded, never_banded = baselines.clean_plate(video, holes)
    assert np.array_equal(whole, banded) and np.array_equal(never, never_banded)


def _resting_and_moving(folder, t=8, h=64, w=80):
    """A textured floor; square A rests at the left for the whole clip with its shadow beside it (never seen clean),
    square B crosses the frame with its own shadow (seen clean before and after). Returns input and the true floor."""
    rng = np.random.default_rng(3)
    floor = rng.integers(60, 200, (h, w, 3), dtype=np.uint8)
    video, a, b = [], np.zeros((t, h, w), np.uint8), np.zeros((t, h, w), np.uint8)
    for k in range(t):
        f = floor.copy()
        f[40:46, 10:16] = (f[40:46, 10:16] * 0.5).astype(np.uint8)  # A's shadow, below it, within reach, every frame
        a[k, 32:40, 8:16] = 255
        x = 24 + 6 * k
        f[18:24, x + 2 : x + 10] = (f[18:24, x + 2 : x + 10] * 0.5).astype(np.uint8)
        b[k, 10:18, x : x + 8] = 255
        f[a[k] > 0] = (230, 40, 40)
        f[b[k] > 0] = (40, 40, 230)
        video.append(f)
    write_video(folder / "input", np.stack(video))
    write_video(folder / "masks" / "a", a)
    write_video(folder / "masks" / "b", b)
    (folder / "caption.txt").write_text("A textured floor.\n")
    return np.stack(video), floor


def test_a_resting_objects_shadow_has_no_clean_view_and_is_filled_not_kept(tmp_path):
    """The floor under A's shadow is never seen: with --effect-reach 0 (the old rule) the target keeps the shadow;
    by default those pixels count as having no clean view: dropped at --max-uncovered 0, filled (Telea) above it,
    or taken from a `genomni remove` output given as --fill (here the true floor, so the target is exact there)."""
    video, floor = _resting_and_moving(tmp_path / "foot" / "clip")
    shadow = (slice(42, 46), slice(10, 16))  # outside A's mask grown by --dilate 2
    args = ["generate", "tripod", str(tmp_path / "foot" / "clip"), "--no-progress"]
    assert run_cli([*args, "--out", str(tmp_path / "d0")]) == 1
    assert "no clean view" in read_card(tmp_path / "d0")["dropped_scenes"][0]["reason"]

    def target(out, *extra):
        assert run_cli([*args, "--out", str(tmp_path / out), "--max-uncovered", "0.3", *extra]) == 0
        (sample,) = iter_samples(tmp_path / out)
        return sample

    old = target("d1", "--effect-reach", "0").target[0][shadow].astype(float)
    assert np.abs(old - floor[shadow] * 0.5).max() <= 1  # the shadow stayed in the target
    telea = target("d2")
    bias = telea.target[0][shadow].mean() - floor[shadow].mean()  # an inpainting cannot redraw noise, only its level
    assert abs(bias) < 15 and old.mean() - floor[shadow].mean() < -50  # filled from the lit floor around, not darkened
    assert telea.meta["fill"]["by"].startswith("telea") and telea.meta["qc"]["no_clean_view_frac"] > 0

    fills = tmp_path / "fills" / "clip"
    write_video(fills / "background.mkv", np.repeat(floor[None], len(video), 0))
    exact = target("d3", "--fill", str(tmp_path / "fills"))
    assert np.array_equal(exact.target[:, shadow[0], shadow[1]], np.repeat(floor[None][:, shadow[0], shadow[1]], 8, 0))
    assert exact.meta["fill"]["by"] == f"genomni remove output {tmp_path / 'fills'}/clip"
    write_video(fills / "background.mkv", np.repeat(floor[None], 3, 0))
    assert run_cli([*args, "--out", str(tmp_path / "d4"), "--max-uncovered", "0.3", "--fill", str(tmp_path / "fills")]) == 1


def test_a_long_clip_says_where_it_stands_inside_the_clip(tmp_path):
    """The run's bar shows the clean plate's rows and the clip's samples as they are made (one worker: the scene runs
    in the process that draws the bar)."""
    from genomni.generators.run import RunOptions
    from genomni.generators.tripod import TripodConfig, run_tripod
    from genomni.progress import reporting

    _footage(tmp_path / "clip")
    seen: list[str] = []
    with reporting(lambda what, done, total: seen.append(what)):
        run_tripod(TripodConfig(inputs=[str(tmp_path / "clip")], frames=4), RunOptions(tmp_path / "ds", progress=False, workers=1))
    assert any(w.endswith("(clean plate: rows 64/64)") for w in seen), seen
    assert [w for w in seen if "sample" in w] == ["tripod (clip: sample 1/2)", "tripod (clip: sample 2/2)"]
    assert seen[-1] == "tripod"
