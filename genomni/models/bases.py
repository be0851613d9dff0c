"""Casper model dirs from real bases (`genomni train init --base DIR`) and from the released gen-omnimatte Casper
checkpoints (`genomni train import --from gen-omnimatte`) and Netflix VOID's pass 1 (`--from void`). The base's layout
is read from its files:

- diffusers Wan2.1 text-to-video (transformer input = VAE latent): the input layer is widened with zero weights
  for the input latent and the trimask (layout `genomni`);
- diffusers Wan2.1 image-to-video or Fun-InP (input = 2 latents + 4 mask channels, `image_encoder/`): used as is
  (layout `fun-inp`), its "known" mask carrying the trimask;
- diffusers Wan2.1-VACE (`WanVACETransformer3DModel`): used as is (layout `vace`), the trimask in its control path;
- a CogVideoX-Fun-V1.5-InP dir (diffusers layout, input = 2 latents + 1 mask channel): used as is (layout
  `cog-inp`, the CogVideoX backbone: v-prediction with its DDIM scheduler);
- a VideoX-Fun Wan2.1-Fun-InP folder as downloaded (`config.json`, `diffusion_pytorch_model*.safetensors`,
  `Wan2.1_VAE.pth`, `models_t5_*.pth`, `google/umt5-xxl/`, `models_clip_*.pth`): converted part by part
  (`wan_original`) into layout `fun-inp`, the layout the public Casper was fine-tuned in.

Nothing is downloaded; a missing or foreign file is one line naming what to supply.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..constants import CASPER_FILE
from ..errors import GenomniError
from ..media import atomic_dir
from .casper import CasperModel
from .config import CasperConfig
from .parts import check_dir, class_name, vae_scales, widen_input

log = logging.getLogger(__name__)

# The released Casper models' inference settings (gen-omnimatte-public README and config/default_*.py).
# The public inference's temporal_multidiffusion_stride (16 frames = 4 latents) is the windows' *overlap*; genomni's
# stride counts from window start to window start: (21 - 4) latents x 4 frames for Wan, (22 - 4) x 4 for CogVideoX
GEN_OMNIMATTE_WAN = {"inference_steps": 50, "train_clip": [81, 480, 832], "inference_stride": 68}
GEN_OMNIMATTE_COG = {"inference_steps": 50, "train_clip": [85, 384, 672], "inference_stride": 72}
# VOID's pass 1 (Netflix/void-model config/quadmask_cogvideox.py): 384x672, 85-frame windows overlapping by 16, 50 steps
VOID_COG = {"inference_steps": 50, "train_clip": [85, 384, 672], "inference_stride": 72}
COG_REFERENCE_NOISE = 0.0563  # VideoX-Fun's noise_aug_strength: noise added to the reference video before encoding
VIDEOX_FUN_SHIFT = 5.0  # VideoX-Fun's wan_civitai.yaml scheduler shift, used by the public Casper training and inference


@dataclass
class BaseLayout:
    """What a base dir holds: `kind` (wan, wan-vace, cogvideox, videox-wan) and the files it is read from."""

    kind: str
    files: dict[str, Path] = field(default_factory=dict)


def _one(folder: Path, pattern: str, what: str) -> Path:
    found = sorted(folder.glob(pattern))
    if not found:
        raise GenomniError(f"{folder} has no {pattern} ({what}); supply the Wan2.1-Fun folder as downloaded")
    return found[0]


def detect_base(base: Path) -> BaseLayout:
    """Which supported base layout a dir is, or a one-line error naming what is wrong."""
    check_dir(base, "base model dir")
    root_cfg = base / "config.json"
    if root_cfg.is_file() and "num_heads" in json.loads(root_cfg.read_text()):
        files = {
            "vae": _one(base, "*VAE*.pth", "the Wan VAE"),
            "text_encoder": _one(base, "models_t5_*.pth", "the umT5 encoder"),
            "tokenizer": base / "google" / "umt5-xxl",
        }
        check_dir(files["tokenizer"], f"{base.name}/google/umt5-xxl: tokenizer folder")
        clip = sorted(base.glob("models_clip_*.pth"))
        if clip:
            files["image_encoder"] = clip[0]
        return BaseLayout("videox-wan", files)
    if (base / "transformer").is_dir():
        name = class_name(base / "transformer")
        kinds = {"WanTransformer3DModel": "wan", "WanVACETransformer3DModel": "wan-vace", "CogVideoXTransformer3DModel": "cogvideox"}
        if name not in kinds:
            raise GenomniError(
                f"{base}/transformer holds {name or 'no diffusers config'}, not WanTransformer3DModel, "
                f"WanVACETransformer3DModel or CogVideoXTransformer3DModel; supply a Wan2.1 diffusers dir "
                f"(e.g. Wan2.1-T2V-1.3B-Diffusers) or CogVideoX-Fun-V1.5-5b-InP"
            )
        for part in ("vae", "text_encoder", "tokenizer", "scheduler"):
            check_dir(base / part, f"{base.name}/{part}: base folder")
        vae = "AutoencoderKLCogVideoX" if kinds[name] == "cogvideox" else "AutoencoderKLWan"
        if class_name(base / "vae") != vae:
            raise GenomniError(f"{base}/vae holds {class_name(base / 'vae') or 'no diffusers config'}, not {vae}")
        return BaseLayout(kinds[name], {})
    raise GenomniError(
        f"{base} is neither a diffusers Wan2.1 dir (transformer/, vae/, ...) nor a VideoX-Fun Wan2.1-Fun "
        f"folder (config.json, diffusion_pytorch_model.safetensors, Wan2.1_VAE.pth, ...)"
    )


def _link_or_copy(src: Path, dst: Path) -> None:
    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)  # multi-GB text encoders: share the file when on the same filesystem
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=link)


def _write_model_dir(out: Path, base: Path, transformer: Any, config: CasperConfig, scheduler: Any = None) -> Path:
    """The model dir, atomically: the new transformer, the base's other parts linked (or copied; `scheduler`
    replaces the base's), casper.json."""
    with atomic_dir(out) as tmp:
        transformer.save_pretrained(tmp / "transformer")
        for part in config.parts[1:]:
            if part == "scheduler" and scheduler is not None:
                scheduler.save_pretrained(tmp / part)
            else:
                _link_or_copy(base / part, tmp / part)
        (tmp / CASPER_FILE).write_text(json.dumps(asdict(config), indent=2, sort_keys=True) + "\n")
    log.info("Casper dir %s from %s (%s layout)", out, base, config.layout)
    return out


