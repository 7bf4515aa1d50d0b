"""StyleGAN2: blocks and shapes, the layer table, losses, resume = uninterrupted, release round trip."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import stylegan2 as sg
from helpers.core import loop
from helpers.faces.analysis import AnalysisNet
from helpers.stylegan2 import exercises
from helpers.stylegan2.model import ModulatedConv2d, make_kernel, upfirdn2d


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_net():
    """An untrained analysis network (the measuring instrument's architecture, tiny widths)."""
    torch.manual_seed(0)
    return AnalysisNet(64, (8, 8, 16, 16, 16), 16, 8, 32).eval().requires_grad_(False)


TINY = dict(size=16, z_dim=16, w_dim=16, n_mlp=2, channel_base=128, channel_max=16, batch=4, steps=6,
            n_train=8, save_every=2, log_every=1, d_reg_every=2, g_reg_every=2, eval_n=12)


@pytest.mark.parametrize("size", [8, 32])
def test_shapes_and_num_ws(size):
    G, D = sg.build(sg.Config(size=size, channel_base=256, channel_max=16, z_dim=8, w_dim=8, n_mlp=2))
    assert G.num_ws == 2 * int(math.log2(size)) - 2
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 3, size, size) and torch.isfinite(x).all()
    assert D(x).shape == (3,)
    ws = G.broadcast(G.mapping(torch.randn(2, 8)))
    assert ws.shape == (2, G.num_ws, 8)
    assert torch.allclose(G.synthesis(ws, "const"), G.synthesis(ws[:, 0], "const"))


def test_bad_inputs_raise():
    G, D = sg.build(sg.Config(size=16, channel_base=128, channel_max=16, z_dim=8, w_dim=8, n_mlp=2))
    with pytest.raises(ValueError, match="z of shape"):
        G(torch.randn(2, 5))
    with pytest.raises(ValueError, match="w\\+"):
        G.synthesis(torch.randn(2, 3, 8))
    with pytest.raises(ValueError, match="discriminator expects"):
        D(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="noise_mode"):
        G(torch.randn(2, 8), noise_mode="loud")
    with pytest.raises(ValueError, match="power of 2"):
        sg.Config(size=48)
    with pytest.raises(ValueError, match="mixing_prob"):
        sg.Config(mixing_prob=1.5)
    with pytest.raises(ValueError, match="unknown Config field"):
        sg.Config.quick(resolution=64)
    with pytest.raises(ValueError, match="resolutions"):
        sg.style_indices(64, [12])


def test_modulated_conv_equals_the_papers_grouped_form():
    """Our non-fused modulated convolution (scale x, one conv, scale out) = per-sample weights (Eq. 1-3)."""
    torch.manual_seed(0)
    m = ModulatedConv2d(6, 5, 3, 8)
    with torch.no_grad():
        m.affine.weight.normal_()
    x, w = torch.randn(4, 6, 9, 9), torch.randn(4, 8)
    ref = exercises.fused_modulated_conv2d(x, m.weight * m.scale, m.affine(w))
    assert torch.allclose(m(x, w), ref, atol=1e-5)
    # demodulated output channels have unit "expected" norm: scaling a style changes nothing
    s = m.affine(w)
    a = exercises.fused_modulated_conv2d(x, m.weight * m.scale, s)
    b = exercises.fused_modulated_conv2d(x, m.weight * m.scale, s * 3.0)
    assert torch.allclose(a, b, atol=1e-5)


def test_upfirdn2d_matches_a_2d_convolution():
    k1 = make_kernel()
    k2 = torch.outer(k1, k1)
    x = torch.randn(2, 3, 8, 8)
    y = upfirdn2d(x, k1, pad=(2, 1))
    ref = F.conv2d(F.pad(x, [2, 1, 2, 1]).reshape(6, 1, 11, 11), k2.flip([0, 1])[None, None]).reshape(2, 3, 8, 8)
    assert torch.allclose(y, ref, atol=1e-6)
    up = upfirdn2d(x, k1, up=2, pad=(2, 1), gain=4.0)
    assert up.shape == (2, 3, 16, 16)
    assert torch.allclose(up.mean((2, 3))[:, :, None, None], x.mean((2, 3), keepdim=True), atol=0.15)   # ~ keeps the mean
    assert upfirdn2d(x, k1, down=2, pad=(1, 1)).shape == (2, 3, 4, 4)


def test_layer_table_conventions():
    rows = sg.layer_table(64)
    assert [r["index"] for r in rows] == list(range(10))
    assert rows[3]["feeds"] == "16x16 conv (up), 8x8 ToRGB"
    assert sg.style_indices(64, [4, 8]) == [0, 1, 2, 3] and sg.style_indices(64, [16]) == [4, 5]
    assert sg.style_indices(64, [4, 8], "conv") == [0, 1, 2] and sg.style_indices(64, [16], "conv") == [3, 4]
    assert sg.style_indices(64, [64], "conv") == [7, 8, 9]
    assert sg.style_indices(1024, [4, 8]) == [0, 1, 2, 3] and len(sg.layer_table(1024)) == 18


