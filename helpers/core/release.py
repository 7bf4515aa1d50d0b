"""Released weights: safetensors + a JSON manifest, for every method alike.

A release is the small, committed result of a training command::

    checkpoints/<name>.safetensors   the weights of one or more models (``<model>.<tensor>`` keys)
    checkpoints/<name>.json          the manifest: name, sha256, bytes, models, command, config,
                                     data and its licence, train seconds, metrics, curve, headline

Nothing is unpickled: weights are read with safetensors after their sha256 matched the manifest.
This module knows no method; a method chooses which of its metrics are the ``headline`` (what
``checkpoints/README.md`` shows) and what its ``curve`` (metrics along training) holds.
``python -m helpers.core.release`` rewrites ``checkpoints/README.md`` from the manifests.
"""
from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import re
import sys
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from helpers.core.files import atomic_write_bytes, sha256
from helpers.core.runtime import CHECKPOINT_DIR

__all__ = ["Release", "check_name", "save_release", "read_manifest", "load_release", "load_state",
           "releases_table", "readme_text", "write_readme", "check_state_dict", "fp16_copy", "data_entry",
           "SYNTHFACES"]

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: the ``data`` entry of a release trained on the course's own procedural faces
SYNTHFACES = {"name": "SynthFaces (procedural, helpers.synthfaces)", "licence": "MIT (this repository)"}


@dataclass
class Release:
    """What every method's ``load_release(name)`` returns: the loaded networks, the run's config
    (the method's ``Config``, or ``None`` where a release predates it) and the manifest.

    ``release.models["G"]`` or ``release.G`` is a network in eval mode on the CPU; ``release.model``
    is the only one when there is one; ``release.metrics`` is ``manifest["metrics"]``.
    """
    name: str
    models: dict
    config: Any = None
    manifest: dict = field(default_factory=dict)

    @property
    def model(self) -> nn.Module:
        if len(self.models) != 1:
            raise AttributeError(f"release {self.name!r} holds {sorted(self.models)}: use .models[...]")
        return next(iter(self.models.values()))

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})

    def __repr__(self) -> str:
        nets = ", ".join(f"{k}={type(m).__name__}" for k, m in self.models.items())
        head = {k: self.metrics[k] for k in self.manifest.get("headline", []) if k in self.metrics}
        return f"Release({self.name!r}, models: {nets}, config: {type(self.config).__name__}, headline: {head})"

    def __getattr__(self, key: str):
        models = self.__dict__.get("models") or {}
        if key in models:
            return models[key]
        raise AttributeError(f"release {self.__dict__.get('name')!r} has no attribute or model {key!r} "
                             f"(models: {sorted(models)})")


def fp16_copy(model: nn.Module) -> nn.Module:
    """An eval-mode CPU float32 copy whose floating tensors went through float16 and back.

    A release stored in float16 is measured on this copy, so the manifest's numbers are the stored
    file's, not the float32 run's.
    """
    out = copy.deepcopy(model).cpu().float()
    with torch.no_grad():
        for t in list(out.parameters()) + list(out.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return out.eval()


def data_entry(data: str | os.PathLike, synthetic: str | Sequence[str] = ("synthfaces",), **extra) -> dict:
    """The manifest's ``data``: SynthFaces (with ``extra`` facts), or a folder's ``data.json``.

    ``data`` is a config's ``data`` field; names in ``synthetic`` mean the course's procedural faces.
    A folder without ``data.json`` (name, licence, source) is recorded with a note asking for one.
    """
    synthetic = (synthetic,) if isinstance(synthetic, str) else tuple(synthetic)
    if str(data) in synthetic:
        return {**SYNTHFACES, **_jsonable(extra)}
    info = Path(data) / "data.json"
    if info.exists():
        return json.loads(info.read_text())
    return {"name": str(data), "licence": "not stated: add data.json (name, licence) to the folder"}


def check_name(name: str) -> str:
    """Return ``name`` if it is a plain release name (letters, digits, ``_ . -``), else raise.

    Names become file names under ``checkpoints/``: ``../../x``, ``a/b`` or ``.hidden`` are refused.
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or ".." in name:
        raise ValueError(f"release name must be 1-100 letters, digits, '_', '-' or '.' (not starting "
                         f"with '.', no '..'), got {name!r}")
    return name


def check_state_dict(name: str, model: nn.Module, sd: Mapping[str, torch.Tensor]) -> None:
    """Raise ValueError naming every missing, unexpected or mis-shaped entry of ``sd`` for ``model``."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{' …' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}{' …' if len(unexpected) > 5 else ''}")
        if shapes:
            parts.append("shape mismatch " + "; ".join(shapes[:5]))
        raise ValueError(f"checkpoint does not fit model {name!r} ({type(model).__name__}): "
                         + ", ".join(parts))


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str, sort_keys=True))


