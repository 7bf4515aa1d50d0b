"""Notebook 01, exercise 3: spherical interpolation between two latent vectors."""
import torch


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points on the great circle from z0 (t = 0) to z1 (t = 1): returns (len(t), nz).

    omega = angle between z0 and z1; slerp = sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1,
    and the straight line where z0 and z1 are parallel (sin(omega) = 0).
    """
    t = t.reshape(-1, 1)
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
