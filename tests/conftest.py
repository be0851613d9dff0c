import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TINY = ["--frames", "5", "--resolution", "48", "--samples", "4", "--min-objects", "2", "--max-objects", "2", "--seed", "3",
        "--scenes-per-shard", "2", "--no-progress"]


def run_cli(args: list[str]) -> int:
    """Run the genomni CLI in-process and return its exit code."""
    from genomni.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(autouse=True)
def _hf_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "hf-cache"))


@pytest.fixture(scope="session")
def kubric_dir(tmp_path_factory):
    """A tiny real kubric dataset (3 scenes at 48 px, 5 frames), made once per test session."""
    out = tmp_path_factory.mktemp("kubric") / "ds"
    assert run_cli(["generate", "kubric", "--out", str(out), "--num-scenes", "3", *TINY]) == 0
    return out
