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
AU_MAX = 3.0  # intensities are clipped to [0, AU_MAX]; 2.0 is the usual maximum (seed 003)

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
    return tuple(float(v) for v in np.clip(c, 0, 255))


@lru_cache(maxsize=65536)
def identity_params(identity: int, identity_seed: int = 0) -> Identity:
    """Deterministic parameters of person ``identity`` (any int >= 0) for ``identity_seed``.

    Identities do not depend on the data-set seed: person 17 is the same face in every split.
    """
    if not isinstance(identity, (int, np.integer)) or identity < 0:
        raise ValueError(f"identity must be an int >= 0, got {identity!r}")
    r = np.random.default_rng((int(identity_seed), 0x5F3A, int(identity)))
    u = r.uniform
    W = u(0.9, 1.05)
    chin_y = u(1.36, 1.52)
    nose_y = u(0.5, 0.6)
    mouth_y = nose_y + 0.14 + (chin_y - nose_y - 0.14) * u(0.3, 0.4)
    skin = SKIN_TONES[r.integers(len(SKIN_TONES))] * u(0.93, 1.05) + r.normal(0, 4, 3)
    lip_col = np.array(skin) * [0.82, 0.55, 0.55] + [30, 0, 5] + r.normal(0, 6, 3)
    hair_col = HAIR_COLOURS[r.choice(len(HAIR_COLOURS), p=HAIR_P)] * u(0.85, 1.15)
    iris = IRIS_COLOURS[r.choice(len(IRIS_COLOURS), p=IRIS_P)] * u(0.8, 1.2)
    brow = hair_col * 0.6 + np.array(skin) * 0.1
    style = HAIR_STYLES[r.choice(len(HAIR_STYLES), p=[0.3, 0.18, 0.2, 0.1, 0.1, 0.05, 0.07])]
    beard = ("none", "stubble", "full", "moustache", "goatee")[
        r.choice(5, p=[0.72, 0.1, 0.08, 0.05, 0.05])]
    if style in ("long", "bun") and r.uniform() < 0.8:
        beard = "none"
    glasses = ("none", "round", "rect")[r.choice(3, p=[0.8, 0.1, 0.1])]
    gcol = (r.choice([20, 60, 120, 180]),) * 3
    return Identity(
        id=int(identity), W=W, taper=u(0.0, 0.15), jaw_p=u(0.5, 0.9), chin_y=chin_y,
        ear_y=u(0.02, 0.12), skull_top=u(-1.3, -1.15), hair_y=u(-0.95, -0.72),
        temple_y=u(-0.5, -0.3),
        ex=u(0.39, 0.45), ew=u(0.155, 0.19), eh=u(0.07, 0.095), eh_lo=u(0.045, 0.06),
        tilt=u(-0.015, 0.03), eye_y=u(-0.03, 0.03),
        brow_y=u(-0.3, -0.22), brow_arch=u(0.02, 0.06), brow_th=u(0.025, 0.05),
        brow_in=u(0.09, 0.14), brow_out=u(0.03, 0.08),
        nose_y=nose_y, nose_w=u(0.14, 0.2), nose_z=u(0.8, 1.2),
        mouth_y=mouth_y, mouth_w=u(0.3, 0.38), lip_up=u(0.05, 0.08), lip_lo=u(0.065, 0.1),
        ear=u(0.85, 1.15),
        skin=_col(skin), lip_col=_col(lip_col), hair_col=_col(hair_col), iris_col=_col(iris),
        brow_col=_col(brow), hair_style=style, hair_volume=u(0.04, 0.2), part=u(-0.4, 0.4),
        beard=beard, glasses=glasses, glasses_col=_col(gcol), age=u(0.0, 1.0),
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


def face_points(ident: Identity, aus, gaze=(0.0, 0.0)) -> np.ndarray:
    """Frontal 3-D points (N_POINTS, 3): the 68 iBUG landmarks, then the EXTRA point sets.

    ``aus`` is a (17,) array (order ``AUS``) or a dict; ``gaze`` = (x, y) in [-1, 1] moves the
    irises. Every AU displacement here is the one tabulated in ``helpers.synthfaces``.
    """
    a = dict(zip(AUS, check_aus(aus).astype(float)))
    P = np.zeros((N_POINTS, 3))
    W = ident.W
    jd = 0.11 * a[26]  # jaw drop in face units

    # --- jaw 0..16: superellipse quadrants from the ear line to the chin
    ang = np.abs(np.arange(17) - 8) / 8.0 * (np.pi / 2)  # pi/2 at the ears, 0 at the chin
    c, s = np.sin(ang), np.cos(ang)  # c: 1 at ears; s: 1 at chin
    side = np.sign(np.arange(17) - 8)
    x = side * W * c ** ident.jaw_p * (1 - ident.taper * s ** 2)
    y = ident.ear_y + (ident.chin_y - ident.ear_y) * s ** 1.15
    y = y + jd * s ** 2 - 0.03 * a[17] * s ** 8
    x = x * (1 - 0.04 * a[26] * s ** 2)  # the open jaw swings back and looks narrower
    P[0:17] = np.stack([x, y, -0.5 * c ** 0.7 + 0.08 * s], 1)

    # --- brows 17..21 (image left, outer -> inner) and 22..26 (inner -> outer)
    for sd, idx in ((-1, np.arange(17, 22)), (1, np.arange(26, 21, -1))):
        t = np.linspace(1, 0, 5)  # 1 = outer end, 0 = inner end
        bx = ident.brow_in + t * (ident.ex + ident.ew + ident.brow_out - ident.brow_in)
        by = ident.eye_y + ident.brow_y - ident.brow_arch * np.sin(np.pi * t ** 0.8) + 0.02 * t
        by = by - 0.075 * a[1] * (1 - 0.85 * t) - 0.075 * a[2] * (0.15 + 0.85 * t)
        by = by + 0.045 * a[4] * (1 - 0.6 * t) + 0.015 * a[9] * (1 - t)
        bx = bx - 0.03 * a[4] * (1 - t) ** 2
        P[idx] = np.stack([sd * bx, by, 0.06 - 0.12 * t ** 2], 1)

    # --- eyes 36..41 (image left) and 42..47; lids from AU5/6/7/4/9/12 and blink AU45
    hu = ident.eh * (1 + 0.3 * a[5] - 0.12 * a[7] - 0.05 * a[4] - 0.05 * a[6] - 0.03 * a[9])
    hl = ident.eh_lo * (1 - 0.2 * a[6] - 0.3 * a[7] - 0.06 * a[12] - 0.08 * a[9])
    close = min(a[45] / 2.0, 1.0)
    for sd, (o, u1, u2, i, l2, l1) in ((-1, (36, 37, 38, 39, 40, 41)), (1, (45, 44, 43, 42, 47, 46))):
        cx, cy = sd * ident.ex, ident.eye_y
        oy = cy - ident.tilt - 0.012 * a[6]
        iy = cy + 0.3 * ident.tilt
        xs = cx + sd * ident.ew * np.array([1, 0.35, -0.3, -1])  # outer, lid a, lid b, inner
        base = np.interp(xs, [cx - ident.ew, cx + ident.ew], [oy, iy] if sd < 0 else [iy, oy])
        up = base[1:3] - hu * np.array([0.92, 1.0])
        lo = base[1:3] + hl * np.array([1.0, 0.9])
        lo = np.maximum(lo, up + 0.004)
        shut = 0.65 * lo + 0.35 * up
        up, lo = up + (shut - up) * close, lo + (shut - lo) * close
        P[[o, u1, u2, i]] = np.stack([xs, [base[0], up[0], up[1], base[3]],
                                      [-0.06, 0.03, 0.04, -0.02]], 1)
        P[[l1, l2]] = np.stack([xs[1:3], lo, [0.02, 0.02]], 1)

    # --- nose: bridge 27..30, lower 31..35; AU9 wrinkles it up, AU10 lifts the wings a little
    nz = ident.nose_z
    bridge_y = np.linspace(ident.eye_y - 0.04, ident.nose_y, 4)
    bridge_y[1:] -= 0.012 * a[9] * np.array([0.5, 0.9, 1.2])
    P[27:31] = np.stack([np.zeros(4), bridge_y, nz * np.array([0.06, 0.12, 0.2, 0.3])], 1)
    lift = 0.028 * a[9] + 0.012 * a[10]
    flare = 1 + 0.06 * a[9]
    nx = ident.nose_w * flare * np.array([-1, -0.5, 0, 0.5, 1])
    ny = ident.nose_y + np.array([0.05, 0.085, 0.1, 0.085, 0.05]) - lift * np.array(
        [1.2, 1, 0.8, 1, 1.2])
    P[31:36] = np.stack([nx, ny, nz * np.array([0.08, 0.15, 0.18, 0.15, 0.08])], 1)

    # --- mouth 48..67
    dxc = (0.055 * a[12] - 0.012 * a[15] - 0.03 * a[14] + 0.06 * a[20] - 0.015 * a[23]
           - 0.15 * jd)
    dyc = (-0.05 * a[12] + 0.05 * a[15] - 0.006 * a[14] + 0.01 * a[20] - 0.012 * a[10]
           + 0.35 * jd)
    line_dy = -0.012 * a[9] - 0.012 * a[17] - 0.008 * a[10]
    ut = ident.lip_up * max(0.3, 1 - 0.28 * a[23] - 0.06 * a[20] - 0.05 * a[12] + 0.08 * a[10])
    lt = ident.lip_lo * max(0.3, 1 - 0.28 * a[23] - 0.06 * a[20] + 0.08 * a[17])
    g_up = 0.02 * a[25] + 0.025 * a[10]
    g_lo = 0.035 * a[25] + 0.85 * jd - 0.018 * a[17]
    mw = ident.mouth_w + dxc
    my = ident.mouth_y + line_dy

    def lip(us, prof, gap, thick):
        us = np.asarray(us, float)
        taper = np.clip(1 - us ** 3, 0, 1)
        yy = my + dyc * us ** 2 + gap * taper + thick * prof
        return np.stack([us * mw, yy, 0.1 * (1 - us ** 2) - 0.03], 1)

    sgn = np.array([-1, -1, -1, 0, 1, 1, 1])
    ou = np.array([1, 0.62, 0.25, 0, 0.25, 0.62, 1])
    upper = lip(ou, -np.array([0, 0.8, 1.05, 0.85, 1.05, 0.8, 0]), -g_up, ut)
    upper[:, 0] *= sgn
    lower = lip(ou[[5, 4, 3, 2, 1]], np.array([0.8, 1.0, 1.05, 1.0, 0.8]), g_lo, lt)
    lower[:, 0] *= np.array([1, 1, 0, -1, -1])
    lower[:, 2] += 0.015 * a[17]
    P[48:55] = upper
    P[55:60] = lower
    iu = np.array([0.88, 0.45, 0, 0.45, 0.88])
    inner_up = lip(iu, np.zeros(5), -g_up, 0)
    inner_lo = lip(iu[[3, 2, 1]], np.zeros(3), g_lo, 0)
    inner_up[:, 0] *= np.array([-1, -1, 0, 1, 1])
    inner_lo[:, 0] *= np.array([1, 0, -1])
    inner_lo[:, 1] = np.maximum(inner_lo[:, 1], inner_up[[3, 2, 1], 1])  # lips never cross
    P[60:65] = inner_up
    P[65:68] = inner_lo

    # --- extra points: skull outline (right ear -> top -> left ear), hairline, hair outline
    phi = np.linspace(np.pi, 0, N_SKULL + 2)[1:-1]
    cs, sn = np.cos(phi), np.sin(phi)
    ws = W * 0.99
    P[EXTRA["skull"]] = np.stack([-ws * np.sign(cs) * np.abs(cs) ** 0.85,
                                  ident.ear_y - (ident.ear_y - ident.skull_top) * sn ** 0.9,
                                  -0.5 * np.abs(cs) - 0.2 * sn], 1)
    hx = np.linspace(0.86, -0.86, N_HAIRLINE) * W
    t = np.abs(hx / (0.86 * W))
    hy = ident.hair_y + (ident.temple_y - ident.hair_y) * t ** 1.6 + 0.12 * ident.part * hx
    if ident.hair_style == "bangs":  # a fringe down to just above the brows
        fringe = ident.eye_y + ident.brow_y - 0.1 + 0.03 * (np.arange(N_HAIRLINE) % 2)
        hy = np.where(t < 0.85, fringe - 0.1 * t ** 4, hy)
    P[EXTRA["hairline"]] = np.stack([hx, hy, 0.12 * (1 - t ** 2) - 0.25 * t ** 4], 1)
    vol = ident.hair_volume
    drop = {"short": 0.15, "bob": 1.0, "long": 2.3, "buzz": 0.05, "bangs": 0.7, "bald": 0.25,
            "bun": 0.2}[ident.hair_style]
    phi = np.linspace(np.pi, 0, N_HAIR - 4)
    hx = -(W + vol) * np.sign(np.cos(phi)) * np.abs(np.cos(phi)) ** 0.8
    hy = ident.ear_y - (ident.ear_y - ident.skull_top + vol) * np.sin(phi) ** 0.9
    bottom = ident.ear_y + drop
    wide = W + vol + (0.12 if drop > 1 else 0.0)
    P[EXTRA["hair"]] = np.concatenate([
        np.stack([[wide * 0.6, wide], [bottom, bottom - 0.1], [-0.7, -0.7]], 1),
        np.stack([hx, hy, np.full_like(hx, -0.6)], 1),
        np.stack([[-wide, -wide * 0.6], [bottom - 0.1, bottom], [-0.7, -0.7]], 1)])

    # ears: top, outer top, outer low, lobe, attachment (x sign per side)
    ex = np.array([0.98, 1.1, 1.12, 1.02, 0.95]) * W
    ey = ident.eye_y + ident.ear * np.array([-0.12, -0.08, 0.15, 0.4, 0.3])
    for name, sd in (("ear_r", -1), ("ear_l", 1)):
        P[EXTRA[name]] = np.stack([sd * ex, ey, np.full(5, -0.55)], 1)

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
