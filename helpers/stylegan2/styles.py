"""The w+ layer table: which latent index feeds which layer, "the r x r layers", and style mixing.

A generator of output side S reads w+ = (w_0 .. w_{L-1}), L = 2 log2(S) - 2 (:func:`num_ws_for`).
Index i feeds: block 4x4: conv (0), ToRGB (1); block r = 4 * 2^j (j >= 1): upsampling conv (2j - 1),
conv (2j), ToRGB (2j + 1) — every ToRGB shares its index with the next block's first convolution.
Shown in notebook 04 §2.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from helpers.stylegan2.model import num_ws_for

__all__ = ["LAYER_CONVENTIONS", "layer_table", "style_indices", "mix_styles"]

#: how w+ indices are grouped by resolution (see :func:`layer_table`)
LAYER_CONVENTIONS = ("stylegan", "conv")


def layer_table(size: int, convention: str = "stylegan") -> list[dict]:
    """One row per w+ index of a ``size`` generator: the layers it feeds and its resolution group.

    Index i feeds: block 4x4: conv (0), ToRGB (1); block r = 4 * 2^j (j >= 1): upsampling conv
    (2j - 1), conv (2j), ToRGB (2j + 1). So every ToRGB shares its index with the next block's
    first (upsampling) convolution. Two ways to say which indices are "the r x r layers":

    - ``"stylegan"`` (default, the StyleGAN papers' and official tools' convention: "coarse
      styles 4^2-8^2" = indices 0-3): indices 2j and 2j + 1 belong to r = 4 * 2^j;
    - ``"conv"``: the indices of the convolutions that *produce* r x r features (ToRGB ignored,
      the last index, the final ToRGB, goes to the top resolution): 4: [0], 8: [1, 2], 16: [3, 4], ...
    """
    if convention not in LAYER_CONVENTIONS:
        raise ValueError(f"convention must be one of {LAYER_CONVENTIONS}, got {convention!r}")
    n = num_ws_for(size)
    rows = []
    for i in range(n):
        feeds = []
        if i == 0:
            feeds.append("4x4 conv")
        elif i % 2 == 1:
            r_rgb = 4 * 2 ** ((i - 1) // 2)
            feeds.append(f"{r_rgb}x{r_rgb} ToRGB")
            if 2 * r_rgb <= size:
                feeds.insert(0, f"{2 * r_rgb}x{2 * r_rgb} conv (up)")
        else:
            r = 4 * 2 ** (i // 2)
            feeds.append(f"{r}x{r} conv")
        if convention == "stylegan":
            res = 4 * 2 ** (i // 2)
        else:
            res = 4 if i == 0 else (4 * 2 ** ((i + 1) // 2) if i % 2 else 4 * 2 ** (i // 2))
            res = min(res, size)
        rows.append({"index": i, "feeds": ", ".join(feeds), "resolution": res})
    return rows


def style_indices(size: int, resolutions: Sequence[int], convention: str = "stylegan") -> list[int]:
    """The w+ indices of the layers at ``resolutions`` (e.g. ``[4, 8]``) under ``convention``."""
    valid = [2 ** i for i in range(2, int(math.log2(size)) + 1)]
    bad = [r for r in resolutions if r not in valid]
    if bad:
        raise ValueError(f"resolutions must be among {valid} for a {size} px generator, got {bad}")
    want = set(int(r) for r in resolutions)
    return [row["index"] for row in layer_table(size, convention) if row["resolution"] in want]


def mix_styles(base: torch.Tensor, sources: dict, num_ws: int | None = None) -> torch.Tensor:
    """w+ ``base`` (N, num_ws, w_dim) with the entries ``sources[indices]`` replaced.

    ``sources`` maps a tuple of w+ indices to the w+ (N, num_ws, w_dim) (or w (N, w_dim)) that
    feeds them: ``mix_styles(w_unmasked, {(0, 1, 2, 3): w_masked})`` is the paper's step 3.
    """
    if base.ndim != 3:
        raise ValueError(f"base must be w+ (N, num_ws, w_dim), got {tuple(base.shape)}")
    n = base.shape[1] if num_ws is None else num_ws
    out = base.clone()
    for idx, src in sources.items():
        idx = list(idx)
        if any(not 0 <= i < n for i in idx):
            raise ValueError(f"w+ indices must be in 0..{n - 1}, got {idx}")
        src = src.unsqueeze(1).expand(-1, n, -1) if src.ndim == 2 else src
        if src.shape != base.shape:
            raise ValueError(f"source w+ {tuple(src.shape)} does not match base {tuple(base.shape)}")
        out[:, idx] = src[:, idx]
    return out
