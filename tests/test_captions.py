import numpy as np
import pytest
import torch
from conftest import run_cli

from genomni.errors import GenomniError
from genomni.generators.captions import Blip2Captioner, make_captioner


@pytest.fixture(scope="module")
def tiny_blip2(tmp_path_factory):
    """A tiny random BLIP-2 and processor, saved with save_pretrained (nothing downloaded)."""
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        Blip2QFormerConfig,
        Blip2VisionConfig,
        BlipImageProcessor,
        OPTConfig,
    )

    from genomni.models.presets import byte_tokenizer

    torch.manual_seed(0)
    tok = byte_tokenizer(64)
    vision = Blip2VisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8
    )
    qformer = Blip2QFormerConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, encoder_hidden_size=32)
    text = OPTConfig(
        vocab_size=len(tok) + 1,
        hidden_size=32,
        num_hidden_layers=1,
        ffn_dim=64,
        num_attention_heads=2,
        max_position_embeddings=128,
        word_embed_proj_dim=32,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = Blip2ForConditionalGeneration(
        Blip2Config(vision_config=vision.to_dict(), qformer_config=qformer.to_dict(), text_config=text.to_dict(), num_query_tokens=4)
    )
    proc = Blip2Processor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok, num_query_tokens=4)
    model.config.image_token_index = proc.tokenizer.convert_tokens_to_ids("<image>")
    model.resize_token_embeddings(len(proc.tokenizer))
    # Random weights mostly emit special tokens (an empty caption). Make the language model prefer the byte
    # "a": its final layer norm outputs a fixed direction v (plus a little of the input), and "a"'s row is v.
    lm = model.language_model
    norm = lm.model.decoder.final_layer_norm
    v = torch.randn(32)
    with torch.no_grad():
        norm.weight.mul_(0.05)
        norm.bias.copy_(v)
        lm.get_output_embeddings().weight[proc.tokenizer.convert_tokens_to_ids("a")] = 3 * v
    d = tmp_path_factory.mktemp("blip2")
    model.save_pretrained(d)
    proc.save_pretrained(d)
    return d


def test_blip2_captions_come_from_the_model_with_the_documented_rule(tiny_blip2):
    from transformers import Blip2ForConditionalGeneration, Blip2Processor

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 255, (7, 40, 40, 3), dtype=np.uint8)
    cap = make_captioner("blip2", str(tiny_blip2))
    per_frame = cap.caption_frames([clip[0], clip[3], clip[6]])
    model = Blip2ForConditionalGeneration.from_pretrained(tiny_blip2)
    proc = Blip2Processor.from_pretrained(tiny_blip2)
    direct = proc.batch_decode(
        model.generate(**proc(images=[clip[0], clip[3], clip[6]], return_tensors="pt"), max_new_tokens=30, do_sample=False),
        skip_special_tokens=True,
    )
    assert per_frame == [d.strip() for d in direct] and all(per_frame)
    best = max(per_frame.count(c) for c in per_frame)
    expected = per_frame[1] if per_frame.count(per_frame[1]) == best else next(c for c in per_frame if per_frame.count(c) == best)
    assert cap.caption(clip, {}) == expected


def test_the_caption_rule_majority_then_middle(tiny_blip2):
    class Fixed(Blip2Captioner):
        def __init__(self, answers):
            super().__init__(str(tiny_blip2))
            self.answers = answers

        def caption_frames(self, frames):
            return self.answers[: len(frames)]

    clip = np.zeros((9, 8, 8, 3), np.uint8)
    assert Fixed(["a dog", "a cat", "a dog"]).caption(clip, {}) == "a dog"  # majority
    assert Fixed(["a dog", "a cat", "a cow"]).caption(clip, {}) == "a cat"  # tie: the middle frame's
    with pytest.raises(GenomniError, match="empty caption"):
        Fixed(["", "", ""]).caption(clip, {})


def test_blip2_without_a_model_dir_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(GenomniError, match="needs --captioner-model DIR"):
        make_captioner("blip2")
    with pytest.raises(GenomniError, match="no config.json"):
        Blip2Captioner(str(tmp_path))
    assert run_cli(["generate", "tripod", str(tmp_path), "--out", str(tmp_path / "o"), "--captioner", "blip2"]) == 1
    assert "needs --captioner-model DIR" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_tripod_captions_the_clean_plate_with_blip2(tiny_blip2, tmp_path):
    from test_tripod import _footage

    from genomni.shards import iter_samples

    _, _, bg = _footage(tmp_path / "clip")
    (tmp_path / "clip" / "caption.txt").unlink()
    out = tmp_path / "ds"
    assert (
        run_cli(
            [
                "generate",
                "tripod",
                str(tmp_path / "clip"),
                "--out",
                str(out),
                "--captioner",
                "blip2",
                "--captioner-model",
                str(tiny_blip2),
                "--no-progress",
            ]
        )
        == 0
    )
    s = next(iter_samples(out))
    assert s.caption == Blip2Captioner(str(tiny_blip2)).caption(np.repeat(bg[None], 3, axis=0), {})


def test_layers_and_objectpaste_caption_their_targets_with_blip2_in_one_batch(tiny_blip2, tmp_path):
    """Each target gets the caption BLIP-2 gives it alone (the batch changes nothing), for every generator."""
    from test_layers import _decomposition
    from test_objectpaste import _background, _object_clip

    from genomni.shards import iter_samples

    cap = Blip2Captioner(str(tiny_blip2))
    _decomposition(tmp_path / "dec")
    (tmp_path / "dec" / "caption.txt").unlink()
    out = tmp_path / "layers"
    assert (
        run_cli(
            [
                "generate",
                "layers",
                str(tmp_path / "dec"),
                "--out",
                str(out),
                "--captioner",
                "blip2",
                "--captioner-model",
                str(tiny_blip2),
                "--no-progress",
            ]
        )
        == 0
    )
    samples = list(iter_samples(out))
    assert len(samples) == 3 and all(s.caption == cap.caption(s.target, {}) for s in samples)
    assert cap.captions([s.target for s in samples]) == [s.caption for s in samples]
    _object_clip(tmp_path / "obj")
    _background(tmp_path / "bg.mkv")
    out = tmp_path / "paste"
    assert (
        run_cli(
            [
                "generate",
                "objectpaste",
                "--objects",
                str(tmp_path / "obj"),
                "--backgrounds",
                str(tmp_path / "bg.mkv"),
                "--num-samples",
                "2",
                "--min-area",
                "0",
                "--captioner",
                "blip2",
                "--captioner-model",
                str(tiny_blip2),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert all(s.caption == cap.caption(s.target, {}) for s in iter_samples(out))
