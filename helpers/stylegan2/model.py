"""StyleGAN2 (Karras et al., CVPR 2020, "Analyzing and Improving the Image Quality of StyleGAN").

One readable file, pure PyTorch (no custom CUDA ops, so it runs on a CPU and in Colab alike):
the config, the building blocks, the generator, the discriminator, the w+ layer table, truncation.
The losses and the training step are in ``losses.py``, the projector in ``project.py``, loaders for
NVIDIA's and rosinality's published weights in ``official.py``. Shown in notebook 04 §3.

Generator ("config F", skip architecture)::

    z (N, z_dim) -> normalise 2nd moment -> 8 x EqualLinear (lr x 0.01, lrelu) -> w (N, w_dim)
    w -> broadcast to w+ (N, num_ws, w_dim)   [style mixing: different w per layer]
    const 4x4 -> [StyledConv 3x3]               -> ToRGB -> img 4x4
              -> [StyledConv up, StyledConv]    -> ToRGB -> + upsample(img) -> img 8x8 ... -> size

A StyledConv is a *modulated* convolution: each input channel is scaled by a style
``s = A(w)`` (an affine layer, bias 1), the output is *demodulated* (each output channel divided
by the norm its weights would give), then per-pixel noise ``B * n`` (a learned strength), a bias and
lrelu(0.2) * sqrt(2) follow::

    w'_ijk = s_i * w_ijk,    w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + 1e-8)     (paper Eq. 1, 3)

Equalised learning rate: every weight is stored as N(0, 1) / lr_mul and multiplied at run time by
``lr_mul / sqrt(fan_in)`` (biases by ``lr_mul``), so Adam sees every layer at the same scale.
This is the convention of both NVIDIA's and rosinality's code, so their weights load unchanged.

Discriminator (residual)::

    img -> fromRGB 1x1 -> ResBlock(conv 3x3, conv 3x3 down, skip 1x1 down; sum / sqrt 2) ... -> 4x4
        -> minibatch stddev (groups of 4, 1 channel) -> conv 3x3 -> FC -> FC -> logit

Up/down-sampling uses the [1, 3, 3, 1] FIR filter (:func:`upfirdn2d`, separable, pure PyTorch).

Speed (CPU): the modulated convolution runs the "non-fused" way: scale the *activations* by the
styles, one ordinary convolution with the shared weight, then scale the output by the
demodulation coefficients. It is the same function as the per-sample grouped convolution (the
"fused" way of both reference implementations; tests check it) but one large convolution instead
of N small ones, which oneDNN (CPU) and cuDNN run much faster, also in bf16 autocast.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from helpers.core.config import Config as BaseConfig

__all__ = ["Config", "channels", "make_kernel", "upfirdn2d", "EqualLinear", "EqualConv2d",
           "ModulatedConv2d", "StyledConv", "ToRGB", "SynthesisBlock", "MappingNetwork", "Generator",
           "ConvLayer", "DiscriminatorBlock", "MinibatchStd", "DiscriminatorEpilogue", "Discriminator",
           "build", "num_ws_for"]

SQRT2 = math.sqrt(2.0)
ALIGNMENTS = ("ffhq", "none")


# ----------------------------------------------------------------------------- config
@dataclass
class Config(BaseConfig):
    """Everything that defines a StyleGAN2 run. Defaults = the quick profile (32 px, tiny, seconds)."""

    size: int = 32                  # output side: a power of 2, >= 8
    z_dim: int = 64                 # latent z (paper 512)
    w_dim: int = 64                 # intermediate latent w (paper 512)
    n_mlp: int = 8                  # mapping layers (paper 8)
    mapping_lr_mul: float = 0.01    # learning-rate multiplier of the mapping network (paper 0.01)
    channel_base: int = 1024        # channels at resolution r: min(channel_base // r, channel_max)
    channel_max: int = 64           # (paper config F: 32768 and 512)
    steps: int = 20
    batch: int = 4                  # paper 32
    lr: float = 0.002               # Adam, both networks (paper 0.002)
    betas: tuple = (0.0, 0.99)      # paper (0, 0.99); corrected for the lazy regularisation intervals
    r1_gamma: float = 10.0          # R1 weight gamma (paper FFHQ 1024: 10)
    d_reg_every: int = 16           # lazy R1: every 16 D steps, weighted x 16 (paper)
    g_reg_every: int = 4            # lazy path length: every 4 G steps, weighted x 4 (paper)
    pl_weight: float = 2.0          # path-length weight (paper 2)
    pl_decay: float = 0.01          # EMA decay of the path-length target a (paper 0.01)
    pl_batch_shrink: int = 2        # path length on batch / 2 (paper)
    mixing_prob: float = 0.9        # style-mixing regularisation probability (paper 0.9)
    ema_kimg: float = 10.0          # generator EMA half-life in thousands of images (paper 10)
    ema_rampup: Optional[float] = None  # EMA half-life <= rampup * images seen (ADA's 0.05; None = off)
    w_avg_beta: float = 0.995       # tracking of w_avg for truncation (NVIDIA 0.995)
    mbstd_group: int = 4            # minibatch-stddev group size (paper 4)
    conv_clamp: Optional[float] = None  # clamp activations to +-conv_clamp (NVIDIA ADA: 256; None = off)
    mirror: bool = True             # random x-flips of the training images (FFHQ: on)
    align: str = "ffhq"             # training faces aligned as FFHQ ("ffhq") or SynthFaces' own frame
    n_train: int = 256              # SynthFaces rendered once (the training set)
    data_seed: int = 0
    n_identities: int = 10_000      # training people: SynthFaces range(n_identities)
    pose_range: float = 20.0
    eval_n: int = 64                # images per set for FID/KID (the curve: checkpoints kept every save_every)
    log_every: int = 5
    save_every: int = 10
    keep_last: int = 10             # every checkpoint of the demo is kept: the release's FID/KID curve

    RUN_ONLY: ClassVar = BaseConfig.RUN_ONLY + ("eval_n",)
    CHOICES: ClassVar = {**BaseConfig.CHOICES, "align": ALIGNMENTS}
    POSITIVE: ClassVar = BaseConfig.POSITIVE + ("z_dim", "w_dim", "n_mlp", "mapping_lr_mul", "channel_base",
                                                "channel_max", "lr", "d_reg_every", "g_reg_every",
                                                "pl_batch_shrink", "ema_kimg", "w_avg_beta", "mbstd_group",
                                                "n_train", "n_identities", "eval_n")
    PROFILES: ClassVar = {
        # a laptop CPU in about an hour (75 CPU-minutes, one thread, fp32: this AVX2 CPU has no fast
        # bf16): 64 px, narrow (64 channels at 4-16 px, 32 at 32 px, 16 at 64 px), w 256, batch 16,
        # 3,000 steps (48k images); R1 gamma and EMA from ADA's size heuristics (0.0002 r^2 / batch).
        "demo": dict(size=64, z_dim=256, w_dim=256, channel_base=1024, channel_max=64, batch=16,
                     steps=3000, r1_gamma=0.05, ema_kimg=5.0, ema_rampup=0.05, n_train=10_000,
                     precision="fp32", threads=1, eval_n=500, log_every=20, save_every=500, keep_last=10,
                     save_minutes=30.0, sample_every=500),
        # the paper's config F at 1024 px: 25,000 kimg at batch 32 (FFHQ; point data= at a face folder)
        "full": dict(size=1024, z_dim=512, w_dim=512, channel_base=32768, channel_max=512, batch=32,
                     steps=781_250, r1_gamma=10.0, n_train=70_000, precision="mixed", workers=4,
                     eval_n=10_000, log_every=100, save_every=12_500, keep_last=70, save_minutes=20.0),
    }

    def check(self) -> None:
        if self.size < 8 or self.size & (self.size - 1):
            raise ValueError(f"size must be a power of 2 >= 8, got {self.size}")
        if not 0 <= self.mixing_prob <= 1:
            raise ValueError(f"mixing_prob must be in [0, 1], got {self.mixing_prob}")
        if self.r1_gamma < 0 or self.pl_weight < 0:
            raise ValueError(f"r1_gamma and pl_weight must be >= 0, got {self.r1_gamma}, {self.pl_weight}")
        if not 0 < self.pl_decay <= 1 or not 0 < self.w_avg_beta < 1:
            raise ValueError("pl_decay must be in (0, 1] and w_avg_beta in (0, 1)")
        if self.batch % self.pl_batch_shrink:
            raise ValueError(f"batch ({self.batch}) must be divisible by pl_batch_shrink ({self.pl_batch_shrink})")
        if len(self.betas) != 2:
            raise ValueError(f"betas must be two numbers, got {self.betas}")


def channels(resolution: int, base: int, cmax: int) -> int:
    """Feature maps at ``resolution``: ``min(base // resolution, cmax)`` (NVIDIA's rule; >= 1)."""
    return max(1, min(base // resolution, cmax))


def num_ws_for(size: int) -> int:
    """Number of w+ entries of a ``size`` generator: 2 log2(size) - 2 (18 at 1024, 10 at 64)."""
    return 2 * int(math.log2(size)) - 2


# ----------------------------------------------------------------------------- FIR filtering
def make_kernel(k: Sequence[float] = (1, 3, 3, 1)) -> torch.Tensor:
    """The separable 1-D FIR taps ``k`` normalised to sum 1, as a float tensor (len(k),)."""
    t = torch.as_tensor(k, dtype=torch.float32)
    if t.ndim != 1 or len(t) < 1:
        raise ValueError(f"kernel must be a 1-D list of taps, got {k}")
    return t / t.sum()


def _fir(x: torch.Tensor, taps: Sequence[float], dim: int) -> torch.Tensor:
    """Valid 1-D correlation of ``x`` with ``taps`` along ``dim``, as a weighted sum of shifted views."""
    n = x.shape[dim] - len(taps) + 1
    out = None
    for i, t in enumerate(taps):
        term = x.narrow(dim, i, n) * t
        out = term if out is None else out + term
    return out


def upfirdn2d(x: torch.Tensor, k1: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0), gain: float = 1.0) -> torch.Tensor:
    """Upsample (zero insertion), pad, FIR-filter with the separable ``k1`` x ``k1``, downsample.

    (N, C, H, W) -> (N, C, (H*up + pad0 + pad1 - len(k1) + 1) // down, same for W). ``gain`` scales
    the 2-D filter (``up**2`` keeps the mean when upsampling). Same padding convention as NVIDIA's
    ``upfirdn2d`` (pad applied to both axes). Pure PyTorch; the filter runs as weighted sums of
    shifted views (4 taps), which on a CPU is far faster than a convolution with one channel.
    """
    if x.ndim != 4:
        raise ValueError(f"upfirdn2d expects (N, C, H, W), got {tuple(x.shape)}")
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    if p0 < 0 or p1 < 0:
        hh, ww = x.shape[-2:]
        x = x[:, :, max(-p0, 0):hh - max(-p1, 0), max(-p0, 0):ww - max(-p1, 0)]
    taps = (k1.flip(0).double() * math.sqrt(gain)).tolist()     # true convolution (flip; symmetric anyway)
    y = _fir(_fir(x, taps, 3), taps, 2)
    return y[:, :, ::down, ::down] if down > 1 else y


# ----------------------------------------------------------------------------- equalised layers
class EqualLinear(nn.Module):
    """(N, in) -> (N, out): ``x @ (W * lr_mul / sqrt(in)).T + b * lr_mul``, optional lrelu(0.2) * sqrt 2.

    ``weight`` (out, in) is stored as N(0, 1) / lr_mul; ``bias`` (out,) as ``bias_init / lr_mul``
    would be, i.e. filled with ``bias_init`` and scaled by lr_mul at run time (both references).
    """

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale, self.lr_mul, self.activation = lr_mul / math.sqrt(in_dim), lr_mul, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(out, 0.2) * SQRT2 if self.activation else out


class EqualConv2d(nn.Module):
    """(N, in, H, W) -> (N, out, H', W'): a convolution with weight ``W / sqrt(in * k * k)`` at run time."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale, self.stride, self.padding = 1 / math.sqrt(cin * kernel * kernel), stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


# ----------------------------------------------------------------------------- generator blocks
class ModulatedConv2d(nn.Module):
    """(N, in, H, W), w (N, w_dim) -> (N, out, H*up, W*up): the modulated (and demodulated) convolution.

    ``affine`` maps w to per-input-channel styles s (bias 1, so s starts near 1). Computed the
    non-fused way: ``x * s -> conv(W / sqrt(fan_in)) -> * d`` with ``d_j = 1/sqrt(sum_ik (s_i W_ijk)^2 + 1e-8)``
    (paper Eq. 3). ``up=2``: transposed 3x3 convolution, stride 2, then the [1,3,3,1] blur.
    """

    def __init__(self, cin: int, cout: int, kernel: int, w_dim: int, demodulate: bool = True, up: int = 1):
        super().__init__()
        if up not in (1, 2):
            raise ValueError(f"up must be 1 or 2, got {up}")
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.register_buffer("kernel", make_kernel(), persistent=False)
        self.cin, self.cout, self.k, self.up, self.demodulate = cin, cout, kernel, up, demodulate
        self.scale = 1 / math.sqrt(cin * kernel * kernel)

    def styles(self, w: torch.Tensor) -> torch.Tensor:
        """The per-input-channel styles s = A(w), (N, in)."""
        return self.affine(w)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)                                        # (N, in)
        weight = self.weight * self.scale                         # (out, in, k, k)
        x = x * s.to(x.dtype)[:, :, None, None]
        if self.up == 2:
            x = F.conv_transpose2d(x, weight.transpose(0, 1).to(x.dtype), stride=2)
            x = upfirdn2d(x, self.kernel, pad=(1, 1), gain=4.0)
        else:
            x = F.conv2d(x, weight.to(x.dtype), padding=self.k // 2)
        if self.demodulate:
            d = torch.rsqrt(s.float().square() @ weight.float().square().sum((2, 3)).t() + 1e-8)  # (N, out)
            x = x * d.to(x.dtype)[:, :, None, None]
        return x


class StyledConv(nn.Module):
    """(N, in, r/up, r/up), w (N, w_dim) -> (N, out, r, r): modulated conv + noise + bias + lrelu * sqrt 2.

    Noise: ``noise_mode="random"`` draws N(0, 1) per pixel, ``"const"`` uses the stored
    ``noise_const`` (1, 1, r, r) (what projections optimise and sampling figures use), ``"none"`` none;
    an explicit ``noise`` tensor (N or 1, 1, r, r) overrides them. ``noise_strength`` starts at 0.
    """

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, up: int = 1,
                 conv_clamp: float | None = None):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        self.resolution, self.conv_clamp = resolution, conv_clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random",
                noise: torch.Tensor | None = None) -> torch.Tensor:
        x = self.conv(x, w)
        if noise is None:
            if noise_mode == "random":
                noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device)
            elif noise_mode == "const":
                noise = self.noise_const
            elif noise_mode != "none":
                raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {noise_mode!r}")
        if noise is not None:
            x = x + (noise * self.noise_strength).to(x.dtype)
        x = F.leaky_relu(x + self.bias.to(x.dtype)[None, :, None, None], 0.2) * SQRT2
        return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x


class ToRGB(nn.Module):
    """(N, in, r, r), w -> (N, 3, r, r): a 1x1 modulated convolution *without* demodulation, + bias."""

    def __init__(self, cin: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv = ModulatedConv2d(cin, 3, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(3))
        self.conv_clamp = conv_clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        y = self.conv(x, w) + self.bias.to(x.dtype)[None, :, None, None]
        return y.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else y


class SynthesisBlock(nn.Module):
    """One resolution r of the skip generator: (x (N, cin, r/2, r/2), img (N, 3, r/2, r/2), w+ slice)
    -> (x (N, cout, r, r), img (N, 3, r, r)).

    r = 4: a learned constant (cout, 4, 4) and one StyledConv. r > 4: StyledConv(up 2), StyledConv.
    Then ToRGB, added to the upsampled image of the block below (the "skip" architecture). The
    block reads ``num_conv + 1`` consecutive w+ entries; ToRGB shares its entry with the next
    block's first convolution (see :func:`helpers.stylegan2.styles.layer_table`).
    """

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, conv_clamp: float | None = None):
        super().__init__()
        self.resolution = resolution
        if resolution == 4:
            self.const = nn.Parameter(torch.randn(cout, 4, 4))
            self.conv0 = None
        else:
            self.conv0 = StyledConv(cin, cout, w_dim, resolution, up=2, conv_clamp=conv_clamp)
        self.conv1 = StyledConv(cout, cout, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGB(cout, w_dim, conv_clamp)
        self.register_buffer("kernel", make_kernel(), persistent=False)
        self.num_conv = 1 if resolution == 4 else 2

    def forward(self, x, img, ws: torch.Tensor, noise_mode: str = "random", noises=(None, None)):
        if self.conv0 is None:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(x, ws[:, 0], noise_mode, noises[0])
        else:
            x = self.conv0(x, ws[:, 0], noise_mode, noises[0])
            x = self.conv1(x, ws[:, 1], noise_mode, noises[1])
        y = self.torgb(x, ws[:, self.num_conv]).float()
        img = y if img is None else upfirdn2d(img, self.kernel, up=2, pad=(2, 1), gain=4.0) + y
        return x, img


class MappingNetwork(nn.Module):
    """z (N, z_dim) -> w (N, w_dim): normalise z's second moment, then ``n_mlp`` EqualLinear + lrelu
    with learning-rate multiplier ``lr_mul`` (0.01: the mapping learns 100x slower)."""

    def __init__(self, z_dim: int, w_dim: int, n_mlp: int = 8, lr_mul: float = 0.01):
        super().__init__()
        dims = [z_dim] + [w_dim] * n_mlp
        self.fcs = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul, activation=True) for a, b in zip(dims, dims[1:]))
        self.z_dim, self.w_dim = z_dim, w_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
        for fc in self.fcs:
            x = fc(x)
        return x


class Generator(nn.Module):
    """z (N, z_dim) -> images (N, 3, size, size), roughly in [-1, 1] (not clamped; see :meth:`sample`).

    ``mapping`` (z -> w), ``blocks`` (one :class:`SynthesisBlock` per resolution 4 ... size),
    ``w_avg`` (the tracked mean of w: the centre for truncation and projection).
    ``synthesis(ws)`` takes w (N, w_dim) or w+ (N, num_ws, w_dim).
    """

    def __init__(self, size: int, z_dim: int = 512, w_dim: int = 512, n_mlp: int = 8, lr_mul: float = 0.01,
                 channel_base: int = 32768, channel_max: int = 512, conv_clamp: float | None = None):
        super().__init__()
        if size < 4 or size & (size - 1):
            raise ValueError(f"size must be a power of 2 >= 4, got {size}")
        self.size, self.z_dim, self.w_dim = size, z_dim, w_dim
        self.mapping = MappingNetwork(z_dim, w_dim, n_mlp, lr_mul)
        res = [2 ** i for i in range(2, int(math.log2(size)) + 1)]
        ch = {r: channels(r, channel_base, channel_max) for r in res}
        self.blocks = nn.ModuleList(SynthesisBlock(ch[r // 2] if r > 4 else 0, ch[r], w_dim, r, conv_clamp)
                                    for r in res)
        self.num_ws = num_ws_for(size)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.arch = dict(size=size, z_dim=z_dim, w_dim=w_dim, n_mlp=n_mlp, lr_mul=lr_mul,
                         channel_base=channel_base, channel_max=channel_max, conv_clamp=conv_clamp)

    # ---- latents
    def styled_convs(self) -> list[StyledConv]:
        """Every StyledConv from 4x4 up (the layers with noise inputs), in w+ order."""
        return [c for b in self.blocks for c in (b.conv0, b.conv1) if c is not None]

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w (N, w_dim) -> w+ (N, num_ws, w_dim); w+ is checked and returned unchanged."""
        if w.ndim == 2 and w.shape[1] == self.w_dim:
            return w.unsqueeze(1).expand(-1, self.num_ws, -1)
        if w.ndim == 3 and w.shape[1:] == (self.num_ws, self.w_dim):
            return w
        raise ValueError(f"expected w (N, {self.w_dim}) or w+ (N, {self.num_ws}, {self.w_dim}), got {tuple(w.shape)}")

    def truncate(self, w: torch.Tensor, psi: float = 1.0, cutoff: int | None = None) -> torch.Tensor:
        """Truncation trick: ``w_avg + psi (w - w_avg)`` on the first ``cutoff`` w+ entries (None = all)."""
        ws = self.broadcast(w)
        if psi == 1:
            return ws
        t = self.w_avg + psi * (ws - self.w_avg)
        if cutoff is None:
            return t
        return torch.cat([t[:, :cutoff], ws[:, cutoff:]], 1)

    @torch.no_grad()
    def mean_w(self, n: int = 10_000, seed: int = 0, batch: int = 1000) -> tuple[torch.Tensor, float]:
        """(mean of w over ``n`` random z, the projector's scalar spread ``sqrt(E ||w - mean||^2)``)."""
        g = torch.Generator().manual_seed(seed)
        dev = self.w_avg.device
        ws = torch.cat([self.mapping(torch.randn(min(batch, n - i), self.z_dim, generator=g).to(dev))
                        for i in range(0, n, batch)])
        mean = ws.mean(0)
        return mean, float((ws - mean).square().sum(1).mean().sqrt())

    # ---- images
    def synthesis(self, ws: torch.Tensor, noise_mode: str = "random", noises: Sequence | None = None) -> torch.Tensor:
        """w or w+ -> images (N, 3, size, size) float32. ``noises``: one tensor (or None) per StyledConv."""
        ws = self.broadcast(ws)
        convs = self.styled_convs()
        if noises is not None and len(noises) != len(convs):
            raise ValueError(f"noises must hold {len(convs)} tensors (one per StyledConv), got {len(noises)}")
        noises = list(noises) if noises is not None else [None] * len(convs)
        x = img = None
        i = k = 0
        for b in self.blocks:
            x, img = b(x, img, ws[:, i:i + b.num_conv + 1], noise_mode, noises[k:k + b.num_conv])
            i += b.num_conv
            k += b.num_conv
        return img

    def forward(self, z: torch.Tensor, psi: float = 1.0, cutoff: int | None = None,
                noise_mode: str = "random") -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"expected z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        return self.synthesis(self.truncate(self.mapping(z), psi, cutoff), noise_mode)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, psi: float = 1.0, noise_mode: str = "const",
               batch: int = 64) -> torch.Tensor:
        """``n`` images (N, 3, size, size) clamped to [-1, 1], from z drawn with ``seed`` (CPU output)."""
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.z_dim, generator=g)
        dev = self.w_avg.device
        return torch.cat([self(z[i:i + batch].to(dev), psi, noise_mode=noise_mode).clamp(-1, 1).cpu()
                          for i in range(0, n, batch)])


