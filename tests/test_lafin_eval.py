"""Seed 000's measures, paired comparison, claims and findings: on hand-made numbers they must say the right thing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import lafin as L
from helpers.faces.analysis import AnalysisNet
from helpers.lafin import claims as C
from helpers.lafin import evaluate as E


pytestmark = pytest.mark.usefixtures("one_thread")


def _faces(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    from helpers.faces.landmarks import mean_shape
    base = torch.from_numpy(mean_shape(128)).float()
    lm = base + torch.randn(n, 68, 2, generator=g)
    smiling = torch.tensor([0, 1] * (n // 2))
    return lm, smiling


def test_nme_and_landmark_table():
    lm, sm = _faces()
    assert torch.allclose(E.nme(lm, lm), torch.zeros(len(lm)))
    shifted = lm + torch.tensor([3.0, 4.0])                         # every point 5 px off
    iod = (lm[:, 45] - lm[:, 36]).norm(dim=1)
    assert torch.allclose(E.nme(shifted, lm), 5 / iod)
    wide = lm.clone()
    wide[:, 54, 0] += 10.0                                          # the mouth 10 px wider
    t = E.landmark_table(wide, lm, sm)
    assert np.allclose(t["corner_bias"], 100 * 10 / iod.numpy(), rtol=0.02)
    assert np.allclose(t["lip_err"], 0) and (t["nme_mouth"] > t["nme"]).all()
    g = E.by_label(t)
    assert g.loc["Smiling", "n"] == 3 and g.loc["all", "n"] == 6


def test_paired_interval_and_comparison():
    lm, sm = _faces(40)
    true = lm
    base = E.landmark_table(lm + 2.0, true, sm)
    ours = E.landmark_table(lm + 1.0, true, sm)
    p = C.paired(base, ours, "nme")
    assert p["diff"] < 0 and p["hi"] < 0 and p["n"] == 40
    same = C.paired(base, base, "nme")
    assert same["diff"] == 0 and same["lo"] == 0 == same["hi"]
    c = C.comparison_table({"baseline": base, "ours": ours})
    assert c.loc[("Smiling", "nme"), "n"] == 20 and c.loc[("all", "nme"), "ours"] < c.loc[("all", "nme"), "baseline"]
    with pytest.raises(ValueError, match="same faces"):
        C.paired(base, ours.iloc[:10], "nme")


def _comparison(better: bool):
    rows = []
    for g in E.GROUPS:
        for c in E.LANDMARK_COLUMNS:
            d = -1.0 if better else 0.2
            rows.append({"group": g, "measure": c, "baseline": 5.0, "ours": 5.0 + d, "diff": d,
                         "ci_lo": d - 0.5, "ci_hi": d + 0.5, "n": 50})
    return pd.DataFrame(rows).set_index(["group", "measure"])


@pytest.mark.parametrize("better", [True, False])
def test_claims_follow_the_numbers(better):
    control = pd.DataFrame({"corner_shift": [3.0 if better else 0.1, -3.0], "lip_shift": [0.2, -0.1],
                            "lip_true": [2.0, 2.3]}, index=["No_Smiling", "Smiling"])
    inpaint = pd.DataFrame({"psnr": [20, 19, 19.5, np.nan], "smiling_acc": [0.9, 0.6, 0.8 if better else 0.6, 0.95],
                            "au12_mae": [0.2, 0.5, 0.3, 0.1]}, index=["true", "baseline", "ours", "truth"])
    abl = pd.DataFrame({"nme_mouth": [6.0, 5.5, 5.4, 5.6, 5.5, 5.0 if better else 6.5]},
                       index=pd.MultiIndex.from_product([list(L.VARIANTS), ["all"]], names=["variant", "group"]))
    t = C.claims_table(_comparison(better), control, inpaint, abl, {"No_Smiling": 2.0, "Smiling": 2.3})
    assert {"claim", "paper", "measured", "reproduced", "why"} <= set(t.columns)
    verdicts = dict(zip(t["claim"], t["reproduced"]))
    want = "yes" if better else "no"
    assert verdicts["Ours predicts the masked mouth closer to the truth than Baseline"] == want
    assert verdicts["The label controls the predicted mouth"] == want
    assert verdicts["Ours' inpainted faces show the true expression more often"] == want
    assert verdicts["Smiling faces have a longer lip distance"] == "n/a (data)"
    f = C.findings(_comparison(better), {}, control, inpaint, None, abl, "quick")
    assert any("Not reproduced" in s for s in f) != better
    assert any("Ablation" in s for s in f) and f[-1].startswith("The tiny models")


def test_label_control_and_measures_on_a_tiny_predictor():
    torch.manual_seed(0)
    ts = L.make_testset(8, 64)
    P = L.LandmarkPredictor(64, label_input=True, label_head=True, width_mult=0.35, head_init="mean_shape")
    m = L.predictor_measures(P, ts)
    assert m["halfface_all_n"] == 8 and "facemask_label_acc" in m
    c = L.label_control(P, ts)
    assert set(c.index) <= {"No_Smiling", "Smiling"} and "corner_shift" in c.columns
    B = L.LandmarkPredictor(64, width_mult=0.35, head_init="mean_shape")
    assert (L.label_control(B, ts)["corner_shift"] == 0).all()   # no label input: no control


def test_inpaint_measures_rows():
    torch.manual_seed(0)
    ts = L.make_testset(10, 64)
    G = L.InpaintGenerator(0.125, 1)
    net = AnalysisNet(64, (8, 16, 16, 32, 32), 16, 8, 16).eval()
    t = E.inpaint_measures(G, ts, "halfface", {"true": ts.landmarks, "noisy": ts.landmarks + 2}, net)
    assert list(t.index) == ["true", "noisy", "truth"]
    for c in ("psnr", "ssim", "l1", "perceptual", "fid", "kid", "smiling_acc", "au12_mae", "au25_mae", "mouth_nme"):
        assert c in t.columns
    assert t.loc["truth", "l1"] == 0
    with pytest.raises(ValueError, match="kind"):
        E.inpaint_measures(G, ts, "random", {"true": ts.landmarks}, net)


def test_pipeline_on_a_synthetic_photo():
    from helpers.synthfaces import SynthFaces
    face = SynthFaces(seed=5, size=128, mask_prob=1.0).sample(0)
    photo = np.full((200, 260, 3), 180, np.uint8)
    photo[30:158, 60:188] = face["image"]
    P = L.LandmarkPredictor(64, width_mult=0.35, head_init="mean_shape")
    G = L.InpaintGenerator(0.125, 1)
    r = L.MaskedFacePipeline(P, G, detector="dlib_hog")(photo)
    assert r.landmarks.shape == (68, 2) and r.output.shape == photo.shape and r.crop.shape == (3, 64, 64)
    changed = np.any(r.output != photo, axis=2)
    assert changed.sum() > 0 and not changed[:30].any()           # only the hole (lower face) changed
    with pytest.raises(ValueError, match="detector"):
        L.MaskedFacePipeline(P, G, detector="yolo")
    with pytest.raises(ValueError, match="cover"):
        L.MaskedFacePipeline(P, G, cover="all")


def test_pipeline_cover_reaches_above_the_half_face():
    from helpers.faces.landmarks import mean_shape
    P = L.LandmarkPredictor(64, width_mult=0.35, head_init="mean_shape")
    crop = torch.zeros(3, 64, 64)
    holes = {c: L.MaskedFacePipeline(P, None, hole="none", cover=c).landmarks_of_crop(crop)[1] for c in ("halfface", "union")}
    assert bool((holes["union"] >= holes["halfface"]).all())              # the union contains the half face
    rows = lambda h: torch.nonzero(h[0].sum(1)).flatten()
    assert int(rows(holes["union"])[0]) < int(rows(holes["halfface"])[0])  # and starts higher (below the eyes)
    eyes = torch.from_numpy(mean_shape(64))[36:48, 1].min()
    assert int(rows(holes["union"])[0]) > float(eyes) - 1                  # but leaves the eyes alone


def test_match_face_rule():
    from helpers.lafin.pipeline import match_face
    lm = np.array([[10.0, 10.0], [50.0, 60.0]] + [[30.0, 30.0]] * 66)
    assert match_face([(10, 10, 50, 60)], lm) == 0
    assert match_face([(100, 100, 140, 150)], lm) is None           # elsewhere
    assert match_face([(28, 28, 32, 32)], lm) is None               # far too small


def test_mouth_boxes_cover_the_mouth_only():
    ts = L.make_testset(4, 64)
    m = E.mouth_box_masks(ts.landmarks, 64)
    assert m.shape == (4, 1, 64, 64) and 0 < float(m.mean()) < 0.3
    for i in range(4):
        x, y = ts.landmarks[i, 48:68].round().long().clamp(0, 63).T
        assert bool((m[i, 0, y, x] == 1).all()), "a mouth landmark lies outside its box"
        ex, ey = ts.landmarks[i, 36:48].round().long().clamp(0, 63).T
        assert bool((m[i, 0, ey, ex] == 0).all()), "the box reaches the eyes"


def test_resized_keeps_known_pixels_and_fills_the_hole_at_its_size():
    seen = []

    def at32(images, masks):            # a 'method' that only works at 32 px: fills holes with +1
        seen.append(images.shape[-1])
        return torch.where(masks.bool(), torch.ones_like(images), images)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    m = torch.zeros(2, 1, 64, 64)
    m[:, :, 20:33, 10:41] = 1
    out = E.resized(at32, 32)(x * (1 - m), m)
    assert seen == [32]
    assert torch.equal(out[m.expand_as(out) == 0], x[m.expand_as(x) == 0])
    inner = out[:, :, 22:31, 12:39]     # inside the hole, away from its border (bilinear blends the border)
    assert torch.allclose(inner, torch.ones_like(inner))


def test_same_holes_rows():
    torch.manual_seed(0)
    ts = L.make_testset(6, 64)
    G = L.InpaintGenerator(0.125, 1)
    P = L.LandmarkPredictor(64, label_input=True, label_head=True, width_mult=0.35, head_init="mean_shape")
    net = AnalysisNet(64, (8, 16, 16, 32, 32), 16, 8, 16).eval()
    t = E.same_holes(G, P, {"copy of truth": lambda x, m: ts.images}, ts, net=net)
    assert set(t.index.get_level_values("holes")) == {"facemask", "halfface", "mouthbox"}
    want = {"LaFIn, true landmarks", "LaFIn, predicted landmarks", "copy of truth", "truth"}
    assert set(t.index.get_level_values("method")) == want
    row = t.loc[("mouthbox", "copy of truth")]
    assert row["ssim"] == pytest.approx(1.0) and row["perceptual"] == pytest.approx(0.0, abs=1e-6)
    assert row["mouth_nme"] == pytest.approx(t.loc[("mouthbox", "truth"), "mouth_nme"])


def test_crop_coordinates_round_trip():
    from helpers.lafin.pipeline import crop_square, from_crop, landmark_box, to_crop
    img = np.zeros((100, 120, 3), np.uint8)
    _, M = crop_square(img, 60.0, 50.0, 80.0, 64)
    pts = np.array([[20.0, 30.0], [60.0, 50.0], [99.0, 10.0]])
    # pixel-centre convention: the pixel whose centre is the square's centre (index cx - 0.5) is the crop's centre
    assert np.allclose(to_crop([[59.5, 49.5]], M), [[31.5, 31.5]], atol=1e-4)
    assert np.allclose(from_crop(to_crop(pts, M), M), pts, atol=1e-3)
    assert landmark_box(pts) == (59.5, 30.0, 79.0)


def test_inpaint_by_label_groups_and_reuses_completions():
    torch.manual_seed(0)
    ts = L.make_testset(10, 64)
    G = L.InpaintGenerator(0.125, 1)
    net = AnalysisNet(64, (8, 16, 16, 32, 32), 16, 8, 16).eval()
    done = {}
    E.inpaint_measures(G, ts, "halfface", {"true": ts.landmarks}, net, completed=done)
    t = E.inpaint_by_label(G, ts, "halfface", {"true": ts.landmarks}, net, completed=done)
    assert list(t.index.get_level_values("source").unique()) == ["true", "truth"]
    n = {g: int((ts.smiling == k).sum()) for g, k in (("No_Smiling", 0), ("Smiling", 1))}
    assert t.loc[("true", "No_Smiling"), "n"] == n["No_Smiling"] and t.loc[("true", "all"), "n"] == len(ts)
    assert t.loc[("truth", "all"), "perceptual"] == 0 and t.loc[("truth", "all"), "ssim"] == pytest.approx(1.0)
    # the completions handed over are the ones measured: a blank completion must read worse than the real one
    blank = E.inpaint_by_label(G, ts, "halfface", {"true": ts.landmarks}, net, completed={"true": ts.images * 0})
    assert blank.loc[("true", "all"), "psnr"] != t.loc[("true", "all"), "psnr"]
    with pytest.raises(ValueError, match="kind"):
        E.inpaint_by_label(G, ts, "random", {"true": ts.landmarks}, net)


def _study(ours_corner: float, ours_nme: float) -> dict:
    rows = {}
    for seed in (0, 1):
        for variant, w, corner, nme in (("baseline", None, 8.0, 4.5), ("ours", 1.0, ours_corner, ours_nme),
                                        ("ours", 0.3, 9.0, 4.4)):
            m = {"variant": variant, "w": w, "seed": seed}
            for g in ("No_Smiling", "Smiling", "all"):
                m.update({f"halfface_{g}_nme": nme + 0.1 * seed, f"halfface_{g}_nme_mouth": nme,
                          f"halfface_{g}_corner_err": corner, f"halfface_{g}_lip_err": 2.5 if variant == "baseline" else 2.3})
            rows[f"{variant}_{w}_{seed}"] = m
    return {"rows": rows}


@pytest.mark.parametrize("ours_corner, ours_nme, chosen, at_most", [(6.0, 4.4, "ours w=1", True),
                                                                  (6.0, 5.0, "ours w=1", False),
                                                                  (8.5, 4.4, None, None)])
def test_label_study_table_choice_and_claim(ours_corner, ours_nme, chosen, at_most):
    from helpers.lafin.claims import choose_weight, label_study_table
    t = label_study_table(_study(ours_corner, ours_nme))
    assert list(t.index.get_level_values("model").unique()) == ["baseline", "ours w=0.3", "ours w=1"]
    assert t.loc[("baseline", "all"), ("nme", "mean")] == pytest.approx(4.55)
    assert t.loc[("baseline", "all"), ("nme", "std")] == pytest.approx(np.std([4.5, 4.6], ddof=1))
    ch = choose_weight(t)
    assert ch["chosen"] == chosen and ch["nme_at_most_baseline"] == at_most
    assert ch["rows"]["ours w=0.3"]["mouth_better_both_labels"] is False      # corners worse than the Baseline
    claims = C.claims_table(_comparison(True), study=t)
    row = claims[claims["claim"].str.startswith("Ours ≤ Baseline")].iloc[0]
    assert row["reproduced"] == ("yes" if at_most else "no")


def test_label_study_names_each_reading_of_the_label():
    from helpers.lafin.claims import label_study_table, study_model
    res = _study(6.0, 4.4)
    extra = {f"{k}_b": {**r, "label_map": "broadcast", "w": 0.0} for k, r in res["rows"].items() if r["w"] == 1.0}
    t = label_study_table({"rows": {**res["rows"], **extra}})
    assert list(t.index.get_level_values("model").unique()) == ["baseline", "ours w=0.3", "ours w=1", "ours w=0 broadcast"]
    assert study_model({"variant": "ours", "w": 0.1, "label_map": "grid"}) == "ours w=0.1"
    import matplotlib
    matplotlib.use("Agg")
    from helpers.lafin import figures
    fig = figures.tradeoff_figure(t)                         # w = 0 on a symlog axis, a line per reading
    assert len(fig.axes[0].lines) >= 6


def test_label_study_refuses_bad_input():
    from helpers.lafin.diagnose import label_study
    with pytest.raises(ValueError, match="weights must be >= 0"):
        label_study("quick", seeds=(0,), weights=(-1.0,))
    with pytest.raises(ValueError, match="at least one seed"):
        label_study("quick", seeds=(), weights=(1.0,))
    with pytest.raises(ValueError, match="label maps"):
        label_study("quick", seeds=(0,), weights=(1.0,), label_maps=("pixels",))


def test_label_study_joins_an_earlier_study(tmp_path):
    from helpers.lafin.diagnose import label_study
    first = label_study("quick", seeds=(0,), weights=(1.0,), run_root=tmp_path / "a", progress=False)
    assert sorted(first["rows"]) == ["baseline_s0", "ours_w1_s0"]
    more = label_study("quick", seeds=(0,), weights=(0.5,), run_root=tmp_path / "b", progress=False, known=first)
    assert sorted(more["rows"]) == ["baseline_s0", "ours_w0.5_s0", "ours_w1_s0"] and more["weights"] == [0.5, 1.0]
    assert more["rows"]["ours_w1_s0"] == first["rows"]["ours_w1_s0"]           # kept, not trained again
    assert not (tmp_path / "b" / "ours_w1_s0").exists() and (tmp_path / "b" / "ours_w0.5_s0").exists()
    other = {**first, "config": {**first["config"], "lr": 0.5}}
    with pytest.raises(ValueError, match="config.lr"):
        label_study("quick", seeds=(0,), weights=(0.5,), run_root=tmp_path / "c", progress=False, known=other)


def test_control_figure_rows_and_zoom():
    import matplotlib
    matplotlib.use("Agg")
    from helpers.lafin import figures
    torch.manual_seed(0)
    ts = L.make_testset(6, 64)
    P = L.LandmarkPredictor(64, label_input=True, width_mult=0.35, head_init="mean_shape")
    G = L.InpaintGenerator(0.125, 1)
    fig = figures.control_figure(ts, P, G, figures.pick_faces(ts, 1))
    assert len(fig.axes) == 2 * 7                                  # truth, 2 x (landmarks, inpainted), 2 zooms
    assert fig.axes[5].get_title() == "mouth, No_Smiling"
    assert len(figures.control_figure(ts, P, None, 0).axes) == 3    # no inpainter: no zoom
    with pytest.raises(ValueError, match="label input"):
        figures.control_figure(ts, L.LandmarkPredictor(64, width_mult=0.35), G, 0)
