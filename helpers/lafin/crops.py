"""The crops a detector gives: cached detector boxes of a face folder and the predictor's training crops built from them.

A predictor that reads real photos is given the crop a face detector's box makes
(:func:`helpers.lafin.pipeline.crop_box`), not the crop of the true landmarks it was trained on
before, so it trains on those crops (``Config.crops="detector"``):

* :func:`detector_boxes` runs MTCNN and dlib's HOG detector once on every face of a folder split,
  unmasked and behind a drawn face mask (:func:`draw_masks`), and caches the
  most confident box (and whether it is the face: :func:`helpers.lafin.pipeline.match_face`) in
  ``<folder>/detector_boxes_<split>.json`` (the folder is git-ignored, like the images);
* :func:`box_residuals` is the jitter model: each found box relative to the landmarks' box
  (side ratio and centre offsets), per detector and condition, from which a face whose detector
  missed draws a real detector's error;
* :class:`CropBank` holds the 256-px photos (unmasked and drawn-mask), the landmarks and the boxes;
  :func:`sample_crops` cuts one training batch: per face a condition (unmasked, drawn mask as
  drawn, half-face hole whitened, face-mask hole whitened: ``Config.crop_mix``) and a crop from its
  own detector box (MTCNN or dlib, through the crop calibration), from a residual of another face,
  or from the landmark rule with jitter (``Config.landmark_crop``: what a second pass gives).

Crops are cut with :func:`helpers.lafin.pipeline.crop_square` (OpenCV, the pipeline's own
resampling). Every random choice comes from the run's ``damage`` generator.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from helpers.core.files import atomic_write_bytes
from helpers.core.images import to_uint8
from helpers.core.runtime import bar
from helpers.lafin.data import folder_testset
from helpers.lafin.losses import affine_jitter, flip_batch
from helpers.lafin.model import PredictorConfig, damage_masks
from helpers.synthfaces.render import draw_face_mask
from helpers.lafin.pipeline import (CROP_SCALE, CROP_SHIFT, DEFAULT_CALIBRATION, crop_box, crop_square, detect_faces,
                                    detector_settings, landmark_box, landmark_crop, match_face, to_crop)

__all__ = ["BOX_DETECTORS", "CONDITIONS", "PHOTO_SIZE", "DRAWN_SEED", "detector_boxes",
           "box_residuals", "calibration", "CropBank", "sample_crops", "detector_batch", "detector_crops", "draw_masks"]

#: the detectors whose boxes a detector-crop predictor trains on
BOX_DETECTORS = ("mtcnn", "dlib_hog")
#: training conditions: the photo as it is, behind a drawn mask, and the two whitened holes of the landmark crops
CONDITIONS = ("unmasked", "drawn", "halfface", "facemask")
PHOTO_SIZE = 256
DRAWN_SEED = {"train": 1, "test": 0}        # the test split's drawn masks are real_measures' (seed 0)


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


def _photos(root, split: str):
    big = folder_testset(root, PHOTO_SIZE, split, seed=0)
    drawn, _ = draw_masks(big.images, big.landmarks, DRAWN_SEED.get(split, 0))
    return to_uint8(big.images), drawn, big.landmarks


def detector_boxes(root, split: str = "train", detectors=BOX_DETECTORS, refresh: bool = False,
                   progress: bool = True) -> dict:
    """``{"boxes": {detector: {"unmasked": [...], "drawn": [...]}}, ...}``, per face ``[x0, y0, x1, y1,
    score, is_face]`` of the most confident box or ``None`` (nothing found); cached in
    ``root/detector_boxes_<split>.json`` with each detector's settings (other settings: detected again)."""
    path = Path(root) / f"detector_boxes_{split}.json"
    cached = json.loads(path.read_text()) if path.exists() and not refresh else {}
    settings = dict(cached.get("settings", {}))
    boxes = dict(cached.get("boxes", {}))
    todo = [d for d in detectors if d not in boxes or settings.get(d) != detector_settings(d)]
    if todo:
        u8, drawn, lm = _photos(root, split)
        for det in todo:
            boxes[det] = {}
            for cond, imgs in (("unmasked", u8), ("drawn", drawn)):
                rows = []
                for img, l in bar(list(zip(imgs, lm.numpy())), desc=f"{det} boxes, {cond}", disable=not progress):
                    faces = detect_faces(img, det)
                    if not faces:
                        rows.append(None)
                        continue
                    (b, s) = faces[0]
                    rows.append([*map(float, b), float(s), match_face([b], l) == 0])
                boxes[det][cond] = rows
            settings[det] = detector_settings(det)
        cached = {"split": split, "n": len(u8), "photo_size": PHOTO_SIZE, "drawn_seed": DRAWN_SEED.get(split, 0),
                  "settings": settings, "boxes": boxes}
        atomic_write_bytes(path, json.dumps(cached).encode())
    return {**cached, "boxes": {d: cached["boxes"][d] for d in detectors}}


