"""Speed of GLCIC training steps: steps/s, FLOPs per step and the fraction of the machine's limit.

``python -m helpers.glcic bench`` measures, in one process (``bench(reference=...)`` adds the
otenim/GLCIC-PyTorch reference from a local checkout):

* the dense fp32 and bf16 matmul rates (2048x2048 @ 2048x2048, best of several) = the machine's
  practical limits in each precision (:func:`helpers.core.bench.matmul_rate`);
* for each profile's config: (a) the completion-network step (phase 1) and (b) the full
  three-network joint step (phase 3: one discriminator update + one completion update);
* FLOPs per step counted with ``torch.utils.flop_counter.FlopCounterMode`` (matmuls and
  convolutions, forward and backward, as executed);
* ratio = FLOPs / step time / matmul rate of the same precision;
* the data pipeline: images/second the loop's DataLoader delivers from a folder of 256 px JPEGs
  (the full profile's input) with 0, 2 and 4 worker processes, against the images/second a step
  consumes;
* optionally the otenim/GLCIC-PyTorch reference (a local checkout: its ``models.py`` is imported,
  nothing is copied) in the same configuration, driven in the order its ``train.py`` uses, and
  interleaved with ours so both see the same machine load.

The CPU may be shared, so every timing is repeated: best and median are reported.

Measured 2026-12-07 07:34 UTC on the course machine (AMD EPYC, Zen 4: AVX-512 and AVX512-BF16,
no AMX; torch 2.14.1, 1 thread, ``python -m helpers.glcic bench --threads 1 --json
benchmarks/glcic.json --reference <otenim checkout>``): matmul best fp32 98 GFLOP/s, bf16 211
GFLOP/s (2.2x). Each step's share is taken of the limit *of its own precision*:

==========================================  ==========  ==============  =================
step                                        GFLOP/step  steps/s (best)  of matmul limit
==========================================  ==========  ==============  =================
demo completion (64 px, bf16)               57.2        3.23            88% of bf16
demo joint, 3 nets (bf16)                   71.1        2.38            80% of bf16
full completion (256 px, batch 2, bf16)     389         0.513           95% of bf16
full joint (bf16)                           513         0.326           79% of bf16
128 px side by side, ours fp32 completion   453         0.242           112% of fp32
ours fp32 joint                             572         0.170           99% of fp32
reference (otenim) fp32 completion          389         0.252           100% of fp32
reference fp32 joint                        525         0.177           95% of fp32
ours bf16 completion / joint                453 / 572   0.479 / 0.343   103% / 93% of bf16
==========================================  ==========  ==============  =================

Side by side the reference keeps the paper's transposed convolutions and ours the resize +
convolution up-sampling of the quick/demo profiles (17% more FLOPs per completion step), so the
fair comparison is the share of the limit, not steps/s (ours 0.96x the reference's steps/s).
Convolutions beat the 2048x2048 matmul here (shares above 100%): oneDNN's direct convolution
reaches nearer the core's peak than this CPU's matmul library does. On this CPU bf16 gives 2.0x
(completion) and 2.0x (joint) the fp32 steps/s at the 128 px comparison size.

Profile of the demo bf16 step here (``torch.profiler``, completion): convolutions forward and
backward 80% of the time, batch norm 10%, ReLU 4%, casts and copies 1%. ``torch.compile``
(inductor) makes both demo steps *slower* here (0.88x / 0.89x, measured in every run as
``compile_demo``), so training stays eager. On the AMX Xeon of 2026-12-03 the same demo
completion step reached only 28% of the 1,446 GFLOP/s bf16 limit (46% at 128 px): AMX multiplies
so fast that batch norm, ReLU and the casts dominate, and the 70% aim there needs them fused
(compiled, or oneDNN post-ops); it has not been measured on such a CPU since.

What makes the difference: channels_last activations and weights (oneDNN's direct convolution
without reorders), no conv bias before BN, in-place ReLU, fused Adam / multi-tensor Adadelta,
no weight gradients for the discriminator during the completion update (the reference computes
them and, a bug, lets them leak into the next discriminator step), and bf16 autocast where the
CPU has bf16 units (AVX512-BF16 or AMX). The thin quick-profile layers stay far from the limit
(15-25%): at that size a step is a few milliseconds of overhead.
The ``full`` profile's batch of 96 at 256 px takes minutes per step on a CPU; it is measured at a
smaller batch (``FULL_BENCH_BATCH``) and reported per step of that batch.
"""
from __future__ import annotations

