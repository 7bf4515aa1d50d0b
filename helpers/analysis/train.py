"""Training the analysis network through the shared loop, and its release.

``python -m helpers.analysis train --profile demo --release analysis128`` trains
:class:`helpers.faces.analysis.AnalysisNet` on 20,000 SynthFaces of 2,000 people (40 % masked),
then measures it on people it never saw (:mod:`helpers.analysis.evaluate`) and writes
``checkpoints/analysis128`` (fp16 weights, measured after the fp16 rounding, so the manifest's
numbers are those of the stored file).
"""
from __future__ import annotations

from pathlib import Path

import torch

from helpers.core import loop, release as rel, runtime
from helpers.analysis.data import CHECK_SPEC, TEST_IDENTITIES, LabelledBank, face_data, test_faces
from helpers.analysis.evaluate import accuracy_table, check_metrics, degradation, measure, speed
from helpers.analysis.losses import train_step
from helpers.analysis.model import Config, build
from helpers.faces import analysis as fa

__all__ = ["Analysis", "METHOD", "train", "release", "load_release", "HEADLINE"]


class Analysis(loop.Method):
    """The SynthFaces face-analysis network (landmarks, AUs, expression, smiling, pose, identity)."""

    name = "analysis"
    config_class = Config

    def dataset(self, cfg: Config) -> LabelledBank:
        return LabelledBank(face_data(cfg))

    def build(self, cfg: Config, data, env: loop.Env) -> loop.Parts:
        net, head = build(cfg)
        net.to(env.device).to(memory_format=torch.channels_last)
        head.to(env.device)
        params = list(net.parameters()) + list(head.parameters())
        val = test_faces(cfg.n_val, cfg.size, masked=False, seed=TEST_SEED_VAL)
        return loop.Parts(models={"net": net, "head": head},
                          optimizers={"net": torch.optim.AdamW(params, cfg.lr, weight_decay=cfg.weight_decay)},
                          generators={"aug": env.generator("aug")}, extra={"val": val})

    def step(self, s: loop.State, batch: dict) -> dict:
        return train_step(s, batch)

    def evaluate(self, s: loop.State) -> dict:
        m = measure(s.models["net"], s.extra["val"], per_au=False)
        return {f"val_{k}": m[k] for k in ("nme", "nme_mouth", "au_mae", "expression_acc", "smiling_acc",
                                            "pose_mae", "identity_auc")}

    def log_keys(self):
        return ("loss", "loss_lm", "loss_id")

    # -- command-line hooks
    def release(self, res: loop.TrainResult, name: str, command: str) -> Path:
        return release(res, name, command)

    def evaluate_release(self, name: str) -> dict:
        net = load_release(name).net
        return {"check": check_metrics(net), "speed": speed(net)}


TEST_SEED_VAL = 3       # validation faces (unseen people, another seed than the test sets)
METHOD = Analysis()


def train(cfg: Config | None = None, run_dir=None, budget_minutes: float | None = None,
          max_steps: int | None = None, progress: bool = True) -> loop.TrainResult:
    """Train (or continue) the analysis network: :func:`helpers.core.loop.train` with :class:`Analysis`."""
    cfg = cfg or Config.for_profile()
    return loop.train(METHOD, cfg, run_dir, budget_minutes=budget_minutes, max_steps=max_steps,
                      progress=progress)


HEADLINE = ("nme_128", "nme_mouth_128_masked", "au_mae_128", "expression_acc_128", "smiling_acc_128",
            "identity_auc_128", "identity_auc_128_masked", "images_per_s_128")


def release(res: loop.TrainResult, name: str, command: str, n_test: int | None = None, directory=None) -> Path:
    """Measure a finished run on unseen people (64/128 px, masked or not) and save it as a release.

    Metrics: ``accuracy`` (every condition, with the per-AU table), ``check`` (the small fixed set
    of :data:`helpers.analysis.data.CHECK_SPEC`, re-measured by the tests), ``fid_sanity``
    (FID/KID as noise and blur grow), ``speed`` (images/s), and flat headline numbers.
    """
    cfg = res.config
    n_test = n_test or (1000 if cfg.profile != "quick" else 32)
    net = rel.fp16_copy(res.models["net"])
    acc = accuracy_table(net, n_test, sizes=(64, 128) if cfg.size >= 128 else (cfg.size,), progress=True)
    hist = res.history
    curve_cols = [c for c in hist.columns if c.startswith("val_")]
    curve = (hist.dropna(subset=curve_cols[:1])[["step"] + curve_cols].to_dict("records") if curve_cols else [])
    quick = cfg.profile == "quick"
    metrics = {
        "accuracy": acc,
        "check": {"spec": {k: (list(v) if isinstance(v, range) else v) for k, v in CHECK_SPEC.items()},
                  **check_metrics(net)},
        "fid_sanity": degradation(net, 24 if quick else 500, 64, kid_subset=16 if quick else 200),
        "speed": speed(net, n=32 if quick else 256, repeats=1 if quick else 3),
        "test_identities": [TEST_IDENTITIES.start, TEST_IDENTITIES.stop],
        "steps": res.step,
    }
    top = f"{cfg.size}_unmasked" if f"{cfg.size}_unmasked" in acc else next(iter(acc))
    topm = top.replace("unmasked", "masked")
    flat = {"nme_128": acc[top]["nme"], "nme_mouth_128_masked": acc[topm]["nme_mouth"],
            "au_mae_128": acc[top]["au_mae"], "expression_acc_128": acc[top]["expression_acc"],
            "smiling_acc_128": acc[top]["smiling_acc"], "identity_auc_128": acc[top]["identity_auc"],
            "identity_auc_128_masked": acc[topm]["identity_auc"],
            "identity_threshold": acc[top]["identity_threshold"],
            "images_per_s_128": metrics["speed"].get("images_per_s_128", 0.0)}
    metrics.update(flat)
    return rel.save_release({"net": res.models["net"]}, name, command=command, config=cfg.to_dict(),
                            train_seconds=res.train_seconds, metrics=metrics, curve=curve, headline=HEADLINE,
                            dtype=torch.float16,
                            notes=f"{res.precision}, {cfg.threads or torch.get_num_threads()} CPU thread(s), "
                                  f"{res.cpu_seconds / 60:.1f} CPU-minutes; weights stored in float16 and "
                                  f"measured after that rounding on {n_test} faces of unseen people per condition "
                                  "(helpers.analysis.evaluate). Trained on SynthFaces only: not for real photos.",
                            directory=directory or runtime.CHECKPOINT_DIR)


def load_release(name: str = fa.DEFAULT_RELEASE, directory=None) -> rel.Release:
    """A committed release (default ``checkpoints/analysis128``): ``.net`` (also ``.model``), the
    :class:`~helpers.faces.analysis.AnalysisNet` in eval mode on the CPU, frozen, ``.config``
    (:class:`~helpers.analysis.model.Config`) and ``.manifest`` (sha256 checked on loading).

    The network is :func:`helpers.faces.analysis.load`'s cached copy, the one every measure of the
    course reads faces with: share it, do not train it in place.
    """
    net = fa.load(name, directory)
    manifest = rel.read_manifest(name, directory or runtime.CHECKPOINT_DIR)
    return rel.Release(name, {"net": net}, Config.from_dict(manifest["config"]), manifest)
