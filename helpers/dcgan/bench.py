"""Speed of a DCGAN training step: steps/s and the share of the machine's matmul rate.

``python -m helpers.dcgan bench`` times :func:`helpers.dcgan.losses.train_step` (one D and one G
update) per profile, in fp32 and with bf16 autocast, against the dense fp32 and bf16 matmul rates.
"""
from __future__ import annotations

import torch

from helpers.core import bench as B, loop
from helpers.dcgan.losses import train_step
from helpers.dcgan.model import Config, build, init_weights

__all__ = ["bench", "step_fn"]


def step_fn(cfg: Config, precision: str = "fp32"):
    """A closure running one training step of ``cfg`` on random data (CPU)."""
    torch.manual_seed(0)
    G, D = build(cfg)
    G.apply(init_weights)
    D.apply(init_weights)
    parts = loop.Parts({"G": G, "D": D}, {"G": torch.optim.Adam(G.parameters(), cfg.lr_g, betas=cfg.betas),
                                          "D": torch.optim.Adam(D.parameters(), cfg.lr_d, betas=cfg.betas)})
    s = loop.State(cfg, parts, loop.Env(torch.device("cpu"), precision=precision), {})
    real = torch.rand(cfg.batch, 3, cfg.size, cfg.size) * 2 - 1
    z = torch.randn(cfg.batch, cfg.nz)

    def run():
        with s.autocast():
            train_step(s, real, z)
    return run


def bench(profiles=("quick", "demo"), repeats: int = 3) -> dict:
    """Measure and print; returns a JSON-able dict."""
    rates = {"fp32": B.matmul_rate(torch.float32)["best"], "bf16": B.matmul_rate(torch.bfloat16)["best"]}
    out = {"machine": B.machine(), "matmul_gflops": rates, "steps": {}}
    for p in profiles:
        if p == "full":
            continue  # a GPU configuration
        cfg = Config.for_profile(p)
        for prec in ("fp32", "bf16") if B.native_bf16() else ("fp32",):
            out["steps"].update({f"{p} {prec} train_step": r for r in
                                 B.measure({"s": step_fn(cfg, prec)}, rates[prec], 3, repeats).values()})
    print(B.table(out["steps"], rates))
    return out
