"""Object masks: one binarization rule for every reader."""
import numpy as np


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
