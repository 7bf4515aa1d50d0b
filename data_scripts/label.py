"""Add labels to a face folder's manifest: 68 landmarks, 17 AU intensities, CelebA attributes.

    python -m data_scripts.label landmarks data/faces/                      # dlib, offline (default)
    python -m data_scripts.label landmarks data/faces/ --backend fan         # FAN (face-alignment), downloads weights
    python -m data_scripts.label aus data/faces/ --openface-bin ~/OpenFace/build/bin/FaceLandmarkImg
    python -m data_scripts.label aus data/faces/ --backend pyfeat
    python -m data_scripts.label celeba data/celeba/ --attr list_attr_celeba.txt \\
        --identity identity_CelebA.txt --landmarks list_landmarks_align_celeba.txt

``ROOT`` is a folder in the on-disk face format; a plain folder of images is accepted too (a
manifest listing the images in place is created). The manifest is updated in place, atomically
and every ``--save-every`` images, so an interrupted run loses nothing and a re-run only labels the
rows that still lack the label (``--overwrite`` redoes all).

Backends
- landmarks ``dlib`` (default): dlib HOG detector + the 68-point shape predictor shipped in
  ``face-recognition-models``; fully offline. The face box ``face_x0..face_y1`` is used if present.
- landmarks ``fan``: FAN (Bulat & Tzimiropoulos 2017) from the ``face-alignment`` package, the tool
  the landmark-and-label paper used. It downloads its weights on first use (works in Colab, not offline).
- AUs ``openface``: runs OpenFace 2.x (``FaceLandmarkImg`` for independent photos, the right tool
  for a folder of faces; ``FeatureExtraction`` also works and is run with ``-au_static``) and reads
  the ``AU01_r .. AU45_r`` intensity columns (0..5) of the 17 AUs of the ConvNeXt GANimation thesis. OpenFace must be
  built from source (https://github.com/TadasBaltrusaitis/OpenFace/wiki, Unix installation).
- AUs ``pyfeat``: py-feat's detector where it can load its models (downloaded from Hugging Face on
  first use). py-feat gives AU *occurrence probabilities* in 0..1, not OpenFace's 0..5 intensities,
  and has no AU45 (blink): its AU43 (eyes closed) is used instead. The manifest records the
  backend in ``au_backend``; do not mix backends in one data set.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from helpers.core.runtime import bar as tqdm, set_progress

from data_scripts.common import Summary, atomic_write_bytes, iter_images
from data_scripts.crop import AFF_COLUMNS, box_of
from data_scripts.filter_faces import load_photo
from helpers.faces import detect as D
from helpers.faces.data import LABEL_COLUMNS, LANDMARK_COLUMNS, MANIFEST, POSE_COLUMNS, read_manifest

AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)   # == helpers.synthfaces.AUS
AU_COLUMNS = tuple(f"AU{a:02d}" for a in AUS)
OPENFACE_AU_COLUMNS = tuple(f"AU{a:02d}_r" for a in AUS)

OPENFACE_HINT = ("OpenFace's FaceLandmarkImg / FeatureExtraction binary was not found. Build OpenFace 2.x from "
                 "https://github.com/TadasBaltrusaitis/OpenFace (wiki: 'Unix Installation'; run its "
                 "download_models.sh), then pass --openface-bin /path/to/OpenFace/build/bin/FaceLandmarkImg, "
                 "set $OPENFACE_BIN, or put the binary on PATH. Alternatively use --backend pyfeat.")
PYFEAT_HINT = "py-feat is not installed: `pip install py-feat` (its models are downloaded from Hugging Face on first use)."
FAN_HINT = "face-alignment (FAN) is not installed: `pip install face-alignment` (or use the offline default --backend dlib)."


class BackendUnavailable(RuntimeError):
    """A labelling backend cannot run here (not installed, or cannot download its weights)."""


# --------------------------------------------------------------------------------------------
# Manifest helpers


def load_or_index(root: Path) -> pd.DataFrame:
    """The folder's manifest, or (for a plain image folder) a new one listing its images in place."""
    root = Path(root)
    if (root / MANIFEST).exists():
        return read_manifest(root)
    files = iter_images(root)
    if not files:
        raise ValueError(f"{root} has no manifest.csv and no images; nothing to label")
    return pd.DataFrame({"file": [p.relative_to(root).as_posix() for p in files]})


