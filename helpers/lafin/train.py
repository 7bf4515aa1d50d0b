"""Both networks of the landmark-and-label paper through the shared loop, and their releases.

One :class:`LaFIn` method trains either network (``Config.net``)::

    python -m helpers.lafin train --profile demo --set variant=baseline --release lafin_baseline128
    python -m helpers.lafin train --profile demo --set variant=ours --release lafin_ours128
    python -m helpers.lafin train --profile demo --set net=inpainter --release lafin_inpaint128

All randomness of a run comes from what the run directory saves: the global torch RNG (weight
initialisation), the data order (:class:`helpers.core.loop.StepSampler`) and the ``damage``
stream (flips, hole kinds and margins). Evaluation draws nothing, so a stopped and resumed run
equals an uninterrupted one (tests/test_lafin.py).

Releases store float16 weights; every number in a manifest is measured on the float16 copy, so
it is what the committed file gives.
"""
from __future__ import annotations

import copy
import datetime as _dt
import json
from pathlib import Path

import torch
from torch import nn

from helpers.core import files, loop, release as rel, runtime
from helpers.faces import analysis
from helpers.lafin.data import TEST_IDENTITIES, TEST_SEED, data_entry, folder_testset, make_testset, training_data
from helpers.lafin.inpainter import (InpaintGenerator, build_inpainter, feature_maps, inpaint, inpainter_step,
                                     make_optimizers)
from helpers.lafin.measures import MOUTH, inpaint_measures, nme, predict_testset, predictor_measures
from helpers.lafin.model import Config, LandmarkPredictor, build_predictor, damage, make_adam, predictor_step
from helpers.lafin.real import real_measures
from helpers.core import metrics

__all__ = ["LaFIn", "METHOD", "train", "release", "remeasure", "load_predictor", "load_inpainter", "fp16_copy",
           "eval_testset", "CHECK_N", "N_TEST", "DEMO_RELEASES"]

#: faces of the fixed test set measured by a release (predictors / inpainter) and by its test (CHECK_N)
N_TEST = {"predictor": 300, "inpainter": 200}
CHECK_N = 24
#: the committed demo releases of notebook 03
DEMO_RELEASES = {"baseline": "lafin_baseline128", "ours": "lafin_ours128", "inpainter": "lafin_inpaint128",
                 "real": "lafin_300w"}


def eval_testset(cfg: Config, n: int):
    """The fixed test faces of a run: SynthFaces of unseen people, or the folder's test split."""
    if cfg.data == "synthfaces":
        return make_testset(n, cfg.size)
    return folder_testset(cfg.data, cfg.size, "test", n=n)


