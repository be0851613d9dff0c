import json

import numpy as np
import pytest

from genomni.errors import GenomniError
from genomni.media import decode_video
from genomni.sample import Sample, decode, encode
from genomni.shards import iter_samples, load_hf, read_card, read_manifest, write_index, write_shard


def make_sample(i: int, t: int = 3, h: int = 12, w: int = 10) -> Sample:
    rng = np.random.default_rng(i)
    inp = rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)
    tri = rng.choice(np.array([0, 128, 255], np.uint8), (t, h, w))
    return Sample(
        key=f"test-{i:04d}",
        input=inp,
        target=255 - inp,
        trimask=tri,
        caption=f"clip {i}",
        meta={
            "source": "synthetic" if i % 2 else "kubric",
            "fps": 24.0,
            "removed_ids": [1],
            "kept_ids": [],
            "qc": {"effect_frac": 0.1 * i},
        },
        extras={"instances": (tri == 0).astype(np.uint8), "depth": rng.random((t, h, w)).astype(np.float32)},
    )


def assert_same(a: Sample, b: Sample):
    assert a.key == b.key and a.caption == b.caption and a.meta == b.meta
    for name in ("input", "target", "trimask"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.extras.keys() == b.extras.keys()
    for k in a.extras:
        assert np.array_equal(a.extras[k], b.extras[k])


def test_encode_decode_roundtrip_is_exact():
    s = make_sample(1)
    members = encode(s)
    assert sorted(members) == [
        "__key__",
        "caption.txt",
        "depth.npy",
        "input.mkv",
        "instances.mkv",
        "meta.json",
        "target.mkv",
        "trimask.mkv",
    ]
    assert_same(decode(members), s)


def test_invalid_samples_are_rejected():
    s = make_sample(2)
    s.trimask = s.trimask.copy()
    s.trimask[0, 0, 0] = 7
    with pytest.raises(GenomniError, match="test-0002: trimask"):
        encode(s)
    s = make_sample(3)
    s.key = "bad.key"
    with pytest.raises(GenomniError, match="letters, digits"):
        encode(s)
    members = encode(make_sample(4))
    del members["trimask.mkv"]
    with pytest.raises(GenomniError, match="missing members trimask"):
        decode(members)


def test_shards_are_deterministic_and_read_by_both_readers(tmp_path):
    samples = [make_sample(i) for i in range(4)]
    rec_a = write_shard(tmp_path / "a" / "x-000000.tar", samples)
    write_shard(tmp_path / "b" / "x-000000.tar", [make_sample(i) for i in range(4)])
    assert (tmp_path / "a" / "x-000000.tar").read_bytes() == (tmp_path / "b" / "x-000000.tar").read_bytes()
    assert [r["key"] for r in rec_a] == [s.key for s in samples]
    assert list((tmp_path / "a").glob(".*")) == []

    got = list(iter_samples(tmp_path / "a"))
    assert len(got) == 4
    for a, b in zip(got, samples):
        assert_same(a, b)

    ds = load_hf(tmp_path / "a")
    assert len(ds) == 4
    row = ds[2]
    assert row["__key__"] == "test-0002" and row["caption.txt"] == "clip 2"
    assert row["meta.json"]["removed_ids"] == [1]
    assert np.array_equal(decode_video(row["target.mkv"]["bytes"])[0], samples[2].target)
    assert np.array_equal(decode_video(row["trimask.mkv"]["bytes"])[0], samples[2].trimask)


def test_index_files(tmp_path):
    samples = [make_sample(i) for i in range(3)]
    records = write_shard(tmp_path / "x-000000.tar", samples)
    card = write_index(tmp_path, records, {"command": "genomni test"})
    assert read_manifest(tmp_path) == json.loads(json.dumps(records))
    assert read_card(tmp_path) == card
    assert card["samples"] == 3 and card["per_source"] == {"kubric": 2, "synthetic": 1}
    assert card["resolutions"] == ["12x10"] and card["frames"] == [3] and card["command"] == "genomni test"


def test_missing_directories_fail_clearly(tmp_path):
    with pytest.raises(GenomniError, match="no such shard"):
        list(iter_samples(tmp_path / "nope"))
    with pytest.raises(GenomniError, match="no shards"):
        list(iter_samples(tmp_path))
    with pytest.raises(GenomniError, match="manifest.jsonl"):
        read_manifest(tmp_path)
