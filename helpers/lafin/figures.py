"""Figures and the interactive part of notebook 03: the paper's figure, the label as a control, a widget.

The paper's Figs. 2-3 show, for a No_Smiling and a Smiling face, the original with its label on
the left and, on the right, Baseline (row 1) and Ours (row 2): predicted landmarks and the
inpainted image. :func:`seed_figure` draws that layout from measured networks, with the true
landmarks in green beside each prediction so the reader can judge the mouth.
"""
from __future__ import annotations

from typing import Mapping

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from helpers.core.images import to_uint8
from helpers.faces.landmarks import draw, lip_distance, mouth_corner_distance, inter_ocular
from helpers.lafin.data import TestFaces
from helpers.lafin.inpainter import InpaintGenerator, inpaint
from helpers.lafin.model import LandmarkPredictor, damage, predict

__all__ = ["pick_faces", "seed_figure", "control_figure", "tradeoff_figure", "pipeline_figure", "label_histograms", "explore_widget", "LABELS"]

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


def _mouth_window(lm: torch.Tensor, size: int, pad: float = 0.4) -> tuple[int, int, int, int]:
    """A square (y0, y1, x0, x1) around the mouth points of ``lm`` (68, 2), ``pad`` x their width each side."""
    m = lm[48:68]
    cx, cy = float(m[:, 0].mean()), float(m[:, 1].mean())
    half = max(float(m[:, 0].max() - m[:, 0].min()), 8.0) * (0.5 + pad)
    half = min(half, size / 2)
    x0 = int(round(min(max(cx - half, 0), size - 2 * half)))
    y0 = int(round(min(max(cy - half, 0), size - 2 * half)))
    return y0, y0 + int(round(2 * half)), x0, x0 + int(round(2 * half))


def control_figure(ts: TestFaces, P: LandmarkPredictor, G: InpaintGenerator | None, index,
                   kind: str = "halfface", zoom: bool = True):
    """Faces read with label No_Smiling and with Smiling: one row per face (``index``: an int or a list).

    Per label: the damaged input with the predicted landmarks (truth green) and the inpainting;
    with ``zoom`` and an inpainter, the two inpainted mouths enlarged side by side (the same window,
    around the true mouth), so a difference of a few pixels at the corners can be seen.
    """
    if not P.label_input:
        raise ValueError("control_figure needs a predictor with label input (variant != 'baseline')")
    rows = [int(index)] if isinstance(index, int) else [int(i) for i in index]
    if not rows:
        raise ValueError("control_figure needs at least one face index")
    zoom = zoom and G is not None
    ncol = 1 + 2 * (2 if G is not None else 1) + (2 if zoom else 0)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.75 * ncol, 2.15 * len(rows) + 0.15), squeeze=False)
    for r, i in enumerate(rows):
        x = ts.images[i:i + 1].expand(2, -1, -1, -1).contiguous()
        m = ts.masks[kind][i:i + 1].expand(2, -1, -1, -1).contiguous()
        lm, done = _run(P, G, x, m, torch.tensor([0, 1]))
        iod = float(inter_ocular(ts.landmarks[i]))
        _show(axes[r, 0], ts.images[i], f"truth: {LABELS[int(ts.smiling[i])]}\ncorners "
                                        f"{100 * float(mouth_corner_distance(ts.landmarks[i])) / iod:.1f} % IOD")
        c = 1
        for k in (0, 1):
            d = 100 * float(mouth_corner_distance(lm[k])) / iod
            ax = axes[r, c]
            _show(ax, damage(x[k:k + 1], m[k:k + 1])[0], f"label {LABELS[k]}\ncorners {d:.1f} % IOD")
            draw(ax, ts.landmarks[i], color="lime", size=3, linewidth=0.6, alpha=0.8)
            draw(ax, lm[k], color="red", size=3, linewidth=0.6)
            c += 1
            if done is not None:
                _show(axes[r, c], done[k], f"inpainted ({LABELS[k]})")
                c += 1
        if zoom:
            y0, y1, x0, x1 = _mouth_window(ts.landmarks[i], ts.images.shape[-1])
            for k in (0, 1):
                _show(axes[r, c], done[k][:, y0:y1, x0:x1], f"mouth, {LABELS[k]}")
                c += 1
    fig.tight_layout(pad=0.3, h_pad=1.2)
    return fig


