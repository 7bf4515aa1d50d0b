"""GLCIC: shapes, exact known pixels, phase schedule, bit-identical resume, input errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers import glcic as G
from helpers.glcic import data as GD, evaluate as E


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(**kw):
    base = dict(data="toy", n_train=32, size=32, local_size=16, width=0.125, batch=2, steps_c=3,
                steps_d=2, steps=8, log_every=1, sample_every=0, save_every=1000, threads=None)
    base.update(kw)
    return G.Config.quick(**base)


@pytest.mark.parametrize("size,local,width", [(32, 16, 0.125), (64, 32, 0.25)])
def test_network_shapes(size, local, width):
    torch.manual_seed(0)
    C, D = G.build_models(G.Config.quick(size=size, local_size=local, width=width))
    x = torch.rand(2, 4, size, size)
    assert C(x).shape == (2, 3, size, size)
    assert D(torch.rand(2, 3, local, local), torch.rand(2, 3, size, size)).shape == (2,)
    # the paper's widths at 256: 6 global and 5 local stride-2 convs down to 4x4, then FC-1024
    D256 = G.ContextDiscriminator(256, 128, width=1.0)
    convs = lambda m: [l for l in m if isinstance(l, torch.nn.Conv2d)]
    assert len(convs(D256.global_d)) == 6 and len(convs(D256.local_d)) == 5
    assert D256.global_d[-2].out_features == 1024 and D256.fc.in_features == 2048
    dil = [l.dilation[0] for l in G.CompletionNet(1.0).body if isinstance(l, torch.nn.Conv2d)]
    assert [d for d in dil if d > 1] == [2, 4, 8, 16]


def test_complete_keeps_known_pixels_exactly():
    torch.manual_seed(0)
    C = G.CompletionNet(0.125)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    m = G.boxes_to_masks(G.sample_boxes(3, 32, "random", torch.Generator().manual_seed(1)), 32)
    out = G.complete(C, x, m)
    known = m.expand_as(x) == 0
    assert torch.equal(out[known], x[known])
    assert not torch.equal(out[~known], x[~known])
    assert out.shape == x.shape
    for blend in ("poisson", "fmm+poisson"):           # Poisson blending also keeps known pixels
        pb = G.complete(C, x, m, blend=blend)
        assert torch.allclose(pb[known], x[known], atol=1 / 127.5 + 1e-6), blend
        assert pb.shape == x.shape
    with pytest.raises(ValueError, match="blend"):
        G.complete(C, x, m, blend="alpha")


def test_upsampling_switch():
    """resize = nearest x2 + 3x3 conv (no transposed conv left); deconv = the paper's; full keeps it."""
    kinds = lambda C: {type(l).__name__ for l in C.body}
    for up in G.UPSAMPLES:
        C = G.CompletionNet(0.125, up)
        assert C(torch.rand(2, 4, 32, 32)).shape == (2, 3, 32, 32)
        assert ("ConvTranspose2d" in kinds(C)) == (up == "deconv") and ("Upsample" in kinds(C)) == (up == "resize")
    assert G.Config.full().upsample == "deconv" and G.Config.demo().upsample == "resize"
    assert G.build_models(_cfg(upsample="deconv"))[0].upsample == "deconv"
    with pytest.raises(ValueError, match="upsample"):
        _cfg(upsample="bilinear")
    with pytest.raises(ValueError, match="upsample"):
        G.CompletionNet(0.125, "pixelshuffle")


def test_fast_marching_removes_the_rim_poisson_leaves_around_a_grey_hole():
    """A smooth face-like ramp, a grey hole, a network output equal to the truth: Poisson blending
    into the grey-filled image leaves a rim and pulls the hole towards grey; with the fast-marching
    fill first (the paper's order) the result is close to the truth and the seam disappears."""
    from helpers.core import metrics
    yy, xx = torch.meshgrid(torch.linspace(-0.6, 0.6, 64), torch.linspace(-0.5, 0.7, 64), indexing="ij")
    truth = torch.stack([xx, yy, (xx + yy) / 2])[None]
    m = G.boxes_to_masks(G.sample_boxes(1, 64, "mouth"), 64)
    given = truth * (1 - m)                                   # hole pixels at 0, as the test sets give them
    plain = G.poisson_blend(given, truth, m, fmm=False, dilate=1)
    fmm = G.poisson_blend(given, truth, m, fmm=True, dilate=1)
    err = lambda y: float(((y - truth).abs() * m).sum() / m.sum() / 3)     # mean |error| in the hole
    assert err(fmm) < 0.03 and err(plain) > 0.1
    # the default region (3 px past the hole at 64 px) keeps the edge on real pixels: closer still
    assert err(G.poisson_blend(given, truth, m)) < min(err(fmm), err(G.poisson_blend(given, truth, m, fmm=False)))
    assert G.blend_dilate(64) == 3 and G.blend_dilate(256) == 12 and G.blend_dilate(16) == 1
    seam = lambda y: float(metrics.seam_energy(y, m)[0] - metrics.seam_energy(truth, m)[0])
    assert abs(seam(fmm)) < 1.0 < seam(plain)