import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from helpers.core import bench as B, loop
from helpers.glcic.data import FolderImages
from helpers.glcic.losses import completion_step, joint_step, make_optimizer
from helpers.glcic.model import Config, boxes_to_masks, build_models, random_local_boxes, sample_boxes
from helpers.synthfaces import export

__all__ = ["our_steps", "reference_steps", "loader_rate", "bench", "print_report"]

FULL_BENCH_BATCH = 2
# the side-by-side comparison: the reference's fixed (paper) widths at a CPU-sized image
COMPARE = dict(size=128, local_size=64, width=1.0, batch=8)


# ---------------------------------------------------------------------------------------- ours
def our_steps(cfg: Config, seed: int = 0, precision: str = "fp32", compile: bool = False) -> dict:
    """Closures running one completion step and one joint step of our implementation (CPU).

    ``compile=True`` wraps the three networks' bodies in ``torch.compile`` (inductor), to measure
    whether fusing batch norm, ReLU and the casts around the oneDNN convolutions pays on this CPU.
    """
    torch.manual_seed(seed)
    C, D = build_models(cfg)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    C.to(memory_format=fmt)
    D.to(memory_format=fmt)
    parts = loop.Parts({"C": C, "D": D}, {"C": make_optimizer(C.parameters(), cfg),
                                          "D": make_optimizer(D.parameters(), cfg)})
    if compile:
        C.body, D.global_d, D.local_d = (torch.compile(m) for m in (C.body, D.global_d, D.local_d))
    s = loop.State(cfg, parts, loop.Env(torch.device("cpu"), precision=precision), {})
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(cfg.batch, 3, cfg.size, cfg.size, generator=g) * 2 - 1).contiguous(memory_format=fmt)
    boxes = sample_boxes(cfg.batch, cfg.size, "random", g)
    m = boxes_to_masks(boxes, cfg.size).contiguous(memory_format=fmt)
    rb = random_local_boxes(cfg.batch, cfg.size, cfg.local_size, g)
    return {"completion": lambda: completion_step(s, x, m),
            "joint": lambda: joint_step(s, x, m, boxes, rb)}


# ----------------------------------------------------------------------------------- reference
def _import_reference(path: str):
    path = Path(path)
    if not (path / "models.py").exists():
        raise FileNotFoundError(f"{path} is not a checkout of otenim/GLCIC-PyTorch (no models.py)")
    sys.path.insert(0, str(path))
    try:
        spec = importlib.util.spec_from_file_location("glcic_reference_models", path / "models.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(path))
    return mod


def reference_steps(path: str, size: int, local_size: int, batch: int, seed: int = 0) -> dict:
    """The reference's networks and optimiser (Adadelta), driven like its train.py phases 1 and 3."""
    ref = _import_reference(path)
    torch.manual_seed(seed)
    cn = ref.CompletionNetwork()
    cd = ref.ContextDiscriminator((3, local_size, local_size), (3, size, size), arc="celeba")
    opt_cn, opt_cd = torch.optim.Adadelta(cn.parameters()), torch.optim.Adadelta(cd.parameters())
    bce = torch.nn.BCELoss()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, size, size, generator=g)                 # the reference works in [0,1]
    boxes = sample_boxes(batch, size, "random", g)
    mask = boxes_to_masks(boxes, size)
    mpv = x.mean(dim=(0, 2, 3), keepdim=True)
    o = local_size // 4                                                # a fixed local area, as its crop()
    area = lambda t: t[:, :, o:o + local_size, o:o + local_size]

    def phase1():
        inp = torch.cat((x - x * mask + mpv * mask, mask), dim=1)
        out = cn(inp)
        loss = torch.nn.functional.mse_loss(out * mask, x * mask)
        loss.backward()
        opt_cn.step()
        opt_cn.zero_grad()

    def phase3():
        alpha = 4e-4
        inp = torch.cat((x - x * mask + mpv * mask, mask), dim=1)
        out = cn(inp)
        fake = out.detach()
        lf = bce(cd((area(fake), fake)), torch.zeros(batch, 1))
        lr = bce(cd((area(x), x)), torch.ones(batch, 1))
        ((lf + lr) * alpha / 2).backward()
        opt_cd.step()
        opt_cd.zero_grad()
        l1 = torch.nn.functional.mse_loss(out * mask, x * mask)
        l2 = bce(cd((area(out), out)), torch.ones(batch, 1))
        ((l1 + alpha * l2) / 2).backward()
        opt_cn.step()
        opt_cn.zero_grad()

    return {"completion": phase1, "joint": phase3}


