"""The README and the notebooks' texts, written from the committed records: one truth for every number.

Every number a reader sees in ``README.md`` or in a notebook's markdown comes from a committed record
— a release manifest ``checkpoints/<name>.json``, a benchmark ``benchmarks/<name>.json``, or the
notebook timing file ``notebooks/timings.json`` — through this one command::

    python -m helpers.core.docs            # rewrite README.md, the notebooks' templated cells,
                                           # checkpoints/README.md
    python -m helpers.core.docs --check    # exit 1 and name what differs (the test runs this)

**Templates.** ``docs/README.template.md`` is the README's source. In a notebook, a cell whose
metadata holds ``"template"`` is rendered from it (edit the template, then run the command; the
rendered text is what Jupyter and Colab show). A template is plain markdown (or code) with fields

=============================================  =================================================
``{{ckpt/glcic_mouth64_v3/metrics/mouth_psnr:.2f}}``  a value of a manifest, Python format spec after ``:``
``{{bench/glcic/steps/demo completion bf16/share_best|pct:.0f}}``  a benchmark value, times 100
``{{ckpt/lafin_inpaint128/train_seconds|min:.0f}}``  seconds as minutes (``|h``: hours)
``{{time/02/quick/total_s:.0f}}``                 the timing file (notebook by its number)
``{{repo}}``, ``{{repo_name}}``, ``{{repo_url}}``  the repository (``owner/name``, ``name``, its URL)
``{{table:times 02}}``, ``{{table:releases}}``   a generated table (:data:`TABLES`)
=============================================  =================================================

A path walks dicts by key and lists by index; a missing key is an error naming the template, the
field and the keys that exist, so a renamed metric cannot leave a stale number behind.

**The repository** lives in one setting, ``[project.urls] Repository`` of ``pyproject.toml``: the
Colab badges and every notebook's setup cell (which runs before the package is installed, so it
holds the URL as text) are rendered from it. A fork changes that line and runs the command.
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

from helpers.core.files import atomic_write_bytes
from helpers.core.release import readme_text, releases_table

__all__ = ["ROOT", "repository", "sections", "times_table", "render", "render_notebook", "build", "check", "TABLES", "FIELD",
           "PLACEHOLDER", "TemplateError"]

ROOT = Path(__file__).resolve().parents[2]
FIELD = re.compile(r"\{\{\s*(.+?)\s*\}\}")
PLACEHOLDER = re.compile(r"@@[A-Za-z0-9_]+@@")
README_TEMPLATE = Path("docs") / "README.template.md"
TEMPLATE_KEY = "template"
FILTERS: dict[str, Callable[[float], float]] = {
    "pct": lambda v: 100 * v, "min": lambda v: v / 60, "h": lambda v: v / 3600}


class TemplateError(ValueError):
    """A field of a template that cannot be filled (its record, key or format is wrong)."""


# ------------------------------------------------------------------------------------------ records
def repository(root: Path = ROOT) -> str:
    """``owner/name`` of the repository on GitHub, from ``[project.urls] Repository`` of pyproject.toml."""
    text = (root / "pyproject.toml").read_text()     # tomllib is 3.11+; the course supports 3.10
    section = re.search(r"^\[project\.urls\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    found = re.search(r'^Repository\s*=\s*"([^"]*)"', section.group(1), re.M) if section else None
    url = found.group(1) if found else None
    m = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)/?", url or "")
    if not m:
        raise TemplateError(f"pyproject.toml [project.urls] Repository must be https://github.com/<owner>/<name>, "
                            f"got {url!r}")
    return m.group(1)


class Records:
    """The committed records under ``root``, read once each."""

    def __init__(self, root: Path = ROOT):
        self.root = Path(root)
        self._cache: dict[Path, Any] = {}

    def json(self, path: Path) -> Any:
        if path not in self._cache:
            if not path.exists():
                raise TemplateError(f"no record {path.relative_to(self.root)}")
            self._cache[path] = json.loads(path.read_text())
        return self._cache[path]

    def timings(self) -> dict:
        return self.json(self.root / "notebooks" / "timings.json")

    def notebook_key(self, number: str) -> str:
        """The timing file's key of notebook ``NN`` (``"02"`` -> ``"02_glcic_mouth_inpainting.ipynb"``)."""
        names = [k for k in self.timings() if k.startswith(f"{number}_") or k == number]
        if len(names) != 1:
            raise TemplateError(f"notebook {number!r}: expected one entry in notebooks/timings.json, found {names}")
        return names[0]

    def value(self, path: str) -> Any:
        kind, _, rest = path.partition("/")
        parts = rest.split("/") if rest else []
        if kind == "ckpt":
            obj, parts = self.json(self.root / "checkpoints" / f"{parts[0]}.json"), parts[1:]
        elif kind == "bench":
            obj, parts = self.json(self.root / "benchmarks" / f"{parts[0]}.json"), parts[1:]
        elif kind == "time":
            obj, parts = self.timings()[self.notebook_key(parts[0])], parts[1:]
        else:
            raise TemplateError(f"unknown record kind {kind!r} in {{{{{path}}}}} (ckpt, bench, time)")
        walked = []
        for p in parts:
            if isinstance(obj, list):
                try:
                    obj = obj[int(p)]
                except (ValueError, IndexError):
                    raise TemplateError(f"{{{{{path}}}}}: {'/'.join(walked)} is a list of {len(obj)}, not indexed by {p!r}")
            elif isinstance(obj, dict) and p in obj:
                obj = obj[p]
            else:
                keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
                raise TemplateError(f"{{{{{path}}}}}: no {p!r} under {'/'.join(walked) or kind}; there: {keys}")
            walked.append(p)
        return obj


