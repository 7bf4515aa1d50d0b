"""The 68-point iBUG landmark scheme: named index groups, distances, normalisation, drawing, NME.

Landmarks are pixel coordinates (x, y), 0-based iBUG indexing, with integer values at pixel
centres (the convention of dlib, FAN and OpenCV drawing). Every function here works on a numpy
array (68, 2) and on torch tensors (..., 68, 2) (batches; differentiable, so losses can use them).
"Right"/"left" are the subject's: the right eye (36-41) appears on the image's left.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import matplotlib.pyplot as plt
from matplotlib.colors import to_rgb

from helpers.core.viz import as_uint8_images, clean_axes

JAW = tuple(range(0, 17))
RIGHT_BROW = tuple(range(17, 22))
LEFT_BROW = tuple(range(22, 27))
NOSE_BRIDGE = tuple(range(27, 31))
NOSE_LOWER = tuple(range(31, 36))
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))
OUTER_LIP = tuple(range(48, 60))
INNER_LIP = tuple(range(60, 68))
MOUTH = OUTER_LIP + INNER_LIP
MOUTH_CORNERS = (48, 54)          # outer-lip corners: subject's right (image left), left
OUTER_LIP_MIDDLE = (51, 57)       # top of the upper lip, bottom of the lower lip (centre line)
INNER_LIP_MIDDLE = (62, 66)       # inner edge of the upper lip, inner edge of the lower lip
EYE_OUTER_CORNERS = (36, 45)      # inter-ocular distance of the 300-W NME

GROUPS = {
    "jaw": JAW, "right_brow": RIGHT_BROW, "left_brow": LEFT_BROW, "nose_bridge": NOSE_BRIDGE,
    "nose_lower": NOSE_LOWER, "right_eye": RIGHT_EYE, "left_eye": LEFT_EYE,
    "outer_lip": OUTER_LIP, "inner_lip": INNER_LIP,
}
# Contours to draw: (indices, closed).
CONTOURS = (
    (JAW, False), (RIGHT_BROW, False), (LEFT_BROW, False), (NOSE_BRIDGE + (33,), False),
    (NOSE_LOWER, False), (RIGHT_EYE, True), (LEFT_EYE, True), (OUTER_LIP, True), (INNER_LIP, True),
)
GROUP_COLOURS = {
    "jaw": "#1f77b4", "right_brow": "#ff7f0e", "left_brow": "#ff7f0e", "nose_bridge": "#2ca02c",
    "nose_lower": "#2ca02c", "right_eye": "#d62728", "left_eye": "#d62728",
    "outer_lip": "#e377c2", "inner_lip": "#9467bd",
}
# Index permutation that maps a horizontally flipped face back to iBUG order.
_PAIRS = ([(i, 16 - i) for i in range(8)] + [(17 + i, 26 - i) for i in range(5)] + [(31, 35), (32, 34)]
          + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
          + [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67)])
FLIP_PERMUTATION = list(range(68))
for _a, _b in _PAIRS:
    FLIP_PERMUTATION[_a], FLIP_PERMUTATION[_b] = _b, _a
FLIP_PERMUTATION = tuple(FLIP_PERMUTATION)


# Median 300-W face (AFW + Helen train, centred and scaled by the inter-ocular distance, made
# left-right symmetric), in unit-square coordinates: inter-ocular distance 0.4, centred.
MEAN_SHAPE = np.array([
    (0.186, 0.310), (0.192, 0.394), (0.202, 0.477), (0.217, 0.559), (0.247, 0.635), (0.294, 0.702),
    (0.355, 0.758), (0.423, 0.802), (0.500, 0.814), (0.577, 0.802), (0.645, 0.758), (0.706, 0.702),
    (0.753, 0.635), (0.783, 0.559), (0.798, 0.477), (0.808, 0.394), (0.814, 0.310), (0.235, 0.244),
    (0.273, 0.206), (0.330, 0.194), (0.391, 0.201), (0.447, 0.222), (0.553, 0.222), (0.609, 0.201),
    (0.670, 0.194), (0.727, 0.206), (0.765, 0.244), (0.500, 0.290), (0.500, 0.345), (0.500, 0.399),
    (0.500, 0.455), (0.434, 0.495), (0.466, 0.506), (0.500, 0.516), (0.534, 0.506), (0.566, 0.495),
    (0.301, 0.298), (0.336, 0.278), (0.379, 0.279), (0.416, 0.307), (0.376, 0.313), (0.333, 0.312),
    (0.584, 0.307), (0.621, 0.279), (0.664, 0.278), (0.699, 0.298), (0.667, 0.312), (0.624, 0.313),
    (0.374, 0.597), (0.420, 0.577), (0.468, 0.567), (0.500, 0.575), (0.532, 0.567), (0.580, 0.577),
    (0.626, 0.597), (0.581, 0.640), (0.535, 0.659), (0.500, 0.663), (0.465, 0.659), (0.419, 0.640),
    (0.393, 0.599), (0.468, 0.594), (0.500, 0.596), (0.532, 0.594), (0.607, 0.599), (0.533, 0.618),
    (0.500, 0.622), (0.467, 0.618),
], dtype=np.float32)


def mean_shape(size=256) -> np.ndarray:
    """The median frontal face (68, 2) in pixels of a ``size`` image (int or (H, W)).

    Handy for tests, demos and as a landmark prior; the mouth lies inside the GLCIC course study's mouth box.
    """
    h, w = _hw(size)
    return ((MEAN_SHAPE * np.array([w, h], np.float32)) - 0.5).astype(np.float32)


def _check(lm):
    if not (isinstance(lm, (np.ndarray, torch.Tensor))):
        lm = np.asarray(lm, dtype=np.float32)
    if lm.ndim < 2 or tuple(lm.shape[-2:]) != (68, 2):
        raise ValueError(f"landmarks must have shape (..., 68, 2), got {tuple(lm.shape)}")
    return lm


def _norm(v):
    return (v ** 2).sum(-1) ** 0.5


def mouth_corner_vector(lm):
    """Per-coordinate mouth-corner distance, ``lm[54] - lm[48]`` -> (..., 2) (dx, dy).

    The landmark-and-label paper's Mouth Corner Distance loss compares this distance "per coordinate index i" between
    prediction and truth: ``|mouth_corner_vector(pred) - mouth_corner_vector(true)|`` summed over i.
    For an upright face dx > 0 (54 is on the image's right); a smile makes it longer.
    """
    lm = _check(lm)
    return lm[..., 54, :] - lm[..., 48, :]


def mouth_corner_distance(lm):
    """Euclidean distance between the mouth corners 48 and 54 -> (...,)."""
    return _norm(mouth_corner_vector(lm))


def lip_vector(lm, which: str = "inner"):
    """Per-coordinate lip distance (..., 2): lower lip point minus upper lip point.

    ``which="inner"`` (default): ``lm[66] - lm[62]``, the gap between the lips on the inner contour,
    i.e. how open the mouth is (0 when closed) — the reading we use for the landmark-and-label paper's Lip Distance
    loss ("distance between the lips", longer when smiling with parted lips).
    ``which="outer"``: ``lm[57] - lm[51]``, the outer height of the mouth (lip thickness included).
    """
    lm = _check(lm)
    if which == "inner":
        a, b = INNER_LIP_MIDDLE
    elif which == "outer":
        a, b = OUTER_LIP_MIDDLE
    else:
        raise ValueError(f"which must be 'inner' or 'outer', got {which!r}")
    return lm[..., b, :] - lm[..., a, :]


def lip_distance(lm, which: str = "inner"):
    """Euclidean lip distance (...,): inner gap 62-66 (default) or outer height 51-57."""
    return _norm(lip_vector(lm, which))


def eye_openness(lm, eye: str = "mean"):
    """Eye aspect ratio (Soukupová & Čech 2016): (|p2-p6| + |p3-p5|) / (2 |p1-p4|).

    About 0.25-0.35 for an open eye and near 0 when closed (AU45 blink). ``eye``: "right" (36-41),
    "left" (42-47), "mean" (average of both, (...,)) or "both" ((..., 2): right, left).
    """
    lm = _check(lm)

    def ear(s):
        p = [lm[..., s + k, :] for k in range(6)]
        return (_norm(p[1] - p[5]) + _norm(p[2] - p[4])) / (2 * _norm(p[0] - p[3]))

    if eye == "right":
        return ear(36)
    if eye == "left":
        return ear(42)
    if eye == "mean":
        return (ear(36) + ear(42)) / 2
    if eye == "both":
        r, le = ear(36), ear(42)
        return torch.stack([r, le], -1) if torch.is_tensor(r) else np.stack([r, le], -1)
    raise ValueError(f"eye must be 'right', 'left', 'mean' or 'both', got {eye!r}")


def inter_ocular(lm):
    """Distance between the outer eye corners 36 and 45 (the 300-W NME normaliser) -> (...,)."""
    lm = _check(lm)
    return _norm(lm[..., 45, :] - lm[..., 36, :])


def normalise(lm, reference=None):
    """Centre on the mean point and divide by the inter-ocular distance (of ``reference`` if given).

    Makes landmark sets of different image sizes and face scales comparable; the NME of a
    prediction is ``mean_k |pred_k - true_k| / inter_ocular(true)``, i.e. the mean point error of
    ``normalise(pred, true)`` and ``normalise(true)`` after both are centred on the true mean.
    """
    lm = _check(lm)
    ref = lm if reference is None else _check(reference)
    centre = ref.mean(-2, keepdims=True) if isinstance(ref, np.ndarray) else ref.mean(-2, keepdim=True)
    scale = inter_ocular(ref)[..., None, None]
    return (lm - centre) / scale


def scale_landmarks(lm, from_size, to_size):
    """Landmarks of an image resized from ``from_size`` to ``to_size`` (int or (H, W)).

    Pixel-centre convention: x' = (x + 0.5) * W'/W - 0.5 (the same mapping as image resizing),
    so the landmark stays on the same image content.
    """
    lm = _check(lm)
    (h0, w0), (h1, w1) = (_hw(from_size), _hw(to_size))
    s = [w1 / w0, h1 / h0]
    s = torch.tensor(s, dtype=lm.dtype, device=lm.device) if torch.is_tensor(lm) else np.asarray(s, lm.dtype)
    return (lm + 0.5) * s - 0.5


def hflip(lm, width: int):
    """Landmarks of the horizontally flipped image (x -> width - 1 - x), re-indexed to iBUG order."""
    lm = _check(lm)
    out = lm[..., list(FLIP_PERMUTATION), :]
    out = out.clone() if torch.is_tensor(out) else out.copy()
    out[..., 0] = width - 1 - out[..., 0]
    return out


def _hw(size):
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    if len(size) != 2:
        raise ValueError(f"size must be an int or (H, W), got {size!r}")
    return int(size[0]), int(size[1])


def _numpy(lm) -> np.ndarray:
    lm = _check(lm)
    lm = lm.detach().cpu().numpy() if torch.is_tensor(lm) else lm
    if lm.ndim != 2:
        raise ValueError(f"drawing takes one face (68, 2), got {lm.shape}")
    return lm.astype(np.float64)


def draw(ax, lm, color=None, size: float = 8.0, lines: bool = True, numbers: bool = False,
         label: str | None = None, linewidth: float = 1.0, alpha: float = 0.9):
    """Draw one landmark set on a matplotlib ``ax``: points, connected contours, optional numbers.

    ``color=None`` colours each group (jaw, brows, nose, eyes, lips) differently; a single colour
    is better when comparing two sets (e.g. truth in lime, prediction in red). NaN points are skipped.
    """
    p = _numpy(lm)
    for name, idx in GROUPS.items():
        c = color or GROUP_COLOURS[name]
        ax.scatter(p[list(idx), 0], p[list(idx), 1], s=size, c=c, alpha=alpha, linewidths=0,
                   label=label if (name == "jaw") else None, zorder=3)
    if lines:
        names = list(GROUPS)
        for k, (idx, closed) in enumerate(CONTOURS):
            q = list(idx) + ([idx[0]] if closed else [])
            c = color or GROUP_COLOURS[names[min(k, len(names) - 1)]]
            ax.plot(p[q, 0], p[q, 1], "-", color=c, linewidth=linewidth, alpha=alpha * 0.8, zorder=2)
    if numbers:
        for i, (x, y) in enumerate(p):
            if np.isfinite(x) and np.isfinite(y):
                ax.annotate(str(i), (x, y), fontsize=6, color=color or "yellow",
                            xytext=(2, 2), textcoords="offset points")
    return ax


def _rgb(color) -> tuple[int, int, int]:
    if isinstance(color, str):
        return tuple(int(round(255 * c)) for c in to_rgb(color))
    if len(color) != 3:
        raise ValueError(f"color must be a name or (r, g, b) 0..255, got {color!r}")
    return tuple(int(c) for c in color)


def draw_on_image(image, lm, color=(0, 255, 0), radius: float | None = None, lines: bool = True,
                  thickness: int = 1) -> np.ndarray:
    """Return a copy of ``image`` (uint8 H, W, 3 RGB) with the landmarks drawn by OpenCV (anti-aliased).

    ``radius`` defaults to 1/128 of the image width (at least half a pixel).
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3), got {img.dtype} {img.shape}")
    img = np.ascontiguousarray(img.copy())
    p = _numpy(lm)
    col = _rgb(color)
    r = radius if radius is not None else max(0.5, img.shape[1] / 128)
    fixed = lambda q: np.round(q * 16).astype(np.int32)  # noqa: E731  1/16-pixel precision
    if lines:
        for idx, closed in CONTOURS:
            q = p[list(idx)]
            if np.isfinite(q).all():
                cv2.polylines(img, [fixed(q)], closed, col, thickness, cv2.LINE_AA, shift=4)
    for x, y in p:
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(img, tuple(fixed(np.array([x, y]))), int(round(r * 16)), col, -1, cv2.LINE_AA, shift=4)
    return img