# ------------------------------------------------------------------------------------ data pipeline
def loader_rate(size: int = 256, n: int = 192, batch: int = 32, workers=(0, 2, 4), batches: int = 5) -> dict:
    """Images/second the loop's data path delivers from a folder of ``n`` JPEG faces at ``size`` px.

    The folder is written once to a temporary directory (SynthFaces in the on-disk format); each
    worker count reads ``batches`` batches through :func:`helpers.core.loop` 's DataLoader setup.
    """
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        export(Path(tmp) / "faces", n, seed=0, size=size, split=None, progress=False, image_format=".jpg")
        data = FolderImages(Path(tmp) / "faces", None, size)
        for w in workers:
            cfg = Config.quick(size=size, local_size=size // 2, batch=batch, workers=w)
            it = loop.batches(data, loop.StepSampler(len(data), batch, 0), cfg, torch.device("cpu"))
            next(it)                                   # start the workers
            t = time.perf_counter()
            for _ in range(batches):
                next(it)
            out[w] = batches * batch / (time.perf_counter() - t)
            it.close()
    return out


# ----------------------------------------------------------------------------------------- run
def _time(fn, iters: int) -> float:
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t) / iters


def compiled_demo(precision: str, repeats: int = 3, iters: int = 3) -> dict:
    """The demo steps eager and under ``torch.compile``, interleaved; with the compile time (s)."""
    cfg = Config.demo()
    eager, comp = our_steps(cfg, precision=precision), our_steps(cfg, precision=precision, compile=True)
    t0 = time.perf_counter()
    for fn in comp.values():
        fn()
        fn()
    out = {"compile_seconds": time.perf_counter() - t0, "precision": precision}
    for k in eager:
        te, tc = [], []
        for _ in range(repeats):
            te.append(_time(eager[k], iters))
            tc.append(_time(comp[k], iters))
        out[k] = {"eager_sec_best": min(te), "compiled_sec_best": min(tc), "speedup": min(te) / min(tc)}
    return out


