"""Notebook 06, exercise 1: the switch loss (Eq. 4)."""
import torch
import torch.nn.functional as F


def switch_loss(z_i: torch.Tensor, z_i_re: torch.Tensor, z_e_d: torch.Tensor, z_e_d_re: torch.Tensor) -> torch.Tensor:
    """L_switch = MSE(z_i, z_i') + MSE(z_e^d, z_e^d'), each a mean over the batch and the 64 dimensions."""
    return F.mse_loss(z_i_re, z_i) + F.mse_loss(z_e_d_re, z_e_d)