# ----------------------------------------------------------------------------- discriminator
class ConvLayer(nn.Module):
    """(N, in, H, W) -> (N, out, H/down, W/down): [blur if down] -> EqualConv2d (stride down) -> bias, lrelu * sqrt 2.

    Down-sampling as both references: blur the input with [1,3,3,1] (padding so that the strided
    convolution lands on the right grid), then a stride-2 convolution without padding.
    """

    def __init__(self, cin: int, cout: int, kernel: int, down: bool = False, bias: bool = True,
                 activate: bool = True, conv_clamp: float | None = None):
        super().__init__()
        self.down, self.activate, self.conv_clamp = down, activate, conv_clamp
        if down:
            p = (4 - 2) + (kernel - 1)
            self.pad = ((p + 1) // 2, p // 2)
            self.conv = EqualConv2d(cin, cout, kernel, stride=2, padding=0, bias=False)
        else:
            self.conv = EqualConv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.register_buffer("kernel", make_kernel(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = upfirdn2d(x, self.kernel, pad=self.pad)
        x = self.conv(x)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype)[None, :, None, None]
        if self.activate:
            x = F.leaky_relu(x, 0.2) * SQRT2
        return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x


class DiscriminatorBlock(nn.Module):
    """(N, cin, r, r) -> (N, cout, r/2, r/2): conv 3x3, conv 3x3 down; skip 1x1 down; (x + skip) / sqrt 2."""

    def __init__(self, cin: int, cout: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv0 = ConvLayer(cin, cin, 3, conv_clamp=conv_clamp)
        self.conv1 = ConvLayer(cin, cout, 3, down=True, conv_clamp=conv_clamp)
        self.skip = ConvLayer(cin, cout, 1, down=True, bias=False, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv1(self.conv0(x)) + self.skip(x)) / SQRT2


class MinibatchStd(nn.Module):
    """(N, C, H, W) -> (N, C + 1, H, W): append the mean standard deviation over groups of ``group``.

    Groups are formed as both references do (sample i belongs to group i mod N/G); when N is not
    divisible by ``group`` the largest divisor of N not above it is used.
    """

    def __init__(self, group: int = 4, channels: int = 1):
        super().__init__()
        self.group, self.channels = group, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group, n)
        while n % g:
            g -= 1
        f = self.channels
        y = x.float().reshape(g, -1, f, c // f, h, w)
        y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean((2, 3, 4))     # (N/G, F)
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y.to(x.dtype)], 1)


class DiscriminatorEpilogue(nn.Module):
    """(N, C, 4, 4) -> (N,) logits: minibatch stddev, conv 3x3, FC (C*16 -> C) + lrelu, FC (C -> 1)."""

    def __init__(self, cin: int, group: int = 4, conv_clamp: float | None = None):
        super().__init__()
        self.mbstd = MinibatchStd(group)
        self.conv = ConvLayer(cin + 1, cin, 3, conv_clamp=conv_clamp)
        self.fc = EqualLinear(cin * 16, cin, activation=True)
        self.out = EqualLinear(cin, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(x.flatten(1))).squeeze(1)


class Discriminator(nn.Module):
    """Images (N, 3, size, size) in [-1, 1] -> logits (N,): fromRGB, residual blocks down to 4x4, epilogue."""

    def __init__(self, size: int, channel_base: int = 32768, channel_max: int = 512, mbstd_group: int = 4,
                 conv_clamp: float | None = None):
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ValueError(f"size must be a power of 2 >= 8, got {size}")
        self.size = size
        res = [2 ** i for i in range(int(math.log2(size)), 2, -1)]           # size ... 8
        ch = {r: channels(r, channel_base, channel_max) for r in res + [4]}
        self.fromrgb = ConvLayer(3, ch[size], 1, conv_clamp=conv_clamp)
        self.blocks = nn.ModuleList(DiscriminatorBlock(ch[r], ch[r // 2], conv_clamp) for r in res)
        self.epilogue = DiscriminatorEpilogue(ch[4], mbstd_group, conv_clamp)
        self.arch = dict(size=size, channel_base=channel_base, channel_max=channel_max, mbstd_group=mbstd_group,
                         conv_clamp=conv_clamp)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        if img.ndim != 4 or img.shape[1:] != (3, self.size, self.size):
            raise ValueError(f"discriminator expects images (N, 3, {self.size}, {self.size}), got {tuple(img.shape)}")
        x = self.fromrgb(img)
        for b in self.blocks:
            x = b(x)
        return self.epilogue(x)


def build(cfg: Config) -> tuple[Generator, Discriminator]:
    """Fresh (G, D) for ``cfg`` (seeded by the caller)."""
    G = Generator(cfg.size, cfg.z_dim, cfg.w_dim, cfg.n_mlp, cfg.mapping_lr_mul, cfg.channel_base,
                  cfg.channel_max, cfg.conv_clamp)
    D = Discriminator(cfg.size, cfg.channel_base, cfg.channel_max, cfg.mbstd_group, cfg.conv_clamp)
    return G, D
