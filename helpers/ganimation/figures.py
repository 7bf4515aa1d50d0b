"""The figures and the interactive AU editor of notebook 05 (all numbers come from evaluate).

Images are float (N, 3, S, S) in [-1, 1]; attention masks (N, 1, S, S) in [0, 1] are drawn in grey
(white = keep the input pixel, black = paint the colour image).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from helpers.core.viz import as_uint8_images, clean_axes
from helpers.faces.data import AUS
from helpers.ganimation.data import EditSet, preset_aus
from helpers.ganimation.evaluate import mouth_region, speck_map
from helpers.ganimation.model import VARIANT_LABELS, Generator, edit
from helpers.synthfaces import AU_NAMES, EXPRESSION_NAMES

__all__ = ["image_rows", "show_edits", "compare_models", "preset_grid", "sweep_figure", "speck_figure",
           "training_curves", "per_au_figure", "au_editor"]


def _grey(att: torch.Tensor) -> torch.Tensor:
    return att.expand(-1, 3, -1, -1) * 2 - 1


def image_rows(rows: dict, titles=None, size: float = 1.25, suptitle: str | None = None):
    """A figure with one row per entry of ``rows`` ({label: (N, 3, S, S)}); ``titles`` per column."""
    labels = list(rows)
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(labels), n, figsize=(size * n + 0.8, size * len(labels) + 0.4), squeeze=False)
    for r, lab in enumerate(labels):
        imgs = as_uint8_images(rows[lab])
        for c in range(n):
            ax = axes[r, c]
            if c < len(imgs):
                ax.imshow(imgs[c])
            clean_axes(ax, titles[c] if (titles is not None and r == 0 and c < len(titles)) else None)
            if c == 0:
                ax.set_ylabel(lab, fontsize=8, rotation=0, ha="right", va="center")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def show_edits(G: Generator, es: EditSet, n: int = 6, title: str | None = None):
    """Input, edit, exact truth, attention A and colour C for the first ``n`` edits of ``es``."""
    sub = es.subset(range(min(n, len(es))))
    r = edit(G, sub.images, sub.target)
    return image_rows({"input": sub.images, "edit": r["image"], "truth": sub.truth, "attention A": _grey(r["attention"]),
                       "colour C": r["colour"]}, titles=sub.labels, suptitle=title)


def compare_models(models: dict, es: EditSet, n: int = 6, title: str | None = None):
    """Input, truth and every model's edit of the first ``n`` edits of ``es`` (``models``: {name: G})."""
    sub = es.subset(range(min(n, len(es))))
    rows = {"input": sub.images, "truth": sub.truth}
    for name, G in models.items():
        rows[VARIANT_LABELS.get(name, name)] = edit(G, sub.images, sub.target)["image"]
    return image_rows(rows, titles=sub.labels, suptitle=title)


def preset_grid(models: dict, es: EditSet, i: int = 0, intensity: float = 1.5):
    """Face ``i`` of ``es`` edited to the 8 expressions of Table 2.2: the truth, then each model."""
    tg = torch.stack([torch.from_numpy(preset_aus(e, intensity)) for e in EXPRESSION_NAMES])
    rows = {"truth": torch.stack([es.render(i, t.numpy()) for t in tg])}
    x = es.images[i:i + 1].expand(len(tg), -1, -1, -1)
    for name, G in models.items():
        rows[VARIANT_LABELS.get(name, name)] = edit(G, x, tg)["image"]
    return image_rows(rows, titles=list(EXPRESSION_NAMES),
                      suptitle=f"Table 2.2 expressions at intensity {intensity} (disgust = AU9 + AU15: AU16 is not one of the 17)")


def sweep_figure(sweep: dict, labels: list[str], title: str):
    """Rows edit / truth / attention of a :func:`helpers.ganimation.evaluate.run_sweep` result."""
    titles = [f"{lab}\n{p:.1f} dB" for lab, p in zip(labels, sweep["psnr"].tolist())]
    return image_rows({"edit": sweep["edits"], "truth": sweep["truth"], "attention": _grey(sweep["attention"])},
                      titles=titles, size=1.35, suptitle=title)


def speck_figure(models: dict, es: EditSet, n: int = 6):
    """Closing open mouths: input, truth and each model's edit with its white specks marked in red."""
    sub = es.subset(range(min(n, len(es))))
    region = mouth_region(sub.truth_landmarks, sub.images.shape[-1], sub.landmarks)
    rows = {"input (teeth)": sub.images, "truth": sub.truth}
    for name, G in models.items():
        out = edit(G, sub.images, sub.target)["image"]
        spk = speck_map(out, sub.truth, region).float()
        red = torch.tensor([1.0, -1.0, -1.0])[None, :, None, None]
        rows[VARIANT_LABELS.get(name, name)] = out * (1 - spk) + red * spk
    return image_rows(rows, titles=[f"{int(v)} mouth px" for v in region.flatten(1).sum(1)],
                      suptitle="closing the mouth (AU10, AU25, AU26 -> 0): white specks in red")


