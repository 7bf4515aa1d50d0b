"""CK+ (``cohn-kanade-images/Sxxx/yyy/*.png``, ``Emotion/``, ``FACS/``, ``Landmarks/``) -> :class:`Sequence` objects."""
from __future__ import annotations

import re
from pathlib import PurePosixPath

import numpy as np

from data_scripts.common import Summary
from data_scripts.prepare_labels import AUS, course_expression, natural_key, parse_float_rows
from data_scripts.prepare_sequences import Sequence
from data_scripts.prepare_sources import PrepareError, Skip, SourceTree, is_image_name


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
