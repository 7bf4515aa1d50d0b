"""Labels, subject splits and frame sampling shared by every preparer of ``python -m data_scripts.prepare``.

* :func:`course_expression` - the 8 course expression names (the ConvNeXt GANimation thesis, Table 2.2).
* :data:`AUS`, :data:`AU_COLUMNS`, :data:`LANDMARK_COLUMNS` - the manifest's label columns.
* :func:`subject_split` - the identity/expression VAE paper's subject-level train/test split.
* :func:`sample_indices` / :func:`middle_indices` / :func:`last_indices` - the identity/expression
  VAE paper's frame sampling.
* :func:`parse_float_rows`, :func:`natural_key` - reading label text files, ordering frame names.
"""
from __future__ import annotations

import random
import re
from typing import Iterable

import numpy as np

from data_scripts.prepare_sources import PrepareError, Skip


# --------------------------------------------------------------------------------------------
# Labels shared by every preparer
# --------------------------------------------------------------------------------------------

#: The course's 8 expressions, ids 0..7 in this order (the ConvNeXt GANimation thesis' Table 2.2; helpers.synthfaces.EXPRESSIONS).
EXPRESSIONS = ("natural", "happiness", "sadness", "surprise", "fear", "anger", "disgust", "contempt")

#: Source spellings -> course names. "calm" (RAVDESS) has no course name and maps to "".
_EXPRESSION_ALIASES = {
    "natural": "natural", "neutral": "natural", "ne": "natural",
    "happiness": "happiness", "happy": "happiness", "joy": "happiness", "ha": "happiness",
    "sadness": "sadness", "sad": "sadness", "sa": "sadness",
    "surprise": "surprise", "surprised": "surprise", "su": "surprise",
    "fear": "fear", "fearful": "fear", "afraid": "fear", "fe": "fear",
    "anger": "anger", "angry": "anger", "an": "anger",
    "disgust": "disgust", "disgusted": "disgust", "di": "disgust",
    "contempt": "contempt", "contemptuous": "contempt",
}

#: The 17 OpenFace AUs of the ConvNeXt GANimation thesis (helpers.synthfaces.AUS) and their manifest columns.
AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)
AU_COLUMNS = [f"AU{a:02d}" for a in AUS]
LANDMARK_COLUMNS = [c for i in range(68) for c in (f"x{i}", f"y{i}")]


def course_expression(label) -> str:
    """Map a source's expression label to one of the 8 course names, or '' when none fits."""
    if label is None:
        return ""
    return _EXPRESSION_ALIASES.get(str(label).strip().lower(), "")


# --------------------------------------------------------------------------------------------
# The identity/expression VAE paper: subject split and frame sampling
# --------------------------------------------------------------------------------------------

def subject_split(subjects: Iterable[str], n_test: int = 2, seed: int = 0,
                  test_subjects: Iterable[str] | None = None) -> set[str]:
    """Pick the test subjects: the given ones, else ``n_test`` drawn with ``random.Random(seed)``.

    The identity/expression VAE paper held out 2-3 subjects of each data set (7 of 202). At least one subject stays in train.
    """
    subs = sorted(set(map(str, subjects)))
    if test_subjects:
        chosen = {str(s) for s in test_subjects}
        unknown = chosen - set(subs)
        if unknown:
            raise PrepareError(f"--test-subjects names subjects that are not in the data: {sorted(unknown)}")
        return chosen
    if n_test < 0:
        raise ValueError(f"n_test must be >= 0, got {n_test}")
    k = min(n_test, max(len(subs) - 1, 0))
    return set(random.Random(seed).sample(subs, k))


def sample_indices(n: int, k: int) -> list[int]:
    """``k`` frame indices at equal intervals over ``0..n-1`` (first and last included); all if n <= k."""
    if n <= 0:
        return []
    if k <= 0 or n <= k:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, k).round().astype(int).tolist()))


def middle_indices(n: int, k: int) -> list[int]:
    """``k`` consecutive frame indices centred on the middle of ``0..n-1`` (MUG's apex)."""
    if n <= 0:
        return []
    k = min(max(k, 1), n)
    start = max(0, min(n - k, (n - 1) // 2 - (k - 1) // 2))
    return list(range(start, start + k))


def last_indices(n: int, k: int) -> list[int]:
    """The last ``k`` frame indices (CK+ sequences end at the labelled apex)."""
    return list(range(max(0, n - max(k, 1)), n))


def parse_float_rows(text: str) -> list[list[float]]:
    """Whitespace-separated numbers per line (CK+ writes them in e-notation); blank lines dropped."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if parts:
            try:
                rows.append([float(p) for p in parts])
            except ValueError as e:
                raise Skip("unparsable annotation file") from e
    return rows


def natural_key(s: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]
