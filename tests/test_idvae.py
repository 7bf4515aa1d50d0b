"""Seed 004's two-encoder VAE: networks of Tables 1-2, Eqs. 1-6, the stage schedule, training, resume."""
import math

import numpy as np
import pytest
import torch

from helpers import idvae
from helpers.idvae import model as M
from helpers.idvae import losses as L
from helpers.idvae.data import subject_members


pytestmark = pytest.mark.usefixtures("one_thread")


# ----------------------------------------------------------------------------- networks
@pytest.mark.parametrize("size", [64, 128])
def test_tables_1_and_2_at_full_width(size):
    E, Dec, D = M.Encoder(size, 1.0), M.Decoder(size, 1.0), M.Discriminator(size, 1.0)
    convs = [m for m in E.blocks.modules() if isinstance(m, torch.nn.Conv2d)]
    want = [32, 32, 64, 64, 128, 128, 256, 256] + ([256, 256] if size == 128 else [])
    assert [c.out_channels for c in convs] == want
    assert [c.stride[0] for c in convs] == [2, 1] * (len(want) // 2)
    assert all(c.kernel_size == (3, 3) for c in convs)
    x = torch.rand(2, 3, size, size) * 2 - 1
    assert E.blocks(x).shape == (2, 256, 4, 4)             # 4x4 before the 4x4 average pooling
    mu, lv = E(x)
    assert mu.shape == lv.shape == (2, 64)
    assert Dec.fc.out_features == 4096
    ups = [m for m in Dec.blocks.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [u.out_channels for u in ups] == [128, 64, 32, 16] + ([8] if size == 128 else [])
    y = Dec(torch.randn(2, 128))
    assert y.shape == (2, 3, size, size) and y.abs().max() <= 1
    assert D(x).shape == (2,)
    tab = M.Decoder(size, 1.0, deconv="table")              # Table 2's 3x3 deconvs keep the shapes
    assert tab(torch.randn(2, 128)).shape == (2, 3, size, size)
    assert [u.kernel_size[0] for u in tab.blocks.modules() if isinstance(u, torch.nn.ConvTranspose2d)][:3] == [4, 4, 3]


def test_bad_inputs_raise():
    E, Dec = M.Encoder(64, 0.25), M.Decoder(64, 0.25)
    with pytest.raises(ValueError, match="64x64"):
        E(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        E(torch.full((1, 3, 64, 64), 3.0))
    with pytest.raises(ValueError, match=r"z of shape \(N, 128\)"):
        Dec(torch.zeros(2, 64))
    G = M.IdExpVAE(64, 0.25)
    with pytest.raises(ValueError, match="z_i and z_e"):
        G.decode(torch.zeros(2, 64), torch.zeros(3, 64))
    cv = M.VAE(64, 0.25, n_subjects=3)
    with pytest.raises(ValueError, match="subject ids"):
        cv.encode(torch.zeros(2, 3, 64, 64))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        cv.encode(torch.zeros(2, 3, 64, 64), torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="model='idvae' only"):
        M.Config(model="vae", beta=1.0)
    with pytest.raises(ValueError, match="size"):
        M.Config(size=96)
    with pytest.raises(ValueError, match="switch_targets"):
        M.Config(switch_targets="both")
    with pytest.raises(ValueError, match="unknown Config field"):
        M.Config.quick(kl_weight=1.0)


def test_both_readings_of_the_kl_weight_are_named():
    assert M.Config().reading().startswith("corrected")
    assert M.Config(alpha_kl=1e5).reading().startswith("printed")
    assert M.Config(alpha_kl=0.1).reading().startswith("custom")
    assert M.Config.full().epochs == 200 and M.Config.full().width == 1.0
    assert M.Config.full().adam_betas == (0.9, 0.999) and M.Config.full().lr == 5e-4


def test_he_initialisation():
    torch.manual_seed(0)
    G = idvae.build(M.Config(width=1.0))["G"]
    w = G.identity.blocks[3].conv2.weight                   # 256 x 256 x 3 x 3
    fan_in = w.shape[1] * 9
    gain = math.sqrt(2 / (1 + 0.2 ** 2))
    assert w.std().item() == pytest.approx(gain / math.sqrt(fan_in), rel=0.05)


# ----------------------------------------------------------------------------- losses
def test_kl_and_reconstruction_are_their_equations():
    mu, lv = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.2, -0.3]])
    kl = sum(0.5 * (m ** 2 + math.exp(v) - v - 1) for m, v in zip([0.5, -1.0], [0.2, -0.3]))
    assert L.kl_divergence(mu, lv).item() == pytest.approx(kl, rel=1e-6)
    assert L.kl_divergence(torch.zeros(3, 64), torch.zeros(3, 64)).item() == 0.0   # q = p
    a, b = torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4) * 0.5
    assert L.reconstruction_nll(a, b).item() == pytest.approx(48 * 0.25)            # per-image sum
    with pytest.raises(ValueError):
        L.reconstruction_nll(a, b[:1])
    l, k, n = L.identity_stage_loss(mu, lv, a[:1], b[:1], 1e-5, 0.01)
    assert l.item() == pytest.approx(1e-5 * k.item() + 0.01 * n.item())


