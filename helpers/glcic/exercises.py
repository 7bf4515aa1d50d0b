"""Checkers for the coding exercises of notebook 02 (GLCIC's input, its loss and its local patch).

A checker prints ``not done yet`` while the stub still raises ``NotImplementedError`` (so the
notebook runs top to bottom), says what is wrong otherwise, and returns True only when the
student's function agrees with the package's reference on several random cases.
``tests/test_glcic_exercises.py`` passes the solutions in ``notebooks/solutions/02_*.py`` through
the same checkers.

- Exercise 1, :func:`check_net_input`: the completion network's 4-channel input (reference
  :func:`helpers.glcic.model.net_input`).
- Exercise 2, :func:`check_completion_loss`: the paper's weighted MSE (reference
  :func:`helpers.glcic.losses.completion_loss`).
- Exercise 3, :func:`check_local_boxes`: the local discriminator's patch centred on the hole and
  kept inside the image (reference :func:`helpers.glcic.model.local_boxes`).
"""
from __future__ import annotations

import torch

from helpers.core.exercises import attempt, same
from helpers.glcic.losses import completion_loss
from helpers.glcic.model import boxes_to_masks, local_boxes, net_input, sample_boxes

__all__ = ["check_net_input", "check_completion_loss", "check_local_boxes"]






def _cases(seed: int):
    g = torch.Generator().manual_seed(seed)
    for n, size, holes in ((2, 64, "random"), (3, 64, "mouth"), (1, 32, "random")):
        images = torch.rand(n, 3, size, size, generator=g) * 2 - 1
        boxes = sample_boxes(n, size, holes, generator=g)
        yield f"{n} images, {size} px, {holes} holes", images, boxes_to_masks(boxes, size), boxes


def check_net_input(fn) -> bool:
    """Exercise 1: ``fn(images (N,3,H,W), masks (N,1,H,W), mean_color (3,))`` -> (N, 4, H, W)."""
    for name, images, masks, _ in _cases(1):
        mean = images.mean((0, 2, 3))
        ok, got = attempt(fn, images, masks, mean)
        if not ok:
            return False
        want = net_input(images, masks, mean)
        if torch.is_tensor(got) and got.shape == want.shape and torch.allclose(got[:, :3], images * (1 - masks)
                                                                               + 0 * masks, atol=1e-5):
            print(f"✗ {name}: the hole is black (0), but GLCIC fills it with the training set's mean colour")
            return False
        if not same(name, got, want):
            return False
    print("✓ correct: the same input as helpers.glcic.model.net_input")
    return True


def check_completion_loss(fn) -> bool:
    """Exercise 2: ``fn(outputs, images, masks)`` -> the weighted MSE, one number."""
    for name, images, masks, _ in _cases(2):
        outputs = torch.rand(images.shape, generator=torch.Generator().manual_seed(7)) * 2 - 1
        ok, got = attempt(fn, outputs, images, masks)
        if not ok:
            return False
        want = completion_loss(outputs, images, masks)
        if torch.is_tensor(got) and got.numel() == 1:
            plain = (outputs - images).pow(2).mean()
            inside = ((outputs - images) * masks).pow(2).sum() / masks.sum().clamp_min(1) / 3
            if torch.allclose(got.float().reshape(()), plain, rtol=1e-4):
                print(f"✗ {name}: this is the MSE over the whole image; weight it by the mask M (only the hole counts)")
                return False
            if torch.allclose(got.float().reshape(()), inside, rtol=1e-4):
                print(f"✗ {name}: you divided by the hole's size; the paper's loss is the mean over all pixels "
                      "of (M * (C(x) - x))^2, so small holes give small losses")
                return False
            got = got.reshape(())
        if not same(name, got, want, atol=1e-6):
            return False
    print("✓ correct: the same loss as helpers.glcic.losses.completion_loss")
    return True


def check_local_boxes(fn) -> bool:
    """Exercise 3: ``fn(boxes (N,4) x0,y0,w,h, size, local_size)`` -> (N, 4) square patches in the image."""
    g = torch.Generator().manual_seed(3)
    for n, size, local in ((6, 64, 32), (4, 128, 64), (3, 64, 64)):
        boxes = sample_boxes(n, size, "random", generator=g)
        boxes[0, :2] = 0                                        # a hole in the corner: the patch must stay inside
        ok, got = attempt(fn, boxes, size, local)
        if not ok:
            return False
        want = local_boxes(boxes, size, local)
        if torch.is_tensor(got) and got.shape == want.shape and (got[:, :2] < 0).any():
            print(f"✗ {n} boxes, {size} px, patch {local}: a patch starts outside the image; clamp x0, y0 "
                  f"into [0, size - local_size]")
            return False
        if not same(f"{n} boxes, {size} px, patch {local}", got, want.to(got.dtype if torch.is_tensor(got) else
                                                                           want.dtype), atol=0):
            return False
    print("✓ correct: the same patches as helpers.glcic.model.local_boxes")
    return True
