"""Notebook 06, exercise 2: naming k-means clusters by the image nearest each centroid."""
import numpy as np


def cluster_labels(features: np.ndarray, assign: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The label of each cluster: that of its member nearest (Euclidean) to its centroid; -1 if empty."""
    out = np.full(len(centroids), -1)
    for c, centre in enumerate(centroids):
        members = np.flatnonzero(assign == c)
        if len(members):
            dist = np.linalg.norm(features[members] - centre, axis=1)
            out[c] = labels[members[dist.argmin()]]
    return out
