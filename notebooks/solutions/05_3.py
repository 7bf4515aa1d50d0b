"""Solution of notebook 05, exercise 3: the forward pass of the seed's ConvNeXt block."""
import torch


def convnext_forward(block, x: torch.Tensor) -> torch.Tensor:
    """x + gamma * pw2(GELU(pw1(LN(dwconv(x))))), the LayerNorm and 1x1 layers on the channels-last view."""
    y = block.dwconv(x).permute(0, 2, 3, 1)        # (N, H, W, C)
    y = block.norm(y)
    if block.more:                                   # the "more LN + GELU" variant
        y = block.act(y)
    y = block.act(block.norm2(block.pw1(y)))
    y = block.pw2(y)
    if block.gamma is not None:
        y = y * block.gamma
    return x + y.permute(0, 3, 1, 2)
