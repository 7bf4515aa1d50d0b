"""The one on-disk face format: its reader (``FaceFolder``), writer (``FaceWriter``) and splits.

root/manifest.csv + image files (PNG/JPEG) referenced by the ``file`` column (relative to root).
Optional columns: subject, expression, smiling, split, source, x0,y0..x67,y67, AU01..AU45,
yaw,pitch,roll, unmasked (file of the same face without occlusion), mask (file, 0/255 PNG).
Extra columns are allowed and kept. Image conversions live in :mod:`helpers.core.images`
(re-exported here because readers of this format use them all the time).
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from helpers.core.files import atomic_write_bytes  # noqa: F401  (re-exported: data scripts use it from here too)
from helpers.core.images import to_tensor, to_uint8  # noqa: F401  (re-exported)
from helpers.faces.landmarks import scale_landmarks

MANIFEST = "manifest.csv"
AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)  # == helpers.synthfaces.AUS
AU_COLUMNS = tuple(f"AU{a:02d}" for a in AUS)
POSE_COLUMNS = ("yaw", "pitch", "roll")
LABEL_COLUMNS = ("subject", "expression", "smiling", "split", "source")
SPLITS = ("train", "val", "test")
# Expression ids 0..7 (the ConvNeXt GANimation thesis' Table 2.2), the same order as helpers.synthfaces.EXPRESSIONS.
EXPRESSION_NAMES = ("natural", "happiness", "sadness", "surprise", "fear", "anger", "disgust", "contempt")
# Other spellings found in real data sets (CK+, JAFFE, FER) -> our names.
EXPRESSION_ALIASES = {
    "neutral": "natural", "ne": "natural", "happy": "happiness", "ha": "happiness", "joy": "happiness",
    "sad": "sadness", "sa": "sadness", "surprised": "surprise", "su": "surprise", "fearful": "fear",
    "fe": "fear", "angry": "anger", "an": "anger", "disgusted": "disgust", "di": "disgust",
    "co": "contempt",
}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def landmark_columns(n: int = 68) -> list[str]:
    """Manifest column names of the landmarks: ``x0, y0, x1, y1, ..., x67, y67``."""
    return [f"{c}{i}" for i in range(n) for c in ("x", "y")]


LANDMARK_COLUMNS = tuple(landmark_columns())


def expression_id(value) -> int:
    """Map an expression label (id 0..7, its name, or a common alias) to an id; -1 if missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return -1
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()):
        v = int(value)
        if not 0 <= v < len(EXPRESSION_NAMES):
            raise ValueError(f"expression id must be in 0..{len(EXPRESSION_NAMES) - 1}, got {v}")
        return v
    s = str(value).strip().lower()
    try:
        f = float(s)
    except ValueError:
        pass
    else:
        if not f.is_integer():
            raise ValueError(f"expression id must be an integer 0..7, got {value!r}")
        return expression_id(int(f))
    if s == "":
        return -1
    s = EXPRESSION_ALIASES.get(s, s)
    if s not in EXPRESSION_NAMES:
        raise ValueError(f"unknown expression {value!r}; expected an id 0..7 or one of {EXPRESSION_NAMES} "
                         f"(aliases: {sorted(EXPRESSION_ALIASES)})")
    return EXPRESSION_NAMES.index(s)


def _manifest_path(root) -> Path:
    p = Path(root)
    if p.is_dir():
        p = p / MANIFEST
    return p


