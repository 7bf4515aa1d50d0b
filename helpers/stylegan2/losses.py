"""StyleGAN2's losses and its training step (one D update, one G update, lazy regularisers, EMA).

Notation: ``D(x)`` is the discriminator's logit, ``softplus(t) = log(1 + e^t)``. Shown in notebook 04 §3.

- Non-saturating logistic loss (Goodfellow et al. 2014, as StyleGAN2 uses it)::

      L_D = E_z[softplus(D(G(z)))] + E_x[softplus(-D(x))]          L_G = E_z[softplus(-D(G(z)))]

- R1 (Mescheder et al. 2018), *lazy*: every ``d_reg_every`` D steps, multiplied by that interval::

      L_R1 = gamma / 2 * E_x ||grad_x D(x)||^2

- Path-length regularisation (StyleGAN2 Eq. 4), lazy every ``g_reg_every`` G steps, on batch / 2::

      L_pl = E_{w,y} ( || J_w^T y ||_2 - a )^2,  y ~ N(0, I) / sqrt(H W),  a = EMA of the lengths (decay 0.01)

- Style-mixing regularisation: with probability 0.9 the w+ of a batch switches from w(z1) to
  w(z2) at a random crossover index in [1, num_ws).
- Generator EMA: ``G_ema = beta G_ema + (1 - beta) G`` with ``beta = 0.5 ** (batch / (ema_kimg*1000))``
  (half-life ``ema_kimg`` thousand images; optional ramp-up), buffers (``w_avg``) copied.
- ``w_avg`` tracks the mean w of the G steps (decay ``1 - w_avg_beta``); truncation pulls towards it.

Lazy regularisation also rescales Adam (paper App. B): ``lr * c`` and ``beta ** c`` with
``c = k / (k + 1)`` for interval k (:func:`make_optimizers`).
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from helpers.stylegan2.model import Config, Discriminator, Generator

__all__ = ["d_logistic_loss", "g_nonsaturating_loss", "r1_loss", "path_length_penalty", "mixed_ws",
           "make_optimizers", "ema_beta", "accumulate", "train_step"]


def d_logistic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """L_D = E[softplus(D(G(z)))] + E[softplus(-D(x))] (logistic loss of the discriminator)."""
    return F.softplus(fake_logits.float()).mean() + F.softplus(-real_logits.float()).mean()


def g_nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """L_G = E[softplus(-D(G(z)))] = -E[log sigmoid(D(G(z)))] (non-saturating)."""
    return F.softplus(-fake_logits.float()).mean()


def r1_loss(real_logits: torch.Tensor, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """L_R1 = gamma / 2 * E ||grad_x D(x)||^2; ``real`` needs ``requires_grad`` before D ran on it."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return 0.5 * gamma * grad.float().square().flatten(1).sum(1).mean()


