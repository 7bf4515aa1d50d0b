"""The data of the ConvNeXt GANimation thesis' training flow, and test edits whose exact result is known.

Training (:func:`training_data`): faces with their 17 AU intensities. The target of an edit is the
AU vector of *another, random* training face (the thesis' step 1: "pick a random data set image as
the target expression"), drawn in the step. ``demo``/``quick`` use SynthFaces: half drawn from the 8
expression presets of the thesis' Table 2.2 (``expression="random"``), half with every AU drawn
independently (``expression=None``), so that each AU is seen alone as well as in expressions.
``full`` reads a face folder in the on-disk format with AU columns (OpenFace intensities of v2
crops, made by ``data_scripts``).

Testing (:func:`edit_set`): what the seed could not measure. A SynthFaces person at a pose and in
a scene is drawn once with the input AUs and once more with the target AUs: the second picture is
the exact truth of the edit. Test people are never in training (identities 100,000+; training
uses ``range(10_000)``). Kinds:

* ``"random"``: target = the AUs of another test face (the training flow, on unseen people);
* ``"presets"``: the 8 expressions of Table 2.2 at ``PRESET_INTENSITY`` (Disgust = AU9 + AU15: AU16
  of the thesis is not one of the 17 OpenFace AUs, so it is left out, as SynthFaces does);
* ``"close_mouth"``: faces with parted lips and teeth (AU25 and AU26 >= 0.8) edited to the same AUs
  with AU10, AU25 and AU26 at 0 (a closed mouth): where the seed saw white specks (residual teeth).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from helpers.core import runtime
from helpers.core.files import atomic_write
from helpers.core.images import ImageBank
from helpers.faces.data import AU_COLUMNS, AUS, FaceFolder
from helpers.ganimation.model import Config
from helpers.synthfaces import EXPRESSION_NAMES, SynthFaces, bank, expression_aus, render

__all__ = ["CHANGED", "TEST_SEED", "TEST_IDENTITIES", "PRESET_INTENSITY", "EDIT_KINDS", "TrainingFaces", "FolderFaces",
           "training_data", "EditSet", "edit_set", "preset_aus", "mouth_closed", "au_index"]

TEST_SEED = 30_030
TEST_IDENTITIES = range(100_000, 101_000)
PRESET_INTENSITY = 1.5
EDIT_KINDS = ("random", "presets", "close_mouth")
#: an AU counts as "moved" by an edit when target and input differ by at least this much
CHANGED = 0.5
_FREE_SEED_OFFSET = 7919       # the free-AU half of the training faces uses data_seed + this


def au_index(au: int) -> int:
    """Position of AU number ``au`` (e.g. 12) in the 17-vector (``helpers.faces.data.AUS``)."""
    if au not in AUS:
        raise ValueError(f"AU{au} is not one of the 17 OpenFace AUs {AUS}")
    return AUS.index(au)


def preset_aus(name: str, intensity: float = PRESET_INTENSITY) -> np.ndarray:
    """(17,) AUs of an expression of Table 2.2 at ``intensity`` (helpers.synthfaces.expression_aus)."""
    return expression_aus(name, intensity)


def mouth_closed(aus: np.ndarray) -> np.ndarray:
    """The same AUs with AU10 (upper lip raiser), AU25 (lips part) and AU26 (jaw drop) at 0."""
    out = np.array(aus, dtype=np.float32, copy=True)
    for au in (10, 25, 26):
        out[..., au_index(au)] = 0.0
    return out


# ----------------------------------------------------------------------------- training data
class TrainingFaces(ImageBank):
    """uint8 faces (N, 3, S, S) and their AUs (N, 17) in memory; ``batch(idx)`` -> dict(image, aus)."""

    def __init__(self, u8: torch.Tensor, aus: torch.Tensor):
        super().__init__(u8)
        if aus.shape != (len(u8), len(AUS)):
            raise ValueError(f"aus must be ({len(u8)}, {len(AUS)}), got {tuple(aus.shape)}")
        self.aus = aus.float()

    def __getitem__(self, i: int) -> dict:
        return {"image": super().__getitem__(i), "aus": self.aus[i]}

    def batch(self, idx: torch.Tensor) -> dict:
        return {"image": super().batch(idx), "aus": self.aus[idx]}


class FolderFaces(torch.utils.data.Dataset):
    """The rows of a face folder that have all 17 AU columns, read lazily (``full`` profile).

    Items: dict(image (3, S, S) in [-1, 1], aus (17,)); ``aus`` holds every row's AUs (the
    targets are drawn from them).
    """

    def __init__(self, root, split: str | None, size: int):
        root = Path(root)
        if not root.exists():
            raise ValueError(f"data folder {root} does not exist (expected the on-disk face format with "
                             f"AU columns {AU_COLUMNS[0]}..{AU_COLUMNS[-1]}; see data_scripts/)")
        self.folder = FaceFolder(root, split=split, size=size)
        df = self.folder.df
        missing = [c for c in AU_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"{root}: the manifest has no AU columns {missing[:3]}...; label the faces with "
                             "OpenFace first (data_scripts/label.py)")
        a = df[list(AU_COLUMNS)].to_numpy(np.float32)
        self.rows = np.flatnonzero(np.isfinite(a).all(1))
        if len(self.rows) == 0:
            raise ValueError(f"{root}: no row (split {split!r}) has all 17 AU intensities")
        self.aus = torch.from_numpy(a[self.rows])

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.folder[int(self.rows[int(i)])]["image"], "aus": self.aus[int(i)]}


def training_data(cfg: Config, progress: bool = True):
    """SynthFaces (``data="synthfaces"``: presets and free AUs, rendered once) or a face folder."""
    if cfg.data != "synthfaces":
        return FolderFaces(cfg.data, cfg.data_split, cfg.size)
    n_p = int(round(cfg.n_train * cfg.presets_share))
    parts = []
    if n_p:
        parts.append(bank(n_p, cfg.size, cfg.data_seed, keys=("image", "aus"), progress=progress,
                          expression="random", pose_range=cfg.pose_range))
    if cfg.n_train - n_p:
        parts.append(bank(cfg.n_train - n_p, cfg.size, cfg.data_seed + _FREE_SEED_OFFSET, keys=("image", "aus"),
                          progress=progress, expression=None, pose_range=cfg.pose_range))
    return TrainingFaces(torch.cat([p["image"] for p in parts]), torch.cat([p["aus"] for p in parts]))


# ----------------------------------------------------------------------------- test edits
@dataclass
class EditSet:
    """Test edits with their exact truth: inputs, target AUs and the same faces rendered with them."""

    kind: str
    images: torch.Tensor          # (N, 3, S, S) in [-1, 1]: the inputs
    truth: torch.Tensor           # (N, 3, S, S): the same person, pose and scene with the target AUs
    aus: torch.Tensor             # (N, 17) the inputs' AUs
    target: torch.Tensor          # (N, 17) the target AUs
    landmarks: torch.Tensor       # (N, 68, 2) of the inputs
    truth_landmarks: torch.Tensor  # (N, 68, 2) of the truth
    identity: torch.Tensor        # (N,) person ids
    labels: list = field(default_factory=list)   # per edit: "random", a preset name, "close mouth"
    scenes: list = field(default_factory=list)   # per edit: the render() arguments (pose, seed, scale, shift)

    __test__ = False

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, idx) -> "EditSet":
        idx = torch.as_tensor(idx, dtype=torch.long)
        return EditSet(self.kind, self.images[idx], self.truth[idx], self.aus[idx], self.target[idx],
                       self.landmarks[idx], self.truth_landmarks[idx], self.identity[idx],
                       [self.labels[i] for i in idx.tolist()], [self.scenes[i] for i in idx.tolist()])

    def render(self, i: int, aus, size: int | None = None, landmarks: bool = False):
        """Edit ``i``'s person, pose and scene drawn with ``aus``: the truth of any AU edit, (3, S, S).

        With ``landmarks=True`` returns (image, landmarks (68, 2)).
        """
        sc = self.scenes[i]
        r = render(int(self.identity[i]), aus, sc["pose"], size or self.images.shape[-1], None, sc["seed"],
                   scale=sc["scale"], shift=tuple(sc["shift"]))
        img = torch.from_numpy(r["image"]).permute(2, 0, 1).float().div(127.5).sub(1.0)
        return (img, torch.from_numpy(r["landmarks"])) if landmarks else img


_EDIT_CACHE: dict[str, dict] = {}


def _draw(q: dict, aus: np.ndarray, size: int) -> dict:
    return render(q["identity"], aus, q["pose"], size, None, q["seed"], scale=q["scale"], shift=tuple(q["shift"]))


def _edit_arrays(kind: str, n: int, size: int, seed: int, pose_range: float, intensity: float,
                 progress: bool) -> dict:
    ids = list(TEST_IDENTITIES)
    mixed = [SynthFaces(seed, size, expression="random", pose_range=pose_range, identities=ids),
             SynthFaces(seed + 1, size, expression=None, pose_range=pose_range, identities=ids)]
    out = {k: [] for k in ("images", "truth", "aus", "target", "landmarks", "truth_landmarks", "identity", "labels",
                           "pose", "scene_seed", "scale", "shift")}
    j = 0
    bar = runtime.bar(total=n, desc=f"rendering {n} {kind} test edits", disable=not progress, leave=False)
    while len(out["images"]) < n:
        i = len(out["images"])
        q = mixed[j % 2].params(j)
        j += 1
        if kind == "random":
            target = mixed[(j + 1) % 2].params(10 ** 6 - j)["aus"]      # another test face's AUs
            label = "random"
        elif kind == "presets":
            label = EXPRESSION_NAMES[i % len(EXPRESSION_NAMES)]
            target = preset_aus(label, intensity)
        else:
            a = np.array(q["aus"], np.float32)
            r = np.random.default_rng((seed, j))
            a[au_index(25)] = r.uniform(0.8, 2.0)
            a[au_index(26)] = r.uniform(0.8, 2.0)
            a[au_index(23)] = 0.0                                     # no competing lip tightener
            q = {**q, "aus": a}
            target, label = mouth_closed(a), "close mouth"
        src, dst = _draw(q, q["aus"], size), _draw(q, target, size)
        out["images"].append(src["image"].transpose(2, 0, 1))
        out["truth"].append(dst["image"].transpose(2, 0, 1))
        out["aus"].append(src["aus"])
        out["target"].append(dst["aus"])
        out["landmarks"].append(src["landmarks"])
        out["truth_landmarks"].append(dst["landmarks"])
        out["identity"].append(q["identity"])
        out["labels"].append(label)
        out["pose"].append(np.asarray(q["pose"], np.float32))
        out["scene_seed"].append(q["seed"])
        out["scale"].append(q["scale"])
        out["shift"].append(np.asarray(q["shift"], np.float32))
        bar.update(1)
    bar.close()
    arrays = {k: np.stack(v) for k, v in out.items() if k != "labels"}
    arrays["labels"] = np.array(out["labels"])
    return arrays


def edit_set(kind: str = "random", n: int = 64, size: int = 64, seed: int = TEST_SEED, *,
             pose_range: float = 15.0, intensity: float = PRESET_INTENSITY, progress: bool = False,
             cache: bool = True) -> EditSet:
    """``n`` test edits of ``kind`` (see the module docstring) at ``size`` px, deterministic by the arguments.

    Rendered once per process and cached on disk under ``runs/_cache`` (written atomically).
    """
    if kind not in EDIT_KINDS:
        raise ValueError(f"kind must be one of {EDIT_KINDS}, got {kind!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not isinstance(size, int) or size < 16 or size % 4:
        raise ValueError(f"size must be an int >= 16 and a multiple of 4, got {size!r}")
    spec = json.dumps(dict(kind=kind, n=n, size=size, seed=seed, pose=pose_range, intensity=intensity, v=2),
                      sort_keys=True)
    arrays = _EDIT_CACHE.get(spec)
    path = runtime.RUNS_DIR / "_cache" / f"ganimation-edits-{hashlib.sha1(spec.encode()).hexdigest()[:16]}.npz"
    if arrays is None and cache and path.exists():
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception:  # noqa: BLE001 - a damaged cache is rendered again
            arrays = None
    if arrays is None:
        arrays = _edit_arrays(kind, n, size, seed, pose_range, intensity, progress)
        if cache:
            atomic_write(path, lambda f: np.savez(f, **arrays))
    _EDIT_CACHE[spec] = arrays

    def img(a):
        return torch.from_numpy(a).float().div(127.5).sub(1.0)

    return EditSet(kind, img(arrays["images"]), img(arrays["truth"]), torch.from_numpy(arrays["aus"]).float(),
                   torch.from_numpy(arrays["target"]).float(), torch.from_numpy(arrays["landmarks"]).float(),
                   torch.from_numpy(arrays["truth_landmarks"]).float(), torch.from_numpy(arrays["identity"]).long(),
                   [str(x) for x in arrays["labels"]],
                   [{"pose": tuple(float(v) for v in arrays["pose"][i]), "seed": int(arrays["scene_seed"][i]),
                     "scale": float(arrays["scale"][i]), "shift": tuple(float(v) for v in arrays["shift"][i])}
                    for i in range(len(arrays["labels"]))])
