"""Figures for the notebooks: image grids, landmark overlays, animations, source viewer, widgets.

Images may be given as float tensors in [-1, 1] (CHW or NCHW, the in-memory convention) or as
uint8 arrays (HWC or NHWC, the on-disk convention); lists of either work too. Image axes never
show ticks. Everything runs offline (animations are embedded as JavaScript HTML), so notebooks
using it pass under nbval.
"""
from __future__ import annotations

import inspect
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from helpers.core.images import to_uint8


# ---------------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------------

def as_uint8_images(images, value_range=(-1.0, 1.0)) -> np.ndarray:
    """Any supported image batch -> uint8 (N, H, W, 3).

    Float tensors are CHW/NCHW with values in ``value_range`` (default [-1, 1]; use (0, 1) for
    masks); float numpy arrays are HWC/NHWC in ``value_range``; uint8 tensors CHW/NCHW; uint8
    arrays HWC/NHWC or HW/NHW (grey). A list may mix these if all have the same size.
    """
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError("no images given")
        parts = [as_uint8_images(im, value_range) for im in images]
        shapes = {p.shape[1:] for p in parts}
        if len(shapes) != 1:
            raise ValueError(f"all images must have the same size, got {sorted(shapes)}")
        return np.concatenate(parts)
    lo, hi = value_range
    if hi <= lo:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}")
    if torch.is_tensor(images):
        t = images.detach().cpu()
        if t.ndim == 2:
            t = t[None]
        if t.ndim == 3:
            t = t[None]
        if t.ndim != 4 or t.shape[1] not in (1, 3):
            raise ValueError(f"image tensors must be (C, H, W) or (N, C, H, W) with C in (1, 3), got {tuple(images.shape)}")
        if t.dtype == torch.uint8:
            t = t.float() / 127.5 - 1
        elif (lo, hi) != (-1.0, 1.0):
            t = (t.float() - lo) / (hi - lo) * 2 - 1
        return to_uint8(t)
    a = np.asarray(images)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"image arrays must be uint8 or float, got {a.dtype}")
        a = np.clip((a - lo) / (hi - lo), 0, 1)
        a = np.round(a * 255).astype(np.uint8)
    if a.ndim == 2 or (a.ndim == 3 and a.shape[-1] not in (1, 3)):
        a = a[..., None]          # HW -> HW1, NHW -> NHW1
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] not in (1, 3):
        raise ValueError(f"image arrays must be (H, W, 3), (N, H, W, 3) or grey, got {np.asarray(images).shape}")
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return a


def image_grid(images, nrow: int = 8, padding: int = 2, pad_value: int = 255,
               value_range=(-1.0, 1.0)) -> np.ndarray:
    """Tile images into one uint8 (H, W, 3) array, ``nrow`` images per row (as torchvision)."""
    if nrow < 1 or padding < 0:
        raise ValueError(f"nrow must be >= 1 and padding >= 0, got nrow={nrow}, padding={padding}")
    a = as_uint8_images(images, value_range)
    n, h, w, _ = a.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    grid = np.full((rows * h + (rows + 1) * padding, cols * w + (cols + 1) * padding, 3), pad_value, np.uint8)
    for k in range(n):
        r, c = divmod(k, cols)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        grid[y:y + h, x:x + w] = a[k]
    return grid


def clean_axes(ax, title=None):
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def show_grid(images, nrow: int = 8, title: str | None = None, ax=None, figsize=None,
              value_range=(-1.0, 1.0), padding: int = 2):
    """Show :func:`image_grid` in a matplotlib figure (no ticks); returns the axes."""
    grid = image_grid(images, nrow=nrow, padding=padding, value_range=value_range)
    if ax is None:
        h, w = grid.shape[:2]
        zoom = min(1200 / w, 1000 / h, 4.0)  # at most 12 x 10 inches, small grids up to 4x
        figsize = figsize or (w * zoom / 100, h * zoom / 100 + (0.35 if title else 0))
        fig, ax = plt.subplots(figsize=figsize)
        ax.imshow(grid, interpolation="nearest" if zoom >= 1 else "antialiased")
        clean_axes(ax, title)
        fig.tight_layout(pad=0.2)
        return ax
    ax.imshow(grid, interpolation="nearest")
    return clean_axes(ax, title)


