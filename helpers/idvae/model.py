"""Identity / expression disentanglement with a two-encoder VAE (Kanou & Nagao, IPSJ 2022; the identity/expression VAE paper).

A face ``x`` is encoded twice: the **identity encoder** q(z_i|x) and the **expression encoder**
q(z_e|x) give two 64-d Gaussian latents; one **decoder** p(x|z) draws the face from z = [z_i, z_e].
Only subject IDs are used for training (weak supervision), never expression labels:

* Identity stage (Eq. 1): identity encoder + decoder; the target is a *random image of the same
  subject* and z_e is a zero vector, so z_i can only carry what all images of a person share::

      L_i = a_i1 * KL(q(z_i|x) || p(z)) - a_i2 * E_q[log p(x_rand_id | z_i, 0)]

* Expression stage (Eq. 2): identity encoder frozen; expression encoder + decoder reconstruct the
  input, so z_e must carry what z_i lacks: the expression::

      L_e = a_e1 * KL(q(z_e|x) || p(z)) - a_e2 * E_q[log p(x | z_i, z_e)]

* The proposal adds, in the expression stage only, an adversarial loss on real x, reconstructions
  x' and decoded prior samples x_p (Eq. 3), a switch loss (Eq. 4) and their sum (Eq. 5)::

      L_gan    = min_G max_D  log D(x) + log(1 - D(x')) + log(1 - D(x_p))
      L_switch = MSE(z_i, z_i') + MSE(z_e^d, z_e^d')       (z_i of subject A, z_e^d of subject B,
                                                            re-encoded from Dec(z_i, z_e^d))
      L'_e     = L_e + beta * L_gan + gamma * L_switch

  and iterates the two stages (identity, expression, identity, expression, ...).

Baselines of Table 3: the plain VAE (row 6; row 7 subtracts each subject's mean latent, Eq. 6)
and a C-VAE conditioned on the subject ID (row 8). Everything a row changes is a config field.

Choices where the paper leaves room (each a field, the default named first):

* ``alpha_kl``: the paper prints a_i1 = a_e1 = 1.0x10^5 against a_i2 = a_e2 = 0.01; a KL weight
  ten million times the reconstruction weight collapses every posterior onto the prior. Default
  1e-5 (the likely misprint); 1e5 is the printed reading. :meth:`Config.reading` names the one a
  run used and every release manifest records it.
* -log p(x|z) is a Gaussian with sigma^2 = 1/2: the per-image *sum* of squared errors
  (images in [-1, 1]); KL summed over the latent dimensions; both averaged over the batch.
* Layers: conv -> BatchNorm -> LeakyReLU(0.2) (``norm="batch"``; ``"none"`` drops BN); the paper
  names no activation or normalisation. He (Kaiming) initialisation for that slope.
* The sigma head predicts log sigma^2 (``log_var``), the usual stable parameterisation.
* 4x4 average pooling over the 4x4 map (the table's padding 1 would not give 1x1).
* Decoder up-sampling: 4x4 stride-2 transposed convolutions everywhere (``deconv="4x4"``);
  Table 2 prints 3x3 for the last two or three (``deconv="table"``: 3x3 with output padding 1).
* Decoder output: tanh (images live in [-1, 1]).
* Generator loss of Eq. 3: non-saturating (``gan_loss="nonsaturating"``) or as written
  (``"minimax"``).
* Switch loss codes: posterior means; the targets z_i, z_e^d are constants (``switch_targets=
  "detach"``) or trained too (``"joint"``). Subject B is drawn at random among the other subjects.
* Adam states persist across stages; the learning rate decays by 0.95 per epoch *within* a stage
  (``lr_decay_scope="stage"``) or over the whole run (``"run"``).
* The batch size is not given: 64.

The losses of Eqs. 1-5 and the step of each stage: :mod:`helpers.idvae.losses`. Shown in notebook 06 §1-§3.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import torch
from torch import nn
from torch.nn import functional as F

from helpers.core.config import Config as BaseConfig
from helpers.core.images import check_images
from helpers.core.losses import LOSSES

__all__ = ["Config", "MODELS", "Z_DIM", "ConvPair", "UpPair", "Encoder", "Decoder", "Discriminator",
           "IdExpVAE", "build", "init_weights", "VAE", "n_parameters", "PRINTED_ALPHA_KL", "CORRECTED_ALPHA_KL"]

MODELS = ("idvae", "vae", "cvae")
Z_DIM = 64                      # both latents (Table 1: fc mu 64, fc sigma 64)
PRINTED_ALPHA_KL = 1.0e5        # a_i1 = a_e1 as printed in the paper
CORRECTED_ALPHA_KL = 1.0e-5     # the likely misprint's reading


# ----------------------------------------------------------------------------- config
@dataclass
class Config(BaseConfig):
    """Every knob of a run. Defaults = the quick profile (64 px, width 1/4, a few epochs)."""

    model: str = "idvae"        # "idvae" (two encoders, rows 1-5) | "vae" (rows 6, 7) | "cvae" (row 8)
    size: int = 64              # 64 or 128 (128 adds the conv5 pair and the deconv5 pair)
    width: float = 0.25         # channel multiplier (1.0 = Tables 1-2)
    batch: int = 32
    epochs: float = 4.0         # total epochs of the run, shared equally by its stages
    iterations: int = 1         # (identity, expression) stage pairs; 1 = the prior method's schedule
    beta: float = 0.0           # weight of L_gan (Eq. 5); 0 = no discriminator (rows 1, 6-8)
    gamma: float = 0.0          # weight of L_switch (Eq. 5); 0 = off
    alpha_kl: float = CORRECTED_ALPHA_KL   # a_i1 = a_e1 (see the module docstring)
    alpha_rec: float = 0.01     # a_i2 = a_e2
    lr: float = 5e-4
    lr_decay: float = 0.95      # per epoch
    lr_decay_scope: str = "stage"
    adam_betas: tuple = (0.9, 0.999)
    adam_eps: float = 1e-8
    norm: str = "batch"
    deconv: str = "4x4"
    gan_loss: str = "nonsaturating"
    switch_targets: str = "detach"
    channels_last: bool = True  # faster convolutions with oneDNN (CPU) and cuDNN
    # data: SynthFaces sequences (quick, demo) or a folder in the on-disk face format (full)
    data: str = "synthfaces"
    recognition: Optional[str] = None   # folder of the recognition set (None: data's recognition/ sibling)
    subjects: int = 16          # SynthFaces training subjects
    test_subjects: int = 6      # SynthFaces held-out subjects
    frames: int = 4             # training frames per sequence, neutral -> apex at equal intervals
    apex_frames: int = 2        # recognition frames per sequence (the last ones, CK+ style)
    pose_range: float = 6.0     # SynthFaces head pose per sequence, degrees
    data_seed: int = 0
    eval_runs: int = 10         # k-means runs of the curve measured after each expression stage
    eval_every: int = 1         # the curve is measured at the end of each expression stage only
    log_every: int = 5
    save_every: int = 200

    RUN_ONLY: ClassVar = BaseConfig.RUN_ONLY + ("eval_runs",)
    CHOICES: ClassVar = {**BaseConfig.CHOICES, "model": MODELS, "size": (64, 128), "norm": ("batch", "none"),
                         "deconv": ("4x4", "table"), "gan_loss": LOSSES, "switch_targets": ("detach", "joint"),
                         "lr_decay_scope": ("stage", "run")}
    POSITIVE: ClassVar = BaseConfig.POSITIVE + ("width", "epochs", "iterations", "alpha_kl", "alpha_rec", "lr",
                                                "lr_decay", "adam_eps", "subjects", "test_subjects", "frames",
                                                "apex_frames", "eval_runs")
    PROFILES: ClassVar = {
        # SynthFaces on a shared 2-core CPU (about 90 CPU-minutes for all seven models): 64 subjects
        # x 7 expressions x 4 frames (neutral -> apex), 12 held-out subjects, width 1/2 (a quarter
        # of the paper's FLOPs), 8 epochs per run (the paper: 200 epochs of 29,085 images), fp32
        # (this CPU has no bf16 units). Every row of Table 3 gets the same 8 epochs.
        "demo": dict(width=0.5, batch=32, epochs=8.0, subjects=64, test_subjects=12, frames=4, apex_frames=2,
                     eval_runs=20, log_every=10, save_every=100, threads=2),
        # The paper: Tables 1-2 at full width, 100 epochs per stage (set iterations=K, epochs=100*K
        # for the iterated schedule with 50 epochs per stage), MUG + CK+ + RAVDESS prepared by
        # data_scripts.prepare, subject splits from the preparers.
        "full": dict(width=1.0, batch=64, epochs=200.0, precision="mixed", eval_runs=100, workers=0,
                     log_every=50, save_every=1000),
    }

    def check(self) -> None:
        if self.model != "idvae" and (self.beta or self.gamma or self.iterations != 1):
            raise ValueError(f"beta, gamma and iterations apply to model='idvae' only, got model={self.model!r} "
                             f"beta={self.beta} gamma={self.gamma} iterations={self.iterations}")
        if self.beta < 0 or self.gamma < 0:
            raise ValueError(f"beta and gamma must be >= 0, got {self.beta}, {self.gamma}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.apex_frames > self.frames * 4:
            raise ValueError(f"apex_frames must be <= 4 * frames, got {self.apex_frames} > 4 * {self.frames}")
        if len(self.adam_betas) != 2:
            raise ValueError(f"adam_betas must be two numbers, got {self.adam_betas}")

    def reading(self) -> str:
        """Which reading of the paper's KL weight this run uses: 'printed', 'corrected' or 'custom'."""
        if self.alpha_kl == PRINTED_ALPHA_KL:
            return "printed (alpha_kl = 1.0e5)"
        if self.alpha_kl == CORRECTED_ALPHA_KL:
            return "corrected (alpha_kl = 1.0e-5)"
        return f"custom (alpha_kl = {self.alpha_kl:g})"


