"""The README's gallery figure: people x expressions, posed and masked (``python -m helpers.synthfaces gallery``)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from helpers.synthfaces.face import EXPRESSION_NAMES, MASK_STYLES, expression_aus, render

__all__ = ["GALLERY_IDS", "gallery_images", "gallery"]

GALLERY_IDS = (3, 16, 19, 23, 4, 6)  # a varied set of people for figures


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
