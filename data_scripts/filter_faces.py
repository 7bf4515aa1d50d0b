"""Keep the photos that the GLCIC course study kept by hand: one clear face, big enough, mouth visible, no repeats.

    python -m data_scripts.filter_faces raw_images/ data/faces_filtered/
    python -m data_scripts.filter_faces raw_images/ out/ --min-face 128 --min-score 0.5 --same-person 0.6

The GLCIC course study filtered 1000 scraped images to 528 by hand, dropping (a) images where the mouth is not
visible, (b) a second image of the same person and (c) faces smaller than 128x128. This tool does
the same automatically with dlib (offline, see ``helpers.faces.detect``):

- **Face detection**: dlib's HOG frontal-face detector. *False positives*: the detector returns an
  SVM score per box; boxes scoring below ``--min-score`` (default 0.5) are ignored (dlib itself
  accepts score >= 0; the weak 0..0.5 band is where textured clothing, patches and posters show up,
  e.g. the badge on the suit in ``skimage.data.astronaut()`` scores ~0.1 vs ~1.2 for the face).
  The price, measured on 1,207 300-W face crops (AFW + Helen train): 96.0% of the faces are found
  at score 0, 85.2% at 0.5, so lower ``--min-score`` when real faces are scarce.
  The 68 landmarks of the kept box must also pass a geometric sanity check
  (``helpers.faces.detect.plausible_landmarks``: mouth below the eyes, sensible eye-to-mouth / eye
  distance ratio, jaw wider than the mouth, eye distance proportional to the box). The shape
  predictor always fits a face-like shape, so this check only catches gross failures: the score
  threshold is the main guard (at ``--min-score 0`` the astronaut's badge passes both checks).
  With several faces the most confident one is used (``--multi best``) or the photo is dropped
  (``--multi drop``); "most confident", not "largest", as false positives can be the larger box.
- **Too small**: the dlib box side (roughly eyebrows-to-chin, cheek-to-cheek) below ``--min-face``
  pixels (default 128, the GLCIC course study's limit) in the original photo.
- **Mouth not visible**: the 20 mouth landmarks must lie inside the photo, and the lip region must
  not look occluded (``helpers.faces.detect.mouth_visible``: lips redder than the skin between the eyes
  and not flat). Heuristic: skin-coloured occluders or dark lipstick can fool it; the landmark predictor
  always places a mouth, even on a mask, which is why the appearance check exists (often the HOG
  detector does not find a masked face at all, and the photo goes out as "no face"). Measured with
  the ground-truth landmarks of the same 1,207 crops (nobody wears a face mask there): 11 (0.9%)
  are flagged; 2 of them are real occlusions (hair, fingers), the others are false alarms where the
  lips are not redder than the skin (several on darker skin, moustaches) or red glasses frames
  cover the reference skin patch: a bias to keep in mind when filtering a diverse set.
  ``--no-mouth-check`` turns it off.
- **Same person twice**: dlib's 128-d ResNet face embedding; two faces closer than
  ``--same-person`` (default 0.6, dlib's documented same-person threshold, 99.38% on LFW) are
  the same person and only the first (in sorted file order) is kept. 0.6 is a 1:1 verification
  threshold; de-duplication is a 1:N search, where false merges add up with N. Measured on 1,207
  AFW + Helen faces (many different people, some photo series of one person): 2.7% of all pairs are
  below 0.6 and the greedy de-duplication drops 803 of 1,207 (343 at 0.5, 135 at 0.4). Sampled pairs
  at 0.25-0.35 were the same person; pairs at 0.35-0.6 were mostly *different* people, above all
  young children, whom dlib's model separates poorly (CelebA adults do better: the closest of 32
  different people were 0.59 apart). Lower ``--same-person`` (0.4-0.45) for large sets or sets with
  children; the tool warns when repeats are more than 30% of the faces.

Writes the on-disk face format (``manifest.csv`` with the 68 landmarks, the face box
``face_x0..face_y1``, ``face_score`` and ``source``) plus ``filter_report.csv`` (every input
file, kept or dropped, with the reason) and ``embeddings.npz`` (the kept faces' embeddings, so a
re-run only processes new files) and ``filter_settings.json``. Safe to re-run with the same
settings (new files are added, finished ones skipped; other settings are refused: use a new
folder); all writes are atomic.
"""
from __future__ import annotations

import argparse
import io
import json
import zlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from helpers.core.runtime import bar as tqdm, set_progress

from data_scripts.common import Summary, atomic_write_bytes, iter_images, safe_filename
from helpers.faces import detect as D
from helpers.faces.data import FaceWriter

REPORT = "filter_report.csv"
SETTINGS = "filter_settings.json"
EMBEDDINGS = "embeddings.npz"
REPORT_COLUMNS = ["source", "status", "reason", "file", "face_x0", "face_y0", "face_x1", "face_y1",
                  "face_score", "face_size", "same_as", "distance"]


