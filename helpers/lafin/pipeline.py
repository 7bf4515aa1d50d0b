"""A masked face in a photo -> face box -> landmarks -> inpainting: offline detectors and the pipeline.

Three detectors work offline here: dlib's HOG + linear SVM (``helpers.faces.detect``), dlib's CNN
(MMOD) detector whose weights ship in ``face-recognition-models``, and MTCNN (Zhang et al. 2016)
whose weights ship in the ``facenet-pytorch`` wheel (``pip install --no-deps facenet-pytorch``;
here with faces from 40 px, ``min_face_size=40``, which halves its image pyramid, and the low
stage thresholds :data:`MTCNN_THRESHOLDS`: with its defaults (0.6, 0.7, 0.7) it misses a quarter of
the faces behind a drawn mask, with (0.05, 0.1, 0.1) it finds 97.5 % of them (every other
300-W training photo; the most confident box is still the face on these photos)).
:func:`detect_faces` runs any of them; notebook 03 §9 compares their found-rates on real faces
behind drawn face masks.

:class:`MaskedFacePipeline` is what a user calls on a photo::

    pipe = MaskedFacePipeline(load_predictor("lafin_300w"), load_inpainter("lafin_inpaint128"))
    result = pipe(photo_uint8)            # result.landmarks (68, 2) in photo pixels, result.output

1. the detector finds the face (the most confident box; none: the centred square of the photo);
2. the box is turned into the crop the predictor was trained on (the 300-W rule: side 1.6 x the
   landmarks' box, centred, raised by 0.1 x its side) with a calibration measured on training
   faces (``calibration``: side and centre offset relative to the detector's box; a release
   carries its own in ``metrics.calibration``);
3. the predictor reads the crop. A predictor trained on detector crops of masked and unmasked
   photos (``crops="detector"``, :mod:`helpers.lafin.crops`) reads it as it is (``hole="none"``).
   One trained only behind whitened holes (``hole="estimate"``) needs a hole: it starts as the
   lower half of the *mean* face placed in the crop, is whitened, and is re-drawn from the
   predicted landmarks (:func:`helpers.faces.masks.half_face_mask`, a larger margin) ``iterations`` times.
   With ``mirror=True`` (default) every reading is averaged with the reading of the mirrored crop
   (:func:`helpers.lafin.model.predict`);
4. with ``passes=2`` the crop is cut again by the landmark rule from the first pass's landmarks
   and the predictor reads that crop (the crop of its training faces);
5. the inpainter completes the hole guided by the final landmarks; the completed crop is pasted
   back into the photo (only the hole's pixels change). ``cover="union"`` (default) completes the
   half face below the landmarks joined with a face mask's shape placed from them and dilated by
   ``dilate`` px (:func:`helpers.faces.masks.face_mask_shape`): a real mask reaches up to just below
   the eyes, above the half face's top edge (mid-nose), and ``cover="halfface"`` leaves that strip
   of mask in the picture.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from helpers.core.images import to_tensor, to_uint8
from helpers.core.release import Release
from helpers.faces import detect as dlib_detect
from helpers.faces.landmarks import mean_shape
from helpers.faces.masks import face_mask_shape, half_face_mask
from helpers.lafin.inpainter import InpaintGenerator, inpaint
from helpers.lafin.model import LandmarkPredictor, damage, predict

__all__ = ["DETECTORS", "MTCNN_THRESHOLDS", "HOLES", "COVERS", "detect_faces", "detector_settings", "landmark_crop", "detector_available", "match_face", "crop_box", "crop_square",
           "MaskedFacePipeline", "PipelineResult", "DEFAULT_CALIBRATION"]

DETECTORS = ("dlib_hog", "dlib_cnn", "mtcnn")
#: MTCNN's P-, R- and O-net thresholds (facenet-pytorch's defaults: 0.6, 0.7, 0.7)
MTCNN_THRESHOLDS = (0.05, 0.1, 0.1)
#: crop side and centre offset (in units of the detector box side) when no calibration is given
DEFAULT_CALIBRATION = {"side": 1.9, "dx": 0.0, "dy": -0.05}
#: how the predictor meets the unknown hole: read the crop as it is, or whiten an estimated half face
HOLES = ("none", "estimate")
#: what the inpainter completes on a photo (step 5 of the module docstring)
COVERS = ("union", "halfface")
CROP_SCALE, CROP_SHIFT = 1.6, 0.1           # the landmark rule of the 300-W crops (data_scripts.prepare_300w)


@functools.lru_cache(maxsize=1)
def _dlib_cnn():
    import dlib
    import face_recognition_models

    return dlib.cnn_face_detection_model_v1(face_recognition_models.cnn_face_detector_model_location())


@functools.lru_cache(maxsize=1)
def _mtcnn():
    from facenet_pytorch import MTCNN

    return MTCNN(keep_all=True, device="cpu", post_process=False, min_face_size=40,
                 thresholds=list(MTCNN_THRESHOLDS))


def detector_settings(name: str) -> dict:
    """What decides detector ``name``'s boxes here (cached boxes are reused only with the same settings)."""
    if name == "mtcnn":
        return {"thresholds": list(MTCNN_THRESHOLDS), "min_face_size": 40}
    return {"upsample": 1 if name == "dlib_hog" else 0}


