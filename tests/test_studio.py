"""`genomni studio` in a real browser (Debian's headless Chromium driven by Selenium): each page loads without a
console error, a scrubbed sample page shows the frame the shard holds (its pixels read back from the page and
compared with the sample decoded here), a layer toggle changes the composite to what numpy composites without
that layer, a damaged shard shows one line and the rest stays browsable; and the server's own refusals."""

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from test_motion_masks import static_clip

from genomni.layers import write_rgba_folder
from genomni.media import read_video, write_video
from genomni.shards import iter_samples
from genomni.studio.discover import discover
from genomni.studio.server import serve
from genomni.studio.views import PANEL_HEIGHT

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def world(tmp_path_factory, kubric_dir):
    """A folder holding a dataset, a damaged copy of it, a constructed decomposition, an eval output and a
    training run."""
    root = tmp_path_factory.mktemp("studio")
    shutil.copytree(kubric_dir, root / "data")
    damaged = root / "damaged"
    shutil.copytree(kubric_dir, damaged)
    shard = sorted(damaged.glob("*.tar"))[0]
    raw = bytearray(shard.read_bytes())
    raw[5000:5400] = b"\x07" * 400  # inside the first sample's members: its checksum no longer matches
    shard.write_bytes(bytes(raw))
    rng = np.random.default_rng(0)
    t, h, w = 4, 24, 32
    decomp = root / "decomp"
    background = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
    write_video(decomp / "background", background)
    a = np.zeros((t, h, w, 4), np.uint8)
    a[:, 4:12, 4:14] = (220, 30, 30, 255)
    b = np.zeros((t, h, w, 4), np.uint8)
    b[:, 10:20, 12:28] = (30, 30, 220, 128)
    write_rgba_folder(decomp / "layers" / "cat", a)
    write_rgba_folder(decomp / "layers" / "ball", b)
    (decomp / "decomposition.json").write_text(
        json.dumps({"objects": ["cat", "ball"], "layer_order": ["cat", "ball"], "fps": 8.0, "frames": t, "size": [h, w], "layers": {}})
    )
    ev = root / "eval"
    ev.mkdir()
    methods = {"copy-input": {}, "casper:/models/x": {"steps": 4}}
    (ev / "results.json").write_text(json.dumps({"methods": methods, "summary": {"copy-input": {"demo": {"psnr": 20.5, "scenes": 2}}}}))
    rows = "".join(f"{m},demo,{sc},{20 + i}\n" for i, m in enumerate(methods) for sc in ("s0", "s1"))
    (ev / "per_scene.csv").write_text("method,benchmark,scene,psnr\n" + rows)
    from genomni.eval.run import cache_path
    from genomni.media import write_png

    for i, m in enumerate(methods):  # what eval's cache holds: per-frame PSNR and the worst frame's strip
        psnr = [30.0 - i, 18.0 + i, 25.0]
        strip = ev / "worst" / f"{m.replace(':', '_').replace('/', '_')}-demo-s0-00001.png"
        strip.parent.mkdir(exist_ok=True)
        write_png(strip, np.full((8, 24, 3), 40 * (i + 1), np.uint8))
        path = cache_path(ev, m, "demo", "s0")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"frames": {"psnr": psnr}, "worst_frame": 1, "worst_strip": f"worst/{strip.name}"}))
    write_video(root / "sky.mkv", np.full((4, 24, 32, 3), (10, 200, 10), np.uint8), 8.0)  # a clip: a new background
    run = root / "run"
    run.mkdir()
    log = [{"step": s, "loss": 1.0 / (1 + s)} for s in range(0, 50, 10)] + [{"event": "validation", "step": 40, "val/psnr": 25.0}]
    (run / "train_log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in log))
    interaction_dataset(root / "interactions")
    return root, background, a, b


def interaction_dataset(out: Path) -> None:
    """One interaction sample made here: a quadmask (a removed square, a changed band) and VOID's pass C."""
    from genomni.sample import Sample
    from genomni.shards import write_index, write_shard

    rng = np.random.default_rng(5)
    t, h, w = 4, 24, 32
    video = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
    tri = np.full((t, h, w), 128, np.uint8)
    tri[:, 4:10, 4:10] = 0
    quad = np.full((t, h, w), 255, np.uint8)
    quad[:, 12:16, :] = 127
    quad[:, 4:10, 4:10] = 0
    extras = {"hidden": video[:, ::-1].copy(), "quadmask": quad}
    sample = Sample("kubric-s0000000-all", video, video[::-1].copy(), tri, "a box fell", {"source": "kubric", "fps": 8.0}, extras)
    write_index(out, write_shard(out / "kubric-000000.tar", [sample]), {"source": "kubric", "complete": True})


@pytest.fixture(scope="module")
def studio(world, tmp_path_factory):
    cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))  # previews are kept here, not in ~/.cache
    from genomni.studio.actions import Setup

    root = world[0]
    items = discover([str(root)])
    server = serve(items, "127.0.0.1", 0, Setup(root / "work"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", {i.title: i.id for i in items}
    server.shutdown()
    server.server_close()
    if cache is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = cache


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.fail(f"the browser tests need Debian's chromium and chromium-driver ({CHROMIUM}, {DRIVER}): make setup installs them")
    os.environ["SE_OFFLINE"] = "true"  # Selenium must not try to download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _open(driver, url, hash_):
    driver.get(f"{url}/{hash_}")
    _wait(driver, lambda: driver.execute_script("return document.body.dataset.ready") == hash_)


def _wait(driver, done, seconds=20.0):
    end = time.time() + seconds
    while time.time() < end:
        if done():
            return
        time.sleep(0.05)
    raise AssertionError("the page did not get there in time")


def _pixels(driver, element_id):
    """The RGB pixels the page shows in <img id=element_id>, read back through a canvas."""
    _wait(
        driver,
        lambda: driver.execute_script(f"const i = document.getElementById('{element_id}'); return i && i.complete && i.naturalWidth > 0"),
    )
    w, h, data = driver.execute_script(
        f"""const i = document.getElementById('{element_id}');
        const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(i, 0, 0);
        return [c.width, c.height, Array.from(g.getImageData(0, 0, c.width, c.height).data)];"""
    )
    return np.array(data, np.uint8).reshape(h, w, 4)[..., :3]


def _enlarged(image):
    factor = max(1, -(-PANEL_HEIGHT // image.shape[0]))
    return (
        np.kron(image, np.ones((factor, factor, 1), np.uint8)) if image.ndim == 3 else np.kron(image, np.ones((factor, factor), np.uint8))
    )


def _errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_every_page_loads_without_console_errors(studio, browser):
    url, ids = studio
    for hash_ in ["#/", f"#/dataset/{ids['data']}", f"#/decomposition/{ids['decomp']}", f"#/eval/{ids['eval']}", f"#/run/{ids['run']}"]:
        _open(browser, url, hash_)
        assert not browser.find_elements("css selector", ".error"), hash_
        assert not _errors(browser), hash_
    assert len(browser.find_elements("css selector", "svg.curve polyline")) == 2  # loss and validation curves


def test_methods_side_by_side_on_one_scene(studio, browser):
    url, ids = studio
    _open(browser, url, f"#/eval/{ids['eval']}")
    link = next(a for a in browser.find_elements("css selector", "a.scene-link") if a.text == "s0")
    link.click()
    _wait(browser, lambda: browser.execute_script("return document.body.dataset.ready").startswith("#/evalscene/"))
    lines = browser.find_elements("css selector", "#scene-curves polyline")
    assert sorted(line.get_attribute("data-method") for line in lines) == ["casper:/models/x", "copy-input"]
    captions = [c.text for c in browser.find_elements("css selector", "figcaption")]
    assert "copy-input: frame 1, 18 dB" in captions and "casper:/models/x: frame 1, 19 dB" in captions
    _wait(browser, lambda: browser.execute_script("return Array.from(document.images).every((i) => i.complete && i.naturalWidth > 0)"))
    assert not _errors(browser)


def _sample_at_frame(browser, url, ids, folder, k):
    """Open the first sample of the dataset `folder` and scrub to frame k; returns the sample as the shard holds it."""
    sample = next(iter(iter_samples(folder)))
    _open(browser, url, f"#/sample/{ids[folder.name]}/{sample.key}")
    browser.execute_script(f"const r = document.getElementById('scrubber'); r.value = {k}; r.dispatchEvent(new Event('input'));")
    _wait(browser, lambda: browser.find_element("id", "frame").get_attribute("src").endswith(f"/frame/{k}.png"))
    return sample


def test_a_scrubbed_sample_page_shows_the_frame_the_shard_holds(studio, browser, world):
    sample = _sample_at_frame(browser, *studio, world[0] / "data", 3)
    sep = np.full((sample.input.shape[1], 2, 3), 255, np.uint8)
    expected = np.concatenate([sample.input[3], sep, np.repeat(sample.trimask[3][..., None], 3, -1), sep, sample.target[3]], 1)
    assert np.array_equal(_pixels(browser, "frame"), _enlarged(expected))
    assert browser.find_element("id", "frame-label").text == "frame 3"


def test_an_interaction_sample_shows_pass_c_and_its_quadmask(studio, browser, world):
    sample = _sample_at_frame(browser, *studio, world[0] / "interactions", 2)
    sep = np.full((sample.input.shape[1], 2, 3), 255, np.uint8)
    gray = lambda m: np.repeat(m[2][..., None], 3, -1)  # noqa: E731
    parts = [sample.input[2], gray(sample.trimask), sample.target[2], sample.extras["hidden"][2], gray(sample.extras["quadmask"])]
    expected = np.concatenate([x for p in parts for x in (p, sep)][:-1], 1)
    assert np.array_equal(_pixels(browser, "frame"), _enlarged(expected))
    assert "127 changed by the removal" in browser.find_element("id", "quadlegend").text


def test_the_grid_pages_and_sorts_by_a_qc_figure(studio, browser, world):
    url, ids = studio
    records = [json.loads(line) for line in (world[0] / "data" / "manifest.jsonl").read_text().splitlines()]
    _open(browser, url, f"#/dataset/{ids['data']}?per=12&sort=effect_frac&desc=1")
    keys = [c.get_attribute("data-key") for c in browser.find_elements("css selector", ".card")]
    expected = [r["key"] for r in sorted(records, key=lambda r: r["qc"]["effect_frac"], reverse=True)][:12]
    assert [r for r in keys] == expected[: len(keys)] and len(keys) == min(12, len(records))
    # the scenario filter keeps exactly the samples the manifest records under that scenario
    scenario = records[0]["scenario"]
    _open(browser, url, f"#/dataset/{ids['data']}?per=96&scenario={scenario}")
    shown = {c.get_attribute("data-key") for c in browser.find_elements("css selector", ".card")}
    assert scenario and shown == {r["key"] for r in records if r["scenario"] == scenario}


def test_a_layer_toggle_changes_the_composite_to_the_one_without_it(studio, browser, world):
    url, ids = studio
    _, background, cat, ball = world
    _open(browser, url, f"#/decomposition/{ids['decomp']}")

    def over(bg, layer):
        alpha = layer[..., 3:4].astype(np.float64) / 255
        return np.round(alpha * layer[..., :3] / 255 + (1 - alpha) * bg.astype(np.float64) / 255, 12)

    both = np.round(255 * over(255 * over(background[0], cat[0]), ball[0])).astype(np.uint8)
    assert np.abs(_pixels(browser, "composite").astype(int) - _enlarged(both)).max() <= 1
    browser.find_element("css selector", "input.layer-toggle[data-layer=cat]").click()
    _wait(browser, lambda: "drop=cat" in browser.find_element("id", "composite").get_attribute("src"))
    without_cat = np.round(255 * over(background[0], ball[0])).astype(np.uint8)
    assert np.abs(_pixels(browser, "composite").astype(int) - _enlarged(without_cat)).max() <= 1
    # moving the ball 5 px right (whole pixels: a plain shift) gives the composite with the shifted ball
    move = browser.find_element("css selector", "input.layer-move[data-layer=ball]")
    move.send_keys("5:0:1")
    browser.execute_script("arguments[0].dispatchEvent(new Event('change'))", move)
    _wait(browser, lambda: "5%3A0%3A1" in browser.find_element("id", "composite").get_attribute("src"))
    shifted = np.zeros_like(ball[0])
    shifted[:, 5:] = ball[0][:, :-5]
    moved = np.round(255 * over(background[0], shifted)).astype(np.uint8)
    assert np.abs(_pixels(browser, "composite").astype(int) - _enlarged(moved)).max() <= 1
    # a move the edit verb would refuse is its one line beside the composite
    move.clear()
    move.send_keys("5:0:-1")
    browser.execute_script("arguments[0].dispatchEvent(new Event('change'))", move)
    _wait(browser, lambda: browser.find_elements("css selector", ".image-error"))
    assert "the scale must be > 0" in browser.find_element("css selector", ".image-error").text
    _errors(browser)  # that refusal's 422, read off the log
    move.clear()
    move.send_keys("5:0:1")
    browser.execute_script("arguments[0].dispatchEvent(new Event('change'))", move)
    _wait(browser, lambda: not browser.find_elements("css selector", ".image-error"))
    # a clip of the studio as the new background: the layers over it, as `edit --background` puts them
    browser.find_element("css selector", f"#background option[value='{ids['sky.mkv']}']").click()
    _wait(browser, lambda: f"background={ids['sky.mkv']}" in browser.find_element("id", "composite").get_attribute("src"))
    sky = np.full_like(background[0], (10, 200, 10))
    over_sky = np.round(255 * over(sky, shifted)).astype(np.uint8)
    assert np.abs(_pixels(browser, "composite").astype(int) - _enlarged(over_sky)).max() <= 1
    # export writes what `genomni edit` writes
    browser.find_element("id", "export").click()
    _wait(
        browser, lambda: browser.find_elements("css selector", "a.job-result") or browser.find_elements("css selector", "#jobs .error"), 60
    )
    exported, _ = read_video(world[0] / "work" / "decomp-edit.mp4")
    assert exported.shape == (4, 24, 32, 3) and np.abs(exported[0].astype(int) - over_sky).mean() < 4  # H.264
    assert not _errors(browser)


def test_a_damaged_shard_is_one_line_on_its_sample_and_the_rest_browsable(studio, browser):
    url, ids = studio
    _open(browser, url, f"#/dataset/{ids['damaged']}")
    _wait(browser, lambda: len(browser.find_elements("css selector", ".card .error")) >= 1)
    errors = browser.find_elements("css selector", ".card .error")
    assert len(errors) == 1 and "checksum" in errors[0].text
    assert len(browser.find_elements("css selector", ".card img")) >= 1  # the other samples still show
    assert all("422" in e["message"] for e in _errors(browser))  # the damaged sample's refusal, nothing else


def test_studio_refuses_what_it_cannot_show_in_one_line(tmp_path, capsys, world):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(["studio", str(empty)]) == 1
    assert "no genomni output or video found" in capsys.readouterr().err
    assert run_cli(["studio", str(tmp_path / "missing")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    server = serve(discover([str(world[0] / "run")]), "127.0.0.1", 0)
    try:
        assert run_cli(["studio", str(world[0] / "run"), "--port", str(server.server_address[1])]) == 1
        assert "cannot listen there" in capsys.readouterr().err
    finally:
        server.server_close()
    assert Path(world[0] / "run" / "train_log.jsonl").is_file()


@pytest.fixture(scope="module")
def clip_studio(tmp_path_factory, sam2_everywhere_dir):
    """A studio over one static-camera clip (a ball and a box with a shadow, true masks known), with a tiny SAM 2
    that sees the object everywhere, an untrained tiny Casper model and a work folder: the page can go from clicks
    to layers."""
    from genomni.models.presets import build_preset
    from genomni.studio.actions import Setup

    root = tmp_path_factory.mktemp("clips")
    video, truth, _ = static_clip(21)
    write_video(root / "clips" / "street.mkv", video, 24.0)
    model = build_preset("tiny", root / "casper")
    setup = Setup(root / "work", str(model), str(sam2_everywhere_dir))
    server = serve(discover([str(root / "clips")]), "127.0.0.1", 0, setup)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root, truth
    server.shutdown()
    server.server_close()


def _click(driver, element_id, x, y, scale):
    """Click at clip pixel (x, y) of the <img> showing a frame enlarged `scale` times."""
    from selenium.webdriver.common.action_chains import ActionChains

    img = driver.find_element("id", element_id)
    _wait(driver, lambda: driver.execute_script(f"return document.getElementById('{element_id}').naturalWidth > 0"))
    shown = img.size["width"] / driver.execute_script(f"return document.getElementById('{element_id}').naturalWidth")
    dx = (x + 0.5) * scale * shown - img.size["width"] / 2
    dy = (y + 0.5) * scale * shown - img.size["height"] / 2
    ActionChains(driver).move_to_element_with_offset(img, int(dx), int(dy)).click().perform()


def _drag(driver, element_id, start, end, scale):
    """Drag from clip pixel `start` to `end` on the <img> showing a frame enlarged `scale` times (draws a box)."""
    from selenium.webdriver.common.action_chains import ActionChains

    img = driver.find_element("id", element_id)
    shown = img.size["width"] / driver.execute_script(f"return document.getElementById('{element_id}').naturalWidth")
    page = [((v + 0.5) * scale * shown) for v in (*start, *end)]
    dx0, dy0 = int(page[0] - img.size["width"] / 2), int(page[1] - img.size["height"] / 2)
    chain = ActionChains(driver).move_to_element_with_offset(img, dx0, dy0).click_and_hold()
    chain.move_by_offset(int(page[2] - page[0]), int(page[3] - page[1])).release().perform()


def _job_done(driver):
    _wait(driver, lambda: driver.find_elements("css selector", "a.job-result") or driver.find_elements("css selector", "#jobs .error"), 240)
    assert not driver.find_elements("css selector", "#jobs .error"), driver.find_element("css selector", "#jobs").text
    return driver.find_element("css selector", "a.job-result").get_attribute("href").split("#")[1]


def test_from_a_clip_to_layers_by_clicking(clip_studio, browser):
    from genomni.footage_folders import open_footage

    url, root, truth = clip_studio
    _open(browser, url, "#/video/0")
    ys, xs = np.nonzero(truth[0, 5])
    scale = max(1, -(-PANEL_HEIGHT // truth.shape[2]))
    browser.execute_script("const r = document.getElementById('scrubber'); r.value = 5; r.dispatchEvent(new Event('input'));")
    _wait(browser, lambda: browser.find_element("id", "frame").get_attribute("src").endswith("/5.png"))
    browser.find_element("id", "object-name").clear()
    browser.find_element("id", "object-name").send_keys("ball")
    _click(browser, "frame", int(xs.mean()), int(ys.mean()), scale)
    assert "ball frame 5" in browser.find_element("id", "points").text
    # the motion method: the click picks the ball, and the mask is the ball's
    browser.find_element("css selector", "#method option[value=motion]").click()
    browser.find_element("id", "make-masks").click()
    footage_hash = _job_done(browser)
    made = open_footage(root / "work" / "street-masks")
    assert made.names == ["ball"] and (made.masks[0] & truth[0]).sum() / (made.masks[0] | truth[0]).sum() >= 0.9
    # SAM 2 (tiny, random weights): a box drawn around the ball gives a mask track of the clip's size, in a new folder
    _open(browser, url, "#/video/0")
    _drag(browser, "frame", (int(xs.min()) - 2, int(ys.min()) - 2), (int(xs.max()) + 2, int(ys.max()) + 2), scale)
    assert "ball frame 5 box (" in browser.find_element("id", "points").text
    browser.find_element("css selector", "#method option[value=sam2]").click()
    browser.find_element("id", "make-masks").click()
    _wait(
        browser,
        lambda: len(browser.find_elements("css selector", "a.job-result")) >= 2 or browser.find_elements("css selector", "#jobs .error"),
        240,
    )
    assert not browser.find_elements("css selector", "#jobs .error"), browser.find_element("id", "jobs").text
    assert open_footage(root / "work" / "street-masks-2").masks.shape == (1, *truth.shape[1:])  # the box and the click
    # decompose the motion footage; a reload while it runs finds the job again
    _open(browser, url, f"#{footage_hash}")
    browser.find_element("id", "decompose").click()
    _wait(browser, lambda: browser.find_elements("css selector", "#jobs .job"))
    browser.refresh()
    _wait(browser, lambda: browser.execute_script("return document.body.dataset.ready") == f"#{footage_hash}")
    layers_hash = _job_done(browser)
    _open(browser, url, f"#{layers_hash}")
    assert [e.get_attribute("data-layer") for e in browser.find_elements("css selector", "input.layer-toggle")] == ["ball"]
    assert (root / "work" / "street-masks-layers" / "decomposition.json").is_file()
    assert not _errors(browser)


def test_a_failing_job_ends_failed_with_its_one_line(tmp_path):
    from genomni.errors import GenomniError
    from genomni.studio.jobs import Jobs

    def broken(report):
        report("step", 1, 3)
        raise GenomniError("the model folder went away")

    job = Jobs().start("masks", 0, broken)
    _wait_for(lambda: job.state != "running")
    assert job.state == "failed" and job.error == "the model folder went away" and job.done == 1 and job.total == 3


def test_clip_requests_that_cannot_work_are_refused_before_any_job(tmp_path):
    """A click request is checked before a job starts: names, frames, a missing model; nothing is written."""
    from genomni.errors import GenomniError
    from genomni.studio.actions import Setup, masks_job

    video, _, _ = static_clip(22, t=6)
    write_video(tmp_path / "clip.mkv", video, 24.0)
    setup = Setup(tmp_path / "work")
    cases = [
        ({"method": "sam2", "points": [{"name": "a", "frame": 0, "x": 1, "y": 1}]}, "SAM 2 masks need a model"),
        ({"method": "motion", "points": []}, "click on the object at least once"),
        ({"method": "motion", "points": [{"name": "../x", "frame": 0, "x": 1, "y": 1}]}, "object name '../x'"),
        ({"method": "motion", "points": [{"name": "a", "frame": 9, "x": 1, "y": 1}]}, "the clip has 6 frames"),
        ({"method": "motion", "points": [{"name": "a", "frame": 0, "x": "1", "y": 1}]}, "numbers in pixels"),
        ({"method": "magic", "points": []}, "sam2 or motion"),
    ]
    for body, message in cases:
        with pytest.raises(GenomniError, match=re.escape(message)):
            masks_job(setup, str(tmp_path / "clip.mkv"), body)
    assert not (tmp_path / "work").exists()


def _wait_for(done, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end and not done():
        time.sleep(0.02)
