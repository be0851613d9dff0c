"""How much memory a decomposition needs, estimated before any work so a clip too large for the machine is refused
in one line: one layer optimization's peak (fixed + per frame-pixel + per pixel of one frame) and what decompose
holds besides. The coefficients are fitted by benchmarks/omnimatte_memory.py and rounded up here."""

from __future__ import annotations

import os

from ..errors import GenomniError

# Peak memory of one layer = fixed + per frame-pixel (the input clips, the foreground with its bfloat16 Adam moments,
# the result) + per pixel of one frame (the U-Net's activations on one full-size frame, checkpointed, and the batch).
LAYER_BYTES_FIXED = 220e6
LAYER_BYTES_PER_FRAME_PIXEL = 40.0
LAYER_BYTES_PER_PIXEL = 4_200.0


def layer_memory_bytes(frames: int, height: int, width: int) -> float:
    """Estimated peak memory (bytes) of one layer optimization on a (frames, height, width) clip."""
    return LAYER_BYTES_FIXED + LAYER_BYTES_PER_FRAME_PIXEL * frames * height * width + LAYER_BYTES_PER_PIXEL * height * width


def machine_memory_bytes() -> int:
    """This machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# What decompose holds besides the layer being made, per frame-pixel: the input video and background (3 bytes each), and
# per object its mask (1) and finished RGBA layer (4); previews and checks stream eight frames at a time.
HELD_BYTES_PER_FRAME_PIXEL, HELD_BYTES_PER_OBJECT_FRAME_PIXEL = 6.0, 5.0


def held_memory_bytes(objects: int, frames: int, height: int, width: int) -> float:
    """What decompose holds besides the layers being made (bytes)."""
    return (HELD_BYTES_PER_FRAME_PIXEL + HELD_BYTES_PER_OBJECT_FRAME_PIXEL * objects) * frames * height * width


def decompose_memory_bytes(objects: int, frames: int, height: int, width: int, workers: int = 1) -> float:
    """Estimated peak memory (bytes) of a whole decompose making `workers` layers at once: their peaks plus what
    decompose holds (an upper bound for layers by the rule, which need less than an optimized layer)."""
    return workers * layer_memory_bytes(frames, height, width) + held_memory_bytes(objects, frames, height, width)


def check_layer_memory(frames: int, height: int, width: int, objects: int = 1) -> None:
    """Refuse, before any work, a clip whose decomposition would need more memory than the machine has."""
    need, have = decompose_memory_bytes(objects, frames, height, width), machine_memory_bytes()
    if need > have:
        raise GenomniError(
            f"decomposing {objects} object(s) over {frames} frames at {width}x{height} needs about "
            f"{need / 1e9:.1f} GB, more than this machine's {have / 1e9:.1f} GB; downscale the video or "
            f"split it into shorter clips"
        )
