"""The toy's pictures: samples over the modes and D(x) per snapshot, an animation, training curves.

Each takes a :class:`helpers.toygan.train.ToyRun`."""
from __future__ import annotations

import math

import numpy as np

from helpers.toygan.evaluate import mode_coverage

__all__ = ["progress_frames", "plot_progress", "plot_curves"]


def _panel(ax, run: "ToyRun", snap: dict):
    import matplotlib.pyplot as plt

    cfg, e = run.config, run.config.extent
    im = ax.imshow(snap["surface"], extent=(-e, e, -e, e), origin="lower", cmap="RdBu",
                   vmin=0, vmax=1, alpha=0.6)
    ax.scatter(snap["samples"][:, 0], snap["samples"][:, 1], s=3, c="k", alpha=0.5, linewidths=0)
    for c in cfg.modes:
        ax.add_patch(plt.Circle(c, cfg.radius, fill=False, color="red", lw=1))
    cov = mode_coverage(snap["samples"], cfg.modes, cfg.radius)
    ax.set_title(f"step {snap['step']}: {cov['covered']}/{cov['n_modes']} modes", fontsize=9)
    ax.set_xlim(-e, e)
    ax.set_ylim(-e, e)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")
    return im


def progress_frames(run: "ToyRun", size_in: float = 3.0, dpi: int = 80) -> np.ndarray:
    """One rendered panel per snapshot as uint8 (T, H, W, 3), e.g. for ``helpers.viz.animate``."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    frames = []
    for snap in run.snapshots:
        fig = plt.figure(figsize=(size_in, size_in), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.02, 0.02, 0.96, 0.88))
        _panel(ax, run, snap)
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy())
        plt.close(fig)
    return np.stack(frames)


def plot_progress(run: "ToyRun", n_cols: int | None = None, max_panels: int = 8, axes=None):
    """Snapshots of G's samples (dots) over the real modes (red circles) and D(x) (background).

    Each panel's title gives the step and the mode coverage at that moment. Returns the figure.
    """
    import matplotlib.pyplot as plt

    snaps = run.snapshots
    if not snaps:
        raise ValueError("the run has no snapshots; train with snapshot_every > 0")
    if len(snaps) > max_panels:  # keep first and last, spread the rest
        idx = np.unique(np.linspace(0, len(snaps) - 1, max_panels).round().astype(int))
        snaps = [snaps[i] for i in idx]
    n_cols = n_cols or min(4, len(snaps))
    n_rows = int(math.ceil(len(snaps) / n_cols))
    if axes is None:
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(3 * n_cols, 3 * n_rows), squeeze=False)
    else:
        axes = np.atleast_2d(axes)
        fig = axes.flat[0].figure
    for ax in axes.flat[len(snaps):]:
        ax.axis("off")
    im = None
    for ax, s in zip(axes.flat, snaps):
        im = _panel(ax, run, s)
    if im is not None:
        fig.colorbar(im, ax=list(axes.flat), shrink=0.6, label="D(x) = P(real)")
    return fig


def plot_curves(runs: "dict[str, ToyRun]", keys=("d_fake", "g_grad"), smooth: int = 25):
    """Training curves of several runs side by side (moving average over ``smooth`` steps)."""
    import matplotlib.pyplot as plt

    labels = {"loss_d": "D loss", "loss_g": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))",
              "g_grad": "|dL_G / dG(z)| per sample"}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.2), squeeze=False)
    for ax, k in zip(axes[0], keys):
        for name, run in runs.items():
            y = np.asarray(run.history[k], dtype=np.float64)
            if smooth > 1 and len(y) >= smooth:
                y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            ax.plot(np.arange(len(y)) + 1, y, label=name)
        ax.set_xlabel("step")
        ax.set_title(labels.get(k, k))
        if k == "g_grad":
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