# -------------------------------------------------------------------------------------------- tables
def _fmt_s(s: float) -> str:
    return "< 1 s" if s < 1 else f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


SETUP_SECTION = "setup and parameters"      # the cells before a notebook's first "## " heading


def sections(nb: dict) -> list[tuple[str, list[int]]]:
    """``[(section title, [code cell indices])]`` of notebook JSON ``nb`` in order; the cells before
    the first ``## `` heading form the setup section."""
    out: list[tuple[str, list[int]]] = [(SETUP_SECTION, [])]
    for i, cell in enumerate(nb["cells"]):
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for line in src.splitlines():
                if line.startswith("## "):
                    out.append((line[3:].strip(), []))
                    break
        elif cell["cell_type"] == "code":
            out[-1][1].append(i)
    return out


def times_table(rec: Records, number: str) -> str:
    """The seconds each section of notebook ``number`` took, one column per measured profile; a
    section the timing file does not know (added or renamed since) shows ``–``."""
    key = rec.notebook_key(number)
    entry = rec.timings()[key]
    profiles = [p for p in ("quick", "demo", "full") if p in entry]
    if not profiles:
        raise TemplateError(f"notebooks/timings.json has no profile for notebook {number}")
    nb = rec.json(rec.root / "notebooks" / key)
    how = "; ".join(f"`{p}`: {entry[p]['machine']}, {entry[p]['date']}" for p in profiles)
    rows = [f"**Time per section**, measured by `python notebooks/time_sections.py` ({how}; data caches "
            "filled by an earlier run — a fresh clone renders its data first):", "",
            "| section | " + " | ".join(f"`{p}`" for p in profiles) + " |",
            "|---|" + "---|" * len(profiles)]
    measured = {p: dict(map(tuple, entry[p]["sections"])) for p in profiles}
    for name, _ in sections(nb):
        rows.append(f"| {name} | " + " | ".join(_fmt_s(measured[p][name]) if name in measured[p] else "–"
                                              for p in profiles) + " |")
    rows.append("| **whole notebook** | " + " | ".join(f"**{_fmt_s(entry[p]['total_s'])}**" for p in profiles) + " |")
    return "\n".join(rows)


