"""GANimation (seed 003): networks, losses, the training flow, resume, test edits with truth, claims."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import ganimation as GA
from helpers.core import cli
from helpers.faces.analysis import AnalysisNet
from helpers.ganimation import data as GD
from helpers.ganimation import claims as GC
from helpers.ganimation import sweeps as GE
from helpers.ganimation import evaluate as E
from helpers.ganimation import losses as GL
from helpers.ganimation.model import N_AUS


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(**kw):
    base = dict(n_train=48, steps=8, batch=4, log_every=1, eval_every=0, save_every=1000, threads=None)
    base.update(kw)
    return GA.Config.quick(**base)


@pytest.fixture(scope="module")
def untrained_net():
    torch.manual_seed(0)
    net = AnalysisNet(64, (8, 8, 16, 16, 32), embed_dim=16, decoder_ch=8, hidden=32).eval().requires_grad_(False)
    net.meta = {"release": None, "identity_threshold": 0.3}
    return net


# ----------------------------------------------------------------------------- networks
@pytest.mark.parametrize("variant", list(GA.VARIANTS))
def test_generator_shapes_and_the_seeds_structure(variant):
    cfg = GA.Config.quick(**GA.VARIANTS[variant])
    G, D = GA.build(cfg, seed=0)
    x, a = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, N_AUS) * 2
    colour, att = G(x, a)
    assert colour.shape == (2, 3, 32, 32) and att.shape == (2, 1, 32, 32)
    assert colour.abs().max() <= 1 and 0 <= att.min() and att.max() <= 1
    assert G.encoder[0].in_channels == 3 + 17 and G.encoder[0].kernel_size == (7, 7)
    strided = [m for m in G.encoder if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == 2 and len(G.blocks) == 6
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in G.decoder) == 2
    blocks = list(G.blocks)
    if variant == "resnet":
        assert all(isinstance(b, GA.ResidualBlock) for b in blocks)
    else:
        b = blocks[0]
        dim = 4 * cfg.g_dim
        assert isinstance(b, GA.ConvNeXtBlock) and b.dwconv.kernel_size == (7, 7) and b.dwconv.groups == dim
        assert b.pw1.out_features == GA.VARIANTS[variant].get("expansion", 2) * dim
        n_ln = sum(isinstance(m, torch.nn.LayerNorm) for m in b.modules())
        assert n_ln == (2 if variant == "convnext_more" else 1)
        assert torch.allclose(b.gamma, torch.full((dim,), 1e-6))
    scores, aus = D(x)
    assert aus.shape == (2, 17) and scores.shape == (2, (32 // 2 ** cfg.d_layers) ** 2)


def test_discriminator_follows_the_reference_at_128px():
    D = GA.Discriminator(128, 64, 6)
    convs = [m for m in D.body if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6 and all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in convs)
    assert convs[-1].out_channels == 2048 and D.au.kernel_size == (2, 2)
    scores, aus = D(torch.zeros(1, 3, 128, 128))
    assert scores.shape == (1, 4) and aus.shape == (1, 17)


def test_compose_keeps_the_input_where_attention_is_one():
    x, c = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    assert torch.equal(GA.compose(x, c, torch.ones(2, 1, 8, 8)), x)
    assert torch.equal(GA.compose(x, c, torch.zeros(2, 1, 8, 8)), c)
    with pytest.raises(ValueError, match="attention"):
        GA.compose(x, c, torch.ones(2, 3, 8, 8))


def test_bad_inputs_raise_clear_errors():
    G, D = GA.build(GA.Config.quick(), seed=0)
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        G(torch.zeros(1, 3, 64, 64), torch.zeros(1, 17))
    with pytest.raises(ValueError, match="17"):
        G(torch.zeros(2, 3, 32, 32), torch.zeros(2, 16))
    with pytest.raises(ValueError, match="Discriminator"):
        D(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="aus"):
        GA.edit(G, torch.zeros(2, 3, 32, 32), torch.zeros(3, 17))
    with pytest.raises(ValueError, match="bottleneck"):
        GA.Config.quick(bottleneck="vit")
    with pytest.raises(ValueError, match="d_layers"):
        GA.Config.quick(size=32, d_layers=6)
    with pytest.raises(ValueError, match="kind"):
        GD.edit_set("smile", 2, 32)
    with pytest.raises(ValueError, match="AU16"):
        GD.au_index(16)


# ----------------------------------------------------------------------------- losses
def test_losses_follow_their_equations():
    real, fake = torch.tensor([[2.0, 4.0]]), torch.tensor([[1.0, -1.0]])
    assert float(GL.critic_loss(real, fake)) == pytest.approx(0.0 - 3.0)
    assert float(GL.generator_adv_loss(fake)) == pytest.approx(0.0)
    p, t = torch.ones(4, 17), torch.zeros(4, 17)
    assert float(GL.au_regression_loss(p, t)) == pytest.approx(1.0 / 4)
    assert float(GL.au_regression_loss(p, t, per_batch=False)) == pytest.approx(1.0)
    a = torch.zeros(1, 1, 4, 4)
    a[..., :, 2:] = 1.0                       # one vertical edge of height 4
    assert float(GL.attention_tv_loss(a)) == pytest.approx(4.0)
    assert float(GL.attention_mean_loss(a)) == pytest.approx(0.5)
    assert float(GL.cycle_loss(torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4))) == pytest.approx(1.0)
    assert [GL.lr_factor(s, 30, 2 / 3) for s in (0, 19, 20, 25, 29)] == pytest.approx([1, 1, 1, 0.5, 0.1])


def test_gradient_penalty_of_a_linear_critic():
    class Linear(torch.nn.Module):            # D(x) = sum(w * x): gradient norm = |w| everywhere
        def forward(self, x):
            return (x * 0.5).flatten(1).sum(1, keepdim=True), None
    x = torch.rand(3, 3, 4, 4)
    gp = GL.gradient_penalty(Linear(), x, x.flip(0), torch.rand(3, 1, 1, 1))
    norm = 0.5 * (3 * 4 * 4) ** 0.5
    assert float(gp) == pytest.approx((norm - 1) ** 2, rel=1e-5)


# ----------------------------------------------------------------------------- training
def test_training_logs_attention_and_updates_g_every_nth_step(tmp_path):
    res = GA.train(_cfg(g_every=2), tmp_path / "run", progress=False)
    h = res.history
    assert h["step"].tolist() == list(range(1, 9))
    assert h["wdist"].notna().all() and h["gp"].notna().all()
    g = h.set_index("step")
    assert np.isnan(g.loc[1, "g_loss"])                        # G first trained at the 2nd iteration
    for k in ("g_cyc", "att_mean", "att_std", "att_high", "att_low"):
        assert g.loc[2:, k].notna().all(), k
    assert g.loc[2, "g_loss"] == g.loc[3, "g_loss"] != g.loc[4, "g_loss"]   # logged again until the next update
    assert (h["lr_factor"].diff().fillna(0) <= 1e-12).all()


def test_resume_is_bit_identical(tmp_path):
    cfg = _cfg()
    a = GA.train(cfg, tmp_path / "a", progress=False)
    GA.train(cfg, tmp_path / "b", max_steps=3, progress=False)
    b = GA.train(cfg, tmp_path / "b", progress=False)
    assert b.resumed_from == 3 and b.step == 8
    for k, v in a.models["G"].state_dict().items():
        assert torch.equal(v, b.models["G"].state_dict()[k]), k


def test_release_round_trip_reproduces_its_check(tmp_path, untrained_net):
    res = GA.train(_cfg(eval_every=4, eval_n=4), tmp_path / "run", progress=False)
    sizes = dict(random=12, presets=8, close_mouth=4, floor=12, effects=1)
    path = GA.release(res, "tiny", "python -m helpers.ganimation release tiny --profile quick",
                      directory=tmp_path, net=untrained_net, sizes=sizes)
    man = json.loads(path.with_suffix(".json").read_text())
    assert man["dtype"] == "float16" and man["models"] == ["G"]
    assert [r["step"] for r in man["curve"]] == [4, 8] and "test_att_mean" in man["curve"][0]
    assert set(man["metrics"]["effects"]) >= {"synergy", "competition", "single25", "intensity"}
    r = GA.load_release("tiny", tmp_path)
    assert r.manifest == man and r.config.size == res.config.size
    again = E.check_measures(r.G, r.config.size, untrained_net)
    for k, v in man["metrics"]["check"].items():
        if isinstance(v, float):
            assert again[k] == pytest.approx(v, rel=1e-4, abs=1e-5), k
    assert GA.train_command("python -m helpers.ganimation release x --profile demo --set a=1", "x") == \
        "python -m helpers.ganimation train --profile demo --set a=1 --release x"


# ----------------------------------------------------------------------------- test edits, measures
def test_edit_sets_carry_the_exact_truth():
    es = GD.edit_set("random", 4, 32)
    assert es.images.shape == es.truth.shape == (4, 3, 32, 32) and es.target.shape == (4, 17)
    for i in range(2):
        assert torch.equal(es.render(i, es.aus[i].numpy()), es.images[i])     # same person, pose, scene
        assert torch.equal(es.render(i, es.target[i].numpy()), es.truth[i])
    pre = GD.edit_set("presets", 8, 32)
    assert pre.labels == list(GA.data.EXPRESSION_NAMES)
    assert pre.target[pre.labels.index("disgust")].nonzero().flatten().tolist() == [GD.au_index(9), GD.au_index(15)]
    cm = GD.edit_set("close_mouth", 3, 32)
    assert (cm.aus[:, GD.au_index(25)] >= 0.8).all() and (cm.target[:, [GD.au_index(a) for a in (10, 25, 26)]] == 0).all()
    assert set(es.identity.tolist()) <= set(GD.TEST_IDENTITIES)


def test_pixel_measures_of_perfect_and_lazy_editors():
    es = GD.edit_set("random", 6, 32)
    perfect = E.pixel_measures(es.truth, es)
    lazy = E.pixel_measures(es.images, es)
    assert torch.isinf(perfect["psnr"]).all() and float(perfect["leak"].max()) < 2 / 255
    assert torch.allclose(lazy["psnr"], lazy["psnr_noedit"]) and float(lazy["leak"].max()) == 0.0
    assert float(perfect["change"].min()) > 0


def test_specks_see_teeth_left_on_a_closed_mouth():
    cm = GD.edit_set("close_mouth", 6, 64)
    region = E.mouth_region(cm.truth_landmarks, 64, cm.landmarks)
    assert int(E.speck_map(cm.truth, cm.truth, region).sum()) == 0
    assert int(E.speck_map(cm.images, cm.truth, region).sum()) > 0        # the input still shows its teeth


def test_measure_with_an_analysis_net(untrained_net):
    G, _ = GA.build(GA.Config.quick(), seed=0)
    es = GD.edit_set("random", 5, 32)
    m = E.measure(G, es, untrained_net)
    s = E.summarise(m, es)
    assert set(s["per_au"]) == {f"AU{a:02d}" for a in GA.data.AUS}
    assert s["au_ratio"] == pytest.approx(s["au_mae"] / s["au_mae_truth"], rel=1e-3)
    assert 0 <= s["identity_same"] <= 1 and m["features"].shape[0] == 5


def test_sweeps_follow_the_seed():
    base = np.zeros(17, np.float32)
    syn = GE.synergy_targets(base)
    assert syn[:, GD.au_index(12)].tolist() == pytest.approx([0, 0.4, 0.8, 1.2, 1.6, 2.0])
    comp = GE.competition_targets(base)
    assert comp[:, GD.au_index(23)].tolist() == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8, 2.0])
    m = GE.morph_targets(np.zeros(17), np.ones(17), 5)
    assert torch.equal(m[0], torch.zeros(17)) and torch.equal(m[-1], torch.ones(17))
    with pytest.raises(ValueError, match="same number"):
        GE.targets(base, {6: (0, 1), 12: (0, 1, 2)})


# ----------------------------------------------------------------------------- claims and findings
def _results(fid_c, fid_r, floor=0.05, specks=(0.2, 0.4)):
    def one(fid, sp, is_):
        return {"distribution": {"fid": fid, "fid_floor": floor, "fid_noedit": floor, "is": is_},
                "close_mouth": {"speck_share": sp},
                "random": {"au_ratio": 1.5, "au_mae": 0.3, "au_mae_truth": 0.2, "au_mae_noedit": 0.6,
                           "au_ratio_moved": 1.5, "au_mae_moved": 0.3, "au_mae_moved_truth": 0.2,
                           "au_mae_moved_noedit": 0.9, "au_moved_share": 0.2,
                           "identity_same": 1.0, "identity_same_truth": 1.0, "leak": 0.002, "change": 0.05,
                           "att_mean": 0.8, "att_high": 0.5, "att_low": 0.01, "psnr": 30.0, "psnr_noedit": 31.0}}
    return {"convnext": one(fid_c, specks[0], 3.0), "resnet": one(fid_r, specks[1], 3.5)}


def test_claims_table_can_say_yes_no_and_not_measured():
    t = GC.claims_table(_results(1.0, 2.0)).set_index("claim")
    fid_row = next(i for i in t.index if "lower FID" in i)
    assert t.loc[fid_row, "reproduced"] == "yes"
    assert GC.claims_table(_results(2.0, 1.0)).set_index("claim").loc[fid_row, "reproduced"] == "no"
    assert GC.claims_table(_results(1.0, 1.01)).set_index("claim").loc[fid_row, "reproduced"] == "direction only"
    is_row = next(i for i in t.index if "IS too" in i)
    assert t.loc[is_row, "reproduced"] == "no"                 # ConvNeXt IS 3.0 < ResNet 3.5
    speck_row = next(i for i in t.index if "fewer artefacts" in i)
    assert t.loc[speck_row, "reproduced"] == "yes"
    bare = {"convnext": {"random": {"att_mean": 0.7, "att_high": 0.1, "att_low": 0.0, "leak": 0.01, "change": 0.05}}}
    tb = GC.claims_table(bare)
    assert (tb["reproduced"] == "not measured").sum() >= 2
    assert list(tb.columns) == ["claim", "paper", "measured", "reproduced", "why"]


def test_findings_are_built_from_the_numbers():
    lines = GC.findings(_results(1.0, 2.0))
    text = "\n".join(lines)
    assert "30.00 dB" in text and "31.00 dB" in text and "do nothing" in text
    assert "1.50x" in text and "100%" in text
    assert "5.19 vs 5.80" in text and "3.000" in text


def test_tables_put_the_seeds_numbers_beside_ours():
    t1, t2 = GC.seed_tables(_results(1.0, 2.0))
    assert t1.loc["ResNet", "seed FID"] == 5.9514 and t1.loc["ConvNeXt 2x", "FID (ours)"] == 1.0
    assert t2.loc["ConvNeXt 6x", "seed FID"] == 5.7718 and pd.isna(t2.loc["ConvNeXt 6x", "FID (ours)"])


# ----------------------------------------------------------------------------- command line
def test_cli_dry_run_and_bad_set(capsys):
    args = ["train", "--profile", "demo", "--set", "expansion=6", "bottleneck=convnext", "--dry-run"]
    assert cli.main(GA.METHOD, args, module="helpers.ganimation") == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["expansion"] == 6 and cfg["size"] == 64 and cfg["lambda_au"] == 4000.0
    with pytest.raises(SystemExit, match="expansion"):
        cli.main(GA.METHOD, ["train", "--set", "expansion=7", "--dry-run"], module="helpers.ganimation")
