"""Wan2.1 checkpoints in the original (Wan-Video / VideoX-Fun "civitai") layout, read into the diffusers
and transformers classes genomni runs: the DiT (`config.json` + `diffusion_pytorch_model*.safetensors`),
the VAE (`Wan2.1_VAE.pth`), the umT5 text encoder (`models_t5_umt5-xxl-enc-bf16.pth`) and the
open-clip XLM-RoBERTa ViT-H/14 image encoder (`models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth`),
plus VideoX-Fun's LoRA files (`lora_unet__<module>.lora_down/lora_up/alpha`, as its root-module LoRANetwork saves them).

Hand-written because the original checkpoints have no loader outside the Wan/VideoX-Fun code bases
(diffusers ships only a one-off conversion script). The key names follow the original module
definitions; each converter infers the architecture from the tensor shapes, checks that every key is
used and every target parameter is filled, and fails in one line naming what is wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from accelerate import init_empty_weights

from ..errors import GenomniError

CLIP_VISION_HEADS = 16  # Wan's image encoder is always open-clip ViT-H/14 (16 heads); head counts are not in the file
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)

# original DiT module name -> diffusers WanTransformer3DModel name (applied as ordered substring renames)
_DIT_RENAMES = [
    ("time_embedding.0.", "condition_embedder.time_embedder.linear_1."),
    ("time_embedding.2.", "condition_embedder.time_embedder.linear_2."),
    ("text_embedding.0.", "condition_embedder.text_embedder.linear_1."),
    ("text_embedding.2.", "condition_embedder.text_embedder.linear_2."),
    ("time_projection.1.", "condition_embedder.time_proj."),
    ("img_emb.proj.0.", "condition_embedder.image_embedder.norm1."),
    ("img_emb.proj.1.", "condition_embedder.image_embedder.ff.net.0.proj."),
    ("img_emb.proj.3.", "condition_embedder.image_embedder.ff.net.2."),
    ("img_emb.proj.4.", "condition_embedder.image_embedder.norm2."),
    ("head.modulation", "scale_shift_table"),
    ("head.head.", "proj_out."),
    (".modulation", ".scale_shift_table"),
    (".ffn.0.", ".ffn.net.0.proj."),
    (".ffn.2.", ".ffn.net.2."),
    (".self_attn.q.", ".attn1.to_q."),
    (".self_attn.k.", ".attn1.to_k."),
    (".self_attn.v.", ".attn1.to_v."),
    (".self_attn.o.", ".attn1.to_out.0."),
    (".self_attn.norm_q.", ".attn1.norm_q."),
    (".self_attn.norm_k.", ".attn1.norm_k."),
    (".cross_attn.q.", ".attn2.to_q."),
    (".cross_attn.k.", ".attn2.to_k."),
    (".cross_attn.v.", ".attn2.to_v."),
    (".cross_attn.o.", ".attn2.to_out.0."),
    (".cross_attn.norm_q.", ".attn2.norm_q."),
    (".cross_attn.norm_k.", ".attn2.norm_k."),
    (".cross_attn.k_img.", ".attn2.add_k_proj."),
    (".cross_attn.v_img.", ".attn2.add_v_proj."),
    (".cross_attn.norm_k_img.", ".attn2.norm_added_k."),
    # the original block applies norm1 (self-attn), norm3 (cross-attn, affine), norm2 (ffn, no weights); diffusers
    # numbers them in order, so only the cross-attention norm's weights move
    (".norm3.", ".norm2."),
]


def _strip(state: dict[str, torch.Tensor], prefixes: tuple[str, ...] = ("model.", "module.")) -> dict[str, torch.Tensor]:
    """Unwrap {"state_dict": ...} and drop a wrapper prefix every key shares (VideoX-Fun saves some with "model.")."""
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    for p in prefixes:
        if state and all(k.startswith(p) for k in state):
            state = {k[len(p) :]: v for k, v in state.items()}
    return state


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A .safetensors, .pth/.pt/.bin file, or a folder of (possibly sharded) diffusion_pytorch_model*.safetensors."""
    from safetensors.torch import load_file

    if path.is_dir():
        files = sorted(path.glob("diffusion_pytorch_model*.safetensors")) or sorted(path.glob("*.safetensors"))
        if not files:
            raise GenomniError(f"{path} holds no .safetensors weights")
        state: dict[str, torch.Tensor] = {}
        for f in files:
            state.update(load_file(f))
        return _strip(state)
    if not path.is_file():
        raise GenomniError(f"{path} does not exist; supply the file")
    try:
        if path.suffix == ".safetensors":
            return _strip(load_file(path))
        return _strip(torch.load(path, map_location="cpu", weights_only=True, mmap=True))  # 11 GB umT5: no copy
    except Exception as exc:  # noqa: BLE001 - torch/safetensors raise many types for a damaged file
        raise GenomniError(f"{path} is not a readable weights file ({str(exc).splitlines()[0][:120]})") from exc


