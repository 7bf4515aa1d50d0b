"""Training the toy GAN: its config, the run it returns, and the loop (one D and one G step per iteration).

Not the shared :mod:`helpers.core.loop`: a toy run takes seconds, needs no checkpoints and keeps
snapshots of the samples and of D(x) for the pictures (:mod:`helpers.toygan.figures`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from helpers.core.runtime import bar as tqdm

from helpers.toygan.data import centres, sample_real
from helpers.toygan.evaluate import mode_coverage
from helpers.toygan.losses import LOSSES, toy_step
from helpers.toygan.model import ToyD, ToyG

__all__ = ["ToyConfig", "ToyRun", "d_surface", "train_toy"]


@dataclass
class ToyConfig:
    """Everything that defines a toy run. ``std`` is each mode's standard deviation."""
    data: str = "ring"          # "ring" (8 modes) or "grid" (5x5)
    n_modes: int = 8
    std: float = 0.05
    z_dim: int = 8
    hidden: int = 64
    layers: int = 3
    batch: int = 128
    steps: int = 1500
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple = (0.5, 0.999)
    loss: str = "nonsaturating"
    r1: float = 0.5             # R1 penalty weight (gamma/2 * E|grad_x D(x)|^2 on real); 0 = vanilla
    r1_every: int = 4           # lazy R1 (StyleGAN2): apply it every k-th D step with weight k * r1
    seed: int = 0
    snapshot_every: int = 100
    grid_res: int = 64          # resolution of the D(x) surface in snapshots
    extent: float = 3.0         # half-width of the plotted square

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.data == "grid" and self.n_modes == 8:
            self.n_modes = 25
        if self.data == "grid" and self.extent == 3.0:
            self.extent = 5.5

    @property
    def modes(self) -> np.ndarray:
        return centres(self.data, self.n_modes)

    @property
    def radius(self) -> float:
        return 3 * self.std


@dataclass
class ToyRun:
    """Result of :func:`train_toy`: models, per-step history and snapshots for plotting."""
    config: ToyConfig
    G: ToyG
    D: ToyD
    history: dict = field(default_factory=dict)   # lists: step, loss_d, loss_g, d_real, d_fake, g_grad
    snapshots: list = field(default_factory=list)  # dicts: step, samples (N,2), surface (R,R)

    def sample(self, n: int = 2000, seed: int = 123) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            return self.G(torch.randn(n, self.config.z_dim, generator=gen))

    def coverage(self, n: int = 2000, seed: int = 123) -> dict:
        return mode_coverage(self.sample(n, seed), self.config.modes, self.config.radius)


def d_surface(D: ToyD, extent: float, res: int) -> np.ndarray:
    """D(x) = sigmoid(logit) on a res x res grid over [-extent, extent]^2 (row = y, bottom first)."""
    r = torch.linspace(-extent, extent, res)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    with torch.no_grad():
        p = torch.sigmoid(D(torch.stack([xx.ravel(), yy.ravel()], 1)))
    return p.view(res, res).numpy()


def train_toy(config: ToyConfig | None = None, progress: bool = True, **overrides) -> ToyRun:
    """Train the toy GAN; alternating (1) one D step, (2) one G step per iteration.

    Deterministic for a given ``config.seed`` (own torch.Generator for data and noise). Logs the
    losses, D(x), D(G(z)) and the generator's gradient magnitude at its output (mean per-sample
    norm of dL_G/dG(z)) - the quantity that vanishes with the minimax loss.
    """
    cfg = config or ToyConfig()
    if overrides:
        cfg = ToyConfig(**{**asdict(cfg), **overrides})
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    G, D = ToyG(cfg.z_dim, cfg.hidden, cfg.layers), ToyD(cfg.hidden, cfg.layers)
    opt_g = torch.optim.Adam(G.parameters(), cfg.lr_g, betas=tuple(cfg.betas))
    opt_d = torch.optim.Adam(D.parameters(), cfg.lr_d, betas=tuple(cfg.betas))
    modes = cfg.modes
    run = ToyRun(cfg, G, D, {k: [] for k in ("step", "loss_d", "loss_g", "d_real", "d_fake", "g_grad")})
    z_fixed = torch.randn(1000, cfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 1))

    def snapshot(step):
        with torch.no_grad():
            pts = G(z_fixed).numpy()
        run.snapshots.append({"step": step, "samples": pts,
                              "surface": d_surface(D, cfg.extent, cfg.grid_res)})

    snapshot(0)
    for step in tqdm(range(1, cfg.steps + 1), desc=f"toy GAN ({cfg.loss})", disable=not progress,
                     mininterval=0.5):
        real = sample_real(cfg.batch, modes, cfg.std, gen)
        z = torch.randn(cfg.batch, cfg.z_dim, generator=gen)
        logged = toy_step(G, D, opt_g, opt_d, real, z, cfg, step)
        run.history["step"].append(step)
        for k, v in logged.items():
            run.history[k].append(v)
        if step % cfg.snapshot_every == 0 or step == cfg.steps:
            snapshot(step)
    return run