def test_mix_styles_and_truncation():
    a, b = torch.zeros(2, 10, 4), torch.ones(2, 10, 4)
    m = sg.mix_styles(a, {(0, 1, 2, 3): b})
    assert m[:, :4].eq(1).all() and m[:, 4:].eq(0).all()
    with pytest.raises(ValueError, match="indices"):
        sg.mix_styles(a, {(10,): b})
    G = sg.build(sg.Config(size=16, channel_base=128, channel_max=16, z_dim=8, w_dim=8, n_mlp=2))[0]
    G.w_avg.fill_(0.5)
    w = torch.randn(3, 8)
    assert torch.allclose(G.truncate(w, 0.0), torch.full((3, G.num_ws, 8), 0.5))
    t = G.truncate(w, 0.5, cutoff=2)
    assert torch.allclose(t[:, 0], 0.5 + 0.5 * (w - 0.5)) and torch.allclose(t[:, 2], w)


def test_losses_and_regularisers():
    r, f = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    assert torch.allclose(sg.d_logistic_loss(r, f), F.softplus(f).mean() + F.softplus(-r).mean())
    assert torch.allclose(sg.g_nonsaturating_loss(f), -torch.log(torch.sigmoid(f)).mean(), atol=1e-6)
    # R1 of D(x) = sum(c * x): grad = c everywhere, so gamma/2 * |c|^2 * numel
    x = torch.randn(3, 2, 2, requires_grad=True)
    logits = (2.0 * x).flatten(1).sum(1)
    assert torch.allclose(sg.r1_loss(logits, x, 10.0), torch.tensor(0.5 * 10 * 4 * 4))
    # path length of a linear map img = A w: E|A^T y| with y ~ N(0, I)/sqrt(HW) is about |A|_F / sqrt(HW)
    ws = torch.randn(64, 1, 16, requires_grad=True)
    img = (ws * 3.0).reshape(64, 1, 4, 4)
    pen, new_mean, length = sg.path_length_penalty(img, ws, torch.tensor(0.0), decay=0.5)
    assert abs(float(length) - 3.0) < 0.5 and abs(float(new_mean) - 0.5 * float(length)) < 1e-5 and pen >= 0


def _draws(cfg, G):
    z = lambda: torch.randn(cfg.batch, cfg.z_dim)
    return {k: (z(), z(), torch.rand(()), torch.randint(1, G.num_ws, ())) for k in ("d", "g", "pl")}


def test_train_step_updates_and_ema():
    cfg = sg.Config(**TINY)
    torch.manual_seed(0)
    G, D = sg.build(cfg)
    Ge = copy.deepcopy(G).requires_grad_(False)
    from helpers.stylegan2.losses import make_optimizers
    s = loop.State(cfg, loop.Parts({"G": G, "D": D, "G_ema": Ge}, make_optimizers(G, D, cfg)),
                   loop.Env(torch.device("cpu")), {})
    before = {k: v.clone() for k, v in G.state_dict().items()}
    s.step = 0
    out = sg.train_step(s, torch.rand(4, 3, 16, 16) * 2 - 1, _draws(cfg, G))
    assert {"d_loss", "g_loss", "r1", "pl_penalty"} <= set(out) and "pl_mean" in s.persist
    assert not torch.equal(before["blocks.0.const"], G.state_dict()["blocks.0.const"])
    assert not torch.equal(G.w_avg, torch.zeros_like(G.w_avg))
    # the EMA is between the old and the new weights, and buffers are copied
    assert torch.equal(Ge.w_avg, G.w_avg)
    s.step = 1
    out = sg.train_step(s, torch.rand(4, 3, 16, 16) * 2 - 1, _draws(cfg, G))
    assert "r1" not in out and "pl_penalty" not in out    # lazy: only every d_reg_every / g_reg_every steps


def test_resume_equals_uninterrupted(tmp_path):
    cfg = sg.Config(**TINY)
    first = sg.train(cfg, tmp_path / "a", max_steps=3, progress=False)
    assert first.step == 3 and first.stopped_by == "steps"
    resumed = sg.train(cfg, tmp_path / "a", progress=False)
    assert resumed.resumed_from == 3 and resumed.done
    straight = sg.train(cfg, tmp_path / "b", progress=False)
    for name in ("G", "D", "G_ema"):
        a, b = resumed.models[name].state_dict(), straight.models[name].state_dict()
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}.{k} differs after resume"
    assert resumed.persist["pl_mean"] == straight.persist["pl_mean"]
    np.testing.assert_array_equal(resumed.history["g_loss"].to_numpy(), straight.history["g_loss"].to_numpy())