def fill_weights(model: torch.nn.Module, state: dict[str, torch.Tensor], what: str) -> torch.nn.Module:
    """Load a converted state dict exactly: a missing, unused or misshapen tensor is a one-line error."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise GenomniError(
            f"{what}: {len(missing)} parameter(s) missing (e.g. {missing[:2]}), {len(extra)} unused "
            f"(e.g. {extra[:2]}); not the expected layout"
        )
    for k, v in state.items():
        if own[k].shape != v.shape:
            raise GenomniError(f"{what}: {k} has shape {tuple(v.shape)}, the architecture expects {tuple(own[k].shape)}")
    model.load_state_dict(state, assign=True)
    return model


# --- the DiT ----------------------------------------------------------------------------------------------------
def dit_key(name: str) -> str:
    """An original Wan DiT parameter name -> its diffusers WanTransformer3DModel name."""
    for old, new in _DIT_RENAMES:
        if not old.startswith("."):
            name = new + name[len(old) :] if name.startswith(old) else name
        else:
            name = name.replace(old, new)
    return name


def dit_config(state: dict[str, torch.Tensor], config: dict[str, Any]) -> dict[str, Any]:
    """The diffusers WanTransformer3DModel config of an original DiT, from its shapes and config.json (num_heads)."""
    try:
        patch = state["patch_embedding.weight"]
        dim, in_dim, patch_size = patch.shape[0], patch.shape[1], list(patch.shape[2:])
        heads = int(config["num_heads"])
        layers = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k)))
        out = state["head.head.weight"].shape[0] // (patch_size[0] * patch_size[1] * patch_size[2])
        i2v = "img_emb.proj.1.weight" in state
        return {
            "patch_size": patch_size,
            "num_attention_heads": heads,
            "attention_head_dim": dim // heads,
            "in_channels": in_dim,
            "out_channels": out,
            "text_dim": state["text_embedding.0.weight"].shape[1],
            "freq_dim": state["time_embedding.0.weight"].shape[1],
            "ffn_dim": state["blocks.0.ffn.0.weight"].shape[0],
            "num_layers": layers,
            "cross_attn_norm": "blocks.0.norm3.weight" in state,
            "qk_norm": "rms_norm_across_heads" if "blocks.0.self_attn.norm_q.weight" in state else None,
            "eps": float(config.get("eps", 1e-6)),
            "image_dim": state["img_emb.proj.0.weight"].shape[0] if i2v else None,
            "added_kv_proj_dim": dim if i2v else None,
            "rope_max_seq_len": 1024,
        }
    except (KeyError, ValueError) as exc:
        raise GenomniError(
            f"not an original Wan2.1 DiT checkpoint (no {exc}); supply config.json with num_heads and "
            f"the diffusion_pytorch_model*.safetensors of a Wan2.1(-Fun) model"
        ) from exc


def dit_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an original DiT state dict to diffusers names (tensors shared, not copied)."""
    return {dit_key(k): v for k, v in state.items()}


