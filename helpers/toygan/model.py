"""A 2-D toy GAN you can watch learn: 8 Gaussians on a ring (or a 5x5 grid), small MLPs.

Why a toy first: in two dimensions the whole story of a GAN fits in one picture. The real data
are a few tight clusters ("modes"); the generator maps noise z to points; the discriminator is a
function of the plane whose value D(x) in (0, 1) we can draw as a background colour. Training
alternates (1) a discriminator step and (2) a generator step, exactly as for faces (the GLCIC course study), but
it takes seconds, and failure modes such as *mode collapse* (the generator covers only some
clusters) are visible and measurable with :func:`mode_coverage`.

The defaults follow the classic benchmark of Metz et al. (Unrolled GANs, 2017) and Srivastava et
al. (VEEGAN, 2017): 8 modes on a circle of radius 2, or a 5x5 grid with spacing 2. A mode counts
as *covered* when enough samples fall within ``radius`` of its centre (default: 3 standard
deviations); *quality* is the fraction of all samples that are within ``radius`` of some mode.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from helpers.core.runtime import bar as tqdm

from helpers.core.losses import LOSSES, d_loss, g_loss, r1_penalty



# ----------------------------------------------------------------------------- data
def centres(kind: str = "ring", n: int = 8, radius: float = 2.0, spacing: float = 2.0) -> np.ndarray:
    """Mode centres (K, 2): ``"ring"`` = ``n`` points on a circle, ``"grid"`` = 5x5 grid.

    ``"grid"`` uses ``n`` as the side length when it is a perfect square (25 -> 5x5); the grid is
    centred at the origin with ``spacing`` between neighbours.
    """
    if kind == "ring":
        if n < 1:
            raise ValueError(f"ring needs n >= 1 modes, got {n}")
        a = 2 * np.pi * np.arange(n) / n
        return np.stack([radius * np.cos(a), radius * np.sin(a)], 1).astype(np.float32)
    if kind == "grid":
        side = int(round(math.sqrt(n)))
        if side * side != n:
            raise ValueError(f"grid needs a square number of modes (e.g. 25), got {n}")
        r = (np.arange(side) - (side - 1) / 2) * spacing
        xx, yy = np.meshgrid(r, r)
        return np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)
    raise ValueError(f"kind must be 'ring' or 'grid', got {kind!r}")


def sample_real(n: int, modes: np.ndarray | torch.Tensor, std: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points from the equal-weight Gaussian mixture with the given centres and ``std``."""
    c = torch.as_tensor(np.asarray(modes), dtype=torch.float32)
    if c.ndim != 2 or c.shape[1] != 2:
        raise ValueError(f"modes must have shape (K, 2), got {tuple(c.shape)}")
    idx = torch.randint(len(c), (n,), generator=generator)
    return c[idx] + std * torch.randn(n, 2, generator=generator)


# ----------------------------------------------------------------------------- models
def mlp(n_in: int, n_out: int, hidden: int, layers: int, act: type[nn.Module]) -> nn.Sequential:
    """A plain MLP: ``layers`` hidden layers of width ``hidden``."""
    mods: list[nn.Module] = []
    d = n_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), act()]
        d = hidden
    mods.append(nn.Linear(d, n_out))
    return nn.Sequential(*mods)


