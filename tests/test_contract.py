"""The layout contract of ``helpers/`` and ``data_scripts/``, checked on the source (AST, nothing imported).

(i)   no import cycle between modules;
(ii)  no upward import: helpers.core < helpers.faces < helpers.synthfaces < method packages (every
      other ``helpers.<x>``) < data_scripts; a method imports another method only where
      :data:`METHOD_IMPORTS_ALLOWED` says so;
(iii) inside a method package, no import against the file order :data:`METHOD_FILE_ORDER`;
(iv)  ``helpers.*`` / ``data_scripts.*`` imported at module level, never inside a function
      (third-party optional imports such as dlib or selenium may stay lazy);
(v)   no private name (leading underscore) of another internal module, imported or used as an
      attribute of an imported module;
and every internal import names a module that exists (a path left over from a move is reported).

Each violation is reported as ``path:line: (rule) what``. Dependencies point one way so that any
part can be read, tested and reused without what sits above it (see the architecture guide).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("helpers", "data_scripts")

#: The shared layers of ``helpers``, bottom first; any other ``helpers.<x>`` is a method package
#: (one layer above synthfaces), and ``data_scripts`` sits above all of ``helpers``.
LAYERS = ("helpers.core", "helpers.faces", "helpers.synthfaces")
METHOD_LAYER = len(LAYERS)
DATA_SCRIPTS_LAYER = METHOD_LAYER + 1

#: ``(importing method, imported method)`` pairs allowed across method packages, each with the
#: reason. Empty for now; seed 001's StyleGAN2 package may pre-inpaint with glcic or lafin, e.g.
#: ``("stylegan2", "glcic"): "seed 001 pre-inpaints the masked face before projection"``.
METHOD_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {
    ("stylegan2", "glcic"): "seed 001's proposed fix: first inpaint the mask region with another method, "
                            "then style-mix",
    ("lafin", "glcic"): "the landmark paper's inpainter measured beside GLCIC's releases on the same holes "
                        "(lafin same-holes)",
}

#: Inside a method package a file may import only files of the same or a lower rank. Files not
#: named here (``data.py``, ``survey.py``, ...) rank between model and evaluate; ``figures`` draws
#: what evaluate measured; ``ablation`` and ``commands`` drive training, like ``bench``. ``__init__``
#: re-exports what the notebook uses, so it sits above every file of its package but the CLI.
METHOD_FILE_ORDER = {"model": 0, "evaluate": 2, "figures": 2.5, "train": 3,
                     "bench": 4, "diagnose": 4, "__init__": 5, "__main__": 6}
OTHER_FILE_RANK = 1



@dataclass(frozen=True)
class Violation:
    path: str        # relative to the scanned root, POSIX
    line: int
    rule: str        # "i".."v", "missing" or "syntax"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: ({self.rule}) {self.message}"


@dataclass(frozen=True)
class Edge:
    source: str      # importing module
    target: str      # imported module
    path: str
    line: int


# ----------------------------------------------------------------------------- reading the tree
def module_files(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of ``packages`` under ``root``."""
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_internal(name: str, packages=PACKAGES) -> bool:
    return name.split(".")[0] in packages


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of ``from <level dots><name> import ...`` written in ``module``."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


class _Imports(ast.NodeVisitor):
    """Collects the internal imports of one module, whether each is inside a function, and the
    local names bound to internal modules (to spot ``alias._private`` attribute uses)."""

    def __init__(self, module: str, is_package: bool, modules: set[str], packages):
        self.module, self.is_package, self.modules, self.packages = module, is_package, modules, packages
        self.depth = 0
        self.found: list[tuple[int, str, str | None, bool]] = []  # line, target module, name, in function
        self.bound: dict[str, str] = {}                             # local name -> module
        self.private_uses: list[tuple[int, str]] = []

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            if _is_internal(alias.name, self.packages):
                self.found.append((node.lineno, alias.name, None, self.depth > 0))
                if alias.asname:
                    self.bound[alias.asname] = alias.name
                else:
                    self.bound[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom):
        base = (_resolve_relative(self.module, self.is_package, node.level, node.module)
                if node.level else node.module or "")
        if not _is_internal(base, self.packages):
            return
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in self.modules:                       # `from pkg import submodule`
                self.found.append((node.lineno, sub, None, self.depth > 0))
                self.bound[alias.asname or alias.name] = sub
            else:                                         # `from module import name`
                self.found.append((node.lineno, base, alias.name, self.depth > 0))

    def visit_Attribute(self, node: ast.Attribute):
        if _is_private(node.attr):
            chain, value = [], node.value
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in self.bound:
                owner = ".".join([self.bound[value.id]] + chain)
                if owner in self.modules and owner != self.module:
                    self.private_uses.append((node.lineno, f"{owner}.{node.attr}"))
        self.generic_visit(node)


