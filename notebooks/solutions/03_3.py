"""Notebook 03, exercise 3: LaFIn's landmark map."""
import torch


def make_landmark_map(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 68, 2) pixel x, y -> (N, 1, size, size): 1 at each landmark's (rounded, clamped) pixel."""
    n = landmarks.shape[0]
    out = torch.zeros(n, 1, size, size)
    p = landmarks.round().long().clamp(0, size - 1)
    for i in range(n):
        out[i, 0, p[i, :, 1], p[i, :, 0]] = 1.0
    return out