def detector_available(name: str) -> bool:
    """Can detector ``name`` run here (its package and weights installed)?"""
    try:
        if name == "dlib_hog":
            return dlib_detect.available()
        if name == "dlib_cnn":
            _dlib_cnn()
            return True
        if name == "mtcnn":
            _mtcnn()
            return True
    except Exception:  # noqa: BLE001 - ImportError, missing weights, ...
        return False
    raise ValueError(f"detector must be one of {DETECTORS}, got {name!r}")


def detect_faces(image: np.ndarray, name: str = "mtcnn", upsample: int | None = None) -> list[tuple[tuple[float, float, float, float], float]]:
    """Faces in a uint8 RGB photo: ``[((x0, y0, x1, y1), score), ...]``, most confident first.

    ``upsample`` (dlib only; default 1 for HOG, which finds faces from ~40 px then, 0 for the CNN,
    ~80 px, whose cost grows 4x per upsampling).
    """
    img = dlib_detect.check_image(image)
    if name == "dlib_hog":
        return [(tuple(float(v) for v in d.box), d.score) for d in dlib_detect.detect(img, 1 if upsample is None else upsample)]
    if name == "dlib_cnn":
        out = [((float(d.rect.left()), float(d.rect.top()), float(d.rect.right() + 1), float(d.rect.bottom() + 1)),
                float(d.confidence)) for d in _dlib_cnn()(img, 0 if upsample is None else upsample)]
        return sorted(out, key=lambda t: -t[1])
    if name == "mtcnn":
        with torch.no_grad():
            boxes, probs = _mtcnn().detect(img)
        if boxes is None:
            return []
        out = [(tuple(float(v) for v in b), float(p)) for b, p in zip(boxes, probs)]
        return sorted(out, key=lambda t: -t[1])
    raise ValueError(f"detector must be one of {DETECTORS}, got {name!r}")


def match_face(boxes, landmarks: np.ndarray, min_ratio: float = 0.4, max_ratio: float = 2.5) -> int | None:
    """Index of the box that found the face with these ``landmarks`` (None: missed).

    A box counts when its centre lies inside the landmarks' bounding box and its side is between
    ``min_ratio`` and ``max_ratio`` times the larger side of that box; the nearest centre wins.
    """
    lm = np.asarray(landmarks, np.float64)
    (x0, y0), (x1, y1) = lm.min(0), lm.max(0)
    lx, ly, m = landmark_box(lm)
    best, dist = None, np.inf
    for i, b in enumerate(boxes):
        bx0, by0, bx1, by1 = b[0] if isinstance(b[0], (tuple, list)) else b
        cx, cy, side = (bx0 + bx1) / 2, (by0 + by1) / 2, max(bx1 - bx0, by1 - by0)
        if x0 <= cx <= x1 and y0 <= cy <= y1 and min_ratio * m <= side <= max_ratio * m:
            d = np.hypot(cx - lx, cy - ly)
            if d < dist:
                best, dist = i, d
    return best


