"""Small pieces every data script shares: atomic writes, safe names, image listing, a run summary."""
from __future__ import annotations

import collections
import os
import re
import sys
from pathlib import Path

from helpers.core.files import atomic_write_bytes  # noqa: F401  (the one atomic writer, re-exported)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")


def safe_filename(name: str, max_len: int = 120) -> str:
    """A file name that cannot leave its folder: no separators, no leading dots, no odd characters."""
    name = os.path.basename(str(name).replace("\\", "/"))
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip("._-")
    return (name or "file")[:max_len]


def inside(root: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Resolve ``path`` and raise ValueError unless it lies inside ``root``."""
    root_r, path_r = Path(root).resolve(), Path(path).resolve()
    if root_r != path_r and root_r not in path_r.parents:
        raise ValueError(f"refusing to write outside the output folder: {path_r} is not under {root_r}")
    return path_r


def iter_images(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Sorted image files under ``folder`` (by suffix); raises if the folder does not exist."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"expected a folder of images, {folder} does not exist or is not a folder")
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


class Summary:
    """Counts what a script kept and what it skipped and why; prints a table at the end."""

    def __init__(self, title: str):
        self.title = title
        self.kept = 0
        self.skipped: collections.Counter[str] = collections.Counter()
        self.examples: dict[str, list[str]] = collections.defaultdict(list)

    def keep(self, n: int = 1) -> None:
        self.kept += n

    def skip(self, reason: str, item: object = None) -> None:
        self.skipped[reason] += 1
        if item is not None and len(self.examples[reason]) < 3:
            self.examples[reason].append(str(item))

    def report(self, file=None) -> str:
        lines = [f"== {self.title}: kept {self.kept}, skipped {sum(self.skipped.values())} =="]
        for reason, n in self.skipped.most_common():
            ex = ", ".join(self.examples.get(reason, []))
            lines.append(f"  skipped {n:6d}  {reason}" + (f"  (e.g. {ex})" if ex else ""))
        text = "\n".join(lines)
        print(text, file=file or sys.stdout)
        return text
