"""Measuring GLCIC completions for the GLCIC course study: baselines, measures, curves, claims.

The GLCIC course study compared a random-hole model with a mouth-hole model by (a) a blind survey
(:mod:`helpers.glcic.survey`) and (b) OpenCV feature-point matching between each completion and the
original on 10 test images, every 80,000 iterations. This module adds what the seed lacked:
PSNR/SSIM/L1 inside the hole (:mod:`helpers.core.metrics`), three hole types, two baselines, what
the analysis network reads in the completed face, and a table "study's claim -> measured -> reproduced?".

Everything works with plain callables ``complete_fn(images, masks) -> completed`` (NCHW in
[-1, 1], masks (N,1,H,W) with 1 = hole), so a trained GLCIC model, a baseline or any other
inpainting method are evaluated the same way. ``complete_fn`` receives the images with the hole
pixels set to 0 (mid-grey): the truth inside the hole never reaches the method being measured.
The fixed test sets it is measured on are :mod:`helpers.glcic.data`'s (:func:`~helpers.glcic.data.make_testset`);
the figures of the notebook are :mod:`helpers.glcic.figures`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import cv2
import numpy as np
import pandas as pd
import torch
from helpers.core.runtime import bar as tqdm

from helpers.core import metrics, release, runtime
from helpers.core.checkpoint import checkpoint_step, load_models
from helpers.core.distribution import frechet_distance, kid_from_features
from helpers.faces import detect, landmarks as L
from helpers.faces.analysis import analyse, load as load_analysis
from helpers.core.images import to_tensor, to_uint8
from helpers.glcic.data import TestSet, testsets_for
from helpers.glcic.model import CompletionNet, Config, complete

MEASURES = ("psnr", "ssim", "l1", "orb", "sift")
#: what a finished picture must not show: a box edge on the hole border, a grid inside (excess over the truth)
ARTEFACTS = ("seam", "checker")
#: higher is better for these measures; lower is better for the others
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "l1": False, "orb": False, "sift": False, "akaze": False,
                    "seam": False, "checker": False}
CompleteFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- baselines
def _check(images: torch.Tensor, masks: torch.Tensor) -> None:
    metrics.check_pair(images, images, masks)


def mean_fill(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Baseline: fill each hole with the mean colour of that image's known pixels."""
    _check(images, masks)
    known = 1 - masks
    mean = (images * known).flatten(2).sum(2) / known.flatten(2).sum(2).clamp_min(1)   # (N,3)
    return torch.where(masks.bool(), mean[:, :, None, None].expand_as(images), images)


def telea(images: torch.Tensor, masks: torch.Tensor, radius: int = 5) -> torch.Tensor:
    """Baseline: OpenCV ``cv2.inpaint`` with Telea's fast-marching method (known pixels kept exactly)."""
    _check(images, masks)
    imgs = to_uint8(images)
    out = []
    for i in range(len(imgs)):
        m = (masks[i, 0].cpu().numpy() > 0.5).astype(np.uint8)
        out.append(to_tensor(cv2.inpaint(np.ascontiguousarray(imgs[i]), m, radius, cv2.INPAINT_TELEA)))
    out = torch.stack(out).to(images.dtype)
    return torch.where(masks.bool(), out, images)


BASELINES: dict[str, CompleteFn] = {"mean fill": mean_fill, "Telea": telea}


def model_fn(model, blend: str = "paste") -> CompleteFn:
    """Wrap a GLCIC completion network as a ``complete_fn`` (:func:`helpers.glcic.model.complete`;
    ``blend`` = "paste" | "poisson" | "fmm+poisson", the paper's post-processing)."""
    return lambda images, masks: complete(model, images, masks, blend=blend)


