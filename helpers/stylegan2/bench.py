"""Speed of StyleGAN2: training steps/s, share of the matmul rate, images/s, projection seconds.

``python -m helpers.stylegan2 bench --json benchmarks/stylegan2.json`` measures in one process:

* the dense fp32 and bf16 matmul rates (the machine's practical limits, :mod:`helpers.core.bench`);
* one training step (D update + G update, without and with the lazy regularisers) of each profile's
  config (``full``: config F widths at 64 px and batch 4, :data:`FULL_BENCH`), in fp32 and, where the
  CPU has native bf16 (AVX512-BF16/AMX; its bf16 matmul rate >= half the fp32 one), bf16 autocast,
  with FLOPs counted by ``torch.utils.flop_counter`` and their share of the matmul rate;
* inference: images/s of ``G_ema`` sampling (batch 32) at the demo size;
* the paper's projection: seconds for a 64 px, 200-step W+ projection (perceptual + noise
  regularisation), against the 60 s target;
* optionally (``reference=PATH``, a local checkout of rosinality/stylegan2-pytorch; nothing is
  copied, its ``model.py`` is imported) its Generator and Discriminator at the *same*
  configuration, driven by the same step, interleaved with ours. Its custom CUDA ops are replaced
  by :func:`reference_ops`, a pure-PyTorch stand-in written here (``FusedLeakyReLU``,
  ``fused_leaky_relu``, ``upfirdn2d``, ``conv2d_gradfix``), so it runs on a CPU. The same
  stand-in lets :func:`reference_equivalence` check that our model, loaded with converted weights,
  computes what rosinality's does.
"""
from __future__ import annotations

import contextlib
import copy
import importlib.util
import sys
import time
import types
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from helpers.core import bench as B, loop
from helpers.stylegan2.losses import d_logistic_loss, g_nonsaturating_loss, make_optimizers, train_step
from helpers.stylegan2.model import Config, Generator, build
from helpers.stylegan2.official import to_rosinality
from helpers.stylegan2.project import ProjectConfig, project

__all__ = ["reference_ops", "import_reference", "reference_equivalence", "step_fn", "projection_seconds",
           "inference_rate", "bench", "FULL_BENCH"]

#: the full profile (config F widths) is measured at 64 px and batch 4: a 1024 px step takes many
#: minutes on a CPU; FLOPs and the share of the matmul rate are what carry over
FULL_BENCH = dict(size=64, batch=4)
#: bf16 is timed only where the CPU runs it natively (its matmul rate at least half of fp32's)
BF16_MIN_RATIO = 0.5


# ----------------------------------------------------------------------------- the reference, on a CPU
def _upfirdn2d_2d(x, kernel, up=1, down=1, pad=(0, 0)):
    """Pure-PyTorch upfirdn2d with a 2-D kernel (rosinality's op interface): zero-insert, pad, filter, keep."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    p0, p1 = (pad, pad) if isinstance(pad, int) else (pad[0], pad[1])
    x = F.pad(x, [p0, p1, p0, p1])
    k = torch.flip(kernel, [0, 1]).to(x.dtype)[None, None]
    y = F.conv2d(x.reshape(n * c, 1, *x.shape[-2:]), k)
    y = y.reshape(n, c, *y.shape[-2:])
    return y[:, :, ::down, ::down]


class _FusedLeakyReLU(nn.Module):
    def __init__(self, channel, bias=True, negative_slope=0.2, scale=2 ** 0.5):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channel)) if bias else None
        self.negative_slope, self.scale = negative_slope, scale

    def forward(self, x):
        return _fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)


def _fused_leaky_relu(x, bias=None, negative_slope=0.2, scale=2 ** 0.5):
    if bias is not None:
        x = x + bias.view(1, -1, *([1] * (x.ndim - 2))).to(x.dtype)
    return F.leaky_relu(x, negative_slope) * scale


def reference_ops() -> types.ModuleType:
    """A module named ``op`` with the interface rosinality's model.py imports, in plain PyTorch."""
    op = types.ModuleType("op")
    gradfix = types.ModuleType("op.conv2d_gradfix")
    gradfix.conv2d = F.conv2d
    gradfix.conv_transpose2d = F.conv_transpose2d
    gradfix.no_weight_gradients = contextlib.nullcontext
    gradfix.enabled = False
    op.FusedLeakyReLU, op.fused_leaky_relu, op.upfirdn2d = _FusedLeakyReLU, _fused_leaky_relu, _upfirdn2d_2d
    op.conv2d_gradfix = gradfix
    return op


