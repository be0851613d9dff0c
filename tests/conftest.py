import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TINY = [
    "--frames",
    "5",
    "--resolution",
    "48",
    "--samples",
    "4",
    "--min-objects",
    "2",
    "--max-objects",
    "2",
    "--seed",
    "3",
    "--scenes-per-shard",
    "2",
    "--no-progress",
]


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


def square_clip(folder, frames: int, height: int, width: int, name: str = "clip.mp4"):
    """A random-noise clip and one object's mask (a square a quarter of the frame in, a quarter of its size) written
    under `folder`; returns (video path, mask folder path)."""
    import numpy as np

    from genomni.media import write_video

    video = np.random.default_rng(0).integers(0, 255, (frames, height, width, 3), dtype=np.uint8)
    write_video(folder / name, video, 8.0)
    mask = np.zeros((frames, height, width), np.uint8)
    mask[:, height // 4 : height // 2, width // 4 : width // 2] = 255
    write_video(folder / "mask", mask)
    return folder / name, folder / "mask"
