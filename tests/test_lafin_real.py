"""helpers.lafin on real-photo-style folders, generated here (SynthFaces written in the on-disk format):
the config split, detector-crop training (cached boxes), the pipeline's passes and ``real`` on a test-only folder.

Nothing here reads ``../shared`` or ``data/``.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers import lafin as L
from helpers.core import runtime
from helpers.faces.data import FaceWriter
from helpers.lafin import crops as K
from helpers.synthfaces import SynthFaces


pytestmark = pytest.mark.usefixtures("one_thread")


def _folder(root, n_train=6, n_test=4):
    """SynthFaces at 256 px with their landmarks, as a folder with train and test rows (n_train may be 0)."""
    sf = SynthFaces(seed=3, size=256, mask_prob=0.0)
    with FaceWriter(root) as w:
        for i in range(n_train + n_test):
            f = sf.sample(i)
            w.add(f["image"], file=f"f{i}.png", split="train" if i < n_train else "test",
                  landmarks=np.asarray(f["landmarks"], np.float32))
    (root / "data.json").write_text(json.dumps({"name": "generated SynthFaces", "licence": "MIT (this repository)"}))
    return root


def test_config_groups_each_network_and_old_manifests_load():
    pred = set(L.PredictorConfig.__dataclass_fields__) - set(L.SharedConfig.__dataclass_fields__)
    inp = set(L.InpainterConfig.__dataclass_fields__) - set(L.SharedConfig.__dataclass_fields__)
    assert {"variant", "width_mult", "w_corner", "crops"} <= pred and {"width", "res_blocks", "w_style"} <= inp
    assert not pred & inp
    cfg = L.Config.demo(net="inpainter")
    assert cfg.inpainter_config().width == cfg.width and not hasattr(cfg.inpainter_config(), "variant")
    from helpers.core import release as rel
    for name in ("lafin_300w", "lafin_ours128", "lafin_inpaint128"):
        old = rel.read_manifest(name)["config"]
        assert L.Config.from_dict(old).to_dict() == {**L.Config.from_dict(old).to_dict(), **old}
    with pytest.raises(ValueError, match="crop_mix"):
        L.Config.quick(crop_mix=(1, 0))


def test_detector_crops_train_and_resume(tmp_path):
    root = _folder(tmp_path / "faces")
    boxes = K.detector_boxes(root, "train", progress=False)
    assert set(boxes["boxes"]) == set(K.BOX_DETECTORS) and len(boxes["boxes"]["mtcnn"]["drawn"]) == 6
    assert (root / "detector_boxes_train.json").exists()                    # cached: the next call reads it
    bank = K.CropBank(root, "train", progress=False)
    b = K.sample_crops(bank, torch.arange(6), 64, torch.Generator().manual_seed(0))
    assert b["image"].shape == (6, 3, 64, 64) and b["landmarks"].shape == (6, 68, 2)
    assert float(b["image"].min()) >= -1 and float(b["image"].max()) <= 1
    cfg = L.Config.quick(data=str(root), crops="detector", variant="baseline", size=64, batch=2, steps=4,
                         log_every=1, save_every=2, eval_every=2, eval_n=4)
    a = L.train(cfg, tmp_path / "a", progress=False)
    assert {"val_mtcnn_drawn_nme", "val_mtcnn_unmasked_nme"} <= set(a.history.columns)
    L.train(cfg, tmp_path / "b", max_steps=2, progress=False)
    r = L.train(cfg, tmp_path / "b", progress=False)
    for k, v in a.models["P"].state_dict().items():
        assert torch.equal(v, r.models["P"].state_dict()[k]), k
    with pytest.raises(ValueError, match="face folder"):
        L.Config.quick(crops="detector")
    path = L.release(a, "tiny_det", "python -m helpers.lafin train ...", directory=tmp_path)
    man = json.loads(path.with_suffix(".json").read_text())
    assert set(man["metrics"]["calibration"]) == set(K.BOX_DETECTORS) and man["metrics"]["real"]["pipeline_hole"] == "none"
    assert "real_pipeline_mtcnn_masked_nme" in man["metrics"] and "check_synthfaces" in man["metrics"]
    r = L.load_predictor("tiny_det", tmp_path)
    from helpers.lafin.evaluate import predictor_check_synthfaces
    assert predictor_check_synthfaces(r.model, r.config) == pytest.approx(man["metrics"]["check_synthfaces"], abs=2e-3)
    pipe = L.MaskedFacePipeline(r)
    assert pipe.hole == "none" and pipe.passes == 2 and pipe.calibration == man["metrics"]["calibration"]["mtcnn"]


def test_pipeline_passes_and_release_calibration():
    face = SynthFaces(seed=5, size=128, mask_prob=1.0).sample(0)
    photo = np.full((200, 260, 3), 180, np.uint8)
    photo[30:158, 60:188] = face["image"]
    P = L.LandmarkPredictor(64, width_mult=0.35, head_init="mean_shape")
    one = L.MaskedFacePipeline(P, None, detector="dlib_hog", hole="none", passes=1)
    two = L.MaskedFacePipeline(P, None, detector="dlib_hog", hole="none", passes=2)
    faces = L.detect_faces(photo, "dlib_hog")
    r1, r2 = one.passes_of(photo, faces), two.passes_of(photo, faces)
    assert len(r1) == 1 and len(r2) == 2 and np.allclose(r1[0][4], r2[0][4])
    assert two(photo).landmarks.shape == (68, 2)
    with pytest.raises(ValueError, match="passes"):
        L.MaskedFacePipeline(P, passes=3)


def test_real_command_on_a_test_only_folder(tmp_path, capsys):
    from helpers.lafin.__main__ import COMMANDS
    from helpers.core import cli
    root = _folder(tmp_path / "faces", n_train=0, n_test=3)
    out = tmp_path / "real.json"
    rc = cli.main(L.METHOD, ["real", "--data", str(root), "--release", "lafin_300w", "--json", str(out)],
                  module="helpers.lafin", commands=COMMANDS)
    assert rc == 0
    res = json.loads(out.read_text())["releases"]["lafin_300w"]
    assert res["n_test"] == 3 and "test split" in res["mean_shape_of"]
    assert {"unmasked", "drawn_mask", "drawn_mask_as_drawn"} <= set(res["predictor"])
    assert set(res["pipelines"]["mtcnn"]) == {"pass1", "pass2"}
    assert json.loads(out.read_text())["command"].startswith("python -m helpers.lafin real --data")
    t = L.claims.pipeline_table({"before": res})
    assert ("before", "mtcnn", "pass2") in t.index and "masked_found" in t.columns


def test_fit_diagnosis_by_part_flip_and_runs(tmp_path):
    from helpers.lafin.real import REGIONS, fit_diagnosis
    root = _folder(tmp_path / "faces", n_train=4, n_test=4)
    P = L.LandmarkPredictor(64, width_mult=0.35, head_init="mean_shape")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"step": 10, "loss": 1.0}\n{"step": 20, "val_mtcnn_unmasked_nme": 7.5}\n')
    r = fit_diagnosis(P, root, n=4, runs={"more": run})
    assert set(r["splits"]) == {"train", "test"} and r["splits"]["test"]["n"] == 4
    t = r["splits"]["test"]
    parts = [t[f"nme_{k}"] for k in REGIONS]
    # all points = the parts weighted by their number of points
    assert t["nme"] == pytest.approx(sum(p * len(REGIONS[k]) for p, k in zip(parts, REGIONS)) / 68, rel=1e-5)
    assert t["flip_tta_nme"] != t["nme"] and r["runs"]["more"]["curve"] == [{"step": 20, "val_mtcnn_unmasked_nme": 7.5}]
    with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
        fit_diagnosis(P, root, n=4, runs={"none": tmp_path})


def test_remeasure_real_rewrites_the_manifest_and_keeps_the_old_numbers(tmp_path):
    import shutil
    from helpers.lafin.train import remeasure_real
    root = _folder(tmp_path / "faces", n_train=0, n_test=3)
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copy(runtime.CHECKPOINT_DIR / f"lafin_300w_det{suffix}", ckpt)
    before = json.loads((ckpt / "lafin_300w_det.json").read_text())
    man = remeasure_real(L.load_predictor("lafin_300w_det", ckpt), root, "test command", ckpt)
    on_disk = json.loads((ckpt / "lafin_300w_det.json").read_text())
    assert on_disk["metrics"]["real"]["n_test"] == 3 and on_disk["sha256"] == before["sha256"]
    key = "real_pipeline_mtcnn_masked_nme"
    assert on_disk["metrics"]["before_remeasure"][key] == before["metrics"][key]
    assert on_disk["metrics"][key] != before["metrics"][key] and man["remeasured"]["command"] == "test command"
    with pytest.raises(ValueError, match="not a real-face predictor"):
        remeasure_real(L.load_predictor("lafin_baseline128"), root, "x", ckpt)