def test_release_roundtrip_and_curve(tmp_path):
    cfg = sg.Config(**{**TINY, "size": 32})        # the analysis network reads >= 32 px
    res = sg.train(cfg, tmp_path / "run", progress=False)
    net = tiny_net()
    sg.release(res, "tiny", "python -m helpers.stylegan2 release tiny --profile quick", directory=tmp_path, net=net,
               proj_steps=5)
    r = sg.load_release("tiny", tmp_path)
    G2, man = r.G_ema, r.manifest
    assert isinstance(r.config, sg.Config) and r.config.size == 32 and r.metrics == man["metrics"]
    assert man["command"].startswith("python -m helpers.stylegan2 train") and man["command"].endswith("--release tiny")
    assert man["dtype"] == "float16" and {"fid", "kid", "fid_real", "psnr_w_plus"} <= set(man["metrics"])
    assert [r["step"] for r in man["curve"]] == [2, 4, 6]      # every kept checkpoint
    # the stored fp16 weights reproduce the manifest's numbers (they were measured after rounding)
    again = sg.evaluate.release_metrics(G2, sg.Config.from_dict(man["config"]), net=net,
                                        proj_steps=man["metrics"]["proj_steps"])
    for k in ("fid", "kid", "fid_real", "psnr_w", "psnr_w_plus"):
        assert again[k] == pytest.approx(man["metrics"][k], rel=1e-3, abs=1e-3), k
    G_run, step = sg.load_run(cfg, tmp_path / "run", step=4)
    assert step == 4 and G_run.size == 32


@pytest.mark.slow
def test_stylegan2_64_release_reproduces_its_manifest():
    """The committed demo generator loads (sha256 checked) and measures what its manifest says."""
    from helpers.core import release as rel
    try:
        man = rel.read_manifest("stylegan2_64")
    except FileNotFoundError:
        pytest.skip("checkpoints/stylegan2_64 not released yet")
    r = sg.load_release("stylegan2_64")
    G, man = r.G_ema, r.manifest
    assert man["command"].startswith("python -m helpers.stylegan2 train --profile demo")
    # projection is an optimisation: other thread counts round differently and Adam amplifies it,
    # so measure with the threads the release was measured with
    threads = torch.get_num_threads()
    torch.set_num_threads(man["config"].get("threads") or threads)
    assert man["bytes"] < 10e6 and len(man["curve"]) >= 3
    got = sg.evaluate.release_metrics(G, sg.Config.from_dict(man["config"]), proj_steps=man["metrics"]["proj_steps"])
    assert got["extractor"] == man["metrics"]["extractor"], "the analysis network changed: re-make the release"
    for k in ("fid", "kid", "fid_real"):
        assert got[k] == pytest.approx(man["metrics"][k], rel=2e-3, abs=2e-3), k
    # projection numbers come from 100 Adam steps, whose rounding differs between processes (measured:
    # 16.53 vs 16.44 dB PSNR in W); a broken generator or projector moves them by several dB
    for k in ("psnr_w", "psnr_w_plus", "ssim_w_plus", "perceptual_w_plus"):
        assert got[k] == pytest.approx(man["metrics"][k], rel=3e-2, abs=3e-2), k
    # the demo run is short (2,000 steps): far from real faces, but it must have learnt something, i.e.
    # be clearly closer to the faces than the same generator untrained (measured here, 200 samples)
    torch.manual_seed(0)
    cfg = sg.Config.from_dict(man["config"])
    untrained = sg.evaluate.release_metrics(sg.build(cfg)[0].eval(), cfg, n=200, curve=True)["fid"]
    trained = sg.evaluate.release_metrics(G, cfg, n=200, curve=True)["fid"]
    assert trained < 0.75 * untrained, f"FID {trained:.1f} vs {untrained:.1f} untrained: training did not help"
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_committed_seed_evaluation_belongs_to_the_release_and_reproduces():
    """checkpoints/stylegan2_64.results.json: made from this release by its recorded command; its
    layer-group table (deterministic, cheap) is recomputed here and must match."""
    from helpers.core import release as rel, runtime
    path = runtime.CHECKPOINT_DIR / f"stylegan2_64{sg.evaluate.RESULTS_SUFFIX}"
    if not path.exists():
        pytest.skip("no committed seed evaluation yet")
    doc = sg.evaluate.load_results(path)
    assert doc["release_sha256"] == rel.read_manifest("stylegan2_64")["sha256"]
    assert doc["command"].startswith("python -m helpers.stylegan2 seed-eval stylegan2_64")
    G = sg.load_release("stylegan2_64").G_ema
    s = doc["settings"]
    got = sg.evaluate.group_swap(G, s["n_pairs"], convention=s["mix"]["convention"])
    want = doc["tables"]["groups"]
    for col in ("pose_share", "mouth_share", "eyes_share", "colour_share", "identity_share"):
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), rtol=1e-3, atol=1e-3, err_msg=col)
    assert len(sg.claims.claims_table(doc["tables"])) == 10


def test_command_line_lists_seed_eval_and_bench_reference():
    """seed-eval goes through helpers.core.cli (so --help lists it); bench takes the shared --reference."""
    import subprocess
    import sys
    run = lambda *a: subprocess.run([sys.executable, "-m", "helpers.stylegan2", *a], capture_output=True, text=True)
    top = run("--help")
    assert top.returncode == 0 and "seed-eval" in top.stdout
    sub = run("seed-eval", "--help")
    assert sub.returncode == 0 and all(f in sub.stdout for f in ("--scenes", "--steps", "--inpaint-first", "--out"))
    assert "--reference" in run("bench", "--help").stdout
