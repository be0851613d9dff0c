"""A real-size memory plan: one Casper training step of the real Wan2.1-1.3B and CogVideoX-5B architectures
(their published configs, random weights, bf16, gradient checkpointing) on this CPU, full fine-tune and LoRA, at
two small clip sizes; then, from the measured bytes per token and the parameter counts, what fits on 24/48/80 GB
GPUs at the released models' resolutions, and the accelerate/DeepSpeed settings to use.

Each measurement runs in its own subprocess so its peak RSS is its own. Measured: weights + gradients +
activations of one forward/backward (peak RSS during the step, reset after the model is built, minus the
interpreter's baseline). Counted, not measured: AdamW
state (bf16 training with fp32 master weights and moments: 12 bytes per trained parameter), because allocating
it for 1.3B-5B parameters on a CPU measures nothing but malloc.

    python benchmarks/real_size.py                  # wan1.3b full+LoRA, cogvideox5b LoRA (about 15 min here)
    python benchmarks/real_size.py --archs wan1.3b  # just one
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

GB = 1024**3
# The published transformer configs (diffusers layout) with Casper's input channels.
ARCHS = {
    # Wan2.1-T2V-1.3B-Diffusers/transformer/config.json; Casper (genomni layout): 16 noisy + 16 input + 256 trimask
    "wan1.3b": {
        "cls": "WanTransformer3DModel",
        "tokens_per_latent": 4,
        "text": (512, 4096),
        "latent": 16,
        "in": 288,
        "config": {
            "patch_size": [1, 2, 2],
            "num_attention_heads": 12,
            "attention_head_dim": 128,
            "in_channels": 288,
            "out_channels": 16,
            "text_dim": 4096,
            "freq_dim": 256,
            "ffn_dim": 8960,
            "num_layers": 30,
            "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads",
            "eps": 1e-6,
            "rope_max_seq_len": 1024,
        },
    },
    # Wan2.1-T2V-14B: counted only (28 GB of bf16 weights do not fit this 24 GB machine)
    "wan14b": {"cls": "WanTransformer3DModel", "params": 14.29e9, "tokens_per_latent": 4, "dim": 5120, "layers": 40},
    # CogVideoX-Fun-V1.5-5b-InP/transformer/config.json: 16 noisy + 1 mask + 16 masked-video latents, 2x2x2 patches
    "cogvideox5b": {
        "cls": "CogVideoXTransformer3DModel",
        "tokens_per_latent": 8,
        "text": (226, 4096),
        "latent": 16,
        "in": 33,
        "config": {
            "num_attention_heads": 48,
            "attention_head_dim": 64,
            "in_channels": 33,
            "out_channels": 16,
            "time_embed_dim": 512,
            "text_embed_dim": 4096,
            "num_layers": 42,
            "patch_size": 2,
            "patch_size_t": 2,
            "sample_width": 170,
            "sample_height": 96,
            "sample_frames": 81,
            "use_rotary_positional_embeddings": True,
            "use_learned_positional_embeddings": False,
            "max_text_seq_length": 226,
        },
    },
}
# The released models' inference clips (gen-omnimatte-public): frames, height, width.
RELEASED = {"wan1.3b": (81, 480, 832), "wan14b": (81, 480, 832), "cogvideox5b": (85, 384, 672)}
LORA_TARGETS = {
    "WanTransformer3DModel": ["to_q", "to_k", "to_v", "to_out.0", "ffn.net.0.proj", "ffn.net.2"],
    "CogVideoXTransformer3DModel": ["to_q", "to_k", "to_v", "to_out.0"],
}


def _status_gb(field: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / GB
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    """Linux: writing 5 to clear_refs resets the peak RSS (VmHWM), so building the model does not count."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def latent_shape(frames: int, height: int, width: int) -> tuple[int, int, int]:
    return 1 + (frames - 1) // 4, height // 8, width // 8


def tokens(arch: str, frames: int, height: int, width: int) -> int:
    t, h, w = latent_shape(frames, height, width)
    if arch == "cogvideox5b":
        t += t % 2  # patch_size_t 2: an odd latent count is padded
    return t * h * w // ARCHS[arch]["tokens_per_latent"]


