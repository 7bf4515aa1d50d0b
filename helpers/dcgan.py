"""DCGAN (Radford, Metz, Chintala, ICLR 2016) on SynthFaces, resumable, with both GAN losses.

The GAN of seed 002's slides and of seed 003 Eq. 3.1::

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

A generator G maps a latent vector z ~ N(0, I) to an image; a discriminator D maps an image to the
probability that it is real. Training alternates (1) a discriminator step that increases V and
(2) a generator step. For (2) two losses exist (``Config.loss``):

- ``"minimax"``: G minimises E[log(1 - D(G(z)))], Eq. 3.1 as written. Through the sigmoid
  D = sigmoid(l) its gradient is dL/dl = -D(G(z)): it vanishes when D rejects the fakes, i.e.
  at the start of training, so G learns slowly or not at all ("saturation").
- ``"nonsaturating"`` (default; what Goodfellow et al. 2014 used in practice): G maximises
  E[log D(G(z))]; dL/dl = -(1 - D(G(z))), strong exactly when G is losing.

Architecture (the DCGAN guidelines): no pooling or fully connected hidden layers; G uses
transposed convolutions (4x4, stride 2) with BatchNorm and ReLU, and tanh at the output; D uses
strided 4x4 convolutions with LeakyReLU(0.2) and BatchNorm (not on its input layer); weights
N(0, 0.02); Adam lr 2e-4, beta1 0.5. ``Config.quick()`` (32 px, a few hundred steps) proves the
path works in the notebook; ``Config.demo()`` (64 px) makes the committed checkpoint::

    nice -n 10 python -m helpers.dcgan train --profile demo --release dcgan64

Quality proxy (no Inception network offline, see :func:`quality`): colour statistics, a
Fréchet distance in a small pixel space and nearest-neighbour distances, each next to the same
number for held-out real faces, so "how far from real" has a yardstick.
"""
from __future__ import annotations

import argparse
import functools
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from . import runtime
from .checkpoint import RunDir, load_release, read_manifest, save_release
from .toygan import LOSSES, d_loss, g_loss

__all__ = ["Config", "Generator", "Discriminator", "build", "d_loss", "g_loss", "face_bank",
           "train", "TrainResult", "sample", "lerp", "slerp", "interpolate", "quality",
           "load_demo", "LOSSES"]


# ----------------------------------------------------------------------------- config
@dataclass
class Config:
    """Everything that defines a DCGAN run (saved in checkpoints and the release manifest)."""
    image_size: int = 64        # 32 or 64 (or 128): one up/down-sampling block per factor 2
    nz: int = 100               # latent size (Radford et al.)
    ngf: int = 32               # generator width: channels of its last hidden layer
    ndf: int = 32               # discriminator width: channels of its first layer
    batch_size: int = 64
    steps: int = 1000           # total training steps (one D + one G update each)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "nonsaturating"  # generator loss: "nonsaturating" | "minimax"
    n_train: int = 4096         # SynthFaces rendered once and sampled from (a fixed training set)
    data_seed: int = 0          # SynthFaces seed of the training set
    pose_range: float = 20.0
    seed: int = 0               # weights, noise and batch order
    log_every: int = 10
    save_every: int = 200
    profile: str = "custom"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.image_size not in (32, 64, 128):
            raise ValueError(f"image_size must be 32, 64 or 128, got {self.image_size}")
        for k in ("nz", "ngf", "ndf", "batch_size", "steps", "n_train", "log_every", "save_every"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")

    @classmethod
    def quick(cls, **kw) -> "Config":
        """32 px, small nets, 300 steps: a minute or so on a laptop CPU (what nbval runs)."""
        base = dict(image_size=32, ngf=32, ndf=16, batch_size=32, steps=300, n_train=512,
                    log_every=5, save_every=100, profile="quick")
        return cls(**{**base, **kw})

    @classmethod
    def demo(cls, **kw) -> "Config":
        """64 px, ~10-15 CPU-minutes on one core; produces ``checkpoints/dcgan64``.

        Narrower than Radford et al. (G width 32, D width 16, batch 32) so that a shared laptop
        CPU gets through 3000 steps; the synthetic faces are simple enough for that.
        """
        base = dict(image_size=64, ngf=32, ndf=16, batch_size=32, steps=3000, n_train=4000,
                    log_every=10, save_every=250, profile="demo")
        return cls(**{**base, **kw})

    @classmethod
    def full(cls, **kw) -> "Config":
        """Radford et al.'s setting at 64 px (width 64, batch 128) on 50k faces, for a GPU."""
        base = dict(image_size=64, ngf=64, ndf=64, batch_size=128, steps=30_000, n_train=50_000,
                    log_every=50, save_every=1000, profile="full")
        return cls(**{**base, **kw})

    @classmethod
    def for_profile(cls, name: str | None = None, **kw) -> "Config":
        """The config of a profile (default: ``helpers.runtime.profile()``)."""
        return getattr(cls, runtime.profile(name))(**kw)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# ----------------------------------------------------------------------------- networks
def _n_blocks(size: int) -> int:
    return int(math.log2(size)) - 2   # 32 -> 3, 64 -> 4, 128 -> 5 (from / to 4x4)


class Generator(nn.Module):
    """z (N, nz) -> image (N, 3, S, S) in [-1, 1].

    Project z to 4x4 with a 4x4 transposed convolution, then double the resolution with 4x4
    stride-2 transposed convolutions while halving the channels, BatchNorm + ReLU after each,
    tanh at the end (Radford et al. Fig. 1).
    """

    def __init__(self, nz: int = 100, ngf: int = 32, image_size: int = 64):
        super().__init__()
        self.nz, self.image_size = nz, image_size
        n = _n_blocks(image_size)
        ch = ngf * 2 ** (n - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(True)]          # 1 -> 4
        for _ in range(n - 1):                                                  # 4 -> S/2
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1, bias=False), nn.Tanh()]   # S/2 -> S
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim == 2:
            z = z[:, :, None, None]
        if z.ndim != 4 or z.shape[1] != self.nz or z.shape[2:] != (1, 1):
            raise ValueError(f"Generator expects z of shape (N, {self.nz}), got {tuple(z.shape)}")
        return self.net(z)