def _diffusers_base(base: Path, kind: str, out: Path, dtype: torch.dtype) -> Path:
    """A Casper dir from a diffusers Wan dir: T2V widened, I2V/Fun-InP and VACE kept as they are."""
    from diffusers import AutoencoderKLWan, WanTransformer3DModel, WanVACETransformer3DModel

    cls = WanVACETransformer3DModel if kind == "wan-vace" else WanTransformer3DModel
    transformer = cls.from_pretrained(base / "transformer", torch_dtype=dtype)
    vae = AutoencoderKLWan.from_pretrained(base / "vae")
    spatial, temporal = vae_scales(vae)
    z, inc = vae.config.z_dim, transformer.config.in_channels
    image = transformer.config.get("image_dim") is not None
    if kind == "wan-vace":
        config = CasperConfig(
            latent_channels=z,
            mask_channels=spatial * spatial,
            spatial_scale=spatial,
            temporal_scale=temporal,
            max_text_tokens=512,
            layout="vace",
            base=str(base),
        )
        if transformer.config.vace_in_channels != config.in_channels:
            raise GenomniError(
                f"{base}/transformer: VACE context of {transformer.config.vace_in_channels} channels, "
                f"expected {config.in_channels} (2 latents + {spatial}x{spatial} mask)"
            )
    elif inc == 2 * z + temporal:
        config = CasperConfig(
            latent_channels=z,
            mask_channels=temporal,
            spatial_scale=spatial,
            temporal_scale=temporal,
            max_text_tokens=512,
            layout="fun-inp",
            image_encoder=image,
            base=str(base),
        )
        if image:
            check_dir(base / "image_encoder", f"{base.name}/image_encoder: the transformer has an image branch; folder")
    elif inc == z:
        config = CasperConfig(
            latent_channels=z, mask_channels=temporal * spatial * spatial, spatial_scale=spatial, temporal_scale=temporal, base=str(base)
        )
        transformer = widen_input(transformer, z + config.mask_channels)
    else:
        raise GenomniError(
            f"{base}/transformer takes {inc} input channels; expected {z} (text-to-video) or "
            f"{2 * z + temporal} (image-to-video / Fun-InP) for a VAE of {z} latent channels"
        )
    return _write_model_dir(out, base, transformer, config)


def _patch_channels(weight: torch.Tensor, transformer_cfg: dict[str, Any]) -> int:
    """The input channels a CogVideoX patch embedding takes: a Conv2d's (1.0) or a Linear's over 2-frame patches (1.5)."""
    if weight.dim() == 4:
        return int(weight.shape[1])
    volume = transformer_cfg["patch_size"] ** 2 * (transformer_cfg.get("patch_size_t") or 1)
    return int(weight.shape[1]) // volume


