"""GLCIC training through the shared loop: the method, the study's curve by sessions, releases.

All randomness of a run comes from sources the run directory saves: the torch global RNG (weight
initialisation), the data order (:class:`helpers.core.loop.StepSampler`, a function of seed and
step) and the ``holes`` stream (hole boxes and the real images' local patches). Evaluation and
sample grids draw nothing, so a run stopped by a budget and resumed is bit-identical to an
uninterrupted run on the same CPU (tests/test_glcic.py proves it).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from helpers.core import loop, release as rel, runtime
from helpers.core.files import atomic_write_bytes
from helpers.core.checkpoint import RunDir, load_models
from helpers.glcic.data import TEST_IDENTITIES, TEST_SEED, TestSet, mean_color_of, testsets_for, training_data
from helpers.glcic.evaluate import BLEND_PREFIX, baseline_measures, evaluate, measure, model_fn
from helpers.glcic.losses import completion_step, discriminator_step, joint_step, make_optimizer
from helpers.glcic.model import (CompletionNet, Config, boxes_to_masks, build_models, complete, local_boxes, paste,
                                 phase_at, random_local_boxes, sample_boxes)

__all__ = ["GLCIC", "METHOD", "train", "load_run", "curve_by_training", "release", "load_release", "HEADLINE"]


# ------------------------------------------------------------------------------------- the method
class GLCIC(loop.Method):
    """GLCIC (Iizuka et al. 2017) with the GLCIC course study's random or mouth holes."""

    name = "glcic"
    config_class = Config

    def dataset(self, cfg: Config):
        return training_data(cfg)

    def build(self, cfg: Config, data, env: loop.Env) -> loop.Parts:
        C, D = build_models(cfg)
        mean = cfg.mean_color if cfg.mean_color is not None else mean_color_of(data)
        C.mean_color.copy_(torch.as_tensor(mean, dtype=torch.float32))
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        C.to(env.device, memory_format=fmt)
        D.to(env.device, memory_format=fmt)
        return loop.Parts(models={"C": C, "D": D},
                          optimizers={"C": make_optimizer(C.parameters(), cfg),
                                      "D": make_optimizer(D.parameters(), cfg, cfg.lr_d)},
                          generators={"holes": env.generator("holes")})

    def phase(self, cfg: Config, step: int) -> str:
        return phase_at(step, cfg)

    def step(self, s: loop.State, x: torch.Tensor) -> dict:
        cfg, g = s.cfg, s.generators["holes"]
        n = x.shape[0]
        boxes = sample_boxes(n, cfg.size, cfg.holes, g)
        real_boxes = random_local_boxes(n, cfg.size, cfg.local_size, g)  # drawn in both modes: same stream
        if cfg.real_patches == "matched":
            real_boxes = local_boxes(boxes, cfg.size, cfg.local_size)
        m = boxes_to_masks(boxes, cfg.size).to(s.device, non_blocking=True)
        if cfg.channels_last:
            x, m = x.contiguous(memory_format=torch.channels_last), m.contiguous(memory_format=torch.channels_last)
        if s.phase == "completion":
            return completion_step(s, x, m)
        if s.phase == "discriminator":
            return discriminator_step(s, x, m, boxes, real_boxes)
        return joint_step(s, x, m, boxes, real_boxes)

    def evaluate(self, s: loop.State) -> dict:
        """The study's curve: measures on the first ``eval_n`` fixed test images of each hole type."""
        return measure(s.models["C"], s.cfg, s.cfg.eval_n)

    def samples(self, s: loop.State) -> torch.Tensor:
        """Rows: input with the hole (white), the completion, the original (8 mouth-hole test faces)."""
        ts = testsets_for(s.cfg, 8, ("mouth",))["mouth"]
        done = complete(s.models["C"], ts.images, ts.masks,
                        blend="fmm+poisson" if s.cfg.poisson_samples else "paste")
        return torch.cat([paste(ts.images, torch.ones_like(ts.images), ts.masks), done, ts.images])

    def log_keys(self):
        return ("phase", "mse", "d_loss", "adv", "mouth_psnr")

    # -- command-line hooks
    def release(self, res: loop.TrainResult, name: str, command: str) -> Path:
        return release(res, name, command)

    def evaluate_release(self, name: str) -> dict:
        r = load_release(name)
        n = 64 if r.config.data in ("synthfaces", "toy") else 100
        out = measure(r.C, r.config, n, faces=True)
        for blend, prefix in BLEND_PREFIXES.items():
            out.update(measure(r.C, r.config, n, features=(), faces=True, blend=blend, prefix=prefix))
        return out


