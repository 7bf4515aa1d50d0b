"""GLCIC — Globally and Locally Consistent Image Completion (Iizuka, Simo-Serra, Ishikawa 2017).

The GLCIC course study asks: does a completion network trained with holes *only at the mouth* fill masked mouths
better than one trained with *random* holes? This file holds the method: its config, the networks,
the hole samplers and inference (``complete``, with the paper's post-processing). The losses and
one step per training phase are in ``losses.py``, the training and test data in ``data.py``,
training through the shared loop and releases in ``train.py``, the study's measures in
``evaluate.py``, the notebook's figures in ``figures.py``, the diagnoses in ``diagnose.py``, the
speed benchmark in ``bench.py``, the blind survey in ``survey.py``. Shown in notebook 02.

Images are float tensors in [-1, 1], NCHW, RGB; masks are float (N,1,H,W), 1 = hole.

Choices (documented where the paper or the seed leaves room)
-----------------------------------------------------------
* Layer order conv -> BN -> ReLU (the paper's order; the otenim reference applies BN after ReLU).
* Output tanh because images live in [-1, 1] here (the paper: sigmoid on [0, 1]).
* Completion loss = mean squared error over all pixels of the masked difference
  ``mean((M*(C(x)-x))^2)`` — the paper's ``||M (.) (C(x,M)-x)||^2`` up to a constant; the same
  normalisation as otenim's code, for which alpha = 0.0004 is tuned.
* The discriminators see the *completed* image (known pixels from the input), so they cannot
  detect fakes from pixels outside the hole. The discriminator loss is not scaled by alpha (a
  constant factor does not move its optimum; alpha weighs the completion net's adversarial term).
* Local patch: paper 128 px at 256 (= size/2), centred on the hole and clamped inside the image.
  Where the *real* patches come from is a switch, ``real_patches``: ``"random"`` (uniformly random
  positions of real images, otenim's reading of the paper; the ``full`` profile) or ``"matched"``
  (the same hole-centred place of the real image; the demo profile). With the GLCIC course study's fixed mouth
  hole, random real patches are a defect: the fake patch is always the mouth, a real one almost
  never, so the local discriminator learns "a mouth = fake" and its gradient paints skin over the
  mouth (notebook 02 §5 measures it, :mod:`helpers.glcic.diagnose`). The study's mouth hole
  (144x96 at 256) is wider than the 128 px local patch; the patch then covers its centre.
* Up-sampling, a switch ``upsample``: ``"deconv"`` (the paper's two 4x4 stride-2 transposed
  convolutions; the ``full`` profile) or ``"resize"`` (nearest-neighbour x2 then a 3x3 convolution,
  Odena et al. 2016; quick and demo). A transposed convolution writes each output pixel from a
  different subset of its kernel taps depending on the pixel's parity, so unless training makes
  the four sub-kernels agree, every 2x2 block carries the same small pattern: a checkerboard.
  Resize + convolution gives every output pixel the same taps (notebook 02
  measures both on the same holes, :func:`helpers.glcic.diagnose.upsampling`).
* Post-processing (:func:`complete`, ``blend=``): the paper's fast marching then Poisson blending
  (``"fmm+poisson"``), Poisson blending alone (``"poisson"``) or the plain paste (``"paste"``).
* ``lr_d`` (None = ``lr``) sets the discriminator's learning rate apart from the completion net's.
* Discriminator depth follows the paper at 256 (global 6, local 5 conv layers of 5x5 stride 2,
  i.e. down to 4x4): for other sizes, ``round(log2(size/4))`` layers.
* Phase lengths: the full profile uses the paper's Tc=90,000 and Td=10,000 and the study's total of
  480,000 iterations (the seed trained 6 Colab sessions x 80,000), batch 96 as the paper.
  (otenim's code defaults to Tc=90,000, Td=10,000 and 400,000 joint steps = the paper's 500,000.)

Speed (measured table in :mod:`helpers.glcic.bench`): channels_last + oneDNN, fused/multi-tensor
optimisers, no discriminator weight gradients during the completion update;
``precision="auto"`` (the demo profile) runs bf16 autocast where the CPU has bf16 units: 2.0x the
fp32 steps/s on an AVX512-BF16 Zen 4, 2.9-3.7x with AMX (elsewhere bf16 is emulated and slow, so
"auto" stays in fp32). ``torch.compile`` was measured slower on the Zen 4 (0.88x) and is not used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np
import torch
import torch.nn as nn

from helpers.core.config import Config as BaseConfig
from helpers.core.images import check_images, poisson_blend as blend_u8, to_tensor, to_uint8
from helpers.faces import masks as face_masks

__all__ = ["Config", "HOLES", "PHASES", "UPSAMPLES", "BLENDS", "CompletionNet", "ContextDiscriminator", "build_models",
           "phase_at", "sample_boxes", "boxes_to_masks", "local_boxes",
           "random_local_boxes", "crop_boxes", "masks_to_boxes", "check_inputs", "net_input", "paste",
           "blend_dilate", "poisson_blend", "complete"]

PHASES = ("completion", "discriminator", "joint")
HOLES = ("random", "mouth")
OPTIMIZERS = ("adadelta", "adam")
UPSAMPLES = ("deconv", "resize")
BLENDS = ("paste", "poisson", "fmm+poisson")
REAL_PATCHES = ("random", "matched")


# ---------------------------------------------------------------------------------------- config
@dataclass
class Config(BaseConfig):
    """Every knob of a GLCIC run. Defaults = the quick profile (32 px, width 1/8, 40 steps)."""

    size: int = 32                    # image side (px)
    local_size: int = 16              # local discriminator patch side (paper: 128 at 256 -> size/2)
    width: float = 0.125              # channel multiplier of all three networks (1.0 = paper)
    batch: int = 4
    holes: str = "random"             # "random" | "mouth" (the GLCIC course study samplers)
    steps: int = 40                   # total iterations (joint phase = steps - Tc - Td)
    steps_c: int = 20                 # Tc: completion network alone, MSE in the hole
    steps_d: int = 5                  # Td: discriminator alone
    alpha: float = 4e-4               # weight of the adversarial term in the joint phase
    real_patches: str = "random"      # local patches of real images: "random" (paper) | "matched" (hole's place)
    upsample: str = "resize"          # "deconv" (paper: 4x4 stride-2 transposed conv) | "resize" (nearest x2 + 3x3)
    optimizer: str = "adadelta"       # "adadelta" (paper) | "adam"
    lr: float = 1.0                   # adadelta: 1.0 (torch default, as the paper's Adadelta)
    lr_d: Optional[float] = None      # discriminator learning rate (None = lr)
    betas: tuple = (0.5, 0.999)       # adam only
    data_split: Optional[str] = "train"  # split of a face folder (None = all rows)
    n_train: int = 512                # SynthFaces images rendered once and held in memory
    data_seed: int = 0
    mean_color: Optional[tuple] = None  # hole fill in [-1,1]; None = mean of the training data
    channels_last: bool = True        # faster convolutions with oneDNN (CPU) and cuDNN
    log_every: int = 5
    sample_every: int = 20            # sample grid PNG in run_dir/samples every N steps (0 = off)
    save_every: int = 20
    eval_n: int = 32                  # test images per hole type for the curve (eval_every)
    poisson_samples: bool = False     # post-process the sample grids as the paper does (fast marching + Poisson)

    RUN_ONLY: ClassVar = BaseConfig.RUN_ONLY + ("eval_n", "poisson_samples")
    CHOICES: ClassVar = {**BaseConfig.CHOICES, "holes": HOLES, "optimizer": OPTIMIZERS,
                        "real_patches": REAL_PATCHES, "upsample": UPSAMPLES}
    POSITIVE: ClassVar = BaseConfig.POSITIVE + ("local_size", "width", "n_train", "lr", "eval_n")
    PROFILES: ClassVar = {
        # Laptop CPU: 64 px SynthFaces, width 1/2, batch 16, 6,000 steps (~20 min on 1 thread with bf16
        # autocast where the CPU has bf16 units). The MSE phase is longer than the paper's ratio (58% vs
        # 18%): a short run is judged on it. Real patches at the hole's place and a discriminator
        # learning rate of lr/10: the two fixes of notebook 02 §5 (helpers.glcic.diagnose); resize +
        # convolution instead of transposed convolutions (no checkerboard).
        "demo": dict(size=64, local_size=32, width=0.5, batch=16, steps=6000, steps_c=3500, steps_d=500,
                     optimizer="adam", lr=1e-3, lr_d=1e-4, betas=(0.9, 0.999), real_patches="matched",
                     n_train=4000, precision="auto", log_every=10, sample_every=500, eval_every=500,
                     save_every=250, save_minutes=5.0),
        # The paper at 256 px (local patch 128, batch 96, Adadelta), the study's 480,000 iterations.
        "full": dict(size=256, local_size=128, width=1.0, batch=96, steps=480_000, steps_c=90_000,
                     steps_d=10_000, optimizer="adadelta", lr=1.0, n_train=20_000, precision="auto", upsample="deconv",
                     workers=4, log_every=50, sample_every=2000, eval_every=10_000, save_every=2000,
                     save_minutes=20.0),
    }

    def check(self) -> None:
        if self.local_size > self.size or self.size < 16 or self.local_size < 8:
            raise ValueError(f"need 16 <= size and 8 <= local_size <= size, got {self.size}, {self.local_size}")
        if self.size % 4:
            raise ValueError(f"size must be a multiple of 4 (two stride-2 levels), got {self.size}")
        if not (0 <= self.steps_c and 0 <= self.steps_d and self.steps_c + self.steps_d <= self.steps):
            raise ValueError(f"need 0 <= steps_c, steps_d and steps_c + steps_d <= steps, got "
                             f"{self.steps_c}, {self.steps_d}, {self.steps}")
        if self.lr_d is not None and not self.lr_d > 0:
            raise ValueError(f"lr_d must be None (= lr) or positive, got {self.lr_d}")
        if self.mean_color is not None and len(self.mean_color) != 3:
            raise ValueError(f"mean_color must be None or 3 values in [-1, 1], got {self.mean_color}")


def phase_at(step: int, cfg: Config) -> str:
    """Training phase of 0-based ``step``: [0,Tc) completion, [Tc,Tc+Td) discriminator, then joint."""
    if step < cfg.steps_c:
        return "completion"
    if step < cfg.steps_c + cfg.steps_d:
        return "discriminator"
    return "joint"


# -------------------------------------------------------------------------------------- networks
def _ch(c: int, width: float) -> int:
    return max(4, int(round(c * width)))


def _cbr(cin, cout, k, stride=1, dilation=1, transposed=False) -> list[nn.Module]:
    """conv (no bias: BN follows) -> BatchNorm -> ReLU."""
    if transposed:
        conv = nn.ConvTranspose2d(cin, cout, k, stride, padding=1, bias=False)
    else:
        conv = nn.Conv2d(cin, cout, k, stride, padding=dilation * (k - 1) // 2, dilation=dilation, bias=False)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _up(cin, cout, upsample: str) -> list[nn.Module]:
    """x2 up-sampling block: the paper's 4x4 stride-2 transposed conv, or nearest resize + 3x3 conv."""
    if upsample == "deconv":
        return _cbr(cin, cout, 4, stride=2, transposed=True)
    if upsample == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest")] + _cbr(cin, cout, 3)
    raise ValueError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")


