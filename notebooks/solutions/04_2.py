"""Solution of notebook 04, exercise 2: the w+ indices of a resolution, and style mixing (seed 001, step 3)."""
import math


def style_mix(w_base, w_source, resolutions, size):
    """w+ (N, num_ws, w_dim) of w_base with w_source at the layers of ``resolutions``.

    StyleGAN convention: resolution r = 4 * 2**j owns the w+ indices 2j and 2j + 1.
    """
    out = w_base.clone()
    for r in resolutions:
        j = int(math.log2(r)) - 2
        for i in (2 * j, 2 * j + 1):
            if i < w_base.shape[1]:
                out[:, i] = w_source[:, i]
    return out