def import_reference(path) -> types.ModuleType:
    """rosinality's ``model.py`` from the checkout ``path``, with :func:`reference_ops` as its ``op``."""
    path = Path(path)
    if not (path / "model.py").exists():
        raise FileNotFoundError(f"{path}/model.py not found: pass a checkout of rosinality/stylegan2-pytorch")
    saved = {k: sys.modules.get(k) for k in ("op", "op.conv2d_gradfix")}
    op = reference_ops()
    sys.modules["op"], sys.modules["op.conv2d_gradfix"] = op, op.conv2d_gradfix
    try:
        spec = importlib.util.spec_from_file_location("rosinality_model", path / "model.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return mod


def _reference_config(size: int, channel_multiplier: int, w_dim: int, batch: int) -> Config:
    """Our config with rosinality's fixed widths ({4..32: 512, 64: 256 * cm, ...})."""
    return Config(size=size, z_dim=w_dim, w_dim=w_dim, channel_base=16384 * channel_multiplier, channel_max=512,
                  batch=batch)


@torch.no_grad()
def reference_equivalence(path, size: int = 32, channel_multiplier: int = 1, w_dim: int = 64, seed: int = 0) -> dict:
    """Max |difference| of images and logits between our G/D and rosinality's, same (converted) weights."""
    ref = import_reference(path)
    cfg = _reference_config(size, channel_multiplier, w_dim, 4)
    torch.manual_seed(seed)
    G, D = build(cfg)
    for p in list(G.parameters()) + list(D.parameters()):   # non-trivial values everywhere
        p.add_(torch.randn_like(p) * 0.2)
    state = to_rosinality(G, D)
    RG = ref.Generator(size, w_dim, cfg.n_mlp, channel_multiplier=channel_multiplier)
    RD = ref.Discriminator(size, channel_multiplier=channel_multiplier)
    for net, sd in ((RG, state["g_ema"]), (RD, state["d"])):
        res = net.load_state_dict(sd, strict=False)   # their FIR kernels are buffers we do not store
        bad = [k for k in res.missing_keys if not k.endswith("kernel")] + list(res.unexpected_keys)
        if bad:
            raise ValueError(f"converted weights do not fit rosinality's {type(net).__name__}: {bad[:5]}")
    z = torch.randn(4, w_dim, generator=torch.Generator().manual_seed(seed))
    ours = G(z, noise_mode="const")
    noise = [getattr(RG.noises, f"noise_{i}") for i in range(RG.num_layers)]
    theirs, _ = RG([z], noise=noise)
    return {"size": size, "image_max_abs_diff": float((ours - theirs).abs().max()),
            "logit_max_abs_diff": float((D(ours) - RD(ours).reshape(-1)).abs().max()), "image_std": float(ours.std())}


# ----------------------------------------------------------------------------- our steps
def _state(cfg: Config, G, D, precision: str) -> loop.State:
    G_ema = copy.deepcopy(G).requires_grad_(False)
    return loop.State(cfg, loop.Parts({"G": G, "D": D, "G_ema": G_ema}, make_optimizers(G, D, cfg)),
                      loop.Env(torch.device("cpu"), precision=precision), {})


def _draws(cfg: Config, num_ws: int, g: torch.Generator) -> dict:
    def one():
        return (torch.randn(cfg.batch, cfg.z_dim, generator=g), torch.randn(cfg.batch, cfg.z_dim, generator=g),
                torch.rand((), generator=g), torch.randint(1, num_ws, (), generator=g))
    return {"d": one(), "g": one(), "pl": one()}


def step_fn(cfg: Config, precision: str = "fp32", regularise: bool = False, nets=None):
    """A closure running one training step of ``cfg`` on random data; ``nets`` = (G, D) to use."""
    torch.manual_seed(0)
    G, D = nets if nets is not None else build(cfg)
    s = _state(cfg, G, D, precision)
    real = torch.rand(cfg.batch, 3, cfg.size, cfg.size) * 2 - 1
    g = torch.Generator().manual_seed(0)

    def run():
        s.step = 0 if regularise else 1      # step 0: both lazy regularisers run
        train_step(s, real, _draws(cfg, G.num_ws, g))
    return run


def _reference_step(cfg: Config, ref, channel_multiplier: int, precision: str):
    """rosinality's G and D driven like :func:`train_step` (same losses, no regularisers)."""
    torch.manual_seed(0)
    RG = ref.Generator(cfg.size, cfg.w_dim, cfg.n_mlp, channel_multiplier=channel_multiplier)
    RD = ref.Discriminator(cfg.size, channel_multiplier=channel_multiplier)
    og, od = (torch.optim.Adam(m.parameters(), lr=cfg.lr, betas=cfg.betas) for m in (RG, RD))
    real = torch.rand(cfg.batch, 3, cfg.size, cfg.size) * 2 - 1
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bf16" else contextlib.nullcontext

    def run():
        z = torch.randn(cfg.batch, cfg.z_dim)
        RG.requires_grad_(False)
        RD.requires_grad_(True)
        with ctx():
            fake, _ = RG([z])
            loss = d_logistic_loss(RD(real), RD(fake.float()))
        od.zero_grad(set_to_none=True)
        loss.backward()
        od.step()
        RG.requires_grad_(True)
        RD.requires_grad_(False)
        with ctx():
            fake, _ = RG([torch.randn(cfg.batch, cfg.z_dim)])
            loss = g_nonsaturating_loss(RD(fake.float()))
        og.zero_grad(set_to_none=True)
        loss.backward()
        og.step()
        RD.requires_grad_(True)
    return run


# ----------------------------------------------------------------------------- inference, projection
def inference_rate(G: Generator, batch: int = 32, repeats: int = 3) -> dict:
    """Images per second of ``G.sample`` (no grad, constant noise) with batches of ``batch``."""
    t = B.time_fn(lambda: G.sample(batch, seed=0, batch=batch), iters=1, repeats=repeats)
    return {"batch": batch, "images_per_s_best": batch / t["sec_best"], "images_per_s_median": batch / t["sec_median"]}


def projection_seconds(G: Generator, steps: int = 200, net=None, precision: str = "fp32") -> dict:
    """Wall-clock seconds of one ``steps``-step W+ projection of a 64 px-like target (the paper's step 2)."""
    target = G.sample(1, seed=123)
    pc = ProjectConfig(steps=steps, space="w+", perceptual="analysis", precision=precision, w_avg_samples=2000)
    t = time.perf_counter()
    project(G, target, config=pc, net=net)
    sec = time.perf_counter() - t
    return {"steps": steps, "size": G.size, "seconds": sec, "sec_per_step": sec / steps, "target_s": 60.0,
            "meets_target": sec <= 60.0}


# ----------------------------------------------------------------------------- the report
def _measure(name, fn, rate, repeats, out):
    out[name] = B.measure({"s": fn}, rate, iters=2, repeats=repeats)["s"]


def bench(profiles=("quick", "demo", "full"), repeats: int = 3, reference=None, net=None) -> dict:
    """Measure and print; returns a JSON-able dict (see the module docstring)."""
    rates = {"fp32": B.matmul_rate(torch.float32)["best"], "bf16": B.matmul_rate(torch.bfloat16)["best"]}
    out = {"machine": B.machine(), "matmul_gflops": rates, "steps": {}, "notes": {}}
    precisions = ["fp32"]
    if rates["bf16"] >= BF16_MIN_RATIO * rates["fp32"]:
        precisions.append("bf16")
    else:
        out["notes"]["bf16"] = (f"bf16 not timed: this CPU's bf16 matmul runs at {rates['bf16']:.1f} GFLOP/s vs "
                                f"{rates['fp32']:.1f} fp32 (no native bf16 units); every profile trains in fp32 here")
    for p in profiles:
        cfg = Config.for_profile(p).replace(threads=None)
        if p == "full":
            cfg = cfg.replace(**FULL_BENCH)
            out["notes"]["full"] = f"full profile (config F widths) measured at {FULL_BENCH} (per step of that batch)"
        for prec in precisions:
            _measure(f"{p} {prec} step", step_fn(cfg, prec), rates[prec], repeats, out["steps"])
            if p == "demo":
                _measure(f"{p} {prec} step+reg", step_fn(cfg, prec, regularise=True), rates[prec], repeats,
                         out["steps"])
    demo = Config.demo()
    G = build(demo)[0].eval()
    out["inference"] = inference_rate(G)
    out["projection"] = projection_seconds(G, 200, net=net)
    if reference is not None:
        ref = import_reference(reference)
        cm = 1
        cfg = _reference_config(64, cm, 512, 4)
        out["reference"] = {"config": "64 px, rosinality widths (512 up to 32 px, 256 at 64 px), w 512, batch 4, "
                                      "fp32, D + G update without regularisers",
                            "equivalence": reference_equivalence(reference)}
        ours = step_fn(cfg, "fp32")
        theirs = _reference_step(cfg, ref, cm, "fp32")
        for k in range(repeats):   # interleaved: both see the same machine load
            _measure(f"ours 64px ref-config fp32 step#{k}", ours, rates["fp32"], 1, out["reference"])
            _measure(f"rosinality 64px ref-config fp32 step#{k}", theirs, rates["fp32"], 1, out["reference"])
    print(B.table(out["steps"], rates))
    print("inference:", out["inference"])
    print("projection:", out["projection"])
    return out