# ----------------------------------------------------------------------------- blocks
def _ch(c: int, width: float) -> int:
    return max(4, int(round(c * width)))


def _norm(kind: str, ch: int) -> nn.Module:
    return nn.BatchNorm2d(ch) if kind == "batch" else nn.Identity()


class ConvPair(nn.Module):
    """(N, cin, H, W) -> (N, cout, H/2, W/2): conv 3x3 stride 2, conv 3x3 stride 1 (Table 1's
    ``convK.1`` / ``convK.2``), each followed by the norm and LeakyReLU(0.2)."""

    def __init__(self, cin: int, cout: int, norm: str = "batch"):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 2, 1, bias=norm != "batch")
        self.norm1 = _norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=norm != "batch")
        self.norm2 = _norm(norm, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.norm1(self.conv1(x)), 0.2)
        return F.leaky_relu(self.norm2(self.conv2(x)), 0.2)


class UpPair(nn.Module):
    """(N, cin, H, W) -> (N, cout, 2H, 2W): transposed conv stride 2 (4x4, or Table 2's 3x3 with
    output padding 1) then conv 3x3 (Table 2's ``deconvK.1`` / ``convK.2``), norm + LeakyReLU(0.2)."""

    def __init__(self, cin: int, cout: int, kernel: int = 4, norm: str = "batch"):
        super().__init__()
        if kernel not in (3, 4):
            raise ValueError(f"kernel must be 3 or 4, got {kernel}")
        self.up = nn.ConvTranspose2d(cin, cout, kernel, 2, 1, output_padding=1 if kernel == 3 else 0,
                                     bias=norm != "batch")
        self.norm1 = _norm(norm, cout)
        self.conv = nn.Conv2d(cout, cout, 3, 1, 1, bias=norm != "batch")
        self.norm2 = _norm(norm, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.norm1(self.up(x)), 0.2)
        return F.leaky_relu(self.norm2(self.conv(x)), 0.2)


