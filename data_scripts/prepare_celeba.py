"""Attribute data sets: CelebA, CelebA-HQ, FFHQ -> the on-disk face format.

CelebA columns: ``subject`` (identity), ``smiling`` (attribute Smiling, +1/-1 -> 1/0), the 40
attributes under their own names (+1/-1 -> 1/0), ``split`` (list_eval_partition 0/1/2 ->
train/val/test) and the 5 aligned landmarks as ``lefteye_x .. rightmouth_y``. Both the official
text files and the Kaggle CSV versions (``list_attr_celeba.csv``...) are read, from folders or from
the archives as downloaded (``img_align_celeba.zip``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

import numpy as np

from data_scripts.common import Summary
from data_scripts.prepare_labels import course_expression, natural_key
from data_scripts.prepare_sources import PrepareError, SourceTree, is_image_name, report_bad_archives
from data_scripts.prepare_writing import Cropper, Item, output_name, write_items

CELEBA_FILES = ("list_attr_celeba", "identity_CelebA", "list_landmarks_align_celeba", "list_eval_partition")
CELEBA_LANDMARKS = ("lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y",
                    "leftmouth_x", "leftmouth_y", "rightmouth_x", "rightmouth_y")
PARTITION = {"0": "train", "1": "val", "2": "test"}


def read_table(text: str) -> tuple[list[str] | None, dict[str, list[str]]]:
    """CelebA's annotation tables: optional count line, optional header, then ``<file> values...``.

    Works for the official whitespace files and Kaggle's CSVs (``image_id,...``). Returns the value
    column names (None when the file has no header) and ``{file name: [values]}``.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None, {}
    sep = "," if "," in lines[0] or (len(lines) > 1 and "," in lines[1]) else None
    split = (lambda ln: [t.strip() for t in ln.split(",")]) if sep else (lambda ln: ln.split())
    i = 0
    if len(split(lines[0])) == 1 and split(lines[0])[0].isdigit():
        i = 1  # "202599"
    header = None
    if i < len(lines):
        first = split(lines[i])
        if not re.search(r"\.(jpg|jpeg|png)$", first[0], re.I):
            header = first[1:] if first[0].lower() in ("image_id", "file", "filename", "image", "idx") else first
            i += 1
    rows = {}
    for ln in lines[i:]:  # values stay one string per row until asked for (202,599 x 40 objects otherwise)
        ln = ln.strip()
        cut = ln.find(",") if sep else len(ln.split(None, 1)[0])
        if 0 < cut < len(ln):
            rows[ln[:cut].strip()] = ln[cut + 1:]
    return header, rows


def row_values(rows: dict[str, str], name: str) -> list[str] | None:
    """The values of one row of a :func:`read_table` table, or None when the file is not listed."""
    line = rows.get(name)
    if line is None:
        return None
    return [t.strip() for t in line.split(",")] if "," in line else line.split()


def _find_table(tree: SourceTree, stem: str, extra: SourceTree | None = None):
    for t in (tree, extra):
        if t is None:
            continue
        for ext in (".txt", ".csv"):
            rel = t.find(stem + ext, max_depth=4)
            if rel is not None and rel in t:
                return read_table(t.read_text(rel))
    return None, None


def load_celeba_annotations(tree: SourceTree, extra: SourceTree | None = None) -> dict:
    """The four CelebA tables that are present: ``attr``, ``identity``, ``landmarks``, ``partition``."""
    ann = {}
    for key, stem in zip(("attr", "identity", "landmarks", "partition"), CELEBA_FILES):
        header, rows = _find_table(tree, stem, extra)
        if rows is not None:
            ann[key] = (header, rows)
    if "attr" in ann:
        header, rows = ann["attr"]
        if header is None or len(header) != 40 or "Smiling" not in header:
            raise PrepareError("list_attr_celeba: expected a header line with the 40 attribute names incl. Smiling")
    return ann


