"""How well the analysis network reads faces of people it never saw.

All measures run on SynthFaces of *unseen* people (identities >= 100,000; training uses
``range(n_identities)``), rendered at 64 and 128 px, without and with face masks:

- landmarks: NME = mean point error / outer-eye-corner distance (300-W), all 68 points and the
  20 mouth points (48-67);
- AUs: mean absolute error and Pearson correlation per AU (and their means);
- expression accuracy (8 classes), smiling accuracy (AU12 >= 1), pose mean absolute error (deg);
- identity: verification of pairs (every same-person pair, as many different-person pairs):
  ROC-AUC and equal error rate (EER) of the cosine similarity, and the EER threshold.

The faces come from :mod:`helpers.analysis.data` (``test_faces``; ``check_faces`` is the small fixed
set whose numbers the release stores, so a test can re-measure the committed weights exactly).
``degradation`` measures FID/KID as faces are degraded (the sanity check of the offline FID),
``speed`` images per second; :mod:`helpers.analysis.figures` draws what notebook 00 shows.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from helpers.core import distribution as dist
from helpers.faces import landmarks as L
from helpers.faces.data import AU_COLUMNS
from helpers.faces.analysis import AUS, AnalysisNet, analyse, analysis_extractor, load
from helpers.analysis.data import TEST_IDENTITIES, as_images, check_faces, gaussian_blur, test_faces
from helpers.synthfaces import bank

__all__ = ["measure", "verification", "accuracy_table", "check_metrics", "degrade", "degradation", "speed",
           "summary_table", "au_table", "findings"]

def verification(emb: torch.Tensor, ids: torch.Tensor, seed: int = 0) -> dict:
    """Identity verification on every same-person pair and as many random different-person pairs.

    Scores are cosine similarities of the (unit) embeddings. Returns ROC-AUC, EER, the EER
    threshold as a cosine *distance* (1 - cos; below it: same person) and the pair counts.
    """
    ids = ids.numpy()
    e = emb.double().numpy()
    i, j = np.triu_indices(len(ids), 1)
    same = ids[i] == ids[j]
    if same.sum() == 0 or (~same).sum() == 0:
        raise ValueError("verification needs at least one same-person and one different-person pair")
    pos = np.flatnonzero(same)
    rng = np.random.default_rng(seed)
    neg = rng.choice(np.flatnonzero(~same), min(len(pos), int((~same).sum())), replace=False)
    sel = np.concatenate([pos, neg])
    score = (e[i[sel]] * e[j[sel]]).sum(1)
    label = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    fpr, tpr, thr = roc_curve(label, score)
    k = int(np.argmin(np.abs((1 - tpr) - fpr)))
    return {"identity_auc": float(roc_auc_score(label, score)), "identity_eer": float((fpr[k] + 1 - tpr[k]) / 2),
            "identity_threshold": float(1 - thr[k]), "pairs_same": int(len(pos)), "pairs_different": int(len(neg))}


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-8 or b.std() < 1e-8:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def measure(net: AnalysisNet, data: dict, batch: int = 64, per_au: bool = True) -> dict:
    """Every accuracy measure of ``net`` on labelled faces ``data`` (a :func:`test_faces` dict)."""
    out = analyse(as_images(data), net, batch)
    lm, gt = out["landmarks"].double(), data["landmarks"].double()
    iod = L.inter_ocular(gt)
    err = (lm - gt).norm(dim=-1) / iod[:, None]
    mouth = list(L.MOUTH)
    aus_p, aus_t = out["aus"].double().numpy(), data["aus"].double().numpy()
    mae = np.abs(aus_p - aus_t).mean(0)
    corr = np.array([_corr(aus_p[:, k], aus_t[:, k]) for k in range(len(AUS))])
    pose_err = (out["pose"].double() - data["pose"].double()).abs().mean(0)
    m = {
        "n": int(len(lm)),
        "nme": float(err.mean()), "nme_mouth": float(err[:, mouth].mean()),
        "nme_eyes": float(err[:, list(L.RIGHT_EYE + L.LEFT_EYE)].mean()),
        "au_mae": float(mae.mean()), "au_corr": float(np.nanmean(corr)),
        "expression_acc": float((out["expression_logits"].argmax(1) == data["expression"]).double().mean()),
        "smiling_acc": float(((out["smiling_prob"] >= 0.5).long() == data["smiling"]).double().mean()),
        "pose_mae": float(pose_err.mean()), "yaw_mae": float(pose_err[0]), "pitch_mae": float(pose_err[1]),
        "roll_mae": float(pose_err[2]),
    }
    ids = data["identity"]
    if len(ids.unique()) < len(ids) and len(ids.unique()) > 1:
        m.update(verification(out["identity"], ids))
    else:  # too few faces for a same-person pair (tiny quick-profile sets)
        m.update(identity_auc=float("nan"), identity_eer=float("nan"), identity_threshold=float("nan"),
                 pairs_same=0, pairs_different=0)
    if per_au:
        m["per_au"] = {f"AU{a:02d}": {"mae": round(float(mae[k]), 4), "corr": round(float(corr[k]), 4)}
                       for k, a in enumerate(AUS)}
    return m


def _round(d):
    if isinstance(d, dict):
        return {k: _round(v) for k, v in d.items()}
    return round(d, 5) if isinstance(d, float) else d


def accuracy_table(net: AnalysisNet, n: int = 1000, sizes=(64, 128), progress: bool = False) -> dict:
    """:func:`measure` on unseen people for each input size and unmasked/masked: {"128_masked": {...}}."""
    out = {}
    for size in sizes:
        for masked in (False, True):
            data = test_faces(n, size, masked, progress=progress)
            out[f"{size}_{'masked' if masked else 'unmasked'}"] = _round(measure(net, data))
    return out


def check_metrics(net: AnalysisNet) -> dict:
    """:func:`measure` (without the per-AU table) on the fixed :func:`check_faces` set."""
    return _round(measure(net, check_faces(), per_au=False))


# ----------------------------------------------------------------------------- FID sanity
def degrade(images: torch.Tensor, kind: str, level: float, seed: int = 0) -> torch.Tensor:
    """``images`` in [-1, 1] with Gaussian ``"noise"`` (sigma = level) or ``"blur"`` (sigma px)."""
    if kind == "noise":
        g = torch.Generator().manual_seed(seed)
        return (images + level * torch.randn(images.shape, generator=g)).clamp(-1, 1)
    if kind == "blur":
        if level <= 0:
            return images.clone()
        return gaussian_blur(images, torch.full((len(images),), float(level))).clamp(-1, 1)
    raise ValueError(f"kind must be 'noise' or 'blur', got {kind!r}")


NOISE_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.4)
BLUR_LEVELS = (0.0, 0.5, 1.0, 1.5, 2.5)


def degradation(net: AnalysisNet | None = None, n: int = 500, size: int = 64, kid_subset: int = 200,
                levels: dict | None = None) -> list[dict]:
    """FID and KID (analysis features) of degraded faces against a separate clean set of ``n``.

    Rows: kind, level, fid, kid. The clean row's FID is the floor set by finite samples (two
    independent clean sets); ``self_fid`` (a set with itself) is ~0 by definition.
    """
    net = net or load()
    ext = analysis_extractor(net)
    ref = as_images(bank(n, size, 21, 0, keys=("image",), progress=False, identities=list(TEST_IDENTITIES)))
    test = as_images(bank(n, size, 22, 0, keys=("image",), progress=False, identities=list(TEST_IDENTITIES)))
    f_ref = dist.as_features(ref, ext)
    rows = [{"kind": "self", "level": 0.0, "fid": dist.frechet_distance(f_ref, f_ref),
             "kid": dist.kid_from_features(f_ref, f_ref, 20, kid_subset)[0]}]
    for kind, lv in (levels or {"noise": NOISE_LEVELS, "blur": BLUR_LEVELS}).items():
        for level in lv:
            f = dist.as_features(degrade(test, kind, level), ext)
            rows.append({"kind": kind, "level": float(level), "fid": dist.frechet_distance(f_ref, f),
                         "kid": dist.kid_from_features(f_ref, f, 50, kid_subset)[0]})
    return [_round(r) for r in rows]


def speed(net: AnalysisNet, sizes=(64, 128), n: int = 256, batch: int = 64, repeats: int = 3) -> dict:
    """Images per second of :func:`analyse` (best of ``repeats``) at each input size, this machine."""
    out = {"threads": torch.get_num_threads()}
    for size in sizes:
        x = torch.rand(n, 3, size, size) * 2 - 1
        analyse(x[:batch], net, batch)
        best = 0.0
        for _ in range(repeats):
            t = time.perf_counter()
            analyse(x, net, batch)
            best = max(best, n / (time.perf_counter() - t))
        out[f"images_per_s_{size}"] = round(best, 1)
    return out


# ----------------------------------------------------------------------------- tables, findings
SUMMARY_KEYS = ("nme", "nme_mouth", "au_mae", "au_corr", "expression_acc", "smiling_acc", "pose_mae",
                "identity_auc", "identity_eer")


def summary_table(metrics: dict):
    """The accuracy table (rows: conditions, columns: measures) from a release's ``accuracy``."""
    rows = {k.replace("_", " px, "): {c: v[c] for c in SUMMARY_KEYS} for k, v in metrics["accuracy"].items()}
    return pd.DataFrame(rows).T


