"""Notebook 02's exercises: every solution passes its checker, the notebook's stubs print "not done
yet", and typical wrong answers are reported as wrong."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from helpers.glcic import exercises as X

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "notebooks" / "solutions"
CASES = [("02_1.py", "make_input", X.check_net_input),
         ("02_2.py", "weighted_mse", X.check_completion_loss),
         ("02_3.py", "patch_boxes", X.check_local_boxes)]
IDS = [c[0] for c in CASES]


def _load(name):
    spec = importlib.util.spec_from_file_location(name.replace(".py", ""), SOLUTIONS / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _stub(fn: str):
    cells = json.loads((REPO / "notebooks" / "02_glcic_mouth_inpainting.ipynb").read_text())["cells"]
    src = [("".join(c["source"])) for c in cells if c["cell_type"] == "code" and f"def {fn}(" in "".join(c["source"])]
    assert len(src) == 1 and 'raise NotImplementedError("Student exercise' in src[0]
    ns = {"torch": torch}
    exec(compile(src[0], fn, "exec"), ns)
    return ns[fn]


@pytest.mark.parametrize("file,fn,check", CASES, ids=IDS)
def test_solution_passes(file, fn, check):
    assert check(getattr(_load(file), fn)) is True


@pytest.mark.parametrize("file,fn,check", CASES, ids=IDS)
def test_notebook_stub_says_not_done(file, fn, check, capsys):
    assert check(_stub(fn)) is False
    assert "not done yet" in capsys.readouterr().out


def test_wrong_answers_fail_with_a_hint(capsys):
    assert X.check_net_input(lambda x, m, c: torch.cat([x * (1 - m), m], 1)) is False
    assert "mean colour" in capsys.readouterr().out
    assert X.check_completion_loss(lambda o, x, m: (o - x).pow(2).mean()) is False
    assert "whole image" in capsys.readouterr().out
    assert X.check_completion_loss(lambda o, x, m: ((o - x) * m).pow(2).sum() / m.sum() / 3) is False
    assert "hole's size" in capsys.readouterr().out
    unclamped = lambda b, s, L: torch.stack([b[:, 0] + b[:, 2] // 2 - L // 2, b[:, 1] + b[:, 3] // 2 - L // 2,
                                             torch.full_like(b[:, 0], L), torch.full_like(b[:, 0], L)], 1)
    assert X.check_local_boxes(unclamped) is False
    assert "outside the image" in capsys.readouterr().out