def load_photo(path) -> np.ndarray:
    """Read an image file as uint8 HxWx3 RGB, applying the EXIF orientation; raises ValueError
    with a readable message for corrupt, truncated or non-image files."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"unreadable image ({type(e).__name__}: {str(e)[:80]})") from e


def analyse(image: np.ndarray, *, min_face: int = 128, min_score: float = 0.5, upsample: int = 1,
            multi: str = "best", mouth_check: bool = True, max_side: int = 1600) -> dict:
    """Run the single-image checks. Returns a dict with ``status`` ("kept" or "dropped"),
    ``reason``, and for detected faces ``box``, ``score``, ``size``, ``landmarks``."""
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    small = image
    if scale < 1.0:
        import cv2
        small = cv2.resize(image, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
    dets = D.detect(small, upsample=upsample, min_score=min_score)
    if not dets:
        return {"status": "dropped", "reason": f"no face (no detection with score >= {min_score})"}
    if len(dets) > 1 and multi == "drop":
        return {"status": "dropped", "reason": "several faces"}
    det = dets[0]                                          # the most confident face
    box = tuple(int(round(v / scale)) for v in det.box)
    size = int(min(box[2] - box[0], box[3] - box[1]))
    out = {"box": box, "score": det.score, "size": size}
    if size < min_face:
        return {**out, "status": "dropped", "reason": f"face smaller than {min_face} px"}
    lm = D.landmarks68(image, box)
    out["landmarks"] = lm
    ok, why = D.plausible_landmarks(lm, box)
    if not ok:
        return {**out, "status": "dropped", "reason": f"likely false positive: {why}"}
    if mouth_check:
        ok, why = D.mouth_visible(image, lm)
        if not ok:
            return {**out, "status": "dropped", "reason": f"mouth not visible: {why.split(' (')[0]}"}
    return {**out, "status": "kept", "reason": ""}


def _load_state(out: Path):
    rep = out / REPORT
    report = pd.read_csv(rep, dtype={"source": str, "file": str, "same_as": str}, keep_default_na=False) \
        if rep.exists() else pd.DataFrame(columns=REPORT_COLUMNS)
    emb: dict[str, np.ndarray] = {}
    if (out / EMBEDDINGS).exists():
        with np.load(out / EMBEDDINGS) as z:
            emb = {str(k): z["vectors"][i] for i, k in enumerate(z["files"])}
    return report, emb


def _save_state(out: Path, rows: list[dict], emb: dict[str, np.ndarray]) -> None:
    df = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    atomic_write_bytes(out / REPORT, df.to_csv(index=False, float_format="%.4g").encode())
    buf = io.BytesIO()
    files = np.array(list(emb), dtype=str)
    vecs = np.stack(list(emb.values())).astype(np.float32) if emb else np.zeros((0, 128), np.float32)
    np.savez(buf, files=files, vectors=vecs)
    atomic_write_bytes(out / EMBEDDINGS, buf.getvalue())


def out_name(rel: Path, fmt: str) -> str:
    """Output file name for a source path relative to the input folder (flat, safe)."""
    stem = safe_filename("_".join(rel.with_suffix("").parts))
    suffix = rel.suffix.lower()
    if fmt == "png" or (fmt == "keep" and suffix not in (".jpg", ".jpeg", ".png")):
        suffix = ".png"
    elif fmt == "jpg":
        suffix = ".jpg"
    return stem + (".jpg" if suffix == ".jpeg" else suffix)


def filter_faces(src, out, *, min_face: int = 128, min_score: float = 0.5, upsample: int = 1,
                 same_person: float | None = 0.6, multi: str = "best", mouth_check: bool = True,
                 fmt: str = "keep", limit: int | None = None, save_every: int = 50,
                 progress: bool = True) -> Summary:
    """Filter the photos under ``src`` into the on-disk face format under ``out``; see the module doc."""
    src, out = Path(src), Path(out)
    if multi not in ("best", "drop"):
        raise ValueError(f"multi must be 'best' or 'drop', got {multi!r}")
    if same_person is not None and not 0 < same_person < 2:
        raise ValueError(f"same_person must be a distance in (0, 2), got {same_person}")
    files = iter_images(src)          # FileNotFoundError with a clear message for a missing folder
    summary = Summary(f"filter_faces {src} -> {out}")
    others = [p for p in src.rglob("*") if p.is_file() and p not in set(files) and not p.name.startswith(".")]
    for p in others:
        summary.skip("not an image file (by suffix)", p.name)
    if not files:
        print(f"no image files ({', '.join(s for s in ('.jpg', '.png', '.webp', '...'))}) under {src}; nothing to do",
              file=sys.stderr)
        return summary
    if limit:
        files = files[:limit]
    D.require_models()   # fail early with the install hint
    out.mkdir(parents=True, exist_ok=True)
    settings = {"min_face": min_face, "min_score": min_score, "upsample": upsample, "same_person": same_person,
                "multi": multi, "mouth_check": mouth_check, "format": fmt}
    sp = out / SETTINGS
    if sp.exists():
        old = json.loads(sp.read_text())
        if old != settings:
            diff = {k: (old.get(k), v) for k, v in settings.items() if old.get(k) != v}
            raise ValueError(f"{out} was filtered with other settings {diff} (old, new); earlier decisions would "
                             "not be redone: use a new output folder")
    else:
        atomic_write_bytes(sp, json.dumps(settings, indent=1).encode())
    report, emb = _load_state(out)
    done = {r["source"]: r for r in report.to_dict("records")}
    rows = list(done.values())
    used = {str(r["file"]) for r in rows if r["file"]}
    kept_files = list(emb)
    kept_vecs = [emb[f] for f in kept_files]
    n_new = 0
    with FaceWriter(out, skip_existing=True) as writer:
        try:
            for path in tqdm(files, desc="filter faces", disable=not progress):
                rel = path.relative_to(src)
                key = rel.as_posix()
                if key in done:                       # finished in an earlier run
                    r = done[key]
                    if r["status"] == "kept":
                        summary.keep()
                    else:
                        summary.skip(str(r["reason"]), key)
                    continue
                row = {"source": key, "status": "dropped", "reason": "", "file": "", "same_as": "", "distance": np.nan}
                try:
                    img = load_photo(path)
                    res = analyse(img, min_face=min_face, min_score=min_score, upsample=upsample, multi=multi,
                                  mouth_check=mouth_check)
                except ValueError as e:
                    res = {"status": "dropped", "reason": str(e).split(" (")[0] if "unreadable" in str(e) else str(e)}
                row.update(status=res["status"], reason=res["reason"])
                if "box" in res:
                    row.update(zip(("face_x0", "face_y0", "face_x1", "face_y1"), res["box"]))
                    row.update(face_score=round(res["score"], 4), face_size=res["size"])
                name = out_name(rel, fmt)
                if name in used:                      # two sources flatten to one name
                    name = f"{Path(name).stem}_{zlib.crc32(key.encode()):08x}{Path(name).suffix}"
                if res["status"] == "kept" and same_person is not None:
                    vec = D.face_embedding(img, res["landmarks"])
                    if kept_vecs:
                        d = np.linalg.norm(np.stack(kept_vecs) - vec, axis=1)
                        j = int(d.argmin())
                        if d[j] < same_person:
                            row.update(status="dropped", reason=f"same person as an earlier image (distance < {same_person})",
                                       same_as=kept_files[j], distance=round(float(d[j]), 4))
                    if row["status"] == "kept":
                        kept_files.append(name)
                        kept_vecs.append(vec)
                        emb[name] = vec
                if row["status"] == "kept":
                    writer.add(img, file=name, landmarks=res["landmarks"], source=key,
                               face_x0=res["box"][0], face_y0=res["box"][1], face_x1=res["box"][2],
                               face_y1=res["box"][3], face_score=round(res["score"], 4))
                    row["file"] = name
                    used.add(name)
                    summary.keep()
                else:
                    summary.skip(row["reason"], key)
                rows.append(row)
                n_new += 1
                if n_new % save_every == 0:
                    writer.flush()
                    _save_state(out, rows, emb)
        finally:
            _save_state(out, rows, emb)
    rep = sum(n for r, n in summary.skipped.items() if r.startswith("same person"))
    if rep >= 10 and rep > 0.3 * (rep + summary.kept):
        print(f"warning: {rep} of {rep + summary.kept} faces were dropped as repeats at distance < {same_person}; "
              "dlib's 0.6 is a 1:1 threshold and merges different people in large sets (see --help). "
              "Consider --same-person 0.45 (re-run into a new folder).", file=sys.stderr)
    return summary


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m data_scripts.filter_faces", description=__doc__, formatter_class=_Formatter)
    p.add_argument("src", help="folder of photos (searched recursively)")
    p.add_argument("out", help="output folder (on-disk face format)")
    p.add_argument("--min-face", type=int, default=128, help="minimum face box side in pixels")
    p.add_argument("--min-score", type=float, default=0.5, help="minimum dlib HOG detection score (false-positive guard)")
    p.add_argument("--upsample", type=int, default=1, choices=(0, 1, 2), help="dlib upsampling (finds smaller faces, slower)")
    p.add_argument("--same-person", type=float, default=0.6,
                   help="embedding distance below which two faces are the same person (dlib's 1:1 threshold; "
                        "0.4-0.45 merges fewer different people in large sets)")
    p.add_argument("--keep-repeats", action="store_true", help="do not drop repeats of the same person")
    p.add_argument("--multi", choices=("best", "drop"), default="best",
                   help="several faces in a photo: use the most confident one, or drop the photo")
    p.add_argument("--no-mouth-check", action="store_true", help="skip the mouth-occlusion check")
    p.add_argument("--format", dest="fmt", choices=("keep", "png", "jpg"), default="keep", help="output image format")
    p.add_argument("--limit", type=int, default=None, help="only the first N files (for a quick look)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", False):
        set_progress(False)
    try:
        s = filter_faces(args.src, args.out, min_face=args.min_face, min_score=args.min_score, upsample=args.upsample,
                         same_person=None if args.keep_repeats else args.same_person, multi=args.multi,
                         mouth_check=not args.no_mouth_check, fmt=args.fmt, limit=args.limit, progress=not args.quiet)
    except (FileNotFoundError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s.report()
    print(f"details: {Path(args.out) / REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
