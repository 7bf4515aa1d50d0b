import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.core import runtime


def test_profile_from_env(monkeypatch):
    monkeypatch.setenv("FACES_PROFILE", "demo")
    assert runtime.profile() == "demo"
    monkeypatch.delenv("FACES_PROFILE")
    assert runtime.profile() == "quick"
    assert runtime.profile("FULL") == "full"
    monkeypatch.setenv("FACES_PROFILE", "huge")
    with pytest.raises(ValueError, match="quick"):
        runtime.profile()


def test_seed_everything_repeats_all_rngs():
    def draw():
        gen = runtime.seed_everything(3)
        return random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=gen).item()
    assert draw() == draw()
    with pytest.raises(ValueError):
        runtime.seed_everything(-1)


def test_run_dir_local(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "RUNS_DIR", tmp_path)
    assert runtime.run_dir("x") == tmp_path / "x" and (tmp_path / "x").is_dir()
    with pytest.raises(ValueError):
        runtime.run_dir("../escape")
    with pytest.raises(RuntimeError, match="Colab"):
        runtime.run_dir("x", use_drive=True)


def test_tests_write_runs_and_data_outside_the_repository():
    """conftest points every default write location at a scratch folder, here and in subprocesses."""
    repo = runtime.REPO_ROOT.resolve()
    for name in ("FACES_RUNS_DIR", "FACES_DATA_DIR"):
        assert os.environ.get(name), f"${name} is not set for the tests (see tests/conftest.py)"
    for path in (runtime.RUNS_DIR, runtime.DATA_DIR, Path(os.environ["FACES_RUNS_DIR"]),
                 Path(os.environ["FACES_DATA_DIR"])):
        assert repo not in path.resolve().parents, f"{path} is inside the repository"
    out = subprocess.run([sys.executable, "-c", "from helpers.core import runtime; print(runtime.RUNS_DIR)"],
                         capture_output=True, text=True, check=True, cwd=repo)
    assert Path(out.stdout.strip()) == runtime.RUNS_DIR


def test_device_and_describe():
    assert runtime.device("cpu").type == "cpu"
    assert "profile=" in runtime.describe()