def load_dit(folder: Path, casper: Path | None = None, lora: Path | None = None, lora_weight: float = 1.0) -> Any:
    """A diffusers WanTransformer3DModel from an original-layout DiT folder; `casper` replaces its weights with a
    full fine-tune (the released Casper .safetensors), `lora` merges a VideoX-Fun LoRA into them."""
    from diffusers import WanTransformer3DModel

    cfg_file = folder / "config.json"
    if not cfg_file.is_file():
        raise GenomniError(f"{folder} has no config.json; supply the Wan2.1-Fun model folder as downloaded")
    config = json.loads(cfg_file.read_text())
    state = read_weights(folder)
    if casper is not None:
        tuned = read_weights(casper)
        unknown = sorted(set(tuned) - set(state))
        if unknown:
            raise GenomniError(
                f"{casper}: {len(unknown)} tensor(s) the base does not have (e.g. {unknown[0]}); "
                f"is this the Casper checkpoint for this base?"
            )
        for k, v in tuned.items():
            if v.shape != state[k].shape:
                raise GenomniError(
                    f"{casper}: {k} has shape {tuple(v.shape)}, the base {tuple(state[k].shape)}; "
                    f"is this the Casper checkpoint for this base?"
                )
        state.update(tuned)
    if lora is not None:
        state = merge_lora(state, read_weights(lora), lora_weight, str(lora))
    with init_empty_weights():  # no random init of billions of weights that are replaced at once (buffers stay real)
        model = WanTransformer3DModel.from_config(dit_config(state, config))
    return fill_weights(model, dit_state(state), f"{folder} (Wan DiT)")


def merge_lora(state: dict[str, torch.Tensor], lora: dict[str, torch.Tensor], weight: float, name: str) -> dict[str, torch.Tensor]:
    """W += weight * alpha/rank * up @ down for every `lora_unet__<module>` (or `lora_unet_<module>`) in a VideoX-Fun
    LoRA file (module names are the original DiT's with dots as underscores); a module the DiT does not have is an
    error."""
    modules = {k[: -len(".weight")].replace(".", "_"): k for k in state if k.endswith(".weight")}
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for k, v in lora.items():
        layer, _, elem = k.partition(".")
        groups.setdefault(layer, {})[elem] = v
    out = dict(state)
    for layer, elems in groups.items():
        if layer.startswith("lora_te"):
            raise GenomniError(f"{name}: text-encoder LoRA ({layer}) is not supported; the released Casper LoRA has none")
        # VideoX-Fun's LoRANetwork hangs on the DiT as its root module (empty name), so its keys read
        # `lora_unet__blocks_0_...`; its loader resolves the single-underscore form too
        target = modules.get(re.sub(r"^lora_unet_+", "", layer))
        if target is None or "lora_up.weight" not in elems or "lora_down.weight" not in elems:
            raise GenomniError(f"{name}: {layer} matches no DiT module (or lacks lora_up/lora_down); not a LoRA for this base")
        up, down = elems["lora_up.weight"].float(), elems["lora_down.weight"].float()
        scale = float(elems["alpha"]) / up.shape[1] if "alpha" in elems else 1.0
        w = out[target]
        out[target] = (w.float() + weight * scale * (up.flatten(1) @ down.flatten(1)).view(w.shape)).to(w.dtype)
    return out


# --- the umT5 text encoder --------------------------------------------------------------------------------------
_T5 = {
    "norm1.weight": "layer.0.layer_norm.weight",
    "attn.q.weight": "layer.0.SelfAttention.q.weight",
    "attn.k.weight": "layer.0.SelfAttention.k.weight",
    "attn.v.weight": "layer.0.SelfAttention.v.weight",
    "attn.o.weight": "layer.0.SelfAttention.o.weight",
    "pos_embedding.embedding.weight": "layer.0.SelfAttention.relative_attention_bias.weight",
    "norm2.weight": "layer.1.layer_norm.weight",
    "ffn.gate.0.weight": "layer.1.DenseReluDense.wi_0.weight",
    "ffn.fc1.weight": "layer.1.DenseReluDense.wi_1.weight",
    "ffn.fc2.weight": "layer.1.DenseReluDense.wo.weight",
}


