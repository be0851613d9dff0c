"""Captioners: text describing a sample's *target* clip.

`TemplateCaptioner` writes captions from scene metadata (synthetic scenes know what they show).
Model captioners (BLIP-2) implement the same `Captioner` protocol.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Captioner(Protocol):
    """Anything that captions a target clip, given its frames and the sample metadata."""

    name: str

    def caption(self, target: np.ndarray, meta: dict[str, Any]) -> str: ...


FLOOR_WORDS = {"plain": "plain", "wood": "wooden", "tiles": "tiled", "concrete": "concrete", "checker": "checkered"}


def _sun_phrase(elevation: float) -> str:
    if elevation < 25:
        return "low sunlight casting long shadows"
    if elevation < 50:
        return "afternoon sunlight"
    return "bright overhead sunlight"


def _object_phrase(obj: dict[str, Any]) -> str:
    finish = {"matte": "", "glossy": "shiny ", "metallic": "metallic "}[obj["finish"]]
    name = obj["asset"]["name"].replace("_", " ")
    if name.startswith("shape"):
        name = "object"
    elif name == "uv sphere" or name == "ico sphere":
        name = "sphere"
    return f"a {finish}{obj['color_name']} {name}"


class TemplateCaptioner:
    """Caption from scene metadata: the kept objects, the floor, walls and the light."""

    name = "template"

    def caption(self, target: np.ndarray, meta: dict[str, Any]) -> str:
        scene = meta["scene"]
        kept = [o for o in scene["objects"] if o["id"] in meta.get("kept_ids", [])]
        floor = scene["floor"]
        surface = f"a {'glossy ' if floor['glossy'] else ''}{FLOOR_WORDS[floor['kind']]} floor"
        if scene["walls"]:
            surface += " beside a wall"
        light = _sun_phrase(scene["light"]["sun_elevation"])
        if kept:
            things = ", ".join(_object_phrase(o) for o in kept)
            text = f"{things} on {surface} in {light}"
        else:
            text = f"an empty scene of {surface} in {light}"
        if scene["camera"]["azimuth_sweep"]:
            text += ", the camera slowly orbiting"
        return text[0].upper() + text[1:] + "."


def make_captioner(name: str) -> Captioner:
    """Captioner by name; model captioners need their own options and are built elsewhere."""
    if name == "template":
        return TemplateCaptioner()
    from ..errors import GenomniError

    raise GenomniError(f"unknown captioner {name!r}; available here: template")
