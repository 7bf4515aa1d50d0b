"""Evaluation of GLCIC completions for seed 002: fixed test sets, baselines, measures, curves.

Seed 002 compared a random-hole model with a mouth-hole model by (a) a blind survey
(:mod:`helpers.survey`) and (b) OpenCV feature-point matching between each completion and the
original on 10 test images, every 80,000 iterations. This module adds what the seed lacked:
PSNR/SSIM/L1 inside the hole (:mod:`helpers.metrics`), three hole types, two baselines, and a
table "seed claim -> measured -> reproduced?".

Everything works with plain callables ``complete_fn(images, masks) -> completed`` (NCHW in
[-1, 1], masks (N,1,H,W) with 1 = hole), so a trained GLCIC model, a baseline or any other
inpainting method are evaluated the same way. ``complete_fn`` receives the images with the hole
pixels set to 0 (mid-grey): the truth inside the hole never reaches the method being measured.

Test sets (:func:`make_testset`) are SynthFaces rendered with their own seed (:data:`TEST_SEED`)
and drawn only from persons ``TEST_IDENTITIES`` (ids 100,000 and up); GLCIC training draws its
faces from SynthFaces' default ``range(10_000)`` persons, so test identities are disjoint from
training. The unmasked face is exact ground truth, also for the face-mask holes:

- ``mouth``: seed 002's mouth box (56,128,144,96) at 256 px, scaled to the image size;
- ``random``: seed 002's random boxes (top-left 5..145, w,h 48..96 at 256 px, scaled), drawn from a
  fixed generator;
- ``facemask``: the exact pixels of a drawn surgical/cloth face mask (SynthFaces ``mask``), the
  course's real use case; the truth is the same face rendered without the mask.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import torch

from . import metrics

HOLE_KINDS = ("mouth", "random", "facemask")
MEASURES = ("psnr", "ssim", "l1", "orb", "sift")
#: higher is better for these measures; lower is better for the others
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "l1": False, "orb": False, "sift": False, "akaze": False}
#: SynthFaces seed of every test set; training uses small seeds (glcic Config.data_seed = 0)
TEST_SEED = 20_020
#: persons of the test sets; training uses SynthFaces' default identities range(10_000)
TEST_IDENTITIES = range(100_000, 101_000)
CompleteFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- test sets
@dataclass
class TestSet:
    """A fixed evaluation set: ground-truth images, holes, and where they came from."""

    name: str                    # "mouth" | "random" | "facemask"
    images: torch.Tensor         # (N,3,H,W) in [-1,1]: the unmasked truth
    masks: torch.Tensor          # (N,1,H,W) float, 1 = hole
    identities: list = field(default_factory=list)
    seed: int = TEST_SEED

    __test__ = False             # not a pytest class

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def inputs(self) -> torch.Tensor:
        """The images as a completion method sees them: hole pixels set to 0 (no truth leaks)."""
        return self.images * (1 - self.masks)


def _render(n: int, size: int, seed: int, mask_prob: float):
    from .synthfaces import SynthFaces

    faces = SynthFaces(seed=seed, size=size, mask_prob=mask_prob, identities=list(TEST_IDENTITIES))
    return [faces.sample(i) for i in range(n)]


def make_testset(kind: str, n: int = 10, size: int = 64, seed: int = TEST_SEED) -> TestSet:
    """Fixed, reproducible test set of ``n`` SynthFaces with ``kind`` holes (see module docstring)."""
    from . import glcic
    from .data import to_tensor

    if kind not in HOLE_KINDS:
        raise ValueError(f"kind must be one of {HOLE_KINDS}, got {kind!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if size < 16 or size % 4:
        raise ValueError(f"size must be a multiple of 4 and >= 16, got {size}")
    samples = _render(n, size, seed, 1.0 if kind == "facemask" else 0.0)
    images = torch.stack([to_tensor(s["unmasked"]) for s in samples])
    if kind == "facemask":
        masks = torch.stack([torch.as_tensor(np.asarray(s["mask"]) > 0).float()[None] for s in samples])
        empty = masks.flatten(1).sum(1) == 0
        if bool(empty.any()):  # a face mask always covers pixels; guard anyway
            raise ValueError(f"SynthFaces drew no face mask for test images {torch.nonzero(empty).flatten().tolist()}")
    else:
        gen = torch.Generator().manual_seed(seed)
        masks = glcic.boxes_to_masks(glcic.sample_boxes(n, size, kind, generator=gen), size)
    return TestSet(kind, images, masks, [int(s.get("identity", -1)) for s in samples], seed)


def make_testsets(n: int = 10, size: int = 64, kinds=HOLE_KINDS, seed: int = TEST_SEED) -> dict[str, TestSet]:
    """All hole kinds at once: ``{"mouth": TestSet, "random": ..., "facemask": ...}``."""
    return {k: make_testset(k, n, size, seed) for k in kinds}


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
    import cv2

    from .data import to_tensor, to_uint8

    _check(images, masks)
    imgs = to_uint8(images)
    out = []
    for i in range(len(imgs)):
        m = (masks[i, 0].cpu().numpy() > 0.5).astype(np.uint8)
        out.append(to_tensor(cv2.inpaint(np.ascontiguousarray(imgs[i]), m, radius, cv2.INPAINT_TELEA)))
    out = torch.stack(out).to(images.dtype)
    return torch.where(masks.bool(), out, images)


BASELINES: dict[str, CompleteFn] = {"mean fill": mean_fill, "Telea": telea}


def model_fn(model, poisson: bool = False) -> CompleteFn:
    """Wrap a GLCIC completion network as a ``complete_fn`` (uses :func:`helpers.glcic.complete`)."""
    from . import glcic

    return lambda images, masks: glcic.complete(model, images, masks, poisson=poisson)


# ----------------------------------------------------------------------------- evaluation
def evaluate(complete_fn: CompleteFn, testset: TestSet, features=("orb", "sift"), **feature_kw) -> pd.DataFrame:
    """Run ``complete_fn`` on ``testset`` and measure every image.

    Returns one row per image with ``psnr`` (dB), ``ssim``, ``l1`` (all inside the hole, see
    :mod:`helpers.metrics`) and one column per feature method (mean descriptor distance of
    cross-checked matches in and around the hole; smaller = more similar), plus ``known_diff``:
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
    df["known_diff"] = ((out - testset.inputs()).abs() * (1 - masks)).flatten(1).amax(1).numpy()
    return df


