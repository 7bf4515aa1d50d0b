"""Hole generators for inpainting: GLCIC random boxes, the seed's mouth box, the landmark-based
lower-half-face mask of the landmark-and-label paper and the face-mask (surgical/cloth) shape.

Every mask is a float tensor (1, H, W) (or (N, 1, H, W) for batches) with 1 = hole (pixels to
complete) and 0 = known pixels. Boxes are ``(x, y, w, h)`` in pixels: top-left corner ``(x, y)``,
covering columns ``x .. x+w-1`` and rows ``y .. y+h-1``.

The GLCIC course study states its boxes for 256x256 images; for other sizes every number is multiplied by
``size / 256`` and rounded half up (``floor(v + 0.5)``), per axis for non-square images.
"""
from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
import torch

SEED_SIZE = 256
# The GLCIC course study, 256x256: random hole top-left corner (5,5)..(145,145), width and height 48..96.
GLCIC_XY = (5, 145)
GLCIC_WH = (48, 96)
# The GLCIC course study, 256x256: mouth hole top-left (56,128), width 144, height 96 (x 56..199, y 128..223).
MOUTH_BOX = (56, 128, 144, 96)


def _hw(size) -> tuple[int, int]:
    """int or (H, W) -> (H, W) with validation."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be an int or (height, width), got {size!r}") from None
    if h < 8 or w < 8:
        raise ValueError(f"size must be at least 8 pixels per side, got {(h, w)}")
    return h, w


def _round(v: float) -> int:
    return int(math.floor(v + 0.5))


def glcic_ranges(size=256) -> dict[str, tuple[int, int]]:
    """Inclusive integer ranges of the GLCIC random hole at ``size``: keys x, y, w, h.

    At 256: x, y in 5..145 and w, h in 48..96, both ends included (the GLCIC course study's
    "(5,5)~(145,145), 48~96"). At other sizes each bound is scaled by size/256 and rounded half up;
    the largest corner is lowered if needed so that the box always lies inside the image
    (at 256, 145 + 96 = 241 <= 256 already holds). At 128: x, y 3..73, w, h 24..48;
    at 64: x, y 1..36, w, h 12..24.
    """
    h, w = _hw(size)
    out = {}
    for axis, extent, dim in (("x", w, "w"), ("y", h, "h")):
        s = extent / SEED_SIZE
        lo_wh, hi_wh = _round(GLCIC_WH[0] * s), _round(GLCIC_WH[1] * s)
        lo_xy, hi_xy = _round(GLCIC_XY[0] * s), min(_round(GLCIC_XY[1] * s), extent - hi_wh)
        out[axis] = (lo_xy, hi_xy)
        out[dim] = (lo_wh, hi_wh)
    return {k: out[k] for k in ("x", "y", "w", "h")}


def random_boxes(n: int, size=256, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` GLCIC random holes as a LongTensor (n, 4) of (x, y, w, h), vectorised.

    Each of x, y, w, h is drawn independently and uniformly from the inclusive integer ranges of
    :func:`glcic_ranges` (the GLCIC course study at 256 px: x, y in 5..145, w, h in 48..96). Pass a
    ``torch.Generator`` for reproducible holes (it can be saved in a checkpoint).
    """
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    r = glcic_ranges(size)
    cols = [torch.randint(lo, hi + 1, (int(n),), generator=generator) for lo, hi in r.values()]
    return torch.stack(cols, dim=1)


def glcic_random_box(size=256, rng=None) -> tuple[int, int, int, int]:
    """One GLCIC random hole (x, y, w, h); ``rng`` is a torch.Generator, numpy Generator, int seed or None."""
    if isinstance(rng, np.random.Generator):
        return tuple(int(rng.integers(lo, hi + 1)) for lo, hi in glcic_ranges(size).values())
    if isinstance(rng, (int, np.integer)):
        rng = torch.Generator().manual_seed(int(rng))
    if rng is not None and not isinstance(rng, torch.Generator):
        raise ValueError(f"rng must be a torch.Generator, numpy Generator, int or None, got {type(rng).__name__}")
    return tuple(int(v) for v in random_boxes(1, size, rng)[0])


