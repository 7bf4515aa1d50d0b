"""GANimation's losses, one named function each, and the two training steps (critic, generator).

The ConvNeXt GANimation thesis writes the StarGAN objective (its Eqs. 3.6-3.11): an adversarial loss, a domain
classification loss for G (3.7) and for D (3.8), the reconstruction L1 (3.9) and the totals

    L_G = L_adv + lambda_cls * L_cls^f + lambda_rec * L_rec                              (3.10)
    L_D = -L_adv + lambda_cls * L_cls^r                                                  (3.11)

GANimation, which the seed builds on, makes three changes that we follow (the reference
implementation's choices, read for facts): the adversarial loss is the Wasserstein critic loss with
a gradient penalty (WGAN-GP, Gulrajani et al. 2017) instead of 3.6's log-loss; the domains are 17
*continuous* AU intensities, so the classification losses 3.7/3.8 become a squared-error
regression of the AUs by a second head of D; and the attention mask gets two regularisers (its
mean, so that it does not saturate to 1 = "change nothing", and its total variation, so that it
is smooth). With ``y_o`` the input's AUs and ``y_t`` the target's::

    I_f = A_t I + (1 - A_t) C_t,     (C_t, A_t) = G(I, y_t)                 the edit
    I_r = A_r I_f + (1 - A_r) C_r,   (C_r, A_r) = G(I_f, y_o)               the way back
    L_G = -lambda_adv E[D(I_f)] + lambda_au ||D_y(I_f) - y_t||^2 + lambda_cyc ||I_r - I||_1
          + lambda_att (mean A_t + mean A_r) + lambda_tv (TV(A_t) + TV(A_r))
    L_D = lambda_adv (E[D(I_f)] - E[D(I)]) + lambda_au ||D_y(I) - y_o||^2 + lambda_gp GP

The reference steps D on ``L_D`` without the penalty and then once more on the penalty alone
(``Config.gp_step = "separate"``, default); ``"joint"`` adds it to one step. G is updated every
``g_every``-th iteration (reference 5). Shown in notebook 05 §1 and §3.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from helpers.ganimation.model import Config, compose

__all__ = ["critic_loss", "generator_adv_loss", "gradient_penalty", "au_regression_loss", "cycle_loss",
           "attention_mean_loss", "attention_tv_loss", "attention_stats", "lr_factor", "d_step", "g_step"]


def _f32(x: torch.Tensor) -> torch.Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


# ----------------------------------------------------------------------------- losses
def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss ``E[D(G(I, y_t))] - E[D(I)]`` (minimised by D: real scores up, fake down).

    The Wasserstein form of seed Eq. 3.6 with the sign of 3.11 (``L_D = -L_adv``). Scores are the
    critic's unbounded patch outputs (N, P); half-precision scores are widened to float32.
    """
    return _f32(fake_scores).mean() - _f32(real_scores).mean()


def generator_adv_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's Wasserstein loss ``-E[D(G(I, y_t))]`` (G wants high critic scores)."""
    return -_f32(fake_scores).mean()


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """WGAN-GP ``E[(||grad_x D(x_hat)||_2 - 1)^2]`` at ``x_hat = alpha real + (1 - alpha) fake``.

    ``alpha``: (N, 1, 1, 1) uniform in [0, 1] (drawn by the caller from the run's saved stream).
    The gradient is taken of the summed critic map, as the reference does; differentiable
    (``create_graph``) so that D can be trained on it.
    """
    x = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores, _ = D(x)
    (grad,) = torch.autograd.grad(_f32(scores).sum(), x, create_graph=True)
    norm = _f32(grad).flatten(1).norm(dim=1)
    return ((norm - 1) ** 2).mean()


def au_regression_loss(pred: torch.Tensor, target: torch.Tensor, per_batch: bool = True) -> torch.Tensor:
    """AU regression ``||D_y(x) - y||^2``: mean squared error over the batch and the 17 AUs.

    The continuous replacement of StarGAN's domain classification (seed Eqs. 3.7 for G on fakes,
    3.8 for D on reals). ``pred`` and ``target`` (N, 17) in units of ``au_scale``. ``per_batch``
    divides by the batch size once more, as the reference does (its lambda 4000 assumes it).
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must both be (N, 17), got {tuple(pred.shape)} and {tuple(target.shape)}")
    loss = F.mse_loss(_f32(pred), _f32(target))
    return loss / pred.shape[0] if per_batch else loss


def cycle_loss(reconstruction: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Cycle / reconstruction loss ``E|G(G(I, y_t), y_o) - I|`` (seed Eqs. 3.4 and 3.9): mean L1."""
    return (_f32(reconstruction) - _f32(images)).abs().mean()


def attention_mean_loss(attention: torch.Tensor) -> torch.Tensor:
    """``mean(A)``: pushes A below 1, so that G cannot satisfy every loss by copying its input.

    (The reference's penalty; the paper writes an L2 norm of A. Without it A saturates to 1:
    output = input, zero cycle loss, and the AU loss alone cannot pull it back.)
    """
    return _f32(attention).mean()


