"""Blind A/B survey of two completion models, exactly as the GLCIC course study ran it.

The study's subjective evaluation (slides 44-46, 55-56): each question shows the image to be
completed (the original) and two completions of its mouth, one from the random-hole model and one
from the mouth-hole model, **one above the other, which model is which hidden**. The respondent
answers on a 5-point scale:

====  ======================================================
1     the top one is more similar (上の方が似ている)
2     the top one is somewhat more similar (上の方がどちらかというと似ている)
3     both are about equally good (どちらも同じくらいの補完である)
4     the bottom one is somewhat more similar (下の方がどちらかというと似ている)
5     the bottom one is more similar (下の方が似ている)
====  ======================================================

10 questions, 10 respondents, run at 320k and 400k iterations. The seed tabulated per question the
mean score, oriented so that "a mean above 3 means the mouth-trained model completed better"
(スコアの平均が3より高いほど，口元学習によって作成された画像補完モデルの方が補完の質が高い), and
reported the number of questions each model won (評価の優れている問題数):
320k: random 2, mouth 7, tie 1; 400k: random 3, mouth 7, tie 0.

Our aggregation (:func:`aggregate`) reproduces that: an answer ``s`` is un-flipped to the mouth
model's score ``m = s`` if the mouth completion was shown at the bottom, ``m = 6 - s`` if it was at
the top (so 5 always means "mouth model much more similar"). Per question the mean of ``m`` over
respondents decides: > 3 mouth wins, < 3 random wins, = 3 tie.

Answers are stored in a CSV (one row per respondent x question) written atomically after every
click, so a crashed kernel loses nothing.
"""
from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from helpers.core.files import atomic_write_bytes
from helpers.core.images import to_uint8

SCALE = {
    1: "top is more similar",
    2: "top is somewhat more similar",
    3: "both about the same",
    4: "bottom is somewhat more similar",
    5: "bottom is more similar",
}
MODELS = ("random", "mouth")
#: the study's reported "questions won" (10 questions, 10 respondents)
SEED_RESULTS = {
    320_000: {"random": 2, "mouth": 7, "tie": 1},
    400_000: {"random": 3, "mouth": 7, "tie": 0},
}
COLUMNS = ["respondent", "question", "top", "bottom", "score", "time"]


@dataclass(frozen=True)
class Question:
    """One survey item: which image, and which model is shown on top (hidden from the respondent)."""

    question: int
    top: str       # "random" or "mouth"

    @property
    def bottom(self) -> str:
        return MODELS[1] if self.top == MODELS[0] else MODELS[0]


def make_questions(n: int, seed: int = 0) -> list[Question]:
    """``n`` questions with the top/bottom order drawn at random (reproducible from ``seed``)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    return [Question(i, MODELS[int(b)]) for i, b in enumerate(rng.integers(0, 2, size=n))]


def mouth_score(score, top) -> np.ndarray:
    """Un-flip answers: the score from the mouth model's point of view (5 = mouth much more similar).

    ``score`` in 1..5 as answered (5 = bottom more similar); ``top`` the model that was shown on top.
    """
    s = np.asarray(score, dtype=float)
    t = np.asarray(top)
    if s.shape != t.shape:
        raise ValueError(f"score and top must have the same shape, got {s.shape} vs {t.shape}")
    if s.size and (np.isnan(s).any() or not np.isin(s, [1, 2, 3, 4, 5]).all()):
        raise ValueError("scores must be integers 1..5 (the study's scale)")
    if t.size and not np.isin(t, MODELS).all():
        raise ValueError(f"top must be one of {MODELS}")
    return np.where(t == "mouth", 6 - s, s)


def aggregate(answers: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Per-question table and the study's summary.

    Args:
        answers: rows with columns ``question``, ``top`` ("random"/"mouth"), ``score`` (1..5 as
            answered) and optionally ``respondent``.

    Returns:
        ``(per_question, summary)``: ``per_question`` has one row per question with
        ``n`` (answers), ``mean_score`` (mouth-oriented mean, > 3 = mouth better) and ``winner``
        ("mouth" | "random" | "tie"); ``summary`` is ``{"random": k, "mouth": k, "tie": k,
        "mean_score": overall mean of the per-question means, "n_questions": ..., "n_answers": ...}``.
    """
    for col in ("question", "top", "score"):
        if col not in answers.columns:
            raise ValueError(f"answers need a {col!r} column, got {list(answers.columns)}")
    if answers.empty:
        raise ValueError("no answers to aggregate")
    df = answers.copy()
    df["m"] = mouth_score(df["score"].to_numpy(), df["top"].to_numpy())
    per = df.groupby("question").agg(n=("m", "size"), mean_score=("m", "mean")).reset_index()
    eps = 1e-9
    per["winner"] = np.where(per["mean_score"] > 3 + eps, "mouth",
                             np.where(per["mean_score"] < 3 - eps, "random", "tie"))
    counts = per["winner"].value_counts()
    summary = {k: int(counts.get(k, 0)) for k in ("random", "mouth", "tie")}
    summary.update(mean_score=float(per["mean_score"].mean()), n_questions=int(len(per)),
                   n_answers=int(len(df)))
    return per, summary


