"""What an analysis-network training step computes: the multi-task loss, the schedule, the step.

The six terms and CosFace are described in :mod:`helpers.analysis.model`; each batch is degraded
by :func:`helpers.analysis.data.augment` before the forward pass.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from helpers.analysis.data import augment
from helpers.analysis.model import Config, CosFaceHead
from helpers.faces.analysis import POSE_UNIT

__all__ = ["multitask_loss", "learning_rate", "train_step"]


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
