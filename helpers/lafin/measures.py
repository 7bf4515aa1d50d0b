"""The numbers the landmark-and-label paper lacked: landmark errors by label, label control, inpainting quality and fidelity.

Landmark measures (per face, then averaged per group Smiling / No_Smiling / all), all divided by
the true inter-ocular distance (outer eye corners 36 and 45, the 300-W convention) and given in %:

- ``nme``: mean point-to-point error of the 68 points; ``nme_mouth``: of the 20 mouth points 48-67;
- ``corner_err`` = | |D̂_MC| - |D_MC| | and ``corner_bias`` = |D̂_MC| - |D_MC| (signed: a predictor
  that draws every mouth alike under-estimates smiles, bias < 0, and over-estimates the others);
- ``lip_err`` / ``lip_bias``: the same for the lip distance of :func:`helpers.faces.landmarks.lip_distance`;
- ``label_acc``: accuracy of the label head (P(Smiling) > 0.5), where the predictor has one.

Inpainting measures (:func:`inpaint_measures`), inside the hole unless said: PSNR, SSIM, L1
(:mod:`helpers.core.metrics`), the perceptual distance of the face-analysis network, FID and KID of
the completed faces against the unmasked truth (analysis features: comparable with each other
only), and **expression fidelity**: the analysis network reads smiling, AU12 (lip corner puller),
AU25 (lips part) and the 20 mouth landmarks from each completed face and we compare them with the
truth (its reading of the unmasked truth is the ceiling, row ``truth``).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd
import torch

from helpers.core import metrics
from helpers.core.distribution import frechet_distance, kid_from_features
from helpers.faces import analysis
from helpers.faces.data import AUS
from helpers.faces.landmarks import MOUTH, inter_ocular, lip_distance, mouth_corner_distance
from helpers.lafin.data import TestFaces
from helpers.lafin.inpainter import InpaintGenerator, inpaint
from helpers.lafin.model import LandmarkPredictor, check_landmarks, damage, predict

__all__ = ["nme", "landmark_table", "by_label", "predict_testset", "predictor_measures", "label_control",
           "inpaint_measures", "GROUPS", "LANDMARK_COLUMNS"]

GROUPS = ("No_Smiling", "Smiling", "all")
LANDMARK_COLUMNS = ("nme", "nme_mouth", "corner_err", "corner_bias", "lip_err", "lip_bias")


def nme(pred: torch.Tensor, true: torch.Tensor, points=None) -> torch.Tensor:
    """Normalised mean error per face (N,): mean over ``points`` (default all 68) of |p̂ - p| / |p36 - p45|."""
    check_landmarks(pred, "pred")
    check_landmarks(true, "true", n=len(pred))
    idx = list(points) if points is not None else list(range(68))
    d = (pred[:, idx].float() - true[:, idx].float()).norm(dim=-1).mean(1)
    return d / inter_ocular(true.float()).clamp_min(1e-6)


def landmark_table(pred: torch.Tensor, true: torch.Tensor, smiling: torch.Tensor, lips: str = "inner") -> pd.DataFrame:
    """One row per face: ``smiling`` and the :data:`LANDMARK_COLUMNS` (in % of the inter-ocular distance)."""
    iod = inter_ocular(true.float()).clamp_min(1e-6)
    cb = (mouth_corner_distance(pred.float()) - mouth_corner_distance(true.float())) / iod
    lb = (lip_distance(pred.float(), lips) - lip_distance(true.float(), lips)) / iod
    return pd.DataFrame({
        "smiling": smiling.long().numpy(),
        "nme": 100 * nme(pred, true).numpy(), "nme_mouth": 100 * nme(pred, true, MOUTH).numpy(),
        "corner_err": 100 * cb.abs().numpy(), "corner_bias": 100 * cb.numpy(),
        "lip_err": 100 * lb.abs().numpy(), "lip_bias": 100 * lb.numpy()})


def by_label(df: pd.DataFrame, cols=LANDMARK_COLUMNS) -> pd.DataFrame:
    """Means of ``cols`` for No_Smiling, Smiling and all faces (rows), with the count ``n``."""
    rows = {}
    for name, sel in (("No_Smiling", df["smiling"] == 0), ("Smiling", df["smiling"] == 1),
                      ("all", df["smiling"] >= -1)):
        part = df[sel]
        rows[name] = {"n": int(len(part)), **{c: float(part[c].mean()) if len(part) else float("nan")
                                              for c in cols if c in df.columns}}
    return pd.DataFrame(rows).T


def predict_testset(P: LandmarkPredictor, ts: TestFaces, kind: str = "halfface", labels: torch.Tensor | None = None) -> dict:
    """The predictor's reading of the test faces with ``kind`` holes (labels: the truth unless given)."""
    if kind not in ts.masks:
        raise ValueError(f"kind must be one of {tuple(ts.masks)}, got {kind!r}")
    lab = (ts.smiling.clamp(min=0) if labels is None else labels).long()
    return predict(P, damage(ts.images, ts.masks[kind]), lab if P.label_input else None)


