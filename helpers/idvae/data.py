"""The identity/expression VAE paper's two data sets, from SynthFaces sequences or from folders the data scripts wrote.

The paper trains on frames sampled at equal intervals from every expression sequence of its
training subjects (weak supervision: only the subject ID is used) and measures expression
recognition on *apex* frames, of training and of held-out test subjects:

* ``training``: MUG + CK+ + RAVDESS, 195 subjects, 29,085 frames;
* ``recognition``: frames where the labelled expression shows (CK+ last frames, MUG around the
  middle), 1,842 images of training subjects and 195 of the 7 test subjects.

:func:`synth_sets` draws the same design with SynthFaces: for each subject, one sequence per
expression (the seven non-neutral presets) from neutral (intensity 0) to an apex intensity drawn
per sequence, with the subject's own scene (background, light) and a head pose drawn per
sequence; ``frames`` training frames at equal intervals; the last ``apex_frames`` frames of each
sequence as recognition images plus one neutral frame per subject (label ``natural``); held-out
test subjects drawn the same way. SynthFaces knows every frame's exact AU intensities, so the
expression latent can also be checked against them (a linear probe).

:func:`folder_sets` reads what ``python -m data_scripts.prepare ckplus|mug|ravdess ... `` and
``... combine`` write (the on-disk face format with ``subject``, ``expression`` and ``split``
columns): the training folder (its ``split == "train"`` rows) and the recognition folder (both
splits). Every set is held in memory as uint8 (N, 3, S, S); :meth:`FaceSet.batch` serves the
shared training loop.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from helpers.core.runtime import bar as tqdm

from helpers.core import runtime
from helpers.core.files import atomic_write
from helpers.faces.data import AU_COLUMNS, AUS, EXPRESSION_NAMES, FaceFolder, expression_id, read_manifest
from helpers.idvae.model import Config
from helpers.synthfaces import expression_aus, render

__all__ = ["FaceSet", "Sets", "SEQUENCE_EXPRESSIONS", "TRAIN_IDENTITY0", "TEST_IDENTITY0", "synth_sets",
           "folder_sets", "load_sets", "n_train_images", "subject_members", "sequence_frames"]

#: the seven expressions that get a neutral -> apex sequence (EXPRESSION_NAMES minus "natural")
SEQUENCE_EXPRESSIONS = tuple(e for e in EXPRESSION_NAMES if e != "natural")
TRAIN_IDENTITY0 = 20_000     # SynthFaces person ids of the training subjects start here
TEST_IDENTITY0 = 30_000      # ... and of the held-out test subjects here (disjoint)
APEX_RANGE = (1.2, 2.0)      # apex intensity of a sequence (SynthFaces' preset scale)
APEX_STEP = 0.1              # recognition frames: positions 1.0, 0.9, ... (CK+: the last frames)
_VERSION = 1                 # bump when the rendering of the sets changes (cache key)


@dataclass
class FaceSet:
    """Images with their labels, in memory.

    ``images`` uint8 (N, 3, S, S); ``subject`` int64 (N,) index into ``subject_names``;
    ``expression`` int64 (N,) id into ``EXPRESSION_NAMES`` (-1 unknown); ``aus`` float32 (N, 17)
    (NaN unknown); ``position`` float32 (N,) in the sequence (0 neutral, 1 apex; NaN unknown);
    ``sequence`` int64 (N,) (-1 unknown).
    """
    images: torch.Tensor
    subject: torch.Tensor
    subject_names: list[str]
    expression: torch.Tensor
    aus: torch.Tensor
    position: torch.Tensor
    sequence: torch.Tensor

    def __post_init__(self):
        n = len(self.images)
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"FaceSet.images must be uint8 (N, 3, S, S), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        for name in ("subject", "expression", "aus", "position", "sequence"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"FaceSet.{name} has {len(getattr(self, name))} rows, images {n}")
        if n and (int(self.subject.min()) < 0 or int(self.subject.max()) >= len(self.subject_names)):
            raise ValueError("FaceSet.subject must index subject_names")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])

    def float_images(self, idx=None) -> torch.Tensor:
        """Images (N, 3, S, S) as float in [-1, 1] (all, or the rows ``idx``)."""
        u8 = self.images if idx is None else self.images[idx]
        return u8.float().div_(127.5).sub_(1.0)

    def batch(self, idx: torch.Tensor) -> dict:
        """What the training loop reads: image in [-1, 1], subject index, row index."""
        return {"image": self.float_images(idx), "subject": self.subject[idx], "index": idx.clone()}

    def subset(self, mask) -> "FaceSet":
        m = torch.as_tensor(mask, dtype=torch.bool)
        return FaceSet(self.images[m], self.subject[m], self.subject_names, self.expression[m], self.aus[m],
                       self.position[m], self.sequence[m])


@dataclass
class Sets:
    """The data of one run: ``train`` (training frames of training subjects), ``recog_train`` and
    ``recog_test`` (recognition images of training / test subjects), ``test_frames`` (all frames of
    the test subjects, for probes; may equal ``recog_test``), and where they came from."""
    train: FaceSet
    recog_train: FaceSet
    recog_test: FaceSet
    test_frames: FaceSet
    source: dict = field(default_factory=dict)

    def __len__(self) -> int:          # the training loop reads the training frames
        return len(self.train)

    def batch(self, idx: torch.Tensor) -> dict:
        return self.train.batch(idx)


# ----------------------------------------------------------------------------- SynthFaces sequences
def sequence_frames(frames: int, apex_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the training frames, positions of the recognition frames) in [0, 1]."""
    train = np.linspace(0.0, 1.0, frames) if frames > 1 else np.ones(1)
    apex = np.round(1.0 - APEX_STEP * np.arange(apex_frames), 4)
    return np.round(train, 4), apex