# ----------------------------------------------------------------------------- evaluation
def evaluate(complete_fn: CompleteFn, testset: TestSet, features=("orb", "sift"), **feature_kw) -> pd.DataFrame:
    """Run ``complete_fn`` on ``testset`` and measure every image.

    Returns one row per image with ``psnr`` (dB), ``ssim``, ``l1`` (all inside the hole, see
    :mod:`helpers.metrics`) and one column per feature method (mean descriptor distance of
    cross-checked matches in and around the hole; smaller = more similar), ``seam`` and ``checker``
    (:func:`helpers.core.metrics.seam_energy` / ``checker_energy`` of the completion minus the
    truth's, grey levels: 0 = as smooth as the real face, > 0 = a visible box edge or grid), ``known_diff``:
    the largest change the method made to a known pixel (0 for a method that keeps them).
    """
    if not isinstance(testset, TestSet):
        raise ValueError(f"testset must be a TestSet (make_testset), got {type(testset).__name__}")
    with torch.no_grad():
        out = complete_fn(testset.inputs(), testset.masks)
    if not torch.is_tensor(out) or out.shape != testset.images.shape:
        raise ValueError(f"complete_fn must return a tensor of shape {tuple(testset.images.shape)}, "
                         f"got {getattr(out, 'shape', type(out))}")
    out = out.detach().float().cpu().clamp(-1, 1)
    truth, masks = testset.images, testset.masks
    df = pd.DataFrame({
        "image": np.arange(len(testset)),
        "psnr": metrics.hole_psnr(out, truth, masks).numpy(),
        "ssim": metrics.hole_ssim(out, truth, masks).numpy(),
        "l1": metrics.hole_l1(out, truth, masks).numpy(),
    })
    for f in features:
        df[f] = metrics.feature_distances(out, truth, masks, f, **feature_kw)
    df["seam"] = metrics.seam_energy(out, masks) - metrics.seam_energy(truth, masks)
    df["checker"] = metrics.checker_energy(out, masks) - metrics.checker_energy(truth, masks)
    df["known_diff"] = ((out - testset.inputs()).abs() * (1 - masks)).flatten(1).amax(1).numpy()
    return df


def compare(methods: Mapping[str, CompleteFn], testsets: Mapping[str, TestSet], features=("orb", "sift"),
            progress: bool = True) -> pd.DataFrame:
    """Mean of every measure for every method x hole kind -> long table.

    Columns: ``method``, ``holes``, ``n`` and one column per measure (means over the images;
    PSNR averages finite values only).
    """
    rows = []
    jobs = [(m, h) for h in testsets for m in methods]
    for m, h in tqdm(jobs, desc="evaluate", disable=not progress):
        df = evaluate(methods[m], testsets[h], features)
        row = {"method": m, "holes": h, "n": len(df)}
        for col in ["psnr", "ssim", "l1", *features]:
            v = df[col].replace([np.inf, -np.inf], np.nan)
            row[col] = float(v.mean())
        rows.append(row)
    return pd.DataFrame(rows)


def margins(table: pd.DataFrame, models, baselines, holes: str = "mouth",
            measures=("psnr", "ssim")) -> pd.DataFrame:
    """How much each model beats each baseline on ``holes`` (positive = model better).

    One row per (model, baseline, measure): model value, baseline value, ``margin`` (model minus
    baseline for higher-is-better measures, baseline minus model otherwise) and ``beats``.
    """
    t = table[table["holes"] == holes].set_index("method")
    rows = []
    for m in models:
        for b in baselines:
            for meas in measures:
                mv, bv = float(t.loc[m, meas]), float(t.loc[b, meas])
                d = mv - bv if HIGHER_IS_BETTER[meas] else bv - mv
                rows.append({"model": m, "baseline": b, "measure": meas, "model_value": mv,
                             "baseline_value": bv, "margin": d, "beats": bool(d > 0)})
    return pd.DataFrame(rows)


def pivot(table: pd.DataFrame, measures=MEASURES) -> pd.DataFrame:
    """Wide view: rows = method, columns = (holes, measure)."""
    cols = [c for c in measures if c in table.columns]
    return table.pivot(index="method", columns="holes", values=cols).swaplevel(0, 1, axis=1).sort_index(axis=1)


# ----------------------------------------------------------------------------- what the face shows
FACE_MEASURES = ("nme_mouth", "smiling_bacc", "smiling_err", "fid", "kid")


