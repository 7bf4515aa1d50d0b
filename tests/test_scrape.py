"""Tests of data_scripts.scrape: end to end in real headless Chromium against a local server.

Only 127.0.0.1 is ever contacted. The images are generated here (numpy + PIL).
"""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_scripts import scrape as S
from data_scripts.download_urls import R_CTYPE, R_DECODE, R_DONE, R_SMALL, R_TOO_LARGE, FetchConfig, file_name
from data_scripts.common import inside

FIX = Path(__file__).parent / "fixtures" / "scrape"
_spec = importlib.util.spec_from_file_location("scrape_localserver", FIX / "localserver.py")
localserver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(localserver)


HAVE_BROWSER = bool(S.BrowserConfig().binary and S.BrowserConfig().driver
                    and shutil.which(S.BrowserConfig().binary) and shutil.which(S.BrowserConfig().driver))
BROWSER_HINT = ("needs chromium + chromedriver (apt-get install chromium chromium-driver, "
                "or set SCRAPE_CHROME_BINARY / SCRAPE_CHROMEDRIVER)")


def require_browser() -> None:
    """Skip a browser test where Chromium is missing, except in CI (``CI=true``): CI must run the
    browser tests (``.ci/run`` installs Chromium), so there a missing browser fails the test."""
    if HAVE_BROWSER:
        return
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"CI is set but this browser test cannot run: it {BROWSER_HINT}", pytrace=False)
    pytest.skip(BROWSER_HINT)

# what the fake page must yield (paths on the local server)
EXPECT_KEPT = {"/img/static1.jpg", "/img/static2.png", "/img/../../evil.jpg", "/img/orig1.jpg", "/img/orig2.jpg",
               "/img/lazy1.jpg", "/img/lazy2.jpg", "/img/js1.jpg", "/img/scroll1.jpg", "/img/more1.jpg",
               "/img/more2.jpg"}
EXPECT_SKIPPED = {S.R_DUP_BYTES: 1, S.R_DUP_PHASH: 1, "http 404": 1, R_CTYPE: 1, R_TOO_LARGE: 1, R_DECODE: 1,
                  R_SMALL: 1}
MAX_BYTES = 150_000


