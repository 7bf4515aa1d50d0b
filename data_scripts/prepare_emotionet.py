"""EmotioNet: downloaded images + URL lists with AU annotations -> the on-disk face format."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path, PurePosixPath

import numpy as np

from data_scripts.common import Summary, safe_filename
from data_scripts.prepare_labels import course_expression, natural_key
from data_scripts.prepare_sources import PrepareError, SourceTree, is_image_name, report_bad_archives
from data_scripts.prepare_writing import Cropper, Item, output_name, write_items


_AU_HEADER = re.compile(r"^(?:au)?[\s_]*0*(\d{1,2})$", re.I)


def read_url_table(path: Path) -> list[dict]:
    """Rows of an EmotioNet URL list: ``url`` plus ``AU<n>`` (1 / 0 / 999 = unknown) and an optional
    ``expression``/``emotion``/``category`` column. CSV, TSV or whitespace text; ``.xlsx`` via pandas
    (needs openpyxl)."""
    path = Path(path)
    if not path.is_file():
        raise PrepareError(f"--urls {path} does not exist")
    if path.suffix.lower() in (".xlsx", ".xls"):
        try:
            import pandas as pd
            df = pd.read_excel(path, header=None)
        except ImportError as e:
            raise PrepareError(f"reading {path.name} needs openpyxl (pip install openpyxl) or save it as CSV") from e
        except Exception as e:
            raise PrepareError(f"cannot read {path}: {type(e).__name__}: {e}") from e
        rows = [[("" if (isinstance(v, float) and np.isnan(v)) else str(v)) for v in r] for r in df.values.tolist()]
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
        delim = "\t" if "\t" in text[:2000] else ("," if "," in text[:2000] else None)
        rows = [r for r in (csv.reader(io.StringIO(text), delimiter=delim) if delim else
                            (line.split() for line in text.splitlines())) if r]
    if not rows:
        raise PrepareError(f"--urls {path} is empty")
    out = parse_url_rows(rows)
    if not out:
        raise PrepareError(f"--urls {path}: no rows with an http(s) URL")
    return out


def parse_url_rows(rows: list[list[str]]) -> list[dict]:
    """Rows (first may be a header) -> ``{"url", "AUnn"..., "expression_orig"?}`` records."""
    header = [h.strip() for h in rows[0]]
    has_header = not any(h.lower().startswith(("http://", "https://")) for h in header)
    if not has_header:
        header = ["url"] + [f"col{i}" for i in range(1, len(header))]
    body = rows[1:] if has_header else rows
    url_col = next((i for i, h in enumerate(header) if "url" in h.lower()), 0)
    out = []
    for r in body:
        if len(r) <= url_col or not r[url_col].strip().lower().startswith(("http://", "https://")):
            continue
        rec = {"url": r[url_col].strip()}
        for i, h in enumerate(header):
            if i == url_col or i >= len(r):
                continue
            m = _AU_HEADER.match(h)
            if m:
                try:
                    v = float(r[i])
                except ValueError:
                    continue
                rec[f"AU{int(m.group(1)):02d}"] = float("nan") if v >= 999 else v
            elif h.lower() in ("expression", "emotion", "category", "emotion_category"):
                rec["expression_orig"] = r[i].strip()
        out.append(rec)
    return out


def url_keys(url: str) -> list[str]:
    """File stems a downloader may have used for ``url``: sha1 (full / 16 / 12), sanitised basename."""
    h = hashlib.sha1(url.encode("utf-8")).hexdigest()
    base = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return [h, h[:20], h[:16], h[:12], safe_filename(stem), safe_filename(base).rsplit(".", 1)[0]]


def prepare_emotionet(src, out, summary: Summary, cropper: Cropper, *, urls=(), fmt="png") -> int:
    """EmotioNet images already downloaded to ``src`` (see the URL-list downloader), joined with the
    rows of the ``--urls`` lists by a download log (a CSV in ``src`` with ``url`` and ``file``
    columns) or by the file name (sha1 of the URL or the URL's base name). AU columns hold EmotioNet's
    *presence* codes (1/0; 999 -> empty), not intensities; AUs outside the 17 keep their own column."""
    with SourceTree(src) as tree:
        report_bad_archives(tree, summary)
        images = [r for r in tree.names() if is_image_name(r)]
        for r in tree.names():
            if not is_image_name(r) and not r.lower().endswith((".csv", ".txt", ".json", ".log", ".tsv")):
                summary.skip("not an image file", r)
        if not images:
            raise PrepareError(f"no images under {src}; download them first (EmotioNet URL-list downloader)")
        by_stem = {}
        for rel in images:
            by_stem.setdefault(PurePosixPath(rel).stem, rel)
        log, logged_rows = {}, []  # download log, e.g. download_urls' index.csv (file,url,+ list columns)
        for rel in tree.names():
            if rel.lower().endswith(".csv"):
                try:
                    rows = list(csv.reader(io.StringIO(tree.read_text(rel))))
                except (PrepareError, csv.Error):
                    continue
                if rows and "url" in rows[0] and "file" in rows[0]:
                    iu, jf = rows[0].index("url"), rows[0].index("file")
                    for r in rows[1:]:
                        if len(r) > max(iu, jf) and r[jf].strip():
                            log[r[iu].strip()] = PurePosixPath(r[jf].strip()).stem
                    keep = [i for i, h in enumerate(rows[0]) if i == iu or i != jf and (
                        _AU_HEADER.match(h.strip()) or h.strip().lower() in ("expression", "emotion", "category"))]
                    if len(keep) > 1:
                        logged_rows += parse_url_rows([[r[i] if i < len(r) else "" for i in keep] for r in rows])
        table = [rec for p in urls for rec in read_url_table(Path(p))]
        if not urls and logged_rows:
            print("emotionet: labels taken from the download log (no --urls given)")
            table, urls = logged_rows, ("<download log>",)
        elif not urls:
            print("emotionet: no --urls given; writing images without AU annotations")
        matched: dict[str, dict] = {}
        for rec in table:
            keys = ([log[rec["url"]]] if rec["url"] in log else []) + url_keys(rec["url"])
            rel = next((by_stem[k] for k in keys if k in by_stem), None)
            if rel is None:
                summary.skip("listed URL not downloaded", rec["url"])
                continue
            matched[rel] = rec
        chosen = sorted(matched) if urls else sorted(images, key=natural_key)
        if urls and not chosen:
            raise PrepareError("none of the listed URLs matches a downloaded image (file names: sha1 of the URL "
                               "or its base name, or a download log CSV with url,file columns)")

        def items():
            for rel in chosen:
                rec = dict(matched.get(rel, {}))
                labels = {"source": "emotionet", "url": rec.pop("url", "")}
                if "expression_orig" in rec:
                    orig = rec.pop("expression_orig")
                    labels.update(expression=course_expression(orig), expression_orig=orig)
                labels.update({k: v for k, v in rec.items() if k.startswith("AU")})
                yield Item(file=output_name("images", PurePosixPath(rel).stem, suffix=".png"),
                           load=(lambda r=rel: tree.read_bytes(r)), origin=rel, labels=labels)
        return write_items(items(), Path(out), summary, cropper, fmt=fmt, settings={"dataset": "emotionet"},
                           desc="emotionet", total=len(chosen))