def save_manifest(root: Path, df: pd.DataFrame) -> Path:
    """Write ``root/manifest.csv`` atomically (canonical column order as helpers.faces.data writes it)."""
    cols = list(df.columns)
    lead = ["file"] + [c for c in LABEL_COLUMNS if c in cols]
    lm = [c for c in LANDMARK_COLUMNS if c in cols]
    au = [c for c in AU_COLUMNS if c in cols]
    pose = [c for c in POSE_COLUMNS if c in cols]
    rest = [c for c in cols if c not in set(lead) | set(lm) | set(au) | set(pose)]
    text = df[lead + lm + au + pose + rest].to_csv(index=False, float_format="%.6g")
    return atomic_write_bytes(Path(root) / "manifest.csv", text.encode("utf-8"))


def _todo(df: pd.DataFrame, cols, overwrite: bool) -> list[int]:
    if overwrite or not set(cols) <= set(df.columns):
        return list(range(len(df)))
    missing = df[list(cols)].isna().any(axis=1).to_numpy()
    return [int(i) for i in np.flatnonzero(missing)]


# --------------------------------------------------------------------------------------------
# Landmarks


def fan_model(device: str = "cpu"):
    """Create FAN (face-alignment's 2D model). Raises :class:`BackendUnavailable` with a clear
    message when the package is missing or its weights cannot be downloaded (offline)."""
    try:
        import face_alignment
    except ImportError as e:
        raise BackendUnavailable(FAN_HINT) from e
    kind = getattr(face_alignment.LandmarksType, "TWO_D", None) or getattr(face_alignment.LandmarksType, "_2D")
    try:
        return face_alignment.FaceAlignment(kind, device=device, flip_input=False)
    except Exception as e:  # URLError, HTTPError, OSError, RuntimeError from torch.hub
        raise BackendUnavailable(
            "FAN could not load its weights: face-alignment downloads them (2D-FAN and the S3FD face detector, "
            "about 100 MB) from the internet on first use, which fails offline. Run once with internet (e.g. in "
            "Colab), or copy the .pth files into the torch hub cache "
            f"({os.path.join(os.environ.get('TORCH_HOME', '~/.cache/torch'), 'hub', 'checkpoints')}), "
            f"or use --backend dlib. ({type(e).__name__}: {str(e)[:120]})") from e


def fan_landmarks(model, image: np.ndarray, box=None) -> np.ndarray:
    """68 landmarks from FAN for the largest (or the given) face; LookupError if none."""
    boxes = None if box is None else [np.array(list(box) + [1.0], np.float32)]
    res = model.get_landmarks_from_image(image, detected_faces=boxes)
    if not res:
        raise LookupError("no face found by FAN's detector")
    best = max(res, key=lambda p: np.ptp(p[:, 0]) * np.ptp(p[:, 1]))
    return np.asarray(best[:, :2], np.float32)


def label_landmarks(root, backend: str = "dlib", overwrite: bool = False, device: str = "cpu",
                    save_every: int = 100, progress: bool = True) -> Summary:
    """Fill the 68 landmark columns of ``root``'s manifest with dlib or FAN."""
    root = Path(root)
    if backend not in ("dlib", "fan"):
        raise ValueError(f"backend must be 'dlib' or 'fan', got {backend!r}")
    df = load_or_index(root)
    todo = _todo(df, LANDMARK_COLUMNS, overwrite)
    summary = Summary(f"label landmarks ({backend}) {root}")
    summary.keep(len(df) - len(todo))
    if not todo:
        return summary
    if backend == "fan":
        model = fan_model(device)
    else:
        D.require_models()
    missing_cols = [c for c in LANDMARK_COLUMNS if c not in df.columns]
    if missing_cols:
        df = pd.concat([df, pd.DataFrame(np.nan, index=df.index, columns=missing_cols)], axis=1)
    lm_idx = [df.columns.get_loc(c) for c in LANDMARK_COLUMNS]
    try:
        for n, i in enumerate(tqdm(todo, desc=f"landmarks ({backend})", disable=not progress)):
            rec = df.iloc[i].to_dict()
            try:
                img = load_photo(root / rec["file"])
                box = box_of(rec)
                if backend == "dlib":
                    lm = D.landmarks68(img, box)
                else:
                    lm = fan_landmarks(model, img, box)
            except FileNotFoundError:
                summary.skip("image file missing", rec["file"])
                continue
            except ValueError as e:       # unreadable image, NoFaceError
                summary.skip(str(e).split(" (")[0], rec["file"])
                continue
            except LookupError as e:
                summary.skip(str(e), rec["file"])
                continue
            df.iloc[i, lm_idx] = lm.reshape(-1)
            summary.keep()
            if (n + 1) % save_every == 0:
                save_manifest(root, df)
    finally:
        save_manifest(root, df)
    return summary


