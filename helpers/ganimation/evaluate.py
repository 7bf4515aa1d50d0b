"""Measuring AU edits: against their exact truth, by the analysis network, and as the seed did (IS/FID).

The seed compared its generators by IS and FID of 30,000 edited EmotioNet images (Tables 6.1,
6.2) and by eye. SynthFaces lets us also measure what an edit *should* have produced
(:func:`helpers.ganimation.data.edit_set`):

* fidelity to the truth: PSNR, SSIM and L1 over the whole image, and the analysis network's
  perceptual distance, each next to the "no edit" baseline (the input itself compared with the truth);
* ``leak``: the mean change the edit makes where the truth equals the input (pixels an AU cannot
  move: background, hair, clothes), in [0, 1] units, next to ``change`` = the truth's own mean change
  where it does differ;
* AUs read back from the edit by the analysis network, per AU: their error to the target, next to
  the network's own error on the *rendered truth*; the aim (at most twice that) is judged on the AU
  values an edit actually moves (by >= ``CHANGED``): over all 17, mostly unchanged, AUs even "no edit"
  would meet it;
* identity: the analysis embedding's cosine distance between edit and input, and the share of
  edits below the release's same-person threshold;
* attention: mean, spread and saturated shares of A over the test edits;
* white specks (residual teeth) in the mouth region of edits that close an open mouth
  (:func:`speck_map`), as a share of those the unedited input shows;
* FID / KID / IS on the analysis network's features (offline; not comparable with Inception
  numbers) between edits and real held-out SynthFaces, with the real-vs-real floor;
* the thesis' sweeps (:mod:`helpers.ganimation.sweeps`) step by step (:func:`run_sweep`) and
  averaged over faces (:func:`joint_effects`): synergy, competition, intensity.

The tables beside the thesis', its claims and the findings are built from these numbers in
:mod:`helpers.ganimation.claims`. Shown in notebook 05 §5-§7.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from helpers.core import distribution as dist
from helpers.core import metrics as M
from helpers.core.release import read_manifest
from helpers.faces import analysis as A
from helpers.faces.data import AUS
from helpers.faces.masks import polygon_mask
from helpers.ganimation.data import CHANGED, EDIT_KINDS, TEST_SEED, EditSet, au_index, edit_set
from helpers.ganimation.losses import attention_stats
from helpers.ganimation.model import Generator, edit
from helpers.ganimation.sweeps import (COMPETITION, INTENSITIES, SYNERGY, competition_targets, intensity_targets,
                                      single_targets, sweep, synergy_targets)
from helpers.synthfaces import EXPRESSION_NAMES

__all__ = ["analysis_net", "analysis_info", "mouth_region", "speck_map", "unchanged_region", "pixel_measures",
           "measure", "summarise", "distribution_scores", "run_sweep", "joint_effects", "evaluate", "check_measures",
           "curve_measures", "EVAL_SIZES"]

#: test-set sizes of a release's evaluation per kind (the check set is smaller, see check_measures)
EVAL_SIZES = {"random": 512, "presets": 128, "close_mouth": 64, "floor": 512, "effects": 8}
CHECK_N = 32
EFFECT_FACES = 8


# ----------------------------------------------------------------------------- the analysis network
def analysis_net(net=None):
    """``net`` itself; ``False``: none; ``None``: the released analysis network, or None if not released yet."""
    if net is False:
        return None
    if net is not None:
        return net
    try:
        return A.load()
    except FileNotFoundError:
        return None


def analysis_info(net) -> dict:
    """What identifies the analysis network used (release name and sha256), for manifests."""
    if net is None:
        return {"release": None}
    name = net.meta.get("release")
    out = {"release": name, "identity_threshold": net.meta.get("identity_threshold")}
    if name:
        man = read_manifest(name)
        out["sha256"] = man["sha256"]
        acc = man.get("metrics", {}).get("accuracy", {})
        out["stated_au_mae"] = {k: v.get("au_mae") for k, v in acc.items()}
    return out


# ----------------------------------------------------------------------------- regions
def mouth_region(landmarks: torch.Tensor, size: int, other: torch.Tensor | None = None,
                 dilate: int = 1) -> torch.Tensor:
    """(N, 1, S, S) mask of the outer-lip polygon (points 48-59) of ``landmarks`` (N, 68, 2),
    united with that of ``other`` if given, dilated by ``dilate`` pixels."""
    masks = []
    for i in range(len(landmarks)):
        m = polygon_mask(landmarks[i, 48:60], size)
        if other is not None:
            m = torch.maximum(m, polygon_mask(other[i, 48:60], size))
        masks.append(m)
    m = torch.stack(masks)
    if dilate:
        m = F.max_pool2d(m, 2 * dilate + 1, 1, dilate)
    return m


def _whiteness(x: torch.Tensor) -> torch.Tensor:
    return ((x.float() + 1) / 2).min(1, keepdim=True).values


def speck_map(images: torch.Tensor, truth: torch.Tensor, region: torch.Tensor, delta: float = 0.15) -> torch.Tensor:
    """(N, 1, H, W) bool: pixels of ``region`` where ``images`` is whiter than the truth by > ``delta``.

    Whiteness = min(R, G, B) in [0, 1]: high only for bright, colourless pixels (teeth), low for lips
    and skin, whose blue channel is darker. A closed mouth whose edit still shows teeth has such pixels;
    the unedited input (open mouth) shows all of them, the truth none.
    """
    return ((_whiteness(images) - _whiteness(truth)) > delta) & (region > 0)


def unchanged_region(images: torch.Tensor, truth: torch.Tensor, tol: float = 1.5 / 255) -> torch.Tensor:
    """(N, 1, H, W) bool: pixels where the truth equals the input (within ``tol`` in [0, 1] units)."""
    return ((truth.float() - images.float()).abs().amax(1, keepdim=True) / 2) <= tol


# ----------------------------------------------------------------------------- measures
def _ones(x: torch.Tensor) -> torch.Tensor:
    return torch.ones(len(x), 1, *x.shape[2:])


def pixel_measures(out: torch.Tensor, es: EditSet) -> dict[str, torch.Tensor]:
    """Per-edit PSNR/SSIM/L1 to the truth (and of the no-edit baseline), leak and change, (N,) each."""
    ones = _ones(out)
    same = unchanged_region(es.images, es.truth).float()
    diff = (out.float() - es.images).abs().mean(1, keepdim=True) / 2
    true_change = (es.truth - es.images).abs().mean(1, keepdim=True) / 2
    return {
        "psnr": M.hole_psnr(out, es.truth, ones), "ssim": M.hole_ssim(out, es.truth, ones),
        "l1": M.hole_l1(out, es.truth, ones),
        "psnr_noedit": M.hole_psnr(es.images, es.truth, ones), "ssim_noedit": M.hole_ssim(es.images, es.truth, ones),
        "l1_noedit": M.hole_l1(es.images, es.truth, ones),
        "leak": (diff * same).flatten(1).sum(1) / same.flatten(1).sum(1).clamp_min(1),
        "change": (true_change * (1 - same)).flatten(1).sum(1) / (1 - same).flatten(1).sum(1).clamp_min(1),
    }


def measure(G: Generator, es: EditSet, net=None, batch: int = 64) -> dict:
    """Edit ``es`` with ``G`` and measure every edit (see the module docstring).

    Returns dict of per-edit tensors (pixel measures, ``att_mean``/``att_std`` per image, speck counts
    for ``close_mouth`` sets) and, when an analysis network is available (``net`` or the release),
    the readings ``aus_edit``, ``aus_truth``, ``aus_input`` (N, 17), ``perceptual``,
    ``perceptual_noedit``, ``identity`` (edit vs input) and ``identity_truth`` (truth vs input),
    plus ``features``/``probs`` of edits and truth (for FID/IS). ``out`` holds the edits themselves.
    """
    res = edit(G, es.images, es.target, batch)
    out, att = res["image"], res["attention"]
    m: dict = {"out": out, "attention": att, **pixel_measures(out, es)}
    m["att_mean"] = att.flatten(1).mean(1)
    m["att_std"] = att.flatten(1).std(1)
    if es.kind == "close_mouth":
        region = mouth_region(es.truth_landmarks, es.images.shape[-1], es.landmarks)
        m["specks"] = speck_map(out, es.truth, region).flatten(1).sum(1).float()
        m["specks_input"] = speck_map(es.images, es.truth, region).flatten(1).sum(1).float()
        m["mouth_px"] = region.flatten(1).sum(1)
    net = analysis_net(net)
    if net is None:
        return m
    n = len(es)
    r = A.analyse(torch.cat([out, es.truth, es.images]), net, batch)
    m["aus_edit"], m["aus_truth"], m["aus_input"] = r["aus"][:n], r["aus"][n:2 * n], r["aus"][2 * n:]
    ident = r["identity"]
    m["identity"] = 1 - (ident[:n] * ident[2 * n:]).sum(1)
    m["identity_truth"] = 1 - (ident[n:2 * n] * ident[2 * n:]).sum(1)
    m["features"], m["features_truth"], m["features_input"] = r["features"][:n], r["features"][n:2 * n], r["features"][2 * n:]
    m["probs"] = r["expression_logits"][:n].softmax(1)
    m["probs_truth"] = r["expression_logits"][n:2 * n].softmax(1)
    m["smile_edit"], m["smile_truth"] = r["smiling_prob"][:n], r["smiling_prob"][n:2 * n]
    with torch.no_grad():
        m["perceptual"] = A.perceptual_distance(out, es.truth, net).cpu()
        m["perceptual_noedit"] = A.perceptual_distance(es.images, es.truth, net).cpu()
    m["threshold"] = net.meta.get("identity_threshold")
    return m


def _r(v, nd: int = 5):
    return round(float(v), nd)


def summarise(m: dict, es: EditSet) -> dict:
    """Flat numbers (means over the edits) from :func:`measure`'s output."""
    s = {"n": len(es)}
    for k in ("psnr", "ssim", "l1", "psnr_noedit", "ssim_noedit", "l1_noedit", "leak", "change"):
        s[k] = _r(m[k].mean())
    s.update({k: _r(v) for k, v in attention_stats(m["attention"]).items()})
    if "specks" in m:
        s["specks"] = _r(m["specks"].mean(), 3)
        s["specks_input"] = _r(m["specks_input"].mean(), 3)
        s["speck_share"] = _r(m["specks"].sum() / m["specks_input"].sum().clamp_min(1))
        s["speck_edits"] = _r((m["specks"] > 0).float().mean(), 4)
    if "aus_edit" in m:
        t = es.target.clamp(0, 3)
        err, err_t, err_i = ((m[k] - t).abs() for k in ("aus_edit", "aus_truth", "aus_input"))
        s["au_mae"], s["au_mae_truth"], s["au_mae_noedit"] = _r(err.mean()), _r(err_t.mean()), _r(err_i.mean())
        s["au_ratio"] = _r(err.mean() / err_t.mean().clamp_min(1e-6), 4)
        moved = (t - es.aus.clamp(0, 3)).abs() >= CHANGED        # the AUs this edit asks to move
        if bool(moved.any()):
            s["au_moved_share"] = _r(moved.float().mean(), 4)
            s["au_mae_moved"], s["au_mae_moved_truth"] = _r(err[moved].mean()), _r(err_t[moved].mean())
            s["au_mae_moved_noedit"] = _r(err_i[moved].mean())
            s["au_ratio_moved"] = _r(err[moved].mean() / err_t[moved].mean().clamp_min(1e-6), 4)
        s["perceptual"], s["perceptual_noedit"] = _r(m["perceptual"].mean()), _r(m["perceptual_noedit"].mean())
        s["identity_dist"], s["identity_dist_truth"] = _r(m["identity"].mean()), _r(m["identity_truth"].mean())
        if m.get("threshold") is not None:
            s["identity_same"] = _r((m["identity"] < m["threshold"]).float().mean(), 4)
            s["identity_same_truth"] = _r((m["identity_truth"] < m["threshold"]).float().mean(), 4)
        s["per_au"] = {f"AU{a:02d}": {"mae": _r(err[:, k].mean(), 4), "mae_truth": _r(err_t[:, k].mean(), 4)}
                       for k, a in enumerate(AUS)}
    return s


