"""Speed of the analysis network: a training step and batched inference, fp32 and bf16.

``python -m helpers.analysis bench`` times one multi-task training step per profile against the
machine's dense matmul rate, and :func:`helpers.faces.analysis.analyse` in images per second.
"""
from __future__ import annotations

import torch

from helpers.core import bench as B, loop
from helpers.analysis.evaluate import speed
from helpers.analysis.losses import train_step
from helpers.analysis.model import Config, build

__all__ = ["bench", "step_fn"]


def step_fn(cfg: Config, precision: str = "fp32"):
    """A closure running one training step of ``cfg`` on random images and labels (CPU)."""
    torch.manual_seed(0)
    net, head = build(cfg)
    net.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(list(net.parameters()) + list(head.parameters()), cfg.lr)
    parts = loop.Parts({"net": net, "head": head}, {"net": opt}, {"aug": torch.Generator().manual_seed(0)})
    s = loop.State(cfg, parts, loop.Env(torch.device("cpu"), precision=precision), {})
    n, size = cfg.batch, cfg.size
    batch = {"image": torch.rand(n, 3, size, size) * 2 - 1, "landmarks": torch.rand(n, 68, 2) * size,
             "aus": torch.rand(n, 17) * 2, "identity": torch.randint(cfg.n_identities, (n,)),
             "expression": torch.randint(8, (n,)), "smiling": torch.randint(2, (n,)), "pose": torch.randn(n, 3) * 10}

    def run():
        train_step(s, batch)
    return run, net


def bench(profiles=("quick", "demo"), repeats: int = 3) -> dict:
    """Measure and print; returns a JSON-able dict (training steps, then inference images/s)."""
    rates = {"fp32": B.matmul_rate(torch.float32)["best"], "bf16": B.matmul_rate(torch.bfloat16)["best"]}
    out = {"machine": B.machine(), "matmul_gflops": rates, "steps": {}, "inference": {}}
    for p in profiles:
        if p == "full":
            continue  # a GPU configuration
        cfg = Config.for_profile(p)
        for prec in ("fp32", "bf16"):
            fn, net = step_fn(cfg, prec)
            out["steps"].update({f"{p} {prec} train_step (batch {cfg.batch})": r for r in
                                 B.measure({"s": fn}, rates[prec], 2, repeats).values()})
        out["inference"][p] = speed(net.eval(), repeats=repeats)
    print(B.table(out["steps"], rates))
    for p, r in out["inference"].items():
        print(f"{p}: analyse() images/s: " + ", ".join(f"{k} {v}" for k, v in r.items()))
    return out