def _dlib_mouth_nme(done: torch.Tensor, truth: torch.Tensor, boxes_from: torch.Tensor) -> np.ndarray:
    """Per image: dlib's 68 points on ``done`` vs on ``truth`` (same face box, from the annotated
    landmarks ``boxes_from``), mean mouth-point distance / inter-ocular distance of the truth reading."""
    out = []
    for d, t, lm in zip(to_uint8(done), to_uint8(truth), boxes_from.numpy()):
        x0, y0 = lm.min(0)
        x1, y1 = lm.max(0)
        box = (int(x0), int(y0), int(np.ceil(x1)) + 1, int(np.ceil(y1)) + 1)
        pd_, pt = detect.landmarks68(d, box), detect.landmarks68(t, box)
        iod = float(L.inter_ocular(torch.as_tensor(pt)))
        out.append(float(np.linalg.norm(pd_[list(L.MOUTH)] - pt[list(L.MOUTH)], axis=1).mean() / max(iod, 1e-6)))
    return np.array(out)


def face_measures(complete_fn: CompleteFn, testset: TestSet, reader: str = "analysis", net=None) -> dict:
    """What a face reader sees in the completed faces against the truth: does the hole hold a mouth?

    ``reader="analysis"`` (SynthFaces; :mod:`helpers.faces.analysis`): ``nme_mouth`` = mean distance of
    the 20 mouth landmarks read from the completion to those read from the unmasked truth, over the
    truth's inter-ocular distance; ``smiling_agree`` = share of faces whose smiling reading
    (P >= 0.5) equals the truth's; ``smiling_err`` = mean |P(completion) - P(truth)|; ``fid``/``kid``
    = Fréchet / kernel inception distance of completed vs true faces in the analysis network's
    feature space (offline, SynthFaces-specific; with few faces FID is biased upwards, so compare
    methods at the same n only). ``reader="dlib"`` (real photos, which the analysis network never
    saw): ``nme_mouth`` only, dlib's 68 points on completion and truth inside the face box of the
    folder's annotated landmarks (needs ``testset.landmarks`` and the faces extra).
    """
    if reader not in ("analysis", "dlib"):
        raise ValueError(f"reader must be 'analysis' or 'dlib', got {reader!r}")
    with torch.no_grad():
        done = complete_fn(testset.inputs(), testset.masks).detach().float().cpu().clamp(-1, 1)
    truth = testset.images
    if reader == "dlib":
        if testset.landmarks is None:
            raise ValueError("reader='dlib' needs a test set with annotated landmarks (a face folder with x0..y67)")
        return {"nme_mouth": float(np.mean(_dlib_mouth_nme(done, truth, testset.landmarks)))}
    net = net or load_analysis()
    a, b = analyse(done, net), analyse(truth, net)
    lm_a, lm_b = a["landmarks"].double(), b["landmarks"].double()
    mouth = list(L.MOUTH)
    nme = ((lm_a[:, mouth] - lm_b[:, mouth]).norm(dim=-1).mean(1) / L.inter_ocular(lm_b)).mean()
    fa, fb = a["features"].double().numpy(), b["features"].double().numpy()
    n = len(fa)
    sa, sb = a["smiling_prob"] >= 0.5, b["smiling_prob"] >= 0.5
    bacc = np.nanmean([float((sa[sb == v] == v).double().mean()) if (sb == v).any() else np.nan for v in (True, False)])
    return {"nme_mouth": float(nme), "smiling_bacc": float(bacc),
            "smiling_err": float((a["smiling_prob"] - b["smiling_prob"]).abs().mean()),
            "fid": float(frechet_distance(fb, fa)) if n >= 10 else float("nan"),
            "kid": float(kid_from_features(fb, fa, subsets=50, subset_size=min(1000, n))[0]) if n >= 4 else float("nan")}


# ----------------------------------------------------------------------------- a model's numbers
def face_reader(cfg: Config) -> str | None:
    """The face reader for a run's data: the analysis network on SynthFaces, dlib on a face folder
    (when the faces extra is installed), none for toy images."""
    if cfg.data == "synthfaces":
        return "analysis"
    if cfg.data == "toy":
        return None
    return "dlib" if detect.available() else None


def _means(complete_fn: CompleteFn, testsets: Mapping[str, TestSet], features, prefix: str = "",
           reader: str | None = None) -> dict:
    out = {}
    for name, ts in testsets.items():
        df = evaluate(complete_fn, ts, features)
        for col in ("psnr", "ssim", "l1", *features, "seam", "checker"):
            out[f"{prefix}{name}_{col}"] = float(df[col].replace([np.inf, -np.inf], np.nan).mean())
        if reader is not None and (reader == "analysis" or ts.landmarks is not None):
            for k, v in face_measures(complete_fn, ts, reader).items():
                out[f"{prefix}{name}_{k}"] = v
    return out


