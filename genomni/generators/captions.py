"""Captioners: text describing a sample's *target* clip.

`TemplateCaptioner` writes captions from scene metadata (synthetic scenes know what they show).
Model captioners (BLIP-2) implement the same `Captioner` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from ..options import option


class Captioner(Protocol):
    """Anything that captions a target clip, given its frames and the sample metadata."""

    name: str

    def caption(self, target: np.ndarray, meta: dict[str, Any]) -> str: ...


FLOOR_WORDS = {"plain": "plain", "wood": "wooden", "tiles": "tiled", "concrete": "concrete", "checker": "checkered"}


def _sun_phrase(elevation: float, objects: bool, sunlit: bool = True) -> str:
    """The light; shadows are named only where the target has objects to cast them. Where the setting has no sun
    (night, indoors, a studio) the lamp is named as a light, not as sunlight."""
    if not sunlit:
        kind = "a low light" if elevation < 25 else "a light from above"
        return f"{kind} casting long shadows" if objects and elevation < 25 else kind
    if elevation < 25:
        return "low sunlight casting long shadows" if objects else "low sunlight"
    if elevation < 50:
        return "afternoon sunlight"
    return "bright overhead sunlight"


NAME_WORDS = {"uv sphere": "sphere", "ico sphere": "sphere", "soccerball": "soccer ball", "jenga": "wooden block"}
PATTERN_WORDS = {"checker": "checkered", "stripes": "striped", "spots": "spotted", "mottled": "mottled"}
# The environment maps shipped with bpy, as a caption names their setting.
HDRI_WORDS = {
    "city": "in a city",
    "courtyard": "in a courtyard",
    "forest": "in a garden",
    "interior": "indoors",
    "night": "at night",
    "studio": "in a studio",
    "sunrise": "at sunrise",
    "sunset": "at sunset",
}
SUNLESS = ("indoors", "at night", "in a studio")


def _object_phrase(obj: dict[str, Any]) -> str:
    finish = {"matte": "", "glossy": "shiny ", "metallic": "metallic "}[obj["finish"]]
    name = obj["asset"]["name"].replace("_", " ")
    name = "object" if name.startswith("shape") else NAME_WORDS.get(name, name)
    pattern = obj.get("pattern", "plain")
    if pattern == "image":  # its own texture: the colour sampled for it is not what it shows
        words = f"{finish}{name}"
    elif pattern in PATTERN_WORDS:
        words = f"{finish}{obj['color_name']} and {obj['color2_name']} {PATTERN_WORDS[pattern]} {name}"
    else:
        words = f"{finish}{obj['color_name']} {name}"
    return ("an " if words[0] in "aeiou" else "a ") + words


NUMBER_WORDS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def _counted(phrases: list[str]) -> str:
    """'a red cube, a red cube, a duck' -> 'two red cubes, a duck' (first-seen order)."""
    counts: dict[str, int] = {}
    for p in phrases:
        counts[p] = counts.get(p, 0) + 1
    out = []
    for p, n in counts.items():
        if n == 1:
            out.append(p)
            continue
        words = p.split(" ", 1)[1]  # drop the article
        if words.endswith("y") and not words.endswith(("ay", "ey", "oy", "uy")):
            plural = words[:-1] + "ies"
        else:
            plural = words + ("es" if words.endswith(("s", "x", "ch", "sh", "domino")) else "s")
        out.append(f"{NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else n} {plural}")
    return ", ".join(out)


def _setting_phrase(light: dict[str, Any]) -> str:
    """Where the environment map puts the scene (bundled maps by name), or nothing for the sky and unknown maps."""
    if light.get("world") != "hdri":
        return ""
    stem = light.get("hdri", "").rpartition(":")[2].rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return HDRI_WORDS.get(stem, "") if light["hdri"].startswith("bpy:") else ""


class TemplateCaptioner:
    """Caption from scene metadata: the kept objects, the floor, walls and the light."""

    name = "template"

    def caption(self, target: np.ndarray, meta: dict[str, Any]) -> str:
        scene = meta["scene"]
        kept = [o for o in scene["objects"] if o["id"] in meta.get("kept_ids", []) or o.get("role") == "scenery"]
        floor = scene["floor"]
        surface = f"a {'glossy ' if floor['glossy'] else ''}{FLOOR_WORDS[floor['kind']]} floor"
        if scene["walls"]:
            surface += " beside a wall"
        setting = _setting_phrase(scene["light"])
        light = _sun_phrase(scene["light"]["sun_elevation"], bool(kept), setting not in SUNLESS)
        where = f" {setting}," if setting else ""
        if kept:
            things = _counted([_object_phrase(o) for o in kept])
            text = f"{things} on {surface}{where} in {light}"
        else:
            text = f"an empty scene of {surface}{where} in {light}"
        if scene["camera"]["azimuth_sweep"]:
            text += ", the camera slowly orbiting"
        return text[0].upper() + text[1:] + "."


class Blip2Captioner:
    """BLIP-2 (transformers `Blip2ForConditionalGeneration`) from a local model dir, on the target clip.

    Rule: the first, middle and last frames are captioned in one batch; the caption given most often
    wins, and on a tie the middle frame's. On a GPU the model runs in fp16. The model loads on first
    use, so the captioner can be handed to worker processes.
    """

    name = "blip2"

    def __init__(self, model_dir: str, max_new_tokens: int = 30, device: str | None = None):
        from pathlib import Path

        from ..errors import GenomniError

        if not model_dir:
            raise GenomniError("--captioner blip2 needs --captioner-model DIR (a local BLIP-2 save_pretrained dir)")
        if not (Path(model_dir) / "config.json").is_file():
            raise GenomniError(f"--captioner-model {model_dir}: no config.json; supply a BLIP-2 dir saved with save_pretrained")
        self.model_dir, self.max_new_tokens, self.device = model_dir, max_new_tokens, device
        self._model = self._processor = None

    def _load(self) -> None:
        import torch
        from transformers import Blip2ForConditionalGeneration, Blip2Processor

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float16 if device.startswith("cuda") else torch.float32
        self._processor = Blip2Processor.from_pretrained(self.model_dir)
        self._model = Blip2ForConditionalGeneration.from_pretrained(self.model_dir, torch_dtype=dtype).to(device).eval()

    def caption_frames(self, frames: list[np.ndarray]) -> list[str]:
        """One caption per frame, in one batch."""
        import torch

        if self._model is None:
            self._load()
        inputs = self._processor(images=list(frames), return_tensors="pt").to(self._model.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self._model.dtype)
        with torch.no_grad():
            out = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        return [c.strip() for c in self._processor.batch_decode(out, skip_special_tokens=True)]

    def caption(self, target: np.ndarray, meta: dict[str, Any]) -> str:
        return self.captions([target])[0]

    def captions(self, targets: list[np.ndarray]) -> list[str]:
        """One caption per target clip, every clip's first, middle and last frames in one batch."""
        from collections import Counter

        from ..errors import GenomniError

        picks = [sorted({0, len(t) // 2, len(t) - 1}) for t in targets]
        flat = self.caption_frames([t[i] for t, ps in zip(targets, picks) for i in ps])
        out, at = [], 0
        for t, ps in zip(targets, picks):
            caps, at = flat[at : at + len(ps)], at + len(ps)
            counts = Counter(caps)
            best = max(counts.values())
            middle = caps[ps.index(len(t) // 2)]
            text = middle if counts[middle] == best else next(c for c in caps if counts[c] == best)
            if not text:
                raise GenomniError(f"BLIP-2 from {self.model_dir} returned an empty caption")
            out.append(text)
        return out


def make_captioner(name: str, model_dir: str | None = None) -> Captioner:
    """Captioner by name: `template` (synthetic scenes) or `blip2` (needs a local model dir)."""
    if name == "template":
        return TemplateCaptioner()
    if name == "blip2":
        return Blip2Captioner(model_dir or "")
    from ..errors import GenomniError

    raise GenomniError(f"unknown captioner {name!r}; choose template or blip2")


@dataclass(kw_only=True)
class CaptionOptions:
    """How a real-footage generator captions its targets (configs inherit these options)."""

    caption: str | None = option(
        None, "Caption for every sample (else BLIP-2 with --captioner blip2, else the source's own caption.txt or prompt.json)."
    )
    captioner: Literal["file", "blip2"] = option("file", "file (--caption or the source's caption) or blip2 (captions each target clip).")
    captioner_model: str | None = option(None, "Local BLIP-2 dir (save_pretrained layout) for --captioner blip2.")

    def check_captioner(self) -> None:
        """Load the captioner model now, so a missing model dir fails before any work."""
        if self.captioner == "blip2":
            shared_blip2(self.captioner_model or "")

    def captions(self, targets: list[np.ndarray], own: str | None, where: str) -> list[str]:
        """One caption per target: --caption, else BLIP-2 (one batch), else the source's own caption."""
        from ..errors import GenomniError

        if self.caption:
            return [self.caption] * len(targets)
        if self.captioner == "blip2":
            return shared_blip2(self.captioner_model or "").captions(targets)
        if own:
            return [own] * len(targets)
        raise GenomniError(f"{where}: no caption (caption.txt or prompt.json); give --caption or --captioner blip2")


_BLIP2: dict[str, Blip2Captioner] = {}


def shared_blip2(model_dir: str) -> Blip2Captioner:
    """One BLIP-2 per process, loaded on first use."""
    if model_dir not in _BLIP2:
        _BLIP2[model_dir] = Blip2Captioner(model_dir)
    return _BLIP2[model_dir]
