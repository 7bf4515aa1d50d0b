"""The shared benchmark instruments: FLOPs counted per group, matmul limits, the report table."""
from __future__ import annotations

import pytest
import torch

from helpers.core import bench


def _fwd_bwd(layer, x):
    return lambda: layer(x).sum().backward()


@pytest.mark.parametrize("groups", [1, 4, 16])
def test_grouped_conv_counts_forward_and_both_gradients_per_group(groups):
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    conv = torch.nn.Conv2d(16, 32, 3, padding=1, groups=groups)
    fwd = 2 * 2 * 32 * 8 * 8 * (16 // groups) * 9          # 2 x output elements x weights each meets
    assert bench.count_flops(lambda: conv(x)) == fwd
    assert bench.count_flops(_fwd_bwd(conv, x)) == 3 * fwd   # + input gradient + weight gradient


def test_depthwise_conv_is_not_overcounted():
    """torch's own backward formula counts a depthwise weight gradient as a dense conv (x groups)."""
    x = torch.randn(4, 64, 16, 16, requires_grad=True)
    dw = torch.nn.Conv2d(64, 64, 7, padding=3, groups=64)
    assert bench.count_flops(_fwd_bwd(dw, x)) == 3 * 2 * 4 * 64 * 16 * 16 * 49


def test_transposed_conv_and_frozen_input():
    x = torch.randn(2, 8, 4, 4, requires_grad=True)
    up = torch.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
    fwd = 2 * (2 * 8 * 4 * 4) * (4 * 16)                    # every input element meets C_out x k x k weights
    assert bench.count_flops(_fwd_bwd(up, x)) == 3 * fwd
    frozen = torch.randn(2, 8, 4, 4)                         # no input gradient: forward + weight gradient
    assert bench.count_flops(_fwd_bwd(up, frozen)) == 2 * fwd


def test_measure_reports_shares_of_the_given_rate():
    a = torch.randn(64, 64)
    out = bench.measure({"mm": lambda: a @ a}, rate_gflops=1.0, iters=1, repeats=2)["mm"]
    assert out["gflop"] == pytest.approx(2 * 64 ** 3 / 1e9)
    assert out["share_best"] == pytest.approx(out["gflops_best"] / 1.0)
    assert "mm" in bench.table({"mm": out}, {"fp32": 1.0})


def test_a_step_with_autograd_grad_is_timed_without_flops():
    """R1 and path-length steps call torch.autograd.grad, which FlopCounterMode cannot follow."""
    lin = torch.nn.Linear(8, 8)        # a module: FlopCounterMode's module tracker is what fails

    def step():
        x = torch.randn(4, 8, requires_grad=True)
        (g,) = torch.autograd.grad(lin(x).square().sum(), x, create_graph=True)
        g.square().sum().backward()

    r = bench.measure({"r1": step}, rate_gflops=1.0, iters=1, repeats=1)["r1"]
    assert r["gflop"] is None and r["share_best"] is None and r["steps_per_s_best"] > 0
    assert "-" in bench.table({"r1": r}, {"fp32": 1.0})
