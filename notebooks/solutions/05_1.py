"""Solution of notebook 05, exercise 1: GANimation's attention composition."""
import torch


def compose(images: torch.Tensor, colour: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """Keep the input where the attention is 1, paint the colour image where it is 0."""
    return attention * images + (1 - attention) * colour
