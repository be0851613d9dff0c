"""The coherent-difference tools (`genomni.effects`) against constructed differences whose answer is known."""

import cv2
import numpy as np

from genomni.effects import denoised_difference, layer_support, noise_std


def _reflection(h=64, w=64) -> np.ndarray:
    """A clean (H,W,3) difference: a sharp-edged textured patch (a reflection) and a smooth shadow, elsewhere 0."""
    rng = np.random.default_rng(1)
    d = np.zeros((h, w, 3), np.float32)
    d[10:30, 8:28] = rng.uniform(20, 60, (20, 20, 3))  # textured, sharp edges: must not be smoothed away
    shadow = np.zeros((h, w), np.float32)
    cv2.ellipse(shadow, (44, 44), (12, 6), 0, 0, 360, -40.0, -1)
    d += cv2.GaussianBlur(shadow, (0, 0), 2)[..., None]
    return d


def test_noise_std_measures_the_noise_not_the_effects():
    d = _reflection()
    noise = np.random.default_rng(2).normal(0, 4.0, d.shape).astype(np.float32)
    assert np.allclose(noise_std(noise), 4.0, rtol=0.05)
    # a textured effect on a tenth of the frame raises the median a little (by 12% here), never to its own size
    assert np.allclose(noise_std(d + noise), 4.0, rtol=0.16)
    assert np.all(noise_std(d) < 0.5)
    big = np.zeros(d.shape[:2], bool)
    big[:, :40] = True  # an object over most of the frame, its own change far from noise
    d_big = np.where(big[..., None], np.random.default_rng(6).uniform(-80, 80, d.shape), 0).astype(np.float32)
    assert np.all(noise_std(d_big + noise) > 8.0)  # counted as noise it would swamp the estimate
    assert np.allclose(noise_std(d_big + noise, big), 4.0, rtol=0.1)


def test_denoised_difference_leaves_a_clean_difference_and_shrinks_noise():
    d = _reflection()
    none = np.zeros(d.shape[:2], bool)
    assert np.abs(denoised_difference(d, none) - d).max() < 1e-3  # noise-free: unchanged, edges and texture too
    noisy = d + np.random.default_rng(3).normal(0, 4.0, d.shape).astype(np.float32)
    out = denoised_difference(noisy, none)
    flat = np.abs(d).max(-1) == 0
    assert np.sqrt((out[flat] ** 2).mean()) < 0.5 * 4.0  # noise where nothing changed: well under half
    patch = np.s_[12:28, 10:26]
    assert np.abs(out[patch] - d[patch]).mean() < np.abs(noisy[patch] - d[patch]).mean() + 0.5  # texture kept


def test_denoised_difference_keeps_an_excluded_object_out_of_its_neighbours():
    d = np.zeros((32, 32, 3), np.float32)
    obj = np.zeros((32, 32), bool)
    obj[8:16, 8:16] = True
    d[obj] = 200.0
    noisy = d + np.random.default_rng(4).normal(0, 3.0, d.shape).astype(np.float32)
    out = denoised_difference(noisy, obj)
    ring = (cv2.dilate(obj.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & ~obj
    assert np.abs(out[ring]).mean() < 3.0  # with the object in the statistics the ring would be pulled up by ~50


def test_layer_support_is_the_object_its_rim_and_its_coherent_effect():
    t, h, w = 2, 48, 48
    below = np.full((t, h, w, 3), 120, np.uint8)
    above = below.copy()
    obj = np.zeros((t, h, w), bool)
    obj[:, 10:18, 10:18] = True
    above[obj] = (250, 20, 20)
    above[:, 30:40, 10:30] -= 40  # a hard shadow
    noise = np.random.default_rng(5).normal(0, 3.0, above.shape)
    above = np.clip(above + noise, 0, 255).astype(np.uint8)
    sup = layer_support(below, above, obj)
    assert sup[:, 10:18, 10:18].all() and sup[:, 8:20, 8:20].all()  # the object, its 2 px rim (and 1 px more)
    assert sup[:, 30:40, 10:30].all()  # the shadow
    allowed = np.zeros_like(sup)
    allowed[:, 5:23, 5:23] = True  # the object grown by a few px
    allowed[:, 25:45, 5:35] = True  # the shadow grown by the smoothing's reach
    assert not (sup & ~allowed).any()  # noise alone is never support
