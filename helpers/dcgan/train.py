"""DCGAN training through the shared loop, its data, and its releases.

``train(cfg, run_dir)`` is :func:`helpers.core.loop.train` with :class:`DCGAN`, the method's part
of the contract: the data (SynthFaces rendered once into memory), the networks and optimisers
(Adam, Radford et al.'s lr 2e-4 and beta1 0.5), and the step (:func:`helpers.dcgan.losses.train_step`
with noise drawn from the run's saved ``z`` stream).
"""
from __future__ import annotations

from pathlib import Path

import torch

from helpers.core import loop, release as rel, runtime
from helpers.core.images import ImageBank
from helpers.dcgan.evaluate import evaluate, face_bank
from helpers.dcgan.losses import train_step
from helpers.dcgan.model import Config, build, init_weights

__all__ = ["DCGAN", "METHOD", "train", "release", "load_release"]


class DCGAN(loop.Method):
    """DCGAN (Radford et al. 2016) on SynthFaces."""

    name = "dcgan"
    config_class = Config

    def dataset(self, cfg: Config) -> ImageBank:
        return ImageBank(face_bank(cfg))

    def build(self, cfg: Config, data, env: loop.Env) -> loop.Parts:
        G, D = build(cfg)
        G.apply(init_weights)
        D.apply(init_weights)
        G.to(env.device)
        D.to(env.device)
        return loop.Parts(
            models={"G": G, "D": D},
            optimizers={"G": torch.optim.Adam(G.parameters(), cfg.lr_g, betas=cfg.betas),
                        "D": torch.optim.Adam(D.parameters(), cfg.lr_d, betas=cfg.betas)},
            generators={"z": env.generator("z")})

    def step(self, s: loop.State, real: torch.Tensor) -> dict:
        z = torch.randn(real.shape[0], s.cfg.nz, generator=s.generators["z"]).to(s.device)
        with s.autocast():
            return train_step(s, real, z)

    def log_keys(self):
        return ("loss_d", "loss_g", "d_real", "d_fake")

    # -- command-line hooks
    def release(self, res: loop.TrainResult, name: str, command: str) -> Path:
        return release(res, name, command)

    def evaluate_release(self, name: str) -> dict:
        r = load_release(name)
        return evaluate(r.G, r.config, n=r.metrics["n"])


METHOD = DCGAN()


def train(cfg: Config | None = None, run_dir=None, budget_minutes: float | None = None,
          max_steps: int | None = None, progress: bool = True) -> loop.TrainResult:
    """Train (or continue) a DCGAN: :func:`helpers.core.loop.train` with :class:`DCGAN`.

    ``run_dir`` defaults to ``runs/dcgan-<profile>``; calling again with the same folder and config
    continues from the newest checkpoint (bit-identical to an uninterrupted run on CPU). Logs
    loss_d, loss_g, D(x), D(G(z)) and g_grad to ``metrics.jsonl``. Shown in notebook 01 §4.
    """
    cfg = cfg or Config.for_profile()
    return loop.train(METHOD, cfg, run_dir, budget_minutes=budget_minutes, max_steps=max_steps,
                      progress=progress)


HEADLINE = ("pixel_fd", "pixel_fd_real", "nn_rmse", "nn_rmse_real", "colour_mean_err", "steps")


def release(res: loop.TrainResult, name: str, command: str, eval_n: int = 500, directory=None) -> Path:
    """Measure a finished run (:func:`helpers.dcgan.evaluate.evaluate`) and save it as a release."""
    G = res.models["G"]
    metrics = evaluate(G, res.config, n=eval_n, progress=True)
    metrics["steps"] = res.step
    hist = res.history
    tail = hist.dropna(subset=["loss_d"]).tail(10)
    metrics.update({f"final_{k}": round(float(tail[k].mean()), 4) for k in ("d_real", "d_fake", "loss_d", "loss_g")})
    return rel.save_release({"G": res.models["G"], "D": res.models["D"]}, name, command=command,
                            config=res.config.to_dict(), train_seconds=res.train_seconds,
                            metrics=metrics, headline=HEADLINE,
                            notes=f"{res.precision}, {res.config.threads or torch.get_num_threads()} CPU "
                                  f"thread(s), {res.cpu_seconds / 60:.1f} CPU-minutes; metrics from "
                                  f"helpers.dcgan.evaluate.evaluate(n={eval_n})",
                            directory=directory or runtime.CHECKPOINT_DIR)


def load_release(name: str = "dcgan64", directory=None) -> rel.Release:
    """A committed release (default ``checkpoints/dcgan64``): ``.G`` and ``.D`` (eval mode, CPU),
    ``.config`` (:class:`~helpers.dcgan.model.Config`) and ``.manifest`` (sha256 checked on loading)."""
    directory = directory or runtime.CHECKPOINT_DIR
    cfg = Config.from_dict(rel.read_manifest(name, directory)["config"])
    G, D = build(cfg)
    manifest = rel.load_release(name, {"G": G, "D": D}, directory)
    return rel.Release(name, {"G": G.eval(), "D": D.eval()}, cfg, manifest)
