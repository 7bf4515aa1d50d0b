"""helpers.core.metrics: hole-restricted PSNR/SSIM/L1 and the seed's feature-matching distance."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from helpers.core import metrics


def _faces(n=3, size=64, seed=0):
    """Smooth random images with some structure (edges for the feature detectors)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size // 8, size // 8, generator=g) * 2 - 1
    x = F.interpolate(x, size=size, mode="bicubic", align_corners=False)
    x = x + 0.3 * (torch.rand(n, 3, size, size, generator=g) > 0.9).float()   # speckles = corners
    return x.clamp(-1, 1)


def _mask(n=3, size=64):
    m = torch.zeros(n, 1, size, size)
    m[:, :, 32:56, 14:50] = 1
    return m


def test_identical_images_are_perfect():
    x, m = _faces(), _mask()
    assert torch.isinf(metrics.hole_psnr(x, x, m)).all()
    assert torch.allclose(metrics.hole_ssim(x, x, m), torch.ones(3), atol=1e-5)
    assert torch.equal(metrics.hole_l1(x, x, m), torch.zeros(3))
    for method in ("orb", "sift"):
        assert np.all(metrics.feature_distances(x, x, m, method) == 0.0)


def test_noise_worsens_every_measure():
    x, m = _faces(), _mask()
    g = torch.Generator().manual_seed(1)
    small = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    big = (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    p0, p1 = metrics.hole_psnr(small, x, m), metrics.hole_psnr(big, x, m)
    s0, s1 = metrics.hole_ssim(small, x, m), metrics.hole_ssim(big, x, m)
    l0, l1 = metrics.hole_l1(small, x, m), metrics.hole_l1(big, x, m)
    assert (p0 > p1).all() and (p1 < 30).all()
    assert (s0 > s1).all() and (s0 < 1).all()
    assert (l0 < l1).all() and (l0 > 0).all()
    for method in ("orb", "sift"):
        d0 = metrics.feature_distances(small, x, m, method).mean()
        d1 = metrics.feature_distances(big, x, m, method).mean()
        assert 0 < d0 < d1, (method, d0, d1)


def test_only_hole_pixels_count():
    x, m = _faces(), _mask()
    y = x.clone()
    y[:, :, :10, :10] = -x[:, :, :10, :10]          # change only known pixels
    assert torch.isinf(metrics.hole_psnr(y, x, m)).all()
    assert torch.equal(metrics.hole_l1(y, x, m), torch.zeros(3))


def test_psnr_and_l1_known_values():
    x = torch.zeros(1, 3, 16, 16)
    m = torch.zeros(1, 1, 16, 16)
    m[..., 4:8, 4:8] = 1
    y = x.clone()
    y[..., 4:8, 4:8] = 0.2                          # 0.1 on the [0,1] scale
    assert metrics.hole_l1(y, x, m).item() == pytest.approx(0.1)
    assert metrics.hole_psnr(y, x, m).item() == pytest.approx(20.0, abs=1e-4)   # 10*log10(1/0.01)


def test_ssim_known_values_against_scikit_image():
    """hole_ssim is Wang et al.'s SSIM as scikit-image computes it (Gaussian window, sigma 1.5,
    population covariances, data range 1 on the [0, 1] scale), then averaged over the hole.

    On a full-image mask the hole mean is the mean of the whole SSIM map (scikit-image's
    ``full=True`` map); the two differ only in how the 5-pixel border is padded, hence 1e-3.
    scikit-image's scalar skips that border, so on the interior mask it must agree to ~1e-5.
    """
    target = _faces(2, seed=3)
    g = torch.Generator().manual_seed(4)
    pred = (target + 0.2 * torch.randn(target.shape, generator=g)).clamp(-1, 1)
    full = torch.ones(2, 1, 64, 64)
    interior = torch.zeros(2, 1, 64, 64)
    interior[..., 5:-5, 5:-5] = 1
    ours_full, ours_interior = metrics.hole_ssim(pred, target, full), metrics.hole_ssim(pred, target, interior)
    for i in range(2):
        a, b = (((t[i] + 1) / 2).permute(1, 2, 0).double().numpy() for t in (pred, target))
        mssim, smap = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                            data_range=1, channel_axis=-1, full=True)
        assert 0.2 < mssim < 0.9                                    # a case where SSIM says something
        assert ours_full[i].item() == pytest.approx(smap.mean(), abs=1e-3)
        assert ours_interior[i].item() == pytest.approx(mssim, abs=1e-5)


def test_feature_special_cases():
    flat = torch.zeros(3, 64, 64)
    m = _mask(1)[0]
    both = metrics.feature_match(flat, flat, m, "orb")
    assert both.case == "both-empty" and both.distance == 0.0
    one = metrics.feature_match(flat, _faces(1)[0], m, "orb")
    assert one.case == "one-empty" and one.distance == metrics.WORST_DISTANCE["orb"]
    ok = metrics.feature_match(_faces(1)[0], _faces(1)[0], m, "sift")
    assert ok.case == "matched" and ok.n_matches > 0


def test_bad_inputs_raise():
    x, m = _faces(), _mask()
    with pytest.raises(ValueError, match="3 channels"):
        metrics.hole_psnr(x[:, :1], x[:, :1], m)
    with pytest.raises(ValueError, match="0 .known. and 1"):
        metrics.hole_l1(x, x, m * 0.5)
    with pytest.raises(ValueError, match="at least one hole"):
        metrics.hole_l1(x, x, torch.zeros_like(m))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.hole_l1(x * 3, x, m)
    with pytest.raises(ValueError, match="method"):
        metrics.feature_distance(x[0], x[0], m[0], "surf")
    assert "orb" in metrics.available_feature_methods()


def test_checker_and_seam_energy_find_the_artefacts():
    """A 2x2 checkerboard in the hole scores, a smooth ramp does not; a flat box of another colour
    leaves a seam on the hole border that the true image does not have."""
    yy, xx = torch.meshgrid(torch.linspace(-0.5, 0.5, 32), torch.linspace(-0.5, 0.5, 32), indexing="ij")
    smooth = torch.stack([xx, yy, xx * 0])[None]
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    grid = ((torch.arange(32)[:, None] + torch.arange(32)[None]) % 2).float() * 0.2 - 0.1
    checkered = (smooth + grid * mask).clamp(-1, 1)
    assert metrics.checker_energy(smooth, mask)[0] < 0.5 < 5 < metrics.checker_energy(checkered, mask)[0]
    box = torch.where(mask.bool(), torch.full_like(smooth, 0.6), smooth)
    assert metrics.seam_energy(box, mask)[0] > metrics.seam_energy(smooth, mask)[0] + 10
    u8 = ((smooth + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()   # uint8 NHWC works too
    assert metrics.seam_energy(u8, mask[:, 0].numpy())[0] == pytest.approx(metrics.seam_energy(smooth, mask)[0], abs=1e-3)
    with pytest.raises(ValueError, match="masks"):
        metrics.checker_energy(smooth, mask[0, 0])