def _subject_scene(identity: int, data_seed: int) -> int:
    return int(np.random.default_rng((data_seed, identity, 7)).integers(1 << 31))


def _render_subjects(identities, size: int, frames: int, apex_frames: int, pose_range: float, data_seed: int,
                     progress: bool, desc: str, recognition_only: bool = False) -> dict[str, np.ndarray]:
    """Render every sequence of ``identities``: arrays image, subject, expression, aus, position,
    sequence, is_train (a training frame), is_apex (a recognition frame), is_neutral. With
    ``recognition_only`` only the recognition frames are drawn (the same pixels: every frame is a
    function of subject, expression and position)."""
    pos_train, pos_apex = sequence_frames(frames, apex_frames)
    all_positions = np.unique(np.concatenate([pos_train, pos_apex]))
    rows = []
    for k, ident in enumerate(identities):
        scene = _subject_scene(ident, data_seed)
        for e, expr in enumerate(SEQUENCE_EXPRESSIONS):
            r = np.random.default_rng((data_seed, ident, e))
            apex = r.uniform(*APEX_RANGE)
            jitter = np.where(r.uniform(size=len(AUS)) < 0.25, r.uniform(0, 0.3, len(AUS)), 0.0)
            pose = (r.uniform(-pose_range, pose_range), r.uniform(-0.6 * pose_range, 0.6 * pose_range),
                    r.uniform(-0.5 * pose_range, 0.5 * pose_range))
            full = expression_aus(expr, apex) + jitter
            positions = all_positions
            if recognition_only:
                positions = np.unique(np.concatenate([pos_apex, [0.0] if e == 0 else []]))
            for p in positions:
                rows.append(dict(subject=k, ident=ident, expr=EXPRESSION_NAMES.index(expr), seq=k * 8 + e,
                                 aus=np.clip(full * p, 0, 3).astype(np.float32), pose=pose, pos=p, scene=scene,
                                 is_train=bool(np.isclose(pos_train, p).any()),
                                 is_apex=bool(np.isclose(pos_apex, p).any()),
                                 is_neutral=bool(e == 0 and p == 0.0)))
    n = len(rows)
    out = {"image": np.empty((n, 3, size, size), np.uint8), "subject": np.empty(n, np.int64),
           "expression": np.empty(n, np.int64), "aus": np.empty((n, len(AUS)), np.float32),
           "position": np.empty(n, np.float32), "sequence": np.empty(n, np.int64),
           "is_train": np.empty(n, bool), "is_apex": np.empty(n, bool), "is_neutral": np.empty(n, bool)}
    for i, q in enumerate(tqdm(rows, desc=desc, disable=not progress, mininterval=1.0, leave=False)):
        img = render(q["ident"], q["aus"], q["pose"], size, seed=q["scene"])["image"]
        out["image"][i] = img.transpose(2, 0, 1)
        out["subject"][i], out["expression"][i], out["aus"][i] = q["subject"], q["expr"], q["aus"]
        out["position"][i], out["sequence"][i] = q["pos"], q["seq"]
        out["is_train"][i], out["is_apex"][i], out["is_neutral"][i] = q["is_train"], q["is_apex"], q["is_neutral"]
    return out


