import numpy as np
import pytest

from genomni import trimask as tm
from genomni.errors import GenomniError


def test_validate_accepts_three_values_and_rejects_others():
    ok = np.array([[[0, 128, 255]]], np.uint8)
    assert tm.validate(ok) is ok
    with pytest.raises(GenomniError, match="1 pixels hold values other than 0/128/255 \\(found 127\\)"):
        tm.validate(np.array([[[0, 127, 255]]], np.uint8))
    with pytest.raises(GenomniError, match="dtype must be uint8"):
        tm.validate(ok.astype(np.float32))
    with pytest.raises(GenomniError, match="shape must be"):
        tm.validate(ok[0])


def test_from_instances_marks_remove_keep_background():
    inst = np.array([[[0, 1, 2, 3]]], np.uint8)
    out = tm.from_instances(inst, remove=[1, 3], keep=[2])
    assert out.tolist() == [[[128, 0, 255, 0]]]
    out = tm.from_instances(inst, remove=[2])
    assert out.tolist() == [[[128, 128, 0, 128]]]
    with pytest.raises(GenomniError, match="both removed and kept"):
        tm.from_instances(inst, remove=[1], keep=[1])
    with pytest.raises(GenomniError, match="background"):
        tm.from_instances(inst, remove=[0])


def test_float_levels_and_explicit_quantize():
    t = np.array([[[0, 128, 255]]], np.uint8)
    assert tm.to_float(t).tolist() == [[[0.0, 0.5, 1.0]]]
    noisy = np.array([[[3, 60, 70, 125, 200, 191, 192]]], np.uint8)
    assert tm.quantize(noisy).tolist() == [[[0, 0, 128, 128, 255, 128, 255]]]


def test_rims_join_their_object_removed_first_kept_into_what_is_left():
    from genomni import trimask as tm

    ids = np.zeros((1, 7, 9), np.uint8)
    ids[0, 3, 2] = 1  # removed, a single pixel
    ids[0, 3, 5:7] = 2  # kept, two pixels; its rim meets the removed rim at column 3..4
    t = tm.with_rims(tm.from_instances(ids, remove=[1], keep=[2]))
    assert (t[0, 2:5, 1:4] == 0).all()  # the removed pixel and its 3x3 rim
    assert (t[0, 2:5, 4:8] == 255).all()  # the kept pixels and their rim, where it is still background
    assert (t[0, 0] == 128).all() and (t[0, :, 0] == 128).all() and np.array_equal(tm.validate(t), t)