def distribution_scores(m: dict, floor: torch.Tensor, net) -> dict:
    """FID/KID (edits vs held-out real SynthFaces ``floor``) and IS, on analysis features, with yardsticks.

    ``fid_floor``: the truth of the same edits vs the same real set (what a perfect editor gets);
    ``fid_noedit``: the unedited inputs vs the real set (an editor that does nothing); ``is_truth``:
    the IS of the truth. The thesis' Inception numbers are not comparable with these.
    """
    fr = A.analyse(floor, net)["features"]
    k_subset = min(200, len(fr), len(m["features"]))
    kid, kid_std = dist.kid_from_features(fr, m["features"], subsets=50, subset_size=k_subset)
    splits = max(1, min(10, len(fr) // 50))
    return {"fid": _r(dist.frechet_distance(fr, m["features"]), 4),
            "fid_floor": _r(dist.frechet_distance(fr, m["features_truth"]), 4),
            "fid_noedit": _r(dist.frechet_distance(fr, m["features_input"]), 4),
            "kid": _r(kid, 6), "kid_std": _r(kid_std, 6),
            "is": _r(dist.inception_score_from_probs(m["probs"], splits)[0], 4),
            "is_truth": _r(dist.inception_score_from_probs(m["probs_truth"], splits)[0], 4),
            "extractor": f"analysis:{net.meta.get('release', 'AnalysisNet')}"}


# ----------------------------------------------------------------------------- the thesis' sweeps, measured
def run_sweep(G: Generator, es: EditSet, i: int, tg: torch.Tensor, net=None) -> dict:
    """Edit face ``i`` of ``es`` to each target of ``tg`` (T, 17) (:func:`helpers.ganimation.sweeps.sweep`,
    with the truths) and measure each step: ``psnr`` and ``mouth_psnr`` to the truth and, with a net,
    ``aus_edit``/``aus_truth`` and ``smile_edit``/``smile_truth`` read back."""
    T, size = len(tg), es.images.shape[-1]
    out = sweep(G, es, i, tg)
    ones = torch.ones(T, 1, size, size)
    mouth = torch.stack([torch.maximum(polygon_mask(lm[48:60], size), polygon_mask(es.landmarks[i, 48:60], size))
                         for lm in out["truth_landmarks"]])
    mouth = F.max_pool2d(mouth, 3, 1, 1)
    out["psnr"] = M.hole_psnr(out["edits"], out["truth"], ones)
    out["mouth_psnr"] = M.hole_psnr(out["edits"], out["truth"], mouth)
    if net is not None:
        r = A.analyse(torch.cat([out["edits"], out["truth"]]), net)
        out["aus_edit"], out["aus_truth"] = r["aus"][:T], r["aus"][T:]
        out["smile_edit"], out["smile_truth"] = r["smiling_prob"][:T], r["smiling_prob"][T:]
    return out


def _spearman(y: np.ndarray) -> float:
    x = np.arange(len(y))
    ry = np.argsort(np.argsort(y))
    if np.std(ry) == 0:
        return 0.0
    return float(np.corrcoef(x, ry)[0, 1])


def _mean(rows: list[dict], key: str) -> list[float]:
    return [round(float(v), 4) for v in torch.stack([r[key] for r in rows]).mean(0)]


def joint_effects(G: Generator, es: EditSet, faces=range(8), net=None) -> dict:
    """The thesis' three sweeps on ``faces`` of ``es``, averaged per step (JSON-able numbers).

    ``synergy``/``competition``/``single25``: per step PSNR and mouth PSNR to the truth and, with a
    net, the smile probability and the swept AUs read back from edit and truth, and the mean
    Spearman correlation of the edit's smile probability with the step (synergy: should be ~1).
    ``intensity``: happiness and surprise at 0.5 .. 3.0: PSNR to the truth and AU read-back error
    of edit and truth per intensity.
    """
    out: dict = {"faces": list(faces)}
    sweeps = {"synergy": synergy_targets, "competition": competition_targets, "single25": single_targets}
    for name, fn in sweeps.items():
        rows = [run_sweep(G, es, i, fn(es.aus[i].numpy()), net) for i in faces]
        d = {"psnr": _mean(rows, "psnr"), "mouth_psnr": _mean(rows, "mouth_psnr")}
        if net is not None:
            d["smile_edit"], d["smile_truth"] = _mean(rows, "smile_edit"), _mean(rows, "smile_truth")
            d["smile_monotonic"] = round(float(np.mean([_spearman(r["smile_edit"].numpy()) for r in rows])), 4)
            swept = sorted(SYNERGY if name == "synergy" else COMPETITION if name == "competition" else {25: 0})
            for au in swept:
                k = au_index(au)
                d[f"AU{au:02d}_edit"] = [round(float(v), 4) for v in torch.stack([r["aus_edit"][:, k] for r in rows]).mean(0)]
                d[f"AU{au:02d}_truth"] = [round(float(v), 4) for v in torch.stack([r["aus_truth"][:, k] for r in rows]).mean(0)]
        out[name] = d
    inten = {}
    for expr in ("happiness", "surprise"):
        tg = intensity_targets(expr)
        rows = [run_sweep(G, es, i, tg, net) for i in faces]
        d = {"intensity": list(INTENSITIES), "psnr": _mean(rows, "psnr")}
        if net is not None:
            t = tg.clamp(0, 3)
            d["au_mae_edit"] = [round(float(v), 4) for v in torch.stack([(r["aus_edit"] - t).abs().mean(1) for r in rows]).mean(0)]
            d["au_mae_truth"] = [round(float(v), 4) for v in torch.stack([(r["aus_truth"] - t).abs().mean(1) for r in rows]).mean(0)]
        inten[expr] = d
    out["intensity"] = inten
    return out


def evaluate(G: Generator, size: int, net=None, sizes: dict | None = None, progress: bool = False) -> dict:
    """Everything a release stores: the truth-based measures per kind, presets, specks, FID/IS.

    ``sizes`` overrides :data:`EVAL_SIZES`. Without an analysis network (not released yet) only the
    pixel and attention measures are computed.
    """
    sizes = {**EVAL_SIZES, **(sizes or {})}
    net = analysis_net(net)
    out: dict = {"analysis": analysis_info(net), "sizes": sizes}
    for kind in EDIT_KINDS:
        es = edit_set(kind, sizes[kind], size, progress=progress)
        m = measure(G, es, net)
        out[kind] = summarise(m, es)
        if kind == "presets" and "aus_edit" in m:
            out["presets"]["per_preset"] = _per_preset(m, es)
        if kind == "random" and net is not None:
            floor = edit_set("random", sizes["floor"], size, seed=TEST_SEED + 1, progress=progress).truth
            out["distribution"] = distribution_scores(m, floor, net)
    k = sizes["effects"]
    out["effects"] = joint_effects(G, edit_set("random", EFFECT_FACES, size), range(k), net)
    return out


def _per_preset(m: dict, es: EditSet) -> dict:
    t = es.target.clamp(0, 3)
    err, err_t = (m["aus_edit"] - t).abs(), (m["aus_truth"] - t).abs()
    out = {}
    for name in EXPRESSION_NAMES:
        rows = [i for i, lab in enumerate(es.labels) if lab == name]
        if rows:
            out[name] = {"au_mae": _r(err[rows].mean(), 4), "au_mae_truth": _r(err_t[rows].mean(), 4),
                         "psnr": _r(m["psnr"][rows].mean(), 3), "psnr_noedit": _r(m["psnr_noedit"][rows].mean(), 3)}
    return out


def check_measures(G: Generator, size: int, net=None) -> dict:
    """The small fixed check a test recomputes from the stored weights (``CHECK_N`` random edits)."""
    es = edit_set("random", CHECK_N, size)
    net = analysis_net(net)
    m = measure(G, es, net)
    s = summarise(m, es)
    keep = ("psnr", "ssim", "leak", "att_mean", "att_std", "au_mae", "identity_dist", "perceptual")
    return {"n": CHECK_N, **{k: s[k] for k in keep if k in s}, "analysis": analysis_info(net).get("sha256")}


def curve_measures(G: Generator, es: EditSet) -> dict:
    """The measures of the training curve (pixel and attention only: no analysis network needed)."""
    res = edit(G, es.images, es.target)
    px = pixel_measures(res["image"], es)
    st = attention_stats(res["attention"])
    return {"test_psnr": _r(px["psnr"].mean(), 4), "test_psnr_noedit": _r(px["psnr_noedit"].mean(), 4),
            "test_ssim": _r(px["ssim"].mean(), 4), "test_leak": _r(px["leak"].mean(), 5),
            **{f"test_{k}": _r(v) for k, v in st.items()}}
