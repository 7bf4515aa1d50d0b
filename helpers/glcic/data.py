"""What GLCIC feeds on: training images and the fixed test sets of the GLCIC course study.

Training data (:func:`training_data`): SynthFaces rendered once into memory (``data="synthfaces"``),
instant ``"toy"`` images (tests), or a face folder in the on-disk format read lazily
(:class:`FolderImages`, through the loop's DataLoader workers).

Test sets (:func:`make_testset`) are SynthFaces rendered with their own seed (:data:`TEST_SEED`)
and drawn only from persons ``TEST_IDENTITIES`` (ids 100,000 and up); GLCIC training draws its
faces from SynthFaces' default ``range(10_000)`` persons, so test identities are disjoint from
training. The unmasked face is exact ground truth, also for the face-mask holes:

- ``mouth``: the GLCIC course study's mouth box (56,128,144,96) at 256 px, scaled to the image size;
- ``random``: the GLCIC course study's random boxes (top-left 5..145, w,h 48..96 at 256 px, scaled), drawn from a
  fixed generator;
- ``facemask``: the exact pixels of a drawn surgical/cloth face mask (SynthFaces ``mask``), the
  course's real use case; the truth is the same face rendered without the mask.

A face folder's test sets are its ``test`` split (:func:`folder_testset`, :func:`real_testsets`).
Measuring a completion on them is :mod:`helpers.glcic.evaluate`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from helpers.core.images import ImageBank
from helpers.faces import masks as face_masks
from helpers.faces.data import FaceFolder
from helpers.glcic.model import Config, boxes_to_masks, sample_boxes
from helpers.synthfaces import bank

__all__ = ["HOLE_KINDS", "TEST_SEED", "TEST_IDENTITIES", "TestSet", "make_testset", "make_testsets", "toy_images",
           "folder_testset", "testsets_for", "real_testsets", "FolderImages", "training_data", "mean_color_of"]

HOLE_KINDS = ("mouth", "random", "facemask")
#: SynthFaces seed of every test set; training uses small seeds (glcic Config.data_seed = 0)
TEST_SEED = 20_020
#: persons of the test sets; training uses SynthFaces' default identities range(10_000)
TEST_IDENTITIES = range(100_000, 101_000)


# ----------------------------------------------------------------------------- test sets
@dataclass
class TestSet:
    """A fixed evaluation set: ground-truth images, holes, and where they came from."""

    name: str                    # "mouth" | "random" | "facemask"
    images: torch.Tensor         # (N,3,H,W) in [-1,1]: the unmasked truth
    masks: torch.Tensor          # (N,1,H,W) float, 1 = hole
    identities: list = field(default_factory=list)
    seed: int = TEST_SEED
    landmarks: torch.Tensor | None = None  # (N,68,2) annotated truth of a face folder, if it has them

    __test__ = False             # not a pytest class

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def inputs(self) -> torch.Tensor:
        """The images as a completion method sees them: hole pixels set to 0 (no truth leaks)."""
        return self.images * (1 - self.masks)


def make_testset(kind: str, n: int = 10, size: int = 64, seed: int = TEST_SEED) -> TestSet:
    """Fixed, reproducible test set of ``n`` SynthFaces with ``kind`` holes (see module docstring)."""
    if kind not in HOLE_KINDS:
        raise ValueError(f"kind must be one of {HOLE_KINDS}, got {kind!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if size < 16 or size % 4:
        raise ValueError(f"size must be a multiple of 4 and >= 16, got {size}")
    faces = bank(n, size, seed, keys=("unmasked", "mask", "identity"), progress=False,
                 mask_prob=1.0 if kind == "facemask" else 0.0, identities=list(TEST_IDENTITIES))
    images = faces["unmasked"].float().div(127.5).sub(1.0)
    if kind == "facemask":
        masks = (faces["mask"] > 0).float()
        empty = masks.flatten(1).sum(1) == 0
        if bool(empty.any()):  # a face mask always covers pixels; guard anyway
            raise ValueError(f"SynthFaces drew no face mask for test images {torch.nonzero(empty).flatten().tolist()}")
    else:
        gen = torch.Generator().manual_seed(seed)
        masks = boxes_to_masks(sample_boxes(n, size, kind, generator=gen), size)
    return TestSet(kind, images, masks, faces["identity"].tolist(), seed)


def toy_images(seed: int, size: int, n: int) -> torch.Tensor:
    """(n,3,size,size) uint8 smooth random images with an ellipse "face": instant, for tests only."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
    img = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    r = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    c = torch.rand(n, 3, 1, 1, generator=g)
    a = 0.4 + 0.3 * torch.rand(n, 1, 1, 1, generator=g)
    inside = ((xx / a) ** 2 + ((yy - 0.1) / (a * 1.3)) ** 2 < 1).float()
    img = img * (1 - inside) + c * inside
    return (img * 255).round().to(torch.uint8)


def folder_testset(root, kind: str, n: int = 64, size: int = 64, split: str = "test",
                   seed: int = TEST_SEED) -> TestSet:
    """A test set from a face folder: its ``split`` rows (or, without splits, its last ``n``).

    ``kind`` is "mouth" or "random" (boxes as :func:`make_testset`); "facemask" needs a
    ``mask`` column (the folder's own mask files).
    """
    if kind not in ("mouth", "random"):
        raise ValueError(f"kind must be 'mouth' or 'random' for a folder, got {kind!r}")
    try:
        ff = FaceFolder(root, split=split, size=size)
        if len(ff) == 0:
            raise ValueError("empty split")
        idx = range(min(n, len(ff)))
    except (ValueError, KeyError):
        ff = FaceFolder(root, size=size)
        idx = range(max(0, len(ff) - n), len(ff))
    items = [ff[i] for i in idx]
    images = torch.stack([it["image"] for it in items]).float()
    lms = [it.get("landmarks") for it in items]
    landmarks = torch.stack([torch.as_tensor(l, dtype=torch.float32) for l in lms]) \
        if lms and all(l is not None for l in lms) else None
    gen = torch.Generator().manual_seed(seed)
    masks = boxes_to_masks(sample_boxes(len(images), size, kind, generator=gen), size)
    return TestSet(kind, images, masks, [-1] * len(images), seed, landmarks)


def testsets_for(cfg: Config, n: int = 64, kinds=("mouth", "random")) -> dict[str, TestSet]:
    """The fixed test sets of a run's data: SynthFaces test persons, or a folder's test split."""
    if cfg.data == "synthfaces":
        return {k: make_testset(k, n, cfg.size) for k in kinds}
    if cfg.data == "toy":
        x = toy_images(cfg.data_seed + 1000, cfg.size, n).float().div(127.5).sub(1.0)
        out = {}
        for k in kinds:
            boxes = sample_boxes(n, cfg.size, k, torch.Generator().manual_seed(TEST_SEED))
            out[k] = TestSet(k, x, boxes_to_masks(boxes, cfg.size), [-1] * n)
        return out
    return {k: folder_testset(cfg.data, k, n, cfg.size) for k in kinds if k != "facemask"}


def make_testsets(n: int = 10, size: int = 64, kinds=HOLE_KINDS, seed: int = TEST_SEED) -> dict[str, TestSet]:
    """All hole kinds at once: ``{"mouth": TestSet, "random": ..., "facemask": ...}``."""
    return {k: make_testset(k, n, size, seed) for k in kinds}


def real_testsets(root, size: int = 64, n: int = 100) -> dict[str, TestSet]:
    """The held-out test split of a real face folder with both hole samplers and face-mask shapes.

    ``facemask``: the surgical-mask polygon drawn from each face's annotated 68 landmarks
    (:func:`helpers.faces.masks.face_mask_shape`), as the course's real use case: no truth is
    hidden behind a real mask here, the mask shape only marks the hole.
    """
    sets = {k: folder_testset(root, k, n, size) for k in ("mouth", "random")}
    ts = sets["mouth"]
    if ts.landmarks is not None:
        m = torch.stack([face_masks.face_mask_shape(lm.numpy(), size).float().reshape(1, size, size)
                         for lm in ts.landmarks])
        sets["facemask"] = TestSet("facemask", ts.images, (m > 0.5).float(), ts.identities, ts.seed, ts.landmarks)
    return sets


# ----------------------------------------------------------------------------- training data
class FolderImages(torch.utils.data.Dataset):
    """The images of a face folder (on-disk format) as float tensors in [-1, 1], read lazily.

    Read through the loop's DataLoader, so ``cfg.workers`` processes decode JPEGs in parallel.
    """

    def __init__(self, root, split: str | None, size: int):
        root = Path(root)
        if not root.exists():
            raise ValueError(f"data folder {root} does not exist (expected the on-disk face format)")
        self.folder = FaceFolder(root, split=split, size=size)

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.folder[int(i)]["image"]


def training_data(cfg: Config, progress: bool = True) -> torch.utils.data.Dataset:
    """SynthFaces (``data="synthfaces"``, rendered once into memory), ``"toy"`` images, or a folder."""
    if cfg.data == "synthfaces":
        return ImageBank(bank(cfg.n_train, cfg.size, cfg.data_seed, progress=progress)["image"])
    if cfg.data == "toy":
        return ImageBank(toy_images(cfg.data_seed, cfg.size, cfg.n_train))
    data = FolderImages(cfg.data, cfg.data_split, cfg.size)
    if len(data) == 0:
        raise ValueError(f"no training images in {cfg.data!r} (split {cfg.data_split!r})")
    return data


def mean_color_of(data, n: int = 1000) -> torch.Tensor:
    """Mean RGB (in [-1,1]) of the first ``n`` training images: the hole fill colour."""
    idx = list(range(min(n, len(data))))
    acc = torch.zeros(3)
    for i in range(0, len(idx), 64):
        chunk = idx[i:i + 64]
        x = data.batch(torch.tensor(chunk)) if hasattr(data, "batch") else torch.stack([data[j] for j in chunk])
        acc += x.mean(dim=(2, 3)).sum(0)
    return acc / len(idx)
