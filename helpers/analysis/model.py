"""Training the face-analysis network: config, data, augmentation, the losses and the step.

The network itself (:class:`helpers.faces.analysis.AnalysisNet`) lives in the faces layer so
that every method can import it; this package trains it on SynthFaces (which the faces layer may
not import). One multi-task step per batch::

    L = w_lm  * L1(landmarks, in % of the image side)
      + w_au  * SmoothL1(AUs)                      + w_pose  * L1(pose / 10 degrees)
      + w_expr * CE(expression)                    + w_smile * BCE(smiling)
      + w_id  * CosFace(identity embedding)

CosFace (Wang et al. 2018, "large margin cosine loss") is the metric-learning term: the
L2-normalised embedding ``e`` of a face of training person ``y`` is scored against one learned unit
vector ``W_j`` per training person, ``logit_j = s (cos(e, W_j) - m [j = y])``, then cross-entropy.
The margin ``m`` forces every person's faces into a tight cone, so that people never seen in
training can be compared by the cosine of their embeddings (the head ``W`` is thrown away).

Robustness: half the faces wear a face mask (``mask_prob``); each batch is degraded on the fly
(down- and up-sampling to 32-96 px, Gaussian blur, noise, colour jitter, from the run's saved
random stream) so that 64-px and blurry generated faces are read as well as clean 128-px ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from helpers.core.config import Config as BaseConfig
from helpers.faces.analysis import POSE_UNIT, AnalysisNet
from helpers.synthfaces import bank

__all__ = ["Config", "LabelledBank", "CosFaceHead", "augment", "gaussian_blur", "multitask_loss", "train_step",
           "learning_rate", "build", "face_data", "BANK_KEYS"]

BANK_KEYS = ("image", "landmarks", "aus", "identity", "expression", "smiling", "pose")


@dataclass
class Config(BaseConfig):
    """Everything that defines an analysis-network run. Defaults = the quick profile (seconds)."""
    size: int = 64                  # the network's input side (renders at this size too)
    steps: int = 30
    batch: int = 16
    widths: tuple = (8, 16, 16, 32, 32)
    embed_dim: int = 32
    decoder_ch: int = 16
    hidden: int = 64
    n_train: int = 96               # SynthFaces rendered once (the training set)
    n_identities: int = 24          # training people: range(n_identities), each seen many times
    mask_prob: float = 0.4          # share of training faces behind a face mask
    data_seed: int = 1
    lr: float = 2e-3                # AdamW peak; linear warm-up, cosine decay to 2 %
    warmup: int = 5
    weight_decay: float = 1e-4
    cos_scale: float = 24.0         # CosFace s
    cos_margin: float = 0.2         # CosFace m
    w_lm: float = 0.5
    w_au: float = 1.0
    w_expr: float = 0.5
    w_smile: float = 0.3
    w_pose: float = 0.5
    w_id: float = 0.5
    p_lowres: float = 0.4           # share of faces down/up-sampled (32, 48, 64 or 96 px)
    p_blur: float = 0.3
    p_noise: float = 0.3
    p_colour: float = 0.5
    n_val: int = 32                 # unseen-identity faces measured every eval_every steps
    log_every: int = 5
    save_every: int = 100

    CHOICES: ClassVar = {**BaseConfig.CHOICES, "size": (64, 96, 128), "data": ("synthfaces",)}
    POSITIVE: ClassVar = BaseConfig.POSITIVE + ("embed_dim", "decoder_ch", "hidden", "n_train",
                                                "n_identities", "lr", "cos_scale", "n_val")
    PROFILES: ClassVar = {
        # 128 px, about 35-45 minutes on 2 threads of the shared CPU: checkpoints/analysis128.
        "demo": dict(size=128, steps=1800, batch=48, widths=(32, 48, 96, 192, 256), embed_dim=128,
                     decoder_ch=48, hidden=384, n_train=20_000, n_identities=2000, warmup=100,
                     n_val=200, log_every=20, eval_every=300, save_every=200, threads=2),
        # the same network on 8x the data for a GPU
        "full": dict(size=128, steps=20_000, batch=128, widths=(32, 48, 96, 192, 256), embed_dim=128,
                     decoder_ch=48, hidden=384, n_train=160_000, n_identities=10_000, warmup=500,
                     n_val=1000, log_every=50, eval_every=1000, save_every=1000),
    }

    def check(self) -> None:
        if len(self.widths) != 5:
            raise ValueError(f"Config.widths must have 5 entries, got {self.widths}")
        for k in ("mask_prob", "p_lowres", "p_blur", "p_noise", "p_colour"):
            if not 0.0 <= getattr(self, k) <= 1.0:
                raise ValueError(f"Config.{k} must be in [0, 1], got {getattr(self, k)}")
        if self.n_identities > self.n_train:
            raise ValueError(f"Config.n_identities ({self.n_identities}) must not exceed n_train ({self.n_train})")


# ----------------------------------------------------------------------------- data
def face_data(cfg: Config, n: int | None = None, start: int = 0, seed: int | None = None,
              identities=None, mask_prob: float | None = None, size: int | None = None,
              progress: bool = True) -> dict[str, torch.Tensor]:
    """SynthFaces with every label as tensors (``helpers.synthfaces.bank``), rendered once.

    Defaults: the run's training set (``cfg.n_train`` faces of people ``range(cfg.n_identities)``).
    """
    ids = list(range(cfg.n_identities)) if identities is None else list(identities)
    return bank(cfg.n_train if n is None else n, cfg.size if size is None else size,
                cfg.data_seed if seed is None else seed, start, keys=BANK_KEYS, progress=progress,
                identities=ids, mask_prob=cfg.mask_prob if mask_prob is None else mask_prob)


class LabelledBank(torch.utils.data.Dataset):
    """Faces in memory (uint8) with their labels; ``batch(idx)`` gives float images in [-1, 1]."""

    def __init__(self, arrays: dict[str, torch.Tensor]):
        missing = [k for k in BANK_KEYS if k not in arrays]
        if missing:
            raise ValueError(f"LabelledBank needs keys {BANK_KEYS}, missing {missing}")
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays["image"])

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {k: v[idx] for k, v in self.arrays.items()}
        out["image"] = out["image"].float().div_(127.5).sub_(1.0)
        return out

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.batch(torch.tensor([i])).items()}


# ----------------------------------------------------------------------------- augmentation
def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image with its own sigma (pixels; 0 = unchanged), 7x7 kernels, reflect padding."""
    n, c, h, w = x.shape
    r = torch.arange(-3, 4, dtype=x.dtype, device=x.device)
    s = sigma.clamp_min(1e-3).to(x)[:, None]
    k1 = torch.exp(-0.5 * (r[None] / s) ** 2)
    k1 = k1 / k1.sum(1, keepdim=True)                                   # (n, 7)
    k = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, 0)[:, None]  # (n*c, 1, 7, 7)
    y = F.conv2d(F.pad(x.reshape(1, n * c, h, w), (3, 3, 3, 3), mode="reflect"), k, groups=n * c)
    return y.reshape(n, c, h, w)


