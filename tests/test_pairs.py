"""Noise-free kubric pairs on constructed renders whose true shadow is known."""

import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from genomni.footage import dilate
from genomni.generators.kubric.pairs import CORE_PX, clean_target, masked_median


def _pair(noise: float, depth: float, seed: int = 0):
    """Two independent noisy 'renders' of one flat floor; the input also has an object and its shadow."""
    rng = np.random.default_rng(seed)
    t, h, w = 3, 64, 96
    floor = np.full((t, h, w, 3), 120.0)
    inp, target = floor + rng.normal(0, noise, floor.shape), floor + rng.normal(0, noise, floor.shape)
    shadow = np.zeros((t, h, w), bool)
    shadow[:, 20:40, 50:80] = True
    obj = np.zeros((t, h, w), bool)
    obj[:, 22:34, 30:42] = True
    inp[shadow] -= depth
    inp[obj] = (200, 30, 30)
    return np.clip(inp, 0, 255).astype(np.uint8), np.clip(target, 0, 255).astype(np.uint8), obj, shadow


@pytest.mark.parametrize("noise, depth, covered", [(3, 4, 0.99), (8, 6, 0.99), (20, 25, 0.99), (8, 0, 0.0)])
def test_the_target_keeps_the_shadow_removal_and_copies_the_input_elsewhere(noise, depth, covered):
    """Over four noise draws: the changed region covers the true shadow, the object's own pixels are the target's,
    and pixels away from the object and its shadow are the input's own (< 0.05% differ by more than 6 levels)."""
    coverage, spurious, worst = [], [], 0
    for seed in range(4):
        inp, target, obj, shadow = _pair(noise, depth, seed)
        clean, region = clean_target(inp, target, obj)
        core = dilate(obj, CORE_PX)
        assert region[obj].all()
        assert np.array_equal(clean[~region], inp[~region]) and np.array_equal(clean[core], target[core])
        far = ~dilate(shadow | obj, 10)
        diff = np.abs(clean.astype(int) - inp).max(-1)
        coverage.append(region[shadow].mean())
        spurious.append((diff[far] > 6).mean())
        worst = max(worst, int(diff[far].max()))
    if depth:
        assert np.mean(coverage) >= covered
    assert np.mean(spurious) < 0.0005, spurious
    if noise <= 3:  # at denoised-render noise nothing far changes at all
        assert worst == 0


def test_masked_median_equals_numpy_nanmedian_over_each_window():
    rng = np.random.default_rng(3)
    diff = rng.normal(0, 9, (11, 13, 3)).astype(np.float32)
    skip = rng.random((11, 13)) < 0.35
    skip[4:7, 4:7] = True  # a pixel whose whole window is skipped gets 0
    got = masked_median(diff, skip)
    for y in range(11):
        for x in range(13):
            win = [diff[j, i] for j in range(y - 1, y + 2) for i in range(x - 1, x + 2) if 0 <= j < 11 and 0 <= i < 13 and not skip[j, i]]
            want = np.median(np.array(win), 0) if win else np.zeros(3)
            assert np.allclose(got[y, x], want), (y, x)


def _isolated(inp: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The benchmark's pair speckle: > 6 levels apart with fewer than 30% of the 5x5 neighbours also so."""
    big = (np.abs(target.astype(int) - inp.astype(int)).max(-1) > 6).astype(np.float64)
    share = np.stack([uniform_filter(f, size=5, mode="constant") for f in big])
    return (big > 0) & ((share * 25 - big) / 24 < 0.3)


def test_the_pair_shares_its_noise_and_keeps_the_shadow_on_a_textured_floor():
    """A checker floor (8-px squares of 70 and 170) under a shadow that halves the light, and a 2-px-wide contact
    shadow line; input and target carry independent heavy-tailed noise (a path tracer's fireflies). The true pair
    difference is known; the rule must follow it better than the target's own render would (isolated speckle, and
    the difference's error) and keep the checker's edges and the thin line inside the shadow."""
    rng = np.random.default_rng(7)
    t, h, w = 2, 64, 64
    yy, xx = np.mgrid[:h, :w]
    floor = np.where(((yy // 8) + (xx // 8)) % 2 == 0, 70.0, 170.0)[None, ..., None].repeat(t, 0).repeat(3, -1)
    light = np.ones((t, h, w, 1))
    light[:, 16:48, 30:60] = 0.5
    light[:, 50:52, 10:40] = 0.7  # a thin contact shadow
    obj = np.zeros((t, h, w), bool)
    obj[:, 20:40, 8:26] = True

    def noisy(img):
        n = rng.normal(0, 3, img.shape) + (rng.random(img.shape[:-1]) < 0.02)[..., None] * rng.normal(0, 40, img.shape)
        return np.clip(np.rint(img + n), 0, 255).astype(np.uint8)

    true_inp = floor * light
    true_inp[obj] = (220, 40, 40)
    inp, target = noisy(true_inp), noisy(floor)
    clean, region = clean_target(inp, target, obj)
    raw = np.where(region[..., None], target, inp)  # the target's own pixels throughout the changed region
    off = ~dilate(obj, CORE_PX)
    true_diff = (floor - np.clip(true_inp, 0, 255)).astype(int)
    err_new = np.abs(clean.astype(int) - inp.astype(int) - true_diff).max(-1)[off & region]
    err_raw = np.abs(raw.astype(int) - inp.astype(int) - true_diff).max(-1)[off & region]
    speck_new, speck_raw = _isolated(inp, clean)[off].mean(), _isolated(inp, raw)[off].mean()
    assert speck_new < speck_raw / 5, (speck_new, speck_raw)
    assert np.median(err_new) < np.median(err_raw) and (err_new > 6).mean() < (err_raw > 6).mean() / 2
    shadow = light[..., 0] < 1
    assert region[shadow].all()
    # the checker's edges inside the shadow: the recovered change steps with the floor (35 levels against 85)
    change = (clean.astype(int) - inp.astype(int)).mean(-1)
    dark, bright = shadow & (floor[..., 0] == 70) & off, shadow & (floor[..., 0] == 170) & off
    assert abs(np.median(change[dark]) - 35) <= 2 and abs(np.median(change[bright]) - 85) <= 2
    line = np.zeros_like(shadow)
    line[:, 50:52, 12:38] = True
    # the 2-px line is kept: two thirds of each window lie on it (the window's order statistic biases it a little low)
    assert 0.85 * 51 <= np.median(change[line & (floor[..., 0] == 170)]) <= 51 + 2


def test_what_moved_in_a_resimulated_target_is_kept_as_rendered():
    inp, target, obj, _ = _pair(4, 10)
    moved = np.zeros_like(obj)
    moved[:, 45:55, 10:20] = True
    target[moved] = (10, 200, 10)  # a kept object that fell elsewhere in the re-simulated target
    clean, region = clean_target(inp, target, obj, own=moved)
    assert region[moved].all() and np.array_equal(clean[moved], target[moved])
