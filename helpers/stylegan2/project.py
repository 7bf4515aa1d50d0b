"""Projection: find the latent (W or W+) and noise maps whose image matches a target (the StyleGAN2 masked-face paper, step 2).

The reference procedure (Karras et al. 2020, App. D; NVIDIA's ``projector.py``; rosinality's
``projector.py``), for each target image x::

    start at w = w_avg (the mean of 10,000 mapped z), noise maps n ~ N(0, I)
    for t = 0 .. T-1 (progress p = t / T):
        lr(p)  = 0.1 * min(1, p / 0.05) * (0.5 - 0.5 cos(pi * min(1, (1 - p) / 0.25)))    # ramps
        w~     = w + N(0, I) * sigma_w * 0.05 * max(0, 1 - p / 0.75)^2                    # latent noise
        L      = d(G(w~, n), x) + 1e5 * R(n) [+ lambda_mse * MSE]
        Adam(betas 0.9, 0.999) step on w and n; renormalise each n to mean 0, std 1

``d`` is a perceptual distance (:func:`perceptual`): LPIPS-VGG where its weights can be had, else
the course's offline one on the face-analysis network (the same LPIPS construction,
:func:`helpers.faces.analysis.perceptual_distance`). ``R`` is the noise regulariser: for every
noise map and its 2x, 4x ... average-pooled versions down to 8x8, the squared autocorrelation at
a one-pixel shift in x and in y (so the noise cannot carry the image). ``sigma_w`` is the spread of
w over the 10,000 samples. W: one w for all layers; W+ (``space="w+"``): one w per layer.

Masked projection (``mask`` given, ours beside the paper's plain one): the loss sees only the pixels
*outside* the mask. The perceptual feature differences are weighted by the
known-pixel fraction at each feature map's resolution; the pixel MSE is taken over known pixels.
The hole is set to mid-grey in *both* images first, so the target's hidden pixels (the face
mask) cannot reach the loss at all.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import pandas as pd
import torch
from torch.nn import functional as F
from helpers.core.runtime import bar as tqdm

from helpers.core import metrics, runtime
from helpers.core.images import check_images
from helpers.faces import analysis
from helpers.stylegan2.model import Generator

__all__ = ["ProjectConfig", "Projection", "PERCEPTUALS", "SPACES", "learning_rate", "latent_noise_scale",
           "noise_regularisation", "perceptual", "masked_perceptual", "project", "synthesize"]

PERCEPTUALS = ("auto", "analysis", "lpips-vgg")
SPACES = ("w", "w+")


#: the learning rate for the small demo generators: at the reference 0.1 a W+ projection of
#: ``stylegan2_64`` diverges (its images reach |x| ~ 1e7 and the PSNR falls from 12.2 to 5.6 dB over 150
#: steps), at 0.01 it climbs to 19.2 dB (measured on two SynthFaces). Published FFHQ weights use 0.1.
DEMO_LR = 0.01


@dataclass
class ProjectConfig:
    """The projector's settings; defaults = the reference (1,000 steps). ``for_profile`` shortens it."""

    steps: int = 1000                 # reference 1,000
    space: str = "w+"                 # "w" (one latent, NVIDIA's projector) | "w+" (one per layer, rosinality --w_plus)
    lr: float = 0.1                   # initial learning rate (reference 0.1)
    lr_rampup: float = 0.05           # share of the steps with a linear warm-up (reference 0.05)
    lr_rampdown: float = 0.25         # share of the steps with the cosine ramp-down (reference 0.25)
    noise_factor: float = 0.05        # initial latent noise, in units of sigma_w (reference 0.05)
    noise_ramp: float = 0.75          # latent noise decays to 0 over this share (reference 0.75)
    noise_reg: float = 1e5            # weight of the noise regulariser R (reference 1e5)
    mse: float = 0.0                  # optional pixel MSE weight (rosinality's --mse; reference 0)
    perceptual: str = "auto"          # "auto" (LPIPS-VGG if available, else "analysis") | "analysis" | "lpips-vgg"
    optimise_noise: bool = True       # optimise the noise maps too (reference: yes)
    w_avg_samples: int = 10_000       # z samples for w_avg and sigma_w (reference 10,000)
    record_every: int = 0             # a history row (PSNR, SSIM, perceptual, seconds) every N steps (0: end only)
    precision: str = "fp32"           # "fp32" | "bf16" (autocast; faster on CPUs with AMX)
    seed: int = 0                     # initial noise maps and latent noise

    def __post_init__(self):
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be a positive int, got {self.steps!r}")
        if self.space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {self.space!r}")
        if self.perceptual not in PERCEPTUALS:
            raise ValueError(f"perceptual must be one of {PERCEPTUALS}, got {self.perceptual!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        for name in ("lr", "lr_rampup", "lr_rampdown", "noise_ramp"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.noise_factor < 0 or self.noise_reg < 0 or self.mse < 0 or self.record_every < 0:
            raise ValueError("noise_factor, noise_reg, mse and record_every must be >= 0")

    @classmethod
    def for_profile(cls, profile: str | None = None, **overrides) -> "ProjectConfig":
        """Steps per profile: quick 30, demo 300, full 1,000 (the reference); learning rate
        :data:`DEMO_LR` for the demo generators (quick, demo), the reference 0.1 in full."""
        steps = runtime.per_profile(30, 300, 1000, profile)
        lr = runtime.per_profile(DEMO_LR, DEMO_LR, 0.1, profile)
        return cls(**{"steps": steps, "lr": lr, **overrides})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Projection:
    """The result of :func:`project` for a batch of N targets."""

    ws: torch.Tensor                  # (N, num_ws, w_dim): the latents (W: the same w repeated)
    noises: list                      # one (N, 1, r, r) tensor per StyledConv
    image: torch.Tensor               # (N, 3, S, S) in [-1, 1]: G(ws, noises)
    history: pd.DataFrame             # step, loss, psnr, ssim, perceptual, seconds (means over N)
    seconds: float
    config: dict
    perceptual: str                   # the distance actually used

    def select(self, i: int) -> "Projection":
        """The projection of target ``i`` alone (batch of 1)."""
        return Projection(self.ws[i:i + 1], [n[i:i + 1] for n in self.noises], self.image[i:i + 1],
                          self.history, self.seconds, self.config, self.perceptual)


# ----------------------------------------------------------------------------- schedule and regulariser
def learning_rate(t: float, cfg: ProjectConfig) -> float:
    """lr at progress ``t`` in [0, 1): warm-up, flat, cosine ramp-down (the reference schedule)."""
    ramp = min(1.0, (1.0 - t) / cfg.lr_rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return cfg.lr * ramp * min(1.0, t / cfg.lr_rampup)


def latent_noise_scale(t: float, cfg: ProjectConfig, w_std: float) -> float:
    """Standard deviation of the noise added to w at progress ``t``: sigma_w * factor * max(0, 1 - t/ramp)^2."""
    return w_std * cfg.noise_factor * max(0.0, 1.0 - t / cfg.noise_ramp) ** 2


def noise_regularisation(noises) -> torch.Tensor:
    """Per-image R(n) (N,): sum over maps and pyramid levels (down to 8x8) of the squared mean
    products of each map with itself shifted by one pixel in x and in y."""
    total = None
    for n in noises:
        while True:
            r = (n * torch.roll(n, 1, 3)).mean((1, 2, 3)).square() + (n * torch.roll(n, 1, 2)).mean((1, 2, 3)).square()
            total = r if total is None else total + r
            if n.shape[-1] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return total


# ----------------------------------------------------------------------------- distances
def _fit(x: torch.Tensor) -> torch.Tensor:
    """Images larger than 256 px are area-downsampled to 256 (as the reference does for LPIPS)."""
    return F.adaptive_avg_pool2d(x, 256) if x.shape[-1] > 256 else x


def _unit(f: torch.Tensor) -> torch.Tensor:
    return f / (f.square().sum(1, keepdim=True) + 1e-10).sqrt()


def masked_perceptual(a: torch.Tensor, b: torch.Tensor, known: torch.Tensor, net: analysis.AnalysisNet) -> torch.Tensor:
    """Per-pair (N,) LPIPS-construction distance on the analysis network's maps, each location
    weighted by the share of known pixels it covers (``known`` (N, 1, H, W), 1 = use)."""
    fa, fb = net.feature_maps(a), net.feature_maps(b)
    d = a.new_zeros(len(a), dtype=torch.float32)
    for x, y in zip(fa, fb):
        w = F.adaptive_avg_pool2d(known.float(), x.shape[-2:]).to(x.device)
        diff = (_unit(x.float()) - _unit(y.float())).square().sum(1, keepdim=True)
        d = d + ((diff * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1e-6)).to(d.device)
    return d


def perceptual(kind: str = "auto") -> str:
    """The distance ``kind`` resolves to here: "lpips-vgg" if requested/auto and its weights load, else "analysis"."""
    if kind not in PERCEPTUALS:
        raise ValueError(f"perceptual must be one of {PERCEPTUALS}, got {kind!r}")
    if kind == "analysis":
        return kind
    try:
        analysis.lpips_distance(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64), backbone="vgg")
        return "lpips-vgg"
    except analysis.WeightsUnavailableError:
        if kind == "lpips-vgg":
            raise
        return "analysis"


def _in_range(x: torch.Tensor) -> torch.Tensor:
    """``x`` clamped to [-1, 1] in value, with the gradient of the unclamped ``x`` (straight through):
    the distances need valid images, the reference projector's gradient ignores the range.
    Written as ``clamp + (x - x)`` so that the value is exactly the clamp even where ``|x|`` is huge
    (``x + (clamp - x)`` rounds: at |x| ~ 1e8 it gave 2.0)."""
    return x.clamp(-1, 1).detach() + (x - x.detach())


def _distance(kind: str, gen: torch.Tensor, target: torch.Tensor, known, net) -> torch.Tensor:
    gen = _in_range(gen)
    if known is not None:                             # the hole: mid-grey in both images, so nothing
        gen, target = gen * known, target * known     # of the target's hidden pixels reaches the loss
    if kind == "lpips-vgg":
        return analysis.lpips_distance(_fit(gen), _fit(target), backbone="vgg").float()
    if known is not None:
        return masked_perceptual(_fit(gen), _fit(target), F.adaptive_avg_pool2d(known, _fit(gen).shape[-1]), net)
    return analysis.perceptual_distance(_fit(gen), _fit(target), net)


def synthesize(G: Generator, ws: torch.Tensor, noises=None) -> torch.Tensor:
    """Images of w+ ``ws`` with explicit noise maps (None: G's constant noise), clamped to [-1, 1]."""
    with torch.no_grad():
        return G.synthesis(ws, noise_mode="const", noises=noises).clamp(-1, 1)


def _quality(img: torch.Tensor, target: torch.Tensor, known: torch.Tensor | None, dist: torch.Tensor) -> dict:
    m = torch.ones_like(target[:, :1]) if known is None else (known > 0.5).float()
    return {"psnr": float(metrics.hole_psnr(img, target, m).mean()), "ssim": float(metrics.hole_ssim(img, target, m).mean()),
            "perceptual": float(dist.mean())}


# ----------------------------------------------------------------------------- the projector
def project(G: Generator, target: torch.Tensor, mask: torch.Tensor | None = None,
            config: ProjectConfig | None = None, net=None, progress: bool = False, init_ws=None) -> Projection:
    """Project ``target`` (N, 3, S, S) in [-1, 1] (S = G.size, FFHQ-aligned) into G's latent space.

    ``mask`` (N, 1, S, S), 1 = ignore (the face mask): masked projection. ``net``: the analysis
    network for the offline perceptual distance (None: the released one). ``init_ws``: start from
    these w+ instead of w_avg. The N targets are projected independently (their losses are summed,
    Adam treats each latent separately, target i draws its noise from ``seed + i``), so a batch gives
    the same result as N calls with seeds ``seed, seed + 1, ...``.
    """
    cfg = config or ProjectConfig.for_profile()
    check_images(target, "target", size=G.size)
    if mask is not None and (mask.shape != (target.shape[0], 1, G.size, G.size)):
        raise ValueError(f"mask must be (N, 1, {G.size}, {G.size}) with 1 = ignore, got {tuple(mask.shape)}")
    kind = perceptual(cfg.perceptual)
    if kind == "analysis":
        net = analysis.load() if net is None else net
    dev = G.w_avg.device
    target = target.to(dev).float()
    known = None if mask is None else (1 - mask.to(dev).float())
    n = target.shape[0]
    gens = [torch.Generator().manual_seed(cfg.seed + i) for i in range(n)]     # image i: seed + i
    G.eval().requires_grad_(False)
    w_mean, w_std = G.mean_w(cfg.w_avg_samples, seed=0)            # the same start for every seed
    k = 1 if cfg.space == "w" else G.num_ws
    if init_ws is not None:
        w_opt = G.broadcast(init_ws.to(dev)).float().clone()
        w_opt = w_opt[:, :1].clone() if k == 1 else w_opt
    else:
        w_opt = w_mean.reshape(1, 1, -1).repeat(n, k, 1).clone()
    w_opt.requires_grad_(True)
    noises = [torch.stack([torch.randn(1, c.resolution, c.resolution, generator=g) for g in gens]).to(dev)
              for c in G.styled_convs()]
    for t in noises:
        t.requires_grad_(cfg.optimise_noise)
    params = [w_opt] + (noises if cfg.optimise_noise else [])
    opt = torch.optim.Adam(params, lr=cfg.lr, betas=(0.9, 0.999))
    ctx = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if cfg.precision == "bf16" else None
    rows, t0 = [], time.perf_counter()

    def record(step, loss, img, dist):
        rows.append({"step": step, "loss": float(loss), **_quality(img.detach().clamp(-1, 1), target, known, dist.detach()),
                     "seconds": time.perf_counter() - t0})

    bar = tqdm(range(cfg.steps), desc=f"projecting {n} ({cfg.space})", disable=not progress, leave=False)
    for step in bar:
        p = step / cfg.steps
        for group in opt.param_groups:
            group["lr"] = learning_rate(p, cfg)
        scale = latent_noise_scale(p, cfg, w_std)
        wn = w_opt + torch.stack([torch.randn(w_opt.shape[1:], generator=g) for g in gens]).to(dev) * scale
        ws = wn.expand(-1, G.num_ws, -1) if k == 1 else wn
        if ctx is not None:
            with ctx():
                img = G.synthesis(ws, noise_mode="const", noises=noises).float()
                dist = _distance(kind, img, target, known, net).float()
        else:
            img = G.synthesis(ws, noise_mode="const", noises=noises)
            dist = _distance(kind, img, target, known, net)
        per = dist + cfg.noise_reg * noise_regularisation(noises)
        if cfg.mse > 0:
            d2 = (img - target).square().mean(1, keepdim=True)
            per = per + cfg.mse * (d2.flatten(1).mean(1) if known is None else
                                   (d2 * known).flatten(1).sum(1) / known.flatten(1).sum(1).clamp_min(1))
        loss = per.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for t in noises:
                t -= t.mean((1, 2, 3), keepdim=True)
                t *= t.square().mean((1, 2, 3), keepdim=True).rsqrt()
        if cfg.record_every and step % cfg.record_every == 0:
            record(step, loss.detach() / n, img, dist)
    with torch.no_grad():
        ws = w_opt.detach().expand(-1, G.num_ws, -1).clone() if k == 1 else w_opt.detach().clone()
        noises = [t.detach().clone() for t in noises]
        img = G.synthesis(ws, noise_mode="const", noises=noises).clamp(-1, 1)
        dist = _distance(kind, img, target, known, net)
        record(cfg.steps, float("nan"), img, dist)
    hist = pd.DataFrame(rows)
    return Projection(ws, noises, img, hist, time.perf_counter() - t0, cfg.to_dict(), kind)