def picture(seed: int, size: int = 96) -> Image.Image:
    """A smooth random colour picture; different seeds are far apart in perceptual hash."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)


def encode(im: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def make_site(server, page: str = "results.html"):
    """Register the fake results page and all its images on ``server``."""
    html = (FIX / page).read_text(encoding="utf-8").replace("__BASE__", server.base).encode()
    server.add("/search", html, "text/html; charset=utf-8")
    server.add("/more.json", json.dumps(["/img/more1.jpg", "/img/more2.jpg", "/img/static2.png"]).encode(),
               "application/json")
    static1 = encode(picture(1))
    server.add("/img/static1.jpg", static1)
    server.add("/img/static1_copy.jpg", static1)
    server.add("/img/static2.png", encode(picture(2), "PNG"), "image/png")
    server.add("/img/near_dup.jpg", encode(picture(2).resize((90, 90)), quality=40))
    server.add("/img/page.jpg", b"<html><body>not an image</body></html>", "text/html")
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    huge = encode(Image.fromarray(noise), "PNG")
    assert len(huge) > MAX_BYTES
    server.add("/img/huge.jpg", huge)
    server.add("/img/corrupt.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20)
    server.add("/img/tiny.png", encode(picture(3, 8), "PNG"), "image/png")
    for i, name in enumerate(["../../evil.jpg", "orig1.jpg", "orig2.jpg", "lazy1.jpg", "lazy2.jpg", "lazy2_small.jpg",
                              "js1.jpg", "scroll1.jpg", "more1.jpg", "more2.jpg"]):
        server.add(f"/img/{name}", encode(picture(10 + i)))
    return server


def run(server, out, **kw):
    args = dict(keywords=["日本人 顔"], search_url=server.base + "/search?q={query}", per_keyword=100,
                browser=S.BrowserConfig(scroll_pause=0.4, max_rounds=8, patience=3),
                fetch=FetchConfig(timeout=5, retries=0, max_bytes=MAX_BYTES), workers=3, host_delay=0.0,
                page_delay=0.0, keep_names=True, progress=False)
    args.update(kw)
    return S.scrape(out=out, **args)


def kept_paths(out: Path) -> set[str]:
    with open(out / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        assert (out / r["file"]).is_file()
        inside(out, out / r["file"])
    from urllib.parse import unquote, urlsplit
    return {unquote(urlsplit(r["source"]).path) for r in rows}


def all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.browser
@pytest.mark.timing
def test_end_to_end_in_headless_chromium(tmp_path):
    require_browser()
    out = tmp_path / "out"
    with make_site(localserver.LocalServer()) as server:
        summary = run(server, out)
    assert kept_paths(out) == EXPECT_KEPT
    assert summary.kept == len(EXPECT_KEPT)
    assert dict(summary.skipped) == EXPECT_SKIPPED
    # the largest srcset entry is taken, the small one never downloaded; nothing fetched twice
    assert server.dl_hits["/img/lazy2_small.jpg"] == 0
    assert max(server.dl_hits.values()) == 1
    # the page really needed scrolling + "load more" (the browser fetched /more.json)
    assert server.hits["/more.json"] == 1
    # everything lies inside out/; the hostile name was sanitised
    assert {p.parent for p in all_files(tmp_path)} <= {out, out / "images"}
    names = sorted(p.name for p in (out / "images").iterdir())
    assert len(names) == len(EXPECT_KEPT)
    assert any(re.fullmatch(r"[0-9a-f]{20}_evil\.jpg", n) for n in names)
    assert all(re.fullmatch(r"[0-9a-f]{20}(_[A-Za-z0-9_-]+)?\.(jpg|png)", n) for n in names)
    # a re-run does nothing new and downloads nothing
    before = dict(server.dl_hits)
    again = run(server, out, browser=S.BrowserConfig(binary="/nonexistent/chromium", driver="/nonexistent/driver"))
    assert again.kept == 0 and dict(again.skipped) == {S.R_SEEN: len(EXPECT_KEPT) + sum(EXPECT_SKIPPED.values())}
    assert dict(server.dl_hits) == before


@pytest.mark.browser
@pytest.mark.timing
def test_resume_after_limit_and_after_lost_state(tmp_path):
    require_browser()
    out = tmp_path / "out"
    no_browser = S.BrowserConfig(binary="/nonexistent/chromium", driver="/nonexistent/driver")
    with make_site(localserver.LocalServer()) as server:
        first = run(server, out, max_images=3)
        assert first.kept == 3 and len(list((out / "images").iterdir())) == 3
        state = json.loads((out / S.STATE_NAME).read_text(encoding="utf-8"))
        assert all(p["complete"] for p in state["pages"].values())
        # simulate a run killed before it saved its results: only the files remain
        state["results"] = {}
        (out / S.STATE_NAME).write_text(json.dumps(state), encoding="utf-8")
        (out / "images" / ".x.jpg.123.tmp").write_bytes(b"half")  # a killed atomic write
        second = run(server, out, browser=no_browser)  # the pages are collected: no browser needed
        assert second.skipped[R_DONE] == 3
        assert second.kept == len(EXPECT_KEPT) - 3
        assert kept_paths(out) == EXPECT_KEPT
        kept_hits = [server.dl_hits[p] for p in EXPECT_KEPT]
        assert kept_hits == [1] * len(EXPECT_KEPT), server.dl_hits  # nothing downloaded twice
        assert not list(out.rglob("*.tmp"))
        # a corrupt state file is set aside, files are still recognised
        (out / S.STATE_NAME).write_text("{not json", encoding="utf-8")
        with pytest.raises(RuntimeError, match="could not start Chromium"):
            run(server, out, browser=no_browser)  # pages must be collected again -> needs the browser
        assert list(out.glob(S.STATE_NAME + ".corrupt-*"))


def test_file_names_cannot_escape(tmp_path):
    hostile = ["http://h/img/..%2F..%2F..%2Fetc%2Fpasswd", "http://h/%2Fabs%2Fpath.jpg", "http://h/a/..\\..\\b.png",
               "http://h/" + "x" * 500 + ".jpg", "http://h/%00nul.jpg", "http://h/", "http://h/.hidden",
               "http://h/%E6%97%A5%E6%9C%AC.jpg", "data:image/png;base64,AAAA"]
    for url in hostile:
        for keep in (False, True):
            name = file_name(url, ".jpg", keep)
            assert re.fullmatch(r"[0-9a-f]{20}(_[A-Za-z0-9_-]{1,60})?\.jpg", name), name
            assert inside(tmp_path, tmp_path / "images" / name)
    with pytest.raises(ValueError, match="outside"):
        inside(tmp_path, tmp_path / ".." / "x.jpg")


def test_google_parser_reads_embedded_originals():
    html = ('<script>x=[["https://a.example/p/1.jpg?x\\u003d1",480,640],["https://encrypted-tbn0.gstatic.com/'
            'images?q\\u003dtbn",194,259],["https://www.google.com/images/branding/googlelogo.png",92,272]]</script>')
    assert S.google_urls_from_source(html) == ["https://a.example/p/1.jpg?x=1"]
    assert set(S.PARSERS) >= {"google", "generic"}
    with pytest.raises(ValueError, match="unknown parser"):
        S.get_parser("nope")


def test_bad_arguments_and_help(capsys):
    with pytest.raises(ValueError, match="query"):
        S.scrape(["x"], "unused", search_url="http://127.0.0.1/")
    with pytest.raises(SystemExit):
        S.main(["--help"])
    text = capsys.readouterr().out
    assert "--search-url" in text and "--parser" in text and "Colab" in text
    assert len(S.DEFAULT_KEYWORDS) == 10 and S.DEFAULT_KEYWORDS[0] == "日本人"
