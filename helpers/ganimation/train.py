"""GANimation training through the shared loop (the ConvNeXt GANimation thesis' flow), and its releases.

Each iteration of :class:`GANimation` is the thesis' training flow on one batch: the target AUs are
those of *random other* training faces (plus the reference's small uniform noise), G edits the
batch to them, D judges the edits and regresses their AUs, and G maps its edits back to the
inputs' own AUs (the cycle). D is updated every iteration, G every ``g_every``-th. Every random
number (target choice, noise, flips, the gradient penalty's mixing weights) comes from the run's
saved ``edit`` stream and the weights from the seeded global RNG, so a run stopped by a budget and
resumed is bit-identical to an uninterrupted one (tests/test_ganimation.py shows it).

The curve (every ``eval_every`` steps, on ``eval_n`` fixed test edits of unseen people): PSNR to
the exact truth, leak, and the attention statistics. A release (:func:`release`) stores G (float16)
and the full evaluation of :func:`helpers.ganimation.evaluate.evaluate`, measured *after* the
float16 rounding, so the manifest's numbers are those of the stored file.
"""
from __future__ import annotations

import math
import shlex
from pathlib import Path

import torch

from helpers.core import loop, release as rel, runtime
from helpers.ganimation.data import edit_set, training_data
from helpers.ganimation.evaluate import check_measures, curve_measures, evaluate
from helpers.ganimation.losses import d_step, g_step, lr_factor
from helpers.ganimation.model import Config, build, compose, variant_name

__all__ = ["GANimation", "METHOD", "train", "release", "load_release", "HEADLINE", "train_command"]


class GANimation(loop.Method):
    """GANimation with the bottleneck blocks of the ConvNeXt GANimation thesis (ResNet or ConvNeXt) on AU-labelled faces."""

    name = "ganimation"
    config_class = Config

    def __init__(self):
        self._n_data: int | None = None

    def dataset(self, cfg: Config):
        data = training_data(cfg)
        self._n_data = len(data)
        return data

    def total_steps(self, cfg: Config) -> int:
        if cfg.epochs > 0:
            if self._n_data is None:
                raise ValueError("total_steps with epochs > 0 needs the data set first (call dataset)")
            return int(math.ceil(cfg.epochs * self._n_data / cfg.batch))
        return cfg.steps

    def build(self, cfg: Config, data, env: loop.Env) -> loop.Parts:
        G, D = build(cfg)
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        G.to(env.device, memory_format=fmt)
        D.to(env.device, memory_format=fmt)
        test = edit_set("random", cfg.eval_n, cfg.size) if cfg.eval_every else None
        return loop.Parts(
            models={"G": G, "D": D},
            optimizers={"G": torch.optim.Adam(G.parameters(), cfg.lr_g, betas=tuple(cfg.betas)),
                        "D": torch.optim.Adam(D.parameters(), cfg.lr_d, betas=tuple(cfg.betas))},
            generators={"edit": env.generator("edit")},
            extra={"aus": data.aus, "total": self.total_steps(cfg), "test": test})

    def step(self, s: loop.State, batch: dict) -> dict:
        cfg, g = s.cfg, s.generators["edit"]
        images, aus = batch["image"], batch["aus"]
        n = images.shape[0]
        pool = s.extra["aus"]
        target = pool[torch.randint(len(pool), (n,), generator=g)].clone()
        target += (torch.rand(n, target.shape[1], generator=g) * 2 - 1) * cfg.target_noise * cfg.au_scale
        alpha = torch.rand(n, 1, 1, 1, generator=g)
        if cfg.flip:
            flip = torch.rand(n, generator=g) < 0.5
            images = torch.where(flip[:, None, None, None].to(images.device), images.flip(-1), images)
        if cfg.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        target, alpha, aus = target.to(s.device), alpha.to(s.device), aus.to(s.device)
        f = lr_factor(s.step, s.extra["total"], cfg.decay_from)
        for name, lr in (("G", cfg.lr_g), ("D", cfg.lr_d)):
            for group in s.optimizers[name].param_groups:
                group["lr"] = lr * f
        out = d_step(s, images, aus, target, alpha)
        if (s.step + 1) % cfg.g_every == 0:
            s.persist["last_g"] = g_step(s, images, aus, target)
        out.update(s.persist.get("last_g", {}))
        out["lr_factor"] = f
        return out

    def evaluate(self, s: loop.State) -> dict:
        """The curve: PSNR to the truth, leak and attention on ``eval_n`` fixed unseen test edits."""
        G = s.models["G"]
        return curve_measures(G, s.extra["test"]) if s.extra.get("test") is not None else {}

    def samples(self, s: loop.State) -> torch.Tensor:
        """Rows: 8 test inputs, their edits, the truth, the attention masks (white = keep the input)."""
        es = s.extra.get("test") or edit_set("random", 8, s.cfg.size)
        es = es.subset(range(min(8, len(es))))
        G = s.models["G"]
        with loop.evaluating(G):
            p = next(G.parameters())
            colour, att = G(es.images.to(p.device), es.target.to(p.device))
            out = compose(es.images.to(p.device), colour, att).cpu()
        return torch.cat([es.images, out, es.truth, att.cpu().expand(-1, 3, -1, -1) * 2 - 1])

    def log_keys(self):
        return ("wdist", "g_au_rmse", "g_cyc", "att_mean", "test_psnr")

    # -- command-line hooks
    def release(self, res: loop.TrainResult, name: str, command: str) -> Path:
        return release(res, name, train_command(command, name))

    def evaluate_release(self, name: str) -> dict:
        r = load_release(name)
        return evaluate(r.G, r.config.size, progress=True)


