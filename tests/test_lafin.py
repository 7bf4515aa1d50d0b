"""Seed 000 (helpers.lafin): shapes, the label channel's two readings, the losses, holes, resume, releases."""
from __future__ import annotations

import json

import pytest
import numpy as np
import torch

from helpers import lafin as L
from helpers.core import release as rel
from helpers.faces.analysis import AnalysisNet
from helpers.lafin import inpainter as I
from helpers.lafin.evaluate import predictor_release_metrics


pytestmark = pytest.mark.usefixtures("one_thread")


def _pcfg(**kw):
    base = dict(size=32, n_train=16, batch=4, steps=4, width_mult=0.35, log_every=1, save_every=1000, lr=1e-3)
    return L.Config.quick(**{**base, **kw})


def _icfg(**kw):
    base = dict(net="inpainter", size=32, n_train=8, batch=2, steps=4, width=0.125, res_blocks=1, features="random",
                log_every=1, save_every=1000)
    return L.Config.quick(**{**base, **kw})


def test_profiles_follow_the_seed_and_lafin():
    full = L.Config.full()
    assert (full.size, full.batch, full.steps, full.n_train) == (256, 16, 1_000_000, 27_998)
    assert full.lr == 1e-4 and full.weight_decay == 1e-6 and full.head_init == "zero" and full.embed_dim == 16
    inp = L.Config.full(net="inpainter")
    assert (inp.w_l1, inp.w_adv, inp.w_perceptual, inp.w_style, inp.w_tv) == (1.0, 0.01, 0.1, 250.0, 0.1)
    assert inp.betas == (0.0, 0.9) and inp.d2g_lr == 0.1 and inp.res_blocks == 7 and inp.features == "vgg19"
    assert L.Config.demo().size == 128 and L.Config.demo(net="inpainter").size == 128
    assert L.Config.demo(variant="baseline").label_input is False
    assert L.Config.demo().seed_losses == ("corner", "lip", "state")


def test_bad_config_and_inputs_raise():
    with pytest.raises(ValueError, match="variant"):
        L.Config.quick(variant="everything")
    with pytest.raises(ValueError, match="multiple of 32"):
        L.Config.quick(size=48)
    with pytest.raises(ValueError, match="net"):
        L.Config.quick(net="gan")
    P = L.LandmarkPredictor(32, label_input=True, width_mult=0.35)
    with pytest.raises(ValueError, match="labels"):
        P(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="32x32"):
        P(torch.zeros(2, 3, 64, 64), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="0 .No_Smiling. or 1"):
        P(torch.zeros(2, 3, 32, 32), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match=r"\(N, 68, 2\)"):
        L.landmark_map(torch.zeros(2, 10, 2), 32)
    G = L.InpaintGenerator(0.125, 1)
    with pytest.raises(ValueError, match="landmark map"):
        G(torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 32, 32))


@pytest.mark.parametrize("label_input,head", [(False, False), (True, True)])
def test_predictor_shapes(label_input, head):
    torch.manual_seed(0)
    P = L.LandmarkPredictor(64, label_input, head, width_mult=0.35, head_init="mean_shape")
    out = P(torch.rand(3, 3, 64, 64) * 2 - 1, torch.tensor([0, 1, 1]) if label_input else None)
    assert out["landmarks"].shape == (3, 68, 2) and out["features"].shape == (3, 320)
    assert (out["label_logits"] is not None) == head
    assert P.trunk[0][0].in_channels == (4 if label_input else 3)
    # LaFIn's trunk is torchvision's MobileNetV2: 17 inverted residual blocks, 1280-channel last conv
    assert sum(type(m).__name__ == "InvertedResidual" for m in P.modules()) == 17
    assert P.last[0].out_channels == 1280