def box_residuals(boxes: dict, landmarks: torch.Tensor) -> dict:
    """Per detector and condition: (n, 3) array of the found faces' (box side / landmark-box side,
    centre dx, dy in landmark-box sides): the detectors' real scale and shift jitter."""
    lm = landmarks.numpy()
    out = {}
    for det, conds in boxes["boxes"].items():
        for cond, rows in conds.items():
            res = []
            for r, l in zip(rows, lm):
                if r is None or not r[5]:
                    continue
                lx, ly, m = landmark_box(l)
                side = max(r[2] - r[0], r[3] - r[1])
                res.append((side / m, ((r[0] + r[2]) / 2 - lx) / m, ((r[1] + r[3]) / 2 - ly) / m))
            out[(det, cond)] = np.array(res, np.float64).reshape(-1, 3)
    return out


def calibration(residuals: dict, det: str) -> dict:
    """The crop rule relative to detector ``det``'s box (median over its found faces, both conditions):
    the ``calibration`` of :func:`helpers.lafin.pipeline.crop_box`."""
    r = np.concatenate([residuals[(det, c)] for c in ("unmasked", "drawn") if (det, c) in residuals])
    if not len(r):
        raise ValueError(f"detector {det!r} found no face to calibrate on")
    side, dx, dy = np.median(r[:, 0]), np.median(r[:, 1]), np.median(r[:, 2])
    # landmark rule centre = box centre - (dx, dy) x m - shift x m, side = scale x m, with m = box side / side
    return {"side": float(CROP_SCALE / side), "dx": float(-dx / side), "dy": float((-dy - CROP_SHIFT) / side),
            "n": int(len(r))}


def _box_from_residual(lm: np.ndarray, res: np.ndarray) -> tuple[float, float, float, float]:
    lx, ly, m = landmark_box(lm)
    cx, cy = lx + res[1] * m, ly + res[2] * m
    s = res[0] * m
    return cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2


class CropBank(torch.utils.data.Dataset):
    """The photos of a folder split (uint8 256 px, unmasked and behind drawn masks), their landmarks
    and detector boxes; ``batch(idx)`` hands the indices on, :func:`sample_crops` cuts the crops."""

    def __init__(self, root, split: str = "train", detectors=BOX_DETECTORS, progress: bool = True):
        self.unmasked, self.drawn, self.landmarks = _photos(root, split)
        self.boxes = detector_boxes(root, split, detectors, progress=progress)
        self.detectors = tuple(detectors)
        self.residuals = box_residuals(self.boxes, self.landmarks)
        self.calibration = {d: (calibration(self.residuals, d) if self._found(d) else dict(DEFAULT_CALIBRATION))
                            for d in self.detectors}

    def _found(self, det: str) -> bool:
        return any(len(self.residuals.get((det, c), ())) for c in ("unmasked", "drawn"))

    def __len__(self) -> int:
        return len(self.unmasked)

    def batch(self, idx: torch.Tensor) -> dict:
        return {"index": torch.as_tensor(idx, dtype=torch.long)}


