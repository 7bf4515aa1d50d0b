"""Real faces: the predictor on held-out 300-W faces, masked and not, beside dlib; detectors on masked photos.

The release of a predictor trained on a face folder records these measures (``helpers.lafin.train.release``);
``python -m helpers.lafin real --data data/helen68 --release lafin_300w lafin_300w_det --json benchmarks/lafin_real.json``
re-measures a release (the data: ``python -m data_scripts.prepare_300w --src ../shared/data/helen68_train --out data/helen68
--crop none``; research-only, never committed) measures on the folder's test split:

* landmark NME (% of the outer-eye-corner distance) of the predictor on unmasked faces, behind
  the paper's half-face hole and behind a face-mask-shaped hole (both whitened, placed from the
  true landmarks, as in training); the mean training face as a floor every predictor must beat;
* dlib's HOG detector + 68-point predictor on the same faces with the hole whitened and with a
  *drawn* face mask (SynthFaces' surgical/cloth drawing, :func:`helpers.lafin.crops.draw_masks`): its failure rate
  (no face found) and its NME where it found one. dlib's predictor was trained on 300-W itself
  (these very images), so its NME here is optimistic;
* the found-rate of the three offline detectors (:mod:`helpers.lafin.pipeline`) on the unmasked and
  the drawn-mask faces, and their seconds per image;
* the whole pipeline (detector -> crop -> landmarks, :class:`helpers.lafin.pipeline.MaskedFacePipeline`)
  on the drawn-mask photos and on the unmasked ones, with MTCNN and with dlib's HOG detector,
  first pass and second pass (re-cropped from the first pass's landmarks): the share of faces
  the detector found (its most confident box is the face), the NME of every face (a missed face
  gets the centred square of the photo) and of the found ones, and the share within 8 %.

The folder needs a test split; a train split is optional (without one the mean-shape floor is
the test faces' own mean and the crop calibration, where the release has none, is measured on
the first test faces; the result says so).

The drawn masks are synthetic occlusions on real photos, not photos of people wearing masks.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from helpers.core.images import to_uint8
from helpers.core.release import Release
from helpers.faces import detect as dlib_detect
from helpers.faces.landmarks import MOUTH, inter_ocular
from helpers.lafin.data import TestFaces, folder_faces, folder_testset
from helpers.lafin.crops import draw_masks
from helpers.lafin.model import LandmarkPredictor, damage, nme, predict
from helpers.lafin.pipeline import (DETECTORS, MaskedFacePipeline, detect_faces, detector_available, landmark_box,
                                    match_face)

__all__ = ["predictor_nme", "dlib_nme", "detector_rates", "calibrate", "pipeline_nme",
           "real_measures", "has_split", "fit_diagnosis", "REGIONS", "TARGET_NME", "PIPELINE_DETECTORS"]

#: the aim for a masked face: inter-ocular NME at or below 8 %
TARGET_NME = 8.0
#: the detectors the whole pipeline is measured with
PIPELINE_DETECTORS = ("mtcnn", "dlib_hog")


def predictor_nme(P: LandmarkPredictor, images: torch.Tensor, masks: torch.Tensor | None, truth: torch.Tensor) -> dict:
    """Mean NME (all points, mouth) and the share <= 8 % of ``P`` on ``images`` with ``masks`` whitened."""
    x = images if masks is None else damage(images, masks)
    with torch.no_grad():
        pred = torch.cat([P(x[i:i + 64].float())["landmarks"] for i in range(0, len(x), 64)]) if not P.label_input \
            else None
    if pred is None:
        raise ValueError("the real-face measures need a predictor without label input (no Smiling label here)")
    e = 100 * nme(pred, truth)
    return {"nme": float(e.mean()), "nme_median": float(e.median()), "nme_mouth": float(100 * nme(pred, truth, MOUTH).mean()),
            "within_8": float((e <= TARGET_NME).float().mean())}


def dlib_nme(images_u8: np.ndarray, truth: torch.Tensor, upsample: int = 1) -> dict:
    """dlib HOG detection + 68-point predictor: failure rate and NME where a matching face was found."""
    errs, fail = [], 0
    for img, lm in zip(images_u8, truth.numpy()):
        dets = dlib_detect.detect(img, upsample)
        j = match_face([d.box for d in dets], lm)
        if j is None:
            fail += 1
            continue
        pred = dlib_detect.landmarks68(img, dets[j].box)
        errs.append(100 * dlib_detect.nme(pred, lm))
    e = np.array(errs)
    n = len(images_u8)
    return {"failure_rate": fail / n, "found": n - fail, "n": n,
            "nme_found": float(e.mean()) if len(e) else float("nan"),
            "within_8_of_all": float((e <= TARGET_NME).sum() / n)}


def detector_rates(unmasked: np.ndarray, masked: np.ndarray, truth: torch.Tensor, names=DETECTORS) -> pd.DataFrame:
    """Found-rate of each available detector on unmasked and drawn-mask faces, and seconds per image."""
    rows = {}
    for name in names:
        if not detector_available(name):
            rows[name] = {"available": False}
            continue
        row = {"available": True}
        for cond, imgs in (("unmasked", unmasked), ("masked", masked)):
            t = time.perf_counter()
            hits = sum(match_face([b for b, _ in detect_faces(img, name)], lm) is not None
                       for img, lm in zip(imgs, truth.numpy()))
            row[f"found_{cond}"] = hits / len(imgs)
            row[f"sec_per_image_{cond}"] = (time.perf_counter() - t) / len(imgs)
        rows[name] = row
    return pd.DataFrame(rows).T


def calibrate(images_u8: np.ndarray, truth: torch.Tensor, name: str, scale: float = 1.6, shift: float = 0.1) -> dict:
    """The crop rule of the training faces (side ``scale`` x landmarks' box, raised ``shift`` x side)
    relative to detector ``name``'s box: median side ratio and centre offsets over the found faces."""
    side, dx, dy = [], [], []
    for img, lm in zip(images_u8, truth.numpy()):
        boxes = [b for b, _ in detect_faces(img, name)]
        j = match_face(boxes, lm)
        if j is None:
            continue
        x0, y0, x1, y1 = boxes[j]
        s = max(x1 - x0, y1 - y0)
        lx, ly, m = landmark_box(lm)
        side.append(scale * m / s)
        dx.append((lx - (x0 + x1) / 2) / s)
        dy.append((ly - shift * m - (y0 + y1) / 2) / s)
    if not side:
        raise ValueError(f"detector {name!r} found none of the {len(images_u8)} calibration faces")
    return {"side": float(np.median(side)), "dx": float(np.median(dx)), "dy": float(np.median(dy)), "n": len(side)}


def _stats(e: np.ndarray) -> dict:
    return {"nme": float(e.mean()) if len(e) else float("nan"),
            "nme_median": float(np.median(e)) if len(e) else float("nan"),
            "within_8": float((e <= TARGET_NME).mean()) if len(e) else float("nan")}


def pipeline_nme(P, photos: np.ndarray, truth: torch.Tensor, detector: str, calibration: dict | None = None,
                 passes: int = 2, hole: str | None = None) -> dict:
    """The whole pipeline on photos (uint8): ``{"pass1": ..., "pass2": ...}`` each with the found-rate
    (the detector's most confident box is the face), the NME of every face (a miss gets the centred
    square), its median and share within 8 %, and the NME of the found faces only."""
    pipe = MaskedFacePipeline(P, None, detector, calibration, hole=hole, passes=passes)
    errs = [[] for _ in range(pipe.passes)]
    found = []
    for img, lm in zip(photos, truth):
        faces = detect_faces(img, detector)
        found.append(bool(faces) and match_face([faces[0][0]], lm.numpy()) == 0)
        for k, r in enumerate(pipe.passes_of(img, faces)):
            errs[k].append(100 * float(nme(torch.from_numpy(r[4])[None], lm[None])[0]))
    f = np.array(found)
    out = {}
    for k, e in enumerate(errs):
        e = np.array(e)
        out[f"pass{k + 1}"] = {"detector": detector, "found_rate": float(f.mean()), "landmarks_for": 1.0,
                               **_stats(e), "nme_found": _stats(e[f])["nme"], "within_8_found": _stats(e[f])["within_8"]}
    return out


def has_split(root, split: str) -> bool:
    """Does the face folder ``root`` have rows of ``split`` in its manifest?"""
    m = Path(root) / "manifest.csv"
    if not m.exists():
        return False
    df = pd.read_csv(m)
    return "split" in df.columns and bool((df["split"] == split).any())


def _mean_shape_nme(train_lm: torch.Tensor, truth: torch.Tensor) -> float:
    mean = train_lm.mean(0, keepdim=True).expand_as(truth)
    return float(100 * nme(mean, truth).mean())


def real_measures(P, root, n: int | None = None, detectors=DETECTORS, seed: int = 0,
                  n_detect: int = 64, progress: bool = True, calibration: dict | None = None,
                  pipeline_detectors=PIPELINE_DETECTORS, hole: str | None = None) -> dict:
    """Everything of the module docstring on the test split of the face folder ``root``.

    ``P``: a predictor or its :class:`helpers.core.release.Release` (whose ``metrics.calibration``
    is used when ``calibration`` is not given, and whose config says how the pipeline meets the
    unknown hole, ``hole``: see :class:`helpers.lafin.pipeline.MaskedFacePipeline`). The detector
    comparison uses the first ``n_detect`` test faces, a calibration measured here the first
    ``n_detect`` train faces (test faces without a train split); everything else all test faces.
    """
    if isinstance(P, Release):
        calibration = calibration or P.metrics.get("calibration") or None
        hole = hole or ("none" if getattr(P.config, "crops", "landmarks") == "detector" else "estimate")
        P = P.model if P.config is None or P.config.net == "predictor" else None
    if P is None:
        raise ValueError("real_measures needs a landmark predictor release")
    size = P.size
    say = print if progress else (lambda *a, **k: None)
    ts: TestFaces = folder_testset(root, size, "test", n=n, seed=seed)
    big = folder_testset(root, 256, "test", n=n, seed=seed)
    with_train = has_split(root, "train")
    floor_lm = folder_faces(root, "train", size)["landmarks"] if with_train else ts.landmarks
    out = {"n_test": len(ts), "data": str(root), "pipeline_hole": hole or "estimate", "mean_shape_nme": _mean_shape_nme(floor_lm, ts.landmarks),
           "mean_shape_of": "train split" if with_train else "test split (the folder has no train split)",
           "predictor": {}, "dlib": {}}
    drawn_u8, drawn_masks = draw_masks(big.images, big.landmarks, seed)
    drawn_small = torch.nn.functional.interpolate(drawn_masks, size=(size, size), mode="area").gt(0).float()
    drawn_as_is = torch.nn.functional.interpolate(torch.from_numpy(drawn_u8).permute(0, 3, 1, 2).float(),
                                                  size=(size, size), mode="area").div(127.5).sub(1.0)
    for kind, imgs, m in (("unmasked", ts.images, None), ("halfface", ts.images, ts.masks["halfface"]),
                          ("facemask", ts.images, ts.masks["facemask"]), ("drawn_mask", ts.images, drawn_small),
                          ("drawn_mask_as_drawn", drawn_as_is, None)):
        out["predictor"][kind] = predictor_nme(P, imgs, m, ts.landmarks)
    say("predictor:", {k: round(v["nme"], 2) for k, v in out["predictor"].items()})
    if dlib_detect.available():
        u8 = to_uint8(big.images)
        for kind, imgs in (("unmasked", u8), ("halfface", to_uint8(damage(big.images, big.masks["halfface"]))),
                           ("facemask", to_uint8(damage(big.images, big.masks["facemask"]))), ("drawn_mask", drawn_u8)):
            out["dlib"][kind] = dlib_nme(imgs, big.landmarks)
        say("dlib:", {k: (round(v["failure_rate"], 3), round(v["nme_found"], 2)) for k, v in out["dlib"].items()})
        k = min(n_detect, len(u8))
        det = detector_rates(u8[:k], drawn_u8[:k], big.landmarks[:k], detectors)
        out["detectors"] = {name: {c: (bool(v) if c == "available" else float(v)) for c, v in row.dropna().items()}
                            for name, row in det.iterrows()}
        out["n_detect"] = k
        say(det)
        avail = [d for d in pipeline_detectors if detector_available(d)]
        if avail:
            if calibration is None:
                cal_set = folder_testset(root, 256, "train" if with_train else "test", n=n_detect, seed=seed)
                calibration = {d: calibrate(to_uint8(cal_set.images), cal_set.landmarks, d) for d in avail}
                out["calibrated_on"] = f"the first {n_detect} {'train' if with_train else 'test'} faces"
            else:
                out["calibrated_on"] = "the release's calibration (its training faces)"
            out["calibration"] = {d: calibration[d] for d in avail if d in calibration}
            out["pipelines"] = {}
            for d in avail:
                out["pipelines"][d] = {}
                for cond, photos in (("masked", drawn_u8), ("unmasked", u8)):
                    r = pipeline_nme(P, photos, big.landmarks, d, calibration.get(d), hole=hole)
                    for pas, v in r.items():
                        out["pipelines"][d].setdefault(pas, {})[cond] = v
                say(f"pipeline {d}:", {p: {c: (round(v["found_rate"], 3), round(v["nme"], 2), round(v["within_8"], 3))
                                          for c, v in x.items()} for p, x in out["pipelines"][d].items()})
            best = "mtcnn" if "mtcnn" in avail else avail[0]
            last = max(out["pipelines"][best])
            out["best_detector"] = best
            out["pipeline"] = dict(out["pipelines"][best][last]["masked"], passes=int(last[-1]))
    return out


#: the 68 points by face part (iBUG numbering)
REGIONS = {"jaw": range(0, 17), "brows": range(17, 27), "nose": range(27, 36), "eyes": range(36, 48),
           "mouth": range(48, 68)}


def fit_diagnosis(P, root, n: int | None = 256, runs=None) -> dict:
    """Why a real-face predictor's unmasked error stops where it does, on the folder ``root``.

    On the crops of the true landmarks, unmasked, for the train and the test split (first ``n``
    faces each): the NME of each face part (:data:`REGIONS`) and of all points, and the NME when
    the prediction is averaged with the mirrored face's (flip test-time augmentation). A train error
    close to the test error says the predictor underfits (capacity, input size, head), a much lower
    one that it memorises. ``runs``: ``{name: run folder}`` of continued trainings, whose validation
    curves (the ``val_*`` entries of ``metrics.jsonl``) are copied in, so a reader sees whether more
    steps move the error.
    """
    if isinstance(P, Release):
        P = P.model
    out = {"data": str(root), "n": n, "splits": {}, "runs": {}}
    for split in ("train", "test"):
        if not has_split(root, split):
            continue
        ts = folder_testset(root, P.size, split, n=n, seed=0)
        plain, flipped = predict(P, ts.images)["landmarks"], predict(P, ts.images, mirror=True)["landmarks"]
        iod = inter_ocular(ts.landmarks)[:, None]
        d = 100 * (plain - ts.landmarks).norm(dim=-1) / iod
        out["splits"][split] = {"n": len(ts), "nme": float(d.mean()),
                                "flip_tta_nme": float(100 * nme(flipped, ts.landmarks).mean()),
                                **{f"nme_{k}": float(d[:, list(v)].mean()) for k, v in REGIONS.items()}}
    for name, folder in (runs or {}).items():
        path = Path(folder) / "metrics.jsonl"
        if not path.exists():
            raise FileNotFoundError(f"no metrics.jsonl in run folder {folder} (for {name!r})")
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        cfg = json.loads((Path(folder) / "config.json").read_text()) if (Path(folder) / "config.json").exists() else {}
        out["runs"][name] = {"config": {k: cfg.get(k) for k in ("init_release", "size", "steps", "lr", "affine", "crops", "lm_loss", "head", "crop_mix")},
                             "curve": [{k: v for k, v in r.items() if k == "step" or k.startswith("val_")}
                                       for r in rows if any(k.startswith("val_") for k in r)]}
    return out
