"""Speed: steps/s of each stage's step, their share of the machine's matmul rate, inference images/s.

``python -m helpers.idvae bench --json benchmarks/idvae.json`` times, per profile (``full`` at a
batch of :data:`FULL_BENCH_BATCH`): the identity step (Eq. 1), the plain expression step (Eq. 2),
the proposal's expression step (Eq. 5: one discriminator update, the switch re-encoding, one
generator update) and the VAE step, in fp32 and with bf16 autocast, against the dense fp32 and
bf16 matmul rates (:mod:`helpers.core.bench`); and the images per second of inference (the
expression latents of the recognition set, and swapping). The CPU may be shared: best and median
of several repeats are reported.
"""
from __future__ import annotations

import torch

from helpers.core import bench as B, loop
from helpers.idvae.losses import expression_step, identity_step, vae_step
from helpers.idvae.model import Config, build
from helpers.idvae.train import IdVAE

__all__ = ["FULL_BENCH_BATCH", "step_fns", "inference_rate", "bench"]

FULL_BENCH_BATCH = 8


def _state(cfg: Config, precision: str) -> loop.State:
    torch.manual_seed(0)
    nets = build(cfg, n_subjects=8)
    opts = IdVAE.optimizers_for(nets, cfg)
    for m in nets.values():
        if cfg.channels_last:
            m.to(memory_format=torch.channels_last)
    parts = loop.Parts(nets, opts, {"pairs": torch.Generator().manual_seed(0), "noise": torch.Generator().manual_seed(1)})
    return loop.State(cfg, parts, loop.Env(torch.device("cpu"), precision=precision), {})


def step_fns(cfg: Config, precision: str = "fp32") -> dict:
    """Closures running one training step of each stage of ``cfg``'s model on random images."""
    n, S = cfg.batch, cfg.size
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    x = (torch.rand(n, 3, S, S) * 2 - 1).contiguous(memory_format=fmt)
    y = (torch.rand(n, 3, S, S) * 2 - 1).contiguous(memory_format=fmt)
    out = {}
    if cfg.model == "idvae":
        plain = _state(cfg.replace(beta=0.0, gamma=0.0), precision)
        full = _state(cfg.replace(beta=1.0, gamma=10.0), precision)
        out["identity step (Eq. 1)"] = lambda: identity_step(plain, x, y)
        out["expression step (Eq. 2)"] = lambda: expression_step(plain, x, None)
        out["expression step (Eq. 5)"] = lambda: expression_step(full, x, y)
    s = _state(cfg.replace(model="vae", beta=0.0, gamma=0.0, iterations=1), precision)
    out["VAE step"] = lambda: vae_step(s, x, None)
    return out


def inference_rate(cfg: Config, n: int = 256, repeats: int = 3) -> dict:
    """Images per second: expression latents (one encoder) and swaps (two encoders + decoder)."""
    torch.manual_seed(0)
    G = build(cfg.replace(beta=0.0, gamma=0.0))["G"].eval()
    if cfg.channels_last:
        G.to(memory_format=torch.channels_last)
    x = (torch.rand(n, 3, cfg.size, cfg.size) * 2 - 1).contiguous(
        memory_format=torch.channels_last if cfg.channels_last else torch.contiguous_format)
    with torch.no_grad():
        t_lat = B.time_fn(lambda: G.expression(x), 1, repeats)
        t_swap = B.time_fn(lambda: G.swap(x, x.flip(0)), 1, repeats)
    return {"expression_latents_images_per_s": n / t_lat["sec_best"], "swap_images_per_s": n / t_swap["sec_best"],
            "n": n}


def _has_bf16_units() -> bool:
    f = B.cpu_flags()
    return torch.cuda.is_available() or bool(f.get("avx512_bf16") or f.get("amx_bf16"))


def bench(profiles=("quick", "demo", "full"), repeats: int = 3) -> dict:
    """Measure, print and return a JSON-able dict (``benchmarks/idvae.json``).

    bf16 autocast is timed for every profile where the CPU has bf16 units (AVX512-BF16 / AMX) or a
    GPU is present; on other CPUs (emulated bf16, tens of times slower) only the identity step of
    ``quick``, once, against a 512 x 512 bf16 matmul rate.
    """
    units = _has_bf16_units()
    rates = {"fp32": B.matmul_rate(torch.float32)["best"],
             "bf16": B.matmul_rate(torch.bfloat16, **({} if units else {"n": 512, "repeats": 2}))["best"]}
    out = {"machine": B.machine(), "matmul_gflops": rates, "bf16_units": units, "steps": {}, "inference": {}}
    for p in profiles:
        over = {"batch": FULL_BENCH_BATCH} if p == "full" else {}
        cfg = Config.for_profile(p, **over)
        for prec in ("fp32", "bf16") if (p == "quick" or units) else ("fp32",):
            slow = prec == "bf16" and not units          # emulated bf16: one timed call is enough
            fns = step_fns(cfg, prec)
            if slow:                                     # ... of the cheapest step, to show the slowdown
                fns = dict(list(fns.items())[:1])
            res = B.measure(fns, rates[prec], 1 if slow else 2, 1 if slow else repeats)
            for name, r in res.items():
                out["steps"][f"{p} b{cfg.batch} {cfg.size}px w{cfg.width:g} {prec} {name}"] = {**r, "precision": prec}
        out["inference"][f"{p} {cfg.size}px w{cfg.width:g} fp32"] = inference_rate(cfg, repeats=repeats)
    print(B.table(out["steps"], rates))
    for k, v in out["inference"].items():
        print(f"{k}: {v['expression_latents_images_per_s']:.0f} images/s (z_e), {v['swap_images_per_s']:.0f} images/s (swap)")
    return out