def measure(model: CompletionNet, cfg: Config, n: int = 64, features=("orb", "sift"), faces: bool = False,
            blend: str = "paste", prefix: str = "") -> dict:
    """Means of every measure of ``model`` on the run's fixed test sets (:func:`testsets_for`).

    Keys ``mouth_psnr``, ``mouth_ssim``, ``mouth_l1``, ``mouth_orb``, ``mouth_sift`` and the same
    with ``random_``; with ``faces=True`` also :func:`face_measures` (``mouth_nme_mouth``,
    ``mouth_smiling_bacc`` ...; the reader of :func:`face_reader`). Draws no random numbers, so
    calling it during training (the study's curve) leaves a resumed run bit-identical. ``blend``
    picks the post-processing (:func:`helpers.glcic.model.complete`), ``prefix`` starts every key.
    """
    return _means(model_fn(model, blend), testsets_for(cfg, n), tuple(features), prefix,
                  reader=face_reader(cfg) if faces else None)


def baseline_measures(cfg: Config, n: int = 64, features=("orb", "sift"), faces: bool = False) -> dict:
    """Mean fill and OpenCV Telea on the same test sets (keys ``meanfill_*``, ``telea_*``)."""
    sets = testsets_for(cfg, n)
    reader = face_reader(cfg) if faces else None
    return {**_means(mean_fill, sets, tuple(features), "meanfill_", reader),
            **_means(telea, sets, tuple(features), "telea_", reader)}


# ----------------------------------------------------------------------------- curves
def checkpoint_steps(run_path) -> list[tuple[int, Path]]:
    """(step, file) of the checkpoints stored in a run directory, oldest first."""
    run_path = Path(run_path)
    if not run_path.is_dir():
        raise ValueError(f"no run directory at {run_path}")
    return sorted((checkpoint_step(p), p) for p in run_path.glob("ckpt-*.pt"))


def load_checkpoint_model(path, model: torch.nn.Module, key: str | None = None) -> torch.nn.Module:
    """Load the weights of ``model`` from a RunDir checkpoint file (``weights_only``: nothing executes).

    ``key`` names the model inside the checkpoint (default ``"C"``, the completion network).
    """
    load_models(path, {key or "C": model})
    return model


def checkpoint_curve(run_path, make_model: Callable[[], torch.nn.Module], testset: TestSet,
                     features=("orb", "sift"), key: str | None = None, progress: bool = False) -> pd.DataFrame:
    """The study's curve: evaluate every stored checkpoint of a run on ``testset``.

    The seed measured its feature-matching similarity every 80,000 iterations; here every checkpoint
    the run directory holds is one point (``RunDir(every_steps=K, keep_last=...)`` decides K and how
    many survive). Returns one row per step with the mean of each measure.
    """
    rows = []
    for step, path in tqdm(checkpoint_steps(run_path), desc="checkpoints", disable=not progress):
        model = load_checkpoint_model(path, make_model(), key)
        df = evaluate(model_fn(model), testset, features)
        rows.append({"step": step, **{c: float(df[c].replace([np.inf], np.nan).mean())
                                      for c in ["psnr", "ssim", "l1", *features]}})
    return pd.DataFrame(rows)


def slope(curve: pd.DataFrame, measure: str, last: int = 3) -> float:
    """Least-squares slope of ``measure`` per 1000 steps over the ``last`` points of a curve."""
    c = curve.sort_values("step").tail(last)
    if len(c) < 2:
        return float("nan")
    return float(np.polyfit(c["step"] / 1000.0, c[measure], 1)[0])


