"""`CasperPipeline`: a diffusers `DiffusionPipeline` over a Casper model's components (after diffusers'
`pipeline_wan.py`): registered modules, `from_pretrained` / `save_pretrained`, `.to`,
`enable_model_cpu_offload`, a progress bar, `callback_on_step_end` and an output dataclass.

It lives beside the model (not in inference/) because training validation samples too; the inference
stage adds long-video windows, resizing and I/O on top of `CasperPipeline.sample`. Every backbone
plugs in through `CasperModel` (encode / condition / denoise / decode); the pipeline holds only the
sampling loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from ..models.casper import CasperModel
from ..models.config import CasperConfig
from ..tensors import to_uint8

Velocity = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
StepCallback = Callable[["CasperPipeline", int, torch.Tensor, dict[str, torch.Tensor]], dict[str, torch.Tensor]]


@dataclass
class CasperPipelineOutput(BaseOutput):
    """The removal: `frames` (B,3,T,H,W) in [-1,1] (output_type "pt"), uint8 (B,T,H,W,3) ("np"), or the
    final latents ("latent")."""

    frames: Any


class CasperPipeline(DiffusionPipeline):
    """Casper object-and-effect removal for one clip: [input video | trimask] + caption -> the clean video."""

    model_cpu_offload_seq = "text_encoder->image_encoder->transformer->vae"
    _optional_components = ["vae", "image_encoder"]
    _callback_tensor_inputs = ["latents"]

    def __init__(
        self,
        transformer: Any,
        text_encoder: Any,
        tokenizer: Any,
        scheduler: Any,
        vae: Any = None,
        casper_config: CasperConfig | None = None,
        image_encoder: Any = None,
    ):
        super().__init__()
        self.register_modules(
            transformer=transformer,
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            scheduler=scheduler,
            image_encoder=image_encoder,
        )
        self.casper = CasperModel(transformer, vae, text_encoder, tokenizer, scheduler, casper_config or CasperConfig(), image_encoder)

    # --- loading and saving: the Casper model dir (casper.json + diffusers/transformers sub-folders) --------
    @classmethod
    def from_model(cls, model: CasperModel) -> "CasperPipeline":
        """A pipeline over an already loaded model's components (shared, not copied)."""
        pipe = cls(model.transformer, model.text_encoder, model.tokenizer, model.scheduler, model.vae, model.config, model.image_encoder)
        pipe.casper = model
        return pipe

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, torch_dtype: torch.dtype = torch.float32, **_: Any) -> "CasperPipeline":
        """Load a Casper model dir (genomni's checks: a missing or foreign dir is a one-line error)."""
        return cls.from_model(CasperModel.from_pretrained(path, dtype=torch_dtype))

    def save_pretrained(self, path: str | os.PathLike, **_: Any) -> Path:  # type: ignore[override]
        """Write the model dir atomically, casper.json included (what `from_pretrained` reads back)."""
        return self.casper.save_pretrained(path)

    @property
    def model(self) -> CasperModel:
        """The Casper operations, told where this pipeline executes (the GPU under CPU offload)."""
        self.casper.execution_device = self._execution_device
        return self.casper

    # --- sampling ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        cond: torch.Tensor,
        text: torch.Tensor,
        steps: int,
        seed: int,
        guidance: float = 1.0,
        uncond_text: torch.Tensor | None = None,
        velocity: Velocity | None = None,
        callback_on_step_end: StepCallback | None = None,
        image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Denoise from seeded noise with a fresh copy of the model's scheduler; classifier-free guidance when
        guidance != 1. `cond` is `model.condition(batch)`, `image` its `model.encode_image(video)`;
        `velocity(latents, cond, sigma, text)` replaces the single denoiser call (inference passes one that blends
        overlapping windows, with the image tokens bound)."""
        model = self.model
        velocity = velocity or (lambda x, c, s, e: model.denoise(x, c, s, e, image=image))
        b, _, t, h, w = cond.shape
        gen = torch.Generator(device="cpu").manual_seed(seed)
        latents = torch.randn((b, model.config.latent_channels, t, h, w), generator=gen).to(cond.device)
        scheduler = self.scheduler.__class__.from_config(self.scheduler.config)  # schedulers keep per-run state
        scheduler.set_timesteps(steps, device=cond.device)
        n_train = float(scheduler.config.num_train_timesteps)
        with self.progress_bar(total=len(scheduler.timesteps)) as bar:
            for i, ts in enumerate(scheduler.timesteps):
                sigma = (ts / n_train).expand(b).to(cond.device, torch.float32)
                v = velocity(latents, cond, sigma, text)
                if guidance != 1.0 and uncond_text is not None:
                    v_u = velocity(latents, cond, sigma, uncond_text)
                    v = v_u + guidance * (v - v_u)
                latents = scheduler.step(v, ts, latents, return_dict=False)[0]
                if callback_on_step_end is not None:
                    latents = callback_on_step_end(self, i, ts, {"latents": latents}).get("latents", latents)
                bar.update()
        return latents

    @torch.no_grad()
    def __call__(
        self,
        video: torch.Tensor,
        trimask: torch.Tensor,
        prompt: str | list[str] = "",
        num_inference_steps: int | None = None,
        guidance_scale: float = 1.0,
        negative_prompt: str = "",
        seed: int = 0,
        output_type: str = "pt",
        callback_on_step_end: StepCallback | None = None,
        return_dict: bool = True,
    ) -> CasperPipelineOutput | tuple:
        """Remove what the trimask marks 0 from `video` (B,3,T,H,W) in [-1,1]; `trimask` (B,1,T,H,W) in
        {0, 0.5, 1}. Shapes must fit the model (`model.check_clip`); `genomni.inference.remove` handles any
        video (resizing, padding, windows)."""
        model = self.model
        b, _, t, h, w = video.shape
        model.check_clip(t, h, w)
        if output_type not in ("pt", "np", "latent"):
            raise ValueError(f"output_type must be pt, np or latent, got {output_type!r}")
        steps = num_inference_steps or model.inference_steps
        prompts = [prompt] * b if isinstance(prompt, str) else list(prompt)
        text = model.encode_text(prompts)
        uncond = model.encode_text([negative_prompt] * b) if guidance_scale != 1.0 else None
        cond = model.condition({"input": video, "trimask": trimask}).to(model.device)
        latents = self.sample(
            cond, text, steps, seed, guidance_scale, uncond, callback_on_step_end=callback_on_step_end, image=model.encode_image(video)
        )
        if output_type == "latent":
            frames: Any = latents
        else:
            frames = model.decode_latents(latents)
            if output_type == "np":
                frames = to_uint8(frames)
        self.maybe_free_model_hooks()
        return CasperPipelineOutput(frames=frames) if return_dict else (frames,)
