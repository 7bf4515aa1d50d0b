"""Measuring a run or a release of the landmark-and-label paper: landmark errors by label, label control, inpainting quality and fidelity.

The tables, claims and findings built from these numbers are in :mod:`helpers.lafin.claims`;
the real-photo measures in :mod:`helpers.lafin.real`.

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

Releases (:func:`predictor_release_metrics`, :func:`inpainter_release_metrics`) record these on
:data:`N_TEST` fixed test faces (:func:`eval_testset`) plus a ``check`` block on the first
:data:`CHECK_N` that the tests recompute (:func:`predictor_check`, :func:`inpainter_check`;
:func:`remeasure` rewrites it in a committed manifest). Every number is measured on the float16
weights a release stores.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Mapping

import pandas as pd
import torch
import torch.nn.functional as F

from helpers.core import files, metrics, release as rel, runtime
from helpers.core.distribution import frechet_distance, kid_from_features
from helpers.faces import analysis
from helpers.faces.data import AUS
from helpers.faces.landmarks import MOUTH, inter_ocular, lip_distance, mouth_corner_distance
from helpers.lafin.claims import LANDMARK_COLUMNS
from helpers.lafin.data import GROUPS, TestFaces, folder_testset, make_testset
from helpers.lafin.inpainter import InpaintGenerator, inpaint
from helpers.lafin.model import LandmarkPredictor, SharedConfig, check_landmarks, damage, nme, predict

__all__ = ["nme", "landmark_table", "per_face", "by_label", "predict_testset", "predictor_measures", "label_control",
           "inpaint_measures", "inpaint_by_label", "predictor_validation", "detector_crop_validation", "inpainter_validation", "eval_testset",
           "predictor_release_metrics", "predictor_check", "predictor_check_synthfaces", "inpainter_check", "inpainter_release_metrics",
           "remeasure", "mouth_box_masks", "resized", "same_holes", "GROUPS", "LANDMARK_COLUMNS", "N_TEST",
           "CHECK_N", "MOUTH"]



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


def per_face(predictors: Mapping[str, LandmarkPredictor], ts: TestFaces, kind: str = "halfface",
             lips: str = "inner") -> dict[str, pd.DataFrame]:
    """``{name: landmark_table}`` (one row per test face) of each predictor on ``kind`` holes."""
    return {name: landmark_table(predict_testset(P, ts, kind)["landmarks"], ts.landmarks, ts.smiling, lips)
            for name, P in predictors.items()}


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
    inpainting quality and expression fidelity of :mod:`this module <helpers.lafin.evaluate>`,
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


def inpaint_by_label(G: InpaintGenerator, ts: TestFaces, kind: str, sources: Mapping[str, torch.Tensor],
                     net=None, completed: Mapping[str, torch.Tensor] | None = None) -> pd.DataFrame:
    """Inpainting quality by label: rows (source, group) with hole PSNR, SSIM, perceptual distance, the
    completed mouth's landmark error and the share read as the face's true label (analysis network).

    ``completed`` (from :func:`inpaint_measures`) reuses its completions instead of inpainting again.
    Row ``truth`` is the unmasked faces read by the same instrument. Means per group, ``n`` faces.
    """
    if kind not in ts.masks:
        raise ValueError(f"kind must be one of {tuple(ts.masks)}, got {kind!r}")
    net = analysis.load() if net is None else net
    masks = ts.masks[kind]
    groups = {"No_Smiling": ts.smiling == 0, "Smiling": ts.smiling == 1, "all": torch.ones(len(ts), dtype=torch.bool)}
    recs = []
    for name in [*sources, "truth"]:
        if name == "truth":
            out = ts.images
        elif completed is not None and name in completed:
            out = completed[name]
        else:
            check_landmarks(sources[name], f"sources[{name!r}]", n=len(ts))
            out = inpaint(G, ts.images * (1 - masks), masks, sources[name]).clamp(-1, 1)
        read = _readings(out, net)
        with torch.no_grad():
            perc = torch.cat([analysis.perceptual_distance(out[i:i + 64], ts.images[i:i + 64], net)
                              for i in range(0, len(out), 64)])
        per = {"psnr": metrics.hole_psnr(out, ts.images, masks) if name != "truth" else torch.full((len(ts),), float("nan")),
               "ssim": metrics.hole_ssim(out, ts.images, masks), "perceptual": perc,
               "mouth_nme": 100 * nme(read["landmarks"], ts.landmarks, MOUTH),
               "label_read": ((read["smiling_prob"] > 0.5).long() == ts.smiling).float()}
        for g, sel in groups.items():
            sel = sel & (ts.smiling >= 0) if g != "all" else sel
            row = {"source": name, "group": g, "n": int(sel.sum())}
            for k, v in per.items():
                v = v[sel]
                v = v[torch.isfinite(v)]
                row[k] = float(v.mean()) if len(v) else float("nan")
            recs.append(row)
    return pd.DataFrame(recs).set_index(["source", "group"])


# ------------------------------------------------------------------------- against other methods
def mouth_box_masks(landmarks: torch.Tensor, size: int, pad: float = 0.35) -> torch.Tensor:
    """(N, 1, S, S) rectangular holes over the mouth: the box of landmarks 48-67 grown by ``pad``
    inter-ocular distances on every side (GLCIC's kind of mouth hole, placed from the truth)."""
    check_landmarks(landmarks)
    mouth = landmarks[:, list(MOUTH)]
    grow = (pad * inter_ocular(landmarks))[:, None]
    lo = (mouth.amin(1) - grow).floor().clamp(0, size - 1).long()
    hi = (mouth.amax(1) + grow).ceil().clamp(1, size).long()
    masks = torch.zeros(len(landmarks), 1, size, size)
    for i in range(len(landmarks)):
        masks[i, 0, lo[i, 1]:hi[i, 1], lo[i, 0]:hi[i, 0]] = 1.0
    return masks


def resized(complete_fn, size: int):
    """A completion method built for ``size`` px used on faces of another size: the face and its hole
    are resized to ``size`` (a pixel is a hole if any of its area is), completed, and the completion
    resized back into the hole; known pixels stay exact. ``complete_fn(images, masks) -> images``."""
    def fn(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        S = images.shape[-1]
        x = F.interpolate(images.float(), size=(size, size), mode="area")
        m = (F.adaptive_max_pool2d(masks.float(), size) > 0).float()
        with torch.no_grad():
            out = complete_fn(x * (1 - m), m).float().clamp(-1, 1)
        up = F.interpolate(out, size=(S, S), mode="bilinear", align_corners=False)
        return torch.where(masks.bool(), up, images.float())
    return fn


def same_holes(G: InpaintGenerator, predictor: LandmarkPredictor | None, others: Mapping, ts: TestFaces,
               kinds=("facemask", "halfface", "mouthbox"), net=None) -> pd.DataFrame:
    """LaFIn's inpainter beside other completion methods on the very same faces and holes.

    Rows per hole kind: LaFIn guided by the true landmarks, by ``predictor``'s landmarks (read from
    the damaged face and the true label), every ``others[name](images, masks)`` (e.g. GLCIC through
    :func:`resized`, Telea) and the truth itself (the analysis network's floor). Columns: hole PSNR,
    SSIM, the analysis network's perceptual distance, and its readings against the truth (mouth
    landmark error in % of the inter-ocular distance, smiling accuracy, AU12 / AU25 error): measures
    that a blurred mouth does not win.
    """
    net = analysis.load() if net is None else net
    if "mouthbox" in kinds and "mouthbox" not in ts.masks:
        ts.masks["mouthbox"] = mouth_box_masks(ts.landmarks, ts.size)
    rows = []
    for kind in kinds:
        masks = ts.masks[kind]
        done = {"LaFIn, true landmarks": inpaint(G, ts.images * (1 - masks), masks, ts.landmarks)}
        if predictor is not None:
            lm = predict_testset(predictor, ts, kind)["landmarks"]
            done["LaFIn, predicted landmarks"] = inpaint(G, ts.images * (1 - masks), masks, lm)
        for name, fn in others.items():
            done[name] = fn(ts.images * (1 - masks), masks)
        for name, out in {**done, "truth": ts.images}.items():
            out = out.float().clamp(-1, 1)
            with torch.no_grad():
                perc = torch.cat([analysis.perceptual_distance(out[i:i + 64], ts.images[i:i + 64], net)
                                  for i in range(0, len(out), 64)])
            psnr = metrics.hole_psnr(out, ts.images, masks)
            row = {"holes": kind, "method": name,
                   "psnr": float(psnr[torch.isfinite(psnr)].mean()) if bool(torch.isfinite(psnr).any()) else float("nan"),
                   "ssim": float(metrics.hole_ssim(out, ts.images, masks).mean()),
                   "perceptual": float(perc.mean()), **_fidelity(_readings(out, net), ts)}
            rows.append(row)
    return pd.DataFrame(rows).set_index(["holes", "method"])


# -------------------------------------------------------------------------------- during training
def predictor_validation(P: LandmarkPredictor, ts: TestFaces, lips: str = "inner") -> dict:
    """The curve of a predictor run: half-face NME, mouth NME, biases and label accuracy (``val_*``)."""
    m = predictor_measures(P, ts, ("halfface",), lips)
    return {f"val_{k.replace('halfface_', '')}": v for k, v in m.items() if not k.endswith("_n")
            and ("_all_" in k or "label_acc" in k or "corner_bias" in k)}


def detector_crop_validation(P: LandmarkPredictor, crops: Mapping[str, tuple]) -> dict:
    """The curve of a detector-crop predictor: NME of the pipeline's first pass on held-out photos
    (``crops``: ``{"mtcnn_drawn": (images, landmarks), ...}`` from :func:`helpers.lafin.crops.detector_crops`)."""
    out = {}
    for key, (images, lm) in crops.items():
        e = 100 * nme(predict(P, images)["landmarks"], lm)
        out[f"val_{key}_nme"] = float(e.mean())
        out[f"val_{key}_within_8"] = float((e <= 8.0).float().mean())
    return out


def inpainter_validation(G: InpaintGenerator, ts: TestFaces, reader=None) -> dict:
    """The curve of an inpainter run per hole kind: hole PSNR, SSIM, checkerboard energy above the
    truth's and (given the analysis network ``reader``) the mouth-landmark error of the completion."""
    out = {}
    for kind in ts.masks:
        m = ts.masks[kind]
        done = inpaint(G, ts.images * (1 - m), m, ts.landmarks)
        p = metrics.hole_psnr(done, ts.images, m)
        out[f"val_{kind}_psnr"] = float(p[torch.isfinite(p)].mean())
        out[f"val_{kind}_ssim"] = float(metrics.hole_ssim(done, ts.images, m).mean())
        # a 2-px grid of the up-sampling, minus the true face's (0 = as smooth as the truth)
        out[f"val_{kind}_checker"] = float(metrics.checker_energy(done, m).mean()
                                           - metrics.checker_energy(ts.images, m).mean())
        if reader is not None:     # blur cannot score here: the completed mouth must have its shape
            lm = analysis.analyse(done, reader)["landmarks"]
            out[f"val_{kind}_mouth_nme"] = float(100 * nme(lm, ts.landmarks, MOUTH).mean())
    return out


# ------------------------------------------------------------------------------------------ releases
#: faces of the fixed test set measured by a release (predictors / inpainter) and by its test (CHECK_N)
N_TEST = {"predictor": 300, "inpainter": 200}
CHECK_N = 24


def eval_testset(cfg: SharedConfig, n: int) -> TestFaces:
    """The fixed test faces of a run: SynthFaces of unseen people, or the folder's test split."""
    if cfg.data == "synthfaces":
        return make_testset(n, cfg.size)
    return folder_testset(cfg.data, cfg.size, "test", n=n)


def predictor_release_metrics(P: LandmarkPredictor, cfg, n: int) -> dict:
    """What a predictor release records: :func:`predictor_measures` on ``n`` test faces and a
    ``check`` block on the first :data:`CHECK_N` (the one the tests recompute)."""
    ts = eval_testset(cfg, n)
    out = predictor_measures(P, ts, tuple(ts.masks), cfg.lips)
    out["check"] = predictor_check(P, cfg)
    if cfg.data != "synthfaces":
        out["check_synthfaces"] = predictor_check_synthfaces(P, cfg)
    out["n_test"] = len(ts)
    return out


def predictor_check_synthfaces(P: LandmarkPredictor, cfg) -> dict:
    """A check that needs no data folder, for a predictor trained on one: :func:`predictor_measures`
    (half-face holes) on the :data:`CHECK_N` SynthFaces test faces, so the tests recompute it anywhere."""
    return predictor_measures(P, make_testset(CHECK_N, cfg.size), ("halfface",), cfg.lips)


def predictor_check(P: LandmarkPredictor, cfg) -> dict:
    """The ``check`` block of a predictor release: :func:`predictor_measures` on the test set of
    :data:`CHECK_N` faces drawn alone (``make_testset(n)`` is not a prefix of a larger one)."""
    return predictor_measures(P, eval_testset(cfg, CHECK_N), ("halfface",), cfg.lips)


def inpainter_check(G: InpaintGenerator, cfg) -> dict:
    """The ``check`` block of an inpainter release: hole PSNR and L1 on the :data:`CHECK_N`-face test set."""
    small = eval_testset(cfg, CHECK_N)
    m = small.masks["halfface"]
    done = inpaint(G, small.images * (1 - m), m, small.landmarks)
    p = metrics.hole_psnr(done, small.images, m)
    return {"halfface_psnr": round(float(p[torch.isfinite(p)].mean()), 4),
            "halfface_l1": round(float(metrics.hole_l1(done, small.images, m).mean()), 5)}


def inpainter_release_metrics(G: InpaintGenerator, cfg, n: int, predictors: Mapping | None = None,
                              net=None) -> dict:
    """Inpainting quality with the true landmarks (and, given ``predictors`` = {name: LandmarkPredictor},
    with each predictor's landmarks) on ``n`` test faces, both hole kinds; plus the ``check`` block.
    ``net``: the face-analysis network that measures (default the ``analysis128`` release)."""
    ts = eval_testset(cfg, n)
    net = analysis.load() if net is None else net
    out = {"n_test": len(ts), "tables": {}}
    for kind in ts.masks:
        sources = {"true": ts.landmarks}
        for k, P in (predictors or {}).items():
            sources[k] = predict_testset(P, ts, kind)["landmarks"]
        t = inpaint_measures(G, ts, kind, sources, net)
        out["tables"][kind] = {r: {c: round(float(v), 5) for c, v in row.items()} for r, row in t.iterrows()}
        for c in ("psnr", "ssim", "l1", "perceptual", "fid", "kid"):
            out[f"{kind}_{c}"] = round(float(t.loc["true", c]), 5)
    out["check"] = inpainter_check(G, cfg)
    return out


def remeasure(release: rel.Release, command: str, directory=None) -> dict:
    """Recompute the ``check`` block of a loaded release (predictor or inpainter) and rewrite its
    manifest (weights, sha256, curve and the other metrics stay as they are).

    Needed where a release was written before its check was drawn exactly as the tests draw it
    (:func:`predictor_check`, :func:`inpainter_check`); the manifest records ``remeasured``."""
    directory = directory or runtime.CHECKPOINT_DIR
    man = dict(release.manifest)
    check = predictor_check(release.model, release.config) if release.config.net == "predictor" \
        else inpainter_check(release.model, release.config)
    man["metrics"] = {**man["metrics"], "check": json.loads(json.dumps(check))}
    man["remeasured"] = {"what": "metrics.check", "command": command, "previous_created": man.get("created"),
                         "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    files.atomic_write_bytes(Path(directory) / f"{release.name}.json", json.dumps(man, indent=1).encode())
    return man