def au_table(metrics: dict, condition: str = "128_unmasked"):
    """Per-AU MAE and correlation for one condition, with the AU names."""
    per = metrics["accuracy"][condition]["per_au"]
    return pd.DataFrame({c: per[c] for c in AU_COLUMNS}).T


def findings(manifest: dict) -> list[str]:
    """Sentences built from the release manifest: what the network reads, how masks hurt it."""
    acc = manifest["metrics"]["accuracy"]
    u, m = acc["128_unmasked"], acc["128_masked"]
    u64 = acc["64_unmasked"]
    lines = [
        f"On {u['n']} faces of people it never saw (128 px, no mask): landmark NME {u['nme']:.3f} "
        f"(mouth {u['nme_mouth']:.3f}), AU error {u['au_mae']:.2f} (correlation {u['au_corr']:.2f}), "
        f"expression {u['expression_acc']:.0%}, smiling {u['smiling_acc']:.0%}, pose error {u['pose_mae']:.1f} deg, "
        f"identity ROC-AUC {u['identity_auc']:.3f} (EER {u['identity_eer']:.1%}).",
        f"Behind a face mask the mouth must be guessed: mouth NME {u['nme_mouth']:.3f} -> {m['nme_mouth']:.3f}, "
        f"smiling {u['smiling_acc']:.0%} -> {m['smiling_acc']:.0%}, expression {u['expression_acc']:.0%} -> "
        f"{m['expression_acc']:.0%}, identity AUC {u['identity_auc']:.3f} -> {m['identity_auc']:.3f}.",
        f"At 64 px it reads nearly as well: NME {u64['nme']:.3f}, expression {u64['expression_acc']:.0%}, "
        f"identity AUC {u64['identity_auc']:.3f}.",
        "It knows SynthFaces only: on real photos use dlib (helpers.faces.detect) and the data scripts' "
        "labellers; its FID/KID/IS are not comparable with Inception-based numbers.",
    ]
    return lines
