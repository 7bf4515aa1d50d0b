"""Resumable runs and released weights.

The seed's Colab problem (002: about 80,000 iterations per session, so 480,000 iterations took
six sessions resumed from saved models) is solved once, here, for every method:

``RunDir`` owns one run directory. It saves the models, optimizers, grad scalers, step, phase,
config, logged metrics and *all* RNG states (python, numpy, torch CPU, CUDA, and any
``torch.Generator`` the data pipeline owns) atomically (temp file, fsync, ``os.replace``),
keeps the last N files, saves every K steps and/or every M minutes, stops cleanly at a
wall-clock or step budget, and on the next call restores the newest *readable* file, falling
back to an older one (with a warning) if the newest is damaged. Loading uses
``torch.load(weights_only=True)``: nothing stored in a checkpoint is ever executed.

A typical loop (what every ``train()`` in ``helpers`` does)::

    run = RunDir(path, cfg_dict, models={"G": G}, optimizers={"G": opt}, generators={"data": gen},
                 every_steps=500, every_minutes=10)
    step = run.restore().step
    run.start_budget(minutes=budget_minutes, max_steps=max_steps)
    while step < total and not run.should_stop(step):
        loss = train_step(...)          # draw data with `gen`, never with a fresh DataLoader iterator
        step += 1
        run.log(step, loss=loss)
        run.maybe_save(step, phase)
    run.save(step, phase)

Bit-identical resume needs the data order to come from a saved generator (sample indices with
``torch.randint(..., generator=gen)`` or a sampler seeded from it); a DataLoader iterator's
position inside an epoch is not part of any RNG state.

Released weights (safetensors + manifest) are :mod:`helpers.core.release`; the training loop that
drives a ``RunDir`` for every method is :mod:`helpers.core.loop`.
"""
from __future__ import annotations

import json
import os
import random
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from helpers.core.files import atomic_write
from helpers.core.release import check_state_dict

FORMAT = 1
CKPT_RE = re.compile(r"^ckpt-(\d{9})\.pt$")


