""".ci/run: a CI machine that cannot get Chromium fails, with the reason, instead of skipping the browser tests.

The script runs with a PATH holding only stand-ins (no chromium, a failing or absent apt-get, and a
``make`` that records being called), so nothing is installed and no test suite is started.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")


def _run_ci(tmp_path: Path, stubs: dict[str, str]) -> subprocess.CompletedProcess:
    """Run .ci/run with a PATH of ``dirname`` and the given stand-in commands (name -> bash body)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to(shutil.which("dirname"))
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!{BASH}\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return subprocess.run([BASH, str(REPO / ".ci" / "run")], env={"PATH": str(bin_dir)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("apt_get, reason", [
    ('echo "E: Unable to locate package chromium" >&2; exit 100', "could not install chromium"),
    (None, "apt-get is not available"),
    ("exit 0", "not on PATH"),                       # "installed", yet still no chromium
])
def test_ci_fails_without_a_browser(tmp_path, apt_get, reason):
    made = tmp_path / "make-was-called"
    stubs = {"make": f': > "{made}"'} | ({} if apt_get is None else {"apt-get": apt_get})
    proc = _run_ci(tmp_path, stubs)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert reason in proc.stderr and "error:" in proc.stderr, proc.stderr
    assert not made.exists(), "the tests must not start without the browser"


def test_ci_runs_the_tests_with_ci_set_when_the_browser_is_there(tmp_path):
    seen = tmp_path / "ci-seen-by-make"
    proc = _run_ci(tmp_path, {"chromium": "exit 0", "chromedriver": "exit 0", "make": f'echo "$CI $*" > "{seen}"'})
    assert proc.returncode == 0, proc.stderr
    assert seen.read_text().split() == ["true", "test"]