def _cogvideox_base(base: Path, out: Path, dtype: torch.dtype, casper: Path | None, extra: dict[str, Any], void: bool = False) -> Path:
    """A Casper dir from a CogVideoX-Fun-V1.5-InP dir (diffusers layout), optionally with released weights: the public
    Casper's, or (`void`) VOID's pass 1, whose patch embedding takes 16 + 16 + 16 channels (its quadmask through the
    VAE: layout `void`) or, trained with a binarized 1-channel mask, 16 + 1 + 16 (layout `cog-inp`)."""
    from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel

    from .wan_original import read_weights

    vae = AutoencoderKLCogVideoX.from_pretrained(base / "vae")
    spatial, temporal = vae_scales(vae)
    z, base_cfg = vae.config.latent_channels, json.loads((base / "transformer" / "config.json").read_text())
    if base_cfg.get("in_channels") != 2 * z + 1:
        raise GenomniError(
            f"{base}/transformer takes {base_cfg.get('in_channels')} input channels, not {2 * z + 1}: supply an InP model "
            f"(CogVideoX-Fun-V1.5-5b-InP), the base the public Casper and VOID were trained from"
        )
    tuned = read_weights(casper) if casper is not None else None
    channels, layout = 2 * z + 1, "cog-inp"
    if void and tuned is not None:
        if "patch_embed.proj.weight" not in tuned:
            raise GenomniError(f"{casper} has no patch_embed.proj.weight: it is not a VOID transformer checkpoint (void_pass1.safetensors)")
        channels = _patch_channels(tuned["patch_embed.proj.weight"], base_cfg)
        if channels not in (3 * z, 2 * z + 1):
            raise GenomniError(
                f"{casper}: its patch embedding takes {channels} channels; VOID's pass 1 takes {3 * z} (noisy, VAE-encoded "
                f"quadmask, input) or {2 * z + 1} (binarized mask) on this base"
            )
        layout = "void" if channels == 3 * z else "cog-inp"
    widen = {"in_channels": channels, "low_cpu_mem_usage": False, "ignore_mismatched_sizes": True} if channels != 2 * z + 1 else {}
    transformer = CogVideoXTransformer3DModel.from_pretrained(base / "transformer", torch_dtype=dtype, **widen)
    if tuned is not None:
        own = transformer.state_dict()
        bad = sorted(set(tuned) - set(own)) or [k for k in tuned if tuned[k].shape != own[k].shape]
        if bad:
            raise GenomniError(
                f"{casper}: {bad[0]} does not match {base}/transformer ({len(bad)} tensor(s)); is this a checkpoint for this base?"
            )
        missing = sorted(set(own) - set(tuned))
        if missing:  # as the released loaders do (strict=False): what the checkpoint lacks stays the base's
            log.warning(
                "%s lacks %d of the transformer's tensors (first: %s); they keep %s's weights", casper, len(missing), missing[0], base
            )
        transformer.load_state_dict(tuned, strict=False)
    config = CasperConfig(
        backbone="cogvideox",
        latent_channels=z,
        mask_channels=channels - 2 * z,
        spatial_scale=spatial,
        temporal_scale=temporal,
        max_text_tokens=int(transformer.config.max_text_seq_length),
        layout=layout,  # type: ignore[arg-type]  # one of the two literals above
        base=str(base),
        extra={"reference_noise": COG_REFERENCE_NOISE, **extra, **({"mask": "quadmask"} if void else {})},
    )
    scheduler = None
    if casper is not None:  # the public Casper and VOID sample with diffusers' DDIMScheduler ("DDIM_Origin") from this config
        from diffusers import DDIMScheduler

        scheduler = DDIMScheduler.from_pretrained(base / "scheduler")
    return _write_model_dir(out, base, transformer, config, scheduler)


