"""The losses of Eqs. 1-5, the training schedule (stages, iterations, learning rate) and one step
function per stage.

Losses (images in [-1, 1]; see :mod:`helpers.idvae.model` for the readings the paper leaves open):
:func:`kl_divergence` and :func:`reconstruction_nll` (a Gaussian decoder with sigma^2 = 1/2),
Eq. 1 :func:`identity_stage_loss`, Eq. 2 :func:`expression_stage_loss`, Eq. 3 :func:`gan_d_loss` /
:func:`gan_g_loss`, Eq. 4 :func:`switch_loss`, Eq. 5 :func:`total_expression_loss`, and the
baselines' :func:`vae_loss`.

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
from torch.nn import functional as F

from helpers.core.losses import g_loss
from helpers.idvae.model import Z_DIM, Config

__all__ = ["reparameterise", "kl_divergence", "reconstruction_nll", "identity_stage_loss", "expression_stage_loss",
           "gan_d_loss", "gan_g_loss", "switch_loss", "total_expression_loss", "vae_loss", "lr_factor", "Stage", "stages", "stage_at", "steps_per_epoch", "set_lr", "same_subject",
           "other_subject", "identity_step", "expression_step", "vae_step"]


# ----------------------------------------------------------------------------- losses
def reparameterise(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I) (the reparameterisation trick; torch's global RNG)."""
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)


def kl_divergence(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """D_KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1), batch mean."""
    mu, log_var = mu.float(), log_var.float()
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1.0).sum(1).mean()


def reconstruction_nll(x_hat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log p(target | z) for a Gaussian decoder with sigma^2 = 1/2, up to a constant:
    sum over pixels of (x_hat - target)^2, batch mean."""
    if x_hat.shape != target.shape:
        raise ValueError(f"x_hat {tuple(x_hat.shape)} and target {tuple(target.shape)} must have one shape")
    return (x_hat.float() - target.float()).pow(2).flatten(1).sum(1).mean()


def identity_stage_loss(mu_i, log_var_i, x_hat, x_rand_id, alpha_kl: float, alpha_rec: float):
    """Eq. 1: L_i = a_i1 KL(q(z_i|x) || p(z)) - a_i2 E_q[log p(x_rand_id | z_i, z_e = 0)].

    ``x_hat`` = Dec(z_i, 0), ``x_rand_id`` a random image of the same subject. Returns (L_i, kl, nll).
    """
    kl, nll = kl_divergence(mu_i, log_var_i), reconstruction_nll(x_hat, x_rand_id)
    return alpha_kl * kl + alpha_rec * nll, kl, nll


def expression_stage_loss(mu_e, log_var_e, x_hat, x, alpha_kl: float, alpha_rec: float):
    """Eq. 2: L_e = a_e1 KL(q(z_e|x) || p(z)) - a_e2 E_q[log p(x | z_i, z_e)]. Returns (L_e, kl, nll)."""
    kl, nll = kl_divergence(mu_e, log_var_e), reconstruction_nll(x_hat, x)
    return alpha_kl * kl + alpha_rec * nll, kl, nll


def gan_d_loss(d_real: torch.Tensor, d_rec: torch.Tensor, d_prior: torch.Tensor) -> torch.Tensor:
    """The discriminator's side of Eq. 3: maximise log D(x) + log(1 - D(x')) + log(1 - D(x_p)).

    Returns the negated objective (minimised) from logits, D = sigmoid(logit):
    BCE(d(x), 1) + BCE(d(x'), 0) + BCE(d(x_p), 0), each a batch mean, in float32.
    """
    bce = F.binary_cross_entropy_with_logits
    d_real, d_rec, d_prior = d_real.float(), d_rec.float(), d_prior.float()
    return (bce(d_real, torch.ones_like(d_real)) + bce(d_rec, torch.zeros_like(d_rec))
            + bce(d_prior, torch.zeros_like(d_prior)))


def gan_g_loss(d_rec: torch.Tensor, d_prior: torch.Tensor, kind: str = "nonsaturating") -> torch.Tensor:
    """The generator's side of Eq. 3 for reconstructions x' and prior samples x_p.

    ``"minimax"``: minimise log(1 - D(x')) + log(1 - D(x_p)) as written; ``"nonsaturating"``:
    minimise -log D(x') - log D(x_p) (same fixed point, strong gradients when D wins).
    """
    return g_loss(d_rec, kind) + g_loss(d_prior, kind)


def switch_loss(z_i: torch.Tensor, z_i_re: torch.Tensor, z_e_d: torch.Tensor, z_e_d_re: torch.Tensor) -> torch.Tensor:
    """Eq. 4: L_switch = MSE(z_i, z_i') + MSE(z_e^d, z_e^d').

    ``z_i`` from subject A, ``z_e_d`` from a different subject B; ``z_i_re``, ``z_e_d_re`` are both
    encoders' codes of Dec(z_i, z_e^d). MSE = mean over the batch and the 64 dimensions.
    """
    for name, t in (("z_i_re", z_i_re), ("z_e_d", z_e_d), ("z_e_d_re", z_e_d_re)):
        if t.shape != z_i.shape:
            raise ValueError(f"switch_loss: {name} must have the shape of z_i {tuple(z_i.shape)}, got {tuple(t.shape)}")
    return F.mse_loss(z_i_re.float(), z_i.float()) + F.mse_loss(z_e_d_re.float(), z_e_d.float())


def total_expression_loss(l_e: torch.Tensor, l_gan: torch.Tensor | float, l_switch: torch.Tensor | float,
                          beta: float, gamma: float) -> torch.Tensor:
    """Eq. 5: L'_e = L_e + beta L_gan + gamma L_switch (beta, gamma > 0 in the paper; 0 switches a term off)."""
    return l_e + beta * l_gan + gamma * l_switch


def vae_loss(mu, log_var, x_hat, x, alpha_kl: float, alpha_rec: float):
    """The plain (and conditional) VAE: a_1 KL(q(z|x) || p(z)) - a_2 E_q[log p(x|z)]. Returns (L, kl, nll)."""
    return expression_stage_loss(mu, log_var, x_hat, x, alpha_kl, alpha_rec)


def lr_factor(cfg: Config, epoch_in_stage: float, epoch_in_run: float) -> float:
    """0.95 ** (completed epochs), counted within the stage or over the run (``lr_decay_scope``)."""
    e = epoch_in_stage if cfg.lr_decay_scope == "stage" else epoch_in_run
    return cfg.lr_decay ** math.floor(e)


# ----------------------------------------------------------------------------- schedule
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