def _flat_state(models: Mapping[str, nn.Module], dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    out = {}
    for name, m in models.items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"model names must be letters, digits or '_', got {name!r}")
        for k, v in m.state_dict().items():
            v = v.detach().cpu()
            if dtype is not None and v.is_floating_point():
                v = v.to(dtype)
            out[f"{name}.{k}"] = v.contiguous().clone()
    return out


def save_release(models: Mapping[str, nn.Module], name: str, *, command: str, config: Mapping,
                 train_seconds: float, metrics: Mapping, data: Mapping | None = None,
                 curve: Sequence[Mapping] | None = None, headline: Sequence[str] = (),
                 notes: str = "", dtype: torch.dtype | None = None,
                 directory: str | os.PathLike = CHECKPOINT_DIR) -> Path:
    """Write ``<name>.safetensors`` and ``<name>.json`` atomically; return the weights' path.

    Args:
        models: the networks to store (``{"G": G, "D": D}``).
        command: the command line that produced them (so anyone can re-make the release).
        config: the run's config (``Config.to_dict()``).
        train_seconds: wall-clock seconds of training steps over all sessions.
        metrics: what the weights reach (flat numbers, or small JSON-able structures).
        data: ``{"name": ..., "licence": ..., ...}`` of the training data (default SynthFaces).
        curve: metrics measured along training (list of rows with a ``step``).
        headline: metric keys shown in ``checkpoints/README.md``.
        dtype: store floating tensors in this dtype (``torch.float16`` halves the size; check
            that the metrics still hold, then say so in ``notes``).
    """
    from safetensors.torch import save as st_save

    check_name(name)
    if not models:
        raise ValueError("save_release needs at least one model")
    missing = [k for k in headline if k not in metrics]
    if missing:
        raise ValueError(f"headline metrics {missing} are not in metrics {sorted(metrics)}")
    directory = Path(directory)
    weights = directory / f"{name}.safetensors"
    blob = st_save(_flat_state(models, dtype), metadata={"name": name})
    atomic_write_bytes(weights, blob)
    manifest = {
        "name": name,
        "file": weights.name,
        "sha256": sha256(weights),
        "bytes": weights.stat().st_size,
        "models": sorted(models),
        "dtype": str(dtype).replace("torch.", "") if dtype is not None else "float32",
        "command": command,
        "data": _jsonable(dict(data or SYNTHFACES)),
        "train_seconds": round(float(train_seconds), 1),
        "headline": list(headline),
        "metrics": _jsonable(dict(metrics)),
        "curve": _jsonable(list(curve or [])),
        "config": _jsonable(dict(config)),
        "torch": torch.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "notes": notes,
    }
    atomic_write_bytes(directory / f"{name}.json", json.dumps(manifest, indent=1).encode())
    return weights


def read_manifest(name: str, directory: str | os.PathLike = CHECKPOINT_DIR) -> dict:
    """The JSON manifest of release ``name``."""
    path = Path(directory) / f"{check_name(name)}.json"
    if not path.exists():
        known = sorted(p.stem for p in Path(directory).glob("*.json"))
        raise FileNotFoundError(f"no release {name!r} in {directory} (there are: {known})")
    return json.loads(path.read_text())