def test_hole_samplers_follow_the_seed():
    b = G.sample_boxes(500, 256, "random", torch.Generator().manual_seed(0))
    assert b[:, :2].min() >= 5 and b[:, :2].max() <= 145
    assert b[:, 2:].min() >= 48 and b[:, 2:].max() <= 96
    assert G.sample_boxes(2, 256, "mouth")[0].tolist() == [56, 128, 144, 96]
    assert G.sample_boxes(1, 64, "mouth")[0].tolist() == [14, 32, 36, 24]
    lb = G.local_boxes(torch.tensor([[0, 0, 10, 10], [50, 50, 12, 12]]), 64, 32)
    assert lb.tolist() == [[0, 0, 32, 32], [32, 32, 32, 32]]      # clamped inside the image


def test_phase_schedule():
    cfg = _cfg(steps_c=3, steps_d=2, steps=8)
    assert [G.phase_at(s, cfg) for s in range(8)] == ["completion"] * 3 + ["discriminator"] * 2 + ["joint"] * 3


def test_training_switches_phases(tmp_path):
    hist = G.train(_cfg(), tmp_path / "run", progress=False).history
    assert hist["phase"].tolist() == ["completion"] * 3 + ["discriminator"] * 2 + ["joint"] * 3
    assert hist["step"].tolist() == list(range(1, 9))
    assert hist.loc[hist.phase == "completion", "d_loss"].isna().all()
    assert hist.loc[hist.phase == "joint", "adv"].notna().all()


def test_training_records_the_curve_and_release_stores_it(tmp_path):
    """train() measures the seed's curve every eval_every steps; release() puts it in the manifest."""
    import json

    cfg = _cfg(eval_every=4, eval_n=3, steps=8)
    res = G.train(cfg, tmp_path / "run", progress=False)
    hist = res.history
    cols = [f"{h}_{m}" for h in ("mouth", "random") for m in E.MEASURES]
    rows = hist.dropna(subset=["mouth_psnr"])
    assert rows["step"].tolist() == [4, 8] and rows[cols].notna().all().all()
    assert res.eval_seconds > 0 and rows["eval_seconds"].is_monotonic_increasing
    path = G.release(res, "tiny", "python -m helpers.glcic train ...", directory=tmp_path)
    man = json.loads(path.with_suffix(".json").read_text())
    met = man["metrics"]
    assert [r["step"] for r in man["curve"]] == [4, 8] and set(cols) <= set(man["curve"][0])
    assert man["curve"][-1]["mouth_psnr"] == pytest.approx(float(rows.iloc[-1]["mouth_psnr"]), abs=1e-4)
    for k in ("mouth_ssim", "random_sift", "meanfill_mouth_ssim", "telea_mouth_psnr", "telea_random_orb"):
        assert k in met, k


