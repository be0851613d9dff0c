import numpy as np
import pytest
from conftest import run_cli

from genomni.shards import iter_samples


def test_png_export_import_export_is_lossless(kubric_dir, tmp_path):
    assert run_cli(["data", "export", str(kubric_dir), "--out", str(tmp_path / "a"), "--format", "png"]) == 0
    assert run_cli(["data", "import", str(tmp_path / "a"), "--out", str(tmp_path / "ds"), "--source", "kubric"]) == 0
    originals = {s.key: s for s in iter_samples(kubric_dir)}
    again = list(iter_samples(tmp_path / "ds"))
    assert sorted(s.key for s in again) == sorted(originals)
    for s in again:
        o = originals[s.key]
        assert np.array_equal(s.input, o.input) and np.array_equal(s.target, o.target)
        assert np.array_equal(s.trimask, o.trimask) and s.caption == o.caption and s.meta == o.meta
    files = {f: f.read_bytes() for f in (tmp_path / "ds").iterdir() if f.is_file()}
    # the same import again (a run killed while exiting, run once more): complete, nothing rewritten
    assert run_cli(["data", "import", str(tmp_path / "a"), "--out", str(tmp_path / "ds"), "--source", "kubric"]) == 0
    assert {f: f.read_bytes() for f in (tmp_path / "ds").iterdir() if f.is_file()} == files
    assert run_cli(["data", "import", str(tmp_path / "a"), "--out", str(tmp_path / "ds")]) == 1  # another import: never overwrites


def test_gen_omnimatte_tuples_round_trip(kubric_dir, tmp_path, capsys):
    assert run_cli(["data", "export", str(kubric_dir), "--out", str(tmp_path / "g"), "--format", "gen-omnimatte"]) == 0
    folders = [p for p in sorted((tmp_path / "g").iterdir()) if not p.name.startswith(".")]  # .genomni: the writer's lock
    assert {p.name for p in folders[0].iterdir()} >= {"rgb_full.mp4", "mask.mp4", "rgb_removed.mp4", "caption.txt"}
    for folder in folders:
        (folder / "mask.mkv").unlink()  # as the public tuples come: only the lossy mp4 mask
    assert run_cli(["data", "import", str(tmp_path / "g"), "--out", str(tmp_path / "ds")]) == 0
    originals = {s.key: s for s in iter_samples(kubric_dir)}
    for s in iter_samples(tmp_path / "ds"):
        o = originals[s.key]
        assert set(np.unique(s.trimask)) <= {0, 128, 255}
        assert (s.trimask != o.trimask).mean() < 0.01  # H.264 edges, snapped explicitly and counted
        assert s.meta["mask_pixels_snapped"] >= 0 and s.meta["source"] == "omnimatte"
        assert np.abs(s.input.astype(int) - o.input).mean() < 12  # H.264 4:2:0 on noisy 48 px renders: 8.5 measured


@pytest.mark.parametrize("fmt", ["footage", "png", "gen-omnimatte", "void"])
def test_export_never_replaces_a_key_folder_holding_files_it_did_not_write(kubric_dir, tmp_path, capsys, fmt):
    """An export replaced `<out>/<key>/` wholesale, a user's file in it included; now a key folder with anything the
    export does not write is refused before it is touched, and a folder of the export's own files is re-exported."""
    out = tmp_path / "x"
    args = ["data", "export", str(kubric_dir), "--out", str(out)] + ([] if fmt == "footage" else ["--format", fmt])
    assert run_cli(args) == 0
    key = next(p for p in sorted(out.iterdir()) if not p.name.startswith("."))
    assert run_cli(args) == 0  # its own files: replaced
    (key / "notes.txt").write_text("mine")
    before = sorted(p.name for p in key.iterdir())
    assert run_cli(args) == 1
    err = capsys.readouterr().err
    assert f"{key} holds notes.txt, which genomni did not write there" in err and err.count("\n") == 1
    assert (key / "notes.txt").read_text() == "mine" and sorted(p.name for p in key.iterdir()) == before


@pytest.mark.parametrize("verb", ["export", "import"])
def test_import_and_export_take_the_output_folders_lock(kubric_dir, tmp_path, capsys, verb):
    """Two imports into one --out both exited 0 and left an orphan shard and bad manifest lines: a second writer
    of a folder now gets the one-line refusal every other writer gives."""
    from genomni.outdir import exclusive

    out = tmp_path / "o"
    if verb == "import":
        assert run_cli(["data", "export", str(kubric_dir), "--out", str(tmp_path / "png"), "--format", "png"]) == 0
        args = ["data", "import", str(tmp_path / "png"), "--out", str(out)]
    else:
        args = ["data", "export", str(kubric_dir), "--out", str(out)]
    with exclusive(out):  # another genomni process writing the folder
        assert run_cli(args) == 1
    assert "is being written by another genomni process" in capsys.readouterr().err
    assert run_cli(args) == 0  # released


def test_every_export_format_honours_key_limit_and_benchmark(kubric_dir, tmp_path):
    """--limit, --key and --benchmark were read by the footage format only: png and gen-omnimatte exported every
    sample whatever was asked, and --limit -1 exported nothing with exit 0."""
    from genomni.shards import iter_samples

    keys = [s.key for s in iter_samples(kubric_dir)]
    for fmt in ("png", "gen-omnimatte", "footage", "void"):
        out = tmp_path / fmt
        assert run_cli(["data", "export", str(kubric_dir), "--out", str(out), "--format", fmt, "--limit", "2"]) == 0
        assert sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")) == sorted(keys[:2])
        one = tmp_path / f"{fmt}-key"
        assert run_cli(["data", "export", str(kubric_dir), "--out", str(one), "--format", fmt, "--key", keys[-1]]) == 0
        assert [p.name for p in one.iterdir() if p.is_dir() and not p.name.startswith(".")] == [keys[-1]]
        bench = tmp_path / f"{fmt}-bench"
        assert run_cli(["data", "export", str(kubric_dir), "--out", str(bench), "--format", fmt, "--benchmark"]) == 0
        assert all(p.name.endswith("-all") for p in bench.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert run_cli(["data", "export", str(kubric_dir), "--out", str(tmp_path / "none"), "--limit", "-1"]) == 2
    assert not (tmp_path / "none").exists()