class CompletionNet(nn.Module):
    """The paper's completion network (Table 1 of Iizuka et al. 2017), width-scalable.

    Input (N,4,H,W): image with the hole filled by ``mean_color``, plus the mask channel.
    Output (N,3,H,W) in [-1,1] (tanh). Use :func:`complete` to paste it into the hole.
    """

    def __init__(self, width: float = 1.0, upsample: str = "deconv"):
        super().__init__()
        self.width, self.upsample = float(width), upsample
        c64, c128, c256, c32 = (_ch(c, width) for c in (64, 128, 256, 32))
        layers = []
        layers += _cbr(4, c64, 5)                                  # 5x5 64
        layers += _cbr(c64, c128, 3, stride=2)                     # 3x3 128 /2
        layers += _cbr(c128, c128, 3)
        layers += _cbr(c128, c256, 3, stride=2)                    # 3x3 256 /4
        layers += _cbr(c256, c256, 3) + _cbr(c256, c256, 3)
        for d in (2, 4, 8, 16):                                    # dilated 3x3 256
            layers += _cbr(c256, c256, 3, dilation=d)
        layers += _cbr(c256, c256, 3) + _cbr(c256, c256, 3)
        layers += _up(c256, c128, upsample)                        # deconv 4x4 128 x2
        layers += _cbr(c128, c128, 3)
        layers += _up(c128, c64, upsample)                         # deconv 4x4 64 x2
        layers += _cbr(c64, c32, 3)
        layers += [nn.Conv2d(c32, 3, 3, padding=1), nn.Tanh()]    # 3x3 3 + output activation
        self.body = nn.Sequential(*layers)
        self.register_buffer("mean_color", torch.zeros(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _disc_trunk(size: int, width: float) -> tuple[nn.Sequential, int]:
    """5x5 stride-2 conv-BN-ReLU layers down to ~4x4, then FC-1024 + ReLU. Returns (net, n_layers)."""
    n = max(1, int(round(math.log2(size / 4))))
    chans = [64, 128, 256, 512, 512, 512, 512, 512][:n]
    layers, cin, s = [], 3, size
    for c in chans:
        c = _ch(c, width)
        layers += [nn.Conv2d(cin, c, 5, 2, 2, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        cin, s = c, (s + 1) // 2
    layers += [nn.Flatten(), nn.Linear(cin * s * s, 1024), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers), n


class ContextDiscriminator(nn.Module):
    """Global branch (whole image) + local branch (patch around the hole) -> one real/fake logit."""

    def __init__(self, size: int, local_size: int, width: float = 1.0):
        super().__init__()
        self.size, self.local_size = int(size), int(local_size)
        self.global_d, _ = _disc_trunk(size, width)
        self.local_d, _ = _disc_trunk(local_size, width)
        self.fc = nn.Linear(2048, 1)

    def forward(self, local: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
        if whole.shape[-1] != self.size or local.shape[-1] != self.local_size:
            raise ValueError(f"discriminator expects global {self.size}px and local {self.local_size}px "
                             f"inputs, got {tuple(whole.shape)} and {tuple(local.shape)}")
        f = torch.cat([self.local_d(local), self.global_d(whole)], dim=1)
        return self.fc(f).squeeze(1)


def build_models(cfg: Config) -> tuple[CompletionNet, ContextDiscriminator]:
    """Fresh (completion net, context discriminator) for ``cfg`` (seeded by the caller)."""
    return CompletionNet(cfg.width, cfg.upsample), ContextDiscriminator(cfg.size, cfg.local_size, cfg.width)


# ----------------------------------------------------------------------------------------- holes
def sample_boxes(n: int, size: int, holes: str = "random", generator: torch.Generator | None = None) -> torch.Tensor:
    """(n,4) long tensor of hole boxes x,y,w,h for ``size`` px images, by the GLCIC course study's rules.

    random: top-left in (5..145, 5..145), w and h in 48..96 at 256 px (bounds scaled by size/256,
    :func:`helpers.faces.masks.random_boxes`); mouth: (56,128,144,96) at 256, scaled
    (:func:`helpers.faces.masks.mouth_box`). Draws only from ``generator`` (saved with the run).
    """
    if holes not in HOLES:
        raise ValueError(f"holes must be one of {HOLES}, got {holes!r}")
    if holes == "mouth":
        return torch.tensor(face_masks.mouth_box(size), dtype=torch.long).expand(n, 4).clone()
    return face_masks.random_boxes(n, size, generator)


def boxes_to_masks(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """(n,4) boxes x,y,w,h -> float masks (n,1,size,size), 1 inside the box (helpers.faces.masks)."""
    return face_masks.boxes_to_masks(boxes, size)


def local_boxes(boxes: torch.Tensor, size: int, local_size: int) -> torch.Tensor:
    """Square patches of ``local_size`` centred on each hole box, clamped inside the image -> (n,4)."""
    if local_size > size:
        raise ValueError(f"image ({size}px) is smaller than the local patch ({local_size}px)")
    cx = boxes[:, 0] + boxes[:, 2] // 2
    cy = boxes[:, 1] + boxes[:, 3] // 2
    x0 = (cx - local_size // 2).clamp(0, size - local_size)
    y0 = (cy - local_size // 2).clamp(0, size - local_size)
    L = torch.full_like(x0, local_size)
    return torch.stack([x0, y0, L, L], dim=1)


def random_local_boxes(n: int, size: int, local_size: int, generator=None) -> torch.Tensor:
    """Uniformly placed local patches (for real images)."""
    xy = torch.randint(0, size - local_size + 1, (n, 2), generator=generator)
    return torch.cat([xy, torch.full((n, 2), local_size, dtype=torch.long)], dim=1)


def crop_boxes(images: torch.Tensor, boxes: torch.Tensor, local_size: int) -> torch.Tensor:
    """Crop a (local_size x local_size) patch per image at boxes[:, :2] (differentiable)."""
    b = boxes.tolist()
    return torch.stack([images[i, :, y:y + local_size, x:x + local_size] for i, (x, y, _, _) in enumerate(b)])


def masks_to_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Bounding boxes x,y,w,h of the holes in (n,1,H,W) masks (whole image if a mask is empty)."""
    n, _, H, W = masks.shape
    out = torch.zeros(n, 4, dtype=torch.long)
    for i in range(n):
        ys, xs = torch.nonzero(masks[i, 0] > 0.5, as_tuple=True)
        if len(xs) == 0:
            out[i] = torch.tensor([0, 0, W, H])
        else:
            x0, y0 = int(xs.min()), int(ys.min())
            out[i] = torch.tensor([x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1])
    return out


# -------------------------------------------------------------------------------- checks, inference
def check_inputs(images: torch.Tensor, masks: torch.Tensor | None = None, size: int | None = None,
                 local_size: int | None = None) -> None:
    """Raise ValueError unless images are (N,3,H,W) float in [-1,1] and masks (N,1,H,W) of 0/1."""
    check_images(images, size=size)
    H, W = images.shape[-2:]
    if H % 4 or W % 4:
        raise ValueError(f"image height and width must be multiples of 4, got {H}x{W}")
    if local_size is not None and (H < local_size or W < local_size):
        raise ValueError(f"image {H}x{W} is smaller than the local patch {local_size}x{local_size}")
    if masks is not None:
        if not torch.is_tensor(masks) or masks.ndim != 4 or masks.shape[1] != 1:
            raise ValueError(f"masks must be a tensor (N,1,H,W) with 1 = hole, got "
                             f"{tuple(masks.shape) if torch.is_tensor(masks) else type(masks).__name__}")
        if masks.shape[0] != images.shape[0] or masks.shape[-2:] != images.shape[-2:]:
            raise ValueError(f"masks {tuple(masks.shape)} do not match images {tuple(images.shape)}")
        if not torch.all((masks == 0) | (masks == 1)):
            raise ValueError("masks must contain only 0 (known) and 1 (hole)")


def net_input(images: torch.Tensor, masks: torch.Tensor, mean_color: torch.Tensor) -> torch.Tensor:
    """Completion-net input: hole filled with ``mean_color`` (3,), mask appended -> (N,4,H,W)."""
    fill = mean_color.to(images.dtype).view(1, 3, 1, 1)
    return torch.cat([images * (1 - masks) + fill * masks, masks], dim=1)


def paste(images: torch.Tensor, outputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Completed image: known pixels from ``images``, network ``outputs`` inside the hole (exact)."""
    return torch.where(masks.bool(), outputs, images)


def blend_dilate(size: int) -> int:
    """Pixels by which the Poisson region reaches past the hole: 3 at 64 px, scaled with the image.

    OpenCV fixes the solution to the destination's colours on the region's edge; right on the hole
    border those are the fast-marching guesses, a few pixels out they are real pixels. Chosen on
    other faces than the test sets' (SynthFaces seed 31337, both v2 demo models, both hole kinds):
    mouth-hole PSNR 20.9 / 22.0 / 22.7 / 22.4 / 21.3 dB for 1-5 px at 64 px (paste: 22.4); the
    border's excess gradient -3.0 / -2.3 / -1.1 / +0.1 / +1.0 grey levels (too smooth, then a rim).
    """
    return max(1, round(3 * size / 64))


def poisson_blend(images: torch.Tensor, outputs: torch.Tensor, masks: torch.Tensor, fmm: bool = True,
                  dilate: int | None = None) -> torch.Tensor:
    """The paper's post-processing: Poisson-blend the hole content of ``outputs`` into ``images``.

    ``fmm=True`` fills each hole by fast marching first (the paper's order), ``False`` blends into the
    image as given. One function with notebook 04 (:func:`helpers.core.images.poisson_blend`); the
    region is the hole dilated by ``dilate`` px (None: :func:`blend_dilate`). Known pixels outside
    the hole stay exactly the input's.
    """
    dst, src = to_uint8(images), to_uint8(outputs)
    ms = (masks[:, 0].detach().cpu().numpy() > 0.5).astype(np.uint8)
    d_px = blend_dilate(images.shape[-1]) if dilate is None else dilate
    out = torch.stack([to_tensor(blend_u8(d, s, m, dilate=d_px, fill="telea" if fmm else "photo"))
                       for d, s, m in zip(dst, src, ms)])
    return paste(images, out.to(images.device, images.dtype), masks.to(images.dtype))


@torch.no_grad()
def complete(model: CompletionNet, images: torch.Tensor, masks: torch.Tensor, blend: str = "paste",
             batch: int = 32) -> torch.Tensor:
    """Fill the holes of ``images`` (N,3,H,W in [-1,1]) where ``masks`` (N,1,H,W) is 1.

    Returns the completed images on the input's device: exactly the input outside the hole, the
    network output inside — pasted (``blend="paste"``), Poisson-blended (``"poisson"``) or, as the
    paper post-processes, fast marching then Poisson blending (``"fmm+poisson"``). Eval mode.
    """
    check_inputs(images, masks)
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}")
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    outs = []
    for i in range(0, len(images), batch):
        x, m = images[i:i + batch].to(dev).float(), masks[i:i + batch].to(dev).float()
        outs.append(model(net_input(x, m, model.mean_color)).float().to(images.device))
    model.train(was_training)
    out = torch.cat(outs) if outs else images.clone()
    if blend == "paste":
        return paste(images, out, masks.to(images.dtype))
    return poisson_blend(images, out, masks, fmm=blend == "fmm+poisson")
