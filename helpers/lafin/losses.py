"""The landmark predictor's losses and training step: LaFIn's landmark loss and the landmark-and-label paper's three.

* :func:`landmark_loss` (LaFIn), :func:`mouth_corner_loss`, :func:`lip_distance_loss` and
  :func:`state_loss` (the paper's), summed with the variant's weights by :func:`predictor_loss`;
* the augmentation (LaFIn's flip, an affine jitter for real faces) and :func:`predictor_step`,
  which draws the holes from the true landmarks (or takes the detector-style crops of real photos
  that :func:`helpers.lafin.crops.detector_batch` cut).

Shapes as in :mod:`helpers.lafin.model`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from helpers.faces.landmarks import hflip, lip_vector, mouth_corner_vector
from helpers.lafin.model import PredictorConfig, damage, damage_masks, make_adam

__all__ = ["landmark_loss", "mouth_corner_loss", "lip_distance_loss", "state_loss", "predictor_loss", "flip_batch",
           "augment_batch", "predictor_step"]


# ------------------------------------------------------------------------------------------ losses
def landmark_loss(pred: torch.Tensor, true: torch.Tensor, kind: str = "l2", wing_w: float = 10.0,
                  wing_eps: float = 2.0) -> torch.Tensor:
    """The landmark loss, ``kind="l2"`` (LaFIn) or ``"wing"`` (Feng et al. 2018).

    ``"l2"``: the mean over faces of the Euclidean norm of the 136-d error,

    .. math:: L_{lm} = \\frac{1}{N} \\sum_n \\lVert \\hat L_n - L_n \\rVert_2 ,\\quad L_n \\in \\mathbb R^{136}

    (pixels; ``loss_landmark`` of YaN9-Y/lafin ``src/models.py``). One badly placed point (a jaw
    behind hair) dominates the norm, so the small errors of the other points get little gradient.

    ``"wing"``: per coordinate :math:`x` (pixels), :math:`w \\ln(1 + |x| / \\epsilon)` below :math:`w`
    and :math:`|x| - C` above (:math:`C` makes it continuous), summed over the 136 coordinates and
    averaged over faces. Its log part keeps a large gradient for errors of a pixel or two, the
    regime a fitted predictor lives in; large errors get L1's constant gradient. Not the seed's:
    a switch for the real-face predictor (notebook 03 §10 measures both).
    """
    d = pred.float() - true.float()
    if kind == "l2":
        return d.flatten(1).norm(dim=1).mean()
    if kind == "wing":
        a = d.abs()
        c = wing_w - wing_w * float(np.log1p(wing_w / wing_eps))
        return torch.where(a < wing_w, wing_w * torch.log1p(a / wing_eps), a - c).flatten(1).sum(1).mean()
    raise ValueError(f"landmark loss kind must be 'l2' or 'wing', got {kind!r}")


def _distance_loss(vec_pred: torch.Tensor, vec_true: torch.Tensor, reading: str) -> torch.Tensor:
    if reading == "vector":
        return (vec_pred - vec_true).abs().sum(-1).mean()
    if reading == "scalar":
        return (vec_pred.norm(dim=-1) - vec_true.norm(dim=-1)).abs().mean()
    raise ValueError(f"distance reading must be 'vector' or 'scalar', got {reading!r}")


def mouth_corner_loss(pred: torch.Tensor, true: torch.Tensor, reading: str = "vector") -> torch.Tensor:
    """The paper's Mouth Corner Distance loss (corners 48 and 54).

    ``reading="vector"`` (default): with :math:`D_{MC} = p_{54} - p_{48} \\in \\mathbb R^2`,

    .. math:: L_{MC} = \\frac{1}{N} \\sum_n \\sum_{i \\in \\{x, y\\}} \\big| \\hat D^{(i)}_{MC} - D^{(i)}_{MC} \\big|

    ``reading="scalar"``: :math:`\\frac{1}{N} \\sum_n \\big| \\lVert \\hat D_{MC} \\rVert - \\lVert D_{MC} \\rVert \\big|`.
    Pixels; a smile makes :math:`D_{MC}` longer.
    """
    return _distance_loss(mouth_corner_vector(pred.float()), mouth_corner_vector(true.float()), reading)


def lip_distance_loss(pred: torch.Tensor, true: torch.Tensor, reading: str = "vector",
                      lips: str = "inner") -> torch.Tensor:
    """The paper's Lip Distance loss: as :func:`mouth_corner_loss` with :math:`D_{Lip}` = lower minus upper lip.

    ``lips="inner"``: :math:`D_{Lip} = p_{66} - p_{62}` (the mouth opening); ``"outer"``: :math:`p_{57} - p_{51}`.

    .. math:: L_{Lip} = \\frac{1}{N} \\sum_n \\sum_{i \\in \\{x, y\\}} \\big| \\hat D^{(i)}_{Lip} - D^{(i)}_{Lip} \\big|
    """
    return _distance_loss(lip_vector(pred.float(), lips), lip_vector(true.float(), lips), reading)


def state_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The paper's State loss (after AC-GAN's auxiliary classifier): cross-entropy of the label head,

    .. math:: L_{state} = \\frac{1}{N} \\sum_n \\Big( -x_n^{(class_n)} + \\log \\sum_{j \\in \\{0, 1\\}} e^{x_n^{(j)}} \\Big)

    where :math:`x_n` is the predicted 2-d label vector and class 1 = Smiling, 0 = No_Smiling.
    """
    return F.cross_entropy(logits.float(), labels.long())


