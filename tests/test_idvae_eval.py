"""Seed 004's measures (k-means accuracy, Eq. 6, probes), Table 3 / claims / findings, data, releases."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from data_scripts import prepare
from helpers import idvae
from helpers.core import release as rel
from helpers.faces.analysis import AnalysisNet
from helpers.idvae import evaluate as E
from helpers.idvae import figures, recognition as R, swaps
from helpers.idvae.model import Config
from helpers.synthfaces import expression_aus, render


pytestmark = pytest.mark.usefixtures("one_thread")


# ----------------------------------------------------------------------------- k-means accuracy
def _blobs(n_per=20, k=4, d=5, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 5
    f = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    return f, np.repeat(np.arange(k), n_per)


def test_cluster_accuracy_perfect_random_and_reproducible():
    f, y = _blobs()
    r = R.cluster_accuracy(f, y, k=4, runs=5)
    assert r["mean"] == 1.0 and r["std"] == 0.0 and r["runs"].shape == (5,)
    assert R.cluster_accuracy(f, (y + 1) % 4, k=4, runs=3)["mean"] == 1.0      # label names do not matter
    noise = np.random.default_rng(1).normal(size=(200, 8))
    labels = np.random.default_rng(2).integers(0, 4, 200)
    a, b = R.cluster_accuracy(noise, labels, 9, 10, seed=3), R.cluster_accuracy(noise, labels, 9, 10, seed=3)
    assert np.array_equal(a["runs"], b["runs"])                                # seeded: reproducible
    assert a["mean"] < 0.5 and a["chance"] == pytest.approx(np.bincount(labels).max() / 200)
    assert not np.array_equal(a["runs"], R.cluster_accuracy(noise, labels, 9, 10, seed=4)["runs"])
    with pytest.raises(ValueError, match="features"):
        R.cluster_accuracy(noise[:, 0], labels)
    with pytest.raises(ValueError, match="k must be"):
        R.cluster_accuracy(noise, labels, k=0)


def test_nearest_to_centroid_labelling_by_hand():
    f = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    assign = np.array([0, 0, 0, 1, 1, 1])
    cent = np.array([[1.2], [17.0], [99.0]])
    labels = np.array([5, 6, 7, 8, 9, 4])
    # cluster 0: nearest to 1.2 is 1.0 (label 6); cluster 1: nearest to 17 is 11 (label 9); cluster 2 empty
    assert R.nearest_to_centroid_labels(f, assign, cent, labels).tolist() == [6, 9, -1]


def test_subject_mean_is_eq_6():
    f = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0]])
    out = R.subtract_subject_mean(f, np.array(["a", "a", "b"]))
    assert np.allclose(out, [[-1, -1], [1, 1], [0, 0]])
    with pytest.raises(ValueError):
        R.subtract_subject_mean(f, np.array([0, 1]))


def test_probes_find_what_is_encoded():
    rng = np.random.default_rng(0)
    subj, expr = np.repeat(np.arange(6), 14), np.tile(np.repeat(np.arange(7), 2), 6)
    code = np.eye(6)[subj] * 3 + 0.1 * rng.normal(size=(84, 6))                 # only the subject
    p = R.probe_accuracy(code, subj, groups=expr)
    assert p["accuracy"] > 0.95 and p["chance"] == pytest.approx(1 / 6)
    q = R.probe_accuracy(code, expr, groups=subj)
    assert q["accuracy"] < 0.35                                                  # no expression in it
    aus = rng.uniform(0, 2, size=(84, 17))
    lin = rng.normal(size=(17, 24))                                             # a latent that holds the AUs
    r2 = R.au_probe_r2(aus[:60] @ lin, aus[:60], aus[60:] @ lin, aus[60:])["r2_mean"]
    assert r2 > 0.95
    assert R.au_probe_r2(rng.normal(size=(60, 10)), aus[:60], rng.normal(size=(24, 10)), aus[60:])["r2_mean"] < 0.2


# ----------------------------------------------------------------------------- table, claims, findings
def _manifests(acc):
    out = {}
    for r in E.ROWS:
        m = out.setdefault(r.release, {"metrics": {}, "config": {"epochs": 8, "subjects": 64, "width": 0.5},
                                       "train_seconds": 60.0})
        m["metrics"].update({"n_train_images": 100, "n_recog_train": 50, "n_recog_test": 10, "kmeans_runs": 100,
                             "k": 9, "recog_chance_train": 0.14})
        tr, te = acc[r.key]
        m["metrics"][r.metric], m["metrics"][r.metric + "_std"] = tr, 0.01
        if te is not None:
            m["metrics"]["acc_test"], m["metrics"]["acc_test_std"] = te, 0.02
    return out


PAPER_LIKE = {"1": (0.56, 0.50), "2": (0.53, 0.48), "3": (0.63, 0.60), "4": (0.64, 0.63), "5": (0.68, 0.66),
              "6": (0.38, 0.22), "7": (0.49, None), "8": (0.59, None)}


def test_table3_ordering_claims_and_findings_follow_the_numbers():
    t = E.table3(_manifests(PAPER_LIKE))
    assert list(t["row"]) == [r.key for r in E.ROWS]
    assert t.set_index("row").loc["7", "train"] == "49.00 ± 1.00" and t.set_index("row").loc["8", "test"] == "-"
    o = E.ordering(t, "train")
    assert o["agree"] == o["pairs"] == 28 and o["tau"] == 1.0 and not o["disagreements"]
    claims = E.claims_table(t)
    assert (claims["reproduced"] == "yes").all(), claims
    flipped = dict(PAPER_LIKE, **{"4": (0.40, 0.30)})                          # the proposal now loses
    t2 = E.table3(_manifests(flipped))
    c2 = E.claims_table(t2).set_index("claim")
    assert c2.loc["the proposal (④) beats the prior method (①) [test]", "reproduced"] == "no"
    assert E.ordering(t2, "test")["disagreements"]
    curve = pd.DataFrame({"iteration": [1, 2, 3], "step": [1, 2, 3], "train": [50, 55, 60], "test": [40, 45, 44]})
    c3 = E.claims_table(t, curve=curve, spread=2.0).set_index("claim")
    assert c3.loc["accuracy rises with the number of stage iterations (Fig. 3)", "reproduced"] == "yes"
    near = E.claims_table(E.table3(_manifests(dict(PAPER_LIKE, **{"3": (0.635, 0.605)}))), spread=2.0)
    assert "within the k-means spread" in near.set_index("claim").loc["iterating the stages helps (④ > ③) [train]",
                                                                       "reproduced"]
    text = " ".join(E.findings(t2, _manifests(flipped), curve))
    assert "④ 30.0% vs ① 50.0%" in text and "Kendall" in text
    readings = pd.DataFrame({"reading": ["corrected", "printed"], "kl": [120.0, 0.01], "nll": [900.0, 2500.0],
                             "acc": [0.4, 0.15]})
    assert "collapse" in " ".join(E.findings(t, _manifests(PAPER_LIKE), readings=readings))


# ----------------------------------------------------------------------------- tiny end-to-end run and release
TINY = dict(width=0.125, batch=8, epochs=2.0, subjects=4, test_subjects=3, frames=2, apex_frames=1, log_every=1,
            save_every=4, eval_runs=2, beta=1.0, gamma=10.0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("idvae")
    return idvae.train(Config(**TINY), d / "run", progress=False), d


def test_release_roundtrip_reproduces_its_metrics(tiny_run):
    res, d = tiny_run
    path = idvae.release(res, "idvae_tiny", "python -m helpers.idvae train ...", directory=d, runs=5)
    r = idvae.load_release("idvae_tiny", d)
    assert isinstance(r, rel.Release) and r.model is r.G and isinstance(r.config, Config)
    G, cfg, man = r.G, r.config, r.manifest
    assert man["data"]["name"].startswith("SynthFaces") and man["data"]["train_subjects"] == cfg.subjects
    assert man["dtype"] == "float16" and man["models"] == ["G"] and path.stat().st_size < 400_000
    assert man["metrics"]["weights_reading"].startswith("corrected")
    sets = idvae.load_sets(cfg, progress=False, recognition_only=True)
    got = E.recognition_metrics(G, sets, runs=E.TEST_RUNS)
    for k in ("acc_train", "acc_test"):
        assert got[k] == pytest.approx(man["metrics"][f"{k}_r{E.TEST_RUNS}"], abs=1e-9), k
    assert {"probe_subject_from_ze", "probe_expr_from_zi", "au_r2_ze"} <= set(man["metrics"])
    assert man["curve"] and man["curve"][0]["iteration"] == 1


def test_swaps_shapes_measures_and_figures(tiny_run):
    res, _ = tiny_run
    G = res.models["G"].cpu().eval()
    sets = idvae.load_sets(res.config, progress=False, recognition_only=True)
    rec = sets.recog_test
    a, b = swaps.swap_pairs(rec, 6, seed=1)
    assert (rec.subject[a] != rec.subject[b]).all() and (rec.expression[b] > 0).all()
    grid = swaps.swap_grid(G, rec.float_images(a[:3]), rec.float_images(b[:2]))
    assert grid.shape == (3 * 4, 3, 64, 64)
    line = swaps.interpolate(G, rec.float_images(a[:1])[0], rec.float_images(a[:1])[0],
                             rec.float_images(b[:1])[0], steps=4)
    assert line.shape == (4, 3, 64, 64)
    assert torch.allclose(line[0], swaps.swap(G, rec.float_images(a[:1]), rec.float_images(a[:1]))[0], atol=1e-5)
    torch.manual_seed(0)
    net = AnalysisNet().eval()                         # untrained instrument: checks the plumbing only
    m = E.measure_swaps(G, rec, net, n=6)
    assert m["n"] == 6 and 0 <= m["id_closer_to_identity_donor"] <= 1 and m["au_truth"].startswith("SynthFaces")
    imgs, table = E.measure_interpolation(G, rec, subject=0, steps=5, net=net)
    assert imgs.shape == (5, 3, 64, 64) and list(table["t"]) == [0, 0.25, 0.5, 0.75, 1.0] and "AU12" in table
    with pytest.raises(ValueError, match="no image of subject"):
        swaps.find(rec, 99, "happiness")
    import matplotlib.pyplot as plt
    fig = figures.swap_figure({"tiny": grid}, 4, title="swap")
    assert len(fig.axes) == 12
    fig2 = figures.interpolation_figure({"tiny": line})
    assert len(fig2.axes) == 4
    plt.close("all")



def test_diagnosis_tables_and_findings_follow_the_numbers(tiny_run):
    from helpers.idvae import diagnose
    res, _ = tiny_run
    G = res.models["G"].cpu().eval()
    rec = idvae.load_sets(res.config, progress=False, recognition_only=True).recog_test
    ft = diagnose.feature_table(G, rec, runs=2)
    assert list(ft.index) == ["pixels (16x16, 64 PCs)", "pixels - subject mean", "z_e", "z_e - subject mean",
                              "z_i", "exact AUs (ceiling)"]
    assert ft.loc["exact AUs (ceiling)", "probe: expression"] > ft.attrs["chance"]["expression"]
    torch.manual_seed(0)
    net = AnalysisNet().eval()                         # untrained instrument: checks the plumbing only
    rt = diagnose.reconstruction_table(G, rec, net)
    assert rt.loc["input", "MSE to input"] == 0 and rt.loc["Dec(z_i, z_e)", "MSE to input"] > 0
    imgs = diagnose.reconstructions(G, rec.images[:3])
    assert all(v.shape == (3, 3, 64, 64) for v in imgs.values())
    lines = diagnose.findings(ft, rt)
    assert f"{ft.loc['z_e', 'k-means acc']:.0%}" in lines[1]
    flat = rt.copy()                                   # a decoder that draws the inputs' AU spread: no verdict
    flat.loc["Dec(z_i, z_e)", "AU spread (read)"] = flat.loc["input", "AU spread (read)"]
    assert len(diagnose.findings(ft, flat)) == 3 and len(diagnose.findings(ft, flat.assign(**{
        "AU spread (read)": [1.0, 0.1, 0.1]}))) == 4
    with pytest.raises(ValueError, match="IdExpVAE"):
        diagnose.feature_table(torch.nn.Linear(2, 2), rec)

# ----------------------------------------------------------------------------- the full profile's folders
def _png(img: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def _put(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


CK = {"anger": 1, "disgust": 3, "happiness": 5, "sadness": 6, "surprise": 7}


def _fake_ckplus(root: Path, n_subjects=4, frames=5):
    """CK+'s layout with SynthFaces sequences (neutral -> apex) as frames."""
    for s in range(n_subjects):
        subj = f"S{100 + s:03d}"
        for q, (expr, code) in enumerate(CK.items()):
            for f in range(frames):
                t = 1.5 * f / (frames - 1)
                img = render(900 + s, expression_aus(expr, t), size=64, seed=s)["image"]
                stem = f"{subj}_{q + 1:03d}_{f + 1:08d}"
                _put(root / "cohn-kanade-images" / subj / f"{q + 1:03d}" / f"{stem}.png", _png(img))
            _put(root / "Emotion" / subj / f"{q + 1:03d}" / f"{stem}_emotion.txt", f"   {code:.7e}\n")