def tradeoff_figure(table, columns=("nme", "corner_err", "lip_err")):
    """The label study's trade-off: each measure (mean +- std over seeds) against Ours' distance-loss
    weight ``w``, one line per label group, the Baseline's mean +- std as a band of the same colour.

    ``table``: :func:`helpers.lafin.claims.label_study_table`'s result.
    """
    models = [m for m in table.index.get_level_values("model").unique() if m != "baseline"]
    # "ours w=0.3" (grid label map) or "ours w=0.3 broadcast": one line per reading of the label
    lines = {}
    for m in models:
        w, _, reading = m.split("=")[1].partition(" ")
        lines.setdefault(reading or "grid", []).append((float(w), m))
    ws = sorted({w for pts in lines.values() for w, _ in pts})
    names = {"nme": "NME, all points", "corner_err": "mouth-corner distance error", "lip_err": "lip distance error",
             "nme_mouth": "NME, mouth points"}
    fig, axes = plt.subplots(1, len(columns), figsize=(3.3 * len(columns), 2.8), squeeze=False)
    for ax, col in zip(axes[0], columns):
        for g, colour in (("No_Smiling", "tab:blue"), ("Smiling", "tab:orange"), ("all", "black")):
            for reading, pts in lines.items():
                x = [w for w, _ in pts]
                mean = [table.loc[(m, g), (col, "mean")] for _, m in pts]
                std = [table.loc[(m, g), (col, "std")] for _, m in pts]
                grid = reading == "grid"
                ax.errorbar(x, mean, yerr=std, color=colour, marker="o" if grid else "s", ms=3, capsize=2,
                            ls="-" if grid else ":", label=f"Ours, {g}" + ("" if grid else f" ({reading} label)"))
            b, bs = table.loc[("baseline", g), (col, "mean")], table.loc[("baseline", g), (col, "std")]
            ax.axhspan(b - (bs if bs == bs else 0), b + (bs if bs == bs else 0), color=colour, alpha=0.12)
            ax.axhline(b, color=colour, ls="--", lw=0.8)
        if min(ws) > 0:
            ax.set_xscale("log")
        else:                              # w = 0: the label input and state loss without the distance losses
            ax.set_xscale("symlog", linthresh=min([w for w in ws if w > 0] or [1.0]))
        ax.set_xticks(ws, [f"{w:g}" for w in ws])
        ax.minorticks_off()
        ax.set_xlabel("w_corner = w_lip (paper: 1)")
        ax.set_title(f"{names.get(col, col)}, % IOD", fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.text(0.5, 0.0, "dashed line and band: Baseline (mean +- std over the same seeds)", ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def pipeline_figure(pipe, photos, truths=None):
    """The photo pipeline step by step, one row per photo (uint8 H, W, 3): the detector's box, the
    landmarks on the crop, the estimated hole, the completed crop and the photo with the completion
    pasted back; with ``truths`` (the same photos unmasked), the true crop last. Returns the figure."""
    photos = list(photos)
    truths = None if truths is None else list(truths)
    if truths is not None and len(truths) != len(photos):
        raise ValueError(f"truths must match photos: {len(truths)} vs {len(photos)}")
    ncol = 5 + (truths is not None)
    fig, axes = plt.subplots(len(photos), ncol, figsize=(1.9 * ncol, 2.0 * len(photos) + 0.2), squeeze=False)
    for r, photo in enumerate(photos):
        res = pipe(photo)
        ax = axes[r, 0]
        ax.imshow(photo)
        ax.set_title("photo: " + ("face found" if res.found else "no face found"), fontsize=8)
        if res.box is not None:
            x0, y0, x1, y1 = res.box
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="yellow", lw=1))
        _show(axes[r, 1], res.crop, "crop + landmarks")
        draw(axes[r, 1], res.crop_landmarks, color="red", size=3, linewidth=0.6)
        _show(axes[r, 2], damage(res.crop[None], res.hole[None])[0], "estimated hole")
        _show(axes[r, 3], res.inpainted, "inpainted")
        axes[r, 4].imshow(res.output)
        axes[r, 4].set_title("pasted back", fontsize=8)
        if truths is not None:
            # the same crop of the unmasked photo: pass 1's box and pass 2's landmark crop are in res.crop's frame
            size = res.crop.shape[-1]
            M = cv2.estimateAffinePartial2D(res.landmarks.astype(np.float32),
                                            res.crop_landmarks.numpy().astype(np.float32))[0]
            t = cv2.warpAffine(np.asarray(truths[r]), M, (size, size), flags=cv2.INTER_AREA)
            axes[r, 5].imshow(t)
            axes[r, 5].set_title("truth (unmasked)", fontsize=8)
        for a in axes[r]:
            a.set_xticks([])
            a.set_yticks([])
    fig.tight_layout(pad=0.3, h_pad=0.8)
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
