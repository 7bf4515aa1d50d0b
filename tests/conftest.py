"""Test defaults: quick profile, headless matplotlib, and nothing written into the repository.

``helpers.core.runtime`` reads ``FACES_RUNS_DIR`` and ``FACES_DATA_DIR`` once, when it is first
imported, so they are pointed at a scratch folder here, at conftest import time, before any test
module imports ``helpers``; subprocesses and notebook kernels started by the tests inherit them.
The session fixture below also sets ``runtime.RUNS_DIR`` / ``DATA_DIR`` themselves (in case a
plugin imported ``helpers`` before this file ran); the scratch folder is removed when the session ends.
"""
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("FACES_PROFILE", "quick")
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

#: every run directory, data cache and download a test makes goes below this folder
SCRATCH = Path(tempfile.mkdtemp(prefix="faces-tests-"))
os.environ["FACES_RUNS_DIR"] = str(SCRATCH / "runs")
os.environ["FACES_DATA_DIR"] = str(SCRATCH / "data")


@pytest.fixture(scope="session", autouse=True)
def _scratch_dirs():
    """Keep ``runtime.RUNS_DIR`` / ``DATA_DIR`` under :data:`SCRATCH` for the whole session."""
    from helpers.core import runtime

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runtime, "RUNS_DIR", SCRATCH / "runs")
        mp.setattr(runtime, "DATA_DIR", SCRATCH / "data")
        yield SCRATCH


def pytest_sessionfinish(session, exitstatus):
    """Remove the scratch folder, also after a session that ran no test (collection error, -k)."""
    shutil.rmtree(SCRATCH, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Servers the tests start on 127.0.0.1 must be reached directly even where a proxy is set."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny models: on a shared 2-core CPU a second thread only
    spins at OpenMP barriers. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