class Discriminator(nn.Module):
    """image (N, 3, S, S) -> logit (N,); D(x) = sigmoid(logit) = P(real).

    Strided 4x4 convolutions halve the resolution and double the channels down to 4x4,
    LeakyReLU(0.2), BatchNorm except on the first layer, a final 4x4 convolution to one logit.
    """

    def __init__(self, ndf: int = 32, image_size: int = 64):
        super().__init__()
        self.image_size = image_size
        n = _n_blocks(image_size)
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for _ in range(n - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                       nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]                       # 4 -> 1
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.image_size
        if x.ndim != 4 or x.shape[1:] != (3, s, s):
            raise ValueError(f"Discriminator expects images (N, 3, {s}, {s}), got {tuple(x.shape)}")
        return self.net(x).flatten()


def init_weights(m: nn.Module) -> None:
    """Radford et al.: conv weights N(0, 0.02); BatchNorm scale N(1, 0.02), shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def build(config: Config) -> tuple[Generator, Discriminator]:
    """G and D for ``config``, initialised deterministically from ``config.seed``."""
    torch.manual_seed(config.seed)
    G = Generator(config.nz, config.ngf, config.image_size)
    D = Discriminator(config.ndf, config.image_size)
    G.apply(init_weights)
    D.apply(init_weights)
    return G, D


# ----------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=4)
def _bank(n: int, size: int, seed: int, pose_range: float, start: int, progress: bool) -> torch.Tensor:
    from .synthfaces import SynthFaces

    faces = SynthFaces(seed=seed, size=size, pose_range=pose_range, length=start + n)
    out = torch.empty(n, 3, size, size, dtype=torch.uint8)
    for i in tqdm(range(n), desc=f"render {n} SynthFaces at {size} px", disable=not progress,
                  mininterval=1.0, leave=False):
        out[i] = torch.from_numpy(faces.sample(start + i)["image"]).permute(2, 0, 1)
    return out


def face_bank(n: int, size: int, seed: int = 0, pose_range: float = 20.0, start: int = 0,
              progress: bool = True) -> torch.Tensor:
    """SynthFaces ``start .. start+n-1`` of data set ``seed`` as uint8 (n, 3, size, size).

    Rendered once per process (cached), so resuming or a second run in the same notebook does
    not draw the faces again. Convert a batch with ``bank[idx].float() / 127.5 - 1``.
    """
    if n < 1 or start < 0:
        raise ValueError(f"need n >= 1 and start >= 0, got n={n}, start={start}")
    return _bank(int(n), int(size), int(seed), float(pose_range), int(start), bool(progress))


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(127.5).sub_(1.0)


# ----------------------------------------------------------------------------- training
def train_step(G, D, opt_g, opt_d, real: torch.Tensor, z: torch.Tensor, loss: str) -> dict:
    """One iteration: (1) discriminator step, (2) generator step. Returns the logged numbers.

    ``g_grad`` is the mean per-sample norm of dL_G/dG(z) (scaled by the batch size so it does not
    depend on it): the signal that reaches the generator, small when the loss saturates.
    """
    n = real.shape[0]
    fake = G(z)
    # (1) D: maximise log D(x) + log(1 - D(G(z)))  ==  minimise BCE(real -> 1, fake -> 0)
    real_logits, fake_logits = D(real), D(fake.detach())
    ld = d_loss(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    ld.backward()
    opt_d.step()
    # (2) G: minimax or non-saturating loss through the updated D
    fake.retain_grad()
    lg = g_loss(D(fake), loss)
    opt_g.zero_grad(set_to_none=True)
    lg.backward()
    opt_g.step()
    return {"loss_d": ld.item(), "loss_g": lg.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item(),
            "g_grad": (fake.grad.flatten(1).norm(dim=1) * n).mean().item()}


@dataclass
class TrainResult:
    """What :func:`train` returns."""
    G: Generator
    D: Discriminator
    config: Config
    run: RunDir
    step: int
    train_seconds: float     # wall clock over all sessions of this run
    cpu_seconds: float       # CPU time of the training process(es), all threads
    stopped_by: str | None   # "steps" | "time" | None (finished config.steps)
    resumed_from: int        # step restored at the start of this call (0 = fresh)

    @property
    def history(self):
        return self.run.history()

    @property
    def finished(self) -> bool:
        return self.step >= self.config.steps


def train(config: Config | None = None, run_dir=None, budget_minutes: float | None = None,
          max_steps: int | None = None, progress: bool = True) -> TrainResult:
    """Train (or continue training) a DCGAN on SynthFaces; returns a :class:`TrainResult`.

    ``run_dir``: folder of the run (default ``runs/dcgan-<profile>``); calling again with the same
    folder and config continues from the newest checkpoint (bit-identical to an uninterrupted run
    on CPU). ``budget_minutes`` / ``max_steps`` (absolute step) stop this call cleanly; the run
    ends at ``config.steps``. Logs loss_d, loss_g, D(x), D(G(z)), g_grad to ``metrics.jsonl``.
    """
    cfg = config or Config.for_profile()
    path = Path(run_dir) if run_dir is not None else runtime.run_dir(f"dcgan-{cfg.profile}")
    bank = face_bank(cfg.n_train, cfg.image_size, cfg.data_seed, cfg.pose_range, progress=progress)
    G, D = build(cfg)
    dev = runtime.device()
    G.to(dev)
    D.to(dev)
    opt_g = torch.optim.Adam(G.parameters(), cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    gen_data = torch.Generator().manual_seed(cfg.seed)
    gen_z = torch.Generator().manual_seed(cfg.seed + 1)
    run = RunDir(path, asdict(cfg), models={"G": G, "D": D}, optimizers={"G": opt_g, "D": opt_d},
                 generators={"data": gen_data, "z": gen_z}, every_steps=cfg.save_every,
                 every_minutes=10, config_ignore=("log_every", "save_every"))
    prog = run.restore()
    if not prog.resumed and run.metrics_path.exists():
        run.metrics_path.unlink()  # rows of an earlier run that left no checkpoint
    step, resumed = prog.step, prog.step
    seconds0 = float(prog.extra.get("train_seconds", 0.0))
    cpu0 = float(prog.extra.get("cpu_seconds", 0.0))
    run.start_budget(budget_minutes, max_steps)
    t0, c0 = time.monotonic(), time.process_time()
    extra = lambda: {"train_seconds": seconds0 + time.monotonic() - t0,  # noqa: E731
                     "cpu_seconds": cpu0 + time.process_time() - c0}
    G.train()
    D.train()
    bar = tqdm(total=cfg.steps, initial=step, desc=f"DCGAN {cfg.image_size}px ({cfg.loss})",
               disable=not progress, mininterval=1.0)
    while step < cfg.steps and not run.should_stop(step):
        idx = torch.randint(len(bank), (cfg.batch_size,), generator=gen_data)
        real = _to_float(bank[idx]).to(dev)
        z = torch.randn(cfg.batch_size, cfg.nz, generator=gen_z).to(dev)
        m = train_step(G, D, opt_g, opt_d, real, z, cfg.loss)
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0 or step == 1:
            run.log(step, **m)
            bar.set_postfix(D=f"{m['loss_d']:.2f}", G=f"{m['loss_g']:.2f}", Dx=f"{m['d_real']:.2f}",
                            DGz=f"{m['d_fake']:.2f}", refresh=False)
        run.maybe_save(step, extra=extra())
    bar.close()
    run.save(step, extra=extra())
    G.eval()
    D.eval()
    e = extra()
    return TrainResult(G, D, cfg, run, step, e["train_seconds"], e["cpu_seconds"],
                       run.stopped_by if step < cfg.steps else None, resumed)


# ----------------------------------------------------------------------------- sampling
def _latents(G: Generator, n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, G.nz, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def sample(G: Generator, n: int = 64, seed: int = 0, z: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` images (n, 3, S, S) in [-1, 1] from fixed noise ``seed`` (or the given ``z``); eval mode."""
    was = G.training
    G.eval()
    z = _latents(G, n, seed) if z is None else z
    p = next(G.parameters())
    out = G(z.to(p.device, p.dtype)).cpu()
    G.train(was)
    return out


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line (1 - t) z0 + t z1 for each t (returns (len(t), ...))."""
    t = t.reshape(-1, *([1] * z0.ndim))
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (White 2016): keeps |z| near the typical radius sqrt(nz).

    Linear interpolation between two Gaussian samples passes *inside* the shell where almost all
    of N(0, I)'s mass lies (the midpoint has norm ~ sqrt(nz / 2)), so its middle images can look
    washed out; slerp walks along the great circle instead.
    """
    a, b = z0.flatten(), z1.flatten()
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:
        return lerp(z0, z1, t)
    t = t.reshape(-1, *([1] * z0.ndim))
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * z0 + torch.sin(t * omega) / so * z1