def _layer(module: str) -> int:
    if module.split(".")[0] == "data_scripts":
        return DATA_SCRIPTS_LAYER
    for i, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return i
    return 0 if module == "helpers" else METHOD_LAYER


def _layer_name(module: str) -> str:
    layer = _layer(module)
    if layer < METHOD_LAYER:
        return LAYERS[layer] if module != "helpers" else "helpers (the package root)"
    return "data_scripts" if layer == DATA_SCRIPTS_LAYER else f"method helpers.{module.split('.')[1]}"


def _method_file(module: str) -> str:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else "__init__"


def _rank(module: str) -> int:
    return METHOD_FILE_ORDER.get(_method_file(module), OTHER_FILE_RANK)


def _cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):                                  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def violations(root: Path = REPO, packages=PACKAGES,
               allowed: dict[tuple[str, str], str] = METHOD_IMPORTS_ALLOWED) -> list[Violation]:
    """Every breach of rules (i)-(v) in the ``packages`` under ``root``, plus imports of modules that
    do not exist and files that do not parse (which could not be checked)."""
    files = module_files(root, packages)
    modules = set(files)
    found: list[Violation] = []
    edges: list[Edge] = []
    for module, path in files.items():
        rel = path.relative_to(root).as_posix()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        except SyntaxError as e:
            found.append(Violation(rel, e.lineno or 0, "syntax", f"cannot be parsed, so not checked: {e.msg}"))
            continue
        visitor = _Imports(module, path.name == "__init__.py", modules, packages)
        visitor.visit(tree)
        for line, target, name, in_function in visitor.found:
            what = f"{target}.{name}" if name else target
            if target not in modules:
                found.append(Violation(rel, line, "missing", f"imports {what}, but there is no module {target}"))
                continue
            edges.append(Edge(module, target, rel, line))
            if in_function:
                found.append(Violation(rel, line, "iv", f"imports {what} inside a function: import at module level"))
            if name is not None and _is_private(name) and target != module:
                found.append(Violation(rel, line, "v", f"imports the private name {what}: make it public "
                                                       "(with a docstring) in its module"))
            elif any(_is_private(p) for p in target.split(".")):
                found.append(Violation(rel, line, "v", f"imports the private module {target}"))
            src_layer, tgt_layer = _layer(module), _layer(target)
            if tgt_layer > src_layer:
                found.append(Violation(rel, line, "ii", f"upward import: {_layer_name(module)} imports {what} "
                                                        f"({_layer_name(target)} sits above it)"))
            elif src_layer == tgt_layer == METHOD_LAYER:
                src_method, tgt_method = module.split(".")[1], target.split(".")[1]
                if src_method != tgt_method and (src_method, tgt_method) not in allowed:
                    found.append(Violation(rel, line, "ii", f"method {src_method} imports method {tgt_method} "
                                                            f"({what}); allow it in METHOD_IMPORTS_ALLOWED "
                                                            "only where a seed says so"))
                elif src_method == tgt_method and _rank(target) > _rank(module):
                    found.append(Violation(rel, line, "iii", f"{_method_file(module)} imports {what}, which "
                                                             "sits above it in the method's file order "
                                                             "model < other files < evaluate < figures < train "
                                                             "< bench/ablation/commands < __init__ < __main__"))
        for line, what in visitor.private_uses:
            found.append(Violation(rel, line, "v", f"uses the private name {what}: make it public "
                                                   "(with a docstring) in its module"))
    for comp in _cycles(edges):
        inside = [e for e in edges if e.source in comp and e.target in comp]
        for e in inside:
            found.append(Violation(e.path, e.line, "i", f"import cycle {' <-> '.join(comp)}: "
                                                        f"{e.source} imports {e.target}"))
    return sorted(set(found), key=lambda v: (v.path, v.line, v.rule, v.message))


def _report(found: list[Violation]) -> str:
    return f"{len(found)} contract violation(s):\n" + "\n".join(map(str, found))


# ----------------------------------------------------------------------------- the contract
@pytest.fixture(scope="module")
def repo_violations() -> list[Violation]:
    return violations()


def test_layout_contract(repo_violations):
    """Every file of helpers/ and data_scripts/ keeps the contract."""
    print(_report(repo_violations))
    assert not repo_violations, _report(repo_violations)