def _videox_base(
    base: Path, files: dict[str, Path], out: Path, casper: Path | None, lora: Path | None, lora_weight: float, extra: dict[str, Any]
) -> Path:
    """Convert a VideoX-Fun Wan2.1-Fun folder (with a Casper fine-tune or LoRA applied) into a Casper dir."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from transformers import AutoTokenizer

    from .wan_original import load_clip_vision, load_dit, load_t5
    from .wan_original_vae import load_vae

    transformer = load_dit(base, casper, lora, lora_weight)
    vae = load_vae(files["vae"])
    spatial, temporal = vae_scales(vae)
    z, inc = vae.config.z_dim, transformer.config.in_channels
    if inc != 2 * z + temporal:
        raise GenomniError(
            f"{base}: the DiT takes {inc} input channels, not {2 * z + temporal}; supply an InP model "
            f"(Wan2.1-Fun-1.3B-InP or Wan2.1-Fun-14B-InP), the base the public Casper was trained from"
        )
    image = transformer.config.image_dim is not None
    if image and "image_encoder" not in files:
        raise GenomniError(f"{base}: the DiT has an image branch but no models_clip_*.pth is beside it; supply it")
    config = CasperConfig(
        latent_channels=z,
        mask_channels=temporal,
        spatial_scale=spatial,
        temporal_scale=temporal,
        max_text_tokens=512,
        layout="fun-inp",
        image_encoder=image,
        base=str(base),
        extra=extra,
    )
    try:
        tokenizer = AutoTokenizer.from_pretrained(files["tokenizer"])
    except (OSError, ValueError) as exc:
        raise GenomniError(f"{files['tokenizer']}: cannot load the tokenizer ({str(exc).splitlines()[0]})") from exc
    model = CasperModel(
        transformer,
        vae,
        load_t5(files["text_encoder"]),
        tokenizer,
        FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=VIDEOX_FUN_SHIFT),
        config,
        load_clip_vision(files["image_encoder"]) if image else None,
    )
    model.save_pretrained(out)
    log.info("Casper dir %s from the VideoX-Fun folder %s", out, base)
    return out


def init_from_base(base: str | os.PathLike, out: str | os.PathLike, dtype: torch.dtype = torch.float32) -> Path:
    """Build a Casper model dir from a base dir of any supported layout (see the module docstring)."""
    base, out = Path(base), Path(out)
    layout = detect_base(base)
    if out.exists():
        raise GenomniError(f"{out} already exists; choose a new --out (nothing was changed)")
    if layout.kind == "videox-wan":
        return _videox_base(base, layout.files, out, None, None, 1.0, {})
    if layout.kind == "cogvideox":
        return _cogvideox_base(base, out, dtype, None, {})
    return _diffusers_base(base, layout.kind, out, dtype)


def import_gen_omnimatte(
    base: str | os.PathLike,
    out: str | os.PathLike,
    transformer: str | os.PathLike | None = None,
    lora: str | os.PathLike | None = None,
    lora_weight: float = 1.0,
) -> Path:
    """A Casper dir from a released gen-omnimatte Casper checkpoint on the base it was trained from, recording the
    released models' inference settings: the CogVideoX-Fun-V1.5-5b-InP full fine-tune (`transformer`, diffusers
    key names), the Wan2.1-Fun-1.3B-InP full fine-tune (`transformer`, the original DiT naming) or the
    Wan2.1-Fun-14B-InP LoRA (`lora`, VideoX-Fun format) on the VideoX-Fun folder as downloaded."""
    base, out = Path(base), Path(out)
    if transformer is None and lora is None:
        raise GenomniError(
            "give --transformer CASPER.safetensors (CogVideoX-5B or Wan2.1-1.3B Casper) or "
            "--lora CASPER_LORA.safetensors (Wan2.1-14B Casper)"
        )
    layout = detect_base(base)
    if layout.kind not in ("videox-wan", "cogvideox"):
        raise GenomniError(
            f"{base}: the released Casper checkpoints apply to the base they were trained from "
            f"(CogVideoX-Fun-V1.5-5b-InP, or the Wan2.1-Fun-1.3B/14B-InP folder as downloaded)"
        )
    if out.exists():
        raise GenomniError(f"{out} already exists; choose a new --out (nothing was changed)")
    source = {"source": "gen-omnimatte", "casper_weights": str(transformer or ""), "lora": str(lora or ""), "lora_weight": lora_weight}
    if layout.kind == "cogvideox":
        if lora is not None:
            raise GenomniError("the released CogVideoX Casper is a full fine-tune: give --transformer, not --lora")
        return _cogvideox_base(base, out, torch.float32, Path(transformer), {**GEN_OMNIMATTE_COG, **source})
    extra = {**GEN_OMNIMATTE_WAN, **source}
    return _videox_base(
        base, layout.files, out, Path(transformer) if transformer else None, Path(lora) if lora else None, lora_weight, extra
    )


def import_void(base: str | os.PathLike, out: str | os.PathLike, transformer: str | os.PathLike | None) -> Path:
    """A Casper dir from Netflix VOID's pass-1 checkpoint (`void_pass1.safetensors`, a full fine-tune of the
    CogVideoX-Fun-V1.5-5b-InP transformer with diffusers key names) on that base, conditioned on quadmasks as VOID's
    pipeline conditions it, with VOID's inference settings recorded. Pass 2 (warped-noise refinement) starts its
    sampling from noise warped along pass 1's optical flow; genomni samples from plain noise, so it is not imported."""
    base, out = Path(base), Path(out)
    if transformer is None:
        raise GenomniError("give --transformer void_pass1.safetensors (VOID's pass 1 is a full fine-tune, not a LoRA)")
    if detect_base(base).kind != "cogvideox":
        raise GenomniError(f"{base}: VOID's checkpoints apply to the base they were trained from, CogVideoX-Fun-V1.5-5b-InP")
    if out.exists():
        raise GenomniError(f"{out} already exists; choose a new --out (nothing was changed)")
    source = {"source": "void", "casper_weights": str(transformer)}
    return _cogvideox_base(base, out, torch.float32, Path(transformer), {**VOID_COG, **source}, void=True)