class LaFIn(loop.Method):
    """The landmark-and-label paper: LaFIn's landmark predictor with a label input (``net="predictor"``) or LaFIn's
    landmark-guided inpainter (``net="inpainter"``)."""

    name = "lafin"
    config_class = Config

    def dataset(self, cfg: Config):
        return training_data(cfg)

    def build(self, cfg: Config, data, env: loop.Env) -> loop.Parts:
        extra = {"test": eval_testset(cfg, cfg.eval_n) if cfg.eval_every else None}
        if cfg.net == "predictor":
            P = build_predictor(cfg)
            if cfg.init_release:
                rel.load_release(cfg.init_release, {"P": P})
            P = P.to(env.device).to(memory_format=torch.channels_last)
            return loop.Parts({"P": P}, {"P": make_adam(P.parameters(), cfg.lr, cfg.betas, cfg.weight_decay)},
                              {"damage": env.generator("damage")}, extra)
        G, D = build_inpainter(cfg)
        G.to(env.device).to(memory_format=torch.channels_last)
        D.to(env.device).to(memory_format=torch.channels_last)
        extra["features"] = feature_maps(cfg).to(env.device)
        if cfg.eval_every and cfg.features == "analysis":
            extra["reader"] = extra["features"].net     # the analysis network, also the mouth reader
        return loop.Parts({"G": G, "D": D}, make_optimizers(cfg, G, D), {"damage": env.generator("damage")}, extra)

    def step(self, s: loop.State, batch: dict) -> dict:
        return predictor_step(s, batch) if s.cfg.net == "predictor" else inpainter_step(s, batch)

    def evaluate(self, s: loop.State) -> dict:
        ts = s.extra.get("test")
        if ts is None:
            return {}
        if s.cfg.net == "predictor":
            m = predictor_measures(s.models["P"], ts, ("halfface",), s.cfg.lips)
            return {f"val_{k.replace('halfface_', '')}": v for k, v in m.items() if not k.endswith("_n")
                    and ("_all_" in k or "label_acc" in k or "corner_bias" in k)}
        out = {}
        net = s.extra.get("reader")
        for kind in ts.masks:
            m = ts.masks[kind]
            done = inpaint(s.models["G"], ts.images * (1 - m), m, ts.landmarks)
            p = metrics.hole_psnr(done, ts.images, m)
            out[f"val_{kind}_psnr"] = float(p[torch.isfinite(p)].mean())
            out[f"val_{kind}_ssim"] = float(metrics.hole_ssim(done, ts.images, m).mean())
            # a 2-px grid of the up-sampling, minus the true face's (0 = as smooth as the truth)
            out[f"val_{kind}_checker"] = float(metrics.checker_energy(done, m).mean()
                                               - metrics.checker_energy(ts.images, m).mean())
            if net is not None:     # blur cannot score here: the completed mouth must have its shape
                lm = analysis.analyse(done, net)["landmarks"]
                out[f"val_{kind}_mouth_nme"] = float(100 * nme(lm, ts.landmarks, MOUTH).mean())
        return out

    def samples(self, s: loop.State):
        ts = s.extra.get("test")
        if ts is None or s.cfg.net != "inpainter":
            return None
        n = min(8, len(ts))
        m = ts.masks["halfface"][:n]
        done = inpaint(s.models["G"], ts.images[:n] * (1 - m), m, ts.landmarks[:n])
        return torch.cat([damage(ts.images[:n], m), done, ts.images[:n]])

    def log_keys(self):
        return ("loss", "loss_lm", "loss_corner", "g_loss", "d_loss", "l1")

    # -- command-line hooks
    def release(self, res: loop.TrainResult, name: str, command: str) -> Path:
        return release(res, name, command)

    def evaluate_release(self, name: str) -> dict:
        man = rel.read_manifest(name)
        cfg = Config.from_dict(man["config"])
        if cfg.net == "predictor":
            return predictor_release_metrics(load_predictor(name), cfg, N_TEST["predictor"])
        return inpainter_release_metrics(load_inpainter(name), cfg, N_TEST["inpainter"])


METHOD = LaFIn()


def train(cfg: Config | None = None, run_dir=None, budget_minutes: float | None = None,
          max_steps: int | None = None, progress: bool = True) -> loop.TrainResult:
    """Train (or continue) one network of the landmark-and-label paper: :func:`helpers.core.loop.train` with :class:`LaFIn`.

    Calling again with the same ``run_dir`` and config continues from the newest checkpoint at the
    exact step. Shown in notebook 03 §4.
    """
    cfg = cfg or Config.for_profile()
    return loop.train(METHOD, cfg, run_dir, budget_minutes=budget_minutes, max_steps=max_steps,
                      progress=progress)


