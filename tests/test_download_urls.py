"""Tests of data_scripts.download_urls against a local HTTP server on 127.0.0.1 (offline)."""
from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_scripts import download_urls as D

FIX = Path(__file__).parent / "fixtures" / "scrape"
_spec = importlib.util.spec_from_file_location("scrape_localserver", FIX / "localserver.py")
localserver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(localserver)

REPO = Path(__file__).resolve().parents[1]


def jpeg(seed: int, size: int = 64) -> bytes:
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    b = io.BytesIO()
    im.save(b, "JPEG")
    return b.getvalue()


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_read_url_lists(tmp_path):
    (tmp_path / "a.txt").write_text("# EmotioNet-like list\nhttp://x/1.jpg\n\n  http://x/2.jpg extra words\n"
                                    "not a url\nhttp://x/1.jpg\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("id,image_url,AU12\n7,http://x/3.jpg,1\n8,http://x/2.jpg,0\n", encoding="utf-8")
    (tmp_path / "c.tsv").write_text("http://x/4.jpg\t1\t0\nhttp://x/5.jpg\t0\t999\n", encoding="utf-8")
    rows = D.read_url_lists([tmp_path / "a.txt", tmp_path / "b.csv", tmp_path / "c.tsv"])
    assert [r["url"] for r in rows] == [f"http://x/{i}.jpg" for i in (1, 2, 3, 4, 5)]
    assert rows[2]["AU12"] == "1" and rows[2]["id"] == "7"
    assert rows[3]["col1"] == "1" and rows[4]["col2"] == "999"
    (tmp_path / "d.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no URL column"):
        D.read_url_lists([tmp_path / "d.csv"])
    with pytest.raises(ValueError, match="expected a column"):
        D.read_url_lists([tmp_path / "b.csv"], column="nope")
    with pytest.raises(FileNotFoundError):
        D.read_url_lists([tmp_path / "missing.txt"])


@pytest.mark.timing
def test_fetch_image_checks():
    cfg = D.FetchConfig(timeout=3, retries=0, max_bytes=10_000, min_side=16)
    data = jpeg(1)
    got = D.fetch_image("data:image/jpeg;base64," + base64.b64encode(data).decode(), cfg)
    assert (got.ext, got.width, got.height) == (".jpg", 64, 64)
    with pytest.raises(D.FetchError, match="too small"):
        D.fetch_image("data:image/jpeg;base64," + base64.b64encode(jpeg(1, 8)).decode(), cfg)
    with pytest.raises(D.FetchError, match="unsupported URL"):
        D.fetch_image("file:///etc/passwd", cfg)
    with pytest.raises(D.FetchError, match="not an image"):
        D.fetch_image("data:text/html;base64,PGh0bWw+", cfg)
    with localserver.LocalServer() as s:
        noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8))
        b = io.BytesIO()
        noise.save(b, "PNG")
        assert len(b.getvalue()) > 10_000
        s.add("/big.jpg", b.getvalue())
        s.add("/slow.jpg", data, delay=1.5)
        s.flaky["/flaky.jpg"] = 2
        s.add("/flaky.jpg", data)
        with pytest.raises(D.FetchError, match="too large") as e:
            D.fetch_image(s.base + "/big.jpg", cfg)
        assert e.value.permanent
        with pytest.raises(D.FetchError, match="timeout") as e:
            D.fetch_image(s.base + "/slow.jpg", D.FetchConfig(timeout=0.3, retries=0))
        assert not e.value.permanent
        with pytest.raises(D.FetchError, match="http 503"):
            D.fetch_image(s.base + "/flaky.jpg", D.FetchConfig(retries=0))
        got = D.fetch_image(s.base + "/flaky.jpg", D.FetchConfig(retries=2, backoff=0.01))
        assert got.sha256 and s.hits["/flaky.jpg"] == 3
        assert D.fetch_image(s.base + "/flaky.jpg", cfg).data == data
        s.add("/octet", data, "application/octet-stream")
        with pytest.raises(D.FetchError, match="content-type"):
            D.fetch_image(s.base + "/octet", cfg)
        assert D.fetch_image(s.base + "/octet", D.FetchConfig(allow_octet_stream=True)).width == 64


def make_server(n_good=12, delay=0.1):
    s = localserver.LocalServer()
    for i in range(n_good):
        s.add(f"/e/{i}.jpg", jpeg(i), delay=delay)
    s.add("/e/html.jpg", b"<html></html>", "text/html")
    s.add("/e/corrupt.jpg", b"\xff\xd8garbage" * 10)
    s.add("/e/gone.jpg", b"", status=410)
    s.flaky["/e/0.jpg"] = 1  # one transient 503, then fine
    return s