def load_t5(path: Path) -> Any:
    """A transformers UMT5EncoderModel from Wan's models_t5_umt5-xxl-enc-bf16.pth (gated-GELU with the tanh
    approximation, per-layer relative position buckets: the umT5 architecture)."""
    from transformers import UMT5Config, UMT5EncoderModel

    state = read_weights(path)
    try:
        vocab, dim = state["token_embedding.weight"].shape
        layers = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k)))
        buckets, heads = state["blocks.0.pos_embedding.embedding.weight"].shape
        dim_attn, dim_ffn = state["blocks.0.attn.q.weight"].shape[0], state["blocks.0.ffn.fc1.weight"].shape[0]
    except (KeyError, ValueError) as exc:
        raise GenomniError(f"{path} is not a Wan umT5 encoder checkpoint (no {exc})") from exc
    config = UMT5Config(
        vocab_size=vocab,
        d_model=dim,
        d_kv=dim_attn // heads,
        d_ff=dim_ffn,
        num_layers=layers,
        num_heads=heads,
        relative_attention_num_buckets=buckets,
        relative_attention_max_distance=128,
        feed_forward_proj="gated-gelu",
        layer_norm_epsilon=1e-6,
        dropout_rate=0.0,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        tie_word_embeddings=False,
    )
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        if k == "token_embedding.weight":
            out["shared.weight"] = out["encoder.embed_tokens.weight"] = v
        elif k == "norm.weight":
            out["encoder.final_layer_norm.weight"] = v
        elif (m := re.match(r"blocks\.(\d+)\.(.+)$", k)) and m.group(2) in _T5:
            out[f"encoder.block.{m.group(1)}.{_T5[m.group(2)]}"] = v
        else:
            out[k] = v
    with init_empty_weights():
        model = UMT5EncoderModel(config)
    return fill_weights(model, out, f"{path} (umT5 encoder)")


# --- the CLIP image encoder -------------------------------------------------------------------------------------
def load_clip_vision(path: Path) -> Any:
    """A transformers CLIPVisionModel from Wan's open-clip XLM-RoBERTa ViT-H/14 checkpoint (its visual tower; the
    text tower is not needed). Wan reads the tokens after the second-to-last block: `hidden_states[-2]`."""
    from transformers import CLIPVisionConfig, CLIPVisionModel

    full = read_weights(path)
    state = {k[len("visual.") :]: v for k, v in full.items() if k.startswith("visual.")}
    try:
        patch = state["patch_embedding.weight"]
        dim, psize = patch.shape[0], patch.shape[-1]
        positions = state["pos_embedding"].shape[1]
        layers = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"transformer\.(\d+)\.", k)))
        ffn = state["transformer.0.mlp.0.weight"].shape[0]
    except (KeyError, ValueError) as exc:
        raise GenomniError(f"{path} is not Wan's open-clip image encoder checkpoint (no visual.{exc})") from exc
    config = CLIPVisionConfig(
        hidden_size=dim,
        intermediate_size=ffn,
        num_hidden_layers=layers,
        num_attention_heads=CLIP_VISION_HEADS,
        image_size=int(round((positions - 1) ** 0.5)) * psize,
        patch_size=psize,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
    )
    model = CLIPVisionModel(config)
    own = model.state_dict()
    p = "vision_model." if any(k.startswith("vision_model.") for k in own) else ""  # transformers 5 drops the prefix
    out: dict[str, torch.Tensor] = {
        p + "embeddings.patch_embedding.weight": patch,
        p + "embeddings.class_embedding": state["cls_embedding"].reshape(dim),
        p + "embeddings.position_embedding.weight": state["pos_embedding"].reshape(positions, dim),
    }
    names = {"norm1": "layer_norm1", "norm2": "layer_norm2", "attn.proj": "self_attn.out_proj", "mlp.0": "mlp.fc1", "mlp.2": "mlp.fc2"}
    for k, v in state.items():
        if k.startswith(("pre_norm.", "post_norm.")):
            out[p + ("pre_layrnorm." if k.startswith("pre") else "post_layernorm.") + k.split(".", 1)[1]] = v
        elif m := re.match(r"transformer\.(\d+)\.(.+)\.(weight|bias)$", k):
            layer, mod, kind = m.groups()
            if mod == "attn.to_qkv":
                for name, part in zip(("q_proj", "k_proj", "v_proj"), v.chunk(3, dim=0)):
                    out[f"{p}encoder.layers.{layer}.self_attn.{name}.{kind}"] = part
            elif mod in names:
                out[f"{p}encoder.layers.{layer}.{names[mod]}.{kind}"] = v
            else:
                out[k] = v
        elif k not in ("patch_embedding.weight", "cls_embedding", "pos_embedding", "head"):
            out[k] = v
    out.update({k: own[k] for k in own if k.endswith("position_ids")})  # a buffer, not a weight
    return fill_weights(model, out, f"{path} (CLIP image encoder)").float()