def show_images(images, titles=None, ncols: int | None = None, size: float = 2.2, suptitle=None,
                value_range=(-1.0, 1.0)):
    """One subplot per image with its own title (e.g. original | masked | completed); returns the figure."""
    a = as_uint8_images(images, value_range)
    n = len(a)
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {n} images but {len(titles)} titles")
    ncols = ncols or min(n, 8)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < n:
            ax.imshow(a[k])
            clean_axes(ax, titles[k] if titles is not None else None)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def animate(frames, fps: float = 10, titles=None, figsize=None, value_range=(-1.0, 1.0)):
    """Frames (tensor (T, C, H, W), array (T, H, W, 3) or a list) -> an offline HTML animation.

    Returns ``IPython.display.HTML`` with matplotlib's JavaScript player (``to_jshtml``): it needs
    no ffmpeg and no internet, so it plays in JupyterLab, Colab and saved notebooks.
    """
    from IPython.display import HTML
    from matplotlib import animation

    a = as_uint8_images(frames, value_range)
    if titles is not None and len(titles) != len(a):
        raise ValueError(f"got {len(a)} frames but {len(titles)} titles")
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    h, w = a.shape[1:3]
    figsize = figsize or (min(6, max(2.5, w / 64)), min(6, max(2.5, w / 64)) * h / w + (0.3 if titles else 0))
    fig, ax = plt.subplots(figsize=figsize)
    im = ax.imshow(a[0])
    clean_axes(ax, titles[0] if titles is not None else None)
    fig.tight_layout()

    def update(k):
        im.set_data(a[k])
        if titles is not None:
            ax.set_title(titles[k], fontsize=10)
        return (im,)

    anim = animation.FuncAnimation(fig, update, frames=len(a), interval=1000 / fps, blit=False)
    html = _offline_player(anim.to_jshtml(fps=fps, default_mode="loop"))
    plt.close(fig)  # only the player is shown, not a static copy of the first frame
    return HTML(html)


_PLAYER_ICONS = {  # matplotlib's player loads Font Awesome from a CDN; plain glyphs work offline
    "fa fa-minus": "&minus;", "fa fa-plus": "+", "fa fa-fast-backward": "|&#9664;&#9664;",
    "fa fa-step-backward": "|&#9664;", "fa fa-play fa-flip-horizontal": "&#9664;",
    "fa fa-pause": "&#10074;&#10074;", "fa fa-play": "&#9654;", "fa fa-step-forward": "&#9654;|",
    "fa fa-fast-forward": "&#9654;&#9654;|",
}


def _offline_player(html: str) -> str:
    import re

    html = re.sub(r'<link rel="stylesheet"\s*href="https?://[^"]*font-awesome[^"]*">', "", html)
    for cls, glyph in _PLAYER_ICONS.items():
        html = html.replace(f'<i class="{cls}"></i>', f"<span>{glyph}</span>")
    return html