def write_list(path: Path, base: str, n_good=12):
    lines = ["url\tAU06\tAU12"] + [f"{base}/e/{i}.jpg\t{i % 3}\t{i % 2}" for i in range(n_good)]
    lines += [f"{base}/e/{x}\t0\t0" for x in ("html.jpg", "corrupt.jpg", "gone.jpg", "missing.jpg")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.timing
def test_download_parallel_bound_failures_and_resume(tmp_path):
    out = tmp_path / "out"
    with make_server() as s:
        lst = write_list(tmp_path / "list.tsv", s.base)
        cfg = D.FetchConfig(timeout=5, retries=1, backoff=0.01)
        summary = D.download([lst], out, workers=3, per_host=8, host_delay=0, cfg=cfg, progress=False)
        assert summary.kept == 12
        assert dict(summary.skipped) == {D.R_CTYPE: 1, D.R_DECODE: 1, "http 410": 1, "http 404": 1}
        assert 2 <= s.max_active <= 3  # parallel, but never more than --workers
        index = read_csv(out / "index.csv")
        assert len(index) == 12 and {r["AU06"] for r in index} == {"0", "1", "2"}
        for r in index:
            p = out / r["file"]
            assert p.is_file() and p.parent.parent == out / "images" and p.name.startswith(D.url_key(r["url"]))
            assert Image.open(p).size == (64, 64)
        fails = {r["url"].rsplit("/", 1)[1]: r for r in read_csv(out / "failures.csv")}
        assert set(fails) == {"html.jpg", "corrupt.jpg", "gone.jpg", "missing.jpg"}
        assert all(r["permanent"] == "1" for r in fails.values())
        # re-run: nothing downloaded again, permanent failures not retried
        before = dict(s.dl_hits)
        again = D.download([lst], out, workers=3, host_delay=0, cfg=cfg, progress=False)
        assert again.kept == 0 and again.skipped[D.R_DONE] == 12 and again.skipped[D.R_FAILED_BEFORE] == 4
        assert dict(s.dl_hits) == before
        # --retry-failed asks the failed ones again (and only them)
        D.download([lst], out, workers=3, host_delay=0, cfg=cfg, retry_failed=True, progress=False)
        assert sum(s.dl_hits.values()) == sum(before.values()) + 4


@pytest.mark.timing
def test_per_host_bound_and_delay(tmp_path):
    with make_server(n_good=6, delay=0.05) as s:
        lst = write_list(tmp_path / "list.tsv", s.base, n_good=6)
        t = time.monotonic()
        D.download([lst], tmp_path / "out", workers=4, per_host=1, host_delay=0.1,
                   cfg=D.FetchConfig(retries=0), limit=6, progress=False)
        assert s.max_active == 1
        assert time.monotonic() - t >= 5 * 0.1  # request starts at least host_delay apart


@pytest.mark.timing
def test_killed_run_resumes_without_redownloads(tmp_path):
    out = tmp_path / "out"
    with make_server(n_good=30, delay=0.15) as s:
        lst = write_list(tmp_path / "list.tsv", s.base, n_good=30)
        cmd = [sys.executable, "-m", "data_scripts.download_urls", str(lst), "--out", str(out), "--workers", "2",
               "--host-delay", "0", "--per-host", "4", "--backoff", "0.01", "--no-progress"]
        env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while len(D.existing_files(out / "images")) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        done = D.existing_files(out / "images")
        assert 5 <= len(done) < 30, "the run should have been killed half-way"
        summary = D.download([lst], out, workers=4, per_host=4, host_delay=0,
                             cfg=D.FetchConfig(retries=1, backoff=0.01), progress=False)
        assert summary.skipped[D.R_DONE] == len(done)
        assert summary.kept == 30 - len(done)
        index = read_csv(out / "index.csv")
        assert len(index) == 30
        served = {f"{s.base}/e/{i}.jpg": hashlib.sha256(jpeg(i)).hexdigest() for i in range(30)}
        for i in range(30):  # files finished before the kill were fetched once (0.jpg: plus one 503)
            if D.url_key(f"{s.base}/e/{i}.jpg") in done:
                assert s.dl_hits[f"/e/{i}.jpg"] == (2 if i == 0 else 1), (i, s.dl_hits)
        for r in index:      # every file, kept from the killed run or fetched now, is the server's bytes
            got = hashlib.sha256((out / r["file"]).read_bytes()).hexdigest()
            assert got == served[r["url"]], f"{r['file']} differs from what the server sent for {r['url']}"
            assert r["sha256"] in ("", got), f"index.csv records another sha256 for {r['file']}"
        assert {(out / r["file"]).resolve() for r in index} >= {p.resolve() for p in done.values()}
        assert not list(out.rglob("*.tmp"))


def test_cli_help():
    r = subprocess.run([sys.executable, "-m", "data_scripts.download_urls", "--help"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--workers" in r.stdout and "--retry-failed" in r.stdout
