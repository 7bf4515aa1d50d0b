"""The committed seed-000 releases load (sha256 checked) and reproduce their manifests' check numbers."""
from __future__ import annotations

import pytest
import torch

from helpers import lafin as L
from helpers.core import release as rel, runtime
from helpers.lafin.evaluate import CHECK_N, eval_testset, predictor_check_synthfaces


def _manifest(name):
    path = runtime.CHECKPOINT_DIR / f"{name}.json"
    assert path.exists(), f"release {name} is missing: run the command of notebook 03's section 5"
    return rel.read_manifest(name)


@pytest.mark.parametrize("key", ["baseline", "ours"])
def test_synthfaces_predictors_reproduce_their_check(key):
    name = L.DEMO_RELEASES[key]
    man = _manifest(name)
    assert man["dtype"] == "float16" and man["data"]["name"].startswith("SynthFaces")
    torch.set_num_threads(2)
    r = L.load_predictor(name)
    P = r.model
    assert P.label_input == (key == "ours")
    ts = eval_testset(r.config, CHECK_N)
    got = L.predictor_measures(P, ts, ("halfface",), r.config.lips)
    want = man["metrics"]["check"]
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=2e-3), k


def test_inpainter_reproduces_its_check():
    man = _manifest(L.DEMO_RELEASES["inpainter"])
    r = L.load_inpainter(L.DEMO_RELEASES["inpainter"])
    G = r.model
    ts = eval_testset(r.config, CHECK_N)
    m = ts.masks["halfface"]
    done = L.inpaint(G, ts.images * (1 - m), m, ts.landmarks)
    from helpers.core import metrics
    p = metrics.hole_psnr(done, ts.images, m)
    assert float(p[torch.isfinite(p)].mean()) == pytest.approx(man["metrics"]["check"]["halfface_psnr"], abs=2e-2)
    assert float(metrics.hole_l1(done, ts.images, m).mean()) == pytest.approx(man["metrics"]["check"]["halfface_l1"], abs=1e-3)


def test_real_face_release_loads_and_says_what_it_is():
    name = L.DEMO_RELEASES["real"]
    man = _manifest(name)
    assert "research" in man["data"]["licence"] and not man["config"]["data"] == "synthfaces"
    P = L.load_predictor(name).model                                 # sha256 checked inside
    assert not P.label_input                                         # no Smiling label on 300-W: the baseline
    real = man["metrics"]["real"]
    assert {"unmasked", "halfface", "facemask"} <= set(real["predictor"])
    out = P(torch.zeros(1, 3, P.size, P.size))["landmarks"]
    assert out.shape == (1, 68, 2) and torch.isfinite(out).all()




@pytest.mark.parametrize("key", ["real", "real_landmark_crops"])
def test_real_face_releases_say_what_they_are(key):
    name = L.DEMO_RELEASES[key]
    man = _manifest(name)
    assert man["dtype"] == "float16" and "research" in man["data"]["licence"]
    assert man["bytes"] <= 10_000_000
    r = L.load_predictor(name)
    assert not r.model.label_input and r.config.data != "synthfaces"
    assert {"unmasked", "halfface", "facemask", "drawn_mask"} <= set(man["metrics"]["real"]["predictor"])


def test_detector_crop_release_reproduces_its_check():
    """The real-face predictor's check needs no data folder: the SynthFaces test faces (check_synthfaces)."""
    name = L.DEMO_RELEASES["real"]
    man = _manifest(name)
    r = L.load_predictor(name)
    assert r.config.crops == "detector" and man["command"].startswith("python -m helpers.lafin train") \
        and "--release " + name in man["command"]
    got = predictor_check_synthfaces(r.model, r.config)
    for k, v in man["metrics"]["check_synthfaces"].items():
        assert got[k] == pytest.approx(v, abs=2e-3), k
    m = man["metrics"]
    pipe = m["real"]["pipelines"]["mtcnn"]
    assert {"pass1", "pass2"} <= set(pipe) and {"masked", "unmasked"} <= set(pipe["pass2"])
    assert m["real_pipeline_mtcnn_masked_nme"] == pytest.approx(pipe["pass2"]["masked"]["nme"], abs=1e-3)
    assert set(m["calibration"]) >= {"mtcnn", "dlib_hog"}
