"""A Casper model dir's own record, `casper.json`: which backbone and input layout the denoiser has, how its
mask reaches it, what base it came from and which genomni wrote it (`CasperConfig`); read with the same
unknown-key and type checks as every config file (`configfile`)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from .. import __version__
from ..configfile import check_known, load_mapping, merge
from ..errors import GenomniError
from ..options import require

WAN_VAE_CHUNK = 4  # AutoencoderKLWan.encode walks frames 1.. in chunks of 4 whatever its temporal scale


Backbone = Literal["wan", "pixel", "cogvideox"]
BACKBONES: tuple[str, ...] = get_args(Backbone)

# How the input video and trimask reach the denoiser ("Mask conventions" in docs/train.md):
#   genomni  [noisy | input latent | trimask pixel-unshuffled onto the latent grid (temporal*spatial^2 channels)]
#   fun-inp  VideoX-Fun InP / Wan I2V: [noisy | 4-channel "known" mask (1 - public mask) | input latent], plus the
#            CLIP tokens of the first input frame when the transformer has an image branch
#   vace     Wan-VACE: the noisy latent alone, and a control context [inactive latent | reactive latent | mask 8x8-unshuffled]
#   cog-inp  CogVideoX-Fun InP: [noisy | 1-channel "known" mask resized to the latent grid | input latent] (v-prediction)
#   void     CogVideoX-Fun as Netflix VOID's pass 1 feeds it: [noisy | VAE latent of the quadmask condition | input latent]
Layout = Literal["genomni", "fun-inp", "vace", "cog-inp", "void"]
LAYOUTS: tuple[str, ...] = get_args(Layout)


@dataclass
class CasperConfig:
    """What genomni needs to know about a Casper model dir beyond its diffusers configs."""

    backbone: Backbone = "wan"
    latent_channels: int = 16
    prefill: Literal["", "telea"] = ""  # pixel backbone: "telea" = the correction is added to the input with removed pixels pre-filled
    mask_channels: int = 256
    spatial_scale: int = 8
    temporal_scale: int = 4
    max_text_tokens: int = 226
    layout: Layout = "genomni"
    image_encoder: bool = False  # fun-inp: a CLIP image encoder (image_encoder/) reads the first input frame
    base: str = ""
    genomni_version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Values no model can have are refused here, so a damaged casper.json is one line, not a traceback later
        (or, for inference_steps 0, a silent default)."""

        def positive_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and v >= 1

        extra = self.extra
        clip = extra.get("train_clip")
        problems = [
            (self.backbone not in BACKBONES, f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}"),
            (self.layout not in LAYOUTS, f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}"),
        ]
        problems += [
            (not positive_int(getattr(self, k)), f"{k} must be an integer >= 1, got {getattr(self, k)!r}")
            for k in ("latent_channels", "mask_channels", "spatial_scale", "temporal_scale", "max_text_tokens")
        ]
        problems += [
            (k in extra and extra[k] is not None and not positive_int(extra[k]), f"extra.{k} must be an integer >= 1, got {extra.get(k)!r}")
            for k in ("inference_steps", "inference_stride")
        ]
        problems.append(
            (
                clip is not None and not (isinstance(clip, list) and len(clip) == 3 and all(map(positive_int, clip))),
                f"extra.train_clip must be [frames, height, width] of integers >= 1, got {clip!r}",
            )
        )
        require([(not bad, message) for bad, message in problems])

    @property
    def in_channels(self) -> int:
        """The denoiser's input channels (vace: its control context's)."""
        return 2 * self.latent_channels + self.mask_channels + (self.latent_channels if self.prefill else 0)

    @property
    def frame_multiple(self) -> int:
        """Clips have frame_multiple*n+1 frames: Wan's VAE encodes the first frame, then chunks of 4;
        the pixel backbone takes any length."""
        if self.backbone == "cogvideox":
            return self.temporal_scale  # its causal VAE: 1 + 4n frames (odd latent counts are padded for 2-frame patches)
        return 1 if self.backbone == "pixel" else math.lcm(WAN_VAE_CHUNK, self.temporal_scale)

    @property
    def parts(self) -> tuple[str, ...]:
        """The sub-folders of a model dir of this backbone."""
        vae = ("vae",) if self.backbone != "pixel" else ()
        image = ("image_encoder",) if self.image_encoder else ()
        return ("transformer", *vae, *image, "text_encoder", "tokenizer", "scheduler")


def weights_sha256(model_dir: str | os.PathLike) -> str:
    """sha256 (first 16 hex digits) of a model dir's transformer weights: names exactly which model ran."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((Path(model_dir) / "transformer").glob("*.safetensors")):
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def read_casper_config(path: Path) -> CasperConfig:
    """A model dir's casper.json, read as every config file is (`configfile`): bad JSON, unknown keys (a newer
    genomni's), values of the wrong type or out of their choices are one-line errors naming the file."""
    data = load_mapping(path)
    check_known(path, data, CasperConfig)
    try:
        return merge(CasperConfig, data)
    except GenomniError as exc:
        raise GenomniError(f"{path}: {exc}") from None
