"""Real faces: the predictor on held-out 300-W faces, masked and not, beside dlib; detectors on masked photos.

The release of a predictor trained on a face folder records these measures (``helpers.lafin.train.release``);
``python -m helpers.lafin real --data data/helen68 --release lafin_300w --json benchmarks/lafin_real.json``
re-measures a release (the data: ``python -m data_scripts.prepare_300w --src ../shared/data/helen68_train --out data/helen68
--crop none``; research-only, never committed) measures on the folder's test split:

* landmark NME (% of the outer-eye-corner distance) of the predictor on unmasked faces, behind
  the paper's half-face hole and behind a face-mask-shaped hole (both whitened, placed from the
  true landmarks, as in training); the mean training face as a floor every predictor must beat;
* dlib's HOG detector + 68-point predictor on the same faces with the hole whitened and with a
  *drawn* face mask (SynthFaces' surgical/cloth drawing, :func:`draw_masks`): its failure rate
  (no face found) and its NME where it found one. dlib's predictor was trained on 300-W itself
  (these very images), so its NME here is optimistic;
* the found-rate of the three offline detectors (:mod:`helpers.lafin.pipeline`) on the unmasked and
  the drawn-mask faces, and their seconds per image;
* the whole pipeline (detector -> crop -> landmarks with an estimated hole) on the drawn-mask
  faces: the share of faces that get landmarks, their NME, and the share within 8 %.

The drawn masks are synthetic occlusions on real photos, not photos of people wearing masks.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from helpers.core.images import to_uint8
from helpers.faces import detect as dlib_detect
from helpers.faces.landmarks import MOUTH
from helpers.lafin.data import TestFaces, folder_faces, folder_testset
from helpers.lafin.measures import nme
from helpers.lafin.model import LandmarkPredictor, damage
from helpers.lafin.pipeline import (DETECTORS, MaskedFacePipeline, detect_faces, detector_available, match_face)
from helpers.synthfaces.render import draw_face_mask

__all__ = ["draw_masks", "predictor_nme", "dlib_nme", "detector_rates", "calibrate", "pipeline_nme",
           "real_measures", "TARGET_NME"]

#: the aim for a masked face: inter-ocular NME at or below 8 %
TARGET_NME = 8.0


def draw_masks(images: torch.Tensor, landmarks: torch.Tensor, seed: int = 0) -> tuple[np.ndarray, torch.Tensor]:
    """Real faces behind drawn face masks: (uint8 (N, H, W, 3), masks (N, 1, H, W)).

    Each face gets SynthFaces' surgical or cloth mask (alternating, colour and pattern from
    ``seed``) placed from its true landmarks, with flat shading.
    """
    u8 = to_uint8(images)
    rng = np.random.default_rng(seed)
    out, masks = [], []
    for i in range(len(u8)):
        style = ("surgical", "cloth")[i % 2]
        shade = np.ones(u8.shape[1:3], np.float32)
        img, m = draw_face_mask(u8[i], landmarks[i].numpy(), style, int(rng.integers(8)), int(rng.integers(3)), shade)
        out.append(img)
        masks.append(torch.from_numpy(m.astype(np.float32))[None])
    return np.stack(out), torch.stack(masks)


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
        (lx0, ly0), (lx1, ly1) = lm.min(0), lm.max(0)
        m = max(lx1 - lx0, ly1 - ly0)
        side.append(scale * m / s)
        dx.append(((lx0 + lx1) / 2 - (x0 + x1) / 2) / s)
        dy.append(((ly0 + ly1) / 2 - shift * m - (y0 + y1) / 2) / s)
    if not side:
        raise ValueError(f"detector {name!r} found none of the {len(images_u8)} calibration faces")
    return {"side": float(np.median(side)), "dx": float(np.median(dx)), "dy": float(np.median(dy)), "n": len(side)}


def pipeline_nme(P: LandmarkPredictor, photos: np.ndarray, truth: torch.Tensor, detector: str,
                 calibration: dict) -> dict:
    """The whole pipeline on photos (uint8): found-rate, NME of every face (fallback crops included)."""
    pipe = MaskedFacePipeline(P, None, detector, calibration)
    errs, found = [], 0
    for img, lm in zip(photos, truth):
        r = pipe(img)
        found += int(r.found)
        errs.append(100 * float(nme(torch.from_numpy(r.landmarks)[None], lm[None])[0]))
    e = np.array(errs)
    return {"detector": detector, "found_rate": found / len(photos), "landmarks_for": 1.0, "nme": float(e.mean()),
            "nme_median": float(np.median(e)), "within_8": float((e <= TARGET_NME).mean())}


def _mean_shape_nme(train_lm: torch.Tensor, truth: torch.Tensor) -> float:
    mean = train_lm.mean(0, keepdim=True).expand_as(truth)
    return float(100 * nme(mean, truth).mean())


def real_measures(P: LandmarkPredictor, root, n: int | None = None, detectors=DETECTORS, seed: int = 0,
                  n_detect: int = 64, progress: bool = True) -> dict:
    """Everything of the module docstring on the test split of the face folder ``root``.

    The detector comparison and the crop calibration use the first ``n_detect`` test / train
    faces (dlib's CNN takes about a second per image on a CPU); everything else all test faces.
    """
    size = P.size
    say = print if progress else (lambda *a, **k: None)
    ts: TestFaces = folder_testset(root, size, "test", n=n, seed=seed)
    big = folder_testset(root, 256, "test", n=n, seed=seed)
    train_lm = folder_faces(root, "train", size)["landmarks"]
    out = {"n_test": len(ts), "data": str(root), "mean_shape_nme": _mean_shape_nme(train_lm, ts.landmarks),
           "predictor": {}, "dlib": {}}
    drawn_u8, drawn_masks = draw_masks(big.images, big.landmarks, seed)
    drawn_small = torch.nn.functional.interpolate(drawn_masks, size=(size, size), mode="area").gt(0).float()
    for kind, m in (("unmasked", None), ("halfface", ts.masks["halfface"]), ("facemask", ts.masks["facemask"]),
                    ("drawn_mask", drawn_small)):
        out["predictor"][kind] = predictor_nme(P, ts.images, m, ts.landmarks)
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
        avail = [d for d in detectors if out["detectors"].get(d, {}).get("available")]
        if avail:
            best = max(avail, key=lambda d: (out["detectors"][d]["found_masked"], out["detectors"][d]["found_unmasked"]))
            train_big = folder_testset(root, 256, "train", n=n_detect, seed=seed)
            calib = calibrate(to_uint8(train_big.images), train_big.landmarks, best)
            out["best_detector"], out["calibration"] = best, {best: calib}
            out["pipeline"] = pipeline_nme(P, drawn_u8, big.landmarks, best, calib)
            say("pipeline:", out["pipeline"])
    return out