def augment(x: torch.Tensor, cfg: Config, g: torch.Generator) -> torch.Tensor:
    """Degrade a batch (N, 3, S, S) in [-1, 1] as generated or small faces are degraded.

    Per image, independently: with ``p_lowres`` down-sample (area) to 32, 48, 64 or 96 px and back
    (bilinear); with ``p_blur`` Gaussian blur, sigma U(0.3, 1.5) px; with ``p_noise`` Gaussian
    noise, sigma U(0, 0.08); with ``p_colour`` brightness +-0.1, contrast x U(0.8, 1.2),
    saturation x U(0.6, 1.4). Labels are unchanged (no geometric change). Draws only from ``g``.
    """
    n, _, s, _ = x.shape
    u = torch.rand(n, 12, generator=g)
    x = x.clone()
    low = u[:, 0] < cfg.p_lowres
    sizes = torch.tensor([32, 48, 64, 96])[(u[:, 1] * 4).long().clamp(max=3)]
    for side in sizes[low].unique().tolist():
        if side >= s:
            continue
        sel = (low & (sizes == side)).nonzero().flatten().to(x.device)
        small = F.interpolate(x[sel], size=(side, side), mode="area")
        x[sel] = F.interpolate(small, size=(s, s), mode="bilinear", align_corners=False)
    sigma = torch.where(u[:, 2] < cfg.p_blur, 0.3 + 1.2 * u[:, 3], torch.zeros(n))
    if bool((sigma > 0).any()):
        sel = (sigma > 0).nonzero().flatten().to(x.device)
        x[sel] = gaussian_blur(x[sel], sigma[sigma > 0])
    col = (u[:, 4] < cfg.p_colour).float()
    bright = (u[:, 5] * 0.2 - 0.1) * col
    contrast = 1 + (u[:, 6] * 0.4 - 0.2) * col
    sat = 1 + (u[:, 7] * 0.8 - 0.4) * col
    v = lambda t: t.to(x)[:, None, None, None]  # noqa: E731
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * v(sat)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * v(contrast) + mean + v(bright)
    nsig = torch.where(u[:, 8] < cfg.p_noise, 0.08 * u[:, 9], torch.zeros(n))
    if bool((nsig > 0).any()):
        x = x + torch.randn(x.shape, generator=g).to(x) * v(nsig)
    return x.clamp_(-1, 1)


