"""Speed of GANimation's generators: training steps/s, share of the matmul rate, inference images/s.

``python -m helpers.ganimation bench --json benchmarks/ganimation.json`` measures, per profile and
per bottleneck variant (ResNet, ConvNeXt 2x/4x/6x, more LN+GELU), in fp32 and with bf16 autocast:

* one *full* training iteration (a critic step with its gradient-penalty step + a generator step)
  and the loop's average iteration (critic every step, generator every ``g_every``-th);
* FLOPs per iteration counted by ``torch.utils.flop_counter`` (matmuls and convolutions, forward
  and backward; the gradient penalty's double backward, which the counter cannot follow, is
  estimated as twice a critic forward + backward) and their rate as a share of the dense matmul
  rate of the same precision (:func:`helpers.core.bench.matmul_rate`);
* images/s of inference (``edit``, batch 64);
* one ConvNeXt bottleneck block taken apart (depthwise 7x7, LayerNorm, the two 1x1 layers, GELU),
  forward + backward, stored channels_last or contiguous: where the time of a ConvNeXt block goes.

The ``full`` profile (128 px, widths 64, batch 25) is a GPU configuration; on a CPU it is measured
at batch ``FULL_BENCH_BATCH`` and reported per iteration of that batch. The CPU may be shared: every
timing is repeated, best and median reported.
"""
from __future__ import annotations

import time

import torch
from torch.nn import functional as F

from helpers.core import bench as B, loop
from helpers.ganimation.losses import au_regression_loss, critic_loss, d_step, g_step
from helpers.ganimation.model import VARIANTS, Config, ConvNeXtBlock, build, compose, edit

__all__ = ["FULL_BENCH_BATCH", "iteration_fns", "inference_rate", "block_parts", "bench"]

FULL_BENCH_BATCH = 4
#: without bf16 hardware (AVX512-BF16/AMX, or a GPU) bf16 is emulated: measure only these variants
SLOW_BF16_VARIANTS = ("resnet", "convnext")


def _state(cfg: Config, precision: str, seed: int = 0):
    torch.manual_seed(seed)
    G, D = build(cfg)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    G.to(memory_format=fmt)
    D.to(memory_format=fmt)
    parts = loop.Parts({"G": G, "D": D}, {"G": torch.optim.Adam(G.parameters(), cfg.lr_g, betas=cfg.betas),
                                          "D": torch.optim.Adam(D.parameters(), cfg.lr_d, betas=cfg.betas)})
    return loop.State(cfg, parts, loop.Env(torch.device("cpu"), precision=precision), {})


def iteration_fns(cfg: Config, precision: str = "fp32", seed: int = 0) -> dict:
    """Closures for one critic step (``d``) and one generator step (``g``) of ``cfg`` on random data."""
    s = _state(cfg, precision, seed)
    g = torch.Generator().manual_seed(seed)
    n, size = cfg.batch, cfg.size
    x = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    if cfg.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    aus, target = torch.rand(n, 17, generator=g) * 2, torch.rand(n, 17, generator=g) * 2
    alpha = torch.rand(n, 1, 1, 1, generator=g)
    G, D = s.models["G"], s.models["D"]

    def d_no_penalty():      # what FlopCounterMode can count (it cannot follow autograd.grad's double backward)
        with torch.no_grad(), s.autocast():
            colour, att = G(x, target)
            fake = compose(x, colour, att)
        with s.autocast():
            (r, ra), (f, _) = D(x), D(fake)
            loss = critic_loss(r, f) + au_regression_loss(ra, aus / cfg.au_scale)
        loss.backward()

    def d_once():
        with s.autocast():
            r, _ = D(x)
        r.float().sum().backward()

    return {"d": lambda: d_step(s, x, aus, target, alpha), "g": lambda: g_step(s, x, aus, target),
            "d_flops": lambda: B.count_flops(d_no_penalty) + 2 * B.count_flops(d_once), "G": G}


def inference_rate(G, size: int, n: int = 128, batch: int = 64, repeats: int = 3) -> float:
    """Best images/s of :func:`helpers.ganimation.model.edit` over ``repeats`` runs of ``n`` images."""
    x = torch.rand(n, 3, size, size) * 2 - 1
    a = torch.rand(n, 17) * 2
    edit(G, x[:batch], a[:batch], batch)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        edit(G, x, a, batch)
        best = max(best, n / (time.perf_counter() - t))
    return best


