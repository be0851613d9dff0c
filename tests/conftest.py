import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TINY = [
    "--frames",
    "5",
    "--resolution",
    "48",
    "--samples",
    "4",
    "--min-objects",
    "2",
    "--max-objects",
    "2",
    "--seed",
    "3",
    "--scenes-per-shard",
    "2",
    "--no-progress",
]


def run_cli(args: list[str]) -> int:
    """Run the genomni CLI in-process and return its exit code."""
    from genomni.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(autouse=True)
def _hf_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "hf-cache"))


@pytest.fixture(scope="session")
def kubric_dir(tmp_path_factory):
    """A tiny real kubric dataset (3 scenes at 48 px, 5 frames), made once per test session."""
    out = tmp_path_factory.mktemp("kubric") / "ds"
    assert run_cli(["generate", "kubric", "--out", str(out), "--num-scenes", "3", *TINY]) == 0
    return out


def square_clip(folder, frames: int, height: int, width: int, name: str = "clip.mp4"):
    """A random-noise clip and one object's mask (a square a quarter of the frame in, a quarter of its size) written
    under `folder`; returns (video path, mask folder path)."""
    import numpy as np

    from genomni.media import write_video

    video = np.random.default_rng(0).integers(0, 255, (frames, height, width, 3), dtype=np.uint8)
    write_video(folder / name, video, 8.0)
    mask = np.zeros((frames, height, width), np.uint8)
    mask[:, height // 4 : height // 2, width // 4 : width // 2] = 255
    write_video(folder / "mask", mask)
    return folder / name, folder / "mask"


@pytest.fixture(scope="session")
def sam2_dir(tmp_path_factory):
    """A 1.2 M-parameter Sam2VideoModel with random weights (the sizes fit together: see the config's comments)."""
    import torch
    from transformers import Sam2VideoConfig, Sam2VideoModel

    torch.manual_seed(0)
    backbone = {
        "model_type": "sam2_hiera_det_model",
        "hidden_size": 16,
        "embed_dim_per_stage": [16, 32, 64, 128],
        "num_attention_heads_per_stage": [1, 1, 1, 1],
        "blocks_per_stage": [1, 1, 2, 1],
        "global_attention_blocks": [3],  # never a stage's first (pooling) block
        "window_size_per_stage": [8, 4, 4, 4],
        "image_size": [256, 256],
    }
    cfg = Sam2VideoConfig(
        vision_config={
            "model_type": "sam2_vision_model",
            "backbone_config": backbone,
            "backbone_channel_list": [128, 64, 32, 16],
            "backbone_feature_sizes": [[64, 64], [32, 32], [16, 16]],
            "fpn_hidden_size": 128,
        },
        prompt_encoder_config={"hidden_size": 128, "image_size": 256, "mask_input_channels": 4},
        mask_decoder_config={
            "hidden_size": 128,
            "mlp_dim": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": 32,
        },
        image_size=256,
        memory_attention_hidden_size=128,  # a multiple of the 64-wide memory keys: object pointers split into 2 tokens
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[16, 16],
        memory_encoder_hidden_size=128,
        memory_encoder_output_channels=64,
        mask_downsampler_embed_dim=128,
        memory_fuser_embed_dim=128,
        memory_fuser_intermediate_dim=64,
    )
    folder = tmp_path_factory.mktemp("sam2") / "sam2-tiny"
    Sam2VideoModel(cfg).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def sam2_everywhere_dir(sam2_dir, tmp_path_factory):
    """The tiny SAM 2 with weights that see the object everywhere (random ones mostly see it nowhere): a mask to
    carry and write, through the same from_pretrained path."""
    import torch
    from transformers import Sam2VideoModel

    model = Sam2VideoModel.from_pretrained(str(sam2_dir))
    with torch.no_grad():
        decoder = model.mask_decoder
        for head in [*decoder.output_hypernetworks_mlps, decoder.pred_obj_score_head]:
            head.proj_out.weight.zero_()
            head.proj_out.bias.fill_(1.0)
        decoder.upscale_conv2.weight.zero_()
        decoder.upscale_conv2.bias.fill_(10.0)
    folder = tmp_path_factory.mktemp("sam2") / "sam2-everywhere"
    model.save_pretrained(folder)
    return folder
