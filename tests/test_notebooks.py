"""The notebooks' common frame: one setup cell, Colab badges that match README, stripped outputs."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from helpers.core import docs

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
GITHUB = docs.repository(REPO)        # the one setting: pyproject.toml [project.urls] Repository
NAME = GITHUB.split("/")[1]

#: the one setup cell every notebook starts with (Colab: clone + install; locally: nothing)
SETUP = f'''# Setup: in Colab, fetch the course code and install it; locally `make lab` already did.
import importlib.util, subprocess, sys
if importlib.util.find_spec("helpers") is None:
    subprocess.run(["git", "clone", "-q", "https://github.com/{GITHUB}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "{NAME}"], check=True)
    sys.path.insert(0, "{NAME}")'''


TITLE = "# @title Setup (run me first)\n"   # Colab folds a cell that starts with a form title


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _src(cell: dict) -> str:
    return "".join(cell["source"])


def badge(name: str) -> str:
    return f"https://colab.research.google.com/github/{GITHUB}/blob/main/notebooks/{name}"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_frame(path: Path):
    cells = _cells(path)
    code = [c for c in cells if c["cell_type"] == "code"]
    first = _src(code[0])
    assert first.startswith(TITLE), f"{path.name}: the setup cell must start with {TITLE!r} (folded in Colab)"
    assert first[len(TITLE):] == SETUP, f"{path.name}: the first code cell must be the shared setup cell"
    assert badge(path.name) in _src(cells[0]), f"{path.name}: its first cell needs its own Colab badge"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one code cell must be tagged 'parameters'"
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: outputs not stripped in code cells {dirty} (make strip)"
    text = "\n".join(_src(c) for c in cells)
    assert not re.search(r"\b[Ii]ssue\s+#?\d", text), f"{path.name} talks about issues; speak to the student"


def test_every_badge_points_where_the_setting_says():
    """Every Colab badge of README and of the notebooks names the repository of pyproject.toml and
    a notebook that exists; README has one for every notebook."""
    texts = {"README.md": (REPO / "README.md").read_text()}
    texts.update({p.name: _src(_cells(p)[0]) for p in NOTEBOOKS})
    names = {p.name for p in NOTEBOOKS}
    for where, text in texts.items():
        for target in re.findall(r"colab\.research\.google\.com/github/([^)\s]+)", text):
            m = re.fullmatch(r"([^/]+/[^/]+)/blob/main/notebooks/([^/]+\.ipynb)", target)
            assert m and m.group(1) == GITHUB, f"{where}: badge {target!r} does not point at {GITHUB} (pyproject.toml)"
            assert m.group(2) in names, f"{where}: badge links a notebook that does not exist: {m.group(2)}"
    linked = set(re.findall(r"colab\.research\.google\.com/github/([^)\s]+)", texts["README.md"]))
    want = {f"{GITHUB}/blob/main/notebooks/{n}" for n in names}
    assert want <= linked, f"README lacks Colab badges for {sorted(want - linked)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_section_times_match_the_sections(path: Path):
    """The introduction shows the time-per-section table (``{{table:times NN}}``), and the timing
    file has a measured quick time for every current section: an added or renamed section fails
    here until ``python notebooks/time_sections.py NN`` measures it again."""
    nb = json.loads(path.read_text())
    template = nb["cells"][0].get("metadata", {}).get("template", "")
    assert f"{{{{table:times {path.name[:2]}}}}}" in template, \
        f"{path.name}: its first cell's template lacks {{{{table:times {path.name[:2]}}}}}"
    measured = json.loads((REPO / "notebooks" / "timings.json").read_text()).get(path.name, {})
    assert "quick" in measured, f"{path.name}: no measured quick-profile times in notebooks/timings.json"
    have = [name for name, _ in measured["quick"]["sections"]]
    want = [name for name, _ in docs.sections(nb)]
    assert have == want, (f"{path.name}: the measured sections {have} are not the notebook's {want}; "
                          f"run python notebooks/time_sections.py {path.name[:2]}")
