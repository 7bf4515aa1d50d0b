"""Shared machinery of ``python -m data_scripts.prepare``: sources, labels, splits, crops, writing.

Every preparer turns a downloaded data set into the project's one on-disk format (a folder of
images + ``manifest.csv``, see ``helpers.faces.data``). What they share lives here:

* :class:`SourceTree` - one view over a folder *and* the zip archives inside it, so a user can point
  ``--src`` at the archives exactly as downloaded (``img_align_celeba.zip``, ``Video_Speech_Actor_01.zip``)
  or at the unpacked folders; unreadable archives are reported and skipped, never half-used.
* :func:`course_expression` - the 8 course expression names (the ConvNeXt GANimation thesis, Table 2.2).
* :func:`subject_split` - the identity/expression VAE paper's subject-level train/test split.
* :func:`sample_indices` / :func:`middle_indices` - the identity/expression VAE paper's frame sampling.
* :class:`Cropper` - the optional crop hook (``none`` | ``center`` (the ConvNeXt GANimation thesis "v0") | ``face``
  (the ConvNeXt GANimation thesis "v2", dlib through ``helpers.faces.detect``, which loads dlib only when asked for)).
* :class:`LazyFaceWriter` (over ``helpers.faces.data.FaceWriter``) and :func:`write_items` - atomic,
  resumable writing with a Summary.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import re
import shutil
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

from data_scripts.common import IMAGE_SUFFIXES, Summary, atomic_write_bytes, inside, safe_filename
from helpers.faces import detect
from helpers.faces.data import FaceWriter, read_manifest

from helpers.core.runtime import bar as tqdm

# --------------------------------------------------------------------------------------------
# Labels shared by every preparer
# --------------------------------------------------------------------------------------------

#: The course's 8 expressions, ids 0..7 in this order (the ConvNeXt GANimation thesis' Table 2.2; helpers.synthfaces.EXPRESSIONS).
EXPRESSIONS = ("natural", "happiness", "sadness", "surprise", "fear", "anger", "disgust", "contempt")

#: Source spellings -> course names. "calm" (RAVDESS) has no course name and maps to "".
_EXPRESSION_ALIASES = {
    "natural": "natural", "neutral": "natural", "ne": "natural",
    "happiness": "happiness", "happy": "happiness", "joy": "happiness", "ha": "happiness",
    "sadness": "sadness", "sad": "sadness", "sa": "sadness",
    "surprise": "surprise", "surprised": "surprise", "su": "surprise",
    "fear": "fear", "fearful": "fear", "afraid": "fear", "fe": "fear",
    "anger": "anger", "angry": "anger", "an": "anger",
    "disgust": "disgust", "disgusted": "disgust", "di": "disgust",
    "contempt": "contempt", "contemptuous": "contempt",
}

#: The 17 OpenFace AUs of the ConvNeXt GANimation thesis (helpers.synthfaces.AUS) and their manifest columns.
AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)
AU_COLUMNS = [f"AU{a:02d}" for a in AUS]
LANDMARK_COLUMNS = [c for i in range(68) for c in (f"x{i}", f"y{i}")]


def course_expression(label) -> str:
    """Map a source's expression label to one of the 8 course names, or '' when none fits."""
    if label is None:
        return ""
    return _EXPRESSION_ALIASES.get(str(label).strip().lower(), "")


class PrepareError(Exception):
    """A source that cannot be prepared at all (wrong layout, nothing readable): the CLI prints it."""


class Skip(Exception):
    """One item that cannot be used; ``str(e)`` is the reason counted in the Summary."""


# --------------------------------------------------------------------------------------------
# Sources: a folder, its zip archives, or a single zip
# --------------------------------------------------------------------------------------------