def notebooks_times_table(rec: Records) -> str:
    """One row per notebook: its whole quick-profile time (and demo where measured)."""
    rows = ["| notebook | `quick` | measured on |", "|---|---|---|"]
    for name, entry in sorted(rec.timings().items()):
        q = entry.get("quick")
        if q:
            rows.append(f"| {name.removesuffix('.ipynb')} | {_fmt_s(q['total_s'])} | {q['machine']}, {q['date']} |")
    return "\n".join(rows)


def _timed(obj, path=()):
    """Every dict of a benchmark that holds a timed step, with its key path."""
    if isinstance(obj, dict):
        if "steps_per_s_best" in obj:
            yield path, obj
        for k, v in obj.items():
            yield from _timed(v, path + (str(k),))


def speed_rows(data: dict, profile: str = "demo") -> dict[str, dict[str, dict]]:
    """``{step name: {"fp32": timing, "bf16": timing}}`` of one benchmark file at ``profile``.

    Benchmarks name a timing by a key path such as ``steps / "demo inpainter bf16"`` or
    ``profiles / demo / completion`` (precision in the timing): both are read.
    """
    rows: dict[str, dict[str, dict]] = {}
    skip = {"steps", "profiles", "iterations", profile, "fp32", "bf16", "step"}
    for path, t in _timed(data):
        tokens = [w for part in path for w in part.split()]
        if profile not in tokens:
            continue
        prec = t.get("precision") or next((w for w in tokens if w in ("fp32", "bf16")), None)
        if prec not in ("fp32", "bf16"):
            continue
        name = " ".join(w for w in tokens if w not in skip) or "step"
        rows.setdefault(name, {})[prec] = t
    return rows


def speed_table(rec: Records, profile: str = "demo") -> str:
    """Every method's benchmark at ``profile``: steps/s and share of the matmul limit, fp32 and bf16."""
    rows = ["| method | step | fp32 steps/s | fp32 share | bf16 steps/s | bf16 share | CPU, threads |",
            "|---|---|---|---|---|---|---|"]
    share = lambda t: t.get("share_best", t.get("ratio_best"))      # noqa: E731
    cell = lambda v, f: "–" if v is None else f.format(v)            # noqa: E731
    for path in sorted((rec.root / "benchmarks").glob("*.json")):
        data = rec.json(path)
        machine = data.get("machine", {}) if isinstance(data, dict) else {}
        flags = machine.get("cpu_flags", {})
        cpu = machine.get("processor", "?") + (" (AMX)" if flags.get("amx_bf16") else
                                               " (AVX512-BF16)" if flags.get("avx512_bf16") else "")
        cpu += f", {machine.get('threads', '?')}"
        for name, by in speed_rows(data, profile).items():
            f32, b16 = by.get("fp32", {}), by.get("bf16", {})
            s32, s16 = share(f32), share(b16)
            rows.append(f"| {path.stem} | {name} | {cell(f32.get('steps_per_s_best'), '{:.2f}')} | "
                        f"{cell(None if s32 is None else 100 * s32, '{:.0f} %')} | "
                        f"{cell(b16.get('steps_per_s_best'), '{:.2f}')} | "
                        f"{cell(None if s16 is None else 100 * s16, '{:.0f} %')} | {cpu} |")
    return "\n".join(rows)


#: ``{{table:NAME ARGS}}`` -> the function that writes it (records, *args)
TABLES: dict[str, Callable[..., str]] = {
    "times": times_table,
    "notebook_times": notebooks_times_table,
    "speed": speed_table,
    "releases": lambda rec: releases_table(rec.root / "checkpoints"),
}


