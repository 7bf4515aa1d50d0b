"""Figures and the interactive part of notebook 03: the paper's figure, the label as a control, a widget.

The paper's Figs. 2-3 show, for a No_Smiling and a Smiling face, the original with its label on
the left and, on the right, Baseline (row 1) and Ours (row 2): predicted landmarks and the
inpainted image. :func:`seed_figure` draws that layout from measured networks, with the true
landmarks in green beside each prediction so the reader can judge the mouth.
"""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import torch

from helpers.core.images import to_uint8
from helpers.faces.landmarks import draw, lip_distance, mouth_corner_distance, inter_ocular
from helpers.lafin.data import TestFaces
from helpers.lafin.inpainter import InpaintGenerator, inpaint
from helpers.lafin.model import LandmarkPredictor, damage, predict

__all__ = ["pick_faces", "seed_figure", "control_figure", "label_histograms", "explore_widget", "LABELS"]

LABELS = {0: "No_Smiling", 1: "Smiling"}


def pick_faces(ts: TestFaces, per_label: int = 1, start: int = 0) -> list[int]:
    """Indices of the first ``per_label`` No_Smiling and Smiling test faces from ``start``."""
    out = []
    for lab in (0, 1):
        idx = [int(i) for i in torch.nonzero(ts.smiling == lab).flatten() if i >= start][:per_label]
        out += idx
    return out


def _run(P: LandmarkPredictor, G: InpaintGenerator | None, x: torch.Tensor, m: torch.Tensor, labels: torch.Tensor):
    lm = predict(P, damage(x, m), labels if P.label_input else None)["landmarks"]
    done = inpaint(G, x * (1 - m), m, lm) if G is not None else None
    return lm, done


def _show(ax, img, title=None):
    ax.imshow(to_uint8(img))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def seed_figure(ts: TestFaces, predictors: Mapping[str, LandmarkPredictor], G: InpaintGenerator | None,
                indices, kind: str = "halfface", title: str | None = None):
    """The paper's figure: per face one row: truth + label, damaged input, then per predictor its
    landmarks (red; truth green) and the inpainted face. Returns the figure."""
    idx = list(indices)
    x, m = ts.images[idx], ts.masks[kind][idx]
    labels = ts.smiling[idx].clamp(min=0)
    runs = {k: _run(P, G, x, m, labels) for k, P in predictors.items()}
    ncol = 2 + len(runs) * (2 if G is not None else 1)
    fig, axes = plt.subplots(len(idx), ncol, figsize=(1.75 * ncol, 1.85 * len(idx) + 0.3), squeeze=False)
    for r in range(len(idx)):
        _show(axes[r, 0], x[r], f"truth: {LABELS[int(labels[r])]}")
        _show(axes[r, 1], damage(x[r:r + 1], m[r:r + 1])[0], "damaged input")
        c = 2
        for name, (lm, done) in runs.items():
            ax = axes[r, c]
            _show(ax, damage(x[r:r + 1], m[r:r + 1])[0], f"{name}: landmarks")
            draw(ax, ts.landmarks[idx[r]], color="lime", size=3, linewidth=0.6, alpha=0.8)
            draw(ax, lm[r], color="red", size=3, linewidth=0.6, alpha=0.9)
            c += 1
            if done is not None:
                _show(axes[r, c], done[r], f"{name}: inpainted")
                c += 1
    # the title gets its own strip above the panels' titles (tight_layout alone lets them overlap)
    fig.tight_layout(pad=0.3, h_pad=0.9, rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()) if title else None)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def control_figure(ts: TestFaces, P: LandmarkPredictor, G: InpaintGenerator | None, index: int,
                   kind: str = "halfface"):
    """One face read with label No_Smiling and with Smiling: landmarks (truth green) and inpaintings."""
    if not P.label_input:
        raise ValueError("control_figure needs a predictor with label input (variant != 'baseline')")
    x, m = ts.images[index:index + 1].expand(2, -1, -1, -1), ts.masks[kind][index:index + 1].expand(2, -1, -1, -1)
    lm, done = _run(P, G, x.contiguous(), m.contiguous(), torch.tensor([0, 1]))
    iod = float(inter_ocular(ts.landmarks[index]))
    ncol = 1 + 2 * (2 if G is not None else 1)
    fig, axes = plt.subplots(1, ncol, figsize=(1.9 * ncol, 2.3), squeeze=False)
    _show(axes[0, 0], ts.images[index], f"truth: {LABELS[int(ts.smiling[index])]}")
    c = 1
    for k in (0, 1):
        d = 100 * float(mouth_corner_distance(lm[k])) / iod
        ax = axes[0, c]
        _show(ax, damage(x[k:k + 1], m[k:k + 1])[0], f"label {LABELS[k]}\ncorners {d:.1f} % IOD")
        draw(ax, ts.landmarks[index], color="lime", size=3, linewidth=0.6, alpha=0.8)
        draw(ax, lm[k], color="red", size=3, linewidth=0.6)
        c += 1
        if done is not None:
            _show(axes[0, c], done[k], f"inpainted ({LABELS[k]})")
            c += 1
    fig.tight_layout(pad=0.3)
    return fig


