"""Checkers for the coding exercises of notebook 01 (the GAN objective and the latent space).

Each checker takes the student's function, prints ``not done yet`` while the stub still raises
``NotImplementedError`` (so the notebook runs top to bottom), says what is wrong otherwise, and
returns True only when the function agrees with the package's reference on several cases.
``tests/test_exercises_00_01.py`` passes the solutions in ``notebooks/solutions/01_*.py`` through
the same checkers.

- Exercise 1, :func:`check_discriminator_loss`: D's loss of Eq. 3.1 from logits
  (reference :func:`helpers.core.losses.d_loss`), numerically stable for confident logits.
- Exercise 2, :func:`check_generator_loss`: the non-saturating generator loss
  (reference ``g_loss(..., "nonsaturating")``); the checker then shows the gradients of both losses.
- Exercise 3, :func:`check_slerp`: spherical interpolation (reference :func:`helpers.dcgan.model.slerp`).
"""
from __future__ import annotations

import torch

from helpers.core.exercises import attempt
from helpers.core.losses import d_loss, g_loss
from helpers.dcgan.model import lerp, slerp

__all__ = ["check_discriminator_loss", "check_generator_loss", "check_slerp"]




def _scalar(name: str, got) -> torch.Tensor | None:
    if not torch.is_tensor(got):
        print(f"✗ {name}: expected a torch tensor (keep it a tensor so it can be back-propagated), "
              f"got {type(got).__name__}")
        return None
    if got.numel() != 1:
        print(f"✗ {name}: expected one number (the mean over the batch), got shape {tuple(got.shape)}")
        return None
    return got.reshape(())


def _logit_cases(seed: int):
    g = torch.Generator().manual_seed(seed)
    yield "random logits, batch of 16", torch.randn(16, generator=g) * 2, torch.randn(16, generator=g) * 2
    yield "logits of shape (8, 1)", torch.randn(8, 1, generator=g), torch.randn(8, 1, generator=g) - 1
    yield "a confident D (logits +-40)", torch.full((4,), 40.0), torch.full((4,), -40.0)
    yield "a fooled D (logits -+40)", torch.full((4,), -40.0), torch.full((4,), 40.0)


def _unstable(name: str, value: torch.Tensor) -> bool:
    if torch.isfinite(value).all():
        return False
    print(f"✗ {name}: the loss is {float(value)}: sigmoid(l) rounds to exactly 0 or 1 for confident logits, and log(0) = -inf; "
          "compute it from the logits: -log sigmoid(l) = softplus(-l), -log(1 - sigmoid(l)) = softplus(l) "
          "(torch.nn.functional.softplus or binary_cross_entropy_with_logits)")
    return True


def check_discriminator_loss(fn) -> bool:
    """Exercise 1: ``fn(real_logits, fake_logits)`` -> -(E[log D(x)] + E[log(1 - D(G(z)))]), D = sigmoid."""
    for name, real, fake in _logit_cases(1):
        r, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
        ok, got = attempt(fn, r, f)
        if not ok:
            return False
        got = _scalar(name, got)
        if got is None or _unstable(name, got.detach()):
            return False
        want = d_loss(real, fake)
        if not torch.allclose(got.detach().float(), want, atol=1e-4, rtol=1e-4):
            v, w = float(got), float(want)
            if abs(v + w) < 1e-4 * max(1.0, abs(w)):
                hint = ("the sign is flipped: D *maximises* V(D, G), so the loss it minimises is -V. "
                        "Real images should get a LOW loss when D(x) is high")
            elif abs(v - float(d_loss(fake, real))) < 1e-4 * max(1.0, abs(w)):
                hint = "real and fake are swapped: real logits should be pushed up (label 1), fakes down (label 0)"
            else:
                hint = "average each term over the batch (E = mean), then add the two terms"
            print(f"✗ {name}: expected {w:.4f}, got {v:.4f}; {hint}")
            return False
        if not got.requires_grad:
            print(f"✗ {name}: the loss has no gradient; use torch operations on the logits (no .item(), no numpy)")
            return False
    print("✓ correct: your loss equals helpers.core.losses.d_loss (binary cross-entropy, real -> 1, "
          "fake -> 0) and stays finite for confident logits.")
    print(f"  At D's optimum for p_g = p_data, D = 1/2 everywhere: loss = 2 log 2 = "
          f"{float(fn(torch.zeros(4), torch.zeros(4))):.4f}")
    return True


