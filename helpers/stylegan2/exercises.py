"""Checkers for notebook 04's coding exercises (solutions: ``notebooks/solutions/04_*.py``).

Each ``check_*`` calls the student's function on random inputs and compares it with the
package's reference; it prints "not done yet" (and returns False) while the stub still raises
``NotImplementedError``, a clear message when the result is wrong, and returns True when it matches.

1. :func:`check_modulated_conv` — the modulated convolution with demodulation (paper Eq. 1-3).
2. :func:`check_style_mix` — which w+ indices are "the r x r layers", and style mixing (seed step 3).
3. :func:`check_noise_regularisation` — the projector's noise regulariser R(n).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.nn import functional as F

from helpers.core.exercises import attempt
from helpers.stylegan2.styles import mix_styles, style_indices
from helpers.stylegan2.project import noise_regularisation

__all__ = ["fused_modulated_conv2d", "check_modulated_conv", "check_style_mix", "check_noise_regularisation"]


def fused_modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor,
                           demodulate: bool = True) -> torch.Tensor:
    """The paper's form: one modulated weight per sample, a grouped convolution.

    x (N, in, H, W), weight (out, in, k, k) (already scaled), styles (N, in) -> (N, out, H, W)::

        w'_nijk = s_ni w_ijk;   w''_nijk = w'_nijk / sqrt(sum_ik w'_nijk^2 + 1e-8)
    """
    n, cin, h, w = x.shape
    cout, _, k, _ = weight.shape
    wm = weight[None] * styles[:, None, :, None, None]                 # (N, out, in, k, k)
    if demodulate:
        wm = wm * torch.rsqrt(wm.square().sum((2, 3, 4), keepdim=True) + 1e-8)
    out = F.conv2d(x.reshape(1, n * cin, h, w), wm.reshape(n * cout, cin, k, k), padding=k // 2, groups=n)
    return out.reshape(n, cout, h, w)




def _report(name: str, ok: bool, detail: str) -> bool:
    print(f"{name}: {'correct' if ok else 'not yet right'} — {detail}")
    return ok


def check_modulated_conv(fn: Callable) -> bool:
    """``fn(x, weight, styles, demodulate)`` -> (N, out, H, W), against :func:`fused_modulated_conv2d`
    and the model's :class:`helpers.stylegan2.model.ModulatedConv2d`."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 5, 8, 8, generator=g)
    weight = torch.randn(7, 5, 3, 3, generator=g) / 15 ** 0.5
    styles = torch.rand(3, 5, generator=g) + 0.5
    ok, out = attempt(fn, x, weight, styles, True)
    if not ok:
        return False
    if not torch.is_tensor(out) or out.shape != (3, 7, 8, 8):
        return _report("modulated convolution", False, f"expected a tensor (3, 7, 8, 8), got "
                       f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}")
    ref = fused_modulated_conv2d(x, weight, styles, True)
    err = float((out - ref).abs().max())
    if err > 1e-4:
        return _report("modulated convolution", False, f"max |difference| {err:.3g} from the reference "
                       "(did you demodulate each output channel of each sample?)")
    ok2, out2 = attempt(fn, x, weight, styles, False)
    err2 = float((out2 - fused_modulated_conv2d(x, weight, styles, False)).abs().max())
    if err2 > 1e-4:
        return _report("modulated convolution", False, f"without demodulation the result differs by {err2:.3g}")
    return _report("modulated convolution", True, f"matches the paper's grouped form (max error {max(err, err2):.1e})")


def check_style_mix(fn: Callable) -> bool:
    """``fn(w_base, w_source, resolutions, size)`` -> w+ with ``w_source`` at the layers of ``resolutions``
    (StyleGAN convention: indices 2j and 2j + 1 belong to 4 * 2^j)."""
    g = torch.Generator().manual_seed(5)
    a, b = torch.randn(2, 10, 6, generator=g), torch.randn(2, 10, 6, generator=g)
    cases = [([4, 8], 64), ([16], 64), ([64], 64), ([8, 32], 64)]
    for res, size in cases:
        ok, out = attempt(fn, a, b, res, size)
        if not ok:
            return False
        want = mix_styles(a, {tuple(style_indices(size, res)): b})
        if not torch.is_tensor(out) or out.shape != want.shape or not torch.equal(out, want):
            idx = style_indices(size, res)
            return _report("style mix", False, f"for resolutions {res} at {size} px the source should feed "
                           f"exactly the w+ indices {idx} and the base all others")
    return _report("style mix", True, "4x4 + 8x8 -> indices 0-3, 16x16 -> 4-5, ... as in the layer table")


def check_noise_regularisation(fn: Callable) -> bool:
    """``fn(noises)`` -> (N,) per-image R(n), against :func:`helpers.stylegan2.project.noise_regularisation`."""
    g = torch.Generator().manual_seed(6)
    noises = [torch.randn(2, 1, r, r, generator=g) for r in (4, 8, 8, 16, 16, 32)]
    noises[-1][1] = torch.linspace(-1, 1, 32).expand(1, 32, 32)   # a smooth map: a large R
    ok, out = attempt(fn, noises)
    if not ok:
        return False
    ref = noise_regularisation(noises)
    if not torch.is_tensor(out) or out.shape != ref.shape:
        return _report("noise regularisation", False, f"expected a tensor of shape {tuple(ref.shape)} (one value per image)")
    err = float(((out - ref).abs() / ref.abs().clamp_min(1e-8)).max())
    if err > 1e-3:
        return _report("noise regularisation", False, f"relative difference {err:.3g} (remember the pyramid: "
                       "average-pool by 2 until 8x8, and square the mean of each shifted product)")
    return _report("noise regularisation", True, f"R = {ref.tolist()} (the smooth second map is penalised)")