def label_histograms(ts: TestFaces, lips: str = "inner"):
    """What the label tells: true corner and lip distances (% of the inter-ocular distance) by label."""
    iod = inter_ocular(ts.landmarks)
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 2.6))
    for ax, (name, fn) in zip(axes, (("mouth-corner distance", mouth_corner_distance),
                                     (f"lip distance ({lips})", lambda l: lip_distance(l, lips)))):
        v = (100 * fn(ts.landmarks) / iod).numpy()
        for lab in (0, 1):
            ax.hist(v[ts.smiling.numpy() == lab], bins=25, alpha=0.6, label=LABELS[lab])
        ax.set_xlabel(f"{name}, % of inter-ocular distance")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def explore_widget(ts: TestFaces, predictors: Mapping[str, LandmarkPredictor], G: InpaintGenerator | None):
    """Pick a face and a hole shape, toggle the Smiling label: landmarks and inpaintings follow."""
    import ipywidgets as W
    from IPython.display import display

    face = W.IntSlider(0, 0, len(ts) - 1, description="face", continuous_update=False)
    kind = W.Dropdown(options=list(ts.masks), value="facemask" if "facemask" in ts.masks else list(ts.masks)[0],
                      description="hole")
    smile = W.ToggleButton(value=False, description="Smiling label", icon="smile-o")
    out = W.Output()

    def redraw(*_):
        i, k = face.value, kind.value
        x, m = ts.images[i:i + 1], ts.masks[k][i:i + 1]
        lab = torch.tensor([int(smile.value)])
        with out:
            out.clear_output(wait=True)
            ncol = 2 + len(predictors) * (2 if G is not None else 1)
            fig, axes = plt.subplots(1, ncol, figsize=(1.9 * ncol, 2.3), squeeze=False)
            _show(axes[0, 0], x[0], f"truth: {LABELS[int(ts.smiling[i])]}")
            _show(axes[0, 1], damage(x, m)[0], "damaged input")
            c = 2
            for name, P in predictors.items():
                lm, done = _run(P, G, x, m, lab)
                note = f" ({LABELS[int(lab)]})" if P.label_input else " (no label)"
                _show(axes[0, c], damage(x, m)[0], name + note)
                draw(axes[0, c], ts.landmarks[i], color="lime", size=3, linewidth=0.6, alpha=0.8)
                draw(axes[0, c], lm[0], color="red", size=3, linewidth=0.6)
                c += 1
                if done is not None:
                    _show(axes[0, c], done[0], f"{name}: inpainted")
                    c += 1
            fig.tight_layout(pad=0.3)
            plt.show()

    for w in (face, kind, smile):
        w.observe(redraw, names="value")
    box = W.VBox([W.HBox([face, kind, smile]), out])
    display(box)
    redraw()
    return box
