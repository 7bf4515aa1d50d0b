"""Notebooks 00 and 01: every solution passes its checker, the untouched stub prints "not done yet",
and typical wrong answers are reported as wrong (with a hint)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from helpers.dcgan import exercises as X01
from helpers.faces import landmarks as L
from helpers.synthfaces import exercises as X00

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "notebooks" / "solutions"
CASES = [("00_1.py", "eye_aspect_ratio", X00.check_eye_aspect_ratio, "00_start_here.ipynb"),
         ("00_2.py", "au_effect", X00.check_au_effect, "00_start_here.ipynb"),
         ("01_1.py", "discriminator_loss", X01.check_discriminator_loss, "01_gan_basics.ipynb"),
         ("01_2.py", "generator_loss", X01.check_generator_loss, "01_gan_basics.ipynb"),
         ("01_3.py", "slerp", X01.check_slerp, "01_gan_basics.ipynb")]
IDS = [c[0] for c in CASES]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"solution_{name[:-3]}", SOLUTIONS / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _notebook_code(name: str) -> list[str]:
    cells = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _stub_from_notebook(notebook: str, fn: str):
    """Execute the notebook's stub cell for ``fn`` (the one raising NotImplementedError) alone."""
    stubs = [src for src in _notebook_code(notebook) if f"def {fn}(" in src]
    assert len(stubs) == 1, f"{notebook}: expected one cell defining {fn}, found {len(stubs)}"
    assert 'raise NotImplementedError("Student exercise' in stubs[0]
    namespace = {"np": np, "torch": torch, "F": F}
    exec(compile(stubs[0], f"{notebook}:{fn}", "exec"), namespace)
    return namespace[fn]


@pytest.mark.parametrize("file,fn,check,notebook", CASES, ids=IDS)
def test_solution_passes(file, fn, check, notebook, capsys):
    assert check(getattr(_load(file), fn)) is True
    assert "✓ correct" in capsys.readouterr().out


@pytest.mark.parametrize("file,fn,check,notebook", CASES, ids=IDS)
def test_notebook_stub_says_not_done(file, fn, check, notebook, capsys):
    assert check(_stub_from_notebook(notebook, fn)) is False
    out = capsys.readouterr().out
    assert "not done yet" in out and "✗" not in out


@pytest.mark.parametrize("file,fn,check,notebook", CASES, ids=IDS)
def test_notebook_calls_the_checker(file, fn, check, notebook):
    """The notebook's check cell passes the stub's name to this very checker."""
    code = _notebook_code(notebook)
    assert any(f"{check.__name__}({fn}" in src for src in code), f"{notebook}: no cell calls {check.__name__}({fn})"


def _one_eye(lm):
    p = np.asarray(lm, float)[36:42]
    return (np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2 * np.linalg.norm(p[0] - p[3]))


def _wrong_slerp_no_fallback(z0, z1, t):
    t = t.reshape(-1, 1)
    om = torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))
    return (torch.sin((1 - t) * om) * z0 + torch.sin(t * om) * z1) / torch.sin(om)


WRONG = [
    ("EAR of one eye", X00.check_eye_aspect_ratio, _one_eye, "one eye only"),
    ("EAR without the 2", X00.check_eye_aspect_ratio, lambda lm: 2 * float(L.eye_openness(lm)), "twice"),
    ("AU measure, not its change", X00.check_au_effect,
     lambda p, au, m, i, s: float(m(_load("00_2.py").sf.render(p, {au: i}, size=s)["landmarks"])), "subtract"),
    ("AU effect with the sign flipped", X00.check_au_effect,
     lambda p, au, m, i, s: -_load("00_2.py").au_effect(p, au, m, i, s), "sign"),
    ("D loss = +V", X01.check_discriminator_loss,
     lambda r, f: -(F.softplus(-r).mean() + F.softplus(f).mean()), "sign is flipped"),
    ("D loss with real and fake swapped", X01.check_discriminator_loss,
     lambda r, f: F.softplus(-f).mean() + F.softplus(r).mean(), "swapped"),
    ("D loss via log(sigmoid)", X01.check_discriminator_loss,
     lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()), "-inf"),
    ("D loss summed, not averaged", X01.check_discriminator_loss,
     lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(), "average"),
    ("D loss as a float", X01.check_discriminator_loss,
     lambda r, f: float(F.softplus(-r).mean() + F.softplus(f).mean()), "torch tensor"),
    ("G loss = minimax", X01.check_generator_loss, lambda f: -F.softplus(f).mean(), "minimax"),
    ("G loss with the sign flipped", X01.check_generator_loss, lambda f: -F.softplus(-f).mean(), "sign"),
    ("G loss per sample", X01.check_generator_loss, lambda f: F.softplus(-f), "one number"),
    ("slerp = lerp", X01.check_slerp, lambda a, b, t: (1 - t[:, None]) * a + t[:, None] * b, "straight line"),
    ("slerp without the parallel case", X01.check_slerp, _wrong_slerp_no_fallback, "parallel"),
    ("slerp reversed", X01.check_slerp,
     lambda a, b, t: _load("01_3.py").slerp(b, a, t), "start at z0"),
]


@pytest.mark.parametrize("what,check,fn,hint", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_answers_are_reported(what, check, fn, hint, capsys):
    assert check(fn) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out
    assert "not done yet" not in out