def predictor_loss(out: dict, landmarks: torch.Tensor, labels: torch.Tensor, cfg: PredictorConfig) -> tuple[torch.Tensor, dict]:
    """The variant's total loss :math:`w_{lm} L_{lm} + w_{MC} L_{MC} + w_{Lip} L_{Lip} + w_{st} L_{state}`.

    Returns (total, the parts as detached floats for the log). Terms not in ``cfg.variant`` are
    still logged (as measures) but carry no weight.
    """
    pred = out["landmarks"]
    parts = {"lm": landmark_loss(pred, landmarks, cfg.lm_loss),
             "corner": mouth_corner_loss(pred, landmarks, cfg.distance),
             "lip": lip_distance_loss(pred, landmarks, cfg.distance, cfg.lips)}
    if out.get("label_logits") is not None:
        parts["state"] = state_loss(out["label_logits"], labels)
    on = cfg.seed_losses
    total = cfg.w_landmark * parts["lm"]
    weights = {"corner": cfg.w_corner, "lip": cfg.w_lip, "state": cfg.w_state}
    for k in on:
        total = total + weights[k] * parts[k]
    return total, {f"loss_{k}": v.detach() for k, v in parts.items()}


def flip_batch(images: torch.Tensor, landmarks: torch.Tensor, which: torch.Tensor):
    """Mirror the faces where ``which`` (N,) is True: images left-right, landmarks x -> W-1-x, re-indexed."""
    if not bool(which.any()):
        return images, landmarks
    w = images.shape[-1]
    flipped_lm = hflip(landmarks, w)
    sel = which.to(images.device).view(-1, 1, 1, 1)
    images = torch.where(sel, images.flip(-1), images)
    landmarks = torch.where(which.to(landmarks.device).view(-1, 1, 1), flipped_lm, landmarks)
    return images, landmarks


def affine_jitter(images, landmarks, strength: float, g: torch.Generator):
    """Random rotation (+-15 deg x strength), scale (1 +- 0.1 x s) and shift (+-5 % x s), per face."""
    n, _, h, w = images.shape
    r = torch.rand(n, 4, generator=g) * 2 - 1
    ang = r[:, 0] * 15.0 * strength * np.pi / 180
    sc = 1 + 0.1 * strength * r[:, 1]
    sh = 0.05 * strength * r[:, 2:] * 2                                 # in normalised [-1, 1] units
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, sh[:, 0]], 1), torch.stack([sin, cos, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # output pixel u maps to input theta @ u (normalised); landmarks move by the inverse map
    norm = (landmarks + 0.5) / torch.tensor([w, h], dtype=landmarks.dtype) * 2 - 1
    A, t = theta[:, :, :2], theta[:, :, 2]
    inv = torch.linalg.inv(A)
    q = torch.einsum("nij,nkj->nki", inv, norm - t[:, None, :])
    return out, (q + 1) / 2 * torch.tensor([w, h], dtype=landmarks.dtype) - 0.5


# --------------------------------------------------------------------------------- training step
def augment_batch(cfg: PredictorConfig, images: torch.Tensor, landmarks: torch.Tensor, g: torch.Generator):
    """The training augmentation of both networks: LaFIn's flip (and, for real faces, an affine jitter)."""
    if cfg.flip:
        images, landmarks = flip_batch(images, landmarks, torch.rand(len(images), generator=g) < 0.5)
    if cfg.affine > 0:
        images, landmarks = affine_jitter(images, landmarks, cfg.affine, g)
    return images, landmarks


def predictor_step(s, batch: dict) -> dict:
    """One predictor update: augment, damage from the true landmarks, forward, the variant's loss.

    ``s`` is the loop's :class:`helpers.core.loop.State` (model ``P``, optimiser ``P``, stream
    ``damage``); ``batch`` has ``image`` (unmasked faces), ``landmarks`` and ``smiling``, or (real
    photos, ``crops="detector"``) crops already cut with their ``masks`` (:func:`helpers.lafin.crops.detector_batch`).
    """
    cfg, g, P = s.cfg, s.generators["damage"], s.models["P"]
    if "masks" in batch:                   # already cut, augmented and damaged (helpers.lafin.crops.detector_batch)
        images, lm, masks = batch["image"].float(), batch["landmarks"].float(), batch["masks"].float()
    else:
        images, lm = augment_batch(cfg, batch["image"].float().cpu(), batch["landmarks"].float().cpu(), g)
        masks = damage_masks(lm, cfg.size, cfg.damage, g, cfg.margin_jitter)
    images, lm, masks = images.to(s.device), lm.to(s.device), masks.to(s.device)
    labels = batch["smiling"].long().clamp(min=0).to(s.device)
    target = lm.clamp(0, cfg.size - 1)                                 # LaFIn clamps its targets
    with s.autocast():
        out = P(damage(images, masks), labels if P.label_input else None)
    loss, parts = predictor_loss(out, target, labels, cfg)
    if cfg.lr_schedule == "cosine":
        frac = min(s.step / max(cfg.steps, 1), 1.0)
        for group in s.optimizers["P"].param_groups:
            group["lr"] = float(cfg.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * frac))))   # a float: checkpoints load weights-only
    s.update("P", loss)
    return {"loss": loss.detach(), **parts}