def measure(arch: str, mode: str, frames: int, side: int, rank: int) -> dict:
    """One forward+backward in a fresh process: seconds and peak RSS above the baseline."""
    import diffusers
    import torch

    torch.manual_seed(0)
    base = _status_gb("VmRSS")
    spec = ARCHS[arch]
    cls = getattr(diffusers, spec["cls"])
    t0 = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16)  # built in bf16 directly: an fp32 build would set the peak
    model = cls.from_config(spec["config"])
    torch.set_default_dtype(torch.float32)
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    model.enable_gradient_checkpointing()
    model.train()
    if mode == "lora":
        from peft import LoraConfig

        model.requires_grad_(False)
        model.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=LORA_TARGETS[spec["cls"]]))
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    t, h, w = latent_shape(frames, side, side)
    text = torch.randn(1, *spec["text"], dtype=torch.bfloat16)
    step = torch.tensor([500.0])
    reset_peak()
    t1 = time.perf_counter()
    if spec["cls"] == "WanTransformer3DModel":
        x = torch.randn(1, spec["in"], t, h, w, dtype=torch.bfloat16)
        out = model(x, step, text, return_dict=False)[0]
    else:
        from diffusers.models.embeddings import get_3d_rotary_pos_embed

        t += t % 2
        x = torch.randn(1, t, spec["in"], h, w, dtype=torch.bfloat16)
        c = spec["config"]
        rope = get_3d_rotary_pos_embed(
            c["attention_head_dim"], (0, 0), (h // 2, w // 2), temporal_size=t // 2, grid_type="slice", max_size=(h // 2, w // 2)
        )
        out = model(x, text, step, image_rotary_emb=rope, return_dict=False)[0]
    loss = out.float().pow(2).mean()
    loss.backward()
    step_s = time.perf_counter() - t1
    return {
        "arch": arch,
        "mode": mode,
        "frames": frames,
        "side": side,
        "tokens": tokens(arch, frames, side, side),
        "params": params,
        "trained": trained,
        "build_s": build_s,
        "step_s": step_s,
        "peak_gb": _status_gb("VmHWM") - base,
    }


def run_one(arch: str, mode: str, frames: int, side: int, rank: int) -> dict:
    cmd = [sys.executable, __file__, "--one", json.dumps([arch, mode, frames, side, rank])]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"arch": arch, "mode": mode, "frames": frames, "side": side, "error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def plan(arch: str, clip: tuple[int, int, int], params: float, trained: float, per_token: float, fixed: float) -> dict:
    """GB per GPU for a clip: bf16 weights (2 B/param), bf16 grads of what trains (2 B), AdamW fp32 master+moments
    (12 B), unsharded, sharded over 8 GPUs (ZeRO-2: grads and optimizer; ZeRO-3: weights too), activations."""
    n = tokens(arch, *clip)
    act = per_token * n / GB
    weights = 2 * params / GB
    grads, optim = 2 * trained / GB, 12 * trained / GB
    return {
        "tokens": n,
        "weights": weights,
        "activations": act,
        "single_gpu": weights + grads + optim + act + fixed,
        "zero2_8gpu": weights + (grads + optim) / 8 + act + fixed,
        "zero3_8gpu": (weights + grads + optim) / 8 + act + fixed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", default="wan1.3b,cogvideox5b")
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--sides", default="128,256", help="two clip sides (pixels) to fit bytes per token")
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--measurements", help="re-print the tables from the JSON lines of an earlier run instead of measuring")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(*json.loads(args.one))))
        return
    sides = [int(s) for s in args.sides.split(",")]
    old = [json.loads(line) for line in open(args.measurements) if line.startswith("{")] if args.measurements else []
    rows = []
    for arch in args.archs.split(","):
        modes = ["lora"] if arch == "cogvideox5b" else ["full", "lora"]  # 5B full: 22 GB of weights+grads alone
        for mode in modes:
            if old:
                ms = [m for m in old if m["arch"] == arch and m["mode"] == mode]
            else:
                ms = [run_one(arch, mode, args.frames, s, args.rank) for s in sides]
                for m in ms:
                    print(json.dumps(m), flush=True)
            if len(ms) != 2 or any("error" in m for m in ms):
                continue
            a, b = ms
            per_token = max(0.0, (b["peak_gb"] - a["peak_gb"]) * GB / (b["tokens"] - a["tokens"]))
            fixed = a["peak_gb"] - per_token * a["tokens"] / GB - 2 * a["params"] / GB - 2 * a["trained"] / GB
            rows.append((arch, mode, a, b, per_token, max(0.0, fixed)))
    print("\n| arch | mode | params | trained | clip (frames x side) | tokens | step s (CPU, bf16) | peak RSS GB |")
    print("|---|---|---|---|---|---|---|---|")
    for arch, mode, a, b, _, _ in rows:
        for m in (a, b):
            print(
                f"| {arch} | {mode} | {m['params'] / 1e9:.2f}B | {m['trained'] / 1e6:.1f}M | {m['frames']}x{m['side']} | "
                f"{m['tokens']} | {m['step_s']:.1f} | {m['peak_gb']:.2f} |"
            )
    print_plan(rows, args.rank)


def configs_to_plan() -> list[tuple[str, str, str, tuple[int, int, int]]]:
    """(config file, arch, mode, clip) for every training config in configs/."""
    import yaml

    out = []
    for f in sorted((Path(__file__).parent.parent / "configs").glob("*.yaml")):
        c = yaml.safe_load(f.read_text())
        arch = next((a for a in ("cogvideox5b", "wan14b") if f.name.startswith(a)), "wan1.3b")
        out.append((f.name, arch, "lora" if c.get("lora_rank") else "full", (c["frames"], c["height"], c["width"])))
    return out


def print_plan(rows: list, rank: int) -> None:
    """GB per GPU for each config in configs/ and at the released clips, from the measured bytes per token."""
    measured = {(r[0], r[1]): r for r in rows}
    per_arch: dict[str, tuple[float, float]] = {}
    for (arch, _), (_, _, _, _, per_token, fixed) in measured.items():
        per_arch.setdefault(arch, (per_token, fixed))  # activations do not depend on what trains
    if "wan1.3b" in per_arch:  # 14B: the 1.3B bytes per token scaled by width x depth
        spec = ARCHS["wan14b"]
        pt, fx = per_arch["wan1.3b"]
        per_arch["wan14b"] = (pt * spec["dim"] * spec["layers"] / (1536 * 30), fx)
    params = {"wan1.3b": 1.42e9, "wan14b": ARCHS["wan14b"]["params"], "cogvideox5b": 5.57e9}
    lora = {"wan1.3b": 87.5e6, "wan14b": 2 * rank * 2 * 5120 * 6 * 40, "cogvideox5b": 66.1e6}
    print("\nMemory plan (GB per GPU; bf16 weights, AdamW with fp32 master and moments, gradient checkpointing;")
    print("activations from this CPU's bytes per token, an upper bound for flash attention on a GPU):")
    print("| config / clip | arch | mode | frames x H x W | tokens | activations | 1 GPU | ZeRO-2 x8 | ZeRO-3 x8 | fits 24 / 48 / 80 GB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    cases = [(name, arch, mode, clip) for name, arch, mode, clip in configs_to_plan()]
    cases += [("released", arch, mode, RELEASED[arch]) for arch in ("wan1.3b", "cogvideox5b", "wan14b") for mode in ("full", "lora")]
    for name, arch, mode, clip in cases:
        if arch not in per_arch:
            continue
        per_token, fixed = per_arch[arch]
        p = plan(arch, clip, params[arch], params[arch] if mode == "full" else lora[arch], per_token, fixed)
        best = min(p["single_gpu"], p["zero2_8gpu"], p["zero3_8gpu"])
        fits = " / ".join("yes" if best < cap * 0.92 else "no" for cap in (24, 48, 80))
        print(
            f"| {name} | {arch} | {mode} | {clip[0]}x{clip[1]}x{clip[2]} | {p['tokens']} | {p['activations']:.1f} | "
            f"{p['single_gpu']:.1f} | {p['zero2_8gpu']:.1f} | {p['zero3_8gpu']:.1f} | {fits} |"
        )


if __name__ == "__main__":
    main()