def attention_tv_loss(attention: torch.Tensor) -> torch.Tensor:
    """Total variation of A, a *sum* over the batch and pixels (as the reference, with lambda 1e-5)::

        TV(A) = sum_{n,i,j} |A[n, i, j+1] - A[n, i, j]| + |A[n, i+1, j] - A[n, i, j]|
    """
    a = _f32(attention)
    return (a[..., :, 1:] - a[..., :, :-1]).abs().sum() + (a[..., 1:, :] - a[..., :-1, :]).abs().sum()


@torch.no_grad()
def attention_stats(attention: torch.Tensor, low: float = 0.05, high: float = 0.95) -> dict[str, float]:
    """Mean and spread of A over a batch, and the shares of pixels saturated near 0 and near 1.

    The known failure: A -> 1 everywhere (the edit returns the input unchanged) or A -> 0 (G repaints
    the whole image, background included). ``att_std`` near 0 with ``att_mean`` near 0 or 1 is that collapse.
    """
    a = _f32(attention).detach()
    return {"att_mean": float(a.mean()), "att_std": float(a.std()) if a.numel() > 1 else 0.0,
            "att_low": float((a < low).float().mean()), "att_high": float((a > high).float().mean())}


def lr_factor(step: int, total: int, decay_from: float) -> float:
    """Learning-rate multiplier at 0-based ``step``: 1 until ``decay_from * total``, then linear to 0.

    The reference trains 20 epochs at the initial rate and decays linearly to 0 over 10 more
    (``decay_from`` = 2/3); ``decay_from = 1`` keeps the rate constant.
    """
    start = decay_from * total
    if step < start or total <= start:
        return 1.0
    return max(0.0, (total - step) / (total - start))


# ----------------------------------------------------------------------------- steps
def _set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def d_step(s, images: torch.Tensor, aus: torch.Tensor, target: torch.Tensor, alpha: torch.Tensor) -> dict:
    """One critic update (and, with ``gp_step="separate"``, a second one on the gradient penalty).

    ``s``: the loop's State (models ``G``, ``D``; optimisers ``G``, ``D``); ``images`` (N, 3, S, S);
    ``aus`` their AU intensities (N, 17); ``target`` the desired AUs (N, 17); ``alpha`` (N, 1, 1, 1)
    the GP mixing weights. Returns the logged numbers.
    """
    cfg: Config = s.cfg
    G, D = s.models["G"], s.models["D"]
    with torch.no_grad(), s.autocast():
        colour, att = G(images, target)
        fake = compose(images, colour, att)
    with s.autocast():
        real_scores, real_aus = D(images)
        fake_scores, _ = D(fake)
        adv = critic_loss(real_scores, fake_scores)
        au = au_regression_loss(real_aus, aus / cfg.au_scale, cfg.au_per_batch)
        loss = cfg.lambda_adv * adv + cfg.lambda_au * au
        if cfg.gp_step == "joint":
            gp = gradient_penalty(D, images, fake, alpha)
            loss = loss + cfg.lambda_gp * gp
    s.update("D", loss)
    if cfg.gp_step == "separate":
        with s.autocast():
            gp = gradient_penalty(D, images, fake, alpha)
        s.update("D", cfg.lambda_gp * gp)
    au_rmse = (_f32(real_aus.detach()) * cfg.au_scale - aus).pow(2).mean().sqrt()
    return {"d_loss": float(loss.detach()), "wdist": float(-adv.detach()), "gp": float(gp.detach()),
            "d_au_rmse": float(au_rmse)}


def g_step(s, images: torch.Tensor, aus: torch.Tensor, target: torch.Tensor) -> dict:
    """One generator update: edit to ``target``, judge it, go back to ``aus`` (see the module docstring).

    D's weights get no gradients here (``requires_grad_(False)`` for the step). Returns the logged
    numbers, attention statistics of the edit included.
    """
    cfg: Config = s.cfg
    G, D = s.models["G"], s.models["D"]
    D.requires_grad_(False)
    try:
        with s.autocast():
            colour, att = G(images, target)
            fake = compose(images, colour, att)
            scores, fake_aus = D(fake)
            colour_r, att_r = G(fake, aus)
            rec = compose(fake, colour_r, att_r)
            adv = generator_adv_loss(scores)
            au = au_regression_loss(fake_aus, target / cfg.au_scale, cfg.au_per_batch)
            cyc = cycle_loss(rec, images)
            att_mean = attention_mean_loss(att) + attention_mean_loss(att_r)
            tv = attention_tv_loss(att) + attention_tv_loss(att_r)
            loss = (cfg.lambda_adv * adv + cfg.lambda_au * au + cfg.lambda_cyc * cyc
                    + cfg.lambda_att * att_mean + cfg.lambda_tv * tv)
        s.update("G", loss)
    finally:
        D.requires_grad_(True)
    au_rmse = (_f32(fake_aus.detach()) * cfg.au_scale - target).pow(2).mean().sqrt()
    return {"g_loss": float(loss.detach()), "g_adv": float(adv.detach()), "g_au_rmse": float(au_rmse),
            "g_cyc": float(cyc.detach()), "g_tv": float(tv.detach()), **attention_stats(att)}
