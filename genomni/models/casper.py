"""The Casper model: a video diffusion denoiser conditioned on [input video | trimask] + caption, its
text encoder, tokenizer and scheduler, and (latent backbones) its VAE. Two backbones:

- `wan`: a Wan2.1 transformer on VAE latents whose input layer is widened for the latent of the
  input video and the trimask; it predicts the flow-matching velocity (noise - clean).
- `pixel`: the paper's choice (Lumiere is pixel-space): a denoiser on pixels, no VAE. It predicts
  the clean video as the input video, with the removed objects' pixels pre-filled by classical
  inpainting, plus a learned correction (the output layer starts at zero, so an untrained model is
  the cv2-inpaint baseline); its velocity is derived from that prediction. Most pixels of a removal
  equal the input, so the network only learns what must change: the objects' interiors and their
  shadows and reflections.

Model directory (diffusers/transformers `save_pretrained` layout, nothing fetched from a hub):

    casper.json      genomni's record: backbone, channel split, mask encoding, base, version
    transformer/     the denoiser (wan: WanTransformer3DModel, in_channels = latent + latent + mask;
                     pixel: in_channels = 3 noisy + 3 input + 1 trimask (+ 3 pre-filled input))
    vae/             AutoencoderKLWan (wan only)
    text_encoder/    UMT5EncoderModel (any transformers encoder with `last_hidden_state`)
    tokenizer/       the text encoder's tokenizer
    scheduler/       FlowMatchEulerDiscreteScheduler

The Wan denoiser sees [noisy latent | latent of the input video | trimask on the latent grid]. The new
input weights start at zero, so a freshly widened model computes exactly what its base computes.
The trimask reaches the latent grid by pixel-unshuffle in space and stacking in time (as VACE
does): each latent cell carries the raw {0, 0.5, 1} values of every pixel and frame it covers, so
no state is averaged away by the VAE's 8x spatial and 4x temporal compression.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..baselines import inpaint_telea
from ..constants import CASPER_FILE, DEFAULT_STEPS, EFFECT_DILATE
from ..errors import GenomniError
from ..footage import dilate
from ..media import atomic_dir
from ..tensors import from_uint8, to_uint8
from .cogvideox_decode import decode_videox
from .config import BACKBONES, LAYOUTS, CasperConfig, read_casper_config
from .masks import encode_cog_mask, encode_known_mask, encode_trimask, encode_vace_mask, encode_void_mask, void_condition
from .parts import check_dir, cogvideox_rope, load_diffusers_model, load_image_encoder, load_scheduler, load_text_encoder

MIN_SIGMA = 1e-3  # the pixel backbone divides by sigma to turn its clean-video prediction into a velocity


def prefill_removed(video: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """(B,3,T,H,W) in [-1,1] with the `holes` (B,1,T,H,W) (the removed pixels, grown by EFFECT_DILATE px) filled by
    OpenCV Telea inpainting frame by frame: the cv2-inpaint baseline, which the pixel backbone corrects (a classical
    fill is a cheap, sharp start inside the objects; the network learns what it misses, effects included)."""
    frames = to_uint8(video)
    filled = np.stack([inpaint_telea(f, dilate(h, EFFECT_DILATE)) for f, h in zip(frames, holes[:, 0].cpu().numpy())])
    return from_uint8(filled)


class CasperModel:
    """The parts of a Casper model and the operations training and inference share."""

    def __init__(
        self,
        transformer: Any,
        vae: Any | None,
        text_encoder: Any,
        tokenizer: Any,
        scheduler: Any,
        config: CasperConfig,
        image_encoder: Any | None = None,
    ):
        self.transformer, self.vae, self.text_encoder = transformer, vae, text_encoder
        self.image_encoder = image_encoder
        if image_encoder is not None:
            image_encoder.requires_grad_(False)
        self.tokenizer, self.scheduler, self.config = tokenizer, scheduler, config
        self.execution_device: torch.device | None = None  # set by CasperPipeline (the GPU under CPU offload)
        self.text_encoder.requires_grad_(False)
        if self.vae is not None:
            self.vae.requires_grad_(False)
            vc = self.vae.config
            if vc.get("latents_mean") is not None and "z_dim" in vc:  # Wan: per-channel statistics
                z = vc.z_dim
                self._lat_mean = torch.tensor(vc.latents_mean, dtype=torch.float32).view(1, z, 1, 1, 1)
                self._lat_std = torch.tensor(vc.latents_std, dtype=torch.float32).view(1, z, 1, 1, 1)
            else:  # CogVideoX: one scaling factor
                self._lat_mean = torch.zeros(1, 1, 1, 1, 1)
                self._lat_std = torch.full((1, 1, 1, 1, 1), 1.0 / vc.scaling_factor)

    # --- loading and saving -------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, torch_dtype: torch.dtype = torch.float32) -> "CasperModel":
        """Load a Casper model dir; a missing or foreign dir is a one-line error naming what to supply."""
        from transformers import AutoTokenizer

        path = Path(path)
        check_dir(path, "Casper model dir")
        if not (path / CASPER_FILE).is_file():
            raise GenomniError(
                f"{path} is not a Casper model dir (no {CASPER_FILE}); build one with "
                f"`genomni train init --base WAN_DIR --out DIR` or `--preset tiny`"
            )
        config = read_casper_config(path / CASPER_FILE)
        if config.backbone not in BACKBONES:
            raise GenomniError(f"{path}: backbone {config.backbone!r} is not supported by this genomni ({', '.join(BACKBONES)})")
        for part in config.parts:
            check_dir(path / part, f"{path.name}/{part}:")
        try:
            transformer = load_diffusers_model(path / "transformer", torch_dtype)
            vae = load_diffusers_model(path / "vae") if "vae" in config.parts else None
            image_encoder = load_image_encoder(path / "image_encoder", torch_dtype) if config.image_encoder else None
            text_encoder = load_text_encoder(path / "text_encoder", torch_dtype)
            tokenizer = AutoTokenizer.from_pretrained(path / "tokenizer")
            scheduler = load_scheduler(path / "scheduler")
        except GenomniError:
            raise
        except (OSError, ValueError) as exc:
            raise GenomniError(f"{path}: cannot load model parts ({str(exc).splitlines()[0]})") from exc
        if config.layout not in LAYOUTS:
            raise GenomniError(f"{path}: layout {config.layout!r} is not supported by this genomni ({', '.join(LAYOUTS)})")
        key = "vace_in_channels" if config.layout == "vace" else "in_channels"
        if transformer.config.get(key) != config.in_channels:
            raise GenomniError(
                f"{path}: transformer has {transformer.config.get(key)} {key.replace('_', ' ')}, casper.json expects {config.in_channels}"
            )
        return cls(transformer, vae, text_encoder, tokenizer, scheduler, config, image_encoder)

    def save_pretrained(self, path: str | os.PathLike, transformer: Any | None = None) -> Path:
        """Write the model dir atomically (temporary folder, then rename); `transformer` overrides the weights saved."""
        path = Path(path)
        with atomic_dir(path) as tmp:
            (transformer or self.transformer).save_pretrained(tmp / "transformer")
            if self.vae is not None:
                self.vae.save_pretrained(tmp / "vae")
            if self.image_encoder is not None:
                self.image_encoder.save_pretrained(tmp / "image_encoder")
            self.text_encoder.save_pretrained(tmp / "text_encoder")
            self.tokenizer.save_pretrained(tmp / "tokenizer")
            self.scheduler.save_pretrained(tmp / "scheduler")
            (tmp / CASPER_FILE).write_text(json.dumps(asdict(self.config), indent=2, sort_keys=True) + "\n")
        return path

    def to(self, device: torch.device | str) -> "CasperModel":
        for m in (self.transformer, self.vae, self.text_encoder, self.image_encoder):
            if m is not None:
                m.to(device)
        return self

    @property
    def inference_steps(self) -> int:
        """Sampling steps by default: what the model records (pixel presets: 1), else DEFAULT_STEPS."""
        return int(self.config.extra.get("inference_steps") or DEFAULT_STEPS)

    @property
    def device(self) -> torch.device:
        """Where the denoiser runs."""
        return self.execution_device or next(self.transformer.parameters()).device

    # --- encoders ------------------------------------------------------------------------------
    @property
    def size_multiple(self) -> int:
        """Frame sides must be multiples of this: the VAE's scale times the patch size, or the U-Net's
        total downsampling."""
        cfg = self.transformer.config
        if "patch_size" in cfg:
            p = cfg.patch_size
            return self.config.spatial_scale * (p if isinstance(p, int) else p[1])
        return self.config.spatial_scale * 2 ** (len(cfg.block_out_channels) - 1)

    def check_clip(self, frames: int, height: int, width: int) -> None:
        """Fail clearly, before any work, on clip shapes the VAE, the patchifier or the rotary position
        embedding (a Wan transformer's `rope_max_seq_len` positions per axis) cannot take."""
        c, side = self.config, self.size_multiple
        if (frames - 1) % c.frame_multiple or height % side or width % side:
            raise GenomniError(
                f"clips of {frames} frames at {width}x{height} do not fit this model: frames must be "
                f"{c.frame_multiple}n+1 and sides multiples of {side}"
            )
        tc = self.transformer.config
        if self.config.backbone == "cogvideox" and tc.get("patch_size_t"):
            hmax, wmax = tc.sample_height * c.spatial_scale, tc.sample_width * c.spatial_scale
            if height > hmax or width > wmax:
                raise GenomniError(
                    f"clips at {width}x{height} exceed this CogVideoX model's position grid ({wmax}x{hmax} px): use a smaller --max-side"
                )
        limit = self.transformer.config.get("rope_max_seq_len")
        if limit:
            t_patch = self.transformer.config.patch_size[0]
            latent_frames = (1 + (frames - 1) // c.temporal_scale) // t_patch
            if max(height, width) // side > limit or latent_frames > limit:
                raise GenomniError(
                    f"clips of {frames} frames at {width}x{height} exceed this model's position embedding "
                    f"({limit} positions per axis): use at most {limit * side} px per side "
                    f"(--max-side) and {(limit * t_patch - 1) * c.temporal_scale + 1} frames per window (--window)"
                )

    @property
    def codec_device(self) -> torch.device:
        """Where videos are encoded: the VAE's device (the pipeline's execution device under CPU offload)."""
        return self.execution_device or (self.vae.device if self.vae is not None else self.device)

    @torch.no_grad()
    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """(B,3,T,H,W) in [-1,1] -> normalised latents (B,z,T',H/s,W/s) (the VAE mean, as Wan trains);
        the pixel backbone works on the pixels themselves."""
        dev = self.codec_device
        if self.vae is None:
            return video.to(dev, torch.float32)
        z = self.vae.encode(video.to(dev, torch.float32)).latent_dist.mode()
        return (z - self._lat_mean.to(z.device)) / self._lat_std.to(z.device)

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents (or pixels) -> (B,3,T,H,W) in [-1,1]."""
        dev = self.codec_device
        if self.vae is None:
            return latents.to(dev, torch.float32).clamp(-1, 1)
        z = latents.to(dev, torch.float32) * self._lat_std.to(dev) + self._lat_mean.to(dev)
        if self.config.backbone == "cogvideox":  # as VideoX-Fun decodes: the frames line up with the input's
            return decode_videox(self.vae, z).clamp(-1, 1)
        return self.vae.decode(z).sample.clamp(-1, 1)

    def encode_mask(self, trimask: torch.Tensor) -> torch.Tensor:
        """Trimask {0, 0.5, 1} (or a quadmask model's value/255) -> the denoiser's mask channels (pixel: one channel
        in [-1, 1]). A model trained with `binary_mask` (the paper's ablation) sees kept objects as background
        (1 -> 0.5)."""
        if self.config.extra.get("binary_mask"):
            trimask = torch.where(trimask > 0.75, torch.full_like(trimask, 0.5), trimask)
        if self.vae is None:
            return trimask * 2.0 - 1.0
        c = self.config
        encode = {"genomni": encode_trimask, "fun-inp": encode_known_mask, "vace": encode_vace_mask, "cog-inp": encode_cog_mask}[c.layout]
        if self.wants_quadmask and c.layout == "cog-inp":
            encode = encode_void_mask
        out = encode(trimask, c.spatial_scale, c.temporal_scale)
        return out * self.vae.config.scaling_factor if c.layout == "cog-inp" else out

    @torch.no_grad()
    def encode_image(self, video: torch.Tensor) -> torch.Tensor | None:
        """The CLIP tokens of a clip's first frame (B, 257, 1280 for Wan's ViT-H) for transformers with an image
        branch (fun-inp), else None: resized to the encoder's square input (bicubic) and normalised as CLIP expects,
        read after the second-to-last block as Wan does."""
        if self.image_encoder is None:
            return None
        from .wan_original import CLIP_MEAN, CLIP_STD

        enc = self.image_encoder
        frame = video[:, :, 0].to(self.codec_device, torch.float32)
        size = enc.config.image_size
        img = F.interpolate(frame, size=(size, size), mode="bicubic", align_corners=False) * 0.5 + 0.5
        mean, std = (torch.tensor(v, device=img.device).view(1, 3, 1, 1) for v in (CLIP_MEAN, CLIP_STD))
        img = (img - mean) / std
        out = enc(pixel_values=img.to(next(enc.parameters()).dtype), output_hidden_states=True)
        return out.hidden_states[-2].to(self.device)

    @torch.no_grad()
    def encode_text(self, captions: list[str]) -> torch.Tensor:
        """Captions -> (B, max_text_tokens, D) embeddings, zeroed past each caption's end (as Wan does)."""
        tok = self.tokenizer(captions, padding="max_length", max_length=self.config.max_text_tokens, truncation=True, return_tensors="pt")
        ids, mask = tok.input_ids.to(self.device), tok.attention_mask.to(self.device)
        if self.config.backbone == "cogvideox":  # CogVideoX encodes the padded sequence whole, as it was trained
            return self.text_encoder(input_ids=ids).last_hidden_state
        hidden = self.text_encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        return hidden * mask[..., None].to(hidden.dtype)

    @property
    def wants_quadmask(self) -> bool:
        """Whether the model was trained on quadmasks (`train run --mask quadmask`, or VOID's) rather than trimasks."""
        return self.config.layout == "void" or self.config.extra.get("mask") == "quadmask"

    def condition(self, batch: dict[str, Any]) -> torch.Tensor:
        """The denoiser's conditioning for a batch with `input` (pixels in [-1,1]) and `trimask`, or for a quadmask
        model `quadmask` (value/255: `datasets.loader.quadmask_tensor`)."""
        if self.wants_quadmask and "quadmask" not in batch:
            raise GenomniError("this model was trained with quadmasks (VOID's 0/63/127/255): give it one")
        mask = batch["quadmask"] if self.wants_quadmask else batch["trimask"]
        return self.conditioning(self.encode_input(batch["input"]), mask, batch["input"])

    def conditioning(self, encoded: torch.Tensor, trimask: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        """[encoded input video | trimask channels (| pre-filled input)]: `encoded` is `encode_input(video)`,
        passed in so a video removed several times is encoded once."""
        if self.config.layout == "void":  # VOID encodes its condition in [0, 1] through the VAE as 3-channel video
            condition = void_condition(trimask.to(video.device, video.dtype)).expand(-1, 3, -1, -1, -1)
            return torch.cat([self.encode_video(condition), encoded], dim=1)
        mask = self.encode_mask(trimask.to(encoded.device)).to(encoded.dtype)
        if self.config.layout == "fun-inp":
            return torch.cat([mask, encoded], dim=1)
        if self.config.layout == "cog-inp":
            return torch.cat([mask, encoded], dim=1)
        if self.config.layout == "vace":
            removed = (trimask < 0.25).to(video.device, video.dtype)  # VACE's reactive region: the pixels it regenerates
            inactive = self.encode_video(video * (1.0 - removed))
            reactive = self.encode_video(video * removed)
            return torch.cat([inactive, reactive, mask.to(inactive.device)], dim=1)
        parts = [encoded, mask]
        if self.config.prefill:
            # the removed pixels only, for quadmask models too: a fill of the changed pixels started the model further
            # from the target there than the input itself (benchmarks/README.md, "Interactions")
            parts.append(prefill_removed(video, trimask < 0.25).to(encoded.device, encoded.dtype))
        return torch.cat(parts, dim=1)

    def encode_input(self, video: torch.Tensor) -> torch.Tensor:
        """The input video's latent as `conditioning` takes it: `encode_video`, except that CogVideoX-Fun saw its
        reference video with `reference_noise` added before encoding (fixed seed: deterministic), not on pixels at -1.
        Computed once per clip, however many removals share it."""
        ratio = float(self.config.extra.get("reference_noise", 0.0))
        if not ratio:
            return self.encode_video(video)
        gen = torch.Generator().manual_seed(0)
        noise = torch.randn(video.shape, generator=gen).to(video.device, video.dtype) * ratio
        return self.encode_video(video + torch.where(video == -1, torch.zeros_like(noise), noise))

    def _base(self, cond: torch.Tensor) -> torch.Tensor:
        """What the pixel backbone's correction is added to: the pre-filled input, or the input itself."""
        c = self.config.latent_channels
        start = c + self.config.mask_channels if self.config.prefill else 0
        return cond[:, start : start + c].float()

    def predict(
        self,
        noisy: torch.Tensor,
        cond: torch.Tensor,
        sigma: torch.Tensor,
        text: torch.Tensor,
        transformer: Any | None = None,
        image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """What the network is trained to output: the velocity (wan) or the clean video (pixel: the input
        video in `cond` plus the network's correction). `image`: `encode_image`'s tokens, for image branches."""
        net = transformer or self.transformer
        dtype = next(net.parameters()).dtype
        kwargs: dict[str, Any] = {} if image is None else {"encoder_hidden_states_image": image.to(dtype)}
        if self.config.backbone == "cogvideox":
            return self._predict_cogvideox(net, torch.cat([noisy, cond], dim=1).to(dtype), sigma * 1000.0, text.to(dtype))
        if self.config.layout == "vace":
            kwargs["control_hidden_states"] = cond.to(dtype)
            x = noisy.to(dtype)
        else:
            x = torch.cat([noisy, cond], dim=1).to(dtype)
        out = net(x, sigma * 1000.0, text.to(dtype), return_dict=False, **kwargs)[0].float()
        return out if self.vae is not None else self._base(cond) + out

    def _predict_cogvideox(self, net: Any, x: torch.Tensor, timestep: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """CogVideoX takes (B,T,C,H,W) and a rotary embedding of the grid; an odd latent frame count is padded with
        its last frame for 2-frame patches and cropped again."""
        t = x.shape[2]
        pt = net.config.patch_size_t or 1
        if t % pt:
            x = torch.cat([x, x[:, :, -1:].expand(-1, -1, pt - t % pt, -1, -1)], dim=2)
        rope = cogvideox_rope(net, x.shape[2], x.shape[3], x.shape[4], x.device)
        out = net(
            hidden_states=x.permute(0, 2, 1, 3, 4), encoder_hidden_states=text, timestep=timestep, image_rotary_emb=rope, return_dict=False
        )[0]
        return out.permute(0, 2, 1, 3, 4)[:, :, :t].float()

    def denoise(
        self,
        noisy: torch.Tensor,
        cond: torch.Tensor,
        sigma: torch.Tensor,
        text: torch.Tensor,
        transformer: Any | None = None,
        image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """What the scheduler steps with at noise level sigma in [0,1]: the flow-matching velocity (noise - clean), or
        for CogVideoX the v-prediction at timestep 1000*sigma (its DDIM scheduler takes it as it is)."""
        pred = self.predict(noisy, cond, sigma, text, transformer, image)
        if self.vae is not None:
            return pred
        s = sigma.float().clamp(min=MIN_SIGMA).view(-1, 1, 1, 1, 1)
        return (noisy.float() - pred) / s  # x_s = (1-s) x0 + s eps  =>  eps - x0 = (x_s - x0) / s

    def loss(
        self,
        x0: torch.Tensor,
        cond: torch.Tensor,
        eps: torch.Tensor,
        sigma: torch.Tensor,
        text: torch.Tensor,
        transformer: Any | None = None,
        image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Flow-matching loss at noise level sigma: MSE on the velocity (wan, as Wan trains) or on the clean
        video (pixel; the velocity loss would weight it by 1/sigma^2 and explode near sigma 0)."""
        if self.config.backbone == "cogvideox":  # DDPM v-prediction, as CogVideoX trains
            t = (sigma * (self.scheduler.config.num_train_timesteps - 1)).round().long().cpu()
            noisy = self.scheduler.add_noise(x0, eps, t.to(x0.device))
            target = self.scheduler.get_velocity(x0, eps, t.to(x0.device))
            pred = self.predict(noisy, cond, t.to(x0.device).float() / 1000.0, text, transformer, image)
            return F.mse_loss(pred, target)
        s = sigma.view(-1, 1, 1, 1, 1)
        noisy = (1.0 - s) * x0 + s * eps
        pred = self.predict(noisy, cond, sigma, text, transformer, image)
        return F.mse_loss(pred, eps - x0 if self.vae is not None else x0)
