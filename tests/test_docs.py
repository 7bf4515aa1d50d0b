"""README and the notebooks' texts are what the records say (helpers.core.docs), and every
``helpers`` name they mention exists."""
from __future__ import annotations

import importlib
import json
import re
import shutil
from pathlib import Path

import pytest

from helpers.core import docs

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_readme_and_notebooks_are_what_the_records_say():
    problems = docs.check(REPO)
    assert not problems, "\n".join(problems) + "\nrun: python -m helpers.core.docs (make docs)"


def _sandbox(tmp_path: Path) -> Path:
    """A copy of what the generator reads and writes (weights linked, not copied)."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("docs", "notebooks", "benchmarks"):
        (tmp_path / folder).mkdir()
        for p in (REPO / folder).glob("*.*"):
            if p.is_file():
                shutil.copy(p, tmp_path / folder / p.name)
    (tmp_path / "checkpoints").mkdir()
    for p in (REPO / "checkpoints").iterdir():
        if p.suffix == ".safetensors":
            (tmp_path / "checkpoints" / p.name).symlink_to(p)
        else:
            shutil.copy(p, tmp_path / "checkpoints" / p.name)
    return tmp_path


def test_a_changed_number_in_readme_fails(tmp_path):
    root = _sandbox(tmp_path)
    assert docs.check(root) == []
    man = json.loads((root / "checkpoints" / "glcic_mouth64_v3.json").read_text())
    shown = f"{man['metrics']['mouth_psnr']:.2f}"
    text = (root / "README.md").read_text()
    assert shown in text
    (root / "README.md").write_text(text.replace(shown, "99.99", 1))
    problems = docs.check(root)
    assert any("README.md differs" in p and "99.99" in p for p in problems), problems


def test_a_changed_record_fails_and_the_command_repairs_it(tmp_path):
    root = _sandbox(tmp_path)
    path = root / "checkpoints" / "lafin_ours128.json"
    man = json.loads(path.read_text())
    man["metrics"]["halfface_all_nme"] = 1.2345
    path.write_text(json.dumps(man))
    problems = docs.check(root)
    assert any(p.startswith("README.md differs") for p in problems), problems
    docs.build(root)
    assert docs.check(root) == []
    assert "1.23" in (root / "README.md").read_text()


def test_a_changed_notebook_header_fails(tmp_path):
    root = _sandbox(tmp_path)
    path = root / "notebooks" / NOTEBOOKS[2].name
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = ["hand-edited header\n"]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    assert any(NOTEBOOKS[2].name in p for p in docs.check(root))


def test_placeholders_fail(tmp_path):
    root = _sandbox(tmp_path)
    tpl = root / "docs" / "README.template.md"
    tpl.write_text(tpl.read_text() + "\n@@TIMES00@@\n")
    docs.build(root)
    assert any("unfilled placeholder @@TIMES00@@" in p for p in docs.check(root))


def test_fields_name_what_is_missing():
    with pytest.raises(docs.TemplateError, match="no 'nope' under metrics; there: .*mouth_psnr"):
        docs.render("{{ckpt/glcic_mouth64_v3/metrics/nope:.2f}}", where="t")
    with pytest.raises(docs.TemplateError, match="unknown filter"):
        docs.render("{{ckpt/glcic_mouth64_v3/train_seconds|days}}")
    with pytest.raises(docs.TemplateError, match="no record checkpoints/none_such.json"):
        docs.render("{{ckpt/none_such/metrics}}")
    assert docs.render("{{ckpt/glcic_mouth64_v3/train_seconds|min:.0f}} min") .endswith(" min")
    # a field closed with a single brace would reach the reader as raw text (README's label study once did)
    with pytest.raises(docs.TemplateError, match="unclosed field"):
        docs.render("NME {{ckpt/glcic_mouth64_v3/metrics/mouth_psnr:.2f} dB")


def test_every_notebook_header_and_setup_cell_is_templated():
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        assert "{{repo}}" in cells[0]["metadata"].get("template", ""), f"{path.name}: badge not from the setting"
        setup = next(c for c in cells if c["cell_type"] == "code")
        assert "{{repo_url}}" in setup["metadata"].get("template", ""), f"{path.name}: setup cell not from the setting"


# ------------------------------------------------------------------- helpers names the texts mention
NAME = re.compile(r"\bhelpers(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
PATH = re.compile(r"\bhelpers/[A-Za-z0-9_/]+\.py\b")


def _texts():
    for path in NOTEBOOKS:
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            yield f"{path.name} cell {i}", "".join(cell["source"])
    yield "README.md", (REPO / "README.md").read_text()


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_every_helpers_name_the_texts_mention_exists():
    missing = []
    for where, text in _texts():
        for name in sorted(set(NAME.findall(text))):
            if not _resolves(name.rstrip(".")):
                missing.append(f"{where}: {name}")
        for p in sorted(set(PATH.findall(text))):
            if not (REPO / p).exists():
                missing.append(f"{where}: {p}")
    assert not missing, "names that do not exist:\n" + "\n".join(missing)
