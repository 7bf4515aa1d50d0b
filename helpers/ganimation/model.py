"""GANimation (Pumarola et al. 2018) with the ConvNeXt bottleneck of the ConvNeXt GANimation thesis: config and networks.

The ConvNeXt GANimation thesis (a master's thesis) edits the expression of a portrait by the 17 OpenFace Action Units
(AUs): a StarGAN-style generator receives the image and the *target* AU intensities, tiled as 17
constant maps, and returns a colour image C and an attention mask A. The output keeps the input
where A is 1 and paints the colour image where A is 0::

    I_out = A * I_in + (1 - A) * C                                        (GANimation, final version)

(the first arXiv version of the paper wrote A and 1 - A the other way round; the reference code,
albertpumarola/GANimation, and the journal version use the form above, and so do we). The seed
replaced GANimation's 6 ResNet bottleneck blocks by ConvNeXt blocks whose middle layer is
expanded 2x (not ConvNeXt's 4x), with one LayerNorm and one GELU, and then tried 4x and 6x and
"more LN and GELU".

Our reading of the thesis' ConvNeXt block (its figure 4.2 / 6.5 is not in the text), switchable in
:class:`Config`:

* ``dwconv 7x7 (depthwise) -> LayerNorm (over channels) -> 1x1 (C -> r*C) -> GELU -> 1x1 (r*C -> C)
  -> layer scale -> + x``: the block of Liu et al. 2022 with expansion ``r`` = ``expansion`` (2 =
  the seed, 4 = ConvNeXt's own, 6 = the thesis' best). Kernel ``kernel`` = 7 (ConvNeXt).
* Layer scale gamma initialised to ``layer_scale`` = 1e-6 (ConvNeXt; 0 turns it off). No
  stochastic depth (ConvNeXt uses it for large classifiers only; the seed does not mention it).
* ``norm_act="more"`` ("LN と GELU の使用頻度増加"): a LayerNorm + GELU after *each* of the first
  two convolutions: dwconv -> LN -> GELU -> 1x1 -> LN -> GELU -> 1x1 (2 LN, 2 GELU instead of 1, 1).
* The rest of the generator is GANimation's unchanged (7x7 stem, two 4x4 stride-2 down-sampling
  convolutions, two 4x4 transposed up-sampling convolutions, InstanceNorm + ReLU, 7x7 heads).

Other facts from the reference implementation (read for facts, nothing copied): conv weights
N(0, 0.02); no bias in G; D = 6 stride-2 4x4 convolutions with bias and LeakyReLU(0.01), then a
3x3 convolution to a 1-channel critic map and a (size/64)-kernel convolution to the 17 AUs; AUs
enter the networks divided by 5 (OpenFace's 0..5 scale -> 0..1, :attr:`Config.au_scale`).

Shown in notebook 05 §3.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from helpers.core.config import Config as BaseConfig
from helpers.faces.data import AUS

__all__ = ["Config", "BOTTLENECKS", "NORM_ACTS", "N_AUS", "ResidualBlock", "ConvNeXtBlock",
           "Generator", "Discriminator", "compose", "edit", "init_weights", "build", "variant_name", "VARIANTS",
           "VARIANT_LABELS"]

N_AUS = len(AUS)
BOTTLENECKS = ("resnet", "convnext")
NORM_ACTS = ("one", "more")
#: the thesis' five generators (Tables 6.1 and 6.2): name -> the config fields that make it
VARIANTS = {
    "resnet": dict(bottleneck="resnet"),
    "convnext": dict(bottleneck="convnext", expansion=2, norm_act="one"),
    "convnext4x": dict(bottleneck="convnext", expansion=4, norm_act="one"),
    "convnext6x": dict(bottleneck="convnext", expansion=6, norm_act="one"),
    "convnext_more": dict(bottleneck="convnext", expansion=2, norm_act="more"),
}
#: how tables and figures name the five generators
VARIANT_LABELS = {"resnet": "ResNet", "convnext": "ConvNeXt 2x", "convnext4x": "ConvNeXt 4x",
                  "convnext6x": "ConvNeXt 6x", "convnext_more": "ConvNeXt 2x, more LN+GELU"}


# ----------------------------------------------------------------------------- config
@dataclass
class Config(BaseConfig):
    """Every knob of a GANimation run. Defaults = the quick profile (32 px, tiny widths)."""

    size: int = 32                 # image side (px): 128 in the seed, 64 in the demo profile
    steps: int = 40                # iterations; one discriminator update each (+ G every g_every)
    batch: int = 8                 # reference: 25
    epochs: float = 0.0            # > 0: steps = ceil(epochs * len(data) / batch) (full: 50 like the seed)
    # --- generator --------------------------------------------------------------------------
    bottleneck: str = "resnet"     # "resnet" (GANimation) | "convnext" (the ConvNeXt GANimation thesis)
    expansion: int = 2             # ConvNeXt middle width = expansion * channels (seed: 2, 4, 6)
    norm_act: str = "one"          # ConvNeXt: "one" LN + one GELU (seed) | "more" (seed's variant)
    kernel: int = 7                # ConvNeXt depthwise kernel (ConvNeXt: 7)
    layer_scale: float = 1e-6      # ConvNeXt layer-scale init (0 = no layer scale)
    g_dim: int = 8                 # channels after the stem (reference 64); x2, x4 after down-sampling
    n_blocks: int = 6              # bottleneck blocks (GANimation and the seed: 6)
    # --- discriminator ----------------------------------------------------------------------
    d_dim: int = 8                 # channels of D's first layer (reference 64), doubled per layer
    d_layers: int = 4              # stride-2 4x4 convolutions (reference 6 at 128 px -> a 2x2 critic map)
    # --- losses (reference defaults: lambda_D_prob 1, D_cond 4000, cyc 10, mask 0.1, mask_smooth 1e-5, D_gp 10)
    lambda_adv: float = 1.0
    lambda_au: float = 4000.0      # AU regression (MSE); divided by the batch size as the reference does
    au_per_batch: bool = True      # True: lambda_au * MSE / batch (reference); False: lambda_au * MSE
    lambda_cyc: float = 10.0       # cycle (reconstruction) L1
    lambda_att: float = 0.1        # attention mean: keeps A from saturating to 1 (output = input)
    lambda_tv: float = 1e-5        # attention total variation (a *sum* over pixels, as the reference)
    lambda_gp: float = 10.0        # WGAN-GP gradient penalty
    gp_step: str = "separate"      # "separate": D steps on the GP alone after its loss step (reference) | "joint"
    # --- optimisation -----------------------------------------------------------------------
    lr_g: float = 1e-4             # seed and reference: Adam, lr 1e-4
    lr_d: float = 1e-4
    betas: tuple = (0.5, 0.999)    # reference
    g_every: int = 5               # reference: G trained every 5th iteration (WGAN critic steps)
    decay_from: float = 2 / 3      # linear lr decay to 0 from this fraction of training (reference: 20 + 10 epochs)
    # --- data -------------------------------------------------------------------------------
    au_scale: float = 5.0          # AUs enter the networks divided by this (reference /5: OpenFace 0..5)
    target_noise: float = 0.1      # U(-t, t) added to the (scaled) target AUs (reference 0.1)
    flip: bool = True              # random horizontal flips (reference); the 17 AUs are symmetric
    n_train: int = 256             # SynthFaces rendered once and held in memory
    data_seed: int = 0
    presets_share: float = 0.5     # share of training faces drawn from the 8 expression presets
    pose_range: float = 15.0       # SynthFaces head pose range (degrees)
    data_split: str | None = "train"  # split of a face folder (full profile)
    channels_last: bool = True     # memory format of activations (measured faster on CPU, see bench.py)
    eval_n: int = 16               # test edits measured every eval_every steps (the curve)
    log_every: int = 5
    save_every: int = 100

    RUN_ONLY: ClassVar = BaseConfig.RUN_ONLY + ("channels_last", "eval_n")
    CHOICES: ClassVar = {**BaseConfig.CHOICES, "bottleneck": BOTTLENECKS, "norm_act": NORM_ACTS,
                         "gp_step": ("separate", "joint"), "expansion": (1, 2, 3, 4, 5, 6, 8)}
    POSITIVE: ClassVar = BaseConfig.POSITIVE + ("g_dim", "d_dim", "n_blocks", "d_layers", "kernel", "g_every",
                                                "lr_g", "lr_d", "au_scale", "n_train", "eval_n")
    PROFILES: ClassVar = {
        # 64 px SynthFaces on a shared 2-core AVX2 CPU in about 18 minutes per variant (fp32: this
        # CPU has no bf16 units; bf16 autocast measured 15-40x *slower*, see bench.py). Reference
        # losses and lr schedule; narrower networks (G width 16, D width 32 instead of 64), batch 8,
        # G every 2nd iteration instead of 5th (to get ~2,000 generator updates in the budget), and
        # 5 discriminator layers so that its critic map is 2x2 as the reference's 6 layers give at 128 px.
        "demo": dict(size=64, steps=3000, batch=8, g_dim=16, d_dim=32, d_layers=5, n_train=4000,
                     g_every=2, log_every=20, eval_every=500, eval_n=64, sample_every=500, save_every=250,
                     threads=2),
        # The seed: 128 px EmotioNet/CelebA v2 crops with OpenFace AUs, 50 epochs, Adam 1e-4;
        # the reference's batch 25, widths 64, 6 discriminator layers, G every 5 iterations.
        "full": dict(size=128, batch=25, epochs=50.0, steps=400_000, g_dim=64, d_dim=64, d_layers=6,
                     g_every=5, data="data/emotionet128", log_every=100,
                     eval_every=5000, eval_n=256, save_every=2000, workers=4),
    }

    def check(self) -> None:
        if self.size % 4 or self.size < 16:
            raise ValueError(f"Config.size must be a multiple of 4 and >= 16, got {self.size}")
        if self.size % 2 ** self.d_layers:
            raise ValueError(f"Config.d_layers={self.d_layers} halves {self.size} px to a fraction; "
                             f"need size divisible by 2**d_layers (at most {int(math.log2(self.size))} here)")
        if self.kernel % 2 == 0:
            raise ValueError(f"Config.kernel must be odd, got {self.kernel}")
        if not 0.0 <= self.decay_from <= 1.0:
            raise ValueError(f"Config.decay_from must be in [0, 1], got {self.decay_from}")
        if not 0.0 <= self.presets_share <= 1.0:
            raise ValueError(f"Config.presets_share must be in [0, 1], got {self.presets_share}")
        for name in ("lambda_adv", "lambda_au", "lambda_cyc", "lambda_att", "lambda_tv", "lambda_gp",
                     "layer_scale", "target_noise", "epochs"):
            if getattr(self, name) < 0:
                raise ValueError(f"Config.{name} must be >= 0, got {getattr(self, name)}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"Config.betas must be two numbers in [0, 1), got {self.betas}")


def variant_name(cfg: Config) -> str:
    """"resnet", "convnext", "convnext4x", "convnext6x", "convnext_more" or a descriptive string."""
    if cfg.bottleneck == "resnet":
        return "resnet"
    base = "convnext" if cfg.expansion == 2 else f"convnext{cfg.expansion}x"
    return base + ("_more" if cfg.norm_act == "more" else "")


# ----------------------------------------------------------------------------- blocks
class ResidualBlock(nn.Module):
    """(N, C, H, W) -> (N, C, H, W): GANimation/StarGAN's block, x + IN(conv3(ReLU(IN(conv3(x)))))."""

    def __init__(self, dim: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.InstanceNorm2d(dim, affine=True), nn.ReLU(inplace=True),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.InstanceNorm2d(dim, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ConvNeXtBlock(nn.Module):
    """(N, C, H, W) -> (N, C, H, W): the thesis' ConvNeXt residual block (see the module docstring).

    ``x + gamma * pw2(GELU(pw1(LN(dwconv(x)))))`` with ``pw1: C -> expansion*C`` and ``pw2`` back;
    ``norm_act="more"`` adds a GELU after the first LN and a LN after ``pw1``. The 1x1 convolutions
    are ``nn.Linear`` layers on the channels-last view (as ConvNeXt's code), one matmul each.
    """

    def __init__(self, dim: int, expansion: int = 2, kernel: int = 7, layer_scale: float = 1e-6,
                 norm_act: str = "one"):
        super().__init__()
        if norm_act not in NORM_ACTS:
            raise ValueError(f"norm_act must be one of {NORM_ACTS}, got {norm_act!r}")
        hidden = expansion * dim
        self.more = norm_act == "more"
        self.dwconv = nn.Conv2d(dim, dim, kernel, 1, kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, hidden)
        self.norm2 = nn.LayerNorm(hidden, eps=1e-6) if self.more else nn.Identity()
        self.act = nn.GELU()
        self.pw2 = nn.Linear(hidden, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale))) if layer_scale > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)            # (N, H, W, C): a view for channels_last x
        y = self.norm(y)
        if self.more:
            y = self.act(y)
        y = self.act(self.norm2(self.pw1(y)))
        y = self.pw2(y)
        if self.gamma is not None:
            y = y * self.gamma
        return x + y.permute(0, 3, 1, 2)


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.InstanceNorm2d(cout, affine=True),
            nn.ReLU(inplace=True)]


