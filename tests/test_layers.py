import json

import numpy as np
from conftest import run_cli

from genomni.layers import write_rgba_folder
from genomni.media import write_video
from genomni.shards import iter_samples


def _decomposition(root, t=3, h=12, w=16):
    """Gray background; layer 'a': an opaque red 2x2 object with a half-transparent black shadow; layer 'b': blue 3x3."""
    write_video(root / "background", np.full((t, h, w, 3), 100, np.uint8))
    a = np.zeros((t, h, w, 4), np.uint8)
    b = np.zeros((t, h, w, 4), np.uint8)
    a[:, 2:4, 2:4] = (255, 0, 0, 255)
    a[:, 4:6, 2:6] = (0, 0, 0, 128)  # the shadow lives in the layer
    b[:, 6:9, 8:11] = (0, 0, 255, 255)
    write_rgba_folder(root / "layers" / "a", a)
    write_rgba_folder(root / "layers" / "b", b)
    (root / "decomposition.json").write_text(json.dumps({"layer_order": ["a", "b"], "fps": 12.0}))
    (root / "caption.txt").write_text("A gray wall.\n")


def test_dropping_a_layer_removes_its_effects_and_marks_the_trimask(tmp_path):
    _decomposition(tmp_path / "dec")
    out = tmp_path / "ds"
    assert run_cli(["generate", "layers", str(tmp_path / "dec"), "--out", str(out), "--no-progress"]) == 0
    samples = {s.key: s for s in iter_samples(out)}
    assert sorted(samples) == ["layers-s0000000-all", "layers-s0000000-l00", "layers-s0000000-l01"]
    s = samples["layers-s0000000-l00"]  # drop 'a'
    assert (s.input[0, 2, 2] == (255, 0, 0)).all() and (s.input[0, 4, 4] == 50).all()  # shadow darkens 100 -> 50
    assert (s.target[0, 2, 2] == 100).all() and (s.target[0, 4, 4] == 100).all()  # object and shadow gone
    assert (s.target[0, 7, 9] == (0, 0, 255)).all()  # 'b' stays
    assert s.trimask[0, 2, 2] == 0 and s.trimask[0, 4, 4] == 128 and s.trimask[0, 7, 9] == 255
    assert s.meta["fps"] == 12.0 and s.meta["dropped"] == ["a"] and s.caption == "A gray wall."
    assert s.meta["qc"]["effect_frac"] > 0
    every = samples["layers-s0000000-all"]
    assert (every.target == 100).all() and set(np.unique(every.trimask)) == {0, 128}
