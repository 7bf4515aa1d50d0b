"""Recognising expressions (and subjects) from features, without labels (Table 3) and with linear probes.

These measures know no model: they take features (N, D) — the latents that
:func:`helpers.idvae.evaluate.latents` encodes, or pixels, or exact AUs — and labels.

* :func:`cluster_accuracy`: the paper's measure. k-means++ (Euclidean, k = 9) on the latents;
  each cluster takes the label of the image nearest its centroid; accuracy = share of images whose
  cluster's label is their own. k-means++ seeding is random, so the paper averaged 100 runs: run
  ``r`` here is ``KMeans(init="k-means++", n_init=1, random_state=seed + r)`` — reproducible.
* :func:`subtract_subject_mean`: Eq. 6 (row 7).
* :func:`probe_accuracy` / :func:`au_probe_r2`: linear probes for identity leakage (subject from
  z_e, expression from z_i) and for how well z_e predicts the exact AU intensities (SynthFaces).

Used by :mod:`helpers.idvae.evaluate` and :mod:`helpers.idvae.diagnose`; shown in notebook 06 §5 and §7.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["nearest_to_centroid_labels", "cluster_accuracy", "subtract_subject_mean",
           "probe_accuracy", "au_probe_r2"]

def nearest_to_centroid_labels(features: np.ndarray, assign: np.ndarray, centroids: np.ndarray,
                               labels: np.ndarray) -> np.ndarray:
    """The label of each cluster: that of its member nearest (Euclidean) to its centroid.

    Returns (k,) labels (-1 for an empty cluster). The paper's rule for naming a cluster.
    """
    out = np.full(len(centroids), -1, dtype=np.int64)
    for c in range(len(centroids)):
        members = np.flatnonzero(assign == c)
        if len(members):
            d = ((features[members] - centroids[c]) ** 2).sum(1)
            out[c] = labels[members[int(np.argmin(d))]]
    return out


def _check_features(features, labels) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if f.ndim != 2 or len(f) != len(y) or y.ndim != 1:
        raise ValueError(f"need features (N, D) and labels (N,), got {f.shape} and {y.shape}")
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or inf")
    return f, y


def cluster_accuracy(features, labels, k: int = 9, runs: int = 100, seed: int = 0) -> dict:
    """Table 3's accuracy: k-means++ with ``k`` clusters, nearest-to-centroid labelling, ``runs`` runs.

    Returns {"mean", "std", "runs": (runs,) accuracies, "k", "n", "chance"} (fractions, not %;
    ``chance`` = share of the most frequent label, what one cluster for everything would score).
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    f, y = _check_features(features, labels)
    if not (isinstance(k, int) and 1 <= k <= len(f)):
        raise ValueError(f"k must be an int in [1, {len(f)}] (the number of images), got {k!r}")
    if not (isinstance(runs, int) and runs >= 1):
        raise ValueError(f"runs must be a positive int, got {runs!r}")
    accs = np.empty(runs)
    for r in range(runs):
        with warnings.catch_warnings(), threadpool_limits(1):   # one thread: fast here and reproducible
            warnings.simplefilter("ignore")   # duplicate points in tiny sets: fewer distinct clusters
            km = KMeans(n_clusters=k, init="k-means++", n_init=1, random_state=seed + r).fit(f)
        names = nearest_to_centroid_labels(f, km.labels_, km.cluster_centers_, y)
        accs[r] = float(np.mean(names[km.labels_] == y))
    _, counts = np.unique(y, return_counts=True)
    return {"mean": float(accs.mean()), "std": float(accs.std()), "runs": accs, "k": k, "n": len(f),
            "chance": float(counts.max() / len(y))}


def subtract_subject_mean(features, subjects) -> np.ndarray:
    """Eq. 6: f_sub_ij = x_ij - (1/n) sum_k x_ik, the mean over subject i's images in the set."""
    f = np.asarray(features, dtype=np.float64)
    s = np.asarray(subjects)
    if f.ndim != 2 or s.shape != (len(f),):
        raise ValueError(f"need features (N, D) and subjects (N,), got {f.shape} and {s.shape}")
    out = f.copy()
    for u in np.unique(s):
        m = s == u
        out[m] -= f[m].mean(0)
    return out


def probe_accuracy(features, targets, groups, folds: int = 5, seed: int = 0) -> dict:
    """A linear probe: logistic regression predicting ``targets`` from ``features``, cross-validated
    so that no ``group`` is in both the fit and the test fold (e.g. predict the subject from z_e on
    expressions the probe never saw; the expression from z_i on subjects it never saw).

    Returns {"accuracy", "chance" (the most frequent class's share), "folds"}.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    f, y = _check_features(features, targets)
    g = np.asarray(groups)
    if g.shape != y.shape:
        raise ValueError(f"groups must have the shape of targets {y.shape}, got {g.shape}")
    n_groups = len(np.unique(g))
    if n_groups < 2:
        raise ValueError("probe_accuracy needs at least two groups (fit on some, test on others)")
    k = min(folds, n_groups)
    hits = total = 0
    for fit, test in GroupKFold(n_splits=k).split(f, y, g):
        if len(np.unique(y[fit])) < 2:
            continue
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0, random_state=seed))
        clf.fit(f[fit], y[fit])
        hits += int((clf.predict(f[test]) == y[test]).sum())
        total += len(test)
    _, counts = np.unique(y, return_counts=True)
    return {"accuracy": hits / total if total else float("nan"), "chance": float(counts.max() / len(y)), "folds": k}


def au_probe_r2(train_features, train_aus, test_features, test_aus, alpha: float = 1.0) -> dict:
    """How well a linear map (ridge) from the latent predicts the exact AU intensities.

    Fit on ``train_*`` (training subjects), R^2 on ``test_*`` (held-out subjects) per AU; returns
    {"r2_mean" (over AUs that vary in the test set), "r2": (17,) array, "n_test"}.
    """
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a, ya = _check_features(train_features, np.zeros(len(train_features)))[0], np.asarray(train_aus, np.float64)
    b, yb = _check_features(test_features, np.zeros(len(test_features)))[0], np.asarray(test_aus, np.float64)
    if ya.shape[0] != len(a) or yb.shape[0] != len(b) or ya.ndim != 2 or ya.shape[1] != yb.shape[1]:
        raise ValueError(f"AU arrays must be (N, 17) matching the features, got {ya.shape}, {yb.shape}")
    if not (np.isfinite(ya).all() and np.isfinite(yb).all()):
        raise ValueError("AU intensities must be known (no NaN) for the AU probe")
    pred = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(a, ya).predict(b)
    var = yb.var(0)
    r2 = np.where(var > 1e-8, 1.0 - ((pred - yb) ** 2).mean(0) / np.maximum(var, 1e-12), np.nan)
    return {"r2_mean": float(np.nanmean(r2)), "r2": r2, "n_test": len(b)}
