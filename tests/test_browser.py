"""The course as a student sees it: JupyterLab driven by headless Chromium through Selenium.

A JupyterLab server (token auth, 127.0.0.1, a free port) serves a *temporary copy* of notebooks 01
and 02, so autosave can never touch the repository's notebooks. Its kernels get
``FACES_PROFILE=quick``, the inline matplotlib backend and ``FACES_RUNS_DIR`` / ``FACES_DATA_DIR``
inside this test's temporary folder. Everything is done through JupyterLab's own UI:

- notebook 01: *Run → Run All Cells*; every code cell must get an execution count and none may show
  a traceback; then the latent-space slider (``viz.slider(show_path, t=...)``) must have rendered as
  a real slider, and four presses of the right-arrow key on its handle must re-draw the image
  (the output ``<img>`` changes);
- notebook 02, with ``SCRIPTED_SURVEY = False`` and ``SURVEY_RESPONDENT = "browser-test"`` in the
  copy's parameters cell: the cell after the survey widget is selected and *Run → Run All Above
  Selected Cell* runs everything up to and including the widget; the test answers the ten questions by
  clicking the widget's buttons and finds exactly those answers in the answers CSV under
  ``FACES_RUNS_DIR``.

JupyterLab user settings live in the temporary folder too: ``windowingMode: none`` (every cell in
the DOM, so its text can be read), no news or update pop-ups. On a failure the browser's screenshot,
the page's HTML and the server log are left in the temporary folder (the message says where).

Where Chromium is missing the tests skip, except under ``CI=true`` where they fail
(``test_scrape.require_browser``). Run only these: ``.venv/bin/python -m pytest tests/test_browser.py -m browser``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from data_scripts.scrape import Browser, BrowserConfig
from helpers.glcic import survey
from test_scrape import require_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "notebooks"          # the notebooks copied for the server
NB01 = "01_gan_basics.ipynb"
NB02 = "02_glcic_mouth_inpainting.ipynb"
RESPONDENT = "browser-test"
ANSWERS = [1, 2, 3, 4, 5, 5, 4, 3, 2, 1]        # one click per survey question, every button used
#: seconds a "run all" may take before the test gives up (the whole test takes ~3 min on 2 cores)
RUN_TIMEOUT = float(os.environ.get("FACES_BROWSER_TIMEOUT", "900"))
#: data_scripts.scrape.BASE_ARGS already holds --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic
#: --no-first-run --disable-background-networking --disable-component-update --disable-sync (offline-safe)
CHROME_FLAGS = ("--headless=new",)
LAB_SETTINGS = {   # JupyterLab user settings (JUPYTERLAB_SETTINGS_DIR), relative path -> content
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}
WIDGET_HINT = ("ipywidgets did not render in JupyterLab: is the widget front end installed and enabled? "
               "(`.venv/bin/jupyter labextension list` must show @jupyter-widgets/jupyterlab-manager enabled)")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_parameters(path: Path, **values) -> None:
    """Rewrite ``NAME = ...`` lines of the notebook's ``parameters`` cell (each must occur once)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    src = "".join(cell["source"])
    for name, value in values.items():
        src, n = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", src, flags=re.M)
        assert n == 1, f"{path.name}: expected one line `{name} = ...` in the parameters cell, found {n}"
    cell["source"] = src.splitlines(keepends=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


# ----------------------------------------------------------------------------- JupyterLab server
@dataclass
class Lab:
    url: str
    token: str
    root: Path          # the folder the server serves (copies of the notebooks)
    runs: Path          # FACES_RUNS_DIR of its kernels
    work: Path          # the test's temporary folder (logs, screenshots)
    log: Path
    proc: subprocess.Popen

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-n:]