def compare(methods: Mapping[str, CompleteFn], testsets: Mapping[str, TestSet], features=("orb", "sift"),
            progress: bool = True) -> pd.DataFrame:
    """Mean of every measure for every method x hole kind -> long table.

    Columns: ``method``, ``holes``, ``n`` and one column per measure (means over the images;
    PSNR averages finite values only).
    """
    from tqdm.auto import tqdm

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


# ----------------------------------------------------------------------------- curves
def checkpoint_steps(run_path) -> list[tuple[int, Path]]:
    """(step, file) of the checkpoints stored in a run directory, oldest first."""
    from .checkpoint import _CKPT_RE

    run_path = Path(run_path)
    if not run_path.is_dir():
        raise ValueError(f"no run directory at {run_path}")
    files = [(int(_CKPT_RE.match(p.name).group(1)), p) for p in run_path.iterdir() if _CKPT_RE.match(p.name)]
    return sorted(files)


def load_checkpoint_model(path, model: torch.nn.Module, key: str | None = None) -> torch.nn.Module:
    """Load the weights of ``model`` from a RunDir checkpoint file (``weights_only``: nothing executes).

    ``key`` names the model inside the checkpoint; default: the one whose tensors fit ``model``.
    """
    payload = torch.load(path, map_location="cpu", weights_only=True)
    models = payload.get("models", {}) if isinstance(payload, dict) else {}
    keys = [key] if key is not None else list(models)
    want = set(model.state_dict())
    for k in keys:
        sd = models.get(k)
        if sd is not None and set(sd) == want:
            model.load_state_dict(sd)
            return model
    raise ValueError(f"{path} holds no model matching {type(model).__name__} (models: {sorted(models)})")


