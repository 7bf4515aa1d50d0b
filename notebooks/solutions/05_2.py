"""Solution of notebook 05, exercise 2: the total variation of the attention mask."""
import torch


def attention_tv(attention: torch.Tensor) -> torch.Tensor:
    """Sum of absolute differences between horizontal and vertical neighbours, over the batch."""
    dx = attention[..., :, 1:] - attention[..., :, :-1]
    dy = attention[..., 1:, :] - attention[..., :-1, :]
    return dx.abs().sum() + dy.abs().sum()