# --------------------------------------------------------------------------------------------
# Action units: OpenFace


def find_openface(binary: str | os.PathLike | None = None) -> Path:
    """Locate OpenFace's FaceLandmarkImg or FeatureExtraction; :class:`BackendUnavailable` if absent."""
    cands = [binary, os.environ.get("OPENFACE_BIN")]
    for name in ("FaceLandmarkImg", "FeatureExtraction"):
        cands.append(shutil.which(name))
        if os.environ.get("OPENFACE_DIR"):
            cands.append(os.path.join(os.environ["OPENFACE_DIR"], "build", "bin", name))
    for c in cands:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c)
    if binary:
        raise BackendUnavailable(f"--openface-bin {binary} is not an executable file. {OPENFACE_HINT}")
    raise BackendUnavailable(OPENFACE_HINT)


def read_openface_csv(path) -> pd.DataFrame:
    """Read an OpenFace output CSV (FeatureExtraction / FaceLandmarkImg format).

    OpenFace writes headers with a space after each comma (``frame, face_id, timestamp,
    confidence, success, ..., AU01_r, ...``); names are stripped here. Returns one row per
    detected face with columns ``frame`` (1-based; FaceLandmarkImg writes ``face`` instead and
    frame is set to 1), ``face``, ``confidence``, ``success`` and ``AU01 .. AU45`` (the 17 ``_r``
    intensities, renamed to the manifest's AU column names). Raises ValueError if AU columns are
    missing (OpenFace run without ``-aus``).
    """
    df = pd.read_csv(path, skipinitialspace=True)
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in OPENFACE_AU_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: no AU intensity columns {missing[:4]}... (was OpenFace run with -aus?)")
    out = pd.DataFrame({
        "frame": df["frame"].astype(int) if "frame" in df.columns else 1,
        "face": df["face_id"] if "face_id" in df.columns else (df["face"] if "face" in df.columns else 0),
        "confidence": df["confidence"] if "confidence" in df.columns else 1.0,
        "success": df["success"].astype(int) if "success" in df.columns else 1,
    })
    for col, src in zip(AU_COLUMNS, OPENFACE_AU_COLUMNS):
        out[col] = pd.to_numeric(df[src], errors="coerce").astype("float32")
    return out


def best_face_aus(table: pd.DataFrame) -> dict[int, np.ndarray]:
    """frame -> (17,) AUs of the most confident successfully tracked face in that frame."""
    ok = table[table["success"] == 1]
    res = {}
    for frame, g in ok.groupby("frame"):
        r = g.sort_values("confidence", ascending=False).iloc[0]
        res[int(frame)] = r[list(AU_COLUMNS)].to_numpy(np.float32)
    return res