# ----------------------------------------------------------------------------- storage
def save_answers(answers: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the answers CSV atomically (temp file in the same folder, fsync, ``os.replace``)."""
    return atomic_write_bytes(path, answers.to_csv(index=False).encode("utf-8"))


def load_answers(path: str | os.PathLike) -> pd.DataFrame:
    """Read an answers CSV (empty frame with the right columns if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    return pd.read_csv(path)


def scripted_answers(questions: list[Question], preference, respondents: int = 10, noise: float = 0.5,
                     seed: int = 0) -> pd.DataFrame:
    """Simulated respondents, for tests and the quick profile.

    ``preference[q]`` is how much better the mouth completion of question ``q`` is, in score
    units (e.g. a scaled difference of distances to the original; 0 = equal). Each respondent's
    mouth-oriented score is ``round(3 + preference + noise * N(0,1))`` clipped to 1..5, then
    flipped into the top/bottom answer the respondent would actually click.
    """
    pref = np.asarray(preference, dtype=float)
    if pref.shape != (len(questions),):
        raise ValueError(f"preference needs one value per question ({len(questions)}), got {pref.shape}")
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(respondents):
        for q in questions:
            m = int(np.clip(np.rint(3 + pref[q.question] + noise * rng.standard_normal()), 1, 5))
            score = m if q.bottom == "mouth" else 6 - m
            rows.append({"respondent": f"sim{r:02d}", "question": q.question, "top": q.top,
                         "bottom": q.bottom, "score": score, "time": 0.0})
    return pd.DataFrame(rows, columns=COLUMNS)


# ----------------------------------------------------------------------------- widget
class SurveyWidget:
    """The blind survey in ipywidgets: the original on the left, two completions stacked right.

    Args:
        originals: uint8 images (N,H,W,3) or a tensor NCHW in [-1, 1] - what the respondent compares to.
        completions: ``{"random": images, "mouth": images}`` in the same format.
        questions: from :func:`make_questions` (which model is on top is decided there, hidden).
        csv_path: where answers go (appended to existing answers, rewritten atomically per click).
        respondent: a name or id for the person answering.

    Use ``widget.display()`` in a notebook; ``widget.answer(score)`` does what a click does (used
    by scripted respondents and tests).
    """

    def __init__(self, originals, completions: dict, questions: list[Question], csv_path,
                 respondent: str = "anonymous", scale_px: int = 160):
        self.originals = _as_uint8(originals)
        if set(completions) != set(MODELS):
            raise ValueError(f"completions must have exactly the keys {MODELS}, got {sorted(completions)}")
        self.completions = {k: _as_uint8(v) for k, v in completions.items()}
        n = len(self.originals)
        for k, v in self.completions.items():
            if v.shape != self.originals.shape:
                raise ValueError(f"completions[{k!r}] shape {v.shape} != originals {self.originals.shape}")
        if any(q.question >= n for q in questions):
            raise ValueError(f"a question refers to an image index >= {n}")
        self.questions = list(questions)
        self.csv_path = Path(csv_path)
        self.respondent = str(respondent)
        self.scale_px = scale_px
        self.index = 0
        self._t0 = time.monotonic()
        self._ui = None

    # -- logic (no widgets needed)
    @property
    def done(self) -> bool:
        return self.index >= len(self.questions)

    def current(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(original, top, bottom) images of the current question."""
        q = self.questions[self.index]
        i = q.question
        return self.originals[i], self.completions[q.top][i], self.completions[q.bottom][i]

    def answer(self, score: int) -> None:
        """Record ``score`` (1..5) for the current question, save the CSV, go to the next one."""
        if self.done:
            raise ValueError("the survey is finished; no question left to answer")
        if score not in SCALE:
            raise ValueError(f"score must be one of {sorted(SCALE)}, got {score!r}")
        q = self.questions[self.index]
        row = {"respondent": self.respondent, "question": q.question, "top": q.top, "bottom": q.bottom,
               "score": int(score), "time": round(time.monotonic() - self._t0, 2)}
        old = load_answers(self.csv_path)
        new = pd.DataFrame([row], columns=COLUMNS)
        save_answers(new if old.empty else pd.concat([old, new], ignore_index=True), self.csv_path)
        self.index += 1
        self._t0 = time.monotonic()
        self._refresh()

    # -- widgets
    def widget(self):
        """Build (once) and return the ipywidgets box."""
        import ipywidgets as w

        if self._ui is not None:
            return self._ui
        self._img = {k: w.Image(format="png", width=self.scale_px, height=self.scale_px)
                     for k in ("original", "top", "bottom")}
        self._status = w.HTML()
        buttons = []
        for s, text in SCALE.items():
            b = w.Button(description=f"{s}: {text}", layout=w.Layout(width="260px"))
            b.on_click(lambda _b, s=s: self.answer(s))
            buttons.append(b)
        self._buttons = buttons
        left = w.VBox([w.HTML("<b>original</b>"), self._img["original"]])
        right = w.VBox([w.HTML("<b>top</b>"), self._img["top"], w.HTML("<b>bottom</b>"), self._img["bottom"]])
        self._ui = w.VBox([self._status, w.HBox([left, right, w.VBox(buttons)])])
        self._refresh()
        return self._ui

    def display(self):
        from IPython.display import display

        display(self.widget())

    def _refresh(self) -> None:
        if self._ui is None:
            return
        if self.done:
            self._status.value = (f"<b>Thank you, {self.respondent}!</b> {len(self.questions)} answers "
                                  f"saved to <code>{self.csv_path.name}</code>.")
            for b in self._buttons:
                b.disabled = True
            return
        self._status.value = (f"Question {self.index + 1} / {len(self.questions)}: which completion "
                              f"of the mouth is more similar to the original?")
        for key, img in zip(("original", "top", "bottom"), self.current()):
            self._img[key].value = _png(img)


def _as_uint8(images) -> np.ndarray:
    if torch.is_tensor(images):
        images = to_uint8(images)
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"images must be NCHW tensors in [-1,1] or (N,H,W,3) uint8, got {arr.dtype} {arr.shape}")
    return arr


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()
