"""`CasperPipeline`: a diffusers `DiffusionPipeline` over a Casper model's components (after diffusers'
`pipeline_wan.py`): registered modules, `from_pretrained` / `save_pretrained`, `.to`,
`enable_model_cpu_offload`, a progress bar, `generator=`, `callback_on_step_end` and a typed output dataclass.

It lives beside the model (not in inference/) because training validation samples too; the inference
stage adds long-video windows, resizing and I/O on top of `CasperPipeline.sample`. Every backbone
plugs in through `CasperModel` (encode / condition / denoise / decode); the pipeline holds only the
sampling loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from ..errors import GenomniError
from ..models.casper import CasperModel
from ..models.config import CasperConfig
from ..tensors import to_uint8

Velocity = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
StepCallback = Callable[["CasperPipeline", int, torch.Tensor, dict[str, torch.Tensor]], dict[str, torch.Tensor]]
Generator = torch.Generator | list[torch.Generator] | None


@dataclass
class CasperPipelineOutput(BaseOutput):
    """The removal: `frames` (B,3,T,H,W) in [-1,1] (output_type "pt"), uint8 (B,T,H,W,3) ("np"), or the
    final latents ("latent")."""

    frames: torch.Tensor | np.ndarray


def _refuse_unknown(where: str, kwargs: dict[str, Any]) -> None:
    """diffusers' loaders take many hub options; none means anything for a local Casper model dir, so they are
    refused by name rather than dropped silently."""
    if kwargs:
        raise GenomniError(f"{where}: unknown argument(s) {', '.join(sorted(kwargs))} (a Casper model dir is local)")


class CasperPipeline(DiffusionPipeline):
    """Casper object-and-effect removal for one clip: [input video | trimask] + caption -> the clean video.

    Example:
        ```py
        >>> import torch
        >>> from genomni.pipelines.casper import CasperPipeline
        >>> pipe = CasperPipeline.from_pretrained("runs/train/model", torch_dtype=torch.float32)
        >>> video = torch.zeros(1, 3, 9, 64, 64)  # (B,3,T,H,W) in [-1, 1]
        >>> trimask = torch.ones(1, 1, 9, 64, 64)  # 0 remove, 0.5 may change, 1 keep
        >>> trimask[..., 20:40, 20:40] = 0.0
        >>> out = pipe(video, trimask, prompt="an empty room", generator=torch.Generator().manual_seed(0))
        >>> out.frames.shape
        torch.Size([1, 3, 9, 64, 64])
        ```
    """

    model_cpu_offload_seq = "text_encoder->image_encoder->transformer->vae"  # type: ignore[assignment]  # diffusers declares it None
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
    def from_pretrained(cls, path: str | os.PathLike, torch_dtype: torch.dtype = torch.float32, **kwargs: Any) -> "CasperPipeline":  # type: ignore[override]
        """Load a Casper model dir (genomni's checks: a missing or foreign dir is a one-line error).

        Args:
            path: the model dir (`genomni train init` / `train run` write one).
            torch_dtype: the denoiser's and text encoder's dtype (the VAE stays float32).
        """
        _refuse_unknown("CasperPipeline.from_pretrained", kwargs)
        return cls.from_model(CasperModel.from_pretrained(path, torch_dtype=torch_dtype))

    def save_pretrained(self, path: str | os.PathLike, **kwargs: Any) -> Path:  # type: ignore[override]
        """Write the model dir atomically, casper.json included (what `from_pretrained` reads back)."""
        _refuse_unknown("CasperPipeline.save_pretrained", kwargs)
        return self.casper.save_pretrained(path)

    def model_on_device(self) -> CasperModel:
        """The Casper operations, told where this pipeline executes now (the GPU under CPU offload, which can
        change between calls), so they encode and decode there."""
        self.casper.execution_device = self._execution_device
        return self.casper

    # --- sampling ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        cond: torch.Tensor,
        text: torch.Tensor,
        steps: int,
        generator: Generator = None,
        guidance: float = 1.0,
        uncond_text: torch.Tensor | None = None,
        velocity: Velocity | None = None,
        callback_on_step_end: StepCallback | None = None,
        image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Denoise from noise drawn with `generator` (diffusers' `randn_tensor`: a CPU generator gives the same
        noise on any device) with a fresh copy of the model's scheduler; classifier-free guidance when guidance != 1.
        `cond` is `model.condition(batch)`, `image` its `model.encode_image(video)`; `velocity(latents, cond, sigma,
        text)` replaces the single denoiser call (inference passes one that blends overlapping windows)."""
        model = self.model_on_device()
        velocity = velocity or (lambda x, c, s, e: model.denoise(x, c, s, e, image=image))
        b, _, t, h, w = cond.shape
        latents = randn_tensor((b, model.config.latent_channels, t, h, w), generator=generator, device=cond.device, dtype=torch.float32)
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
        generator: Generator = None,
        output_type: Literal["pt", "np", "latent"] = "pt",
        callback_on_step_end: StepCallback | None = None,
        return_dict: bool = True,
        quadmask: torch.Tensor | None = None,
    ) -> CasperPipelineOutput | tuple:
        """Remove what the trimask marks 0 (the objects and, where it marks 0.5, their effects) from `video`.

        Args:
            video: (B,3,T,H,W) in [-1, 1]; its shape must fit the model (`CasperModel.check_clip`):
                `genomni.inference.remove` takes any video (resizing, padding, temporal windows).
            trimask: (B,1,T,H,W) in {0, 0.5, 1}: remove, may change, keep.
            prompt: the caption of the result (what the clean video shows), one per clip or one for all.
            num_inference_steps: sampling steps (default: what the model dir records, else 30).
            guidance_scale: classifier-free guidance (1 = off; then `negative_prompt` is unused).
            negative_prompt: the unconditional caption for guidance.
            generator: torch generator(s) for the initial noise, as in diffusers (None: torch's global RNG).
            output_type: "pt" (B,3,T,H,W) in [-1,1], "np" uint8 (B,T,H,W,3), or "latent".
            callback_on_step_end: `f(pipe, step, timestep, {"latents": ...})` after each step; it may return
                replaced latents.
            return_dict: a `CasperPipelineOutput` (else a tuple).
            quadmask: (B,1,T,H,W) VOID's quadmask as value/255 (0 remove, 63/255 remove and changed, 127/255 changed,
                1 keep), for models trained with `--mask quadmask` (which need it); the trimask still says what is
                removed to the rest of genomni.
        """
        model = self.model_on_device()
        if quadmask is not None and not model.wants_quadmask:
            raise GenomniError("a quadmask was given to a model trained with trimasks; train one with --mask quadmask")
        b, _, t, h, w = video.shape
        model.check_clip(t, h, w)
        if output_type not in ("pt", "np", "latent"):
            raise GenomniError(f"output_type must be pt, np or latent, got {output_type!r}")
        steps = num_inference_steps or model.inference_steps
        prompts = [prompt] * b if isinstance(prompt, str) else list(prompt)
        text = model.encode_text(prompts)
        uncond = model.encode_text([negative_prompt] * b) if guidance_scale != 1.0 else None
        batch = {"input": video, "trimask": trimask, **({"quadmask": quadmask} if quadmask is not None else {})}
        cond = model.condition(batch).to(model.device)
        latents = self.sample(
            cond, text, steps, generator, guidance_scale, uncond, callback_on_step_end=callback_on_step_end, image=model.encode_image(video)
        )
        frames: torch.Tensor | np.ndarray
        if output_type == "latent":
            frames = latents
        else:
            frames = model.decode_latents(latents)
            if output_type == "np":
                frames = to_uint8(frames)
        self.maybe_free_model_hooks()
        return CasperPipelineOutput(frames=frames) if return_dict else (frames,)
