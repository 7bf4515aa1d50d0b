"""SynthFaces rasteriser: draws a face from its projected points with OpenCV.

Everything drawn here is placed from the points that ``helpers.synthfaces_geometry`` returns, so
the ground truth (landmarks, AUs, pose, mask) is exact by construction. Shapes are filled with
``cv2.LINE_AA`` at 1/16-pixel precision (``shift=4``), smoothed with Catmull-Rom splines, then
lit with a Lambert ellipsoid. Soft details (wrinkles, folds, eyelid creases) are lines whose
colour is pre-mixed with the skin, which is much faster than alpha blending full images.
"""
from __future__ import annotations

import colorsys
from functools import lru_cache

import cv2
import numpy as np

from helpers.faces.masks import face_mask_polygon, smooth
from helpers.synthfaces.geometry import EXTRA, Identity

AA = cv2.LINE_AA
SHIFT = 4
MASK_COLOURS = {
    "surgical": [(160, 200, 228), (236, 238, 240), (38, 38, 44), (232, 182, 196), (170, 214, 196)],
    "cloth": [(40, 52, 92), (30, 30, 34), (122, 122, 128), (170, 44, 50), (204, 184, 152),
              (70, 110, 80), (120, 70, 130)],
}


def _ip(p):
    return (np.asarray(p, np.float64) * 16.0 + 0.5).astype(np.int32)


def fill(img, pts, col):
    cv2.fillPoly(img, [_ip(pts)], col, AA, SHIFT)


def line(img, pts, col, th=1, closed=False):
    cv2.polylines(img, [_ip(pts)], closed, col, int(th), AA, SHIFT)


def ellipse(img, c, axes, angle, col, th=-1):
    cv2.ellipse(img, (_ip(c)[0], _ip(c)[1]), (max(1, int(axes[0] * 16)), max(1, int(axes[1] * 16))),
                float(angle), 0, 360, col, th, AA, SHIFT)


def mix(a, b, t):
    """Colour a*(1-t) + b*t, clipped and returned as an int tuple for OpenCV."""
    t = min(max(float(t), 0.0), 1.0)
    return tuple(int(min(255, max(0, x * (1 - t) + y * t))) for x, y in zip(a, b))


def scale(c, f):
    return tuple(int(min(255, max(0, x * f))) for x in c)


def _hsv(h, s, v):
    return tuple(255 * x for x in colorsys.hsv_to_rgb(h % 1.0, s, v))


def sample_scene(rng: np.random.Generator) -> dict:
    """Everything about one picture that is not the person: background, light, clothes, gaze."""
    u = rng.uniform
    h = u()
    bg = [_hsv(h + u(-0.08, 0.08), u(0.05, 0.5), u(0.25, 0.95)) for _ in range(6)]
    light = np.array([u(-0.7, 0.7), u(-0.6, 0.15), u(0.55, 1.0)])
    return dict(
        bg_style=int(rng.integers(4)), bg=bg, bg_seed=int(rng.integers(1 << 30)),
        light=light / np.linalg.norm(light), ambient=u(0.45, 0.7),
        tint=np.array([u(0.96, 1.04), 1.0, u(0.96, 1.04)]),
        clothes=_hsv(u(), u(0.1, 0.8), u(0.15, 0.9)), collar=int(rng.integers(3)),
        gaze=(u(-0.6, 0.6), u(-0.4, 0.4)),
        mask_colour_index=int(rng.integers(1 << 16)), mask_pattern=int(rng.integers(3)),
    )