def load_state(name: str, directory: str | os.PathLike = CHECKPOINT_DIR) -> tuple[dict, dict]:
    """``(flat state dict, manifest)`` of a release after checking its sha256 (float32 tensors)."""
    from safetensors.torch import load_file

    manifest = read_manifest(name, directory)
    weights = Path(directory) / manifest["file"]
    if not weights.exists():
        raise FileNotFoundError(f"release {name!r}: weights file {weights} is missing")
    digest = sha256(weights)
    if digest != manifest["sha256"]:
        raise ValueError(f"release {name!r}: sha256 of {weights.name} is {digest[:12]}…, "
                         f"the manifest says {manifest['sha256'][:12]}… (file changed or damaged)")
    flat = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(str(weights)).items()}
    return flat, manifest


def load_release(name: str, models: Mapping[str, nn.Module],
                 directory: str | os.PathLike = CHECKPOINT_DIR) -> dict:
    """Load release ``name`` into ``models`` (sha256 checked, shapes checked); return its manifest."""
    flat, manifest = load_state(name, directory)
    if set(models) != set(manifest["models"]):
        raise ValueError(f"release {name!r} holds models {manifest['models']}, asked for {sorted(models)}")
    for mname, model in models.items():
        prefix = mname + "."
        sd = {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)}
        check_state_dict(mname, model, sd)
        model.load_state_dict(sd)
    return manifest


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def releases_table(directory: str | os.PathLike = CHECKPOINT_DIR) -> str:
    """A Markdown table of every release manifest in ``directory`` (its headline metrics)."""
    rows = ["| release | size | sha256 | data | training | command | headline metrics |",
            "|---|---|---|---|---|---|---|"]
    for path in sorted(Path(directory).glob("*.json")):
        m = json.loads(path.read_text())
        if "sha256" not in m:
            continue
        head = ", ".join(f"{k} {_fmt(m['metrics'][k])}" for k in m.get("headline", []) if k in m["metrics"])
        data = m.get("data", {}).get("name", "?")
        rows.append(f"| `{m['name']}` | {m['bytes'] / 1e6:.1f} MB ({m.get('dtype', 'float32')}) | "
                    f"`{m['sha256'][:12]}…` | {data} | {m['train_seconds'] / 60:.1f} min | "
                    f"`{m['command']}` | {head} |")
    return "\n".join(rows)


README_HEAD = """# Checkpoints

Small demo weights, each produced by the committed command in its row, stored as safetensors with a
JSON manifest beside it (`<name>.json`: sha256, command, config, the data and its licence, training
seconds, the metrics the weights reach and the curve measured along training). Load them with each
method's `load_release(name)` or with `helpers.core.release.load_release` (it checks the sha256;
nothing is unpickled). Tests check that every release loads and reproduces its manifest.

Run outputs (`runs/`) are git-ignored. This file is generated: `python -m helpers.core.release`.

"""


def readme_text(directory: str | os.PathLike = CHECKPOINT_DIR) -> str:
    """The text of ``<directory>/README.md``: the releases table and the weights' total size."""
    total = sum(p.stat().st_size for p in Path(directory).glob("*.safetensors"))
    return README_HEAD + releases_table(directory) + "\n" + f"\nTotal size of the weights: {total / 1e6:.1f} MB.\n"


def write_readme(directory: str | os.PathLike = CHECKPOINT_DIR) -> Path:
    """Rewrite ``<directory>/README.md`` from the manifests (atomically)."""
    return atomic_write_bytes(Path(directory) / "README.md", readme_text(directory).encode())


if __name__ == "__main__":
    out = write_readme(sys.argv[1] if len(sys.argv) > 1 else CHECKPOINT_DIR)
    print(f"wrote {out}")