# ----------------------------------------------------------------------------- study's claims
def claims_table(table: pd.DataFrame, survey_summary: dict | None = None, curves: Mapping[str, pd.DataFrame] | None = None,
                 models=("random", "mouth"), survey_simulated: bool = True, features=("orb", "sift")) -> pd.DataFrame:
    """The GLCIC course study's claims next to what we measured: ``claim``, ``seed``, ``measured``, ``reproduced``, ``why``.

    ``table`` is :func:`compare`'s output with methods named ``models`` (random-hole model first)
    and baselines; ``survey_summary`` from :func:`helpers.survey.aggregate`; ``curves`` maps model
    name -> :func:`checkpoint_curve` / :func:`curve_by_training`. ``survey_simulated`` marks answers
    given by a scripted respondent (not people), which cannot reproduce a claim about people.
    """
    r, m = models
    t = table[table["holes"] == "mouth"].set_index("method")
    features = [f for f in features if f in t.columns]
    rows = []

    def verdict(ok, extra=""):
        return ("yes" if ok else "no") + (f" ({extra})" if extra else "")

    if survey_summary is not None:
        won = survey_summary
        ok = won["mouth"] > won["random"]
        rows.append({"claim": "survey: mouth-trained model wins more questions",
                     "paper": "320k: random 2 / mouth 7 / tie 1; 400k: random 3 / mouth 7 / tie 0",
                     "measured": f"random {won['random']} / mouth {won['mouth']} / tie {won['tie']}, "
                                 f"mean score {won['mean_score']:.2f} (>3 = mouth better)",
                     "reproduced": "n/a (scripted respondent, not people)" if survey_simulated else verdict(ok),
                     "why": ("the scripted respondent only echoes the hole L1; ask people" if survey_simulated
                             else f"{won['n_answers']} answers to {won['n_questions']} questions")})
    for f in features:
        dr, dm = float(t.loc[r, f]), float(t.loc[m, f])
        rows.append({"claim": f"feature matching ({f.upper()}): mouth-trained completions are more similar",
                     "paper": "mouth-trained tends to have the smaller similarity value",
                     "measured": f"random {dr:.1f}, mouth {dm:.1f} (smaller = more similar)",
                     "reproduced": verdict(dm < dr),
                     "why": ("the mouth model fills the one box it was trained on; a blurry fill has "
                             "fewer, worse-matching keypoints") if dm < dr else
                            "feature distances reward sharp edges more than correct content"})
    for meas in ("psnr", "ssim", "l1"):
        vr, vm = float(t.loc[r, meas]), float(t.loc[m, meas])
        better = vm > vr if HIGHER_IS_BETTER[meas] else vm < vr
        rows.append({"claim": f"(not measured by the study) mouth-hole {meas.upper()}: mouth-trained better",
                     "paper": "-", "measured": f"random {vr:.3f}, mouth {vm:.3f}", "reproduced": verdict(better),
                     "why": "same data and budget; only the hole sampler differs"})
    if curves is not None and r in curves and m in curves:
        f = features[0] if features else "psnr"
        sr, sm = slope(curves[r], f), slope(curves[m], f)
        pr = slope(curves[r], "psnr") if "psnr" in curves[r] else float("nan")
        improving = sr < 0 if not HIGHER_IS_BETTER.get(f) else sr > 0
        rows.append({"claim": "random-trained model is still improving (its curve still moves the right way)",
                     "paper": "random-trained similarity expected to keep improving",
                     "measured": f"{f.upper()} slope over the last 3 points: random {sr:+.2f}, mouth {sm:+.2f} "
                                 f"per 1k steps; random PSNR slope {pr:+.2f} dB per 1k steps",
                     "reproduced": verdict(improving),
                     "why": "short demo runs: the curve is noisy; extend the runs (exercise 5) to decide"})
    gap = abs(float(t.loc[m, "psnr"]) - float(t.loc[r, "psnr"]))
    rows.append({"claim": "the gap between the two models is small",
                 "paper": "both low quality, small difference",
                 "measured": f"mouth-hole PSNR gap {gap:.2f} dB",
                 "reproduced": verdict(gap < 1.0, "small = under 1 dB"),
                 "why": ("SynthFaces put every mouth at the same place, which favours the specialist"
                         if gap >= 1.0 else "both models learned about the same")})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- released curves
#: the committed demo releases (``python -m helpers.glcic train --profile demo --set holes=H --release ...``)
DEMO_RELEASES = {"random": "glcic_random64_v3", "mouth": "glcic_mouth64_v3"}
#: the same demo settings with the paper's transposed convolutions (before the checkerboard fix)
DECONV_RELEASES = {"random": "glcic_random64_v2", "mouth": "glcic_mouth64_v2"}
#: releases with the paper's settings (random real patches, 3,000 steps): what the diagnosis changes
FIRST_DEMO_RELEASES = {"random": "glcic_random64", "mouth": "glcic_mouth64"}
#: the same experiment on real photos (300-W crops, ``data_scripts.crop mouth``, the GLCIC course study's 428 train)
REAL_RELEASES = {"random": "glcic_real_random64_v2", "mouth": "glcic_real_mouth64_v2"}