def celeba_labels(name: str, ann: dict) -> dict:
    """Labels of one CelebA file name (``000001.jpg``) from the loaded annotations."""
    labels: dict = {}
    if "identity" in ann and name in ann["identity"][1]:
        labels["subject"] = row_values(ann["identity"][1], name)[0]
    if "partition" in ann and name in ann["partition"][1]:
        labels["split"] = PARTITION.get(row_values(ann["partition"][1], name)[0], None)
    if "attr" in ann:
        header, rows = ann["attr"]
        vals = row_values(rows, name)
        if vals is not None and len(vals) == len(header):
            attrs = {h: (1 if int(float(v)) > 0 else 0) for h, v in zip(header, vals)}
            labels["smiling"] = attrs["Smiling"]
            labels.update(attrs)
    return labels


def celeba_points(name: str, ann: dict) -> dict:
    if "landmarks" not in ann or name not in ann["landmarks"][1]:
        return {}
    vals = row_values(ann["landmarks"][1], name)
    if len(vals) != 10:
        return {}
    return {"celeba5": np.asarray([float(v) for v in vals], dtype=np.float32).reshape(5, 2)}


def download_celeba(root) -> None:
    """torchvision's CelebA downloader (Google Drive; needs internet, often hits the daily quota)."""
    try:
        from torchvision.datasets import CelebA
        CelebA(str(root), split="all", target_type=["attr", "identity", "landmarks"], download=True)
    except Exception as e:
        raise PrepareError(
            f"CelebA download failed ({type(e).__name__}: {e}). torchvision fetches it from Google Drive, which "
            "needs internet (and gdown) and often refuses with a quota error. Download img_align_celeba.zip and "
            "the list_*.txt / identity_CelebA.txt files by hand from "
            "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html, put them in one folder and pass --src FOLDER.") from e


def prepare_celeba(src, out, summary: Summary, cropper: Cropper, *, download=False, fmt="auto",
                   limit: int | None = None) -> int:
    """CelebA aligned images (``img_align_celeba/`` folder or zip) + the annotation tables found."""
    if download:
        Path(src).mkdir(parents=True, exist_ok=True)
        download_celeba(src)
    with SourceTree(src) as tree:
        report_bad_archives(tree, summary)
        folder = tree.find("img_align_celeba", max_depth=4)
        if folder is None:
            raise PrepareError("expected CelebA's img_align_celeba/ folder (or img_align_celeba.zip) under "
                               f"{src}; use --download to fetch it with torchvision")
        images = [r for r in tree.under(folder) if PurePosixPath(r).parent.name == "img_align_celeba"]
        for r in images:
            if not is_image_name(r):
                summary.skip("not an image file", r)
        images = sorted((r for r in images if is_image_name(r)), key=natural_key)[:limit]
        if not images:
            raise PrepareError(f"{folder} holds no images")
        ann = load_celeba_annotations(tree)
        missing = [s for s, k in zip(CELEBA_FILES, ("attr", "identity", "landmarks", "partition")) if k not in ann]
        if missing:
            print(f"celeba: annotation files not found, their columns are left out: {', '.join(missing)}")

        def items():
            for rel in images:
                name = PurePosixPath(rel).name
                labels = {"source": "celeba", "celeba_file": name, **celeba_labels(name, ann)}
                yield Item(file=output_name("images", name, suffix=".png"), origin=rel,
                           load=(lambda r=rel: tree.read_bytes(r)),
                           labels=labels, points=celeba_points(name, ann),
                           point_columns={"celeba5": CELEBA_LANDMARKS})
        return write_items(items(), Path(out), summary, cropper, fmt=fmt, settings={"dataset": "celeba"},
                           desc="celeba", total=len(images))


# --------------------------------------------------------------------------------------------
# CelebA-HQ
# --------------------------------------------------------------------------------------------

HQ_MAPPINGS = ("CelebA-HQ-to-CelebA-mapping.txt", "image_list.txt")
HQ_ATTRS = "CelebAMask-HQ-attribute-anno.txt"


