"""Image-quality measures for completed (inpainted) faces, restricted to the hole.

All functions take float tensors in [-1, 1], NCHW, RGB (the project convention) and masks
``(N,1,H,W)`` with 1 = hole, 0 = known pixel. Every measure is computed *per image* and returned
as a 1-D tensor/array of length N, so callers can average, plot or test per image.

Why "inside the hole": a completion network keeps the known pixels, so a whole-image score is
dominated by pixels that are identical by construction. Restricting the measure to the hole shows
only what the network invented.

Definitions (images are first mapped from [-1, 1] to [0, 1], i.e. data range 1):

- ``hole_l1``   = mean over hole pixels and the 3 channels of ``|pred - target|``.
- ``hole_mse``  = mean over hole pixels and the 3 channels of ``(pred - target)^2``.
- ``hole_psnr`` = ``10 * log10(1 / hole_mse)`` in dB; ``+inf`` when the hole is reproduced exactly.
- ``hole_ssim`` = the SSIM *map* of the whole image (torchmetrics, Gaussian window 11, sigma 1.5,
  K1=0.01, K2=0.03, data range 1), averaged over the channels and then over the hole pixels only.
  Each map value near the hole border still sees some known (identical) pixels inside its 11x11
  window; that is the price of measuring structure at all in small holes, and it is the same for
  every method being compared.
- ``seam_energy`` = mean Sobel gradient magnitude (grey levels / px, uint8 images) on the band of
  pixels within one pixel of the hole's border, both sides: a visible box edge adds gradient there.
  Compare it with the truth's own value on the same band (the *excess*).
- ``checker_energy`` = mean magnitude (grey levels) inside the hole of the 2x2 checkerboard filter
  ``x[i,j] - x[i+1,j] - x[i,j+1] + x[i+1,j+1]`` over 4: the pattern a stride-2 transposed
  convolution leaves (Odena et al. 2016, "Deconvolution and checkerboard artifacts"); smooth
  shading and single edges give little, an alternating grid a lot. Also compared with the truth.
- ``feature_distance`` = the seed's objective measure (OpenCV feature-point matching); see its
  docstring for the exact definition.

Later notebooks extend this module (NME, clustering accuracy, FID/KID).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from helpers.core.images import to_uint8

__all__ = [
    "check_pair", "hole_l1", "hole_mse", "hole_psnr", "hole_ssim", "FeatureMatch", "feature_match",
    "feature_distance", "feature_distances", "FEATURE_METHODS", "WORST_DISTANCE", "available_feature_methods",
    "border_band", "seam_energy", "checker_energy",
]


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def check_pair(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> None:
    """Raise ``ValueError`` unless pred/target are equal-shape NCHW 3-channel float tensors in
    [-1, 1] and ``mask`` (if given) is ``(N,1,H,W)`` with only 0/1 values."""
    for name, t in (("pred", pred), ("target", target)):
        if not torch.is_tensor(t):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 4 or t.shape[1] != 3:
            raise ValueError(f"{name} must be NCHW with 3 channels, got shape {tuple(t.shape)}")
        if not t.is_floating_point():
            raise ValueError(f"{name} must be a float tensor in [-1, 1], got dtype {t.dtype}")
        if t.numel() and (t.min() < -1.001 or t.max() > 1.001):
            raise ValueError(f"{name} must lie in [-1, 1], got range [{t.min():.3f}, {t.max():.3f}]")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} vs {tuple(target.shape)}")
    if mask is not None:
        if not torch.is_tensor(mask) or mask.ndim != 4 or mask.shape[1] != 1:
            raise ValueError(f"mask must be a (N,1,H,W) tensor, got {getattr(mask, 'shape', type(mask))}")
        if mask.shape[0] != pred.shape[0] or mask.shape[2:] != pred.shape[2:]:
            raise ValueError(f"mask shape {tuple(mask.shape)} does not match images {tuple(pred.shape)}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must contain only 0 (known) and 1 (hole)")
        if bool((mask.flatten(1).sum(1) == 0).any()):
            raise ValueError("every mask must contain at least one hole pixel")


def _unit(x: torch.Tensor) -> torch.Tensor:
    return (x.detach().float().cpu() + 1.0) / 2.0


def _hole_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (N,C,H,W) over channels and hole pixels -> (N,)."""
    m = mask.float().cpu()
    v = values.mean(1, keepdim=True)
    return (v * m).flatten(1).sum(1) / m.flatten(1).sum(1)


