"""`--executor ray` on a local Ray (2 CPUs): the same dataset as the local executor, byte for byte; a worker killed
mid-scene or a scene over its timeout is retried; a bad scene is not; a killed driver resumes."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial
from pathlib import Path

import pytest
from conftest import run_cli
from test_objectpaste import _background, _object_clip
from test_run import _files, _run, synthetic_job

from genomni.errors import GenomniError
from genomni.shards import read_card

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from ray import cloudpickle

    for name in ("test_ray", "test_run"):  # Ray workers do not have tests/ on their path: ship these by value
        cloudpickle.register_pickle_by_value(sys.modules[name])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _data(d: Path) -> dict[str, bytes]:
    """Shards and manifest (the card also holds timings and retry counts)."""
    return {k: v for k, v in _files(d).items() if k != "dataset.json"}


def test_ray_gives_the_local_dataset_byte_for_byte(tmp_path):
    _run(tmp_path / "local")
    _run(tmp_path / "ray", executor="ray", workers=2)
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")


def test_generate_objectpaste_on_ray_equals_local(tmp_path):
    _object_clip(tmp_path / "obj")
    _background(tmp_path / "bg.mkv")
    args = [
        "generate",
        "objectpaste",
        "--objects",
        str(tmp_path / "obj"),
        "--backgrounds",
        str(tmp_path / "bg.mkv"),
        "--num-samples",
        "6",
        "--min-area",
        "0",
        "--caption",
        "Noise.",
        "--no-progress",
    ]
    assert run_cli([*args, "--out", str(tmp_path / "local")]) == 0
    assert run_cli([*args, "--out", str(tmp_path / "ray"), "--executor", "ray", "--workers", "2"]) == 0
    assert _data(tmp_path / "ray") == _data(tmp_path / "local") and len(_data(tmp_path / "local")) == 2


def dying_job(index: int, marker: str, sleep: float = 0.0) -> object:
    """Scene 2's first attempt kills its worker process (or, with `sleep`, hangs past the timeout)."""
    if index == 2 and not os.path.exists(marker):
        Path(marker).write_text("died once")
        if sleep:
            time.sleep(sleep)
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return synthetic_job(index)


def test_a_worker_killed_mid_scene_is_retried_and_the_data_is_identical(tmp_path):
    _run(tmp_path / "local")
    marker = tmp_path / "marker"
    _run(tmp_path / "ray", partial(dying_job, marker=str(marker)), executor="ray", workers=2)
    assert marker.exists() and read_card(tmp_path / "ray")["scenes"]["retried"] == 1
    assert _data(tmp_path / "ray") == _data(tmp_path / "local")


def test_a_scene_over_its_timeout_is_cancelled_and_retried(tmp_path):
    _run(tmp_path / "local")
    marker = tmp_path / "marker"
    _run(tmp_path / "ray", partial(dying_job, marker=str(marker), sleep=60), executor="ray", workers=2, scene_timeout=3)
    assert read_card(tmp_path / "ray")["scenes"]["retried"] == 1
    assert _data(tmp_path / "ray") == _data(tmp_path / "local")


def bad_job(index: int, log: str) -> object:
    with open(log, "a") as fh:
        fh.write(f"{index}\n")
    if index == 3:
        raise GenomniError("scene 3: unreadable input")
    return synthetic_job(index)


def test_a_scene_that_raises_is_not_retried_and_stops_the_run_with_its_message(tmp_path):
    log = tmp_path / "calls.txt"
    with pytest.raises(GenomniError, match="scene 3: unreadable input"):
        _run(tmp_path / "ray", partial(bad_job, log=str(log)), executor="ray", workers=2)
    assert log.read_text().split().count("3") == 1


DRIVER = textwrap.dedent("""
    import sys, time
    from genomni.generators.run import RunOptions, run_generator
    sys.path.insert(0, {tests!r})
    from test_run import synthetic_job

    def slow(index):
        time.sleep(0.4)
        return synthetic_job(index)

    import test_run
    from ray import cloudpickle
    cloudpickle.register_pickle_by_value(test_run)
    opts = RunOptions(out_dir=sys.argv[1], scenes_per_shard=2, progress=False, executor="ray", workers=2)
    run_generator("syn", {{"config": {{"n": 7}}}}, 7, slow, opts)
""")


def test_a_killed_ray_driver_resumes_with_nothing_lost_or_duplicated(tmp_path):
    _run(tmp_path / "local")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(tests=str(Path(__file__).parent)))
    out = tmp_path / "ray"
    proc = subprocess.Popen([sys.executable, str(script), str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list((out / ".genomni" / "shards").glob("*.json")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "dataset.json").exists() and list((out / ".genomni" / "shards").glob("*.json"))
    assert subprocess.run([sys.executable, str(script), str(out)], capture_output=True).returncode == 0
    assert _data(out) == _data(tmp_path / "local") and sorted(_data(out)) == ["manifest.jsonl"] + [f"syn-{i:06d}.tar" for i in range(4)]


def test_without_ray_the_executor_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(GenomniError, match=r"--executor ray needs Ray: pip install 'genomni\[ray\]'"):
        _run(tmp_path / "x", executor="ray")


def test_kubric_renders_on_ray_are_the_local_renders(kubric_dir, tmp_path):
    """Blender in Ray workers (a fresh worker process for every scene) gives the local executor's shards."""
    from conftest import TINY

    out = tmp_path / "ray"
    assert (
        run_cli(
            [
                "generate",
                "kubric",
                "--out",
                str(out),
                "--num-scenes",
                "3",
                *TINY,
                "--executor",
                "ray",
                "--workers",
                "2",
                "--scenes-per-process",
                "1",
            ]
        )
        == 0
    )
    assert _data(out) == _data(kubric_dir) and len(_data(out)) == 3


def test_tripod_on_ray_equals_local(tmp_path):
    from test_tripod import _footage

    _footage(tmp_path / "a")
    _footage(tmp_path / "b")
    args = ["generate", "tripod", str(tmp_path / "a"), str(tmp_path / "b"), "--no-progress"]
    assert run_cli([*args, "--out", str(tmp_path / "local")]) == 0
    assert run_cli([*args, "--out", str(tmp_path / "ray"), "--executor", "ray", "--workers", "2"]) == 0
    assert _data(tmp_path / "ray") == _data(tmp_path / "local") and read_card(tmp_path / "ray")["samples"] == 2
