"""Resumable runs: bit-identical resume, kill during save, damaged files, mismatches, releases."""
from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers.core.checkpoint import RunDir
from helpers.core.release import load_release, read_manifest, save_release

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
    import sys, time, torch
    from torch import nn
    from helpers.core.checkpoint import RunDir
    torch.manual_seed(0)
    big = nn.Linear(2048, 4096)          # ~32 MB of weights: a save takes a noticeable time
    run = RunDir(sys.argv[1], {"big": True}, models={"big": big}, keep_last=2)
    step = 1
    while True:
        with torch.no_grad():
            big.bias.fill_(step)
        print("begin", step, flush=True)
        t = time.perf_counter()
        run.save(step)
        print("done", step, time.perf_counter() - t, flush=True)
        step += 1
""")


def _big_at(step: int) -> nn.Linear:
    """The writer's model after ``step`` steps: same seeded init, bias filled with the step."""
    torch.manual_seed(0)
    big = nn.Linear(2048, 4096)
    with torch.no_grad():
        big.bias.fill_(step)
    return big


@pytest.mark.timing
def test_sigkill_during_save_keeps_the_last_completed_checkpoint(tmp_path):
    """Kill a writer in the middle of a save: the next session restores exactly the last save that
    completed, without any damaged file to skip (an atomic save never leaves one under its name)."""
    run_path = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(run_path)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()
    seen = []
    try:
        durations = []
        while True:                                       # 3 timed saves, then the next one begins
            try:
                line = lines.get(timeout=120)
            except queue.Empty:
                pytest.fail(f"the writer printed nothing for 120 s (exit code {proc.poll()}), after {seen}")
            seen.append(line)
            word, *rest = line.split()
            if word == "done":
                durations.append(float(rest[1]))
            elif len(durations) >= 3:
                break
        time.sleep(0.3 * min(durations))                  # well inside the save that just began
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=30)
    proc.stdout.close()
    while not lines.empty():                              # everything printed before the kill
        seen.append(lines.get())
    done = [int(line.split()[1]) for line in seen if line.startswith("done ")]
    last = done[-1]
    assert done == list(range(1, last + 1)), seen
    assert list(run_path.glob(".*.tmp")) or (run_path / f"ckpt-{last + 1:09d}.pt").exists(), \
        f"the kill should have hit the save of step {last + 1} in progress (it printed {seen[-2:]})"

    big = nn.Linear(2048, 4096)
    run = RunDir(run_path, {"big": True}, models={"big": big}, keep_last=2)
    assert not list(run_path.glob(".*.tmp")), "leftover temp files are cleaned on open"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prog = run.restore()
    damaged = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not damaged, ("a kill during a save left a damaged checkpoint under its final name "
                         f"(the save is not atomic): {damaged}")
    # under load the kill can land after the save of step last + 1 was renamed into place but before
    # the writer printed "done": then that save completed, and it is the one to restore
    if (run_path / f"ckpt-{last + 1:09d}.pt").exists():
        last += 1
    assert prog.step == last, f"restored step {prog.step}, but the last save that completed was step {last}"
    want = _big_at(last)
    assert torch.equal(big.weight, want.weight) and torch.equal(big.bias, want.bias), \
        f"the restored weights are not those saved at step {last}"


def test_truncated_newest_falls_back_with_warning(tmp_path):
    m = _model()
    run = RunDir(tmp_path, {"w": 16}, models={"m": m})
    run.save(5)
    at5 = {k: v.clone() for k, v in m.state_dict().items()}
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
    got = fresh.state_dict()
    assert got.keys() == at5.keys()
    for k, v in at5.items():
        assert torch.equal(got[k], v), f"{k} is not the weight saved at step 5"


def test_no_readable_checkpoint_refuses_to_start_afresh(tmp_path):
    run = RunDir(tmp_path, {"w": 16}, models={"m": _model()})
    run.log(1, loss=1.0)
    newest = run.save(10)
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.warns(RuntimeWarning), pytest.raises(RuntimeError, match="none is readable.*ckpt-000000010"):
        RunDir(tmp_path, {"w": 16}, models={"m": _model()}).restore()
    assert run.metrics_path.read_text().strip(), "the metrics of the run were thrown away"


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


@pytest.mark.timing
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
