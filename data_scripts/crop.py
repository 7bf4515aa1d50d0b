"""Crop faces for each seed's recipe and carry the landmarks along.

    python -m data_scripts.crop mouth data/faces_filtered/ data/glcic_faces/     # the GLCIC course study, 256 px, 428/100
    python -m data_scripts.crop face  data/celeba/ data/celeba_v2/ --version v2  # the ConvNeXt GANimation thesis "v2", 128 px
    python -m data_scripts.crop face  data/celeba/ data/celeba_v0/ --version v0  # the ConvNeXt GANimation thesis "v0" centre crop
    python -m data_scripts.crop ffhq  data/faces_filtered/ data/ffhq_256/ --size 256   # the StyleGAN2 masked-face paper / StyleGAN2

Input: a folder in the on-disk face format (``manifest.csv``; landmarks ``x0..y67`` and the face box
``face_x0..face_y1`` are used when present, e.g. from ``data_scripts.filter_faces``) or a plain
folder of photos (faces are then detected with dlib). Output: the on-disk face format; every
label column is carried over, landmarks are transformed into the crop, and the 2x3 affine that
maps source pixels to crop pixels is stored in ``aff_00..aff_12`` (composed with the source's own
if it has one, so CelebA's 5-point landmarks can later be mapped into the crop).

Modes
- ``mouth`` (the GLCIC course study): a similarity transform puts the mouth centre at the centre of the GLCIC course study's
  fixed mouth hole (x 56..200, y 128..224 at 256) with the eyes level; the eye-to-mouth distance
  becomes ``--eye-mouth`` px (80 at 256: eyes near y = 96), reduced when needed so that every
  mouth landmark lies inside the hole with a margin. Then a train/test split (``--test 100``
  ``--train 428`` by default, counts; values below 1 are fractions).
- ``face --version v2`` (the ConvNeXt GANimation thesis): the face detector's square box (dlib HOG, the detector that the
  ``face_recognition`` library uses) -> ``--size`` (128). Near the photo's edge the square is
  padded by reflection instead of being clipped and stretched.
  ``face --version v0``: the centre square of side min(H, W) (178 for CelebA's 178x218) -> 128;
  the face covers under half of it, as the ConvNeXt GANimation thesis notes.
- ``ffhq``: the FFHQ alignment recipe (``helpers.faces.detect.ffhq_align``) at any ``--size``.
Safe to re-run (finished files are skipped); images and manifest are written atomically.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from helpers.core.runtime import bar as tqdm, set_progress

from data_scripts.common import Summary, atomic_write_bytes, iter_images, safe_filename
from data_scripts.filter_faces import load_photo
from helpers.faces import detect as D
from helpers.faces.data import (LANDMARK_COLUMNS, MANIFEST, FaceWriter, landmark_columns, read_manifest,
                                split_by_subject, train_test_split)

AFF_COLUMNS = ("aff_00", "aff_01", "aff_02", "aff_10", "aff_11", "aff_12")
BOX_COLUMNS = ("face_x0", "face_y0", "face_x1", "face_y1")


def _as3(M) -> np.ndarray:
    return np.vstack([np.asarray(M, np.float64).reshape(2, 3), [0, 0, 1]])


def source_items(src: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    """Rows to crop: from ``src/manifest.csv`` if present, else one row per photo in ``src``.

    Returns (rows, problems) where each row has ``path`` (absolute), ``file`` (relative) and the
    label columns; problems lists (file, reason) for manifest rows whose image is missing.
    """
    problems = []
    if (src / MANIFEST).exists():
        df = read_manifest(src)
        rows = []
        for rec in df.to_dict("records"):
            p = src / rec["file"]
            if not p.is_file():
                problems.append((rec["file"], "image listed in the manifest is missing"))
                continue
            rows.append({**rec, "path": p})
        return rows, problems
    return [{"file": p.relative_to(src).as_posix(), "path": p} for p in iter_images(src)], problems


def _landmarks_of(row) -> np.ndarray | None:
    cols = landmark_columns()
    if all(c in row for c in cols):
        v = np.array([row[c] for c in cols], np.float64)
        if np.isfinite(v).all():
            return v.reshape(68, 2).astype(np.float32)
    return None


def box_of(row) -> tuple[float, float, float, float] | None:
    """The face box ``(x0, y0, x1, y1)`` of a manifest row (its ``face_x0..face_y1`` columns, as
    ``data_scripts.filter_faces`` writes them), or None when any of them is absent or missing.

    Shared with ``data_scripts.label``, which gives dlib the same box when it adds landmarks.
    """
    if all(c in row for c in BOX_COLUMNS):
        v = [row[c] for c in BOX_COLUMNS]
        if all(pd.notna(x) for x in v):
            return tuple(float(x) for x in v)
    return None


def crop_transform(mode: str, image: np.ndarray, row: dict, *, size: int, version: str = "v2",
                   eye_mouth: float = 80.0, level_eyes: bool = True, min_score: float = 0.0):
    """Return ``(M 2x3, landmarks or None)`` for one photo, detecting the face when needed."""
    lm = _landmarks_of(row)
    if mode == "face" and version == "v0":
        box = D.center_square_box(*image.shape[:2])
        return D.square_box_transform(box, size), lm
    box = box_of(row)
    if mode == "face" and box is None or mode != "face" and lm is None:
        dets = D.detect(image, upsample=1, min_score=min_score)
        if not dets:
            raise LookupError(f"no face (no detection with score >= {min_score})")
        if box is None:
            box = dets[0].box
        if lm is None:
            lm = D.landmarks68(image, dets[0].box)
    if mode == "face":
        return D.square_box_transform(box, size), lm
    if mode == "mouth":
        return D.mouth_crop_transform(lm, size=size, eye_mouth=eye_mouth, level_eyes=level_eyes), lm
    if mode == "ffhq":
        return D.ffhq_transform(lm, size), lm
    raise ValueError(f"mode must be mouth, face or ffhq, got {mode!r}")


def split_counts(n: int, test: float, train: float | None) -> tuple[int, int | None, str]:
    """Turn ``--test``/``--train`` (counts >= 1 or fractions < 1) into counts for ``n`` images.

    Asked-for counts that fit are used as they are, ``--train 0`` included (every image in test when
    ``--test`` is the number of images); ``train=None`` means the rest, which must keep at least one
    image. When there are too few images, the asked proportions are used instead (the GLCIC course
    study's 100 test of 528 when ``train`` is not given) and a note says so.
    """
    if test < 0 or (train is not None and train < 0):
        raise ValueError(f"--test/--train must be >= 0, got {test}, {train}")
    n_test = int(round(test * n)) if test < 1 else int(test)
    n_train = None if train is None else (int(round(train * n)) if train < 1 else int(train))
    fits = n_test < n if n_train is None else n_test + n_train <= n
    if fits:
        return n_test, n_train, ""
    ratio = 100 / 528 if n_train is None else n_test / (n_test + n_train)
    if ratio in (0.0, 1.0):     # only one split asked for: all images go there
        new_test = int(round(n * ratio))
    else:
        new_test = min(n - 1, max(1, int(round(n * ratio)))) if n > 1 else 0
    note = (f"asked for {n_test} test + {n_train if n_train is not None else 'the rest'} train but there are only "
            f"{n} images: using the proportion instead, {new_test} test / {n - new_test} train")
    return new_test, n - new_test, note


def assign_split(out: Path, test: float, train: float | None, seed: int, by_subject: bool) -> str:
    """Write a ``split`` column into ``out/manifest.csv`` (deterministic for the same files/seed)."""
    df = read_manifest(out).sort_values("file").reset_index(drop=True).copy()
    if by_subject:
        frac = test if test < 1 else test / max(1, len(df))
        df = split_by_subject(df, test_fraction=frac, seed=seed)
        if train is not None:   # keep the first n_train training rows of a seeded shuffle, as without subjects
            n_train = int(round(train * len(df))) if train < 1 else int(train)
            rows = df.index[df.split == "train"].to_numpy()
            rows = rows[np.random.default_rng(seed).permutation(len(rows))]
            df.loc[rows[n_train:], "split"] = np.nan
        note = f"split by subject: {int((df.split == 'test').sum())} test / {int((df.split == 'train').sum())} train" + \
            (f" / {int(df.split.isna().sum())} unused" if df.split.isna().any() else "")
    else:
        n_test, n_train, note = split_counts(len(df), test, train)
        sp = train_test_split(df.drop(columns=["split"], errors="ignore"), n_test=n_test, n_train=n_train, seed=seed)
        m = dict(zip(sp["file"], sp["split"]))
        df["split"] = df["file"].map(m)   # rows beyond n_train get no split (left out of both)
        note = note or f"{n_test} test / {int((df.split == 'train').sum())} train" + \
            (f" / {int(df.split.isna().sum())} unused" if df.split.isna().any() else "")
    atomic_write_bytes(out / "manifest.csv", df.to_csv(index=False, float_format="%.6g").encode())
    return note


def crop_folder(mode: str, src, out, *, size: int | None = None, version: str = "v2", eye_mouth: float = 80.0,
                level_eyes: bool = True, border: str = "reflect", fmt: str = "png", test: float | None = None,
                train: float | None = None, seed: int = 0, by_subject: bool = False, min_score: float = 0.0,
                progress: bool = True) -> Summary:
    """Crop every face of ``src`` into ``out`` (on-disk format). See the module doc for the modes."""
    if mode not in ("mouth", "face", "ffhq"):
        raise ValueError(f"mode must be mouth, face or ffhq, got {mode!r}")
    if version not in ("v0", "v2"):
        raise ValueError(f"version must be v0 or v2, got {version!r}")
    size = int(size or {"mouth": 256, "face": 128, "ffhq": 1024}[mode])
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    src, out = Path(src), Path(out)
    if src.resolve() == out.resolve():
        raise ValueError("src and out must be different folders")
    if not src.is_dir():
        raise FileNotFoundError(f"expected a folder of images or a face folder, {src} does not exist")
    rows, problems = source_items(src)
    summary = Summary(f"crop {mode}{' ' + version if mode == 'face' else ''} {src} -> {out} at {size}px")
    for f, why in problems:
        summary.skip(why, f)
    if not rows:
        print(f"no images under {src}; nothing to do", file=sys.stderr)
        return summary
    skip_cols = set(LANDMARK_COLUMNS) | set(BOX_COLUMNS) | set(AFF_COLUMNS) | {"file", "path", "split", "face_score",
                                                                                 "unmasked", "mask"}
    suffix = ".jpg" if fmt == "jpg" else ".png"
    with FaceWriter(out, skip_existing=True) as writer:
        for row in tqdm(rows, desc=f"crop {mode}", disable=not progress):
            name = "/".join(safe_filename(part) for part in Path(row["file"]).with_suffix(suffix).parts)
            if name in writer and (out / name).exists():
                summary.keep()
                continue
            try:
                img = load_photo(row["path"])
                M, lm = crop_transform(mode, img, row, size=size, version=version, eye_mouth=eye_mouth,
                                       level_eyes=level_eyes, min_score=min_score)
            except ValueError as e:
                summary.skip(str(e).split(" (")[0], row["file"])
                continue
            except LookupError as e:
                summary.skip(str(e), row["file"])
                continue
            crop = D.warp(img, M, size, border=border, fade=(mode == "ffhq"))
            labels = {k: v for k, v in row.items() if k not in skip_cols and not (pd.api.types.is_scalar(v) and pd.isna(v))}
            labels.setdefault("source", str(row["file"]))
            prev = [row.get(c) for c in AFF_COLUMNS]
            full = _as3(M) @ _as3(prev) if all(v is not None and pd.notna(v) for v in prev) else _as3(M)
            labels.update(zip(AFF_COLUMNS, (round(float(v), 6) for v in full[:2].reshape(-1))))
            h, w = img.shape[:2]
            inside = D.apply_affine(np.linalg.inv(_as3(M))[:2], [[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]])
            labels["padded"] = int(bool((inside[:, 0] < -0.5).any() or (inside[:, 1] < -0.5).any()
                                        or (inside[:, 0] > w - 0.5).any() or (inside[:, 1] > h - 0.5).any()))
            writer.add(crop, file=name, landmarks=None if lm is None else D.apply_affine(M, lm), **labels)
            summary.keep()
    split_note = None
    if test is not None and len(read_manifest(out)):
        split_note = assign_split(out, test, train, seed, by_subject)
        print(split_note)
    _write_data_info(src, out, mode, size, split_note)
    return summary


def _write_data_info(src: Path, out: Path, mode: str, size: int, split_note: str | None) -> None:
    """Carry ``src/data.json`` (name, licence, source) into ``out`` with this crop added: releases
    trained on ``out`` name the data and its licence from it."""
    info_path = src / "data.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else \
        {"name": str(src), "licence": f"not stated: {src} has no data.json (name, licence)"}
    info = {**info, "name": f"{info.get('name', src)}, crop {mode} {size}px", "crop": mode, "size": size,
            "n": len(read_manifest(out)), "cropped_from": str(src), "cropped_by": "data_scripts/crop.py"}
    info.pop("test_fraction", None)   # the source's split is replaced by this one
    if split_note:
        info["split"] = split_note
    atomic_write_bytes(out / "data.json", json.dumps(info, indent=1).encode())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m data_scripts.crop", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Modes: mouth (the GLCIC course study), face --version v2|v0 (the ConvNeXt GANimation thesis), ffhq (the StyleGAN2 masked-face paper). "
                                       "See `python -m data_scripts.crop MODE --help`.")
    sub = p.add_subparsers(dest="mode", required=True)

    def common(sp, size):
        sp.add_argument("src", help="face folder (manifest.csv) or folder of photos")
        sp.add_argument("out", help="output folder (on-disk face format)")
        sp.add_argument("--size", type=int, default=size, help=f"output side in pixels (default {size})")
        sp.add_argument("--format", dest="fmt", choices=("png", "jpg"), default="png", help="output image format")
        sp.add_argument("--border", choices=("reflect", "replicate", "constant"), default="reflect",
                        help="how to fill where the crop leaves the photo")
        sp.add_argument("--min-score", type=float, default=0.0,
                        help="dlib detection score when faces must be detected (0 = dlib's default; the most "
                             "confident face is used)")
        sp.add_argument("--test", type=float, default=None,
                        help="test split: a count (>= 1) or a fraction (< 1); no split column if omitted")
        sp.add_argument("--train", type=float, default=None, help="train split size (count or fraction); default: the rest")
        sp.add_argument("--by-subject", action="store_true", help="split by the 'subject' column (no person in both)")
        sp.add_argument("--seed", type=int, default=0, help="seed of the split")
        sp.add_argument("--quiet", action="store_true", help="no progress bar")
        return sp

    m = common(sub.add_parser("mouth", help="the GLCIC course study: mouth at the lower centre, 256 px, 428/100 split"), 256)
    m.add_argument("--eye-mouth", type=float, default=80.0, help="eye-midpoint-to-mouth distance in px at 256")
    m.add_argument("--no-level", action="store_true", help="do not rotate the eyes level")
    m.set_defaults(test=100, train=428)
    f = common(sub.add_parser("face", help="the ConvNeXt GANimation thesis: v2 square face box or v0 centre square, 128 px"), 128)
    f.add_argument("--version", choices=("v2", "v0"), default="v2", help="v2 = face box (used by the ConvNeXt GANimation thesis), v0 = centre square")
    common(sub.add_parser("ffhq", help="FFHQ alignment (the StyleGAN2 masked-face paper / StyleGAN2) at any size"), 1024)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", False):
        set_progress(False)
    try:
        s = crop_folder(args.mode, args.src, args.out, size=args.size, version=getattr(args, "version", "v2"),
                        eye_mouth=getattr(args, "eye_mouth", 80.0), level_eyes=not getattr(args, "no_level", False),
                        border=args.border, fmt=args.fmt, test=args.test, train=args.train, seed=args.seed,
                        by_subject=args.by_subject, min_score=args.min_score, progress=not args.quiet)
    except (FileNotFoundError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