def run_openface(binary, images: list[Path], timeout: float = 3600) -> dict[int, np.ndarray | None]:
    """Run OpenFace on ``images``; returns index -> (17,) AU intensities (None: no face found).

    The images are linked into a temp folder as 000000.ext, 000001.ext ... so that file names
    (FaceLandmarkImg writes ``<stem>.csv`` per image) and frame numbers (FeatureExtraction writes one
    CSV whose ``frame`` k is the k-th file in sorted order) both map back without ambiguity.
    """
    binary = Path(binary)
    seq = binary.name.startswith("FeatureExtraction")
    with tempfile.TemporaryDirectory(prefix="openface_") as tmp:
        tmp = Path(tmp)
        inp, out = tmp / "in", tmp / "out"
        inp.mkdir()
        out.mkdir()
        for k, p in enumerate(images):
            dst = inp / f"{k:06d}{p.suffix.lower()}"
            try:
                os.symlink(Path(p).resolve(), dst)
            except OSError:
                shutil.copyfile(p, dst)
        cmd = [str(binary), "-fdir", str(inp), "-out_dir", str(out), "-aus"] + (["-au_static"] if seq else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"OpenFace failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-800:]}")
        res: dict[int, np.ndarray | None] = {k: None for k in range(len(images))}
        if seq:
            csvs = sorted(out.glob("*.csv"))
            if not csvs:
                raise RuntimeError(f"OpenFace wrote no CSV into {out}; stdout: {proc.stdout[-400:]}")
            for frame, aus in best_face_aus(read_openface_csv(csvs[0])).items():
                if 1 <= frame <= len(images):
                    res[frame - 1] = aus
        else:
            for k in range(len(images)):
                f = out / f"{k:06d}.csv"
                if f.exists():
                    got = best_face_aus(read_openface_csv(f))
                    res[k] = next(iter(got.values()), None)
        return res


# --------------------------------------------------------------------------------------------
# Action units: py-feat


def pyfeat_detector(device: str = "cpu"):
    """py-feat's Detector; :class:`BackendUnavailable` when not installed or its models cannot load."""
    try:
        import feat
    except ImportError as e:
        raise BackendUnavailable(PYFEAT_HINT) from e
    try:
        return feat.Detector(device=device)
    except Exception as e:
        raise BackendUnavailable(
            "py-feat could not load its models: it downloads them from https://huggingface.co/py-feat on first "
            f"use, which fails offline. Run once with internet or use --backend openface. ({type(e).__name__}: "
            f"{str(e)[:120]})") from e


def pyfeat_aus(detector, paths: list[Path]) -> dict[int, np.ndarray | None]:
    """index -> (17,) AU values from py-feat (occurrence probabilities 0..1; AU45 <- AU43)."""
    files = [str(p) for p in paths]
    if hasattr(detector, "detect_image"):      # py-feat <= 0.6
        fex = detector.detect_image(files)
    else:                                      # py-feat >= 0.7: one entry point for images and videos
        fex = detector.detect(files, data_type="image")
    fex = pd.DataFrame(fex)
    res: dict[int, np.ndarray | None] = {k: None for k in range(len(paths))}
    key = "input" if "input" in fex.columns else None
    score = "FaceScore" if "FaceScore" in fex.columns else None
    for k in range(len(paths)):
        rows = fex[fex[key] == str(paths[k])] if key else fex.iloc[[k]] if k < len(fex) else fex.iloc[0:0]
        rows = rows.dropna(subset=[c for c in ("AU01", "AU12") if c in rows.columns])
        if not len(rows):
            continue
        r = rows.sort_values(score, ascending=False).iloc[0] if score else rows.iloc[0]
        vals = []
        for a in AUS:
            name = f"AU{a:02d}"
            if a == 45 and name not in r.index:
                name = "AU43"
            vals.append(float(r[name]) if name in r.index else np.nan)
        res[k] = np.array(vals, np.float32)
    return res


