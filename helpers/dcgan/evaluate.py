"""How good are DCGAN samples without an Inception network: pixel-space proxies, and findings.

Shown in notebook 01 §5. (The shared face-analysis features for FID/KID come with
:mod:`helpers.core.metrics` where available; these proxies need nothing but pixels.)
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from helpers.dcgan.model import Config, Generator, sample
from helpers.synthfaces import bank

__all__ = ["face_bank", "quality", "evaluate", "findings"]


def face_bank(cfg: Config, n: int | None = None, start: int = 0, progress: bool = True) -> torch.Tensor:
    """The run's SynthFaces as uint8 (n, 3, S, S): indices ``start .. start+n-1`` (default: the
    ``cfg.n_train`` training faces). Rendered once (``helpers.synthfaces.bank``)."""
    return bank(cfg.n_train if n is None else n, cfg.size, cfg.data_seed, start,
                pose_range=cfg.pose_range, progress=progress)["image"]


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(127.5).sub_(1.0)


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
    train_bank = face_bank(config, progress=progress)
    test_bank = face_bank(config, n=n, start=config.n_train, progress=progress)  # never trained on
    return {k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in quality(fake, train_bank, test_bank).items()}


def findings(manifest: dict, now: dict | None = None, minimax=None) -> list[str]:
    """What the DCGAN release reaches, in sentences built from its manifest (and fresh measures).

    ``manifest`` is the release's; ``now`` optionally :func:`quality` measured in the notebook;
    ``minimax`` optionally a table with rows "non-saturating"/"minimax" and columns
    "mean D(G(z))", "mean g_grad" from two short runs with each generator loss.
    """
    m = manifest["metrics"]
    lines = []
    if minimax is not None:
        t = minimax.set_index("G loss")
        ns, mm = t.loc["non-saturating"], t.loc["minimax"]
        lines.append(
            f"**Minimax vs non-saturating (DCGAN).** Over the first steps D(G(z)) averages "
            f"{mm['mean D(G(z))']:.3f} under the minimax loss and {ns['mean D(G(z))']:.3f} under the "
            f"non-saturating one; the gradient reaching G is {mm['mean g_grad']:.3g} vs {ns['mean g_grad']:.3g}"
            + (f" ({ns['mean g_grad'] / max(mm['mean g_grad'], 1e-12):.1f}x smaller with minimax: the saturation "
               "of Eq. 3.1 as written)." if mm["mean g_grad"] < ns["mean g_grad"] else
               " — here the minimax gradient is not smaller; the theory's premise (a confident D) does not hold."))
    lines += [
        f"**DCGAN demo.** The release trained {m['steps']:,} steps in {manifest['train_seconds'] / 60:.1f} "
        f"minutes ({manifest['config']['size']} px, batch {manifest['config']['batch']}, "
        f"{manifest['config']['n_train']} SynthFaces).",
        f"Pixel Fréchet distance {m['pixel_fd']:.2f} against {m['pixel_fd_real']:.2f} for held-out real "
        f"faces: the samples are {m['pixel_fd'] / max(m['pixel_fd_real'], 1e-9):.1f}x as far from the data as "
        "real faces are from each other (a proxy, not an FID).",
        f"Nearest training face at {m['nn_rmse']:.1f} grey levels RMSE (real held-out faces: {m['nn_rmse_real']:.1f}): "
        + ("the samples are farther from the training set than new real faces, so they are not copies."
           if m["nn_rmse"] >= m["nn_rmse_real"] else
           "closer than new real faces: check for memorisation."),
        f"Colour statistics off by {m['colour_mean_err']:.2f} (mean) and {m['colour_std_err']:.2f} (spread) grey "
        f"levels, against {m['colour_mean_err_real']:.2f} / {m['colour_std_err_real']:.2f} between real sets.",
        f"At the end of training D(x) = {m['final_d_real']:.2f} and D(G(z)) = {m['final_d_fake']:.2f}: "
        + ("the discriminator still wins clearly, as usual for a short DCGAN run."
           if m["final_d_real"] - m["final_d_fake"] > 0.3 else "the two networks are close to balance."),
    ]
    if now is not None:
        lines.append(f"Measured now on {now['n']} samples: pixel FD {now['pixel_fd']:.2f} "
                     f"(real {now['pixel_fd_real']:.2f}), NN RMSE {now['nn_rmse']:.1f} (real {now['nn_rmse_real']:.1f}).")
    return lines
