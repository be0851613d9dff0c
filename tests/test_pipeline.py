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

    out = pipe(video, trimask, "a room", num_inference_steps=3, generator=torch.Generator().manual_seed(7), callback_on_step_end=on_step)
    assert isinstance(out, CasperPipelineOutput) and out.frames.shape == video.shape
    assert [i for i, _ in seen] == [0, 1, 2]
    assert float(out.frames.min()) >= -1 and float(out.frames.max()) <= 1
    as_np = pipe(video, trimask, "a room", num_inference_steps=3, generator=torch.Generator().manual_seed(7), output_type="np").frames
    assert as_np.dtype == np.uint8 and as_np.shape == (1, 5, 32, 32, 3)
    assert np.array_equal(as_np[0], ((out.frames[0].permute(1, 2, 3, 0) + 1) * 127.5).round().byte().numpy())
    again = CasperPipeline.from_pretrained(pipe.save_pretrained(tmp_path / "copy"))
    assert torch.equal(
        again(video, trimask, "a room", num_inference_steps=3, generator=torch.Generator().manual_seed(7)).frames, out.frames
    )
    # accelerate's offload hooks (on the CPU here) leave the result unchanged
    pipe.enable_model_cpu_offload(device="cpu")
    assert torch.equal(pipe(video, trimask, "a room", num_inference_steps=3, generator=torch.Generator().manual_seed(7)).frames, out.frames)


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
    side = pipe.model_on_device().size_multiple
    limit = pipe.transformer.config.rope_max_seq_len
    ok = Remover(pipe, RemoveConfig(max_side=limit * side)).plan((5, limit * side, limit * side))
    assert ok.size == (limit * side, limit * side)
    with pytest.raises(
        GenomniError,
        match=rf"exceed this model's position embedding \({limit} positions per axis\): "
        rf"use at most {limit * side} px per side",
    ):
        Remover(pipe, RemoveConfig(max_side=(limit + 1) * side)).plan((5, (limit + 1) * side, (limit + 1) * side))


def test_generators_follow_diffusers_conventions(model_dir):
    """As in diffusers: one generator per clip of a batch gives each clip what it gets alone, and the initial noise is
    `torch.randn` drawn on the CPU from that generator (diffusers' `randn_tensor`)."""
    pipe = CasperPipeline.from_pretrained(model_dir)
    video, trimask = _clip()
    alone = [pipe(video, trimask, "a room", num_inference_steps=2, generator=torch.Generator().manual_seed(s)).frames for s in (3, 4)]
    both = pipe(
        video.repeat(2, 1, 1, 1, 1),
        trimask.repeat(2, 1, 1, 1, 1),
        "a room",
        num_inference_steps=2,
        generator=[torch.Generator().manual_seed(3), torch.Generator().manual_seed(4)],
    ).frames
    assert torch.allclose(both[0], alone[0][0], atol=1e-5) and torch.allclose(both[1], alone[1][0], atol=1e-5)
    first = []
    pipe(
        video,
        trimask,
        num_inference_steps=1,
        generator=torch.Generator().manual_seed(5),
        callback_on_step_end=lambda p, i, t, d: first.append(d["latents"]) or d,
        output_type="latent",
    )
    sched = pipe.scheduler.__class__.from_config(pipe.scheduler.config)
    sched.set_timesteps(1)
    shape = first[0].shape
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(5))
    cond = pipe.casper.condition({"input": video, "trimask": trimask})
    text = pipe.casper.encode_text([""])
    sigma = (sched.timesteps[0] / float(sched.config.num_train_timesteps)).expand(1)
    expected = sched.step(pipe.casper.denoise(noise, cond, sigma, text), sched.timesteps[0], noise, return_dict=False)[0]
    assert torch.allclose(first[0], expected, atol=1e-5)


def test_unknown_loader_arguments_are_refused_not_dropped(model_dir, tmp_path):
    from genomni.errors import GenomniError

    with pytest.raises(GenomniError, match="unknown argument\\(s\\) revision, variant"):
        CasperPipeline.from_pretrained(model_dir, variant="fp16", revision="main")
    with pytest.raises(GenomniError, match="unknown argument\\(s\\) push_to_hub"):
        CasperPipeline.from_pretrained(model_dir).save_pretrained(tmp_path / "x", push_to_hub=True)
    assert not (tmp_path / "x").exists()
