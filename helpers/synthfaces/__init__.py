"""SynthFaces: procedural faces with exact ground truth, the course's embedded default data set.

No face data set may be committed and nothing is downloaded in CI, so the course draws its own
faces. Each picture is a parametric person (face shape, jaw, skin tone, eye shape and colour,
brows, nose, lips, hair style and colour, optional glasses and beard) showing 17 Action Units
(the OpenFace AUs of the ConvNeXt GANimation thesis) at a small head pose, lit from one side, in front of a random
background, optionally behind a surgical or cloth face mask. Because the picture is drawn *from*
the 68 iBUG landmarks, every label is exact: landmarks, AU intensities, identity, expression,
smiling, pose, the mask pixels and the same face without the mask.

Pieces (geometry and pixels are separate so landmark tests need no drawing):

- ``helpers.synthfaces.geometry``: identity parameters (``identity_params(id)``, deterministic,
  independent of the data-set seed: person 17 is the same face in every split), the AU model and
  the pose projection -> 68 landmarks + extra contour points (skull, hairline, hair, ears, ...).
- ``helpers.synthfaces.render``: the OpenCV rasteriser (anti-aliased, 1/16 px precision) and
  the face-mask shapes.
- this module: the public API (``render``, ``SynthFaces``, ``SynthFacesDataset``, ``export``,
  ``EXPRESSIONS``) and the command line (``bench``, ``gallery``, ``export``).

AU model (face units: the cheekbone half-width is ~1 unit = 0.3 x image size; y grows downwards;
every displacement is per unit of intensity, linear unless said; intensities are clipped to
[0, 3]; 2.0 is the usual maximum, as in the ConvNeXt GANimation thesis):

====  =====================  ===================================================  ====================
AU    name                   landmarks moved (per unit intensity)                 drawn detail
====  =====================  ===================================================  ====================
1     inner brow raiser      brows up 0.075 at the inner ends (21, 22), tapering  central forehead
                             to 0.011 at the outer ends                           lines
2     outer brow raiser      brows up 0.075 at the outer ends (17, 26), tapering  lateral forehead
                             to 0.011 at the inner ends                           lines
4     brow lowerer           brows down 0.045 inner .. 0.018 outer; inner ends    vertical furrow
                             0.03 towards the midline; upper-lid height -5 %      between the brows
5     upper lid raiser       upper-lid height above the eye axis (37, 38, 43,     more sclera shows
                             44) +30 %                                            above the iris
6     cheek raiser           lower-lid height (40, 41, 46, 47) -20 %, upper -5 %, crow's feet, lid
                             outer eye corners up 0.012                           bulge, folds
7     lid tightener          lower-lid height -35 %, upper-lid height -15 %       lower-lid bulge
9     nose wrinkler          nostrils 31-35 up 0.022 (33) .. 0.034 (wings), 6 %   nose wrinkles,
                             wider; bridge 28-30 up <= 0.014; inner brows down    nasolabial folds
                             0.015; mouth up 0.012; lid heights -3 % / -8 %
10    upper lip raiser       upper lip up 0.025 (outer lip 8 % thicker), so the   upper teeth show,
                             lips part; corners up 0.012; nostrils up 0.012;      nasolabial folds
                             mouth up 0.008
12    lip corner puller      corners (48, 54, 60, 64) out 0.055 and up 0.06, the  nasolabial folds,
                             lips follow (x in proportion, y by u^2 towards the   crow's feet
                             corners); upper lip -5 %; lower-lid height -6 %
14    dimpler                corners in 0.04 and up 0.006                         dimples
15    lip corner depressor   corners down 0.05 and in 0.012                       marionette lines
17    chin raiser            chin (6-10) up <= 0.03; lower lip up 0.018 against   chin-lip sulcus
                             the upper; lower lip 8 % thicker; mouth up 0.012
20    lip stretcher          corners out 0.06, down 0.01; lips 6 % thinner        stretch lines
23    lip tightener          red-lip thickness -28 % (51 down, 57 up towards      thin lips
                             the lip line); corners in 0.015
25    lips part              inner upper lip up 0.02, lower lip down 0.035        mouth interior,
                             (outer lips follow, tapering to 0 at the corners)    teeth
26    jaw drop               chin down 0.11 (jaw points by s^2, ears fixed);      open mouth, teeth,
                             lower lip down 0.094; corners down 0.039, in 0.017;  tongue
                             lower face 4 % narrower
45    blink                  lid opening x (1 - min(i / 2, 1)); the lids meet 35  closed lids
                             % of the way up from the lower lid; shut at >= 2
====  =====================  ===================================================  ====================

Joint effects add up (synergy AU6+AU12+AU25 gives a smile with teeth; AU23 thins the lips that
AU25 parts, the "competition" of the ConvNeXt GANimation thesis). The lips never cross, the lids never cross.

Expressions (the ConvNeXt GANimation thesis' Table 2.2) are AU presets scaled by an intensity (``expression_aus``):
natural (none), happiness AU6+12, sadness AU1+4+15, surprise AU1+2+5+26, fear
AU1+2+4+5+7+20+26, anger AU4+5+7+23, disgust AU9+15 (the thesis adds AU16, lower lip depressor,
which is not among the 17 OpenFace AUs and is therefore left out), contempt AU12+14.
``smiling`` is defined as AU12 >= ``SMILE_THRESHOLD`` (1.0), whatever the expression id.

Sampling (``SynthFaces(seed)[index]``, deterministic by (seed, index)): identity uniform in
``range(n_identities)``; expression uniform over the 8 presets with intensity U(0.6, 2.0) plus,
for each AU with probability 0.25, jitter U(0, 0.3) (``expression=None`` instead draws every AU
independently: active with probability 0.3, U(0, 2), expression id -1); yaw U(-r, r), pitch
U(-0.6r, 0.6r), roll U(-0.5r, 0.5r) degrees with r = ``pose_range``; framing scale U(0.92, 1.04)
and shift +-3 % (clamped so all 68 landmarks stay inside the image); gaze, light direction,
ambient light, colour tint, clothes and background (4 styles) random; a face mask with
probability ``mask_prob`` (style uniform, 5-7 colours, cloth masks plain/striped/dotted).

Pixels: shapes are filled with OpenCV anti-aliasing at 1/16 px precision; sizes below 64 px are
drawn at >= 64 px and area-averaged down (landmarks follow the pixel-centre convention, the mask
map marks every pixel the face mask touches, so ``image == unmasked`` wherever ``mask == 0``).

Check against a real detector: dlib's iBUG 68-point predictor finds 30/30 neutral frontal
SynthFaces at 256 px and lands at NME 0.041 (mean error / outer-eye-corner distance) from the
ground truth (eyes 0.021, mouth 0.032, jaw 0.065); it also sees AU25+26 open the mouth and AU12
widen it (tests/test_synthfaces.py).

Speed: ``python -m helpers.synthfaces bench --size 128 --n 500`` (one thread) prints faces per
second of wall clock and of CPU time; about 200-330 faces/CPU-s at 128 px (half of them masked) on
the shared 2-core development machine, more on an idle core.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from helpers.core.runtime import bar as tqdm

from helpers.core import runtime
from helpers.core.files import atomic_write
from helpers.core.images import to_tensor
from helpers.faces.data import FaceWriter
from helpers.faces.masks import face_mask_polygon
from helpers.synthfaces import geometry as geo
from helpers.synthfaces import render as ras
from helpers.synthfaces.geometry import AU_NAMES, AUS, Identity, check_aus, identity_params, landmarks

__all__ = ["AUS", "AU_NAMES", "EXPRESSIONS", "EXPRESSION_NAMES", "SMILE_THRESHOLD", "MASK_STYLES",
           "Identity", "identity_params", "landmarks", "expression_aus", "render", "SynthFaces",
           "SynthFacesDataset", "export", "face_mask_polygon", "au_sweep", "bench", "gallery"]

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
GALLERY_IDS = (3, 16, 19, 23, 4, 6)  # a varied set of people for figures


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


def _check_size(size):
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
    size = _check_size(size)
    p = _check_pose(pose)
    a = check_aus(np.zeros(len(AUS)) if aus is None else aus)
    if mask is not None and mask not in MASK_STYLES:
        raise ValueError(f"mask must be None or one of {MASK_STYLES}, got {mask!r}")
    if not 0.25 <= scale <= 4:
        raise ValueError(f"scale must be in [0.25, 4], got {scale}")
    scene = ras.sample_scene(np.random.default_rng((int(seed), 0xBEEF)))
    if gaze is not None:
        scene["gaze"] = (float(gaze[0]), float(gaze[1]))
    P = geo.face_points(ident, a, scene["gaze"])
    return _draw(ident, P, a, p, size, mask, scene, scale, shift, expression, mask_colour)


def _draw(ident, P, a, p, size, mask, scene, scale, shift, expression=-1, mask_colour=None):
    if size < 64:  # small images: draw at >= 64 px and area-average down (thin lines stay thin)
        k = -(-64 // size)
        big = _draw(ident, P, a, p, size * k, mask, scene, scale, shift, expression, mask_colour)
        for key in ("image", "unmasked"):
            big[key] = cv2.resize(big[key], (size, size), interpolation=cv2.INTER_AREA)
        m = cv2.resize(big["mask"].astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
        big["mask"] = (m > 0).astype(np.uint8)
        big["landmarks"] = ((big["landmarks"] + 0.5) / k - 0.5).astype(np.float32)
        return big
    P2 = geo.project(P, p, size, scale, shift)
    unit = geo.FRAME_UNIT * size * scale
    img, shade = ras.draw_face(P2, ident, dict(zip(AUS, a.tolist())), scene, size, unit, p)
    lm = P2[:68].astype(np.float32)
    out, m = img, np.zeros((size, size), np.uint8)
    if mask is not None:
        ci = scene["mask_colour_index"] if mask_colour is None else int(mask_colour)
        out, m = ras.draw_face_mask(img, lm, mask, ci, scene["mask_pattern"], shade)
    return dict(image=out, unmasked=img if mask is not None else img.copy(), landmarks=lm, aus=a,
                identity=int(ident.id), expression=int(expression),
                smiling=bool(a[AUS.index(12)] >= SMILE_THRESHOLD), pose=np.asarray(p, np.float32),
                mask=m, mask_style=mask)


class SynthFaces:
    """A virtual data set of ``length`` faces, deterministic by (seed, index).

    ``expression``: "random" (a preset drawn per sample), a preset name (always that one), or
    None (independent random AUs, expression id -1). ``intensity``: range of the preset scale.
    ``identities``: optional explicit list of person ids to draw from (e.g. disjoint splits);
    otherwise ``range(n_identities)``. ``mask_prob``: chance of a face mask. ``pose_range``: r
    in degrees (see the module docstring). ``jitter``: random framing scale/shift.
    ``sample(i)`` returns the dict of :func:`render` plus ``index`` and ``intensity``.
    """

    def __init__(self, seed: int = 0, size: int = 128, n_identities: int = 10_000,
                 expression: str | None = "random", mask_prob: float = 0.0, pose_range: float = 20.0,
                 *, intensity=(0.6, 2.0), au_jitter: float = 0.3, mask_styles=MASK_STYLES,
                 identities=None, jitter: bool = True, length: int = 1_000_000, identity_seed: int = 0):
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        self.seed, self.size = int(seed), _check_size(size)
        if expression not in (None, "random") and expression not in EXPRESSIONS:
            raise ValueError(f"expression must be 'random', None or one of {EXPRESSION_NAMES}, got {expression!r}")
        if not 0.0 <= mask_prob <= 1.0:
            raise ValueError(f"mask_prob must be in [0, 1], got {mask_prob}")
        if not 0.0 <= pose_range <= 45.0:
            raise ValueError(f"pose_range must be in [0, 45] degrees, got {pose_range}")
        if not (len(intensity) == 2 and 0 <= intensity[0] <= intensity[1] <= geo.AU_MAX):
            raise ValueError(f"intensity must be (low, high) within [0, {geo.AU_MAX}], got {intensity}")
        if any(s not in MASK_STYLES for s in mask_styles) or not mask_styles:
            raise ValueError(f"mask_styles must be a non-empty subset of {MASK_STYLES}, got {mask_styles}")
        if identities is not None:
            identities = np.asarray(identities, dtype=np.int64)
            if identities.ndim != 1 or len(identities) == 0 or identities.min() < 0:
                raise ValueError("identities must be a non-empty 1-D list of ints >= 0")
        elif n_identities < 1:
            raise ValueError(f"n_identities must be >= 1, got {n_identities}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.n_identities, self.identities = int(n_identities), identities
        self.expression, self.mask_prob, self.pose_range = expression, float(mask_prob), float(pose_range)
        self.intensity, self.au_jitter, self.mask_styles = tuple(intensity), float(au_jitter), tuple(mask_styles)
        self.jitter, self.length, self.identity_seed = bool(jitter), int(length), int(identity_seed)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.sample(index)

    def __repr__(self) -> str:
        return (f"SynthFaces(seed={self.seed}, size={self.size}, n_identities={self.n_identities}, "
                f"expression={self.expression!r}, mask_prob={self.mask_prob}, pose_range={self.pose_range})")

    def params(self, index: int) -> dict:
        """The random choices of sample ``index`` (cheap: no drawing)."""
        if not isinstance(index, (int, np.integer)) or not 0 <= index < self.length:
            raise IndexError(f"index must be an int in [0, {self.length}), got {index!r}")
        r = np.random.default_rng((self.seed, int(index)))
        ids = self.identities
        ident = int(ids[r.integers(len(ids))]) if ids is not None else int(r.integers(self.n_identities))
        inten = float(r.uniform(*self.intensity))
        if self.expression is None:
            aus = np.where(r.uniform(size=len(AUS)) < 0.3, r.uniform(0, 2, len(AUS)), 0.0)
            expr = -1
        else:
            expr = int(r.integers(8)) if self.expression == "random" else EXPRESSION_NAMES.index(self.expression)
            aus = expression_aus(expr, inten).astype(np.float64)
            aus += np.where(r.uniform(size=len(AUS)) < 0.25, r.uniform(0, self.au_jitter, len(AUS)), 0.0)
        pr = self.pose_range
        pose = (r.uniform(-pr, pr), r.uniform(-0.6 * pr, 0.6 * pr), r.uniform(-0.5 * pr, 0.5 * pr))
        masked = r.uniform() < self.mask_prob
        style = self.mask_styles[int(r.integers(len(self.mask_styles)))]
        sc = r.uniform(0.92, 1.04) if self.jitter else 1.0
        sh = r.uniform(-0.03, 0.03, 2) if self.jitter else np.zeros(2)
        return dict(identity=ident, aus=check_aus(aus), expression=expr, intensity=inten, pose=pose,
                    mask=style if masked else None, scale=sc, shift=sh, seed=int(r.integers(1 << 31)))

    def _fit(self, P, pose, sc, sh):
        """Clamp the framing so that every landmark lies inside the image (1 px margin)."""
        P = P[:68]
        n = self.size
        for _ in range(8):
            lm = geo.project(P, pose, n, sc, (0.0, 0.0))
            lo, hi = (1.0 - lm.min(0)) / n, (n - 2.0 - lm.max(0)) / n
            if np.all(lo <= hi):
                return sc, np.clip(sh, lo, hi)
            sc *= 0.95
        return sc, sh

    def sample(self, index: int) -> dict:
        """Render sample ``index``: the dict of :func:`render` plus ``index`` and ``intensity``."""
        q = self.params(index)
        ident = identity_params(q["identity"], self.identity_seed)
        scene = ras.sample_scene(np.random.default_rng((q["seed"], 0xBEEF)))
        P = geo.face_points(ident, q["aus"], scene["gaze"])
        sc, sh = self._fit(P, q["pose"], q["scale"], q["shift"])
        out = _draw(ident, P, q["aus"], np.asarray(q["pose"]), self.size, q["mask"], scene, sc,
                    tuple(sh), q["expression"])
        out.update(index=int(index), intensity=q["intensity"])
        return out


class SynthFacesDataset(torch.utils.data.Dataset):
    """SynthFaces rendered on the fly as a torch Dataset of dicts of tensors.

    Keys as ``helpers.faces.data.FaceFolder``: image and unmasked (3, H, W) in [-1, 1], landmarks
    (68, 2), aus (17,), identity, expression, smiling (int64 scalars), pose (3,), mask (1, H, W)
    float in {0, 1}, index. Arguments are those of :class:`SynthFaces`; ``length`` sets len().
    Works with DataLoader workers (each item depends only on (seed, index)).
    """

    def __init__(self, seed: int = 0, size: int = 128, length: int = 10_000, **kw):
        self.faces = SynthFaces(seed=seed, size=size, length=length, **kw)

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} faces")
        s = self.faces.sample(int(index) % len(self))
        return {
            "image": to_tensor(s["image"]), "unmasked": to_tensor(s["unmasked"]),
            "landmarks": torch.from_numpy(s["landmarks"]), "aus": torch.from_numpy(s["aus"]),
            "identity": torch.tensor(s["identity"], dtype=torch.int64),
            "expression": torch.tensor(s["expression"], dtype=torch.int64),
            "smiling": torch.tensor(int(s["smiling"]), dtype=torch.int64),
            "pose": torch.from_numpy(s["pose"]),
            "mask": torch.from_numpy(s["mask"].astype(np.float32))[None],
            "index": torch.tensor(s["index"], dtype=torch.int64),
        }


#: what :func:`bank` can collect per face, and how each is stored
BANK_KEYS = ("image", "unmasked", "mask", "landmarks", "aus", "identity", "expression", "smiling", "pose")


def _bank_arrays(faces: "SynthFaces", start: int, n: int, keys, progress: bool) -> dict[str, np.ndarray]:
    S = faces.size
    out = {}
    for k in keys:
        if k in ("image", "unmasked"):
            out[k] = np.empty((n, 3, S, S), np.uint8)
        elif k == "mask":
            out[k] = np.empty((n, 1, S, S), np.uint8)
        elif k == "landmarks":
            out[k] = np.empty((n, 68, 2), np.float32)
        elif k == "aus":
            out[k] = np.empty((n, len(AUS)), np.float32)
        elif k == "pose":
            out[k] = np.empty((n, 3), np.float32)
        else:
            out[k] = np.empty((n,), np.int64)
    for i in tqdm(range(n), desc=f"rendering {n} SynthFaces at {S} px", disable=not progress,
                  mininterval=1.0, leave=False):
        smp = faces.sample(start + i)
        for k in keys:
            v = smp[k]
            if k in ("image", "unmasked"):
                out[k][i] = np.asarray(v).transpose(2, 0, 1)
            elif k == "mask":
                out[k][i, 0] = np.asarray(v)
            else:
                out[k][i] = v
    return out


def bank(n: int, size: int = 64, seed: int = 0, start: int = 0, keys=("image",), *,
         progress: bool = True, cache: bool = True, **kwargs) -> dict[str, torch.Tensor]:
    """Faces ``start .. start+n-1`` of ``SynthFaces(seed, size, **kwargs)`` as tensors, rendered once.

    ``keys`` chooses what to keep (:data:`BANK_KEYS`): images as uint8 (n, 3, S, S), ``mask`` uint8
    (n, 1, S, S), ``landmarks`` (n, 68, 2), ``aus`` (n, 17), ``pose`` (n, 3) float32, ``identity``,
    ``expression``, ``smiling`` int64 (n,). Convert images with ``u8.float() / 127.5 - 1``.

    The result is kept in memory for the process and, with ``cache=True``, on disk under
    ``runs/_cache`` (checked against a fresh rendering of its first and last face, so a changed
    renderer never serves stale pictures). Every method trains on data made by this function.
    """
    keys = tuple(keys)
    bad = [k for k in keys if k not in BANK_KEYS]
    if bad or not keys:
        raise ValueError(f"keys must be a non-empty subset of {BANK_KEYS}, got {keys}")
    if n < 1 or start < 0:
        raise ValueError(f"need n >= 1 and start >= 0, got n={n}, start={start}")
    kwargs.setdefault("length", max(start + n, 1_000_000))
    faces = SynthFaces(seed=seed, size=size, **kwargs)
    spec = json.dumps({"n": n, "size": size, "seed": seed, "start": start, "keys": keys,
                       "kw": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in sorted(kwargs.items())}},
                      sort_keys=True, default=str)
    mem = _BANKS.get(spec)
    if mem is not None:
        return mem
    path = runtime.RUNS_DIR / "_cache" / f"synthfaces-{hashlib.sha1(spec.encode()).hexdigest()[:16]}.npz"
    arrays = None
    if cache and path.exists():
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in keys}
            probe = {i: _bank_arrays(faces, start + i, 1, keys, False) for i in (0, n - 1)}
            if any(not np.array_equal(arrays[k][i], probe[i][k][0]) for i in probe for k in keys):
                arrays = None
        except Exception:  # noqa: BLE001 - a damaged cache is rendered again
            arrays = None
    if arrays is None:
        arrays = _bank_arrays(faces, start, n, keys, progress)
        if cache:
            def write(f):
                np.savez(f, **arrays)
            atomic_write(path, write)
    out = {k: torch.from_numpy(v) for k, v in arrays.items()}
    if len(_BANKS) >= 8:
        _BANKS.pop(next(iter(_BANKS)))
    _BANKS[spec] = out
    return out


_BANKS: dict[str, dict[str, torch.Tensor]] = {}


def split_of_identity(identity: int) -> str:
    """Fixed person-disjoint split: identity % 10 -> 0..7 train, 8 val, 9 test."""
    k = int(identity) % 10
    return "train" if k < 8 else ("val" if k == 8 else "test")


def export(out_dir, n: int, seed: int = 0, size: int = 128, *, split: str | None = "identity",
           progress: bool = True, image_format: str = ".png", **kw) -> Path:
    """Write ``n`` SynthFaces (indices 0..n-1) to ``out_dir`` in the on-disk face format.

    Uses ``helpers.faces.data.FaceWriter``: images + manifest with subject (identity), expression,
    smiling, split, source, landmarks, AUs, pose, and for masked data sets the unmasked image and
    the mask. ``split="identity"`` assigns :func:`split_of_identity`; a split name gives all
    rows that split; None leaves it out. Re-runnable: files already written are skipped.
    ``kw`` goes to :class:`SynthFaces` (expression, mask_prob, pose_range, ...).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    faces = SynthFaces(seed=seed, size=size, length=max(n, kw.pop("length", n)), **kw)
    with_mask = faces.mask_prob > 0
    with FaceWriter(out_dir, skip_existing=True, image_format=image_format) as w:
        for i in tqdm(range(n), desc="export SynthFaces", disable=not progress):
            file = f"{i:06d}{image_format}"
            if file in w and (Path(out_dir) / file).exists():
                continue
            s = faces.sample(i)
            sp = split_of_identity(s["identity"]) if split == "identity" else split
            extra = dict(unmasked=s["unmasked"], mask=s["mask"]) if with_mask else {}
            w.add(s["image"], file, landmarks=s["landmarks"], aus=s["aus"], pose=s["pose"],
                  identity=s["identity"], expression=s["expression"] if s["expression"] >= 0 else None,
                  smiling=int(s["smiling"]), split=sp, source=f"synthfaces:seed={seed}", **extra)
    return Path(out_dir)


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