def interpolate(G: Generator, z0: torch.Tensor, z1: torch.Tensor, steps: int = 8,
                method: str = "slerp") -> torch.Tensor:
    """Images along a path from ``z0`` to ``z1`` in latent space: (steps, 3, S, S).

    ``method``: "linear" or "slerp". Smooth change of the face along the path is the classic
    sign that G learned a continuous latent space rather than memorising training images.
    """
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    z0, z1 = z0.reshape(-1), z1.reshape(-1)
    if z0.shape != (G.nz,) or z1.shape != (G.nz,):
        raise ValueError(f"z0 and z1 must have {G.nz} elements, got {tuple(z0.shape)}, {tuple(z1.shape)}")
    t = torch.linspace(0, 1, steps)
    if method == "linear":
        zs = lerp(z0, z1, t)
    elif method == "slerp":
        zs = slerp(z0, z1, t)
    else:
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    return sample(G, z=zs)


# ----------------------------------------------------------------------------- quality proxy
def _pool(x: torch.Tensor, size: int) -> torch.Tensor:
    return F.adaptive_avg_pool2d(x.float(), size).flatten(1).double()


def _frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2); tr of the root = sum of sqrt(eig(S1 S2)) >= 0."""
    a, b = a.numpy(), b.numpy()
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    tr_root = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_root)


def _nn_dist(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float(torch.cdist(x, ref).min(1).values.mean() / math.sqrt(x.shape[1]))


def quality(fake: torch.Tensor, real_train: torch.Tensor, real_test: torch.Tensor) -> dict:
    """Discriminator-free quality proxies for images in [-1, 1] (each next to a real baseline).

    - ``colour_mean_err`` / ``colour_std_err``: mean |difference| of the per-channel pixel mean
      and standard deviation between ``fake`` and ``real_test``, in 0-255 grey levels
      (``*_real``: the same between ``real_train`` and ``real_test``).
    - ``pixel_fd``: Fréchet distance between Gaussians fitted to 8x8 average-pooled images (192-d,
      values in [-1, 1]): an FID without the Inception network; ``pixel_fd_real`` = held-out
      real vs training real with the same number of images (the noise floor).
    - ``nn_rmse``: mean RMSE (0-255) from each fake to its nearest training image at 16x16;
      ``nn_rmse_real``: the same for held-out real faces. Much larger = off the data manifold;
      much smaller = copying training images (memorisation).
    """
    for name, t in (("fake", fake), ("real_train", real_train), ("real_test", real_test)):
        if t.ndim != 4 or t.shape[1] != 3:
            raise ValueError(f"{name} must be (N, 3, H, W) images in [-1, 1], got {tuple(t.shape)}")
    if real_train.dtype == torch.uint8:
        real_train = _to_float(real_train)
    if real_test.dtype == torch.uint8:
        real_test = _to_float(real_test)
    n = min(len(fake), len(real_test))
    fake, real_test = fake[:n], real_test[:n]
    ref = real_train[:n]

    def colour(x):
        x = x.float().add(1).mul(127.5)
        return x.mean((0, 2, 3)), x.std((0, 2, 3))

    (fm, fs), (tm, ts), (rm, rs) = colour(fake), colour(real_test), colour(ref)
    lo_f, lo_t, lo_r = _pool(fake, 8), _pool(real_test, 8), _pool(ref, 8)
    big = real_train[: max(n, min(len(real_train), 4096))]
    nn_ref = _pool(big, 16).float()
    scale = 127.5
    return {
        "n": n,
        "colour_mean_err": float((fm - tm).abs().mean()), "colour_mean_err_real": float((rm - tm).abs().mean()),
        "colour_std_err": float((fs - ts).abs().mean()), "colour_std_err_real": float((rs - ts).abs().mean()),
        "pixel_fd": _frechet(lo_f, lo_t), "pixel_fd_real": _frechet(lo_r, lo_t),
        "nn_rmse": scale * _nn_dist(_pool(fake, 16).float(), nn_ref),
        "nn_rmse_real": scale * _nn_dist(_pool(real_test, 16).float(), nn_ref),
    }


def evaluate(G: Generator, config: Config, n: int = 500, seed: int = 0, progress: bool = False) -> dict:
    """:func:`quality` of ``n`` samples against the training set and ``n`` held-out SynthFaces."""
    fake = sample(G, n, seed=seed)
    train_bank = face_bank(config.n_train, config.image_size, config.data_seed, config.pose_range,
                           progress=progress)
    test_bank = face_bank(n, config.image_size, config.data_seed, config.pose_range,
                          start=config.n_train, progress=progress)  # indices never trained on
    return {k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in quality(fake, train_bank, test_bank).items()}


# ----------------------------------------------------------------------------- releases
def load_demo(name: str = "dcgan64", directory=None) -> tuple[Generator, Discriminator, dict]:
    """Load a committed release (default ``checkpoints/dcgan64``): (G, D, manifest), eval mode."""
    directory = runtime.CHECKPOINT_DIR if directory is None else directory
    manifest = read_manifest(name, directory)
    cfg = Config.from_dict(manifest["config"])
    G, D = build(cfg)
    load_release(name, {"G": G, "D": D}, directory)
    return G.eval(), D.eval(), manifest


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m helpers.dcgan", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (resumes if the run folder has a checkpoint)")
    t.add_argument("--profile", choices=runtime.PROFILES, default=None)
    t.add_argument("--loss", choices=LOSSES, default=None)
    t.add_argument("--steps", type=int, default=None)
    t.add_argument("--run-dir", default=None)
    t.add_argument("--budget-minutes", type=float, default=None)
    t.add_argument("--max-steps", type=int, default=None)
    t.add_argument("--release", default=None, help="when finished, write checkpoints/<NAME>.safetensors + .json")
    t.add_argument("--eval-n", type=int, default=500)
    t.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: on a shared CPU more threads only spin)")
    a = ap.parse_args(argv)
    runtime.num_threads(a.threads)
    kw = {k: v for k, v in (("loss", a.loss), ("steps", a.steps)) if v is not None}
    cfg = Config.for_profile(a.profile, **kw)
    res = train(cfg, a.run_dir, a.budget_minutes, a.max_steps)
    print(f"step {res.step}/{cfg.steps}, {res.train_seconds / 60:.1f} min of training in total "
          f"({res.cpu_seconds / 60:.1f} CPU-minutes)")
    if a.release:
        if not res.finished:
            print(f"not releasing: the run stopped at step {res.step} (by {res.stopped_by}); run again to continue")
            return 1
        metrics = evaluate(res.G, cfg, n=a.eval_n, progress=True)
        metrics["steps"] = res.step
        metrics["cpu_minutes"] = round(res.cpu_seconds / 60, 1)
        hist = res.history.tail(10)
        metrics.update({f"final_{k}": round(float(hist[k].mean()), 4)
                        for k in ("d_real", "d_fake", "loss_d", "loss_g")})
        cmd = "python -m helpers.dcgan " + " ".join(shlex.quote(x) for x in argv)
        path = save_release({"G": res.G, "D": res.D}, a.release, command=cmd,
                            train_seconds=res.train_seconds, metrics=metrics, config=asdict(cfg),
                            notes=f"trained on {torch.get_num_threads()} CPU threads; metrics from "
                                  f"helpers.dcgan.evaluate (n={a.eval_n}) - see helpers.dcgan.quality")
        print(f"released {path}")
        for k, v in metrics.items():
            print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
