"""What a GLCIC training step computes: the losses, the optimisers and one step per phase.

Phase 1 (Tc, :func:`completion_step`): the completion network alone on the MSE inside the hole
(:func:`completion_loss`). Phase 2 (Td, :func:`discriminator_step`): the context discriminator
alone, completed (fake) vs real images, binary cross-entropy. Phase 3 (:func:`joint_step`): one
discriminator update, then the completion network on MSE + alpha * adversarial. ``s`` is the
loop's :class:`helpers.core.loop.State` (networks ``C`` and ``D``, their optimisers, autocast);
:class:`helpers.glcic.train.GLCIC` draws the holes and calls the step of the current phase. The
choices (loss normalisation, what the discriminators see, where real patches come from) are
documented in :mod:`helpers.glcic.model`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from helpers.glcic.model import Config, crop_boxes, local_boxes, net_input, paste

__all__ = ["make_optimizer", "completion_loss", "discriminator_loss", "completion_step", "discriminator_step",
           "joint_step"]


def make_optimizer(params, cfg: Config, lr: float | None = None) -> torch.optim.Optimizer:
    """Adadelta (the paper; lr 1.0 by default; multi-tensor) or Adam (betas cfg.betas; fused kernel).

    ``lr`` overrides ``cfg.lr`` (the discriminator's ``cfg.lr_d``). The fused Adam is ~3x faster
    than the per-parameter loop on CPU; Adadelta has no fused kernel, so it uses torch's
    multi-tensor (foreach) path.
    """
    params = list(params)
    lr = cfg.lr if lr is None else lr
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, foreach=True)
    try:
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas), fused=True)
    except (RuntimeError, ValueError):  # a device without a fused kernel
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas), foreach=True)


def completion_loss(outputs: torch.Tensor, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Weighted MSE of the paper: mean over all pixels of (M * (C(x) - x))^2 (float32)."""
    return ((outputs.float() - images.float()) * masks).pow(2).mean()


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target)


def _cl(t: torch.Tensor, cfg: Config) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if cfg.channels_last else t


def completion_step(s, images, masks) -> dict:
    """Phase 1 (Tc): train the completion network alone with the MSE inside the hole.

    ``s`` is the loop's :class:`helpers.core.loop.State` (networks ``C`` and ``D``).
    """
    C = s.models["C"]
    with s.autocast():
        out = C(net_input(images, masks, C.mean_color))
    loss = completion_loss(out, images, masks)
    s.update("C", loss)
    return {"mse": loss.detach()}


def discriminator_loss(s, images, masks, boxes, real_boxes, out=None) -> torch.Tensor:
    """The discriminators' binary cross-entropy: completed images (``out`` pasted into the hole,
    local patches at ``boxes``) are fake, real images (patches at ``real_boxes``) are real."""
    C, D, cfg = s.models["C"], s.models["D"], s.cfg
    if out is None:
        with torch.no_grad(), s.autocast():
            out = C(net_input(images, masks, C.mean_color))
    fake = paste(images, out.detach().to(images.dtype), masks)
    L = cfg.local_size
    with s.autocast():
        d_fake = D(_cl(crop_boxes(fake, boxes, L), cfg), fake)
        d_real = D(_cl(crop_boxes(images, real_boxes, L), cfg), images)
    return (_bce(d_fake, False) + _bce(d_real, True)) / 2


def discriminator_step(s, images, masks, boxes, real_boxes) -> dict:
    """Phase 2 (Td): train the discriminators alone on completed (fake) vs real images."""
    lb = local_boxes(boxes, s.cfg.size, s.cfg.local_size)
    loss = discriminator_loss(s, images, masks, lb, real_boxes)
    s.update("D", loss)
    return {"d_loss": loss.detach()}


def joint_step(s, images, masks, boxes, real_boxes) -> dict:
    """Phase 3: one discriminator update, then the completion net on MSE + alpha * adversarial."""
    C, D, cfg = s.models["C"], s.models["D"], s.cfg
    lb = local_boxes(boxes, cfg.size, cfg.local_size)
    with s.autocast():
        out = C(net_input(images, masks, C.mean_color))
    d_loss = discriminator_loss(s, images, masks, lb, real_boxes, out=out)
    s.update("D", d_loss)
    D.requires_grad_(False)                       # only the input gradient is needed through D
    try:
        fake = paste(images, out.to(images.dtype), masks)
        with s.autocast():
            adv = _bce(D(_cl(crop_boxes(fake, lb, cfg.local_size), cfg), fake), True)
        mse = completion_loss(out, images, masks)
        s.update("C", mse + cfg.alpha * adv)
    finally:
        D.requires_grad_(True)
    return {"mse": mse.detach(), "adv": adv.detach(), "d_loss": d_loss.detach()}
