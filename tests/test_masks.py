"""`genomni masks`: SAM 2 tracking from clicks and boxes into a footage folder, with a tiny random SAM 2 video model
built here and loaded through the same `from_pretrained` path a user's model dir takes."""

import json

import numpy as np
import pytest
from conftest import run_cli

from genomni.media import read_video, write_video

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _clip(folder, t=5, h=48, w=64):
    video = np.random.default_rng(0).integers(0, 255, (t, h, w, 3), dtype=np.uint8)
    write_video(folder / "clip.mkv", video, 12.0)
    return folder / "clip.mkv", video


def test_masks_make_a_footage_folder_that_remove_and_decompose_read(sam2_dir, tmp_path, capsys):
    from genomni.footage_folders import open_footage

    clip, video = _clip(tmp_path)
    out = tmp_path / "footage"
    args = ["masks", str(clip), "--model", str(sam2_dir), "--point", "dog:1:30,20", "--point", "dog:1:5,5:neg"]
    args += ["--box", "ball:3:5,5,20,25", "--out", str(out), "--caption", "A street.", "--no-progress"]
    assert run_cli(args) == 0
    assert "2 mask track(s) over 5 frames" in capsys.readouterr().out
    footage = open_footage(out)
    assert sorted(footage.names) == ["ball", "dog"]
    assert footage.masks.shape == (2, 5, 48, 64) and footage.masks.dtype == bool
    assert np.array_equal(footage.video, video)  # the input as given (lossless)
    assert (out / "caption.txt").read_text() == "A street.\n" and (out / "masks_preview.png").is_file()
    preview, _ = read_video(out / "masks_preview.mp4")
    assert preview.shape == (5, 48, 64, 3)
    assert run_cli([*args[:-5], "--out", str(out), "--no-progress"]) == 1  # never over a folder it wrote before


def test_an_object_the_tracker_never_finds_is_one_line_and_nothing_written(sam2_dir, tmp_path, capsys, monkeypatch):
    import genomni.sam_tracking as sam

    clip, _ = _clip(tmp_path)
    real = sam.track
    monkeypatch.setattr(sam, "track", lambda *a, **k: sam.MaskTracks(["cat"], np.zeros_like(real(*a, **k).masks)))
    args = ["masks", str(clip), "--model", str(sam2_dir), "--point", "cat:0:10,10", "--out", str(tmp_path / "o"), "--no-progress"]
    assert run_cli(args) == 1
    assert "cat: the tracker found nothing in any frame" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_prompts_reach_the_model_at_its_input_size_with_the_processors_labels(sam2_dir, tmp_path, monkeypatch):
    """What `Sam2VideoProcessor` would hand the session, computed here from its documented rule (coordinates times
    the model's size over the frame's width and height; a box as labels 2 and 3 before the clicks, 1 on, 0 off)."""
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

    from genomni.masks import parse_box, parse_point
    from genomni.sam_tracking import IMAGENET_MEAN, IMAGENET_STD, load_tracker, model_inputs, track

    seen = []
    original = Sam2VideoInferenceSession.add_point_inputs
    monkeypatch.setattr(
        Sam2VideoInferenceSession,
        "add_point_inputs",
        lambda self, obj, frame, inputs: (seen.append((frame, inputs)), original(self, obj, frame, inputs))[1],
    )
    _, video = _clip(tmp_path)
    box = parse_box("cat:2:8,4,40,30")
    clicks = [parse_point("cat:2:16,12"), parse_point("cat:2:60,44:neg")]
    calls = []
    track(video, [box, *clicks], load_tracker(sam2_dir), on_frame=lambda: calls.append(1))
    assert len(calls) == 5 + 1  # every frame tracked, frame 2 both ways
    ((frame, inputs),) = seen
    s = 256
    expected = [[8 * s / 64, 4 * s / 48], [40 * s / 64, 30 * s / 48], [16 * s / 64, 12 * s / 48], [60 * s / 64, 44 * s / 48]]
    assert frame == 2 and inputs["point_coords"].shape == (1, 1, 4, 2)
    assert np.allclose(inputs["point_coords"][0, 0].numpy(), expected)
    assert inputs["point_labels"][0, 0].tolist() == [2, 3, 1, 0]
    pixels = model_inputs(video[:1], s)
    flat = np.full((1, 48, 64, 3), 200, np.uint8)  # a flat frame resizes to itself: the normalisation alone
    assert np.allclose(
        model_inputs(flat, s)[0, :, 10, 10].numpy(), (200 / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD), atol=1e-6
    )
    assert pixels.shape == (1, 3, s, s)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--point", "dog:9:10,10"], "prompt for 'dog' on frame 9: the clip has 5 frames (0..4)"),
        (["--point", "dog:0:100,10"], "(100, 10) lies outside the 64x48 frame"),
        (["--point", "dog:0:10"], "--point takes NAME:FRAME:X,Y or NAME:FRAME:X,Y:neg (pixels), got 'dog:0:10'"),
        (["--box", "dog:0:30,30,10,10"], "X1,Y1 must lie right of and below X0,Y0"),
        ([], "give at least one --point or --box: what to track"),
    ],
)
def test_prompts_that_cannot_be_tracked_are_one_line_before_any_work(sam2_dir, tmp_path, capsys, extra, message):
    clip, _ = _clip(tmp_path)
    assert run_cli(["masks", str(clip), "--model", str(sam2_dir), *extra, "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "o").exists()


def test_a_missing_or_wrong_model_dir_names_what_to_supply(tmp_path, capsys):
    clip, _ = _clip(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "blip-2"}))
    for model, message in [(tmp_path / "none", "no config.json; supply a SAM 2 or SAM 3 video model folder"), (other, "a 'blip-2' model")]:
        assert (
            run_cli(["masks", str(clip), "--model", str(model), "--point", "a:0:1,1", "--out", str(tmp_path / "o"), "--no-progress"]) == 1
        )
        assert message in capsys.readouterr().err


