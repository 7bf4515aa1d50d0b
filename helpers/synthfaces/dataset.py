"""SynthFaces as training data: a torch Dataset, in-memory banks (cached on disk) and export to the on-disk face format.

* :class:`SynthFacesDataset`: faces rendered on the fly, items as :class:`helpers.faces.data.FaceFolder`'s.
* :func:`bank`: faces ``start .. start+n-1`` as tensors, rendered once (every method trains on them).
* :func:`export` and :func:`split_of_identity`: write faces with their labels as a folder + manifest.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from helpers.core import runtime
from helpers.core.files import atomic_write
from helpers.core.images import to_tensor
from helpers.core.runtime import bar as tqdm
from helpers.faces.data import FaceWriter
from helpers.synthfaces.geometry import AUS
from helpers.synthfaces.sampling import SynthFaces

__all__ = ["SynthFacesDataset", "BANK_KEYS", "bank", "split_of_identity", "export"]


class SynthFacesDataset(torch.utils.data.Dataset):
    """SynthFaces rendered on the fly as a torch Dataset of dicts of tensors.

    Keys as ``helpers.faces.data.FaceFolder``: image and unmasked (3, H, W) in [-1, 1], landmarks
    (68, 2), aus (17,), identity, expression, smiling (int64 scalars), pose (3,), mask (1, H, W)
    float in {0, 1}, index. Arguments are those of :class:`SynthFaces`; ``length`` sets len().
    Works with DataLoader workers (each item depends only on (seed, index)).
    """

    def __init__(self, seed: int = 0, size: int = 128, length: int = 10_000, **kw):
        self.faces = SynthFaces(seed=seed, size=size, length=length, **kw)

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} faces")
        s = self.faces.sample(int(index) % len(self))
        return {
            "image": to_tensor(s["image"]), "unmasked": to_tensor(s["unmasked"]),
            "landmarks": torch.from_numpy(s["landmarks"]), "aus": torch.from_numpy(s["aus"]),
            "identity": torch.tensor(s["identity"], dtype=torch.int64),
            "expression": torch.tensor(s["expression"], dtype=torch.int64),
            "smiling": torch.tensor(int(s["smiling"]), dtype=torch.int64),
            "pose": torch.from_numpy(s["pose"]),
            "mask": torch.from_numpy(s["mask"].astype(np.float32))[None],
            "index": torch.tensor(s["index"], dtype=torch.int64),
        }


#: what :func:`bank` can collect per face, and how each is stored
BANK_KEYS = ("image", "unmasked", "mask", "landmarks", "aus", "identity", "expression", "smiling", "pose")


def _bank_arrays(faces: "SynthFaces", start: int, n: int, keys, progress: bool) -> dict[str, np.ndarray]:
    S = faces.size
    out = {}
    for k in keys:
        if k in ("image", "unmasked"):
            out[k] = np.empty((n, 3, S, S), np.uint8)
        elif k == "mask":
            out[k] = np.empty((n, 1, S, S), np.uint8)
        elif k == "landmarks":
            out[k] = np.empty((n, 68, 2), np.float32)
        elif k == "aus":
            out[k] = np.empty((n, len(AUS)), np.float32)
        elif k == "pose":
            out[k] = np.empty((n, 3), np.float32)
        else:
            out[k] = np.empty((n,), np.int64)
    for i in tqdm(range(n), desc=f"rendering {n} SynthFaces at {S} px", disable=not progress,
                  mininterval=1.0, leave=False):
        smp = faces.sample(start + i)
        for k in keys:
            v = smp[k]
            if k in ("image", "unmasked"):
                out[k][i] = np.asarray(v).transpose(2, 0, 1)
            elif k == "mask":
                out[k][i, 0] = np.asarray(v)
            else:
                out[k][i] = v
    return out


def bank(n: int, size: int = 64, seed: int = 0, start: int = 0, keys=("image",), *,
         progress: bool = True, cache: bool = True, **kwargs) -> dict[str, torch.Tensor]:
    """Faces ``start .. start+n-1`` of ``SynthFaces(seed, size, **kwargs)`` as tensors, rendered once.

    ``keys`` chooses what to keep (:data:`BANK_KEYS`): images as uint8 (n, 3, S, S), ``mask`` uint8
    (n, 1, S, S), ``landmarks`` (n, 68, 2), ``aus`` (n, 17), ``pose`` (n, 3) float32, ``identity``,
    ``expression``, ``smiling`` int64 (n,). Convert images with ``u8.float() / 127.5 - 1``.

    The result is kept in memory for the process and, with ``cache=True``, on disk under
    ``runs/_cache`` (checked against a fresh rendering of its first and last face, so a changed
    renderer never serves stale pictures). Every method trains on data made by this function.
    """
    keys = tuple(keys)
    bad = [k for k in keys if k not in BANK_KEYS]
    if bad or not keys:
        raise ValueError(f"keys must be a non-empty subset of {BANK_KEYS}, got {keys}")
    if n < 1 or start < 0:
        raise ValueError(f"need n >= 1 and start >= 0, got n={n}, start={start}")
    kwargs.setdefault("length", max(start + n, 1_000_000))
    faces = SynthFaces(seed=seed, size=size, **kwargs)
    spec = json.dumps({"n": n, "size": size, "seed": seed, "start": start, "keys": keys,
                       "kw": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in sorted(kwargs.items())}},
                      sort_keys=True, default=str)
    mem = _BANKS.get(spec)
    if mem is not None:
        return mem
    path = runtime.RUNS_DIR / "_cache" / f"synthfaces-{hashlib.sha1(spec.encode()).hexdigest()[:16]}.npz"
    arrays = None
    if cache and path.exists():
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in keys}
            probe = {i: _bank_arrays(faces, start + i, 1, keys, False) for i in (0, n - 1)}
            if any(not np.array_equal(arrays[k][i], probe[i][k][0]) for i in probe for k in keys):
                arrays = None
        except Exception:  # noqa: BLE001 - a damaged cache is rendered again
            arrays = None
    if arrays is None:
        arrays = _bank_arrays(faces, start, n, keys, progress)
        if cache:
            def write(f):
                np.savez(f, **arrays)
            atomic_write(path, write)
    out = {k: torch.from_numpy(v) for k, v in arrays.items()}
    if len(_BANKS) >= 8:
        _BANKS.pop(next(iter(_BANKS)))
    _BANKS[spec] = out
    return out


_BANKS: dict[str, dict[str, torch.Tensor]] = {}


def split_of_identity(identity: int) -> str:
    """Fixed person-disjoint split: identity % 10 -> 0..7 train, 8 val, 9 test."""
    k = int(identity) % 10
    return "train" if k < 8 else ("val" if k == 8 else "test")


def export(out_dir, n: int, seed: int = 0, size: int = 128, *, split: str | None = "identity",
           progress: bool = True, image_format: str = ".png", **kw) -> Path:
    """Write ``n`` SynthFaces (indices 0..n-1) to ``out_dir`` in the on-disk face format.

    Uses ``helpers.faces.data.FaceWriter``: images + manifest with subject (identity), expression,
    smiling, split, source, landmarks, AUs, pose, and for masked data sets the unmasked image and
    the mask. ``split="identity"`` assigns :func:`split_of_identity`; a split name gives all
    rows that split; None leaves it out. Re-runnable: files already written are skipped.
    ``kw`` goes to :class:`SynthFaces` (expression, mask_prob, pose_range, ...).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    faces = SynthFaces(seed=seed, size=size, length=max(n, kw.pop("length", n)), **kw)
    with_mask = faces.mask_prob > 0
    with FaceWriter(out_dir, skip_existing=True, image_format=image_format) as w:
        for i in tqdm(range(n), desc="export SynthFaces", disable=not progress):
            file = f"{i:06d}{image_format}"
            if file in w and (Path(out_dir) / file).exists():
                continue
            s = faces.sample(i)
            sp = split_of_identity(s["identity"]) if split == "identity" else split
            extra = dict(unmasked=s["unmasked"], mask=s["mask"]) if with_mask else {}
            w.add(s["image"], file, landmarks=s["landmarks"], aus=s["aus"], pose=s["pose"],
                  identity=s["identity"], expression=s["expression"] if s["expression"] >= 0 else None,
                  smiling=int(s["smiling"]), split=sp, source=f"synthfaces:seed={seed}", **extra)
    return Path(out_dir)
