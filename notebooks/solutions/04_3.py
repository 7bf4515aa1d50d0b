"""Solution of notebook 04, exercise 3: the projector's noise regulariser R(n)."""
import torch
import torch.nn.functional as F


def noise_regularisation(noises):
    """Per image (N,): for every noise map and its 2x-pooled versions down to 8x8, the squared mean of
    the map times itself shifted by one pixel in x, plus the same in y."""
    total = 0
    for n in noises:
        while True:
            total = total + (n * torch.roll(n, shifts=1, dims=3)).mean(dim=(1, 2, 3)) ** 2 \
                          + (n * torch.roll(n, shifts=1, dims=2)).mean(dim=(1, 2, 3)) ** 2
            if n.shape[-1] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return total