def block_parts(dim: int = 64, side: int = 16, batch: int = 8, expansion: int = 2, channels_last: bool = True,
                repeats: int = 5) -> dict:
    """Forward + backward milliseconds of each part of one ConvNeXt block (and of the whole block).

    ``dim`` channels at ``side`` x ``side`` (the demo generator's bottleneck: 64 channels at 16 px);
    ``channels_last`` stores the activations NHWC, which makes the LayerNorm / Linear views free.
    """
    torch.manual_seed(0)
    blk = ConvNeXtBlock(dim, expansion)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    blk.to(memory_format=fmt)
    x = torch.randn(batch, dim, side, side).contiguous(memory_format=fmt).requires_grad_(True)
    h = torch.randn(batch, side, side, dim, requires_grad=True)
    hh = torch.randn(batch, side, side, expansion * dim, requires_grad=True)
    parts = {"dwconv 7x7": lambda: blk.dwconv(x), "LayerNorm": lambda: blk.norm(h),
             "1x1 expand": lambda: blk.pw1(h), "GELU": lambda: F.gelu(hh), "1x1 reduce": lambda: blk.pw2(hh),
             "whole block": lambda: blk(x)}
    out = {}
    for name, fn in parts.items():
        def run(fn=fn):
            y = fn()
            y.sum().backward()
        t = B.time_fn(run, iters=5, repeats=repeats)
        flops = B.count_flops(run)
        out[name] = {"ms": round(t["sec_best"] * 1000, 3), "gflop": flops / 1e9,
                     "gflops_per_s": round(flops / t["sec_best"] / 1e9, 2)}
    return out


def bench(profiles=("quick", "demo", "full"), repeats: int = 3, variants=tuple(VARIANTS),
          precisions=("fp32", "bf16")) -> dict:
    """Measure and print every profile x variant x precision; returns a JSON-able dict."""
    fast_bf16 = bool(B.cpu_flags().get("amx_bf16") or B.cpu_flags().get("avx512_bf16") or torch.cuda.is_available())
    rates = {"fp32": B.matmul_rate(torch.float32)["best"],
             "bf16": B.matmul_rate(torch.bfloat16, n=2048 if fast_bf16 else 512, repeats=5 if fast_bf16 else 2)["best"]}
    out = {"machine": B.machine(), "matmul_gflops": rates, "iterations": {}, "inference_images_per_s": {},
           "convnext_block": {}}
    for p in profiles:
        over = {"batch": FULL_BENCH_BATCH} if p == "full" else {}
        for v in variants:
            cfg = Config.for_profile(p, **VARIANTS[v], **over)
            for prec in precisions:
                if prec == "bf16" and not fast_bf16 and (p == "full" or v not in SLOW_BF16_VARIANTS):
                    continue      # emulated bf16: measured for two variants only (it takes minutes per step)
                # bf16 without AVX512-BF16/AMX is emulated and very slow: one repeat is enough to show it
                reps = repeats if prec == "fp32" or fast_bf16 else 1
                fns = iteration_fns(cfg, prec)
                g = B.measure({"g": fns["g"]}, rates[prec], iters=1 if prec == "bf16" else 2, repeats=reps)["g"]
                t = B.time_fn(fns["d"], iters=1 if prec == "bf16" else 2, repeats=reps)
                fl = fns["d_flops"]() / 1e9
                d = {"gflop": fl, **t, "steps_per_s_best": 1 / t["sec_best"], "gflops_best": fl / t["sec_best"],
                     "share_best": fl / t["sec_best"] / rates[prec], "flops_note": "penalty's double backward "
                     "estimated as 2 x (critic forward + backward); FlopCounterMode cannot count autograd.grad"}
                loop_sec = d["sec_best"] + g["sec_best"] / cfg.g_every
                loop_gflop = d["gflop"] + g["gflop"] / cfg.g_every
                key = f"{p} {v} {prec}"
                out["iterations"][key] = {
                    "batch": cfg.batch, "size": cfg.size, "g_every": cfg.g_every, "precision": prec,
                    "d_step": d, "g_step": g,
                    "full_iteration_per_s": 1 / (d["sec_best"] + g["sec_best"]),
                    "loop_steps_per_s": 1 / loop_sec, "loop_gflop": loop_gflop,
                    "share_of_matmul": loop_gflop / loop_sec / rates[prec]}
                print(f"{key:32s} loop {1 / loop_sec:7.2f} steps/s  D {d['sec_best'] * 1000:7.1f} ms  "
                      f"G {g['sec_best'] * 1000:7.1f} ms  {loop_gflop:6.2f} GFLOP  "
                      f"{loop_gflop / loop_sec / rates[prec]:6.1%} of the {prec} matmul rate", flush=True)
                if prec == "fp32":
                    G = fns["G"].float().to(memory_format=torch.contiguous_format)
                    out["inference_images_per_s"][f"{p} {v}"] = round(inference_rate(G, cfg.size), 1)
    for cl in (True, False):
        key = "channels_last" if cl else "contiguous"
        out["convnext_block"][key] = block_parts(channels_last=cl)
        print(key, {k: v["ms"] for k, v in out["convnext_block"][key].items()}, flush=True)
    print("images/s (inference, fp32, batch 64):", out["inference_images_per_s"])
    print("limits: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items()))
    return out
