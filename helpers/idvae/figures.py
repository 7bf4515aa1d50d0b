"""Notebook 06's figures and widget: swap grids (Fig. 4), interpolation rows (Fig. 5) and the swap widget.

Shown in notebook 06 §6 and §8.
"""
from __future__ import annotations

import numpy as np
import torch

from helpers.core.images import to_uint8
from helpers.faces.data import EXPRESSION_NAMES
from helpers.idvae.data import FaceSet
from helpers.idvae.model import IdExpVAE
from helpers.idvae.swaps import check_model, find, interpolate, swap

__all__ = ["swap_figure", "interpolation_figure", "swap_widget"]


def _show(ax, img):
    ax.imshow(to_uint8(img))
    ax.set_xticks([])
    ax.set_yticks([])


def swap_figure(grids: dict[str, torch.Tensor], n_cols: int, title: str = ""):
    """Several :func:`swap_grid` results (one per model) stacked: a figure."""
    import matplotlib.pyplot as plt

    n_rows = sum(len(g) // n_cols for g in grids.values())
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.15 * n_cols, 1.15 * n_rows + 0.4), squeeze=False)
    r = 0
    for name, g in grids.items():
        rows = len(g) // n_cols
        for i in range(rows):
            for j in range(n_cols):
                _show(axes[r + i, j], g[i * n_cols + j])
        axes[r, 0].set_title(name, fontsize=7, loc="left")
        r += rows
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def interpolation_figure(rows: dict[str, torch.Tensor], title: str = ""):
    """One row of interpolated faces per model (dict name -> (steps, 3, S, S))."""
    import matplotlib.pyplot as plt

    steps = len(next(iter(rows.values())))
    fig, axes = plt.subplots(len(rows), steps, figsize=(1.2 * steps, 1.3 * len(rows) + 0.3), squeeze=False)
    for i, (name, imgs) in enumerate(rows.items()):
        for j in range(steps):
            _show(axes[i, j], imgs[j])
        axes[i, 0].set_ylabel(name, fontsize=7)
    for j, t in enumerate(np.linspace(0, 1, steps)):
        axes[0, j].set_title(f"t={t:.2f}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def swap_widget(G: IdExpVAE, faces: FaceSet, steps: int = 5):
    """Pick two subjects and two expressions: the faces, both swaps and the interpolation between
    the two expressions on subject A (ipywidgets; returns the widget)."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    G = check_model(G)
    subjects = sorted(set(faces.subject.tolist()))
    present = sorted(set(faces.expression.tolist()) - {-1})
    names = [EXPRESSION_NAMES[e] for e in present]
    out = W.Output()
    w = {"subject_a": W.Dropdown(options=subjects, value=subjects[0], description="subject A"),
         "subject_b": W.Dropdown(options=subjects, value=subjects[min(1, len(subjects) - 1)], description="subject B"),
         "expr_a": W.Dropdown(options=names, value=names[min(1, len(names) - 1)], description="expr. A"),
         "expr_b": W.Dropdown(options=names, value=names[min(2, len(names) - 1)], description="expr. B")}

    def draw(_=None):
        with out:
            out.clear_output(wait=True)
            try:
                ra = find(faces, w["subject_a"].value, w["expr_a"].value)
                rb = find(faces, w["subject_b"].value, w["expr_b"].value)
            except ValueError as e:
                print(e)
                return
            xa, xb = faces.float_images(torch.tensor([ra])), faces.float_images(torch.tensor([rb]))
            ab, ba = swap(G, xa, xb)[0], swap(G, xb, xa)[0]
            line = interpolate(G, xa[0], xa[0], xb[0], steps)
            imgs = [xa[0], xb[0], ab, ba] + list(line)
            titles = ["A", "B", "A's identity,\nB's expression", "B's identity,\nA's expression"] + \
                     [f"A, t={t:.2f}" for t in np.linspace(0, 1, steps)]
            fig, axes = plt.subplots(1, len(imgs), figsize=(1.25 * len(imgs), 1.7))
            for ax, im, ti in zip(axes, imgs, titles):
                _show(ax, im)
                ax.set_title(ti, fontsize=6)
            plt.show()

    for v in w.values():
        v.observe(draw, names="value")
    draw()
    box = W.VBox([W.HBox(list(w.values())[:2]), W.HBox(list(w.values())[2:]), out])
    display(box)
    return box
