"""StyleGAN2 training through the shared loop, releases (measured by :mod:`helpers.stylegan2.evaluate`).

``python -m helpers.stylegan2 train --profile demo --release stylegan2_64`` trains the demo
generator on FFHQ-aligned SynthFaces (:func:`helpers.stylegan2.data.training_faces`) and writes
``checkpoints/stylegan2_64`` (G_ema, fp16) with a manifest whose ``curve`` holds FID/KID (the
shared face-analysis features, :mod:`helpers.core.distribution`) of every checkpoint kept along
training (the demo keeps one every 500 steps), measured when the release is written.

All randomness comes from saved sources: the torch global RNG (weights, per-pixel noise), the data
order (a function of seed and step), the ``z`` stream (latents, mixing draws) and the ``flip``
stream, so a stopped and resumed run equals an uninterrupted one (tests/test_stylegan2.py).
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch

from helpers.core import loop, release as rel, runtime
from helpers.core.checkpoint import RunDir, checkpoint_step, load_models
from helpers.core.images import ImageBank
from helpers.stylegan2.data import training_faces
from helpers.stylegan2.evaluate import checkpoint_curve, release_metrics
from helpers.stylegan2.losses import make_optimizers, train_step
from helpers.stylegan2.model import Config, Generator, build

__all__ = ["StyleGAN2", "METHOD", "train", "release", "load_release", "load_run", "HEADLINE",
           "generator_from_config"]


def generator_from_config(cfg: Config) -> Generator:
    """An untrained generator of ``cfg``'s architecture."""
    return build(cfg)[0]


class StyleGAN2(loop.Method):
    """StyleGAN2 (Karras et al. 2020) on FFHQ-aligned SynthFaces."""

    name = "stylegan2"
    config_class = Config

    def dataset(self, cfg: Config) -> ImageBank:
        return ImageBank(training_faces(cfg))

    def build(self, cfg: Config, data, env: loop.Env) -> loop.Parts:
        G, D = build(cfg)
        G_ema = copy.deepcopy(G).requires_grad_(False).eval()
        for m in (G, D, G_ema):
            m.to(env.device)
        return loop.Parts(models={"G": G, "D": D, "G_ema": G_ema}, optimizers=make_optimizers(G, D, cfg),
                          generators={"z": env.generator("z"), "flip": env.generator("flip")})

    def step(self, s: loop.State, real: torch.Tensor) -> dict:
        cfg, g = s.cfg, s.generators["z"]
        n, num_ws = real.shape[0], s.models["G"].num_ws
        if cfg.mirror:
            flip = torch.rand(n, generator=s.generators["flip"]) < 0.5
            real = torch.where(flip.to(real.device)[:, None, None, None], real.flip(3), real)

        def draw():
            z, z2 = (torch.randn(n, cfg.z_dim, generator=g).to(s.device) for _ in range(2))
            return z, z2, torch.rand((), generator=g), torch.randint(1, max(2, num_ws), (), generator=g)
        draws = {"d": draw(), "g": draw(), "pl": draw()}
        s.models["G_ema"].eval()
        return train_step(s, real, draws)

    def samples(self, s: loop.State) -> torch.Tensor:
        return s.models["G_ema"].sample(16, seed=0)

    def log_keys(self):
        return ("d_loss", "g_loss", "d_real", "d_fake")

    # -- command-line hooks
    def release(self, res: loop.TrainResult, name: str, command: str) -> Path:
        return release(res, name, command)

    def evaluate_release(self, name: str) -> dict:
        r = load_release(name)
        return release_metrics(r.G_ema, r.config, proj_steps=r.metrics.get("proj_steps", 100))


METHOD = StyleGAN2()


def train(cfg: Config | None = None, run_dir=None, budget_minutes: float | None = None,
          max_steps: int | None = None, progress: bool = True) -> loop.TrainResult:
    """Train (or continue) StyleGAN2 with :func:`helpers.core.loop.train`; resumable.

    ``run_dir`` defaults to ``runs/stylegan2-<profile>``. Logs d_loss, g_loss, D logits, R1 and the
    path-length penalty to ``metrics.jsonl``. Shown in notebook 04 §4.
    """
    cfg = cfg or Config.for_profile()
    return loop.train(METHOD, cfg, run_dir, budget_minutes=budget_minutes, max_steps=max_steps,
                      progress=progress)


