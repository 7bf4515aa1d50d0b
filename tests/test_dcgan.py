"""DCGAN and toy GAN: shapes, the two generator losses, mode coverage, resume = uninterrupted."""
import math

import numpy as np
import pytest
import torch

from helpers import dcgan, toygan
from helpers.dcgan import Config, Discriminator, Generator


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_and_range(size):
    G, D = dcgan.build(Config(size=size, ngf=8, ndf=8))
    x = G(torch.randn(3, 100))
    assert x.shape == (3, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert D(x).shape == (3,)
    # the up/down-sampling chain has one block per factor 2 from 4x4
    n_up = sum(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    assert n_up == int(math.log2(size)) - 1


def test_bad_inputs_raise():
    G, D = Generator(100, 8, 32), Discriminator(8, 32)
    with pytest.raises(ValueError, match="z of shape"):
        G(torch.randn(2, 50))
    with pytest.raises(ValueError, match="expects images"):
        D(torch.randn(2, 3, 64, 64))
    with pytest.raises(ValueError, match="loss must be"):
        Config(loss="wasserstein")
    with pytest.raises(ValueError, match="size"):
        Config(size=48)
    with pytest.raises(ValueError, match="unknown Config field"):
        Config.quick(image_size=64)


def _grad_wrt_logit(logits, kind):
    l = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    toygan.g_loss(l, kind).backward()
    return l.grad * len(logits)  # per-sample gradient (the loss is a mean)


def test_minimax_saturates_nonsaturating_does_not():
    # D(G(z)) = sigmoid(l): l = -10 means D confidently rejects the fakes (early training)
    logits = [-10.0, -5.0, 0.0, 5.0]
    d = torch.sigmoid(torch.tensor(logits, dtype=torch.float64))
    g_mm = _grad_wrt_logit(logits, "minimax")
    g_ns = _grad_wrt_logit(logits, "nonsaturating")
    # theory: dL/dl = -D for minimax, -(1 - D) for non-saturating
    assert torch.allclose(g_mm, -d)
    assert torch.allclose(g_ns, -(1 - d))
    assert abs(g_mm[0]) < 1e-4          # vanishes as D(G(z)) -> 0
    assert abs(g_ns[0]) > 0.99          # stays ~1
    assert abs(g_mm[-1]) > abs(g_ns[-1])  # and the roles swap once G fools D
    # both push the fake logit up (G wants D(G(z)) -> 1)
    assert (g_mm < 0).all() and (g_ns < 0).all()
    # the analytic helper used in the notebook agrees
    ana = toygan.g_grad_vs_d(d.numpy())
    np.testing.assert_allclose(ana["minimax"], -g_mm.numpy(), rtol=1e-9)
    np.testing.assert_allclose(ana["nonsaturating"], -g_ns.numpy(), rtol=1e-9)


def test_d_loss_is_minus_eq_3_1():
    r, f = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    v = torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()
    assert torch.allclose(toygan.d_loss(r, f), -v, atol=1e-6)


def test_mode_coverage_on_hand_made_samples():
    c = toygan.centres("ring", 8)
    assert c.shape == (8, 2) and np.allclose(np.linalg.norm(c, axis=1), 2.0)
    rng = np.random.default_rng(0)
    near = np.concatenate([c[k] + 0.01 * rng.standard_normal((50, 2)) for k in range(6)])  # 6 modes
    far = np.zeros((100, 2))                                                               # centre: no mode
    res = toygan.mode_coverage(np.concatenate([near, far]), c, radius=0.15)
    assert res["covered"] == 6 and res["coverage"] == 6 / 8
    assert res["quality"] == pytest.approx(300 / 400)
    assert list(res["counts"]) == [50] * 6 + [0, 0]
    # a single stray sample near mode 7 does not count as covering it (min_count)
    stray = np.concatenate([near, c[7:8]])
    assert toygan.mode_coverage(stray, c, 0.15)["covered"] == 6
    assert toygan.mode_coverage(stray, c, 0.15, min_count=1)["covered"] == 7
    g = toygan.centres("grid", 25)
    assert g.shape == (25, 2) and toygan.mode_coverage(g, g, 0.1, min_count=1)["covered"] == 25
    with pytest.raises(ValueError):
        toygan.mode_coverage(np.zeros((5, 3)), c, 0.1)


def test_toy_training_runs_and_snapshots():
    cfg = toygan.ToyConfig(steps=40, snapshot_every=20, grid_res=8, batch=64)
    run = toygan.train_toy(cfg, progress=False)
    assert [s["step"] for s in run.snapshots] == [0, 20, 40]
    assert run.snapshots[-1]["surface"].shape == (8, 8)
    assert len(run.history["g_grad"]) == 40 and all(np.isfinite(run.history["loss_d"]))
    again = toygan.train_toy(cfg, progress=False)
    assert torch.equal(run.sample(50), again.sample(50))  # deterministic by seed


def test_interpolation():
    G = Generator(16, 8, 32)
    z0, z1 = torch.randn(16), torch.randn(16)
    for method in ("linear", "slerp"):
        imgs = dcgan.interpolate(G, z0, z1, steps=5, method=method)
        assert imgs.shape == (5, 3, 32, 32)
        ends = dcgan.sample(G, z=torch.stack([z0, z1]))
        assert torch.allclose(imgs[0], ends[0], atol=1e-5) and torch.allclose(imgs[-1], ends[1], atol=1e-5)
    t = torch.linspace(0, 1, 5)
    a, b = torch.nn.functional.normalize(z0, dim=0) * 4, torch.nn.functional.normalize(z1, dim=0) * 4
    assert torch.allclose(dcgan.slerp(a, b, t).norm(dim=1), torch.full((5,), 4.0), atol=1e-4)
    assert dcgan.lerp(a, b, t)[2].norm() < 4.0  # the straight line cuts inside the shell
    with pytest.raises(ValueError):
        dcgan.interpolate(G, z0, z1, steps=5, method="cubic")


def test_quality_proxy_separates_noise_from_faces():
    real = torch.rand(64, 3, 32, 32) * 0.2 + torch.linspace(-0.8, 0.6, 32)[None, None, :, None]
    held = torch.rand(64, 3, 32, 32) * 0.2 + torch.linspace(-0.8, 0.6, 32)[None, None, :, None]
    noise = torch.rand(64, 3, 32, 32) * 2 - 1
    good, bad = dcgan.quality(held, real, held), dcgan.quality(noise, real, held)
    assert bad["pixel_fd"] > 10 * good["pixel_fd_real"]
    assert bad["nn_rmse"] > 2 * bad["nn_rmse_real"]


TINY = dict(size=32, ngf=4, ndf=4, nz=8, batch=4, steps=6, n_train=8, save_every=2, log_every=1)


def test_resume_equals_uninterrupted(tmp_path):
    cfg = Config(**TINY)
    first = dcgan.train(cfg, tmp_path / "a", max_steps=3, progress=False)
    assert first.step == 3 and first.stopped_by == "steps"
    resumed = dcgan.train(cfg, tmp_path / "a", progress=False)
    assert resumed.resumed_from == 3 and resumed.done
    straight = dcgan.train(cfg, tmp_path / "b", progress=False)
    for name in ("G", "D"):
        a = resumed.models[name].state_dict()
        b = straight.models[name].state_dict()
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}.{k} differs after resume"
    ha, hb = resumed.history, straight.history
    assert list(ha["step"]) == list(hb["step"]) == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(ha["loss_g"].to_numpy(), hb["loss_g"].to_numpy())


def test_release_roundtrip(tmp_path):
    cfg = Config(**TINY)
    res = dcgan.train(cfg, tmp_path / "run", progress=False)
    dcgan.release(res, "tiny", "python -m helpers.dcgan train ...", eval_n=8, directory=tmp_path)
    r = dcgan.load_release("tiny", tmp_path)
    man = r.manifest
    assert set(r.models) == {"G", "D"} and r.config == cfg and not r.D.training
    assert man["config"]["ngf"] == 4 and man["metrics"]["steps"] == 6 and man["headline"]
    assert torch.equal(dcgan.sample(res.models["G"], 2, seed=1), dcgan.sample(r.G, 2, seed=1))


@pytest.mark.slow
def test_dcgan64_release_reproduces_its_manifest():
    """The committed dcgan64 loads (sha256 checked) and its samples measure what the manifest says."""
    r = dcgan.load_release("dcgan64")
    man = r.manifest
    assert man["command"].startswith("python -m helpers.dcgan train --profile demo")
    got = dcgan.evaluate(r.G, r.config, n=man["metrics"]["n"])
    for k in ("pixel_fd", "pixel_fd_real", "nn_rmse", "nn_rmse_real", "colour_mean_err", "colour_std_err"):
        assert got[k] == pytest.approx(man["metrics"][k], rel=1e-3, abs=1e-3), k
    assert got["pixel_fd"] < 5 * got["pixel_fd_real"] + 10, "the samples should be face-like"
