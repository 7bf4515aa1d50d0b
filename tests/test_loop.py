"""The one training loop: data order, precision, budgets, resume, DDP with 2 gloo processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers.core import loop
from helpers.core.config import Config

REPO = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- a tiny method
@dataclass
class TinyConfig(Config):
    steps: int = 6
    batch: int = 8
    lr: float = 0.05
    n: int = 40


class Table(torch.utils.data.Dataset):
    """Fixed regression data; ``batch`` is the in-memory fast path (no DataLoader)."""

    def __init__(self, n: int, fast: bool = True):
        g = torch.Generator().manual_seed(7)
        self.x, self.y = torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g)
        if not fast:
            self.batch = None

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i], "i": torch.tensor(i)}

    def batch(self, idx):  # noqa: F811 - removed above when fast=False
        return {"x": self.x[idx], "y": self.y[idx], "i": idx}


class Tiny(loop.Method):
    """An MLP without batch statistics: DDP must equal one process with the same global batch."""
    name = "tiny"
    config_class = TinyConfig

    def dataset(self, cfg):
        return Table(cfg.n)

    def build(self, cfg, data, env):
        m = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).to(env.device)
        return loop.Parts({"m": m}, {"m": torch.optim.Adam(m.parameters(), cfg.lr)},
                          {"noise": env.generator("noise")})

    def step(self, s, b):
        noise = 0.01 * torch.randn(b["x"].shape, generator=s.generators["noise"])
        with s.autocast():
            loss = (s.models["m"](b["x"] + noise) - b["y"]).pow(2).mean()
        s.update("m", loss)
        s.persist["seen"] = s.persist.get("seen", 0) + len(b["x"])
        return {"loss": loss.detach()}

    def evaluate(self, s):
        with loop.evaluating(s.models["m"]):
            return {"weight_norm": float(s.models["m"][0].weight.norm())}


def _params(res):
    return torch.cat([p.detach().flatten() for p in res.models["m"].parameters()])


# ----------------------------------------------------------------------------- data order
def test_step_sampler_is_a_function_of_seed_and_step():
    a = loop.StepSampler(10, 4, seed=3)
    first = [a.indices(s) for s in range(6)]                  # 24 positions = 2.4 epochs
    flat = [i for b in first for i in b]
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:20]) == list(range(10))
    assert first[3] == loop.StepSampler(10, 4, seed=3, start=3).indices(3)   # resuming needs no state
    it = iter(loop.StepSampler(10, 4, seed=3, start=2))
    assert next(it) == first[2] and next(it) == first[3]
    assert flat != [i for s in range(6) for i in loop.StepSampler(10, 4, seed=4).indices(s)]
    # two ranks split each global batch into consecutive halves
    r0, r1 = (loop.StepSampler(10, 4, seed=3, rank=r, world=2) for r in (0, 1))
    assert all(r0.indices(s) + r1.indices(s) == first[s] for s in range(6))
    with pytest.raises(ValueError, match="divide evenly"):
        loop.StepSampler(10, 5, world=2)
    with pytest.raises(ValueError, match="empty"):
        loop.StepSampler(0, 4)


def test_dataloader_workers_give_the_same_batches():
    data = Table(40, fast=False)
    cfg0, cfg2 = TinyConfig(workers=0), TinyConfig(workers=2)
    dev = torch.device("cpu")
    a = loop.batches(data, loop.StepSampler(40, 8, 1), cfg0, dev)
    b = loop.batches(data, loop.StepSampler(40, 8, 1), cfg2, dev)
    for _ in range(7):
        x, y = next(a), next(b)
        assert torch.equal(x["i"], y["i"]) and torch.equal(x["x"], y["x"])
    a.close()
    b.close()


# ----------------------------------------------------------------------------- loop
def test_resume_budget_history_and_persist(tmp_path):
    cfg = TinyConfig(eval_every=3, log_every=2, save_every=100)
    straight = loop.train(Tiny(), cfg, tmp_path / "a", progress=False)
    assert straight.done and straight.stopped_by is None and straight.step == 6
    first = loop.train(Tiny(), cfg, tmp_path / "b", max_steps=4, progress=False)
    assert (first.step, first.stopped_by, first.done) == (4, "steps", False)
    again = loop.train(Tiny(), cfg, tmp_path / "b", progress=False)
    assert again.resumed_from == 4 and torch.equal(_params(straight), _params(again))
    assert again.persist == straight.persist == {"seen": 48}
    h = again.history
    assert h["step"].tolist() == [2, 3, 4, 6] and h["weight_norm"].notna().tolist() == [False, True, False, True]
    assert again.train_seconds >= first.train_seconds > 0
    timed = loop.train(Tiny(), cfg.replace(steps=10**6), tmp_path / "c", budget_minutes=0.02, progress=False)
    assert timed.stopped_by == "time" and 0 < timed.step < 10**6


def test_config_change_is_refused_and_run_only_fields_are_not(tmp_path):
    loop.train(Tiny(), TinyConfig(steps=2), tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"lr: checkpoint 0\.05 vs now 0\.1"):
        loop.train(Tiny(), TinyConfig(steps=2, lr=0.1), tmp_path, progress=False)
    res = loop.train(Tiny(), TinyConfig(steps=2, log_every=1, threads=1), tmp_path, progress=False)
    assert res.resumed_from == 2


def test_precision(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(loop, "native_bf16", lambda: True)       # a CPU with AMX / AVX512-BF16
    assert loop.resolve_precision("auto", cpu) == "bf16" and loop.resolve_precision("mixed", cpu) == "bf16"
    monkeypatch.setattr(loop, "native_bf16", lambda: False)      # e.g. an AVX2-only CPU: bf16 is emulated
    assert loop.resolve_precision("auto", cpu) == "fp32"
    with pytest.warns(RuntimeWarning, match="emulated"):
        assert loop.resolve_precision("bf16", cpu) == "bf16"
    assert loop.resolve_precision("auto", torch.device("cuda")) == "fp16"
    with pytest.raises(ValueError, match="needs a CUDA device"):
        loop.resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision must be one of"):
        TinyConfig(precision="int8")


# ----------------------------------------------------------------------------- DDP
_DDP = textwrap.dedent("""
    import json, sys, torch
    sys.path.insert(0, {tests!r})
    from test_loop import TinyNoNoise, TinyConfig, _params
    from helpers.core import loop
    cfg = TinyConfig(steps=6, batch=8, save_every=100)
    res = loop.train(TinyNoNoise(), cfg, sys.argv[1], max_steps=int(sys.argv[2]), progress=False)
    import torch.distributed as dist
    if dist.get_rank() == 0:
        out = {{"step": res.step, "params": _params(res).tolist(), "world": dist.get_world_size(),
               "resumed_from": res.resumed_from}}
        open(sys.argv[3], "w").write(json.dumps(out))