def read_manifest(root) -> pd.DataFrame:
    """Read and validate ``root/manifest.csv`` (``root`` may also be the CSV path itself).

    Checks (each failure raises ``ValueError`` naming the problem): a ``file`` column with no empty
    or duplicated entries; landmarks all 136 columns or none, numeric; AU and pose columns numeric;
    ``smiling`` in {0, 1} (CelebA's {-1, 1} is accepted and mapped to {0, 1}); ``split`` in
    train/val/test; ``expression`` an id 0..7 or a known name. Returns the DataFrame with ``file``,
    ``subject``, ``split``, ``source`` as strings and ``smiling`` as a nullable integer.
    """
    path = _manifest_path(root)
    if not path.exists():
        raise FileNotFoundError(f"no manifest at {path} (expected a folder with {MANIFEST})")
    text_cols = {"file": str, "subject": str, "split": str, "source": str, "expression": str,
                 "unmasked": str, "mask": str}
    try:
        df = pd.read_csv(path, dtype=text_cols, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError as e:
        raise ValueError(f"{path} is empty (it needs at least a header with a 'file' column)") from e
    where = f"in {path}"
    if "file" not in df.columns:
        raise ValueError(f"{where}: missing required column 'file' (found {list(df.columns)[:8]}...)")
    if df["file"].isna().any():
        rows = list(df.index[df["file"].isna()][:5])
        raise ValueError(f"{where}: empty 'file' entries in rows {rows}")
    dup = df["file"][df["file"].duplicated()]
    if len(dup):
        raise ValueError(f"{where}: duplicated files, e.g. {list(dup[:5])}")
    lm_cols = landmark_columns()
    present = [c for c in lm_cols if c in df.columns]
    if present and len(present) != len(lm_cols):
        missing = [c for c in lm_cols if c not in df.columns]
        raise ValueError(f"{where}: landmark columns must be all of x0,y0..x67,y67 or none; "
                         f"missing {missing[:6]}{'...' if len(missing) > 6 else ''}")
    numeric = present + [c for c in AU_COLUMNS + POSE_COLUMNS if c in df.columns]
    for c in numeric:
        if not pd.api.types.is_numeric_dtype(df[c]):
            conv = pd.to_numeric(df[c], errors="coerce")
            bad = df[c][conv.isna() & df[c].notna()]
            if len(bad):
                raise ValueError(f"{where}: column {c!r} must be numeric, got e.g. {bad.iloc[0]!r}")
            df[c] = conv
        df[c] = df[c].astype("float32")
    if "smiling" in df.columns:
        s = pd.to_numeric(df["smiling"], errors="coerce")
        bad = df["smiling"][s.isna() & df["smiling"].notna()]
        vals = set(s.dropna().unique().tolist())
        if len(bad) or not vals <= {-1, 0, 1}:
            raise ValueError(f"{where}: 'smiling' must be 0/1 (or CelebA's -1/1), got {sorted(vals)[:5]}")
        if -1 in vals and 0 in vals:
            raise ValueError(f"{where}: 'smiling' mixes -1, 0 and 1; use 0/1")
        df["smiling"] = s.map(lambda v: v if pd.isna(v) else int(v == 1)).astype("Int64")
    if "split" in df.columns:
        bad = sorted(set(df["split"].dropna()) - set(SPLITS))
        if bad:
            raise ValueError(f"{where}: 'split' must be one of {SPLITS}, got {bad[:5]}")
    if "expression" in df.columns:
        for v in df["expression"].dropna().unique():
            expression_id(v)  # raises with a clear message
    return df


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------

def encode_image(image: np.ndarray, suffix: str = ".png") -> bytes:
    """uint8 HWC RGB (or HW grey) array -> PNG or JPEG (quality 95) bytes."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (use helpers.data.to_uint8), got dtype {arr.dtype}")
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3))):
        raise ValueError(f"images must be HxWx3 or HxW uint8, got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    buf = io.BytesIO()
    suffix = suffix.lower()
    if suffix == ".png":
        Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    elif suffix in (".jpg", ".jpeg"):
        Image.fromarray(arr).save(buf, format="JPEG", quality=95)
    else:
        raise ValueError(f"image file must end in one of {IMAGE_EXTENSIONS}, got {suffix!r}")
    return buf.getvalue()


def load_image(path) -> np.ndarray:
    """Read an image file as uint8 HWC RGB (fully decoded, so a truncated file raises here)."""
    with Image.open(path) as im:
        im.load()
        return np.asarray(im.convert("RGB"))


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------

class FaceWriter:
    """Write a face folder: ``with FaceWriter(root) as w: w.add(image_uint8, landmarks=..., smiling=1)``.

    Each image is written atomically as it is added; the manifest is written atomically on close
    (also when the ``with`` block raises, so finished images are never lost) and every
    ``flush_every`` additions. Re-runnable: an existing manifest is loaded first; ``add`` with a
    ``file`` already listed replaces that row (and the image), or, with ``skip_existing=True``,
    leaves it untouched and returns ``None``, so an interrupted export can simply be run again.
    ``overwrite=True`` starts a fresh manifest instead (old image files are not deleted).
    """

    def __init__(self, root, *, skip_existing: bool = False, overwrite: bool = False,
                 flush_every: int | None = 1000, image_format: str = ".png"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        if image_format.lower() not in IMAGE_EXTENSIONS:
            raise ValueError(f"image_format must be one of {IMAGE_EXTENSIONS}, got {image_format!r}")
        self.skip_existing = skip_existing
        self.flush_every = flush_every
        self.image_format = image_format.lower()
        self._rows: dict[str, dict] = {}
        self._columns: list[str] = []
        path = self.root / MANIFEST
        if path.exists() and not overwrite:
            old = read_manifest(self.root)
            self._columns = list(old.columns)
            for rec in old.to_dict("records"):
                self._rows[rec["file"]] = rec
        self._added = 0
        self._closed = False

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> "FaceWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, file) -> bool:
        return str(file) in self._rows

    def _next_name(self) -> str:
        i = len(self._rows)
        while True:
            name = f"{i:06d}{self.image_format}"
            if name not in self._rows and not (self.root / name).exists():
                return name
            i += 1

    def add(self, image: np.ndarray, file: str | None = None, *, landmarks=None, aus=None, pose=None,
            unmasked: np.ndarray | None = None, mask: np.ndarray | None = None, **labels) -> str | None:
        """Write one image (uint8 HWC RGB) and its labels; return its ``file`` (None if skipped).

        ``landmarks``: (68, 2) pixel coordinates; ``aus``: (17,) in ``AU_COLUMNS`` order or a dict
        {au number: intensity}; ``pose``: (yaw, pitch, roll) degrees; ``unmasked``: the same face
        without occlusion (written to ``unmasked/<file>``); ``mask``: (H, W) 0/1 occlusion mask
        (written to ``masks/<stem>.png``). Other keywords (subject, expression, smiling, split,
        source, or any extra column) must be scalars. ``identity=`` is stored as ``subject``.
        """
        if self._closed:
            raise ValueError("FaceWriter is closed")
        if file is None:
            file = self._next_name()
        file = Path(file).as_posix()
        if file.startswith("/") or ".." in Path(file).parts:
            raise ValueError(f"file must be a path relative to the root, got {file!r}")
        if Path(file).suffix.lower() not in IMAGE_EXTENSIONS:
            raise ValueError(f"file must end in one of {IMAGE_EXTENSIONS}, got {file!r}")
        if self.skip_existing and file in self._rows and (self.root / file).exists():
            return None
        row: dict = {"file": file}
        if "identity" in labels:
            ident = labels.pop("identity")
            labels.setdefault("subject", str(int(ident)) if isinstance(ident, (int, np.integer)) else str(ident))
        for k, v in labels.items():
            if isinstance(v, torch.Tensor):
                v = v.item() if v.numel() == 1 else None
            if isinstance(v, np.generic):
                v = v.item()
            if v is not None and not isinstance(v, (str, int, float, bool)):
                raise ValueError(f"label {k!r} must be a scalar, got {type(v).__name__}")
            if k == "smiling" and v is not None:
                v = int(bool(v)) if v in (0, 1, True, False) else v
                if v not in (0, 1):
                    raise ValueError(f"smiling must be 0/1 or a bool, got {labels[k]!r}")
            if k == "split" and v is not None and v not in SPLITS:
                raise ValueError(f"split must be one of {SPLITS}, got {v!r}")
            if k == "expression" and v is not None:
                expression_id(v)
            row[k] = v
        if landmarks is not None:
            lm = np.asarray(landmarks.detach().cpu() if torch.is_tensor(landmarks) else landmarks, np.float32)
            if lm.shape != (68, 2):
                raise ValueError(f"landmarks must have shape (68, 2), got {lm.shape}")
            row.update(zip(LANDMARK_COLUMNS, lm.reshape(-1).tolist()))
        if aus is not None:
            if isinstance(aus, dict):
                unknown = set(aus) - set(AUS)
                if unknown:
                    raise ValueError(f"unknown AUs {sorted(unknown)}; expected some of {AUS}")
                row.update({f"AU{a:02d}": float(v) for a, v in aus.items()})
            else:
                a = np.asarray(aus.detach().cpu() if torch.is_tensor(aus) else aus, np.float32).reshape(-1)
                if a.shape != (len(AUS),):
                    raise ValueError(f"aus must have {len(AUS)} values in the order {AUS}, got shape {a.shape}")
                row.update(zip(AU_COLUMNS, a.tolist()))
        if pose is not None:
            p = np.asarray(pose.detach().cpu() if torch.is_tensor(pose) else pose, np.float32).reshape(-1)
            if p.shape != (3,):
                raise ValueError(f"pose must be (yaw, pitch, roll), got shape {p.shape}")
            row.update(zip(POSE_COLUMNS, p.tolist()))
        data = encode_image(image, Path(file).suffix)  # validates before anything is written
        extra: list[tuple[Path, bytes]] = []
        if unmasked is not None:
            if np.asarray(unmasked).shape != np.asarray(image).shape:
                raise ValueError(f"unmasked must match the image shape {np.asarray(image).shape}, "
                                 f"got {np.asarray(unmasked).shape}")
            row["unmasked"] = f"unmasked/{file}"
            extra.append((self.root / row["unmasked"], encode_image(unmasked, Path(file).suffix)))
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != np.asarray(image).shape[:2]:
                raise ValueError(f"mask must be (H, W) = {np.asarray(image).shape[:2]}, got {m.shape}")
            if m.dtype == bool or m.max(initial=0) <= 1:
                m = (m > 0).astype(np.uint8) * 255
            row["mask"] = (Path("masks") / Path(file).with_suffix(".png")).as_posix()
            extra.append((self.root / row["mask"], encode_image(m.astype(np.uint8), ".png")))
        atomic_write_bytes(self.root / file, data)
        for p, b in extra:
            atomic_write_bytes(p, b)
        self._rows[file] = row
        for k in row:
            if k not in self._columns:
                self._columns.append(k)
        self._added += 1
        if self.flush_every and self._added % self.flush_every == 0:
            self.flush()
        return file

    def dataframe(self) -> pd.DataFrame:
        """The manifest as it would be written now (canonical column order, extras last)."""
        cols = list(dict.fromkeys(self._columns))
        lead = ["file"] + [c for c in LABEL_COLUMNS if c in cols]
        lm = [c for c in LANDMARK_COLUMNS if c in cols]
        au = [c for c in AU_COLUMNS if c in cols]
        pose = [c for c in POSE_COLUMNS if c in cols]
        rest = [c for c in cols if c not in set(lead) | set(lm) | set(au) | set(pose)]
        return pd.DataFrame(list(self._rows.values()), columns=lead + lm + au + pose + rest)

    def flush(self) -> Path:
        """Write the manifest atomically now."""
        text = self.dataframe().to_csv(index=False, float_format="%.6g")
        return atomic_write_bytes(self.root / MANIFEST, text.encode("utf-8"))

    def close(self) -> None:
        if not self._closed:
            self.flush()
            self._closed = True


# ---------------------------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------------------------

def _parse_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    if len(size) != 2 or any(int(s) <= 0 for s in size):
        raise ValueError(f"size must be an int or (height, width) of positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def _check_file(path: Path) -> str | None:
    """None if ``path`` is a readable image, else the reason."""
    if not path.exists():
        return "missing"
    try:
        with Image.open(path) as im:
            fmt = im.format
            im.verify()  # checks the structure (PNG chunk CRCs) without a full decode
        if fmt == "JPEG":  # verify() does not notice a truncated JPEG: look for the end marker
            with open(path, "rb") as f:
                f.seek(max(0, path.stat().st_size - 64))
                tail = f.read()
            if b"\xff\xd9" not in tail:
                load_image(path)  # a full decode raises "image file is truncated"
        return None
    except Exception as e:  # any decoder error means unusable
        return f"corrupt ({type(e).__name__}: {e})"


class FaceFolder(torch.utils.data.Dataset):
    """A face folder (``manifest.csv`` + images) as a Dataset of dicts of tensors.

    ``FaceFolder(root, split="train", size=128)[i]`` returns the same keys as SynthFacesDataset:
    ``image`` (3, H, W) in [-1, 1]; ``landmarks`` (68, 2) float32 pixel coordinates at the
    returned size (NaN when the manifest has none); ``aus`` (17,) (NaN when absent); ``identity``
    (subject index, -1 when absent: integer subjects keep their number, other subjects are numbered
    in sorted order over the whole manifest so ids agree across splits); ``expression`` (0..7, -1);
    ``smiling`` (0/1, -1); ``pose`` (3,) (NaN); ``index`` (row in this dataset); ``unmasked``
    (3, H, W) and ``mask`` (1, H, W) in {0, 1} from the ``unmasked`` / ``mask`` columns. Rows
    without them are taken as unoccluded: ``unmasked`` = ``image`` and ``mask`` = 0, so that
    FaceFolder and SynthFacesDataset are interchangeable.

    ``size`` (int or (H, W)) resizes with Lanczos (anti-aliased); landmarks are scaled with the
    pixel-centre convention of :func:`helpers.faces.landmarks.scale_landmarks`.

    Missing or corrupt images are never a crash and never silent: they are found at construction
    (``verify=True``), listed in ``self.skipped`` (dicts with ``file`` and ``reason``) and in one
    warning. An image that still fails to decode later (e.g. truncated after the check) is added
    to ``skipped`` with a warning and the next good sample is returned instead (in DataLoader
    workers only the warning reaches the main process). ``verify=False`` skips the up-front check
    (it reads every file once: about a second per thousand images). ``transform`` is applied to
    the returned dict.
    """

    def __init__(self, root, split: str | None = None, size=None, *, verify: bool = True,
                 transform=None):
        self.root = Path(root)
        self.size = _parse_size(size)
        self.transform = transform
        df = read_manifest(self.root)
        subjects = df["subject"] if "subject" in df.columns else None
        self.subject_ids = _subject_ids(subjects)
        if split is not None:
            if split not in SPLITS:
                raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
            if "split" not in df.columns:
                raise ValueError(f"{self.root / MANIFEST} has no 'split' column; use split=None "
                                 "or assign one with helpers.data.split_by_subject")
            df = df[df["split"] == split]
        self.skipped: list[dict] = []
        if verify:
            keep = []
            for i, rec in enumerate(df.itertuples(index=False)):
                files = [rec.file] + [getattr(rec, c) for c in ("unmasked", "mask") if c in df.columns
                                      and isinstance(getattr(rec, c), str)]
                reason = None
                for f in files:
                    r = _check_file(self.root / f)
                    if r:
                        reason = f"{f}: {r}" if f != rec.file else r
                        break
                if reason:
                    self.skipped.append({"file": rec.file, "reason": reason})
                else:
                    keep.append(i)
            df = df.iloc[keep]
            if self.skipped:
                lines = "\n".join(f"  {s['file']}: {s['reason']}" for s in self.skipped[:20])
                more = f"\n  ... and {len(self.skipped) - 20} more" if len(self.skipped) > 20 else ""
                warnings.warn(f"FaceFolder({self.root}): skipped {len(self.skipped)} unreadable "
                              f"image(s) (see .skipped):\n{lines}{more}", stacklevel=2)
        self.df = df.reset_index(drop=True)
        if len(self.df) == 0:
            raise ValueError(f"FaceFolder({self.root}, split={split!r}) has no usable images")
        self._prepare_arrays()

    def _prepare_arrays(self) -> None:
        df, n = self.df, len(self.df)
        self.files = df["file"].tolist()
        if all(c in df.columns for c in LANDMARK_COLUMNS):
            self._lm = df[list(LANDMARK_COLUMNS)].to_numpy(np.float32).reshape(n, 68, 2)
        else:
            self._lm = np.full((n, 68, 2), np.nan, np.float32)
        self._aus = np.full((n, len(AUS)), np.nan, np.float32)
        for j, c in enumerate(AU_COLUMNS):
            if c in df.columns:
                self._aus[:, j] = df[c].to_numpy(np.float32)
        self._pose = np.full((n, 3), np.nan, np.float32)
        for j, c in enumerate(POSE_COLUMNS):
            if c in df.columns:
                self._pose[:, j] = df[c].to_numpy(np.float32)
        self._ident = (df["subject"].map(lambda s: self.subject_ids.get(s, -1)).to_numpy(np.int64)
                       if "subject" in df.columns else np.full(n, -1, np.int64))
        self._expr = (np.array([expression_id(v) for v in df["expression"]], np.int64)
                      if "expression" in df.columns else np.full(n, -1, np.int64))
        self._smile = (df["smiling"].fillna(-1).to_numpy(np.int64) if "smiling" in df.columns
                       else np.full(n, -1, np.int64))
        self._unmasked = df["unmasked"].tolist() if "unmasked" in df.columns else [None] * n
        self._mask = df["mask"].tolist() if "mask" in df.columns else [None] * n

    def __len__(self) -> int:
        return len(self.df)

    def _load(self, file: str, grey: bool = False) -> tuple[np.ndarray, tuple[int, int]]:
        with Image.open(self.root / file) as im:
            im.load()
            im = im.convert("L" if grey else "RGB")
            orig = (im.height, im.width)
            if self.size is not None and orig != self.size:
                im = im.resize((self.size[1], self.size[0]),
                               Image.Resampling.NEAREST if grey else Image.Resampling.LANCZOS)
            return np.array(im), orig  # a writable copy (torch.from_numpy warns on read-only)

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        index = index % len(self)
        for attempt in range(len(self)):
            i = (index + attempt) % len(self)
            try:
                return self._item(i)
            except Exception as e:  # decoding failure after construction: report, use the next one
                if not any(s["file"] == self.files[i] for s in self.skipped):
                    self.skipped.append({"file": self.files[i], "reason": f"corrupt ({type(e).__name__}: {e})"})
                    warnings.warn(f"FaceFolder: could not read {self.files[i]} ({e}); using the next image",
                                  stacklevel=2)
        raise RuntimeError(f"FaceFolder({self.root}): no readable image left")

    def _item(self, i: int) -> dict:
        img, (h0, w0) = self._load(self.files[i])
        lm = self._lm[i].copy()
        if self.size is not None and (h0, w0) != self.size:
            lm = scale_landmarks(lm, (h0, w0), self.size).astype(np.float32)
        out = {
            "image": to_tensor(img),
            "landmarks": torch.from_numpy(lm),
            "aus": torch.from_numpy(self._aus[i].copy()),
            "identity": torch.tensor(self._ident[i]),
            "expression": torch.tensor(self._expr[i]),
            "smiling": torch.tensor(self._smile[i]),
            "pose": torch.from_numpy(self._pose[i].copy()),
            "index": torch.tensor(i),
        }
        f = self._unmasked[i]
        out["unmasked"] = to_tensor(self._load(f)[0]) if isinstance(f, str) else out["image"].clone()
        f = self._mask[i]
        m = (self._load(f, grey=True)[0] > 127).astype(np.float32) if isinstance(f, str) \
            else np.zeros(img.shape[:2], np.float32)
        out["mask"] = torch.from_numpy(m)[None]
        if self.transform is not None:
            out = self.transform(out)
        return out

    def __repr__(self) -> str:
        return (f"FaceFolder({str(self.root)!r}, n={len(self)}, size={self.size}, "
                f"skipped={len(self.skipped)})")


def _subject_ids(subjects) -> dict:
    """subject string -> int id: integer-like subjects keep their value, others sorted order."""
    if subjects is None:
        return {}
    uniq = sorted(set(subjects.dropna()))
    if uniq and all(s.lstrip("-").isdigit() for s in uniq):
        return {s: int(s) for s in uniq}
    return {s: k for k, s in enumerate(uniq)}


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------

def split_by_subject(df: pd.DataFrame, test_fraction: float = 0.2, seed: int = 0,
                     val_fraction: float = 0.0) -> pd.DataFrame:
    """Return a copy of ``df`` with a ``split`` column so that no subject is in two splits.

    Subjects (not rows) are shuffled with ``seed`` and the first ``round(test_fraction * n_subjects)``
    go to test, the next ``round(val_fraction * n_subjects)`` to val, the rest to train. Identity
    experiments (the identity/expression VAE paper) need this: a test face must be a person never seen in training.
    """
    if "subject" not in df.columns or df["subject"].isna().any():
        raise ValueError("split_by_subject needs a 'subject' column without missing values")
    if not (0 <= test_fraction < 1 and 0 <= val_fraction < 1 and test_fraction + val_fraction < 1):
        raise ValueError(f"fractions must be in [0, 1) and sum below 1, got test={test_fraction}, val={val_fraction}")
    subjects = np.array(sorted(df["subject"].astype(str).unique()))
    rng = np.random.default_rng(seed)
    rng.shuffle(subjects)
    n_test = int(round(test_fraction * len(subjects)))
    n_val = int(round(val_fraction * len(subjects)))
    split = {s: "test" for s in subjects[:n_test]}
    split.update({s: "val" for s in subjects[n_test:n_test + n_val]})
    out = df.copy()
    out["split"] = out["subject"].astype(str).map(lambda s: split.get(s, "train"))
    return out


def train_test_split(df: pd.DataFrame, n_test: int = 100, n_train: int | None = None,
                     seed: int = 0) -> pd.DataFrame:
    """Return the rows of ``df`` shuffled with ``seed``, first ``n_test`` marked test, then train.

    The GLCIC course study split its 528 hand-filtered faces into 428 train / 100 test:
    ``train_test_split(df, n_test=100, n_train=428)``. With ``n_train=None`` every remaining row is
    train; otherwise only ``n_train`` rows are kept for it (the rest are dropped).
    """
    if n_test < 0 or (n_train is not None and n_train < 0):
        raise ValueError(f"counts must be >= 0, got n_test={n_test}, n_train={n_train}")
    need = n_test + (n_train or 0)
    if need > len(df):
        raise ValueError(f"asked for {need} rows (n_test={n_test}, n_train={n_train}) but df has {len(df)}")
    order = np.random.default_rng(seed).permutation(len(df))
    n_train = len(df) - n_test if n_train is None else n_train
    out = df.iloc[order[:n_test + n_train]].copy()
    out["split"] = ["test"] * n_test + ["train"] * n_train
    return out.reset_index(drop=True)
