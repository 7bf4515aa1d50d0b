"""Training the face-analysis network: its config and the training-only CosFace head.

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

This file holds the config and the CosFace head; the faces, test sets and augmentation are in
``data.py``, the multi-task loss, the learning-rate schedule and the step in ``losses.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from helpers.core.config import Config as BaseConfig
from helpers.faces.analysis import AnalysisNet

__all__ = ["Config", "CosFaceHead", "build"]


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


# ----------------------------------------------------------------------------- networks
class CosFaceHead(nn.Module):
    """Training-only identity classifier: unit embeddings (N, D) -> CosFace logits (N, n_classes)."""

    def __init__(self, embed_dim: int, n_classes: int, scale: float = 24.0, margin: float = 0.2):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_classes, embed_dim) * 0.01)
        self.scale, self.margin = float(scale), float(margin)

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = F.normalize(emb.float(), dim=1) @ F.normalize(self.weight.float(), dim=1).T
        return self.scale * (cos - self.margin * F.one_hot(labels, cos.shape[1]).to(cos))


def build(cfg: Config) -> tuple[AnalysisNet, CosFaceHead]:
    """A fresh network for ``cfg`` and its training-only CosFace head (global torch RNG)."""
    net = AnalysisNet(cfg.size, cfg.widths, cfg.embed_dim, cfg.decoder_ch, cfg.hidden)
    head = CosFaceHead(cfg.embed_dim, cfg.n_identities, cfg.cos_scale, cfg.cos_margin)
    return net, head