def predictor_measures(P: LandmarkPredictor, ts: TestFaces, kinds=("halfface", "facemask"),
                       lips: str = "inner") -> dict:
    """Flat dict ``{kind}_{group}_{column}`` for every hole kind, label group and landmark column,
    plus ``{kind}_label_acc`` where the predictor has a label head. Draws no random numbers."""
    out = {}
    for kind in kinds:
        r = predict_testset(P, ts, kind)
        t = by_label(landmark_table(r["landmarks"], ts.landmarks, ts.smiling, lips))
        for g in GROUPS:
            out[f"{kind}_{g}_n"] = int(t.loc[g, "n"])
            for c in LANDMARK_COLUMNS:
                out[f"{kind}_{g}_{c}"] = round(float(t.loc[g, c]), 4)
        if r["label_prob"] is not None:
            known = ts.smiling >= 0
            acc = ((r["label_prob"][known] > 0.5).long() == ts.smiling[known]).float().mean()
            out[f"{kind}_label_acc"] = round(float(acc), 4)
    return out


def label_control(P: LandmarkPredictor, ts: TestFaces, kind: str = "halfface", lips: str = "inner") -> pd.DataFrame:
    """The label as a control: predicted corner and lip distances (% of inter-ocular) with the true
    label and with the label flipped, for each true group (rows No_Smiling / Smiling).

    Columns: ``corner_true`` (the truth), ``corner_given`` (true label), ``corner_flipped`` and the
    change ``corner_shift``; the same for ``lip_``. A predictor without label input shows 0 shift.
    """
    iod = inter_ocular(ts.landmarks).clamp_min(1e-6)
    real = predict_testset(P, ts, kind)["landmarks"]
    flipped = predict_testset(P, ts, kind, labels=1 - ts.smiling.clamp(min=0))["landmarks"] if P.label_input else real
    rows = {}
    for name, val in (("No_Smiling", 0), ("Smiling", 1)):
        sel = ts.smiling == val
        if not bool(sel.any()):
            continue
        row = {"n": int(sel.sum())}
        for key, fn in (("corner", mouth_corner_distance), ("lip", lambda x: lip_distance(x, lips))):
            row[f"{key}_true"] = float((100 * fn(ts.landmarks[sel]) / iod[sel]).mean())
            row[f"{key}_given"] = float((100 * fn(real[sel]) / iod[sel]).mean())
            row[f"{key}_flipped"] = float((100 * fn(flipped[sel]) / iod[sel]).mean())
            row[f"{key}_shift"] = row[f"{key}_flipped"] - row[f"{key}_given"]
        rows[name] = row
    return pd.DataFrame(rows).T


# ------------------------------------------------------------------------------------- inpainting
_AU12, _AU25 = AUS.index(12), AUS.index(25)


def _readings(images: torch.Tensor, net) -> dict:
    r = analysis.analyse(images, net)
    return {"smiling_prob": r["smiling_prob"], "au12": r["aus"][:, _AU12], "au25": r["aus"][:, _AU25],
            "landmarks": r["landmarks"], "features": r["features"]}


def _fidelity(read: dict, ts: TestFaces) -> dict:
    out = {}
    known = ts.smiling >= 0
    if bool(known.any()):
        out["smiling_acc"] = float(((read["smiling_prob"][known] > 0.5).long() == ts.smiling[known]).float().mean())
    if ts.aus is not None:
        out["au12_mae"] = float((read["au12"] - ts.aus[:, _AU12]).abs().mean())
        out["au25_mae"] = float((read["au25"] - ts.aus[:, _AU25]).abs().mean())
    out["mouth_nme"] = float(100 * nme(read["landmarks"], ts.landmarks, MOUTH).mean())
    return out


def inpaint_measures(G: InpaintGenerator, ts: TestFaces, kind: str, sources: Mapping[str, torch.Tensor],
                     net=None, kid_subset: int = 100, completed: dict | None = None) -> pd.DataFrame:
    """One row per landmark source (``{"true": ..., "baseline": ..., "ours": ...}``) with the
    inpainting quality and expression fidelity of :mod:`this module <helpers.lafin.measures>`,
    plus a row ``truth`` (the unmasked faces read by the same instrument: the ceiling).

    ``completed`` (optional dict) receives the completed images per source, for figures.
    """
    if kind not in ts.masks:
        raise ValueError(f"kind must be one of {tuple(ts.masks)}, got {kind!r}")
    net = analysis.load() if net is None else net
    masks = ts.masks[kind]
    truth = _readings(ts.images, net)
    rows = {}
    for name, lm in sources.items():
        check_landmarks(lm, f"sources[{name!r}]", n=len(ts))
        out = inpaint(G, ts.images * (1 - masks), masks, lm).clamp(-1, 1)
        if completed is not None:
            completed[name] = out
        read = _readings(out, net)
        psnr = metrics.hole_psnr(out, ts.images, masks)
        with torch.no_grad():
            perc = torch.cat([analysis.perceptual_distance(out[i:i + 64], ts.images[i:i + 64], net)
                              for i in range(0, len(out), 64)])
        row = {"psnr": float(psnr[torch.isfinite(psnr)].mean()),
               "ssim": float(metrics.hole_ssim(out, ts.images, masks).mean()),
               "l1": float(metrics.hole_l1(out, ts.images, masks).mean()),
               "perceptual": float(perc.mean())}
        fa, fb = truth["features"].double().numpy(), read["features"].double().numpy()
        row["fid"] = frechet_distance(fa, fb) if len(ts) >= 10 else float("nan")
        row["kid"] = kid_from_features(fa, fb, subsets=50, subset_size=min(kid_subset, len(ts)))[0] if len(ts) >= 4 else float("nan")
        row.update(_fidelity(read, ts))
        rows[name] = row
    rows["truth"] = {"psnr": float("nan"), "ssim": 1.0, "l1": 0.0, "perceptual": 0.0, "fid": 0.0, "kid": 0.0,
                     **_fidelity(truth, ts)}
    return pd.DataFrame(rows).T