# ----------------------------------------------------------------------------- RNG states
def _rng_state(generators: Mapping[str, torch.Generator]) -> dict:
    version, keys, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {
        "python": {"version": version, "keys": torch.tensor(keys, dtype=torch.int64),
                   "gauss": gauss},
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)),
                  "pos": int(np_pos), "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "torch": torch.get_rng_state(),
        "generators": {k: g.get_state() for k, g in generators.items()},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, generators: Mapping[str, torch.Generator]) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(int(k) for k in py["keys"].tolist()), py["gauss"]))
    npst = state["numpy"]
    np.random.set_state((npst["name"], npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    missing = set(generators) - set(state["generators"])
    if missing:
        raise ValueError(f"checkpoint has no state for generator(s) {sorted(missing)}; "
                         f"it has {sorted(state['generators'])}")
    for k, g in generators.items():
        g.set_state(state["generators"][k])


# ----------------------------------------------------------------------------- state dicts
def _config_diff(saved: Mapping, current: Mapping, ignore=()) -> list[str]:
    keys = (set(saved) | set(current)) - set(ignore)
    out = []
    for k in sorted(keys):
        a, b = saved.get(k, "<absent>"), current.get(k, "<absent>")
        if a != b:
            out.append(f"{k}: checkpoint {a!r} vs now {b!r}")
    return out


def jsonable(obj: Any) -> Any:
    """Round-trip through JSON so configs compare the same before and after saving."""
    return json.loads(json.dumps(obj, default=str, sort_keys=True))


# ----------------------------------------------------------------------------- RunDir
@dataclass
class Progress:
    """Where a run stands: ``step`` done so far, ``phase`` name, free-form ``extra`` (JSON-able)."""
    step: int = 0
    phase: str | None = None
    extra: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def resumed(self) -> bool:
        return self.path is not None


class RunDir:
    """One resumable run directory (see the module docstring for the loop it supports).

    Args:
        path: folder of the run (created). Checkpoints are ``ckpt-<step>.pt``, metrics
            ``metrics.jsonl``, the config ``config.json``.
        config: JSON-able dict describing the run; a checkpoint written under another config
            refuses to load and the error names every differing key (``config_ignore`` lists keys
            allowed to change between sessions, e.g. a budget).
        models, optimizers, scalers: objects with ``state_dict``/``load_state_dict``.
        generators: ``torch.Generator`` objects whose state must survive (data order, masks).
        keep_last: how many checkpoint files to keep.
        every_steps / every_minutes: when ``maybe_save`` saves.
        writer: False for a reader that must never write (DDP ranks other than 0): it restores
            but does not clean temp files, trim the metrics log, save or log.
    """

    def __init__(self, path: str | os.PathLike, config: Mapping, *, models: Mapping[str, nn.Module],
                 optimizers: Mapping[str, Any] | None = None, scalers: Mapping[str, Any] | None = None,
                 generators: Mapping[str, torch.Generator] | None = None, keep_last: int = 3,
                 every_steps: int | None = None, every_minutes: float | None = None,
                 config_ignore: tuple[str, ...] = (), writer: bool = True):
        if not models:
            raise ValueError("RunDir needs at least one model in `models`")
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        for label, v in (("every_steps", every_steps), ("every_minutes", every_minutes)):
            if v is not None and v <= 0:
                raise ValueError(f"{label} must be positive or None, got {v}")
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.config = jsonable(dict(config))
        self.config_ignore = tuple(config_ignore)
        self.models = dict(models)
        self.optimizers = dict(optimizers or {})
        self.scalers = dict(scalers or {})
        self.generators = dict(generators or {})
        self.keep_last = keep_last
        self.every_steps = every_steps
        self.every_minutes = every_minutes
        self._last_save_step = None
        self._last_save_time = time.monotonic()
        self._budget_start = time.monotonic()
        self._budget_minutes: float | None = None
        self._budget_steps: int | None = None
        self.stopped_by: str | None = None
        self.writer = bool(writer)
        if self.writer:
            for tmp in self.path.glob(".*.tmp"):  # leftovers of a save that was killed
                tmp.unlink(missing_ok=True)

    # -- files
    def checkpoints(self) -> list[Path]:
        """Checkpoint files, newest (highest step) first."""
        files = [p for p in self.path.iterdir() if CKPT_RE.match(p.name)]
        return sorted(files, key=lambda p: int(CKPT_RE.match(p.name).group(1)), reverse=True)

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    # -- save
    def save(self, step: int, phase: str | None = None, extra: Mapping | None = None) -> Path:
        """Write ``ckpt-<step>.pt`` atomically with everything needed to resume, keep the last N."""
        if not isinstance(step, int) or step < 0:
            raise ValueError(f"step must be a non-negative int, got {step!r}")
        if not self.writer:
            raise RuntimeError("this RunDir was opened with writer=False (a DDP rank other than 0)")
        payload = {
            "format": FORMAT,
            "step": step,
            "phase": phase,
            "extra": json.dumps(jsonable(dict(extra or {}))),
            "config": json.dumps(self.config, sort_keys=True),
            "models": {k: m.state_dict() for k, m in self.models.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
            "rng": _rng_state(self.generators),
            "saved_at": time.time(),
        }
        target = self.path / f"ckpt-{step:09d}.pt"
        atomic_write(target, lambda f: torch.save(payload, f))
        cfg_path = self.path / "config.json"
        if not cfg_path.exists():
            atomic_write(cfg_path, lambda f: f.write(json.dumps(self.config, indent=2).encode()))
        for old in self.checkpoints()[self.keep_last:]:
            old.unlink(missing_ok=True)
        self._last_save_step = step
        self._last_save_time = time.monotonic()
        return target

    def maybe_save(self, step: int, phase: str | None = None, extra: Mapping | None = None) -> bool:
        """Save if ``every_steps`` steps or ``every_minutes`` minutes passed since the last save."""
        due = False
        if self.every_steps is not None:
            last = self._last_save_step if self._last_save_step is not None else 0
            due = step - last >= self.every_steps
        if self.every_minutes is not None:
            due = due or (time.monotonic() - self._last_save_time) >= 60 * self.every_minutes
        if due:
            self.save(step, phase, extra)
        return due

    # -- restore
    def restore(self) -> Progress:
        """Load the newest readable checkpoint into the models/optimizers/scalers/RNGs.

        A damaged file (truncated, unreadable) is skipped with a warning and the next older one
        is tried. A readable checkpoint of another config or model raises ``ValueError`` naming
        the mismatch (that is a user error, not damage). Returns ``Progress(step=0)`` when there
        is nothing to resume; raises ``RuntimeError`` when there are checkpoints but none is
        readable (starting afresh would silently discard the run and its metrics).
        """
        unreadable = []
        for ckpt in self.checkpoints():
            try:
                payload = torch.load(ckpt, map_location="cpu", weights_only=True)
                if not isinstance(payload, dict) or payload.get("format") != FORMAT:
                    raise ValueError(f"not a format-{FORMAT} checkpoint")
            except Exception as err:  # noqa: BLE001 - any read failure means "damaged"
                unreadable.append(f"{ckpt.name}: {type(err).__name__}: {str(err)[:200]}")
                warnings.warn(f"skipping unreadable checkpoint {unreadable[-1]}", RuntimeWarning, stacklevel=2)
                continue
            self._load(payload, ckpt)
            self._truncate_metrics(payload["step"])
            self._last_save_step = payload["step"]
            self._last_save_time = time.monotonic()
            return Progress(payload["step"], payload["phase"], json.loads(payload["extra"]), ckpt)
        if unreadable:
            # Starting afresh would silently throw away the run (and its metrics): refuse instead.
            raise RuntimeError(f"{self.path} holds checkpoints but none is readable, so the run cannot "
                               f"resume; move them away to start afresh. First: {unreadable[0]}")
        self._truncate_metrics(0)  # rows of an earlier attempt that never saved are not this run's
        return Progress()

    def _load(self, payload: dict, ckpt: Path) -> None:
        saved_cfg = json.loads(payload["config"])
        diff = _config_diff(saved_cfg, self.config, self.config_ignore)
        if diff:
            raise ValueError(f"{ckpt} was written with another config: " + "; ".join(diff)
                             + ". Use a new run directory, or pass config_ignore=(...) for keys "
                               "that may change between sessions.")
        for kind, ours in (("models", self.models), ("optimizers", self.optimizers),
                           ("scalers", self.scalers)):
            theirs = payload[kind]
            if set(theirs) != set(ours):
                raise ValueError(f"{ckpt} holds {kind} {sorted(theirs)} but this run has {sorted(ours)}")
        for name, model in self.models.items():
            check_state_dict(name, model, payload["models"][name])
        for name, model in self.models.items():
            model.load_state_dict(payload["models"][name])
        for name, opt in self.optimizers.items():
            try:
                opt.load_state_dict(payload["optimizers"][name])
            except (ValueError, KeyError, RuntimeError) as err:
                raise ValueError(f"optimizer {name!r} in {ckpt} does not fit: {err}") from err
        for name, sc in self.scalers.items():
            sc.load_state_dict(payload["scalers"][name])
        _set_rng_state(payload["rng"], self.generators)

    # -- budget
    def start_budget(self, minutes: float | None = None, max_steps: int | None = None) -> None:
        """Start the clock: ``should_stop`` turns True after ``minutes`` or at step ``max_steps``.

        ``max_steps`` is an absolute step number (the run stops when it reaches it).
        """
        if minutes is not None and minutes <= 0:
            raise ValueError(f"budget minutes must be positive or None, got {minutes}")
        self._budget_start = time.monotonic()
        self._budget_minutes = minutes
        self._budget_steps = max_steps
        self.stopped_by = None

    def should_stop(self, step: int) -> bool:
        """True once the step or wall-clock budget is used; ``stopped_by`` says which."""
        if self._budget_steps is not None and step >= self._budget_steps:
            self.stopped_by = "steps"
        elif self._budget_minutes is not None and \
                time.monotonic() - self._budget_start >= 60 * self._budget_minutes:
            self.stopped_by = "time"
        return self.stopped_by is not None

    def elapsed(self) -> float:
        """Seconds since ``start_budget``."""
        return time.monotonic() - self._budget_start

    # -- metrics
    def log(self, step: int, **metrics: Any) -> None:
        """Append one row (step + metrics) to ``metrics.jsonl``."""
        if not self.writer:
            raise RuntimeError("this RunDir was opened with writer=False (a DDP rank other than 0)")
        row = {"step": int(step)}
        for k, v in metrics.items():
            row[k] = float(v.detach()) if torch.is_tensor(v) else (
                float(v) if isinstance(v, (np.floating, np.integer)) else v)
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def history(self):
        """The logged metrics as a pandas DataFrame (one row per ``log`` call)."""
        import pandas as pd

        return pd.DataFrame(self._read_metrics())

    def _read_metrics(self) -> list[dict]:
        if not self.metrics_path.exists():
            return []
        rows = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill
                continue
        return rows

    def _truncate_metrics(self, step: int) -> None:
        """Drop rows logged after ``step`` (work that the restored checkpoint does not contain)."""
        if not self.writer:
            return
        rows = self._read_metrics()
        kept = [r for r in rows if r.get("step", 0) <= step]
        if len(kept) != len(rows) or (self.metrics_path.exists() and not
                                      self.metrics_path.read_text(encoding="utf-8").endswith("\n")):
            data = "".join(json.dumps(r) + "\n" for r in kept).encode()
            atomic_write(self.metrics_path, lambda f: f.write(data))


def checkpoint_step(path: str | os.PathLike) -> int:
    """The step of a checkpoint file name ``ckpt-<step>.pt``; ValueError for any other name."""
    m = CKPT_RE.match(Path(path).name)
    if not m:
        raise ValueError(f"{path} is not a checkpoint file (ckpt-<9 digits>.pt)")
    return int(m.group(1))


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The payload of one checkpoint file (``weights_only=True``: nothing in it is executed)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a format-{FORMAT} checkpoint")
    return payload


def load_models(path: str | os.PathLike, models: Mapping[str, nn.Module]) -> dict:
    """Load just the named models from a checkpoint file (optimisers etc. are ignored).

    Returns the payload's ``{"step", "phase", "extra"}``; raises ValueError naming a missing model
    or a mismatching tensor.
    """
    payload = read_checkpoint(path)
    for name, model in models.items():
        if name not in payload["models"]:
            raise ValueError(f"{path} holds models {sorted(payload['models'])}, not {name!r}")
        check_state_dict(name, model, payload["models"][name])
        model.load_state_dict(payload["models"][name])
    return {"step": int(payload["step"]), "phase": payload["phase"], "extra": json.loads(payload["extra"])}