def background(scene, size):
    """Smooth random backgrounds: vertical gradients, colour fields, noisy fields, soft blobs."""
    st, cols = scene["bg_style"], np.array(scene["bg"], np.float32)
    if st == 0:
        t = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
        column = (cols[0] * (1 - t) + cols[1] * t + 0.5).astype(np.uint8)
        return np.ascontiguousarray(np.broadcast_to(column, (size, size, 3)))
    r = np.random.default_rng(scene["bg_seed"])
    if st == 1:
        small = cols[r.integers(0, 6, (3, 3))]
    elif st == 2:
        small = np.tile(cols[0], (4, 4, 1)) + r.normal(0, 18, (4, 4, 3)).astype(np.float32)
    else:
        small = np.tile(cols[2], (16, 16, 1))
        for _ in range(5):
            cv2.circle(small, tuple(int(v) for v in r.integers(0, 16, 2)), int(r.integers(1, 4)),
                       tuple(float(v) for v in cols[r.integers(6)]), -1)
        small = cv2.GaussianBlur(small, (5, 5), 1.5)
    small = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


@lru_cache(maxsize=16)
def _shade_grid(size):
    n = max(16, size // 4)
    g = (np.arange(n, dtype=np.float32) + 0.5) * (size / n) - 0.5
    return np.meshgrid(g, g)


def shading(size, centre, axes, roll, yaw, scene, bumps=()):
    """Lambert shading of an ellipsoid head (computed at 1/4 resolution, then upsampled).

    ``bumps``: (x, y, sigma, amplitude) soft Gaussian highlights (> 0) or shadows (< 0) in pixels,
    e.g. the cheeks that AU6 raises.
    """
    gx, gy = _shade_grid(size)
    X, Y = gx - np.float32(centre[0]), gy - np.float32(centre[1])
    cr, sr = np.cos(np.deg2rad(roll)), np.sin(np.deg2rad(roll))
    qx, qy = (cr * X + sr * Y) / axes[0], (-sr * X + cr * Y) / axes[1]
    r2 = qx * qx + qy * qy
    rr = np.sqrt(np.maximum(r2, 1.0))
    nx, ny, nz = qx / rr, qy / rr, np.sqrt(np.maximum(0.0, 1.0 - r2))
    cy, sy = np.cos(np.deg2rad(yaw)), np.sin(np.deg2rad(yaw))
    nx, nz = cy * nx + sy * nz, -sy * nx + cy * nz
    L, amb = scene["light"], scene["ambient"]
    lam = np.maximum(0.0, nx * L[0] + ny * L[1] + nz * L[2])
    sh = (amb + (1 - amb) * lam) / (amb + (1 - amb) * L[2])
    for bx, by, sig, amp in bumps:
        sh = sh + amp * np.exp(-((gx - bx) ** 2 + (gy - by) ** 2) / (2 * sig * sig))
    return cv2.resize(np.minimum(sh, 1.15).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


class _Frame:
    """Face-aligned unit vectors (pixels per face unit) from the landmarks."""

    def __init__(self, lm, unit):
        r = lm[16] - lm[0]
        r = r / (np.linalg.norm(r) + 1e-9)
        self.R = r * unit
        self.U = np.array([r[1], -r[0]]) * unit
        self.unit = unit


def _clipped(img, clip_pts, draw):
    """Run ``draw(roi, offset)`` on a copy of the clip polygon's bounding box, keep it inside."""
    h, w = img.shape[:2]
    x0, y0 = np.floor(clip_pts.min(0)).astype(int) - 1
    x1, y1 = np.ceil(clip_pts.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return
    roi = img[y0:y1, x0:x1]
    tmp = roi.copy()
    off = np.array([x0, y0], float)
    draw(tmp, off)
    m = np.zeros(roi.shape[:2], np.uint8)
    cv2.fillPoly(m, [_ip(clip_pts - off)], 255, cv2.LINE_8, SHIFT)  # hard edge: lines drawn later cover it
    np.copyto(roi, tmp, where=m[:, :, None] > 0)


def _hair(img, P, lm, ident: Identity, F, hair, back: bool):
    style = ident.hair_style
    outline = P[EXTRA["hair"]]
    hl = P[EXTRA["hairline"]]
    if back:
        if style in ("bob", "long", "bangs"):
            fill(img, smooth(outline, 3, True), scale(hair, 0.72))
        return
    if style == "bald":  # tapered tufts above the ears, the crown is bare
        sk = P[EXTRA["skull"]]
        c = (lm[0] + lm[16]) / 2
        for band in (np.concatenate([[lm[16]], sk[:3]]), np.concatenate([[lm[0]], sk[-1:-4:-1]])):
            n = (band - c) / (np.linalg.norm(band - c, axis=1, keepdims=True) + 1e-9) * F.unit
            taper = np.array([1.0, 0.8, 0.45, 0.0])[:, None]
            poly = np.concatenate([band + n * 0.03 * taper, (band - n * 0.09 * taper)[::-1]])
            fill(img, smooth(poly, 2, True), hair)
        return
    arc = outline[2:-2]
    if style in ("bob", "long"):
        side_r = [lm[j] + F.R * 0.04 for j in (13, 14, 15, 16)]
        side_l = [lm[j] - F.R * 0.04 for j in (0, 1, 2, 3)]
        down = 0.9 if style == "long" else 0.0
        poly = np.concatenate([outline[:2], arc, outline[-2:],
                               [side_l[3] - F.U * down - F.R * 0.05], side_l[::-1],
                               hl[::-1], side_r, [side_r[0] - F.U * down + F.R * 0.05]])
    else:
        poly = np.concatenate([arc, hl[::-1]])
    col = hair if style != "buzz" else mix(ident.skin, hair, 0.6)
    poly = smooth(poly, 2, True)
    fill(img, poly, col)
    if style == "bun":
        top = arc[len(arc) // 2]
        ellipse(img, top + F.U * 0.18, (0.3 * F.unit, 0.22 * F.unit), 0, col)
    # strands: curves from the crown towards the hairline give the hair some texture
    if style != "buzz":
        crown = arc[len(arc) // 2] - F.U * 0.15 + F.R * ident.part * 0.6
        dark, lite = scale(hair, 0.72), mix(hair, (255, 255, 255), 0.18)
        for i, t in enumerate(np.linspace(0.08, 0.92, 7)):
            j = int(t * (len(hl) - 1))
            end = hl[j] + F.U * 0.05
            mid = (crown + end) / 2 + F.U * 0.12
            line(img, smooth(np.array([crown, mid, end]), 4), dark if i % 2 else lite, 1)


def _eye(img, lm, ident, iris_c, F, idx, lash_th):
    e = lm[idx]
    up = smooth(e[[0, 1, 2, 3]], 4)
    lo = smooth(e[[3, 4, 5, 0]], 4)
    poly = np.concatenate([up, lo[1:-1]])
    skin = ident.skin
    # eyelid above the lash line, bounded by the crease
    h = ident.eh * 1.8
    crease = np.array([e[0] + F.U * h * 0.3, e[1] + F.U * h, e[2] + F.U * h * 1.05, e[3] + F.U * h * 0.35])
    crease = smooth(crease, 3)
    fill(img, np.concatenate([crease, up[::-1]]), scale(skin, 0.94))
    line(img, crease, scale(skin, 0.78), 1)
    gap = np.linalg.norm(e[[1, 2]] - e[[5, 4]], axis=1).max()
    if gap > 0.6:
        r = 0.5 * ident.ew * F.unit
        ic = iris_c

        def draw(roi, off):
            c = ic - off
            fill(roi, poly - off, (232, 228, 222))
            ellipse(roi, c, (r, r), 0, scale(ident.iris_col, 0.55))
            ellipse(roi, c, (0.82 * r, 0.82 * r), 0, ident.iris_col)
            ellipse(roi, c, (0.42 * r, 0.42 * r), 0, (14, 12, 12))
            ellipse(roi, c + np.array([-0.3, -0.35]) * r, (0.17 * r, 0.17 * r), 0, (250, 250, 250))
            line(roi, up - off + F.U * -0.012, (150, 130, 125), max(1, lash_th))  # lid shadow

        _clipped(img, poly, draw)
    line(img, up, (28, 20, 20), lash_th)
    line(img, lo, scale(skin, 0.72), 1)


def _mouth(img, lm, ident, F, a):
    up_o, lo_o = smooth(lm[48:55], 3), smooth(lm[[54, 55, 56, 57, 58, 59, 48]], 3)
    up_i, lo_i = smooth(lm[60:65], 3), smooth(lm[[64, 65, 66, 67, 60]], 3)
    lipc = ident.lip_col
    gap = np.linalg.norm(lm[[61, 62, 63]] - lm[[67, 66, 65]], axis=1).max()
    if gap > 0.4:
        inner = np.concatenate([up_i, lo_i[1:-1]])
        th = 0.05 * F.unit

        def draw(roi, off):
            fill(roi, inner - off, (42, 12, 18))
            ellipse(roi, (lm[66] - off) + F.U * 0.01, (0.12 * F.unit, 0.05 * F.unit),
                    np.degrees(np.arctan2(F.R[1], F.R[0])), (170, 80, 90))
            fill(roi, np.concatenate([up_i, up_i[::-1] - F.U * (th / F.unit)]) - off, (238, 236, 226))
            fill(roi, np.concatenate([lo_i, lo_i[::-1] + F.U * (0.6 * th / F.unit)]) - off, (225, 222, 212))
            line(roi, up_i - off - F.U * (th / F.unit), (180, 170, 160), 1)

        _clipped(img, inner, draw)
    fill(img, np.concatenate([up_o, up_i[::-1]]), scale(lipc, 0.88))
    fill(img, np.concatenate([lo_o, lo_i[::-1]]), lipc)
    hl = (lm[57] * 0.6 + lm[66] * 0.4) + F.U * 0.005
    ellipse(img, hl, (0.07 * F.unit, 0.015 * F.unit), np.degrees(np.arctan2(F.R[1], F.R[0])),
            mix(lipc, (255, 255, 255), 0.18))
    line(img, up_i, scale(lipc, 0.5), 1)
    for c, sd in ((lm[48], -1), (lm[54], 1)):
        line(img, [c - sd * F.R * 0.01, c + sd * F.R * (0.035 + 0.02 * a[14])], scale(ident.skin, 0.7), 1)


def _wrinkles(img, lm, P, ident, F, a, th):
    """Folds and wrinkles whose darkness follows the AUs (skipped when too faint to see)."""
    skin, dark, R, U = ident.skin, (60, 30, 25), F.R, F.U
    lines = []  # (control points, visibility, samples per segment)
    v = 0.03 * ident.age + 0.13 * a[12] + 0.08 * a[6] + 0.12 * a[10] + 0.08 * a[9]
    if v > 0.04:  # nasolabial folds: AU6, AU9, AU10, AU12
        lines += [(P[EXTRA["fold_r"]], v, 4), (P[EXTRA["fold_l"]], v, 4)]
    mid = (lm[21] + lm[22]) / 2
    v1, v2 = 0.2 * a[1] + 0.06 * ident.age, 0.2 * a[2]
    for k in (0.13, 0.21):  # forehead lines: AU1 in the middle, AU2 at the sides
        if v1 > 0.04:
            lines.append(([lm[20] + U * k, mid + U * (k + 0.03), lm[23] + U * k], v1, 4))
        if v2 > 0.04:
            lines.append(([lm[17] + U * (k - 0.02), lm[18] + U * k, lm[19] + U * (k - 0.01)], v2, 4))
            lines.append(([lm[24] + U * (k - 0.01), lm[25] + U * k, lm[26] + U * (k - 0.02)], v2, 4))
    if a[4] > 0.2:  # AU4 furrow between the brows
        for sd in (-1, 1):
            lines.append(([mid + sd * R * 0.035 - U * 0.01, mid + sd * R * 0.03 + U * 0.08], 0.22 * a[4], 1))
    if a[9] > 0.2:  # AU9 wrinkles across the nose bridge
        for k in (0.0, 0.05):
            c = lm[28] * 0.6 + lm[29] * 0.4 + U * k
            lines.append(([c - R * 0.06, c + U * 0.01, c + R * 0.06], 0.22 * a[9], 2))
    v6 = 0.2 * a[6] + 0.05 * a[12]
    vb = 0.15 * a[6] + 0.1 * a[7]
    for sd, e, lid in ((-1, lm[36], lm[[39, 40, 41, 36]]), (1, lm[45], lm[[42, 47, 46, 45]])):
        if v6 > 0.04:  # AU6 crow's feet
            for d in (0.035, 0.0, -0.035):
                lines.append(([e + sd * R * 0.04, e + sd * R * 0.11 + U * d], v6, 1))
        if vb > 0.04:  # AU6/AU7 lower-lid bulge
            lines.append((lid - U * 0.07, vb, 4))
    for sd, c in ((-1, lm[48]), (1, lm[54])):
        if a[14] > 0.2:  # dimples
            lines.append(([c + sd * R * 0.05 + U * 0.04, c + sd * R * 0.06 - U * 0.04], 0.25 * a[14], 1))
        if a[15] > 0.2:  # marionette lines
            lines.append(([c - U * 0.03 + sd * R * 0.02, c - U * 0.14 + sd * R * 0.03], 0.2 * a[15], 1))
        if a[20] > 0.2:  # stretch lines
            lines.append(([c + sd * R * 0.05, c + sd * R * 0.13 - U * 0.01], 0.2 * a[20], 1))
    c = lm[57] - U * 0.08  # AU17 chin boss: deeper sulcus under the lower lip
    lines.append(([c - R * 0.1 + U * 0.02, c, c + R * 0.1 + U * 0.02], 0.08 + 0.2 * a[17], 3))
    for pts, vis, k in lines:
        pts = np.asarray(pts)
        line(img, smooth(pts, k) if k > 1 else pts, mix(skin, dark, min(0.4, vis)), th)


def _nose(img, lm, ident, F, light_x):
    R, U, skin = F.R, F.U, ident.skin
    for sd in (-1, 1):
        f = 0.88 if sd * light_x < 0 else 0.96
        side = np.array([lm[28] + sd * R * 0.06, lm[29] + sd * R * 0.07, lm[31 if sd < 0 else 35] + U * 0.08])
        line(img, smooth(side, 3), scale(skin, f), 1)
        w = lm[31] if sd < 0 else lm[35]
        line(img, smooth(np.array([w + U * 0.012 - sd * R * 0.01, w + sd * R * 0.015 + U * 0.05,
                                   w - sd * R * 0.01 + U * 0.1])), scale(skin, 0.72), 1)
        n = (lm[31] + lm[32]) / 2 if sd < 0 else (lm[34] + lm[35]) / 2
        ellipse(img, n + U * 0.012, (0.035 * F.unit, 0.016 * F.unit),
                np.degrees(np.arctan2(R[1], R[0])) + sd * 15, scale(skin, 0.35))
    ellipse(img, lm[30] + U * 0.03, (0.045 * F.unit, 0.035 * F.unit), 0, mix(skin, (255, 255, 255), 0.12))
    line(img, smooth(lm[31:36], 2), scale(skin, 0.8), 1)


def _beard(img, lm, ident, F, hair):
    R, U, b = F.R, F.U, ident.beard
    if b == "none":
        return
    if b in ("stubble", "full"):
        poly = np.concatenate([lm[3:14], [lm[54] + R * 0.12 + U * 0.1, lm[35] + R * 0.02 - U * 0.01,
                                          lm[31] - R * 0.02 - U * 0.01, lm[48] - R * 0.12 + U * 0.1]])
        fill(img, smooth(poly, 2, True), mix(ident.skin, hair, 0.3 if b == "stubble" else 0.92))
        return
    must = np.array([lm[48] - R * 0.03 - U * 0.04, lm[50] + U * 0.05, lm[51] + U * 0.06, lm[52] + U * 0.05,
                     lm[54] + R * 0.03 - U * 0.04, lm[53] + U * 0.005, lm[51] + U * 0.005, lm[49] + U * 0.005])
    fill(img, smooth(must, 2, True), mix(ident.skin, hair, 0.9))
    if b == "goatee":
        g = np.array([lm[58] - R * 0.02 - U * 0.02, lm[57] - U * 0.04, lm[56] + R * 0.02 - U * 0.02,
                      lm[9] * 0.6 + lm[8] * 0.4, lm[8] - U * 0.02, lm[7] * 0.6 + lm[8] * 0.4])
        fill(img, smooth(g, 2, True), mix(ident.skin, hair, 0.9))


def _glasses(img, lm, ident, F):
    if ident.glasses == "none":
        return
    col, th = tuple(int(c) for c in ident.glasses_col), max(1, int(round(0.03 * F.unit)))
    ang = np.degrees(np.arctan2(F.R[1], F.R[0]))
    ends = []
    for idx, sd in ((slice(36, 42), -1), (slice(42, 48), 1)):
        c = lm[idx].mean(0) + F.U * 0.01
        ax = (ident.ew * 1.35 * F.unit, ident.ew * 0.95 * F.unit)
        if ident.glasses == "round":
            ellipse(img, c, ax, ang, col, th)
        else:
            cs = np.array([[-1, -1], [1, -1], [1, 0.8], [-1, 0.8]])
            pts = c + cs[:, :1] * F.R / F.unit * ax[0] - cs[:, 1:] * F.U / F.unit * ax[1]
            line(img, pts, col, th, True)
        ends.append((c - sd * F.R / F.unit * ax[0], c + sd * F.R / F.unit * ax[0]))
    line(img, [ends[0][0], (ends[0][0] + ends[1][0]) / 2 + F.U * 0.03, ends[1][0]], col, th)
    line(img, [ends[0][1], lm[0] + F.U * 0.12], col, th)
    line(img, [ends[1][1], lm[16] + F.U * 0.12], col, th)


def draw_face(P2, ident: Identity, aus: dict, scene: dict, size: int, unit: float, pose):
    """Draw one face. ``P2``: projected points (N, 2) px; returns (uint8 image, shading map)."""
    lm = P2[:68]
    F = _Frame(lm, unit)
    img = np.ascontiguousarray(background(scene, size))
    skin, hair = ident.skin, ident.hair_col
    th = max(1, int(round(0.018 * unit)))
    fig = np.zeros((size, size), np.uint8)  # silhouette: where the lighting applies

    _hair(img, P2, lm, ident, F, hair, back=True)
    if ident.hair_style in ("bob", "long", "bangs"):
        fill(fig, smooth(P2[EXTRA["hair"]], 3, True), 255)
    # shoulders and neck
    nl, nr = lm[5] + 0.12 * (lm[11] - lm[5]), lm[11] - 0.12 * (lm[11] - lm[5])
    down = np.array([0.0, 1.0]) * unit
    sc = (nl + nr) / 2 + down * 1.1
    shoulders = cv2.ellipse2Poly((int(sc[0]), int(sc[1])), (int(1.7 * unit), int(0.62 * unit)),
                                 0, 180, 360, 10)
    sh_poly = np.concatenate([shoulders, [[shoulders[-1][0], size + 5],
                                          [shoulders[0][0], size + 5]]]).astype(float)
    flare = np.array([0.12 * unit, 0.0])
    neck = np.array([nl - F.U * 0.3, nr - F.U * 0.3, nr + down * 1.2 + flare, nl + down * 1.2 - flare])
    for m in (img, fig):
        fill(m, neck, scale(skin, 0.78) if m is img else 255)
        fill(m, sh_poly, scene["clothes"] if m is img else 255)
    if scene["collar"] == 1:
        vee = np.array([sc - F.R * 0.35 - down * 0.55, sc + F.R * 0.35 - down * 0.55, sc - down * 0.05])
        fill(img, vee, scale(skin, 0.8))
    elif scene["collar"] == 2:
        ellipse(img, sc - down * 0.55, (0.33 * unit, 0.12 * unit), 0, scale(skin, 0.8))
    line(img, [lm[6] + down * 0.1, lm[8] + down * 0.12, lm[10] + down * 0.1], scale(skin, 0.62), max(1, th))
    # ears, face, front hair
    for name in ("ear_r", "ear_l"):
        e = P2[EXTRA[name]]
        fill(img, smooth(e, 3, True), scale(skin, 0.94))
        fill(fig, e, 255)
        line(img, smooth(np.array([e[0] * 0.6 + e[2] * 0.4, e[1] * 0.5 + e[2] * 0.5, e[3] * 0.7 + e[4] * 0.3])),
             scale(skin, 0.75), 1)
    face = smooth(np.concatenate([lm[:17], P2[EXTRA["skull"]]]), 3, True)
    fill(img, face, skin)
    fill(fig, face, 255)
    for c in P2[EXTRA["cheek"]]:
        ellipse(img, c, (0.2 * unit, 0.12 * unit), 0, mix(skin, (220, 90, 90), 0.025))
    _hair(img, P2, lm, ident, F, hair, back=False)
    if ident.hair_style != "bald":
        fill(fig, P2[EXTRA["hair"]][2:-2], 255)
    _beard(img, lm, ident, F, hair)
    _wrinkles(img, lm, P2, ident, F, aus, th)
    _nose(img, lm, ident, F, scene["light"][0])
    _mouth(img, lm, ident, F, aus)
    lash = max(1, int(round(0.028 * unit)))
    for k, idx in enumerate((slice(36, 42), slice(42, 48))):
        _eye(img, lm, ident, P2[EXTRA["iris"]][k], F, idx, lash)
    for idx in (slice(17, 22), slice(22, 27)):
        b = lm[idx]
        t = np.array([0.45, 0.8, 1, 1, 0.9]) if idx.start == 17 else np.array([0.9, 1, 1, 0.8, 0.45])
        hw = ident.brow_th * 0.5 * t[:, None] * (F.U / unit)
        poly = np.concatenate([smooth(b - hw * unit * 1.0, 3), smooth(b[::-1] + hw[::-1] * unit, 3)])
        fill(img, poly, ident.brow_col)
    _glasses(img, lm, ident, F)

    # lighting on the figure only
    centre = (P2[27] + P2[8]) / 2 - F.U * 0.2
    cheek = 0.03 + 0.045 * aus[6] + 0.02 * aus[12]  # AU6/AU12 raise rounder, lit cheeks
    bumps = [(c[0], c[1], 0.17 * unit, cheek) for c in P2[EXTRA["cheek"]]]
    bumps.append((*(lm[33] + F.U * -0.05), 0.07 * unit, -0.08))  # soft shadow under the nose
    bumps.append((*(lm[57] + F.U * -0.07), 0.08 * unit, -0.06))  # and under the lower lip
    sh = shading(size, centre, (1.15 * unit, 1.55 * unit), pose[2], pose[0], scene, bumps)
    a = fig.astype(np.float32)
    a *= (1.0 / 255.0)
    k = (sh - 1.0) * a + 1.0
    k3 = k[:, :, None] * scene["tint"].astype(np.float32)
    out = cv2.multiply(img, k3, dtype=cv2.CV_8U)
    return out, sh


def draw_face_mask(image, landmarks, style, colour_index, pattern, shade):
    """Composite a face mask over ``image``; returns (masked uint8, mask 0/1 uint8).

    Outside the returned mask map the masked image equals the input exactly.
    """
    size = image.shape[0]
    lm = np.asarray(landmarks, float)
    poly = face_mask_polygon(lm, style).astype(float)
    pal = MASK_COLOURS[style]
    col = pal[colour_index % len(pal)]
    r = lm[16] - lm[0]
    d = np.linalg.norm(lm[45] - lm[36])
    r = r / (np.linalg.norm(r) + 1e-9)
    R, U = r * d, np.array([r[1], -r[0]]) * d
    th = max(1, int(round(size / 128)))
    n = len(poly)
    tl, tr = poly[0], poly[(n * 4) // 11 if style == "surgical" else (n * 4) // 12]
    bl = poly[-(n * 2) // 11]
    br = poly[(n * 6) // 11] if style == "surgical" else poly[(n * 5) // 12]
    loops = [np.array([tl, lm[0] + U * 0.05 - R * 0.02, lm[1] * 0.5 + lm[2] * 0.5 - R * 0.04, bl]),
             np.array([tr, lm[16] + U * 0.05 + R * 0.02, lm[15] * 0.5 + lm[14] * 0.5 + R * 0.04, br])]
    loops = [smooth(l_, 4) for l_ in loops]
    allp = np.concatenate([poly] + loops)
    x0, y0 = np.maximum(np.floor(allp.min(0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(allp.max(0)).astype(int) + 3, size)
    out = image.copy()
    mask = np.zeros((size, size), np.uint8)
    if x1 <= x0 or y1 <= y0:
        return out, mask
    off = np.array([x0, y0], float)
    roi = out[y0:y1, x0:x1]
    layer = np.empty_like(roi)
    layer[:] = col
    alpha = np.zeros(roi.shape[:2], np.uint8)
    fill(alpha, poly - off, 255)
    fill(layer, poly - off, col)
    darker = scale(col, 0.78)
    if style == "surgical":
        for t in (0.3, 0.5, 0.7):
            a_, b_ = poly[0] * (1 - t) + bl * t, tr * (1 - t) + br * t
            line(layer, [a_ - off, (a_ + b_) / 2 - U * 0.02 - off, b_ - off], darker, th)
        line(layer, poly[: (n * 4) // 11 + 1] - off + U * -0.02, scale(col, 0.9), th)
    else:
        top, bot = lm[28] + U * 0.02, lm[8] - U * 0.18
        line(layer, [top - off, (top + bot) / 2 + U * -0.1 - off, bot - off], darker, th)
        if pattern == 1:
            for t in np.linspace(0.1, 0.9, 5):
                a_, b_ = tl * (1 - t) + bl * t - R * 0.1, tr * (1 - t) + br * t + R * 0.1
                line(layer, [a_ - off, b_ - off], mix(col, (235, 235, 235), 0.5), th)
        elif pattern == 2:
            dot = mix(col, (240, 220, 120), 0.7)
            for i in range(-3, 4):
                for j in range(0, 6, 2):
                    p = lm[29] + R * 0.14 * i + (j % 4) * R * 0.035 - U * 0.12 * j
                    ellipse(layer, p - off, (0.022 * d, 0.022 * d), 0, dot)
    loopcol = scale(col, 0.85)
    for l_ in loops:
        line(layer, l_ - off, loopcol, th)
        line(alpha, l_ - off, 255, th)
    s = shade[y0:y1, x0:x1, None]
    a = alpha[:, :, None].astype(np.float32) * (1.0 / 255.0)
    roi[:] = np.clip(roi * (1 - a) + layer * s * a + 0.5, 0, 255).astype(np.uint8)
    mask[y0:y1, x0:x1] = alpha > 0
    return out, mask