def show_source(obj, display: bool | None = None, start: int | None = None, stop: int | None = None) -> str:
    """Show the source of ``obj`` (a function, class, method or module) highlighted, with line numbers.

    Notebooks use it to show the model code that lives in ``helpers`` instead of copying it, so
    there is one truth. ``start``/``stop`` select lines (0-based, relative to the object's first
    line). Displays HTML in IPython (``display=None``: only when IPython is running) and returns the
    source text.
    """
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    try:
        lines, first = inspect.getsourcelines(obj)
    except (TypeError, OSError) as e:
        raise ValueError(f"cannot get the source of {obj!r}: {e}") from None
    if start is not None or stop is not None:
        first += start or 0
        lines = lines[start:stop]
    src = "".join(lines)
    if display is None:
        try:
            from IPython import get_ipython
            display = get_ipython() is not None
        except ImportError:
            display = False
    if display:
        from IPython.display import HTML
        from IPython.display import display as ipy_display

        name = getattr(obj, "__qualname__", getattr(obj, "__name__", type(obj).__name__))
        module = getattr(inspect.getmodule(obj), "__name__", "?")
        fmt = HtmlFormatter(linenos="inline", linenostart=max(first, 1), noclasses=True, style="default")
        body = highlight(src, PythonLexer(), fmt)
        head = (f"<div style='font-family:monospace;font-size:11px;color:#666'>"
                f"{module}.{name} &mdash; line {max(first, 1)}</div>")
        ipy_display(HTML(f"<div style='max-height:480px;overflow:auto'>{head}{body}</div>"))
    return src


def plot_curves(df, x: str = "step", ys=None, ax=None, smooth: int | None = None, logy: bool = False,
                title: str | None = None):
    """Plot training curves from a DataFrame (e.g. ``RunDir.history()``); returns the axes.

    ``ys`` defaults to every numeric column except ``x``; ``smooth`` = rolling-mean window drawn
    over the raw curve (faint).
    """
    if x not in df.columns:
        raise ValueError(f"column {x!r} not in {list(df.columns)}")
    if ys is None:
        ys = [c for c in df.columns if c != x and np.issubdtype(df[c].dtype, np.number)]
    if isinstance(ys, str):
        ys = [ys]
    missing = [c for c in ys if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} not in {list(df.columns)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for k, c in enumerate(ys):
        colour = f"C{k}"
        d = df[[x, c]].dropna()
        if smooth and smooth > 1:
            ax.plot(d[x], d[c], color=colour, alpha=0.25, linewidth=1)
            ax.plot(d[x], d[c].rolling(smooth, min_periods=1).mean(), color=colour, label=c, linewidth=1.6)
        else:
            ax.plot(d[x], d[c], color=colour, label=c, linewidth=1.4)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def slider(fn, **ranges):
    """``ipywidgets.interactive(fn, ...)`` with sliders that update when released.

    Each keyword is ``(min, max)`` or ``(min, max, step)`` (ints -> IntSlider, else FloatSlider),
    a list of options (Dropdown), a bool (Checkbox) or a ready widget. The first value of a range
    is the start value unless a fourth element gives it: ``(min, max, step, value)``.
    """
    import ipywidgets as W

    if not callable(fn):
        raise ValueError("fn must be callable")
    if not ranges:
        raise ValueError("give at least one parameter range, e.g. slider(f, t=(0.0, 1.0))")
    widgets = {}
    for name, spec in ranges.items():
        if isinstance(spec, W.Widget):
            widgets[name] = spec
        elif isinstance(spec, bool):
            widgets[name] = W.Checkbox(value=spec, description=name)
        elif isinstance(spec, list):
            widgets[name] = W.Dropdown(options=spec, description=name)
        elif isinstance(spec, tuple) and 2 <= len(spec) <= 4:
            lo, hi = spec[0], spec[1]
            if not lo < hi:
                raise ValueError(f"{name}: min must be < max, got {spec}")
            is_int = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in spec)
            step = spec[2] if len(spec) > 2 else (1 if is_int else (hi - lo) / 100)
            value = spec[3] if len(spec) > 3 else lo
            cls = W.IntSlider if is_int else W.FloatSlider
            widgets[name] = cls(min=lo, max=hi, step=step, value=value, description=name,
                                continuous_update=False)
        else:
            raise ValueError(f"{name}: expected (min, max[, step[, value]]), a list, a bool or a widget, got {spec!r}")
    return W.interactive(fn, **widgets)