class SourceTree:
    """Read-only view of a folder plus the members of the ``*.zip`` archives found inside it.

    Paths are POSIX strings relative to the source root. A member ``a/b.png`` of ``sub/x.zip`` appears
    as ``sub/a/b.png``, so the official archives and their unpacked folders look the same. A zip that
    cannot be opened (truncated, not a zip) is recorded in ``bad_archives`` and skipped.
    """

    def __init__(self, src: str | os.PathLike, scan_zips: bool = True):
        self.root = Path(src)
        self.files: dict[str, object] = {}
        self.bad_archives: list[tuple[str, str]] = []
        self._zips: list[zipfile.ZipFile] = []
        if self.root.is_file():
            if not self.root.suffix.lower() == ".zip":
                raise PrepareError(f"--src {self.root} is a file but not a .zip archive; pass a folder or a zip")
            self._add_zip(self.root, "")
            if self.bad_archives:
                raise PrepareError(f"cannot read the archive {self.root}: {self.bad_archives[0][1]}")
        elif self.root.is_dir():
            for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                rel_dir = Path(dirpath).relative_to(self.root)
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    rel = (rel_dir / name).as_posix()
                    if scan_zips and name.lower().endswith(".zip"):
                        prefix = "" if rel_dir == Path(".") else rel_dir.as_posix() + "/"
                        self._add_zip(Path(dirpath) / name, prefix)
                    else:
                        self.files[rel] = Path(dirpath) / name
        else:
            raise PrepareError(f"--src {self.root} does not exist")

    def _add_zip(self, path: Path, prefix: str) -> None:
        try:
            zf = zipfile.ZipFile(path)
            infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            self.bad_archives.append((str(path), f"unreadable zip archive ({type(e).__name__}: {e})"))
            return
        self._zips.append(zf)
        for info in infos:
            if info.is_dir() or "/." in "/" + info.filename or "__MACOSX" in info.filename:
                continue
            name = info.filename.replace("\\", "/").lstrip("/")
            if ".." in name.split("/"):
                continue  # never trust member names that climb out
            self.files.setdefault(prefix + name, (zf, info))

    def close(self) -> None:
        for zf in self._zips:
            zf.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __contains__(self, rel: str) -> bool:
        return rel in self.files

    def names(self) -> list[str]:
        return list(self.files)

    def read_bytes(self, rel: str) -> bytes:
        """Bytes of one file; raises Skip when an archive member is damaged."""
        entry = self.files[rel]
        try:
            if isinstance(entry, Path):
                return entry.read_bytes()
            zf, info = entry
            return zf.read(info)
        except Exception as e:  # BadZipFile (bad CRC), zlib.error, EOFError, OSError, ...
            raise Skip(f"unreadable file or archive member ({type(e).__name__})") from e

    def read_text(self, rel: str) -> str:
        try:
            return self.read_bytes(rel).decode("utf-8", errors="replace")
        except Skip as e:
            raise PrepareError(f"cannot read {rel}: {e}") from e

    def local_path(self, rel: str, tmpdir: str) -> Path:
        """A real file path for tools that need one (OpenCV video): archive members are extracted."""
        entry = self.files[rel]
        if isinstance(entry, Path):
            return entry
        dst = Path(tmpdir) / safe_filename(rel.replace("/", "_"))
        dst.write_bytes(self.read_bytes(rel))
        return dst

    def find(self, name: str, max_depth: int = 3) -> str | None:
        """Shallowest file or folder whose last path part is ``name`` (case-insensitive)."""
        best = None
        low = name.lower()
        for rel in self.files:
            parts = rel.split("/")
            for depth, part in enumerate(parts[: max_depth + 1]):
                if part.lower() == low:
                    cand = "/".join(parts[: depth + 1])
                    if best is None or cand.count("/") < best.count("/"):
                        best = cand
                    break
        return best

    def under(self, folder: str) -> list[str]:
        pre = folder.rstrip("/") + "/"
        return sorted(r for r in self.files if r.startswith(pre))


def is_image_name(rel: str) -> bool:
    return rel.lower().endswith(IMAGE_SUFFIXES) and not rel.rsplit("/", 1)[-1].startswith(".")