def test_gan_losses_are_eq_3():
    r, x1, xp = torch.tensor([1.0, -0.5]), torch.tensor([0.3, -2.0]), torch.tensor([-1.0, 0.7])
    sig = torch.sigmoid
    v = torch.log(sig(r)).mean() + torch.log(1 - sig(x1)).mean() + torch.log(1 - sig(xp)).mean()
    assert L.gan_d_loss(r, x1, xp).item() == pytest.approx(-v.item(), rel=1e-6)      # D maximises v
    g_mm = torch.log(1 - sig(x1)).mean() + torch.log(1 - sig(xp)).mean()
    assert L.gan_g_loss(x1, xp, "minimax").item() == pytest.approx(g_mm.item(), rel=1e-6)
    g_ns = -torch.log(sig(x1)).mean() - torch.log(sig(xp)).mean()
    assert L.gan_g_loss(x1, xp).item() == pytest.approx(g_ns.item(), rel=1e-6)


def test_switch_loss_is_eq_4_and_total_is_eq_5():
    g = torch.Generator().manual_seed(0)
    zi, zi2, ze, ze2 = (torch.randn(4, 64, generator=g) for _ in range(4))
    want = ((zi - zi2) ** 2).mean() + ((ze - ze2) ** 2).mean()
    assert L.switch_loss(zi, zi2, ze, ze2).item() == pytest.approx(want.item(), rel=1e-6)
    assert L.switch_loss(zi, zi, ze, ze).item() == 0.0
    with pytest.raises(ValueError, match="shape of z_i"):
        L.switch_loss(zi, zi2[:2], ze, ze2)
    assert L.total_expression_loss(torch.tensor(2.0), 3.0, 0.5, 1.0, 10.0).item() == pytest.approx(10.0)


# ----------------------------------------------------------------------------- schedule
def test_stage_schedule_shares_the_epochs():
    one = L.stages(M.Config(epochs=4, batch=10), 100)           # 10 steps per epoch
    assert [s.name for s in one] == ["identity-1", "expression-1"]
    assert [(s.start, s.stop) for s in one] == [(0, 20), (20, 40)]
    it = L.stages(M.Config(epochs=4, batch=10, iterations=4), 100)
    assert [s.name for s in it] == [f"{k}-{i}" for i in range(1, 5) for k in ("identity", "expression")]
    assert it[-1].stop == one[-1].stop                              # the same budget
    vae = L.stages(M.Config(model="vae", epochs=4, batch=10), 100)
    assert [(s.name, s.stop) for s in vae] == [("vae", 40)]
    assert L.stage_at(it, 0).name == "identity-1" and L.stage_at(it, 39).name == "expression-4"
    cfg = M.Config(lr_decay=0.5)
    assert L.lr_factor(cfg, 2.5, 7.0) == 0.25                       # within the stage by default
    assert L.lr_factor(cfg.replace(lr_decay_scope="run"), 2.5, 7.0) == 0.5 ** 7