def bench(size: int = 128, n: int = 500, mask_prob: float = 0.5, seed: int = 0) -> dict:
    """Faces per second of ``SynthFaces.sample`` on ONE thread.

    Returns wall-clock and CPU-time rates, and the best CPU-time rate over batches of 50 faces
    (closest to an idle core when the machine is shared).
    """
    old = cv2.getNumThreads(), torch.get_num_threads()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    try:
        faces = SynthFaces(seed=seed, size=size, mask_prob=mask_prob)
        for i in range(10):
            faces.sample(i)  # warm-up (imports, caches)
        w0, c0 = time.perf_counter(), time.process_time()
        batches, b0 = [], c0
        for i in range(n):
            faces.sample(10 + i)
            if (i + 1) % 50 == 0:
                t = time.process_time()
                batches.append(50 / max(t - b0, 1e-9))
                b0 = t
        w, c = time.perf_counter() - w0, time.process_time() - c0
    finally:  # leave the caller's thread settings as they were
        cv2.setNumThreads(old[0])
        torch.set_num_threads(old[1])
    return dict(size=size, n=n, mask_prob=mask_prob, faces_per_s=n / w, faces_per_cpu_s=n / max(c, 1e-9),
                best_batch_faces_per_cpu_s=max(batches, default=n / max(c, 1e-9)))