METHOD = GLCIC()


def train(cfg: Config, run_dir=None, budget_minutes: float | None = None, max_steps: int | None = None,
          progress: bool = True) -> loop.TrainResult:
    """Train GLCIC in three phases through :func:`helpers.core.loop.train`; resumable.

    Calling again with the same ``run_dir`` and config continues from the newest checkpoint at the
    exact step, phase, optimiser and RNG state. ``budget_minutes`` (wall clock of this call) and
    ``max_steps`` (an absolute step number) stop the call cleanly with a checkpoint. The history
    (``result.history``) has mse, d_loss, adv per logged window and, every ``cfg.eval_every``
    steps, the study's curve (``mouth_psnr`` ... ``random_sift``). Shown in notebook 02 §4.
    """
    return loop.train(METHOD, cfg, run_dir, budget_minutes=budget_minutes, max_steps=max_steps,
                      progress=progress)


def load_run(cfg: Config, run_dir) -> tuple[CompletionNet, dict]:
    """The completion network of a run's newest checkpoint (eval mode, CPU) and its ``step``/``extra``."""
    ckpts = RunDir(run_dir, cfg.result_dict(), models={"C": CompletionNet(cfg.width, cfg.upsample)}, writer=False).checkpoints()
    if not ckpts:
        raise FileNotFoundError(f"no checkpoint in {run_dir}")
    C = CompletionNet(cfg.width, cfg.upsample)
    info = load_models(ckpts[0], {"C": C})
    return C.eval(), info


