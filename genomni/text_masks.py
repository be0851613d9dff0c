"""Object masks from words (`genomni masks --text "the camel"`): SAM 3 video (transformers' `Sam3VideoModel`) finds
every instance of each phrase in the clip and tracks it, one mask track per instance, named from the phrase.

The model's processor (`Sam3VideoProcessor`) needs torchvision, which does not run beside genomni's CPU torch, so
its steps are done here as it does them: the phrase tokenised by the model folder's own tokenizer, padded to 32
tokens; the frames resized to the model's square input size and normalised with the mean and deviation of the
folder's video (or image) preprocessor config (SAM 3's own: 0.5 and 0.5); each object's low-resolution mask logits
resized to the frame (bilinear) and thresholded at 0, leaving out the objects the model suppressed or removed in
its warm-up (`hotstart`), and masks without a pixel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import GenomniError
from .masks import MaskTracks
from .sam_tracking import model_kind, normalisation

MODEL_TYPES = ("sam3_video",)
TEXT_TOKENS = 32  # the processor pads every phrase to this many tokens
DEFAULT_MEAN = DEFAULT_STD = (0.5, 0.5, 0.5)  # SAM 3's image processor defaults


def load_text_tracker(model_dir: str | Path, device: str = "cpu", dtype: str = "float32") -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, preprocessing) of a SAM 3 video model folder; one line naming what to supply."""
    folder = Path(model_dir)
    model_kind(folder, "a SAM 3 video model folder (facebook/sam3); --text needs SAM 3", MODEL_TYPES)
    import torch
    from transformers import AutoTokenizer, Sam3VideoModel

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise GenomniError(f"--model {folder}: no tokenizer the model's text encoder can read ({exc})".splitlines()[0]) from None
    model: Any = Sam3VideoModel.from_pretrained(str(folder), dtype=getattr(torch, dtype))
    mean, std = normalisation(folder, DEFAULT_MEAN, DEFAULT_STD)
    prep = {"mean": mean, "std": std, "size": int(model.config.detector_config.vision_config.image_size)}
    return model.to(device).eval(), tokenizer, prep


def track_name(text: str) -> str:
    """A folder name from a phrase: its words without a leading article, joined by '-' ("the red car" -> red-car)."""
    words = re.findall(r"[A-Za-z0-9]+", text.lower())
    if words and words[0] in ("the", "a", "an"):
        words = words[1:]
    return "-".join(words)[:48] or "object"


def text_tracks(
    video: np.ndarray, phrases: list[str], model: Any, tokenizer: Any, prep: dict[str, Any], on_frame: Callable[[], None] | None = None
) -> MaskTracks:
    """Masks of every instance of each phrase in `video` (T,H,W,3 uint8), tracked from the first frame to the last;
    instance k of "the camel" is `camel` (one instance) or `camel1`, `camel2`, ... One line for a phrase that finds
    nothing."""
    import torch
    import torch.nn.functional as F
    from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoInferenceSession

    from .sam_tracking import model_inputs

    phrases = [p.strip() for p in phrases]
    if not all(phrases):
        raise GenomniError("--text must not be empty: say what to find, e.g. --text 'the camel'")
    t, h, w = video.shape[:3]
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    pixels = model_inputs(video, prep["size"], prep["mean"], prep["std"]).to(device, dtype)
    session = Sam3VideoInferenceSession(
        video=pixels,
        video_height=h,
        video_width=w,
        inference_device=device,
        video_storage_device=device,
        inference_state_device=device,
        dtype=dtype,
    )
    for phrase in phrases:
        pid = session.add_prompt(phrase)
        encoded = tokenizer(phrase, return_tensors="pt", padding="max_length", max_length=TEXT_TOKENS, truncation=True)
        session.prompt_input_ids[pid] = encoded.input_ids.to(device)
        session.prompt_attention_masks[pid] = encoded.attention_mask.to(device)
    found: dict[int, np.ndarray] = {}
    with torch.no_grad():
        for out in model.propagate_in_video_iterator(session):
            hidden = set(out.suppressed_obj_ids or ()) | set(session.hotstart_removed_obj_ids)
            for obj_id, low in (out.obj_id_to_mask or {}).items():
                if obj_id in hidden:
                    continue
                logits = F.interpolate(low.float().unsqueeze(1), size=(h, w), mode="bilinear", align_corners=False)[0, 0]
                mask = (logits > 0).cpu().numpy()
                if mask.any():
                    found.setdefault(obj_id, np.zeros((t, h, w), bool))[out.frame_idx] = mask
            if on_frame is not None:
                on_frame()
    hidden = set(session.hotstart_removed_obj_ids)
    by_phrase: dict[str, list[np.ndarray]] = {p: [] for p in phrases}
    for obj_id in sorted(found):
        if obj_id not in hidden:
            by_phrase[session.prompts[session.obj_id_to_prompt_id[obj_id]]].append(found[obj_id])
    names: list[str] = []
    masks: list[np.ndarray] = []
    for phrase, tracks in by_phrase.items():
        if not tracks:
            raise GenomniError(f"--text {phrase!r}: SAM 3 found nothing of that in the clip; try other words, or clicks (--point)")
        base = track_name(phrase)
        names += [base] if len(tracks) == 1 else [f"{base}{i + 1}" for i in range(len(tracks))]
        masks += tracks
    if len(set(names)) != len(names):
        raise GenomniError(f"--text phrases give the same track name twice ({', '.join(names)}); use different words")
    return MaskTracks(names, np.stack(masks))