def test_a_released_style_sam2_checkpoint_dir_loads_for_video(sam2_dir, tmp_path):
    """The released SAM 2.1 folders (facebook/sam2.1-hiera-*) say model_type "sam2": the video model loads them."""
    import shutil

    from genomni.masks import parse_point
    from genomni.sam_tracking import load_tracker, track

    released = tmp_path / "sam2.1-hiera-tiny"
    shutil.copytree(sam2_dir, released)
    config = json.loads((released / "config.json").read_text())
    (released / "config.json").write_text(json.dumps({**config, "model_type": "sam2", "architectures": ["Sam2Model"]}))
    _, video = _clip(tmp_path)
    assert track(video, [parse_point("a:0:10,10")], load_tracker(released)).masks.shape == (1, 5, 48, 64)


def _sam3_dir(folder, threshold: float):
    """A 4 M-parameter Sam3VideoModel with random weights and a word-level tokenizer, saved as a model folder
    (detection thresholds set so random weights find objects, or, at 1.1, find nothing)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Sam3VideoConfig, Sam3VideoModel

    torch.manual_seed(0)
    vit = {"model_type": "sam3_vit_model", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    vit |= {"image_size": 112, "patch_size": 14, "window_size": 4, "global_attn_indexes": [1], "pretrain_image_size": 56}
    h = 128  # the FPN, DETR, prompt and memory widths: a multiple of the 64-wide memory keys, as in the SAM 2 fixture
    small = {"num_attention_heads": 2, "intermediate_size": 64}
    detector = {
        "vision_config": {"backbone_config": vit, "fpn_hidden_size": h},
        "text_config": {"model_type": "clip_text_model", "hidden_size": h, "num_hidden_layers": 1, "vocab_size": 64, "projection_dim": h}
        | {
            "intermediate_size": 64,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "pad_token_id": 0,
        },
        "geometry_encoder_config": {"hidden_size": h, "num_layers": 1, **small},
        "detr_encoder_config": {"hidden_size": h, "num_layers": 1, **small},
        "detr_decoder_config": {"hidden_size": h, "num_layers": 1, "num_queries": 8, **small},
        "mask_decoder_config": {"hidden_size": h, "num_attention_heads": 2},
    }
    tracker = {
        "vision_config": {"backbone_config": vit, "fpn_hidden_size": h},
        "prompt_encoder_config": {"hidden_size": h, "image_size": 112, "mask_input_channels": 4},
        "mask_decoder_config": {
            "hidden_size": h,
            "mlp_dim": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": 16,
        },
        "image_size": 112,
        "memory_attention_hidden_size": h,
        "memory_attention_num_layers": 1,
        "memory_attention_feed_forward_hidden_size": 64,
        "memory_encoder_hidden_size": h,
        "memory_encoder_output_channels": 64,
        "mask_downsampler_embed_dim": h,
        "memory_fuser_embed_dim": h,
        "memory_fuser_intermediate_dim": 64,
    }
    cfg = Sam3VideoConfig(detector_config=detector, tracker_config=tracker, score_threshold_detection=threshold, new_det_thresh=threshold)
    Sam3VideoModel(cfg).save_pretrained(folder)
    words = ["[PAD]", "[BOS]", "[EOS]", "[UNK]", "the", "camel", "ball", "red"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]").save_pretrained(folder)
    return folder


def test_text_finds_instances_named_from_the_phrase(tmp_path, capsys):
    """SAM 3 through the user's path (a model folder loaded with from_pretrained, the phrase tokenised by the folder's
    own tokenizer): one track per instance found, named from the phrase, binary, of the clip's size."""
    from genomni.footage_folders import open_footage

    model = _sam3_dir(tmp_path / "sam3", 0.0)
    clip, video = _clip(tmp_path)
    out = tmp_path / "footage"
    assert run_cli(["masks", str(clip), "--model", str(model), "--text", "the camel", "--out", str(out), "--no-progress"]) == 0
    footage = open_footage(out)
    assert footage.names and all(n == "camel" or n.startswith("camel") for n in footage.names)
    assert footage.masks.shape[1:] == (5, 48, 64) and footage.masks.any()
    assert np.array_equal(footage.video, video)
    from genomni.text_masks import track_name

    assert track_name("The red car!") == "red-car" and track_name("a dog") == "dog"


