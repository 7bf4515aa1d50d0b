"""Re-make the README figures: run each notebook headless with SAVE_FIGURES = True.

Usage: ``make figures`` (or ``python notebooks/make_figures.py [NN ...]``). The profile comes from
``FACES_PROFILE`` as usual; the committed figures were made in the quick profile, which loads the
committed demo checkpoints for the trained-model pictures.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

HERE = Path(__file__).resolve().parent


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            if "SAVE_FIGURES = False" not in cell.source:
                raise ValueError(f"{path.name}: its parameters cell has no 'SAVE_FIGURES = False'")
            cell.source = cell.source.replace("SAVE_FIGURES = False", "SAVE_FIGURES = True", 1)
    start = time.perf_counter()
    ExecutePreprocessor(timeout=-1, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(HERE)}})
    return time.perf_counter() - start


def main(argv: list[str]) -> None:
    wanted = argv or [p.name[:2] for p in sorted(HERE.glob("[0-9][0-9]_*.ipynb"))]
    for nn in wanted:
        (path,) = HERE.glob(f"{nn}_*.ipynb")
        print(f"{path.name}: {run(path):.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