def _fake_mug(root: Path, n_subjects=3, frames=7):
    for s in range(n_subjects):
        for expr in ("happiness", "sadness", "neutral"):
            for f in range(frames):
                t = 1.5 * (1 - abs(2 * f / (frames - 1) - 1)) if expr != "neutral" else 0.0   # neutral-apex-neutral
                aus = expression_aus(expr if expr != "neutral" else "natural", t)
                img = render(950 + s, aus, size=64, seed=10 + s)["image"]
                _put(root / "subjects3" / f"{s:03d}" / expr / "take000" / f"img_{f:04d}.png", _png(img))


def test_full_profile_reads_what_the_data_scripts_write(tmp_path):
    ck, mug, out = tmp_path / "ck_out", tmp_path / "mug_out", tmp_path / "seed004"
    _fake_ckplus(tmp_path / "ck_src")
    _fake_mug(tmp_path / "mug_src")
    assert prepare.main(["ckplus", "--src", str(tmp_path / "ck_src"), "--out", str(ck), "--frames-per-sequence", "3",
                         "--recognition-frames", "2", "--test-subjects", "S103"]) == 0
    assert prepare.main(["mug", "--src", str(tmp_path / "mug_src"), "--out", str(mug), "--frames-per-sequence", "3",
                         "--recognition-frames", "3", "--test-subjects", "002"]) == 0
    for which in ("training", "recognition"):
        assert prepare.main(["combine", str(ck / which), str(mug / which), "--out", str(out / which)]) == 0
    cfg = Config.full(data=str(out / "training"), width=0.125, batch=8, epochs=1.0, eval_runs=2, precision="fp32",
                      log_every=1, workers=0)
    sets = idvae.load_sets(cfg, progress=False)
    assert len(sets.train) == (3 * 5 + 2 * 3) * 3                  # training subjects' frames only
    assert set(sets.recog_test.subject_names[k] for k in sets.recog_test.subject.tolist()) == {"ckplus:S103", "mug:002"}
    assert set(sets.recog_train.expression.tolist()) >= {1, 2, 3}  # happiness, sadness, surprise ids ...
    res = idvae.train(cfg, tmp_path / "run", progress=False)
    assert res.done and res.history["curve_acc_test"].notna().any()
    m = E.recognition_metrics(res.models["G"].cpu(), sets, runs=3)
    assert 0 <= m["acc_train"] <= 1 and 0 <= m["acc_test"] <= 1
    assert idvae.train(cfg, tmp_path / "run", progress=False).resumed_from == res.step   # resumable
    bad = Config.full(data=str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="manifest.csv"):
        idvae.load_sets(bad)


# ----------------------------------------------------------------------------- the committed releases
@pytest.mark.slow
@pytest.mark.parametrize("name", E.RELEASES)
def test_committed_release_reproduces_its_manifest(name):
    """Each committed release loads (sha256 checked) and re-measures its manifest's accuracies
    (the :data:`TEST_RUNS`-run setting the release command also stored)."""
    if not (rel.CHECKPOINT_DIR / f"{name}.json").exists():
        pytest.skip(f"release {name} not committed yet")
    r = idvae.load_release(name)
    G, cfg, man = r.G, r.config, r.manifest
    assert man["command"].startswith("python -m helpers.idvae train --profile demo")
    assert man["dtype"] == "float16" and man["bytes"] < 10_000_000
    got = E.recognition_metrics(G, idvae.load_sets(cfg, progress=False, recognition_only=True), runs=E.TEST_RUNS)
    for k, v in got.items():
        if not k.endswith("_std"):
            assert v == pytest.approx(man["metrics"][f"{k}_r{E.TEST_RUNS}"], abs=0.005), k
