"""What the analysis network is trained and measured on: labelled SynthFaces, augmentation, test sets.

Training: :func:`face_data` renders the run's faces once with every label (landmarks, AUs,
identity, expression, smiling, pose; ``mask_prob`` of them behind a face mask), :class:`LabelledBank`
serves them to the loop, :func:`augment` degrades each batch on the fly from the run's saved
random stream (down/up-sampling, blur, noise, colour). Measuring: faces of people never seen in
training (:data:`TEST_IDENTITIES`, :func:`test_faces`) and the small fixed check set whose numbers
the release stores (:data:`CHECK_SPEC`, :func:`check_faces`).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from helpers.analysis.model import Config
from helpers.synthfaces import bank

__all__ = ["BANK_KEYS", "face_data", "LabelledBank", "gaussian_blur", "augment", "TEST_IDENTITIES", "TEST_SEED",
           "CHECK_SPEC", "test_faces", "check_faces", "as_images"]

BANK_KEYS = ("image", "landmarks", "aus", "identity", "expression", "smiling", "pose")


# ----------------------------------------------------------------------------- training data
def face_data(cfg: Config, n: int | None = None, start: int = 0, seed: int | None = None,
              identities=None, mask_prob: float | None = None, size: int | None = None,
              progress: bool = True) -> dict[str, torch.Tensor]:
    """SynthFaces with every label as tensors (``helpers.synthfaces.bank``), rendered once.

    Defaults: the run's training set (``cfg.n_train`` faces of people ``range(cfg.n_identities)``).
    """
    ids = list(range(cfg.n_identities)) if identities is None else list(identities)
    return bank(cfg.n_train if n is None else n, cfg.size if size is None else size,
                cfg.data_seed if seed is None else seed, start, keys=BANK_KEYS, progress=progress,
                identities=ids, mask_prob=cfg.mask_prob if mask_prob is None else mask_prob)


class LabelledBank(torch.utils.data.Dataset):
    """Faces in memory (uint8) with their labels; ``batch(idx)`` gives float images in [-1, 1]."""

    def __init__(self, arrays: dict[str, torch.Tensor]):
        missing = [k for k in BANK_KEYS if k not in arrays]
        if missing:
            raise ValueError(f"LabelledBank needs keys {BANK_KEYS}, missing {missing}")
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays["image"])

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {k: v[idx] for k, v in self.arrays.items()}
        out["image"] = out["image"].float().div_(127.5).sub_(1.0)
        return out

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.batch(torch.tensor([i])).items()}


# ----------------------------------------------------------------------------- augmentation
def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image with its own sigma (pixels; 0 = unchanged), 7x7 kernels, reflect padding."""
    n, c, h, w = x.shape
    r = torch.arange(-3, 4, dtype=x.dtype, device=x.device)
    s = sigma.clamp_min(1e-3).to(x)[:, None]
    k1 = torch.exp(-0.5 * (r[None] / s) ** 2)
    k1 = k1 / k1.sum(1, keepdim=True)                                   # (n, 7)
    k = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, 0)[:, None]  # (n*c, 1, 7, 7)
    y = F.conv2d(F.pad(x.reshape(1, n * c, h, w), (3, 3, 3, 3), mode="reflect"), k, groups=n * c)
    return y.reshape(n, c, h, w)


def augment(x: torch.Tensor, cfg: Config, g: torch.Generator) -> torch.Tensor:
    """Degrade a batch (N, 3, S, S) in [-1, 1] as generated or small faces are degraded.

    Per image, independently: with ``p_lowres`` down-sample (area) to 32, 48, 64 or 96 px and back
    (bilinear); with ``p_blur`` Gaussian blur, sigma U(0.3, 1.5) px; with ``p_noise`` Gaussian
    noise, sigma U(0, 0.08); with ``p_colour`` brightness +-0.1, contrast x U(0.8, 1.2),
    saturation x U(0.6, 1.4). Labels are unchanged (no geometric change). Draws only from ``g``.
    """
    n, _, s, _ = x.shape
    u = torch.rand(n, 12, generator=g)
    x = x.clone()
    low = u[:, 0] < cfg.p_lowres
    sizes = torch.tensor([32, 48, 64, 96])[(u[:, 1] * 4).long().clamp(max=3)]
    for side in sizes[low].unique().tolist():
        if side >= s:
            continue
        sel = (low & (sizes == side)).nonzero().flatten().to(x.device)
        small = F.interpolate(x[sel], size=(side, side), mode="area")
        x[sel] = F.interpolate(small, size=(s, s), mode="bilinear", align_corners=False)
    sigma = torch.where(u[:, 2] < cfg.p_blur, 0.3 + 1.2 * u[:, 3], torch.zeros(n))
    if bool((sigma > 0).any()):
        sel = (sigma > 0).nonzero().flatten().to(x.device)
        x[sel] = gaussian_blur(x[sel], sigma[sigma > 0])
    col = (u[:, 4] < cfg.p_colour).float()
    bright = (u[:, 5] * 0.2 - 0.1) * col
    contrast = 1 + (u[:, 6] * 0.4 - 0.2) * col
    sat = 1 + (u[:, 7] * 0.8 - 0.4) * col
    v = lambda t: t.to(x)[:, None, None, None]  # noqa: E731
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * v(sat)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * v(contrast) + mean + v(bright)
    nsig = torch.where(u[:, 8] < cfg.p_noise, 0.08 * u[:, 9], torch.zeros(n))
    if bool((nsig > 0).any()):
        x = x + torch.randn(x.shape, generator=g).to(x) * v(nsig)
    return x.clamp_(-1, 1)


# ----------------------------------------------------------------------------- test sets
#: people never seen in training (training uses range(n_identities) <= 10,000)
TEST_IDENTITIES = range(100_000, 100_500)
TEST_SEED = 7
#: the small fixed set whose numbers the release stores for tests/test_analysis.py
CHECK_SPEC = dict(n=48, size=128, seed=11, mask_prob=0.5, identities=range(100_000, 100_016))


def test_faces(n: int = 1000, size: int = 128, masked: bool = False, seed: int = TEST_SEED,
               identities=TEST_IDENTITIES, progress: bool = False) -> dict[str, torch.Tensor]:
    """``n`` labelled SynthFaces of unseen people (all masked or none), rendered once and cached."""
    return bank(n, size, seed, 0, keys=BANK_KEYS, progress=progress, identities=list(identities),
                mask_prob=1.0 if masked else 0.0)


def check_faces() -> dict[str, torch.Tensor]:
    """The fixed check set (:data:`CHECK_SPEC`: 48 faces at 128 px, half masked, 16 unseen people)."""
    c = CHECK_SPEC
    return bank(c["n"], c["size"], c["seed"], 0, keys=BANK_KEYS, progress=False,
                identities=list(c["identities"]), mask_prob=c["mask_prob"])


def as_images(data) -> torch.Tensor:
    """The images of ``data`` (a bank or a dict with ``"image"``) as float in [-1, 1]."""
    x = data["image"]
    return x.float().div(127.5).sub(1.0) if x.dtype == torch.uint8 else x