def _cached_render(spec: dict, progress: bool, desc: str) -> dict[str, np.ndarray]:
    key = json.dumps({**spec, "version": _VERSION}, sort_keys=True)
    path = runtime.RUNS_DIR / "_cache" / f"idvae-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
            probe = _render_subjects(spec["identities"][:1], spec["size"], spec["frames"], spec["apex_frames"],
                                     spec["pose_range"], spec["data_seed"], False, desc, spec["recognition_only"])
            if np.array_equal(probe["image"][:1], arrays["image"][:1]):
                return arrays
        except Exception:  # noqa: BLE001 - a damaged cache is rendered again
            pass
    arrays = _render_subjects(spec["identities"], spec["size"], spec["frames"], spec["apex_frames"],
                              spec["pose_range"], spec["data_seed"], progress, desc, spec["recognition_only"])

    def write(f):
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        f.write(buf.getvalue())
    atomic_write(path, write)
    return arrays


def _faceset(a: dict, mask: np.ndarray, names: list[str]) -> FaceSet:
    t = {k: torch.from_numpy(np.ascontiguousarray(v[mask])) for k, v in a.items()}
    return FaceSet(t["image"], t["subject"], names, t["expression"], t["aus"], t["position"], t["sequence"])


def synth_sets(cfg: Config, progress: bool = True, recognition_only: bool = False) -> Sets:
    """The SynthFaces version of the paper's training and recognition sets (see the module docstring).

    ``recognition_only``: draw only the recognition images (what measuring a trained model needs);
    ``train`` and ``test_frames`` are then empty sets.
    """
    common = dict(size=cfg.size, frames=cfg.frames, apex_frames=cfg.apex_frames, pose_range=cfg.pose_range,
                  data_seed=cfg.data_seed, recognition_only=recognition_only)
    tr_ids = [TRAIN_IDENTITY0 + i for i in range(cfg.subjects)]
    te_ids = [TEST_IDENTITY0 + i for i in range(cfg.test_subjects)]
    a = _cached_render({**common, "identities": tr_ids}, progress, f"SynthFaces sequences, {cfg.subjects} subjects")
    b = _cached_render({**common, "identities": te_ids}, progress, f"SynthFaces sequences, {cfg.test_subjects} test subjects")
    for arr in (a, b):   # the neutral frame of a recognition set is labelled "natural"
        arr["expression"] = np.where(arr["is_neutral"], 0, arr["expression"])
        if recognition_only:
            arr["is_train"][:] = False
    names_tr, names_te = [f"synth{i}" for i in tr_ids], [f"synth{i}" for i in te_ids]
    recog = lambda arr: arr["is_apex"] | arr["is_neutral"]  # noqa: E731
    return Sets(train=_faceset(a, a["is_train"], names_tr), recog_train=_faceset(a, recog(a), names_tr),
                recog_test=_faceset(b, recog(b), names_te), test_frames=_faceset(b, b["is_train"], names_te),
                source={"name": "SynthFaces sequences (helpers.idvae.data.synth_sets)",
                        "train_subjects": cfg.subjects, "test_subjects": cfg.test_subjects,
                        "identities": f"train {tr_ids[0]}.., test {te_ids[0]}.. (disjoint)"})


# ----------------------------------------------------------------------------- folders (full profile)
def _recognition_root(cfg: Config) -> Path:
    if cfg.recognition:
        return Path(cfg.recognition)
    root = Path(cfg.data)
    sib = root.parent / "recognition"
    if root.name == "training" and (sib / "manifest.csv").exists():
        return sib
    return root


def _folder_set(root: Path, split: str | None, size: int, names: list[str] | None, progress: bool,
                desc: str) -> FaceSet:
    folder = FaceFolder(root, split=split, size=size)
    df = folder.df
    if "subject" not in df.columns or df["subject"].isna().any():
        raise ValueError(f"{root}: every row needs a 'subject' (the only label this method trains with)")
    subj = df["subject"].astype(str).tolist()
    names = sorted(set(subj)) if names is None else names
    index = {s: k for k, s in enumerate(names)}
    n = len(folder)
    images = torch.empty((n, 3, size, size), dtype=torch.uint8)
    for i in tqdm(range(n), desc=desc, disable=not progress, mininterval=1.0, leave=False):
        images[i] = folder[i]["image"].add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    expr = (torch.tensor([expression_id(v) for v in df["expression"]], dtype=torch.int64)
            if "expression" in df.columns else torch.full((n,), -1, dtype=torch.int64))
    aus = torch.full((n, len(AUS)), float("nan"))
    for j, c in enumerate(AU_COLUMNS):
        if c in df.columns:
            aus[:, j] = torch.from_numpy(df[c].to_numpy(np.float32))
    pos = torch.tensor(df["position"].to_numpy(np.float32)) if "position" in df.columns else torch.full((n,), float("nan"))
    seq_codes = ({s: k for k, s in enumerate(sorted(set(df["sequence"].astype(str))))}
                 if "sequence" in df.columns else {})
    seq = (torch.tensor([seq_codes[str(s)] for s in df["sequence"]]) if seq_codes else torch.full((n,), -1))
    sid = torch.tensor([index.get(s, -1) for s in subj], dtype=torch.int64)
    unknown = sorted({s for s in subj if s not in index})
    if unknown:   # subjects outside ``names`` (test subjects): appended, numbered after them
        names = names + unknown
        index = {s: k for k, s in enumerate(names)}
        sid = torch.tensor([index[s] for s in subj], dtype=torch.int64)
    return FaceSet(images, sid, names, expr.long(), aus.float(), pos.float(), seq.long())