def sample_crops(bank: CropBank, idx: torch.Tensor, size: int, g: torch.Generator, mix=(0.35, 0.35, 0.15, 0.15),
                 landmark_crop_p: float = 0.25, jitter: float = 0.04) -> dict:
    """One training batch of detector-style crops: ``image`` (N, 3, size, size) in [-1, 1], ``landmarks``
    (N, 68, 2) in crop pixels, ``condition`` (N,) index into :data:`CONDITIONS` (holes are whitened by the step)."""
    n = len(idx)
    u = torch.rand(n, 8, generator=g).numpy()
    probs = np.cumsum(np.asarray(mix, np.float64) / np.sum(mix))
    imgs, lms, conds = [], [], []
    for k, i in enumerate(idx.tolist()):
        cond = int(np.searchsorted(probs, u[k, 0], side="right").clip(0, 3))
        photo = bank.drawn[i] if cond == 1 else bank.unmasked[i]
        lm = bank.landmarks[i].numpy()
        box_cond = "drawn" if cond == 1 else "unmasked"
        if u[k, 1] < landmark_crop_p:
            cx, cy, side = landmark_crop(lm)
            j = 2.0 * jitter
        else:
            det = bank.detectors[int(u[k, 2] * len(bank.detectors)) % len(bank.detectors)]
            row = bank.boxes["boxes"][det][box_cond][i]
            pool = bank.residuals[(det, box_cond)]
            if not len(pool):
                pool = bank.residuals[(det, "unmasked")]
            if row is not None and row[5] and u[k, 3] >= 0.3:
                box = row[:4]                                       # this face's own box
            elif len(pool):                                         # missed, or a residual of another face
                box = _box_from_residual(lm, pool[int(u[k, 4] * len(pool)) % len(pool)])
            else:                                                   # the detector found no face at all
                box = None
            if box is None:
                cx, cy, side = landmark_crop(lm)
                j = 2.0 * jitter
            else:
                cx, cy, side = crop_box(box, bank.calibration[det])
                j = jitter
        side *= 1 + j * (2 * u[k, 5] - 1)
        cx += j * side * (2 * u[k, 6] - 1)
        cy += j * side * (2 * u[k, 7] - 1)
        crop, M = crop_square(photo, cx, cy, side, size)
        imgs.append(torch.from_numpy(crop).permute(2, 0, 1))
        lms.append(torch.from_numpy(to_crop(lm, M)))
        conds.append(cond)
    images = torch.stack(imgs).float().div_(127.5).sub_(1.0)
    return {"image": images, "landmarks": torch.stack(lms), "condition": torch.tensor(conds)}


def detector_crops(bank: CropBank, det: str, cond: str, size: int, n: int | None = None,
                   calib: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first pass of the pipeline on the bank's faces with the cached boxes of ``det``
    (``cond`` "unmasked" or "drawn"): crops (N, 3, size, size) in [-1, 1] and the true landmarks
    in crop pixels. A face whose detector missed gets the centred square of the photo."""
    n = len(bank) if n is None else min(n, len(bank))
    calib = calib or bank.calibration[det]
    imgs, lms = [], []
    for i in range(n):
        photo = bank.drawn[i] if cond == "drawn" else bank.unmasked[i]
        row = bank.boxes["boxes"][det][cond][i]
        if row is None:
            h, w = photo.shape[:2]
            cx, cy, side = w / 2, h / 2, float(min(h, w))
        else:
            cx, cy, side = crop_box(row[:4], calib)
        crop, M = crop_square(photo, cx, cy, side, size)
        imgs.append(torch.from_numpy(crop).permute(2, 0, 1))
        lms.append(torch.from_numpy(to_crop(bank.landmarks[i].numpy(), M)))
    return torch.stack(imgs).float().div_(127.5).sub_(1.0), torch.stack(lms)


def detector_batch(cfg: PredictorConfig, bank: CropBank, idx: torch.Tensor, g: torch.Generator) -> dict:
    """A predictor step's batch of detector-style crops (:func:`sample_crops`), flipped (LaFIn's
    augmentation) and, with ``cfg.affine`` > 0, rotated, scaled and shifted, with the whitened holes of the crops whose condition is ``halfface`` /
    ``facemask`` (none for unmasked and drawn-mask photos): ``image``, ``landmarks``, ``masks``, ``smiling``."""
    b = sample_crops(bank, idx, cfg.size, g, cfg.crop_mix, cfg.landmark_crop)
    images, lm, cond = b["image"], b["landmarks"], b["condition"]
    if cfg.flip:
        images, lm = flip_batch(images, lm, torch.rand(len(images), generator=g) < 0.5)
    if cfg.affine > 0:                     # in-plane rotation, scale and shift beyond the detector's own error
        images, lm = affine_jitter(images, lm, cfg.affine, g)
    masks = torch.zeros(len(images), 1, cfg.size, cfg.size)
    for c, kind in ((2, "halfface"), (3, "facemask")):
        sel = cond == c
        if bool(sel.any()):
            masks[sel] = damage_masks(lm[sel], cfg.size, kind, g, cfg.margin_jitter)
    return {"image": images, "landmarks": lm, "masks": masks,
            "smiling": torch.full((len(images),), -1, dtype=torch.long)}