def label_aus(root, backend: str = "openface", openface_bin=None, overwrite: bool = False, batch: int = 200,
              device: str = "cpu", progress: bool = True) -> Summary:
    """Fill the 17 AU columns of ``root``'s manifest with OpenFace or py-feat."""
    root = Path(root)
    if backend not in ("openface", "pyfeat"):
        raise ValueError(f"backend must be 'openface' or 'pyfeat', got {backend!r}")
    runner = find_openface(openface_bin) if backend == "openface" else pyfeat_detector(device)
    df = load_or_index(root)
    todo = _todo(df, AU_COLUMNS, overwrite)
    summary = Summary(f"label AUs ({backend}) {root}")
    summary.keep(len(df) - len(todo))
    missing_cols = [c for c in AU_COLUMNS if c not in df.columns]
    if missing_cols:
        df = pd.concat([df, pd.DataFrame(np.nan, index=df.index, columns=missing_cols)], axis=1)
    tag = ("openface " + Path(runner).name + " (intensity 0..5)") if backend == "openface" else \
        "py-feat (occurrence probability 0..1; AU45 from AU43)"
    if "au_backend" not in df.columns:
        df["au_backend"] = pd.Series([None] * len(df), dtype=object)
    others = {str(v) for v in df["au_backend"].dropna()} - {tag}
    if others and not overwrite and todo:
        raise ValueError(f"{root}: some AUs come from another backend ({sorted(others)[0]}); py-feat's 0..1 "
                         "probabilities and OpenFace's 0..5 intensities must not be mixed: use --overwrite")
    au_idx = [df.columns.get_loc(c) for c in AU_COLUMNS]
    bar = tqdm(total=len(todo), desc=f"AUs ({backend})", disable=not progress)
    try:
        for s in range(0, len(todo), batch):
            rows = todo[s:s + batch]
            paths = [root / df.iloc[i]["file"] for i in rows]
            present = [(i, p) for i, p in zip(rows, paths) if p.is_file()]
            for i, p in zip(rows, paths):
                if not p.is_file():
                    summary.skip("image file missing", df.iloc[i]["file"])
            if present:
                ps = [p for _, p in present]
                got = run_openface(runner, ps) if backend == "openface" else pyfeat_aus(runner, ps)
                for k, (i, _) in enumerate(present):
                    if got.get(k) is None:
                        summary.skip("no face found by the AU backend", df.iloc[i]["file"])
                        continue
                    df.iloc[i, au_idx] = got[k]
                    df.iloc[i, df.columns.get_loc("au_backend")] = tag
                    summary.keep()
            save_manifest(root, df)
            bar.update(len(rows))
    finally:
        bar.close()
        save_manifest(root, df)
    return summary


# --------------------------------------------------------------------------------------------
# CelebA attributes, identities, landmarks


