"""The notebooks' common frame: one setup cell, Colab badges that match README, stripped outputs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
GITHUB = "faces-course/faces-gan-vae-course"

#: the one setup cell every notebook starts with (Colab: clone + install; locally: nothing)
SETUP = f'''# Setup: in Colab, fetch the course code and install it; locally `make lab` already did.
import importlib.util, subprocess, sys
if importlib.util.find_spec("helpers") is None:
    subprocess.run(["git", "clone", "-q", "https://github.com/{GITHUB}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "faces-gan-vae-course"], check=True)
    sys.path.insert(0, "faces-gan-vae-course")'''


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
    setup = _src(code[0]).replace("# @title Setup (run me first)\n", "")
    assert setup == SETUP, f"{path.name}: the first code cell must be the shared setup cell"
    assert badge(path.name) in _src(cells[0]), f"{path.name}: its first cell needs its own Colab badge"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one code cell must be tagged 'parameters'"
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: outputs not stripped in code cells {dirty} (make strip)"
    text = "\n".join(_src(c) for c in cells)
    assert not re.search(r"\b[Ii]ssue\s+#?\d", text), f"{path.name} talks about issues; speak to the student"


def test_readme_badges_match_the_notebooks():
    readme = (REPO / "README.md").read_text()
    linked = set(re.findall(r"colab\.research\.google\.com/github/([^)\s]+)", readme))
    want = {f"{GITHUB}/blob/main/notebooks/{p.name}" for p in NOTEBOOKS}
    assert want <= linked, f"README lacks Colab badges for {sorted(want - linked)}"
    stale = {x for x in linked if x.endswith(".ipynb")} - want
    assert not stale, f"README links notebooks that do not exist: {sorted(stale)}"
