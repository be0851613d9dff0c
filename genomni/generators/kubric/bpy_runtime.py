"""Blender as a Python module: importing `bpy` (or one line naming what to install), the OpenImageIO bundled
inside it, sRGB conversion as Blender's Standard view transform does it, and silencing its C-level prints. Both
the renderer and the HDRI reader import it, so neither imports the other."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ...errors import GenomniError


def require_bpy():
    """Import Blender's `bpy`, or fail with one line naming what to install."""
    if "bpy" not in sys.modules:
        # A process spawned from one that imported bpy inherits its sys.path, whose bundled
        # scripts/modules/bpy package would shadow the real module: drop those entries first.
        sys.path[:] = [p for p in sys.path if not (f"{os.sep}bpy{os.sep}" in p and f"{os.sep}scripts" in p)]
    try:
        return importlib.import_module("bpy")
    except ImportError as exc:
        raise GenomniError(
            "the kubric generator renders with Blender: install it with pip install 'genomni[render]' (bpy 4.5 for Python 3.11)"
        ) from exc


def open_image_io():
    """OpenImageIO as bundled inside bpy (reads the multi-layer EXR with the Object Index pass)."""
    bpy = require_bpy()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = Path(bpy.utils.resource_path("LOCAL")) / "python" / "lib" / version / "site-packages"
    if str(site) not in sys.path:
        sys.path.append(str(site))
    return importlib.import_module("OpenImageIO")


def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def linear_to_srgb8(x: np.ndarray) -> np.ndarray:
    """Scene-linear float RGB -> 8-bit sRGB, as Blender's 'Standard' view transform without dithering."""
    x = np.clip(x, 0.0, 1.0)
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.round(y * 255.0).astype(np.uint8)


class quiet_stdout:
    """Silence Blender's per-frame prints (it writes to fd 1 from C), keeping our own output clean."""

    def __enter__(self):
        sys.stdout.flush()
        self._saved = os.dup(1)
        self._null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self._null, 1)
        return self

    def __exit__(self, *exc):
        os.dup2(self._saved, 1)
        os.close(self._saved)
        os.close(self._null)
        return False


GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI")  # Cycles' GPU backends in the bpy wheel, the first found is used


def use_gpu(bpy) -> str:
    """Render on every GPU of the first backend Cycles finds (OptiX, CUDA, HIP, oneAPI) and name them, e.g.
    "OPTIX: NVIDIA H100 80GB HBM3"; a machine with none is a one-line error. Preferences are reset with the
    factory settings each scene, so this runs per scene."""
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for kind in GPU_BACKENDS:
        try:
            prefs.compute_device_type = kind
        except TypeError:  # not built into this bpy
            continue
        prefs.refresh_devices()
        gpus = [d for d in prefs.devices if d.type == kind]
        if gpus:
            for d in prefs.devices:
                d.use = d.type == kind
            return f"{kind}: " + ", ".join(d.name for d in gpus)
    raise GenomniError(
        "--render-device gpu: Cycles finds no GPU on this machine (OptiX, CUDA, HIP, oneAPI); render with --render-device cpu"
    )


@contextmanager
def held_interrupt() -> Iterator[None]:
    """Ctrl-C during a Blender call is held and raised after it: Blender runs Cycles' Python render code inside
    its operator and swallows a KeyboardInterrupt raised there (printing a traceback and going on), so without
    this a run could not be interrupted, and a frame it cut short could be kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt
