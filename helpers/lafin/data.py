"""Faces with 68 landmarks and the Smiling label, in memory: SynthFaces or a folder in the on-disk format.

Both networks train on unmasked faces with their true landmarks; the holes are drawn on the fly
from those landmarks (:func:`helpers.lafin.model.damage_masks`). The test faces are SynthFaces
of people never seen in training (ids 100,000 and up; training draws from ``range(10_000)``),
rendered with their own seed, each with two kinds of hole: the paper's lower half of the face
placed from the landmarks, and the pixels of a drawn surgical or cloth face mask (SynthFaces
renders the same face with and without it, so the unmasked truth is exact).

SynthFaces ``smiling`` is AU12 >= 1.0. So that the label says something the damaged face hides,
``expression="mixed"`` (default) draws half the faces with independent random AUs (the mouth moves
freely: lips part, stretch, press, corners rise or fall) and half with the happiness preset
(AU6 + AU12 at intensity 0.6..2.0), which puts many faces on both sides of the threshold.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from helpers.faces.data import FaceFolder
from helpers.lafin.model import SharedConfig, damage_masks
from helpers.synthfaces import bank

__all__ = ["FaceBank", "synth_faces", "folder_faces", "training_data", "TestFaces", "make_testset",
           "folder_testset", "TEST_SEED", "TEST_IDENTITIES", "HOLE_KINDS", "BANK_KEYS", "GROUPS"]

TEST_SEED = 30_000
#: the label groups every table reports (``all`` includes faces without a label)
GROUPS = ("No_Smiling", "Smiling", "all")
TEST_IDENTITIES = range(100_000, 101_000)
HOLE_KINDS = ("halfface", "facemask")
BANK_KEYS = ("unmasked", "landmarks", "smiling", "aus", "identity")
_EXPRESSIONS = {"free": (None,), "presets": ("random",), "mixed": (None, "happiness")}


class FaceBank(torch.utils.data.Dataset):
    """uint8 faces (N, 3, S, S) + landmarks (N, 68, 2) + smiling (N,) in memory, read in whole batches.

    ``batch(indices)`` returns ``{"image": float [-1, 1], "landmarks", "smiling"}`` (what the
    loop uses instead of a DataLoader); ``smiling`` is -1 where a face has no label.
    """

    def __init__(self, images: torch.Tensor, landmarks: torch.Tensor, smiling: torch.Tensor | None = None):
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be uint8 (N, 3, S, S), got {images.dtype} {tuple(images.shape)}")
        if landmarks.shape != (len(images), 68, 2):
            raise ValueError(f"landmarks must be ({len(images)}, 68, 2), got {tuple(landmarks.shape)}")
        if not bool(torch.isfinite(landmarks).all()):
            raise ValueError("every training face needs its 68 landmarks (found NaN)")
        self.images, self.landmarks = images, landmarks.float()
        self.smiling = (smiling.long() if smiling is not None else torch.full((len(images),), -1, dtype=torch.long))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i].float().div(127.5).sub(1.0), "landmarks": self.landmarks[i],
                "smiling": self.smiling[i]}

    def batch(self, idx: torch.Tensor) -> dict:
        return {"image": self.images[idx].float().div_(127.5).sub_(1.0), "landmarks": self.landmarks[idx],
                "smiling": self.smiling[idx]}


def synth_faces(n: int, size: int, seed: int = 0, expression: str = "mixed", identities=None,
                mask_prob: float = 0.0, keys=BANK_KEYS, progress: bool = True) -> dict[str, torch.Tensor]:
    """``n`` SynthFaces as tensors (``helpers.synthfaces.bank``, cached), mixed as ``expression`` says.

    For ``"mixed"`` the first ``n // 2`` faces have free AUs and the rest the happiness preset
    (each part its own seed offset, so the two halves never repeat a face).
    """
    if expression not in _EXPRESSIONS:
        raise ValueError(f"expression must be one of {tuple(_EXPRESSIONS)}, got {expression!r}")
    kinds = _EXPRESSIONS[expression]
    counts = [n // len(kinds) + (1 if i < n % len(kinds) else 0) for i in range(len(kinds))]
    parts = []
    for k, (expr, m) in enumerate(zip(kinds, counts)):
        if m == 0:
            continue
        kw = {"identities": list(identities)} if identities is not None else {}
        parts.append(bank(m, size, seed + 7919 * k, keys=tuple(keys), expression=expr, mask_prob=mask_prob,
                          progress=progress, **kw))
    return {key: torch.cat([p[key] for p in parts]) for key in keys}


def folder_faces(root, split: str | None, size: int) -> dict[str, torch.Tensor]:
    """Every face of a folder in the on-disk format (``split`` rows) with its landmarks, as tensors.

    Keys: ``unmasked`` (uint8), ``landmarks`` (scaled to ``size``), ``smiling`` (-1 = no label).
    Raises ValueError when the folder has no landmark columns.
    """
    root = Path(root)
    if not root.exists():
        raise ValueError(f"data folder {root} does not exist (expected the on-disk face format with 68 landmarks)")
    ff = FaceFolder(root, split=split, size=size)
    items = [ff[i] for i in range(len(ff))]
    lm = torch.stack([it["landmarks"] for it in items]).float()
    if not bool(torch.isfinite(lm).all()):
        raise ValueError(f"{root}: some faces have no landmarks (x0,y0..x67,y67); this method needs them all")
    images = torch.stack([it["image"] for it in items])
    u8 = images.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    smiling = torch.stack([torch.as_tensor(it["smiling"]).long().reshape(()) for it in items])
    return {"unmasked": u8, "landmarks": lm, "smiling": smiling}


def training_data(cfg: SharedConfig, progress: bool = True) -> FaceBank:
    """The training faces of ``cfg``: SynthFaces (``data="synthfaces"``) or a folder's ``data_split``
    (real photos as detectors crop them: :class:`helpers.lafin.crops.CropBank`)."""
    if cfg.data == "synthfaces":
        d = synth_faces(cfg.n_train, cfg.size, cfg.data_seed, cfg.expression, progress=progress)
    else:
        d = folder_faces(cfg.data, cfg.data_split, cfg.size)
    return FaceBank(d["unmasked"], d["landmarks"], d["smiling"])


# ----------------------------------------------------------------------------------- test faces
@dataclass
class TestFaces:
    """Fixed evaluation faces: the unmasked truth, landmarks, labels and one hole per kind."""

    images: torch.Tensor                      # (N, 3, S, S) float in [-1, 1], unmasked
    landmarks: torch.Tensor                   # (N, 68, 2)
    smiling: torch.Tensor                     # (N,) 0/1 (-1 = unknown)
    masks: dict = field(default_factory=dict)  # kind -> (N, 1, S, S) 1 = hole
    aus: torch.Tensor | None = None           # (N, 17) (SynthFaces only)
    name: str = "SynthFaces test"

    __test__ = False

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])

    def subset(self, idx) -> "TestFaces":
        idx = torch.as_tensor(idx, dtype=torch.long)
        return TestFaces(self.images[idx], self.landmarks[idx], self.smiling[idx],
                         {k: v[idx] for k, v in self.masks.items()},
                         None if self.aus is None else self.aus[idx], self.name)


def make_testset(n: int = 256, size: int = 128, seed: int = TEST_SEED, expression: str = "mixed",
                 progress: bool = False) -> TestFaces:
    """``n`` SynthFaces of unseen people with a half-face hole (from the true landmarks, margin
    0.08) and a drawn face mask (its exact pixels) each; the unmasked faces are the truth."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    d = synth_faces(n, size, seed, expression, identities=TEST_IDENTITIES, mask_prob=1.0,
                    keys=("unmasked", "mask", "landmarks", "smiling", "aus"), progress=progress)
    images = d["unmasked"].float().div(127.5).sub(1.0)
    masks = {"halfface": damage_masks(d["landmarks"], size, "halfface"),
             "facemask": (d["mask"] > 0).float()}
    return TestFaces(images, d["landmarks"].float(), d["smiling"].long(), masks, d["aus"].float())


def folder_testset(root, size: int = 128, split: str | None = "test", n: int | None = None,
                   seed: int = TEST_SEED, name: str | None = None) -> TestFaces:
    """Faces of a folder's ``split`` with holes from their landmarks: half face and a face-mask shape
    (surgical or cloth, fixed by ``seed``)."""
    d = folder_faces(root, split, size)
    if n is not None:
        d = {k: v[:n] for k, v in d.items()}
    g = torch.Generator().manual_seed(seed)
    masks = {"halfface": damage_masks(d["landmarks"], size, "halfface"),
             "facemask": damage_masks(d["landmarks"], size, "facemask", generator=g)}
    return TestFaces(d["unmasked"].float().div(127.5).sub(1.0), d["landmarks"], d["smiling"], masks,
                     None, name or f"{Path(root).name} ({split})")
