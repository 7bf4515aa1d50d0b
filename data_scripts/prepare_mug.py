"""MUG (``[subjects3/]<subject>/[session*/]<expression>/[take*/]*.jpg``) -> :class:`Sequence` objects (apex in the middle)."""
from __future__ import annotations

import re
from pathlib import PurePosixPath


from data_scripts.common import Summary
from data_scripts.prepare_labels import course_expression, natural_key
from data_scripts.prepare_sequences import Sequence
from data_scripts.prepare_sources import PrepareError, SourceTree, is_image_name


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
