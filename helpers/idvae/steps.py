"""The training schedule (stages, iterations, learning rate) and one step function per stage.

A run of ``cfg.epochs`` epochs is split equally into its stages: for the two-encoder model
``iterations`` pairs (identity stage, expression stage) — one pair is the prior method's schedule,
more pairs the paper's "iterated stages" — and for the plain VAE / C-VAE one stage. The learning
rate is ``lr * 0.95 ** epoch`` (epochs counted within the stage, or over the run). The steps draw
their random numbers from the run's saved streams (``pairs``: partner images; ``noise``: prior
samples) and torch's global RNG (the reparameterisation), so a resumed run equals an
uninterrupted one. Shown in notebook 06 §3.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from helpers.idvae.model import (Z_DIM, Config, expression_stage_loss, gan_d_loss, gan_g_loss, identity_stage_loss,
                                 lr_factor, reparameterise, switch_loss, total_expression_loss, vae_loss)

__all__ = ["Stage", "stages", "stage_at", "steps_per_epoch", "set_lr", "same_subject", "other_subject",
           "identity_step", "expression_step", "vae_step"]


@dataclass(frozen=True)
class Stage:
    """One stage of the schedule: ``kind`` identity | expression | vae, 1-based ``iteration``, steps
    ``[start, stop)``."""
    kind: str
    iteration: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return self.kind if self.kind == "vae" else f"{self.kind}-{self.iteration}"


def steps_per_epoch(n_images: int, batch: int) -> int:
    """ceil(n / batch): one epoch shows every training image once (the loop's data order)."""
    if n_images < 1 or batch < 1:
        raise ValueError(f"need n_images >= 1 and batch >= 1, got {n_images}, {batch}")
    return math.ceil(n_images / batch)


def stages(cfg: Config, n_images: int) -> list[Stage]:
    """The schedule of ``cfg`` for ``n_images`` training images: every stage gets
    ``epochs / n_stages`` epochs (at least one step)."""
    spe = steps_per_epoch(n_images, cfg.batch)
    if cfg.model == "idvae":
        kinds = [(kind, k) for k in range(1, cfg.iterations + 1) for kind in ("identity", "expression")]
    else:
        kinds = [("vae", 1)]
    per = max(1, round(cfg.epochs / len(kinds) * spe))
    return [Stage(kind, it, j * per, (j + 1) * per) for j, (kind, it) in enumerate(kinds)]


def stage_at(schedule: list[Stage], step: int) -> Stage:
    """The stage of 0-based ``step`` (the last stage for steps past the end)."""
    for st in schedule:
        if step < st.stop:
            return st
    return schedule[-1]


def set_lr(s, schedule: list[Stage], spe: int) -> float:
    """Set every optimiser's learning rate for step ``s.step``; returns it."""
    st = stage_at(schedule, s.step)
    lr = s.cfg.lr * lr_factor(s.cfg, (s.step - st.start) / spe, s.step / spe)
    for opt in s.optimizers.values():
        for g in opt.param_groups:
            g["lr"] = lr
    return lr


# ----------------------------------------------------------------------------- partners
def _pick(members, subjects: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    order, start, count = members
    k = (u * count[subjects]).long().clamp_max(count[subjects] - 1)
    return order[start[subjects] + k]


def same_subject(members, subjects: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Rows of random images of the same subjects (Eq. 1's x_rand_id; may be the image itself)."""
    return _pick(members, subjects, torch.rand(len(subjects), generator=g))


def other_subject(members, subjects: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Rows of random images of *other* subjects (Eq. 4's subject B), one per entry."""
    n_sub = len(members[2])
    if n_sub < 2:
        raise ValueError("the switch loss needs at least two training subjects")
    shift = 1 + (torch.rand(len(subjects), generator=g) * (n_sub - 1)).long().clamp_max(n_sub - 2)
    return _pick(members, (subjects + shift) % n_sub, torch.rand(len(subjects), generator=g))


# ----------------------------------------------------------------------------- steps
def _modes(G, stage: str) -> None:
    """Identity stage: identity encoder trained, expression encoder idle; expression stage: the
    identity encoder frozen (eval mode, no parameter gradients)."""
    G.identity.train(stage == "identity").requires_grad_(stage == "identity")
    G.expression.train(stage == "expression").requires_grad_(stage == "expression")
    G.decoder.train()


def identity_step(s, x: torch.Tensor, target: torch.Tensor) -> dict:
    """Eq. 1 on a batch: x -> z_i -> Dec(z_i, 0) against ``target`` (same subjects, random images)."""
    cfg, G = s.cfg, s.models["G"]
    _modes(G, "identity")
    with s.autocast():
        mu, lv = G.identity(x)
        z_i = reparameterise(mu, lv)
        x_hat = G.decode(z_i, torch.zeros_like(z_i))
        loss, kl, nll = identity_stage_loss(mu, lv, x_hat, target, cfg.alpha_kl, cfg.alpha_rec)
    s.update("identity", loss)
    return {"id_loss": loss.detach(), "id_kl": kl.detach(), "id_nll": nll.detach()}


def expression_step(s, x: torch.Tensor, x_other: torch.Tensor | None) -> dict:
    """Eq. 2, plus Eq. 3 (beta > 0), Eq. 4 (gamma > 0) and their sum Eq. 5, on a batch.

    ``x_other``: images of other subjects (the switch loss's subject B; None when gamma = 0).
    Order: the discriminator is updated on detached x', x_p, then the generator (expression
    encoder + decoder) on L'_e with the updated discriminator.
    """
    cfg, G = s.cfg, s.models["G"]
    _modes(G, "expression")
    out = {}
    with s.autocast():
        with torch.no_grad():
            mu_i, lv_i = G.identity(x)
        mu_e, lv_e = G.expression(x)
        x_hat = G.decode(reparameterise(mu_i, lv_i), reparameterise(mu_e, lv_e))
        l_e, kl, nll = expression_stage_loss(mu_e, lv_e, x_hat, x, cfg.alpha_kl, cfg.alpha_rec)
        l_gan = l_sw = 0.0
        if cfg.beta > 0:
            D = s.models["D"]
            z_p = torch.randn(len(x), 2 * Z_DIM, generator=s.generators["noise"]).to(x.device)
            x_p = G.decoder(z_p)
            D.requires_grad_(True)
            d_real, d_rec, d_prior = D(x), D(x_hat.detach()), D(x_p.detach())
            l_d = gan_d_loss(d_real, d_rec, d_prior)
    if cfg.beta > 0:
        s.update("D", l_d)
        D.requires_grad_(False)
        with s.autocast():
            l_gan = gan_g_loss(D(x_hat), D(x_p), cfg.gan_loss)
        out.update(d_loss=l_d.detach(), g_adv=l_gan.detach(), d_real=torch.sigmoid(d_real.detach().float()).mean(),
                   d_fake=torch.sigmoid(d_rec.detach().float()).mean())
    if cfg.gamma > 0:
        with s.autocast():
            if cfg.switch_targets == "detach":
                with torch.no_grad():
                    z_e_d = G.expression(x_other)[0]
            else:
                z_e_d = G.expression(x_other)[0]
            x_sw = G.decode(mu_i, z_e_d)
            l_sw = switch_loss(mu_i, G.identity(x_sw)[0], z_e_d, G.expression(x_sw)[0])
        out["switch"] = l_sw.detach()
    with s.autocast():
        total = total_expression_loss(l_e, l_gan, l_sw, cfg.beta, cfg.gamma)
    s.update("expression", total)
    out.update(loss=total.detach(), kl=kl.detach(), nll=nll.detach())
    return out


def vae_step(s, x: torch.Tensor, subject: torch.Tensor | None) -> dict:
    """The plain VAE (``subject`` None) or the C-VAE (subject ids of the batch) on a batch."""
    cfg, G = s.cfg, s.models["G"]
    with s.autocast():
        mu, lv = G.encode(x, subject)
        x_hat = G.decode(reparameterise(mu, lv), subject)
        loss, kl, nll = vae_loss(mu, lv, x_hat, x, cfg.alpha_kl, cfg.alpha_rec)
    s.update("G", loss)
    return {"loss": loss.detach(), "kl": kl.detach(), "nll": nll.detach()}
