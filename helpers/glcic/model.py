"""GLCIC — Globally and Locally Consistent Image Completion (Iizuka, Simo-Serra, Ishikawa 2017).

Seed 002 asks: does a completion network trained with holes *only at the mouth* fill masked mouths
better than one trained with *random* holes? This module holds the method; training, releases and
the speed benchmark live in :mod:`helpers.glcic_train` (re-exported here).

Public API (images are float tensors in [-1, 1], NCHW, RGB; masks are float (N,1,H,W), 1 = hole)
----------------------------------------------------------------------------------------------
Config                      dataclass of every knob; ``Config.quick()``, ``.demo()``, ``.full()``,
                            ``for_profile(name=None, **overrides)`` (name None -> runtime.profile()).
CompletionNet(width=1.0)    encoder - dilated convs (2,4,8,16) - decoder; input 4 channels (image with
                            the hole filled with ``mean_color`` + mask), tanh output. Buffer
                            ``mean_color`` (3,) in [-1,1] travels with the weights.
ContextDiscriminator(size, local_size, width)  global (whole image) + local (patch around the hole)
                            branches, each ending in FC-1024, concatenated -> FC -> 1 logit.
build_models(cfg) -> (completion, discriminator)
sample_boxes(n, size, holes="random"|"mouth", generator=None) -> LongTensor (n,4) x,y,w,h
boxes_to_masks(boxes, size) -> (n,1,size,size) float
local_boxes(boxes, size, local_size) -> (n,4) patches of local_size centred on each hole, clamped
crop_boxes(images, boxes, local_size) -> (n,C,L,L)
complete(model, images, masks, poisson=False) -> completed images: input outside the hole, network
                            output inside (optionally Poisson-blended with OpenCV seamlessClone).
poisson_blend(images, outputs, masks) -> Poisson-blended completion (uint8 round trip).
phase_at(step, cfg) -> "completion" | "discriminator" | "joint"     (Tc, Td, then joint)
hole_metrics(pred, target, masks) -> {"psnr": dB, "l1": mean abs in [0,1] units}, inside the hole.
mouth_test_set(cfg, n=64) -> (images, masks): fixed SynthFaces test images (seed 20_020, persons
                            100_000.. never seen in training, = glcic_eval.make_testset) with the mouth
                            hole; what the release manifests' metrics use.
train(cfg, run_dir, budget_minutes=None, max_steps=None, progress=True) -> history DataFrame
                            resumable (exact step, phase, optimisers, RNG and data order).
load_release(name) -> CompletionNet                 demo checkpoints in checkpoints/ (see README there)
bench(...)                  steps/s, FLOPs/step and fraction of the measured fp32 matmul rate.
Command line: ``python -m helpers.glcic train --profile demo --holes mouth --release glcic_mouth64``
              ``python -m helpers.glcic bench``

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
* Local patch: paper 128 px at 256 (= size/2), centred on the hole and clamped inside the image;
  real patches are taken at uniformly random positions of real images. The seed's mouth hole
  (144x96 at 256) is wider than the 128 px local patch; the patch then covers its centre.
* Discriminator depth follows the paper at 256 (global 6, local 5 conv layers of 5x5 stride 2,
  i.e. down to 4x4): for other sizes, ``round(log2(size/4))`` layers.
* Phase lengths: the full profile uses the paper's Tc=90,000 and Td=10,000 and the seed's total of
  480,000 iterations (the seed trained 6 Colab sessions x 80,000), batch 96 as the paper.
  (otenim's code defaults to Tc=90,000, Td=10,000 and 400,000 joint steps = the paper's 500,000.)
* Data order: each batch is drawn with replacement from a saved ``torch.Generator`` (no epoch
  iterator), so a resumed run continues the exact same sequence.

Speed (details and the measured table in :mod:`helpers.glcic_bench`): channels_last + oneDNN,
fused/multi-tensor optimisers, no discriminator weight gradients during the completion update;
on CPUs with AMX, ``Config.cpu_bf16=True`` (the demo profile) runs bf16 autocast, ~2.5-3x faster.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PHASES = ("completion", "discriminator", "joint")
HOLES = ("random", "mouth")
OPTIMIZERS = ("adadelta", "adam")



# ---------------------------------------------------------------------------------------- config
@dataclass
class Config:
    """Every knob of a GLCIC run. Build with ``for_profile`` or ``Config.quick/demo/full()``."""

    profile: str = "quick"
    size: int = 32                    # image side (px)
    local_size: int = 16              # local discriminator patch side (paper: 128 at 256 -> size/2)
    width: float = 0.125              # channel multiplier of all three networks (1.0 = paper)
    batch: int = 4
    holes: str = "random"             # "random" | "mouth" (seed 002 samplers)
    steps_c: int = 20                 # Tc: completion network alone, MSE in the hole
    steps_d: int = 5                  # Td: discriminator alone
    steps_total: int = 40             # total iterations (joint phase = total - Tc - Td)
    alpha: float = 4e-4               # weight of the adversarial term in the joint phase
    optimizer: str = "adadelta"       # "adadelta" (paper) | "adam"
    lr: float = 1.0                   # adadelta: 1.0 (torch default, as the paper's Adadelta)
    betas: tuple = (0.5, 0.999)       # adam only
    data: str = "synthfaces"          # "synthfaces" or a folder in the on-disk face format
    data_split: Optional[str] = "train"  # FaceFolder split (None = all rows)
    n_train: int = 512                # SynthFaces images rendered once and cached in memory
    data_seed: int = 0
    seed: int = 0
    mean_color: Optional[tuple] = None  # hole fill in [-1,1]; None = mean of the training data
    amp: bool = True                  # autocast fp16 + GradScaler when CUDA is used
    cpu_bf16: bool = False            # autocast bf16 on CPU (3-4x faster where AMX/AVX512-BF16 exist)
    channels_last: bool = True        # faster convolutions with oneDNN (CPU) and cuDNN
    device: Optional[str] = None      # None = helpers.runtime.device() (CUDA if present)
    threads: Optional[int] = None     # torch CPU threads (None = leave as is)
    log_every: int = 5
    sample_every: int = 20            # sample grid PNG in run_dir/samples every N steps (0 = off)
    eval_every: int = 0               # the seed's curve: measures on fixed test sets every N steps (0 = off)
    eval_n: int = 32                  # test images per hole type for that curve
    save_every_steps: Optional[int] = 20
    save_every_minutes: Optional[float] = 10.0
    poisson_samples: bool = False     # Poisson-blend the sample grids

    # --- profiles --------------------------------------------------------------------------
    @classmethod
    def quick(cls, **kw) -> "Config":
        """CI: 32 px, width 1/8, tens of steps — proves the code path in seconds."""
        return replace(cls(), **kw)

    @classmethod
    def demo(cls, **kw) -> "Config":
        """Laptop CPU: 64 px SynthFaces, width 1/2, batch 16, 3,000 steps, bf16 autocast on CPU.

        About 6-10 minutes per model on a 2-core AVX-512/AMX CPU (bf16 is ~2.5x faster than fp32
        there); set ``cpu_bf16=False`` on CPUs without bf16 units (then ~2.5x slower). The MSE
        phase is longer than the paper's ratio (75% vs 18%) because a short run is judged on it.
        """
        base = cls(profile="demo", size=64, local_size=32, width=0.5, batch=16,
                   steps_c=2250, steps_d=250, steps_total=3000, optimizer="adam", lr=1e-3,
                   betas=(0.9, 0.999), n_train=4000, cpu_bf16=True, log_every=10, sample_every=250,
                   eval_every=500, save_every_steps=250, save_every_minutes=5.0)
        return replace(base, **kw)

    @classmethod
    def full(cls, **kw) -> "Config":
        """The paper at 256 px (local patch 128, batch 96, Adadelta), seed's 480,000 iterations."""
        base = cls(profile="full", size=256, local_size=128, width=1.0, batch=96,
                   steps_c=90_000, steps_d=10_000, steps_total=480_000, optimizer="adadelta",
                   lr=1.0, n_train=20_000, log_every=50, sample_every=2000, eval_every=10_000,
                   save_every_steps=2000, save_every_minutes=20.0)
        return replace(base, **kw)

    def validate(self) -> "Config":
        """Raise ValueError on inconsistent settings; return self."""
        if self.holes not in HOLES:
            raise ValueError(f"holes must be one of {HOLES}, got {self.holes!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.size < 16 or self.local_size < 8 or self.local_size > self.size:
            raise ValueError(f"need 16 <= size and 8 <= local_size <= size, got {self.size}, {self.local_size}")
        if self.size % 4:
            raise ValueError(f"size must be a multiple of 4 (two stride-2 levels), got {self.size}")
        if not (0 <= self.steps_c and 0 <= self.steps_d and self.steps_c + self.steps_d <= self.steps_total):
            raise ValueError(f"need 0 <= Tc, Td and Tc+Td <= total, got {self.steps_c}, {self.steps_d}, {self.steps_total}")
        if self.width <= 0 or self.batch < 1:
            raise ValueError(f"width must be > 0 and batch >= 1, got {self.width}, {self.batch}")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        d["mean_color"] = None if self.mean_color is None else [float(v) for v in self.mean_color]
        return d


def for_profile(name: str | None = None, **overrides) -> Config:
    """Config for profile ``name`` ("quick" | "demo" | "full"; None = helpers.runtime.profile())."""
    from helpers import runtime

    name = runtime.profile(name)
    return getattr(Config, name)(**overrides).validate()


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


class CompletionNet(nn.Module):
    """The paper's completion network (Table 1 of Iizuka et al. 2017), width-scalable.

    Input (N,4,H,W): image with the hole filled by ``mean_color``, plus the mask channel.
    Output (N,3,H,W) in [-1,1] (tanh). Use :func:`complete` to paste it into the hole.
    """

    def __init__(self, width: float = 1.0):
        super().__init__()
        self.width = float(width)
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
        layers += _cbr(c256, c128, 4, stride=2, transposed=True)   # deconv 4x4 128 x2
        layers += _cbr(c128, c128, 3)
        layers += _cbr(c128, c64, 4, stride=2, transposed=True)    # deconv 4x4 64 x2
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
    cfg.validate()
    return CompletionNet(cfg.width), ContextDiscriminator(cfg.size, cfg.local_size, cfg.width)


# ----------------------------------------------------------------------------------------- holes
def sample_boxes(n: int, size: int, holes: str = "random", generator: torch.Generator | None = None) -> torch.Tensor:
    """(n,4) long tensor of hole boxes x,y,w,h for ``size`` px images, by seed 002's rules.

    random: top-left in (5..145, 5..145), w and h in 48..96 at 256 px (bounds scaled by size/256,
    :func:`helpers.masks.random_boxes`); mouth: (56,128,144,96) at 256, scaled
    (:func:`helpers.masks.mouth_box`). Draws only from ``generator`` (saved with the run).
    """
    from helpers import masks as M

    if holes not in HOLES:
        raise ValueError(f"holes must be one of {HOLES}, got {holes!r}")
    if holes == "mouth":
        M._hw(size)
        return torch.tensor(M.mouth_box(size), dtype=torch.long).expand(n, 4).clone()
    return M.random_boxes(n, size, generator)


def boxes_to_masks(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """(n,4) boxes x,y,w,h -> float masks (n,1,size,size), 1 inside the box (helpers.masks)."""
    from helpers import masks as M

    return M.boxes_to_masks(boxes, size)


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
    if not torch.is_tensor(images) or images.ndim != 4:
        raise ValueError(f"images must be a float tensor (N,3,H,W) in [-1,1], got "
                         f"{tuple(images.shape) if torch.is_tensor(images) else type(images).__name__}")
    if images.shape[1] != 3:
        raise ValueError(f"images must have 3 (RGB) channels, got {images.shape[1]} in shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be float in [-1,1], got dtype {images.dtype}")
    if images.numel() and (images.min() < -1.0001 or images.max() > 1.0001):
        raise ValueError(f"images must lie in [-1,1], got range [{float(images.min()):.3f}, {float(images.max()):.3f}]")
    H, W = images.shape[-2:]
    if size is not None and (H != size or W != size):
        raise ValueError(f"images must be {size}x{size} for this model, got {H}x{W}")
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


def poisson_blend(images: torch.Tensor, outputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Poisson-blend the hole content of ``outputs`` into ``images`` with OpenCV seamlessClone.

    Known pixels outside the (slightly dilated) hole stay the input's; falls back to plain pasting
    for a sample where OpenCV refuses (e.g. a hole touching the border).
    """
    import cv2

    from helpers.data import to_tensor, to_uint8

    dst = to_uint8(images)
    src = to_uint8(outputs)
    out = []
    for i in range(len(dst)):
        m = (masks[i, 0].cpu().numpy() > 0.5).astype(np.uint8) * 255
        try:
            m_d = cv2.dilate(m, np.ones((3, 3), np.uint8))
            x, y, w, h = cv2.boundingRect(m_d)
            center = (x + w // 2, y + h // 2)
            blended = cv2.seamlessClone(src[i], dst[i], m_d, center, cv2.NORMAL_CLONE)
            t = to_tensor(blended)
        except cv2.error:
            t = to_tensor(src[i])
        out.append(paste(images[i].cpu(), t, masks[i].cpu().bool().float()))
    return torch.stack(out).to(images.device)


@torch.no_grad()
def complete(model: CompletionNet, images: torch.Tensor, masks: torch.Tensor, poisson: bool = False,
             batch: int = 32) -> torch.Tensor:
    """Fill the holes of ``images`` (N,3,H,W in [-1,1]) where ``masks`` (N,1,H,W) is 1.

    Returns the completed images on the input's device: exactly the input outside the hole, the
    network output inside (Poisson-blended with OpenCV when ``poisson=True``). Runs in eval mode.
    """
    check_inputs(images, masks)
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    outs = []
    for i in range(0, len(images), batch):
        x, m = images[i:i + batch].to(dev).float(), masks[i:i + batch].to(dev).float()
        outs.append(model(net_input(x, m, model.mean_color)).float().to(images.device))
    model.train(was_training)
    out = torch.cat(outs) if outs else images.clone()
    return poisson_blend(images, out, masks) if poisson else paste(images, out, masks.to(images.dtype))


def hole_metrics(pred: torch.Tensor, target: torch.Tensor, masks: torch.Tensor) -> dict:
    """PSNR (dB, peak = 1 on the [0,1] scale) and L1 (mean |diff| on [0,1]) inside the hole, averaged per image."""
    check_inputs(target, masks)
    d = ((pred.float() - target.float()) / 2) * masks                # [0,1] scale
    npx = masks.flatten(1).sum(1).clamp_min(1) * 3
    mse = d.pow(2).flatten(1).sum(1) / npx
    l1 = d.abs().flatten(1).sum(1) / npx
    psnr = 10 * torch.log10(1.0 / mse.clamp_min(1e-10))
    return {"psnr": float(psnr.mean()), "l1": float(l1.mean())}


# ---------------------------------------------------------------------------------- train steps
def completion_loss(outputs: torch.Tensor, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Weighted MSE of the paper: mean over all pixels of (M * (C(x) - x))^2 (float32)."""
    return ((outputs.float() - images.float()) * masks).pow(2).mean()


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target)


def _update(loss, opt, scaler) -> None:
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()


def completion_step(C, opt, scaler, images, masks, autocast) -> dict:
    """Phase 1 (Tc): train the completion network alone with the MSE inside the hole."""
    with autocast:
        out = C(net_input(images, masks, C.mean_color))
    loss = completion_loss(out, images, masks)
    _update(loss, opt, scaler)
    return {"mse": loss.detach()}


def _d_loss(C, D, images, masks, boxes, real_boxes, cfg, autocast, out=None):
    if out is None:
        with torch.no_grad(), autocast:
            out = C(net_input(images, masks, C.mean_color))
    fake = paste(images, out.detach().to(images.dtype), masks)
    L = cfg.local_size
    with autocast:
        d_fake = D(_cl(crop_boxes(fake, boxes, L), cfg), fake)
        d_real = D(_cl(crop_boxes(images, real_boxes, L), cfg), images)
    return (_bce(d_fake, False) + _bce(d_real, True)) / 2


def discriminator_step(C, D, opt_d, scaler_d, images, masks, boxes, real_boxes, cfg, autocast) -> dict:
    """Phase 2 (Td): train the discriminators alone on completed (fake) vs real images."""
    loss = _d_loss(C, D, images, masks, local_boxes(boxes, cfg.size, cfg.local_size), real_boxes, cfg, autocast)
    _update(loss, opt_d, scaler_d)
    return {"d_loss": loss.detach()}


def joint_step(C, D, opt_c, opt_d, scaler_c, scaler_d, images, masks, boxes, real_boxes, cfg, autocast) -> dict:
    """Phase 3: one discriminator update, then the completion net on MSE + alpha * adversarial."""
    lb = local_boxes(boxes, cfg.size, cfg.local_size)
    with autocast:
        out = C(net_input(images, masks, C.mean_color))
    d_loss = _d_loss(C, D, images, masks, lb, real_boxes, cfg, autocast, out=out)
    _update(d_loss, opt_d, scaler_d)
    D.requires_grad_(False)                       # only the input gradient is needed through D
    try:
        fake = paste(images, out.to(images.dtype), masks)
        with autocast:
            adv = _bce(D(_cl(crop_boxes(fake, lb, cfg.local_size), cfg), fake), True)
        mse = completion_loss(out, images, masks)
        _update(mse + cfg.alpha * adv, opt_c, scaler_c)
    finally:
        D.requires_grad_(True)
    return {"mse": mse.detach(), "adv": adv.detach(), "d_loss": d_loss.detach()}


def _cl(t: torch.Tensor, cfg) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if cfg.channels_last else t


# ------------------------------------------------------------------------------ train (re-export)
def train(cfg: Config, run_dir, budget_minutes: float | None = None, max_steps: int | None = None,
          progress: bool = True):
    """Resumable GLCIC training; see :func:`helpers.glcic_train.train`."""
    from helpers import glcic_train

    return glcic_train.train(cfg, run_dir, budget_minutes=budget_minutes, max_steps=max_steps, progress=progress)


def mouth_test_set(cfg: Config, n: int = 64):
    """Fixed SynthFaces test images (never seen in training) with the mouth hole; see glcic_train."""
    from helpers import glcic_train

    return glcic_train.mouth_test_set(cfg, n)


def load_release(name: str, directory=None) -> CompletionNet:
    """Load a committed demo completion network (e.g. "glcic_mouth64"); see glcic_train."""
    from helpers import glcic_train

    return glcic_train.load_release(name, directory=directory)


def bench(**kw):
    """Speed benchmark; see :func:`helpers.glcic_train.bench`."""
    from helpers import glcic_train

    return glcic_train.bench(**kw)


if __name__ == "__main__":
    from helpers.glcic_train import main

    main()