def _params(res):
    return {f"{m}.{k}": v for m, model in res.models.items() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("optimizer,precision", [("adadelta", "fp32"), ("adam", "fp32"), ("adam", "bf16")])
def test_resume_is_bit_identical(tmp_path, optimizer, precision):
    cfg = _cfg(optimizer=optimizer, lr=1.0 if optimizer == "adadelta" else 1e-3, precision=precision)
    a = G.train(cfg, tmp_path / "a", progress=False)                  # uninterrupted
    r1 = G.train(cfg, tmp_path / "b", max_steps=4, progress=False)   # stops inside Td ...
    assert r1.step == 4 and r1.stopped_by == "steps"
    b = G.train(cfg, tmp_path / "b", progress=False)                 # ... and continues
    assert b.resumed_from == 4 and b.history["step"].tolist() == list(range(1, 9))
    assert a.step == b.step == 8
    pa, pb = _params(a), _params(b)
    diff = [k for k in pa if not torch.equal(pa[k], pb[k])]
    assert not diff, f"resumed run differs in {diff[:5]}"
    C, info = G.load_run(cfg, tmp_path / "b")                        # what the notebook reloads
    assert info["step"] == 8 and all(torch.equal(v, pa["C." + k]) for k, v in C.state_dict().items())


def test_resume_with_another_precision_is_refused(tmp_path):
    G.train(_cfg(), tmp_path / "a", max_steps=2, progress=False)
    with pytest.raises(ValueError, match="precision: checkpoint 'fp32' vs now 'bf16'"):
        G.train(_cfg(precision="bf16"), tmp_path / "a", progress=False)


def test_bad_inputs():
    C = G.CompletionNet(0.125)
    x = torch.zeros(1, 3, 32, 32)
    m = torch.zeros(1, 1, 32, 32)
    with pytest.raises(ValueError, match=r"shape \(N, 3, H, W\)"):
        G.complete(C, torch.zeros(1, 4, 32, 32), m)
    with pytest.raises(ValueError, match="only 0"):
        G.complete(C, x, m + 0.5)
    with pytest.raises(ValueError, match="do not match"):
        G.complete(C, x, torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        G.complete(C, x + 3, m)
    with pytest.raises(ValueError, match="multiples of 4"):
        G.complete(C, torch.zeros(1, 3, 30, 30), torch.zeros(1, 1, 30, 30))
    with pytest.raises(ValueError, match="smaller than the local patch"):
        G.check_inputs(torch.zeros(1, 3, 32, 32), local_size=64)
    with pytest.raises(ValueError, match="smaller than the local patch"):
        G.local_boxes(torch.zeros(1, 4, dtype=torch.long), 32, 64)
    with pytest.raises(ValueError, match="local_size"):
        G.Config.quick(size=32, local_size=64)
    with pytest.raises(ValueError, match="holes"):
        G.sample_boxes(1, 64, "eyes")
    with pytest.raises(ValueError, match="optimizer"):
        G.Config.quick(optimizer="sgd")
    with pytest.raises(ValueError, match="holes"):
        G.Config.quick(holes="nose")
    D = G.ContextDiscriminator(32, 16, 0.125)
    with pytest.raises(ValueError, match="discriminator expects"):
        D(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 32, 32))


def test_profiles():
    q, d, f = G.Config.quick(), G.Config.demo(), G.Config.full()
    assert (f.size, f.local_size, f.batch, f.steps_c, f.steps_d, f.steps, f.alpha, f.optimizer) == \
        (256, 128, 96, 90_000, 10_000, 480_000, 4e-4, "adadelta")
    assert d.size == 64 and q.size <= 64 and d.precision == "auto" and q.precision == "fp32"
    assert G.Config.for_profile("demo", holes="mouth").holes == "mouth"


@pytest.mark.parametrize("name", ["glcic_mouth64", "glcic_random64"])
def test_demo_release_reproduces_its_manifest(name):
    r = G.load_release(name)                       # verifies the sha256
    C, cfg, man = r.C, r.config, r.manifest
    assert r.model is C and set(r.models) == {"C"} and r.metrics == man["metrics"]
    assert man["command"].startswith("python -m helpers.glcic train --profile demo")
    assert (Path(__file__).parent.parent / "checkpoints" / man["file"]).stat().st_size < 10e6
    got = E.measure(C, cfg, 64)
    for k in ("mouth_psnr", "mouth_ssim", "mouth_l1", "random_psnr", "random_ssim", "random_l1"):
        assert got[k] == pytest.approx(man["metrics"][k], rel=1e-3, abs=1e-4), k
    for k in ("mouth_orb", "mouth_sift", "random_orb", "random_sift"):   # keypoints: a pixel may round differently
        assert got[k] == pytest.approx(man["metrics"][k], rel=0.05), k
    # the baselines, recomputed now (not read from the manifest): the model must beat Telea
    base = E.baseline_measures(cfg, 64, features=())
    for k in ("mouth_psnr", "mouth_ssim"):
        assert base[f"telea_{k}"] == pytest.approx(man["metrics"][f"telea_{k}"], rel=1e-3, abs=1e-4), k
        assert got[k] > base[f"telea_{k}"], f"{name} does not beat Telea on {k}"
        assert got[k] > base[f"meanfill_{k}"], f"{name} does not beat mean fill on {k}"
    curve = man["curve"]                                       # the seed's curve, recorded by training
    assert [row["step"] for row in curve] == list(range(cfg.eval_every, man["metrics"]["steps"] + 1,
                                                        cfg.eval_every))


# ------------------------------------------------------------------ issue 13: the joint-phase fixes
import importlib  # noqa: E402

T = importlib.import_module("helpers.glcic.train")   # the module (helpers.glcic.train is also a function)

def test_matched_real_patches_sit_where_the_hole_is(monkeypatch):
    """real_patches="matched": real local patches at the fake's hole-centred place; the hole stream
    draws the same numbers in both modes (so the two modes differ only in which patches D sees)."""
    seen = {}

    def spy(s, images, masks, boxes, real_boxes):
        seen[s.cfg.real_patches] = (boxes.clone(), real_boxes.clone(), s.generators["holes"].get_state())
        return {"d_loss": torch.tensor(0.0)}

    monkeypatch.setattr(T, "discriminator_step", spy)
    from helpers.core import loop        # one discriminator step per mode through the Method itself
    for mode in ("random", "matched"):
        cfg = _cfg(real_patches=mode, steps_c=0, steps_d=1, steps=1)
        env = loop.Env(torch.device("cpu"), 0, 1, "fp32", 0)
        torch.manual_seed(0)
        data = GD.training_data(cfg, progress=False)
        s = loop.State(cfg, T.METHOD.build(cfg, data, env), env, {})
        s.step, s.phase = 0, "discriminator"
        T.METHOD.step(s, torch.stack([data[i] for i in range(cfg.batch)]))
    (b_r, rb_r, g_r), (b_m, rb_m, g_m) = seen["random"], seen["matched"]
    assert torch.equal(b_r, b_m) and torch.equal(g_r, g_m)
    assert torch.equal(rb_m, G.local_boxes(b_m, 32, 16)) and not torch.equal(rb_r, rb_m)


def test_lr_d_sets_the_discriminator_optimizer_only():
    from helpers.core import loop
    cfg = _cfg(optimizer="adam", lr=1e-3, lr_d=1e-4)
    env = loop.Env(torch.device("cpu"), 0, 1, "fp32", 0)
    parts = T.METHOD.build(cfg, GD.training_data(cfg, progress=False), env)
    assert parts.optimizers["C"].param_groups[0]["lr"] == 1e-3
    assert parts.optimizers["D"].param_groups[0]["lr"] == 1e-4
    with pytest.raises(ValueError, match="lr_d"):
        _cfg(lr_d=-1.0)
    with pytest.raises(ValueError, match="real_patches"):
        _cfg(real_patches="nearby")
    assert G.Config.full().real_patches == "random" and G.Config.full().lr_d is None   # the paper
    assert G.Config.demo().real_patches == "matched" and G.Config.demo().lr_d == 1e-4  # the fixes


def test_branch_continues_a_completion_checkpoint_under_another_config(tmp_path):
    from helpers.glcic import diagnose
    base = _cfg(optimizer="adam", lr=1e-3, steps=8, steps_c=3, steps_d=2)
    G.train(base, tmp_path / "c", max_steps=3, progress=False)
    ckpt = tmp_path / "c" / "ckpt-000000003.pt"
    variant = base.replace(real_patches="matched", lr_d=1e-5)
    diagnose.branch(ckpt, variant, tmp_path / "v")
    res = G.train(variant, tmp_path / "v", progress=False)     # resumes at step 3 under the variant
    assert res.resumed_from == 3 and res.step == 8
    assert res.run.optimizers["D"].param_groups[0]["lr"] == 1e-5
    with pytest.raises(ValueError, match="already holds"):
        diagnose.branch(ckpt, variant, tmp_path / "v")
    with pytest.raises(ValueError, match="another config"):   # the plain loop still refuses a changed config
        G.train(variant.replace(alpha=0.1), tmp_path / "v", progress=False)


def test_committed_diagnosis_has_every_variant_and_the_evidence():
    from helpers.glcic import diagnose
    d = diagnose.load()
    assert set(diagnose.VARIANTS) <= set(d["variants"]) and d["command"].startswith("python -m helpers.glcic diagnose")
    t = diagnose.table(d)
    assert t.notna().loc[list(diagnose.VARIANTS), ["mouth_psnr", "mouth_nme_mouth", "mouth_fid"]].all().all()


def test_face_measures_see_the_truth_and_fail_a_blank_mouth():
    ts = GD.make_testset("mouth", 16, 64)
    truth = E.face_measures(lambda x, m: ts.images, ts)
    assert truth["nme_mouth"] == 0 and truth["smiling_bacc"] in (1.0,) and truth["fid"] == pytest.approx(0, abs=1e-6)
    blank = E.face_measures(E.mean_fill, ts)
    assert blank["nme_mouth"] > 0.03 and blank["fid"] > 1.0
    with pytest.raises(ValueError, match="reader"):
        E.face_measures(E.mean_fill, ts, reader="eyes")
    with pytest.raises(ValueError, match="landmarks"):
        E.face_measures(E.mean_fill, ts, reader="dlib")


@pytest.mark.parametrize("name", sorted(E.DEMO_RELEASES.values()))
def test_new_demo_release_reproduces_its_face_measures(name):
    """The demo releases: every measure in the manifest, the analysis network's and the
    post-processed ones included; no checkerboard, and the paper's post-processing removes the box."""
    r = G.load_release(name)
    C, cfg, man = r.C, r.config, r.manifest
    assert man["dtype"] == "float16" and man["command"].startswith("python -m helpers.glcic train --profile demo")
    assert cfg.upsample == "resize"
    got = E.measure(C, cfg, 64, features=(), faces=True)
    got.update(E.measure(C, cfg, 64, features=(), faces=False, blend="fmm+poisson", prefix="fmm_poisson_"))
    for k in ("mouth_psnr", "mouth_ssim", "mouth_l1", "random_psnr", "mouth_nme_mouth", "mouth_smiling_bacc",
              "mouth_smiling_err", "mouth_fid", "mouth_kid", "mouth_seam", "mouth_checker", "random_checker",
              "fmm_poisson_mouth_psnr", "fmm_poisson_mouth_seam", "fmm_poisson_random_seam"):
        assert got[k] == pytest.approx(man["metrics"][k], rel=1e-3, abs=1e-3), k
    m = man["metrics"]
    own = cfg.holes
    deconv = G.load_release(E.DECONV_RELEASES[own])             # the same settings with transposed convs
    before = E.measure(deconv.C, deconv.config, 64, features=())
    assert m[f"{own}_checker"] < 0 < before[f"{own}_checker"], "a checkerboard is back"
    assert abs(m[f"fmm_poisson_{own}_seam"]) < 0.5 * abs(m[f"poisson_{own}_seam"])   # fast marching removes the rim
    m = man["metrics"]
    for b in ("meanfill", "telea"):          # both models beat both baselines on mouth holes
        assert m["mouth_psnr"] > m[f"{b}_mouth_psnr"] and m["mouth_ssim"] > m[f"{b}_mouth_ssim"], b
        if cfg.holes == "mouth":             # and the mouth model draws the mouth where the truth has it
            assert m["mouth_nme_mouth"] < m[f"{b}_mouth_nme_mouth"] and m["mouth_fid"] < m[f"{b}_mouth_fid"], b


@pytest.mark.parametrize("name", sorted(E.REAL_RELEASES.values()))
def test_real_face_release_checks_sha256_and_loads(name):
    """Trained on research-only photos that are not in the repository: sha256 + load only."""
    from helpers.core import release
    r = G.load_release(name)                                       # verifies the sha256
    C, size, man = r.C, r.config.size, r.manifest
    assert "research" in man["data"]["licence"] and "--data" in man["command"]
    x = torch.zeros(1, 3, size, size)
    m = G.boxes_to_masks(G.sample_boxes(1, size, "mouth"), size)
    assert G.complete(C, x, m).shape == x.shape
    assert release.read_manifest(name)["metrics"]["mouth_psnr"] > 0
    ckpts = Path(__file__).parent.parent / "checkpoints"
    assert not [p for p in ckpts.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg")]


def test_committed_checkerboard_diagnosis_shows_where_the_grid_comes_from():
    """benchmarks/glcic_upsampling.json: no grid after the MSE phase, a grid only with the transposed
    convolution after the joint phase, and the findings are computed from the file."""
    from helpers.glcic import diagnose
    d = diagnose.load_upsampling()
    v = d["variants"]
    assert set(v) == {"deconv", "resize"} and d["command"].startswith("python -m helpers.glcic diagnose --upsampling")
    assert v["deconv"]["completion_end"]["mouth_checker"] < 0 and v["resize"]["completion_end"]["mouth_checker"] < 0
    assert v["deconv"]["end"]["mouth_checker"] > 0 > v["resize"]["end"]["mouth_checker"]
    assert [r["step"] for r in v["resize"]["curve"]] == list(range(200, d["base"]["steps"] + 1, 200))
    text = " ".join(diagnose.upsampling_findings(d))
    assert f"{v['deconv']['end']['mouth_checker']:+.2f}" in text
    t = diagnose.upsampling_table(d)
    assert t.shape == (6, 6) and t.notna().all().all()