def test_text_that_finds_nothing_is_one_line(tmp_path, capsys):
    model = _sam3_dir(tmp_path / "sam3", 1.1)  # no detection can score above 1
    clip, _ = _clip(tmp_path)
    assert (
        run_cli(["masks", str(clip), "--model", str(model), "--text", "the red ball", "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--text 'the red ball': SAM 3 found nothing" in err[0]
    assert not (tmp_path / "o").exists()
    # the same SAM 3 folder takes clicks too: its tracker (Sam3TrackerVideoModel) follows them
    assert run_cli(["masks", str(clip), "--model", str(model), "--point", "a:2:10,10", "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    from genomni.footage_folders import open_footage

    assert open_footage(tmp_path / "o").masks.shape == (1, 5, 48, 64)


def test_windows_bound_what_the_tracker_holds_and_carry_the_masks_on(sam2_everywhere_dir, tmp_path, monkeypatch):
    """With --window the tracker's sessions never hold more frames than the window; every frame gets a mask, the
    windows start from the masks the previous ones ended with, and the progress bar's count is exact."""
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

    from genomni.masks import parse_point
    from genomni.sam_tracking import load_tracker, track, track_steps

    held, carried = [], []
    original_init, original_mask = Sam2VideoInferenceSession.__init__, Sam2VideoInferenceSession.add_mask_inputs

    def init(self, *args, video=None, **kwargs):
        held.append(len(video))
        original_init(self, *args, video=video, **kwargs)

    def add_mask(self, obj_idx, frame_idx, inputs):
        carried.append((frame_idx, tuple(inputs.shape)))
        original_mask(self, obj_idx, frame_idx, inputs)

    monkeypatch.setattr(Sam2VideoInferenceSession, "__init__", init)
    monkeypatch.setattr(Sam2VideoInferenceSession, "add_mask_inputs", add_mask)
    video = np.random.default_rng(1).integers(0, 255, (11, 48, 64, 3), dtype=np.uint8)
    tracker = load_tracker(sam2_everywhere_dir)
    prompts = [parse_point("a:4:30,20"), parse_point("a:9:32,22")]
    calls = []
    whole = track(video, prompts, tracker)
    windowed = track(video, prompts, tracker, on_frame=lambda: calls.append(1), window=4)
    assert max(held[1:]) <= 4 and sum(held[1:]) > 11  # several sessions, none longer than the window
    assert windowed.masks.shape == whole.masks.shape == (1, 11, 48, 64) and whole.masks.all() and windowed.masks.all()
    assert len(calls) == track_steps(11, 4, 4)
    size = tracker.model.config.image_size
    # masks handed on at the model's size: frames 7 (forwards: local 0), 4 and 1 (backwards: local 3 and 1)
    assert sorted(f for f, _ in carried) == [0, 1, 3] and all(shape == (1, 1, size, size) for _, shape in carried)
    held.clear()
    assert np.array_equal(track(video, prompts, tracker, window=11).masks, whole.masks)  # a window as long as the clip
    assert held == [11]