def test_contract_sees_the_whole_tree():
    """Guards against a silently empty scan (a moved folder would make the contract pass)."""
    files = module_files(REPO)
    for module in ("helpers.core.runtime", "helpers.faces.data", "helpers.synthfaces", "helpers.toygan.model",
                   "data_scripts.crop", "data_scripts.scrape"):
        assert module in files, module


def test_checker_reports_every_kind_of_violation(tmp_path):
    """The checker itself, on a small made-up tree with one breach of each rule."""
    tree = {
        "helpers/__init__.py": "",
        "helpers/core/__init__.py": "",
        "helpers/core/a.py": "from helpers.faces import b\n",                           # (ii) upward
        "helpers/faces/__init__.py": "",
        "helpers/faces/b.py": "from helpers.core import files\n_hidden = 1\n",
        "helpers/core/files.py": "def f():\n    from helpers.core import a\n    return a\n",  # (iv), (i) a<->b<->files
        "helpers/m/__init__.py": "from helpers.m.train import run\n",
        "helpers/m/model.py": "from helpers.m import evaluate\n",                      # (iii) model -> evaluate
        "helpers/m/evaluate.py": "from helpers.faces.b import _hidden\n",               # (v) import
        "helpers/m/train.py": "from helpers.faces import b\nrun = b._hidden\n",          # (v) attribute
        "helpers/m/data.py": "from helpers.n import model\n",                           # (ii) method -> method
        "helpers/n/__init__.py": "",
        "helpers/n/model.py": "",
        "data_scripts/__init__.py": "",
        "data_scripts/x.py": "from .y import z\nfrom helpers.m import train\n",         # allowed
        "data_scripts/y.py": "z = 1\n",
        "data_scripts/old.py": "from helpers.data import read_manifest\n",           # moved away
        "data_scripts/broken.py": "def f(:\n",
    }
    for rel, text in tree.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    got = {(v.path, v.line, v.rule) for v in violations(tmp_path)}
    assert got == {
        ("helpers/core/a.py", 1, "ii"), ("helpers/core/a.py", 1, "i"),
        ("helpers/faces/b.py", 1, "i"),
        ("helpers/core/files.py", 2, "iv"), ("helpers/core/files.py", 2, "i"),
        ("helpers/m/model.py", 1, "iii"),
        ("helpers/m/evaluate.py", 1, "v"),
        ("helpers/m/train.py", 2, "v"),
        ("helpers/m/data.py", 1, "ii"),
        ("data_scripts/old.py", 1, "missing"),
        ("data_scripts/broken.py", 1, "syntax"),
    }, _report(violations(tmp_path))
    assert not [v for v in violations(tmp_path, allowed={("m", "n"): "test"}) if v.path == "helpers/m/data.py"]


# ----------------------------------------------------------------------------- file roles
#: the packages of ``helpers`` that are not methods
SHARED = {"core", "faces", "synthfaces"}


def documented_roles(readme: Path) -> set[str]:
    """The file names of ``helpers/README.md``'s two role tables (first column, in backticks)."""
    names = set()
    for line in readme.read_text().splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names.update(part.strip(" `") for part in first.split(","))
    return {n for n in names if n.endswith(".py")}


def role_violations(root: Path) -> list[str]:
    """Files of method packages whose name is not a role documented in ``helpers/README.md``."""
    roles = documented_roles(root / "helpers" / "README.md")
    out = []
    for pkg in sorted(p for p in (root / "helpers").iterdir() if (p / "__init__.py").exists()):
        if pkg.name in SHARED:
            continue
        out += [f"helpers/{pkg.name}/{f.name}" for f in sorted(pkg.glob("*.py")) if f.name not in roles]
    return out


def test_method_files_have_documented_roles():
    assert "evaluate.py" in documented_roles(REPO / "helpers" / "README.md")
    assert role_violations(REPO) == [], "add the file's role to helpers/README.md or move its code"


def test_role_check_can_fail(tmp_path):
    (tmp_path / "helpers" / "m").mkdir(parents=True)
    (tmp_path / "helpers" / "README.md").write_text("| `model.py` | the networks |\n| `a.py`, `b.py` | two |\n")
    for f in ("__init__.py", "model.py", "b.py", "misc.py"):
        (tmp_path / "helpers" / "m" / f).write_text("")
    (tmp_path / "helpers" / "README.md").write_text(
        "| `__init__.py` | x |\n| `model.py` | the networks |\n| `a.py`, `b.py` | two |\n")
    assert role_violations(tmp_path) == ["helpers/m/misc.py"]
