"""Cropping and writing of ``python -m data_scripts.prepare``: every preparer's items -> the on-disk face format.

* :class:`Cropper` - the optional crop hook (``none`` | ``center`` (the ConvNeXt GANimation thesis "v0") | ``face``
  (the ConvNeXt GANimation thesis "v2", dlib through ``helpers.faces.detect``, which loads dlib only when asked for)).
* :class:`Item` - one image to write with its labels and points.
* :class:`LazyFaceWriter` (over ``helpers.faces.data.FaceWriter``) and :func:`write_items` - atomic,
  resumable writing with a Summary; :func:`check_out` refuses an output inside the source.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from PIL import Image

from data_scripts.common import IMAGE_SUFFIXES, Summary, atomic_write_bytes, inside, safe_filename
from data_scripts.prepare_labels import LANDMARK_COLUMNS
from data_scripts.prepare_sources import PrepareError, Skip, decode_image, is_jpeg
from helpers.core.runtime import bar as tqdm
from helpers.faces import detect
from helpers.faces.data import FaceWriter, read_manifest


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