def _encoder_channels(size: int, width: float) -> list[int]:
    chans = [32, 64, 128, 256] + ([256] if size == 128 else [])
    return [_ch(c, width) for c in chans]


class Encoder(nn.Module):
    """Image (N, 3, S, S) in [-1, 1] -> (mu, log_var), each (N, 64)   (Table 1).

    Pairs of 3x3 convs (32, 64, 128, 256 channels x width; a fifth 256 pair at 128 px) halve the
    side down to 4x4; 4x4 average pooling; two linear heads. ``cond`` > 0 (the C-VAE) appends a
    (N, cond) vector to the pooled features before the heads. ``out`` = 1 and ``heads=False``
    make the trunk of the discriminator.
    """

    def __init__(self, size: int = 64, width: float = 1.0, z_dim: int = Z_DIM, norm: str = "batch",
                 cond: int = 0):
        super().__init__()
        if size not in (64, 128):
            raise ValueError(f"size must be 64 or 128 (Table 1), got {size}")
        self.size, self.z_dim, self.cond = size, z_dim, cond
        chans = _encoder_channels(size, width)
        cins = [3] + chans[:-1]
        self.blocks = nn.Sequential(*[ConvPair(a, b, norm) for a, b in zip(cins, chans)])
        self.pool = nn.AvgPool2d(4)
        self.feature_dim = chans[-1]
        self.mu = nn.Linear(chans[-1] + cond, z_dim)
        self.log_var = nn.Linear(chans[-1] + cond, z_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> pooled features (N, 256 x width)."""
        check_images(x.detach(), "Encoder input", size=self.size)
        return self.pool(self.blocks(x)).flatten(1)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        if self.cond:
            if c is None or c.shape != (len(x), self.cond):
                raise ValueError(f"this conditional Encoder expects c of shape ({len(x)}, {self.cond}), "
                                 f"got {None if c is None else tuple(c.shape)}")
            h = torch.cat([h, c.to(h.dtype)], 1)
        return self.mu(h), self.log_var(h)


class Decoder(nn.Module):
    """z (N, latent) -> image (N, 3, S, S) in [-1, 1]   (Table 2).

    fc to 4096 (x width), reshape to 256x4x4, up-pairs to 128@8, 64@16, 32@32, 16@64 (+8@128 at
    128 px), conv 3x3 to 3 channels, tanh. ``latent`` = 128 for [z_i, z_e] (and the C-VAE's
    [z, subject embedding]), 64 for the plain VAE.
    """

    def __init__(self, size: int = 64, width: float = 1.0, latent: int = 2 * Z_DIM, norm: str = "batch",
                 deconv: str = "4x4"):
        super().__init__()
        if size not in (64, 128):
            raise ValueError(f"size must be 64 or 128 (Table 2), got {size}")
        self.size, self.latent = size, latent
        chans = [_ch(c, width) for c in [256, 128, 64, 32, 16] + ([8] if size == 128 else [])]
        self.c0 = chans[0]
        self.fc = nn.Linear(latent, chans[0] * 16)
        kernels = [4, 4] + [3 if deconv == "table" else 4] * (len(chans) - 3)
        self.blocks = nn.Sequential(*[UpPair(a, b, k, norm) for a, b, k in zip(chans[:-1], chans[1:], kernels)])
        self.out = nn.Conv2d(chans[-1], 3, 3, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent:
            raise ValueError(f"Decoder expects z of shape (N, {self.latent}), got {tuple(z.shape)}")
        h = self.fc(z).view(len(z), self.c0, 4, 4)
        return torch.tanh(self.out(self.blocks(h)))


class Discriminator(nn.Module):
    """Image (N, 3, S, S) -> logit (N,); D(x) = sigmoid(logit) = P(real).

    The encoder's layers (Table 1's conv pairs and 4x4 average pooling) with one output (Sec. 5.1).
    """

    def __init__(self, size: int = 64, width: float = 1.0, norm: str = "batch"):
        super().__init__()
        if size not in (64, 128):
            raise ValueError(f"size must be 64 or 128 (Table 1), got {size}")
        self.size = size
        chans = _encoder_channels(size, width)
        self.blocks = nn.Sequential(*[ConvPair(a, b, norm) for a, b in zip([3] + chans[:-1], chans)])
        self.pool = nn.AvgPool2d(4)
        self.out = nn.Linear(chans[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x.detach(), "Discriminator input", size=self.size)
        return self.out(self.pool(self.blocks(x)).flatten(1)).squeeze(1)


class IdExpVAE(nn.Module):
    """The generator of rows 1-5: identity encoder, expression encoder, shared decoder.

    ``encode(x)`` -> (mu_i, lv_i, mu_e, lv_e), each (N, 64); ``decode(z_i, z_e)`` -> (N, 3, S, S);
    ``swap(x_id, x_expr)`` = Dec(mu_i(x_id), mu_e(x_expr)). Shown in notebook 06 §3.
    """

    def __init__(self, size: int = 64, width: float = 1.0, norm: str = "batch", deconv: str = "4x4"):
        super().__init__()
        self.size = size
        self.identity = Encoder(size, width, Z_DIM, norm)
        self.expression = Encoder(size, width, Z_DIM, norm)
        self.decoder = Decoder(size, width, 2 * Z_DIM, norm, deconv)

    def encode(self, x: torch.Tensor):
        mu_i, lv_i = self.identity(x)
        mu_e, lv_e = self.expression(x)
        return mu_i, lv_i, mu_e, lv_e

    def decode(self, z_i: torch.Tensor, z_e: torch.Tensor) -> torch.Tensor:
        if z_i.shape != z_e.shape or z_i.ndim != 2 or z_i.shape[1] != Z_DIM:
            raise ValueError(f"decode expects z_i and z_e of shape (N, {Z_DIM}), got {tuple(z_i.shape)} "
                             f"and {tuple(z_e.shape)}")
        return self.decoder(torch.cat([z_i, z_e], 1))

    def swap(self, x_identity: torch.Tensor, x_expression: torch.Tensor) -> torch.Tensor:
        """Faces with the identity of ``x_identity[k]`` and the expression of ``x_expression[k]``."""
        return self.decode(self.identity(x_identity)[0], self.expression(x_expression)[0])


class VAE(nn.Module):
    """Row 6 (plain VAE, latent 64) or row 8 (C-VAE: encoder and decoder see a learned 64-d
    embedding of the subject ID; ``n_subjects`` > 0). ``encode(x, subject)`` -> (mu, log_var)."""

    def __init__(self, size: int = 64, width: float = 1.0, norm: str = "batch", deconv: str = "4x4",
                 n_subjects: int = 0):
        super().__init__()
        self.size, self.n_subjects = size, n_subjects
        self.embed = nn.Embedding(n_subjects, Z_DIM) if n_subjects else None
        self.encoder = Encoder(size, width, Z_DIM, norm, cond=Z_DIM if n_subjects else 0)
        self.decoder = Decoder(size, width, 2 * Z_DIM if n_subjects else Z_DIM, norm, deconv)

    def _cond(self, subject, n):
        if self.embed is None:
            return None
        if subject is None or subject.shape != (n,):
            raise ValueError(f"the C-VAE needs subject ids of shape ({n},), got "
                             f"{None if subject is None else tuple(subject.shape)}")
        if int(subject.min()) < 0 or int(subject.max()) >= self.n_subjects:
            raise ValueError(f"subject ids must be in [0, {self.n_subjects}) (training subjects only)")
        return self.embed(subject)

    def encode(self, x: torch.Tensor, subject: torch.Tensor | None = None):
        return self.encoder(x, self._cond(subject, len(x)))

    def decode(self, z: torch.Tensor, subject: torch.Tensor | None = None) -> torch.Tensor:
        c = self._cond(subject, len(z))
        return self.decoder(z if c is None else torch.cat([z, c.to(z.dtype)], 1))


def init_weights(m: nn.Module) -> None:
    """He (Kaiming) normal initialisation for LeakyReLU(0.2) on conv and linear layers; zero biases."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def build(cfg: Config, n_subjects: int = 0) -> dict[str, nn.Module]:
    """Fresh, He-initialised networks of ``cfg``: {"G": IdExpVAE | VAE} (+ {"D": ...} when beta > 0)."""
    if cfg.model == "idvae":
        G: nn.Module = IdExpVAE(cfg.size, cfg.width, cfg.norm, cfg.deconv)
    else:
        if cfg.model == "cvae" and n_subjects < 1:
            raise ValueError("the C-VAE needs n_subjects >= 1 (the training subjects)")
        G = VAE(cfg.size, cfg.width, cfg.norm, cfg.deconv, n_subjects if cfg.model == "cvae" else 0)
    G.apply(init_weights)
    out = {"G": G}
    if cfg.beta > 0:
        D = Discriminator(cfg.size, cfg.width, cfg.norm)
        D.apply(init_weights)
        out["D"] = D
    return out


def n_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
