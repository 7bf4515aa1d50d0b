"""One face and its ground truth: the expression presets, :func:`render` and :func:`au_sweep`.

:func:`render` draws a person (an id or an :class:`~helpers.synthfaces.geometry.Identity`) with
17 AU intensities at a head pose, optionally behind a face mask, from the 68 landmarks that
:mod:`helpers.synthfaces.geometry` computes, with the rasteriser of :mod:`helpers.synthfaces.render`;
it returns the picture with every label (see the package docstring for the AU model).
"""
from __future__ import annotations

import cv2
import numpy as np

from helpers.synthfaces import geometry as geo
from helpers.synthfaces.geometry import AUS, Identity, check_aus, identity_params
from helpers.synthfaces.render import draw_face, draw_face_mask, sample_scene

__all__ = ["EXPRESSIONS", "EXPRESSION_NAMES", "SMILE_THRESHOLD", "MASK_STYLES", "SIZE_RANGE", "expression_aus",
           "render", "au_sweep"]

EXPRESSIONS: dict[str, dict[int, float]] = {
    "natural": {},
    "happiness": {6: 1.0, 12: 1.0},
    "sadness": {1: 1.0, 4: 1.0, 15: 1.0},
    "surprise": {1: 1.0, 2: 1.0, 5: 1.0, 26: 1.0},
    "fear": {1: 1.0, 2: 1.0, 4: 1.0, 5: 1.0, 7: 1.0, 20: 1.0, 26: 1.0},
    "anger": {4: 1.0, 5: 1.0, 7: 1.0, 23: 1.0},
    "disgust": {9: 1.0, 15: 1.0},  # + AU16 in the thesis: not one of the 17 AUs, left out
    "contempt": {12: 1.0, 14: 1.0},
}
EXPRESSION_NAMES = tuple(EXPRESSIONS)
SMILE_THRESHOLD = 1.0
MASK_STYLES = ("surgical", "cloth")
SIZE_RANGE = (16, 1024)


def expression_aus(expression, intensity: float = 1.0) -> np.ndarray:
    """(17,) float32 AUs of an expression (name or id 0..7) at ``intensity`` (clipped to [0, 3])."""
    if isinstance(expression, (int, np.integer)):
        if not 0 <= expression < len(EXPRESSION_NAMES):
            raise ValueError(f"expression id must be in 0..7, got {expression}")
        expression = EXPRESSION_NAMES[int(expression)]
    if expression not in EXPRESSIONS:
        raise ValueError(f"unknown expression {expression!r}; expected one of {EXPRESSION_NAMES}")
    if not np.isfinite(intensity) or intensity < 0:
        raise ValueError(f"intensity must be finite and >= 0, got {intensity}")
    return check_aus({au: w * intensity for au, w in EXPRESSIONS[expression].items()})


def check_size(size):
    """``size`` as an int if it is one in :data:`SIZE_RANGE`, else ValueError."""
    if not isinstance(size, (int, np.integer)) or not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        raise ValueError(f"size must be an int in {SIZE_RANGE} (64/128/256 are typical), got {size!r}")
    return int(size)


def _check_pose(pose):
    p = np.asarray(pose, dtype=np.float64)
    if p.shape != (3,) or not np.all(np.isfinite(p)) or np.abs(p).max() > 60:
        raise ValueError(f"pose must be (yaw, pitch, roll) degrees within +-60 (+-20 is the designed "
                         f"range), got {pose!r}")
    return p


