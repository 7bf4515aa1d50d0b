"""Speed measurement shared by every method's ``bench``: the machine's matmul limit, FLOPs, timings.

A training step's speed means little alone; the course reports it as a share of what this machine
can do at best: the dense matmul rate (n x n @ n x n, best of several) in fp32 and in bf16 (on
CPUs with AVX512-BF16/AMX and on GPUs bf16 runs on other units, so it has its own limit). FLOPs
per step are counted by ``torch.utils.flop_counter`` (matmuls and convolutions, forward and
backward, as executed). The CPU may be shared: every timing is repeated, best and median reported.
"""
from __future__ import annotations

import math
import platform
import statistics
import time
from typing import Callable, Mapping

import torch

__all__ = ["matmul_rate", "count_flops", "time_fn", "measure", "cpu_flags", "native_bf16", "machine", "table"]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_rate(dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 5,
                device: str = "cpu") -> dict:
    """Best and median dense GFLOP/s of ``n x n`` matmuls in ``dtype`` on ``device``."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    a @ b
    _sync(device)
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(3):
            a @ b
        _sync(device)
        rates.append(3 * 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return {"best": max(rates), "median": statistics.median(rates), "dtype": str(dtype).replace("torch.", "")}


def _conv_flops(x_shape, w_shape, out_shape, transposed: bool) -> int:
    """2 x multiply-adds of one convolution: every element of the output (of the input, if
    transposed) meets ``prod(w_shape[1:])`` weights (``w_shape[1]`` is already per group)."""
    return 2 * math.prod(x_shape if transposed else out_shape) * math.prod(w_shape[1:])


def _conv_backward_flops(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                         _output_padding, _groups, output_mask, out_shape=None, **kwargs) -> int:
    """Backward of a (grouped) convolution: the input gradient and the weight gradient each cost
    what the forward did. torch's own formula treats the weight gradient as an ungrouped
    convolution and overcounts a depthwise one by its number of groups (here 2.4.0-2.14)."""
    fwd = _conv_flops(x_shape, w_shape, grad_out_shape, transposed)
    return fwd * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs that one call of ``fn`` executes (matmul/conv forward and backward; grouped and
    depthwise convolutions counted per group, see :func:`_conv_backward_flops`)."""
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    with FlopCounterMode(display=False, custom_mapping={aten.convolution_backward: _conv_backward_flops}) as fc:
        fn()
    return int(fc.get_total_flops())


def time_fn(fn: Callable[[], object], iters: int = 3, repeats: int = 3, device: str = "cpu") -> dict:
    """Seconds per call of ``fn`` (after one warm-up call): best and median of ``repeats``."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        _sync(device)
        times.append((time.perf_counter() - t) / iters)
    return {"sec_best": min(times), "sec_median": statistics.median(times)}


def measure(steps: Mapping[str, Callable[[], object]], rate_gflops: float, iters: int = 3,
            repeats: int = 3, device: str = "cpu") -> dict:
    """For each named step: FLOPs, seconds, steps/s and the share of ``rate_gflops`` (best/median)."""
    out = {}
    for name, fn in steps.items():
        t = time_fn(fn, iters, repeats, device)
        try:
            flops = count_flops(fn)
        except RuntimeError as e:        # FlopCounterMode cannot follow torch.autograd.grad (R1, path length)
            if "autograd.grad" not in str(e):
                raise
            flops = None
        g = None if flops is None else flops / 1e9
        share = lambda sec: None if g is None else g / sec / rate_gflops  # noqa: E731
        out[name] = {"gflop": g, **t,
                     "steps_per_s_best": 1 / t["sec_best"], "steps_per_s_median": 1 / t["sec_median"],
                     "gflops_best": None if g is None else g / t["sec_best"],
                     "share_best": share(t["sec_best"]), "share_median": share(t["sec_median"])}
        if flops is None:
            out[name]["flops_note"] = ("not counted: the step calls torch.autograd.grad, which torch's "
                                       "FlopCounterMode cannot follow")
    return out


def cpu_flags(names=("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")) -> dict:
    """Which of ``names`` this CPU reports in /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {n: n in flags for n in names}
    except OSError:
        pass
    return {}


def native_bf16() -> bool:
    """True if this CPU computes bf16 natively (AVX512-BF16 or AMX): only then is bf16 autocast fast.

    Without those units PyTorch emulates bf16 and a bf16 convolution can be 10-100x slower than fp32.
    """
    flags = cpu_flags(("avx512_bf16", "amx_bf16"))
    return any(flags.values())


def machine() -> dict:
    """Torch version, threads, processor and CPU flags: the header of every benchmark report."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "processor": model or platform.processor() or platform.machine(), "cpu_flags": cpu_flags(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def table(results: Mapping[str, Mapping], rates: Mapping[str, float]) -> str:
    """A plain-text table of :func:`measure` results; ``rates`` names the limit of each row group."""
    lines = [f"{'step':42s} {'GFLOP':>8s} {'steps/s':>9s} {'median':>8s} {'GFLOP/s':>8s} {'share':>7s} {'median':>7s}"]
    for name, r in results.items():
        if r.get("gflop") is None:
            lines.append(f"{name:42s} {'-':>8s} {r['steps_per_s_best']:9.3f} {r['steps_per_s_median']:8.3f} "
                         f"{'-':>8s} {'-':>7s} {'-':>7s}")
            continue
        lines.append(f"{name:42s} {r['gflop']:8.2f} {r['steps_per_s_best']:9.3f} {r['steps_per_s_median']:8.3f} "
                     f"{r['gflops_best']:8.1f} {r['share_best']:7.1%} {r['share_median']:7.1%}")
    lines.append("limits: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items()))
    return "\n".join(lines)
