"""Test defaults: quick profile, headless matplotlib, a bounded number of torch threads."""
import os
import warnings

import pytest

os.environ.setdefault("FACES_PROFILE", "quick")
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Servers the tests start on 127.0.0.1 must be reached directly even where a proxy is set."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
