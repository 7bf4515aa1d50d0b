"""Notebook 06, exercise 3: removing each subject's mean latent (Eq. 6)."""
import numpy as np


def subtract_subject_mean(features: np.ndarray, subjects: np.ndarray) -> np.ndarray:
    """f_sub_ij = x_ij - (1/n) sum_k x_ik over the images of subject i."""
    out = np.array(features, dtype=float)
    for s in np.unique(subjects):
        rows = subjects == s
        out[rows] -= out[rows].mean(axis=0)
    return out