# ------------------------------------------------------------------------------------------ releases
def fp16_copy(model: nn.Module) -> nn.Module:
    """An eval-mode CPU copy whose floating tensors went through float16: what a release file holds."""
    out = copy.deepcopy(model).cpu().float()
    with torch.no_grad():
        for t in list(out.parameters()) + list(out.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return out.eval()


def predictor_release_metrics(P: LandmarkPredictor, cfg: Config, n: int) -> dict:
    """What a predictor release records: :func:`predictor_measures` on ``n`` test faces and a
    ``check`` block on the first :data:`CHECK_N` (the one the tests recompute)."""
    ts = eval_testset(cfg, n)
    kinds = tuple(ts.masks)
    out = predictor_measures(P, ts, kinds, cfg.lips)
    out["check"] = predictor_check(P, cfg)
    out["n_test"] = len(ts)
    return out


def predictor_check(P: LandmarkPredictor, cfg: Config) -> dict:
    """The ``check`` block of a predictor release: :func:`predictor_measures` on the test set of
    :data:`CHECK_N` faces drawn alone (``make_testset(n)`` is not a prefix of a larger one)."""
    return predictor_measures(P, eval_testset(cfg, CHECK_N), ("halfface",), cfg.lips)


def inpainter_check(G: InpaintGenerator, cfg: Config) -> dict:
    """The ``check`` block of an inpainter release: hole PSNR and L1 on the :data:`CHECK_N`-face test set."""
    small = eval_testset(cfg, CHECK_N)
    m = small.masks["halfface"]
    done = inpaint(G, small.images * (1 - m), m, small.landmarks)
    p = metrics.hole_psnr(done, small.images, m)
    return {"halfface_psnr": round(float(p[torch.isfinite(p)].mean()), 4),
            "halfface_l1": round(float(metrics.hole_l1(done, small.images, m).mean()), 5)}


def inpainter_release_metrics(G: InpaintGenerator, cfg: Config, n: int, predictors=None, net=None,
                              directory=None) -> dict:
    """Inpainting quality with the true landmarks (and, given ``predictors`` = {name: release},
    with each predictor's landmarks) on ``n`` test faces, both hole kinds; plus the ``check`` block.
    ``net``: the face-analysis network that measures (default the ``analysis128`` release)."""
    ts = eval_testset(cfg, n)
    net = analysis.load() if net is None else net
    out = {"n_test": len(ts), "tables": {}}
    loaded = {k: load_predictor(v, directory) for k, v in (predictors or {}).items()}
    for kind in ts.masks:
        sources = {"true": ts.landmarks}
        for k, P in loaded.items():
            sources[k] = predict_testset(P, ts, kind)["landmarks"]
        t = inpaint_measures(G, ts, kind, sources, net)
        out["tables"][kind] = {r: {c: round(float(v), 5) for c, v in row.items()} for r, row in t.iterrows()}
        for c in ("psnr", "ssim", "l1", "perceptual", "fid", "kid"):
            out[f"{kind}_{c}"] = round(float(t.loc["true", c]), 5)
    out["check"] = inpainter_check(G, cfg)
    return out


HEADLINE = {"predictor": ("halfface_all_nme", "halfface_all_nme_mouth", "halfface_Smiling_corner_bias",
                          "halfface_No_Smiling_corner_bias", "facemask_all_nme"),
            "inpainter": ("halfface_psnr", "halfface_ssim", "halfface_perceptual", "facemask_psnr"),
            "real": ("real_unmasked_nme", "real_halfface_nme", "real_facemask_nme", "real_drawn_mask_nme")}


def _test_note(cfg: Config, n: int) -> str:
    if cfg.data == "synthfaces":
        return (f"{n} SynthFaces of unseen people (ids {TEST_IDENTITIES.start}+, seed {TEST_SEED}, "
                f"expression '{cfg.expression}', helpers.lafin.data.make_testset), {cfg.size} px")
    return f"the first {n} faces of the test split of {cfg.data}"


def release(res: loop.TrainResult, name: str, command: str, directory=None, predictors=None,
            analysis_net=None) -> Path:
    """Measure a finished run (float16 copy) and save it as a release (float16 safetensors).

    For the inpainter, ``predictors`` (default: the demo predictor releases that exist) are
    measured through it as well: the table *true vs baseline vs ours landmarks* of notebook 03;
    ``analysis_net`` is the measuring instrument (default the ``analysis128`` release).
    """
    cfg = res.config
    directory = directory or runtime.CHECKPOINT_DIR
    curve = [r for r in res.history.to_dict("records") if any(k.startswith("val_") and r.get(k) == r.get(k)
                                                               for k in r)]
    curve = [{k: (int(v) if k == "step" else round(float(v), 5)) for k, v in r.items()
              if (k == "step" or k.startswith("val_")) and v == v} for r in curve]
    n = N_TEST[cfg.net] if cfg.profile != "quick" else 32
    if cfg.net == "predictor":
        P = fp16_copy(res.models["P"])
        metrics_ = predictor_release_metrics(P, cfg, n)
        if cfg.data != "synthfaces" and not cfg.label_input:
            metrics_["real"] = real_measures(P, cfg.data)
            metrics_["calibration"] = metrics_["real"].get("calibration", {})
            for k, v in metrics_["real"]["predictor"].items():
                metrics_[f"real_{k}_nme"] = round(v["nme"], 4)
        models, head = {"P": P}, HEADLINE["predictor"] if cfg.data == "synthfaces" else HEADLINE["real"]
        notes = (f"Landmark predictor, variant '{cfg.variant}' (label input: {cfg.label_input}; losses: "
                 f"landmark + {', '.join(cfg.seed_losses) or 'nothing else'}); load with "
                 f"helpers.lafin.load_predictor(name). Test: {_test_note(cfg, n)}; errors in % of the "
                 f"inter-ocular distance, by the true Smiling label.")
    else:
        G = fp16_copy(res.models["G"])
        if predictors is None:
            predictors = {k: DEMO_RELEASES[k] for k in ("baseline", "ours")
                          if (Path(directory) / f"{DEMO_RELEASES[k]}.json").exists() and cfg.data == "synthfaces"}
        metrics_ = inpainter_release_metrics(G, cfg, n, predictors, analysis_net, directory)
        metrics_["predictors"] = dict(predictors)
        models, head = {"G": G}, HEADLINE["inpainter"]
        notes = (f"LaFIn inpainting generator (trained with the true landmarks; discriminator not stored); "
                 f"load with helpers.lafin.load_inpainter(name). Test: {_test_note(cfg, n)}; tables: the same "
                 f"generator with the true landmarks and with each predictor's ({predictors}). Perceptual "
                 f"features: {cfg.features} ({cfg.feature_release}).")
    metrics_["steps"] = res.step
    return rel.save_release(models, name, command=command, config=cfg.to_dict(), train_seconds=res.train_seconds,
                            metrics=metrics_, data=data_entry(cfg), curve=curve, headline=head,
                            dtype=torch.float16, directory=directory,
                            notes=notes + f" {res.precision}, {cfg.threads or torch.get_num_threads()} thread(s), "
                                          f"{res.cpu_seconds / 60:.1f} CPU-minutes. Weights float16; every number "
                                          f"measured on the float16 weights.")


def load_predictor(name: str = DEMO_RELEASES["ours"], directory=None) -> LandmarkPredictor:
    """A committed predictor (eval mode, CPU); ``.config`` and ``.manifest`` attached."""
    directory = directory or runtime.CHECKPOINT_DIR
    cfg = Config.from_dict(rel.read_manifest(name, directory)["config"])
    if cfg.net != "predictor":
        raise ValueError(f"release {name!r} is a {cfg.net}, not a landmark predictor")
    P = build_predictor(cfg)
    P.manifest = rel.load_release(name, {"P": P}, directory)
    P.config = cfg
    return P.eval()


def load_inpainter(name: str = DEMO_RELEASES["inpainter"], directory=None) -> InpaintGenerator:
    """The committed inpainting generator (eval mode, CPU); ``.config`` and ``.manifest`` attached."""
    directory = directory or runtime.CHECKPOINT_DIR
    cfg = Config.from_dict(rel.read_manifest(name, directory)["config"])
    if cfg.net != "inpainter":
        raise ValueError(f"release {name!r} is a {cfg.net}, not an inpainting generator")
    G, _ = build_inpainter(cfg)
    G.manifest = rel.load_release(name, {"G": G}, directory)
    G.config = cfg
    return G.eval()


def remeasure(name: str, command: str, directory=None) -> dict:
    """Recompute the ``check`` block of a committed release (predictor or inpainter) and rewrite its
    manifest (weights, sha256, curve and the other metrics stay as they are).

    Needed where a release was written before its check was drawn exactly as the tests draw it
    (:func:`predictor_check`, :func:`inpainter_check`); the manifest records ``remeasured``."""
    directory = directory or runtime.CHECKPOINT_DIR
    net = rel.read_manifest(name, directory)["config"].get("net", "predictor")
    model = load_predictor(name, directory) if net == "predictor" else load_inpainter(name, directory)
    man = dict(model.manifest)
    if net == "predictor":
        check = predictor_check(model, model.config)
    else:
        check = inpainter_check(model, model.config)
    man["metrics"] = {**man["metrics"], "check": json.loads(json.dumps(check))}
    man["remeasured"] = {"what": "metrics.check", "command": command, "previous_created": man.get("created"),
                         "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    files.atomic_write_bytes(Path(directory) / f"{name}.json", json.dumps(man, indent=1).encode())
    return man
