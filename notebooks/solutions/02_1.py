"""Notebook 02, exercise 1: the completion network's input."""
import torch


def make_input(images: torch.Tensor, masks: torch.Tensor, mean_color: torch.Tensor) -> torch.Tensor:
    """(N,3,H,W) images, (N,1,H,W) masks (1 = hole), (3,) mean colour -> (N,4,H,W):
    the image with its hole filled by the mean colour, and the mask as a fourth channel."""
    fill = mean_color.view(1, 3, 1, 1)
    return torch.cat([images * (1 - masks) + fill * masks, masks], dim=1)