def test_spatial_head_starts_from_a_pooled_release():
    from helpers.core import release as rel
    from helpers.lafin.train import Config, init_predictor
    cfg = Config.demo(variant="baseline", head="spatial")
    P, Q = L.build_predictor(cfg), L.build_predictor(cfg.replace(head="pooled"))
    init_predictor(P, "lafin_300w_det")
    rel.load_release("lafin_300w_det", {"P": Q})
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    assert torch.equal(L.predict(P, x)["landmarks"], L.predict(Q, x)["landmarks"])    # the grid layer starts at 0
    assert P.fc_spatial.in_features == 32 * 4 * 4
    with torch.no_grad():
        P.fc_spatial.weight.normal_()
    assert not torch.allclose(L.predict(P, x)["landmarks"], L.predict(Q, x)["landmarks"])
    with pytest.raises(ValueError, match="missing|unexpected|holds models"):
        init_predictor(L.build_predictor(cfg.replace(variant="ours")), "lafin_300w_det")
    with pytest.raises(ValueError, match="head must be"):
        L.LandmarkPredictor(64, head="grid")


def test_label_channel_readings():
    torch.manual_seed(0)
    grid = L.LabelChannel(128, 16, "grid")
    ch = grid(torch.tensor([0, 1]))
    assert ch.shape == (2, 1, 128, 128)
    e = grid.embed.weight
    # reading (a): the 16 numbers as a 4x4 image, each a 32x32 block at 128 px (x64 at 256)
    assert torch.allclose(ch[1, 0, :32, :32], e[1, 0].expand(32, 32))
    assert torch.allclose(ch[1, 0, 96:, 96:], e[1, 15].expand(32, 32))
    assert len(torch.unique(ch[0])) == 16
    b = L.LabelChannel(64, 16, "broadcast")(torch.tensor([1, 0]))
    assert b.shape == (2, 1, 64, 64) and len(torch.unique(b[0])) == 1 and not torch.equal(b[0], b[1])


def test_losses_match_their_equations():
    g = torch.Generator().manual_seed(0)
    true = torch.rand(4, 68, 2, generator=g) * 100
    pred = true.clone()
    assert float(L.landmark_loss(pred, true)) == 0 and float(L.mouth_corner_loss(pred, true)) == 0
    pred[:, 54, 0] += 3.0                                         # corner 54 moves 3 px right
    pred[:, 66, 1] += 4.0                                         # lower inner lip 4 px down
    assert float(L.mouth_corner_loss(pred, true, "vector")) == pytest.approx(3.0)
    assert float(L.lip_distance_loss(pred, true, "vector", "inner")) == pytest.approx(4.0)
    assert float(L.lip_distance_loss(pred, true, "vector", "outer")) == pytest.approx(0.0)
    assert float(L.landmark_loss(pred, true)) == pytest.approx(5.0)    # || (3, 4) ||
    # wing (Feng et al.): 10 ln(1 + |x| / 2) per coordinate below 10 px, continuous L1 above
    assert float(L.landmark_loss(pred, true, "wing")) == pytest.approx(10 * np.log(2.5) + 10 * np.log(3.0), rel=1e-5)
    far = true.clone()
    far[:, 0, 0] += 30.0
    c = 10 - 10 * np.log(6.0)
    assert float(L.landmark_loss(far, true, "wing")) == pytest.approx(30 - c, rel=1e-5)
    assert float(L.landmark_loss(true + 1e-4, true, "wing")) > 0
    with pytest.raises(ValueError, match="'l2' or 'wing'"):
        L.landmark_loss(pred, true, "l1")
    # scalar reading: a shift along the corner line changes the length by its projection
    d = true[:, 54] - true[:, 48]
    want = ((d + torch.tensor([3.0, 0.0])).norm(dim=1) - d.norm(dim=1)).abs().mean()
    assert float(L.mouth_corner_loss(pred, true, "scalar")) == pytest.approx(float(want), rel=1e-5)
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    want = -torch.log_softmax(logits, 1)[[0, 1], [0, 1]].mean()
    assert float(L.state_loss(logits, torch.tensor([0, 1]))) == pytest.approx(float(want))


def test_variant_decides_which_losses_count():
    g = torch.Generator().manual_seed(1)
    true = torch.rand(2, 68, 2, generator=g) * 60
    out = {"landmarks": true + torch.randn(2, 68, 2, generator=g), "label_logits": torch.randn(2, 2, generator=g)}
    lab = torch.tensor([0, 1])
    totals = {v: float(L.predictor_loss(out, true, lab, L.Config.quick(variant=v))[0]) for v in L.VARIANTS}
    parts = L.predictor_loss(out, true, lab, L.Config.quick())[1]
    assert totals["baseline"] == pytest.approx(float(parts["loss_lm"]))
    assert totals["label"] == totals["baseline"]
    assert totals["label_corner"] == pytest.approx(totals["baseline"] + float(parts["loss_corner"]))
    assert totals["ours"] == pytest.approx(totals["baseline"] + sum(float(parts[k]) for k in
                                                                    ("loss_corner", "loss_lip", "loss_state")))


