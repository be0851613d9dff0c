"""Metric speed on the CPU: frames/s of PSNR, SSIM and LPIPS (AlexNet) at 256 and 512 px.

LPIPS runs in chunks of 16 frames (genomni.eval.metrics.lpips_frames); ratios are against PSNR in
the same run.

    python benchmarks/eval_speed.py [--frames 32]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from genomni.metrics import load_lpips, lpips_frames, psnr, ssim


def timed(fn, repeats: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=32)
    args = ap.parse_args()
    net = load_lpips()
    rng = np.random.default_rng(0)
    print(f"{args.frames} frames per call, {torch.get_num_threads()} threads:\n")
    print("| size | PSNR frames/s | SSIM frames/s | LPIPS frames/s | SSIM / PSNR time | LPIPS / PSNR time |")
    print("|---|---|---|---|---|---|")
    for side in (256, 512):
        a = rng.integers(0, 256, (args.frames, side, side, 3), dtype=np.uint8)
        b = rng.integers(0, 256, (args.frames, side, side, 3), dtype=np.uint8)
        ta = torch.from_numpy(a).permute(0, 3, 1, 2).double() / 255
        tb = torch.from_numpy(b).permute(0, 3, 1, 2).double() / 255
        t_psnr = timed(lambda: psnr(ta, tb))
        t_ssim = timed(lambda: ssim(ta, tb))
        t_lpips = timed(lambda: lpips_frames(net, a, b), repeats=1)
        n = args.frames
        print(f"| {side} | {n / t_psnr:.0f} | {n / t_ssim:.1f} | {n / t_lpips:.1f} | {t_ssim / t_psnr:.0f}x | {t_lpips / t_psnr:.0f}x |")


if __name__ == "__main__":
    main()