def decode_image(data: bytes) -> np.ndarray:
    """Image bytes -> uint8 HWC RGB; raises Skip with a clear reason for non-images and broken files."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # PIL only warns on a truncated TIFF: refuse it instead
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                    arr = np.asarray(im, dtype=np.float64)
                    hi = arr.max() or 1.0
                    return np.repeat((arr * (255.0 / hi)).round().astype(np.uint8)[:, :, None], 3, axis=2)
                arr = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError as e:
        raise Skip("not an image") from e
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as e:
        raise Skip("corrupt or truncated image") from e
    if arr.ndim != 3 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise Skip("degenerate image")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


# --------------------------------------------------------------------------------------------
# The identity/expression VAE paper: subject split and frame sampling
# --------------------------------------------------------------------------------------------

def subject_split(subjects: Iterable[str], n_test: int = 2, seed: int = 0,
                  test_subjects: Iterable[str] | None = None) -> set[str]:
    """Pick the test subjects: the given ones, else ``n_test`` drawn with ``random.Random(seed)``.

    The identity/expression VAE paper held out 2-3 subjects of each data set (7 of 202). At least one subject stays in train.
    """
    subs = sorted(set(map(str, subjects)))
    if test_subjects:
        chosen = {str(s) for s in test_subjects}
        unknown = chosen - set(subs)
        if unknown:
            raise PrepareError(f"--test-subjects names subjects that are not in the data: {sorted(unknown)}")
        return chosen
    if n_test < 0:
        raise ValueError(f"n_test must be >= 0, got {n_test}")
    k = min(n_test, max(len(subs) - 1, 0))
    return set(random.Random(seed).sample(subs, k))


def sample_indices(n: int, k: int) -> list[int]:
    """``k`` frame indices at equal intervals over ``0..n-1`` (first and last included); all if n <= k."""
    if n <= 0:
        return []
    if k <= 0 or n <= k:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, k).round().astype(int).tolist()))


def middle_indices(n: int, k: int) -> list[int]:
    """``k`` consecutive frame indices centred on the middle of ``0..n-1`` (MUG's apex)."""
    if n <= 0:
        return []
    k = min(max(k, 1), n)
    start = max(0, min(n - k, (n - 1) // 2 - (k - 1) // 2))
    return list(range(start, start + k))


def last_indices(n: int, k: int) -> list[int]:
    """The last ``k`` frame indices (CK+ sequences end at the labelled apex)."""
    return list(range(max(0, n - max(k, 1)), n))


# --------------------------------------------------------------------------------------------
# Crop hook
# --------------------------------------------------------------------------------------------

def _load_detector():
    try:
        ok = detect.available()  # dlib (the optional faces extra) is imported only here, for --crop face
    except Exception as e:  # dlib failing to load
        raise PrepareError(f"--crop face needs helpers.faces.detect with dlib (pip install -e '.[faces]'): "
                           f"{type(e).__name__}: {e}") from e
    if not ok:
        raise PrepareError(f"--crop face: {detect.INSTALL_HINT}")
    return detect.detect_faces


class Cropper:
    """Optional crop + resize applied to every image before it is written; points move along.

    mode ``none``: image unchanged. ``center``: the largest centred square (the ConvNeXt GANimation thesis' "v0").
    ``face``: the largest detected face box made square and enlarged by ``margin`` (the ConvNeXt GANimation thesis' "v2";
    ``detector`` defaults to ``helpers.faces.detect.detect_faces``, loaded only here). Pixels outside the
    photo are filled by edge replication. ``size`` resizes the square (default: face 128, center none).
    """

    def __init__(self, mode: str = "none", size: int | None = None, margin: float = 0.2,
                 detector: Callable | None = None):
        if mode not in ("none", "center", "face"):
            raise ValueError(f"crop mode must be none|center|face, got {mode!r}")
        if size is not None and size < 8:
            raise ValueError(f"size must be >= 8 pixels, got {size}")
        if mode == "none" and size is not None:
            raise PrepareError("--size needs --crop center or --crop face (a plain resize would stretch faces)")
        self.mode, self.margin = mode, float(margin)
        self.size = size if size is not None else (128 if mode == "face" else None)
        self.detector = detector
        if mode == "face" and self.detector is None:
            self.detector = _load_detector()

    @property
    def active(self) -> bool:
        return self.mode != "none"

    def settings(self) -> dict:
        return {"crop": self.mode, "size": self.size, "margin": self.margin if self.mode == "face" else None}

    def __call__(self, img: np.ndarray, points: dict[str, np.ndarray]):
        if self.mode == "none":
            return img, points
        h, w = img.shape[:2]
        if self.mode == "center":
            side = min(h, w)
            x0, y0 = (w - side) / 2.0, (h - side) / 2.0
        else:
            boxes = list(self.detector(img))
            if not boxes:
                raise Skip("no face found")
            bx0, by0, bx1, by1 = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
            side = max(bx1 - bx0, by1 - by0) * (1.0 + self.margin)
            x0, y0 = (bx0 + bx1) / 2.0 - side / 2.0, (by0 + by1) / 2.0 - side / 2.0
        ix0, iy0, iside = int(round(x0)), int(round(y0)), max(int(round(side)), 2)
        pad = max(0, -ix0, -iy0, ix0 + iside - w, iy0 + iside - h)
        src = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad else img
        crop = src[iy0 + pad: iy0 + pad + iside, ix0 + pad: ix0 + pad + iside]
        out_side = self.size or iside
        if out_side != iside:
            crop = np.asarray(Image.fromarray(crop).resize((out_side, out_side), Image.BICUBIC))
        scale = out_side / iside
        moved = {k: ((np.asarray(v, np.float64) - [ix0, iy0]) * scale).astype(np.float32) for k, v in points.items()}
        return np.ascontiguousarray(crop), moved


# --------------------------------------------------------------------------------------------
# Writing: items -> images + manifest.csv, atomic and resumable
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Item:
    """One output image: where it goes, how to get its pixels, its labels and its points.

    ``load`` returns either image bytes (decoded and checked here) or a uint8 HWC RGB array.
    ``points`` maps a column scheme to an (K, 2) array in source pixels: ``lm68`` -> x0..y67,
    any other key -> ``{key}_x{i}, {key}_y{i}`` unless ``point_columns`` names the columns.
    """
    file: str
    load: Callable[[], object]
    labels: dict
    points: dict = dataclasses.field(default_factory=dict)
    point_columns: dict = dataclasses.field(default_factory=dict)
    origin: str = ""                           # where it came from, for the Summary's examples


def point_columns(key: str, n: int, names: dict | None = None) -> list[str]:
    if names and key in names:
        return list(names[key])
    if key == "lm68":
        return LANDMARK_COLUMNS[: 2 * n]
    return [c for i in range(n) for c in (f"{key}_x{i}", f"{key}_y{i}")]


def _format_value(v):
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, str) and v == "":
        return None
    return v


class LazyFaceWriter:
    """``helpers.faces.data.FaceWriter`` opened on the first image, plus the preparers' resume rules.

    * No image written -> no output folder created (a refused or empty source leaves nothing behind).
    * ``prepare_settings.json`` records what shaped the pixels and labels (data set, crop, size, split,
      sampling). Same settings -> the previous manifest is kept and its finished files are skipped
      without decoding the source again; different settings -> a fresh manifest (``overwrite``).
    * Images and manifest are written atomically by FaceWriter (manifest every ``flush_seconds``
      and on close, also after an exception or Ctrl-C, so an interrupted run keeps what it finished).
    """

    SETTINGS = "prepare_settings.json"

    def __init__(self, root: str | os.PathLike, settings: dict, flush_seconds: float = 30.0):
        self.root = Path(root)
        self.settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
        self.flush_seconds = flush_seconds  # by time, not count: rewriting a 200k-row manifest costs ~1 s
        self._last_flush = time.monotonic()
        self._w = None
        self.done: set[str] = set()
        self.resume = False
        if self.root.is_dir():  # temp files of a run killed mid-write (SIGKILL, power loss)
            for tmp in self.root.rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)
        try:
            prev = json.loads((self.root / self.SETTINGS).read_text())
        except (OSError, ValueError):
            prev = None
        if prev == self.settings and (self.root / "manifest.csv").is_file():
            try:
                self.done = {f for f in read_manifest(self.root)["file"] if (self.root / f).is_file()}
                self.resume = True
            except (ValueError, OSError) as e:
                print(f"warning: ignoring the unreadable previous manifest in {self.root}: {e}")

    def finished(self, stem: str) -> str | None:
        for ext in (".png", ".jpg"):
            if stem + ext in self.done:
                return stem + ext
        return None

    def _open(self):
        if self._w is None:
            self._w = FaceWriter(self.root, skip_existing=False, overwrite=not self.resume, flush_every=None)
            atomic_write_bytes(self.root / self.SETTINGS,
                               json.dumps(self.settings, indent=1, sort_keys=True).encode("utf-8"))
        return self._w

    def add(self, image: np.ndarray, file: str, labels: dict, landmarks=None, raw: bytes | None = None) -> None:
        inside(self.root, self.root / file)
        w = self._open()
        w.add(image, file, landmarks=landmarks, **{k: _format_value(v) for k, v in labels.items()})
        if raw is not None:  # the source's own JPEG bytes: no second lossy encoding
            atomic_write_bytes(self.root / file, raw)
        if time.monotonic() - self._last_flush > self.flush_seconds:
            w.flush()
            self._last_flush = time.monotonic()

    def __len__(self) -> int:
        return len(self._w) if self._w is not None else (len(self.done) if self.resume else 0)

    def close(self) -> None:
        if self._w is not None:
            self._w.close()


def output_name(*parts: str, suffix: str) -> str:
    """Relative output path built from sanitised parts; the last part gets ``suffix``."""
    clean = [safe_filename(p) for p in parts if p not in ("", None)]
    if not clean:
        raise ValueError("output_name needs at least one part")
    stem = clean[-1]
    for ext in IMAGE_SUFFIXES + (".tiff.png", ".mp4", ".avi"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
    clean[-1] = stem + suffix
    return "/".join(clean)


def write_items(items: Iterable[Item], out: str | os.PathLike, summary: Summary, cropper: Cropper,
                fmt: str = "png", settings: dict | None = None, desc: str = "prepare",
                total: int | None = None) -> int:
    """Decode, check, crop and write every item under ``out``; returns how many rows the manifest has.

    ``fmt``: ``png`` | ``jpg`` | ``auto`` (JPEG sources stay JPEG, copied byte for byte when no crop
    is applied; everything else becomes PNG). Items whose file is already finished are skipped.
    """
    if fmt not in ("png", "jpg", "auto"):
        raise ValueError(f"fmt must be png|jpg|auto, got {fmt!r}")
    settings = dict(settings or {}, **cropper.settings(), format=fmt)
    writer = LazyFaceWriter(out, settings)
    seen: set[str] = set()
    try:
        for item in tqdm(items, desc=desc, total=total, unit="img", leave=False):
            name = item.file.rsplit("/", 1)[-1]
            stem = item.file[: item.file.rfind(".")] if "." in name else item.file
            if stem in seen:  # e.g. the same image twice in the source (two resolutions, .tiff and .png)
                summary.skip("duplicate of an image already prepared in this run", item.origin or item.file)
                continue
            seen.add(stem)
            if writer.finished(stem):
                summary.keep()
                continue
            try:
                data = item.load()
                raw = None
                if isinstance(data, (bytes, bytearray)):
                    img = decode_image(bytes(data))
                    src_jpeg = is_jpeg(data)
                else:
                    img, src_jpeg = np.asarray(data), False
                    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                        raise Skip("loader returned a non-RGB array")
                pts = item.points(img.shape) if callable(item.points) else item.points
                img, pts = cropper(img, pts)
                use_jpg = fmt == "jpg" or (fmt == "auto" and src_jpeg)
                file = stem + (".jpg" if use_jpg else ".png")
                if use_jpg and src_jpeg and not cropper.active:
                    raw = bytes(data)
                labels = dict(item.labels)
                landmarks = None
                for key, arr in pts.items():
                    arr = np.asarray(arr, dtype=np.float32).reshape(-1, 2)
                    if key == "lm68" and arr.shape == (68, 2):
                        landmarks = arr
                        continue
                    cols = point_columns(key, len(arr), item.point_columns)
                    labels.update({c: round(float(v), 3) for c, v in zip(cols, arr.reshape(-1))})
                labels.setdefault("width", int(img.shape[1]))
                labels.setdefault("height", int(img.shape[0]))
                writer.add(img, file, labels, landmarks=landmarks, raw=raw)
                summary.keep()
            except Skip as e:
                summary.skip(str(e), item.origin or item.file)
    finally:
        writer.close()
    return len(writer)


def check_out(src: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Refuse an output folder inside the source (a re-run would read its own output)."""
    src_r, out_r = Path(src).resolve(), Path(out).resolve()
    if out_r == src_r or src_r in out_r.parents:
        raise PrepareError(f"--out {out} lies inside --src {src}; choose a folder outside the source")
    if out_r.exists() and not out_r.is_dir():
        raise PrepareError(f"--out {out} exists and is not a folder")
    return out_r


def report_bad_archives(tree: SourceTree, summary: Summary) -> None:
    for path, why in tree.bad_archives:
        print(f"warning: skipping {path}: {why}")
        summary.skip("unreadable zip archive", path)


class TempDir:
    """A temporary folder removed on exit (used to hand archive members to OpenCV)."""

    def __enter__(self) -> str:
        self.path = tempfile.mkdtemp(prefix="prepare_")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def parse_float_rows(text: str) -> list[list[float]]:
    """Whitespace-separated numbers per line (CK+ writes them in e-notation); blank lines dropped."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if parts:
            try:
                rows.append([float(p) for p in parts])
            except ValueError as e:
                raise Skip("unparsable annotation file") from e
    return rows


def natural_key(s: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]