def bench(profiles=("quick", "demo", "full"), repeats: int = 3, reference: str | None = None,
          iters: int | None = None, loader: bool = True, compile: bool = True) -> dict:
    """Run the benchmark, print the report; returns a JSON-able dict (see the module docstring)."""
    res = {"machine": B.machine(), "profiles": {}, "compare": {}}
    rates = {"fp32": [B.matmul_rate(torch.float32)], "bf16": [B.matmul_rate(torch.bfloat16)]}
    for p in profiles:
        over = {"batch": FULL_BENCH_BATCH} if p == "full" else {}
        cfg = Config.for_profile(p, **over)
        prec = "bf16" if cfg.precision in ("bf16", "mixed", "auto") and B.native_bf16() else "fp32"
        n = iters or (10 if p == "quick" else 3 if p == "demo" else 1)
        r = {}
        for precision in dict.fromkeys((prec, "fp32")):     # the profile's precision, and fp32 beside it
            for name, fn in our_steps(cfg, precision=precision).items():
                t = B.time_fn(fn, n, repeats)
                key = name if precision == prec else f"{name} {precision}"
                r[key] = {"flops": B.count_flops(fn), **t, "precision": precision}
        r["config"] = {k: getattr(cfg, k) for k in ("size", "local_size", "width", "batch")}
        res["profiles"][p] = r
    cmp_cfg = Config.quick(**COMPARE)
    variants = {"ours": our_steps(cmp_cfg)}
    if B.native_bf16():            # elsewhere bf16 is emulated: minutes per step, nothing to learn
        variants["ours_bf16"] = our_steps(cmp_cfg, precision="bf16")
    if reference:
        variants["reference"] = reference_steps(reference, COMPARE["size"], COMPARE["local_size"], COMPARE["batch"])
    for fns in variants.values():
        for fn in fns.values():
            fn()
    flops = {(who, k): B.count_flops(f) for who, fns in variants.items() for k, f in fns.items()}
    times = {k: [] for k in flops}
    n = iters or 2
    for _ in range(repeats):                       # interleave so all see the same load
        rates["fp32"].append(B.matmul_rate(torch.float32, repeats=2))
        rates["bf16"].append(B.matmul_rate(torch.bfloat16, repeats=2))
        for (who, k) in times:
            times[(who, k)].append(_time(variants[who][k], n))
    for (who, k), ts in times.items():
        res["compare"].setdefault(who, {})[k] = {"flops": flops[(who, k)], "sec_best": min(ts),
                                                 "sec_median": statistics.median(ts),
                                                 "precision": "bf16" if who == "ours_bf16" else "fp32"}
    res["compare"]["config"] = dict(COMPARE)
    best = {k: max(r["best"] for r in v) for k, v in rates.items()}
    res["matmul_gflops_best"] = best
    res["matmul_gflops_median"] = {k: statistics.median(r["median"] for r in v) for k, v in rates.items()}
    for group in list(res["profiles"].values()) + [res["compare"]]:
        for who, d in group.items():
            if who == "config":
                continue
            for v in (d.values() if "flops" not in d else [d]):
                if isinstance(v, dict) and "flops" in v:
                    rate = best[v["precision"]]
                    v.update(steps_per_s_best=1 / v["sec_best"], steps_per_s_median=1 / v["sec_median"],
                             gflops_best=v["flops"] / v["sec_best"] / 1e9,
                             ratio_best=v["flops"] / v["sec_best"] / 1e9 / rate,
                             ratio_median=v["flops"] / v["sec_median"] / 1e9 / rate)
    if compile:
        res["compile_demo"] = compiled_demo(res["profiles"].get("demo", {}).get("completion", {}).get(
            "precision", "bf16" if B.native_bf16() else "fp32"), repeats)
    if loader:
        res["loader_images_per_s"] = loader_rate()
        step = res["profiles"].get("full", {}).get("joint")
        if step:
            res["full_step_images_per_s"] = FULL_BENCH_BATCH / step["sec_best"]
    print_report(res)
    return res


def print_report(res: dict) -> None:
    b, m = res["matmul_gflops_best"], res["matmul_gflops_median"]
    print(f"torch {res['machine']['torch']}  threads {res['machine']['threads']}  matmul best/median: "
          f"fp32 {b['fp32']:.0f}/{m['fp32']:.0f}, bf16 {b['bf16']:.0f}/{m['bf16']:.0f} GFLOP/s")
    rows = [(f"{p} {v['config']}", k, v[k]) for p, v in res["profiles"].items() for k in ("completion", "joint")]
    rows += [(f"compare {who} {res['compare']['config']}", k, v)
             for who, d in res["compare"].items() if who != "config" for k, v in d.items()]
    print(f"{'config':72s} {'step':10s} {'prec':5s} {'GFLOP':>8s} {'steps/s':>8s} {'GFLOP/s':>8s} "
          f"{'of limit':>8s} {'median':>7s}")
    for name, k, v in rows:
        print(f"{name:72s} {k:10s} {v['precision']:5s} {v['flops'] / 1e9:8.2f} {v['steps_per_s_best']:8.3f}"
              f" {v['gflops_best']:8.1f} {v['ratio_best']:8.1%} {v['ratio_median']:7.1%}")
    c = res["compare"]
    if "reference" in c:
        for k in ("completion", "joint"):
            print(f"{k}: ours/reference steps/s (best) = "
                  f"{c['ours'][k]['steps_per_s_best'] / c['reference'][k]['steps_per_s_best']:.2f}x")
    if "compile_demo" in res:
        cd = res["compile_demo"]
        print(f"torch.compile, demo steps ({cd['precision']}): " + ", ".join(
            f"{k} {cd[k]['speedup']:.2f}x" for k in ("completion", "joint")) + f" (compiling took {cd['compile_seconds']:.0f} s)")
    if "loader_images_per_s" in res:
        lr = ", ".join(f"{w} workers {v:.0f}" for w, v in res["loader_images_per_s"].items())
        need = res.get("full_step_images_per_s")
        print(f"data pipeline, 256 px JPEG folder, images/s: {lr}"
              + (f"; the full-profile step consumes {need:.1f} images/s on this CPU" if need else ""))