METHOD = GANimation()


def train(cfg: Config | None = None, run_dir=None, budget_minutes: float | None = None,
          max_steps: int | None = None, progress: bool = True) -> loop.TrainResult:
    """Train (or continue) GANimation: :func:`helpers.core.loop.train` with :class:`GANimation`.

    ``run_dir`` defaults to ``runs/ganimation-<profile>``; the same folder and config continue
    from the newest checkpoint. Shown in notebook 05 §4.
    """
    cfg = cfg or Config.for_profile()
    return loop.train(METHOD, cfg, run_dir, budget_minutes=budget_minutes, max_steps=max_steps,
                      progress=progress)


def train_command(command: str, name: str) -> str:
    """The train command that reproduces a release (a ``release NAME ...`` command is rewritten)."""
    parts = shlex.split(command)
    if "release" in parts and name in parts:
        i = parts.index("release")
        rest = [p for p in parts[i + 1:] if p != name]
        parts = parts[:i] + ["train"] + rest + ["--release", name]
    return " ".join(shlex.quote(p) for p in parts)


HEADLINE = ("psnr", "psnr_noedit", "au_mae_moved", "au_mae_moved_truth", "identity_same", "att_mean", "speck_share",
            "fid", "steps")


def release(res: loop.TrainResult, name: str, command: str, directory=None, net=None,
            sizes: dict | None = None) -> Path:
    """Measure a finished run (after float16 rounding of G) and save G as release ``name``."""
    cfg = res.config
    G = rel.fp16_copy(res.models["G"]).to(memory_format=torch.contiguous_format)
    ev = evaluate(G, cfg.size, net, sizes, progress=True)
    flat = {k: ev["random"].get(k) for k in ("psnr", "psnr_noedit", "ssim", "au_mae", "au_mae_truth", "au_ratio",
                                            "au_mae_moved", "au_mae_moved_truth", "au_ratio_moved", "identity_same",
                                            "identity_dist", "leak", "att_mean", "att_std")}
    flat["speck_share"] = ev["close_mouth"].get("speck_share")
    flat["fid"] = ev.get("distribution", {}).get("fid")
    flat["is"] = ev.get("distribution", {}).get("is")
    metrics = {**{k: v for k, v in flat.items() if v is not None}, **ev, "check": check_measures(G, cfg.size, net),
               "steps": res.step, "variant": variant_name(cfg)}
    hist = res.history
    cols = [c for c in hist.columns if c.startswith("test_")]
    curve = hist.dropna(subset=cols[:1])[["step", *cols]].to_dict("records") if cols else []
    train_cols = [c for c in ("wdist", "gp", "g_au_rmse", "g_cyc", "att_mean", "att_std", "att_high", "att_low")
                  if c in hist.columns]
    log = hist.dropna(subset=train_cols[:1])[["step", *train_cols]] if train_cols else hist.iloc[:0]
    every = max(1, len(log) // 50)
    metrics["train_log"] = [{k: (int(v) if k == "step" else round(float(v), 5)) for k, v in r.items()}
                            for r in log.iloc[::every].to_dict("records")]
    headline = [k for k in HEADLINE if k in metrics]
    return rel.save_release(
        {"G": G}, name, command=command, config=cfg.to_dict(), train_seconds=res.train_seconds, metrics=metrics,
        data=rel.data_entry(cfg.data), curve=[{k: (int(v) if k == "step" else round(float(v), 5)) for k, v in r.items()}
                                      for r in curve],
        headline=headline, dtype=torch.float16, directory=directory or runtime.CHECKPOINT_DIR,
        notes=f"GANimation generator ({variant_name(cfg)} bottleneck), {res.precision}, "
              f"{cfg.threads or torch.get_num_threads()} CPU thread(s), {res.cpu_seconds / 60:.1f} CPU-minutes. "
              "Only G is stored (the critic is needed for training only; resume from the run folder). Weights "
              "float16, measured after that rounding (helpers.ganimation.evaluate.evaluate) on test edits of "
              "unseen SynthFaces people; AU and identity readings by the analysis network named in "
              "metrics.analysis. Load with helpers.ganimation.load_release(name).")


def load_release(name: str = "ganimation_convnext64", directory=None) -> rel.Release:
    """A committed generator: ``.G`` (eval mode, CPU, float32), ``.config`` (:class:`Config`),
    ``.manifest`` (sha256 checked, nothing unpickled)."""
    directory = directory or runtime.CHECKPOINT_DIR
    manifest = rel.read_manifest(name, directory)
    cfg = Config.from_dict(manifest["config"])
    G, _ = build(cfg)
    rel.load_release(name, {"G": G}, directory)
    return rel.Release(name, {"G": G.eval()}, cfg, manifest)
