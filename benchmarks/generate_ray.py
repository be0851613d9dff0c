"""Ray executor vs the local executor on this machine: the same kubric scenes, the same worker count, whole CLI
runs in subprocesses, alternated (these machines are shared and noisy). Reports the time ratio, the tasks Ray
retried (from the card), the peak memory of each worker process (polled from /proc), and whether the two
datasets are byte-identical.

    python benchmarks/generate_ray.py [--scenes 8] [--workers 2] [--resolution 64] [--frames 9] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

GENOMNI = [sys.executable, "-m", "genomni.cli"]


def _children(root: int) -> dict[int, str]:
    """Descendant pids of `root` with their command lines (from /proc)."""
    parent, names = {}, {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                names[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = {}, [root]
    while frontier:
        p = frontier.pop()
        for c, pp in parent.items():
            if pp == p and c not in out:
                out[c] = names.get(c, "")
                frontier.append(c)
    return out


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(args: list[str], worker_tag: str) -> tuple[float, float]:
    """Wall seconds of one CLI run and the peak RSS (MB) of its busiest worker process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*GENOMNI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = {"mb": 0.0}

    def poll() -> None:
        while proc.poll() is None:
            for pid, cmd in _children(proc.pid).items():
                if worker_tag in cmd:
                    peak["mb"] = max(peak["mb"], _rss_mb(pid))
            time.sleep(0.2)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    _, err = proc.communicate()
    th.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}")
    return time.perf_counter() - t0, peak["mb"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    base = [
        "generate",
        "kubric",
        "--num-scenes",
        str(a.scenes),
        "--resolution",
        str(a.resolution),
        "--frames",
        str(a.frames),
        "--samples",
        "16",
        "--max-objects",
        "3",
        "--seed",
        "7",
        "--workers",
        str(a.workers),
        "--no-progress",
    ]
    times: dict[str, list[float]] = {"local": [], "ray": []}
    peaks: dict[str, float] = {"local": 0.0, "ray": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            for name, extra, tag in (("local", [], "multiprocessing"), ("ray", ["--executor", "ray"], "ray::")):
                out = Path(tmp) / f"{name}{r}"
                sec, mb = run([*base, "--out", str(out), *extra], tag)
                times[name].append(sec)
                peaks[name] = max(peaks[name], mb)
        same = all(
            (Path(tmp) / "local0" / f.name).read_bytes() == f.read_bytes()
            for f in sorted((Path(tmp) / "ray0").iterdir())
            if f.is_file() and f.name != "dataset.json"
        )
        retried = json.loads((Path(tmp) / "ray0" / "dataset.json").read_text())["scenes"]["retried"]
    local, ray = min(times["local"]), min(times["ray"])
    print(
        f"kubric, {a.scenes} scenes at {a.resolution} px, {a.frames} frames, --workers {a.workers}, best of {a.repeats} "
        f"(os.cpu_count() = {os.cpu_count()}):\n"
    )
    print("| executor | seconds | ratio to local | tasks retried | peak RSS per worker (MB) |")
    print("|---|---|---|---|---|")
    print(f"| local (process pool) | {local:.1f} | 1.00x | - | {peaks['local']:.0f} |")
    print(f"| ray (local Ray, started by the run) | {ray:.1f} | {ray / local:.2f}x | {retried} | {peaks['ray']:.0f} |")
    print(f"\nShards and manifest byte-identical: {same}. Ray's figure includes starting and stopping the local Ray.")


if __name__ == "__main__":
    main()