# --------------------------------------------------------------------------------------------
# pixel measures
# --------------------------------------------------------------------------------------------
def hole_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute error over hole pixels, images scaled to [0, 1] -> (N,)."""
    check_pair(pred, target, mask)
    return _hole_mean((_unit(pred) - _unit(target)).abs(), mask)


def hole_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error over hole pixels, images scaled to [0, 1] -> (N,)."""
    check_pair(pred, target, mask)
    return _hole_mean((_unit(pred) - _unit(target)) ** 2, mask)


def hole_psnr(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB over hole pixels (data range 1) -> (N,); ``inf`` for an exact hole.

    Same formula as ``torchmetrics.functional.peak_signal_noise_ratio`` with ``data_range=1``,
    applied to the hole pixels only (torchmetrics has no masked variant).
    """
    mse = hole_mse(pred, target, mask)
    return torch.where(mse > 0, 10.0 * torch.log10(1.0 / mse.clamp_min(1e-30)), torch.full_like(mse, math.inf))


def hole_ssim(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM averaged over hole pixels -> (N,); 1 for an exact hole.

    The SSIM map comes from ``torchmetrics.functional.image.structural_similarity_index_measure``
    (Gaussian 11x11 window, sigma 1.5, data range 1, ``return_full_image=True``); it is averaged
    over the 3 channels and then over the pixels where ``mask == 1``.
    """
    check_pair(pred, target, mask)
    if min(pred.shape[-2:]) < 11:
        raise ValueError(f"hole_ssim needs images of at least 11x11 pixels, got {tuple(pred.shape[-2:])}")
    _, smap = structural_similarity_index_measure(_unit(pred), _unit(target), data_range=1.0, return_full_image=True, reduction="none")
    return _hole_mean(smap, mask)


# --------------------------------------------------------------------------------------------
# feature-point matching (the seed's objective measure)
# --------------------------------------------------------------------------------------------
FEATURE_METHODS = ("orb", "sift", "akaze")
#: distance returned when one image has keypoints in the region and the other has none (no
#: match is possible): the largest distance the descriptor allows. ORB: 256-bit, AKAZE: 486-bit
#: binary descriptors (Hamming); SIFT: non-negative 128-D vectors of L2 norm ~512 -> 512*sqrt(2).
WORST_DISTANCE = {"orb": 256.0, "akaze": 486.0, "sift": 512.0 * math.sqrt(2.0)}


def available_feature_methods() -> tuple[str, ...]:
    """Feature methods this OpenCV build offers (SIFT is in the main module since OpenCV 4.4)."""
    out = ["orb"]
    if hasattr(cv2, "SIFT_create"):
        out.append("sift")
    if hasattr(cv2, "AKAZE_create"):
        out.append("akaze")
    return tuple(out)


@dataclass
class FeatureMatch:
    """Result of :func:`feature_match`: the distance and how it was obtained."""

    distance: float      # mean descriptor distance of the cross-checked matches (smaller = more similar)
    n_a: int             # keypoints found in image a inside the region
    n_b: int             # keypoints found in image b inside the region
    n_matches: int       # cross-checked matches used for the mean
    case: str            # "matched" | "both-empty" | "one-empty"


def _detector(method: str):
    if method == "orb":
        # small edgeThreshold/patchSize would change the descriptor; keep OpenCV defaults (31)
        return cv2.ORB_create(nfeatures=500), cv2.NORM_HAMMING
    if method == "sift":
        if not hasattr(cv2, "SIFT_create"):
            raise ValueError("this OpenCV build has no SIFT (needs OpenCV >= 4.4); use method='orb'")
        return cv2.SIFT_create(), cv2.NORM_L2
    if method == "akaze":
        if not hasattr(cv2, "AKAZE_create"):
            raise ValueError("this OpenCV build has no AKAZE (OpenCV 5 moved it to contrib); use 'orb' or 'sift'")
        return cv2.AKAZE_create(), cv2.NORM_HAMMING
    raise ValueError(f"method must be one of {FEATURE_METHODS}, got {method!r}")


def _grey(image) -> np.ndarray:
    """One image, CHW tensor in [-1,1] or HWC uint8 RGB -> HW uint8 grey."""
    if torch.is_tensor(image):
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"expected a CHW RGB tensor, got shape {tuple(image.shape)}")
        image = to_uint8(image)
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {arr.dtype} {arr.shape}")
    return cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)


