"""Notebook 01, exercise 2: the non-saturating generator loss, from logits."""
import torch
from torch.nn import functional as F


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[log D(G(z))] with D = sigmoid(logit), i.e. the mean of softplus(-logit)."""
    return F.softplus(-fake_logits).mean()
