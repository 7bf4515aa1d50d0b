"""helpers.glcic.data's test sets and helpers.glcic.evaluate: baselines, evaluate/compare, curves and the claims table."""
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from helpers.glcic import data as GD, evaluate as E


def _batch(n=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = 0.5 + 0.3 * F.interpolate(torch.rand(n, 3, 4, 4, generator=g) * 2 - 1, size=size, mode="bilinear",
                                  align_corners=False)            # skin-like: far from mid-grey
    m = torch.zeros(n, 1, size, size)
    m[:, :, 12:22, 8:24] = 1
    return x, m


@pytest.mark.parametrize("fn", [E.mean_fill, E.telea])
def test_baselines_keep_known_pixels_and_fill_holes(fn):
    x, m = _batch()
    holed = x * (1 - m)
    out = fn(holed, m)
    assert out.shape == x.shape
    assert torch.equal(out * (1 - m), holed * (1 - m))          # known pixels exactly kept
    assert (out * m).abs().sum() > 0                            # something was filled in
    # on smooth images a baseline beats leaving the hole grey
    from helpers.core import metrics
    assert (metrics.hole_l1(out, x, m) < metrics.hole_l1(holed, x, m)).all()


def test_mean_fill_uses_known_mean():
    x = torch.full((1, 3, 8, 8), 0.5)
    m = torch.zeros(1, 1, 8, 8)
    m[..., 2:4, 2:4] = 1
    out = E.mean_fill(x * (1 - m), m)
    assert torch.allclose(out, x)


def test_testsets_are_fixed_and_disjoint_from_training():
    a = GD.make_testset("mouth", n=3, size=32)
    b = GD.make_testset("mouth", n=3, size=32)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    r = GD.make_testset("random", n=3, size=32)
    assert not torch.equal(r.masks[0], r.masks[1])               # random boxes differ
    assert torch.equal(r.images, a.images)                      # same faces, other holes
    f = GD.make_testset("facemask", n=3, size=32)
    assert (f.masks.flatten(1).sum(1) > 0).all()
    assert set(np.unique(f.masks.numpy())) <= {0.0, 1.0}
    from helpers.synthfaces import SynthFaces
    train = SynthFaces(seed=0, size=32)                      # what glcic training draws from
    train_ids = {train.params(i)["identity"] for i in range(2000)}
    assert max(train_ids) < min(GD.TEST_IDENTITIES) and set(a.identities) <= set(GD.TEST_IDENTITIES)
    with pytest.raises(ValueError):
        GD.make_testset("nose", n=2)


def test_evaluate_and_compare_rank_methods():
    ts = GD.make_testset("mouth", n=3, size=32)
    ts_r = GD.make_testset("random", n=3, size=32)
    grey = lambda images, masks: images                       # leaves the hole at 0 (mid-grey)
    df = E.evaluate(E.telea, ts)
    assert list(df.columns[:4]) == ["image", "psnr", "ssim", "l1"] and {"orb", "sift"} <= set(df.columns)
    assert (df["known_diff"] == 0).all() and len(df) == 3
    table = E.compare({"grey": grey, "Telea": E.telea, "mean fill": E.mean_fill},
                      {"mouth": ts, "random": ts_r}, features=("orb",), progress=False)
    assert len(table) == 6
    mg = E.margins(table, ["Telea"], ["grey"], holes="mouth", measures=("psnr", "l1"))
    assert mg["beats"].all() and (mg["margin"] > 0).all()
    wide = E.pivot(table)
    assert ("mouth", "psnr") in wide.columns
    with pytest.raises(ValueError):
        E.evaluate(lambda i, m: i[:, :1], ts)


def test_claims_table_verdicts():
    table = pd.DataFrame([
        {"method": "random", "holes": "mouth", "psnr": 20.0, "ssim": 0.5, "l1": 0.08, "orb": 60.0, "sift": 200.0},
        {"method": "mouth", "holes": "mouth", "psnr": 22.0, "ssim": 0.6, "l1": 0.06, "orb": 50.0, "sift": 180.0},
    ])
    curves = {"random": pd.DataFrame({"step": [1, 2, 3], "orb": [70.0, 65.0, 60.0]}),
              "mouth": pd.DataFrame({"step": [1, 2, 3], "orb": [50.0, 50.0, 50.0]})}
    summary = {"random": 2, "mouth": 7, "tie": 1, "mean_score": 3.6}
    summary.update(n_answers=100, n_questions=10)
    t = E.claims_table(table, summary, curves, survey_simulated=False)
    assert len(t) == 8 and {"claim", "paper", "measured", "reproduced", "why"} <= set(t.columns)
    assert t["reproduced"].str.startswith("yes").sum() == len(t) - 1   # the 2 dB gap is not "small"
    assert t.iloc[-1]["reproduced"].startswith("no")
    t2 = E.claims_table(table, summary, {k: v.iloc[::-1].assign(step=[1, 2, 3]) for k, v in curves.items()})
    assert t2.iloc[0]["reproduced"].startswith("n/a") and t2.iloc[-2]["reproduced"].startswith("no")
    assert E.slope(curves["random"], "orb") == pytest.approx(-5000.0)


def test_curve_by_training_resumes_and_checkpoint_curve(tmp_path, monkeypatch):
    from helpers import glcic
    cfg = glcic.Config.quick(holes="mouth", n_train=16, steps_c=2, steps_d=1, steps=6,
                             sample_every=0, save_every=2, log_every=1, threads=1)
    threads = torch.get_num_threads()
    ts = GD.make_testset("mouth", n=2, size=cfg.size)
    run = tmp_path / "run"
    curve, hist = glcic.curve_by_training(cfg, run, 2, ts, features=("orb",), progress=False)
    assert curve["step"].tolist() == [2, 4, 6] and (run / "curve.csv").exists()
    assert hist["step"].tolist() == list(range(1, 7))                  # seamless across sessions
    again, _ = glcic.curve_by_training(cfg, run, 2, ts, features=("orb",), progress=False)
    assert again["step"].tolist() == [2, 4, 6]                         # nothing re-measured
    c2 = E.checkpoint_curve(run, lambda: glcic.build_models(cfg)[0], ts, features=("orb",))
    assert c2["step"].tolist() == [2, 4, 6]
    assert c2.iloc[-1]["psnr"] == pytest.approx(curve.iloc[-1]["psnr"], abs=1e-4)
    torch.set_num_threads(threads)


def test_demo_curves_and_release_table_come_from_the_manifests(tmp_path):
    from helpers.core import release

    curves = E.demo_curves()
    assert set(curves) == {"random", "mouth"}
    man = release.read_manifest(E.DEMO_RELEASES["mouth"])
    c = curves["mouth"]
    assert list(c.columns) == ["step", *E.MEASURES] and c["step"].is_monotonic_increasing
    assert c.iloc[-1]["psnr"] == pytest.approx(man["curve"][-1]["mouth_psnr"])
    assert E.release_curve(E.DEMO_RELEASES["random"], "random")["psnr"].notna().all()
    t = E.release_table()
    assert len(t) == 8 and set(t["method"]) == {"random", "mouth", "mean fill", "Telea"}
    assert float(t.set_index(["method", "holes"]).loc[("mouth", "mouth"), "psnr"]) == \
        pytest.approx(man["metrics"]["mouth_psnr"])
    # a manifest without a recorded curve is refused with a clear message
    release.save_release({"m": torch.nn.Linear(2, 2)}, "nocurve", command="x", train_seconds=0.0,
                         metrics={"mouth_psnr": 1.0}, config={}, directory=tmp_path)
    with pytest.raises(ValueError, match="no recorded curve"):
        E.release_curve("nocurve", directory=tmp_path)
    with pytest.raises(ValueError):
        E.release_curve(E.DEMO_RELEASES["mouth"], "nose")
