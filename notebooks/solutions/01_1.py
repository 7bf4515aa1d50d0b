"""Notebook 01, exercise 1: the discriminator's loss of Eq. 3.1, from logits."""
import torch
from torch.nn import functional as F


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-(E[log D(x)] + E[log(1 - D(G(z)))]) with D = sigmoid(logit).

    -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l): finite for any logit.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