def crop_box(box, calibration=None) -> tuple[float, float, float]:
    """The predictor's square crop for a detector box: (centre x, centre y, side) from ``calibration``."""
    c = dict(DEFAULT_CALIBRATION, **(calibration or {}))
    x0, y0, x1, y1 = box
    s = max(x1 - x0, y1 - y0)
    return (x0 + x1) / 2 + c["dx"] * s, (y0 + y1) / 2 + c["dy"] * s, c["side"] * s


def landmark_box(lm) -> tuple[float, float, float]:
    """(centre x, centre y, larger side) of the landmarks' bounding box: the frame every crop rule
    and every detector box is measured in."""
    lm = np.asarray(lm, np.float64)
    (x0, y0), (x1, y1) = lm.min(0), lm.max(0)
    return (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)


def landmark_crop(lm, scale: float = CROP_SCALE, shift: float = CROP_SHIFT) -> tuple[float, float, float]:
    """(centre x, centre y, side) of the landmark rule: side ``scale`` x the landmarks' box, raised ``shift`` x its side."""
    cx, cy, m = landmark_box(lm)
    return float(cx), float(cy - shift * m), float(scale * m)


def crop_square(image: np.ndarray, cx: float, cy: float, side: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The square (centre, side) of ``image`` resized to ``size`` (black outside) and its 2x3 affine
    from photo to crop pixels (pixel-centre convention)."""
    s = size / side
    left, top = cx - side / 2, cy - side / 2
    M = np.array([[s, 0, -left * s + 0.5 * s - 0.5], [0, s, -top * s + 0.5 * s - 0.5]], np.float64)
    crop = cv2.warpAffine(np.ascontiguousarray(image), M, (size, size),
                          flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return crop, M


def to_crop(points: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Photo pixels (..., 2) -> crop pixels through :func:`crop_square`'s affine ``M`` (float32)."""
    return (np.asarray(points, np.float64) @ M[:, :2].T + M[:, 2]).astype(np.float32)


def from_crop(points: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Crop pixels (..., 2) -> photo pixels: the inverse of :func:`to_crop` (float32)."""
    return ((np.asarray(points, np.float64) - M[:, 2]) @ np.linalg.inv(M[:, :2]).T).astype(np.float32)


@dataclass
class PipelineResult:
    """What :class:`MaskedFacePipeline` returns for one photo."""
    found: bool                   # did the detector find a face (else the centred square was used)
    box: tuple | None             # detector box (x0, y0, x1, y1) in photo pixels
    crop: torch.Tensor            # (3, S, S) the face crop in [-1, 1]
    hole: torch.Tensor            # (1, S, S) the estimated hole (1 = completed)
    crop_landmarks: torch.Tensor  # (68, 2) in crop pixels
    landmarks: np.ndarray         # (68, 2) in photo pixels
    inpainted: torch.Tensor       # (3, S, S) the completed crop
    output: np.ndarray            # the photo with the hole completed (uint8 H, W, 3)


class MaskedFacePipeline:
    """Photo (uint8 H, W, 3 RGB) -> :class:`PipelineResult` (see the module docstring).

    ``predictor`` / ``inpainter``: networks or :class:`helpers.core.release.Release` objects (a
    predictor release brings its ``calibration`` and, from its config, ``hole`` and ``passes``).
    """

    def __init__(self, predictor, inpainter=None, detector: str = "mtcnn", calibration: dict | None = None,
                 iterations: int = 2, margin: float = 0.12, smiling: int = 0, hole: str | None = None,
                 passes: int | None = None, cover: str = "union", dilate: int = 3, mirror: bool = True):
        if detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        if cover not in COVERS:
            raise ValueError(f"cover must be one of {COVERS}, got {cover!r}")
        if dilate < 0:
            raise ValueError(f"dilate must be >= 0 px, got {dilate}")
        cfg, metrics = None, {}
        if isinstance(predictor, Release):
            cfg, metrics, predictor = predictor.config, predictor.metrics, predictor.model
        if isinstance(inpainter, Release):
            inpainter = inpainter.model
        detector_crops = getattr(cfg, "crops", "landmarks") == "detector"
        hole = hole or ("none" if detector_crops else "estimate")
        if hole not in HOLES:
            raise ValueError(f"hole must be one of {HOLES}, got {hole!r}")
        passes = passes if passes is not None else (2 if detector_crops else 1)
        if passes not in (1, 2):
            raise ValueError(f"passes must be 1 or 2, got {passes}")
        self.P, self.G, self.detector = predictor, inpainter, detector
        self.calibration = dict(calibration or metrics.get("calibration", {}).get(detector, DEFAULT_CALIBRATION))
        self.iterations, self.margin, self.smiling = int(iterations), float(margin), int(smiling)
        self.hole, self.passes, self.cover, self.dilate = hole, int(passes), cover, int(dilate)
        self.mirror = bool(mirror)

    def landmarks_of_crop(self, crop: torch.Tensor, smiling: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(landmarks (68, 2), hole (1, S, S)) of a face crop (3, S, S) in [-1, 1], hole unknown."""
        size = self.P.size
        lab = torch.tensor([self.smiling if smiling is None else int(smiling)])
        lab = lab if self.P.label_input else None
        if self.hole == "none":
            lm = predict(self.P, crop[None], lab, mirror=self.mirror)["landmarks"][0]
        else:
            lm = torch.from_numpy(mean_shape(size)).float()
            for _ in range(self.iterations):
                hole = half_face_mask(lm.numpy().clip(0, size - 1), size, margin=self.margin)
                lm = predict(self.P, damage(crop[None], hole[None]), lab, mirror=self.mirror)["landmarks"][0]
        pts = lm.numpy().clip(0, size - 1)
        hole = half_face_mask(pts, size, margin=self.margin)
        if self.cover == "union":
            shape = face_mask_shape(pts, size, "surgical")[None]
            if self.dilate:
                shape = torch.nn.functional.max_pool2d(shape, 2 * self.dilate + 1, 1, self.dilate)
            hole = torch.maximum(hole, shape[0])
        return lm, hole

    def passes_of(self, img: np.ndarray, faces, smiling: int | None = None) -> list[tuple]:
        """Every pass on a photo whose detections are ``faces``: ``[(crop, M, lm, hole, photo_lm), ...]``."""
        h, w = img.shape[:2]
        if faces:
            cx, cy, side = crop_box(faces[0][0], self.calibration)
        else:
            cx, cy, side = w / 2, h / 2, float(min(h, w))
        out = []
        for k in range(self.passes):
            if k:                                  # second pass: the landmark rule from the first pass
                cx, cy, side = landmark_crop(out[-1][4])
            crop_u8, M = crop_square(img, cx, cy, side, self.P.size)
            crop = to_tensor(crop_u8)
            lm, hole = self.landmarks_of_crop(crop, smiling)
            photo_lm = from_crop(lm.numpy(), M)
            out.append((crop, M, lm, hole, photo_lm))
        return out

    def __call__(self, photo: np.ndarray, smiling: int | None = None) -> PipelineResult:
        img = dlib_detect.check_image(photo)
        faces = detect_faces(img, self.detector)
        h, w = img.shape[:2]
        crop, M, lm, hole, photo_lm = self.passes_of(img, faces, smiling)[-1]
        out_img, done = img.copy(), crop.clone()
        if self.G is not None:
            done = inpaint(self.G, crop[None], hole[None], lm[None])[0]
            back = cv2.warpAffine(to_uint8(done), M, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
            m = cv2.warpAffine(hole[0].numpy(), M, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP) > 0.5
            out_img[m] = back[m]
        return PipelineResult(bool(faces), faces[0][0] if faces else None, crop, hole, lm, photo_lm, done, out_img)