""")


def _torchrun(script: Path, run: Path, max_steps: int, out: Path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(script), str(run), str(max_steps), str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


class TinyNoNoise(Tiny):
    """Tiny without its noise stream (each DDP rank draws its own noise by design)."""

    def step(self, s, b):
        loss = (s.models["m"](b["x"]) - b["y"]).pow(2).mean()
        s.update("m", loss)
        return {"loss": loss.detach()}


@pytest.mark.slow
def test_ddp_two_gloo_processes_match_one_process_and_resume(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(_DDP.format(tests=str(Path(__file__).parent)))
    part = _torchrun(script, tmp_path / "ddp", 3, tmp_path / "a.json")        # session 1: steps 1-3
    assert part["world"] == 2 and part["step"] == 3
    done = _torchrun(script, tmp_path / "ddp", 6, tmp_path / "b.json")        # session 2 resumes
    assert done["resumed_from"] == 3 and done["step"] == 6
    one = loop.train(TinyNoNoise(), TinyConfig(steps=6, batch=8, save_every=100), tmp_path / "one",
                     progress=False)
    ddp = torch.tensor(done["params"])
    assert torch.allclose(ddp, _params(one), atol=1e-5), float((ddp - _params(one)).abs().max())
    assert (tmp_path / "ddp" / "ckpt-000000006.pt").exists()          # rank 0 saved