class ToyG(nn.Module):
    """Generator: noise z (z_dim) -> point in the plane (2)."""

    def __init__(self, z_dim: int = 8, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp(z_dim, 2, hidden, layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"ToyG expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        return self.net(z)


class ToyD(nn.Module):
    """Discriminator: point (2) -> one logit; D(x) = sigmoid(logit) = P(x is real)."""

    def __init__(self, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.net = mlp(2, 1, hidden, layers, nn.ReLU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"ToyD expects points of shape (N, 2), got {tuple(x.shape)}")
        return self.net(x).squeeze(1)


def g_grad_vs_d(d: np.ndarray | float) -> dict[str, np.ndarray]:
    """Analytic |dL_G/d logit| as a function of D(G(z)) for both generator losses.

    Returns ``{"minimax": D, "nonsaturating": 1 - D}`` plus the losses themselves
    (``"minimax_loss"`` = log(1 - D), ``"nonsaturating_loss"`` = -log D) for plotting.
    """
    d = np.asarray(d, dtype=np.float64)
    if np.any((d <= 0) | (d >= 1)):
        raise ValueError("D(G(z)) values must lie strictly between 0 and 1")
    return {"minimax": d, "nonsaturating": 1 - d,
            "minimax_loss": np.log1p(-d), "nonsaturating_loss": -np.log(d)}


# ----------------------------------------------------------------------------- evaluation
def mode_coverage(samples, modes, radius: float, min_count: int | None = None) -> dict:
    """How many modes the samples cover and how many samples are good.

    Args:
        samples: (N, 2) points (array or tensor).
        modes: (K, 2) centres.
        radius: a sample is *near* a mode if its distance to the centre is < ``radius``
            (usually 3 standard deviations of a mode).
        min_count: a mode is *covered* when at least this many samples are near it. Default:
            5 % of the N/K samples that a perfect generator would put there (at least 1).

    Returns dict: ``covered`` (int), ``coverage`` (covered / K), ``quality`` (fraction of
    samples near some mode), ``counts`` (per-mode counts, np.ndarray), ``n_modes`` (K).
    """
    s = np.asarray(samples.detach().cpu() if torch.is_tensor(samples) else samples, dtype=np.float64)
    c = np.asarray(modes, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != 2 or len(s) == 0:
        raise ValueError(f"samples must have shape (N>0, 2), got {s.shape}")
    if c.ndim != 2 or c.shape[1] != 2 or len(c) == 0:
        raise ValueError(f"modes must have shape (K>0, 2), got {c.shape}")
    if radius <= 0:
        raise ValueError(f"radius must be positive, got {radius}")
    if min_count is None:
        min_count = max(1, int(math.ceil(0.05 * len(s) / len(c))))
    dist = np.linalg.norm(s[:, None, :] - c[None, :, :], axis=2)  # (N, K)
    nearest = dist.argmin(1)
    near = dist[np.arange(len(s)), nearest] < radius
    counts = np.bincount(nearest[near], minlength=len(c))
    covered = int((counts >= min_count).sum())
    return {"covered": covered, "coverage": covered / len(c), "quality": float(near.mean()),
            "counts": counts, "n_modes": len(c)}


# ----------------------------------------------------------------------------- training
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
        fake = G(z)
        # (1) discriminator step: push D(x) -> 1 on real, D(G(z)) -> 0 on fake
        lazy = cfg.r1 > 0 and step % cfg.r1_every == 0
        real.requires_grad_(lazy)
        real_logits, fake_logits = D(real), D(fake.detach())
        ld = d_loss(real_logits, fake_logits)
        if lazy:
            ld = ld + r1_penalty(real_logits, real, cfg.r1 * cfg.r1_every)
        opt_d.zero_grad(set_to_none=True)
        ld.backward()
        opt_d.step()
        # (2) generator step through the (just updated) discriminator
        fake.retain_grad()
        logits = D(fake)
        lg = g_loss(logits, cfg.loss)
        opt_g.zero_grad(set_to_none=True)
        lg.backward()
        opt_g.step()
        h = run.history
        h["step"].append(step)
        h["loss_d"].append(ld.item())
        h["loss_g"].append(lg.item())
        h["d_real"].append(torch.sigmoid(real_logits).mean().item())
        h["d_fake"].append(torch.sigmoid(fake_logits).mean().item())
        h["g_grad"].append((fake.grad.norm(dim=1) * cfg.batch).mean().item())
        if step % cfg.snapshot_every == 0 or step == cfg.steps:
            snapshot(step)
    return run


# ----------------------------------------------------------------------------- plotting
def _panel(ax, run: ToyRun, snap: dict):
    import matplotlib.pyplot as plt

    cfg, e = run.config, run.config.extent
    im = ax.imshow(snap["surface"], extent=(-e, e, -e, e), origin="lower", cmap="RdBu",
                   vmin=0, vmax=1, alpha=0.6)
    ax.scatter(snap["samples"][:, 0], snap["samples"][:, 1], s=3, c="k", alpha=0.5, linewidths=0)
    for c in cfg.modes:
        ax.add_patch(plt.Circle(c, cfg.radius, fill=False, color="red", lw=1))
    cov = mode_coverage(snap["samples"], cfg.modes, cfg.radius)
    ax.set_title(f"step {snap['step']}: {cov['covered']}/{cov['n_modes']} modes", fontsize=9)
    ax.set_xlim(-e, e)
    ax.set_ylim(-e, e)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")
    return im


def progress_frames(run: ToyRun, size_in: float = 3.0, dpi: int = 80) -> np.ndarray:
    """One rendered panel per snapshot as uint8 (T, H, W, 3), e.g. for ``helpers.viz.animate``."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    frames = []
    for snap in run.snapshots:
        fig = plt.figure(figsize=(size_in, size_in), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.02, 0.02, 0.96, 0.88))
        _panel(ax, run, snap)
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy())
        plt.close(fig)
    return np.stack(frames)


def plot_progress(run: ToyRun, n_cols: int | None = None, max_panels: int = 8, axes=None):
    """Snapshots of G's samples (dots) over the real modes (red circles) and D(x) (background).

    Each panel's title gives the step and the mode coverage at that moment. Returns the figure.
    """
    import matplotlib.pyplot as plt

    snaps = run.snapshots
    if not snaps:
        raise ValueError("the run has no snapshots; train with snapshot_every > 0")
    if len(snaps) > max_panels:  # keep first and last, spread the rest
        idx = np.unique(np.linspace(0, len(snaps) - 1, max_panels).round().astype(int))
        snaps = [snaps[i] for i in idx]
    n_cols = n_cols or min(4, len(snaps))
    n_rows = int(math.ceil(len(snaps) / n_cols))
    if axes is None:
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(3 * n_cols, 3 * n_rows), squeeze=False)
    else:
        axes = np.atleast_2d(axes)
        fig = axes.flat[0].figure
    for ax in axes.flat[len(snaps):]:
        ax.axis("off")
    im = None
    for ax, s in zip(axes.flat, snaps):
        im = _panel(ax, run, s)
    if im is not None:
        fig.colorbar(im, ax=list(axes.flat), shrink=0.6, label="D(x) = P(real)")
    return fig


def plot_curves(runs: dict[str, ToyRun], keys=("d_fake", "g_grad"), smooth: int = 25):
    """Training curves of several runs side by side (moving average over ``smooth`` steps)."""
    import matplotlib.pyplot as plt

    labels = {"loss_d": "D loss", "loss_g": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))",
              "g_grad": "|dL_G / dG(z)| per sample"}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.2), squeeze=False)
    for ax, k in zip(axes[0], keys):
        for name, run in runs.items():
            y = np.asarray(run.history[k], dtype=np.float64)
            if smooth > 1 and len(y) >= smooth:
                y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            ax.plot(np.arange(len(y)) + 1, y, label=name)
        ax.set_xlabel("step")
        ax.set_title(labels.get(k, k))
        if k == "g_grad":
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- findings
def findings(with_r1: ToyRun, without_r1: ToyRun, minimax: ToyRun, n: int = 2000) -> list[str]:
    """What notebook 01's toy runs found, in sentences built from their measured coverage."""
    a, b, c = (r.coverage(n) for r in (with_r1, without_r1, minimax))
    k = a["n_modes"]
    early = lambda r, key: float(np.mean(r.history[key][:100]))  # noqa: E731
    return [
        f"**Toy GAN.** With the R1 penalty the 2-D GAN covers {a['covered']}/{k} modes (quality "
        f"{a['quality']:.2f}) for seed {with_r1.config.seed}; without R1 the same GAN ends with "
        f"{b['covered']}/{k} modes at quality {b['quality']:.2f}"
        + (", its samples smeared between modes: the mode-hopping picture." if b["quality"] < a["quality"]
           else "; for this seed the vanilla GAN does as well — try other seeds (exercise 1)."),
        f"**Minimax on the toy.** With R1, D(G(z)) stays at {early(minimax, 'd_fake'):.2f} on average over the "
        f"first 100 steps under the minimax loss (non-saturating: {early(with_r1, 'd_fake'):.2f}), so the "
        f"discriminator is never confident enough for saturation to show: minimax covers {c['covered']}/{k} modes. "
        "Saturation needs a confident discriminator — the DCGAN below has one.",
    ]
