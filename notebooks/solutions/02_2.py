"""Notebook 02, exercise 2: the weighted MSE of GLCIC."""
import torch


def weighted_mse(outputs: torch.Tensor, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Mean over all pixels and channels of (M * (C(x) - x))^2: only the hole counts."""
    return ((outputs - images) * masks).pow(2).mean()