def mouth_box(size=256) -> tuple[int, int, int, int]:
    """The GLCIC course study's mouth hole (x, y, w, h): (56, 128, 144, 96) at 256, scaled (128: (28, 64, 72, 48))."""
    h, w = _hw(size)
    sx, sy = w / SEED_SIZE, h / SEED_SIZE
    x, y, bw, bh = MOUTH_BOX
    return _round(x * sx), _round(y * sy), _round(bw * sx), _round(bh * sy)


def _check_box(box, h: int, w: int) -> tuple[int, int, int, int]:
    try:
        x, y, bw, bh = (int(v) for v in box)
    except (TypeError, ValueError):
        raise ValueError(f"box must be (x, y, w, h), got {box!r}") from None
    if bw <= 0 or bh <= 0 or x < 0 or y < 0 or x + bw > w or y + bh > h:
        raise ValueError(f"box (x={x}, y={y}, w={bw}, h={bh}) must have w, h > 0 and lie inside "
                         f"the {w}x{h} image")
    return x, y, bw, bh


def box_mask(size, box) -> torch.Tensor:
    """(1, H, W) float mask with 1 inside ``box`` = (x, y, w, h)."""
    h, w = _hw(size)
    x, y, bw, bh = _check_box(box, h, w)
    m = torch.zeros(1, h, w)
    m[:, y:y + bh, x:x + bw] = 1.0
    return m


def boxes_to_masks(boxes, size) -> torch.Tensor:
    """(N, 4) boxes (x, y, w, h) -> (N, 1, H, W) float masks, vectorised (no Python loop)."""
    h, w = _hw(size)
    b = torch.as_tensor(boxes)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) of (x, y, w, h), got {tuple(b.shape)}")
    b = b.long()
    x, y, bw, bh = b.unbind(1)
    bad = (bw <= 0) | (bh <= 0) | (x < 0) | (y < 0) | (x + bw > w) | (y + bh > h)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"box {i} = {b[i].tolist()} must have w, h > 0 and lie inside the {w}x{h} image")
    cols = torch.arange(w, device=b.device)
    rows = torch.arange(h, device=b.device)
    in_x = (cols[None] >= x[:, None]) & (cols[None] < (x + bw)[:, None])  # (N, W)
    in_y = (rows[None] >= y[:, None]) & (rows[None] < (y + bh)[:, None])  # (N, H)
    return (in_y[:, :, None] & in_x[:, None, :]).float()[:, None]


