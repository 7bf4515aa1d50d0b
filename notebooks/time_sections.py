"""Measure how long each section of a notebook takes, and write the table into the notebook.

Usage: ``python notebooks/time_sections.py [NN ...]`` (default: every notebook), profile from
``FACES_PROFILE`` (default ``quick``); ``--render`` rewrites the tables from ``timings.json`` only.
Measure on an otherwise idle machine: the numbers are wall-clock seconds. Each notebook is executed
headless on a copy (its outputs in the repository are not touched); the kernel's own timestamps of every cell (``busy`` -> ``idle``)
are summed per ``## `` section. The result goes to ``notebooks/timings.json`` (per notebook and
profile: machine, date, seconds per section) and into the notebook's introduction, between the
markers ``<!-- section-times -->`` and ``<!-- /section-times -->``, as a table with one column per
measured profile. ``tests/test_notebooks.py`` checks that every notebook has the table and that its
rows are the notebook's current sections, so a renamed or added section shows up as a failing test
until this script is run again.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

from helpers.core import bench
from helpers.core.files import atomic_write_bytes

HERE = Path(__file__).resolve().parent
TIMINGS = HERE / "timings.json"
BEGIN, END = "<!-- section-times -->", "<!-- /section-times -->"
SETUP = "setup and parameters"      # the cells before the first "## " heading
PROFILES = ("quick", "demo", "full")


def sections(nb) -> list[tuple[str, list[int]]]:
    """``[(section title, [code cell indices])]`` in order; cells before the first ``## `` heading
    form the setup section."""
    out: list[tuple[str, list[int]]] = [(SETUP, [])]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    out.append((line[3:].strip(), []))
                    break
        elif cell.cell_type == "code":
            out[-1][1].append(i)
    return out


def _seconds(cell) -> float:
    ex = cell.get("metadata", {}).get("execution", {})
    start, stop = ex.get("iopub.status.busy"), ex.get("iopub.status.idle")
    if not start or not stop:
        return 0.0
    parse = lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return max(0.0, (parse(stop) - parse(start)).total_seconds())


def measure(path: Path) -> dict:
    """Execute ``path`` (a copy in memory) and return its seconds per section."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    ExecutePreprocessor(timeout=-1, kernel_name="python3", record_timing=True).preprocess(
        nb, {"metadata": {"path": str(HERE)}})
    total = time.perf_counter() - start
    m = bench.machine()
    return {"machine": f"{m['processor']}, {os.cpu_count()} cores, torch {m['torch']}",
            "date": dt.date.today().isoformat(), "total_s": round(total, 1),
            "sections": [[title, round(sum(_seconds(nb.cells[i]) for i in idx), 1)]
                         for title, idx in sections(nb)]}


def _fmt(s: float | None) -> str:
    if s is None:
        return "–"
    if s < 1:
        return "< 1 s"
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def table(nb, runs: dict) -> str:
    """The markdown table of ``runs`` ({profile: measure() result}) for the notebook's sections."""
    profiles = [p for p in PROFILES if p in runs]
    head = "| section | " + " | ".join(f"`{p}`" for p in profiles) + " |"
    lines = [head, "|---|" + "---|" * len(profiles)]
    measured = {p: dict(runs[p]["sections"]) for p in profiles}
    for title, _ in sections(nb):
        lines.append(f"| {title} | " + " | ".join(_fmt(measured[p].get(title)) for p in profiles) + " |")
    lines.append("| **whole notebook** | " + " | ".join(f"**{_fmt(runs[p]['total_s'])}**" for p in profiles) + " |")
    where = "; ".join(f"`{p}`: {runs[p]['machine']}, {runs[p]['date']}" for p in profiles)
    return (f"{BEGIN}\n**Time per section**, measured by `python notebooks/time_sections.py` ({where}; the data "
            "caches under `runs/` filled by an earlier run — a fresh clone renders its data first):\n\n"
            + "\n".join(lines) + f"\n{END}")


def write_table(path: Path, runs: dict) -> None:
    """Put the table into the markdown cell that has the markers (else at the end of the first
    markdown cell); the notebook is rewritten atomically."""
    nb = nbformat.read(path, as_version=4)
    new = table(nb, runs)
    cell = next((c for c in nb.cells if c.cell_type == "markdown" and BEGIN in c.source),
                next(c for c in nb.cells if c.cell_type == "markdown"))
    if BEGIN in cell.source:
        cell.source = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: new, cell.source, flags=re.S)
    else:
        cell.source = cell.source.rstrip() + "\n\n" + new
    nb = nbformat.from_dict(nbformat.validator.normalize(nb)[1])   # adds missing cell ids
    atomic_write_bytes(path, (nbformat.writes(nb) + "\n").encode())


def main(argv: list[str]) -> None:
    profile = os.environ.get("FACES_PROFILE", "quick")
    render_only = "--render" in argv          # rewrite the tables from timings.json, measure nothing
    argv = [a for a in argv if a != "--render"]
    wanted = argv or [p.name[:2] for p in sorted(HERE.glob("[0-9][0-9]_*.ipynb"))]
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    if render_only:
        for nn in wanted:
            (path,) = HERE.glob(f"{nn}_*.ipynb")
            write_table(path, timings[path.name])
        return
    for nn in wanted:
        (path,) = HERE.glob(f"{nn}_*.ipynb")
        result = measure(path)
        timings.setdefault(path.name, {})[profile] = result
        atomic_write_bytes(TIMINGS, (json.dumps(timings, indent=1, ensure_ascii=False) + "\n").encode())
        write_table(path, timings[path.name])
        print(f"{path.name} ({profile}): {result['total_s']:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
