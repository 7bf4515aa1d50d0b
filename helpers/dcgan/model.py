"""DCGAN (Radford, Metz, Chintala, ICLR 2016) on SynthFaces, resumable, with both GAN losses.

The GAN of the GLCIC course study's slides and of the ConvNeXt GANimation thesis' Eq. 3.1::

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

A generator G maps a latent vector z ~ N(0, I) to an image; a discriminator D maps an image to the
probability that it is real. Training alternates (1) a discriminator step that increases V and
(2) a generator step. For (2) two losses exist (``Config.loss``):

- ``"minimax"``: G minimises E[log(1 - D(G(z)))], Eq. 3.1 as written. Through the sigmoid
  D = sigmoid(l) its gradient is dL/dl = -D(G(z)): it vanishes when D rejects the fakes, i.e.
  at the start of training, so G learns slowly or not at all ("saturation").
- ``"nonsaturating"`` (default; what Goodfellow et al. 2014 used in practice): G maximises
  E[log D(G(z))]; dL/dl = -(1 - D(G(z))), strong exactly when G is losing.

Architecture (the DCGAN guidelines): no pooling or fully connected hidden layers; G uses
transposed convolutions (4x4, stride 2) with BatchNorm and ReLU, and tanh at the output; D uses
strided 4x4 convolutions with LeakyReLU(0.2) and BatchNorm (not on its input layer); weights
N(0, 0.02); Adam lr 2e-4, beta1 0.5. ``Config.quick()`` (32 px, a few hundred steps) proves the
path works in the notebook; ``Config.demo()`` (64 px) makes the committed checkpoint::

    python -m helpers.dcgan train --profile demo --release dcgan64

Files: this one (config, networks, sampling and interpolation), ``losses.py`` (the training
step: one D and one G update with the losses of :mod:`helpers.core.losses`), ``train.py`` (the
method for the shared loop, releases), ``evaluate.py`` (the SynthFaces it trains on, quality
proxies, findings), ``__main__.py`` (the command line). Shown in notebook 01.

Quality proxy (no Inception network offline, see :func:`helpers.dcgan.evaluate.quality`): colour
statistics, a Fréchet distance in a small pixel space and nearest-neighbour distances, each next
to the same number for held-out real faces, so "how far from real" has a yardstick.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from helpers.core.config import Config as BaseConfig
from helpers.core.losses import LOSSES

__all__ = ["Config", "Generator", "Discriminator", "init_weights", "build", "sample",
           "lerp", "slerp", "interpolate", "LOSSES"]


# ----------------------------------------------------------------------------- config
@dataclass
class Config(BaseConfig):
    """Everything that defines a DCGAN run. Defaults = the quick profile (32 px, 300 steps)."""
    size: int = 32              # 32, 64 or 128: one up/down-sampling block per factor 2
    steps: int = 300
    batch: int = 32
    nz: int = 100               # latent size (Radford et al.)
    ngf: int = 32               # generator width: channels of its last hidden layer
    ndf: int = 16               # discriminator width: channels of its first layer
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple = (0.5, 0.999)
    loss: str = "nonsaturating"  # generator loss: "nonsaturating" | "minimax"
    n_train: int = 512          # SynthFaces rendered once and sampled from (a fixed training set)
    data_seed: int = 0          # SynthFaces seed of the training set
    pose_range: float = 20.0
    log_every: int = 5
    save_every: int = 100

    CHOICES: ClassVar = {**BaseConfig.CHOICES, "loss": LOSSES, "size": (32, 64, 128),
                         "data": ("synthfaces",)}
    POSITIVE: ClassVar = BaseConfig.POSITIVE + ("nz", "ngf", "ndf", "n_train", "lr_g", "lr_d")
    PROFILES: ClassVar = {
        # 64 px, ~10 CPU-minutes on one core; produces checkpoints/dcgan64. Narrower than Radford
        # et al. (G width 32, D width 16, batch 32) so that a shared laptop CPU gets through
        # 3000 steps; the synthetic faces are simple enough for that.
        "demo": dict(size=64, steps=3000, n_train=4000, log_every=10, save_every=250, threads=1),
        # Radford et al.'s setting at 64 px (width 64, batch 128) on 50k faces, for a GPU.
        "full": dict(size=64, ngf=64, ndf=64, batch=128, steps=30_000, n_train=50_000,
                     log_every=50, save_every=1000),
    }

# ----------------------------------------------------------------------------- networks
def _n_blocks(size: int) -> int:
    return int(math.log2(size)) - 2   # 32 -> 3, 64 -> 4, 128 -> 5 (from / to 4x4)


class Generator(nn.Module):
    """z (N, nz) -> image (N, 3, S, S) in [-1, 1].

    Project z to 4x4 with a 4x4 transposed convolution, then double the resolution with 4x4
    stride-2 transposed convolutions while halving the channels, BatchNorm + ReLU after each,
    tanh at the end (Radford et al. Fig. 1).
    """

    def __init__(self, nz: int = 100, ngf: int = 32, size: int = 64):
        super().__init__()
        self.nz, self.size = nz, size
        n = _n_blocks(size)
        ch = ngf * 2 ** (n - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(True)]          # 1 -> 4
        for _ in range(n - 1):                                                  # 4 -> S/2
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1, bias=False), nn.Tanh()]   # S/2 -> S
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim == 2:
            z = z[:, :, None, None]
        if z.ndim != 4 or z.shape[1] != self.nz or z.shape[2:] != (1, 1):
            raise ValueError(f"Generator expects z of shape (N, {self.nz}), got {tuple(z.shape)}")
        return self.net(z)


class Discriminator(nn.Module):
    """image (N, 3, S, S) -> logit (N,); D(x) = sigmoid(logit) = P(real).

    Strided 4x4 convolutions halve the resolution and double the channels down to 4x4,
    LeakyReLU(0.2), BatchNorm except on the first layer, a final 4x4 convolution to one logit.
    """

    def __init__(self, ndf: int = 32, size: int = 64):
        super().__init__()
        self.size = size
        n = _n_blocks(size)
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for _ in range(n - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                       nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]                       # 4 -> 1
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.size
        if x.ndim != 4 or x.shape[1:] != (3, s, s):
            raise ValueError(f"Discriminator expects images (N, 3, {s}, {s}), got {tuple(x.shape)}")
        return self.net(x).flatten()


def init_weights(m: nn.Module) -> None:
    """Radford et al.: conv weights N(0, 0.02); BatchNorm scale N(1, 0.02), shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def build(config: Config, seed: int | None = None) -> tuple[Generator, Discriminator]:
    """G and D for ``config``, initialised from the global torch RNG (seeded with ``seed`` if given).

    The training loop seeds the RNG from ``config.seed`` before calling this.
    """
    if seed is not None:
        torch.manual_seed(seed)
    G = Generator(config.nz, config.ngf, config.size)
    D = Discriminator(config.ndf, config.size)
    G.apply(init_weights)
    D.apply(init_weights)
    return G, D


