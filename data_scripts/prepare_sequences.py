"""Sequences -> the identity/expression VAE paper's two sets (CK+, MUG and RAVDESS share this).

The identity/expression VAE paper built two sets from MUG, CK+ and RAVDESS, split by subject (2-3 test subjects each):

* ``training/``: frames sampled at equal intervals from every sequence (``--frames-per-sequence``);
  their ``expression`` is the *sequence's* label (early frames are still neutral), and ``position``
  (0 = first frame, 1 = last) says where the frame lies.
* ``recognition/``: only the frames where the labelled expression shows - CK+: the last frames
  (its sequences end at the apex), MUG: the frames around the middle (neutral -> apex -> neutral).
  RAVDESS has none: the seed could not locate the apex automatically.

Both carry ``split`` (train/test by subject) so ``FaceFolder(root, split="train")`` gives the seed's
training subjects. ``--sets all`` writes every frame instead. The readers of the three data sets
(:mod:`data_scripts.prepare_ckplus`, :mod:`~data_scripts.prepare_mug`,
:mod:`~data_scripts.prepare_ravdess`) turn a source into :class:`Sequence` objects.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable, Iterator


from data_scripts.common import Summary
from data_scripts.prepare_labels import last_indices, middle_indices, sample_indices, subject_split
from data_scripts.prepare_sources import PrepareError
from data_scripts.prepare_writing import Cropper, Item, output_name, write_items


SETS = ("training", "recognition", "all")


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
