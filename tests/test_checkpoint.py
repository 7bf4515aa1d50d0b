"""Resumable runs: bit-identical resume, kill during save, damaged files, mismatches, releases."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers.checkpoint import RunDir, load_release, read_manifest, save_release

REPO = Path(__file__).resolve().parent.parent


def _model(width: int = 16) -> nn.Module:
    return nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Dropout(0.3), nn.Linear(width, 1))


def _run(path: Path, steps_total: int, stop_at: int | None = None) -> nn.Module:
    """A training loop that consumes every RNG a real one does (python, numpy, torch, a generator)."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(123)
    run = RunDir(path, {"width": 16, "lr": 1e-2}, models={"m": model}, optimizers={"m": opt},
                 generators={"data": gen}, every_steps=3)
    step = run.restore().step
    run.start_budget(max_steps=stop_at)
    data = torch.randn(64, 4, generator=torch.Generator().manual_seed(7))
    while step < steps_total and not run.should_stop(step):
        idx = torch.randint(0, 64, (8,), generator=gen)          # data order
        x = data[idx] + 0.01 * torch.from_numpy(np.random.randn(8, 4)).float()  # numpy noise
        x = x * (1.0 + 0.01 * random.random())                 # python RNG
        loss = model(x).pow(2).mean()                          # dropout: torch RNG
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        run.log(step, loss=loss.item())
        run.maybe_save(step, phase="train")
    run.save(step, phase="train")
    return model


def test_resume_is_bit_identical(tmp_path):
    straight = _run(tmp_path / "a", 20)
    _run(tmp_path / "b", 20, stop_at=8)                 # first "Colab session" stops at step 8
    # scramble every global RNG, as a new process would have them
    torch.manual_seed(999)
    np.random.seed(999)
    random.seed(999)
    resumed = _run(tmp_path / "b", 20)                  # second session continues to 20
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), f"parameter {k} differs after resume"
    run = RunDir(tmp_path / "b", {"width": 16, "lr": 1e-2}, models={"m": _model()})
    hist = run.history()
    assert hist["step"].tolist() == list(range(1, 21)), "metrics log must continue seamlessly"


def test_resume_drops_metrics_after_restored_step(tmp_path):
    m = _model()
    run = RunDir(tmp_path, {"w": 1}, models={"m": m})
    for s in range(1, 6):
        run.log(s, loss=float(s))
    run.save(3)
    run2 = RunDir(tmp_path, {"w": 1}, models={"m": _model()})
    assert run2.restore().step == 3
    assert run2.history()["step"].tolist() == [1, 2, 3]


_WRITER = textwrap.dedent("""
    import sys, torch
    from torch import nn
    from helpers.checkpoint import RunDir
    big = nn.Linear(2048, 4096)          # ~32 MB of weights: a save takes a noticeable time
    run = RunDir(sys.argv[1], {"big": True}, models={"big": big}, keep_last=2)
    step = 1
    while True:
        with torch.no_grad():
            big.bias.fill_(step)
        run.save(step)
        print(step, flush=True)
        step += 1
""")


def test_sigkill_during_save_keeps_previous_checkpoint(tmp_path):
    run_path = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(run_path)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout.readline().strip() == "1"      # one complete checkpoint exists
        deadline = time.monotonic() + 60
        while not list(run_path.glob(".*.tmp")):         # wait until a save is in progress
            assert time.monotonic() < deadline, "never saw a save in progress"
            time.sleep(0.0005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list(run_path.glob(".*.tmp")), "the kill should have hit a save in progress"
    big = nn.Linear(2048, 4096)
    run = RunDir(run_path, {"big": True}, models={"big": big}, keep_last=2)
    assert not list(run_path.glob(".*.tmp")), "leftover temp files are cleaned on open"
    prog = run.restore()
    assert prog.step >= 1
    assert torch.all(big.bias == prog.step), "weights must be those of the restored step"


def test_truncated_newest_falls_back_with_warning(tmp_path):
    m = _model()
    run = RunDir(tmp_path, {"w": 16}, models={"m": m})
    run.save(5)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(1.0)
    newest = run.save(10)
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])
    fresh = _model()
    run2 = RunDir(tmp_path, {"w": 16}, models={"m": fresh})
    with pytest.warns(RuntimeWarning, match="ckpt-000000010"):
        prog = run2.restore()
    assert prog.step == 5
    assert not torch.equal(fresh[0].weight, m[0].weight), "step-10 weights must not be loaded"


def test_other_config_is_refused_naming_the_key(tmp_path):
    RunDir(tmp_path, {"width": 16, "lr": 0.1}, models={"m": _model()}).save(1)
    with pytest.raises(ValueError, match=r"lr: checkpoint 0\.1 vs now 0\.2"):
        RunDir(tmp_path, {"width": 16, "lr": 0.2}, models={"m": _model()}).restore()


def test_other_model_is_refused_naming_the_tensor(tmp_path):
    RunDir(tmp_path, {"width": 16}, models={"m": _model(16)}).save(1)
    with pytest.raises(ValueError, match=r"0\.weight: checkpoint \(16, 4\) vs model \(32, 4\)"):
        RunDir(tmp_path, {"width": 16}, models={"m": _model(32)}).restore()
    with pytest.raises(ValueError, match="holds models"):
        RunDir(tmp_path, {"width": 16}, models={"G": _model(16)}).restore()


def test_wall_clock_budget_stops(tmp_path):
    run = RunDir(tmp_path, {}, models={"m": _model()})
    run.start_budget(minutes=0.5 / 60)
    assert not run.should_stop(0)
    time.sleep(0.6)
    assert run.should_stop(1) and run.stopped_by == "time"


def test_keep_last(tmp_path):
    run = RunDir(tmp_path, {}, models={"m": _model()}, keep_last=2, every_steps=2)
    for s in range(1, 9):
        run.maybe_save(s)
    assert [p.name for p in run.checkpoints()] == ["ckpt-000000008.pt", "ckpt-000000006.pt"]


def test_release_round_trip_and_tamper(tmp_path):
    m = _model()
    save_release({"m": m}, "toy", command="python -m x", train_seconds=1.5, metrics={"acc": 0.5},
                 config={"width": 16}, directory=tmp_path)
    fresh = _model()
    manifest = load_release("toy", {"m": fresh}, directory=tmp_path)
    assert manifest["metrics"] == {"acc": 0.5} and manifest["command"] == "python -m x"
    assert torch.equal(fresh[0].weight, m[0].weight)
    with pytest.raises(ValueError, match="does not fit model"):
        load_release("toy", {"m": _model(8)}, directory=tmp_path)
    weights = tmp_path / read_manifest("toy", tmp_path)["file"]
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ValueError, match="sha256"):
        load_release("toy", {"m": _model()}, directory=tmp_path)


def test_fresh_restore_forgets_rows_of_an_unsaved_attempt(tmp_path):
    run = RunDir(tmp_path, {"w": 1}, models={"m": _model()})
    run.log(1, loss=1.0)
    run.log(2, loss=0.5)                       # killed before any save
    again = RunDir(tmp_path, {"w": 1}, models={"m": _model()})
    assert again.restore().step == 0
    assert again.history().empty