def path_length_penalty(images: torch.Tensor, ws: torch.Tensor, pl_mean: torch.Tensor,
                        decay: float = 0.01) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(penalty, new pl_mean, mean length) of StyleGAN2 Eq. 4 for images G(ws) and their w+ ``ws``.

    ``lengths = sqrt(mean_i sum_d (J^T y)_{i,d}^2)`` with ``y ~ N(0,I)/sqrt(HW)`` (mean over the w+
    entries i, as the official code); ``a <- a + decay (mean(lengths) - a)``; penalty = mean (l - a)^2.
    """
    h, w = images.shape[-2:]
    y = torch.randn_like(images) / math.sqrt(h * w)
    (grad,) = torch.autograd.grad((images.float() * y).sum(), ws, create_graph=True)
    lengths = grad.float().square().sum(2).mean(1).sqrt()
    new_mean = pl_mean.lerp(lengths.mean().detach(), decay)
    return (lengths - new_mean).square().mean(), new_mean, lengths.mean().detach()


def mixed_ws(G: Generator, z: torch.Tensor, z2: torch.Tensor, u: torch.Tensor, cut: torch.Tensor,
             prob: float) -> torch.Tensor:
    """w+ for a batch with style-mixing regularisation: w(z) broadcast, switched to w(z2) from index
    ``cut`` on when ``u < prob`` (``u`` ~ U(0, 1) and ``cut`` in [1, num_ws) drawn by the caller)."""
    ws = G.broadcast(G.mapping(z))
    if prob > 0 and float(u) < prob:
        ws2 = G.broadcast(G.mapping(z2))
        k = int(cut)
        ws = torch.cat([ws[:, :k], ws2[:, k:]], 1)
    return ws


def make_optimizers(G: Generator, D: Discriminator, cfg: Config) -> dict[str, torch.optim.Optimizer]:
    """Adam for G and D with the lazy-regularisation correction ``lr * c``, ``betas ** c``, c = k/(k+1)."""
    out = {}
    for name, net, k in (("G", G, cfg.g_reg_every), ("D", D, cfg.d_reg_every)):
        c = k / (k + 1)
        kw = dict(lr=cfg.lr * c, betas=(cfg.betas[0] ** c, cfg.betas[1] ** c), eps=1e-8)
        try:
            out[name] = torch.optim.Adam(net.parameters(), fused=True, **kw)
        except (RuntimeError, ValueError):
            out[name] = torch.optim.Adam(net.parameters(), foreach=True, **kw)
    return out


def ema_beta(cfg: Config, images_seen: int) -> float:
    """EMA coefficient per step: ``0.5 ** (batch / half_life)``, half-life ``ema_kimg * 1000`` images
    (capped at ``ema_rampup * images_seen`` when a ramp-up is set, as ADA does)."""
    half = cfg.ema_kimg * 1000
    if cfg.ema_rampup is not None:
        half = min(half, images_seen * cfg.ema_rampup)
    return 0.5 ** (cfg.batch / max(half, 1e-8))


@torch.no_grad()
def accumulate(G_ema: Generator, G: Generator, beta: float) -> None:
    """Parameters: ``G_ema = G + beta (G_ema - G)``; buffers (w_avg, noise) copied from ``G``."""
    for pe, p in zip(G_ema.parameters(), G.parameters()):
        pe.copy_(p.detach().lerp(pe, beta))
    for be, b in zip(G_ema.buffers(), G.buffers()):
        be.copy_(b)


def _requires_grad(net, flag: bool) -> None:
    for p in net.parameters():
        p.requires_grad_(flag)


def train_step(s, real: torch.Tensor, draws: dict) -> dict:
    """One StyleGAN2 iteration on ``real`` (N, 3, S, S): D update [+ lazy R1], G update [+ lazy path
    length], EMA. ``s`` is the loop's :class:`helpers.core.loop.State` (models G, D, G_ema;
    optimisers G, D); ``draws`` holds this step's random numbers (z, z2, mixing u and cut, for the
    D and the G half), drawn by the caller from the run's saved streams. Returns the logged scalars.
    """
    cfg = s.cfg
    G, D, G_ema = s.models["G"], s.models["D"], s.models["G_ema"]
    step = s.step
    out = {}
    # ---- discriminator
    _requires_grad(G, False)
    _requires_grad(D, True)
    with torch.no_grad(), s.autocast():
        fake = G.synthesis(mixed_ws(G, *draws["d"], prob=cfg.mixing_prob))
    with s.autocast():
        fake_logits = D(fake.detach().float())
        real_logits = D(real)
    d_loss = d_logistic_loss(real_logits, fake_logits)
    s.update("D", d_loss)
    out.update(d_loss=d_loss.detach(), d_real=real_logits.detach().float().mean(),
               d_fake=fake_logits.detach().float().mean())
    if cfg.r1_gamma > 0 and step % cfg.d_reg_every == 0:
        x = real.detach().requires_grad_(True)
        with s.autocast():
            logits = D(x)
        r1 = r1_loss(logits, x, cfg.r1_gamma)
        s.update("D", r1 * cfg.d_reg_every + 0 * logits.float().mean())
        out["r1"] = r1.detach()
    # ---- generator
    _requires_grad(G, True)
    _requires_grad(D, False)
    with s.autocast():
        ws = mixed_ws(G, *draws["g"], prob=cfg.mixing_prob)
        fake = G.synthesis(ws)
        g_loss = g_nonsaturating_loss(D(fake.float()))
    s.update("G", g_loss)
    out["g_loss"] = g_loss.detach()
    with torch.no_grad():   # track the mean w of this G step (for truncation and projection)
        G.w_avg.copy_(ws[:, 0].float().mean(0).lerp(G.w_avg, cfg.w_avg_beta))
    if cfg.pl_weight > 0 and step % cfg.g_reg_every == 0:
        n = max(1, real.shape[0] // cfg.pl_batch_shrink)
        z, z2, u, cut = draws["pl"]
        with s.autocast():
            ws = mixed_ws(G, z[:n], z2[:n], u, cut, prob=cfg.mixing_prob)
            images = G.synthesis(ws)
        pl_mean = torch.tensor(float(s.persist.get("pl_mean", 0.0)), device=images.device)
        penalty, new_mean, length = path_length_penalty(images, ws, pl_mean, cfg.pl_decay)
        s.update("G", penalty * cfg.pl_weight * cfg.g_reg_every + 0 * images.float().mean())
        s.persist["pl_mean"] = float(new_mean)
        out.update(pl_penalty=penalty.detach(), pl_length=length)
    _requires_grad(D, True)
    accumulate(G_ema, G, ema_beta(cfg, (step + 1) * cfg.batch))
    return out
