import numpy as np
import pytest
import torch

from genomni.datasets.clips import Augment, ClipConfig, apply, draw
from genomni.datasets.index import HFIndex, ShardIndex
from genomni.datasets.loader import ClipDataset, make_loader, parse_mix
from genomni.errors import GenomniError
from genomni.sample import Sample
from genomni.shards import iter_samples, load_hf


def _block_sample(t=6, h=16, w=24, seed=0):
    """A sample of 2x2-constant blocks whose input, target and trimask encode the same cell ids."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 3, size=(t, h // 2, w // 2))
    tri = np.array([0, 128, 255], np.uint8)[cells].repeat(2, 1).repeat(2, 2)
    inp = np.stack([tri, np.full_like(tri, 7), (np.arange(t, dtype=np.uint8) * 10)[:, None, None] + np.zeros_like(tri)], -1)
    target = inp.copy()
    target[..., 1] = 9
    return Sample("blocks", inp, target, tri, "c", {"source": "s"})


def test_crop_flip_reverse_move_all_three_streams_identically():
    s = _block_sample()
    cfg = ClipConfig(frames=3, height=8, width=12, stride=2)
    aug = Augment(start=1, flip=True, reverse=True, crop=(4, 6, 8, 12))  # no resize: exact pixel positions
    inp, tgt, tri = apply(s, cfg, aug)
    idx = [5, 3, 1]
    expect = s.input[idx, 4:12, 6:18][:, :, ::-1]
    assert np.array_equal(inp, expect)
    assert np.array_equal(tgt[..., 0], expect[..., 0]) and (tgt[..., 1] == 9).all()
    assert np.array_equal(tri, s.trimask[idx, 4:12, 6:18][:, :, ::-1])
    assert list(inp[:, 0, 0, 2]) == [50, 30, 10]  # frame ids: reversed, stride 2


def test_resized_crop_keeps_trimask_three_valued_and_aligned():
    s = _block_sample()
    cfg = ClipConfig(frames=2, height=4, width=6)
    inp, tgt, tri = apply(s, cfg, Augment(0, False, False, (2, 4, 8, 12)))  # 2x down on 2x2 blocks: area == nearest
    assert set(np.unique(tri)) <= {0, 128, 255}
    assert np.array_equal(inp[..., 0], tri) and np.array_equal(tgt[..., 0], tri)
    for seed in range(20):  # random draws with resizing: the trimask never gains new values
        cfg = ClipConfig(frames=3, height=10, width=14, crop_min=0.4, hflip=0.5, reverse=0.5)
        aug = draw(cfg, 6, 16, 24, np.random.default_rng(seed))
        _, _, tri = apply(s, cfg, aug)
        assert tri.shape == (3, 10, 14) and set(np.unique(tri)) <= {0, 128, 255}


def test_too_short_samples_fail_clearly():
    with pytest.raises(GenomniError, match="needs 9 source frames, the sample has 6"):
        draw(ClipConfig(frames=5, stride=2), 6, 16, 16, np.random.default_rng(0))


class _Groups:
    """An index with two sources of known sizes (only what the sampler reads)."""

    entries = []

    def by_source(self):
        return {"kubric": list(range(100)), "tripod": list(range(100, 110))}

    def __len__(self):
        return 110


def test_mixing_proportions_match_the_weights():
    ds = ClipDataset(_Groups(), ClipConfig(), "kubric=0.2,tripod=0.8", seed=1)
    draws = [ds.choose(step, slot) for step in range(2500) for slot in range(2)]
    frac = np.mean([src == "tripod" for src, _, _ in draws])
    assert abs(frac - 0.8) < 0.02
    assert all((i >= 100) == (src == "tripod") for src, i, _ in draws)
    assert len({i for src, i, _ in draws if src == "tripod"}) == 10  # every tripod clip is reached
    natural = ClipDataset(_Groups(), ClipConfig(), None, seed=1).weights
    assert natural == pytest.approx({"kubric": 100 / 110, "tripod": 10 / 110})


@pytest.mark.parametrize(
    "spec, message",
    [
        ("kubric=1,water=2", r"source\(s\) water that the data does not have"),
        ("kubric", "'kubric' is not SOURCE=WEIGHT"),
        ("kubric=x", "'kubric=x' is not SOURCE=WEIGHT"),
        ("kubric=0,tripod=0", "not all zero"),
    ],
)
def test_bad_mix_specs(spec, message):
    with pytest.raises(GenomniError, match=message):
        parse_mix(spec, _Groups().by_source())


def test_index_reads_what_webdataset_reads(kubric_dir):
    index = ShardIndex([kubric_dir])
    streamed = list(iter_samples(kubric_dir))
    assert len(index) == len(streamed)
    for i in (0, len(streamed) - 1):
        s = index.read(i)
        assert s.key == streamed[i].key and np.array_equal(s.input, streamed[i].input)
        assert np.array_equal(s.trimask, streamed[i].trimask) and s.caption == streamed[i].caption


def test_hf_index_reads_the_same_samples(kubric_dir):
    hf = HFIndex(load_hf(kubric_dir))
    by_key = {s.key: s for s in iter_samples(kubric_dir)}
    assert len(hf) == len(by_key) and hf.by_source() == {"kubric": list(range(len(by_key)))}
    s = hf.read(1)
    assert np.array_equal(s.target, by_key[s.key].target) and np.array_equal(s.trimask, by_key[s.key].trimask)


def test_batches_depend_only_on_seed_and_position(kubric_dir):
    ds = ClipDataset(ShardIndex([kubric_dir]), ClipConfig(frames=3, height=32, width=32, crop_min=0.6), seed=5)
    one = list(make_loader(ds, 2, start=0, stop=4, workers=0))
    two = list(make_loader(ds, 2, start=0, stop=4, workers=2))
    resumed = list(make_loader(ds, 2, start=2, stop=4, workers=0))
    for a, b in zip(one, two):
        assert a["key"] == b["key"] and torch.equal(a["input"], b["input"]) and torch.equal(a["trimask"], b["trimask"])
    assert [r["key"] for r in resumed] == [b["key"] for b in one[2:]]
    assert torch.equal(resumed[0]["target"], one[2]["target"])
    b = one[0]
    assert b["input"].shape == (2, 3, 3, 32, 32) and b["trimask"].shape == (2, 1, 3, 32, 32)
    assert set(torch.unique(b["trimask"]).tolist()) <= {0.0, 0.5, 1.0}
    assert b["input"].min() >= -1 and b["input"].max() <= 1
    rank1 = next(iter(make_loader(ds, 2, start=0, stop=1, rank=1, world=2)))
    assert rank1["key"] == [ds[(0, 2)]["key"], ds[(0, 3)]["key"]]  # rank 1 takes slots 2-3 of the global batch


def test_shard_missing_members_is_a_clear_error(tmp_path):
    import webdataset as wds

    shard = tmp_path / "bad-000000.tar"
    with wds.TarWriter(str(shard)) as w:
        w.write({"__key__": "x", "caption.txt": b"hi", "meta.json": b"{}"})
    record = '{"key": "x", "shard": "bad-000000.tar", "source": "s", "frames": 9, "height": 8, "width": 8}'
    (tmp_path / "manifest.jsonl").write_text(record + "\n")
    with pytest.raises(GenomniError, match="sample x: missing members input, target, trimask"):
        ShardIndex([tmp_path]).read(0)
