"""One config base for every method: profiles, validation, run-only fields, ``--set``.

Each method writes one dataclass whose *defaults are the quick profile* and whose ``PROFILES``
give the changes for ``demo`` and ``full``::

    @dataclass
    class Config(core.Config):
        holes: str = "random"
        alpha: float = 4e-4
        CHOICES: ClassVar = {**core.Config.CHOICES, "holes": ("random", "mouth")}
        PROFILES: ClassVar = {"demo": dict(size=64, steps=3000), "full": dict(size=256, ...)}

    Config.quick(), Config.demo(holes="mouth"), Config.for_profile(None)   # None: $FACES_PROFILE

Construction validates every field (type, allowed values, ranges, the method's own ``check``) and
raises ``ValueError`` naming the field. Fields listed in ``RUN_ONLY`` say how a run executes
(device, threads, logging, saving) and never what it computes; everything else — precision
included, since bf16 or fp16 change the numbers — is recorded in the run directory and a resumed
run must match it exactly (:class:`helpers.core.checkpoint.RunDir` refuses a difference and names it).
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping, Sequence

from helpers.core import runtime

__all__ = ["Config", "PRECISIONS", "parse_set"]

#: fp32; bf16 autocast (fast only on CPUs with AVX512-BF16/AMX and on Ampere+ GPUs: elsewhere it is
#: emulated and far slower); fp16 autocast + grad scaling (CUDA); "auto" (alias "mixed") = the
#: half precision the hardware runs natively — fp16 on CUDA, bf16 on CPUs with bf16 units — else
#: fp32. The resolved precision is recorded with the run and checked when it resumes.
PRECISIONS = ("fp32", "bf16", "fp16", "auto", "mixed")


def parse_set(items: Sequence[str] | None) -> dict[str, Any]:
    """``["lr=1e-3", "holes=mouth", "betas=[0.5, 0.9]"]`` -> dict; values are JSON, else strings."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _base_type(hint) -> tuple[type, ...] | None:
    """The accepted Python types of a field annotation (None = anything)."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        out: list[type] = []
        for arg in typing.get_args(hint):
            t = _base_type(arg)
            if t is None:
                return None
            out.extend(t)
        return tuple(out)
    if hint is type(None):
        return (type(None),)
    if origin in (tuple, list, dict):
        return (origin,)
    if hint in (int, float, str, bool, tuple, list, dict):
        return (hint,)
    return None


@dataclass
class Config:
    """Fields every method has. Defaults are the ``quick`` profile (what CI runs)."""

    profile: str = "quick"        # quick | demo | full (set by the constructors)
    seed: int = 0                 # weights, data order and every random stream of the run
    steps: int = 100              # training steps (one update of every network each, unless phased)
    batch: int = 8                # global batch (split over DDP ranks)
    size: int = 32                # image side in pixels
    precision: str = "fp32"       # see PRECISIONS; changes the numbers, so it is checked on resume
    data: str = "synthfaces"      # "synthfaces" or a folder in the on-disk face format
    # --- run-only: how the run executes, never what it computes ---------------------------------
    device: str | None = None     # None = CUDA if available, else MPS, else CPU
    threads: int | None = None    # torch CPU threads (None = leave as is)
    workers: int = 0              # DataLoader worker processes (0 = load in the training process)
    log_every: int = 10           # a row of metrics.jsonl every N steps (means over the window)
    eval_every: int = 0           # the method's measures every N steps (0 = off)
    sample_every: int = 0         # a sample grid PNG every N steps (0 = off)
    save_every: int = 500         # a checkpoint every N steps ...
    save_minutes: float = 10.0    # ... or every M minutes, whichever comes first
    keep_last: int = 3            # checkpoint files kept

    RUN_ONLY: ClassVar[tuple[str, ...]] = ("device", "threads", "workers", "log_every", "eval_every",
                                           "sample_every", "save_every", "save_minutes", "keep_last")
    CHOICES: ClassVar[dict[str, tuple]] = {"profile": runtime.PROFILES, "precision": PRECISIONS}
    #: changes to the defaults per profile (the defaults themselves are ``quick``)
    PROFILES: ClassVar[dict[str, dict]] = {"demo": {}, "full": {}}
    #: fields that must be >= 1 (ints) / > 0 (floats)
    POSITIVE: ClassVar[tuple[str, ...]] = ("steps", "batch", "size", "log_every", "save_every",
                                           "save_minutes", "keep_last")

    # ------------------------------------------------------------------ construction
    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            accepted = _base_type(hints.get(f.name))
            if accepted is None:
                continue
            if isinstance(value, list) and tuple in accepted:
                value = tuple(value)
                setattr(self, f.name, value)
            if isinstance(value, int) and not isinstance(value, bool) and float in accepted \
                    and int not in accepted:
                value = float(value)
                setattr(self, f.name, value)
            ok = isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted)
            if not ok:
                names = " or ".join(t.__name__ for t in accepted)
                raise ValueError(f"{type(self).__qualname__}.{f.name} must be {names}, got {value!r}")
        for name, allowed in self.CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{type(self).__qualname__}.{name} must be one of {allowed}, "
                                 f"got {getattr(self, name)!r}")
        for name in self.POSITIVE:
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"{type(self).__qualname__}.{name} must be positive, got {v!r}")
        for name in ("workers", "eval_every", "sample_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{type(self).__qualname__}.{name} must be >= 0, got {getattr(self, name)}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be None or >= 1, got {self.threads}")
        self.check()

    def check(self) -> None:
        """Method-specific validation (override; raise ValueError naming the field)."""

    @classmethod
    def quick(cls, **overrides):
        """CI and first reading: tiny, seconds to a few minutes on a CPU."""
        return cls._make("quick", overrides)

    @classmethod
    def demo(cls, **overrides):
        """A laptop CPU within about an hour: what makes the committed demo releases."""
        return cls._make("demo", overrides)

    @classmethod
    def full(cls, **overrides):
        """The paper's configuration, for a GPU; resumable across sessions."""
        return cls._make("full", overrides)

    @classmethod
    def for_profile(cls, name: str | None = None, **overrides):
        """The config of profile ``name`` (None: ``helpers.core.runtime.profile()``)."""
        return cls._make(runtime.profile(name), overrides)

    @classmethod
    def _make(cls, profile: str, overrides: Mapping):
        if profile not in runtime.PROFILES:
            raise ValueError(f"profile must be one of {runtime.PROFILES}, got {profile!r}")
        cls._check_keys(overrides)
        base = dict(cls.PROFILES.get(profile, {})) if profile != "quick" else {}
        cls._check_keys(base)
        return cls(**{**base, "profile": profile, **overrides})

    @classmethod
    def _check_keys(cls, d: Mapping) -> None:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown {cls.__qualname__} field(s) {unknown}; known: {sorted(names)}")

    @classmethod
    def from_dict(cls, d: Mapping, strict: bool = True):
        """Rebuild from :meth:`to_dict` output; unknown keys raise (``strict``) or are dropped."""
        if strict:
            cls._check_keys(d)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    # ------------------------------------------------------------------ views
    def to_dict(self) -> dict:
        """Every field, JSON-ready (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def result_dict(self) -> dict:
        """The fields that change what a run computes (``to_dict`` minus ``RUN_ONLY``)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.RUN_ONLY}

    def replace(self, **changes):
        """A validated copy with ``changes``."""
        type(self)._check_keys(changes)
        return dataclasses.replace(self, **changes)

    def with_set(self, items: Sequence[str] | None):
        """A copy with ``--set key=value`` overrides applied (unknown keys and bad types raise)."""
        return self.replace(**parse_set(items)) if items else self

    def describe(self, keys: Sequence[str] | None = None) -> str:
        """``key=value`` pairs of the result fields (or of ``keys``), for printing."""
        d = self.to_dict()
        keys = keys or [k for k in d if k not in self.RUN_ONLY]
        return "  ".join(f"{k}={d[k]}" for k in keys)
