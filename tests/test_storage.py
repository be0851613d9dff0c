"""Datasets at fsspec URLs: generators write shards, records, manifest and card to `memory://` (and `file://`);
every reader takes the URL; a run resumes by listing what is at the URL."""

import shutil

import pytest
from conftest import run_cli
from test_objectpaste import _background, _object_clip
from test_run import _content, _files, _run

from genomni.datasets.index import ShardIndex
from genomni.shards import iter_samples, read_card, read_manifest
from genomni.storage import location, staging_dir


@pytest.fixture
def memory(tmp_path, monkeypatch):
    from fsspec.implementations.memory import MemoryFileSystem

    monkeypatch.setenv("GENOMNI_STAGING", str(tmp_path / "staging"))
    yield f"memory://{tmp_path.name}"
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]


def _remote_files(url: str) -> dict[str, bytes]:
    root = location(url)
    return _content({p.name: p.read_bytes() for p in sorted(root.iterdir(), key=lambda p: p.name) if p.is_file()})


def test_a_run_to_a_memory_url_equals_a_local_run_and_resumes_by_listing(tmp_path, memory):
    _run(tmp_path / "local")
    summary = _run(memory)
    assert summary.complete and _remote_files(memory) == _files(tmp_path / "local")
    assert [s.key for s in iter_samples(memory)] == [s.key for s in iter_samples(tmp_path / "local")]
    assert read_card(memory)["samples"] == len(read_manifest(memory)) == 9
    shutil.rmtree(staging_dir(location(memory)))  # another machine: nothing local, everything listed at the URL
    again = _run(memory, partial_fail_job)
    assert again.complete and again.shards_written == 0 and _remote_files(memory) == _files(tmp_path / "local")


def partial_fail_job(index: int):
    raise AssertionError(f"scene {index} ran again although its shard is at the URL")


def test_generate_validate_inspect_and_train_index_read_a_url(tmp_path, memory, capsys):
    _object_clip(tmp_path / "obj")
    _background(tmp_path / "bg.mkv")
    url = f"{memory}/paste"
    assert (
        run_cli(
            [
                "generate",
                "objectpaste",
                "--objects",
                str(tmp_path / "obj"),
                "--backgrounds",
                str(tmp_path / "bg.mkv"),
                "--num-samples",
                "3",
                "--min-area",
                "0",
                "--caption",
                "Noise.",
                "--out",
                url,
                "--no-progress",
            ]
        )
        == 0
    )
    assert run_cli(["data", "validate", url]) == 0
    assert "3 of 3 samples pass" in capsys.readouterr().out
    assert run_cli(["data", "inspect", url, "--json"]) == 0
    assert '"samples": 3' in capsys.readouterr().out
    index = ShardIndex([url])
    assert len(index) == 3 and index.read(2).key == list(iter_samples(url))[2].key
    shard = location(url) / read_manifest(url)[0]["shard"]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert run_cli(["data", "validate", url]) == 1
    assert "does not match its dataset.json checksum" in capsys.readouterr().out


def test_file_urls_are_local_folders(tmp_path):
    _run(tmp_path / "local")
    _run(f"file://{tmp_path / 'viaurl'}")
    assert _files(tmp_path / "viaurl") == _files(tmp_path / "local")


def test_a_url_without_a_filesystem_is_one_line(tmp_path, capsys):
    assert run_cli(["data", "validate", "nosuchfs://bucket/ds"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nosuchfs://bucket/ds: no filesystem for this URL" in err


def test_the_studio_shows_a_dataset_at_a_url(tmp_path, memory, monkeypatch):
    """The studio's dataset page reads shards at an fsspec URL as every other reader does."""
    from genomni.studio.discover import discover
    from genomni.studio.views import DatasetView

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _run(memory)
    (item,) = discover([memory])
    assert item.kind == "dataset"
    view = DatasetView(memory)
    page = view.page(per=12)
    first = next(iter(iter_samples(memory)))
    assert page["total"] == 9 and page["samples"][0]["key"] == first.key
    assert view.frame_png(first.key, 0)[:8] == b"\x89PNG\r\n\x1a\n" and view.preview_gif(first.key)[:6] == b"GIF89a"