def folder_sets(cfg: Config, progress: bool = True) -> Sets:
    """The paper's sets from folders in the on-disk face format (what ``data_scripts.prepare`` writes).

    ``cfg.data``: the training folder; its ``split == "train"`` rows are trained on (all rows if it
    has no ``split`` column). ``cfg.recognition`` (default: a ``recognition`` folder beside a
    ``training`` folder, else ``cfg.data`` itself): recognition images with ``expression`` labels,
    ``split`` train/test by subject. Test subjects must not appear in the training rows.
    """
    root = Path(cfg.data)
    if not (root / "manifest.csv").exists():
        raise ValueError(f"data folder {root} has no manifest.csv (expected the on-disk face format, e.g. "
                         "the output of python -m data_scripts.prepare ckplus|mug|ravdess|combine)")
    df = read_manifest(root)
    split = "train" if "split" in df.columns else None
    train = _folder_set(root, split, cfg.size, None, progress, f"reading {root.name}")
    rroot = _recognition_root(cfg)
    rdf = read_manifest(rroot)
    if "expression" not in rdf.columns or "split" not in rdf.columns:
        raise ValueError(f"recognition folder {rroot} needs 'expression' and 'split' columns "
                         "(data_scripts.prepare writes both)")
    labelled = rdf["expression"].notna() & (rdf["expression"].astype(str) != "")
    if not labelled.any():
        raise ValueError(f"recognition folder {rroot} has no labelled expression")
    names = train.subject_names
    sets = {}
    for sp in ("train", "test"):
        if not ((rdf["split"] == sp) & labelled).any():
            raise ValueError(f"recognition folder {rroot} has no labelled images with split={sp!r}")
        fs = _folder_set(rroot, sp, cfg.size, names, progress, f"reading {rroot.name} ({sp})")
        sets[sp] = fs.subset(fs.expression >= 0)
    test_names = {sets["test"].subject_names[k] for k in sets["test"].subject.tolist()}
    leak = sorted(test_names & set(names))
    if leak:
        raise ValueError(f"test subjects {leak[:5]} also appear in the training rows of {root}")
    if "split" in df.columns and (df["split"] == "test").any():
        test_frames = _folder_set(root, "test", cfg.size, names, progress, f"reading {root.name} (test)")
    else:
        test_frames = sets["test"]
    info = root / "data.json"
    source = json.loads(info.read_text()) if info.exists() else {"name": str(root)}
    source.update(training=str(root), recognition=str(rroot))
    return Sets(train, sets["train"], sets["test"], test_frames, source)


def load_sets(cfg: Config, progress: bool = True, recognition_only: bool = False) -> Sets:
    """:func:`synth_sets` for ``data="synthfaces"``, else :func:`folder_sets` (which reads everything)."""
    if cfg.data == "synthfaces":
        return synth_sets(cfg, progress, recognition_only)
    return folder_sets(cfg, progress)


def n_train_images(cfg: Config) -> int:
    """Number of training images of ``cfg`` without rendering or reading any image."""
    if cfg.data == "synthfaces":
        return cfg.subjects * len(SEQUENCE_EXPRESSIONS) * len(sequence_frames(cfg.frames, cfg.apex_frames)[0])
    df = read_manifest(cfg.data)
    return int((df["split"] == "train").sum()) if "split" in df.columns else len(df)


def subject_members(subject: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(order, start, count): the rows of subject k are ``order[start[k] : start[k] + count[k]]``."""
    order = torch.argsort(subject, stable=True)
    n_sub = int(subject.max()) + 1 if len(subject) else 0
    count = torch.bincount(subject, minlength=n_sub)
    start = torch.cumsum(count, 0) - count
    return order, start, count