def show_landmarks(image, lm, ax=None, title: str | None = None, colors=None, labels=None,
                   figsize=(4, 4), **draw_kw):
    """Show an image with one or several landmark sets drawn over it; returns the axes.

    ``lm`` is (68, 2) or a list / (K, 68, 2) of sets (e.g. truth and prediction), drawn in
    ``colors`` (default: per-group colours for one set, lime/red/cyan/... for several) with a
    legend when ``labels`` are given. Keyword arguments go to :func:`draw`.
    """
    img = as_uint8_images(image)[0]
    sets = lm if isinstance(lm, (list, tuple)) else [lm]
    sets = [s.detach().cpu().numpy() if torch.is_tensor(s) else np.asarray(s) for s in sets]
    if len(sets) == 1 and sets[0].ndim == 3:
        sets = list(sets[0])
    if colors is None:
        colors = [None] if len(sets) == 1 else ["lime", "red", "cyan", "yellow", "magenta"]
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    ax.imshow(img)
    for k, s in enumerate(sets):
        draw(ax, s, color=colors[k % len(colors)], label=labels[k] if labels else None, **draw_kw)
    ax.set_xlim(-0.5, img.shape[1] - 0.5)
    ax.set_ylim(img.shape[0] - 0.5, -0.5)
    if labels:
        ax.legend(loc="lower right", fontsize=7, framealpha=0.6, markerscale=2)
    return clean_axes(ax, title)
