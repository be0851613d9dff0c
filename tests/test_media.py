import numpy as np
import pytest

from genomni.errors import GenomniError
from genomni.media import decode_video, encode_video, read_video, resize_video, write_video


def _video(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_ffv1_roundtrip_is_exact_for_rgb_and_gray():
    rgb, gray = _video((4, 17, 23, 3)), _video((3, 9, 11), 1)
    out, fps = decode_video(encode_video(rgb, 24))
    assert fps == 24.0 and out.shape == rgb.shape and np.array_equal(out, rgb)
    out, _ = decode_video(encode_video(gray, 12.5))
    assert out.shape == gray.shape and np.array_equal(out, gray)


def test_encoding_is_byte_deterministic():
    v = _video((3, 16, 16, 3))
    assert encode_video(v, 24) == encode_video(v.copy(), 24)


def test_h264_is_close_but_lossy_and_needs_even_sizes():
    smooth = np.tile(np.linspace(0, 255, 32, dtype=np.uint8)[None, None, :, None], (3, 32, 1, 3))
    out, _ = decode_video(encode_video(smooth, 24, codec="h264"))
    assert out.shape == smooth.shape
    assert np.abs(out.astype(int) - smooth.astype(int)).mean() < 3
    with pytest.raises(GenomniError, match="even"):
        encode_video(_video((2, 15, 16, 3)), 24, codec="h264")
    with pytest.raises(GenomniError, match="losslessly"):
        encode_video(_video((2, 16, 16)), 24, codec="h264")


def test_files_and_frame_folders_roundtrip(tmp_path):
    v = _video((3, 10, 12, 3))
    write_video(tmp_path / "a.mkv", v, 30)
    got, fps = read_video(tmp_path / "a.mkv")
    assert fps == 30.0 and np.array_equal(got, v)
    write_video(tmp_path / "frames", v)
    got, fps = read_video(tmp_path / "frames")
    assert fps is None and np.array_equal(got, v)
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_inputs_fail_clearly(tmp_path):
    with pytest.raises(GenomniError, match="no such file"):
        read_video(tmp_path / "missing.mp4")
    (tmp_path / "clip.txt").write_text("x")
    with pytest.raises(GenomniError, match="unsupported video type"):
        read_video(tmp_path / "clip.txt")
    (tmp_path / "broken.mkv").write_bytes(b"not a video at all")
    with pytest.raises(GenomniError, match="cannot decode"):
        read_video(tmp_path / "broken.mkv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenomniError, match="no PNG/JPG"):
        read_video(tmp_path / "empty")
    with pytest.raises(GenomniError, match="uint8"):
        encode_video(np.zeros((2, 4, 4, 3), np.float32), 24)


def test_resize_nearest_keeps_mask_values():
    m = np.zeros((2, 8, 8), np.uint8)
    m[:, :4] = 255
    m[:, 4:6] = 128
    out = resize_video(m, (5, 13), nearest=True)
    assert out.shape == (2, 5, 13) and set(np.unique(out)) == {0, 128, 255}


def test_frame_folders_read_in_number_order_and_refuse_a_stray_image(tmp_path):
    """frame1..frame12 without zero padding are frames 1..12, not 1, 10, 11, 12, 2, ...; a preview.png among the
    frames is named, not read as a frame."""
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(1, 13):
        cv2.imwrite(str(folder / f"frame{k}.png"), np.full((4, 6, 3), k * 10, np.uint8))
    frames, _ = read_video(folder)
    assert [int(f[0, 0, 0]) for f in frames] == [k * 10 for k in range(1, 13)]
    cv2.imwrite(str(folder / "preview.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(GenomniError, match=r"preview.png is not named like the frames \(frame1.png, ...\); move it out"):
        read_video(folder)


def test_a_footage_folder_with_two_inputs_is_refused_not_guessed(tmp_path):
    from genomni.footage_folders import open_footage

    folder = tmp_path / "clip"
    write_video(folder / "input.mkv", np.zeros((3, 8, 8, 3), np.uint8))
    write_video(folder / "input.mp4", np.zeros((3, 8, 8, 3), np.uint8))
    write_video(folder / "masks" / "a", np.full((3, 8, 8), 255, np.uint8))
    with pytest.raises(GenomniError, match="holds input.mkv and input.mp4; keep one"):
        open_footage(folder)


def test_h264_encoding_is_byte_identical_wherever_the_frames_lie():
    """libx264's assembly chose its paths by where the buffers happened to lie, so the same frames gave different
    bytes and pixels from one call to the next (a decompose's recomposition.mp4 differed between clean runs by up to
    24 levels). The same frames at every byte offset of a buffer must encode alike."""
    import hashlib

    from genomni.media import encode_video

    rng = np.random.default_rng(0)
    frames = np.repeat(np.repeat(rng.integers(0, 255, (9, 8, 8, 3), dtype=np.uint8), 8, 1), 8, 2)
    digests = set()
    for offset in range(64):
        buffer = np.empty(frames.size + 64, np.uint8)
        placed = buffer[offset : offset + frames.size].reshape(frames.shape)
        placed[...] = frames
        digests.add(hashlib.sha256(encode_video(placed, 24.0, "h264")).hexdigest())
    assert len(digests) == 1


def test_a_png_frame_that_cannot_be_written_raises_and_no_folder_is_committed(tmp_path):
    """On a full tmpfs cv2.imwrite returned True after writing 0 bytes, and decompose committed folders of empty
    frames its --resume kept. Frames are now encoded in memory and written by Python: a full device raises."""
    import errno
    import os
    import subprocess

    from genomni.media import write_png

    frame = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    (tmp_path / "full.png").symlink_to("/dev/full")  # a device that is always full: ENOSPC, which the CLI says in one line
    with pytest.raises(OSError) as info:
        write_png(tmp_path / "full.png", frame)
    assert info.value.errno == errno.ENOSPC
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8K", "tmpfs", str(disk)], capture_output=True).returncode == 0
    )
    if not mounted:
        pytest.skip("the tmpfs half needs root (mount); the /dev/full half ran")
    try:
        small = frame[:24, :24]  # 1.8 KB of PNG: stdio holds it until close, where the full disk shows
        with pytest.raises(OSError):
            write_video(disk / "frames", np.stack([small] * 4))  # two 4 KB pages fit, the third frame does not
        assert not (disk / "frames").exists() and not any(p.stat().st_size == 0 for p in disk.rglob("*.png"))
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_rewrite_killed_between_its_two_renames_loses_nothing(tmp_path):
    """kill -9 after the old folder is moved aside and before the new one takes its name: the next writer of that
    path puts the previous version back (it is whole) instead of deleting it as a leftover."""
    import subprocess
    import sys
    import textwrap

    target = tmp_path / "model"
    target.mkdir()
    (target / "weights.bin").write_bytes(b"old")
    killer = textwrap.dedent(
        f"""
        import os
        from genomni import media
        real = os.replace
        def replace(a, b):
            real(a, b)
            os._exit(9)  # as a kill -9 would stop it: no cleanup runs
        media.os.replace = replace
        with media.atomic_dir({str(target)!r}) as tmp:
            (tmp / "weights.bin").write_bytes(b"new")
        """
    )
    assert subprocess.run([sys.executable, "-c", killer]).returncode == 9
    assert not target.exists() and (tmp_path / ".model.old" / "weights.bin").read_bytes() == b"old"

    from genomni.media import atomic_dir

    with pytest.raises(RuntimeError):
        with atomic_dir(target):
            raise RuntimeError("the next writer fails too")
    assert (target / "weights.bin").read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.parametrize("name", ["clip.mkv", "clip.mp4", "frames"])
def test_a_comment_is_read_back_from_what_write_video_wrote_and_from_nothing_else(tmp_path, name):
    """The tag `edit --overwrite` trusts: in Matroska and mp4 container metadata, in a frame folder's note file (which
    the frame reader does not take for a frame); a video written without one, and a non-video, have none."""
    from genomni.media import video_comment

    frames = np.zeros((2, 16, 16, 3), np.uint8)
    write_video(tmp_path / name, frames, comment="genomni edit")
    assert video_comment(tmp_path / name) == "genomni edit"
    assert np.array_equal(read_video(tmp_path / name)[0], frames)
    write_video(tmp_path / ("plain-" + name), frames)
    assert video_comment(tmp_path / ("plain-" + name)) is None
    (tmp_path / "notes.txt").write_text("not a video")
    assert video_comment(tmp_path / "notes.txt") is None
