"""The measuring instruments of notebook 04 that the paper's pictures only showed.

All images are uint8 (N, H, W, 3) RGB in the photos' frame unless a name says otherwise; landmarks
(N, 68, 2) pixels. The face-analysis network (:mod:`helpers.faces.analysis`) reads landmarks, AUs,
pose and identity from generated faces; SynthFaces gives the truth.

- :func:`region_quality`: PSNR / SSIM / L1 inside the mask region against the true unmasked face
  (``helpers.core.metrics``), the perceptual distance and the identity distance of the whole
  completed photo against the truth.
- :func:`seam_energy` (:mod:`helpers.core.metrics`, shared with notebook 02): mean Sobel gradient magnitude (grey levels / px) on the one-pixel band on
  both sides of the mask border: a visible seam adds gradient there. Reported as the excess over
  the truth's own gradient on the same band.
- :func:`jaw_metrics`: jaw length = distance from the eye midpoint to the chin (point 8), jaw width
  = distance of jaw points 3 and 13, both in inter-ocular distances (outer eye corners 36-45).
- :func:`mole_contrast`: grey level of a ring (1.5-3 radii) around a point minus that of a disc
  (1 radius) at the point; a dark mole gives a clear positive contrast, none gives about 0.
- :func:`face_colour`: mean RGB inside the face outline (jaw + brows), grey levels.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from helpers.core import metrics
from helpers.core.metrics import seam_energy
from helpers.core.images import to_tensor
from helpers.faces import analysis

__all__ = ["as_tensor", "face_polygon", "face_colour", "seam_energy", "jaw_metrics", "mole_contrast",
           "region_quality", "read", "MOUTH_AUS", "EYE_AUS"]

#: AUs of the mouth (seed: "expression transfer mostly changes the mouth opening": 25, 26)
MOUTH_AUS = (10, 12, 14, 15, 17, 20, 23, 25, 26)
EYE_AUS = (1, 2, 4, 5, 6, 7, 45)


def as_tensor(images_u8: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1]."""
    a = np.asarray(images_u8)
    if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got {a.dtype} {a.shape}")
    return torch.stack([to_tensor(x) for x in a])


def face_polygon(landmarks: np.ndarray) -> np.ndarray:
    """(K, 2) outline of the face: jaw 0..16 then the brows 26..17 (forehead edge)."""
    lm = np.asarray(landmarks, np.float32)
    if lm.shape != (68, 2):
        raise ValueError(f"landmarks must be (68, 2), got {lm.shape}")
    return np.concatenate([lm[0:17], lm[26:16:-1]])


def face_colour(images_u8: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Mean RGB (N, 3) inside each face outline."""
    out = []
    for img, lm in zip(images_u8, landmarks):
        m = np.zeros(img.shape[:2], np.uint8)
        cv2.fillPoly(m, [np.round(face_polygon(lm) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
        out.append(img[m > 0].reshape(-1, 3).mean(0) if m.any() else img.reshape(-1, 3).mean(0))
    return np.stack(out).astype(np.float64)


def jaw_metrics(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Jaw length (eye midpoint to chin 8) and jaw width (3 to 13), in inter-ocular distances (N,)."""
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 3 or lm.shape[1:] != (68, 2):
        raise ValueError(f"landmarks must be (N, 68, 2), got {lm.shape}")
    iod = np.linalg.norm(lm[:, 45] - lm[:, 36], axis=1)
    eyes = (lm[:, 36:42].mean(1) + lm[:, 42:48].mean(1)) / 2
    return {"jaw_length": np.linalg.norm(lm[:, 8] - eyes, axis=1) / iod,
            "jaw_width": np.linalg.norm(lm[:, 13] - lm[:, 3], axis=1) / iod}


def mole_contrast(images_u8: np.ndarray, xy: np.ndarray, radius: float) -> np.ndarray:
    """(N,) grey level of the ring around ``xy`` (N, 2) minus the disc at it (see the module doc)."""
    out = []
    for img, (x, y) in zip(images_u8, np.asarray(xy, np.float64)):
        g = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY).astype(np.float64)
        yy, xx = np.mgrid[:g.shape[0], :g.shape[1]]
        d = np.hypot(xx - x, yy - y)
        disc, ring = d <= max(radius, 0.75), (d >= 1.5 * radius + 0.5) & (d <= 3 * radius + 1)
        out.append(float(g[ring].mean() - g[disc].mean()) if disc.any() and ring.any() else float("nan"))
    return np.asarray(out)


def read(images_u8: np.ndarray, net=None) -> dict[str, np.ndarray]:
    """The analysis network's readings of uint8 faces, as numpy (landmarks, aus, pose, identity, ...)."""
    r = analysis.analyse(as_tensor(images_u8), net)
    return {k: v.numpy() for k, v in r.items()}


def region_quality(result_u8: np.ndarray, truth_u8: np.ndarray, masks: np.ndarray, net=None) -> dict[str, np.ndarray]:
    """Per image: PSNR, SSIM, L1 in the mask region vs the truth; perceptual and identity distance
    (analysis network) of the whole completed photo vs the truth."""
    x, t = as_tensor(result_u8), as_tensor(truth_u8)
    m = torch.from_numpy((np.asarray(masks) > 0).astype(np.float32))[:, None]
    with torch.no_grad():
        perc = analysis.perceptual_distance(x, t, net)
        ident = analysis.identity_distance(x, t, net=net)
    return {"psnr": metrics.hole_psnr(x, t, m).numpy(), "ssim": metrics.hole_ssim(x, t, m).numpy(),
            "l1": metrics.hole_l1(x, t, m).numpy(), "perceptual": perc.numpy(), "identity": ident.numpy()}