def test_holes_and_landmark_map():
    from helpers.synthfaces import bank
    b = bank(4, 64, 0, keys=("landmarks",), progress=False)
    m = L.damage_masks(b["landmarks"], 64, "halfface")
    assert m.shape == (4, 1, 64, 64) and set(m.unique().tolist()) <= {0.0, 1.0}
    mouth_y = b["landmarks"][:, 48:68, 1].round().long().clamp(0, 63)
    mouth_x = b["landmarks"][:, 48:68, 0].round().long().clamp(0, 63)
    covered = torch.stack([m[i, 0, mouth_y[i], mouth_x[i]] for i in range(4)])
    assert covered.float().mean() > 0.95                           # the hole hides the mouth
    eyes_y, eyes_x = b["landmarks"][:, 36:48, 1].round().long(), b["landmarks"][:, 36:48, 0].round().long()
    assert all(float(m[i, 0, eyes_y[i], eyes_x[i]].sum()) == 0 for i in range(4))   # and not the eyes
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(L.damage_masks(b["landmarks"], 64, "mixed", g1), L.damage_masks(b["landmarks"], 64, "mixed", g2))
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    d = L.damage(x, m)
    assert torch.all(d[m.expand_as(d) == 1] == 1) and torch.equal(d[m.expand_as(d) == 0], x[m.expand_as(x) == 0])
    lm = torch.tensor([[[0.4, 0.6], [63.7, 70.0]] + [[10.0, 10.0]] * 66])
    lmap = L.landmark_map(lm, 64)
    assert lmap[0, 0, 1, 0] == 1 and lmap[0, 0, 63, 63] == 1 and lmap[0, 0, 10, 10] == 1 and lmap.sum() == 3


def test_flip_keeps_the_landmarks_on_the_face():
    from helpers.synthfaces import bank
    b = bank(2, 64, 0, keys=("unmasked", "landmarks"), progress=False)
    x = b["unmasked"].float() / 127.5 - 1
    fx, flm = L.losses.flip_batch(x, b["landmarks"], torch.tensor([True, False]))
    assert torch.equal(fx[1], x[1]) and torch.equal(flm[1], b["landmarks"][1])
    assert torch.equal(fx[0], x[0].flip(-1))
    assert flm[0, 36, 0] < flm[0, 45, 0]                          # the right eye stays on the image's left


def test_mirrored_prediction_averages_both_readings():
    torch.manual_seed(0)
    P = L.LandmarkPredictor(64, width_mult=0.35, head_init="mean_shape").eval()
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    plain = L.predict(P, x)["landmarks"]
    _, back = L.losses.flip_batch(x, L.predict(P, x.flip(-1))["landmarks"], torch.ones(3, dtype=torch.bool))
    both = L.predict(P, x, mirror=True)["landmarks"]
    assert torch.allclose(both, (plain + back) / 2, atol=1e-5) and not torch.allclose(both, plain, atol=1e-3)


def test_inpainter_shapes_keep_known_pixels_and_spectral_norm():
    torch.manual_seed(0)
    G, D = I.build_inpainter(_icfg())
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    from helpers.synthfaces import bank
    lm = bank(2, 32, 0, keys=("landmarks",), progress=False)["landmarks"]
    m = L.damage_masks(lm, 32)
    out = L.inpaint(G, x, m, lm)
    assert out.shape == x.shape and torch.equal(out[m.expand_as(x) == 0], x[m.expand_as(x) == 0])
    with torch.no_grad():
        d = D(x, L.landmark_map(lm, 32))
    assert d.shape == (2, 1, 2, 2) and float(d.min()) > 0 and float(d.max()) < 1
    assert sum(hasattr(mod, "parametrizations") for mod in D.modules() if isinstance(mod, torch.nn.Conv2d)) == 5
    assert len(G.middle) == 1 and G.attn is not None