def _region(mask, shape, margin: int) -> np.ndarray | None:
    if mask is None:
        return None
    m = mask.detach().cpu().numpy() if torch.is_tensor(mask) else np.asarray(mask)
    m = np.squeeze(m)
    if m.shape != shape[:2] and m.ndim == 2:
        m = cv2.resize(m.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    if m.shape != shape[:2]:
        raise ValueError(f"mask shape {m.shape} does not match image {shape[:2]}")
    m = (m > 0.5).astype(np.uint8)
    if margin > 0:
        k = 2 * margin + 1
        m = cv2.dilate(m, np.ones((k, k), np.uint8))
    return m * 255


def feature_match(a, b, mask=None, method: str = "orb", *, size: int | None = 256, margin: int = 16,
                  cross_check: bool = True) -> FeatureMatch:
    """OpenCV feature-point matching between two images; the seed's "similarity" (smaller = closer).

    Exact definition used throughout the course:

    1. Both images (CHW tensors in [-1, 1] or HWC uint8 RGB) are converted to 8-bit grey and, if
       ``size`` is set, resized to ``size`` x ``size`` (bilinear). Default 256: the seed's images
       were 256 px, and ORB's 31-pixel patch does not fit useful keypoints into 64-px faces.
    2. Keypoints are detected separately in each image, only inside the *region* = the hole
       (``mask`` = 1, resized with nearest neighbour) dilated by ``margin`` pixels (in the resized
       image) so the hole's border, where seams show, counts. ``mask=None`` uses the whole image
       (the seed's variant; known pixels are then identical and dilute the score).
    3. Descriptors: ORB (256-bit, Hamming), SIFT (128-D float, L2) or AKAZE (486-bit, Hamming).
    4. Brute-force matching with cross-check (a pair counts only if each descriptor is the other's
       nearest neighbour).
    5. distance = the mean descriptor distance over the matched pairs.

    Special cases, made explicit: no keypoints in either region -> distance 0 (``"both-empty"``,
    nothing differs that the detector can see); keypoints in only one region, or no
    cross-checked match -> ``WORST_DISTANCE[method]`` (``"one-empty"``, the features are gone).
    Identical images give distance 0 exactly.
    """
    det, norm = _detector(method)
    ga, gb = _grey(a), _grey(b)
    if ga.shape != gb.shape:
        raise ValueError(f"images must have the same size, got {ga.shape} vs {gb.shape}")
    if size is not None:
        ga = cv2.resize(ga, (size, size), interpolation=cv2.INTER_LINEAR)
        gb = cv2.resize(gb, (size, size), interpolation=cv2.INTER_LINEAR)
    region = _region(mask, ga.shape, margin)
    ka, da = det.detectAndCompute(ga, region)
    kb, db = det.detectAndCompute(gb, region)
    na, nb = len(ka), len(kb)
    if na == 0 and nb == 0:
        return FeatureMatch(0.0, 0, 0, 0, "both-empty")
    if na == 0 or nb == 0 or da is None or db is None:
        return FeatureMatch(WORST_DISTANCE[method], na, nb, 0, "one-empty")
    matches = cv2.BFMatcher(norm, crossCheck=cross_check).match(da, db)
    if not matches:
        return FeatureMatch(WORST_DISTANCE[method], na, nb, 0, "one-empty")
    return FeatureMatch(float(np.mean([m.distance for m in matches])), na, nb, len(matches), "matched")


def feature_distance(a, b, mask=None, method: str = "orb", **kw) -> float:
    """Just the distance of :func:`feature_match` (smaller = more similar, 0 for identical)."""
    return feature_match(a, b, mask, method, **kw).distance


def feature_distances(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
                      method: str = "orb", **kw) -> np.ndarray:
    """:func:`feature_distance` for every image of a batch (NCHW in [-1, 1]) -> float64 (N,)."""
    check_pair(pred, target, mask)
    return np.array([feature_distance(pred[i], target[i], None if mask is None else mask[i], method, **kw)
                     for i in range(pred.shape[0])], dtype=np.float64)


# --------------------------------------------------------------------------------------------
# artefacts a completion can leave: a seam on the hole border, a checkerboard inside it
# --------------------------------------------------------------------------------------------
def border_band(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """(H, W) bool: pixels within ``width`` px of the border of ``mask`` (H, W; >0 = hole), both sides."""
    m = (np.asarray(mask) > 0).astype(np.uint8)
    k = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    return (cv2.dilate(m, k) - cv2.erode(m, k)) > 0


def _u8_batch(images) -> np.ndarray:
    if torch.is_tensor(images):
        return to_uint8(images)
    a = np.asarray(images)
    if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise ValueError(f"images must be a tensor NCHW in [-1, 1] or uint8 (N, H, W, 3), got {a.dtype} {a.shape}")
    return a


def _mask_batch(masks, n: int) -> np.ndarray:
    m = masks.detach().cpu().numpy() if torch.is_tensor(masks) else np.asarray(masks)
    if m.ndim == 4:
        m = m[:, 0]
    if m.ndim != 3 or len(m) != n:
        raise ValueError(f"masks must be (N, H, W) or (N, 1, H, W) for {n} images, got {m.shape}")
    return m > 0


def seam_energy(images, masks, width: int = 1) -> np.ndarray:
    """(N,) mean Sobel gradient magnitude (grey levels per pixel) on the band around each hole border.

    ``images``: a float tensor NCHW in [-1, 1] or uint8 (N, H, W, 3); ``masks``: (N, [1,] H, W), 1 = hole.
    """
    imgs = _u8_batch(images)
    out = []
    for img, m in zip(imgs, _mask_batch(masks, len(imgs))):
        g = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY).astype(np.float32)
        gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8, cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8
        band = border_band(m, width)
        out.append(float(np.hypot(gx, gy)[band].mean()) if band.any() else float("nan"))
    return np.asarray(out)


def checker_energy(images, masks) -> np.ndarray:
    """(N,) mean |2x2 checkerboard filter| (grey levels) over hole pixels, the three channels averaged.

    A pixel counts when its whole 2x2 block lies in the hole. See the module doc.
    """
    imgs = _u8_batch(images).astype(np.float32)
    ms = _mask_batch(masks, len(imgs))
    out = []
    for img, m in zip(imgs, ms):
        c = np.abs(img[:-1, :-1] - img[1:, :-1] - img[:-1, 1:] + img[1:, 1:]).mean(-1) / 4
        inside = m[:-1, :-1] & m[1:, :-1] & m[:-1, 1:] & m[1:, 1:]
        out.append(float(c[inside].mean()) if inside.any() else float("nan"))
    return np.asarray(out)
