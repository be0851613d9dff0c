"""Corrupted shards: every damage is found by `data validate` and is a one-line error (or an explicit skip)
in every reader; no sample is dropped silently. Bounded and seeded, so it runs in the default suite."""

import shutil
import tarfile

import numpy as np
import pytest

from genomni.datasets.index import ShardIndex
from genomni.datasets.validate import validate_dir
from genomni.errors import GenomniError
from genomni.sample import Sample
from genomni.shards import iter_samples, read_manifest, write_index, write_shard

N_CORRUPTIONS = 240


def _samples() -> list[Sample]:
    rng = np.random.default_rng(0)
    out = []
    for k in range(2):
        video = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
        tri = np.full((3, 16, 16), 128, np.uint8)
        tri[:, 4:9, 5:10] = 0
        inst = (tri == 0).astype(np.uint8)
        out.append(
            Sample(f"fz-s{k:03d}", video, video[::-1].copy(), tri, f"caption {k} é", {"source": "fuzz", "fps": 8.0}, {"instances": inst})
        )
    return out


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz") / "good"
    records = write_shard(d / "fz-000000.tar", _samples())
    write_index(d, records, {})
    assert validate_dir(d).bad == [] and len(list(iter_samples(d))) == 2
    return d


def _regions(shard) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges of each member kind's data, of the tar headers and of the end-of-archive blocks."""
    kinds: dict[str, list[tuple[int, int]]] = {"header": []}
    with tarfile.open(shard) as tar:
        for info in tar:
            kinds["header"].append((info.offset, info.offset_data))
            kinds.setdefault(info.name.split(".", 1)[1], []).append((info.offset_data, info.offset_data + info.size))
        kinds["end"] = [(tar.offset, tar.offset + 1024)]
    return kinds


def _corrupt(data: bytes, regions: dict, rng: np.random.Generator) -> tuple[str, bytes]:
    kind = rng.choice(["flip", "flip", "flip", "truncate", "append"])
    if kind == "truncate":
        cut = int(rng.integers(0, len(data)))
        return f"truncate@{cut}", data[:cut]
    if kind == "append":
        return "append", data + rng.integers(1, 256, int(rng.integers(1, 2000)), dtype=np.uint8).tobytes()
    where = list(regions)[int(rng.integers(0, len(regions)))]
    lo, hi = regions[where][int(rng.integers(0, len(regions[where])))]
    pos = int(rng.integers(lo, hi))
    out = bytearray(data)
    out[pos] ^= int(rng.integers(1, 256))
    return f"flip {where}@{pos}", bytes(out)


def _read_all(read) -> tuple[list, str | None]:
    """Samples a reader gives, or the one-line error it raised (any other exception fails the test)."""
    try:
        return read(), None
    except GenomniError as exc:
        assert "\n" not in str(exc)
        return [], str(exc)


def test_every_corruption_is_found_and_never_crashes_a_reader(good, tmp_path):
    originals = {s.key: s for s in iter_samples(good)}
    shard = good / "fz-000000.tar"
    data, regions = shard.read_bytes(), _regions(shard)
    rng = np.random.default_rng(1234)
    bad_dir, bare = tmp_path / "bad", tmp_path / "bare"
    shutil.copytree(good, bad_dir)
    bare.mkdir()
    kinds = set()
    for _ in range(N_CORRUPTIONS):
        what, corrupted = _corrupt(data, regions, rng)
        kinds.add(what.split("@")[0])
        (bad_dir / shard.name).write_bytes(corrupted)
        (bare / shard.name).write_bytes(corrupted)
        report = validate_dir(bad_dir)
        assert report.bad, f"{what}: reported valid"
        for read in (lambda: list(iter_samples(bad_dir)), lambda: [ShardIndex([bad_dir]).read(i) for i in range(2)]):
            got, err = _read_all(read)
            intact = all(
                np.array_equal(s.input, originals[s.key].input)
                and np.array_equal(s.target, originals[s.key].target)
                and np.array_equal(s.trimask, originals[s.key].trimask)
                and s.caption == originals[s.key].caption
                and s.meta == originals[s.key].meta
                for s in got
            )
            assert intact, f"{what}: a reader returned a damaged sample"
            assert err is not None or len(got) == 2, f"{what}: a reader dropped a sample silently"
        _read_all(lambda: list(iter_samples([bare / shard.name])))  # no manifest to check against: no crash, at least
        skipped: list = []
        got = list(iter_samples(bad_dir, handler=skipped.append))
        assert len({s.key for s in got}) + len({b.key for b in skipped if b.key != "*"}) >= 2 or any(b.key == "*" for b in skipped), (
            f"{what}: skip mode lost a sample without counting it"
        )
    assert {
        "flip header",
        "flip input.mkv",
        "flip target.mkv",
        "flip trimask.mkv",
        "flip caption.txt",
        "flip meta.json",
        "flip instances.mkv",
        "flip end",
        "truncate",
        "append",
    } <= kinds


def test_a_damaged_manifest_or_card_is_reported_not_a_crash(good, tmp_path, capsys):
    from conftest import run_cli

    d = tmp_path / "d"
    shutil.copytree(good, d)
    lines = (d / "manifest.jsonl").read_text().splitlines()
    (d / "manifest.jsonl").write_text("\n".join([lines[0], lines[0], "{not json", lines[1]]) + "\n")
    (d / "dataset.json").write_text("{")
    reasons = [(b["key"], b["reason"]) for b in validate_dir(d).bad]
    key0 = read_manifest(good)[0]["key"]
    assert (key0, "line 2 lists key " + key0 + " again") in reasons
    assert any(r.startswith(f"{d / 'manifest.jsonl'}:3: not a JSON line") for _, r in reasons)
    assert any(r.startswith(f"{d / 'dataset.json'}: not valid JSON") for _, r in reasons)
    assert run_cli(["data", "inspect", str(d)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {d / 'dataset.json'}: not valid JSON")


def test_export_stops_on_a_damaged_sample_or_skips_it_counted(good, tmp_path, capsys):
    from conftest import run_cli

    d = tmp_path / "d"
    shutil.copytree(good, d)
    shard = d / "fz-000000.tar"
    regions = _regions(shard)
    data = bytearray(shard.read_bytes())
    lo, _ = regions["caption.txt"][1]  # the second sample's caption
    data[lo] ^= 0x20
    shard.write_bytes(bytes(data))
    assert run_cli(["data", "export", str(d), "--out", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: {shard}: sample fz-s001: member caption.txt does not match its manifest checksum (damaged)"
    assert run_cli(["data", "export", str(d), "--out", str(tmp_path / "b"), "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "skipped fz-s001 (fz-000000.tar)" in out and "1 footage folders, 1 damaged samples skipped" in out
    assert sorted(p.name for p in (tmp_path / "b").iterdir() if not p.name.startswith(".")) == ["fz-s000"]  # .genomni: the lock


def test_hugging_face_reading_of_a_damaged_shard_is_one_clear_error(good, tmp_path, monkeypatch):
    from genomni.shards import load_hf

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    d = tmp_path / "d"
    shutil.copytree(good, d)
    shard = d / "fz-000000.tar"
    shard.write_bytes(shard.read_bytes()[:700])  # cut inside the first member
    with pytest.raises(GenomniError, match=r"Hugging Face datasets could not read the shards .*run `genomni data validate"):
        load_hf(d)
