"""RAVDESS (``Actor_xx/02-01-05-01-02-01-12.mp4`` videos) -> :class:`Sequence` objects read frame by frame."""
from __future__ import annotations

import csv
import re
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

import numpy as np

from data_scripts.common import Summary
from data_scripts.prepare_labels import course_expression, natural_key, sample_indices
from data_scripts.prepare_sequences import Sequence
from data_scripts.prepare_sources import Skip, SourceTree


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
