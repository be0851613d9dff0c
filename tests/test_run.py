"""The generic run machinery (resume, partitions, workers, config lock) with a cheap synthetic job."""

import json
import os
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from genomni.errors import GenomniError
from genomni.generators.run import RunOptions, SceneResult, run_generator
from genomni.sample import Sample
from genomni.shards import iter_samples, read_card, read_manifest


def synthetic_job(index: int, log: str | None = None, fail_at: int | None = None) -> SceneResult:
    if log:
        with open(log, "a") as fh:
            fh.write(f"{index}\n")
    if index == fail_at:
        raise KeyboardInterrupt
    if index == 4:
        return SceneResult(index, [], attempts=3, dropped="QC: object out of view")
    rng = np.random.default_rng(index)
    samples = []
    for j in range(1 + index % 2):
        v = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
        samples.append(
            Sample(f"syn-{index:03d}-{j}", v, v[::-1].copy(), np.full((2, 8, 8), 128, np.uint8), "c", {"source": "synthetic", "fps": 8})
        )
    return SceneResult(index, samples)


def _run(out, job=synthetic_job, **kw):
    opts = RunOptions(out_dir=out, scenes_per_shard=2, progress=False, **kw)
    return run_generator("syn", {"config": {"n": 7}}, 7, job, opts)


def _content(files: dict[str, bytes]) -> dict[str, bytes]:
    """A dataset's files with its card's measured time per scene left out (a timing, not content)."""
    if "dataset.json" in files:
        card = json.loads(files["dataset.json"])
        card.pop("mean_seconds_per_scene", None)
        files = {**files, "dataset.json": json.dumps(card, sort_keys=True).encode()}
    return files


def _files(d: Path) -> dict[str, bytes]:
    return _content({p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()})


def test_run_writes_shards_manifest_and_card(tmp_path):
    s = _run(tmp_path / "a")
    assert s.complete and s.scenes_done == 7
    assert sorted(_files(tmp_path / "a")) == ["dataset.json", "manifest.jsonl"] + [f"syn-{i:06d}.tar" for i in range(4)]
    keys = [r["key"] for r in read_manifest(tmp_path / "a")]
    assert keys == [s.key for s in iter_samples(tmp_path / "a")]
    assert len(keys) == 1 + 2 + 1 + 2 + 0 + 2 + 1
    card = read_card(tmp_path / "a")
    assert card["scenes"] == {"requested": 7, "done": 7, "dropped": 1, "resampled": 0, "retried": 0}
    assert card["dropped_scenes"] == [{"index": 4, "reason": "QC: object out of view"}]


def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path):
    _run(tmp_path / "clean")
    log = str(tmp_path / "calls.txt")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "resumed", partial(synthetic_job, log=log, fail_at=3))
    assert (tmp_path / "resumed" / "syn-000000.tar").exists()  # scenes 0-1 were committed as a shard
    _run(tmp_path / "resumed", partial(synthetic_job, log=log))
    calls = [int(x) for x in Path(log).read_text().split()]
    assert calls == [0, 1, 2, 3, 3, 4, 5, 6]  # only the interrupted scene ran twice
    assert _files(tmp_path / "resumed") == _files(tmp_path / "clean")


def test_partitions_and_workers_give_the_same_dataset(tmp_path):
    _run(tmp_path / "clean")
    a = _run(tmp_path / "split", num_shards=2, shard_index=0)
    assert not a.complete and a.scenes_done == 4  # shards 0 and 2 only
    b = _run(tmp_path / "split", num_shards=2, shard_index=1, workers=2)
    assert b.complete
    assert _files(tmp_path / "split") == _files(tmp_path / "clean")
    _run(tmp_path / "pool", workers=2)  # more scenes than the pool's queue holds at once
    assert _files(tmp_path / "pool") == _files(tmp_path / "clean")


def test_a_different_config_is_refused_and_nothing_changes(tmp_path):
    _run(tmp_path / "a")
    before = _files(tmp_path / "a")
    with pytest.raises(GenomniError, match=r"different configuration \(config.n: 7 != 8\)"):
        run_generator("syn", {"config": {"n": 8}}, 7, synthetic_job, RunOptions(tmp_path / "a", scenes_per_shard=2, progress=False))
    assert _files(tmp_path / "a") == before
    with pytest.raises(GenomniError, match="shard-index"):
        _run(tmp_path / "b", num_shards=2, shard_index=2)
    os.makedirs(tmp_path / "c")
    (tmp_path / "c" / "other-000000.tar").write_bytes(b"")
    with pytest.raises(GenomniError, match="holds shards from something else"):
        _run(tmp_path / "c")


def test_partitions_running_at_once_into_one_folder_leave_the_full_dataset(tmp_path):
    """The jobs of a batch array share --out: each holds its own partition's lock, and the last index writer
    lists every shard."""
    from concurrent.futures import ThreadPoolExecutor

    _run(tmp_path / "clean")
    slow = partial(synthetic_job, log=str(tmp_path / "calls.txt"))
    with ThreadPoolExecutor(3) as pool:
        done = list(pool.map(lambda i: _run(tmp_path / "shared", slow, num_shards=3, shard_index=i), range(3)))
    assert sum(d.shards_written for d in done) == 4
    assert _files(tmp_path / "shared") == _files(tmp_path / "clean")
