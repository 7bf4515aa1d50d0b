"""FID, KID and IS (helpers.core.distribution) with pluggable features, and their offline default."""
import sys
import types

import numpy as np
import pytest
import scipy.linalg
import torch

from helpers.core import distribution as dist
from helpers.core.distribution import Extractor


def _gauss(n, d, seed, shift=0.0, scale=1.0, mix=0):
    """n samples of N(shift, scale^2 A A^T), A fixed by ``mix`` (so ``seed`` changes only the draw)."""
    a = np.random.default_rng(10_000 + mix).normal(size=(d, d)) / np.sqrt(d)
    return np.random.default_rng(seed).normal(size=(n, d)) @ a * scale + shift


def _fid_scipy(a, b):
    """The textbook formula with scipy's matrix square root (as pytorch-fid computes it)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2)
    root = root.real if np.iscomplexobj(root) else root
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def test_fid_of_a_set_with_itself_is_zero():
    a = _gauss(300, 16, 0)
    assert dist.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    t = torch.from_numpy(a).float()
    assert dist.fid(t, t) == pytest.approx(0.0, abs=1e-5)


def test_fid_equals_the_scipy_computation_on_random_features():
    for seed, (n_a, n_b, d) in enumerate([(400, 300, 8), (200, 250, 32), (120, 90, 64)]):
        a = _gauss(n_a, d, seed)
        b = _gauss(n_b, d, seed + 100, shift=0.3, scale=1.5, mix=1)
        ours, ref = dist.frechet_distance(a, b), _fid_scipy(a, b)
        assert ours == pytest.approx(ref, rel=1e-6, abs=1e-8), (n_a, n_b, d)


def test_kid_is_unbiased_on_equal_distributions_and_positive_otherwise():
    d = 16
    vals = []
    for seed in range(20):                      # independent pairs of samples of ONE distribution
        a, b = _gauss(100, d, 1000 + seed, scale=1.0), _gauss(100, d, 2000 + seed)
        vals.append(dist.mmd2_unbiased(a, b))
    vals = np.array(vals)
    se = vals.std(ddof=1) / np.sqrt(len(vals))
    assert abs(vals.mean()) < 3 * se + 1e-6, (vals.mean(), se)
    assert (vals < 0).any()                     # an unbiased estimator of 0 must go negative
    # the biased (V-statistic) estimator, diagonals included, is positive on the same data
    a, b = _gauss(100, d, 1000), _gauss(100, d, 2000)
    k = dist.polynomial_kernel
    biased = k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()
    assert biased > abs(dist.mmd2_unbiased(a, b)) * 2
    far = dist.kid_from_features(a, _gauss(100, d, 3000, shift=0.5), subsets=10, subset_size=50)
    assert far[0] > 10 * abs(dist.kid_from_features(a, b, subsets=10, subset_size=50)[0])


def test_inception_score_bounds():
    c = 8
    uniform = np.full((80, c), 1.0 / c)
    assert dist.inception_score_from_probs(uniform, splits=4)[0] == pytest.approx(1.0)
    onehot = np.eye(c)[np.arange(96) % c]      # 4 splits of 24: 3 of each class
    assert dist.inception_score_from_probs(onehot, splits=4)[0] == pytest.approx(c, rel=1e-6)


def _pixel_extractor():
    """A network-free extractor: 8x8-pooled pixels plus a gradient-energy channel (blur-sensitive)."""
    def feats(x):
        lo = torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)
        grad = (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3))[:, None]
        return torch.cat([lo, 20 * grad], 1)
    return Extractor("pixels", feats, lambda x: feats(x)[:, :8].softmax(1))


def test_pluggable_extractor_and_metrics_grow_with_noise():
    g = torch.Generator().manual_seed(0)
    base = torch.rand(200, 3, 16, 16, generator=g) * 1.2 - 0.6
    ref = torch.rand(200, 3, 16, 16, generator=g) * 1.2 - 0.6
    ext = _pixel_extractor()
    fids, kids = [], []
    for sigma in (0.0, 0.1, 0.2, 0.4):
        noisy = (base + sigma * torch.randn(base.shape, generator=g)).clamp(-1, 1)
        m = dist.distribution_metrics(ref, noisy, ext, kid_subsets=20, kid_subset_size=100, is_splits=4)
        fids.append(m["fid"])
        kids.append(m["kid"])
        assert {"fid", "kid", "kid_std", "is_fake", "is_real", "note", "extractor"} <= set(m)
    assert fids == sorted(fids) and kids == sorted(kids), (fids, kids)


def test_bad_inputs_raise_clear_errors():
    a = _gauss(50, 8, 0)
    with pytest.raises(ValueError, match="at least 10 images"):
        dist.frechet_distance(a[:5], a)
    with pytest.raises(ValueError, match="dimension"):
        dist.frechet_distance(a, _gauss(50, 4, 1))
    with pytest.raises(ValueError, match=r"2-D features"):
        dist.frechet_distance(a[0], a)
    bad = a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        dist.kid_from_features(bad, a)
    with pytest.raises(ValueError, match="at least 2"):
        dist.kid_from_features(a[:1], a)
    with pytest.raises(ValueError, match="sum to 1"):
        dist.inception_score_from_probs(np.ones((40, 4)))
    with pytest.raises(ValueError, match="at least 20 images"):
        dist.inception_score_from_probs(np.full((10, 4), 0.25), splits=10)
    ext = _pixel_extractor()
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        dist.fid(torch.rand(20, 1, 16, 16), torch.rand(20, 1, 16, 16), ext)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        dist.fid(torch.rand(20, 3, 16, 16) * 5, torch.rand(20, 3, 16, 16), ext)
    with pytest.raises(ValueError, match="no class probabilities"):
        dist.inception_score(torch.rand(20, 3, 16, 16), Extractor("f", ext.features))


# ----------------------------------------------------------------------------- the offline default
def test_analysis_fid_and_kid_grow_monotonically_with_noise_and_blur():
    from helpers.analysis.evaluate import degradation

    rows = degradation(n=80, size=64, kid_subset=80,
                       levels={"noise": (0.0, 0.2, 0.4), "blur": (0.0, 1.5, 3.0)})
    self_row = [r for r in rows if r["kind"] == "self"][0]
    assert self_row["fid"] == pytest.approx(0.0, abs=1e-6)
    for kind in ("noise", "blur"):
        f = [r["fid"] for r in rows if r["kind"] == kind]
        k = [r["kid"] for r in rows if r["kind"] == kind]
        assert f == sorted(f) and f[-1] > 2 * f[0], (kind, f)
        assert k == sorted(k), (kind, k)


def test_inception_extractor_fails_clearly_offline(monkeypatch):
    from helpers.faces import analysis as A

    monkeypatch.setitem(sys.modules, "torch_fidelity", None)           # not installed
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", None)
    with pytest.raises(A.WeightsUnavailableError, match="pip install torch-fidelity"):
        A.feature_extractor("inception")

    def no_download(*a, **k):                                           # installed, but offline
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")
    fake = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    fake.FeatureExtractorInceptionV3 = no_download
    monkeypatch.setitem(sys.modules, "torch_fidelity", types.ModuleType("torch_fidelity"))
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", fake)
    with pytest.raises(A.WeightsUnavailableError, match="feature_extractor\\('analysis'\\)"):
        A.feature_extractor("inception")
    with pytest.raises(ValueError, match="'analysis' or 'inception'"):
        A.feature_extractor("vgg")
