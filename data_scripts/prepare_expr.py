"""Expression data sets: JAFFE, CK+, MUG, RAVDESS, EmotioNet -> the on-disk face format.

The identity/expression VAE paper built two sets from MUG, CK+ and RAVDESS, split by subject (2-3 test subjects each):

* ``training/``: frames sampled at equal intervals from every sequence (``--frames-per-sequence``);
  their ``expression`` is the *sequence's* label (early frames are still neutral), and ``position``
  (0 = first frame, 1 = last) says where the frame lies.
* ``recognition/``: only the frames where the labelled expression shows - CK+: the last frames
  (its sequences end at the apex), MUG: the frames around the middle (neutral -> apex -> neutral).
  RAVDESS has none: the seed could not locate the apex automatically.

Both carry ``split`` (train/test by subject) so ``FaceFolder(root, split="train")`` gives the seed's
training subjects. ``--sets all`` writes every frame instead.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import re
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

import numpy as np

from data_scripts.common import Summary, safe_filename
from data_scripts.prepare_core import (AUS, Cropper, Item, PrepareError, Skip, SourceTree, TempDir,
                                       course_expression, is_image_name, last_indices, middle_indices,
                                       natural_key, output_name, parse_float_rows, report_bad_archives,
                                       sample_indices, subject_split, write_items)

SETS = ("training", "recognition", "all")


# --------------------------------------------------------------------------------------------
# Sequences -> the identity/expression VAE paper's sets
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Sequence:
    """One image sequence or video: ``n`` frames, read one at a time with ``load(i)``."""
    subject: str
    name: str                                  # unique, used for output paths: "S005/001"
    n: int
    load: Callable[[int], object]              # frame index -> image bytes or RGB array
    labels: dict                               # labels of the whole sequence
    apex: str | None                           # "last" | "middle" | None (no recognition frames)
    frame_labels: Callable[[int], dict] | None = None
    frame_points: Callable[[int], dict] | None = None
    frame_id: Callable[[int], str] | None = None
    cleanup: Callable[[], None] | None = None


def _set_indices(seq: Sequence, which: str, k_train: int, k_recog: int) -> list[int]:
    if which == "all":
        return list(range(seq.n))
    if which == "training":
        return sample_indices(seq.n, k_train)
    if seq.apex == "last":
        return last_indices(seq.n, k_recog)
    if seq.apex == "middle":
        return middle_indices(seq.n, k_recog)
    return []


def sequence_items(seqs: Iterable[Sequence], which: str, k_train: int, k_recog: int,
                   test: set[str], source: str, summary: Summary) -> Iterator[Item]:
    """Items of one set (``training`` | ``recognition`` | ``all``) from the given sequences."""
    for seq in seqs:
        try:
            if seq.n <= 0:
                summary.skip("empty or unreadable sequence/video", seq.name)
                continue
            if which == "recognition" and seq.apex and not seq.labels.get("expression_orig"):
                summary.skip("sequence without an expression label (not in the recognition set)", seq.name)
                continue
            for i in _set_indices(seq, which, k_train, k_recog):
                fid = seq.frame_id(i) if seq.frame_id else f"{i:05d}"
                labels = {"subject": seq.subject, **seq.labels, "split": "test" if seq.subject in test else "train",
                          "source": source, "sequence": seq.name, "frame": i, "n_frames": seq.n,
                          "position": round(i / (seq.n - 1), 4) if seq.n > 1 else 1.0}
                if seq.frame_labels:
                    labels.update(seq.frame_labels(i))
                points = seq.frame_points(i) if seq.frame_points else {}
                yield Item(file=output_name(*seq.name.split("/"), fid, suffix=".png"),
                           load=(lambda s=seq, j=i: s.load(j)), labels=labels, points=points,
                           origin=f"{seq.name} frame {i}")
        finally:
            if seq.cleanup:
                seq.cleanup()


def write_sequence_sets(seqs_fn: Callable[[str], Iterable[Sequence]], subjects: Iterable[str], out: Path,
                        summary: Summary, cropper: Cropper, *, source: str, sets=("training", "recognition"),
                        frames_per_sequence: int = 10, recognition_frames: int = 3, n_test_subjects: int = 2,
                        test_subjects=None, seed: int = 0, fmt: str = "png") -> dict[str, int]:
    """Write each requested set under ``out/<set>/``; returns rows per set."""
    bad = [s for s in sets if s not in SETS]
    if bad:
        raise PrepareError(f"--sets accepts {', '.join(SETS)}; got {bad}")
    test = subject_split(subjects, n_test_subjects, seed, test_subjects)
    print(f"{source}: test subjects {sorted(test)}")
    counts = {}
    for which in sets:
        settings = {"dataset": source, "set": which, "frames_per_sequence": frames_per_sequence,
                    "recognition_frames": recognition_frames, "test_subjects": sorted(test)}
        items = sequence_items(seqs_fn(which), which, frames_per_sequence, recognition_frames, test, source, summary)
        counts[which] = write_items(items, out / which, summary, cropper, fmt=fmt, settings=settings,
                                    desc=f"{source} {which}")
    return counts


# --------------------------------------------------------------------------------------------
# JAFFE: KA.AN1.39.tiff
# --------------------------------------------------------------------------------------------

JAFFE_RE = re.compile(r"^([A-Za-z]{2})\.([A-Za-z]{2})(\d+)\.(\d+)\.")
JAFFE_CODES = {"AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness", "NE": "natural",
               "SA": "sadness", "SU": "surprise"}


def prepare_jaffe(src, out, summary: Summary, cropper: Cropper, *, n_test_subjects=2, test_subjects=None,
                  seed=0, fmt="png") -> int:
    """JAFFE: every image named ``<SUBJECT>.<EXPR><TAKE>.<INDEX>.tiff`` anywhere under ``src``."""
    with SourceTree(src) as tree:
        report_bad_archives(tree, summary)
        found = []
        for rel in tree.names():
            if not is_image_name(rel):
                continue
            m = JAFFE_RE.match(PurePosixPath(rel).name)
            if not m or m.group(2).upper() not in JAFFE_CODES:
                summary.skip("file name does not follow JAFFE naming (KA.AN1.39.tiff)", rel)
                continue
            found.append((rel, m))
        if not found:
            raise PrepareError(f"no JAFFE images (names like KA.AN1.39.tiff) under {src}")
        test = subject_split({m.group(1).upper() for _, m in found}, n_test_subjects, seed, test_subjects)
        print(f"jaffe: test subjects {sorted(test)}")

        def items():
            for rel, m in sorted(found, key=lambda t: natural_key(t[0])):
                subj, code = m.group(1).upper(), m.group(2).upper()
                yield Item(file=output_name(subj, f"{subj}.{code}{m.group(3)}.{m.group(4)}", suffix=".png"),
                           load=(lambda r=rel: tree.read_bytes(r)), origin=rel,
                           labels={"subject": subj, "expression": JAFFE_CODES[code], "expression_orig": code,
                                   "split": "test" if subj in test else "train", "source": "jaffe",
                                   "take": int(m.group(3)), "original_index": int(m.group(4))})
        return write_items(items(), Path(out), summary, cropper, fmt=fmt,
                           settings={"dataset": "jaffe", "test_subjects": sorted(test)},
                           desc="jaffe", total=len(found))


# --------------------------------------------------------------------------------------------
# CK+: cohn-kanade-images/Sxxx/yyy/*.png, Emotion/, FACS/, Landmarks/
# --------------------------------------------------------------------------------------------

CK_EMOTIONS = ("neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")


def _index_by_sequence(tree: SourceTree, folder: str | None, suffix: str) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    if folder is None:
        return out
    for rel in tree.under(folder):
        parts = rel.split("/")
        if rel.endswith(suffix) and len(parts) >= 3:
            out.setdefault((parts[-3], parts[-2]), []).append(rel)
    return out


def ckplus_sequences(tree: SourceTree, summary: Summary, au_unknown_intensity: float = 1.0) -> list[Sequence]:
    img_root = tree.find("cohn-kanade-images")
    if img_root is None:
        raise PrepareError("expected the CK+ layout: cohn-kanade-images/Sxxx/yyy/*.png (+ optional Emotion/, "
                           "FACS/, Landmarks/ beside it); no folder named cohn-kanade-images under --src")
    base = img_root.rsplit("/", 1)[0] + "/" if "/" in img_root else ""

    def sibling(name):  # Emotion/ beside cohn-kanade-images/, else anywhere shallow
        return base + name if tree.under(base + name) else tree.find(name)
    emo = _index_by_sequence(tree, sibling("Emotion"), "_emotion.txt")
    facs = _index_by_sequence(tree, sibling("FACS"), "_facs.txt")
    lms = _index_by_sequence(tree, sibling("Landmarks"), "_landmarks.txt")
    frames: dict[tuple[str, str], list[str]] = {}
    for rel in tree.under(img_root):
        parts = rel[len(img_root) + 1:].split("/")
        if not is_image_name(rel):
            summary.skip("not an image file", rel)
            continue
        if len(parts) != 3 or not re.match(r"^S\d+$", parts[0], re.I):
            summary.skip("image outside the Sxxx/yyy/ sequence layout", rel)
            continue
        frames.setdefault((parts[0], parts[1]), []).append(rel)
    if not frames:
        raise PrepareError(f"{img_root} holds no Sxxx/yyy/*.png sequences")
    seqs = []
    for (subj, q), rels in sorted(frames.items()):
        rels = sorted(rels, key=natural_key)
        labels: dict = {"expression": "", "expression_orig": ""}
        if (subj, q) in emo:
            try:
                code = int(round(parse_float_rows(tree.read_text(emo[(subj, q)][0]))[0][0]))
                if not 0 <= code < len(CK_EMOTIONS):
                    raise Skip("emotion code outside 0..7")
                labels = {"expression": course_expression(CK_EMOTIONS[code]), "expression_orig": CK_EMOTIONS[code],
                          "emotion_code": code}
            except (Skip, PrepareError, IndexError) as e:
                why = "empty" if isinstance(e, IndexError) else e
                summary.skip(f"bad CK+ emotion file ({why})", emo[(subj, q)][0])
        au_row = {}
        if (subj, q) in facs:
            try:
                coded = parse_float_rows(tree.read_text(facs[(subj, q)][0]))
                codes = {int(round(r[0])): (r[1] if len(r) > 1 else 0.0) for r in coded}
                au_row = {f"AU{a:02d}": (float(codes[a]) if codes.get(a, 0) > 0 else au_unknown_intensity)
                          if a in codes else 0.0 for a in AUS}
                au_row["facs"] = "+".join(f"{a}" + ("ABCDE"[int(v) - 1] if 1 <= v <= 5 else "")
                                          for a, v in sorted(codes.items()))
            except (Skip, PrepareError) as e:
                summary.skip(f"bad CK+ FACS file ({e})", facs[(subj, q)][0])
        lm_by_stem = {PurePosixPath(r).name[: -len("_landmarks.txt")]: r for r in lms.get((subj, q), [])}
        n = len(rels)

        def frame_labels(i, n=n, au_row=au_row):
            return dict(au_row) if (au_row and i == n - 1) else {}  # FACS codes the apex (last) frame

        def frame_points(i, rels=rels, lm_by_stem=lm_by_stem):
            rel = lm_by_stem.get(PurePosixPath(rels[i]).stem)
            if rel is None:
                return {}
            try:
                pts = np.asarray(parse_float_rows(tree.read_text(rel)), dtype=np.float32)
            except (Skip, PrepareError):
                return {}
            return {"lm68": pts} if pts.shape == (68, 2) else {}

        seqs.append(Sequence(subject=subj, name=f"{subj}/{q}", n=n,
                             load=(lambda i, rels=rels: tree.read_bytes(rels[i])),
                             labels=labels, apex="last", frame_labels=frame_labels, frame_points=frame_points,
                             frame_id=(lambda i, rels=rels: PurePosixPath(rels[i]).stem)))
    return seqs


# --------------------------------------------------------------------------------------------
# MUG: [subjects3/]<subject>/[session*/]<expression>/[take*/]*.jpg
# --------------------------------------------------------------------------------------------

MUG_EXPRESSIONS = ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")


def mug_sequences(tree: SourceTree, summary: Summary) -> list[Sequence]:
    """MUG's layout as distributed: ``subjects3/001/anger/take000/img_0001.jpg``.

    Assumed and documented: the frames of one sequence share a folder; the nearest folder above them
    named like an expression (anger, disgust, fear, happiness, neutral, sadness, surprise) gives the
    label; folders named ``session*`` between subject and expression are kept as the session; the
    folder just above the expression (or session) folder is the subject.
    """
    groups: dict[tuple[str, str, str], list[str]] = {}
    for rel in tree.names():
        if not is_image_name(rel):
            continue
        parts = rel.split("/")[:-1]
        idx = max((i for i, p in enumerate(parts) if p.lower() in MUG_EXPRESSIONS), default=None)
        if idx is None:
            summary.skip("image outside <subject>/<expression>/ folders", rel)
            continue
        before = parts[:idx]
        sessions = [p for p in before if re.match(r"^session", p, re.I)]
        subjects = [p for p in before if not re.match(r"^session", p, re.I)]
        if not subjects:
            summary.skip("no subject folder above the expression folder", rel)
            continue
        seq_dir = "/".join(parts)
        groups.setdefault((subjects[-1], "/".join(sessions), seq_dir), []).append(rel)
    if not groups:
        raise PrepareError("expected the MUG layout <subject>/[session*/]<expression>/[take*/]*.jpg "
                           f"(expression one of {', '.join(MUG_EXPRESSIONS)}); found no such images")
    seqs = []
    for (subj, session, seq_dir), rels in sorted(groups.items()):
        rels = sorted(rels, key=natural_key)
        parts = seq_dir.split("/")
        idx = max(i for i, p in enumerate(parts) if p.lower() in MUG_EXPRESSIONS)
        orig = parts[idx].lower()
        name = "/".join([subj] + ([session] if session else []) + parts[idx:])
        seqs.append(Sequence(subject=subj, name=name, n=len(rels), load=(lambda i, rels=rels: tree.read_bytes(rels[i])),
                             labels={"expression": course_expression(orig), "expression_orig": orig,
                                     "session": session},
                             apex="middle", frame_id=(lambda i, rels=rels: PurePosixPath(rels[i]).stem)))
    return seqs


# --------------------------------------------------------------------------------------------
# RAVDESS: 02-01-05-01-02-01-12.mp4
# --------------------------------------------------------------------------------------------

RAVDESS_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.(mp4|avi|mov|mkv)$", re.I)
RAVDESS_EMOTIONS = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fearful", 7: "disgust",
                    8: "surprised"}
RAVDESS_MODALITY = {1: "audio-video", 2: "video-only", 3: "audio-only"}


class VideoFrames:
    """Frames of one video through OpenCV, decoded once and cached (RGB uint8)."""

    def __init__(self, tree: SourceTree, rel: str, tmpdir: str):
        self.tree, self.rel, self.tmpdir = tree, rel, tmpdir
        self._path = None
        self._cache: dict[int, np.ndarray] = {}
        self._n = None

    def _local(self):
        if self._path is None:
            self._path = self.tree.local_path(self.rel, self.tmpdir)
        return self._path

    def count(self) -> int:
        import cv2
        if self._n is None:
            try:
                cap = cv2.VideoCapture(str(self._local()))
            except Skip:
                self._n = 0
                return 0
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
            if cap.isOpened() and n <= 0:
                while cap.grab():
                    n += 1
            cap.release()
            self._n = max(n, 0)
        return self._n

    def read(self, wanted: Iterable[int]) -> None:
        import cv2
        wanted = set(wanted) - set(self._cache)
        if not wanted:
            return
        cap = cv2.VideoCapture(str(self._local()))
        i, last = 0, max(wanted)
        while i <= last and cap.grab():
            if i in wanted:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    self._cache[i] = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            i += 1
        cap.release()

    def frame(self, i: int, wanted: Iterable[int]) -> np.ndarray:
        if i not in self._cache:
            self.read(wanted)
        if i not in self._cache:
            raise Skip("video frame could not be decoded")
        return self._cache[i]

    def close(self):
        self._cache.clear()
        if self._path is not None and str(self._path).startswith(self.tmpdir):
            Path(self._path).unlink(missing_ok=True)


def ravdess_sequences(tree: SourceTree, summary: Summary, tmpdir: str, k_train: int, which: str) -> Iterator[Sequence]:
    """One Sequence per RAVDESS video. The video-only file (modality 02) of a recording whose
    audio-video file (01) is also present shows the same frames, so it is skipped."""
    av = set()
    for rel in tree.names():
        m = RAVDESS_RE.match(PurePosixPath(rel).name)
        if m and m.group(1) == "01":
            av.add(m.groups()[1:7])
    for rel in sorted(tree.names(), key=natural_key):
        name = PurePosixPath(rel).name
        if name.lower().endswith((".wav", ".txt", ".csv", ".md", ".pdf")):
            continue
        m = RAVDESS_RE.match(name)
        if not m:
            summary.skip("file name does not follow RAVDESS naming (02-01-05-01-02-01-12.mp4)", rel)
            continue
        mod, chan, emo, inten, stmt, rep, actor = (int(g) for g in m.groups()[:7])
        if mod == 3 or emo not in RAVDESS_EMOTIONS:
            summary.skip("audio-only or unknown RAVDESS code", rel)
            continue
        if mod == 2 and m.groups()[1:7] in av:
            summary.skip("video-only copy of an audio-video recording (same frames)", rel)
            continue
        video = VideoFrames(tree, rel, tmpdir)
        n = video.count()
        wanted = list(range(n)) if which == "all" else sample_indices(n, k_train)
        orig = RAVDESS_EMOTIONS[emo]
        yield Sequence(subject=f"Actor_{actor:02d}", name=f"Actor_{actor:02d}/{PurePosixPath(name).stem}", n=n,
                       load=(lambda i, v=video, w=wanted: v.frame(i, w)),
                       labels={"expression": course_expression(orig), "expression_orig": orig,
                               "modality": RAVDESS_MODALITY.get(mod, str(mod)),
                               "channel": {1: "speech", 2: "song"}.get(chan, str(chan)),
                               "intensity": {1: "normal", 2: "strong"}.get(inten, str(inten)),
                               "statement": stmt, "repetition": rep, "gender": "male" if actor % 2 else "female"},
                       apex=None, cleanup=video.close)


def ravdess_subjects(tree: SourceTree) -> set[str]:
    out = set()
    for rel in tree.names():
        m = RAVDESS_RE.match(PurePosixPath(rel).name)
        if m and int(m.group(1)) != 3:
            out.add(f"Actor_{int(m.group(7)):02d}")
    return out


# --------------------------------------------------------------------------------------------
# Public entry points of the three sequence sets
# --------------------------------------------------------------------------------------------

def prepare_sequences(kind: str, src, out, summary: Summary, cropper: Cropper, *, sets=("training", "recognition"),
                      frames_per_sequence=10, recognition_frames=3, n_test_subjects=None, test_subjects=None,
                      seed=0, fmt="png", au_unknown_intensity=1.0) -> dict[str, int]:
    """CK+ (``ckplus``), MUG (``mug``) or RAVDESS (``ravdess``) -> ``out/training``, ``out/recognition``."""
    if n_test_subjects is None:  # the identity/expression VAE paper: 7 test subjects over the three sets
        n_test_subjects = {"ckplus": 3, "mug": 2, "ravdess": 2}[kind]
    out = Path(out)
    common = dict(source=kind, frames_per_sequence=frames_per_sequence, recognition_frames=recognition_frames,
                  n_test_subjects=n_test_subjects, test_subjects=test_subjects, seed=seed, fmt=fmt)
    with SourceTree(src) as tree:
        report_bad_archives(tree, summary)
        if kind == "ravdess":
            subjects = ravdess_subjects(tree)
            if not subjects:
                raise PrepareError("expected RAVDESS videos named like 02-01-05-01-02-01-12.mp4 "
                                   f"(Actor_xx/ folders or the Video_*_Actor_xx.zip archives); none under {src}")
            if "recognition" in sets:
                print("ravdess: no recognition set (the identity/expression VAE paper could not locate the expression apex in its videos)")
                sets = tuple(s for s in sets if s != "recognition")
            with TempDir() as tmp:
                first = sets[0] if sets else None
                return write_sequence_sets(
                    lambda w: ravdess_sequences(tree, summary if w == first else Summary("rescan"), tmp,
                                                frames_per_sequence, w),
                    subjects, out, summary, cropper, sets=tuple(sets), **common)
        seqs = (ckplus_sequences(tree, summary, au_unknown_intensity) if kind == "ckplus"
                else mug_sequences(tree, summary))
        return write_sequence_sets(lambda w: seqs, {s.subject for s in seqs}, out, summary, cropper, sets=tuple(sets),
                                   **common)


# --------------------------------------------------------------------------------------------
# EmotioNet: downloaded images + URL lists with AU annotations
# --------------------------------------------------------------------------------------------

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
