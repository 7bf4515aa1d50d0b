"""The notebooks' common frame: one setup cell, Colab badges that match README, stripped outputs."""
from __future__ import annotations

import json
import re
import sys
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


def test_readme_badges_match_the_notebooks():
    readme = (REPO / "README.md").read_text()
    linked = set(re.findall(r"colab\.research\.google\.com/github/([^)\s]+)", readme))
    want = {f"{GITHUB}/blob/main/notebooks/{p.name}" for p in NOTEBOOKS}
    assert want <= linked, f"README lacks Colab badges for {sorted(want - linked)}"
    stale = {x for x in linked if x.endswith(".ipynb")} - want
    assert not stale, f"README links notebooks that do not exist: {sorted(stale)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_section_times_match_the_sections(path: Path):
    """The introduction's time-per-section table (made by notebooks/time_sections.py from a measured
    run) lists exactly the notebook's current sections, in order, with a measured quick column."""
    import nbformat
    sys.path.insert(0, str(REPO / "notebooks"))
    import time_sections as ts
    nb = nbformat.read(path, as_version=4)
    intro = next((c.source for c in nb.cells if c.cell_type == "markdown" and ts.BEGIN in c.source), None)
    assert intro is not None, f"{path.name}: no time-per-section table; run python notebooks/time_sections.py {path.name[:2]}"
    block = intro.split(ts.BEGIN, 1)[1].split(ts.END, 1)[0]
    rows = [r.split("|")[1].strip() for r in block.splitlines() if r.startswith("| ") and not r.startswith("| section")]
    want = [t for t, _ in ts.sections(nb)] + ["**whole notebook**"]
    assert rows == want, (f"{path.name}: the time-per-section table is stale (rows {rows}, sections {want}); "
                          f"run python notebooks/time_sections.py {path.name[:2]}")
    measured = json.loads(ts.TIMINGS.read_text())[path.name]
    assert "quick" in measured, f"{path.name}: no measured quick-profile times in {ts.TIMINGS.name}"
    assert ts.table(nb, measured) in intro, f"{path.name}: the table differs from {ts.TIMINGS.name}; run the script again"
