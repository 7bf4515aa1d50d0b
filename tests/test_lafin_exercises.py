"""Notebook 03's exercises: every solution file passes its checker; stubs print "not done yet"; wrong code fails."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from helpers.lafin import exercises as X

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
CASES = [("03_1.py", "corner_loss", X.check_mouth_corner_loss),
         ("03_2.py", "label_grid", X.check_label_grid),
         ("03_3.py", "make_landmark_map", X.check_landmark_map)]


def _load(name):
    spec = importlib.util.spec_from_file_location(name.replace(".py", ""), SOLUTIONS / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("file,fn,check", CASES, ids=[c[0] for c in CASES])
def test_solution_passes(file, fn, check):
    assert check(getattr(_load(file), fn)) is True


@pytest.mark.parametrize("file,fn,check", CASES, ids=[c[0] for c in CASES])
def test_stub_says_not_done(file, fn, check, capsys):
    def stub(*args):
        raise NotImplementedError("Student exercise")
    assert check(stub) is False
    assert "not done yet" in capsys.readouterr().out


def test_wrong_answers_fail(capsys):
    assert X.check_mouth_corner_loss(lambda p, t: (p[:, 54] - t[:, 54]).abs().sum(-1).mean()) is False
    assert X.check_label_grid(lambda e, s: e.mean(1).view(-1, 1, 1, 1).expand(-1, 1, s, s)) is False
    assert X.check_landmark_map(lambda lm, s: torch.zeros(lm.shape[0], 1, s, s)) is False
    assert "✗" in capsys.readouterr().out
