import json

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from genomni.configfile import build
from genomni.datasets.inspect import summarize
from genomni.errors import GenomniError
from genomni.generators.kubric.config import KubricConfig
from genomni.shards import read_manifest


def test_inspect_summary_matches_the_manifest(kubric_dir):
    records = read_manifest(kubric_dir)
    summary = summarize(kubric_dir)
    assert summary.samples == len(records) and summary.shards == 2
    assert summary.per_source == {"kubric": len(records)}
    assert summary.resolutions == ["48x48"] and summary.frames == [5]
    effect = [r["qc"]["effect_frac"] for r in records]
    assert summary.qc["effect_frac"]["mean"] == pytest.approx(float(np.mean(effect)))
    assert summary.qc["residual_object_pixels"]["max"] == 0


def test_inspect_cli_writes_previews_and_json(kubric_dir, tmp_path, capsys):
    png, gif = tmp_path / "p.png", tmp_path / "p.gif"
    assert run_cli(["data", "inspect", str(kubric_dir), "--preview", str(png), "--gif", str(gif), "--count", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["samples"] == len(read_manifest(kubric_dir))
    img = np.asarray(Image.open(png))
    assert img.shape == (3 * (48 + 2), 3 * 48 + 4, 3)  # 3 rows of input | trimask | target
    frames = Image.open(gif)
    assert frames.n_frames == 5 and frames.size == (3 * 48 + 4, 3 * 50)


def test_inspect_of_a_non_dataset_fails_clearly(tmp_path, capsys):
    assert run_cli(["data", "inspect", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == f"error: {tmp_path}: no dataset.json; is this a genomni shard directory?"


def test_config_file_values_and_cli_overrides(tmp_path):
    f = tmp_path / "k.yaml"
    f.write_text("frames: 9\nheight: 64\nwidth: 96\nfloors: [wood, tiles]\nmax-objects: 2\n")
    cfg = build(KubricConfig, f, {"frames": 12, "seed": None})
    assert (cfg.frames, cfg.height, cfg.width, cfg.floors, cfg.max_objects, cfg.seed) == (12, 64, 96, ("wood", "tiles"), 2, 0)
    f.write_text("framez: 9\n")
    with pytest.raises(GenomniError, match="unknown option\\(s\\) framez"):
        build(KubricConfig, f, {})
    f.write_text("frames: [\n")
    with pytest.raises(GenomniError, match="is not valid YAML"):
        build(KubricConfig, f, {})


def test_validate_passes_a_good_dataset_and_names_bad_samples(kubric_dir, tmp_path, capsys):
    import shutil

    from genomni.shards import iter_samples, write_index, write_shard

    assert run_cli(["data", "validate", str(kubric_dir)]) == 0
    assert f"{len(read_manifest(kubric_dir))} of {len(read_manifest(kubric_dir))} samples pass" in capsys.readouterr().out
    bad = tmp_path / "bad"
    shutil.copytree(kubric_dir, bad)
    first = next(iter_samples(kubric_dir))
    first.caption = " "
    shard = sorted(bad.glob("kubric-*.tar"))[0]
    others = [s for s in iter_samples([shard]) if s.key != first.key]
    records = write_shard(shard, [first, *others])
    # first as a buggy generator would write it: manifest and card agree with the bytes, the caption is empty
    write_index(bad, records + [r for r in read_manifest(kubric_dir) if r["shard"] != shard.name], {})
    assert run_cli(["data", "validate", str(bad), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    reasons = {b["key"]: b["reason"] for b in out["bad"]}
    assert reasons == {first.key: "empty caption"} and out["ok"] == out["samples"] - 1
    # the same bytes behind the original manifest: the changed member is named, as is the changed shard file
    shutil.copy(kubric_dir / "manifest.jsonl", bad / "manifest.jsonl")
    shutil.copy(kubric_dir / "dataset.json", bad / "dataset.json")
    assert run_cli(["data", "validate", str(bad), "--json"]) == 1
    reasons = {b["key"]: b["reason"] for b in json.loads(capsys.readouterr().out)["bad"]}
    assert reasons[first.key].endswith(f"sample {first.key}: member caption.txt does not match its manifest checksum (damaged)")
    assert reasons["*"] == "shard file does not match its dataset.json checksum (damaged or changed)"
