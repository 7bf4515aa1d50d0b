"""Notebook 04's exercises: every solution file passes its checker; an unfinished stub reads "not done yet"."""
import importlib.util
from pathlib import Path

import pytest
import torch

from helpers.stylegan2 import exercises as ex

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
CASES = [("04_1.py", "modulated_conv", ex.check_modulated_conv),
         ("04_2.py", "style_mix", ex.check_style_mix),
         ("04_3.py", "noise_regularisation", ex.check_noise_regularisation)]


def load(name, fn):
    spec = importlib.util.spec_from_file_location(name[:-3], SOLUTIONS / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, fn)


@pytest.mark.parametrize("name,fn,check", CASES, ids=[c[0] for c in CASES])
def test_solution_passes(name, fn, check, capsys):
    assert check(load(name, fn)) is True
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("name,fn,check", CASES, ids=[c[0] for c in CASES])
def test_stub_is_not_done_yet(name, fn, check, capsys):
    def stub(*args):
        raise NotImplementedError("Student exercise: ...")
    assert check(stub) is False
    assert "not done yet" in capsys.readouterr().out


def test_wrong_answers_are_caught(capsys):
    sol = load("04_1.py", "modulated_conv")
    assert ex.check_modulated_conv(lambda x, w, s, d: sol(x, w, s, False)) is False      # forgot demodulation
    mix = load("04_2.py", "style_mix")
    assert ex.check_style_mix(lambda a, b, r, size: mix(a, b, [x * 2 for x in r], size)) is False   # off by one octave
    reg = load("04_3.py", "noise_regularisation")
    assert ex.check_noise_regularisation(lambda n: reg(n[:1])) is False                  # only the first map
    assert ex.check_noise_regularisation(lambda n: torch.zeros(3)) is False
    assert "not yet right" in capsys.readouterr().out