# ------------------------------------------------------------------------------------------ rendering
def _field(rec: Records, body: str, where: str) -> str:
    if body == "repo":
        return repository(rec.root)
    if body == "repo_name":
        return repository(rec.root).split("/")[1]
    if body == "repo_url":
        return f"https://github.com/{repository(rec.root)}"
    if body.startswith("table:"):
        name, *args = body[6:].split()
        if name not in TABLES:
            raise TemplateError(f"{where}: unknown table {name!r}; tables: {sorted(TABLES)}")
        return TABLES[name](rec, *args)
    spec = ""
    if ":" in body:
        body, spec = body.rsplit(":", 1)
    path, *filters = [s.strip() for s in body.split("|")]
    value = rec.value(path)
    for f in filters:
        if f not in FILTERS:
            raise TemplateError(f"{where}: unknown filter {f!r} in {{{{{body}}}}}; filters: {sorted(FILTERS)}")
        value = FILTERS[f](value)
    try:
        return format(value, spec)
    except (TypeError, ValueError) as e:
        raise TemplateError(f"{where}: {{{{{body}:{spec}}}}} cannot format {value!r}: {e}") from e


def render(template: str, rec: Records | None = None, where: str = "template") -> str:
    """``template`` with every ``{{...}}`` field filled from the records (see the module docstring)."""
    rec = Records() if rec is None else rec
    try:
        out = FIELD.sub(lambda m: _field(rec, m.group(1), where), template)
    except TemplateError as e:
        raise TemplateError(f"{where}: {e}") if not str(e).startswith(where) else e
    left = re.search(r"\{\{[^\n]{0,60}", out)
    if left:                     # a field closed with one brace is not a field: it would reach the reader as text
        raise TemplateError(f"{where}: unclosed field {left.group(0)!r}… (a field is {{{{kind/path:spec}}}})")
    return out


def render_notebook(nb: dict, rec: Records, where: str) -> dict:
    """A copy of notebook JSON ``nb`` whose templated cells hold their rendered templates."""
    out = json.loads(json.dumps(nb))
    for i, cell in enumerate(out["cells"]):
        tpl = cell.get("metadata", {}).get(TEMPLATE_KEY)
        if tpl is not None:
            text = render(tpl if isinstance(tpl, str) else "".join(tpl), rec, f"{where} cell {i}")
            cell["source"] = text.splitlines(keepends=True)
    return out


def _notebook_text(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def outputs(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file under ``root`` and the text it should hold."""
    rec = Records(root)
    out = {root / "README.md": render((root / README_TEMPLATE).read_text(), rec, str(README_TEMPLATE))}
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text())
        out[path] = _notebook_text(render_notebook(nb, rec, f"notebooks/{path.name}"))
    out[root / "checkpoints" / "README.md"] = readme_text(root / "checkpoints")
    return out


def build(root: Path = ROOT) -> list[Path]:
    """Write every generated file that differs (atomically); returns those written."""
    written = []
    for path, text in outputs(root).items():
        if not path.exists() or path.read_text() != text:
            atomic_write_bytes(path, text.encode())
            written.append(path)
    return written


def check(root: Path = ROOT) -> list[str]:
    """What differs between the committed files and what :func:`build` would write, plus any
    ``@@...@@`` placeholder left in them; empty when all is current."""
    problems = []
    for path, text in outputs(root).items():
        rel = path.relative_to(root)
        have = path.read_text() if path.exists() else ""
        if have != text:
            diff = list(difflib.unified_diff(have.splitlines(), text.splitlines(), "committed", "generated",
                                             n=0, lineterm=""))[2:8]
            problems.append(f"{rel} differs from what `python -m helpers.core.docs` writes:\n  " + "\n  ".join(diff))
        for m in PLACEHOLDER.finditer(have):
            problems.append(f"{rel}: unfilled placeholder {m.group(0)}")
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m helpers.core.docs", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only compare; exit 1 when a file is stale")
    args = p.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) if problems else "README, notebooks and checkpoints/README.md are current")
        return 1 if problems else 0
    for path in build():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