# ----------------------------------------------------------------------------- networks
class Generator(nn.Module):
    """(images (N, 3, S, S) in [-1, 1], aus (N, 17) intensities) -> (colour (N, 3, S, S), attention (N, 1, S, S)).

    The AUs (OpenFace order ``helpers.faces.data.AUS``, intensity scale 0..5) are divided by
    ``au_scale`` and tiled to 17 constant maps concatenated to the image (20 input channels).
    Encoder: 7x7 conv (g_dim) + 2 stride-2 4x4 convs (2, 4 x g_dim), InstanceNorm + ReLU each;
    ``n_blocks`` bottleneck blocks at S/4 (ResNet or ConvNeXt); decoder: 2 transposed 4x4 convs
    back to g_dim at S; a 7x7 colour head with tanh (3 channels) and a 7x7 attention head with
    sigmoid (1 channel). Combine the two with :func:`compose`.
    """

    def __init__(self, size: int = 64, g_dim: int = 64, n_blocks: int = 6, bottleneck: str = "resnet",
                 expansion: int = 2, kernel: int = 7, layer_scale: float = 1e-6, norm_act: str = "one",
                 au_scale: float = 5.0):
        super().__init__()
        if bottleneck not in BOTTLENECKS:
            raise ValueError(f"bottleneck must be one of {BOTTLENECKS}, got {bottleneck!r}")
        self.size, self.au_scale, self.bottleneck = int(size), float(au_scale), bottleneck
        d = g_dim
        self.encoder = nn.Sequential(nn.Conv2d(3 + N_AUS, d, 7, 1, 3, bias=False), nn.InstanceNorm2d(d, affine=True),
                                     nn.ReLU(inplace=True), *_down(d, 2 * d), *_down(2 * d, 4 * d))
        if bottleneck == "resnet":
            blocks = [ResidualBlock(4 * d) for _ in range(n_blocks)]
        else:
            blocks = [ConvNeXtBlock(4 * d, expansion, kernel, layer_scale, norm_act) for _ in range(n_blocks)]
        self.blocks = nn.Sequential(*blocks)
        self.decoder = nn.Sequential(*_up(4 * d, 2 * d), *_up(2 * d, d))
        self.colour = nn.Sequential(nn.Conv2d(d, 3, 7, 1, 3, bias=False), nn.Tanh())
        self.attention = nn.Sequential(nn.Conv2d(d, 1, 7, 1, 3, bias=False), nn.Sigmoid())

    def forward(self, images: torch.Tensor, aus: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.size
        if images.ndim != 4 or images.shape[1:] != (3, s, s):
            raise ValueError(f"Generator expects images (N, 3, {s}, {s}) in [-1, 1], got {tuple(images.shape)}")
        if aus.ndim != 2 or aus.shape != (images.shape[0], N_AUS):
            raise ValueError(f"Generator expects aus (N, {N_AUS}) = ({images.shape[0]}, {N_AUS}) AU intensities, "
                             f"got {tuple(aus.shape)}")
        c = (aus.to(images.dtype) / self.au_scale)[:, :, None, None].expand(-1, -1, s, s)
        x = torch.cat([images, c], 1)
        if images.is_contiguous(memory_format=torch.channels_last) and not images.is_contiguous():
            x = x.contiguous(memory_format=torch.channels_last)
        h = self.decoder(self.blocks(self.encoder(x)))
        return self.colour(h), self.attention(h)


class Discriminator(nn.Module):
    """images (N, 3, S, S) -> (critic (N, S/2^L, S/2^L), aus (N, 17) / au_scale): GANimation's PatchGAN critic.

    ``layers`` stride-2 4x4 convolutions with bias and LeakyReLU(0.01) (channels d_dim, 2 d_dim, ...);
    a 3x3 convolution to the 1-channel critic map (WGAN: an unbounded score per patch, real high)
    and a convolution with kernel S/2^L to the 17 AU regressions (in units of ``au_scale``).
    """

    def __init__(self, size: int = 64, d_dim: int = 64, layers: int = 6):
        super().__init__()
        if size % 2 ** layers:
            raise ValueError(f"size {size} is not divisible by 2**layers = {2 ** layers}")
        self.size = int(size)
        body: list[nn.Module] = []
        cin, c = 3, d_dim
        for _ in range(layers):
            body += [nn.Conv2d(cin, c, 4, 2, 1), nn.LeakyReLU(0.01, inplace=True)]
            cin, c = c, c * 2
        self.body = nn.Sequential(*body)
        k = size // 2 ** layers
        self.critic = nn.Conv2d(cin, 1, 3, 1, 1, bias=False)
        self.au = nn.Conv2d(cin, N_AUS, k, bias=False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.size
        if images.ndim != 4 or images.shape[1:] != (3, s, s):
            raise ValueError(f"Discriminator expects images (N, 3, {s}, {s}), got {tuple(images.shape)}")
        h = self.body(images)
        return self.critic(h).flatten(1), self.au(h).flatten(1)


def compose(images: torch.Tensor, colour: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """The attention composition ``A * I + (1 - A) * C``: keep the input where A = 1, paint C where A = 0.

    ``images``, ``colour``: (N, 3, H, W) in [-1, 1]; ``attention``: (N, 1, H, W) in [0, 1].
    Shown in notebook 05 §3 (and exercise 1).
    """
    if images.shape != colour.shape or attention.shape != (images.shape[0], 1, *images.shape[2:]):
        raise ValueError(f"compose expects images and colour (N, 3, H, W) and attention (N, 1, H, W); got "
                         f"{tuple(images.shape)}, {tuple(colour.shape)}, {tuple(attention.shape)}")
    return attention * images + (1 - attention) * colour


@torch.no_grad()
def edit(G: Generator, images: torch.Tensor, aus, batch: int = 64) -> dict[str, torch.Tensor]:
    """Edit ``images`` (N, 3, S, S) in [-1, 1] to the AU intensities ``aus`` ((N, 17) or one (17,) for all).

    Returns dict(image = the edit, colour C, attention A), on the CPU, float32; G runs in eval mode
    without gradients in batches of ``batch``. Shown in notebook 05 §5.
    """
    if not torch.is_tensor(images) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be a tensor (N, 3, H, W) in [-1, 1], got {getattr(images, 'shape', images)}")
    aus = torch.as_tensor(aus, dtype=torch.float32)
    if aus.ndim == 1:
        aus = aus.expand(len(images), -1)
    if aus.shape != (len(images), N_AUS):
        raise ValueError(f"aus must be ({N_AUS},) or ({len(images)}, {N_AUS}) AU intensities, got {tuple(aus.shape)}")
    was = G.training
    G.eval()
    p = next(G.parameters())
    out = {"image": [], "colour": [], "attention": []}
    try:
        for i in range(0, len(images), batch):
            x = images[i:i + batch].to(p.device, p.dtype)
            colour, att = G(x, aus[i:i + batch].to(p.device))
            out["image"].append(compose(x, colour, att).float().cpu())
            out["colour"].append(colour.float().cpu())
            out["attention"].append(att.float().cpu())
    finally:
        G.train(was)
    return {k: torch.cat(v) for k, v in out.items()}


def init_weights(m: nn.Module) -> None:
    """Conv weights N(0, 0.02), biases 0 (the reference); ConvNeXt's linear layers the same (as ConvNeXt)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def build(cfg: Config, seed: int | None = None) -> tuple[Generator, Discriminator]:
    """G and D for ``cfg``, initialised from the global torch RNG (seeded with ``seed`` if given)."""
    if seed is not None:
        torch.manual_seed(seed)
    G = Generator(cfg.size, cfg.g_dim, cfg.n_blocks, cfg.bottleneck, cfg.expansion, cfg.kernel, cfg.layer_scale,
                  cfg.norm_act, cfg.au_scale)
    D = Discriminator(cfg.size, cfg.d_dim, cfg.d_layers)
    G.apply(init_weights)
    D.apply(init_weights)
    return G, D
