"""Notebook 05's exercises: each solution file passes its checker; stubs and classic mistakes do not."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch

from helpers.ganimation import exercises as X

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
CASES = [("05_1.py", "compose", X.check_compose), ("05_2.py", "attention_tv", X.check_attention_tv),
         ("05_3.py", "convnext_forward", X.check_convnext_forward)]


@pytest.mark.parametrize("file,name,check", CASES, ids=[c[0] for c in CASES])
def test_solution_passes_its_checker(file, name, check, capsys):
    fn = runpy.run_path(str(SOLUTIONS / file))[name]
    assert check(fn) is True
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("file,name,check", CASES, ids=[c[0] for c in CASES])
def test_a_stub_is_not_done_yet(file, name, check, capsys):
    def stub(*args):
        raise NotImplementedError("Student exercise: ...")
    assert check(stub) is False
    assert "not done yet" in capsys.readouterr().out


def test_classic_mistakes_are_named(capsys):
    assert X.check_compose(lambda x, c, a: a * c + (1 - a) * x) is False          # the first arXiv version
    assert "swapped" in capsys.readouterr().out
    def tv_mean(a):
        return (a[..., :, 1:] - a[..., :, :-1]).abs().mean() + (a[..., 1:, :] - a[..., :-1, :]).abs().mean()
    assert X.check_attention_tv(tv_mean) is False
    def no_residual(block, x):
        y = block.pw2(block.act(block.pw1(block.norm(block.dwconv(x).permute(0, 2, 3, 1))))) * block.gamma
        return y.permute(0, 3, 1, 2)
    assert X.check_convnext_forward(no_residual) is False
    assert "residual" in capsys.readouterr().out
    assert X.check_convnext_forward(lambda b, x: torch.zeros(1)) is False