def start_lab(work: Path) -> Lab:
    root, runs = work / "notebooks", work / "runs"
    root.mkdir()
    for name in (NB01, NB02):
        shutil.copy2(SOURCE / name, root / name)
    set_parameters(root / NB02, SCRIPTED_SURVEY=False, SURVEY_RESPONDENT=RESPONDENT)
    for rel, content in LAB_SETTINGS.items():
        (work / "lab-settings" / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / "lab-settings" / rel).write_text(json.dumps(content), encoding="utf-8")
    token, port = secrets.token_hex(16), _free_port()
    env = dict(os.environ,
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
               FACES_PROFILE="quick", MPLBACKEND="module://matplotlib_inline.backend_inline",
               FACES_RUNS_DIR=str(runs), FACES_DATA_DIR=str(work / "data"),
               JUPYTERLAB_SETTINGS_DIR=str(work / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(work / "lab-workspaces"),
               JUPYTER_RUNTIME_DIR=str(work / "jupyter-runtime"), IPYTHONDIR=str(work / "ipython"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--port-retries=0",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=None"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = work / "jupyterlab.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, cwd=work,
                                start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", token, root, runs, work, log, proc)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode} before it served:\n{lab.log_tail()}")
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=5) as r:
                if r.status == 200:
                    return lab
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_lab(lab)
            raise RuntimeError(f"JupyterLab did not answer on {lab.url} within 120 s:\n{lab.log_tail()}")
        time.sleep(0.5)


def stop_lab(lab: Lab) -> None:
    """Ask the server to shut down (it stops its kernels), then make sure its process group is gone."""
    if lab.proc.poll() is None:
        with contextlib.suppress(OSError):
            req = urllib.request.Request(f"{lab.url}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {lab.token}"})
            urllib.request.urlopen(req, timeout=10).close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            lab.proc.wait(20)
    if lab.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(lab.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            lab.proc.wait(10)
    with contextlib.suppress(ProcessLookupError):   # kernels left in the server's session
        os.killpg(lab.proc.pid, signal.SIGKILL)
    lab.proc.wait(10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    t0 = time.monotonic()
    server = start_lab(tmp_path_factory.mktemp("browser"))
    print(f"JupyterLab served {server.root} at {server.url} after {time.monotonic() - t0:.0f} s")
    try:
        yield server
    finally:
        stop_lab(server)


@pytest.fixture(scope="module")
def driver(lab):
    cfg = BrowserConfig(headless=False, extra_args=CHROME_FLAGS, window="1400,1000", page_timeout=120)
    t0 = time.monotonic()
    with Browser(cfg) as d:        # fresh --user-data-dir, removed on exit; quit() even on failure
        print(f"Chromium started after {time.monotonic() - t0:.0f} s")
        yield d


@pytest.fixture
def ui(request, lab, driver):
    """The browser driven through JupyterLab. Afterwards every kernel is shut down; on a failure a
    screenshot, the page's HTML and the server log are kept in the test's temporary folder."""
    failed = request.session.testsfailed
    u = UI(driver, lab, request.node.name)
    try:
        yield u
    finally:
        if request.session.testsfailed > failed:
            u.keep_evidence()
        u.shut_down_kernels()


def browser_test(request) -> "UI":
    """Skip, or fail under CI, before anything starts when Chromium is missing; else the UI."""
    require_browser()
    return request.getfixturevalue("ui")


# ----------------------------------------------------------------------------- driving the UI
#: one round trip per poll: the visible notebook's code cells (prompt, stderr-type outputs, outputs)
SNAPSHOT_JS = """
const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
if (!panel) return null;
return Array.from(panel.querySelectorAll('.jp-Notebook .jp-CodeCell')).map(c => ({
  prompt: ((c.querySelector('.jp-InputArea-prompt') || {}).textContent || '').trim(),
  stderr: Array.from(c.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).map(o => o.textContent),
  outputs: Array.from(c.querySelectorAll('.jp-Cell-outputArea > .jp-OutputArea-child .jp-OutputArea-output'))
    .map(o => o.textContent.slice(0, 300)),
}));
"""
ERROR_LINE = re.compile(r"^\w*(Error|Exception|Interrupt)\b.*:", re.M)


def tracebacks(stderr_texts: list[str]) -> list[str]:
    """The error outputs among a cell's stderr-type outputs (progress bars and warnings are not errors).

    JupyterLab renders an error output with the same mime type as stderr text, so an output is
    an error when it holds a traceback or an ``XxxError: ...`` line.
    """
    return [t for t in stderr_texts if "Traceback (most recent call last)" in t or ERROR_LINE.search(t)]


class UI:
    def __init__(self, driver, lab: Lab, name: str):
        from selenium.webdriver.common.by import By

        self.d, self.lab, self.name, self.By = driver, lab, name, By
        self.times: dict[str, float] = {}
        self.code: list[str] = []       # sources of the open notebook's code cells, from its file

    # -- plumbing
    def keep_evidence(self) -> None:
        out = self.lab.work / f"failure-{self.name}"
        out.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            self.d.save_screenshot(str(out / "screenshot.png"))
        with contextlib.suppress(Exception):
            (out / "page.html").write_text(self.d.page_source, encoding="utf-8")
        with contextlib.suppress(Exception):
            shutil.copy2(self.lab.log, out / "jupyterlab.log")
        print(f"browser test evidence (screenshot, page.html, jupyterlab.log) in {out}")

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.lab.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.lab.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End this test's kernels (the next test starts from a clean server)."""
        with contextlib.suppress(OSError, ValueError):
            for sess in self.api("/api/sessions"):
                self.api(f"/api/sessions/{sess['id']}", "DELETE")

    def css(self, sel: str, root=None):
        return (root or self.d).find_elements(self.By.CSS_SELECTOR, sel)

    @staticmethod
    def text(el) -> str:
        return el.get_attribute("textContent") or ""

    def wait(self, what: str, fn, timeout: float = 60.0, poll: float = 0.5, hint=""):
        """Poll ``fn()`` until it returns something truthy; fail with ``what`` (and ``hint``, a string
        or a function giving one) after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        last_err = None
        while time.monotonic() < deadline:
            try:
                got = fn()
                if got:
                    return got
            except pytest.fail.Exception:
                raise
            except Exception as e:  # stale elements while JupyterLab re-renders
                last_err = e
            time.sleep(poll)
        hint = hint() if callable(hint) else hint
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}"
                    + (f" (last error: {last_err!r})" if last_err else "") + (f". {hint}" if hint else ""),
                    pytrace=False)

    # -- the notebook
    def open(self, notebook: str) -> None:
        """Open ``notebook`` in a fresh workspace (``?reset``: no tab of an earlier test comes back)."""
        t0 = time.monotonic()
        cells = json.loads((self.lab.root / notebook).read_text(encoding="utf-8"))["cells"]
        self.code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        self.d.get(f"{self.lab.url}/lab/tree/{notebook}?reset&token={self.lab.token}")
        self.wait(f"{notebook} to show its {len(self.code)} code cells with an idle kernel",
                  lambda: len(self.snapshot() or []) == len(self.code) and self.css(
                      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status="idle"]'),
                  timeout=180)
        self.times["open"] = time.monotonic() - t0

    def snapshot(self) -> list[dict] | None:
        return self.d.execute_script(SNAPSHOT_JS)

    def code_cells(self):
        return self.css(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell")

    def cell(self, index: int):
        c = self.code_cells()[index]
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'});", c)
        return c

    def find_cell(self, needle: str) -> int:
        """Index of the one code cell whose source (read from the served notebook file) holds ``needle``."""
        hits = [i for i, src in enumerate(self.code) if needle in src]
        assert len(hits) == 1, f"expected one code cell containing {needle!r}, found {len(hits)} ({hits})"
        return hits[0]

    def menu(self, top: str, item: str) -> None:
        """Click ``top`` in JupyterLab's menu bar, then its entry whose label starts with ``item``."""
        [m for m in self.css(".lm-MenuBar-item") if self.text(m).strip() == top][0].click()
        entry = self.wait(f"the menu entry {top} -> {item}", lambda: [
            e for e in self.css(".lm-Menu-item") if e.is_displayed()
            and self.text(self.css(".lm-Menu-itemLabel", e)[0]).strip().startswith(item)], timeout=10)
        entry[0].click()

    def select_cell(self, index: int) -> None:
        self.css(".jp-InputArea-prompt", self.cell(index))[0].click()   # the prompt: selects, no edit mode
        self.wait(f"code cell {index} to become the active cell",
                  lambda: "jp-mod-active" in (self.code_cells()[index].get_attribute("class") or ""), timeout=10)

    def run_and_wait(self, notebook: str, cells: range | None = None, timeout: float = RUN_TIMEOUT) -> list[dict]:
        """Wait until ``cells`` (default: every code cell) show an execution count ``[n]:``.

        Fails at once when one of them shows a traceback, and when nothing is queued any more
        (no ``[*]``) but some of them did not run.
        """
        t0 = time.monotonic()
        self.wait(f"{notebook}: the run to start (a cell queued or executed)",
                  lambda: any(c["prompt"] != "[ ]:" for c in self.snapshot()), timeout=30)

        def done():
            snap = self.snapshot()
            want = range(len(snap)) if cells is None else cells
            for i in want:
                errs = tracebacks(snap[i]["stderr"])
                if errs:
                    pytest.fail(f"{notebook}: code cell {i} shows an error output:\n{self.code[i][:400]}\n"
                                f"---\n{errs[0][-2500:]}", pytrace=False)
            if any("*" in snap[i]["prompt"] for i in want):
                return None
            missing = [i for i in want if not re.fullmatch(r"\[\d+\]:", snap[i]["prompt"])]
            if missing:
                pytest.fail(f"{notebook}: nothing is queued any more, but code cells {missing} did not run "
                            f"(prompts {[snap[i]['prompt'] for i in missing][:5]})", pytrace=False)
            return snap

        snap = self.wait(f"{notebook}: every selected code cell to execute", done, timeout=timeout, poll=2.0)
        self.times["run"] = time.monotonic() - t0
        return snap

    def outputs_of(self, index: int) -> str:
        return " | ".join(self.snapshot()[index]["outputs"])

    def widget_images(self, cell) -> list[str]:
        return [i.get_attribute("src") or "" for i in self.css(".widget-output img", cell)]


# ----------------------------------------------------------------------------- the tests
def test_notebook_01_runs_all_cells_and_its_latent_slider_redraws(request):
    ui = browser_test(request)
    from selenium.webdriver.common.keys import Keys

    repo_nb = _sha(SOURCE / NB01)
    ui.open(NB01)
    ui.menu("Run", "Run All Cells")
    ui.run_and_wait(NB01)

    t_slider0 = time.monotonic()
    k = ui.find_cell("viz.slider(show_path")
    cell = ui.cell(k)

    def t_slider():
        return [s for s in ui.css(".widget-slider", cell)
                if "t" in [ui.text(x).strip() for x in ui.css(".widget-label", s)]]

    slider = ui.wait(f"the latent-space slider t of {NB01} (code cell {k}) to render as a widget", t_slider,
                     timeout=60, hint=lambda: f"The cell's output shows {ui.outputs_of(k)!r}. {WIDGET_HINT}")[0]
    before = ui.wait("the slider's first picture", lambda: [s for s in ui.widget_images(cell) if s], timeout=60)
    readout = ui.css(".widget-readout", slider)[0]
    assert ui.text(readout).strip() == "0.50", f"t starts at {ui.text(readout)!r}, expected 0.50"
    handle = ui.css(".noUi-handle", slider)[0]
    for _ in range(4):                              # 4 steps of 0.05 with the keyboard
        handle.send_keys(Keys.ARROW_RIGHT)
    ui.wait("the slider's readout to show t = 0.70", lambda: ui.text(readout).strip() == "0.70", timeout=20,
            hint=lambda: f"it shows {ui.text(readout)!r}")
    after = ui.wait("the picture to be re-drawn for t = 0.70",
                    lambda: [s for s in ui.widget_images(cell) if s and s not in before], timeout=90,
                    hint="the slider moved but the kernel did not answer with a new image")
    assert after[0].startswith("data:image/png"), after[0][:80]
    assert not tracebacks(ui.snapshot()[k]["stderr"]), ui.snapshot()[k]["stderr"]
    assert _sha(SOURCE / NB01) == repo_nb, "the repository's notebook 01 was modified"
    ui.times["slider"] = time.monotonic() - t_slider0
    print(f"{NB01}: " + ", ".join(f"{name} {secs:.0f} s" for name, secs in ui.times.items()))


def test_notebook_02_survey_answers_clicked_in_the_browser_reach_the_csv(request):
    ui = browser_test(request)
    repo_nb = _sha(SOURCE / NB02)
    ui.open(NB02)
    k = ui.find_cell("widget.display()")
    n_cells = len(ui.snapshot())
    assert k + 1 < n_cells, "the survey widget cell must not be the last code cell"
    ui.select_cell(k + 1)
    ui.menu("Run", "Run All Above Selected Cell")   # = every code cell up to and including the widget
    snap = ui.run_and_wait(NB02, range(k + 1))
    assert all(c["prompt"] == "[ ]:" for c in snap[k + 1:]), "cells after the survey widget ran too"

    t_survey0 = time.monotonic()
    cell = ui.cell(k)

    def status() -> str:
        return " ".join(ui.text(s) for s in ui.css(".widget-html-content", cell))

    def buttons() -> dict:
        return {ui.text(b).split(":")[0].strip(): b for b in ui.css("button.widget-button", cell)}

    ui.wait(f"the survey widget of {NB02} (code cell {k}) to show its 5 answer buttons",
            lambda: sorted(buttons()) == ["1", "2", "3", "4", "5"], timeout=60,
            hint=lambda: f"The cell's output shows {ui.outputs_of(k)!r}. {WIDGET_HINT}")
    n = len(ANSWERS)
    for i, score in enumerate(ANSWERS):
        ui.wait(f"survey question {i + 1} / {n}", lambda: f"Question {i + 1} / {n}" in status(), timeout=30,
                hint=lambda: f"the widget says {status()!r}")
        assert len(ui.css("img.widget-image", cell)) == 3, "the survey shows the original, top and bottom"
        buttons()[str(score)].click()
    ui.wait("the survey's thank-you", lambda: f"Thank you, {RESPONDENT}!" in status(), timeout=30,
            hint=lambda: f"the widget says {status()!r}")
    assert not any(b.is_enabled() for b in buttons().values()), "answer buttons still enabled after the last question"

    csv = ui.lab.runs / "nb02_survey_quick" / "answers.csv"
    assert csv.is_file(), f"no answers CSV at {csv}"
    got = pd.read_csv(csv)
    questions = survey.make_questions(n, seed=0)
    assert list(got["respondent"]) == [RESPONDENT] * n, got
    assert list(got["score"]) == ANSWERS, got
    assert list(got["question"]) == [q.question for q in questions], got
    assert list(got["top"]) == [q.top for q in questions], got
    assert _sha(SOURCE / NB02) == repo_nb, "the repository's notebook 02 was modified"
    ui.times["survey"] = time.monotonic() - t_survey0
    print(f"{NB02} (code cells 0..{k}): " + ", ".join(f"{name} {secs:.0f} s" for name, secs in ui.times.items()))
