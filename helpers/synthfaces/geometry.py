"""SynthFaces geometry: identity parameters + 17 AU intensities + head pose -> 68 landmarks.

This half of SynthFaces knows nothing about pixels, so the landmark tests are fast and the
ground truth is exact: the rasteriser (``helpers.synthfaces_render``) only draws what this
module returns. The AU displacement table is in the docstring of ``helpers.synthfaces``.

Face units: the origin is between the eyes, x to the image right, y down, z towards the camera;
the cheekbone half-width is about 1. Landmarks are built on a shallow 3-D template (the nose
sticks out about 0.3, the jaw sides lie about 0.5 behind), rotated by (yaw, pitch, roll) about
a pivot behind the face, and projected orthographically onto the image.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)
AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 17: "chin raiser",
    20: "lip stretcher", 23: "lip tightener", 25: "lips part", 26: "jaw drop", 45: "blink",
}
AU_MAX = 3.0  # intensities are clipped to [0, AU_MAX]; 2.0 is the usual maximum (the ConvNeXt GANimation thesis)

# Framing: one face unit is FRAME_UNIT * size pixels and the image centre sits at FRAME_CENTER
# (face units) for scale 1 and no shift.
FRAME_UNIT = 0.30
FRAME_CENTER = (0.0, 0.17)
PIVOT = np.array([0.0, 0.25, -0.6])  # head rotation centre (roughly the top of the neck)

# Extra (non-iBUG) points returned after the 68 landmarks, as slices of the (N, 3) array.
N_SKULL, N_HAIRLINE, N_HAIR = 13, 11, 17
_sizes = [("skull", N_SKULL), ("hairline", N_HAIRLINE), ("hair", N_HAIR), ("ear_r", 5),
          ("ear_l", 5), ("iris", 2), ("fold_r", 3), ("fold_l", 3), ("cheek", 2)]
EXTRA = {}
_start = 68
for _name, _n in _sizes:
    EXTRA[_name] = slice(_start, _start + _n)
    _start += _n
N_POINTS = _start

# hair styles: (name, how far down the outline goes in face units below the ear line)
HAIR_STYLES = ("short", "bob", "long", "buzz", "bangs", "bald", "bun")
SKIN_TONES = np.array([[255, 224, 196], [241, 194, 160], [224, 172, 130], [198, 145, 105],
                       [170, 115, 80], [141, 90, 60], [105, 68, 45], [232, 190, 172]], float)
HAIR_COLOURS = np.array([[25, 20, 18], [55, 38, 28], [95, 62, 38], [150, 105, 60],
                         [205, 170, 110], [150, 60, 30], [170, 165, 160], [235, 230, 220]], float)
HAIR_P = np.array([0.22, 0.25, 0.17, 0.1, 0.1, 0.06, 0.06, 0.04])
IRIS_COLOURS = np.array([[70, 45, 30], [110, 70, 40], [60, 100, 150], [80, 120, 80],
                         [120, 100, 60], [110, 120, 130]], float)
IRIS_P = np.array([0.35, 0.25, 0.15, 0.1, 0.1, 0.05])


@dataclass(frozen=True)
class Identity:
    """All per-person parameters (geometry in face units, colours as RGB floats 0..255)."""

    id: int
    W: float; taper: float; jaw_p: float; chin_y: float; ear_y: float; skull_top: float
    hair_y: float; temple_y: float
    ex: float; ew: float; eh: float; eh_lo: float; tilt: float; eye_y: float
    brow_y: float; brow_arch: float; brow_th: float; brow_in: float; brow_out: float
    nose_y: float; nose_w: float; nose_z: float
    mouth_y: float; mouth_w: float; lip_up: float; lip_lo: float
    ear: float
    skin: tuple; lip_col: tuple; hair_col: tuple; iris_col: tuple; brow_col: tuple
    hair_style: str; hair_volume: float; part: float
    beard: str; glasses: str; glasses_col: tuple; age: float


def _col(c):
    return tuple(np.clip(np.asarray(c, float), 0, 255).tolist())


# continuous identity parameters: name -> (low, high), drawn uniformly
_RANGES = dict(
    W=(0.9, 1.05), taper=(0.0, 0.15), jaw_p=(0.5, 0.9), chin_y=(1.36, 1.52), ear_y=(0.02, 0.12),
    skull_top=(-1.3, -1.15), hair_y=(-0.95, -0.72), temple_y=(-0.5, -0.3),
    ex=(0.39, 0.45), ew=(0.155, 0.19), eh=(0.07, 0.095), eh_lo=(0.045, 0.06), tilt=(-0.015, 0.03),
    eye_y=(-0.03, 0.03), brow_y=(-0.3, -0.22), brow_arch=(0.02, 0.06), brow_th=(0.025, 0.05),
    brow_in=(0.09, 0.14), brow_out=(0.03, 0.08), nose_y=(0.5, 0.6), nose_w=(0.14, 0.2),
    nose_z=(0.8, 1.2), mouth_w=(0.3, 0.38), lip_up=(0.05, 0.08), lip_lo=(0.065, 0.1),
    ear=(0.85, 1.15), hair_volume=(0.04, 0.2), part=(-0.4, 0.4), age=(0.0, 1.0),
)
_LO = np.array([v[0] for v in _RANGES.values()])
_HI = np.array([v[1] for v in _RANGES.values()])
_CUM = {k: np.cumsum(p) / np.sum(p) for k, p in dict(
    skin=np.ones(len(SKIN_TONES)), hair=HAIR_P, iris=IRIS_P, style=[0.3, 0.18, 0.2, 0.1, 0.1, 0.05, 0.07],
    beard=[0.72, 0.1, 0.08, 0.05, 0.05], glasses=[0.8, 0.1, 0.1], gcol=np.ones(4)).items()}
_BEARDS = ("none", "stubble", "full", "moustache", "goatee")


@lru_cache(maxsize=65536)
def identity_params(identity: int, identity_seed: int = 0) -> Identity:
    """Deterministic parameters of person ``identity`` (any int >= 0) for ``identity_seed``.

    Identities do not depend on the data-set seed: person 17 is the same face in every split.
    """
    if not isinstance(identity, (int, np.integer)) or identity < 0:
        raise ValueError(f"identity must be an int >= 0, got {identity!r}")
    r = np.random.default_rng((int(identity_seed), 0x5F3A, int(identity)))
    q = dict(zip(_RANGES, (_LO + (_HI - _LO) * r.random(len(_LO))).tolist()))
    c = dict(zip(_CUM, r.random(len(_CUM)).tolist()))
    pick = {k: int(np.searchsorted(_CUM[k], c[k], side="right")) for k in _CUM}
    f = r.random(5)  # mouth position, colour scales, beard veto
    g = r.normal(0, 1, 6)
    q["mouth_y"] = q["nose_y"] + 0.14 + (q["chin_y"] - q["nose_y"] - 0.14) * (0.3 + 0.1 * float(f[0]))
    skin = SKIN_TONES[pick["skin"]] * (0.93 + 0.12 * f[1]) + 4 * g[:3]
    lip_col = skin * [0.82, 0.55, 0.55] + [30, 0, 5] + 6 * g[3:]
    hair_col = HAIR_COLOURS[pick["hair"]] * (0.85 + 0.3 * f[2])
    iris = IRIS_COLOURS[pick["iris"]] * (0.8 + 0.4 * f[3])
    style = HAIR_STYLES[pick["style"]]
    beard = _BEARDS[pick["beard"]]
    if style in ("long", "bun") and f[4] < 0.8:
        beard = "none"
    return Identity(
        id=int(identity), **q, skin=_col(skin), lip_col=_col(lip_col), hair_col=_col(hair_col),
        iris_col=_col(iris), brow_col=_col(hair_col * 0.6 + skin * 0.1), hair_style=style,
        beard=beard, glasses=("none", "round", "rect")[pick["glasses"]],
        glasses_col=_col((float((20, 60, 120, 180)[pick["gcol"]]),) * 3),
    )


def check_aus(aus) -> np.ndarray:
    """Accept a (17,) array or a dict {au: intensity}; return a clipped float32 (17,) array."""
    if isinstance(aus, dict):
        out = np.zeros(len(AUS), np.float32)
        for k, v in aus.items():
            if k not in AUS:
                raise ValueError(f"unknown AU {k!r}; expected one of {AUS}")
            out[AUS.index(k)] = v
        aus = out
    a = np.asarray(aus, dtype=np.float32)
    if a.shape != (len(AUS),):
        raise ValueError(f"aus must have shape ({len(AUS)},) in the order {AUS}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("aus must be finite")
    return np.clip(a, 0.0, AU_MAX)


# constants of the template (hoisted out of face_points for speed)
_ANG = np.abs(np.arange(17) - 8) / 8.0 * (np.pi / 2)  # pi/2 at the ears, 0 at the chin
_JC, _JS = np.sin(_ANG), np.cos(_ANG)  # _JC: 1 at the ears; _JS: 1 at the chin
_JSIDE = np.sign(np.arange(17) - 8).astype(float)
_JS2, _JS8, _JS115 = _JS ** 2, _JS ** 8, _JS ** 1.15
_JZ = -0.5 * _JC ** 0.7 + 0.08 * _JS
_BT = np.linspace(1, 0, 5)  # brow: 1 = outer end, 0 = inner end
_BT_ARCH = np.sin(np.pi * _BT ** 0.8)
_BZ = 0.06 - 0.12 * _BT ** 2
_BROW_IDX = ((-1.0, np.arange(17, 22)), (1.0, np.arange(26, 21, -1)))
_EYE_IDX = ((-1.0, [36, 37, 38, 39], [41, 40]), (1.0, [45, 44, 43, 42], [46, 47]))
_EYE_X = np.array([1, 0.35, -0.3, -1])
_EYE_Z = np.array([-0.06, 0.03, 0.04, -0.02])
_NOSE_Z = np.array([0.06, 0.12, 0.2, 0.3])
_NOSTRIL_X = np.array([-1, -0.5, 0, 0.5, 1])
_NOSTRIL_Y = np.array([0.05, 0.085, 0.1, 0.085, 0.05])
_NOSTRIL_LIFT = np.array([1.2, 1, 0.8, 1, 1.2])
_NOSTRIL_Z = np.array([0.08, 0.15, 0.18, 0.15, 0.08])
# mouth points 48..67: |x| / half-width (u), side sign, thickness profile, which lip
_MU = np.array([1, 0.62, 0.25, 0, 0.25, 0.62, 1,  # 48..54 outer upper
                0.62, 0.25, 0, 0.25, 0.62,  # 55..59 outer lower
                0.88, 0.45, 0, 0.45, 0.88,  # 60..64 inner upper
                0.45, 0, 0.45])  # 65..67 inner lower
_MSIGN = np.array([-1, -1, -1, 0, 1, 1, 1, 1, 1, 0, -1, -1, -1, -1, 0, 1, 1, 1, 0, -1], float)
_MPROF_UP = np.array([0, 0.8, 1.05, 0.85, 1.05, 0.8, 0] + [0] * 13)
_MPROF_LO = np.array([0] * 7 + [0.8, 1.0, 1.05, 1.0, 0.8] + [0] * 8)
_MUPPER = np.array([1] * 7 + [0] * 5 + [1] * 5 + [0] * 3, bool)
_MU2 = _MU ** 2
_MTAPER = np.clip(1 - _MU ** 3, 0, 1)
_MZ = 0.1 * (1 - _MU2) - 0.03
_PHI_S = np.linspace(np.pi, 0, N_SKULL + 2)[1:-1]
_SK_C, _SK_S = np.cos(_PHI_S), np.sin(_PHI_S)
_SK_X = -np.sign(_SK_C) * np.abs(_SK_C) ** 0.85
_SK_Y = _SK_S ** 0.9
_SK_Z = -0.5 * np.abs(_SK_C) - 0.2 * _SK_S
_HL_X = np.linspace(0.86, -0.86, N_HAIRLINE)
_HL_T = np.abs(_HL_X / 0.86)
_HL_T16 = _HL_T ** 1.6
_HL_Z = 0.12 * (1 - _HL_T ** 2) - 0.25 * _HL_T ** 4
_HL_FRINGE = 0.03 * (np.arange(N_HAIRLINE) % 2) - 0.1 * _HL_T ** 4
_PHI_H = np.linspace(np.pi, 0, N_HAIR - 4)
_HA_X = -np.sign(np.cos(_PHI_H)) * np.abs(np.cos(_PHI_H)) ** 0.8
_HA_Y = np.sin(_PHI_H) ** 0.9
_HAIR_DROP = {"short": 0.15, "bob": 1.0, "long": 2.3, "buzz": 0.05, "bangs": 0.7, "bald": 0.25,
              "bun": 0.2}
_EAR_X = np.array([0.98, 1.1, 1.12, 1.02, 0.95])
_EAR_Y = np.array([-0.12, -0.08, 0.15, 0.4, 0.3])


def face_points(ident: Identity, aus, gaze=(0.0, 0.0)) -> np.ndarray:
    """Frontal 3-D points (N_POINTS, 3): the 68 iBUG landmarks, then the EXTRA point sets.

    ``aus`` is a (17,) array (order ``AUS``) or a dict; ``gaze`` = (x, y) in [-1, 1] moves the
    irises. Every AU displacement here is the one tabulated in ``helpers.synthfaces``.
    """
    a = dict(zip(AUS, check_aus(aus).tolist()))
    P = np.empty((N_POINTS, 3))
    W = ident.W
    jd = 0.11 * a[26]  # jaw drop in face units

    # --- jaw 0..16: superellipse quadrants from the ear line to the chin
    P[0:17, 0] = (_JSIDE * W * _JC ** ident.jaw_p * (1 - ident.taper * _JS2)
                  * (1 - 0.04 * a[26] * _JS2))  # the open jaw swings back and looks narrower
    P[0:17, 1] = (ident.ear_y + (ident.chin_y - ident.ear_y) * _JS115 + jd * _JS2
                  - 0.03 * a[17] * _JS8)
    P[0:17, 2] = _JZ

    # --- brows 17..21 (image left, outer -> inner) and 22..26 (inner -> outer)
    t = _BT
    bx = ident.brow_in + t * (ident.ex + ident.ew + ident.brow_out - ident.brow_in) - 0.03 * a[4] * (1 - t) ** 2
    by = (ident.eye_y + ident.brow_y - ident.brow_arch * _BT_ARCH + 0.02 * t
          - 0.075 * a[1] * (1 - 0.85 * t) - 0.075 * a[2] * (0.15 + 0.85 * t)
          + 0.045 * a[4] * (1 - 0.6 * t) + 0.015 * a[9] * (1 - t))
    for sd, idx in _BROW_IDX:
        P[idx, 0] = sd * bx
        P[idx, 1] = by
        P[idx, 2] = _BZ

    # --- eyes 36..41 (image left) and 42..47; lids from AU5/6/7/4/9/12 and blink AU45
    hu = ident.eh * (1 + 0.3 * a[5] - 0.15 * a[7] - 0.05 * a[4] - 0.05 * a[6] - 0.03 * a[9])
    hl = ident.eh_lo * (1 - 0.2 * a[6] - 0.35 * a[7] - 0.06 * a[12] - 0.08 * a[9])
    close = min(a[45] / 2.0, 1.0)
    for sd, upper_idx, lower_idx in _EYE_IDX:
        cx, cy = sd * ident.ex, ident.eye_y
        oy = cy - ident.tilt - 0.012 * a[6]
        iy = cy + 0.3 * ident.tilt
        f = (1 - _EYE_X) / 2  # 0 at the outer corner, 1 at the inner corner
        base = oy + (iy - oy) * f
        up = base[1:3] - hu * np.array([0.92, 1.0])
        lo = np.maximum(base[1:3] + hl * np.array([1.0, 0.9]), up + 0.004)
        shut = 0.65 * lo + 0.35 * up
        up, lo = up + (shut - up) * close, lo + (shut - lo) * close
        xs = cx + sd * ident.ew * _EYE_X
        P[upper_idx, 0] = xs
        P[upper_idx, 1] = base
        P[upper_idx[1:3], 1] = up
        P[upper_idx, 2] = _EYE_Z
        P[lower_idx, 0] = xs[1:3]
        P[lower_idx, 1] = lo
        P[lower_idx, 2] = 0.02

    # --- nose: bridge 27..30, lower 31..35; AU9 wrinkles it up, AU10 lifts the wings a little
    nz = ident.nose_z
    P[27:31, 0] = 0.0
    P[27:31, 1] = np.linspace(ident.eye_y - 0.04, ident.nose_y, 4) - 0.012 * a[9] * np.array([0, 0.5, 0.9, 1.2])
    P[27:31, 2] = nz * _NOSE_Z
    lift = 0.028 * a[9] + 0.012 * a[10]
    P[31:36, 0] = ident.nose_w * (1 + 0.06 * a[9]) * _NOSTRIL_X
    P[31:36, 1] = ident.nose_y + _NOSTRIL_Y - lift * _NOSTRIL_LIFT
    P[31:36, 2] = nz * _NOSTRIL_Z

    # --- mouth 48..67: corners (dxc, dyc), lip line, lip thickness, parting of the lips
    dxc = (0.055 * a[12] - 0.012 * a[15] - 0.04 * a[14] + 0.06 * a[20] - 0.015 * a[23]
           - 0.15 * jd)
    dyc = (-0.06 * a[12] + 0.05 * a[15] - 0.006 * a[14] + 0.01 * a[20] - 0.012 * a[10]
           + 0.35 * jd)
    line_dy = -0.012 * a[9] - 0.012 * a[17] - 0.008 * a[10]
    ut = ident.lip_up * max(0.3, 1 - 0.28 * a[23] - 0.06 * a[20] - 0.05 * a[12] + 0.08 * a[10])
    lt = ident.lip_lo * max(0.3, 1 - 0.28 * a[23] - 0.06 * a[20] + 0.08 * a[17])
    g_up = 0.02 * a[25] + 0.025 * a[10]
    g_lo = 0.035 * a[25] + 0.85 * jd - 0.018 * a[17]
    mw = ident.mouth_w + dxc
    my = ident.mouth_y + line_dy
    gap = np.where(_MUPPER, -g_up, g_lo)
    M = P[48:68]
    M[:, 0] = _MSIGN * _MU * mw
    M[:, 1] = my + dyc * _MU2 + gap * _MTAPER - ut * _MPROF_UP + lt * _MPROF_LO
    M[:, 2] = _MZ
    M[7:12, 2] += 0.015 * a[17]
    M[17:20, 1] = np.maximum(M[17:20, 1], M[[15, 14, 13], 1])  # lips never cross

    # --- extra points: skull outline (right ear -> top -> left ear), hairline, hair outline
    sk = P[EXTRA["skull"]]
    sk[:, 0] = W * 0.99 * _SK_X
    sk[:, 1] = ident.ear_y - (ident.ear_y - ident.skull_top) * _SK_Y
    sk[:, 2] = _SK_Z
    hl_ = P[EXTRA["hairline"]]
    hl_[:, 0] = _HL_X * W
    hy = ident.hair_y + (ident.temple_y - ident.hair_y) * _HL_T16 + 0.12 * ident.part * hl_[:, 0]
    if ident.hair_style == "bangs":  # a fringe down to just above the brows
        hy = np.where(_HL_T < 0.85, ident.eye_y + ident.brow_y - 0.1 + _HL_FRINGE, hy)
    hl_[:, 1] = hy
    hl_[:, 2] = _HL_Z
    vol = ident.hair_volume
    drop = _HAIR_DROP[ident.hair_style]
    bottom = ident.ear_y + drop
    wide = W + vol + (0.12 if drop > 1 else 0.0)
    ha = P[EXTRA["hair"]]
    ha[2:-2, 0] = (W + vol) * _HA_X
    ha[2:-2, 1] = ident.ear_y - (ident.ear_y - ident.skull_top + vol) * _HA_Y
    ha[2:-2, 2] = -0.6
    ha[[0, 1, -2, -1]] = [[wide * 0.6, bottom, -0.7], [wide, bottom - 0.1, -0.7],
                          [-wide, bottom - 0.1, -0.7], [-wide * 0.6, bottom, -0.7]]

    # ears: top, outer top, outer low, lobe, attachment (x sign per side)
    ey = ident.eye_y + ident.ear * _EAR_Y
    for name, sd in (("ear_r", -1), ("ear_l", 1)):
        e = P[EXTRA[name]]
        e[:, 0] = sd * _EAR_X * W
        e[:, 1] = ey
        e[:, 2] = -0.55

    # iris centres (gaze), nasolabial folds (nose wing -> beyond the mouth corner), cheeks
    gx, gy = float(gaze[0]), float(gaze[1])
    P[EXTRA["iris"]] = [[(P[36, 0] + P[39, 0]) / 2 + gx * 0.35 * ident.ew,
                         ident.eye_y + gy * 0.25 * ident.eh, 0.03],
                        [(P[42, 0] + P[45, 0]) / 2 + gx * 0.35 * ident.ew,
                         ident.eye_y + gy * 0.25 * ident.eh, 0.03]]
    for name, sd, wing, corner in (("fold_r", -1, 31, 48), ("fold_l", 1, 35, 54)):
        w, cn = P[wing], P[corner]
        P[EXTRA[name]] = [w + [sd * 0.06, -0.03, -0.02],
                          (w + cn) / 2 + [sd * 0.1, 0.0, -0.03],
                          cn + [sd * 0.07, 0.09, -0.03]]
    raise_ = 0.03 * a[6] + 0.015 * a[12]
    P[EXTRA["cheek"]] = [[-0.55 * W, ident.nose_y - 0.12 - raise_, 0.05],
                         [0.55 * W, ident.nose_y - 0.12 - raise_, 0.05]]
    return P


def rotation(pose) -> np.ndarray:
    """3x3 rotation for pose = (yaw, pitch, roll) in degrees.

    yaw > 0 turns the nose to the image right, pitch > 0 tilts the face up, roll > 0 turns the
    face clockwise in the image.
    """
    yaw, pitch, roll = np.deg2rad(np.asarray(pose, float))
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rp = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rr = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rr @ rp @ ry


def project(P: np.ndarray, pose=(0.0, 0.0, 0.0), size: int = 128, scale: float = 1.0,
            shift=(0.0, 0.0)) -> np.ndarray:
    """Rotate 3-D face points about the neck pivot and project them to pixel coordinates.

    ``scale`` multiplies the default framing, ``shift`` moves the face by a fraction of the image
    size. Returns (N, 2) float64 (x, y) pixel coordinates; pixel centres are at integers.
    """
    Q = (P - PIVOT) @ rotation(pose).T + PIVOT
    unit = FRAME_UNIT * size * scale
    ox = size / 2 - 0.5 + shift[0] * size - FRAME_CENTER[0] * unit
    oy = size / 2 - 0.5 + shift[1] * size - FRAME_CENTER[1] * unit
    return np.stack([Q[:, 0] * unit + ox, Q[:, 1] * unit + oy], 1)


def landmarks(identity, aus, pose=(0.0, 0.0, 0.0), size: int = 128, scale: float = 1.0,
              shift=(0.0, 0.0), identity_seed: int = 0) -> np.ndarray:
    """The 68 iBUG landmarks (float32, pixels) of a face, without drawing it."""
    ident = identity if isinstance(identity, Identity) else identity_params(identity, identity_seed)
    return project(face_points(ident, aus)[:68], pose, size, scale, shift).astype(np.float32)