def check_generator_loss(fn) -> bool:
    """Exercise 2: ``fn(fake_logits)`` -> the non-saturating generator loss -E[log D(G(z))], D = sigmoid."""
    for name, _, fake in _logit_cases(2):
        f = fake.clone().requires_grad_(True)
        ok, got = attempt(fn, f)
        if not ok:
            return False
        got = _scalar(name, got)
        if got is None or _unstable(name, got.detach()):
            return False
        want = g_loss(fake, "nonsaturating")
        if not torch.allclose(got.detach().float(), want, atol=1e-4, rtol=1e-4):
            v, w = float(got), float(want)
            if abs(v - float(g_loss(fake, "minimax"))) < 1e-4 * max(1.0, abs(w)):
                hint = ("that is the minimax (saturating) loss log(1 - D(G(z))) of Eq. 3.1; the non-saturating "
                        "generator minimises -log D(G(z)) instead")
            elif abs(v + w) < 1e-4 * max(1.0, abs(w)):
                hint = "the sign is flipped: G *maximises* log D(G(z)), so its loss is -log D(G(z))"
            else:
                hint = "average -log D(G(z)) over the batch"
            print(f"✗ {name}: expected {w:.4f}, got {v:.4f}; {hint}")
            return False
        if not got.requires_grad:
            print(f"✗ {name}: the loss has no gradient; use torch operations on the logits (no .item(), no numpy)")
            return False
    print("✓ correct: your loss equals helpers.core.losses.g_loss(fake_logits, 'nonsaturating').")
    print("  The gradient that reaches G (dL/dl per sample, l = D's logit), yours vs the minimax loss:")
    for d in (0.01, 0.5, 0.99):
        logit = torch.logit(torch.tensor([d], dtype=torch.float64)).requires_grad_(True)
        (mine,) = torch.autograd.grad(fn(logit), logit)
        (mm,) = torch.autograd.grad(g_loss(logit, "minimax"), logit)
        print(f"    D(G(z)) = {d:4.2f}: non-saturating {float(mine):+.3f}, minimax {float(mm):+.3f}")
    print("  Early in training D(G(z)) ~ 0: the minimax gradient vanishes, yours does not.")
    return True


def check_slerp(fn) -> bool:
    """Exercise 3: ``fn(z0, z1, t)`` with z0, z1 (nz,) and t (T,) -> (T, nz) points on the great circle."""
    g = torch.Generator().manual_seed(3)
    t = torch.linspace(0, 1, 7)
    z0, z1 = torch.randn(100, generator=g), torch.randn(100, generator=g)
    cases = [("two random 100-d latents", z0, z1, t),
             ("t = 0.3 only, 8-d latents", torch.randn(8, generator=g), torch.randn(8, generator=g),
              torch.tensor([0.3])),
             ("z1 = 2 z0 (parallel: the angle is 0)", z0, 2 * z0, t),
             # all ones in 64-d: the cosine is exactly 1 in float32 (128 / (8 x 16)); with random latents
             # it rounds to 1 on some CPUs only, and a slerp without the parallel fallback slips through
             ("z0 = 1 everywhere, z1 = 2 z0 (exactly parallel)", torch.ones(64), 2 * torch.ones(64), t)]
    for name, a, b, tt in cases:
        ok, got = attempt(fn, a.clone(), b.clone(), tt.clone())
        if not ok:
            return False
        want = slerp(a, b, tt)
        if not torch.is_tensor(got) or got.shape != want.shape:
            print(f"✗ {name}: expected a tensor of shape {tuple(want.shape)} (one row per t), got "
                  f"{tuple(got.shape) if torch.is_tensor(got) else type(got).__name__}")
            return False
        if not torch.isfinite(got).all():
            print(f"✗ {name}: got nan/inf. sin(omega) is 0 when z0 and z1 are parallel: fall back to the "
                  "straight line (1 - t) z0 + t z1 there")
            return False
        if not torch.allclose(got.float(), want, atol=1e-4, rtol=1e-4):
            if torch.allclose(got.float(), lerp(a, b, tt), atol=1e-4):
                hint = "that is the straight line (lerp); slerp walks along the great circle"
            elif not torch.allclose(got[0].float(), a, atol=1e-4):
                hint = "the path must start at z0 for t = 0 and end at z1 for t = 1"
            else:
                hint = ("omega = arccos(z0.z1 / (|z0| |z1|)); slerp = sin((1-t) omega)/sin(omega) z0 + "
                        "sin(t omega)/sin(omega) z1")
            print(f"✗ {name}: max difference {float((got.float() - want).abs().max()):.4g}; {hint}")
            return False
    path = fn(z0, z1, torch.linspace(0, 1, 5))
    print("✓ correct: your slerp equals helpers.dcgan.slerp, also for parallel latents.")
    print("  |z| along the path, yours: ", " ".join(f"{float(v):.1f}" for v in path.norm(dim=1)))
    print("  |z| along the straight line:", " ".join(f"{float(v):.1f}" for v in
                                                   lerp(z0, z1, torch.linspace(0, 1, 5)).norm(dim=1)))
    return True