def _atomic_savefig(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=100)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def gallery_images(size: int = 128, identities=GALLERY_IDS, intensity: float = 1.5, seed: int = 0):
    """Rows: identities; columns: the 8 expressions (frontal), 2 posed, 2 masked. (rows, cols, H, W, 3)."""
    rows = []
    r = np.random.default_rng(seed)
    for k, ident in enumerate(identities):
        row = [render(ident, expression_aus(e, intensity), size=size, seed=seed + k)["image"]
               for e in range(8)]
        for j in range(2):
            pose = (r.choice([-1, 1]) * r.uniform(12, 20), r.uniform(-10, 10), r.uniform(-8, 8))
            row.append(render(ident, expression_aus(int(r.integers(8)), intensity), pose, size,
                              seed=seed + k)["image"])
        for style in MASK_STYLES:
            pose = (r.uniform(-15, 15), r.uniform(-8, 8), r.uniform(-6, 6))
            row.append(render(ident, expression_aus(int(r.integers(8)), 1.0), pose, size, style,
                              seed=seed + 100 * k + len(style))["image"])
        rows.append(np.stack(row))
    return np.stack(rows)


def gallery(path, size: int = 128, identities=GALLERY_IDS, seed: int = 0) -> Path:
    """Save the README gallery: identities x (8 expressions, 2 posed, 2 masked), pixels 1:1."""
    from matplotlib.figure import Figure  # no pyplot: leaves a notebook's backend alone

    g = gallery_images(size, identities, seed=seed)
    nr, nc, pad = g.shape[0], g.shape[1], 2
    mosaic = np.full((nr * (size + pad) - pad, nc * (size + pad) - pad, 3), 255, np.uint8)
    for i in range(nr):
        for j in range(nc):
            mosaic[i * (size + pad):i * (size + pad) + size, j * (size + pad):j * (size + pad) + size] = g[i, j]
    titles = list(EXPRESSION_NAMES) + ["posed", "posed", "surgical mask", "cloth mask"]
    dpi, left, top, bottom = 100, 70, 46, 4  # margins in pixels
    h, w = mosaic.shape[:2]
    W, H = w + left + 4, h + top + bottom
    fig = Figure(figsize=(W / dpi, H / dpi), dpi=dpi)
    ax = fig.add_axes((left / W, bottom / H, w / W, h / H))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([(j + 0.5) * (size + pad) for j in range(nc)], titles, fontsize=8)
    ax.set_yticks([(i + 0.5) * (size + pad) for i in range(nr)], [f"person {k}" for k in identities], fontsize=8)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for sp in ax.spines.values():
        sp.set_visible(False)
    fig.text(0.5, 1 - 8 / H, "SynthFaces: people x expressions (the ConvNeXt GANimation thesis' Table 2.2, intensity 1.5), "
             "head pose, face masks", ha="center", va="top", fontsize=9)
    _atomic_savefig(fig, path)
    return Path(path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m helpers.synthfaces", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench", help="faces/second on one thread")
    b.add_argument("--size", type=int, default=128)
    b.add_argument("--n", type=int, default=500)
    b.add_argument("--mask-prob", type=float, default=0.5)
    g = sub.add_parser("gallery", help="write the gallery figure")
    g.add_argument("out", nargs="?", default="notebooks/figures/synthfaces_gallery.png")
    g.add_argument("--size", type=int, default=128)
    e = sub.add_parser("export", help="write faces in the on-disk format")
    e.add_argument("out")
    e.add_argument("--n", type=int, default=1000)
    e.add_argument("--size", type=int, default=128)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--mask-prob", type=float, default=0.0)
    e.add_argument("--expression", default="random", help="'random', 'none' (free AUs) or a preset name")
    args = ap.parse_args(argv)
    if args.cmd == "bench":
        r = bench(args.size, args.n, args.mask_prob)
        print(f"SynthFaces {r['size']}px, mask_prob {r['mask_prob']}, one thread: "
              f"{r['faces_per_s']:.0f} faces/s (wall), {r['faces_per_cpu_s']:.0f} faces/CPU-s, "
              f"best batch of 50: {r['best_batch_faces_per_cpu_s']:.0f} faces/CPU-s")
    elif args.cmd == "gallery":
        print(gallery(args.out, args.size))
    else:
        expr = None if args.expression == "none" else args.expression
        print(export(args.out, args.n, args.seed, args.size, mask_prob=args.mask_prob, expression=expr))