def training_curves(manifests: dict, keys=("att_mean", "att_std", "att_high", "g_au_rmse")):
    """The attention statistics (and AU error) logged along training of each release, side by side."""
    fig, axes = plt.subplots(1, len(keys), figsize=(3.3 * len(keys), 2.8), squeeze=False)
    for ax, k in zip(axes[0], keys):
        for name, man in manifests.items():
            log = man["metrics"].get("train_log", [])
            xs = [r["step"] for r in log if k in r]
            ax.plot(xs, [r[k] for r in log if k in r], label=VARIANT_LABELS.get(name, name), lw=1.2)
        ax.set_title(k, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def per_au_figure(results: dict):
    """Per AU: each variant's read-back error of the edits, and the analysis network's own error on the truth."""
    fig, ax = plt.subplots(figsize=(11, 3))
    names = [v for v in results if "per_au" in results[v].get("random", {})]
    if not names:
        ax.text(0.5, 0.5, "needs the analysis network", ha="center")
        return fig
    w = 0.8 / (len(names) + 1)
    x = np.arange(len(AUS))
    truth = [results[names[0]]["random"]["per_au"][f"AU{a:02d}"]["mae_truth"] for a in AUS]
    ax.bar(x - 0.4 + w / 2, truth, w, color="k", alpha=0.35, label="truth (yardstick)")
    for j, v in enumerate(names):
        ax.bar(x - 0.4 + w * (j + 1.5), [results[v]["random"]["per_au"][f"AU{a:02d}"]["mae"] for a in AUS], w,
               label=VARIANT_LABELS.get(v, v))
    ax.set_xticks(x, [f"AU{a}" for a in AUS], fontsize=8)
    ax.set_ylabel("mean |read - target|", fontsize=8)
    ax.legend(fontsize=7, ncol=3)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def au_editor(models: dict, es: EditSet, au_max: float = 2.0):
    """The interactive editor: a face, a model, a preset + intensity, and 17 AU sliders (0 .. ``au_max``).

    Shows the input, the edit, its attention mask and the exact truth of the same AUs. Choosing a
    preset sets the sliders; moving a slider edits from there. Returns the widget.
    """
    import ipywidgets as W
    from IPython.display import display

    sliders = {a: W.FloatSlider(value=0.0, min=0.0, max=au_max, step=0.1, description=f"AU{a}",
                                tooltip=AU_NAMES.get(a, ""), continuous_update=False,
                                layout=W.Layout(width="260px")) for a in AUS}
    face = W.IntSlider(value=0, min=0, max=len(es) - 1, description="face", continuous_update=False)
    model = W.Dropdown(options=list(models), description="model")
    preset = W.Dropdown(options=["(input's AUs)"] + list(EXPRESSION_NAMES), description="preset")
    inten = W.FloatSlider(value=1.5, min=0.0, max=au_max, step=0.1, description="intensity", continuous_update=False)
    out = W.Output()
    busy = {"on": False}

    def set_sliders(vals):
        busy["on"] = True
        for k, a in enumerate(AUS):
            sliders[a].value = float(min(max(vals[k], 0.0), au_max))
        busy["on"] = False

    def draw(*_):
        if busy["on"]:
            return
        i = face.value
        aus = torch.tensor([[sliders[a].value for a in AUS]], dtype=torch.float32)
        r = edit(models[model.value], es.images[i:i + 1], aus)
        truth = es.render(i, aus[0].numpy())[None]
        imgs = as_uint8_images(torch.cat([es.images[i:i + 1], r["image"], _grey(r["attention"]), truth]))
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 4, figsize=(8, 2.3))
            for ax, im, t in zip(axes, imgs, ("input", "edit", "attention A", "truth")):
                ax.imshow(im)
                clean_axes(ax, t)
            plt.show()

    def on_preset(*_):
        if preset.value == "(input's AUs)":
            set_sliders(es.aus[face.value].tolist())
        else:
            set_sliders(preset_aus(preset.value, inten.value).tolist())
        draw()

    for w in [*sliders.values(), model]:
        w.observe(draw, names="value")
    for w in (preset, inten, face):
        w.observe(on_preset, names="value")
    on_preset()
    grid = W.GridBox(list(sliders.values()), layout=W.Layout(grid_template_columns="repeat(3, 270px)"))
    box = W.VBox([W.HBox([face, model]), W.HBox([preset, inten]), grid, out])
    display(box)
    return box
