"""Reading what the user downloaded, for ``python -m data_scripts.prepare``: folders, zip archives, images.

* :class:`SourceTree` - one view over a folder *and* the zip archives inside it, so a user can point
  ``--src`` at the archives exactly as downloaded (``img_align_celeba.zip``, ``Video_Speech_Actor_01.zip``)
  or at the unpacked folders; unreadable archives are reported and skipped, never half-used.
* :func:`decode_image`, :func:`is_jpeg`, :func:`is_image_name` - image bytes of a source.
* :class:`PrepareError` (a source that cannot be prepared) and :class:`Skip` (one unusable item).
* :class:`TempDir` - a scratch folder removed afterwards (RAVDESS videos are read from it).
"""
from __future__ import annotations

import io
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from data_scripts.common import IMAGE_SUFFIXES, Summary, safe_filename


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
