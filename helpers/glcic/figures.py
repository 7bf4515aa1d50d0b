"""The figures of notebook 02: completions side by side (zoomable) and the study's curves.

What they draw is measured in :mod:`helpers.glcic.evaluate` (``complete_fn`` callables, curves);
the diagnoses' own bar charts and curves are in :mod:`helpers.glcic.diagnose`.
"""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import pandas as pd
import torch

from helpers.core.images import to_uint8
from helpers.glcic.data import TestSet
from helpers.glcic.evaluate import HIGHER_IS_BETTER, CompleteFn
from helpers.glcic.model import masks_to_boxes

__all__ = ["completion_figure", "curve_figure"]


def completion_figure(testset: TestSet, methods: Mapping[str, CompleteFn], n: int = 6, title: str | None = None,
                      zoom: int | None = None):
    """Rows: input with the hole (grey), each method's completion, the original; ``n`` columns.

    ``zoom=p`` shows only the hole's bounding box plus ``p`` pixels around it, enlarged without
    smoothing, so a checkerboard or a box seam is as visible as it is to a close look.
    """
    n = min(n, len(testset))
    x, m = testset.images[:n], testset.masks[:n]
    rows = [("input", testset.inputs()[:n])]
    with torch.no_grad():
        rows += [(name, fn(testset.inputs()[:n], m).detach().cpu().clamp(-1, 1)) for name, fn in methods.items()]
    rows.append(("original", x))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n + 1.0, 1.3 * len(rows) + 0.3), squeeze=False)
    boxes = masks_to_boxes(m) if zoom is not None else None
    for r, (name, imgs) in enumerate(rows):
        u8 = to_uint8(imgs)
        for c in range(n):
            ax = axes[r, c]
            img = u8[c]
            if boxes is not None:
                bx, by, bw, bh = boxes[c].tolist()
                img = img[max(0, by - zoom):by + bh + zoom, max(0, bx - zoom):bx + bw + zoom]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.tight_layout(pad=0.3)
    if title:
        fig.suptitle(title, fontsize=10, y=1.02)
    return fig


def curve_figure(curves: Mapping[str, pd.DataFrame], measures=("orb", "sift", "psnr"), title: str | None = None):
    """The study's plot (mean similarity vs training steps), one panel per measure, one line per model."""
    measures = [mm for mm in measures if all(mm in c.columns for c in curves.values())]
    fig, axes = plt.subplots(1, len(measures), figsize=(3.6 * len(measures), 3.0), squeeze=False)
    for ax, meas in zip(axes[0], measures):
        for name, c in curves.items():
            ax.plot(c["step"], c[meas], marker="o", label=f"{name}-hole model")
        better = "higher" if HIGHER_IS_BETTER.get(meas) else "lower"
        ax.set_title(f"{meas.upper()} on mouth holes ({better} = better)", fontsize=9)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
