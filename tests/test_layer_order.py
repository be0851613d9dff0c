"""Layer order from the masks, against constructed scenes whose true depth order is known (drawn back to front, each
object's mask its visible part), and the public examples' orders seen by eye (kite-walk: the pole in front of the
person; davis_camel: the near camel in front of the far one) in the README."""

import json

import cv2
import numpy as np
import pytest
from conftest import run_cli

from genomni.errors import GenomniError
from genomni.layer_order import layer_order, occlusion_order
from genomni.media import read_video, write_video

T, H, W = 12, 96, 128


def _visible(drawn_back_to_front):
    """Visible masks of (T,H,W) bool amodal shapes drawn back to front: each hides what is behind it."""
    vis = [m.copy() for m in drawn_back_to_front]
    for i in range(len(vis)):
        for j in range(i + 1, len(vis)):
            vis[i] &= ~drawn_back_to_front[j]
    return vis


def _walker():
    """A person-sized ellipse walking right across the frame."""
    m = np.zeros((T, H, W), np.uint8)
    for k in range(T):
        cv2.ellipse(m[k], (20 + 8 * k, 50), (12, 30), 0, 0, 360, 1, -1)
    return m.astype(bool)


def _pole():
    m = np.zeros((T, H, W), bool)
    m[:, :, 60:64] = True
    return m


def _emerging():
    """A small blob that starts hidden behind a big static one and walks out from behind it."""
    big, small = np.zeros((T, H, W), np.uint8), np.zeros((T, H, W), np.uint8)
    for k in range(T):
        cv2.ellipse(big[k], (60, 50), (35, 25), 0, 0, 360, 1, -1)
        cv2.circle(small[k], (60 - 6 * k, 40), 9, 1, -1)
    return big.astype(bool), small.astype(bool)


@pytest.mark.parametrize("given", ["front first", "front last"])
def test_a_thin_occluder_crossing_an_object_goes_on_top(given):
    walker, pole = _walker(), _pole()
    vis_walker, vis_pole = _visible([walker, pole])
    masks, names = (
        (np.stack([vis_pole, vis_walker]), ["pole", "walker"])
        if given == "front first"
        else (np.stack([vis_walker, vis_pole]), ["walker", "pole"])
    )
    result = occlusion_order(masks, names)
    assert result.order == ["walker", "pole"] and result.source == "occlusion"


@pytest.mark.parametrize("given", ["front first", "front last"])
def test_an_object_emerging_from_behind_a_bigger_one_goes_under_it(given):
    big, small = _emerging()
    vis_small, vis_big = _visible([small, big])
    masks, names = (
        (np.stack([vis_big, vis_small]), ["big", "small"]) if given == "front first" else (np.stack([vis_small, vis_big]), ["small", "big"])
    )
    assert occlusion_order(masks, names).order == ["small", "big"]


def test_objects_that_never_meet_keep_the_given_order_and_names_set_it():
    a, b = np.zeros((T, H, W), bool), np.zeros((T, H, W), bool)
    a[:, 10:30, 10:30] = True
    b[:, 60:90, 80:120] = True
    masks = np.stack([b, a])
    assert occlusion_order(masks, ["b", "a"]).order == ["b", "a"]
    assert occlusion_order(masks, ["b", "a"]).source == "given"
    assert layer_order(masks, ["b", "a"], "a,b").order == ["a", "b"]
    assert layer_order(masks, ["b", "a"], "given").order == ["b", "a"]
    with pytest.raises(GenomniError, match="name every object once"):
        layer_order(masks, ["b", "a"], "a,c")


def test_decompose_stacks_by_occlusion_names_the_layers_and_edit_follows(tmp_path, capsys):
    """A pole in front of a walking blob, masks given back to front the wrong way round: decompose puts the pole
    on top, under the names given, says so in decomposition.json, and its recomposition (and edit) match the
    input where the pole crosses the walker only with the pole on top."""
    from genomni.models.presets import build_preset

    walker, pole = _walker(), _pole()
    vis_walker, vis_pole = _visible([walker, pole])
    video = np.full((T, H, W, 3), 120, np.uint8)
    video[vis_walker] = (200, 40, 40)
    video[vis_pole] = (30, 30, 220)
    write_video(tmp_path / "clip.mp4", video, 12.0)
    write_video(tmp_path / "m_pole", vis_pole.astype(np.uint8) * 255)
    write_video(tmp_path / "m_walker", vis_walker.astype(np.uint8) * 255)
    model = build_preset("pixel", tmp_path / "pixel")
    out = tmp_path / "d"
    assert (
        run_cli(
            [
                "decompose",
                str(tmp_path / "clip.mp4"),
                "--mask",
                str(tmp_path / "m_pole"),
                "--mask",
                str(tmp_path / "m_walker"),
                "--names",
                "pole,kiter",
                "--model",
                str(model),
                "--max-side",
                "64",
                "--no-progress",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "decomposition.json").read_text())
    assert report["objects"] == ["pole", "kiter"] and report["layer_order"] == ["kiter", "pole"]
    assert report["layer_order_source"] == "occlusion" and (out / "layers/kiter").is_dir()
    assert run_cli(["edit", str(out), "--out", str(tmp_path / "e.mp4")]) == 0
    crossing = vis_pole & walker
    edited = read_video(tmp_path / "e.mp4")[0]
    assert np.abs(edited[crossing].astype(int) - (30, 30, 220)).mean() < 12  # the pole, not the walker's red
    capsys.readouterr()
    assert (
        run_cli(
            [
                "decompose",
                str(tmp_path / "clip.mp4"),
                "--mask",
                str(tmp_path / "m_pole"),
                "--names",
                "a,b",
                "--model",
                str(model),
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 1
    )
    assert "--names 'a,b': give 1 different names" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