def test_partners_same_and_other_subject():
    subj = torch.tensor([0, 0, 1, 2, 2, 2, 1, 0])
    mem = subject_members(subj)
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        q = torch.randint(0, 3, (16,), generator=g)
        assert torch.equal(subj[L.same_subject(mem, q, g)], q)
        assert (subj[L.other_subject(mem, q, g)] != q).all()
    seen = {int(i) for _ in range(50) for i in L.same_subject(mem, torch.tensor([2]), g)}
    assert seen == {3, 4, 5}                                         # every image of the subject is drawn
    with pytest.raises(ValueError, match="two training subjects"):
        L.other_subject(subject_members(torch.zeros(3, dtype=torch.long)), torch.zeros(2, dtype=torch.long), g)


# ----------------------------------------------------------------------------- training
TINY = dict(width=0.125, batch=8, epochs=2.0, subjects=4, test_subjects=2, frames=2, apex_frames=1, log_every=1,
            save_every=2, eval_runs=2)


def _params(m):
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def _changed(before, after, prefix):
    return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix) and "num_batches" not in k)


def test_each_stage_trains_only_its_networks(tmp_path):
    cfg = M.Config(**TINY, beta=1.0, gamma=10.0)
    sch = idvae.METHOD.schedule(cfg)
    first = sch[0].stop
    r1 = idvae.train(cfg, tmp_path / "r", max_steps=first, progress=False)      # identity stage only
    a = _params(r1.models["G"])
    torch.manual_seed(0)
    fresh = _params(idvae.build(cfg, n_subjects=4)["G"])
    assert _changed(fresh, a, "identity.") and _changed(fresh, a, "decoder.")
    assert not _changed(fresh, a, "expression.")                               # z_e = 0: untouched
    d0 = _params(r1.models["D"])
    r2 = idvae.train(cfg, tmp_path / "r", progress=False)                       # the expression stage
    b = _params(r2.models["G"])
    assert not _changed(a, b, "identity.")                                      # frozen, BN stats too
    assert _changed(a, b, "expression.") and _changed(a, b, "decoder.")
    assert _changed(d0, _params(r2.models["D"]), "")
    h = r2.history
    assert {"switch", "d_loss", "g_adv", "id_nll", "nll"} <= set(h.columns)
    assert h["curve_acc_train"].notna().sum() == 1                              # Fig. 3: one point per expression stage


def test_resume_equals_uninterrupted(tmp_path):
    cfg = M.Config(**TINY, beta=1.0, gamma=10.0, iterations=2)
    total = idvae.METHOD.total_steps(cfg)
    part = idvae.train(cfg, tmp_path / "a", max_steps=total // 2 + 1, progress=False)
    assert part.stopped_by == "steps"
    resumed = idvae.train(cfg, tmp_path / "a", progress=False)
    straight = idvae.train(cfg, tmp_path / "b", progress=False)
    assert resumed.resumed_from == total // 2 + 1 and resumed.done
    for name in ("G", "D"):
        sa, sb = resumed.models[name].state_dict(), straight.models[name].state_dict()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), f"{name}.{k} differs after resume"
    ha, hb = resumed.history, straight.history
    np.testing.assert_array_equal(ha["loss"].to_numpy(), hb["loss"].to_numpy())
    assert ha["curve_acc_train"].dropna().tolist() == hb["curve_acc_train"].dropna().tolist()


def test_vae_and_cvae_train(tmp_path):
    for model in ("vae", "cvae"):
        res = idvae.train(M.Config(**TINY, model=model), tmp_path / model, progress=False)
        assert res.done and np.isfinite(res.history["loss"].dropna()).all()
        assert "curve_acc_train" in res.history
