"""Notebook 02, exercise 3: the local discriminator's patch."""
import torch


def patch_boxes(boxes: torch.Tensor, size: int, local_size: int) -> torch.Tensor:
    """(N,4) hole boxes x0, y0, w, h -> (N,4) squares of side local_size centred on each hole,
    moved (clamped) so that they lie inside the size x size image."""
    cx = boxes[:, 0] + boxes[:, 2] // 2
    cy = boxes[:, 1] + boxes[:, 3] // 2
    x0 = (cx - local_size // 2).clamp(0, size - local_size)
    y0 = (cy - local_size // 2).clamp(0, size - local_size)
    side = torch.full_like(x0, local_size)
    return torch.stack([x0, y0, side, side], dim=1)