def curve_by_training(cfg: Config, run_path, every: int, testset: TestSet, features=("orb", "sift"),
                      progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train in *sessions* of ``every`` steps and evaluate after each: the study's routine.

    The seed trained about 80,000 iterations per Colab session, resumed from the saved model, and
    measured its similarity every 80,000 iterations. Here each session is one call of :func:`train`
    with ``max_steps`` = the next multiple of ``every`` (it resumes from the run directory's newest
    checkpoint), followed by an evaluation on ``testset``. Points already measured are kept in
    ``run_path/curve.csv`` (written atomically), so calling again after an interruption continues.

    Returns ``(curve, history)``: one row per session end (``step`` + mean measures) and the run's
    training log after the last session.
    """
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive int, got {every!r}")
    run_path = Path(run_path)
    run_path.mkdir(parents=True, exist_ok=True)
    csv = run_path / "curve.csv"
    curve = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    targets = list(range(every, cfg.steps + 1, every))
    if not targets or targets[-1] != cfg.steps:
        targets.append(cfg.steps)
    res = None
    for target in targets:
        if len(curve) and target in set(curve["step"]):
            continue
        res = train(cfg, run_path, max_steps=target, progress=progress)
        df = evaluate(model_fn(res.models["C"]), testset, features)
        row = {"step": res.step, "session": len(curve) + 1,
               **{c: float(df[c].replace([np.inf], np.nan).mean()) for c in ["psnr", "ssim", "l1", *features]}}
        curve = pd.concat([curve, pd.DataFrame([row])], ignore_index=True)
        atomic_write_bytes(csv, curve.to_csv(index=False).encode())
    if res is None:
        res = train(cfg, run_path, max_steps=cfg.steps, progress=False)
    return curve, res.history


# ------------------------------------------------------------------------------------- releases
HEADLINE = ("mouth_psnr", "mouth_ssim", "mouth_l1", "mouth_orb", "random_psnr", "random_ssim")
#: manifest key prefix of each post-processing measured beside the plain paste (no prefix)
BLEND_PREFIXES = {blend: prefix for blend, prefix in BLEND_PREFIX.items() if prefix}


def release(res: loop.TrainResult, name: str, command: str, directory=None) -> Path:
    """Measure a finished run on 64 fixed test faces (and both baselines), save it as a release."""
    cfg, C = res.config, res.models["C"].cpu().eval()
    C.half().float()                 # stored in fp16: measure exactly the weights that are committed
    n = 64 if cfg.data in ("synthfaces", "toy") else 100   # a folder: its test split, up to the GLCIC course study's 100
    metrics = measure(C, cfg, n, faces=True)
    for blend, prefix in BLEND_PREFIXES.items():    # the paper's post-processing, and Poisson alone
        metrics.update(measure(C, cfg, n, features=(), faces=True, blend=blend, prefix=prefix))
    metrics.update(baseline_measures(cfg, n, faces=True))
    metrics["n_test"] = len(testsets_for(cfg, n, ("mouth",))["mouth"])
    metrics["steps"] = res.step
    hist = res.history
    cols = [c for c in hist.columns if c.startswith(("mouth_", "random_"))]
    curve = hist.dropna(subset=cols)[["step", *cols]] if cols else hist.iloc[:0]
    conf = cfg.to_dict()
    conf["mean_color"] = [float(v) for v in C.mean_color]
    test = (f"SynthFaces seed {TEST_SEED}, identities {TEST_IDENTITIES.start}.. (never in training), "
            f"first 64, {cfg.size} px (helpers.glcic.data.make_testset)" if cfg.data == "synthfaces"
            else f"the test split of {cfg.data}")
    return rel.save_release(
        {"C": C}, name, command=command, config=conf, train_seconds=res.train_seconds, metrics=metrics,
        data=rel.data_entry(cfg.data, synthetic=("synthfaces", "toy")), curve=[{k: (int(v) if k == "step" else round(float(v), 5)) for k, v in r.items()}
                                      for r in curve.to_dict("records")],
        headline=HEADLINE, directory=directory or runtime.CHECKPOINT_DIR, dtype=torch.float16,
        notes=f"GLCIC completion network (trained in {res.precision}, stored in fp16 and measured after "
              f"that rounding); face measures (nme_mouth, smiling, FID/KID) by "
              f"{'the analysis network' if cfg.data == 'synthfaces' else 'dlib landmarks'}; load with helpers.glcic.load_release(name). "
              f"Test set: {test}; random holes from torch.Generator().manual_seed({TEST_SEED}); PSNR/SSIM/L1 "
              f"inside the hole, ORB/SIFT feature distance in and around it, seam/checker = excess "
              f"gradient on the hole border / 2x2 checkerboard energy in the hole over the truth's; "
              f"keys poisson_* and fmm_poisson_*: the same after Poisson blending alone and after "
              f"fast marching + Poisson (the paper's post-processing); baselines mean fill and "
              f"OpenCV Telea. Curve: the same measures on the first {cfg.eval_n} test faces every "
              f"{cfg.eval_every} steps.")


def load_release(name: str, directory=None) -> rel.Release:
    """A committed release: ``.C`` (also ``.model``) the completion network (eval mode, CPU), ``.config``
    the run's :class:`~helpers.glcic.model.Config`, ``.manifest`` (sha256 checked on loading).

    Releases made before the restructure store the network as ``"completion"``; it is ``.C`` here too.
    """
    directory = directory or runtime.CHECKPOINT_DIR
    manifest = rel.read_manifest(name, directory)
    cfg = Config.from_dict({"upsample": "deconv", **manifest["config"]})   # releases before the switch: deconv
    C = CompletionNet(cfg.width, cfg.upsample)
    (key,) = manifest["models"]          # "C"; releases made before the restructure say "completion"
    manifest = rel.load_release(name, {key: C}, directory)
    return rel.Release(name, {"C": C.eval()}, cfg, manifest)

