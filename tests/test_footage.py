"""Object masks: one binarization rule for every reader."""

import numpy as np
import pytest


def test_mask_values_above_127_are_the_object_and_a_soft_mask_is_warned_about(caplog):
    from genomni.footage import binarize_mask

    hard = np.zeros((2, 8, 8), np.uint8)
    hard[:, 2:5, 2:5] = 255
    hard[:, 0, 0] = 240  # lossless-looking: extremes only
    assert binarize_mask(hard, "hard").sum() == 2 * (9 + 1) and not caplog.records
    soft = hard.copy()
    soft[:, 2:5, 2:5] = 127  # the square just below the threshold, as a soft mask's values
    with caplog.at_level("WARNING"):
        got = binarize_mask(soft, "soft.mp4")
    assert got.sum() == 2 and "soft.mp4: 90% of the mask's nonzero pixels lie between 17 and 238" in caplog.text


@pytest.mark.parametrize("kind", ["rgba cutout", "8-bit labels", "16-bit labels"])
def test_masks_said_in_alpha_or_as_labels_are_read_as_the_object(kind, tmp_path):
    """An RGBA cutout with the object only in alpha (white RGB) was a full-frame mask, a 16-bit 0/1 label mask
    'empty': both mean the object where alpha / the label is set."""
    import cv2

    from genomni.footage import read_mask_track

    truth = np.zeros((3, 12, 16), bool)
    truth[:, 3:8, 4:10] = True
    folder = tmp_path / "m"
    folder.mkdir()
    for k, t in enumerate(truth):
        if kind == "rgba cutout":
            img = np.dstack([np.full((12, 16, 3), 255, np.uint8), t.astype(np.uint8) * 255])
        elif kind == "8-bit labels":
            img = t.astype(np.uint8)
        else:
            img = t.astype(np.uint16)
        cv2.imwrite(str(folder / f"{k:05d}.png"), img)
    masks, _ = read_mask_track(folder)
    assert np.array_equal(masks, truth)
