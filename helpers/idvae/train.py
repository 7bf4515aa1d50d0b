"""Training through the shared loop, the iterations curve (Fig. 3), and the releases of Table 3.

``train(cfg, run_dir)`` is :func:`helpers.core.loop.train` with :class:`IdVAE`: the data
(:func:`helpers.idvae.data.load_sets`), the networks and optimisers (Adam with the paper's
0.9 / 0.999 / 1e-8 and lr 5e-4, decayed by 0.95 per epoch), the stage of every step
(:func:`helpers.idvae.losses.stages`) and one step function per stage. At the end of each
expression stage the k-means accuracy is measured on the recognition sets (``cfg.eval_runs``
runs): the curve of Fig. 3, stored in the release manifest.

Releases (``--release NAME``) hold the generator only (encoders + decoder, fp16; the
discriminator is a training tool) and a manifest whose metrics were measured on the fp16 weights:
Table 3's accuracy over 100 k-means runs and over 10 runs (what the release test recomputes),
the leakage probes and the AU probe.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from helpers.core import loop, release as rel, runtime
from helpers.idvae.data import Sets, load_sets, n_train_images, subject_members
from helpers.idvae.evaluate import HEADLINE, TEST_RUNS, recognition_metrics, release_metrics
from helpers.idvae.losses import (expression_step, identity_step, other_subject, same_subject, set_lr, stage_at, stages,
                                  steps_per_epoch, vae_step)
from helpers.idvae.model import Config, IdExpVAE, build

__all__ = ["IdVAE", "METHOD", "train", "release", "load_release", "generator_for"]


def _adam(params, cfg: Config) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.adam_betas), eps=cfg.adam_eps)


class IdVAE(loop.Method):
    """Identity / expression VAE (the identity/expression VAE paper) and the Table 3 baselines, on the shared loop."""

    name = "idvae"
    config_class = Config

    def __init__(self):
        self._schedules: dict[str, list] = {}

    def dataset(self, cfg: Config) -> Sets:
        sets = load_sets(cfg)
        if len(sets.train) == 0:
            raise ValueError("no training images")
        return sets

    @staticmethod
    def optimizers_for(nets: dict, cfg: Config) -> dict:
        """Adam (0.9, 0.999, 1e-8): identity stage = identity encoder + decoder, expression stage =
        expression encoder + decoder, D; the plain VAE / C-VAE: one optimiser for everything."""
        G = nets["G"]
        if cfg.model != "idvae":
            return {"G": _adam(G.parameters(), cfg)}
        opts = {"identity": _adam(list(G.identity.parameters()) + list(G.decoder.parameters()), cfg),
                "expression": _adam(list(G.expression.parameters()) + list(G.decoder.parameters()), cfg)}
        if "D" in nets:
            opts["D"] = _adam(nets["D"].parameters(), cfg)
        return opts

    def build(self, cfg: Config, data: Sets, env: loop.Env) -> loop.Parts:
        nets = build(cfg, n_subjects=len(data.train.subject_names))
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        for m in nets.values():
            m.to(env.device, memory_format=fmt)
        schedule = stages(cfg, len(data.train))
        return loop.Parts(models=nets, optimizers=self.optimizers_for(nets, cfg),
                          generators={"pairs": env.generator("pairs"), "noise": env.generator("noise")},
                          extra={"sets": data, "members": subject_members(data.train.subject), "fmt": fmt,
                                 "schedule": schedule, "spe": steps_per_epoch(len(data.train), cfg.batch)})

    def schedule(self, cfg: Config):
        """The stages of ``cfg`` (cached: a folder's manifest is read once)."""
        key = json.dumps(cfg.result_dict(), sort_keys=True)
        if key not in self._schedules:
            self._schedules[key] = stages(cfg, n_train_images(cfg))
        return self._schedules[key]

    def total_steps(self, cfg: Config) -> int:
        return self.schedule(cfg)[-1].stop

    def phase(self, cfg: Config, step: int) -> str:
        return stage_at(self.schedule(cfg), step).name

    def step(self, s: loop.State, batch: dict) -> dict:
        cfg, ex = s.cfg, s.extra
        fmt = ex["fmt"]
        x, subject = batch["image"].contiguous(memory_format=fmt), batch["subject"]
        lr = set_lr(s, ex["schedule"], ex["spe"])
        kind = stage_at(ex["schedule"], s.step).kind
        train = ex["sets"].train
        if kind == "identity":
            target = train.float_images(same_subject(ex["members"], subject.cpu(), s.generators["pairs"]))
            out = identity_step(s, x, target.to(s.device).contiguous(memory_format=fmt))
        elif kind == "expression":
            other = None
            if cfg.gamma > 0:
                other = train.float_images(other_subject(ex["members"], subject.cpu(), s.generators["pairs"]))
                other = other.to(s.device).contiguous(memory_format=fmt)
            out = expression_step(s, x, other)
        else:
            out = vae_step(s, x, subject if cfg.model == "cvae" else None)
        return {**out, "lr": lr}

    def evaluate(self, s: loop.State) -> dict:
        """Fig. 3: k-means accuracy after each expression stage (and after the VAE's one stage)."""
        done = s.step + 1
        st = stage_at(s.extra["schedule"], s.step)
        if done != st.stop or st.kind == "identity":
            return {}
        m = recognition_metrics(s.models["G"], s.extra["sets"], runs=s.cfg.eval_runs, prefix="curve_")
        return {"iteration": st.iteration, **m}

    def samples(self, s: loop.State) -> torch.Tensor:
        """Top: 8 recognition images of test subjects; below: their reconstructions."""
        G, rec = s.models["G"], s.extra["sets"].recog_test
        idx = torch.linspace(0, len(rec) - 1, 8).long()
        x = rec.float_images(idx).to(s.device)
        with loop.evaluating(G):
            if isinstance(G, IdExpVAE):
                y = G.decode(G.identity(x)[0], G.expression(x)[0])
            else:
                y = G.decode(G.encode(x)[0]) if G.n_subjects == 0 else x
        return torch.cat([x, y]).cpu()

    def log_keys(self):
        return ("phase", "loss", "nll", "kl", "switch", "d_loss")

    # -- command-line hooks
    def release(self, res: loop.TrainResult, name: str, command: str) -> Path:
        return release(res, name, command)

    def evaluate_release(self, name: str) -> dict:
        r = load_release(name)
        return recognition_metrics(r.G, load_sets(r.config), runs=TEST_RUNS)


METHOD = IdVAE()


def train(cfg: Config | None = None, run_dir=None, budget_minutes: float | None = None,
          max_steps: int | None = None, progress: bool = True) -> loop.TrainResult:
    """Train (or continue) a run of ``cfg`` (default: the active profile's). Resumable: calling again
    with the same folder and config continues at the exact step, stage and random state.
    The history has loss, nll, kl (+ switch, d_loss, g_adv) per logged window and, after each
    expression stage, ``curve_acc_train`` / ``curve_acc_test``. Shown in notebook 06 §4."""
    cfg = cfg or Config.for_profile()
    return loop.train(METHOD, cfg, run_dir, budget_minutes=budget_minutes, max_steps=max_steps, progress=progress)


def release(res: loop.TrainResult, name: str, command: str, directory=None, runs: int = 100) -> Path:
    """Measure a finished run on its fp16-rounded weights and save the generator as a release."""
    cfg = res.config
    G = rel.fp16_copy(res.models["G"])
    sets = load_sets(cfg)
    metrics = release_metrics(G, sets, runs=runs)
    metrics.update(steps=res.step, n_subjects=len(sets.train.subject_names), n_train_images=len(sets.train),
                   weights_reading=cfg.reading())
    hist = res.history
    curve = []
    if "curve_acc_train" in hist.columns:
        cols = ["step", "iteration"] + [c for c in hist.columns if c.startswith("curve_")]
        for r in hist.dropna(subset=["curve_acc_train"])[cols].to_dict("records"):
            curve.append({k: (int(v) if k in ("step", "iteration") else round(float(v), 5)) for k, v in r.items()})
    return rel.save_release(
        {"G": G}, name, command=command, config=cfg.to_dict(), train_seconds=res.train_seconds, metrics=metrics,
        data=rel.data_entry(cfg.data, sets="helpers.idvae.data.synth_sets (sequences neutral -> apex)",
                            train_subjects=cfg.subjects, test_subjects=cfg.test_subjects),
        curve=curve, headline=[k for k in HEADLINE if k in metrics], dtype=torch.float16,
        directory=directory or runtime.CHECKPOINT_DIR,
        notes=f"{cfg.model} generator (encoders + decoder; no discriminator), fp16, trained in {res.precision} "
              f"with {cfg.threads or torch.get_num_threads()} CPU thread(s), {res.cpu_seconds / 60:.1f} CPU-minutes. "
              f"KL weight: {cfg.reading()}. Metrics measured on the fp16 weights by "
              f"helpers.idvae.evaluate.release_metrics (k-means++ k=9, {runs} runs and {TEST_RUNS} runs, seeds 0..).")


def generator_for(cfg: Config, n_subjects: int = 0) -> torch.nn.Module:
    """An untrained generator of ``cfg`` (what a release's weights load into)."""
    return build(cfg.replace(beta=0.0, gamma=0.0) if cfg.model == "idvae" else cfg, n_subjects)["G"]


def load_release(name: str, directory=None) -> rel.Release:
    """A committed release: ``.G`` the generator in eval mode on the CPU, ``.config`` its Config,
    ``.manifest`` (sha256 checked; nothing unpickled)."""
    directory = directory or runtime.CHECKPOINT_DIR
    manifest = rel.read_manifest(name, directory)
    cfg = Config.from_dict(manifest["config"])
    G = generator_for(cfg, manifest["metrics"].get("n_subjects", 0))
    rel.load_release(name, {"G": G}, directory)
    return rel.Release(name, {"G": G.eval()}, cfg, manifest)