def read_hq_mapping(text: str) -> dict[int, str]:
    """``idx orig_idx orig_file [...]`` (CelebAMask-HQ mapping or progressive-GAN image_list.txt)."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if not lines or "idx" not in lines[0] or "orig_file" not in lines[0]:
        raise PrepareError("CelebA-HQ mapping: expected a header with 'idx' and 'orig_file' columns")
    i, f = lines[0].index("idx"), lines[0].index("orig_file")
    out = {}
    for parts in lines[1:]:
        if len(parts) > max(i, f) and parts[i].isdigit():
            out[int(parts[i])] = parts[f]
    return out


def prepare_celeba_hq(src, out, summary: Summary, cropper: Cropper, *, celeba=None, mapping=None, fmt="auto") -> int:
    """CelebA-HQ images (``0.jpg`` / ``imgHQ00000.png`` / ``00000.png``) joined to CelebA via the mapping file.

    With the mapping (found in ``src`` or given by ``--mapping``) and CelebA's tables (in ``src`` or in
    ``--celeba``), each image gets CelebA's identity, attributes and partition; CelebAMask-HQ's own
    ``CelebAMask-HQ-attribute-anno.txt`` is used for attributes when present.
    """
    with SourceTree(src) as tree:
        report_bad_archives(tree, summary)
        extra = SourceTree(celeba) if celeba else None
        try:
            text = None
            if mapping:
                text = Path(mapping).read_text()
            else:
                for name in HQ_MAPPINGS:
                    rel = tree.find(name, 4) or (extra.find(name, 4) if extra else None)
                    if rel:
                        text = (tree if rel in tree else extra).read_text(rel)
                        break
            hq_map = read_hq_mapping(text) if text else {}
            if not hq_map:
                print("celeba-hq: no CelebA-HQ mapping file; CelebA identities and partitions are left out")
            ann = load_celeba_annotations(extra or tree, tree if extra else None)
            hq_attr = None
            rel = tree.find(HQ_ATTRS, 4)
            if rel:
                header, rows = read_table(tree.read_text(rel))
                hq_attr = {"attr": (header, rows)} if header and "Smiling" in header else None
            skip_names = {PurePosixPath(n).name.lower() for n in HQ_MAPPINGS + (HQ_ATTRS,)}
            images = []
            for r in sorted(tree.names(), key=natural_key):
                if PurePosixPath(r).name.lower() in skip_names or r.lower().endswith((".txt", ".csv", ".md")):
                    continue
                if not is_image_name(r) or re.search(r"mask", r, re.I) and "CelebA-HQ-img" not in r:
                    summary.skip("not a CelebA-HQ image", r)
                    continue
                m = re.search(r"(\d+)$", PurePosixPath(r).stem)
                if not m:
                    summary.skip("no CelebA-HQ index in the file name", r)
                    continue
                images.append((int(m.group(1)), r))
            if not images:
                raise PrepareError(f"no CelebA-HQ images (0.jpg, imgHQ00000.png, ...) under {src}")

            def items():
                for idx, rel in images:
                    labels = {"source": "celeba-hq", "celeba_hq_idx": idx}
                    orig = hq_map.get(idx)
                    if orig:
                        labels["celeba_file"] = orig
                        labels.update(celeba_labels(orig, ann))
                    if hq_attr:
                        labels.update(celeba_labels(f"{idx}.jpg", hq_attr))
                    yield Item(file=output_name("images", f"{idx:05d}", suffix=".png"),
                               load=(lambda r=rel: tree.read_bytes(r)), origin=rel, labels=labels)
            return write_items(items(), Path(out), summary, cropper, fmt=fmt, settings={"dataset": "celeba-hq"},
                               desc="celeba-hq", total=len(images))
        finally:
            if extra:
                extra.close()


# --------------------------------------------------------------------------------------------
# FFHQ
# --------------------------------------------------------------------------------------------

FFHQ_META = "ffhq-dataset-v2.json"
FFHQ_CATEGORY = {"training": "train", "validation": "val"}


def _ffhq_features(tree: SourceTree, rel: str) -> dict:
    """ffhq-features-dataset ``json/00000.json`` (Face API attributes) -> smiling, expression, age, gender."""
    try:
        data = json.loads(tree.read_text(rel))
        fa = data[0]["faceAttributes"] if isinstance(data, list) else data["faceAttributes"]
    except (ValueError, KeyError, IndexError, TypeError, PrepareError):
        return {}
    out = {}
    if "smile" in fa:
        out.update(smile=float(fa["smile"]), smiling=int(float(fa["smile"]) >= 0.5))
    if isinstance(fa.get("emotion"), dict) and fa["emotion"]:
        top = max(fa["emotion"], key=lambda k: fa["emotion"][k])
        out.update(expression=course_expression(top), expression_orig=top)
    for k in ("age", "gender"):
        if k in fa:
            out[k] = fa[k]
    return out


def prepare_ffhq(src, out, summary: Summary, cropper: Cropper, *, metadata=None, fmt="auto") -> int:
    """FFHQ images (``images1024x1024/00000/00000.png`` or flat, any resolution) with optional metadata:
    ``ffhq-dataset-v2.json`` -> split (training/validation) and the 68 landmarks scaled to the image;
    ffhq-features ``json/NNNNN.json`` -> smiling, expression, age, gender."""
    with SourceTree(src) as tree:
        report_bad_archives(tree, summary)
        meta = {}
        meta_rel = None if metadata else tree.find(FFHQ_META, 4)
        try:
            if metadata:
                meta = json.loads(Path(metadata).read_text())
            elif meta_rel:
                meta = json.loads(tree.read_text(meta_rel))
        except (OSError, ValueError) as e:
            raise PrepareError(f"cannot read the FFHQ metadata json: {e}") from e
        if not isinstance(meta, dict):
            raise PrepareError("FFHQ metadata: expected ffhq-dataset-v2.json's object keyed by image index")
        features = {}
        images = []
        for r in sorted(tree.names(), key=natural_key):
            p = PurePosixPath(r)
            if p.suffix.lower() == ".json":
                if p.stem.isdigit():
                    features[int(p.stem)] = r
                continue
            if not is_image_name(r):
                summary.skip("not an image file", r)
                continue
            if not p.stem.isdigit():
                summary.skip("no FFHQ index in the file name (00000.png)", r)
                continue
            images.append((int(p.stem), r))
        if not images:
            raise PrepareError(f"no FFHQ images (00000.png ...) under {src}")
        if not meta:
            print("ffhq: no ffhq-dataset-v2.json; split and landmarks are left out")

        def points_for(idx):
            entry = meta.get(str(idx))
            if not entry:
                return {}

            def pts(shape):
                h, w = shape[:2]
                for key in ("image", "thumbnail"):
                    e = entry.get(key) or {}
                    size = (e.get("pixel_size") or [0])[0]
                    if size == w and e.get("face_landmarks"):
                        return {"lm68": np.asarray(e["face_landmarks"], np.float32)}
                e = entry.get("image") or {}
                size = (e.get("pixel_size") or [0])[0]
                if e.get("face_landmarks") and size and w:
                    return {"lm68": np.asarray(e["face_landmarks"], np.float32) * (w / size)}
                return {}
            return pts

        def items():
            for idx, rel in images:
                labels = {"source": "ffhq", "ffhq_idx": idx}
                entry = meta.get(str(idx))
                if entry:
                    labels["split"] = FFHQ_CATEGORY.get(entry.get("category", ""), "")
                if idx in features:
                    labels.update(_ffhq_features(tree, features[idx]))
                yield Item(file=output_name("images", f"{idx:05d}", suffix=".png"),
                           load=(lambda r=rel: tree.read_bytes(r)), origin=rel, labels=labels,
                           points=points_for(idx) or {})
        return write_items(items(), Path(out), summary, cropper, fmt=fmt, settings={"dataset": "ffhq"},
                           desc="ffhq", total=len(images))