def checkpoint_curve(run_path, make_model: Callable[[], torch.nn.Module], testset: TestSet,
                     features=("orb", "sift"), key: str | None = None, progress: bool = False) -> pd.DataFrame:
    """The seed's curve: evaluate every stored checkpoint of a run on ``testset``.

    The seed measured its feature-matching similarity every 80,000 iterations; here every checkpoint
    the run directory holds is one point (``RunDir(every_steps=K, keep_last=...)`` decides K and how
    many survive). Returns one row per step with the mean of each measure.
    """
    from tqdm.auto import tqdm

    rows = []
    for step, path in tqdm(checkpoint_steps(run_path), desc="checkpoints", disable=not progress):
        model = load_checkpoint_model(path, make_model(), key)
        df = evaluate(model_fn(model), testset, features)
        rows.append({"step": step, **{c: float(df[c].replace([np.inf], np.nan).mean())
                                      for c in ["psnr", "ssim", "l1", *features]}})
    return pd.DataFrame(rows)


def curve_by_training(cfg, run_path, every: int, testset: TestSet, features=("orb", "sift"),
                      progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train a GLCIC run in *sessions* of ``every`` steps and evaluate after each: the seed's routine.

    The seed trained about 80,000 iterations per Colab session, resumed from the saved model, and
    measured its similarity every 80,000 iterations. Here each session is one call of
    :func:`helpers.glcic.train` with ``max_steps`` = the next multiple of ``every`` (it resumes
    from the run directory's newest checkpoint), followed by an evaluation of the completion
    network on ``testset``. Points already measured are kept in ``run_path/curve.csv`` (written
    atomically), so calling again after an interruption continues the curve too.

    Returns ``(curve, history)``: one row per session end (``step`` + mean measures) and the
    run's training log (loss per logged step) after the last session.
    """
    from . import glcic, glcic_train
    from .survey import save_answers as _atomic_csv

    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive int, got {every!r}")
    run_path = Path(run_path)
    run_path.mkdir(parents=True, exist_ok=True)
    csv = run_path / "curve.csv"
    curve = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    hist = None
    targets = list(range(every, cfg.steps_total + 1, every))
    if not targets or targets[-1] != cfg.steps_total:
        targets.append(cfg.steps_total)
    for target in targets:
        if len(curve) and target in set(curve["step"]):
            continue
        hist = glcic.train(cfg, run_path, max_steps=target, progress=progress)
        C, _, step, _ = glcic_train.load_run(cfg, run_path)
        df = evaluate(model_fn(C), testset, features)
        row = {"step": step, "session": len(curve) + 1,
               **{c: float(df[c].replace([np.inf], np.nan).mean()) for c in ["psnr", "ssim", "l1", *features]}}
        curve = pd.concat([curve, pd.DataFrame([row])], ignore_index=True)
        _atomic_csv(curve, csv)
    if hist is None:
        hist = glcic.train(cfg, run_path, max_steps=cfg.steps_total, progress=False)
    return curve, hist


def slope(curve: pd.DataFrame, measure: str, last: int = 3) -> float:
    """Least-squares slope of ``measure`` per 1000 steps over the ``last`` points of a curve."""
    c = curve.sort_values("step").tail(last)
    if len(c) < 2:
        return float("nan")
    return float(np.polyfit(c["step"] / 1000.0, c[measure], 1)[0])


# ----------------------------------------------------------------------------- figures
def completion_figure(testset: TestSet, methods: Mapping[str, CompleteFn], n: int = 6, title: str | None = None):
    """Rows: input with the hole (grey), each method's completion, the original; ``n`` columns."""
    import matplotlib.pyplot as plt

    from .data import to_uint8

    n = min(n, len(testset))
    x, m = testset.images[:n], testset.masks[:n]
    rows = [("input", testset.inputs()[:n])]
    with torch.no_grad():
        rows += [(name, fn(testset.inputs()[:n], m).detach().cpu().clamp(-1, 1)) for name, fn in methods.items()]
    rows.append(("original", x))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n + 1.0, 1.3 * len(rows) + 0.3), squeeze=False)
    for r, (name, imgs) in enumerate(rows):
        u8 = to_uint8(imgs)
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(u8[c], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.tight_layout(pad=0.3)
    if title:
        fig.suptitle(title, fontsize=10, y=1.02)
    return fig


def curve_figure(curves: Mapping[str, pd.DataFrame], measures=("orb", "sift", "psnr"), title: str | None = None):
    """The seed's plot (mean similarity vs training steps), one panel per measure, one line per model."""
    import matplotlib.pyplot as plt

    measures = [mm for mm in measures if all(mm in c.columns for c in curves.values())]
    fig, axes = plt.subplots(1, len(measures), figsize=(3.6 * len(measures), 3.0), squeeze=False)
    for ax, meas in zip(axes[0], measures):
        for name, c in curves.items():
            ax.plot(c["step"], c[meas], marker="o", label=f"{name}-hole model")
        better = "higher" if HIGHER_IS_BETTER.get(meas) else "lower"
        ax.set_title(f"{meas.upper()} on mouth holes ({better} = better)", fontsize=9)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- seed claims
def claims_table(table: pd.DataFrame, survey_summary: dict | None = None, curves: Mapping[str, pd.DataFrame] | None = None,
                 models=("random", "mouth"), survey_simulated: bool = True, features=("orb", "sift")) -> pd.DataFrame:
    """Seed 002's claims next to what we measured: ``claim``, ``seed``, ``measured``, ``reproduced``, ``why``.

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
                     "seed": "320k: random 2 / mouth 7 / tie 1; 400k: random 3 / mouth 7 / tie 0",
                     "measured": f"random {won['random']} / mouth {won['mouth']} / tie {won['tie']}, "
                                 f"mean score {won['mean_score']:.2f} (>3 = mouth better)",
                     "reproduced": "n/a (scripted respondent, not people)" if survey_simulated else verdict(ok),
                     "why": ("the scripted respondent only echoes the hole L1; ask people" if survey_simulated
                             else f"{won['n_answers']} answers to {won['n_questions']} questions")})
    for f in features:
        dr, dm = float(t.loc[r, f]), float(t.loc[m, f])
        rows.append({"claim": f"feature matching ({f.upper()}): mouth-trained completions are more similar",
                     "seed": "mouth-trained tends to have the smaller similarity value",
                     "measured": f"random {dr:.1f}, mouth {dm:.1f} (smaller = more similar)",
                     "reproduced": verdict(dm < dr),
                     "why": ("the mouth model fills the one box it was trained on; a blurry fill has "
                             "fewer, worse-matching keypoints") if dm < dr else
                            "feature distances reward sharp edges more than correct content"})
    for meas in ("psnr", "ssim", "l1"):
        vr, vm = float(t.loc[r, meas]), float(t.loc[m, meas])
        better = vm > vr if HIGHER_IS_BETTER[meas] else vm < vr
        rows.append({"claim": f"(not measured by the seed) mouth-hole {meas.upper()}: mouth-trained better",
                     "seed": "-", "measured": f"random {vr:.3f}, mouth {vm:.3f}", "reproduced": verdict(better),
                     "why": "same data and budget; only the hole sampler differs"})
    if curves is not None and r in curves and m in curves:
        f = features[0] if features else "psnr"
        sr, sm = slope(curves[r], f), slope(curves[m], f)
        pr = slope(curves[r], "psnr") if "psnr" in curves[r] else float("nan")
        improving = sr < 0 if not HIGHER_IS_BETTER.get(f) else sr > 0
        rows.append({"claim": "random-trained model is still improving (its curve still moves the right way)",
                     "seed": "random-trained similarity expected to keep improving",
                     "measured": f"{f.upper()} slope over the last 3 points: random {sr:+.2f}, mouth {sm:+.2f} "
                                 f"per 1k steps; random PSNR slope {pr:+.2f} dB per 1k steps",
                     "reproduced": verdict(improving),
                     "why": "short demo runs: the curve is noisy; extend the runs (exercise 5) to decide"})
    gap = abs(float(t.loc[m, "psnr"]) - float(t.loc[r, "psnr"]))
    rows.append({"claim": "the gap between the two models is small",
                 "seed": "both low quality, small difference",
                 "measured": f"mouth-hole PSNR gap {gap:.2f} dB",
                 "reproduced": verdict(gap < 1.0, "small = under 1 dB"),
                 "why": ("SynthFaces put every mouth at the same place, which favours the specialist"
                         if gap >= 1.0 else "both models learned about the same")})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- released curves
#: the two committed demo releases (``python -m helpers.glcic train --profile demo --holes H --release ...``)
DEMO_RELEASES = {"random": "glcic_random64", "mouth": "glcic_mouth64"}


def release_curve(name: str, holes: str = "mouth", directory=None) -> pd.DataFrame:
    """The seed's curve of one release, as recorded by its training command.

    :func:`helpers.glcic.train` measures the completion network every ``eval_every`` steps on the
    first ``eval_n`` images of the fixed test sets (:func:`make_testset`, mouth and random holes);
    :func:`helpers.glcic_train.release` stores those rows in the manifest as ``metrics["curve"]``.
    Returns columns ``step`` and ``psnr``, ``ssim``, ``l1``, ``orb``, ``sift`` for ``holes``.
    """
    from . import checkpoint, runtime

    if holes not in ("mouth", "random"):
        raise ValueError(f"holes must be 'mouth' or 'random', got {holes!r}")
    man = checkpoint.read_manifest(name, directory or runtime.CHECKPOINT_DIR)
    rows = man.get("metrics", {}).get("curve")
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
    from . import checkpoint, runtime

    releases = dict(releases or DEMO_RELEASES)
    mans = {k: checkpoint.read_manifest(v, directory or runtime.CHECKPOINT_DIR)["metrics"] for k, v in releases.items()}
    first = next(iter(mans.values()))
    sources = [(k, m, "") for k, m in mans.items()] + [("mean fill", first, "meanfill_"), ("Telea", first, "telea_")]
    rows = []
    for method, met, prefix in sources:
        for holes in ("mouth", "random"):
            if f"{prefix}{holes}_psnr" not in met:
                raise ValueError(f"release metrics lack {prefix}{holes}_psnr (retrain with the committed command)")
            rows.append({"method": method, "holes": holes, "n": 64,
                         **{m: float(met[f"{prefix}{holes}_{m}"]) for m in MEASURES if f"{prefix}{holes}_{m}" in met}})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    """``python -m helpers.glcic_eval curve``: the seed's similarity curve for both hole samplers."""
    import argparse
    import json

    from . import glcic, runtime

    p = argparse.ArgumentParser(prog="python -m helpers.glcic_eval", description=main.__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("curve", help="train both models in sessions and measure after each")
    c.add_argument("--profile", default=None)
    c.add_argument("--every", type=int, default=200)
    c.add_argument("--n", type=int, default=50)
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--json", default=None, help="write the curves here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    out = {}
    for holes in ("random", "mouth"):
        cfg = glcic.for_profile(a.profile, holes=holes, sample_every=0, eval_every=0)
        ts = make_testset("mouth", a.n, cfg.size)
        curve, _ = curve_by_training(cfg, runtime.run_dir(f"glcic_eval_curve_{cfg.profile}_{holes}"), a.every, ts)
        print(holes, curve.round(3).to_string(), sep="\n", flush=True)
        out[holes] = {k: [round(float(v), 4) for v in curve[k]] for k in curve.columns}
    text = json.dumps(out, indent=1)
    print(text)
    if a.json:
        Path(a.json).write_text(text)


if __name__ == "__main__":
    main()