def release_curve(name: str, holes: str = "mouth", directory=None) -> pd.DataFrame:
    """The study's curve of one release, as recorded by its training command.

    Training measures the completion network every ``eval_every`` steps on the first ``eval_n``
    images of the fixed test sets (:func:`make_testset`, mouth and random holes) and
    :func:`helpers.glcic.train.release` stores those rows in the manifest's ``curve``.
    Returns columns ``step`` and ``psnr``, ``ssim``, ``l1``, ``orb``, ``sift`` for ``holes``.
    """
    if holes not in ("mouth", "random"):
        raise ValueError(f"holes must be 'mouth' or 'random', got {holes!r}")
    rows = release.read_manifest(name, directory or runtime.CHECKPOINT_DIR).get("curve")
    if not rows:
        raise ValueError(f"release {name!r} has no recorded curve (retrain it with the committed command)")
    df = pd.DataFrame(rows)
    cols = {f"{holes}_{m}": m for m in MEASURES if f"{holes}_{m}" in df.columns}
    return df[["step", *cols]].rename(columns=cols).sort_values("step").reset_index(drop=True)


def demo_curves(holes: str = "mouth", directory=None, releases: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """``{"random": curve, "mouth": curve}`` of the two demo releases (:func:`release_curve`)."""
    return {k: release_curve(v, holes, directory) for k, v in (releases or DEMO_RELEASES).items()}


def release_table(releases: Mapping[str, str] | None = None, directory=None) -> pd.DataFrame:
    """The metrics recorded in release manifests, in :func:`compare`'s long format.

    Rows: each model (named by the keys of ``releases``, default :data:`DEMO_RELEASES`) and the
    baselines ``mean fill`` / ``Telea`` (stored with the first release) x hole kinds ``mouth`` and
    ``random``; columns ``method``, ``holes``, ``n`` and the measures. The numbers are what
    ``python -m helpers.glcic train ... --release NAME`` measured on the first 64 test images.
    """
    releases = dict(releases or DEMO_RELEASES)
    full = {k: release.read_manifest(v, directory or runtime.CHECKPOINT_DIR) for k, v in releases.items()}
    mans = {k: m["metrics"] for k, m in full.items()}
    first = next(iter(mans.values()))
    synth = next(iter(full.values()))["config"].get("data") == "synthfaces"
    n = first.get("n_test", 64 if synth else None)
    sources = [(k, m, "") for k, m in mans.items()] + [("mean fill", first, "meanfill_"), ("Telea", first, "telea_")]
    rows = []
    for method, met, prefix in sources:
        for holes in ("mouth", "random"):
            if f"{prefix}{holes}_psnr" not in met:
                raise ValueError(f"release metrics lack {prefix}{holes}_psnr (retrain with the committed command)")
            rows.append({"method": method, "holes": holes, "n": n,
                         **{m: float(met[f"{prefix}{holes}_{m}"]) for m in MEASURES + FACE_MEASURES + ARTEFACTS
                            if f"{prefix}{holes}_{m}" in met}})
    return pd.DataFrame(rows)


#: manifest key prefix of each post-processing (:func:`helpers.glcic.train.release` measures all three)
BLEND_PREFIX = {"paste": "", "poisson": "poisson_", "fmm+poisson": "fmm_poisson_"}


def blend_table(releases: Mapping[str, str] | None = None, holes: str = "mouth", directory=None,
                measures=("psnr", "ssim", "nme_mouth", "seam", "checker")) -> pd.DataFrame:
    """Each release x post-processing (paste, Poisson alone, fast marching + Poisson) on ``holes``:
    the measures its training command recorded (rows ``(model, blend)``). Telea and mean fill are
    added for scale. Releases made before the post-processing was measured raise ``ValueError``."""
    releases = dict(releases or DEMO_RELEASES)
    rows = []
    for k, name in releases.items():
        met = release.read_manifest(name, directory or runtime.CHECKPOINT_DIR)["metrics"]
        for blend, prefix in BLEND_PREFIX.items():
            if f"{prefix}{holes}_psnr" not in met:
                raise ValueError(f"{name} has no {blend} measures (made before they were recorded: retrain it)")
            rows.append({"model": k, "blend": blend,
                         **{m: met.get(f"{prefix}{holes}_{m}", np.nan) for m in measures}})
    for b, prefix in (("Telea", "telea_"), ("mean fill", "meanfill_")):
        rows.append({"model": b, "blend": "-", **{m: met.get(f"{prefix}{holes}_{m}", np.nan) for m in measures}})
    return pd.DataFrame(rows).set_index(["model", "blend"])


def blend_findings(table: pd.DataFrame, model: str = "mouth") -> list[str]:
    """Sentences from :func:`blend_table` for one model: what each post-processing does to the hole."""
    t = table.loc[model]
    p, po, fp = t.loc["paste"], t.loc["poisson"], t.loc["fmm+poisson"]
    out = [f"Pasted, the {model} model's completions have {p['seam']:+.2f} grey levels of extra gradient on the hole "
           f"border (the box) and {p['psnr']:.2f} dB in the hole."]
    out.append(f"Poisson blending straight into the input, whose hole is flat grey, is worse: {po['psnr']:.2f} dB and "
               f"{po['seam']:+.2f} on the border — OpenCV reads the input's gradient where the region meets the grey "
               f"hole, and that rim of grey bleeds into the completion.")
    verdict = "better" if fp["psnr"] > p["psnr"] else "worse"
    out.append(f"Fast marching first, then Poisson (the paper's order): {fp['psnr']:.2f} dB ({verdict} than pasting), "
               f"border {fp['seam']:+.2f} (0 = as smooth as the real face), mouth-landmark error "
               f"{fp['nme_mouth']:.4f} vs {p['nme_mouth']:.4f} pasted.")
    return out


def claims_by_data(claims: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Side by side: ``{"SynthFaces": claims_table(...), "real faces": claims_table(...)}`` ->
    one row per claim, one ``measured`` and one ``reproduced`` column per data set."""
    parts = []
    for name, t in claims.items():
        parts.append(t.set_index("claim")[["paper", "measured", "reproduced"]]
                     .rename(columns={"measured": f"{name}: measured", "reproduced": f"{name}: reproduced"}))
    out = parts[0]
    for p_ in parts[1:]:
        out = out.join(p_.drop(columns="paper"), how="outer")
    return out.reset_index()


# ----------------------------------------------------------------------------- findings
def findings(rel_table: pd.DataFrame, table: pd.DataFrame, curves: Mapping[str, pd.DataFrame],
             manifests: Mapping[str, dict], n_test: int, profile: str = "quick") -> list[str]:
    """What the reproduction found, as sentences built only from measured numbers.

    ``rel_table``: :func:`release_table` (the manifests' 64 test faces); ``table``: this notebook's
    :func:`compare` (``n_test`` faces, also face-mask holes); ``curves``: :func:`demo_curves`;
    ``manifests``: ``{"random": manifest, "mouth": manifest}`` of the two releases.
    """
    R = rel_table.set_index(["method", "holes"])
    T = table.set_index(["method", "holes"])

    def v(t, m, h, k):
        return float(t.loc[(m, h), k])

    def path(c, k, fmt="{:.1f}"):
        return " → ".join(fmt.format(x) for x in c[k])

    gap = {k: v(R, "mouth", "mouth", k) - v(R, "random", "mouth", k) for k in ("psnr", "ssim")}
    feat_mouth = all(v(R, "mouth", "mouth", k) < v(R, "random", "mouth", k) for k in ("orb", "sift"))
    mg = margins(rel_table, ["random", "mouth"], ["mean fill", "Telea"], holes="mouth")
    short = mg[~mg["beats"]]
    cfg = manifests["mouth"]["config"]
    c_r, c_m = curves["random"], curves["mouth"]
    favour = ", ".join(f"{k.upper()} favours the "
                       f"{'mouth' if v(R, 'mouth', 'mouth', k) < v(R, 'random', 'mouth', k) else 'random'} model"
                       for k in ("orb", "sift"))
    out = [
        f"**Training.** Both demo models: {manifests['mouth']['metrics']['steps']:,} steps on the same "
        f"{cfg['size']} px SynthFaces; training {manifests['random']['train_seconds'] / 60:.1f} (random) and "
        f"{manifests['mouth']['train_seconds'] / 60:.1f} (mouth) minutes.",
        f"1. **Mouth holes: the mouth-trained model {'wins' if gap['psnr'] > 0 else 'loses'}** by "
        f"{gap['psnr']:+.2f} dB PSNR and {gap['ssim']:+.3f} SSIM over the random-trained model; ORB/SIFT "
        f"distances: random {v(R, 'random', 'mouth', 'orb'):.1f}/{v(R, 'random', 'mouth', 'sift'):.1f}, mouth "
        f"{v(R, 'mouth', 'mouth', 'orb'):.1f}/{v(R, 'mouth', 'mouth', 'sift'):.1f} (smaller = more similar; "
        f"{favour}{': the seed’s direction' if feat_mouth else ': the seed’s measure does not agree with itself here'}). "
        "On SynthFaces the mouth always sits at the lower centre, so the specialist has a much easier job "
        "than a model that must fill any box.",
        f"2. **Specialisation has a price.** On random holes: random model {v(R, 'random', 'random', 'psnr'):.2f} dB, "
        f"mouth model {v(R, 'mouth', 'random', 'psnr'):.2f} dB, mean fill {v(R, 'mean fill', 'random', 'psnr'):.2f} dB, "
        f"Telea {v(R, 'Telea', 'random', 'psnr'):.2f} dB.",
        "3. **Baselines (mouth holes, 64 faces):** "
        + "; ".join(f"{r.model} vs {r.baseline} {r.measure.upper()} {r.margin:+.3f}" for _, r in mg.iterrows()) + ". "
        + ("Both models beat both baselines on PSNR and SSIM." if short.empty else
           f"**Not met:** {len(short)} of {len(mg)} comparisons fail."),
        f"4. **The feature-matching similarity along training** (mouth holes, steps "
        f"{', '.join(str(int(s_)) for s_ in c_m['step'])}): random model ORB {path(c_r, 'orb')}, PSNR "
        f"{path(c_r, 'psnr')} dB; mouth model ORB {path(c_m, 'orb')}, PSNR {path(c_m, 'psnr')} dB. "
        f"Slope over the last 3 points (per 1k steps): random ORB {slope(c_r, 'orb'):+.2f}, PSNR "
        f"{slope(c_r, 'psnr'):+.2f} dB. "
        + " ".join(f"The {h} model's mouth-hole PSNR peaked at {c['psnr'].max():.2f} dB (step "
                   f"{int(c.loc[c['psnr'].idxmax(), 'step'])}) and ended at {c['psnr'].iloc[-1]:.2f} dB."
                   for h, c in curves.items())
        + f" The joint adversarial phase starts at step {cfg['steps_c'] + cfg['steps_d']:,}.",
        "5. **The measure depends on choices the seed did not state** (detector, image size, region, what to do "
        "with no keypoints). They are fixed in `metrics.feature_match`; with the whole image as region (the "
        "likely seed variant) most matches come from pixels that were never missing.",
        "6. **The survey here is a pipeline test** when a scripted respondent answers: it cannot confirm or "
        "refute a claim about people. Ask real people.",
    ]
    if ("random", "facemask") in T.index:
        out.insert(3, f"   On face-mask shapes, which neither model saw ({n_test} faces): "
                      f"random {v(T, 'random', 'facemask', 'psnr'):.2f} dB / SSIM {v(T, 'random', 'facemask', 'ssim'):.3f}, "
                      f"mouth {v(T, 'mouth', 'facemask', 'psnr'):.2f} dB / SSIM {v(T, 'mouth', 'facemask', 'ssim'):.3f}, "
                      f"Telea {v(T, 'Telea', 'facemask', 'psnr'):.2f} dB / SSIM {v(T, 'Telea', 'facemask', 'ssim'):.3f}.")
    if profile == "quick":
        out.append("7. The tiny `quick` models trained in section 4 only prove that training, resume and "
                   "evaluation run end to end; their curves are noise.")
    return out
