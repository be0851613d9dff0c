"""Which pixel-space denoiser trains fastest on this CPU: seconds per training step (forward, backward,
AdamW) of diffusers architectures of similar size on the pixel preset's batch (4 clips x 9 frames x 64 px,
10 input channels: noisy | input | trimask | pre-filled input), as ratios to the chosen one (the `pixel` preset) measured in
the same process.

    python benchmarks/pixel_arch.py [--repeats 3]

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import torch

B, T, SIDE = 4, 9, 64


def step_seconds(net: torch.nn.Module, forward: Callable[[torch.nn.Module], torch.Tensor], repeats: int) -> float:
    """Mean wall seconds of a training step after one warm-up step."""
    opt = torch.optim.AdamW(net.parameters(), 1e-4)
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        forward(net).float().pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
        if i:
            times.append(time.perf_counter() - t0)
    return sum(times) / len(times)


def candidates() -> list[tuple[str, torch.nn.Module, Callable[[torch.nn.Module], torch.Tensor]]]:
    from diffusers import UNet2DConditionModel, UNet3DConditionModel, WanTransformer3DModel

    from genomni.models.presets import preset

    torch.manual_seed(0)
    x, text, t = torch.randn(B, 10, T, SIDE, SIDE), torch.randn(B, 8, 32), torch.rand(B) * 1000
    frames = x.permute(0, 2, 1, 3, 4).reshape(B * T, 10, SIDE, SIDE)
    chosen = preset("pixel").transformer
    out: list[tuple[str, Any, Callable]] = [
        ("pixel preset: WanTransformer3DModel, 8x8 patches, width 128, 4 layers", chosen, lambda n: n(x, t, text, return_dict=False)[0]),
        (
            "WanTransformer3DModel, 4x4 patches, width 128, 4 layers",
            WanTransformer3DModel(
                patch_size=(1, 4, 4),
                num_attention_heads=4,
                attention_head_dim=32,
                in_channels=10,
                out_channels=3,
                text_dim=32,
                freq_dim=64,
                ffn_dim=256,
                num_layers=4,
                rope_max_seq_len=64,
            ),
            lambda n: n(x, t, text, return_dict=False)[0],
        ),
        (
            "UNet2DConditionModel (32, 64, 96), attention at 16 px, per frame",
            UNet2DConditionModel(
                in_channels=10,
                out_channels=3,
                down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
                block_out_channels=(32, 64, 96),
                layers_per_block=1,
                norm_num_groups=8,
                cross_attention_dim=32,
                attention_head_dim=16,
            ),
            lambda n: n(frames, t.repeat_interleave(T), text.repeat_interleave(T, 0)).sample,
        ),
        (
            "UNet3DConditionModel (16, 32, 64), attention at 16 px",
            UNet3DConditionModel(
                in_channels=10,
                out_channels=3,
                down_block_types=("DownBlock3D", "DownBlock3D", "CrossAttnDownBlock3D"),
                up_block_types=("CrossAttnUpBlock3D", "UpBlock3D", "UpBlock3D"),
                block_out_channels=(16, 32, 64),
                layers_per_block=1,
                norm_num_groups=8,
                cross_attention_dim=32,
                attention_head_dim=16,
            ),
            lambda n: n(x, t, text).sample,
        ),
    ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rows = [(name, sum(p.numel() for p in net.parameters()), step_seconds(net, fwd, args.repeats)) for name, net, fwd in candidates()]
    base = rows[0][2]
    print(f"| denoiser (batch {B} x {T} frames x {SIDE} px) | parameters | s/step | vs pixel preset |")
    print("|---|---|---|---|")
    for name, params, sec in rows:
        print(f"| {name} | {params / 1e6:.2f}M | {sec:.3f} | {sec / base:.1f}x |")


if __name__ == "__main__":
    main()
