"""`genomni data export --format hub`: the folder loads back with Hugging Face `datasets` (the reference reader the
Hub's viewer uses) sample for sample, its card carries the Hub's metadata, and splits never cut a scene."""

import json

import numpy as np
import pytest
import yaml
from conftest import run_cli
from test_shards import make_sample

from genomni.datasets.hub import assign_scenes, parse_splits
from genomni.media import decode_video
from genomni.shards import iter_samples, read_manifest, write_index, write_shard


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory):
    """40 scenes of 2 samples each; metas differ between samples (a `light` dict only from scene 6 on, a
    `depth.npy` member only on odd samples), as different generators' do."""
    out = tmp_path_factory.mktemp("scenes") / "ds"
    samples = []
    for scene in range(40):
        for k in range(2):
            s = make_sample(2 * scene + k)
            s.key = f"gen-s{scene:07d}-{k}"
            s.meta = {
                **s.meta,
                "source": "gen",
                "scene_index": scene,
                "light": {"rgb": [1.0, 0.5, 0.2], "deg": 40.0} if scene >= 6 else None,
            }
            if (2 * scene + k) % 2 == 0:
                del s.extras["depth"]
            samples.append(s)
    records = write_shard(out / "gen-000000.tar", samples[:50]) + write_shard(out / "gen-000001.tar", samples[50:])
    write_index(out, records, {"source": "gen", "command": "genomni generate test"})
    return out


def _rounded(meta):
    return json.loads(json.dumps(meta), parse_float=lambda text: round(float(text), 12))


def _hub(src, out, *extra):
    return run_cli(["data", "export", str(src), "--format", "hub", "--out", str(out), *extra])


def test_the_hub_folder_loads_back_with_datasets_sample_for_sample(scenes_dir, tmp_path):
    import datasets

    out = tmp_path / "hub"
    assert _hub(scenes_dir, out, "--split", "train=0.9,val=0.1", "--license", "cc-by-4.0") == 0
    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["license"] == "cc-by-4.0" and meta["size_categories"] == ["n<1K"] and meta["task_categories"] == ["video-to-video"]
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "data/train/*.tar"}, {"split": "val", "path": "data/val/*.tar"}]
    assert "![input | trimask | target" in card and (out / "preview.png").is_file()
    loaded = datasets.load_dataset(str(out))
    assert {name: len(loaded[name]) for name in loaded} == {"train": 72, "val": 8}
    source = {s.key: s for s in iter_samples(scenes_dir)}
    for split in ("train", "val"):
        for row in loaded[split]:
            s = source[row["__key__"]]
            # datasets' Json column keeps floats to about 15 digits (1.2000000000000002 reads back as 1.2)
            assert row["caption.txt"] == s.caption and _rounded(row["meta.json"]) == _rounded(s.meta)
            assert np.array_equal(decode_video(row["input.mkv"]["bytes"])[0], s.input)
            assert np.array_equal(decode_video(row["trimask.mkv"]["bytes"])[0], s.trimask)
            if "depth" in s.extras:
                assert np.array_equal(np.array(row["depth.npy"], np.float32), s.extras["depth"])
            else:
                assert row["depth.npy"] is None
    # genomni reads a split as a shard directory
    assert sorted(s.key for s in iter_samples(out / "data" / "val")) == sorted(r["__key__"] for r in loaded["val"])


def test_splits_follow_the_shares_and_never_cut_a_scene(scenes_dir, tmp_path):
    out = tmp_path / "hub"
    assert _hub(scenes_dir, out, "--split", "train=0.75,val=0.15,test=0.1") == 0
    scenes = {name: {r["scene"] for r in read_manifest(out / "data" / name)} for name in ("train", "val", "test")}
    assert [len(v) for v in scenes.values()] == [30, 6, 4]
    assert not (scenes["train"] & scenes["val"]) and not (scenes["train"] & scenes["test"]) and not (scenes["val"] & scenes["test"])
    # the assignment is a function of the scene names alone, not of their order
    names = [f"gen/{i}" for i in range(40)]
    assert assign_scenes(names, parse_splits("a=0.5,b=0.5")) == assign_scenes(names[::-1], parse_splits("a=0.5,b=0.5"))
    # a split with a share gets a scene while there are enough; with fewer scenes than splits one stays empty
    assert sorted(assign_scenes(names, parse_splits("a=0.999,b=0.001")).values()).count("b") == 1
    assert set(assign_scenes(names[:2], parse_splits("a=0.98,b=0.01,c=0.01")).values()) != {"a", "b", "c"}


def test_a_split_no_scene_lands_in_is_one_line(tmp_path, capsys):
    out = tmp_path / "ds"
    records = write_shard(out / "gen-000000.tar", [make_sample(0), make_sample(1)])
    write_index(out, records, {"source": "gen"})
    assert _hub(out, tmp_path / "hub", "--split", "a=0.98,b=0.01,c=0.01") == 1
    assert "no scene would land in" in capsys.readouterr().err
    assert not (tmp_path / "hub" / "data").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--split", "train=0.9,val=0.2"], "the shares must add up to 1"),
        (["--split", "train=1,train=0"], "each share must be in (0, 1]"),
        (["--split", "train"], "give NAME=SHARE pairs"),
        (["--license", "CC BY"], "--license 'CC BY'"),
        (["--limit", "3"], "leave out --key, --limit and --benchmark"),
    ],
)
def test_hub_exports_that_cannot_work_are_one_line_before_any_work(scenes_dir, tmp_path, capsys, extra, message):
    assert _hub(scenes_dir, tmp_path / "hub", *extra) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "hub" / "data").exists() and not (tmp_path / "hub" / "README.md").exists()


def test_a_folder_with_the_users_files_is_refused(scenes_dir, tmp_path, capsys):
    out = tmp_path / "hub"
    out.mkdir()
    (out / "notes.md").write_text("mine")
    assert _hub(scenes_dir, out) == 1
    assert "holds notes.md" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["notes.md"]
