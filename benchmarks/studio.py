"""How fast `genomni studio` opens a large dataset, in a real browser (Debian's headless Chromium via Selenium):
a 10,000-sample dataset of small clips (one encoded sample's members under 10,000 keys, each with its own QC
figures, so sorting has work to do) is discovered and served; the first page, the next page and a page sorted by
a QC figure are timed from the navigation until the grid is drawn, and until every preview on it has loaded
(previews are made on first request and cached, so the first visit pays for them).

With --shots DIR it also saves screenshots of each page of the studio over DIR (e.g. demo_out) into docs/.

    python benchmarks/studio.py
    python benchmarks/studio.py --shots demo_out
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from genomni.sample import Sample, encode
from genomni.shards import manifest_record, write_index, write_tar
from genomni.studio.discover import discover
from genomni.studio.server import serve

SAMPLES = 10_000
PER_SHARD = 1_000


def big_dataset(out: Path) -> None:
    rng = np.random.default_rng(0)
    t, h, w = 8, 32, 32
    inp = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
    tri = np.full((t, h, w), 128, np.uint8)
    tri[:, 8:20, 8:20] = 0
    base = Sample("x", inp, 255 - inp, tri, "a clip", {"source": "bench", "fps": 24.0})
    members = {k: v for k, v in encode(base).items() if k != "__key__"}
    records = []
    for s in range(SAMPLES // PER_SHARD):
        shard = f"bench-{s:06d}.tar"
        batch = []
        for i in range(s * PER_SHARD, (s + 1) * PER_SHARD):
            key = f"bench-s{i:07d}-all"
            sample = Sample(
                key, inp, 255 - inp, tri, f"clip {i}", {"source": "bench", "scene_index": i, "qc": {"effect_frac": float(rng.random())}}
            )
            batch.append({"__key__": key, **members})
            record = manifest_record(sample, shard, members)
            records.append(record)
        write_tar(out / shard, batch)
    write_index(out, records, {"source": "bench", "command": "benchmarks/studio.py"})


def browser():
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def timed_open(driver, url: str, hash_: str) -> tuple[float, float]:
    """Seconds until the page is drawn, and until every image on it has loaded."""
    start = time.perf_counter()
    driver.get(f"{url}/{hash_}")
    while driver.execute_script("return document.body.dataset.ready") != hash_:
        time.sleep(0.01)
    drawn = time.perf_counter() - start
    while not driver.execute_script("return Array.from(document.images).every((i) => i.complete)"):
        time.sleep(0.02)
    return drawn, time.perf_counter() - start


def start(paths: list[str]) -> tuple[str, dict[str, int]]:
    from genomni.studio.actions import Setup

    items = discover(paths)
    server = serve(items, "127.0.0.1", 0, Setup(Path(tempfile.mkdtemp())))  # jobs offered, as a user sees the page
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", {i.path: i.id for i in items}


def first_scene(eval_dir: Path) -> str:
    """The query naming the first scored scene of an eval output (benchmark and scene)."""
    import csv
    from urllib.parse import urlencode

    with open(eval_dir / "per_scene.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if not r.get("skipped"))
    return urlencode({"benchmark": row["benchmark"], "scene": row["scene"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", help="a folder of genomni outputs to take the docs' screenshots from")
    args = parser.parse_args()
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp()  # previews start cold
    driver = browser()
    if args.shots:
        url, ids = start([args.shots])
        kinds = {}
        for item in discover([args.shots]):
            kinds.setdefault(item.kind, item)
        pages = {
            "dataset": f"#/dataset/{kinds['dataset'].id}?sort=effect_frac&desc=1",
            "decomposition": f"#/decomposition/{kinds['decomposition'].id}",
            "eval": f"#/eval/{kinds['eval'].id}",
            "eval_scene": f"#/evalscene/{kinds['eval'].id}?" + first_scene(Path(kinds["eval"].path)),
            "run": f"#/run/{kinds['run'].id}",
        }
        for name, hash_ in pages.items():
            timed_open(driver, url, hash_)
            driver.save_screenshot(f"docs/studio_{name}.png")
        print("screenshots in docs/studio_*.png")
        driver.quit()
        return
    with tempfile.TemporaryDirectory() as tmp:
        start_make = time.perf_counter()
        big_dataset(Path(tmp) / "big")
        made = time.perf_counter() - start_make
        start_discover = time.perf_counter()
        url, ids = start([str(Path(tmp) / "big")])
        item = ids[str(Path(tmp) / "big")]
        found = time.perf_counter() - start_discover
        rows = [
            ("first page (24 samples)", timed_open(driver, url, f"#/dataset/{item}")),
            ("next page", timed_open(driver, url, f"#/dataset/{item}?page=1")),
            ("sorted by effect_frac, page 200", timed_open(driver, url, f"#/dataset/{item}?sort=effect_frac&desc=1&page=200")),
            ("first page again (previews cached)", timed_open(driver, url, f"#/dataset/{item}")),
        ]
        driver.quit()
    print(f"{SAMPLES} samples (8 frames of 32x32) in {SAMPLES // PER_SHARD} shards, written in {made:.1f} s; discovered in {found:.2f} s\n")
    print("| page | drawn (s) | with every preview (s) |")
    print("|---|---|---|")
    for name, (drawn, full) in rows:
        print(f"| {name} | {drawn:.2f} | {full:.2f} |")
    print(json.dumps({name: [round(a, 3), round(b, 3)] for name, (a, b) in rows}))


if __name__ == "__main__":
    main()