# ----------------------------------------------------------------------------- losses
class CosFaceHead(nn.Module):
    """Training-only identity classifier: unit embeddings (N, D) -> CosFace logits (N, n_classes)."""

    def __init__(self, embed_dim: int, n_classes: int, scale: float = 24.0, margin: float = 0.2):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_classes, embed_dim) * 0.01)
        self.scale, self.margin = float(scale), float(margin)

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = F.normalize(emb.float(), dim=1) @ F.normalize(self.weight.float(), dim=1).T
        return self.scale * (cos - self.margin * F.one_hot(labels, cos.shape[1]).to(cos))


def multitask_loss(out: dict, batch: dict, head: CosFaceHead, cfg: Config) -> tuple[torch.Tensor, dict]:
    """The weighted sum of the six task losses (module docstring) and each term for the log."""
    size = batch["image"].shape[-1]
    terms = {
        "lm": (out["landmarks"].float() - batch["landmarks"]).abs().mean() * (100.0 / size),
        "au": F.smooth_l1_loss(out["aus"].float(), batch["aus"], beta=0.1),
        "expr": F.cross_entropy(out["expression_logits"].float(), batch["expression"]),
        "smile": F.binary_cross_entropy_with_logits(out["smiling_logit"].float(), batch["smiling"].float()),
        "pose": (out["pose"].float() - batch["pose"]).abs().mean() / POSE_UNIT,
        "id": F.cross_entropy(head(out["identity"], batch["identity"]), batch["identity"]),
    }
    w = {"lm": cfg.w_lm, "au": cfg.w_au, "expr": cfg.w_expr, "smile": cfg.w_smile, "pose": cfg.w_pose,
         "id": cfg.w_id}
    total = sum(w[k] * v for k, v in terms.items())
    return total, {f"loss_{k}": v.detach() for k, v in terms.items()}


def learning_rate(cfg: Config, step: int) -> float:
    """Linear warm-up over ``cfg.warmup`` steps, then cosine decay to 2 % of ``cfg.lr`` at the end."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def build(cfg: Config) -> tuple[AnalysisNet, CosFaceHead]:
    """A fresh network for ``cfg`` and its training-only CosFace head (global torch RNG)."""
    net = AnalysisNet(cfg.size, cfg.widths, cfg.embed_dim, cfg.decoder_ch, cfg.hidden)
    head = CosFaceHead(cfg.embed_dim, cfg.n_identities, cfg.cos_scale, cfg.cos_margin)
    return net, head


def train_step(s, batch: dict) -> dict:
    """One multi-task update of the network and the CosFace head (``s``: the loop's State)."""
    net, head = s.models["net"], s.models["head"]
    lr = learning_rate(s.cfg, s.step)
    for group in s.optimizers["net"].param_groups:
        group["lr"] = lr
    x = augment(batch["image"], s.cfg, s.generators["aug"])
    with s.autocast():
        out = net(x)
    loss, terms = multitask_loss(out, batch, head, s.cfg)
    s.update("net", loss)
    return {"loss": loss.detach(), **terms, "lr": lr}
