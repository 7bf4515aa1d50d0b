"""Measure how long each section of a notebook takes; the notebook's introduction shows the table.

Usage: ``python notebooks/time_sections.py [NN ...]`` (default: every notebook), profile from
``FACES_PROFILE`` (default ``quick``). Measure on an otherwise idle machine: the numbers are
wall-clock seconds. Each notebook is executed headless on a copy (its outputs in the repository are
not touched); the kernel's own timestamps of every cell (``busy`` -> ``idle``) are summed per ``## ``
section (:func:`helpers.core.docs.sections`). The result goes to ``notebooks/timings.json`` (per
notebook and profile: machine, date, seconds per section); then ``python -m helpers.core.docs``
writes the table into the introduction (its template field ``{{table:times NN}}``), one column per
measured profile. A section added or renamed since shows ``–`` there, and ``tests/test_notebooks.py``
fails until this script is run again.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

from helpers.core import bench, docs
from helpers.core.files import atomic_write_bytes

HERE = Path(__file__).resolve().parent
TIMINGS = HERE / "timings.json"


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
                         for title, idx in docs.sections(nb)]}


def main(argv: list[str]) -> None:
    profile = os.environ.get("FACES_PROFILE", "quick")
    render_only = "--render" in argv          # rewrite the texts from timings.json, measure nothing
    argv = [a for a in argv if a != "--render"]
    wanted = argv or [p.name[:2] for p in sorted(HERE.glob("[0-9][0-9]_*.ipynb"))]
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    if render_only:
        docs.build()
        return
    for nn in wanted:
        (path,) = HERE.glob(f"{nn}_*.ipynb")
        result = measure(path)
        timings.setdefault(path.name, {})[profile] = result
        atomic_write_bytes(TIMINGS, (json.dumps(timings, indent=1, ensure_ascii=False) + "\n").encode())
        docs.build()
        print(f"{path.name} ({profile}): {result['total_s']:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
