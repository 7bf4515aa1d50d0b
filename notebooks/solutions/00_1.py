"""Notebook 00, exercise 1: the eye aspect ratio (Soukupová & Čech 2016) from the 68 landmarks."""
import numpy as np


def eye_aspect_ratio(lm: np.ndarray) -> float:
    """Mean over both eyes of (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|); lm: (68, 2) pixels (x, y)."""
    lm = np.asarray(lm, dtype=np.float64)
    ratios = []
    for start in (36, 42):                       # right eye 36-41, left eye 42-47 (iBUG, 0-based)
        p1, p2, p3, p4, p5, p6 = lm[start:start + 6]
        vertical = np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)
        ratios.append(vertical / (2 * np.linalg.norm(p1 - p4)))
    return float(np.mean(ratios))
