"""Both networks of the landmark-and-label paper through the shared loop: the run's config, the method, releases.

:class:`Config` is one flat config per run made of the fields both networks share
(:class:`helpers.lafin.model.SharedConfig`), the predictor's (:class:`~helpers.lafin.model.PredictorConfig`)
and the inpainter's (:class:`~helpers.lafin.inpainter.InpainterConfig`); ``net`` selects which
network trains and whose profile values apply. One :class:`LaFIn` method trains either network::

    python -m helpers.lafin train --profile demo --set variant=baseline --release lafin_baseline128
    python -m helpers.lafin train --profile demo --set variant=ours --release lafin_ours128
    python -m helpers.lafin train --profile demo --set net=inpainter --release lafin_inpaint128

All randomness of a run comes from what the run directory saves: the global torch RNG (weight
initialisation), the data order (:class:`helpers.core.loop.StepSampler`) and the ``damage``
stream (flips, hole kinds and margins). Evaluation draws nothing, so a stopped and resumed run
equals an uninterrupted one (tests/test_lafin.py).

Releases store float16 weights; every number in a manifest is measured on the float16 copy
(:mod:`helpers.lafin.evaluate`), so it is what the committed file gives. :func:`load_predictor`
and :func:`load_inpainter` return :class:`helpers.core.release.Release`.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from helpers.core import files, loop, release as rel, runtime
from helpers.lafin.crops import CropBank, box_residuals, calibration, detector_batch, detector_boxes, detector_crops
from helpers.lafin.data import TEST_IDENTITIES, TEST_SEED, folder_faces, training_data
from helpers.lafin.evaluate import (N_TEST, detector_crop_validation, eval_testset, inpainter_release_metrics, inpainter_validation,
                                    predictor_release_metrics, predictor_validation)
from helpers.lafin.inpainter import (INPAINTER_PROFILES, InpainterConfig, build_inpainter, feature_maps, inpaint,
                                     inpainter_step, make_optimizers)
from helpers.lafin.losses import predictor_step
from helpers.lafin.model import NETS, PREDICTOR_PROFILES, PredictorConfig, build_predictor, damage, make_adam
from helpers.lafin.real import real_measures

__all__ = ["Config", "NET_PROFILES", "LaFIn", "init_predictor", "METHOD", "train", "release", "load_predictor", "load_inpainter",
           "load_release", "DEMO_RELEASES", "HEADLINE", "real_headline", "remeasure_real"]

#: the committed demo releases of notebook 03
DEMO_RELEASES = {"baseline": "lafin_baseline128", "ours": "lafin_ours128", "inpainter": "lafin_inpaint128",
                 "real": "lafin_300w_det", "real_landmark_crops": "lafin_300w"}
#: each network's changes to the dataclass defaults, per profile
NET_PROFILES: dict[str, dict[str, dict]] = {"predictor": PREDICTOR_PROFILES, "inpainter": INPAINTER_PROFILES}


@dataclass
class Config(PredictorConfig, InpainterConfig):
    """Every knob of a run of the landmark-and-label paper, for ``net="predictor"`` or ``net="inpainter"``:
    the shared fields, the predictor's and the inpainter's (each group in its network's file).

    The dataclass defaults are the quick predictor; :data:`NET_PROFILES` holds each network's
    changes per profile (``Config.demo(net="inpainter")`` takes the inpainter's demo values).
    Old manifests load unchanged (``Config.from_dict``: the same flat keys).
    """

    CHOICES = {**PredictorConfig.CHOICES, **InpainterConfig.CHOICES}
    POSITIVE = tuple(dict.fromkeys(PredictorConfig.POSITIVE + InpainterConfig.POSITIVE))

    def predictor_config(self) -> PredictorConfig:
        """The predictor's part of this config (shared + predictor fields)."""
        return PredictorConfig.from_dict({k: v for k, v in self.to_dict().items()
                                          if k in PredictorConfig.__dataclass_fields__})

    def inpainter_config(self) -> InpainterConfig:
        """The inpainter's part of this config (shared + inpainter fields)."""
        return InpainterConfig.from_dict({k: v for k, v in self.to_dict().items()
                                          if k in InpainterConfig.__dataclass_fields__})

    @classmethod
    def _make(cls, profile: str, overrides):
        """A profile's config: the defaults, then :data:`NET_PROFILES` of the chosen net, then ``overrides``."""
        if profile not in runtime.PROFILES:
            raise ValueError(f"profile must be one of {runtime.PROFILES}, got {profile!r}")
        cls._check_keys(overrides)
        net = overrides.get("net", "predictor")
        if net not in NETS:
            raise ValueError(f"Config.net must be one of {NETS}, got {net!r}")
        return cls(**{**NET_PROFILES[net][profile], "profile": profile, **overrides})


Config.PROFILES = {k: PREDICTOR_PROFILES[k] for k in ("demo", "full")}


def init_predictor(P, name: str) -> None:
    """Load the released predictor ``name`` into ``P``; a ``head="spatial"`` predictor may start from a
    pooled-head release: its extra layers keep their zero start, so ``P`` first predicts exactly what
    the release predicts. Any other difference raises ValueError (:func:`helpers.core.release.check_state_dict`)."""
    flat, manifest = rel.load_state(name)
    sd = {k[2:]: v for k, v in flat.items() if k.startswith("P.")}
    if manifest["models"] != ["P"]:
        raise ValueError(f"release {name!r} holds models {manifest['models']}, not a landmark predictor ['P']")
    own = P.state_dict()
    if P.spatial is not None and not any(k.startswith("fc_spatial.") for k in sd):
        sd = {**{k: v for k, v in own.items() if k.startswith(("spatial.", "fc_spatial."))}, **sd}
    rel.check_state_dict("P", P, sd)
    P.load_state_dict(sd)


class LaFIn(loop.Method):
    """The landmark-and-label paper: LaFIn's landmark predictor with a label input (``net="predictor"``) or LaFIn's
    landmark-guided inpainter (``net="inpainter"``)."""

    name = "lafin"
    config_class = Config

    def dataset(self, cfg: Config):
        if cfg.net == "predictor" and cfg.crops == "detector":
            return CropBank(cfg.data, cfg.data_split or "train")   # photos, drawn masks, cached detector boxes
        return training_data(cfg)

    def build(self, cfg: Config, data, env: loop.Env) -> loop.Parts:
        extra = {"test": eval_testset(cfg, cfg.eval_n) if cfg.eval_every else None}
        if cfg.net == "predictor" and cfg.crops == "detector":
            extra["bank"] = data                    # helpers.lafin.crops.CropBank: the step cuts the crops
            if cfg.eval_every:
                test = CropBank(cfg.data, "test", data.detectors, progress=False)
                extra["crop_test"] = {f"{d}_{c}": detector_crops(test, d, c, cfg.size, cfg.eval_n, data.calibration[d])
                                      for d in ("mtcnn",) for c in ("drawn", "unmasked")}
        if cfg.net == "predictor":
            P = build_predictor(cfg)
            if cfg.init_release:
                init_predictor(P, cfg.init_release)
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
        if s.cfg.net == "inpainter":
            return inpainter_step(s, batch)
        if s.cfg.crops == "detector":            # cut the crops of the sampled photos (helpers.lafin.crops)
            batch = detector_batch(s.cfg, s.extra["bank"], batch["index"].cpu(), s.generators["damage"])
        return predictor_step(s, batch)

    def evaluate(self, s: loop.State) -> dict:
        ts = s.extra.get("test")
        if ts is None:
            return {}
        if s.cfg.net == "predictor":
            out = predictor_validation(s.models["P"], ts, s.cfg.lips)
            if "crop_test" in s.extra:
                out.update(detector_crop_validation(s.models["P"], s.extra["crop_test"]))
            return out
        return inpainter_validation(s.models["G"], ts, s.extra.get("reader"))

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
        cfg = Config.from_dict(rel.read_manifest(name)["config"])
        if cfg.net == "predictor":
            return predictor_release_metrics(load_predictor(name).model, cfg, N_TEST["predictor"])
        predictors = {k: load_predictor(DEMO_RELEASES[k]).model for k in ("baseline", "ours")
                      if (runtime.CHECKPOINT_DIR / f"{DEMO_RELEASES[k]}.json").exists() and cfg.data == "synthfaces"}
        return inpainter_release_metrics(load_inpainter(name).model, cfg, N_TEST["inpainter"], predictors)


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
HEADLINE = {"predictor": ("halfface_all_nme", "halfface_all_nme_mouth", "halfface_Smiling_corner_bias",
                          "halfface_No_Smiling_corner_bias", "facemask_all_nme"),
            "inpainter": ("halfface_psnr", "halfface_ssim", "halfface_perceptual", "facemask_psnr"),
            "real": ("real_unmasked_nme", "real_halfface_nme", "real_facemask_nme", "real_drawn_mask_nme"),
            "real_pipeline": ("real_pipeline_mtcnn_masked_nme", "real_pipeline_mtcnn_masked_found",
                              "real_pipeline_mtcnn_masked_within_8", "real_pipeline_mtcnn_unmasked_nme",
                              "real_unmasked_nme", "real_drawn_mask_nme")}


def real_headline(real: dict) -> dict:
    """Flat numbers of :func:`helpers.lafin.real.real_measures` for a manifest: ``real_<condition>_nme``
    of the landmark crops and ``real_pipeline_<detector>_<masked|unmasked>_<nme|found|within_8>`` of
    the pipeline's last pass (``..._pass1_...`` for the first)."""
    out = {f"real_{k}_nme": round(v["nme"], 4) for k, v in real.get("predictor", {}).items()}
    for det, passes in real.get("pipelines", {}).items():
        last = max(passes)
        for pas, conds in passes.items():
            tag = "" if pas == last else f"_{pas}"
            for cond, v in conds.items():
                for key, name in (("nme", "nme"), ("found_rate", "found"), ("within_8", "within_8")):
                    out[f"real_pipeline_{det}{tag}_{cond}_{name}"] = round(v[key], 4)
    return out


def remeasure_real(release: rel.Release, root, command: str, directory=None) -> dict:
    """Measure a real-face predictor release's ``metrics.real`` again on the face folder ``root`` with
    the current pipeline (:func:`helpers.lafin.real.real_measures`, the release's own calibration) and
    rewrite its manifest; weights and sha256 stay. The flat numbers replaced are kept under
    ``metrics.before_remeasure`` so a reader sees what changed; ``remeasured`` records the command."""
    if release.config.net != "predictor" or "real" not in release.metrics:
        raise ValueError(f"release {release.name!r} is not a real-face predictor: nothing to measure on {root}")
    directory = Path(directory or runtime.CHECKPOINT_DIR)
    man = json.loads((directory / f"{release.name}.json").read_text())
    new = json.loads(json.dumps(real_measures(release, root, progress=False)))
    fresh = real_headline(new)
    man["metrics"]["before_remeasure"] = {k: man["metrics"][k] for k in fresh if k in man["metrics"]}
    man["metrics"].update({"real": new, **fresh})
    prev, what = man.get("remeasured", {}), f"metrics.real on {root} (pipeline with mirror averaging)"
    if prev.get("command") == command:                  # the same command re-measured the check block first
        what = f"{prev['what']}, {what}"
    man["remeasured"] = {**prev, "what": what, "command": command,
                         "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    files.atomic_write_bytes(directory / f"{release.name}.json", json.dumps(man, indent=1).encode())
    return man


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
        P = rel.fp16_copy(res.models["P"])
        metrics_ = predictor_release_metrics(P, cfg, n)
        if cfg.data != "synthfaces" and not cfg.label_input:
            cal = None
            if cfg.crops == "detector":                # the crop rule measured on the training boxes
                boxes = detector_boxes(cfg.data, cfg.data_split or "train")
                res_ = box_residuals(boxes, folder_faces(cfg.data, cfg.data_split, 256)["landmarks"])
                cal = {d: calibration(res_, d) for d in boxes["boxes"]}
            metrics_["real"] = real_measures(P, cfg.data, calibration=cal,
                                             hole="none" if cfg.crops == "detector" else "estimate")
            metrics_["calibration"] = metrics_["real"].get("calibration", {})
            metrics_.update(real_headline(metrics_["real"]))
        models, head = {"P": P}, (HEADLINE["predictor"] if cfg.data == "synthfaces" else
                                  HEADLINE["real_pipeline"] if cfg.crops == "detector" else HEADLINE["real"])
        notes = (f"Landmark predictor, variant '{cfg.variant}' (label input: {cfg.label_input}; losses: "
                 f"landmark + {', '.join(cfg.seed_losses) or 'nothing else'}); load with "
                 f"helpers.lafin.load_predictor(name). Test: {_test_note(cfg, n)}; errors in % of the "
                 f"inter-ocular distance, by the true Smiling label.")
        if cfg.crops == "detector":
            notes += (f" Trained on the crops a face detector gives (helpers.lafin.crops): the cached MTCNN and dlib HOG "
                      f"boxes of each training photo through the calibration in metrics.calibration, photos unmasked / "
                      f"behind a drawn mask / with a whitened half-face / face-mask hole in the shares {list(cfg.crop_mix)}, "
                      f"{cfg.landmark_crop:.0%} of the crops from the jittered landmarks (a second pass). The pipeline "
                      f"reads the crop as it is and re-crops from its first landmarks (metrics.real.pipelines: pass1, "
                      f"pass2).")
    else:
        G = rel.fp16_copy(res.models["G"])
        if predictors is None:
            predictors = {k: DEMO_RELEASES[k] for k in ("baseline", "ours")
                          if (Path(directory) / f"{DEMO_RELEASES[k]}.json").exists() and cfg.data == "synthfaces"}
        loaded = {k: load_predictor(v, directory).model for k, v in predictors.items()}
        metrics_ = inpainter_release_metrics(G, cfg, n, loaded, analysis_net)
        metrics_["predictors"] = dict(predictors)
        models, head = {"G": G}, HEADLINE["inpainter"]
        notes = (f"LaFIn inpainting generator (trained with the true landmarks; discriminator not stored); "
                 f"load with helpers.lafin.load_inpainter(name). Test: {_test_note(cfg, n)}; tables: the same "
                 f"generator with the true landmarks and with each predictor's ({predictors}). Perceptual "
                 f"features: {cfg.features} ({cfg.feature_release}).")
    metrics_["steps"] = res.step
    return rel.save_release(models, name, command=command, config=cfg.to_dict(), train_seconds=res.train_seconds,
                            metrics=metrics_,
                            data=rel.data_entry(cfg.data, expression=cfg.expression, n_train=cfg.n_train,
                                                seed=cfg.data_seed), curve=curve, headline=head,
                            dtype=torch.float16, directory=directory,
                            notes=notes + f" {res.precision}, {cfg.threads or torch.get_num_threads()} thread(s), "
                                          f"{res.cpu_seconds / 60:.1f} CPU-minutes. Weights float16; every number "
                                          f"measured on the float16 weights.")


def load_release(name: str, directory=None) -> rel.Release:
    """A committed release of either network: ``.model`` (``.P`` or ``.G``, eval mode, CPU),
    ``.config`` (:class:`Config`), ``.manifest``."""
    directory = directory or runtime.CHECKPOINT_DIR
    cfg = Config.from_dict(rel.read_manifest(name, directory)["config"])
    models = {"P": build_predictor(cfg)} if cfg.net == "predictor" else {"G": build_inpainter(cfg)[0]}
    manifest = rel.load_release(name, models, directory)
    return rel.Release(name, {k: m.eval() for k, m in models.items()}, cfg, manifest)


def load_predictor(name: str = DEMO_RELEASES["ours"], directory=None) -> rel.Release:
    """A committed landmark predictor: :func:`load_release`, refused unless ``name`` is a predictor."""
    r = load_release(name, directory)
    if r.config.net != "predictor":
        raise ValueError(f"release {name!r} is a {r.config.net}, not a landmark predictor")
    return r


def load_inpainter(name: str = DEMO_RELEASES["inpainter"], directory=None) -> rel.Release:
    """The committed inpainting generator: :func:`load_release`, refused unless ``name`` is an inpainter."""
    r = load_release(name, directory)
    if r.config.net != "inpainter":
        raise ValueError(f"release {name!r} is a {r.config.net}, not an inpainting generator")
    return r