def load_run(cfg: Config, run_dir, step: int | None = None) -> tuple[Generator, int]:
    """G_ema of a run's newest checkpoint (or of ``step``): (generator, step), eval mode, CPU."""
    G = generator_from_config(cfg)
    ckpts = RunDir(run_dir, cfg.result_dict(), models={"G_ema": G}, writer=False).checkpoints()
    if step is not None:
        ckpts = [p for p in ckpts if checkpoint_step(p) == step]
    if not ckpts:
        raise FileNotFoundError(f"no checkpoint{'' if step is None else f' at step {step}'} in {run_dir}")
    info = load_models(ckpts[0], {"G_ema": G})
    return G.eval().requires_grad_(False), info["step"]


HEADLINE = ("fid", "kid", "fid_real", "psnr_w_plus", "steps")


def release(res: loop.TrainResult, name: str, command: str, directory=None, dtype=torch.float16, net=None,
            proj_steps: int | None = None) -> Path:
    """Measure a finished run and save its G_ema as a release (``dtype`` weights, measured after rounding).

    The recorded command is the ``train ... --release NAME`` form (on a finished run directory it
    trains nothing and writes the same release).
    """
    cfg = res.config
    if dtype not in (None, torch.float16):
        raise ValueError(f"a StyleGAN2 release is stored as float16 or float32 (dtype None), got {dtype}")
    G = res.models["G_ema"].cpu().eval()
    if dtype is not None:   # measure what is stored: the weights after the round trip through float16
        G = rel.fp16_copy(G)
    metrics = release_metrics(G, cfg, net=net, **({"proj_steps": proj_steps} if proj_steps else {}))
    metrics["steps"] = res.step
    curve = checkpoint_curve(cfg, res.run.path, net=net)
    hist = res.history
    tail = hist.dropna(subset=["d_loss"]).tail(20) if "d_loss" in hist else hist.iloc[:0]
    metrics.update({f"final_{k}": round(float(tail[k].mean()), 4) for k in ("d_loss", "g_loss", "d_real", "d_fake")
                    if k in tail and len(tail)})
    train_cmd = command
    if " release " in f" {command} ":
        train_cmd = command.replace(f" release {name}", " train", 1) + f" --release {name}"
    return rel.save_release(
        {"G_ema": G}, name, command=train_cmd, config=cfg.to_dict(), train_seconds=res.train_seconds,
        metrics=metrics, curve=curve, headline=HEADLINE, dtype=dtype,
        directory=directory or runtime.CHECKPOINT_DIR,
        notes=(f"StyleGAN2 G_ema ({res.precision} training, {cfg.threads or torch.get_num_threads()} CPU thread(s), "
               f"{res.cpu_seconds / 60:.1f} CPU-minutes); weights stored as {str(dtype).replace('torch.', '')}, "
               f"metrics measured after that rounding by helpers.stylegan2.evaluate.release_metrics; "
               f"curve = FID/KID of the checkpoints kept every {cfg.save_every} steps (fewer images). "
               f"Released by: {command}"))


def load_release(name: str = "stylegan2_64", directory=None) -> rel.Release:
    """A committed generator (default ``checkpoints/stylegan2_64``): ``.G_ema`` (float32, eval mode,
    CPU, no gradients), ``.config`` (:class:`Config`), ``.manifest`` (sha256 checked, nothing unpickled)."""
    directory = directory or runtime.CHECKPOINT_DIR
    manifest = rel.read_manifest(name, directory)
    cfg = Config.from_dict(manifest["config"])
    G = generator_from_config(cfg)
    rel.load_release(name, {"G_ema": G}, directory)
    return rel.Release(name, {"G_ema": G.eval().requires_grad_(False)}, cfg, manifest)
