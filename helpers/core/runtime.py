"""Where and how a notebook runs: profile, device, seeding, Colab, paths.

The profile (``quick`` | ``demo`` | ``full``) is read from one environment variable,
``FACES_PROFILE``, and nowhere else, so a notebook, a test and a command line all agree.

- ``quick``: what ``make test`` runs: CPU, SynthFaces, tiny sizes, seconds to minutes.
- ``demo``: a laptop CPU in about an hour per model; produces the committed demo checkpoints.
- ``full``: the paper's configuration, for a GPU (Colab or a workstation), resumable for days.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

PROFILES = ("quick", "demo", "full")
PROFILE_ENV = "FACES_PROFILE"

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("FACES_DATA_DIR", REPO_ROOT / "data"))
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
RUNS_DIR = Path(os.environ.get("FACES_RUNS_DIR", REPO_ROOT / "runs"))
FIGURES_DIR = REPO_ROOT / "notebooks" / "figures"


def profile(override: str | None = None) -> str:
    """Return the active profile: ``override`` if given, else ``$FACES_PROFILE``, else ``quick``."""
    name = (override or os.environ.get(PROFILE_ENV) or "quick").strip().lower()
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {name!r} (from ${PROFILE_ENV})")
    return name


def per_profile(quick, demo, full, name: str | None = None):
    """The value for the active profile: ``per_profile(10, 100, 1000)`` -> 10 under ``quick``.

    The one way notebooks and configs write values that differ per profile.
    """
    return {"quick": quick, "demo": demo, "full": full}[profile(name)]


def device(prefer: str | None = None) -> torch.device:
    """Pick a device: ``prefer`` if given ("cpu", "cuda", "mps"), else CUDA, then MPS, then CPU."""
    if prefer:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was requested but torch.cuda.is_available() is False")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int, deterministic: bool = False) -> torch.Generator:
    """Seed python, numpy and torch (CPU and CUDA) and return a torch Generator for data order.

    ``deterministic=True`` also asks torch for deterministic kernels (slower on GPU; on CPU most
    kernels already are). Returns a fresh ``torch.Generator`` seeded with ``seed`` so data
    loaders can own their shuffling state (it is saved in checkpoints).
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def run_dir(name: str, use_drive: bool = False, drive_root: str = "/content/drive/MyDrive/faces-course-runs") -> Path:
    """Return (and create) the directory for a training run called ``name``.

    Locally this is ``runs/<name>``. In Colab, with ``use_drive=True`` (opt-in only), Google Drive
    is mounted and the run lives under ``drive_root`` so it survives the end of a Colab session —
    the seed's 80,000-iterations-per-session problem.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"run name must be a plain folder name, got {name!r}")
    if use_drive:
        if not in_colab():
            raise RuntimeError("use_drive=True needs Google Colab; locally runs live under runs/")
        from google.colab import drive  # type: ignore  # only exists in Colab

        if not Path("/content/drive/MyDrive").exists():
            drive.mount("/content/drive")
        root = Path(drive_root)
    else:
        root = RUNS_DIR
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def num_threads(n: int | None = None) -> int:
    """Set torch's CPU threads (default: all cores) and return the number in use."""
    if n is not None:
        torch.set_num_threads(max(1, int(n)))
    return torch.get_num_threads()


def describe() -> str:
    """One line saying profile, device, torch version and threads, for a notebook's setup cell."""
    dev = device()
    return (f"profile={profile()}  device={dev}  torch={torch.__version__}  "
            f"threads={torch.get_num_threads()}  colab={in_colab()}")


def progress_wanted() -> bool:
    """Whether progress bars are drawn: ``FACES_PROGRESS=1``/``0`` decides; otherwise only where a
    person watches (stderr is a terminal, or a Jupyter kernel), so logs and CI stay readable."""
    flag = os.environ.get("FACES_PROGRESS", "").strip().lower()
    if flag in ("0", "false", "no", "off"):
        return False
    if flag in ("1", "true", "yes", "on"):
        return True
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def set_progress(on: bool) -> None:
    """Turn every progress bar of the course on or off for this process (``--no-progress``)."""
    os.environ["FACES_PROGRESS"] = "1" if on else "0"


def bar(iterable=None, *, disable: bool = False, **kw):
    """A ``tqdm`` progress bar, drawn only when :func:`progress_wanted` (and ``disable`` is false)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=disable or not progress_wanted(), **kw)