def test_inpainting_losses():
    a = torch.zeros(1, 3, 8, 8)
    m = torch.zeros(1, 1, 8, 8)
    m[..., :4, :] = 1                                             # half the image is the hole
    assert float(I.hole_l1_loss(a + 0.5, a, m)) == pytest.approx(1.0)  # 0.5 / mean(M) = 0.5 / 0.5
    assert float(I.lsgan_d_loss(torch.ones(3), torch.zeros(3))) == 0 and float(I.lsgan_g_loss(torch.ones(3))) == 0
    ramp = torch.arange(8.0).view(1, 1, 1, 8).expand(1, 3, 8, 8)
    assert float(I.tv_loss(ramp)) == pytest.approx(1.0)
    f = [torch.rand(2, 4, 5, 5)]
    assert float(I.style_loss(f, f)) == 0 and float(I.perceptual_loss(f, [f[0] + 1])) == pytest.approx(1.0)


def _params(res):
    return {f"{m}.{k}": v for m, model in res.models.items() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("kind", ["predictor", "inpainter"])
def test_resume_is_bit_identical(tmp_path, kind):
    cfg = _pcfg(damage="mixed") if kind == "predictor" else _icfg()
    a = L.train(cfg, tmp_path / "a", progress=False)
    r1 = L.train(cfg, tmp_path / "b", max_steps=2, progress=False)
    assert r1.step == 2 and r1.stopped_by == "steps"
    b = L.train(cfg, tmp_path / "b", progress=False)
    assert b.resumed_from == 2 and b.history["step"].tolist() == [1, 2, 3, 4]
    pa, pb = _params(a), _params(b)
    diff = [k for k in pa if not torch.equal(pa[k], pb[k])]
    assert not diff, f"resumed run differs in {diff[:5]}"


def test_predictor_learns_something(tmp_path):
    """A few dozen steps on the same 16 faces must lower the landmark loss (the step really trains)."""
    res = L.train(_pcfg(steps=40, n_train=16, variant="baseline", flip=False), tmp_path / "p", progress=False)
    h = res.history.dropna(subset=["loss_lm"])
    assert h["loss_lm"].tail(5).mean() < 0.8 * h["loss_lm"].head(5).mean()


def test_release_roundtrip_predictor(tmp_path):
    cfg = _pcfg(steps=2, variant="ours")
    res = L.train(cfg, tmp_path / "run", progress=False)
    path = L.release(res, "tiny_pred", "python -m helpers.lafin train ...", directory=tmp_path)
    man = json.loads(path.with_suffix(".json").read_text())
    assert man["dtype"] == "float16" and man["models"] == ["P"] and man["metrics"]["n_test"] == 32
    for k in ("halfface_Smiling_corner_bias", "facemask_No_Smiling_nme_mouth", "halfface_label_acc", "check"):
        assert k in man["metrics"], k
    r = L.load_predictor("tiny_pred", tmp_path)
    assert isinstance(r, rel.Release) and r.manifest["name"] == "tiny_pred" and r.config.net == "predictor"
    again = predictor_release_metrics(r.model, r.config, 32)
    assert again["check"] == pytest.approx(man["metrics"]["check"], abs=2e-3)   # recomputed, not read back
    with pytest.raises(ValueError, match="not an inpainting generator"):
        L.load_inpainter("tiny_pred", tmp_path)


def test_release_roundtrip_inpainter(tmp_path):
    cfg = _icfg(steps=2)
    res = L.train(cfg, tmp_path / "run", progress=False)
    torch.manual_seed(0)
    net = AnalysisNet(64, (8, 16, 16, 32, 32), 16, 8, 16).eval()
    path = L.release(res, "tiny_inp", "cmd", directory=tmp_path, predictors={}, analysis_net=net)
    man = json.loads(path.with_suffix(".json").read_text())
    assert set(man["metrics"]["tables"]) == {"halfface", "facemask"}
    assert set(man["metrics"]["tables"]["halfface"]) == {"true", "truth"}
    r = L.load_inpainter("tiny_inp", tmp_path)
    assert isinstance(r.model, L.InpaintGenerator) and r.G is r.model and r.config.net == "inpainter"
    assert isinstance(r.config, L.Config) and r.metrics == man["metrics"]
