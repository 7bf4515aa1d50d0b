"""Speed of both networks of the landmark-and-label paper: training steps/s, share of the machine's matmul rate, images/s.

``python -m helpers.lafin bench --json benchmarks/lafin.json`` measures, per profile, one training
step of the landmark predictor (:func:`helpers.lafin.model.predictor_step`, variant ``ours``) and
one of the inpainter (:func:`helpers.lafin.inpainter.inpainter_step`: a discriminator and a
generator update with the perceptual/style features), in fp32 and with bf16 autocast; FLOPs by
``torch.utils.flop_counter``; the share of the dense fp32 / bf16 matmul rate of this machine
(:func:`helpers.core.bench.matmul_rate`); and inference images/s (predictor and generator,
eval mode, batch 32). The ``full`` profile (256 px, a GPU configuration) is timed on this CPU at
batch :data:`FULL_BATCH` so that one step fits in seconds. The CPU may be shared: each timing is
repeated and best and median reported.
"""
from __future__ import annotations

import time

import torch

from helpers.core import bench as B, loop
from helpers.core.runtime import CHECKPOINT_DIR
from helpers.lafin.inpainter import build_inpainter, feature_maps, inpaint, inpainter_step, make_optimizers
from helpers.lafin.train import Config
from helpers.lafin.losses import predictor_step
from helpers.lafin.model import build_predictor, damage_masks, make_adam, predict
from helpers.synthfaces import bank

__all__ = ["bench", "step_fns", "inference_rate", "FULL_BATCH"]

FULL_BATCH = 2


def _features(cfg: Config) -> Config:
    """The analysis features where the release exists, else the untrained stand-in (same cost class)."""
    if cfg.features == "analysis" and not (CHECKPOINT_DIR / f"{cfg.feature_release}.json").exists():
        return cfg.replace(features="random")
    if cfg.features == "vgg19":
        return cfg.replace(features="analysis") if (CHECKPOINT_DIR / f"{cfg.feature_release}.json").exists() \
            else cfg.replace(features="random")
    return cfg


def _batch(cfg: Config) -> dict:
    b = bank(max(cfg.batch, 2), cfg.size, 0, keys=("unmasked", "landmarks", "smiling"), progress=False)
    return {"image": b["unmasked"][:cfg.batch].float() / 127.5 - 1, "landmarks": b["landmarks"][:cfg.batch],
            "smiling": b["smiling"][:cfg.batch]}


def step_fns(profile: str, precision: str) -> dict:
    """Closures running one predictor step and one inpainter step of ``profile`` (CPU)."""
    over = {"batch": FULL_BATCH} if profile == "full" else {}
    out = {}
    for net in ("predictor", "inpainter"):
        cfg = _features(Config.for_profile(profile, net=net, precision=precision, **over))
        torch.manual_seed(0)
        env = loop.Env(torch.device("cpu"), precision=precision)
        if net == "predictor":
            P = build_predictor(cfg.replace(variant="ours")).to(memory_format=torch.channels_last)
            parts = loop.Parts({"P": P}, {"P": make_adam(P.parameters(), cfg.lr)}, {"damage": torch.Generator()})
            s = loop.State(cfg.replace(variant="ours"), parts, env, {})
            fn = predictor_step
        else:
            G, D = build_inpainter(cfg)
            G.to(memory_format=torch.channels_last)
            D.to(memory_format=torch.channels_last)
            parts = loop.Parts({"G": G, "D": D}, make_optimizers(cfg, G, D), {"damage": torch.Generator()},
                               {"features": feature_maps(cfg)})
            s = loop.State(cfg, parts, env, {})
            fn = inpainter_step
        batch = _batch(cfg)
        out[net] = (lambda s=s, fn=fn, batch=batch: fn(s, batch), cfg)
    return out


def inference_rate(profile: str, n: int = 32, repeats: int = 2) -> dict:
    """Images/s of the predictor and of the generator in eval mode (fp32), batch ``n``."""
    res = {}
    cp = Config.for_profile(profile, net="predictor", variant="ours")
    ci = Config.for_profile(profile, net="inpainter")
    torch.manual_seed(0)
    P, (G, _) = build_predictor(cp).eval(), build_inpainter(ci)
    b = bank(n, cp.size, 0, keys=("unmasked", "landmarks", "smiling"), progress=False)
    x = b["unmasked"].float() / 127.5 - 1
    m = damage_masks(b["landmarks"], cp.size)
    for name, fn in (("predictor", lambda: predict(P, x, b["smiling"])),
                     ("inpainter", lambda: inpaint(G, x * (1 - m), m, b["landmarks"]))):
        fn()
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        res[name] = {"images_per_s_best": n / min(ts), "images_per_s_median": n / sorted(ts)[len(ts) // 2]}
    return res


def bench(profiles=("quick", "demo", "full"), repeats: int = 3) -> dict:
    """Measure and print; returns a JSON-able dict (see the module docstring)."""
    rates = {"fp32": B.matmul_rate(torch.float32)["best"], "bf16": B.matmul_rate(torch.bfloat16)["best"]}
    out = {"machine": B.machine(), "matmul_gflops": rates, "steps": {}, "inference": {}, "configs": {}}
    for p in profiles:
        for prec in ("fp32", "bf16"):
            fns = step_fns(p, prec)
            iters = 3 if p == "quick" else 1
            for net, (fn, cfg) in fns.items():
                key = f"{p} {net} {prec}"
                out["steps"][key] = B.measure({key: fn}, rates[prec], iters, repeats)[key]
                out["configs"][f"{p} {net}"] = {k: getattr(cfg, k) for k in ("size", "batch", "width_mult", "width",
                                                                             "res_blocks", "features")}
        if p != "full":
            out["inference"][p] = inference_rate(p)
    print(B.table(out["steps"], rates))
    for p, r in out["inference"].items():
        print(f"inference {p}: " + ", ".join(f"{k} {v['images_per_s_best']:.1f} images/s" for k, v in r.items()))
    return out