# ----------------------------------------------------------------------------- sampling
def _latents(G: Generator, n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, G.nz, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def sample(G: Generator, n: int = 64, seed: int = 0, z: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` images (n, 3, S, S) in [-1, 1] from fixed noise ``seed`` (or the given ``z``); eval mode."""
    was = G.training
    G.eval()
    z = _latents(G, n, seed) if z is None else z
    p = next(G.parameters())
    out = G(z.to(p.device, p.dtype)).cpu()
    G.train(was)
    return out


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line (1 - t) z0 + t z1 for each t (returns (len(t), ...))."""
    t = t.reshape(-1, *([1] * z0.ndim))
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (White 2016): keeps |z| near the typical radius sqrt(nz).

    Linear interpolation between two Gaussian samples passes *inside* the shell where almost all
    of N(0, I)'s mass lies (the midpoint has norm ~ sqrt(nz / 2)), so its middle images can look
    washed out; slerp walks along the great circle instead.
    """
    a, b = z0.flatten(), z1.flatten()
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:
        return lerp(z0, z1, t)
    t = t.reshape(-1, *([1] * z0.ndim))
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * z0 + torch.sin(t * omega) / so * z1


def interpolate(G: Generator, z0: torch.Tensor, z1: torch.Tensor, steps: int = 8,
                method: str = "slerp") -> torch.Tensor:
    """Images along a path from ``z0`` to ``z1`` in latent space: (steps, 3, S, S).

    ``method``: "linear" or "slerp". Smooth change of the face along the path is the classic
    sign that G learned a continuous latent space rather than memorising training images.
    """
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    z0, z1 = z0.reshape(-1), z1.reshape(-1)
    if z0.shape != (G.nz,) or z1.shape != (G.nz,):
        raise ValueError(f"z0 and z1 must have {G.nz} elements, got {tuple(z0.shape)}, {tuple(z1.shape)}")
    t = torch.linspace(0, 1, steps)
    if method == "linear":
        zs = lerp(z0, z1, t)
    elif method == "slerp":
        zs = slerp(z0, z1, t)
    else:
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    return sample(G, z=zs)