def render(identity, aus=None, pose=(0.0, 0.0, 0.0), size: int = 128, mask: str | None = None,
           seed: int = 0, *, scale: float = 1.0, shift=(0.0, 0.0), gaze=None, identity_seed: int = 0,
           expression: int = -1, mask_colour: int | None = None) -> dict:
    """Draw one face and return it with its ground truth.

    ``identity``: person id (int) or an :class:`Identity`; ``aus``: (17,) in ``AUS`` order or a
    dict {au: intensity} (None = all zero); ``pose``: (yaw, pitch, roll) degrees; ``mask``: None,
    "surgical" or "cloth"; ``seed`` picks background, light, clothes, gaze and mask colour.
    Returns a dict: image (H, W, 3 uint8, masked if a mask was drawn), unmasked, landmarks
    (68, 2 float32 px), aus (17 float32), identity, expression (the value passed, -1 = unknown),
    smiling (AU12 >= 1.0), pose (3 float32), mask (H, W uint8, 1 = face-mask pixel), mask_style.
    """
    ident = identity if isinstance(identity, Identity) else identity_params(identity, identity_seed)
    size = check_size(size)
    p = _check_pose(pose)
    a = check_aus(np.zeros(len(AUS)) if aus is None else aus)
    if mask is not None and mask not in MASK_STYLES:
        raise ValueError(f"mask must be None or one of {MASK_STYLES}, got {mask!r}")
    if not 0.25 <= scale <= 4:
        raise ValueError(f"scale must be in [0.25, 4], got {scale}")
    scene = sample_scene(np.random.default_rng((int(seed), 0xBEEF)))
    if gaze is not None:
        scene["gaze"] = (float(gaze[0]), float(gaze[1]))
    P = geo.face_points(ident, a, scene["gaze"])
    return draw(ident, P, a, p, size, mask, scene, scale, shift, expression, mask_colour)


def draw(ident, P, a, p, size, mask, scene, scale, shift, expression=-1, mask_colour=None):
    """Project the face points ``P`` (:func:`helpers.synthfaces.geometry.face_points` of ``ident``
    with AUs ``a``) at pose ``p`` into a ``size`` px image framed by ``scale``/``shift``, draw it in
    ``scene`` (optionally behind a ``mask``) and return :func:`render`'s dict."""
    if size < 64:  # small images: draw at >= 64 px and area-average down (thin lines stay thin)
        k = -(-64 // size)
        big = draw(ident, P, a, p, size * k, mask, scene, scale, shift, expression, mask_colour)
        for key in ("image", "unmasked"):
            big[key] = cv2.resize(big[key], (size, size), interpolation=cv2.INTER_AREA)
        m = cv2.resize(big["mask"].astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
        big["mask"] = (m > 0).astype(np.uint8)
        big["landmarks"] = ((big["landmarks"] + 0.5) / k - 0.5).astype(np.float32)
        return big
    P2 = geo.project(P, p, size, scale, shift)
    unit = geo.FRAME_UNIT * size * scale
    img, shade = draw_face(P2, ident, dict(zip(AUS, a.tolist())), scene, size, unit, p)
    lm = P2[:68].astype(np.float32)
    out, m = img, np.zeros((size, size), np.uint8)
    if mask is not None:
        ci = scene["mask_colour_index"] if mask_colour is None else int(mask_colour)
        out, m = draw_face_mask(img, lm, mask, ci, scene["mask_pattern"], shade)
    return dict(image=out, unmasked=img if mask is not None else img.copy(), landmarks=lm, aus=a,
                identity=int(ident.id), expression=int(expression),
                smiling=bool(a[AUS.index(12)] >= SMILE_THRESHOLD), pose=np.asarray(p, np.float32),
                mask=m, mask_style=mask)


def au_sweep(identity: int = 0, au: int = 12, steps=(0.0, 0.4, 0.8, 1.2, 1.6, 2.0), size: int = 128,
             base=None, pose=(0.0, 0.0, 0.0), seed: int = 0) -> list[dict]:
    """Render one person with one AU swept over ``steps`` (the ConvNeXt GANimation thesis' Fig. 2.1), others at ``base``."""
    if au not in AUS:
        raise ValueError(f"au must be one of {AUS}, got {au!r}")
    b = check_aus(np.zeros(len(AUS)) if base is None else base)
    out = []
    for v in steps:
        a = b.copy()
        a[AUS.index(au)] = v
        out.append(render(identity, a, pose, size, None, seed))
    return out
