import random

import numpy as np
import pytest
import torch

from helpers import runtime


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


def test_device_and_describe():
    assert runtime.device("cpu").type == "cpu"
    assert "profile=" in runtime.describe()
