import numpy as np
from conftest import run_cli

from genomni.media import write_video
from genomni.shards import iter_samples, read_card


def _object_clip(folder, t=6, h=48, w=64):
    """A gray clip with a red square moving right; its mask."""
    video = np.full((t, h, w, 3), 90, np.uint8)
    mask = np.zeros((t, h, w), np.uint8)
    for k in range(t):
        mask[k, 10:22, 5 + 3 * k:17 + 3 * k] = 255
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
    src, smask = _object_clip(tmp_path / "obj")
    bg = _background(tmp_path / "bg")
    out = tmp_path / "ds"
    args = ["generate", "objectpaste", "--objects", str(tmp_path / "obj"), "--backgrounds", str(tmp_path / "bg"),
            "--out", str(out), "--num-samples", "3", "--scale", "1,1", "--flip-prob", "0", "--frames", "4",
            "--caption", "Noise.", "--no-progress"]
    assert run_cli(args) == 0
    samples = list(iter_samples(out))
    assert len(samples) == 3
    for s in samples:
        p = s.meta["paste"]
        oy, ox = p["offset"]
        t0, b0 = p["time_offset"], s.meta["background_start"]
        assert p["scale"] == 1.0 and not p["flip"] and s.meta["shadow"] is None
        assert np.array_equal(s.target, bg[b0:b0 + 4])
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
    base = ["generate", "objectpaste", "--objects", str(tmp_path / "obj"), "--backgrounds", str(tmp_path / "bg"),
            "--num-samples", "2", "--scale", "1,1", "--keep-prob", "1", "--caption", "Noise.", "--no-progress"]
    assert run_cli([*base, "--out", str(tmp_path / "shadow"), "--shadow-prob", "1"]) == 0
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
    assert run_cli(["generate", "objectpaste", "--objects", str(kubric_dir), "--backgrounds", str(tmp_path / "bg"),
                    "--out", str(out), "--num-samples", "2", "--min-area", "0", "--caption", "Noise.", "--no-progress"]) == 0
    s = next(iter_samples(out))
    assert s.meta["object"].startswith(f"{kubric_dir.name}/kubric-s") and (s.trimask == 0).any()
    assert run_cli(["generate", "objectpaste", "--objects", str(kubric_dir), "--backgrounds", str(tmp_path / "bg"),
                    "--out", str(tmp_path / "none"), "--num-samples", "1", "--min-area", "0.9", "--max-area", "1",
                    "--caption", "Noise.", "--no-progress"]) == 0
    reason = read_card(tmp_path / "none")["dropped_scenes"][0]["reason"]
    assert "mask area" in reason and "outside [0.9, 1.0]" in reason
