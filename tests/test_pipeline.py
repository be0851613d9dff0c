"""CasperPipeline: a diffusers DiffusionPipeline over both backbones, loaded the way users load it."""

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline

from genomni.models.presets import build_preset
from genomni.pipelines.casper import CasperPipeline, CasperPipelineOutput


@pytest.fixture(scope="module", params=["pixel", "tiny"])
def model_dir(request, tmp_path_factory):
    return build_preset(request.param, tmp_path_factory.mktemp(request.param) / "m", seed=1)


def _clip(frames: int = 5, side: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    video = torch.rand((1, 3, frames, side, side), generator=g) * 2 - 1
    trimask = torch.full((1, 1, frames, side, side), 0.5)
    trimask[..., 8:20, 8:16] = 0.0
    return video, trimask


def test_pipeline_components_call_callback_and_round_trip(model_dir, tmp_path):
    pipe = CasperPipeline.from_pretrained(model_dir)
    assert isinstance(pipe, DiffusionPipeline)
    parts = {k for k, v in pipe.components.items() if v is not None}
    expected = {"transformer", "text_encoder", "tokenizer", "scheduler"} | ({"vae"} if (model_dir / "vae").is_dir() else set())
    assert parts == expected
    video, trimask = _clip()
    seen = []

    def on_step(p, i, t, tensors):
        seen.append((i, tuple(tensors["latents"].shape)))
        return tensors

    out = pipe(video, trimask, "a room", num_inference_steps=3, seed=7, callback_on_step_end=on_step)
    assert isinstance(out, CasperPipelineOutput) and out.frames.shape == video.shape
    assert [i for i, _ in seen] == [0, 1, 2]
    assert float(out.frames.min()) >= -1 and float(out.frames.max()) <= 1
    as_np = pipe(video, trimask, "a room", num_inference_steps=3, seed=7, output_type="np").frames
    assert as_np.dtype == np.uint8 and as_np.shape == (1, 5, 32, 32, 3)
    assert np.array_equal(as_np[0], ((out.frames[0].permute(1, 2, 3, 0) + 1) * 127.5).round().byte().numpy())
    again = CasperPipeline.from_pretrained(pipe.save_pretrained(tmp_path / "copy"))
    assert torch.equal(again(video, trimask, "a room", num_inference_steps=3, seed=7).frames, out.frames)
    # accelerate's offload hooks (on the CPU here) leave the result unchanged
    pipe.enable_model_cpu_offload(device="cpu")
    assert torch.equal(pipe(video, trimask, "a room", num_inference_steps=3, seed=7).frames, out.frames)


def test_pipeline_refuses_a_clip_the_model_cannot_take(model_dir):
    from genomni.errors import GenomniError

    video, trimask = _clip(side=30)
    with pytest.raises(GenomniError, match="multiples of"):
        CasperPipeline.from_pretrained(model_dir)(video, trimask)


def test_a_working_size_beyond_the_position_embedding_fails_before_any_work(tmp_path):
    """The tiny preset's rotary embedding has 64 positions per axis: a removal plan past it is one line naming
    the largest --max-side, not a diffusers traceback minutes into the run."""
    from genomni.errors import GenomniError
    from genomni.inference.config import RemoveConfig
    from genomni.inference.remove import Remover

    pipe = CasperPipeline.from_pretrained(build_preset("tiny", tmp_path / "m", seed=1))
    side = pipe.model.size_multiple
    limit = pipe.transformer.config.rope_max_seq_len
    ok = Remover(pipe, RemoveConfig(max_side=limit * side)).plan((5, limit * side, limit * side))
    assert ok.size == (limit * side, limit * side)
    with pytest.raises(
        GenomniError,
        match=rf"exceed this model's position embedding \({limit} positions per axis\): "
        rf"use at most {limit * side} px per side",
    ):
        Remover(pipe, RemoveConfig(max_side=(limit + 1) * side)).plan((5, (limit + 1) * side, (limit + 1) * side))