def _read_celeba_table(path, kind: str) -> pd.DataFrame:
    """Read a CelebA annotation file (official .txt or Kaggle .csv) indexed by image stem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CelebA {kind} file {path} does not exist")
    try:
        if path.suffix.lower() == ".csv":
            df = pd.read_csv(path)
            key = df.columns[0]
        elif kind == "identity":
            df = pd.read_csv(path, sep=r"\s+", header=None, names=["image_id", "identity"])
            key = "image_id"
        else:   # official: line 1 = count, line 2 = column names, then "file v v v"
            with open(path) as f:
                first = f.readline().strip()
                names = f.readline().split()
            if not first.isdigit() or not names:
                raise ValueError("expected a count on line 1 and column names on line 2")
            df = pd.read_csv(path, sep=r"\s+", skiprows=2, header=None, names=["image_id"] + names)
            key = "image_id"
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read CelebA {kind} file {path}: {e}") from e
    df = df.rename(columns={key: "image_id"})
    df.index = df["image_id"].astype(str).map(lambda s: Path(s).stem)
    return df.drop(columns=["image_id"])


def label_celeba(root, attr=None, identity=None, landmarks=None, overwrite: bool = False) -> Summary:
    """Join CelebA annotations into ``root``'s manifest by image stem (of ``source`` if present,
    else of ``file``).

    Adds ``smiling`` (0/1 from ``Smiling``), the 40 attributes under their own names (0/1, as
    ``data_scripts.prepare_celeba`` writes them), ``subject`` (the CelebA identity) and CelebA's 5
    points as ``lefteye_x .. rightmouth_y``, mapped into the image with the ``aff_*`` columns when
    the rows were made by ``data_scripts.crop`` (otherwise they are in the original aligned
    178x218 image).
    Existing values are kept unless ``overwrite``.
    """
    root = Path(root)
    if not any((attr, identity, landmarks)):
        raise ValueError("give at least one of --attr, --identity, --landmarks")
    df = load_or_index(root)
    keycol = "source" if "source" in df.columns else "file"
    keys = df[keycol].astype(str).map(lambda s: Path(s).stem)
    summary = Summary(f"label celeba {root}")
    new: dict[str, pd.Series] = {}
    matched = pd.Series(False, index=df.index)
    if attr:
        a = _read_celeba_table(attr, "attributes")
        hit = keys.isin(a.index)
        matched |= hit
        j = a.reindex(keys.values)
        j.index = df.index
        for name in a.columns:
            new[name] = (j[name] == 1).astype("Int64").where(j[name].notna())
        if "Smiling" in a.columns:
            new["smiling"] = new["Smiling"]
    if identity:
        t = _read_celeba_table(identity, "identity")
        matched |= keys.isin(t.index)
        j = t.reindex(keys.values)
        new["subject"] = pd.Series([None if pd.isna(v) else str(int(v)) for v in j.iloc[:, 0]], index=df.index,
                                   dtype=object)
    if landmarks:
        t = _read_celeba_table(landmarks, "landmarks")
        matched |= keys.isin(t.index)
        j = t.reindex(keys.values)
        names = [c[:-2] for c in t.columns if c.endswith("_x")]
        pts = np.stack([j[[f"{n}_x", f"{n}_y"]].to_numpy(np.float64) for n in names], axis=1)  # (N, 5, 2)
        if set(AFF_COLUMNS) <= set(df.columns):
            M = df[list(AFF_COLUMNS)].to_numpy(np.float64).reshape(-1, 2, 3)
            pts = np.einsum("nij,nkj->nki", M[:, :, :2], pts) + M[:, None, :, 2]
        for k, n in enumerate(names):
            new[f"{n}_x"] = pd.Series(pts[:, k, 0], index=df.index)
            new[f"{n}_y"] = pd.Series(pts[:, k, 1], index=df.index)
    for col, vals in new.items():
        if col in df.columns and not overwrite:
            df[col] = df[col].where(df[col].notna(), vals)
        else:
            df[col] = vals
    for f, m in zip(df["file"], matched):
        if m:
            summary.keep()
        else:
            summary.skip("no CelebA annotation row for this image", f)
    save_manifest(root, df)
    return summary


# --------------------------------------------------------------------------------------------
# CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m data_scripts.label", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    lm = sub.add_parser("landmarks", help="68 landmarks (dlib offline, or FAN)")
    lm.add_argument("root", help="face folder (manifest.csv) or folder of images")
    lm.add_argument("--backend", choices=("dlib", "fan"), default="dlib",
                    help="dlib: offline (default); fan: face-alignment's FAN, downloads its weights on first use")
    lm.add_argument("--device", default="cpu", help="FAN device (cpu/cuda)")
    au = sub.add_parser("aus", help="17 AU intensities (OpenFace, or py-feat)")
    au.add_argument("root", help="face folder (manifest.csv) or folder of images")
    au.add_argument("--backend", choices=("openface", "pyfeat"), default="openface",
                    help="openface: OpenFace 2.x binary, AU*_r intensities 0..5 (default); pyfeat: py-feat, "
                         "occurrence probabilities 0..1")
    au.add_argument("--openface-bin", default=None, help="path to FaceLandmarkImg or FeatureExtraction")
    au.add_argument("--batch", type=int, default=200, help="images per OpenFace call")
    au.add_argument("--device", default="cpu", help="py-feat device")
    ce = sub.add_parser("celeba", help="join CelebA attributes (Smiling...), identities, 5-point landmarks")
    ce.add_argument("root", help="face folder (manifest.csv) or folder of CelebA images")
    ce.add_argument("--attr", help="list_attr_celeba.txt (or .csv)")
    ce.add_argument("--identity", help="identity_CelebA.txt (or .csv)")
    ce.add_argument("--landmarks", help="list_landmarks_align_celeba.txt (or .csv)")
    for sp in (lm, au, ce):
        sp.add_argument("--overwrite", action="store_true", help="relabel rows that already have the label")
    for sp in (lm, au):
        sp.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", False):
        set_progress(False)
    try:
        if args.what == "landmarks":
            s = label_landmarks(args.root, args.backend, args.overwrite, args.device, progress=not args.quiet)
        elif args.what == "aus":
            s = label_aus(args.root, args.backend, args.openface_bin, args.overwrite, args.batch, args.device,
                          progress=not args.quiet)
        else:
            s = label_celeba(args.root, args.attr, args.identity, args.landmarks, args.overwrite)
    except (BackendUnavailable, FileNotFoundError, ValueError, ImportError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