def random_masks(n: int, size=256, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` GLCIC random-hole masks (n, 1, H, W): ``boxes_to_masks(random_boxes(n, size, generator), size)``."""
    return boxes_to_masks(random_boxes(n, size, generator), size)


def mouth_mask(size=256) -> torch.Tensor:
    """(1, H, W) mask of the GLCIC course study's mouth hole."""
    return box_mask(size, mouth_box(size))


def apply_mask(images: torch.Tensor, masks: torch.Tensor, fill: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Blank the holes: ``images * (1 - masks) + fill * masks`` (GLCIC fills holes with the mean colour).

    ``images`` (N, C, H, W) or (C, H, W); ``masks`` broadcastable (N or 1, 1, H, W) or (1, H, W).
    """
    if images.shape[-2:] != masks.shape[-2:]:
        raise ValueError(f"images {tuple(images.shape)} and masks {tuple(masks.shape)} differ in H, W")
    return images * (1 - masks) + fill * masks


# ---------------------------------------------------------------------------------------------
# Landmark-based masks
# ---------------------------------------------------------------------------------------------

def _as_landmarks(landmarks) -> np.ndarray:
    lm = landmarks.detach().cpu().numpy() if torch.is_tensor(landmarks) else np.asarray(landmarks)
    if lm.ndim not in (2, 3) or lm.shape[-2:] != (68, 2):
        raise ValueError(f"landmarks must have shape (68, 2) or (N, 68, 2), got {lm.shape}")
    lm = lm.astype(np.float64)
    if not np.isfinite(lm).all():
        raise ValueError("landmarks contain NaN/inf; masks need real landmark positions")
    return lm


def polygon_mask(points, size) -> torch.Tensor:
    """(1, H, W) float mask of the filled polygon ``points`` (K, 2) in pixel coordinates (x, y).

    Rasterised with OpenCV at 1/16-pixel precision, integer coordinates being pixel centres;
    the result is binary (no anti-aliasing) so that 1 always means "hole".
    """
    h, w = _hw(size)
    pts = np.asarray(points.detach().cpu() if torch.is_tensor(points) else points, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise ValueError(f"points must have shape (K >= 3, 2), got {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("polygon points contain NaN/inf")
    canvas = np.zeros((h, w), np.uint8)
    fixed = np.round(pts * 16).astype(np.int32)[None]
    cv2.fillPoly(canvas, fixed, 1, lineType=cv2.LINE_8, shift=4)
    return torch.from_numpy(canvas.astype(np.float32))[None]


def half_face_polygon(landmarks, top: int = 29, margin: float = 0.08) -> np.ndarray:
    """The polygon (K, 2) of :func:`half_face_mask` for one face (see there)."""
    lm = _as_landmarks(landmarks)
    if lm.ndim != 2:
        raise ValueError("half_face_polygon takes one face (68, 2)")
    if not 0 <= top < 68:
        raise ValueError(f"top must be a landmark index 0..67, got {top}")
    if not 0 <= margin < 1:
        raise ValueError(f"margin must be in [0, 1), got {margin}")
    jaw = lm[0:17]
    y_top = lm[top, 1]
    centre = np.array([lm[27:31, 0].mean(), y_top])  # on the nose line, at the top edge

    def crossing(indices):
        """First point where the jaw, walked from the ear towards the chin, goes below y_top."""
        prev = indices[0]
        if jaw[prev, 1] >= y_top:
            return np.array([jaw[prev, 0], y_top]), list(indices)
        for k, i in enumerate(indices[1:], start=1):
            if jaw[i, 1] >= y_top:
                t = (y_top - jaw[prev, 1]) / max(jaw[i, 1] - jaw[prev, 1], 1e-9)
                return jaw[prev] + t * (jaw[i] - jaw[prev]), list(indices[k:])
            prev = i
        return np.array([jaw[indices[-1], 0], y_top]), []

    left_start, left = crossing(list(range(0, 9)))       # image-left side: jaw 0 -> 8 (chin)
    right_start, right = crossing(list(range(16, 7, -1)))  # image-right side: jaw 16 -> 8
    below = left + [i for i in reversed(right) if i not in left]  # 0..8..16 order, below y_top
    pts = [left_start] + [jaw[i] for i in below] + [right_start]
    pts = np.array(pts)
    if len(below) == 0:
        raise ValueError(f"the jaw line (landmarks 0..16) never goes below landmark {top}; "
                         "are x and y swapped or the landmarks upside down?")
    # Enlarge by ``margin`` about the top-centre point so the hole also covers the jaw edge and a
    # little below the chin (as a real face mask does); the top edge stays on the line y = y_top.
    return centre + (pts - centre) * (1.0 + margin)


def half_face_mask(landmarks, size, top: int = 29, margin: float = 0.08) -> torch.Tensor:
    """The landmark-and-label paper's training hole: "the lower half of the face, placed from the landmarks".

    The seed says only that (3.1: 抽出した Landmark を参考に顔の下半分が隠れるように設定); the exact
    shape is ours and documented here. Construction, for landmarks in pixels of an image of ``size``:

    1. top edge: the horizontal line through landmark ``top`` (default 29, the third of the four
       nose-bridge points, about halfway down the nose, where a face mask's upper edge sits);
    2. sides and bottom: the jaw line (landmarks 0..16) below that line, starting where the jaw
       crosses it on each side (linear interpolation between jaw points);
    3. the polygon is enlarged by the factor ``1 + margin`` about the point of the nose line
       (mean x of landmarks 27..30) on the top edge, so the hole also covers the jaw edge and
       reaches ``margin`` x (chin - top) below the chin; the top edge stays on its line.

    ``landmarks`` (68, 2) -> (1, H, W); (N, 68, 2) -> (N, 1, H, W). 1 = hole.
    """
    lm = _as_landmarks(landmarks)
    if lm.ndim == 3:
        if len(lm) == 0:
            return torch.zeros(0, 1, *_hw(size))
        return torch.stack([half_face_mask(one, size, top, margin) for one in lm])
    return polygon_mask(half_face_polygon(lm, top, margin), size)


def face_mask_shape(landmarks, size, style: str = "surgical") -> torch.Tensor:
    """(1, H, W) mask of a face mask (``"surgical"`` or ``"cloth"``) placed from the landmarks.

    The shape is ``face_mask_polygon(landmarks, style)`` (the same one SynthFaces
    draws), rasterised with :func:`polygon_mask`; (N, 68, 2) gives (N, 1, H, W).
    """
    lm = _as_landmarks(landmarks)
    if lm.ndim == 3:
        return torch.stack([face_mask_shape(one, size, style) for one in lm])
    return polygon_mask(face_mask_polygon(lm.astype(np.float32), style), size)


# ----------------------------------------------------------------------------- face-mask outline
@lru_cache(maxsize=64)
def _cr(n: int, k: int, closed: bool) -> np.ndarray:
    """Catmull-Rom sampling matrix: (m, n) so that ``M @ pts`` is a smooth curve through pts."""
    t = np.arange(k) / k
    w = 0.5 * np.stack([-t ** 3 + 2 * t ** 2 - t, 3 * t ** 3 - 5 * t ** 2 + 2,
                        -3 * t ** 3 + 4 * t ** 2 + t, t ** 3 - t ** 2], 1)
    segs = n if closed else n - 1
    M = np.zeros((segs * k + (0 if closed else 1), n))
    for i in range(segs):
        idx = [i - 1, i, i + 1, i + 2]
        idx = [j % n for j in idx] if closed else [min(max(j, 0), n - 1) for j in idx]
        for c in range(4):
            M[i * k:(i + 1) * k, idx[c]] += w[:, c]
    if not closed:
        M[-1, n - 1] = 1.0
    return M


def smooth(pts, k=4, closed=False):
    """A Catmull-Rom curve through ``pts`` with ``k`` samples per segment."""
    return _cr(len(pts), k, closed) @ pts


def face_mask_polygon(landmarks, style: str = "surgical") -> np.ndarray:
    """Outline (K, 2) float32 of a face mask over nose-to-chin, placed from 68 landmarks (px)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2) or not np.all(np.isfinite(lm)):
        raise ValueError(f"landmarks must be a finite (68, 2) array, got shape {lm.shape}")
    if style not in ("surgical", "cloth"):
        raise ValueError(f"style must be 'surgical' or 'cloth', got {style!r}")
    r = lm[16] - lm[0]
    d = np.linalg.norm(lm[45] - lm[36])  # outer eye corners: about 1.15 face units
    r = r / (np.linalg.norm(r) + 1e-9)
    R, U = r * d, np.array([r[1], -r[0]]) * d
    c = lm[27:36].mean(0)
    out = lambda j, k=0.04: lm[j] + (lm[j] - c) / (np.linalg.norm(lm[j] - c) + 1e-9) * k * d
    top_y = lm[28] * 0.35 + lm[29] * 0.65
    if style == "surgical":
        pts = [out(1, 0.03) - U * 0.08, (lm[1] + top_y) / 2 + U * 0.02, top_y + U * 0.05,
               (lm[15] + top_y) / 2 + U * 0.02, out(15, 0.03) - U * 0.08]
        pts += [out(j, 0.04) for j in (13, 12, 11)]
        pts += [lm[9] - U * 0.1 + R * 0.05, lm[8] - U * 0.11, lm[7] - U * 0.1 - R * 0.05]
        pts += [out(j, 0.04) for j in (5, 4, 3)]
        return smooth(np.array(pts), 3, True).astype(np.float32)
    pts = [out(2, 0.03) - U * 0.05, (lm[1] + lm[28]) / 2 + U * 0.0, lm[28] + U * 0.02,
           (lm[15] + lm[28]) / 2 + U * 0.0, out(14, 0.03) - U * 0.05]
    pts += [out(j, 0.05) for j in (12, 11)]
    pts += [lm[9] - U * 0.15 + R * 0.06, lm[8] - U * 0.18, lm[7] - U * 0.15 - R * 0.06]
    pts += [out(j, 0.05) for j in (5, 4)]
    return smooth(np.array(pts), 4, True).astype(np.float32)
