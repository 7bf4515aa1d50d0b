"""Notebook 06's exercises: each solution file passes its checker; stubs and wrong answers do not."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.idvae import exercises

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"
CASES = [("06_1.py", "switch_loss", exercises.check_switch_loss),
         ("06_2.py", "cluster_labels", exercises.check_cluster_labels),
         ("06_3.py", "subtract_subject_mean", exercises.check_subject_mean)]


def _load(file: str, name: str):
    spec = importlib.util.spec_from_file_location(file.replace(".py", ""), SOLUTIONS / file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)


@pytest.mark.parametrize("file,name,check", CASES, ids=[c[1] for c in CASES])
def test_solution_passes_its_checker(file, name, check, capsys):
    assert check(_load(file, name)) is True
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("file,name,check", CASES, ids=[c[1] for c in CASES])
def test_stub_is_not_done_yet(file, name, check, capsys):
    def stub(*args):
        raise NotImplementedError("Student exercise: ...")
    assert check(stub) is None
    assert "not done yet" in capsys.readouterr().out


def test_wrong_answers_are_caught(capsys):
    # sums instead of means; the wrong cluster member; the global instead of the subject mean
    assert exercises.check_switch_loss(lambda a, b, c, d: ((a - b) ** 2).sum() + ((c - d) ** 2).sum()) is False
    assert exercises.check_switch_loss(lambda a, b, c, d: torch.nn.functional.mse_loss(b, a)) is False
    assert exercises.check_cluster_labels(lambda f, a, c, y: np.array([y[a == k][0] if (a == k).any() else -1
                                                                      for k in range(len(c))])) is False
    assert exercises.check_subject_mean(lambda f, s: f - f.mean(0)) is False
    assert capsys.readouterr().out.count("not yet right") == 4
