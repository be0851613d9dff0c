"""The released Casper models' conventions, encoded from the original code's behaviour (gen-omnimatte-public's
vendored VideoX-Fun, read, not run here):

- VideoX-Fun's CogVideoX VAE decodes latent 0 alone (space only, one frame), then pairs of latents upsampled in time
  (a trailing lone latent too), causal caches carried over: n latents -> 4(n-1)+1 frames, the pair (s, s+1) on
  frames 4s-3..4s+4, frame 0 a function of latent 0 alone.
- VideoX-Fun's `LoRANetwork` is attached to the transformer as its root module, so every key is
  `lora_unet_` + "" + `_` + module path with dots as underscores (`lora_unet__blocks_0_self_attn_q`), for every
  linear module; `merge_lora` adds multiplier * alpha/rank * up @ down to each.
"""

import pytest
import torch
from original_layouts import wan_dit, write_cogvideox_fun_dir

from genomni.models.cogvideox_decode import decode_videox, videox_chunks
from genomni.models.wan_original import merge_lora


@pytest.fixture(scope="module")
def cog_vae(tmp_path_factory):
    from diffusers import AutoencoderKLCogVideoX

    root = write_cogvideox_fun_dir(tmp_path_factory.mktemp("cog") / "CogVideoX-Fun-tiny-InP")
    return AutoencoderKLCogVideoX.from_pretrained(root / "vae").eval(), root


def _latents(n, seed=0):
    return torch.randn(1, 16, n, 2, 2, generator=torch.Generator().manual_seed(seed))


def test_chunks_are_latent_zero_then_pairs():
    assert videox_chunks(1) == [(0, 1)]
    assert videox_chunks(22) == [(0, 1)] + [(s, s + 2) for s in range(1, 21, 2)] + [(21, 22)]
    assert videox_chunks(21) == [(0, 1)] + [(s, s + 2) for s in range(1, 21, 2)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_n_latents_decode_to_4n_minus_3_frames_for_either_parity(cog_vae, n):
    vae, _ = cog_vae
    assert decode_videox(vae, _latents(n)).shape[2] == 4 * (n - 1) + 1


def test_latent_j_first_shows_on_frame_4j_minus_3_of_its_pair(cog_vae):
    """Causal decoding, chunk by chunk: changing latent j leaves every frame before its chunk bit-identical (a pair
    shares its normalisation statistics, so both latents of a pair reach back to the pair's first frame) and changes
    frames 4s-3.. where s is the pair's first latent; with the frame count, pair (s, s+1) is frames 4s-3..4s+4."""
    vae, _ = cog_vae
    n = 6
    z = _latents(n)
    base = decode_videox(vae, z)
    for j in range(1, n):
        moved = z.clone()
        moved[:, :, j] += 1.0
        diff = (decode_videox(vae, moved) - base).abs().amax(dim=(0, 1, 3, 4))
        s = j if j % 2 else j - 1
        assert int(torch.nonzero(diff > 0)[0]) == 4 * s - 3, (j, diff)
        assert (diff[4 * j - 3 : 4 * j + 1] > 1e-4).all()


def test_frame_zero_is_latent_zero_decoded_alone(cog_vae):
    vae, _ = cog_vae
    z = _latents(4)
    alone = vae.decode(z[:, :, :1]).sample  # one latent: diffusers upsamples it in space only, as the original does
    assert torch.equal(decode_videox(vae, z)[:, :, :1], alone)


def test_a_cogvideox_casper_decodes_the_released_85_frame_window_to_85_aligned_frames(cog_vae, tmp_path):
    """22 latents (the released 85-frame window): diffusers' own chunking gives 88 frames, latent 1 on frames 4..7;
    the Casper model decodes 85, latent 1 on frames 1..4."""
    from genomni.models.bases import init_from_base
    from genomni.models.casper import CasperModel

    vae, root = cog_vae
    model = CasperModel.from_pretrained(init_from_base(root, tmp_path / "casper"))
    z = _latents(22, seed=1)
    assert vae.decode(z * (1 / vae.config.scaling_factor)).sample.shape[2] == 88
    normalised = (z - model._lat_mean) / model._lat_std
    out = model.decode_latents(normalised)
    assert out.shape[2] == 85
    moved = normalised.clone()
    moved[:, :, 1] += 1.0
    diff = (model.decode_latents(moved) - out).abs().amax(dim=(0, 1, 3, 4))
    assert int(torch.nonzero(diff > 0)[0]) == 1


def _linear_modules(state):
    return sorted(k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2)


@pytest.mark.parametrize("form", ["root", "single"])
def test_videox_lora_keys_merge_for_every_linear_module(form):
    """A LoRA as VideoX-Fun's LoRANetwork writes it (root-module form: `lora_unet__...`, every linear module of the
    DiT: attention, FFN, head, text/time/image embeddings), and the single-underscore form its loader also resolves,
    merge as W + alpha/rank * up @ down."""
    _, state = wan_dit()
    modules = _linear_modules(state)
    assert any(m.startswith("head.") for m in modules) and any(m.startswith("text_embedding") for m in modules)
    gen = torch.Generator().manual_seed(0)
    lora, expected, rank = {}, dict(state), 2
    for name in modules:
        w = state[name + ".weight"]
        key = ("lora_unet__" if form == "root" else "lora_unet_") + name.replace(".", "_")
        up, down = torch.randn(w.shape[0], rank, generator=gen), torch.randn(rank, w.shape[1], generator=gen)
        lora[f"{key}.lora_up.weight"], lora[f"{key}.lora_down.weight"], lora[f"{key}.alpha"] = up, down, torch.tensor(4.0)
        expected[name + ".weight"] = w + 0.5 * (4.0 / rank) * up @ down
    merged = merge_lora(state, lora, 0.5, "lora.safetensors")
    for name in modules:
        torch.testing.assert_close(merged[name + ".weight"], expected[name + ".weight"])
