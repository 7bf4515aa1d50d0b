"""Prepare iBUG 300-W style landmark data (68 points) in the project's on-disk face format.

    python -m data_scripts.prepare_300w --src PATH --out PATH [--crop landmarks|none] [--size 256]

Two source layouts are read (and may be mixed below ``--src``):

* **iBUG / 300-W**: image files with a ``.pts`` of the same stem beside them (``afw/1051618982_1.jpg``
  + ``afw/1051618982_1.pts``). A ``.pts`` holds 68 lines ``x y`` (pixels), with or without the
  standard header (``version: 1`` / ``n_points: 68`` / ``{`` ... ``}``).
* **CSV**: a ``landmarks68*.csv`` with a ``file`` column (paths relative to the CSV's folder; a
  renamed top folder is found, e.g. ``crops256/afw/x.jpg`` stored as ``images/afw/x.jpg``) and
  the columns ``x0, y0, ..., x67, y67`` (the crops of ``../shared/data/helen68_train``); other
  columns (``subset``, ``source_name``, ``padded``, ...) are kept.

``.pts`` coordinates are taken as they are stored (``--pts-origin 0``, default: 0-based, pixel
centres at integers, as the shared copy's provenance states); ``--pts-origin 1`` subtracts 1 for
copies in Matlab's 1-based convention. CSV coordinates are taken as 0-based.

``--crop landmarks`` (default) cuts the square of side 1.6 x the landmarks' bounding box, centred on
the box and moved up by 0.1 x its side (black outside the photo; the rule of the shared crops), and
resizes it to ``--size``; ``--crop none`` keeps the images as they are (then ``--size`` resizes
the whole image). Landmarks follow (pixel-centre convention). ``split`` is drawn per photo (faces
cut from one photo stay in one split: ``subject`` = the photo's name without the ``_<face>`` suffix)
with ``--test-fraction`` and ``--seed``. Writes ``OUT/manifest.csv``, the images, and ``OUT/data.json``
naming the data and its research-only licence (release manifests copy it). Re-runnable: an image
already written is skipped unless ``--overwrite``.

To register in ``python -m data_scripts.prepare``: ``add_parser(sub)`` builds the sub-command and
``run(args)`` executes it.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from helpers.core.files import atomic_write_bytes
from helpers.faces.data import LANDMARK_COLUMNS, FaceWriter, load_image, split_by_subject

__all__ = ["read_pts", "find_pts_pairs", "find_csv", "landmark_crop", "collect", "prepare", "add_parser",
           "run", "main", "DATA_INFO", "CROP_SCALE", "CROP_SHIFT"]

CROP_SCALE = 1.6      # crop side / the landmarks' bounding-box side (max of width and height)
CROP_SHIFT = 0.1      # crop centre moved up by this x the box side
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
DATA_INFO = {
    "name": "300-W (iBUG) 68-point landmarks: AFW + Helen",
    "licence": "research only: 300-W annotations (Sagonas et al. 2013/2016, iBUG Imperial College) for "
               "non-commercial research; images from Flickr (Helen: Le et al. 2012; AFW: Zhu & Ramanan 2012) "
               "under their owners' rights. Never redistribute the images.",
    "source": "https://ibug.doc.ic.ac.uk/resources/300-W/",
}


def read_pts(path) -> np.ndarray:
    """The 68 points (68, 2) float32 of an iBUG ``.pts`` file, with or without its header (as stored)."""
    text = Path(path).read_text(errors="replace")
    if "{" in text:
        body = text.split("{", 1)[1].split("}", 1)[0]
    else:
        body = "\n".join(l for l in text.splitlines() if not re.match(r"\s*(version|n_points)\s*:", l))
    pts = []
    for line in body.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ValueError(f"{path}: expected 'x y' per line, got {line.strip()!r}")
        try:
            pts.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise ValueError(f"{path}: not a number in line {line.strip()!r}") from None
    if len(pts) != 68:
        raise ValueError(f"{path}: expected 68 points, found {len(pts)}")
    arr = np.asarray(pts, np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{path}: points contain NaN/inf")
    return arr


def find_pts_pairs(src) -> list[tuple[Path, Path]]:
    """(image, .pts) pairs below ``src``: every ``.pts`` with an image of the same stem beside it."""
    out = []
    for pts in sorted(Path(src).rglob("*.pts")):
        for suf in IMAGE_SUFFIXES + tuple(s.upper() for s in IMAGE_SUFFIXES):
            img = pts.with_suffix(suf)
            if img.exists():
                out.append((img, pts))
                break
    return out


def find_csv(src) -> list[Path]:
    """``landmarks68*.csv`` files below ``src`` (the CSV layout)."""
    return sorted(Path(src).rglob("landmarks68*.csv"))


def landmark_crop(image: np.ndarray, landmarks: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The 300-W face crop of ``image`` around ``landmarks`` -> (crop uint8 size x size, landmarks, padded).

    Square of side ``CROP_SCALE`` x max(box w, h), centred on the landmarks' box moved up by
    ``CROP_SHIFT`` x that side; black outside the photo; area/cubic resize to ``size``.
    """
    lm = np.asarray(landmarks, np.float64)
    x0, y0 = lm.min(0)
    x1, y1 = lm.max(0)
    m = max(x1 - x0, y1 - y0)
    side = CROP_SCALE * m
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - CROP_SHIFT * m
    left, top = cx - side / 2, cy - side / 2
    s = size / side
    M = np.array([[s, 0, -left * s + 0.5 * s - 0.5], [0, s, -top * s + 0.5 * s - 0.5]], np.float64)
    h, w = image.shape[:2]
    padded = bool(left < 0 or top < 0 or left + side > w or top + side > h)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    crop = cv2.warpAffine(np.ascontiguousarray(image), M, (size, size), flags=interp,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    new = (lm + 0.5) * s - np.array([left * s, top * s]) - 0.5
    return crop, new.astype(np.float32), padded


def _photo(name: str) -> str:
    """Photo id of a face file name: ``1051618982_1`` -> ``1051618982`` (faces of one photo)."""
    stem = Path(name).stem
    return re.sub(r"_\d+$", "", stem)


def _resolve(root: Path, file: str) -> Path | None:
    """The image a CSV row names: ``root/file``, else the same file under ``root`` or ``root/images``
    with leading folders dropped (copies often rename the top folder, e.g. ``crops256/`` -> ``images/``)."""
    parts = Path(file).parts
    for cand in [root / file] + [root / sub / Path(*parts[k:]) for k in range(1, len(parts)) for sub in ("", "images")]:
        if cand.is_file():
            return cand
    return None


def collect(src, pts_origin: int = 0) -> tuple[list[dict], list[str]]:
    """Every face found below ``src``: dicts (path, landmarks, extra columns); and the problems skipped."""
    src = Path(src)
    if not src.exists():
        raise ValueError(f"--src {src} does not exist")
    items, problems = [], []
    for img, pts in find_pts_pairs(src):
        try:
            lm = read_pts(pts) - float(pts_origin)
        except ValueError as e:
            problems.append(str(e))
            continue
        rel = img.relative_to(src)
        items.append({"path": img, "landmarks": lm, "name": rel.as_posix(),
                      "extra": {"subset": rel.parts[0] if len(rel.parts) > 1 else "", "source_name": img.stem}})
    for csv in find_csv(src):
        df = pd.read_csv(csv)
        missing = [c for c in ("file", *LANDMARK_COLUMNS) if c not in df.columns]
        if missing:
            problems.append(f"{csv}: missing columns {missing[:4]}{'...' if len(missing) > 4 else ''}")
            continue
        keep = [c for c in df.columns if c not in ("file", *LANDMARK_COLUMNS)]
        for rec in df.to_dict("records"):
            path = _resolve(csv.parent, str(rec["file"]))
            if path is None:
                problems.append(f"{csv.name}: image {rec['file']} not found")
                continue
            lm = np.array([[rec[f"x{i}"], rec[f"y{i}"]] for i in range(68)], np.float32)
            if not np.isfinite(lm).all():
                problems.append(f"{csv.name}: {rec['file']} has missing landmarks")
                continue
            extra = {k: rec[k] for k in keep if isinstance(rec[k], (str, int, float, np.integer, np.floating))}
            items.append({"path": path, "landmarks": lm, "name": str(rec["file"]), "extra": extra})
    return items, problems


def prepare(src, out, size: int = 256, crop: str = "landmarks", test_fraction: float = 0.2, seed: int = 0,
            pts_origin: int = 0, overwrite: bool = False, limit: int | None = None) -> dict:
    """Write ``out`` in the on-disk format from every face below ``src``; returns a summary dict."""
    if crop not in ("landmarks", "none"):
        raise ValueError(f"crop must be 'landmarks' or 'none', got {crop!r}")
    if not isinstance(size, int) or size < 16:
        raise ValueError(f"size must be an int >= 16, got {size!r}")
    out = Path(out)
    if out.resolve() == Path(src).resolve() or Path(src).resolve() in out.resolve().parents:
        raise ValueError(f"--out {out} must be outside --src {src}")
    items, problems = collect(src, pts_origin)
    if limit:
        items = items[:limit]
    if not items:
        raise ValueError(f"no faces found below {src}: expected image + .pts pairs or a landmarks68*.csv"
                         + (f" (problems: {problems[:3]})" if problems else ""))
    names = [it["name"] for it in items]
    subjects = pd.DataFrame({"subject": [_photo(n) for n in names]})
    split = split_by_subject(subjects, test_fraction, seed)["split"].tolist()
    written = skipped = 0
    with FaceWriter(out, skip_existing=not overwrite, overwrite=overwrite, image_format=".jpg") as w:
        for it, sp in zip(items, split):
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(it["name"]).with_suffix("").as_posix().replace("/", "__"))
            file = f"{stem}.jpg"
            if not overwrite and file in w and (out / file).exists():
                skipped += 1
                continue
            try:
                image = load_image(it["path"])
            except Exception as e:  # noqa: BLE001 - report and go on
                problems.append(f"{it['path']}: unreadable ({type(e).__name__}: {e})")
                continue
            lm = it["landmarks"]
            if crop == "landmarks":
                image, lm, padded = landmark_crop(image, lm, size)
                extra = {**it["extra"], "crop_padded": int(padded)}
            else:
                h, wd = image.shape[:2]
                if (h, wd) != (size, size):
                    lm = ((lm + 0.5) * np.array([size / wd, size / h]) - 0.5).astype(np.float32)
                    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
                extra = dict(it["extra"])
            w.add(image, file, landmarks=lm, split=sp, subject=_photo(it["name"]), source=it["name"], **extra)
            written += 1
    atomic_write_bytes(out / "data.json", json.dumps({**DATA_INFO, "prepared_by": "data_scripts/prepare_300w.py",
                                                       "crop": crop, "size": size, "n": len(items),
                                                       "test_fraction": test_fraction, "seed": seed},
                                                      indent=1).encode())
    return {"found": len(items), "written": written, "already_there": skipped, "problems": problems,
            "test": split.count("test"), "train": split.count("train")}


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``300w`` sub-command to an ``argparse`` sub-parsers object (for data_scripts.prepare)."""
    sp = sub.add_parser("300w", help="iBUG 300-W faces with 68 landmarks (.pts files or a landmarks68.csv)")
    sp.add_argument("--src", required=True, help="folder with image + .pts pairs and/or landmarks68*.csv")
    sp.add_argument("--out", required=True, help="output folder (manifest.csv + images); outside --src")
    sp.add_argument("--crop", choices=("landmarks", "none"), default="landmarks")
    sp.add_argument("--size", type=int, default=256)
    sp.add_argument("--test-fraction", type=float, default=0.2)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--pts-origin", type=int, choices=(0, 1), default=0,
                    help="0: .pts coordinates are 0-based (as stored); 1: 1-based (Matlab), subtract 1")
    sp.add_argument("--limit", type=int, default=None)
    sp.add_argument("--overwrite", action="store_true")
    return sp


def run(args: argparse.Namespace) -> int:
    """Execute a parsed ``300w`` command; prints the summary."""
    try:
        res = prepare(args.src, args.out, args.size, args.crop, args.test_fraction, args.seed, args.pts_origin,
                      args.overwrite, args.limit)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"300-W: {res['found']} faces found, {res['written']} written, {res['already_there']} already there; "
          f"split train {res['train']} / test {res['test']}; {len(res['problems'])} problems")
    for p in res["problems"][:20]:
        print("  skipped:", p)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m data_scripts.prepare_300w", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="dataset")
    add_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    return run(p.parse_args(["300w", *argv]))


if __name__ == "__main__":
    raise SystemExit(main())
