"""Notebook 03, exercise 1: the Mouth Corner Distance loss ("vector" reading)."""
import torch


def corner_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Mean over faces of sum_i |D̂^(i) - D^(i)|, D = p54 - p48 (i = x, y); pred, true: (N, 68, 2)."""
    d_pred = pred[:, 54] - pred[:, 48]
    d_true = true[:, 54] - true[:, 48]
    return (d_pred - d_true).abs().sum(-1).mean()
