"""GLCIC: shapes, exact known pixels, phase schedule, bit-identical resume, input errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers import glcic as G
from helpers.glcic import evaluate as E


@pytest.fixture(autouse=True)
def _one_thread():
    """One thread: tiny ops on a shared 2-core CPU are much faster without OpenMP barriers."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


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
    pb = G.complete(C, x, m, poisson=True)             # Poisson blending also keeps known pixels
    far = torch.nn.functional.max_pool2d(m, 5, 1, 2).expand_as(x) == 0
    assert torch.allclose(pb[far], x[far], atol=1 / 127.5 + 1e-6)


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
    C = G.load_release(name)                       # verifies the sha256
    man = C.manifest
    assert man["command"].startswith("python -m helpers.glcic train --profile demo")
    assert (Path(__file__).parent.parent / "checkpoints" / man["file"]).stat().st_size < 10e6
    got = E.measure(C, C.config, 64)
    for k in ("mouth_psnr", "mouth_ssim", "mouth_l1", "random_psnr", "random_ssim", "random_l1"):
        assert got[k] == pytest.approx(man["metrics"][k], rel=1e-3, abs=1e-4), k
    for k in ("mouth_orb", "mouth_sift", "random_orb", "random_sift"):   # keypoints: a pixel may round differently
        assert got[k] == pytest.approx(man["metrics"][k], rel=0.05), k
    # the baselines, recomputed now (not read from the manifest): the model must beat Telea
    base = E.baseline_measures(C.config, 64, features=())
    for k in ("mouth_psnr", "mouth_ssim"):
        assert base[f"telea_{k}"] == pytest.approx(man["metrics"][f"telea_{k}"], rel=1e-3, abs=1e-4), k
        assert got[k] > base[f"telea_{k}"], f"{name} does not beat Telea on {k}"
        assert got[k] > base[f"meanfill_{k}"], f"{name} does not beat mean fill on {k}"
    curve = man["curve"]                                       # the seed's curve, recorded by training
    assert [r["step"] for r in curve] == list(range(C.config.eval_every, man["metrics"]["steps"] + 1,
                                                    C.config.eval_every))
